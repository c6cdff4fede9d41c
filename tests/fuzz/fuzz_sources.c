/*
 * libFuzzer harness for the source adapters' response parsers. The first
 * input byte picks the parser, the rest is a response body:
 *
 *   0 youtube videos.list page      5 newsapi top-headlines
 *   1 youtube videoCategories       6 jsonfeed
 *   2 hackernews topstories         7 youtube error classifier
 *   3 hackernews item               8 guardian error classifier
 *   4 guardian search               9 newsapi error classifier
 *
 * Bodies go through ts_list_parse (UTF-8 repair + jansson) exactly as in
 * a run; the items then through normalize, dedupe and a snapshot round
 * trip. Checked (a broken invariant aborts, which libFuzzer reports):
 * every kept item has a non-empty valid title, an http(s) link, a key
 * safe as a file name and a position with a rank; YouTube's next-page
 * token is short and non-empty; statuses never count more repairs than
 * bytes; the snapshot loads back with the same items; classifiers leave
 * a NUL-terminated one-line reason and a verdict of the enum. For the
 * classifiers the second byte picks the HTTP status (400-599).
 * Seeds: tests/fuzz/fuzz_sources_seeds.py (the API fixtures).
 *
 * fuzz-sources: src/sources/source.c src/sources/youtube.c src/sources/hackernews.c src/sources/guardian.c src/sources/newsapi.c src/sources/jsonfeed.c src/normalize.c src/normalize_url.c src/normalize_value.c src/dedupe.c src/item.c src/snapshot.c src/config.c src/fetch.c src/ratelimit.c src/util/arena.c src/util/buf.c src/util/clock.c src/util/error.c src/util/fs.c src/util/log.c src/util/redact.c src/util/regions.c
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "normalize.h"
#include "snapshot.h"
#include "sources/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond)                                                         \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

enum parser {
  P_YT_VIDEOS,
  P_YT_CATEGORIES,
  P_HN_TOP,
  P_HN_ITEM,
  P_GUARDIAN,
  P_NEWSAPI,
  P_JSONFEED,
  P_YT_CLASSIFY,
  P_GUARDIAN_CLASSIFY,
  P_NEWSAPI_CLASSIFY,
  P_COUNT
};

static bool valid_utf8(const char *s)
{
  json_t *v = json_string(s); /* jansson validates UTF-8 */
  bool ok = v != NULL;
  json_decref(v);
  return ok;
}

static bool safe_key(const char *k)
{
  size_t n = strlen(k);
  if (n == 0 || n > 64 || k[0] == '.')
    return false;
  return strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789-_") == n;
}

static bool http_link(const char *u)
{
  return u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7));
}

static void check_classifier(enum parser p, const uint8_t *data, size_t size)
{
  long status = 400 + (size ? data[0] % 200 : 0);
  const char *body = size > 1 ? (const char *)data + 1 : "";
  size_t len = size > 1 ? size - 1 : 0;
  char reason[256];
  memset(reason, 'x', sizeof reason);
  reason[0] = '\0';
  ts_fetch_classify_fn fn = p == P_YT_CLASSIFY        ? ts_youtube_classify
                            : p == P_GUARDIAN_CLASSIFY ? ts_guardian_classify
                                                       : ts_newsapi_classify;
  enum ts_fetch_verdict v = fn(status, body, len, reason, sizeof reason, NULL);
  ASSERT(v == TS_FETCH_BY_STATUS || v == TS_FETCH_RETRY ||
         v == TS_FETCH_FINAL || v == TS_FETCH_STOP_SOURCE);
  ASSERT(memchr(reason, '\0', sizeof reason) != NULL);
}

/* Normalize, dedupe, snapshot and load back; check what came out. */
static void check_items(struct ts_batch *batch)
{
  /* Every raw item counts in its list's status, and only there. */
  uint64_t counted = 0;
  for (size_t i = 0; i < batch->nstatuses; i++)
    counted += batch->statuses[i].items;
  ASSERT(counted == batch->nitems);
  struct ts_error err;
  ASSERT(ts_normalize_batch(batch, NULL, NULL, &err) == TS_OK);
  struct ts_item *out = NULL;
  size_t n = 0;
  ASSERT(ts_dedupe(batch, &out, &n, NULL, &err) == TS_OK);
  for (size_t i = 0; i < n; i++) {
    const struct ts_item *it = &out[i];
    ASSERT(it->title && it->title[0] && valid_utf8(it->title));
    ASSERT(http_link(it->url));
    ASSERT(!it->discussion_url || http_link(it->discussion_url));
    ASSERT(!it->thumbnail || http_link(it->thumbnail));
    ASSERT(it->key && safe_key(it->key));
    ASSERT(it->npositions > 0);
    for (uint32_t k = 0; k < it->npositions; k++)
      ASSERT(it->positions[k].rank >= 1);
    ASSERT(!it->summary || valid_utf8(it->summary));
    ASSERT(!it->author || (it->author[0] && valid_utf8(it->author)));
    ASSERT(it->views >= TS_UNKNOWN && it->likes >= TS_UNKNOWN &&
           it->comments >= TS_UNKNOWN && it->duration_s >= TS_UNKNOWN);
    if (i)
      ASSERT(out[i - 1].rank_score >= it->rank_score);
  }
  struct ts_snapshot_meta meta = {1795219200, 1, 1};
  json_t *doc = ts_snapshot_build(out, n, batch->statuses, batch->nstatuses,
                                  &meta);
  ASSERT(doc);
  char *text = json_dumps(doc, JSON_COMPACT);
  ASSERT(text);
  json_t *again = json_loads(text, 0, NULL);
  ASSERT(again);
  struct ts_batch back;
  ts_batch_init(&back);
  struct ts_snapshot_meta meta2;
  ASSERT(ts_snapshot_load("fuzz", again, &back, &meta2, &err) == TS_OK);
  ASSERT(back.nitems == n);
  ASSERT(back.nstatuses == batch->nstatuses);
  ts_batch_cleanup(&back);
  json_decref(again);
  free(text);
  json_decref(doc);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  enum parser p = (enum parser)(data[0] % P_COUNT);
  data++;
  size--;
  if (p >= P_YT_CLASSIFY) {
    check_classifier(p, data, size);
    return 0;
  }

  static const enum ts_source_type types[] = {
    [P_YT_VIDEOS] = TS_SOURCE_YOUTUBE, [P_YT_CATEGORIES] = TS_SOURCE_YOUTUBE,
    [P_HN_TOP] = TS_SOURCE_HACKERNEWS, [P_HN_ITEM] = TS_SOURCE_HACKERNEWS,
    [P_GUARDIAN] = TS_SOURCE_GUARDIAN, [P_NEWSAPI] = TS_SOURCE_NEWSAPI,
    [P_JSONFEED] = TS_SOURCE_JSONFEED,
  };
  struct ts_batch batch;
  ts_batch_init(&batch);
  struct ts_source_env env = {.batch = &batch, .now = 1795219200,
                              .shard_index = 1, .shard_count = 1};
  struct ts_config_source cfg = {
    .type = types[p], .name = (char *)ts_source_type_name(types[p]),
    .api_key = (char *)"fuzz-key", .limit = 30, .max_results = 50,
    .pages = 4, .enabled = true};
  struct ts_list list = {0};
  struct ts_source src = {.cfg = &cfg, .env = &env, .lists = &list,
                          .nlists = 1};
  list.source = &src;
  if (types[p] == TS_SOURCE_YOUTUBE)
    memcpy(list.region, "JP", 3);
  else if (types[p] == TS_SOURCE_NEWSAPI)
    memcpy(list.region, "us", 3);
  ts_list_status(&list);

  struct ts_fetch_response res = {.outcome = TS_FETCH_OK, .status = 200,
                                  .body = (const char *)data,
                                  .body_len = size};
  char why[512] = "";
  json_t *root = ts_list_parse(&list, &res, why, sizeof why);
  ASSERT(root || why[0]);
  if (root) {
    why[0] = '\0';
    switch (p) {
    case P_YT_VIDEOS: {
      const char *next = NULL;
      if (ts_youtube_parse_videos(&list, root, &next) && next)
        ASSERT(next[0] && strlen(next) <= 200);
      break;
    }
    case P_YT_CATEGORIES: {
      json_t *map = ts_youtube_parse_categories(root);
      ASSERT(json_is_object(map));
      const char *id;
      json_t *title;
      json_object_foreach(map, id, title)
      {
        ASSERT(strlen(id) < 16 && json_is_string(title));
      }
      json_decref(map);
      break;
    }
    case P_HN_TOP: {
      int64_t *ids = NULL;
      size_t n = 0;
      if (ts_hackernews_parse_top(root, cfg.limit, &ids, &n))
        ASSERT(n <= cfg.limit && ids);
      else
        ASSERT(n == 0);
      free(ids);
      break;
    }
    case P_HN_ITEM:
      ts_hackernews_parse_item(&list, root, 1 + (uint32_t)(size % 500));
      break;
    case P_GUARDIAN:
      if (!ts_guardian_parse_search(&list, root, why, sizeof why))
        ASSERT(why[0]);
      break;
    case P_NEWSAPI:
      if (!ts_newsapi_parse_headlines(&list, root, why, sizeof why))
        ASSERT(why[0]);
      break;
    case P_JSONFEED:
      if (!ts_jsonfeed_parse(&list, root, why, sizeof why))
        ASSERT(why[0]);
      break;
    default:
      break;
    }
    json_decref(root);
  }
  const struct ts_status *st = ts_list_status(&list);
  ASSERT(st && st->repaired <= size + 1);
  check_items(&batch);
  ts_batch_cleanup(&batch);
  return 0;
}

/*
 * Hacker News (Firebase REST): topstories.json, then item/ID.json for the
 * first `limit` ids, a fan-out under the same limits.
 *
 * API-NOTES.md §2: a missing item is HTTP 200 with the body `null`;
 * deleted items have no title; dead items have their text hidden; jobs
 * have no descendants; Ask HN has no url (old ones an empty one), so the
 * discussion page becomes the link; `text` is HTML; `title` plain text.
 * A story's rank is its place in topstories.json, whatever happened to
 * the stories around it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "sources/common.h"
#include "util/buf.h"

/* Per story request: its list and its rank in the top stories. */
struct hn_item {
  struct ts_list *list;
  uint32_t rank;
};

struct hackernews {
  struct hn_item *items; /* one per story requested */
  size_t nitems;
};

/* Parses one item/ID.json answer into a raw story at `rank`. False when
 * it is not a story to show (null, deleted, dead, no title). */
bool ts_hackernews_parse_item(struct ts_list *list, const json_t *root,
                              uint32_t rank)
{
  struct ts_batch *b = list->source->env->batch;
  if (!json_is_object(root) || json_is_true(json_object_get(root, "deleted")) ||
      json_is_true(json_object_get(root, "dead")))
    return false;
  const char *title = json_string_value(json_object_get(root, "title"));
  json_int_t id = json_integer_value(json_object_get(root, "id"));
  const char *type = json_string_value(json_object_get(root, "type"));
  if (!title || !*title || id <= 0 ||
      (type && strcmp(type, "story") && strcmp(type, "job") &&
       strcmp(type, "poll")))
    return false;
  uint32_t saved = list->next_rank;
  list->next_rank = rank - 1; /* ranks follow topstories.json */
  struct ts_item *it = ts_list_new_item(list, TS_ITEM_STORY);
  list->next_rank = saved;
  if (!it)
    return false;
  char buf[96];
  snprintf(buf, sizeof buf, "%lld", (long long)id);
  it->id = ts_batch_str(b, buf);
  it->title = ts_batch_str(b, title);
  snprintf(buf, sizeof buf, "https://news.ycombinator.com/item?id=%lld",
           (long long)id);
  it->discussion_url = ts_batch_str(b, buf);
  const char *url = json_string_value(json_object_get(root, "url"));
  it->url = url && *url ? ts_batch_str(b, url) : it->discussion_url;
  it->author = ts_json_str(b, root, "by");
  it->category = type && strcmp(type, "story") ? ts_batch_str(b, type) : NULL;
  int64_t n;
  if (ts_normalize_json_count(json_object_get(root, "score"), &n))
    it->score = n;
  if (ts_normalize_json_count(json_object_get(root, "descendants"), &n))
    it->comments = n;
  ts_normalize_json_time(json_object_get(root, "time"), &it->published);
  const char *text = json_string_value(json_object_get(root, "text"));
  if (text && *text) {
    struct ts_status *st = ts_list_status(list);
    it->summary = ts_normalize_html(&b->arena, text, 400,
                                    st ? &st->repaired : NULL);
  }
  return true;
}

static bool on_item(struct ts_fetch *f, const struct ts_fetch_response *res,
                    void *data)
{
  (void)f;
  struct hn_item *hi = data;
  struct ts_list *list = hi->list;
  list->pending--;
  ts_list_account(list, res, 0);
  struct ts_status *st;
  if (res->outcome != TS_FETCH_OK && res->outcome != TS_FETCH_NOT_MODIFIED) {
    list->item_failures++;
    if ((st = ts_list_status(list)))
      st->skipped++;
    return false;
  }
  char why[256];
  json_t *root = ts_list_parse(list, res, why, sizeof why);
  bool ok = root && ts_hackernews_parse_item(list, root, hi->rank);
  json_decref(root);
  if (!ok && (st = ts_list_status(list)))
    st->skipped++;
  return ok;
}

/* Parses topstories.json: the ids in rank order, at most `limit`.
 * Caller frees *ids. False when the body is not a list of ids. */
bool ts_hackernews_parse_top(const json_t *root, uint32_t limit,
                             int64_t **ids, size_t *n)
{
  *ids = NULL;
  *n = 0;
  if (!json_is_array(root))
    return false;
  size_t count = json_array_size(root);
  if (count > limit)
    count = limit;
  *ids = calloc(count ? count : 1, sizeof **ids);
  if (!*ids)
    return false;
  for (size_t i = 0; i < count; i++) {
    const json_t *v = json_array_get(root, i);
    (*ids)[i] = json_is_integer(v) ? json_integer_value(v) : -1;
  }
  *n = count;
  return true;
}

static bool on_top(struct ts_fetch *f, const struct ts_fetch_response *res,
                   void *data)
{
  (void)f;
  struct ts_list *list = data;
  struct ts_source *src = list->source;
  struct hackernews *hn = src->data;
  list->pending--;
  ts_list_account(list, res, 0);
  char why[512];
  if (res->outcome != TS_FETCH_OK && res->outcome != TS_FETCH_NOT_MODIFIED) {
    ts_list_reason(res, why, sizeof why);
    ts_list_fail(list, why);
    return false;
  }
  json_t *root = ts_list_parse(list, res, why, sizeof why);
  int64_t *ids = NULL;
  size_t n = 0;
  if (!root || !ts_hackernews_parse_top(root, src->cfg->limit, &ids, &n)) {
    if (root)
      snprintf(why, sizeof why, "topstories.json is not a list of ids");
    ts_list_fail(list, why);
    json_decref(root);
    free(ids);
    return false;
  }
  json_decref(root);
  hn->items = calloc(n ? n : 1, sizeof *hn->items);
  if (!hn->items) {
    free(ids);
    ts_list_fail(list, "out of memory");
    return false;
  }
  struct ts_buf url;
  ts_buf_init(&url, 4096);
  for (size_t i = 0; i < n; i++) {
    struct ts_status *st;
    if (ids[i] <= 0) {
      if ((st = ts_list_status(list)))
        st->skipped++;
      continue;
    }
    struct hn_item *hi = &hn->items[hn->nitems++];
    hi->list = list;
    hi->rank = (uint32_t)i + 1;
    ts_buf_reset(&url);
    ts_buf_printf(&url, "%s/item/%lld.json", src->cfg->base_url,
                  (long long)ids[i]);
    char label[64];
    snprintf(label, sizeof label, "%s item %lld", src->cfg->name,
             (long long)ids[i]);
    if (!ts_list_request(list, ts_buf_cstr(&url), label, false, on_item, hi))
      break;
  }
  ts_buf_cleanup(&url);
  free(ids);
  return true;
}

static void hackernews_finish(struct ts_source *src)
{
  struct hackernews *hn = src->data;
  struct ts_list *list = &src->lists[0];
  /* Every story failing means the list failed, not that HN is empty. */
  if (!list->failed && hn->nitems > 0 && list->item_failures == hn->nitems) {
    char why[128];
    snprintf(why, sizeof why, "all %zu story requests failed", hn->nitems);
    ts_list_fail(list, why);
  }
}

static void hackernews_free(struct ts_source *src)
{
  struct hackernews *hn = src->data;
  if (hn)
    free(hn->items);
  free(hn);
}

enum ts_result ts_hackernews_start(struct ts_source *src, struct ts_error *err)
{
  struct ts_list *list;
  enum ts_result r = ts_source_one_list(src, &list, err);
  if (r != TS_OK || !list)
    return r;
  struct hackernews *hn = calloc(1, sizeof *hn);
  if (!hn)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  src->data = hn;
  src->finish = hackernews_finish;
  src->free_data = hackernews_free;
  char url[4096], label[64];
  snprintf(url, sizeof url, "%s/topstories.json", src->cfg->base_url);
  snprintf(label, sizeof label, "%s top stories", src->cfg->name);
  ts_list_request(list, url, label, false, on_top, list);
  return TS_OK;
}

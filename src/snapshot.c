#include "snapshot.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/fs.h"
#include "util/json_read.h"
#include "util/json_text.h"
#include "util/redact.h"
#include "version.h"
#include "util/grow.h"

#define SNAPSHOT_MAX_BYTES ((size_t)1 << 30)

/* ---- writing ----------------------------------------------------------- */

/* URLs and reasons are redacted once more on the way out: a key must never
 * reach a published file even if an adapter forgot. */
static void redacted_member(struct ts_json_writer *w, const char *key,
                            const char *value)
{
  if (!value)
    return;
  if (!strchr(value, '=')) { /* no parameter, nothing to hide */
    ts_json_str_member(w, key, value);
    return;
  }
  char small[1024];
  char *clean = strlen(value) * 2 + 16 <= sizeof small
                    ? ts_redact(value, small, sizeof small)
                    : ts_redact_dup(value);
  if (!clean) {
    w->failed = true;
    return;
  }
  ts_json_str_member(w, key, clean);
  if (clean != small)
    free(clean);
}

static void count_member(struct ts_json_writer *w, const char *key,
                         int64_t value)
{
  if (value != TS_UNKNOWN)
    ts_json_int_member(w, key, value);
}

static void time_member(struct ts_json_writer *w, const char *key, int64_t t)
{
  if (t == TS_TIME_UNKNOWN)
    return;
  char buf[21];
  ts_time_format(t, buf);
  ts_json_str_member(w, key, buf);
}

static const char *kind_name(enum ts_item_kind kind)
{
  return kind == TS_ITEM_VIDEO ? "video" : "story";
}

enum ts_result ts_snapshot_item_text(const struct ts_item *it,
                                     struct ts_buf *out)
{
  struct ts_json_writer w = {.b = out};
  ts_json_open(&w, '{');
  ts_json_str_member(&w, "key", it->key ? it->key : it->id);
  ts_json_str_member(&w, "kind", kind_name(it->kind));
  ts_json_str_member(&w, "source", it->source);
  ts_json_str_member(&w, "id", it->id);
  ts_json_str_member(&w, "title", it->title);
  redacted_member(&w, "url", it->url);
  redacted_member(&w, "discussion_url", it->discussion_url);
  if (it->thumbnail) {
    ts_json_key(&w, "thumbnail");
    ts_json_open(&w, '{');
    redacted_member(&w, "url", it->thumbnail);
    if (it->thumb_width > 0 && it->thumb_height > 0) {
      ts_json_int_member(&w, "width", it->thumb_width);
      ts_json_int_member(&w, "height", it->thumb_height);
    }
    ts_json_close(&w, '}');
  }
  ts_json_str_member(&w, "author", it->author);
  ts_json_str_member(&w, "summary", it->summary);
  ts_json_str_member(&w, "category", it->category);
  ts_json_str_member(&w, "language", it->language);
  ts_json_str_member(&w, "live", it->live);
  time_member(&w, "published_at", it->published);
  count_member(&w, "views", it->views);
  count_member(&w, "likes", it->likes);
  count_member(&w, "comments", it->comments);
  count_member(&w, "score", it->score);
  count_member(&w, "duration_s", it->duration_s);

  bool all_stale = it->npositions > 0, any_region = false;
  ts_json_key(&w, "positions");
  ts_json_open(&w, '[');
  for (uint32_t i = 0; i < it->npositions; i++) {
    const struct ts_item_position *p = &it->positions[i];
    ts_json_next(&w);
    ts_json_open(&w, '{');
    ts_json_str_member(&w, "source", p->source);
    if (p->region[0])
      ts_json_str_member(&w, "region", p->region);
    ts_json_int_member(&w, "rank", p->rank);
    if (p->stale)
      ts_json_bool_member(&w, "stale", true);
    ts_json_close(&w, '}');
    all_stale = all_stale && p->stale;
    any_region = any_region || p->region[0];
  }
  ts_json_close(&w, ']');
  if (any_region) {
    ts_json_key(&w, "regions");
    ts_json_open(&w, '[');
    for (uint32_t i = 0; i < it->npositions; i++) {
      const struct ts_item_position *p = &it->positions[i];
      if (!p->region[0])
        continue;
      ts_json_next(&w);
      ts_json_open(&w, '{');
      ts_json_str_member(&w, "code", p->region);
      ts_json_int_member(&w, "rank", p->rank);
      ts_json_close(&w, '}');
    }
    ts_json_close(&w, ']');
  }
  /* Positions are sorted by source: a new name differs from the last. */
  ts_json_key(&w, "sources");
  ts_json_open(&w, '[');
  for (uint32_t i = 0; i < it->npositions; i++) {
    if (i && !strcmp(it->positions[i - 1].source, it->positions[i].source))
      continue;
    ts_json_next(&w);
    if (ts_json_string(out, it->positions[i].source) != TS_OK)
      w.failed = true;
  }
  ts_json_close(&w, ']');
  if (all_stale)
    ts_json_bool_member(&w, "stale", true);
  ts_json_int_member(&w, "rank_score", it->rank_score);
  ts_json_int_member(&w, "merged", it->merged);
  if (it->nmatch_keys) {
    ts_json_key(&w, "match_keys");
    ts_json_open(&w, '[');
    for (uint32_t i = 0; i < it->nmatch_keys; i++) {
      if (!it->match_keys[i])
        continue;
      ts_json_next(&w);
      if (ts_json_string(out, it->match_keys[i]) != TS_OK)
        w.failed = true;
    }
    ts_json_close(&w, ']');
  }
  ts_json_close(&w, '}');
  return w.failed ? TS_ERR_NOMEM : TS_OK;
}

static void status_text(struct ts_json_writer *w, const struct ts_status *s)
{
  ts_json_open(w, '{');
  ts_json_str_member(w, "source", s->source);
  ts_json_str_member(w, "type", s->type);
  if (s->region[0])
    ts_json_str_member(w, "region", s->region);
  ts_json_str_member(w, "status", ts_status_state_name(s->state));
  redacted_member(w, "reason", s->reason);
  ts_json_int_member(w, "items", s->items);
  ts_json_int_member(w, "skipped", s->skipped);
  ts_json_int_member(w, "requests", s->requests);
  ts_json_int_member(w, "retries", s->retries);
  ts_json_int_member(w, "repaired", s->repaired);
  if (s->quota_units)
    ts_json_int_member(w, "quota_units", s->quota_units);
  ts_json_int_member(w, "duration_ms", (int64_t)(s->duration_ms + 0.5));
  time_member(w, "fetched_at", s->fetched_at);
  if (s->state == TS_STATUS_STALE)
    time_member(w, "stale_since", s->stale_since);
  ts_json_close(w, '}');
}

enum ts_result ts_snapshot_statuses_text(const struct ts_status *statuses,
                                         size_t n, struct ts_buf *out)
{
  struct ts_json_writer w = {.b = out};
  ts_json_open(&w, '[');
  for (size_t i = 0; i < n; i++) {
    ts_json_next(&w);
    if (ts_buf_append_char(out, '\n') != TS_OK)
      w.failed = true;
    status_text(&w, &statuses[i]);
  }
  if (ts_buf_append_char(out, '\n') != TS_OK)
    w.failed = true;
  ts_json_close(&w, ']');
  return w.failed ? TS_ERR_NOMEM : TS_OK;
}

enum ts_result ts_snapshot_text(const struct ts_item *items, size_t nitems,
                                const struct ts_status *statuses,
                                size_t nstatuses,
                                const struct ts_snapshot_meta *meta,
                                struct ts_buf *out)
{
  return ts_snapshot_text_spans(items, nitems, statuses, nstatuses, meta, out,
                                NULL);
}

enum ts_result ts_snapshot_text_spans(const struct ts_item *items,
                                      size_t nitems,
                                      const struct ts_status *statuses,
                                      size_t nstatuses,
                                      const struct ts_snapshot_meta *meta,
                                      struct ts_buf *out,
                                      struct ts_snapshot_span *spans)
{
  /* One status and one item per line: compact, yet a deploy diff shows
   * which items changed. */
  struct ts_json_writer w = {.b = out};
  ts_json_open(&w, '{');
  ts_json_str_member(&w, "format", TS_SNAPSHOT_FORMAT);
  ts_json_int_member(&w, "version", TS_SNAPSHOT_VERSION);
  ts_json_str_member(&w, "generator", "trendsite " TS_VERSION);
  time_member(&w, "generated_at", meta->generated_at);
  if (meta->shard_count > 1) {
    ts_json_key(&w, "shard");
    ts_json_open(&w, '{');
    ts_json_int_member(&w, "index", meta->shard_index);
    ts_json_int_member(&w, "count", meta->shard_count);
    ts_json_close(&w, '}');
  }
  ts_json_key(&w, "statuses");
  enum ts_result r = ts_snapshot_statuses_text(statuses, nstatuses, out);
  w.first = false;
  ts_json_key(&w, "items");
  ts_json_open(&w, '[');
  for (size_t i = 0; i < nitems && r == TS_OK; i++) {
    ts_json_next(&w);
    r = ts_buf_append_char(out, '\n');
    size_t start = out->len;
    if (r == TS_OK)
      r = ts_snapshot_item_text(&items[i], out);
    if (spans)
      spans[i] = (struct ts_snapshot_span){start, out->len - start};
  }
  if (r == TS_OK)
    r = ts_buf_append_str(out, "\n]}\n");
  if (r == TS_OK && w.failed)
    r = TS_ERR_NOMEM;
  return r;
}

enum ts_result ts_snapshot_text_subset(const char *text,
                                       const struct ts_snapshot_span *spans,
                                       const size_t *keep, size_t n,
                                       struct ts_buf *out)
{
  /* Everything before the first item's line (statuses and all) is the
   * same whichever items follow; items are separated by ",\n". */
  enum ts_result r = ts_buf_append(out, text, spans[0].off - 1);
  for (size_t k = 0; k < n && r == TS_OK; k++) {
    const struct ts_snapshot_span *sp = &spans[keep[k]];
    r = ts_buf_append_str(out, k ? ",\n" : "\n");
    if (r == TS_OK)
      r = ts_buf_append(out, text + sp->off, sp->len);
  }
  return r == TS_OK ? ts_buf_append_str(out, "\n]}\n") : r;
}

/* ---- reading ----------------------------------------------------------- */

/*
 * The reader walks the text once (util/json_read.h) and fills the batch as
 * it goes: no document tree, and strings are copied once, into the arena.
 * Members may come in any order and unknown ones are skipped, so later
 * versions can add keys.
 *
 * A problem with the data (not the JSON) is kept rather than reported at
 * once, and the rest of the document is still read, because which problem
 * a reader reports should not depend on the order of the members: a
 * document that is not a snapshot at all says so even when its "items"
 * come first. The most important problem wins, in this order; the JSON
 * grammar comes before all of them.
 */
enum rank {
  RANK_FORMAT,
  RANK_VERSION,
  RANK_GENERATED_AT,
  RANK_SHARD,
  RANK_STATUSES, /* "statuses" itself */
  RANK_ITEMS,
  RANK_STATUS, /* one status */
  RANK_ITEM,
  RANK_NONE
};

struct loader {
  const char *name;
  struct ts_json_reader json;
  struct ts_batch *batch;
  enum rank rank; /* of `problem` */
  struct ts_error problem;
  /* Scratch lists reused for every item and kept until the end: an
   * item's positions and match keys before they get exact arena arrays,
   * and the statuses, added to the batch only when all is well. */
  struct ts_item_position *positions;
  size_t positions_cap;
  const char **keys;
  size_t keys_cap;
  struct ts_status *statuses;
  size_t nstatuses, statuses_cap;
};

#define WRONG_TYPE "a field has the wrong type (see docs/snapshot.md)"
#define EXPECTED_POSITION "expected {\"source\", \"region\"?, \"rank\" >= 1}"
#define EXPECTED_STATUS                                                      \
  "expected {\"source\", \"type\", \"region\"?, \"status\", ...}"

/* Keeps a problem with the data unless a more important one is known.
 * Returns false, for `return problem(...)` in loaders. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool problem(struct loader *ld, enum rank rank, const char *fmt, ...)
{
  if (rank >= ld->rank)
    return false;
  char what[TS_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  ts_error_set(&ld->problem, TS_ERR_PARSE, "%s: %s", ld->name, what);
  ld->rank = rank;
  return false;
}

/* Whether the JSON is still good: false after a grammar error or out of
 * memory, which end the reading (the error is then the reader's). */
static bool json_ok(struct loader *ld)
{
  return ts_json_result(&ld->json) == TS_OK;
}

static bool out_of_memory(struct loader *ld)
{
  ts_json_fail(&ld->json, TS_ERR_NOMEM, "out of memory");
  return false;
}

/* The names of an object's members, for find_field. */
struct field {
  const char *name;
  size_t len;
};

#define FIELD(s) {s, sizeof s - 1}

/* The index of `key` in `fields` (at most 32), or -1. `*hint` is where to
 * look first: snapshots are written with their keys in one order, so the
 * next key is nearly always the one after the last. */
static int find_field(const struct field *fields, int n,
                      struct ts_json_view key, int *hint)
{
  int h = *hint;
  if (h < n && fields[h].len == key.len &&
      !memcmp(fields[h].name, key.s, key.len)) {
    *hint = h + 1;
    return h;
  }
  for (int i = 0; i < n; i++)
    if (fields[i].len == key.len && !memcmp(fields[i].name, key.s, key.len)) {
      *hint = i + 1;
      return i;
    }
  return -1;
}

/* Marks field `f` seen; false when it was already: a second "title" is
 * more likely a broken writer than something to pick one of. */
static bool first_time(uint32_t *seen, int f)
{
  uint32_t bit = UINT32_C(1) << f;
  bool first = !(*seen & bit);
  *seen |= bit;
  return first;
}

/* Value readers: false for a value of another type (left for the reader
 * to skip when the caller moves on) and when the reader fails. */

static bool read_str(struct loader *ld, const char **out)
{
  return ts_json_peek(&ld->json) == TS_JSON_STRING &&
         ts_json_read_string(&ld->json, &ld->batch->arena, out, NULL) ==
             TS_OK;
}

static bool read_view(struct loader *ld, struct ts_json_view *out)
{
  return ts_json_peek(&ld->json) == TS_JSON_STRING &&
         ts_json_read_view(&ld->json, out) == TS_OK;
}

/* A string that is often the same as one read just before (a position's
 * source is nearly always its item's): shares that copy instead. */
static bool read_shared_str(struct loader *ld, const char *same,
                            const char **out)
{
  struct ts_json_view v;
  if (!read_view(ld, &v))
    return false;
  if (same && ts_json_view_is(v, same)) {
    *out = same;
    return true;
  }
  *out = ts_batch_strn(ld->batch, v.s, v.len);
  return *out != NULL || out_of_memory(ld);
}

/* An integer (no fraction or exponent), stored only when it is one. */
static bool read_int(struct loader *ld, int64_t *out)
{
  struct ts_json_number n;
  if (ts_json_peek(&ld->json) != TS_JSON_NUMBER ||
      ts_json_read_number(&ld->json, &n) != TS_OK || !n.integer)
    return false;
  *out = n.value;
  return true;
}

static bool read_time(struct loader *ld, int64_t *out)
{
  struct ts_json_view v;
  char text[21];
  if (!read_view(ld, &v) || v.len != 20)
    return false;
  memcpy(text, v.s, 20);
  text[20] = '\0';
  return ts_time_parse(text, out);
}

/* Whether a URL from a snapshot may be kept: http and https only. */
static bool web_url(const char *url)
{
  return !strncmp(url, "https://", 8) || !strncmp(url, "http://", 7);
}

/* A position: false (read to its end or not) when it is not one. */
static bool load_position(struct loader *ld, const struct ts_item *it,
                          struct ts_item_position *pos, size_t n)
{
  static const struct field fields[] = {
    FIELD("source"), FIELD("region"), FIELD("rank"), FIELD("stale")};
  struct ts_json_reader *r = &ld->json;
  if (ts_json_peek(r) != TS_JSON_OBJECT ||
      ts_json_object_begin(r) != TS_OK)
    return false;
  memset(pos, 0, sizeof *pos);
  const char *same = n ? ld->positions[n - 1].source : it->source;
  int64_t rank = 0;
  uint32_t seen = 0;
  int hint = 0;
  struct ts_json_view key, region;
  while (ts_json_member(r, &key)) {
    int f = find_field(fields, 4, key, &hint);
    if (f < 0)
      continue;
    if (!first_time(&seen, f))
      return false;
    switch (f) {
    case 0:
      if (!read_shared_str(ld, same, &pos->source))
        return false;
      break;
    case 1:
      if (!read_view(ld, &region) || region.len >= sizeof pos->region)
        return false;
      memcpy(pos->region, region.s, region.len);
      break;
    case 2:
      if (!read_int(ld, &rank) || rank < 1 || rank > UINT32_MAX)
        return false;
      break;
    case 3:
      /* Anything but true is "not stale", as in version 1 readers. */
      if (ts_json_peek(r) == TS_JSON_TRUE)
        ts_json_read_bool(r, &pos->stale);
      break;
    }
  }
  pos->rank = (uint32_t)rank;
  return json_ok(ld) && pos->source && rank >= 1;
}

static bool load_positions(struct loader *ld, struct ts_item *it, size_t i)
{
  struct ts_json_reader *r = &ld->json;
  if (ts_json_peek(r) != TS_JSON_ARRAY)
    return json_ok(ld) &&
           problem(ld, RANK_ITEM, "items[%zu]: \"positions\" must be a "
                   "non-empty list", i);
  ts_json_array_begin(r);
  size_t n = 0;
  while (ts_json_element(r)) {
    if (!ts_grow(&ld->positions, &ld->positions_cap, n + 1,
              sizeof *ld->positions))
      return out_of_memory(ld);
    if (!load_position(ld, it, &ld->positions[n], n))
      return json_ok(ld) && problem(ld, RANK_ITEM, "items[%zu].positions"
                                    "[%zu]: " EXPECTED_POSITION, i, n);
    n++;
  }
  if (!json_ok(ld))
    return false;
  if (n == 0 || n > UINT32_MAX)
    return problem(ld, RANK_ITEM, "items[%zu]: \"positions\" must be a "
                   "non-empty list", i);
  it->positions = ts_arena_alloc(&ld->batch->arena, n * sizeof *it->positions);
  if (!it->positions)
    return out_of_memory(ld);
  memcpy(it->positions, ld->positions, n * sizeof *it->positions);
  it->npositions = (uint32_t)n;
  return true;
}

static bool load_match_keys(struct loader *ld, struct ts_item *it, size_t i)
{
  struct ts_json_reader *r = &ld->json;
  size_t n = 0;
  bool ok = ts_json_peek(r) == TS_JSON_ARRAY;
  if (ok)
    ts_json_array_begin(r);
  while (ok && ts_json_element(r)) {
    if (!ts_grow(&ld->keys, &ld->keys_cap, n + 1, sizeof *ld->keys))
      return out_of_memory(ld);
    ok = read_str(ld, &ld->keys[n++]);
  }
  if (!json_ok(ld))
    return false;
  if (!ok || n > UINT32_MAX)
    return problem(ld, RANK_ITEM, "items[%zu]: \"match_keys\" must be a "
                   "list of strings", i);
  it->match_keys = NULL;
  it->nmatch_keys = 0;
  if (n) {
    it->match_keys =
        ts_arena_alloc(&ld->batch->arena, n * sizeof *it->match_keys);
    if (!it->match_keys)
      return out_of_memory(ld);
    memcpy(it->match_keys, ld->keys, n * sizeof *it->match_keys);
    it->nmatch_keys = (uint32_t)n;
  }
  return true;
}

/* {"url", "width", "height"}: false when it is not one, or a size does
 * not fit. */
static bool load_thumbnail(struct loader *ld, struct ts_item *it, size_t i)
{
  static const struct field fields[] = {FIELD("url"), FIELD("width"),
                                        FIELD("height")};
  struct ts_json_reader *r = &ld->json;
  if (ts_json_peek(r) != TS_JSON_OBJECT)
    return json_ok(ld) && problem(ld, RANK_ITEM, "items[%zu]: " WRONG_TYPE,
                                  i);
  ts_json_object_begin(r);
  int64_t size[2] = {0, 0};
  uint32_t seen = 0;
  int hint = 0;
  struct ts_json_view key;
  it->thumbnail = NULL;
  while (ts_json_member(r, &key)) {
    int f = find_field(fields, 3, key, &hint);
    if (f < 0)
      continue;
    if (!first_time(&seen, f))
      return problem(ld, RANK_ITEM, "items[%zu]: duplicate key \"%s\" in "
                     "\"thumbnail\"", i, fields[f].name);
    if (!(f == 0 ? read_str(ld, &it->thumbnail) : read_int(ld, &size[f - 1])))
      return json_ok(ld) && problem(ld, RANK_ITEM, "items[%zu]: " WRONG_TYPE,
                                    i);
    if (f && (size[f - 1] < 0 || size[f - 1] > INT32_MAX))
      return problem(ld, RANK_ITEM, "items[%zu]: \"thumbnail\": \"%s\" is "
                     "out of range", i, fields[f].name);
  }
  it->thumb_width = (int32_t)size[0];
  it->thumb_height = (int32_t)size[1];
  return json_ok(ld);
}

enum item_field {
  I_KEY, I_KIND, I_SOURCE, I_ID, I_TITLE, I_URL, I_DISCUSSION_URL,
  I_THUMBNAIL, I_AUTHOR, I_SUMMARY, I_CATEGORY, I_LANGUAGE, I_LIVE,
  I_PUBLISHED_AT, I_VIEWS, I_LIKES, I_COMMENTS, I_SCORE, I_DURATION_S,
  I_POSITIONS, I_RANK_SCORE, I_MERGED, I_MATCH_KEYS, I_COUNT
};

/* In the order ts_snapshot_item_text writes them. */
static const struct field item_fields[I_COUNT] = {
  FIELD("key"), FIELD("kind"), FIELD("source"), FIELD("id"),
  FIELD("title"), FIELD("url"), FIELD("discussion_url"),
  FIELD("thumbnail"), FIELD("author"), FIELD("summary"), FIELD("category"),
  FIELD("language"), FIELD("live"), FIELD("published_at"), FIELD("views"),
  FIELD("likes"), FIELD("comments"), FIELD("score"), FIELD("duration_s"),
  FIELD("positions"), FIELD("rank_score"), FIELD("merged"),
  FIELD("match_keys")};

/* One member of an item: false on a problem (kept) or a JSON error. */
static bool item_member(struct loader *ld, struct ts_item *it, size_t i,
                        int f)
{
  const struct ts_batch *b = ld->batch;
  struct ts_json_view kind;
  int64_t merged = 1;
  bool ok;
  switch (f) {
  case I_KIND:
    if (!read_view(ld, &kind) ||
        !(ts_json_view_is(kind, "video") || ts_json_view_is(kind, "story")))
      return json_ok(ld) && problem(ld, RANK_ITEM, "items[%zu]: \"kind\" "
                                    "must be \"video\" or \"story\"", i);
    it->kind = kind.s[0] == 'v' ? TS_ITEM_VIDEO : TS_ITEM_STORY;
    return true;
  case I_THUMBNAIL: return load_thumbnail(ld, it, i);
  case I_POSITIONS: return load_positions(ld, it, i);
  case I_MATCH_KEYS: return load_match_keys(ld, it, i);
  case I_MERGED:
    ok = read_int(ld, &merged);
    if (ok && (merged < 0 || merged > UINT32_MAX))
      return problem(ld, RANK_ITEM, "items[%zu]: \"merged\" is out of "
                     "range", i);
    it->merged = (uint32_t)merged;
    break;
  case I_SOURCE:
    /* Most items share their source with the item before. */
    ok = read_shared_str(
        ld, b->nitems > 1 ? b->items[b->nitems - 2].source : NULL,
        &it->source);
    break;
  case I_KEY: ok = read_str(ld, &it->key); break;
  case I_ID: ok = read_str(ld, &it->id); break;
  case I_TITLE: ok = read_str(ld, &it->title); break;
  case I_URL: ok = read_str(ld, &it->url); break;
  case I_DISCUSSION_URL: ok = read_str(ld, &it->discussion_url); break;
  case I_AUTHOR: ok = read_str(ld, &it->author); break;
  case I_SUMMARY: ok = read_str(ld, &it->summary); break;
  case I_CATEGORY: ok = read_str(ld, &it->category); break;
  case I_LANGUAGE: ok = read_str(ld, &it->language); break;
  case I_LIVE: ok = read_str(ld, &it->live); break;
  case I_PUBLISHED_AT: ok = read_time(ld, &it->published); break;
  case I_VIEWS: ok = read_int(ld, &it->views); break;
  case I_LIKES: ok = read_int(ld, &it->likes); break;
  case I_COMMENTS: ok = read_int(ld, &it->comments); break;
  case I_SCORE: ok = read_int(ld, &it->score); break;
  case I_DURATION_S: ok = read_int(ld, &it->duration_s); break;
  case I_RANK_SCORE: ok = read_int(ld, &it->rank_score); break;
  default: ok = false; break;
  }
  return ok || (json_ok(ld) &&
                problem(ld, RANK_ITEM, "items[%zu]: " WRONG_TYPE, i));
}

static bool load_item(struct loader *ld, size_t i)
{
  struct ts_json_reader *r = &ld->json;
  if (ts_json_peek(r) != TS_JSON_OBJECT)
    return json_ok(ld) &&
           problem(ld, RANK_ITEM, "items[%zu]: expected an object", i);
  ts_json_object_begin(r);
  struct ts_item *it = ts_batch_new_item(ld->batch);
  if (!it)
    return out_of_memory(ld);
  uint32_t seen = 0;
  int hint = 0;
  struct ts_json_view key;
  while (ts_json_member(r, &key)) {
    int f = find_field(item_fields, I_COUNT, key, &hint);
    if (f < 0)
      continue; /* "regions", "sources", "stale" or a later version's */
    if (!first_time(&seen, f))
      return problem(ld, RANK_ITEM, "items[%zu]: duplicate key \"%s\"", i,
                     item_fields[f].name);
    if (!item_member(ld, it, i, f))
      return false;
  }
  if (!json_ok(ld))
    return false;
  if (!(seen & UINT32_C(1) << I_KIND))
    return problem(ld, RANK_ITEM, "items[%zu]: \"kind\" must be \"video\" "
                   "or \"story\"", i);
  if (!it->key || !it->id || !it->source || !it->title)
    return problem(ld, RANK_ITEM, "items[%zu]: \"key\", \"id\", \"source\" "
                   "and \"title\" are required", i);
  if (!it->npositions)
    return problem(ld, RANK_ITEM, "items[%zu]: \"positions\" must be a "
                   "non-empty list", i);
  /* A snapshot is input like any API response (render --from reads files
   * anyone may write): a javascript: or data: URL is dropped here, so it
   * reaches neither the pages nor the republished api/snapshot.json, whose
   * readers docs/snapshot.md promises http(s) only. */
  if (it->url && !web_url(it->url))
    it->url = NULL;
  if (it->discussion_url && !web_url(it->discussion_url))
    it->discussion_url = NULL;
  if (it->thumbnail && !web_url(it->thumbnail))
    it->thumbnail = NULL;
  return true;
}

enum status_field {
  S_SOURCE, S_TYPE, S_REGION, S_STATUS, S_REASON, S_ITEMS, S_SKIPPED,
  S_REQUESTS, S_RETRIES, S_REPAIRED, S_QUOTA_UNITS, S_DURATION_MS,
  S_FETCHED_AT, S_STALE_SINCE, S_COUNT
};

static const struct field status_fields[S_COUNT] = {
  FIELD("source"), FIELD("type"), FIELD("region"), FIELD("status"),
  FIELD("reason"), FIELD("items"), FIELD("skipped"), FIELD("requests"),
  FIELD("retries"), FIELD("repaired"), FIELD("quota_units"),
  FIELD("duration_ms"), FIELD("fetched_at"), FIELD("stale_since")};

/* A status's count: an integer that fits `max`, else a problem. */
static bool read_count(struct loader *ld, size_t i, int f, int64_t max,
                       int64_t *out)
{
  if (!read_int(ld, out))
    return json_ok(ld) &&
           problem(ld, RANK_STATUS, "statuses[%zu]: " WRONG_TYPE, i);
  if (*out < 0 || *out > max)
    return problem(ld, RANK_STATUS, "statuses[%zu]: \"%s\" is out of range",
                   i, status_fields[f].name);
  return true;
}

/* One member of a status: false on a problem (kept) or a JSON error. */
static bool status_member(struct loader *ld, struct ts_status *s, size_t i,
                          int f, bool *have_state)
{
  uint32_t *count = NULL;
  struct ts_json_view v;
  int64_t n;
  bool ok = true;
  switch (f) {
  case S_SOURCE: ok = read_str(ld, &s->source); break;
  case S_TYPE: ok = read_str(ld, &s->type); break;
  case S_REGION:
    ok = read_view(ld, &v) && v.len < sizeof s->region;
    if (ok)
      memcpy(s->region, v.s, v.len);
    break;
  case S_STATUS:
    if (!(ok = read_view(ld, &v)))
      break;
    if (ts_json_view_is(v, "ok"))
      s->state = TS_STATUS_OK;
    else if (ts_json_view_is(v, "failed"))
      s->state = TS_STATUS_FAILED;
    else if (ts_json_view_is(v, "stale"))
      s->state = TS_STATUS_STALE;
    else
      return problem(ld, RANK_STATUS, "statuses[%zu]: \"status\" must be "
                     "ok, failed or stale", i);
    *have_state = true;
    break;
  case S_REASON:
  case S_FETCHED_AT:
  case S_STALE_SINCE:
    if (!(f == S_REASON        ? read_str(ld, &s->reason)
          : f == S_FETCHED_AT ? read_time(ld, &s->fetched_at)
                              : read_time(ld, &s->stale_since)))
      return json_ok(ld) &&
             problem(ld, RANK_STATUS, "statuses[%zu]: " WRONG_TYPE, i);
    return true;
  case S_DURATION_MS:
    /* It goes through a double and is rounded on the way out: past 2^53
     * it would not come back the same. */
    if (!read_count(ld, i, f, INT64_C(1) << 53, &n))
      return false;
    s->duration_ms = (double)n;
    return true;
  case S_ITEMS: count = &s->items; break;
  case S_SKIPPED: count = &s->skipped; break;
  case S_REQUESTS: count = &s->requests; break;
  case S_RETRIES: count = &s->retries; break;
  case S_REPAIRED: count = &s->repaired; break;
  case S_QUOTA_UNITS: count = &s->quota_units; break;
  }
  if (count) {
    if (!read_count(ld, i, f, UINT32_MAX, &n))
      return false;
    *count = (uint32_t)n;
    return true;
  }
  return ok || (json_ok(ld) && problem(ld, RANK_STATUS,
                                       "statuses[%zu]: " EXPECTED_STATUS, i));
}

static bool load_status(struct loader *ld, size_t i)
{
  struct ts_json_reader *r = &ld->json;
  if (ts_json_peek(r) != TS_JSON_OBJECT)
    return json_ok(ld) &&
           problem(ld, RANK_STATUS, "statuses[%zu]: " EXPECTED_STATUS, i);
  ts_json_object_begin(r);
  struct ts_status s;
  memset(&s, 0, sizeof s);
  s.fetched_at = TS_TIME_UNKNOWN;
  bool have_state = false;
  uint32_t seen = 0;
  int hint = 0;
  struct ts_json_view key;
  while (ts_json_member(r, &key)) {
    int f = find_field(status_fields, S_COUNT, key, &hint);
    if (f < 0)
      continue;
    if (!first_time(&seen, f))
      return problem(ld, RANK_STATUS, "statuses[%zu]: duplicate key \"%s\"",
                     i, status_fields[f].name);
    if (!status_member(ld, &s, i, f, &have_state))
      return false;
  }
  if (!json_ok(ld))
    return false;
  if (!s.source || !s.type || !have_state)
    return problem(ld, RANK_STATUS, "statuses[%zu]: " EXPECTED_STATUS, i);
  if (!ts_grow(&ld->statuses, &ld->statuses_cap, ld->nstatuses + 1,
            sizeof *ld->statuses))
    return out_of_memory(ld);
  ld->statuses[ld->nstatuses++] = s;
  return true;
}

static void load_shard(struct loader *ld, struct ts_snapshot_meta *meta)
{
  struct ts_json_reader *r = &ld->json;
  int64_t index = 0, count = 0;
  struct ts_json_view key;
  if (ts_json_peek(r) == TS_JSON_OBJECT) {
    ts_json_object_begin(r);
    while (ts_json_member(r, &key)) {
      if (ts_json_view_is(key, "index"))
        read_int(ld, &index);
      else if (ts_json_view_is(key, "count"))
        read_int(ld, &count);
    }
  }
  if (json_ok(ld) &&
      (count < 1 || index < 1 || index > count || count > 1000)) {
    problem(ld, RANK_SHARD, "shard: expected {\"index\": I, \"count\": N} "
            "with 1 <= I <= N");
    return;
  }
  meta->shard_index = (unsigned)index;
  meta->shard_count = (unsigned)count;
}

/* A list at the top: loads each element with `load` while no problem at
 * least as important as `rank` is known (skips them after one). */
static void load_list(struct loader *ld, const char *name, enum rank rank,
                      bool (*load)(struct loader *, size_t))
{
  struct ts_json_reader *r = &ld->json;
  if (ts_json_peek(r) != TS_JSON_ARRAY) {
    if (json_ok(ld))
      problem(ld, rank == RANK_STATUS ? RANK_STATUSES : RANK_ITEMS,
              "%s: expected a list", name);
    return;
  }
  ts_json_array_begin(r);
  unsigned depth = ts_json_depth(r);
  for (size_t i = 0; ts_json_element(r); i++)
    if (ld->rank > rank && !load(ld, i))
      ts_json_unwind(r, depth); /* go on after the element */
}

enum top_field {
  T_FORMAT, T_VERSION, T_GENERATED_AT, T_SHARD, T_STATUSES, T_ITEMS,
  T_COUNT
};

static const struct field top_fields[T_COUNT] = {
  FIELD("format"), FIELD("version"), FIELD("generated_at"), FIELD("shard"),
  FIELD("statuses"), FIELD("items")};

/* Reads the whole document; problems are left in `ld`. */
static void load_document(struct loader *ld, struct ts_snapshot_meta *meta)
{
  static const enum rank ranks[T_COUNT] = {
    RANK_FORMAT, RANK_VERSION, RANK_GENERATED_AT, RANK_SHARD, RANK_STATUSES,
    RANK_ITEMS};
  struct ts_json_reader *r = &ld->json;
  bool format_ok = false;
  int64_t version = 0;
  uint32_t seen = 0;
  int hint = 0;
  struct ts_json_view key, v;
  if (ts_json_peek(r) == TS_JSON_OBJECT) {
    ts_json_object_begin(r);
    while (ts_json_member(r, &key)) {
      int f = find_field(top_fields, T_COUNT, key, &hint);
      if (f < 0)
        continue;
      if (!first_time(&seen, f)) {
        problem(ld, ranks[f], "duplicate key \"%s\"", top_fields[f].name);
        continue;
      }
      switch (f) {
      case T_FORMAT:
        format_ok = read_view(ld, &v) && ts_json_view_is(v,
                                                         TS_SNAPSHOT_FORMAT);
        break;
      case T_VERSION: read_int(ld, &version); break;
      case T_GENERATED_AT:
        if (!read_time(ld, &meta->generated_at) && json_ok(ld))
          problem(ld, RANK_GENERATED_AT, "generated_at: expected a time "
                  "like 2026-11-21T10:00:00Z");
        break;
      case T_SHARD: load_shard(ld, meta); break;
      case T_STATUSES:
        load_list(ld, "statuses", RANK_STATUS, load_status);
        break;
      case T_ITEMS: load_list(ld, "items", RANK_ITEM, load_item); break;
      }
    }
  }
  if (ts_json_end(r) != TS_OK)
    return;
  if (!format_ok)
    problem(ld, RANK_FORMAT, "not a trendsite snapshot (no \"format\": "
            "\"%s\")", TS_SNAPSHOT_FORMAT);
  if (version != TS_SNAPSHOT_VERSION)
    problem(ld, RANK_VERSION, "snapshot version %lld; this trendsite reads "
            "version %d", (long long)version, TS_SNAPSHOT_VERSION);
  if (!(seen & UINT32_C(1) << T_GENERATED_AT))
    problem(ld, RANK_GENERATED_AT, "generated_at: expected a time like "
            "2026-11-21T10:00:00Z");
  if (!(seen & UINT32_C(1) << T_STATUSES))
    problem(ld, RANK_STATUSES, "statuses: expected a list");
  if (!(seen & UINT32_C(1) << T_ITEMS))
    problem(ld, RANK_ITEMS, "items: expected a list");
}

/* Adds the statuses read to the batch (a list seen twice keeps the last
 * one's values, as it always has). */
static enum ts_result add_statuses(struct loader *ld, struct ts_error *err)
{
  for (size_t i = 0; i < ld->nstatuses; i++) {
    const struct ts_status *s = &ld->statuses[i];
    struct ts_status *to =
        ts_batch_status(ld->batch, s->source, s->type, s->region);
    if (!to)
      return ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", ld->name);
    const char *source = to->source, *type = to->type;
    *to = *s;
    to->source = source;
    to->type = type;
  }
  return TS_OK;
}

enum ts_result ts_snapshot_parse(const char *name, const char *text,
                                 size_t len, struct ts_batch *batch,
                                 struct ts_snapshot_meta *meta,
                                 struct ts_error *err)
{
  struct loader ld;
  memset(&ld, 0, sizeof ld);
  ld.name = name;
  ld.batch = batch;
  ld.rank = RANK_NONE;
  ts_json_reader_init(&ld.json, name, text, len, err);
  size_t nitems = batch->nitems, nstatuses = batch->nstatuses;
  struct ts_snapshot_meta m = {TS_TIME_UNKNOWN, 1, 1};
  load_document(&ld, &m);
  enum ts_result r = ts_json_result(&ld.json);
  if (r == TS_OK && ld.rank != RANK_NONE) {
    if (err)
      *err = ld.problem;
    r = TS_ERR_PARSE;
  }
  if (r == TS_OK)
    r = add_statuses(&ld, err);
  if (r == TS_OK) {
    *meta = m;
  } else {
    /* Nothing half-read stays behind (the arena keeps its bytes). */
    batch->nitems = nitems;
    batch->nstatuses = nstatuses;
  }
  ts_json_reader_cleanup(&ld.json);
  free(ld.positions);
  free(ld.keys);
  free(ld.statuses);
  return r;
}

enum ts_result ts_snapshot_read(const char *path, struct ts_batch *batch,
                                struct ts_snapshot_meta *meta,
                                struct ts_error *err)
{
  char *text;
  size_t len;
  enum ts_result r = ts_fs_read(path, SNAPSHOT_MAX_BYTES, &text, &len, err);
  if (r != TS_OK)
    return r;
  r = ts_snapshot_parse(path, text, len, batch, meta, err);
  free(text);
  return r;
}

#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/fs.h"
#include "util/json_text.h"
#include "util/redact.h"
#include "version.h"

#define SNAPSHOT_MAX_BYTES ((size_t)1 << 30)

/* ---- writing ----------------------------------------------------------- */

/* URLs and reasons are redacted once more on the way out: a key must never
 * reach a published file even if an adapter forgot. */
static void redacted_member(struct ts_json_writer *w, const char *key,
                            const char *value)
{
  if (!value)
    return;
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
    if (r == TS_OK)
      r = ts_snapshot_item_text(&items[i], out);
  }
  if (r == TS_OK)
    r = ts_buf_append_str(out, "\n]}\n");
  if (r == TS_OK && w.failed)
    r = TS_ERR_NOMEM;
  return r;
}

enum ts_result ts_snapshot_save(const char *path, const struct ts_item *items,
                                size_t nitems,
                                const struct ts_status *statuses,
                                size_t nstatuses,
                                const struct ts_snapshot_meta *meta,
                                struct ts_error *err)
{
  struct ts_buf text;
  ts_buf_init(&text, 0);
  enum ts_result r = ts_snapshot_text(items, nitems, statuses, nstatuses, meta,
                                      &text);
  if (r != TS_OK)
    r = ts_error_set(err, r, "%s: out of memory", path);
  else
    r = ts_fs_write_atomic(path, ts_buf_cstr(&text), text.len, err);
  ts_buf_cleanup(&text);
  return r;
}

/* ---- reading ----------------------------------------------------------- */

struct reader {
  const char *name;
  struct ts_batch *batch;
  struct ts_error *err;
};

static enum ts_result bad(struct reader *rd, const char *where,
                          const char *what)
{
  return ts_error_set(rd->err, TS_ERR_PARSE, "%s: %s: %s", rd->name, where,
                      what);
}

/* Optional string: NULL when absent, an error when not a string. */
static bool get_str(struct reader *rd, const json_t *obj, const char *key,
                    const char **out)
{
  const json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v)
    return true;
  if (!json_is_string(v))
    return false;
  *out = ts_batch_strn(rd->batch, json_string_value(v), json_string_length(v));
  return *out != NULL;
}

static bool get_int(const json_t *obj, const char *key, int64_t *out)
{
  const json_t *v = json_object_get(obj, key);
  if (!v)
    return true;
  if (!json_is_integer(v))
    return false;
  *out = json_integer_value(v);
  return true;
}

static bool get_time(const json_t *obj, const char *key, int64_t *out)
{
  const json_t *v = json_object_get(obj, key);
  if (!v)
    return true;
  return json_is_string(v) && ts_time_parse(json_string_value(v), out);
}

/* Whether a URL from a snapshot may be kept: http and https only. */
static bool web_url(const char *url)
{
  return !strncmp(url, "https://", 8) || !strncmp(url, "http://", 7);
}

static enum ts_result load_item(struct reader *rd, const json_t *o, size_t i)
{
  char where[64];
  snprintf(where, sizeof where, "items[%zu]", i);
  if (!json_is_object(o))
    return bad(rd, where, "expected an object");
  struct ts_item *it = ts_batch_new_item(rd->batch);
  if (!it)
    return bad(rd, where, "out of memory");
  const char *kind = json_string_value(json_object_get(o, "kind"));
  if (!kind || (strcmp(kind, "video") && strcmp(kind, "story")))
    return bad(rd, where, "\"kind\" must be \"video\" or \"story\"");
  it->kind = !strcmp(kind, "video") ? TS_ITEM_VIDEO : TS_ITEM_STORY;
  const json_t *thumb = json_object_get(o, "thumbnail");
  int64_t tw = 0, th = 0, merged = 1;
  bool ok = get_str(rd, o, "key", &it->key) &&
            get_str(rd, o, "source", &it->source) &&
            get_str(rd, o, "id", &it->id) &&
            get_str(rd, o, "title", &it->title) &&
            get_str(rd, o, "url", &it->url) &&
            get_str(rd, o, "discussion_url", &it->discussion_url) &&
            get_str(rd, o, "author", &it->author) &&
            get_str(rd, o, "summary", &it->summary) &&
            get_str(rd, o, "category", &it->category) &&
            get_str(rd, o, "language", &it->language) &&
            get_str(rd, o, "live", &it->live) &&
            get_time(o, "published_at", &it->published) &&
            get_int(o, "views", &it->views) &&
            get_int(o, "likes", &it->likes) &&
            get_int(o, "comments", &it->comments) &&
            get_int(o, "score", &it->score) &&
            get_int(o, "duration_s", &it->duration_s) &&
            get_int(o, "rank_score", &it->rank_score) &&
            get_int(o, "merged", &merged) &&
            (!thumb || (json_is_object(thumb) &&
                        get_str(rd, thumb, "url", &it->thumbnail) &&
                        get_int(thumb, "width", &tw) &&
                        get_int(thumb, "height", &th)));
  if (!ok)
    return bad(rd, where, "a field has the wrong type (see docs/snapshot.md)");
  if (!it->key || !it->id || !it->source || !it->title)
    return bad(rd, where, "\"key\", \"id\", \"source\" and \"title\" are "
               "required");
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
  it->thumb_width = (int32_t)tw;
  it->thumb_height = (int32_t)th;
  it->merged = (uint32_t)merged;

  const json_t *positions = json_object_get(o, "positions");
  size_t n = json_array_size(positions);
  if (!json_is_array(positions) || n == 0)
    return bad(rd, where, "\"positions\" must be a non-empty list");
  it->positions = ts_arena_alloc(&rd->batch->arena, n * sizeof *it->positions);
  if (!it->positions)
    return bad(rd, where, "out of memory");
  it->npositions = (uint32_t)n;
  for (size_t k = 0; k < n; k++) {
    const json_t *p = json_array_get(positions, k);
    struct ts_item_position *pos = &it->positions[k];
    memset(pos, 0, sizeof *pos);
    const char *region = NULL;
    int64_t rank = 0;
    if (!json_is_object(p) || !get_str(rd, p, "source", &pos->source) ||
        !get_str(rd, p, "region", &region) || !get_int(p, "rank", &rank) ||
        !pos->source || rank < 1 || rank > UINT32_MAX ||
        (region && strlen(region) >= sizeof pos->region)) {
      snprintf(where, sizeof where, "items[%zu].positions[%zu]", i, k);
      return bad(rd, where, "expected {\"source\", \"region\"?, \"rank\" >= 1}");
    }
    if (region)
      memcpy(pos->region, region, strlen(region) + 1);
    pos->rank = (uint32_t)rank;
    pos->stale = json_is_true(json_object_get(p, "stale"));
  }
  const json_t *keys = json_object_get(o, "match_keys");
  size_t nkeys = json_array_size(keys);
  if (keys && !json_is_array(keys))
    return bad(rd, where, "\"match_keys\" must be a list of strings");
  if (nkeys) {
    it->match_keys = ts_arena_alloc(&rd->batch->arena,
                                    nkeys * sizeof *it->match_keys);
    if (!it->match_keys)
      return bad(rd, where, "out of memory");
    for (size_t k = 0; k < nkeys; k++) {
      const json_t *v = json_array_get(keys, k);
      if (!json_is_string(v) ||
          !(it->match_keys[k] = ts_batch_strn(rd->batch, json_string_value(v),
                                              json_string_length(v))))
        return bad(rd, where, "\"match_keys\" must be a list of strings");
    }
    it->nmatch_keys = (uint32_t)nkeys;
  }
  return TS_OK;
}

static enum ts_result load_status(struct reader *rd, const json_t *o,
                                  size_t i)
{
  char where[64];
  snprintf(where, sizeof where, "statuses[%zu]", i);
  const char *source = json_string_value(json_object_get(o, "source"));
  const char *type = json_string_value(json_object_get(o, "type"));
  const char *region = json_string_value(json_object_get(o, "region"));
  const char *state = json_string_value(json_object_get(o, "status"));
  if (!json_is_object(o) || !source || !type || !state ||
      (region && strlen(region) > 3))
    return bad(rd, where, "expected {\"source\", \"type\", \"region\"?, "
               "\"status\", ...}");
  struct ts_status *s = ts_batch_status(rd->batch, source, type, region);
  if (!s)
    return bad(rd, where, "out of memory");
  if (!strcmp(state, "ok"))
    s->state = TS_STATUS_OK;
  else if (!strcmp(state, "failed"))
    s->state = TS_STATUS_FAILED;
  else if (!strcmp(state, "stale"))
    s->state = TS_STATUS_STALE;
  else
    return bad(rd, where, "\"status\" must be ok, failed or stale");
  int64_t items = 0, skipped = 0, requests = 0, retries = 0, repaired = 0,
          quota = 0, duration = 0;
  bool ok = get_str(rd, o, "reason", &s->reason) &&
            get_int(o, "items", &items) && get_int(o, "skipped", &skipped) &&
            get_int(o, "requests", &requests) &&
            get_int(o, "retries", &retries) &&
            get_int(o, "repaired", &repaired) &&
            get_int(o, "quota_units", &quota) &&
            get_int(o, "duration_ms", &duration) &&
            get_time(o, "fetched_at", &s->fetched_at) &&
            get_time(o, "stale_since", &s->stale_since);
  if (!ok)
    return bad(rd, where, "a field has the wrong type (see docs/snapshot.md)");
  s->items = (uint32_t)items;
  s->skipped = (uint32_t)skipped;
  s->requests = (uint32_t)requests;
  s->retries = (uint32_t)retries;
  s->repaired = (uint32_t)repaired;
  s->quota_units = (uint32_t)quota;
  s->duration_ms = (double)duration;
  return TS_OK;
}

enum ts_result ts_snapshot_load(const char *name, const json_t *doc,
                                struct ts_batch *batch,
                                struct ts_snapshot_meta *meta,
                                struct ts_error *err)
{
  struct reader rd = {name, batch, err};
  const char *format = json_string_value(json_object_get(doc, "format"));
  json_int_t version = json_integer_value(json_object_get(doc, "version"));
  if (!format || strcmp(format, TS_SNAPSHOT_FORMAT) != 0)
    return ts_error_set(err, TS_ERR_PARSE, "%s: not a trendsite snapshot "
                        "(no \"format\": \"%s\")", name, TS_SNAPSHOT_FORMAT);
  if (version != TS_SNAPSHOT_VERSION)
    return ts_error_set(err, TS_ERR_PARSE, "%s: snapshot version %lld; this "
                        "trendsite reads version %d", name, (long long)version,
                        TS_SNAPSHOT_VERSION);
  meta->generated_at = TS_TIME_UNKNOWN;
  meta->shard_index = meta->shard_count = 1;
  if (!get_time(doc, "generated_at", &meta->generated_at) ||
      meta->generated_at == TS_TIME_UNKNOWN)
    return bad(&rd, "generated_at", "expected a time like "
               "2026-11-21T10:00:00Z");
  const json_t *shard = json_object_get(doc, "shard");
  if (shard) {
    json_int_t index = json_integer_value(json_object_get(shard, "index"));
    json_int_t count = json_integer_value(json_object_get(shard, "count"));
    if (count < 1 || index < 1 || index > count || count > 1000)
      return bad(&rd, "shard", "expected {\"index\": I, \"count\": N} with "
                 "1 <= I <= N");
    meta->shard_index = (unsigned)index;
    meta->shard_count = (unsigned)count;
  }
  const json_t *statuses = json_object_get(doc, "statuses");
  const json_t *items = json_object_get(doc, "items");
  if (!json_is_array(statuses))
    return bad(&rd, "statuses", "expected a list");
  if (!json_is_array(items))
    return bad(&rd, "items", "expected a list");
  for (size_t i = 0; i < json_array_size(statuses); i++) {
    enum ts_result r = load_status(&rd, json_array_get(statuses, i), i);
    if (r != TS_OK)
      return r;
  }
  for (size_t i = 0; i < json_array_size(items); i++) {
    enum ts_result r = load_item(&rd, json_array_get(items, i), i);
    if (r != TS_OK)
      return r;
  }
  return TS_OK;
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

enum ts_result ts_snapshot_parse(const char *name, const char *text,
                                 size_t len, struct ts_batch *batch,
                                 struct ts_snapshot_meta *meta,
                                 struct ts_error *err)
{
  json_error_t jerr;
  json_t *doc = json_loadb(text, len, 0, &jerr);
  if (!doc)
    return ts_error_set(err, TS_ERR_PARSE, "%s:%d:%d: %s", name, jerr.line,
                        jerr.column, jerr.text);
  enum ts_result r = ts_snapshot_load(name, doc, batch, meta, err);
  json_decref(doc);
  return r;
}

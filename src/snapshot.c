#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/fs.h"
#include "util/redact.h"
#include "version.h"

#define SNAPSHOT_MAX_BYTES ((size_t)1 << 30)

/* ---- writing ----------------------------------------------------------- */

static void set_str(json_t *obj, const char *key, const char *value)
{
  if (value)
    json_object_set_new(obj, key, json_string(value));
}

/* URLs are redacted once more on the way out: a key must never reach a
 * published file even if an adapter forgot. */
static void set_url(json_t *obj, const char *key, const char *url)
{
  if (!url)
    return;
  char *clean = ts_redact_dup(url);
  if (clean)
    json_object_set_new(obj, key, json_string(clean));
  free(clean);
}

static void set_count(json_t *obj, const char *key, int64_t value)
{
  if (value != TS_UNKNOWN)
    json_object_set_new(obj, key, json_integer(value));
}

static void set_time(json_t *obj, const char *key, int64_t t)
{
  if (t == TS_TIME_UNKNOWN)
    return;
  char buf[21];
  ts_time_format(t, buf);
  json_object_set_new(obj, key, json_string(buf));
}

static const char *kind_name(enum ts_item_kind kind)
{
  return kind == TS_ITEM_VIDEO ? "video" : "story";
}

json_t *ts_snapshot_item_json(const struct ts_item *it)
{
  json_t *o = json_object();
  if (!o)
    return NULL;
  set_str(o, "key", it->key ? it->key : it->id);
  set_str(o, "kind", kind_name(it->kind));
  set_str(o, "source", it->source);
  set_str(o, "id", it->id);
  set_str(o, "title", it->title);
  set_url(o, "url", it->url);
  set_url(o, "discussion_url", it->discussion_url);
  if (it->thumbnail) {
    json_t *t = json_object();
    set_url(t, "url", it->thumbnail);
    if (it->thumb_width > 0 && it->thumb_height > 0) {
      json_object_set_new(t, "width", json_integer(it->thumb_width));
      json_object_set_new(t, "height", json_integer(it->thumb_height));
    }
    json_object_set_new(o, "thumbnail", t);
  }
  set_str(o, "author", it->author);
  set_str(o, "summary", it->summary);
  set_str(o, "category", it->category);
  set_str(o, "language", it->language);
  set_str(o, "live", it->live);
  set_time(o, "published_at", it->published);
  set_count(o, "views", it->views);
  set_count(o, "likes", it->likes);
  set_count(o, "comments", it->comments);
  set_count(o, "score", it->score);
  set_count(o, "duration_s", it->duration_s);

  json_t *positions = json_array();
  json_t *regions = json_array();
  json_t *sources = json_array();
  bool all_stale = it->npositions > 0;
  for (uint32_t i = 0; i < it->npositions; i++) {
    const struct ts_item_position *p = &it->positions[i];
    json_t *pj = json_object();
    set_str(pj, "source", p->source);
    if (p->region[0])
      set_str(pj, "region", p->region);
    json_object_set_new(pj, "rank", json_integer(p->rank));
    if (p->stale)
      json_object_set_new(pj, "stale", json_true());
    json_array_append_new(positions, pj);
    all_stale = all_stale && p->stale;
    if (p->region[0]) {
      json_t *r = json_object();
      set_str(r, "code", p->region);
      json_object_set_new(r, "rank", json_integer(p->rank));
      json_array_append_new(regions, r);
    }
    /* Positions are sorted by source, so a new name differs from the
     * previous one. */
    if (i == 0 || strcmp(it->positions[i - 1].source, p->source) != 0)
      json_array_append_new(sources, json_string(p->source));
  }
  json_object_set_new(o, "positions", positions);
  if (json_array_size(regions))
    json_object_set_new(o, "regions", regions);
  else
    json_decref(regions);
  json_object_set_new(o, "sources", sources);
  if (all_stale)
    json_object_set_new(o, "stale", json_true());
  json_object_set_new(o, "rank_score", json_integer(it->rank_score));
  json_object_set_new(o, "merged", json_integer(it->merged));
  if (it->nmatch_keys) {
    json_t *keys = json_array();
    for (uint32_t i = 0; i < it->nmatch_keys; i++)
      if (it->match_keys[i])
        json_array_append_new(keys, json_string(it->match_keys[i]));
    json_object_set_new(o, "match_keys", keys);
  }
  return o;
}

static json_t *status_json(const struct ts_status *s)
{
  json_t *o = json_object();
  set_str(o, "source", s->source);
  set_str(o, "type", s->type);
  if (s->region[0])
    set_str(o, "region", s->region);
  set_str(o, "status", ts_status_state_name(s->state));
  if (s->reason) {
    char *clean = ts_redact_dup(s->reason);
    set_str(o, "reason", clean);
    free(clean);
  }
  json_object_set_new(o, "items", json_integer(s->items));
  json_object_set_new(o, "skipped", json_integer(s->skipped));
  json_object_set_new(o, "requests", json_integer(s->requests));
  json_object_set_new(o, "retries", json_integer(s->retries));
  json_object_set_new(o, "repaired", json_integer(s->repaired));
  if (s->quota_units)
    json_object_set_new(o, "quota_units", json_integer(s->quota_units));
  json_object_set_new(o, "duration_ms",
                      json_integer((json_int_t)(s->duration_ms + 0.5)));
  set_time(o, "fetched_at", s->fetched_at);
  if (s->state == TS_STATUS_STALE)
    set_time(o, "stale_since", s->stale_since);
  return o;
}

json_t *ts_snapshot_build(const struct ts_item *items, size_t nitems,
                          const struct ts_status *statuses, size_t nstatuses,
                          const struct ts_snapshot_meta *meta)
{
  json_t *doc = json_object();
  json_t *jitems = json_array();
  json_t *jstatuses = json_array();
  if (!doc || !jitems || !jstatuses) {
    json_decref(doc);
    json_decref(jitems);
    json_decref(jstatuses);
    return NULL;
  }
  set_str(doc, "format", TS_SNAPSHOT_FORMAT);
  json_object_set_new(doc, "version", json_integer(TS_SNAPSHOT_VERSION));
  set_str(doc, "generator", "trendsite " TS_VERSION);
  set_time(doc, "generated_at", meta->generated_at);
  if (meta->shard_count > 1) {
    json_t *shard = json_pack("{s:i, s:i}", "index", (int)meta->shard_index,
                              "count", (int)meta->shard_count);
    json_object_set_new(doc, "shard", shard);
  }
  for (size_t i = 0; i < nstatuses; i++)
    json_array_append_new(jstatuses, status_json(&statuses[i]));
  for (size_t i = 0; i < nitems; i++)
    json_array_append_new(jitems, ts_snapshot_item_json(&items[i]));
  json_object_set_new(doc, "statuses", jstatuses);
  json_object_set_new(doc, "items", jitems);
  return doc;
}

enum ts_result ts_snapshot_write(const char *path, const json_t *doc,
                                 struct ts_error *err)
{
  /* One value per line keeps deploy diffs readable; UTF-8 is written as
   * is. Key order is insertion order, which the builder fixes. */
  char *text = json_dumps(doc, JSON_INDENT(1));
  if (!text)
    return ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
  size_t n = strlen(text);
  text[n] = '\n'; /* json_dumps leaves room for the NUL we replace */
  enum ts_result r = ts_fs_write_atomic(path, text, n + 1, err);
  free(text);
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
  json_error_t jerr;
  json_t *doc = json_loadb(text, len, 0, &jerr);
  free(text);
  if (!doc)
    return ts_error_set(err, TS_ERR_PARSE, "%s:%d:%d: %s", path, jerr.line,
                        jerr.column, jerr.text);
  r = ts_snapshot_load(path, doc, batch, meta, err);
  json_decref(doc);
  return r;
}

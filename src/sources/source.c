#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "normalize.h"
#include "sources/common.h"
#include "util/buf.h"
#include "util/clock.h"

static double mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct ts_status *ts_list_status(struct ts_list *list)
{
  const struct ts_config_source *cfg = list->source->cfg;
  return ts_batch_status(list->source->env->batch, cfg->name,
                         ts_source_type_name(cfg->type), list->region);
}

void ts_list_account(struct ts_list *list, const struct ts_fetch_response *res,
                     uint32_t quota_units)
{
  struct ts_status *st = ts_list_status(list);
  if (!st || res->attempts == 0)
    return; /* cancelled before it was sent: no request, no quota */
  double now = mono_ms();
  double start = now - res->elapsed_ms;
  if (!list->started || start < list->first_start_ms)
    list->first_start_ms = start;
  list->started = true;
  if (now > list->last_end_ms)
    list->last_end_ms = now;
  st->requests++;
  if (res->attempts > 1)
    st->retries += res->attempts - 1;
  st->quota_units += quota_units * res->attempts; /* retries cost too */
  /* A pinned clock (TRENDSITE_NOW) makes runs reproducible: no measured
   * durations then. */
  st->duration_ms = ts_clock_pinned() ? 0
                                      : list->last_end_ms - list->first_start_ms;
  st->fetched_at = list->source->env->now;
}

void ts_list_fail(struct ts_list *list, const char *reason)
{
  struct ts_status *st = ts_list_status(list);
  if (!st || list->failed)
    return;
  list->failed = true;
  st->state = TS_STATUS_FAILED;
  st->reason = ts_batch_str(list->source->env->batch, reason);
  char name[64];
  snprintf(name, sizeof name, "%s%s%s%s", list->source->cfg->name,
           list->region[0] ? "[" : "", list->region,
           list->region[0] ? "]" : "");
  ts_log_warn(list->source->env->log, "%s: %s", name, reason);
}

void ts_list_reason(const struct ts_fetch_response *res, char *out,
                    size_t size)
{
  if (res->outcome == TS_FETCH_HTTP_ERROR)
    snprintf(out, size, "HTTP %ld%s%s", res->status,
             res->reason[0] ? " " : "", res->reason);
  else
    snprintf(out, size, "%s%s%s", ts_fetch_outcome_name(res->outcome),
             res->reason[0] ? ": " : "", res->reason);
}

json_t *ts_list_parse(struct ts_list *list,
                      const struct ts_fetch_response *res, char *why,
                      size_t why_size)
{
  struct ts_buf body;
  ts_buf_init(&body, res->body_len * 4 + 1024);
  size_t repaired = 0;
  if (ts_buf_append(&body, res->body, res->body_len) != TS_OK ||
      ts_normalize_repair_json(&body, &repaired) != TS_OK) {
    snprintf(why, why_size, "response too large to repair");
    ts_buf_cleanup(&body);
    return NULL;
  }
  if (repaired) {
    struct ts_status *st = ts_list_status(list);
    if (st)
      st->repaired += (uint32_t)repaired;
  }
  json_error_t jerr;
  /* Any JSON value: Hacker News answers a missing item with a bare
   * `null`, which the parsers handle (API-NOTES.md §2.2). */
  json_t *root = json_loadb(ts_buf_cstr(&body), body.len, JSON_DECODE_ANY,
                            &jerr);
  ts_buf_cleanup(&body);
  if (!root)
    snprintf(why, why_size, "invalid JSON at line %d, column %d: %s",
             jerr.line, jerr.column, jerr.text);
  return root;
}

bool ts_list_on_answer(struct ts_fetch *fetch,
                       const struct ts_fetch_response *res, void *data)
{
  (void)fetch;
  struct ts_list *list = data;
  list->pending--;
  ts_list_account(list, res, 0);
  char why[512];
  if (res->outcome != TS_FETCH_OK && res->outcome != TS_FETCH_NOT_MODIFIED) {
    ts_list_reason(res, why, sizeof why);
    ts_list_fail(list, why);
    return false;
  }
  json_t *root = ts_list_parse(list, res, why, sizeof why);
  bool ok = root && list->parse(list, root, why, sizeof why);
  if (!ok)
    ts_list_fail(list, why);
  json_decref(root);
  return ok;
}

enum ts_result ts_source_one_list(struct ts_source *src, struct ts_list **list,
                                  struct ts_error *err)
{
  *list = NULL;
  if (!ts_source_owns_next_list(src->env))
    return TS_OK;
  src->lists = calloc(1, sizeof *src->lists);
  if (!src->lists)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  src->nlists = 1;
  *list = &src->lists[0];
  (*list)->source = src;
  ts_list_status(*list);
  return TS_OK;
}

bool ts_list_request(struct ts_list *list, const char *url, const char *label,
                     bool conditional, ts_fetch_done_fn on_done, void *data)
{
  struct ts_fetch_request rq = {
    .source = list->source->fetch_source,
    .url = url,
    .label = label,
    .conditional = conditional,
    .on_done = on_done,
    .data = data,
  };
  struct ts_error err;
  if (ts_fetch_add(list->source->env->fetch, &rq, &err) != TS_OK) {
    char reason[TS_ERROR_MAX + 16];
    snprintf(reason, sizeof reason, "cancelled: %s", err.msg);
    ts_list_fail(list, reason);
    return false;
  }
  list->pending++;
  return true;
}

bool ts_source_owns_next_list(const struct ts_source_env *env)
{
  unsigned unit = (*env->unit_counter)++;
  if (env->shard_count <= 1)
    return true;
  return unit % env->shard_count == env->shard_index - 1;
}

void ts_url_param(struct ts_buf *url, const char *key, const char *value)
{
  const char *s = ts_buf_cstr(url);
  ts_buf_append_char(url, strchr(s, '?') ? '&' : '?');
  ts_buf_append_str(url, key);
  ts_buf_append_char(url, '=');
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if (isalnum(*p) || strchr("-._~", *p))
      ts_buf_append_char(url, (char)*p);
    else
      ts_buf_printf(url, "%%%02X", *p);
  }
}

struct ts_item *ts_list_new_item(struct ts_list *list, enum ts_item_kind kind)
{
  struct ts_batch *batch = list->source->env->batch;
  struct ts_item *it = ts_batch_new_item(batch);
  if (!it)
    return NULL;
  it->kind = kind;
  it->source = list->source->cfg->name;
  if (ts_item_set_position(batch, it, list->source->cfg->name, list->region,
                           ++list->next_rank) != TS_OK) {
    batch->nitems--;
    return NULL;
  }
  struct ts_status *st = ts_list_status(list);
  if (st)
    st->items++;
  return it;
}

const char *ts_json_str(struct ts_batch *batch, const json_t *obj,
                        const char *key)
{
  const json_t *v = json_object_get(obj, key);
  if (!json_is_string(v))
    return NULL;
  return ts_batch_strn(batch, json_string_value(v), json_string_length(v));
}

enum ts_result ts_source_start(const struct ts_config_source *cfg,
                               const struct ts_source_env *env,
                               struct ts_source **out, struct ts_error *err)
{
  *out = NULL;
  struct ts_source *src = calloc(1, sizeof *src);
  if (!src)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  src->cfg = cfg;
  src->env = env;
  ts_fetch_classify_fn classify = NULL;
  switch (cfg->type) {
  case TS_SOURCE_YOUTUBE: classify = ts_youtube_classify; break;
  case TS_SOURCE_GUARDIAN: classify = ts_guardian_classify; break;
  case TS_SOURCE_NEWSAPI: classify = ts_newsapi_classify; break;
  default: break;
  }
  struct ts_fetch_source_options so = {
    .name = cfg->name, .rate = cfg->rate, .classify = classify};
  src->fetch_source = ts_fetch_add_source(env->fetch, &so, err);
  if (src->fetch_source < 0) {
    free(src);
    return err ? err->code : TS_ERR_NOMEM;
  }
  enum ts_result r = TS_OK;
  switch (cfg->type) {
  case TS_SOURCE_YOUTUBE: r = ts_youtube_start(src, err); break;
  case TS_SOURCE_HACKERNEWS: r = ts_hackernews_start(src, err); break;
  case TS_SOURCE_GUARDIAN: r = ts_guardian_start(src, err); break;
  case TS_SOURCE_NEWSAPI: r = ts_newsapi_start(src, err); break;
  case TS_SOURCE_JSONFEED: r = ts_jsonfeed_start(src, err); break;
  }
  if (r != TS_OK || src->nlists == 0) {
    ts_source_free(src);
    return r;
  }
  *out = src;
  return TS_OK;
}

void ts_source_finish(struct ts_source *src)
{
  if (!src)
    return;
  if (src->finish)
    src->finish(src);
  /* A list whose status never got an answer (every request cancelled
   * before it was queued) still shows up on the status page. */
  for (size_t i = 0; i < src->nlists; i++) {
    struct ts_status *st = ts_list_status(&src->lists[i]);
    if (st && !src->lists[i].started && !src->lists[i].failed)
      ts_list_fail(&src->lists[i], "no answer: the run ended first");
  }
}

void ts_source_free(struct ts_source *src)
{
  if (!src)
    return;
  if (src->free_data)
    src->free_data(src);
  free(src->lists);
  free(src);
}

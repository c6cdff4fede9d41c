/*
 * The Guardian Content API: /search?show-fields=thumbnail,trailText,byline
 * &page-size=N, newest first, optionally one section.
 *
 * API-NOTES.md §3: results sit inside "response"; every field value is a
 * string; trailText is HTML; errors come in two shapes: {"response":
 * {"status": "error", "message": ...}} (400) and a flat {"message":
 * "Unauthorized"} (401, a bad key). A developer key allows 1 call/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "sources/common.h"
#include "util/buf.h"

enum ts_fetch_verdict ts_guardian_classify(long status, const char *body,
                                           size_t len, char *reason,
                                           size_t size, void *data)
{
  (void)data;
  json_t *root = json_loadb(body, len, 0, NULL);
  const char *message = json_string_value(
      json_object_get(json_object_get(root, "response"), "message"));
  if (!message)
    message = json_string_value(json_object_get(root, "message"));
  enum ts_fetch_verdict verdict = TS_FETCH_BY_STATUS;
  if (status == 401 || status == 403) {
    snprintf(reason, size, "%s (check GUARDIAN_API_KEY)",
             message ? message : "Unauthorized");
    verdict = TS_FETCH_STOP_SOURCE;
  } else if (message) {
    snprintf(reason, size, "%s", message);
  }
  json_decref(root);
  return verdict;
}

/* Parses one /search answer into raw stories. False, with `why`, when
 * the answer is not a successful search. */
bool ts_guardian_parse_search(struct ts_list *list, const json_t *root,
                              char *why, size_t why_size)
{
  struct ts_batch *b = list->source->env->batch;
  const json_t *response = json_object_get(root, "response");
  const char *status = json_string_value(json_object_get(response, "status"));
  const json_t *results = json_object_get(response, "results");
  if (!status || strcmp(status, "ok") || !json_is_array(results)) {
    const char *message = json_string_value(
        json_object_get(response, "message"));
    snprintf(why, why_size, "%s", message ? message
                                          : "not a search answer (no "
                                            "response.results list)");
    return false;
  }
  size_t i;
  json_t *r;
  json_array_foreach(results, i, r)
  {
    const char *id = json_string_value(json_object_get(r, "id"));
    const char *title = json_string_value(json_object_get(r, "webTitle"));
    const char *url = json_string_value(json_object_get(r, "webUrl"));
    struct ts_status *st;
    if (!id || !title || !*title || !url) {
      if ((st = ts_list_status(list)))
        st->skipped++;
      list->next_rank++; /* its place in the list stays taken */
      continue;
    }
    struct ts_item *it = ts_list_new_item(list, TS_ITEM_STORY);
    if (!it)
      return snprintf(why, why_size, "out of memory"), false;
    it->id = ts_batch_str(b, id);
    it->title = ts_batch_str(b, title);
    it->url = ts_batch_str(b, url);
    it->category = ts_json_str(b, r, "sectionName");
    ts_normalize_json_time(json_object_get(r, "webPublicationDate"),
                           &it->published);
    const json_t *fields = json_object_get(r, "fields");
    it->thumbnail = ts_json_str(b, fields, "thumbnail");
    it->author = ts_json_str(b, fields, "byline");
    const char *trail = json_string_value(json_object_get(fields, "trailText"));
    if (trail && *trail) {
      st = ts_list_status(list);
      it->summary = ts_normalize_html(&b->arena, trail, 400,
                                      st ? &st->repaired : NULL);
    }
  }
  return true;
}

enum ts_result ts_guardian_start(struct ts_source *src, struct ts_error *err)
{
  struct ts_list *list;
  enum ts_result r = ts_source_one_list(src, &list, err);
  if (r != TS_OK || !list)
    return r;
  list->parse = ts_guardian_parse_search;
  const struct ts_config_source *cfg = src->cfg;
  struct ts_buf url;
  ts_buf_init(&url, 8192);
  char size[16];
  snprintf(size, sizeof size, "%u", cfg->limit);
  ts_buf_printf(&url, "%s/search", cfg->base_url);
  ts_url_param(&url, "show-fields", "thumbnail,trailText,byline");
  ts_url_param(&url, "order-by", "newest");
  ts_url_param(&url, "page-size", size);
  if (cfg->section)
    ts_url_param(&url, "section", cfg->section);
  ts_url_param(&url, "api-key", cfg->api_key);
  char label[64];
  snprintf(label, sizeof label, "%s search", cfg->name);
  ts_list_request(list, ts_buf_cstr(&url), label, true, ts_list_on_answer,
                  list);
  ts_buf_cleanup(&url);
  return TS_OK;
}

/*
 * NewsAPI: /top-headlines?country=CC&pageSize=N per configured country.
 *
 * API-NOTES.md §4: errors are {"status": "error", "code": ...} with
 * rateLimited/apiKeyExhausted (the daily allowance is gone: stop) and
 * apiKeyInvalid/Missing/Disabled (configuration); "[Removed]"
 * placeholder articles are dropped; many fields are null; titles end with
 * " - Publisher" (normalization strips it: the publisher is the author);
 * since 2024 only country=us returns headlines, others an empty list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "sources/common.h"
#include "util/buf.h"

enum ts_fetch_verdict ts_newsapi_classify(long status, const char *body,
                                          size_t len, char *reason,
                                          size_t size, void *data)
{
  (void)data;
  json_t *root = json_loadb(body, len, 0, NULL);
  const char *code = json_string_value(json_object_get(root, "code"));
  enum ts_fetch_verdict verdict = TS_FETCH_BY_STATUS;
  if (code) {
    if (!strcmp(code, "rateLimited") || !strcmp(code, "apiKeyExhausted")) {
      snprintf(reason, size, "%s (the plan's daily requests are used up)",
               code);
      verdict = TS_FETCH_STOP_SOURCE;
    } else if (!strncmp(code, "apiKey", 6)) {
      snprintf(reason, size, "%s (check NEWSAPI_KEY)", code);
      verdict = TS_FETCH_STOP_SOURCE;
    } else {
      snprintf(reason, size, "%s", code);
      verdict = status >= 500 ? TS_FETCH_BY_STATUS : TS_FETCH_FINAL;
    }
  }
  json_decref(root);
  return verdict;
}

static bool removed_placeholder(const json_t *a)
{
  const char *title = json_string_value(json_object_get(a, "title"));
  const char *url = json_string_value(json_object_get(a, "url"));
  return (title && !strcmp(title, "[Removed]")) ||
         (url && !strcmp(url, "https://removed.com"));
}

/* Parses one top-headlines answer into raw stories. False, with `why`,
 * when the answer is an error or not a headlines answer. */
bool ts_newsapi_parse_headlines(struct ts_list *list, const json_t *root,
                                char *why, size_t why_size)
{
  struct ts_batch *b = list->source->env->batch;
  const char *status = json_string_value(json_object_get(root, "status"));
  const json_t *articles = json_object_get(root, "articles");
  if (!status || strcmp(status, "ok") || !json_is_array(articles)) {
    const char *code = json_string_value(json_object_get(root, "code"));
    const char *message = json_string_value(json_object_get(root, "message"));
    if (code)
      snprintf(why, why_size, "%s%s%s", code, message ? ": " : "",
               message ? message : "");
    else
      snprintf(why, why_size, "not a headlines answer (no \"articles\" "
               "list)");
    return false;
  }
  size_t i;
  json_t *a;
  json_array_foreach(articles, i, a)
  {
    const char *title = json_string_value(json_object_get(a, "title"));
    const char *url = json_string_value(json_object_get(a, "url"));
    struct ts_status *st;
    if (!title || !*title || !url || removed_placeholder(a)) {
      if ((st = ts_list_status(list)))
        st->skipped++;
      continue;
    }
    struct ts_item *it = ts_list_new_item(list, TS_ITEM_STORY);
    if (!it)
      return snprintf(why, why_size, "out of memory"), false;
    it->id = ts_batch_str(b, url);
    it->title = ts_batch_str(b, title);
    it->url = it->id;
    /* The publisher, which NewsAPI also appends to the title. */
    it->author = ts_json_str(b, json_object_get(a, "source"), "name");
    if (!it->author)
      it->author = ts_json_str(b, a, "author");
    it->summary = ts_json_str(b, a, "description");
    it->thumbnail = ts_json_str(b, a, "urlToImage");
    ts_normalize_json_time(json_object_get(a, "publishedAt"), &it->published);
    /* [Removed] items often carry 1970: an epoch date is no date. */
    if (it->published == 0)
      it->published = TS_TIME_UNKNOWN;
  }
  return true;
}

enum ts_result ts_newsapi_start(struct ts_source *src, struct ts_error *err)
{
  const struct ts_config_source *cfg = src->cfg;
  src->lists = calloc(cfg->nregions ? cfg->nregions : 1, sizeof *src->lists);
  if (!src->lists)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < cfg->nregions; i++) {
    if (!ts_source_owns_next_list(src->env))
      continue;
    struct ts_list *list = &src->lists[src->nlists++];
    list->source = src;
    list->parse = ts_newsapi_parse_headlines;
    snprintf(list->region, sizeof list->region, "%s", cfg->regions[i]);
    ts_list_status(list);
    struct ts_buf url;
    ts_buf_init(&url, 8192);
    char size[16];
    snprintf(size, sizeof size, "%u", cfg->limit);
    ts_buf_printf(&url, "%s/top-headlines", cfg->base_url);
    ts_url_param(&url, "country", list->region);
    ts_url_param(&url, "pageSize", size);
    ts_url_param(&url, "apiKey", cfg->api_key);
    char label[64];
    snprintf(label, sizeof label, "%s[%s] headlines", cfg->name,
             list->region);
    ts_list_request(list, ts_buf_cstr(&url), label, true, ts_list_on_answer,
                    list);
    ts_buf_cleanup(&url);
  }
  return TS_OK;
}

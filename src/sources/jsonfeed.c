/*
 * JSON Feed 1.1 (and 1.0): any feed URL, so a site can add a source
 * without writing C. https://www.jsonfeed.org/version/1.1/
 *
 * Items need an id and something to call them: the title, else the
 * summary or the start of the text (microblog feeds have no titles). The
 * link is url, else external_url; content_html is converted to text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "sources/common.h"

/* Parses one feed into raw stories. False, with `why`, when the document
 * is not a JSON Feed. */
bool ts_jsonfeed_parse(struct ts_list *list, const json_t *root, char *why,
                       size_t why_size)
{
  struct ts_batch *b = list->source->env->batch;
  const char *version = json_string_value(json_object_get(root, "version"));
  const json_t *items = json_object_get(root, "items");
  if (!version || strncmp(version, "https://jsonfeed.org/version/1", 30) ||
      !json_is_array(items)) {
    snprintf(why, why_size, "not a JSON Feed (expected \"version\": "
             "\"https://jsonfeed.org/version/1.1\" and an \"items\" list)");
    return false;
  }
  size_t i;
  json_t *e;
  json_array_foreach(items, i, e)
  {
    const json_t *idv = json_object_get(e, "id");
    char idbuf[32];
    const char *id = json_string_value(idv);
    if (!id && json_is_integer(idv)) {
      snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(idv));
      id = idbuf;
    }
    const char *url = json_string_value(json_object_get(e, "url"));
    if (!url)
      url = json_string_value(json_object_get(e, "external_url"));
    const char *title = json_string_value(json_object_get(e, "title"));
    const char *summary = json_string_value(json_object_get(e, "summary"));
    const char *text = json_string_value(json_object_get(e, "content_text"));
    const char *html = json_string_value(json_object_get(e, "content_html"));
    struct ts_status *st;
    if (!id || !url || (!(title && *title) && !(summary && *summary) &&
                        !(text && *text) && !(html && *html))) {
      if ((st = ts_list_status(list)))
        st->skipped++;
      continue;
    }
    struct ts_item *it = ts_list_new_item(list, TS_ITEM_STORY);
    if (!it)
      return snprintf(why, why_size, "out of memory"), false;
    it->id = ts_batch_str(b, id);
    it->url = ts_batch_str(b, url);
    st = ts_list_status(list);
    uint32_t *repaired = st ? &st->repaired : NULL;
    if (summary && *summary)
      it->summary = ts_batch_str(b, summary);
    else if (text && *text)
      it->summary = ts_batch_str(b, text);
    else if (html && *html)
      it->summary = ts_normalize_html(&b->arena, html, 400, repaired);
    /* No title: the first line of the summary, cut later like any title. */
    if (title && *title) {
      it->title = ts_batch_str(b, title);
    } else {
      const char *s = it->summary ? it->summary : "";
      it->title = ts_batch_strn(b, s, strcspn(s, "\n"));
    }
    const char *image = json_string_value(json_object_get(e, "image"));
    if (!image)
      image = json_string_value(json_object_get(e, "banner_image"));
    it->thumbnail = image ? ts_batch_str(b, image) : NULL;
    ts_normalize_json_time(json_object_get(e, "date_published"),
                           &it->published);
    /* The item's author, else the feed's (JSON Feed 1.1 says items
     * inherit it); "author" is version 1.0's single form. */
    const json_t *author = json_array_get(json_object_get(e, "authors"), 0);
    if (!author)
      author = json_object_get(e, "author");
    if (!author)
      author = json_array_get(json_object_get(root, "authors"), 0);
    if (!author)
      author = json_object_get(root, "author");
    it->author = ts_json_str(b, author, "name");
    const char *lang = json_string_value(json_object_get(e, "language"));
    if (!lang)
      lang = json_string_value(json_object_get(root, "language"));
    it->language = lang ? ts_batch_str(b, lang) : NULL;
  }
  return true;
}

enum ts_result ts_jsonfeed_start(struct ts_source *src, struct ts_error *err)
{
  struct ts_list *list;
  enum ts_result r = ts_source_one_list(src, &list, err);
  if (r != TS_OK || !list)
    return r;
  list->parse = ts_jsonfeed_parse;
  char label[64];
  snprintf(label, sizeof label, "%s feed", src->cfg->name);
  ts_list_request(list, src->cfg->url, label, true, ts_list_on_answer, list);
  return TS_OK;
}

/*
 * YouTube Data API v3: the mostPopular chart of each configured region.
 *
 * Per region: videos?part=snippet,statistics,contentDetails&chart=
 * mostPopular&regionCode=XX&maxResults=N, following nextPageToken up to
 * `pages`; and videoCategories?part=snippet&regionCode=XX for category
 * names, cached in the state folder for a day (they rarely change, and
 * every call costs a quota unit).
 *
 * What the API does that this file handles (API-NOTES.md §1):
 * statistics are strings and may pass 2^32; likeCount is absent when
 * hidden and commentCount when comments are off; tags, standard/maxres
 * thumbnails and language fields are often missing; durations are
 * ISO 8601 with P0D for live broadcasts; errors come as a 403/400 with
 * error.errors[0].reason: quotaExceeded stops the source, rateLimitExceeded
 * is retried, forbidden/keyInvalid/accessNotConfigured are configuration
 * problems, invalidRegionCode fails the region, and videoChartNotFound
 * (documented 400, seen as 404) means the region has no chart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "sources/common.h"
#include "util/buf.h"
#include "util/fs.h"

#define CATEGORY_CACHE_SECONDS 86400

struct youtube {
  json_t *categories; /* region code -> {id: title}, from cache or API */
  bool *cat_region_cached;
};

/* ---- error answers ------------------------------------------------------ */

static const char *google_reason(const json_t *root)
{
  const json_t *error = json_object_get(root, "error");
  const char *reason = json_string_value(json_object_get(
      json_array_get(json_object_get(error, "errors"), 0), "reason"));
  /* Newer key errors: badRequest plus details[].reason API_KEY_INVALID. */
  const json_t *details = json_object_get(error, "details");
  size_t i;
  json_t *d;
  json_array_foreach(details, i, d)
  {
    const char *r = json_string_value(json_object_get(d, "reason"));
    if (r && !strcmp(r, "API_KEY_INVALID"))
      return "keyInvalid";
  }
  return reason;
}

enum ts_fetch_verdict ts_youtube_classify(long status, const char *body,
                                          size_t len, char *reason,
                                          size_t size, void *data)
{
  (void)data;
  json_t *root = json_loadb(body, len, 0, NULL);
  const char *why = google_reason(root);
  enum ts_fetch_verdict verdict = TS_FETCH_BY_STATUS;
  if (why) {
    if (!strcmp(why, "quotaExceeded") || !strcmp(why, "dailyLimitExceeded")) {
      snprintf(reason, size, "%s (the daily quota is used up; it resets at "
               "midnight Pacific time)", why);
      verdict = TS_FETCH_STOP_SOURCE;
    } else if (!strcmp(why, "rateLimitExceeded") ||
               !strcmp(why, "userRateLimitExceeded")) {
      snprintf(reason, size, "%s", why);
      verdict = TS_FETCH_RETRY;
    } else if (!strcmp(why, "keyInvalid") || !strcmp(why, "forbidden") ||
               !strcmp(why, "accessNotConfigured") ||
               !strcmp(why, "ipRefererBlocked")) {
      snprintf(reason, size, "%s (check YOUTUBE_API_KEY: the key must be "
               "valid, unrestricted for this use, and have YouTube Data API "
               "v3 enabled)", why);
      /* Every further request would fail the same way. */
      verdict = TS_FETCH_STOP_SOURCE;
    } else {
      snprintf(reason, size, "%s", why);
      verdict = status >= 500 ? TS_FETCH_BY_STATUS : TS_FETCH_FINAL;
    }
  }
  json_decref(root);
  return verdict;
}

/* ---- categories -------------------------------------------------------- */

static void category_cache_path(const struct ts_source *src,
                                const char *region, char *out, size_t size)
{
  snprintf(out, size, "%s/youtube/categories-%s-%s.json",
           src->env->state_dir, src->cfg->name, region);
}

/* {id: title} from a videoCategories answer. New reference. */
json_t *ts_youtube_parse_categories(const json_t *root)
{
  json_t *map = json_object();
  size_t i;
  json_t *item;
  json_array_foreach(json_object_get(root, "items"), i, item)
  {
    const char *id = json_string_value(json_object_get(item, "id"));
    const char *title = json_string_value(
        json_object_get(json_object_get(item, "snippet"), "title"));
    if (id && title && strlen(id) < 16)
      json_object_set_new(map, id, json_string(title));
  }
  return map;
}

static bool on_categories(struct ts_fetch *f,
                          const struct ts_fetch_response *res, void *data)
{
  (void)f;
  struct ts_list *list = data;
  struct ts_source *src = list->source;
  struct youtube *yt = src->data;
  list->pending--;
  ts_list_account(list, res, 1);
  if (res->outcome != TS_FETCH_OK && res->outcome != TS_FETCH_NOT_MODIFIED) {
    char why[256];
    ts_list_reason(res, why, sizeof why);
    ts_log_debug(src->env->log, "%s[%s]: categories: %s", src->cfg->name,
                 list->region, why);
    return false; /* names are a nicety: the chart stands without them */
  }
  char why[256];
  json_t *root = ts_list_parse(list, res, why, sizeof why);
  if (!root)
    return false;
  json_t *map = ts_youtube_parse_categories(root);
  json_decref(root);
  json_object_set_new(yt->categories, list->region, map);
  char path[4096], dir[4096];
  snprintf(dir, sizeof dir, "%s/youtube", src->env->state_dir);
  category_cache_path(src, list->region, path, sizeof path);
  json_t *cache = json_pack("{s:I, s:O}", "fetched_at",
                            (json_int_t)src->env->now, "categories", map);
  char *text = cache ? json_dumps(cache, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  struct ts_error err;
  if (text && ts_fs_mkdirs(dir, &err) == TS_OK)
    ts_fs_write_atomic(path, text, strlen(text), &err);
  free(text);
  json_decref(cache);
  return true;
}

/* Loads a cached category map younger than a day. */
static bool load_cached_categories(struct ts_source *src, const char *region)
{
  struct youtube *yt = src->data;
  char path[4096];
  category_cache_path(src, region, path, sizeof path);
  json_t *cache = json_load_file(path, 0, NULL);
  json_int_t fetched = json_integer_value(json_object_get(cache, "fetched_at"));
  json_t *map = json_object_get(cache, "categories");
  bool fresh = json_is_object(map) && fetched <= src->env->now &&
               src->env->now - fetched < CATEGORY_CACHE_SECONDS;
  if (fresh)
    json_object_set(yt->categories, region, map);
  json_decref(cache);
  return fresh;
}

/* ---- the chart --------------------------------------------------------- */

static void page_url(const struct ts_list *list, const char *token,
                     struct ts_buf *url)
{
  const struct ts_config_source *cfg = list->source->cfg;
  char max[16];
  snprintf(max, sizeof max, "%u", cfg->max_results);
  ts_buf_reset(url);
  ts_buf_printf(url, "%s/videos", cfg->base_url);
  ts_url_param(url, "part", "snippet,statistics,contentDetails");
  ts_url_param(url, "chart", "mostPopular");
  ts_url_param(url, "regionCode", list->region);
  ts_url_param(url, "maxResults", max);
  if (token)
    ts_url_param(url, "pageToken", token);
  ts_url_param(url, "key", cfg->api_key);
}

static bool on_videos(struct ts_fetch *f, const struct ts_fetch_response *res,
                      void *data);

static void request_page(struct ts_list *list, const char *token)
{
  struct ts_buf url;
  ts_buf_init(&url, 8192);
  page_url(list, token, &url);
  char label[64];
  snprintf(label, sizeof label, "%s[%s] page %u", list->source->cfg->name,
           list->region, list->pages + 1);
  ts_list_request(list, ts_buf_cstr(&url), label, true, on_videos, list);
  ts_buf_cleanup(&url);
}

/* One video resource to a raw item; false when it is malformed. */
static bool parse_video(struct ts_list *list, const json_t *v)
{
  struct ts_batch *b = list->source->env->batch;
  const char *id = json_string_value(json_object_get(v, "id"));
  const json_t *snippet = json_object_get(v, "snippet");
  const char *title = json_string_value(json_object_get(snippet, "title"));
  if (!id || !ts_normalize_video_id_ok(id) || !title || !*title)
    return false;
  struct ts_item *it = ts_list_new_item(list, TS_ITEM_VIDEO);
  if (!it)
    return false;
  it->id = ts_batch_str(b, id);
  it->title = ts_batch_str(b, title);
  char url[128];
  snprintf(url, sizeof url, "https://www.youtube.com/watch?v=%s", id);
  it->url = ts_batch_str(b, url);
  it->author = ts_json_str(b, snippet, "channelTitle");
  it->summary = ts_json_str(b, snippet, "description");
  it->category = ts_json_str(b, snippet, "categoryId");
  it->language = ts_json_str(b, snippet, "defaultAudioLanguage");
  if (!it->language)
    it->language = ts_json_str(b, snippet, "defaultLanguage");
  const char *live =
      json_string_value(json_object_get(snippet, "liveBroadcastContent"));
  if (live && (!strcmp(live, "live") || !strcmp(live, "upcoming")))
    it->live = ts_batch_str(b, live);
  ts_normalize_json_time(json_object_get(snippet, "publishedAt"),
                         &it->published);
  struct ts_thumbnail thumb;
  if (ts_normalize_pick_thumbnail(json_object_get(snippet, "thumbnails"), NULL,
                                  &thumb)) {
    it->thumbnail = ts_batch_str(b, thumb.url);
    it->thumb_width = thumb.width;
    it->thumb_height = thumb.height;
  }
  const json_t *stats = json_object_get(v, "statistics");
  int64_t n;
  if (ts_normalize_json_count(json_object_get(stats, "viewCount"), &n))
    it->views = n;
  if (ts_normalize_json_count(json_object_get(stats, "likeCount"), &n))
    it->likes = n;
  if (ts_normalize_json_count(json_object_get(stats, "commentCount"), &n))
    it->comments = n;
  const char *duration = json_string_value(
      json_object_get(json_object_get(v, "contentDetails"), "duration"));
  if (duration && ts_normalize_parse_duration(duration, &n))
    it->duration_s = n;
  return true;
}

/* Parses one videos.list page into raw items; *next is the next page's
 * token (borrowed from `root`) or NULL. Returns false when the document is
 * not a videos.list answer at all. */
bool ts_youtube_parse_videos(struct ts_list *list, const json_t *root,
                             const char **next)
{
  *next = NULL;
  /* An empty chart still has "items": []; an answer without the list
   * (an error body with status 200, say) is not a chart at all. */
  const json_t *items = json_object_get(root, "items");
  if (!json_is_array(items))
    return false;
  struct ts_status *st = ts_list_status(list);
  size_t i;
  json_t *v;
  json_array_foreach(items, i, v)
  {
    if (!parse_video(list, v) && (st = ts_list_status(list)))
      st->skipped++;
  }
  *next = json_string_value(json_object_get(root, "nextPageToken"));
  if (*next && (!**next || strlen(*next) > 200))
    *next = NULL;
  return true;
}

static bool on_videos(struct ts_fetch *f, const struct ts_fetch_response *res,
                      void *data)
{
  (void)f;
  struct ts_list *list = data;
  list->pending--;
  ts_list_account(list, res, 1);
  if (res->outcome != TS_FETCH_OK && res->outcome != TS_FETCH_NOT_MODIFIED) {
    if (res->outcome == TS_FETCH_HTTP_ERROR &&
        strstr(res->reason, "videoChartNotFound")) {
      ts_log_info(list->source->env->log, "%s[%s]: no chart for this region",
                  list->source->cfg->name, list->region);
      return false;
    }
    char why[512];
    ts_list_reason(res, why, sizeof why);
    if (list->pages > 0) {
      /* Earlier pages stand: a short chart beats no chart. */
      ts_log_warn(list->source->env->log, "%s[%s]: page %u: %s",
                  list->source->cfg->name, list->region, list->pages + 1, why);
      return false;
    }
    ts_list_fail(list, why);
    return false;
  }
  char why[512];
  json_t *root = ts_list_parse(list, res, why, sizeof why);
  const char *next = NULL;
  if (!root || !ts_youtube_parse_videos(list, root, &next)) {
    if (root)
      snprintf(why, sizeof why, "not a videos.list answer (no \"items\" "
               "list)");
    if (list->pages == 0)
      ts_list_fail(list, why);
    json_decref(root);
    return false;
  }
  list->pages++;
  if (next && list->pages < list->source->cfg->pages)
    request_page(list, next);
  json_decref(root);
  return true;
}

/* ---- life cycle -------------------------------------------------------- */

/* Category ids become names once every answer is in. */
static void youtube_finish(struct ts_source *src)
{
  struct youtube *yt = src->data;
  struct ts_batch *b = src->env->batch;
  for (size_t i = 0; i < b->nitems; i++) {
    struct ts_item *it = &b->items[i];
    if (it->kind != TS_ITEM_VIDEO || strcmp(it->source, src->cfg->name) ||
        !it->category || !it->npositions)
      continue;
    const json_t *map = json_object_get(yt->categories,
                                        it->positions[0].region);
    const char *name = json_string_value(json_object_get(map, it->category));
    /* A bare number means nothing to a reader: drop unknown ids. */
    it->category = name ? ts_batch_str(b, name) : NULL;
  }
}

static void youtube_free(struct ts_source *src)
{
  struct youtube *yt = src->data;
  if (!yt)
    return;
  json_decref(yt->categories);
  free(yt);
}

enum ts_result ts_youtube_start(struct ts_source *src, struct ts_error *err)
{
  const struct ts_config_source *cfg = src->cfg;
  struct youtube *yt = calloc(1, sizeof *yt);
  src->lists = calloc(cfg->nregions ? cfg->nregions : 1, sizeof *src->lists);
  if (!yt || !src->lists || !(yt->categories = json_object())) {
    free(yt);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  src->data = yt;
  src->finish = youtube_finish;
  src->free_data = youtube_free;
  for (size_t i = 0; i < cfg->nregions; i++) {
    if (!ts_source_owns_next_list(src->env))
      continue;
    struct ts_list *list = &src->lists[src->nlists++];
    list->source = src;
    snprintf(list->region, sizeof list->region, "%s", cfg->regions[i]);
    ts_list_status(list);
  }
  for (size_t i = 0; i < src->nlists; i++) {
    struct ts_list *list = &src->lists[i];
    request_page(list, NULL);
    if (!load_cached_categories(src, list->region)) {
      struct ts_buf url;
      ts_buf_init(&url, 8192);
      ts_buf_printf(&url, "%s/videoCategories", cfg->base_url);
      ts_url_param(&url, "part", "snippet");
      ts_url_param(&url, "regionCode", list->region);
      ts_url_param(&url, "hl", "en");
      ts_url_param(&url, "key", cfg->api_key);
      char label[64];
      snprintf(label, sizeof label, "%s[%s] categories", cfg->name,
               list->region);
      struct ts_fetch_request rq = {.source = src->fetch_source,
                                    .url = ts_buf_cstr(&url),
                                    .label = label,
                                    .on_done = on_categories,
                                    .data = list};
      if (ts_fetch_add(src->env->fetch, &rq, NULL) == TS_OK)
        list->pending++;
      ts_buf_cleanup(&url);
    }
  }
  return TS_OK;
}

#include "site.h"

#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <threads.h>
#include <unistd.h>
#include <time.h>

#include "display.h"
#include "mustache.h"
#include "snapshot.h"
#include "theme.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/cat.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/json_text.h"
#include "util/regions.h"
#include "util/thread.h"
#include "value.h"
#include "version.h"
#include "util/grow.h"

#define INDEX_VIDEOS 24
#define INDEX_STORIES 12
#define FEED_ENTRIES 50
#define MAX_ASSET_BYTES ((size_t)16 << 20)
/* Region chips in every page's header; the index lists them all. A site
 * with hundreds of regions would otherwise carry them on every page. */
#define NAV_REGIONS 12

enum page_template {
  T_INDEX,
  T_REGION,
  T_VIDEO,
  T_STORY,
  T_NEWS,
  T_STATUS,
  T_ARCHIVE,
  T_404,
  T_FEED,
  T_SITEMAP,
  T_ROBOTS,
  T_COUNT
};

static const char *const template_names[T_COUNT] = {
  "index.html", "region.html", "video.html", "story.html",
  "news.html", "status.html", "archive.html", "404.html",
  "feed.xml", "sitemap.xml", "robots.txt",
};

static const char *const page_kinds[T_COUNT] = {
  "index", "region", "video", "story", "news", "status", "archive", "404",
  "feed", "sitemap", "robots",
};

/* The flag each kind of page sets ("is_" and its page_kinds name). */
static const char *const page_flags[T_COUNT] = {
  "is_index", "is_region", "is_video", "is_story", "is_news", "is_status",
  "is_archive", "is_404", "is_feed", "is_sitemap", "is_robots",
};

/* One list's items in rank order, built once: pages look lists up instead
 * of scanning every item (800 region pages x 30,000 items would be
 * 24 million comparisons). */
struct list_entry {
  size_t item;
  uint32_t rank;
};

struct list {
  struct list_entry *entries;
  size_t n, cap;
  size_t videos; /* entries that are videos */
};

struct list_index {
  struct list *lists;
  size_t n;
  json_t *ids; /* "source/region" -> index */
};

/* What one thread renders with: an environment of its own (one belongs
 * to one thread at a time) and its page buffer. */
struct renderer {
  struct ts_mustache_env *env;
  const struct ts_mustache *tpl[T_COUNT];
  struct ts_buf page; /* the page being rendered */
  struct ts_buf svg;  /* a sparkline being drawn */
  /* Where one page's context is built, and its builder; see page_begin. */
  struct ts_arena arena;
  struct ts_value_builder b;
  size_t pages, skipped;
};

/* Compiling the templates is about a tenth of a small site's work and
 * needs none of the data: a thread of its own does it while the pipeline
 * is still loading the snapshots (ts_site_prepare), once, and copies the
 * result for each other thread's renderer. */
struct ts_site_prep {
  struct ts_site_options opts; /* its strings are the caller's */
  unsigned n;                  /* renderers, one per thread */
  struct renderer *rds;        /* taken by ts_site_build */
  struct ts_thread thread;
  bool running;
  atomic_bool cancel;          /* set when the templates are not needed */
  enum ts_result result;
  struct ts_error err;
  /* Set, under `lock`, once rds and result are final: the pages need
   * only that, not the idle work the thread goes on with. `locks` says
   * whether lock and compiled_cv could be made (else: join). */
  mtx_t lock;
  cnd_t compiled_cv;
  bool locks, compiled;
  /* Then, on a thread of its own, the thread renders pages as the first
   * worker, handed over by all_pages (NULL: none), rather than a thread
   * started for it: a new thread was queued behind this one's work on
   * the same processor. `worker_done` once it is through. */
  struct worker *worker;
  bool worker_posted, worker_done;
  /* A processor for each of the render's threads, this thread the second
   * (see util/thread.h): made before it starts, ended by
   * ts_site_prep_free on the thread that made it. */
  struct ts_cpu_plan cpus;
};

struct site {
  const struct ts_site_input *in;
  const struct ts_site_options *opts;
  struct renderer main;      /* the calling thread's */
  struct ts_publish *pub;
  /* The values every page shares, built once by this thread before any
   * worker starts, in `arena` (which lives until ts_site_build returns);
   * then only read, by every thread. */
  struct ts_arena arena;
  struct ts_value site_obj, run_obj, nav_obj;
  struct ts_value regions;   /* every YouTube region, for the index */
  bool has_stale, has_news;  /* run.has_stale, nav.has_news */
  json_t *keys; /* key -> item index; built by current_item when asked */
  struct list_index index;   /* this run's lists */
  /* Region and item pages are claimed from these counters by whichever
   * thread is free (see all_pages); `stop` ends every thread's claims
   * after a failure. */
  size_t *region_lists;      /* statuses with a region page, in order */
  size_t nregion_lists;
  atomic_size_t next_region, next_item;
  atomic_bool stop;
  bool dump_found;
  struct ts_site_stats *stats;
};

/* ---- small helpers ----------------------------------------------------- */

bool ts_site_key_ok(const char *key)
{
  size_t n = strlen(key);
  if (n == 0 || n > 64 || key[0] == '.')
    return false;
  for (const char *c = key; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
      return false;
  return true;
}

/* Sets o[key] = v (consumed) in the JSON maps (list ids, item keys,
 * assets). Keys are valid UTF-8 already (normalized, or checked by the
 * snapshot reader): the _nocheck form skips jansson's second validation. */
static inline void put(json_t *o, const char *key, json_t *v)
{
  json_object_setn_new_nocheck(o, key, strlen(key), v);
}

/* Adds member `key`: time `t` as text (copied), unless unknown. */
static void set_time(struct ts_value_builder *b, struct ts_value o,
                     const char *key, int64_t t)
{
  char buf[21];
  if (t == TS_TIME_UNKNOWN)
    return;
  ts_time_format(t, buf);
  ts_value_add_copy(b, o, key, buf);
}

static const char *type_label(const char *type)
{
  if (!type)
    return "Source";
  if (!strcmp(type, "youtube"))
    return "YouTube";
  if (!strcmp(type, "hackernews"))
    return "Hacker News";
  if (!strcmp(type, "guardian"))
    return "The Guardian";
  if (!strcmp(type, "newsapi"))
    return "NewsAPI";
  return NULL; /* jsonfeed: the source's own name */
}

/* The configured type of source `name`, from the statuses. */
static const char *source_type(const struct site *s, const char *name)
{
  for (size_t i = 0; i < s->in->nstatuses; i++)
    if (!strcmp(s->in->statuses[i].source, name))
      return s->in->statuses[i].type;
  for (size_t i = 0; i < s->in->config->nsources; i++)
    if (!strcmp(s->in->config->sources[i].name, name))
      return ts_source_type_name(s->in->config->sources[i].type);
  return NULL;
}

static const char *source_label(const struct site *s, const char *name)
{
  const char *label = type_label(source_type(s, name));
  return label ? label : name;
}

static const char *region_name(const char *code)
{
  char upper[3] = {0};
  if (strlen(code) == 2) {
    upper[0] = (char)(code[0] & ~0x20);
    upper[1] = (char)(code[1] & ~0x20);
  }
  const struct ts_region *r = ts_region_find(upper);
  return r ? r->name : code;
}

/* "YouTube · Japan", "Hacker News". */
static void list_label(const struct site *s, const char *source,
                       const char *region, char *out, size_t size)
{
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_str(&c, source_label(s, source));
  if (region && region[0]) {
    ts_cat_str(&c, " · ");
    ts_cat_str(&c, region_name(region));
  }
}

static bool is_youtube_list(const struct site *s, const struct ts_status *st)
{
  (void)s;
  return !strcmp(st->type, "youtube") && st->region[0];
}

/* "www.theguardian.com" -> "theguardian.com". */
static void link_host(const char *url, char *out, size_t size)
{
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  if (!strncmp(p, "www.", 4))
    p += 4;
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_strn(&c, p, strcspn(p, "/:?#"));
}

static bool safe_link(const char *url)
{
  return url && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7));
}

/* ---- the shared parts of every context --------------------------------- */

/* A region's page, "regions/XX.html". */
static void region_page_url(const char *code, char *out, size_t size)
{
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_str(&c, "regions/");
  ts_cat_str(&c, code);
  ts_cat_str(&c, ".html");
}

static struct ts_value region_entry(struct ts_value_builder *b,
                                    const struct ts_status *st,
                                    const char *current)
{
  char flag[9], url[64];
  ts_region_flag(st->region, flag);
  region_page_url(st->region, url, sizeof url);
  struct ts_value r = ts_value_object(b, 8);
  ts_value_add_str(b, r, "code", st->region);
  ts_value_add_str(b, r, "name", region_name(st->region));
  ts_value_add_copy(b, r, "flag", flag);
  ts_value_add_copy(b, r, "url", url);
  ts_value_add(b, r, "current",
               ts_value_bool(current && !strcmp(current, st->region)));
  ts_value_add(b, r, "stale", ts_value_bool(st->state == TS_STATUS_STALE));
  return r;
}

/* site, run, nav and the region list, in the site's arena. */
static enum ts_result build_common(struct site *s, struct ts_error *err)
{
  const struct ts_config *cfg = s->in->config;
  struct ts_value_builder bs = {.arena = &s->arena}, *b = &bs;
  s->site_obj = ts_value_object(b, 4);
  ts_value_add_str(b, s->site_obj, "title", cfg->site.title);
  ts_value_add_str(b, s->site_obj, "description", cfg->site.description);
  ts_value_add_str(b, s->site_obj, "base_url", cfg->site.base_url);
  ts_value_add_str(b, s->site_obj, "language", cfg->site.language);
  char when[64];
  s->run_obj = ts_value_object(b, 6);
  set_time(b, s->run_obj, "generated_at", s->in->now);
  ts_value_add_copy(b, s->run_obj, "generated_display",
                    ts_display_datetime(s->in->now, when, sizeof when));
  struct ts_value stale = ts_value_array(b, 4), failed = ts_value_array(b, 4);
  for (size_t i = 0; i < s->in->nstatuses; i++) {
    const struct ts_status *st = &s->in->statuses[i];
    char label[160];
    list_label(s, st->source, st->region, label, sizeof label);
    if (st->state == TS_STATUS_STALE) {
      struct ts_value e = ts_value_object(b, 3);
      ts_value_add_copy(b, e, "label", label);
      set_time(b, e, "since", st->stale_since);
      ts_value_add_copy(
          b, e, "since_display",
          ts_display_ago(st->stale_since, s->in->now, when, sizeof when));
      ts_value_push(b, stale, e);
    } else if (st->state == TS_STATUS_FAILED) {
      struct ts_value e = ts_value_object(b, 2);
      ts_value_add_copy(b, e, "label", label);
      ts_value_add_str(b, e, "reason",
                       st->reason ? st->reason : "unknown error");
      ts_value_push(b, failed, e);
    }
  }
  s->has_stale = ts_value_size(stale) > 0;
  ts_value_add(b, s->run_obj, "has_stale", ts_value_bool(s->has_stale));
  ts_value_add(b, s->run_obj, "stale_lists", stale);
  ts_value_add(b, s->run_obj, "has_failed",
               ts_value_bool(ts_value_size(failed) > 0));
  ts_value_add(b, s->run_obj, "failed_lists", failed);

  s->regions = ts_value_array(b, s->in->nstatuses);
  struct ts_value nav_regions = ts_value_array(b, NAV_REGIONS);
  for (size_t i = 0; i < s->in->nstatuses; i++) {
    if (!is_youtube_list(s, &s->in->statuses[i]))
      continue;
    struct ts_value r = region_entry(b, &s->in->statuses[i], NULL);
    ts_value_add(b, r, "count",
                 ts_value_int((int64_t)s->index.lists[i].videos));
    if (ts_value_size(nav_regions) < NAV_REGIONS)
      ts_value_push(b, nav_regions, r);
    ts_value_push(b, s->regions, r);
  }
  s->has_news = false;
  for (size_t i = 0; i < s->in->nitems && !s->has_news; i++)
    s->has_news = s->in->items[i].kind == TS_ITEM_STORY;
  size_t nregions = ts_value_size(s->regions);
  s->nav_obj = ts_value_object(b, 4);
  ts_value_add(b, s->nav_obj, "regions", nav_regions);
  ts_value_add(b, s->nav_obj, "has_news", ts_value_bool(s->has_news));
  ts_value_add(b, s->nav_obj, "more_regions",
               ts_value_bool(nregions > NAV_REGIONS));
  ts_value_add(b, s->nav_obj, "region_count", ts_value_int((int)nregions));
  if (b->failed)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  return TS_OK;
}

/* Member "page" of a page's context (null when out of memory). */
static struct ts_value page_of(struct ts_value ctx)
{
  const struct ts_value *page = ts_value_get(ctx, "page");
  return page ? *page : ts_value_null();
}

/* The context root of a page: site, page, run, nav, generator. The
 * title, description and path are copied (some are in the caller's
 * buffers). */
static struct ts_value page_context(struct site *s, struct ts_value_builder *b,
                                    enum page_template t, const char *path,
                                    const char *title,
                                    const char *description, bool stale)
{
  int depth = 0;
  for (const char *c = path; *c; c++)
    depth += *c == '/';
  char root[3 * 8 + 1], url[2048];
  struct ts_cat rc = ts_cat_start(root, sizeof root);
  for (int i = 0; i < depth && i < 8; i++)
    ts_cat_strn(&rc, "../", 3);
  /* Assembled by hand, not by snprintf: this runs once per page. */
  struct ts_cat uc = ts_cat_start(url, sizeof url);
  ts_cat_str(&uc, s->in->config->site.base_url);
  ts_cat_str(&uc, strcmp(path, "index.html") ? path : "");
  struct ts_value page = ts_value_object(b, 10);
  ts_value_add_str(b, page, "kind", page_kinds[t]);
  ts_value_add_copy(b, page, "title", title);
  if (description)
    ts_value_add_copy(b, page, "description", description);
  else
    ts_value_add_str(b, page, "description", s->in->config->site.description);
  ts_value_add_copy(b, page, "path", path);
  ts_value_add_copy(b, page, "url", url);
  ts_value_add_copy(b, page, "root", root);
  ts_value_add_str(b, page, "og_type", t == T_VIDEO   ? "video.other"
                                       : t == T_STORY ? "article"
                                                      : "website");
  ts_value_add(b, page, "stale", ts_value_bool(stale));
  ts_value_add(b, page, page_flags[t], ts_value_bool(true));
  struct ts_value ctx = ts_value_object(b, 16);
  ts_value_add(b, ctx, "site", s->site_obj);
  ts_value_add(b, ctx, "page", page);
  ts_value_add(b, ctx, "run", s->run_obj);
  ts_value_add(b, ctx, "nav", s->nav_obj);
  ts_value_add_str(b, ctx, "generator", "trendsite " TS_VERSION);
  return ctx;
}

/* ---- cards ------------------------------------------------------------- */

/* What the history says about item `i` (NULL without a history). */
static const struct ts_history_note *history_of(const struct site *s,
                                                size_t i)
{
  return s->in->history ? ts_history_note(s->in->history, i) : NULL;
}

static void set_count_display(struct ts_value_builder *b,
                              struct ts_value card, const char *key,
                              const char *display_key, int64_t n,
                              const char *one, const char *many)
{
  if (n == TS_UNKNOWN)
    return;
  char buf[48];
  ts_value_add(b, card, key, ts_value_int(n));
  ts_value_add_copy(b, card, display_key,
                    ts_display_count_unit(n, one, many, buf, sizeof buf));
}

/* The item's page ("videos/KEY.html"), relative to the site root; false
 * when its key is not a safe file name (such items get no page). */
static bool item_page_url(const struct ts_item *it, char *out, size_t size)
{
  if (!it->key || !ts_site_key_ok(it->key))
    return false;
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_str(&c, it->kind == TS_ITEM_VIDEO ? "videos/" : "stories/");
  ts_cat_str(&c, it->key);
  ts_cat_str(&c, ".html");
  return true;
}

/* Item `it`'s card, built with `b`. The item's own strings are
 * borrowed (the items outlive every page); text formatted here is
 * copied. */
static struct ts_value build_card(const struct site *s,
                                  struct ts_value_builder *b,
                                  const struct ts_item *it)
{
  struct ts_value c = ts_value_object(b, 40);
  bool video = it->kind == TS_ITEM_VIDEO;
  char buf[256];
  ts_value_add_str(b, c, "key", it->key);
  ts_value_add(b, c, "is_video", ts_value_bool(video));
  ts_value_add(b, c, "is_story", ts_value_bool(!video));
  /* Only an item whose key is a safe file name gets a page (item_pages
   * skips the others), so only such an item links to one. */
  if (item_page_url(it, buf, sizeof buf))
    ts_value_add_copy(b, c, "page_url", buf);
  if (safe_link(it->url)) {
    ts_value_add_str(b, c, "link", it->url);
    if (video && source_type(s, it->source) &&
        !strcmp(source_type(s, it->source), "youtube")) {
      ts_value_add_str(b, c, "link_label", "Watch on YouTube");
    } else {
      char host[128], label[160];
      link_host(it->url, host, sizeof host);
      struct ts_cat lc = ts_cat_start(label, sizeof label);
      ts_cat_str(&lc, "Read on ");
      ts_cat_str(&lc, host);
      ts_value_add_copy(b, c, "link_label", label);
    }
  }
  if (safe_link(it->discussion_url) &&
      (!it->url || strcmp(it->url, it->discussion_url)))
    ts_value_add_str(b, c, "discussion_url", it->discussion_url);
  ts_value_add_str(b, c, "title", it->title);
  ts_value_add_str(b, c, "author", it->author);
  ts_value_add_str(b, c, "summary", it->summary);
  ts_value_add_str(b, c, "category", it->category);
  if (safe_link(it->thumbnail)) {
    /* Width and height always set, so the browser reserves the space. */
    int w = it->thumb_width > 0 ? it->thumb_width : 480;
    int h = it->thumb_height > 0 ? it->thumb_height : 270;
    struct ts_value thumb = ts_value_object(b, 3);
    ts_value_add_str(b, thumb, "url", it->thumbnail);
    ts_value_add(b, thumb, "width", ts_value_int(w));
    ts_value_add(b, thumb, "height", ts_value_int(h));
    ts_value_add(b, c, "thumbnail", thumb);
  }
  set_count_display(b, c, "views", "views_display", it->views, "view",
                    "views");
  set_count_display(b, c, "likes", "likes_display", it->likes, "like",
                    "likes");
  set_count_display(b, c, "comments", "comments_display", it->comments,
                    "comment", "comments");
  set_count_display(b, c, "score", "score_display", it->score, "point",
                    "points");
  bool live = it->live && !strcmp(it->live, "live");
  bool upcoming = it->live && !strcmp(it->live, "upcoming");
  ts_value_add(b, c, "is_live", ts_value_bool(live));
  ts_value_add(b, c, "is_upcoming", ts_value_bool(upcoming));
  if (it->duration_s > 0 && !live && !upcoming)
    ts_value_add_copy(b, c, "duration_display",
                      ts_display_duration(it->duration_s, buf, sizeof buf));
  if (it->published != TS_TIME_UNKNOWN) {
    set_time(b, c, "published_at", it->published);
    ts_value_add_copy(b, c, "published_display",
                      ts_display_ago(it->published, s->in->now, buf,
                                     sizeof buf));
    ts_value_add_copy(b, c, "published_date",
                      ts_display_date(it->published, buf, sizeof buf));
  }

  struct ts_value sources = ts_value_array(b, 2);
  struct ts_buf codes;
  ts_buf_init(&codes, 4096);
  bool all_stale = it->npositions > 0;
  /* Region chips best rank first (the best 64 of them): where an item
   * does best is what a reader wants to see first. Positions come sorted
   * by source and region; this orders the region ones by rank. The
   * filter's region_codes keep every region. */
  const struct ts_item_position *chips[64];
  size_t nchips = 0;
  for (uint32_t k = 0; k < it->npositions; k++) {
    const struct ts_item_position *p = &it->positions[k];
    all_stale = all_stale && p->stale;
    if (p->region[0] && video) {
      if (codes.len)
        ts_buf_append_char(&codes, ' ');
      ts_buf_append_str(&codes, p->region);
    }
    const size_t cap = sizeof chips / sizeof chips[0];
    if (p->region[0] && video &&
        (nchips < cap || p->rank < chips[cap - 1]->rank)) {
      size_t at = nchips < cap ? nchips++ : cap - 1; /* the worst goes */
      while (at > 0 && (chips[at - 1]->rank > p->rank ||
                        (chips[at - 1]->rank == p->rank &&
                         strcmp(chips[at - 1]->region, p->region) > 0))) {
        chips[at] = chips[at - 1];
        at--;
      }
      chips[at] = p;
    }
    if (k == 0 || strcmp(it->positions[k - 1].source, p->source)) {
      struct ts_value src = ts_value_object(b, 3);
      ts_value_add_str(b, src, "name", p->source);
      ts_value_add_str(b, src, "label", source_label(s, p->source));
      ts_value_add(b, src, "rank", ts_value_int(p->rank));
      ts_value_push(b, sources, src);
    }
  }
  struct ts_value regions = ts_value_array(b, nchips);
  for (size_t k = 0; k < nchips; k++) {
    const struct ts_item_position *p = chips[k];
    char flag[9], url[64];
    ts_region_flag(p->region, flag);
    region_page_url(p->region, url, sizeof url);
    struct ts_value chip = ts_value_object(b, 5);
    ts_value_add_str(b, chip, "code", p->region);
    ts_value_add_str(b, chip, "name", region_name(p->region));
    ts_value_add_copy(b, chip, "flag", flag);
    ts_value_add(b, chip, "rank", ts_value_int(p->rank));
    ts_value_add_copy(b, chip, "url", url);
    ts_value_push(b, regions, chip);
  }
  ts_value_add(b, c, "regions", regions);
  ts_value_add_copy(b, c, "region_codes", ts_buf_cstr(&codes));
  ts_buf_cleanup(&codes);
  ts_value_add(b, c, "sources", sources);
  ts_value_add(b, c, "stale", ts_value_bool(all_stale));

  const struct ts_history_note *h =
      history_of(s, (size_t)(it - s->in->items));
  if (h) {
    set_time(b, c, "first_seen_at", h->first_seen);
    ts_value_add_copy(b, c, "first_seen_display",
                      ts_display_ago(h->first_seen, s->in->now, buf,
                                     sizeof buf));
    ts_value_add(b, c, "is_new", ts_value_bool(h->is_new));
    ts_value_add(b, c, "runs", ts_value_int(h->runs));
    if (all_stale) {
      char ago[64];
      snprintf(buf, sizeof buf, "from %s",
               ts_display_ago(h->last_seen, s->in->now, ago, sizeof ago));
      ts_value_add_copy(b, c, "stale_display", buf);
    }
  }
  return c;
}

/* Item `i`'s card, built with `b` (the builder of the renderer whose
 * page shows it). Built per use, not cached: cached, the cards of a
 * 30,000-item site took more memory than the 256 MB a render may use,
 * and copying one costs about as much as building it. */
static struct ts_value card_copy(const struct site *s,
                                 struct ts_value_builder *b, size_t i)
{
  return build_card(s, b, &s->in->items[i]);
}

/* The card of item `i` in one list: its rank there and the change. */
static struct ts_value list_card(struct site *s, struct ts_value_builder *b,
                                 size_t i, uint32_t rank, const char *source,
                                 const char *region)
{
  struct ts_value c = card_copy(s, b, i);
  ts_value_add(b, c, "rank", ts_value_int(rank));
  /* The change in this list: the item's position in it. */
  const struct ts_history_note *h = history_of(s, i);
  const struct ts_item *it = &s->in->items[i];
  int32_t was = TS_HISTORY_UNKNOWN;
  for (uint32_t k = 0; h && k < it->npositions; k++)
    if (!strcmp(it->positions[k].region, region) &&
        !strcmp(it->positions[k].source, source)) {
      was = h->positions[k].previous;
      break;
    }
  if (was != TS_HISTORY_UNKNOWN) {
    char label[32];
    bool is_new = was == TS_HISTORY_NEW;
    long by = is_new ? 0 : (long)was - (long)rank;
    if (is_new)
      snprintf(label, sizeof label, "new");
    else if (by > 0)
      snprintf(label, sizeof label, "up %ld", by);
    else if (by < 0)
      snprintf(label, sizeof label, "down %ld", -by);
    else
      snprintf(label, sizeof label, "no change");
    struct ts_value ch = ts_value_object(b, 6);
    ts_value_add(b, ch, "new", ts_value_bool(is_new));
    ts_value_add(b, ch, "up", ts_value_bool(!is_new && by > 0));
    ts_value_add(b, ch, "down", ts_value_bool(!is_new && by < 0));
    ts_value_add(b, ch, "same", ts_value_bool(!is_new && by == 0));
    ts_value_add(b, ch, "by", ts_value_int(by < 0 ? -by : by));
    ts_value_add_copy(b, ch, "label", label);
    ts_value_add(b, c, "change", ch);
  }
  return c;
}

/* ---- rendering --------------------------------------------------------- */

static enum ts_result emit(struct site *s, const char *path,
                           const void *data, size_t len, struct ts_error *err)
{
  if (s->opts->dump_context)
    return TS_OK;
  return ts_publish_file(s->pub, path, data, len, err);
}

/* Renders template `t` with `ctx`, built with rd->b since page_begin,
 * to `path`, with the renderer of the calling thread. */
static enum ts_result render_with(struct site *s, struct renderer *rd,
                                  enum page_template t, const char *path,
                                  struct ts_value ctx, struct ts_error *err)
{
  enum ts_result r = TS_OK;
  if (rd->b.failed) {
    r = ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
  } else if (s->opts->dump_context) {
    if (!strcmp(s->opts->dump_context, path)) {
      s->dump_found = true;
      json_t *j = ts_value_to_json(&ctx);
      char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
      if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
      }
      free(text);
      json_decref(j);
    }
  } else {
    ts_buf_reset(&rd->page);
    r = ts_mustache_render_value_to_buf(rd->tpl[t], &ctx, &rd->page, err);
    if (r != TS_OK)
      ts_error_prefix(err, "rendering %s", path);
    else
      r = emit(s, path, rd->page.data ? rd->page.data : "", rd->page.len,
               err);
    rd->pages++;
  }
  return r;
}

/* Starts a page: its context is built with the builder this returns, in
 * the renderer's arena, and is gone at the renderer's next page_begin.
 * Building and dropping millions of small values then costs no malloc
 * and free (the arena keeps its memory from one page to the next).
 * Rendering itself allocates from the heap (the template engine keeps
 * some values from one page to the next). */
static struct ts_value_builder *page_begin(struct renderer *rd)
{
  ts_arena_reset(&rd->arena);
  rd->b = (struct ts_value_builder){.arena = &rd->arena};
  return &rd->b;
}

/* Renders a page whose context this thread built after page_begin on
 * the main renderer (the pages other than region and item pages). */
static enum ts_result render(struct site *s, enum page_template t,
                             const char *path, struct ts_value ctx,
                             struct ts_error *err)
{
  return render_with(s, &s->main, t, path, ctx, err);
}

/* ---- the pages --------------------------------------------------------- */

/* Counts by name (categories, sources), in the order names were first
 * seen. The names are the items' own strings: they outlive the page. */
struct tally_entry {
  const char *name;
  int64_t count;
};

struct tally {
  struct tally_entry *v;
  size_t n, cap;
  json_t *at; /* name -> index in v */
};

/* Counts one more of `name`; false when out of memory. */
static bool tally_add(struct tally *t, const char *name)
{
  if (!t->at && !(t->at = json_object()))
    return false;
  json_t *at = json_object_get(t->at, name);
  if (at) {
    t->v[json_integer_value(at)].count++;
    return true;
  }
  if (!ts_grow(&t->v, &t->cap, t->n + 1, sizeof *t->v))
    return false;
  at = json_integer((json_int_t)t->n);
  if (!at || json_object_set_new_nocheck(t->at, name, at))
    return false;
  t->v[t->n++] = (struct tally_entry){name, 1};
  return true;
}

static void tally_free(struct tally *t)
{
  free(t->v);
  json_decref(t->at);
}

/* Most videos first, then by name, so the filter lists the big ones on top
 * and the order does not depend on the order items arrived in. */
static int compare_categories(const void *a, const void *b)
{
  const struct tally_entry *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp(x->name, y->name);
}

static enum ts_result index_page(struct site *s, struct ts_error *err)
{
  struct ts_value_builder *b = page_begin(&s->main);
  struct ts_value ctx =
      page_context(s, b, T_INDEX, "index.html", s->in->config->site.title, NULL,
                   s->has_stale);
  struct ts_value videos = ts_value_array(b, INDEX_VIDEOS);
  struct ts_value stories = ts_value_array(b, INDEX_STORIES);
  struct tally categories = {0};
  for (size_t i = 0; i < s->in->nitems; i++) {
    const struct ts_item *it = &s->in->items[i];
    struct ts_value list = it->kind == TS_ITEM_VIDEO ? videos : stories;
    size_t cap = it->kind == TS_ITEM_VIDEO ? INDEX_VIDEOS : INDEX_STORIES;
    if (ts_value_size(list) < cap)
      ts_value_push(
          b, list,
          list_card(s, b, i, (uint32_t)ts_value_size(list) + 1, "", ""));
    if (it->kind == TS_ITEM_VIDEO && it->category &&
        !tally_add(&categories, it->category))
      b->failed = true;
  }
  if (categories.n) /* none: no array to sort */
    qsort(categories.v, categories.n, sizeof *categories.v,
          compare_categories);
  struct ts_value cats = ts_value_array(b, categories.n);
  for (size_t k = 0; k < categories.n; k++) {
    struct ts_value cat = ts_value_object(b, 2);
    ts_value_add_str(b, cat, "name", categories.v[k].name);
    ts_value_add(b, cat, "count", ts_value_int(categories.v[k].count));
    ts_value_push(b, cats, cat);
  }
  tally_free(&categories);
  const json_t *days = s->in->history ? ts_history_days(s->in->history) : NULL;
  struct ts_value archive = ts_value_array(b, json_array_size(days));
  size_t di;
  json_t *d;
  json_array_foreach(days, di, d)
  {
    /* The history's: it outlives the page. */
    const char *date = json_string_value(json_object_get(d, "date"));
    char url[64], label[32], iso[32];
    snprintf(url, sizeof url, "archive/%s.html", date);
    snprintf(iso, sizeof iso, "%sT00:00:00Z", date);
    int64_t t = 0;
    ts_time_parse(iso, &t);
    struct ts_value day = ts_value_object(b, 3);
    ts_value_add_str(b, day, "date", date);
    ts_value_add_copy(b, day, "label", ts_display_date(t, label, sizeof label));
    ts_value_add_copy(b, day, "url", url);
    ts_value_push(b, archive, day);
  }
  ts_value_add(b, ctx, "has_videos", ts_value_bool(ts_value_size(videos)));
  ts_value_add(b, ctx, "has_stories", ts_value_bool(ts_value_size(stories)));
  ts_value_add(b, ctx, "has_archive", ts_value_bool(ts_value_size(archive)));
  ts_value_add(b, ctx, "top_videos", videos);
  ts_value_add(b, ctx, "top_stories", stories);
  ts_value_add(b, ctx, "regions", s->regions);
  ts_value_add(b, ctx, "categories", cats);
  ts_value_add(b, ctx, "archive", archive);
  ts_value_add_str(b, ctx, "search_index", "api/search.json");
  return render(s, T_INDEX, "index.html", ctx, err);
}

static int compare_entries(const void *a, const void *b)
{
  const struct list_entry *x = a, *y = b;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  return (x->item > y->item) - (x->item < y->item);
}

/* A list index: every item's positions filed under their lists (one per
 * status, same order), each sorted by rank; one pass over the positions.
 * `stale` positions are filed only when `with_stale`. */
static void list_index_free(struct list_index *x)
{
  for (size_t i = 0; x->lists && i < x->n; i++)
    free(x->lists[i].entries);
  free(x->lists);
  json_decref(x->ids);
  memset(x, 0, sizeof *x);
}

static enum ts_result list_index_build(const struct ts_item *items,
                                       size_t nitems,
                                       const struct ts_status *statuses,
                                       size_t nstatuses, bool with_stale,
                                       struct list_index *x,
                                       struct ts_error *err)
{
  memset(x, 0, sizeof *x);
  x->n = nstatuses;
  x->lists = calloc(nstatuses ? nstatuses : 1, sizeof *x->lists);
  x->ids = json_object();
  if (!x->lists || !x->ids) {
    list_index_free(x);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < nstatuses; i++) {
    char key[64];
    ts_list_key(statuses[i].source, statuses[i].region, key, sizeof key);
    put(x->ids, key, json_integer((json_int_t)i));
  }
  for (size_t i = 0; i < nitems; i++) {
    const struct ts_item *it = &items[i];
    for (uint32_t k = 0; k < it->npositions; k++) {
      if (it->positions[k].stale && !with_stale)
        continue;
      char key[64];
      ts_list_key(it->positions[k].source, it->positions[k].region, key,
               sizeof key);
      json_t *id = json_object_get(x->ids, key);
      if (!id)
        continue; /* a position without a list: nothing lists it */
      struct list *l = &x->lists[json_integer_value(id)];
      if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct list_entry *e = realloc(l->entries, cap * sizeof *e);
        if (!e) {
          list_index_free(x);
          return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
        }
        l->entries = e;
        l->cap = cap;
      }
      l->entries[l->n++] = (struct list_entry){i, it->positions[k].rank};
      l->videos += it->kind == TS_ITEM_VIDEO;
    }
  }
  for (size_t i = 0; i < nstatuses; i++)
    if (x->lists[i].n) /* an empty list has no array to sort */
      qsort(x->lists[i].entries, x->lists[i].n, sizeof *x->lists[i].entries,
            compare_entries);
  return TS_OK;
}

/* A new object with the members of object `from` (their values shared),
 * for a copy to change. */
static struct ts_value copy_object(struct ts_value_builder *b,
                                   struct ts_value from)
{
  size_t n = from.type == TS_VALUE_OBJECT ? from.u.o->len : 0;
  struct ts_value o = ts_value_object(b, n);
  for (size_t k = 0; k < n; k++) {
    const struct ts_value_member *m = &from.u.o->m[k];
    ts_value_addn(b, o, m->key, m->klen, m->v);
  }
  return o;
}

/* Gives a region page its own copy of the navigation, with `current` set
 * on its region (for aria-current and the highlight): the shared one is
 * frozen, and read by every thread. */
static void mark_current_region(const struct site *s,
                                struct ts_value_builder *b, struct ts_value ctx,
                                const char *code)
{
  struct ts_value nav = copy_object(b, s->nav_obj);
  const struct ts_value *from = ts_value_get(s->nav_obj, "regions");
  size_t n = from ? ts_value_size(*from) : 0;
  struct ts_value regions = ts_value_array(b, n);
  for (size_t i = 0; i < n; i++) {
    struct ts_value r = copy_object(b, *ts_value_at(*from, i));
    const struct ts_value *c = ts_value_get(r, "code");
    bool current = c && c->type == TS_VALUE_STRING && c->len == strlen(code) &&
                   !memcmp(c->u.s, code, c->len);
    ts_value_set(b, r, "current", ts_value_bool(current));
    ts_value_push(b, regions, r);
  }
  ts_value_set(b, nav, "regions", regions);
  ts_value_set(b, ctx, "nav", nav);
}

/* api/regions/XX.json: the list with each item's rank in it. Written as
 * text, like the snapshot, rather than built as a JSON tree. */
static enum ts_result region_api(struct site *s, const struct ts_status *st,
                                 const struct list *list, struct ts_error *err)
{
  struct ts_buf text;
  ts_buf_init(&text, 0);
  struct ts_json_writer w = {.b = &text};
  char when[21], path[64];
  ts_time_format(s->in->now, when);
  ts_json_open(&w, '{');
  ts_json_str_member(&w, "format", "trendsite-region");
  ts_json_int_member(&w, "version", 1);
  ts_json_str_member(&w, "generated_at", when);
  ts_json_str_member(&w, "region", st->region);
  ts_json_str_member(&w, "name", region_name(st->region));
  ts_json_str_member(&w, "status", ts_status_state_name(st->state));
  ts_json_key(&w, "items");
  ts_json_open(&w, '[');
  enum ts_result r = TS_OK;
  for (size_t k = 0; k < list->n && r == TS_OK; k++) {
    ts_json_next(&w);
    r = ts_buf_append_char(&text, '\n');
    size_t item = list->entries[k].item;
    if (r == TS_OK && s->in->item_spans)
      r = ts_buf_append(&text,
                        s->in->snapshot->data + s->in->item_spans[item].off,
                        s->in->item_spans[item].len);
    else if (r == TS_OK)
      r = ts_snapshot_item_text(&s->in->items[item], &text);
    /* The item's closing brace makes way for its rank in this list. */
    if (r == TS_OK) {
      text.len--;
      r = ts_buf_append_str(&text, ",\"rank\":");
      if (r == TS_OK)
        r = ts_buf_append_int(&text, list->entries[k].rank);
      if (r == TS_OK)
        r = ts_buf_append_char(&text, '}');
    }
  }
  if (r == TS_OK)
    r = ts_buf_append_str(&text, "\n]}\n");
  snprintf(path, sizeof path, "api/regions/%s.json", st->region);
  if (r != TS_OK || w.failed)
    r = ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
  else
    r = emit(s, path, ts_buf_cstr(&text), text.len, err);
  ts_buf_cleanup(&text);
  return r;
}


/* Whether list `st` gets a page of its own (regions/XX.html). */
static bool has_region_page(const struct site *s, const struct ts_status *st)
{
  return is_youtube_list(s, st) && ts_site_key_ok(st->region);
}

/* Region pages, one claim at a time: each is 50 cards, enough work to be
 * worth a claim of its own. (Their api/regions/XX.json copy the snapshot
 * text, written meanwhile: api_files writes them.) */
static enum ts_result region_pages(struct site *s, struct renderer *rd,
                                   struct ts_error *err)
{
  for (;;) {
    size_t claim = atomic_fetch_add(&s->next_region, 1);
    if (claim >= s->nregion_lists || atomic_load(&s->stop))
      break;
    size_t i = s->region_lists[claim];
    const struct ts_status *st = &s->in->statuses[i];
    char path[64], title[160], desc[256], flag[9], when[64];
    struct ts_value_builder *b = page_begin(rd);
    region_page_url(st->region, path, sizeof path);
    snprintf(title, sizeof title, "Trending in %s", region_name(st->region));
    snprintf(desc, sizeof desc, "The most popular YouTube videos in %s "
             "right now, with rank changes since the last update.",
             region_name(st->region));
    bool stale = st->state == TS_STATUS_STALE;
    struct ts_value ctx = page_context(s, b, T_REGION, path, title, desc,
                                       stale);
    mark_current_region(s, b, ctx, st->region);
    ts_region_flag(st->region, flag);
    struct ts_value region = ts_value_object(b, 8);
    ts_value_add_str(b, region, "code", st->region);
    ts_value_add_str(b, region, "name", region_name(st->region));
    ts_value_add_copy(b, region, "flag", flag);
    ts_value_add(b, region, "stale", ts_value_bool(stale));
    ts_value_add(b, region, "failed",
                 ts_value_bool(st->state == TS_STATUS_FAILED));
    if (stale)
      ts_value_add_copy(
          b, region, "stale_since_display",
          ts_display_ago(st->stale_since, s->in->now, when, sizeof when));
    ts_value_add_str(b, region, "reason", st->reason);
    const struct list *list = &s->index.lists[i];
    struct ts_value items = ts_value_array(b, list->n);
    for (size_t k = 0; k < list->n; k++)
      ts_value_push(b, items,
                    list_card(s, b, list->entries[k].item,
                              list->entries[k].rank, st->source, st->region));
    ts_value_add(b, ctx, "region", region);
    ts_value_add(b, ctx, "has_items", ts_value_bool(list->n > 0));
    ts_value_add(b, ctx, "items", items);
    enum ts_result r = render_with(s, rd, T_REGION, path, ctx, err);
    if (r != TS_OK)
      return r;
  }
  return TS_OK;
}

/* Item `i`'s page (videos/KEY.html or stories/KEY.html). */
static enum ts_result item_page(struct site *s, struct renderer *rd,
                                size_t i, struct ts_error *err)
{
  const struct ts_item *it = &s->in->items[i];
  if (!ts_site_key_ok(it->key)) {
    rd->skipped++;
    return TS_OK;
  }
  struct ts_value_builder *b = page_begin(rd);
  bool video = it->kind == TS_ITEM_VIDEO;
  char path[96], desc[512], buf[64];
  item_page_url(it, path, sizeof path);
  struct ts_cat d = ts_cat_start(desc, sizeof desc);
  if (it->summary) {
    ts_cat_strn(&d, it->summary, strnlen(it->summary, 300));
  } else {
    ts_cat_str(&d, video ? "Trending video" : "Story");
    if (it->author) {
      ts_cat_str(&d, " by ");
      ts_cat_str(&d, it->author);
    }
  }
  struct ts_value c = card_copy(s, b, i);
  /* Stale when any of its lists is (the card's "stale": when all are). */
  bool stale = false;
  for (uint32_t k = 0; k < it->npositions && !stale; k++)
    stale = it->positions[k].stale;
  struct ts_value ctx = page_context(s, b, video ? T_VIDEO : T_STORY, path,
                                     it->title, desc, stale);
  const struct ts_value *thumb = ts_value_get(c, "thumbnail");
  if (thumb)
    ts_value_add(b, page_of(ctx), "image", *thumb);
  const struct ts_history_note *h = history_of(s, i);
  struct ts_value positions = ts_value_array(b, it->npositions);
  for (uint32_t k = 0; k < it->npositions; k++) {
    const struct ts_item_position *p = &it->positions[k];
    char label[160];
    list_label(s, p->source, p->region, label, sizeof label);
    struct ts_value pj = ts_value_object(b, 5);
    ts_value_add_copy(b, pj, "label", label);
    ts_value_add(b, pj, "rank", ts_value_int(p->rank));
    ts_value_add(b, pj, "stale", ts_value_bool(p->stale));
    if (h && h->positions[k].peak)
      ts_value_add(b, pj, "peak", ts_value_int(h->positions[k].peak));
    if (p->region[0] && video) {
      char url[64];
      region_page_url(p->region, url, sizeof url);
      ts_value_add_copy(b, pj, "url", url);
    }
    ts_value_push(b, positions, pj);
  }
  ts_value_add(b, c, "positions", positions);
  ts_buf_reset(&rd->svg);
  const json_t *series = h ? h->series : NULL;
  if (ts_display_sparkline(series, &rd->svg)) {
    /* Borrowed: rd->svg is not touched again before this thread's next
     * item page. */
    ts_value_add(b, c, "sparkline",
                 ts_value_strn(ts_buf_cstr(&rd->svg), rd->svg.len));
    char label[160];
    snprintf(label, sizeof label, "Best rank over the last %zu updates",
             json_array_size(series));
    ts_value_add_copy(b, c, "sparkline_label", label);
  }
  if (h)
    ts_value_add_copy(b, c, "last_seen_display",
                      ts_display_ago(h->last_seen, s->in->now, buf,
                                     sizeof buf));
  ts_value_add(b, ctx, "item", c);
  return render_with(s, rd, video ? T_VIDEO : T_STORY, path, ctx, err);
}

/* Item pages are claimed up to this many at a time, fewer as the end
 * nears (an eighth of what is left): few claims, so the counter is not
 * contended, and threads that finish within a page of each other rather
 * than one waiting out the other's last 16 pages. */
#define ITEM_CLAIM 16

/* The next run of item pages for this thread: [*from, *to). False when
 * none is left. */
static bool claim_items(struct site *s, size_t *from, size_t *to)
{
  size_t n = s->in->nitems;
  size_t at = atomic_load(&s->next_item);
  for (;;) {
    if (at >= n)
      return false;
    size_t take = (n - at) / 8;
    take = take < 1 ? 1 : take > ITEM_CLAIM ? ITEM_CLAIM : take;
    if (atomic_compare_exchange_weak(&s->next_item, &at, at + take)) {
      *from = at;
      *to = at + take;
      return true;
    }
  }
}

static enum ts_result item_pages(struct site *s, struct renderer *rd,
                                 struct ts_error *err)
{
  enum ts_result r = TS_OK;
  size_t from, to;
  while (r == TS_OK && !atomic_load(&s->stop) && claim_items(s, &from, &to))
    for (size_t i = from; i < to && r == TS_OK; i++)
      r = item_page(s, rd, i, err);
  return r;
}

/* ---- threads ------------------------------------------------------------ */

/* Region and item pages are most of a site (30,800 of 32,400 files for
 * a large one) and independent: they are rendered by several threads,
 * each with its own renderer, writing through the publisher (which takes
 * files from several threads at once). Everything they share (site, run,
 * navigation, history, items) is only read: the shared context values
 * have no reference counts, and each thread builds its pages' contexts
 * in an arena of its own. */
struct worker {
  struct site *s;
  struct renderer rd;
  enum ts_result result;
  struct ts_error err;
};

static enum ts_result load_templates(const struct ts_site_options *opts,
                                     struct renderer *rd,
                                     const atomic_bool *cancel,
                                     struct ts_error *err);
static enum ts_result freeze_common(struct site *s, struct renderer *rd,
                                    struct ts_error *err);

/* Region pages, then item pages, claimed until none is left. */
static enum ts_result page_share(struct site *s, struct renderer *rd,
                                 struct ts_error *err)
{
  enum ts_result r = region_pages(s, rd, err);
  if (r == TS_OK)
    r = item_pages(s, rd, err);
  if (r != TS_OK)
    atomic_store(&s->stop, true);
  return r;
}

/* A worker sets up its renderer on its own thread, so that the calling
 * thread can go on with the other pages meanwhile. */
static int run_worker(void *arg)
{
  struct worker *w = arg;
  w->result = TS_OK;
  if (!w->rd.env) /* not compiled ahead (see ts_site_prepare) */
    w->result = load_templates(w->s->opts, &w->rd, NULL, &w->err);
  if (w->result == TS_OK)
    w->result = freeze_common(w->s, &w->rd, &w->err);
  if (w->result == TS_OK)
    w->result = page_share(w->s, &w->rd, &w->err);
  else
    atomic_store(&w->s->stop, true);
  return 0;
}

/* Threads to use: TRENDSITE_THREADS (1 to 16), else the processors
 * online, at most four. Small sites gain too: a worker sets itself up
 * while this thread renders the other pages. */
static unsigned thread_count(const struct ts_site_options *opts)
{
  if (opts->dump_context)
    return 1;
  const char *env = getenv("TRENDSITE_THREADS");
  long n;
  if (env && *env) {
    n = strtol(env, NULL, 10);
    n = n < 1 ? 1 : n > 16 ? 16 : n;
  } else {
    n = sysconf(_SC_NPROCESSORS_ONLN);
    n = n < 1 ? 1 : n > 4 ? 4 : n;
  }
  return (unsigned)n;
}

static void renderer_cleanup(struct renderer *rd)
{
  ts_mustache_env_free(rd->env);
  ts_buf_cleanup(&rd->page);
  ts_buf_cleanup(&rd->svg);
  ts_arena_cleanup(&rd->arena);
  memset(rd, 0, sizeof *rd);
}

static enum ts_result other_pages(struct site *s, struct ts_error *err);
static bool prep_take_worker(struct ts_site_prep *p, struct worker *w);
static void prep_wait_worker(struct ts_site_prep *p);

/* Every page. Workers start on the region and item pages at once (the
 * first on the prep's thread, once that is through with its own work);
 * this thread renders the other pages (index, archive, feed, sitemap,
 * API files: a tenth of a large site's work, and serial), then joins in
 * on the region and item pages that are left. */
static enum ts_result all_pages(struct site *s, struct ts_error *err)
{
  s->region_lists = calloc(s->in->nstatuses ? s->in->nstatuses : 1,
                           sizeof *s->region_lists);
  if (!s->region_lists)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < s->in->nstatuses; i++)
    if (has_region_page(s, &s->in->statuses[i]))
      s->region_lists[s->nregion_lists++] = i;

  unsigned n = thread_count(s->opts);
  struct worker *w = n > 1 ? calloc(n, sizeof *w) : NULL;
  struct ts_thread *ids = n > 1 ? calloc(n, sizeof *ids) : NULL;
  unsigned started = 0;
  bool handed = false; /* w[1] runs on the prep's thread */
  struct ts_site_prep *prep = s->opts->prepared;
  for (unsigned k = 1; w && ids && k < n; k++) {
    w[k].s = s;
    if (prep && k < prep->n) {
      w[k].rd = prep->rds[k];
      memset(&prep->rds[k], 0, sizeof prep->rds[k]);
    }
    if (k == 1 && prep_take_worker(prep, &w[k])) {
      handed = true;
      started = k;
      continue;
    }
    /* Worker k keeps to processor k of the prep's plan, unless the
     * prep's thread, on processor 1, is still busy with the idle work. */
    const struct ts_cpu_plan *plan =
        prep && !(k == 1 && prep->running) ? &prep->cpus : NULL;
    if (ts_thread_start_on(&ids[k], run_worker, &w[k], plan, k) != TS_OK) {
      renderer_cleanup(&w[k].rd); /* taken from prep above */
      break; /* fewer threads: the pages get done all the same */
    }
    started = k;
  }
  enum ts_result r = other_pages(s, err);
  if (r == TS_OK)
    r = page_share(s, &s->main, err);
  else
    atomic_store(&s->stop, true);
  for (unsigned k = 1; k <= started; k++) {
    if (k == 1 && handed)
      prep_wait_worker(prep);
    else
      ts_thread_join(&ids[k]);
    if (r == TS_OK && w[k].result != TS_OK) {
      r = w[k].result;
      *err = w[k].err;
    }
    s->main.pages += w[k].rd.pages;
    s->main.skipped += w[k].rd.skipped;
    renderer_cleanup(&w[k].rd);
  }
  free(w);
  free(ids);
  return r;
}

static enum ts_result news_page(struct site *s, struct ts_error *err)
{
  struct ts_value_builder *b = page_begin(&s->main);
  struct ts_value ctx =
      page_context(s, b, T_NEWS, "news.html", "News",
                   "Top stories from Hacker News, The Guardian and "
                   "NewsAPI, merged and ranked.",
                   false);
  struct ts_value items = ts_value_array(b, 64);
  struct tally per = {0};
  bool stale = false;
  for (size_t i = 0; i < s->in->nitems; i++) {
    const struct ts_item *it = &s->in->items[i];
    if (it->kind != TS_ITEM_STORY || !ts_site_key_ok(it->key))
      continue;
    ts_value_push(b, items,
                  list_card(s, b, i, (uint32_t)ts_value_size(items) + 1, "",
                            ""));
    for (uint32_t k = 0; k < it->npositions; k++) {
      stale = stale || it->positions[k].stale;
      if (k && !strcmp(it->positions[k - 1].source, it->positions[k].source))
        continue;
      if (!tally_add(&per, it->positions[k].source))
        b->failed = true;
    }
  }
  struct ts_value sources = ts_value_array(b, per.n);
  for (size_t k = 0; k < per.n; k++) {
    struct ts_value src = ts_value_object(b, 3);
    ts_value_add_str(b, src, "name", per.v[k].name);
    ts_value_add_str(b, src, "label", source_label(s, per.v[k].name));
    ts_value_add(b, src, "count", ts_value_int(per.v[k].count));
    ts_value_push(b, sources, src);
  }
  tally_free(&per);
  /* page_context set "stale" before the stories were seen. */
  ts_value_set(b, page_of(ctx), "stale", ts_value_bool(stale));
  ts_value_add(b, ctx, "has_items", ts_value_bool(ts_value_size(items)));
  ts_value_add(b, ctx, "items", items);
  ts_value_add(b, ctx, "sources", sources);
  return render(s, T_NEWS, "news.html", ctx, err);
}

static enum ts_result status_page(struct site *s, struct ts_error *err)
{
  struct ts_value_builder *b = page_begin(&s->main);
  struct ts_value ctx = page_context(s, b, T_STATUS, "status.html", "Status",
                                     "What the last update fetched from each "
                                     "source, and what failed.",
                                     s->has_stale);
  struct ts_value lists = ts_value_array(b, s->in->nstatuses);
  unsigned ok = 0, stale = 0, failed = 0, items = 0, requests = 0, retries = 0,
           units = 0;
  for (size_t i = 0; i < s->in->nstatuses; i++) {
    const struct ts_status *st = &s->in->statuses[i];
    char label[160], dur[32], when[64];
    list_label(s, st->source, st->region, label, sizeof label);
    struct ts_value e = ts_value_object(b, 18);
    ts_value_add_copy(b, e, "label", label);
    ts_value_add_str(b, e, "source", st->source);
    ts_value_add_str(b, e, "type", st->type);
    ts_value_add_str(b, e, "region", st->region);
    ts_value_add_str(b, e, "state", ts_status_state_name(st->state));
    ts_value_add(b, e, "is_ok", ts_value_bool(st->state == TS_STATUS_OK));
    ts_value_add(b, e, "is_stale",
                 ts_value_bool(st->state == TS_STATUS_STALE));
    ts_value_add(b, e, "is_failed",
                 ts_value_bool(st->state == TS_STATUS_FAILED));
    ts_value_add(b, e, "items", ts_value_int((int)st->items));
    ts_value_add(b, e, "skipped", ts_value_int((int)st->skipped));
    ts_value_add(b, e, "requests", ts_value_int((int)st->requests));
    ts_value_add(b, e, "retries", ts_value_int((int)st->retries));
    if (st->region[0])
      ts_value_add_str(b, e, "region_name", region_name(st->region));
    ts_value_add_str(b, e, "reason", st->reason);
    snprintf(dur, sizeof dur, "%.1f s", st->duration_ms / 1000.0);
    ts_value_add_copy(b, e, "duration_display", dur);
    if (st->fetched_at != TS_TIME_UNKNOWN)
      ts_value_add_copy(
          b, e, "fetched_display",
          ts_display_ago(st->fetched_at, s->in->now, when, sizeof when));
    if (st->state == TS_STATUS_STALE)
      ts_value_add_copy(
          b, e, "stale_since_display",
          ts_display_ago(st->stale_since, s->in->now, when, sizeof when));
    ts_value_push(b, lists, e);
    ok += st->state == TS_STATUS_OK;
    stale += st->state == TS_STATUS_STALE;
    failed += st->state == TS_STATUS_FAILED;
    items += st->items;
    requests += st->requests;
    retries += st->retries;
    units += st->quota_units;
  }
  ts_value_add(b, ctx, "lists", lists);
  struct ts_value totals = ts_value_object(b, 7);
  ts_value_add(b, totals, "lists", ts_value_int((int)s->in->nstatuses));
  ts_value_add(b, totals, "ok", ts_value_int((int)ok));
  ts_value_add(b, totals, "stale", ts_value_int((int)stale));
  ts_value_add(b, totals, "failed", ts_value_int((int)failed));
  ts_value_add(b, totals, "items", ts_value_int((int)items));
  ts_value_add(b, totals, "requests", ts_value_int((int)requests));
  ts_value_add(b, totals, "retries", ts_value_int((int)retries));
  ts_value_add(b, ctx, "totals", totals);
  if (units) {
    struct ts_value quota = ts_value_object(b, 1);
    ts_value_add(b, quota, "units", ts_value_int((int)units));
    ts_value_add(b, ctx, "quota", quota);
  }
  return render(s, T_STATUS, "status.html", ctx, err);
}

/* Whether this run has an item with `key`. The table is built on the
 * first question, which only an older day's archive asks: a run with
 * no such day does not build it before its pages. */
static bool current_item(struct site *s, const char *key)
{
  if (!s->keys) {
    s->keys = json_object();
    if (!s->keys)
      return false; /* out of memory: no link, the page is still right */
    for (size_t i = 0; i < s->in->nitems; i++)
      if (s->in->items[i].key && ts_site_key_ok(s->in->items[i].key))
        put(s->keys, s->in->items[i].key, json_integer((json_int_t)i));
  }
  return json_object_get(s->keys, key) != NULL;
}

static enum ts_result archive_pages(struct site *s, json_t *sitemap,
                                    struct ts_error *err)
{
  const json_t *days = s->in->history ? ts_history_days(s->in->history) : NULL;
  size_t di;
  json_t *d;
  json_array_foreach(days, di, d)
  {
    const char *date = json_string_value(json_object_get(d, "date"));
    struct ts_batch day;
    ts_batch_init(&day);
    struct ts_error derr;
    enum ts_result r = TS_OK;
    char iso[32], label[32], path[64], title[96];
    snprintf(iso, sizeof iso, "%sT00:00:00Z", date);
    int64_t t = 0;
    ts_time_parse(iso, &t);
    /* Today's archive shows this run; older days come from the history. */
    bool today = t <= s->in->now && s->in->now < t + 86400;
    const struct ts_item *items = today ? s->in->items : NULL;
    size_t nitems = today ? s->in->nitems : 0;
    const struct ts_status *statuses = today ? s->in->statuses : NULL;
    size_t nstatuses = today ? s->in->nstatuses : 0;
    if (!today) {
      if (ts_history_load_day(s->in->history_opts, date, &day, &derr) !=
          TS_OK) {
        ts_log_warn(s->opts->log, "archive %s: %s (skipped)", date, derr.msg);
        ts_batch_cleanup(&day);
        continue;
      }
      items = day.items;
      nitems = day.nitems;
      statuses = day.statuses;
      nstatuses = day.nstatuses;
    }
    snprintf(path, sizeof path, "archive/%s.html", date);
    snprintf(title, sizeof title, "Trending on %s",
             ts_display_date(t, label, sizeof label));
    struct list_index day_index;
    r = list_index_build(items, nitems, statuses, nstatuses, false,
                         &day_index, err);
    if (r != TS_OK) {
      ts_batch_cleanup(&day);
      return r;
    }
    /* The day's items and statuses (in `day` for an older day) are
     * borrowed: they are let go of after the render. */
    struct ts_value_builder *b = page_begin(&s->main);
    struct ts_value ctx =
        page_context(s, b, T_ARCHIVE, path, title, NULL, false);
    struct ts_value lists = ts_value_array(b, nstatuses);
    for (size_t k = 0; k < nstatuses; k++) {
      const struct ts_status *st = &statuses[k];
      const struct list *l = &day_index.lists[k];
      if (l->n == 0 || l->entries[0].rank > 10)
        continue; /* nothing in the top ten */
      struct ts_value cards = ts_value_array(b, 10);
      /* The day's top ten of this list, in rank order. */
      for (size_t e = 0; e < l->n && l->entries[e].rank <= 10; e++) {
        const struct ts_item *it = &items[l->entries[e].item];
        struct ts_value c = ts_value_object(b, 5);
        ts_value_add_str(b, c, "title", it->title);
        ts_value_add_str(b, c, "author", it->author);
        ts_value_add(b, c, "rank", ts_value_int(l->entries[e].rank));
        if (safe_link(it->url))
          ts_value_add_str(b, c, "link", it->url);
        /* Link to the item's page only while it still has one. */
        char url[96];
        if (it->key && (today || current_item(s, it->key)) &&
            item_page_url(it, url, sizeof url))
          ts_value_add_copy(b, c, "page_url", url);
        ts_value_push(b, cards, c);
      }
      char llabel[160], flag[9] = "";
      list_label(s, st->source, st->region, llabel, sizeof llabel);
      if (st->region[0] && !strcmp(st->type, "youtube"))
        ts_region_flag(st->region, flag);
      struct ts_value list = ts_value_object(b, 3);
      ts_value_add_copy(b, list, "label", llabel);
      ts_value_add_copy(b, list, "flag", flag);
      ts_value_add(b, list, "items", cards);
      ts_value_push(b, lists, list);
    }
    struct ts_value dayv = ts_value_object(b, 2);
    ts_value_add_str(b, dayv, "date", date);
    ts_value_add_copy(b, dayv, "label", label);
    ts_value_add(b, ctx, "day", dayv);
    ts_value_add(b, ctx, "has_lists", ts_value_bool(ts_value_size(lists)));
    ts_value_add(b, ctx, "lists", lists);
    r = render(s, T_ARCHIVE, path, ctx, err);
    list_index_free(&day_index);
    ts_batch_cleanup(&day);
    if (r != TS_OK)
      return r;
    json_array_append_new(sitemap, json_string(path));
  }
  return TS_OK;
}

struct entrant {
  int64_t first_seen;
  size_t item; /* ranking order */
};

/* Newest entrants first: first seen, then ranking. */
static int compare_entrants(const void *a, const void *b)
{
  const struct entrant *x = a, *y = b;
  if (x->first_seen != y->first_seen)
    return x->first_seen > y->first_seen ? -1 : 1;
  return (x->item > y->item) - (x->item < y->item);
}

static enum ts_result feed(struct site *s, struct ts_error *err)
{
  size_t n = 0;
  struct entrant *order =
      malloc((s->in->nitems ? s->in->nitems : 1) * sizeof *order);
  if (!order)
    return ts_error_set(err, TS_ERR_NOMEM, "feed.xml: out of memory");
  for (size_t i = 0; i < s->in->nitems; i++)
    if (ts_site_key_ok(s->in->items[i].key))
      order[n++] = (struct entrant){
        history_of(s, i) ? history_of(s, i)->first_seen : 0, i};
  qsort(order, n, sizeof *order, compare_entrants);
  struct ts_value_builder *b = page_begin(&s->main);
  struct ts_value entries = ts_value_array(b, FEED_ENTRIES);
  const char *base = s->in->config->site.base_url;
  for (size_t k = 0; k < n && k < FEED_ENTRIES; k++) {
    const struct ts_item *it = &s->in->items[order[k].item];
    char page[96], url[2048];
    item_page_url(it, page, sizeof page);
    snprintf(url, sizeof url, "%s%s", base, page);
    int64_t first = order[k].first_seen;
    struct ts_value u = ts_value_strdup(b, url, strlen(url));
    struct ts_value e = ts_value_object(b, 6);
    ts_value_add(b, e, "id", u);
    ts_value_add_str(b, e, "title", it->title);
    ts_value_add(b, e, "url", u);
    set_time(b, e, "updated", first ? first : s->in->now);
    ts_value_add_str(b, e, "summary", it->summary);
    ts_value_add_str(b, e, "author",
                     it->author ? it->author : s->in->config->site.title);
    ts_value_push(b, entries, e);
  }
  free(order);
  char feed_url[2048];
  snprintf(feed_url, sizeof feed_url, "%sfeed.xml", base);
  struct ts_value ctx = page_context(s, b, T_FEED, "feed.xml",
                                     s->in->config->site.title, NULL, false);
  ts_value_add(b, ctx, "entries", entries);
  set_time(b, ctx, "updated", s->in->now);
  ts_value_add_copy(b, ctx, "feed_url", feed_url);
  return render(s, T_FEED, "feed.xml", ctx, err);
}

static enum ts_result sitemap(struct site *s, const json_t *paths,
                              struct ts_error *err)
{
  char day[21];
  ts_time_format(s->in->now, day);
  day[10] = '\0';
  struct ts_value_builder *b = page_begin(&s->main);
  struct ts_value lastmod = ts_value_strdup(b, day, strlen(day));
  struct ts_value urls = ts_value_array(b, json_array_size(paths));
  size_t i;
  json_t *p;
  json_array_foreach(paths, i, p)
  {
    const char *path = json_string_value(p);
    char loc[2048];
    snprintf(loc, sizeof loc, "%s%s", s->in->config->site.base_url,
             strcmp(path, "index.html") ? path : "");
    struct ts_value url = ts_value_object(b, 2);
    ts_value_add_copy(b, url, "loc", loc);
    ts_value_add(b, url, "lastmod", lastmod);
    ts_value_push(b, urls, url);
  }
  struct ts_value ctx = page_context(s, b, T_SITEMAP, "sitemap.xml",
                                     "Sitemap", NULL, false);
  ts_value_add(b, ctx, "urls", urls);
  return render(s, T_SITEMAP, "sitemap.xml", ctx, err);
}

static enum ts_result api_files(struct site *s, struct ts_error *err)
{
  /* The snapshot text is written on another thread while the pages
   * render: the files that copy it come last. */
  enum ts_result r = s->in->snapshot_wait
                         ? s->in->snapshot_wait(s->in->snapshot_ctx)
                         : TS_OK;
  if (r != TS_OK)
    return ts_error_set(err, r, "api/snapshot.json: %s",
                        r == TS_ERR_NOMEM ? "out of memory" : "not written");
  /* Its identity lets the history link it without reading it back. */
  if (!s->opts->dump_context)
    r = ts_publish_file_id(s->pub, "api/snapshot.json",
                           s->in->snapshot->data, s->in->snapshot->len,
                           &s->stats->snapshot_id, err);
  for (size_t k = 0; r == TS_OK && k < s->nregion_lists; k++) {
    size_t i = s->region_lists[k];
    r = region_api(s, &s->in->statuses[i], &s->index.lists[i], err);
  }
  struct ts_buf text;
  ts_buf_init(&text, 0);
  char when[21];
  ts_time_format(s->in->now, when);
  ts_buf_printf(&text, "{\"format\":\"trendsite-status\",\"version\":1,"
                "\"generated_at\":\"%s\",\"statuses\":", when);
  if (ts_snapshot_statuses_text(s->in->statuses, s->in->nstatuses, &text) !=
          TS_OK ||
      ts_buf_append_str(&text, "}\n") != TS_OK) {
    if (r == TS_OK)
      r = ts_error_set(err, TS_ERR_NOMEM, "api/status.json: out of memory");
  } else if (r == TS_OK) {
    r = emit(s, "api/status.json", ts_buf_cstr(&text), text.len, err);
  }
  ts_buf_cleanup(&text);

  /* The search index: short keys, one compact line; the browser loads it
   * on demand for instant search and filters. Written as text: a tree of
   * 30,000 entries took longer to build and dump than to use. */
  ts_buf_init(&text, 0);
  struct ts_json_writer w = {.b = &text};
  ts_json_open(&w, '{');
  ts_json_int_member(&w, "version", 1);
  ts_json_key(&w, "items");
  ts_json_open(&w, '[');
  for (size_t i = 0; i < s->in->nitems; i++) {
    const struct ts_item *it = &s->in->items[i];
    if (!ts_site_key_ok(it->key))
      continue;
    char page[96];
    item_page_url(it, page, sizeof page);
    ts_json_next(&w);
    ts_json_open(&w, '{');
    ts_json_str_member(&w, "t", it->title ? it->title : "");
    ts_json_str_member(&w, "u", page);
    ts_json_bool_member(&w, "k", it->kind == TS_ITEM_VIDEO);
    ts_json_str_member(&w, "a", it->author);
    ts_json_str_member(&w, "c", it->category);
    if (it->kind == TS_ITEM_VIDEO) {
      char codes[256] = "";
      size_t used = 0;
      for (uint32_t k = 0; k < it->npositions; k++) {
        const char *rc = it->positions[k].region;
        if (rc[0] && used + strlen(rc) + 2 < sizeof codes)
          used += (size_t)snprintf(codes + used, sizeof codes - used, "%s%s",
                                   used ? " " : "", rc);
      }
      if (used)
        ts_json_str_member(&w, "r", codes);
    }
    ts_json_close(&w, '}');
  }
  ts_json_close(&w, ']');
  ts_json_close(&w, '}');
  if (ts_buf_append_char(&text, '\n') != TS_OK || w.failed) {
    if (r == TS_OK)
      r = ts_error_set(err, TS_ERR_NOMEM, "api/search.json: out of memory");
  } else if (r == TS_OK) {
    r = emit(s, "api/search.json", ts_buf_cstr(&text), text.len, err);
  }
  ts_buf_cleanup(&text);
  return r;
}

/* ---- templates and assets ---------------------------------------------- */


/* Sets up `rd` and compiles every page template into an environment of
 * its own (a missing user folder means the built-in theme; build says
 * so). Gives up between templates once `*cancel` (if given) is set. */
static enum ts_result load_templates(const struct ts_site_options *opts,
                                     struct renderer *rd,
                                     const atomic_bool *cancel,
                                     struct ts_error *err)
{
  ts_buf_init(&rd->page, 0);
  ts_buf_init(&rd->svg, 64 * 1024);
  ts_arena_init(&rd->arena, 0);
  const char *dir = opts->templates_dir;
  if (dir && !ts_fs_is_dir(dir))
    dir = NULL;
  const char *dirs[1] = {dir};
  struct ts_mustache_options mo = {.dirs = dirs, .ndirs = dir ? 1 : 0};
  rd->env = ts_mustache_env_new(&mo);
  if (!rd->env)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  /* Built-in templates the user folder does not override. */
  enum ts_result fr = ts_theme_add_fallbacks(rd->env, dir, err);
  if (fr != TS_OK)
    return fr;
  for (int t = 0; t < T_COUNT; t++) {
    if (cancel && atomic_load_explicit(cancel, memory_order_relaxed))
      return ts_error_set(err, TS_ERR_INTERNAL, "templates: not needed");
    enum ts_result r =
        ts_mustache_compile_file(rd->env, template_names[t], &rd->tpl[t], err);
    if (r != TS_OK)
      return r;
    if (!rd->tpl[t])
      return ts_error_set(err, TS_ERR_NOTFOUND, "template %s.mustache not "
                          "found", template_names[t]);
  }
  return TS_OK;
}

/* site, run and nav are the same in every page and never change once
 * built: the renderer may remember what it found in them from one page
 * to the next. */
static enum ts_result freeze_common(struct site *s, struct renderer *rd,
                                    struct ts_error *err)
{
  if (ts_mustache_env_freeze(rd->env, s->site_obj) != TS_OK ||
      ts_mustache_env_freeze(rd->env, s->run_obj) != TS_OK ||
      ts_mustache_env_freeze(rd->env, s->nav_obj) != TS_OK)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  return TS_OK;
}

/* Copies assets/: the user's files, then built-in ones they lack. */
static enum ts_result copy_user_assets(struct site *s, const char *dir,
                                       const char *rel, unsigned depth,
                                       json_t *done, struct ts_error *err)
{
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  DIR *d = opendir(path);
  if (!d || depth > 8) {
    if (d)
      closedir(d);
    return TS_OK;
  }
  enum ts_result r = TS_OK;
  struct dirent *e;
  while (r == TS_OK && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char sub[PATH_MAX], full[PATH_MAX * 2];
    snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
    snprintf(full, sizeof full, "%s/%s", dir, sub);
    struct stat st;
    if (stat(full, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      r = copy_user_assets(s, dir, sub, depth + 1, done, err);
    } else if (S_ISREG(st.st_mode)) {
      char *data;
      size_t len;
      r = ts_fs_read(full, MAX_ASSET_BYTES, &data, &len, err);
      if (r == TS_OK) {
        r = emit(s, sub, data, len, err);
        free(data);
        put(done, sub, json_true());
      }
    }
  }
  closedir(d);
  return r;
}

static enum ts_result assets(struct site *s, struct ts_error *err)
{
  json_t *done = json_object();
  enum ts_result r = TS_OK;
  const char *dir = s->opts->templates_dir;
  if (dir && ts_fs_is_dir(dir))
    r = copy_user_assets(s, dir, "assets", 0, done, err);
  for (const struct ts_theme_file *f = ts_theme_files; r == TS_OK && f->path;
       f++) {
    if (strncmp(f->path, "assets/", 7) || json_object_get(done, f->path))
      continue;
    r = emit(s, f->path, f->data, f->len, err);
  }
  json_decref(done);
  return r;
}

/* ---- templates compiled ahead ------------------------------------------ */

/* Another renderer with a copy of `from`'s templates; false when out of
 * memory. */
static bool renderer_clone(const struct renderer *from, struct renderer *rd)
{
  ts_buf_init(&rd->page, 0);
  ts_buf_init(&rd->svg, 64 * 1024);
  ts_arena_init(&rd->arena, 0);
  rd->env = ts_mustache_env_clone(from->env, from->tpl, rd->tpl, T_COUNT);
  return rd->env != NULL;
}

static void prep_run(struct ts_site_prep *p, bool own_thread)
{
  for (unsigned k = 0; k < p->n && p->result == TS_OK; k++)
    if (k == 0 || !renderer_clone(&p->rds[0], &p->rds[k]))
      p->result = load_templates(&p->opts, &p->rds[k], &p->cancel, &p->err);
  if (p->locks) {
    mtx_lock(&p->lock);
    p->compiled = true;
    cnd_signal(&p->compiled_cv);
    mtx_unlock(&p->lock);
  }
  if (p->opts.idle_work)
    p->opts.idle_work(p->opts.idle_ctx, own_thread);
  if (!own_thread || !p->locks || p->n < 2)
    return;
  mtx_lock(&p->lock);
  while (!p->worker_posted && !atomic_load(&p->cancel))
    cnd_wait(&p->compiled_cv, &p->lock);
  struct worker *w = p->worker;
  mtx_unlock(&p->lock);
  if (!w)
    return;
  run_worker(w);
  mtx_lock(&p->lock);
  p->worker_done = true;
  cnd_broadcast(&p->compiled_cv);
  mtx_unlock(&p->lock);
}

/* Hands `w` to the prep's thread, if it takes one: see struct
 * ts_site_prep. */
static bool prep_take_worker(struct ts_site_prep *p, struct worker *w)
{
  /* Exactly when prep_run waits for one (running there: own_thread);
   * handing it to a thread that does not wait would hang this one. */
  if (!p || !p->running || !p->locks || p->n < 2 || p->worker_posted)
    return false;
  mtx_lock(&p->lock);
  p->worker = w;
  p->worker_posted = true;
  cnd_broadcast(&p->compiled_cv);
  mtx_unlock(&p->lock);
  return true;
}

static void prep_wait_worker(struct ts_site_prep *p)
{
  mtx_lock(&p->lock);
  while (!p->worker_done)
    cnd_wait(&p->compiled_cv, &p->lock);
  mtx_unlock(&p->lock);
}

static int prep_thread(void *arg)
{
  prep_run(arg, true);
  return 0;
}

/* The compiling's result, its error copied to `err`; once compiled. */
static enum ts_result prep_result(const struct ts_site_prep *p,
                                  struct ts_error *err)
{
  if (p->result != TS_OK)
    *err = p->err;
  return p->result;
}

/* Waits for the compiling thread; its error, if any. */
static enum ts_result prep_join(struct ts_site_prep *p, struct ts_error *err)
{
  if (p->running) {
    ts_thread_join(&p->thread);
    p->running = false;
  }
  return prep_result(p, err);
}

/* Waits for the templates only: the thread may still be doing the idle
 * work, which the pages need not wait for (it took up to 1 ms when the
 * three threads of a small render's start shared two processors). */
static enum ts_result prep_wait_compiled(struct ts_site_prep *p,
                                         struct ts_error *err)
{
  if (!p->locks || !p->running)
    return prep_join(p, err);
  mtx_lock(&p->lock);
  while (!p->compiled)
    cnd_wait(&p->compiled_cv, &p->lock);
  mtx_unlock(&p->lock);
  return prep_result(p, err);
}

struct ts_site_prep *ts_site_prepare(const struct ts_site_options *opts)
{
  if (opts->dump_context)
    return NULL; /* nothing to compile */
  struct ts_site_prep *p = calloc(1, sizeof *p);
  unsigned n = thread_count(opts);
  if (p)
    p->rds = calloc(n, sizeof *p->rds);
  if (!p || !p->rds) {
    free(p);
    return NULL; /* ts_site_build compiles them itself */
  }
  p->opts = *opts;
  p->opts.prepared = NULL;
  p->n = n;
  p->locks = ts_thread_sync_init(&p->lock, &p->compiled_cv);
  ts_cpu_plan(&p->cpus, n);
  p->running =
      ts_thread_start_on(&p->thread, prep_thread, p, &p->cpus, 1) == TS_OK;
  if (!p->running) {
    /* No thread to spare: compiled here all the same, and a thread
     * started for the rest of the render may go anywhere. */
    ts_cpu_plan_end(&p->cpus);
    prep_run(p, false);
  }
  return p;
}

void ts_site_prep_free(struct ts_site_prep *p)
{
  if (!p)
    return;
  atomic_store(&p->cancel, true); /* unused: stop compiling */
  if (p->locks) { /* and stop waiting for a worker to run */
    mtx_lock(&p->lock);
    cnd_broadcast(&p->compiled_cv);
    mtx_unlock(&p->lock);
  }
  struct ts_error ignored;
  prep_join(p, &ignored);
  ts_cpu_plan_end(&p->cpus);
  for (unsigned k = 0; k < p->n; k++)
    renderer_cleanup(&p->rds[k]);
  free(p->rds);
  if (p->locks)
    ts_thread_sync_destroy(&p->lock, &p->compiled_cv);
  free(p);
}

/* ---- the whole site ---------------------------------------------------- */

static enum ts_result build(struct site *s, struct ts_error *err)
{
  /* Dumping a context needs no template: it is what a template author
   * looks at while the templates are still being written. */
  enum ts_result r = TS_OK;
  const char *dir = s->opts->templates_dir;
  if (!s->opts->dump_context && dir && !ts_fs_is_dir(dir))
    ts_log_info(s->opts->log, "templates folder %s not found: using the "
                "built-in theme", dir); /* once, not once per thread */
  struct ts_site_prep *prep = s->opts->prepared;
  if (prep && prep->n > 0) {
    r = prep_wait_compiled(prep, err);
    if (r != TS_OK)
      return r;
    renderer_cleanup(&s->main);
    s->main = prep->rds[0];
    memset(&prep->rds[0], 0, sizeof prep->rds[0]);
  } else if (!s->opts->dump_context) {
    r = load_templates(s->opts, &s->main, NULL, err);
  }
  if (r != TS_OK)
    return r;
  r = build_common(s, err);
  if (r == TS_OK && !s->opts->dump_context)
    r = freeze_common(s, &s->main, err);
  if (r != TS_OK)
    return r;
  return all_pages(s, err);
}

/* Every page but the region and item pages, on the calling thread. */
static enum ts_result other_pages(struct site *s, struct ts_error *err)
{
  json_t *paths = json_array();
  json_array_append_new(paths, json_string("index.html"));
  enum ts_result r = index_page(s, err);
  if (r == TS_OK)
    r = news_page(s, err);
  if (r == TS_OK)
    r = status_page(s, err);
  if (r == TS_OK) {
    struct ts_value_builder *b = page_begin(&s->main);
    r = render(s, T_404, "404.html",
               page_context(s, b, T_404, "404.html", "Page not found", NULL,
                            false),
               err);
  }
  /* The sitemap lists every page a search engine should see. */
  for (size_t i = 0; i < s->in->nstatuses; i++) {
    const struct ts_status *st = &s->in->statuses[i];
    if (has_region_page(s, st)) {
      char page[64];
      region_page_url(st->region, page, sizeof page);
      json_array_append_new(paths, json_string(page));
    }
  }
  if (s->has_news)
    json_array_append_new(paths, json_string("news.html"));
  json_array_append_new(paths, json_string("status.html"));
  for (size_t i = 0; i < s->in->nitems; i++) {
    char page[96];
    if (item_page_url(&s->in->items[i], page, sizeof page))
      json_array_append_new(paths, json_string(page));
  }
  if (r == TS_OK)
    r = archive_pages(s, paths, err);
  if (r == TS_OK)
    r = feed(s, err);
  if (r == TS_OK)
    r = sitemap(s, paths, err);
  if (r == TS_OK) {
    char robots[64];
    snprintf(robots, sizeof robots, "robots.txt");
    struct ts_value_builder *b = page_begin(&s->main);
    struct ts_value ctx =
        page_context(s, b, T_ROBOTS, robots, "robots.txt", NULL, false);
    char sm[2048];
    snprintf(sm, sizeof sm, "%ssitemap.xml", s->in->config->site.base_url);
    ts_value_add_copy(b, ctx, "sitemap_url", sm);
    r = render(s, T_ROBOTS, robots, ctx, err);
  }
  if (r == TS_OK)
    r = api_files(s, err);
  if (r == TS_OK)
    r = emit(s, ".nojekyll", "", 0, err);
  if (r == TS_OK)
    r = assets(s, err);
  json_decref(paths);
  return r;
}

enum ts_result ts_site_build(const struct ts_site_input *in,
                             const struct ts_site_options *opts,
                             struct ts_site_stats *stats,
                             struct ts_error *err)
{
  struct ts_site_stats local;
  if (!stats)
    stats = &local;
  memset(stats, 0, sizeof *stats);
  struct site s = {.in = in, .opts = opts, .stats = stats};
  ts_arena_init(&s.arena, 0);
  /* Dumping a context loads no templates, which set these up. */
  ts_buf_init(&s.main.page, 0);
  ts_buf_init(&s.main.svg, 64 * 1024);
  ts_arena_init(&s.main.arena, 0);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  enum ts_result r = list_index_build(in->items, in->nitems, in->statuses,
                                      in->nstatuses, true, &s.index, err);

  if (r == TS_OK && !opts->dump_context)
    r = ts_publish_begin(opts->out_dir, opts->log, &s.pub, err);
  if (r == TS_OK)
    r = build(&s, err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  stats->render_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  if (s.pub) {
    if (r == TS_OK)
      r = ts_publish_commit_folders(s.pub, &stats->publish, &stats->folders,
                                    &stats->nfolders, err);
    else
      ts_publish_abort(s.pub);
  }
  if (r == TS_OK && opts->dump_context && !s.dump_found)
    r = ts_error_set(err, TS_ERR_NOTFOUND, "no page \"%s\" in this site "
                     "(try index.html, regions/US.html, status.html)",
                     opts->dump_context);
  list_index_free(&s.index);
  free(s.region_lists);

  stats->pages = s.main.pages;
  stats->skipped = s.main.skipped;
  /* The environment refers to the shared values: it goes first. */
  renderer_cleanup(&s.main);
  ts_arena_cleanup(&s.arena);
  json_decref(s.keys);
  if (stats == &local)
    ts_fs_free_names(local.folders, local.nfolders);
  return r;
}

/*
 * The site: every page, feed and JSON file, rendered from one merged
 * snapshot and the history, then published all at once.
 *
 * The page plan is fixed by DESIGN.md (index, one page per region and per
 * item, news, status, archive days, 404, feed, sitemap, robots.txt, the
 * JSON API and the theme's assets). For each page this module builds the
 * context its template receives (documented in docs/templates.md: display
 * strings, booleans for every branch, root-relative links), renders it
 * with the Mustache engine and hands the bytes to the publisher, which
 * swaps the finished tree in (see publish.h).
 *
 * Templates come from the configured folder first and from the built-in
 * theme (theme.h) for anything the folder lacks.
 */
#ifndef TS_SITE_H
#define TS_SITE_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "history.h"
#include "item.h"
#include "publish.h"
#include "snapshot.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

struct ts_site_input {
  const struct ts_config *config;
  const struct ts_item *items; /* merged, in ranking order */
  size_t nitems;
  const struct ts_status *statuses;
  size_t nstatuses;
  /* Recorded with `items` (ts_history_note indexes them); may be NULL. */
  const struct ts_history_update *history;
  const struct ts_history_options *history_opts; /* archive days */
  /* The text published as api/snapshot.json, and where each item's JSON
   * lies in it (NULL: written anew). They may still be being written
   * when ts_site_build starts, while the pages that do not need them
   * render: they are read on the calling thread only, once
   * snapshot_wait (when set) has returned TS_OK (else its result is the
   * build's error). */
  const struct ts_buf *snapshot;
  const struct ts_snapshot_span *item_spans;
  enum ts_result (*snapshot_wait)(void *ctx);
  void *snapshot_ctx;
  int64_t now;            /* the data's time (generated_at) */
};

struct ts_site_prep;

struct ts_site_options {
  const char *out_dir;
  const char *templates_dir;  /* user folder; NULL or missing: built-in */
  const struct ts_log *log;
  const char *dump_context;   /* print this page's context, write nothing */
  /* Templates compiled ahead by ts_site_prepare (NULL: compiled by
   * ts_site_build). Borrowed. */
  struct ts_site_prep *prepared;
  /* Optional: more work for ts_site_prepare's thread, which has nothing
   * to do between compiling and the pages. Called exactly once, after
   * compiling, on that thread (or in ts_site_prepare when no thread
   * could start); done when ts_site_prep_free returns. Not called when
   * ts_site_prepare returns NULL. `own_thread` says which: only on a
   * thread of its own may the work wait for the caller (which must then
   * release it before ts_site_prep_free). */
  void (*idle_work)(void *ctx, bool own_thread);
  void *idle_ctx;
};

struct ts_site_stats {
  size_t pages;  /* files rendered from templates */
  size_t skipped; /* items without a safe page id */
  struct ts_publish_stats publish;
  double render_ms;
  /* The published tree's folders, when the publisher knows them all
   * (see ts_publish_commit_folders), else NULL. The caller frees them
   * with ts_fs_free_names. */
  char **folders;
  size_t nfolders;
  /* api/snapshot.json as published (see ts_publish_file_id). */
  struct ts_fs_id snapshot_id;
};

/*
 * Renders and publishes the site. On failure nothing is published and the
 * previous output is untouched; `err` names the template (file:line:col)
 * or the file that failed. With dump_context, prints the page's context
 * as JSON to stdout instead (TS_ERR_NOTFOUND when there is no such page).
 */
enum ts_result ts_site_build(const struct ts_site_input *in,
                             const struct ts_site_options *opts,
                             struct ts_site_stats *stats,
                             struct ts_error *err);

/* Starts compiling the templates `opts` names, on a thread of its own, so
 * that it overlaps whatever the caller does before ts_site_build (the
 * up-to-date check, loading the snapshots): pass the result as
 * `prepared` in the options of that call, with the same templates
 * folder, and free it afterwards with ts_site_prep_free, also when the
 * site is not built after all (the compiling stops at the next template
 * and the thread is waited for). A template error is returned by
 * ts_site_build as if it had compiled them itself. After the compiling
 * and the idle work, the thread renders pages for ts_site_build as one of
 * its threads (TRENDSITE_THREADS counts it), or ends when
 * ts_site_prep_free comes first. NULL when there is nothing to compile
 * (dumping a context) or no memory: then ts_site_build compiles them. */
struct ts_site_prep *ts_site_prepare(const struct ts_site_options *opts);
void ts_site_prep_free(struct ts_site_prep *prep);

/* Whether `key` may name an item page (videos/KEY.html, stories/KEY.html). */
bool ts_site_key_ok(const char *key);

#endif

/*
 * The pipeline: the stages in order, as the commands run them.
 *
 *   fetch:  config -> fetch engine + source adapters -> normalize -> dedupe
 *           -> a snapshot (what `trendsite fetch` writes)
 *   render: snapshots -> last-good data for failed lists -> dedupe (merge)
 *           -> history -> site -> publish -> history committed
 *
 * `trendsite run` is fetch then render in one process, and it passes the
 * snapshot through its JSON form exactly as `render --from` reads it, so
 * sharded and unsharded runs give byte-identical sites.
 */
#ifndef TS_PIPELINE_H
#define TS_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

/* The exit status a run ends with (README.md, "Exit codes"). */
enum ts_outcome {
  TS_PUBLISHED = 0, /* published, every list fresh */
  TS_NOT_PUBLISHED = 2, /* nothing published; the old site is untouched */
  TS_PUBLISHED_STALE = 3 /* published; some lists failed or are stale */
};

struct ts_pipeline_options {
  const struct ts_config *config;
  const struct ts_log *log;
  const char *out_dir;        /* the output folder (--out or config) */
  unsigned shard_index;       /* 1-based; 1 of 1 for everything */
  unsigned shard_count;
  const char *dump_context;   /* render: print this page's context only */
  bool progress;              /* live fetch progress */
};

/*
 * Fetches this shard's lists and appends the snapshot's text to `out`. Fails only on errors that stop a run before any
 * request (out of memory, a broken state folder); a source that fails is
 * a failed list inside the snapshot, not an error here.
 */
enum ts_result ts_pipeline_fetch(const struct ts_pipeline_options *opts,
                                 int64_t now, struct ts_buf *out,
                                 struct ts_error *err);

/* A snapshot's text and the name it goes by in messages; borrowed. */
struct ts_pipeline_input {
  const char *name;
  const char *text;
  size_t len;
};

/*
 * Merges the snapshots, renders
 * and publishes the site, and commits the history. *outcome says what was
 * published. Returns an error (and TS_NOT_PUBLISHED) when the snapshots do
 * not fit together or the site cannot be built; the previous site is then
 * untouched.
 */
enum ts_result ts_pipeline_render(const struct ts_pipeline_options *opts,
                                  const struct ts_pipeline_input *inputs,
                                  size_t n, enum ts_outcome *outcome,
                                  struct ts_error *err);

#endif

#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "fetch.h"
#include "history.h"
#include "item.h"
#include "normalize.h"
#include "report.h"
#include "site.h"
#include "snapshot.h"
#include "sources/source.h"
#include "util/clock.h"
#include "util/fs.h"

/* ---- fetch ------------------------------------------------------------- */

enum ts_result ts_pipeline_fetch(const struct ts_pipeline_options *o,
                                 int64_t now, json_t **out,
                                 struct ts_error *err)
{
  const struct ts_config *cfg = o->config;
  enum ts_result r = ts_fs_mkdirs(cfg->state, err);
  if (r != TS_OK)
    return ts_error_prefix(err, "state folder");

  struct ts_fetch_options fo;
  ts_fetch_options_init(&fo);
  fo.concurrency = cfg->fetch.concurrency;
  fo.per_host = cfg->fetch.per_host;
  fo.rate = cfg->fetch.rate;
  fo.timeout_ms = cfg->fetch.timeout_ms;
  fo.connect_timeout_ms = cfg->fetch.connect_timeout_ms;
  fo.stall_ms = cfg->fetch.stall_ms;
  fo.deadline_ms = cfg->fetch.deadline_ms;
  fo.retries = cfg->fetch.retries;
  fo.backoff_ms = cfg->fetch.backoff_ms;
  fo.max_response_bytes = cfg->fetch.max_response_bytes;
  fo.cache_dir = cfg->state;
  fo.log = o->log;
  fo.progress = o->progress;
  struct ts_fetch *fetch = ts_fetch_new(&fo, err);
  if (!fetch)
    return err->code;

  struct ts_batch batch;
  ts_batch_init(&batch);
  unsigned unit = 0;
  struct ts_source_env env = {
    .fetch = fetch,
    .batch = &batch,
    .log = o->log,
    .state_dir = cfg->state,
    .now = now,
    .shard_index = o->shard_index ? o->shard_index : 1,
    .shard_count = o->shard_count ? o->shard_count : 1,
    .unit_counter = &unit,
  };
  struct ts_source **sources = calloc(cfg->nsources + 1, sizeof *sources);
  if (!sources) {
    ts_fetch_free(fetch);
    ts_batch_cleanup(&batch);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < cfg->nsources && r == TS_OK; i++) {
    if (cfg->sources[i].enabled)
      r = ts_source_start(&cfg->sources[i], &env, &sources[i], err);
  }
  if (r == TS_OK)
    r = ts_fetch_run(fetch, err);
  for (size_t i = 0; i < cfg->nsources; i++)
    ts_source_finish(sources[i]);
  char summary[256];
  ts_log_info(o->log, "%s", ts_fetch_summary(fetch, summary, sizeof summary));
  struct ts_quota quota;
  ts_quota_estimate(batch.statuses, batch.nstatuses, &quota);
  ts_quota_log(o->log, &quota);

  struct ts_item *merged = NULL;
  size_t nmerged = 0;
  if (r == TS_OK)
    r = ts_normalize_batch(&batch, NULL, NULL, err);
  if (r == TS_OK)
    r = ts_dedupe(&batch, &merged, &nmerged, NULL, err);
  if (r == TS_OK) {
    struct ts_snapshot_meta meta = {now, env.shard_index, env.shard_count};
    *out = ts_snapshot_build(merged, nmerged, batch.statuses, batch.nstatuses,
                             &meta);
    if (!*out)
      r = ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  free(merged);
  for (size_t i = 0; i < cfg->nsources; i++)
    ts_source_free(sources[i]);
  free(sources);
  ts_fetch_free(fetch);
  ts_batch_cleanup(&batch);
  return r;
}

/* ---- render ------------------------------------------------------------ */

static const char *list_name(const struct ts_status *s, char *buf, size_t n)
{
  snprintf(buf, n, "%s%s%s%s", s->source, s->region[0] ? "[" : "", s->region,
           s->region[0] ? "]" : "");
  return buf;
}

/* Loads every snapshot into `batch`; a list may come from one only. */
static enum ts_result load_all(const json_t *const *docs,
                               const char *const *names, size_t n,
                               struct ts_batch *batch, int64_t *now,
                               struct ts_error *err)
{
  *now = TS_TIME_UNKNOWN;
  for (size_t i = 0; i < n; i++) {
    size_t before = batch->nstatuses;
    size_t listed = json_array_size(json_object_get(docs[i], "statuses"));
    struct ts_snapshot_meta meta;
    enum ts_result r = ts_snapshot_load(names[i], docs[i], batch, &meta, err);
    if (r != TS_OK)
      return r;
    if (batch->nstatuses - before != listed)
      return ts_error_set(err, TS_ERR_PARSE,
                          "%s: has lists that another snapshot already has: "
                          "render --from takes the shards of one run, each "
                          "once",
                          names[i]);
    if (meta.generated_at > *now || *now == TS_TIME_UNKNOWN)
      *now = meta.generated_at;
  }
  return TS_OK;
}

enum ts_result ts_pipeline_render(const struct ts_pipeline_options *o,
                                  const json_t *const *snapshots,
                                  const char *const *names, size_t n,
                                  enum ts_outcome *outcome,
                                  struct ts_error *err)
{
  const struct ts_config *cfg = o->config;
  *outcome = TS_NOT_PUBLISHED;
  struct ts_batch batch;
  ts_batch_init(&batch);
  int64_t now;
  enum ts_result r = load_all(snapshots, names, n, &batch, &now, err);
  struct ts_history_options ho = {
    .state_dir = cfg->state,
    .history_days = cfg->history_days,
    .stale_after_hours = cfg->stale_after_hours,
    .now = now,
    .log = o->log,
  };
  if (r == TS_OK)
    r = ts_history_fill_stale(&ho, &batch, err);

  /* Every list failed with nothing to fall back on: publishing would
   * replace a good site with an empty one. */
  size_t fresh = 0, stale = 0, failed = 0;
  for (size_t i = 0; i < batch.nstatuses; i++) {
    fresh += batch.statuses[i].state == TS_STATUS_OK;
    stale += batch.statuses[i].state == TS_STATUS_STALE;
    failed += batch.statuses[i].state == TS_STATUS_FAILED;
  }
  if (r == TS_OK && batch.nstatuses > 0 && fresh + stale == 0 &&
      !o->dump_context) {
    char first[64];
    r = ts_error_set(err, TS_ERR_NETWORK,
                     "every list failed (%zu of %zu; first: %s: %s) and none "
                     "has last-good data: nothing published, the previous "
                     "site is untouched",
                     failed, batch.nstatuses,
                     list_name(&batch.statuses[0], first, sizeof first),
                     batch.statuses[0].reason ? batch.statuses[0].reason
                                              : "unknown");
  }

  struct ts_item *merged = NULL;
  size_t nmerged = 0;
  if (r == TS_OK)
    r = ts_dedupe(&batch, &merged, &nmerged, NULL, err);
  json_t *published = NULL;
  if (r == TS_OK) {
    struct ts_snapshot_meta meta = {now, 1, 1};
    published = ts_snapshot_build(merged, nmerged, batch.statuses,
                                  batch.nstatuses, &meta);
    if (!published)
      r = ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  struct ts_history_update *update = NULL;
  if (r == TS_OK)
    r = ts_history_record(&ho, merged, nmerged, batch.statuses,
                          batch.nstatuses, &update, err);
  struct ts_site_stats stats;
  memset(&stats, 0, sizeof stats);
  if (r == TS_OK) {
    struct ts_site_input in = {
      .config = cfg,
      .items = merged,
      .nitems = nmerged,
      .statuses = batch.statuses,
      .nstatuses = batch.nstatuses,
      .history = update,
      .history_opts = &ho,
      .snapshot = published,
      .now = now,
    };
    struct ts_site_options so = {
      .out_dir = o->out_dir ? o->out_dir : cfg->output,
      .templates_dir = cfg->templates,
      .log = o->log,
      .dump_context = o->dump_context,
    };
    r = ts_site_build(&in, &so, &stats, err);
  }
  if (r == TS_OK && !o->dump_context) {
    /* Only a published site moves the history forward. */
    r = ts_history_commit(&ho, update, published, err);
    if (r != TS_OK)
      ts_error_prefix(err, "the site was published, but the history was not "
                      "saved");
    const struct ts_publish_stats *p = &stats.publish;
    ts_log_info(o->log,
                "published %zu files to %s/ (%zu written, %zu unchanged, "
                "%zu removed) from %zu items in %.0f ms",
                p->files, o->out_dir ? o->out_dir : cfg->output, p->written,
                p->unchanged, p->removed, nmerged, stats.render_ms);
    *outcome = stale + failed ? TS_PUBLISHED_STALE : TS_PUBLISHED;
    if (r != TS_OK)
      *outcome = TS_PUBLISHED_STALE;
  }
  if (r == TS_OK && o->dump_context)
    *outcome = TS_PUBLISHED;
  if (!o->dump_context) {
    char headline[TS_ERROR_MAX + 64];
    if (*outcome == TS_NOT_PUBLISHED)
      snprintf(headline, sizeof headline, "Nothing published: %s",
               err ? err->msg : "error");
    else
      snprintf(headline, sizeof headline, "Published %zu files (%zu written, "
               "%zu unchanged)%s.", stats.publish.files, stats.publish.written,
               stats.publish.unchanged,
               *outcome == TS_PUBLISHED_STALE
                   ? ", some lists failed or show last-good data"
                   : "");
    struct ts_quota quota;
    ts_quota_estimate(batch.statuses, batch.nstatuses, &quota);
    struct ts_error serr;
    if (ts_report_github_summary(headline, batch.statuses, batch.nstatuses,
                                 &quota, &serr) != TS_OK)
      ts_log_warn(o->log, "run summary: %s", serr.msg);
  }
  ts_history_update_free(update);
  json_decref(published);
  free(merged);
  ts_batch_cleanup(&batch);
  return r;
}

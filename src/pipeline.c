#include "pipeline.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "dedupe.h"
#include "fingerprint.h"
#include "fetch.h"
#include "history.h"
#include "item.h"
#include "normalize.h"
#include "report.h"
#include "site.h"
#include "snapshot.h"
#include "sources/source.h"
#include "theme.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/json_arena.h"
#include "util/thread.h"
#include "version.h"

/* ---- fetch ------------------------------------------------------------- */

/* Each list's `items` is the number of distinct items it listed: a video
 * on two pages of one chart (YouTube recomputes charts while they are
 * paged) counts once, as dedupe merged it. */
static void count_items(struct ts_batch *batch, const struct ts_item *merged,
                        size_t n)
{
  json_t *ids = json_object();
  for (size_t i = 0; ids && i < batch->nstatuses; i++) {
    char key[64];
    snprintf(key, sizeof key, "%s/%s", batch->statuses[i].source,
             batch->statuses[i].region);
    json_object_set_new(ids, key, json_integer((json_int_t)i));
    batch->statuses[i].items = 0;
  }
  for (size_t i = 0; ids && i < n; i++) {
    for (uint32_t k = 0; k < merged[i].npositions; k++) {
      char key[64];
      snprintf(key, sizeof key, "%s/%s", merged[i].positions[k].source,
               merged[i].positions[k].region);
      json_t *at = json_object_get(ids, key);
      if (at)
        batch->statuses[json_integer_value(at)].items++;
    }
  }
  json_decref(ids);
}

enum ts_result ts_pipeline_fetch(const struct ts_pipeline_options *o,
                                 int64_t now, struct ts_buf *out,
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
  if (r == TS_OK)
    count_items(&batch, merged, nmerged);
  if (r == TS_OK) {
    struct ts_snapshot_meta meta = {now, env.shard_index, env.shard_count};
    if (ts_snapshot_text(merged, nmerged, batch.statuses, batch.nstatuses,
                         &meta, out) != TS_OK)
      r = ts_error_set(err, TS_ERR_NOMEM, "snapshot: out of memory");
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

/* The work of the run's second thread: the published snapshot's text,
 * then the history's files. Both only read the merged items (and the
 * update), while the calling thread records the history and renders the
 * site. One thread does both so that the files are under way as soon as
 * the text is written, in time a processor otherwise sat idle before the
 * pages. That thread is the template compiler's when it has one (see
 * idle_job), which then goes on to render pages. */
struct snapshot_job {
  const struct ts_item *items;
  size_t nitems;
  const struct ts_status *statuses;
  size_t nstatuses;
  struct ts_snapshot_meta meta;
  struct ts_buf *out;
  struct ts_snapshot_span *spans; /* may be NULL */
  enum ts_result result;          /* the text's, once text_done */
  /* The history's files (ts_history_stage: written now, renamed into
   * place by the commit, which redoes whatever failed here) from the
   * update the calling thread hands over; NULL: none to write. */
  const struct ts_history_options *history_opts;
  struct ts_history_update *update;
  bool handed;    /* `update` is set */
  bool text_done; /* `result` is set */
  mtx_t lock;
  cnd_t cv;
  bool locks;   /* lock and cv made */
  struct ts_thread thread;
  bool running;   /* on another thread, not waited for yet */
  bool on_helper; /* that thread is the template compiler's (idle_job) */
  bool finished;  /* the helper is done with the job */
};

static enum ts_result snapshot_text(struct snapshot_job *j)
{
  return ts_snapshot_text_spans(j->items, j->nitems, j->statuses,
                                j->nstatuses, &j->meta, j->out, j->spans);
}

static int snapshot_run(void *arg)
{
  struct snapshot_job *j = arg;
  enum ts_result r = snapshot_text(j);
  mtx_lock(&j->lock);
  j->result = r;
  j->text_done = true;
  cnd_broadcast(&j->cv);
  while (!j->handed)
    cnd_wait(&j->cv, &j->lock);
  struct ts_history_update *update = j->update;
  mtx_unlock(&j->lock);
  if (update) {
    struct ts_error ignored;
    if (r == TS_OK && j->spans && j->nitems)
      ts_history_use_published(update, j->out->data, j->spans);
    ts_history_stage(j->history_opts, update, &ignored);
  }
  if (j->on_helper) {
    mtx_lock(&j->lock);
    j->finished = true;
    cnd_broadcast(&j->cv);
    mtx_unlock(&j->lock);
  }
  return 0;
}

struct idle_job;
static bool idle_take_job(struct idle_job *idle, struct snapshot_job *j);

/* Hands the job to the template compiler's thread once it is done with
 * its own (`idle`, may be NULL), or starts a thread for it; without
 * either the text is written here, and the commit writes the history's
 * files itself. */
static void snapshot_start(struct snapshot_job *j, struct idle_job *idle)
{
  j->locks = ts_thread_sync_init(&j->lock, &j->cv);
  /* Set before the job is handed over: the helper reads them. */
  j->running = j->on_helper = true;
  if (j->locks && idle && idle_take_job(idle, j))
    return;
  j->on_helper = false;
  j->running = j->locks &&
               ts_thread_start(&j->thread, snapshot_run, j) == TS_OK;
  if (!j->running) {
    j->result = snapshot_text(j);
    j->text_done = true;
  }
}

/* Hands the recorded history's update to the job (NULL: no files to
 * write); once, before snapshot_finish. */
static void snapshot_hand(struct snapshot_job *j,
                          struct ts_history_update *update)
{
  if (!j->running)
    return;
  mtx_lock(&j->lock);
  j->update = update;
  j->handed = true;
  cnd_broadcast(&j->cv);
  mtx_unlock(&j->lock);
}

/* The snapshot text, once written (the site's snapshot_wait). */
static enum ts_result snapshot_wait(void *arg)
{
  struct snapshot_job *j = arg;
  if (j->running) {
    mtx_lock(&j->lock);
    while (!j->text_done)
      cnd_wait(&j->cv, &j->lock);
    mtx_unlock(&j->lock);
  }
  return j->result;
}

/* Waits for the whole job (handing it no update if none was handed) and
 * returns the text's result. */
static enum ts_result snapshot_finish(struct snapshot_job *j)
{
  if (j->running) {
    mtx_lock(&j->lock);
    j->handed = true; /* no-op when snapshot_hand ran: update stays */
    cnd_broadcast(&j->cv);
    while (j->on_helper && !j->finished)
      cnd_wait(&j->cv, &j->lock);
    mtx_unlock(&j->lock);
    if (!j->on_helper)
      ts_thread_join(&j->thread);
    j->running = false;
  }
  if (j->locks) {
    ts_thread_sync_destroy(&j->lock, &j->cv);
    j->locks = false;
  }
  return j->result;
}

/* Logs how long the stage that just ended took (-v), and restarts the
 * clock: where a run spends its time is the first question about it. */
static void stage_done(const struct ts_log *log, const char *stage,
                       struct timespec *since)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  ts_log_debug(log, "render: %s: %.1f ms", stage,
               (double)(now.tv_sec - since->tv_sec) * 1e3 +
                   (double)(now.tv_nsec - since->tv_nsec) / 1e6);
  *since = now;
}

static const char *list_name(const struct ts_status *s, char *buf, size_t n)
{
  snprintf(buf, n, "%s%s%s%s", s->source, s->region[0] ? "[" : "", s->region,
           s->region[0] ? "]" : "");
  return buf;
}

/* Loads every snapshot into `batch`; a list may come from one only. */
static enum ts_result load_all(const struct ts_pipeline_input *in, size_t n,
                               struct ts_batch *batch, int64_t *now,
                               struct ts_error *err)
{
  *now = TS_TIME_UNKNOWN;
  for (size_t i = 0; i < n; i++) {
    struct ts_snapshot_meta meta;
    if (batch->nitems == 0 && batch->nstatuses == 0) {
      /* Nothing to collide with yet: straight into the batch, without a
       * second copy of everything (most renders read one snapshot). */
      enum ts_result r = ts_snapshot_parse(in[i].name, in[i].text,
                                           in[i].len, batch, &meta, err);
      if (r != TS_OK)
        return r;
      if (meta.generated_at > *now || *now == TS_TIME_UNKNOWN)
        *now = meta.generated_at;
      continue;
    }
    /* Load into a batch of its own first, to see whether any of its lists
     * is already known. */
    struct ts_batch one;
    ts_batch_init(&one);
    enum ts_result r = ts_snapshot_parse(in[i].name, in[i].text, in[i].len,
                                         &one, &meta, err);
    for (size_t k = 0; r == TS_OK && k < one.nstatuses; k++) {
      const struct ts_status *st = &one.statuses[k];
      size_t before = batch->nstatuses;
      struct ts_status *to = ts_batch_status(batch, st->source, st->type,
                                             st->region);
      if (!to)
        r = ts_error_set(err, TS_ERR_NOMEM, "out of memory");
      else if (batch->nstatuses == before)
        r = ts_error_set(err, TS_ERR_PARSE,
                         "%s: list %s%s%s%s is also in another snapshot: "
                         "render --from takes the shards of one run, each "
                         "once", in[i].name, st->source,
                         st->region[0] ? "[" : "", st->region,
                         st->region[0] ? "]" : "");
      else {
        const char *source = to->source, *type = to->type;
        *to = *st;
        to->source = source;
        to->type = type;
        to->reason = st->reason ? ts_batch_str(batch, st->reason) : NULL;
      }
    }
    for (size_t k = 0; r == TS_OK && k < one.nitems; k++)
      if (!ts_batch_copy_item(batch, &one.items[k]))
        r = ts_error_set(err, TS_ERR_NOMEM, "out of memory");
    ts_batch_cleanup(&one);
    if (r != TS_OK)
      return r;
    if (meta.generated_at > *now || *now == TS_TIME_UNKNOWN)
      *now = meta.generated_at;
  }
  return TS_OK;
}

/* A list's place in the config: sources in order, each one's regions in
 * order (the order `trendsite run` creates statuses in); SIZE_MAX when the
 * config no longer has it. */
static size_t config_rank(const struct ts_config *cfg,
                          const struct ts_status *s)
{
  size_t rank = 0;
  for (size_t i = 0; i < cfg->nsources; i++) {
    const struct ts_config_source *src = &cfg->sources[i];
    bool same = !strcmp(src->name, s->source);
    if (src->nregions == 0 && same && !s->region[0])
      return rank;
    for (size_t k = 0; k < src->nregions; k++)
      if (same && !strcmp(src->regions[k], s->region))
        return rank + k;
    rank += src->nregions ? src->nregions : 1;
  }
  return SIZE_MAX;
}

struct status_order {
  size_t rank, index;
  const struct ts_status *status;
};

static int compare_status_order(const void *a, const void *b)
{
  const struct status_order *x = a, *y = b;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  int c = strcmp(x->status->source, y->status->source);
  if (!c)
    c = strcmp(x->status->region, y->status->region);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Shards come in any order and each lists only its own lists: put the
 * statuses in config order, so that every page and file that lists them
 * is the same as from one unsharded run. */
static enum ts_result sort_statuses(const struct ts_config *cfg,
                                    struct ts_batch *batch,
                                    struct ts_error *err)
{
  size_t n = batch->nstatuses;
  if (n < 2)
    return TS_OK;
  struct status_order *order = calloc(n, sizeof *order);
  struct ts_status *sorted = calloc(n, sizeof *sorted);
  if (!order || !sorted) {
    free(order);
    free(sorted);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++)
    order[i] = (struct status_order){config_rank(cfg, &batch->statuses[i]),
                                     i, &batch->statuses[i]};
  qsort(order, n, sizeof *order, compare_status_order);
  for (size_t i = 0; i < n; i++)
    sorted[i] = batch->statuses[order[i].index];
  memcpy(batch->statuses, sorted, n * sizeof *sorted);
  free(order);
  free(sorted);
  return TS_OK;
}

/* ---- up to date? --------------------------------------------------------- */

/* Everything the rendered site depends on (see fingerprint.h) but the
 * history, which a publish changes: *fp is what the run's fingerprint
 * starts from, before and after the history moves on. */
static void render_fingerprint_base(const struct ts_pipeline_options *o,
                                    const struct ts_pipeline_input *in,
                                    size_t n, struct ts_fingerprint *out)
{
  const struct ts_config *cfg = o->config;
  struct ts_fingerprint fp;
  ts_fingerprint_init(&fp);
  ts_fingerprint_add_str(&fp, "trendsite " TS_VERSION);
  for (const struct ts_theme_file *f = ts_theme_files; f->path; f++) {
    ts_fingerprint_add_str(&fp, f->path);
    ts_fingerprint_add(&fp, f->data, f->len);
  }
  ts_fingerprint_add_tree(&fp, cfg->templates);
  const char *fields[] = {cfg->site.title, cfg->site.description,
                          cfg->site.base_url, cfg->site.language,
                          cfg->templates,
                          o->out_dir ? o->out_dir : cfg->output};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    ts_fingerprint_add_str(&fp, fields[i]);
  ts_fingerprint_add_int(&fp, cfg->history_days);
  ts_fingerprint_add_int(&fp, cfg->stale_after_hours);
  for (size_t i = 0; i < n; i++)
    ts_fingerprint_add(&fp, in[i].text, in[i].len);
  *out = fp;
}

/* About the bytes the history's arena fills on a first run: 1.5 KB an
 * item (545 KB for 374 items, 45 MB for 30,792), counting an item a line
 * as trendsite writes snapshots, and at most 1.5 times the snapshots'
 * bytes when they were written another way. A kept history fills more;
 * the rest faults in as it is used. */
#define HISTORY_ITEM_BYTES 1536
static size_t history_estimate(const struct ts_pipeline_input *in, size_t n)
{
  size_t lines = 0, bytes = 0;
  for (size_t i = 0; i < n; i++) {
    if (!in[i].len)
      continue;
    bytes += in[i].len;
    const char *p = in[i].text, *end = p + in[i].len;
    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
      lines++;
      p++;
    }
  }
  size_t by_lines = lines * HISTORY_ITEM_BYTES, by_bytes = bytes / 2 * 3;
  return by_lines < by_bytes ? by_lines : by_bytes;
}

/* Work for the template compiler's thread once the templates are
 * compiled, while this thread loads the snapshots: it faults in the
 * memory the history will be built in (on a small site that was most of
 * the time this thread took to record the history: a page fault per 4
 * KB), then, without a record of a previous publish, works out
 * render_fingerprint_base. */
struct idle_job {
  const struct ts_pipeline_options *o;
  const struct ts_pipeline_input *inputs;
  size_t n;
  const struct ts_json_arena *arena; /* the history's, or NULL */
  bool fingerprint;                  /* whether to work out `base` */
  struct ts_fingerprint base;
  bool done;                         /* `base` is worked out */
  /* Then, on a thread of its own, the snapshot job (snapshot_start),
   * rather than a third thread: a new thread was queued on the processor
   * where this one still worked, and pushed it off that processor while
   * the calling thread waited for the templates it was finishing. */
  bool started;              /* ts_site_prepare called it or will */
  bool inline_ran;           /* ran in ts_site_prepare: takes no job */
  bool posted;               /* `job` is set (NULL: no job) */
  struct snapshot_job *job;
  mtx_t lock;
  cnd_t cv;
  bool locks;
};

static void idle_job_run(void *arg, bool own_thread)
{
  struct idle_job *j = arg;
  if (j->arena)
    ts_json_arena_prefault(j->arena, history_estimate(j->inputs, j->n));
  if (j->fingerprint) {
    render_fingerprint_base(j->o, j->inputs, j->n, &j->base);
    j->done = true;
  }
  if (!own_thread) {
    j->inline_ran = true; /* on the calling thread, in ts_site_prepare */
    return;
  }
  if (!j->locks)
    return; /* idle_take_job hands it nothing */
  mtx_lock(&j->lock);
  while (!j->posted)
    cnd_wait(&j->cv, &j->lock);
  struct snapshot_job *job = j->job;
  mtx_unlock(&j->lock);
  if (job)
    snapshot_run(job);
}

/* Gives the idle job its snapshot job (NULL: none); once. */
static void idle_post(struct idle_job *idle, struct snapshot_job *job)
{
  mtx_lock(&idle->lock);
  idle->job = job;
  idle->posted = true;
  cnd_broadcast(&idle->cv);
  mtx_unlock(&idle->lock);
}

/* Whether the idle job's thread waits for a job (idle_job_run): it runs
 * on a thread of its own and nothing was posted yet. */
static bool idle_waits(const struct idle_job *idle)
{
  return idle->locks && idle->started && !idle->inline_ran && !idle->posted;
}

/* Whether the idle job's thread takes `job` (false: start one for it). */
static bool idle_take_job(struct idle_job *idle, struct snapshot_job *job)
{
  if (!idle_waits(idle))
    return false;
  idle_post(idle, job);
  return true;
}

/* Lets the idle job's thread finish: it waits for a job until posted. */
static void idle_release(struct idle_job *idle)
{
  if (idle_waits(idle))
    idle_post(idle, NULL);
}

/* The arena the history is built in (see ts_pipeline_render), or NULL
 * when its address space cannot be reserved: the history then comes
 * from malloc. */
static struct ts_json_arena *history_arena(void)
{
  struct ts_json_arena *a;
  return ts_json_arena_new((size_t)1 << 30, &a) == TS_OK ? a : NULL;
}

/* Starts compiling the templates (ts_site_prepare) with `idle` as the
 * compiling thread's work once they are compiled, and returns the
 * history's arena that it faults in (NULL, and nothing started, for
 * --dump-context, which compiles nothing ahead). */
static struct ts_json_arena *start_templates(struct ts_site_options *so,
                                             struct idle_job *idle)
{
  if (so->dump_context)
    return NULL;
  struct ts_json_arena *arena = history_arena();
  idle->arena = arena;
  idle->locks = ts_thread_sync_init(&idle->lock, &idle->cv);
  so->idle_work = idle_job_run;
  so->idle_ctx = idle;
  so->prepared = ts_site_prepare(so);
  idle->started = so->prepared != NULL;
  so->idle_work = NULL;
  so->idle_ctx = NULL;
  return arena;
}

/* The whole fingerprint: `base` and the history as it is now. */
static void render_fingerprint(const struct ts_pipeline_options *o,
                               struct ts_fingerprint base, char hex[33])
{
  char history[4096];
  snprintf(history, sizeof history, "%s/history", o->config->state);
  ts_fingerprint_add_tree(&base, history);
  ts_fingerprint_hex(&base, hex);
}

static void site_record_path(const struct ts_config *cfg, char *out,
                             size_t size)
{
  snprintf(out, size, "%s/site.json", cfg->state);
}

/* What the last publish left in the state folder (site.json): the
 * run's fingerprint, the output folder's folders and their fingerprint,
 * and how that run ended. */
struct site_record {
  json_t *doc; /* owns the strings below */
  const char *fingerprint, *output;
  json_t *folders; /* array of paths under the output folder */
  json_int_t outcome;
};

/* The last publish's record; false when there is none (or it is not one
 * this version wrote: the next publish replaces it). */
static bool read_record(const struct ts_pipeline_options *o,
                        struct site_record *out)
{
  char path[4096];
  site_record_path(o->config, path, sizeof path);
  json_t *doc = json_load_file(path, 0, NULL);
  *out = (struct site_record){
    .doc = doc,
    .fingerprint = json_string_value(json_object_get(doc, "fingerprint")),
    .output = json_string_value(json_object_get(doc, "output")),
    .folders = json_object_get(doc, "folders"),
    .outcome = json_integer_value(json_object_get(doc, "outcome")),
  };
  if (!out->fingerprint || !out->output || !json_is_array(out->folders)) {
    json_decref(doc);
    out->doc = NULL;
    return false;
  }
  return true;
}

static void record_cleanup(struct site_record *rec)
{
  json_decref(rec->doc);
  rec->doc = NULL;
}

/* Whether the last publish (`rec`) had this fingerprint and its output
 * folder is still as it left it; *outcome is then what that run ended
 * with. The output folder is checked by its folders, one stat each: a
 * file added, removed, renamed or replaced anywhere in it (a deleted or
 * restored folder, a checkout) changes one of their times. Looking at
 * every file as well cost more than all the rest of an unchanged run. */
static bool up_to_date(const struct ts_pipeline_options *o,
                       const struct site_record *rec, const char *hex,
                       enum ts_outcome *outcome)
{
  if (strcmp(rec->fingerprint, hex))
    return false;
  size_t n = json_array_size(rec->folders);
  const char **names = calloc(n ? n : 1, sizeof *names);
  bool same = names != NULL;
  for (size_t i = 0; same && i < n; i++)
    same = (names[i] = json_string_value(json_array_get(rec->folders, i)));
  char now[33];
  const char *out = o->out_dir ? o->out_dir : o->config->output;
  same = same && ts_fingerprint_folders_hex(out, names, n, now) &&
         !strcmp(now, rec->output);
  free(names);
  if (same)
    *outcome = rec->outcome == TS_PUBLISHED_STALE ? TS_PUBLISHED_STALE
                                                  : TS_PUBLISHED;
  return same;
}

/* Saves what the next run compares with. A failure only costs the next
 * run its shortcut. `known` (`nknown` of them, or NULL) are the output
 * folder's folders as the publisher made them: marked as they are, they
 * spare a walk that would list every file of the site too. */
static void record_site(const struct ts_pipeline_options *o,
                        struct ts_fingerprint base, enum ts_outcome outcome,
                        char **known, size_t nknown)
{
  const char *out = o->out_dir ? o->out_dir : o->config->output;
  char hex[33], output[33], path[4096];
  render_fingerprint(o, base, hex);
  size_t n = 0;
  char **names = NULL;
  if (known && ts_fingerprint_mark_folders(out, (const char *const *)known,
                                           nknown)) {
    names = known;
    n = nknown;
  } else {
    names = ts_fingerprint_folders(out, true, &n);
  }
  json_t *folders = json_array();
  for (size_t i = 0; folders && i < n; i++)
    if (json_array_append_new(folders, json_string(names[i])) != 0) {
      json_decref(folders);
      folders = NULL;
    }
  json_t *rec = NULL;
  const char *const *list = (const char *const *)names;
  if (names && folders && ts_fingerprint_folders_hex(out, list, n, output))
    rec = json_pack("{s:s, s:s, s:O, s:i}", "fingerprint", hex, "output",
                    output, "folders", folders, "outcome", (int)outcome);
  json_decref(folders);
  if (names != known)
    ts_fs_free_names(names, n);
  char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
  site_record_path(o->config, path, sizeof path);
  if (text)
    ts_fs_write_atomic(path, text, strlen(text), NULL);
  else
    unlink(path); /* no shortcut next time rather than a stale one */
  free(text);
  json_decref(rec);
}

enum ts_result ts_pipeline_render(const struct ts_pipeline_options *o,
                                  const struct ts_pipeline_input *inputs,
                                  size_t n, enum ts_outcome *outcome,
                                  struct ts_error *err)
{
  const struct ts_config *cfg = o->config;
  *outcome = TS_NOT_PUBLISHED;
  struct ts_site_options so = {
    .out_dir = o->out_dir ? o->out_dir : cfg->output,
    .templates_dir = cfg->templates,
    .log = o->log,
    .dump_context = o->dump_context,
  };
  /* The templates compile on a thread of their own while this one loads
   * the snapshots, from the moment the site is known to need rendering:
   * at once when no publish left a record (jansson's allocator is set
   * up first, while one thread runs). */
  ts_json_arena_install();
  struct site_record rec;
  bool recorded = !o->dump_context && read_record(o, &rec);
  /* Without a record there is nothing to compare with: the fingerprint
   * is needed only for the new record, and the compiling thread works
   * it out once the templates are compiled, off this thread's path. That
   * thread first faults in the history's memory (idle_job). */
  struct idle_job idle = {
      .o = o, .inputs = inputs, .n = n, .fingerprint = !recorded};
  struct ts_json_arena *hist_arena = NULL;
  if (!recorded)
    hist_arena = start_templates(&so, &idle);
  /* Unchanged data, history, templates and configuration render to the
   * site already published: nothing to do. */
  struct ts_fingerprint base;
  ts_fingerprint_init(&base);
  if (recorded) {
    char fingerprint[33];
    render_fingerprint_base(o, inputs, n, &base);
    render_fingerprint(o, base, fingerprint);
    bool same = up_to_date(o, &rec, fingerprint, outcome);
    record_cleanup(&rec);
    if (same) {
      ts_log_info(o->log, "%s/ is up to date: the same data, history, "
                  "templates and configuration as the last run",
                  o->out_dir ? o->out_dir : cfg->output);
      struct ts_error serr;
      ts_report_github_summary("Unchanged since the last run: the site is "
                               "up to date.", NULL, 0, NULL, &serr);
      return TS_OK;
    }
  }
  if (recorded)
    hist_arena = start_templates(&so, &idle);
  struct ts_batch batch;
  ts_batch_init(&batch);
  int64_t now;
  struct timespec clock;
  clock_gettime(CLOCK_MONOTONIC, &clock);
  enum ts_result r = load_all(inputs, n, &batch, &now, err);
  if (r == TS_OK)
    r = sort_statuses(cfg, &batch, err);
  stage_done(o->log, "load snapshots", &clock);
  struct ts_history_options ho = {
    .state_dir = cfg->state,
    .history_days = cfg->history_days,
    .stale_after_hours = cfg->stale_after_hours,
    .now = now,
    .log = o->log,
  };
  if (r == TS_OK)
    r = ts_history_fill_stale(&ho, &batch, err);
  stage_done(o->log, "last-good data", &clock);

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
  stage_done(o->log, "merge", &clock);
  struct ts_buf published;
  ts_buf_init(&published, 0);
  /* Where each item lies in the snapshot: the region files copy it. */
  struct ts_snapshot_span *spans = NULL;
  if (r == TS_OK && nmerged &&
      !(spans = malloc(nmerged * sizeof *spans)))
    r = ts_error_set(err, TS_ERR_NOMEM, "snapshot: out of memory");
  /* The history (every item's record, tens of MB of small JSON values
   * for a large site) is built in an arena of its own and dropped at the
   * end in one go: freeing it value by value took a tenth of a render.
   * It was made as the templates began to compile, unless nothing did. */
  if (!hist_arena)
    hist_arena = history_arena();
  if (hist_arena) {
    ts_json_arena_begin(hist_arena);
    ts_json_arena_hold(hist_arena);
  }
  /* The snapshot text is written on the second thread while this one
   * records the history; that thread then writes the history's files. */
  struct snapshot_job job = {
      .items = merged,
      .nitems = nmerged,
      .statuses = batch.statuses,
      .nstatuses = batch.nstatuses,
      .meta = {now, 1, 1},
      .out = &published,
      .spans = spans,
      .history_opts = &ho,
  };
  if (r == TS_OK)
    snapshot_start(&job, &idle);
  struct ts_history_update *update = NULL;
  if (r == TS_OK)
    r = ts_history_record(&ho, merged, nmerged, batch.statuses,
                          batch.nstatuses, &update, err);
  ts_json_arena_pause();
  snapshot_hand(&job, r == TS_OK && !o->dump_context ? update : NULL);
  stage_done(o->log, "history", &clock);
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
      .snapshot = &published,
      .item_spans = spans,
      .snapshot_wait = snapshot_wait,
      .snapshot_ctx = &job,
      .now = now,
    };
    r = ts_site_build(&in, &so, &stats, err);
  }
  /* The site waited for the snapshot text, unless it stopped early; the
   * history's files are written too before the commit renames them. */
  if (snapshot_finish(&job) != TS_OK && r == TS_OK)
    r = ts_error_set(err, TS_ERR_NOMEM, "snapshot: out of memory");
  idle_release(&idle);
  ts_site_prep_free(so.prepared); /* the idle job is done, if started */
  if (idle.locks)
    ts_thread_sync_destroy(&idle.lock, &idle.cv);
  if (!recorded && !o->dump_context) {
    if (idle.done)
      base = idle.base;
    else
      render_fingerprint_base(o, inputs, n, &base);
  }
  stage_done(o->log, "site", &clock);
  if (r == TS_OK && !o->dump_context) {
    /* Only a published site moves the history forward. The run's
     * snapshot is the published api/snapshot.json: linked, not copied,
     * when the two folders share a file system. */
    char published_file[PATH_MAX];
    if (snprintf(published_file, sizeof published_file,
                 "%s/api/snapshot.json", so.out_dir) <
        (int)sizeof published_file)
      ho.snapshot_file = published_file;
    ho.snapshot_id = stats.snapshot_id;
    r = ts_history_commit(&ho, update, ts_buf_cstr(&published),
                          published.len, err);
    ho.snapshot_file = NULL;
    stage_done(o->log, "history saved", &clock);
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
    else
      record_site(o, base, *outcome, stats.folders, stats.nfolders);
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
  /* Built entirely in hist_arena, the history goes with it. */
  if (hist_arena && !ts_json_arena_spilled(hist_arena))
    ts_history_update_drop(update);
  else
    ts_history_update_free(update);
  ts_json_arena_hold(NULL);
  ts_json_arena_end();
  ts_json_arena_free(hist_arena);
  ts_fs_free_names(stats.folders, stats.nfolders);
  ts_buf_cleanup(&published);
  free(spans);
  free(merged);
  ts_batch_cleanup(&batch);
  return r;
}

#include "history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/json_text.h"

#define STATE_MAX_BYTES ((size_t)1 << 30)
#define ARCHIVE_TOP 10 /* items per list kept for a day's archive page */
#define DAY 86400

struct ts_history_update {
  json_t *items;    /* the new items.json "items" object (owned) */
  /* What the site shows, per merged item, each holding a reference to
   * its series; known[i] says whether notes[i] is set (owned, as are
   * the positions the notes point into). */
  struct ts_history_note *notes;
  bool *known;
  struct ts_history_position *positions;
  json_t *days;     /* archive days, newest first (owned) */
  int64_t previous; /* previous run, TS_TIME_UNKNOWN if none */
  const struct ts_item *merged;
  size_t nmerged;
  const struct ts_status *statuses;
  size_t nstatuses;
  /* The published snapshot's text and its items' spans in it (see
   * ts_history_use_published), or NULL; borrowed. */
  const char *published;
  const struct ts_snapshot_span *published_spans;
  /* The text of items.json and of the day's file, once prepared. */
  struct ts_buf items_text, day_text;
  bool prepared;
  /* Where ts_history_stage wrote them (temporary names beside the real
   * ones, owned), until commit renames them or free removes them. */
  char *staged_items, *staged_day;
};

/* ---- paths and small helpers ------------------------------------------ */

static void history_path(const struct ts_history_options *o, char *out,
                         size_t size, const char *sub, const char *name)
{
  snprintf(out, size, "%s/history/%s%s%s", o->state_dir, sub,
           name[0] && sub[0] ? "/" : "", name);
}

static void date_of(int64_t t, char out[11])
{
  char full[21];
  ts_time_format(t, full);
  memcpy(out, full, 10);
  out[10] = '\0';
}

static json_t *load_json(const char *path, struct ts_error *err, bool *missing)
{
  char *text;
  size_t len;
  *missing = false;
  enum ts_result r = ts_fs_read(path, STATE_MAX_BYTES, &text, &len, err);
  if (r == TS_ERR_NOTFOUND) {
    *missing = true;
    return NULL;
  }
  if (r != TS_OK)
    return NULL;
  json_error_t jerr;
  json_t *doc = json_loadb(text, len, 0, &jerr);
  free(text);
  if (!doc)
    ts_error_set(err, TS_ERR_PARSE, "%s:%d:%d: %s", path, jerr.line,
                 jerr.column, jerr.text);
  return doc;
}

/* Times encoded in file names of runs/ ("2026-11-21T10-00-00Z.json"). */
static void run_file_name(int64_t t, char *out, size_t size)
{
  char iso[21];
  ts_time_format(t, iso);
  iso[13] = iso[16] = '-'; /* no ':' in file names (Windows checkouts) */
  snprintf(out, size, "%s.json", iso);
}

static bool parse_run_file_name(const char *name, int64_t *t)
{
  if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
    return false;
  char iso[21];
  memcpy(iso, name, 20);
  iso[20] = '\0';
  if (iso[13] != '-' || iso[16] != '-')
    return false;
  iso[13] = iso[16] = ':';
  return ts_time_parse(iso, t);
}

static bool parse_day_file_name(const char *name, char date[11])
{
  if (strlen(name) != 15 || strcmp(name + 10, ".json") != 0)
    return false;
  char iso[21];
  snprintf(iso, sizeof iso, "%.10sT00:00:00Z", name);
  int64_t t;
  if (!ts_time_parse(iso, &t))
    return false;
  memcpy(date, name, 10);
  date[10] = '\0';
  return true;
}


/* ---- stale fill-in ----------------------------------------------------- */

static void append_reason(struct ts_batch *batch, struct ts_status *s,
                          const char *extra)
{
  char buf[1024];
  snprintf(buf, sizeof buf, "%s%s%s", s->reason ? s->reason : "",
           s->reason ? "; " : "", extra);
  const char *copy = ts_batch_str(batch, buf);
  if (copy)
    s->reason = copy;
}

/* The newest saved run strictly before `now`, or TS_TIME_UNKNOWN. */
static int64_t previous_run(const struct ts_history_options *o);

static bool same_list(const struct ts_status *a, const struct ts_status *b)
{
  return !strcmp(a->source, b->source) && !strcmp(a->region, b->region);
}

/* Restores the items of failed list `s` from the previous run's published
 * snapshot `prev`: what that run showed for the list, fresh or already
 * stale, as long as it is younger than stale_after_hours. */
static enum ts_result restore_list(const struct ts_history_options *o,
                                   struct ts_batch *batch, size_t status_index,
                                   const struct ts_batch *prev,
                                   struct ts_error *err)
{
  struct ts_status *s = &batch->statuses[status_index];
  const struct ts_status *was = NULL;
  for (size_t i = 0; i < prev->nstatuses && !was; i++)
    if (same_list(&prev->statuses[i], s))
      was = &prev->statuses[i];
  if (!was || was->state == TS_STATUS_FAILED)
    return TS_OK; /* nothing good to fall back to */
  int64_t fetched = was->state == TS_STATUS_STALE ? was->stale_since
                                                  : was->fetched_at;
  if (fetched == TS_TIME_UNKNOWN)
    return TS_OK;
  int64_t age = o->now - fetched;
  char name[64];
  ts_list_key(s->source, s->region, name, sizeof name);
  if (age > (int64_t)o->stale_after_hours * 3600) {
    char why[256];
    snprintf(why, sizeof why, "last-good data from %lld h ago dropped "
             "(older than %u h)", (long long)(age / 3600),
             o->stale_after_hours);
    append_reason(batch, s, why);
    ts_log_warn(o->log, "%s: %s", name, why);
    return TS_OK;
  }
  uint32_t restored = 0;
  for (size_t i = 0; i < prev->nitems; i++) {
    const struct ts_item *old = &prev->items[i];
    bool listed = false;
    for (uint32_t k = 0; k < old->npositions && !listed; k++)
      listed = !strcmp(old->positions[k].source, s->source) &&
               !strcmp(old->positions[k].region, s->region);
    if (!listed)
      continue;
    struct ts_item *it = ts_batch_copy_item(batch, old);
    if (!it)
      return ts_error_set(err, TS_ERR_NOMEM, "history: out of memory");
    /* Keep only this list's position, marked stale. */
    uint32_t keep = 0;
    for (uint32_t k = 0; k < it->npositions; k++) {
      struct ts_item_position *p = &it->positions[k];
      if (!strcmp(p->source, s->source) && !strcmp(p->region, s->region)) {
        it->positions[keep] = *p;
        it->positions[keep++].stale = true;
      }
    }
    it->npositions = keep;
    restored++;
  }
  s = &batch->statuses[status_index];
  s->state = TS_STATUS_STALE;
  s->stale_since = fetched;
  s->items = restored;
  ts_log_warn(o->log, "%s: showing %u last-good item%s from %lld h ago",
              name, restored, restored == 1 ? "" : "s",
              (long long)(age / 3600));
  return TS_OK;
}

enum ts_result ts_history_fill_stale(const struct ts_history_options *o,
                                     struct ts_batch *batch,
                                     struct ts_error *err)
{
  size_t n = batch->nstatuses;
  bool any_failed = false;
  for (size_t i = 0; i < n && !any_failed; i++)
    any_failed = batch->statuses[i].state == TS_STATUS_FAILED;
  int64_t t = any_failed ? previous_run(o) : TS_TIME_UNKNOWN;
  if (t == TS_TIME_UNKNOWN)
    return TS_OK; /* nothing failed, or a first run: no fallback */
  char name[64], path[4096];
  run_file_name(t, name, sizeof name);
  history_path(o, path, sizeof path, "runs", name);
  struct ts_batch prev;
  ts_batch_init(&prev);
  struct ts_snapshot_meta meta;
  enum ts_result r = ts_snapshot_read(path, &prev, &meta, err);
  if (r != TS_OK) {
    /* A damaged state file must not fail the run: warn, go on without. */
    ts_log_warn(o->log, "history: %s (no last-good data this run)", err->msg);
    ts_batch_cleanup(&prev);
    return TS_OK;
  }
  for (size_t i = 0; i < n && r == TS_OK; i++)
    if (batch->statuses[i].state == TS_STATUS_FAILED)
      r = restore_list(o, batch, i, &prev, err);
  ts_batch_cleanup(&prev);
  return r;
}

/* ---- recording --------------------------------------------------------- */

/* The previous run is the newest saved run strictly before this one, so
 * recording the same run twice compares against the same run. */
static int64_t previous_run(const struct ts_history_options *o)
{
  char dir[4096];
  history_path(o, dir, sizeof dir, "runs", "");
  size_t n;
  char **names = ts_fs_list_dir(dir, false, &n);
  int64_t previous = TS_TIME_UNKNOWN;
  for (size_t i = 0; i < n; i++) {
    int64_t t;
    if (parse_run_file_name(names[i], &t) && t < o->now &&
        (previous == TS_TIME_UNKNOWN || t > previous))
      previous = t;
  }
  ts_fs_free_names(names, n);
  return previous;
}

/* key -> {"youtube/JP": rank} of a saved run, and the lists it had. */
static json_t *previous_ranks(const struct ts_history_options *o, int64_t t,
                              json_t **lists)
{
  char name[64], path[4096];
  run_file_name(t, name, sizeof name);
  history_path(o, path, sizeof path, "runs", name);
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_snapshot_meta meta;
  struct ts_error err;
  json_t *ranks = json_object();
  *lists = json_object();
  if (ts_snapshot_read(path, &b, &meta, &err) != TS_OK) {
    ts_log_warn(o->log, "history: %s (rank changes not shown)", err.msg);
    ts_batch_cleanup(&b);
    return ranks;
  }
  for (size_t i = 0; i < b.nstatuses; i++) {
    if (b.statuses[i].state == TS_STATUS_FAILED)
      continue;
    char list[64];
    ts_list_key(b.statuses[i].source, b.statuses[i].region, list, sizeof list);
    json_object_set_new(*lists, list, json_true());
  }
  for (size_t i = 0; i < b.nitems; i++) {
    const struct ts_item *it = &b.items[i];
    json_t *per = json_object();
    for (uint32_t k = 0; k < it->npositions; k++) {
      char list[64];
      ts_list_key(it->positions[k].source, it->positions[k].region, list,
                sizeof list);
      json_object_set_new(per, list, json_integer(it->positions[k].rank));
    }
    json_object_set_new(ranks, it->key, per);
  }
  ts_batch_cleanup(&b);
  return ranks;
}

static int compare_series(const void *a, const void *b)
{
  json_int_t x = json_integer_value(json_array_get(*(json_t *const *)a, 0));
  json_int_t y = json_integer_value(json_array_get(*(json_t *const *)b, 0));
  return (x > y) - (x < y);
}

/* Replaces the point at `now`, keeps points within the window, sorted. */
static json_t *update_series(const json_t *old, int64_t now, int64_t since,
                             uint32_t best, int64_t views)
{
  size_t n = json_array_size(old);
  json_t **points = calloc(n + 1, sizeof *points);
  size_t k = 0;
  for (size_t i = 0; points && i < n; i++) {
    json_t *p = json_array_get(old, i);
    json_int_t t = json_integer_value(json_array_get(p, 0));
    if (json_array_size(p) == 3 && t != now && t >= since)
      points[k++] = p;
  }
  /* Built with direct calls, not json_pack: this runs once per item. */
  json_t *point = json_array();
  json_array_append_new(point, json_integer((json_int_t)now));
  json_array_append_new(point, json_integer((json_int_t)best));
  json_array_append_new(point, views == TS_UNKNOWN ? json_null()
                                                   : json_integer(views));
  if (points)
    points[k++] = point;
  qsort(points, k, sizeof *points, compare_series);
  json_t *series = json_array();
  for (size_t i = 0; i < k; i++)
    json_array_append(series, points[i]);
  json_decref(point);
  free(points);
  return series;
}

static json_int_t int_or(const json_t *v, json_int_t fallback)
{
  return json_is_integer(v) ? json_integer_value(v) : fallback;
}

/* Each position's best rank in its list, from `peaks` (list -> rank). */
static void fill_peaks(const struct ts_item *it, const json_t *peaks,
                       struct ts_history_position *pos)
{
  for (uint32_t k = 0; k < it->npositions; k++) {
    char list[64];
    ts_list_key(it->positions[k].source, it->positions[k].region, list,
                sizeof list);
    json_int_t peak = json_integer_value(json_object_get(peaks, list));
    pos[k].peak = peak > 0 && peak <= UINT32_MAX ? (uint32_t)peak : 0;
  }
}

enum ts_result ts_history_record(const struct ts_history_options *o,
                                 const struct ts_item *items, size_t nitems,
                                 const struct ts_status *statuses,
                                 size_t nstatuses,
                                 struct ts_history_update **out,
                                 struct ts_error *err)
{
  struct ts_history_update *u = calloc(1, sizeof *u);
  if (!u)
    return ts_error_set(err, TS_ERR_NOMEM, "history: out of memory");
  u->merged = items;
  u->nmerged = nitems;
  u->statuses = statuses;
  u->nstatuses = nstatuses;
  u->previous = TS_TIME_UNKNOWN;
  u->days = json_array();
  size_t npositions = 0;
  for (size_t i = 0; i < nitems; i++)
    npositions += items[i].npositions;
  u->notes = calloc(nitems ? nitems : 1, sizeof *u->notes);
  u->known = calloc(nitems ? nitems : 1, sizeof *u->known);
  u->positions = calloc(npositions ? npositions : 1, sizeof *u->positions);
  if (!u->days || !u->notes || !u->known || !u->positions) {
    ts_history_update_free(u);
    return ts_error_set(err, TS_ERR_NOMEM, "history: out of memory");
  }

  char path[4096];
  history_path(o, path, sizeof path, "", "items.json");
  bool missing;
  json_t *doc = load_json(path, err, &missing);
  json_t *old_items = json_object_get(doc, "items");
  if (!doc && !missing)
    ts_log_warn(o->log, "history: %s (starting a new history)", err->msg);
  /* The loaded document is ours alone: keep its items rather than copy
   * them (a copy of a 30,000-item history cost as much as loading it). */
  u->items = json_is_object(old_items) ? json_incref(old_items)
                                       : json_object();
  json_decref(doc);

  u->previous = previous_run(o);
  char dir[4096];
  size_t nnames;
  char **names;
  json_t *prev_lists = NULL;
  json_t *prev = u->previous != TS_TIME_UNKNOWN
                     ? previous_ranks(o, u->previous, &prev_lists)
                     : NULL;

  int64_t since = o->now - (int64_t)o->history_days * DAY;
  struct ts_history_position *pos = u->positions;
  for (size_t i = 0; i < nitems; pos += items[i].npositions, i++) {
    const struct ts_item *it = &items[i];
    struct ts_history_note *note = &u->notes[i];
    note->positions = pos;
    uint32_t best = UINT32_MAX;
    for (uint32_t k = 0; k < it->npositions; k++) {
      pos[k].previous = TS_HISTORY_UNKNOWN;
      if (!it->positions[k].stale && it->positions[k].rank < best)
        best = it->positions[k].rank;
    }
    json_t *h = json_object_get(u->items, it->key);
    if (best == UINT32_MAX) {
      /* Only last-good positions: not seen this run, so the history
       * does not move; the site shows what it had. */
      const json_t *first = json_object_get(h, "first_seen");
      const json_t *last = json_object_get(h, "last_seen");
      if (!json_is_integer(first) || !json_is_integer(last))
        continue;
      u->known[i] = true;
      note->first_seen = json_integer_value(first);
      note->last_seen = json_integer_value(last);
      /* Held: the entry may be forgotten below, being too old. */
      note->series = json_incref(json_object_get(h, "series"));
      note->runs = (uint32_t)json_array_size(note->series);
      fill_peaks(it, json_object_get(h, "peaks"), pos);
      continue;
    }
    json_int_t first = int_or(json_object_get(h, "first_seen"), o->now);
    json_int_t last = int_or(json_object_get(h, "last_seen"), o->now);
    if (first > o->now)
      first = o->now;
    if (last < o->now)
      last = o->now;
    json_t *series = update_series(json_object_get(h, "series"), o->now, since,
                                   best, it->views);
    json_t *peaks = json_is_object(json_object_get(h, "peaks"))
                        ? json_deep_copy(json_object_get(h, "peaks"))
                        : json_object();
    json_t *prev_item = prev ? json_object_get(prev, it->key) : NULL;
    for (uint32_t k = 0; k < it->npositions; k++) {
      const struct ts_item_position *p = &it->positions[k];
      if (p->stale)
        continue;
      char list[64];
      ts_list_key(p->source, p->region, list, sizeof list);
      json_t *peak = json_object_get(peaks, list);
      if (!json_is_integer(peak) || json_integer_value(peak) > p->rank)
        json_object_set_new_nocheck(peaks, list, json_integer(p->rank));
      if (!prev_lists || !json_object_get(prev_lists, list))
        continue;
      json_t *was = json_object_get(prev_item, list);
      json_int_t rank = json_integer_value(was);
      pos[k].previous = !was ? TS_HISTORY_NEW
                        : rank > 0 && rank <= INT32_MAX ? (int32_t)rank
                                                        : TS_HISTORY_UNKNOWN;
    }
    fill_peaks(it, peaks, pos);
    /* Built with direct calls, not json_pack: this runs once per item. */
    json_t *entry = json_object();
    json_object_set_new_nocheck(entry, "kind", json_string_nocheck(
        it->kind == TS_ITEM_VIDEO ? "video" : "story"));
    json_object_set_new_nocheck(entry, "first_seen", json_integer(first));
    json_object_set_new_nocheck(entry, "last_seen", json_integer(last));
    json_object_set_new_nocheck(entry, "peaks", peaks);
    json_object_set_nocheck(entry, "series", series);
    /* Keys and list names are valid UTF-8 already (normalized, or
     * checked by the snapshot reader): no second check. */
    json_object_set_new_nocheck(u->items, it->key, entry);
    u->known[i] = true;
    note->first_seen = first;
    note->last_seen = last;
    note->runs = (uint32_t)json_array_size(series);
    note->is_new = first == o->now;
    note->series = series; /* the reference update_series returned */
  }
  json_decref(prev);
  json_decref(prev_lists);

  /* Forget items not seen within the kept days. */
  const char *key;
  json_t *value;
  void *tmp;
  json_object_foreach_safe(u->items, tmp, key, value)
  {
    if (int_or(json_object_get(value, "last_seen"), 0) < since)
      json_object_del(u->items, key);
  }

  /* Archive days: saved ones in the window plus today's. */
  char today[11];
  date_of(o->now, today);
  history_path(o, dir, sizeof dir, "days", "");
  names = ts_fs_list_dir(dir, false, &nnames);
  json_t *dates = json_object();
  json_object_set_new(dates, today, json_true());
  char oldest[11];
  date_of(since, oldest);
  for (size_t i = 0; i < nnames; i++) {
    char date[11];
    if (parse_day_file_name(names[i], date) && strcmp(date, oldest) >= 0)
      json_object_set_new(dates, date, json_true());
  }
  ts_fs_free_names(names, nnames);
  /* Newest first: collect and sort the keys descending. */
  size_t nd = json_object_size(dates);
  const char **sorted = calloc(nd ? nd : 1, sizeof *sorted);
  size_t k = 0;
  json_object_foreach(dates, key, value)
  {
    if (sorted)
      sorted[k++] = key;
  }
  for (size_t i = 1; i < k; i++)
    for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) < 0; j--) {
      const char *t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  for (size_t i = 0; i < k; i++)
    json_array_append_new(u->days, json_pack("{s:s}", "date", sorted[i]));
  free(sorted);
  json_decref(dates);
  *out = u;
  return TS_OK;
}

const struct ts_history_note *ts_history_note(
    const struct ts_history_update *u, size_t i)
{
  return i < u->nmerged && u->known[i] ? &u->notes[i] : NULL;
}

int64_t ts_history_previous_run(const struct ts_history_update *u)
{
  return u->previous;
}

const json_t *ts_history_days(const struct ts_history_update *u)
{
  return u->days;
}

enum ts_result ts_history_load_day(const struct ts_history_options *o,
                                   const char *date, struct ts_batch *batch,
                                   struct ts_error *err)
{
  char name[32], path[4096];
  snprintf(name, sizeof name, "%.10s.json", date);
  char check[11];
  if (!parse_day_file_name(name, check))
    return ts_error_set(err, TS_ERR_NOTFOUND, "history: no day \"%s\"", date);
  history_path(o, path, sizeof path, "days", name);
  struct ts_snapshot_meta meta;
  return ts_snapshot_read(path, batch, &meta, err);
}

/* ---- commit ------------------------------------------------------------ */

/* Whether merged item `it` is among a list's top ARCHIVE_TOP this run. */
static bool in_day_top(const struct ts_item *it)
{
  for (uint32_t k = 0; k < it->npositions; k++)
    if (!it->positions[k].stale && it->positions[k].rank <= ARCHIVE_TOP)
      return true;
  return false;
}

/* The text of days/DATE.json: the run's items in the top ARCHIVE_TOP of
 * any list, as a snapshot; their text copied from the published snapshot
 * when there is one (ts_history_use_published). */
static enum ts_result day_text(const struct ts_history_options *o,
                               const struct ts_history_update *u,
                               struct ts_buf *out)
{
  size_t *keep = malloc((u->nmerged ? u->nmerged : 1) * sizeof *keep);
  if (!keep)
    return TS_ERR_NOMEM;
  size_t n = 0;
  for (size_t i = 0; i < u->nmerged; i++)
    if (in_day_top(&u->merged[i]))
      keep[n++] = i;
  enum ts_result r = TS_ERR_NOMEM;
  if (u->published && u->nmerged) {
    r = ts_snapshot_text_subset(u->published, u->published_spans, keep, n,
                                out);
  } else {
    struct ts_item *top = calloc(n ? n : 1, sizeof *top);
    if (top) {
      for (size_t k = 0; k < n; k++)
        top[k] = u->merged[keep[k]];
      struct ts_snapshot_meta meta = {o->now, 1, 1};
      r = ts_snapshot_text(top, n, u->statuses, u->nstatuses, &meta, out);
      free(top);
    }
  }
  free(keep);
  return r;
}

void ts_history_use_published(struct ts_history_update *u, const char *text,
                              const struct ts_snapshot_span *spans)
{
  u->published = text && spans ? text : NULL;
  u->published_spans = u->published ? spans : NULL;
}

/* Deletes files in `sub` whose name `keep` rejects. */
static void prune(const struct ts_history_options *o,
                  const struct ts_history_update *u, const char *sub)
{
  char dir[4096];
  history_path(o, dir, sizeof dir, sub, "");
  size_t n;
  char **names = ts_fs_list_dir(dir, false, &n);
  char oldest[11];
  date_of(o->now - (int64_t)o->history_days * DAY, oldest);
  for (size_t i = 0; i < n; i++) {
    bool drop;
    int64_t t;
    char date[11];
    if (!strcmp(sub, "runs"))
      drop = !parse_run_file_name(names[i], &t) ||
             (t != o->now && t != u->previous);
    else
      drop = !parse_day_file_name(names[i], date) || strcmp(date, oldest) < 0;
    if (drop && strstr(names[i], ".json")) {
      char path[8192];
      snprintf(path, sizeof path, "%s/%s", dir, names[i]);
      unlink(path);
    }
  }
  ts_fs_free_names(names, n);
}

enum ts_result ts_history_prepare(const struct ts_history_options *o,
                                  struct ts_history_update *u,
                                  struct ts_error *err)
{
  if (u->prepared)
    return TS_OK;
  ts_buf_init(&u->items_text, 0);
  ts_buf_init(&u->day_text, 0);
  /* Written by hand rather than packed into a document: packing would
   * take a reference to u->items, and other threads may be reading it. */
  enum ts_result r = ts_buf_append_str(&u->items_text, "{\"version\":1,"
                                                       "\"items\":");
  if (r == TS_OK)
    r = ts_json_dump(&u->items_text, u->items);
  if (r == TS_OK)
    r = ts_buf_append_char(&u->items_text, '}');
  if (r == TS_OK)
    r = day_text(o, u, &u->day_text);
  if (r != TS_OK) {
    ts_buf_cleanup(&u->items_text);
    ts_buf_cleanup(&u->day_text);
    return ts_error_set(err, r, "history: %s",
                        r == TS_ERR_NOMEM ? "out of memory"
                                          : "not a JSON tree (a bug)");
  }
  u->prepared = true;
  return TS_OK;
}

/* The path of the day's file and of items.json for `o`. */
static void day_file(const struct ts_history_options *o, char *out,
                     size_t size)
{
  char name[64], date[11];
  date_of(o->now, date);
  snprintf(name, sizeof name, "%s.json", date);
  history_path(o, out, size, "days", name);
}

static enum ts_result make_dirs(const struct ts_history_options *o,
                                struct ts_error *err)
{
  const char *subs[] = {"runs", "days"};
  enum ts_result r = TS_OK;
  for (size_t i = 0; i < 2 && r == TS_OK; i++) {
    char dir[4096];
    history_path(o, dir, sizeof dir, subs[i], "");
    r = ts_fs_mkdirs(dir, err);
  }
  return r;
}

/* Removes what ts_history_stage wrote and commit did not use. */
static void unstage(struct ts_history_update *u)
{
  char **staged[] = {&u->staged_items, &u->staged_day};
  for (size_t i = 0; i < 2; i++) {
    if (*staged[i])
      unlink(*staged[i]);
    free(*staged[i]);
    *staged[i] = NULL;
  }
}

enum ts_result ts_history_stage(const struct ts_history_options *o,
                                struct ts_history_update *u,
                                struct ts_error *err)
{
  enum ts_result r = ts_history_prepare(o, u, err);
  if (r == TS_OK && !u->staged_items)
    r = make_dirs(o, err);
  char path[4096];
  if (r == TS_OK && !u->staged_day) {
    day_file(o, path, sizeof path);
    r = ts_fs_stage(path, u->day_text.data, u->day_text.len, &u->staged_day,
                    err);
  }
  if (r == TS_OK && !u->staged_items) {
    history_path(o, path, sizeof path, "", "items.json");
    r = ts_fs_stage(path, u->items_text.data, u->items_text.len,
                    &u->staged_items, err);
  }
  return r;
}

/* Puts `text` in place at `path`: the staged file when there is one,
 * else written now. */
static enum ts_result put_in_place(const char *path, char **staged,
                                   const struct ts_buf *text,
                                   struct ts_error *err)
{
  if (!*staged)
    return ts_fs_write_atomic(path, text->data, text->len, err);
  enum ts_result r = TS_OK;
  if (rename(*staged, path) != 0) {
    r = ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
    unlink(*staged);
  }
  free(*staged);
  *staged = NULL;
  return r;
}

enum ts_result ts_history_commit(const struct ts_history_options *o,
                                 struct ts_history_update *u,
                                 const char *snapshot, size_t len,
                                 struct ts_error *err)
{
  enum ts_result r = ts_history_prepare(o, u, err);
  if (r == TS_OK)
    r = make_dirs(o, err);
  if (r != TS_OK)
    return r;
  char path[4096], name[64];
  run_file_name(o->now, name, sizeof name);
  history_path(o, path, sizeof path, "runs", name);
  bool linked = false;
  if (o->snapshot_file && o->snapshot_id.known)
    linked = ts_fs_link_id(o->snapshot_file, o->snapshot_id, len, path);
  else if (o->snapshot_file)
    linked = ts_fs_link_same(o->snapshot_file, snapshot, len, path);
  if (!linked)
    r = ts_fs_write_atomic(path, snapshot, len, err);
  if (r == TS_OK) {
    day_file(o, path, sizeof path);
    r = put_in_place(path, &u->staged_day, &u->day_text, err);
  }
  if (r == TS_OK) {
    history_path(o, path, sizeof path, "", "items.json");
    r = put_in_place(path, &u->staged_items, &u->items_text, err);
  }
  if (r == TS_OK) {
    prune(o, u, "runs");
    prune(o, u, "days");
  }
  return r;
}

/* The prepared texts are plain buffers: freed either way. */
static void free_texts(struct ts_history_update *u)
{
  if (u->prepared) {
    ts_buf_cleanup(&u->items_text);
    ts_buf_cleanup(&u->day_text);
  }
}

/* The notes' own memory (their series live with the JSON values). */
static void free_notes(struct ts_history_update *u)
{
  free(u->notes);
  free(u->known);
  free(u->positions);
}

void ts_history_update_drop(struct ts_history_update *u)
{
  if (!u)
    return;
  unstage(u);
  free_texts(u);
  free_notes(u);
  free(u);
}

void ts_history_update_free(struct ts_history_update *u)
{
  if (!u)
    return;
  unstage(u);
  free_texts(u);
  for (size_t i = 0; u->known && i < u->nmerged; i++)
    if (u->known[i])
      json_decref((json_t *)u->notes[i].series);
  free_notes(u);
  json_decref(u->items);
  json_decref(u->days);
  free(u);
}

/*
 * History: what the previous runs saw, kept in the state folder.
 *
 * Two jobs, on either side of the final merge of a run:
 *
 * 1. ts_history_fill_stale (before merging): a list that failed this run
 *    gets back what the previous published run showed for it, marked
 *    stale with its age, as long as that data is younger than
 *    stale_after_hours (a list failing run after run keeps its original
 *    age); older data is dropped and the status says so.
 *
 * 2. ts_history_record (after merging): per item, first and last seen, the
 *    number of runs it trended, its best rank per list, a series of
 *    (time, best rank, views) over the kept days for sparklines, and its
 *    rank change against the previous run, per list. Nothing is written
 *    yet: the returned update is committed with ts_history_commit only
 *    once the new site is published, so a failed run leaves the history
 *    as it was.
 *
 * Re-recording a run with the same generated_at (rendering the same
 * snapshot twice) is idempotent: history is keyed by run time.
 *
 * Layout under STATE/history/ (all JSON, written atomically; a few large
 * files rather than many small ones, because creating files is what costs):
 *   items.json          per item: first/last seen, runs, peaks, series
 *   runs/TIME.json      the last two published snapshots (rank changes,
 *                       last-good data)
 *   days/DATE.json      per day: the day's last run, top items per list
 */
#ifndef TS_HISTORY_H
#define TS_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "item.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

struct ts_history_options {
  const char *state_dir;
  unsigned history_days;
  unsigned stale_after_hours;
  int64_t now;               /* the run's time (generated_at) */
  const struct ts_log *log;  /* borrowed; may be NULL */
  /* A file that may already hold the snapshot ts_history_commit saves
   * (the published api/snapshot.json): when it holds exactly those
   * bytes, the saved run is a hard link to it, not a second copy. May be
   * NULL. */
  const char *snapshot_file;
  /* When known, the identity snapshot_file had as its writer wrote those
   * very bytes (see ts_publish_file_id): it is linked while it is still
   * that file, without reading it back. */
  struct ts_fs_id snapshot_id;
};

/*
 * For each status of `batch` that FAILED, adds the list's last-good items
 * (positions marked stale) to the batch and turns the status STALE with
 * stale_since, or leaves it FAILED with a reason saying the last-good data
 * was too old.
 */
enum ts_result ts_history_fill_stale(const struct ts_history_options *opts,
                                     struct ts_batch *batch,
                                     struct ts_error *err);

struct ts_history_update;

/*
 * Compares the merged `items` with the history and returns the update
 * (caller frees with ts_history_update_free, after committing or not).
 * The items and statuses are borrowed until then.
 */
enum ts_result ts_history_record(const struct ts_history_options *opts,
                                 const struct ts_item *items, size_t nitems,
                                 const struct ts_status *statuses,
                                 size_t nstatuses,
                                 struct ts_history_update **out,
                                 struct ts_error *err);

/* What the history says about one position of an item (a list it is in
 * this run), for the site. */
enum {
  TS_HISTORY_NEW = 0,      /* previous: the previous run's list lacked it */
  TS_HISTORY_UNKNOWN = -1  /* previous: no change can be known */
};
struct ts_history_position {
  uint32_t peak;    /* best rank in this list over the kept days; 0: none */
  /* Rank in the previous run's same list (> 0), TS_HISTORY_NEW, or
   * TS_HISTORY_UNKNOWN: a stale position, or a list the previous run did
   * not have (then a change cannot be known). */
  int32_t previous;
};

/* What the site shows about one item. Plain values rather than a JSON
 * object: the site reads them for every card it builds. */
struct ts_history_note {
  int64_t first_seen, last_seen; /* Unix seconds */
  uint32_t runs;                 /* runs it trended in, within the days */
  bool is_new;                   /* first seen this run */
  /* [[T, best_rank, views|null], ...], oldest first (borrowed from the
   * update; may be NULL). */
  const json_t *series;
  /* One per position of the item, in the item's order (borrowed). */
  const struct ts_history_position *positions;
};

/*
 * The note for `items[i]` of the items the update was recorded with, or
 * NULL when the history knows nothing about it (an item only in
 * last-good data, never seen before). Borrowed from the update.
 */
const struct ts_history_note *ts_history_note(
    const struct ts_history_update *update, size_t i);

/* The previous run's time, or TS_TIME_UNKNOWN for a first run. */
int64_t ts_history_previous_run(const struct ts_history_update *update);

/*
 * The archive: days with a saved run, newest first, as
 * [{"date": "2026-11-21", "run": T}, ...] (borrowed).
 */
const json_t *ts_history_days(const struct ts_history_update *update);

/* Loads the saved snapshot of one archive day into `batch`. */
enum ts_result ts_history_load_day(const struct ts_history_options *opts,
                                   const char *date, struct ts_batch *batch,
                                   struct ts_error *err);

/*
 * Turns the update into the text of the files ts_history_commit writes,
 * without touching the state folder. It only reads the update, so it may
 * run on one thread while others read the update too (the site renders
 * while the history is prepared). Optional: commit prepares what is not.
 */
enum ts_result ts_history_prepare(const struct ts_history_options *opts,
                                  struct ts_history_update *update,
                                  struct ts_error *err);

struct ts_snapshot_span;

/*
 * Tells prepare that `text` (borrowed until the update is prepared) is
 * the snapshot ts_snapshot_text_spans wrote, with `spans`, from the
 * update's merged items and statuses, with generated_at opts->now and no
 * shard: the day's file then copies its items' text from it instead of
 * writing it again. NULL text or spans: it writes them.
 */
void ts_history_use_published(struct ts_history_update *update,
                              const char *text,
                              const struct ts_snapshot_span *spans);

/*
 * Prepares the update and writes its files under temporary names beside
 * their real ones (creating the history folders if need be), so that
 * ts_history_commit only renames them: written while the site renders,
 * they cost the run nothing after the publish. The history itself does
 * not change: freeing an update that was never committed removes them.
 * Optional, like ts_history_prepare; an error here leaves commit to
 * write them, and to report it if it happens again.
 */
enum ts_result ts_history_stage(const struct ts_history_options *opts,
                                struct ts_history_update *update,
                                struct ts_error *err);

/*
 * Writes the update and `snapshot` (the published snapshot's text, `len`
 * bytes, borrowed) to the state folder, and prunes what is older than
 * history_days.
 */
enum ts_result ts_history_commit(const struct ts_history_options *opts,
                                 struct ts_history_update *update,
                                 const char *snapshot, size_t len,
                                 struct ts_error *err);

void ts_history_update_free(struct ts_history_update *update);

/* Frees `update` without releasing its JSON values one by one: for when
 * every one of them lives in a JSON arena about to be freed (see
 * ts_json_arena_spilled). For a large site that walk cost 55 ms. */
void ts_history_update_drop(struct ts_history_update *update);

#endif

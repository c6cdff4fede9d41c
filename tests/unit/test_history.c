/* History across runs: first seen, rank changes, last-good data for a
 * failed list (and its expiry), idempotent re-recording, archive days. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "history.h"
#include "snapshot.h"
#include "util/fs.h"

#define T1 INT64_C(1795255200) /* 2026-11-21T10:00:00Z */
#define HOUR 3600

static char state_dir[64];

static struct ts_history_options options(int64_t now)
{
  struct ts_history_options o = {
      .state_dir = state_dir, .history_days = 30, .stale_after_hours = 48,
      .now = now};
  return o;
}

/* Adds a video with one position in youtube/JP. */
static void add(struct ts_batch *b, const char *key, uint32_t rank,
                int64_t views)
{
  struct ts_item *it = ts_batch_new_item(b);
  it->kind = TS_ITEM_VIDEO;
  it->source = "youtube";
  it->id = it->key = ts_batch_str(b, key);
  it->title = ts_batch_str(b, key);
  it->views = views;
  ts_item_set_position(b, it, "youtube", "JP", rank);
}

static void set_status(struct ts_batch *b, enum ts_status_state state,
                       int64_t t)
{
  struct ts_status *s = ts_batch_status(b, "youtube", "youtube", "JP");
  s->state = state;
  s->fetched_at = t;
  s->reason = state == TS_STATUS_FAILED ? "HTTP 503" : NULL;
}

/* Records and commits one run; returns the update (caller frees). */
static struct ts_history_update *run(struct ts_batch *b, int64_t now)
{
  struct ts_history_options o = options(now);
  struct ts_history_update *u = NULL;
  struct ts_error err;
  if (ts_history_record(&o, b->items, b->nitems, b->statuses, b->nstatuses,
                        &u, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "record: %s", err.msg);
    return NULL;
  }
  struct ts_snapshot_meta meta = {now, 1, 1};
  struct ts_buf text;
  ts_buf_init(&text, 0);
  if (ts_snapshot_text(b->items, b->nitems, b->statuses, b->nstatuses, &meta,
                       &text) != TS_OK ||
      ts_history_commit(&o, u, ts_buf_cstr(&text), text.len, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "commit: %s", err.msg);
  ts_buf_cleanup(&text);
  return u;
}

static json_int_t num(const json_t *obj, const char *path)
{
  const json_t *v = obj;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *part = strtok(buf, "."); part; part = strtok(NULL, "."))
    v = json_object_get(v, part);
  return json_is_integer(v) ? json_integer_value(v) : -999;
}

/* The note of the item of `b` with `key` (NULL: none). */
static const struct ts_history_note *note(const struct ts_history_update *u,
                                          const struct ts_batch *b,
                                          const char *key)
{
  for (size_t i = 0; i < b->nitems; i++)
    if (!strcmp(b->items[i].key, key))
      return ts_history_note(u, i);
  return NULL;
}

static void setup(void)
{
  snprintf(state_dir, sizeof state_dir, "/tmp/ts-history-XXXXXX");
  if (!mkdtemp(state_dir))
    ts_test_fail(__FILE__, __LINE__, "mkdtemp");
}

static void teardown(void)
{
  REMOVE_TREE(state_dir);
}

static void first_run_marks_everything_new(void)
{
  setup();
  struct ts_batch b;
  ts_batch_init(&b);
  add(&b, "aaaaaaaaaaa", 1, 100);
  set_status(&b, TS_STATUS_OK, T1);
  struct ts_history_update *u = run(&b, T1);
  REQUIRE(u != NULL);
  const struct ts_history_note *a = note(u, &b, "aaaaaaaaaaa");
  REQUIRE(a != NULL);
  CHECK(a->is_new);
  CHECK(a->first_seen == T1 && a->last_seen == T1);
  CHECK_INT(a->runs, 1);
  CHECK_INT(json_array_size(a->series), 1);
  /* No previous run: no change can be known. */
  CHECK_INT(a->positions[0].previous, TS_HISTORY_UNKNOWN);
  CHECK_INT(a->positions[0].peak, 1);
  CHECK(ts_history_previous_run(u) == TS_TIME_UNKNOWN);
  CHECK_INT(json_array_size(ts_history_days(u)), 1);
  CHECK_STR(json_string_value(json_object_get(
                json_array_get(ts_history_days(u), 0), "date")),
            "2026-11-21");
  ts_history_update_free(u);
  ts_batch_cleanup(&b);
  teardown();
}

static void second_run_shows_rank_changes(void)
{
  setup();
  struct ts_batch r1, r2;
  ts_batch_init(&r1);
  ts_batch_init(&r2);
  add(&r1, "aaaaaaaaaaa", 1, 100);
  add(&r1, "bbbbbbbbbbb", 2, 50);
  set_status(&r1, TS_STATUS_OK, T1);
  ts_history_update_free(run(&r1, T1));

  add(&r2, "bbbbbbbbbbb", 1, 80);
  add(&r2, "ccccccccccc", 2, 10);
  set_status(&r2, TS_STATUS_OK, T1 + HOUR);
  struct ts_history_update *u = run(&r2, T1 + HOUR);
  REQUIRE(u != NULL);
  CHECK(ts_history_previous_run(u) == T1);
  const struct ts_history_note *bn = note(u, &r2, "bbbbbbbbbbb");
  REQUIRE(bn != NULL);
  CHECK(!bn->is_new);
  CHECK(bn->first_seen == T1);
  CHECK(bn->last_seen == T1 + HOUR);
  CHECK_INT(bn->runs, 2);
  CHECK_INT(bn->positions[0].previous, 2);
  CHECK_INT(bn->positions[0].peak, 1);
  CHECK_INT(json_array_size(bn->series), 2);
  CHECK_INT(json_integer_value(json_array_get(json_array_get(bn->series, 1),
                                              2)),
            80);
  const struct ts_history_note *cn = note(u, &r2, "ccccccccccc");
  REQUIRE(cn != NULL);
  CHECK(cn->is_new);
  CHECK_INT(cn->positions[0].previous, TS_HISTORY_NEW);
  CHECK_INT(cn->positions[0].peak, 2);
  ts_history_update_free(u);

  /* Recording the same run again compares against T1 again. */
  u = run(&r2, T1 + HOUR);
  REQUIRE(u != NULL);
  CHECK(ts_history_previous_run(u) == T1);
  CHECK_INT(note(u, &r2, "bbbbbbbbbbb")->runs, 2);
  CHECK_INT(note(u, &r2, "bbbbbbbbbbb")->positions[0].previous, 2);
  ts_history_update_free(u);
  ts_batch_cleanup(&r1);
  ts_batch_cleanup(&r2);
  teardown();
}

static void failed_list_keeps_last_good_until_too_old(void)
{
  setup();
  struct ts_batch r1;
  ts_batch_init(&r1);
  add(&r1, "aaaaaaaaaaa", 1, 100);
  add(&r1, "bbbbbbbbbbb", 2, 50);
  set_status(&r1, TS_STATUS_OK, T1);
  ts_history_update_free(run(&r1, T1));

  /* Five hours later the list fails: its items come back, stale. */
  struct ts_batch r2;
  ts_batch_init(&r2);
  set_status(&r2, TS_STATUS_FAILED, T1 + 5 * HOUR);
  struct ts_history_options o = options(T1 + 5 * HOUR);
  struct ts_error err;
  CHECK_INT(ts_history_fill_stale(&o, &r2, &err), TS_OK);
  CHECK_INT(r2.nitems, 2);
  CHECK(r2.items[0].positions[0].stale);
  CHECK_STR(r2.items[1].key, "bbbbbbbbbbb");
  CHECK_INT(r2.statuses[0].state, TS_STATUS_STALE);
  CHECK(r2.statuses[0].stale_since == T1);
  CHECK_INT(r2.statuses[0].items, 2);
  /* Stale items are not "seen": their history does not move. */
  struct ts_history_update *u = run(&r2, T1 + 5 * HOUR);
  REQUIRE(u != NULL);
  const struct ts_history_note *a = note(u, &r2, "aaaaaaaaaaa");
  REQUIRE(a != NULL);
  CHECK(a->last_seen == T1);
  CHECK_INT(a->runs, 1);
  CHECK(!a->is_new);
  /* A stale position shows its best rank but no change. */
  CHECK_INT(a->positions[0].peak, 1);
  CHECK_INT(a->positions[0].previous, TS_HISTORY_UNKNOWN);
  ts_history_update_free(u);

  /* Failing again: the stale data keeps its original age. */
  struct ts_batch r3;
  ts_batch_init(&r3);
  set_status(&r3, TS_STATUS_FAILED, T1 + 20 * HOUR);
  o = options(T1 + 20 * HOUR);
  CHECK_INT(ts_history_fill_stale(&o, &r3, &err), TS_OK);
  CHECK_INT(r3.nitems, 2);
  CHECK_INT(r3.statuses[0].state, TS_STATUS_STALE);
  CHECK(r3.statuses[0].stale_since == T1);
  ts_history_update_free(run(&r3, T1 + 20 * HOUR));

  /* 49 hours after the last success the data is too old and dropped. */
  struct ts_batch r4;
  ts_batch_init(&r4);
  set_status(&r4, TS_STATUS_FAILED, T1 + 49 * HOUR);
  o = options(T1 + 49 * HOUR);
  CHECK_INT(ts_history_fill_stale(&o, &r4, &err), TS_OK);
  CHECK_INT(r4.nitems, 0);
  CHECK_INT(r4.statuses[0].state, TS_STATUS_FAILED);
  CHECK_STR(r4.statuses[0].reason, "HTTP 503; last-good data from 49 h ago "
            "dropped (older than 48 h)");
  ts_batch_cleanup(&r1);
  ts_batch_cleanup(&r2);
  ts_batch_cleanup(&r3);
  ts_batch_cleanup(&r4);
  teardown();
}

static void archive_days_and_pruning(void)
{
  setup();
  struct ts_batch b;
  ts_batch_init(&b);
  add(&b, "aaaaaaaaaaa", 1, 100);
  add(&b, "zzzzzzzzzzz", 11, 1); /* outside the archive's top 10 */
  set_status(&b, TS_STATUS_OK, T1);
  for (int day = 0; day < 3; day++)
    ts_history_update_free(run(&b, T1 + day * 86400));
  struct ts_history_update *u = run(&b, T1 + 40 * 86400);
  REQUIRE(u != NULL);
  /* Days older than 30 fell out; the newest comes first. */
  const json_t *days = ts_history_days(u);
  CHECK_INT(json_array_size(days), 1);
  CHECK_STR(json_string_value(json_object_get(json_array_get(days, 0),
                                              "date")),
            "2026-12-31");
  struct ts_batch day;
  ts_batch_init(&day);
  struct ts_history_options o = options(T1 + 40 * 86400);
  struct ts_error err;
  CHECK_INT(ts_history_load_day(&o, "2026-12-31", &day, &err), TS_OK);
  CHECK_INT(day.nitems, 1);
  CHECK_INT(ts_history_load_day(&o, "2026-11-21", &day, &err), TS_ERR_NOTFOUND);
  CHECK_INT(ts_history_load_day(&o, "../../etc", &day, &err), TS_ERR_NOTFOUND);
  char path[256];
  snprintf(path, sizeof path, "%s/history/runs/2026-11-21T10-00-00Z.json",
           state_dir);
  CHECK(access(path, F_OK) != 0); /* only the last two runs are kept */
  ts_history_update_free(u);
  ts_batch_cleanup(&day);
  ts_batch_cleanup(&b);
  teardown();
}

/* Preparing writes nothing (a site that fails to publish leaves the
 * history as it was); committing afterwards writes what it would have
 * written anyway. */
static void prepare_writes_nothing_until_commit(void)
{
  setup();
  struct ts_batch b;
  ts_batch_init(&b);
  add(&b, "aaaaaaaaaaa", 1, 100);
  add(&b, "bbbbbbbbbbb", 2, 50);
  set_status(&b, TS_STATUS_OK, T1);
  struct ts_history_options o = options(T1);
  struct ts_history_update *u = NULL;
  struct ts_error err;
  REQUIRE(ts_history_record(&o, b.items, b.nitems, b.statuses, b.nstatuses,
                            &u, &err) == TS_OK);
  REQUIRE(ts_history_prepare(&o, u, &err) == TS_OK);
  char path[160];
  snprintf(path, sizeof path, "%s/history/items.json", state_dir);
  CHECK(access(path, F_OK) != 0);
  CHECK(ts_history_commit(&o, u, "{}", 2, &err) == TS_OK);
  ts_history_update_free(u);
  char *text = NULL;
  REQUIRE(ts_fs_read(path, 1 << 20, &text, NULL, &err) == TS_OK);
  json_t *doc = json_loads(text, 0, NULL);
  CHECK_INT(num(doc, "version"), 1);
  CHECK(num(doc, "items.bbbbbbbbbbb.first_seen") == T1);
  json_decref(doc);
  free(text);
  snprintf(path, sizeof path, "%s/history/days/2026-11-21.json", state_dir);
  CHECK(access(path, F_OK) == 0);
  ts_batch_cleanup(&b);
  teardown();
}

/* The saved run is a hard link to snapshot_file when that file holds the
 * snapshot's bytes, and a copy of its own when it does not. */
static void commit_links_the_published_snapshot(void)
{
  setup();
  struct ts_batch b;
  ts_batch_init(&b);
  add(&b, "aaaaaaaaaaa", 1, 100);
  set_status(&b, TS_STATUS_OK, T1);
  char published[160], saved[200];
  snprintf(published, sizeof published, "%s/snapshot.json", state_dir);
  static const char text[] = "{\"items\": []}";
  struct ts_error err;
  REQUIRE(ts_fs_write_atomic(published, text, strlen(text), &err) == TS_OK);
  snprintf(saved, sizeof saved, "%s/history/runs/2026-11-21T10-00-00Z.json",
           state_dir);
  for (int same = 1; same >= 0; same--) {
    struct ts_history_options o = options(T1);
    o.snapshot_file = published;
    struct ts_history_update *u = NULL;
    REQUIRE(ts_history_record(&o, b.items, b.nitems, b.statuses, b.nstatuses,
                              &u, &err) == TS_OK);
    /* The second time the published file holds other bytes. */
    const char *snap = same ? text : "{\"items\": [1]}";
    CHECK(ts_history_commit(&o, u, snap, strlen(snap), &err) == TS_OK);
    ts_history_update_free(u);
    struct stat a, c;
    REQUIRE(stat(published, &a) == 0 && stat(saved, &c) == 0);
    CHECK((a.st_ino == c.st_ino) == (same == 1));
    char *got = NULL;
    REQUIRE(ts_fs_read(saved, 1 << 20, &got, NULL, &err) == TS_OK);
    CHECK_STR(got, snap);
    free(got);
  }
  ts_batch_cleanup(&b);
  teardown();
}

/* A list the previous run did not have shows no change; a new item in a
 * list it had is "new"; an item with no history at all has no note. */
static void changes_only_for_lists_the_previous_run_had(void)
{
  setup();
  struct ts_batch r1, r2;
  ts_batch_init(&r1);
  ts_batch_init(&r2);
  add(&r1, "aaaaaaaaaaa", 3, 100);
  set_status(&r1, TS_STATUS_OK, T1);
  ts_history_update_free(run(&r1, T1));

  /* Merged: in JP (which the previous run had) and KR (which it did
   * not). */
  add(&r2, "aaaaaaaaaaa", 1, 100);
  struct ts_item_position both[2] = {{"youtube", "JP", 1, false},
                                     {"youtube", "KR", 5, false}};
  r2.items[0].positions = both;
  r2.items[0].npositions = 2;
  set_status(&r2, TS_STATUS_OK, T1 + HOUR);
  struct ts_status *kr = ts_batch_status(&r2, "youtube", "youtube", "KR");
  kr->state = TS_STATUS_OK;
  kr->fetched_at = T1 + HOUR;
  struct ts_history_update *u = run(&r2, T1 + HOUR);
  REQUIRE(u != NULL);
  const struct ts_item *it = &r2.items[0];
  const struct ts_history_note *a = ts_history_note(u, 0);
  REQUIRE(a != NULL);
  for (uint32_t k = 0; k < it->npositions; k++) {
    if (!strcmp(it->positions[k].region, "JP")) {
      CHECK_INT(a->positions[k].previous, 3);
      CHECK_INT(a->positions[k].peak, 1);
    } else {
      CHECK_INT(a->positions[k].previous, TS_HISTORY_UNKNOWN);
      CHECK_INT(a->positions[k].peak, 5);
    }
  }
  CHECK(ts_history_note(u, 1) == NULL); /* out of range */
  ts_history_update_free(u);
  ts_batch_cleanup(&r1);
  ts_batch_cleanup(&r2);
  teardown();
}

/* Last-good items whose history entry falls out of the kept days in the
 * same run still show their series (the note holds it). */
static void stale_note_outlives_its_forgotten_entry(void)
{
  setup();
  struct ts_batch r1, r2;
  ts_batch_init(&r1);
  ts_batch_init(&r2);
  add(&r1, "aaaaaaaaaaa", 1, 100);
  set_status(&r1, TS_STATUS_OK, T1);
  struct ts_history_options o = {
      .state_dir = state_dir, .history_days = 1, .stale_after_hours = 48,
      .now = T1};
  struct ts_history_update *u = NULL;
  struct ts_error err;
  REQUIRE(ts_history_record(&o, r1.items, r1.nitems, r1.statuses,
                            r1.nstatuses, &u, &err) == TS_OK);
  REQUIRE(ts_history_commit(&o, u, "{}", 2, &err) == TS_OK);
  ts_history_update_free(u);

  /* 30 hours later, kept days 1: the entry is older than the window. */
  add(&r2, "aaaaaaaaaaa", 1, 100);
  r2.items[0].positions[0].stale = true;
  set_status(&r2, TS_STATUS_STALE, T1 + 30 * HOUR);
  o.now = T1 + 30 * HOUR;
  REQUIRE(ts_history_record(&o, r2.items, r2.nitems, r2.statuses,
                            r2.nstatuses, &u, &err) == TS_OK);
  const struct ts_history_note *a = ts_history_note(u, 0);
  REQUIRE(a != NULL);
  CHECK(a->first_seen == T1 && a->last_seen == T1);
  CHECK_INT(a->runs, 1);
  CHECK_INT(json_array_size(a->series), 1);
  CHECK_INT(json_integer_value(json_array_get(json_array_get(a->series, 0),
                                              1)),
            1);
  REQUIRE(ts_history_prepare(&o, u, &err) == TS_OK);
  ts_history_update_free(u);
  ts_batch_cleanup(&r1);
  ts_batch_cleanup(&r2);
  teardown();
}

/* Counts the files in `dir` whose name contains ".tmp.". */
static size_t temporaries(const char *dir)
{
  size_t n = 0, count = 0;
  char **names = ts_fs_list_dir(dir, true, &n);
  for (size_t i = 0; i < n; i++)
    count += strstr(names[i], ".tmp.") != NULL;
  ts_fs_free_names(names, n);
  return count;
}

/* Staged files wait under temporary names: the history is unchanged until
 * commit renames them, and an update freed uncommitted (a failed publish)
 * takes them away. Committed, they hold what an unstaged commit writes. */
static void staged_files_appear_only_on_commit(void)
{
  setup();
  struct ts_batch b;
  ts_batch_init(&b);
  add(&b, "aaaaaaaaaaa", 1, 100);
  set_status(&b, TS_STATUS_OK, T1);
  struct ts_history_options o = options(T1);
  struct ts_history_update *u = NULL;
  struct ts_error err;
  char items[160], days[160], hist[160];
  snprintf(items, sizeof items, "%s/history/items.json", state_dir);
  snprintf(days, sizeof days, "%s/history/days", state_dir);
  snprintf(hist, sizeof hist, "%s/history", state_dir);

  /* Staged, then dropped: nothing of it stays. */
  REQUIRE(ts_history_record(&o, b.items, b.nitems, b.statuses, b.nstatuses,
                            &u, &err) == TS_OK);
  REQUIRE(ts_history_stage(&o, u, &err) == TS_OK);
  CHECK_INT(temporaries(hist), 1);
  CHECK_INT(temporaries(days), 1);
  CHECK(access(items, F_OK) != 0);
  ts_history_update_free(u);
  CHECK_INT(temporaries(hist), 0);
  CHECK_INT(temporaries(days), 0);
  CHECK(access(items, F_OK) != 0);

  /* Committed without staging, for reference. */
  REQUIRE(ts_history_record(&o, b.items, b.nitems, b.statuses, b.nstatuses,
                            &u, &err) == TS_OK);
  REQUIRE(ts_history_commit(&o, u, "{}", 2, &err) == TS_OK);
  ts_history_update_free(u);
  char *plain = NULL, *day_plain = NULL;
  char day[200];
  snprintf(day, sizeof day, "%s/2026-11-21.json", days);
  REQUIRE(ts_fs_read(items, 1 << 20, &plain, NULL, &err) == TS_OK);
  REQUIRE(ts_fs_read(day, 1 << 20, &day_plain, NULL, &err) == TS_OK);
  REQUIRE(remove(items) == 0 && remove(day) == 0);

  /* Staged and committed: the same bytes, no temporary left. */
  REQUIRE(ts_history_record(&o, b.items, b.nitems, b.statuses, b.nstatuses,
                            &u, &err) == TS_OK);
  REQUIRE(ts_history_stage(&o, u, &err) == TS_OK);
  REQUIRE(ts_history_commit(&o, u, "{}", 2, &err) == TS_OK);
  CHECK_INT(temporaries(hist), 0);
  CHECK_INT(temporaries(days), 0);
  ts_history_update_free(u);
  char *staged = NULL, *day_staged = NULL;
  REQUIRE(ts_fs_read(items, 1 << 20, &staged, NULL, &err) == TS_OK);
  REQUIRE(ts_fs_read(day, 1 << 20, &day_staged, NULL, &err) == TS_OK);
  CHECK_STR(staged, plain);
  CHECK_STR(day_staged, day_plain);
  struct stat st;
  CHECK(stat(items, &st) == 0 && (st.st_mode & 0777) == 0644);
  free(plain);
  free(day_plain);
  free(staged);
  free(day_staged);
  ts_batch_cleanup(&b);
  teardown();
}

/* Commits one run of `b` at T1, the day's file copied from `published`
 * (NULL: written from the items); returns that file's text (caller
 * frees). */
static char *day_file_of(struct ts_batch *b, const char *published,
                         const struct ts_snapshot_span *spans)
{
  struct ts_history_options o = options(T1);
  struct ts_history_update *u = NULL;
  struct ts_error err;
  char path[200], *text = NULL;
  snprintf(path, sizeof path, "%s/history/days/2026-11-21.json", state_dir);
  if (ts_history_record(&o, b->items, b->nitems, b->statuses, b->nstatuses,
                        &u, &err) != TS_OK)
    return NULL;
  ts_history_use_published(u, published, spans);
  if (ts_history_stage(&o, u, &err) != TS_OK ||
      ts_history_commit(&o, u, "{}", 2, &err) != TS_OK ||
      ts_fs_read(path, 1 << 20, &text, NULL, &err) != TS_OK)
    text = NULL;
  ts_history_update_free(u);
  return text;
}

/* The day's file holds each list's top ten of the run, not stale ones;
 * copied from the published snapshot's text, it has the very bytes it
 * has when written item by item, and it is that text that it copies. */
static void day_file_copies_the_published_items(void)
{
  setup();
  struct ts_batch b;
  ts_batch_init(&b);
  char key[16];
  for (uint32_t i = 1; i <= 14; i++) {
    snprintf(key, sizeof key, "k%02u", i);
    add(&b, key, i, 100 * i);
  }
  /* k12 is in the US top ten; k02 is there from last-good data only. */
  ts_item_set_position(&b, &b.items[11], "youtube", "US", 3);
  b.items[1].positions[0].stale = true;
  set_status(&b, TS_STATUS_OK, T1);
  ts_batch_status(&b, "youtube", "youtube", "US")->fetched_at = T1;

  char *plain = day_file_of(&b, NULL, NULL);
  REQUIRE(plain != NULL);
  struct ts_batch day;
  ts_batch_init(&day);
  struct ts_error err;
  struct ts_snapshot_meta day_meta;
  REQUIRE(ts_snapshot_parse("day", plain, strlen(plain), &day, &day_meta,
                            &err) == TS_OK);
  CHECK_INT(day.nitems, 10); /* k01, k03-k10, k12 */
  CHECK(strstr(plain, "\"k02\"") == NULL);
  CHECK(strstr(plain, "\"k12\"") != NULL);
  CHECK(strstr(plain, "\"k11\"") == NULL);
  ts_batch_cleanup(&day);

  struct ts_snapshot_meta meta = {T1, 1, 1};
  struct ts_buf text;
  ts_buf_init(&text, 0);
  struct ts_snapshot_span spans[14];
  REQUIRE(ts_snapshot_text_spans(b.items, b.nitems, b.statuses, b.nstatuses,
                                 &meta, &text, spans) == TS_OK);
  char *copied = day_file_of(&b, text.data, spans);
  REQUIRE(copied != NULL);
  CHECK_STR(copied, plain);

  /* An item's text changed in the published snapshot shows in the copy. */
  char *title = strstr(text.data, "\"title\":\"k03\"");
  REQUIRE(title != NULL);
  title[9] = 'K';
  char *changed = day_file_of(&b, text.data, spans);
  REQUIRE(changed != NULL);
  CHECK(strstr(changed, "\"title\":\"K03\"") != NULL);

  free(plain);
  free(copied);
  free(changed);
  ts_buf_cleanup(&text);
  ts_batch_cleanup(&b);
  teardown();
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(first_run_marks_everything_new),
    TEST(staged_files_appear_only_on_commit),
    TEST(second_run_shows_rank_changes),
    TEST(failed_list_keeps_last_good_until_too_old),
    TEST(archive_days_and_pruning),
    TEST(prepare_writes_nothing_until_commit),
    TEST(commit_links_the_published_snapshot),
    TEST(changes_only_for_lists_the_previous_run_had),
    TEST(stale_note_outlives_its_forgotten_entry),
    TEST(day_file_copies_the_published_items),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

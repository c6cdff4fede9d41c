/*
 * Reports for the people who run trendsite on a schedule: the GitHub
 * Actions run summary, and the YouTube quota a schedule will spend.
 *
 * Under GitHub Actions (GITHUB_ACTIONS=true) every failed or stale list is
 * already an annotation (util/log.h); this adds a Markdown table per run to
 * $GITHUB_STEP_SUMMARY, the page a run's summary shows: one row per list
 * with its status, items, requests, retries and time.
 *
 * The quota estimate multiplies the units one run spent by the runs a day
 * the cron schedule makes (TRENDSITE_CRON, set by the publishing workflow)
 * and compares with YouTube's default 10,000 units a day, warning before a
 * schedule would run out.
 */
#ifndef TS_REPORT_H
#define TS_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "item.h"
#include "util/error.h"
#include "util/log.h"

#define TS_YOUTUBE_DAILY_QUOTA 10000

/* How many times a day a five-field cron expression ("17 3/4 * * *")
 * fires, averaged over a week; false for an expression it cannot read.
 * Fields: minute hour day-of-month month day-of-week, each "*", "N",
 * "A-B", lists "A,B" and steps "/S" (a day-of-month or month restriction
 * is averaged too). */
bool ts_cron_runs_per_day(const char *expr, double *out);

struct ts_quota {
  unsigned units;        /* spent by this run */
  double runs_per_day;   /* 0 when the schedule is unknown */
  double per_day;        /* units * runs_per_day */
  bool over;             /* per_day above the daily quota */
  bool near;             /* per_day above 80% of it */
};

/* Sums the YouTube units of `statuses` and estimates a day's worth from
 * TRENDSITE_CRON. */
void ts_quota_estimate(const struct ts_status *statuses, size_t n,
                       struct ts_quota *out);

/* Logs the estimate: info normally, a warning when near or over. */
void ts_quota_log(const struct ts_log *log, const struct ts_quota *quota);

/* Appends the run's table to $GITHUB_STEP_SUMMARY when running under
 * GitHub Actions; does nothing elsewhere. `headline` is the first line
 * ("Published 412 files", "Nothing published: ..."). */
enum ts_result ts_report_github_summary(const char *headline,
                                        const struct ts_status *statuses,
                                        size_t n,
                                        const struct ts_quota *quota,
                                        struct ts_error *err);

#endif

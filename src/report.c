#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cron ---------------------------------------------------------------- */

/* Marks the values one cron field selects in `set` (lo..hi). False when
 * the field is malformed. */
static bool cron_field(const char *f, size_t len, int lo, int hi, bool *set)
{
  char buf[128];
  if (len == 0 || len >= sizeof buf)
    return false;
  memcpy(buf, f, len);
  buf[len] = '\0';
  char *save = NULL;
  for (char *part = strtok_r(buf, ",", &save); part;
       part = strtok_r(NULL, ",", &save)) {
    int a = lo, b = hi, step = 1;
    char *slash = strchr(part, '/');
    if (slash) {
      *slash = '\0';
      char *end;
      long s = strtol(slash + 1, &end, 10);
      if (*end || end == slash + 1 || s < 1 || s > hi)
        return false;
      step = (int)s;
    }
    if (strcmp(part, "*") != 0) {
      char *end;
      long x = strtol(part, &end, 10);
      if (end == part || x < lo || x > hi)
        return false;
      a = b = (int)x;
      if (*end == '-') {
        char *e2;
        long y = strtol(end + 1, &e2, 10);
        if (*e2 || e2 == end + 1 || y < x || y > hi)
          return false;
        b = (int)y;
      } else if (*end) {
        return false;
      } else if (slash) {
        b = hi; /* "5/15": from 5 to the end, every 15 */
      }
    }
    for (int v = a; v <= b; v += step)
      set[v - lo] = true;
  }
  return true;
}

static int count_set(const bool *set, int n)
{
  int c = 0;
  for (int i = 0; i < n; i++)
    c += set[i];
  return c;
}

bool ts_cron_runs_per_day(const char *expr, double *out)
{
  static const int lo[5] = {0, 0, 1, 1, 0}, hi[5] = {59, 23, 31, 12, 7};
  bool sets[5][60];
  memset(sets, 0, sizeof sets);
  const char *p = expr;
  for (int f = 0; f < 5; f++) {
    while (isspace((unsigned char)*p))
      p++;
    size_t len = strcspn(p, " \t");
    if (!cron_field(p, len, lo[f], hi[f], sets[f]))
      return false;
    p += len;
  }
  while (isspace((unsigned char)*p))
    p++;
  if (*p)
    return false;
  /* Day of week 7 is Sunday too. */
  if (sets[4][7])
    sets[4][0] = true;
  double per_day = (double)count_set(sets[0], 60) * count_set(sets[1], 24);
  double dom = count_set(sets[2], 31) / 31.0;
  double month = count_set(sets[3], 12) / 12.0;
  double dow = count_set(sets[4], 7) / 7.0;
  bool dom_any = dom == 1.0, dow_any = dow == 1.0;
  /* Cron runs when either restricted day field matches. */
  double day = dom_any && dow_any ? 1.0
               : dom_any          ? dow
               : dow_any          ? dom
                                  : dom + dow - dom * dow;
  *out = per_day * day * month;
  return true;
}

/* ---- quota --------------------------------------------------------------- */

void ts_quota_estimate(const struct ts_status *statuses, size_t n,
                       struct ts_quota *q)
{
  memset(q, 0, sizeof *q);
  for (size_t i = 0; i < n; i++)
    q->units += statuses[i].quota_units;
  const char *cron = getenv("TRENDSITE_CRON");
  if (cron && *cron && ts_cron_runs_per_day(cron, &q->runs_per_day)) {
    q->per_day = q->units * q->runs_per_day;
    q->over = q->per_day > TS_YOUTUBE_DAILY_QUOTA;
    q->near = q->per_day > 0.8 * TS_YOUTUBE_DAILY_QUOTA;
  }
}

void ts_quota_log(const struct ts_log *log, const struct ts_quota *q)
{
  if (!q->units)
    return;
  if (!q->runs_per_day) {
    ts_log_info(log, "youtube: %u quota unit%s this run (set TRENDSITE_CRON "
                "to the schedule for a daily estimate)",
                q->units, q->units == 1 ? "" : "s");
    return;
  }
  const char *cron = getenv("TRENDSITE_CRON");
  if (q->over)
    ts_log_warn(log, "youtube: %u quota units a run x %.1f runs a day "
                "(\"%s\") = %.0f units a day: over the %d-unit daily quota; "
                "run less often, fetch fewer regions or pages",
                q->units, q->runs_per_day, cron, q->per_day,
                TS_YOUTUBE_DAILY_QUOTA);
  else if (q->near)
    ts_log_warn(log, "youtube: %u quota units a run x %.1f runs a day "
                "(\"%s\") = %.0f units a day: close to the %d-unit daily "
                "quota", q->units, q->runs_per_day, cron, q->per_day,
                TS_YOUTUBE_DAILY_QUOTA);
  else
    ts_log_info(log, "youtube: %u quota unit%s a run x %.1f runs a day "
                "(\"%s\") = %.0f of %d units a day", q->units,
                q->units == 1 ? "" : "s", q->runs_per_day, cron, q->per_day,
                TS_YOUTUBE_DAILY_QUOTA);
}

/* ---- GitHub summary ------------------------------------------------------ */

/* Table cells must stay on one line and not break the table. */
static void cell(FILE *f, const char *s)
{
  for (; s && *s; s++) {
    if (*s == '|')
      fputs("\\|", f);
    else if (*s == '\n' || *s == '\r')
      fputc(' ', f);
    else
      fputc(*s, f);
  }
}

enum ts_result ts_report_github_summary(const char *headline,
                                        const struct ts_status *st, size_t n,
                                        const struct ts_quota *quota,
                                        struct ts_error *err)
{
  const char *gha = getenv("GITHUB_ACTIONS");
  const char *path = getenv("GITHUB_STEP_SUMMARY");
  if (!gha || strcmp(gha, "true") || !path || !*path)
    return TS_OK;
  FILE *f = fopen(path, "a");
  if (!f)
    return ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
  fputs("## trendsite\n\n", f);
  cell(f, headline);
  fputs("\n\n| source | region | status | items | requests | retries | "
        "time | reason |\n| --- | --- | --- | ---: | ---: | ---: | ---: | "
        "--- |\n",
        f);
  for (size_t i = 0; i < n; i++) {
    static const char *const icon[] = {"ok", "**failed**", "stale"};
    fputs("| ", f);
    cell(f, st[i].source);
    fputs(" | ", f);
    cell(f, st[i].region[0] ? st[i].region : "-");
    fprintf(f, " | %s | %u | %u | %u | %.1f s | ", icon[st[i].state],
            st[i].items, st[i].requests, st[i].retries,
            st[i].duration_ms / 1000.0);
    cell(f, st[i].reason ? st[i].reason : "");
    fputs(" |\n", f);
  }
  if (quota && quota->units) {
    fprintf(f, "\nYouTube quota: %u units this run", quota->units);
    if (quota->runs_per_day)
      fprintf(f, ", about %.0f of %d a day at %.1f runs a day%s",
              quota->per_day, TS_YOUTUBE_DAILY_QUOTA, quota->runs_per_day,
              quota->over ? " (**over the daily quota**)" : "");
    fputs(".\n", f);
  }
  fputc('\n', f);
  if (fclose(f) != 0)
    return ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
  return TS_OK;
}

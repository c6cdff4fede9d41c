/* Cron schedules, the quota estimate and the GitHub run summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "report.h"
#include "util/fs.h"

static void cron_runs_per_day(void)
{
  double n = 0;
  CHECK(ts_cron_runs_per_day("17 */3 * * *", &n));
  CHECK(n == 8);
  CHECK(ts_cron_runs_per_day("*/15 * * * *", &n));
  CHECK(n == 96);
  CHECK(ts_cron_runs_per_day("0,30 8-17 * * *", &n));
  CHECK(n == 20);
  CHECK(ts_cron_runs_per_day("0 9 * * 1-5", &n));
  CHECK(n > 0.714 && n < 0.715); /* five days of seven */
  CHECK(ts_cron_runs_per_day("5/20 0 * * *", &n));
  CHECK(n == 3); /* 5, 25, 45 */
  const char *bad[] = {"", "* * * *", "60 * * * *", "* 24 * * *",
                       "*/0 * * * *", "a * * * *", "1-0 * * * *",
                       "* * * * * *", "@hourly"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ts_cron_runs_per_day(bad[i], &n))
      ts_test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
}

static void quota_estimate_warns_before_the_limit(void)
{
  struct ts_status st[3];
  memset(st, 0, sizeof st);
  st[0].quota_units = 9;
  st[1].quota_units = 7;
  struct ts_quota q;
  unsetenv("TRENDSITE_CRON");
  ts_quota_estimate(st, 3, &q);
  CHECK_INT(q.units, 16);
  CHECK(q.runs_per_day == 0 && !q.over && !q.near);
  setenv("TRENDSITE_CRON", "17 */3 * * *", 1);
  ts_quota_estimate(st, 3, &q);
  CHECK(q.per_day == 128 && !q.near);
  st[2].quota_units = 4;
  setenv("TRENDSITE_CRON", "*/3 * * * *", 1); /* 480 runs a day */
  ts_quota_estimate(st, 3, &q);
  CHECK(q.per_day == 9600 && q.near && !q.over);
  setenv("TRENDSITE_CRON", "* * * * *", 1);
  ts_quota_estimate(st, 3, &q);
  CHECK(q.over);
  unsetenv("TRENDSITE_CRON");
}

static void github_summary_table(void)
{
  char path[] = "/tmp/ts-summary-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  struct ts_status st[2];
  memset(st, 0, sizeof st);
  st[0].source = "youtube";
  strcpy(st[0].region, "JP");
  st[0].state = TS_STATUS_FAILED;
  st[0].reason = "HTTP 403 quotaExceeded | pipe";
  st[0].requests = 1;
  st[1].source = "hackernews";
  st[1].items = 30;
  st[1].requests = 31;
  st[1].duration_ms = 1234;
  struct ts_error err;
  /* Outside GitHub Actions: nothing is written. */
  unsetenv("GITHUB_ACTIONS");
  setenv("GITHUB_STEP_SUMMARY", path, 1);
  CHECK_INT(ts_report_github_summary("Published", st, 2, NULL, &err), TS_OK);
  char *text = NULL;
  CHECK_INT(ts_fs_read(path, 1 << 20, &text, NULL, &err), TS_OK);
  CHECK_STR(text, "");
  free(text);
  setenv("GITHUB_ACTIONS", "true", 1);
  CHECK_INT(ts_report_github_summary("Published 12 files", st, 2, NULL, &err),
            TS_OK);
  CHECK_INT(ts_fs_read(path, 1 << 20, &text, NULL, &err), TS_OK);
  CHECK(strstr(text, "Published 12 files") != NULL);
  CHECK(strstr(text, "| youtube | JP | **failed** | 0 | 1 | 0 | 0.0 s | "
                     "HTTP 403 quotaExceeded \\| pipe |") != NULL);
  CHECK(strstr(text, "| hackernews | - | ok | 30 | 31 | 0 | 1.2 s |  |") !=
        NULL);
  free(text);
  unsetenv("GITHUB_ACTIONS");
  unsetenv("GITHUB_STEP_SUMMARY");
  unlink(path);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(cron_runs_per_day),
    TEST(quota_estimate_warns_before_the_limit),
    TEST(github_summary_table),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

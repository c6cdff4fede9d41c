/* Display strings: counts, times, durations and the sparkline. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "display.h"
#include "harness.h"
#include "util/cat.h"

static void counts_read_like_people_write_them(void)
{
  char b[32];
  CHECK_STR(ts_display_count(0, b, sizeof b), "0");
  CHECK_STR(ts_display_count(950, b, sizeof b), "950");
  CHECK_STR(ts_display_count(1000, b, sizeof b), "1K");
  CHECK_STR(ts_display_count(1234, b, sizeof b), "1.2K");
  CHECK_STR(ts_display_count(12345, b, sizeof b), "12K");
  CHECK_STR(ts_display_count(999999, b, sizeof b), "999K");
  CHECK_STR(ts_display_count(1234567, b, sizeof b), "1.2M");
  CHECK_STR(ts_display_count(22542530, b, sizeof b), "22M");
  CHECK_STR(ts_display_count(INT64_C(5000000000), b, sizeof b), "5B");
  CHECK_STR(ts_display_count(-5, b, sizeof b), "0");
  CHECK_STR(ts_display_count_unit(1, "view", "views", b, sizeof b), "1 view");
  CHECK_STR(ts_display_count_unit(1234567, "view", "views", b, sizeof b),
            "1.2M views");
}

static void times_and_durations(void)
{
  char b[64];
  const int64_t now = 1795255200; /* 2026-11-21T10:00:00Z */
  CHECK_STR(ts_display_ago(now - 30, now, b, sizeof b), "just now");
  CHECK_STR(ts_display_ago(now + 300, now, b, sizeof b), "just now");
  CHECK_STR(ts_display_ago(now - 300, now, b, sizeof b), "5 min ago");
  CHECK_STR(ts_display_ago(now - 3 * 3600 - 5, now, b, sizeof b), "3 h ago");
  CHECK_STR(ts_display_ago(now - 86400 - 5, now, b, sizeof b), "1 day ago");
  CHECK_STR(ts_display_ago(now - 5 * 86400, now, b, sizeof b), "5 days ago");
  CHECK_STR(ts_display_ago(now - 40 * 86400, now, b, sizeof b), "12 Oct 2026");
  CHECK_STR(ts_display_date(now, b, sizeof b), "21 Nov 2026");
  CHECK_STR(ts_display_datetime(now + 125, b, sizeof b),
            "21 Nov 2026, 10:02 UTC");
  CHECK_STR(ts_display_duration(58, b, sizeof b), "0:58");
  CHECK_STR(ts_display_duration(724, b, sizeof b), "12:04");
  CHECK_STR(ts_display_duration(3842, b, sizeof b), "1:04:02");
  CHECK_STR(ts_display_duration(93784, b, sizeof b), "26:03:04");
}

/* Pieces appended to a short array are cut where snprintf would cut
 * them, and the array always ends in a NUL. */
static void short_arrays_truncate_like_snprintf(void)
{
  const int64_t now = 1795255200;
  for (size_t size = 1; size <= 24; size++) {
    char ours[32], theirs[32];
    ts_display_datetime(now + 125, ours, size);
    snprintf(theirs, size, "%s", "21 Nov 2026, 10:02 UTC");
    CHECK_STR(ours, theirs);
    ts_display_count_unit(1234567, "view", "views", ours, size);
    snprintf(theirs, size, "%s", "1.2M views");
    CHECK_STR(ours, theirs);
    ts_display_duration(3842, ours, size);
    snprintf(theirs, size, "%s", "1:04:02");
    CHECK_STR(ours, theirs);
  }
  char b[32];
  struct ts_cat c = ts_cat_start(b, sizeof b);
  ts_cat_int(&c, INT64_MIN);
  CHECK_STR(b, "-9223372036854775808");
  c = ts_cat_start(b, sizeof b);
  ts_cat_uint(&c, UINT64_MAX, 0);
  ts_cat_uint(&c, 7, 3);
  CHECK_STR(b, "18446744073709551615007");
}

static void sparkline_needs_two_points_and_puts_rank_one_on_top(void)
{
  struct ts_buf out;
  ts_buf_init(&out, 0);
  json_t *one = json_loads("[[100, 3, null]]", 0, NULL);
  CHECK(!ts_display_sparkline(one, &out));
  CHECK_INT(out.len, 0);
  json_t *series = json_loads("[[0, 5, 10], [50, 1, 20], [100, 3, null]]", 0,
                              NULL);
  CHECK(ts_display_sparkline(series, &out));
  const char *svg = ts_buf_cstr(&out);
  CHECK(strncmp(svg, "<svg class=\"sparkline\"", 22) == 0);
  CHECK(strstr(svg, "points=\"3.0,37.0 80.0,3.0 157.0,20.0\"") != NULL);
  CHECK(strstr(svg, "</svg>") != NULL);
  json_decref(one);
  json_decref(series);
  ts_buf_cleanup(&out);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(counts_read_like_people_write_them),
    TEST(times_and_durations),
    TEST(short_arrays_truncate_like_snprintf),
    TEST(sparkline_needs_two_points_and_puts_rank_one_on_top),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

/* The run clock and the timestamp format. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/clock.h"

static void formats_and_parses_round_trip(void)
{
  char buf[21];
  ts_time_format(0, buf);
  CHECK_STR(buf, "1970-01-01T00:00:00Z");
  ts_time_format(1763719200, buf);
  CHECK_STR(buf, "2025-11-21T10:00:00Z");
  ts_time_format(951782400, buf); /* 2000-02-29: a leap day of a 400 year */
  CHECK_STR(buf, "2000-02-29T00:00:00Z");
  ts_time_format(-1, buf);
  CHECK_STR(buf, "1969-12-31T23:59:59Z");
  for (int64_t t = -86400 * 800; t < INT64_C(86400) * 365 * 200;
       t += 86400 * 37 + 3671) {
    int64_t back;
    ts_time_format(t, buf);
    if (!ts_time_parse(buf, &back) || back != t) {
      ts_test_fail(__FILE__, __LINE__, "%s did not round-trip", buf);
      return;
    }
  }
}

static void rejects_impossible_times(void)
{
  int64_t t = 42;
  const char *bad[] = {"2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z",
                       "2025-04-31T00:00:00Z", "2025-01-01T24:00:00Z",
                       "2025-01-01 00:00:00Z", "2025-01-01T00:00:00",
                       "2025-01-01T00:00:00+00:00", "", "1900-02-29T00:00:00Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ts_time_parse(bad[i], &t))
      ts_test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
  CHECK(t == 42);
}

static void trendsite_now_pins_the_clock(void)
{
  int64_t t;
  struct ts_error err;
  setenv("TRENDSITE_NOW", "2026-11-21T10:00:00Z", 1);
  CHECK(ts_clock_pinned());
  CHECK_INT(ts_clock_now(&t, &err), TS_OK);
  CHECK(t == 1795255200);
  setenv("TRENDSITE_NOW", "1795255201", 1);
  CHECK_INT(ts_clock_now(&t, &err), TS_OK);
  CHECK(t == 1795255201);
  setenv("TRENDSITE_NOW", "yesterday", 1);
  CHECK_INT(ts_clock_now(&t, &err), TS_ERR_CONFIG);
  CHECK_STR(err.msg, "TRENDSITE_NOW=\"yesterday\": expected a time like "
            "2026-11-21T10:00:00Z or Unix seconds");
  unsetenv("TRENDSITE_NOW");
  CHECK(!ts_clock_pinned());
  CHECK_INT(ts_clock_now(&t, &err), TS_OK);
  CHECK(t > 1700000000);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(formats_and_parses_round_trip),
    TEST(rejects_impossible_times),
    TEST(trendsite_now_pins_the_clock),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

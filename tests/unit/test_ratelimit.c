/* The sliding-log rate limiter: parsing, strictness in every window, and
 * no delay beyond what the limit demands. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ratelimit.h"

#define MS INT64_C(1000000)
#define SEC (1000 * MS)

static void parses_the_three_units(void)
{
  struct ts_rate r;
  struct ts_error err;
  CHECK_INT(ts_rate_parse("10/s", &r, &err), TS_OK);
  CHECK_INT(r.count, 10);
  CHECK(r.window_ns == SEC);
  CHECK_INT(ts_rate_parse(" 100 / min ", &r, &err), TS_OK);
  CHECK(r.count == 100 && r.window_ns == 60 * SEC);
  CHECK_INT(ts_rate_parse("5000/h", &r, &err), TS_OK);
  CHECK(r.count == 5000 && r.window_ns == 3600 * SEC);
  char buf[32];
  CHECK_STR(ts_rate_format(&r, buf, sizeof buf), "5000/h");
}

static void rejects_bad_rates_with_a_reason(void)
{
  struct ts_rate r = {7, SEC};
  struct ts_error err;
  const char *bad[] = {"", "10", "10/", "/s", "10/day", "ten/s", "-1/s",
                       "0/s", "10/s x", "1.5/s", "10/m", "99999999999/s"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (ts_rate_parse(bad[i], &r, &err) != TS_ERR_CONFIG)
      ts_test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
  }
  CHECK(r.count == 7); /* untouched on failure */
  ts_rate_parse("10/day", &r, &err);
  CHECK_STR(err.msg, "\"10/day\": expected N/s, N/min or N/h (like \"10/s\")");
  ts_rate_parse("0/s", &r, &err);
  CHECK(strstr(err.msg, "count must be 1 to") != NULL);
}

static void unlimited_never_waits(void)
{
  struct ts_rate none = {0, 0};
  struct ts_ratelimit rl;
  REQUIRE(ts_ratelimit_init(&rl, &none) == TS_OK);
  for (int i = 0; i < 1000; i++) {
    CHECK(ts_ratelimit_next(&rl, 5) == 5);
    ts_ratelimit_record(&rl, 5);
  }
  ts_ratelimit_cleanup(&rl);
}

/* Largest number of starts inside any half-open window [t, t + w). */
static int max_in_window(const int64_t *t, int n, int64_t w)
{
  int best = 0, lo = 0;
  for (int hi = 0; hi < n; hi++) {
    while (t[hi] - t[lo] >= w)
      lo++;
    if (hi - lo + 1 > best)
      best = hi - lo + 1;
  }
  return best;
}

/* Greedy clients asking at random moments: every start happens at the
 * earliest allowed time and no window of the limit's length ever holds more
 * than N starts. */
static void strict_in_every_window_and_never_late(void)
{
  struct ts_rate rate = {5, SEC};
  struct ts_ratelimit rl;
  REQUIRE(ts_ratelimit_init(&rl, &rate) == TS_OK);
  enum { N = 2000 };
  int64_t *starts = calloc(N, sizeof *starts);
  REQUIRE(starts != NULL);
  uint64_t x = 88172645463325252u;
  int64_t now = 0;
  for (int i = 0; i < N; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    now += (int64_t)(x % (400 * MS)); /* requests arrive 0-400 ms apart */
    int64_t at = ts_ratelimit_next(&rl, now);
    CHECK(at >= now);
    if (i >= 5) {
      /* Never later than "five starts ago + window + margin". */
      CHECK(at <= (starts[i - 5] + SEC + rl.margin_ns > now
                       ? starts[i - 5] + SEC + rl.margin_ns
                       : now));
    }
    ts_ratelimit_record(&rl, at);
    starts[i] = at;
    now = at;
  }
  CHECK_INT(max_in_window(starts, N, SEC), 5);
  /* The margin is small: a busy client still gets close to the limit. */
  struct ts_ratelimit busy;
  REQUIRE(ts_ratelimit_init(&busy, &rate) == TS_OK);
  int64_t t = 0;
  for (int i = 0; i < 500; i++) {
    t = ts_ratelimit_next(&busy, t);
    ts_ratelimit_record(&busy, t);
  }
  /* 500 starts at 5/s take 99 windows plus margins: under 101 s. */
  CHECK(t < 101 * SEC);
  CHECK(t >= 99 * SEC);
  ts_ratelimit_cleanup(&busy);
  ts_ratelimit_cleanup(&rl);
  free(starts);
}

static void burst_then_wait_for_the_oldest(void)
{
  struct ts_rate rate = {3, SEC};
  struct ts_ratelimit rl;
  REQUIRE(ts_ratelimit_init(&rl, &rate) == TS_OK);
  ts_ratelimit_record(&rl, 0);
  ts_ratelimit_record(&rl, 100 * MS);
  CHECK(ts_ratelimit_next(&rl, 150 * MS) == 150 * MS);
  ts_ratelimit_record(&rl, 150 * MS);
  /* Full: the next slot opens one window after the first start. */
  CHECK(ts_ratelimit_next(&rl, 200 * MS) == SEC + rl.margin_ns);
  ts_ratelimit_record(&rl, SEC + rl.margin_ns);
  CHECK(ts_ratelimit_next(&rl, SEC + rl.margin_ns) ==
        100 * MS + SEC + rl.margin_ns);
  ts_ratelimit_cleanup(&rl);
}

/* A start confirmed later (the request left after connecting) pushes the
 * next slot later; a stale confirmation for an evicted slot is ignored. */
static void confirmations_only_make_it_stricter(void)
{
  struct ts_rate rate = {2, SEC};
  struct ts_ratelimit rl;
  REQUIRE(ts_ratelimit_init(&rl, &rate) == TS_OK);
  struct ts_ratelimit_mark a = ts_ratelimit_record(&rl, 0);
  ts_ratelimit_record(&rl, 10 * MS);
  CHECK(ts_ratelimit_next(&rl, 20 * MS) == SEC + rl.margin_ns);
  ts_ratelimit_confirm(&rl, a, 40 * MS); /* sent 40 ms after handing over */
  CHECK(ts_ratelimit_next(&rl, 20 * MS) == 40 * MS + SEC + rl.margin_ns);
  ts_ratelimit_confirm(&rl, a, 5 * MS); /* never earlier */
  CHECK(ts_ratelimit_next(&rl, 20 * MS) == 40 * MS + SEC + rl.margin_ns);
  /* Two more starts evict `a`; confirming it now changes nothing. */
  ts_ratelimit_record(&rl, 2 * SEC);
  ts_ratelimit_record(&rl, 2 * SEC);
  int64_t before = ts_ratelimit_next(&rl, 2 * SEC);
  ts_ratelimit_confirm(&rl, a, 9 * SEC);
  CHECK(ts_ratelimit_next(&rl, 2 * SEC) == before);
  ts_ratelimit_cleanup(&rl);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(parses_the_three_units),
    TEST(rejects_bad_rates_with_a_reason),
    TEST(unlimited_never_waits),
    TEST(strict_in_every_window_and_never_late),
    TEST(burst_then_wait_for_the_oldest),
    TEST(confirmations_only_make_it_stricter),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

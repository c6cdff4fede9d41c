#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days-from-civil algorithm, written out from its
 * description: eras of 400 years make the leap rules arithmetic. */
int64_t ts_days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void ts_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Writes `v` as exactly `n` digits. */
static void put_digits(char *out, unsigned v, int n)
{
  for (int i = n - 1; i >= 0; i--) {
    out[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

void ts_time_format(int64_t t, char out[21])
{
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t secs = t - days * 86400;
  int64_t y;
  unsigned m, d;
  ts_civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > 9999) {
    memcpy(out, y < 0 ? "0000-01-01T00:00:00Z" : "9999-12-31T23:59:59Z", 21);
    return;
  }
  /* By hand rather than snprintf: snapshots and pages format tens of
   * thousands of times, and printf cost more than the rest of it. */
  memcpy(out, "0000-00-00T00:00:00Z", 21);
  put_digits(out, (unsigned)y, 4);
  put_digits(out + 5, m, 2);
  put_digits(out + 8, d, 2);
  put_digits(out + 11, (unsigned)(secs / 3600), 2);
  put_digits(out + 14, (unsigned)(secs / 60 % 60), 2);
  put_digits(out + 17, (unsigned)(secs % 60), 2);
}

static bool digits(const char *s, int n, unsigned *out)
{
  unsigned v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

bool ts_time_parse(const char *s, int64_t *out)
{
  unsigned y, mo, d, h, mi, se;
  if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':' || s[19] != 'Z')
    return false;
  if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
      !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
      !digits(s + 17, 2, &se))
    return false;
  static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
      se > 59)
    return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap)
    return false;
  *out = ts_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  return true;
}

bool ts_clock_pinned(void)
{
  const char *pin = getenv("TRENDSITE_NOW");
  return pin && *pin;
}

enum ts_result ts_clock_now(int64_t *out, struct ts_error *err)
{
  const char *pin = getenv("TRENDSITE_NOW");
  if (!pin || !*pin) {
    *out = (int64_t)time(NULL);
    return TS_OK;
  }
  if (ts_time_parse(pin, out))
    return TS_OK;
  char *end;
  errno = 0;
  long long v = strtoll(pin, &end, 10);
  if (!errno && *end == '\0' && end != pin && v >= 0) {
    *out = v;
    return TS_OK;
  }
  return ts_error_set(err, TS_ERR_CONFIG,
                      "TRENDSITE_NOW=\"%s\": expected a time like "
                      "2026-11-21T10:00:00Z or Unix seconds",
                      pin);
}

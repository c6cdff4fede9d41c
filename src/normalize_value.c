/*
 * Counts, times, durations and thumbnails as the APIs send them.
 *
 * Times are computed with a days-from-civil formula on the proleptic
 * Gregorian calendar instead of timegm(): timegm is not in C17 or POSIX,
 * and the portable substitutes (mktime with TZ=UTC) change process-wide
 * state.
 */
#include <math.h>
#include <string.h>

#include "normalize.h"
#include "util/floor.h"

bool ts_normalize_parse_count(const char *text, int64_t *out)
{
  if (!text || !*text)
    return false;
  /* Up to 18 digits cannot overflow: no check per digit (YouTube's
   * counts have at most 11). */
  uint64_t fast = 0;
  size_t i = 0;
  for (; i < 18; i++) {
    unsigned d = (unsigned char)text[i] - (unsigned)'0';
    if (d > 9)
      break;
    fast = fast * 10 + d;
  }
  if (!text[i]) {
    *out = (int64_t)fast;
    return true;
  }
  if (i < 18)
    return false;
  int64_t v = (int64_t)fast;
  for (const char *p = text + i; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    int d = *p - '0';
    if (v >= INT64_MAX / 10 &&
        (v > INT64_MAX / 10 || d > (int)(INT64_MAX % 10)))
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

/* 2^63 as a double, exactly. */
#define TWO_POW_63 9223372036854775808.0

bool ts_normalize_json_count(const json_t *value, int64_t *out)
{
  if (json_is_integer(value)) {
    json_int_t v = json_integer_value(value);
    if (v < 0)
      return false;
    *out = (int64_t)v;
    return true;
  }
  if (json_is_string(value)) {
    const char *s = json_string_value(value);
    if (strlen(s) != json_string_length(value))
      return false;
    return ts_normalize_parse_count(s, out);
  }
  if (json_is_real(value)) {
    double d = json_real_value(value);
    if (!isfinite(d) || d < 0 || d >= TWO_POW_63 || ts_floor(d) != d)
      return false;
    *out = (int64_t)d;
    return true;
  }
  return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. Years are counted
 * from March so that the leap day is the last day of the year; a 400-year
 * era has exactly 146097 days. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  if (m <= 2)
    y--;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t year_of_era = y - era * 400;               /* 0..399 */
  int month_from_march = m > 2 ? m - 3 : m + 9;      /* 0..11 */
  int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 -
                       year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468; /* 719468: 0000-03-01 */
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static inline int days_in_month(int y, int m)
{
  static const int days[12] = {31, 28, 31, 30, 31, 30,
                               31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads exactly `n` (2 or 4) digits. Unrolled, so that each call is a
 * few instructions in place: a time has six of them. A NUL is not a digit,
 * so nothing past the end of the string is read. */
static inline bool digits(const char **p, int n, int *out)
{
  const unsigned char *q = (const unsigned char *)*p;
  unsigned a = q[0] - (unsigned)'0';
  if (a > 9)
    return false;
  unsigned b = q[1] - (unsigned)'0';
  if (b > 9)
    return false;
  unsigned v = a * 10 + b;
  if (n == 4) {
    unsigned c = q[2] - (unsigned)'0';
    if (c > 9)
      return false;
    unsigned d = q[3] - (unsigned)'0';
    if (d > 9)
      return false;
    v = v * 100 + c * 10 + d;
  }
  *p += n;
  *out = (int)v;
  return true;
}

/* Unix seconds of years 0000 to 9999. */
#define TIME_MIN INT64_C(-62167219200)
#define TIME_MAX INT64_C(253402300799)

bool ts_normalize_parse_time(const char *text, int64_t *out)
{
  if (!text)
    return false;
  const char *p = text;
  int y, mo, d, h = 0, mi = 0, s = 0;
  if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
      *p++ != '-' || !digits(&p, 2, &d))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    return false;
  int64_t offset = 0;
  if (*p) {
    if (*p != 'T' && *p != 't' && *p != ' ')
      return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
      return false;
    if (*p == ':') {
      p++;
      if (!digits(&p, 2, &s))
        return false;
      if (*p == '.' || *p == ',') {
        p++;
        if (*p < '0' || *p > '9')
          return false;
        while (*p >= '0' && *p <= '9')
          p++;
      }
    }
    if (h > 23 || mi > 59 || s > 60)
      return false;
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
      if (!digits(&p, 2, &oh))
        return false;
      bool colon = *p == ':';
      p += colon;
      if ((*p || colon) && !digits(&p, 2, &om))
        return false;
      if (oh > 23 || om > 59)
        return false;
      offset = sign * (oh * 3600 + om * 60);
    }
    if (*p)
      return false;
  }
  *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  return true;
}

bool ts_normalize_json_time(const json_t *value, int64_t *out)
{
  int64_t t;
  if (json_is_integer(value)) {
    t = (int64_t)json_integer_value(value);
  } else if (json_is_real(value)) {
    double d = json_real_value(value);
    if (!isfinite(d) || d < (double)TIME_MIN || d > (double)TIME_MAX)
      return false;
    t = (int64_t)ts_floor(d);
  } else if (json_is_string(value)) {
    const char *s = json_string_value(value);
    if (strlen(s) != json_string_length(value) ||
        !ts_normalize_parse_time(s, &t))
      return false;
  } else {
    return false;
  }
  if (t < TIME_MIN || t > TIME_MAX)
    return false;
  *out = t;
  return true;
}

bool ts_normalize_format_time(int64_t t, char out[TS_NORMALIZE_TIME_SIZE])
{
  out[0] = '\0';
  if (t < TIME_MIN || t > TIME_MAX)
    return false;
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days--;
  }
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  int fields[6] = {(int)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
                   (int)(secs % 60)};
  static const char layout[] = "0000-00-00T00:00:00Z";
  memcpy(out, layout, sizeof layout);
  /* Each field's last digit position in the layout, and its width. */
  static const int end[6] = {3, 6, 9, 12, 15, 18}, width[6] = {4, 2, 2, 2,
                                                               2, 2};
  for (int f = 0; f < 6; f++)
    for (int i = 0, v = fields[f]; i < width[f]; i++, v /= 10)
      out[end[f] - i] = (char)('0' + v % 10);
  return true;
}

bool ts_normalize_parse_duration(const char *text, int64_t *out)
{
  if (!text || *text != 'P')
    return false;
  const char *p = text + 1;
  bool in_time = false, any = false;
  int rank = 0; /* designators must come in the order W D | H M S */
  int64_t total = 0;
  while (*p) {
    if (*p == 'T') {
      if (in_time || !p[1])
        return false;
      in_time = true;
      p++;
      continue;
    }
    if (*p < '0' || *p > '9')
      return false;
    int64_t v = 0;
    int ndigits = 0;
    while (*p >= '0' && *p <= '9') {
      int dgt = *p++ - '0';
      /* 18 digits cannot overflow; past that, check every one. */
      if (++ndigits > 18 && v > (INT64_MAX - dgt) / 10)
        return false;
      v = v * 10 + dgt;
    }
    bool fraction = false;
    if (*p == '.' || *p == ',') {
      p++;
      if (*p < '0' || *p > '9')
        return false;
      while (*p >= '0' && *p <= '9')
        p++;
      fraction = true;
    }
    int r;
    int64_t unit;
    switch (*p) {
    case 'W': r = 1, unit = 604800; break;
    case 'D': r = 2, unit = 86400; break;
    case 'H': r = 3, unit = 3600; break;
    case 'M': r = 4, unit = 60; break;
    case 'S': r = 5, unit = 1; break;
    default: return false;
    }
    p++;
    /* Date designators before T, time designators after it; a fraction
     * only on seconds, the last one. */
    if ((r >= 3) != in_time || r <= rank || (fraction && r != 5))
      return false;
    rank = r;
    /* Small numbers cannot overflow; the division is for the rest. */
    if (!(v < INT64_C(1) << 40 && total < INT64_C(1) << 61) &&
        v > (INT64_MAX - total) / unit)
      return false;
    total += v * unit;
    any = true;
  }
  if (!any)
    return false;
  *out = total;
  return true;
}

static bool thumbnail_usable(const json_t *t, struct ts_thumbnail *out)
{
  if (!json_is_object(t))
    return false;
  const json_t *url = json_object_get(t, "url");
  const char *s = json_string_value(url);
  if (!s || strlen(s) != json_string_length(url) || strlen(s) <= 8 ||
      strncmp(s, "https://", 8) != 0)
    return false;
  for (const char *c = s; *c; c++)
    if ((unsigned char)*c <= ' ' || *c == 0x7F)
      return false;
  int32_t size[2] = {0, 0};
  const char *names[2] = {"width", "height"};
  for (int i = 0; i < 2; i++) {
    const json_t *v = json_object_get(t, names[i]);
    if (json_is_integer(v) && json_integer_value(v) > 0 &&
        json_integer_value(v) <= 100000)
      size[i] = (int32_t)json_integer_value(v);
  }
  out->url = s;
  out->width = size[0];
  out->height = size[1];
  return true;
}

bool ts_normalize_pick_thumbnail(const json_t *thumbnails,
                                 const char *const *prefer,
                                 struct ts_thumbnail *out)
{
  static const char *const youtube[] = {"maxres", "standard", "high",
                                        "medium", "default", NULL};
  if (!json_is_object(thumbnails))
    return false;
  if (!prefer)
    prefer = youtube;
  for (const char *const *p = prefer; *p; p++)
    if (thumbnail_usable(json_object_get(thumbnails, *p), out))
      return true;
  /* Otherwise the widest of the rest; ties by name, so the answer does
   * not depend on member order. */
  bool found = false;
  const char *best_key = NULL;
  struct ts_thumbnail best = {0}, cand;
  const char *key;
  json_t *value;
  json_object_foreach ((json_t *)thumbnails, key, value) {
    bool listed = false;
    for (const char *const *p = prefer; *p && !listed; p++)
      listed = !strcmp(*p, key);
    if (listed || !thumbnail_usable(value, &cand))
      continue;
    if (!found || cand.width > best.width ||
        (cand.width == best.width && strcmp(key, best_key) < 0)) {
      best = cand;
      best_key = key;
      found = true;
    }
  }
  if (found)
    *out = best;
  return found;
}

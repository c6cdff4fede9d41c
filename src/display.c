#include "display.h"

#include <string.h>

#include "util/cat.h"
#include "util/clock.h"

/* Appends the decimal digits of `v` at `p` (at most 20 bytes); returns
 * the end. By hand: pages show thousands of counts, and snprintf cost
 * more than the rest of building a page's data. */
static char *put_uint(char *p, uint64_t v)
{
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    *p++ = tmp[--n];
  return p;
}

char *ts_display_count(int64_t n, char *out, size_t size)
{
  static const struct {
    int64_t unit;
    char suffix;
  } scales[] = {
    {INT64_C(1000000000000), 'T'},
    {INT64_C(1000000000), 'B'},
    {INT64_C(1000000), 'M'},
    {INT64_C(1000), 'K'},
  };
  char tmp[32], *p = tmp;
  if (n < 0)
    n = 0;
  size_t i = 0;
  while (i < sizeof scales / sizeof scales[0] && n < scales[i].unit)
    i++;
  if (i == sizeof scales / sizeof scales[0]) {
    p = put_uint(p, (uint64_t)n);
  } else {
    int64_t u = scales[i].unit;
    /* One decimal below 10 units ("1.2M"), none above ("12M"); truncate
     * rather than round so 999,999 never shows as "1000K". */
    if (n < 10 * u) {
      int64_t tenths = n / (u / 10);
      p = put_uint(p, (uint64_t)(tenths / 10));
      if (tenths % 10) {
        *p++ = '.';
        *p++ = (char)('0' + tenths % 10);
      }
    } else {
      p = put_uint(p, (uint64_t)(n / u));
    }
    *p++ = scales[i].suffix;
  }
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_strn(&c, tmp, (size_t)(p - tmp));
  return out;
}

char *ts_display_count_unit(int64_t n, const char *one, const char *many,
                            char *out, size_t size)
{
  char num[32];
  ts_display_count(n, num, sizeof num);
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_str(&c, num);
  ts_cat_strn(&c, " ", 1);
  ts_cat_str(&c, n == 1 ? one : many);
  return out;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                     "May", "Jun", "Jul", "Aug",
                                     "Sep", "Oct", "Nov", "Dec"};

char *ts_display_date(int64_t t, char *out, size_t size)
{
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t y;
  unsigned m, d;
  ts_civil_from_days(days, &y, &m, &d);
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_uint(&c, d, 0);
  ts_cat_strn(&c, " ", 1);
  ts_cat_str(&c, months[(m - 1) % 12]);
  ts_cat_strn(&c, " ", 1);
  ts_cat_int(&c, y);
  return out;
}

char *ts_display_datetime(int64_t t, char *out, size_t size)
{
  char date[32];
  int64_t secs = ((t % 86400) + 86400) % 86400;
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_str(&c, ts_display_date(t, date, sizeof date));
  ts_cat_strn(&c, ", ", 2);
  ts_cat_uint(&c, (uint64_t)(secs / 3600), 2);
  ts_cat_strn(&c, ":", 1);
  ts_cat_uint(&c, (uint64_t)(secs / 60 % 60), 2);
  ts_cat_str(&c, " UTC");
  return out;
}

/* "N unit" into `out`. */
static char *count_of(int64_t n, const char *unit, char *out, size_t size)
{
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_int(&c, n);
  ts_cat_str(&c, unit);
  return out;
}

char *ts_display_ago(int64_t t, int64_t now, char *out, size_t size)
{
  int64_t d = now - t;
  struct ts_cat c = ts_cat_start(out, size);
  if (d < 60)
    ts_cat_str(&c, "just now");
  else if (d < 3600)
    count_of(d / 60, " min ago", out, size);
  else if (d < 86400)
    count_of(d / 3600, " h ago", out, size);
  else if (d < 2 * 86400)
    ts_cat_str(&c, "1 day ago");
  else if (d < 30 * 86400)
    count_of(d / 86400, " days ago", out, size);
  else
    ts_display_date(t, out, size);
  return out;
}

char *ts_display_duration(int64_t s, char *out, size_t size)
{
  if (s < 0)
    s = 0;
  struct ts_cat c = ts_cat_start(out, size);
  if (s >= 3600) {
    ts_cat_int(&c, s / 3600);
    ts_cat_strn(&c, ":", 1);
    ts_cat_uint(&c, (uint64_t)(s / 60 % 60), 2);
  } else {
    ts_cat_int(&c, s / 60);
  }
  ts_cat_strn(&c, ":", 1);
  ts_cat_uint(&c, (uint64_t)(s % 60), 2);
  return out;
}

bool ts_display_sparkline(const json_t *series, struct ts_buf *out)
{
  size_t n = json_array_size(series);
  if (n < 2)
    return false;
  const double w = 160, h = 40, pad = 3;
  int64_t t0 = json_integer_value(json_array_get(json_array_get(series, 0), 0));
  int64_t t1 =
      json_integer_value(json_array_get(json_array_get(series, n - 1), 0));
  int64_t worst = 1;
  for (size_t i = 0; i < n; i++) {
    int64_t r = json_integer_value(json_array_get(json_array_get(series, i), 1));
    if (r > worst)
      worst = r;
  }
  double span = t1 > t0 ? (double)(t1 - t0) : 1;
  ts_buf_printf(out,
                "<svg class=\"sparkline\" viewBox=\"0 0 %.0f %.0f\" "
                "width=\"%.0f\" height=\"%.0f\" role=\"img\" "
                "aria-hidden=\"true\" focusable=\"false\">"
                "<polyline fill=\"none\" stroke=\"currentColor\" "
                "stroke-width=\"2\" stroke-linejoin=\"round\" points=\"",
                w, h, w, h);
  double lx = 0, ly = 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *p = json_array_get(series, i);
    int64_t t = json_integer_value(json_array_get(p, 0));
    int64_t r = json_integer_value(json_array_get(p, 1));
    if (r < 1)
      r = 1;
    lx = pad + (w - 2 * pad) * (double)(t - t0) / span;
    /* Rank 1 at the top; a single rank everywhere draws a flat line. */
    ly = worst > 1 ? pad + (h - 2 * pad) * (double)(r - 1) / (double)(worst - 1)
                   : h / 2;
    ts_buf_printf(out, "%s%.1f,%.1f", i ? " " : "", lx, ly);
  }
  ts_buf_printf(out, "\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                "fill=\"currentColor\"/></svg>", lx, ly);
  return true;
}

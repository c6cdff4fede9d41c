#include "ratelimit.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S (INT64_C(1000) * NS_PER_MS)

static const struct {
  const char *unit;
  int64_t window_ns;
} units[] = {
  {"s", NS_PER_S},
  {"min", 60 * NS_PER_S},
  {"h", 3600 * NS_PER_S},
};

enum ts_result ts_rate_parse(const char *text, struct ts_rate *out,
                             struct ts_error *err)
{
  const char *p = text;
  while (isspace((unsigned char)*p))
    p++;
  if (!isdigit((unsigned char)*p))
    goto bad;
  errno = 0;
  char *end;
  unsigned long long n = strtoull(p, &end, 10);
  if (errno || n == 0 || n > TS_RATE_MAX_COUNT)
    return ts_error_set(err, TS_ERR_CONFIG,
                        "\"%s\": the count must be 1 to %u", text,
                        TS_RATE_MAX_COUNT);
  p = end;
  while (isspace((unsigned char)*p))
    p++;
  if (*p++ != '/')
    goto bad;
  while (isspace((unsigned char)*p))
    p++;
  size_t len = 0;
  while (isalpha((unsigned char)p[len]))
    len++;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strlen(units[i].unit) == len && !strncmp(p, units[i].unit, len)) {
      const char *rest = p + len;
      while (isspace((unsigned char)*rest))
        rest++;
      if (*rest)
        goto bad;
      out->count = (uint32_t)n;
      out->window_ns = units[i].window_ns;
      return TS_OK;
    }
  }
bad:
  return ts_error_set(err, TS_ERR_CONFIG,
                      "\"%s\": expected N/s, N/min or N/h (like \"10/s\")",
                      text);
}

const char *ts_rate_format(const struct ts_rate *rate, char *buf, int size)
{
  if (rate->count == 0)
    snprintf(buf, (size_t)size, "unlimited");
  else if (rate->window_ns == NS_PER_S)
    snprintf(buf, (size_t)size, "%" PRIu32 "/s", rate->count);
  else if (rate->window_ns == 60 * NS_PER_S)
    snprintf(buf, (size_t)size, "%" PRIu32 "/min", rate->count);
  else if (rate->window_ns == 3600 * NS_PER_S)
    snprintf(buf, (size_t)size, "%" PRIu32 "/h", rate->count);
  else
    snprintf(buf, (size_t)size, "%" PRIu32 "/%" PRId64 "ms", rate->count,
             rate->window_ns / NS_PER_MS);
  return buf;
}

enum ts_result ts_ratelimit_init(struct ts_ratelimit *rl,
                                 const struct ts_rate *rate)
{
  memset(rl, 0, sizeof *rl);
  rl->rate = *rate;
  if (rate->count == 0)
    return TS_OK;
  rl->starts = calloc(rate->count, sizeof *rl->starts);
  if (!rl->starts)
    return TS_ERR_NOMEM;
  int64_t margin = rate->window_ns / 100;
  if (margin < 2 * NS_PER_MS)
    margin = 2 * NS_PER_MS;
  if (margin > NS_PER_S)
    margin = NS_PER_S;
  rl->margin_ns = margin;
  return TS_OK;
}

void ts_ratelimit_cleanup(struct ts_ratelimit *rl)
{
  free(rl->starts);
  rl->starts = NULL;
}

int64_t ts_ratelimit_next(const struct ts_ratelimit *rl, int64_t now)
{
  if (rl->rate.count == 0 || rl->used < rl->rate.count)
    return now;
  /* The ring is full: the oldest of the last N starts opens the next slot
   * one window (plus margin) after it began. */
  int64_t open = rl->starts[rl->next] + rl->rate.window_ns + rl->margin_ns;
  return open > now ? open : now;
}

void ts_ratelimit_record(struct ts_ratelimit *rl, int64_t now)
{
  if (rl->rate.count == 0)
    return;
  if (rl->used < rl->rate.count) {
    rl->starts[rl->used++] = now;
    return;
  }
  rl->starts[rl->next] = now;
  rl->next = (rl->next + 1) % rl->rate.count;
}

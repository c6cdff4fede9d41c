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
  rl->seqs = calloc(rate->count, sizeof *rl->seqs);
  if (!rl->starts || !rl->seqs) {
    ts_ratelimit_cleanup(rl);
    return TS_ERR_NOMEM;
  }
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
  free(rl->seqs);
  rl->starts = NULL;
  rl->seqs = NULL;
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

struct ts_ratelimit_mark ts_ratelimit_record(struct ts_ratelimit *rl,
                                             int64_t now)
{
  struct ts_ratelimit_mark mark = {0, 0};
  if (rl->rate.count == 0)
    return mark;
  uint32_t slot;
  if (rl->used < rl->rate.count) {
    slot = rl->used++;
  } else {
    slot = rl->next;
    rl->next = (rl->next + 1) % rl->rate.count;
  }
  rl->starts[slot] = now;
  rl->seqs[slot] = ++rl->recorded;
  mark.slot = slot;
  mark.seq = rl->recorded;
  return mark;
}

void ts_ratelimit_confirm(struct ts_ratelimit *rl,
                          struct ts_ratelimit_mark mark, int64_t t)
{
  /* A slot holding a later start means this one was evicted: N newer
   * starts came after it, and its time no longer matters. The ring is
   * then not strictly ordered by time, which only makes _next wait
   * longer (it reads the oldest slot, never an earlier time). */
  if (rl->rate.count == 0 || mark.seq == 0 || rl->seqs[mark.slot] != mark.seq)
    return;
  if (t > rl->starts[mark.slot])
    rl->starts[mark.slot] = t;
}

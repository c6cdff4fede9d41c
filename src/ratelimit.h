/*
 * Request-rate limits: "N requests per window", strict in every window.
 *
 * A limit like `5/s` must hold for ANY window of one second, not only for
 * windows aligned to the clock, and it counts every request that leaves,
 * retries and follow-ups included. A token bucket does not give that (it
 * lets a full bucket plus the refill through in one window), so this is a
 * sliding log: the start times of the last N requests in a ring. A new
 * request may start at time t when the oldest of those N started at or
 * before t - window - margin, which is the earliest moment it can go, so
 * requests are never delayed longer than the limit demands.
 *
 * A start is recorded when the request is handed to libcurl (so the slot
 * is taken at once) and confirmed when libcurl is about to send it, after
 * connecting: the confirmed time is the one that counts, since a slow
 * connection setup would otherwise let a later request arrive within the
 * same window as an earlier one. The margin (a small fraction of the
 * window) absorbs what is left: the moment the server reads the request
 * differs a little from the moment it was sent.
 *
 * Times are nanoseconds on a monotonic clock (uv_hrtime in the engine).
 */
#ifndef TS_RATELIMIT_H
#define TS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* A parsed "N/s", "N/min" or "N/h". count == 0 means "no limit". */
struct ts_rate {
  uint32_t count;
  int64_t window_ns;
};

/* The largest N accepted: the log keeps one slot per request in a window. */
#define TS_RATE_MAX_COUNT 1000000u

/* Parses `text` ("10/s", "100/min", "5000/h"; spaces around '/' allowed).
 * On error fills `err` with a message that says what is expected. */
enum ts_result ts_rate_parse(const char *text, struct ts_rate *out,
                             struct ts_error *err);

/* Formats a rate back into "N/s" form; returns `buf`. */
const char *ts_rate_format(const struct ts_rate *rate, char *buf, int size);

struct ts_ratelimit {
  struct ts_rate rate;
  int64_t margin_ns; /* added to the window, see above */
  int64_t *starts;   /* ring of the last rate.count start times; owned */
  uint64_t *seqs;    /* which start each slot holds, for confirmations */
  uint64_t recorded; /* starts recorded so far */
  uint32_t used;     /* slots filled so far (< count until the ring wraps) */
  uint32_t next;     /* index of the oldest start once the ring is full */
};

/* Prepares `rl` for `rate` (a zero rate never limits). The margin is 1% of
 * the window, at least 2 ms and at most 1 s. Returns TS_ERR_NOMEM when the
 * log cannot be allocated. Pair with ts_ratelimit_cleanup. */
enum ts_result ts_ratelimit_init(struct ts_ratelimit *rl,
                                 const struct ts_rate *rate);
void ts_ratelimit_cleanup(struct ts_ratelimit *rl);

/* The earliest time >= now at which one more request may start. */
int64_t ts_ratelimit_next(const struct ts_ratelimit *rl, int64_t now);

/* Identifies a recorded start, to confirm it later. */
struct ts_ratelimit_mark {
  uint32_t slot;
  uint64_t seq;
};

/* Records that a request started at `now` (callers check _next first). */
struct ts_ratelimit_mark ts_ratelimit_record(struct ts_ratelimit *rl,
                                             int64_t now);

/* Moves a recorded start to `t`, the moment the request is really sent,
 * if that is later and the slot still holds it. Only ever makes the limit
 * stricter. */
void ts_ratelimit_confirm(struct ts_ratelimit *rl,
                          struct ts_ratelimit_mark mark, int64_t t);

#endif

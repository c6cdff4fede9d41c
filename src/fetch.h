/*
 * The fetch engine: many HTTP requests to a few APIs, as fast as the APIs
 * allow and never faster.
 *
 * libcurl's multi interface runs on a libuv loop (curl_multi_socket_action:
 * one uv_poll_t per socket libcurl announces, one single-shot uv_timer_t
 * for libcurl's timeout). Above it sits a scheduler that starts a queued
 * request as soon as all of these allow it:
 *   - the run's concurrency cap (requests in flight, counted by us: libcurl's
 *     connection caps are not request caps);
 *   - the global rate limit and the request's source's rate limit, strict in
 *     every window (see ratelimit.h), retries and follow-ups included;
 *   - the source is not stopped (an API said its quota is exhausted);
 *   - the run's deadline has not passed.
 *
 * Each request ends in exactly one outcome, reported once to its callback.
 * Retries happen inside the engine: 429/503 honour Retry-After, 5xx,
 * timeouts and connection errors back off exponentially with full jitter,
 * other 4xx are final, and a wait that would pass the deadline is not
 * taken. A source's classifier maps API-specific answers (YouTube's 403
 * quotaExceeded vs rateLimitExceeded) onto these rules.
 *
 * Callbacks may add follow-up requests (pagination, fan-out) with
 * ts_fetch_add; they obey the same limits and count toward their source.
 *
 * This is the only module that includes curl.h and uv.h.
 */
#ifndef TS_FETCH_H
#define TS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"
#include "util/error.h"
#include "util/log.h"

struct ts_fetch;

enum ts_fetch_outcome {
  TS_FETCH_OK,            /* 2xx, body delivered */
  TS_FETCH_NOT_MODIFIED,  /* 304 on a conditional request; cached body */
  TS_FETCH_HTTP_ERROR,    /* non-2xx after retries; status and reason set */
  TS_FETCH_TIMEOUT,       /* connect, total or stall timeout */
  TS_FETCH_TOO_LARGE,     /* body passed max_response_bytes; aborted */
  TS_FETCH_CANCELLED,     /* deadline reached or source stopped */
  TS_FETCH_NETWORK_ERROR  /* libcurl error; reason is libcurl's message */
};

/* "ok", "not-modified", "http-error", "timeout", "too-large", "cancelled",
 * "network-error". */
const char *ts_fetch_outcome_name(enum ts_fetch_outcome outcome);

/* What a non-2xx answer means, as decided by a source's classifier. */
enum ts_fetch_verdict {
  TS_FETCH_BY_STATUS,  /* 429/503: Retry-After; other 5xx: back off; 4xx: final */
  TS_FETCH_RETRY,      /* an API's "slow down": treated like a 429 */
  TS_FETCH_FINAL,      /* never retried (bad key, bad parameter) */
  TS_FETCH_STOP_SOURCE /* quota exhausted: no further request to the source */
};

/*
 * Classifies an error answer and names its reason for reports
 * ("quotaExceeded"). `reason` has room for `reason_size` bytes and starts
 * empty; leaving it empty lets the engine pick a generic reason from the
 * body. Called for every non-2xx, non-304 answer, retries included.
 */
typedef enum ts_fetch_verdict (*ts_fetch_classify_fn)(
    long status, const char *body, size_t body_len, char *reason,
    size_t reason_size, void *data);

/* The end of one request. Everything is borrowed for the callback's
 * duration. `body` is NUL-terminated (empty when there is none). */
struct ts_fetch_response {
  enum ts_fetch_outcome outcome;
  long status;         /* last HTTP status, 0 when none arrived */
  const char *body;
  size_t body_len;
  const char *url;     /* redacted: safe to log or report */
  const char *label;   /* the request's label, e.g. "youtube[JP] page 2" */
  const char *reason;  /* API reason or libcurl message; "" when none */
  int source;
  unsigned attempts;   /* HTTP attempts made, retries included */
  double elapsed_ms;   /* from first start to the end, waits included */
};

/*
 * Receives the result of a request. Returns true when the body was usable:
 * only then are its ETag/Last-Modified stored for the next conditional
 * request, so a body that failed to parse is fetched again next run.
 */
typedef bool (*ts_fetch_done_fn)(struct ts_fetch *fetch,
                                 const struct ts_fetch_response *response,
                                 void *data);

struct ts_fetch_options {
  unsigned concurrency;      /* requests in flight across the run; >= 1 */
  unsigned per_host;         /* connections per host; 0 = libcurl default */
  struct ts_rate rate;       /* global limit; count 0 = none */
  long timeout_ms;           /* one attempt, start to end */
  long connect_timeout_ms;   /* 0: min(timeout_ms, 10 s) */
  long stall_ms;             /* abort when no byte arrives for this long;
                                0: 5 s, rounded up to whole seconds */
  long deadline_ms;          /* the whole run; 0 = none */
  unsigned retries;          /* retries after the first attempt */
  long backoff_ms;           /* base of the exponential backoff */
  long max_backoff_ms;       /* cap of one backoff wait; 0: 60 s */
  size_t max_response_bytes; /* decoded body cap; 0: 8 MiB */
  const char *cache_dir;     /* ETag/Last-Modified store; NULL = none */
  uint64_t seed;             /* jitter; 0: from the clock */
  const struct ts_log *log;  /* borrowed; NULL = silent */
  bool progress;             /* live line on a TTY, periodic lines otherwise */
};

/* Fills `opts` with the defaults of DESIGN.md (concurrency 3, 10 s
 * timeout, 3 retries, 500 ms backoff, 8 MiB, no rate limit). */
void ts_fetch_options_init(struct ts_fetch_options *opts);

/* A new engine; caller frees with ts_fetch_free. NULL on failure, with
 * `err` filled. */
struct ts_fetch *ts_fetch_new(const struct ts_fetch_options *opts,
                              struct ts_error *err);
void ts_fetch_free(struct ts_fetch *fetch);

struct ts_fetch_source_options {
  const char *name;              /* "youtube"; copied */
  struct ts_rate rate;           /* count 0 = only the global limit */
  ts_fetch_classify_fn classify; /* NULL: by status only */
  void *classify_data;
};

/* Registers a source; returns its index (>= 0), or -1 with `err` filled. */
int ts_fetch_add_source(struct ts_fetch *fetch,
                        const struct ts_fetch_source_options *opts,
                        struct ts_error *err);

struct ts_fetch_request {
  int source;                /* from ts_fetch_add_source */
  const char *url;           /* copied; may hold an API key */
  const char *label;         /* copied; NULL: the redacted URL */
  const char *const *headers; /* NULL-terminated "Name: value"; copied */
  bool conditional;          /* send If-None-Match / If-Modified-Since */
  ts_fetch_done_fn on_done;  /* called exactly once, from the loop */
  void *data;
};

/*
 * Queues a request. Works before ts_fetch_run and from inside callbacks.
 * Fails (and never calls on_done) when the source is stopped or the
 * deadline has passed; `err` says which.
 */
enum ts_result ts_fetch_add(struct ts_fetch *fetch,
                            const struct ts_fetch_request *request,
                            struct ts_error *err);

/* Runs until every request has ended or the deadline cancelled what was
 * left, then tears down libcurl and the loop. Call once. TS_ERR_INTERNAL
 * when the loop could not be closed cleanly (a handle leaked). */
enum ts_result ts_fetch_run(struct ts_fetch *fetch, struct ts_error *err);

/* Whether a source was stopped, and why (borrowed; NULL when running). */
const char *ts_fetch_source_stopped(const struct ts_fetch *fetch, int source);

struct ts_fetch_stats {
  unsigned requests;     /* requests ended */
  unsigned attempts;     /* HTTP attempts started, retries included */
  unsigned retries;
  unsigned ok, not_modified, failed, cancelled;
  uint64_t bytes;        /* decoded body bytes received */
  unsigned peak_in_flight;
  double wall_ms;        /* of ts_fetch_run */
  bool loop_closed;      /* uv_loop_close returned 0 */
};

/* Totals for the run (source < 0) or for one source. */
void ts_fetch_get_stats(const struct ts_fetch *fetch, int source,
                        struct ts_fetch_stats *out);

/* Formats the end-of-run summary line into `buf`; returns `buf`. */
const char *ts_fetch_summary(const struct ts_fetch *fetch, char *buf,
                             size_t size);

/* "trendsite/VERSION (gzip)": Google compresses only when both the
 * Accept-Encoding header and "gzip" in the User-Agent are present. */
const char *ts_fetch_user_agent(void);

#endif

/*
 * Drives the mock API server (tests/mockapi) from C tests.
 *
 * mock_start runs the real `mockapi` binary (env MOCKAPI, which the
 * Makefile exports, else $TS_ROOT/build/release/mockapi) on a free
 * loopback port, with its stderr in a temporary log. Requests to it can go
 * through libcurl (mock_url builds the URL) or through the small blocking
 * HTTP client here, which needs no libcurl and is what mock_stats and
 * mock_reset use. mock_stop sends SIGTERM and fails when the server did not
 * exit with status 0, quoting the end of its log, so a crash or a
 * sanitizer report in the server fails the test that started it.
 *
 * The analyses at the end read a /__stats document (see
 * tests/mockapi/README.md) and answer what client tests ask: how many
 * requests ran at once, how many arrived within any window of W ms.
 */
#ifndef TS_MOCKAPI_CLIENT_H
#define TS_MOCKAPI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* How long mock_start waits for the port file, and mock_stop for exit. */
#define MOCK_START_TIMEOUT_MS 15000
#define MOCK_STOP_TIMEOUT_MS 10000

struct mock_server;

struct mock_options {
  const char *root;   /* required: the folder served */
  const char *routes; /* a routes file, or NULL */
  unsigned seed;
  double time_limit_s; /* 0: 120 s, so a forgotten server goes away */
  bool quiet;          /* pass --quiet (no line per request in the log) */
};

/* Starts a server and waits until it listens. Caller stops it with
 * mock_stop. NULL on failure, with the reason (and the server's log) in
 * `err`. */
struct mock_server *mock_start_opts(const struct mock_options *opts,
                                    struct ts_error *err);

/* mock_start_opts with only root, routes (may be NULL) and seed. */
struct mock_server *mock_start(const char *root, const char *routes,
                               unsigned seed, struct ts_error *err);

int mock_port(const struct mock_server *server);
pid_t mock_pid(const struct mock_server *server);

/* The file that receives the server's stderr; borrowed, valid until
 * mock_stop. */
const char *mock_log_path(const struct mock_server *server);

/* "http://127.0.0.1:PORT" + path (a '/' is added when path lacks one).
 * Caller frees; NULL when out of memory. */
char *mock_url(const struct mock_server *server, const char *path);

/* An HTTP response read by the blocking client. */
struct mock_reply {
  int status;
  char *head;      /* status line and headers, NUL-terminated; owned */
  char *body;      /* NUL-terminated; owned */
  size_t body_len; /* bytes in body, not counting the NUL */
};

void mock_reply_cleanup(struct mock_reply *reply);

/* The value of header `name` (case-insensitive) in reply->head, trimmed.
 * Caller frees; NULL when absent. */
char *mock_reply_header(const struct mock_reply *reply, const char *name);

/*
 * GET `path` (or any method) with "Connection: close" and read the whole
 * response within MOCK_STOP_TIMEOUT_MS. `extra_headers` are CRLF-terminated
 * lines or NULL. *out is filled only on success (caller cleans up).
 */
enum ts_result mock_request(const struct mock_server *server,
                            const char *method, const char *path,
                            const char *extra_headers, struct mock_reply *out,
                            struct ts_error *err);

enum ts_result mock_get(const struct mock_server *server, const char *path,
                        struct mock_reply *out, struct ts_error *err);

/*
 * Sends `len` raw bytes on a new connection and collects what comes back
 * until the server closes or `timeout_ms` passes (not an error: *out holds
 * what arrived). For malformed and pipelined requests. *out is caller-
 * freed and NUL-terminated.
 */
enum ts_result mock_raw(const struct mock_server *server, const void *bytes,
                        size_t len, int timeout_ms, char **out, size_t *out_len,
                        struct ts_error *err);

/* GET /__stats. *out is a new reference. */
enum ts_result mock_stats(const struct mock_server *server, json_t **out,
                          struct ts_error *err);

/* GET /__reset: forget the requests so far and restart fail counters. */
enum ts_result mock_reset(const struct mock_server *server,
                          struct ts_error *err);

/* Waits up to `timeout_ms` for the server to exit by itself (its time
 * limit); true when it did, with its wait status in *status. */
bool mock_wait_exit(struct mock_server *server, int timeout_ms, int *status);

/*
 * SIGTERM, wait up to MOCK_STOP_TIMEOUT_MS, then SIGKILL. TS_OK only when
 * the server exited with status 0; otherwise the error quotes the end of
 * its log. Frees `server` and its temporary files either way. NULL is a
 * no-op returning TS_OK.
 */
enum ts_result mock_stop(struct mock_server *server, struct ts_error *err);

/* Analyses of a /__stats document (borrowed). `prefix` selects requests
 * whose "url" (path?query as sent) starts with it; NULL selects all. */

/* Requests selected. */
size_t mock_stats_count(const json_t *stats, const char *prefix);

/* The server's "peak_inflight": most requests unanswered at one arrival,
 * over all requests; -1 when missing. */
long mock_stats_peak_inflight(const json_t *stats);

/* Most selected requests that were open at the same moment, from their
 * [arrival_ms, done_ms) intervals (a pending request is open to the
 * end). */
size_t mock_stats_max_concurrent(const json_t *stats, const char *prefix);

/* Most selected arrivals inside any half-open window [t, t + window_ms):
 * exact, by two pointers over the sorted arrival times. */
size_t mock_stats_max_in_window(const json_t *stats, const char *prefix,
                                double window_ms);

/* The arrival times of the selected requests, sorted, in *times (caller
 * frees; NULL when none). Returns how many. */
size_t mock_stats_arrivals(const json_t *stats, const char *prefix,
                           double **times);

/* The selected requests in arrival order as a new JSON array (new
 * reference; NULL when out of memory); the elements are borrowed from
 * `stats` and shared. */
json_t *mock_stats_select(const json_t *stats, const char *prefix);

#endif

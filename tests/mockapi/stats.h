/*
 * The request log of the mock API server: one record per request, served
 * as JSON at /__stats so that tests can prove a client's behaviour (its
 * concurrency, its request rate, its retries, its reuse of connections)
 * from the server's side.
 *
 * A record is opened when a request arrives and closed when its response
 * is complete or its connection ends. Records are named by a request id
 * that keeps counting across resets, so a response that completes after a
 * reset never writes into a record of the new generation. The log keeps at
 * most MOCK_STATS_MAX records and counts the rest as dropped.
 */
#ifndef MOCK_STATS_H
#define MOCK_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"

#define MOCK_STATS_MAX 500000

struct mock_stats;

/* `started_at_ms` is the wall-clock start time (ms since the epoch),
 * reported as is. Caller frees with mock_stats_free. NULL when out of
 * memory. */
struct mock_stats *mock_stats_new(double started_at_ms);
void mock_stats_free(struct mock_stats *stats);

/* Forgets every record and the peak in-flight count. */
void mock_stats_reset(struct mock_stats *stats);

/*
 * Opens a record for `req` that arrived at `now_ms` (since server start)
 * on connection `conn` while `inflight` requests (this one included) were
 * unanswered. Returns the request id (> 0); the request strings are copied.
 */
uint64_t mock_stats_arrive(struct mock_stats *stats,
                           const struct mock_request *req, uint64_t conn,
                           double now_ms, unsigned inflight);

/* Notes the decision for request `id`: route index (-1: file fallback,
 * -2: no route and no file), latency, status (0: none sent) and the
 * injected fault (static string, or NULL). */
void mock_stats_plan(struct mock_stats *stats, uint64_t id, int route,
                     unsigned latency_ms, int status, const char *fault);

/* Closes record `id` with an outcome ("ok", "hang", "closed", ...; static
 * string) and the body bytes sent. Unknown ids (reset since) are ignored. */
void mock_stats_done(struct mock_stats *stats, uint64_t id, double now_ms,
                     const char *outcome, uint64_t body_bytes);

/* The log as {"count", "peak_inflight", "inflight", "dropped",
 * "started_at_ms", "now_ms", "requests": [...]}; "requests" is left out
 * when `with_requests` is false. New reference; NULL when out of memory. */
json_t *mock_stats_json(const struct mock_stats *stats, double now_ms,
                        unsigned inflight, bool with_requests);

#endif

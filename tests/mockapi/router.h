/*
 * The mock API's router: turns a parsed request into a planned response.
 *
 * It loads the routes file (format in tests/mockapi/README.md), matches a
 * request by path pattern and query parameters, falls back to ROOT/<path>,
 * decides which fault to inject (a route's `fail` list first, then the
 * global `random` section) and builds the response: status line, headers,
 * body (a file read per request, an inline body, or a generated one),
 * gzip, conditional 304s, and how the bytes are to be sent (all at once, in
 * timed pieces, or cut short). It does no I/O on sockets: the server sends
 * what the plan says.
 *
 * Everything random is derived from the seed: the latency of a URL is a
 * hash of the seed and the URL, and random faults come from a generator
 * seeded once and advanced once per eligible request, so the same seed and
 * the same request sequence give the same faults.
 */
#ifndef MOCK_ROUTER_H
#define MOCK_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "util/buf.h"
#include "util/error.h"

/* Files larger than this are refused (fixtures are small; a huge body is
 * what the "oversize" fault generates without reading anything). */
#define MOCK_FILE_MAX (256u * 1024 * 1024)

/* What happens once the planned bytes are sent. */
enum mock_end {
  MOCK_END_KEEP,  /* complete; the connection may serve another request */
  MOCK_END_CLOSE, /* close the connection (after the bytes, if any) */
  MOCK_END_STALL, /* send nothing more, keep the connection open */
  MOCK_END_HANG   /* send nothing at all, keep the connection open */
};

struct mock_response {
  int status;           /* the status sent; 0 when no head is sent */
  struct ts_buf head;   /* status line + headers + empty line; may be empty */
  char *body;           /* owned; NULL for a generated body */
  size_t body_len;      /* length of `body` */
  uint64_t gen_len;     /* length of a generated body (oversize) */
  uint64_t send_len;    /* body bytes to send: at most the body's length */
  size_t chunk;         /* > 0: send the body in pieces of this size */
  unsigned interval_ms; /* the pause between pieces */
  unsigned latency_ms;  /* wait this long before the first byte */
  enum mock_end end;
  const char *outcome; /* static: how the stats name a response sent to
                        * its planned end ("ok", "closed", "empty_reply") */
  const char *fault;   /* static name of the injected fault; NULL for none */
  int route;           /* route index; -1 file fallback; -2 neither */
  char note[256];      /* a problem worth logging ("" when none) */
};

/* Frees what `r` owns and empties it. */
void mock_response_cleanup(struct mock_response *r);

/* Copies bytes [off, off + n) of the response body into `dst`, generating
 * them when the body is generated. */
void mock_response_read(const struct mock_response *r, uint64_t off, char *dst,
                        size_t n);

/*
 * Builds a plain response (the server's own endpoints and protocol errors):
 * `status`, a body of `len` bytes (copied), Content-Type `type`, optional
 * `extra` header lines (each ending in CRLF; may be NULL). `keep_alive`
 * false adds "Connection: close" and sets end to MOCK_END_CLOSE.
 */
enum ts_result mock_response_simple(struct mock_response *out, int status,
                                    const char *type, const char *body,
                                    size_t len, const char *extra,
                                    bool keep_alive, bool head_only);

struct mock_router;

/*
 * Loads `routes_path` (NULL: no routes, files only) for files under `root`.
 * Errors say which key of which route is wrong. *out is caller-owned
 * (mock_router_free).
 */
enum ts_result mock_router_new(const char *root, const char *routes_path,
                               uint64_t seed, struct mock_router **out,
                               struct ts_error *err);
void mock_router_free(struct mock_router *router);

/* Reads the routes file again. On failure the old routes stay in use. The
 * fail counters and the random sequence start over either way. */
enum ts_result mock_router_reload(struct mock_router *router,
                                  struct ts_error *err);

/* Starts every fail counter and the random sequence over. */
void mock_router_reset(struct mock_router *router);

/* Plans the response to `req` into `out` (release with
 * mock_response_cleanup). Never fails: problems become 4xx/5xx answers and
 * a note. `keep_alive` false makes the response close the connection. */
void mock_router_respond(struct mock_router *router,
                         const struct mock_request *req, bool keep_alive,
                         struct mock_response *out);

#endif

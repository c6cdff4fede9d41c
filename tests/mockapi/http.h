/*
 * HTTP/1.1 pieces of the mock API server that need no event loop: the
 * request parser, query-string and header-value helpers, HTTP dates.
 *
 * The parser is written for hostile input: it never reads past `len`,
 * caps the request head at MOCK_HTTP_MAX_HEAD bytes and a request body at
 * MOCK_HTTP_MAX_BODY, and tells the caller which status to answer with when
 * the bytes are not a request it can serve. It accepts bare LF line endings
 * (as many servers do) but rejects obs-fold, NUL and other control bytes.
 */
#ifndef MOCK_HTTP_H
#define MOCK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MOCK_HTTP_MAX_HEAD (64 * 1024) /* request line + headers */
#define MOCK_HTTP_MAX_HEADERS 128
#define MOCK_HTTP_MAX_BODY (64 * 1024) /* request bodies are discarded */

enum mock_parse {
  MOCK_PARSE_OK,   /* one request parsed; *consumed bytes used */
  MOCK_PARSE_MORE, /* a prefix of a request; read more */
  MOCK_PARSE_ERROR /* answer *status and close the connection */
};

struct mock_request {
  char *head;         /* owned; the strings below point into it */
  char *path;         /* owned; percent-decoded path, never contains NUL */
  const char *method; /* "GET", "HEAD", ... */
  const char *target; /* path?query as sent, without any #fragment */
  const char *query;  /* the raw text after '?'; "" when none */
  int minor;          /* HTTP/1.<minor> */
  bool keep_alive;    /* the connection may serve another request */
  bool traversal;     /* the path has a "." or ".." segment */
  size_t content_length;
  /* Header values, NULL when absent; the first one wins when repeated. */
  const char *user_agent;
  const char *accept_encoding;
  const char *if_none_match;
  const char *if_modified_since;
};

/*
 * Parses one request from the start of buf[0..len). On MOCK_PARSE_OK fills
 * `req` (release with mock_request_cleanup) and *consumed, which includes
 * the request body. On MOCK_PARSE_ERROR sets *status (400, 413, 431, 501 or
 * 505) and *why (a static string) and leaves `req` empty.
 */
enum mock_parse mock_http_parse(const char *buf, size_t len,
                                struct mock_request *req, size_t *consumed,
                                int *status, const char **why);

void mock_request_cleanup(struct mock_request *req);

/* The reason phrase for a status code ("Too Many Requests"); "Unknown"
 * for codes it does not know. Static string. */
const char *mock_http_reason(int status);

/* Formats `t` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into
 * `out`, which must hold at least 30 bytes. */
void mock_http_date(time_t t, char out[30]);

/* Parses an IMF-fixdate; false when `s` is not one. */
bool mock_http_parse_date(const char *s, time_t *out);

/* True when the If-None-Match value `inm` (a list of entity tags or "*")
 * matches `etag` under the weak comparison of RFC 9110. */
bool mock_http_etag_match(const char *inm, const char *etag);

/* True when an Accept-Encoding value lists gzip (or "*") with a non-zero
 * q-value. */
bool mock_http_accepts_gzip(const char *accept_encoding);

/*
 * Looks up the first query parameter called `name` (compared after
 * percent-decoding, '+' as space). Returns false when absent; otherwise
 * sets *value to its decoded value (caller frees; "" for a bare `name`) or
 * leaves it untouched when `value` is NULL. A value that fails to decode
 * (bad escape, NUL) counts as absent.
 */
bool mock_query_get(const char *query, const char *name, char **value);

#endif

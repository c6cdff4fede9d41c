/*
 * Results and error messages shared by every module.
 *
 * A fallible function returns an `enum ts_result` and, on failure, fills a
 * caller-owned `struct ts_error` with one line that says where the problem
 * is (`trendsite.json: sources[1].rate: expected N/s, N/min or N/h`). The
 * message never contains an API key: callers redact URLs before they format
 * them into an error.
 */
#ifndef TS_ERROR_H
#define TS_ERROR_H

#include <stdarg.h>

enum ts_result {
  TS_OK = 0,
  TS_ERR_USAGE,    /* bad command line */
  TS_ERR_CONFIG,   /* bad configuration value */
  TS_ERR_IO,       /* a file could not be read or written */
  TS_ERR_PARSE,    /* malformed input: template, JSON, HTTP */
  TS_ERR_NOTFOUND, /* a named thing (file, partial, key) does not exist */
  TS_ERR_LIMIT,    /* an input-driven size or depth cap was reached */
  TS_ERR_NOMEM,    /* allocation failed */
  TS_ERR_NETWORK,  /* a transfer failed */
  TS_ERR_INTERNAL  /* a bug: an invariant did not hold */
};

#define TS_ERROR_MAX 1024

struct ts_error {
  enum ts_result code;
  char msg[TS_ERROR_MAX];
};

/* Fills `err` (when not NULL) and returns `code`, so that a failure path can
 * be written as `return ts_error_set(err, TS_ERR_IO, "%s: %s", path, why);`.
 * A message longer than TS_ERROR_MAX is cut with "...". */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
enum ts_result ts_error_set(struct ts_error *err, enum ts_result code,
                            const char *fmt, ...);

#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
enum ts_result ts_error_vset(struct ts_error *err, enum ts_result code,
                             const char *fmt, va_list ap);

/* Puts `fmt...` and ": " in front of the message already in `err`, to add
 * context on the way up ("templates/index.html.mustache: " + message).
 * Returns err->code. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
enum ts_result ts_error_prefix(struct ts_error *err, const char *fmt, ...);

/* A short stable name for a result code ("io", "parse", ...). */
const char *ts_result_name(enum ts_result code);

#endif

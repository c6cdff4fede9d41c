#include "util/error.h"

#include <stdio.h>
#include <string.h>

static void mark_truncated(char *msg, int written)
{
  if (written >= TS_ERROR_MAX)
    memcpy(msg + TS_ERROR_MAX - 4, "...", 4);
}

enum ts_result ts_error_vset(struct ts_error *err, enum ts_result code,
                             const char *fmt, va_list ap)
{
  if (err) {
    err->code = code;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (n < 0)
      snprintf(err->msg, sizeof err->msg, "(unformattable error message)");
    else
      mark_truncated(err->msg, n);
  }
  return code;
}

enum ts_result ts_error_set(struct ts_error *err, enum ts_result code,
                            const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  ts_error_vset(err, code, fmt, ap);
  va_end(ap);
  return code;
}

enum ts_result ts_error_prefix(struct ts_error *err, const char *fmt, ...)
{
  if (!err)
    return TS_ERR_INTERNAL;
  char prefix[TS_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0)
    return err->code;
  char old[TS_ERROR_MAX];
  memcpy(old, err->msg, sizeof old);
  n = snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
  mark_truncated(err->msg, n);
  return err->code;
}

const char *ts_result_name(enum ts_result code)
{
  switch (code) {
  case TS_OK: return "ok";
  case TS_ERR_USAGE: return "usage";
  case TS_ERR_CONFIG: return "config";
  case TS_ERR_IO: return "io";
  case TS_ERR_PARSE: return "parse";
  case TS_ERR_NOTFOUND: return "not-found";
  case TS_ERR_LIMIT: return "limit";
  case TS_ERR_NOMEM: return "out-of-memory";
  case TS_ERR_NETWORK: return "network";
  case TS_ERR_INTERNAL: return "internal";
  }
  return "unknown";
}

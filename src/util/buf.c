#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ts_buf_init(struct ts_buf *b, size_t max)
{
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max ? max : SIZE_MAX / 2;
}

void ts_buf_cleanup(struct ts_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void ts_buf_reset(struct ts_buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

enum ts_result ts_buf_grow(struct ts_buf *b, size_t extra)
{
  if (extra > b->max - b->len)
    return TS_ERR_LIMIT;
  size_t need = b->len + extra + 1; /* + NUL */
  if (need <= b->cap)
    return TS_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(b->data, cap);
  if (!p)
    return TS_ERR_NOMEM;
  b->data = p;
  b->cap = cap;
  return TS_OK;
}

enum ts_result ts_buf_append(struct ts_buf *b, const void *data, size_t len)
{
  enum ts_result result = ts_buf_reserve(b, len); /* inline when it fits */
  if (result != TS_OK)
    return result;
  if (len)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return TS_OK;
}

enum ts_result ts_buf_append_str(struct ts_buf *b, const char *s)
{
  return ts_buf_append(b, s, strlen(s));
}

enum ts_result ts_buf_append_int(struct ts_buf *b, int64_t v)
{
  char digits[24];
  char *p = digits + sizeof digits;
  /* Work on the magnitude as unsigned: -INT64_MIN does not fit. */
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    *--p = '-';
  return ts_buf_append(b, p, (size_t)(digits + sizeof digits - p));
}

enum ts_result ts_buf_vprintf(struct ts_buf *b, const char *fmt, va_list ap)
{
  va_list again;
  va_copy(again, ap);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  enum ts_result result = TS_OK;
  if (n < 0) {
    result = TS_ERR_INTERNAL;
  } else if ((size_t)n < sizeof small) {
    result = ts_buf_append(b, small, (size_t)n);
  } else if ((result = ts_buf_reserve(b, (size_t)n)) == TS_OK) {
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    b->len += (size_t)n;
  }
  va_end(again);
  return result;
}

enum ts_result ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  enum ts_result result = ts_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return result;
}

char *ts_buf_detach(struct ts_buf *b)
{
  char *s = b->data;
  if (!s) {
    s = malloc(1);
    if (s)
      s[0] = '\0';
  }
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return s;
}

const char *ts_buf_cstr(const struct ts_buf *b)
{
  return b->data ? b->data : "";
}

/*
 * A growable byte buffer with a hard size cap.
 *
 * Every buffer whose size is driven by input (an HTTP body, a rendered page,
 * a file read from disk) carries a cap: appending past it fails with
 * TS_ERR_LIMIT and leaves the buffer as it was, so a hostile input costs at
 * most `max` bytes. The contents are always NUL-terminated (the NUL is not
 * counted in `len`), so text can be handed to C string functions.
 *
 * Embedded use: `struct ts_buf b; ts_buf_init(&b, cap); ... ts_buf_cleanup(&b);`
 */
#ifndef TS_BUF_H
#define TS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct ts_buf {
  char *data; /* NULL until the first append; owned by the buffer */
  size_t len; /* bytes in use, not counting the trailing NUL */
  size_t cap; /* bytes allocated */
  size_t max; /* the cap on len; 0 means SIZE_MAX / 2 */
};

void ts_buf_init(struct ts_buf *b, size_t max);
void ts_buf_cleanup(struct ts_buf *b);

/* Empties the buffer but keeps its memory for reuse. */
void ts_buf_reset(struct ts_buf *b);

/* ts_buf_reserve's slow half: grows the allocation. */
enum ts_result ts_buf_grow(struct ts_buf *b, size_t extra);

/* Makes room for `extra` more bytes. TS_ERR_LIMIT past `max`, TS_ERR_NOMEM
 * when allocation fails; the buffer is unchanged on failure. Inline:
 * writers reserve before every string and number they write, and there
 * is almost always room. */
static inline enum ts_result ts_buf_reserve(struct ts_buf *b, size_t extra)
{
  if (extra < b->cap - b->len && extra <= b->max - b->len)
    return TS_OK;
  return ts_buf_grow(b, extra);
}

enum ts_result ts_buf_append(struct ts_buf *b, const void *data, size_t len);
enum ts_result ts_buf_append_str(struct ts_buf *b, const char *s);

/* Inline: JSON and HTML writers append one character at a time, and the
 * call cost more than the store. */
static inline enum ts_result ts_buf_append_char(struct ts_buf *b, char c)
{
  if (b->len + 1 < b->cap && b->len < b->max) {
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return TS_OK;
  }
  return ts_buf_append(b, &c, 1);
}


/* Appends `v` in decimal; printf costs ten times as much for a number,
 * and snapshots and pages hold hundreds of thousands of them. */
enum ts_result ts_buf_append_int(struct ts_buf *b, int64_t v);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
enum ts_result ts_buf_printf(struct ts_buf *b, const char *fmt, ...);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
enum ts_result ts_buf_vprintf(struct ts_buf *b, const char *fmt, va_list ap);

/* Returns the contents as a NUL-terminated string (never NULL; "" when
 * empty) and leaves the buffer empty. Caller frees. NULL only when out of
 * memory. */
char *ts_buf_detach(struct ts_buf *b);

/* The contents as a C string; borrowed, valid until the next change. */
const char *ts_buf_cstr(const struct ts_buf *b);

#endif

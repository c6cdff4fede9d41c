/*
 * Writing JSON text directly, without building a jansson tree first.
 *
 * The snapshot of a large site holds tens of thousands of items; building
 * a tree only to dump it costs more than the rest of a render. These
 * helpers append compact JSON to a buffer; a writer tracks the commas.
 * Strings are UTF-8 as they are, with `"`, `\` and control characters
 * escaped, so the output is valid JSON for any NUL-terminated input.
 */
#ifndef TS_JSON_TEXT_H
#define TS_JSON_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Appends `s` as a quoted JSON string. TS_ERR_NOMEM/TS_ERR_LIMIT when the
 * buffer cannot take it (the buffer then holds a partial string). */
enum ts_result ts_json_string(struct ts_buf *b, const char *s);

/* The same for `len` bytes that may contain NUL (written as \u0000). */
enum ts_result ts_json_stringn(struct ts_buf *b, const char *s, size_t len);

/* Appends `value` as compact JSON, members in insertion order: the text
 * json_dumps(value, JSON_COMPACT) gives, except that rare control
 * characters are escaped as above, and about five times faster (no cycle
 * check: `value` must be a tree, at most 512 levels deep, else
 * TS_ERR_LIMIT). Reals are written with 17 significant digits; infinity
 * and NaN are TS_ERR_LIMIT. */
enum ts_result ts_json_dump(struct ts_buf *b, const json_t *value);

struct ts_json_writer {
  struct ts_buf *b;
  bool first;  /* no member written yet in the current object/array */
  bool failed; /* an append failed: the text is incomplete */
};

/* Object and array brackets; `w->first` tracks the innermost level only,
 * which is all the flat structures here need. */
void ts_json_open(struct ts_json_writer *w, char bracket);
void ts_json_close(struct ts_json_writer *w, char bracket);

/* "key": before a member value (writes the comma when needed). */
void ts_json_key(struct ts_json_writer *w, const char *key);

/* Members; the _opt forms write nothing for NULL / unknown values. */
void ts_json_str_member(struct ts_json_writer *w, const char *key,
                        const char *value);
void ts_json_int_member(struct ts_json_writer *w, const char *key,
                        int64_t value);
void ts_json_bool_member(struct ts_json_writer *w, const char *key, bool v);

/* An array element separator (for arrays of values written by hand). */
void ts_json_next(struct ts_json_writer *w);

#endif

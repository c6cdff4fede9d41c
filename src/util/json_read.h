/*
 * Reading JSON text in place: a strict pull parser over a byte buffer.
 *
 * A jansson tree of a 30,000-item snapshot costs more time and memory than
 * the items it is copied into. This reader builds nothing: the caller walks
 * the document and takes what it wants as it goes. ts_json_peek says what
 * the next value is; ts_json_object_begin + ts_json_member walk an object,
 * ts_json_array_begin + ts_json_element an array; ts_json_read_* consume
 * scalars. A value the caller does not read is skipped (and still checked)
 * when the caller moves on to the next member or element. Nothing is
 * allocated per value: strings are viewed in place or decoded into the
 * caller's arena.
 *
 *   ts_json_reader_init(&r, "a.json", text, len, err);
 *   if (ts_json_object_begin(&r) == TS_OK)
 *     while (ts_json_member(&r, &key))
 *       if (ts_json_view_is(key, "title"))
 *         ts_json_read_string(&r, arena, &title, NULL);
 *   ts_json_end(&r);                  (only whitespace may follow)
 *   result = ts_json_result(&r);
 *   ts_json_reader_cleanup(&r);
 *
 * Strict RFC 8259: no comments, trailing commas, leading zeros, NaN or
 * Infinity, single quotes, raw control characters in strings, or anything
 * but whitespace after the document. Any value may be the document.
 * Choices where the RFC leaves room:
 * - Strings must be valid UTF-8 (no overlong forms, surrogates or code
 *   points past U+10FFFF); anything else is an error, as in jansson, so a
 *   string read back is exactly what a writer of valid UTF-8 wrote.
 * - An escaped lone surrogate ("\ud800" without its pair) becomes U+FFFD.
 * - "\u0000" is an error: callers keep C strings, and a silent cut would
 *   lose the rest of the string.
 * - Integers are int64: reading one out of range is an error; a number
 *   with a fraction or an exponent is read as "not an integer". Skipped
 *   numbers are checked for grammar only.
 * - Duplicate keys are the caller's business (it sees every member).
 * - Containers nest at most TS_JSON_MAX_DEPTH deep (TS_ERR_LIMIT); nothing
 *   recurses, so the cap bounds the reader's state, not the C stack.
 *
 * Errors stick: after the first one every call does nothing and says so
 * (false, TS_JSON_INVALID or the error's code). The message says where,
 * like jansson's: "NAME:LINE:COLUMN: what", lines and columns from 1,
 * columns counted in characters, pointing at the offending character.
 */
#ifndef TS_JSON_READ_H
#define TS_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"

#define TS_JSON_MAX_DEPTH 64

enum ts_json_type {
  TS_JSON_INVALID, /* no value here: the reader has failed */
  TS_JSON_OBJECT,
  TS_JSON_ARRAY,
  TS_JSON_STRING,
  TS_JSON_NUMBER,
  TS_JSON_TRUE,
  TS_JSON_FALSE,
  TS_JSON_NULL
};

/* Decoded text that is not NUL-terminated: borrowed, valid until the next
 * call on the reader (it points into the input, or into the reader's
 * scratch space when the string had escapes). */
struct ts_json_view {
  const char *s;
  size_t len;
};

/* Whether `view` holds exactly the C string `s`. */
bool ts_json_view_is(struct ts_json_view view, const char *s);

struct ts_json_number {
  bool integer;             /* no fraction or exponent: `value` holds it */
  int64_t value;            /* 0 when not an integer */
  struct ts_json_view text; /* as written, e.g. "-1.5e3" */
};

/* The reader's state. Embed it and use the functions only: the fields are
 * private. */
struct ts_json_reader {
  const char *name;  /* borrowed, for messages */
  const char *start; /* the text (borrowed), for positions in messages */
  const char *p;     /* the next byte to read */
  const char *end;
  struct ts_error *err;  /* borrowed, may be NULL */
  enum ts_result result; /* TS_OK until the first error */
  unsigned depth;        /* open containers */
  uint64_t objects;      /* bit d-1: the container at depth d is an object */
  uint64_t fresh;        /* bit d-1: it has had no member or element yet */
  bool pending;          /* a value comes next and has not been read */
  struct ts_buf scratch; /* decoded escaped strings for views */
};

/* Starts reading `len` bytes of `text` (borrowed; need not end in NUL;
 * must outlive the reader). `name` (borrowed) starts every message; errors
 * go to `err` (borrowed, may be NULL). */
void ts_json_reader_init(struct ts_json_reader *r, const char *name,
                         const char *text, size_t len, struct ts_error *err);

/* Frees the reader's scratch space. Views die with it. */
void ts_json_reader_cleanup(struct ts_json_reader *r);

/* TS_OK, or the code of the first error (whose message is in `err`). */
enum ts_result ts_json_result(const struct ts_json_reader *r);

/* How many containers are open (0 at the top level). */
unsigned ts_json_depth(const struct ts_json_reader *r);

/* The type of the next value without consuming it. TS_JSON_INVALID, and
 * the reader fails, when no value starts there. */
enum ts_json_type ts_json_peek(struct ts_json_reader *r);

/* Enters the next value, which must be an object / an array (else the
 * reader fails: "expected an object"). */
enum ts_result ts_json_object_begin(struct ts_json_reader *r);
enum ts_result ts_json_array_begin(struct ts_json_reader *r);

/* Moves to the next member of the innermost open object: true with its
 * key in `*key` (read its value next, or not: an unread value is skipped
 * on the next call); false after the closing '}', which closes the
 * object, and on errors (see ts_json_result). */
bool ts_json_member(struct ts_json_reader *r, struct ts_json_view *key);

/* The same for the innermost open array: true when an element follows. */
bool ts_json_element(struct ts_json_reader *r);

/* Read the next value, which must be of the type named (else the reader
 * fails: "expected a string"). Strings: ts_json_read_string copies into
 * `arena` (NUL-terminated, `*len` bytes when `len` is not NULL; the arena
 * owns it), ts_json_read_view lends a view. Numbers: see struct
 * ts_json_number; ts_json_read_int also fails for a non-integer. */
enum ts_result ts_json_read_string(struct ts_json_reader *r,
                                   struct ts_arena *arena, const char **out,
                                   size_t *len);
enum ts_result ts_json_read_view(struct ts_json_reader *r,
                                 struct ts_json_view *out);
enum ts_result ts_json_read_number(struct ts_json_reader *r,
                                   struct ts_json_number *out);
enum ts_result ts_json_read_int(struct ts_json_reader *r, int64_t *out);
enum ts_result ts_json_read_bool(struct ts_json_reader *r, bool *out);

/* Skips the next value, whatever it is, checking it all the same. */
enum ts_result ts_json_skip(struct ts_json_reader *r);

/* Skips the rest of every open container deeper than `depth` (after a
 * caller gave up on a value half read), leaving `depth` containers open. */
enum ts_result ts_json_unwind(struct ts_json_reader *r, unsigned depth);

/* Finishes the document: skips what is left of it, then fails unless only
 * whitespace follows ("end of input expected after the document"). */
enum ts_result ts_json_end(struct ts_json_reader *r);

/* Fails the reader with `code` and a message at the current position, for
 * callers that find a problem the grammar does not (out of memory, say).
 * Returns `code`. Does nothing when the reader has already failed. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
enum ts_result
ts_json_fail(struct ts_json_reader *r, enum ts_result code, const char *fmt,
             ...);

#endif

/*
 * libFuzzer harness for util/json_read: arbitrary bytes read three ways,
 * with jansson as the oracle for what is JSON:
 * - skipped whole (ts_json_end), which checks everything;
 * - walked value by value with the typed readers, which must agree with
 *   the skip (reading an integer may also find it out of range), and
 *   whose strings must be valid UTF-8 without NUL bytes;
 * - jansson (JSON_DECODE_ANY): what it accepts must be accepted unless it
 *   nests deeper than our cap, and what we accept it must accept unless
 *   it holds what we chose to allow (an escaped lone surrogate, or a
 *   number too big for it that we only skip). Input with a NUL byte is
 *   refused; jansson stops at one, so there it is no oracle.
 * Messages start with the name and carry a line and column.
 *
 * fuzz-sources: src/util/json_read.c src/util/arena.c src/util/buf.c src/util/error.c
 *
 * Build and run: tests/fuzz/run.sh tests/fuzz/fuzz_json_read.c
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond)                                                         \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* Whether s[0..n) is valid UTF-8 without NUL, overlongs or surrogates. */
static bool valid_utf8(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    unsigned c = *p;
    if (c == 0)
      return false;
    if (c < 0x80) {
      p++;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if ((size_t)(end - p) < len || c < 0xC2 || c > 0xF4)
      return false;
    uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < len; i++) {
      if ((p[i] & 0xC0) != 0x80)
        return false;
      cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    p += len;
  }
  return true;
}

/* Reads one value with the typed reader for its type (containers are
 * entered: `*opened` says which). */
static void read_value(struct ts_json_reader *r, struct ts_arena *arena,
                       enum ts_json_type *opened)
{
  const char *s;
  size_t n;
  struct ts_json_number num;
  bool b;
  *opened = TS_JSON_INVALID;
  switch (ts_json_peek(r)) {
  case TS_JSON_OBJECT:
    if (ts_json_object_begin(r) == TS_OK)
      *opened = TS_JSON_OBJECT;
    break;
  case TS_JSON_ARRAY:
    if (ts_json_array_begin(r) == TS_OK)
      *opened = TS_JSON_ARRAY;
    break;
  case TS_JSON_STRING:
    if (ts_json_read_string(r, arena, &s, &n) == TS_OK)
      ASSERT(strlen(s) == n && valid_utf8(s, n));
    break;
  case TS_JSON_NUMBER:
    if (ts_json_read_number(r, &num) == TS_OK)
      ASSERT(num.text.len > 0 && (num.integer || num.value == 0));
    break;
  case TS_JSON_TRUE:
  case TS_JSON_FALSE: ts_json_read_bool(r, &b); break;
  case TS_JSON_NULL: ts_json_skip(r); break;
  case TS_JSON_INVALID: break;
  }
}

/* Reads every value with the typed readers, without recursion: the stack
 * of open containers is a bit per level (1 for an object). */
static enum ts_result walk(const char *text, size_t len, struct ts_error *err)
{
  struct ts_json_reader r;
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  ts_json_reader_init(&r, "f.json", text, len, err);
  enum ts_json_type opened;
  read_value(&r, &arena, &opened);
  uint64_t objects = opened == TS_JSON_OBJECT;
  for (unsigned depth = opened != TS_JSON_INVALID; depth > 0;) {
    ASSERT(ts_json_depth(&r) == depth);
    bool more;
    if (objects >> (depth - 1) & 1) {
      struct ts_json_view key;
      more = ts_json_member(&r, &key);
      if (more)
        ASSERT(valid_utf8(key.s, key.len));
    } else {
      more = ts_json_element(&r);
    }
    if (!more) {
      if (ts_json_result(&r) != TS_OK)
        break;
      depth--;
      continue;
    }
    read_value(&r, &arena, &opened);
    if (opened == TS_JSON_INVALID)
      continue;
    uint64_t bit = UINT64_C(1) << depth;
    objects = opened == TS_JSON_OBJECT ? objects | bit : objects & ~bit;
    depth++;
  }
  ts_json_end(&r);
  enum ts_result result = ts_json_result(&r);
  ts_json_reader_cleanup(&r);
  ts_arena_cleanup(&arena);
  return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  struct ts_error skip_err = {0}, walk_err = {0};
  struct ts_json_reader r;
  ts_json_reader_init(&r, "f.json", text, size, &skip_err);
  enum ts_result skipped = ts_json_end(&r);
  ts_json_reader_cleanup(&r);
  ASSERT(skipped == TS_OK || skipped == TS_ERR_PARSE ||
         skipped == TS_ERR_LIMIT);
  if (skipped != TS_OK)
    ASSERT(!strncmp(skip_err.msg, "f.json:", 7));

  /* The walk finds what the skip finds, unless an integer it reads is out
   * of range first. */
  enum ts_result walked = walk(text, size, &walk_err);
  bool out_of_range = walked == TS_ERR_PARSE &&
                      strstr(walk_err.msg, "integer out of range");
  if (skipped != TS_OK)
    ASSERT(out_of_range ||
           (walked == skipped && !strcmp(walk_err.msg, skip_err.msg)));
  else
    ASSERT(walked == TS_OK || out_of_range);

  /* A NUL byte is never JSON (not whitespace, not raw in a string); jansson
   * stops reading at one, so it is no oracle for such input. */
  if (memchr(text, '\0', size)) {
    ASSERT(skipped != TS_OK);
    return 0;
  }
  json_error_t jerr;
  json_t *doc = json_loadb(text, size, JSON_DECODE_ANY, &jerr);
  if (doc && skipped != TS_OK && skipped != TS_ERR_LIMIT) {
    fprintf(stderr, "jansson accepts, json_read: %s\n", skip_err.msg);
    ASSERT(!"jansson accepts what json_read refuses");
  }
  if (!doc && skipped == TS_OK && !strstr(jerr.text, "invalid Unicode") &&
      !strstr(jerr.text, "too big") && !strstr(jerr.text, "overflow")) {
    fprintf(stderr, "json_read accepts, jansson: %d:%d: %s\n", jerr.line,
            jerr.column, jerr.text);
    ASSERT(!"json_read accepts what jansson refuses");
  }
  json_decref(doc);
  return 0;
}

#include "util/json_text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Whether a byte needs an escape inside a JSON string. */
static bool needs_escape(unsigned char c)
{
  return c < 0x20 || c == '"' || c == '\\';
}

enum ts_result ts_json_string(struct ts_buf *b, const char *s)
{
  return ts_json_stringn(b, s, strlen(s));
}

/* Whether any of the eight bytes in `w` needs an escape: one below 0x20,
 * a '"' or a '\\'. Strings are mostly long runs that need none, and this
 * checks a word at a time (the usual "has a zero byte" / "has a byte
 * less than n" bit tricks). */
static bool word_needs_escape(uint64_t w)
{
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
  uint64_t below = (w - ones * 0x20) & ~w;
  uint64_t is_quote = (quote - ones) & ~quote;
  uint64_t is_slash = (slash - ones) & ~slash;
  return ((below | is_quote | is_slash) & highs) != 0;
}

enum ts_result ts_json_stringn(struct ts_buf *b, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  /* Most strings need no escape at all: one reservation, one copy. */
  enum ts_result r = ts_buf_reserve(b, len + 2);
  if (r != TS_OK)
    return r;
  b->data[b->len++] = '"';
  const char *run = s, *p = s, *end = s + len;
  for (;;) {
    uint64_t w;
    while (end - p >= 8 && (memcpy(&w, p, 8), !word_needs_escape(w)))
      p += 8;
    while (p < end && !needs_escape((unsigned char)*p))
      p++;
    size_t n = (size_t)(p - run);
    if (n && (r = ts_buf_append(b, run, n)) != TS_OK)
      return r;
    if (p == end)
      break;
    unsigned char c = (unsigned char)*p;
    char esc[7] = {'\\', 0};
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\t': esc[1] = 't'; break;
    case '\r': esc[1] = 'r'; break;
    default:
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      break;
    }
    if ((r = ts_buf_append_str(b, esc)) != TS_OK)
      return r;
    run = ++p;
  }
  return ts_buf_append_char(b, '"');
}

static void check(struct ts_json_writer *w, enum ts_result r)
{
  if (r != TS_OK)
    w->failed = true;
}

void ts_json_open(struct ts_json_writer *w, char bracket)
{
  check(w, ts_buf_append_char(w->b, bracket));
  w->first = true;
}

void ts_json_close(struct ts_json_writer *w, char bracket)
{
  check(w, ts_buf_append_char(w->b, bracket));
  w->first = false;
}

void ts_json_next(struct ts_json_writer *w)
{
  if (!w->first)
    check(w, ts_buf_append_char(w->b, ','));
  w->first = false;
}

void ts_json_key(struct ts_json_writer *w, const char *key)
{
  /* Member names are short and plain (the program's own, mostly):
   * written in one go, with the separator and the colon, unless one
   * needs an escape. A snapshot has a dozen per item. */
  size_t n = strlen(key);
  if (ts_buf_reserve(w->b, n + 4) != TS_OK) {
    w->failed = true;
    return;
  }
  char *start = w->b->data + w->b->len, *p = start;
  if (!w->first)
    *p++ = ',';
  *p++ = '"';
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    memcpy(&word, key + i, 8);
    if (word_needs_escape(word))
      goto escaped;
    memcpy(p + i, &word, 8);
  }
  for (; i < n; i++) {
    if (needs_escape((unsigned char)key[i]))
      goto escaped;
    p[i] = key[i];
  }
  p += n;
  *p++ = '"';
  *p++ = ':';
  w->b->len += (size_t)(p - start);
  w->b->data[w->b->len] = '\0';
  w->first = false;
  return;
escaped: /* nothing committed yet: the general way */
  ts_json_next(w);
  check(w, ts_json_string(w->b, key));
  check(w, ts_buf_append_char(w->b, ':'));
}

void ts_json_str_member(struct ts_json_writer *w, const char *key,
                        const char *value)
{
  if (!value)
    return;
  ts_json_key(w, key);
  check(w, ts_json_string(w->b, value));
}

void ts_json_int_member(struct ts_json_writer *w, const char *key,
                        int64_t value)
{
  ts_json_key(w, key);
  check(w, ts_buf_append_int(w->b, value));
}

void ts_json_bool_member(struct ts_json_writer *w, const char *key, bool v)
{
  ts_json_key(w, key);
  check(w, ts_buf_append_str(w->b, v ? "true" : "false"));
}

/* jansson's own dumper checks every object and array for cycles through
 * a hash table keyed by the value's printed address, which makes dumping
 * a large state file cost more than building it. The trees dumped here
 * are built by trendsite and are trees, so a depth cap is the only guard
 * needed. */
#define DUMP_MAX_DEPTH 512

static enum ts_result dump(struct ts_buf *b, const json_t *v, unsigned depth)
{
  enum ts_result r = TS_OK;
  if (depth > DUMP_MAX_DEPTH)
    return TS_ERR_LIMIT;
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    r = ts_buf_append_char(b, '{');
    bool first = true;
    for (void *it = json_object_iter((json_t *)v); it && r == TS_OK;
         it = json_object_iter_next((json_t *)v, it)) {
      if (!first && (r = ts_buf_append_char(b, ',')) != TS_OK)
        break;
      first = false;
      if ((r = ts_json_stringn(b, json_object_iter_key(it),
                               json_object_iter_key_len(it))) != TS_OK ||
          (r = ts_buf_append_char(b, ':')) != TS_OK)
        break;
      r = dump(b, json_object_iter_value(it), depth + 1);
    }
    return r == TS_OK ? ts_buf_append_char(b, '}') : r;
  }
  case JSON_ARRAY: {
    r = ts_buf_append_char(b, '[');
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n && r == TS_OK; i++) {
      if (i && (r = ts_buf_append_char(b, ',')) != TS_OK)
        break;
      r = dump(b, json_array_get(v, i), depth + 1);
    }
    return r == TS_OK ? ts_buf_append_char(b, ']') : r;
  }
  case JSON_STRING:
    return ts_json_stringn(b, json_string_value(v), json_string_length(v));
  case JSON_INTEGER:
    return ts_buf_append_int(b, json_integer_value(v));
  case JSON_REAL: {
    /* As jansson writes reals: 17 significant digits, and always a
     * fraction or an exponent so that the value reads back as a real.
     * JSON has no infinity or NaN. */
    double d = json_real_value(v);
    char num[40];
    if (!isfinite(d))
      return TS_ERR_LIMIT;
    int n = snprintf(num, sizeof num - 2, "%.17g", d);
    if (n < 0 || (size_t)n >= sizeof num - 2)
      return TS_ERR_LIMIT;
    char *e = strchr(num, 'e');
    if (e) {
      /* "1e+300", "1e-05" -> "1e300", "1e-5" */
      char *from = e + 1, *to = e + 1;
      if (*from == '+')
        from++;
      else if (*from == '-')
        *to++ = *from++;
      while (*from == '0' && from[1])
        from++;
      memmove(to, from, strlen(from) + 1);
    } else if (!strchr(num, '.')) {
      memcpy(num + n, ".0", 3);
    }
    return ts_buf_append_str(b, num);
  }
  case JSON_TRUE:
    return ts_buf_append_str(b, "true");
  case JSON_FALSE:
    return ts_buf_append_str(b, "false");
  case JSON_NULL:
    return ts_buf_append_str(b, "null");
  }
  return TS_ERR_INTERNAL;
}

enum ts_result ts_json_dump(struct ts_buf *b, const json_t *value)
{
  return value ? dump(b, value, 0) : TS_ERR_INTERNAL;
}

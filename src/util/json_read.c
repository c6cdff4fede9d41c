#include "util/json_read.h"

#include "util/ascii.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* ---- errors ------------------------------------------------------------ */

/* Line and column (both from 1; columns in characters) of `at`. Only
 * errors need it, so the hot path never counts lines. */
static void position(const char *start, const char *at, size_t *line,
                     size_t *col)
{
  const char *line_start = start;
  *line = 1;
  for (const char *q = start; q < at;) {
    const char *nl = memchr(q, '\n', (size_t)(at - q));
    if (!nl)
      break;
    (*line)++;
    q = line_start = nl + 1;
  }
  *col = 1;
  for (const char *q = line_start; q < at; q++)
    if (((unsigned char)*q & 0xC0) != 0x80)
      (*col)++;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 0)))
#endif
static enum ts_result
vfail_at(struct ts_json_reader *r, const char *at, enum ts_result code,
         const char *fmt, va_list ap)
{
  if (r->result != TS_OK)
    return r->result;
  char what[TS_ERROR_MAX];
  vsnprintf(what, sizeof what, fmt, ap);
  size_t line, col;
  position(r->start, at, &line, &col);
  ts_error_set(r->err, code, "%s:%zu:%zu: %s", r->name, line, col, what);
  r->result = code;
  r->pending = false;
  return code;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static enum ts_result
fail_at(struct ts_json_reader *r, const char *at, enum ts_result code,
        const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfail_at(r, at, code, fmt, ap);
  va_end(ap);
  return code;
}

enum ts_result ts_json_fail(struct ts_json_reader *r, enum ts_result code,
                            const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfail_at(r, r->p, code, fmt, ap);
  va_end(ap);
  return r->result;
}

/* "unexpected end of input", or names the byte at `at`. */
static enum ts_result unexpected(struct ts_json_reader *r, const char *at,
                                 const char *expected)
{
  if (at == r->end)
    return fail_at(r, at, TS_ERR_PARSE, "%s, found the end of input", expected);
  unsigned char c = (unsigned char)*at;
  if (c == '/')
    return fail_at(r, at, TS_ERR_PARSE,
                   "%s, found '/' (JSON has no "
                   "comments)",
                   expected);
  if (c > 0x20 && c < 0x7F)
    return fail_at(r, at, TS_ERR_PARSE, "%s, found '%c'", expected, c);
  return fail_at(r, at, TS_ERR_PARSE, "%s, found byte 0x%02x", expected, c);
}

/* ---- lifecycle --------------------------------------------------------- */

void ts_json_reader_init(struct ts_json_reader *r, const char *name,
                         const char *text, size_t len, struct ts_error *err)
{
  memset(r, 0, sizeof *r);
  r->name = name;
  r->start = r->p = text;
  r->end = text + len;
  r->err = err;
  r->result = TS_OK;
  r->pending = true;
  ts_buf_init(&r->scratch, 0);
}

void ts_json_reader_cleanup(struct ts_json_reader *r)
{
  ts_buf_cleanup(&r->scratch);
}

enum ts_result ts_json_result(const struct ts_json_reader *r)
{
  return r->result;
}

unsigned ts_json_depth(const struct ts_json_reader *r)
{
  return r->depth;
}

bool ts_json_view_is(struct ts_json_view view, const char *s)
{
  size_t n = strlen(s);
  return view.len == n && memcmp(view.s, s, n) == 0;
}

/* ---- scanning ---------------------------------------------------------- */

/* The index of the first byte of `w` (as loaded by memcpy) whose high
 * bit is set in `hits`, which is not 0. */
static unsigned first_byte(uint64_t hits)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return (unsigned)__builtin_clzll(hits) >> 3;
#else
  return (unsigned)__builtin_ctzll(hits) >> 3;
#endif
}

/* JSON's four space bytes. */
static const bool is_space[256] = {[' '] = true, ['\n'] = true,
                                   ['\r'] = true, ['\t'] = true};

static void skip_space(struct ts_json_reader *r)
{
  const char *p = r->p, *end = r->end;
  if (p < end && (unsigned char)*p > ' ')
    return; /* the usual case: no space at all */
  while (p < end && is_space[(unsigned char)*p])
    p++;
  r->p = p;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}


/* The four hex digits at `s` (checked by the scan). */
static unsigned hex4(const char *s)
{
  const unsigned char *u = (const unsigned char *)s;
  return (unsigned)(ts_hex_value(u[0]) << 12 | ts_hex_value(u[1]) << 8 |
                    ts_hex_value(u[2]) << 4 | ts_hex_value(u[3]));
}

/* The length of the valid UTF-8 sequence at `p` (whose first byte is
 * >= 0x80), or 0 when it is not one (Unicode 15, table 3-7). */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F; /* nothing past U+10FFFF */
  } else
    return 0;
  if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xC0) != 0x80)
      return 0;
  return n;
}

/* The bytes of `w` that need a look in a string ('"', '\\', a control
 * character or a byte >= 0x80), as their high bits. The lowest bit set is
 * exact: the borrows of the zero-byte tests only spread upward from a
 * byte that is itself set, so it names the first such byte. */
static uint64_t special8(uint64_t w)
{
  uint64_t quote = w ^ (ONES * '"'), slash = w ^ (ONES * '\\');
  return (w | ((quote - ONES) & ~quote) | ((slash - ONES) & ~slash) |
          ((w - ONES * 0x20) & ~w)) &
         HIGHS;
}

/*
 * Checks the string whose opening quote is at r->p and moves past its
 * closing quote. `*body`/`*len` get the raw bytes between the quotes,
 * `*escaped` whether they hold any escape. Everything a decoder could
 * trip on is checked here, so decode() need not check anything.
 */
static bool scan_string(struct ts_json_reader *r, const char **body,
                        size_t *len, bool *escaped)
{
  const char *open = r->p;
  const unsigned char *p = (const unsigned char *)open + 1;
  const unsigned char *end = (const unsigned char *)r->end;
  bool esc = false;
  for (;;) {
    /* Runs of plain ASCII go 8 bytes at a time, up to the first byte
     * that needs a look (usually the closing quote). */
    for (;;) {
      if (end - p < 8) {
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' &&
               *p != '\\')
          p++;
        break;
      }
      uint64_t w;
      memcpy(&w, p, 8);
      uint64_t hit = special8(w);
      if (hit) {
        p += first_byte(hit);
        break;
      }
      p += 8;
    }
    if (p == end) {
      fail_at(r, open, TS_ERR_PARSE, "unterminated string");
      return false;
    }
    unsigned char c = *p;
    if (c == '"')
      break;
    if (c == '\\') {
      esc = true;
      if (end - p < 2) {
        fail_at(r, open, TS_ERR_PARSE, "unterminated string");
        return false;
      }
      switch (p[1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't': p += 2; continue;
      case 'u': break;
      default:
        fail_at(r, (const char *)p, TS_ERR_PARSE,
                "invalid escape in a "
                "string (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        return false;
      }
      if (end - p < 6 || ts_hex_value(p[2]) < 0 ||
          ts_hex_value(p[3]) < 0 || ts_hex_value(p[4]) < 0 ||
          ts_hex_value(p[5]) < 0) {
        fail_at(r, (const char *)p, TS_ERR_PARSE,
                "\\u must be followed by four hex digits");
        return false;
      }
      if (hex4((const char *)p + 2) == 0) {
        fail_at(r, (const char *)p, TS_ERR_PARSE,
                "\\u0000 is not allowed in a string");
        return false;
      }
      p += 6;
      continue;
    }
    if (c < 0x20) {
      fail_at(r, (const char *)p, TS_ERR_PARSE,
              "control character 0x%02x "
              "in a string (escape it)",
              c);
      return false;
    }
    size_t n = utf8_length(p, end);
    if (n == 0) {
      fail_at(r, (const char *)p, TS_ERR_PARSE,
              "invalid UTF-8 in a string (byte 0x%02x)", c);
      return false;
    }
    p += n;
  }
  *body = open + 1;
  *len = (size_t)((const char *)p - (open + 1));
  *escaped = esc;
  r->p = (const char *)p + 1;
  return true;
}

static char *put_utf8(char *o, unsigned cp)
{
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | cp >> 6);
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | cp >> 12);
    *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | cp >> 18);
    *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
    *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* Decodes `len` scanned bytes at `s` into `out`, which has room for `len`
 * bytes: no escape decodes to more bytes than it takes. Returns the
 * decoded length. */
static size_t decode(const char *s, size_t len, char *out)
{
  const char *end = s + len;
  char *o = out;
  while (s < end) {
    const char *bs = memchr(s, '\\', (size_t)(end - s));
    if (!bs) {
      memcpy(o, s, (size_t)(end - s));
      o += end - s;
      break;
    }
    memcpy(o, s, (size_t)(bs - s));
    o += bs - s;
    s = bs + 2;
    switch (bs[1]) {
    case 'b': *o++ = '\b'; continue;
    case 'f': *o++ = '\f'; continue;
    case 'n': *o++ = '\n'; continue;
    case 'r': *o++ = '\r'; continue;
    case 't': *o++ = '\t'; continue;
    case 'u': break;
    default: *o++ = bs[1]; continue; /* " \ / */
    }
    unsigned cp = hex4(s);
    s += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 && s[0] == '\\' &&
        s[1] == 'u') {
      unsigned low = hex4(s + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        s += 6;
      }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
      cp = 0xFFFD; /* a lone surrogate */
    o = put_utf8(o, cp);
  }
  return (size_t)(o - out);
}

/* A view of a scanned string: in place, or decoded into the scratch. */
static bool string_view(struct ts_json_reader *r, const char *body, size_t len,
                        bool escaped, struct ts_json_view *out)
{
  if (!escaped) {
    out->s = body;
    out->len = len;
    return true;
  }
  ts_buf_reset(&r->scratch);
  if (ts_buf_reserve(&r->scratch, len + 1) != TS_OK) {
    ts_json_fail(r, TS_ERR_NOMEM, "out of memory");
    return false;
  }
  r->scratch.len = decode(body, len, r->scratch.data);
  r->scratch.data[r->scratch.len] = '\0';
  out->s = r->scratch.data;
  out->len = r->scratch.len;
  return true;
}

/* Checks the number at r->p and moves past it. With `out`, also its
 * value: an integer out of int64 range fails then. */
static bool scan_number(struct ts_json_reader *r, struct ts_json_number *out)
{
  const char *s = r->p, *p = s, *end = r->end;
  bool negative = false, overflow = false, integer = true;
  uint64_t value = 0;
  /* 2^63 for a negative number, 2^63 - 1 otherwise. */
  uint64_t limit = (uint64_t)INT64_MAX;
  if (p < end && *p == '-') {
    negative = true;
    limit++;
    p++;
  }
  if (p == end || !is_digit(*p)) {
    fail_at(r, s, TS_ERR_PARSE, "invalid number: a digit must follow '-'");
    return false;
  }
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p)) {
      fail_at(r, s, TS_ERR_PARSE,
              "invalid number: leading zeros are not "
              "allowed");
      return false;
    }
  } else {
    for (; p < end && is_digit(*p); p++) {
      unsigned d = (unsigned)(*p - '0');
      if (value > (limit - d) / 10)
        overflow = true;
      else
        value = value * 10 + d;
    }
  }
  if (p < end && *p == '.') {
    integer = false;
    p++;
    if (p == end || !is_digit(*p)) {
      fail_at(r, p, TS_ERR_PARSE,
              "invalid number: a digit must follow "
              "'.'");
      return false;
    }
    while (p < end && is_digit(*p))
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    integer = false;
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (p == end || !is_digit(*p)) {
      fail_at(r, p, TS_ERR_PARSE,
              "invalid number: the exponent needs a "
              "digit");
      return false;
    }
    while (p < end && is_digit(*p))
      p++;
  }
  if (out) {
    if (integer && overflow) {
      fail_at(r, s, TS_ERR_PARSE, "integer out of range (%.*s)",
              (int)(p - s > 40 ? 40 : p - s), s);
      return false;
    }
    out->integer = integer;
    out->value = 0;
    if (integer)
      out->value = !negative        ? (int64_t)value
                   : value == limit ? INT64_MIN
                                    : -(int64_t)value;
    out->text.s = s;
    out->text.len = (size_t)(p - s);
  }
  r->p = p;
  return true;
}

/* ---- values ------------------------------------------------------------ */

static bool literal(struct ts_json_reader *r, const char *word)
{
  size_t n = strlen(word);
  return (size_t)(r->end - r->p) >= n && memcmp(r->p, word, n) == 0;
}

enum ts_json_type ts_json_peek(struct ts_json_reader *r)
{
  if (r->result != TS_OK)
    return TS_JSON_INVALID;
  if (!r->pending) {
    ts_json_fail(r, TS_ERR_INTERNAL, "no value to read here (a bug)");
    return TS_JSON_INVALID;
  }
  skip_space(r);
  if (r->p == r->end) {
    unexpected(r, r->p, "expected a value");
    return TS_JSON_INVALID;
  }
  switch (*r->p) {
  case '{': return TS_JSON_OBJECT;
  case '[': return TS_JSON_ARRAY;
  case '"': return TS_JSON_STRING;
  case '-':
  case '0':
  case '1':
  case '2':
  case '3':
  case '4':
  case '5':
  case '6':
  case '7':
  case '8':
  case '9': return TS_JSON_NUMBER;
  case 't':
    if (literal(r, "true"))
      return TS_JSON_TRUE;
    break;
  case 'f':
    if (literal(r, "false"))
      return TS_JSON_FALSE;
    break;
  case 'n':
    if (literal(r, "null"))
      return TS_JSON_NULL;
    break;
  default: unexpected(r, r->p, "expected a value"); return TS_JSON_INVALID;
  }
  fail_at(r, r->p, TS_ERR_PARSE, "invalid literal (true, false or null)");
  return TS_JSON_INVALID;
}

static const char *type_name(enum ts_json_type type)
{
  switch (type) {
  case TS_JSON_OBJECT: return "an object";
  case TS_JSON_ARRAY: return "an array";
  case TS_JSON_STRING: return "a string";
  case TS_JSON_NUMBER: return "a number";
  case TS_JSON_TRUE:
  case TS_JSON_FALSE: return "true or false";
  case TS_JSON_NULL: return "null";
  case TS_JSON_INVALID: break;
  }
  return "a value";
}

/* Peeks and fails unless the next value is `want` (or `also`). */
static bool expect(struct ts_json_reader *r, enum ts_json_type want,
                   enum ts_json_type also)
{
  enum ts_json_type t = ts_json_peek(r);
  if (t == want || t == also)
    return true;
  if (t != TS_JSON_INVALID)
    fail_at(r, r->p, TS_ERR_PARSE, "expected %s, found %s", type_name(want),
            type_name(t));
  return false;
}

static enum ts_result begin(struct ts_json_reader *r, enum ts_json_type type)
{
  if (!expect(r, type, type))
    return r->result;
  if (r->depth == TS_JSON_MAX_DEPTH)
    return fail_at(r, r->p, TS_ERR_LIMIT, "nested deeper than %d levels",
                   TS_JSON_MAX_DEPTH);
  uint64_t bit = UINT64_C(1) << r->depth;
  r->depth++;
  if (type == TS_JSON_OBJECT)
    r->objects |= bit;
  else
    r->objects &= ~bit;
  r->fresh |= bit;
  r->pending = false;
  r->p++;
  return TS_OK;
}

enum ts_result ts_json_object_begin(struct ts_json_reader *r)
{
  return begin(r, TS_JSON_OBJECT);
}

enum ts_result ts_json_array_begin(struct ts_json_reader *r)
{
  return begin(r, TS_JSON_ARRAY);
}

/* Reads past the next value, whatever it is, without recursion. */
static void skip_value(struct ts_json_reader *r)
{
  unsigned base = r->depth;
  struct ts_json_view key;
  while (r->result == TS_OK && (r->pending || r->depth > base)) {
    if (!r->pending) {
      /* Inside a container being skipped: on to its next value. */
      if (r->objects >> (r->depth - 1) & 1)
        ts_json_member(r, &key);
      else
        ts_json_element(r);
      continue;
    }
    const char *body;
    size_t len;
    bool escaped;
    switch (ts_json_peek(r)) {
    case TS_JSON_OBJECT: begin(r, TS_JSON_OBJECT); break;
    case TS_JSON_ARRAY: begin(r, TS_JSON_ARRAY); break;
    case TS_JSON_STRING:
      if (scan_string(r, &body, &len, &escaped))
        r->pending = false;
      break;
    case TS_JSON_NUMBER:
      if (scan_number(r, NULL))
        r->pending = false;
      break;
    case TS_JSON_TRUE:
    case TS_JSON_NULL:
      r->p += 4;
      r->pending = false;
      break;
    case TS_JSON_FALSE:
      r->p += 5;
      r->pending = false;
      break;
    case TS_JSON_INVALID: return;
    }
  }
}

enum ts_result ts_json_skip(struct ts_json_reader *r)
{
  if (r->result == TS_OK && !r->pending)
    return ts_json_fail(r, TS_ERR_INTERNAL, "no value to skip (a bug)");
  skip_value(r);
  return r->result;
}

/* Before the next member or element of the innermost container `close`
 * (']' or '}'): skips an unread value, then reads the separator. Returns
 * whether another member or element follows. */
static bool next_in(struct ts_json_reader *r, char close, bool object)
{
  if (r->result != TS_OK)
    return false;
  if (r->pending)
    skip_value(r);
  if (r->result != TS_OK)
    return false;
  if (r->depth == 0 || (bool)(r->objects >> (r->depth - 1) & 1) != object) {
    ts_json_fail(r, TS_ERR_INTERNAL, "not in %s (a bug)",
                 object ? "an object" : "an array");
    return false;
  }
  uint64_t bit = UINT64_C(1) << (r->depth - 1);
  skip_space(r);
  const char *p = r->p;
  if (p < r->end && *p == close) {
    r->p++;
    r->depth--;
    return false;
  }
  if (r->fresh & bit) {
    r->fresh &= ~bit;
    return true;
  }
  if (p == r->end || *p != ',') {
    unexpected(r, p,
               object ? "expected ',' or '}' after an object member"
                      : "expected ',' or ']' after an array element");
    return false;
  }
  r->p++;
  skip_space(r);
  if (r->p < r->end && (*r->p == '}' || *r->p == ']')) {
    fail_at(r, r->p, TS_ERR_PARSE, "trailing comma before '%c'", *r->p);
    return false;
  }
  return true;
}

bool ts_json_member(struct ts_json_reader *r, struct ts_json_view *key)
{
  if (!next_in(r, '}', true))
    return false;
  if (r->p == r->end || *r->p != '"') {
    unexpected(r, r->p, "expected a string key");
    return false;
  }
  const char *body;
  size_t len;
  bool escaped;
  if (!scan_string(r, &body, &len, &escaped) ||
      !string_view(r, body, len, escaped, key))
    return false;
  skip_space(r);
  if (r->p == r->end || *r->p != ':') {
    unexpected(r, r->p, "expected ':' after an object key");
    return false;
  }
  r->p++;
  r->pending = true;
  return true;
}

bool ts_json_element(struct ts_json_reader *r)
{
  if (!next_in(r, ']', false))
    return false;
  r->pending = true;
  return true;
}

enum ts_result ts_json_read_view(struct ts_json_reader *r,
                                 struct ts_json_view *out)
{
  const char *body;
  size_t len;
  bool escaped;
  if (!expect(r, TS_JSON_STRING, TS_JSON_STRING) ||
      !scan_string(r, &body, &len, &escaped) ||
      !string_view(r, body, len, escaped, out))
    return r->result;
  r->pending = false;
  return TS_OK;
}

enum ts_result ts_json_read_string(struct ts_json_reader *r,
                                   struct ts_arena *arena, const char **out,
                                   size_t *len)
{
  struct ts_json_view v;
  if (ts_json_read_view(r, &v) != TS_OK)
    return r->result;
  char *copy = ts_arena_strndup(arena, v.s, v.len);
  if (!copy)
    return ts_json_fail(r, TS_ERR_NOMEM, "out of memory");
  *out = copy;
  if (len)
    *len = v.len;
  return TS_OK;
}

enum ts_result ts_json_read_number(struct ts_json_reader *r,
                                   struct ts_json_number *out)
{
  if (!expect(r, TS_JSON_NUMBER, TS_JSON_NUMBER) || !scan_number(r, out))
    return r->result;
  r->pending = false;
  return TS_OK;
}

enum ts_result ts_json_read_int(struct ts_json_reader *r, int64_t *out)
{
  struct ts_json_number n;
  if (ts_json_read_number(r, &n) != TS_OK)
    return r->result;
  if (!n.integer)
    return fail_at(r, n.text.s, TS_ERR_PARSE, "expected an integer, found %.*s",
                   (int)(n.text.len > 40 ? 40 : n.text.len), n.text.s);
  *out = n.value;
  return TS_OK;
}

enum ts_result ts_json_read_bool(struct ts_json_reader *r, bool *out)
{
  if (!expect(r, TS_JSON_TRUE, TS_JSON_FALSE))
    return r->result;
  *out = *r->p == 't';
  r->p += *out ? 4 : 5;
  r->pending = false;
  return TS_OK;
}

enum ts_result ts_json_unwind(struct ts_json_reader *r, unsigned depth)
{
  struct ts_json_view key;
  while (r->result == TS_OK && r->depth > depth) {
    if (r->objects >> (r->depth - 1) & 1)
      ts_json_member(r, &key);
    else
      ts_json_element(r);
  }
  return r->result;
}

enum ts_result ts_json_end(struct ts_json_reader *r)
{
  if (r->pending)
    skip_value(r);
  ts_json_unwind(r, 0);
  if (r->result != TS_OK)
    return r->result;
  skip_space(r);
  if (r->p != r->end)
    return unexpected(r, r->p, "end of input expected after the document");
  return TS_OK;
}

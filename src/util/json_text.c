#include "util/json_text.h"

#include <string.h>

/* Whether a byte needs an escape inside a JSON string. */
static bool needs_escape(unsigned char c)
{
  return c < 0x20 || c == '"' || c == '\\';
}

enum ts_result ts_json_string(struct ts_buf *b, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  size_t len = strlen(s);
  /* Most strings need no escape at all: one reservation, one copy. */
  enum ts_result r = ts_buf_reserve(b, len + 2);
  if (r != TS_OK)
    return r;
  b->data[b->len++] = '"';
  const char *run = s;
  for (const char *p = s;; p++) {
    unsigned char c = (unsigned char)*p;
    if (c && !needs_escape(c))
      continue;
    size_t n = (size_t)(p - run);
    if (n && (r = ts_buf_append(b, run, n)) != TS_OK)
      return r;
    if (!c)
      break;
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
    run = p + 1;
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

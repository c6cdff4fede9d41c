/*
 * libFuzzer harness for the normalize and dedupe stages: arbitrary bytes
 * through every entry point, with the invariants each one promises
 * checked (a broken invariant aborts, which libFuzzer reports):
 * - text: valid UTF-8, NFC, no controls, at most `cap` clusters,
 *   idempotent, and the chunked path equals the single-pass one;
 * - HTML: valid UTF-8 and already normal block text;
 * - URLs: http(s) only, canonical form is a fixpoint, keys agree;
 * - body repair: the result is valid UTF-8 and jansson-safe escapes;
 * - times: a parsed time formats and parses back to itself;
 * - dedupe of items built from the input: safe, unique, ordered keys.
 *
 * fuzz-sources: src/normalize.c src/normalize_url.c src/normalize_value.c src/dedupe.c src/item.c src/util/arena.c src/util/buf.c src/util/error.c
 *
 * Build (tests/fuzz/run.sh does this from the line above):
 *   clang -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -Isrc \
 *     $(pkg-config --cflags jansson libutf8proc) tests/fuzz/fuzz_normalize.c \
 *     src/normalize.c src/normalize_url.c src/normalize_value.c \
 *     src/dedupe.c src/item.c src/util/arena.c src/util/buf.c \
 *     src/util/error.c $(pkg-config --libs jansson libutf8proc) \
 *     -o build/fuzz/fuzz_normalize
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "dedupe.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond)                                                         \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

static bool valid_utf8(const char *s)
{
  utf8proc_int32_t cp;
  for (size_t i = 0; s[i];) {
    utf8proc_ssize_t n =
      utf8proc_iterate((const utf8proc_uint8_t *)s + i, -1, &cp);
    if (n <= 0)
      return false;
    i += (size_t)n;
  }
  return true;
}

static bool is_nfc(const char *s)
{
  utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)s);
  bool same = nfc && !strcmp((const char *)nfc, s);
  free(nfc);
  return same;
}

static void check_text(struct ts_arena *a, const char *t,
                       enum ts_text_mode mode, uint32_t cap)
{
  ASSERT(t != NULL);
  ASSERT(valid_utf8(t));
  ASSERT(is_nfc(t));
  for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
    ASSERT(*p >= 0x20 || (*p == '\n' && mode == TS_TEXT_BLOCK));
    ASSERT(*p != 0x7F);
  }
  size_t n = strlen(t);
  ASSERT(n == 0 || (t[0] != ' ' && t[0] != '\n'));
  if (cap)
    ASSERT(ts_normalize_graphemes(t, n) <= cap);
  ASSERT(n <= TS_NORMALIZE_TEXT_MAX);
  const char *again = ts_normalize_text(a, t, mode, cap, NULL);
  ASSERT(again && !strcmp(again, t));
}

static void fuzz_text(struct ts_arena *a, const char *in, size_t n,
                      const char *cstr, uint8_t sel)
{
  enum ts_text_mode mode = sel & 1 ? TS_TEXT_BLOCK : TS_TEXT_LINE;
  uint32_t cap = (sel >> 1) & 1 ? (uint32_t)(sel >> 2) : 0;
  const char *once = ts_normalize_textn(a, in, n, mode, cap, NULL);
  check_text(a, once, mode, cap);
  /* The NUL-terminated (chunked) path agrees on the same bytes. */
  if (!memchr(in, '\0', n)) {
    const char *chunked = ts_normalize_text(a, cstr, mode, cap, NULL);
    ASSERT(chunked && !strcmp(chunked, once));
  }
}

static void fuzz_html(struct ts_arena *a, const char *in, uint8_t sel)
{
  uint32_t cap = sel & 1 ? (uint32_t)(sel >> 1) : 0;
  const char *t = ts_normalize_html(a, in, cap, NULL);
  check_text(a, t, TS_TEXT_BLOCK, cap);
}

static void fuzz_url(struct ts_arena *a, const char *in)
{
  const char *u = ts_normalize_url(a, in);
  const char *key = NULL;
  ASSERT(ts_normalize_url_key(a, in, &key) == TS_OK);
  ASSERT((u == NULL) == (key == NULL));
  if (!u)
    return;
  ASSERT(!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8));
  ASSERT(!strchr(u, '#') && !strchr(u, ' ') && !strchr(u, '\\'));
  /* Printable ASCII, except an IDN host, kept in (valid) UTF-8. */
  const char *host = strstr(u, "://") + 3;
  const char *path = strchr(host, '/');
  ASSERT(path != NULL);
  ASSERT(valid_utf8(u));
  for (const unsigned char *p = (const unsigned char *)u; *p; p++)
    ASSERT(*p > 0x20 && *p != 0x7F &&
           (*p < 0x80 || ((const char *)p >= host && (const char *)p < path)));
  const char *again = ts_normalize_url(a, u);
  ASSERT(again && !strcmp(again, u));
  const char *key2 = NULL;
  ASSERT(ts_normalize_url_key(a, u, &key2) == TS_OK);
  ASSERT(key2 && !strcmp(key, key2) && strchr(key, '/'));
}

static void fuzz_json(const char *in, size_t n)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  ASSERT(ts_buf_append(&b, in, n) == TS_OK);
  size_t count;
  if (ts_normalize_repair_json(&b, &count) == TS_OK) {
    ASSERT(b.data != NULL || n == 0);
    if (b.data) {
      /* Valid UTF-8 everywhere, NUL bytes aside (outside strings). */
      size_t i = 0;
      while (i < b.len) {
        if (b.data[i] == '\0') {
          i++;
          continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(
          (const utf8proc_uint8_t *)b.data + i,
          (utf8proc_ssize_t)(b.len - i), &cp);
        ASSERT(k > 0);
        i += (size_t)k;
      }
      /* A second pass finds nothing left to repair. */
      size_t again;
      ASSERT(ts_normalize_repair_json(&b, &again) == TS_OK);
      ASSERT(again == 0);
    }
  }
  ts_buf_cleanup(&b);
}

static void fuzz_values(const char *in)
{
  int64_t t, back, v;
  char buf[TS_NORMALIZE_TIME_SIZE];
  if (ts_normalize_parse_time(in, &t) && ts_normalize_format_time(t, buf)) {
    ASSERT(ts_normalize_parse_time(buf, &back) && back == t);
  }
  if (ts_normalize_parse_duration(in, &v))
    ASSERT(v >= 0);
  if (ts_normalize_parse_count(in, &v))
    ASSERT(v >= 0);
}

/* Items from the input's lines: "v<id> <title>" a video, otherwise a
 * story "<url> <title>"; normalized, deduped, checked. */
static void fuzz_dedupe(const char *in, size_t n)
{
  struct ts_batch b;
  ts_batch_init(&b);
  static const char *const regions[] = {"US", "JP", "", "KR"};
  size_t line = 0;
  for (size_t i = 0; i < n && line < 64; line++) {
    size_t end = i;
    while (end < n && in[end] != '\n')
      end++;
    const char *text = ts_batch_strn(&b, in + i, end - i);
    i = end + 1;
    if (!text)
      break;
    const char *sp = strchr(text, ' ');
    const char *rest = sp ? sp + 1 : "a long enough shared title here";
    const char *head = ts_batch_strn(&b, text, sp ? (size_t)(sp - text)
                                                  : strlen(text));
    struct ts_item *it = ts_batch_new_item(&b);
    if (!it || !head)
      break;
    if (head[0] == 'v') {
      it->kind = TS_ITEM_VIDEO;
      it->id = head + 1;
      it->url = "https://www.youtube.com/watch?v=x";
    } else {
      it->kind = TS_ITEM_STORY;
      it->id = head;
      it->url = head;
      it->discussion_url = line % 3 ? NULL : "https://news.example/item";
    }
    it->title = rest;
    it->published = (int64_t)line * 7 - 20;
    it->views = (int64_t)line;
    ts_item_set_position(&b, it, line % 2 ? "a" : "b", regions[line % 4],
                         (uint32_t)(line % 120) + 1);
  }
  struct ts_error err;
  if (ts_normalize_batch(&b, NULL, NULL, &err) == TS_OK) {
    struct ts_item *out;
    size_t nout;
    if (ts_dedupe(&b, &out, &nout, NULL, &err) == TS_OK) {
      for (size_t i = 0; i < nout; i++) {
        const char *k = out[i].key;
        ASSERT(k && *k && strlen(k) <= 64);
        for (const char *p = k; *p; p++)
          ASSERT((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '_' || *p == '-');
        ASSERT(out[i].npositions >= 1);
        if (i) {
          ASSERT(out[i - 1].rank_score >= out[i].rank_score);
          if (out[i - 1].rank_score == out[i].rank_score &&
              out[i - 1].kind == out[i].kind)
            ASSERT(strcmp(out[i - 1].key, k) < 0);
        }
      }
      /* Merging the result with itself changes nothing but `merged`
       * (the same raw items counted twice) and dedupe is idempotent. */
      struct ts_item *again;
      size_t nagain;
      if (ts_dedupe_items(&b, out, nout, NULL, &again, &nagain, NULL,
                          &err) == TS_OK) {
        ASSERT(nagain == nout);
        for (size_t i = 0; i < nout; i++)
          ASSERT(!strcmp(again[i].key, out[i].key) &&
                 again[i].merged == out[i].merged &&
                 again[i].npositions == out[i].npositions);
        free(again);
      }
      free(out);
    }
  }
  ts_batch_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  uint8_t which = data[0], sel = data[1];
  const char *in = (const char *)data + 2;
  size_t n = size - 2;
  char *cstr = malloc(n + 1);
  if (!cstr)
    return 0;
  memcpy(cstr, in, n);
  cstr[n] = '\0';
  struct ts_arena a;
  ts_arena_init(&a, 0);
  switch (which % 6) {
  case 0:
    fuzz_text(&a, in, n, cstr, sel);
    break;
  case 1:
    fuzz_html(&a, cstr, sel);
    break;
  case 2:
    fuzz_url(&a, cstr);
    break;
  case 3:
    fuzz_json(in, n);
    break;
  case 4:
    fuzz_values(cstr);
    break;
  case 5:
    fuzz_dedupe(in, n);
    break;
  }
  ts_arena_cleanup(&a);
  free(cstr);
  return 0;
}

/* Normalization: text (UTF-8 repair, NFC, controls, bidi, whitespace,
 * grapheme caps), HTML to text, body repair, URLs, numbers, times,
 * durations, thumbnails and whole items. Property tests compare the fast
 * paths with utf8proc's own functions on pseudo-random input. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "harness.h"
#include "normalize.h"
#include "util/floor.h"

/* ---- helpers -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
  /* splitmix64: deterministic, so a failure reproduces. */
  uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static size_t put_utf8(char *out, uint32_t cp)
{
  return (size_t)utf8proc_encode_char((utf8proc_int32_t)cp,
                                      (utf8proc_uint8_t *)out);
}

/* Code points that exercise normalization and segmentation. */
static const uint32_t interesting[] = {
  'a', 'B', 'z', '0', ' ', ' ', '.', '!', '<', '&', 0xE9, 0xC5, 0x131,
  0x300, 0x301, 0x308, 0x323, 0x327, 0x345, 0x344, 0x340, /* marks */
  0x304B, 0x30AB, 0x30CF, 0x3099, 0x309A, 0x304C, 0x30FC, /* kana */
  0x1100, 0x1161, 0x11A8, 0x110B, 0x1175, 0xAC00, 0xAC01, 0xD55C, /* Hangul */
  0x4E00, 0x65E5, 0x672C, 0xF900, 0xFA10, 0x2F800, /* CJK + compat */
  0x212B, 0x2126, 0x0958, 0x0915, 0x093C, 0x094D, 0x0937, /* Devanagari */
  0x1EA1, 0x1EC7, 0x0103, 0x01B0, /* Vietnamese */
  0x1F468, 0x200D, 0x1F469, 0x1F467, 0x1F3FD, 0xFE0F, 0x1F44D, /* emoji */
  0x1F1EF, 0x1F1F5, 0x1F1FA, 0x1F1F8, /* regional indicators */
  0x0627, 0x0644, 0x05D0, 0x05D1, 0x200C, /* Arabic, Hebrew, ZWNJ */
  0x0F71, 0x0F72, 0x0F73, 0x0B47, 0x0B3E, 0x0CC6, 0x0CD5, /* composing */
  0xFF21, 0xFF76, 0xFF9E, 0x3000, 0xA0, 0x2028, /* width, spaces */
};

/* Random valid UTF-8 from `interesting` and random code points. */
static size_t random_valid(char *out, size_t maxcp)
{
  size_t n = rnd() % maxcp, o = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp;
    if (rnd() % 5 == 0) {
      do
        cp = (uint32_t)(rnd() % 0x110000);
      while (cp >= 0xD800 && cp <= 0xDFFF);
      if (cp < 0x20)
        cp = 'x';
    } else {
      cp = interesting[rnd() % (sizeof interesting / sizeof interesting[0])];
    }
    o += put_utf8(out + o, cp);
  }
  out[o] = '\0';
  return o;
}

/* Random bytes mixing the above with controls, bidi controls and invalid
 * UTF-8. */
static size_t random_dirty(char *out, size_t maxcp)
{
  static const char *const junk[] = {
    "\x01", "\t", "\n", "\r\n", "\x7F", "\xC2\x85", "\xC2\x9B",
    "\xE2\x80\xAE", "\xE2\x80\x8B", "\xEF\xBB\xBF", "\xE2\x81\xA6",
    "\xC0\xAF", "\xED\xA0\x80", "\xF8\x88\x80\x80\x80", "\x80", "\xE3\x81",
    "\xFF", "\xF4\x90\x80\x80", "  ", "\xEF\xB7\x90", "\xE2\x80\xA9",
  };
  size_t n = rnd() % maxcp, o = 0;
  for (size_t i = 0; i < n; i++) {
    if (rnd() % 4 == 0) {
      const char *j = junk[rnd() % (sizeof junk / sizeof junk[0])];
      memcpy(out + o, j, strlen(j));
      o += strlen(j);
    } else {
      o += put_utf8(out + o,
                    interesting[rnd() % (sizeof interesting /
                                         sizeof interesting[0])]);
    }
  }
  out[o] = '\0';
  return o;
}

static bool valid_utf8(const char *s)
{
  utf8proc_int32_t cp;
  for (size_t i = 0; s[i];) {
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                          -1, &cp);
    if (n <= 0)
      return false;
    i += (size_t)n;
  }
  return true;
}

/* Reference: clusters by calling utf8proc on every pair, no shortcut. */
static size_t ref_graphemes(const char *s, size_t len, size_t want,
                            size_t *cut)
{
  utf8proc_int32_t prev = -1, cp, state = 0;
  size_t count = 0;
  *cut = len;
  for (size_t i = 0; i < len;) {
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                          (utf8proc_ssize_t)(len - i), &cp);
    if (n <= 0)
      return SIZE_MAX;
    if (prev < 0 || utf8proc_grapheme_break_stateful(prev, cp, &state)) {
      if (++count == want)
        *cut = i;
    }
    prev = cp;
    i += (size_t)n;
  }
  return count;
}

static const char *text(struct ts_arena *a, const char *s, uint32_t max)
{
  return ts_normalize_text(a, s, TS_TEXT_LINE, max, NULL);
}

static const char *block(struct ts_arena *a, const char *s, uint32_t max)
{
  return ts_normalize_text(a, s, TS_TEXT_BLOCK, max, NULL);
}

/* ---- text ----------------------------------------------------------- */

static void clean_ascii_is_returned_as_is(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  const char *title = "Rick Astley - Never Gonna Give You Up (Official)";
  CHECK(text(&a, title, 150) == title);
  CHECK_INT(a.total, 0);
  CHECK_STR(text(&a, "  Hello \t\n  world  ", 0), "Hello world");
  CHECK_STR(text(&a, "", 0), "");
  CHECK_STR(text(&a, " \t\n ", 0), "");
  CHECK(text(&a, NULL, 0) == NULL);
  ts_arena_cleanup(&a);
}

static void controls_go_in_titles(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  CHECK_STR(text(&a, "a\x01" "b\x1F" "c\x7F" "d", 0), "abcd");
  /* C1 controls U+0080..U+009F (as UTF-8), NEL becomes a space. */
  CHECK_STR(text(&a, "a\xC2\x80" "b\xC2\x9F" "c\xC2\x85" "d", 0), "abc d");
  CHECK_STR(text(&a, "line one\nline two\r\nthree\ttab\vv\ff", 0),
            "line one line two three tab v f");
  /* Unicode spaces collapse too; full-width space included. */
  CHECK_STR(text(&a, u8"a\u00A0\u2003\u3000b\u2028c", 0), "a b c");
  /* <script> is text here; the renderer escapes it. */
  CHECK_STR(text(&a, "<script>alert(1)</script> & \"q\"", 0),
            "<script>alert(1)</script> & \"q\"");
  ts_arena_cleanup(&a);
}

static void block_text_keeps_lines(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  CHECK_STR(block(&a, "\n\n  para one  \r\n  still one\r\n\r\n\r\n\n"
                      "para  two \t\n\n",
                  0),
            "para one\nstill one\n\npara two");
  CHECK_STR(block(&a, u8"a\u2028b\u2029c", 0), "a\nb\n\nc");
  CHECK_STR(block(&a, "a\r\rb", 0), "a\n\nb");
  const char *clean = "First line\nSecond line\n\nNew paragraph";
  CHECK(block(&a, clean, 0) == clean);
  ts_arena_cleanup(&a);
}

static void invisible_and_bidi_controls_go(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  CHECK_STR(text(&a, u8"a\u200Bb\u2060c\uFEFFd\u200Ee\u200Ff", 0),
            "abcdef");
  CHECK_STR(text(&a, u8"\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee", 0), "abcde");
  CHECK_STR(text(&a, u8"\u2066a\u2067b\u2068c\u2069d\u061Ce\u206Af", 0),
            "abcdef");
  /* An RTL override injected into Arabic and Hebrew is removed; the
   * letters stay. */
  CHECK_STR(text(&a, u8"\u202E\u0645\u0631\u062D\u0628\u0627 txt.exe", 0),
            u8"\u0645\u0631\u062D\u0628\u0627 txt.exe");
  CHECK_STR(text(&a, u8"\u05E9\u05DC\u05D5\u05DD\u202E gpj.exe", 0),
            u8"\u05E9\u05DC\u05D5\u05DD gpj.exe");
  /* ZWJ and ZWNJ stay: emoji sequences, Persian. */
  const char *family = u8"\U0001F468\u200D\U0001F469\u200D\U0001F467";
  CHECK_STR(text(&a, family, 0), family);
  const char *persian = u8"\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645";
  CHECK_STR(text(&a, persian, 0), persian);
  /* Noncharacters go; private use stays. */
  CHECK_STR(text(&a, u8"a\uFDD0b\uFFFEc\U0001FFFFd\uE000", 0),
            u8"abcd\uE000");
  ts_arena_cleanup(&a);
}

static void text_becomes_nfc(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  /* NFD Japanese: か + U+3099 is が, カ + U+3099 ガ, ハ + U+309A パ. */
  CHECK_STR(text(&a, u8"\u304B\u3099\u30AB\u3099\u30CF\u309A", 0),
            u8"\u304C\u30AC\u30D1");
  CHECK_STR(text(&a, u8"\u30C6\u3099\u30A3\u30B9\u30CB\u30FC", 0),
            u8"\u30C7\u30A3\u30B9\u30CB\u30FC");
  /* Hangul jamo compose to syllables. */
  CHECK_STR(text(&a, u8"\u1112\u1161\u11AB\u1100\u1173\u11AF", 0),
            u8"\uD55C\uAE00");
  /* Vietnamese in NFD. */
  CHECK_STR(text(&a, u8"Tie\u0302\u0301ng Vie\u0323\u0302t", 0),
            u8"Ti\u1EBFng Vi\u1EC7t");
  /* Singletons and exclusions: Angstrom sign, CJK compatibility. */
  CHECK_STR(text(&a, u8"\u212B \uF900", 0), u8"\u00C5 \u8C48");
  /* Width is not folded: full-width and half-width forms stay. */
  const char *wide = u8"\uFF2E\uFF28\uFF2B \uFF76\uFF9E\uFF71";
  CHECK_STR(text(&a, wide, 0), wide);
  /* Already NFC Japanese comes back without a copy. */
  const char *nfc = u8"\u65E5\u672C\u8A9E\u306E\u30BF\u30A4\u30C8\u30EB "
                    u8"\u304C\u3093\u3070\u308C";
  CHECK(text(&a, nfc, 0) == nfc);
  ts_arena_cleanup(&a);
}

static void invalid_utf8_becomes_fffd(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  static const struct {
    const char *in, *out;
    uint32_t repairs;
  } cases[] = {
    {"x\xC0\xAFy", u8"x\uFFFD\uFFFDy", 2},          /* overlong '/' */
    {"x\xE0\x80\xAFy", u8"x\uFFFD\uFFFD\uFFFDy", 3}, /* overlong, 3 bytes */
    {"x\xED\xA0\x80y", u8"x\uFFFD\uFFFD\uFFFDy", 3}, /* encoded surrogate */
    {"x\xED\xB0\x80\xED\xA0\x80", u8"x\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD",
     6},
    {"x\xF8\x88\x80\x80\x80y", u8"x\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDy", 5},
    {"\x80x\xBF", u8"\uFFFDx\uFFFD", 2}, /* stray continuations */
    {"abc\xE3\x81", u8"abc\uFFFD", 1},   /* truncated at the end */
    {"abc\xF0\x9F\x98", u8"abc\uFFFD", 1},
    {"a\xE3\x81z", u8"a\uFFFDz", 1}, /* truncated in the middle */
    {"x\xF4\x90\x80\x80", u8"x\uFFFD\uFFFD\uFFFD\uFFFD", 4}, /* > U+10FFFF */
    {"\xFE\xFF", u8"\uFFFD\uFFFD", 2},
    {"\xC2", u8"\uFFFD", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint32_t repaired = 0;
    const char *r = ts_normalize_text(&a, cases[i].in, TS_TEXT_LINE, 0,
                                      &repaired);
    CHECK_STR(r, cases[i].out);
    CHECK_INT(repaired, cases[i].repairs);
  }
  /* Arbitrary bytes with NULs: ts_normalize_textn. */
  const char bytes[] = {'a', 0, 'b', (char)0xC3, (char)0xA9, 0};
  CHECK_STR(ts_normalize_textn(&a, bytes, 5, TS_TEXT_LINE, 0, NULL),
            u8"ab\u00E9");
  ts_arena_cleanup(&a);
}

static void titles_are_capped_by_graphemes(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  CHECK_STR(text(&a, "abcdefghij", 10), "abcdefghij");
  CHECK_STR(text(&a, "abcdefghijk", 10), u8"abcdefghi\u2026");
  /* Spaces before the cut go. */
  CHECK_STR(text(&a, "abcd    efgh", 6), u8"abcd\u2026");
  /* A ZWJ family is one cluster and is never split. */
  const char *fam = u8"\U0001F468\u200D\U0001F469\u200D\U0001F467";
  char buf[256];
  snprintf(buf, sizeof buf, "%s%s%s", fam, fam, fam);
  snprintf(buf + 128, 128, "%s%s\u2026", fam, fam);
  CHECK_STR(text(&a, buf, 3), buf);
  CHECK_STR(text(&a, buf, 2), buf + 128 + strlen(fam));
  /* Flags are pairs of regional indicators. */
  CHECK_STR(text(&a, u8"\U0001F1EF\U0001F1F5\U0001F1FA\U0001F1F8"
                     u8"\U0001F1EC\U0001F1E7",
                 2),
            u8"\U0001F1EF\U0001F1F5\u2026");
  /* Skin tones and combining marks stay with their base. */
  CHECK_STR(text(&a, u8"\U0001F44D\U0001F3FD\U0001F44D\U0001F3FFx", 2),
            u8"\U0001F44D\U0001F3FD\u2026");
  CHECK_STR(text(&a, u8"e\u0301\u0323a\u0308\u0301bc", 3),
            u8"\u1EB9\u0301\u00E4\u0301\u2026");
  /* Japanese by clusters, not bytes: 5 kana of 3 bytes each. */
  CHECK_STR(text(&a, u8"\u3042\u3044\u3046\u3048\u304A\u304B", 5),
            u8"\u3042\u3044\u3046\u3048\u2026");
  /* NFD input is counted after composition. */
  CHECK_STR(text(&a, u8"\u304B\u3099\u304B\u3099\u304B\u3099", 3),
            u8"\u304C\u304C\u304C");
  /* Devanagari conjunct: virama joins it to the next consonant. */
  const char *kssa = u8"\u0915\u094D\u0937";
  CHECK(ts_normalize_graphemes(kssa, strlen(kssa)) >= 1);
  CHECK_STR(text(&a, "a", 1), "a");
  CHECK_STR(text(&a, "ab", 1), u8"\u2026");
  ts_arena_cleanup(&a);
}

static void long_text_is_cut_at_the_byte_cap(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  size_t n = 3 * TS_NORMALIZE_TEXT_MAX;
  char *big = malloc(n + 1);
  REQUIRE(big != NULL);
  for (size_t i = 0; i < n; i += 3)
    memcpy(big + i, u8"\u3042", 3);
  big[n] = '\0';
  const char *r = block(&a, big, 0);
  REQUIRE(r != NULL);
  CHECK(strlen(r) <= TS_NORMALIZE_TEXT_MAX);
  CHECK(strlen(r) > TS_NORMALIZE_TEXT_MAX - 16);
  CHECK(valid_utf8(r));
  CHECK(!strcmp(r + strlen(r) - 3, u8"\u2026"));
  /* A 400-cluster cap reads only what it needs and gives the same as
   * cutting the full result. */
  r = block(&a, big, 400);
  CHECK_INT(ts_normalize_graphemes(r, strlen(r)), 400);
  free(big);
  ts_arena_cleanup(&a);
}

/* The cut text equals the full text cut by the reference segmentation,
 * for random input; and cleaning is idempotent. */
static void cap_and_idempotence_properties(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  rng_state = 42;
  char in[4096];
  for (int iter = 0; iter < 20000; iter++) {
    random_dirty(in, 200);
    enum ts_text_mode mode = iter % 2 ? TS_TEXT_BLOCK : TS_TEXT_LINE;
    uint32_t cap = (uint32_t)(rnd() % 40) + 1;
    const char *full = ts_normalize_text(&a, in, mode, 0, NULL);
    const char *capped = ts_normalize_text(&a, in, mode, cap, NULL);
    REQUIRE(full && capped);
    if (!CHECK(valid_utf8(full) && valid_utf8(capped)))
      return;
    size_t cut;
    size_t count = ref_graphemes(full, strlen(full), cap, &cut);
    if (count != ts_normalize_graphemes(full, strlen(full))) {
      CHECK_INT(count, ts_normalize_graphemes(full, strlen(full)));
      return;
    }
    char expect[4096];
    if (count <= cap) {
      snprintf(expect, sizeof expect, "%s", full);
    } else {
      while (cut && (full[cut - 1] == ' ' || full[cut - 1] == '\n'))
        cut--;
      snprintf(expect, sizeof expect, "%.*s\u2026", (int)cut, full);
    }
    if (strcmp(capped, expect)) {
      printf("# iteration %d cap %u input:", iter, cap);
      for (const char *p = in; *p; p++)
        printf(" %02x", (unsigned char)*p);
      printf("\n");
      CHECK_STR(capped, expect);
      return;
    }
    const char *again = ts_normalize_text(&a, capped, mode, cap, NULL);
    if (again != capped) {
      CHECK_STR(again, capped);
      return;
    }
    /* NFC and nothing left to remove. */
    utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)full);
    CHECK_STR((const char *)nfc, full);
    free(nfc);
  }
  ts_arena_cleanup(&a);
}

/* The quick check never says "NFC" for a code point NFC would change,
 * and says "maybe" for every character that can be the second of a
 * canonical composition. Exhaustive over all code points. */
static void nfc_quick_check_is_sound(void)
{
  size_t yes = 0;
  for (uint32_t cp = 0x80; cp < 0x110000; cp++) {
    if (cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    char s[5];
    s[put_utf8(s, cp)] = '\0';
    if (ts_normalize_is_nfc(s, strlen(s))) {
      yes++;
      utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)s);
      if (strcmp((const char *)nfc, s)) {
        printf("# U+%04X: quick check says NFC, it is not\n", cp);
        ts_test_fail(__FILE__, __LINE__, "see above");
        free(nfc);
        return;
      }
      free(nfc);
    }
    utf8proc_int32_t dec[32];
    int bc = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, dec,
                                                 32, UTF8PROC_DECOMPOSE, &bc);
    for (utf8proc_ssize_t j = 1; j < n && j < 32; j++) {
      char t[5];
      t[put_utf8(t, (uint32_t)dec[j])] = '\0';
      if (ts_normalize_is_nfc(t, strlen(t))) {
        printf("# U+%04X (in U+%04X) can compose but is called stable\n",
               (unsigned)dec[j], cp);
        ts_test_fail(__FILE__, __LINE__, "see above");
        return;
      }
    }
  }
  /* Most code points take the quick path. */
  CHECK(yes > 1000000);
}

static void nfc_matches_utf8proc(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  rng_state = 7;
  char in[4096];
  for (int iter = 0; iter < 50000; iter++) {
    random_valid(in, 60);
    const char *mine = ts_normalize_nfc(&a, in);
    utf8proc_uint8_t *ref = utf8proc_NFC((const utf8proc_uint8_t *)in);
    REQUIRE(mine && ref);
    bool same = !strcmp(mine, (const char *)ref);
    if (!same) {
      printf("# input:");
      for (const char *p = in; *p; p++)
        printf(" %02x", (unsigned char)*p);
      printf("\n");
    }
    free(ref);
    if (!CHECK(same))
      return;
    /* When the quick check says NFC, the input itself comes back. */
    if (ts_normalize_is_nfc(in, strlen(in)))
      CHECK(mine == in);
  }
  ts_arena_cleanup(&a);
}


/* ---- a slow, obviously-correct reference cleaner ---------------------- */

/* One code point or -1 (and the maximal ill-formed subpart's length),
 * straight from Unicode's table 3-7. */
static int32_t ref_decode(const unsigned char *s, size_t n, size_t *len)
{
  static const struct {
    unsigned char lo, hi, need, lo2, hi2;
  } rows[] = {
    {0xC2, 0xDF, 1, 0x80, 0xBF}, {0xE0, 0xE0, 2, 0xA0, 0xBF},
    {0xE1, 0xEC, 2, 0x80, 0xBF}, {0xED, 0xED, 2, 0x80, 0x9F},
    {0xEE, 0xEF, 2, 0x80, 0xBF}, {0xF0, 0xF0, 3, 0x90, 0xBF},
    {0xF1, 0xF3, 3, 0x80, 0xBF}, {0xF4, 0xF4, 3, 0x80, 0x8F},
  };
  if (s[0] < 0x80) {
    *len = 1;
    return s[0];
  }
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    if (s[0] < rows[r].lo || s[0] > rows[r].hi)
      continue;
    int32_t cp = s[0] & (rows[r].need == 1 ? 0x1F : rows[r].need == 2 ? 0x0F
                                                                       : 0x07);
    for (size_t i = 1; i <= rows[r].need; i++) {
      unsigned lo = i == 1 ? rows[r].lo2 : 0x80, hi = i == 1 ? rows[r].hi2
                                                              : 0xBF;
      if (i >= n || s[i] < lo || s[i] > hi) {
        *len = i;
        return -1;
      }
      cp = cp << 6 | (s[i] & 0x3F);
    }
    *len = rows[r].need + 1;
    return cp;
  }
  *len = 1;
  return -1;
}

/* The rules of DESIGN.md / normalize.h, one code point at a time. */
static char *ref_clean(const char *in, bool block, uint32_t cap)
{
  size_t n = strlen(in), o = 0;
  char *out = malloc(3 * n + 8);
  bool started = false, space = false;
  int nl = 0;
  for (size_t i = 0; i < n;) {
    size_t len;
    int32_t cp = ref_decode((const unsigned char *)in + i, n - i, &len);
    i += len;
    if (cp < 0)
      cp = 0xFFFD;
    bool drop = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r' &&
                 cp != '\v' && cp != '\f') ||
                (cp >= 0x7F && cp < 0xA0 && cp != 0x85) || cp == 0x200B ||
                cp == 0x2060 || cp == 0xFEFF || cp == 0x200E ||
                cp == 0x200F || cp == 0x061C ||
                (cp >= 0x202A && cp <= 0x202E) ||
                (cp >= 0x2066 && cp <= 0x206F) ||
                (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
    bool ws = cp == ' ' || cp == '\t' || cp == 0xA0 || cp == 0x1680 ||
              (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
              cp == 0x205F || cp == 0x3000;
    int breaks = cp == 0x2029 ? 2
                 : (cp == '\n' || cp == '\v' || cp == '\f' || cp == 0x85 ||
                    cp == 0x2028 || (cp == '\r' && !(i < n && in[i] == '\n')))
                   ? 1
                   : 0;
    if (drop || (cp == '\r' && i < n && in[i] == '\n'))
      continue;
    if (breaks && !block)
      ws = true;
    if (ws) {
      space = started;
      continue;
    }
    if (breaks) {
      if (started) {
        nl = nl + breaks > 2 ? 2 : nl + breaks;
        space = false;
      }
      continue;
    }
    if (started && nl)
      for (int k = 0; k < nl; k++)
        out[o++] = '\n';
    else if (started && space)
      out[o++] = ' ';
    nl = 0;
    space = false;
    started = true;
    o += put_utf8(out + o, (uint32_t)cp);
  }
  out[o] = '\0';
  char *nfc = (char *)utf8proc_NFC((const utf8proc_uint8_t *)out);
  free(out);
  size_t cut;
  size_t count = ref_graphemes(nfc, strlen(nfc), cap, &cut);
  if (cap && count > cap) {
    while (cut && (nfc[cut - 1] == ' ' || nfc[cut - 1] == '\n'))
      cut--;
    char *capped = malloc(cut + 4);
    memcpy(capped, nfc, cut);
    memcpy(capped + cut, u8"\u2026", 4);
    free(nfc);
    return capped;
  }
  return nfc;
}

/* Text that exercises the fast paths: ASCII words, single and double
 * spaces, LF, CR LF, blank lines, tabs, CJK and kana runs, Latin-1,
 * Hangul, and now and then something harder. */
static size_t random_text(char *out, size_t maxparts)
{
  static const char *const parts[] = {
    "word", "Another", "x", "12345678", "punctuation!?", "a.b,c;d", " ",
    " ", " ", "  ", "\n", "\r\n", "\n\n\n", "\t", " \n ",
    "\xE6\x97\xA5\xE6\x9C\xAC", "\xE3\x81\x8B\xE3\x82\x99", "\xE3\x83\xBC",
    "\xEF\xBC\x95",
    "\xE3\x80\x81", "caf\xC3\xA9", "\xC3\x9F", "\xED\x95\x9C", "\xE1\x84\x92",
    "\xE1\x85\xA1", "\xE2\x80\x8B", "\xC2\xA0", "\xF0\x9F\x91\x8D",
    "\xF0\x9F\x8F\xBD", "\xE2\x80\x8D", "\xC0", "\xE3\x81", "\x01", "\r",
    "longer-token-with-dashes", "(parenthesised)", "\xEF\xBC\x88\xEF\xBC\x89",
  };
  size_t n = rnd() % maxparts, o = 0;
  for (size_t i = 0; i < n; i++) {
    const char *p = parts[rnd() % (sizeof parts / sizeof parts[0])];
    memcpy(out + o, p, strlen(p));
    o += strlen(p);
  }
  out[o] = '\0';
  return o;
}

static void fast_paths_match_the_reference(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  rng_state = 2024;
  char in[8192];
  for (int iter = 0; iter < 30000; iter++) {
    if (iter % 3 == 2)
      random_dirty(in, 300);
    else
      random_text(in, iter % 10 == 0 ? 700 : 120);
    bool block = iter % 2;
    uint32_t cap = iter % 4 == 0 ? 0 : (uint32_t)(rnd() % 500) + 1;
    const char *mine = ts_normalize_text(&a, in,
                                         block ? TS_TEXT_BLOCK : TS_TEXT_LINE,
                                         cap, NULL);
    char *ref = ref_clean(in, block, cap);
    REQUIRE(mine && ref);
    if (strcmp(mine, ref)) {
      printf("# iteration %d, %s mode, cap %u, input:", iter,
             block ? "block" : "line", cap);
      for (const char *p = in; *p; p++)
        printf(" %02x", (unsigned char)*p);
      printf("\n");
      CHECK_STR(mine, ref);
      free(ref);
      return;
    }
    free(ref);
  }
  ts_arena_cleanup(&a);
}

/* Long runs of what the fast paths copy 16 bytes at a time (printable
 * ASCII, CJK), broken now and then by a separator or something harder,
 * so that every kind of break falls on every position of a window and
 * next to the caps: the same text as the reference, through both entry
 * points. */
static size_t random_runs(char *out, size_t max)
{
  static const char *const breaks[] = {
    " ", " ", " ", "\n", "\n", "\n\n", "\n\n\n", "  ", " \n", "\n ",
    "\r\n", "\r\n\r\n", "\t", "\x7F", "\x01", "\r", "\xC3\xA9",
    "\xE3\x80\x80", "\xE3\x82\x99", "\xE2\x80\x8B", "\xF0\x9F\x91\x8D",
    "\xC0", "\xE3\x81", "\xE6\x97\xA5", "\xEF\xBC\x95", "\xED\x95\x9C",
    "\xE3\x80\x81", "\xE3\x83\xBC", "\xE3\x83\xBD", "\xEF\xBD\x9F",
    ".\n\xE3\x81\x8B", "\xE3\x81\x8B.\n", "\xE3\x81\x8B \xE3\x81\x8B",
    "\xE2\x80\x93", "\xE2\x80\x99", "\xE2\x80\xA6", "\xE2\x80\xA8",
    "\xE2\x80\x8F", "\xE2\x80\xAF", "\xE2\x81\x89",
  };
  size_t n = rnd() % max, o = 0;
  int kanji = rnd() % 3 == 0;
  while (o < n) {
    size_t run = rnd() % 40;
    for (size_t i = 0; i < run && o < n; i++) {
      if (kanji && rnd() % 2) {
        o += put_utf8(out + o, 0x4E00 + (uint32_t)(rnd() % 0x5000));
      } else {
        out[o++] = (char)(0x21 + rnd() % 0x5E);
      }
    }
    const char *b = breaks[rnd() % (sizeof breaks / sizeof breaks[0])];
    memcpy(out + o, b, strlen(b));
    o += strlen(b);
  }
  out[o] = '\0';
  return o;
}

static void long_runs_match_the_reference(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  rng_state = 16;
  static char in[4096];
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = random_runs(in, iter % 8 == 0 ? 3000 : 200);
    bool block = iter % 2;
    enum ts_text_mode mode = block ? TS_TEXT_BLOCK : TS_TEXT_LINE;
    uint32_t cap = iter % 3 == 0 ? 0 : (uint32_t)(rnd() % 450) + 1;
    const char *mine = ts_normalize_text(&a, in, mode, cap, NULL);
    const char *mine_n = ts_normalize_textn(&a, in, n, mode, cap, NULL);
    char *ref = ref_clean(in, block, cap);
    REQUIRE(mine && mine_n && ref);
    if (strcmp(mine, ref) || strcmp(mine_n, ref)) {
      printf("# iteration %d, %s mode, cap %u, input:", iter,
             block ? "block" : "line", cap);
      for (const char *p = in; *p; p++)
        printf(" %02x", (unsigned char)*p);
      printf("\n");
      CHECK_STR(mine, ref);
      CHECK_STR(mine_n, ref);
      free(ref);
      return;
    }
    free(ref);
    if (iter % 1000 == 999) {
      ts_arena_cleanup(&a);
      ts_arena_init(&a, 0);
    }
  }
  ts_arena_cleanup(&a);
}

/* Every code point up to U+FFFF between plain neighbours (ASCII, kana,
 * a CJK ideograph), in both modes, against the reference: this is where
 * the fast paths decide by byte patterns what is plain. */
static void every_bmp_character_matches_the_reference(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  static const char *const around[][2] = {
    {"a", "b"}, {"\xE6\x97\xA5", "\xE6\x9C\xAC"}, {"\xE3\x81\x8B", " x"},
    {"x ", "\n\xE3\x82\xAB"},
  };
  char in[32];
  for (uint32_t cp = 0x80; cp < 0x10000; cp++) {
    if (cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    for (size_t k = 0; k < sizeof around / sizeof around[0]; k++) {
      size_t o = strlen(around[k][0]);
      memcpy(in, around[k][0], o);
      o += put_utf8(in + o, cp);
      memcpy(in + o, around[k][1], strlen(around[k][1]) + 1);
      bool block = (cp + k) % 2;
      const char *mine = ts_normalize_text(
        &a, in, block ? TS_TEXT_BLOCK : TS_TEXT_LINE, 0, NULL);
      char *ref = ref_clean(in, block, 0);
      bool same = mine && !strcmp(mine, ref);
      if (!same) {
        printf("# U+%04X around %zu\n", cp, k);
        CHECK_STR(mine, ref);
      }
      free(ref);
      if (!same)
        return;
    }
    if (cp % 4096 == 0) {
      ts_arena_cleanup(&a);
      ts_arena_init(&a, 0);
    }
  }
  ts_arena_cleanup(&a);
}

/* Every canonical composition whose second character has combining
 * class 0 (Indic vowel signs, Hangul jamo, ...): the cleaner decides
 * that such a character stays as it is by looking only at the character
 * before it, so each pair, written decomposed, must compose exactly as
 * the reference (utf8proc_NFC of the whole text) does; and the same
 * second character after something else must stay. */
static void class_zero_compositions_match_the_reference(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  size_t pairs = 0;
  for (uint32_t cp = 0x80; cp < 0x110000; cp++) {
    if (cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    utf8proc_int32_t dec[8];
    int bc = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(
      (utf8proc_int32_t)cp, dec, 8, UTF8PROC_DECOMPOSE, &bc);
    if (n < 2 || n > 8 ||
        utf8proc_get_property(dec[n - 1])->combining_class != 0)
      continue;
    pairs++;
    char in[64];
    for (int variant = 0; variant < 3; variant++) {
      size_t o = 0;
      in[o++] = 'x';
      if (variant == 2) {
        o += put_utf8(in + o, 'a'); /* the second alone after 'a' */
      } else {
        for (utf8proc_ssize_t k = 0; k + 1 < n; k++)
          o += put_utf8(in + o, (uint32_t)dec[k]);
      }
      o += put_utf8(in + o, (uint32_t)dec[n - 1]);
      if (variant == 1)
        o += put_utf8(in + o, 0xFE0F);
      in[o++] = 'y';
      in[o] = '\0';
      bool block = (cp + (uint32_t)variant) % 2;
      const char *mine = ts_normalize_text(
        &a, in, block ? TS_TEXT_BLOCK : TS_TEXT_LINE, 0, NULL);
      char *ref = ref_clean(in, block, 0);
      bool same = mine && !strcmp(mine, ref);
      if (!same) {
        printf("# U+%04X variant %d\n", cp, variant);
        CHECK_STR(mine, ref);
      }
      free(ref);
      if (!same)
        return;
    }
    if (pairs % 2048 == 0) {
      ts_arena_cleanup(&a);
      ts_arena_init(&a, 0);
    }
  }
  /* Hangul syllables alone are more than 11,000 of them. */
  CHECK(pairs > 11000);
  ts_arena_cleanup(&a);
}

/* Long text is read in chunks; a chunk boundary must never change the
 * result (regression: a 4-byte emoji followed by a stray continuation
 * byte was split across two chunks). The single-pass ts_normalize_textn
 * is the reference. */
static void chunk_boundaries_change_nothing(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  static const char *const tails[] = {
    "\xF0\x9F\x91\x8D\x80" "b", "\xF0\x9F\x91\x8D" "b", "\xE6\x97\xA5\x80\x80",
    "\xE3\x81\x8B\xE3\x82\x99", "\r\n\r\nx", "\xE3\x81x", "\xC3\xA9\xCC\x81",
    "\xED\xA0\x80", "\x80\x80\x80\x80\x80",
  };
  char buf[2048];
  for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++)
    for (size_t lead = 495; lead < 520; lead++)
      for (int mode = 0; mode < 2; mode++) {
        memset(buf, 'a', lead);
        size_t n = lead;
        for (int rep = 0; rep < 3; rep++) {
          memcpy(buf + n, tails[t], strlen(tails[t]));
          n += strlen(tails[t]);
        }
        memset(buf + n, 'z', 600);
        n += 600;
        buf[n] = '\0';
        enum ts_text_mode m = mode ? TS_TEXT_BLOCK : TS_TEXT_LINE;
        const char *chunked = ts_normalize_text(&a, buf, m, 0, NULL);
        const char *whole = ts_normalize_textn(&a, buf, n, m, 0, NULL);
        if (!chunked || !whole || strcmp(chunked, whole)) {
          printf("# tail %zu at %zu\n", t, lead);
          CHECK_STR(chunked, whole);
          return;
        }
      }
  ts_arena_cleanup(&a);
}

static void url_fast_path_matches_the_full_path(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  rng_state = 5;
  static const char *const pieces[] = {
    "https://", "http://", "HTTPS://", "www.", "example.com", "EXAMPLE.com",
    "-x.com", ".com", ":8080", ":443", "/", "/a", "/.hidden", "/..", "/./b",
    "/%7e", "/%zz", "?", "&", "=", "q=1", "utm_source=x", "ref=hn", "v=abc",
    "#frag", "~", "'", "\"", "\xC3\xA9", "news.google.com", "/rss/articles/x",
    "..", "a-b_c", "[", "]", "@",
  };
  char url[512], slow[520];
  for (int iter = 0; iter < 100000; iter++) {
    size_t o = 0;
    size_t parts = 1 + rnd() % 8;
    for (size_t i = 0; i < parts; i++) {
      const char *p = i == 0 ? pieces[rnd() % 3] : pieces[rnd() % 36];
      memcpy(url + o, p, strlen(p));
      o += strlen(p);
    }
    url[o] = '\0';
    /* A trailing space is trimmed by the full path but stops the fast
     * one: the two must agree. */
    snprintf(slow, sizeof slow, "%s ", url);
    const char *fast = ts_normalize_url(&a, url);
    const char *full = ts_normalize_url(&a, slow);
    if ((fast == NULL) != (full == NULL) || (fast && strcmp(fast, full))) {
      printf("# url: %s\n", url);
      CHECK_STR(fast, full);
      return;
    }
    const char *kfast, *kfull;
    REQUIRE(ts_normalize_url_key(&a, url, &kfast) == TS_OK);
    REQUIRE(ts_normalize_url_key(&a, slow, &kfull) == TS_OK);
    if ((kfast == NULL) != (kfull == NULL) ||
        (kfast && strcmp(kfast, kfull))) {
      printf("# url key: %s\n", url);
      CHECK_STR(kfast, kfull);
      return;
    }
  }
  ts_arena_cleanup(&a);
}

/* The same for URLs long enough to take several 16-byte windows, with
 * every kind of byte the scans stop at falling on every position of a
 * window: in the host, the path and the query. */
static void long_urls_match_the_full_path(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  rng_state = 6;
  /* Mostly pieces of URLs the quick path takes, now and then one it
   * must stop at. */
  static const char *const pieces[] = {
    "www.", "sub.domain.example.org", "x", "-", ".", "_", "/", "/", "/",
    "/segment-of-some-length", "/a.b", "/x/", "?", "?", "&", "&", "=",
    "=", "q=1", "utm_medium=y", "fbclid=z", "ref=hn", "gclid=abc", "_ga=1",
    "v=abcdefghijk", "!$'()*+,;",
    ":@", "[]", "~", "0123456789", "abcdefghijklmnopqrstuvwxyz",
  };
  static const char *const stops[] = {
    "..", "Upper", "/.", "/..", "/./", "%2e", "%7E", "%", "#", "#f", "^",
    "{", "|", "}", "`", "\\", "\"", "<", ">", " ", "\x7F", "\xC3\xA9",
  };
  char url[2048], slow[2056];
  for (int iter = 0; iter < 100000; iter++) {
    size_t o = 0;
    memcpy(url, iter % 2 ? "https://" : "http://", iter % 2 ? 8 : 7);
    o = iter % 2 ? 8 : 7;
    size_t parts = rnd() % 40;
    for (size_t i = 0; i < parts; i++) {
      const char *p =
        rnd() % 16 ? pieces[rnd() % (sizeof pieces / sizeof pieces[0])]
                   : stops[rnd() % (sizeof stops / sizeof stops[0])];
      memcpy(url + o, p, strlen(p));
      o += strlen(p);
    }
    url[o] = '\0';
    snprintf(slow, sizeof slow, "%s ", url);
    const char *fast = ts_normalize_url(&a, url);
    const char *full = ts_normalize_url(&a, slow);
    const char *kfast, *kfull;
    REQUIRE(ts_normalize_url_key_ref(&a, url, &kfast) == TS_OK);
    REQUIRE(ts_normalize_url_key(&a, slow, &kfull) == TS_OK);
    if ((fast == NULL) != (full == NULL) || (fast && strcmp(fast, full)) ||
        (kfast == NULL) != (kfull == NULL) ||
        (kfast && strcmp(kfast, kfull))) {
      printf("# url: %s\n", url);
      CHECK_STR(fast, full);
      CHECK_STR(kfast, kfull);
      return;
    }
    if (iter % 5000 == 4999) {
      ts_arena_cleanup(&a);
      ts_arena_init(&a, 0);
    }
  }
  ts_arena_cleanup(&a);
}

/* ts_floor (the program's floor, without libm) against libm's. */
static void floor_matches_libm(void)
{
  static const double edges[] = {
      0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 0.999999999999,
      -0.999999999999, 4503599627370495.5, -4503599627370495.5,
      4503599627370496.0, -4503599627370496.0, 9007199254740993.0,
      9.3e18, -9.3e18, 1e300, -1e300, 5e-324, -5e-324};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
    double want = floor(edges[i]), got = ts_floor(edges[i]);
    if (!CHECK(got == want && signbit(got) == signbit(want)))
      printf("# floor(%.17g): %.17g, libm %.17g\n", edges[i], got, want);
  }
  CHECK(isnan(ts_floor(NAN)));
  CHECK(ts_floor(INFINITY) == INFINITY && ts_floor(-INFINITY) == -INFINITY);
  /* Random doubles of every size and sign. */
  unsigned long long x = 0x9e3779b97f4a7c15ull;
  int bad = 0;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    double v;
    memcpy(&v, &x, sizeof v);
    if (isnan(v))
      continue;
    double want = floor(v), got = ts_floor(v);
    bad += got != want || signbit(got) != signbit(want);
    /* And values around the integers, where floor decides. */
    double near = (double)(long long)(x % 2000001) / 1000.0 - 1000.0;
    bad += ts_floor(near) != floor(near);
  }
  CHECK_INT(bad, 0);
}

static void source_suffix_is_stripped(void)
{
  const char *t = "Fed holds rates steady - Reuters";
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), "Reuters"), 22);
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), "reuters "), 22);
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), "BBC News"), strlen(t));
  t = "Markets rally | CNBC";
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), "CNBC"), 13);
  t = u8"A story \u2014 The Verge";
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), "The Verge"), 7);
  t = " - Reuters"; /* nothing would be left */
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), "Reuters"), strlen(t));
  t = "Spider-Man"; /* no spaces around the dash */
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), "Man"), strlen(t));
  t = "Fed holds rates steady - Reuters";
  CHECK_INT(ts_normalize_strip_source(t, strlen(t), NULL), strlen(t));
}

/* ---- HTML ----------------------------------------------------------- */

/* Text between markup is copied 16 bytes at a time; breaking it into
 * short pieces with empty comments ("<!---->", dropped) must change
 * nothing: random HTML with long text runs (line breaks, tabs, accents,
 * inside and outside <pre>), tags, entities and stray '&' and '<'. */
static void html_text_runs_match_short_pieces(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  rng_state = 77;
  static const char *const text[] = {
    "word ", "longer words and more words ", "\n", "\r\n", "\t", "\f",
    "caf\xC3\xA9 ", "\xE6\x97\xA5\xE6\x9C\xAC", "a < b ", "x & y ", "  ",
    "0123456789abcdef", "\xF0\x9F\x91\x8D",
  };
  static const char *const markup[] = {
    "<p>", "</p>", "<br>", "<pre>", "</pre>", "<b>", "</b>",
    "<a href=\"https://x.example/?a=1&b=2\">", "</a>", "<script>x</script>",
    "&amp;", "&#x27;", "&nbsp;", "&bogus;", "&#128;", "<!-- c -->", "<li>",
  };
  static char html[8192], broken[16384];
  for (int iter = 0; iter < 20000; iter++) {
    size_t o = 0, b = 0, parts = rnd() % 60;
    for (size_t k = 0; k < parts; k++) {
      bool is_text = rnd() % 3 != 0;
      const char *p =
        is_text ? text[rnd() % (sizeof text / sizeof text[0])]
                : markup[rnd() % (sizeof markup / sizeof markup[0])];
      size_t len = strlen(p);
      memcpy(html + o, p, len);
      o += len;
      for (size_t c = 0; c < len; c++) {
        broken[b++] = p[c];
        if (is_text && rnd() % 4 == 0) {
          memcpy(broken + b, "<!---->", 7);
          b += 7;
        }
      }
    }
    html[o] = '\0';
    broken[b] = '\0';
    uint32_t r1 = 0, r2 = 0;
    const char *x = ts_normalize_html(&a, html, 0, &r1);
    const char *y = ts_normalize_html(&a, broken, 0, &r2);
    if (!x || !y || strcmp(x, y) || r1 != r2) {
      printf("# html: %s\n", html);
      CHECK_STR(x, y);
      CHECK_INT(r1, r2);
      return;
    }
    if (iter % 2000 == 1999) {
      ts_arena_cleanup(&a);
      ts_arena_init(&a, 0);
    }
  }
  ts_arena_cleanup(&a);
}

static void html_becomes_plain_text(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  uint32_t rep = 0;
  /* A Hacker News comment-style text. */
  CHECK_STR(ts_normalize_html(&a,
                              "I&#x27;ve built this.<p>See <a href=\"https:"
                              "&#x2F;&#x2F;example.com&#x2F;x\" rel=\"nofollow"
                              "\">https:&#x2F;&#x2F;example.com&#x2F;x</a>"
                              "<p>Thoughts?",
                              0, &rep),
            "I've built this.\n\nSee https://example.com/x\n\nThoughts?");
  /* A Guardian trailText. */
  CHECK_STR(ts_normalize_html(&a,
                              "<strong>Live:</strong> Minister&rsquo;s "
                              "&lsquo;plan&rsquo; &ndash; what we know "
                              "&hellip; &amp; more&nbsp;news",
                              0, &rep),
            u8"Live: Minister\u2019s \u2018plan\u2019 \u2013 what we know "
            u8"\u2026 & more news");
  /* Scripts and styles go with their contents; escaped markup stays
   * text. */
  CHECK_STR(ts_normalize_html(&a,
                              "a<script type=\"x\">alert('<p>')</SCRIPT >b"
                              "<style>p{x:y}</style>c&lt;script&gt;d",
                              0, &rep),
            "abc<script>d");
  CHECK_STR(ts_normalize_html(&a, "x<script>never closed", 0, &rep), "x");
  CHECK_STR(ts_normalize_html(&a, "a<!-- <p>hidden</p> -->b<!DOCTYPE html>c",
                              0, &rep),
            "abc");
  CHECK_STR(ts_normalize_html(&a, "1 < 2 and 3 > 2, <b>bold</b>", 0, &rep),
            "1 < 2 and 3 > 2, bold");
  CHECK_STR(ts_normalize_html(&a, "<a title=\"x > y\">link</a>", 0, &rep),
            "link");
  CHECK_STR(ts_normalize_html(&a, "line<br>break<br/>again<li>item", 0,
                              &rep),
            "line\nbreak\nagain\nitem");
  CHECK_STR(ts_normalize_html(&a, "<pre><code>a\n  b\n</code></pre>after\n"
                                  "joined",
                              0, &rep),
            "a\nb\n\nafter joined");
  CHECK_STR(ts_normalize_html(&a, "&#39;&#x27;&#x2F;&#150;&#128;&#8203;x", 0,
                              &rep),
            u8"''/\u2013\u20ACx");
  rep = 0;
  CHECK_STR(ts_normalize_html(&a, "&#0;&#xD800;&#x110000;&#99999999999;", 0,
                              &rep),
            u8"\uFFFD\uFFFD\uFFFD\uFFFD");
  CHECK_INT(rep, 4);
  CHECK_STR(ts_normalize_html(&a, "&unknown; &amp &; &#; &#x;", 0, &rep),
            "&unknown; &amp &; &#; &#x;");
  CHECK_STR(ts_normalize_html(&a, "<unterminated", 0, &rep), "");
  CHECK_STR(ts_normalize_html(&a, "<p></p><p>", 0, &rep), "");
  ts_arena_cleanup(&a);
}

/* ---- body repair ---------------------------------------------------- */

static enum ts_result repair(struct ts_buf *b, const char *body, size_t len,
                             size_t *count)
{
  ts_buf_reset(b);
  ts_buf_append(b, body, len);
  return ts_normalize_repair_json(b, count);
}

static void json_bodies_are_repaired(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  size_t count;
  json_error_t jerr;

  const char *bad = "{\"title\":\"caf\xE9 \xC0\xAF ok\",\"n\":1}";
  CHECK(json_loads(bad, 0, &jerr) == NULL); /* what jansson does */
  CHECK_INT(repair(&b, bad, strlen(bad), &count), TS_OK);
  CHECK_INT(count, 3);
  json_t *j = json_loadb(b.data, b.len, 0, &jerr);
  REQUIRE(j != NULL);
  CHECK_STR(json_string_value(json_object_get(j, "title")),
            u8"caf\uFFFD \uFFFD\uFFFD ok");
  json_decref(j);

  const char *sur = "[\"a\\ud800b\", \"\\udc00\", \"\\ud83d\\ude00\", "
                    "\"\\u0000\", \"\\\\ud800\", \"\\ud800\\u0041\"]";
  CHECK(json_loads(sur, 0, &jerr) == NULL);
  CHECK_INT(repair(&b, sur, strlen(sur), &count), TS_OK);
  CHECK_INT(count, 4);
  j = json_loadb(b.data, b.len, 0, &jerr);
  REQUIRE(j != NULL);
  CHECK_STR(json_string_value(json_array_get(j, 0)), u8"a\uFFFDb");
  CHECK_STR(json_string_value(json_array_get(j, 1)), u8"\uFFFD");
  CHECK_STR(json_string_value(json_array_get(j, 2)), u8"\U0001F600");
  CHECK_STR(json_string_value(json_array_get(j, 3)), u8"\uFFFD");
  CHECK_STR(json_string_value(json_array_get(j, 4)), "\\ud800");
  CHECK_STR(json_string_value(json_array_get(j, 5)), u8"\uFFFDA");
  json_decref(j);

  /* Raw controls inside strings; pretty-printing outside them stays. */
  const char ctl[] = "{\n\t\"a\": \"x\ty\nz\x01\",\r\n \"b\": \"\x00\"\n}";
  CHECK_INT(repair(&b, ctl, sizeof ctl - 1, &count), TS_OK);
  CHECK_INT(count, 4);
  j = json_loadb(b.data, b.len, 0, &jerr);
  REQUIRE(j != NULL);
  CHECK_STR(json_string_value(json_object_get(j, "a")), "x\ty\nz");
  CHECK_STR(json_string_value(json_object_get(j, "b")), "");
  json_decref(j);

  /* Regression (fuzzer): a backslash before a raw control character
   * went on to escape the closing quote once the control was removed;
   * repairing twice must find nothing the second time. */
  const char esc[] = "{\"a\":\"\\\0\0\", \"b\": \"x\ty\"}";
  CHECK_INT(repair(&b, esc, sizeof esc - 1, &count), TS_OK);
  CHECK_INT(count, 4);
  size_t again;
  CHECK_INT(ts_normalize_repair_json(&b, &again), TS_OK);
  CHECK_INT(again, 0);
  j = json_loadb(b.data, b.len, 0, &jerr);
  REQUIRE(j != NULL);
  CHECK_STR(json_string_value(json_object_get(j, "a")), "");
  CHECK_STR(json_string_value(json_object_get(j, "b")), "x\ty");
  json_decref(j);

  /* Invalid escapes lose their backslash inside strings, and whatever
   * the repair does, a second repair finds nothing (fuzzer findings:
   * "\u" + NUL + "d800" became a lone surrogate on the second pass). */
  static const struct {
    const char *in;
    size_t len;
    const char *value;
  } escapes[] = {
    {"[\"\\u\0d800\"]", 11, "ud800"},
    {"[\"a\\qb\"]", 8, "aqb"},
    {"[\"\\u12\"]", 8, "u12"},
    {"[\"\\\xC3\xA9\"]", 7, u8"\u00E9"},
    {"[\"\\\xFF\"]", 6, u8"\uFFFD"},
  };
  for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
    CHECK_INT(repair(&b, escapes[i].in, escapes[i].len, &count), TS_OK);
    CHECK_INT(ts_normalize_repair_json(&b, &again), TS_OK);
    CHECK_INT(again, 0);
    j = json_loadb(b.data, b.len, 0, &jerr);
    if (!CHECK(j != NULL))
      printf("# %zu: %s\n", i, jerr.text);
    else
      CHECK_STR(json_string_value(json_array_get(j, 0)), escapes[i].value);
    json_decref(j);
  }

  /* A clean body is left alone. */
  const char *ok = u8"{\"t\":\"\u65E5\u672C \\\" \\u003c\",\"x\":[1,2]}";
  CHECK_INT(repair(&b, ok, strlen(ok), &count), TS_OK);
  CHECK_INT(count, 0);
  CHECK_STR(b.data, ok);

  /* The cap holds: growth past max fails and leaves a valid buffer. */
  struct ts_buf small;
  ts_buf_init(&small, 8);
  CHECK_INT(ts_buf_append(&small, "\"\xFF\xFF\xFF\"", 5), TS_OK);
  CHECK_INT(ts_normalize_repair_json(&small, &count), TS_ERR_LIMIT);
  CHECK_INT(small.len, 5);
  ts_buf_cleanup(&small);

  /* A multi-megabyte body with a few bad bytes far apart. */
  ts_buf_reset(&b);
  ts_buf_append_str(&b, "[");
  for (int i = 0; i < 40000; i++)
    ts_buf_printf(&b, "%s{\"id\":%d,\"title\":\"Item %d %s\"}", i ? "," : "",
                  i, i, i % 10000 == 0 ? "\xE9\xE9" : u8"\u00E9t\u00E9");
  ts_buf_append_str(&b, "]");
  CHECK_INT(ts_normalize_repair_json(&b, &count), TS_OK);
  CHECK_INT(count, 8);
  j = json_loadb(b.data, b.len, 0, &jerr);
  CHECK(j != NULL);
  CHECK_INT(json_array_size(j), 40000);
  json_decref(j);
  ts_buf_cleanup(&b);
}

/* ---- URLs ----------------------------------------------------------- */

static void urls_are_canonical(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  static const char *const cases[][2] = {
    {"HTTPS://Example.COM:443/a/./b/../c?utm_source=x&id=3&fbclid=y#frag",
     "https://example.com/a/c?id=3"},
    {"http://Example.com:80", "http://example.com/"},
    {"http://example.com:8080/x", "http://example.com:8080/x"},
    {"https://example.com:/x", "https://example.com/x"},
    {"https://example.com:0443/x", "https://example.com/x"},
    {"https://example.com/?", "https://example.com/"},
    {"https://example.com/a?&&b=1&&", "https://example.com/a?b=1"},
    {"https://example.com/a?utm_medium=social&utm_campaign=x",
     "https://example.com/a"},
    {"https://example.com/a?z=1&gclid=2&a=3&UTM_Source=4&mc_cid=5&mc_eid=6",
     "https://example.com/a?z=1&a=3"},
    {"https://example.com/?ref=hackernews&x=1&ref_src=twsrc", 
     "https://example.com/?x=1"},
    {"https://www.theguardian.com/a?at_medium=x&at_campaign=y&CMP=share",
     "https://www.theguardian.com/a?CMP=share"},
    {"https://x.com/p?igshid=1&cmpid=2&ocid=3&_ga=4&yclid=5&msclkid=6"
     "&dclid=7&s_cid=8&keep=9",
     "https://x.com/p?keep=9"},
    {"https://example.com/a/", "https://example.com/a/"},
    {"https://example.com/a%2fb%7e%zz%", "https://example.com/a%2Fb%7E%25zz%25"},
    {u8"https://example.com/\u65E5\u672C?q=\u00E9",
     "https://example.com/%E6%97%A5%E6%9C%AC?q=%C3%A9"},
    {"https://example.com/a\"b<c>{d}", "https://example.com/a%22b%3Cc%3E%7Bd%7D"},
    {"  https://example.com/x \n", "https://example.com/x"},
    {"https://example.com/../../a/./b/..", "https://example.com/a/"},
    {"https://example.com/a/%2e%2E/b", "https://example.com/b"},
    {u8"https://\u4F8B\u3048.JP/x", u8"https://\u4F8B\u3048.jp/x"},
    {"http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/"},
    {"https://example.com#only-fragment", "https://example.com/"},
    {"https://sub.example.com./x", "https://sub.example.com./x"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *r = ts_normalize_url(&a, cases[i][0]);
    if (!r)
      printf("# rejected: %s\n", cases[i][0]);
    CHECK_STR(r, cases[i][1]);
  }
  const char *canonical = "https://www.youtube.com/watch?v=dQw4w9WgXcQ";
  CHECK(ts_normalize_url(&a, canonical) == canonical);
  ts_arena_cleanup(&a);
}

static void bad_urls_are_rejected(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  static const char *const bad[] = {
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox", "file:///etc/passwd",
    "ftp://example.com/", "//example.com/x", "/relative/path", "example.com",
    "", "http://", "https://", "http:///x", "http://:80/", "https:example.com",
    "http:/example.com", "https://user:pass@example.com/",
    "https://trusted.example@evil.example/", "https://exa mple.com/",
    "https://example.com/a b", "https://example.com/\x01x", "https://ex\x7F.com",
    "https://example.com\\@evil.com/", "https://example.com:0/",
    "https://example.com:65536/", "https://example.com:80a/",
    "https://exa%6Dple.com/", "https://.example.com/", "https://a..b/",
    "https://ex!ample.com/", "http://[::1/", "https://\xC0\xAF.com/",
    "http://[zz::1]/",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *r = ts_normalize_url(&a, bad[i]);
    if (r)
      printf("# accepted: \"%s\" -> \"%s\"\n", bad[i], r);
    CHECK(r == NULL);
  }
  char *longurl = malloc(TS_NORMALIZE_URL_MAX + 64);
  REQUIRE(longurl != NULL);
  memcpy(longurl, "https://example.com/", 20);
  memset(longurl + 20, 'a', TS_NORMALIZE_URL_MAX);
  longurl[TS_NORMALIZE_URL_MAX + 20] = '\0';
  CHECK(ts_normalize_url(&a, longurl) == NULL);
  /* Regression (fuzzer): short enough, but its canonical form (every
   * byte percent-encoded) is not; canonical URLs must be accepted again,
   * so it is rejected. */
  memset(longurl + 20, 0xFF, 2000);
  longurl[2020] = '\0';
  CHECK(ts_normalize_url(&a, longurl) == NULL);
  memset(longurl + 20, 0xFF, 1000);
  longurl[1020] = '\0';
  const char *ok = ts_normalize_url(&a, longurl);
  CHECK(ok != NULL && strlen(ok) == 20 + 3000);
  CHECK(ok && ts_normalize_url(&a, ok) == ok);
  free(longurl);
  CHECK(ts_normalize_url(&a, NULL) == NULL);
  ts_arena_cleanup(&a);
}

static const char *url_key(struct ts_arena *a, const char *url)
{
  const char *key;
  if (ts_normalize_url_key(a, url, &key) != TS_OK)
    return "(nomem)";
  return key;
}

static void url_keys_ignore_cosmetic_differences(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  const char *k = url_key(&a, "https://www.example.com/news/story-1/");
  CHECK_STR(k, "example.com/news/story-1");
  CHECK_STR(url_key(&a, "http://EXAMPLE.com/news/story-1?utm_source=x#c"), k);
  CHECK_STR(url_key(&a, "https://example.com./news/%73tory-1"), k);
  CHECK_STR(url_key(&a, "https://example.com/"), "example.com/");
  CHECK_STR(url_key(&a, "https://example.com/a%2Fb?q=%7e%20"),
            "example.com/a%2Fb?q=~%20");
  CHECK_STR(url_key(&a, "https://example.com:8443/x"), "example.com:8443/x");
  CHECK_STR(url_key(&a, "https://www.com/x"), "www.com/x");
  /* Different query, different story. */
  CHECK(strcmp(url_key(&a, "https://example.com/item?id=1"),
               url_key(&a, "https://example.com/item?id=2")) != 0);
  CHECK(url_key(&a, "javascript:alert(1)") == NULL);
  ts_arena_cleanup(&a);
}

/* ts_normalize_url_key_ref: borrowed when the key is the end of a
 * canonical URL, else copied; the same string either way, also for the
 * random URLs of the fast-path test (with and without a trailing space,
 * which takes the full path). */
static void borrowed_url_keys_match_copies(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  /* Borrowed when the key is the end of a canonical URL, else copied. */
  static const char *const urls[] = {
    "https://www.example.com/news/story-1", "http://example.com/a?b=c",
    "https://www.example.com/news/story-1/", "https://example.com./x",
    "https://example.com/a?utm_source=x", "https://example.com/%7e",
    "https://example.com/", "https://www.com/x",
  };
  static const size_t skip[] = {12, 7, 0, 0, 0, 0, 8, 8};
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    const char *key;
    REQUIRE(ts_normalize_url_key_ref(&a, urls[i], &key) == TS_OK);
    CHECK_STR(key, url_key(&a, urls[i]));
    if (skip[i])
      CHECK(key == urls[i] + skip[i]);
    else
      CHECK((uintptr_t)key < (uintptr_t)urls[i] ||
            (uintptr_t)key > (uintptr_t)(urls[i] + strlen(urls[i])));
  }
  rng_state = 5;
  static const char *const pieces[] = {
    "https://", "http://", "HTTPS://", "www.", "example.com", "EXAMPLE.com",
    "-x.com", ".com", ":8080", ":443", "/", "/a", "/.hidden", "/..", "/./b",
    "/%7e", "/%zz", "?", "&", "=", "q=1", "utm_source=x", "ref=hn", "v=abc",
    "#frag", "~", "'", "\"", "\xC3\xA9", "news.google.com", "/rss/articles/x",
    "..", "a-b_c", "[", "]", "@",
  };
  char url[512], slow[520];
  for (int iter = 0; iter < 100000; iter++) {
    size_t o = 0;
    size_t parts = 1 + rnd() % 8;
    for (size_t i = 0; i < parts; i++) {
      const char *p = i == 0 ? pieces[rnd() % 3] : pieces[rnd() % 36];
      memcpy(url + o, p, strlen(p));
      o += strlen(p);
    }
    url[o] = '\0';
    snprintf(slow, sizeof slow, "%s ", url);
    const char *kcopy, *kref, *kref_full;
    REQUIRE(ts_normalize_url_key(&a, url, &kcopy) == TS_OK);
    REQUIRE(ts_normalize_url_key_ref(&a, url, &kref) == TS_OK);
    REQUIRE(ts_normalize_url_key_ref(&a, slow, &kref_full) == TS_OK);
    uintptr_t at = (uintptr_t)kref, from = (uintptr_t)url;
    bool inside = at >= from && at < from + sizeof url;
    if ((kref == NULL) != (kcopy == NULL) || (kref && strcmp(kref, kcopy)) ||
        (kref_full && strcmp(kref_full, kcopy)) ||
        (inside && kref + strlen(kref) != url + strlen(url))) {
      printf("# url key (borrowed): %s\n", url);
      CHECK_STR(kref, kcopy);
      CHECK_STR(kref_full, kcopy);
      return;
    }
    if (iter % 10000 == 9999) {
      ts_arena_cleanup(&a);
      ts_arena_init(&a, 0);
    }
  }
  ts_arena_cleanup(&a);
}

static size_t base64url(const unsigned char *in, size_t n, char *out)
{
  static const char tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n)
      v |= in[i + 2];
    out[o++] = tab[(v >> 18) & 63];
    out[o++] = tab[(v >> 12) & 63];
    if (i + 1 < n)
      out[o++] = tab[(v >> 6) & 63];
    if (i + 2 < n)
      out[o++] = tab[v & 63];
  }
  out[o] = '\0';
  return o;
}

static void google_news_redirects_are_unwrapped(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  const char *article = "https://www.Example.com/2024/story?utm_source=gn";
  unsigned char pb[256];
  size_t n = 0;
  pb[n++] = 0x08;
  pb[n++] = 0x13;
  pb[n++] = 0x22;
  pb[n++] = (unsigned char)strlen(article);
  memcpy(pb + n, article, strlen(article));
  n += strlen(article);
  pb[n++] = 0xD2;
  pb[n++] = 0x01;
  pb[n++] = 0x00;
  char id[400], url[600];
  base64url(pb, n, id);
  snprintf(url, sizeof url, "https://news.google.com/rss/articles/%s?oc=5",
           id);
  CHECK_STR(ts_normalize_url(&a, url), "https://www.example.com/2024/story");
  /* The newer opaque ids stay redirects, without oc. */
  CHECK_STR(ts_normalize_url(&a, "https://news.google.com/rss/articles/"
                                 "AU_yqLOpaqueToken?oc=5&hl=en-US"),
            "https://news.google.com/rss/articles/AU_yqLOpaqueToken?hl=en-US");
  /* A URL inside that is not http(s) is not followed. */
  const char *js = "javascript:alert(1)//xxxxxxxx";
  n = 0;
  pb[n++] = 0x22;
  pb[n++] = (unsigned char)strlen(js);
  memcpy(pb + n, js, strlen(js));
  n += strlen(js);
  base64url(pb, n, id);
  snprintf(url, sizeof url, "https://news.google.com/rss/articles/%s", id);
  const char *r = ts_normalize_url(&a, url);
  CHECK(r != NULL && strstr(r, "news.google.com") != NULL);
  ts_arena_cleanup(&a);
}

/* ---- numbers, times, durations -------------------------------------- */

static void counts_parse_with_overflow_checks(void)
{
  int64_t v = -5;
  CHECK(ts_normalize_parse_count("22542530", &v) && v == 22542530);
  CHECK(ts_normalize_parse_count("4294967296", &v) && v == INT64_C(4294967296));
  CHECK(ts_normalize_parse_count("0", &v) && v == 0);
  CHECK(ts_normalize_parse_count("9223372036854775807", &v) &&
        v == INT64_MAX);
  static const char *const bad[] = {"", "-1", "1e3", " 12", "12 ", "+5",
                                    "99999999999999999999",
                                    "9223372036854775808", "0x10", "1.5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = 77;
    CHECK(!ts_normalize_parse_count(bad[i], &v));
    CHECK_INT(v, 77);
  }
  CHECK(!ts_normalize_parse_count(NULL, &v));

  json_t *j = json_loads("[\"1108018\", 35086, 1e3, 2.5, -1, \"-1\", null, "
                         "true, \"\", 1e19, 12345678901234]",
                         0, NULL);
  REQUIRE(j != NULL);
  CHECK(ts_normalize_json_count(json_array_get(j, 0), &v) && v == 1108018);
  CHECK(ts_normalize_json_count(json_array_get(j, 1), &v) && v == 35086);
  CHECK(ts_normalize_json_count(json_array_get(j, 2), &v) && v == 1000);
  for (size_t i = 3; i <= 9; i++)
    CHECK(!ts_normalize_json_count(json_array_get(j, i), &v));
  CHECK(ts_normalize_json_count(json_array_get(j, 10), &v) &&
        v == INT64_C(12345678901234));
  json_decref(j);
}

static void times_parse_to_utc(void)
{
  static const struct {
    const char *in;
    int64_t t;
  } good[] = {
    {"2025-05-10T16:00:01Z", 1746892801},
    {"2025-05-10T16:00:01.000Z", 1746892801},
    {"2025-05-10T16:00:01.1234567Z", 1746892801},
    {"2025-05-10T16:00:01.123456789Z", 1746892801},
    {"2025-05-10T18:00:01+02:00", 1746892801},
    {"2025-05-10T18:00:01+0200", 1746892801},
    {"2025-05-10T11:30:01-04:30", 1746892801},
    {"2025-05-10T16:00:01+00:00", 1746892801},
    {"2025-05-10T16:00:01-00:00", 1746892801},
    {"2025-05-10 16:00:01Z", 1746892801},
    {"2025-05-10t16:00:01z", 1746892801},
    {"2025-05-10T16:00:01", 1746892801}, /* no zone: UTC */
    {"2025-05-10T16:00Z", 1746892800},
    {"2025-05-10T21:00:01+05", 1746892801},
    {"2025-05-10", 1746835200},
    {"1970-01-01T00:00:00Z", 0},
    {"1969-12-31T23:59:59Z", -1},
    {"2000-02-29T00:00:00Z", 951782400},
    {"2024-02-29T12:00:00Z", 1709208000},
    {"2016-12-31T23:59:60Z", 1483228800}, /* leap second */
    {"0000-01-01T00:00:00Z", INT64_C(-62167219200)},
    {"9999-12-31T23:59:59Z", INT64_C(253402300799)},
    {"2024-04-20T01:11:50Z", 1713575510},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    int64_t t = 0;
    if (!CHECK(ts_normalize_parse_time(good[i].in, &t)))
      printf("# rejected %s\n", good[i].in);
    CHECK_INT(t, good[i].t);
  }
  static const char *const bad[] = {
    "", "2025-13-01T00:00:00Z", "2025-00-10T00:00:00Z", "2025-02-30T00:00:00Z",
    "2023-02-29T00:00:00Z", "1900-02-29", "2025-04-31", "2025-05-10T24:00:00Z",
    "2025-05-10T12:60:00Z", "2025-05-10T12:00:61Z", "2025-05-10T12:00:00+24:00",
    "2025-05-10T12:00:00+05:60", "2025-05-10T12:00:00.Z",
    "2025-05-10T12:00:00ZZ", "2025-05-10T12:00:00 Z", "25-05-10",
    "2025/05/10", "2025-5-10", "2025-05-10T1:00:00Z", "yesterday",
    "2025-05-10T12:00:00+05:", "1746892801",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t t = 99;
    if (!CHECK(!ts_normalize_parse_time(bad[i], &t)))
      printf("# accepted %s\n", bad[i]);
    CHECK_INT(t, 99);
  }
  int64_t t;
  CHECK(!ts_normalize_parse_time(NULL, &t));
}

static void times_format_and_round_trip(void)
{
  char buf[TS_NORMALIZE_TIME_SIZE];
  CHECK(ts_normalize_format_time(1746892801, buf));
  CHECK_STR(buf, "2025-05-10T16:00:01Z");
  CHECK(ts_normalize_format_time(0, buf));
  CHECK_STR(buf, "1970-01-01T00:00:00Z");
  CHECK(ts_normalize_format_time(-1, buf));
  CHECK_STR(buf, "1969-12-31T23:59:59Z");
  CHECK(ts_normalize_format_time(951782400, buf));
  CHECK_STR(buf, "2000-02-29T00:00:00Z");
  CHECK(ts_normalize_format_time(INT64_C(-62167219200), buf));
  CHECK_STR(buf, "0000-01-01T00:00:00Z");
  CHECK(ts_normalize_format_time(INT64_C(253402300799), buf));
  CHECK_STR(buf, "9999-12-31T23:59:59Z");
  CHECK(!ts_normalize_format_time(INT64_C(253402300800), buf));
  CHECK_STR(buf, "");
  CHECK(!ts_normalize_format_time(TS_TIME_UNKNOWN, buf));
  rng_state = 3;
  for (int i = 0; i < 200000; i++) {
    int64_t t = (int64_t)(rnd() % UINT64_C(315569520000)) -
                INT64_C(62167219200);
    int64_t back = 0;
    if (!CHECK(ts_normalize_format_time(t, buf) &&
               ts_normalize_parse_time(buf, &back) && back == t)) {
      printf("# %lld -> %s -> %lld\n", (long long)t, buf, (long long)back);
      return;
    }
  }
  /* Consecutive days never skip or repeat a date. */
  char prev[TS_NORMALIZE_TIME_SIZE] = "";
  for (int64_t d = -719528; d <= 2932896; d++) {
    ts_normalize_format_time(d * 86400, buf);
    if (!CHECK(strcmp(prev, buf) < 0))
      return;
    memcpy(prev, buf, sizeof buf);
  }

  json_t *j = json_loads("[1715356801, \"2024-05-10T16:00:01Z\", 1.7e9, "
                         "\"bad\", null, 1e12, -99999999999]",
                         0, NULL);
  REQUIRE(j != NULL);
  int64_t t;
  CHECK(ts_normalize_json_time(json_array_get(j, 0), &t) && t == 1715356801);
  CHECK(ts_normalize_json_time(json_array_get(j, 1), &t) && t == 1715356801);
  CHECK(ts_normalize_json_time(json_array_get(j, 2), &t) && t == 1700000000);
  CHECK(!ts_normalize_json_time(json_array_get(j, 3), &t));
  CHECK(!ts_normalize_json_time(json_array_get(j, 4), &t));
  CHECK(!ts_normalize_json_time(json_array_get(j, 5), &t));
  CHECK(!ts_normalize_json_time(json_array_get(j, 6), &t));
  json_decref(j);
}

/* ---- the value parsers as they were, as references ------------------ */

/* Before the no-overflow-check fast paths. */
static bool ref_parse_count(const char *text, int64_t *out)
{
  if (!text || !*text)
    return false;
  int64_t v = 0;
  for (const char *p = text; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    int d = *p - '0';
    if (v >= INT64_MAX / 10 &&
        (v > INT64_MAX / 10 || d > (int)(INT64_MAX % 10)))
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static bool ref_parse_duration(const char *text, int64_t *out)
{
  if (!text || *text != 'P')
    return false;
  const char *p = text + 1;
  bool in_time = false, any = false;
  int rank = 0; /* designators must come in the order W D | H M S */
  int64_t total = 0;
  while (*p) {
    if (*p == 'T') {
      if (in_time || !p[1])
        return false;
      in_time = true;
      p++;
      continue;
    }
    if (*p < '0' || *p > '9')
      return false;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9') {
      int dgt = *p++ - '0';
      if (v > (INT64_MAX - dgt) / 10)
        return false;
      v = v * 10 + dgt;
    }
    bool fraction = false;
    if (*p == '.' || *p == ',') {
      p++;
      if (*p < '0' || *p > '9')
        return false;
      while (*p >= '0' && *p <= '9')
        p++;
      fraction = true;
    }
    int r;
    int64_t unit;
    switch (*p) {
    case 'W': r = 1, unit = 604800; break;
    case 'D': r = 2, unit = 86400; break;
    case 'H': r = 3, unit = 3600; break;
    case 'M': r = 4, unit = 60; break;
    case 'S': r = 5, unit = 1; break;
    default: return false;
    }
    p++;
    /* Date designators before T, time designators after it; a fraction
     * only on seconds, the last one. */
    if ((r >= 3) != in_time || r <= rank || (fraction && r != 5))
      return false;
    rank = r;
    if (v > (INT64_MAX - total) / unit)
      return false;
    total += v * unit;
    any = true;
  }
  if (!any)
    return false;
  *out = total;
  return true;
}

/* The fast paths (no overflow check for numbers that cannot overflow)
 * against the parsers as they were, on digits, near-overflows and
 * junk. */
static void value_fast_paths_match_the_reference(void)
{
  rng_state = 11;
  static const char *const pieces[] = {
    "0", "1", "9", "12", "999", "18446744073709551616", "9223372036854775807",
    "9223372036854775808", "000000000000000000000", "1234567890", "x", "-",
    "+", " ", ".", "5",
  };
  static const char *const dur_pieces[] = {
    "P", "T", "1", "15", "59", "0", ".5", ",25", "W", "D", "H", "M", "S",
    "9223372036854775807", "153722867280912930", "15250284452471", "2",
    "99999999999", "Y",
  };
  char text[256];
  for (int iter = 0; iter < 200000; iter++) {
    size_t o = 0, parts = 1 + rnd() % 5;
    for (size_t k = 0; k < parts; k++) {
      const char *q = pieces[rnd() % (iter % 4 ? 6 : 16)];
      memcpy(text + o, q, strlen(q));
      o += strlen(q);
    }
    text[o] = '\0';
    int64_t a = -7, b = -7;
    bool ra = ts_normalize_parse_count(text, &a);
    bool rb = ref_parse_count(text, &b);
    if (ra != rb || (ra && a != b)) {
      printf("# count \"%s\"\n", text);
      CHECK_INT(ra, rb);
      CHECK_INT(a, b);
      return;
    }
    o = 0;
    parts = 1 + rnd() % 8;
    for (size_t k = 0; k < parts; k++) {
      const char *q = k == 0 && iter % 8 ? "P"
                      : dur_pieces[rnd() % (sizeof dur_pieces /
                                            sizeof dur_pieces[0])];
      memcpy(text + o, q, strlen(q));
      o += strlen(q);
    }
    text[o] = '\0';
    a = b = -7;
    ra = ts_normalize_parse_duration(text, &a);
    rb = ref_parse_duration(text, &b);
    if (ra != rb || (ra && a != b)) {
      printf("# duration \"%s\"\n", text);
      CHECK_INT(ra, rb);
      CHECK_INT(a, b);
      return;
    }
  }
}

static void durations_parse(void)
{
  static const struct {
    const char *in;
    int64_t s;
  } good[] = {
    {"PT58S", 58},       {"PT1H4M2S", 3842}, {"P1DT2H3M4S", 93784},
    {"P0D", 0},          {"PT15M", 900},     {"PT15M46S", 946},
    {"PT1.5S", 1},       {"PT0,9S", 0},      {"P1W", 604800},
    {"P2W1D", 1296000},  {"PT0S", 0},        {"PT36H", 129600},
    {"P1D", 86400},      {"PT1H", 3600},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    int64_t s = -9;
    if (!CHECK(ts_normalize_parse_duration(good[i].in, &s)))
      printf("# rejected %s\n", good[i].in);
    CHECK_INT(s, good[i].s);
  }
  static const char *const bad[] = {
    "", "P", "PT", "P1DT", "1H", "PT1H2", "PT-1S", "-PT1S", "P1Y", "P1M",
    "PT1S2M", "PT1M1M", "P1D1W", "PT1.5M", "PT1.S", "P1H", "PTT1S",
    "pt1s", "PT1 S", "PT99999999999999999999S", "PT9223372036854775807H",
    "P1DT2H3M4SX",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t s = -9;
    if (!CHECK(!ts_normalize_parse_duration(bad[i], &s)))
      printf("# accepted %s\n", bad[i]);
    CHECK_INT(s, -9);
  }
  int64_t s;
  CHECK(!ts_normalize_parse_duration(NULL, &s));
}

static void best_thumbnail_is_picked(void)
{
  json_t *j = json_loads(
    "{\"default\":{\"url\":\"https://i.ytimg.com/vi/x/default.jpg\","
    "\"width\":120,\"height\":90},"
    "\"medium\":{\"url\":\"https://i.ytimg.com/vi/x/mqdefault.jpg\","
    "\"width\":320,\"height\":180},"
    "\"high\":{\"url\":\"https://i.ytimg.com/vi/x/hqdefault.jpg\","
    "\"width\":480,\"height\":360},"
    "\"standard\":{\"url\":\"http://i.ytimg.com/vi/x/sddefault.jpg\","
    "\"width\":640,\"height\":480},"
    "\"maxres\":{\"url\":\"javascript:x\",\"width\":1280,\"height\":720}}",
    0, NULL);
  REQUIRE(j != NULL);
  struct ts_thumbnail t;
  CHECK(ts_normalize_pick_thumbnail(j, NULL, &t));
  CHECK_STR(t.url, "https://i.ytimg.com/vi/x/hqdefault.jpg");
  CHECK_INT(t.width, 480);
  CHECK_INT(t.height, 360);
  json_decref(j);

  j = json_loads("{\"maxres\":{\"url\":\"https://i.ytimg.com/m.jpg\","
                 "\"width\":\"1280\"}}",
                 0, NULL);
  CHECK(ts_normalize_pick_thumbnail(j, NULL, &t));
  CHECK_STR(t.url, "https://i.ytimg.com/m.jpg");
  CHECK_INT(t.width, 0);
  json_decref(j);

  /* Other shapes: the widest usable member, ties by name. */
  j = json_loads("{\"small\":{\"url\":\"https://a/s.jpg\",\"width\":100},"
                 "\"big\":{\"url\":\"https://a/b.jpg\",\"width\":900},"
                 "\"bad\":{\"url\":\"https://a/x y.jpg\",\"width\":2000},"
                 "\"also\":{\"url\":\"https://a/c.jpg\",\"width\":900}}",
                 0, NULL);
  CHECK(ts_normalize_pick_thumbnail(j, NULL, &t));
  CHECK_STR(t.url, "https://a/c.jpg");
  static const char *const prefer[] = {"small", NULL};
  CHECK(ts_normalize_pick_thumbnail(j, prefer, &t));
  CHECK_STR(t.url, "https://a/s.jpg");
  json_decref(j);

  j = json_loads("{\"default\":{\"url\":\"http://x/y.jpg\"},\"x\":3}", 0,
                 NULL);
  CHECK(!ts_normalize_pick_thumbnail(j, NULL, &t));
  json_decref(j);
  CHECK(!ts_normalize_pick_thumbnail(NULL, NULL, &t));
}

/* ---- items ---------------------------------------------------------- */

static struct ts_item *raw_video(struct ts_batch *b, const char *id,
                                 const char *region, uint32_t rank)
{
  struct ts_item *it = ts_batch_new_item(b);
  it->kind = TS_ITEM_VIDEO;
  it->source = "youtube";
  it->id = ts_batch_str(b, id);
  it->title = ts_batch_str(b, u8"  \u30C6\u3099\u30E2  video\u202E\u200B ");
  it->url = ts_batch_str(b, "HTTPS://www.YouTube.com/watch?v=abc&feature="
                            "share&utm_source=x");
  it->thumbnail = "https://i.ytimg.com/vi/abc/hqdefault.jpg";
  it->thumb_width = 480;
  it->thumb_height = 360;
  it->author = "Channel Name ";
  it->summary = "Line one\r\n\r\n\r\nLine two\x01";
  it->category = "24";
  it->language = "en-US";
  it->live = "none";
  it->views = 22542530;
  it->likes = -7;
  it->duration_s = 946;
  ts_item_set_position(b, it, "youtube", region, rank);
  return it;
}

static void items_are_normalized_in_place(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_item *it = raw_video(&b, "dQw4w9WgXcQ", "JP", 1);
  bool usable = false;
  struct ts_normalize_stats st = {0};
  CHECK_INT(ts_normalize_item(&b, it, NULL, &st, &usable), TS_OK);
  CHECK(usable);
  CHECK_STR(it->title, u8"\u30C7\u30E2 video");
  CHECK_STR(it->url, "https://www.youtube.com/watch?v=abc&feature=share");
  CHECK_STR(it->author, "Channel Name");
  CHECK_STR(it->summary, "Line one\n\nLine two");
  CHECK_STR(it->language, "en-US");
  CHECK(it->live == NULL);
  CHECK_INT(it->likes, TS_UNKNOWN);
  CHECK_INT(it->views, 22542530);
  CHECK_INT(st.items, 1);
  CHECK_INT(st.dropped, 0);

  /* A rejected link falls back to the discussion page; a bad thumbnail
   * goes. */
  it = ts_batch_new_item(&b);
  it->kind = TS_ITEM_STORY;
  it->id = "41234567";
  it->title = "Show HN: a thing";
  it->url = "javascript:alert(1)";
  it->discussion_url = "https://news.ycombinator.com/item?id=41234567";
  it->thumbnail = "data:image/png;base64,AAAA";
  it->thumb_width = 10;
  it->language = "not a tag";
  it->live = "live";
  ts_item_set_position(&b, it, "hackernews", "", 3);
  CHECK_INT(ts_normalize_item(&b, it, NULL, &st, &usable), TS_OK);
  CHECK(usable);
  CHECK_STR(it->url, "https://news.ycombinator.com/item?id=41234567");
  CHECK(it->thumbnail == NULL && it->thumb_width == 0);
  CHECK(it->language == NULL);
  CHECK_STR(it->live, "live");
  CHECK_INT(st.urls_rejected, 2);

  /* Unusable: no link at all, empty title, [Removed], unsafe video id,
   * no position. */
  it = ts_batch_new_item(&b);
  it->kind = TS_ITEM_STORY;
  it->title = "No link";
  it->url = "file:///etc/passwd";
  ts_item_set_position(&b, it, "newsapi", "us", 1);
  CHECK_INT(ts_normalize_item(&b, it, NULL, &st, &usable), TS_OK);
  CHECK(!usable);
  it = ts_batch_new_item(&b);
  it->kind = TS_ITEM_STORY;
  it->title = u8" \u200B\u202E\t ";
  it->url = "https://example.com/";
  ts_item_set_position(&b, it, "newsapi", "us", 2);
  CHECK_INT(ts_normalize_item(&b, it, NULL, &st, &usable), TS_OK);
  CHECK(!usable);
  it = ts_batch_new_item(&b);
  it->kind = TS_ITEM_STORY;
  it->title = "[Removed]";
  it->url = "https://removed.com";
  ts_item_set_position(&b, it, "newsapi", "us", 3);
  CHECK_INT(ts_normalize_item(&b, it, NULL, &st, &usable), TS_OK);
  CHECK(!usable);
  static const char *const bad_ids[] = {"../../x", "..", "a/b", "", NULL,
                                        "a.b", "x y",
                                        "0123456789012345678901234567890123"
                                        "4567890123456789012345678901234"};
  CHECK(ts_normalize_video_id_ok("0123456789012345678901234567890123"
                                 "456789012345678901234567890123"));
  CHECK(ts_normalize_video_id_ok("-4GmbBoYQjE"));
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
    it = raw_video(&b, "x", "US", 1);
    it->id = bad_ids[i];
    CHECK_INT(ts_normalize_item(&b, it, NULL, &st, &usable), TS_OK);
    CHECK(!usable);
  }
  it = ts_batch_new_item(&b);
  it->kind = TS_ITEM_STORY;
  it->title = "Fine";
  it->url = "https://example.com/";
  CHECK_INT(ts_normalize_item(&b, it, NULL, &st, &usable), TS_OK);
  CHECK(!usable);

  /* NewsAPI: " - Source" goes when it is the author; caps apply after. */
  it = ts_batch_new_item(&b);
  it->kind = TS_ITEM_STORY;
  it->title = "Fed holds rates steady - Reuters";
  it->author = "Reuters";
  it->url = "https://www.reuters.com/markets/fed/?utm_source=newsapi";
  ts_item_set_position(&b, it, "newsapi", "us", 4);
  struct ts_normalize_options opts;
  ts_normalize_options_init(&opts);
  opts.title_graphemes = 10;
  CHECK_INT(ts_normalize_item(&b, it, &opts, &st, &usable), TS_OK);
  CHECK(usable);
  CHECK_STR(it->title, u8"Fed holds\u2026");
  CHECK_STR(it->url, "https://www.reuters.com/markets/fed/");
  CHECK(st.truncated >= 1);
  ts_batch_cleanup(&b);
}

/* Every byte value inside a video id: only [A-Za-z0-9_-] are safe. */
static void video_ids_are_checked_byte_by_byte(void)
{
  for (unsigned v = 1; v < 256; v++) {
    char id[4] = {'a', (char)v, 'b', '\0'};
    bool ok = (v >= 'a' && v <= 'z') || (v >= 'A' && v <= 'Z') ||
              (v >= '0' && v <= '9') || v == '_' || v == '-';
    if (ts_normalize_video_id_ok(id) != ok) {
      printf("# byte %u\n", v);
      CHECK(ts_normalize_video_id_ok(id) == ok);
    }
  }
}

static void batches_drop_and_count(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_status *s = ts_batch_status(&b, "youtube", "youtube", "JP");
  s->items = 3;
  raw_video(&b, "aaaaaaaaaaa", "JP", 1);
  struct ts_item *bad = raw_video(&b, "../etc", "JP", 2);
  bad->title = "bad \xC0 id";
  struct ts_item *rep = raw_video(&b, "ccccccccccc", "JP", 3);
  rep->title = "caf\xE9 \xE9";
  raw_video(&b, "ddddddddddd", "KR", 1)->url = "vbscript:x";
  struct ts_normalize_stats st = {0};
  struct ts_error err;
  CHECK_INT(ts_normalize_batch(&b, NULL, &st, &err), TS_OK);
  CHECK_INT(b.nitems, 2);
  CHECK_STR(b.items[0].id, "aaaaaaaaaaa");
  CHECK_STR(b.items[1].id, "ccccccccccc");
  CHECK_STR(b.items[1].title, u8"caf\uFFFD \uFFFD");
  CHECK_INT(st.items, 4);
  CHECK_INT(st.dropped, 2);
  CHECK_INT(st.repaired, 3);
  s = ts_batch_status(&b, "youtube", "youtube", "JP");
  CHECK_INT(s->skipped, 1);
  CHECK_INT(s->items, 2);
  CHECK_INT(s->repaired, 3);
  s = ts_batch_status(&b, "youtube", "youtube", "KR");
  CHECK_INT(s->skipped, 1);
  CHECK_INT(b.nstatuses, 2);
  ts_batch_cleanup(&b);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(clean_ascii_is_returned_as_is),
    TEST(controls_go_in_titles),
    TEST(block_text_keeps_lines),
    TEST(invisible_and_bidi_controls_go),
    TEST(text_becomes_nfc),
    TEST(invalid_utf8_becomes_fffd),
    TEST(titles_are_capped_by_graphemes),
    TEST(long_text_is_cut_at_the_byte_cap),
    TEST(cap_and_idempotence_properties),
    TEST(nfc_quick_check_is_sound),
    TEST(nfc_matches_utf8proc),
    TEST(fast_paths_match_the_reference),
    TEST(long_runs_match_the_reference),
    TEST(every_bmp_character_matches_the_reference),
    TEST(class_zero_compositions_match_the_reference),
    TEST(chunk_boundaries_change_nothing),
    TEST(url_fast_path_matches_the_full_path),
    TEST(long_urls_match_the_full_path),
    TEST(floor_matches_libm),
    TEST(source_suffix_is_stripped),
    TEST(html_becomes_plain_text),
    TEST(html_text_runs_match_short_pieces),
    TEST(json_bodies_are_repaired),
    TEST(urls_are_canonical),
    TEST(bad_urls_are_rejected),
    TEST(url_keys_ignore_cosmetic_differences),
    TEST(borrowed_url_keys_match_copies),
    TEST(google_news_redirects_are_unwrapped),
    TEST(counts_parse_with_overflow_checks),
    TEST(times_parse_to_utc),
    TEST(times_format_and_round_trip),
    TEST(durations_parse),
    TEST(value_fast_paths_match_the_reference),
    TEST(best_thumbnail_is_picked),
    TEST(items_are_normalized_in_place),
    TEST(batches_drop_and_count),
    TEST(video_ids_are_checked_byte_by_byte),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

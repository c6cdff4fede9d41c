/*
 * Text normalization, HTML to text, response-body repair, and the item
 * and batch entry points. URLs are in normalize_url.c; numbers, times,
 * durations and thumbnails in normalize_value.c.
 *
 * Speed matters here: a run normalizes every raw item, and the benchmark
 * asks for over a million items a second together with dedupe. So the
 * common cases never reach utf8proc's allocating functions: a title that
 * is already clean ASCII is returned as it is, text is cleaned in one
 * pass into a stack buffer, NFC is decided by a quick check on the
 * property table (utf8proc_map runs only when a string may change), and
 * grapheme clusters are counted with a shortcut for pairs of characters
 * that always break (Latin, kana, CJK, Hangul syllables).
 */
#include "normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "normalize_internal.h"
#include "util/ascii.h"

/* ---- UTF-8 ---------------------------------------------------------- */

int32_t ts_utf8_decode(const unsigned char *s, size_t n, size_t *adv)
{
  unsigned b0 = s[0];
  if (b0 < 0x80) {
    *adv = 1;
    return (int32_t)b0;
  }
  /* The ranges of Unicode's table 3-7 (well-formed byte sequences):
   * the second byte's range depends on the first, which is what rules
   * out overlong forms, surrogates and code points past U+10FFFF. */
  unsigned need, lo = 0x80, hi = 0xBF;
  int32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = (int32_t)(b0 & 0x1F);
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = (int32_t)(b0 & 0x0F);
    if (b0 == 0xE0)
      lo = 0xA0;
    else if (b0 == 0xED)
      hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = (int32_t)(b0 & 0x07);
    if (b0 == 0xF0)
      lo = 0x90;
    else if (b0 == 0xF4)
      hi = 0x8F;
  } else {
    *adv = 1;
    return -1;
  }
  size_t i = 1;
  for (; i <= need; i++) {
    /* A bad or missing byte ends the maximal subpart: everything read so
     * far becomes one U+FFFD and decoding resumes at the bad byte. */
    if (i >= n || s[i] < lo || s[i] > hi) {
      *adv = i;
      return -1;
    }
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (int32_t)(s[i] & 0x3F);
  }
  *adv = i;
  return cp;
}

size_t ts_utf8_encode(int32_t cp, unsigned char *out)
{
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (cp >> 18));
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* ---- NFC quick check ------------------------------------------------ */

/* Three-byte characters that are each a cluster of their own in any
 * context, NFC_Quick_Check=Yes and kept by cleaning: the dashes, quotes,
 * daggers, bullet and dots of General Punctuation (U+2010-2027; news
 * text is full of them), CJK punctuation and brackets (not U+3000, a
 * space), kana without the combining voicing marks, the prolonged sound
 * mark, CJK ideographs, Hangul syllables (a following jamo is handled by
 * the general path) and the full-width ASCII forms. The tests check
 * these claims for every one of them. */
static inline bool cjk_simple(int32_t c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3041 && c <= 0x3096) ||
         (c >= 0x30A1 && c <= 0x30FC) || (c >= 0x3001 && c <= 0x3011) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xFF01 && c <= 0xFF5E) ||
         (c >= 0x2010 && c <= 0x2027);
}

/* Whether a starter with a canonical decomposition composes back to
 * itself. False for singletons (U+212B ANGSTROM SIGN, the CJK
 * compatibility ideographs) and for exclusions not flagged as such in
 * the table, which NFC replaces. No allocation. */
static bool composes_back(int32_t c)
{
  utf8proc_int32_t buf[8];
  int boundclass = 0;
  utf8proc_ssize_t n =
    utf8proc_decompose_char(c, buf, 8, UTF8PROC_DECOMPOSE, &boundclass);
  if (n <= 0 || n > 8)
    return false;
  n = utf8proc_normalize_utf32(buf, n, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  return n == 1 && buf[0] == c;
}

/* True when `c` can neither change under NFC nor change a neighbour:
 * Unicode's NFC_Quick_Check=Yes, approximated from utf8proc's table
 * without relying on its private composition encoding. Every character
 * that can be the second of a canonical composition is a combining mark
 * (ccc > 0), an Extend or SpacingMark character (the Indic length marks)
 * or a Hangul V/T jamo, so all of those answer "maybe"; the unit tests
 * check this against every decomposition in the table. */
static bool nfc_stable(int32_t c)
{
  if (c < 0x300 || cjk_simple(c))
    return true;
  const utf8proc_property_t *p = utf8proc_get_property(c);
  if (p->combining_class != 0)
    return false;
  switch (p->boundclass) {
  case UTF8PROC_BOUNDCLASS_EXTEND:
  case UTF8PROC_BOUNDCLASS_SPACINGMARK:
  case UTF8PROC_BOUNDCLASS_V:
  case UTF8PROC_BOUNDCLASS_T:
    return false;
  default:
    break;
  }
  if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0)
    return !p->comp_exclusion && composes_back(c);
  return true;
}

bool ts_normalize_is_nfc(const char *text, size_t len)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t adv;
    int32_t cp = ts_utf8_decode(s + i, len - i, &adv);
    if (cp < 0 || !nfc_stable(cp))
      return false;
    i += adv;
  }
  return true;
}

const char *ts_normalize_nfc(struct ts_arena *arena, const char *text)
{
  if (!text)
    return NULL;
  size_t len = strlen(text);
  if (ts_normalize_is_nfc(text, len))
    return text;
  utf8proc_uint8_t *m = NULL;
  utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text,
                                    (utf8proc_ssize_t)len, &m,
                                    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (n < 0)
    return NULL;
  char *copy = ts_arena_strndup(arena, (const char *)m, (size_t)n);
  free(m);
  return copy;
}

/* ---- Grapheme clusters ---------------------------------------------- */

/* Characters between which UAX #29 always breaks, whatever the Unicode
 * version: ASCII and Latin-1/Latin Extended letters, LF, and
 * cjk_simple (Hangul syllables join only with jamo, which are not in
 * this set). U+00AD is a Control for UAX #29. */
static bool gb_simple(int32_t c)
{
  return (c >= 0x20 && c < 0x7F) || c == '\n' ||
         (c >= 0xA0 && c < 0x300 && c != 0xAD) || cjk_simple(c);
}

struct gb {
  int32_t prev;  /* -1 before the first character */
  int32_t state; /* utf8proc's, valid while prev is not simple */
};

/* Whether a cluster starts at `c`. */
static bool gb_break(struct gb *g, int32_t c)
{
  bool brk;
  if (g->prev < 0) {
    brk = true;
    g->state = 0;
  } else if (gb_simple(g->prev) && gb_simple(c)) {
    /* utf8proc allows resetting the state after a break. */
    brk = true;
    g->state = 0;
  } else {
    brk = utf8proc_grapheme_break_stateful(g->prev, c, &g->state);
  }
  g->prev = c;
  return brk;
}

/* Cluster boundaries of valid UTF-8 that matter for cutting. */
struct walk {
  size_t count;     /* clusters */
  size_t cut_at;    /* start of cluster number `want` (1-based), or len */
  size_t last;      /* start of the last cluster */
  size_t fit;       /* end of the last cluster that ends within `limit` */
};

static void gb_walk(const unsigned char *s, size_t len, size_t want,
                    size_t limit, struct walk *w)
{
  struct gb g = {-1, 0};
  w->count = 0;
  w->cut_at = len;
  w->last = 0;
  w->fit = len <= limit ? len : 0;
  size_t i = 0;
  while (i < len) {
    size_t adv = 1;
    int32_t cp = s[i] < 0x80 ? s[i] : ts_utf8_decode(s + i, len - i, &adv);
    if (cp < 0)
      cp = 0xFFFD;
    if (gb_break(&g, cp)) {
      if (i <= limit && len > limit)
        w->fit = i;
      w->count++;
      w->last = i;
      if (w->count == want)
        w->cut_at = i;
    }
    i += adv;
  }
}

size_t ts_normalize_graphemes(const char *text, size_t len)
{
  struct walk w;
  gb_walk((const unsigned char *)text, len, 0, SIZE_MAX, &w);
  return w.count;
}

/* ---- Eight bytes at a time ------------------------------------------ */

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define LOWS UINT64_C(0x7F7F7F7F7F7F7F7F)

/* Whether any byte of `w` is zero / below n (n <= 128). Exact as a yes/no
 * answer; the per-byte bits may be wrong above a hit. */
#define HAS_ZERO(w) (((w) - ONES) & ~(w) & HIGHS)
#define HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)

/* The high bit of the byte last in memory, as loaded by memcpy. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LAST_BYTE_HIGH UINT64_C(0x80)
#else
#define LAST_BYTE_HIGH UINT64_C(0x8000000000000000)
#endif

/* The high bit of every byte of `w` that is zero, and of no other. */
static inline uint64_t zero_bytes(uint64_t w)
{
  return ~(((w & LOWS) + LOWS) | w | LOWS);
}

/* ---- The text cleaner ----------------------------------------------- */

enum cp_class { CP_KEEP, CP_DROP, CP_SPACE, CP_NEWLINE, CP_PARAGRAPH };

static enum cp_class classify(int32_t c)
{
  if (c < 0x80) {
    if (c >= 0x21 && c < 0x7F)
      return CP_KEEP;
    if (c == ' ' || c == '\t')
      return CP_SPACE;
    if (c == '\n' || c == '\r' || c == '\v' || c == '\f')
      return CP_NEWLINE;
    return CP_DROP; /* other C0 controls, DEL */
  }
  if (c < 0xA0)
    return c == 0x85 ? CP_NEWLINE : CP_DROP; /* NEL; C1 controls */
  if (c == 0xA0)
    return CP_SPACE;
  if (c < 0x061C)
    return CP_KEEP;
  if (c < 0x3001) {
    if (c == 0x061C || c == 0x200B || c == 0x200E || c == 0x200F ||
        (c >= 0x202A && c <= 0x202E) || c == 0x2060 ||
        (c >= 0x2066 && c <= 0x206F))
      return CP_DROP;
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F ||
        c == 0x205F || c == 0x3000)
      return CP_SPACE;
    if (c == 0x2028)
      return CP_NEWLINE;
    if (c == 0x2029)
      return CP_PARAGRAPH;
    return CP_KEEP;
  }
  if (c == 0xFEFF || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE)
    return CP_DROP;
  return CP_KEEP;
}

/* Stop once this many clusters past the cap are written: the rest cannot
 * change the clusters that are kept (NFC and cluster boundaries are
 * local), and reading a 5,000-character description to keep 400 would
 * waste most of the time. */
#define GB_MARGIN 8

struct cleaner {
  unsigned char *out;
  size_t len;
  size_t limit; /* stop before len would pass it */
  enum ts_text_mode mode;
  uint32_t max; /* cluster cap, 0 for none */
  bool started, pend_space;
  unsigned pend_nl;
  bool maybe_not_nfc;
  bool full;       /* stopped before the end of the input */
  bool byte_full;  /* ... because of the byte cap */
  uint32_t repaired;
  struct gb gb;
  size_t graphemes;
  size_t cut_at;  /* start of cluster number max */
  size_t last;    /* start of the last cluster */
};

/* Japanese text from some uploaders is NFD: kana followed by U+3099 or
 * U+309A (voiced sound marks). Composing such a pair as it is written
 * keeps the text NFC-stable, so the whole string does not need
 * utf8proc_map. The mark is Extend, so the pair is one cluster either
 * way, and the composed kana is a plain character as the base was. */
static bool compose_kana(struct cleaner *c, int32_t mark)
{
  int32_t base = c->gb.prev;
  if (base < 0x3041 || base > 0x30FE || c->len < 3)
    return false;
  utf8proc_int32_t pair[2] = {base, mark};
  if (utf8proc_normalize_utf32(pair, 2, UTF8PROC_STABLE | UTF8PROC_COMPOSE) !=
        1 ||
      pair[0] < 0x3041 || pair[0] > 0x30FE)
    return false;
  ts_utf8_encode(pair[0], c->out + c->len - 3); /* 3 bytes, as the base */
  c->gb.prev = pair[0];
  c->gb.state = 0;
  return true;
}

/* Whether `c`, which nfc_stable calls "maybe", stays as it is after
 * `prev` (the character written before it, NFC-stable; -1 at the start).
 * A character of combining class 0 without a canonical decomposition can
 * only change by composing with the character right before it (anything
 * between it and an earlier starter blocks it), so NFC of the pair tells.
 * Emoji variation selectors and skin tones after their base take this
 * path instead of NFC of the whole text. */
static bool stable_after(int32_t prev, int32_t c)
{
  const utf8proc_property_t *p = utf8proc_get_property(c);
  if (p->combining_class != 0 ||
      (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0))
    return false;
  if (prev < 0)
    return true;
  utf8proc_int32_t buf[8];
  int boundclass = 0;
  utf8proc_ssize_t n =
    utf8proc_decompose_char(prev, buf, 6, UTF8PROC_DECOMPOSE, &boundclass);
  if (n <= 0 || n > 6)
    return false;
  buf[n++] = c;
  n = utf8proc_normalize_utf32(buf, n, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  return n == 2 && buf[0] == prev && buf[1] == c;
}

static void put_cp(struct cleaner *c, int32_t cp)
{
  if ((cp == 0x3099 || cp == 0x309A) && compose_kana(c, cp))
    return;
  int32_t before = c->gb.prev;
  if (c->len + 4 > c->limit) {
    c->full = c->byte_full = true;
    return;
  }
  if (gb_break(&c->gb, cp)) {
    c->graphemes++;
    c->last = c->len;
    if (c->graphemes == c->max)
      c->cut_at = c->len;
    if (c->max && c->graphemes > (size_t)c->max + GB_MARGIN) {
      c->full = true;
      return;
    }
  }
  if (cp < 0x80) {
    c->out[c->len++] = (unsigned char)cp;
    return;
  }
  if (!c->maybe_not_nfc && !nfc_stable(cp) && !stable_after(before, cp))
    c->maybe_not_nfc = true;
  c->len += ts_utf8_encode(cp, c->out + c->len);
}

static void put_visible(struct cleaner *c, int32_t cp)
{
  if (c->started) {
    if (c->pend_nl) {
      put_cp(c, '\n');
      if (c->pend_nl > 1)
        put_cp(c, '\n');
    } else if (c->pend_space) {
      put_cp(c, ' ');
    }
  }
  c->pend_nl = 0;
  c->pend_space = false;
  c->started = true;
  put_cp(c, cp);
}

/* The next character when it is "plain": visible, a cluster of its own
 * next to any other plain character, NFC-stable and kept as it is
 * (printable ASCII, Latin-1/Latin Extended letters and signs, or
 * cjk_simple). Returns its length, or 0. */
static inline size_t plain_char(const unsigned char *s, size_t n,
                                int32_t *cp)
{
  unsigned b = s[0];
  if (b - 0x21u < 0x5Eu) {
    *cp = (int32_t)b;
    return 1;
  }
  if (b >= 0xC2 && b <= 0xCB && n >= 2 && (s[1] & 0xC0) == 0x80) {
    int32_t c = (int32_t)((b & 0x1F) << 6 | (s[1] & 0x3F));
    *cp = c;
    return c > 0xA0 && c != 0xAD ? 2 : 0;
  }
  if (b >= 0xE2 && b <= 0xEF && n >= 3 && (s[1] & 0xC0) == 0x80 &&
      (s[2] & 0xC0) == 0x80) {
    int32_t c = (int32_t)((b & 0x0F) << 12 | (s[1] & 0x3F) << 6 |
                          (s[2] & 0x3F));
    *cp = c;
    return cjk_simple(c) ? 3 : 0;
  }
  return 0;
}

static inline bool printable_ascii(unsigned b)
{
  return b - 0x21u < 0x5Eu;
}

#ifdef TS_SSE2
/* ascii_stretch (below), 32 bytes at a time, then 16: one bit per byte
 * for "not printable", LF and "neither printable nor a separator" (a
 * space, or in block mode a LF), and the stretch's rules as bit
 * operations on them, so that a space or a line break costs no more than
 * a letter. A byte breaks a rule when it is neither printable nor a
 * separator, when it and the byte before are both not printable (unless
 * both are LFs), or when it is the third LF in a row. The previous
 * window's masks carry the rules across windows, so the loop steps on
 * without waiting for the answer; the last window, shifted to the bytes
 * not yet seen, is padded with bytes that break a rule. The stretch ends
 * after the last printable byte before the first broken rule (the byte
 * before s is printable). `lim` is at least 16. */
struct window {
  uint32_t np, nl; /* not printable; LF (bit i: byte i) */
};

/* The masks of 16 bytes: "neither printable nor a separator" is
 * returned, the others go to *np and *nl. */
static inline uint32_t window_masks(__m128i v, bool block, uint32_t *np,
                                    uint32_t *nl)
{
  /* Signed: bytes 0x80-0xFF are below 0x21 too. */
  __m128i not_printable =
    _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x21)),
                 _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
  __m128i lf = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
  __m128i sep = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));
  if (block)
    sep = _mm_or_si128(sep, lf);
  *np = (uint32_t)_mm_movemask_epi8(not_printable);
  *nl = block ? (uint32_t)_mm_movemask_epi8(lf) : 0;
  return (uint32_t)_mm_movemask_epi8(_mm_andnot_si128(sep, not_printable));
}

/* The bytes of a window that break a rule, given its masks and those of
 * the previous window of `prev_bits` bytes (only its last two count). */
static inline uint32_t window_breaks(uint32_t bad, const struct window *w,
                                     const struct window *prev,
                                     unsigned prev_bits)
{
  uint32_t pnp = prev->np >> (prev_bits - 1);
  uint32_t pnl = prev->nl >> (prev_bits - 2);
  uint32_t pairs = w->np & (w->np << 1 | (pnp & 1));
  uint32_t lfs = w->nl & (w->nl << 1 | (pnl >> 1 & 1));
  uint32_t lfs3 = lfs & (w->nl << 2 | (pnl & 3));
  return bad | (pairs & ~lfs) | lfs3;
}

static size_t ascii_stretch_sse2(const unsigned char *s, size_t lim,
                                 bool block)
{
  /* Before s, one printable byte. */
  struct window prev = {0, 0}, w = {0, 0};
  unsigned prev_bits = 32;
  uint32_t err = 0;
  size_t j = 0;
  /* 32 bytes at a time, as two windows with one set of rules. */
  for (; j + 32 <= lim; j += 32) {
    uint32_t np0, nl0, np1, nl1;
    uint32_t bad = window_masks(
      _mm_loadu_si128((const __m128i *)(const void *)(s + j)), block, &np0,
      &nl0);
    bad |= window_masks(
             _mm_loadu_si128((const __m128i *)(const void *)(s + j + 16)),
             block, &np1, &nl1)
           << 16;
    w.np = np0 | np1 << 16;
    w.nl = nl0 | nl1 << 16;
    err = window_breaks(bad, &w, &prev, prev_bits);
    if (err)
      break;
    prev = w;
  }
  if (!err) {
    /* Then 16 at a time, the last 16 bytes shifted down to the ones not
     * yet seen. */
    for (;; j += 16) {
      bool tail = j + 16 > lim;
      unsigned shift = tail ? (unsigned)(16 - (lim - j)) : 0;
      uint32_t pad = tail ? 0xFFFFu << (lim - j) & 0xFFFF : 0;
      uint32_t np, nl;
      uint32_t bad = window_masks(
        _mm_loadu_si128(
          (const __m128i *)(const void *)(s + (tail ? lim - 16 : j))),
        block, &np, &nl);
      bad = (bad >> shift | pad) & 0xFFFF;
      w.np = (np >> shift | pad) & 0xFFFF;
      w.nl = nl >> shift & 0xFFFF;
      err = window_breaks(bad, &w, &prev, prev_bits) & 0xFFFF;
      if (err)
        break;
      prev = w;
      prev_bits = 16;
    }
  }
  uint32_t printable = ~w.np & ((UINT32_C(1) << __builtin_ctz(err)) - 1);
  if (printable)
    return j + 32 - (size_t)__builtin_clz(printable);
  /* After the previous window's last printable byte (a window without
   * one breaks a rule), or 0. */
  printable = ~prev.np & (prev_bits == 32 ? UINT32_MAX : 0xFFFF);
  return j + (32 - (size_t)__builtin_clz(printable)) - prev_bits;
}
#endif

/* The length of the stretch at s (at most `room` bytes, within n) made of
 * printable ASCII, single spaces each followed by a printable character,
 * and in block mode (`block`) one or two LFs followed by a printable
 * character; the byte before s is printable. Every byte is one cluster
 * and the stretch is already normal text. With SSE2, 32 and 16 bytes at
 * a time (ascii_stretch_sse2); else 8 bytes at a time where possible, and
 * the line breaks byte by byte (testing for them in the 8-byte test costs
 * more per word than it saves per line). */
static size_t ascii_stretch(const unsigned char *s, size_t n, size_t room,
                            bool block)
{
  size_t lim = n < room ? n : room, j = 0;
#ifdef TS_SSE2
  if (lim >= 16)
    return ascii_stretch_sse2(s, lim, block);
#endif
  for (;;) {
    while (j + 8 <= lim) {
      uint64_t w;
      memcpy(&w, s + j, 8);
      /* A byte outside 0x20..0x7E: below 0x20, or its high bit set in w
       * or in w + 1 (0x7F). A carry out of a 0xFF byte only happens when
       * w itself already has that high bit. */
      if ((((w + ONES) | w) & HIGHS) | HAS_LESS(w, 0x20))
        break;
      uint64_t sp = zero_bytes(w ^ (ONES * ' '));
      /* Adjacent bytes are adjacent in the word in either byte order. A
       * space at the end counts only before a printable byte. */
      if ((sp & (sp >> 8)) || ((sp & LAST_BYTE_HIGH) &&
                               (j + 8 >= lim || !printable_ascii(s[j + 8]))))
        break;
      j += 8;
    }
    /* Byte by byte past the word that failed, then words again. */
    for (size_t stop = j + 8; j < stop;) {
      if (j >= lim)
        return j;
      unsigned b = s[j];
      if (printable_ascii(b))
        j++;
      else if (b == ' ' && j + 1 < lim && printable_ascii(s[j + 1]))
        j += 2;
      else if (b == '\n' && block && j + 1 < lim && printable_ascii(s[j + 1]))
        j += 2;
      else if (b == '\n' && block && j + 2 < lim && s[j + 1] == '\n' &&
               printable_ascii(s[j + 2]))
        j += 3;
      else
        return j;
    }
  }
}

/* cjk_simple as a bitmap of the BMP: bit c % 64 of cjk_bits[c / 64].
 * One load per character and no branch on the lead byte (real Japanese
 * text alternates kana and kanji leads, and a branch per lead made
 * varied text 2.5 times slower than text that repeats). */
#define R2(x) x, x
#define R4(x) R2(x), R2(x)
#define R8(x) R4(x), R4(x)
#define R32(x) R8(x), R8(x), R8(x), R8(x)
#define R128(x) R32(x), R32(x), R32(x), R32(x)
static const uint64_t cjk_bits[1024] = {
  [0x080] = UINT64_C(0x000000FFFFFF0000), /* U+2010-2027 */
  [0x0C0] = UINT64_C(0x000000000003FFFE), /* U+3001-3011 */
  [0x0C1] = UINT64_C(0xFFFFFFFFFFFFFFFE), /* U+3041-307F */
  [0x0C2] = UINT64_C(0xFFFFFFFE007FFFFF), /* U+3080-3096, U+30A1-30BF */
  [0x0C3] = UINT64_C(0x1FFFFFFFFFFFFFFF), /* U+30C0-30FC */
  [0x138] = R8(UINT64_MAX),               /* U+4E00-4FFF */
  [0x140] = R128(UINT64_MAX), R128(UINT64_MAX), /* U+5000-9FFF */
  R32(UINT64_MAX), R32(UINT64_MAX),
  [0x2B0] = R128(UINT64_MAX), R32(UINT64_MAX),  /* U+AC00-D77F */
  R8(UINT64_MAX), R4(UINT64_MAX), R2(UINT64_MAX),
  [0x35E] = UINT64_C(0x0000000FFFFFFFFF), /* U+D780-D7A3 */
  [0x3FC] = UINT64_C(0xFFFFFFFFFFFFFFFE), /* U+FF01-FF3F */
  [0x3FD] = UINT64_C(0x000000007FFFFFFF), /* U+FF40-FF5E */
};
#undef R2
#undef R4
#undef R8
#undef R32
#undef R128

/* Whether the 3 bytes at s are a cjk_simple character. Any 3-byte form
 * (lead E0-EF, two continuation bytes) indexes the bitmap: an overlong
 * one (E0 80-9F) lands below U+0800 and a surrogate (ED A0-BF) past
 * U+D7FF, where no bit is set. */
static inline bool cjk3(const unsigned char *s)
{
  unsigned b0 = s[0], b1 = s[1], b2 = s[2];
  if ((b0 ^ 0xE0u) >> 4 | (b1 ^ 0x80u) >> 6 | (b2 ^ 0x80u) >> 6)
    return false;
  return cjk_bits[(b0 & 0x0Fu) << 6 | (b1 & 0x3Fu)] >> (b2 & 0x3Fu) & 1;
}

/* Where plain_run writes: output offset, clusters so far, last
 * character. */
struct run {
  size_t o, g, gmax;
  int32_t cp;
};

/* Appends one cluster of `len` bytes (a plain character, a space or a
 * LF) if it fits under both caps; false when the general path must
 * decide (it stops there exactly as put_cp would). */
static inline bool run_put(struct cleaner *c, struct run *r,
                           const unsigned char *b, size_t len)
{
  if (r->o + 4 > c->limit || r->g + 1 > r->gmax)
    return false;
  if (++r->g == c->max)
    c->cut_at = r->o;
  c->last = r->o;
  for (size_t i = 0; i < len; i++)
    c->out[r->o++] = b[i];
  return true;
}

/* Line breaks (LF or CR LF; a blank line at most) at s followed by a
 * plain character, in block mode, written as the general path would.
 * Returns the bytes consumed, 0 when the general path must decide. */
static size_t run_breaks(struct cleaner *c, struct run *r,
                         const unsigned char *s, size_t n)
{
  size_t j = 0, lines = 0;
  while (j < n && (s[j] == '\n' || (s[j] == '\r' && j + 1 < n &&
                                     s[j + 1] == '\n'))) {
    j += s[j] == '\r' ? 2 : 1;
    lines++;
  }
  int32_t next;
  size_t len = j < n ? plain_char(s + j, n - j, &next) : 0;
  size_t nl = lines > 1 ? 2 : 1;
  if (!len || r->o + nl + 4 > c->limit || r->g + nl + 1 > r->gmax)
    return 0;
  static const unsigned char lf = '\n';
  for (size_t i = 0; i < nl; i++)
    run_put(c, r, &lf, 1);
  run_put(c, r, s + j, len);
  r->cp = next;
  return j + len;
}

/* The length of the plain character at s (see plain_char), or 0. */
static inline size_t plain_len(const unsigned char *s, size_t n)
{
  unsigned b = s[0];
  if (printable_ascii(b))
    return 1;
  if (b >= 0xE2)
    return n >= 3 && cjk3(s) ? 3 : 0;
  if (b >= 0xC2 && b <= 0xCB && n >= 2 && (s[1] & 0xC0) == 0x80) {
    int32_t c = (int32_t)((b & 0x1F) << 6 | (s[1] & 0x3F));
    return c > 0xA0 && c != 0xAD ? 2 : 0;
  }
  return 0;
}

/* The stretch at s that cleaning copies unchanged: plain characters, a
 * single space before a plain character, and in block mode one or two
 * LFs before a plain character; the byte before s is plain. Every
 * character, space and LF is one cluster. It stops before a cluster that
 * would not fit: at most `fit_units` of them, each starting before
 * offset `fit_bytes` (the byte cap, as in put_cp). *units gets its
 * clusters, *cut the offset of its cluster number `want` (1-based; left
 * alone when it has none), *last the offset of its last cluster. */
static size_t identity_stretch(const unsigned char *s, size_t n,
                               size_t fit_bytes, size_t fit_units,
                               bool block, size_t want, size_t *units,
                               size_t *cut, size_t *last)
{
  size_t j = 0, u = 0;
  while (j < n && u < fit_units && j < fit_bytes) {
    unsigned b = s[j];
    if (printable_ascii(b)) {
      size_t room = fit_units - u;
      if (fit_bytes - j < room)
        room = fit_bytes - j;
      /* A printable character followed by anything but ASCII text (the
       * full stop and line break between CJK sentences) is a stretch of
       * its own: no need to look further. */
      unsigned b1 = j + 1 < n ? s[j + 1] : 0;
      bool alone = b1 == '\n' ? j + 2 >= n || s[j + 2] >= 0x80
                              : !printable_ascii(b1) && b1 != ' ';
      size_t m = alone ? 1 : ascii_stretch(s + j, n - j, room, block);
      if (want > u && want <= u + m)
        *cut = j + (want - u - 1);
      u += m;
      j += m;
      *last = j - 1;
      continue;
    }
    if (b >= 0xE2) {
      /* CJK characters (and the like), three bytes and one cluster
       * each, as many as fit. */
      size_t can = (n - j) / 3, room = (fit_bytes - j + 2) / 3;
      if (room < can)
        can = room;
      if (fit_units - u < can)
        can = fit_units - u;
      const unsigned char *q = s + j;
      size_t i = 0;
      while (i < can && cjk3(q)) {
        q += 3;
        i++;
      }
      if (!i)
        break;
      if (want > u && want <= u + i)
        *cut = j + 3 * (want - u - 1);
      u += i;
      j += 3 * i;
      *last = j - 3;
      continue;
    }
    size_t sep = 0;
    if (b == ' ')
      sep = 1;
    else if (block && b == '\n')
      sep = j + 1 < n && s[j + 1] == '\n' ? 2 : 1;
    size_t at = j + sep;
    size_t len = at < n ? plain_len(s + at, n - at) : 0;
    if (!len || u + sep + 1 > fit_units || at >= fit_bytes)
      break;
    /* Each separator byte is a cluster, and so is the character: the
     * clusters start at j, j + 1, ..., at. */
    if (want > u && want <= u + sep + 1)
      *cut = j + (want - u - 1);
    u += sep + 1;
    *last = at;
    j = at + len;
  }
  *units = u;
  return j;
}

/* The code point of the plain character at s. */
static int32_t plain_cp(const unsigned char *s)
{
  if (s[0] < 0x80)
    return s[0];
  if (s[0] < 0xE0)
    return (int32_t)((s[0] & 0x1F) << 6 | (s[1] & 0x3F));
  return (int32_t)((s[0] & 0x0F) << 12 | (s[1] & 0x3F) << 6 | (s[2] & 0x3F));
}

/* After a plain character has been written: copies the plain characters
 * (and single spaces between them) that follow as bytes, one cluster
 * each. It stops before anything the general path must decide, and
 * before the caps, so the result is the same as character by character;
 * it only skips the per-character work on ordinary text. Returns the
 * bytes consumed. */
static size_t plain_run(struct cleaner *c, const unsigned char *s, size_t n)
{
  struct run r = {
    .o = c->len,
    .g = c->graphemes,
    .gmax = c->max ? (size_t)c->max + GB_MARGIN : SIZE_MAX,
    .cp = c->gb.prev,
  };
  bool block = c->mode == TS_TEXT_BLOCK;
  size_t k = 0;
  while (k < n) {
    /* A cluster starting at output offset o needs o + 4 <= limit (as in
     * put_cp). */
    size_t fit_bytes = r.o + 4 <= c->limit ? c->limit - 3 - r.o : 0;
    size_t want = c->max && r.g < c->max ? c->max - r.g : 0;
    size_t units = 0, cut = SIZE_MAX, last = 0;
    size_t m = identity_stretch(s + k, n - k, fit_bytes, r.gmax - r.g, block,
                                want, &units, &cut, &last);
    if (m) {
      memcpy(c->out + r.o, s + k, m);
      if (cut != SIZE_MAX)
        c->cut_at = r.o + cut;
      c->last = r.o + last;
      r.cp = plain_cp(s + k + last);
      r.o += m;
      r.g += units;
      k += m;
      continue;
    }
    /* CR LF, blank lines to collapse: written as the general path
     * would, when a plain character follows. */
    if (block && (s[k] == '\n' || s[k] == '\r')) {
      m = run_breaks(c, &r, s + k, n - k);
      if (m) {
        k += m;
        continue;
      }
    }
    break;
  }
  if (k) {
    /* Both sides of every break above are simple: the segmentation
     * state starts afresh from the last character. */
    c->len = r.o;
    c->graphemes = r.g;
    c->gb.prev = r.cp;
    c->gb.state = 0;
  }
  return k;
}

/* Whether `len` bytes of text are already clean line text made only of
 * plain characters (see plain_char) and single spaces between them, with
 * at most `max` clusters (0: any): then cleaning would return it as it
 * is, and nothing needs to be set up. Each plain character is a cluster
 * of its own and NFC-stable, so counting them counts clusters. */
static bool plain_clean(const unsigned char *s, size_t len, uint32_t max)
{
  int32_t cp;
  size_t k = plain_char(s, len, &cp), g = 1;
  if (!k)
    return false;
  while (k < len) {
    /* Only ASCII can start a stretch (a space only before ASCII). */
    size_t m = 0;
    if (s[k] < 0x80 && (s[k] != ' ' || (k + 1 < len && s[k + 1] < 0x80)))
      m = ascii_stretch(s + k, len - k, len - k, false);
    if (m) {
      k += m;
      g += m;
      continue;
    }
    m = plain_char(s + k, len - k, &cp);
    if (m) {
      k += m;
      g++;
      continue;
    }
    if (s[k] != ' ' || k + 1 >= len ||
        !(m = plain_char(s + k + 1, len - k - 1, &cp)))
      return false;
    k += 1 + m;
    g += 2;
  }
  return max == 0 || g <= max;
}

static void clean_run(struct cleaner *c, const unsigned char *s, size_t n)
{
  size_t i = 0;
  while (i < n && !c->full) {
    int32_t cp;
    size_t adv = 1;
    if (s[i] < 0x80) {
      cp = s[i];
    } else {
      cp = ts_utf8_decode(s + i, n - i, &adv);
      if (cp < 0) {
        c->repaired++;
        cp = 0xFFFD;
      }
    }
    i += adv;
    switch (classify(cp)) {
    case CP_KEEP:
      put_visible(c, cp);
      if (!c->full && (cp < 0x80 || (cp > 0xA0 && cp < 0x300 && cp != 0xAD) ||
                       cjk_simple(cp)))
        i += plain_run(c, s + i, n - i);
      break;
    case CP_DROP:
      break;
    case CP_SPACE:
      c->pend_space = c->started;
      break;
    case CP_NEWLINE:
    case CP_PARAGRAPH:
      if (cp == '\r' && i < n && s[i] == '\n')
        break; /* the LF of CR LF makes the line break */
      if (!c->started)
        break;
      if (c->mode == TS_TEXT_LINE) {
        c->pend_space = true;
      } else {
        c->pend_nl += cp == 0x2029 ? 2 : 1;
        if (c->pend_nl > 2)
          c->pend_nl = 2;
        c->pend_space = false;
      }
      break;
    }
  }
}

/* Whether ASCII `s` is already clean text: printable characters, single
 * spaces (and in block mode single or double line breaks) between them,
 * nothing at either end. */
static bool ascii_clean(const unsigned char *s, size_t len,
                        enum ts_text_mode mode)
{
  if (len == 0)
    return true;
  if (s[0] <= ' ' || s[len - 1] <= ' ')
    return false;
  if (mode == TS_TEXT_LINE)
    return printable_ascii(s[0]) &&
           ascii_stretch(s + 1, len - 1, len - 1, false) == len - 1;
  unsigned prev = 'x';
  size_t nl = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned b = s[i];
    if (b - 0x21u < 0x5Eu) {
      nl = 0;
    } else if (b == ' ') {
      if (prev == ' ' || prev == '\n')
        return false;
    } else if (b == '\n' && mode == TS_TEXT_BLOCK) {
      if (prev == ' ' || ++nl > 2)
        return false;
    } else {
      return false;
    }
    prev = b;
  }
  return true;
}

static const char ellipsis[] = "\xE2\x80\xA6";

/* Input is read in chunks of this many bytes when its length is not
 * known: a 5,000-byte description capped at 400 clusters is then read
 * only as far as needed. */
#define CHUNK 512

/* Makes room for `need` bytes of output (at most the byte cap), moving
 * from the stack buffer to the heap when it outgrows it. */
static bool reserve(struct cleaner *c, const unsigned char *stack,
                    size_t *cap, size_t need)
{
  if (need > TS_NORMALIZE_TEXT_MAX + 16)
    need = TS_NORMALIZE_TEXT_MAX + 16;
  if (need <= *cap)
    return true;
  size_t ncap = *cap * 2 > need ? *cap * 2 : need;
  if (ncap > TS_NORMALIZE_TEXT_MAX + 16)
    ncap = TS_NORMALIZE_TEXT_MAX + 16;
  unsigned char *p =
    c->out == stack ? malloc(ncap) : realloc(c->out, ncap);
  if (!p)
    return false;
  if (c->out == stack)
    memcpy(p, stack, c->len);
  c->out = p;
  *cap = ncap;
  return true;
}

/* The cleaned text of the `len` bytes at `s`, or of the NUL-terminated
 * string `s` when `len` is SIZE_MAX. `same` is `s` when it may be
 * returned unchanged (a NUL-terminated string), else NULL. */
static const char *clean_text(struct ts_arena *arena, const char *s,
                              size_t len, enum ts_text_mode mode,
                              uint32_t max, uint32_t *repaired,
                              const char *same, bool *was_cut)
{
  if (was_cut)
    *was_cut = false;
  const unsigned char *in = (const unsigned char *)s;
  size_t known = len == SIZE_MAX ? strnlen(s, CHUNK) : len;
  bool at_end = len != SIZE_MAX || known < CHUNK;
  if (at_end && known <= TS_NORMALIZE_TEXT_MAX) {
    /* Already clean apart, perhaps, from ASCII spaces at either end
     * (YouTube channel names often end with one): no cleaner needed, only
     * a copy when the input cannot be the result (`same` NULL: a title
     * without its publisher, the text of HTML). */
    size_t from = 0, to = known;
    while (from < to && in[from] == ' ')
      from++;
    while (to > from && in[to - 1] == ' ')
      to--;
    size_t n = to - from;
    if (n == 0)
      return "";
    /* Text with accents or typographic punctuation after an ASCII start
     * ("Canción", "It’s") is often clean too: plain_clean. */
    if (((max == 0 || n <= max) && ascii_clean(in + from, n, mode)) ||
        plain_clean(in + from, n, max)) {
      if (same && n == known)
        return same;
      return ts_arena_strndup(arena, s + from, n);
    }
  }

  unsigned char stack[4096];
  size_t cap = sizeof stack;
  struct cleaner c = {
    .out = stack,
    .limit = TS_NORMALIZE_TEXT_MAX - 4,
    .mode = mode,
    .max = max,
    .gb = {-1, 0},
  };
  c.cut_at = SIZE_MAX;
  size_t pos = 0;
  const char *result = NULL;
  utf8proc_uint8_t *nfc = NULL;
  for (;;) {
    /* A full cleaner reads no further (a capped description is cut
     * before the end of its first chunk). */
    if (c.full)
      break;
    if (!at_end && known - pos < CHUNK) {
      size_t more = strnlen(s + known, CHUNK);
      known += more;
      at_end = more < CHUNK;
    }
    if (pos >= known)
      break;
    size_t take = known - pos;
    if (!at_end) {
      /* Keep a UTF-8 sequence whose lead byte is among the last 3 bytes
       * and whose length reaches past the end within this chunk, and a
       * CR with its LF; take stays >= CHUNK - 4. */
      for (size_t back = 1; back <= 3; back++) {
        unsigned b = in[pos + take - back];
        if (b < 0x80 || b >= 0xC0) {
          size_t seq = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
          if (seq > back)
            take -= back;
          break;
        }
      }
      if (in[pos + take - 1] == '\r')
        take--;
    }
    if (!reserve(&c, stack, &cap, c.len + 3 * take + 16))
      goto done;
    clean_run(&c, in + pos, take);
    pos += take;
  }
  if (repaired)
    *repaired += c.repaired;

  const unsigned char *t = c.out;
  size_t n = c.len;
  size_t count = c.graphemes, cut_at = c.cut_at, last = c.last, fit = n;
  if (c.maybe_not_nfc) {
    utf8proc_ssize_t r = utf8proc_map(t, (utf8proc_ssize_t)n, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0)
      goto done;
    t = nfc;
    n = (size_t)r;
    struct walk w;
    gb_walk(t, n, max, TS_NORMALIZE_TEXT_MAX - 4, &w);
    count = w.count;
    cut_at = w.cut_at;
    last = w.last;
    fit = w.fit;
  }

  bool cut = false;
  size_t keep = n;
  if (max && count > max) {
    keep = cut_at;
    cut = true;
  }
  if (c.byte_full && last < keep) {
    keep = last; /* the last cluster may be incomplete */
    cut = true;
  }
  if (n > TS_NORMALIZE_TEXT_MAX - 4 && fit < keep) {
    keep = fit; /* NFC made the text longer than the byte cap */
    cut = true;
  }
  if (cut)
    while (keep && (t[keep - 1] == ' ' || t[keep - 1] == '\n'))
      keep--;
  if (was_cut)
    *was_cut = cut;

  /* Not cut means all of the input was read: pos is its length. */
  if (!cut && same && n == pos && memcmp(t, in, n) == 0) {
    result = same;
  } else if (!cut && n == 0) {
    result = "";
  } else {
    char *d = ts_arena_alloc(arena, keep + (cut ? 3 : 0) + 1);
    if (d) {
      memcpy(d, t, keep);
      if (cut)
        memcpy(d + keep, ellipsis, 3);
      d[keep + (cut ? 3 : 0)] = '\0';
    }
    result = d;
  }
done:
  free(nfc);
  if (c.out != stack)
    free(c.out);
  return result;
}

const char *ts_normalize_text(struct ts_arena *arena, const char *text,
                              enum ts_text_mode mode, uint32_t max_graphemes,
                              uint32_t *repaired)
{
  if (!text)
    return NULL;
  return clean_text(arena, text, SIZE_MAX, mode, max_graphemes, repaired,
                    text, NULL);
}

const char *ts_normalize_textn(struct ts_arena *arena, const char *bytes,
                               size_t len, enum ts_text_mode mode,
                               uint32_t max_graphemes, uint32_t *repaired)
{
  if (!bytes)
    return NULL;
  return clean_text(arena, bytes, len, mode, max_graphemes, repaired, NULL,
                    NULL);
}

/* ---- Source suffix (NewsAPI) ---------------------------------------- */

static bool ascii_ieq(const char *a, const char *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'A' && x <= 'Z')
      x = (unsigned char)(x + 32);
    if (y >= 'A' && y <= 'Z')
      y = (unsigned char)(y + 32);
    if (x != y)
      return false;
  }
  return true;
}

size_t ts_normalize_strip_source(const char *title, size_t len,
                                 const char *source)
{
  if (!title || !source)
    return len;
  size_t sl = strlen(source);
  while (sl && source[sl - 1] == ' ')
    sl--;
  while (sl && *source == ' ') {
    source++;
    sl--;
  }
  size_t tl = len;
  while (tl && title[tl - 1] == ' ')
    tl--;
  if (sl == 0 || tl < sl + 3 || !ascii_ieq(title + tl - sl, source, sl))
    return len;
  size_t p = tl - sl;
  while (p && title[p - 1] == ' ')
    p--;
  if (p == tl - sl) /* no space between separator and name */
    return len;
  size_t sep;
  if (p >= 1 && (title[p - 1] == '-' || title[p - 1] == '|'))
    sep = 1;
  else if (p >= 3 && (!memcmp(title + p - 3, "\xE2\x80\x93", 3) ||
                      !memcmp(title + p - 3, "\xE2\x80\x94", 3)))
    sep = 3;
  else
    return len;
  size_t q = p - sep;
  if (q == 0 || title[q - 1] != ' ')
    return len;
  while (q && title[q - 1] == ' ')
    q--;
  return q ? q : len;
}

/* ---- HTML to text --------------------------------------------------- */

struct entity {
  const char *name;
  int32_t cp;
};

/* The references trending sources use, and the Latin-1 letters. Sorted
 * by name for the binary search in decode_entity. */
static const struct entity entities[] = {
  {"AElig", 0xC6},   {"Aacute", 0xC1},  {"Agrave", 0xC0},
  {"Auml", 0xC4},    {"Ccedil", 0xC7},  {"Eacute", 0xC9},
  {"Ntilde", 0xD1},  {"Oacute", 0xD3},  {"Ouml", 0xD6},
  {"Uuml", 0xDC},    {"aacute", 0xE1},  {"acirc", 0xE2},
  {"aelig", 0xE6},   {"agrave", 0xE0},  {"amp", '&'},
  {"apos", '\''},    {"aring", 0xE5},   {"atilde", 0xE3},
  {"auml", 0xE4},    {"bdquo", 0x201E}, {"bull", 0x2022},
  {"ccedil", 0xE7},  {"cent", 0xA2},    {"copy", 0xA9},
  {"dagger", 0x2020}, {"deg", 0xB0},    {"divide", 0xF7},
  {"eacute", 0xE9},  {"ecirc", 0xEA},   {"egrave", 0xE8},
  {"emsp", 0x2003},  {"ensp", 0x2002},  {"euml", 0xEB},
  {"euro", 0x20AC},  {"frac12", 0xBD},  {"frac14", 0xBC},
  {"frac34", 0xBE},  {"gt", '>'},       {"hellip", 0x2026},
  {"iacute", 0xED},  {"icirc", 0xEE},   {"iexcl", 0xA1},
  {"igrave", 0xEC},  {"iquest", 0xBF},  {"iuml", 0xEF},
  {"laquo", 0xAB},   {"ldquo", 0x201C}, {"lsaquo", 0x2039},
  {"lsquo", 0x2018}, {"lt", '<'},       {"mdash", 0x2014},
  {"middot", 0xB7},  {"minus", 0x2212}, {"nbsp", 0xA0},
  {"ndash", 0x2013}, {"ntilde", 0xF1},  {"oacute", 0xF3},
  {"ocirc", 0xF4},   {"ograve", 0xF2},  {"oslash", 0xF8},
  {"otilde", 0xF5},  {"ouml", 0xF6},    {"para", 0xB6},
  {"permil", 0x2030}, {"plusmn", 0xB1}, {"pound", 0xA3},
  {"prime", 0x2032}, {"quot", '"'},     {"raquo", 0xBB},
  {"rdquo", 0x201D}, {"reg", 0xAE},     {"rsaquo", 0x203A},
  {"rsquo", 0x2019}, {"sbquo", 0x201A}, {"sect", 0xA7},
  {"shy", 0xAD},     {"szlig", 0xDF},   {"thinsp", 0x2009},
  {"times", 0xD7},   {"trade", 0x2122}, {"uacute", 0xFA},
  {"ucirc", 0xFB},   {"ugrave", 0xF9},  {"uuml", 0xFC},
  {"yen", 0xA5},     {"zwj", 0x200D},   {"zwnj", 0x200C},
};

/* strcmp for the short names of entities and tags, inline: a binary
 * search through bsearch and strcmp cost two calls a step. */
static inline int name_cmp(const char *a, const char *b)
{
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return (unsigned char)*a - (unsigned char)*b;
}

/* What browsers do with &#128; to &#159;: read them as Windows-1252.
 * 0 marks the five undefined bytes (they stay C1 controls and go). */
static const uint16_t cp1252[32] = {
  0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
  0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

static bool is_alpha(unsigned char b)
{
  return (b | 0x20) >= 'a' && (b | 0x20) <= 'z';
}

static bool is_digit(unsigned char b)
{
  return b >= '0' && b <= '9';
}


/* Decodes the character reference at s[0] == '&'. Returns the bytes
 * consumed (0: not a reference, the '&' is literal) and the code point. */
static size_t decode_entity(const unsigned char *s, size_t n, int32_t *cp,
                            uint32_t *repaired)
{
  size_t i = 1;
  if (i < n && s[i] == '#') {
    i++;
    bool hex = i < n && (s[i] | 0x20) == 'x';
    i += hex;
    size_t start = i;
    uint32_t v = 0;
    for (; i < n; i++) {
      int d = hex ? ts_hex_value(s[i]) : (is_digit(s[i]) ? s[i] - '0' : -1);
      if (d < 0)
        break;
      v = v * (hex ? 16u : 10u) + (uint32_t)d;
      if (v > 0x10FFFF)
        v = 0x110000; /* saturate: any longer number is invalid too */
    }
    if (i == start)
      return 0;
    if (i < n && s[i] == ';')
      i++;
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
      (*repaired)++;
      v = 0xFFFD;
    } else if (v >= 0x80 && v <= 0x9F && cp1252[v - 0x80]) {
      v = cp1252[v - 0x80];
    }
    *cp = (int32_t)v;
    return i;
  }
  char name[12];
  size_t k = 0;
  while (i < n && k < sizeof name - 1 && (is_alpha(s[i]) || is_digit(s[i])))
    name[k++] = (char)s[i++];
  if (k == 0 || i >= n || s[i] != ';')
    return 0;
  name[k] = '\0';
  size_t lo = 0, hi = sizeof entities / sizeof entities[0];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = name_cmp(name, entities[mid].name);
    if (c == 0) {
      *cp = entities[mid].cp;
      return i + 1;
    }
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return 0;
}

/* Case-insensitive search for "</name" from s[i]; returns its offset or
 * n. */
static size_t find_end_tag(const unsigned char *s, size_t n, size_t i,
                           const char *name, size_t nl)
{
  for (; i + 2 + nl <= n; i++)
    if (s[i] == '<' && s[i + 1] == '/' &&
        ascii_ieq((const char *)s + i + 2, name, nl) &&
        (i + 2 + nl == n || !is_alpha(s[i + 2 + nl])))
      return i;
  return n;
}

enum tag_effect { TAG_NONE, TAG_LINE, TAG_PARA, TAG_SPACE, TAG_SKIP, TAG_PRE };

struct tag {
  const char *name;
  enum tag_effect effect;
};

static enum tag_effect tag_effect(const char *name)
{
  /* Sorted by name for the binary search below. */
  static const struct tag tags[] = {
    {"address", TAG_PARA},    {"article", TAG_PARA},  {"aside", TAG_PARA},
    {"blockquote", TAG_PARA}, {"br", TAG_LINE},       {"dd", TAG_LINE},
    {"div", TAG_PARA},        {"dl", TAG_PARA},       {"dt", TAG_LINE},
    {"figcaption", TAG_PARA}, {"figure", TAG_PARA},   {"footer", TAG_PARA},
    {"h1", TAG_PARA},         {"h2", TAG_PARA},       {"h3", TAG_PARA},
    {"h4", TAG_PARA},         {"h5", TAG_PARA},       {"h6", TAG_PARA},
    {"header", TAG_PARA},     {"hr", TAG_PARA},       {"iframe", TAG_SKIP},
    {"li", TAG_LINE},         {"main", TAG_PARA},     {"nav", TAG_PARA},
    {"noscript", TAG_SKIP},   {"object", TAG_SKIP},   {"ol", TAG_PARA},
    {"p", TAG_PARA},          {"pre", TAG_PRE},       {"script", TAG_SKIP},
    {"section", TAG_PARA},    {"style", TAG_SKIP},    {"table", TAG_PARA},
    {"td", TAG_SPACE},        {"template", TAG_SKIP}, {"th", TAG_SPACE},
    {"tr", TAG_LINE},         {"ul", TAG_PARA},
  };
  if (!name[0])
    return TAG_NONE;
  size_t lo = 0, hi = sizeof tags / sizeof tags[0];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = name_cmp(name, tags[mid].name);
    if (c == 0)
      return tags[mid].effect;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return TAG_NONE;
}

/* Converts HTML to text with explicit line breaks into `out` (room for
 * n + 16 bytes: every construct shrinks or keeps its size, see below).
 * Returns the length written. */
static size_t html_to_text(const unsigned char *s, size_t n,
                           unsigned char *out, uint32_t *repaired)
{
  size_t o = 0, i = 0;
  bool pre = false;
  while (i < n) {
    unsigned char b = s[i];
    if (b == '&') {
      int32_t cp;
      size_t used = decode_entity(s + i, n - i, &cp, repaired);
      if (used) {
        /* "&#x10000;" is 9 bytes for 4, "&lt;" 4 for 1: never longer. */
        o += ts_utf8_encode(cp, out + o);
        i += used;
      } else {
        out[o++] = b;
        i++;
      }
      continue;
    }
    if (b != '<') {
#ifdef TS_SSE2
      /* Bytes that stay as they are (all but '&', '<' and, outside
       * <pre>, the four below), 16 at a time; `out` has room for 16 past
       * any byte of input, and never gets ahead of it. */
      const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<');
      while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, amp),
                                       _mm_cmpeq_epi8(v, lt));
        if (!pre)
          special = _mm_or_si128(
            special,
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))),
                         _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\f')))));
        unsigned m = (unsigned)_mm_movemask_epi8(special);
        size_t k = m ? (size_t)__builtin_ctz(m) : 16;
        _mm_storeu_si128((__m128i *)(void *)(out + o), v);
        o += k;
        i += k;
        if (k < 16)
          break;
      }
      if (i >= n)
        break;
      b = s[i];
      if (b == '&' || b == '<')
        continue;
#endif
      /* Outside <pre>, HTML source line breaks are only spaces. */
      if (!pre && (b == '\n' || b == '\r' || b == '\t' || b == '\f'))
        b = ' ';
      out[o++] = b;
      i++;
      continue;
    }
    if (i + 3 < n && s[i + 1] == '!' && s[i + 2] == '-' && s[i + 3] == '-') {
      size_t j = i + 4;
      while (j + 2 < n && !(s[j] == '-' && s[j + 1] == '-' && s[j + 2] == '>'))
        j++;
      i = j + 2 < n ? j + 3 : n;
      continue;
    }
    bool closing = i + 1 < n && s[i + 1] == '/';
    size_t j = i + 1 + closing;
    bool decl = i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?');
    if (!decl && (j >= n || !is_alpha(s[j]))) {
      out[o++] = '<'; /* "a < b" is text */
      i++;
      continue;
    }
    char name[16];
    size_t k = 0;
    while (j < n && (is_alpha(s[j]) || is_digit(s[j]))) {
      if (k < sizeof name - 1)
        name[k++] = (char)(s[j] | 0x20);
      j++;
    }
    name[k] = '\0';
    /* Attributes: a '>' inside quotes does not end the tag. */
    while (j < n && s[j] != '>') {
      if (s[j] == '"' || s[j] == '\'') {
        unsigned char q = s[j++];
        while (j < n && s[j] != q)
          j++;
      }
      if (j < n)
        j++;
    }
    i = j < n ? j + 1 : n;
    if (decl)
      continue;
    /* "<br>" (4 bytes) gives 1, "<p>" (3) gives 2: never longer. */
    switch (tag_effect(name)) {
    case TAG_NONE:
      break;
    case TAG_SPACE:
      out[o++] = ' ';
      break;
    case TAG_LINE:
      out[o++] = '\n';
      break;
    case TAG_PARA:
      out[o++] = '\n';
      out[o++] = '\n';
      break;
    case TAG_PRE:
      out[o++] = '\n';
      out[o++] = '\n';
      pre = !closing;
      break;
    case TAG_SKIP:
      if (!closing) {
        size_t end = find_end_tag(s, n, i, name, k);
        while (end < n && s[end] != '>')
          end++;
        i = end < n ? end + 1 : n;
      }
      break;
    }
  }
  return o;
}

const char *ts_normalize_html(struct ts_arena *arena, const char *html,
                              uint32_t max_graphemes, uint32_t *repaired)
{
  if (!html)
    return NULL;
  size_t n = strlen(html);
  unsigned char stack[2048];
  stack[0] = 0; /* gcc cannot see html_to_text fill it */
  unsigned char *text = n + 16 <= sizeof stack ? stack : malloc(n + 16);
  if (!text)
    return NULL;
  uint32_t fixed = 0;
  size_t len = html_to_text((const unsigned char *)html, n, text, &fixed);
  const char *result = clean_text(arena, (const char *)text, len,
                                  TS_TEXT_BLOCK, max_graphemes, &fixed, NULL,
                                  NULL);
  if (repaired)
    *repaired += fixed;
  if (text != stack)
    free(text);
  return result;
}

/* ---- Response-body repair ------------------------------------------- */

/* Whether any of 8 bytes needs a look: non-ASCII, '"', '\\', or (in a
 * string) a control character. */
static bool word_is_plain(const unsigned char *p, bool in_string)
{
  uint64_t w;
  memcpy(&w, p, 8);
  uint64_t hit = (w & HIGHS) | HAS_ZERO(w ^ (ONES * '"')) |
                 HAS_ZERO(w ^ (ONES * '\\'));
  if (in_string)
    hit |= HAS_LESS(w, 0x20);
  return hit == 0;
}

static int hex4(const unsigned char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int d = ts_hex_value(p[i]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

struct repair {
  struct ts_buf out; /* used once the body has to grow */
  bool growing;
  size_t copied; /* body bytes already in `out` */
  enum ts_result result;
};

/* Replaces body bytes [at, at + n) with `with` in the grown copy. */
static void replace(struct repair *r, const unsigned char *body, size_t at,
                    size_t n, const char *with, size_t wn)
{
  if (r->result != TS_OK)
    return;
  if (!r->growing) {
    ts_buf_init(&r->out, 0);
    r->growing = true;
  }
  enum ts_result res = ts_buf_append(&r->out, body + r->copied, at - r->copied);
  if (res == TS_OK)
    res = ts_buf_append(&r->out, with, wn);
  r->copied = at + n;
  r->result = res;
}

enum ts_result ts_normalize_repair_json(struct ts_buf *body, size_t *repaired)
{
  size_t count = 0;
  if (repaired)
    *repaired = 0;
  if (!body->data || body->len == 0)
    return TS_OK;
  unsigned char *s = (unsigned char *)body->data;
  size_t n = body->len, i = 0;
  bool in_string = false;
  struct repair r = {.result = TS_OK};
  while (i < n && r.result == TS_OK) {
    while (i + 8 <= n && word_is_plain(s + i, in_string))
      i += 8;
    if (i >= n)
      break;
    unsigned char b = s[i];
    if (b == '"') {
      in_string = !in_string;
      i++;
    } else if (b == '\\') {
      if (i + 1 >= n)
        break;
      unsigned char e = s[i + 1];
      int v = e == 'u' && i + 6 <= n ? hex4(s + i + 2) : -1;
      bool valid = v >= 0 || (e != 'u' && memchr("\"\\/bfnrt", e, 8));
      if (!valid) {
        /* An invalid escape makes jansson reject the whole body. Inside
         * a string its backslash goes (it is never one before a quote,
         * so strings keep their ends); the rest is then repaired as if
         * the backslash had not been there, which keeps a second
         * repair from finding anything new (a removed control could
         * otherwise join a "\u" to hex digits after it). Outside
         * strings the body is not JSON anyway. */
        if (in_string) {
          replace(&r, s, i, 1, "", 0);
          count++;
        }
        i++;
        continue;
      }
      if (e != 'u') {
        i += 2; /* a simple escape */
        continue;
      }
      if (v >= 0xD800 && v <= 0xDBFF && i + 12 <= n && s[i + 6] == '\\' &&
          s[i + 7] == 'u') {
        int lo = hex4(s + i + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          i += 12; /* a proper surrogate pair */
          continue;
        }
      }
      if (v == 0 || (v >= 0xD800 && v <= 0xDFFF)) {
        /* Same length: fix it in place. */
        memcpy(s + i + 2, "fffd", 4);
        count++;
      }
      i += 6;
    } else if (b < 0x20) {
      /* Only reached inside strings: outside, controls are whitespace. */
      if (!in_string) {
        i++;
        continue;
      }
      const char *esc = b == '\n' ? "\\n" : b == '\r' ? "\\r"
                        : b == '\t' ? "\\t" : "";
      replace(&r, s, i, 1, esc, strlen(esc));
      count++;
      i++;
    } else if (b >= 0x80) {
      size_t adv;
      if (ts_utf8_decode(s + i, n - i, &adv) < 0) {
        replace(&r, s, i, adv, "\xEF\xBF\xBD", 3);
        count++;
      }
      i += adv;
    } else {
      i++;
    }
  }
  if (r.growing) {
    if (r.result == TS_OK)
      r.result = ts_buf_append(&r.out, s + r.copied, n - r.copied);
    if (r.result == TS_OK && r.out.len > body->max)
      r.result = TS_ERR_LIMIT;
    if (r.result != TS_OK) {
      ts_buf_cleanup(&r.out);
      return r.result;
    }
    size_t max = body->max;
    ts_buf_cleanup(body);
    *body = r.out;
    body->max = max;
  }
  if (repaired)
    *repaired = count;
  return TS_OK;
}

/* ---- Items ---------------------------------------------------------- */

void ts_normalize_options_init(struct ts_normalize_options *opts)
{
  opts->title_graphemes = 150;
  opts->summary_graphemes = 400;
  opts->author_graphemes = 100;
  opts->category_graphemes = 64;
  opts->strip_author_suffix = true;
}

/* strcmp(a, b) == 0 for short strings, without a call. */
static inline bool same_str(const char *a, const char *b)
{
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

/* A BCP 47-looking tag: letters, then "-" subtags of letters and digits;
 * at most 35 bytes (the longest registered form). */
static bool language_ok(const char *s)
{
  size_t n = 0, run = 0;
  for (; s[n]; n++) {
    unsigned char b = (unsigned char)s[n];
    if (b == '-') {
      if (run == 0)
        return false;
      run = 0;
    } else if (is_alpha(b) || (is_digit(b) && n > 0)) {
      if (++run > 8)
        return false;
    } else {
      return false;
    }
  }
  return n >= 2 && n <= 35 && run > 0 && s[0] != '-';
}

size_t ts_normalize_video_id_len(const char *id)
{
  if (!id)
    return 0;
  /* [A-Za-z0-9_-] as a bitmap of ASCII: '-', 0-9; A-Z, '_', a-z. */
  static const uint64_t id_bits[2] = {UINT64_C(0x03FF200000000000),
                                      UINT64_C(0x07FFFFFE87FFFFFE)};
  size_t n = 0;
  for (; id[n]; n++) {
    unsigned b = (unsigned char)id[n];
    if (b >= 0x80 || !(id_bits[b >> 6] >> (b & 63) & 1) || n >= 64)
      return 0;
  }
  return n;
}

bool ts_normalize_video_id_ok(const char *id)
{
  return ts_normalize_video_id_len(id) > 0;
}

/* A text field (`len` bytes of *field, the whole string when `len` is
 * SIZE_MAX): NULL stays NULL, and an optional field left empty becomes
 * NULL. Returns false when the arena runs out. */
static bool clean_field(struct ts_arena *arena, const char **field,
                        size_t len, enum ts_text_mode mode, uint32_t max,
                        uint32_t *repaired, uint64_t *truncated)
{
  if (!*field)
    return true;
  bool cut;
  const char *v = clean_text(arena, *field, len, mode, max, repaired,
                             len == SIZE_MAX ? *field : NULL, &cut);
  if (!v)
    return false;
  *truncated += cut;
  *field = *v ? v : NULL;
  return true;
}

static enum ts_result clean_url(struct ts_arena *arena, const char **field,
                                uint64_t *rejected)
{
  if (!*field)
    return TS_OK;
  const char *v = NULL;
  enum ts_result result = ts_url_canonical(arena, *field, &v);
  if (result != TS_OK)
    return result;
  if (!v)
    (*rejected)++;
  *field = v;
  return TS_OK;
}

enum ts_result ts_normalize_item(struct ts_batch *batch, struct ts_item *item,
                                 const struct ts_normalize_options *opts,
                                 struct ts_normalize_stats *stats,
                                 bool *usable)
{
  struct ts_normalize_options defaults;
  if (!opts) {
    ts_normalize_options_init(&defaults);
    opts = &defaults;
  }
  struct ts_normalize_stats local = {0};
  struct ts_normalize_stats *st = stats ? stats : &local;
  struct ts_arena *arena = &batch->arena;
  uint32_t repaired = 0;
  st->items++;

  size_t title_len = SIZE_MAX;
  if (item->title && opts->strip_author_suffix &&
      item->kind == TS_ITEM_STORY && item->author) {
    size_t full = strlen(item->title);
    title_len = ts_normalize_strip_source(item->title, full, item->author);
    if (title_len == full)
      title_len = SIZE_MAX;
  }
  if (!clean_field(arena, &item->title, title_len, TS_TEXT_LINE,
                   opts->title_graphemes, &repaired, &st->truncated) ||
      !clean_field(arena, &item->summary, SIZE_MAX, TS_TEXT_BLOCK,
                   opts->summary_graphemes, &repaired, &st->truncated) ||
      !clean_field(arena, &item->author, SIZE_MAX, TS_TEXT_LINE,
                   opts->author_graphemes, &repaired, &st->truncated) ||
      !clean_field(arena, &item->category, SIZE_MAX, TS_TEXT_LINE,
                   opts->category_graphemes, &repaired, &st->truncated))
    return TS_ERR_NOMEM;

  enum ts_result result;
  if ((result = clean_url(arena, &item->url, &st->urls_rejected)) ||
      (result = clean_url(arena, &item->discussion_url,
                          &st->urls_rejected)) ||
      (result = clean_url(arena, &item->thumbnail, &st->urls_rejected)))
    return result;
  if (!item->url)
    item->url = item->discussion_url;
  if (!item->thumbnail || item->thumb_width < 0 || item->thumb_height < 0)
    item->thumb_width = item->thumb_height = 0;

  if (item->language && !language_ok(item->language))
    item->language = NULL;
  if (item->live && !same_str(item->live, "live") &&
      !same_str(item->live, "upcoming"))
    item->live = NULL;
  int64_t *counts[] = {&item->views, &item->likes, &item->comments,
                       &item->score, &item->duration_s};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
    if (*counts[i] < 0)
      *counts[i] = TS_UNKNOWN;

  st->repaired += repaired;
  bool ok = item->title && *item->title && item->url &&
            item->npositions > 0 && item->positions &&
            !same_str(item->title, "[Removed]") &&
            (item->kind != TS_ITEM_VIDEO || ts_normalize_video_id_ok(item->id));
  if (!ok)
    st->dropped++;
  *usable = ok;
  item->merged = item->merged ? item->merged : 1;
  return TS_OK;
}

/* Asks the CPU to start loading memory that will be read soon. Items'
 * strings are scattered over the arena and cold by the time normalize
 * runs; fetching the next items' strings while this one is worked on
 * hides most of that latency. A no-op where the builtin is missing. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

static void prefetch_item(const struct ts_item *it)
{
  const char *const strings[] = {it->title, it->url, it->thumbnail, it->id,
                                 it->author, it->discussion_url};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (strings[i])
      PREFETCH(strings[i]);
  if (it->summary)
    for (int line = 0; line < 8; line++)
      PREFETCH(it->summary + 64 * line);
  if (it->positions)
    PREFETCH(it->positions);
}

/* The status of (source, region) if there is one, without creating it. */
static struct ts_status *find_status(struct ts_batch *batch,
                                     const char *source, const char *region)
{
  for (size_t i = 0; i < batch->nstatuses; i++)
    if (!strcmp(batch->statuses[i].source, source) &&
        !strcmp(batch->statuses[i].region, region))
      return &batch->statuses[i];
  return NULL;
}

enum ts_result ts_normalize_batch(struct ts_batch *batch,
                                  const struct ts_normalize_options *opts,
                                  struct ts_normalize_stats *stats,
                                  struct ts_error *err)
{
  struct ts_normalize_options defaults;
  if (!opts) {
    ts_normalize_options_init(&defaults);
    opts = &defaults;
  }
  struct ts_normalize_stats local = {0};
  struct ts_normalize_stats *st = stats ? stats : &local;
  size_t kept = 0;
  for (size_t i = 0; i < batch->nitems; i++) {
    struct ts_item *item = &batch->items[i];
    if (i + 2 < batch->nitems)
      prefetch_item(&batch->items[i + 2]);
    uint64_t repaired_before = st->repaired;
    bool usable;
    enum ts_result result = ts_normalize_item(batch, item, opts, st, &usable);
    if (result != TS_OK) {
      /* Keep the batch consistent: the items not yet looked at stay. */
      memmove(&batch->items[kept], item,
              (batch->nitems - i) * sizeof *item);
      batch->nitems = kept + (batch->nitems - i);
      return ts_error_set(err, result, "normalize: out of memory");
    }
    uint32_t repaired = (uint32_t)(st->repaired - repaired_before);
    const char *source = NULL, *region = "";
    if (repaired || !usable) {
      source = item->source;
      if (item->npositions && item->positions) {
        source = item->positions[0].source;
        region = item->positions[0].region;
      }
    }
    if (source) {
      struct ts_status *status = find_status(batch, source, region);
      if (!status) {
        /* Keep `item` valid: statuses are a separate array. */
        status = ts_batch_status(batch, source, source, region);
        if (!status)
          return ts_error_set(err, TS_ERR_NOMEM, "normalize: out of memory");
      }
      status->repaired += repaired;
      if (!usable) {
        status->skipped++;
        if (status->items)
          status->items--;
      }
    }
    if (usable) {
      if (kept != i)
        batch->items[kept] = *item;
      kept++;
    }
  }
  batch->nitems = kept;
  return TS_OK;
}

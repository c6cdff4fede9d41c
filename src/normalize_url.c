/*
 * URL canonicalization (see ts_normalize_url in normalize.h for the
 * rules) and the looser key dedupe compares.
 *
 * One left-to-right pass without regular expressions or allocation:
 * the URL is at most TS_NORMALIZE_URL_MAX bytes, and percent-encoding at
 * most triples it, so the output fits a stack buffer. Only the result is
 * copied into the arena, and not even that when the URL was already
 * canonical.
 */
#include <string.h>

#include "normalize.h"
#include "normalize_internal.h"

#define OUT_MAX (3 * TS_NORMALIZE_URL_MAX + 64)

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
/* Whether any byte of `w` is zero / below n (n <= 128); bytes >= 0x80
 * never count as below n. */
#define HAS_ZERO(w) (((w) - ONES) & ~(w) & HIGHS)
#define HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)

/* Where the parts of a canonical URL are in the output buffer. */
struct url {
  unsigned char *out;
  size_t len;
  bool https;
  size_t host, host_len;
  size_t port, port_len; /* digits of a non-default port; 0 when none */
  size_t path, path_len;
  size_t query, query_len; /* after the '?'; query_len 0 when none */
};

static unsigned char lower(unsigned char b)
{
  return b >= 'A' && b <= 'Z' ? (unsigned char)(b + 32) : b;
}

static bool ieq(const unsigned char *a, const char *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (lower(a[i]) != (unsigned char)b[i])
      return false;
  return true;
}

static int hexval(unsigned char b)
{
  if (b >= '0' && b <= '9')
    return b - '0';
  b = lower(b);
  return b >= 'a' && b <= 'f' ? b - 'a' + 10 : -1;
}

static const char hexdig[] = "0123456789ABCDEF";

/* Byte classes, one table lookup each.
 * URL_OK: may stay as it is in a path or query: RFC 3986's unreserved
 * (A-Z a-z 0-9 - . _ ~) and sub-delims (! $ & ' ( ) * + , ; =), ':', '@',
 * '/', '?', and '[' ']' which browsers leave alone in queries; every
 * other byte is percent-encoded.
 * URL_HOST: may appear in an already canonical host: a-z 0-9 - .
 * URL_PLAIN: URL_OK and none of the bytes that end or split a path or
 * query part ('/', '?', '&', '='; '#' is not URL_OK): the bytes a quick
 * scan can step over without looking twice. */
enum { URL_OK = 1, URL_HOST = 2, URL_PLAIN = 4 };

static const unsigned char url_class[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 5, 0, 0, 5, 0, 1, 5, 5, 5, 5, 5, 5, 7, 7, 1,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 5, 5, 0, 1, 0, 1,
  5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
  5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 5, 0, 5,
  0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 5, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static inline bool url_byte_ok(unsigned char b)
{
  return url_class[b] & URL_OK;
}

/* Copies s[0..n) percent-normalized: escapes with upper-case hex, a
 * stray '%' as "%25", other bytes outside url_byte_ok encoded. */
static size_t put_encoded(unsigned char *out, size_t o, const unsigned char *s,
                          size_t n)
{
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && url_byte_ok(s[j]))
      j++;
    memcpy(out + o, s + i, j - i);
    o += j - i;
    if (j >= n)
      break;
    unsigned char b = s[j];
    if (b == '%') {
      int h = j + 2 < n ? hexval(s[j + 1]) : -1;
      int l = h >= 0 ? hexval(s[j + 2]) : -1;
      out[o++] = '%';
      if (l >= 0) {
        out[o++] = (unsigned char)hexdig[h];
        out[o++] = (unsigned char)hexdig[l];
        j += 2;
      } else {
        out[o++] = '2';
        out[o++] = '5';
      }
    } else {
      out[o++] = '%';
      out[o++] = (unsigned char)hexdig[b >> 4];
      out[o++] = (unsigned char)hexdig[b & 15];
    }
    i = j + 1;
  }
  return o;
}

/* 1 for a "." segment, 2 for "..", also percent-encoded ("%2e"). */
static int dot_segment(const unsigned char *s, size_t n)
{
  int dots = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] == '.') {
      i++;
    } else if (i + 2 < n && s[i] == '%' &&
               s[i + 1] == '2' && lower(s[i + 2]) == 'e') {
      i += 3;
    } else {
      return 0;
    }
    if (++dots > 2)
      return 0;
  }
  return dots;
}

#define NAME(s) {s, sizeof s - 1}

static bool tracking_param(const unsigned char *name, size_t n)
{
  static const struct {
    const char *name;
    size_t len;
  } names[] = {
    NAME("fbclid"), NAME("gclid"), NAME("gclsrc"), NAME("dclid"),
    NAME("gbraid"), NAME("wbraid"), NAME("msclkid"), NAME("yclid"),
    NAME("twclid"), NAME("ttclid"), NAME("li_fat_id"), NAME("igshid"),
    NAME("igsh"), NAME("mc_cid"), NAME("mc_eid"), NAME("_ga"), NAME("_gl"),
    NAME("_hsenc"), NAME("_hsmi"), NAME("mkt_tok"), NAME("ref"),
    NAME("ref_src"), NAME("ref_url"), NAME("at_medium"),
    NAME("at_campaign"), NAME("at_custom1"), NAME("at_custom2"),
    NAME("at_custom3"), NAME("at_custom4"), NAME("cmpid"), NAME("ocid"),
    NAME("s_cid"), NAME("smid"), NAME("wt.mc_id"), NAME("oly_anon_id"),
    NAME("oly_enc_id"), NAME("vero_id"), NAME("rb_clickid"),
  };
  if (n > 4 && ieq(name, "utm_", 4))
    return true;
  if (n < 3 || n > 11)
    return false;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].len == n && ieq(name, names[i].name, n))
      return true;
  return false;
}

static bool canon(const unsigned char *in, size_t n, struct url *u,
                  int depth);

/* The article URL inside an older Google News id ("CBMi..."): base64url
 * of a protobuf whose field 4 (tag byte 0x22) is the URL. */
static bool google_news(const unsigned char *id, size_t n, struct url *u)
{
  unsigned char bin[TS_NORMALIZE_URL_MAX];
  size_t bn = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n && id[i] != '='; i++) {
    unsigned char c = id[i];
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-' || c == '+' ? 62
            : c == '_' || c == '/' ? 63
                                   : -1;
    if (v < 0)
      return false;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bin[bn++] = (unsigned char)(acc >> bits);
    }
  }
  for (size_t i = 0; i + 2 < bn; i++) {
    if (bin[i] != 0x22)
      continue;
    size_t len = bin[i + 1], at = i + 2;
    if (len & 0x80) {
      len = (len & 0x7F) | ((size_t)bin[i + 2] << 7);
      at++;
    }
    if (at + len > bn || len < 8)
      continue;
    if (!ieq(bin + at, "http://", 7) && !ieq(bin + at, "https://", 8))
      continue;
    return canon(bin + at, len, u, 1);
  }
  return false;
}

static bool canon(const unsigned char *in, size_t n, struct url *u,
                  int depth)
{
  while (n && *in <= ' ') {
    in++;
    n--;
  }
  while (n && in[n - 1] <= ' ')
    n--;
  if (n == 0 || n > TS_NORMALIZE_URL_MAX)
    return false;
  /* No space, control, DEL or backslash anywhere; 8 bytes at a time. */
  size_t v = 0;
  for (; v + 8 <= n; v += 8) {
    uint64_t w;
    memcpy(&w, in + v, 8);
    if (HAS_LESS(w, 0x21) | HAS_ZERO(w ^ (ONES * 0x7F)) |
        HAS_ZERO(w ^ (ONES * '\\')))
      return false;
  }
  for (; v < n; v++)
    if (in[v] <= ' ' || in[v] == 0x7F || in[v] == '\\')
      return false;

  unsigned char *out = u->out;
  size_t p, o;
  if (n > 7 && ieq(in, "http://", 7)) {
    u->https = false;
    p = 7;
  } else if (n > 8 && ieq(in, "https://", 8)) {
    u->https = true;
    p = 8;
  } else {
    return false;
  }
  memcpy(out, u->https ? "https://" : "http://", p);
  o = p;

  /* Authority: [userinfo@]host[:port] up to '/', '?' or '#'. */
  size_t a = p;
  while (a < n && in[a] != '/' && in[a] != '?' && in[a] != '#')
    a++;
  if (memchr(in + p, '@', a - p))
    return false;
  size_t host_end = a, port_at = a;
  if (in[p] == '[') {
    const unsigned char *close = memchr(in + p, ']', a - p);
    if (!close)
      return false;
    host_end = (size_t)(close - in) + 1;
    if (host_end < a && in[host_end] != ':')
      return false;
    port_at = host_end;
    for (size_t i = p + 1; i + 1 < host_end; i++)
      if (hexval(in[i]) < 0 && in[i] != ':' && in[i] != '.')
        return false;
  } else {
    const unsigned char *colon = memchr(in + p, ':', a - p);
    if (colon)
      host_end = port_at = (size_t)(colon - in);
  }
  if (host_end == p || in[p] == '.')
    return false;
  u->host = o;
  for (size_t i = p; i < host_end; i++) {
    unsigned char b = in[i];
    if (b >= 0x80) {
      size_t adv;
      if (ts_utf8_decode(in + i, host_end - i, &adv) < 0)
        return false;
      memcpy(out + o, in + i, adv);
      o += adv;
      i += adv - 1;
      continue;
    }
    if (b == '.' && i + 1 < host_end && in[i + 1] == '.')
      return false;
    if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
          (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' ||
          (in[p] == '[' && (b == '[' || b == ']' || b == ':'))))
      return false;
    out[o++] = lower(b);
  }
  u->host_len = o - u->host;
  u->port = 0;
  u->port_len = 0;
  if (port_at < a) {
    size_t digits = a - port_at - 1;
    const unsigned char *d = in + port_at + 1;
    uint32_t port = 0;
    if (digits > 5)
      return false;
    for (size_t i = 0; i < digits; i++) {
      if (d[i] < '0' || d[i] > '9')
        return false;
      port = port * 10 + (uint32_t)(d[i] - '0');
    }
    if (digits && (port == 0 || port > 65535))
      return false;
    if (digits && port != (u->https ? 443u : 80u)) {
      out[o++] = ':';
      u->port = o;
      char tmp[6];
      int k = 0;
      for (; port; port /= 10)
        tmp[k++] = (char)('0' + port % 10);
      while (k)
        out[o++] = (unsigned char)tmp[--k];
      u->port_len = o - u->port;
    }
  }

  /* Path, with dot segments resolved. */
  size_t path_end = a;
  while (path_end < n && in[path_end] != '?' && in[path_end] != '#')
    path_end++;
  u->path = o;
  if (a < path_end) {
    size_t i = a + 1;
    for (;;) {
      size_t seg = i;
      while (i < path_end && in[i] != '/')
        i++;
      bool last = i >= path_end;
      int dots = dot_segment(in + seg, i - seg);
      if (dots == 2) {
        while (o > u->path && out[o - 1] != '/')
          o--;
        if (o > u->path)
          o--;
      }
      if (dots == 0) {
        out[o++] = '/';
        o = put_encoded(out, o, in + seg, i - seg);
      } else if (last) {
        out[o++] = '/';
      }
      if (last)
        break;
      i++;
    }
  }
  if (o == u->path)
    out[o++] = '/';
  u->path_len = o - u->path;

  /* Query without tracking or empty parameters. */
  bool google = u->host_len == 15 &&
                !memcmp(out + u->host, "news.google.com", 15);
  u->query = o + 1;
  u->query_len = 0;
  if (path_end < n && in[path_end] == '?') {
    size_t i = path_end + 1;
    bool first = true;
    while (i < n && in[i] != '#') {
      size_t start = i, name_end = 0;
      while (i < n && in[i] != '&' && in[i] != '#') {
        if (!name_end && in[i] == '=')
          name_end = i;
        i++;
      }
      size_t name_len = (name_end ? name_end : i) - start;
      bool drop = i == start || tracking_param(in + start, name_len) ||
                  (google && name_len == 2 && ieq(in + start, "oc", 2));
      if (!drop) {
        out[o++] = first ? '?' : '&';
        first = false;
        o = put_encoded(out, o, in + start, i - start);
      }
      if (i < n && in[i] == '&')
        i++;
    }
    if (!first)
      u->query_len = o - u->query;
  }
  /* The cap holds for the canonical form too (percent-encoding can
   * triple a URL), so that every canonical URL is accepted again. */
  if (o > TS_NORMALIZE_URL_MAX)
    return false;
  u->len = o;

  if (google && depth == 0) {
    static const char *const prefixes[] = {"/rss/articles/", "/articles/",
                                           "/__i/rss/rd/articles/"};
    const unsigned char *path = out + u->path;
    for (size_t k = 0; k < 3; k++) {
      size_t pl = strlen(prefixes[k]);
      if (u->path_len <= pl || memcmp(path, prefixes[k], pl))
        continue;
      size_t idn = 0;
      while (pl + idn < u->path_len && path[pl + idn] != '/')
        idn++;
      /* Decode from the input: the output buffer is about to be reused
       * for the article URL. */
      unsigned char id[TS_NORMALIZE_URL_MAX];
      memcpy(id, path + pl, idn);
      struct url saved = *u;
      if (google_news(id, idn, u))
        return true;
      *u = saved;
      /* google_news may have written into out: rebuild. */
      return canon(in, n, u, 1);
    }
  }
  return true;
}

#ifdef TS_SSE2
/* 16 bytes of a URL at a time, for quick_canon's scans. A window at p
 * has bit i for byte p + i; bits for bytes at or past the end are set in
 * `end` (and in no class), so every scan stops there. Near the end the
 * window is the last 16 bytes, shifted; a URL shorter than 16 bytes is
 * copied into a padded buffer. */
struct url_window {
  __m128i v;
  unsigned shift, end;
};

static inline void url_window(const unsigned char *in, size_t p, size_t n,
                              struct url_window *w)
{
  if (p + 16 <= n) {
    w->v = _mm_loadu_si128((const __m128i *)(const void *)(in + p));
    w->shift = 0;
    w->end = 0;
    return;
  }
  if (n >= 16) {
    w->v = _mm_loadu_si128((const __m128i *)(const void *)(in + n - 16));
    w->shift = (unsigned)(16 - (n - p));
  } else {
    unsigned char pad[16] = {0};
    memcpy(pad, in, n);
    w->v = _mm_loadu_si128((const __m128i *)(const void *)pad);
    w->shift = (unsigned)p;
  }
  w->end = 0xFFFFu << (n - p) & 0xFFFF;
}

static inline unsigned url_mask(const struct url_window *w, __m128i m)
{
  return ((unsigned)_mm_movemask_epi8(m) >> w->shift) & ~w->end & 0xFFFF;
}

/* Bytes lo..hi (unsigned), as a byte mask. */
static inline __m128i url_range(__m128i v, int lo, int hi)
{
  __m128i t = _mm_sub_epi8(v, _mm_set1_epi8((char)(lo + 0x80)));
  return _mm_cmplt_epi8(t, _mm_set1_epi8((char)(hi - lo + 1 - 0x80)));
}

static inline __m128i url_eq(__m128i v, int c)
{
  return _mm_cmpeq_epi8(v, _mm_set1_epi8((char)c));
}

/* URL_HOST: a-z 0-9 - . */
static inline unsigned url_host_mask(const struct url_window *w)
{
  __m128i v = w->v;
  return url_mask(w, _mm_or_si128(_mm_or_si128(url_range(v, 'a', 'z'),
                                               url_range(v, '0', '9')),
                                  url_range(v, '-', '.')));
}

/* URL_OK (see url_class), without '?' unless `query`. */
static inline unsigned url_ok_mask(const struct url_window *w, bool query)
{
  __m128i v = w->v;
  __m128i m = _mm_or_si128(url_range(v, 0x26, 0x3B), url_range(v, 0x40, 0x5B));
  m = _mm_or_si128(m, url_range(v, 'a', 'z'));
  m = _mm_or_si128(m, _mm_or_si128(url_eq(v, '!'), url_eq(v, '$')));
  m = _mm_or_si128(m, _mm_or_si128(url_eq(v, '='), url_eq(v, ']')));
  m = _mm_or_si128(m, _mm_or_si128(url_eq(v, '_'), url_eq(v, '~')));
  if (query)
    m = _mm_or_si128(m, url_eq(v, '?'));
  return url_mask(w, m);
}

static inline unsigned first_bit(unsigned m)
{
  return (unsigned)__builtin_ctz(m);
}
#endif

/* The canonical form of the common URLs in one pass, without canon():
 * lower-case http(s) scheme and host without port or userinfo, a
 * non-empty path of bytes that stay as they are (no '%', whose hex case
 * may need fixing, and no dot segment), a query and a fragment. Tracking
 * and empty parameters and the fragment are dropped while copying into
 * u->out (room for n bytes). False means "take the full path", never
 * "rejected". *same: the URL was already canonical. */
static bool quick_canon(const unsigned char *in, size_t n, struct url *u,
                        bool *same)
{
  size_t p;
  if (n > 8 && !memcmp(in, "https://", 8))
    p = 8;
  else if (n > 7 && !memcmp(in, "http://", 7))
    p = 7;
  else
    return false;
  u->https = p == 8;
  u->host = p;
#ifdef TS_SSE2
  /* The host ends at its first byte outside URL_HOST, which the loop
   * below checks is a '/'; no ".." before it. */
  for (;;) {
    struct url_window w;
    url_window(in, p, n, &w);
    unsigned stop = ~url_host_mask(&w) & 0xFFFF;
    unsigned dots = url_mask(&w, url_eq(w.v, '.'));
    unsigned before = stop ? (1u << first_bit(stop)) - 1 : 0xFFFF;
    if (dots & (dots << 1 | (in[p - 1] == '.')) & before)
      return false;
    if (stop) {
      p += first_bit(stop);
      break;
    }
    p += 16;
  }
#endif
  for (; p < n && in[p] != '/'; p++)
    if (!(url_class[in[p]] & URL_HOST) || (in[p] == '.' && in[p - 1] == '.'))
      return false;
  u->host_len = p - u->host;
  if (p == u->host || p >= n || in[u->host] == '.' || in[u->host] == '-')
    return false;
  if (u->host_len == 15 && !memcmp(in + u->host, "news.google.com", 15))
    return false; /* redirects: see canon */
  u->port = u->port_len = 0;
  u->path = p;
#ifdef TS_SSE2
  /* Up to the first byte the loop below must look at: one outside
   * URL_OK, a '?', or a '/' before a '.'. A '/' that ends a window waits
   * for the next one. */
  for (;;) {
    struct url_window w;
    url_window(in, p, n, &w);
    unsigned slash = url_mask(&w, url_eq(w.v, '/'));
    unsigned dot = url_mask(&w, url_eq(w.v, '.'));
    unsigned look = (~url_ok_mask(&w, false) & 0xFFFF) | (slash & dot >> 1);
    if (look) {
      p += first_bit(look);
      break;
    }
    p += slash & 0x8000 ? 15 : 16;
  }
#endif
  while (p < n) {
    while (p < n && (url_class[in[p]] & URL_PLAIN))
      p++;
    if (p >= n || in[p] == '?' || in[p] == '#')
      break;
    if (in[p] == '/' ? p + 1 < n && in[p + 1] == '.' : !url_byte_ok(in[p]))
      return false; /* maybe a dot segment, or a byte to encode */
    p++;
  }
  u->path_len = p - u->path;
  memcpy(u->out, in, p);
  size_t o = p;
  u->query = o + 1;
  u->query_len = 0;
  if (p < n && in[p] == '?') {
    p++;
    bool first = true;
    while (p < n && in[p] != '#') {
      size_t start = p, name_end = 0;
#ifdef TS_SSE2
      /* Up to the parameter's end ('&', '#', or a byte outside URL_OK,
       * which the loop below rejects), noting its first '='. */
      for (;;) {
        struct url_window w;
        url_window(in, p, n, &w);
        unsigned stop = (~url_ok_mask(&w, true) & 0xFFFF) |
                        url_mask(&w, url_eq(w.v, '&'));
        unsigned eq = url_mask(&w, url_eq(w.v, '='));
        unsigned before = stop ? (1u << first_bit(stop)) - 1 : 0xFFFF;
        if (!name_end && (eq & before))
          name_end = p + first_bit(eq & before);
        if (stop) {
          p += first_bit(stop);
          break;
        }
        p += 16;
      }
#endif
      for (; p < n && in[p] != '&' && in[p] != '#'; p++) {
        unsigned char b = in[p];
        if (!url_byte_ok(b))
          return false;
        if (!name_end && b == '=')
          name_end = p;
      }
      if (p > start &&
          !tracking_param(in + start, (name_end ? name_end : p) - start)) {
        u->out[o++] = first ? '?' : '&';
        first = false;
        memcpy(u->out + o, in + start, p - start);
        o += p - start;
      }
      if (p < n && in[p] == '&')
        p++;
    }
    if (!first)
      u->query_len = o - u->query;
  }
  /* Whatever follows is the fragment: its bytes still may not be
   * spaces, controls or backslashes (canon rejects those anywhere). */
  for (; p < n; p++)
    if (in[p] <= ' ' || in[p] == 0x7F || in[p] == '\\')
      return false;
  u->len = o;
  *same = o == n;
  return true;
}

enum ts_result ts_url_canonical(struct ts_arena *arena, const char *url,
                                const char **result)
{
  *result = NULL;
  if (!url)
    return TS_OK;
  size_t n = strlen(url);
  unsigned char buf[OUT_MAX];
  struct url u = {.out = buf};
  bool same = false;
  if (!(n <= TS_NORMALIZE_URL_MAX &&
        quick_canon((const unsigned char *)url, n, &u, &same)) &&
      !canon((const unsigned char *)url, n, &u, 0))
    return TS_OK;
  if (same || (u.len == n && !memcmp(buf, url, n))) {
    *result = url;
    return TS_OK;
  }
  char *copy = ts_arena_strndup(arena, (const char *)buf, u.len);
  if (!copy)
    return TS_ERR_NOMEM;
  *result = copy;
  return TS_OK;
}

const char *ts_normalize_url(struct ts_arena *arena, const char *url)
{
  const char *result;
  ts_url_canonical(arena, url, &result);
  return result;
}

static bool unreserved(unsigned char b)
{
  return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
         (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' ||
         b == '~';
}

/* Copies canonical path or query bytes, decoding escapes of unreserved
 * characters (the canonical form has upper-case hex escapes only). */
static size_t put_decoded(unsigned char *out, size_t o, const unsigned char *s,
                          size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n) {
      unsigned char b =
        (unsigned char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      if (unreserved(b)) {
        out[o++] = b;
        i += 2;
        continue;
      }
    }
    out[o++] = s[i];
  }
  return o;
}

/* ts_normalize_url_key, and with `borrow` ts_normalize_url_key_ref. */
static enum ts_result url_key(struct ts_arena *arena, const char *url,
                              bool borrow, const char **result)
{
  *result = NULL;
  if (!url)
    return TS_OK;
  unsigned char buf[OUT_MAX];
  struct url u = {.out = buf};
  const unsigned char *in = (const unsigned char *)url;
  size_t n = strlen(url);
  bool same = false;
  if (!(n <= TS_NORMALIZE_URL_MAX && quick_canon(in, n, &u, &same)) &&
      !canon(in, n, &u, 0))
    return TS_OK;
  const unsigned char *buf_in = u.out;
  const unsigned char *host = buf_in + u.host;
  size_t hl = u.host_len;
  size_t skip = u.host;
  if (hl > 4 && !memcmp(host, "www.", 4) && memchr(host + 4, '.', hl - 4)) {
    host += 4;
    hl -= 4;
    skip += 4;
  }
  /* The quick path's canonical URL is the input, has no port and no
   * escape: the key is its end unless a dot or slash goes from the
   * middle. */
  if (borrow && same && host[hl - 1] != '.' &&
      !(u.path_len > 1 && buf_in[u.path + u.path_len - 1] == '/')) {
    *result = url + skip;
    return TS_OK;
  }
  /* The key is never longer than the canonical URL. */
  char *key = ts_arena_alloc(arena, u.len + 1);
  if (!key)
    return TS_ERR_NOMEM;
  unsigned char *k = (unsigned char *)key;
  size_t o = 0;
  if (hl > 1 && host[hl - 1] == '.')
    hl--;
  memcpy(k, host, hl);
  o = hl;
  if (u.port_len) {
    k[o++] = ':';
    memcpy(k + o, buf_in + u.port, u.port_len);
    o += u.port_len;
  }
  size_t pl = u.path_len;
  if (pl > 1 && buf_in[u.path + pl - 1] == '/')
    pl--;
  o = put_decoded(k, o, buf_in + u.path, pl);
  if (u.query_len) {
    k[o++] = '?';
    o = put_decoded(k, o, buf_in + u.query, u.query_len);
  }
  k[o] = '\0';
  *result = key;
  return TS_OK;
}

enum ts_result ts_normalize_url_key(struct ts_arena *arena, const char *url,
                                    const char **key)
{
  return url_key(arena, url, false, key);
}

enum ts_result ts_normalize_url_key_ref(struct ts_arena *arena,
                                        const char *url, const char **key)
{
  return url_key(arena, url, true, key);
}

/*
 * Short strings built in a fixed-size array, without snprintf.
 *
 * A page's data has a dozen small strings per item (links, labels, dates,
 * "3 h ago"), and a large site builds 70,000 cards: parsing a format for
 * each was a few percent of a render. These append pieces instead. Like
 * snprintf, they truncate at the array's end and always leave it
 * NUL-terminated.
 *
 *   char url[64];
 *   struct ts_cat c = ts_cat_start(url, sizeof url);
 *   ts_cat_str(&c, "regions/");
 *   ts_cat_str(&c, code);
 *   ts_cat_str(&c, ".html");
 */
#ifndef TS_CAT_H
#define TS_CAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ts_cat {
  char *p;   /* where the next byte goes (always at a NUL) */
  char *end; /* the last byte of the array, kept for the NUL */
};

/* `size` must be at least 1. */
static inline struct ts_cat ts_cat_start(char *out, size_t size)
{
  out[0] = '\0';
  return (struct ts_cat){out, out + size - 1};
}

/* Appends at most `n` bytes of `s` (fewer if the array is full). */
static inline void ts_cat_strn(struct ts_cat *c, const char *s, size_t n)
{
  size_t room = (size_t)(c->end - c->p);
  if (n > room)
    n = room;
  memcpy(c->p, s, n);
  c->p += n;
  *c->p = '\0';
}

static inline void ts_cat_str(struct ts_cat *c, const char *s)
{
  ts_cat_strn(c, s, strlen(s));
}

/* Decimal digits of `v`, zero-padded to at least `width` (at most 20). */
static inline void ts_cat_uint(struct ts_cat *c, uint64_t v, int width)
{
  char tmp[20];
  int n = 0;
  do {
    tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < 20);
  while (n < width && n < 20)
    tmp[sizeof tmp - 1 - n++] = '0';
  ts_cat_strn(c, tmp + sizeof tmp - n, (size_t)n);
}

static inline void ts_cat_int(struct ts_cat *c, int64_t v)
{
  if (v < 0) {
    ts_cat_strn(c, "-", 1);
    ts_cat_uint(c, (uint64_t)0 - (uint64_t)v, 0);
  } else {
    ts_cat_uint(c, (uint64_t)v, 0);
  }
}

#endif

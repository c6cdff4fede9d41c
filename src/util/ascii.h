/*
 * ASCII character tests that do not depend on the locale (ctype's do), for
 * the parsers of URLs, JSON and HTTP requests.
 */
#ifndef TS_ASCII_H
#define TS_ASCII_H

/* The value of a hexadecimal digit, or -1. */
static inline int ts_hex_value(unsigned char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20; /* ASCII lower case */
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

#endif

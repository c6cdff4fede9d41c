/*
 * What the files of the normalize stage share and nobody else needs.
 */
#ifndef TS_NORMALIZE_INTERNAL_H
#define TS_NORMALIZE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/error.h"

/* SSE2 is part of every x86-64 CPU; elsewhere (or with -DTS_NO_SIMD, to
 * test it) byte-at-a-time and 8-byte code does the same work. */
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) && \
  !defined(TS_NO_SIMD)
#include <emmintrin.h>
#define TS_SSE2 1
#endif

/* Decodes one code point from s[0..n) (n >= 1). Returns it, or -1 for an
 * ill-formed sequence; *adv is the bytes used (for an ill-formed one, its
 * maximal subpart, at least 1). */
int32_t ts_utf8_decode(const unsigned char *s, size_t n, size_t *adv);

/* Writes a valid code point as 1-4 bytes; returns the count. */
size_t ts_utf8_encode(int32_t cp, unsigned char *out);

/* ts_normalize_url that tells a rejected URL (*out NULL, TS_OK) from an
 * arena out of memory (TS_ERR_NOMEM). */
enum ts_result ts_url_canonical(struct ts_arena *arena, const char *url,
                                const char **out);

#endif

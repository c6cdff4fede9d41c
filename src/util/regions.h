/*
 * ISO 3166-1 alpha-2 region codes: validation, English names, flags.
 * Config validation, YouTube region pages and region chips all use it.
 */
#ifndef TS_REGIONS_H
#define TS_REGIONS_H

#include <stdbool.h>

struct ts_region {
  const char *code; /* "JP" */
  const char *name; /* "Japan" */
};

/* The region for an upper-case two-letter code; NULL when unassigned.
 * Borrowed, static. */
const struct ts_region *ts_region_find(const char *code);

/* The flag emoji for a code (two regional indicator symbols, 8 bytes of
 * UTF-8), written into `out`; "" when `code` is not two ASCII letters. */
void ts_region_flag(const char *code, char out[9]);

#endif

/*
 * The run's clock and the one time format trendsite writes.
 *
 * Every time a run records (generated_at, fetched_at, first seen) comes
 * from ts_clock_now(). TRENDSITE_NOW pins it ("2026-11-21T10:00:00Z" or
 * Unix seconds), so a test or a benchmark can run twice and get
 * byte-identical output; with the clock pinned, measured durations are
 * reported as 0 for the same reason.
 */
#ifndef TS_CLOCK_H
#define TS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* Unix seconds now, or TRENDSITE_NOW. TS_ERR_CONFIG when TRENDSITE_NOW is
 * set but malformed (err says so). */
enum ts_result ts_clock_now(int64_t *out, struct ts_error *err);

/* Whether TRENDSITE_NOW pins the clock. */
bool ts_clock_pinned(void);

/* "2026-11-21T10:00:00Z" into `out` (at least 21 bytes). */
void ts_time_format(int64_t t, char out[21]);

/* Parses exactly the format above; false otherwise. */
bool ts_time_parse(const char *s, int64_t *out);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back; no time
 * zone or locale involved. */
int64_t ts_days_from_civil(int64_t y, unsigned m, unsigned d);
void ts_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif

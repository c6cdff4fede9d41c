/*
 * Display strings computed before rendering: templates have no logic, so
 * "1.2M views", "3 h ago", "12:04", dates and the sparkline SVG are made
 * here, in English, from numbers the snapshot holds.
 *
 * Every function writes into a caller's buffer (always NUL-terminated) and
 * returns it, so building a page allocates nothing for them.
 */
#ifndef TS_DISPLAY_H
#define TS_DISPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* 950 -> "950", 1234 -> "1.2K", 12345 -> "12K", 1234567 -> "1.2M",
 * 5000000000 -> "5B". Negative values give "0". */
char *ts_display_count(int64_t n, char *out, size_t size);

/* "1.2M views", "1 view"; `one` and `many` are the unit words. */
char *ts_display_count_unit(int64_t n, const char *one, const char *many,
                            char *out, size_t size);

/* How long ago `t` was at `now`: "just now", "5 min ago", "3 h ago",
 * "2 days ago", then the date ("21 Nov 2026") after 30 days. A time in the
 * future (clock skew) reads "just now". */
char *ts_display_ago(int64_t t, int64_t now, char *out, size_t size);

/* "21 Nov 2026". */
char *ts_display_date(int64_t t, char *out, size_t size);

/* "21 Nov 2026, 10:00 UTC". */
char *ts_display_datetime(int64_t t, char *out, size_t size);

/* 58 -> "0:58", 724 -> "12:04", 3722 -> "1:02:03". */
char *ts_display_duration(int64_t seconds, char *out, size_t size);

/*
 * An inline SVG sparkline of a series [[t, rank, views|null], ...] (the
 * history's format): the best rank over time, rank 1 at the top. Appends
 * to `out`; returns false (appending nothing) with fewer than two points.
 * The SVG holds only numbers we computed, so it is safe to insert raw.
 */
bool ts_display_sparkline(const json_t *series, struct ts_buf *out);

#endif

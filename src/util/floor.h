/*
 * floor(3) without libm. It was the only function trendsite took from
 * libm, and loading libm.so (mapping it and resolving its symbols) cost
 * every run about 0.05-0.09 ms: half a percent of a small site's render.
 */
#ifndef TS_FLOOR_H
#define TS_FLOOR_H

#include <stdint.h>

/* The largest integer not above `x`; NaN and infinities as they are. */
static inline double ts_floor(double x)
{
  /* From 2^52 up every double is an integer (and the comparison is false
   * for NaN): as it is. Below, the value fits an int64_t exactly. */
  if (!(x > -4503599627370496.0 && x < 4503599627370496.0))
    return x;
  double t = (double)(int64_t)x; /* toward zero */
  if (t > x)
    t -= 1.0; /* negative with a fraction */
  /* -0.5 floors to -1; -0.0 and 0 stay themselves. */
  return t == 0 ? x * 0.0 : t;
}

#endif

#include "util/grow.h"

#include <stdint.h>
#include <stdlib.h>

bool ts_grow_slow(void *array, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap)
    return true;
  size_t n = *cap ? *cap : 16;
  while (n < need) {
    if (n > SIZE_MAX / 2)
      return false;
    n *= 2;
  }
  if (n > SIZE_MAX / elem)
    return false;
  void **p = array;
  void *grown = realloc(*p, n * elem);
  if (!grown)
    return false;
  *p = grown;
  *cap = n;
  return true;
}

/*
 * Growing arrays: the one helper every module's "append, doubling the
 * capacity when full" uses.
 */
#ifndef TS_GROW_H
#define TS_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* ts_grow's slow half: reallocates. */
bool ts_grow_slow(void *array, size_t *cap, size_t need, size_t elem);

/* Makes the array at *array (a pointer to the array's pointer, which may
 * be NULL; *cap elements of `elem` bytes) hold at least `need` elements,
 * doubling its capacity from 16. False, with the array as it was, when
 * out of memory or the size would overflow. Inline: callers check before
 * every push (the template engine twice per section it enters), and there
 * is almost always room. */
static inline bool ts_grow(void *array, size_t *cap, size_t need,
                           size_t elem)
{
  return need <= *cap || ts_grow_slow(array, cap, need, elem);
}

#endif

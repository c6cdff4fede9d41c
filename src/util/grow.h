/*
 * Growing arrays: the one helper every module's "append, doubling the
 * capacity when full" uses.
 */
#ifndef TS_GROW_H
#define TS_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* Makes the array at *array (a pointer to the array's pointer, which may
 * be NULL; *cap elements of `elem` bytes) hold at least `need` elements,
 * doubling its capacity from 16. False, with the array as it was, when
 * out of memory or the size would overflow. */
bool ts_grow(void *array, size_t *cap, size_t need, size_t elem);

#endif

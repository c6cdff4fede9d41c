/*
 * A bump allocator for the many small strings of one run's items.
 *
 * Items, their titles, URLs and region lists are allocated together and
 * freed together, so individual frees would be pure overhead: an arena
 * hands out memory from large chunks and releases every chunk at once.
 * Allocation never moves earlier results. An arena that grows past a few
 * chunks continues in 2 MiB ones backed by huge pages (util/bigmem.h).
 */
#ifndef TS_ARENA_H
#define TS_ARENA_H

#include <stddef.h>

struct ts_arena_chunk;

struct ts_arena {
  struct ts_arena_chunk *head; /* newest chunk first */
  size_t chunk_size;           /* default size of new chunks */
  size_t total;                /* bytes handed out, for reports */
};

/* `chunk_size` 0 picks 64 KiB: the size of the first chunks. */
void ts_arena_init(struct ts_arena *arena, size_t chunk_size);

/* Frees every allocation made from the arena. */
void ts_arena_cleanup(struct ts_arena *arena);

/* Empties the arena for reuse: every earlier allocation is gone, and the
 * newest chunk is kept for the next ones (a page's context, built and
 * dropped thousands of times, then allocates no memory after the first
 * page). */
void ts_arena_reset(struct ts_arena *arena);

/* `size` bytes aligned for any type; NULL when out of memory. The memory
 * belongs to the arena (never free it). */
void *ts_arena_alloc(struct ts_arena *arena, size_t size);

/* Copies of strings into the arena (NUL-terminated, packed end to end:
 * not aligned); NULL only when out of memory. ts_arena_strdup(NULL)
 * returns NULL. */
char *ts_arena_strdup(struct ts_arena *arena, const char *s);
char *ts_arena_strndup(struct ts_arena *arena, const char *s, size_t n);

#endif

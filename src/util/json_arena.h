/*
 * Scoped memory for jansson values.
 *
 * The history update of a large run builds millions of small JSON values
 * (an entry per item, ranks per region) and drops them all at the end;
 * malloc and free of each were a large part of its time. A JSON arena is
 * a per-thread bump allocator that jansson allocates from while it is
 * active; freeing a value that lives in the arena costs nothing, and the
 * whole arena is emptied at once. (Page contexts are not jansson values:
 * see src/value.h.)
 *
 * How it is used, in one thread:
 *
 *   ts_json_arena_install();          // once, before any thread starts
 *   ts_json_arena_new(&a);
 *   for each page:
 *     ts_json_arena_begin(a);         // empties a; allocations come from it
 *     ... build the page's context ...
 *     ts_json_arena_pause();          // allocations come from malloc again
 *     ... render, then json_decref the context ...
 *   ts_json_arena_end();              // the thread lets go of a
 *   ts_json_arena_free(a);
 *
 * The rule: every value allocated from the arena must be gone (its last
 * reference dropped) before the next ts_json_arena_begin or
 * ts_json_arena_end on that thread, and values from the arena must not be
 * handed to other threads (unless it is held: ts_json_arena_hold). Values allocated while paused, or by threads
 * with no arena, come from malloc and live as long as they are referenced,
 * so code that keeps a value beyond the page (a cache, say) must allocate
 * it while paused. Under AddressSanitizer, emptied arena memory is
 * poisoned, so a value used after its page ended is reported.
 */
#ifndef TS_JSON_ARENA_H
#define TS_JSON_ARENA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct ts_json_arena;

/* Routes jansson's allocations through this module (values allocated
 * before stay valid). Idempotent; call while only one thread runs. */
void ts_json_arena_install(void);

/* A new arena that reserves `reserve` bytes of address space (0: 64 MiB),
 * committed as used. A page that needs more falls back to malloc for
 * the rest. TS_ERR_NOMEM when the space cannot be reserved. The caller
 * frees it with ts_json_arena_free. */
enum ts_result ts_json_arena_new(size_t reserve, struct ts_json_arena **out);

/* Faults in the first `bytes` of the arena's memory, for a thread with
 * nothing else to do ahead of the thread that will fill the arena: that
 * one then stops for no page fault per new page. Safe while another
 * thread allocates from the arena: pages are made present and their
 * contents left alone. False when the kernel cannot (before Linux 5.14):
 * the pages then fault in as they are used. */
bool ts_json_arena_prefault(const struct ts_json_arena *arena, size_t bytes);

/* Frees `arena` (NULL: no-op). No thread may be using it. */
void ts_json_arena_free(struct ts_json_arena *arena);

/* Empties `arena` and makes it the calling thread's: jansson values the
 * thread allocates from now on come from it. */
void ts_json_arena_begin(struct ts_json_arena *arena);

/* The calling thread allocates from malloc again, but values still in its
 * arena may be freed (at no cost) until the next _begin or _end. */
void ts_json_arena_pause(void);

/* The calling thread lets go of its arena. */
void ts_json_arena_end(void);

/* Makes the values in `arena` free to release from any thread, even one
 * with another arena or none (NULL: no arena is held). For data that
 * lives as long as a whole stage, such as a run's history: it is filled
 * between _begin and _pause on one thread, read by every thread, and
 * released at no cost when the arena is freed. Call while only one
 * thread runs; release the hold before freeing the arena. */
void ts_json_arena_hold(struct ts_json_arena *arena);

/* Whether an allocation made while `arena` was active had to come from
 * malloc (the arena was full) since the last _begin. When it did not,
 * every value allocated in that stretch is in the arena, and a structure
 * built only of them can be let go by freeing the arena, without
 * releasing its values one by one. */
bool ts_json_arena_spilled(const struct ts_json_arena *arena);

/* Bytes handed out since the last _begin, for tests and reports. */
size_t ts_json_arena_used(const struct ts_json_arena *arena);

#endif

#define _GNU_SOURCE /* MAP_NORESERVE */
#include "util/json_arena.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util/asan.h"

#define DEFAULT_RESERVE ((size_t)64 << 20)
#define ALIGN 16 /* malloc's alignment on the platforms we build for */

struct ts_json_arena {
  char *base; /* `cap` bytes of address space, reserved by mmap */
  size_t cap;
  size_t used;
  size_t high; /* the most ever used: what to poison on the next begin */
  bool spilled; /* an allocation went to malloc since the last begin */
};

/* The calling thread's arena (kept while paused, so that frees of its
 * values are recognised) and whether it allocates from it. */
static _Thread_local struct ts_json_arena *tl_arena;
static _Thread_local bool tl_active;
/* The held arena: set and cleared only while one thread runs, so every
 * thread started in between reads the same value. */
static const struct ts_json_arena *g_held;

static bool contains(const struct ts_json_arena *a, const void *p)
{
  return a && (uintptr_t)p - (uintptr_t)a->base < a->cap;
}

static void *json_arena_malloc(size_t n)
{
  struct ts_json_arena *a = tl_arena;
  if (a && tl_active) {
    size_t need = (n + (ALIGN - 1)) & ~(size_t)(ALIGN - 1);
    if (need >= n && need <= a->cap - a->used) {
      char *p = a->base + a->used;
      a->used += need;
      if (a->used > a->high)
        a->high = a->used;
      TS_UNPOISON(p, n);
      return p;
    }
    a->spilled = true;
  }
  return malloc(n);
}

static void json_arena_release(void *p)
{
  /* Arena memory is emptied all at once (the next begin, or freeing the
   * arena), never value by value. */
  if (contains(tl_arena, p) || contains(g_held, p))
    return;
  free(p);
}

void ts_json_arena_install(void)
{
  json_malloc_t m;
  json_free_t f;
  json_get_alloc_funcs(&m, &f);
  if (m != json_arena_malloc)
    json_set_alloc_funcs(json_arena_malloc, json_arena_release);
}

enum ts_result ts_json_arena_new(size_t reserve, struct ts_json_arena **out)
{
  *out = NULL;
  struct ts_json_arena *a = calloc(1, sizeof *a);
  if (!a)
    return TS_ERR_NOMEM;
  a->cap = reserve ? (reserve + 4095) & ~(size_t)4095 : DEFAULT_RESERVE;
  void *p = mmap(NULL, a->cap, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    free(a);
    return TS_ERR_NOMEM;
  }
  a->base = p;
  TS_POISON(a->base, a->cap);
  *out = a;
  return TS_OK;
}

bool ts_json_arena_prefault(const struct ts_json_arena *a, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
  return bytes == 0 ||
         madvise(a->base, bytes < a->cap ? bytes : a->cap,
                 MADV_POPULATE_WRITE) == 0;
#else
  (void)a;
  (void)bytes;
  return false;
#endif
}

void ts_json_arena_free(struct ts_json_arena *a)
{
  if (!a)
    return;
  TS_UNPOISON(a->base, a->cap);
  munmap(a->base, a->cap);
  free(a);
}

void ts_json_arena_begin(struct ts_json_arena *a)
{
  TS_POISON(a->base, a->high);
  a->used = 0;
  a->spilled = false;
  tl_arena = a;
  tl_active = true;
}

void ts_json_arena_pause(void)
{
  tl_active = false;
}

void ts_json_arena_end(void)
{
  tl_arena = NULL;
  tl_active = false;
}

void ts_json_arena_hold(struct ts_json_arena *a)
{
  g_held = a;
}

size_t ts_json_arena_used(const struct ts_json_arena *a)
{
  return a->used;
}

bool ts_json_arena_spilled(const struct ts_json_arena *a)
{
  return a->spilled;
}


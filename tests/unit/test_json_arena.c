/* The page-scoped JSON arena: values come from it while a page is built,
 * freeing them is free, the next page reuses the memory, and everything
 * else still comes from (and goes back to) malloc. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <threads.h>
#include <unistd.h>

#include "harness.h"
#include "util/json_arena.h"

static json_t *card(int i)
{
  json_t *c = json_object();
  json_object_set_new(c, "title", json_sprintf("Video number %d", i));
  json_object_set_new(c, "rank", json_integer(i));
  json_t *chips = json_array();
  for (int k = 0; k < 5; k++)
    json_array_append_new(chips, json_pack("{s:s, s:i}", "code", "JP",
                                           "rank", k));
  json_object_set_new(c, "regions", chips);
  return c;
}

static void pages_reuse_the_same_memory(void)
{
  ts_json_arena_install();
  struct ts_json_arena *a;
  REQUIRE(ts_json_arena_new(0, &a) == TS_OK);
  json_t *shared = json_string("kept across pages"); /* from malloc */
  size_t first = 0;
  for (int page = 0; page < 3; page++) {
    ts_json_arena_begin(a);
    CHECK_INT(ts_json_arena_used(a), 0);
    json_t *ctx = json_object();
    json_object_set(ctx, "site", shared);
    json_t *items = json_array();
    for (int i = 0; i < 50; i++)
      json_array_append_new(items, card(i));
    json_object_set_new(ctx, "items", items);
    ts_json_arena_pause();
    /* While paused, new values come from malloc again. */
    size_t used = ts_json_arena_used(a);
    json_t *cached = json_string("a cache entry");
    CHECK_INT(ts_json_arena_used(a), used);
    CHECK(used > 50 * 5 * 32);
    CHECK(!ts_json_arena_spilled(a));
    if (page == 0)
      first = used;
    CHECK_INT(used, first); /* the same page takes the same room */
    char *text = json_dumps(ctx, JSON_COMPACT);
    CHECK(text && strstr(text, "\"title\": \"Video number 49\"") == NULL &&
          strstr(text, "\"title\":\"Video number 49\""));
    free(text); /* json_dumps' result is the caller's, from malloc */
    json_decref(ctx);
    json_decref(cached);
  }
  ts_json_arena_end();
  /* The shared value came through every page with its count intact. */
  CHECK_INT(shared->refcount, 1);
  CHECK_STR(json_string_value(shared), "kept across pages");
  json_decref(shared);
  ts_json_arena_free(a);
}

static void a_full_arena_falls_back_to_malloc(void)
{
  ts_json_arena_install();
  struct ts_json_arena *a;
  REQUIRE(ts_json_arena_new(4096, &a) == TS_OK);
  ts_json_arena_begin(a);
  json_t *items = json_array();
  for (int i = 0; i < 200; i++) /* far more than 4 KiB */
    json_array_append_new(items, card(i));
  ts_json_arena_pause();
  CHECK(ts_json_arena_used(a) <= 4096);
  CHECK(ts_json_arena_spilled(a));
  CHECK_INT(json_array_size(items), 200);
  CHECK_INT(json_integer_value(json_object_get(json_array_get(items, 199),
                                               "rank")),
            199);
  json_decref(items); /* arena and heap values mixed: each freed its way */
  /* The next page starts with a clean record. */
  ts_json_arena_begin(a);
  json_decref(card(1));
  ts_json_arena_pause();
  CHECK(!ts_json_arena_spilled(a));
  ts_json_arena_end();
  ts_json_arena_free(a);
}

/* Threads with an arena each, and a value shared by all of them. */
struct page_thread {
  json_t *shared;
  int ok;
};

static int build_pages(void *arg)
{
  struct page_thread *t = arg;
  struct ts_json_arena *a;
  if (ts_json_arena_new(0, &a) != TS_OK)
    return 0;
  for (int page = 0; page < 200; page++) {
    ts_json_arena_begin(a);
    json_t *ctx = json_pack("{s:O, s:o}", "site", t->shared, "item",
                            card(page));
    ts_json_arena_pause();
    t->ok += json_integer_value(json_object_get(json_object_get(ctx, "item"),
                                                "rank")) == page;
    json_decref(ctx);
  }
  ts_json_arena_end();
  ts_json_arena_free(a);
  return 0;
}

static void threads_have_arenas_of_their_own(void)
{
  ts_json_arena_install();
  json_t *shared = json_pack("{s:s}", "title", "Trending now");
  struct page_thread t[3];
  thrd_t ids[3];
  for (int k = 0; k < 3; k++) {
    t[k] = (struct page_thread){shared, 0};
    REQUIRE(thrd_create(&ids[k], build_pages, &t[k]) == thrd_success);
  }
  for (int k = 0; k < 3; k++) {
    thrd_join(ids[k], NULL);
    CHECK_INT(t[k].ok, 200);
  }
  CHECK_INT(shared->refcount, 1);
  json_decref(shared);
}

/* A held arena's values are filled on one thread, shared, and released
 * by another thread that has an arena of its own. */
static int release_held(void *arg)
{
  json_t *doc = arg;
  struct ts_json_arena *mine;
  if (ts_json_arena_new(0, &mine) != TS_OK)
    return 1;
  ts_json_arena_begin(mine);
  json_t *page = json_pack("{s:O}", "history", doc); /* from `mine` */
  ts_json_arena_pause();
  json_decref(page);
  json_decref(doc); /* the last reference: freed from the held arena */
  ts_json_arena_end();
  ts_json_arena_free(mine);
  return 0;
}

static void a_held_arena_is_released_anywhere(void)
{
  ts_json_arena_install();
  struct ts_json_arena *held;
  REQUIRE(ts_json_arena_new(0, &held) == TS_OK);
  ts_json_arena_begin(held);
  ts_json_arena_hold(held);
  json_t *doc = json_object();
  for (int i = 0; i < 100; i++) {
    char key[16];
    snprintf(key, sizeof key, "item%d", i);
    json_object_set_new(doc, key, card(i));
  }
  ts_json_arena_pause();
  CHECK(ts_json_arena_used(held) > 0);
  ts_json_arena_end(); /* this thread lets go; the hold still counts */
  thrd_t id;
  REQUIRE(thrd_create(&id, release_held, doc) == thrd_success);
  int rc = -1;
  thrd_join(id, &rc);
  CHECK_INT(rc, 0);
  ts_json_arena_hold(NULL);
  ts_json_arena_free(held);
}

/* Whether the page holding `p` is in memory. */
static bool resident(const char *p)
{
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  unsigned char in = 0;
  return mincore((void *)((uintptr_t)p & ~(page - 1)), page, &in) == 0 &&
         (in & 1);
}

static void a_prefaulted_arena_has_its_pages_and_keeps_its_values(void)
{
  ts_json_arena_install();
  struct ts_json_arena *a;
  const size_t mib = (size_t)1 << 20;
  REQUIRE(ts_json_arena_new(8 * mib, &a) == TS_OK);
  ts_json_arena_begin(a);
  json_t *first = json_string("made before the pages were faulted in");
  ts_json_arena_pause();
  size_t used = ts_json_arena_used(a);
  REQUIRE(used > 0 && used < 4096); /* `first` is on the arena's first page */
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const char *base = (const char *)((uintptr_t)first & ~(page - 1));
  /* Never touched: not in memory yet (a huge page around `first` would
   * end 2 MiB after it at most). */
  CHECK(!resident(base + 5 * mib / 2));
  if (!ts_json_arena_prefault(a, 3 * mib)) {
    json_decref(first);
    ts_json_arena_end();
    ts_json_arena_free(a);
    ts_test_skip("this kernel cannot fault memory in ahead "
                 "(MADV_POPULATE_WRITE, Linux 5.14)");
    return;
  }
  CHECK(resident(base + 5 * mib / 2));
  CHECK(resident(base + 3 * mib - 1));
  CHECK(!resident(base + 7 * mib)); /* beyond what was asked for */
  /* What the arena held is untouched, and it goes on where it was. */
  CHECK_STR(json_string_value(first), "made before the pages were faulted in");
  CHECK_INT(ts_json_arena_used(a), used);
  json_decref(first);
  ts_json_arena_begin(a);
  json_t *next = json_integer(42);
  ts_json_arena_pause();
  CHECK_INT(json_integer_value(next), 42);
  CHECK((const char *)next < base + 4096);
  json_decref(next);
  /* Asking for more than the arena holds faults in the arena only. */
  CHECK(ts_json_arena_prefault(a, 64 * mib));
  CHECK(resident(base + 8 * mib - 1));
  ts_json_arena_end();
  ts_json_arena_free(a);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(pages_reuse_the_same_memory),
    TEST(a_full_arena_falls_back_to_malloc),
    TEST(threads_have_arenas_of_their_own),
    TEST(a_held_arena_is_released_anywhere),
    TEST(a_prefaulted_arena_has_its_pages_and_keeps_its_values),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

/* The batch: items start unknown, statuses are found again by
 * (source, region), and the arena keeps strings valid. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "item.h"

static void new_items_start_unknown(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_item *it = ts_batch_new_item(&b);
  REQUIRE(it != NULL);
  CHECK(it->title == NULL && it->url == NULL && it->positions == NULL);
  CHECK(it->views == TS_UNKNOWN && it->likes == TS_UNKNOWN);
  CHECK(it->duration_s == TS_UNKNOWN);
  CHECK(it->published == TS_TIME_UNKNOWN);
  CHECK_INT(ts_item_set_position(&b, it, "youtube", "JP", 3), TS_OK);
  CHECK_STR(it->positions[0].region, "JP");
  CHECK_INT(it->positions[0].rank, 3);
  /* Many items: the array grows, strings stay put. */
  const char *first = ts_batch_str(&b, "first title");
  for (int i = 0; i < 10000; i++)
    REQUIRE(ts_batch_new_item(&b) != NULL);
  CHECK_INT(b.nitems, 10001);
  CHECK_STR(first, "first title");
  ts_batch_cleanup(&b);
}

static void statuses_are_per_source_and_region(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_status *us = ts_batch_status(&b, "youtube", "youtube", "US");
  REQUIRE(us != NULL);
  us->items = 50;
  ts_batch_status(&b, "youtube", "youtube", "JP");
  ts_batch_status(&b, "hackernews", "hackernews", NULL);
  struct ts_status *again = ts_batch_status(&b, "youtube", "youtube", "US");
  CHECK_INT(again->items, 50);
  CHECK_INT(b.nstatuses, 3);
  CHECK_STR(b.statuses[2].region, "");
  CHECK_STR(ts_status_state_name(b.statuses[0].state), "ok");
  ts_batch_cleanup(&b);
}

/* Strings are packed end to end; everything else stays aligned for any
 * type, and a big request does not waste the current chunk. */
static void list_keys_name_source_and_region(void)
{
  char key[16];
  ts_list_key("youtube", "JP", key, sizeof key);
  CHECK_STR(key, "youtube/JP");
  ts_list_key("hackernews", "", key, sizeof key);
  CHECK_STR(key, "hackernews");
  ts_list_key("a-very-long-source", "GB", key, sizeof key);
  CHECK_STR(key, "a-very-long-sou"); /* truncated, still a string */
}

static void arena_packs_strings(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 1024);
  char *x = ts_arena_strdup(&a, "ab");
  char *y = ts_arena_strndup(&a, "cdef", 1);
  CHECK_STR(x, "ab");
  CHECK_STR(y, "c");
  CHECK(y == x + 3);
  void *p = ts_arena_alloc(&a, 3);
  REQUIRE(p != NULL);
  CHECK((uintptr_t)p % alignof(max_align_t) == 0);
  char *z = ts_arena_strdup(&a, "z");
  CHECK(z == (char *)p + 3);
  void *big = ts_arena_alloc(&a, 4096);
  REQUIRE(big != NULL);
  memset(big, 1, 4096);
  CHECK((uintptr_t)big % alignof(max_align_t) == 0);
  char *after = ts_arena_strdup(&a, "w");
  CHECK(after == z + 2); /* still in the first chunk */
  CHECK_STR(x, "ab");
  ts_arena_cleanup(&a);
}

/* Past a few chunks an arena continues in huge-page chunks: everything
 * handed out before and after stays intact and aligned, and requests
 * too big for any chunk still get one of their own. */
static void arena_grows_into_big_chunks(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 1024);
  enum { N = 40000 };
  static char *strings[N];
  char text[96];
  for (int i = 0; i < N; i++) {
    snprintf(text, sizeof text, "string %d of many, %.*s", i, i % 40,
             "padding padding padding padding padding ");
    strings[i] = ts_arena_strdup(&a, text);
    REQUIRE(strings[i] != NULL);
    if (i % 1000 == 0) {
      void *p = ts_arena_alloc(&a, (size_t)i * 16 + 1);
      REQUIRE(p != NULL);
      CHECK((uintptr_t)p % alignof(max_align_t) == 0);
      memset(p, 0xA5, (size_t)i * 16 + 1);
    }
  }
  CHECK(a.total > 2 * 1024 * 1024);
  for (int i = 0; i < N; i += 997) {
    snprintf(text, sizeof text, "string %d of many, %.*s", i, i % 40,
             "padding padding padding padding padding ");
    CHECK_STR(strings[i], text);
  }
  ts_arena_cleanup(&a);
  CHECK(a.head == NULL && a.total == 0);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(new_items_start_unknown),
    TEST(statuses_are_per_source_and_region),
    TEST(list_keys_name_source_and_region),
    TEST(arena_packs_strings),
    TEST(arena_grows_into_big_chunks),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

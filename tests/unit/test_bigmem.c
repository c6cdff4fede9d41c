/* Large blocks: zeroed, aligned, usable end to end whichever way they
 * were allocated (mapped in huge pages, or from the heap when small and
 * in sanitizer builds). */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/bigmem.h"

/* Whether `n` bytes at p are all zero. */
static bool all_zero(const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

static void blocks_are_zeroed_and_aligned(void)
{
  const size_t sizes[] = {0, 1, 4096, TS_BIGMEM_MIN - 1, TS_BIGMEM_MIN,
                          TS_BIGMEM_MIN * 3 + 5};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    unsigned char *p = ts_bigmem_alloc(n);
    REQUIRE(p != NULL);
    CHECK((uintptr_t)p % alignof(max_align_t) == 0);
    CHECK(all_zero(p, n));
    if (n) {
      p[0] = 1;
      p[n - 1] = 2;
      CHECK_INT(p[0], n == 1 ? 2 : 1);
    }
    ts_bigmem_free(p, n);
  }
  ts_bigmem_free(NULL, TS_BIGMEM_MIN);
}

/* ts_bigmem_malloc's blocks go back with free(). */
static void malloc_blocks_are_freed_by_free(void)
{
  const size_t sizes[] = {0, 100, TS_BIGMEM_MIN, TS_BIGMEM_MIN * 2 + 1};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    unsigned char *p = ts_bigmem_malloc(n);
    REQUIRE(p != NULL);
    CHECK((uintptr_t)p % alignof(max_align_t) == 0);
    memset(p, 0xA5, n);
    if (n)
      CHECK_INT(p[n - 1], 0xA5);
    free(p);
  }
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(blocks_are_zeroed_and_aligned),
    TEST(malloc_blocks_are_freed_by_free),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

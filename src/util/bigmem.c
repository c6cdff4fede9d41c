#include "util/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util/asan.h"

/* Under AddressSanitizer every block comes from malloc, which it checks. */
#ifdef TS_ASAN
#define MAP_BLOCKS 0
#else
#define MAP_BLOCKS 1
#endif

/* `size` rounded up to whole huge pages; 0 when that overflows. */
static size_t whole_pages(size_t size)
{
  if (size > SIZE_MAX - TS_BIGMEM_MIN)
    return 0;
  return (size + TS_BIGMEM_MIN - 1) & ~(TS_BIGMEM_MIN - 1);
}

/* A hint only: without it (or without huge pages) the block still works
 * with small pages, so its result does not matter. */
static void advise_huge(void *block, size_t len)
{
#ifdef MADV_HUGEPAGE
  (void)madvise(block, len, MADV_HUGEPAGE);
#else
  (void)block;
  (void)len;
#endif
}

void *ts_bigmem_alloc(size_t size)
{
  if (!MAP_BLOCKS || size < TS_BIGMEM_MIN)
    return calloc(1, size ? size : 1);
  size_t len = whole_pages(size);
  if (!len)
    return NULL;
  /* Map one huge page more than needed and give back the ends that are
   * not 2 MiB-aligned: huge pages cover only aligned ranges. */
  unsigned char *map = mmap(NULL, len + TS_BIGMEM_MIN, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return NULL;
  uintptr_t at =
      ((uintptr_t)map + TS_BIGMEM_MIN - 1) & ~(uintptr_t)(TS_BIGMEM_MIN - 1);
  size_t head = at - (uintptr_t)map;
  if (head)
    munmap(map, head);
  munmap(map + head + len, TS_BIGMEM_MIN - head);
  advise_huge(map + head, len);
  return map + head;
}

void ts_bigmem_free(void *block, size_t size)
{
  if (!block)
    return;
  if (!MAP_BLOCKS || size < TS_BIGMEM_MIN)
    free(block);
  else
    munmap(block, whole_pages(size));
}

void *ts_bigmem_malloc(size_t size)
{
  if (!MAP_BLOCKS || size < TS_BIGMEM_MIN)
    return malloc(size ? size : 1);
  size_t len = whole_pages(size);
  void *block;
  if (!len || posix_memalign(&block, TS_BIGMEM_MIN, len) != 0)
    return NULL;
  /* The whole range is this block's until it is freed; the hint stays
   * on those pages afterwards, which only lets later heap blocks there
   * use huge pages too. */
  advise_huge(block, len);
  return block;
}

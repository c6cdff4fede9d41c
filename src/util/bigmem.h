/*
 * Large blocks backed by huge pages where the kernel offers them.
 *
 * A run touches tens of megabytes once each: arena chunks full of item
 * text, dedupe's tables and its output array. With 4 KiB pages every
 * first touch of a page is a page fault, and on the virtual machines CI
 * runs on one costs 1-2 us: 100,000 items touched about 15,000 pages, a
 * fifth of normalize + dedupe. Blocks of TS_BIGMEM_MIN bytes or more are
 * therefore mapped 2 MiB-aligned and marked with MADV_HUGEPAGE, so that
 * one fault maps 2 MiB (transparent huge pages are usually enabled only
 * for memory that asks, "madvise" mode). Where the kernel has none to
 * give, or the hint is unknown, the same block simply gets small pages.
 *
 * Smaller blocks, and every block in AddressSanitizer builds (so that its
 * leak and overflow checks keep covering them), come from the C heap.
 */
#ifndef TS_BIGMEM_H
#define TS_BIGMEM_H

#include <stddef.h>

/* The huge page size of x86-64 and of arm64 with 4 KiB pages: the
 * alignment huge pages need, and the smallest block worth mapping. */
#define TS_BIGMEM_MIN ((size_t)2 << 20)

/* `size` zeroed bytes aligned for any type; NULL when out of memory.
 * The caller frees the block with ts_bigmem_free and the same size. */
void *ts_bigmem_alloc(size_t size);

/* Frees a block from ts_bigmem_alloc(size); NULL does nothing. */
void ts_bigmem_free(void *block, size_t size);

/* `size` bytes for free(), not zeroed, and when large 2 MiB-aligned and
 * marked for huge pages: for arrays whose owner releases them with
 * free() (ts_dedupe's output). NULL when out of memory. */
void *ts_bigmem_malloc(size_t size);

#endif

/*
 * AddressSanitizer, when the build has it (gcc and clang say so in
 * different ways): TS_ASAN is defined, and TS_POISON / TS_UNPOISON mark
 * memory that allocators of our own hand out and take back, so that a
 * use of memory an arena let go of is reported. Without it they do
 * nothing.
 */
#ifndef TS_ASAN_H
#define TS_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define TS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TS_ASAN 1
#endif
#endif

#ifdef TS_ASAN
#include <sanitizer/asan_interface.h>
#define TS_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define TS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define TS_POISON(p, n) ((void)(p), (void)(n))
#define TS_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif

/*
 * A tiny test harness: each test is a function, each check prints both
 * sides when it fails, and every test prints one TAP-style line
 * ("ok N - name" / "not ok N - name") that tests/run.sh counts.
 */
#ifndef TS_TEST_HARNESS_H
#define TS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ts_test {
  const char *name;
  void (*fn)(void);
};

/* Runs the tests in order; returns the process exit status. */
int ts_test_main(int argc, char **argv, const struct ts_test *tests);

/* Failure reporting, used by the macros below. Returns false. */
bool ts_test_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void ts_test_skip(const char *why);
/* The folder that holds tests/ (found from the working directory). */
const char *ts_test_root(void);
/* Removes the folder `dir` and everything in it (links are removed, not
 * followed); a failure fails the current test. Used by the macro below. */
bool ts_test_remove_tree(const char *file, int line, const char *dir);

#define REMOVE_TREE(dir) ts_test_remove_tree(__FILE__, __LINE__, (dir))

#define CHECK(cond)                                                          \
  ((cond) ? true : ts_test_fail(__FILE__, __LINE__, "expected %s", #cond))

#define CHECK_INT(a, b)                                                      \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                      \
    if (a_ != b_)                                                            \
      ts_test_fail(__FILE__, __LINE__, "%s == %s: got %lld, expected %lld",  \
                   #a, #b, a_, b_);                                          \
  } while (0)

#define CHECK_STR(a, b)                                                      \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                   \
      ts_test_fail(__FILE__, __LINE__, "%s == %s:\n    got      \"%s\"\n"    \
                   "    expected \"%s\"", #a, #b, a_ ? a_ : "(null)",        \
                   b_ ? b_ : "(null)");                                      \
  } while (0)

/* Ends the current test at once when `cond` fails. */
#define REQUIRE(cond)                                                        \
  do {                                                                       \
    if (!CHECK(cond))                                                        \
      return;                                                                \
  } while (0)

#define TEST(fn) {#fn, fn}
#define TEST_END {NULL, NULL}

#endif

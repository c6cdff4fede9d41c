#define _XOPEN_SOURCE 700 /* nftw */
#include "harness.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool current_failed;
static const char *current_skip;

bool ts_test_fail(const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stdout, "#   %s:%d: ", file, line);
  vfprintf(stdout, fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  current_failed = true;
  return false;
}

void ts_test_skip(const char *why)
{
  current_skip = why;
}

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0) {
    fprintf(stdout, "#   cannot remove %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

bool ts_test_remove_tree(const char *file, int line, const char *dir)
{
  if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    return ts_test_fail(file, line, "temporary folder %s not removed", dir);
  return true;
}

const char *ts_test_root(void)
{
  static char root[PATH_MAX];
  const char *env = getenv("TS_ROOT");
  if (env)
    return env;
  if (!getcwd(root, sizeof root))
    return ".";
  return root;
}

int ts_test_main(int argc, char **argv, const struct ts_test *tests)
{
  const char *only = argc > 1 ? argv[1] : NULL;
  int n = 0, failed = 0;
  for (const struct ts_test *t = tests; t->name; t++) {
    if (only && !strstr(t->name, only))
      continue;
    current_failed = false;
    current_skip = NULL;
    t->fn();
    n++;
    if (current_skip)
      printf("ok %d - %s # SKIP %s\n", n, t->name, current_skip);
    else
      printf("%s %d - %s\n", current_failed ? "not ok" : "ok", n, t->name);
    fflush(stdout);
    failed += current_failed;
  }
  return failed ? 1 : 0;
}

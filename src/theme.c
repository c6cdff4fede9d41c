#include "theme.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mustache.h"

const struct ts_theme_file *ts_theme_find(const char *path)
{
  for (const struct ts_theme_file *f = ts_theme_files; f->path; f++)
    if (!strcmp(f->path, path))
      return f;
  return NULL;
}

bool ts_theme_overridden(const char *user_dir, const char *path)
{
  if (!user_dir)
    return false;
  char full[PATH_MAX];
  snprintf(full, sizeof full, "%s/%s", user_dir, path);
  struct stat st;
  return stat(full, &st) == 0 && S_ISREG(st.st_mode);
}

enum ts_result ts_theme_add_fallbacks(struct ts_mustache_env *env,
                                      const char *user_dir,
                                      struct ts_error *err)
{
  static const char suffix[] = ".mustache";
  const size_t slen = sizeof suffix - 1;
  for (const struct ts_theme_file *f = ts_theme_files; f->path; f++) {
    size_t n = strlen(f->path);
    if (n <= slen || strcmp(f->path + n - slen, suffix) ||
        ts_theme_overridden(user_dir, f->path))
      continue;
    /* Partials are named without ".mustache": "partials/card.html". */
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%.*s", (int)(n - slen), f->path);
    enum ts_result r = ts_mustache_env_add_partial(
        env, name, (const char *)f->data, f->len, err);
    if (r != TS_OK)
      return r;
  }
  return TS_OK;
}

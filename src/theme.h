/*
 * The built-in default theme, compiled into the binary from templates/ by
 * tools/embed.c. A user's template folder overrides single files; anything
 * it lacks comes from here.
 */
#ifndef TS_THEME_H
#define TS_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct ts_theme_file {
  const char *path;           /* relative to templates/, e.g. "index.html.mustache" */
  const unsigned char *data;  /* NUL-terminated for convenience */
  size_t len;                 /* without the NUL */
};

/* Sorted by path, ended by a {NULL, NULL, 0} entry. */
extern const struct ts_theme_file ts_theme_files[];

/* The built-in file at `path`, or NULL. */
const struct ts_theme_file *ts_theme_find(const char *path);

struct ts_mustache_env;

/* Registers with `env`, as in-memory partials, every built-in template
 * that `user_dir` (may be NULL) does not override, so a template name
 * resolves to the user's file when there is one and to the built-in one
 * otherwise. */
enum ts_result ts_theme_add_fallbacks(struct ts_mustache_env *env,
                                      const char *user_dir,
                                      struct ts_error *err);

/* Whether `user_dir` has its own regular file at `path`. */
bool ts_theme_overridden(const char *user_dir, const char *path);

#endif

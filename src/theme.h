/*
 * The built-in default theme, compiled into the binary from templates/ by
 * tools/embed.c. A user's template folder overrides single files; anything
 * it lacks comes from here.
 */
#ifndef TS_THEME_H
#define TS_THEME_H

#include <stddef.h>

struct ts_theme_file {
  const char *path;           /* relative to templates/, e.g. "index.html.mustache" */
  const unsigned char *data;  /* NUL-terminated for convenience */
  size_t len;                 /* without the NUL */
};

/* Sorted by path, ended by a {NULL, NULL, 0} entry. */
extern const struct ts_theme_file ts_theme_files[];

/* The built-in file at `path`, or NULL. */
const struct ts_theme_file *ts_theme_find(const char *path);

#endif

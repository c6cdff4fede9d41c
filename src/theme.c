#include "theme.h"

#include <string.h>

const struct ts_theme_file *ts_theme_find(const char *path)
{
  for (const struct ts_theme_file *f = ts_theme_files; f->path; f++)
    if (!strcmp(f->path, path))
      return f;
  return NULL;
}

#include "util/regions.h"

#include <stdlib.h>
#include <string.h>

#include "util/regions_table.h"

static int compare_code(const void *key, const void *entry)
{
  return strcmp(key, ((const struct ts_region *)entry)->code);
}

const struct ts_region *ts_region_find(const char *code)
{
  if (!code || strlen(code) != 2)
    return NULL;
  return bsearch(code, regions, sizeof regions / sizeof regions[0],
                 sizeof regions[0], compare_code);
}

void ts_region_flag(const char *code, char out[9])
{
  out[0] = '\0';
  if (!code || strlen(code) != 2)
    return;
  for (int i = 0; i < 2; i++) {
    char c = code[i];
    if (c >= 'a' && c <= 'z')
      c = (char)(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') {
      out[0] = '\0';
      return;
    }
    /* U+1F1E6 + (c - 'A') in UTF-8: F0 9F 87 A6.. */
    unsigned cp = 0x1F1E6u + (unsigned)(c - 'A');
    out[i * 4 + 0] = (char)(0xF0 | (cp >> 18));
    out[i * 4 + 1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[i * 4 + 2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[i * 4 + 3] = (char)(0x80 | (cp & 0x3F));
  }
  out[8] = '\0';
}

#include "util/redact.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const key_names[] = {
  "key", "api-key", "apikey", "api_key", "access_token", "token",
};

/* Length of the secret parameter name that ends just before `eq`, or 0.
 * The name must start the text or follow '?', '&', ';' or whitespace, so
 * "monkey=1" is not mistaken for "key=1". */
static size_t key_name_before(const char *text, const char *eq)
{
  for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++) {
    size_t n = strlen(key_names[i]);
    if ((size_t)(eq - text) < n)
      continue;
    const char *start = eq - n;
    if (strncasecmp(start, key_names[i], n) != 0)
      continue;
    if (start == text || strchr("?&; \t\n\"'", start[-1]))
      return n;
  }
  return 0;
}

static size_t value_len(const char *v)
{
  size_t n = 0;
  while (v[n] && !strchr("&#; \t\r\n\"'<>", v[n]))
    n++;
  return n;
}

char *ts_redact(const char *text, char *out, size_t size)
{
  if (size == 0)
    return out;
  size_t o = 0;
  const char *p = text;
  while (*p && o + 1 < size) {
    /* Up to the next '=' in one copy: only there can a secret start. */
    const char *eq = strchr(p, '=');
    size_t run = eq ? (size_t)(eq - p) : strlen(p);
    if (run > size - 1 - o)
      run = size - 1 - o;
    memcpy(out + o, p, run);
    o += run;
    p += run;
    if (*p != '=' || o + 1 >= size)
      continue; /* the end of the text, or of the room */
    if (key_name_before(text, p)) {
      out[o++] = '=';
      p++;
      size_t vlen = value_len(p);
      if (vlen > 0) {
        static const char mask[] = "REDACTED";
        for (size_t i = 0; mask[i] && o + 1 < size; i++)
          out[o++] = mask[i];
        p += vlen;
      }
      continue;
    }
    out[o++] = *p++;
  }
  out[o] = '\0';
  return out;
}

char *ts_redact_dup(const char *text)
{
  /* Redaction only shrinks a value or grows it to 8 bytes. */
  size_t size = strlen(text) * 2 + 16;
  char *out = malloc(size);
  return out ? ts_redact(text, out, size) : NULL;
}

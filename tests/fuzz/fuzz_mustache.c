/*
 * libFuzzer harness for the template engine: compile + render.
 *
 * fuzz-sources: src/mustache.c src/util/buf.c src/util/error.c src/util/fs.c
 *
 * The input is split at NUL bytes: the template, then JSON data (when it
 * does not parse, a fixed value with every JSON type is used), then
 * in-memory partials written "NAME\nSOURCE". Two low bits of the size
 * pick the escaping and one more bit check mode, so every path is
 * reachable. Limits are small so that each input finishes quickly.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mustache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rich[] =
    "{\"s\": \"<a href='x'>&\\\"\\u2028\\u0001\\ufffe\", \"e\": \"\", "
    "\"i\": 42, \"z\": 0, \"r\": 1.5e-7, \"t\": true, \"f\": false, "
    "\"n\": null, \"o\": {\"s\": \"inner\", \"o\": {\"i\": -1}}, "
    "\"a\": [1, \"two\", {\"s\": \"three\"}, [4], null], \"empty\": [], "
    "\"name\": \"p\", \"names\": [\"a\", \"b\", \"../x\", \"p\"], "
    "\"nodes\": [{\"name\": \"leaf\", \"nodes\": []}]}";

static enum ts_result discard(void *ctx, const char *bytes, size_t len,
                              struct ts_error *err)
{
  (void)bytes;
  (void)err;
  *(size_t *)ctx += len;
  return TS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *parts[10];
  size_t lens[10], n = 0;
  const char *p = (const char *)data, *end = p + size;
  while (n < 10) {
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    parts[n] = p;
    lens[n++] = nul ? (size_t)(nul - p) : (size_t)(end - p);
    if (!nul)
      break;
    p = nul + 1;
  }
  struct ts_mustache_options o = {
      .max_output = 1 << 20,
      .max_partial_depth = 16,
      .max_section_depth = 200,
      .max_steps = 200000,
      .check = size & 4,
  };
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  if (!env)
    return 0;
  struct ts_error err;
  for (size_t i = 2; i < n; i++) {
    char name[64] = "p";
    const char *src = parts[i];
    size_t len = lens[i];
    const char *nl = memchr(src, '\n', len);
    if (nl && (size_t)(nl - src) < sizeof name) {
      memcpy(name, src, (size_t)(nl - src));
      name[nl - src] = '\0';
      len -= (size_t)(nl - src) + 1;
      src = nl + 1;
    }
    if (ts_mustache_env_add_partial(env, name, src, len, &err) != TS_OK)
      ts_mustache_env_add_partial(env, "p", src, len, &err);
  }
  json_t *json = NULL;
  if (n > 1)
    json =
        json_loadb(parts[1], lens[1], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!json)
    json = json_loads(rich, 0, NULL);
  const struct ts_mustache *tpl;
  if (ts_mustache_compile_string(env, "fuzz", parts[0], lens[0],
                                 (enum ts_mustache_escape)(size & 3), &tpl,
                                 &err) == TS_OK) {
    /* Twice: the second render reuses the cached partials and state. */
    size_t first = 0, second = 0;
    enum ts_result r1 = ts_mustache_render(
        tpl, json, (struct ts_mustache_sink){discard, &first}, &err);
    enum ts_result r2 = ts_mustache_render(
        tpl, json, (struct ts_mustache_sink){discard, &second}, &err);
    /* Rendering is deterministic. */
    if (r1 != r2 || (r1 == TS_OK && first != second))
      __builtin_trap();
  }
  json_decref(json);
  ts_mustache_env_free(env);
  return 0;
}

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
 *
 * When the data is an object, a second environment freezes its members
 * "o", "a" and "nodes" and renders the same pages, and one whose other
 * members changed, in turn: the outputs must match the first
 * environment's byte for byte, however sections over frozen data are
 * recorded and replayed.
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

/* What a render wrote: its length and an FNV-1a hash of the bytes. */
struct digest {
  size_t len;
  uint64_t hash;
};

static enum ts_result digest_write(void *ctx, const char *bytes, size_t len,
                                   struct ts_error *err)
{
  (void)err;
  struct digest *d = ctx;
  d->len += len;
  for (size_t i = 0; i < len; i++)
    d->hash = (d->hash ^ (unsigned char)bytes[i]) * 1099511628211u;
  return TS_OK;
}

/* Renders `tpl` with `data` into a digest; the result code in *res. */
static struct digest digest_render(const struct ts_mustache *tpl,
                                   const struct ts_value *data,
                                   enum ts_result *res)
{
  struct digest d = {0, 1469598103934665603u};
  struct ts_error err;
  *res = ts_mustache_render_value(
      tpl, data, (struct ts_mustache_sink){digest_write, &d}, &err);
  return d;
}

/* The frozen environment must render what the plain one does. */
static void compare_frozen(const struct ts_mustache_options *o,
                           const char *const *parts, const size_t *lens,
                           size_t n, json_t *json,
                           const struct ts_mustache *plain)
{
  static const char *const shared[] = {"o", "a", "nodes"};
  json_t *other = json_deep_copy(json);
  struct ts_mustache_env *env = ts_mustache_env_new(o);
  if (!other || !env) {
    json_decref(other);
    ts_mustache_env_free(env);
    return;
  }
  json_object_set_new(other, "s", json_string("changed"));
  json_object_set_new(other, "i", json_integer(43));
  json_object_set_new(other, "t", json_false());
  /* Both pages hold the same frozen containers (the engine knows frozen
   * data by identity); the rest differs. */
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value jv = ts_value_from_json(&b, json);
  struct ts_value ov = ts_value_from_json(&b, other);
  for (size_t i = 0; i < 3 && !b.failed; i++) {
    const struct ts_value *v = ts_value_get(jv, shared[i]);
    if (v) {
      ts_mustache_env_freeze(env, *v);
      ts_value_set(&b, ov, shared[i], *v);
    }
  }
  struct ts_error err;
  for (size_t i = 2; i < n; i++) { /* the same partials, as in the caller */
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
  const struct ts_mustache *tpl;
  if (ts_mustache_compile_string(env, "fuzz", parts[0], lens[0],
                                 ts_mustache_escape_for_name("fuzz"), &tpl,
                                 &err) == TS_OK) {
    const struct ts_value *pages[] = {&jv, &ov, &jv, &ov, &ov, &jv};
    for (size_t i = 0; !b.failed && i < sizeof pages / sizeof pages[0];
         i++) {
      enum ts_result want_res, got_res;
      struct digest want = digest_render(plain, pages[i], &want_res);
      struct digest got = digest_render(tpl, pages[i], &got_res);
      if (want_res != got_res || want.len != got.len ||
          want.hash != got.hash)
        __builtin_trap();
    }
  }
  ts_mustache_env_free(env);
  ts_arena_cleanup(&arena);
  json_decref(other);
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
    if (json_is_object(json) && (size & 3) == TS_MUSTACHE_ESCAPE_HTML)
      compare_frozen(&o, parts, lens, n, json, tpl);
  }
  json_decref(json);
  ts_mustache_env_free(env);
  return 0;
}

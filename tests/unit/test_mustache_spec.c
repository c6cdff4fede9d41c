/*
 * The official Mustache specification, run through the engine: one TAP line
 * per spec test, named "module: test name".
 *
 * The spec files are not part of this repository. They are read from
 * $TS_MUSTACHE_SPEC, by default ../shared/mustache-spec next to the
 * repository root; when the folder is missing the whole runner reports one
 * skipped test. ~lambdas.json is skipped: the data is JSON, which has no
 * functions, so lambdas are not part of the language (docs/mustache.md).
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mustache.h"
#include "util/buf.h"

static int n_run, n_failed;

static void tap(bool ok, const char *module, const char *name, const char *skip)
{
  n_run++;
  if (!ok)
    n_failed++;
  printf("%s %d - %s: %s", ok ? "ok" : "not ok", n_run, module, name);
  if (skip)
    printf(" # SKIP %s", skip);
  putchar('\n');
}

/* Prints a string with escapes so that whitespace differences show. */
static void show(const char *label, const char *s, size_t n)
{
  printf("#   %s \"", label);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '\n')
      fputs("\\n", stdout);
    else if (ch == '\r')
      fputs("\\r", stdout);
    else if (ch == '\t')
      fputs("\\t", stdout);
    else if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\x%02x", ch);
    else
      putchar(ch);
  }
  fputs("\"\n", stdout);
}

static void run_test(const char *module, json_t *test)
{
  const char *name = json_string_value(json_object_get(test, "name"));
  json_t *tpl_src = json_object_get(test, "template");
  json_t *expected = json_object_get(test, "expected");
  json_t *data = json_object_get(test, "data");
  json_t *partials = json_object_get(test, "partials");
  if (!name || !json_is_string(tpl_src) || !json_is_string(expected)) {
    tap(false, module, name ? name : "(unnamed)", NULL);
    puts("#   malformed spec test");
    return;
  }
  struct ts_error err = {0};
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  bool ok = env != NULL;
  const char *key;
  json_t *value;
  json_object_foreach(partials, key, value)
  {
    if (ok &&
        ts_mustache_env_add_partial(env, key, json_string_value(value),
                                    json_string_length(value), &err) != TS_OK)
      ok = false;
  }
  const struct ts_mustache *tpl = NULL;
  if (ok &&
      ts_mustache_compile_string(env, "template", json_string_value(tpl_src),
                                 json_string_length(tpl_src),
                                 TS_MUSTACHE_ESCAPE_HTML, &tpl, &err) != TS_OK)
    ok = false;
  struct ts_buf out;
  ts_buf_init(&out, 0);
  if (ok && ts_mustache_render_to_buf(tpl, data, &out, &err) != TS_OK)
    ok = false;
  bool same =
      ok && out.len == json_string_length(expected) &&
      memcmp(ts_buf_cstr(&out), json_string_value(expected), out.len) == 0;
  tap(same, module, name, NULL);
  if (!ok) {
    printf("#   error: %s\n", err.msg);
  } else if (!same) {
    show("template:", json_string_value(tpl_src), json_string_length(tpl_src));
    show("got:     ", ts_buf_cstr(&out), out.len);
    show("expected:", json_string_value(expected),
         json_string_length(expected));
  }
  ts_buf_cleanup(&out);
  ts_mustache_env_free(env);
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
  char dir[4096];
  const char *env_dir = getenv("TS_MUSTACHE_SPEC");
  if (env_dir && *env_dir)
    snprintf(dir, sizeof dir, "%s", env_dir);
  else
    snprintf(dir, sizeof dir, "%s/../shared/mustache-spec", ts_test_root());
  DIR *d = opendir(dir);
  if (!d) {
    printf("ok 1 - mustache spec # SKIP spec folder not found: %s\n", dir);
    return 0;
  }
  char *files[64];
  size_t nfiles = 0;
  struct dirent *e;
  while ((e = readdir(d)) && nfiles < 64) {
    size_t n = strlen(e->d_name);
    if (n > 5 && !strcmp(e->d_name + n - 5, ".json"))
      files[nfiles++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(files, nfiles, sizeof *files, by_name);
  for (size_t i = 0; i < nfiles; i++) {
    char module[256];
    snprintf(module, sizeof module, "%.*s", (int)(strlen(files[i]) - 5),
             files[i]);
    if (!strcmp(module, "~lambdas")) {
      tap(true, module, "all tests",
          "lambdas are not supported: the data "
          "is JSON, which has no functions");
      free(files[i]);
      continue;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    json_error_t jerr;
    json_t *spec = json_load_file(path, 0, &jerr);
    if (!spec) {
      tap(false, module, "load", NULL);
      printf("#   %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
      free(files[i]);
      continue;
    }
    json_t *tests = json_object_get(spec, "tests");
    for (size_t k = 0; k < json_array_size(tests); k++)
      run_test(module, json_array_get(tests, k));
    json_decref(spec);
    free(files[i]);
  }
  if (n_run == 0)
    printf("ok 1 - mustache spec # SKIP no spec files in %s\n", dir);
  return n_failed ? 1 : 0;
}

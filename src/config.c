#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/regions.h"

#define CONFIG_MAX_BYTES (1u << 20)

/* Everything a validation step needs to say where it is. */
struct ctx {
  const char *file;
  const struct ts_log *log;
  struct ts_error *err;
};

static const char *const type_names[] = {
  [TS_SOURCE_YOUTUBE] = "youtube",
  [TS_SOURCE_HACKERNEWS] = "hackernews",
  [TS_SOURCE_GUARDIAN] = "guardian",
  [TS_SOURCE_NEWSAPI] = "newsapi",
  [TS_SOURCE_JSONFEED] = "jsonfeed",
};

const char *ts_source_type_name(enum ts_source_type type)
{
  return type_names[type];
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static enum ts_result fail(struct ctx *c, const char *path, const char *fmt,
                           ...)
{
  char what[TS_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return ts_error_set(c->err, TS_ERR_CONFIG, "%s: %s%s%s", c->file, path,
                      path[0] ? ": " : "", what);
}

static char *dup_str(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}

static const char *json_type_name(const json_t *v)
{
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "a value";
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
static size_t edit_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  if (la > 40 || lb > 40)
    return SIZE_MAX;
  size_t row[41];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = tolower((unsigned char)a[i - 1]) ==
                            tolower((unsigned char)b[j - 1])
                        ? 0
                        : 1;
      size_t best = diag + cost;
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* Unknown keys are errors: a misspelt "concurency" must not silently
 * fall back to the default. Keys starting with "//" are comments. */
static enum ts_result check_keys(struct ctx *c, json_t *obj, const char *path,
                                 const char *const *allowed)
{
  const char *key;
  json_t *value;
  json_object_foreach(obj, key, value) {
    (void)value;
    if (!strncmp(key, "//", 2))
      continue;
    bool known = false;
    const char *near = NULL;
    size_t best = 3;
    for (const char *const *a = allowed; *a; a++) {
      if (!strcmp(key, *a)) {
        known = true;
        break;
      }
      size_t d = edit_distance(key, *a);
      if (d < best)
        best = d, near = *a;
    }
    if (known)
      continue;
    char where[512];
    snprintf(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", key);
    if (near)
      return fail(c, where, "unknown key (did you mean \"%s\"?)", near);
    struct ts_buf list;
    ts_buf_init(&list, 0);
    for (const char *const *a = allowed; *a; a++)
      ts_buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
    fail(c, where, "unknown key (known keys: %s)", ts_buf_cstr(&list));
    ts_buf_cleanup(&list);
    return TS_ERR_CONFIG;
  }
  return TS_OK;
}

/* Replaces ${NAME} from the environment. An unset variable is an error
 * unless `unset_ok` (then it expands to "" and *had_unset names it). */
static enum ts_result expand_env(struct ctx *c, const char *path,
                                 const char *in, bool unset_ok, char **out,
                                 char *unset_name, size_t unset_size)
{
  struct ts_buf b;
  ts_buf_init(&b, 64 * 1024);
  enum ts_result result = TS_OK;
  for (const char *p = in; *p && result == TS_OK;) {
    if (p[0] != '$' || p[1] != '{') {
      result = ts_buf_append_char(&b, *p++);
      continue;
    }
    const char *name = p + 2;
    size_t n = 0;
    while (isalnum((unsigned char)name[n]) || name[n] == '_')
      n++;
    if (name[n] != '}' || n == 0 || isdigit((unsigned char)name[0])) {
      ts_buf_cleanup(&b);
      return fail(c, path,
                  "\"%s\": malformed ${VAR} (a variable name is letters, "
                  "digits and '_', closed by '}')",
                  in);
    }
    char var[128];
    if (n >= sizeof var) {
      ts_buf_cleanup(&b);
      return fail(c, path, "environment variable name too long");
    }
    memcpy(var, name, n);
    var[n] = '\0';
    const char *value = getenv(var);
    if (!value) {
      if (!unset_ok) {
        ts_buf_cleanup(&b);
        return fail(c, path, "environment variable %s is not set", var);
      }
      if (unset_name && !unset_name[0])
        snprintf(unset_name, unset_size, "%s", var);
      value = "";
    }
    result = ts_buf_append_str(&b, value);
    p = name + n + 1;
  }
  if (result != TS_OK) {
    ts_buf_cleanup(&b);
    return fail(c, path, "value too long after expanding ${VAR}");
  }
  *out = ts_buf_detach(&b);
  return *out ? TS_OK : fail(c, path, "out of memory");
}

static void join_path(char *buf, size_t size, const char *path,
                      const char *key)
{
  snprintf(buf, size, "%s%s%s", path, path[0] ? "." : "", key);
}

/* A string member. Absent: *out = dup(def), or an error when def is NULL. */
static enum ts_result get_string(struct ctx *c, json_t *obj, const char *path,
                                 const char *key, const char *def, char **out)
{
  char where[512];
  join_path(where, sizeof where, path, key);
  json_t *v = json_object_get(obj, key);
  if (!v) {
    if (!def)
      return fail(c, where, "missing (required)");
    *out = dup_str(def);
    return *out ? TS_OK : fail(c, where, "out of memory");
  }
  if (!json_is_string(v))
    return fail(c, where, "expected a string, found %s", json_type_name(v));
  return expand_env(c, where, json_string_value(v), false, out, NULL, 0);
}

static enum ts_result get_uint(struct ctx *c, json_t *obj, const char *path,
                               const char *key, long long min, long long max,
                               long long def, long long *out)
{
  char where[512];
  join_path(where, sizeof where, path, key);
  json_t *v = json_object_get(obj, key);
  if (!v) {
    *out = def;
    return TS_OK;
  }
  if (!json_is_integer(v))
    return fail(c, where, "expected an integer from %lld to %lld, found %s",
                min, max, json_type_name(v));
  long long n = json_integer_value(v);
  if (n < min || n > max)
    return fail(c, where, "%lld is out of range (%lld to %lld)", n, min, max);
  *out = n;
  return TS_OK;
}

static enum ts_result get_rate(struct ctx *c, json_t *obj, const char *path,
                               struct ts_rate *out)
{
  char where[512];
  join_path(where, sizeof where, path, "rate");
  json_t *v = json_object_get(obj, "rate");
  out->count = 0;
  out->window_ns = 0;
  if (!v)
    return TS_OK;
  if (!json_is_string(v))
    return fail(c, where, "expected a string like \"10/s\", found %s",
                json_type_name(v));
  struct ts_error why;
  if (ts_rate_parse(json_string_value(v), out, &why) != TS_OK)
    return fail(c, where, "%s", why.msg);
  return TS_OK;
}

static bool is_http_url(const char *s)
{
  return (!strncmp(s, "http://", 7) && s[7]) ||
         (!strncmp(s, "https://", 8) && s[8]);
}

static enum ts_result get_url(struct ctx *c, json_t *obj, const char *path,
                              const char *key, const char *def, char **out)
{
  enum ts_result result = get_string(c, obj, path, key, def, out);
  if (result != TS_OK)
    return result;
  if (!is_http_url(*out)) {
    char where[512];
    join_path(where, sizeof where, path, key);
    result = fail(c, where, "\"%s\" is not an http:// or https:// URL", *out);
    free(*out);
    *out = NULL;
    return result;
  }
  return TS_OK;
}

/* Region codes: upper-case for YouTube (`upper`), lower-case for NewsAPI's
 * countries. Either case is accepted in the file. */
static enum ts_result get_regions(struct ctx *c, json_t *obj,
                                  const char *path, const char *key,
                                  const char *def, bool upper,
                                  struct ts_config_source *src)
{
  char where[512];
  join_path(where, sizeof where, path, key);
  json_t *v = json_object_get(obj, key);
  json_t *owned = NULL;
  if (!v) {
    if (!def)
      return fail(c, where, "missing (required): a list like [\"US\", \"JP\"]");
    v = owned = json_pack("[s]", def);
  }
  if (!json_is_array(v) || json_array_size(v) == 0) {
    json_decref(owned);
    return fail(c, where, "expected a non-empty list of region codes like "
                "[\"US\", \"JP\"], found %s",
                json_is_array(v) ? "an empty list" : json_type_name(v));
  }
  size_t n = json_array_size(v);
  src->regions = calloc(n, sizeof *src->regions);
  if (!src->regions) {
    json_decref(owned);
    return fail(c, where, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(v, i);
    char at[600];
    snprintf(at, sizeof at, "%s[%zu]", where, i);
    const char *s = json_string_value(item);
    if (!s) {
      json_decref(owned);
      return fail(c, at, "expected a region code string, found %s",
                  json_type_name(item));
    }
    char code[3] = {0};
    if (strlen(s) == 2) {
      code[0] = (char)toupper((unsigned char)s[0]);
      code[1] = (char)toupper((unsigned char)s[1]);
    }
    if (!ts_region_find(code)) {
      json_decref(owned);
      return fail(c, at, "\"%s\" is not a two-letter region code "
                  "(ISO 3166-1, like \"US\" or \"JP\")", s);
    }
    if (!upper) {
      code[0] = (char)tolower((unsigned char)code[0]);
      code[1] = (char)tolower((unsigned char)code[1]);
    }
    for (size_t j = 0; j < src->nregions; j++) {
      if (!strcmp(src->regions[j], code)) {
        json_decref(owned);
        return fail(c, at, "\"%s\" is listed twice", s);
      }
    }
    if (!(src->regions[src->nregions] = dup_str(code))) {
      json_decref(owned);
      return fail(c, at, "out of memory");
    }
    src->nregions++;
  }
  json_decref(owned);
  return TS_OK;
}

/* Names end up in file names and page ids: keep them plain. */
static bool valid_name(const char *s)
{
  if (!*s || strlen(s) > 40)
    return false;
  for (; *s; s++)
    if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
        *s != '-' && *s != '_')
      return false;
  return true;
}

static enum ts_result get_api_key(struct ctx *c, json_t *obj,
                                  const char *path,
                                  struct ts_config_source *src)
{
  char where[512];
  join_path(where, sizeof where, path, "api_key");
  json_t *v = json_object_get(obj, "api_key");
  if (!v)
    return fail(c, where, "missing (required): use \"${ENV_VAR}\" to read "
                "the key from the environment");
  if (!json_is_string(v))
    return fail(c, where, "expected a string, found %s", json_type_name(v));
  char unset[128] = "";
  enum ts_result result = expand_env(c, where, json_string_value(v), true,
                                     &src->api_key, unset, sizeof unset);
  if (result != TS_OK)
    return result;
  if (!src->api_key[0]) {
    char why[256];
    if (unset[0])
      snprintf(why, sizeof why, "api_key is empty (%s is not set)", unset);
    else
      snprintf(why, sizeof why, "api_key is empty");
    src->enabled = false;
    src->skip_reason = dup_str(why);
  }
  return TS_OK;
}

static enum ts_result load_source(struct ctx *c, json_t *obj, size_t index,
                                  struct ts_config_source *src)
{
  char path[64];
  snprintf(path, sizeof path, "sources[%zu]", index);
  if (!json_is_object(obj))
    return fail(c, path, "expected an object, found %s", json_type_name(obj));
  json_t *type = json_object_get(obj, "type");
  const char *tname = json_string_value(type);
  if (!tname) {
    char where[80];
    snprintf(where, sizeof where, "%s.type", path);
    return fail(c, where, "missing: one of youtube, hackernews, guardian, "
                "newsapi, jsonfeed");
  }
  size_t t = 0;
  while (t < sizeof type_names / sizeof type_names[0] &&
         strcmp(type_names[t], tname))
    t++;
  if (t == sizeof type_names / sizeof type_names[0]) {
    char where[80];
    snprintf(where, sizeof where, "%s.type", path);
    return fail(c, where, "\"%s\" is not a source type (youtube, hackernews, "
                "guardian, newsapi, jsonfeed)", tname);
  }
  src->type = (enum ts_source_type)t;
  src->enabled = true;

  static const char *const youtube_keys[] = {
    "type", "name", "api_key", "regions", "max_results", "pages", "rate",
    "base_url", NULL};
  static const char *const hn_keys[] = {"type", "name", "limit", "rate",
                                        "base_url", NULL};
  static const char *const guardian_keys[] = {
    "type", "name", "api_key", "page_size", "section", "rate", "base_url",
    NULL};
  static const char *const newsapi_keys[] = {
    "type", "name", "api_key", "countries", "page_size", "rate", "base_url",
    NULL};
  static const char *const jsonfeed_keys[] = {"type", "name", "url", "rate",
                                              NULL};
  static const char *const *const keys[] = {
    [TS_SOURCE_YOUTUBE] = youtube_keys,
    [TS_SOURCE_HACKERNEWS] = hn_keys,
    [TS_SOURCE_GUARDIAN] = guardian_keys,
    [TS_SOURCE_NEWSAPI] = newsapi_keys,
    [TS_SOURCE_JSONFEED] = jsonfeed_keys,
  };
  static const char *const default_base[] = {
    [TS_SOURCE_YOUTUBE] = "https://www.googleapis.com/youtube/v3",
    [TS_SOURCE_HACKERNEWS] = "https://hacker-news.firebaseio.com/v0",
    [TS_SOURCE_GUARDIAN] = "https://content.guardianapis.com",
    [TS_SOURCE_NEWSAPI] = "https://newsapi.org/v2",
    [TS_SOURCE_JSONFEED] = NULL,
  };
  enum ts_result r = check_keys(c, obj, path, keys[t]);
  if (r == TS_OK)
    r = get_string(c, obj, path, "name",
                   src->type == TS_SOURCE_JSONFEED ? NULL : tname, &src->name);
  if (r == TS_OK && !valid_name(src->name)) {
    char where[80];
    snprintf(where, sizeof where, "%s.name", path);
    r = fail(c, where, "\"%s\": use lower-case letters, digits, '-' and '_' "
             "(it becomes part of file names)", src->name);
  }
  if (r == TS_OK)
    r = get_rate(c, obj, path, &src->rate);
  if (r == TS_OK && default_base[t]) {
    r = get_url(c, obj, path, "base_url", default_base[t], &src->base_url);
    size_t n = src->base_url ? strlen(src->base_url) : 0;
    while (n > 0 && src->base_url[n - 1] == '/')
      src->base_url[--n] = '\0';
  }
  if (r != TS_OK)
    return r;

  long long n = 0;
  switch (src->type) {
  case TS_SOURCE_YOUTUBE:
    r = get_api_key(c, obj, path, src);
    if (r == TS_OK)
      r = get_regions(c, obj, path, "regions", NULL, true, src);
    if (r == TS_OK && (r = get_uint(c, obj, path, "max_results", 1, 50, 50,
                                    &n)) == TS_OK)
      src->max_results = (unsigned)n;
    if (r == TS_OK && (r = get_uint(c, obj, path, "pages", 1, 10, 1, &n)) ==
                          TS_OK)
      src->pages = (unsigned)n;
    break;
  case TS_SOURCE_HACKERNEWS:
    if ((r = get_uint(c, obj, path, "limit", 1, 500, 30, &n)) == TS_OK)
      src->limit = (unsigned)n;
    break;
  case TS_SOURCE_GUARDIAN:
    r = get_api_key(c, obj, path, src);
    if (r == TS_OK && (r = get_uint(c, obj, path, "page_size", 1, 200, 20,
                                    &n)) == TS_OK)
      src->limit = (unsigned)n;
    if (r == TS_OK && json_object_get(obj, "section"))
      r = get_string(c, obj, path, "section", NULL, &src->section);
    break;
  case TS_SOURCE_NEWSAPI:
    r = get_api_key(c, obj, path, src);
    if (r == TS_OK)
      r = get_regions(c, obj, path, "countries", "us", false, src);
    if (r == TS_OK && (r = get_uint(c, obj, path, "page_size", 1, 100, 20,
                                    &n)) == TS_OK)
      src->limit = (unsigned)n;
    break;
  case TS_SOURCE_JSONFEED:
    r = get_url(c, obj, path, "url", NULL, &src->url);
    break;
  }
  return r;
}

static void free_source(struct ts_config_source *s)
{
  free(s->name);
  free(s->api_key);
  free(s->base_url);
  free(s->url);
  free(s->section);
  free(s->skip_reason);
  for (size_t i = 0; i < s->nregions; i++)
    free(s->regions[i]);
  free(s->regions);
}

void ts_config_free(struct ts_config *cfg)
{
  if (!cfg)
    return;
  free(cfg->path);
  free(cfg->site.title);
  free(cfg->site.description);
  free(cfg->site.base_url);
  free(cfg->site.language);
  free(cfg->output);
  free(cfg->templates);
  free(cfg->state);
  for (size_t i = 0; i < cfg->nsources; i++)
    free_source(&cfg->sources[i]);
  free(cfg->sources);
  free(cfg);
}

static bool valid_language(const char *s)
{
  /* BCP 47, loosely: "en", "pt-BR", "zh-Hant". */
  size_t n = strlen(s);
  if (n < 2 || n > 35 || !isalpha((unsigned char)s[0]))
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-')
      return false;
  return true;
}

static enum ts_result load_site(struct ctx *c, json_t *root,
                                struct ts_config *cfg)
{
  json_t *site = json_object_get(root, "site");
  if (!site)
    return fail(c, "site", "missing (required): {\"title\": ..., "
                "\"base_url\": \"https://USER.github.io/REPO/\"}");
  if (!json_is_object(site))
    return fail(c, "site", "expected an object, found %s",
                json_type_name(site));
  static const char *const keys[] = {"title", "description", "base_url",
                                     "language", NULL};
  enum ts_result r = check_keys(c, site, "site", keys);
  if (r == TS_OK)
    r = get_string(c, site, "site", "title", "Trending now", &cfg->site.title);
  if (r == TS_OK)
    r = get_string(c, site, "site", "description",
                   "What is trending right now, refreshed on a schedule.",
                   &cfg->site.description);
  if (r == TS_OK)
    r = get_url(c, site, "site", "base_url", NULL, &cfg->site.base_url);
  if (r == TS_OK) {
    /* Relative links are resolved against it: it must name a folder. */
    size_t n = strlen(cfg->site.base_url);
    if (cfg->site.base_url[n - 1] != '/') {
      char *s = malloc(n + 2);
      if (!s)
        return fail(c, "site.base_url", "out of memory");
      memcpy(s, cfg->site.base_url, n);
      memcpy(s + n, "/", 2);
      free(cfg->site.base_url);
      cfg->site.base_url = s;
    }
  }
  if (r == TS_OK)
    r = get_string(c, site, "site", "language", "en", &cfg->site.language);
  if (r == TS_OK && !valid_language(cfg->site.language))
    r = fail(c, "site.language", "\"%s\" is not a language tag like \"en\" "
             "or \"pt-BR\"", cfg->site.language);
  return r;
}

static enum ts_result load_fetch(struct ctx *c, json_t *root,
                                 struct ts_config *cfg)
{
  json_t *fetch = json_object_get(root, "fetch");
  json_t *empty = NULL;
  if (!fetch)
    fetch = empty = json_object();
  if (!json_is_object(fetch))
    return fail(c, "fetch", "expected an object, found %s",
                json_type_name(fetch));
  static const char *const keys[] = {
    "concurrency", "per_host", "rate", "timeout_ms", "connect_timeout_ms",
    "stall_ms", "deadline_ms", "retries", "backoff_ms", "max_response_bytes",
    NULL};
  long long v[9];
  enum ts_result r = check_keys(c, fetch, "fetch", keys);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "concurrency", 1, 256, 3, &v[0]);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "per_host", 1, 64, 6, &v[1]);
  if (r == TS_OK)
    r = get_rate(c, fetch, "fetch", &cfg->fetch.rate);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "timeout_ms", 100, 600000, 10000, &v[2]);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "connect_timeout_ms", 0, 600000, 0, &v[3]);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "stall_ms", 0, 600000, 5000, &v[4]);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "deadline_ms", 1000, 21600000, 120000,
                 &v[5]);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "retries", 0, 10, 3, &v[6]);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "backoff_ms", 1, 600000, 500, &v[7]);
  if (r == TS_OK)
    r = get_uint(c, fetch, "fetch", "max_response_bytes", 1024, 1LL << 30,
                 8388608, &v[8]);
  json_decref(empty);
  if (r != TS_OK)
    return r;
  cfg->fetch.concurrency = (unsigned)v[0];
  cfg->fetch.per_host = (unsigned)v[1];
  cfg->fetch.timeout_ms = (long)v[2];
  cfg->fetch.connect_timeout_ms = (long)v[3];
  cfg->fetch.stall_ms = (long)v[4];
  cfg->fetch.deadline_ms = (long)v[5];
  cfg->fetch.retries = (unsigned)v[6];
  cfg->fetch.backoff_ms = (long)v[7];
  cfg->fetch.max_response_bytes = (size_t)v[8];
  return TS_OK;
}

static enum ts_result load_sources(struct ctx *c, json_t *root,
                                   struct ts_config *cfg)
{
  json_t *sources = json_object_get(root, "sources");
  if (!sources)
    return fail(c, "sources", "missing (required): a list of sources");
  if (!json_is_array(sources))
    return fail(c, "sources", "expected a list, found %s",
                json_type_name(sources));
  size_t n = json_array_size(sources);
  cfg->sources = calloc(n ? n : 1, sizeof *cfg->sources);
  if (!cfg->sources)
    return fail(c, "sources", "out of memory");
  for (size_t i = 0; i < n; i++) {
    struct ts_config_source *src = &cfg->sources[i];
    cfg->nsources = i + 1;
    enum ts_result r = load_source(c, json_array_get(sources, i), i, src);
    if (r != TS_OK)
      return r;
    for (size_t j = 0; j < i; j++) {
      if (!strcmp(cfg->sources[j].name, src->name)) {
        char where[80];
        snprintf(where, sizeof where, "sources[%zu].name", i);
        return fail(c, where, "\"%s\" is already the name of sources[%zu]; "
                    "give each source its own \"name\"", src->name, j);
      }
    }
  }
  for (size_t i = 0; i < cfg->nsources; i++) {
    const struct ts_config_source *src = &cfg->sources[i];
    if (!src->enabled)
      ts_log_warn(c->log, "%s: sources[%zu] (%s): %s: skipping this source",
                  c->file, i, src->name, src->skip_reason);
  }
  return TS_OK;
}

enum ts_result ts_config_parse(const char *path, const char *text, size_t len,
                               const struct ts_log *log,
                               struct ts_config **out, struct ts_error *err)
{
  struct ctx c = {path, log, err};
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return ts_error_set(err, TS_ERR_CONFIG, "%s:%d:%d: %s", path, jerr.line,
                        jerr.column, jerr.text);
  struct ts_config *cfg = calloc(1, sizeof *cfg);
  enum ts_result r = TS_OK;
  if (!cfg || !(cfg->path = dup_str(path))) {
    r = ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  if (!json_is_object(root)) {
    r = fail(&c, "", "expected an object at the top, found %s",
             json_type_name(root));
    goto done;
  }
  static const char *const keys[] = {
    "$schema", "site", "output", "templates", "state", "fetch", "sources",
    "history_days", "stale_after_hours", NULL};
  long long days = 0, hours = 0;
  if ((r = check_keys(&c, root, "", keys)) != TS_OK ||
      (r = load_site(&c, root, cfg)) != TS_OK ||
      (r = get_string(&c, root, "", "output", "site", &cfg->output)) !=
          TS_OK ||
      (r = get_string(&c, root, "", "templates", "templates",
                      &cfg->templates)) != TS_OK ||
      (r = get_string(&c, root, "", "state", ".trendsite", &cfg->state)) !=
          TS_OK ||
      (r = load_fetch(&c, root, cfg)) != TS_OK ||
      (r = get_uint(&c, root, "", "history_days", 1, 3650, 30, &days)) !=
          TS_OK ||
      (r = get_uint(&c, root, "", "stale_after_hours", 1, 8760, 48,
                    &hours)) != TS_OK ||
      (r = load_sources(&c, root, cfg)) != TS_OK)
    goto done;
  cfg->history_days = (unsigned)days;
  cfg->stale_after_hours = (unsigned)hours;
  const char *dirs[] = {cfg->output, cfg->templates, cfg->state};
  const char *names[] = {"output", "templates", "state"};
  for (int i = 0; i < 3; i++) {
    if (!dirs[i][0]) {
      r = fail(&c, names[i], "must not be empty");
      goto done;
    }
  }
done:
  json_decref(root);
  if (r != TS_OK) {
    ts_config_free(cfg);
    return r;
  }
  *out = cfg;
  return TS_OK;
}

enum ts_result ts_config_load(const char *path, const struct ts_log *log,
                              struct ts_config **out, struct ts_error *err)
{
  char *text;
  size_t len;
  enum ts_result r = ts_fs_read(path, CONFIG_MAX_BYTES, &text, &len, err);
  if (r == TS_ERR_NOTFOUND)
    return ts_error_set(err, TS_ERR_CONFIG,
                        "%s: no such file (pass --config FILE, or copy "
                        "trendsite.json from the repository)",
                        path);
  if (r != TS_OK)
    return err ? (err->code = TS_ERR_CONFIG) : TS_ERR_CONFIG;
  r = ts_config_parse(path, text, len, log, out, err);
  free(text);
  return r;
}

const char **ts_config_secrets(const struct ts_config *cfg)
{
  const char **list = calloc(cfg->nsources + 1, sizeof *list);
  if (!list)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < cfg->nsources; i++)
    if (cfg->sources[i].api_key && cfg->sources[i].api_key[0])
      list[n++] = cfg->sources[i].api_key;
  return list;
}

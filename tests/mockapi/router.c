#include "router.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "util/fs.h"

/* The body the "invalid_json" fault sends unless the fault gives one. */
static const char INVALID_JSON[] = "{\"items\": [1, 2,, 3], 'next': NaN}\n";
/* A generated (oversize) body is {"padding":"xxx...x"}: valid JSON of the
 * exact size asked for, so only a client's size cap can reject it. */
static const char GEN_PREFIX[] = "{\"padding\":\"";
static const char GEN_SUFFIX[] = "\"}";
#define JSON_TYPE "application/json; charset=UTF-8"
#define MAX_LATENCY_MS 3600000u
#define MAX_GENERATED (1ull << 40)

enum fault_kind {
  K_NONE,
  K_HANG,
  K_CLOSE_MID_BODY,
  K_TRUNCATE,
  K_INVALID_JSON,
  K_OVERSIZE,
  K_STALL,
  K_DRIP,
  K_EMPTY_REPLY
};

static const char *const kind_names[] = {
    [K_NONE] = "status",
    [K_HANG] = "hang",
    [K_CLOSE_MID_BODY] = "close_mid_body",
    [K_TRUNCATE] = "truncate",
    [K_INVALID_JSON] = "invalid_json",
    [K_OVERSIZE] = "oversize",
    [K_STALL] = "stall",
    [K_DRIP] = "drip",
    [K_EMPTY_REPLY] = "empty_reply",
};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])

struct header {
  char *name;
  char *value;
};

/* A response description: a route's own answer, or a fault that replaces
 * parts of it. Zero/NULL fields are "not given". */
struct spec {
  enum fault_kind kind;
  int status;
  char *file;   /* relative to root; may contain {param} */
  bool literal; /* file is a request path: no {param} expansion */
  char *body;
  size_t body_len;
  bool has_body;
  char *content_type;
  char *retry_after;
  struct header *headers;
  size_t nheaders;
  uint64_t bytes;       /* oversize: body size */
  uint64_t after_bytes; /* stall: bytes sent before stalling */
  size_t chunk_bytes;   /* drip: piece size */
  unsigned interval_ms; /* drip: pause between pieces */
  bool has_latency;
  unsigned lat_min, lat_max;
};

/* Per-URL fail counters: an open-addressing table of url -> count. */
struct counters {
  char **keys;
  unsigned *counts;
  size_t cap, len;
};

enum qmatch_kind { Q_EQUALS, Q_ABSENT, Q_PRESENT };

struct qmatch {
  char *name;
  char *value; /* Q_EQUALS only */
  enum qmatch_kind kind;
};

struct route {
  char *path; /* pattern */
  struct qmatch *query;
  size_t nquery;
  struct spec base;
  struct spec *fail; /* expanded: a fault with "repeat": 3 is here 3 times */
  size_t nfail;
  bool per_url;
  unsigned count;
  struct counters urls;
  bool gzip;
  char *etag;
  char *last_modified;
  time_t lm_time;
};

struct random_faults {
  bool on;
  double p;
  bool has_seed;
  uint64_t seed;
  struct spec *kinds;
  size_t nkinds;
  char **paths; /* patterns; none: every path */
  size_t npaths;
};

struct config {
  struct route *routes;
  size_t nroutes;
  bool has_latency;
  unsigned lat_min, lat_max;
  struct random_faults random;
};

struct mock_router {
  char *root_real; /* realpath of root; files must resolve inside it */
  char *routes_path;
  uint64_t seed;
  struct config *cfg;
  uint64_t rng;
};

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

static char *dup_str(const char *s)
{
  size_t n = strlen(s);
  char *c = malloc(n + 1);
  if (c)
    memcpy(c, s, n + 1);
  return c;
}

/* splitmix64: a tiny, well-mixed generator; also used as a hash finaliser. */
static uint64_t mix64(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t next_random(uint64_t *state)
{
  *state += 0x9e3779b97f4a7c15ull;
  return mix64(*state);
}

static uint64_t hash_str(uint64_t seed, const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull ^ mix64(seed);
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return mix64(h);
}

/*
 * Matches a path against a pattern: `*` matches any run of characters
 * except '/', `**` any run including '/'; everything else literally.
 * Patterns come from the routes file, so the backtracking is bounded by
 * what a fixture author writes.
 */
static bool glob_match(const char *p, const char *s)
{
  while (*p) {
    if (p[0] == '*' && p[1] == '*') {
      p += 2;
      for (;; s++) {
        if (glob_match(p, s))
          return true;
        if (!*s)
          return false;
      }
    }
    if (*p == '*') {
      p++;
      for (;; s++) {
        if (glob_match(p, s))
          return true;
        if (!*s || *s == '/')
          return false;
      }
    }
    if (*p != *s)
      return false;
    p++, s++;
  }
  return *s == '\0';
}

static void spec_cleanup(struct spec *s)
{
  free(s->file);
  free(s->body);
  free(s->content_type);
  free(s->retry_after);
  for (size_t i = 0; i < s->nheaders; i++) {
    free(s->headers[i].name);
    free(s->headers[i].value);
  }
  free(s->headers);
  memset(s, 0, sizeof *s);
}

/* Deep copy, for a fault listed with "repeat". */
static bool spec_copy(struct spec *dst, const struct spec *src)
{
  *dst = *src;
  dst->file = NULL, dst->body = NULL, dst->content_type = NULL;
  dst->retry_after = NULL, dst->headers = NULL, dst->nheaders = 0;
  bool ok = true;
  if (src->file)
    ok &= (dst->file = dup_str(src->file)) != NULL;
  if (src->has_body) {
    dst->body = malloc(src->body_len + 1);
    if (dst->body)
      memcpy(dst->body, src->body, src->body_len + 1);
    ok &= dst->body != NULL;
  }
  if (src->content_type)
    ok &= (dst->content_type = dup_str(src->content_type)) != NULL;
  if (src->retry_after)
    ok &= (dst->retry_after = dup_str(src->retry_after)) != NULL;
  if (src->nheaders) {
    dst->headers = calloc(src->nheaders, sizeof *dst->headers);
    ok &= dst->headers != NULL;
    for (size_t i = 0; ok && i < src->nheaders; i++) {
      dst->headers[i].name = dup_str(src->headers[i].name);
      dst->headers[i].value = dup_str(src->headers[i].value);
      dst->nheaders++;
      ok &= dst->headers[i].name && dst->headers[i].value;
    }
  }
  if (!ok)
    spec_cleanup(dst);
  return ok;
}

static void counters_cleanup(struct counters *c)
{
  for (size_t i = 0; i < c->cap; i++)
    free(c->keys[i]);
  free(c->keys);
  free(c->counts);
  memset(c, 0, sizeof *c);
}

/* Returns the slot for `key`, inserting it with count 0; NULL when out of
 * memory (the caller then treats the URL as seen for the first time). */
static unsigned *counters_slot(struct counters *c, const char *key)
{
  if ((c->len + 1) * 10 > c->cap * 7) {
    size_t ncap = c->cap ? c->cap * 2 : 64;
    char **keys = calloc(ncap, sizeof *keys);
    unsigned *counts = calloc(ncap, sizeof *counts);
    if (!keys || !counts) {
      free(keys);
      free(counts);
      return NULL;
    }
    for (size_t i = 0; i < c->cap; i++) {
      if (!c->keys[i])
        continue;
      size_t j = hash_str(0, c->keys[i]) & (ncap - 1);
      while (keys[j])
        j = (j + 1) & (ncap - 1);
      keys[j] = c->keys[i];
      counts[j] = c->counts[i];
    }
    free(c->keys);
    free(c->counts);
    c->keys = keys, c->counts = counts, c->cap = ncap;
  }
  size_t j = hash_str(0, key) & (c->cap - 1);
  while (c->keys[j]) {
    if (!strcmp(c->keys[j], key))
      return &c->counts[j];
    j = (j + 1) & (c->cap - 1);
  }
  c->keys[j] = dup_str(key);
  if (!c->keys[j])
    return NULL;
  c->counts[j] = 0;
  c->len++;
  return &c->counts[j];
}

static void config_free(struct config *cfg)
{
  if (!cfg)
    return;
  for (size_t i = 0; i < cfg->nroutes; i++) {
    struct route *r = &cfg->routes[i];
    free(r->path);
    for (size_t j = 0; j < r->nquery; j++) {
      free(r->query[j].name);
      free(r->query[j].value);
    }
    free(r->query);
    spec_cleanup(&r->base);
    for (size_t j = 0; j < r->nfail; j++)
      spec_cleanup(&r->fail[j]);
    free(r->fail);
    counters_cleanup(&r->urls);
    free(r->etag);
    free(r->last_modified);
  }
  free(cfg->routes);
  for (size_t i = 0; i < cfg->random.nkinds; i++)
    spec_cleanup(&cfg->random.kinds[i]);
  free(cfg->random.kinds);
  for (size_t i = 0; i < cfg->random.npaths; i++)
    free(cfg->random.paths[i]);
  free(cfg->random.paths);
  free(cfg);
}

/* ---------------------------------------------------------------------- */
/* Loading the routes file                                                */

/* Parsing context: the file name for messages and the error sink. */
struct loader {
  const char *file;
  struct ts_error *err;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool
bad(struct loader *l, const char *where, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ts_error_set(l->err, TS_ERR_CONFIG, "%s: %s: %s", l->file, where, msg);
  return false;
}

static bool nomem(struct loader *l, const char *where)
{
  ts_error_set(l->err, TS_ERR_NOMEM, "%s: %s: out of memory", l->file, where);
  return false;
}

static bool check_keys(struct loader *l, json_t *obj, const char *where,
                       const char *const *allowed)
{
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v)
  {
    bool known = false;
    for (const char *const *a = allowed; *a && !known; a++)
      known = !strcmp(*a, key);
    if (!known)
      return bad(l, where, "unknown key \"%s\"", key);
  }
  return true;
}

static bool get_uint(struct loader *l, json_t *v, const char *where,
                     const char *key, uint64_t max, uint64_t *out)
{
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      (uint64_t)json_integer_value(v) > max)
    return bad(l, where, "%s: expected an integer from 0 to %llu", key,
               (unsigned long long)max);
  *out = (uint64_t)json_integer_value(v);
  return true;
}

static bool get_string(struct loader *l, json_t *v, const char *where,
                       const char *key, char **out)
{
  if (!json_is_string(v))
    return bad(l, where, "%s: expected a string", key);
  *out = dup_str(json_string_value(v));
  return *out ? true : nomem(l, where);
}

static bool parse_latency(struct loader *l, json_t *v, const char *where,
                          unsigned *min, unsigned *max)
{
  uint64_t a, b;
  if (json_is_integer(v)) {
    if (!get_uint(l, v, where, "latency_ms", MAX_LATENCY_MS, &a))
      return false;
    *min = *max = (unsigned)a;
    return true;
  }
  if (!json_is_array(v) || json_array_size(v) != 2)
    return bad(l, where, "latency_ms: expected a number or [min, max]");
  if (!get_uint(l, json_array_get(v, 0), where, "latency_ms[0]", MAX_LATENCY_MS,
                &a) ||
      !get_uint(l, json_array_get(v, 1), where, "latency_ms[1]", MAX_LATENCY_MS,
                &b))
    return false;
  if (a > b)
    return bad(l, where, "latency_ms: min %llu is above max %llu",
               (unsigned long long)a, (unsigned long long)b);
  *min = (unsigned)a, *max = (unsigned)b;
  return true;
}

static bool header_value_ok(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 && *s != '\t')
      return false;
  return true;
}

static bool parse_headers(struct loader *l, json_t *v, const char *where,
                          struct spec *s)
{
  if (!json_is_object(v))
    return bad(l, where, "headers: expected an object of strings");
  s->headers = calloc(json_object_size(v) + 1, sizeof *s->headers);
  if (!s->headers)
    return nomem(l, where);
  const char *name;
  json_t *value;
  json_object_foreach(v, name, value)
  {
    if (!json_is_string(value))
      return bad(l, where, "headers.%s: expected a string", name);
    /* These would break the framing the server does itself. */
    if (!strcasecmp(name, "Content-Length") ||
        !strcasecmp(name, "Transfer-Encoding") ||
        !strcasecmp(name, "Connection"))
      return bad(l, where, "headers.%s: set by the server", name);
    bool name_ok = *name != '\0';
    for (const char *c = name; *c; c++)
      name_ok &= (*c > 0x20 && *c < 0x7f && *c != ':');
    if (!name_ok || !header_value_ok(json_string_value(value)))
      return bad(l, where, "headers.%s: not a valid header", name);
    struct header *h = &s->headers[s->nheaders];
    h->name = dup_str(name);
    h->value = dup_str(json_string_value(value));
    s->nheaders++;
    if (!h->name || !h->value)
      return nomem(l, where);
  }
  return true;
}

static bool parse_kind(struct loader *l, json_t *v, const char *where,
                       enum fault_kind *out)
{
  if (json_is_string(v))
    for (size_t k = 1; k < NKINDS; k++)
      if (!strcmp(json_string_value(v), kind_names[k])) {
        *out = (enum fault_kind)k;
        return true;
      }
  return bad(l, where,
             "kind: expected one of hang, close_mid_body, truncate, "
             "invalid_json, oversize, stall, drip, empty_reply");
}

/* The keys a route and a fault share: what to answer. */
static bool parse_response_keys(struct loader *l, json_t *obj,
                                const char *where, struct spec *s)
{
  json_t *v;
  uint64_t n;
  if ((v = json_object_get(obj, "kind")) && !parse_kind(l, v, where, &s->kind))
    return false;
  if ((v = json_object_get(obj, "status"))) {
    if (!json_is_integer(v) || json_integer_value(v) < 100 ||
        json_integer_value(v) > 599)
      return bad(l, where, "status: expected an HTTP status (100-599)");
    s->status = (int)json_integer_value(v);
  }
  if ((v = json_object_get(obj, "file"))) {
    if (!get_string(l, v, where, "file", &s->file))
      return false;
    if (s->file[0] == '/' || strstr(s->file, ".."))
      return bad(l, where, "file: must be relative to the root, without ..");
  }
  if ((v = json_object_get(obj, "body"))) {
    if (s->file)
      return bad(l, where, "file and body: give one, not both");
    if (json_is_string(v)) {
      s->body_len = json_string_length(v);
      s->body = malloc(s->body_len + 1);
      if (s->body)
        memcpy(s->body, json_string_value(v), s->body_len + 1);
    } else {
      s->body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      s->body_len = s->body ? strlen(s->body) : 0;
    }
    if (!s->body)
      return nomem(l, where);
    s->has_body = true;
  }
  if ((v = json_object_get(obj, "content_type")) &&
      !get_string(l, v, where, "content_type", &s->content_type))
    return false;
  if (s->content_type && !header_value_ok(s->content_type))
    return bad(l, where, "content_type: not a valid header value");
  if ((v = json_object_get(obj, "retry_after"))) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
      char num[32];
      snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
      s->retry_after = dup_str(num);
      if (!s->retry_after)
        return nomem(l, where);
    } else if (!json_is_string(v) || !header_value_ok(json_string_value(v))) {
      return bad(l, where, "retry_after: expected seconds or an HTTP date");
    } else if (!get_string(l, v, where, "retry_after", &s->retry_after)) {
      return false;
    }
  }
  if ((v = json_object_get(obj, "headers")) && !parse_headers(l, v, where, s))
    return false;
  if ((v = json_object_get(obj, "bytes"))) {
    if (!get_uint(l, v, where, "bytes", MAX_GENERATED, &s->bytes))
      return false;
  }
  if ((v = json_object_get(obj, "after_bytes"))) {
    if (!get_uint(l, v, where, "after_bytes", MAX_GENERATED, &s->after_bytes))
      return false;
  }
  if ((v = json_object_get(obj, "chunk_bytes"))) {
    if (!get_uint(l, v, where, "chunk_bytes", 1u << 24, &n))
      return false;
    s->chunk_bytes = (size_t)n;
  }
  s->interval_ms = 100;
  if ((v = json_object_get(obj, "interval_ms"))) {
    if (!get_uint(l, v, where, "interval_ms", MAX_LATENCY_MS, &n))
      return false;
    s->interval_ms = (unsigned)n;
  }
  if ((v = json_object_get(obj, "latency_ms"))) {
    if (!parse_latency(l, v, where, &s->lat_min, &s->lat_max))
      return false;
    s->has_latency = true;
  }
  if (s->kind == K_OVERSIZE && s->bytes == 0)
    return bad(l, where, "oversize: needs \"bytes\" > 0");
  if (s->kind == K_DRIP && s->chunk_bytes == 0)
    return bad(l, where, "drip: needs \"chunk_bytes\" > 0");
  return true;
}

static const char *const fault_keys[] = {
    "kind",        "status",     "file",   "body",        "content_type",
    "retry_after", "headers",    "bytes",  "after_bytes", "chunk_bytes",
    "interval_ms", "latency_ms", "repeat", "comment",     NULL};

/* Parses one fault of a `fail` list or of random.kinds; *repeat is how many
 * times it applies in a row. */
static bool parse_fault(struct loader *l, json_t *obj, const char *where,
                        struct spec *s, uint64_t *repeat)
{
  memset(s, 0, sizeof *s);
  *repeat = 1;
  if (!json_is_object(obj))
    return bad(l, where, "expected an object");
  if (!check_keys(l, obj, where, fault_keys))
    return false;
  json_t *v = json_object_get(obj, "repeat");
  if (v && (!get_uint(l, v, where, "repeat", 10000, repeat) || *repeat == 0))
    return *repeat == 0 ? bad(l, where, "repeat: must be at least 1") : false;
  if (!parse_response_keys(l, obj, where, s))
    return false;
  if (s->kind == K_NONE && !s->status && !s->file && !s->has_body)
    return bad(l, where, "a fault needs kind, status, file or body");
  return true;
}

static bool parse_query(struct loader *l, json_t *v, const char *where,
                        struct route *r)
{
  if (!json_is_object(v))
    return bad(l, where, "query: expected an object");
  r->query = calloc(json_object_size(v) + 1, sizeof *r->query);
  if (!r->query)
    return nomem(l, where);
  const char *name;
  json_t *value;
  json_object_foreach(v, name, value)
  {
    struct qmatch *q = &r->query[r->nquery];
    if (json_is_null(value)) {
      q->kind = Q_ABSENT;
    } else if (json_is_true(value)) {
      q->kind = Q_PRESENT;
    } else if (json_is_string(value)) {
      q->kind = Q_EQUALS;
      q->value = dup_str(json_string_value(value));
      if (!q->value)
        return nomem(l, where);
    } else {
      return bad(l, where,
                 "query.%s: expected a string, null (absent) or true "
                 "(present)",
                 name);
    }
    q->name = dup_str(name);
    r->nquery++;
    if (!q->name)
      return nomem(l, where);
  }
  return true;
}

static bool parse_slow_body(struct loader *l, json_t *v, const char *where,
                            struct spec *base)
{
  static const char *const keys[] = {
      "kind", "after_bytes", "chunk_bytes", "interval_ms", "comment", NULL};
  char at[160];
  snprintf(at, sizeof at, "%s.slow_body", where);
  if (!json_is_object(v))
    return bad(l, at, "expected an object");
  if (!check_keys(l, v, at, keys))
    return false;
  if (base->kind != K_NONE)
    return bad(l, at, "the route already has a kind");
  struct spec s = {0};
  if (!parse_response_keys(l, v, at, &s)) {
    spec_cleanup(&s);
    return false;
  }
  if (s.kind != K_STALL && s.kind != K_DRIP) {
    spec_cleanup(&s);
    return bad(l, at, "kind: expected stall or drip");
  }
  base->kind = s.kind;
  base->after_bytes = s.after_bytes;
  base->chunk_bytes = s.chunk_bytes;
  base->interval_ms = s.interval_ms;
  spec_cleanup(&s);
  return true;
}

static bool parse_fail_list(struct loader *l, json_t *v, const char *where,
                            struct route *r)
{
  if (!json_is_array(v))
    return bad(l, where, "fail: expected a list of faults");
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item)
  {
    char at[160];
    snprintf(at, sizeof at, "%s.fail[%zu]", where, i);
    struct spec s;
    uint64_t repeat;
    if (!parse_fault(l, item, at, &s, &repeat)) {
      spec_cleanup(&s);
      return false;
    }
    if (r->nfail + repeat > 100000) {
      spec_cleanup(&s);
      return bad(l, at, "more than 100000 faults in one list");
    }
    struct spec *grown = realloc(r->fail, (r->nfail + repeat) * sizeof *grown);
    if (!grown) {
      spec_cleanup(&s);
      return nomem(l, at);
    }
    r->fail = grown;
    for (uint64_t k = 1; k < repeat; k++) {
      if (!spec_copy(&r->fail[r->nfail], &s)) {
        spec_cleanup(&s);
        return nomem(l, at);
      }
      r->nfail++;
    }
    r->fail[r->nfail++] = s;
  }
  return true;
}

static const char *const route_keys[] = {"path",          "query",
                                         "fail",          "per",
                                         "gzip",          "etag",
                                         "last_modified", "slow_body",
                                         "comment",       "kind",
                                         "status",        "file",
                                         "body",          "content_type",
                                         "retry_after",   "headers",
                                         "bytes",         "after_bytes",
                                         "chunk_bytes",   "interval_ms",
                                         "latency_ms",    NULL};

static bool parse_route(struct loader *l, json_t *obj, size_t index,
                        struct route *r)
{
  char where[64];
  snprintf(where, sizeof where, "routes[%zu]", index);
  if (!json_is_object(obj))
    return bad(l, where, "expected an object");
  if (!check_keys(l, obj, where, route_keys))
    return false;
  json_t *v = json_object_get(obj, "path");
  if (!v)
    return bad(l, where, "path: missing");
  if (!get_string(l, v, where, "path", &r->path))
    return false;
  if (r->path[0] != '/')
    return bad(l, where, "path: must start with '/'");
  if ((v = json_object_get(obj, "query")) && !parse_query(l, v, where, r))
    return false;
  if (!parse_response_keys(l, obj, where, &r->base))
    return false;
  if ((v = json_object_get(obj, "slow_body")) &&
      !parse_slow_body(l, v, where, &r->base))
    return false;
  if ((v = json_object_get(obj, "fail")) && !parse_fail_list(l, v, where, r))
    return false;
  if ((v = json_object_get(obj, "per"))) {
    const char *per = json_string_value(v);
    if (!per || (strcmp(per, "url") && strcmp(per, "route")))
      return bad(l, where, "per: expected \"url\" or \"route\"");
    r->per_url = !strcmp(per, "url");
  }
  if ((v = json_object_get(obj, "gzip"))) {
    if (!json_is_boolean(v))
      return bad(l, where, "gzip: expected true or false");
    r->gzip = json_is_true(v);
  }
  if ((v = json_object_get(obj, "etag"))) {
    if (!get_string(l, v, where, "etag", &r->etag))
      return false;
    if (!header_value_ok(r->etag) || !r->etag[0])
      return bad(l, where, "etag: not a valid header value");
  }
  if ((v = json_object_get(obj, "last_modified"))) {
    if (!get_string(l, v, where, "last_modified", &r->last_modified))
      return false;
    if (!mock_http_parse_date(r->last_modified, &r->lm_time))
      return bad(l, where,
                 "last_modified: expected an HTTP date like "
                 "\"Sun, 06 Nov 1994 08:49:37 GMT\"");
  }
  return true;
}

static bool parse_random(struct loader *l, json_t *obj, struct config *cfg)
{
  static const char *const keys[] = {"p",     "seed",    "kinds",
                                     "paths", "comment", NULL};
  struct random_faults *rf = &cfg->random;
  if (!json_is_object(obj))
    return bad(l, "random", "expected an object");
  if (!check_keys(l, obj, "random", keys))
    return false;
  json_t *v = json_object_get(obj, "p");
  if (!json_is_number(v) || json_number_value(v) < 0 ||
      json_number_value(v) > 1)
    return bad(l, "random", "p: expected a probability from 0 to 1");
  rf->p = json_number_value(v);
  if ((v = json_object_get(obj, "seed"))) {
    if (!get_uint(l, v, "random", "seed", UINT64_MAX >> 1, &rf->seed))
      return false;
    rf->has_seed = true;
  }
  v = json_object_get(obj, "kinds");
  if (!json_is_array(v) || json_array_size(v) == 0)
    return bad(l, "random", "kinds: expected a non-empty list of faults");
  rf->kinds = calloc(json_array_size(v), sizeof *rf->kinds);
  if (!rf->kinds)
    return nomem(l, "random");
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item)
  {
    char at[64];
    snprintf(at, sizeof at, "random.kinds[%zu]", i);
    uint64_t repeat;
    bool ok = parse_fault(l, item, at, &rf->kinds[i], &repeat);
    rf->nkinds++;
    if (!ok)
      return false;
    if (json_object_get(item, "repeat"))
      return bad(l, at, "repeat: only for fail lists");
  }
  if ((v = json_object_get(obj, "paths"))) {
    if (!json_is_array(v))
      return bad(l, "random", "paths: expected a list of path patterns");
    rf->paths = calloc(json_array_size(v) + 1, sizeof *rf->paths);
    if (!rf->paths)
      return nomem(l, "random");
    json_array_foreach(v, i, item)
    {
      char at[64];
      snprintf(at, sizeof at, "random.paths[%zu]", i);
      if (!get_string(l, item, at, "path", &rf->paths[rf->npaths]))
        return false;
      rf->npaths++;
    }
  }
  rf->on = true;
  return true;
}

static enum ts_result load_config(const char *path, struct config **out,
                                  struct ts_error *err)
{
  struct loader l = {path, err};
  struct config *cfg = calloc(1, sizeof *cfg);
  if (!cfg)
    return ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
  if (!path) {
    *out = cfg;
    return TS_OK;
  }
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    config_free(cfg);
    if (jerr.line < 0)
      return ts_error_set(err, TS_ERR_IO, "%s: %s", path, jerr.text);
    return ts_error_set(err, TS_ERR_PARSE, "%s:%d:%d: %s", path, jerr.line,
                        jerr.column, jerr.text);
  }
  static const char *const top_keys[] = {"routes", "random", "latency_ms",
                                         "comment", NULL};
  json_t *routes = root;
  bool ok = true;
  if (json_is_object(root)) {
    ok = check_keys(&l, root, "top level", top_keys);
    routes = json_object_get(root, "routes");
    json_t *v;
    if (ok && (v = json_object_get(root, "latency_ms"))) {
      ok = parse_latency(&l, v, "top level", &cfg->lat_min, &cfg->lat_max);
      cfg->has_latency = ok;
    }
    if (ok && (v = json_object_get(root, "random")))
      ok = parse_random(&l, v, cfg);
    if (ok && !routes)
      routes = json_array(); /* decref'd below through `owned` */
    else if (routes)
      json_incref(routes);
  } else {
    json_incref(routes);
  }
  if (ok && !json_is_array(routes))
    ok = bad(&l, "routes", "expected a list of routes");
  if (ok) {
    cfg->routes = calloc(json_array_size(routes) + 1, sizeof *cfg->routes);
    if (!cfg->routes)
      ok = nomem(&l, "routes");
  }
  size_t i;
  json_t *item;
  if (ok)
    json_array_foreach(routes, i, item)
    {
      cfg->nroutes++;
      if (!(ok = parse_route(&l, item, i, &cfg->routes[i])))
        break;
    }
  json_decref(routes);
  json_decref(root);
  if (!ok) {
    config_free(cfg);
    return err ? err->code : TS_ERR_CONFIG;
  }
  *out = cfg;
  return TS_OK;
}

/* ---------------------------------------------------------------------- */
/* The router                                                             */

static void reset_state(struct mock_router *r)
{
  for (size_t i = 0; i < r->cfg->nroutes; i++) {
    r->cfg->routes[i].count = 0;
    counters_cleanup(&r->cfg->routes[i].urls);
  }
  const struct random_faults *rf = &r->cfg->random;
  r->rng = mix64(rf->has_seed ? rf->seed : r->seed);
}

enum ts_result mock_router_new(const char *root, const char *routes_path,
                               uint64_t seed, struct mock_router **out,
                               struct ts_error *err)
{
  struct mock_router *r = calloc(1, sizeof *r);
  if (!r)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  r->seed = seed;
  r->root_real = realpath(root, NULL);
  if (!r->root_real || !ts_fs_is_dir(r->root_real)) {
    enum ts_result res =
        ts_error_set(err, TS_ERR_NOTFOUND, "%s: %s", root,
                     r->root_real ? "not a folder" : strerror(errno));
    mock_router_free(r);
    return res;
  }
  if (routes_path && !(r->routes_path = dup_str(routes_path))) {
    mock_router_free(r);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  enum ts_result res = load_config(routes_path, &r->cfg, err);
  if (res != TS_OK) {
    mock_router_free(r);
    return res;
  }
  reset_state(r);
  *out = r;
  return TS_OK;
}

void mock_router_free(struct mock_router *r)
{
  if (!r)
    return;
  config_free(r->cfg);
  free(r->root_real);
  free(r->routes_path);
  free(r);
}

enum ts_result mock_router_reload(struct mock_router *r, struct ts_error *err)
{
  struct config *cfg;
  enum ts_result res = load_config(r->routes_path, &cfg, err);
  if (res == TS_OK) {
    config_free(r->cfg);
    r->cfg = cfg;
  }
  reset_state(r);
  return res;
}

void mock_router_reset(struct mock_router *r)
{
  reset_state(r);
}

static bool route_matches(const struct route *rt,
                          const struct mock_request *req)
{
  if (!glob_match(rt->path, req->path))
    return false;
  for (size_t i = 0; i < rt->nquery; i++) {
    const struct qmatch *q = &rt->query[i];
    char *value = NULL;
    bool present = mock_query_get(req->query, q->name,
                                  q->kind == Q_EQUALS ? &value : NULL);
    bool ok = q->kind == Q_ABSENT    ? !present
              : q->kind == Q_PRESENT ? present
                                     : present && !strcmp(value, q->value);
    free(value);
    if (!ok)
      return false;
  }
  return true;
}

/*
 * Expands {name} in a file pattern from the request's query. A value may
 * hold only [A-Za-z0-9._-] and may not start with '.', so it cannot climb
 * out of the root. Returns a new string (caller frees) or NULL with a note.
 */
static char *expand_file(const char *pattern, const struct mock_request *req,
                         char *note, size_t note_size)
{
  struct ts_buf b;
  ts_buf_init(&b, PATH_MAX);
  for (const char *p = pattern; *p;) {
    const char *close = *p == '{' ? strchr(p, '}') : NULL;
    if (!close) {
      if (ts_buf_append_char(&b, *p++) != TS_OK)
        goto fail;
      continue;
    }
    char name[128];
    size_t n = (size_t)(close - p - 1);
    if (n == 0 || n >= sizeof name)
      goto fail;
    memcpy(name, p + 1, n);
    name[n] = '\0';
    char *value = NULL;
    if (!mock_query_get(req->query, name, &value)) {
      snprintf(note, note_size, "file %s: no query parameter %s", pattern,
               name);
      ts_buf_cleanup(&b);
      return NULL;
    }
    bool safe = value[0] != '\0' && value[0] != '.';
    for (const char *c = value; *c; c++)
      safe &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
    enum ts_result res = safe ? ts_buf_append_str(&b, value) : TS_ERR_PARSE;
    free(value);
    if (res != TS_OK) {
      snprintf(note, note_size, "file %s: unsafe value for %s", pattern, name);
      ts_buf_cleanup(&b);
      return NULL;
    }
    p = close + 1;
  }
  return ts_buf_detach(&b);
fail:
  snprintf(note, note_size, "file %s: cannot expand", pattern);
  ts_buf_cleanup(&b);
  return NULL;
}

/*
 * Reads ROOT/rel. Returns 0 on success, else the status to answer with
 * (404 missing, 403 outside the root, 500 unreadable) and a note.
 */
static int read_file(const struct mock_router *r, const char *rel, char **out,
                     size_t *len, char *note, size_t note_size)
{
  struct ts_buf path;
  ts_buf_init(&path, PATH_MAX);
  while (*rel == '/')
    rel++;
  if (ts_buf_printf(&path, "%s/%s", r->root_real, rel) != TS_OK) {
    ts_buf_cleanup(&path);
    snprintf(note, note_size, "%s: path too long", rel);
    return 404;
  }
  /* realpath resolves symbolic links too: a link that points out of the
   * root is refused like a literal "..". */
  char *real = realpath(ts_buf_cstr(&path), NULL);
  ts_buf_cleanup(&path);
  if (!real) {
    snprintf(note, note_size, "%s: %s", rel, strerror(errno));
    return 404;
  }
  size_t rootn = strlen(r->root_real);
  if (strncmp(real, r->root_real, rootn) != 0 || real[rootn] != '/') {
    free(real);
    snprintf(note, note_size, "%s: outside the root", rel);
    return 403;
  }
  if (ts_fs_is_dir(real)) {
    free(real);
    snprintf(note, note_size, "%s: is a folder", rel);
    return 404;
  }
  struct ts_error err = {0};
  enum ts_result res = ts_fs_read(real, MOCK_FILE_MAX, out, len, &err);
  free(real);
  if (res != TS_OK) {
    snprintf(note, note_size, "%.200s", err.msg);
    return res == TS_ERR_NOTFOUND ? 404 : 500;
  }
  return 0;
}

/* {"error":{"code":N,"message":M}}, the shape Google APIs use. */
static char *error_body(int status, const char *message, size_t *len)
{
  json_t *o =
      json_pack("{s:{s:i,s:s}}", "error", "code", status, "message", message);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  *len = s ? strlen(s) : 0;
  return s;
}

static bool is_success(int status)
{
  return status >= 200 && status < 300;
}

static const char *type_for(const char *file)
{
  const char *dot = file ? strrchr(file, '.') : NULL;
  if (!file || !dot || !strcmp(dot, ".json"))
    return JSON_TYPE;
  if (!strcmp(dot, ".html"))
    return "text/html; charset=UTF-8";
  if (!strcmp(dot, ".xml"))
    return "application/xml; charset=UTF-8";
  if (!strcmp(dot, ".txt"))
    return "text/plain; charset=UTF-8";
  return "application/octet-stream";
}

/* gzip-compresses buf[0..len) into a new buffer; false when out of memory
 * (the caller then sends the body uncompressed). */
static bool gzip_body(const char *buf, size_t len, char **out, size_t *out_len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  /* windowBits 15 + 16 asks zlib for the gzip wrapper. */
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return false;
  size_t cap = deflateBound(&z, (uLong)len) + 32;
  char *dst = malloc(cap);
  if (!dst) {
    deflateEnd(&z);
    return false;
  }
  z.next_in = (Bytef *)(uintptr_t)buf;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)dst;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(dst);
    return false;
  }
  *out = dst;
  *out_len = n;
  return true;
}

void mock_response_cleanup(struct mock_response *r)
{
  ts_buf_cleanup(&r->head);
  free(r->body);
  memset(r, 0, sizeof *r);
  ts_buf_init(&r->head, 0);
}

void mock_response_read(const struct mock_response *r, uint64_t off, char *dst,
                        size_t n)
{
  if (r->body) {
    memcpy(dst, r->body + off, n);
    return;
  }
  uint64_t total = r->gen_len;
  size_t pre = sizeof GEN_PREFIX - 1, suf = sizeof GEN_SUFFIX - 1;
  for (size_t i = 0; i < n; i++) {
    uint64_t at = off + i;
    if (total < pre + suf)
      dst[i] = ' ';
    else if (at < pre)
      dst[i] = GEN_PREFIX[at];
    else if (at >= total - suf)
      dst[i] = GEN_SUFFIX[at - (total - suf)];
    else
      dst[i] = 'x';
  }
}

static void head_start(struct ts_buf *h, int status)
{
  char date[30];
  mock_http_date(time(NULL), date);
  ts_buf_printf(h, "HTTP/1.1 %d %s\r\nServer: mockapi\r\nDate: %s\r\n", status,
                mock_http_reason(status), date);
}

static void head_end(struct ts_buf *h, bool keep_alive)
{
  ts_buf_append_str(h, keep_alive ? "Connection: keep-alive\r\n\r\n"
                                  : "Connection: close\r\n\r\n");
}

enum ts_result mock_response_simple(struct mock_response *out, int status,
                                    const char *type, const char *body,
                                    size_t len, const char *extra,
                                    bool keep_alive, bool head_only)
{
  memset(out, 0, sizeof *out);
  ts_buf_init(&out->head, 0);
  out->route = -2;
  out->status = status;
  out->outcome = "ok";
  out->body = malloc(len + 1);
  if (!out->body)
    return TS_ERR_NOMEM;
  memcpy(out->body, body, len);
  out->body[len] = '\0';
  out->body_len = len;
  out->send_len = head_only ? 0 : len;
  out->end = keep_alive ? MOCK_END_KEEP : MOCK_END_CLOSE;
  head_start(&out->head, status);
  ts_buf_printf(&out->head, "Content-Type: %s\r\nContent-Length: %zu\r\n", type,
                len);
  if (extra)
    ts_buf_append_str(&out->head, extra);
  head_end(&out->head, keep_alive);
  /* ts_buf_* failures only happen out of memory; report them once here. */
  return out->head.data ? TS_OK : TS_ERR_NOMEM;
}

/* The parts of a response after a fault is laid over a route's own. */
struct effective {
  const struct spec *base;
  const struct spec *fault;
  enum fault_kind kind;
  int status;
  const struct spec *body_from; /* whose file/body; NULL: generated error */
  const char *content_type;
  const char *retry_after;
  bool has_latency;
  unsigned lat_min, lat_max;
};

static void merge(const struct spec *base, const struct spec *fault,
                  struct effective *e)
{
  memset(e, 0, sizeof *e);
  e->base = base;
  e->fault = fault;
  const struct spec *top = fault ? fault : base;
  e->kind = top->kind;
  e->status = (fault && fault->status) ? fault->status
              : base->status           ? base->status
                                       : 200;
  if (fault && (fault->file || fault->has_body))
    e->body_from = fault;
  else if (fault && fault->status && !is_success(fault->status))
    e->body_from = NULL; /* an injected error gets an error body */
  else if (base->file || base->has_body)
    e->body_from = base;
  e->content_type =
      (fault && fault->content_type) ? fault->content_type : base->content_type;
  e->retry_after =
      (fault && fault->retry_after) ? fault->retry_after : base->retry_after;
  const struct spec *lat = (fault && fault->has_latency) ? fault : base;
  e->has_latency = lat->has_latency;
  e->lat_min = lat->lat_min;
  e->lat_max = lat->lat_max;
}

static const struct spec *draw_random(struct mock_router *r,
                                      const struct mock_request *req)
{
  const struct random_faults *rf = &r->cfg->random;
  if (!rf->on)
    return NULL;
  bool eligible = rf->npaths == 0;
  for (size_t i = 0; i < rf->npaths && !eligible; i++)
    eligible = glob_match(rf->paths[i], req->path);
  if (!eligible)
    return NULL;
  /* Two draws per eligible request, always, so that the sequence of
   * decisions depends only on the seed and the request order. */
  double u = (double)(next_random(&r->rng) >> 11) * 0x1.0p-53;
  uint64_t pick = next_random(&r->rng);
  return u < rf->p ? &rf->kinds[pick % rf->nkinds] : NULL;
}

/* Fills out->body for the effective spec; returns the status to use and
 * sets *error_body when the body is one the mock wrote (JSON). */
static int load_body(struct mock_router *r, const struct mock_request *req,
                     const struct effective *e, int status,
                     struct mock_response *out, bool *generated_error)
{
  *generated_error = false;
  const struct spec *src = e->body_from;
  if (src && src->has_body) {
    out->body = malloc(src->body_len + 1);
    if (out->body) {
      memcpy(out->body, src->body, src->body_len + 1);
      out->body_len = src->body_len;
      return status;
    }
    snprintf(out->note, sizeof out->note, "out of memory");
    status = 500;
  } else if (src && src->file) {
    char *rel = src->literal
                    ? dup_str(src->file)
                    : expand_file(src->file, req, out->note, sizeof out->note);
    int failed = rel ? read_file(r, rel, &out->body, &out->body_len, out->note,
                                 sizeof out->note)
                     : 404;
    free(rel);
    if (!failed)
      return status;
    status = failed;
  }
  *generated_error = true;
  char message[320];
  if (!src && !out->note[0] && status != 404)
    snprintf(message, sizeof message, "mockapi: injected HTTP %d %s", status,
             mock_http_reason(status));
  else
    snprintf(message, sizeof message, "mockapi: %s",
             out->note[0] ? out->note : mock_http_reason(status));
  out->body = error_body(status, message, &out->body_len);
  if (!out->body)
    out->body = calloc(1, 1), out->body_len = 0;
  return status;
}

static unsigned pick_latency(const struct mock_router *r,
                             const struct effective *e,
                             const struct mock_request *req)
{
  unsigned lo = 0, hi = 0;
  if (e->has_latency)
    lo = e->lat_min, hi = e->lat_max;
  else if (r->cfg->has_latency)
    lo = r->cfg->lat_min, hi = r->cfg->lat_max;
  if (hi <= lo)
    return lo;
  /* Per URL, not per request: the same URL waits as long in every run. */
  return lo +
         (unsigned)(hash_str(r->seed, req->target) % ((uint64_t)hi - lo + 1));
}

/* True when the request's validators make a 304 the right answer. */
static bool not_modified(const struct route *rt, const struct mock_request *req)
{
  if (req->if_none_match && rt->etag)
    return mock_http_etag_match(req->if_none_match, rt->etag);
  time_t since;
  if (!req->if_none_match && req->if_modified_since && rt->last_modified &&
      mock_http_parse_date(req->if_modified_since, &since))
    return since >= rt->lm_time;
  return false;
}

static bool has_header(const struct spec *s, const char *name)
{
  for (size_t i = 0; s && i < s->nheaders; i++)
    if (!strcasecmp(s->headers[i].name, name))
      return true;
  return false;
}

static void plan_simple_error(struct mock_response *out, int status,
                              const char *message, bool keep_alive,
                              bool head_only)
{
  size_t len;
  char *body = error_body(status, message, &len);
  const char *extra = status == 405 ? "Allow: GET, HEAD\r\n" : NULL;
  mock_response_simple(out, status, JSON_TYPE, body ? body : "", body ? len : 0,
                       extra, keep_alive, head_only);
  free(body);
}

void mock_router_respond(struct mock_router *r, const struct mock_request *req,
                         bool keep_alive, struct mock_response *out)
{
  memset(out, 0, sizeof *out);
  ts_buf_init(&out->head, 0);
  out->outcome = "ok";
  bool head_only = !strcmp(req->method, "HEAD");
  if (!head_only && strcmp(req->method, "GET") != 0) {
    plan_simple_error(out, 405, "mockapi: only GET and HEAD", keep_alive,
                      false);
    return;
  }
  if (req->traversal) {
    plan_simple_error(out, 400, "mockapi: path traversal refused", keep_alive,
                      head_only);
    return;
  }

  /* Which answer: a route, a file under the root, or 404. */
  struct route *rt = NULL;
  for (size_t i = 0; i < r->cfg->nroutes && !rt; i++)
    if (route_matches(&r->cfg->routes[i], req)) {
      rt = &r->cfg->routes[i];
      out->route = (int)i;
    }
  struct spec fallback = {0};
  const struct spec *base = rt ? &rt->base : &fallback;
  if (rt && !rt->base.file && !rt->base.has_body &&
      (!rt->base.status || is_success(rt->base.status)) &&
      rt->base.kind != K_OVERSIZE) {
    /* A route without file or body adds behaviour to ROOT/<path> (one
     * with an error status answers with an error body instead). The
     * copy is shallow and borrows the route's strings: never cleaned. */
    fallback = rt->base;
    fallback.file = (char *)(uintptr_t)(req->path + 1);
    fallback.literal = true;
    base = &fallback;
  } else if (!rt) {
    struct ts_buf path;
    ts_buf_init(&path, PATH_MAX);
    ts_buf_printf(&path, "%s%s", r->root_real, req->path);
    bool exists =
        path.data && !ts_fs_is_dir(path.data) && access(path.data, R_OK) == 0;
    ts_buf_cleanup(&path);
    /* The request path is already decoded and free of dot segments. */
    fallback.file = exists ? (char *)(uintptr_t)(req->path + 1) : NULL;
    fallback.literal = true;
    fallback.status = exists ? 200 : 404;
    out->route = exists ? -1 : -2;
    if (!exists)
      snprintf(out->note, sizeof out->note, "no route or file for %s",
               req->path);
  }

  /* Which fault: the route's fail list first, then the random section. */
  const struct spec *fault = NULL;
  if (rt && rt->nfail) {
    unsigned *count = &rt->count;
    if (rt->per_url) {
      count = counters_slot(&rt->urls, req->target);
      if (!count)
        count = &rt->count;
    }
    if (*count < rt->nfail)
      fault = &rt->fail[*count];
    if (*count < UINT_MAX)
      (*count)++;
  }
  const struct spec *drawn = draw_random(r, req);
  if (!fault)
    fault = drawn;

  struct effective e;
  merge(base, fault, &e);
  out->latency_ms = pick_latency(r, &e, req);
  /* A route's own status is its normal answer; a kind is always a fault. */
  if (fault || e.kind != K_NONE)
    out->fault = kind_names[e.kind];
  if (e.kind == K_HANG) {
    out->end = MOCK_END_HANG;
    return;
  }
  if (e.kind == K_EMPTY_REPLY) {
    out->end = MOCK_END_CLOSE;
    out->outcome = "empty_reply";
    return;
  }

  int status = e.status;
  const char *type = e.content_type;
  bool generated = e.kind == K_OVERSIZE;
  bool gzip = false;
  if (generated) {
    out->gen_len = fault ? fault->bytes : base->bytes;
  } else {
    bool error_json;
    status = load_body(r, req, &e, status, out, &error_json);
    if (error_json)
      type = JSON_TYPE;
    if (e.kind == K_INVALID_JSON && !(fault && e.body_from == fault)) {
      free(out->body);
      out->body_len = sizeof INVALID_JSON - 1;
      out->body = malloc(sizeof INVALID_JSON);
      if (out->body)
        memcpy(out->body, INVALID_JSON, sizeof INVALID_JSON);
      else
        out->body_len = 0;
    }
    if (e.kind == K_TRUNCATE)
      out->body_len /= 2;
    if (!fault && rt && status == 200 && (rt->etag || rt->last_modified) &&
        not_modified(rt, req)) {
      status = 304;
      out->body_len = 0;
    }
    if (rt && rt->gzip && status != 304 && out->body_len > 0 &&
        req->accept_encoding && mock_http_accepts_gzip(req->accept_encoding)) {
      char *z;
      size_t zlen;
      if (gzip_body(out->body, out->body_len, &z, &zlen)) {
        free(out->body);
        out->body = z;
        out->body_len = zlen;
        gzip = true;
      }
    }
  }
  if (!type)
    type = type_for(e.body_from ? e.body_from->file : NULL);

  /* How the bytes go out. */
  uint64_t total = generated ? out->gen_len : out->body_len;
  uint64_t advertised = total;
  out->send_len = total;
  out->end = MOCK_END_KEEP;
  switch (e.kind) {
  case K_CLOSE_MID_BODY:
    /* Promise more than is sent; an empty body still promises a byte. */
    advertised = total ? total : 1;
    out->send_len = total / 2;
    out->end = MOCK_END_CLOSE;
    out->outcome = "closed";
    break;
  case K_STALL:
    out->send_len = (fault ? fault->after_bytes : base->after_bytes);
    if (out->send_len > total)
      out->send_len = total;
    out->end = MOCK_END_STALL;
    break;
  case K_DRIP:
    out->chunk = fault ? fault->chunk_bytes : base->chunk_bytes;
    out->interval_ms = fault ? fault->interval_ms : base->interval_ms;
    break;
  default: break;
  }
  if (head_only)
    out->send_len = 0;
  if (!keep_alive && out->end == MOCK_END_KEEP)
    out->end = MOCK_END_CLOSE;
  out->status = status;

  struct ts_buf *h = &out->head;
  head_start(h, status);
  if (status != 304) {
    if (!has_header(e.base, "Content-Type") &&
        !has_header(e.fault, "Content-Type"))
      ts_buf_printf(h, "Content-Type: %s\r\n", type);
    ts_buf_printf(h, "Content-Length: %llu\r\n",
                  (unsigned long long)advertised);
  }
  if (gzip)
    ts_buf_append_str(h, "Content-Encoding: gzip\r\n");
  if (rt && rt->gzip)
    ts_buf_append_str(h, "Vary: Accept-Encoding\r\n");
  if (rt && rt->etag && (status == 200 || status == 304))
    ts_buf_printf(h, "ETag: %s\r\n", rt->etag);
  if (rt && rt->last_modified && (status == 200 || status == 304))
    ts_buf_printf(h, "Last-Modified: %s\r\n", rt->last_modified);
  if (e.retry_after)
    ts_buf_printf(h, "Retry-After: %s\r\n", e.retry_after);
  for (size_t i = 0; i < base->nheaders; i++)
    ts_buf_printf(h, "%s: %s\r\n", base->headers[i].name,
                  base->headers[i].value);
  for (size_t i = 0; fault && i < fault->nheaders; i++)
    ts_buf_printf(h, "%s: %s\r\n", fault->headers[i].name,
                  fault->headers[i].value);
  head_end(h, out->end != MOCK_END_CLOSE);
  if (!h->data) {
    /* Out of memory while writing the head: answer nothing, close. */
    mock_response_cleanup(out);
    out->end = MOCK_END_CLOSE;
    snprintf(out->note, sizeof out->note, "out of memory");
  }
}

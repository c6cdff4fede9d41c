/*
 * The Mustache engine. Four compile passes turn template source into a flat
 * node array; an iterative interpreter renders it.
 *
 *   lex      source -> tokens (text split after each newline, tags), with
 *            set-delimiter tags applied as they are met
 *   match    pairs every section/block/parent with its closing tag, caps
 *            the nesting depth, marks what a parent tag ignores
 *   space    standalone lines, standalone parent/block pairs: decides which
 *            whitespace disappears from the output
 *   build    nodes + one arena of text and names; strips the intrinsic
 *            indentation of blocks; resolves partials and parents
 *
 * Partials and parents named in a template are compiled in the same
 * transaction as the template (a work queue, not recursion); the
 * transaction is committed into the environment's cache only when all of
 * them compile, so a failed compile leaves nothing half-built behind.
 *
 * Rendering keeps its own stack of frames (section loops, partial calls)
 * instead of recursing, and writes through a 64 KiB buffer with the output
 * cap folded into the buffer's end pointer, so the hot path of every write
 * is one comparison and a memcpy.
 */
#include "mustache.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "util/floor.h"
#include "util/fs.h"
#include "util/grow.h"

/* For the few small functions of the render loop that the compiler would
 * otherwise call. */
#if defined(__GNUC__)
#define HOT_INLINE inline __attribute__((always_inline))
#else
#define HOT_INLINE inline
#endif

#define OUT_BUFFER_SIZE ((size_t)64 << 10)
#define MAX_DELIMITER 32      /* bytes in a custom delimiter */
#define MAX_INDENT (64 << 10) /* bytes of accumulated partial indentation */
#define MAX_JSON_DEPTH 256    /* nesting printed for {{array}}/{{object}} */
#define MAX_TEMPLATE_CAP ((size_t)1 << 30)

/* ------------------------------------------------------------------ */
/* Copies of strings.                                                  */

/* A copy of `n` bytes of text and a NUL after them. */
static char *dup_text(const char *p, size_t n)
{
  char *q = malloc(n + 1);
  if (q) {
    memcpy(q, p, n);
    q[n] = '\0';
  }
  return q;
}

/* `dir` without trailing slashes, in new memory (caller frees). */
static char *trimmed_dir(const char *dir)
{
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  return dup_text(dir, n);
}

/* ------------------------------------------------------------------ */
/* A string -> pointer hash map (open addressing, no deletion).        */

struct map_slot {
  char *key; /* owned; NULL marks an empty slot */
  size_t klen;
  uint64_t hash;
  void *value;
};

struct map {
  struct map_slot *slots;
  size_t cap; /* a power of two, or 0 */
  size_t n;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

static struct map_slot *map_find(const struct map *m, const char *key,
                                 size_t klen)
{
  if (!m->cap)
    return NULL;
  uint64_t h = hash_bytes(key, klen);
  for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    struct map_slot *s = &m->slots[i];
    if (!s->key)
      return NULL;
    if (s->hash == h && s->klen == klen && !memcmp(s->key, key, klen))
      return s;
  }
}

/* Inserts `key` (owned by the map from now on, even on failure) or
 * replaces the value of an existing key. */
static enum ts_result map_put_owned(struct map *m, char *key, size_t klen,
                                    void *value)
{
  struct map_slot *old = map_find(m, key, klen);
  if (old) {
    old->value = value;
    free(key);
    return TS_OK;
  }
  if ((m->n + 1) * 4 > m->cap * 3) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct map_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) {
      free(key);
      return TS_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
      struct map_slot *s = &m->slots[i];
      if (!s->key)
        continue;
      size_t j = s->hash & (ncap - 1);
      while (ns[j].key)
        j = (j + 1) & (ncap - 1);
      ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
  }
  uint64_t h = hash_bytes(key, klen);
  size_t i = h & (m->cap - 1);
  while (m->slots[i].key)
    i = (i + 1) & (m->cap - 1);
  m->slots[i] = (struct map_slot){key, klen, h, value};
  m->n++;
  return TS_OK;
}

static enum ts_result map_put(struct map *m, const char *key, size_t klen,
                              void *value)
{
  char *copy = dup_text(key, klen);
  if (!copy)
    return TS_ERR_NOMEM;
  return map_put_owned(m, copy, klen, value);
}

static void map_free(struct map *m)
{
  for (size_t i = 0; i < m->cap; i++)
    free(m->slots[i].key);
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}

/* ------------------------------------------------------------------ */
/* Compiled templates.                                                 */

enum node_kind {
  N_TEXT,
  N_VAR,      /* {{name}}, {{{name}}}, {{&name}} */
  N_SECTION,  /* {{#name}} ... {{/name}} */
  N_INVERTED, /* {{^name}} ... {{/name}} */
  N_PARTIAL,  /* {{>name}} */
  N_PARENT,   /* {{<name}} args {{/name}}: its children are N_BLOCK args */
  N_BLOCK     /* {{$name}} default {{/name}} */
};

enum node_flag {
  NF_BOL = 1,        /* the node starts a template line: indent it */
  NF_INNER_BOL = 2,  /* TEXT: a template line starts inside it */
  NF_STANDALONE = 4, /* PARTIAL/PARENT/BLOCK: a standalone site, indented */
  NF_DYNAMIC = 8,    /* PARTIAL/PARENT: {{>*name}}, name looked up in data */
  NF_ARG = 16,       /* BLOCK: an argument of the enclosing parent */
  NF_BODY_BOL = 32,  /* BLOCK: its body starts at the start of a line */
  /* VAR/SECTION/INVERTED with text: NF_BOL and NF_INNER_BOL of the text */
  NF_TEXT_BOL = 64,
  NF_TEXT_INNER_BOL = 128
};

struct node {
  uint8_t kind;
  uint8_t flags;
  uint8_t escape;  /* VAR: enum ts_mustache_escape (NONE when raw) */
  uint8_t nparts;  /* dotted name parts; 0 is the implicit iterator "." */
  uint32_t str;    /* arena offset: the text, or the name ("a\0b\0c\0") */
  uint32_t len;    /* length of the text or of the whole name */
  uint32_t end;    /* SECTION/INVERTED/PARENT/BLOCK: index after the body */
  union {
    struct { /* PARTIAL/PARENT/BLOCK: arena offset of the indentation */
      uint32_t indent;
      uint32_t indent_len;
    };
    struct { /* VAR/SECTION/INVERTED: template text written first, a */
      uint32_t text; /* TEXT node that preceded it, merged into it */
      uint32_t text_len;
    };
  };
  uint32_t parts; /* a name looked up in the data: its first name_part */
  const struct ts_mustache *target; /* static PARTIAL/PARENT; NULL: none */
};

/* One part of a dotted name that is looked up in the data, split at
 * compile time so that rendering never measures a name. */
struct name_part {
  uint32_t str; /* arena offset of the part (NUL-terminated) */
  uint32_t len;
  uint32_t id; /* the same for equal parts in all templates of an env */
  uint32_t tag; /* ts_value_tag of the part, for member searches */
};

struct ts_mustache {
  struct ts_mustache_env *env;
  char *name; /* display name: path, partial name or given name */
  enum ts_mustache_escape escape;
  struct node *nodes;
  uint32_t n_nodes;
  struct name_part *parts; /* of every name looked up in the data */
  uint32_t n_parts;
  char *arena;
  size_t arena_len;
};

struct mem_partial {
  char *src;
  size_t len;
};

struct scratch; /* render state kept between renders; defined below */
struct cached_section; /* defined with the renderer */

struct ts_mustache_env {
  char **dirs;
  size_t ndirs;
  bool check;
  unsigned max_partial_depth;
  unsigned max_section_depth;
  size_t max_output;
  size_t max_template;
  size_t max_steps;
  struct map partials; /* in-memory partials: name -> struct mem_partial */
  struct map names;    /* every name part looked up in data -> its id */
  struct ts_value *frozen; /* ts_mustache_env_freeze: the caller's */
  size_t nfrozen, capfrozen;
  struct cached_section *sections; /* output of sections over frozen data */
  size_t nsections;
  size_t section_bytes; /* their output, all together */
  /* Every template compiled here, by key:
   *   'F' mode path   a file compiled with that escaping
   *   'M' mode name   an in-memory partial compiled with that escaping
   *   'L' mode name   the result of looking up partial `name` from a
   *                   template with escaping `mode` (NULL: not found) */
  struct map cache;
  struct ts_mustache **owned; /* every template, for freeing */
  size_t nowned, capowned;
  struct scratch *scratch; /* NULL while a render uses it */
};

static void template_free(struct ts_mustache *t)
{
  if (!t)
    return;
  free(t->name);
  free(t->nodes);
  free(t->parts);
  free(t->arena);
  free(t);
}

/* ------------------------------------------------------------------ */
/* Escaping modes and names.                                           */

static const char *const mode_ext[] = {"html", "json", "xml", "txt"};

/* The escaping named by an extension, or -1. */
static int mode_for_ext(const char *ext, size_t n)
{
  static const struct {
    const char *ext;
    enum ts_mustache_escape mode;
  } table[] = {
      {"html", TS_MUSTACHE_ESCAPE_HTML}, {"htm", TS_MUSTACHE_ESCAPE_HTML},
      {"json", TS_MUSTACHE_ESCAPE_JSON}, {"xml", TS_MUSTACHE_ESCAPE_XML},
      {"atom", TS_MUSTACHE_ESCAPE_XML},  {"rss", TS_MUSTACHE_ESCAPE_XML},
      {"svg", TS_MUSTACHE_ESCAPE_XML},   {"txt", TS_MUSTACHE_ESCAPE_NONE},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strlen(table[i].ext) == n && !memcmp(table[i].ext, ext, n))
      return (int)table[i].mode;
  return -1;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
  size_t k = strlen(suffix);
  return n >= k && !memcmp(s + n - k, suffix, k);
}

/* The escaping the name's own type extension asks for (the extension
 * before ".mustache", or the last one), or -1 when it names none. */
static int typed_mode(const char *name, size_t n)
{
  if (ends_with(name, n, ".mustache"))
    n -= strlen(".mustache");
  size_t dot = n;
  while (dot > 0 && name[dot - 1] != '.' && name[dot - 1] != '/')
    dot--;
  if (dot == 0 || name[dot - 1] != '.')
    return -1;
  return mode_for_ext(name + dot, n - dot);
}

enum ts_mustache_escape ts_mustache_escape_for_name(const char *filename)
{
  int mode = typed_mode(filename, strlen(filename));
  return mode < 0 ? TS_MUSTACHE_ESCAPE_HTML : (enum ts_mustache_escape)mode;
}

const char *ts_mustache_name(const struct ts_mustache *tpl)
{
  return tpl->name;
}

/* A partial name may not leave the template folders: no absolute paths,
 * no "." or ".." components, no empty components, no backslashes or
 * control characters. */
static bool partial_name_ok(const char *name, size_t n)
{
  if (n == 0 || name[0] == '/')
    return false;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n) {
      unsigned char ch = (unsigned char)name[i];
      if (ch < 0x20 || ch == 0x7f || ch == '\\')
        return false;
      if (ch != '/')
        continue;
    }
    size_t k = i - start;
    if (k == 0 || (k == 1 && name[start] == '.') ||
        (k == 2 && name[start] == '.' && name[start + 1] == '.'))
      return false;
    start = i + 1;
  }
  return true;
}

/* ------------------------------------------------------------------ */
/* Numbers.                                                            */

static size_t format_uint(unsigned long long v, char *out)
{
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

static size_t format_int(long long v, char *out)
{
  if (v < 0) {
    out[0] = '-';
    /* Negate in unsigned arithmetic so LLONG_MIN does not overflow. */
    return 1 + format_uint(0ull - (unsigned long long)v, out + 1);
  }
  return format_uint((unsigned long long)v, out);
}

/* Splits "D.DDDDe+XX" into its digits and decimal exponent. */
static void sci_parse(const char *sci, char digits[20], int *k, int *e)
{
  const char *p = sci;
  *k = 0;
  for (; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9' && *k < 19)
      digits[(*k)++] = *p;
  int sign = 1, x = 0;
  if (*p == 'e')
    p++;
  if (*p == '-' || *p == '+')
    sign = *p++ == '-' ? -1 : 1;
  for (; *p >= '0' && *p <= '9'; p++)
    x = x * 10 + (*p - '0');
  *e = sign * x;
}

/* The double nearest to D.DDD x 10^e. */
static double sci_value(const char *digits, int k, int e)
{
  char text[48];
  snprintf(text, sizeof text, "%c.%.*se%d", digits[0], k - 1, digits + 1, e);
  return strtod(text, NULL);
}

/* Adds delta (+1 or -1) to the last digit, carrying or borrowing. */
static void last_digit_add(char digits[20], int *k, int *e, int delta)
{
  int i = *k - 1;
  while (i >= 0) {
    int d = digits[i] - '0' + delta;
    if (d >= 0 && d <= 9) {
      digits[i] = (char)('0' + d);
      break;
    }
    digits[i--] = delta > 0 ? '0' : '9';
  }
  if (i < 0) { /* 999 + 1: one more digit in front */
    memmove(digits + 1, digits, (size_t)(*k < 19 ? *k : 18));
    digits[0] = '1';
    *k = *k < 19 ? *k + 1 : 19;
    (*e)++;
  } else if (digits[0] == '0' && *k > 1) { /* 1000 - 1 */
    memmove(digits, digits + 1, (size_t)(*k - 1));
    (*k)--;
    (*e)--;
  }
}

size_t ts_mustache_format_double(double v, char out[32])
{
  if (isnan(v)) {
    memcpy(out, "NaN", 3);
    return 3;
  }
  if (isinf(v)) {
    if (v < 0) {
      memcpy(out, "-Infinity", 9);
      return 9;
    }
    memcpy(out, "Infinity", 8);
    return 8;
  }
  if (v == 0) { /* both zeros print as "0", as in JavaScript */
    out[0] = '0';
    return 1;
  }
  /* Fast path for values with few decimals (98.5, 0.25, 3): the smallest
   * k for which m / 10^k == |v|, with m an integer, gives the shortest
   * digits, because m and 10^k are exact doubles and the division rounds
   * correctly, just as reading "m e-k" back would. With m below 10^15
   * (at most DBL_DIG digits) no other decimal of that length reads back
   * as v, so these are also the digits JavaScript picks; longer ones may
   * have a closer twin and take the path below. */
  static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  double a = fabs(v);
  if (a >= 1e-6 && a < 1e15) {
    for (int k = 0; k < 9; k++) {
      double m = ts_floor(a * p10[k] + 0.5);
      if (m >= 1e15)
        break;
      if (m / p10[k] != a)
        continue;
      unsigned long long im = (unsigned long long)m, scale = 1;
      for (int i = 0; i < k; i++)
        scale *= 10;
      size_t o = 0;
      if (v < 0)
        out[o++] = '-';
      o += format_uint(im / scale, out + o);
      unsigned long long frac = im % scale;
      if (frac) {
        char digits[16];
        for (int i = k - 1; i >= 0; i--, frac /= 10)
          digits[i] = (char)('0' + frac % 10);
        int last = k;
        while (last > 0 && digits[last - 1] == '0')
          last--;
        out[o++] = '.';
        memcpy(out + o, digits, (size_t)last);
        o += (size_t)last;
      }
      return o;
    }
  }
  /* Shortest digits that read back as v. For normal numbers any decimal
   * of at most 15 significant digits (DBL_DIG) survives a round trip
   * through a double, so if 15 digits read back as v they are, without
   * their trailing zeros, the shortest; otherwise 16 or 17 digits are
   * needed. Subnormals carry fewer digits: search from 1. Next to a power
   * of two the rounding interval is lopsided, and the correctly rounded
   * digits can miss it while their neighbour in the last place does not:
   * try both neighbours before taking one more digit. */
  char digits[20];
  int k = 0, e = 0;
  bool found = false;
  for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17 && !found; prec++) {
    char sci[40];
    snprintf(sci, sizeof sci, "%.*e", prec - 1, fabs(v));
    sci_parse(sci, digits, &k, &e);
    found = sci_value(digits, k, e) == fabs(v);
    for (int delta = 1; !found && prec >= 16 && delta >= -1; delta -= 2) {
      char alt[20];
      int ak = k, ae = e;
      memcpy(alt, digits, (size_t)k);
      last_digit_add(alt, &ak, &ae, delta);
      if (sci_value(alt, ak, ae) == fabs(v)) {
        memcpy(digits, alt, (size_t)ak);
        k = ak;
        e = ae;
        found = true;
      }
    }
  }
  size_t o = 0;
  if (v < 0)
    out[o++] = '-';
  while (k > 1 && digits[k - 1] == '0')
    k--;
  int n = e + 1; /* the decimal point sits after n digits */
  if (k <= n && n <= 21) {
    memcpy(out + o, digits, (size_t)k);
    o += (size_t)k;
    for (int i = k; i < n; i++)
      out[o++] = '0';
  } else if (0 < n && n <= 21) {
    memcpy(out + o, digits, (size_t)n);
    o += (size_t)n;
    out[o++] = '.';
    memcpy(out + o, digits + n, (size_t)(k - n));
    o += (size_t)(k - n);
  } else if (-6 < n && n <= 0) {
    out[o++] = '0';
    out[o++] = '.';
    for (int i = n; i < 0; i++)
      out[o++] = '0';
    memcpy(out + o, digits, (size_t)k);
    o += (size_t)k;
  } else {
    out[o++] = digits[0];
    if (k > 1) {
      out[o++] = '.';
      memcpy(out + o, digits + 1, (size_t)(k - 1));
      o += (size_t)(k - 1);
    }
    out[o++] = 'e';
    out[o++] = n - 1 < 0 ? '-' : '+';
    o += format_uint((unsigned long long)(n - 1 < 0 ? 1 - n : n - 1), out + o);
  }
  return o;
}

/* ------------------------------------------------------------------ */
/* Environments.                                                       */

struct scratch; /* freed by scratch_free, defined with the renderer */
static void scratch_free(struct scratch *s);
static void sections_free(struct ts_mustache_env *env);

struct ts_mustache_env *ts_mustache_env_new(const struct ts_mustache_options *o)
{
  struct ts_mustache_env *env = calloc(1, sizeof *env);
  if (!env)
    return NULL;
  struct ts_mustache_options none = {0};
  if (!o)
    o = &none;
  env->check = o->check;
  env->max_partial_depth = o->max_partial_depth ? o->max_partial_depth
                                                : TS_MUSTACHE_MAX_PARTIAL_DEPTH;
  env->max_section_depth = o->max_section_depth ? o->max_section_depth
                                                : TS_MUSTACHE_MAX_SECTION_DEPTH;
  env->max_output = o->max_output ? o->max_output : TS_MUSTACHE_MAX_OUTPUT;
  env->max_template =
      o->max_template_bytes ? o->max_template_bytes : TS_MUSTACHE_MAX_TEMPLATE;
  env->max_steps = o->max_steps ? o->max_steps : TS_MUSTACHE_MAX_STEPS;
  if (env->max_template > MAX_TEMPLATE_CAP)
    env->max_template = MAX_TEMPLATE_CAP;
  if (o->ndirs) {
    env->dirs = calloc(o->ndirs, sizeof *env->dirs);
    if (!env->dirs)
      goto fail;
    for (size_t i = 0; i < o->ndirs; i++) {
      /* "dir/" and "dir" are the same folder; keep one spelling so the
       * paths in messages and cache keys have a single slash. */
      env->dirs[i] = trimmed_dir(o->dirs[i]);
      if (!env->dirs[i])
        goto fail;
      env->ndirs++;
    }
  }
  return env;
fail:
  ts_mustache_env_free(env);
  return NULL;
}

void ts_mustache_env_free(struct ts_mustache_env *env)
{
  if (!env)
    return;
  for (size_t i = 0; i < env->ndirs; i++)
    free(env->dirs[i]);
  free(env->dirs);
  for (size_t i = 0; i < env->partials.cap; i++) {
    struct mem_partial *p = env->partials.slots[i].value;
    if (env->partials.slots[i].key && p) {
      free(p->src);
      free(p);
    }
  }
  map_free(&env->partials);
  map_free(&env->names);
  sections_free(env); /* before the frozen data their entries point into */
  free(env->frozen);
  map_free(&env->cache);
  for (size_t i = 0; i < env->nowned; i++)
    template_free(env->owned[i]);
  free(env->owned);
  scratch_free(env->scratch);
  free(env);
}

/* A copy of `n` bytes (NULL when out of memory; `n` may be 0). */
static void *dup_bytes(const void *p, size_t n)
{
  void *q = malloc(n ? n : 1);
  if (q && n)
    memcpy(q, p, n);
  return q;
}


/* `m`'s keys copied into `out`, values through `value` (NULL stays NULL
 * unless `value` says otherwise); false when out of memory. */
static bool map_copy(struct map *out, const struct map *m,
                     void *(*value)(void *ctx, void *v), void *ctx)
{
  for (size_t i = 0; i < m->cap; i++) {
    const struct map_slot *sl = &m->slots[i];
    if (!sl->key)
      continue;
    void *v = value ? value(ctx, sl->value) : sl->value;
    if ((sl->value && !v) ||
        map_put(out, sl->key, sl->klen, v) != TS_OK)
      return false;
  }
  return true;
}

static void *copy_partial(void *ctx, void *v)
{
  (void)ctx;
  const struct mem_partial *p = v;
  struct mem_partial *q = p ? malloc(sizeof *q) : NULL;
  if (!q)
    return NULL;
  q->len = p->len;
  q->src = dup_text(p->src, p->len);
  if (!q->src) {
    free(q);
    return NULL;
  }
  return q;
}

/* The copy in `clone` of template `t` of the env being cloned (NULL for
 * NULL): templates keep their index in `owned`. */
struct clone_map {
  const struct ts_mustache_env *from;
  struct ts_mustache_env *to;
};

static void *copy_target(void *ctx, void *v)
{
  const struct clone_map *cm = ctx;
  for (size_t i = 0; v && i < cm->from->nowned; i++)
    if (cm->from->owned[i] == v)
      return cm->to->owned[i];
  return NULL;
}

struct ts_mustache_env *ts_mustache_env_clone(
    const struct ts_mustache_env *env, const struct ts_mustache *const *tpls,
    const struct ts_mustache **copies, size_t n)
{
  struct ts_mustache_env *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->check = env->check;
  c->max_partial_depth = env->max_partial_depth;
  c->max_section_depth = env->max_section_depth;
  c->max_output = env->max_output;
  c->max_template = env->max_template;
  c->max_steps = env->max_steps;
  struct clone_map cm = {env, c};
  bool ok = (c->dirs = calloc(env->ndirs ? env->ndirs : 1,
                              sizeof *c->dirs)) != NULL;
  for (size_t i = 0; ok && i < env->ndirs; i++, c->ndirs++)
    ok = (c->dirs[i] = dup_text(env->dirs[i], strlen(env->dirs[i])));
  ok = ok && map_copy(&c->partials, &env->partials, copy_partial, NULL) &&
       map_copy(&c->names, &env->names, NULL, NULL);
  /* Every template first (so that targets can be found), then the
   * pointers between them. */
  ok = ok && (c->owned = calloc(env->nowned ? env->nowned : 1,
                                sizeof *c->owned)) != NULL;
  if (ok)
    c->capowned = env->nowned ? env->nowned : 1;
  for (size_t i = 0; ok && i < env->nowned; i++) {
    const struct ts_mustache *t = env->owned[i];
    struct ts_mustache *u = calloc(1, sizeof *u);
    if (!u) {
      ok = false;
      break;
    }
    c->owned[c->nowned++] = u;
    *u = *t;
    u->env = c;
    u->name = t->name ? dup_text(t->name, strlen(t->name)) : NULL;
    u->nodes = dup_bytes(t->nodes, t->n_nodes * sizeof *t->nodes);
    u->parts = dup_bytes(t->parts, t->n_parts * sizeof *t->parts);
    u->arena = dup_text(t->arena, t->arena_len);
    ok = (u->name || !t->name) && u->nodes && u->parts && u->arena;
  }
  for (size_t i = 0; ok && i < c->nowned; i++)
    for (uint32_t k = 0; k < c->owned[i]->n_nodes; k++) {
      struct node *nd = &c->owned[i]->nodes[k];
      nd->target = copy_target(&cm, (void *)nd->target);
    }
  ok = ok && map_copy(&c->cache, &env->cache, copy_target, &cm);
  for (size_t i = 0; ok && i < n; i++)
    ok = (copies[i] = copy_target(&cm, (void *)tpls[i])) != NULL ||
         !tpls[i];
  if (!ok) {
    ts_mustache_env_free(c);
    return NULL;
  }
  return c;
}

enum ts_result ts_mustache_env_freeze(struct ts_mustache_env *env,
                                      struct ts_value value)
{
  if (value.type > TS_VALUE_ARRAY)
    return TS_OK; /* only containers are looked into */
  if (!ts_grow(&env->frozen, &env->capfrozen, env->nfrozen + 1,
               sizeof *env->frozen))
    return TS_ERR_NOMEM;
  env->frozen[env->nfrozen++] = value;
  return TS_OK;
}

enum ts_result ts_mustache_env_add_partial(struct ts_mustache_env *env,
                                           const char *name, const char *src,
                                           size_t len, struct ts_error *err)
{
  size_t n = strlen(name);
  if (!partial_name_ok(name, n))
    return ts_error_set(err, TS_ERR_USAGE, "bad partial name \"%s\"", name);
  if (len > env->max_template)
    return ts_error_set(err, TS_ERR_LIMIT,
                        "partial \"%s\" is larger than %zu bytes", name,
                        env->max_template);
  struct mem_partial *p = malloc(sizeof *p);
  char *copy = dup_text(len ? src : "", len);
  if (!p || !copy) {
    free(p);
    free(copy);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  p->src = copy;
  p->len = len;
  struct map_slot *old = map_find(&env->partials, name, n);
  if (old) {
    struct mem_partial *prev = old->value;
    free(prev->src);
    free(prev);
    old->value = p;
    return TS_OK;
  }
  if (map_put(&env->partials, name, n, p) != TS_OK) {
    free(copy);
    free(p);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  return TS_OK;
}

/* ------------------------------------------------------------------ */
/* Transactions: everything one compile call creates, committed at once. */

struct pending {
  struct ts_mustache *tpl;
  const char *src;
  size_t len;
  char *owned; /* what to free once compiled: `src` or NULL */
};

struct txn {
  struct map local; /* cache keys added by this transaction */
  struct pending *queue;
  size_t nqueue, capqueue;
  struct ts_mustache **created;
  size_t ncreated, capcreated;
};

static struct map_slot *cache_find(struct ts_mustache_env *env, struct txn *txn,
                                   const char *key, size_t klen)
{
  struct map_slot *s = map_find(&env->cache, key, klen);
  return s ? s : map_find(&txn->local, key, klen);
}

/* Creates an empty template owned by the transaction and queues its source
 * for compiling. `owned` (the buffer behind `src`, or NULL) is freed by the
 * transaction once compiled, or here on failure. */
static enum ts_result txn_add(struct txn *txn, struct ts_mustache_env *env,
                              const char *name, enum ts_mustache_escape mode,
                              const char *src, size_t len, char *owned,
                              struct ts_mustache **out)
{
  struct ts_mustache *t = calloc(1, sizeof *t);
  char *copy = t ? malloc(strlen(name) + 1) : NULL;
  /* A failed growth leaves a list full: checked below. */
  if (t && copy) {
    ts_grow(&txn->created, &txn->capcreated, txn->ncreated + 1,
            sizeof *txn->created);
    ts_grow(&txn->queue, &txn->capqueue, txn->nqueue + 1, sizeof *txn->queue);
  }
  if (!t || !copy || txn->ncreated == txn->capcreated ||
      txn->nqueue == txn->capqueue) {
    free(t);
    free(copy);
    free(owned);
    return TS_ERR_NOMEM;
  }
  memcpy(copy, name, strlen(name) + 1);
  t->env = env;
  t->name = copy;
  t->escape = mode;
  txn->created[txn->ncreated++] = t;
  txn->queue[txn->nqueue++] = (struct pending){t, src, len, owned};
  *out = t;
  return TS_OK;
}

static void txn_rollback(struct txn *txn)
{
  for (size_t i = 0; i < txn->nqueue; i++)
    free(txn->queue[i].owned);
  for (size_t i = 0; i < txn->ncreated; i++)
    template_free(txn->created[i]);
  free(txn->queue);
  free(txn->created);
  map_free(&txn->local);
  memset(txn, 0, sizeof *txn);
}

static enum ts_result txn_commit(struct txn *txn, struct ts_mustache_env *env)
{
  /* Reserve first so that nothing can fail half way through. */
  size_t need = env->nowned + txn->ncreated;
  if (need > env->capowned) {
    struct ts_mustache **p = realloc(env->owned, need * sizeof *p);
    if (!p)
      return TS_ERR_NOMEM;
    env->owned = p;
    env->capowned = need;
  }
  for (size_t i = 0; i < txn->ncreated; i++)
    env->owned[env->nowned++] = txn->created[i];
  txn->ncreated = 0;
  enum ts_result result = TS_OK;
  for (size_t i = 0; i < txn->local.cap; i++) {
    struct map_slot *s = &txn->local.slots[i];
    if (!s->key)
      continue;
    /* A failed insert only loses a cache entry: the template itself is
     * owned by env already. */
    if (map_put_owned(&env->cache, s->key, s->klen, s->value) != TS_OK)
      result = TS_ERR_NOMEM;
    s->key = NULL;
  }
  txn_rollback(txn); /* frees what is left: nothing but the shells */
  return result;
}

/* ------------------------------------------------------------------ */
/* Compiling: tokens.                                                  */

enum tok_type {
  T_TEXT,
  T_VAR,      /* {{name}} */
  T_RAW,      /* {{{name}}} or {{&name}} */
  T_SECTION,  /* {{#name}} */
  T_INVERTED, /* {{^name}} */
  T_CLOSE,    /* {{/name}} */
  T_PARTIAL,  /* {{>name}} */
  T_PARENT,   /* {{<name}} */
  T_BLOCK,    /* {{$name}} */
  T_COMMENT,  /* {{! ... }} */
  T_DELIM     /* {{=<% %>=}} */
};

enum tok_flag {
  TF_DYNAMIC = 1,    /* {{>*name}}, {{<*name}} and their closing tag */
  TF_STANDALONE = 2, /* the tag's line disappears from the output */
  TF_PAIR = 4,       /* a standalone parent or block pair */
  TF_EOL = 8,        /* BLOCK: nothing but whitespace after it on its line */
  TF_ARG = 16,       /* BLOCK: an argument of the enclosing parent */
  TF_IGNORED = 32,   /* inside a parent but outside its arguments */
  TF_LCLEAR = 64,    /* only whitespace before the tag on its line */
  TF_RCLEAR = 128    /* only whitespace after the tag on its line */
};

struct token {
  uint8_t type;
  uint8_t flags;
  uint32_t start, end; /* the tag with its delimiters, or the text; text
                          narrows when whitespace is dropped */
  uint32_t name;       /* the trimmed name (after a dynamic '*') */
  uint32_t name_len;
  uint32_t match; /* open <-> close token */
};

struct frame_b; /* a build frame, below */

struct compiler {
  struct ts_mustache_env *env;
  struct txn *txn;
  struct ts_mustache *tpl;
  const char *src;
  size_t len;
  struct ts_error *err;
  struct token *toks;
  size_t ntoks, captoks;
  struct node *nodes;
  size_t nnodes, capnodes;
  struct name_part *parts;
  size_t nparts, capparts;
  struct ts_buf arena;
  struct frame_b *frames;
  size_t nframes, capframes;
};

static void line_col(const char *src, size_t pos, unsigned *line, unsigned *col)
{
  unsigned l = 1, c = 1;
  for (size_t i = 0; i < pos; i++) {
    if (src[i] == '\n') {
      l++;
      c = 1;
    } else if (((unsigned char)src[i] & 0xC0) != 0x80) {
      c++; /* columns count characters, not UTF-8 continuation bytes */
    }
  }
  *line = l;
  *col = c;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static enum ts_result
compile_error(struct compiler *c, size_t pos, enum ts_result code,
              const char *fmt, ...)
{
  unsigned line, col;
  line_col(c->src, pos, &line, &col);
  char msg[TS_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ts_error_set(c->err, code, "%s:%u:%u: %s", c->tpl->name, line, col,
                      msg);
}

static enum ts_result nomem(struct compiler *c)
{
  return ts_error_set(c->err, TS_ERR_NOMEM, "%s: out of memory", c->tpl->name);
}

/* How names appear in messages: at most 60 bytes. */
#define SHOWN(n) ((int)((n) > 60 ? 60 : (n)))

static size_t find(const char *s, size_t n, size_t from, const char *needle,
                   size_t k)
{
  if (k == 0 || n < k)
    return n;
  while (from + k <= n) {
    const char *p = memchr(s + from, needle[0], n - k + 1 - from);
    if (!p)
      return n;
    if (!memcmp(p, needle, k))
      return (size_t)(p - s);
    from = (size_t)(p - s) + 1;
  }
  return n;
}

static bool is_space(char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
         ch == '\f';
}

static enum ts_result push_token(struct compiler *c, struct token t)
{
  if (c->ntoks == c->captoks) {
    size_t ncap = c->captoks ? c->captoks * 2 : 256;
    struct token *p = realloc(c->toks, ncap * sizeof *p);
    if (!p)
      return nomem(c);
    c->toks = p;
    c->captoks = ncap;
  }
  c->toks[c->ntoks++] = t;
  return TS_OK;
}

/* Text becomes one token per line, each ending just after its newline, so
 * that the standalone rules can look at a tag's line token by token. */
static enum ts_result add_text(struct compiler *c, size_t from, size_t to)
{
  while (from < to) {
    const char *nl = memchr(c->src + from, '\n', to - from);
    size_t e = nl ? (size_t)(nl - c->src) + 1 : to;
    enum ts_result r = push_token(
        c, (struct token){T_TEXT, 0, (uint32_t)from, (uint32_t)e, 0, 0, 0});
    if (r != TS_OK)
      return r;
    from = e;
  }
  return TS_OK;
}

static void trim(const char *s, size_t *from, size_t *to)
{
  while (*from < *to && is_space(s[*from]))
    (*from)++;
  while (*to > *from && is_space(s[*to - 1]))
    (*to)--;
}

/* Checks a tag's name: not empty, no whitespace or NUL inside; dotted
 * names (`dotted`) also have no empty parts and at most 255 of them. */
static enum ts_result check_name(struct compiler *c, size_t tag, size_t from,
                                 size_t to, bool dotted)
{
  const char *s = c->src;
  if (from == to)
    return compile_error(c, tag, TS_ERR_PARSE, "empty tag name");
  for (size_t i = from; i < to; i++)
    if (is_space(s[i]) || s[i] == '\0')
      return compile_error(c, tag, TS_ERR_PARSE,
                           "tag name \"%.*s\" contains %s", SHOWN(to - from),
                           s + from, s[i] ? "whitespace" : "a NUL byte");
  if (!dotted || (to - from == 1 && s[from] == '.'))
    return TS_OK;
  size_t parts = 1;
  for (size_t i = from; i < to; i++) {
    if (s[i] != '.')
      continue;
    if (i == from || i + 1 == to || s[i + 1] == '.')
      return compile_error(c, tag, TS_ERR_PARSE,
                           "bad name \"%.*s\": empty part between dots",
                           SHOWN(to - from), s + from);
    parts++;
  }
  if (parts > 255)
    return compile_error(c, tag, TS_ERR_PARSE,
                         "name \"%.*s...\" has more than 255 parts",
                         SHOWN(to - from), s + from);
  return TS_OK;
}

static enum ts_result unterminated(struct compiler *c, size_t tag,
                                   const char *closing, size_t closing_len)
{
  size_t n = 0;
  while (tag + n < c->len && n < 20 && c->src[tag + n] != '\n' &&
         c->src[tag + n] != '\r')
    n++;
  return compile_error(c, tag, TS_ERR_PARSE,
                       "unterminated tag \"%.*s\" (no closing \"%.*s\")",
                       (int)n, c->src + tag, (int)closing_len, closing);
}

/* Pass 1: tokens. Set-delimiter tags take effect as they are read. */
static enum ts_result lex(struct compiler *c)
{
  const char *s = c->src;
  size_t n = c->len;
  char open[MAX_DELIMITER + 1] = "{{", close[MAX_DELIMITER + 1] = "}}";
  size_t olen = 2, clen = 2;
  char needle[MAX_DELIMITER + 2]; /* '}' or '=' followed by `close` */
  size_t pos = 0;
  enum ts_result r;
  while (pos < n) {
    size_t tag = find(s, n, pos, open, olen);
    if ((r = add_text(c, pos, tag)) != TS_OK)
      return r;
    if (tag >= n)
      break;
    size_t p = tag + olen;
    if (p >= n)
      return unterminated(c, tag, close, clen);
    char sigil = s[p];
    struct token t = {0};
    t.start = (uint32_t)tag;
    size_t from, to, end;
    if (sigil == '{' || sigil == '=') {
      needle[0] = sigil == '{' ? '}' : '=';
      memcpy(needle + 1, close, clen);
      size_t e = find(s, n, p + 1, needle, clen + 1);
      if (e >= n)
        return unterminated(c, tag, needle, clen + 1);
      from = p + 1;
      to = e;
      end = e + 1 + clen;
    } else {
      size_t e = find(s, n, p, close, clen);
      if (e >= n)
        return unterminated(c, tag, close, clen);
      from = sigil && strchr("&!#^/><$", sigil) ? p + 1 : p;
      to = e;
      end = e + clen;
    }
    t.end = (uint32_t)end;
    switch (sigil) {
    case '{':
    case '&': t.type = T_RAW; break;
    case '#': t.type = T_SECTION; break;
    case '^': t.type = T_INVERTED; break;
    case '/': t.type = T_CLOSE; break;
    case '>': t.type = T_PARTIAL; break;
    case '<': t.type = T_PARENT; break;
    case '$': t.type = T_BLOCK; break;
    case '!': t.type = T_COMMENT; break;
    case '=': t.type = T_DELIM; break;
    default: t.type = T_VAR; break;
    }
    if (t.type == T_COMMENT) {
      if ((r = push_token(c, t)) != TS_OK)
        return r;
      pos = end;
      continue;
    }
    trim(s, &from, &to);
    if (t.type == T_DELIM) {
      size_t a = from, b = from;
      while (b < to && !is_space(s[b]))
        b++;
      size_t c2 = b;
      while (c2 < to && is_space(s[c2]))
        c2++;
      size_t d = c2;
      while (d < to && !is_space(s[d]))
        d++;
      if (a == b || c2 == d || d != to)
        return compile_error(
            c, tag, TS_ERR_PARSE,
            "bad delimiter change \"%.*s\": expected two delimiters "
            "separated by whitespace",
            SHOWN(end - tag), s + tag);
      if (b - a > MAX_DELIMITER || d - c2 > MAX_DELIMITER)
        return compile_error(c, tag, TS_ERR_PARSE,
                             "bad delimiter change: delimiters are limited "
                             "to %d bytes",
                             MAX_DELIMITER);
      memcpy(open, s + a, b - a);
      olen = b - a;
      memcpy(close, s + c2, d - c2);
      clen = d - c2;
      if ((r = push_token(c, t)) != TS_OK)
        return r;
      pos = end;
      continue;
    }
    if ((t.type == T_PARTIAL || t.type == T_PARENT || t.type == T_CLOSE) &&
        from < to && s[from] == '*') {
      t.flags |= TF_DYNAMIC;
      from++;
      trim(s, &from, &to);
    }
    bool dotted = t.type == T_VAR || t.type == T_RAW || t.type == T_SECTION ||
                  t.type == T_INVERTED || (t.flags & TF_DYNAMIC);
    if ((r = check_name(c, tag, from, to, dotted)) != TS_OK)
      return r;
    if ((t.type == T_PARTIAL || t.type == T_PARENT) &&
        !(t.flags & TF_DYNAMIC) && !partial_name_ok(s + from, to - from))
      return compile_error(c, tag, TS_ERR_PARSE,
                           "partial name \"%.*s\" is not allowed: names "
                           "must stay inside the template folders",
                           SHOWN(to - from), s + from);
    t.name = (uint32_t)from;
    t.name_len = (uint32_t)(to - from);
    if ((r = push_token(c, t)) != TS_OK)
      return r;
    pos = end;
  }
  return TS_OK;
}

/* ------------------------------------------------------------------ */
/* Compiling: matching open and close tags.                            */

static const char *kind_word(uint8_t type)
{
  switch (type) {
  case T_PARENT: return "parent";
  case T_BLOCK: return "block";
  default: return "section";
  }
}

struct open_elem {
  uint32_t tok;
  uint8_t type;
  bool ignored;
};

/* Whether closing tag `t` names open tag `o`, as written: a dynamic
 * name's '*' is kept apart from the name, so compare "*" + name. */
static bool same_name(const struct compiler *c, const struct token *o,
                      const struct token *t)
{
  bool od = o->flags & TF_DYNAMIC, td = t->flags & TF_DYNAMIC;
  const char *on = c->src + o->name, *tn = c->src + t->name;
  size_t ol = o->name_len + od, tl = t->name_len + td;
  if (ol != tl)
    return false;
  if (od != td) { /* one side's '*' is a character of the other's name */
    const char *starred = od ? tn : on, *plain = od ? on : tn;
    return starred[0] == '*' && !memcmp(starred + 1, plain, ol - 1);
  }
  return !memcmp(on, tn, o->name_len);
}

/* Pass 2: pairs sections, blocks and parents with their closing tags and
 * marks what a parent ignores (everything but its block arguments). */
static enum ts_result match(struct compiler *c)
{
  size_t cap = 0, depth = 0;
  struct open_elem *stack = NULL;
  enum ts_result r = TS_OK;
  for (size_t i = 0; i < c->ntoks; i++) {
    struct token *t = &c->toks[i];
    struct open_elem *top = depth ? &stack[depth - 1] : NULL;
    bool in_parent = top && (top->type == T_PARENT || top->ignored);
    switch (t->type) {
    case T_SECTION:
    case T_INVERTED:
    case T_PARENT:
    case T_BLOCK: {
      bool arg = top && top->type == T_PARENT && t->type == T_BLOCK;
      bool ignored = top && ((top->type == T_PARENT && !arg) || top->ignored);
      if (depth >= c->env->max_section_depth) {
        r = compile_error(c, t->start, TS_ERR_LIMIT,
                          "sections nested deeper than %u",
                          c->env->max_section_depth);
        goto out;
      }
      if (depth == cap) {
        size_t ncap = cap ? cap * 2 : 32;
        struct open_elem *p = realloc(stack, ncap * sizeof *p);
        if (!p) {
          r = nomem(c);
          goto out;
        }
        stack = p;
        cap = ncap;
      }
      if (arg)
        t->flags |= TF_ARG;
      if (ignored)
        t->flags |= TF_IGNORED;
      stack[depth++] = (struct open_elem){(uint32_t)i, t->type, ignored};
      break;
    }
    case T_CLOSE: {
      if (!top) {
        r = compile_error(c, t->start, TS_ERR_PARSE,
                          "closing tag \"%.*s\" has no open section",
                          SHOWN(t->name_len), c->src + t->name);
        goto out;
      }
      struct token *o = &c->toks[top->tok];
      if (!same_name(c, o, t)) {
        unsigned line, col;
        line_col(c->src, o->start, &line, &col);
        r = compile_error(
            c, t->start, TS_ERR_PARSE,
            "closing tag \"%s%.*s\" does not match open %s \"%s%.*s\" "
            "(opened at %u:%u)",
            t->flags & TF_DYNAMIC ? "*" : "", SHOWN(t->name_len),
            c->src + t->name, kind_word(o->type),
            o->flags & TF_DYNAMIC ? "*" : "", SHOWN(o->name_len),
            c->src + o->name, line, col);
        goto out;
      }
      o->match = (uint32_t)i;
      t->match = top->tok;
      if (top->ignored)
        t->flags |= TF_IGNORED;
      depth--;
      break;
    }
    default:
      if (in_parent)
        t->flags |= TF_IGNORED;
      break;
    }
  }
  if (depth) {
    struct token *o = &c->toks[stack[depth - 1].tok];
    unsigned line, col;
    line_col(c->src, o->start, &line, &col);
    r = compile_error(c, c->len, TS_ERR_PARSE,
                      "unclosed %s \"%s%.*s\" (opened at %u:%u)",
                      kind_word(o->type), o->flags & TF_DYNAMIC ? "*" : "",
                      SHOWN(o->name_len), c->src + o->name, line, col);
  }
out:
  free(stack);
  return r;
}

/* ------------------------------------------------------------------ */
/* Compiling: standalone lines and whitespace.                         */

static bool text_ends_line(const struct compiler *c, const struct token *t)
{
  return t->end > t->start && c->src[t->end - 1] == '\n';
}

/* Only spaces and tabs, then optionally "\n" or "\r\n". */
static bool text_blank(const struct compiler *c, const struct token *t)
{
  size_t i = t->start, e = t->end;
  if (e > i && c->src[e - 1] == '\n') {
    e--;
    if (e > i && c->src[e - 1] == '\r')
      e--;
  }
  for (; i < e; i++)
    if (c->src[i] != ' ' && c->src[i] != '\t')
      return false;
  return true;
}

static bool left_clear(const struct compiler *c, size_t i)
{
  if (i == 0)
    return true;
  const struct token *p = &c->toks[i - 1];
  if (p->type != T_TEXT)
    return false;
  if (text_ends_line(c, p))
    return true;
  if (!text_blank(c, p))
    return false;
  return i == 1 ||
         (c->toks[i - 2].type == T_TEXT && text_ends_line(c, &c->toks[i - 2]));
}

static bool right_clear(const struct compiler *c, size_t i)
{
  if (i + 1 == c->ntoks)
    return true;
  const struct token *t = &c->toks[i + 1];
  return t->type == T_TEXT && text_blank(c, t) &&
         (text_ends_line(c, t) || i + 2 == c->ntoks);
}

/* Drops the whitespace before tag i on its line. */
static void drop_before(struct compiler *c, size_t i)
{
  if (i == 0)
    return;
  struct token *p = &c->toks[i - 1];
  if (p->type == T_TEXT && !text_ends_line(c, p))
    p->start = p->end;
}

/* Drops the whitespace after tag i on its line, and its line ending when
 * `with_newline`. */
static void drop_after(struct compiler *c, size_t i, bool with_newline)
{
  if (i + 1 == c->ntoks || c->toks[i + 1].type != T_TEXT)
    return;
  struct token *t = &c->toks[i + 1];
  if (with_newline || !text_ends_line(c, t)) {
    t->start = t->end;
    return;
  }
  size_t nl = t->end - 1;
  if (nl > t->start && c->src[nl - 1] == '\r')
    nl--;
  t->start = (uint32_t)nl;
}

static void standalone(struct compiler *c, size_t i)
{
  c->toks[i].flags |= TF_STANDALONE;
  drop_before(c, i);
  drop_after(c, i, true);
}

/* Pass 3. A tag alone on its line (whitespace aside) is standalone: the
 * line disappears. Template inheritance adds pairs (see docs/mustache.md
 * and the spec's whitespace notes): a parent or a block whose opening tag
 * starts its line and whose closing tag ends its line is a standalone pair,
 * indented as a whole; inside a parent only the arguments matter, so what
 * stands next to an argument's tags there is irrelevant. */
static void space(struct compiler *c)
{
  for (size_t i = 0; i < c->ntoks; i++) {
    struct token *t = &c->toks[i];
    if (t->type == T_TEXT || t->type == T_VAR || t->type == T_RAW)
      continue;
    if (left_clear(c, i))
      t->flags |= TF_LCLEAR;
    if (right_clear(c, i))
      t->flags |= TF_RCLEAR;
  }
  for (size_t i = 0; i < c->ntoks; i++) {
    struct token *t = &c->toks[i];
    if (t->flags & TF_IGNORED)
      continue;
    bool lr = (t->flags & TF_LCLEAR) && (t->flags & TF_RCLEAR);
    switch (t->type) {
    case T_SECTION:
    case T_INVERTED:
    case T_PARTIAL:
    case T_COMMENT:
    case T_DELIM:
      if (lr)
        standalone(c, i);
      break;
    case T_PARENT:
      if ((t->flags & TF_LCLEAR) && (c->toks[t->match].flags & TF_RCLEAR)) {
        t->flags |= TF_PAIR;
        drop_before(c, i);
      }
      break;
    case T_BLOCK:
      if (t->flags & TF_ARG) {
        /* An argument's opening tag at the end of its line owns the line
         * ending; the argument starts on the next line. */
        if (t->flags & TF_RCLEAR) {
          t->flags |= TF_EOL | TF_STANDALONE;
          drop_after(c, i, true);
        }
        break;
      }
      if (lr)
        standalone(c, i);
      if (t->flags & TF_RCLEAR)
        t->flags |= TF_EOL;
      if ((t->flags & TF_LCLEAR) && (c->toks[t->match].flags & TF_RCLEAR)) {
        t->flags |= TF_PAIR;
        drop_before(c, i);
      }
      break;
    case T_CLOSE: {
      const struct token *o = &c->toks[t->match];
      if (o->type == T_PARENT) {
        if (o->flags & TF_PAIR)
          drop_after(c, i, true);
      } else if (o->type == T_BLOCK && (o->flags & TF_ARG)) {
        if (t->flags & TF_LCLEAR)
          drop_before(c, i);
      } else if (lr) {
        standalone(c, i);
      } else if (o->type == T_BLOCK && (o->flags & TF_PAIR)) {
        /* A standalone block pair keeps the line ending after its closing
         * tag unless that tag is alone on its line. */
        drop_after(c, i, false);
      }
      break;
    }
    default: break;
    }
  }
}

/* ------------------------------------------------------------------ */
/* Finding partials.                                                   */

/* Builds `tag`, `mode`, name into *key (a small buffer or malloc'd). */
static char *make_key(char *small, size_t small_len, char tag, int mode,
                      const char *name, size_t n, size_t *klen)
{
  char *key = n + 2 <= small_len ? small : malloc(n + 2);
  if (!key)
    return NULL;
  key[0] = tag;
  key[1] = (char)('0' + mode);
  memcpy(key + 2, name, n);
  *klen = n + 2;
  return key;
}

static enum ts_result cache_put(struct txn *txn, char tag, int mode,
                                const char *name, size_t n, void *value)
{
  char small[256];
  size_t klen;
  char *key = make_key(small, sizeof small, tag, mode, name, n, &klen);
  if (!key)
    return TS_ERR_NOMEM;
  enum ts_result r = map_put(&txn->local, key, klen, value);
  if (key != small)
    free(key);
  return r;
}

/* Candidate names for partial `name` included from a template of escaping
 * `from`: "name.TYPE" first when the name has no type of its own (so
 * `{{>card}}` in a JSON template prefers card.json.mustache), then the
 * name itself. Root templates are looked up by their name only. */
static size_t candidates(const char *name, size_t n, int from, bool root,
                         char *typed_name, size_t cap, const char *out[2],
                         size_t out_len[2])
{
  size_t k = 0;
  if (!root && typed_mode(name, n) < 0) {
    const char *ext = mode_ext[from];
    size_t e = strlen(ext);
    if (n + 1 + e < cap) {
      memcpy(typed_name, name, n);
      typed_name[n] = '.';
      memcpy(typed_name + n + 1, ext, e);
      out[k] = typed_name;
      out_len[k++] = n + 1 + e;
    }
  }
  out[k] = name;
  out_len[k++] = n;
  return k;
}

/* Looks partial `name` up (in-memory partials, then each folder) and
 * creates and queues its template in `txn` when it is new. *out is NULL
 * when nothing is found; an error only when a file exists but cannot be
 * read. The name must have passed partial_name_ok. */
static enum ts_result resolve_partial(struct ts_mustache_env *env,
                                      struct txn *txn, const char *name,
                                      size_t n, int from, bool root,
                                      struct ts_mustache **out,
                                      struct ts_error *err)
{
  char small[256];
  size_t klen;
  char ltag = root ? 'R' : 'L';
  char *key = make_key(small, sizeof small, ltag, from, name, n, &klen);
  if (!key)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  struct map_slot *hit = cache_find(env, txn, key, klen);
  if (key != small)
    free(key);
  if (hit) {
    *out = hit->value;
    return TS_OK;
  }
  int typed = typed_mode(name, n);
  int mode = typed >= 0 ? typed : from;
  char typed_name[512];
  const char *cand[2];
  size_t cand_len[2];
  size_t ncand = candidates(name, n, from, root, typed_name, sizeof typed_name,
                            cand, cand_len);
  struct ts_mustache *found = NULL;
  enum ts_result r = TS_OK;
  struct ts_buf path;
  ts_buf_init(&path, 0);
  for (size_t d = 0; d <= env->ndirs && !found && r == TS_OK; d++) {
    for (size_t k = 0; k < ncand && !found && r == TS_OK; k++) {
      if (d == 0) { /* the in-memory partials come first */
        struct map_slot *s = map_find(&env->partials, cand[k], cand_len[k]);
        if (!s)
          continue;
        char *mkey = make_key(small, sizeof small, 'M', mode, cand[k],
                              cand_len[k], &klen);
        if (!mkey) {
          r = TS_ERR_NOMEM;
          break;
        }
        struct map_slot *c = cache_find(env, txn, mkey, klen);
        if (mkey != small)
          free(mkey);
        if (c) {
          found = c->value;
          break;
        }
        struct mem_partial *mp = s->value;
        r = txn_add(txn, env, s->key, (enum ts_mustache_escape)mode, mp->src,
                    mp->len, NULL, &found);
        if (r == TS_OK)
          r = cache_put(txn, 'M', mode, cand[k], cand_len[k], found);
        continue;
      }
      ts_buf_reset(&path);
      if (ts_buf_printf(&path, "%s/%.*s.mustache", env->dirs[d - 1],
                        (int)cand_len[k], cand[k]) != TS_OK) {
        r = TS_ERR_NOMEM;
        break;
      }
      char *fkey =
          make_key(small, sizeof small, 'F', mode, path.data, path.len, &klen);
      if (!fkey) {
        r = TS_ERR_NOMEM;
        break;
      }
      struct map_slot *c = cache_find(env, txn, fkey, klen);
      if (fkey != small)
        free(fkey);
      if (c) {
        found = c->value;
        break;
      }
      struct stat st;
      if (stat(path.data, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
        continue;
      char *src = NULL;
      size_t len = 0;
      enum ts_result fr =
          ts_fs_read(path.data, env->max_template, &src, &len, err);
      if (fr == TS_ERR_NOTFOUND)
        continue;
      if (fr != TS_OK) {
        ts_buf_cleanup(&path);
        return fr;
      }
      r = txn_add(txn, env, path.data, (enum ts_mustache_escape)mode, src, len,
                  src, &found);
      if (r == TS_OK)
        r = cache_put(txn, 'F', mode, path.data, path.len, found);
    }
  }
  ts_buf_cleanup(&path);
  if (r == TS_OK)
    r = cache_put(txn, ltag, from, name, n, found);
  if (r != TS_OK)
    return ts_error_set(err, r, "out of memory");
  *out = found;
  return TS_OK;
}

/* "card.html.mustache or card.mustache in templates, theme" for messages. */
static void describe_search(const struct ts_mustache_env *env, const char *name,
                            size_t n, int from, bool root, char *out,
                            size_t cap)
{
  char typed_name[512];
  const char *cand[2];
  size_t cand_len[2];
  size_t ncand = candidates(name, n, from, root, typed_name, sizeof typed_name,
                            cand, cand_len);
  struct ts_buf b;
  ts_buf_init(&b, cap - 1);
  ts_buf_append_str(&b, "looked for ");
  for (size_t k = 0; k < ncand; k++)
    ts_buf_printf(&b, "%s%.*s.mustache", k ? " and " : "", SHOWN(cand_len[k]),
                  cand[k]);
  if (env->ndirs == 0)
    ts_buf_append_str(&b, " with no template folders");
  else
    ts_buf_append_str(&b, " in ");
  for (size_t d = 0; d < env->ndirs; d++)
    ts_buf_printf(&b, "%s%s", d ? ", " : "", env->dirs[d]);
  snprintf(out, cap, "%s", ts_buf_cstr(&b));
  ts_buf_cleanup(&b);
}

/* ------------------------------------------------------------------ */
/* Compiling: nodes.                                                   */

struct frame_b {
  uint32_t node;     /* the element's node */
  uint32_t intr;     /* arena offset of its intrinsic indentation */
  uint32_t intr_len; /* stripped from the start of each line inside */
};

static enum ts_result add_node(struct compiler *c, struct node n,
                               uint32_t *index)
{
  if (c->nnodes == c->capnodes) {
    size_t ncap = c->capnodes ? c->capnodes * 2 : 64;
    struct node *p = realloc(c->nodes, ncap * sizeof *p);
    if (!p)
      return nomem(c);
    c->nodes = p;
    c->capnodes = ncap;
  }
  *index = (uint32_t)c->nnodes;
  c->nodes[c->nnodes++] = n;
  return TS_OK;
}

static enum ts_result arena_add(struct compiler *c, const char *s, size_t n,
                                uint32_t *off)
{
  *off = (uint32_t)c->arena.len;
  if (ts_buf_append(&c->arena, s, n) != TS_OK)
    return nomem(c);
  return TS_OK;
}

static enum ts_result add_part(struct compiler *c, uint32_t str, uint32_t len)
{
  /* Equal names get equal ids, which is what the render's memo of name
   * lookups is keyed by. */
  struct map *names = &c->env->names;
  const char *text = c->arena.data + str;
  struct map_slot *known = map_find(names, text, len);
  uintptr_t id = known ? (uintptr_t)known->value : names->n + 1;
  if (!known &&
      (id > UINT32_MAX || map_put(names, text, len, (void *)id) != TS_OK))
    return nomem(c);
  if (c->nparts == c->capparts) {
    size_t ncap = c->capparts ? c->capparts * 2 : 32;
    struct name_part *p = realloc(c->parts, ncap * sizeof *p);
    if (!p)
      return nomem(c);
    c->parts = p;
    c->capparts = ncap;
  }
  c->parts[c->nparts++] =
      (struct name_part){str, len, (uint32_t)id, ts_value_tag(text, len)};
  return TS_OK;
}

/* Stores a name; dotted names as NUL-separated parts ("a\0b\0") and,
 * as they are looked up in the data, in the part table too; the implicit
 * iterator "." as no parts at all. */
static enum ts_result store_name(struct compiler *c, const struct token *t,
                                 bool dotted, struct node *n)
{
  const char *s = c->src + t->name;
  n->len = t->name_len;
  n->nparts = 1;
  n->parts = (uint32_t)c->nparts;
  if (dotted && t->name_len == 1 && s[0] == '.') {
    n->nparts = 0;
    n->str = (uint32_t)c->arena.len;
    return TS_OK;
  }
  enum ts_result r = arena_add(c, s, t->name_len + 1, &n->str);
  if (r != TS_OK)
    return r;
  char *p = c->arena.data + n->str;
  p[t->name_len] = '\0';
  if (!dotted)
    return TS_OK;
  uint32_t from = 0;
  for (uint32_t i = 0; i <= t->name_len && r == TS_OK; i++)
    if (i == t->name_len || p[i] == '.') {
      p[i] = '\0';
      r = add_part(c, n->str + from, i - from);
      from = i + 1;
    }
  n->nparts = (uint8_t)(c->nparts - n->parts);
  return r;
}

/* Skips the intrinsic indentation of the enclosing blocks, outermost
 * first, at the start of the line [from, to). */
static size_t strip_prefixes(const struct compiler *c, size_t from, size_t to)
{
  for (size_t f = 0; f < c->nframes; f++) {
    const struct frame_b *fr = &c->frames[f];
    if (!fr->intr_len)
      continue;
    if (to - from < fr->intr_len ||
        memcmp(c->src + from, c->arena.data + fr->intr, fr->intr_len))
      break;
    from += fr->intr_len;
  }
  return from;
}

/* The indentation before tag `t` (only whitespace precedes it), minus the
 * enclosing blocks' intrinsic indentation, into the arena. */
static enum ts_result leading_ws(struct compiler *c, const struct token *t,
                                 uint32_t *off, uint32_t *len)
{
  size_t ls = t->start;
  while (ls > 0 && c->src[ls - 1] != '\n')
    ls--;
  size_t from = strip_prefixes(c, ls, t->start);
  *len = (uint32_t)(t->start - from);
  return arena_add(c, c->src + from, t->start - from, off);
}

/* The whitespace starting the line after tag `t`, minus the enclosing
 * blocks' intrinsic indentation: a block's intrinsic indentation. */
static enum ts_result next_line_ws(struct compiler *c, const struct token *t,
                                   uint32_t *off, uint32_t *len)
{
  size_t p = t->end, n = c->len;
  while (p < n && (c->src[p] == ' ' || c->src[p] == '\t'))
    p++;
  if (p + 1 < n && c->src[p] == '\r' && c->src[p + 1] == '\n')
    p += 2;
  else if (p < n && c->src[p] == '\n')
    p++;
  else
    p = n; /* the tag ends the template: nothing follows */
  size_t q = p;
  while (q < n && (c->src[q] == ' ' || c->src[q] == '\t'))
    q++;
  size_t from = strip_prefixes(c, p, q);
  *len = (uint32_t)(q - from);
  return arena_add(c, c->src + from, q - from, off);
}

static enum ts_result push_frame(struct compiler *c, struct frame_b f)
{
  if (c->nframes == c->capframes) {
    size_t ncap = c->capframes ? c->capframes * 2 : 32;
    struct frame_b *p = realloc(c->frames, ncap * sizeof *p);
    if (!p)
      return nomem(c);
    c->frames = p;
    c->capframes = ncap;
  }
  c->frames[c->nframes++] = f;
  return TS_OK;
}

static enum ts_result link_static(struct compiler *c, const struct token *t,
                                  struct node *n)
{
  struct ts_mustache *target = NULL;
  enum ts_result r =
      resolve_partial(c->env, c->txn, c->src + t->name, t->name_len,
                      c->tpl->escape, false, &target, c->err);
  if (r != TS_OK) {
    char msg[TS_ERROR_MAX];
    memcpy(msg, c->err->msg, sizeof msg);
    return compile_error(c, t->start, r, "%s", msg);
  }
  if (!target && c->env->check) {
    char where[512];
    describe_search(c->env, c->src + t->name, t->name_len, c->tpl->escape,
                    false, where, sizeof where);
    return compile_error(c, t->start, TS_ERR_NOTFOUND,
                         "%s \"%.*s\" not found (%s)",
                         t->type == T_PARENT ? "parent" : "partial",
                         SHOWN(t->name_len), c->src + t->name, where);
  }
  n->target = target;
  return TS_OK;
}

/* Pass 4: nodes. `bol` tracks whether the next output of this template
 * starts a line, which is where a standalone partial's indentation goes. */
static enum ts_result build(struct compiler *c)
{
  bool bol = true;
  bool in_text = false; /* the last node is text that may grow */
  enum ts_result r = TS_OK;
  for (size_t i = 0; i < c->ntoks && r == TS_OK; i++) {
    const struct token *t = &c->toks[i];
    if (t->flags & TF_IGNORED)
      continue;
    bool alone = t->flags & TF_STANDALONE;
    struct node n = {0};
    uint32_t idx = 0;
    switch (t->type) {
    case T_TEXT: {
      size_t from = t->start, to = t->end;
      if (from < to && (from == 0 || c->src[from - 1] == '\n'))
        from = strip_prefixes(c, from, to);
      if (from == to)
        break;
      if (!in_text) {
        n.kind = N_TEXT;
        n.flags = bol ? NF_BOL : 0;
        n.str = (uint32_t)c->arena.len;
        if ((r = add_node(c, n, &idx)) != TS_OK)
          break;
        in_text = true;
      }
      uint32_t off;
      if ((r = arena_add(c, c->src + from, to - from, &off)) != TS_OK)
        break;
      c->nodes[c->nnodes - 1].len += (uint32_t)(to - from);
      bol = c->src[to - 1] == '\n';
      break;
    }
    case T_COMMENT:
    case T_DELIM: break;
    case T_VAR:
    case T_RAW:
      n.kind = N_VAR;
      n.flags = bol ? NF_BOL : 0;
      n.escape = t->type == T_RAW ? TS_MUSTACHE_ESCAPE_NONE : c->tpl->escape;
      if ((r = store_name(c, t, true, &n)) == TS_OK)
        r = add_node(c, n, &idx);
      in_text = bol = false;
      break;
    case T_SECTION:
    case T_INVERTED:
      n.kind = t->type == T_SECTION ? N_SECTION : N_INVERTED;
      n.flags = bol && !alone ? NF_BOL : 0;
      if ((r = store_name(c, t, true, &n)) == TS_OK &&
          (r = add_node(c, n, &idx)) == TS_OK)
        r = push_frame(c, (struct frame_b){idx, 0, 0});
      in_text = false;
      bol = alone;
      break;
    case T_CLOSE: {
      const struct token *o = &c->toks[t->match];
      struct frame_b f = c->frames[--c->nframes];
      c->nodes[f.node].end = (uint32_t)c->nnodes;
      in_text = false;
      if (o->type == T_PARENT)
        bol = o->flags & TF_PAIR;
      else if (o->type == T_BLOCK && (o->flags & TF_ARG))
        bol = false;
      else
        bol = alone;
      break;
    }
    case T_PARTIAL:
    case T_PARENT: {
      bool site = t->type == T_PARTIAL ? alone : (t->flags & TF_PAIR);
      n.kind = t->type == T_PARTIAL ? N_PARTIAL : N_PARENT;
      n.flags = site ? NF_STANDALONE : bol ? NF_BOL : 0;
      if (t->flags & TF_DYNAMIC) {
        n.flags |= NF_DYNAMIC;
        r = store_name(c, t, true, &n);
      } else {
        r = store_name(c, t, false, &n);
        if (r == TS_OK)
          r = link_static(c, t, &n);
      }
      if (r == TS_OK && site)
        r = leading_ws(c, t, &n.indent, &n.indent_len);
      if (r == TS_OK)
        r = add_node(c, n, &idx);
      if (r == TS_OK && t->type == T_PARENT)
        r = push_frame(c, (struct frame_b){idx, 0, 0});
      in_text = false;
      bol = t->type == T_PARTIAL && alone;
      break;
    }
    case T_BLOCK: {
      struct frame_b f = {0};
      n.kind = N_BLOCK;
      if (alone)
        n.flags |= NF_BODY_BOL;
      bool pair = t->flags & TF_PAIR;
      bool eol = t->flags & TF_EOL;
      if (t->flags & TF_ARG)
        n.flags |= NF_ARG;
      else if (pair)
        n.flags |= NF_STANDALONE;
      else if (bol && !alone)
        n.flags |= NF_BOL;
      r = store_name(c, t, false, &n);
      if (r == TS_OK && eol && ((t->flags & TF_ARG) || pair))
        r = next_line_ws(c, t, &f.intr, &f.intr_len);
      if (r == TS_OK && pair && !(t->flags & TF_ARG)) {
        if (eol) {
          n.indent = f.intr;
          n.indent_len = f.intr_len;
        } else {
          r = leading_ws(c, t, &n.indent, &n.indent_len);
        }
      }
      if (r == TS_OK)
        r = add_node(c, n, &idx);
      f.node = idx;
      if (r == TS_OK)
        r = push_frame(c, f);
      in_text = false;
      bol = alone;
      break;
    }
    default: break;
    }
  }
  return r;
}

/* Merges each TEXT node into the variable or section that follows it,
 * so that rendering visits one node instead of two; most text is
 * followed by a tag. Not across the end of a body: the text and the node
 * must be in the same one. Every index (`end`) is renumbered; an index
 * of the text becomes one of the node it went into, which writes the
 * text first. */
static void merge_text(struct compiler *c)
{
  size_t n = c->nnodes;
  if (n < 2)
    return;
  /* ends[i]: some body ends just before node i. */
  bool *ends = calloc(n + 1, sizeof *ends);
  uint32_t *to = malloc((n + 1) * sizeof *to);
  if (!ends || !to) { /* merging is an optimisation: go without */
    free(ends);
    free(to);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint8_t k = c->nodes[i].kind;
    if (k == N_SECTION || k == N_INVERTED || k == N_PARENT || k == N_BLOCK)
      ends[c->nodes[i].end] = true;
  }
  size_t out = 0;
  for (size_t i = 0; i < n; i++) {
    struct node *t = &c->nodes[i];
    struct node *next = i + 1 < n ? &c->nodes[i + 1] : NULL;
    if (t->kind == N_TEXT && next && !ends[i + 1] &&
        (next->kind == N_VAR || next->kind == N_SECTION ||
         next->kind == N_INVERTED)) {
      next->text = t->str;
      next->text_len = t->len;
      if (t->flags & NF_BOL)
        next->flags |= NF_TEXT_BOL;
      if (t->flags & NF_INNER_BOL)
        next->flags |= NF_TEXT_INNER_BOL;
      to[i] = (uint32_t)out; /* the node that now writes this text */
      continue;
    }
    to[i] = (uint32_t)out;
    c->nodes[out++] = *t;
  }
  to[n] = (uint32_t)out;
  for (size_t i = 0; i < out; i++) {
    uint8_t k = c->nodes[i].kind;
    if (k == N_SECTION || k == N_INVERTED || k == N_PARENT || k == N_BLOCK)
      c->nodes[i].end = to[c->nodes[i].end];
  }
  c->nnodes = out;
  free(ends);
  free(to);
}

static void compiler_cleanup(struct compiler *c)
{
  free(c->toks);
  free(c->frames);
  free(c->nodes);
  free(c->parts);
  ts_buf_cleanup(&c->arena);
}

static enum ts_result compile_one(struct ts_mustache_env *env, struct txn *txn,
                                  const struct pending *p, struct ts_error *err)
{
  struct compiler c = {0};
  c.env = env;
  c.txn = txn;
  c.tpl = p->tpl;
  c.src = p->src ? p->src : "";
  c.len = p->len;
  c.err = err;
  ts_buf_init(&c.arena, 0);
  enum ts_result r;
  if (p->len > env->max_template)
    r = ts_error_set(err, TS_ERR_LIMIT, "%s: larger than %zu bytes",
                     p->tpl->name, env->max_template);
  else if ((r = lex(&c)) == TS_OK && (r = match(&c)) == TS_OK) {
    space(&c);
    r = build(&c);
  }
  if (r == TS_OK && c.nnodes == 0) {
    uint32_t idx; /* an empty template still gets an arena to point at */
    r = arena_add(&c, "", 0, &idx);
  }
  if (r == TS_OK && !c.arena.data)
    r = ts_buf_reserve(&c.arena, 1) == TS_OK ? TS_OK : nomem(&c);
  if (r != TS_OK) {
    compiler_cleanup(&c);
    return r;
  }
  for (size_t i = 0; i < c.nnodes; i++) {
    struct node *n = &c.nodes[i];
    if (n->kind == N_TEXT && n->len > 1 &&
        memchr(c.arena.data + n->str, '\n', n->len - 1))
      n->flags |= NF_INNER_BOL;
  }
  merge_text(&c);
  p->tpl->nodes = c.nodes;
  p->tpl->n_nodes = (uint32_t)c.nnodes;
  p->tpl->parts = c.parts;
  p->tpl->n_parts = (uint32_t)c.nparts;
  p->tpl->arena_len = c.arena.len;
  p->tpl->arena = ts_buf_detach(&c.arena);
  c.nodes = NULL;
  c.parts = NULL;
  compiler_cleanup(&c);
  if (!p->tpl->arena)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  return TS_OK;
}

static enum ts_result txn_run(struct txn *txn, struct ts_mustache_env *env,
                              struct ts_error *err)
{
  while (txn->nqueue) {
    struct pending p = txn->queue[--txn->nqueue];
    enum ts_result r = compile_one(env, txn, &p, err);
    free(p.owned);
    if (r != TS_OK)
      return r;
  }
  return TS_OK;
}

static enum ts_result txn_finish(struct txn *txn, struct ts_mustache_env *env,
                                 struct ts_error *err)
{
  enum ts_result r = txn_run(txn, env, err);
  if (r != TS_OK) {
    txn_rollback(txn);
    return r;
  }
  if (txn_commit(txn, env) != TS_OK)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  return TS_OK;
}

enum ts_result ts_mustache_compile_file(struct ts_mustache_env *env,
                                        const char *name_or_path,
                                        const struct ts_mustache **out,
                                        struct ts_error *err)
{
  struct txn txn = {0};
  size_t n = strlen(name_or_path);
  struct ts_mustache *t = NULL;
  enum ts_result r;
  if (ends_with(name_or_path, n, ".mustache")) {
    int mode = (int)ts_mustache_escape_for_name(name_or_path);
    char small[256];
    size_t klen;
    char *key =
        make_key(small, sizeof small, 'F', mode, name_or_path, n, &klen);
    if (!key)
      return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
    struct map_slot *hit = map_find(&env->cache, key, klen);
    if (key != small)
      free(key);
    if (hit) {
      *out = hit->value;
      return TS_OK;
    }
    char *src = NULL;
    size_t len = 0;
    if ((r = ts_fs_read(name_or_path, env->max_template, &src, &len, err)) !=
        TS_OK)
      return r;
    if ((r = txn_add(&txn, env, name_or_path, (enum ts_mustache_escape)mode,
                     src, len, src, &t)) != TS_OK ||
        (r = cache_put(&txn, 'F', mode, name_or_path, n, t)) != TS_OK) {
      txn_rollback(&txn);
      return ts_error_set(err, r, "out of memory");
    }
  } else {
    if (!partial_name_ok(name_or_path, n))
      return ts_error_set(err, TS_ERR_USAGE,
                          "bad template name \"%s\": names must stay inside "
                          "the template folders",
                          name_or_path);
    r = resolve_partial(env, &txn, name_or_path, n, TS_MUSTACHE_ESCAPE_HTML,
                        true, &t, err);
    if (r == TS_OK && !t) {
      char where[512];
      describe_search(env, name_or_path, n, TS_MUSTACHE_ESCAPE_HTML, true,
                      where, sizeof where);
      r = ts_error_set(err, TS_ERR_NOTFOUND, "template \"%s\" not found (%s)",
                       name_or_path, where);
    }
    if (r != TS_OK) {
      txn_rollback(&txn);
      return r;
    }
  }
  if ((r = txn_finish(&txn, env, err)) != TS_OK)
    return r;
  *out = t;
  return TS_OK;
}

enum ts_result ts_mustache_compile_string(struct ts_mustache_env *env,
                                          const char *display_name,
                                          const char *src, size_t len,
                                          enum ts_mustache_escape escape,
                                          const struct ts_mustache **out,
                                          struct ts_error *err)
{
  struct txn txn = {0};
  struct ts_mustache *t = NULL;
  if ((unsigned)escape > TS_MUSTACHE_ESCAPE_NONE)
    escape = TS_MUSTACHE_ESCAPE_HTML;
  enum ts_result r =
      txn_add(&txn, env, display_name, escape, src, len, NULL, &t);
  if (r != TS_OK) {
    txn_rollback(&txn);
    return ts_error_set(err, r, "out of memory");
  }
  if ((r = txn_finish(&txn, env, err)) != TS_OK)
    return r;
  *out = t;
  return TS_OK;
}

/* ------------------------------------------------------------------ */
/* Output: a buffer in front of the sink, with the cap in `end`.       */

struct out {
  char *p;   /* where the next byte goes */
  char *end; /* the buffer's end, or earlier where the cap falls */
  char *buf;
  size_t size;    /* of buf */
  size_t flushed; /* bytes handed to the sink */
  size_t max;     /* the output cap */
  struct ts_mustache_sink sink;
  struct ts_error *err;
  const char *name; /* the template, for messages */
};

static void out_init(struct out *o, char *buf, size_t size, size_t max,
                     struct ts_mustache_sink sink, struct ts_error *err,
                     const char *name)
{
  o->p = o->buf = buf;
  o->size = size;
  o->flushed = 0;
  o->max = max;
  o->end = buf + (max < size ? max : size);
  o->sink = sink;
  o->err = err;
  o->name = name;
}

static enum ts_result out_flush(struct out *o)
{
  size_t n = (size_t)(o->p - o->buf);
  if (n) {
    /* A sink that fails without saying why gets a generic message. */
    if (o->err)
      o->err->msg[0] = '\0';
    enum ts_result r = o->sink.write(o->sink.ctx, o->buf, n, o->err);
    if (r != TS_OK) {
      if (o->err && !o->err->msg[0])
        ts_error_set(o->err, TS_ERR_IO, "%s: writing the output failed",
                     o->name);
      return r;
    }
    o->flushed += n;
  }
  size_t room = o->max - o->flushed;
  o->p = o->buf;
  o->end = o->buf + (room < o->size ? room : o->size);
  return TS_OK;
}

static enum ts_result out_write_slow(struct out *o, const char *s, size_t n)
{
  size_t used = o->flushed + (size_t)(o->p - o->buf);
  if (n > o->max - used)
    return ts_error_set(o->err, TS_ERR_LIMIT, "%s: output exceeds %zu bytes",
                        o->name, o->max);
  while (n) {
    if (o->p == o->end) {
      enum ts_result r = out_flush(o);
      if (r != TS_OK)
        return r;
    }
    size_t k = (size_t)(o->end - o->p);
    if (k > n)
      k = n;
    memcpy(o->p, s, k);
    o->p += k;
    s += k;
    n -= k;
  }
  return TS_OK;
}

/* Copies n <= 16 bytes with two loads and stores that may overlap, never
 * touching a byte outside [s, s + n) or [d, d + n): most writes are this
 * short (a value, the text between two tags), and a call to memcpy costs
 * more than the copy. */
static HOT_INLINE void copy_short(char *d, const char *s, size_t n)
{
  if (n >= 8) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    memcpy(d, &a, 4);
    memcpy(d + n - 4, &b, 4);
  } else if (n) {
    d[0] = s[0];
    d[n / 2] = s[n / 2];
    d[n - 1] = s[n - 1];
  }
}

static HOT_INLINE enum ts_result out_write(struct out *o, const char *s,
                                           size_t n)
{
  if ((size_t)(o->end - o->p) >= n) {
    if (n <= 16)
      copy_short(o->p, s, n);
    else
      memcpy(o->p, s, n);
    o->p += n;
    return TS_OK;
  }
  return out_write_slow(o, s, n);
}

/* ------------------------------------------------------------------ */
/* Escaping. Each mode has a class table; runs of bytes of class 0 are   */
/* copied with one memcpy.                                             */

/* Where SSE2 exists (every x86-64) the scanners below test 16 bytes at
 * once for a byte that needs escaping; the class tables do the rest. */
#if defined(__SSE2__)
static inline size_t first_set(__m128i hits)
{
  int mask = _mm_movemask_epi8(hits);
  return mask ? (size_t)__builtin_ctz((unsigned)mask) : 16;
}
#endif

static const char *const html_repl[] = {NULL,   "&amp;",  "&lt;",
                                        "&gt;", "&quot;", "&#39;"};
static const uint8_t html_repl_len[] = {0, 5, 4, 4, 6, 5};
static const uint8_t html_class[256] = {
    ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5};

#if defined(__SSE2__)
/* The bytes of v that HTML escaping changes. '&' 0x26 and '\'' 0x27
 * differ in bit 0, '<' 0x3c and '>' 0x3e in bit 1: three comparisons
 * cover the five characters. */
static HOT_INLINE __m128i html_hits(__m128i v)
{
  const __m128i b0 = _mm_set1_epi8(1), b1 = _mm_set1_epi8(2);
  const __m128i amp = _mm_set1_epi8('\''), lt = _mm_set1_epi8('>'),
                quot = _mm_set1_epi8('"');
  return _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(_mm_or_si128(v, b0), amp),
                   _mm_cmpeq_epi8(_mm_or_si128(v, b1), lt)),
      _mm_cmpeq_epi8(v, quot));
}
#endif

/* The index of the first byte of s[0, n) that HTML escaping changes.
 * Most values have none, and most are short: the last block of 16 is
 * loaded so that it ends at s + n (overlapping the one before), and
 * shorter strings are loaded as two halves that may overlap, so no byte
 * is read twice one at a time and none outside s[0, n). */
static HOT_INLINE size_t scan_html(const unsigned char *s, size_t n)
{
#if defined(__SSE2__)
  if (n >= 16) {
    size_t i = 0;
    for (; i + 16 < n; i += 16) {
      size_t k =
          first_set(html_hits(_mm_loadu_si128((const __m128i *)(s + i))));
      if (k < 16)
        return i + k;
    }
    /* Bytes before s + i of this block were found clean already. */
    size_t k = first_set(
        html_hits(_mm_loadu_si128((const __m128i *)(s + n - 16))));
    return k < 16 ? n - 16 + k : n;
  }
  if (n >= 4) {
    /* The low half holds s[0, h), the high half s[n - h, n). */
    size_t h = n >= 8 ? 8 : 4;
    __m128i v;
    if (h == 8) {
      v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)s),
                             _mm_loadl_epi64((const __m128i *)(s + n - 8)));
    } else {
      uint32_t lo, hi;
      memcpy(&lo, s, 4);
      memcpy(&hi, s + n - 4, 4);
      v = _mm_unpacklo_epi64(_mm_cvtsi32_si128((int)lo),
                             _mm_cvtsi32_si128((int)hi));
    }
    size_t k = first_set(html_hits(v));
    if (k < h)
      return k;
    return k < 16 ? n - h + (k - 8) : n;
  }
#endif
  size_t i = 0;
  while (i < n && !html_class[s[i]])
    i++;
  return i;
}

static enum ts_result esc_html(struct out *o, const unsigned char *s, size_t n)
{
  size_t i = 0;
  while (i < n) {
    size_t j = i + scan_html(s + i, n - i);
    enum ts_result r = out_write(o, (const char *)s + i, j - i);
    if (r != TS_OK || j == n)
      return r;
    uint8_t k = html_class[s[j]];
    if ((r = out_write(o, html_repl[k], html_repl_len[k])) != TS_OK)
      return r;
    i = j + 1;
  }
  return TS_OK;
}

/* JSON: control characters, '"' and '\\' as the grammar requires; '<',
 * '>' and '&' so the output is also safe inside HTML <script>; U+2028 and
 * U+2029 (0xE2 0x80 0xA8/0xA9) because JavaScript strings cannot hold
 * them raw. */
static const uint8_t json_class[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
    [0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
    [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
    [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
    [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1, ['<'] = 1,  ['>'] = 1,
    ['&'] = 1,  [0xe2] = 2};

static size_t scan_json(const unsigned char *s, size_t n)
{
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i ctl = _mm_set1_epi8(0x1f), quot = _mm_set1_epi8('"'),
                bsl = _mm_set1_epi8('\\'), b1 = _mm_set1_epi8(2),
                lt = _mm_set1_epi8('>'), amp = _mm_set1_epi8('&'),
                e2 = _mm_set1_epi8((char)0xe2);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
    __m128i hits = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl),
                     _mm_cmpeq_epi8(v, quot)),
        _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, bsl),
                         _mm_cmpeq_epi8(_mm_or_si128(v, b1), lt)),
            _mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, e2))));
    size_t k = first_set(hits);
    if (k < 16)
      return i + k;
  }
#endif
  while (i < n && !json_class[s[i]])
    i++;
  return i;
}

static enum ts_result esc_json(struct out *o, const unsigned char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < n) {
    size_t j = i + scan_json(s + i, n - i);
    enum ts_result r = out_write(o, (const char *)s + i, j - i);
    if (r != TS_OK || j == n)
      return r;
    unsigned char ch = s[j];
    char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
    size_t k = 6, used = 1;
    switch (ch) {
    case '"': e[1] = '"', k = 2; break;
    case '\\': e[1] = '\\', k = 2; break;
    case '\b': e[1] = 'b', k = 2; break;
    case '\f': e[1] = 'f', k = 2; break;
    case '\n': e[1] = 'n', k = 2; break;
    case '\r': e[1] = 'r', k = 2; break;
    case '\t': e[1] = 't', k = 2; break;
    case 0xe2:
      if (j + 2 < n && s[j + 1] == 0x80 &&
          (s[j + 2] == 0xa8 || s[j + 2] == 0xa9)) {
        memcpy(e, s[j + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
        used = 3;
      } else {
        e[0] = (char)ch, k = 1;
      }
      break;
    default: break;
    }
    if ((r = out_write(o, e, k)) != TS_OK)
      return r;
    i = j + used;
  }
  return TS_OK;
}

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned char b = s[0];
  size_t k;
  uint32_t c, min;
  if (b < 0x80) {
    *cp = b;
    return 1;
  } else if (b >= 0xc2 && b <= 0xdf) {
    k = 2, c = b & 0x1f, min = 0x80;
  } else if (b >= 0xe0 && b <= 0xef) {
    k = 3, c = b & 0x0f, min = 0x800;
  } else if (b >= 0xf0 && b <= 0xf4) {
    k = 4, c = b & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < k)
    return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    return 0;
  *cp = c;
  return k;
}

/* XML 1.0: the five entities; characters XML does not allow (controls
 * other than tab/LF/CR, U+FFFE, U+FFFF, broken UTF-8) become U+FFFD, so
 * a feed never fails to parse because of one bad title. */
static const uint8_t xml_class[128] = {
    [0x00] = 2, [0x01] = 2, [0x02] = 2, [0x03] = 2, [0x04] = 2, [0x05] = 2,
    [0x06] = 2, [0x07] = 2, [0x08] = 2, [0x0b] = 2, [0x0c] = 2, [0x0e] = 2,
    [0x0f] = 2, [0x10] = 2, [0x11] = 2, [0x12] = 2, [0x13] = 2, [0x14] = 2,
    [0x15] = 2, [0x16] = 2, [0x17] = 2, [0x18] = 2, [0x19] = 2, [0x1a] = 2,
    [0x1b] = 2, [0x1c] = 2, [0x1d] = 2, [0x1e] = 2, [0x1f] = 2, ['&'] = 1,
    ['<'] = 1,  ['>'] = 1,  ['"'] = 1,  ['\''] = 1};

static unsigned xml_kind(unsigned char ch)
{
  return ch < 0x80 ? xml_class[ch] : 3; /* 3: check the UTF-8 sequence */
}

static size_t scan_xml(const unsigned char *s, size_t n)
{
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i ctl = _mm_set1_epi8(0x1f), b0 = _mm_set1_epi8(1),
                b1 = _mm_set1_epi8(2), amp = _mm_set1_epi8('\''),
                lt = _mm_set1_epi8('>'), quot = _mm_set1_epi8('"');
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
    /* bytes >= 0x80 set the sign bit that movemask reads anyway */
    __m128i hits = _mm_or_si128(
        _mm_or_si128(v, _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(_mm_or_si128(v, b0), amp),
                                  _mm_cmpeq_epi8(_mm_or_si128(v, b1), lt)),
                     _mm_cmpeq_epi8(v, quot)));
    size_t k = first_set(hits);
    if (k < 16)
      return i + k;
  }
#endif
  while (i < n && !xml_kind(s[i]))
    i++;
  return i;
}

static enum ts_result esc_xml(struct out *o, const unsigned char *s, size_t n)
{
  static const char fffd[] = "\xef\xbf\xbd";
  size_t i = 0;
  while (i < n) {
    size_t j = i + scan_xml(s + i, n - i);
    enum ts_result r = out_write(o, (const char *)s + i, j - i);
    if (r != TS_OK || j == n)
      return r;
    unsigned char ch = s[j];
    size_t used = 1;
    switch (xml_kind(ch)) {
    case 1: {
      const char *e = ch == '&'   ? "&amp;"
                      : ch == '<' ? "&lt;"
                      : ch == '>' ? "&gt;"
                      : ch == '"' ? "&quot;"
                                  : "&apos;";
      r = out_write(o, e, strlen(e));
      break;
    }
    case 2: r = out_write(o, fffd, 3); break;
    default: {
      uint32_t cp;
      size_t k = utf8_len(s + j, n - j, &cp);
      if (k == 0 || cp == 0xfffe || cp == 0xffff)
        r = out_write(o, fffd, 3); /* one U+FFFD per bad byte or char */
      else
        r = out_write(o, (const char *)s + j, k);
      used = k ? k : 1;
      break;
    }
    }
    if (r != TS_OK)
      return r;
    i = j + used;
  }
  return TS_OK;
}

static enum ts_result write_escaped(struct out *o, unsigned mode, const char *s,
                                    size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  switch (mode) {
  case TS_MUSTACHE_ESCAPE_HTML: return esc_html(o, u, n);
  case TS_MUSTACHE_ESCAPE_JSON: return esc_json(o, u, n);
  case TS_MUSTACHE_ESCAPE_XML: return esc_xml(o, u, n);
  default: return out_write(o, s, n);
  }
}

/* ------------------------------------------------------------------ */
/* Rendering.                                                          */

enum frame_kind {
  F_LOOP, /* a section over an array: the element is on the context */
  F_PUSH, /* a section over any other value: the value is on the context */
  F_CALL  /* a partial, parent or block body: return to another place */
};

struct frame {
  uint8_t kind;
  bool counted;    /* F_CALL: counts toward the partial depth */
  uint32_t ret_pc; /* where to continue afterwards */
  uint32_t ret_end;
  uint32_t body; /* F_LOOP: first node of the body */
  size_t idx, n; /* F_LOOP: element index, array size */
  const struct ts_value *array;
  bool frozen;                   /* F_LOOP: the array is frozen data */
  const struct ts_mustache *tpl; /* F_CALL: the template to return to */
  size_t ind_base, ind_len;      /* F_CALL: the indentation to restore */
  size_t nargs;                  /* F_CALL: argument frames to restore */
  long args;
  const char *name; /* F_CALL: what was called, for the depth message */
  size_t name_len;
};

/* The block arguments of one parent call; `outer` chains to the call that
 * was active when this one started. */
struct argframe {
  const struct ts_mustache *tpl;
  uint32_t begin, end;
  long outer;
};

/* The memo of name lookups: what object `obj` holds under name part `id`
 * (NULL: nothing), valid while `gen` is the render's. A page asks the
 * same objects for the same names again and again ({{page.root}} misses
 * in every card and hits in the root; {{#author}}{{author}}); each
 * search compares the name with the object's members, so a hit here is
 * several times cheaper. The data cannot change during a render, and no
 * object it holds can be freed, so an object's address (its
 * ts_value_object, shared by every copy of its handle) names it until
 * the render ends. A slot holds one entry: a collision evicts, never
 * corrupts.
 *
 * Objects inside a frozen value (ts_mustache_env_freeze) do not change
 * while the environment lives, which holds a reference to them: their
 * entries have generation 0 and serve every render, so the navigation
 * that every page of a site repeats is looked up once. The objects and
 * arrays known to be frozen are kept in a small direct-mapped table of
 * their own, filled when one is found in frozen data or is one of the
 * frozen values; only the miss path looks there. An evicted entry makes
 * lookups slower, never wrong. */
/* 1 << 10 slots of 24 bytes, 24 KB: the memo stays in the processor's
 * first-level cache. With 4096 slots most lookups missed that cache, and
 * a render took 2% more processor time for a small site and 8% more
 * wall time for a large one. */
#define MEMO_BITS 10
#define FROZEN_BITS 8
struct memo_slot {
  const struct ts_value_object *obj;
  uint64_t key; /* the render's generation << 32 | the name part's id */
  const struct ts_value *value;
};

/* Render state that outlives a render, so rendering thousands of pages
 * does not allocate per page. */
struct scratch {
  struct memo_slot *memo; /* 1 << MEMO_BITS slots */
  const void **frozen;    /* 1 << FROZEN_BITS containers of frozen data */
  uint32_t *hints; /* by name part id: where that name was last found */
  size_t caphints;
  struct section_dep *deps; /* a recording's, for the next one */
  size_t capdeps;
  uint32_t gen;           /* of the current render; 0 is never used */
  char *out;
  const struct ts_value **ctx;
  size_t capctx;
  struct frame *frames;
  size_t capframes;
  struct argframe *args;
  size_t capargs;
  char *indent;
  size_t capindent;
  struct ts_buf tmp;
};

static void scratch_free(struct scratch *s)
{
  if (!s)
    return;
  free(s->out);
  free(s->memo);
  free(s->frozen);
  free(s->hints);
  free(s->deps);
  free(s->ctx);
  free(s->frames);
  free(s->args);
  free(s->indent);
  ts_buf_cleanup(&s->tmp);
  free(s);
}

static struct scratch *scratch_new(void)
{
  struct scratch *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->out = malloc(OUT_BUFFER_SIZE);
  /* Zeroed by writing, not by calloc: fresh pages from calloc are mapped
   * to the shared zero page, the first lookup reads them, and the first
   * store then takes a copy-on-write fault, which in a process with
   * several threads flushes every processor's TLB (a tenth of the page
   * faults of a small site's render). */
  size_t memo_bytes = ((size_t)1 << MEMO_BITS) * sizeof *s->memo;
  s->memo = malloc(memo_bytes);
  if (s->memo) /* explicit_bzero: the compiler turns malloc + memset */
    explicit_bzero(s->memo, memo_bytes); /* into calloc */
  s->frozen = calloc((size_t)1 << FROZEN_BITS, sizeof *s->frozen);
  if (!s->out || !s->memo || !s->frozen) {
    free(s->out);
    free(s->memo);
    free(s->frozen);
    free(s);
    return NULL;
  }
  ts_buf_init(&s->tmp, 0);
  return s;
}

/* A dependency of a section's output: a name that its body looked up
 * below the section's own frame, where the data may change from one
 * render to the next, and what it found. */
struct section_dep {
  uint32_t node;         /* the name's node, in the section's template */
  bool found;            /* else the name was missing */
  struct ts_value value; /* a frozen object or array (its handle), or a
                            scalar (a string's bytes copied: owned) */
};

/* The recording of a section's output, while its body runs. */
struct recording {
  const struct ts_mustache *tpl; /* NULL when not recording */
  uint32_t node;
  const void *value; /* the section's value (its container), frozen */
  size_t base;         /* context entries below the section's own */
  size_t frame;        /* the section's frame */
  size_t out_start;    /* where its output starts in the buffer */
  size_t flushed;      /* out.flushed when it started */
  size_t steps;        /* steps left when it started */
  bool ok;             /* nothing seen yet that its output depends on
                          beyond frozen data and the dependencies */
  struct section_dep *deps;
  size_t ndeps, capdeps;
};

struct render {
  struct ts_mustache_env *env;
  struct scratch *s;
  struct recording rec;
  struct memo_slot *memo; /* s->memo */
  uint32_t *hints;        /* s->hints */
  size_t nhints;          /* entries in it: name part ids below this */
  size_t nfrozen;         /* env->nfrozen */
  uint64_t gen;           /* s->gen << 32, for memo keys */
  struct out o;
  struct ts_error *err;
  const char *root; /* the rendered template's name, for messages */
  size_t nctx;
  size_t nframes;
  size_t nargs;
  long args;       /* the innermost argument frame, -1 for none */
  size_t ind_base; /* the indentation is s->indent[ind_base, ind_len) */
  size_t ind_len;
  bool force; /* indent the next node even if not at a line start */
  unsigned depth;
  size_t steps; /* left before the work cap */
};

static enum ts_result render_nomem(struct render *r)
{
  return ts_error_set(r->err, TS_ERR_NOMEM, "%s: out of memory", r->root);
}

static inline struct memo_slot *memo_slot(const struct render *r,
                                          const struct ts_value_object *obj,
                                          uint32_t id)
{
  uint64_t h = ((uint64_t)(uintptr_t)obj + id * 0x9e3779b97f4a7c15u) *
               0xd6e8feb86659fd93u;
  return &r->memo[h >> (64 - MEMO_BITS)];
}

/* What names a container: its object or array, which every copy of its
 * handle shares. `v` must be an object or an array. */
static inline const void *container(const struct ts_value *v)
{
  return v->type == TS_VALUE_OBJECT ? (const void *)v->u.o
                                    : (const void *)v->u.a;
}

static inline bool is_container(const struct ts_value *v)
{
  return v->type <= TS_VALUE_ARRAY;
}

static inline const void **frozen_slot(const struct render *r, const void *c)
{
  uint64_t h = (uint64_t)(uintptr_t)c * 0xd6e8feb86659fd93u;
  return &r->s->frozen[h >> (64 - FROZEN_BITS)];
}

/* Whether container `v` is known to be frozen. */
static inline bool is_frozen(const struct render *r, const struct ts_value *v)
{
  const void *c = container(v);
  return *frozen_slot(r, c) == c;
}

static void mark_container(const struct render *r, bool in_frozen,
                           const struct ts_value *v)
{
  const void *c = container(v);
  for (size_t i = 0; !in_frozen && i < r->env->nfrozen; i++)
    in_frozen = r->env->frozen[i].type == v->type &&
                container(&r->env->frozen[i]) == c;
  if (in_frozen)
    *frozen_slot(r, c) = c;
}

/* Marks `v`, found in frozen data (`in_frozen`) or not, as frozen when
 * it is: in frozen data, or one of the frozen values. Only objects and
 * arrays are looked into, so only they need a mark. */
static HOT_INLINE void mark_frozen(const struct render *r, bool in_frozen,
                                   const struct ts_value *v)
{
  if (v && is_container(v))
    mark_container(r, in_frozen, v);
}



/* What object `objv` holds under `part` (NULL: nothing), through the
 * memo: an entry of this render, or one of frozen data (generation 0).
 * On a miss, the members are searched and the memo remembers. */
static HOT_INLINE const struct ts_value *object_get(const struct render *r,
                                                   const struct ts_value *objv,
                                                   const char *arena,
                                                   const struct name_part *part)
{
  const struct ts_value_object *obj = objv->u.o;
  struct memo_slot *m = memo_slot(r, obj, part->id);
  uint64_t key = r->gen | part->id;
  if (m->obj == obj && (m->key == key || m->key == part->id))
    return m->value;
  /* One hint per name: where it was found last (value.h). */
  const struct ts_value *v = ts_value_object_find_hinted(
      obj, arena + part->str, part->len, part->tag,
      part->id < r->nhints ? &r->hints[part->id] : NULL);
  if (r->nfrozen) {
    /* In frozen data the entry serves every render (generation 0). */
    bool frozen = is_frozen(r, objv);
    if (frozen)
      key = part->id;
    mark_frozen(r, frozen, v);
  }
  *m = (struct memo_slot){obj, key, v};
  return v;
}

/* An array element named by a dotted-name part of digits ("01" is not an
 * index), or NULL. */
static const struct ts_value *element(const struct ts_value *v,
                                      const char *key, size_t len)
{
  if (!len || (key[0] == '0' && len > 1))
    return NULL;
  size_t i = 0;
  for (size_t k = 0; k < len; k++) {
    if (key[k] < '0' || key[k] > '9' || i > SIZE_MAX / 10 - 1)
      return NULL;
    i = i * 10 + (size_t)(key[k] - '0');
  }
  return i < v->u.a->len ? &v->u.a->v[i] : NULL;
}

/* Resolves the name of node `n` of `tpl`: the first part up the context
 * stack (the first object that has the key wins, even when its value is
 * null), the other parts inside that value only, as object members or,
 * for an array and a part of digits, elements. NULL when anything is
 * missing. */
static HOT_INLINE const struct ts_value *lookup(const struct render *r,
                                                const struct ts_mustache *tpl,
                                                const struct node *n)
{
  const struct ts_value *const *ctx = r->s->ctx;
  if (n->nparts == 0)
    return ctx[r->nctx - 1];
  const struct name_part *part = &tpl->parts[n->parts];
  const char *arena = tpl->arena;
  const struct ts_value *v = NULL;
  for (size_t i = r->nctx; i-- > 0;)
    if (ctx[i]->type == TS_VALUE_OBJECT &&
        (v = object_get(r, ctx[i], arena, part)))
      break;
  for (unsigned k = 1; v && k < n->nparts; k++) {
    part++;
    if (v->type == TS_VALUE_OBJECT) {
      v = object_get(r, v, arena, part);
    } else if (v->type == TS_VALUE_ARRAY) {
      const struct ts_value *array = v;
      v = element(array, arena + part->str, part->len);
      if (v && r->nfrozen && is_frozen(r, array))
        mark_frozen(r, true, v);
    } else {
      v = NULL;
    }
  }
  return v;
}

/* Falsey as in JavaScript (and so mustache.js): missing, null, false, "",
 * 0, NaN and the empty array. Objects, even empty ones, are truthy. */
static bool falsey(const struct ts_value *v)
{
  if (!v)
    return true;
  switch (v->type) {
  case TS_VALUE_NULL:
  case TS_VALUE_FALSE: return true;
  case TS_VALUE_ARRAY: return v->u.a->len == 0;
  case TS_VALUE_STRING: return v->len == 0;
  case TS_VALUE_INTEGER: return v->u.i == 0;
  case TS_VALUE_REAL: return v->u.d == 0 || isnan(v->u.d);
  default: return false;
  }
}

static enum ts_result write_number(struct out *o, const struct ts_value *v)
{
  char num[32];
  size_t n = v->type == TS_VALUE_INTEGER
                 ? format_int((long long)v->u.i, num)
                 : ts_mustache_format_double(v->u.d, num);
  return out_write(o, num, n);
}

/* Compact JSON for an array or object that is interpolated. */
static enum ts_result json_text(struct render *r, struct out *o,
                                const struct ts_value *v, unsigned depth)
{
  enum ts_result res = TS_OK;
  if (depth > MAX_JSON_DEPTH)
    return ts_error_set(r->err, TS_ERR_LIMIT,
                        "%s: a value nested deeper than %d levels was "
                        "interpolated",
                        r->root, MAX_JSON_DEPTH);
  switch (v->type) {
  case TS_VALUE_OBJECT: {
    /* Members in insertion order, as jansson's iterator gave them. */
    res = out_write(o, "{", 1);
    for (uint32_t i = 0; i < v->u.o->len && res == TS_OK; i++) {
      const struct ts_value_member *m = &v->u.o->m[i];
      if (i)
        res = out_write(o, ",", 1);
      if (res == TS_OK)
        res = out_write(o, "\"", 1);
      if (res == TS_OK)
        res = esc_json(o, (const unsigned char *)m->key, m->klen);
      if (res == TS_OK)
        res = out_write(o, "\":", 2);
      if (res == TS_OK)
        res = json_text(r, o, &m->v, depth + 1);
    }
    return res == TS_OK ? out_write(o, "}", 1) : res;
  }
  case TS_VALUE_ARRAY:
    res = out_write(o, "[", 1);
    for (uint32_t i = 0; i < v->u.a->len && res == TS_OK; i++) {
      if (i)
        res = out_write(o, ",", 1);
      if (res == TS_OK)
        res = json_text(r, o, &v->u.a->v[i], depth + 1);
    }
    return res == TS_OK ? out_write(o, "]", 1) : res;
  case TS_VALUE_STRING:
    res = out_write(o, "\"", 1);
    if (res == TS_OK)
      res = esc_json(o, (const unsigned char *)v->u.s, v->len);
    return res == TS_OK ? out_write(o, "\"", 1) : res;
  case TS_VALUE_INTEGER:
  case TS_VALUE_REAL: return write_number(o, v);
  case TS_VALUE_TRUE: return out_write(o, "true", 4);
  case TS_VALUE_FALSE: return out_write(o, "false", 5);
  default: return out_write(o, "null", 4);
  }
}

static enum ts_result buf_sink_write(void *ctx, const char *data, size_t len,
                                     struct ts_error *err)
{
  struct ts_buf *b = ctx;
  enum ts_result r = ts_buf_append(b, data, len);
  if (r == TS_ERR_LIMIT)
    return ts_error_set(err, r, "output buffer is full (%zu bytes)", b->max);
  if (r != TS_OK)
    return ts_error_set(err, r, "out of memory");
  return TS_OK;
}

static enum ts_result write_other(struct render *r, const struct ts_value *v,
                                  unsigned escape)
{
  switch (v->type) {
  case TS_VALUE_STRING: return write_escaped(&r->o, escape, v->u.s, v->len);
  case TS_VALUE_INTEGER:
  case TS_VALUE_REAL: return write_number(&r->o, v);
  case TS_VALUE_TRUE: return out_write(&r->o, "true", 4);
  case TS_VALUE_FALSE: return out_write(&r->o, "false", 5);
  case TS_VALUE_NULL: return TS_OK;
  default: {
    /* Arrays and objects print as compact JSON, escaped like any text:
     * {{{tags}}} in a JSON template writes a JSON array. The text is
     * built aside first, never more than the output cap allows. */
    struct ts_buf *tmp = &r->s->tmp;
    ts_buf_reset(tmp);
    size_t used = r->o.flushed + (size_t)(r->o.p - r->o.buf);
    char chunk[4096];
    struct out o;
    out_init(&o, chunk, sizeof chunk, r->o.max - used,
             (struct ts_mustache_sink){buf_sink_write, tmp}, r->err, r->root);
    enum ts_result res = json_text(r, &o, v, 0);
    if (res == TS_OK)
      res = out_flush(&o);
    if (res == TS_OK)
      res = write_escaped(&r->o, escape, tmp->data ? tmp->data : "", tmp->len);
    if (tmp->cap > OUT_BUFFER_SIZE) /* do not keep a huge one around */
      ts_buf_cleanup(tmp);
    return res;
  }
  }
}

/* Writes a value as {{name}} prints it. The common cases, a string in an
 * HTML template with nothing to escape and an integer (digits escape to
 * themselves), are written here in the render loop. */
static HOT_INLINE enum ts_result write_value(struct render *r,
                                             const struct ts_value *v,
                                             unsigned escape)
{
  if (escape == TS_MUSTACHE_ESCAPE_HTML && v->type == TS_VALUE_STRING) {
    const char *s = v->u.s;
    size_t n = v->len;
    if (scan_html((const unsigned char *)s, n) == n)
      return out_write(&r->o, s, n);
    return esc_html(&r->o, (const unsigned char *)s, n);
  }
  if (v->type == TS_VALUE_INTEGER) {
    char num[24];
    size_t n = format_int((long long)v->u.i, num);
    return out_write(&r->o, num, n);
  }
  return write_other(r, v, escape);
}

/* Writes text of a template whose lines are being indented: the
 * indentation goes after every newline that a non-empty line follows. */
static enum ts_result write_indented(struct render *r, const char *s, size_t n)
{
  const char *ind = r->s->indent + r->ind_base;
  size_t ind_n = r->ind_len - r->ind_base;
  const char *end = s + n;
  enum ts_result res = TS_OK;
  while (res == TS_OK) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl || nl + 1 == end)
      return out_write(&r->o, s, (size_t)(end - s));
    res = out_write(&r->o, s, (size_t)(nl + 1 - s));
    s = nl + 1;
    if (res == TS_OK && *s != '\n' &&
        !(*s == '\r' && s + 1 < end && s[1] == '\n'))
      res = out_write(&r->o, ind, ind_n);
  }
  return res;
}

static bool blank_line(const char *s, size_t n)
{
  return n && (s[0] == '\n' || (s[0] == '\r' && n > 1 && s[1] == '\n'));
}

/* Writes template text: a TEXT node, or the text merged into the node
 * after it. `bol` and `inner_bol` are its NF_BOL and NF_INNER_BOL. */
static HOT_INLINE enum ts_result write_text(struct render *r, const char *s,
                                            size_t n, bool bol,
                                            bool inner_bol)
{
  if (bol || r->force) {
    r->force = false;
    if (r->ind_len > r->ind_base && !blank_line(s, n)) {
      enum ts_result res = out_write(&r->o, r->s->indent + r->ind_base,
                                     r->ind_len - r->ind_base);
      if (res != TS_OK)
        return res;
    }
  }
  if (inner_bol && r->ind_len > r->ind_base)
    return write_indented(r, s, n);
  return out_write(&r->o, s, n);
}

static enum ts_result too_many_steps(struct render *r)
{
  return ts_error_set(r->err, TS_ERR_LIMIT,
                      "%s: rendering takes more than %zu steps (loops or "
                      "recursion too large)",
                      r->root, r->env->max_steps);
}

static enum ts_result add_indent(struct render *r, const char *s, size_t n)
{
  if (n == 0)
    return TS_OK;
  if (r->ind_len + n > MAX_INDENT)
    return ts_error_set(r->err, TS_ERR_LIMIT,
                        "%s: partial indentation exceeds %d bytes", r->root,
                        MAX_INDENT);
  if (!ts_grow(&r->s->indent, &r->s->capindent, r->ind_len + n, 1))
    return render_nomem(r);
  memcpy(r->s->indent + r->ind_len, s, n);
  r->ind_len += n;
  return TS_OK;
}

static struct frame *push_call(struct render *r, const struct ts_mustache *tpl,
                               uint32_t ret_pc, uint32_t ret_end, bool counted,
                               const char *name, size_t name_len)
{
  if (!ts_grow(&r->s->frames, &r->s->capframes, r->nframes + 1,
            sizeof *r->s->frames))
    return NULL;
  struct frame *f = &r->s->frames[r->nframes++];
  f->kind = F_CALL;
  f->counted = counted;
  f->ret_pc = ret_pc;
  f->ret_end = ret_end;
  f->tpl = tpl;
  f->ind_base = r->ind_base;
  f->ind_len = r->ind_len;
  f->nargs = r->nargs;
  f->args = r->args;
  f->name = name;
  f->name_len = name_len;
  if (counted)
    r->depth++;
  return f;
}

static enum ts_result too_deep(struct render *r)
{
  struct ts_buf b;
  ts_buf_init(&b, 512);
  size_t shown = 0;
  for (size_t i = 0; i < r->nframes && shown < 3; i++) {
    const struct frame *f = &r->s->frames[i];
    if (f->kind != F_CALL || !f->counted)
      continue;
    ts_buf_printf(&b, "\"%.*s\" \xe2\x86\x92 ", SHOWN(f->name_len), f->name);
    shown++;
  }
  enum ts_result res = ts_error_set(
      r->err, TS_ERR_LIMIT, "%s: partials nested deeper than %u (via %s...)",
      r->root, r->env->max_partial_depth, ts_buf_cstr(&b));
  ts_buf_cleanup(&b);
  return res;
}

/* {{>*name}} and {{<*name}}: the name is a string in the data. */
static enum ts_result dynamic_target(struct render *r,
                                     const struct ts_mustache *tpl,
                                     const struct node *n,
                                     const struct ts_mustache **target,
                                     const char **name, size_t *name_len)
{
  *target = NULL;
  const struct ts_value *v = lookup(r, tpl, n);
  if (!v || v->type != TS_VALUE_STRING || !v->len)
    return TS_OK;
  *name = v->u.s;
  *name_len = v->len;
  struct ts_mustache *t = NULL;
  if (partial_name_ok(*name, *name_len)) {
    struct txn txn = {0};
    enum ts_result res = resolve_partial(r->env, &txn, *name, *name_len,
                                         (int)tpl->escape, false, &t, r->err);
    if (res != TS_OK) {
      txn_rollback(&txn);
      return res;
    }
    if ((res = txn_finish(&txn, r->env, r->err)) != TS_OK)
      return res;
  }
  if (!t && r->env->check) {
    char where[512], key[64];
    describe_search(r->env, *name, *name_len, (int)tpl->escape, false, where,
                    sizeof where);
    size_t k = n->len < sizeof key - 1 ? n->len : sizeof key - 1;
    for (size_t i = 0; i < k; i++) /* the parts are stored NUL-separated */
      key[i] = tpl->arena[n->str + i] ? tpl->arena[n->str + i] : '.';
    key[k] = '\0';
    return ts_error_set(r->err, TS_ERR_NOTFOUND,
                        "%s: partial \"%.*s\" (from {{>*%s}}) not found "
                        "(%s)",
                        tpl->name, SHOWN(*name_len), *name, key, where);
  }
  *target = t;
  return TS_OK;
}

/* The argument that overrides block `n` (of template `tpl`): the
 * outermost parent call that passes one wins. */
static bool find_argument(struct render *r, const struct ts_mustache *tpl,
                          const struct node *n, const struct ts_mustache **atpl,
                          uint32_t *aidx)
{
  bool found = false;
  const char *name = tpl->arena + n->str;
  for (long a = r->args; a >= 0; a = r->s->args[a].outer) {
    const struct argframe *af = &r->s->args[a];
    const struct node *nodes = af->tpl->nodes;
    for (uint32_t j = af->begin; j < af->end; j = nodes[j].end) {
      const struct node *an = &nodes[j];
      if (r->steps > 1) /* the scan is work too; run() reports the cap */
        r->steps--;
      if (an->len == n->len &&
          !memcmp(af->tpl->arena + an->str, name, n->len)) {
        *atpl = af->tpl;
        *aidx = j;
        found = true;
        break;
      }
    }
  }
  return found;
}

/* ------------------------------------------------------------------ */
/* Sections over frozen data, rendered once.                           */
/*                                                                     */
/* A section over a frozen object or array (a site's navigation) writes */
/* the same output in every render, except where its body reads names   */
/* that are not found in frozen data but below the section (page.root   */
/* in a link). The first render records the section's output and those */
/* names with their values; a later render that finds the same values   */
/* writes the recorded output instead of running the body. The body may */
/* hold variables and sections, but no partial, parent or block, and    */
/* no indentation may be pending: those depend on more than the data.   */
/* What the body would count as steps is counted all the same.          */

#define SECTION_VARIANTS 4 /* recorded outputs of one section */
#define SECTION_TRIES 3    /* recordings that failed before giving up */
#define MAX_SECTIONS 64    /* per environment */
#define MAX_SECTION_OUTPUT ((size_t)64 << 10)
#define MAX_SECTION_BYTES ((size_t)1 << 20) /* all of them */
#define MAX_SECTION_DEPS 64

struct cached_section {
  const struct ts_mustache *tpl;
  uint32_t node;
  const void *value; /* the section's value (its container): frozen */
  bool ready;        /* else a record of failed attempts */
  unsigned failures;
  char *out;
  size_t len;
  size_t steps; /* what running the body counts */
  struct section_dep *deps;
  size_t ndeps;
};

static void deps_free(struct section_dep *deps, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (deps[i].found && deps[i].value.type == TS_VALUE_STRING)
      free((char *)deps[i].value.u.s);
}

static void sections_free(struct ts_mustache_env *env)
{
  for (size_t i = 0; i < env->nsections; i++) {
    struct cached_section *c = &env->sections[i];
    deps_free(c->deps, c->ndeps);
    free(c->deps);
    free(c->out);
  }
  free(env->sections);
}

/* The same value, as far as output goes: scalars by value, containers
 * (frozen, so unchanging) by identity. */
static bool same_value(const struct section_dep *recorded,
                       const struct ts_value *now)
{
  if (!recorded->found || !now)
    return !recorded->found && !now;
  return ts_value_equal(&recorded->value, now);
}

/* Writes the recorded output of section node `pc` of `tpl` (value `v`)
 * when one was recorded with the values that its dependencies have now;
 * true when it did (or failed to, with *res set). Otherwise starts a
 * recording when that may still pay. The caller has checked that `v` is
 * frozen and that nothing is being recorded. */
static bool replay_section(struct render *r, const struct ts_mustache *tpl,
                           uint32_t pc, const struct ts_value *v,
                           enum ts_result *res)
{
  const void *id = container(v);
  struct ts_mustache_env *env = r->env;
  unsigned variants = 0, failures = 0;
  size_t used = r->o.flushed + (size_t)(r->o.p - r->o.buf);
  for (size_t i = 0; i < env->nsections; i++) {
    const struct cached_section *c = &env->sections[i];
    if (c->tpl != tpl || c->node != pc || c->value != id)
      continue;
    variants++;
    if (!c->ready) {
      failures = c->failures;
      continue;
    }
    /* Near a cap the body runs, so that it fails where it would. */
    if (r->steps <= c->steps || c->len > r->o.max - used)
      return false;
    size_t d = 0;
    while (d < c->ndeps &&
           same_value(&c->deps[d],
                      lookup(r, tpl, &tpl->nodes[c->deps[d].node])))
      d++;
    if (d < c->ndeps)
      continue;
    r->steps -= c->steps;
    *res = out_write(&r->o, c->out, c->len);
    return true;
  }
  if (failures < SECTION_TRIES && variants < SECTION_VARIANTS &&
      env->nsections < MAX_SECTIONS) {
    struct recording *rec = &r->rec;
    rec->tpl = tpl;
    rec->node = pc;
    rec->value = id;
    rec->base = r->nctx;
    rec->frame = r->nframes;
    rec->out_start = (size_t)(r->o.p - r->o.buf);
    rec->flushed = r->o.flushed;
    rec->steps = r->steps;
    rec->ok = true;
    rec->ndeps = 0;
  }
  return false;
}

/* While recording: notes what name node `n` (at `pc`) found, `v`, when
 * it was found below the section, where data may change. */
static void record_lookup(struct render *r, const struct ts_mustache *tpl,
                          uint32_t pc, const struct node *n,
                          const struct ts_value *v)
{
  struct recording *rec = &r->rec;
  if (!rec->ok || n->nparts == 0) /* "." is the top, above the section */
    return;
  const struct name_part *part = &tpl->parts[n->parts];
  for (size_t i = r->nctx; i-- > rec->base;)
    if (r->s->ctx[i]->type == TS_VALUE_OBJECT &&
        object_get(r, r->s->ctx[i], tpl->arena, part))
      return; /* in frozen data, or in a value a dependency gave */
  for (size_t i = 0; i < rec->ndeps; i++)
    if (rec->deps[i].node == pc)
      return; /* below the section, the same every time */
  bool is_box = v && is_container(v);
  if ((is_box && !is_frozen(r, v)) || rec->ndeps == MAX_SECTION_DEPS ||
      !ts_grow(&rec->deps, &rec->capdeps, rec->ndeps + 1, sizeof *rec->deps)) {
    rec->ok = false;
    return;
  }
  /* A scalar is kept as a copy: the page it came from goes before the
   * next render compares it. */
  struct section_dep d = {pc, v != NULL, v ? *v : ts_value_null()};
  if (v && v->type == TS_VALUE_STRING) {
    char *copy = malloc(v->len ? v->len : 1);
    if (!copy) {
      rec->ok = false;
      return;
    }
    memcpy(copy, v->u.s, v->len);
    d.value.u.s = copy;
  }
  rec->deps[rec->ndeps++] = d;
}

/* The recorded section's frame is being popped: keeps its output if
 * nothing spoilt the recording, else counts a failure. */
static void finish_recording(struct render *r)
{
  struct recording *rec = &r->rec;
  struct ts_mustache_env *env = r->env;
  size_t len = (size_t)(r->o.p - r->o.buf) - rec->out_start;
  bool keep = rec->ok && r->o.flushed == rec->flushed &&
              len <= MAX_SECTION_OUTPUT &&
              env->section_bytes + len <= MAX_SECTION_BYTES;
  struct cached_section *c = NULL;
  if (!keep) {
    for (size_t i = 0; i < env->nsections && !c; i++)
      if (env->sections[i].tpl == rec->tpl &&
          env->sections[i].node == rec->node &&
          env->sections[i].value == rec->value && !env->sections[i].ready)
        c = &env->sections[i];
  }
  if (!c) {
    struct cached_section *p =
        realloc(env->sections, (env->nsections + 1) * sizeof *p);
    if (p) {
      env->sections = p;
      c = &p[env->nsections++];
      *c = (struct cached_section){
          .tpl = rec->tpl, .node = rec->node, .value = rec->value};
    }
  }
  if (c && keep) {
    c->out = malloc(len ? len : 1);
    c->deps = malloc((rec->ndeps ? rec->ndeps : 1) * sizeof *c->deps);
    if (c->out && c->deps) {
      memcpy(c->out, r->o.buf + rec->out_start, len);
      if (rec->ndeps)
        memcpy(c->deps, rec->deps, rec->ndeps * sizeof *c->deps);
      c->len = len;
      c->ndeps = rec->ndeps;
      c->steps = rec->steps - r->steps;
      c->ready = true;
      env->section_bytes += len;
      rec->ndeps = 0; /* the copies belong to the entry now */
    } else {
      free(c->out);
      free(c->deps);
      c->out = NULL;
      c->deps = NULL;
      c->failures = SECTION_TRIES;
    }
  } else if (c) {
    c->failures++;
  }
  deps_free(rec->deps, rec->ndeps);
  rec->ndeps = 0;
  rec->tpl = NULL;
}

static enum ts_result run(struct render *r, const struct ts_mustache *root)
{
  const struct ts_mustache *tpl = root;
  const struct node *nodes = tpl->nodes;
  const char *arena = tpl->arena;
  uint32_t pc = 0, end = tpl->n_nodes;
  enum ts_result res = TS_OK;
  while (res == TS_OK) {
    if (pc >= end) {
      if (!r->nframes)
        break;
      struct frame *f = &r->s->frames[r->nframes - 1];
      if (f->kind == F_LOOP && ++f->idx < f->n) {
        const struct ts_value *e = &f->array->u.a->v[f->idx];
        r->s->ctx[r->nctx - 1] = e;
        if (f->frozen)
          mark_frozen(r, true, e);
        pc = f->body;
        continue;
      }
      if (r->rec.tpl && r->nframes - 1 == r->rec.frame)
        finish_recording(r);
      if (f->kind == F_CALL) {
        tpl = f->tpl;
        nodes = tpl->nodes;
        arena = tpl->arena;
        r->ind_base = f->ind_base;
        r->ind_len = f->ind_len;
        r->nargs = f->nargs;
        r->args = f->args;
        r->force = false;
        if (f->counted)
          r->depth--;
      } else {
        r->nctx--;
      }
      pc = f->ret_pc;
      end = f->ret_end;
      r->nframes--;
      continue;
    }
    if (--r->steps == 0) {
      res = too_many_steps(r);
      break;
    }
    const struct node *n = &nodes[pc];
    if (n->kind == N_TEXT) {
      res = write_text(r, arena + n->str, n->len, n->flags & NF_BOL,
                       n->flags & NF_INNER_BOL);
      pc++;
      continue;
    }
    if (n->kind <= N_INVERTED && n->text_len) {
      /* The text merged into this node, which counts as a step of its
       * own: the node's step is taken after it. */
      if ((res = write_text(r, arena + n->text, n->text_len,
                            n->flags & NF_TEXT_BOL,
                            n->flags & NF_TEXT_INNER_BOL)) != TS_OK)
        break;
      if (--r->steps == 0) {
        res = too_many_steps(r);
        break;
      }
    }
    if ((n->flags & NF_BOL) || r->force) {
      r->force = false;
      if (r->ind_len > r->ind_base &&
          !(n->kind == N_TEXT && blank_line(arena + n->str, n->len)) &&
          (res = out_write(&r->o, r->s->indent + r->ind_base,
                           r->ind_len - r->ind_base)) != TS_OK)
        break;
    }
    /* One place resolves the names of all three kinds that have one, so
     * that the lookup is inlined once. */
    const struct ts_value *v = NULL;
    if (n->kind == N_VAR || n->kind == N_SECTION || n->kind == N_INVERTED) {
      v = lookup(r, tpl, n);
      if (r->rec.tpl)
        record_lookup(r, tpl, pc, n, v);
    }
    if (n->kind == N_VAR) {
      if (v)
        res = write_value(r, v, n->escape);
      pc++;
      continue;
    }
    switch (n->kind) {
    case N_SECTION: {
      if (falsey(v) || pc + 1 == n->end) {
        pc = n->end;
        break;
      }
      if (r->nfrozen && !r->rec.tpl && is_container(v) &&
          r->ind_len == r->ind_base && is_frozen(r, v) &&
          replay_section(r, tpl, pc, v, &res)) {
        pc = n->end;
        break;
      }
      if (!ts_grow(&r->s->frames, &r->s->capframes, r->nframes + 1,
                sizeof *r->s->frames) ||
          !ts_grow(&r->s->ctx, &r->s->capctx, r->nctx + 1, sizeof *r->s->ctx)) {
        res = render_nomem(r);
        break;
      }
      struct frame *f = &r->s->frames[r->nframes++];
      f->ret_pc = n->end;
      f->ret_end = end;
      if (v->type == TS_VALUE_ARRAY) {
        f->kind = F_LOOP;
        f->array = v;
        f->idx = 0;
        f->n = v->u.a->len;
        f->body = pc + 1;
        f->frozen = r->nfrozen && is_frozen(r, v);
        r->s->ctx[r->nctx++] = &v->u.a->v[0];
        if (f->frozen)
          mark_frozen(r, true, r->s->ctx[r->nctx - 1]);
      } else {
        f->kind = F_PUSH;
        r->s->ctx[r->nctx++] = v;
      }
      end = n->end;
      pc++;
      break;
    }
    case N_INVERTED:
      pc = falsey(v) ? pc + 1 : n->end;
      break;
    case N_PARTIAL:
    case N_PARENT: {
      r->rec.ok = false; /* not worth recording: see replay_section */
      const struct ts_mustache *target = n->target;
      const char *name = arena + n->str;
      size_t name_len = n->len;
      uint32_t after = n->kind == N_PARTIAL ? pc + 1 : n->end;
      if ((n->flags & NF_DYNAMIC) &&
          (res = dynamic_target(r, tpl, n, &target, &name, &name_len)) != TS_OK)
        break;
      if (!target) {
        pc = after;
        break;
      }
      if (r->depth >= r->env->max_partial_depth) {
        res = too_deep(r);
        break;
      }
      if (n->kind == N_PARENT) {
        if (!ts_grow(&r->s->args, &r->s->capargs, r->nargs + 1,
                  sizeof *r->s->args)) {
          res = render_nomem(r);
          break;
        }
      }
      if (!push_call(r, tpl, after, end, true, name, name_len)) {
        res = render_nomem(r);
        break;
      }
      if (n->kind == N_PARENT) {
        r->s->args[r->nargs] = (struct argframe){tpl, pc + 1, n->end, r->args};
        r->args = (long)r->nargs++;
      }
      if (n->flags & NF_STANDALONE)
        res = add_indent(r, arena + n->indent, n->indent_len);
      else
        r->ind_base = r->ind_len;
      tpl = target;
      nodes = tpl->nodes;
      arena = tpl->arena;
      pc = 0;
      end = tpl->n_nodes;
      break;
    }
    case N_BLOCK: {
      r->rec.ok = false;
      const struct ts_mustache *atpl;
      uint32_t aidx;
      bool site = n->flags & NF_STANDALONE;
      if (find_argument(r, tpl, n, &atpl, &aidx)) {
        const struct node *an = &atpl->nodes[aidx];
        if (r->depth >= r->env->max_partial_depth) {
          res = too_deep(r);
          break;
        }
        if (!push_call(r, tpl, n->end, end, true, arena + n->str, n->len)) {
          res = render_nomem(r);
          break;
        }
        if (site) {
          res = add_indent(r, arena + n->indent, n->indent_len);
          r->force = !(an->flags & NF_BODY_BOL);
        } else {
          r->ind_base = r->ind_len;
        }
        tpl = atpl;
        nodes = tpl->nodes;
        arena = tpl->arena;
        pc = aidx + 1;
        end = an->end;
      } else if (site) {
        if (!push_call(r, tpl, n->end, end, false, NULL, 0)) {
          res = render_nomem(r);
          break;
        }
        res = add_indent(r, arena + n->indent, n->indent_len);
        r->force = !(n->flags & NF_BODY_BOL);
        end = n->end;
        pc++;
      } else {
        pc++; /* the default body follows inline */
      }
      break;
    }
    default: pc++; break;
    }
  }
  return res;
}

enum ts_result ts_mustache_render_value(const struct ts_mustache *tpl,
                                        const struct ts_value *data,
                                        struct ts_mustache_sink sink,
                                        struct ts_error *err)
{
  /* No data is null data: the stack's entries are never NULL. */
  static const struct ts_value null_value = {.type = TS_VALUE_NULL};
  if (!data)
    data = &null_value;
  struct ts_mustache_env *env = tpl->env;
  struct scratch *s = env->scratch;
  env->scratch = NULL; /* a render from inside a sink gets its own */
  if (!s && !(s = scratch_new()))
    return ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", tpl->name);
  struct render r = {0};
  r.env = env;
  r.s = s;
  r.err = err;
  r.root = tpl->name;
  r.args = -1;
  r.steps = env->max_steps;
  out_init(&r.o, s->out, OUT_BUFFER_SIZE, env->max_output, sink, err,
           tpl->name);
  if (++s->gen == 0) { /* forget every entry of 2^32 renders ago */
    memset(s->memo, 0, ((size_t)1 << MEMO_BITS) * sizeof *s->memo);
    s->gen = 1;
  }
  r.memo = s->memo;
  r.nfrozen = env->nfrozen;
  r.rec.deps = s->deps;
  r.rec.capdeps = s->capdeps;
  r.gen = (uint64_t)s->gen << 32;
  enum ts_result res = TS_OK;
  if (!ts_grow(&s->ctx, &s->capctx, 1, sizeof *s->ctx))
    res = render_nomem(&r);
  /* A hint for every name compiled so far (ids run from 1); a name
   * compiled later goes without until the next render. Hints need no
   * clearing: a stale one is checked before it is used. */
  size_t nids = env->names.n + 1;
  if (res == TS_OK && s->caphints < nids) {
    size_t old = s->caphints;
    if (ts_grow(&s->hints, &s->caphints, nids, sizeof *s->hints))
      memset(s->hints + old, 0, (s->caphints - old) * sizeof *s->hints);
    else
      res = render_nomem(&r);
  }
  r.hints = s->hints;
  r.nhints = s->caphints;
  if (res == TS_OK) {
    s->ctx[r.nctx++] = data;
    if (r.nfrozen)
      mark_frozen(&r, false, data);
    res = run(&r, tpl);
  }
  if (res == TS_OK)
    res = out_flush(&r.o);
  if (r.rec.tpl) /* the render failed inside the section */
    deps_free(r.rec.deps, r.rec.ndeps);
  s->deps = r.rec.deps; /* kept for the next recording */
  s->capdeps = r.rec.capdeps;
  if (env->scratch)
    scratch_free(s);
  else
    env->scratch = s;
  return res;
}

enum ts_result ts_mustache_render_value_to_buf(const struct ts_mustache *tpl,
                                               const struct ts_value *data,
                                               struct ts_buf *out,
                                               struct ts_error *err)
{
  return ts_mustache_render_value(tpl, data, ts_mustache_sink_buf(out), err);
}

enum ts_result ts_mustache_render(const struct ts_mustache *tpl,
                                  const json_t *data,
                                  struct ts_mustache_sink sink,
                                  struct ts_error *err)
{
  /* Strings and keys are borrowed from `data`: only the containers are
   * built, in an arena that goes after the render. */
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value v = ts_value_from_json(&b, data);
  enum ts_result res =
      b.failed ? ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory",
                              tpl->name)
               : ts_mustache_render_value(tpl, &v, sink, err);
  ts_arena_cleanup(&arena);
  return res;
}

enum ts_result ts_mustache_render_to_buf(const struct ts_mustache *tpl,
                                         const json_t *data, struct ts_buf *out,
                                         struct ts_error *err)
{
  return ts_mustache_render(tpl, data, ts_mustache_sink_buf(out), err);
}

static enum ts_result fd_sink_write(void *ctx, const char *data, size_t len,
                                    struct ts_error *err)
{
  int fd = (int)(intptr_t)ctx;
  while (len) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ts_error_set(err, TS_ERR_IO, "write: %s", strerror(errno));
    data += n;
    len -= (size_t)n;
  }
  return TS_OK;
}

static enum ts_result file_sink_write(void *ctx, const char *data, size_t len,
                                      struct ts_error *err)
{
  if (fwrite(data, 1, len, ctx) != len)
    return ts_error_set(err, TS_ERR_IO, "write: %s", strerror(errno));
  return TS_OK;
}

struct ts_mustache_sink ts_mustache_sink_buf(struct ts_buf *buf)
{
  return (struct ts_mustache_sink){buf_sink_write, buf};
}

struct ts_mustache_sink ts_mustache_sink_fd(int fd)
{
  return (struct ts_mustache_sink){fd_sink_write, (void *)(intptr_t)fd};
}

struct ts_mustache_sink ts_mustache_sink_file(FILE *stream)
{
  return (struct ts_mustache_sink){file_sink_write, stream};
}

/* ------------------------------------------------------------------ */
/* Checking a folder of templates.                                     */

struct path_list {
  char **paths;
  size_t n, cap;
};

static int by_path(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the *.mustache files under `dir`. Symbolic links to folders
 * are not followed (no loops); the depth is capped for the same reason. */
static enum ts_result list_templates(const char *dir, unsigned depth,
                                     struct path_list *out,
                                     struct ts_error *err)
{
  if (depth > 32)
    return TS_OK;
  DIR *d = opendir(dir);
  if (!d)
    return ts_error_set(err, errno == ENOENT ? TS_ERR_NOTFOUND : TS_ERR_IO,
                        "%s: %s", dir, strerror(errno));
  enum ts_result r = TS_OK;
  struct dirent *e;
  struct ts_buf path;
  ts_buf_init(&path, 0);
  while (r == TS_OK && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    ts_buf_reset(&path);
    if (ts_buf_printf(&path, "%s/%s", dir, e->d_name) != TS_OK) {
      r = ts_error_set(err, TS_ERR_NOMEM, "out of memory");
      break;
    }
    struct stat st;
    if (lstat(path.data, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      r = list_templates(path.data, depth + 1, out, err);
      continue;
    }
    if (!ends_with(path.data, path.len, ".mustache") ||
        (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)))
      continue;
    if (!ts_grow(&out->paths, &out->cap, out->n + 1, sizeof *out->paths)) {
      r = ts_error_set(err, TS_ERR_NOMEM, "out of memory");
      break;
    }
    out->paths[out->n] = ts_buf_detach(&path);
    if (!out->paths[out->n])
      r = ts_error_set(err, TS_ERR_NOMEM, "out of memory");
    else
      out->n++;
  }
  ts_buf_cleanup(&path);
  closedir(d);
  return r;
}

/* Compiles each file in `files` with `env`, reporting distinct errors. */
static void check_files(struct ts_mustache_env *env, struct path_list *files,
                        void (*report)(void *ctx, const char *message),
                        void *ctx, size_t *nerrors)
{
  /* A broken partial fails every template that includes it with the same
   * message: report it once. */
  struct map seen = {0};
  size_t errors = 0;
  qsort(files->paths, files->n, sizeof *files->paths, by_path);
  for (size_t i = 0; i < files->n; i++) {
    const struct ts_mustache *t;
    struct ts_error e;
    if (ts_mustache_compile_file(env, files->paths[i], &t, &e) == TS_OK)
      continue;
    size_t len = strlen(e.msg);
    if (map_find(&seen, e.msg, len))
      continue;
    map_put(&seen, e.msg, len, NULL);
    errors++;
    if (report)
      report(ctx, e.msg);
  }
  *nerrors = errors;
  map_free(&seen);
}

enum ts_result ts_mustache_check_dir_env(
    struct ts_mustache_env *env, const char *dir,
    void (*report)(void *ctx, const char *message), void *ctx,
    size_t *ntemplates, size_t *nerrors, struct ts_error *err)
{
  char *root = trimmed_dir(dir);
  if (!root)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  struct path_list files = {0};
  enum ts_result r = list_templates(root, 0, &files, err);
  if (r == TS_OK) {
    check_files(env, &files, report, ctx, nerrors);
    *ntemplates = files.n;
  }
  for (size_t i = 0; i < files.n; i++)
    free(files.paths[i]);
  free(files.paths);
  free(root);
  return r;
}

enum ts_result
ts_mustache_check_dir(const char *dir,
                      void (*report)(void *ctx, const char *message), void *ctx,
                      size_t *ntemplates, size_t *nerrors, struct ts_error *err)
{
  char *root = trimmed_dir(dir);
  if (!root)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  const char *dirs[] = {root};
  struct ts_mustache_options opts = {.dirs = dirs, .ndirs = 1, .check = true};
  struct ts_mustache_env *env = ts_mustache_env_new(&opts);
  enum ts_result r =
      env ? ts_mustache_check_dir_env(env, root, report, ctx, ntemplates,
                                      nerrors, err)
          : ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  ts_mustache_env_free(env);
  free(root);
  return r;
}

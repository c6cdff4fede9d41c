/*
 * Template data: the JSON-shaped values a page's context is made of.
 *
 * A site builds a context for every page (a large one 32,000 of them,
 * with millions of members) and the template engine reads each once.
 * As jansson trees, a quarter of a small site's CPU went to hashing keys
 * into objects and looking them up again, and to copying strings that
 * already existed. A ts_value is built for that one job instead:
 *
 *   - objects are arrays of members in insertion order, searched by a
 *     one-word tag then the key: a page's objects are small, and the
 *     engine remembers what it found (src/mustache.c);
 *   - strings are borrowed (pointer and length), not copied, unless the
 *     builder is asked to copy them;
 *   - everything lives in one arena (util/arena.h) and goes with it, so
 *     nothing is counted or freed value by value.
 *
 * A ts_value is a small handle passed by value. Objects and arrays are
 * references: a copy of the handle is the same container (its members
 * and its identity, which the engine's caches go by), so a container can
 * be put in several parents, and finished after it was put.
 *
 *   struct ts_value_builder b = {.arena = &arena};
 *   struct ts_value card = ts_value_object(&b, 32);
 *   ts_value_add_str(&b, card, "title", it->title);   // borrowed
 *   ts_value_add(&b, card, "rank", ts_value_int(3));
 *   ...
 *   if (b.failed) -> out of memory somewhere above
 *
 * Builder calls never fail loudly: out of memory sets `failed` and the
 * value or member is left out, so a page builds without checks at every
 * call and is checked once before it is used. Values are immutable once
 * a render starts reading them; several threads may read one at once.
 */
#ifndef TS_VALUE_H
#define TS_VALUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/arena.h"

/* In jansson's order, so containers are the two lowest. */
enum ts_value_type {
  TS_VALUE_OBJECT,
  TS_VALUE_ARRAY,
  TS_VALUE_STRING,
  TS_VALUE_INTEGER,
  TS_VALUE_REAL,
  TS_VALUE_TRUE,
  TS_VALUE_FALSE,
  TS_VALUE_NULL
};

struct ts_value_object;
struct ts_value_array;

struct ts_value {
  enum ts_value_type type;
  uint32_t len; /* a string's bytes */
  union {
    const char *s;
    int64_t i;
    double d;
    struct ts_value_object *o;
    struct ts_value_array *a;
  } u;
};

struct ts_value_member {
  const char *key; /* not NUL-terminated necessarily */
  uint32_t klen;
  uint32_t tag; /* ts_value_tag(key, klen) */
  struct ts_value v;
};

struct ts_value_object {
  uint32_t len, cap;
  /* One bit per member, at ts_value_tag_bit of its tag: a name whose bit
   * is clear is not there, and a search for it compares no member. A
   * page's context is searched for names it lacks about as often as for
   * names it has ({{page.root}} asked of every card on the way up). */
  uint64_t bloom;
  struct ts_value_member *m;
};

struct ts_value_array {
  uint32_t len, cap;
  struct ts_value *v;
};

struct ts_value_builder {
  struct ts_arena *arena; /* where everything built is allocated */
  bool failed;            /* set by any call that ran out of memory */
};

/* A member's search tag: its length and first and last bytes, so that a
 * search compares one word per member before any bytes. */
static inline uint32_t ts_value_tag(const char *key, size_t klen)
{
  if (!klen)
    return 0;
  return (uint32_t)klen << 16 ^ (uint32_t)(unsigned char)key[0] << 8 ^
         (unsigned char)key[klen - 1];
}

/* The bit of a tag in an object's bloom: the top six bits of a
 * multiplicative hash, so that tags differing in any byte spread. */
static inline uint64_t ts_value_tag_bit(uint32_t tag)
{
  return UINT64_C(1) << ((tag * UINT32_C(0x9E3779B1)) >> 26);
}

/* ---- scalars: no allocation ----------------------------------------- */

static inline struct ts_value ts_value_null(void)
{
  return (struct ts_value){.type = TS_VALUE_NULL};
}

static inline struct ts_value ts_value_bool(bool b)
{
  return (struct ts_value){.type = b ? TS_VALUE_TRUE : TS_VALUE_FALSE};
}

static inline struct ts_value ts_value_int(int64_t i)
{
  return (struct ts_value){.type = TS_VALUE_INTEGER, .u.i = i};
}

static inline struct ts_value ts_value_real(double d)
{
  return (struct ts_value){.type = TS_VALUE_REAL, .u.d = d};
}

/* A string of `len` bytes at `s`, borrowed: it must outlive every use of
 * the value. Strings are UTF-8 (the engine and the JSON conversion take
 * them as they are). A length past 4 GiB is cut there. */
static inline struct ts_value ts_value_strn(const char *s, size_t len)
{
  return (struct ts_value){.type = TS_VALUE_STRING,
                           .len = len > UINT32_MAX ? UINT32_MAX
                                                   : (uint32_t)len,
                           .u.s = s};
}

/* The same for a NUL-terminated string. */
static inline struct ts_value ts_value_str(const char *s)
{
  return ts_value_strn(s, strlen(s));
}

/* A copy of `len` bytes at `s` in the builder's arena (NUL-terminated);
 * a null value when out of memory. */
struct ts_value ts_value_strdup(struct ts_value_builder *b, const char *s,
                                size_t len);

/* ---- containers ------------------------------------------------------- */

/* An empty object or array with room for `hint` entries before it grows;
 * a null value when out of memory. */
struct ts_value ts_value_object(struct ts_value_builder *b, size_t hint);
struct ts_value ts_value_array(struct ts_value_builder *b, size_t hint);

/* Appends member `key` (`klen` bytes, borrowed like a string) to `obj`.
 * The key must not be in `obj` already (ts_value_set replaces): the
 * sanitizer builds check it. A no-op when `obj` is not an object. */
void ts_value_addn(struct ts_value_builder *b, struct ts_value obj,
                   const char *key, size_t klen, struct ts_value v);

static inline void ts_value_add(struct ts_value_builder *b,
                                struct ts_value obj, const char *key,
                                struct ts_value v)
{
  ts_value_addn(b, obj, key, strlen(key), v);
}

/* Adds a borrowed string member; a NULL string adds nothing. */
static inline void ts_value_add_str(struct ts_value_builder *b,
                                    struct ts_value obj, const char *key,
                                    const char *s)
{
  if (s)
    ts_value_addn(b, obj, key, strlen(key), ts_value_str(s));
}

/* Adds a copied string member (for text in a caller's buffer). */
static inline void ts_value_add_copy(struct ts_value_builder *b,
                                     struct ts_value obj, const char *key,
                                     const char *s)
{
  if (s) {
    size_t n = strlen(s);
    ts_value_addn(b, obj, key, strlen(key), ts_value_strdup(b, s, n));
  }
}

/* Sets member `key` of `obj`: replaces its value when present, else
 * appends it. */
void ts_value_set(struct ts_value_builder *b, struct ts_value obj,
                  const char *key, struct ts_value v);

/* Appends `v` to `arr`. A no-op when `arr` is not an array. */
void ts_value_push(struct ts_value_builder *b, struct ts_value arr,
                   struct ts_value v);

/* ---- reading ---------------------------------------------------------- */

/* Members of an object, elements of an array, bytes of a string; 0 for
 * anything else. */
static inline size_t ts_value_size(struct ts_value v)
{
  switch (v.type) {
  case TS_VALUE_OBJECT: return v.u.o->len;
  case TS_VALUE_ARRAY: return v.u.a->len;
  case TS_VALUE_STRING: return v.len;
  default: return 0;
  }
}

static inline bool ts_value_member_is(const struct ts_value_member *m,
                                      const char *key, size_t klen,
                                      uint32_t tag)
{
  return m->tag == tag && m->klen == klen && !memcmp(m->key, key, klen);
}

/* The member of object `o` named `key` (`klen` bytes, tag `tag`, which
 * callers that look the same name up often compute once), or NULL: the
 * members are compared by tag, then length and bytes. With `hint` (may
 * be NULL), member *hint is tried first and *hint is set to where the
 * name was found: objects built by the same code hold their members in
 * the same order, so a caller that keeps one hint per name finds it at
 * once in the next such object. */
static inline struct ts_value *
ts_value_object_find_hinted(const struct ts_value_object *o, const char *key,
                            size_t klen, uint32_t tag, uint32_t *hint)
{
  if (!(o->bloom & ts_value_tag_bit(tag)))
    return NULL;
  struct ts_value_member *m = o->m;
  if (hint && *hint < o->len && ts_value_member_is(&m[*hint], key, klen, tag))
    return &m[*hint].v;
  for (uint32_t i = 0; i < o->len; i++)
    if (ts_value_member_is(&m[i], key, klen, tag)) {
      if (hint)
        *hint = i;
      return &m[i].v;
    }
  return NULL;
}

static inline struct ts_value *
ts_value_object_find(const struct ts_value_object *o, const char *key,
                     size_t klen, uint32_t tag)
{
  return ts_value_object_find_hinted(o, key, klen, tag, NULL);
}

/* Member `key` (`klen` bytes) of `obj`, or NULL (also when `obj` is not
 * an object). The pointer is into the object, valid until a member is
 * added to it; a caller that built the object may change the value
 * through it. */
struct ts_value *ts_value_getn(struct ts_value obj, const char *key,
                               size_t klen);

static inline struct ts_value *ts_value_get(struct ts_value obj,
                                            const char *key)
{
  return ts_value_getn(obj, key, strlen(key));
}

/* Element `i` of `arr`, or NULL. */
static inline const struct ts_value *ts_value_at(struct ts_value arr,
                                                 size_t i)
{
  return arr.type == TS_VALUE_ARRAY && i < arr.u.a->len ? &arr.u.a->v[i]
                                                        : NULL;
}

/* Whether two scalars are equal (same type and value; a string's bytes).
 * Containers are equal only when they are the same container. */
bool ts_value_equal(const struct ts_value *a, const struct ts_value *b);

/* ---- JSON ------------------------------------------------------------- */

/* The value of jansson value `j` (NULL: null), built with `b`: strings
 * and keys are borrowed from `j`, which must outlive the result. */
struct ts_value ts_value_from_json(struct ts_value_builder *b,
                                   const json_t *j);

/* A new jansson value equal to `v` (members in order; a repeated key
 * keeps its last value); NULL when out of memory. Caller decrefs. */
json_t *ts_value_to_json(const struct ts_value *v);

#endif

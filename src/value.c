#include "value.h"

#include <assert.h>
#include <stdlib.h>

#include "util/asan.h"

/* Sanitizer builds check that no key is added twice (a search per add:
 * too slow for release builds, where every page's members go through
 * here). */
#ifdef TS_ASAN
#define CHECK_KEYS 1
#endif

static void *oom(struct ts_value_builder *b)
{
  b->failed = true;
  return NULL;
}

struct ts_value ts_value_strdup(struct ts_value_builder *b, const char *s,
                                size_t len)
{
  char *copy = ts_arena_strndup(b->arena, s, len);
  if (!copy)
    return oom(b), ts_value_null();
  return ts_value_strn(copy, len);
}

/* Room for `hint` entries of `size` bytes, at least one, so that every
 * container has storage of its own. */
static void *entries(struct ts_value_builder *b, size_t hint, size_t size,
                     uint32_t *cap)
{
  if (hint < 1)
    hint = 1;
  if (hint > UINT32_MAX / 2)
    return oom(b);
  void *p = ts_arena_alloc(b->arena, hint * size);
  if (!p)
    return oom(b);
  *cap = (uint32_t)hint;
  return p;
}

struct ts_value ts_value_object(struct ts_value_builder *b, size_t hint)
{
  struct ts_value_object *o = ts_arena_alloc(b->arena, sizeof *o);
  if (!o)
    return oom(b), ts_value_null();
  o->len = 0;
  o->bloom = 0;
  o->m = entries(b, hint, sizeof *o->m, &o->cap);
  if (!o->m)
    return ts_value_null();
  return (struct ts_value){.type = TS_VALUE_OBJECT, .u.o = o};
}

struct ts_value ts_value_array(struct ts_value_builder *b, size_t hint)
{
  struct ts_value_array *a = ts_arena_alloc(b->arena, sizeof *a);
  if (!a)
    return oom(b), ts_value_null();
  a->len = 0;
  a->v = entries(b, hint, sizeof *a->v, &a->cap);
  if (!a->v)
    return ts_value_null();
  return (struct ts_value){.type = TS_VALUE_ARRAY, .u.a = a};
}

/* Makes room for one more entry in *items (len, *cap): doubles into new
 * arena storage (the old stays in the arena until it is emptied). */
static bool room(struct ts_value_builder *b, void **items, uint32_t len,
                 uint32_t *cap, size_t size)
{
  if (len < *cap)
    return true;
  if (*cap > UINT32_MAX / 2) {
    oom(b);
    return false;
  }
  void *p = ts_arena_alloc(b->arena, (size_t)*cap * 2 * size);
  if (!p) {
    oom(b);
    return false;
  }
  memcpy(p, *items, (size_t)len * size);
  *items = p;
  *cap *= 2;
  return true;
}

void ts_value_addn(struct ts_value_builder *b, struct ts_value obj,
                   const char *key, size_t klen, struct ts_value v)
{
  if (obj.type != TS_VALUE_OBJECT)
    return;
  struct ts_value_object *o = obj.u.o;
#ifdef CHECK_KEYS
  assert(!ts_value_getn(obj, key, klen) && "key added twice");
#endif
  if (klen > UINT32_MAX) {
    oom(b);
    return;
  }
  if (!room(b, (void **)&o->m, o->len, &o->cap, sizeof *o->m))
    return;
  uint32_t tag = ts_value_tag(key, klen);
  o->m[o->len++] = (struct ts_value_member){key, (uint32_t)klen, tag, v};
  o->bloom |= ts_value_tag_bit(tag);
}

void ts_value_set(struct ts_value_builder *b, struct ts_value obj,
                  const char *key, struct ts_value v)
{
  size_t klen = strlen(key);
  struct ts_value *have = ts_value_getn(obj, key, klen);
  if (have)
    *have = v;
  else
    ts_value_addn(b, obj, key, klen, v);
}

void ts_value_push(struct ts_value_builder *b, struct ts_value arr,
                   struct ts_value v)
{
  if (arr.type != TS_VALUE_ARRAY)
    return;
  struct ts_value_array *a = arr.u.a;
  if (room(b, (void **)&a->v, a->len, &a->cap, sizeof *a->v))
    a->v[a->len++] = v;
}

struct ts_value *ts_value_getn(struct ts_value obj, const char *key,
                               size_t klen)
{
  if (obj.type != TS_VALUE_OBJECT)
    return NULL;
  return ts_value_object_find(obj.u.o, key, klen, ts_value_tag(key, klen));
}

bool ts_value_equal(const struct ts_value *a, const struct ts_value *b)
{
  if (a->type != b->type)
    return false;
  switch (a->type) {
  case TS_VALUE_OBJECT: return a->u.o == b->u.o;
  case TS_VALUE_ARRAY: return a->u.a == b->u.a;
  case TS_VALUE_STRING:
    return a->len == b->len && !memcmp(a->u.s, b->u.s, a->len);
  case TS_VALUE_INTEGER: return a->u.i == b->u.i;
  case TS_VALUE_REAL: return a->u.d == b->u.d;
  default: return true;
  }
}

/* Recursion is bounded by the input: jansson's parser nests at most
 * 2,048 levels, and values built in code are shallow. */
struct ts_value ts_value_from_json(struct ts_value_builder *b,
                                   const json_t *j)
{
  if (!j)
    return ts_value_null();
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    struct ts_value o = ts_value_object(b, json_object_size(j));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
#if JANSSON_VERSION_HEX >= 0x020e00
      size_t klen = json_object_iter_key_len(json_object_key_to_iter(key));
#else
      size_t klen = strlen(key);
#endif
      ts_value_addn(b, o, key, klen, ts_value_from_json(b, v));
    }
    return o;
  }
  case JSON_ARRAY: {
    struct ts_value a = ts_value_array(b, json_array_size(j));
    for (size_t i = 0; i < json_array_size(j); i++)
      ts_value_push(b, a, ts_value_from_json(b, json_array_get(j, i)));
    return a;
  }
  case JSON_STRING:
    return ts_value_strn(json_string_value(j), json_string_length(j));
  case JSON_INTEGER: return ts_value_int(json_integer_value(j));
  case JSON_REAL: return ts_value_real(json_real_value(j));
  case JSON_TRUE: return ts_value_bool(true);
  case JSON_FALSE: return ts_value_bool(false);
  default: return ts_value_null();
  }
}

json_t *ts_value_to_json(const struct ts_value *v)
{
  switch (v->type) {
  case TS_VALUE_OBJECT: {
    json_t *o = json_object();
    for (uint32_t i = 0; o && i < v->u.o->len; i++) {
      const struct ts_value_member *m = &v->u.o->m[i];
      json_t *e = ts_value_to_json(&m->v);
#if JANSSON_VERSION_HEX >= 0x020e00
      int bad = !e || json_object_setn_new(o, m->key, m->klen, e);
#else
      int bad = !e || json_object_set_new(o, m->key, e); /* keys: C strings */
#endif
      if (bad) {
        json_decref(o);
        return NULL;
      }
    }
    return o;
  }
  case TS_VALUE_ARRAY: {
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < v->u.a->len; i++)
      if (json_array_append_new(a, ts_value_to_json(&v->u.a->v[i]))) {
        json_decref(a);
        return NULL;
      }
    return a;
  }
  case TS_VALUE_STRING: return json_stringn(v->u.s, v->len);
  case TS_VALUE_INTEGER: return json_integer(v->u.i);
  case TS_VALUE_REAL: return json_real(v->u.d);
  case TS_VALUE_TRUE: return json_true();
  case TS_VALUE_FALSE: return json_false();
  default: return json_null();
  }
}

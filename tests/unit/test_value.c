/* Template data (src/value.h): building, reading, the JSON conversions,
 * and the engine reading values built by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mustache.h"
#include "value.h"

/* Renders `src` with `data`; the output (caller frees) or NULL. */
static char *render(const char *src, const struct ts_value *data)
{
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  const struct ts_mustache *tpl;
  struct ts_error e = {0};
  char *out = NULL;
  if (ts_mustache_compile_string(env, "t", src, strlen(src),
                                 TS_MUSTACHE_ESCAPE_HTML, &tpl,
                                 &e) == TS_OK) {
    struct ts_buf b;
    ts_buf_init(&b, 0);
    if (ts_mustache_render_value_to_buf(tpl, data, &b, &e) == TS_OK)
      out = ts_buf_detach(&b);
    ts_buf_cleanup(&b);
  }
  ts_mustache_env_free(env);
  return out;
}

static char *dump(const struct ts_value *v)
{
  json_t *j = ts_value_to_json(v);
  char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref(j);
  return text;
}

static void build_and_read(void)
{
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value o = ts_value_object(&b, 1); /* grows past its hint */
  char buf[16] = "copied";
  ts_value_add_str(&b, o, "title", "borrowed");
  ts_value_add_copy(&b, o, "label", buf);
  ts_value_add_str(&b, o, "none", NULL); /* adds nothing */
  ts_value_add(&b, o, "n", ts_value_int(-42));
  ts_value_add(&b, o, "x", ts_value_real(2.5));
  ts_value_add(&b, o, "yes", ts_value_bool(true));
  ts_value_add(&b, o, "nil", ts_value_null());
  memset(buf, 'z', sizeof buf - 1); /* the copy does not change */
  CHECK(!b.failed);
  CHECK_INT(ts_value_size(o), 6);
  CHECK(!ts_value_get(o, "none"));
  CHECK(!ts_value_get(o, "titl")); /* prefixes and tags do not match */
  CHECK(!ts_value_get(o, "titlf"));
  REQUIRE(ts_value_get(o, "n"));
  CHECK_INT(ts_value_get(o, "n")->u.i, -42);
  /* Members keep their order; a set replaces in place. */
  ts_value_set(&b, o, "title", ts_value_str("replaced"));
  ts_value_set(&b, o, "last", ts_value_int(1));
  char *text = dump(&o);
  CHECK_STR(text, "{\"title\":\"replaced\",\"label\":\"copied\",\"n\":-42,"
                  "\"x\":2.5,\"yes\":true,\"nil\":null,\"last\":1}");
  free(text);
  /* Arrays grow past their hint; elements keep their order. */
  struct ts_value a = ts_value_array(&b, 0);
  for (int i = 0; i < 100; i++)
    ts_value_push(&b, a, ts_value_int(i));
  CHECK_INT(ts_value_size(a), 100);
  CHECK_INT(ts_value_at(a, 99)->u.i, 99);
  CHECK(!ts_value_at(a, 100));
  CHECK(!ts_value_at(o, 0));
  /* Adding to something that is not a container does nothing. */
  ts_value_add(&b, a, "k", ts_value_int(1));
  ts_value_push(&b, o, ts_value_int(1));
  CHECK_INT(ts_value_size(a), 100);
  CHECK_INT(ts_value_size(o), 7);
  ts_arena_cleanup(&arena);
}

/* A container is a handle: a copy put in a parent is the same container,
 * and what is added to it afterwards shows through every copy. */
static void containers_are_handles(void)
{
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value shared = ts_value_object(&b, 1);
  struct ts_value p1 = ts_value_object(&b, 4), p2 = ts_value_object(&b, 4);
  ts_value_add(&b, p1, "s", shared);
  ts_value_add(&b, p2, "s", shared);
  for (int i = 0; i < 20; i++) { /* grows it several times */
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    ts_value_addn(&b, shared, ts_value_strdup(&b, key, strlen(key)).u.s,
                  strlen(key), ts_value_int(i));
  }
  CHECK(!b.failed);
  CHECK_INT(ts_value_size(*ts_value_get(p1, "s")), 20);
  CHECK(ts_value_equal(ts_value_get(p1, "s"), ts_value_get(p2, "s")));
  char *out = render("{{s.k0}}{{s.k19}}{{#s}}{{k7}}{{/s}}", &p2);
  CHECK_STR(out, "0197");
  free(out);
  /* Equal scalars are equal; equal-looking containers are not. */
  struct ts_value o2 = ts_value_object(&b, 1);
  CHECK(!ts_value_equal(&shared, &o2));
  struct ts_value s1 = ts_value_str("abc"), s2 = ts_value_strdup(&b, "abc", 3);
  CHECK(ts_value_equal(&s1, &s2));
  struct ts_value i1 = ts_value_int(1), r1 = ts_value_real(1);
  CHECK(!ts_value_equal(&i1, &r1));
  ts_arena_cleanup(&arena);
}

/* JSON in and out: every type, key order, strings with NUL bytes (keys
 * cannot have them in jansson's JSON text; built ones can). */
static void json_round_trip(void)
{
  const char *text = "{\"b\":1,\"a\":[true,false,null,\"x\\u0000y\",2.5,"
                     "{}],\"ab\":{\"z\":\"\"},\"e\":[]}";
  json_t *j = json_loads(text, JSON_ALLOW_NUL, NULL);
  REQUIRE(j);
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value v = ts_value_from_json(&b, j);
  CHECK(!b.failed);
  REQUIRE(ts_value_getn(v, "ab", 2));
  struct ts_value k = ts_value_object(&b, 1);
  ts_value_addn(&b, k, "a\0b", 3, ts_value_int(1));
  CHECK(ts_value_getn(k, "a\0b", 3) && !ts_value_getn(k, "a\0c", 3));
  char *ktext = dump(&k);
  CHECK_STR(ktext, "{\"a\\u0000b\":1}");
  free(ktext);
  CHECK_INT(ts_value_at(*ts_value_get(v, "a"), 3)->len, 3);
  char *back = dump(&v);
  CHECK_STR(back, text);
  free(back);
  struct ts_value null = ts_value_from_json(&b, NULL);
  CHECK_INT(null.type, TS_VALUE_NULL);
  /* The engine reads the converted value as it read the JSON. */
  char *out = render("{{b}}|{{a.0}},{{a.1}},{{a.2}},{{a.4}},{{a.5}}|"
                     "{{^e}}empty{{/e}}|{{#ab}}{{z}}{{/ab}}{{^ab.z}}-{{/ab.z}}",
                     &v);
  CHECK_STR(out, "1|true,false,,2.5,{}|empty|-");
  free(out);
  ts_arena_cleanup(&arena);
  json_decref(j);
}

/* An arena reset keeps a chunk for the next round and hands out memory
 * again; what was built before the reset is gone. */
static void arena_reset_reuses(void)
{
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  for (int round = 0; round < 50; round++) {
    ts_arena_reset(&arena);
    struct ts_value page = ts_value_object(&b, 8);
    struct ts_value items = ts_value_array(&b, 4);
    for (int i = 0; i < 200; i++) {
      struct ts_value card = ts_value_object(&b, 4);
      ts_value_add(&b, card, "i", ts_value_int(i + round));
      ts_value_push(&b, items, card);
    }
    ts_value_add(&b, page, "items", items);
    CHECK(!b.failed);
    char *out = render("{{#items}}{{i}},{{/items}}", &page);
    char want[2048] = "";
    for (int i = 0, n = 0; i < 200; i++)
      n += snprintf(want + n, sizeof want - (size_t)n, "%d,", i + round);
    CHECK_STR(out, want);
    free(out);
  }
  CHECK(arena.total < 64 * 1024 * 4);
  ts_arena_cleanup(&arena);
}

/* Objects of many members: every member is found and no other name,
 * whatever their bloom bits share. */
static void large_objects_find_exactly_their_members(void)
{
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value o = ts_value_object(&b, 4);
  char keys[400][16];
  for (int i = 0; i < 400; i++)
    snprintf(keys[i], sizeof keys[i], "k%d", i);
  for (int i = 0; i < 200; i++)
    ts_value_add(&b, o, keys[i], ts_value_int(i));
  REQUIRE(!b.failed);
  for (int i = 0; i < 200; i++) {
    const struct ts_value *v = ts_value_get(o, keys[i]);
    if (!v || v->u.i != i)
      ts_test_fail(__FILE__, __LINE__, "member %s not found", keys[i]);
  }
  for (int i = 200; i < 400; i++)
    if (ts_value_get(o, keys[i]))
      ts_test_fail(__FILE__, __LINE__, "found %s, never added", keys[i]);
  CHECK(!ts_value_get(o, "")); /* no empty key was added */
  ts_value_add(&b, o, "", ts_value_int(-1));
  REQUIRE(ts_value_get(o, ""));
  CHECK_INT(ts_value_get(o, "")->u.i, -1);
  ts_arena_cleanup(&arena);
}

/* Cards whose members come in a different order each time, some without
 * a member: the render's memory of where a name was found last is only
 * a first guess, never an answer. */
static void member_order_may_change_between_objects(void)
{
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value page = ts_value_object(&b, 2);
  struct ts_value items = ts_value_array(&b, 8);
  static const char *const names[] = {"a", "b", "c", "d", "e"};
  char want[512] = "";
  size_t w = 0;
  for (int i = 0; i < 12; i++) {
    struct ts_value card = ts_value_object(&b, 5);
    for (int k = 0; k < 5; k++) {
      int at = (k + i) % 5; /* rotated: every position changes */
      if (at == i % 5 && i % 3 == 0)
        continue; /* and now and then one is missing */
      ts_value_add(&b, card, names[at], ts_value_int(at * 100 + i));
    }
    ts_value_push(&b, items, card);
    for (int k = 0; k < 5; k++) {
      if (!(k == i % 5 && i % 3 == 0))
        w += (size_t)snprintf(want + w, sizeof want - w, "%d", k * 100 + i);
      want[w++] = k < 4 ? ',' : ';';
      want[w] = '\0';
    }
  }
  ts_value_add(&b, page, "items", items);
  REQUIRE(!b.failed);
  char *out = render("{{#items}}{{a}},{{b}},{{c}},{{d}},{{e}};{{/items}}",
                     &page);
  CHECK_STR(out, want);
  free(out);
  ts_arena_cleanup(&arena);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(build_and_read),
    TEST(containers_are_handles),
    TEST(json_round_trip),
    TEST(arena_reset_reuses),
    TEST(large_objects_find_exactly_their_members),
    TEST(member_order_may_change_between_objects),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

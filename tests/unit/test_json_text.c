/* JSON written as text: strings escape what JSON requires, and a dumped
 * jansson tree reads back equal, byte for byte what json_dumps writes
 * when no rare escape is involved. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/json_text.h"

static char *dumped(const json_t *v, enum ts_result *r)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  *r = ts_json_dump(&b, v);
  char *text = strdup(b.data ? b.data : "");
  ts_buf_cleanup(&b);
  return text;
}

static void strings_escape_what_json_requires(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  REQUIRE(ts_json_stringn(&b, "a\"b\\c\n\t\r\x01\0z", 11) == TS_OK);
  CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u0000z\"");
  ts_buf_reset(&b);
  REQUIRE(ts_json_string(&b, "caf\xc3\xa9 \xe2\x86\x92 </script>") == TS_OK);
  CHECK_STR(b.data, "\"caf\xc3\xa9 \xe2\x86\x92 </script>\"");
  ts_buf_cleanup(&b);
}

/* Every byte value at every position of a run longer than a word: the
 * word-at-a-time scan finds exactly the bytes the byte-wise rule does. */
static void every_byte_at_every_position(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  for (int c = 1; c < 256; c++) {
    for (size_t at = 0; at < 19; at++) {
      char in[19];
      memset(in, 'a', sizeof in);
      in[at] = (char)c;
      ts_buf_reset(&b);
      REQUIRE(ts_json_stringn(&b, in, sizeof in) == TS_OK);
      bool escaped = c < 0x20 || c == '"' || c == '\\';
      size_t want = 2 + sizeof in + (escaped ? (c == '"' || c == '\\' ||
                                               c == '\n' || c == '\t' ||
                                               c == '\r')
                                                  ? 1
                                                  : 5
                                            : 0);
      if (b.len != want) {
        CHECK_INT(b.len, want);
        CHECK_INT(c, -1); /* names the byte that went wrong */
        CHECK_INT(at, 99);
        ts_buf_cleanup(&b);
        return;
      }
      CHECK(b.data[1 + at] == (escaped ? '\\' : (char)c));
    }
  }
  ts_buf_cleanup(&b);
}

static void a_tree_dumps_as_jansson_does(void)
{
  json_error_t jerr;
  const char *src =
      "{\"version\":1,\"items\":{\"b\":{\"first_seen\":1795000000,"
      "\"runs\":3,\"peaks\":{\"youtube/JP\":1,\"youtube/US\":12},"
      "\"series\":[[1795000000,1,1234567890123],[1795003600,2,null]],"
      "\"new\":true,\"stale\":false,\"title\":\"\xe6\x9d\xb1\xe4\xba\xac "
      "\\\"quoted\\\" back\\\\slash\"},\"a\":{\"ratio\":0.1,\"big\":1e300,\"tiny\":-2.5e-7,"
      "\"whole\":2.0,\"neg\":-0.5,\"min\":-9223372036854775808,"
      "\"empty\":{},\"none\":[]}}}";
  json_t *doc = json_loads(src, 0, &jerr);
  REQUIRE(doc);
  enum ts_result r;
  char *ours = dumped(doc, &r);
  char *theirs = json_dumps(doc, JSON_COMPACT);
  CHECK_INT(r, TS_OK);
  CHECK_STR(ours, theirs);
  /* Members stay in insertion order ("b" before "a"). */
  CHECK(strstr(ours, "\"b\":") < strstr(ours, "\"a\":"));
  json_t *back = json_loads(ours, 0, &jerr);
  CHECK(back && json_equal(back, doc));
  json_decref(back);
  free(ours);
  free(theirs);
  json_decref(doc);
}

static void what_json_cannot_hold_is_refused(void)
{
  enum ts_result r;
  json_t *deep = json_array(), *at = deep;
  for (int i = 0; i < 600; i++) {
    json_t *next = json_array();
    json_array_append_new(at, next);
    at = next;
  }
  free(dumped(deep, &r));
  CHECK_INT(r, TS_ERR_LIMIT);
  json_decref(deep);
  /* Arithmetic on reals can make infinities; jansson refuses to hold
   * one, so this writes a finite value and checks it stays a real. */
  json_t *real = json_real(3.0);
  char *text = dumped(real, &r);
  CHECK_INT(r, TS_OK);
  CHECK_STR(text, "3.0");
  free(text);
  json_decref(real);
}

static void members_are_written_with_their_separators(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  struct ts_json_writer w = {.b = &b};
  ts_json_open(&w, '{');
  ts_json_int_member(&w, "views", -1234567);
  ts_json_str_member(&w, "title", "a \"quote\"");
  ts_json_str_member(&w, "absent", NULL); /* writes nothing */
  ts_json_key(&w, "odd \"key\"\n");       /* escaped like any string */
  ts_json_open(&w, '[');
  ts_json_close(&w, ']');
  ts_json_bool_member(&w, "new", true);
  ts_json_close(&w, '}');
  CHECK(!w.failed);
  CHECK_STR(b.data, "{\"views\":-1234567,\"title\":\"a \\\"quote\\\"\","
                    "\"odd \\\"key\\\"\\n\":[],\"new\":true}");
  CHECK_INT(b.len, strlen(b.data));
  json_error_t jerr;
  json_t *back = json_loads(b.data, 0, &jerr);
  CHECK(back && json_is_array(json_object_get(back, "odd \"key\"\n")));
  json_decref(back);
  ts_buf_cleanup(&b);
  /* A buffer at its cap: the writer says it failed (the text is then
   * incomplete, and not used), and no name is half written. */
  ts_buf_init(&b, 12);
  w = (struct ts_json_writer){.b = &b};
  ts_json_open(&w, '{');
  ts_json_int_member(&w, "a", 1);
  CHECK(!w.failed);
  ts_json_int_member(&w, "a_long_member_name", 2);
  CHECK(w.failed);
  CHECK(strstr(b.data, "a_long") == NULL);
  CHECK(b.len <= 12);
  ts_buf_cleanup(&b);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(strings_escape_what_json_requires),
    TEST(every_byte_at_every_position),
    TEST(a_tree_dumps_as_jansson_does),
    TEST(what_json_cannot_hold_is_refused),
    TEST(members_are_written_with_their_separators),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

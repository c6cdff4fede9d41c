/* The JSON pull reader: walking documents, strings and escapes, numbers
 * at the int64 limits, the depth cap, and every malformed input named
 * with its line and column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/json_read.h"

/* A reader over the C string `text`, named "t.json". */
#define OPEN(r, text, err)                                                     \
  ts_json_reader_init(r, "t.json", text, strlen(text), err)

static void walks_a_document(void)
{
  const char *text = " {\"name\": \"trendsite\", \"n\": -42, \"ok\": true,\n"
                     "  \"off\": false, \"none\": null,\n"
                     "  \"list\": [1, [2, {}], \"x\", []], \"obj\": {\"a\": "
                     "{\"b\": [null]}}} \n";
  struct ts_json_reader r;
  struct ts_error err = {0};
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  OPEN(&r, text, &err);
  CHECK_INT(ts_json_peek(&r), TS_JSON_OBJECT);
  REQUIRE(ts_json_object_begin(&r) == TS_OK);
  CHECK_INT(ts_json_depth(&r), 1);
  struct ts_json_view key;
  const char *name = NULL;
  int64_t n = 0;
  bool ok = false, off = true;
  int members = 0, elements = 0;
  while (ts_json_member(&r, &key)) {
    members++;
    if (ts_json_view_is(key, "name")) {
      CHECK_INT(ts_json_read_string(&r, &arena, &name, NULL), TS_OK);
    } else if (ts_json_view_is(key, "n")) {
      CHECK_INT(ts_json_read_int(&r, &n), TS_OK);
    } else if (ts_json_view_is(key, "ok")) {
      CHECK_INT(ts_json_read_bool(&r, &ok), TS_OK);
    } else if (ts_json_view_is(key, "off")) {
      CHECK_INT(ts_json_read_bool(&r, &off), TS_OK);
    } else if (ts_json_view_is(key, "none")) {
      CHECK_INT(ts_json_peek(&r), TS_JSON_NULL);
      CHECK_INT(ts_json_skip(&r), TS_OK);
    } else if (ts_json_view_is(key, "list")) {
      REQUIRE(ts_json_array_begin(&r) == TS_OK);
      while (ts_json_element(&r))
        elements++; /* each one skipped, nested or not */
      CHECK_INT(ts_json_depth(&r), 1);
    } /* "obj": left unread, skipped by the next call */
  }
  CHECK_INT(ts_json_result(&r), TS_OK);
  CHECK_INT(ts_json_depth(&r), 0);
  CHECK_INT(ts_json_end(&r), TS_OK);
  CHECK_INT(members, 7);
  CHECK_INT(elements, 4);
  CHECK_STR(name, "trendsite");
  CHECK_INT(n, -42);
  CHECK(ok);
  CHECK(!off);
  ts_json_reader_cleanup(&r);
  ts_arena_cleanup(&arena);
}

/* The string of a one-string document, decoded (caller frees), or NULL
 * with the error in `err`. */
static char *decode_one(const char *text, size_t len, struct ts_error *err)
{
  struct ts_json_reader r;
  ts_json_reader_init(&r, "t.json", text, len, err);
  struct ts_json_view v;
  char *out = NULL;
  if (ts_json_read_view(&r, &v) == TS_OK && ts_json_end(&r) == TS_OK) {
    out = malloc(v.len + 1);
    memcpy(out, v.s, v.len);
    out[v.len] = '\0';
  }
  ts_json_reader_cleanup(&r);
  return out;
}

static void escapes_decode_to_utf8(void)
{
  struct {
    const char *json, *text;
  } cases[] = {
      {"\"plain\"", "plain"},
      {"\"\"", ""},
      {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t"},
      {"\"caf\\u00e9 \\u20AC \\u0001\"", "caf\xc3\xa9 \xe2\x82\xac \x01"},
      {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"}, /* U+1F600 */
      {"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
      {"\"a\\ud800b\"", "a\xef\xbf\xbd"
                        "b"},                             /* lone high */
      {"\"\\udc00\"", "\xef\xbf\xbd"},                    /* lone low */
      {"\"\\ud800\\ud800\"", "\xef\xbf\xbd\xef\xbf\xbd"}, /* high, high */
      {"\"\\ud800\\u0041\"", "\xef\xbf\xbd"
                             "A"},                        /* high, not low */
      {"\"\\ude00\\ud83d\"", "\xef\xbf\xbd\xef\xbf\xbd"}, /* reversed */
      {"\"\\ud83d\"", "\xef\xbf\xbd"},                    /* high at the end */
      /* Raw UTF-8 of every length, and DEL, pass as they are. */
      {"\"\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x91\xa8\xe2\x80\x8d "
       "\x7f\"",
       "\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x91\xa8\xe2\x80\x8d \x7f"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct ts_error err = {0};
    char *got = decode_one(cases[i].json, strlen(cases[i].json), &err);
    if (!got)
      ts_test_fail(__FILE__, __LINE__, "%s: %s", cases[i].json, err.msg);
    else
      CHECK_STR(got, cases[i].text);
    free(got);
  }
}

/* Strings of every length up to 40 with one special byte at every offset:
 * the 8-bytes-at-a-time scan must find each one. */
static void specials_are_found_at_every_offset(void)
{
  static const struct {
    const char *raw, *decoded;
    bool valid;
  } specials[] = {
      {"\\n", "\n", true},
      {"\\\"", "\"", true},
      {"\xc3\xa9", "\xc3\xa9", true},
      {"\\u00e9", "\xc3\xa9", true},
      {"\x1f", NULL, false},
      {"\xff", NULL, false},
      {"\"", NULL, false},
  };
  char json[64], want[64];
  for (size_t s = 0; s < sizeof specials / sizeof specials[0]; s++)
    for (size_t len = 1; len <= 40; len++)
      for (size_t at = 0; at < len; at++) {
        size_t n = 0, w = 0;
        json[n++] = '"';
        for (size_t k = 0; k < len; k++) {
          if (k == at) {
            memcpy(json + n, specials[s].raw, strlen(specials[s].raw));
            n += strlen(specials[s].raw);
            if (specials[s].decoded) {
              memcpy(want + w, specials[s].decoded,
                     strlen(specials[s].decoded));
              w += strlen(specials[s].decoded);
            }
          } else {
            json[n++] = (char)('a' + k % 26);
            want[w++] = (char)('a' + k % 26);
          }
        }
        json[n++] = '"';
        want[w] = '\0';
        struct ts_error err = {0};
        char *got = decode_one(json, n, &err);
        if (specials[s].valid && (!got || strcmp(got, want) != 0))
          ts_test_fail(__FILE__, __LINE__,
                       "special %zu, length %zu, at %zu: "
                       "%s",
                       s, len, at, got ? got : err.msg);
        if (!specials[s].valid && got)
          ts_test_fail(__FILE__, __LINE__,
                       "special %zu, length %zu, at "
                       "%zu: accepted",
                       s, len, at);
        free(got);
      }
}

static void numbers_at_the_int64_limits(void)
{
  struct {
    const char *json;
    bool integer;
    int64_t value;
  } ok[] = {
      {"0", true, 0},
      {"-0", true, 0},
      {"7", true, 7},
      {"9223372036854775807", true, INT64_MAX},
      {"-9223372036854775808", true, INT64_MIN},
      {"-9223372036854775807", true, -INT64_MAX},
      {"1.5", false, 0},
      {"-0.0", false, 0},
      {"1e3", false, 0},
      {"1E+3", false, 0},
      {"2.5e-10", false, 0},
      /* Not integers, so no range to exceed. */
      {"99999999999999999999.0", false, 0},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    struct ts_json_reader r;
    struct ts_error err = {0};
    OPEN(&r, ok[i].json, &err);
    struct ts_json_number n;
    if (ts_json_read_number(&r, &n) != TS_OK || ts_json_end(&r) != TS_OK) {
      ts_test_fail(__FILE__, __LINE__, "%s: %s", ok[i].json, err.msg);
    } else {
      CHECK_INT(n.integer, ok[i].integer);
      CHECK(n.value == ok[i].value);
      CHECK_INT(n.text.len, strlen(ok[i].json));
    }
    ts_json_reader_cleanup(&r);
  }
  struct {
    const char *json, *message;
  } bad[] = {
      {"9223372036854775808",
       "t.json:1:1: integer out of range (9223372036854775808)"},
      {"[-9223372036854775809]",
       "t.json:1:2: integer out of range (-9223372036854775809)"},
      {"123456789012345678901234567890", "t.json:1:1: integer out of range "
                                         "(123456789012345678901234567890)"},
      {"1.0", "t.json:1:1: expected an integer, found 1.0"},
      {"\"1\"", "t.json:1:1: expected a number, found a string"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct ts_json_reader r;
    struct ts_error err = {0};
    OPEN(&r, bad[i].json, &err);
    int64_t v;
    if (bad[i].json[0] == '[') {
      ts_json_array_begin(&r);
      ts_json_element(&r);
    }
    CHECK(ts_json_read_int(&r, &v) == TS_ERR_PARSE);
    CHECK_STR(err.msg, bad[i].message);
    ts_json_reader_cleanup(&r);
  }
  /* A skipped number is checked for its grammar only. */
  struct ts_json_reader r;
  struct ts_error err = {0};
  OPEN(&r, "[123456789012345678901234567890, 1]", &err);
  CHECK_INT(ts_json_end(&r), TS_OK);
  ts_json_reader_cleanup(&r);
}

/* The error for `json` when it is skipped as a whole document. */
static void check_error(int line, const char *json, size_t len,
                        enum ts_result code, const char *message)
{
  struct ts_json_reader r;
  struct ts_error err = {0};
  ts_json_reader_init(&r, "t.json", json, len, &err);
  enum ts_result got = ts_json_end(&r);
  if (got != code)
    ts_test_fail(__FILE__, line, "%s: got %d, expected %d (%s)", json, got,
                 code, err.msg);
  else if (strcmp(err.msg, message) != 0)
    ts_test_fail(__FILE__, line,
                 "%s:\n    got      \"%s\"\n    expected "
                 "\"%s\"",
                 json, err.msg, message);
  ts_json_reader_cleanup(&r);
}

#define ERROR_CASE(json, message)                                              \
  check_error(__LINE__, json, sizeof json - 1, TS_ERR_PARSE, message)

static void malformed_text_is_located(void)
{
  ERROR_CASE("", "t.json:1:1: expected a value, found the end of input");
  ERROR_CASE("  \n ", "t.json:2:2: expected a value, found the end of input");
  ERROR_CASE("[1,]", "t.json:1:4: trailing comma before ']'");
  ERROR_CASE("{\"a\": 1,\n }", "t.json:2:2: trailing comma before '}'");
  ERROR_CASE("[01]", "t.json:1:2: invalid number: leading zeros are not "
                     "allowed");
  ERROR_CASE("[-]", "t.json:1:2: invalid number: a digit must follow '-'");
  ERROR_CASE("[1.]", "t.json:1:4: invalid number: a digit must follow '.'");
  ERROR_CASE("[1e+]", "t.json:1:5: invalid number: the exponent needs a "
                      "digit");
  ERROR_CASE("[+1]", "t.json:1:2: expected a value, found '+'");
  ERROR_CASE("[.5]", "t.json:1:2: expected a value, found '.'");
  ERROR_CASE("[NaN]", "t.json:1:2: expected a value, found 'N'");
  ERROR_CASE("[-Infinity]", "t.json:1:2: invalid number: a digit must "
                            "follow '-'");
  ERROR_CASE("[1] // note", "t.json:1:5: end of input expected after the "
                            "document, found '/' (JSON has no comments)");
  ERROR_CASE("/* c */ 1", "t.json:1:1: expected a value, found '/' (JSON "
                          "has no comments)");
  ERROR_CASE("{} {}", "t.json:1:4: end of input expected after the "
                      "document, found '{'");
  ERROR_CASE("1 2", "t.json:1:3: end of input expected after the document, "
                    "found '2'");
  ERROR_CASE("[1 2]", "t.json:1:4: expected ',' or ']' after an array "
                      "element, found '2'");
  ERROR_CASE("{\"a\": 1 \"b\": 2}", "t.json:1:9: expected ',' or '}' after "
                                    "an object member, found '\"'");
  ERROR_CASE("{\"a\" 1}", "t.json:1:6: expected ':' after an object key, "
                          "found '1'");
  ERROR_CASE("{1: 2}", "t.json:1:2: expected a string key, found '1'");
  ERROR_CASE("{'a': 2}", "t.json:1:2: expected a string key, found '''");
  ERROR_CASE("{\"a\": }", "t.json:1:7: expected a value, found '}'");
  ERROR_CASE("[1", "t.json:1:3: expected ',' or ']' after an array element, "
                   "found the end of input");
  ERROR_CASE("{\"a\":", "t.json:1:6: expected a value, found the end of "
                        "input");
  ERROR_CASE("[true, fals]", "t.json:1:8: invalid literal (true, false or "
                             "null)");
  ERROR_CASE("[nul", "t.json:1:2: invalid literal (true, false or null)");
  ERROR_CASE("[truex]", "t.json:1:6: expected ',' or ']' after an array "
                        "element, found 'x'");
  ERROR_CASE("\xef\xbb\xbf{}", "t.json:1:1: expected a value, found byte "
                               "0xef");
  ERROR_CASE("[\"abc", "t.json:1:2: unterminated string");
  ERROR_CASE("[\"ab\\", "t.json:1:2: unterminated string");
  ERROR_CASE("[\"a\tb\"]", "t.json:1:4: control character 0x09 in a string "
                           "(escape it)");
  ERROR_CASE("[\"a\nb\"]", "t.json:1:4: control character 0x0a in a string "
                           "(escape it)");
  ERROR_CASE("[\"\\x\"]", "t.json:1:3: invalid escape in a string (\\\" "
                          "\\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
  ERROR_CASE("[\"\\'\"]", "t.json:1:3: invalid escape in a string (\\\" "
                          "\\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
  ERROR_CASE("[\"\\u12g4\"]", "t.json:1:3: \\u must be followed by four "
                              "hex digits");
  ERROR_CASE("[\"\\u12\"]", "t.json:1:3: \\u must be followed by four hex "
                            "digits");
  ERROR_CASE("[\"\\u0000\"]", "t.json:1:3: \\u0000 is not allowed in a "
                              "string");
  ERROR_CASE("[\"\xff\"]", "t.json:1:3: invalid UTF-8 in a string (byte "
                           "0xff)");
  ERROR_CASE("[\"\xc0\xaf\"]", "t.json:1:3: invalid UTF-8 in a string "
                               "(byte 0xc0)"); /* overlong '/' */
  ERROR_CASE("[\"\xe0\x80\xaf\"]", "t.json:1:3: invalid UTF-8 in a string "
                                   "(byte 0xe0)"); /* overlong, 3 bytes */
  ERROR_CASE("[\"\xed\xa0\x80\"]", "t.json:1:3: invalid UTF-8 in a string "
                                   "(byte 0xed)"); /* a surrogate */
  ERROR_CASE("[\"\xf4\x90\x80\x80\"]",
             "t.json:1:3: invalid UTF-8 in a "
             "string (byte 0xf4)"); /* past U+10FFFF */
  ERROR_CASE("[\"\xe6\x97\"]", "t.json:1:3: invalid UTF-8 in a string "
                               "(byte 0xe6)"); /* cut short */
  ERROR_CASE("[\"\x80\"]", "t.json:1:3: invalid UTF-8 in a string (byte "
                           "0x80)"); /* a lone continuation */
  /* Columns count characters, not bytes; lines count '\n'. */
  ERROR_CASE("[\"\xc3\xa9\xe6\x97\xa5\", x]", "t.json:1:8: expected a "
                                              "value, found 'x'");
  ERROR_CASE("{\n  \"a\": [1,\n    2,,\n  ]}", "t.json:3:7: expected a "
                                               "value, found ','");
  ERROR_CASE("{\"a\":\r\n tru}", "t.json:2:2: invalid literal (true, false "
                                 "or null)");
  /* A NUL byte is no whitespace. */
  check_error(__LINE__, "[1]\0", 4, TS_ERR_PARSE,
              "t.json:1:4: end of input "
              "expected after the document, found byte 0x00");
}

static void wrong_types_are_named(void)
{
  struct ts_json_reader r;
  struct ts_error err = {0};
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  const char *s = NULL;
  OPEN(&r, "\n  [12]", &err);
  CHECK(ts_json_read_string(&r, &arena, &s, NULL) == TS_ERR_PARSE);
  CHECK_STR(err.msg, "t.json:2:3: expected a string, found an array");
  /* The error sticks. */
  CHECK_INT(ts_json_peek(&r), TS_JSON_INVALID);
  CHECK(!ts_json_element(&r));
  CHECK_INT(ts_json_end(&r), TS_ERR_PARSE);
  CHECK_STR(err.msg, "t.json:2:3: expected a string, found an array");
  ts_json_reader_cleanup(&r);

  OPEN(&r, "{\"a\": null}", &err);
  CHECK(ts_json_array_begin(&r) == TS_ERR_PARSE);
  CHECK_STR(err.msg, "t.json:1:1: expected an array, found an object");
  ts_json_reader_cleanup(&r);

  bool b;
  OPEN(&r, "null", &err);
  CHECK(ts_json_read_bool(&r, &b) == TS_ERR_PARSE);
  CHECK_STR(err.msg, "t.json:1:1: expected true or false, found null");
  ts_json_reader_cleanup(&r);
  ts_arena_cleanup(&arena);
}

static void escaped_keys_and_views(void)
{
  const char *text = "{\"t\\u0069tle\": \"in place\", \"k\": \"a\\nb\"}";
  struct ts_json_reader r;
  struct ts_error err = {0};
  OPEN(&r, text, &err);
  REQUIRE(ts_json_object_begin(&r) == TS_OK);
  struct ts_json_view key, v;
  REQUIRE(ts_json_member(&r, &key));
  CHECK(ts_json_view_is(key, "title"));
  REQUIRE(ts_json_read_view(&r, &v) == TS_OK);
  /* Without escapes a view points into the text: nothing is copied. */
  CHECK(v.s == text + 16);
  CHECK_INT(v.len, 8);
  REQUIRE(ts_json_member(&r, &key));
  CHECK(ts_json_view_is(key, "k"));
  REQUIRE(ts_json_read_view(&r, &v) == TS_OK);
  CHECK(v.len == 3 && memcmp(v.s, "a\nb", 3) == 0);
  CHECK(!ts_json_member(&r, &key));
  CHECK_INT(ts_json_end(&r), TS_OK);
  ts_json_reader_cleanup(&r);
}

/* Skipped values are checked all the same, and a caller can give up
 * halfway through a container and go on after it. */
static void skipping_and_unwinding(void)
{
  struct ts_json_reader r;
  struct ts_error err = {0};
  OPEN(&r, "{\"skip\": {\"a\": [1, {\"b\": [tru]}]}}", &err);
  REQUIRE(ts_json_object_begin(&r) == TS_OK);
  struct ts_json_view key;
  CHECK(ts_json_member(&r, &key));
  CHECK(!ts_json_member(&r, &key));
  CHECK_STR(err.msg, "t.json:1:27: invalid literal (true, false or null)");
  ts_json_reader_cleanup(&r);

  OPEN(&r, "[[1, [2, 3], {\"x\": [4]}], [5]]", &err);
  REQUIRE(ts_json_array_begin(&r) == TS_OK);
  REQUIRE(ts_json_element(&r));
  REQUIRE(ts_json_array_begin(&r) == TS_OK);
  REQUIRE(ts_json_element(&r));
  int64_t v = 0;
  CHECK_INT(ts_json_read_int(&r, &v), TS_OK);
  REQUIRE(ts_json_element(&r));
  REQUIRE(ts_json_array_begin(&r) == TS_OK);
  CHECK_INT(ts_json_depth(&r), 3);
  CHECK_INT(ts_json_unwind(&r, 1), TS_OK);
  CHECK_INT(ts_json_depth(&r), 1);
  REQUIRE(ts_json_element(&r));
  REQUIRE(ts_json_array_begin(&r) == TS_OK);
  REQUIRE(ts_json_element(&r));
  CHECK_INT(ts_json_read_int(&r, &v), TS_OK);
  CHECK_INT(v, 5);
  CHECK_INT(ts_json_end(&r), TS_OK);
  ts_json_reader_cleanup(&r);
}

static void nesting_is_capped(void)
{
  /* 64 levels are fine, read or skipped. */
  char deep[2 * TS_JSON_MAX_DEPTH + 3];
  memset(deep, '[', TS_JSON_MAX_DEPTH);
  memset(deep + TS_JSON_MAX_DEPTH, ']', TS_JSON_MAX_DEPTH);
  check_error(__LINE__, deep, 2 * TS_JSON_MAX_DEPTH, TS_OK, "");
  /* 65 are not, wherever they are. */
  memset(deep, '[', TS_JSON_MAX_DEPTH + 1);
  memset(deep + TS_JSON_MAX_DEPTH + 1, ']', TS_JSON_MAX_DEPTH + 1);
  check_error(__LINE__, deep, 2 * TS_JSON_MAX_DEPTH + 2, TS_ERR_LIMIT,
              "t.json:1:65: nested deeper than 64 levels");
  struct ts_json_reader r;
  struct ts_error err = {0};
  ts_json_reader_init(&r, "t.json", deep, 2 * TS_JSON_MAX_DEPTH + 2, &err);
  for (int i = 0; i < TS_JSON_MAX_DEPTH; i++) {
    REQUIRE(ts_json_array_begin(&r) == TS_OK);
    REQUIRE(ts_json_element(&r));
  }
  CHECK_INT(ts_json_array_begin(&r), TS_ERR_LIMIT);
  ts_json_reader_cleanup(&r);
  /* A megabyte of '[' or of '{"a":' costs no stack. */
  size_t n = (size_t)1 << 20;
  char *big = malloc(n);
  REQUIRE(big != NULL);
  memset(big, '[', n);
  check_error(__LINE__, big, n, TS_ERR_LIMIT,
              "t.json:1:65: nested deeper than 64 levels");
  for (size_t i = 0; i + 5 <= n; i += 5)
    memcpy(big + i, "{\"a\":", 5);
  check_error(__LINE__, big, n - n % 5, TS_ERR_LIMIT,
              "t.json:1:321: nested deeper than 64 levels");
  free(big);
}

/* Misuse is a bug, reported as one rather than read as something else. */
static void misuse_is_an_internal_error(void)
{
  struct ts_json_reader r;
  struct ts_error err = {0};
  OPEN(&r, "[1]", &err);
  struct ts_json_view key;
  REQUIRE(ts_json_array_begin(&r) == TS_OK);
  CHECK(!ts_json_member(&r, &key));
  CHECK_INT(ts_json_result(&r), TS_ERR_INTERNAL);
  ts_json_reader_cleanup(&r);

  OPEN(&r, "[]", &err);
  REQUIRE(ts_json_array_begin(&r) == TS_OK);
  CHECK_INT(ts_json_skip(&r), TS_ERR_INTERNAL);
  ts_json_reader_cleanup(&r);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
      TEST(walks_a_document),
      TEST(escapes_decode_to_utf8),
      TEST(specials_are_found_at_every_offset),
      TEST(numbers_at_the_int64_limits),
      TEST(malformed_text_is_located),
      TEST(wrong_types_are_named),
      TEST(escaped_keys_and_views),
      TEST(skipping_and_unwinding),
      TEST(nesting_is_capped),
      TEST(misuse_is_an_internal_error),
      TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

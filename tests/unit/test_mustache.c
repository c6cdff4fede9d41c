/*
 * The template engine beyond the official spec: escaping per output type,
 * number formatting, names and falsey values, standalone rules, error
 * messages, limits, the search path, streaming, and pathological inputs
 * (each bounded in time; none of them asserts a duration).
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mustache.h"
#include "util/buf.h"
#include "util/fs.h"

/* Renders `src` (compiled as "t") with `json` in `env`; returns the output
 * (caller frees) or NULL with *err filled. */
static char *render_env(struct ts_mustache_env *env, const char *src,
                        enum ts_mustache_escape escape, const char *json,
                        struct ts_error *err)
{
  json_error_t jerr;
  json_t *data = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (!data) {
    ts_error_set(err, TS_ERR_PARSE, "bad test JSON: %s", jerr.text);
    return NULL;
  }
  const struct ts_mustache *tpl;
  struct ts_buf out;
  ts_buf_init(&out, 0);
  char *result = NULL;
  if (ts_mustache_compile_string(env, "t", src, strlen(src), escape, &tpl,
                                 err) == TS_OK &&
      ts_mustache_render_to_buf(tpl, data, &out, err) == TS_OK)
    result = ts_buf_detach(&out);
  ts_buf_cleanup(&out);
  json_decref(data);
  return result;
}

/* The same in a fresh environment with in-memory partials given as
 * name, source, ..., NULL. */
static char *render_p(const char *src, enum ts_mustache_escape escape,
                      const char *json, struct ts_error *err, ...)
{
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  va_list ap;
  va_start(ap, err);
  const char *name;
  while ((name = va_arg(ap, const char *))) {
    const char *psrc = va_arg(ap, const char *);
    ts_mustache_env_add_partial(env, name, psrc, strlen(psrc), err);
  }
  va_end(ap);
  char *out = render_env(env, src, escape, json, err);
  ts_mustache_env_free(env);
  return out;
}

#define RENDERS(src, json, expected)                                           \
  do {                                                                         \
    struct ts_error e_ = {0};                                                  \
    char *got_ = render_p((src), TS_MUSTACHE_ESCAPE_HTML, (json), &e_,         \
                          (const char *)NULL);                                 \
    CHECK_STR(got_ ? got_ : e_.msg, (expected));                               \
    free(got_);                                                                \
  } while (0)

#define RENDERS_AS(mode, src, json, expected)                                  \
  do {                                                                         \
    struct ts_error e_ = {0};                                                  \
    char *got_ = render_p((src), (mode), (json), &e_, (const char *)NULL);     \
    CHECK_STR(got_ ? got_ : e_.msg, (expected));                               \
    free(got_);                                                                \
  } while (0)

/* Compiling `src` fails with exactly `message`. */
#define FAILS(src, message)                                                    \
  do {                                                                         \
    struct ts_error e_ = {0};                                                  \
    char *got_ = render_p((src), TS_MUSTACHE_ESCAPE_HTML, "{}", &e_,           \
                          (const char *)NULL);                                 \
    CHECK(got_ == NULL);                                                       \
    CHECK_STR(e_.msg, (message));                                              \
    free(got_);                                                                \
  } while (0)

/* A scratch folder under /tmp, removed by rm_tree. */
static void make_dir(char path[64])
{
  snprintf(path, 64, "/tmp/ts-mustache-XXXXXX");
  if (!mkdtemp(path))
    path[0] = '\0';
}

static void write_file(const char *dir, const char *name, const char *text)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct ts_error err;
  if (ts_fs_write_atomic(path, text, strlen(text), &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "%s", err.msg);
}

/* ---------------------------------------------------------------- */

static void escape_html(void)
{
  RENDERS("{{x}}", "{\"x\": \"a & b < c > d \\\" e ' f\"}",
          "a &amp; b &lt; c &gt; d &quot; e &#39; f");
  RENDERS("{{{x}}}|{{&x}}", "{\"x\": \"<&'\\\">\"}", "<&'\">|<&'\">");
  RENDERS("{{x}}", "{\"x\": \"plain text, no change\"}",
          "plain text, no change");
}

/* The escaper tests 16 bytes at a time, loads short strings as two
 * halves that may overlap, and copies short runs the same way: every
 * length up to 40, with an escaped character (or a near miss, a byte
 * one bit away from one) at every position, and one at each end. */
static void escape_html_every_length(void)
{
  static const char specials[] = "&<>\"'%=?$(";
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  const struct ts_mustache *tpl;
  struct ts_error err = {0};
  REQUIRE(ts_mustache_compile_string(env, "t", "[{{x}}|{{{x}}}]", 15,
                                     TS_MUSTACHE_ESCAPE_HTML, &tpl,
                                     &err) == TS_OK);
  struct ts_buf out, want;
  ts_buf_init(&out, 0);
  ts_buf_init(&want, 0);
  char text[41];
  bool ok = true; /* one failure says enough */
  for (size_t len = 0; ok && len <= 40; len++) {
    for (size_t pos = 0; ok && pos <= len; pos++) {
      for (const char *c = specials; ok && *c; c++) {
        for (size_t k = 0; k < len; k++)
          text[k] = (char)('a' + k % 26);
        if (pos < len)
          text[pos] = *c;
        if (len > 1 && *c == '"')
          text[len - 1] = '<'; /* a second one, at the end */
        text[len] = '\0';
        ts_buf_reset(&want);
        ts_buf_append(&want, "[", 1);
        for (size_t k = 0; k < len; k++) {
          const char *e = text[k] == '&'    ? "&amp;"
                          : text[k] == '<'  ? "&lt;"
                          : text[k] == '>'  ? "&gt;"
                          : text[k] == '"'  ? "&quot;"
                          : text[k] == '\'' ? "&#39;"
                                            : NULL;
          if (e)
            ts_buf_append(&want, e, strlen(e));
          else
            ts_buf_append(&want, &text[k], 1);
        }
        ts_buf_printf(&want, "|%s]", text);
        json_t *data = json_pack("{s:s}", "x", text);
        ts_buf_reset(&out);
        ok = ts_mustache_render_to_buf(tpl, data, &out, &err) == TS_OK &&
             !strcmp(ts_buf_cstr(&out), ts_buf_cstr(&want));
        if (!ok)
          CHECK_STR(ts_buf_cstr(&out), ts_buf_cstr(&want));
        json_decref(data);
      }
    }
  }
  ts_buf_cleanup(&out);
  ts_buf_cleanup(&want);
  ts_mustache_env_free(env);
}

static void escape_json(void)
{
  RENDERS_AS(
      TS_MUSTACHE_ESCAPE_JSON, "\"{{x}}\"",
      "{\"x\": \"q\\\" b\\\\ n\\n t\\t c\\u0001 \\u001f "
      "</script> & \\u2028\\u2029 \\u00e9\\u20ac\"}",
      "\"q\\\" b\\\\ n\\n t\\t c\\u0001 \\u001f "
      "\\u003c/script\\u003e \\u0026 \\u2028\\u2029 \xc3\xa9\xe2\x82\xac\"");
  /* U+2013 shares its first byte with U+2028: left alone. */
  RENDERS_AS(TS_MUSTACHE_ESCAPE_JSON, "{{x}}", "{\"x\": \"\\u2013\"}",
             "\xe2\x80\x93");
  RENDERS_AS(TS_MUSTACHE_ESCAPE_JSON, "{{{x}}}", "{\"x\": \"<\\\"\\n>\"}",
             "<\"\n>");
}

static void escape_xml(void)
{
  RENDERS_AS(TS_MUSTACHE_ESCAPE_XML, "{{x}}",
             "{\"x\": \"& < > \\\" ' \\t\\n\\r \\u0001 \\u000b \\u0000 "
             "\\uffff \\ufffe \\u00e9 \\ud83d\\ude00\"}",
             "&amp; &lt; &gt; &quot; &apos; \t\n\r \xef\xbf\xbd \xef\xbf\xbd "
             "\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd \xc3\xa9 "
             "\xf0\x9f\x98\x80");
}

static void escape_text(void)
{
  RENDERS_AS(TS_MUSTACHE_ESCAPE_NONE, "{{x}}", "{\"x\": \"<a href='x'>&\"}",
             "<a href='x'>&");
}

static void escape_for_name(void)
{
  CHECK_INT(ts_mustache_escape_for_name("region.html.mustache"),
            TS_MUSTACHE_ESCAPE_HTML);
  CHECK_INT(ts_mustache_escape_for_name("api/snapshot.json.mustache"),
            TS_MUSTACHE_ESCAPE_JSON);
  CHECK_INT(ts_mustache_escape_for_name("feed.xml.mustache"),
            TS_MUSTACHE_ESCAPE_XML);
  CHECK_INT(ts_mustache_escape_for_name("feed.atom.mustache"),
            TS_MUSTACHE_ESCAPE_XML);
  CHECK_INT(ts_mustache_escape_for_name("robots.txt.mustache"),
            TS_MUSTACHE_ESCAPE_NONE);
  CHECK_INT(ts_mustache_escape_for_name("page.mustache"),
            TS_MUSTACHE_ESCAPE_HTML);
  CHECK_INT(ts_mustache_escape_for_name("x.json"), TS_MUSTACHE_ESCAPE_JSON);
  CHECK_INT(ts_mustache_escape_for_name("v1.json/page.mustache"),
            TS_MUSTACHE_ESCAPE_HTML);
}

static void numbers(void)
{
  RENDERS("{{a}} {{b}} {{c}} {{d}}",
          "{\"a\": 1.1, \"b\": 1e21, \"c\": 1e20, "
          "\"d\": -0.0}",
          "1.1 1e+21 100000000000000000000 0");
  RENDERS("{{a}} {{b}} {{c}}",
          "{\"a\": 9007199254740993, \"b\": -9223372036854775808, "
          "\"c\": 9223372036854775807}",
          "9007199254740993 -9223372036854775808 9223372036854775807");
  RENDERS("{{a}} {{b}} {{c}} {{d}} {{e}}",
          "{\"a\": 0.30000000000000004, \"b\": 5e-7, \"c\": 0.000001, "
          "\"d\": 1.0, \"e\": -1.5e-10}",
          "0.30000000000000004 5e-7 0.000001 1 -1.5e-10");
  RENDERS("{{a}} {{b}} {{c}}",
          "{\"a\": 1.7976931348623157e308, \"b\": 5e-324, \"c\": 123.456}",
          "1.7976931348623157e+308 5e-324 123.456");
  char buf[32];
  size_t n = ts_mustache_format_double(0.1 + 0.2, buf);
  CHECK_INT(n, 19);
  CHECK(!memcmp(buf, "0.30000000000000004", 19));
  n = ts_mustache_format_double(1.0 / 3.0, buf);
  CHECK(n == 18 && !memcmp(buf, "0.3333333333333333", 18));
  n = ts_mustache_format_double(2.5e-6, buf);
  CHECK(n == 9 && !memcmp(buf, "0.0000025", 9));
}

static double from_bits(unsigned long long bits)
{
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

static void check_format(double v, const char *want)
{
  char buf[33];
  size_t n = ts_mustache_format_double(v, buf);
  buf[n] = '\0';
  CHECK_STR(buf, want);
}

/* Regressions found by comparing with JavaScript's String(x) on 1.2 million
 * doubles: where two 16-digit decimals read back as the same double the
 * closer one is printed, and next to powers of two (lopsided rounding
 * intervals) 16 digits still suffice. */
static void numbers_match_javascript(void)
{
  check_format(from_bits(0x42d2b3a614755d0full), "82251179218292.23");
  check_format(from_bits(0x4191203287a0d800ull), "71830689.90707397");
  check_format(from_bits(0x0060000000000000ull), "7.120236347223045e-307");
  check_format(from_bits(0x0100000000000000ull), "7.291122019556398e-304");
  check_format(from_bits(0x13e0000000000000ull), "5.940911144672375e-213");
  check_format(98.5, "98.5");
  check_format(-0.001, "-0.001");
  check_format(1e-7, "1e-7");
  check_format(123e-20, "1.23e-18");
  check_format(1e15, "1000000000000000");
  check_format(999999999999999.9, "999999999999999.9");
  /* Every output reads back as the same double, in at most 17 digits. */
  unsigned long long x = 88172645463325252ull;
  int bad = 0;
  for (int i = 0; i < 100000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    double v = from_bits(x);
    if (!isfinite(v))
      continue;
    char buf[33];
    size_t n = ts_mustache_format_double(v, buf);
    buf[n] = '\0';
    if (strtod(buf, NULL) != v || n > 25) /* -0.00000 + 17 digits */
      bad++;
  }
  CHECK_INT(bad, 0);
}

static void other_values(void)
{
  RENDERS("{{t}} {{f}} [{{n}}] [{{missing}}]",
          "{\"t\": true, \"f\": false, \"n\": null}", "true false [] []");
  /* Arrays and objects print as compact JSON, escaped like text. */
  RENDERS("{{a}}", "{\"a\": [1, \"<b>\", null, {\"k\": true}]}",
          "[1,&quot;\\u003cb\\u003e&quot;,null,{&quot;k&quot;:true}]");
  RENDERS_AS(TS_MUSTACHE_ESCAPE_JSON, "{\"tags\": {{{tags}}}}",
             "{\"tags\": [\"a\", \"b\\\"c\", 1.5]}",
             "{\"tags\": [\"a\",\"b\\\"c\",1.5]}");
  RENDERS("{{{o}}}", "{\"o\": {}}", "{}");
}

static void dotted_names(void)
{
  RENDERS("{{a.b.c}}", "{\"a\": {\"b\": {\"c\": \"deep\"}}}", "deep");
  /* The first part is found up the stack, the rest only inside it. */
  RENDERS("{{#x}}{{a.b}}{{/x}}", "{\"a\": {\"b\": \"outer\"}, \"x\": {}}",
          "outer");
  RENDERS("{{#x}}[{{a.b}}]{{/x}}",
          "{\"a\": {\"b\": \"outer\"}, \"x\": {\"a\": {}}}", "[]");
  /* Broken chains are empty, never an error. */
  RENDERS("[{{a.b.c}}][{{a.x.y}}][{{s.len}}]",
          "{\"a\": {\"b\": 1}, \"s\": \"text\"}", "[][][]");
  /* Array elements by index. */
  RENDERS("{{items.1.title}}|{{items.0}}|{{items.9}}|{{items.01}}",
          "{\"items\": [\"first\", {\"title\": \"second\"}]}",
          "second|first||");
  RENDERS("{{#list}}{{.}},{{/list}}", "{\"list\": [1, \"two\", 3.5]}",
          "1,two,3.5,");
  /* A key whose value is null still hides the outer one. */
  RENDERS("{{#x}}[{{a}}]{{/x}}", "{\"a\": \"outer\", \"x\": {\"a\": null}}",
          "[]");
}

static void falsey_values(void)
{
  const char *tpl = "{{#v}}yes{{/v}}{{^v}}no{{/v}}";
  const char *falsey[] = {"false", "null", "\"\"", "0", "0.0", "-0.0", "[]"};
  for (size_t i = 0; i < sizeof falsey / sizeof *falsey; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"v\": %s}", falsey[i]);
    RENDERS(tpl, json, "no");
  }
  RENDERS(tpl, "{}", "no");
  const char *truthy[] = {"true", "\"0\"", "\" \"", "1",      "-1",
                          "0.5",  "{}",    "[0]",   "[false]"};
  for (size_t i = 0; i < sizeof truthy / sizeof *truthy; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"v\": %s}", truthy[i]);
    RENDERS(tpl, json, "yes");
  }
  /* Non-list truthy values are pushed onto the context. */
  RENDERS("{{#v}}<{{.}}>{{/v}}", "{\"v\": \"str\"}", "<str>");
  RENDERS("{{#v}}<{{.}}>{{/v}}", "{\"v\": 42}", "<42>");
  RENDERS("{{#v}}{{k}}{{/v}}", "{\"v\": {\"k\": \"pushed\"}}", "pushed");
}

static void standalone_rules(void)
{
  RENDERS("a\r\n  {{#s}}\r\n  b\r\n  {{/s}}\r\nc", "{\"s\": true}",
          "a\r\n  b\r\nc");
  /* Empty lines of an indented partial are not indented. */
  {
    struct ts_error e = {0};
    char *got = render_p("<ul>\n  {{>items}}\n</ul>\n", TS_MUSTACHE_ESCAPE_HTML,
                         "{\"a\": \"x\\ny\"}", &e, "items",
                         "<li>{{a}}</li>\n\n<li>2</li>\n", NULL);
    CHECK_STR(got ? got : e.msg,
              "<ul>\n  <li>x\ny</li>\n\n  <li>2</li>\n</ul>\n");
    free(got);
  }
  /* Indentation accumulates through nested standalone partials. */
  {
    struct ts_error e = {0};
    char *got =
        render_p("{{#s}}\n  {{>outer}}\n{{/s}}\n", TS_MUSTACHE_ESCAPE_HTML,
                 "{\"s\": [1]}", &e, "outer", "<div>\n  {{>inner}}\n</div>\n",
                 "inner", "<p>\n{{.}}\n</p>\n", NULL);
    CHECK_STR(got ? got : e.msg,
              "  <div>\n    <p>\n    1\n    </p>\n  </div>\n");
    free(got);
  }
  /* Two tags on one line are not standalone. */
  RENDERS("  {{#s}}{{/s}}\nx", "{\"s\": true}", "  \nx");
  RENDERS("{{! a }}{{! b }}\nx", "{}", "\nx");
}

static void inheritance(void)
{
  struct ts_error e = {0};
  char *got = render_p("{{<layout}}\n"
                       "  {{$title}}Item {{id}}{{/title}}\n"
                       "  {{$body}}\n"
                       "    <p>{{text}}</p>\n"
                       "  {{/body}}\n"
                       "{{/layout}}\n",
                       TS_MUSTACHE_ESCAPE_HTML,
                       "{\"id\": 7, \"text\": \"<hi>\"}", &e, "layout",
                       "<title>{{$title}}Trends{{/title}}</title>\n"
                       "<main>\n"
                       "  {{$body}}\n"
                       "  nothing here\n"
                       "  {{/body}}\n"
                       "</main>\n",
                       NULL);
  CHECK_STR(got ? got : e.msg, "<title>Item 7</title>\n"
                               "<main>\n"
                               "  <p>&lt;hi&gt;</p>\n"
                               "</main>\n");
  free(got);
  /* A section may be named with a star; its closing tag matches. */
  RENDERS("{{#*s}}[{{.}}]{{/*s}}", "{\"*s\": [1, 2]}", "[1][2]");
  /* Dynamic parents work like dynamic partials. */
  got = render_p("{{<*kind}}{{$b}}B{{/b}}{{/*kind}}", TS_MUSTACHE_ESCAPE_HTML,
                 "{\"kind\": \"p\"}", &e, "p", "[{{$b}}{{/b}}]", NULL);
  CHECK_STR(got ? got : e.msg, "[B]");
  free(got);
}

static void partial_escaping(void)
{
  /* An untyped partial escapes like the template that includes it... */
  struct ts_error e = {0};
  char *got = render_p("{{>p}}", TS_MUSTACHE_ESCAPE_JSON, "{\"x\": \"<\\\"\"}",
                       &e, "p", "{{x}}", NULL);
  CHECK_STR(got ? got : e.msg, "\\u003c\\\"");
  free(got);
  /* ...a typed one by its own type... */
  got = render_p("{{>p.html}}", TS_MUSTACHE_ESCAPE_JSON, "{\"x\": \"<\\\"\"}",
                 &e, "p.html", "{{x}}", NULL);
  CHECK_STR(got ? got : e.msg, "&lt;&quot;");
  free(got);
  /* ...and NAME.TYPE is preferred over NAME for the including type. */
  got = render_p("{{>card}}", TS_MUSTACHE_ESCAPE_JSON, "{}", &e, "card",
                 "plain", "card.json", "typed", NULL);
  CHECK_STR(got ? got : e.msg, "typed");
  free(got);
  got = render_p("{{>card}}", TS_MUSTACHE_ESCAPE_HTML, "{}", &e, "card",
                 "plain", "card.json", "typed", NULL);
  CHECK_STR(got ? got : e.msg, "plain");
  free(got);
}

/* ---------------------------------------------------------------- */
/* Errors: the exact text, with FILE:LINE:COL and where things opened. */

static void error_messages(void)
{
  FAILS("<ul>\n  {{#items}}\n  <li>{{.}}</li>\n",
        "t:4:1: unclosed section \"items\" (opened at 2:3)");
  FAILS("{{#items}}\n  {{#tags}}x\n{{/items}}",
        "t:3:1: closing tag \"items\" does not match open section \"tags\" "
        "(opened at 2:3)");
  FAILS("{{$b}}x{{/c}}",
        "t:1:8: closing tag \"c\" does not match open block \"b\" (opened at "
        "1:1)");
  FAILS("{{<p}}\n", "t:2:1: unclosed parent \"p\" (opened at 1:1)");
  FAILS("x\n {{/items}}", "t:2:2: closing tag \"items\" has no open section");
  FAILS("a {{name\nb",
        "t:1:3: unterminated tag \"{{name\" (no closing \"}}\")");
  FAILS("{{{name}}",
        "t:1:1: unterminated tag \"{{{name}}\" (no closing \"}}}\")");
  FAILS("ok\n{{=<% =}}",
        "t:2:1: bad delimiter change \"{{=<% =}}\": expected two delimiters "
        "separated by whitespace");
  FAILS("{{=<% %> x=}}",
        "t:1:1: bad delimiter change \"{{=<% %> x=}}\": expected two "
        "delimiters separated by whitespace");
  FAILS("{{= =}}", "t:1:1: bad delimiter change \"{{= =}}\": expected two "
                   "delimiters separated by whitespace");
  FAILS("{{=<% %>=}}<%x",
        "t:1:12: unterminated tag \"<%x\" (no closing \"%>\")");
  FAILS("a{{}}", "t:1:2: empty tag name");
  FAILS("{{# }}", "t:1:1: empty tag name");
  FAILS("{{a b}}", "t:1:1: tag name \"a b\" contains whitespace");
  FAILS("{{a..b}}", "t:1:1: bad name \"a..b\": empty part between dots");
  FAILS("{{.a}}", "t:1:1: bad name \".a\": empty part between dots");
  /* Columns count characters, not bytes. */
  FAILS("\xc3\xa9\xc3\xa9 {{/x}}",
        "t:1:4: closing tag \"x\" has no open section");
  FAILS("{{> ../../etc/passwd}}",
        "t:1:1: partial name \"../../etc/passwd\" is not allowed: names must "
        "stay inside the template folders");
  FAILS("{{</abs}}{{/abs}}",
        "t:1:1: partial name \"/abs\" is not allowed: names must stay inside "
        "the template folders");
}

static void nesting_cap_error(void)
{
  struct ts_mustache_options o = {.max_section_depth = 3};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  struct ts_error e = {0};
  char *got = render_env(env, "{{#a}}{{#b}}{{#c}}{{/c}}{{/b}}{{/a}}",
                         TS_MUSTACHE_ESCAPE_HTML, "{}", &e);
  CHECK_STR(got ? got : e.msg, "");
  free(got);
  got = render_env(env, "{{#a}}{{#b}}\n {{#c}}{{#d}}{{/d}}{{/c}}{{/b}}{{/a}}",
                   TS_MUSTACHE_ESCAPE_HTML, "{}", &e);
  CHECK(got == NULL);
  CHECK_STR(e.msg, "t:2:8: sections nested deeper than 3");
  free(got);
  ts_mustache_env_free(env);
}

static void file_errors(void)
{
  char dir[64];
  make_dir(dir);
  REQUIRE(dir[0]);
  write_file(dir, "page.html.mustache",
             "<h1>{{title}}</h1>\n{{#items}}\n  {{>card}}\n{{/items}}\n");
  write_file(dir, "card.mustache", "<li>\n  {{#tags}}{{.}}{{/tag}}\n</li>\n");
  char page[128], msg[512];
  snprintf(page, sizeof page, "%s/page.html.mustache", dir);
  const char *dirs[] = {dir};
  struct ts_mustache_options o = {.dirs = dirs, .ndirs = 1};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  const struct ts_mustache *tpl = NULL;
  struct ts_error e = {0};
  /* A partial that fails to compile reports its own position. */
  CHECK_INT(ts_mustache_compile_file(env, page, &tpl, &e), TS_ERR_PARSE);
  snprintf(msg, sizeof msg,
           "%s/card.mustache:2:17: closing tag \"tag\" does not match open "
           "section \"tags\" (opened at 2:3)",
           dir);
  CHECK_STR(e.msg, msg);
  /* The failed compile left nothing behind: fixed on disk, it works. */
  write_file(dir, "card.mustache", "<li>{{.}}</li>\n");
  CHECK_INT(ts_mustache_compile_file(env, page, &tpl, &e), TS_OK);
  const struct ts_mustache *again = NULL;
  CHECK_INT(ts_mustache_compile_file(env, page, &again, &e), TS_OK);
  CHECK(tpl == again); /* cached */
  ts_mustache_env_free(env);

  /* Missing partials: empty normally, an error in check mode. */
  write_file(dir, "uses.html.mustache", "a\n{{>nope}}\nb");
  snprintf(page, sizeof page, "%s/uses.html.mustache", dir);
  env = ts_mustache_env_new(&o);
  CHECK_INT(ts_mustache_compile_file(env, page, &tpl, &e), TS_OK);
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_mustache_render_to_buf(tpl, NULL, &out, &e), TS_OK);
  CHECK_STR(ts_buf_cstr(&out), "a\nb");
  ts_buf_cleanup(&out);
  ts_mustache_env_free(env);
  o.check = true;
  env = ts_mustache_env_new(&o);
  CHECK_INT(ts_mustache_compile_file(env, page, &tpl, &e), TS_ERR_NOTFOUND);
  snprintf(msg, sizeof msg,
           "%s/uses.html.mustache:2:1: partial \"nope\" not found (looked for "
           "nope.html.mustache and nope.mustache in %s)",
           dir, dir);
  CHECK_STR(e.msg, msg);
  ts_mustache_env_free(env);

  /* A missing root file names itself. */
  env = ts_mustache_env_new(&o);
  snprintf(page, sizeof page, "%s/none.html.mustache", dir);
  CHECK_INT(ts_mustache_compile_file(env, page, &tpl, &e), TS_ERR_NOTFOUND);
  CHECK(strstr(e.msg, "none.html.mustache: No such file") != NULL);
  CHECK_INT(ts_mustache_compile_file(env, "absent", &tpl, &e), TS_ERR_NOTFOUND);
  snprintf(msg, sizeof msg,
           "template \"absent\" not found (looked for absent.mustache in %s)",
           dir);
  CHECK_STR(e.msg, msg);
  ts_mustache_env_free(env);
  REMOVE_TREE(dir);
}

static void append_line(void *ctx, const char *message)
{
  ts_buf_append_str(ctx, message);
}

static void check_dir_reports_every_file(void)
{
  char dir[64], sub[96];
  make_dir(dir);
  REQUIRE(dir[0]);
  snprintf(sub, sizeof sub, "%s/partials", dir);
  struct ts_error e;
  CHECK_INT(ts_fs_mkdirs(sub, &e), TS_OK);
  write_file(dir, "a.html.mustache", "{{#x}}");
  write_file(dir, "b.html.mustache", "{{>partials/p}} {{>partials/q}}");
  write_file(dir, "c.html.mustache", "fine {{>partials/q}}");
  write_file(sub, "q.mustache", "{{/y}}");
  write_file(dir, "notes.txt", "{{#not a template");
  struct ts_buf report;
  ts_buf_init(&report, 0);
  size_t n = 0, errors = 0;
  CHECK_INT(ts_mustache_check_dir(dir, append_line, &report, &n, &errors, &e),
            TS_OK);
  CHECK_INT(n, 4);
  CHECK_INT(errors, 3);
  char want[1024];
  snprintf(want, sizeof want,
           "%s/a.html.mustache:1:7: unclosed section \"x\" (opened at 1:1)"
           "%s/b.html.mustache:1:1: partial \"partials/p\" not found (looked "
           "for partials/p.html.mustache and partials/p.mustache in %s)"
           "%s/partials/q.mustache:1:1: closing tag \"y\" has no open section",
           dir, dir, dir, dir);
  CHECK_STR(ts_buf_cstr(&report), want);
  ts_buf_cleanup(&report);
  CHECK_INT(
      ts_mustache_check_dir("/nonexistent/ts", NULL, NULL, &n, &errors, &e),
      TS_ERR_NOTFOUND);
  REMOVE_TREE(dir);
}

/* ---------------------------------------------------------------- */
/* Limits.                                                             */

static void recursive_partial_depth_50(void)
{
  /* {"content": 0, "nodes": [{"content": 1, "nodes": [...]}]} 50 deep */
  json_t *root = json_object(), *node = root;
  for (int i = 0; i < 50; i++) {
    json_object_set_new(node, "content", json_integer(i));
    json_t *child = json_object();
    json_t *list = json_array();
    if (i < 49)
      json_array_append_new(list, child);
    else
      json_decref(child);
    json_object_set_new(node, "nodes", list);
    node = i < 49 ? child : node;
  }
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  const char *p = "{{content}}<{{#nodes}}{{>node}}{{/nodes}}>";
  struct ts_error e = {0};
  ts_mustache_env_add_partial(env, "node", p, strlen(p), &e);
  const struct ts_mustache *tpl;
  CHECK_INT(ts_mustache_compile_string(env, "t", "{{>node}}", 9,
                                       TS_MUSTACHE_ESCAPE_HTML, &tpl, &e),
            TS_OK);
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_mustache_render_to_buf(tpl, root, &out, &e), TS_OK);
  CHECK(out.len > 150 && !strncmp(ts_buf_cstr(&out), "0<1<2<", 6));
  CHECK(strstr(ts_buf_cstr(&out), "48<49<>>") != NULL);
  ts_buf_cleanup(&out);
  ts_mustache_env_free(env);
  json_decref(root);
}

static void infinite_recursion_is_an_error(void)
{
  struct ts_error e = {0};
  char *got = render_p("{{>node}}", TS_MUSTACHE_ESCAPE_HTML, "{}", &e, "node",
                       "x{{>node}}", NULL);
  CHECK(got == NULL);
  CHECK_INT(e.code, TS_ERR_LIMIT);
  CHECK_STR(e.msg,
            "t: partials nested deeper than 64 (via \"node\" \xe2\x86\x92 "
            "\"node\" \xe2\x86\x92 \"node\" \xe2\x86\x92 ...)");
  free(got);
  /* A block that overrides itself recurses too, and is caught. */
  got = render_p("{{<p}}{{$b}}[{{$b}}{{/b}}]{{/b}}{{/p}}",
                 TS_MUSTACHE_ESCAPE_HTML, "{}", &e, "p", "{{$b}}{{/b}}", NULL);
  CHECK(got == NULL);
  CHECK(strstr(e.msg, "nested deeper than 64") != NULL);
  free(got);
  /* The cap is an option. */
  struct ts_mustache_options o = {.max_partial_depth = 3};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  ts_mustache_env_add_partial(env, "a", "{{>b}}", 6, &e);
  ts_mustache_env_add_partial(env, "b", "{{>c}}", 6, &e);
  ts_mustache_env_add_partial(env, "c", "C{{>d}}", 7, &e);
  ts_mustache_env_add_partial(env, "d", "D", 1, &e);
  got = render_env(env, "{{>b}}", TS_MUSTACHE_ESCAPE_HTML, "{}", &e);
  CHECK_STR(got ? got : e.msg, "CD");
  free(got);
  got = render_env(env, "{{>a}}", TS_MUSTACHE_ESCAPE_HTML, "{}", &e);
  CHECK(got == NULL);
  CHECK_STR(e.msg, "t: partials nested deeper than 3 (via \"a\" \xe2\x86\x92 "
                   "\"b\" \xe2\x86\x92 \"c\" \xe2\x86\x92 ...)");
  free(got);
  ts_mustache_env_free(env);
}

static void output_cap(void)
{
  struct ts_mustache_options o = {.max_output = 100};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  struct ts_error e = {0};
  char *got = render_env(env, "{{#l}}0123456789{{/l}}", TS_MUSTACHE_ESCAPE_HTML,
                         "{\"l\": [1,2,3,4,5,6,7,8,9,10]}", &e);
  CHECK_INT(got ? strlen(got) : 0, 100); /* exactly the cap is fine */
  free(got);
  got = render_env(env, "{{#l}}0123456789{{/l}}!", TS_MUSTACHE_ESCAPE_HTML,
                   "{\"l\": [1,2,3,4,5,6,7,8,9,10]}", &e);
  CHECK(got == NULL);
  CHECK_INT(e.code, TS_ERR_LIMIT);
  CHECK_STR(e.msg, "t: output exceeds 100 bytes");
  free(got);
  /* Interpolated JSON counts too. */
  got = render_env(env, "{{{a}}}", TS_MUSTACHE_ESCAPE_HTML,
                   "{\"a\": [\"0123456789012345678901234567890123456789\", "
                   "\"0123456789012345678901234567890123456789\", "
                   "\"0123456789012345678901234567890123456789\"]}",
                   &e);
  CHECK(got == NULL);
  CHECK_STR(e.msg, "t: output exceeds 100 bytes");
  free(got);
  ts_mustache_env_free(env);
}

static void work_cap(void)
{
  /* Nested loops multiply: 10^4 steps with output... */
  struct ts_mustache_options o = {.max_steps = 1000};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  struct ts_error e = {0};
  const char *loops = "{{#l}}{{#l}}{{#l}}{{#l}}x{{/l}}{{/l}}{{/l}}{{/l}}";
  const char *ten = "{\"l\": [1,2,3,4,5,6,7,8,9,10]}";
  char *got = render_env(env, loops, TS_MUSTACHE_ESCAPE_HTML, ten, &e);
  CHECK(got == NULL);
  CHECK_STR(e.msg, "t: rendering takes more than 1000 steps (loops or "
                   "recursion too large)");
  free(got);
  ts_mustache_env_free(env);
  /* ...and partials recursing twice over deep data double at each level
   * while writing nothing, which the output cap cannot see. */
  json_t *data = json_object(), *node = data;
  for (int i = 0; i < 40; i++) {
    json_t *child = json_object();
    json_object_set_new(node, "x", child);
    node = child;
  }
  o.max_steps = 100000;
  env = ts_mustache_env_new(&o);
  const char *p = "{{#x}}{{>a}}{{>a}}{{/x}}";
  ts_mustache_env_add_partial(env, "a", p, strlen(p), &e);
  const struct ts_mustache *tpl;
  REQUIRE(ts_mustache_compile_string(env, "t", "{{>a}}", 6,
                                     TS_MUSTACHE_ESCAPE_HTML, &tpl,
                                     &e) == TS_OK);
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_mustache_render_to_buf(tpl, data, &out, &e), TS_ERR_LIMIT);
  CHECK_INT(out.len, 0);
  ts_buf_cleanup(&out);
  json_decref(data);
  ts_mustache_env_free(env);
  /* The default is far above what a real page needs. */
  char *all = render_p(loops, TS_MUSTACHE_ESCAPE_HTML, ten, &e, NULL);
  CHECK_INT(all ? strlen(all) : 0, 10000);
  free(all);
}

/* ---------------------------------------------------------------- */
/* The search path.                                                    */

static void search_path_order_and_fallback(void)
{
  char user[64], theme[64];
  make_dir(user);
  make_dir(theme);
  REQUIRE(user[0] && theme[0]);
  write_file(theme, "page.html.mustache", "{{>header}}|{{>footer}}|{{>x}}");
  write_file(theme, "header.mustache", "theme header");
  write_file(theme, "footer.mustache", "theme footer");
  write_file(user, "header.mustache", "user header");
  write_file(theme, "x.html.mustache", "theme typed");
  write_file(user, "x.mustache", "user untyped");
  const char *dirs[] = {user, theme};
  struct ts_mustache_options o = {.dirs = dirs, .ndirs = 2};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  const struct ts_mustache *tpl;
  struct ts_error e = {0};
  /* By name, the root is found in the search path too. */
  CHECK_INT(ts_mustache_compile_file(env, "page.html", &tpl, &e), TS_OK);
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_mustache_render_to_buf(tpl, NULL, &out, &e), TS_OK);
  /* A folder earlier in the path wins file by file, whatever the suffix. */
  CHECK_STR(ts_buf_cstr(&out), "user header|theme footer|user untyped");
  char want[128];
  snprintf(want, sizeof want, "%s/page.html.mustache", theme);
  CHECK_STR(ts_mustache_name(tpl), want);
  ts_buf_cleanup(&out);
  ts_mustache_env_free(env);
  REMOVE_TREE(user);
  REMOVE_TREE(theme);
}

/* A cloned environment renders what the original does, with nothing of
 * the original left (it is freed first): files, in-memory partials,
 * parents with blocks, and a dynamic partial compiled at render time from
 * the copied search path. */
static void clone_renders_alike(void)
{
  char dir[64];
  make_dir(dir);
  REQUIRE(dir[0]);
  write_file(dir, "page.html.mustache",
             "{{<layout}}{{$body}}{{#items}}{{>card}}{{/items}}{{/body}}"
             "{{/layout}}|{{>*which}}");
  write_file(dir, "layout.mustache", "<{{title}}>{{$body}}none{{/body}}</>");
  write_file(dir, "card.mustache", "[{{name}} {{&raw}}]");
  write_file(dir, "late.mustache", "late {{title}}");
  write_file(dir, "later.mustache", "later {{title}}");
  const char *dirs[] = {dir};
  struct ts_mustache_options o = {.dirs = dirs, .ndirs = 1};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  struct ts_error e = {0};
  CHECK_INT(ts_mustache_env_add_partial(env, "mem", "mem {{title}}", 13, &e),
            TS_OK);
  const struct ts_mustache *tpls[3] = {NULL, NULL, NULL}, *copies[3];
  CHECK_INT(ts_mustache_compile_file(env, "page.html", &tpls[0], &e), TS_OK);
  CHECK_INT(ts_mustache_compile_string(env, "m", "{{>mem}}!", 9,
                                       TS_MUSTACHE_ESCAPE_HTML, &tpls[1], &e),
            TS_OK);
  json_t *data = json_loads("{\"title\": \"T&\", \"which\": \"late\", "
                            "\"items\": [{\"name\": \"<a>\", \"raw\": "
                            "\"<b>\"}, {\"name\": \"c\"}]}",
                            0, NULL);
  REQUIRE(data != NULL);
  struct ts_buf want[2], got[2];
  for (int i = 0; i < 2; i++) {
    ts_buf_init(&want[i], 0);
    ts_buf_init(&got[i], 0);
    CHECK_INT(ts_mustache_render_to_buf(tpls[i], data, &want[i], &e), TS_OK);
  }
  struct ts_mustache_env *copy = ts_mustache_env_clone(env, tpls, copies, 3);
  REQUIRE(copy != NULL);
  CHECK(copies[2] == NULL); /* NULL stays NULL */
  CHECK(copies[0] != tpls[0] && copies[1] != tpls[1]);
  ts_mustache_env_free(env);
  for (int i = 0; i < 2; i++) {
    CHECK_INT(ts_mustache_render_to_buf(copies[i], data, &got[i], &e), TS_OK);
    CHECK_STR(ts_buf_cstr(&got[i]), ts_buf_cstr(&want[i]));
  }
  CHECK_STR(ts_buf_cstr(&got[0]),
            "<T&amp;>[&lt;a&gt; <b>][c ]</>|late T&amp;");
  CHECK_STR(ts_buf_cstr(&got[1]), "mem T&amp;!");
  /* A dynamic partial neither compiled before: found in the copy's path. */
  json_object_set_new(data, "which", json_string("later"));
  ts_buf_reset(&got[0]);
  CHECK_INT(ts_mustache_render_to_buf(copies[0], data, &got[0], &e), TS_OK);
  CHECK_STR(ts_buf_cstr(&got[0]),
            "<T&amp;>[&lt;a&gt; <b>][c ]</>|later T&amp;");
  char name[128];
  snprintf(name, sizeof name, "%s/page.html.mustache", dir);
  CHECK_STR(ts_mustache_name(copies[0]), name);
  for (int i = 0; i < 2; i++) {
    ts_buf_cleanup(&want[i]);
    ts_buf_cleanup(&got[i]);
  }
  json_decref(data);
  ts_mustache_env_free(copy);
  REMOVE_TREE(dir);
}

static void partial_names_stay_inside(void)
{
  char dir[64];
  make_dir(dir);
  REQUIRE(dir[0]);
  char sub[96];
  snprintf(sub, sizeof sub, "%s/inner", dir);
  struct ts_error e = {0};
  CHECK_INT(ts_fs_mkdirs(sub, &e), TS_OK);
  write_file(dir, "secret.mustache", "SECRET");
  write_file(sub, "ok.mustache", "sub ok");
  const char *dirs[] = {sub};
  struct ts_mustache_options o = {.dirs = dirs, .ndirs = 1};
  struct ts_mustache_env *env = ts_mustache_env_new(&o);
  /* Dynamic names from the data are checked at render time. */
  char *got = render_env(env, "[{{>*p}}][{{>*q}}][{{>*r}}][{{>*s}}]",
                         TS_MUSTACHE_ESCAPE_HTML,
                         "{\"p\": \"../secret\", \"q\": \"ok\", "
                         "\"r\": \"/etc/passwd\", \"s\": \"./ok\"}",
                         &e);
  CHECK_STR(got ? got : e.msg, "[][sub ok][][]");
  free(got);
  ts_mustache_env_free(env);
  o.check = true;
  env = ts_mustache_env_new(&o);
  got = render_env(env, "{{>*p}}", TS_MUSTACHE_ESCAPE_HTML,
                   "{\"p\": \"../secret\"}", &e);
  CHECK(got == NULL);
  CHECK(strstr(e.msg, "partial \"../secret\" (from {{>*p}}) not found") !=
        NULL);
  free(got);
  got = render_env(env, "{{>*a.b}}", TS_MUSTACHE_ESCAPE_HTML,
                   "{\"a\": {\"b\": \"none\"}}", &e);
  CHECK(got == NULL);
  CHECK(strstr(e.msg, "partial \"none\" (from {{>*a.b}}) not found") != NULL);
  free(got);
  ts_mustache_env_free(env);
  env = ts_mustache_env_new(NULL);
  CHECK_INT(ts_mustache_env_add_partial(env, "../x", "", 0, &e), TS_ERR_USAGE);
  ts_mustache_env_free(env);
  REMOVE_TREE(dir);
}

/* ---------------------------------------------------------------- */
/* Compile once, render many; streaming.                               */

static void render_many(void)
{
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  struct ts_error e = {0};
  const char *p = "<li>{{name}} ({{n}})</li>\n";
  ts_mustache_env_add_partial(env, "item", p, strlen(p), &e);
  const char *src = "<ul>\n{{#items}}\n  {{>item}}\n{{/items}}\n</ul>\n";
  const struct ts_mustache *tpl;
  REQUIRE(ts_mustache_compile_string(env, "t", src, strlen(src),
                                     TS_MUSTACHE_ESCAPE_HTML, &tpl,
                                     &e) == TS_OK);
  json_t *data = json_loads("{\"items\": [{\"name\": \"a&b\", \"n\": 1}, "
                            "{\"name\": \"c\", \"n\": 2.5}]}",
                            0, NULL);
  const char *want =
      "<ul>\n  <li>a&amp;b (1)</li>\n  <li>c (2.5)</li>\n</ul>\n";
  int same = 0;
  struct ts_buf out;
  ts_buf_init(&out, 0);
  for (int i = 0; i < 1000; i++) {
    ts_buf_reset(&out);
    if (ts_mustache_render_to_buf(tpl, data, &out, &e) == TS_OK &&
        !strcmp(ts_buf_cstr(&out), want))
      same++;
  }
  CHECK_INT(same, 1000);
  ts_buf_cleanup(&out);
  json_decref(data);
  ts_mustache_env_free(env);
}

/* Renders `data` with member "nav" set to `nav` (NULL: none) into `out`.
 * The engine knows frozen data by identity, so "nav" is the frozen value
 * itself, not a copy of its JSON; the rest is converted afresh, in an
 * arena that goes when the render returns. */
static enum ts_result render_data_nav(const struct ts_mustache *tpl,
                                      json_t *data,
                                      const struct ts_value *nav,
                                      struct ts_buf *out, struct ts_error *e)
{
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  json_object_del(data, "nav");
  struct ts_value v = ts_value_from_json(&b, data);
  if (nav)
    ts_value_add(&b, v, "nav", *nav);
  enum ts_result res = b.failed ? TS_ERR_NOMEM
                                : ts_mustache_render_value_to_buf(tpl, &v,
                                                                  out, e);
  ts_arena_cleanup(&arena);
  return res;
}

/* Renders `tpl` with the JSON text `json` whose "nav" member is
 * `nav`; returns the output (caller frees). */
static char *render_with_nav(const struct ts_mustache *tpl, const char *json,
                             const struct ts_value *nav)
{
  json_t *data = json_loads(json, 0, NULL);
  struct ts_buf out;
  ts_buf_init(&out, 0);
  struct ts_error e = {0};
  char *result = render_data_nav(tpl, data, nav, &out, &e) == TS_OK
                     ? ts_buf_detach(&out)
                     : NULL;
  ts_buf_cleanup(&out);
  json_decref(data);
  return result;
}

/* Lookups in frozen data are remembered across renders; lookups in the
 * rest of the data never are, even when a new page's objects take the
 * addresses of the last page's. */
static void frozen_data(void)
{
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  struct ts_error e = {0};
  const char *src = "{{title}}:{{#nav.regions}}[{{name}}{{#current}}*{{/"
                    "current}}{{root}}]{{/nav.regions}}{{nav.count}}"
                    "{{#page}}{{nav.count}}{{/page}}{{#nav.regions.0}}"
                    "{{#nav.regions}}{{name}}{{/nav.regions}}{{/nav.regions.0}}";
  const struct ts_mustache *tpl;
  REQUIRE(ts_mustache_compile_string(env, "t", src, strlen(src),
                                     TS_MUSTACHE_ESCAPE_HTML, &tpl,
                                     &e) == TS_OK);
  json_t *nav = json_loads("{\"regions\": [{\"name\": \"JP\"}, {\"name\": "
                           "\"US\", \"current\": true}], \"count\": 2}",
                           0, NULL);
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder b = {.arena = &arena};
  struct ts_value navv = ts_value_from_json(&b, nav);
  CHECK_INT(ts_mustache_env_freeze(env, navv), TS_OK);
  CHECK_INT(ts_mustache_env_freeze(env, ts_value_int(1)), TS_OK); /* ignored */
  for (int i = 0; i < 100; i++) {
    char json[128], want[128];
    snprintf(json, sizeof json,
             "{\"title\": \"p%d\", \"root\": \"%s\", \"page\": {\"n\": %d}}",
             i, i % 2 ? "../" : "", i);
    snprintf(want, sizeof want, "p%d:[JP%s][US*%s]22JPUS", i,
             i % 2 ? "../" : "", i % 2 ? "../" : "");
    char *got = render_with_nav(tpl, json, &navv);
    CHECK_STR(got, want);
    free(got);
  }
  /* A region that is also the root of a page: both ways agree. */
  const struct ts_value *jp = ts_value_at(*ts_value_get(navv, "regions"), 0);
  struct ts_buf out;
  ts_buf_init(&out, 0);
  const struct ts_mustache *name_tpl;
  REQUIRE(ts_mustache_compile_string(env, "n", "{{name}}|{{current}}", 20,
                                     TS_MUSTACHE_ESCAPE_HTML, &name_tpl,
                                     &e) == TS_OK);
  CHECK_INT(ts_mustache_render_value_to_buf(name_tpl, jp, &out, &e), TS_OK);
  CHECK_STR(ts_buf_cstr(&out), "JP|");
  ts_buf_cleanup(&out);
  char *got = render_with_nav(tpl, "{\"title\": \"x\"}", NULL);
  CHECK_STR(got, "x:");
  free(got);
  ts_mustache_env_free(env);
  ts_arena_cleanup(&arena); /* frozen data outlives the environment */
  json_decref(nav);
}

/* Renders `src` (with partials p and q) in a fresh pair of environments,
 * one with `nav` frozen and one without, for a series of pages whose own
 * data changes, and checks that every page comes out the same: the
 * output of sections over frozen data is reused only while what the
 * section reads elsewhere is unchanged. `opts` may set caps. */
static void same_with_frozen(const char *src,
                             const struct ts_mustache_options *opts)
{
  static const char *const roots[] = {"\"\"", "\"../\"", "\"../\"", "3",
                                      "null", "[1]", "\"../\""};
  static const char *const titles[] = {"\"a\"", "\"a\"", "\"b\"", "false",
                                       "2.5", "{\"x\": 1}", "\"<&>\""};
  const char *p = "[{{title}}|{{flag}}]";
  const char *q = "  {{#nav.regions}}\n  {{name}}\n  {{/nav.regions}}\n";
  struct ts_mustache_env *env[2];
  const struct ts_mustache *tpl[2];
  json_t *nav = json_loads(
      "{\"regions\": [{\"name\": \"JP\", \"url\": \"r/JP\"}, {\"name\": "
      "\"US\", \"url\": \"r/US\", \"current\": true, \"n\": [1, 2]}], "
      "\"more\": true, \"count\": 80, \"title\": \"nav's own\"}",
      0, NULL);
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder vb = {.arena = &arena};
  struct ts_value navv = ts_value_from_json(&vb, nav);
  /* One page object for all renders, changed in place between them,
   * and a new one for each: neither may be taken for frozen data. */
  json_t *page = json_object();
  struct ts_error e = {0};
  for (int k = 0; k < 2; k++) {
    env[k] = ts_mustache_env_new(opts);
    ts_mustache_env_add_partial(env[k], "p", p, strlen(p), &e);
    ts_mustache_env_add_partial(env[k], "q", q, strlen(q), &e);
    if (k == 0)
      ts_mustache_env_freeze(env[k], navv);
    if (ts_mustache_compile_string(env[k], "t", src, strlen(src),
                                   TS_MUSTACHE_ESCAPE_HTML, &tpl[k],
                                   &e) != TS_OK) {
      CHECK_STR(e.msg, "");
      tpl[k] = NULL;
    }
  }
  for (int i = 0; tpl[0] && tpl[1] && i < 40; i++) {
    char json[256];
    snprintf(json, sizeof json, "{\"title\": %s, \"flag\": %s}",
             titles[i / 3 % 7], i % 5 ? "true" : "0");
    /* Some 64 KiB before the section: its output crosses a flush. */
    char *big = calloc(65530 + i, 1);
    memset(big, 'z', 65530 + i - 1);
    json_object_set_new(page, "root", json_loads(roots[i % 7],
                                                 JSON_DECODE_ANY, NULL));
    char *out[2];
    struct ts_error err[2] = {{0}, {0}};
    enum ts_result res[2];
    for (int k = 0; k < 2; k++) {
      json_t *data = json_loads(json, 0, NULL);
      json_object_set_new(data, "big", json_string(big));
      if (i % 2)
        json_object_set(data, "page", page);
      else
        json_object_set_new(data, "page", json_deep_copy(page));
      struct ts_buf b;
      ts_buf_init(&b, 0);
      res[k] = render_data_nav(tpl[k], data, &navv, &b, &err[k]);
      out[k] = ts_buf_detach(&b);
      ts_buf_cleanup(&b);
      json_decref(data);
    }
    const char *a = out[0] ? out[0] : "", *b = out[1] ? out[1] : "";
    size_t at = 0;
    while (a[at] && a[at] == b[at])
      at++;
    bool same = res[0] == res[1] && a[at] == b[at];
    if (!same) /* the output is long: show where it differs */
      ts_test_fail(__FILE__, __LINE__,
                   "%s, page %d: result %d vs %d, at byte %zu: \"%.40s\" vs "
                   "\"%.40s\"",
                   src, i, res[0], res[1], at, a + at, b + at);
    CHECK_STR(err[0].msg, err[1].msg);
    free(big);
    free(out[0]);
    free(out[1]);
    if (!same)
      break;
  }
  for (int k = 0; k < 2; k++)
    ts_mustache_env_free(env[k]);
  ts_arena_cleanup(&arena);
  json_decref(page);
  json_decref(nav);
}

static void frozen_sections(void)
{
  /* The region chips: the name below the section changes by page. */
  same_with_frozen("{{#nav.regions.0}}<ul>\n{{#nav.regions}}<li{{#current}}"
                   " class=c{{/current}}><a href=\"{{page.root}}{{url}}\">"
                   "{{name}}</a>{{#n}}{{.}}{{/n}}</li>\n{{/nav.regions}}"
                   "{{#nav.more}}{{nav.count}} in all{{/nav.more}}</ul>\n"
                   "{{/nav.regions.0}}",
                   NULL);
  /* Names found below a frozen object, of every type; sections and
   * inverted sections over them; "." over them. */
  same_with_frozen("{{#nav}}{{title}}|{{count}}|{{#flag}}F{{/flag}}{{^flag}}"
                   "f{{/flag}}|{{#title}}<{{.}}>{{/title}}|{{{title}}}"
                   "{{#page}}{{root}}{{/page}}{{/nav}}",
                   NULL);
  /* A partial in the body, indentation from outside. */
  same_with_frozen("{{#nav}}{{>p}}{{/nav}}|{{#nav.regions}}{{>p}}{{/nav."
                   "regions}}\n  {{>q}}\n{{#nav}}\n{{>q}}\n{{/nav}}",
                   NULL);
  /* Nested frozen sections. */
  same_with_frozen("{{#nav.regions}}{{#nav.regions}}{{name}}{{page.root}}"
                   "{{/nav.regions}}{{#nav}}{{count}}{{title}}{{/nav}}"
                   "{{/nav.regions}}",
                   NULL);
  /* Output that reaches the sink while the section is recorded. */
  same_with_frozen("{{big}}{{#nav.regions}}{{name}}{{page.root}}{{/nav."
                   "regions}}",
                   NULL);
  for (size_t bytes = 65530; bytes < 65560; bytes += 2) {
    struct ts_mustache_options o = {.max_output = bytes};
    same_with_frozen("{{big}}{{#nav.regions}}{{name}}{{page.root}}{{/nav."
                     "regions}}",
                     &o);
  }
  /* Caps that fall inside a section: the same error, the same output. */
  for (size_t steps = 2; steps < 90; steps += 3) {
    struct ts_mustache_options o = {.max_steps = steps};
    same_with_frozen("x{{#nav.regions}}{{name}}{{page.root}}{{/nav.regions}}"
                     "y{{#nav.regions}}{{name}}{{/nav.regions}}",
                     &o);
  }
  for (size_t bytes = 1; bytes < 60; bytes += 4) {
    struct ts_mustache_options o = {.max_output = bytes};
    same_with_frozen("x{{#nav.regions}}{{name}}{{page.root}}{{/nav.regions}}"
                     "y{{#nav.regions}}{{name}}{{/nav.regions}}",
                     &o);
  }
}

struct counting_sink {
  size_t bytes, calls, biggest;
  int fail_after; /* calls; -1 never */
};

static enum ts_result count_write(void *ctx, const char *data, size_t len,
                                  struct ts_error *err)
{
  struct counting_sink *s = ctx;
  (void)data;
  if (s->fail_after >= 0 && (int)s->calls >= s->fail_after)
    return ts_error_set(err, TS_ERR_IO, "disk full");
  s->calls++;
  s->bytes += len;
  if (len > s->biggest)
    s->biggest = len;
  return TS_OK;
}

/* A sink that fails and says nothing. */
static enum ts_result mute_failure(void *ctx, const char *data, size_t len,
                                   struct ts_error *err)
{
  (void)ctx, (void)data, (void)len, (void)err;
  return TS_ERR_IO;
}

static void streams_through_sink(void)
{
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  struct ts_error e = {0};
  const struct ts_mustache *tpl;
  const char *src = "{{#rows}}{{text}}\n{{/rows}}";
  REQUIRE(ts_mustache_compile_string(env, "t", src, strlen(src),
                                     TS_MUSTACHE_ESCAPE_HTML, &tpl,
                                     &e) == TS_OK);
  const char *text = "a row of text, repeated a hundred thousand times to "
                     "make some ten megabytes of output";
  json_t *rows = json_array();
  for (int i = 0; i < 100000; i++)
    json_array_append_new(rows, json_pack("{s:s}", "text", text));
  json_t *data = json_pack("{s:o}", "rows", rows);
  struct counting_sink sink = {0, 0, 0, -1};
  CHECK_INT(ts_mustache_render(
                tpl, data, (struct ts_mustache_sink){count_write, &sink}, &e),
            TS_OK);
  size_t want = 100000 * (strlen(text) + 1);
  CHECK_INT(sink.bytes, want);
  CHECK(sink.biggest <= 64 * 1024);
  CHECK(sink.calls >= want / (64 * 1024));
  /* A sink error ends the render with the sink's message. */
  struct counting_sink failing = {0, 0, 0, 2};
  CHECK_INT(ts_mustache_render(tpl, data,
                               (struct ts_mustache_sink){count_write, &failing},
                               &e),
            TS_ERR_IO);
  CHECK_STR(e.msg, "disk full");
  /* One that fails without a message gets a generic one. */
  CHECK_INT(ts_mustache_render(tpl, data,
                               (struct ts_mustache_sink){mute_failure, NULL},
                               &e),
            TS_ERR_IO);
  CHECK_STR(e.msg, "t: writing the output failed");
  json_decref(data);
  ts_mustache_env_free(env);
}

/* ---------------------------------------------------------------- */
/* Pathological inputs: each must simply finish.                       */

static void ten_thousand_nested_sections(void)
{
  struct ts_buf src;
  ts_buf_init(&src, 0);
  for (int i = 0; i < 10000; i++)
    ts_buf_append_str(&src, "{{#a}}");
  ts_buf_append_str(&src, "{{x}}");
  for (int i = 0; i < 10000; i++)
    ts_buf_append_str(&src, "{{/a}}");
  /* Over the default cap: a clear error. */
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  struct ts_error e = {0};
  const struct ts_mustache *tpl;
  CHECK_INT(ts_mustache_compile_string(env, "deep", src.data, src.len,
                                       TS_MUSTACHE_ESCAPE_HTML, &tpl, &e),
            TS_ERR_LIMIT);
  CHECK_STR(e.msg, "deep:1:6001: sections nested deeper than 1000");
  ts_mustache_env_free(env);
  /* With the cap raised it renders: neither pass recurses. */
  struct ts_mustache_options o = {.max_section_depth = 20000};
  env = ts_mustache_env_new(&o);
  CHECK_INT(ts_mustache_compile_string(env, "deep", src.data, src.len,
                                       TS_MUSTACHE_ESCAPE_HTML, &tpl, &e),
            TS_OK);
  json_t *data = json_pack("{s:{s:s}}", "a", "x", "bottom");
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_mustache_render_to_buf(tpl, data, &out, &e), TS_OK);
  CHECK_STR(ts_buf_cstr(&out), "bottom");
  ts_buf_cleanup(&out);
  json_decref(data);
  ts_mustache_env_free(env);
  ts_buf_cleanup(&src);
}

static void partial_including_itself(void)
{
  struct ts_error e = {0};
  char *got = render_p("{{>self}}", TS_MUSTACHE_ESCAPE_HTML, "{}", &e, "self",
                       "{{>self}}{{>self}}", NULL);
  CHECK(got == NULL);
  CHECK_INT(e.code, TS_ERR_LIMIT);
  free(got);
}

static void one_megabyte_template(void)
{
  struct ts_buf src;
  ts_buf_init(&src, 0);
  while (src.len < (1 << 20))
    ts_buf_append_str(&src, "<p class=\"row\">{{title}} &middot; {{#tags}}"
                            "<b>{{.}}</b>{{/tags}}{{! note }}</p>\n");
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  struct ts_error e = {0};
  const struct ts_mustache *tpl;
  CHECK_INT(ts_mustache_compile_string(env, "big", src.data, src.len,
                                       TS_MUSTACHE_ESCAPE_HTML, &tpl, &e),
            TS_OK);
  json_t *data = json_pack("{s:s,s:[s,s]}", "title", "T", "tags", "x", "y");
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_mustache_render_to_buf(tpl, data, &out, &e), TS_OK);
  CHECK(out.len > 300000);
  ts_buf_cleanup(&out);
  json_decref(data);
  ts_mustache_env_free(env);
  ts_buf_cleanup(&src);
}

static void hundred_thousand_elements(void)
{
  json_t *list = json_array();
  for (int i = 0; i < 100000; i++)
    json_array_append_new(list, json_integer(i % 10));
  json_t *data = json_pack("{s:o}", "list", list);
  struct ts_mustache_env *env = ts_mustache_env_new(NULL);
  struct ts_error e = {0};
  const struct ts_mustache *tpl;
  REQUIRE(ts_mustache_compile_string(env, "t", "{{#list}}{{.}}{{/list}}", 23,
                                     TS_MUSTACHE_ESCAPE_HTML, &tpl,
                                     &e) == TS_OK);
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_mustache_render_to_buf(tpl, data, &out, &e), TS_OK);
  CHECK_INT(out.len, 100000);
  CHECK(!strncmp(ts_buf_cstr(&out), "0123456789012", 13));
  ts_buf_cleanup(&out);
  json_decref(data);
  ts_mustache_env_free(env);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
      TEST(escape_html),
      TEST(escape_html_every_length),
      TEST(escape_json),
      TEST(escape_xml),
      TEST(escape_text),
      TEST(escape_for_name),
      TEST(numbers),
      TEST(numbers_match_javascript),
      TEST(other_values),
      TEST(dotted_names),
      TEST(falsey_values),
      TEST(standalone_rules),
      TEST(inheritance),
      TEST(partial_escaping),
      TEST(error_messages),
      TEST(nesting_cap_error),
      TEST(file_errors),
      TEST(check_dir_reports_every_file),
      TEST(recursive_partial_depth_50),
      TEST(infinite_recursion_is_an_error),
      TEST(output_cap),
      TEST(work_cap),
      TEST(search_path_order_and_fallback),
    TEST(clone_renders_alike),
      TEST(partial_names_stay_inside),
      TEST(render_many),
      TEST(frozen_data),
      TEST(frozen_sections),
      TEST(streams_through_sink),
      TEST(ten_thousand_nested_sections),
      TEST(partial_including_itself),
      TEST(one_megabyte_template),
      TEST(hundred_thousand_elements),
      TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

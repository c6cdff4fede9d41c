/* Snapshots: items and statuses survive a write/read round trip byte for
 * byte, keys never leak, and malformed documents are named precisely. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "snapshot.h"
#include "util/fs.h"

static void fill(struct ts_batch *b)
{
  struct ts_item *v = ts_batch_new_item(b);
  v->kind = TS_ITEM_VIDEO;
  v->source = "youtube";
  v->id = v->key = "-4GmbBoYQjE";
  v->title = "ガンダム <script>alert(1)</script> 👨‍👩‍👧";
  v->url = "https://www.youtube.com/watch?v=-4GmbBoYQjE";
  v->thumbnail = "https://i.ytimg.com/vi/-4GmbBoYQjE/maxresdefault.jpg";
  v->thumb_width = 1280;
  v->thumb_height = 720;
  v->author = "Channel";
  v->views = INT64_C(5000000000); /* past 2^32 */
  v->likes = 12;
  v->duration_s = 3842;
  v->published = 1746892801;
  v->rank_score = 455;
  v->merged = 5;
  v->positions = ts_arena_alloc(&b->arena, 2 * sizeof *v->positions);
  memset(v->positions, 0, 2 * sizeof *v->positions);
  v->npositions = 2;
  v->positions[0].source = "youtube";
  strcpy(v->positions[0].region, "JP");
  v->positions[0].rank = 1;
  v->positions[1].source = "youtube";
  strcpy(v->positions[1].region, "US");
  v->positions[1].rank = 7;
  v->positions[1].stale = true;

  struct ts_item *s = ts_batch_new_item(b);
  s->kind = TS_ITEM_STORY;
  s->source = "hackernews";
  s->id = "41234567";
  s->key = "0123456789abcdef";
  s->title = "Ask HN: anything?";
  s->url = "https://news.ycombinator.com/item?id=41234567";
  s->discussion_url = s->url;
  s->score = 321;
  ts_item_set_position(b, s, "hackernews", NULL, 3);

  struct ts_status *st = ts_batch_status(b, "youtube", "youtube", "JP");
  st->items = 50;
  st->requests = 2;
  st->quota_units = 2;
  st->duration_ms = 312.4;
  st->fetched_at = 1795255200;
  st = ts_batch_status(b, "youtube", "youtube", "US");
  st->state = TS_STATUS_STALE;
  st->reason = "HTTP 403 quotaExceeded at https://h/v?key=SECRET";
  st->stale_since = 1795240000;
}

static void round_trip_is_byte_identical(void)
{
  struct ts_batch b, back;
  ts_batch_init(&b);
  ts_batch_init(&back);
  fill(&b);
  struct ts_snapshot_meta meta = {1795255200, 1, 1}, meta2;
  struct ts_buf text, again;
  ts_buf_init(&text, 0);
  ts_buf_init(&again, 0);
  REQUIRE(ts_snapshot_text(b.items, b.nitems, b.statuses, b.nstatuses, &meta,
                           &text) == TS_OK);
  const char *t = ts_buf_cstr(&text);
  CHECK(strstr(t, "SECRET") == NULL);
  CHECK(strstr(t, "\"views\":5000000000") != NULL);
  CHECK(strstr(t, "\"generated_at\":\"2026-11-21T10:00:00Z\"") != NULL);
  /* One item per line: a changed item changes one line of a diff. */
  CHECK(strstr(t, "\"items\":[\n{\"key\":\"-4GmbBoYQjE\"") != NULL);
  CHECK(strstr(t, "\n{\"key\":\"0123456789abcdef\"") != NULL);
  /* Valid JSON, which jansson reads too. */
  json_error_t jerr;
  json_t *doc = json_loads(t, 0, &jerr);
  CHECK(doc != NULL);
  json_decref(doc);
  struct ts_error err;
  CHECK_INT(ts_snapshot_parse("a.json", t, text.len, &back, &meta2, &err),
            TS_OK);
  CHECK(meta2.generated_at == meta.generated_at);
  CHECK_INT(back.nitems, 2);
  CHECK(back.items[0].positions[1].stale);
  CHECK_INT(back.statuses[1].state, TS_STATUS_STALE);
  CHECK_STR(back.items[0].title, b.items[0].title);
  REQUIRE(ts_snapshot_text(back.items, back.nitems, back.statuses,
                           back.nstatuses, &meta2, &again) == TS_OK);
  CHECK_STR(ts_buf_cstr(&again), t);
  ts_buf_cleanup(&text);
  ts_buf_cleanup(&again);
  ts_batch_cleanup(&b);
  ts_batch_cleanup(&back);
}

/* The spans point at each item's own JSON inside the document. */
static void spans_locate_each_item(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  fill(&b);
  struct ts_snapshot_meta meta = {1795255200, 1, 1};
  struct ts_buf text, one;
  ts_buf_init(&text, 0);
  ts_buf_init(&one, 0);
  struct ts_snapshot_span spans[2];
  REQUIRE(b.nitems == 2);
  REQUIRE(ts_snapshot_text_spans(b.items, b.nitems, b.statuses, b.nstatuses,
                                 &meta, &text, spans) == TS_OK);
  for (size_t i = 0; i < b.nitems; i++) {
    ts_buf_reset(&one);
    REQUIRE(ts_snapshot_item_text(&b.items[i], &one) == TS_OK);
    CHECK_INT(spans[i].len, one.len);
    CHECK(spans[i].off + spans[i].len <= text.len);
    CHECK(memcmp(text.data + spans[i].off, one.data, one.len) == 0);
  }
  CHECK(spans[0].off < spans[1].off);
  ts_buf_cleanup(&text);
  ts_buf_cleanup(&one);
  ts_batch_cleanup(&b);
}

static void strings_are_escaped(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_item *it = ts_batch_new_item(&b);
  it->kind = TS_ITEM_STORY;
  it->source = "s";
  it->id = it->key = "k";
  it->title = "quote \" back\\slash \x01 tab\t line\n";
  ts_item_set_position(&b, it, "s", NULL, 1);
  struct ts_buf text;
  ts_buf_init(&text, 0);
  REQUIRE(ts_snapshot_item_text(it, &text) == TS_OK);
  CHECK(strstr(ts_buf_cstr(&text),
               "\"title\":\"quote \\\" back\\\\slash \\u0001 tab\\t "
               "line\\n\"") != NULL);
  json_t *v = json_loads(ts_buf_cstr(&text), 0, NULL);
  CHECK_STR(json_string_value(json_object_get(v, "title")), it->title);
  json_decref(v);
  ts_buf_cleanup(&text);
  ts_batch_cleanup(&b);
}

static void write_and_read_a_file(void)
{
  struct ts_batch b, back;
  ts_batch_init(&b);
  ts_batch_init(&back);
  fill(&b);
  struct ts_snapshot_meta meta = {1795255200, 2, 3}, meta2;
  char path[] = "/tmp/ts-snapshot-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  struct ts_error err;
  struct ts_buf out;
  ts_buf_init(&out, 0);
  CHECK_INT(ts_snapshot_text(b.items, b.nitems, b.statuses, b.nstatuses,
                             &meta, &out),
            TS_OK);
  CHECK_INT(ts_fs_write_atomic(path, out.data, out.len, &err), TS_OK);
  ts_buf_cleanup(&out);
  CHECK_INT(ts_snapshot_read(path, &back, &meta2, &err), TS_OK);
  CHECK_INT(meta2.shard_index, 2);
  CHECK_INT(meta2.shard_count, 3);
  CHECK_STR(back.items[0].title, b.items[0].title);
  char *text = NULL;
  CHECK_INT(ts_fs_read(path, 1 << 20, &text, NULL, &err), TS_OK);
  CHECK(text && text[strlen(text) - 1] == '\n');
  free(text);
  unlink(path);
  ts_batch_cleanup(&b);
  ts_batch_cleanup(&back);
}

static void malformed_documents_are_named(void)
{
  struct {
    const char *json, *message;
  } cases[] = {
    {"{\"format\": \"x\"}", "s.json: not a trendsite snapshot (no \"format\": "
                           "\"trendsite-snapshot\")"},
    {"{\"format\": \"trendsite-snapshot\", \"version\": 9}",
     "s.json: snapshot version 9; this trendsite reads version 1"},
    {"{\"format\": \"trendsite-snapshot\", \"version\": 1, \"generated_at\": "
     "\"yesterday\"}",
     "s.json: generated_at: expected a time like 2026-11-21T10:00:00Z"},
    {"{\"format\": \"trendsite-snapshot\", \"version\": 1, \"generated_at\": "
     "\"2026-11-21T10:00:00Z\", \"statuses\": [], \"items\": [{\"kind\": "
     "\"video\", \"key\": \"a\", \"id\": \"a\", \"source\": \"y\", \"title\": "
     "\"t\", \"positions\": [{\"source\": \"y\", \"rank\": 0}]}]}",
     "s.json: items[0].positions[0]: expected {\"source\", \"region\"?, "
     "\"rank\" >= 1}"},
    {"{\"format\": \"trendsite-snapshot\", \"version\": 1, \"generated_at\": "
     "\"2026-11-21T10:00:00Z\", \"statuses\": [], \"items\": [{\"kind\": "
     "\"podcast\"}]}",
     "s.json: items[0]: \"kind\" must be \"video\" or \"story\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct ts_batch b;
    ts_batch_init(&b);
    struct ts_snapshot_meta meta;
    struct ts_error err = {0};
    CHECK(ts_snapshot_parse("s.json", cases[i].json, strlen(cases[i].json),
                            &b, &meta, &err) == TS_ERR_PARSE);
    CHECK_STR(err.msg, cases[i].message);
    ts_batch_cleanup(&b);
  }
}

#define HEAD                                                                 \
  "{\"format\": \"trendsite-snapshot\", \"version\": 1, \"generated_at\": "  \
  "\"2026-11-21T10:00:00Z\", "
#define ITEM(extra)                                                          \
  "{\"kind\": \"video\", \"key\": \"a\", \"id\": \"a\", \"source\": \"y\", " \
  "\"title\": \"t\", \"positions\": [{\"source\": \"y\", \"rank\": 1}]" extra \
  "}"

/* The messages of the streaming reader: the JSON's own errors say line and
 * column; the data's say which item or status. */
static void more_malformed_documents(void)
{
  struct {
    const char *json, *message;
  } cases[] = {
    {"", "s.json:1:1: expected a value, found the end of input"},
    {HEAD "\"statuses\": [],\n \"items\": [" ITEM("") ",]}",
     "s.json:2:125: trailing comma before ']'"},
    {HEAD "\"statuses\": [], \"items\": []} x",
     "s.json:1:117: end of input expected after the document, found 'x'"},
    {"[]", "s.json: not a trendsite snapshot (no \"format\": "
           "\"trendsite-snapshot\")"},
    {HEAD "\"items\": []}", "s.json: statuses: expected a list"},
    {HEAD "\"statuses\": {}, \"items\": []}",
     "s.json: statuses: expected a list"},
    {HEAD "\"statuses\": []}", "s.json: items: expected a list"},
    {HEAD "\"shard\": {\"index\": 3, \"count\": 2}, \"statuses\": [], "
          "\"items\": []}",
     "s.json: shard: expected {\"index\": I, \"count\": N} with 1 <= I <= "
     "N"},
    {HEAD "\"statuses\": [], \"items\": [" ITEM(", \"title\": \"u\"") "]}",
     "s.json: items[0]: duplicate key \"title\""},
    {HEAD "\"statuses\": [], \"items\": [" ITEM(", \"views\": 1.5") "]}",
     "s.json: items[0]: a field has the wrong type (see docs/snapshot.md)"},
    {HEAD "\"statuses\": [], \"items\": [" ITEM(", \"url\": null") "]}",
     "s.json: items[0]: a field has the wrong type (see docs/snapshot.md)"},
    {HEAD "\"statuses\": [], \"items\": [" ITEM(", \"merged\": -1") "]}",
     "s.json: items[0]: \"merged\" is out of range"},
    {HEAD "\"statuses\": [], \"items\": [" ITEM(
         ", \"thumbnail\": {\"url\": \"https://t/\", \"width\": 4294967296}")
         "]}",
     "s.json: items[0]: \"thumbnail\": \"width\" is out of range"},
    {HEAD "\"statuses\": [], \"items\": [" ITEM(", \"views\": "
                                                "9223372036854775808") "]}",
     "s.json:1:236: integer out of range (9223372036854775808)"},
    {HEAD "\"statuses\": [], \"items\": [" ITEM(", \"match_keys\": [1]") "]}",
     "s.json: items[0]: \"match_keys\" must be a list of strings"},
    {HEAD "\"statuses\": [], \"items\": [{\"kind\": \"story\", \"key\": "
          "\"a\", \"id\": \"a\", \"source\": \"y\", \"title\": \"t\"}]}",
     "s.json: items[0]: \"positions\" must be a non-empty list"},
    {HEAD "\"statuses\": [], \"items\": [{\"kind\": \"story\", \"key\": "
          "\"a\", \"id\": \"a\", \"source\": \"y\", \"title\": \"t\", "
          "\"positions\": []}]}",
     "s.json: items[0]: \"positions\" must be a non-empty list"},
    {HEAD "\"statuses\": [], \"items\": [" ITEM("") ", {\"kind\": \"story\", "
          "\"key\": \"b\", \"positions\": [{\"source\": \"y\", \"rank\": 1, "
          "\"region\": \"ABCD\"}]}]}",
     "s.json: items[1].positions[0]: expected {\"source\", \"region\"?, "
     "\"rank\" >= 1}"},
    {HEAD "\"statuses\": [], \"items\": [{\"kind\": \"story\", \"key\": "
          "\"a\", \"positions\": [{\"source\": \"y\", \"rank\": 1}]}]}",
     "s.json: items[0]: \"key\", \"id\", \"source\" and \"title\" are "
     "required"},
    {HEAD "\"statuses\": [{\"source\": \"y\", \"type\": \"youtube\"}], "
          "\"items\": []}",
     "s.json: statuses[0]: expected {\"source\", \"type\", \"region\"?, "
     "\"status\", ...}"},
    {HEAD "\"statuses\": [{\"source\": \"y\", \"type\": \"youtube\", "
          "\"status\": \"fine\"}], \"items\": []}",
     "s.json: statuses[0]: \"status\" must be ok, failed or stale"},
    {HEAD "\"statuses\": [{\"source\": \"y\", \"type\": \"youtube\", "
          "\"status\": \"ok\", \"items\": -1}], \"items\": []}",
     "s.json: statuses[0]: \"items\" is out of range"},
    {HEAD "\"statuses\": [{\"source\": \"y\", \"type\": \"youtube\", "
          "\"status\": \"ok\", \"duration_ms\": 1e3}], \"items\": []}",
     "s.json: statuses[0]: a field has the wrong type (see "
     "docs/snapshot.md)"},
    {HEAD "\"statuses\": [], \"items\": [], \"items\": []}",
     "s.json: duplicate key \"items\""},
    {HEAD "\"statuses\": [], \"items\": [\"\\ud800\xff\"]}",
     "s.json:1:121: invalid UTF-8 in a string (byte 0xff)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct ts_batch b;
    ts_batch_init(&b);
    struct ts_snapshot_meta meta;
    struct ts_error err = {0};
    CHECK(ts_snapshot_parse("s.json", cases[i].json, strlen(cases[i].json),
                            &b, &meta, &err) != TS_OK);
    CHECK_STR(err.msg, cases[i].message);
    ts_batch_cleanup(&b);
  }
}

/* Which problem is reported does not depend on the order of the members:
 * a document that is no snapshot says so even when its items come first,
 * and the JSON's own errors come before any problem with the data. */
static void problems_in_order_of_importance(void)
{
  struct {
    const char *json, *message;
  } cases[] = {
    {"{\"items\": [{\"kind\": \"podcast\"}], \"format\": \"rss\"}",
     "s.json: not a trendsite snapshot (no \"format\": "
     "\"trendsite-snapshot\")"},
    {"{\"items\": [{}], \"statuses\": 1, \"version\": 2, \"format\": "
     "\"trendsite-snapshot\"}",
     "s.json: snapshot version 2; this trendsite reads version 1"},
    {"{\"items\": [{}], \"statuses\": [{}], \"format\": "
     "\"trendsite-snapshot\", \"version\": 1, \"generated_at\": "
     "\"2026-11-21T10:00:00Z\"}",
     "s.json: statuses[0]: expected {\"source\", \"type\", \"region\"?, "
     "\"status\", ...}"},
    {"{\"items\": [{}, {\"kind\": 1}], \"format\": \"x\", \"z\": [1 2]}",
     "s.json:1:53: expected ',' or ']' after an array element, found '2'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct ts_batch b;
    ts_batch_init(&b);
    struct ts_snapshot_meta meta;
    struct ts_error err = {0};
    CHECK(ts_snapshot_parse("s.json", cases[i].json, strlen(cases[i].json),
                            &b, &meta, &err) == TS_ERR_PARSE);
    CHECK_STR(err.msg, cases[i].message);
    ts_batch_cleanup(&b);
  }
}

/* Members in any order, unknown ones (of any shape) skipped, escapes
 * decoded; a failed parse leaves the batch and the meta as they were. */
static void members_in_any_order(void)
{
  const char *text =
      "{\"items\": [{\"positions\": [{\"rank\": 2, \"later\": {\"a\": [[]]},"
      " \"region\": \"JP\", \"source\": \"youtube\", \"stale\": true}], "
      "\"title\": \"\\u30ac\\u30f3\\u30c0\\u30e0 \\ud83d\\ude00\", "
      "\"source\": \"youtube\", \"id\": \"x\", \"key\": \"x\", \"kind\": "
      "\"video\", \"new_in_v1_1\": null}],\n"
      "\"statuses\": [{\"status\": \"failed\", \"region\": \"JP\", \"type\": "
      "\"youtube\", \"source\": \"youtube\", \"reason\": \"HTTP 503\"}],\n"
      "\"shard\": {\"count\": 2, \"index\": 2}, \"generated_at\": "
      "\"2026-11-21T10:00:00Z\", \"version\": 1, \"format\": "
      "\"trendsite-snapshot\"}";
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_snapshot_meta meta = {0, 0, 0};
  struct ts_error err = {0};
  CHECK_INT(ts_snapshot_parse("s.json", text, strlen(text), &b, &meta, &err),
            TS_OK);
  CHECK_STR(err.msg, "");
  REQUIRE(b.nitems == 1 && b.nstatuses == 1);
  CHECK_STR(b.items[0].title, "ガンダム 😀");
  CHECK_INT(b.items[0].kind, TS_ITEM_VIDEO);
  REQUIRE(b.items[0].npositions == 1);
  CHECK_STR(b.items[0].positions[0].region, "JP");
  CHECK_INT(b.items[0].positions[0].rank, 2);
  CHECK(b.items[0].positions[0].stale);
  CHECK_INT(b.statuses[0].state, TS_STATUS_FAILED);
  CHECK_STR(b.statuses[0].reason, "HTTP 503");
  CHECK_INT(meta.shard_index, 2);
  CHECK_INT(meta.shard_count, 2);
  CHECK(meta.generated_at == 1795255200);

  /* A second document that fails halfway: nothing of it stays. */
  const char *bad = HEAD "\"statuses\": [{\"source\": \"hn\", \"type\": "
                         "\"hackernews\", \"status\": \"ok\"}], \"items\": ["
                         ITEM("") ", {\"kind\": \"story\"}]}";
  struct ts_snapshot_meta before = meta;
  CHECK(ts_snapshot_parse("s.json", bad, strlen(bad), &b, &meta, &err) ==
        TS_ERR_PARSE);
  CHECK_INT(b.nitems, 1);
  CHECK_INT(b.nstatuses, 1);
  CHECK(memcmp(&meta, &before, sizeof meta) == 0);
  ts_batch_cleanup(&b);
}

/* render --from reads files anyone may write: only http(s) URLs survive. */
static void unsafe_urls_are_dropped(void)
{
  const char *text =
      "{\"format\": \"trendsite-snapshot\", \"version\": 1, "
      "\"generated_at\": \"2026-11-21T10:00:00Z\", \"statuses\": [], "
      "\"items\": [{\"kind\": \"story\", \"key\": \"a\", \"id\": \"a\", "
      "\"source\": \"y\", \"title\": \"t\", \"url\": \"javascript:alert(1)\", "
      "\"discussion_url\": \"data:text/html,x\", \"thumbnail\": {\"url\": "
      "\" JAVASCRIPT:x\"}, \"positions\": [{\"source\": \"y\", \"rank\": 1}]}, "
      "{\"kind\": \"story\", \"key\": \"b\", \"id\": \"b\", \"source\": \"y\", "
      "\"title\": \"t\", \"url\": \"https://example.org/b\", "
      "\"discussion_url\": \"http://example.org/c\", "
      "\"positions\": [{\"source\": \"y\", \"rank\": 2}]}]}";
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_snapshot_meta meta;
  struct ts_error err = {0};
  CHECK_INT(ts_snapshot_parse("s.json", text, strlen(text), &b, &meta, &err),
            TS_OK);
  REQUIRE(b.nitems == 2);
  CHECK(b.items[0].url == NULL);
  CHECK(b.items[0].discussion_url == NULL);
  CHECK(b.items[0].thumbnail == NULL);
  CHECK_STR(b.items[1].url, "https://example.org/b");
  CHECK_STR(b.items[1].discussion_url, "http://example.org/c");
  ts_batch_cleanup(&b);
}

/* ---- property: text -> parse -> text is the identity ------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
  uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static size_t put_code_point(char *o, uint32_t cp)
{
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* A code point of the kind that breaks JSON writers and readers: quotes
 * and backslashes, controls, DEL, Latin-1, CJK, emoji with ZWJ, U+2028,
 * a BOM, U+FFFD and the last code point (never NUL or a surrogate). */
static uint32_t random_code_point(void)
{
  static const uint32_t odd[] = {'"',    '\\',   '/',     0x7F,    0x200D,
                                 0x2028, 0x2029, 0xFEFF,  0xFFFD,  0xFFFF,
                                 0xE000, 0x80,   0x10FFFF, 0x1F468, 0x1F3FD};
  switch (rnd() % 8) {
  case 0: return 0x20 + (uint32_t)(rnd() % 95);
  case 1: return 1 + (uint32_t)(rnd() % 31); /* controls */
  case 2: return odd[rnd() % (sizeof odd / sizeof odd[0])];
  case 3: return 0xA0 + (uint32_t)(rnd() % 0x160);
  case 4: return 0x4E00 + (uint32_t)(rnd() % 0x5200); /* CJK */
  case 5: return 0x3040 + (uint32_t)(rnd() % 0xC0);   /* kana */
  case 6: return 0x1F300 + (uint32_t)(rnd() % 0x700); /* emoji */
  default: return 'a' + (uint32_t)(rnd() % 26);
  }
}

/* A random string of up to `max` code points, `prefix` first, in the
 * batch's arena. */
static const char *random_text(struct ts_batch *b, const char *prefix,
                               size_t max)
{
  char buf[512];
  size_t n = strlen(prefix);
  memcpy(buf, prefix, n);
  size_t count = max ? rnd() % (max + 1) : 0;
  for (size_t i = 0; i < count; i++)
    n += put_code_point(buf + n, random_code_point());
  return ts_batch_strn(b, buf, n);
}

static const char *maybe_text(struct ts_batch *b, const char *prefix,
                              size_t max)
{
  return rnd() % 3 ? random_text(b, prefix, max) : NULL;
}

/* A region of at most 3 bytes: "", "JP", "日", "é" or a random pair. */
static void random_region(char region[4])
{
  static const char *const regions[] = {"", "JP", "US", "\xe6\x97\xa5",
                                        "\xc3\xa9", "a\"", "\\\x01"};
  snprintf(region, 4, "%s", regions[rnd() % 7]);
}

static int64_t random_int(void)
{
  static const int64_t edges[] = {0, 1, -1, -2, INT64_MAX, INT64_MIN,
                                  INT64_MIN + 1, 4294967296};
  return rnd() % 3 ? (int64_t)(rnd() >> (rnd() % 64))
                   : edges[rnd() % (sizeof edges / sizeof edges[0])];
}

/* A time ts_time_format can write: 1970 to 9999, or unknown. */
static int64_t random_time(bool may_be_unknown)
{
  if (may_be_unknown && rnd() % 4 == 0)
    return TS_TIME_UNKNOWN;
  return (int64_t)(rnd() % UINT64_C(253402300800));
}

static void random_batch(struct ts_batch *b)
{
  size_t nitems = rnd() % 6;
  for (size_t i = 0; i < nitems; i++) {
    struct ts_item *it = ts_batch_new_item(b);
    it->kind = rnd() % 2 ? TS_ITEM_VIDEO : TS_ITEM_STORY;
    it->key = random_text(b, "", 12);
    it->source = random_text(b, "", 8);
    it->id = random_text(b, "", 12);
    it->title = random_text(b, "", 40);
    it->url = maybe_text(b, rnd() % 2 ? "https://" : "http://", 20);
    it->discussion_url = maybe_text(b, "https://", 20);
    it->thumbnail = maybe_text(b, "http://", 20);
    it->thumb_width = (int32_t)(rnd() % 3 ? rnd() % 4000 : 0);
    it->thumb_height = (int32_t)(rnd() % 3 ? rnd() % 4000 : INT32_MAX);
    it->author = maybe_text(b, "", 16);
    it->summary = maybe_text(b, "", 100);
    it->category = maybe_text(b, "", 8);
    it->language = maybe_text(b, "", 4);
    it->live = maybe_text(b, "", 8);
    it->published = random_time(true);
    it->views = random_int();
    it->likes = random_int();
    it->comments = random_int();
    it->score = random_int();
    it->duration_s = random_int();
    it->rank_score = random_int();
    it->merged = (uint32_t)rnd();
    it->npositions = 1 + (uint32_t)(rnd() % 4);
    it->positions =
        ts_arena_alloc(&b->arena, it->npositions * sizeof *it->positions);
    for (uint32_t k = 0; k < it->npositions; k++) {
      struct ts_item_position *p = &it->positions[k];
      memset(p, 0, sizeof *p);
      p->source = rnd() % 2 ? it->source : random_text(b, "", 6);
      random_region(p->region);
      p->rank = 1 + (uint32_t)(rnd() % UINT32_MAX);
      p->stale = rnd() % 2;
    }
    it->nmatch_keys = (uint32_t)(rnd() % 4);
    it->match_keys =
        ts_arena_alloc(&b->arena, (it->nmatch_keys + 1) * sizeof(char *));
    for (uint32_t k = 0; k < it->nmatch_keys; k++)
      it->match_keys[k] = random_text(b, rnd() % 2 ? "/" : "", 10);
  }
  size_t nstatuses = rnd() % 5;
  for (size_t i = 0; i < nstatuses; i++) {
    char region[4];
    random_region(region);
    struct ts_status *s = ts_batch_status(b, random_text(b, "", 6),
                                          random_text(b, "", 6), region);
    s->state = (enum ts_status_state)(rnd() % 3);
    s->reason = maybe_text(b, rnd() % 2 ? "HTTP 403 at https://h/?key=" : "",
                           30);
    s->items = (uint32_t)rnd();
    s->skipped = (uint32_t)rnd();
    s->requests = (uint32_t)rnd();
    s->retries = (uint32_t)rnd();
    s->repaired = (uint32_t)rnd();
    s->quota_units = rnd() % 2 ? (uint32_t)rnd() : 0;
    s->duration_ms = (double)(rnd() % (UINT64_C(1) << 40)) / 10;
    s->fetched_at = random_time(true);
    s->stale_since = random_time(false);
  }
}

static void random_batches_round_trip(void)
{
  rng_state = 20261121;
  for (int round = 0; round < 400; round++) {
    struct ts_batch b, back;
    ts_batch_init(&b);
    ts_batch_init(&back);
    random_batch(&b);
    unsigned count = 1 + (unsigned)(rnd() % 3);
    struct ts_snapshot_meta meta = {random_time(false),
                                    1 + (unsigned)rnd() % count, count};
    struct ts_snapshot_meta meta2;
    struct ts_buf text, again;
    ts_buf_init(&text, 0);
    ts_buf_init(&again, 0);
    struct ts_error err = {0};
    REQUIRE(ts_snapshot_text(b.items, b.nitems, b.statuses, b.nstatuses,
                             &meta, &text) == TS_OK);
    if (ts_snapshot_parse("r.json", ts_buf_cstr(&text), text.len, &back,
                          &meta2, &err) != TS_OK) {
      ts_test_fail(__FILE__, __LINE__, "round %d: %s\n%s", round, err.msg,
                   ts_buf_cstr(&text));
    } else {
      REQUIRE(ts_snapshot_text(back.items, back.nitems, back.statuses,
                               back.nstatuses, &meta2, &again) == TS_OK);
      if (strcmp(ts_buf_cstr(&again), ts_buf_cstr(&text)) != 0)
        ts_test_fail(__FILE__, __LINE__, "round %d differs:\n%s\n---\n%s",
                     round, ts_buf_cstr(&text), ts_buf_cstr(&again));
      CHECK_INT(back.nitems, b.nitems);
      for (size_t i = 0; i < b.nitems && i < back.nitems; i++)
        CHECK_STR(back.items[i].title, b.items[i].title);
    }
    ts_buf_cleanup(&text);
    ts_buf_cleanup(&again);
    ts_batch_cleanup(&b);
    ts_batch_cleanup(&back);
  }
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(round_trip_is_byte_identical),
    TEST(spans_locate_each_item),
    TEST(strings_are_escaped),
    TEST(write_and_read_a_file),
    TEST(malformed_documents_are_named),
    TEST(more_malformed_documents),
    TEST(problems_in_order_of_importance),
    TEST(members_in_any_order),
    TEST(unsafe_urls_are_dropped),
    TEST(random_batches_round_trip),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

/*
 * The source adapters' parsers and error classifiers against the API
 * fixtures in tests/fixtures/api/ (modelled on /work/shared/API-NOTES.md):
 * each answer goes through the same path as in a run (ts_list_parse:
 * body repair + jansson, then the adapter's parse function), then
 * normalize and dedupe, and the resulting items are checked field by
 * field: ranks, merged regions, counts past 2^32, durations, live
 * broadcasts, the thumbnail chosen, cleaned text, links, and the skip and
 * repair counts of every list.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "harness.h"
#include "normalize.h"
#include "sources/common.h"
#include "util/fs.h"

/* ---- a rig: one batch, the sources and lists an adapter would set up -- */

#define MAX_ADAPTERS 5
#define MAX_LISTS 8

struct adapter {
  struct ts_config_source cfg;
  struct ts_source src;
  struct ts_list lists[MAX_LISTS];
};

struct rig {
  struct ts_batch batch;
  struct ts_source_env env;
  struct adapter ad[MAX_ADAPTERS];
  size_t nad;
  struct ts_item *out; /* after finish(): merged items */
  size_t nout;
  struct ts_normalize_stats ns;
  struct ts_dedupe_stats ds;
};

static void rig_init(struct rig *r)
{
  memset(r, 0, sizeof *r);
  ts_batch_init(&r->batch);
  r->env.batch = &r->batch;
  r->env.now = 1795258800; /* 2026-11-21T11:00:00Z */
  r->env.shard_index = r->env.shard_count = 1;
}

static void rig_cleanup(struct rig *r)
{
  free(r->out);
  ts_batch_cleanup(&r->batch);
}

/* The list of source `type` for `region` ("" for none), set up as the
 * adapter's start function does (its status exists from the start). */
static struct ts_list *list_of(struct rig *r, enum ts_source_type type,
                               const char *region)
{
  struct adapter *a = NULL;
  for (size_t i = 0; i < r->nad && !a; i++)
    if (r->ad[i].cfg.type == type)
      a = &r->ad[i];
  if (!a) {
    if (r->nad == MAX_ADAPTERS)
      return NULL;
    a = &r->ad[r->nad++];
    a->cfg.type = type;
    a->cfg.name = (char *)ts_source_type_name(type);
    a->cfg.api_key = (char *)"test-key";
    a->cfg.limit = 30;
    a->cfg.max_results = 50;
    a->cfg.pages = 4;
    a->cfg.enabled = true;
    a->src.cfg = &a->cfg;
    a->src.env = &r->env;
    a->src.lists = a->lists;
  }
  for (size_t i = 0; i < a->src.nlists; i++)
    if (!strcmp(a->lists[i].region, region))
      return &a->lists[i];
  if (a->src.nlists == MAX_LISTS)
    return NULL;
  struct ts_list *l = &a->lists[a->src.nlists++];
  l->source = &a->src;
  snprintf(l->region, sizeof l->region, "%s", region);
  ts_list_status(l);
  return l;
}

/* A fixture body as the adapter sees it: repaired and parsed by
 * ts_list_parse. NULL (with the reason in `why`) when it is not JSON. */
static json_t *answer(struct ts_list *list, const char *rel, char *why,
                      size_t why_size)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/fixtures/api/%s", ts_test_root(),
           rel);
  char *body = NULL;
  size_t len = 0;
  struct ts_error err;
  if (ts_fs_read(path, (size_t)1 << 24, &body, &len, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "%s", err.msg);
    snprintf(why, why_size, "unreadable");
    return NULL;
  }
  struct ts_fetch_response res = {.outcome = TS_FETCH_OK, .status = 200,
                                  .body = body, .body_len = len};
  json_t *root = ts_list_parse(list, &res, why, why_size);
  free(body);
  return root;
}

/* A fixture that must parse. */
static json_t *fixture(struct ts_list *list, const char *rel)
{
  char why[512] = "";
  json_t *root = answer(list, rel, why, sizeof why);
  if (!root)
    ts_test_fail(__FILE__, __LINE__, "%s: %s", rel, why);
  return root;
}

/* One videos.list page; returns the next page token (copied) or "". */
static const char *youtube_page(struct rig *r, const char *region,
                                const char *rel)
{
  static char next_token[256];
  next_token[0] = '\0';
  struct ts_list *l = list_of(r, TS_SOURCE_YOUTUBE, region);
  json_t *root = fixture(l, rel);
  const char *next = NULL;
  if (root && !ts_youtube_parse_videos(l, root, &next))
    ts_test_fail(__FILE__, __LINE__, "%s: not a videos.list page", rel);
  if (next)
    snprintf(next_token, sizeof next_token, "%s", next);
  json_decref(root);
  return next_token;
}

/* Normalizes and dedupes the batch, as the fetch pipeline does. */
static bool finish(struct rig *r)
{
  struct ts_error err;
  if (ts_normalize_batch(&r->batch, NULL, &r->ns, &err) != TS_OK ||
      ts_dedupe(&r->batch, &r->out, &r->nout, &r->ds, &err) != TS_OK)
    return ts_test_fail(__FILE__, __LINE__, "%s", err.msg);
  return true;
}

static const struct ts_item *by_id(const struct rig *r, const char *id)
{
  for (size_t i = 0; i < r->nout; i++)
    if (r->out[i].id && !strcmp(r->out[i].id, id))
      return &r->out[i];
  ts_test_fail(__FILE__, __LINE__, "no item with id \"%s\"", id);
  return NULL;
}

static bool has_id(const struct rig *r, const char *id)
{
  for (size_t i = 0; i < r->nout; i++)
    if (r->out[i].id && !strcmp(r->out[i].id, id))
      return true;
  return false;
}

/* The item whose title is `title` (stories have hashed keys). */
static const struct ts_item *by_title(const struct rig *r, const char *title)
{
  for (size_t i = 0; i < r->nout; i++)
    if (r->out[i].title && !strcmp(r->out[i].title, title))
      return &r->out[i];
  ts_test_fail(__FILE__, __LINE__, "no item titled \"%s\"", title);
  return NULL;
}

static const struct ts_status *status_of(const struct rig *r,
                                         const char *source,
                                         const char *region)
{
  for (size_t i = 0; i < r->batch.nstatuses; i++)
    if (!strcmp(r->batch.statuses[i].source, source) &&
        !strcmp(r->batch.statuses[i].region, region))
      return &r->batch.statuses[i];
  ts_test_fail(__FILE__, __LINE__, "no status %s[%s]", source, region);
  return NULL;
}

/* The item's rank in (source, region); 0 when it is not listed there. */
static uint32_t rank_in(const struct ts_item *it, const char *source,
                        const char *region)
{
  for (uint32_t k = 0; it && k < it->npositions; k++)
    if (!strcmp(it->positions[k].source, source) &&
        !strcmp(it->positions[k].region, region))
      return it->positions[k].rank;
  return 0;
}

/* "GB:2 JP:3 US:1" (region, or source when it has none, and rank): the
 * positions in their stored order. */
static const char *positions(const struct ts_item *it, char *buf, size_t n)
{
  buf[0] = '\0';
  size_t used = 0;
  for (uint32_t k = 0; it && k < it->npositions && used < n; k++) {
    const struct ts_item_position *p = &it->positions[k];
    int w = snprintf(buf + used, n - used, "%s%s:%u", k ? " " : "",
                     p->region[0] ? p->region : p->source, p->rank);
    if (w < 0)
      break;
    used += (size_t)w;
  }
  return buf;
}

static size_t count_substr(const char *s, const char *sub)
{
  size_t n = 0;
  for (const char *p = s; p && (p = strstr(p, sub)); p += strlen(sub))
    n++;
  return n;
}

/* ---- YouTube ----------------------------------------------------------- */

/* US page 1 and page 2: the token chain, the skipped "../../x" id, and
 * the video the chart moved onto both pages counted once at its better
 * rank (with the later page's higher counts). */
static void youtube_two_pages(void)
{
  struct rig r;
  rig_init(&r);
  CHECK_STR(youtube_page(&r, "US", "youtube/videos-US-1.json"), "CDIQAA");
  CHECK_STR(youtube_page(&r, "US", "youtube/videos-US-2.json"), "");
  const struct ts_status *st = status_of(&r, "youtube", "US");
  REQUIRE(st);
  CHECK_INT(st->skipped, 1); /* ../../x */
  CHECK_INT(st->items, 10);  /* raw items, the duplicate included */
  CHECK_INT(st->repaired, 0);
  REQUIRE(finish(&r));
  CHECK_INT(r.nout, 9);
  CHECK(!has_id(&r, "../../x"));
  CHECK_INT(r.ds.by_id, 1);
  const struct ts_item *cabin = by_id(&r, "Wd2kP0sLq8M");
  REQUIRE(cabin);
  CHECK_INT(cabin->npositions, 1);
  CHECK_INT(rank_in(cabin, "youtube", "US"), 4);
  CHECK_INT(cabin->merged, 2);
  CHECK_INT(cabin->views, 1210876); /* page 2's, the larger */
  CHECK_INT(cabin->likes, 61388);
  /* A skipped video takes no rank; the duplicate's rank 6 is unused. */
  const char *ids[] = {"Qm3vL8xT2kA", "-Lx0cZ7pQ2w", "_b4Rt9sKd1E",
                       "Wd2kP0sLq8M", "Hn5sQ1vYx3U", "Lv9rT2mX0cB",
                       "Dy1kQ8nW3zR", "Rt7bN2xK5hS", "Cq4mZ9wL1pT"};
  const uint32_t ranks[] = {1, 2, 3, 4, 5, 7, 8, 9, 10};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
    CHECK_INT(rank_in(by_id(&r, ids[i]), "youtube", "US"), ranks[i]);
  /* One region: sorted by rank score, so by rank. */
  for (size_t i = 0; i < r.nout; i++)
    CHECK_STR(r.out[i].id, ids[i]);
  rig_cleanup(&r);
}

static void youtube_counts_and_durations(void)
{
  struct rig r;
  rig_init(&r);
  youtube_page(&r, "US", "youtube/videos-US-1.json");
  youtube_page(&r, "US", "youtube/videos-US-2.json");
  REQUIRE(finish(&r));
  const struct ts_item *phones = by_id(&r, "Qm3vL8xT2kA");
  const struct ts_item *shorts = by_id(&r, "-Lx0cZ7pQ2w");
  const struct ts_item *react = by_id(&r, "_b4Rt9sKd1E");
  const struct ts_item *live = by_id(&r, "Lv9rT2mX0cB");
  const struct ts_item *rain = by_id(&r, "Dy1kQ8nW3zR");
  const struct ts_item *premiere = by_id(&r, "Cq4mZ9wL1pT");
  REQUIRE(phones && shorts && react && live && rain && premiere);
  /* Counts are strings and may pass 2^32. */
  CHECK(phones->views > (int64_t)UINT32_MAX);
  CHECK_INT(phones->views, INT64_C(5123456789));
  CHECK_INT(phones->likes, 98765432);
  CHECK_INT(phones->comments, 123456);
  /* likeCount hidden by the owner, commentCount absent: comments off. */
  CHECK_INT(shorts->views, 2950114);
  CHECK_INT(shorts->likes, TS_UNKNOWN);
  CHECK_INT(shorts->comments, TS_UNKNOWN);
  /* ISO 8601 durations. */
  CHECK_INT(phones->duration_s, 15 * 60 + 46);
  CHECK_INT(shorts->duration_s, 58);                        /* PT58S */
  CHECK_INT(react->duration_s, 3600 + 4 * 60 + 2);          /* PT1H4M2S */
  CHECK_INT(rain->duration_s, 86400 + 2 * 3600 + 3 * 60 + 4); /* P1DT2H3M4S */
  /* Live: P0D and no commentCount; an upcoming premiere has 0 views. */
  CHECK_STR(live->live, "live");
  CHECK_INT(live->duration_s, 0);
  CHECK_INT(live->comments, TS_UNKNOWN);
  CHECK_INT(live->views, 48210);
  CHECK_STR(premiere->live, "upcoming");
  CHECK_INT(premiere->duration_s, 0);
  CHECK_INT(premiere->views, 0);
  CHECK(phones->live == NULL);
  /* Times: RFC 3339 to Unix seconds. */
  CHECK_INT(phones->published, 1795096807); /* 2026-11-19T14:00:07Z */
  rig_cleanup(&r);
}

static void youtube_thumbnails(void)
{
  struct rig r;
  rig_init(&r);
  youtube_page(&r, "US", "youtube/videos-US-1.json");
  youtube_page(&r, "US", "youtube/videos-US-2.json");
  REQUIRE(finish(&r));
  const struct {
    const char *id, *url;
    int w, h;
  } want[] = {
    /* maxres when there is one */
    {"Qm3vL8xT2kA", "https://i.ytimg.com/vi/Qm3vL8xT2kA/maxresdefault.jpg",
     1280, 720},
    /* standard, no maxres */
    {"_b4Rt9sKd1E", "https://i.ytimg.com/vi/_b4Rt9sKd1E/sddefault.jpg", 640,
     480},
    /* neither standard nor maxres: high */
    {"-Lx0cZ7pQ2w", "https://i.ytimg.com/vi/-Lx0cZ7pQ2w/hqdefault.jpg", 480,
     360},
    {"Lv9rT2mX0cB", "https://i.ytimg.com/vi/Lv9rT2mX0cB/hqdefault_live.jpg",
     480, 360},
    /* default and high only, medium missing */
    {"Cq4mZ9wL1pT", "https://i.ytimg.com/vi/Cq4mZ9wL1pT/hqdefault.jpg", 480,
     360},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const struct ts_item *it = by_id(&r, want[i].id);
    if (!it)
      continue;
    CHECK_STR(it->thumbnail, want[i].url);
    CHECK_INT(it->thumb_width, want[i].w);
    CHECK_INT(it->thumb_height, want[i].h);
  }
  rig_cleanup(&r);
}

/* Titles are raw text: \u003c escapes decode to '<', a <script> title
 * stays text (the renderer escapes it), controls, zero-width and bidi
 * controls go, spaces collapse; descriptions keep their line breaks. */
static void youtube_text(void)
{
  struct rig r;
  rig_init(&r);
  youtube_page(&r, "US", "youtube/videos-US-1.json");
  youtube_page(&r, "US", "youtube/videos-US-2.json");
  REQUIRE(finish(&r));
  const struct ts_item *it = by_id(&r, "Qm3vL8xT2kA");
  REQUIRE(it);
  CHECK_STR(it->title, "Top 10 <budget> phones & the ones to avoid");
  CHECK_STR(it->url, "https://www.youtube.com/watch?v=Qm3vL8xT2kA");
  CHECK_STR(it->author, "Pocket Tech Lab");
  CHECK_STR(it->language, "en-US"); /* defaultAudioLanguage first */
  CHECK_STR(it->category, "28"); /* named by the adapter's finish */
  CHECK(strstr(it->summary, "\n01:12 #10 \xE2\x80\x94 the sleeper pick\n"
                            "<span>Not sponsored.</span>") != NULL);
  CHECK_STR(by_id(&r, "_b4Rt9sKd1E")->title,
            "<script>alert(\"pwned\")</script> Reacting to the worst "
            "websites of 2026");
  /* BEL, the C1 CSI, U+200B and U+FEFF removed; spaces collapsed. */
  it = by_id(&r, "Hn5sQ1vYx3U");
  REQUIRE(it);
  CHECK_STR(it->title, "Weekly news roundup #47");
  CHECK_STR(it->summary, "Line one\nLine two end");
  CHECK(it->language == NULL);
  /* RTL text: the bidi embedding, mark and isolate controls go, the
   * Arabic stays; the channel's trailing space is trimmed. */
  it = by_id(&r, "Rt7bN2xK5hS");
  REQUIRE(it);
  CHECK_STR(it->title, "ملخص المباراة الأهداف كاملة HD");
  CHECK_STR(it->summary, "جميع الأهداف من مباراة الليلة");
  CHECK_STR(it->author, "قناة الرياضة");
  CHECK_STR(by_id(&r, "-Lx0cZ7pQ2w")->author, "mira does things");
  CHECK(by_id(&r, "-Lx0cZ7pQ2w")->summary == NULL); /* "" is no summary */
  CHECK_STR(by_id(&r, "Lv9rT2mX0cB")->title,
            "\xF0\x9F\x94\xB4 LIVE: Orbital launch coverage \xE2\x80\x94 "
            "Flight 14"); /* an escaped surrogate pair is one emoji */
  rig_cleanup(&r);
}

/* NFD kana become NFC; full-width forms stay (only U+3000 becomes a
 * space); half-width katakana stay; emoji ZWJ sequences stay whole. */
static void youtube_japanese(void)
{
  struct rig r;
  rig_init(&r);
  youtube_page(&r, "JP", "youtube/videos-JP.json");
  REQUIRE(finish(&r));
  const struct ts_item *it = by_id(&r, "Jp1aNfD7xQe");
  REQUIRE(it);
  CHECK_STR(it->title, "\xE3\x83\x9D\xE3\x82\xB1\xE3\x83\xA2\xE3\x83\xB3"
                       "新作 完全"
                       "\xE3\x82\xAC\xE3\x82\xA4\xE3\x83\x89"); /* ポケモン, ガイド */
  CHECK(strstr(it->title, "\xE3\x82\x99") == NULL); /* no U+3099 left */
  CHECK(strstr(it->title, "\xE3\x82\x9A") == NULL); /* no U+309A */
  CHECK_STR(it->author, "ゲーム実況ちゃんねる");
  CHECK_STR(it->summary, "新作のガイドです。\n詳しくは概要欄へ");
  it = by_id(&r, "Jp2FwF0rmZk");
  REQUIRE(it);
  CHECK_STR(it->title, "【ＬＩＶＥ】ＮＨＫ ニュース７ １１月２１日");
  CHECK_STR(it->author, "ＮＨＫ ニュース");
  it = by_id(&r, "Jp4EmJ0zWjS");
  REQUIRE(it);
  CHECK_STR(it->title, "👨‍👩‍👧‍👦 家族でキャンプ🏕️ 初日 #shorts");
  CHECK_INT(count_substr(it->title, "\xE2\x80\x8D"), 3); /* ZWJ kept */
  CHECK_INT(ts_normalize_graphemes(it->title, strlen(it->title)), 21);
  CHECK_STR(by_id(&r, "Jp5HaLfKn8A")->title, "ﾃﾞｨｽﾞﾆｰｼｰ 新エリア 完全攻略");
  CHECK_STR(by_id(&r, "Jp5HaLfKn8A")->author, "ﾊﾟｰｸ ﾏﾆｱ");
  rig_cleanup(&r);
}

/* Five region charts: a video trending in several regions is one item
 * with every region, sorted; the highest counts win; the order is by
 * rank score, whatever order the answers came in. */
static void youtube_regions_merged(void)
{
  static const char *const files[][2] = {
    {"US", "youtube/videos-US-1.json"}, {"US", "youtube/videos-US-2.json"},
    {"GB", "youtube/videos-GB.json"},   {"JP", "youtube/videos-JP.json"},
    {"KR", "youtube/videos-KR.json"},
  };
  static const int orders[][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 0, 1}};
  char first[2][4096];
  for (int o = 0; o < 2; o++) {
    struct rig r;
    rig_init(&r);
    /* The regions' lists in config order, answers in any order. */
    list_of(&r, TS_SOURCE_YOUTUBE, "US");
    list_of(&r, TS_SOURCE_YOUTUBE, "GB");
    list_of(&r, TS_SOURCE_YOUTUBE, "JP");
    list_of(&r, TS_SOURCE_YOUTUBE, "KR");
    for (int i = 0; i < 5; i++)
      youtube_page(&r, files[orders[o][i]][0], files[orders[o][i]][1]);
    if (!finish(&r)) {
      rig_cleanup(&r);
      return;
    }
    char buf[256];
    const struct ts_item *phones = by_id(&r, "Qm3vL8xT2kA");
    const struct ts_item *family = by_id(&r, "Jp4EmJ0zWjS");
    const struct ts_item *shorts = by_id(&r, "-Lx0cZ7pQ2w");
    if (!phones || !family || !shorts) {
      rig_cleanup(&r);
      return;
    }
    CHECK_STR(positions(phones, buf, sizeof buf), "GB:2 JP:3 US:1");
    CHECK_INT(phones->merged, 3);
    CHECK_INT(phones->rank_score, 100 + 99 + 98);
    CHECK_INT(phones->views, INT64_C(5123470001)); /* GB's, the largest */
    CHECK_INT(phones->likes, 98766001);
    CHECK_INT(phones->comments, 123460);
    CHECK_STR(phones->key, "Qm3vL8xT2kA");
    CHECK_STR(positions(family, buf, sizeof buf), "JP:4 KR:2");
    CHECK_STR(positions(shorts, buf, sizeof buf), "GB:3 US:2");
    CHECK_INT(shorts->likes, TS_UNKNOWN); /* hidden in both regions */
    CHECK_INT(r.nout, 9 + 1 + 4 + 2); /* US + GB-only + JP-only + KR-only */
    /* Highest rank score first; ties by kind, then key. */
    CHECK_STR(r.out[0].id, "Qm3vL8xT2kA");
    CHECK_STR(r.out[1].id, "-Lx0cZ7pQ2w");
    CHECK_STR(r.out[2].id, "Jp4EmJ0zWjS");
    for (size_t i = 1; i < r.nout; i++)
      CHECK(r.out[i - 1].rank_score > r.out[i].rank_score ||
            (r.out[i - 1].rank_score == r.out[i].rank_score &&
             strcmp(r.out[i - 1].key, r.out[i].key) < 0));
    size_t used = 0;
    for (size_t i = 0; i < r.nout && used < sizeof first[o]; i++) {
      int w = snprintf(first[o] + used, sizeof first[o] - used, "%s|%s|%s\n",
                       r.out[i].key, r.out[i].title,
                       positions(&r.out[i], buf, sizeof buf));
      used += w > 0 ? (size_t)w : 0;
    }
    rig_cleanup(&r);
  }
  CHECK_STR(first[0], first[1]);
}

/* Invalid UTF-8 and an escaped lone surrogate do not cost the page:
 * each ill-formed sequence is one U+FFFD, counted on the list. */
static void youtube_invalid_utf8(void)
{
  struct rig r;
  rig_init(&r);
  youtube_page(&r, "KR", "youtube/videos-KR.json");
  const struct ts_status *st = status_of(&r, "youtube", "KR");
  REQUIRE(st);
  /* FF, FE; C3 before '(' and a lone E9; ED A0 80 (three: ED cannot
   * start a surrogate); the escaped \ud83d. */
  CHECK_INT(st->repaired, 2 + 2 + 3 + 1);
  CHECK_INT(st->items, 3);
  REQUIRE(finish(&r));
  CHECK_STR(by_id(&r, "Kr1bUtF8xQe")->title,
            "K-POP 무대 모음 \xEF\xBF\xBD\xEF\xBF\xBD 2026");
  CHECK_STR(by_id(&r, "Kr1bUtF8xQe")->author,
            "서울\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD Music");
  CHECK_STR(by_id(&r, "Kr1bUtF8xQe")->summary,
            "\xEF\xBF\xBD( caf\xEF\xBF\xBD live");
  CHECK_STR(by_id(&r, "Kr3sUrRgT0a")->title,
            "최고의 순간 \xEF\xBF\xBD 하이라이트");
  rig_cleanup(&r);
}

/* What is not a chart page: an empty chart is fine, other documents are
 * refused, a truncated body is not JSON. */
static void youtube_not_a_page(void)
{
  struct rig r;
  rig_init(&r);
  CHECK_STR(youtube_page(&r, "DE", "youtube/videos-empty.json"), "");
  CHECK_INT(r.batch.nitems, 0);
  struct ts_list *l = list_of(&r, TS_SOURCE_YOUTUBE, "FR");
  json_t *arr = json_pack("[i, i]", 1, 2);
  json_t *bad_items = json_pack("{s:s}", "items", "none");
  json_t *long_token =
      json_pack("{s:[], s:s}", "items", "nextPageToken", "");
  const char *next = "x";
  CHECK(!ts_youtube_parse_videos(l, arr, &next));
  CHECK(next == NULL);
  CHECK(!ts_youtube_parse_videos(l, bad_items, &next));
  /* An error body sent with status 200 is not an empty chart. */
  json_t *no_items = json_pack("{s:{s:i}}", "error", "code", 500);
  CHECK(!ts_youtube_parse_videos(l, no_items, &next));
  json_decref(no_items);
  CHECK(ts_youtube_parse_videos(l, long_token, &next));
  CHECK(next == NULL); /* an empty token ends the chart */
  json_decref(arr);
  json_decref(bad_items);
  json_decref(long_token);
  char why[512] = "";
  json_t *root = answer(l, "broken/truncated-videos.json", why, sizeof why);
  CHECK(root == NULL);
  CHECK(!strncmp(why, "invalid JSON at line ", 21));
  json_decref(root);
  rig_cleanup(&r);
}

static void youtube_categories(void)
{
  struct rig r;
  rig_init(&r);
  struct ts_list *l = list_of(&r, TS_SOURCE_YOUTUBE, "US");
  json_t *us = fixture(l, "youtube/categories-US.json");
  json_t *gb = fixture(l, "youtube/categories.json");
  REQUIRE(us && gb);
  json_t *map_us = ts_youtube_parse_categories(us);
  json_t *map_gb = ts_youtube_parse_categories(gb);
  CHECK_STR(json_string_value(json_object_get(map_us, "28")),
            "Science & Technology");
  CHECK_STR(json_string_value(json_object_get(map_us, "29")),
            "Nonprofits & Activism");
  CHECK(json_object_get(map_gb, "29") == NULL); /* only in the US list */
  CHECK_STR(json_string_value(json_object_get(map_gb, "34")), "Comedy");
  CHECK_STR(json_string_value(json_object_get(map_gb, "23")), "Comedy");
  CHECK_INT(json_object_size(map_us), 32);
  CHECK_INT(json_object_size(map_gb), 31);
  json_t *err_body = fixture(l, "youtube/errors/quotaExceeded-403.json");
  json_t *none = ts_youtube_parse_categories(err_body);
  CHECK_INT(json_object_size(none), 0);
  json_decref(none);
  json_decref(err_body);
  json_decref(map_us);
  json_decref(map_gb);
  json_decref(us);
  json_decref(gb);
  rig_cleanup(&r);
}

/* Reads an error fixture and runs a classifier on it. */
static enum ts_fetch_verdict classify(ts_fetch_classify_fn fn, long status,
                                      const char *rel, char *reason,
                                      size_t size)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/fixtures/api/%s", ts_test_root(),
           rel);
  char *body = NULL;
  size_t len = 0;
  struct ts_error err;
  reason[0] = '\0';
  if (ts_fs_read(path, 1 << 20, &body, &len, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "%s", err.msg);
    return TS_FETCH_BY_STATUS;
  }
  enum ts_fetch_verdict v = fn(status, body, len, reason, size, NULL);
  free(body);
  return v;
}

static void youtube_classify(void)
{
  static const struct {
    long status;
    const char *file;
    enum ts_fetch_verdict verdict;
    const char *reason; /* prefix */
  } cases[] = {
    {403, "youtube/errors/quotaExceeded-403.json", TS_FETCH_STOP_SOURCE,
     "quotaExceeded (the daily quota is used up; it resets at midnight "
     "Pacific time)"},
    {403, "youtube/errors/rateLimitExceeded-403.json", TS_FETCH_RETRY,
     "rateLimitExceeded"},
    {403, "youtube/errors/forbidden-403.json", TS_FETCH_STOP_SOURCE,
     "forbidden (check YOUTUBE_API_KEY"},
    {400, "youtube/errors/keyInvalid-400.json", TS_FETCH_STOP_SOURCE,
     "keyInvalid (check YOUTUBE_API_KEY"},
    {400, "youtube/errors/keyInvalid-old-400.json", TS_FETCH_STOP_SOURCE,
     "keyInvalid (check YOUTUBE_API_KEY"},
    {403, "youtube/errors/accessNotConfigured-403.json",
     TS_FETCH_STOP_SOURCE, "accessNotConfigured (check YOUTUBE_API_KEY"},
    {400, "youtube/errors/invalidRegionCode-400.json", TS_FETCH_FINAL,
     "invalidRegionCode"},
    {400, "youtube/errors/videoChartNotFound-400.json", TS_FETCH_FINAL,
     "videoChartNotFound"},
    {404, "youtube/errors/videoChartNotFound-404.json", TS_FETCH_FINAL,
     "videoChartNotFound"},
    {503, "youtube/errors/backendError-503.json", TS_FETCH_BY_STATUS,
     "backendError"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char reason[512];
    enum ts_fetch_verdict v = classify(ts_youtube_classify, cases[i].status,
                                       cases[i].file, reason, sizeof reason);
    if (v != cases[i].verdict)
      ts_test_fail(__FILE__, __LINE__, "%s: verdict %d, expected %d",
                   cases[i].file, (int)v, (int)cases[i].verdict);
    if (strncmp(reason, cases[i].reason, strlen(cases[i].reason)))
      ts_test_fail(__FILE__, __LINE__, "%s: reason \"%s\", expected \"%s...\"",
                   cases[i].file, reason, cases[i].reason);
  }
  /* A gateway's HTML page: nothing to go on but the status. */
  char reason[64] = "";
  const char *html = "<html><body>502 Bad Gateway</body></html>";
  CHECK_INT(ts_youtube_classify(502, html, strlen(html), reason,
                                sizeof reason, NULL),
            TS_FETCH_BY_STATUS);
  CHECK_STR(reason, "");
}

/* ---- Hacker News ------------------------------------------------------- */

static void hackernews_top(void)
{
  struct rig r;
  rig_init(&r);
  struct ts_list *l = list_of(&r, TS_SOURCE_HACKERNEWS, "");
  json_t *top = fixture(l, "hn/v0/topstories.json");
  REQUIRE(top);
  int64_t *ids = NULL;
  size_t n = 0;
  CHECK(ts_hackernews_parse_top(top, 5, &ids, &n));
  CHECK_INT(n, 5);
  if (n == 5) {
    CHECK_INT(ids[0], 46100001);
    CHECK_INT(ids[4], 46100005);
  }
  free(ids);
  CHECK(ts_hackernews_parse_top(top, 500, &ids, &n));
  CHECK_INT(n, 13);
  free(ids);
  json_decref(top);
  /* Firebase's permission error is not a list of ids. */
  json_t *denied = json_pack("{s:s}", "error", "Permission denied");
  CHECK(!ts_hackernews_parse_top(denied, 30, &ids, &n));
  CHECK_INT(n, 0);
  free(ids);
  json_decref(denied);
  /* Junk inside the list becomes -1 (skipped by the adapter). */
  json_t *mixed = json_pack("[i, s, n, i]", 7, "8", 9);
  CHECK(ts_hackernews_parse_top(mixed, 30, &ids, &n));
  CHECK_INT(n, 4);
  if (n == 4) {
    CHECK_INT(ids[1], -1);
    CHECK_INT(ids[2], -1);
    CHECK_INT(ids[3], 9);
  }
  free(ids);
  json_decref(mixed);
  /* A missing item is HTTP 200 with a bare `null`: it parses (and the
   * item parser skips it). Regression: ts_list_parse used to refuse any
   * top-level value but an object or array as "invalid JSON". */
  char why[256] = "";
  json_t *null_item = answer(l, "hn/v0/item/46100002.json", why, sizeof why);
  CHECK(json_is_null(null_item));
  CHECK_STR(why, "");
  CHECK(!ts_hackernews_parse_item(l, null_item, 2));
  json_decref(null_item);
  rig_cleanup(&r);
}

/* Every item of topstories.json at its rank, as the fan-out does; the
 * answer for 46100011 is missing (the run sees an HTTP error there). */
static void hackernews_load(struct rig *r)
{
  struct ts_list *l = list_of(r, TS_SOURCE_HACKERNEWS, "");
  static const int64_t top[] = {46100001, 46100002, 46100003, 46100004,
                                46100005, 46100006, 46100007, 46100008,
                                46100009, 46100010, 0,        46100012,
                                46100013};
  for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
    if (!top[i])
      continue;
    char rel[64];
    snprintf(rel, sizeof rel, "hn/v0/item/%lld.json", (long long)top[i]);
    json_t *root = fixture(l, rel);
    if (!ts_hackernews_parse_item(l, root, (uint32_t)i + 1))
      ts_list_status(l)->skipped++; /* as on_item does */
    json_decref(root);
  }
}

static void hackernews_items(void)
{
  struct rig r;
  rig_init(&r);
  hackernews_load(&r);
  const struct ts_status *st = status_of(&r, "hackernews", "");
  REQUIRE(st);
  /* null, deleted, dead, and a comment: skipped, counted. */
  CHECK_INT(st->skipped, 4);
  CHECK_INT(st->items, 8);
  CHECK_INT(st->repaired, 2); /* \udc00 and \u0000 in one title */
  REQUIRE(finish(&r));
  CHECK_INT(r.nout, 8);
  CHECK_INT(r.ns.urls_rejected, 1); /* javascript: */
  CHECK(!has_id(&r, "46100002") && !has_id(&r, "46100003") &&
        !has_id(&r, "46100004") && !has_id(&r, "46100013"));

  const struct ts_item *it = by_id(&r, "46100001");
  REQUIRE(it);
  CHECK_INT(it->kind, TS_ITEM_STORY);
  CHECK_STR(it->title, "The quiet death of the <blink> tag & other HTML we "
                       "lost");
  /* Host lower-cased, :443 and the fragment dropped, utm_* removed. */
  CHECK_STR(it->url, "https://blog.example.com/posts/lost-html/");
  CHECK_STR(it->discussion_url,
            "https://news.ycombinator.com/item?id=46100001");
  CHECK_STR(it->author, "mkrause");
  CHECK_INT(it->score, 612);
  CHECK_INT(it->comments, 214);
  CHECK_INT(it->published, 1795201200);
  CHECK_INT(rank_in(it, "hackernews", ""), 1);
  CHECK(it->category == NULL);

  /* A job: no descendants, its type as the category, ?ref= removed. */
  it = by_id(&r, "46100005");
  REQUIRE(it);
  CHECK_STR(it->category, "job");
  CHECK_INT(it->comments, TS_UNKNOWN);
  CHECK_INT(it->score, 1);
  CHECK_STR(it->url, "https://quarkworks.example/careers/compiler");
  CHECK_INT(rank_in(it, "hackernews", ""), 5); /* ranks follow the list */

  /* Ask HN: no url, so the link is the discussion; text is HTML. */
  it = by_id(&r, "46100006");
  REQUIRE(it);
  CHECK_STR(it->url, "https://news.ycombinator.com/item?id=46100006");
  CHECK_STR(it->summary,
            "I've run a small SaaS for six years. Revenue is flat & I'm "
            "tired.\n\nWhat did you do when it stopped being fun? Sold it, "
            "handed it over, or shut it down?\n\nDetails: "
            "https://tidewater.example/numbers\n\nEdit: thanks "
            "\"everyone\", I read all of it.\n\nMRR: 4k <-> 5k");
  /* A 2008 item with "url": "" and "text": "". */
  it = by_id(&r, "46100007");
  REQUIRE(it);
  CHECK_STR(it->url, "https://news.ycombinator.com/item?id=46100007");
  CHECK(it->summary == NULL);
  CHECK_INT(it->published, 1210636800);
  /* javascript: never becomes a link: the discussion does. */
  it = by_id(&r, "46100008");
  REQUIRE(it);
  CHECK_STR(it->url, "https://news.ycombinator.com/item?id=46100008");
  CHECK(strstr(it->url, "javascript") == NULL);
  CHECK_STR(by_id(&r, "46100009")->category, "poll");
  it = by_id(&r, "46100012");
  REQUIRE(it);
  CHECK_STR(it->title, "Show HN: A tiny emoji picker \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK_INT(rank_in(it, "hackernews", ""), 12);
  rig_cleanup(&r);
}

/* ---- The Guardian ------------------------------------------------------ */

static void guardian_search(void)
{
  struct rig r;
  rig_init(&r);
  struct ts_list *l = list_of(&r, TS_SOURCE_GUARDIAN, "");
  json_t *root = fixture(l, "guardian/search.json");
  char why[256] = "";
  CHECK(ts_guardian_parse_search(l, root, why, sizeof why));
  json_decref(root);
  const struct ts_status *st = status_of(&r, "guardian", "");
  REQUIRE(st);
  CHECK_INT(st->skipped, 1); /* a result without webTitle */
  CHECK_INT(st->items, 5);
  REQUIRE(finish(&r));
  const struct ts_item *it =
      by_id(&r, "world/live/2026/nov/21/climate-summit-final-day-live");
  REQUIRE(it);
  CHECK_STR(it->title, "Climate summit: negotiators work through the night "
                       "on final text – live");
  CHECK_STR(it->category, "World news");
  CHECK_STR(it->author, "Fiona Harvey and Damian Carrington");
  /* trailText is HTML: tags go, &nbsp; and &ldquo; decode, <br> breaks. */
  CHECK_STR(it->summary, "Latest updates as delegates from 190 countries "
                         "argue over the phrase “transition away”\nRead "
                         "more: what’s at stake");
  CHECK(it->thumbnail && !strncmp(it->thumbnail, "https://media.guim.co.uk/",
                                  25));
  CHECK_INT(it->thumb_width, 0); /* the Guardian gives no sizes */
  CHECK_INT(it->published, 1795252360); /* 2026-11-21T09:12:40Z */
  CHECK_INT(rank_in(it, "guardian", ""), 1);
  /* No thumbnail field: none. */
  it = by_id(&r, "technology/2026/nov/20/chipmaker-fined-firmware-backdoor");
  REQUIRE(it);
  CHECK(it->thumbnail == NULL);
  CHECK_STR(it->summary, "Regulator says the company ‘knowingly shipped’ a "
                         "remote-access feature in server chips");
  /* A crossword: no fields and no pillar at all. */
  it = by_id(&r, "crosswords/cryptic/29876");
  REQUIRE(it);
  CHECK(it->author == NULL && it->summary == NULL && it->thumbnail == NULL);
  CHECK_STR(it->category, "Crosswords");
  /* The skipped result keeps its place: the next one is rank 5. */
  it = by_id(&r, "culture/2026/nov/20/booker-prize-winner-interview");
  REQUIRE(it);
  CHECK_INT(rank_in(it, "guardian", ""), 5);
  CHECK_STR(it->summary, "An interview about patience, rejection & luck");
  rig_cleanup(&r);
}

static void guardian_errors(void)
{
  struct rig r;
  rig_init(&r);
  struct ts_list *l = list_of(&r, TS_SOURCE_GUARDIAN, "");
  char why[256] = "";
  json_t *root = fixture(l, "guardian/error-400-page.json");
  CHECK(!ts_guardian_parse_search(l, root, why, sizeof why));
  CHECK_STR(why, "requested page is beyond the number of available pages");
  json_decref(root);
  root = fixture(l, "guardian/error-401.json");
  CHECK(!ts_guardian_parse_search(l, root, why, sizeof why));
  CHECK_STR(why, "not a search answer (no response.results list)");
  json_decref(root);
  CHECK_INT(r.batch.nitems, 0);
  rig_cleanup(&r);

  char reason[512];
  /* 400 in the response wrapper: the message, judged by status (final). */
  CHECK_INT(classify(ts_guardian_classify, 400, "guardian/error-400-page.json",
                     reason, sizeof reason),
            TS_FETCH_BY_STATUS);
  CHECK_STR(reason, "requested page is beyond the number of available pages");
  /* 401 flat: a key problem stops the source. */
  CHECK_INT(classify(ts_guardian_classify, 401, "guardian/error-401.json",
                     reason, sizeof reason),
            TS_FETCH_STOP_SOURCE);
  CHECK_STR(reason, "Unauthorized (check GUARDIAN_API_KEY)");
  /* 429 from the gateway: retried after Retry-After or a backoff. */
  CHECK_INT(classify(ts_guardian_classify, 429, "guardian/error-429.json",
                     reason, sizeof reason),
            TS_FETCH_BY_STATUS);
  CHECK_STR(reason, "API rate limit exceeded");
}

/* ---- NewsAPI ----------------------------------------------------------- */

static void newsapi_headlines(void)
{
  struct rig r;
  rig_init(&r);
  struct ts_list *us = list_of(&r, TS_SOURCE_NEWSAPI, "us");
  struct ts_list *gb = list_of(&r, TS_SOURCE_NEWSAPI, "gb");
  char why[256] = "";
  json_t *root = fixture(us, "newsapi/top-headlines-us.json");
  CHECK(ts_newsapi_parse_headlines(us, root, why, sizeof why));
  json_decref(root);
  /* Since 2024 other countries get 200 ok with nothing in it. */
  root = fixture(gb, "newsapi/top-headlines-empty.json");
  CHECK(ts_newsapi_parse_headlines(gb, root, why, sizeof why));
  json_decref(root);
  const struct ts_status *st = status_of(&r, "newsapi", "us");
  REQUIRE(st);
  CHECK_INT(st->skipped, 2); /* two [Removed] placeholders */
  CHECK_INT(st->items, 7);
  st = status_of(&r, "newsapi", "gb");
  REQUIRE(st);
  CHECK_INT(st->items, 0);
  CHECK_INT(st->state, TS_STATUS_OK);
  REQUIRE(finish(&r));
  for (size_t i = 0; i < r.nout; i++) {
    CHECK(strstr(r.out[i].title, "[Removed]") == NULL);
    CHECK(strstr(r.out[i].url, "removed.com") == NULL);
  }
  /* " - Reuters" goes (the publisher is the author), nulls are unknown. */
  const struct ts_item *it =
      by_title(&r, "Central bank holds rates steady, signals cut in spring");
  REQUIRE(it);
  CHECK_STR(it->author, "Reuters");
  CHECK_STR(it->url, "https://www.reuters.com/markets/us/"
                     "central-bank-holds-rates-steady-2026-11-21/");
  CHECK_INT(it->published, 1795250467); /* 2026-11-21T08:41:07Z */
  CHECK_INT(rank_in(it, "newsapi", "us"), 1);
  /* utm_*, fbclid and the fragment go. */
  it = by_title(&r, "Regulators fine chipmaker over undisclosed firmware "
                    "backdoor");
  REQUIRE(it);
  CHECK_STR(it->url, "https://www.theverge.com/2026/11/20/24988123/"
                     "chipmaker-firmware-backdoor-fine");
  CHECK_STR(it->author, "The Verge");
  /* One story from three publishers (" - AP", " - ABC News", " | The
   * Guardian"): one item at its best rank. */
  it = by_title(&r, "Senate passes stopgap funding bill hours before "
                    "shutdown deadline");
  REQUIRE(it);
  CHECK_INT(it->merged, 3);
  CHECK_INT(it->npositions, 1);
  CHECK_INT(rank_in(it, "newsapi", "us"), 3);
  CHECK_INT(it->published, 1795212600); /* the Guardian's 22:10, earliest */
  /* Nulls everywhere: no description, image or content. */
  it = by_title(&r, "The best budget phones you can buy right now");
  REQUIRE(it);
  CHECK(it->summary == NULL && it->thumbnail == NULL);
  CHECK_STR(it->author, "Gizmodo.com");
  /* A Google News redirect that cannot be resolved offline loses oc=. */
  it = by_title(&r, "Storm warning issued for the Gulf Coast");
  REQUIRE(it);
  CHECK_STR(it->url, "https://news.google.com/rss/articles/"
                     "CBMiUkFVX3lxTE5fUGxhY2Vob2xkZXJJZE5vdFJlYWxseUVuY29kZWQ");
  CHECK_INT(r.nout, 5);
  rig_cleanup(&r);
}

static void newsapi_errors(void)
{
  struct rig r;
  rig_init(&r);
  struct ts_list *l = list_of(&r, TS_SOURCE_NEWSAPI, "us");
  char why[512] = "";
  json_t *root = fixture(l, "newsapi/error-429-rateLimited.json");
  CHECK(!ts_newsapi_parse_headlines(l, root, why, sizeof why));
  CHECK(!strncmp(why, "rateLimited: You have made too many requests", 44));
  json_decref(root);
  root = json_pack("{s:s}", "status", "ok"); /* no articles */
  CHECK(!ts_newsapi_parse_headlines(l, root, why, sizeof why));
  CHECK_STR(why, "not a headlines answer (no \"articles\" list)");
  json_decref(root);
  rig_cleanup(&r);

  char reason[512];
  CHECK_INT(classify(ts_newsapi_classify, 429,
                     "newsapi/error-429-rateLimited.json", reason,
                     sizeof reason),
            TS_FETCH_STOP_SOURCE);
  CHECK_STR(reason, "rateLimited (the plan's daily requests are used up)");
  CHECK_INT(classify(ts_newsapi_classify, 401,
                     "newsapi/error-401-apiKeyInvalid.json", reason,
                     sizeof reason),
            TS_FETCH_STOP_SOURCE);
  CHECK_STR(reason, "apiKeyInvalid (check NEWSAPI_KEY)");
  CHECK_INT(classify(ts_newsapi_classify, 400,
                     "newsapi/error-400-parameterInvalid.json", reason,
                     sizeof reason),
            TS_FETCH_FINAL);
  CHECK_STR(reason, "parameterInvalid");
  CHECK_INT(classify(ts_newsapi_classify, 500,
                     "newsapi/error-500-unexpectedError.json", reason,
                     sizeof reason),
            TS_FETCH_BY_STATUS);
  CHECK_STR(reason, "unexpectedError");
}

/* ---- JSON Feed --------------------------------------------------------- */

static void jsonfeed_items(void)
{
  struct rig r;
  rig_init(&r);
  struct ts_list *l = list_of(&r, TS_SOURCE_JSONFEED, "");
  char why[256] = "";
  json_t *root = fixture(l, "feeds/blog.json");
  CHECK(ts_jsonfeed_parse(l, root, why, sizeof why));
  json_decref(root);
  const struct ts_status *st = status_of(&r, "jsonfeed", "");
  REQUIRE(st);
  CHECK_INT(st->skipped, 2); /* no url; nothing to call it */
  CHECK_INT(st->items, 4);
  REQUIRE(finish(&r));
  const struct ts_item *it =
      by_id(&r, "https://notes.example.org/2026/11/parsing-nfd");
  REQUIRE(it);
  CHECK_STR(it->title, "Parsing NFD kana without losing your mind");
  CHECK_STR(it->author, "Rosa Lind");
  CHECK_STR(it->language, "en-GB"); /* the feed's */
  CHECK_INT(it->published, 1795159800); /* 08:30+01:00 is 07:30Z */
  CHECK_STR(it->thumbnail, "https://notes.example.org/img/nfd.png");
  /* Microblog items have no title: the first line of the text. */
  it = by_id(&r, "https://notes.example.org/2026/11/21/0915");
  REQUIRE(it);
  CHECK_STR(it->title, "Shipped the new parser today.");
  CHECK_STR(it->author, "Rosa Lind"); /* inherited from the feed */
  CHECK_STR(it->summary, "Shipped the new parser today.\nIt handles NFD kana "
                         "now, and emoji ZWJ sequences stay in one piece.");
  it = by_id(&r, "https://notes.example.org/2026/11/20/2210");
  REQUIRE(it);
  CHECK_STR(it->title, "Short note with bold text & an entity.");
  CHECK_STR(it->summary, "Short note with bold text & an entity.\n\nSecond "
                         "paragraph.");
  /* A numeric id and only an external_url. */
  it = by_id(&r, "1017");
  REQUIRE(it);
  CHECK_STR(it->url, "https://www.example.com/someone-elses-article");
  CHECK_INT(it->published, TS_TIME_UNKNOWN); /* date_modified is not it */
  rig_cleanup(&r);

  rig_init(&r);
  l = list_of(&r, TS_SOURCE_JSONFEED, "");
  root = fixture(l, "feeds/not-a-feed.json");
  CHECK(!ts_jsonfeed_parse(l, root, why, sizeof why));
  CHECK(!strncmp(why, "not a JSON Feed", 15));
  json_decref(root);
  rig_cleanup(&r);
}

/* ---- across sources ---------------------------------------------------- */

/* One batch with every news source: the Verge story linked from Hacker
 * News and listed by NewsAPI with tracking parameters is one story; the
 * Senate story from the Guardian and three NewsAPI publishers is one. */
static void stories_across_sources(void)
{
  struct rig r;
  rig_init(&r);
  hackernews_load(&r);
  struct ts_list *g = list_of(&r, TS_SOURCE_GUARDIAN, "");
  struct ts_list *n = list_of(&r, TS_SOURCE_NEWSAPI, "us");
  char why[256];
  json_t *root = fixture(g, "guardian/search.json");
  CHECK(ts_guardian_parse_search(g, root, why, sizeof why));
  json_decref(root);
  root = fixture(n, "newsapi/top-headlines-us.json");
  CHECK(ts_newsapi_parse_headlines(n, root, why, sizeof why));
  json_decref(root);
  REQUIRE(finish(&r));
  char buf[256];
  /* Joined by the canonical URL; Hacker News sorts first, so its entry
   * represents the story. */
  const struct ts_item *it = by_id(&r, "46100010");
  REQUIRE(it);
  CHECK_STR(positions(it, buf, sizeof buf), "hackernews:10 us:2");
  CHECK_STR(it->source, "hackernews");
  CHECK_INT(it->score, 230);
  CHECK_STR(it->url, "https://www.theverge.com/2026/11/20/24988123/"
                     "chipmaker-firmware-backdoor-fine");
  CHECK_STR(it->discussion_url,
            "https://news.ycombinator.com/item?id=46100010");
  /* Joined by the title once " - Publisher" is gone. */
  it = by_title(&r, "Senate passes stopgap funding bill hours before "
                    "shutdown deadline");
  REQUIRE(it);
  CHECK_STR(positions(it, buf, sizeof buf), "guardian:6 us:3");
  CHECK_INT(it->merged, 4);
  CHECK_STR(it->source, "guardian");
  CHECK_STR(it->url, "https://www.theguardian.com/us-news/2026/nov/20/"
                     "senate-passes-stopgap-funding-bill");
  CHECK_INT(it->nmatch_keys >= 2, 1);
  /* The Guardian's own chipmaker story has another title and URL. */
  CHECK(by_id(&r, "technology/2026/nov/20/chipmaker-fined-firmware-"
                  "backdoor") != it);
  CHECK(r.ds.by_url >= 1);
  CHECK(r.ds.by_title >= 1);
  CHECK_INT(r.nout, 8 + 5 + 5 - 2);
  /* Story keys are 16 hex digits, unique. */
  for (size_t i = 0; i < r.nout; i++) {
    CHECK_INT(strlen(r.out[i].key), 16);
    CHECK_INT(strspn(r.out[i].key, "0123456789abcdef"), 16);
    for (size_t j = 0; j < i; j++)
      CHECK(strcmp(r.out[i].key, r.out[j].key) != 0);
  }
  rig_cleanup(&r);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(youtube_two_pages),
    TEST(youtube_counts_and_durations),
    TEST(youtube_thumbnails),
    TEST(youtube_text),
    TEST(youtube_japanese),
    TEST(youtube_regions_merged),
    TEST(youtube_invalid_utf8),
    TEST(youtube_not_a_page),
    TEST(youtube_categories),
    TEST(youtube_classify),
    TEST(hackernews_top),
    TEST(hackernews_items),
    TEST(guardian_search),
    TEST(guardian_errors),
    TEST(newsapi_headlines),
    TEST(newsapi_errors),
    TEST(jsonfeed_items),
    TEST(stories_across_sources),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

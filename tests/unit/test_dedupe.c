/* Dedupe and merge: videos by id, stories by URL and title keys, the
 * representative, keys, scores and order; and the properties the
 * sharded render depends on: any input order gives the same bytes, and
 * merging deduped shards equals deduping everything at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "harness.h"
#include "normalize.h"
#include "util/buf.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
  uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static struct ts_item *video(struct ts_batch *b, const char *id,
                             const char *region, uint32_t rank)
{
  struct ts_item *it = ts_batch_new_item(b);
  it->kind = TS_ITEM_VIDEO;
  it->source = "youtube";
  it->id = id;
  it->title = "A video";
  it->url = "https://www.youtube.com/watch?v=x";
  ts_item_set_position(b, it, "youtube", region, rank);
  return it;
}

static struct ts_item *story(struct ts_batch *b, const char *source,
                             const char *region, uint32_t rank,
                             const char *url, const char *title)
{
  struct ts_item *it = ts_batch_new_item(b);
  it->kind = TS_ITEM_STORY;
  it->source = source;
  it->id = url;
  it->title = title;
  it->url = url;
  ts_item_set_position(b, it, source, region, rank);
  return it;
}

static void put_str(struct ts_buf *o, const char *name, const char *s)
{
  ts_buf_printf(o, " %s=%s", name, s ? s : "(null)");
}

/* Every field, so that "identical" means byte-identical snapshots. */
static void serialize(const struct ts_item *items, size_t n, struct ts_buf *o)
{
  ts_buf_reset(o);
  for (size_t i = 0; i < n; i++) {
    const struct ts_item *it = &items[i];
    ts_buf_printf(o, "%d", (int)it->kind);
    put_str(o, "key", it->key);
    put_str(o, "source", it->source);
    put_str(o, "id", it->id);
    put_str(o, "title", it->title);
    put_str(o, "url", it->url);
    put_str(o, "disc", it->discussion_url);
    put_str(o, "thumb", it->thumbnail);
    put_str(o, "author", it->author);
    put_str(o, "summary", it->summary);
    put_str(o, "cat", it->category);
    put_str(o, "lang", it->language);
    put_str(o, "live", it->live);
    ts_buf_printf(o, " %d %d pub=%lld v=%lld l=%lld c=%lld s=%lld d=%lld "
                     "score=%lld merged=%u",
                  (int)it->thumb_width, (int)it->thumb_height,
                  (long long)it->published, (long long)it->views,
                  (long long)it->likes, (long long)it->comments,
                  (long long)it->score, (long long)it->duration_s,
                  (long long)it->rank_score, it->merged);
    for (uint32_t p = 0; p < it->npositions; p++)
      ts_buf_printf(o, " [%s %s %u]", it->positions[p].source,
                    it->positions[p].region, it->positions[p].rank);
    for (uint32_t k = 0; k < it->nmatch_keys; k++)
      ts_buf_printf(o, " {%s}", it->match_keys[k]);
    ts_buf_append_char(o, '\n');
  }
}

static void videos_merge_across_regions(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_item *v = video(&b, "dQw4w9WgXcQ", "US", 10);
  v->views = 100;
  v->likes = 5;
  v->published = 2000;
  v->title = "US title";
  v = video(&b, "dQw4w9WgXcQ", "JP", 3);
  v->views = 300;
  v->comments = 7;
  v->published = 1000;
  v->title = "JP title";
  v->duration_s = 212;
  v = video(&b, "dQw4w9WgXcQ", "DE", 10);
  v->views = 200;
  v->likes = 9;
  v->title = "DE title";
  video(&b, "otherVideo1", "US", 1);
  struct ts_item *out;
  size_t n;
  struct ts_dedupe_stats st;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, &st, &err) == TS_OK);
  REQUIRE(n == 2);
  /* #3 + #10 + #10 scores 98 + 91 + 91 = 280 > 100. */
  const struct ts_item *m = &out[0];
  CHECK_STR(m->key, "dQw4w9WgXcQ");
  CHECK_INT(m->npositions, 3);
  CHECK_STR(m->positions[0].region, "DE");
  CHECK_STR(m->positions[1].region, "JP");
  CHECK_STR(m->positions[2].region, "US");
  CHECK_INT(m->views, 300);
  CHECK_INT(m->likes, 9);
  CHECK_INT(m->comments, 7);
  CHECK_INT(m->published, 1000);
  CHECK_INT(m->duration_s, 212);
  CHECK_INT(m->merged, 3);
  CHECK_INT(m->rank_score, 280);
  /* The representative is the smallest position: (youtube, DE, 10). */
  CHECK_STR(m->title, "DE title");
  CHECK_STR(m->source, "youtube");
  CHECK(m->match_keys == NULL && m->nmatch_keys == 0);
  CHECK_STR(out[1].key, "otherVideo1");
  CHECK_INT(out[1].rank_score, 100);
  CHECK_INT(st.items_in, 4);
  CHECK_INT(st.items_out, 2);
  CHECK_INT(st.videos, 2);
  CHECK_INT(st.by_id, 2);
  /* The batch's own items are untouched. */
  CHECK_INT(b.items[0].npositions, 1);
  CHECK(b.items[0].key == NULL);
  free(out);
  ts_batch_cleanup(&b);
}

static void same_region_twice_keeps_the_better_rank(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  video(&b, "abcdefghijk", "US", 55)->published = TS_TIME_UNKNOWN;
  video(&b, "abcdefghijk", "US", 7)->published = 500;
  struct ts_item *out;
  size_t n;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
  REQUIRE(n == 1);
  CHECK_INT(out[0].npositions, 1);
  CHECK_INT(out[0].positions[0].rank, 7);
  CHECK_INT(out[0].merged, 2);
  CHECK_INT(out[0].rank_score, 94);
  CHECK_INT(out[0].published, 500);
  free(out);
  ts_batch_cleanup(&b);
}

static void unsafe_ids_never_become_keys(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  static const char *const bad[] = {"../../x", "..", ".", "a/b", "a\\b", "",
                                    "x.html", "%2e%2e", "a b",
                                    u8"\u65E5\u672C"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    video(&b, bad[i], "US", 1);
  video(&b, NULL, "US", 2);
  video(&b, "-4GmbBoYQjE", "US", 3);
  struct ts_item *s = story(&b, "hn", "", 1, "javascript:alert(1)", "x");
  s->discussion_url = NULL;
  struct ts_item *nopos = video(&b, "validIdHere", "US", 4);
  nopos->npositions = 0;
  struct ts_item *out;
  size_t n;
  struct ts_dedupe_stats st;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, &st, &err) == TS_OK);
  REQUIRE(n == 1);
  CHECK_STR(out[0].key, "-4GmbBoYQjE");
  CHECK_INT(st.dropped, sizeof bad / sizeof bad[0] + 3);
  free(out);
  ts_batch_cleanup(&b);
}

/* Every byte value inside an id: only [A-Za-z0-9_-] keep the video. */
static void every_id_byte_is_checked(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  size_t good = 0;
  for (unsigned v = 1; v < 256; v++) {
    char id[8] = {'a', 'b', (char)v, 'c', 'd', 'e', (char)('A' + v % 26),
                  '\0'};
    video(&b, ts_batch_str(&b, id), "US", v);
    good += (v >= 'a' && v <= 'z') || (v >= 'A' && v <= 'Z') ||
            (v >= '0' && v <= '9') || v == '_' || v == '-';
  }
  struct ts_item *out;
  size_t n;
  struct ts_dedupe_stats st;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, &st, &err) == TS_OK);
  CHECK_INT(n, good);
  CHECK_INT(st.dropped, 255 - good);
  for (size_t i = 0; i < n; i++)
    CHECK(ts_normalize_video_id_ok(out[i].key));
  free(out);
  ts_batch_cleanup(&b);
}

static void stories_merge_by_url_key(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  story(&b, "newsapi", "us", 4,
        "https://www.example.com/news/story-1/?utm_source=newsapi",
        "Something happened today - Example");
  story(&b, "hackernews", "", 12, "http://example.com/news/story-1#comments",
        "Something happened");
  story(&b, "guardian", "", 2, "https://example.com/news/story-2", "Other");
  struct ts_item *out;
  size_t n;
  struct ts_dedupe_stats st;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, &st, &err) == TS_OK);
  REQUIRE(n == 2);
  const struct ts_item *m = out[0].merged == 2 ? &out[0] : &out[1];
  CHECK_INT(m->merged, 2);
  CHECK_INT(m->npositions, 2);
  CHECK_STR(m->positions[0].source, "hackernews");
  CHECK_STR(m->positions[1].source, "newsapi");
  CHECK_STR(m->title, "Something happened"); /* hackernews sorts first */
  CHECK_STR(m->source, "hackernews");
  CHECK_INT(st.by_url, 1);
  CHECK_INT(st.stories, 2);
  free(out);
  ts_batch_cleanup(&b);
}

static void stories_merge_by_title_key(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  story(&b, "newsapi", "us", 1, "https://news.google.com/rss/articles/AU_1",
        "Breaking: Big News about the economy!");
  story(&b, "guardian", "", 5, "https://www.theguardian.com/economy/1",
        u8"BREAKING \u2013 big news about the Economy");
  /* Short generic titles do not merge. */
  story(&b, "newsapi", "us", 2, "https://a.example/1", "Live updates");
  story(&b, "guardian", "", 6, "https://b.example/2", "Live updates");
  /* CJK titles merge, NFD or not, full-width or not. */
  story(&b, "jp1", "", 1, "https://jp1.example/a",
        u8"\u6771\u4EAC\u3067\u9707\u5EA6\uFF15\u5F37\u306E\u5730\u9707"
        u8"\u304B\u3099\u767A\u751F");
  story(&b, "jp2", "", 1, "https://jp2.example/b",
        u8"\u6771\u4EAC\u3067\u9707\u5EA65\u5F37\u306E\u5730\u9707"
        u8"\u304C\u767A\u751F\uFF01");
  story(&b, "jp1", "", 2, "https://jp1.example/c", u8"\u5730\u9707\u901F\u5831");
  story(&b, "jp2", "", 2, "https://jp2.example/d", u8"\u5730\u9707\u901F\u5831");
  struct ts_item *out;
  size_t n;
  struct ts_dedupe_stats st;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, &st, &err) == TS_OK);
  CHECK_INT(n, 6);
  CHECK_INT(st.by_title, 2);
  size_t merged2 = 0;
  for (size_t i = 0; i < n; i++)
    merged2 += out[i].merged == 2;
  CHECK_INT(merged2, 2);
  free(out);
  ts_batch_cleanup(&b);
}

static void title_keys(void)
{
  struct ts_arena a;
  ts_arena_init(&a, 0);
  const char *k1, *k2;
  CHECK_INT(ts_dedupe_title_key(&a, "Breaking: Big News, about the economy!",
                                16, &k1),
            TS_OK);
  CHECK_STR(k1, "breakingbignewsabouttheeconomy");
  CHECK_INT(ts_dedupe_title_key(&a, "Live updates", 16, &k1), TS_OK);
  CHECK(k1 == NULL);
  CHECK_INT(ts_dedupe_title_key(&a, "Live updates", 11, &k1), TS_OK);
  CHECK_STR(k1, "liveupdates");
  /* Four wide characters weigh 8. */
  CHECK_INT(ts_dedupe_title_key(&a, u8"\u5730\u9707\u901F\u5831", 8, &k1),
            TS_OK);
  CHECK_STR(k1, u8"\u5730\u9707\u901F\u5831");
  CHECK_INT(ts_dedupe_title_key(&a, u8"\u5730\u9707\u901F\u5831", 9, &k1),
            TS_OK);
  CHECK(k1 == NULL);
  /* Width and case fold, NFD composes, punctuation and emoji go. */
  CHECK_INT(ts_dedupe_title_key(&a, u8"\uFF2E\uFF28\uFF2B \uFF86\uFF6D\uFF70"
                                    u8"\uFF7D\uFF9E \U0001F4E2!",
                                1, &k1),
            TS_OK);
  CHECK_INT(ts_dedupe_title_key(&a, u8"nhk\u30CB\u30E5\u30FC\u30B9\u3099", 1,
                                &k2),
            TS_OK);
  CHECK_STR(k1, k2);
  /* Marks stay: Hindi vowel signs carry meaning. */
  CHECK_INT(ts_dedupe_title_key(&a, u8"\u0939\u093F\u0902\u0926\u0940", 1,
                                &k1),
            TS_OK);
  CHECK_STR(k1, u8"\u0939\u093F\u0902\u0926\u0940");
  CHECK_INT(ts_dedupe_title_key(&a, "bad \xC0 utf8 here is long enough", 1,
                                &k1),
            TS_OK);
  CHECK(k1 == NULL);
  CHECK_INT(ts_dedupe_title_key(&a, NULL, 1, &k1), TS_OK);
  CHECK(k1 == NULL);
  ts_arena_cleanup(&a);
}

static void transitive_merges_keep_every_key(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  /* A-B share a URL, B-C a title: one story. */
  story(&b, "s1", "", 1, "https://a.example/story", "First wording of this");
  story(&b, "s2", "", 2, "https://a.example/story/",
        "Second wording of the same story");
  story(&b, "s3", "", 3, "https://c.example/other",
        "Second Wording Of The Same Story!");
  struct ts_item *out;
  size_t n;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
  REQUIRE(n == 1);
  CHECK_INT(out[0].merged, 3);
  CHECK_INT(out[0].nmatch_keys, 4);
  CHECK_STR(out[0].match_keys[0], "a.example/story");
  CHECK_STR(out[0].match_keys[1], "c.example/other");
  CHECK_STR(out[0].match_keys[2], "firstwordingofthis");
  CHECK_STR(out[0].match_keys[3], "secondwordingofthesamestory");
  CHECK_STR(out[0].title, "First wording of this");

  /* The page key is FNV-1a 64 of the representative's URL key. */
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (const char *p = "a.example/story"; *p; p++)
    h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
  char expect[17];
  snprintf(expect, sizeof expect, "%016llx", (unsigned long long)h);
  CHECK_STR(out[0].key, expect);
  CHECK_INT(strlen(out[0].key), 16);
  free(out);
  ts_batch_cleanup(&b);
}

/* Thousands of groups whose keys share long prefixes (ids that differ
 * only after their 8th, 10th or 11th character) and whose scores spread
 * wide: the order is exactly (score down, videos first, key), however
 * the records were sorted. */
static void large_outputs_are_ordered(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  rng_state = 99;
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  static const char *const regions[] = {"US", "GB", "DE", "JP", "KR", ""};
  for (int i = 0; i < 6000; i++) {
    char id[12];
    uint64_t x = rnd();
    /* Few distinct prefixes, so that many keys tie on 8 bytes. */
    memcpy(id, i % 3 ? "sharedpre" : "AAAAAAAAA", 9);
    id[i % 5 ? 9 : 7] = alphabet[x & 63];
    id[9] = alphabet[(x >> 6) & 63];
    id[10] = alphabet[(x >> 12) & 63];
    id[11] = '\0';
    const char *ids = ts_batch_str(&b, id);
    uint32_t rank = (uint32_t)(rnd() % (i % 2 ? 150 : 40000)) + 1;
    video(&b, ids, regions[rnd() % 6], rank);
    if (i % 4 == 0) {
      char url[64];
      snprintf(url, sizeof url, "https://s%d.example/%llu", i % 7,
               (unsigned long long)(rnd() % 3000));
      story(&b, "hn", "", (uint32_t)(rnd() % 300) + 1, ts_batch_str(&b, url),
            "t");
    }
  }
  struct ts_item *out;
  size_t n;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
  REQUIRE(n > 1000);
  for (size_t i = 1; i < n; i++) {
    const struct ts_item *x = &out[i - 1], *y = &out[i];
    bool before = x->rank_score != y->rank_score
                    ? x->rank_score > y->rank_score
                  : x->kind != y->kind ? x->kind == TS_ITEM_VIDEO
                                       : strcmp(x->key, y->key) < 0;
    if (!before) {
      printf("# %zu: %lld %d %s, then %lld %d %s\n", i,
             (long long)x->rank_score, (int)x->kind, x->key,
             (long long)y->rank_score, (int)y->kind, y->key);
      CHECK(before);
      break;
    }
  }
  free(out);
  ts_batch_cleanup(&b);
}

/* Pathological: 40,000 videos with the same score whose ids share their
 * first 8 bytes, so that the radix sort's numbers all tie and the tie
 * fix sorts one run of 40,000 (a quadratic fix would take minutes). */
static void ids_with_one_prefix_sort_in_n_log_n(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  rng_state = 7;
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 40000; i++) {
    char id[12] = "samePrefix";
    uint64_t x = rnd();
    id[8] = alphabet[x & 63];
    id[9] = alphabet[(x >> 6) & 63];
    id[10] = alphabet[(x >> 12) & 63];
    id[11] = '\0';
    video(&b, ts_batch_str(&b, id), "US", 200 + (uint32_t)i);
  }
  struct ts_item *out;
  size_t n;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
  REQUIRE(n > 30000);
  for (size_t i = 1; i < n; i++)
    if (strcmp(out[i - 1].key, out[i].key) >= 0) {
      CHECK(strcmp(out[i - 1].key, out[i].key) < 0);
      break;
    }
  free(out);
  ts_batch_cleanup(&b);
}

static void output_is_ordered_by_score_kind_key(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  video(&b, "bbbbbbbbbbb", "US", 2);
  video(&b, "aaaaaaaaaaa", "US", 2);
  story(&b, "hn", "", 2, "https://x.example/1", "one");
  video(&b, "ccccccccccc", "US", 1);
  video(&b, "zzzzzzzzzzz", "US", 150); /* below 101: score 0 */
  video(&b, "ddddddddddd", "US", 10);
  video(&b, "ddddddddddd", "JP", 10);
  video(&b, "ddddddddddd", "KR", 10);
  video(&b, "ddddddddddd", "DE", 10);
  video(&b, "ddddddddddd", "FR", 10);
  struct ts_item *out;
  size_t n;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
  REQUIRE(n == 6);
  CHECK_STR(out[0].key, "ddddddddddd");
  CHECK_INT(out[0].rank_score, 455);
  CHECK_STR(out[1].key, "ccccccccccc");
  CHECK_INT(out[1].rank_score, 100);
  CHECK_STR(out[2].key, "aaaaaaaaaaa");
  CHECK_STR(out[3].key, "bbbbbbbbbbb");
  CHECK_INT(out[4].kind, TS_ITEM_STORY);
  CHECK_INT(out[4].rank_score, 99);
  CHECK_STR(out[5].key, "zzzzzzzzzzz");
  CHECK_INT(out[5].rank_score, 0);
  struct ts_item_position p[2] = {{"a", "US", 1, false},
                                  {"a", "JP", 100, false}};
  CHECK_INT(ts_dedupe_rank_score(p, 2), 101);
  free(out);
  ts_batch_cleanup(&b);
}

/* Regression: scratch space was sized as if a lone item had one
 * position, but an already-merged item (from a snapshot) has many. */
static void a_lone_merged_item_keeps_all_positions(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_item *v = video(&b, "lonelyVideo", "US", 3);
  static const char *const regions[] = {"US", "JP", "KR", "DE", "FR", "GB",
                                        "IN", "BR", "CA", "MX", "IT", "ES"};
  struct ts_item_position *p = ts_arena_alloc(&b.arena, 12 * sizeof *p);
  for (int i = 0; i < 12; i++)
    p[i] = (struct ts_item_position){"youtube", {0}, (uint32_t)(12 - i),
                                     false};
  for (int i = 0; i < 12; i++)
    memcpy(p[i].region, regions[i], 3);
  v->positions = p;
  v->npositions = 12;
  v->merged = 12;
  struct ts_item *s = story(&b, "hn", "", 1, "https://x.example/a",
                            "One lonely merged story with keys");
  static const char *keys[] = {"a.example/1", "b.example/2", "c.example/3",
                               "d.example/4", "x.example/a"};
  s->match_keys = keys;
  s->nmatch_keys = 5;
  struct ts_item *out;
  size_t n;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
  REQUIRE(n == 2);
  const struct ts_item *m = out[0].kind == TS_ITEM_VIDEO ? &out[0] : &out[1];
  CHECK_INT(m->npositions, 12);
  CHECK_STR(m->positions[0].region, "BR");
  CHECK_INT(m->merged, 12);
  const struct ts_item *t = m == &out[0] ? &out[1] : &out[0];
  CHECK_INT(t->nmatch_keys, 6);
  free(out);
  ts_batch_cleanup(&b);
}

/* The merged item takes the best thumbnail of any member, whichever
 * member represents it: NewsAPI often sends a story without its image
 * when the Guardian has it. */
static void the_best_thumbnail_wins(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  story(&b, "guardian", "", 1, "https://example.com/a", "A story");
  struct ts_item *h = story(&b, "hackernews", "", 4, "https://example.com/a",
                            "A story");
  h->thumbnail = "https://media.example/small.jpg";
  h->thumb_width = 140;
  h->thumb_height = 84;
  struct ts_item *n = story(&b, "newsapi", "us", 9, "https://example.com/a",
                            "A story");
  n->thumbnail = "https://media.example/large.jpg";
  n->thumb_width = 500;
  n->thumb_height = 300;
  struct ts_item *v1 = video(&b, "someVideo01", "US", 1);
  v1->thumbnail = "https://i.example/b.jpg";
  struct ts_item *v2 = video(&b, "someVideo01", "JP", 2);
  v2->thumbnail = "https://i.example/a.jpg"; /* same size: smaller URL */
  struct ts_item *out;
  size_t nout;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &nout, NULL, &err) == TS_OK);
  REQUIRE(nout == 2);
  const struct ts_item *s = out[0].kind == TS_ITEM_STORY ? &out[0] : &out[1];
  const struct ts_item *v = s == &out[0] ? &out[1] : &out[0];
  CHECK_STR(s->source, "guardian"); /* still the representative */
  CHECK_STR(s->thumbnail, "https://media.example/large.jpg");
  CHECK_INT(s->thumb_width, 500);
  CHECK_INT(s->thumb_height, 300);
  CHECK_STR(v->thumbnail, "https://i.example/a.jpg");
  free(out);
  ts_batch_cleanup(&b);
}

static void empty_input(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_item *out = (struct ts_item *)&b;
  size_t n = 99;
  struct ts_error err;
  CHECK_INT(ts_dedupe(&b, &out, &n, NULL, &err), TS_OK);
  CHECK_INT(n, 0);
  free(out);
  ts_batch_cleanup(&b);
}

/* ---- properties ----------------------------------------------------- */

static const char *const video_ids[] = {
  "id000000001", "id000000002", "id000000003", "id000000004", "id000000005",
  "id000000006", "id000000007", "id000000008", "-4GmbBoYQjE", "_underscore",
  "../badvideo",
};
static const char *const urls[] = {
  "https://www.example.com/a", "http://example.com/a/", 
  "https://example.com/a?utm_source=x", "https://example.com/b",
  "https://example.com/c", "https://news.example.org/2024/d",
  "https://news.example.org/2024/d?ref=hn", "https://e.example/e",
  "https://f.example/f", "https://g.example/g", "javascript:void(0)",
  "https://h.example/h", "https://i.example/i#x",
};
static const char *const titles[] = {
  "A sufficiently long shared headline", "A sufficiently long SHARED headline!",
  "Another long headline about things", "Third long headline for the test",
  "Short", "Update",
  u8"\u6771\u4EAC\u3067\u9707\u5EA6\uFF15\u5F37\u306E\u5730\u9707",
  u8"\u6771\u4EAC\u3067\u9707\u5EA65\u5F37\u306E\u5730\u9707",
  "Fourth distinct headline words here",
};
static const char *const sources[] = {"guardian", "hackernews", "newsapi"};
static const char *const regions[] = {"US", "JP", "KR", "DE", ""};
static const char *const summaries[] = {NULL, "one", "two"};

static void random_items(struct ts_batch *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    struct ts_item *it = ts_batch_new_item(b);
    const char *region = regions[rnd() % 5];
    uint32_t rank = (uint32_t)(rnd() % 120) + 1;
    if (rnd() % 2) {
      it->kind = TS_ITEM_VIDEO;
      it->id = video_ids[rnd() % (sizeof video_ids / sizeof video_ids[0])];
      it->title = titles[rnd() % 3];
      it->url = "https://www.youtube.com/watch?v=x";
      it->source = "youtube";
      ts_item_set_position(b, it, "youtube", region, rank);
    } else {
      it->kind = TS_ITEM_STORY;
      it->url = urls[rnd() % (sizeof urls / sizeof urls[0])];
      if (rnd() % 4 == 0)
        it->discussion_url = "https://news.ycombinator.com/item?id=1";
      it->title = titles[rnd() % (sizeof titles / sizeof titles[0])];
      it->source = sources[rnd() % 3];
      it->id = rnd() % 2 ? "1" : "2";
      ts_item_set_position(b, it, it->source, region, rank);
    }
    it->summary = summaries[rnd() % 3];
    it->author = summaries[rnd() % 3];
    it->views = rnd() % 3 ? (int64_t)(rnd() % 1000) : TS_UNKNOWN;
    it->likes = rnd() % 3 ? (int64_t)(rnd() % 100) : TS_UNKNOWN;
    it->score = rnd() % 3 ? (int64_t)(rnd() % 500) : TS_UNKNOWN;
    it->published = rnd() % 3 ? (int64_t)(rnd() % 100000) : TS_TIME_UNKNOWN;
    it->duration_s = rnd() % 3 ? (int64_t)(rnd() % 100) : TS_UNKNOWN;
    if (rnd() % 3) {
      it->thumbnail = summaries[1 + rnd() % 2];
      it->thumb_width = (int32_t)(rnd() % 3) * 160;
      it->thumb_height = (int32_t)(rnd() % 3) * 90;
    }
  }
}

static void shuffle(struct ts_item *items, size_t n)
{
  for (size_t i = n; i > 1; i--) {
    size_t j = rnd() % i;
    struct ts_item t = items[i - 1];
    items[i - 1] = items[j];
    items[j] = t;
  }
}

static void any_input_order_gives_the_same_output(void)
{
  rng_state = 11;
  struct ts_buf first, again;
  ts_buf_init(&first, 0);
  ts_buf_init(&again, 0);
  for (int round = 0; round < 40; round++) {
    struct ts_batch b;
    ts_batch_init(&b);
    random_items(&b, 20 + rnd() % 300);
    struct ts_item *out;
    size_t n;
    struct ts_error err;
    REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
    serialize(out, n, &first);
    free(out);
    for (int k = 0; k < 5; k++) {
      shuffle(b.items, b.nitems);
      REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
      serialize(out, n, &again);
      free(out);
      if (strcmp(first.data, again.data)) {
        CHECK_STR(again.data, first.data);
        ts_batch_cleanup(&b);
        goto done;
      }
    }
    ts_batch_cleanup(&b);
  }
done:
  ts_buf_cleanup(&first);
  ts_buf_cleanup(&again);
}

static void merging_shards_equals_deduping_all(void)
{
  rng_state = 99;
  struct ts_buf whole, sharded;
  ts_buf_init(&whole, 0);
  ts_buf_init(&sharded, 0);
  for (int round = 0; round < 60; round++) {
    struct ts_batch b;
    ts_batch_init(&b);
    random_items(&b, 10 + rnd() % 250);
    size_t n = b.nitems, nshards = 2 + rnd() % 3;
    struct ts_item *parts[4], *outs[4];
    size_t counts[4] = {0}, nouts[4];
    for (size_t s = 0; s < nshards; s++)
      parts[s] = malloc(n * sizeof **parts);
    for (size_t i = 0; i < n; i++) {
      size_t s = rnd() % nshards;
      parts[s][counts[s]++] = b.items[i];
    }
    struct ts_error err;
    struct ts_item *all;
    size_t nall;
    REQUIRE(ts_dedupe(&b, &all, &nall, NULL, &err) == TS_OK);
    serialize(all, nall, &whole);
    for (size_t s = 0; s < nshards; s++)
      REQUIRE(ts_dedupe_items(&b, parts[s], counts[s], NULL, &outs[s],
                              &nouts[s], NULL, &err) == TS_OK);
    /* In either order of the shards. */
    for (int order = 0; order < 2; order++) {
      const struct ts_item *sets[4];
      size_t setn[4];
      for (size_t s = 0; s < nshards; s++) {
        size_t from = order ? nshards - 1 - s : s;
        sets[s] = outs[from];
        setn[s] = nouts[from];
      }
      struct ts_item *merged;
      size_t nmerged;
      REQUIRE(ts_dedupe_merge(&b, sets, setn, nshards, NULL, &merged,
                              &nmerged, NULL, &err) == TS_OK);
      serialize(merged, nmerged, &sharded);
      bool same = !strcmp(whole.data, sharded.data);
      if (!same)
        CHECK_STR(sharded.data, whole.data);
      /* Deduping a deduped set changes nothing. */
      struct ts_item *twice;
      size_t ntwice;
      REQUIRE(ts_dedupe_items(&b, merged, nmerged, NULL, &twice, &ntwice,
                              NULL, &err) == TS_OK);
      serialize(twice, ntwice, &sharded);
      if (same && strcmp(whole.data, sharded.data)) {
        CHECK_STR(sharded.data, whole.data);
        same = false;
      }
      free(twice);
      free(merged);
      if (!same) {
        round = 1000;
        break;
      }
    }
    for (size_t s = 0; s < nshards; s++) {
      free(outs[s]);
      free(parts[s]);
    }
    free(all);
    ts_batch_cleanup(&b);
  }
  ts_buf_cleanup(&whole);
  ts_buf_cleanup(&sharded);
}

/* One giant group each way: linear work, no quadratic step (bounded by
 * the runner's timeout, not by a timing assertion). */
static void huge_groups_stay_linear(void)
{
  struct ts_batch b;
  ts_batch_init(&b);
  static char urlbuf[60000][40];
  for (size_t i = 0; i < 60000; i++) {
    snprintf(urlbuf[i], sizeof urlbuf[i], "https://x.example/%zu", i);
    story(&b, "s", regions[i % 5], (uint32_t)(i % 200) + 1, urlbuf[i],
          "The same long headline everywhere");
    video(&b, "sameVideoId", regions[i % 4], (uint32_t)(i % 300) + 1);
  }
  struct ts_item *out;
  size_t n;
  struct ts_error err;
  REQUIRE(ts_dedupe(&b, &out, &n, NULL, &err) == TS_OK);
  REQUIRE(n == 2);
  CHECK_INT(out[0].merged + out[1].merged, 120000);
  const struct ts_item *s = out[0].kind == TS_ITEM_STORY ? &out[0] : &out[1];
  CHECK_INT(s->npositions, 5);
  CHECK_INT(s->nmatch_keys, 60001);
  free(out);
  ts_batch_cleanup(&b);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(videos_merge_across_regions),
    TEST(same_region_twice_keeps_the_better_rank),
    TEST(unsafe_ids_never_become_keys),
    TEST(every_id_byte_is_checked),
    TEST(stories_merge_by_url_key),
    TEST(stories_merge_by_title_key),
    TEST(title_keys),
    TEST(transitive_merges_keep_every_key),
    TEST(output_is_ordered_by_score_kind_key),
    TEST(large_outputs_are_ordered),
    TEST(ids_with_one_prefix_sort_in_n_log_n),
    TEST(a_lone_merged_item_keeps_all_positions),
    TEST(the_best_thumbnail_wins),
    TEST(empty_input),
    TEST(any_input_order_gives_the_same_output),
    TEST(merging_shards_equals_deduping_all),
    TEST(huge_groups_stay_linear),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

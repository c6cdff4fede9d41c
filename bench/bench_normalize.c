/*
 * Normalize + dedupe 100,000 raw items, as a big sharded run would.
 * Target: more than 1,000,000 items/s on one core, peak RSS under 200 MB.
 *
 * The items are generated here, deterministically, to look like what
 * the adapters produce: 70% YouTube videos (a fifth of them trending in
 * four regions at once), 30% stories from Hacker News, The Guardian and
 * NewsAPI (a fifth of them the same story from two sources, by URL with
 * different tracking parameters or by title). Titles mix English ASCII,
 * Japanese (some in NFD, as some uploaders send), Korean, emoji with ZWJ
 * sequences and flags, and accented Latin; descriptions run to 1,500
 * bytes with line breaks; counts, times and durations arrive as the
 * strings the APIs send. Only the stage work is timed: parsing those
 * strings, HTML to text for HN/Guardian, ts_normalize_batch and
 * ts_dedupe. The items are generated once; each of the 5 runs starts
 * from a fresh copy of them with a fresh arena; the median counts.
 *
 * Usage: bench_normalize [items] [runs]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <utf8proc.h>

#include "dedupe.h"
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

#define PICK(a) ((a)[rnd() % (sizeof(a) / sizeof((a)[0]))])

static const char *const words[] = {
  "official", "video", "music", "live", "trailer", "new", "best", "how",
  "to", "make", "the", "world", "championship", "highlights", "episode",
  "review", "reaction", "challenge", "day", "in", "my", "life", "update",
  "season", "final", "vs", "game", "recipe", "easy", "minute", "news",
  "breaking", "election", "market", "climate", "science", "space", "launch",
  "football", "goals", "interview", "documentary", "behind", "scenes",
  "tour", "album", "remix", "cover", "acoustic", "session", "full", "match",
};
static const char *const japanese[] = {
  "【公式】新曲ミュージックビデオ", "今日のニュースまとめ", "ゲーム実況パート",
  "東京で震度５強の地震が発生", "プロ野球ハイライト", "料理が簡単にできる方法",
  "バズったダンス動画", "ドラマ最終回の感想", "ガチャで神引き", "パンケーキの作り方",
};
static const char *const korean[] = {
  "뮤직비디오 공식", "오늘의 뉴스 하이라이트", "먹방 브이로그", "드라마 예고편",
  "아이돌 무대 직캠", "게임 실황 모음",
};
static const char *const emoji[] = {
  "👨‍👩‍👧 family vlog", "🔥🔥 HOT", "🇯🇵🇺🇸 collab", "👍🏽 reaction",
  "🏳️‍🌈 pride", "😂😂😂", "🎉 celebration",
};
static const char *const accented[] = {
  "Canción oficial año", "Tiếng Việt hôm nay", "Fußball Ergebnisse",
  "Éxito de la semana", "Crème brûlée façile", "Ação e reação",
};
static const char *const sites[] = {
  "www.theguardian.com", "www.bbc.co.uk", "edition.cnn.com", "www.nytimes.com",
  "www.reuters.com", "apnews.com", "arstechnica.com", "github.com",
  "www.washingtonpost.com", "techcrunch.com",
};
static const char *const publishers[] = {"Reuters", "BBC News", "CNN",
                                         "The Verge", "Associated Press"};
static const char *const regions[] = {"US", "GB", "DE", "FR", "IN",
                                      "BR", "JP", "KR"};

struct gen {
  struct ts_batch *b;
  struct ts_buf tmp;
  /* The raw count/time strings of all items, together, as a parsed
   * JSON tree keeps an item's statistics together: an adapter parses
   * them while they are in the cache, not after 100 MB of text. */
  struct ts_arena *values;
};

/* The raw strings an adapter would hold for one item before parsing. */
struct raw_values {
  const char *views, *likes, *comments, *published, *duration;
  const char *html; /* HN text / Guardian trailText, or NULL */
};

static const char *str(struct gen *g)
{
  return ts_batch_strn(g->b, g->tmp.data, g->tmp.len);
}

static void english(struct gen *g, int nwords)
{
  for (int i = 0; i < nwords; i++) {
    const char *w = PICK(words);
    if (i)
      ts_buf_append_char(&g->tmp, ' ');
    if (i == 0 || rnd() % 5 == 0)
      ts_buf_printf(&g->tmp, "%c%s", w[0] - 32, w + 1);
    else
      ts_buf_append_str(&g->tmp, w);
  }
}

static const char *nfd(const char *s)
{
  static char buf[1024];
  utf8proc_uint8_t *d = utf8proc_NFD((const utf8proc_uint8_t *)s);
  snprintf(buf, sizeof buf, "%s", (const char *)d);
  free(d);
  return buf;
}

static void video_title(struct gen *g, uint64_t n)
{
  ts_buf_reset(&g->tmp);
  switch (n % 20) {
  case 0: case 1: case 2:
    ts_buf_printf(&g->tmp, "%s #%u", PICK(japanese), (unsigned)(n % 97));
    break;
  case 3:
    ts_buf_printf(&g->tmp, "%s %u", nfd(PICK(japanese)), (unsigned)(n % 97));
    break;
  case 4: case 5:
    ts_buf_printf(&g->tmp, "%s %u", PICK(korean), (unsigned)(n % 97));
    break;
  case 6: case 7:
    ts_buf_printf(&g->tmp, "%s ", PICK(emoji));
    english(g, 4);
    break;
  case 8: case 9:
    ts_buf_printf(&g->tmp, "%s - ", PICK(accented));
    english(g, 3);
    break;
  case 10:
    english(g, 6);
    ts_buf_append_str(&g->tmp, "  (Official\tVideo) ");
    break;
  default:
    english(g, 5 + (int)(n % 7));
    ts_buf_printf(&g->tmp, " | %s", PICK(words));
    break;
  }
}

static void description(struct gen *g, uint64_t n)
{
  ts_buf_reset(&g->tmp);
  size_t target = rnd() % 1500;
  while (g->tmp.len < target) {
    if (n % 5 == 0)
      ts_buf_append_str(&g->tmp, PICK(japanese));
    else
      english(g, 8);
    ts_buf_append_str(&g->tmp, rnd() % 3 ? ".\n" : ".\r\n\r\n");
    if (rnd() % 6 == 0)
      ts_buf_printf(&g->tmp, "Follow: https://example.com/u/%u?utm_source="
                             "yt\n",
                    (unsigned)(n % 1000));
  }
}

static void counts(struct gen *g, struct raw_values *v, uint64_t n)
{
  char buf[32];
  snprintf(buf, sizeof buf, "%llu",
           (unsigned long long)(rnd() % UINT64_C(9000000000)));
  v->views = ts_arena_strdup(g->values, buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)(rnd() % 9000000));
  v->likes = n % 10 == 0 ? NULL : ts_arena_strdup(g->values, buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)(rnd() % 90000));
  v->comments = n % 7 == 0 ? NULL : ts_arena_strdup(g->values, buf);
  char t[TS_NORMALIZE_TIME_SIZE + 16];
  ts_normalize_format_time(1700000000 + (int64_t)(rnd() % 50000000), t);
  if (n % 4 == 1)
    memcpy(t + 19, ".000Z", 6);
  v->published = ts_arena_strdup(g->values, t);
  static const char *const durations[] = {"PT15M46S", "PT58S", "PT1H4M2S",
                                          "P0D", "PT3M", "P1DT2H3M4S"};
  v->duration = PICK(durations);
}

static void add_video(struct gen *g, struct raw_values *vals, uint64_t vid,
                      const char *region, uint32_t rank)
{
  struct ts_item *it = ts_batch_new_item(g->b);
  it->kind = TS_ITEM_VIDEO;
  it->source = "youtube";
  char id[16];
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint64_t x = vid * UINT64_C(0x9E3779B97F4A7C15);
  for (int i = 0; i < 11; i++, x >>= 6)
    id[i] = alphabet[x & 63];
  id[11] = '\0';
  it->id = ts_batch_str(g->b, id);
  uint64_t save = rng_state;
  rng_state = vid; /* the same video has the same text in every region */
  video_title(g, vid);
  it->title = str(g);
  description(g, vid);
  it->summary = str(g);
  rng_state = save;
  ts_buf_reset(&g->tmp);
  ts_buf_printf(&g->tmp, "https://www.youtube.com/watch?v=%s%s", id,
                vid % 5 == 0 ? "&feature=share&utm_source=bench" : "");
  it->url = str(g);
  ts_buf_reset(&g->tmp);
  ts_buf_printf(&g->tmp, "https://i.ytimg.com/vi/%s/hqdefault.jpg", id);
  it->thumbnail = str(g);
  it->thumb_width = 480;
  it->thumb_height = 360;
  it->author = vid % 3 ? "Some Channel " : "チャンネル公式";
  it->category = "24";
  it->language = vid % 2 ? "en" : "ja";
  it->live = vid % 50 == 0 ? "live" : "none";
  counts(g, vals, vid);
  vals->html = NULL;
  ts_item_set_position(g->b, it, "youtube", region, rank);
}

static void add_story(struct gen *g, struct raw_values *vals, uint64_t sid,
                      int variant, uint32_t rank)
{
  struct ts_item *it = ts_batch_new_item(g->b);
  it->kind = TS_ITEM_STORY;
  static const char *const sources[] = {"hackernews", "guardian", "newsapi"};
  const char *source = sources[(sid + (uint64_t)variant) % 3];
  it->source = source;
  uint64_t save = rng_state;
  rng_state = sid;
  ts_buf_reset(&g->tmp);
  english(g, 7 + (int)(sid % 5));
  const char *publisher = PICK(publishers);
  const char *site = PICK(sites);
  rng_state = save;
  if (!strcmp(source, "newsapi")) {
    ts_buf_printf(&g->tmp, " - %s", publisher);
    it->author = publisher;
  } else if (!strcmp(source, "hackernews")) {
    it->author = "pg";
  }
  it->title = str(g);
  ts_buf_reset(&g->tmp);
  if (!strcmp(source, "newsapi") && sid % 9 == 0)
    ts_buf_printf(&g->tmp, "https://news.google.com/rss/articles/"
                           "AU_yqL%llu?oc=5",
                  (unsigned long long)sid);
  else
    ts_buf_printf(&g->tmp, "https://%s/2025/may/%llu/story-%llu%s", site,
                  (unsigned long long)(sid % 28),
                  (unsigned long long)sid,
                  variant == 0 ? "?utm_source=rss&utm_medium=feed"
                  : variant == 1 ? "/?ref=hn"
                                 : "#comments");
  it->url = str(g);
  char id[24];
  snprintf(id, sizeof id, "%llu", (unsigned long long)(40000000 + sid));
  it->id = ts_batch_str(g->b, id);
  if (!strcmp(source, "hackernews")) {
    ts_buf_reset(&g->tmp);
    ts_buf_printf(&g->tmp, "https://news.ycombinator.com/item?id=%s", id);
    it->discussion_url = str(g);
    vals->html = sid % 4 ? NULL
                         : "I&#x27;ve been working on this.<p>See <a href="
                           "\"https:&#x2F;&#x2F;example.com\">here</a>";
  } else if (!strcmp(source, "guardian")) {
    vals->html = "<strong>Live:</strong> what we know so far &ndash; "
                 "latest &amp; updates";
    it->thumbnail = "https://i.guim.co.uk/img/media/x/master/500.jpg";
  } else {
    vals->html = NULL;
    it->summary = "The article text is cut to about 200 characters… "
                  "[+1234 chars]";
  }
  counts(g, vals, sid);
  ts_item_set_position(g->b, it, source,
                       !strcmp(source, "newsapi") ? "us" : "", rank);
}

/* 70% videos, a fifth of their raw items from videos in 4 regions; 30%
 * stories, a fifth of them a second copy from another source. */
static void generate(struct ts_batch *b, struct ts_arena *values, size_t n,
                     struct raw_values *vals)
{
  struct gen g = {.b = b, .values = values};
  ts_buf_init(&g.tmp, 0);
  rng_state = 12345;
  size_t nvideo = n * 7 / 10, k = 0;
  size_t shared_raw = nvideo / 5, shared = shared_raw / 4;
  uint64_t vid = 1;
  uint32_t rank[8] = {0};
  for (size_t i = 0; i < shared && k < n; i++, vid++)
    for (int r = 0; r < 4 && k < n; r++) {
      size_t region = (i + (size_t)r * 2) % 8;
      add_video(&g, &vals[k++], vid, regions[region], ++rank[region]);
    }
  while (k < nvideo) {
    size_t region = rnd() % 8;
    add_video(&g, &vals[k++], vid++, regions[region], ++rank[region]);
  }
  uint64_t sid = 1;
  uint32_t srank = 0;
  while (k < n) {
    add_story(&g, &vals[k++], sid, 0, ++srank);
    if (sid % 4 == 0 && k < n)
      add_story(&g, &vals[k++], sid, 1 + (int)(sid % 2), ++srank);
    sid++;
  }
  ts_buf_cleanup(&g.tmp);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: less disturbed than wall time by other
 * processes on a shared machine. */
static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long minor_faults(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
  long runs_arg = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
  int runs = runs_arg > 0 && runs_arg < 100 ? (int)runs_arg : 0;
  if (n == 0 || runs <= 0 || runs > 99) {
    fprintf(stderr, "usage: bench_normalize [items] [runs<=99]\n");
    return 2;
  }
  double total[99], norm[99], dedupe[99], cpu[99];
  long faults[99];
  size_t nout = 0, nkept = 0;
  struct ts_dedupe_stats dst = {0};
  struct raw_values *vals = malloc(n * sizeof *vals);
  if (!vals)
    return 1;
  /* Generate once; every run starts from a fresh copy of the raw items
   * and a fresh arena for what the stages allocate, as a real run would
   * (its raw strings live in the arena the adapters filled). */
  struct ts_batch gen;
  ts_batch_init(&gen);
  struct ts_arena values;
  ts_arena_init(&values, 0);
  generate(&gen, &values, n, vals);
  struct ts_item *raw = malloc(n * sizeof *raw);
  if (!raw)
    return 1;
  memcpy(raw, gen.items, n * sizeof *raw);
  for (int r = 0; r < runs; r++) {
    struct ts_batch b = gen;
    ts_arena_init(&b.arena, 256 * 1024);
    memcpy(b.items, raw, n * sizeof *raw);
    b.nitems = n;
    b.statuses = NULL;
    b.nstatuses = b.statuses_cap = 0;

    long f0 = minor_faults();
    double c0 = cpu_now();
    double t0 = now();
    uint32_t repaired = 0;
    for (size_t i = 0; i < b.nitems; i++) {
      struct ts_item *it = &b.items[i];
      struct raw_values *v = &vals[i];
      if (!ts_normalize_parse_count(v->views, &it->views))
        it->views = TS_UNKNOWN;
      if (!v->likes || !ts_normalize_parse_count(v->likes, &it->likes))
        it->likes = TS_UNKNOWN;
      if (!v->comments ||
          !ts_normalize_parse_count(v->comments, &it->comments))
        it->comments = TS_UNKNOWN;
      if (!ts_normalize_parse_time(v->published, &it->published))
        it->published = TS_TIME_UNKNOWN;
      if (it->kind == TS_ITEM_VIDEO &&
          !ts_normalize_parse_duration(v->duration, &it->duration_s))
        it->duration_s = TS_UNKNOWN;
      if (v->html)
        it->summary = ts_normalize_html(&b.arena, v->html, 400, &repaired);
    }
    struct ts_normalize_stats nst = {0};
    struct ts_error err;
    if (ts_normalize_batch(&b, NULL, &nst, &err) != TS_OK) {
      fprintf(stderr, "bench_normalize: %s\n", err.msg);
      return 1;
    }
    double t1 = now();
    struct ts_item *out;
    if (ts_dedupe(&b, &out, &nout, &dst, &err) != TS_OK) {
      fprintf(stderr, "bench_normalize: %s\n", err.msg);
      return 1;
    }
    double t2 = now();
    cpu[r] = cpu_now() - c0;
    faults[r] = minor_faults() - f0;
    total[r] = t2 - t0;
    norm[r] = t1 - t0;
    dedupe[r] = t2 - t1;
    nkept = b.nitems;
    free(out);
    free(b.statuses);
    ts_arena_cleanup(&b.arena);
  }
  free(raw);
  ts_batch_cleanup(&gen);
  ts_arena_cleanup(&values);
  free(vals);
  long fault_sum = 0;
  for (int r = 0; r < runs; r++)
    fault_sum += faults[r];
  qsort(total, (size_t)runs, sizeof(double), cmp_double);
  qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
  qsort(norm, (size_t)runs, sizeof(double), cmp_double);
  qsort(dedupe, (size_t)runs, sizeof(double), cmp_double);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double med = total[runs / 2];
  printf("items:        %zu raw -> %zu kept -> %zu merged "
         "(%llu videos, %llu stories)\n",
         n, nkept, nout, (unsigned long long)dst.videos,
         (unsigned long long)dst.stories);
  printf("normalize:    %.1f ms (median of %d)\n", norm[runs / 2] * 1e3, runs);
  printf("dedupe:       %.1f ms (median of %d)\n", dedupe[runs / 2] * 1e3,
         runs);
  printf("total:        %.1f ms median, %.1f ms best, %.1f ms worst\n",
         med * 1e3, total[0] * 1e3, total[runs - 1] * 1e3);
  printf("cpu time:     %.1f ms median\n", cpu[runs / 2] * 1e3);
  printf("page faults:  %ld per run on average (first run %ld)\n",
         fault_sum / runs, faults[0]);
  printf("throughput:   %.0f items/s (median wall), %.0f items/s (median "
         "cpu)\n",
         (double)n / med, (double)n / cpu[runs / 2]);
  printf("peak RSS:     %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
  return 0;
}

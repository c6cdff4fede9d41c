/*
 * The mock API server, end to end: the real binary on loopback, driven
 * through mockapi_client and libcurl. Every check looks at what a client
 * sees (status, headers, body, curl's error code) and, where it matters,
 * at what the server recorded in /__stats.
 *
 * Timing checks are lower bounds or generous ratios only: the machines are
 * shared and noisy, and a test that sometimes fails teaches nothing.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mockapi_client.h"
#include "util/buf.h"
#include "util/fs.h"

/* Bodies are kept up to this size; bytes past it are only counted. */
#define BODY_KEEP (1u << 20)

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static const char *root_dir(void)
{
  static char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/tests/fixtures/mock-basic", ts_test_root());
  return path;
}

/* A fixture path; four rotating buffers so a call can use several. */
static const char *fixture(const char *name)
{
  static char paths[4][2 * PATH_MAX];
  static int next;
  char *p = paths[next++ % 4];
  snprintf(p, sizeof paths[0], "%s/%s", root_dir(), name);
  return p;
}

static char *read_fixture(const char *name, size_t *len)
{
  char *text = NULL;
  struct ts_error err = {0};
  if (ts_fs_read(fixture(name), 1u << 24, &text, len, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "%s", err.msg);
  return text;
}

/* Writes `json` to a new temporary routes file. Caller unlinks and frees. */
static char *temp_routes(const char *json)
{
  const char *tmp = getenv("TMPDIR");
  struct ts_buf b;
  ts_buf_init(&b, 0);
  ts_buf_printf(&b, "%s/mock-routes-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  char *path = ts_buf_detach(&b);
  int fd = path ? mkstemp(path) : -1;
  if (fd < 0) {
    ts_test_fail(__FILE__, __LINE__, "mkstemp: %s", strerror(errno));
    free(path);
    return NULL;
  }
  size_t len = strlen(json);
  bool ok = write(fd, json, len) == (ssize_t)len;
  close(fd);
  if (!ok)
    ts_test_fail(__FILE__, __LINE__, "write %s failed", path);
  return path;
}

static void drop_routes(char *path)
{
  if (path)
    unlink(path);
  free(path);
}

static struct mock_server *start_at(int line, const char *root,
                                    const char *routes, unsigned seed)
{
  struct ts_error err = {0};
  struct mock_server *s = mock_start(root, routes, seed, &err);
  if (!s)
    ts_test_fail(__FILE__, line, "mock_start: %s", err.msg);
  return s;
}

#define START(routes, seed) start_at(__LINE__, root_dir(), (routes), (seed))
#define START_FAULTS() START(fixture("faults.json"), 1)

/* Stops the server; a non-zero exit (a crash, a leak report) fails. */
#define STOP(s)                                                                \
  do {                                                                         \
    struct ts_error e_ = {0};                                                  \
    if (mock_stop((s), &e_) != TS_OK)                                          \
      ts_test_fail(__FILE__, __LINE__, "mock_stop: %s", e_.msg);               \
  } while (0)

static json_t *stats_at(int line, const struct mock_server *s)
{
  json_t *j = NULL;
  struct ts_error err = {0};
  if (mock_stats(s, &j, &err) != TS_OK)
    ts_test_fail(__FILE__, line, "mock_stats: %s", err.msg);
  return j;
}
#define STATS(s) stats_at(__LINE__, (s))

/* Request i of a stats document (borrowed). */
static json_t *req_at(const json_t *stats, size_t i)
{
  return json_array_get(json_object_get(stats, "requests"), i);
}

static const char *req_str(const json_t *stats, size_t i, const char *key)
{
  return json_string_value(json_object_get(req_at(stats, i), key));
}

static long long req_int(const json_t *stats, size_t i, const char *key)
{
  return json_integer_value(json_object_get(req_at(stats, i), key));
}

static double req_num(const json_t *stats, size_t i, const char *key)
{
  return json_number_value(json_object_get(req_at(stats, i), key));
}

static long long stat_int(const json_t *stats, const char *key)
{
  return json_integer_value(json_object_get(stats, key));
}

/* Polls /__stats until request i has an outcome (the server learns that a
 * client gave up a moment after it does). New reference. */
static json_t *wait_outcome(const struct mock_server *s, size_t i)
{
  for (int tries = 0; tries < 500; tries++) {
    json_t *j = STATS(s);
    const char *o = j ? req_str(j, i, "outcome") : NULL;
    if (o && strcmp(o, "pending") != 0 && stat_int(j, "inflight") == 0)
      return j;
    json_decref(j);
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return STATS(s);
}

static double mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One libcurl transfer. */
struct fetch {
  CURLcode code;
  long status;
  struct ts_buf body; /* first BODY_KEEP bytes */
  unsigned long long body_bytes;
  struct ts_buf head;
  double ms;           /* wall time of the transfer */
  double curl_total_s; /* CURLINFO_TOTAL_TIME */
  size_t abort_after;  /* > 0: abort the transfer after this many bytes */
};

struct fetch_opts {
  long timeout_ms;             /* 0: 10 s */
  const char *accept_encoding; /* CURLOPT_ACCEPT_ENCODING ("": all) */
  const char *header;          /* one extra request header line */
  const char *header2;
  bool head;   /* HEAD request */
  CURL *reuse; /* a handle to reuse (keep-alive) */
  size_t abort_after;
};

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
  struct fetch *f = data;
  size_t len = size * n;
  if (f->body.len < BODY_KEEP) {
    size_t keep = BODY_KEEP - f->body.len;
    ts_buf_append(&f->body, p, len < keep ? len : keep);
  }
  f->body_bytes += len;
  if (f->abort_after && f->body_bytes >= f->abort_after)
    return 0; /* CURLE_WRITE_ERROR: the client walks away mid-body */
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *data)
{
  struct fetch *f = data;
  ts_buf_append(&f->head, p, size * n);
  return size * n;
}

static void fetch_cleanup(struct fetch *f)
{
  ts_buf_cleanup(&f->body);
  ts_buf_cleanup(&f->head);
}

static void setup_handle(CURL *h, const char *url, const struct fetch_opts *o,
                         struct fetch *f, struct curl_slist *hdrs)
{
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   o && o->timeout_ms ? o->timeout_ms : 10000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "test_mockapi/1.0");
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, o ? o->accept_encoding : NULL);
  curl_easy_setopt(h, CURLOPT_NOBODY, o && o->head ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
}

/* GETs `path`; f is always initialised (clean it up). */
static CURLcode fetch(const struct mock_server *s, const char *path,
                      const struct fetch_opts *o, struct fetch *f)
{
  memset(f, 0, sizeof *f);
  ts_buf_init(&f->body, 0);
  ts_buf_init(&f->head, 0);
  f->abort_after = o ? o->abort_after : 0;
  char *url = mock_url(s, path);
  CURL *h = o && o->reuse ? o->reuse : curl_easy_init();
  struct curl_slist *hdrs = NULL;
  if (o && o->header)
    hdrs = curl_slist_append(hdrs, o->header);
  if (o && o->header2)
    hdrs = curl_slist_append(hdrs, o->header2);
  setup_handle(h, url, o, f, hdrs);
  double t0 = mono_ms();
  f->code = curl_easy_perform(h);
  f->ms = mono_ms() - t0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &f->curl_total_s);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  if (!(o && o->reuse))
    curl_easy_cleanup(h);
  free(url);
  return f->code;
}

/* The value of a response header of f (caller frees), or NULL. */
static char *fetch_header(const struct fetch *f, const char *name)
{
  struct mock_reply r = {0, f->head.data, NULL, 0};
  return mock_reply_header(&r, name);
}

#define CHECK_HEADER(f, name, want)                                            \
  do {                                                                         \
    char *v_ = fetch_header((f), (name));                                      \
    CHECK_STR(v_, (want));                                                     \
    free(v_);                                                                  \
  } while (0)

/* Runs `n` GETs of `path` at once through a curl multi handle, with no
 * limit on connections. Returns how many got HTTP 200. */
static int parallel_get(const struct mock_server *s, const char *path, int n)
{
  CURLM *m = curl_multi_init();
  CURL **hs = calloc((size_t)n, sizeof *hs);
  struct fetch *fs = calloc((size_t)n, sizeof *fs);
  char *url = mock_url(s, path);
  struct fetch_opts o = {.timeout_ms = 30000};
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)n);
  for (int i = 0; i < n; i++) {
    ts_buf_init(&fs[i].body, 0);
    ts_buf_init(&fs[i].head, 0);
    hs[i] = curl_easy_init();
    setup_handle(hs[i], url, &o, &fs[i], NULL);
    curl_multi_add_handle(m, hs[i]);
  }
  int running = 1;
  while (running) {
    curl_multi_perform(m, &running);
    if (running)
      curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  int ok = 0;
  for (int i = 0; i < n; i++) {
    long status = 0;
    curl_easy_getinfo(hs[i], CURLINFO_RESPONSE_CODE, &status);
    ok += status == 200;
    curl_multi_remove_handle(m, hs[i]);
    curl_easy_cleanup(hs[i]);
    fetch_cleanup(&fs[i]);
  }
  curl_multi_cleanup(m);
  free(url);
  free(fs);
  free(hs);
  return ok;
}

static bool is_json(const char *text, size_t len)
{
  json_t *j = json_loadb(text, len, JSON_DECODE_ANY, NULL);
  json_decref(j);
  return j != NULL;
}

/* ---------------------------------------------------------------------- */
/* Start, stop, routing                                                   */

static void starts_on_a_free_port_and_stops_cleanly(void)
{
  struct mock_server *s = START(NULL, 1);
  REQUIRE(s);
  CHECK(mock_port(s) > 0 && mock_port(s) < 65536);
  char *url = mock_url(s, "v0/topstories.json");
  char want[64];
  snprintf(want, sizeof want, "http://127.0.0.1:%d/v0/topstories.json",
           mock_port(s));
  CHECK_STR(url, want);
  free(url);
  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 0);
  CHECK(json_is_array(json_object_get(st, "requests")));
  CHECK(json_is_number(json_object_get(st, "started_at_ms")));
  json_decref(st);
  char *log = NULL;
  ts_fs_read(mock_log_path(s), 1 << 20, &log, NULL, NULL);
  CHECK(log && strstr(log, "mockapi: listening on http://127.0.0.1:"));
  free(log);
  STOP(s);
}

static void routes_match_path_and_query(void)
{
  struct mock_server *s = START(fixture("routes.json"), 1);
  REQUIRE(s);
  struct fetch f;
  /* Page 1: pageToken absent; the key and other parameters are ignored. */
  fetch(s,
        "/youtube/v3/videos?part=snippet,contentDetails,statistics"
        "&chart=mostPopular&regionCode=US&maxResults=50&key=SECRET",
        NULL, &f);
  CHECK_INT(f.status, 200);
  CHECK(strstr(ts_buf_cstr(&f.body), "\"nextPageToken\": \"CDIQAA\""));
  fetch_cleanup(&f);
  /* Page 2: the route that wants pageToken=CDIQAA. */
  fetch(s,
        "/youtube/v3/videos?chart=mostPopular&regionCode=US"
        "&pageToken=CDIQAA&key=SECRET",
        NULL, &f);
  CHECK_INT(f.status, 200);
  CHECK(strstr(ts_buf_cstr(&f.body), "\"prevPageToken\": \"CDIQAQ\""));
  CHECK(!strstr(ts_buf_cstr(&f.body), "nextPageToken"));
  fetch_cleanup(&f);
  /* JP: the quota error, a 403 without Retry-After. */
  fetch(s, "/youtube/v3/videos?chart=mostPopular&regionCode=JP", NULL, &f);
  CHECK_INT(f.status, 403);
  CHECK(strstr(ts_buf_cstr(&f.body), "\"reason\": \"quotaExceeded\""));
  char *ra = fetch_header(&f, "Retry-After");
  CHECK(ra == NULL);
  free(ra);
  fetch_cleanup(&f);
  /* GB through the {regionCode} file pattern; FR has no file. */
  fetch(s, "/youtube/v3/videos?chart=mostPopular&regionCode=GB", NULL, &f);
  CHECK_INT(f.status, 200);
  CHECK(strstr(ts_buf_cstr(&f.body), "Gb2nR7kT0pZ5vM1cLs8dQw3YhXf"));
  fetch_cleanup(&f);
  fetch(s, "/youtube/v3/videos?chart=mostPopular&regionCode=FR", NULL, &f);
  CHECK_INT(f.status, 404);
  fetch_cleanup(&f);
  /* A value that would climb out of the root is refused, not expanded. */
  fetch(s, "/youtube/v3/videos?regionCode=..%2F..%2Fetc%2Fpasswd", NULL, &f);
  CHECK_INT(f.status, 404);
  CHECK(!strstr(ts_buf_cstr(&f.body), "root:"));
  fetch_cleanup(&f);
  /* GB with a pageToken matches no route (null means absent) and there is
   * no file youtube/v3/videos: 404. */
  fetch(s, "/youtube/v3/videos?regionCode=GB&pageToken=CDIQAA", NULL, &f);
  CHECK_INT(f.status, 404);
  fetch_cleanup(&f);

  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 7);
  CHECK_INT(req_int(st, 0, "route"), 0);
  CHECK_INT(req_int(st, 1, "route"), 1);
  CHECK_INT(req_int(st, 2, "route"), 2);
  CHECK_INT(req_int(st, 3, "route"), 3);
  CHECK(json_is_null(json_object_get(req_at(st, 6), "route")));
  CHECK_STR(req_str(st, 0, "path"), "/youtube/v3/videos");
  CHECK(strstr(req_str(st, 0, "url"), "&key=SECRET") != NULL);
  json_decref(st);
  STOP(s);
}

static void files_are_served_without_routes(void)
{
  struct mock_server *s = START(NULL, 1);
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/v0/item/8863.json", NULL, &f);
  CHECK_INT(f.status, 200);
  CHECK(strstr(ts_buf_cstr(&f.body), "\"by\":\"dhouston\""));
  CHECK_HEADER(&f, "Content-Type", "application/json; charset=UTF-8");
  fetch_cleanup(&f);
  /* HN answers 200 with the body null for a missing item. */
  fetch(s, "/v0/item/39999999.json", NULL, &f);
  CHECK_INT(f.status, 200);
  CHECK_STR(ts_buf_cstr(&f.body), "null\n");
  fetch_cleanup(&f);
  fetch(s, "/v0/topstories.json", NULL, &f);
  CHECK_STR(ts_buf_cstr(&f.body), "[8863,121003,192327,39999999]\n");
  fetch_cleanup(&f);
  /* A folder is not a file. */
  fetch(s, "/v0/item", NULL, &f);
  CHECK_INT(f.status, 404);
  fetch_cleanup(&f);
  json_t *st = STATS(s);
  CHECK(json_is_true(json_object_get(req_at(st, 0), "fallback")));
  json_decref(st);
  STOP(s);
}

static void unknown_path_is_404_json(void)
{
  struct mock_server *s = START(fixture("routes.json"), 1);
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/nope/at/all.json", NULL, &f);
  CHECK_INT(f.status, 404);
  CHECK_HEADER(&f, "Content-Type", "application/json; charset=UTF-8");
  json_t *j = json_loadb(f.body.data, f.body.len, 0, NULL);
  CHECK_INT(
      json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
      404);
  json_decref(j);
  fetch_cleanup(&f);
  STOP(s);
}

static void path_traversal_is_refused(void)
{
  /* A root of our own with a symbolic link that points out of it. */
  char dir[] = "/tmp/mock-root-XXXXXX";
  REQUIRE(mkdtemp(dir));
  char file[PATH_MAX], link_path[PATH_MAX], secret[PATH_MAX];
  snprintf(file, sizeof file, "%s/ok.json", dir);
  snprintf(link_path, sizeof link_path, "%s/leak.json", dir);
  snprintf(secret, sizeof secret, "%s.secret", dir);
  CHECK_INT(ts_fs_write_atomic(file, "{}", 2, NULL), TS_OK);
  CHECK_INT(ts_fs_write_atomic(secret, "SECRET", 6, NULL), TS_OK);
  CHECK_INT(symlink(secret, link_path), 0);

  struct mock_server *s = start_at(__LINE__, dir, NULL, 1);
  if (s) {
    static const char *const bad[] = {
        "/../mock-root.secret", "/%2e%2e/etc/passwd", "/x/..%2f..%2fetc/passwd",
        "/./ok.json",           "/sub/../ok.json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      struct fetch f;
      fetch(s, bad[i], NULL, &f);
      if (f.status != 400)
        ts_test_fail(__FILE__, __LINE__, "%s: HTTP %ld, expected 400", bad[i],
                     f.status);
      CHECK(!strstr(ts_buf_cstr(&f.body), "SECRET"));
      fetch_cleanup(&f);
    }
    struct fetch f;
    fetch(s, "/leak.json", NULL, &f);
    CHECK_INT(f.status, 403);
    CHECK(!strstr(ts_buf_cstr(&f.body), "SECRET"));
    fetch_cleanup(&f);
    fetch(s, "/ok.json", NULL, &f);
    CHECK_INT(f.status, 200);
    fetch_cleanup(&f);
    STOP(s);
  }
  unlink(link_path);
  unlink(file);
  unlink(secret);
  rmdir(dir);
}

/* ---------------------------------------------------------------------- */
/* Faults                                                                 */

static void fail_list_429_then_success(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/faults/429-then-ok", NULL, &f);
  CHECK_INT(f.status, 429);
  CHECK_HEADER(&f, "Retry-After", "2");
  CHECK(is_json(f.body.data, f.body.len));
  fetch_cleanup(&f);
  fetch(s, "/faults/429-then-ok", NULL, &f);
  CHECK_INT(f.status, 429);
  CHECK_HEADER(&f, "Retry-After", "Sat, 21 Nov 2026 10:00:00 GMT");
  fetch_cleanup(&f);
  for (int i = 0; i < 2; i++) {
    fetch(s, "/faults/429-then-ok", NULL, &f);
    CHECK_INT(f.status, 200);
    CHECK(strstr(ts_buf_cstr(&f.body), "dhouston"));
    char *ra = fetch_header(&f, "Retry-After");
    CHECK(ra == NULL);
    free(ra);
    fetch_cleanup(&f);
  }
  json_t *st = STATS(s);
  CHECK_INT(req_int(st, 0, "status"), 429);
  CHECK_STR(req_str(st, 0, "fault"), "status");
  CHECK_INT(req_int(st, 2, "status"), 200);
  CHECK(json_is_null(json_object_get(req_at(st, 2), "fault")));
  json_decref(st);
  STOP(s);
}

static void status_faults_500_503_and_error_files(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/faults/500-then-ok", NULL, &f);
  CHECK_INT(f.status, 500);
  fetch_cleanup(&f);
  fetch(s, "/faults/500-then-ok", NULL, &f);
  CHECK_INT(f.status, 200);
  fetch_cleanup(&f);
  for (int i = 0; i < 2; i++) {
    fetch(s, "/faults/503", NULL, &f);
    CHECK_INT(f.status, 503);
    CHECK_HEADER(&f, "Retry-After", "1");
    CHECK(strstr(ts_buf_cstr(&f.body), "\"code\":503"));
    fetch_cleanup(&f);
  }
  fetch(s, "/faults/quota", NULL, &f);
  CHECK_INT(f.status, 403);
  CHECK(strstr(ts_buf_cstr(&f.body), "quotaExceeded"));
  fetch_cleanup(&f);
  STOP(s);
}

static void hang_holds_until_the_client_gives_up(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  struct fetch f;
  struct fetch_opts o = {.timeout_ms = 300};
  fetch(s, "/faults/hang", &o, &f);
  CHECK_INT(f.code, CURLE_OPERATION_TIMEDOUT);
  CHECK_INT(f.body_bytes, 0);
  CHECK(f.ms >= 290);
  fetch_cleanup(&f);
  json_t *st = wait_outcome(s, 0);
  CHECK_STR(req_str(st, 0, "outcome"), "hang");
  CHECK_STR(req_str(st, 0, "fault"), "hang");
  CHECK(json_is_null(json_object_get(req_at(st, 0), "status")));
  CHECK_INT(stat_int(st, "inflight"), 0);
  json_decref(st);
  STOP(s);
}

static void close_mid_body_is_a_partial_transfer(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  size_t full = 0;
  free(read_fixture("youtube/videos-US-1.json", &full));
  struct fetch f;
  fetch(s, "/faults/close-mid-body", NULL, &f);
  CHECK_INT(f.code, CURLE_PARTIAL_FILE); /* curl error 18 */
  CHECK_INT(f.body_bytes, full / 2);
  char want[32];
  snprintf(want, sizeof want, "%zu", full);
  CHECK_HEADER(&f, "Content-Length", want);
  fetch_cleanup(&f);
  json_t *st = wait_outcome(s, 0);
  CHECK_STR(req_str(st, 0, "outcome"), "closed");
  CHECK_INT(req_int(st, 0, "bytes"), full / 2);
  json_decref(st);
  STOP(s);
}

static void truncate_and_invalid_json_are_complete_but_bad(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  size_t full = 0;
  char *orig = read_fixture("youtube/videos-US-1.json", &full);
  struct fetch f;
  fetch(s, "/faults/truncate", NULL, &f);
  CHECK_INT(f.code, CURLE_OK); /* Content-Length matches what is sent */
  CHECK_INT(f.status, 200);
  CHECK_INT(f.body.len, full / 2);
  CHECK(orig && memcmp(f.body.data, orig, full / 2) == 0);
  CHECK(!is_json(f.body.data, f.body.len));
  fetch_cleanup(&f);
  fetch(s, "/faults/invalid-json", NULL, &f);
  CHECK_INT(f.code, CURLE_OK);
  CHECK_INT(f.status, 200);
  CHECK(f.body.len > 0 && !is_json(f.body.data, f.body.len));
  CHECK_HEADER(&f, "Content-Type", "application/json; charset=UTF-8");
  fetch_cleanup(&f);
  free(orig);
  STOP(s);
}

static long rss_kib(pid_t pid, const char *field)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  char *text = NULL;
  if (ts_fs_read(path, 1 << 16, &text, NULL, NULL) != TS_OK)
    return -1;
  const char *p = strstr(text, field);
  long kib = p ? strtol(p + strlen(field) + 1, NULL, 10) : -1;
  free(text);
  return kib;
}

static void oversize_body_is_streamed(void)
{
  const unsigned long long size = 64ull << 20;
  char json[256];
  snprintf(json, sizeof json,
           "{\"routes\":[{\"path\":\"/big\",\"kind\":\"oversize\","
           "\"bytes\":%llu}]}",
           size);
  char *routes = temp_routes(json);
  struct mock_server *s = START(routes, 1);
  drop_routes(routes);
  REQUIRE(s);
  long before = rss_kib(mock_pid(s), "VmRSS:");
  struct fetch f;
  fetch(s, "/big", NULL, &f);
  CHECK_INT(f.code, CURLE_OK);
  CHECK_INT(f.body_bytes, size);
  CHECK(f.body.len > 12 && memcmp(f.body.data, "{\"padding\":\"xxx", 15) == 0);
  fetch_cleanup(&f);
  long peak = rss_kib(mock_pid(s), "VmHWM:");
  /* 64 MiB went out; the server may not have held more than a fraction. */
  if (before > 0 && peak > 0 && peak - before > 24 * 1024)
    ts_test_fail(__FILE__, __LINE__,
                 "server RSS grew from %ld KiB to a peak of %ld KiB", before,
                 peak);
  /* And a client that walks away early costs nothing either. */
  struct fetch_opts o = {.abort_after = 1 << 20};
  fetch(s, "/big", &o, &f);
  CHECK_INT(f.code, CURLE_WRITE_ERROR);
  fetch_cleanup(&f);
  json_t *st = wait_outcome(s, 1);
  CHECK_STR(req_str(st, 0, "outcome"), "ok");
  CHECK_INT(req_int(st, 0, "bytes"), size);
  CHECK_STR(req_str(st, 1, "outcome"), "client_closed");
  json_decref(st);
  STOP(s);
}

static void empty_reply_and_stall_and_drip(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/faults/empty-reply", NULL, &f);
  CHECK_INT(f.code, CURLE_GOT_NOTHING); /* curl error 52 */
  fetch_cleanup(&f);

  struct fetch_opts o = {.timeout_ms = 400};
  fetch(s, "/faults/stall", &o, &f);
  CHECK_INT(f.code, CURLE_OPERATION_TIMEDOUT);
  CHECK_INT(f.status, 200);
  CHECK_INT(f.body_bytes, 100);
  fetch_cleanup(&f);

  size_t full = 0;
  char *orig = read_fixture("v0/item/8863.json", &full);
  fetch(s, "/faults/drip", NULL, &f);
  CHECK_INT(f.code, CURLE_OK);
  CHECK(orig && f.body.len == full && !memcmp(f.body.data, orig, full));
  /* 64-byte pieces 20 ms apart: at least (pieces - 1) pauses. */
  CHECK(f.ms >= (double)((full + 63) / 64 - 1) * 20 - 5);
  fetch_cleanup(&f);
  free(orig);

  json_t *st = wait_outcome(s, 2);
  CHECK_STR(req_str(st, 0, "outcome"), "empty_reply");
  CHECK_STR(req_str(st, 1, "outcome"), "stalled");
  CHECK_INT(req_int(st, 1, "bytes"), 100);
  CHECK_STR(req_str(st, 2, "outcome"), "ok");
  CHECK_STR(req_str(st, 2, "fault"), "drip");
  json_decref(st);
  STOP(s);
}

static void fail_counts_per_url(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  static const char *const seq[] = {"/faults/per-url/a", "/faults/per-url/b",
                                    "/faults/per-url/a", "/faults/per-url/b",
                                    "/faults/per-url/a?x=1"};
  static const long want[] = {503, 503, 200, 200, 503};
  for (size_t i = 0; i < 5; i++) {
    struct fetch f;
    fetch(s, seq[i], NULL, &f);
    if (f.status != want[i])
      ts_test_fail(__FILE__, __LINE__, "%s (#%zu): HTTP %ld, expected %ld",
                   seq[i], i, f.status, want[i]);
    fetch_cleanup(&f);
  }
  STOP(s);
}

static void gzip_only_when_accepted(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  size_t full = 0;
  char *orig = read_fixture("youtube/videos-US-1.json", &full);
  struct fetch f;
  struct fetch_opts gz = {.accept_encoding = "gzip"};
  fetch(s, "/gzip/videos", &gz, &f);
  CHECK_INT(f.status, 200);
  CHECK_HEADER(&f, "Content-Encoding", "gzip");
  CHECK_HEADER(&f, "Vary", "Accept-Encoding");
  /* libcurl decoded it: the original bytes. */
  CHECK(orig && f.body.len == full && !memcmp(f.body.data, orig, full));
  fetch_cleanup(&f);
  /* Compressed on the wire: Content-Length is that of the gzip body. */
  struct mock_reply r;
  struct ts_error err = {0};
  CHECK_INT(mock_request(s, "GET", "/gzip/videos", "Accept-Encoding: gzip\r\n",
                         &r, &err),
            TS_OK);
  CHECK(r.body_len > 18 && r.body_len < full &&
        (unsigned char)r.body[0] == 0x1f && (unsigned char)r.body[1] == 0x8b);
  mock_reply_cleanup(&r);
  /* Not asked for (or refused with q=0): identity. */
  fetch(s, "/gzip/videos", NULL, &f);
  char *ce = fetch_header(&f, "Content-Encoding");
  CHECK(ce == NULL);
  free(ce);
  CHECK(orig && f.body.len == full && !memcmp(f.body.data, orig, full));
  fetch_cleanup(&f);
  CHECK_INT(mock_request(s, "GET", "/gzip/videos",
                         "Accept-Encoding: gzip;q=0, identity\r\n", &r, &err),
            TS_OK);
  CHECK_INT(r.body_len, full);
  mock_reply_cleanup(&r);
  json_t *st = STATS(s);
  CHECK(strstr(req_str(st, 0, "accept_encoding"), "gzip") != NULL);
  CHECK(json_is_null(json_object_get(req_at(st, 2), "accept_encoding")));
  json_decref(st);
  free(orig);
  STOP(s);
}

static void etag_and_last_modified_give_304(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/etag/videos", NULL, &f);
  CHECK_INT(f.status, 200);
  CHECK_HEADER(&f, "ETag", "\"Xq1dGm3TZ5nU0pLk8vBwQhR2sYc\"");
  CHECK_HEADER(&f, "Last-Modified", "Sat, 21 Nov 2026 09:00:00 GMT");
  fetch_cleanup(&f);
  struct {
    const char *h1, *h2;
    long want;
  } cases[] = {
      {"If-None-Match: \"Xq1dGm3TZ5nU0pLk8vBwQhR2sYc\"", NULL, 304},
      {"If-None-Match: \"old\", W/\"Xq1dGm3TZ5nU0pLk8vBwQhR2sYc\"", NULL, 304},
      {"If-None-Match: \"old\"", NULL, 200},
      {"If-Modified-Since: Sat, 21 Nov 2026 09:00:00 GMT", NULL, 304},
      {"If-Modified-Since: Sat, 21 Nov 2026 08:59:59 GMT", NULL, 200},
      /* If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3). */
      {"If-None-Match: \"old\"",
       "If-Modified-Since: Sat, 21 Nov 2026 09:00:00 GMT", 200},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct fetch_opts o = {.header = cases[i].h1, .header2 = cases[i].h2};
    fetch(s, "/etag/videos", &o, &f);
    if (f.status != cases[i].want)
      ts_test_fail(__FILE__, __LINE__, "%s: HTTP %ld, expected %ld",
                   cases[i].h1, f.status, cases[i].want);
    if (cases[i].want == 304) {
      CHECK_INT(f.body_bytes, 0);
      CHECK_HEADER(&f, "ETag", "\"Xq1dGm3TZ5nU0pLk8vBwQhR2sYc\"");
    }
    fetch_cleanup(&f);
  }
  json_t *st = STATS(s);
  CHECK_STR(req_str(st, 1, "if_none_match"), "\"Xq1dGm3TZ5nU0pLk8vBwQhR2sYc\"");
  CHECK_STR(req_str(st, 4, "if_modified_since"),
            "Sat, 21 Nov 2026 09:00:00 GMT");
  CHECK_INT(req_int(st, 1, "status"), 304);
  json_decref(st);
  STOP(s);
}

/* ---------------------------------------------------------------------- */
/* Latency                                                                */

static void fixed_latency_is_applied_and_recorded(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/slow/fixed", NULL, &f);
  CHECK_INT(f.status, 200);
  CHECK(f.ms >= 295);
  fetch_cleanup(&f);
  json_t *st = STATS(s);
  CHECK_INT(req_int(st, 0, "latency_ms"), 300);
  CHECK(req_num(st, 0, "done_ms") - req_num(st, 0, "arrival_ms") >= 299.0);
  json_decref(st);
  STOP(s);
}

/* The latencies the server chose for /r/0 .. /r/7 (twice /r/0). */
static bool range_latencies(unsigned seed, long out[9])
{
  char *routes = temp_routes("{\"routes\":[{\"path\":\"/r/*\","
                             "\"latency_ms\":[0,150],\"body\":{}}]}");
  struct mock_server *s = START(routes, seed);
  drop_routes(routes);
  if (!s)
    return false;
  for (int i = 0; i < 9; i++) {
    char path[32];
    snprintf(path, sizeof path, "/r/%d?k=v", i % 8);
    struct fetch f;
    fetch(s, path, NULL, &f);
    fetch_cleanup(&f);
  }
  json_t *st = STATS(s);
  for (int i = 0; i < 9; i++)
    out[i] = (long)req_int(st, (size_t)i, "latency_ms");
  /* The recorded latency is what the client waited: done - arrival. */
  for (int i = 0; i < 9; i++)
    CHECK(req_num(st, (size_t)i, "done_ms") -
              req_num(st, (size_t)i, "arrival_ms") >=
          (double)out[i] - 1.0);
  json_decref(st);
  STOP(s);
  return true;
}

static void latency_range_is_per_url_and_follows_the_seed(void)
{
  long a[9], b[9], c[9];
  REQUIRE(range_latencies(7, a) && range_latencies(7, b) &&
          range_latencies(8, c));
  bool all_equal_ac = true, all_same_url = true;
  for (int i = 0; i < 9; i++) {
    CHECK(a[i] >= 0 && a[i] <= 150);
    if (a[i] != b[i])
      ts_test_fail(__FILE__, __LINE__, "seed 7, URL #%d: %ld then %ld", i, a[i],
                   b[i]);
    all_equal_ac &= a[i] == c[i];
    all_same_url &= a[i] == a[0];
  }
  CHECK_INT(a[8], a[0]); /* the same URL twice in one run */
  CHECK(!all_equal_ac);  /* another seed, other latencies */
  CHECK(!all_same_url);  /* drawn per URL */
}

/* ---------------------------------------------------------------------- */
/* Statistics                                                             */

static void stats_count_parallel_requests_in_flight(void)
{
  char *routes = temp_routes("{\"routes\":[{\"path\":\"/slow\","
                             "\"latency_ms\":800,\"body\":{}}]}");
  struct mock_server *s = START(routes, 1);
  drop_routes(routes);
  REQUIRE(s);
  CHECK_INT(parallel_get(s, "/slow", 5), 5);
  json_t *st = STATS(s);
  CHECK_INT(mock_stats_peak_inflight(st), 5);
  CHECK_INT(mock_stats_max_concurrent(st, "/slow"), 5);
  CHECK_INT(mock_stats_count(st, "/slow"), 5);
  long seen_max = 0;
  for (size_t i = 0; i < 5; i++) {
    long n = (long)req_int(st, i, "inflight");
    CHECK(n >= 1 && n <= 5);
    seen_max = n > seen_max ? n : seen_max;
  }
  CHECK_INT(seen_max, 5);
  CHECK_INT(stat_int(st, "inflight"), 0);
  json_decref(st);
  STOP(s);
}

static void hundreds_of_connections_at_once(void)
{
  char *routes = temp_routes("{\"routes\":[{\"path\":\"/slow\","
                             "\"latency_ms\":1500,\"body\":{}}]}");
  struct mock_server *s = START(routes, 1);
  drop_routes(routes);
  REQUIRE(s);
  CHECK_INT(parallel_get(s, "/slow", 300), 300);
  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 300);
  /* Generous: on an idle machine all 300 overlap. */
  CHECK(mock_stats_peak_inflight(st) >= 100);
  json_decref(st);
  STOP(s);
}

static void keep_alive_reuse_shows_in_connection_ids(void)
{
  struct mock_server *s = START(NULL, 1);
  REQUIRE(s);
  CURL *one = curl_easy_init(), *two = curl_easy_init();
  struct fetch_opts o1 = {.reuse = one}, o2 = {.reuse = two};
  struct fetch f;
  for (int i = 0; i < 3; i++) {
    fetch(s, "/v0/item/8863.json", &o1, &f);
    CHECK_INT(f.status, 200);
    fetch_cleanup(&f);
  }
  fetch(s, "/v0/item/8863.json", &o2, &f);
  fetch_cleanup(&f);
  curl_easy_cleanup(one);
  curl_easy_cleanup(two);
  json_t *st = STATS(s);
  long long c0 = req_int(st, 0, "conn");
  CHECK(c0 > 0);
  CHECK_INT(req_int(st, 1, "conn"), c0);
  CHECK_INT(req_int(st, 2, "conn"), c0);
  CHECK(req_int(st, 3, "conn") != c0);
  json_decref(st);
  STOP(s);
}

static int cmp_ms(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The reason for one write and TCP_NODELAY: without them each keep-alive
 * response waits about 40 ms for the client's delayed ACK. */
static void keep_alive_responses_do_not_wait_for_delayed_acks(void)
{
  struct mock_server *s = START(NULL, 1);
  REQUIRE(s);
  CURL *h = curl_easy_init();
  struct fetch_opts o = {.reuse = h};
  double ms[50];
  for (int i = 0; i < 50; i++) {
    struct fetch f;
    fetch(s, "/youtube/videos-US-1.json", &o, &f);
    ms[i] = f.curl_total_s * 1000.0;
    fetch_cleanup(&f);
  }
  curl_easy_cleanup(h);
  qsort(ms + 1, 49, sizeof ms[0], cmp_ms); /* the first one connects */
  double median = ms[1 + 24];
  if (median >= 20.0)
    ts_test_fail(__FILE__, __LINE__,
                 "median keep-alive response took %.1f ms (a delayed-ACK "
                 "stall is ~40 ms)",
                 median);
  json_t *st = STATS(s);
  CHECK_INT(req_int(st, 49, "conn"), req_int(st, 1, "conn"));
  json_decref(st);
  STOP(s);
}

static void stats_record_every_field(void)
{
  struct mock_server *s = START(fixture("routes.json"), 1);
  REQUIRE(s);
  struct fetch f;
  struct fetch_opts o = {.head = true,
                         .accept_encoding = "gzip",
                         .header = "If-None-Match: \"nope\""};
  fetch(s, "/v0/item/8863.json?print=pretty", &o, &f);
  CHECK_INT(f.status, 200);
  CHECK_INT(f.body_bytes, 0);
  size_t full = 0;
  free(read_fixture("v0/item/8863.json", &full));
  char want[32];
  snprintf(want, sizeof want, "%zu", full);
  CHECK_HEADER(&f, "Content-Length", want);
  fetch_cleanup(&f);
  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 1);
  json_t *r = req_at(st, 0);
  CHECK_INT(req_int(st, 0, "id"), 1);
  CHECK(req_int(st, 0, "conn") >= 1);
  CHECK(json_is_real(json_object_get(r, "arrival_ms")) ||
        json_is_integer(json_object_get(r, "arrival_ms")));
  CHECK(req_num(st, 0, "arrival_ms") > 0);
  CHECK_STR(req_str(st, 0, "method"), "HEAD");
  CHECK_STR(req_str(st, 0, "url"), "/v0/item/8863.json?print=pretty");
  CHECK_STR(req_str(st, 0, "path"), "/v0/item/8863.json");
  CHECK_INT(req_int(st, 0, "route"), 5);
  CHECK_INT(req_int(st, 0, "inflight"), 1);
  long long lat = req_int(st, 0, "latency_ms");
  CHECK(lat >= 5 && lat <= 40);
  CHECK_INT(req_int(st, 0, "status"), 200);
  CHECK(json_is_null(json_object_get(r, "fault")));
  CHECK_STR(req_str(st, 0, "outcome"), "ok");
  CHECK(req_num(st, 0, "done_ms") >= req_num(st, 0, "arrival_ms"));
  CHECK_INT(req_int(st, 0, "bytes"), 0);
  CHECK_STR(req_str(st, 0, "user_agent"), "test_mockapi/1.0");
  CHECK_STR(req_str(st, 0, "accept_encoding"), "gzip");
  CHECK_STR(req_str(st, 0, "if_none_match"), "\"nope\"");
  CHECK(json_is_null(json_object_get(r, "if_modified_since")));
  CHECK_INT(stat_int(st, "peak_inflight"), 1);
  json_decref(st);
  STOP(s);
}

static void reset_clears_stats_and_fail_counters(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  struct fetch f;
  fetch(s, "/faults/500-then-ok", NULL, &f);
  CHECK_INT(f.status, 500);
  fetch_cleanup(&f);
  fetch(s, "/faults/500-then-ok", NULL, &f);
  CHECK_INT(f.status, 200);
  fetch_cleanup(&f);
  struct ts_error err = {0};
  CHECK_INT(mock_reset(s, &err), TS_OK);
  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 0);
  CHECK_INT(stat_int(st, "peak_inflight"), 0);
  json_decref(st);
  fetch(s, "/faults/500-then-ok", NULL, &f);
  CHECK_INT(f.status, 500);
  fetch_cleanup(&f);
  st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 1);
  CHECK(req_int(st, 0, "id") > 2); /* ids keep counting across resets */
  json_decref(st);
  STOP(s);
}

static void random_faults_follow_the_seed(void)
{
  char *routes = temp_routes(
      "{\"random\":{\"p\":0.3,\"paths\":[\"/v0/**\"],"
      "\"kinds\":[{\"status\":503},{\"status\":429,\"retry_after\":\"1\"},"
      "{\"kind\":\"truncate\"}]}}");
  long seq[3][60];
  int faults = 0;
  for (int run = 0; run < 3; run++) {
    struct mock_server *s = START(routes, run < 2 ? 42 : 43);
    if (!s)
      break;
    for (int i = 0; i < 60; i++) {
      struct fetch f;
      fetch(s, "/v0/item/8863.json", NULL, &f);
      seq[run][i] = f.status * 10 +
                    (f.status == 200 && !is_json(f.body.data, f.body.len));
      if (run == 0)
        faults += seq[run][i] != 2000;
      fetch_cleanup(&f);
    }
    /* Not eligible: never a fault, and the sequence above is unaffected. */
    struct fetch f;
    fetch(s, "/youtube/videos-GB.json", NULL, &f);
    CHECK_INT(f.status, 200);
    fetch_cleanup(&f);
    STOP(s);
  }
  drop_routes(routes);
  CHECK(memcmp(seq[0], seq[1], sizeof seq[0]) == 0);
  CHECK(memcmp(seq[0], seq[2], sizeof seq[0]) != 0);
  /* p = 0.3 of 60: some faults, not all (a fixed seed, so no flakiness). */
  CHECK(faults >= 5 && faults <= 40);
}

static void reload_reads_the_routes_file_again(void)
{
  char *routes = temp_routes("{\"routes\":[{\"path\":\"/v\",\"body\":1}]}");
  struct mock_server *s = START(routes, 1);
  REQUIRE(s);
  struct mock_reply r;
  struct ts_error err = {0};
  CHECK_INT(mock_get(s, "/v", &r, &err), TS_OK);
  CHECK_STR(r.body, "1");
  mock_reply_cleanup(&r);
  static const char second[] = "{\"routes\":[{\"path\":\"/v\",\"body\":2}]}";
  CHECK_INT(ts_fs_write_atomic(routes, second, strlen(second), NULL), TS_OK);
  CHECK_INT(mock_get(s, "/__reload", &r, &err), TS_OK);
  CHECK_INT(r.status, 200);
  mock_reply_cleanup(&r);
  CHECK_INT(mock_get(s, "/v", &r, &err), TS_OK);
  CHECK_STR(r.body, "2");
  mock_reply_cleanup(&r);
  /* A broken file keeps the old routes and says why. */
  static const char broken[] = "{\"routes\":[{\"pth\":1}]}";
  CHECK_INT(ts_fs_write_atomic(routes, broken, strlen(broken), NULL), TS_OK);
  CHECK_INT(mock_get(s, "/__reload", &r, &err), TS_OK);
  CHECK_INT(r.status, 500);
  CHECK(strstr(r.body, "unknown key") != NULL);
  mock_reply_cleanup(&r);
  CHECK_INT(mock_get(s, "/v", &r, &err), TS_OK);
  CHECK_STR(r.body, "2");
  mock_reply_cleanup(&r);
  drop_routes(routes);
  STOP(s);
}

/* ---------------------------------------------------------------------- */
/* HTTP robustness                                                        */

static size_t count_of(const char *hay, const char *needle)
{
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

static void pipelined_requests_are_answered_in_order(void)
{
  struct mock_server *s = START(NULL, 1);
  REQUIRE(s);
  static const char req[] =
      "GET /v0/item/8863.json HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v0/item/121003.json HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /v0/item/192327.json HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v0/topstories.json HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\n\r\n";
  char *out = NULL;
  size_t len = 0;
  struct ts_error err = {0};
  CHECK_INT(mock_raw(s, req, sizeof req - 1, 5000, &out, &len, &err), TS_OK);
  REQUIRE(out);
  CHECK_INT(count_of(out, "HTTP/1.1 200 OK"), 4);
  const char *a = strstr(out, "dhouston"), *b = strstr(out, "Arc Effect");
  const char *c = strstr(out, "[8863,");
  CHECK(a && b && c && a < b && b < c);
  CHECK(!strstr(out, "Justin.tv")); /* HEAD: no body */
  free(out);
  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 4);
  CHECK_INT(req_int(st, 3, "conn"), req_int(st, 0, "conn"));
  json_decref(st);
  STOP(s);
}

/* Sends raw bytes and returns the status of the first response (0 if
 * none arrived). */
static int raw_status(const struct mock_server *s, const char *bytes,
                      size_t len)
{
  char *out = NULL;
  int status = 0;
  if (mock_raw(s, bytes, len, 3000, &out, NULL, NULL) == TS_OK &&
      sscanf(out, "HTTP/1.1 %d", &status) != 1)
    status = 0;
  free(out);
  return status;
}

static void malformed_requests_get_4xx_and_the_server_lives(void)
{
  struct mock_server *s = START(NULL, 1);
  REQUIRE(s);
  static const struct {
    const char *bytes;
    int want;
  } cases[] = {
      {"hello\r\n\r\n", 400},
      {"GET\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / FTP/1.1\r\n\r\n", 400},
      {"GET nope HTTP/1.1\r\n\r\n", 400},
      {"GET /a b HTTP/1.1\r\n\r\n", 400},
      {"GET /%zz HTTP/1.1\r\n\r\n", 400},
      {"GET /%00 HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n Folded: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"POST /v0/topstories.json HTTP/1.1\r\nContent-Length: 0\r\n"
       "Connection: close\r\n\r\n",
       405},
      {"DELETE /v0/topstories.json HTTP/1.1\r\nConnection: close\r\n\r\n", 405},
      {"GET /v0/topstories.json HTTP/1.0\r\n\r\n", 200},
      /* Bare LF line ends. */
      {"GET /v0/topstories.json HTTP/1.1\nConnection: close\n\n", 200},
      {"\r\n\r\nGET /v0/topstories.json HTTP/1.1\r\nConnection: close"
       "\r\n\r\n",
       200},
      {"GET http://h/v0/topstories.json HTTP/1.1\r\nConnection: close"
       "\r\n\r\n",
       200},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int got = raw_status(s, cases[i].bytes, strlen(cases[i].bytes));
    if (got != cases[i].want)
      ts_test_fail(__FILE__, __LINE__, "case %zu: HTTP %d, expected %d", i, got,
                   cases[i].want);
  }
  /* A NUL in the head. */
  static const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
  CHECK_INT(raw_status(s, nul, sizeof nul - 1), 400);

  /* An 8 KiB header line is fine; a 70 KiB head is 431. */
  struct ts_buf b;
  ts_buf_init(&b, 0);
  ts_buf_append_str(&b, "GET /v0/topstories.json HTTP/1.1\r\nX-Long: ");
  for (int i = 0; i < 8000; i++)
    ts_buf_append_char(&b, 'a');
  ts_buf_append_str(&b, "\r\nConnection: close\r\n\r\n");
  CHECK_INT(raw_status(s, b.data, b.len), 200);
  ts_buf_reset(&b);
  ts_buf_append_str(&b, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 70; i++) {
    ts_buf_printf(&b, "X-%d: ", i);
    for (int k = 0; k < 1000; k++)
      ts_buf_append_char(&b, 'b');
    ts_buf_append_str(&b, "\r\n");
  }
  ts_buf_append_str(&b, "\r\n");
  CHECK_INT(raw_status(s, b.data, b.len), 431);
  /* Too many fields, each small. */
  ts_buf_reset(&b);
  ts_buf_append_str(&b, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 200; i++)
    ts_buf_printf(&b, "X-%d: y\r\n", i);
  ts_buf_append_str(&b, "\r\n");
  CHECK_INT(raw_status(s, b.data, b.len), 431);
  /* A head that never ends is cut off at the cap, not buffered forever. */
  ts_buf_reset(&b);
  for (int i = 0; i < 100000; i++)
    ts_buf_append_char(&b, 'z');
  CHECK_INT(raw_status(s, b.data, b.len), 431);
  ts_buf_cleanup(&b);

  /* Random bytes, seeded: whatever they are, the server survives. Each
   * ends with an empty line, so the server answers (and closes) at once
   * instead of waiting for more. */
  unsigned long long x = 0x9e3779b97f4a7c15ull;
  char junk[512];
  for (int round = 0; round < 200; round++) {
    size_t n = 5 + (size_t)(x % (sizeof junk - 4));
    memcpy(junk + n - 4, "\r\n\r\n", 4);
    for (size_t i = 0; i + 4 < n; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      static const char alphabet[] = " GET/HTP1.\r\n:%%";
      junk[i] = round % 2 ? (char)(x & 0xff) : alphabet[x % 16];
    }
    char *out = NULL;
    mock_raw(s, junk, n, 300, &out, NULL, NULL);
    free(out);
  }
  struct mock_reply r;
  struct ts_error err = {0};
  CHECK_INT(mock_get(s, "/v0/topstories.json", &r, &err), TS_OK);
  CHECK_INT(r.status, 200);
  mock_reply_cleanup(&r);
  STOP(s);
}

/* A request written one byte per send(): every partial read must wait for
 * more, not fail, and an 8 KiB head must not cost a parse per byte. */
static void a_request_one_byte_at_a_time(void)
{
  struct mock_server *s = START(NULL, 1);
  REQUIRE(s);
  struct ts_buf req;
  ts_buf_init(&req, 0);
  ts_buf_append_str(&req, "GET /v0/item/8863.json HTTP/1.1\r\nX-Pad: ");
  for (int i = 0; i < 8000; i++)
    ts_buf_append_char(&req, 'p');
  ts_buf_append_str(&req, "\r\nConnection: close\r\n\r\n");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)mock_port(s));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  REQUIRE(connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
  bool sent = true;
  for (size_t i = 0; i < req.len && sent; i++)
    sent = send(fd, req.data + i, 1, MSG_NOSIGNAL) == 1;
  CHECK(sent);
  char buf[4096];
  struct ts_buf got;
  ts_buf_init(&got, 1 << 20);
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
    ts_buf_append(&got, buf, (size_t)n);
  close(fd);
  CHECK(strncmp(ts_buf_cstr(&got), "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK(strstr(ts_buf_cstr(&got), "dhouston") != NULL);
  ts_buf_cleanup(&got);
  ts_buf_cleanup(&req);
  STOP(s);
}

static void clients_may_disconnect_at_any_moment(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  static const char req[] =
      "GET /slow/fixed HTTP/1.1\r\nHost: x\r\nUser-Agent: cut\r\n\r\n";
  /* Every prefix of a request, then gone (the full request included: the
   * server is then waiting out its latency). */
  for (size_t cut = 0; cut <= sizeof req - 1; cut += 3) {
    char *out = NULL;
    mock_raw(s, req, cut, 1, &out, NULL, NULL);
    free(out);
  }
  /* Mid-body, mid-stream, mid-drip, mid-hang. */
  static const char *const paths[] = {"/faults/oversize", "/faults/drip",
                                      "/faults/hang", "/faults/stall"};
  for (size_t i = 0; i < 4; i++) {
    struct fetch f;
    struct fetch_opts o = {.timeout_ms = 100, .abort_after = 10};
    fetch(s, paths[i], &o, &f);
    fetch_cleanup(&f);
  }
  /* The server noticed every one of them. */
  json_t *st = NULL;
  for (int tries = 0; tries < 300; tries++) {
    json_decref(st);
    st = STATS(s);
    if (stat_int(st, "inflight") == 0)
      break;
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  CHECK_INT(stat_int(st, "inflight"), 0);
  size_t n = json_array_size(json_object_get(st, "requests"));
  CHECK(n >= 5);
  for (size_t i = 0; i < n; i++)
    CHECK(strcmp(req_str(st, i, "outcome"), "pending") != 0);
  json_decref(st);
  struct mock_reply r;
  struct ts_error err = {0};
  CHECK_INT(mock_get(s, "/faults/quota", &r, &err), TS_OK);
  CHECK_INT(r.status, 403);
  mock_reply_cleanup(&r);
  STOP(s);
}

static void ten_thousand_requests(void)
{
  struct mock_options o = {.root = root_dir(), .seed = 1, .quiet = true};
  struct ts_error err = {0};
  struct mock_server *s = mock_start_opts(&o, &err);
  if (!s)
    ts_test_fail(__FILE__, __LINE__, "mock_start: %s", err.msg);
  REQUIRE(s);
  CURL *h = curl_easy_init();
  struct fetch_opts fo = {.reuse = h};
  int ok = 0;
  for (int i = 0; i < 10000; i++) {
    struct fetch f;
    fetch(s, i % 2 ? "/v0/item/8863.json" : "/v0/topstories.json", &fo, &f);
    ok += f.status == 200;
    fetch_cleanup(&f);
  }
  curl_easy_cleanup(h);
  CHECK_INT(ok, 10000);
  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "count"), 10000);
  CHECK_INT(stat_int(st, "dropped"), 0);
  CHECK_INT(mock_stats_count(st, "/v0/item/"), 5000);
  CHECK_INT(req_int(st, 9999, "conn"), req_int(st, 0, "conn"));
  json_decref(st);
  STOP(s);
}

/* ---------------------------------------------------------------------- */
/* Lifecycle and the client library's analyses                            */

static void time_limit_stops_the_server(void)
{
  struct mock_options o = {.root = root_dir(), .time_limit_s = 0.5};
  struct ts_error err = {0};
  struct mock_server *s = mock_start_opts(&o, &err);
  if (!s)
    ts_test_fail(__FILE__, __LINE__, "mock_start: %s", err.msg);
  REQUIRE(s);
  int status = -1;
  CHECK(mock_wait_exit(s, 10000, &status));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char *log = NULL;
  ts_fs_read(mock_log_path(s), 1 << 20, &log, NULL, NULL);
  CHECK(log && strstr(log, "time limit of 0.5 s reached"));
  free(log);
  STOP(s);
}

static void sigterm_with_open_connections_exits_zero(void)
{
  struct mock_server *s = START_FAULTS();
  REQUIRE(s);
  /* Leave a hang, a stall and a latency wait open, then stop. */
  CURLM *m = curl_multi_init();
  static const char *const paths[] = {"/faults/hang", "/faults/stall",
                                      "/slow/fixed", "/faults/oversize"};
  CURL *hs[4];
  struct fetch fs[4];
  struct fetch_opts o = {.timeout_ms = 20000};
  for (int i = 0; i < 4; i++) {
    memset(&fs[i], 0, sizeof fs[i]);
    ts_buf_init(&fs[i].body, 0);
    ts_buf_init(&fs[i].head, 0);
    char *url = mock_url(s, paths[i]);
    hs[i] = curl_easy_init();
    setup_handle(hs[i], url, &o, &fs[i], NULL);
    /* Slow reader: the oversize body fills the socket buffers. */
    if (i == 3)
      curl_easy_setopt(hs[i], CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)1000);
    free(url);
    curl_multi_add_handle(m, hs[i]);
  }
  int running = 0;
  for (int k = 0; k < 20; k++) {
    curl_multi_perform(m, &running);
    curl_multi_poll(m, NULL, 0, 10, NULL);
  }
  json_t *st = STATS(s);
  CHECK_INT(stat_int(st, "inflight"), 4);
  json_decref(st);
  STOP(s); /* exit status 0 and, under ASan, no leak report */
  for (int i = 0; i < 4; i++) {
    curl_multi_remove_handle(m, hs[i]);
    curl_easy_cleanup(hs[i]);
    fetch_cleanup(&fs[i]);
  }
  curl_multi_cleanup(m);
}

static void bad_routes_file_fails_to_start_with_the_key_path(void)
{
  static const struct {
    const char *json, *want;
  } cases[] = {
      {"{\"routes\":[{\"path\":\"/a\"},{\"pth\":\"/b\"}]}",
       "routes[1]: unknown key \"pth\""},
      {"{\"routes\":[{\"path\":\"/a\",\"latency_ms\":[5,1]}]}",
       "routes[0]: latency_ms: min 5 is above max 1"},
      {"{\"routes\":[{\"path\":\"/a\",\"fail\":[{\"kind\":\"explode\"}]}]}",
       "routes[0].fail[0]: kind: expected one of"},
      {"{\"routes\":[{\"path\":\"/a\",\"file\":\"../x\"}]}",
       "routes[0]: file: must be relative"},
      {"{\"random\":{\"p\":2,\"kinds\":[{\"status\":500}]}}",
       "random: p: expected a probability"},
      {"{\"routes\": [", ":1:"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *routes = temp_routes(cases[i].json);
    struct ts_error err = {0};
    struct mock_server *s = mock_start(root_dir(), routes, 1, &err);
    if (s) {
      ts_test_fail(__FILE__, __LINE__, "case %zu started", i);
      mock_stop(s, NULL);
    } else if (!strstr(err.msg, cases[i].want)) {
      ts_test_fail(__FILE__, __LINE__, "case %zu: \"%s\" lacks \"%s\"", i,
                   err.msg, cases[i].want);
    }
    drop_routes(routes);
  }
  struct ts_error err = {0};
  struct mock_server *s = mock_start("/nonexistent/root", NULL, 1, &err);
  CHECK(s == NULL && strstr(err.msg, "/nonexistent/root"));
  mock_stop(s, NULL);
}

static void analyses_are_exact(void)
{
  json_t *st = json_pack(
      "{s:i,s:[{s:s,s:f,s:f},{s:s,s:f,s:f},{s:s,s:f,s:f},{s:s,s:f,s:f},"
      "{s:s,s:f,s:f},{s:s,s:f,s:n},{s:s,s:f,s:f}]}",
      "peak_inflight", 3, "requests",
      /* url, arrival, done */
      "url", "/a/1", "arrival_ms", 0.0, "done_ms", 50.0,      /* */
      "url", "/a/2", "arrival_ms", 100.0, "done_ms", 150.0,   /* */
      "url", "/b/1", "arrival_ms", 120.0, "done_ms", 2000.0,  /* */
      "url", "/a/3", "arrival_ms", 999.9, "done_ms", 1000.0,  /* */
      "url", "/a/4", "arrival_ms", 1000.0, "done_ms", 1001.0, /* */
      "url", "/a/5", "arrival_ms", 1000.5, "done_ms",         /* pending */
      "url", "/a/6", "arrival_ms", 1100.0, "done_ms", 1200.0);
  REQUIRE(st);
  CHECK_INT(mock_stats_peak_inflight(st), 3);
  CHECK_INT(mock_stats_count(st, NULL), 7);
  CHECK_INT(mock_stats_count(st, "/a/"), 6);
  /* [100, 1100) holds 100, 999.9, 1000, 1000.5 of /a/: 4; 1100 is out. */
  CHECK_INT(mock_stats_max_in_window(st, "/a/", 1000.0), 4);
  /* With /b/1 at 120 as well: 5. */
  CHECK_INT(mock_stats_max_in_window(st, NULL, 1000.0), 5);
  CHECK_INT(mock_stats_max_in_window(st, "/a/", 0.6), 2);
  CHECK_INT(mock_stats_max_in_window(st, "/none", 1000.0), 0);
  /* /a/3 [999.9,1000) ends as /a/4 starts: touching is not overlapping;
   * /a/5 never ends, so /a/6 overlaps it: 2. With /b/1: 3. */
  CHECK_INT(mock_stats_max_concurrent(st, "/a/"), 2);
  CHECK_INT(mock_stats_max_concurrent(st, NULL), 3);
  double *t = NULL;
  CHECK_INT(mock_stats_arrivals(st, "/a/", &t), 6);
  CHECK(t && t[0] == 0.0 && t[3] == 1000.0 && t[5] == 1100.0);
  free(t);
  json_t *sel = mock_stats_select(st, "/b/");
  CHECK_INT(json_array_size(sel), 1);
  json_decref(sel);
  json_decref(st);
}

int main(int argc, char **argv)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  static const struct ts_test tests[] = {
      TEST(starts_on_a_free_port_and_stops_cleanly),
      TEST(routes_match_path_and_query),
      TEST(files_are_served_without_routes),
      TEST(unknown_path_is_404_json),
      TEST(path_traversal_is_refused),
      TEST(fail_list_429_then_success),
      TEST(status_faults_500_503_and_error_files),
      TEST(hang_holds_until_the_client_gives_up),
      TEST(close_mid_body_is_a_partial_transfer),
      TEST(truncate_and_invalid_json_are_complete_but_bad),
      TEST(oversize_body_is_streamed),
      TEST(empty_reply_and_stall_and_drip),
      TEST(fail_counts_per_url),
      TEST(gzip_only_when_accepted),
      TEST(etag_and_last_modified_give_304),
      TEST(fixed_latency_is_applied_and_recorded),
      TEST(latency_range_is_per_url_and_follows_the_seed),
      TEST(stats_count_parallel_requests_in_flight),
      TEST(hundreds_of_connections_at_once),
      TEST(keep_alive_reuse_shows_in_connection_ids),
      TEST(keep_alive_responses_do_not_wait_for_delayed_acks),
      TEST(stats_record_every_field),
      TEST(reset_clears_stats_and_fail_counters),
      TEST(random_faults_follow_the_seed),
      TEST(reload_reads_the_routes_file_again),
      TEST(pipelined_requests_are_answered_in_order),
      TEST(malformed_requests_get_4xx_and_the_server_lives),
      TEST(a_request_one_byte_at_a_time),
      TEST(clients_may_disconnect_at_any_moment),
      TEST(ten_thousand_requests),
      TEST(time_limit_stops_the_server),
      TEST(sigterm_with_open_connections_exits_zero),
      TEST(bad_routes_file_fails_to_start_with_the_key_path),
      TEST(analyses_are_exact),
      TEST_END,
  };
  int status = ts_test_main(argc, argv, tests);
  curl_global_cleanup();
  return status;
}

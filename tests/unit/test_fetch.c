/*
 * The fetch engine against the real mock API server over loopback: the
 * concurrency cap, strict rate limits, retries, quota stops, deadlines,
 * size caps, timeouts, conditional requests, follow-ups. Every claim is
 * checked from the server's side (/__stats), and every run must close its
 * loop cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "harness.h"
#include "mockapi_client.h"
#include "util/fs.h"

/* ---- fixtures ---------------------------------------------------------- */

static char root[64];

/* A fresh folder with a small body file and `routes` as routes.json. */
static struct mock_server *start(const char *routes)
{
  snprintf(root, sizeof root, "/tmp/ts-fetch-XXXXXX");
  if (!mkdtemp(root))
    return NULL;
  char path[128];
  snprintf(path, sizeof path, "%s/ok.json", root);
  ts_fs_write_atomic(path, "{\"ok\": true}", 12, NULL);
  snprintf(path, sizeof path, "%s/quota.json", root);
  const char *quota = "{\"error\": {\"code\": 403, \"message\": \"quota\", "
                      "\"errors\": [{\"reason\": \"quotaExceeded\"}]}}";
  ts_fs_write_atomic(path, quota, strlen(quota), NULL);
  snprintf(path, sizeof path, "%s/slow.json", root);
  const char *slow = "{\"error\": {\"code\": 403, \"errors\": [{\"reason\": "
                     "\"rateLimitExceeded\"}]}}";
  ts_fs_write_atomic(path, slow, strlen(slow), NULL);
  snprintf(path, sizeof path, "%s/routes.json", root);
  ts_fs_write_atomic(path, routes, strlen(routes), NULL);
  struct ts_error err;
  struct mock_options mo = {root, path, 7, 120, true};
  struct mock_server *m = mock_start_opts(&mo, &err);
  if (!m)
    printf("#   mock_start: %s\n", err.msg);
  return m;
}

static void stop(struct mock_server *m)
{
  struct ts_error err;
  if (m && mock_stop(m, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "mock_stop: %s", err.msg);
  REMOVE_TREE(root);
}

static json_t *stats_of(struct mock_server *m)
{
  json_t *s = NULL;
  struct ts_error err;
  if (mock_stats(m, &s, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "stats: %s", err.msg);
  return s;
}

/* What the callbacks saw, one slot per request in order of adding. */
struct seen {
  enum ts_fetch_outcome outcome[512];
  long status[512];
  unsigned attempts[512];
  char reason[512][160];
  char body[512][64];
  char url[512][200];
  int done;
};

static bool record(struct ts_fetch *f, const struct ts_fetch_response *r,
                   void *data)
{
  (void)f;
  struct seen *s = data;
  int i = atoi(r->label);
  if (i < 0 || i >= 512)
    return false;
  s->outcome[i] = r->outcome;
  s->status[i] = r->status;
  s->attempts[i] = r->attempts;
  snprintf(s->reason[i], sizeof s->reason[i], "%s", r->reason);
  snprintf(s->body[i], sizeof s->body[i], "%s", r->body);
  snprintf(s->url[i], sizeof s->url[i], "%s", r->url);
  s->done++;
  return r->outcome == TS_FETCH_OK;
}

static struct ts_fetch *engine(struct ts_fetch_options *o)
{
  struct ts_error err;
  o->seed = 42;
  struct ts_fetch *f = ts_fetch_new(o, &err);
  if (!f)
    ts_test_fail(__FILE__, __LINE__, "ts_fetch_new: %s", err.msg);
  return f;
}

static int source(struct ts_fetch *f, const char *name, const char *rate,
                  ts_fetch_classify_fn classify)
{
  struct ts_fetch_source_options so = {.name = name, .classify = classify};
  struct ts_error err;
  if (rate && ts_rate_parse(rate, &so.rate, &err) != TS_OK)
    return -1;
  return ts_fetch_add_source(f, &so, &err);
}

/* Queues GET PATH as request number `i` (its label). */
static void add(struct ts_fetch *f, int src, struct mock_server *m,
                const char *path, int i, struct seen *seen, bool cond)
{
  char *url = mock_url(m, path);
  char label[16];
  snprintf(label, sizeof label, "%d", i);
  struct ts_fetch_request rq = {.source = src, .url = url, .label = label,
                                .on_done = record, .data = seen,
                                .conditional = cond};
  struct ts_error err;
  if (ts_fetch_add(f, &rq, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "add %s: %s", path, err.msg);
  free(url);
}

/* Runs the engine and checks the loop closed cleanly. */
static void run(struct ts_fetch *f)
{
  struct ts_error err;
  if (ts_fetch_run(f, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "ts_fetch_run: %s", err.msg);
  struct ts_fetch_stats st;
  ts_fetch_get_stats(f, -1, &st);
  if (!st.loop_closed)
    ts_test_fail(__FILE__, __LINE__, "uv_loop_close did not return 0");
}

static enum ts_fetch_verdict youtube_like(long status, const char *body,
                                          size_t len, char *reason,
                                          size_t size, void *data)
{
  (void)status;
  (void)len;
  (void)data;
  if (strstr(body, "quotaExceeded")) {
    snprintf(reason, size, "quotaExceeded");
    return TS_FETCH_STOP_SOURCE;
  }
  if (strstr(body, "rateLimitExceeded")) {
    snprintf(reason, size, "rateLimitExceeded");
    return TS_FETCH_RETRY;
  }
  return TS_FETCH_BY_STATUS;
}

/* ---- the cases --------------------------------------------------------- */

static void cap_holds_and_is_reached(void)
{
  struct mock_server *m = start(
      "{\"routes\": [{\"path\": \"/slow/*\", \"file\": \"ok.json\", "
      "\"latency_ms\": 150}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.concurrency = 3;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  for (int i = 0; i < 12; i++) {
    char path[32];
    snprintf(path, sizeof path, "slow/%d", i);
    add(f, s, m, path, i, &seen, false);
  }
  run(f);
  json_t *st = stats_of(m);
  CHECK_INT(seen.done, 12);
  CHECK_INT(mock_stats_count(st, "/slow/"), 12);
  CHECK_INT(mock_stats_max_concurrent(st, "/slow/"), 3);
  struct ts_fetch_stats fs;
  ts_fetch_get_stats(f, -1, &fs);
  CHECK_INT(fs.peak_in_flight, 3);
  CHECK_INT(fs.ok, 12);
  json_decref(st);
  ts_fetch_free(f);
  stop(m);
}

static void rate_limits_hold_in_every_window(void)
{
  struct mock_server *m = start(
      "{\"routes\": [{\"path\": \"/**\", \"file\": \"ok.json\"}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.concurrency = 20;
  ts_rate_parse("12/s", &o.rate, NULL);
  struct ts_fetch *f = engine(&o);
  int a = source(f, "a", "5/s", NULL);
  int b = source(f, "b", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  for (int i = 0; i < 15; i++) {
    char path[32];
    snprintf(path, sizeof path, "a/%d", i);
    add(f, a, m, path, i, &seen, false);
    snprintf(path, sizeof path, "b/%d", i);
    add(f, b, m, path, 100 + i, &seen, false);
  }
  run(f);
  json_t *st = stats_of(m);
  CHECK_INT(seen.done, 30);
  CHECK_INT(mock_stats_count(st, "/a/"), 15);
  /* Each limit, measured by the server, in every window of its length. */
  CHECK(mock_stats_max_in_window(st, "/a/", 1000.0) <= 5);
  CHECK(mock_stats_max_in_window(st, "/", 1000.0) <= 12);
  /* And the limit is used, not merely respected. */
  CHECK_INT(mock_stats_max_in_window(st, "/a/", 1000.0), 5);
  json_decref(st);
  ts_fetch_free(f);
  stop(m);
}

static void retry_after_is_waited_not_less(void)
{
  struct mock_server *m = start(
      "{\"routes\": ["
      "{\"path\": \"/busy\", \"file\": \"ok.json\", "
      " \"fail\": [{\"status\": 429, \"retry_after\": \"1\"}]},"
      "{\"path\": \"/down\", \"file\": \"ok.json\", "
      " \"fail\": [{\"status\": 503, \"retry_after\": \"1\"}]},"
      "{\"path\": \"/broken\", \"file\": \"ok.json\", "
      " \"fail\": [{\"status\": 500}, {\"status\": 502}]},"
      "{\"path\": \"/gone\", \"status\": 404, \"body\": {\"message\": \"no\"}}"
      "]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.backoff_ms = 50;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  add(f, s, m, "busy", 0, &seen, false);
  add(f, s, m, "down", 1, &seen, false);
  add(f, s, m, "broken", 2, &seen, false);
  add(f, s, m, "gone", 3, &seen, false);
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_OK);
  CHECK_INT(seen.attempts[0], 2);
  CHECK_INT(seen.outcome[1], TS_FETCH_OK);
  CHECK_INT(seen.attempts[1], 2);
  CHECK_INT(seen.outcome[2], TS_FETCH_OK);
  CHECK_INT(seen.attempts[2], 3);
  CHECK_INT(seen.outcome[3], TS_FETCH_HTTP_ERROR); /* 4xx: never retried */
  CHECK_INT(seen.status[3], 404);
  CHECK_INT(seen.attempts[3], 1);
  json_t *st = stats_of(m);
  double *t = NULL;
  REQUIRE(mock_stats_arrivals(st, "/busy", &t) == 2);
  CHECK(t[1] - t[0] >= 1000.0); /* Retry-After: 1 second, not less */
  free(t);
  REQUIRE(mock_stats_arrivals(st, "/down", &t) == 2);
  CHECK(t[1] - t[0] >= 1000.0);
  free(t);
  CHECK_INT(mock_stats_count(st, "/gone"), 1);
  json_decref(st);
  ts_fetch_free(f);
  stop(m);
}

static void retry_after_http_date_and_deadline(void)
{
  /* An HTTP-date two seconds ahead; and a wait that would pass the
   * deadline is not taken at all. */
  char date[64], routes[512];
  time_t when = time(NULL) + 2;
  struct tm tm;
  gmtime_r(&when, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  snprintf(routes, sizeof routes,
           "{\"routes\": ["
           "{\"path\": \"/dated\", \"file\": \"ok.json\", "
           " \"fail\": [{\"status\": 503, \"retry_after\": \"%s\"}]},"
           "{\"path\": \"/later\", \"file\": \"ok.json\", "
           " \"fail\": [{\"status\": 429, \"retry_after\": \"30\"}]}]}",
           date);
  struct mock_server *m = start(routes);
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.deadline_ms = 8000;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  add(f, s, m, "dated", 0, &seen, false);
  add(f, s, m, "later", 1, &seen, false);
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_OK);
  CHECK_INT(seen.attempts[0], 2);
  CHECK_INT(seen.outcome[1], TS_FETCH_HTTP_ERROR);
  CHECK_INT(seen.status[1], 429);
  CHECK_INT(seen.attempts[1], 1);
  CHECK(strstr(seen.reason[1], "would pass the deadline") != NULL);
  json_t *st = stats_of(m);
  double *t = NULL;
  REQUIRE(mock_stats_arrivals(st, "/dated", &t) == 2);
  CHECK(t[1] - t[0] >= 900.0); /* the date has second precision */
  free(t);
  json_decref(st);
  struct ts_fetch_stats fs;
  ts_fetch_get_stats(f, -1, &fs);
  CHECK(fs.wall_ms < 7000); /* the 30 s wait was not taken */
  ts_fetch_free(f);
  stop(m);
}

static void quota_stops_the_source_not_the_others(void)
{
  struct mock_server *m = start(
      "{\"routes\": ["
      "{\"path\": \"/yt/*\", \"status\": 403, \"file\": \"quota.json\"},"
      "{\"path\": \"/hn/*\", \"file\": \"ok.json\", \"latency_ms\": 20}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.concurrency = 1;
  struct ts_fetch *f = engine(&o);
  int yt = source(f, "youtube", NULL, youtube_like);
  int hn = source(f, "hackernews", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  for (int i = 0; i < 6; i++) {
    char path[32];
    snprintf(path, sizeof path, "yt/%d", i);
    add(f, yt, m, path, i, &seen, false);
    snprintf(path, sizeof path, "hn/%d", i);
    add(f, hn, m, path, 100 + i, &seen, false);
  }
  run(f);
  json_t *st = stats_of(m);
  CHECK_INT(mock_stats_count(st, "/yt/"), 1);  /* stopped at once */
  CHECK_INT(mock_stats_count(st, "/hn/"), 6);  /* the other source went on */
  CHECK_INT(seen.outcome[0], TS_FETCH_HTTP_ERROR);
  CHECK_STR(seen.reason[0], "quotaExceeded");
  for (int i = 1; i < 6; i++)
    CHECK_INT(seen.outcome[i], TS_FETCH_CANCELLED);
  for (int i = 100; i < 106; i++)
    CHECK_INT(seen.outcome[i], TS_FETCH_OK);
  CHECK(ts_fetch_source_stopped(f, yt) != NULL);
  CHECK(ts_fetch_source_stopped(f, hn) == NULL);
  json_decref(st);
  ts_fetch_free(f);
  stop(m);
}

static void rate_limit_answer_is_retried_like_429(void)
{
  struct mock_server *m = start(
      "{\"routes\": [{\"path\": \"/yt\", \"file\": \"ok.json\", "
      "\"fail\": [{\"status\": 403, \"file\": \"slow.json\"}]}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.backoff_ms = 20;
  struct ts_fetch *f = engine(&o);
  int yt = source(f, "youtube", NULL, youtube_like);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  add(f, yt, m, "yt", 0, &seen, false);
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_OK);
  CHECK_INT(seen.attempts[0], 2);
  ts_fetch_free(f);
  stop(m);
}

static void deadline_cancels_and_keeps_what_finished(void)
{
  struct mock_server *m = start(
      "{\"routes\": ["
      "{\"path\": \"/fast\", \"file\": \"ok.json\"},"
      "{\"path\": \"/hang\", \"kind\": \"hang\"}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.concurrency = 1;
  o.deadline_ms = 1500;
  o.timeout_ms = 60000;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  add(f, s, m, "fast", 0, &seen, false);
  add(f, s, m, "hang", 1, &seen, false);
  add(f, s, m, "fast", 2, &seen, false); /* queued behind the hang */
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_OK);
  CHECK_INT(seen.outcome[1], TS_FETCH_CANCELLED);
  CHECK_INT(seen.outcome[2], TS_FETCH_CANCELLED);
  CHECK(strstr(seen.reason[1], "deadline of 1500 ms") != NULL);
  struct ts_fetch_stats fs;
  ts_fetch_get_stats(f, -1, &fs);
  CHECK(fs.wall_ms >= 1400 && fs.wall_ms < 5000);
  CHECK_INT(fs.cancelled, 2);
  ts_fetch_free(f);
  stop(m);
}

static void oversize_is_aborted_as_it_arrives(void)
{
  struct mock_server *m = start(
      "{\"routes\": [{\"path\": \"/huge\", \"kind\": \"oversize\", "
      "\"bytes\": 33554432}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.max_response_bytes = 64 * 1024;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  add(f, s, m, "huge", 0, &seen, false);
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_TOO_LARGE);
  CHECK_INT(seen.attempts[0], 1);
  CHECK_STR(seen.reason[0], "response larger than 65536 bytes");
  struct ts_fetch_stats fs;
  ts_fetch_get_stats(f, -1, &fs);
  CHECK(fs.bytes <= 64 * 1024);
  json_t *st = stats_of(m);
  /* The server did not get to send the 32 MiB. */
  json_t *req = json_array_get(json_object_get(st, "requests"), 0);
  CHECK(json_integer_value(json_object_get(req, "bytes")) < 33554432);
  json_decref(st);
  ts_fetch_free(f);
  stop(m);
}

static void hang_and_stall_time_out(void)
{
  struct mock_server *m = start(
      "{\"routes\": ["
      "{\"path\": \"/hang\", \"kind\": \"hang\"},"
      "{\"path\": \"/stall\", \"file\": \"ok.json\", "
      " \"slow_body\": {\"kind\": \"stall\", \"after_bytes\": 4}}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.timeout_ms = 700;
  o.stall_ms = 1000;
  o.retries = 0;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  add(f, s, m, "hang", 0, &seen, false);
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_TIMEOUT);
  CHECK_STR(seen.reason[0], "no answer within 700 ms");
  ts_fetch_free(f);

  /* A stall: bytes stop coming long before the total timeout. */
  o.timeout_ms = 30000;
  f = engine(&o);
  s = source(f, "a", NULL, NULL);
  add(f, s, m, "stall", 1, &seen, false);
  run(f);
  CHECK_INT(seen.outcome[1], TS_FETCH_TIMEOUT);
  struct ts_fetch_stats fs;
  ts_fetch_get_stats(f, -1, &fs);
  CHECK(fs.wall_ms < 10000);
  ts_fetch_free(f);
  stop(m);
}

static void dropped_connection_is_retried(void)
{
  struct mock_server *m = start(
      "{\"routes\": [{\"path\": \"/flaky\", \"file\": \"ok.json\", "
      "\"fail\": [{\"kind\": \"close_mid_body\"}, {\"kind\": "
      "\"empty_reply\"}]}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.backoff_ms = 20;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  add(f, s, m, "flaky", 0, &seen, false);
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_OK);
  CHECK_INT(seen.attempts[0], 3);
  CHECK_STR(seen.body[0], "{\"ok\": true}");
  struct ts_fetch_stats fs;
  ts_fetch_get_stats(f, -1, &fs);
  CHECK_INT(fs.retries, 2);
  ts_fetch_free(f);
  stop(m);
}

static void not_modified_reuses_the_stored_body(void)
{
  struct mock_server *m = start(
      "{\"routes\": [{\"path\": \"/chart\", \"file\": \"ok.json\", "
      "\"etag\": \"\\\"v1\\\"\", \"gzip\": true}]}");
  REQUIRE(m != NULL);
  char cache[96];
  snprintf(cache, sizeof cache, "%s/state", root);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  for (int i = 0; i < 2; i++) {
    struct ts_fetch_options o;
    ts_fetch_options_init(&o);
    o.cache_dir = cache;
    struct ts_fetch *f = engine(&o);
    int s = source(f, "a", NULL, NULL);
    add(f, s, m, "chart?key=SECRET", i, &seen, true);
    run(f);
    ts_fetch_free(f);
  }
  CHECK_INT(seen.outcome[0], TS_FETCH_OK);
  CHECK_INT(seen.outcome[1], TS_FETCH_NOT_MODIFIED);
  CHECK_INT(seen.status[1], 304);
  CHECK_STR(seen.body[1], "{\"ok\": true}");
  CHECK(strstr(seen.url[1], "key=REDACTED") != NULL);
  json_t *st = stats_of(m);
  json_t *reqs = json_object_get(st, "requests");
  CHECK_STR(json_string_value(
                json_object_get(json_array_get(reqs, 1), "if_none_match")),
            "\"v1\"");
  CHECK_STR(json_string_value(
                json_object_get(json_array_get(reqs, 0), "user_agent")),
            ts_fetch_user_agent());
  CHECK(strstr(json_string_value(json_object_get(json_array_get(reqs, 0),
                                                 "accept_encoding")),
               "gzip") != NULL);
  json_decref(st);
  /* The stored entry holds the redacted URL only. */
  char cmd[200];
  snprintf(cmd, sizeof cmd, "grep -rq SECRET '%s/http'", cache);
  CHECK(system(cmd) != 0);
  stop(m);
}

/* Follow-ups: each answer queues the next page until five pages. */
struct pager {
  struct mock_server *m;
  int src, pages;
  struct seen *seen;
};

static bool next_page(struct ts_fetch *f, const struct ts_fetch_response *r,
                      void *data)
{
  struct pager *p = data;
  record(f, r, p->seen);
  if (r->outcome == TS_FETCH_OK && ++p->pages < 5) {
    char path[32], label[16];
    snprintf(path, sizeof path, "page/%d", p->pages);
    snprintf(label, sizeof label, "%d", p->pages);
    char *url = mock_url(p->m, path);
    struct ts_fetch_request rq = {.source = p->src, .url = url,
                                  .label = label, .on_done = next_page,
                                  .data = p};
    struct ts_error err;
    if (ts_fetch_add(f, &rq, &err) != TS_OK)
      ts_test_fail(__FILE__, __LINE__, "follow-up: %s", err.msg);
    free(url);
  }
  return true;
}

static void follow_ups_obey_the_same_limits(void)
{
  struct mock_server *m = start(
      "{\"routes\": [{\"path\": \"/page/*\", \"file\": \"ok.json\"}]}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  struct ts_fetch *f = engine(&o);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  struct pager p = {m, source(f, "a", "2/s", NULL), 0, &seen};
  char *url = mock_url(m, "page/0");
  struct ts_fetch_request rq = {.source = p.src, .url = url, .label = "0",
                                .on_done = next_page, .data = &p};
  struct ts_error err;
  CHECK_INT(ts_fetch_add(f, &rq, &err), TS_OK);
  free(url);
  run(f);
  CHECK_INT(seen.done, 5);
  json_t *st = stats_of(m);
  CHECK_INT(mock_stats_count(st, "/page/"), 5);
  CHECK(mock_stats_max_in_window(st, "/page/", 1000.0) <= 2);
  json_decref(st);
  struct ts_fetch_stats fs;
  ts_fetch_get_stats(f, p.src, &fs);
  CHECK_INT(fs.requests, 5);
  ts_fetch_free(f);
  stop(m);
}

static void keys_never_reach_reports(void)
{
  struct mock_server *m = start("{\"routes\": []}");
  REQUIRE(m != NULL);
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.retries = 0;
  struct ts_fetch *f = engine(&o);
  int s = source(f, "a", NULL, NULL);
  static struct seen seen;
  memset(&seen, 0, sizeof seen);
  /* A connection refused on a closed port, with the key in the URL. */
  struct ts_fetch_request rq = {.source = s,
                                .url = "http://127.0.0.1:1/v?key=SECRET&apiKey=S2",
                                .label = "0", .on_done = record,
                                .data = &seen};
  struct ts_error err;
  CHECK_INT(ts_fetch_add(f, &rq, &err), TS_OK);
  run(f);
  CHECK_INT(seen.outcome[0], TS_FETCH_NETWORK_ERROR);
  CHECK(strstr(seen.url[0], "SECRET") == NULL);
  CHECK(strstr(seen.url[0], "S2") == NULL);
  CHECK(strstr(seen.reason[0], "SECRET") == NULL);
  CHECK(seen.reason[0][0] != '\0');
  ts_fetch_free(f);
  stop(m);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(cap_holds_and_is_reached),
    TEST(rate_limits_hold_in_every_window),
    TEST(retry_after_is_waited_not_less),
    TEST(retry_after_http_date_and_deadline),
    TEST(quota_stops_the_source_not_the_others),
    TEST(rate_limit_answer_is_retried_like_429),
    TEST(deadline_cancels_and_keeps_what_finished),
    TEST(oversize_is_aborted_as_it_arrives),
    TEST(hang_and_stall_time_out),
    TEST(dropped_connection_is_retried),
    TEST(not_modified_reuses_the_stored_body),
    TEST(follow_ups_obey_the_same_limits),
    TEST(keys_never_reach_reports),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

/*
 * The fetch engine. See fetch.h for what it promises; this comment is
 * about how.
 *
 * A request lives in exactly one place at a time:
 *   queued   in its source's FIFO (retries go to the front),
 *   waiting  in the delay list, sorted by the time its backoff ends,
 *   running  in the running list, its easy handle added to the multi,
 * and ends with one call of its done callback, after which it is freed.
 *
 * pump() is the scheduler. It runs after anything that can free a slot or
 * open a rate window (a transfer ending, the scheduler timer, a new
 * request) and starts requests, round-robin over sources, while the cap
 * and both rate limits allow. When a limit is what stops it, it arms one
 * timer for the earliest moment a request could start.
 *
 * libcurl is only called from our own callbacks after it returned, never
 * from inside its socket or timer callbacks.
 */
#include "fetch.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "util/buf.h"
#include "util/curl_load.h"
#include "util/fs.h"
#include "util/redact.h"
#include "version.h"

#define NS_PER_MS INT64_C(1000000)
#define REASON_MAX 256
#define PROGRESS_TTY_MS 200
#define PROGRESS_LOG_MS 10000

enum place { QUEUED, WAITING, RUNNING };

struct request {
  struct ts_fetch *fetch;
  struct request *prev, *next; /* links in its current place */
  enum place place;
  int source;
  char *url;          /* may hold a key: never printed */
  char *url_redacted; /* for everything a person sees */
  char *label;
  char *host;         /* "scheme://host:port", for the HTTP/2 set */
  struct curl_slist *headers;
  bool conditional;
  ts_fetch_done_fn on_done;
  void *data;

  CURL *easy;
  struct ts_buf body;
  unsigned attempts;
  int64_t first_start_ns;
  int64_t attempt_start_ns;
  int64_t ready_ns; /* while waiting: when the backoff ends */
  /* This attempt's places in the global and the source's rate logs. */
  struct ts_ratelimit_mark global_mark, source_mark;
  bool too_large;
  char errbuf[CURL_ERROR_SIZE];
  /* Headers of the final response (reset when a new status line starts). */
  char etag[256];
  char last_modified[64];
  char retry_after[64];
  /* Conditional-request cache entry (hex of the URL's hash). */
  char cache_key[17];
  bool have_cached;
};

struct list {
  struct request *head, *tail;
  unsigned count;
};

struct source {
  char *name;
  struct ts_ratelimit limit;
  ts_fetch_classify_fn classify;
  void *classify_data;
  struct list queue;
  char *stopped; /* why, once stopped */
  struct ts_fetch_stats stats;
};

struct sock {
  uv_poll_t poll;
  curl_socket_t fd;
  struct ts_fetch *fetch;
  struct sock *next; /* live sockets, so teardown can close leftovers */
};

struct ts_fetch {
  struct ts_fetch_options opts;
  uv_loop_t loop;
  CURLM *multi;
  uv_timer_t curl_timer;  /* libcurl's single-shot timeout */
  uv_timer_t sched_timer; /* wakes pump() when a limit or backoff opens */
  uv_timer_t deadline_timer;
  uv_timer_t progress_timer;
  unsigned open_handles; /* initialised uv handles not yet closed */
  struct sock *socks;

  struct ts_ratelimit limit;
  struct source *sources;
  int nsources;
  int rr_next; /* round-robin position */

  struct list waiting; /* sorted by ready_ns */
  struct list running;

  char **h2_hosts; /* hosts seen speaking HTTP/2 (multiplexing) */
  size_t nh2;

  uint64_t rng;
  int64_t run_start_ns;
  bool ran, finished, deadline_passed, torn_down, progress_drawn;
  int64_t last_progress_log_ns;
  struct ts_fetch_stats stats;
};

/* ---- small helpers ----------------------------------------------------- */

static int64_t now_ns(void)
{
  return (int64_t)uv_hrtime();
}

static double ms_between(int64_t from, int64_t to)
{
  return (double)(to - from) / 1e6;
}

static char *dup_str(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}

/* xorshift64*: deterministic jitter for a given seed, no global state. */
static uint64_t next_random(struct ts_fetch *f)
{
  f->rng ^= f->rng >> 12;
  f->rng ^= f->rng << 25;
  f->rng ^= f->rng >> 27;
  return f->rng * UINT64_C(2685821657736338717);
}

static void list_push_back(struct list *l, struct request *r)
{
  r->next = NULL;
  r->prev = l->tail;
  if (l->tail)
    l->tail->next = r;
  else
    l->head = r;
  l->tail = r;
  l->count++;
}

static void list_push_front(struct list *l, struct request *r)
{
  r->prev = NULL;
  r->next = l->head;
  if (l->head)
    l->head->prev = r;
  else
    l->tail = r;
  l->head = r;
  l->count++;
}

static void list_remove(struct list *l, struct request *r)
{
  if (r->prev)
    r->prev->next = r->next;
  else
    l->head = r->next;
  if (r->next)
    r->next->prev = r->prev;
  else
    l->tail = r->prev;
  r->prev = r->next = NULL;
  l->count--;
}

/* Inserts keeping the list sorted by ready_ns (stable for equal times). */
static void list_insert_by_time(struct list *l, struct request *r)
{
  struct request *at = l->tail;
  while (at && at->ready_ns > r->ready_ns)
    at = at->prev;
  if (!at) {
    list_push_front(l, r);
    return;
  }
  r->prev = at;
  r->next = at->next;
  if (at->next)
    at->next->prev = r;
  else
    l->tail = r;
  at->next = r;
  l->count++;
}

static uint64_t fnv1a64(const char *s)
{
  uint64_t h = UINT64_C(14695981039346656037);
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= UINT64_C(1099511628211);
  }
  return h;
}

/* "https://host:port" part of a URL, for the HTTP/2 host set. */
static char *host_of(const char *url)
{
  const char *p = strstr(url, "://");
  if (!p)
    return dup_str(url);
  p += 3;
  size_t n = strcspn(p, "/?#");
  size_t len = (size_t)(p - url) + n;
  char *h = malloc(len + 1);
  if (h) {
    memcpy(h, url, len);
    h[len] = '\0';
  }
  return h;
}

static bool host_speaks_h2(const struct ts_fetch *f, const char *host)
{
  for (size_t i = 0; i < f->nh2; i++)
    if (!strcmp(f->h2_hosts[i], host))
      return true;
  return false;
}

static void remember_h2_host(struct ts_fetch *f, const char *host)
{
  if (!host || host_speaks_h2(f, host))
    return;
  char **hosts = realloc(f->h2_hosts, (f->nh2 + 1) * sizeof *hosts);
  if (!hosts)
    return; /* only an optimisation */
  f->h2_hosts = hosts;
  if ((hosts[f->nh2] = dup_str(host)))
    f->nh2++;
}

const char *ts_fetch_outcome_name(enum ts_fetch_outcome outcome)
{
  switch (outcome) {
  case TS_FETCH_OK: return "ok";
  case TS_FETCH_NOT_MODIFIED: return "not-modified";
  case TS_FETCH_HTTP_ERROR: return "http-error";
  case TS_FETCH_TIMEOUT: return "timeout";
  case TS_FETCH_TOO_LARGE: return "too-large";
  case TS_FETCH_CANCELLED: return "cancelled";
  case TS_FETCH_NETWORK_ERROR: return "network-error";
  }
  return "unknown";
}

const char *ts_fetch_user_agent(void)
{
  return "trendsite/" TS_VERSION " (gzip)";
}

void ts_fetch_options_init(struct ts_fetch_options *opts)
{
  memset(opts, 0, sizeof *opts);
  opts->concurrency = 3;
  opts->per_host = 6;
  opts->timeout_ms = 10000;
  opts->deadline_ms = 120000;
  opts->retries = 3;
  opts->backoff_ms = 500;
  opts->max_response_bytes = 8u << 20;
}

/* ---- conditional-request cache ---------------------------------------- */

/* Entries are named by a hash of the full URL (key included, so two keys
 * never share an entry) and hold only the redacted URL: the state folder
 * is uploaded as a CI cache and must not carry secrets. */
static void cache_paths(const struct ts_fetch *f, const struct request *r,
                        char *meta, char *body, size_t size)
{
  snprintf(meta, size, "%s/http/%s.json", f->opts.cache_dir, r->cache_key);
  snprintf(body, size, "%s/http/%s.body", f->opts.cache_dir, r->cache_key);
}

/* Adds If-None-Match / If-Modified-Since from a stored entry. */
static void cache_prepare(struct ts_fetch *f, struct request *r)
{
  snprintf(r->cache_key, sizeof r->cache_key, "%016" PRIx64, fnv1a64(r->url));
  if (!f->opts.cache_dir || !r->conditional)
    return;
  char meta[4096], body[4096];
  cache_paths(f, r, meta, body, sizeof meta);
  json_t *entry = json_load_file(meta, 0, NULL);
  if (!entry)
    return;
  const char *etag = json_string_value(json_object_get(entry, "etag"));
  const char *lm = json_string_value(json_object_get(entry, "last_modified"));
  char line[400];
  if (etag && *etag && strlen(etag) < 300) {
    snprintf(line, sizeof line, "If-None-Match: %s", etag);
    struct curl_slist *h = curl_slist_append(r->headers, line);
    if (h)
      r->headers = h, r->have_cached = true;
  }
  if (lm && *lm && strlen(lm) < 100) {
    snprintf(line, sizeof line, "If-Modified-Since: %s", lm);
    struct curl_slist *h = curl_slist_append(r->headers, line);
    if (h)
      r->headers = h, r->have_cached = true;
  }
  json_decref(entry);
}

static bool cache_load_body(struct ts_fetch *f, struct request *r)
{
  char meta[4096], path[4096];
  cache_paths(f, r, meta, path, sizeof meta);
  char *data;
  size_t len;
  if (ts_fs_read(path, f->opts.max_response_bytes, &data, &len, NULL) != TS_OK)
    return false;
  ts_buf_reset(&r->body);
  enum ts_result result = ts_buf_append(&r->body, data, len);
  free(data);
  return result == TS_OK;
}

static void cache_store(struct ts_fetch *f, struct request *r)
{
  if (!f->opts.cache_dir || !r->conditional ||
      (!r->etag[0] && !r->last_modified[0]))
    return;
  char meta[4096], body[4096], dir[4096];
  snprintf(dir, sizeof dir, "%s/http", f->opts.cache_dir);
  struct ts_error err;
  if (ts_fs_mkdirs(dir, &err) != TS_OK) {
    ts_log_warn(f->opts.log, "HTTP cache: %s", err.msg);
    return;
  }
  cache_paths(f, r, meta, body, sizeof meta);
  json_t *entry = json_pack("{s:s, s:s, s:s}", "url", r->url_redacted, "etag",
                            r->etag, "last_modified", r->last_modified);
  char *text = entry ? json_dumps(entry, JSON_SORT_KEYS) : NULL;
  json_decref(entry);
  /* Body first: a meta file must never point at a missing body. */
  if (!text ||
      ts_fs_write_atomic(body, r->body.data ? r->body.data : "", r->body.len,
                         &err) != TS_OK ||
      ts_fs_write_atomic(meta, text, strlen(text), &err) != TS_OK)
    ts_log_warn(f->opts.log, "HTTP cache: %s",
                text ? err.msg : "out of memory");
  free(text);
}

/* ---- progress ---------------------------------------------------------- */

static unsigned queued_count(const struct ts_fetch *f)
{
  unsigned n = 0;
  for (int i = 0; i < f->nsources; i++)
    n += f->sources[i].queue.count;
  return n;
}

static void progress_line(const struct ts_fetch *f, char *buf, size_t size)
{
  const struct ts_fetch_stats *s = &f->stats;
  unsigned total = s->requests + queued_count(f) + f->waiting.count +
                   f->running.count;
  snprintf(buf, size,
           "fetch: %u/%u done, %u in flight, %u retrying, %u failed, %.1fs",
           s->requests, total, f->running.count, f->waiting.count,
           s->failed + s->cancelled, ms_between(f->run_start_ns, now_ns()) / 1e3);
}

static void progress_clear(struct ts_fetch *f)
{
  if (f->progress_drawn && f->opts.log) {
    fputs("\r\033[K", f->opts.log->out);
    fflush(f->opts.log->out);
    f->progress_drawn = false;
  }
}

static void on_progress(uv_timer_t *timer)
{
  struct ts_fetch *f = timer->data;
  const struct ts_log *log = f->opts.log;
  char line[256];
  progress_line(f, line, sizeof line);
  if (log->tty) {
    fprintf(log->out, "\r\033[K%s", line);
    fflush(log->out);
    f->progress_drawn = true;
  } else if (now_ns() - f->last_progress_log_ns >=
             PROGRESS_LOG_MS * NS_PER_MS) {
    ts_log_info(log, "%s", line);
    f->last_progress_log_ns = now_ns();
  }
}

/* ---- ending a request -------------------------------------------------- */

static void count_end(struct ts_fetch_stats *s, enum ts_fetch_outcome outcome)
{
  s->requests++;
  switch (outcome) {
  case TS_FETCH_OK: s->ok++; break;
  case TS_FETCH_NOT_MODIFIED: s->not_modified++; break;
  case TS_FETCH_CANCELLED: s->cancelled++; break;
  default: s->failed++; break;
  }
}

static void request_free(struct request *r)
{
  if (r->easy)
    curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->headers);
  ts_buf_cleanup(&r->body);
  free(r->url);
  free(r->url_redacted);
  free(r->label);
  free(r->host);
  free(r);
}

/* Reports the outcome once, stores cache validators when the body was
 * used, and frees the request. The request is in no list any more. */
static void finish(struct request *r, enum ts_fetch_outcome outcome,
                   long status, const char *reason)
{
  struct ts_fetch *f = r->fetch;
  struct ts_fetch_response res = {
    .outcome = outcome,
    .status = status,
    .body = ts_buf_cstr(&r->body),
    .body_len = r->body.len,
    .url = r->url_redacted,
    .label = r->label,
    .reason = reason ? reason : "",
    .source = r->source,
    .attempts = r->attempts,
    .elapsed_ms = r->first_start_ns ? ms_between(r->first_start_ns, now_ns())
                                    : 0,
  };
  count_end(&f->stats, outcome);
  count_end(&f->sources[r->source].stats, outcome);
  const struct ts_log *log = f->opts.log;
  if (outcome == TS_FETCH_OK || outcome == TS_FETCH_NOT_MODIFIED) {
    ts_log_debug(log, "%s: HTTP %ld%s, %zu bytes in %.1f ms, %u attempt%s",
                 r->label, status,
                 outcome == TS_FETCH_NOT_MODIFIED ? " (cached body)" : "",
                 r->body.len, res.elapsed_ms, r->attempts,
                 r->attempts == 1 ? "" : "s");
  } else if (outcome != TS_FETCH_CANCELLED) {
    progress_clear(f);
    char statusbuf[32] = "";
    if (status)
      snprintf(statusbuf, sizeof statusbuf, " HTTP %ld", status);
    ts_log_debug(log, "%s: failed: %s%s%s%s after %u attempt%s", r->label,
                 ts_fetch_outcome_name(outcome), statusbuf,
                 res.reason[0] ? " " : "", res.reason, r->attempts,
                 r->attempts == 1 ? "" : "s");
  }
  bool used = r->on_done ? r->on_done(f, &res, r->data) : false;
  if (used && outcome == TS_FETCH_OK)
    cache_store(f, r);
  request_free(r);
}

/* ---- starting a request ------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
  struct request *r = userp;
  size_t len = size * n;
  if (r->body.len + len > r->fetch->opts.max_response_bytes) {
    r->too_large = true;
    return 0; /* aborts the transfer: never buffer past the cap */
  }
  if (ts_buf_append(&r->body, data, len) != TS_OK)
    return 0;
  r->fetch->stats.bytes += len;
  r->fetch->sources[r->source].stats.bytes += len;
  return len;
}

/* Copies a header's value, trimmed, when `line` is that header. */
static bool header_value(const char *line, size_t len, const char *name,
                         char *out, size_t size)
{
  size_t n = strlen(name);
  if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
    return false;
  const char *v = line + n + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && isspace((unsigned char)end[-1]))
    end--;
  size_t vlen = (size_t)(end - v);
  if (vlen >= size)
    vlen = size - 1;
  memcpy(out, v, vlen);
  out[vlen] = '\0';
  return true;
}

static size_t on_header(char *line, size_t size, size_t n, void *userp)
{
  struct request *r = userp;
  size_t len = size * n;
  if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
    /* A new response (after a redirect or 100-continue): start over. */
    r->etag[0] = r->last_modified[0] = r->retry_after[0] = '\0';
  } else if (!header_value(line, len, "ETag", r->etag, sizeof r->etag) &&
             !header_value(line, len, "Last-Modified", r->last_modified,
                           sizeof r->last_modified)) {
    header_value(line, len, "Retry-After", r->retry_after,
                 sizeof r->retry_after);
  }
  return len;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* CURLOPT_PREREQFUNCTION: connected, about to send. This is when the
 * request really leaves, so it is the start that the rate limits count. */
static int on_prereq(void *userp, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port)
{
  (void)conn_primary_ip;
  (void)conn_local_ip;
  (void)conn_primary_port;
  (void)conn_local_port;
  struct request *r = userp;
  struct ts_fetch *f = r->fetch;
  int64_t now = now_ns();
  ts_ratelimit_confirm(&f->limit, r->global_mark, now);
  ts_ratelimit_confirm(&f->sources[r->source].limit, r->source_mark, now);
  return CURL_PREREQFUNC_OK;
}
#endif

static enum ts_result setup_easy(struct ts_fetch *f, struct request *r)
{
  CURL *e = curl_easy_init();
  if (!e)
    return TS_ERR_NOMEM;
  r->easy = e;
  const struct ts_fetch_options *o = &f->opts;
  long connect_ms = o->connect_timeout_ms;
  if (connect_ms <= 0)
    connect_ms = o->timeout_ms > 0 && o->timeout_ms < 10000 ? o->timeout_ms
                                                            : 10000;
  long stall_s = o->stall_ms > 0 ? (o->stall_ms + 999) / 1000 : 5;
  int c = CURLE_OK;
  c |= curl_easy_setopt(e, CURLOPT_URL, r->url);
  c |= curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  c |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  c |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  c |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  c |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  c |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  c |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  c |= curl_easy_setopt(e, CURLOPT_USERAGENT, ts_fetch_user_agent());
  c |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* all built in */
  c |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  c |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  if (o->timeout_ms > 0)
    c |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
  c |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  c |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s);
  c |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                        (curl_off_t)o->max_response_bytes);
  c |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  c |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
  c |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  c |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  c |= curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                        (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  c |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                        (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  c |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
#if LIBCURL_VERSION_NUM >= 0x075000
  c |= curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
  c |= curl_easy_setopt(e, CURLOPT_PREREQDATA, r);
#endif
  return c == CURLE_OK ? TS_OK : TS_ERR_INTERNAL;
}

static void start(struct ts_fetch *f, struct request *r, int64_t now)
{
  if (!r->easy && setup_easy(f, r) != TS_OK) {
    finish(r, TS_FETCH_NETWORK_ERROR, 0, "could not set up the transfer");
    return;
  }
  /* Wait for a multiplexed stream only where the host is known to speak
   * HTTP/2; against HTTP/1.1 it would hold every new request back a round
   * trip for the first connection. */
  curl_easy_setopt(r->easy, CURLOPT_PIPEWAIT,
                   host_speaks_h2(f, r->host) ? 1L : 0L);
  ts_buf_reset(&r->body);
  r->too_large = false;
  r->errbuf[0] = '\0';
  r->attempts++;
  r->attempt_start_ns = now;
  if (!r->first_start_ns)
    r->first_start_ns = now;
  if (r->attempts > 1) {
    f->stats.retries++;
    f->sources[r->source].stats.retries++;
  }
  f->stats.attempts++;
  f->sources[r->source].stats.attempts++;
  r->global_mark = ts_ratelimit_record(&f->limit, now);
  r->source_mark = ts_ratelimit_record(&f->sources[r->source].limit, now);
  CURLMcode mc = curl_multi_add_handle(f->multi, r->easy);
  if (mc != CURLM_OK) {
    finish(r, TS_FETCH_NETWORK_ERROR, 0, curl_multi_strerror(mc));
    return;
  }
  r->place = RUNNING;
  list_push_back(&f->running, r);
  if (f->running.count > f->stats.peak_in_flight)
    f->stats.peak_in_flight = f->running.count;
  if (strcmp(r->label, r->url_redacted) != 0)
    ts_log_debug(f->opts.log, "%s: GET %s (attempt %u)", r->label,
                 r->url_redacted, r->attempts);
  else
    ts_log_debug(f->opts.log, "GET %s (attempt %u)", r->url_redacted,
                 r->attempts);
}

/* ---- the scheduler ----------------------------------------------------- */

static void on_sched_timer(uv_timer_t *timer);
static void maybe_teardown(struct ts_fetch *f);

static void cancel_request(struct request *r, const char *why)
{
  finish(r, TS_FETCH_CANCELLED, 0, why);
}

/* Ends every queued and waiting request of `source` (all when < 0). */
static void cancel_pending(struct ts_fetch *f, int source, const char *why)
{
  for (int i = 0; i < f->nsources; i++) {
    if (source >= 0 && i != source)
      continue;
    struct request *r;
    while ((r = f->sources[i].queue.head)) {
      list_remove(&f->sources[i].queue, r);
      cancel_request(r, why);
    }
  }
  struct request *r = f->waiting.head;
  while (r) {
    struct request *next = r->next;
    if (source < 0 || r->source == source) {
      list_remove(&f->waiting, r);
      cancel_request(r, why);
    }
    r = next;
  }
}

static void pump(struct ts_fetch *f)
{
  if (f->torn_down)
    return;
  int64_t now = now_ns();
  /* Backoffs that ended go back to the front of their source's queue. */
  while (f->waiting.head && f->waiting.head->ready_ns <= now) {
    struct request *r = f->waiting.head;
    list_remove(&f->waiting, r);
    r->place = QUEUED;
    list_push_front(&f->sources[r->source].queue, r);
  }
  int64_t wake = INT64_MAX;
  while (f->running.count < f->opts.concurrency) {
    int64_t global_at = ts_ratelimit_next(&f->limit, now);
    if (global_at > now) {
      wake = global_at;
      break;
    }
    struct request *pick = NULL;
    for (int k = 0; k < f->nsources && !pick; k++) {
      int i = (f->rr_next + k) % f->nsources;
      struct source *s = &f->sources[i];
      if (!s->queue.head || s->stopped)
        continue;
      int64_t at = ts_ratelimit_next(&s->limit, now);
      if (at > now) {
        if (at < wake)
          wake = at;
        continue;
      }
      pick = s->queue.head;
      list_remove(&s->queue, pick);
      f->rr_next = (i + 1) % f->nsources;
    }
    if (!pick)
      break;
    start(f, pick, now);
    now = now_ns();
  }
  if (f->waiting.head && f->waiting.head->ready_ns < wake)
    wake = f->waiting.head->ready_ns;
  if (wake != INT64_MAX) {
    int64_t ms = (wake - now + NS_PER_MS - 1) / NS_PER_MS;
    uv_timer_start(&f->sched_timer, on_sched_timer, (uint64_t)(ms > 0 ? ms : 0),
                   0);
  } else {
    uv_timer_stop(&f->sched_timer);
  }
}

static void on_sched_timer(uv_timer_t *timer)
{
  struct ts_fetch *f = timer->data;
  pump(f);
  maybe_teardown(f);
}

/* Retry-After: delay-seconds or an HTTP-date. -1 when absent or bad. */
static int64_t retry_after_ms(const char *value)
{
  if (!value[0])
    return -1;
  char *end;
  errno = 0;
  long long secs = strtoll(value, &end, 10);
  if (end != value && *end == '\0' && !errno && secs >= 0)
    return secs > INT64_MAX / 1000 ? INT64_MAX : (int64_t)secs * 1000;
  time_t when = curl_getdate(value, NULL);
  if (when == (time_t)-1)
    return -1;
  time_t now = time(NULL);
  return when > now ? ((int64_t)when - (int64_t)now) * 1000 : 0;
}

/* Full jitter: uniform in [0, min(cap, base * 2^(attempt - 1))]. */
static int64_t backoff_ms(struct ts_fetch *f, unsigned attempt)
{
  int64_t cap = f->opts.max_backoff_ms > 0 ? f->opts.max_backoff_ms : 60000;
  int64_t ceiling = f->opts.backoff_ms > 0 ? f->opts.backoff_ms : 1;
  for (unsigned i = 1; i < attempt && ceiling < cap; i++)
    ceiling *= 2;
  if (ceiling > cap)
    ceiling = cap;
  return (int64_t)(next_random(f) % (uint64_t)(ceiling + 1));
}

/*
 * Schedules another attempt after `wait_ms`, unless retries are used up or
 * the wait would pass the deadline; then ends the request with `outcome`.
 */
static void retry_or_finish(struct request *r, int64_t wait_ms,
                            enum ts_fetch_outcome outcome, long status,
                            const char *reason)
{
  struct ts_fetch *f = r->fetch;
  const char *stopped = f->sources[r->source].stopped;
  if (r->attempts > f->opts.retries || stopped) {
    finish(r, outcome, status, reason);
    return;
  }
  int64_t now = now_ns();
  int64_t ready = now + wait_ms * NS_PER_MS;
  if (f->opts.deadline_ms > 0 &&
      ready >= f->run_start_ns + f->opts.deadline_ms * NS_PER_MS) {
    char why[REASON_MAX + 96];
    snprintf(why, sizeof why, "%s%s(a retry in %.1f s would pass the deadline)",
             reason, reason[0] ? " " : "", (double)wait_ms / 1000);
    finish(r, outcome, status, why);
    return;
  }
  progress_clear(f);
  ts_log_msg(f->opts.log, f->opts.log && f->opts.log->tty ? TS_LOG_DEBUG
                                                          : TS_LOG_INFO,
             "%s: %s%s%s, retrying in %.1f s (attempt %u of %u)", r->label,
             ts_fetch_outcome_name(outcome), reason[0] ? ": " : "", reason,
             (double)wait_ms / 1000, r->attempts + 1, f->opts.retries + 1);
  r->ready_ns = ready;
  r->place = WAITING;
  list_insert_by_time(&f->waiting, r);
}

/* A generic reason from the common JSON error shapes, for sources that
 * do not classify: Google's error.errors[0].reason, NewsAPI's code,
 * Guardian's response.message or a flat message. */
static void generic_reason(const char *body, size_t len, char *out,
                           size_t size)
{
  json_t *root = json_loadb(body, len, 0, NULL);
  if (!root)
    return;
  json_t *error = json_object_get(root, "error");
  const char *s = NULL;
  if (json_is_object(error)) {
    s = json_string_value(json_object_get(
        json_array_get(json_object_get(error, "errors"), 0), "reason"));
    if (!s)
      s = json_string_value(json_object_get(error, "message"));
  } else if (json_is_string(error)) {
    s = json_string_value(error);
  }
  if (!s)
    s = json_string_value(json_object_get(root, "code"));
  if (!s)
    s = json_string_value(
        json_object_get(json_object_get(root, "response"), "message"));
  if (!s)
    s = json_string_value(json_object_get(root, "message"));
  if (s)
    snprintf(out, size, "%s", s);
  json_decref(root);
}

static void http_answer(struct request *r, long status)
{
  struct ts_fetch *f = r->fetch;
  struct source *src = &f->sources[r->source];
  if (status == 304 && r->have_cached) {
    if (cache_load_body(f, r)) {
      finish(r, TS_FETCH_NOT_MODIFIED, status, "");
    } else {
      /* The stored body is gone: ask again without validators. */
      curl_slist_free_all(r->headers);
      r->headers = NULL;
      r->have_cached = false;
      r->conditional = false;
      curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);
      retry_or_finish(r, 0, TS_FETCH_HTTP_ERROR, status,
                      "304 without a cached body");
    }
    return;
  }
  if (status >= 200 && status < 300) {
    finish(r, TS_FETCH_OK, status, "");
    return;
  }
  char reason[REASON_MAX] = "";
  enum ts_fetch_verdict verdict = TS_FETCH_BY_STATUS;
  if (src->classify)
    verdict = src->classify(status, ts_buf_cstr(&r->body), r->body.len, reason,
                            sizeof reason, src->classify_data);
  if (!reason[0])
    generic_reason(ts_buf_cstr(&r->body), r->body.len, reason, sizeof reason);
  /* The reason comes from the API: keep it on one line. */
  for (char *p = reason; *p; p++)
    if ((unsigned char)*p < 0x20)
      *p = ' ';

  if (verdict == TS_FETCH_STOP_SOURCE) {
    if (!src->stopped) {
      char why[REASON_MAX + 64];
      snprintf(why, sizeof why, "HTTP %ld %s", status, reason);
      src->stopped = dup_str(why);
      progress_clear(f);
      ts_log_warn(f->opts.log,
                  "%s: HTTP %ld %s: no further requests to %s in this run",
                  r->label, status, reason, src->name);
    }
    finish(r, TS_FETCH_HTTP_ERROR, status, reason);
    cancel_pending(f, (int)(src - f->sources), src->stopped);
    return;
  }
  bool slow_down = verdict == TS_FETCH_RETRY ||
                   (verdict == TS_FETCH_BY_STATUS &&
                    (status == 429 || status == 503));
  if (slow_down) {
    int64_t wait = retry_after_ms(r->retry_after);
    if (wait < 0)
      wait = backoff_ms(f, r->attempts);
    retry_or_finish(r, wait, TS_FETCH_HTTP_ERROR, status, reason);
  } else if (verdict == TS_FETCH_BY_STATUS && status >= 500) {
    retry_or_finish(r, backoff_ms(f, r->attempts), TS_FETCH_HTTP_ERROR, status,
                    reason);
  } else {
    finish(r, TS_FETCH_HTTP_ERROR, status, reason);
  }
}

static bool retryable_curl_error(CURLcode code)
{
  switch (code) {
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_OUT_OF_MEMORY:
    return false;
  default:
    return true;
  }
}

/* One attempt ended: decide between done, retry and failure. */
static void attempt_done(struct ts_fetch *f, struct request *r, CURLcode code)
{
  list_remove(&f->running, r);
  curl_multi_remove_handle(f->multi, r->easy);
  long status = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  long version = 0;
  curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &version);
  if (version >= CURL_HTTP_VERSION_2_0)
    remember_h2_host(f, r->host);

  if (code == CURLE_OK) {
    http_answer(r, status);
    return;
  }
  char reason[REASON_MAX + 64];
  char redacted[REASON_MAX];
  ts_redact(r->errbuf[0] ? r->errbuf : curl_easy_strerror(code), redacted,
            sizeof redacted);
  if (r->too_large || code == CURLE_FILESIZE_EXCEEDED) {
    snprintf(reason, sizeof reason, "response larger than %zu bytes",
             f->opts.max_response_bytes);
    finish(r, TS_FETCH_TOO_LARGE, status, reason);
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    double took = ms_between(r->attempt_start_ns, now_ns());
    if (f->opts.timeout_ms > 0 && took + 50 >= (double)f->opts.timeout_ms)
      snprintf(reason, sizeof reason, "no answer within %ld ms",
               f->opts.timeout_ms);
    else
      snprintf(reason, sizeof reason, "%s", redacted);
    retry_or_finish(r, backoff_ms(f, r->attempts), TS_FETCH_TIMEOUT, status,
                    reason);
  } else if (retryable_curl_error(code)) {
    retry_or_finish(r, backoff_ms(f, r->attempts), TS_FETCH_NETWORK_ERROR,
                    status, redacted);
  } else {
    finish(r, TS_FETCH_NETWORK_ERROR, status, redacted);
  }
}

/* Drains finished transfers; called after every socket action. */
static void drain(struct ts_fetch *f)
{
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(f->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    char *private = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private);
    struct request *r = (struct request *)private;
    CURLcode code = msg->data.result; /* msg is invalid after removal */
    attempt_done(f, r, code);
  }
}

/* ---- libcurl <-> libuv glue ------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
  struct ts_fetch *f = handle->data;
  f->open_handles--;
}

static void on_sock_closed(uv_handle_t *handle)
{
  struct sock *s = (struct sock *)handle;
  s->fetch->open_handles--;
  free(s);
}

static void close_sock(struct ts_fetch *f, struct sock *s)
{
  for (struct sock **p = &f->socks; *p; p = &(*p)->next) {
    if (*p == s) {
      *p = s->next;
      break;
    }
  }
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
  struct sock *s = (struct sock *)poll;
  struct ts_fetch *f = s->fetch;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  int running;
  curl_multi_socket_action(f->multi, s->fd, flags, &running);
  drain(f);
  pump(f);
  maybe_teardown(f);
}

/* CURLMOPT_SOCKETFUNCTION: watch what libcurl asks us to watch. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp)
{
  (void)easy;
  struct ts_fetch *f = userp;
  struct sock *s = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      curl_multi_assign(f->multi, fd, NULL);
      close_sock(f, s);
    }
    return 0;
  }
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s)
      return -1;
    if (uv_poll_init_socket(&f->loop, &s->poll, fd) != 0) {
      free(s);
      return -1;
    }
    s->fd = fd;
    s->fetch = f;
    s->poll.data = f;
    s->next = f->socks;
    f->socks = s;
    f->open_handles++;
    curl_multi_assign(f->multi, fd, s);
  }
  int events = 0;
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  uv_poll_start(&s->poll, events, on_poll);
  return 0;
}

static void on_curl_timer_fired(uv_timer_t *timer)
{
  struct ts_fetch *f = timer->data;
  int running;
  curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain(f);
  pump(f);
  maybe_teardown(f);
}

/* CURLMOPT_TIMERFUNCTION: only arms our timer. Acting here would call
 * libcurl from inside its own callback. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
  (void)multi;
  struct ts_fetch *f = userp;
  if (timeout_ms < 0)
    uv_timer_stop(&f->curl_timer);
  else
    uv_timer_start(&f->curl_timer, on_curl_timer_fired, (uint64_t)timeout_ms,
                   0);
  return 0;
}

static void on_deadline(uv_timer_t *timer)
{
  struct ts_fetch *f = timer->data;
  f->deadline_passed = true;
  char why[96];
  snprintf(why, sizeof why, "the run's deadline of %ld ms was reached",
           f->opts.deadline_ms);
  progress_clear(f);
  unsigned pending = queued_count(f) + f->waiting.count + f->running.count;
  if (pending)
    ts_log_warn(f->opts.log, "fetch: deadline of %ld ms reached: cancelling "
                "%u request%s",
                f->opts.deadline_ms, pending, pending == 1 ? "" : "s");
  cancel_pending(f, -1, why);
  struct request *r;
  while ((r = f->running.head)) {
    list_remove(&f->running, r);
    curl_multi_remove_handle(f->multi, r->easy);
    cancel_request(r, why);
  }
  maybe_teardown(f);
}

/* Once nothing is left to do, close every handle so the loop ends. */
static void maybe_teardown(struct ts_fetch *f)
{
  if (f->torn_down || queued_count(f) || f->waiting.count || f->running.count)
    return;
  f->torn_down = true;
  progress_clear(f);
  uv_timer_stop(&f->curl_timer);
  uv_timer_stop(&f->sched_timer);
  uv_timer_stop(&f->deadline_timer);
  uv_timer_stop(&f->progress_timer);
  /* libcurl may announce CURL_POLL_REMOVE for cached connections while
   * cleaning up; whatever it does not announce is closed below. */
  curl_multi_cleanup(f->multi);
  f->multi = NULL;
  while (f->socks)
    close_sock(f, f->socks);
  uv_close((uv_handle_t *)&f->curl_timer, on_handle_closed);
  uv_close((uv_handle_t *)&f->sched_timer, on_handle_closed);
  uv_close((uv_handle_t *)&f->deadline_timer, on_handle_closed);
  uv_close((uv_handle_t *)&f->progress_timer, on_handle_closed);
}

/* ---- public API -------------------------------------------------------- */

struct ts_fetch *ts_fetch_new(const struct ts_fetch_options *opts,
                              struct ts_error *err)
{
  if (opts->concurrency == 0) {
    ts_error_set(err, TS_ERR_CONFIG, "fetch.concurrency must be at least 1");
    return NULL;
  }
  if (ts_curl_load(err) != TS_OK)
    return NULL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    ts_error_set(err, TS_ERR_INTERNAL, "libcurl could not be initialised");
    return NULL;
  }
  struct ts_fetch *f = calloc(1, sizeof *f);
  if (!f) {
    ts_error_set(err, TS_ERR_NOMEM, "out of memory");
    curl_global_cleanup();
    return NULL;
  }
  f->opts = *opts;
  if (!f->opts.max_response_bytes)
    f->opts.max_response_bytes = 8u << 20;
  f->rng = opts->seed ? opts->seed : (uv_hrtime() | 1);
  if (ts_ratelimit_init(&f->limit, &opts->rate) != TS_OK ||
      uv_loop_init(&f->loop) != 0) {
    ts_error_set(err, TS_ERR_NOMEM, "could not set up the event loop");
    ts_ratelimit_cleanup(&f->limit);
    free(f);
    curl_global_cleanup();
    return NULL;
  }
  uv_timer_t *timers[] = {&f->curl_timer, &f->sched_timer, &f->deadline_timer,
                          &f->progress_timer};
  for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
    uv_timer_init(&f->loop, timers[i]);
    timers[i]->data = f;
    f->open_handles++;
  }
  f->multi = curl_multi_init();
  if (!f->multi) {
    ts_error_set(err, TS_ERR_NOMEM, "libcurl could not create a multi handle");
    ts_fetch_free(f);
    return NULL;
  }
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
  curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  if (opts->per_host)
    curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)opts->per_host);
  return f;
}

int ts_fetch_add_source(struct ts_fetch *f,
                        const struct ts_fetch_source_options *opts,
                        struct ts_error *err)
{
  struct source *sources =
      realloc(f->sources, (size_t)(f->nsources + 1) * sizeof *sources);
  if (!sources)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory"), -1;
  f->sources = sources;
  struct source *s = &sources[f->nsources];
  memset(s, 0, sizeof *s);
  s->name = dup_str(opts->name ? opts->name : "source");
  if (!s->name || ts_ratelimit_init(&s->limit, &opts->rate) != TS_OK) {
    free(s->name);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory"), -1;
  }
  s->classify = opts->classify;
  s->classify_data = opts->classify_data;
  return f->nsources++;
}

enum ts_result ts_fetch_add(struct ts_fetch *f,
                            const struct ts_fetch_request *req,
                            struct ts_error *err)
{
  if (req->source < 0 || req->source >= f->nsources)
    return ts_error_set(err, TS_ERR_INTERNAL, "no source %d", req->source);
  struct source *src = &f->sources[req->source];
  if (src->stopped)
    return ts_error_set(err, TS_ERR_LIMIT, "%s: stopped after %s", src->name,
                        src->stopped);
  if (f->deadline_passed || f->torn_down)
    return ts_error_set(err, TS_ERR_LIMIT,
                        "%s: the run's deadline of %ld ms has passed",
                        src->name, f->opts.deadline_ms);
  struct request *r = calloc(1, sizeof *r);
  if (!r)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  r->fetch = f;
  r->source = req->source;
  r->conditional = req->conditional;
  r->on_done = req->on_done;
  r->data = req->data;
  ts_buf_init(&r->body, f->opts.max_response_bytes);
  r->url = dup_str(req->url);
  r->url_redacted = ts_redact_dup(req->url);
  r->label = req->label ? dup_str(req->label) : ts_redact_dup(req->url);
  r->host = host_of(req->url);
  bool ok = r->url && r->url_redacted && r->label && r->host;
  for (const char *const *h = req->headers; ok && h && *h; h++) {
    struct curl_slist *l = curl_slist_append(r->headers, *h);
    if (!l)
      ok = false;
    else
      r->headers = l;
  }
  if (!ok) {
    request_free(r);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  cache_prepare(f, r);
  r->place = QUEUED;
  list_push_back(&src->queue, r);
  /* No pump() here: callers may be iterating a list inside a callback.
   * Every loop callback pumps before it returns. */
  return TS_OK;
}

enum ts_result ts_fetch_run(struct ts_fetch *f, struct ts_error *err)
{
  if (f->ran)
    return ts_error_set(err, TS_ERR_INTERNAL, "ts_fetch_run called twice");
  f->ran = true;
  f->run_start_ns = now_ns();
  f->last_progress_log_ns = f->run_start_ns;
  if (f->opts.deadline_ms > 0)
    uv_timer_start(&f->deadline_timer, on_deadline,
                   (uint64_t)f->opts.deadline_ms, 0);
  if (f->opts.progress && f->opts.log && f->opts.log->level >= TS_LOG_INFO)
    uv_timer_start(&f->progress_timer, on_progress, PROGRESS_TTY_MS,
                   PROGRESS_TTY_MS);
  pump(f);
  maybe_teardown(f);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  f->stats.wall_ms = ms_between(f->run_start_ns, now_ns());
  f->finished = true;
  int rc = uv_loop_close(&f->loop);
  f->stats.loop_closed = rc == 0;
  if (rc != 0)
    return ts_error_set(err, TS_ERR_INTERNAL,
                        "fetch: the event loop still had %u open handle%s",
                        f->open_handles, f->open_handles == 1 ? "" : "s");
  return TS_OK;
}

const char *ts_fetch_source_stopped(const struct ts_fetch *f, int source)
{
  if (source < 0 || source >= f->nsources)
    return NULL;
  return f->sources[source].stopped;
}

void ts_fetch_get_stats(const struct ts_fetch *f, int source,
                        struct ts_fetch_stats *out)
{
  if (source >= 0 && source < f->nsources)
    *out = f->sources[source].stats;
  else
    *out = f->stats;
}

static void human_bytes(uint64_t n, char *buf, size_t size)
{
  if (n < 1024)
    snprintf(buf, size, "%" PRIu64 " B", n);
  else if (n < 1024 * 1024)
    snprintf(buf, size, "%.1f KiB", (double)n / 1024);
  else
    snprintf(buf, size, "%.1f MiB", (double)n / (1024 * 1024));
}

const char *ts_fetch_summary(const struct ts_fetch *f, char *buf, size_t size)
{
  const struct ts_fetch_stats *s = &f->stats;
  char bytes[32];
  human_bytes(s->bytes, bytes, sizeof bytes);
  snprintf(buf, size,
           "fetch: %u request%s (%u ok, %u not modified, %u failed, "
           "%u cancelled), %u retr%s, %s, %.2f s, peak %u in flight",
           s->requests, s->requests == 1 ? "" : "s", s->ok, s->not_modified,
           s->failed, s->cancelled, s->retries, s->retries == 1 ? "y" : "ies",
           bytes, s->wall_ms / 1e3, s->peak_in_flight);
  return buf;
}

void ts_fetch_free(struct ts_fetch *f)
{
  if (!f)
    return;
  if (!f->finished) {
    /* Never ran (or failed to): end requests without calling back. */
    for (int i = 0; i < f->nsources; i++) {
      struct request *r;
      while ((r = f->sources[i].queue.head)) {
        list_remove(&f->sources[i].queue, r);
        request_free(r);
      }
    }
    if (f->multi)
      curl_multi_cleanup(f->multi);
    uv_timer_t *timers[] = {&f->curl_timer, &f->sched_timer,
                            &f->deadline_timer, &f->progress_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
      uv_close((uv_handle_t *)timers[i], on_handle_closed);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
  }
  for (int i = 0; i < f->nsources; i++) {
    free(f->sources[i].name);
    free(f->sources[i].stopped);
    ts_ratelimit_cleanup(&f->sources[i].limit);
  }
  free(f->sources);
  for (size_t i = 0; i < f->nh2; i++)
    free(f->h2_hosts[i]);
  free(f->h2_hosts);
  ts_ratelimit_cleanup(&f->limit);
  free(f);
  curl_global_cleanup();
}

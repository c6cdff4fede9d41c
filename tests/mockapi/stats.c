#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A header value kept in a record is cut to this many bytes: tests look at
 * User-Agent or an ETag, never at kilobytes of header. */
#define VALUE_MAX 512

struct record {
  uint64_t id;
  uint64_t conn;
  double arrival_ms;
  double done_ms; /* < 0 while the request is unanswered */
  char *method;
  char *url;  /* path?query as sent */
  char *path; /* decoded path */
  int route;
  unsigned inflight;
  unsigned latency_ms;
  int status;
  const char *fault;   /* static */
  const char *outcome; /* static; NULL while pending */
  uint64_t bytes;
  char *user_agent;
  char *accept_encoding;
  char *if_none_match;
  char *if_modified_since;
};

struct mock_stats {
  struct record *records;
  size_t len, cap;
  uint64_t first_id; /* id of records[0] */
  uint64_t next_id;
  uint64_t dropped;
  unsigned peak_inflight;
  double started_at_ms;
};

struct mock_stats *mock_stats_new(double started_at_ms)
{
  struct mock_stats *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->first_id = s->next_id = 1;
  s->started_at_ms = started_at_ms;
  return s;
}

static void record_cleanup(struct record *r)
{
  free(r->method);
  free(r->url);
  free(r->path);
  free(r->user_agent);
  free(r->accept_encoding);
  free(r->if_none_match);
  free(r->if_modified_since);
}

void mock_stats_reset(struct mock_stats *s)
{
  for (size_t i = 0; i < s->len; i++)
    record_cleanup(&s->records[i]);
  s->len = 0;
  s->first_id = s->next_id;
  s->dropped = 0;
  s->peak_inflight = 0;
}

void mock_stats_free(struct mock_stats *s)
{
  if (!s)
    return;
  mock_stats_reset(s);
  free(s->records);
  free(s);
}

/* A capped copy of `v`; NULL stays NULL (and so does out of memory, which
 * only loses a detail of the log). */
static char *copy_value(const char *v)
{
  if (!v)
    return NULL;
  size_t n = strnlen(v, VALUE_MAX);
  char *c = malloc(n + 1);
  if (c) {
    memcpy(c, v, n);
    c[n] = '\0';
  }
  return c;
}

static char *copy_all(const char *v)
{
  size_t n = strlen(v);
  char *c = malloc(n + 1);
  if (c)
    memcpy(c, v, n + 1);
  return c;
}

static struct record *find(struct mock_stats *s, uint64_t id)
{
  if (id < s->first_id || id - s->first_id >= s->len)
    return NULL;
  return &s->records[id - s->first_id];
}

uint64_t mock_stats_arrive(struct mock_stats *s, const struct mock_request *req,
                           uint64_t conn, double now_ms, unsigned inflight)
{
  uint64_t id = s->next_id++;
  if (inflight > s->peak_inflight)
    s->peak_inflight = inflight;
  /* Ids must stay dense: once one record is dropped, every later one is
   * too, so find() never confuses two ids. */
  if (s->len >= MOCK_STATS_MAX || id - s->first_id != s->len) {
    s->dropped++;
    return id;
  }
  if (s->len == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 256;
    struct record *r = realloc(s->records, ncap * sizeof *r);
    if (!r) {
      s->dropped++;
      return id;
    }
    s->records = r;
    s->cap = ncap;
  }
  struct record *r = &s->records[s->len++];
  memset(r, 0, sizeof *r);
  r->id = id;
  r->conn = conn;
  r->arrival_ms = now_ms;
  r->done_ms = -1;
  r->method = copy_all(req->method);
  r->url = copy_all(req->target);
  r->path = copy_all(req->path);
  r->route = -2;
  r->inflight = inflight;
  r->user_agent = copy_value(req->user_agent);
  r->accept_encoding = copy_value(req->accept_encoding);
  r->if_none_match = copy_value(req->if_none_match);
  r->if_modified_since = copy_value(req->if_modified_since);
  return id;
}

void mock_stats_plan(struct mock_stats *s, uint64_t id, int route,
                     unsigned latency_ms, int status, const char *fault)
{
  struct record *r = find(s, id);
  if (!r)
    return;
  r->route = route;
  r->latency_ms = latency_ms;
  r->status = status;
  r->fault = fault;
}

void mock_stats_done(struct mock_stats *s, uint64_t id, double now_ms,
                     const char *outcome, uint64_t body_bytes)
{
  struct record *r = find(s, id);
  if (!r || r->outcome)
    return;
  r->done_ms = now_ms;
  r->outcome = outcome;
  r->bytes = body_bytes;
}

/* Milliseconds rounded to the microsecond, so the JSON says 12.345 and not
 * 12.345000000000001. */
static json_t *ms(double v)
{
  return json_real(round(v * 1000.0) / 1000.0);
}

static json_t *str_or_null(const char *v)
{
  return v ? json_string(v) : json_null();
}

static json_t *record_json(const struct record *r)
{
  json_t *o = json_object();
  if (!o)
    return NULL;
  int bad = 0;
  bad |= json_object_set_new(o, "id", json_integer((json_int_t)r->id));
  bad |= json_object_set_new(o, "conn", json_integer((json_int_t)r->conn));
  bad |= json_object_set_new(o, "arrival_ms", ms(r->arrival_ms));
  bad |= json_object_set_new(o, "method", str_or_null(r->method));
  bad |= json_object_set_new(o, "url", str_or_null(r->url));
  bad |= json_object_set_new(o, "path", str_or_null(r->path));
  bad |= json_object_set_new(
      o, "route", r->route >= 0 ? json_integer(r->route) : json_null());
  bad |= json_object_set_new(o, "fallback", json_boolean(r->route == -1));
  bad |= json_object_set_new(o, "inflight", json_integer(r->inflight));
  bad |= json_object_set_new(o, "latency_ms", json_integer(r->latency_ms));
  bad |= json_object_set_new(o, "status",
                             r->status ? json_integer(r->status) : json_null());
  bad |= json_object_set_new(o, "fault", str_or_null(r->fault));
  bad |= json_object_set_new(o, "outcome",
                             json_string(r->outcome ? r->outcome : "pending"));
  bad |= json_object_set_new(o, "done_ms",
                             r->done_ms >= 0 ? ms(r->done_ms) : json_null());
  bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
  bad |= json_object_set_new(o, "user_agent", str_or_null(r->user_agent));
  bad |= json_object_set_new(o, "accept_encoding",
                             str_or_null(r->accept_encoding));
  bad |= json_object_set_new(o, "if_none_match", str_or_null(r->if_none_match));
  bad |= json_object_set_new(o, "if_modified_since",
                             str_or_null(r->if_modified_since));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *mock_stats_json(const struct mock_stats *s, double now_ms,
                        unsigned inflight, bool with_requests)
{
  json_t *o = json_object();
  if (!o)
    return NULL;
  int bad = 0;
  bad |= json_object_set_new(o, "count",
                             json_integer((json_int_t)(s->len + s->dropped)));
  bad |=
      json_object_set_new(o, "peak_inflight", json_integer(s->peak_inflight));
  bad |= json_object_set_new(o, "inflight", json_integer(inflight));
  bad |=
      json_object_set_new(o, "dropped", json_integer((json_int_t)s->dropped));
  bad |= json_object_set_new(o, "started_at_ms", ms(s->started_at_ms));
  bad |= json_object_set_new(o, "now_ms", ms(now_ms));
  if (with_requests) {
    json_t *list = json_array();
    bad |= json_object_set_new(o, "requests", list);
    for (size_t i = 0; !bad && i < s->len; i++)
      bad |= json_array_append_new(list, record_json(&s->records[i]));
  }
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

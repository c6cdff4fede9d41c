#include "server.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "stats.h"

#define READ_SIZE (64 * 1024)
/* Unparsed input kept per connection. Reading stops at the high-water
 * mark while a request is being answered, and one more read fits above
 * it, so an append never fails and no byte is lost. */
#define IN_HIGH_WATER (MOCK_HTTP_MAX_HEAD + MOCK_HTTP_MAX_BODY)
#define IN_MAX (IN_HIGH_WATER + READ_SIZE)
/* A generated body goes out in pieces of this size, so an oversize fault
 * of gigabytes costs one piece of memory per connection. */
#define GEN_PIECE (256 * 1024)
/* How long a closing connection waits for the peer's FIN after ours. */
#define LINGER_MS 2000

enum conn_state {
  C_IDLE,    /* waiting for (the rest of) a request */
  C_LATENCY, /* a response is planned; waiting out its latency */
  C_SENDING, /* writing the response */
  C_PAUSED,  /* between two pieces of a drip body */
  C_HOLD,    /* hang or stall: nothing more is sent */
  C_LINGER,  /* our FIN is sent; waiting for the peer's */
  C_CLOSING  /* uv_close called on the handles */
};

struct conn {
  uv_tcp_t tcp;     /* data: this conn */
  uv_timer_t timer; /* latency, drip pauses, linger; data: this conn */
  uv_shutdown_t shutdown;
  uv_write_t write; /* one write at a time: the next piece waits for it */
  char *piece;      /* GEN_PIECE bytes for generated bodies, reused */
  struct mock_server *srv;
  struct conn *prev, *next;
  uint64_t id;
  int open_handles;
  enum conn_state state;
  bool reading;
  bool writing;
  bool keep_alive; /* the current request allows another one after it */
  struct ts_buf in;
  size_t scanned; /* in.data[0..scanned) holds no end of a request head */
  struct mock_response resp; /* the response being sent */
  bool head_sent;
  uint64_t sent; /* body bytes written so far */
  uint64_t rec;  /* stats id of the current request; 0: not recorded */
  bool counted;  /* the current request counts as in flight */
};

struct mock_server {
  uv_loop_t *loop;
  uv_tcp_t *listener;         /* own allocation, freed in its close callback */
  struct mock_router *router; /* borrowed */
  struct mock_stats *stats;
  bool quiet;
  bool closing;
  uint64_t start_ns;
  uint64_t next_conn_id;
  unsigned inflight;
  struct conn *conns;
  int port;
  char read_buf[READ_SIZE]; /* shared: every read is consumed at once */
};

static void process(struct conn *c);
static void pump(struct conn *c);
static void conn_close(struct conn *c, const char *outcome);

static double now_ms(const struct mock_server *s)
{
  return (double)(uv_hrtime() - s->start_ns) / 1e6;
}

/* Ends the record of the current request, once. */
static void finish(struct conn *c, const char *outcome)
{
  struct mock_server *s = c->srv;
  if (c->rec)
    mock_stats_done(s->stats, c->rec, now_ms(s), outcome, c->sent);
  if (c->counted)
    s->inflight--;
  c->rec = 0;
  c->counted = false;
}

static void on_close(uv_handle_t *h)
{
  struct conn *c = h->data;
  if (--c->open_handles > 0)
    return;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  ts_buf_cleanup(&c->in);
  mock_response_cleanup(&c->resp);
  free(c->piece);
  free(c);
}

/* What became of the current request when its connection ends now:
 * `dflt`, unless the response was never going to finish anyway. */
static const char *outcome_for(const struct conn *c, const char *dflt)
{
  if (c->state == C_HOLD)
    return c->resp.end == MOCK_END_HANG ? "hang" : "stalled";
  return dflt;
}

static void conn_close(struct conn *c, const char *outcome)
{
  if (c->state == C_CLOSING)
    return;
  finish(c, outcome_for(c, outcome));
  c->state = C_CLOSING;
  uv_close((uv_handle_t *)&c->tcp, on_close);
  uv_close((uv_handle_t *)&c->timer, on_close);
}

static void on_linger_timeout(uv_timer_t *t)
{
  conn_close(t->data, "ok");
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  struct conn *c = req->data;
  if (status < 0)
    conn_close(c, "ok");
}

static void read_start(struct conn *c);

/*
 * Closes politely: FIN first, then wait for the peer's FIN (or a timeout)
 * before close(). Closing at once with unread input would send a RST,
 * which can destroy the response still in flight to the peer.
 */
static void linger(struct conn *c)
{
  c->state = C_LINGER;
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    conn_close(c, "ok");
    return;
  }
  read_start(c);
  uv_timer_start(&c->timer, on_linger_timeout, LINGER_MS, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)suggested;
  struct conn *c = h->data;
  *buf = uv_buf_init(c->srv->read_buf, sizeof c->srv->read_buf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  struct conn *c = stream->data;
  if (nread == 0)
    return;
  if (nread < 0) {
    /* EOF or reset: the client is gone (a client that only half-closes
     * is treated the same; HTTP clients do not do that). A client that
     * leaves after the whole response was handed to the kernel got it:
     * its EOF can arrive before the last write's callback. */
    bool all_sent = c->state == C_SENDING && c->head_sent &&
                    c->sent == c->resp.send_len &&
                    c->resp.end == MOCK_END_KEEP;
    conn_close(c, all_sent ? "ok" : "client_closed");
    return;
  }
  if (c->state == C_LINGER)
    return; /* discard until the peer's FIN */
  if (ts_buf_append(&c->in, buf->base, (size_t)nread) != TS_OK) {
    conn_close(c, "client_closed");
    return;
  }
  if (c->state == C_IDLE) {
    process(c);
  } else if (c->in.len >= IN_HIGH_WATER && c->reading) {
    /* Pipelined input piles up behind a slow response: stop reading
     * until it is answered. */
    uv_read_stop(stream);
    c->reading = false;
  }
}

static void read_start(struct conn *c)
{
  if (c->reading || c->state == C_CLOSING)
    return;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
    c->reading = true;
}

/* The response is fully written (or, for a stall, written as far as it
 * will ever be). */
static void body_done(struct conn *c)
{
  switch (c->resp.end) {
  case MOCK_END_KEEP:
    finish(c, "ok");
    mock_response_cleanup(&c->resp);
    if (!c->keep_alive || c->srv->closing) {
      linger(c);
      return;
    }
    c->state = C_IDLE;
    read_start(c);
    process(c); /* a pipelined request may already be waiting */
    return;
  case MOCK_END_CLOSE:
    finish(c, c->resp.outcome ? c->resp.outcome : "ok");
    linger(c);
    return;
  case MOCK_END_STALL:
  case MOCK_END_HANG: c->state = C_HOLD; return;
  }
}

/* The end of a latency wait or of a pause between two drip pieces. */
static void on_timer_pump(uv_timer_t *t)
{
  struct conn *c = t->data;
  if (c->resp.end == MOCK_END_HANG) {
    c->state = C_HOLD; /* accepted, and never answered */
    return;
  }
  pump(c);
}

static void on_write(uv_write_t *req, int status)
{
  struct conn *c = req->data;
  c->writing = false;
  if (c->state == C_CLOSING)
    return;
  if (status < 0) {
    conn_close(c, "client_closed");
    return;
  }
  if (c->sent < c->resp.send_len && c->resp.interval_ms) {
    c->state = C_PAUSED;
    uv_timer_start(&c->timer, on_timer_pump, c->resp.interval_ms, 0);
    return;
  }
  pump(c);
}

/* Writes the next piece of the response: head and as much body as the
 * plan allows, in one uv_write. */
static void pump(struct conn *c)
{
  struct mock_response *r = &c->resp;
  c->state = C_SENDING;
  if (c->writing)
    return;
  uint64_t left = r->send_len - c->sent;
  bool head = !c->head_sent && r->head.len > 0;
  if (!head && left == 0) {
    body_done(c);
    return;
  }
  /* uv_buf_t lengths are unsigned int on some platforms. */
  size_t n = left > (1u << 30) ? (1u << 30) : (size_t)left;
  if (r->chunk && n > r->chunk)
    n = r->chunk;
  if (!r->body && n > GEN_PIECE)
    n = GEN_PIECE;
  if (!r->body && n > 0 && !c->piece && !(c->piece = malloc(GEN_PIECE))) {
    conn_close(c, "error");
    return;
  }
  uv_buf_t bufs[2];
  unsigned nbufs = 0;
  if (head)
    bufs[nbufs++] = uv_buf_init(r->head.data, (unsigned)r->head.len);
  if (n > 0) {
    char *from = r->body ? r->body + c->sent : c->piece;
    if (!r->body)
      mock_response_read(r, c->sent, c->piece, n);
    bufs[nbufs++] = uv_buf_init(from, (unsigned)n);
  }
  c->write.data = c;
  /* The buffers belong to c->resp and c->piece, which live until the
   * write callback has run: they are released only after body_done or in
   * on_close, which libuv runs after every pending write callback. */
  if (uv_write(&c->write, (uv_stream_t *)&c->tcp, bufs, nbufs, on_write)) {
    conn_close(c, "client_closed");
    return;
  }
  c->writing = true;
  c->head_sent = true;
  c->sent += n;
}

/* Sends a response planned in c->resp, after its latency. */
static void start_response(struct conn *c)
{
  c->head_sent = false;
  c->sent = 0;
  if (c->resp.latency_ms > 0) {
    c->state = C_LATENCY;
    uv_timer_start(&c->timer, on_timer_pump, c->resp.latency_ms, 0);
    return;
  }
  if (c->resp.end == MOCK_END_HANG) {
    c->state = C_HOLD;
    return;
  }
  pump(c);
}

static void answer_simple(struct conn *c, int status, const char *body,
                          bool keep_alive, bool head_only)
{
  c->keep_alive = keep_alive;
  if (mock_response_simple(&c->resp, status, "application/json; charset=UTF-8",
                           body, strlen(body), NULL, keep_alive,
                           head_only) != TS_OK) {
    conn_close(c, "error");
    return;
  }
  start_response(c);
}

/* /__stats, /__reset, /__reload: not recorded, never delayed. */
static bool control(struct conn *c, const struct mock_request *req)
{
  struct mock_server *s = c->srv;
  const char *p = req->path;
  if (strcmp(p, "/__stats") && strcmp(p, "/__reset") && strcmp(p, "/__reload"))
    return false;
  bool get = !strcmp(req->method, "GET"), head = !strcmp(req->method, "HEAD");
  bool post = !strcmp(req->method, "POST");
  bool ka = req->keep_alive && !s->closing;
  if (!strcmp(p, "/__stats") && (get || head)) {
    char *with = NULL;
    bool all =
        !(mock_query_get(req->query, "requests", &with) && !strcmp(with, "0"));
    free(with);
    json_t *j = mock_stats_json(s->stats, now_ms(s), s->inflight, all);
    char *text =
        j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    if (!text) {
      answer_simple(c, 500, "{\"error\":\"out of memory\"}", ka, head);
      return true;
    }
    answer_simple(c, 200, text, ka, head);
    free(text);
  } else if (!strcmp(p, "/__reset") && (get || post)) {
    mock_stats_reset(s->stats);
    mock_router_reset(s->router);
    answer_simple(c, 200, "{\"ok\":true}", ka, false);
  } else if (!strcmp(p, "/__reload") && (get || post)) {
    struct ts_error err = {0};
    if (mock_router_reload(s->router, &err) != TS_OK) {
      json_t *j = json_pack("{s:s}", "error", err.msg);
      char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
      json_decref(j);
      answer_simple(c, 500, text ? text : "{}", ka, false);
      free(text);
      if (!s->quiet)
        fprintf(stderr, "mockapi: reload failed: %s\n", err.msg);
    } else {
      mock_stats_reset(s->stats);
      answer_simple(c, 200, "{\"ok\":true}", ka, false);
    }
  } else {
    answer_simple(c, 405, "{\"error\":\"method not allowed\"}", ka, head);
  }
  return true;
}

static void log_request(const struct mock_server *s,
                        const struct mock_request *req,
                        const struct mock_response *r)
{
  if (s->quiet)
    return;
  char route[32];
  if (r->route >= 0)
    snprintf(route, sizeof route, "route %d", r->route);
  else
    snprintf(route, sizeof route, "%s", r->route == -1 ? "file" : "no route");
  char status[16] = "-"; /* hang, empty_reply: no status is sent */
  if (r->status)
    snprintf(status, sizeof status, "%d", r->status);
  fprintf(stderr, "mockapi: %s %.300s -> %s (%s, %u ms%s%s)%s%s\n", req->method,
          req->target, status, route, r->latency_ms, r->fault ? ", fault " : "",
          r->fault ? r->fault : "", r->note[0] ? ": " : "", r->note);
}

static void dispatch(struct conn *c, const struct mock_request *req)
{
  struct mock_server *s = c->srv;
  c->keep_alive = req->keep_alive && !s->closing;
  if (control(c, req))
    return;
  s->inflight++;
  c->counted = true;
  c->rec = mock_stats_arrive(s->stats, req, c->id, now_ms(s), s->inflight);
  mock_router_respond(s->router, req, c->keep_alive, &c->resp);
  struct mock_response *r = &c->resp;
  mock_stats_plan(s->stats, c->rec, r->route, r->latency_ms, r->status,
                  r->fault);
  log_request(s, req, r);
  start_response(c);
}

/*
 * True when c->in may hold a whole request head (an empty line), or is
 * past the head cap. Remembers how far it looked, so a head that arrives a
 * byte at a time costs linear time, not a full parse per byte.
 */
static bool head_ready(struct conn *c)
{
  const char *d = c->in.data;
  if (c->in.len > MOCK_HTTP_MAX_HEAD)
    return true;
  for (size_t i = c->scanned; i < c->in.len; i++)
    if (d[i] == '\n' && i >= 1 &&
        (d[i - 1] == '\n' || (i >= 2 && d[i - 1] == '\r' && d[i - 2] == '\n')))
      return true;
  c->scanned = c->in.len;
  return false;
}

/* Parses and answers buffered requests, one at a time, while idle. */
static void process(struct conn *c)
{
  while (c->state == C_IDLE) {
    if (!head_ready(c)) {
      read_start(c);
      return;
    }
    struct mock_request req;
    size_t used = 0;
    int status = 0;
    const char *why = NULL;
    enum mock_parse res = mock_http_parse(
        c->in.data ? c->in.data : "", c->in.len, &req, &used, &status, &why);
    if (res == MOCK_PARSE_MORE) {
      read_start(c);
      return;
    }
    if (res == MOCK_PARSE_ERROR) {
      /* Past a malformed request there is no telling where the next one
       * starts: answer and close. */
      c->in.len = 0;
      c->scanned = 0;
      char body[160];
      snprintf(body, sizeof body, "{\"error\":\"%s\"}", why);
      if (!c->srv->quiet)
        fprintf(stderr, "mockapi: bad request on connection %llu: %d %s\n",
                (unsigned long long)c->id, status, why);
      answer_simple(c, status, body, false, false);
      return;
    }
    memmove(c->in.data, c->in.data + used, c->in.len - used);
    c->in.len -= used;
    c->in.data[c->in.len] = '\0';
    c->scanned = 0;
    dispatch(c, &req);
    mock_request_cleanup(&req);
  }
}

static void on_connection(uv_stream_t *listener, int status)
{
  struct mock_server *s = listener->data;
  if (status < 0) {
    if (!s->quiet)
      fprintf(stderr, "mockapi: accept: %s\n", uv_strerror(status));
    return;
  }
  struct conn *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->srv = s;
  ts_buf_init(&c->in, IN_MAX);
  ts_buf_init(&c->resp.head, 0);
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->open_handles = 2;
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  c->id = ++s->next_conn_id;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c, "error");
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  read_start(c);
}

static void free_handle(uv_handle_t *h)
{
  free(h);
}

enum ts_result mock_server_new(uv_loop_t *loop, struct mock_router *router,
                               const struct mock_server_options *opts,
                               struct mock_server **out, struct ts_error *err)
{
  struct mock_server *s = calloc(1, sizeof *s);
  if (!s)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  uv_timeval64_t tv = {0};
  uv_gettimeofday(&tv);
  s->stats =
      mock_stats_new((double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0);
  if (!s->stats) {
    free(s);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  s->loop = loop;
  s->router = router;
  s->quiet = opts->quiet;
  s->start_ns = uv_hrtime();
  s->listener = malloc(sizeof *s->listener);
  if (!s->listener) {
    mock_stats_free(s->stats);
    free(s);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  uv_tcp_init(loop, s->listener);
  s->listener->data = s;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  int rc = uv_ip4_addr("127.0.0.1", opts->port, &addr);
  if (!rc)
    rc = uv_tcp_bind(s->listener, (const struct sockaddr *)&addr, 0);
  if (!rc)
    rc = uv_listen((uv_stream_t *)s->listener, 1024, on_connection);
  if (!rc)
    rc = uv_tcp_getsockname(s->listener, (struct sockaddr *)&bound, &len);
  if (rc) {
    /* The listener's memory goes in its close callback, when the caller
     * runs the loop. */
    uv_close((uv_handle_t *)s->listener, free_handle);
    mock_stats_free(s->stats);
    free(s);
    return ts_error_set(err, TS_ERR_NETWORK, "127.0.0.1:%d: %s", opts->port,
                        uv_strerror(rc));
  }
  s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  *out = s;
  return TS_OK;
}

int mock_server_port(const struct mock_server *s)
{
  return s->port;
}

void mock_server_shutdown(struct mock_server *s)
{
  if (!s || s->closing)
    return;
  s->closing = true;
  uv_close((uv_handle_t *)s->listener, free_handle);
  s->listener = NULL;
  for (struct conn *c = s->conns; c; c = c->next)
    conn_close(c, "shutdown");
}

void mock_server_free(struct mock_server *s)
{
  if (!s)
    return;
  mock_stats_free(s->stats);
  free(s);
}

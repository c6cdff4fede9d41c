#include "serve.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <uv.h>

#include "util/ascii.h"
#include "util/buf.h"
#include "util/fs.h"

#define MAX_REQUEST_HEAD (16 * 1024)
#define MAX_FILE_BYTES ((size_t)256 << 20)

struct server {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_signal_t sigint, sigterm;
  char root[PATH_MAX]; /* realpath of the served folder */
  const struct ts_log *log;
  struct conn *conns;  /* open connections, closed on shutdown */
  bool stopping;
};

struct conn {
  uv_tcp_t tcp;
  struct server *server;
  struct conn *next;
  struct ts_buf in;    /* bytes received, not yet handled */
  bool writing;        /* a response is being written: parse no further */
  bool close_after;    /* Connection: close, or an error */
  bool closing;
};

struct response {
  uv_write_t req;
  struct conn *conn;
  char *head;
  char *body;
};

static const struct {
  const char *ext;
  const char *type;
} types[] = {
  {".html", "text/html; charset=utf-8"},
  {".css", "text/css; charset=utf-8"},
  {".js", "text/javascript; charset=utf-8"},
  {".json", "application/json"},
  {".xml", "application/xml"},
  {".txt", "text/plain; charset=utf-8"},
  {".svg", "image/svg+xml"},
  {".png", "image/png"},
  {".jpg", "image/jpeg"},
  {".jpeg", "image/jpeg"},
  {".gif", "image/gif"},
  {".webp", "image/webp"},
  {".ico", "image/x-icon"},
  {".woff2", "font/woff2"},
  {".webmanifest", "application/manifest+json"},
};

const char *ts_serve_content_type(const char *path)
{
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (dot && (!slash || dot > slash)) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (!strcasecmp(dot, types[i].ext))
        return types[i].type;
  }
  return "application/octet-stream";
}


bool ts_serve_map_path(const char *target, char *out, size_t size)
{
  if (target[0] != '/' || size == 0)
    return false;
  size_t o = 0;
  const char *p = target + 1;
  while (*p && *p != '?' && *p != '#') {
    char c = *p;
    if (c == '%') {
      int hi = ts_hex_value((unsigned char)p[1]);
      int lo = hi >= 0 ? ts_hex_value((unsigned char)p[2]) : -1;
      if (hi < 0 || lo < 0)
        return false;
      c = (char)(hi * 16 + lo);
      p += 3;
    } else {
      p++;
    }
    if ((unsigned char)c < 0x20 || c == 0x7f || c == '\\')
      return false;
    if (o + 1 >= size)
      return false;
    out[o++] = c;
  }
  out[o] = '\0';
  /* Check every decoded segment: "..", and "." too for good measure. */
  for (char *seg = out; *seg;) {
    size_t n = strcspn(seg, "/");
    if ((n == 2 && seg[0] == '.' && seg[1] == '.') ||
        (n == 1 && seg[0] == '.'))
      return false;
    seg += n;
    if (*seg == '/')
      seg++;
  }
  if (strstr(out, "//"))
    return false;
  return true;
}

static void on_conn_closed(uv_handle_t *handle)
{
  struct conn *c = handle->data;
  ts_buf_cleanup(&c->in);
  free(c);
}

static void close_conn(struct conn *c)
{
  if (c->closing)
    return;
  c->closing = true;
  struct server *s = c->server;
  for (struct conn **p = &s->conns; *p; p = &(*p)->next) {
    if (*p == c) {
      *p = c->next;
      break;
    }
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void handle_requests(struct conn *c);

static void on_written(uv_write_t *req, int status)
{
  struct response *r = (struct response *)req;
  struct conn *c = r->conn;
  free(r->head);
  free(r->body);
  free(r);
  c->writing = false;
  if (status < 0 || c->close_after || c->server->stopping) {
    close_conn(c);
    return;
  }
  handle_requests(c); /* a pipelined request may be waiting */
}

static void send_response(struct conn *c, int status, const char *reason,
                          const char *type, char *body, size_t len,
                          bool head_only, const char *extra)
{
  struct response *r = calloc(1, sizeof *r);
  struct ts_buf head;
  ts_buf_init(&head, 0);
  ts_buf_printf(&head,
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Content-Length: %zu\r\n"
                "Cache-Control: no-cache\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                "%s%s"
                "\r\n",
                status, reason, type, len, extra ? extra : "",
                c->close_after ? "Connection: close\r\n" : "");
  if (!r || !head.data) {
    free(r);
    free(body);
    ts_buf_cleanup(&head);
    close_conn(c);
    return;
  }
  r->conn = c;
  r->head = ts_buf_detach(&head);
  r->body = body;
  uv_buf_t bufs[2] = {
    uv_buf_init(r->head, (unsigned)strlen(r->head)),
    uv_buf_init(body ? body : "", head_only || !body ? 0 : (unsigned)len),
  };
  c->writing = true;
  if (uv_write(&r->req, (uv_stream_t *)&c->tcp, bufs, 2, on_written) != 0) {
    c->writing = false;
    free(r->head);
    free(r->body);
    free(r);
    close_conn(c);
  }
}

static void send_text(struct conn *c, int status, const char *reason,
                      const char *text, bool head_only)
{
  size_t n = strlen(text);
  char *body = malloc(n + 1);
  if (body)
    memcpy(body, text, n + 1);
  send_response(c, status, reason, "text/plain; charset=utf-8", body,
                body ? n : 0, head_only, NULL);
}

/* Resolves `rel` under the root; true with the real file path when it is
 * a regular file inside the root. Sets *is_dir for folders. */
static bool resolve(struct server *s, const char *rel, char *real,
                    bool *is_dir)
{
  char path[PATH_MAX * 2];
  snprintf(path, sizeof path, "%s/%s", s->root, rel);
  *is_dir = false;
  char resolved[PATH_MAX];
  if (!realpath(path, resolved))
    return false;
  size_t n = strlen(s->root);
  /* Symbolic links may point anywhere: what counts is where they lead. */
  if (strncmp(resolved, s->root, n) != 0 ||
      (resolved[n] != '/' && resolved[n] != '\0'))
    return false;
  struct stat st;
  if (stat(resolved, &st) != 0)
    return false;
  if (S_ISDIR(st.st_mode)) {
    *is_dir = true;
    snprintf(real, PATH_MAX, "%s", resolved);
    return true;
  }
  if (!S_ISREG(st.st_mode))
    return false;
  snprintf(real, PATH_MAX, "%s", resolved);
  return true;
}

static void serve_file(struct conn *c, int status, const char *reason,
                       const char *real, bool head_only)
{
  char *data = NULL;
  size_t len = 0;
  if (ts_fs_read(real, MAX_FILE_BYTES, &data, &len, NULL) != TS_OK) {
    send_text(c, 500, "Internal Server Error", "could not read the file\n",
              head_only);
    return;
  }
  send_response(c, status, reason, ts_serve_content_type(real), data, len,
                head_only, NULL);
}

static void not_found(struct conn *c, bool head_only)
{
  char real[PATH_MAX];
  bool is_dir;
  if (resolve(c->server, "404.html", real, &is_dir) && !is_dir)
    serve_file(c, 404, "Not Found", real, head_only);
  else
    send_text(c, 404, "Not Found", "not found\n", head_only);
}

static void handle_one(struct conn *c, const char *method, const char *target,
                       bool head_only)
{
  struct server *s = c->server;
  if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
    send_text(c, 405, "Method Not Allowed", "only GET and HEAD\n", false);
    return;
  }
  char rel[PATH_MAX];
  if (!ts_serve_map_path(target, rel, sizeof rel)) {
    ts_log_debug(s->log, "serve: %s %s -> 403 (outside the folder)", method,
                 target);
    send_text(c, 403, "Forbidden", "forbidden\n", head_only);
    return;
  }
  char real[PATH_MAX];
  bool is_dir;
  if (!resolve(s, rel, real, &is_dir)) {
    ts_log_debug(s->log, "serve: %s %s -> 404", method, target);
    not_found(c, head_only);
    return;
  }
  if (is_dir) {
    size_t n = strlen(rel);
    if (n > 0 && rel[n - 1] != '/') {
      /* "/regions" -> "/regions/", so relative links inside resolve. */
      char location[PATH_MAX + 32];
      snprintf(location, sizeof location, "Location: /%s/\r\n", rel);
      send_response(c, 301, "Moved Permanently", "text/plain; charset=utf-8",
                    NULL, 0, head_only, location);
      return;
    }
    char index[PATH_MAX + 16];
    snprintf(index, sizeof index, "%sindex.html", rel);
    if (!resolve(s, index, real, &is_dir) || is_dir) {
      not_found(c, head_only);
      return;
    }
  }
  ts_log_debug(s->log, "serve: %s %s -> 200", method, target);
  serve_file(c, 200, "OK", real, head_only);
}

/* Handles complete requests in the input while no response is pending. */
static void handle_requests(struct conn *c)
{
  while (!c->writing && !c->closing) {
    char *data = c->in.data;
    if (!data)
      return;
    char *end = strstr(data, "\r\n\r\n");
    if (!end) {
      if (c->in.len >= MAX_REQUEST_HEAD) {
        c->close_after = true;
        send_text(c, 431, "Request Header Fields Too Large", "too large\n",
                  false);
      }
      return;
    }
    size_t head_len = (size_t)(end - data) + 4;
    *end = '\0';
    char method[16] = "", target[8192] = "", version[16] = "";
    char *line_end = strstr(data, "\r\n");
    if (line_end)
      *line_end = '\0';
    int fields = sscanf(data, "%15s %8191s %15s", method, target, version);
    bool http11 = !strcmp(version, "HTTP/1.1");
    c->close_after = !http11;
    if (line_end) {
      for (char *h = line_end + 2; h < end;) {
        char *next = strstr(h, "\r\n");
        if (!next)
          next = end;
        *next = '\0';
        if (!strncasecmp(h, "Connection:", 11)) {
          const char *v = h + 11;
          while (*v == ' ')
            v++;
          if (!strcasecmp(v, "close"))
            c->close_after = true;
          else if (!strcasecmp(v, "keep-alive"))
            c->close_after = false;
        }
        h = next + 2;
      }
    }
    /* Drop the request from the input before answering (the answer may
     * complete synchronously on some platforms). */
    char saved_method[16], saved_target[8192];
    memcpy(saved_method, method, sizeof method);
    memcpy(saved_target, target, sizeof target);
    size_t rest = c->in.len - head_len;
    memmove(c->in.data, c->in.data + head_len, rest);
    c->in.len = rest;
    c->in.data[rest] = '\0';
    if (fields != 3 || strncmp(version, "HTTP/1.", 7)) {
      c->close_after = true;
      send_text(c, 400, "Bad Request", "bad request\n", false);
      return;
    }
    handle_one(c, saved_method, saved_target, !strcmp(saved_method, "HEAD"));
  }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  (void)handle;
  (void)suggested;
  static const size_t size = 16 * 1024;
  buf->base = malloc(size);
  buf->len = buf->base ? size : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  struct conn *c = stream->data;
  if (nread < 0) {
    free(buf->base);
    close_conn(c);
    return;
  }
  if (nread > 0 &&
      ts_buf_append(&c->in, buf->base, (size_t)nread) != TS_OK) {
    free(buf->base);
    close_conn(c);
    return;
  }
  free(buf->base);
  handle_requests(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
  struct server *s = listener->data;
  if (status < 0)
    return;
  struct conn *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->server = s;
  ts_buf_init(&c->in, MAX_REQUEST_HEAD * 4);
  uv_tcp_init(&s->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->next = s->conns;
  s->conns = c;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_signal(uv_signal_t *sig, int signum)
{
  (void)signum;
  struct server *s = sig->data;
  if (s->stopping)
    return;
  s->stopping = true;
  ts_log_info(s->log, "serve: stopping");
  uv_close((uv_handle_t *)&s->listener, NULL);
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
  while (s->conns)
    close_conn(s->conns);
}

enum ts_result ts_serve_run(const struct ts_serve_options *opts,
                            struct ts_error *err)
{
  struct server *s = calloc(1, sizeof *s);
  if (!s)
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  s->log = opts->log;
  if (!realpath(opts->root, s->root) || !ts_fs_is_dir(s->root)) {
    enum ts_result r = ts_error_set(
        err, TS_ERR_IO, "%s: %s (build the site first: trendsite run, or "
        "make demo)", opts->root, errno ? strerror(errno) : "not a folder");
    free(s);
    return r;
  }
  uv_loop_init(&s->loop);
  uv_tcp_init(&s->loop, &s->listener);
  s->listener.data = s;
  struct sockaddr_in addr;
  const char *host = opts->host ? opts->host : "127.0.0.1";
  int rc = uv_ip4_addr(host, opts->port, &addr);
  if (rc == 0)
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (rc != 0) {
    ts_error_set(err, TS_ERR_IO, "serve: cannot listen on %s:%d: %s", host,
                 opts->port, uv_strerror(rc));
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    free(s);
    return TS_ERR_IO;
  }
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
  int port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  uv_signal_init(&s->loop, &s->sigint);
  uv_signal_init(&s->loop, &s->sigterm);
  s->sigint.data = s->sigterm.data = s;
  uv_signal_start(&s->sigint, on_signal, SIGINT);
  uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  if (opts->port_file) {
    char text[16];
    int n = snprintf(text, sizeof text, "%d\n", port);
    ts_fs_write_atomic(opts->port_file, text, (size_t)n, NULL);
  }
  ts_log_info(s->log, "serving %s at http://%s:%d/ (Ctrl-C to stop)",
              opts->root, host, port);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  int closed = uv_loop_close(&s->loop);
  free(s);
  if (closed != 0)
    return ts_error_set(err, TS_ERR_INTERNAL, "serve: handles left open");
  return TS_OK;
}

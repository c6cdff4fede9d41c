#include "mockapi_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"

/* A reply larger than this is refused: the blocking client reads stats
 * and small bodies; big bodies are libcurl's job. */
#define REPLY_MAX (256u * 1024 * 1024)
#define DEFAULT_TIME_LIMIT_S 120.0

struct mock_server {
  pid_t pid;
  int port;
  bool exited;             /* reaped already (mock_wait_exit) */
  int status;              /* wait status once exited */
  char dir[PATH_MAX - 64]; /* room for the file names below */
  char port_file[PATH_MAX];
  char log[PATH_MAX];
};

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Appends the last bytes of the server's log to err's message, where a
 * sanitizer summary or a routes-file error shows up. */
static void add_log_tail(const struct mock_server *s, struct ts_error *err)
{
  if (!err)
    return;
  char *text = NULL;
  size_t len = 0;
  if (ts_fs_read(s->log, 16u << 20, &text, &len, NULL) != TS_OK || !len) {
    free(text);
    return;
  }
  size_t room = TS_ERROR_MAX - strlen(err->msg) - 32;
  const char *tail = len > room ? text + len - room : text;
  size_t used = strlen(err->msg);
  snprintf(err->msg + used, TS_ERROR_MAX - used, "\n--- mockapi log:\n%s",
           tail);
  free(text);
}

static void remove_files(struct mock_server *s)
{
  unlink(s->port_file);
  unlink(s->log);
  rmdir(s->dir);
}

/* Reaps the child if it has exited; true when it has. */
static bool reap(struct mock_server *s)
{
  if (s->exited)
    return true;
  int status;
  pid_t r = waitpid(s->pid, &status, WNOHANG);
  if (r == s->pid) {
    s->exited = true;
    s->status = status;
  }
  return s->exited;
}

static void describe_status(int status, char *out, size_t n)
{
  if (WIFEXITED(status))
    snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(out, n, "killed by signal %d", WTERMSIG(status));
  else
    snprintf(out, n, "ended with wait status %d", status);
}

static const char *binary_path(char *buf, size_t n)
{
  const char *env = getenv("MOCKAPI");
  if (env && *env)
    return env;
  const char *root = getenv("TS_ROOT");
  snprintf(buf, n, "%s/build/release/mockapi", root && *root ? root : ".");
  return buf;
}

struct mock_server *mock_start_opts(const struct mock_options *opts,
                                    struct ts_error *err)
{
  if (!opts->root) {
    ts_error_set(err, TS_ERR_USAGE, "mock_start: no root folder");
    return NULL;
  }
  char bin_buf[PATH_MAX];
  const char *bin = binary_path(bin_buf, sizeof bin_buf);
  if (access(bin, X_OK) != 0) {
    ts_error_set(err, TS_ERR_NOTFOUND,
                 "mockapi binary %s: %s (build it with make, or set MOCKAPI)",
                 bin, strerror(errno));
    return NULL;
  }
  struct mock_server *s = calloc(1, sizeof *s);
  if (!s) {
    ts_error_set(err, TS_ERR_NOMEM, "out of memory");
    return NULL;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(s->dir, sizeof s->dir, "%s/mockapi-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(s->dir)) {
    ts_error_set(err, TS_ERR_IO, "%s: %s", s->dir, strerror(errno));
    free(s);
    return NULL;
  }
  snprintf(s->port_file, sizeof s->port_file, "%s/port", s->dir);
  snprintf(s->log, sizeof s->log, "%s/stderr.log", s->dir);

  char seed[32], limit[32];
  snprintf(seed, sizeof seed, "%u", opts->seed);
  snprintf(limit, sizeof limit, "%g",
           opts->time_limit_s > 0 ? opts->time_limit_s : DEFAULT_TIME_LIMIT_S);
  /* Everything the child needs is prepared before fork: after it, only
   * async-signal-safe calls. */
  const char *argv[16];
  int argc = 0;
  argv[argc++] = bin;
  argv[argc++] = "--root";
  argv[argc++] = opts->root;
  if (opts->routes) {
    argv[argc++] = "--routes";
    argv[argc++] = opts->routes;
  }
  argv[argc++] = "--port";
  argv[argc++] = "0";
  argv[argc++] = "--port-file";
  argv[argc++] = s->port_file;
  argv[argc++] = "--seed";
  argv[argc++] = seed;
  argv[argc++] = "--time-limit";
  argv[argc++] = limit;
  if (opts->quiet)
    argv[argc++] = "--quiet";
  argv[argc] = NULL;

  int log_fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    ts_error_set(err, TS_ERR_IO, "%s: %s", s->log, strerror(errno));
    if (log_fd >= 0)
      close(log_fd);
    if (null_fd >= 0)
      close(null_fd);
    remove_files(s);
    free(s);
    return NULL;
  }
  fflush(NULL); /* or the child's copy of stdio buffers is written twice */
  s->pid = fork();
  if (s->pid == 0) {
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(bin, (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  if (s->pid < 0) {
    ts_error_set(err, TS_ERR_IO, "fork: %s", strerror(errno));
    remove_files(s);
    free(s);
    return NULL;
  }

  double deadline = now_ms() + MOCK_START_TIMEOUT_MS;
  for (;;) {
    char *text = NULL;
    if (ts_fs_read(s->port_file, 64, &text, NULL, NULL) == TS_OK) {
      char *end;
      long port = strtol(text, &end, 10);
      bool ok = end != text && port > 0 && port < 65536;
      free(text);
      if (ok) {
        s->port = (int)port;
        return s;
      }
    }
    if (reap(s)) {
      char how[64];
      describe_status(s->status, how, sizeof how);
      ts_error_set(err, TS_ERR_IO, "mockapi %s before listening", how);
      add_log_tail(s, err);
      remove_files(s);
      free(s);
      return NULL;
    }
    if (now_ms() > deadline) {
      ts_error_set(err, TS_ERR_IO, "mockapi did not listen within %d ms",
                   MOCK_START_TIMEOUT_MS);
      add_log_tail(s, err);
      kill(s->pid, SIGKILL);
      waitpid(s->pid, NULL, 0);
      remove_files(s);
      free(s);
      return NULL;
    }
    sleep_ms(10);
  }
}

struct mock_server *mock_start(const char *root, const char *routes,
                               unsigned seed, struct ts_error *err)
{
  struct mock_options o = {root, routes, seed, 0, false};
  return mock_start_opts(&o, err);
}

int mock_port(const struct mock_server *s)
{
  return s->port;
}

pid_t mock_pid(const struct mock_server *s)
{
  return s->pid;
}

const char *mock_log_path(const struct mock_server *s)
{
  return s->log;
}

char *mock_url(const struct mock_server *s, const char *path)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  if (ts_buf_printf(&b, "http://127.0.0.1:%d%s%s", s->port,
                    path[0] == '/' ? "" : "/", path) != TS_OK) {
    ts_buf_cleanup(&b);
    return NULL;
  }
  return ts_buf_detach(&b);
}

bool mock_wait_exit(struct mock_server *s, int timeout_ms, int *status)
{
  double deadline = now_ms() + timeout_ms;
  while (!reap(s) && now_ms() < deadline)
    sleep_ms(10);
  if (s->exited && status)
    *status = s->status;
  return s->exited;
}

enum ts_result mock_stop(struct mock_server *s, struct ts_error *err)
{
  if (!s)
    return TS_OK;
  enum ts_result result = TS_OK;
  if (!reap(s)) {
    kill(s->pid, SIGTERM);
    if (!mock_wait_exit(s, MOCK_STOP_TIMEOUT_MS, NULL)) {
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &s->status, 0);
      result = ts_error_set(err, TS_ERR_INTERNAL,
                            "mockapi did not stop within %d ms of SIGTERM",
                            MOCK_STOP_TIMEOUT_MS);
      add_log_tail(s, err);
      s->exited = true;
    }
  }
  if (result == TS_OK &&
      !(WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0)) {
    char how[64];
    describe_status(s->status, how, sizeof how);
    result = ts_error_set(err, TS_ERR_INTERNAL, "mockapi %s", how);
    add_log_tail(s, err);
  }
  remove_files(s);
  free(s);
  return result;
}

/* ---------------------------------------------------------------------- */
/* The blocking client                                                    */

static int connect_loopback(int port, struct ts_error *err)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ts_error_set(err, TS_ERR_NETWORK, "socket: %s", strerror(errno));
    return -1;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    ts_error_set(err, TS_ERR_NETWORK, "127.0.0.1:%d: %s", port,
                 strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static enum ts_result send_all(int fd, const char *p, size_t len,
                               struct ts_error *err)
{
  while (len > 0) {
    /* MSG_NOSIGNAL: a server that closed early must not kill the test
     * with SIGPIPE. */
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ts_error_set(err, TS_ERR_NETWORK, "send: %s", strerror(errno));
    p += n;
    len -= (size_t)n;
  }
  return TS_OK;
}

/* Reads until EOF or the deadline; *timed_out tells which. */
static enum ts_result read_until_close(int fd, double deadline,
                                       struct ts_buf *into, bool *timed_out,
                                       struct ts_error *err)
{
  *timed_out = false;
  char chunk[16384];
  for (;;) {
    double left = deadline - now_ms();
    if (left <= 0) {
      *timed_out = true;
      return TS_OK;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)left + 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return ts_error_set(err, TS_ERR_NETWORK, "poll: %s", strerror(errno));
    if (r == 0)
      continue;
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == ECONNRESET)
      return TS_OK;
    if (n < 0)
      return ts_error_set(err, TS_ERR_NETWORK, "recv: %s", strerror(errno));
    if (n == 0)
      return TS_OK;
    if (ts_buf_append(into, chunk, (size_t)n) != TS_OK)
      return ts_error_set(err, TS_ERR_LIMIT, "reply larger than %u bytes",
                          REPLY_MAX);
  }
}

enum ts_result mock_raw(const struct mock_server *s, const void *bytes,
                        size_t len, int timeout_ms, char **out, size_t *out_len,
                        struct ts_error *err)
{
  int fd = connect_loopback(s->port, err);
  if (fd < 0)
    return TS_ERR_NETWORK;
  struct ts_buf b;
  ts_buf_init(&b, REPLY_MAX);
  bool timed_out;
  /* A send error is not fatal: the server may close after answering an
   * early part of a malformed request; what it said still counts. */
  send_all(fd, bytes, len, NULL);
  enum ts_result result =
      read_until_close(fd, now_ms() + timeout_ms, &b, &timed_out, err);
  close(fd);
  if (result != TS_OK) {
    ts_buf_cleanup(&b);
    return result;
  }
  if (out_len)
    *out_len = b.len;
  *out = ts_buf_detach(&b);
  return *out ? TS_OK : ts_error_set(err, TS_ERR_NOMEM, "out of memory");
}

void mock_reply_cleanup(struct mock_reply *r)
{
  free(r->head);
  free(r->body);
  memset(r, 0, sizeof *r);
}

char *mock_reply_header(const struct mock_reply *r, const char *name)
{
  size_t n = strlen(name);
  const char *line = r->head ? strchr(r->head, '\n') : NULL;
  while (line) {
    line++;
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
      const char *v = line + n + 1;
      const char *end = line + len;
      while (v < end && (*v == ' ' || *v == '\t'))
        v++;
      while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
      char *value = malloc((size_t)(end - v) + 1);
      if (value) {
        memcpy(value, v, (size_t)(end - v));
        value[end - v] = '\0';
      }
      return value;
    }
    line = eol;
  }
  return NULL;
}

enum ts_result mock_request(const struct mock_server *s, const char *method,
                            const char *path, const char *extra_headers,
                            struct mock_reply *out, struct ts_error *err)
{
  struct ts_buf req;
  ts_buf_init(&req, 0);
  ts_buf_printf(&req,
                "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "User-Agent: mockapi-client\r\nConnection: close\r\n%s\r\n",
                method, path, s->port, extra_headers ? extra_headers : "");
  if (!req.data) {
    ts_buf_cleanup(&req);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  char *raw = NULL;
  size_t raw_len = 0;
  enum ts_result result =
      mock_raw(s, req.data, req.len, MOCK_STOP_TIMEOUT_MS, &raw, &raw_len, err);
  ts_buf_cleanup(&req);
  if (result != TS_OK) {
    ts_error_prefix(err, "%s %s", method, path);
    return result;
  }
  /* Status line, headers, empty line, body. */
  char *sep = strstr(raw, "\r\n\r\n");
  int status = 0;
  if (!sep || sscanf(raw, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
    free(raw);
    return ts_error_set(err, TS_ERR_PARSE, "%s %s: malformed reply", method,
                        path);
  }
  size_t head_len = (size_t)(sep - raw) + 2;
  size_t body_off = head_len + 2;
  struct mock_reply r = {status, NULL, NULL, raw_len - body_off};
  r.head = malloc(head_len + 1);
  r.body = malloc(r.body_len + 1);
  if (!r.head || !r.body) {
    free(raw);
    mock_reply_cleanup(&r);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  memcpy(r.head, raw, head_len);
  r.head[head_len] = '\0';
  memcpy(r.body, raw + body_off, r.body_len);
  r.body[r.body_len] = '\0';
  free(raw);
  /* A body cut short of its Content-Length is a failed read. */
  char *cl = mock_reply_header(&r, "Content-Length");
  bool short_body = false;
  if (cl && strcmp(method, "HEAD") != 0 && status != 304) {
    char *end;
    unsigned long long want = strtoull(cl, &end, 10);
    short_body = *end || want != r.body_len;
  }
  free(cl);
  if (short_body) {
    mock_reply_cleanup(&r);
    return ts_error_set(err, TS_ERR_NETWORK,
                        "%s %s: body does not match Content-Length", method,
                        path);
  }
  *out = r;
  return TS_OK;
}

enum ts_result mock_get(const struct mock_server *s, const char *path,
                        struct mock_reply *out, struct ts_error *err)
{
  return mock_request(s, "GET", path, NULL, out, err);
}

enum ts_result mock_stats(const struct mock_server *s, json_t **out,
                          struct ts_error *err)
{
  struct mock_reply r;
  enum ts_result result = mock_get(s, "/__stats", &r, err);
  if (result != TS_OK)
    return result;
  if (r.status != 200) {
    mock_reply_cleanup(&r);
    return ts_error_set(err, TS_ERR_NETWORK, "/__stats: HTTP %d", r.status);
  }
  json_error_t jerr;
  json_t *j = json_loadb(r.body, r.body_len, 0, &jerr);
  mock_reply_cleanup(&r);
  if (!json_is_object(j)) {
    json_decref(j);
    return ts_error_set(err, TS_ERR_PARSE, "/__stats: %s", jerr.text);
  }
  *out = j;
  return TS_OK;
}

enum ts_result mock_reset(const struct mock_server *s, struct ts_error *err)
{
  struct mock_reply r;
  enum ts_result result = mock_get(s, "/__reset", &r, err);
  if (result != TS_OK)
    return result;
  int status = r.status;
  mock_reply_cleanup(&r);
  if (status != 200)
    return ts_error_set(err, TS_ERR_NETWORK, "/__reset: HTTP %d", status);
  return TS_OK;
}

/* ---------------------------------------------------------------------- */
/* Analyses                                                               */

static bool selected(const json_t *req, const char *prefix)
{
  if (!prefix)
    return true;
  const char *url = json_string_value(json_object_get(req, "url"));
  return url && strncmp(url, prefix, strlen(prefix)) == 0;
}

static const json_t *requests_of(const json_t *stats)
{
  const json_t *list = json_object_get(stats, "requests");
  return json_is_array(list) ? list : NULL;
}

size_t mock_stats_count(const json_t *stats, const char *prefix)
{
  const json_t *list = requests_of(stats);
  size_t n = 0;
  for (size_t i = 0; list && i < json_array_size(list); i++)
    n += selected(json_array_get(list, i), prefix);
  return n;
}

long mock_stats_peak_inflight(const json_t *stats)
{
  const json_t *v = json_object_get(stats, "peak_inflight");
  return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

size_t mock_stats_arrivals(const json_t *stats, const char *prefix,
                           double **times)
{
  *times = NULL;
  size_t n = mock_stats_count(stats, prefix);
  if (n == 0)
    return 0;
  double *t = malloc(n * sizeof *t);
  if (!t)
    return 0;
  const json_t *list = requests_of(stats);
  size_t k = 0;
  for (size_t i = 0; i < json_array_size(list); i++) {
    const json_t *req = json_array_get(list, i);
    if (selected(req, prefix))
      t[k++] = json_number_value(json_object_get(req, "arrival_ms"));
  }
  qsort(t, n, sizeof *t, cmp_double);
  *times = t;
  return n;
}

size_t mock_stats_max_in_window(const json_t *stats, const char *prefix,
                                double window_ms)
{
  double *t;
  size_t n = mock_stats_arrivals(stats, prefix, &t);
  size_t best = 0;
  for (size_t lo = 0, hi = 0; hi < n; hi++) {
    /* Keep t[lo..hi] inside [t[lo], t[lo] + window_ms). */
    while (t[hi] - t[lo] >= window_ms)
      lo++;
    if (hi - lo + 1 > best)
      best = hi - lo + 1;
  }
  free(t);
  return best;
}

/* An interval event for the concurrency sweep: +1 at arrival, -1 at done.
 * At equal times the -1 sorts first: [a, d) intervals that only touch do
 * not overlap. */
struct event {
  double at;
  int delta;
};

static int cmp_event(const void *a, const void *b)
{
  const struct event *x = a, *y = b;
  if (x->at != y->at)
    return (x->at > y->at) - (x->at < y->at);
  return x->delta - y->delta;
}

size_t mock_stats_max_concurrent(const json_t *stats, const char *prefix)
{
  size_t n = mock_stats_count(stats, prefix);
  struct event *ev = n ? malloc(2 * n * sizeof *ev) : NULL;
  if (!ev)
    return 0;
  const json_t *list = requests_of(stats);
  size_t k = 0;
  for (size_t i = 0; i < json_array_size(list); i++) {
    const json_t *req = json_array_get(list, i);
    if (!selected(req, prefix))
      continue;
    ev[k++] = (struct event){
        json_number_value(json_object_get(req, "arrival_ms")), +1};
    const json_t *done = json_object_get(req, "done_ms");
    if (json_is_number(done))
      ev[k++] = (struct event){json_number_value(done), -1};
  }
  qsort(ev, k, sizeof *ev, cmp_event);
  long open = 0, best = 0;
  for (size_t i = 0; i < k; i++) {
    open += ev[i].delta;
    if (open > best)
      best = open;
  }
  free(ev);
  return (size_t)best;
}

json_t *mock_stats_select(const json_t *stats, const char *prefix)
{
  json_t *out = json_array();
  const json_t *list = requests_of(stats);
  for (size_t i = 0; out && list && i < json_array_size(list); i++) {
    json_t *req = json_array_get(list, i);
    if (selected(req, prefix) && json_array_append(out, req) != 0) {
      json_decref(out);
      return NULL;
    }
  }
  return out;
}

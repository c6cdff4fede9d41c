/*
 * mockapi: a local stand-in for the YouTube, Hacker News, Guardian and
 * NewsAPI servers, for tests, benchmarks and `make demo`. The command line,
 * signals and the time limit live here; see README.md in this folder for
 * the routes file and the statistics it serves.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "router.h"
#include "server.h"
#include "util/fs.h"

#define DEFAULT_TIME_LIMIT_S 600.0
#define MAX_TIME_LIMIT_S 86400.0

static const char usage[] =
    "usage: mockapi --root DIR [--routes FILE.json] [--port N] "
    "[--port-file FILE]\n"
    "               [--seed N] [--time-limit SECONDS] [--quiet]\n"
    "\n"
    "Serves the files under DIR on http://127.0.0.1:PORT as the routes "
    "file says,\n"
    "with injected latency and faults. --port 0 (the default) picks a free "
    "port,\n"
    "written to --port-file once the server listens. Stops on SIGTERM, "
    "SIGINT,\n"
    "or after --time-limit seconds (default 600). Statistics: GET /__stats; "
    "GET\n"
    "/__reset clears them. See tests/mockapi/README.md.\n";

struct options {
  const char *root;
  const char *routes;
  const char *port_file;
  long port;
  unsigned long long seed;
  double time_limit_s;
  bool quiet;
};

/* The handles main owns; their `data` points here. */
struct app {
  struct mock_server *server;
  uv_signal_t sigterm, sigint;
  uv_timer_t limit;
  double time_limit_s;
  bool quiet;
  bool stopping;
};

static int usage_error(const char *what, const char *arg)
{
  fprintf(stderr, "mockapi: %s%s%s%s\n%s", what, arg ? " '" : "",
          arg ? arg : "", arg ? "'" : "", usage);
  return 1;
}

static bool parse_ulong(const char *s, unsigned long long max,
                        unsigned long long *out)
{
  if (!s || !*s || *s == '-' || *s == '+')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return false;
  *out = v;
  return true;
}

/* Returns -1 after a usage error, 1 after --help, 0 to run. */
static int parse_args(int argc, char **argv, struct options *o)
{
  o->time_limit_s = DEFAULT_TIME_LIMIT_S;
  o->seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 1;
    }
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      o->quiet = true;
      continue;
    }
    /* Every other option takes a value: "--name VALUE" or "--name=VALUE". */
    static const char *const names[] = {"--root", "--routes",
                                        "--port", "--port-file",
                                        "--seed", "--time-limit"};
    const char *value = NULL;
    int which = -1;
    for (int k = 0; k < 6 && which < 0; k++) {
      size_t n = strlen(names[k]);
      if (!strncmp(a, names[k], n) && a[n] == '=')
        which = k, value = a + n + 1;
      else if (!strcmp(a, names[k]))
        which = k, value = i + 1 < argc ? argv[++i] : NULL;
    }
    if (which < 0)
      return usage_error("unknown option", a), -1;
    if (!value)
      return usage_error("missing value for", a), -1;
    unsigned long long n;
    switch (which) {
    case 0: o->root = value; break;
    case 1: o->routes = value; break;
    case 2:
      if (!parse_ulong(value, 65535, &n))
        return usage_error("--port: expected 0 to 65535, got", value), -1;
      o->port = (long)n;
      break;
    case 3: o->port_file = value; break;
    case 4:
      if (!parse_ulong(value, UINT64_MAX >> 1, &n))
        return usage_error("--seed: expected a non-negative integer, got",
                           value),
               -1;
      o->seed = n;
      break;
    case 5: {
      char *end;
      errno = 0;
      double t = strtod(value, &end);
      if (errno || *end || end == value || !(t > 0) || t > MAX_TIME_LIMIT_S)
        return usage_error("--time-limit: expected seconds (> 0, at most "
                           "86400), got",
                           value),
               -1;
      o->time_limit_s = t;
      break;
    }
    }
  }
  if (!o->root)
    return usage_error("--root is required", NULL), -1;
  return 0;
}

static void stop(struct app *app)
{
  if (app->stopping)
    return;
  app->stopping = true;
  mock_server_shutdown(app->server);
  uv_close((uv_handle_t *)&app->sigterm, NULL);
  uv_close((uv_handle_t *)&app->sigint, NULL);
  uv_close((uv_handle_t *)&app->limit, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
  struct app *app = h->data;
  if (!app->quiet)
    fprintf(stderr, "mockapi: %s, stopping\n",
            signum == SIGTERM ? "SIGTERM" : "SIGINT");
  stop(app);
}

static void on_time_limit(uv_timer_t *t)
{
  struct app *app = t->data;
  fprintf(stderr, "mockapi: time limit of %g s reached, stopping\n",
          app->time_limit_s);
  stop(app);
}

static int write_port_file(const char *path, int port)
{
  char text[16];
  int n = snprintf(text, sizeof text, "%d\n", port);
  struct ts_error err = {0};
  if (ts_fs_write_atomic(path, text, (size_t)n, &err) != TS_OK) {
    fprintf(stderr, "mockapi: --port-file: %s\n", err.msg);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  struct options o = {0};
  int parsed = parse_args(argc, argv, &o);
  if (parsed != 0)
    return parsed > 0 ? 0 : 1;

  /* A client that goes away must cost a write error, not the process. */
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, NULL);

  struct ts_error err = {0};
  struct mock_router *router = NULL;
  if (mock_router_new(o.root, o.routes, o.seed, &router, &err) != TS_OK) {
    fprintf(stderr, "mockapi: %s\n", err.msg);
    return 1;
  }

  uv_loop_t loop;
  int rc = uv_loop_init(&loop);
  if (rc) {
    fprintf(stderr, "mockapi: uv_loop_init: %s\n", uv_strerror(rc));
    mock_router_free(router);
    return 1;
  }
  struct app app = {0};
  app.time_limit_s = o.time_limit_s;
  app.quiet = o.quiet;
  struct mock_server_options so = {(int)o.port, o.quiet};
  int status = 0;
  if (mock_server_new(&loop, router, &so, &app.server, &err) != TS_OK) {
    fprintf(stderr, "mockapi: %s\n", err.msg);
    status = 1;
  } else {
    int port = mock_server_port(app.server);
    uv_signal_init(&loop, &app.sigterm);
    uv_signal_init(&loop, &app.sigint);
    uv_timer_init(&loop, &app.limit);
    app.sigterm.data = app.sigint.data = app.limit.data = &app;
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    uv_timer_start(&app.limit, on_time_limit,
                   (uint64_t)(o.time_limit_s * 1000.0 + 0.5), 0);
    if (o.port_file && write_port_file(o.port_file, port) != 0) {
      status = 1;
      stop(&app);
    } else {
      fprintf(stderr, "mockapi: listening on http://127.0.0.1:%d\n", port);
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  mock_server_free(app.server);
  mock_router_free(router);
  rc = uv_loop_close(&loop);
  if (rc) {
    /* A handle left open is a bug in the server: fail loudly. */
    fprintf(stderr, "mockapi: uv_loop_close: %s\n", uv_strerror(rc));
    return 1;
  }
  return status;
}

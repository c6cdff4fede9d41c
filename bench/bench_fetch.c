/*
 * bench_fetch: the fetch engine against the mock API server.
 *
 *   bench_fetch schedule BASE_URL N CONCURRENCY RUNS
 *       N requests (BASE_URL/r/I.json) at CONCURRENCY; the server delays
 *       each URL by a latency fixed per URL. Prints the median wall time
 *       and the ideal schedule for the latencies the server applied
 *       (requests started in order, each as soon as a slot frees), and
 *       their ratio.
 *   bench_fetch rate BASE_URL N CONCURRENCY RATE RUNS
 *       N requests at a rate limit (e.g. 100/s): the most arrivals the
 *       server saw in any window of the limit's length, and the achieved
 *       rate against the limit.
 *
 * Both print CPU time per request and peak RSS. The server must have been
 * started with routes for the r/ and z/ folders (bench_fetch.sh does it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "fetch.h"
#include "mockapi_client.h"

static bool done(struct ts_fetch *f, const struct ts_fetch_response *r,
                 void *data)
{
  (void)f;
  unsigned *failed = data;
  if (r->outcome != TS_FETCH_OK)
    (*failed)++;
  return false;
}

static double cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_kib(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Fetches /__stats from the server at BASE_URL with a plain socket. */
static json_t *server_stats(const char *base, const char *path)
{
  int port = atoi(strrchr(base, ':') + 1);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "curl -s 'http://127.0.0.1:%d%s'", port, path);
  FILE *p = popen(cmd, "r");
  if (!p)
    return NULL;
  json_t *doc = json_loadf(p, 0, NULL);
  pclose(p);
  return doc;
}

static int compare_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, compare_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One engine run; returns the wall time in ms. */
static double fetch_all(const char *base, const char *dir, int n, int conc,
                        const char *rate, unsigned *failed)
{
  struct ts_fetch_options o;
  ts_fetch_options_init(&o);
  o.concurrency = (unsigned)conc;
  o.deadline_ms = 600000;
  o.per_host = (unsigned)conc; /* the cap under test, not libcurl's */
  struct ts_error err;
  struct ts_fetch *f = ts_fetch_new(&o, &err);
  struct ts_fetch_source_options so = {.name = "bench"};
  if (rate)
    ts_rate_parse(rate, &so.rate, &err);
  int src = ts_fetch_add_source(f, &so, &err);
  for (int i = 0; i < n; i++) {
    char url[256];
    snprintf(url, sizeof url, "%s/%s/%d.json", base, dir, i);
    struct ts_fetch_request rq = {.source = src, .url = url,
                                  .on_done = done, .data = failed};
    ts_fetch_add(f, &rq, &err);
  }
  if (ts_fetch_run(f, &err) != TS_OK)
    fprintf(stderr, "bench_fetch: %s\n", err.msg);
  struct ts_fetch_stats st;
  ts_fetch_get_stats(f, -1, &st);
  ts_fetch_free(f);
  return st.wall_ms;
}

/* The ideal FIFO schedule: request i starts when the earliest slot frees. */
static double ideal_ms(const json_t *stats, const char *dir, int n, int conc)
{
  double *lat = calloc((size_t)n, sizeof *lat);
  const json_t *reqs = json_object_get(stats, "requests");
  size_t k;
  json_t *r;
  char prefix[32];
  snprintf(prefix, sizeof prefix, "/%s/", dir);
  json_array_foreach(reqs, k, r)
  {
    const char *url = json_string_value(json_object_get(r, "url"));
    if (!url || strncmp(url, prefix, strlen(prefix)))
      continue;
    int i = atoi(url + strlen(prefix));
    if (i >= 0 && i < n)
      lat[i] = json_number_value(json_object_get(r, "latency_ms"));
  }
  double *slot = calloc((size_t)conc, sizeof *slot);
  double end = 0;
  for (int i = 0; i < n; i++) {
    int best = 0;
    for (int s = 1; s < conc; s++)
      if (slot[s] < slot[best])
        best = s;
    slot[best] += lat[i];
    if (slot[best] > end)
      end = slot[best];
  }
  free(lat);
  free(slot);
  return end;
}

static int schedule(const char *base, int n, int conc, int runs)
{
  double *walls = calloc((size_t)runs, sizeof *walls);
  unsigned failed = 0;
  double ideal = 0, cpu0 = cpu_seconds();
  for (int r = 0; r < runs; r++) {
    json_decref(server_stats(base, "/__reset"));
    walls[r] = fetch_all(base, "r", n, conc, NULL, &failed);
    json_t *st = server_stats(base, "/__stats");
    ideal = ideal_ms(st, "r", n, conc);
    json_decref(st);
  }
  double cpu = cpu_seconds() - cpu0;
  double wall = median(walls, runs);
  printf("  %d requests, concurrency %d: median %.1f ms over %d runs, ideal "
         "%.1f ms, %.1f%% of ideal; %u failed\n",
         n, conc, wall, runs, ideal, 100.0 * wall / ideal, failed);
  printf("  cpu %.1f us per request, peak RSS %ld KiB\n",
         cpu * 1e6 / (double)(n * runs), peak_rss_kib());
  bool met = wall <= ideal * 1.05;
  printf("  target: within 5%% of the ideal schedule: %s\n",
         met ? "met" : "MISSED");
  free(walls);
  return failed || !met ? 1 : 0;
}

static int rate(const char *base, int n, int conc, const char *limit,
                int runs)
{
  struct ts_rate r;
  struct ts_error err;
  if (ts_rate_parse(limit, &r, &err) != TS_OK) {
    fprintf(stderr, "bench_fetch: %s\n", err.msg);
    return 1;
  }
  double window = (double)r.window_ns / 1e6;
  double *eff = calloc((size_t)runs, sizeof *eff);
  size_t worst = 0;
  unsigned failed = 0;
  double cpu0 = cpu_seconds();
  for (int k = 0; k < runs; k++) {
    json_decref(server_stats(base, "/__reset"));
    fetch_all(base, "z", n, conc, limit, &failed);
    json_t *st = server_stats(base, "/__stats");
    size_t most = mock_stats_max_in_window(st, "/z/", window);
    if (most > worst)
      worst = most;
    double *t = NULL;
    size_t m = mock_stats_arrivals(st, "/z/", &t);
    /* The fastest any strict limiter can go: N requests need
     * ceil(N / count) - 1 full windows between first and last start. */
    double floor_span = ((double)((m + r.count - 1) / r.count) - 1) * window;
    double span = m ? t[m - 1] - t[0] : 0;
    eff[k] = span > 0 ? 100.0 * floor_span / span : 0;
    free(t);
    json_decref(st);
  }
  double cpu = cpu_seconds() - cpu0;
  printf("  %d requests at %s, concurrency %d: at most %zu arrivals in any "
         "%.0f ms window (limit %u); achieved %.1f%% of the limit (median "
         "of %d); %u failed\n",
         n, limit, conc, worst, window, r.count, median(eff, runs), runs,
         failed);
  printf("  cpu %.1f us per request, peak RSS %ld KiB\n",
         cpu * 1e6 / (double)(n * runs), peak_rss_kib());
  bool met = worst <= r.count && median(eff, runs) >= 95.0;
  printf("  target: never above the limit in any window, at least 95%% of "
         "it: %s\n", met ? "met" : "MISSED");
  free(eff);
  return !met || failed ? 1 : 0;
}

int main(int argc, char **argv)
{
  if (argc == 6 && !strcmp(argv[1], "schedule"))
    return schedule(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (argc == 7 && !strcmp(argv[1], "rate"))
    return rate(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5],
                atoi(argv[6]));
  fprintf(stderr, "usage: bench_fetch schedule BASE_URL N CONCURRENCY RUNS\n"
                  "       bench_fetch rate BASE_URL N CONCURRENCY RATE "
                  "RUNS\n");
  return 2;
}

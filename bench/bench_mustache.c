/*
 * The C side of bench/bench_mustache.sh: renders the benchmark templates
 * with trendsite's engine and prints one line of figures.
 *
 *   bench_mustache list TEMPLATES DATA.json [RUNS]
 *       (a) the list page: one render of list.html over 100,000 items,
 *       streamed through the fd sink to /dev/null
 *   bench_mustache page TEMPLATES DATA.json [RUNS]
 *       (b) the item page: 100,000 renders of page.html into a ts_buf
 *   bench_mustache stream TEMPLATES DATA.json [RUNS]
 *       like list, with stream.html: every item eight times, ~1 GB out
 *
 * Output: "trendsite NAME bytes=B renders=R seconds=S rss_data_kb=D
 * rss_peak_kb=P" where S is the median of RUNS runs (default 5), B and R
 * are per run, D is the resident size once the data is loaded and P the
 * peak of the whole process: P - D is what rendering itself needed.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mustache.h"
#include "util/buf.h"

#define PAGE_RENDERS 100000

struct counted_fd {
  int fd;
  size_t bytes;
};

static enum ts_result write_counted(void *ctx, const char *data, size_t len,
                                    struct ts_error *err)
{
  struct counted_fd *c = ctx;
  c->bytes += len;
  while (len) {
    ssize_t n = write(c->fd, data, len);
    if (n <= 0)
      return ts_error_set(err, TS_ERR_IO, "write to /dev/null failed");
    data += n;
    len -= (size_t)n;
  }
  return TS_OK;
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_now_kb(void)
{
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return 0;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = 0;
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int by_value(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  if (argc < 4 || (strcmp(argv[1], "list") && strcmp(argv[1], "page") &&
                    strcmp(argv[1], "stream"))) {
    fprintf(stderr, "usage: bench_mustache list|page|stream TEMPLATES "
                    "DATA.json [RUNS]\n");
    return 1;
  }
  bool list = strcmp(argv[1], "page") != 0;
  int runs = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 5;
  if (runs < 1 || runs > 100)
    runs = 5;
  json_error_t jerr;
  json_t *data = json_load_file(argv[3], 0, &jerr);
  if (!data) {
    fprintf(stderr, "bench: %s:%d:%d: %s\n", argv[3], jerr.line, jerr.column,
            jerr.text);
    return 1;
  }
  /* The data as the site hands it to the engine: converted once, outside
   * the timed renders. */
  struct ts_arena arena;
  ts_arena_init(&arena, 0);
  struct ts_value_builder vb = {.arena = &arena};
  struct ts_value value = ts_value_from_json(&vb, data);
  if (vb.failed) {
    fprintf(stderr, "bench: out of memory\n");
    return 1;
  }
  long rss_data = rss_now_kb();
  const char *dirs[] = {argv[2]};
  struct ts_mustache_options opts = {.dirs = dirs, .ndirs = 1};
  if (!strcmp(argv[1], "stream")) /* ~1 GB on purpose: above the default cap */
    opts.max_output = (size_t)4 << 30;
  struct ts_mustache_env *env = ts_mustache_env_new(&opts);
  const struct ts_mustache *tpl;
  struct ts_error err;
  char name[32];
  snprintf(name, sizeof name, "%s.html", argv[1]);
  if (ts_mustache_compile_file(env, name, &tpl, &err) != TS_OK) {
    fprintf(stderr, "bench: %s\n", err.msg);
    return 1;
  }
  double seconds[100];
  size_t bytes = 0, renders = list ? 1 : PAGE_RENDERS;
  struct ts_buf out;
  ts_buf_init(&out, 0);
  for (int r = 0; r < runs; r++) {
    struct counted_fd sink = {open("/dev/null", O_WRONLY), 0};
    double t0 = now();
    enum ts_result res = TS_OK;
    if (list) {
      res = ts_mustache_render_value(
          tpl, &value, (struct ts_mustache_sink){write_counted, &sink}, &err);
      bytes = sink.bytes;
    } else {
      bytes = 0;
      for (size_t i = 0; i < renders && res == TS_OK; i++) {
        ts_buf_reset(&out);
        res = ts_mustache_render_value_to_buf(tpl, &value, &out, &err);
        bytes += out.len;
      }
    }
    seconds[r] = now() - t0;
    close(sink.fd);
    if (res != TS_OK) {
      fprintf(stderr, "bench: %s\n", err.msg);
      return 1;
    }
  }
  qsort(seconds, (size_t)runs, sizeof *seconds, by_value);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("trendsite %s bytes=%zu renders=%zu seconds=%.6f rss_data_kb=%ld "
         "rss_peak_kb=%ld\n",
         argv[1], bytes, renders, seconds[runs / 2], rss_data, ru.ru_maxrss);
  ts_buf_cleanup(&out);
  ts_mustache_env_free(env);
  ts_arena_cleanup(&arena);
  json_decref(data);
  return 0;
}

/*
 * Loading a snapshot: ts_snapshot_parse on a file, against jansson's
 * json_loadb of the same text (what loading cost before: a whole
 * document tree, then a copy of every value). Target for the 30,000-item
 * benchmark snapshot (28 MB): at most 120 ms, and no memory beyond what
 * the batch itself holds.
 *
 * Each run starts from a fresh batch; the median of `runs` counts. Memory
 * is measured on the first run as the growth of the resident set (the
 * text is read and touched before), next to what the batch holds (arena
 * bytes handed out plus its item and status arrays).
 *
 * Usage: bench_snapshot FILE [runs]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"
#include "util/fs.h"

static double now_ms(clockid_t clock)
{
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The resident set in MB, from /proc (0 where there is none). */
static double rss_mb(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    fclose(f);
  }
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

static int by_value(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, by_value);
  return v[n / 2];
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: bench_snapshot FILE [runs]\n");
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  if (runs < 1 || runs > 100)
    runs = 5;
  char *text;
  size_t len;
  struct ts_error err;
  if (ts_fs_read(argv[1], (size_t)1 << 30, &text, &len, &err) != TS_OK) {
    fprintf(stderr, "bench_snapshot: %s\n", err.msg);
    return 1;
  }
  double wall[100], cpu[100], jwall[100];
  double rss_added = 0, batch_mb = 0, jrss_added = 0;
  size_t nitems = 0;
  for (int i = 0; i < runs; i++) {
    struct ts_batch b;
    ts_batch_init(&b);
    struct ts_snapshot_meta meta;
    double rss0 = rss_mb();
    double w0 = now_ms(CLOCK_MONOTONIC),
           c0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
    enum ts_result r = ts_snapshot_parse(argv[1], text, len, &b, &meta, &err);
    cpu[i] = now_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    wall[i] = now_ms(CLOCK_MONOTONIC) - w0;
    if (r != TS_OK) {
      fprintf(stderr, "bench_snapshot: %s\n", err.msg);
      return 1;
    }
    if (i == 0) {
      rss_added = rss_mb() - rss0;
      batch_mb = (double)(b.arena.total + b.items_cap * sizeof *b.items +
                          b.statuses_cap * sizeof *b.statuses) /
                 1e6;
      nitems = b.nitems;
    }
    ts_batch_cleanup(&b);
  }
  for (int i = 0; i < runs; i++) {
    double rss0 = rss_mb();
    double w0 = now_ms(CLOCK_MONOTONIC);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    jwall[i] = now_ms(CLOCK_MONOTONIC) - w0;
    if (!doc) {
      fprintf(stderr, "bench_snapshot: jansson: %s\n", jerr.text);
      return 1;
    }
    if (i == 0)
      jrss_added = rss_mb() - rss0;
    json_decref(doc);
  }
  printf("snapshot: %s, %.1f MB, %zu items\n", argv[1], (double)len / 1e6,
         nitems);
  printf("ts_snapshot_parse: %.1f ms (median wall), %.1f ms CPU, "
         "%.0f MB/s\n",
         median(wall, runs), median(cpu, runs),
         (double)len / 1e3 / median(wall, runs));
  printf("batch: %.1f MB held, RSS added by loading: %.1f MB\n", batch_mb,
         rss_added);
  printf("jansson json_loadb alone: %.1f ms (median wall), RSS added: "
         "%.1f MB\n",
         median(jwall, runs), jrss_added);
  free(text);
  return 0;
}

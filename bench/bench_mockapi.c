/*
 * A small load generator for the mock API server: REQUESTS GETs of URL
 * over CONNECTIONS keep-alive connections (libcurl multi, one easy handle
 * per connection, re-added after each response so its connection is
 * reused). Prints requests per second and per-response latency
 * percentiles, the figures that show the mock adds no delayed-ACK stall.
 *
 *   bench_mockapi URL CONNECTIONS REQUESTS
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t discard(char *p, size_t size, size_t n, void *data)
{
  (void)p;
  (void)data;
  return size * n;
}

static int cmp_long(const void *a, const void *b)
{
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long parse_count(const char *s, long max)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  return errno || *end || v < 1 || v > max ? -1 : v;
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: bench_mockapi URL CONNECTIONS REQUESTS\n");
    return 1;
  }
  const char *url = argv[1];
  long conns = parse_count(argv[2], 1000);
  long total = parse_count(argv[3], 100000000);
  if (conns < 0 || total < 0) {
    fprintf(stderr, "bench_mockapi: bad count\n");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM *m = curl_multi_init();
  CURL **hs = calloc((size_t)conns, sizeof *hs);
  long *us = calloc((size_t)total, sizeof *us);
  if (!m || !hs || !us) {
    fprintf(stderr, "bench_mockapi: out of memory\n");
    return 1;
  }
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns);
  long started = 0, done = 0, failed = 0;
  for (long i = 0; i < conns && started < total; i++, started++) {
    hs[i] = curl_easy_init();
    curl_easy_setopt(hs[i], CURLOPT_URL, url);
    curl_easy_setopt(hs[i], CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(hs[i], CURLOPT_NOSIGNAL, 1L);
    curl_multi_add_handle(m, hs[i]);
  }
  double t0 = now_s();
  int running = 1;
  while (done < total) {
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      CURL *h = msg->easy_handle;
      long status = 0;
      curl_off_t t = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &t);
      failed += msg->data.result != CURLE_OK || status != 200;
      us[done++] = (long)t;
      curl_multi_remove_handle(m, h);
      if (started < total) {
        started++;
        curl_multi_add_handle(m, h); /* same handle: same connection */
      }
    }
    if (done < total)
      curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  double secs = now_s() - t0;
  qsort(us, (size_t)total, sizeof *us, cmp_long);
  printf("%ld requests, %ld keep-alive connections: %.0f requests/s; "
         "per response p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms; "
         "%ld failed\n",
         total, conns, (double)total / secs, us[total / 2] / 1000.0,
         us[total * 9 / 10] / 1000.0, us[total * 99 / 100] / 1000.0,
         us[total - 1] / 1000.0, failed);
  for (long i = 0; i < conns; i++)
    if (hs[i])
      curl_easy_cleanup(hs[i]);
  curl_multi_cleanup(m);
  curl_global_cleanup();
  free(hs);
  free(us);
  return failed ? 1 : 0;
}

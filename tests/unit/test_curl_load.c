/* libcurl is loaded on first use, and every kind of argument trendsite
 * passes through the forwarders (long, pointer, callback, curl_off_t, the
 * getinfo result pointers) reaches the library intact. Transfers use
 * file:// URLs: the point is the forwarding, not the network. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/curl_load.h"

/* Whether a file whose path contains `name` is mapped into this process. */
static bool mapped(const char *name)
{
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f)
    return false;
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof line, f))
    found = strstr(line, name) != NULL;
  fclose(f);
  return found;
}

/* Must run first: nothing before it may touch a curl_* function. */
static void libcurl_is_loaded_on_first_use(void)
{
  CHECK(mapped("libc.so")); /* the probe sees linked libraries */
  CHECK(!mapped("libcurl"));
  CHECK(!ts_curl_loaded());
  struct ts_error err = {0};
  REQUIRE(ts_curl_load(&err) == TS_OK);
  CHECK(ts_curl_loaded());
  CHECK(mapped("libcurl"));
  CHECK(ts_curl_load(&err) == TS_OK); /* a second call is harmless */
}

struct sink {
  size_t bytes;
  char first[16];
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
  struct sink *s = arg;
  if (s->bytes < sizeof s->first - 1) {
    size_t take = sizeof s->first - 1 - s->bytes;
    take = take < n ? take : n;
    memcpy(s->first + s->bytes, data, take);
  }
  s->bytes += size * n;
  return size * n;
}

static void every_argument_type_reaches_libcurl(void)
{
  char path[] = "/tmp/ts-curl-load-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  FILE *f = fdopen(fd, "w");
  REQUIRE(f);
  fputs("hello, libcurl", f);
  for (int i = 0; i < 986; i++)
    fputc('.', f);
  fclose(f);
  char url[64];
  snprintf(url, sizeof url, "file://%s", path);

  REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
  CURL *h = curl_easy_init();
  REQUIRE(h);
  struct sink sink = {0};
  CHECK(curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK);      /* pointer */
  CHECK(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK);
  CHECK(curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink) == CURLE_OK);
  CHECK(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK);  /* long */
  CHECK(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)7) ==
        CURLE_OK);                                               /* off_t */
  CHECK_INT(curl_easy_perform(h), CURLE_OK);
  /* The offset arrived as a 64-bit value: the body starts at byte 7. */
  CHECK_INT(sink.bytes, 993);
  CHECK_STR(sink.first, "libcurl........");
  curl_off_t got = 0;
  char *effective = NULL;
  CHECK(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got) == CURLE_OK);
  CHECK_INT(got, 993);
  CHECK(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK);
  CHECK_STR(effective, url);

  /* A second long option that shows: no body this time. */
  sink.bytes = 0;
  CHECK(curl_easy_setopt(h, CURLOPT_NOBODY, 1L) == CURLE_OK);
  CHECK_INT(curl_easy_perform(h), CURLE_OK);
  CHECK_INT(sink.bytes, 0);
  const char *why = curl_easy_strerror(CURLE_FILESIZE_EXCEEDED);
  CHECK(why && *why && strstr(why, "not loaded") == NULL);
  curl_easy_cleanup(h);

  CURLM *m = curl_multi_init();
  REQUIRE(m);
  CHECK(curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 4L) == CURLM_OK);
  CHECK(curl_multi_setopt(m, CURLMOPT_SOCKETDATA, &sink) == CURLM_OK);
  CHECK(curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, NULL) == CURLM_OK);
  CHECK(curl_multi_cleanup(m) == CURLM_OK);
  curl_global_cleanup();
  remove(path);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(libcurl_is_loaded_on_first_use),
    TEST(every_argument_type_reaches_libcurl),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

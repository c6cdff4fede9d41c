/* API keys never survive redaction, whatever the parameter's spelling. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/redact.h"

static void redacts_each_key_spelling(void)
{
  char out[512];
  CHECK_STR(ts_redact("https://www.googleapis.com/youtube/v3/videos?part=snippet"
                      "&key=AIzaSyA-secret_123&regionCode=JP", out, sizeof out),
            "https://www.googleapis.com/youtube/v3/videos?part=snippet"
            "&key=REDACTED&regionCode=JP");
  CHECK_STR(ts_redact("/search?api-key=abc&page-size=10", out, sizeof out),
            "/search?api-key=REDACTED&page-size=10");
  CHECK_STR(ts_redact("/top-headlines?country=us&apiKey=0123456789abcdef",
                      out, sizeof out),
            "/top-headlines?country=us&apiKey=REDACTED");
  CHECK_STR(ts_redact("?APIKEY=x#frag", out, sizeof out),
            "?APIKEY=REDACTED#frag");
  CHECK_STR(ts_redact("GET /v?access_token=t0k&token=t1 failed", out,
                      sizeof out),
            "GET /v?access_token=REDACTED&token=REDACTED failed");
}

static void leaves_lookalikes_alone(void)
{
  char out[256];
  CHECK_STR(ts_redact("/x?monkey=1&keys=2&key=&turkey=3", out, sizeof out),
            "/x?monkey=1&keys=2&key=&turkey=3");
  CHECK_STR(ts_redact("no url here", out, sizeof out), "no url here");
}

static void message_with_embedded_url(void)
{
  char *s = ts_redact_dup("youtube[JP]: Could not resolve host for "
                          "'https://h/v?key=SECRET': timeout");
  REQUIRE(s != NULL);
  CHECK(strstr(s, "SECRET") == NULL);
  CHECK(strstr(s, "key=REDACTED'") != NULL);
  free(s);
}

static void cut_to_size_still_terminated(void)
{
  char out[12];
  ts_redact("?key=SECRETSECRET", out, sizeof out);
  CHECK_STR(out, "?key=REDACT");
  CHECK(strstr(out, "SECRET") == NULL);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(redacts_each_key_spelling),
    TEST(leaves_lookalikes_alone),
    TEST(message_with_embedded_url),
    TEST(cut_to_size_still_terminated),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

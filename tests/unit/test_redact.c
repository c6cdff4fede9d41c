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

/* The plain byte-at-a-time definition ts_redact must agree with. */
static int ref_key_before(const char *text, const char *eq)
{
  static const char *const names[] = {"key",          "api-key", "apikey",
                                      "api_key",      "access_token",
                                      "token"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t n = strlen(names[i]);
    if ((size_t)(eq - text) < n)
      continue;
    const char *start = eq - n;
    int same = 1;
    for (size_t k = 0; k < n && same; k++)
      same = (start[k] | 0x20) == names[i][k] ||
             (start[k] == names[i][k]);
    if (same && (start == text || strchr("?&; \t\n\"'", start[-1])))
      return 1;
  }
  return 0;
}

static void ref_redact(const char *text, char *out, size_t size)
{
  size_t o = 0;
  const char *p = text;
  while (*p && o + 1 < size) {
    if (*p == '=' && ref_key_before(text, p)) {
      out[o++] = *p++;
      size_t v = 0;
      while (p[v] && !strchr("&#; \t\r\n\"'<>", p[v]))
        v++;
      if (v) {
        for (const char *m = "REDACTED"; *m && o + 1 < size; m++)
          out[o++] = *m;
        p += v;
      }
      continue;
    }
    out[o++] = *p++;
  }
  out[o] = '\0';
}

/* Random texts built from URL pieces, cut to every size: the same as
 * the reference, byte for byte. */
static void agrees_with_the_plain_definition(void)
{
  static const char *const pieces[] = {
      "https://h/v", "?", "&", "key", "=", "v", "api-key", "Token",
      "monkey", "SECRET", "#", " ", "a=b", "==", ";", "APIKEY", "x"};
  unsigned seed = 12345;
  for (int round = 0; round < 2000; round++) {
    char text[160] = "";
    size_t len = 0;
    int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 12;
    for (int i = 0; i < n; i++) {
      const char *pc =
          pieces[((seed = seed * 1103515245u + 12345u) >> 16) %
                 (sizeof pieces / sizeof pieces[0])];
      if (len + strlen(pc) >= sizeof text)
        break;
      memcpy(text + len, pc, strlen(pc) + 1);
      len += strlen(pc);
    }
    for (size_t size = 1; size <= len + 12; size++) {
      char got[200], want[200];
      ts_redact(text, got, size);
      ref_redact(text, want, size);
      if (strcmp(got, want) != 0) {
        CHECK_STR(got, want);
        return;
      }
    }
  }
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(redacts_each_key_spelling),
    TEST(leaves_lookalikes_alone),
    TEST(message_with_embedded_url),
    TEST(cut_to_size_still_terminated),
    TEST(agrees_with_the_plain_definition),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

/*
 * libFuzzer harness for the config loader: arbitrary bytes as
 * trendsite.json through ts_config_parse, with what it promises checked
 * (a broken promise aborts, which libFuzzer reports):
 * - failure: an error code, a one-line message that starts with the file
 *   name, and *out left alone;
 * - success: every value within its documented range; source names
 *   plain and unique; base URLs http(s) without a trailing slash;
 *   site.base_url ending in '/'; region codes two letters (upper case for
 *   YouTube, lower case for NewsAPI countries), unique per source; a
 *   disabled source says why; ts_config_secrets lists exactly the
 *   non-empty keys.
 * A few environment variables are set so that ${VAR} expansion (set,
 * empty and unset) is reachable. Seeds: tests/fuzz/fuzz_config_seeds.py.
 *
 * fuzz-sources: src/config.c src/ratelimit.c src/util/buf.c src/util/error.c src/util/fs.c src/util/log.c src/util/regions.c
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond)                                                         \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

#define PATH "fuzz.json"

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
  (void)argc;
  (void)argv;
  setenv("YOUTUBE_API_KEY", "fuzz-key-youtube", 1);
  setenv("GUARDIAN_API_KEY", "", 1); /* set but empty: source disabled */
  unsetenv("NEWSAPI_KEY");
  setenv("MOCK_URL", "http://127.0.0.1:8080", 1);
  setenv("TRENDSITE_MOCK_URL", "http://127.0.0.1:8080", 1);
  setenv("LONG", "0123456789abcdef0123456789abcdef0123456789abcdef", 1);
  return 0;
}

static bool http_url(const char *s)
{
  return (!strncmp(s, "http://", 7) && s[7]) ||
         (!strncmp(s, "https://", 8) && s[8]);
}

static bool plain_name(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 40)
    return false;
  for (; *s; s++)
    if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
        *s != '-' && *s != '_')
      return false;
  return true;
}

static void check_source(const struct ts_config_source *s)
{
  ASSERT(s->type <= TS_SOURCE_JSONFEED);
  ASSERT(s->name && plain_name(s->name));
  if (s->type == TS_SOURCE_JSONFEED) {
    ASSERT(s->url && http_url(s->url));
  } else {
    ASSERT(s->base_url && http_url(s->base_url));
    size_t n = strlen(s->base_url);
    ASSERT(s->base_url[n - 1] != '/');
  }
  bool keyed = s->type == TS_SOURCE_YOUTUBE ||
               s->type == TS_SOURCE_GUARDIAN || s->type == TS_SOURCE_NEWSAPI;
  if (keyed) {
    ASSERT(s->api_key);
    ASSERT(s->enabled == (s->api_key[0] != '\0'));
    if (!s->enabled)
      ASSERT(s->skip_reason && s->skip_reason[0]);
  } else {
    ASSERT(s->enabled);
  }
  bool regional = s->type == TS_SOURCE_YOUTUBE ||
                  s->type == TS_SOURCE_NEWSAPI;
  ASSERT(regional ? s->nregions > 0 : s->nregions == 0);
  for (size_t i = 0; i < s->nregions; i++) {
    const char *r = s->regions[i];
    ASSERT(strlen(r) == 2);
    for (int k = 0; k < 2; k++)
      ASSERT(s->type == TS_SOURCE_YOUTUBE ? isupper((unsigned char)r[k])
                                          : islower((unsigned char)r[k]));
    for (size_t j = 0; j < i; j++)
      ASSERT(strcmp(r, s->regions[j]) != 0);
  }
  if (s->type == TS_SOURCE_YOUTUBE) {
    ASSERT(s->max_results >= 1 && s->max_results <= 50);
    ASSERT(s->pages >= 1 && s->pages <= 10);
  }
  if (s->type == TS_SOURCE_HACKERNEWS)
    ASSERT(s->limit >= 1 && s->limit <= 500);
  if (s->type == TS_SOURCE_GUARDIAN)
    ASSERT(s->limit >= 1 && s->limit <= 200);
  if (s->type == TS_SOURCE_NEWSAPI)
    ASSERT(s->limit >= 1 && s->limit <= 100);
}

static void check_config(const struct ts_config *c)
{
  ASSERT(c->path && !strcmp(c->path, PATH));
  ASSERT(c->site.title && c->site.description && c->site.language);
  ASSERT(c->site.base_url && http_url(c->site.base_url));
  ASSERT(c->site.base_url[strlen(c->site.base_url) - 1] == '/');
  ASSERT(c->output && c->output[0]);
  ASSERT(c->templates && c->templates[0]);
  ASSERT(c->state && c->state[0]);
  ASSERT(c->fetch.concurrency >= 1 && c->fetch.concurrency <= 256);
  ASSERT(c->fetch.per_host >= 1 && c->fetch.per_host <= 64);
  ASSERT(c->fetch.timeout_ms >= 100 && c->fetch.timeout_ms <= 600000);
  ASSERT(c->fetch.deadline_ms >= 1000);
  ASSERT(c->fetch.retries <= 10);
  ASSERT(c->fetch.max_response_bytes >= 1024);
  ASSERT(c->history_days >= 1 && c->history_days <= 3650);
  ASSERT(c->stale_after_hours >= 1 && c->stale_after_hours <= 8760);
  size_t keys = 0;
  for (size_t i = 0; i < c->nsources; i++) {
    check_source(&c->sources[i]);
    for (size_t j = 0; j < i; j++)
      ASSERT(strcmp(c->sources[i].name, c->sources[j].name) != 0);
    keys += c->sources[i].api_key && c->sources[i].api_key[0];
  }
  const char **secrets = ts_config_secrets(c);
  ASSERT(secrets);
  size_t n = 0;
  while (secrets[n]) {
    ASSERT(secrets[n][0]);
    n++;
  }
  ASSERT(n == keys);
  free(secrets);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct ts_config *cfg = (struct ts_config *)(uintptr_t)1; /* a sentinel */
  struct ts_error err;
  memset(&err, 0, sizeof err);
  enum ts_result r =
      ts_config_parse(PATH, (const char *)data, size, NULL, &cfg, &err);
  if (r != TS_OK) {
    ASSERT(cfg == (struct ts_config *)(uintptr_t)1); /* untouched */
    ASSERT(err.code != TS_OK);
    size_t len = strnlen(err.msg, sizeof err.msg);
    ASSERT(len < sizeof err.msg);
    ASSERT(!strncmp(err.msg, PATH ":", strlen(PATH) + 1));
    return 0;
  }
  ASSERT(cfg && cfg != (struct ts_config *)(uintptr_t)1);
  check_config(cfg);
  ts_config_free(cfg);
  return 0;
}

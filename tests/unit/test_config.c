/* trendsite.json loading: the shipped file, defaults, and an error that
 * names the file and key path for every kind of mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"

static struct ts_config *parse(const char *text, struct ts_error *err)
{
  struct ts_config *cfg = NULL;
  if (ts_config_parse("trendsite.json", text, strlen(text), NULL, &cfg,
                      err) != TS_OK)
    return NULL;
  return cfg;
}

/* Parses a config that must fail and checks the whole message. */
static void expect_error(const char *text, const char *message, int line)
{
  struct ts_error err = {0};
  struct ts_config *cfg = parse(text, &err);
  if (cfg) {
    ts_test_fail(__FILE__, line, "accepted: %s", text);
    ts_config_free(cfg);
    return;
  }
  if (strcmp(err.msg, message) != 0)
    ts_test_fail(__FILE__, line, "message:\n    got      \"%s\"\n"
                 "    expected \"%s\"", err.msg, message);
  if (err.code != TS_ERR_CONFIG)
    ts_test_fail(__FILE__, line, "code %d, expected TS_ERR_CONFIG", err.code);
}
#define EXPECT_ERROR(text, message) expect_error(text, message, __LINE__)

#define SITE "\"site\": {\"base_url\": \"https://u.github.io/t\"}"

static void shipped_config_loads_with_keys(void)
{
  setenv("YOUTUBE_API_KEY", "yt-secret", 1);
  setenv("GUARDIAN_API_KEY", "gu-secret", 1);
  setenv("NEWSAPI_KEY", "na-secret", 1);
  char path[4096];
  snprintf(path, sizeof path, "%s/trendsite.json", ts_test_root());
  struct ts_config *cfg = NULL;
  struct ts_error err;
  if (ts_config_load(path, NULL, &cfg, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "%s", err.msg);
    return;
  }
  CHECK_INT(cfg->nsources, 4);
  CHECK_STR(cfg->sources[0].name, "youtube");
  CHECK_STR(cfg->sources[0].api_key, "yt-secret");
  CHECK_INT(cfg->sources[0].nregions, 8);
  CHECK_STR(cfg->sources[0].regions[6], "JP");
  CHECK_INT(cfg->sources[0].rate.count, 5);
  CHECK_INT(cfg->sources[1].limit, 30);
  CHECK_STR(cfg->sources[3].regions[0], "us");
  for (size_t i = 0; i < cfg->nsources; i++)
    CHECK(cfg->sources[i].enabled);
  CHECK_INT(cfg->fetch.concurrency, 3);
  CHECK_INT(cfg->fetch.rate.count, 10);
  CHECK_STR(cfg->site.base_url, "https://example.github.io/trends/");
  const char **secrets = ts_config_secrets(cfg);
  REQUIRE(secrets != NULL);
  CHECK_STR(secrets[0], "yt-secret");
  CHECK_STR(secrets[2], "na-secret");
  CHECK(secrets[3] == NULL);
  free(secrets);
  ts_config_free(cfg);
}

static void empty_key_skips_the_source_with_a_reason(void)
{
  unsetenv("YOUTUBE_API_KEY");
  setenv("GUARDIAN_API_KEY", "", 1);
  struct ts_error err;
  struct ts_config *cfg = parse(
      "{" SITE ", \"sources\": ["
      "{\"type\": \"youtube\", \"api_key\": \"${YOUTUBE_API_KEY}\", "
      "\"regions\": [\"us\"]},"
      "{\"type\": \"guardian\", \"api_key\": \"${GUARDIAN_API_KEY}\"},"
      "{\"type\": \"hackernews\"}]}",
      &err);
  REQUIRE(cfg != NULL);
  CHECK(!cfg->sources[0].enabled);
  CHECK_STR(cfg->sources[0].skip_reason,
            "api_key is empty (YOUTUBE_API_KEY is not set)");
  CHECK_STR(cfg->sources[0].regions[0], "US"); /* normalised */
  CHECK(!cfg->sources[1].enabled);
  CHECK_STR(cfg->sources[1].skip_reason, "api_key is empty");
  CHECK(cfg->sources[2].enabled);
  const char **secrets = ts_config_secrets(cfg);
  CHECK(secrets && secrets[0] == NULL);
  free(secrets);
  ts_config_free(cfg);
}

static void defaults_fill_what_is_missing(void)
{
  struct ts_error err;
  struct ts_config *cfg = parse("{" SITE ", \"sources\": []}", &err);
  REQUIRE(cfg != NULL);
  CHECK_STR(cfg->site.base_url, "https://u.github.io/t/");
  CHECK_STR(cfg->site.title, "Trending now");
  CHECK_STR(cfg->site.language, "en");
  CHECK_STR(cfg->output, "site");
  CHECK_STR(cfg->templates, "templates");
  CHECK_STR(cfg->state, ".trendsite");
  CHECK_INT(cfg->fetch.concurrency, 3);
  CHECK_INT(cfg->fetch.per_host, 6);
  CHECK_INT(cfg->fetch.rate.count, 0);
  CHECK_INT(cfg->fetch.timeout_ms, 10000);
  CHECK_INT(cfg->fetch.deadline_ms, 120000);
  CHECK_INT(cfg->fetch.retries, 3);
  CHECK_INT(cfg->fetch.backoff_ms, 500);
  CHECK_INT(cfg->fetch.max_response_bytes, 8388608);
  CHECK_INT(cfg->history_days, 30);
  CHECK_INT(cfg->stale_after_hours, 48);
  ts_config_free(cfg);
}

static void env_vars_expand_anywhere(void)
{
  setenv("TS_TEST_MOCK", "http://127.0.0.1:4321", 1);
  struct ts_error err;
  struct ts_config *cfg = parse(
      "{" SITE ", \"output\": \"${TS_TEST_MOCK_DIR_UNSET_OK}\", "
      "\"sources\": []}", &err);
  CHECK(cfg == NULL);
  CHECK_STR(err.msg, "trendsite.json: output: environment variable "
            "TS_TEST_MOCK_DIR_UNSET_OK is not set");
  cfg = parse("{" SITE ", \"sources\": [{\"type\": \"hackernews\", "
              "\"base_url\": \"${TS_TEST_MOCK}/hn/v0/\"}]}", &err);
  REQUIRE(cfg != NULL);
  CHECK_STR(cfg->sources[0].base_url, "http://127.0.0.1:4321/hn/v0");
  ts_config_free(cfg);
}

static void every_mistake_names_file_and_key(void)
{
  EXPECT_ERROR("{\"site\": {}", "trendsite.json:1:11: '}' expected near end of file");
  EXPECT_ERROR("[]", "trendsite.json: expected an object at the top, found an array");
  EXPECT_ERROR("{\"sources\": []}",
               "trendsite.json: site: missing (required): {\"title\": ..., "
               "\"base_url\": \"https://USER.github.io/REPO/\"}");
  EXPECT_ERROR("{" SITE ", \"sources\": [], \"fetch\": {\"concurency\": 3}}",
               "trendsite.json: fetch.concurency: unknown key (did you mean "
               "\"concurrency\"?)");
  EXPECT_ERROR("{" SITE ", \"sources\": [], \"colour\": 1}",
               "trendsite.json: colour: unknown key (known keys: $schema, site, "
               "output, templates, state, fetch, sources, history_days, "
               "stale_after_hours)");
  EXPECT_ERROR("{" SITE ", \"sources\": [], \"fetch\": {\"concurrency\": \"3\"}}",
               "trendsite.json: fetch.concurrency: expected an integer from 1 "
               "to 256, found a string");
  EXPECT_ERROR("{" SITE ", \"sources\": [], \"fetch\": {\"retries\": 11}}",
               "trendsite.json: fetch.retries: 11 is out of range (0 to 10)");
  EXPECT_ERROR("{" SITE ", \"sources\": [], \"fetch\": {\"rate\": \"10/day\"}}",
               "trendsite.json: fetch.rate: \"10/day\": expected N/s, N/min or "
               "N/h (like \"10/s\")");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"hackernews\"}, "
               "{\"type\": \"youtube\", \"api_key\": \"k\", "
               "\"regions\": [\"US\", \"JP\", \"DE\", \"XX\"]}]}",
               "trendsite.json: sources[1].regions[3]: \"XX\" is not a "
               "two-letter region code (ISO 3166-1, like \"US\" or \"JP\")");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"youtube\", "
               "\"api_key\": \"k\", \"regions\": [\"US\", \"us\"]}]}",
               "trendsite.json: sources[0].regions[1]: \"us\" is listed twice");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"youtube\", "
               "\"regions\": [\"US\"]}]}",
               "trendsite.json: sources[0].api_key: missing (required): use "
               "\"${ENV_VAR}\" to read the key from the environment");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"tiktok\"}]}",
               "trendsite.json: sources[0].type: \"tiktok\" is not a source "
               "type (youtube, hackernews, guardian, newsapi, jsonfeed)");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"hackernews\"}, "
               "{\"type\": \"hackernews\"}]}",
               "trendsite.json: sources[1].name: \"hackernews\" is already the "
               "name of sources[0]; give each source its own \"name\"");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"jsonfeed\", "
               "\"name\": \"blog\"}]}",
               "trendsite.json: sources[0].url: missing (required)");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"jsonfeed\", "
               "\"name\": \"Blog\", \"url\": \"https://e.org/f.json\"}]}",
               "trendsite.json: sources[0].name: \"Blog\": use lower-case "
               "letters, digits, '-' and '_' (it becomes part of file names)");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"jsonfeed\", "
               "\"name\": \"b\", \"url\": \"javascript:alert(1)\"}]}",
               "trendsite.json: sources[0].url: \"javascript:alert(1)\" is not "
               "an http:// or https:// URL");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"hackernews\", "
               "\"limit\": 0}]}",
               "trendsite.json: sources[0].limit: 0 is out of range (1 to 500)");
  EXPECT_ERROR("{" SITE ", \"sources\": [{\"type\": \"hackernews\", "
               "\"base_url\": \"${OOPS\"}]}",
               "trendsite.json: sources[0].base_url: \"${OOPS\": malformed "
               "${VAR} (a variable name is letters, digits and '_', closed by "
               "'}')");
  EXPECT_ERROR("{\"site\": {\"base_url\": \"u.github.io\"}, \"sources\": []}",
               "trendsite.json: site.base_url: \"u.github.io\" is not an "
               "http:// or https:// URL");
  EXPECT_ERROR("{" SITE ", \"site\": {}, \"sources\": []}",
               "trendsite.json:1:54: duplicate object key near '\"site\"'");
}

static void comments_are_allowed(void)
{
  struct ts_error err;
  struct ts_config *cfg = parse("{\"//\": \"hello\", " SITE
                                ", \"sources\": [{\"//\": \"x\", "
                                "\"type\": \"hackernews\"}]}",
                                &err);
  CHECK(cfg != NULL);
  ts_config_free(cfg);
}

static void missing_file_says_what_to_do(void)
{
  struct ts_config *cfg = NULL;
  struct ts_error err;
  CHECK_INT(ts_config_load("/nonexistent/trendsite.json", NULL, &cfg, &err),
            TS_ERR_CONFIG);
  CHECK_STR(err.msg, "/nonexistent/trendsite.json: no such file (pass "
            "--config FILE, or copy trendsite.json from the repository)");
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(shipped_config_loads_with_keys),
    TEST(empty_key_skips_the_source_with_a_reason),
    TEST(defaults_fill_what_is_missing),
    TEST(env_vars_expand_anywhere),
    TEST(every_mistake_names_file_and_key),
    TEST(comments_are_allowed),
    TEST(missing_file_says_what_to_do),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

/*
 * trendsite.json -> struct ts_config.
 *
 * The file's format is fixed by DESIGN.md and documented in README.md.
 * Loading is strict so that a typo never silently changes what a cron job
 * does: unknown keys, wrong types and out-of-range values are errors, and
 * every error names the file and the key path:
 *
 *   trendsite.json: sources[1].regions[3]: "XX" is not a two-letter region code
 *
 * `${VAR}` in any string is replaced from the environment. An unset
 * variable is an error, except in `api_key`, where an empty key disables
 * the source with a warning (so a fork without secrets still builds the
 * other sources).
 *
 * Relative paths (output, templates, state) are relative to the folder
 * trendsite runs in, like every other command-line tool's.
 */
#ifndef TS_CONFIG_H
#define TS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ratelimit.h"
#include "util/error.h"
#include "util/log.h"

enum ts_source_type {
  TS_SOURCE_YOUTUBE,
  TS_SOURCE_HACKERNEWS,
  TS_SOURCE_GUARDIAN,
  TS_SOURCE_NEWSAPI,
  TS_SOURCE_JSONFEED
};

/* "youtube", "hackernews", "guardian", "newsapi", "jsonfeed". */
const char *ts_source_type_name(enum ts_source_type type);

struct ts_config_source {
  enum ts_source_type type;
  char *name;        /* unique; defaults to the type name */
  char *api_key;     /* after ${VAR}; "" when none */
  char *base_url;    /* no trailing slash */
  char *url;         /* jsonfeed: the feed's URL */
  struct ts_rate rate; /* count 0: only the global limit */
  char **regions;    /* youtube: upper-case region codes; newsapi: lower-case
                        country codes (from "countries") */
  size_t nregions;
  unsigned max_results; /* youtube: items per page, 1-50 (default 50) */
  unsigned pages;       /* youtube: pages per region, 1-10 (default 1) */
  unsigned limit;       /* hackernews: stories, 1-500 (default 30);
                           guardian/newsapi: page size */
  char *section;        /* guardian: optional section filter */
  bool enabled;         /* false: skipped, see skip_reason */
  char *skip_reason;
};

struct ts_config {
  char *path; /* the file it was loaded from */
  struct {
    char *title;
    char *description;
    char *base_url; /* absolute, ends with '/' */
    char *language;
  } site;
  char *output;
  char *templates;
  char *state;
  struct {
    unsigned concurrency;
    unsigned per_host;
    struct ts_rate rate;
    long timeout_ms;
    long connect_timeout_ms;
    long stall_ms;
    long deadline_ms;
    unsigned retries;
    long backoff_ms;
    size_t max_response_bytes;
  } fetch;
  struct ts_config_source *sources;
  size_t nsources;
  unsigned history_days;
  unsigned stale_after_hours;
};

/*
 * Loads and validates `path`. On success *out is a new config (caller frees
 * with ts_config_free). Warnings (a source skipped for an empty key) go to
 * `log`. On failure `err` holds "PATH: key.path: what is wrong" or
 * "PATH:LINE:COL: ..." for JSON syntax errors.
 */
enum ts_result ts_config_load(const char *path, const struct ts_log *log,
                              struct ts_config **out, struct ts_error *err);

/* The same from text in memory; `path` names it in messages. */
enum ts_result ts_config_parse(const char *path, const char *text,
                               size_t len, const struct ts_log *log,
                               struct ts_config **out, struct ts_error *err);

void ts_config_free(struct ts_config *config);

/* The API keys of every source, for redacting them from any text that is
 * printed (belt and braces behind URL redaction). NULL-terminated array of
 * borrowed strings; caller frees the array only. */
const char **ts_config_secrets(const struct ts_config *config);

#endif

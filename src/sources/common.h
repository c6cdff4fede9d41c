/*
 * What the adapters in src/sources/ share: one list's bookkeeping (its
 * status in the batch, timing, requests), turning a response into JSON
 * with invalid UTF-8 repaired, and the one-line reasons that end up on
 * the status page ("HTTP 403 quotaExceeded", "timeout: no answer within
 * 10000 ms"). Internal to the adapters; the pipeline uses source.h.
 */
#ifndef TS_SOURCES_COMMON_H
#define TS_SOURCES_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sources/source.h"

struct ts_list;

/* Turns one parsed answer into raw items; false, with a reason in `why`,
 * when the document is not the answer expected. */
typedef bool (*ts_list_parser)(struct ts_list *list, const json_t *root,
                               char *why, size_t why_size);

/* One list a source fetches: a region's chart, the top stories, ... */
struct ts_list {
  struct ts_source *source;
  char region[4];        /* "" when the source has no regions */
  double first_start_ms; /* monotonic ms of the earliest request start */
  double last_end_ms;    /* monotonic ms of the latest answer */
  bool started;
  bool failed;
  uint32_t pages;        /* list pages fetched so far */
  uint32_t next_rank;    /* rank of the next item on the next page */
  uint32_t pending;      /* follow-up requests not answered yet */
  uint32_t item_failures; /* follow-ups that failed (fan-out sources) */
  ts_list_parser parse;  /* for lists of one request: see ts_list_on_answer */
  void *data;            /* adapter's own per-list state */
};

struct ts_source {
  const struct ts_config_source *cfg;
  const struct ts_source_env *env;
  int fetch_source;      /* index in the fetch engine */
  struct ts_list *lists;
  size_t nlists;
  void *data;            /* adapter's own state */
  void (*finish)(struct ts_source *);
  void (*free_data)(struct ts_source *);
};

/* The status of `list` in the batch (created on first use). */
struct ts_status *ts_list_status(struct ts_list *list);

/* Counts one answer to a request of `list`: requests, retries, timing,
 * fetched_at; YouTube also passes `quota_units`. */
void ts_list_account(struct ts_list *list,
                     const struct ts_fetch_response *res,
                     uint32_t quota_units);

/* Marks the list failed with `reason` (first failure wins). */
void ts_list_fail(struct ts_list *list, const char *reason);

/* A short reason for a response that did not succeed:
 * "HTTP 403 quotaExceeded", "timeout: no answer within 10000 ms". */
void ts_list_reason(const struct ts_fetch_response *res, char *out,
                    size_t size);

/* Parses a response body as JSON after repairing invalid UTF-8 (counted
 * in the list's status). New reference, or NULL with `why` filled
 * ("invalid JSON at line 3, column 7: ..."). */
json_t *ts_list_parse(struct ts_list *list,
                      const struct ts_fetch_response *res, char *why,
                      size_t why_size);

/* The answer handler of a list fetched with one request (Guardian,
 * NewsAPI, JSON Feed): counts the answer, fails the list on an error
 * answer or on a body list->parse rejects, and says whether the body was
 * usable (so the engine keeps its ETag only then). `data` is the list. */
bool ts_list_on_answer(struct ts_fetch *fetch,
                       const struct ts_fetch_response *res, void *data);

/* Sets up the only list of a source without regions, when this shard
 * owns it; *list is NULL when it does not. */
enum ts_result ts_source_one_list(struct ts_source *src, struct ts_list **list,
                                  struct ts_error *err);

/* Queues GET `url` for `list`. Returns false (and fails the list with the
 * reason) when the engine refuses it (source stopped, deadline passed). */
bool ts_list_request(struct ts_list *list, const char *url, const char *label,
                     bool conditional, ts_fetch_done_fn on_done, void *data);

/* Whether this shard fetches the next list (advances the unit counter). */
bool ts_source_owns_next_list(const struct ts_source_env *env);

/* Appends `key=value` to a URL being built, percent-encoding the value. */
void ts_url_param(struct ts_buf *url, const char *key, const char *value);

/* A raw item for `list`, at its next rank. NULL when out of memory. */
struct ts_item *ts_list_new_item(struct ts_list *list,
                                 enum ts_item_kind kind);

/* Copies a JSON string member into the batch arena; NULL when absent or
 * not a string. */
const char *ts_json_str(struct ts_batch *batch, const json_t *obj,
                        const char *key);

/* The adapters. Each fills `src` (lists, finish, data) and queues its
 * first requests. */
enum ts_result ts_youtube_start(struct ts_source *src, struct ts_error *err);
enum ts_result ts_hackernews_start(struct ts_source *src,
                                   struct ts_error *err);
enum ts_result ts_guardian_start(struct ts_source *src, struct ts_error *err);
enum ts_result ts_newsapi_start(struct ts_source *src, struct ts_error *err);
enum ts_result ts_jsonfeed_start(struct ts_source *src, struct ts_error *err);

/* Parsers of single answers, for the adapters and for tests and fuzzers.
 * `root` is borrowed; items are added to the list's batch. */
bool ts_youtube_parse_videos(struct ts_list *list, const json_t *root,
                             const char **next);
json_t *ts_youtube_parse_categories(const json_t *root);
bool ts_hackernews_parse_top(const json_t *root, uint32_t limit,
                             int64_t **ids, size_t *n);
bool ts_hackernews_parse_item(struct ts_list *list, const json_t *root,
                              uint32_t rank);
bool ts_guardian_parse_search(struct ts_list *list, const json_t *root,
                              char *why, size_t why_size);
bool ts_newsapi_parse_headlines(struct ts_list *list, const json_t *root,
                                char *why, size_t why_size);
bool ts_jsonfeed_parse(struct ts_list *list, const json_t *root, char *why,
                       size_t why_size);

/* Error classifiers, one per API (see fetch.h). */
enum ts_fetch_verdict ts_youtube_classify(long status, const char *body,
                                          size_t len, char *reason,
                                          size_t size, void *data);
enum ts_fetch_verdict ts_guardian_classify(long status, const char *body,
                                           size_t len, char *reason,
                                           size_t size, void *data);
enum ts_fetch_verdict ts_newsapi_classify(long status, const char *body,
                                          size_t len, char *reason,
                                          size_t size, void *data);

#endif

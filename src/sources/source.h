/*
 * Source adapters: from a configured source to requests, and from each
 * response to raw items or to an error that names source, region and
 * reason.
 *
 * One file per API in src/sources/. An adapter
 *   - queues its first requests in `start` (one per region, or a list),
 *   - parses each response in its request's callback, adds raw items to the
 *     batch, queues follow-ups (next page, one request per story id), and
 *   - keeps its (source, region) statuses up to date: items, skipped,
 *     requests, retries, the reason a list failed.
 * A malformed item is skipped and counted; a malformed response fails that
 * list only; nothing an API sends can stop the other sources.
 *
 * Parsing is separate from fetching (the ts_*_parse_* functions) so that
 * unit tests and fuzzers can feed fixture bodies straight in.
 */
#ifndef TS_SOURCE_H
#define TS_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fetch.h"
#include "item.h"
#include "util/log.h"

/* Everything an adapter needs for one run. Borrowed by the adapter. */
struct ts_source_env {
  struct ts_fetch *fetch;
  struct ts_batch *batch;
  const struct ts_log *log;
  const char *state_dir; /* for adapter caches (YouTube categories) */
  int64_t now;           /* Unix seconds: the run's clock */
  /* Shard filter: fetch only the lists whose unit number u (counted over
   * every (source, region) list of the config, in config order) satisfies
   * u % shard_count == shard_index - 1. shard_count 1 fetches all. */
  unsigned shard_index, shard_count;
  unsigned *unit_counter; /* shared across sources, advanced per list */
};

struct ts_source;

/*
 * Prepares `cfg` for this run: registers it with the fetch engine (its rate
 * limit and error classifier) and queues its first requests for the lists
 * this shard owns. *out (caller frees with ts_source_free, after the fetch
 * engine has run) is NULL when the shard owns none of its lists.
 */
enum ts_result ts_source_start(const struct ts_config_source *cfg,
                               const struct ts_source_env *env,
                               struct ts_source **out, struct ts_error *err);

/* After the engine ran: final bookkeeping (YouTube category names, the
 * status of lists that never got an answer). */
void ts_source_finish(struct ts_source *source);

void ts_source_free(struct ts_source *source);

#endif

/*
 * The snapshot: one run's merged items and per-list results as a JSON
 * document (schema: docs/snapshot.md).
 *
 * It is what `trendsite fetch` writes, what `trendsite render --from` reads
 * and merges, what the history keeps, and what the site publishes as
 * api/snapshot.json. Writing is deterministic (fixed key order, items in
 * their merged order) so the same data always gives the same bytes, and it
 * never contains an API key: URLs pass through redaction on the way in.
 */
#ifndef TS_SNAPSHOT_H
#define TS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "item.h"
#include "util/buf.h"
#include "util/error.h"

#define TS_SNAPSHOT_FORMAT "trendsite-snapshot"
#define TS_SNAPSHOT_VERSION 1

struct ts_snapshot_meta {
  int64_t generated_at;   /* Unix seconds */
  unsigned shard_index;   /* 1-based; 1 of 1 for a whole run */
  unsigned shard_count;
};

/* Appends the whole document as text for merged `items` (in order) and
 * `statuses`: compact JSON, one status and one item per line. Written
 * directly, not through a JSON tree: for a large site the tree would cost
 * more than the rest of a render. TS_ERR_NOMEM when `out` cannot grow. */
enum ts_result ts_snapshot_text(const struct ts_item *items, size_t nitems,
                                const struct ts_status *statuses,
                                size_t nstatuses,
                                const struct ts_snapshot_meta *meta,
                                struct ts_buf *out);

/* Where one item's JSON lies in a snapshot's text. */
struct ts_snapshot_span {
  size_t off, len;
};

/* ts_snapshot_text that also fills spans[i] (an array of `nitems` the
 * caller owns) with where item i's JSON lies in `out`, so the JSON API
 * can copy it rather than write it again. */
enum ts_result ts_snapshot_text_spans(const struct ts_item *items,
                                      size_t nitems,
                                      const struct ts_status *statuses,
                                      size_t nstatuses,
                                      const struct ts_snapshot_meta *meta,
                                      struct ts_buf *out,
                                      struct ts_snapshot_span *spans);

/* Appends the text ts_snapshot_text gives for some of the items a
 * snapshot was written from, with the same statuses and meta: the `n`
 * items whose indices `keep` lists (ascending), copied from `text`, that
 * snapshot's text as ts_snapshot_text_spans wrote it with `spans` (of at
 * least one item). Copying costs a fraction of writing them again. */
enum ts_result ts_snapshot_text_subset(const char *text,
                                       const struct ts_snapshot_span *spans,
                                       const size_t *keep, size_t n,
                                       struct ts_buf *out);

/* One item's JSON as it appears in snapshots and the JSON API, appended
 * to `out`. */
enum ts_result ts_snapshot_item_text(const struct ts_item *item,
                                     struct ts_buf *out);

/* The statuses as a JSON list, one per line, appended to `out`. */
enum ts_result ts_snapshot_statuses_text(const struct ts_status *statuses,
                                         size_t n, struct ts_buf *out);

/*
 * Adds a snapshot's items (with all their positions) and statuses to
 * `batch`, and fills `meta`, from `len` bytes of JSON text (borrowed).
 * `name` is used in error messages: "a.json:3:14: expected a value" for
 * malformed JSON, "a.json: items[3]: \"kind\" must be \"video\" or
 * \"story\"" for data that breaks docs/snapshot.md. Unknown keys are skipped; url,
 * discussion_url and thumbnail URLs that are not http(s) are dropped. On
 * failure neither `batch` nor `meta` changes (but for arena bytes).
 */
enum ts_result ts_snapshot_parse(const char *name, const char *text,
                                 size_t len, struct ts_batch *batch,
                                 struct ts_snapshot_meta *meta,
                                 struct ts_error *err);

/* Reads the file at `path` (capped at 1 GiB) and parses it like
 * ts_snapshot_parse. */
enum ts_result ts_snapshot_read(const char *path, struct ts_batch *batch,
                                struct ts_snapshot_meta *meta,
                                struct ts_error *err);

#endif

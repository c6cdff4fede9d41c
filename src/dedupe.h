/*
 * Dedupe and merge: one item per video or story, with every place it was
 * listed.
 *
 * Videos merge by id (across regions, and across pages of one region when
 * the chart moved between page requests). Stories merge when they share
 * a canonical-URL key (ts_normalize_url_key) or a title key (below), and
 * transitively: A and B share a URL, B and C a title, so A, B and C are
 * one story (union-find). A title key is the title in NFKC, case-folded,
 * with everything but letters, digits and marks removed (so "Breaking:
 * Big News!" and "BREAKING – big news" match, and CJK titles match too;
 * compatibility folding makes full-width "ＮＨＫ" match "NHK" here, while
 * the displayed title keeps its width). Short title keys would merge
 * unrelated stories ("Live updates", "地震速報"), so a title key counts only
 * with a weight of at least `min_title_key` (default 16): letters and
 * digits weigh 1, wide (East Asian) characters 2, marks 0.
 *
 * The merged item:
 * - positions: the union of the members' positions, sorted by (source,
 *   region, rank); a (source, region) seen twice keeps its better rank;
 * - text fields and id: those of the representative, the member that
 *   sorts first by (its smallest position, id, url, title, and the other
 *   text fields): a total order that does not depend on input order, so
 *   shards merged in any order give the same bytes;
 * - thumbnail: the best any member has: one over none, then the larger
 *   known area, the wider, the taller, the smaller URL;
 * - views, likes, comments, score, duration: the largest known;
 *   published: the earliest known; merged: the sum of the members'
 *   `merged` (raw items count 1);
 * - key: the video id for videos (which must be [A-Za-z0-9_-]{1,64},
 *   else the item is dropped: it becomes a file name); for stories 16
 *   lower-case hex digits of the FNV-1a 64-bit hash of the
 *   representative's URL key (on the astronomically rare collision the
 *   story with the larger URL key is rehashed with a salt);
 * - match_keys (stories): every member's URL and title keys, so that
 *   merging already-merged sets finds the same groups: dedupe accepts
 *   items with several positions and match keys, and
 *   merge(dedupe(A), dedupe(B)) == dedupe(A + B) for disjoint A and B;
 * - rank_score: the sum over positions of max(0, 101 - rank), so #1 in
 *   one region scores 100 and #10 in five regions 455.
 * The result is sorted by rank_score (highest first), then kind (videos
 * first), then key.
 *
 * Hash tables are open-addressing, sized to a power of two from the
 * input; nothing is quadratic.
 */
#ifndef TS_DEDUPE_H
#define TS_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#include "item.h"
#include "util/arena.h"
#include "util/error.h"

struct ts_dedupe_options {
  uint32_t min_title_key; /* default 16; 0 means the default */
};

void ts_dedupe_options_init(struct ts_dedupe_options *opts);

struct ts_dedupe_stats {
  uint64_t items_in;
  uint64_t items_out;
  uint64_t dropped;    /* no position, unsafe video id, no usable link */
  uint64_t videos, stories; /* in the output */
  /* Joins of two groups, by the key that joined them. */
  uint64_t by_id, by_url, by_title;
};

/* Dedupes the batch's (normalized) items into *out, a new array of *nout
 * merged items, sorted as above. The array is the caller's to free();
 * the strings in it are borrowed from the items and the batch arena,
 * where new positions, keys and match keys are allocated (a URL key that
 * is the end of an item's URL points into it). The batch's items are not
 * changed. `stats` may be NULL. On failure (TS_ERR_NOMEM)
 * *out and *nout are not written. */
enum ts_result ts_dedupe(struct ts_batch *batch, struct ts_item **out,
                         size_t *nout, struct ts_dedupe_stats *stats,
                         struct ts_error *err);

/* The same over any items (raw or merged, or a mix), allocating in
 * `batch`'s arena. `opts` NULL means defaults. */
enum ts_result ts_dedupe_items(struct ts_batch *batch,
                               const struct ts_item *items, size_t nitems,
                               const struct ts_dedupe_options *opts,
                               struct ts_item **out, size_t *nout,
                               struct ts_dedupe_stats *stats,
                               struct ts_error *err);

/* Merges the already-merged item sets of several snapshots (shards)
 * into one, exactly as ts_dedupe would have merged their raw items:
 * sets[i] holds counts[i] items. */
enum ts_result ts_dedupe_merge(struct ts_batch *batch,
                               const struct ts_item *const *sets,
                               const size_t *counts, size_t nsets,
                               const struct ts_dedupe_options *opts,
                               struct ts_item **out, size_t *nout,
                               struct ts_dedupe_stats *stats,
                               struct ts_error *err);

/* The title key of `title` in `arena` (see above), or NULL in *key when
 * it weighs less than `min_weight` or is not valid UTF-8. TS_ERR_NOMEM
 * when memory runs out. */
enum ts_result ts_dedupe_title_key(struct ts_arena *arena, const char *title,
                                   uint32_t min_weight, const char **key);

/* Σ max(0, 101 - rank) over the positions. */
int64_t ts_dedupe_rank_score(const struct ts_item_position *positions,
                             uint32_t npositions);

#endif

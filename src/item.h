/*
 * The item model every stage shares, and the batch that holds one run's
 * items and per-source results.
 *
 * A source adapter turns each list it fetches (a region's chart, the top
 * stories, a country's headlines) into raw items, each with one position
 * (source, region, rank). Normalization cleans their text and URLs in
 * place; dedupe then merges raw items that are the same video or story
 * into one item with every position it had (a video trending in five
 * regions is one item with five positions).
 *
 * All strings and arrays live in the batch's arena and die with it.
 * Unknown numbers are TS_UNKNOWN, an unknown time TS_TIME_UNKNOWN, an
 * unknown string NULL.
 */
#ifndef TS_ITEM_H
#define TS_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/error.h"

#define TS_UNKNOWN INT64_C(-1)
#define TS_TIME_UNKNOWN INT64_MIN

enum ts_item_kind {
  TS_ITEM_VIDEO, /* videos/ID.html */
  TS_ITEM_STORY  /* stories/ID.html: news and links */
};

/* One place an item was listed: `rank` (1-based) in `source`'s list for
 * `region` ("" when the source has no regions). */
struct ts_item_position {
  const char *source;
  char region[4];
  uint32_t rank;
  bool stale; /* from the list's last-good data (history) */
};

struct ts_item {
  enum ts_item_kind kind;
  uint32_t npositions; /* the length of `positions` (below) */
  const char *source;  /* configured source name of the first position */
  const char *id;      /* the source's own id ("dQw4w9WgXcQ", "41234567") */
  const char *title;   /* plain text (never HTML) */
  const char *url;     /* the link: http(s) only after normalization */
  const char *discussion_url; /* e.g. the Hacker News comments page */
  const char *thumbnail;
  int32_t thumb_width, thumb_height; /* 0 when unknown */
  const char *author;  /* channel, HN user, byline or publisher */
  const char *summary; /* plain text */
  const char *category; /* YouTube category id until named, section, type */
  const char *language;
  const char *live;    /* NULL, "live" or "upcoming" */
  int64_t published;   /* Unix seconds, UTC */
  int64_t views, likes, comments, score; /* score: HN points */
  int64_t duration_s;  /* 0 for live streams (P0D) */
  struct ts_item_position *positions;
  /* Set by dedupe: the page id, safe as a file name (the video id for
   * videos; 16 hex digits of the canonical URL's hash for stories), the
   * ranking score (higher first) and the number of raw items merged. */
  const char *key;
  int64_t rank_score;
  uint32_t merged;
  uint32_t nmatch_keys; /* the length of `match_keys` (below) */
  /* Set by dedupe on stories: the match keys of every raw item merged
   * into this one (URL keys, which always contain '/', and title keys,
   * which never do), sorted (strcmp), unique.
   * Merging snapshots later needs them to find the same groups as
   * deduping all raw items at once (a story may have joined its group
   * through a member's URL that is not the one shown), so a snapshot
   * must store them and give them back. NULL/0 on raw items. */
  const char **match_keys;
  /* The 32-bit fields are paired so that the struct has no padding:
   * 192 bytes, where 100,000 items a run are copied and merged. */
};

enum ts_status_state {
  TS_STATUS_OK,
  TS_STATUS_FAILED,
  TS_STATUS_STALE /* failed, showing last-good items (set by history) */
};

/* "ok", "failed", "stale". */
const char *ts_status_state_name(enum ts_status_state state);

/* A list's name, "source/region" or "source" ("youtube/JP",
 * "hackernews"): the key of its rank changes and peaks in the history,
 * which the site looks them up by. Truncated to fit `size`. */
void ts_list_key(const char *source, const char *region, char *out,
                 size_t size);

/* The result of one (source, region) list in this run. */
struct ts_status {
  const char *source;  /* configured name */
  const char *type;    /* "youtube", ... */
  char region[4];      /* "" when the source has no regions */
  enum ts_status_state state;
  const char *reason;  /* why it failed: "HTTP 403 quotaExceeded"; NULL */
  uint32_t items;      /* raw items kept */
  uint32_t skipped;    /* malformed items skipped */
  uint32_t requests;   /* HTTP requests that ended, follow-ups included */
  uint32_t retries;
  uint32_t repaired;   /* invalid UTF-8 sequences replaced with U+FFFD */
  uint32_t quota_units; /* YouTube quota units spent */
  double duration_ms;  /* first request start to last response */
  int64_t fetched_at;  /* Unix seconds of the last response */
  int64_t stale_since; /* STALE: when its last-good data was fetched */
};

struct ts_batch {
  struct ts_arena arena;
  struct ts_item *items;
  size_t nitems, items_cap;
  struct ts_status *statuses;
  size_t nstatuses, statuses_cap;
};

void ts_batch_init(struct ts_batch *batch);
void ts_batch_cleanup(struct ts_batch *batch);

/* A new item with every field unknown, owned by the batch; NULL when out
 * of memory. The pointer is valid until the next ts_batch_new_item (the
 * array may move): fill it, then ask for the next. */
struct ts_item *ts_batch_new_item(struct ts_batch *batch);

/* A deep copy of `src` (from any batch) into `batch`: strings and
 * positions are copied into its arena. NULL when out of memory. The
 * pointer is valid until the next new item, as for ts_batch_new_item. */
struct ts_item *ts_batch_copy_item(struct ts_batch *batch,
                                   const struct ts_item *src);

/* Gives `item` its one raw position. TS_ERR_NOMEM on failure. */
enum ts_result ts_item_set_position(struct ts_batch *batch,
                                    struct ts_item *item, const char *source,
                                    const char *region, uint32_t rank);

/* The status of (source, region), created (state OK, counts 0) when new.
 * Borrowed from the batch; valid until the next call that may create one.
 * NULL when out of memory. */
struct ts_status *ts_batch_status(struct ts_batch *batch, const char *source,
                                  const char *type, const char *region);

/* Copies of strings into the batch's arena. */
const char *ts_batch_str(struct ts_batch *batch, const char *s);
const char *ts_batch_strn(struct ts_batch *batch, const char *s, size_t n);

#endif

/*
 * libFuzzer harness for the snapshot reader: arbitrary bytes through
 * ts_snapshot_parse (render --from reads files anyone may write), with
 * the invariants it promises checked (a broken one aborts, which libFuzzer
 * reports):
 * - it never crashes, leaks or reads past the input (ASan, UBSan);
 * - a failure is TS_ERR_PARSE or TS_ERR_LIMIT with a message that starts
 *   with the name, and leaves the batch empty;
 * - whatever parses re-serialises, that text parses, and serialising it
 *   again gives the same bytes (text -> parse -> text is a fixpoint);
 * - no URL that survives loading is anything but http(s).
 *
 * fuzz-sources: src/snapshot.c src/item.c src/util/json_read.c src/util/json_text.c src/util/arena.c src/util/buf.c src/util/error.c src/util/clock.c src/util/fs.c src/util/redact.c
 *
 * Build and run: tests/fuzz/run.sh tests/fuzz/fuzz_snapshot.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond)                                                         \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

static bool web(const char *url)
{
  return !url || !strncmp(url, "https://", 8) || !strncmp(url, "http://", 7);
}

static void write_text(const struct ts_batch *b,
                       const struct ts_snapshot_meta *meta, struct ts_buf *out)
{
  ASSERT(ts_snapshot_text(b->items, b->nitems, b->statuses, b->nstatuses,
                          meta, out) == TS_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct ts_batch b;
  ts_batch_init(&b);
  struct ts_snapshot_meta meta;
  struct ts_error err = {0};
  enum ts_result r =
      ts_snapshot_parse("f.json", (const char *)data, size, &b, &meta, &err);
  if (r != TS_OK) {
    ASSERT(r == TS_ERR_PARSE || r == TS_ERR_LIMIT);
    ASSERT(err.code == r && !strncmp(err.msg, "f.json", 6));
    ASSERT(b.nitems == 0 && b.nstatuses == 0);
    ts_batch_cleanup(&b);
    return 0;
  }
  for (size_t i = 0; i < b.nitems; i++) {
    const struct ts_item *it = &b.items[i];
    ASSERT(it->key && it->id && it->source && it->title);
    ASSERT(it->npositions > 0);
    ASSERT(web(it->url) && web(it->discussion_url) && web(it->thumbnail));
  }
  struct ts_buf text, again;
  ts_buf_init(&text, 0);
  ts_buf_init(&again, 0);
  write_text(&b, &meta, &text);
  struct ts_batch back;
  ts_batch_init(&back);
  struct ts_snapshot_meta meta2;
  r = ts_snapshot_parse("f.json", ts_buf_cstr(&text), text.len, &back,
                        &meta2, &err);
  if (r != TS_OK)
    fprintf(stderr, "re-parse: %s\n", err.msg);
  ASSERT(r == TS_OK);
  write_text(&back, &meta2, &again);
  ASSERT(again.len == text.len &&
         !memcmp(ts_buf_cstr(&again), ts_buf_cstr(&text), text.len));
  ts_buf_cleanup(&text);
  ts_buf_cleanup(&again);
  ts_batch_cleanup(&back);
  ts_batch_cleanup(&b);
  return 0;
}

#include "item.h"

#include <stdlib.h>
#include <string.h>

#include "util/cat.h"
#include "util/grow.h"

/* item.h pairs the 32-bit fields so that an item has no padding. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct ts_item) == 192,
               "struct ts_item has padding");

const char *ts_status_state_name(enum ts_status_state state)
{
  switch (state) {
  case TS_STATUS_OK: return "ok";
  case TS_STATUS_FAILED: return "failed";
  case TS_STATUS_STALE: return "stale";
  }
  return "unknown";
}

void ts_list_key(const char *source, const char *region, char *out,
                 size_t size)
{
  struct ts_cat c = ts_cat_start(out, size);
  ts_cat_str(&c, source);
  if (region[0]) {
    ts_cat_strn(&c, "/", 1);
    ts_cat_str(&c, region);
  }
}

void ts_batch_init(struct ts_batch *b)
{
  memset(b, 0, sizeof *b);
  ts_arena_init(&b->arena, 256 * 1024);
}

void ts_batch_cleanup(struct ts_batch *b)
{
  ts_arena_cleanup(&b->arena);
  free(b->items);
  free(b->statuses);
  memset(b, 0, sizeof *b);
}

struct ts_item *ts_batch_new_item(struct ts_batch *b)
{
  if (!ts_grow(&b->items, &b->items_cap, b->nitems + 1,
            sizeof *b->items))
    return NULL;
  struct ts_item *it = &b->items[b->nitems++];
  memset(it, 0, sizeof *it);
  it->published = TS_TIME_UNKNOWN;
  it->views = it->likes = it->comments = it->score = TS_UNKNOWN;
  it->duration_s = TS_UNKNOWN;
  it->merged = 1;
  return it;
}

struct ts_item *ts_batch_copy_item(struct ts_batch *b,
                                   const struct ts_item *src)
{
  /* Copy the source first: `src` may live in this batch's item array,
   * which ts_batch_new_item can move. */
  struct ts_item copy = *src;
  const char **fields[] = {&copy.source, &copy.id,       &copy.title,
                           &copy.url,    &copy.discussion_url,
                           &copy.thumbnail, &copy.author, &copy.summary,
                           &copy.category, &copy.language, &copy.live,
                           &copy.key};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (*fields[i] && !(*fields[i] = ts_batch_str(b, *fields[i])))
      return NULL;
  }
  if (copy.npositions) {
    struct ts_item_position *p =
        ts_arena_alloc(&b->arena, copy.npositions * sizeof *p);
    if (!p)
      return NULL;
    for (uint32_t i = 0; i < copy.npositions; i++) {
      p[i] = src->positions[i];
      if (!(p[i].source = ts_batch_str(b, p[i].source)))
        return NULL;
    }
    copy.positions = p;
  }
  if (copy.nmatch_keys) {
    const char **keys =
        ts_arena_alloc(&b->arena, copy.nmatch_keys * sizeof *keys);
    if (!keys)
      return NULL;
    for (uint32_t i = 0; i < copy.nmatch_keys; i++)
      if (src->match_keys[i] &&
          !(keys[i] = ts_batch_str(b, src->match_keys[i])))
        return NULL;
      else if (!src->match_keys[i])
        keys[i] = NULL;
    copy.match_keys = keys;
  }
  struct ts_item *it = ts_batch_new_item(b);
  if (it)
    *it = copy;
  return it;
}

enum ts_result ts_item_set_position(struct ts_batch *b, struct ts_item *it,
                                    const char *source, const char *region,
                                    uint32_t rank)
{
  struct ts_item_position *p = ts_arena_alloc(&b->arena, sizeof *p);
  if (!p)
    return TS_ERR_NOMEM;
  memset(p, 0, sizeof *p);
  p->source = source;
  if (region)
    strncpy(p->region, region, sizeof p->region - 1);
  p->rank = rank;
  it->positions = p;
  it->npositions = 1;
  return TS_OK;
}

struct ts_status *ts_batch_status(struct ts_batch *b, const char *source,
                                  const char *type, const char *region)
{
  if (!region)
    region = "";
  for (size_t i = 0; i < b->nstatuses; i++)
    if (!strcmp(b->statuses[i].source, source) &&
        !strcmp(b->statuses[i].region, region))
      return &b->statuses[i];
  if (!ts_grow(&b->statuses, &b->statuses_cap, b->nstatuses + 1,
            sizeof *b->statuses))
    return NULL;
  struct ts_status *s = &b->statuses[b->nstatuses];
  memset(s, 0, sizeof *s);
  s->source = ts_batch_str(b, source);
  s->type = ts_batch_str(b, type);
  if (!s->source || !s->type)
    return NULL;
  strncpy(s->region, region, sizeof s->region - 1);
  s->fetched_at = TS_TIME_UNKNOWN;
  b->nstatuses++;
  return s;
}

const char *ts_batch_str(struct ts_batch *b, const char *s)
{
  return ts_arena_strdup(&b->arena, s);
}

const char *ts_batch_strn(struct ts_batch *b, const char *s, size_t n)
{
  return ts_arena_strndup(&b->arena, s, n);
}

/*
 * Dedupe and merge (see dedupe.h for the rules).
 *
 * Steps, each linear or n log n:
 * 1. Each valid item gets its match keys: the id for videos; for stories
 *    the URL key of its link, its title key, and the match keys it
 *    carries from an earlier merge.
 * 2. Keys go into open-addressing tables; an item whose key is already
 *    there is united with the key's owner (union-find with path halving).
 * 3. Roots number the groups; a counting pass lists each group's members.
 * 4. Each group becomes one item, from its representative plus the
 *    members' positions, counts, times and keys.
 * 5. Story page keys are checked for hash collisions; the output is
 *    sorted by (rank_score desc, kind, key).
 * Everything that decides the output is a function of the set of items,
 * never of their order: group membership is a connected component, the
 * representative a minimum under a total order, and lists are sorted.
 */
#include "dedupe.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "normalize.h"

#define NONE UINT32_MAX

void ts_dedupe_options_init(struct ts_dedupe_options *opts)
{
  opts->min_title_key = 16;
}

int64_t ts_dedupe_rank_score(const struct ts_item_position *positions,
                             uint32_t npositions)
{
  int64_t score = 0;
  for (uint32_t i = 0; i < npositions; i++)
    if (positions[i].rank < 101)
      score += 101 - (int64_t)positions[i].rank;
  return score;
}

/* ---- Title keys ----------------------------------------------------- */

static void title_key_ascii(const unsigned char *s, char *out, size_t *len,
                            uint32_t *weight)
{
  size_t o = 0;
  uint32_t w = 0;
  for (; *s; s++) {
    unsigned char b = *s;
    if (b >= 'A' && b <= 'Z')
      b = (unsigned char)(b + 32);
    if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) {
      out[o++] = (char)b;
      w++;
    }
  }
  *len = o;
  *weight = w;
}

/* Keeps letters, digits and marks of NFKC_Casefold text, in place. */
static void title_key_unicode(unsigned char *s, size_t n, size_t *len,
                              uint32_t *weight)
{
  size_t o = 0, i = 0;
  uint32_t w = 0;
  while (i < n) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t adv =
      utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
    if (adv <= 0)
      break; /* cannot happen: utf8proc_map wrote valid UTF-8 */
    utf8proc_category_t cat = utf8proc_category(cp);
    bool letter_or_digit = cat >= UTF8PROC_CATEGORY_LU &&
                           cat <= UTF8PROC_CATEGORY_LO;
    letter_or_digit |= cat >= UTF8PROC_CATEGORY_ND &&
                       cat <= UTF8PROC_CATEGORY_NO;
    bool mark = cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME;
    if (letter_or_digit || mark) {
      memmove(s + o, s + i, (size_t)adv);
      o += (size_t)adv;
      if (letter_or_digit)
        w += utf8proc_charwidth(cp) == 2 ? 2 : 1;
    }
    i += (size_t)adv;
  }
  *len = o;
  *weight = w;
}

enum ts_result ts_dedupe_title_key(struct ts_arena *arena, const char *title,
                                   uint32_t min_weight, const char **key)
{
  *key = NULL;
  if (!title)
    return TS_OK;
  const unsigned char *s = (const unsigned char *)title;
  bool ascii = true;
  size_t n = 0;
  for (; s[n]; n++)
    ascii &= s[n] < 0x80;
  char stack[512];
  char *buf = NULL;
  unsigned char *mapped = NULL;
  size_t len;
  uint32_t weight;
  if (ascii) {
    buf = n < sizeof stack ? stack : malloc(n + 1);
    if (!buf)
      return TS_ERR_NOMEM;
    title_key_ascii(s, buf, &len, &weight);
  } else {
    utf8proc_ssize_t m = utf8proc_map(
      s, (utf8proc_ssize_t)n, &mapped,
      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
        UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
    if (m == UTF8PROC_ERROR_NOMEM)
      return TS_ERR_NOMEM;
    if (m < 0)
      return TS_OK; /* not UTF-8: no title key */
    title_key_unicode(mapped, (size_t)m, &len, &weight);
    buf = (char *)mapped;
  }
  enum ts_result result = TS_OK;
  if (weight >= min_weight) {
    *key = ts_arena_strndup(arena, buf, len);
    if (!*key)
      result = TS_ERR_NOMEM;
  }
  if (buf != stack)
    free(buf);
  return result;
}

/* ---- Hashing -------------------------------------------------------- */

static uint64_t fmix(uint64_t h)
{
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= UINT64_C(0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return h;
}

/* A fast table hash, 8 bytes at a time. Not the page key (see fnv1a). */
static uint64_t hash_str(const char *s)
{
  size_t n = strlen(s);
  uint64_t h = UINT64_C(0x9E3779B97F4A7C15) ^ n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ (w * UINT64_C(0x87c37b91114253d5))) * UINT64_C(0x4cf5ad432745937f);
    h = (h << 31) | (h >> 33);
    s += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, s, n);
  h ^= w * UINT64_C(0x87c37b91114253d5);
  return fmix(h);
}

/* FNV-1a, 64 bits: a published, stable function, so that anyone can
 * recompute a story's page key from its URL key. */
static uint64_t fnv1a(const char *s, uint64_t h)
{
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

struct slot {
  uint64_t hash;
  const char *key; /* NULL: empty */
  uint32_t item;
};

struct table {
  struct slot *slots;
  size_t mask;
};

static bool table_init(struct table *t, size_t count)
{
  size_t cap = 16;
  while (cap < count * 2)
    cap *= 2;
  t->slots = calloc(cap, sizeof *t->slots);
  t->mask = cap - 1;
  return t->slots != NULL;
}

/* The item that owns `key`, or NONE after making `item` its owner. */
static uint32_t table_put(struct table *t, const char *key, uint32_t item)
{
  uint64_t h = hash_str(key);
  size_t i = (size_t)h & t->mask;
  while (t->slots[i].key) {
    if (t->slots[i].hash == h && !strcmp(t->slots[i].key, key))
      return t->slots[i].item;
    i = (i + 1) & t->mask;
  }
  t->slots[i].hash = h;
  t->slots[i].key = key;
  t->slots[i].item = item;
  return NONE;
}

/* ---- Union-find ----------------------------------------------------- */

static uint32_t find(uint32_t *parent, uint32_t x)
{
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

static bool unite(uint32_t *parent, uint32_t a, uint32_t b)
{
  a = find(parent, a);
  b = find(parent, b);
  if (a == b)
    return false;
  if (a < b)
    parent[b] = a;
  else
    parent[a] = b;
  return true;
}

/* ---- Orders --------------------------------------------------------- */

static int str_cmp(const char *a, const char *b)
{
  return strcmp(a ? a : "", b ? b : "");
}

static int pos_cmp(const struct ts_item_position *a,
                   const struct ts_item_position *b)
{
  int c = str_cmp(a->source, b->source);
  if (c)
    return c;
  c = strcmp(a->region, b->region);
  if (c)
    return c;
  return (a->rank > b->rank) - (a->rank < b->rank);
}

static int pos_qsort_cmp(const void *a, const void *b)
{
  return pos_cmp(a, b);
}

static const struct ts_item_position *min_position(const struct ts_item *it)
{
  const struct ts_item_position *best = &it->positions[0];
  for (uint32_t i = 1; i < it->npositions; i++)
    if (pos_cmp(&it->positions[i], best) < 0)
      best = &it->positions[i];
  return best;
}

/* The representative order: every field the merged item copies from its
 * representative takes part, so two items that tie are interchangeable. */
static int rep_cmp(const struct ts_item *a, const struct ts_item *b)
{
  int c = pos_cmp(min_position(a), min_position(b));
  if (c)
    return c;
  const char *const fa[] = {a->id,        a->url,     a->title,
                            a->discussion_url, a->thumbnail, a->author,
                            a->summary,   a->category, a->language,
                            a->live};
  const char *const fb[] = {b->id,        b->url,     b->title,
                            b->discussion_url, b->thumbnail, b->author,
                            b->summary,   b->category, b->language,
                            b->live};
  for (size_t i = 0; i < sizeof fa / sizeof fa[0]; i++)
    if ((c = str_cmp(fa[i], fb[i])) != 0)
      return c;
  if (a->thumb_width != b->thumb_width)
    return a->thumb_width < b->thumb_width ? -1 : 1;
  if (a->thumb_height != b->thumb_height)
    return a->thumb_height < b->thumb_height ? -1 : 1;
  return 0;
}

static int key_qsort_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- The merge ------------------------------------------------------ */

struct work {
  const struct ts_item *items;
  size_t n;
  struct ts_arena *arena;
  uint32_t *parent;
  uint8_t *valid;
  const char **url_key;  /* stories: the URL key of the item's link */
  uint32_t *key_start;   /* stories: keys[key_start[i] .. key_start[i+1]) */
  const char **keys;
  uint32_t *group_of;    /* root -> group number */
  uint32_t *item_group;  /* item -> group number */
  uint32_t *group_start; /* members[group_start[g] .. group_start[g+1]) */
  uint32_t *members;
  struct ts_item_position *pos_scratch;
  const char **key_scratch;
  const char **rep_url_key; /* per group */
  struct table videos, stories;
};

static void work_free(struct work *w)
{
  free(w->parent);
  free(w->valid);
  free(w->url_key);
  free(w->key_start);
  free(w->keys);
  free(w->group_of);
  free(w->item_group);
  free(w->group_start);
  free(w->members);
  free(w->pos_scratch);
  free(w->key_scratch);
  free(w->rep_url_key);
  free(w->videos.slots);
  free(w->stories.slots);
}

static void hex16(uint64_t h, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--, h >>= 4)
    out[i] = digits[h & 15];
  out[16] = '\0';
}

/* The page key of a story: FNV-1a of its URL key, salted after a
 * collision. */
static const char *story_key(struct ts_arena *arena, const char *url_key,
                             unsigned salt)
{
  uint64_t h = fnv1a(url_key, FNV_OFFSET);
  if (salt) {
    char tail[16];
    int k = 0;
    tail[k++] = '\n';
    for (unsigned v = salt; v; v /= 10)
      tail[k++] = (char)('0' + v % 10);
    tail[k] = '\0';
    h = fnv1a(tail, h);
  }
  char *key = ts_arena_alloc(arena, 17);
  if (key)
    hex16(h, key);
  return key;
}

/* Steps 1 and 2. */
static enum ts_result find_groups(struct work *w,
                                  const struct ts_dedupe_options *opts,
                                  struct ts_dedupe_stats *st)
{
  size_t nkeys = 0, nvideos = 0;
  for (size_t i = 0; i < w->n; i++) {
    const struct ts_item *it = &w->items[i];
    w->parent[i] = (uint32_t)i;
    w->valid[i] = it->positions && it->npositions > 0;
    if (it->kind == TS_ITEM_VIDEO) {
      w->valid[i] &= ts_normalize_video_id_ok(it->id);
      nvideos += w->valid[i];
    } else {
      nkeys += 2 + it->nmatch_keys;
    }
  }
  w->keys = malloc((nkeys ? nkeys : 1) * sizeof *w->keys);
  if (!w->keys || !table_init(&w->videos, nvideos) ||
      !table_init(&w->stories, nkeys))
    return TS_ERR_NOMEM;

  uint32_t k = 0;
  for (size_t i = 0; i < w->n; i++) {
    const struct ts_item *it = &w->items[i];
    w->key_start[i] = k;
    if (!w->valid[i] || it->kind == TS_ITEM_VIDEO)
      continue;
    const char *link = it->url ? it->url : it->discussion_url;
    enum ts_result result = ts_normalize_url_key(w->arena, link,
                                                 &w->url_key[i]);
    if (result != TS_OK)
      return result;
    if (!w->url_key[i]) {
      w->valid[i] = 0; /* no link we can show */
      continue;
    }
    w->keys[k++] = w->url_key[i];
    const char *tk;
    result = ts_dedupe_title_key(w->arena, it->title, opts->min_title_key,
                                 &tk);
    if (result != TS_OK)
      return result;
    if (tk)
      w->keys[k++] = tk;
    for (uint32_t j = 0; j < it->nmatch_keys; j++)
      if (it->match_keys[j])
        w->keys[k++] = it->match_keys[j];
  }
  w->key_start[w->n] = k;

  for (size_t i = 0; i < w->n; i++) {
    if (!w->valid[i])
      continue;
    const struct ts_item *it = &w->items[i];
    if (it->kind == TS_ITEM_VIDEO) {
      uint32_t owner = table_put(&w->videos, it->id, (uint32_t)i);
      if (owner != NONE && unite(w->parent, owner, (uint32_t)i))
        st->by_id++;
      continue;
    }
    for (uint32_t j = w->key_start[i]; j < w->key_start[i + 1]; j++) {
      uint32_t owner = table_put(&w->stories, w->keys[j], (uint32_t)i);
      if (owner != NONE && unite(w->parent, owner, (uint32_t)i)) {
        if (strchr(w->keys[j], '/'))
          st->by_url++;
        else
          st->by_title++;
      }
    }
  }
  return TS_OK;
}

/* Step 3; returns the number of groups. */
static size_t list_groups(struct work *w)
{
  size_t ngroups = 0;
  for (size_t i = 0; i < w->n; i++)
    w->group_of[i] = NONE;
  /* item_group[i]: the group of item i (members[] is free until the
   * last loop, which reads item_group from the cursor pass only). */
  uint32_t *item_group = w->item_group;
  for (size_t i = 0; i < w->n; i++) {
    if (!w->valid[i])
      continue;
    uint32_t r = find(w->parent, (uint32_t)i);
    if (w->group_of[r] == NONE)
      w->group_of[r] = (uint32_t)ngroups++;
    item_group[i] = w->group_of[r];
  }
  memset(w->group_start, 0, (ngroups + 1) * sizeof *w->group_start);
  for (size_t i = 0; i < w->n; i++)
    if (w->valid[i])
      w->group_start[item_group[i] + 1]++;
  for (size_t g = 0; g < ngroups; g++)
    w->group_start[g + 1] += w->group_start[g];
  /* group_of is not needed any more: reuse it as the fill cursors. */
  uint32_t *cursor = w->group_of;
  for (size_t g = 0; g < ngroups; g++)
    cursor[g] = w->group_start[g];
  for (size_t i = 0; i < w->n; i++)
    if (w->valid[i])
      w->members[cursor[item_group[i]]++] = (uint32_t)i;
  return ngroups;
}

/* Step 4 for group g into *o. */
static enum ts_result merge_group(struct work *w, size_t g, struct ts_item *o)
{
  const uint32_t *m = w->members + w->group_start[g];
  size_t count = w->group_start[g + 1] - w->group_start[g];
  const struct ts_item *rep = &w->items[m[0]];
  for (size_t j = 1; j < count; j++)
    if (rep_cmp(&w->items[m[j]], rep) < 0)
      rep = &w->items[m[j]];
  *o = *rep;
  w->rep_url_key[g] = w->url_key[rep - w->items];

  if (count > 1 || rep->npositions > 1) {
    size_t np = 0;
    for (size_t j = 0; j < count; j++) {
      const struct ts_item *it = &w->items[m[j]];
      memcpy(w->pos_scratch + np, it->positions,
             it->npositions * sizeof *it->positions);
      np += it->npositions;
    }
    qsort(w->pos_scratch, np, sizeof *w->pos_scratch, pos_qsort_cmp);
    size_t u = 0;
    for (size_t j = 0; j < np; j++) {
      const struct ts_item_position *p = &w->pos_scratch[j];
      /* Sorted, so the first of a (source, region) has the best rank. */
      if (u && !str_cmp(p->source, w->pos_scratch[u - 1].source) &&
          !strcmp(p->region, w->pos_scratch[u - 1].region))
        continue;
      w->pos_scratch[u++] = *p;
    }
    struct ts_item_position *positions =
      ts_arena_alloc(w->arena, u * sizeof *positions);
    if (!positions)
      return TS_ERR_NOMEM;
    memcpy(positions, w->pos_scratch, u * sizeof *positions);
    o->positions = positions;
    o->npositions = (uint32_t)u;
  }
  o->source = o->positions[0].source;

  o->merged = 0;
  o->published = TS_TIME_UNKNOWN;
  for (size_t j = 0; j < count; j++) {
    const struct ts_item *it = &w->items[m[j]];
    o->merged += it->merged ? it->merged : 1;
    if (it->published != TS_TIME_UNKNOWN &&
        (o->published == TS_TIME_UNKNOWN || it->published < o->published))
      o->published = it->published;
    if (it->views > o->views)
      o->views = it->views;
    if (it->likes > o->likes)
      o->likes = it->likes;
    if (it->comments > o->comments)
      o->comments = it->comments;
    if (it->score > o->score)
      o->score = it->score;
    if (it->duration_s > o->duration_s)
      o->duration_s = it->duration_s;
  }
  o->rank_score = ts_dedupe_rank_score(o->positions, o->npositions);

  if (o->kind == TS_ITEM_VIDEO) {
    o->key = rep->id;
    o->match_keys = NULL;
    o->nmatch_keys = 0;
    return TS_OK;
  }
  o->key = story_key(w->arena, w->rep_url_key[g], 0);
  if (!o->key)
    return TS_ERR_NOMEM;
  size_t nk = 0;
  for (size_t j = 0; j < count; j++)
    for (uint32_t k = w->key_start[m[j]]; k < w->key_start[m[j] + 1]; k++)
      w->key_scratch[nk++] = w->keys[k];
  qsort(w->key_scratch, nk, sizeof *w->key_scratch, key_qsort_cmp);
  size_t u = 0;
  for (size_t j = 0; j < nk; j++)
    if (!u || strcmp(w->key_scratch[j], w->key_scratch[u - 1]))
      w->key_scratch[u++] = w->key_scratch[j];
  const char **keys = ts_arena_alloc(w->arena, (u ? u : 1) * sizeof *keys);
  if (!keys)
    return TS_ERR_NOMEM;
  memcpy(keys, w->key_scratch, u * sizeof *keys);
  o->match_keys = keys;
  o->nmatch_keys = (uint32_t)u;
  return TS_OK;
}

struct story_ref {
  struct ts_item *item;
  const char *url_key;
};

static int story_ref_cmp(const void *a, const void *b)
{
  const struct story_ref *x = a, *y = b;
  int c = strcmp(x->item->key, y->item->key);
  return c ? c : strcmp(x->url_key, y->url_key);
}

/* Step 5a: 64-bit page keys of distinct URL keys can collide, and two
 * pages must never share a file. The story with the smaller URL key keeps
 * the key, the others take salted ones, until all differ. */
static enum ts_result fix_collisions(struct work *w, struct ts_item *items,
                                     size_t n)
{
  size_t nstories = 0;
  for (size_t i = 0; i < n; i++)
    nstories += items[i].kind == TS_ITEM_STORY;
  struct table seen;
  if (!table_init(&seen, nstories))
    return TS_ERR_NOMEM;
  bool collision = false;
  for (size_t i = 0; i < n && !collision; i++)
    if (items[i].kind == TS_ITEM_STORY)
      collision = table_put(&seen, items[i].key, (uint32_t)i) != NONE;
  free(seen.slots);
  if (!collision)
    return TS_OK;

  struct story_ref *refs = malloc(nstories * sizeof *refs);
  if (!refs)
    return TS_ERR_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (items[i].kind == TS_ITEM_STORY)
      refs[k++] = (struct story_ref){&items[i], w->rep_url_key[i]};
  enum ts_result result = TS_OK;
  for (unsigned salt = 1; collision && result == TS_OK; salt++) {
    qsort(refs, nstories, sizeof *refs, story_ref_cmp);
    collision = false;
    for (size_t i = 1; i < nstories && result == TS_OK; i++) {
      if (strcmp(refs[i].item->key, refs[i - 1].item->key))
        continue;
      collision = true;
      refs[i].item->key = story_key(w->arena, refs[i].url_key, salt);
      if (!refs[i].item->key)
        result = TS_ERR_NOMEM;
    }
    if (salt > 64 && collision)
      result = TS_ERR_INTERNAL;
  }
  free(refs);
  return result;
}

struct order {
  int64_t score;
  const char *key;
  uint32_t kind, index;
};

static int order_cmp(const void *a, const void *b)
{
  const struct order *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  return strcmp(x->key, y->key);
}

enum ts_result ts_dedupe_items(struct ts_batch *batch,
                               const struct ts_item *items, size_t nitems,
                               const struct ts_dedupe_options *opts,
                               struct ts_item **out, size_t *nout,
                               struct ts_dedupe_stats *stats,
                               struct ts_error *err)
{
  struct ts_dedupe_options defaults;
  ts_dedupe_options_init(&defaults);
  if (!opts || !opts->min_title_key)
    opts = &defaults;
  struct ts_dedupe_stats st = {.items_in = nitems};
  if (nitems >= NONE / 2)
    return ts_error_set(err, TS_ERR_LIMIT, "dedupe: %zu items is too many",
                        nitems);
  size_t npos = 0, nkeys_max = 0;
  for (size_t i = 0; i < nitems; i++) {
    npos += items[i].positions ? items[i].npositions : 0;
    nkeys_max += 2 + items[i].nmatch_keys;
  }
  size_t n1 = nitems ? nitems : 1;
  struct work w = {
    .items = items,
    .n = nitems,
    .arena = &batch->arena,
    .parent = malloc(n1 * sizeof(uint32_t)),
    .valid = malloc(n1),
    .url_key = calloc(n1, sizeof(const char *)),
    .key_start = malloc((nitems + 1) * sizeof(uint32_t)),
    .group_of = malloc(n1 * sizeof(uint32_t)),
    .item_group = malloc(n1 * sizeof(uint32_t)),
    .group_start = malloc((nitems + 1) * sizeof(uint32_t)),
    .members = malloc(n1 * sizeof(uint32_t)),
    .pos_scratch = malloc((npos ? npos : 1) *
                          sizeof(struct ts_item_position)),
    .key_scratch = malloc((nkeys_max ? nkeys_max : 1) * sizeof(char *)),
    .rep_url_key = calloc(n1, sizeof(const char *)),
  };
  struct ts_item *merged = NULL;
  struct order *order = NULL;
  struct ts_item *sorted = NULL;
  enum ts_result result = TS_ERR_NOMEM;
  if (!w.parent || !w.valid || !w.url_key || !w.key_start || !w.group_of ||
      !w.item_group || !w.group_start || !w.members || !w.pos_scratch || !w.key_scratch ||
      !w.rep_url_key)
    goto done;
  if ((result = find_groups(&w, opts, &st)) != TS_OK)
    goto done;
  size_t ngroups = list_groups(&w);
  result = TS_ERR_NOMEM;
  merged = malloc((ngroups ? ngroups : 1) * sizeof *merged);
  order = malloc((ngroups ? ngroups : 1) * sizeof *order);
  sorted = malloc((ngroups ? ngroups : 1) * sizeof *sorted);
  if (!merged || !order || !sorted)
    goto done;
  for (size_t g = 0; g < ngroups; g++)
    if ((result = merge_group(&w, g, &merged[g])) != TS_OK)
      goto done;
  if ((result = fix_collisions(&w, merged, ngroups)) != TS_OK)
    goto done;
  for (size_t g = 0; g < ngroups; g++) {
    order[g] = (struct order){merged[g].rank_score, merged[g].key,
                              (uint32_t)merged[g].kind, (uint32_t)g};
    if (merged[g].kind == TS_ITEM_VIDEO)
      st.videos++;
    else
      st.stories++;
  }
  qsort(order, ngroups, sizeof *order, order_cmp);
  for (size_t g = 0; g < ngroups; g++)
    sorted[g] = merged[order[g].index];
  st.items_out = ngroups;
  st.dropped = 0;
  for (size_t i = 0; i < nitems; i++)
    st.dropped += !w.valid[i];
  *out = sorted;
  *nout = ngroups;
  sorted = NULL;
  if (stats)
    *stats = st;
  result = TS_OK;

done:
  free(merged);
  free(order);
  free(sorted);
  work_free(&w);
  if (result != TS_OK)
    return ts_error_set(err, result, "dedupe: %s",
                        result == TS_ERR_NOMEM ? "out of memory"
                                               : "page keys keep colliding");
  return TS_OK;
}

enum ts_result ts_dedupe(struct ts_batch *batch, struct ts_item **out,
                         size_t *nout, struct ts_dedupe_stats *stats,
                         struct ts_error *err)
{
  return ts_dedupe_items(batch, batch->items, batch->nitems, NULL, out, nout,
                         stats, err);
}

enum ts_result ts_dedupe_merge(struct ts_batch *batch,
                               const struct ts_item *const *sets,
                               const size_t *counts, size_t nsets,
                               const struct ts_dedupe_options *opts,
                               struct ts_item **out, size_t *nout,
                               struct ts_dedupe_stats *stats,
                               struct ts_error *err)
{
  size_t total = 0;
  for (size_t i = 0; i < nsets; i++)
    total += counts[i];
  struct ts_item *all = malloc((total ? total : 1) * sizeof *all);
  if (!all)
    return ts_error_set(err, TS_ERR_NOMEM, "dedupe: out of memory");
  size_t k = 0;
  for (size_t i = 0; i < nsets; i++) {
    if (counts[i])
      memcpy(all + k, sets[i], counts[i] * sizeof *all);
    k += counts[i];
  }
  enum ts_result result =
    ts_dedupe_items(batch, all, total, opts, out, nout, stats, err);
  free(all);
  return result;
}

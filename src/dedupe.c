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
 *    members' positions, counts, times, keys and best thumbnail.
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
#include "util/bigmem.h"

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

/* What an ASCII byte becomes in a title key: letters in lower case,
 * digits as they are, anything else 0 (dropped). */
static const char title_key_byte[128] = {
  ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
  ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
  ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
  ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
  ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
  ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
  ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
  ['Z'] = 'z', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
  ['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i',
  ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
  ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's',
  ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
  ['y'] = 'y', ['z'] = 'z',
};

/* Lower-case ASCII letters and digits of the `n` bytes of an ASCII
 * title; stops at the first non-ASCII byte. Returns the bytes read (n
 * when the title is ASCII). Every byte is written and kept or not
 * without a branch: whether a byte is a letter is as good as random in
 * text. */
static size_t title_key_ascii(const unsigned char *s, size_t n, char *out,
                              size_t *len, uint32_t *weight)
{
  size_t o = 0, i = 0;
  for (; i < n; i++) {
    unsigned b = s[i];
    if (b >= 0x80)
      break;
    char k = title_key_byte[b];
    out[o] = k;
    o += k != 0;
  }
  *len = o;
  *weight = (uint32_t)o;
  return i;
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
  size_t n = strlen(title);
  char stack[512];
  char *buf = n < sizeof stack ? stack : malloc(n + 1);
  if (!buf)
    return TS_ERR_NOMEM;
  unsigned char *mapped = NULL;
  size_t len;
  uint32_t weight;
  if (title_key_ascii(s, n, buf, &len, &weight) < n) {
    /* Not ASCII: NFKC, case folding and the category filter. */
    if (buf != stack)
      free(buf);
    buf = stack;
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
static uint64_t hash_strn(const char *s, size_t n)
{
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

static uint64_t hash_str(const char *s)
{
  return hash_strn(s, strlen(s));
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

/* An open-addressing table of strings that live elsewhere: a slot holds
 * the high half of the string's hash and ref + 1 (0: empty), and the
 * string is found again as *(base + ref * stride). 8 bytes a slot keeps
 * the table of 100,000 ids within the L2 cache. */
struct slot {
  uint32_t hash;
  uint32_t ref1;
};

struct table {
  struct slot *slots;
  size_t mask;
  const char *base; /* the array of string pointers */
  size_t stride;
};

/* The slots a table of `count` strings needs: a power of two, at most
 * two thirds full. */
static size_t table_cap(size_t count)
{
  size_t cap = 16;
  while (cap < count + count / 2)
    cap *= 2;
  return cap;
}

/* t->slots, table_cap(count) zeroed slots, are the caller's. */
static void table_init(struct table *t, size_t count, const void *base,
                       size_t stride)
{
  t->mask = table_cap(count) - 1;
  t->base = base;
  t->stride = stride;
}

static const char *table_str(const struct table *t, uint32_t ref)
{
  const char *s;
  memcpy(&s, t->base + (size_t)ref * t->stride, sizeof s);
  return s;
}

/* The ref already holding the string `ref` points to, or NONE after
 * inserting `ref`; `h` is the string's hash_str. */
static uint32_t table_put_hashed(struct table *t, uint32_t ref, uint64_t h)
{
  const char *key = table_str(t, ref);
  uint32_t tag = (uint32_t)(h >> 32);
  size_t i = (size_t)h & t->mask;
  while (t->slots[i].ref1) {
    if (t->slots[i].hash == tag &&
        !strcmp(table_str(t, t->slots[i].ref1 - 1), key))
      return t->slots[i].ref1 - 1;
    i = (i + 1) & t->mask;
  }
  t->slots[i].hash = tag;
  t->slots[i].ref1 = ref + 1;
  return NONE;
}

static uint32_t table_put(struct table *t, uint32_t ref)
{
  return table_put_hashed(t, ref, hash_str(table_str(t, ref)));
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
 * representative takes part, so two items that tie are interchangeable.
 * The thumbnail does not: it is chosen on its own (thumb_cmp), and a
 * shard's merged item may carry another member's. */
static int rep_cmp(const struct ts_item *a, const struct ts_item *b)
{
  int c = pos_cmp(min_position(a), min_position(b));
  if (c)
    return c;
  const char *const fa[] = {a->id,      a->url,      a->title,
                            a->discussion_url, a->author, a->summary,
                            a->category, a->language, a->live};
  const char *const fb[] = {b->id,      b->url,      b->title,
                            b->discussion_url, b->author, b->summary,
                            b->category, b->language, b->live};
  for (size_t i = 0; i < sizeof fa / sizeof fa[0]; i++)
    if ((c = str_cmp(fa[i], fb[i])) != 0)
      return c;
  return 0;
}

/* The thumbnail order, best first: any before none, then the larger
 * known area, the wider, the taller, and the smaller URL: ties are decided
 * the same whichever member comes first (merging deduped shards must
 * give what deduping everything at once gives). A story that one API
 * sends without an image and another with one keeps the image. */
static int thumb_cmp(const struct ts_item *a, const struct ts_item *b)
{
  if (!a->thumbnail || !b->thumbnail)
    return !a->thumbnail - !b->thumbnail;
  int64_t area_a = (int64_t)a->thumb_width * a->thumb_height;
  int64_t area_b = (int64_t)b->thumb_width * b->thumb_height;
  if (area_a != area_b)
    return area_a > area_b ? -1 : 1;
  if (a->thumb_width != b->thumb_width)
    return a->thumb_width > b->thumb_width ? -1 : 1;
  if (a->thumb_height != b->thumb_height) /* one size unknown */
    return a->thumb_height > b->thumb_height ? -1 : 1;
  return strcmp(a->thumbnail, b->thumbnail);
}

static int key_qsort_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A group's few positions and keys are sorted by insertion, without
 * qsort's calls through a pointer; insertion is stable, as glibc's qsort
 * (a merge sort) is, so equal elements keep their order either way. */
#define FEW 32

static void sort_positions(struct ts_item_position *p, size_t n)
{
  if (n > FEW) {
    qsort(p, n, sizeof *p, pos_qsort_cmp);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    struct ts_item_position x = p[i];
    size_t j = i;
    for (; j && pos_cmp(&x, &p[j - 1]) < 0; j--)
      p[j] = p[j - 1];
    p[j] = x;
  }
}

static void sort_keys(const char **k, size_t n)
{
  if (n > FEW) {
    qsort(k, n, sizeof *k, key_qsort_cmp);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    const char *x = k[i];
    size_t j = i;
    for (; j && strcmp(x, k[j - 1]) < 0; j--)
      k[j] = k[j - 1];
    k[j] = x;
  }
}

/* ---- The merge ------------------------------------------------------ */

/* Asks the CPU to start loading memory that will be read soon: the
 * items' strings and positions are scattered over the arena and cold,
 * and the passes below know which ones they will need next. A no-op
 * where the builtin is missing. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

#define AHEAD 16

/* What step 4 decides for a group before its item is written, and its
 * place in the output order: k1 holds the score (descending) and the
 * kind, k2 the key's first 8 bytes in big-endian order, so most
 * comparisons never look at the key. Everything the item needs besides
 * its representative's fields is here, so that writing it reads no other
 * member. These records live in the tail of the output array itself (see
 * ts_dedupe_items). */
struct group {
  uint64_t k1, k2;
  const char *key; /* the page key */
  struct ts_item_position *positions;
  const char *source; /* positions[0].source */
  const char **keys;  /* stories: the match keys */
  uint32_t rep;       /* item index of the representative */
  uint32_t agg;       /* index into work.aggs, NONE for one member */
  uint32_t npositions, nkeys;
};

/* The counts and times of a group of several members: the largest known
 * counts, the earliest known time, the sum of `merged`, the best
 * thumbnail. */
struct aggregate {
  int64_t published, views, likes, comments, score, duration_s;
  uint32_t merged;
  uint32_t thumb; /* item index of the member with the best thumbnail */
};

/* Per item: for videos the id's first 8 bytes, for sorting; for stories
 * the URL key of the item's link. */
union item_key {
  uint64_t prefix;
  const char *url_key;
};

struct work {
  const struct ts_item *items;
  size_t n;
  size_t npositions; /* of all items */
  size_t nvideos;    /* video items */
  size_t nkeys;      /* room for the stories' match keys */
  struct ts_arena *arena;
  uint32_t *parent;
  uint8_t *valid;
  union item_key *ikey;  /* videos: prefix; stories: url_key */
  uint32_t *key_start;   /* stories: keys[key_start[i] .. key_start[i+1]) */
  const char **keys;
  uint32_t *key_item;    /* the item each key came from */
  uint64_t *key_hash;    /* hash_str of each key */
  uint32_t *group_of;    /* root -> group number */
  uint32_t *item_group;  /* item -> group number; shares parent's memory */
  uint32_t *group_start; /* members[group_start[g] .. group_start[g+1]) */
  uint32_t *members;
  struct group *groups;  /* in the output array: not freed here */
  struct aggregate *aggs; /* of the groups with several members */
  size_t naggs;
  struct ts_item_position *pos_scratch;
  const char **key_scratch;
  struct table videos, stories;
  /* Every array above but groups, in one block of about 120 bytes an
   * item, most of it touched once: in huge pages (ts_bigmem) that is a
   * handful of page faults instead of thousands. */
  void *block;
  size_t block_size;
};

/* The sizes the work arrays depend on. */
static void count_work(struct work *w)
{
  for (size_t i = 0; i < w->n; i++) {
    w->npositions += w->items[i].npositions;
    if (w->items[i].kind == TS_ITEM_VIDEO)
      w->nvideos++;
    else
      w->nkeys += 2 + w->items[i].nmatch_keys;
  }
}

/* The next `size` bytes of `block` at *at, on a cache line of their own;
 * NULL when only measuring (block NULL). */
static void *carve(unsigned char *block, size_t *at, size_t size)
{
  void *p = block ? block + *at : NULL;
  *at += (size + 63) & ~(size_t)63;
  return p;
}

/* Places the work arrays in `block` (NULL: only measures) and returns
 * the bytes they take; the tables' slots must be zero. A group of
 * several members has at least two, so there are at most n / 2 of them
 * to aggregate. */
static size_t work_layout(struct work *w, unsigned char *block)
{
  size_t at = 0, n1 = w->n ? w->n : 1, k1 = w->nkeys ? w->nkeys : 1;
  w->parent = carve(block, &at, n1 * sizeof *w->parent);
  w->valid = carve(block, &at, n1 * sizeof *w->valid);
  w->ikey = carve(block, &at, n1 * sizeof *w->ikey);
  w->key_start = carve(block, &at, (w->n + 1) * sizeof *w->key_start);
  w->keys = carve(block, &at, k1 * sizeof *w->keys);
  w->key_item = carve(block, &at, k1 * sizeof *w->key_item);
  w->key_hash = carve(block, &at, k1 * sizeof *w->key_hash);
  w->videos.slots =
    carve(block, &at, table_cap(w->nvideos) * sizeof *w->videos.slots);
  w->stories.slots =
    carve(block, &at, table_cap(w->nkeys) * sizeof *w->stories.slots);
  w->group_of = carve(block, &at, n1 * sizeof *w->group_of);
  w->group_start = carve(block, &at, (w->n + 1) * sizeof *w->group_start);
  w->members = carve(block, &at, n1 * sizeof *w->members);
  w->aggs = carve(block, &at, (w->n / 2 + 1) * sizeof *w->aggs);
  w->key_scratch = carve(block, &at, (w->nkeys + 2) * sizeof *w->key_scratch);
  w->pos_scratch =
    carve(block, &at, (w->npositions + 1) * sizeof *w->pos_scratch);
  return at;
}

static void work_free(struct work *w)
{
  ts_bigmem_free(w->block, w->block_size);
}

/* The first 8 bytes of a string, big-endian, zero-padded: comparing
 * these compares the strings' beginnings as strcmp would. */
static uint64_t prefix8(const char *s)
{
  uint64_t p = 0;
  for (int i = 0; i < 8; i++) {
    p <<= 8;
    if (*s)
      p |= (unsigned char)*s++;
  }
  return p;
}

/* A video id's validity (ts_normalize_video_id_ok), prefix8 and
 * hash_str, in one pass over it. */
static bool video_key(const char *id, uint64_t *prefix, uint64_t *hash)
{
  size_t n = ts_normalize_video_id_len(id);
  if (n == 0)
    return false;
  uint64_t p = 0;
  for (size_t i = 0; i < 8; i++)
    p = p << 8 | (i < n ? (unsigned char)id[i] : 0);
  *prefix = p;
  *hash = hash_strn(id, n);
  return true;
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

/* Steps 1 and 2, one pass over the items: each item's strings are read
 * once, while they are in the cache (prefetched AHEAD items ahead), and
 * its keys are hashed at once; they go into the tables LAG items later,
 * when the slots they hash to (random places in tables of a megabyte or
 * more) have been prefetched too. Items still go into the tables in
 * their order, as if each went in as soon as its keys were made. */
#define LAG 8

static enum ts_result find_groups(struct work *w,
                                  const struct ts_dedupe_options *opts,
                                  struct ts_dedupe_stats *st)
{
  table_init(&w->videos, w->nvideos, w->n ? &w->items[0].id : NULL,
             sizeof(struct ts_item));
  table_init(&w->stories, w->nkeys, w->keys, sizeof *w->keys);

  uint64_t id_hash[LAG]; /* videos: item i's at i % LAG */
  uint32_t k = 0;
  w->key_start[0] = 0;
  for (size_t step = 0; step < w->n + LAG; step++) {
    /* Item step - LAG into the tables (before item step reuses its
     * place in id_hash). */
    size_t i = step - LAG;
    if (step >= LAG && w->valid[i]) {
      if (w->items[i].kind == TS_ITEM_VIDEO) {
        uint32_t owner =
          table_put_hashed(&w->videos, (uint32_t)i, id_hash[i % LAG]);
        if (owner != NONE && unite(w->parent, owner, (uint32_t)i))
          st->by_id++;
      } else {
        for (uint32_t j = w->key_start[i]; j < w->key_start[i + 1]; j++) {
          uint32_t owner = table_put_hashed(&w->stories, j, w->key_hash[j]);
          if (owner != NONE &&
              unite(w->parent, w->key_item[owner], (uint32_t)i)) {
            if (strchr(w->keys[j], '/'))
              st->by_url++;
            else
              st->by_title++;
          }
        }
      }
    }
    /* Item step's keys, hashed, and their slots asked for. */
    i = step;
    if (i >= w->n)
      continue;
    const struct ts_item *it = &w->items[i];
    if (i + AHEAD < w->n) {
      const struct ts_item *ahead = &w->items[i + AHEAD];
      if (ahead->kind == TS_ITEM_VIDEO) {
        PREFETCH(ahead->id);
      } else {
        PREFETCH(ahead->url ? ahead->url : ahead->discussion_url);
        PREFETCH(ahead->title);
      }
    }
    w->parent[i] = (uint32_t)i;
    w->key_start[i + 1] = k;
    w->valid[i] = it->positions && it->npositions > 0;
    if (!w->valid[i])
      continue;
    if (it->kind == TS_ITEM_VIDEO) {
      uint64_t h;
      if (!video_key(it->id, &w->ikey[i].prefix, &h)) {
        w->valid[i] = 0;
        continue;
      }
      id_hash[i % LAG] = h;
      PREFETCH(&w->videos.slots[(size_t)h & w->videos.mask]);
      continue;
    }
    const char *link = it->url ? it->url : it->discussion_url;
    enum ts_result result =
      ts_normalize_url_key_ref(w->arena, link, &w->ikey[i].url_key);
    if (result != TS_OK)
      return result;
    if (!w->ikey[i].url_key) {
      w->valid[i] = 0; /* no link we can show */
      continue;
    }
    w->key_item[k] = (uint32_t)i;
    w->keys[k++] = w->ikey[i].url_key;
    const char *tk;
    result = ts_dedupe_title_key(w->arena, it->title, opts->min_title_key,
                                 &tk);
    if (result != TS_OK)
      return result;
    if (tk) {
      w->key_item[k] = (uint32_t)i;
      w->keys[k++] = tk;
    }
    for (uint32_t j = 0; j < it->nmatch_keys; j++)
      if (it->match_keys[j]) {
        w->key_item[k] = (uint32_t)i;
        w->keys[k++] = it->match_keys[j];
      }
    for (uint32_t j = w->key_start[i]; j < k; j++) {
      w->key_hash[j] = hash_str(w->keys[j]);
      PREFETCH(&w->stories.slots[(size_t)w->key_hash[j] & w->stories.mask]);
    }
    w->key_start[i + 1] = k;
  }
  return TS_OK;
}

/* Step 3; returns the number of groups. */
static size_t list_groups(struct work *w)
{
  size_t ngroups = 0;
  for (size_t i = 0; i < w->n; i++)
    w->group_of[i] = NONE;
  /* Every item's root first; parent[] then becomes item_group[]: an
   * entry is only overwritten after its root is known. */
  for (size_t i = 0; i < w->n; i++)
    if (w->valid[i])
      w->parent[i] = find(w->parent, (uint32_t)i);
  for (size_t i = 0; i < w->n; i++) {
    if (!w->valid[i])
      continue;
    uint32_t r = w->parent[i];
    if (w->group_of[r] == NONE)
      w->group_of[r] = (uint32_t)ngroups++;
  }
  for (size_t i = 0; i < w->n; i++)
    if (w->valid[i])
      w->item_group[i] = w->group_of[w->parent[i]];
  memset(w->group_start, 0, (ngroups + 1) * sizeof *w->group_start);
  for (size_t i = 0; i < w->n; i++)
    if (w->valid[i])
      w->group_start[w->item_group[i] + 1]++;
  for (size_t g = 0; g < ngroups; g++)
    w->group_start[g + 1] += w->group_start[g];
  /* group_of is not needed any more: reuse it as the fill cursors. */
  uint32_t *cursor = w->group_of;
  for (size_t g = 0; g < ngroups; g++)
    cursor[g] = w->group_start[g];
  for (size_t i = 0; i < w->n; i++)
    if (w->valid[i])
      w->members[cursor[w->item_group[i]]++] = (uint32_t)i;
  return ngroups;
}

/* k1 of a score and kind: higher scores first, then videos. */
#define SCORE_TOP ((UINT64_C(1) << 62) - 1)

static uint64_t order_k1(int64_t score, bool video)
{
  uint64_t v = score < 0 ? 0 : (uint64_t)score;
  if (v > SCORE_TOP)
    v = SCORE_TOP;
  return ((SCORE_TOP - v) << 1) | !video;
}

/* The score back from k1: a rank score is never negative, and below
 * 2^39 (at most 100 for each of fewer than 2^32 positions). */
static int64_t order_score(uint64_t k1)
{
  return (int64_t)(SCORE_TOP - (k1 >> 1));
}

/* Step 4a for group g: representative, positions, score, keys. */
static enum ts_result plan_group(struct work *w, size_t g, struct group *gr)
{
  const uint32_t *m = w->members + w->group_start[g];
  size_t count = w->group_start[g + 1] - w->group_start[g];
  uint32_t rep = m[0];
  for (size_t j = 1; j < count; j++)
    if (rep_cmp(&w->items[m[j]], &w->items[rep]) < 0)
      rep = m[j];
  const struct ts_item *r = &w->items[rep];
  gr->rep = rep;
  gr->agg = NONE;
  gr->positions = r->positions;
  gr->npositions = r->npositions;
  if (count > 1) {
    struct aggregate *a = &w->aggs[w->naggs];
    gr->agg = (uint32_t)w->naggs++;
    *a = (struct aggregate){TS_TIME_UNKNOWN, r->views,    r->likes,
                           r->comments,     r->score,    r->duration_s,
                           0,               rep};
    for (size_t j = 0; j < count; j++) {
      const struct ts_item *it = &w->items[m[j]];
      a->merged += it->merged ? it->merged : 1;
      if (thumb_cmp(it, &w->items[a->thumb]) < 0)
        a->thumb = m[j];
      if (it->published != TS_TIME_UNKNOWN &&
          (a->published == TS_TIME_UNKNOWN || it->published < a->published))
        a->published = it->published;
      if (it->views > a->views)
        a->views = it->views;
      if (it->likes > a->likes)
        a->likes = it->likes;
      if (it->comments > a->comments)
        a->comments = it->comments;
      if (it->score > a->score)
        a->score = it->score;
      if (it->duration_s > a->duration_s)
        a->duration_s = it->duration_s;
    }
  }
  if (count > 1 || r->npositions > 1) {
    size_t np = 0;
    for (size_t j = 0; j < count; j++) {
      const struct ts_item *it = &w->items[m[j]];
      memcpy(w->pos_scratch + np, it->positions,
             it->npositions * sizeof *it->positions);
      np += it->npositions;
    }
    sort_positions(w->pos_scratch, np);
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
    gr->positions = positions;
    gr->npositions = (uint32_t)u;
  }
  gr->source = gr->positions[0].source;
  int64_t score = ts_dedupe_rank_score(gr->positions, gr->npositions);
  bool video = r->kind == TS_ITEM_VIDEO;
  gr->k1 = order_k1(score, video);

  if (video) {
    gr->key = r->id;
    gr->k2 = w->ikey[rep].prefix;
    gr->keys = NULL;
    gr->nkeys = 0;
    return TS_OK;
  }
  gr->key = story_key(w->arena, w->ikey[rep].url_key, 0);
  if (!gr->key)
    return TS_ERR_NOMEM;
  gr->k2 = prefix8(gr->key);
  size_t nk = 0;
  for (size_t j = 0; j < count; j++)
    for (uint32_t k = w->key_start[m[j]]; k < w->key_start[m[j] + 1]; k++)
      w->key_scratch[nk++] = w->keys[k];
  sort_keys(w->key_scratch, nk);
  size_t u = 0;
  for (size_t j = 0; j < nk; j++)
    if (!u || strcmp(w->key_scratch[j], w->key_scratch[u - 1]))
      w->key_scratch[u++] = w->key_scratch[j];
  const char **keys = ts_arena_alloc(w->arena, (u ? u : 1) * sizeof *keys);
  if (!keys)
    return TS_ERR_NOMEM;
  memcpy(keys, w->key_scratch, u * sizeof *keys);
  gr->keys = keys;
  gr->nkeys = (uint32_t)u;
  return TS_OK;
}

/* Step 4b: a planned group's merged item into *o. */
static void write_group(const struct work *w, const struct group *gr,
                        struct ts_item *o)
{
  *o = w->items[gr->rep];
  o->positions = gr->positions;
  o->npositions = gr->npositions;
  o->source = gr->source;
  o->key = gr->key;
  o->rank_score = order_score(gr->k1);
  o->match_keys = gr->keys;
  o->nmatch_keys = gr->nkeys;
  if (gr->agg == NONE) {
    o->merged = o->merged ? o->merged : 1;
    return;
  }
  const struct aggregate *a = &w->aggs[gr->agg];
  o->merged = a->merged;
  o->published = a->published;
  o->views = a->views;
  o->likes = a->likes;
  o->comments = a->comments;
  o->score = a->score;
  o->duration_s = a->duration_s;
  const struct ts_item *t = &w->items[a->thumb];
  o->thumbnail = t->thumbnail;
  o->thumb_width = t->thumb_width;
  o->thumb_height = t->thumb_height;
}

struct story_ref {
  struct group *group;
  const char *url_key;
};

static int story_ref_cmp(const void *a, const void *b)
{
  const struct story_ref *x = a, *y = b;
  int c = strcmp(x->group->key, y->group->key);
  return c ? c : strcmp(x->url_key, y->url_key);
}

/* Step 5a: 64-bit page keys of distinct URL keys can collide, and two
 * pages must never share a file. The story with the smaller URL key keeps
 * the key, the others take salted ones, until all differ. */
static enum ts_result fix_collisions(struct work *w, size_t ngroups)
{
  size_t nstories = 0;
  for (size_t g = 0; g < ngroups; g++)
    nstories += w->groups[g].k1 & 1;
  /* The stories' key table is done with and has room: it was sized for
   * at least two keys per story item. */
  struct table seen = w->stories;
  seen.base = ngroups ? (const char *)&w->groups[0].key : NULL;
  seen.stride = sizeof(struct group);
  memset(seen.slots, 0, (seen.mask + 1) * sizeof *seen.slots);
  bool collision = false;
  for (size_t g = 0; g < ngroups && !collision; g++)
    if (w->groups[g].k1 & 1)
      collision = table_put(&seen, (uint32_t)g) != NONE;
  if (!collision)
    return TS_OK;

  struct story_ref *refs = malloc(nstories * sizeof *refs);
  if (!refs)
    return TS_ERR_NOMEM;
  size_t k = 0;
  for (size_t g = 0; g < ngroups; g++)
    if (w->groups[g].k1 & 1)
      refs[k++] = (struct story_ref){&w->groups[g],
                                     w->ikey[w->groups[g].rep].url_key};
  enum ts_result result = TS_OK;
  for (unsigned salt = 1; collision && result == TS_OK; salt++) {
    qsort(refs, nstories, sizeof *refs, story_ref_cmp);
    collision = false;
    for (size_t i = 1; i < nstories && result == TS_OK; i++) {
      if (strcmp(refs[i].group->key, refs[i - 1].group->key))
        continue;
      collision = true;
      refs[i].group->key = story_key(w->arena, refs[i].url_key, salt);
      if (!refs[i].group->key)
        result = TS_ERR_NOMEM;
      else
        refs[i].group->k2 = prefix8(refs[i].group->key);
    }
    if (salt > 64 && collision)
      result = TS_ERR_INTERNAL;
  }
  free(refs);
  return result;
}

static bool order_before(const struct group *a, const struct group *b)
{
  if (a->k1 != b->k1)
    return a->k1 < b->k1;
  if (a->k2 != b->k2)
    return a->k2 < b->k2;
  return strcmp(a->key, b->key) < 0;
}

/* Bottom-up merge sort: n log n in every case, no indirect calls. */
static void merge_sort(struct group *a, struct group *tmp, size_t n)
{
  struct group *src = a, *dst = tmp;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi)
        dst[k++] = order_before(&src[j], &src[i]) ? src[j++] : src[i++];
      while (i < mid)
        dst[k++] = src[i++];
      while (j < hi)
        dst[k++] = src[j++];
    }
    struct group *t = src;
    src = dst;
    dst = t;
  }
  if (src != a)
    memcpy(a, src, n * sizeof *a);
}

/* A record's place in the order, as one number, and the record. */
struct sort_pair {
  uint64_t key;
  uint64_t index;
};

static bool pair_before(const struct group *a, const struct sort_pair *x,
                        const struct sort_pair *y)
{
  return order_before(&a[x->index], &a[y->index]);
}

/* Puts n pairs whose numbers are equal in order_before's order: by
 * insertion when they are few (almost always one or two), else by a
 * bottom-up merge sort through `tmp` (room for n), so that many records
 * sharing a prefix (ids alike in their first 8 bytes) cost n log n. */
static void order_ties(const struct group *a, struct sort_pair *p,
                       struct sort_pair *tmp, size_t n)
{
  if (n <= 16) {
    for (size_t i = 1; i < n; i++) {
      struct sort_pair x = p[i];
      size_t j = i;
      for (; j && pair_before(a, &x, &p[j - 1]); j--)
        p[j] = p[j - 1];
      p[j] = x;
    }
    return;
  }
  struct sort_pair *src = p, *dst = tmp;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi)
        dst[k++] = pair_before(a, &src[j], &src[i]) ? src[j++] : src[i++];
      while (i < mid)
        dst[k++] = src[i++];
      while (j < hi)
        dst[k++] = src[j++];
    }
    struct sort_pair *t = src;
    src = dst;
    dst = t;
  }
  if (src != p)
    memcpy(p, src, n * sizeof *p);
}

/* Sorts the records of n groups by order_before. The records move once:
 * their keys are sorted as 16-byte pairs, by a radix sort on the top 40
 * bits of one 64-bit number per record (k1's offset from the smallest k1
 * in the top bits, as many of k2's top bits as fit below it), then
 * records with the same top 40 bits are put in order by order_before (a
 * few with equal prefixes), and the records are gathered into `tmp` (room
 * for n records) and copied back. `pairs` has room for 2n pairs. When k1
 * spreads over more than 32 bits (scores that big never happen) a merge
 * sort does it all. */
#define SORT_BITS 40
static void order_sort(struct group *a, struct group *tmp,
                       struct sort_pair *pairs, size_t n)
{
  if (n < 2)
    return;
  uint64_t lo = a[0].k1, hi = a[0].k1;
  for (size_t i = 1; i < n; i++) {
    lo = a[i].k1 < lo ? a[i].k1 : lo;
    hi = a[i].k1 > hi ? a[i].k1 : hi;
  }
  unsigned bits = 0;
  while (bits < 64 && (hi - lo) >> bits)
    bits++;
  if (bits > 32) {
    merge_sort(a, tmp, n);
    return;
  }
  /* Digits of 8 bits, least significant first; a digit every key shares
   * costs no pass. */
  struct sort_pair *src = pairs, *dst = pairs + n;
  size_t count[8][256];
  memset(count, 0, sizeof count);
  const unsigned low = 64 - SORT_BITS; /* bits left to the tie fix */
  for (size_t i = 0; i < n; i++) {
    uint64_t k2 = bits ? a[i].k2 >> bits : a[i].k2;
    uint64_t key = bits ? (a[i].k1 - lo) << (64 - bits) | k2 : k2;
    src[i] = (struct sort_pair){key >> low, i};
    for (unsigned d = 0; d < SORT_BITS / 8; d++)
      count[d][src[i].key >> (8 * d) & 0xFF]++;
  }
  for (unsigned d = 0; d < SORT_BITS / 8; d++) {
    if (count[d][src[0].key >> (8 * d) & 0xFF] == n)
      continue;
    size_t at = 0;
    for (unsigned v = 0; v < 256; v++) {
      size_t c = count[d][v];
      count[d][v] = at;
      at += c;
    }
    for (size_t i = 0; i < n; i++)
      dst[count[d][src[i].key >> (8 * d) & 0xFF]++] = src[i];
    struct sort_pair *t = src;
    src = dst;
    dst = t;
  }
  /* Runs of equal numbers: by order_before. */
  for (size_t i = 0; i < n;) {
    size_t end = i + 1;
    while (end < n && src[end].key == src[i].key)
      end++;
    if (end - i > 1)
      order_ties(a, src + i, dst + i, end - i);
    i = end;
  }
  for (size_t i = 0; i < n; i++)
    tmp[i] = a[src[i].index];
  memcpy(a, tmp, n * sizeof *a);
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
  struct work w = {.items = items, .n = nitems, .arena = &batch->arena};
  count_work(&w);
  w.block_size = work_layout(&w, NULL);
  w.block = ts_bigmem_alloc(w.block_size);
  struct ts_item *merged = NULL;
  enum ts_result result = TS_ERR_NOMEM;
  if (!w.block)
    goto done;
  work_layout(&w, w.block);
  if ((result = find_groups(&w, opts, &st)) != TS_OK)
    goto done;
  w.item_group = w.parent;
  size_t ngroups = list_groups(&w);
  size_t g1 = ngroups ? ngroups : 1;

  /* The scratch for any group's positions and keys (in the work block)
   * has room for all of them, of which only the largest group's ever
   * gets written (finding that group would read every member's item
   * again, in random order). */
  result = TS_ERR_NOMEM;
  merged = ts_bigmem_malloc(g1 * sizeof *merged);
  if (!merged)
    goto done;
  /* The output array is allocated now and holds the work of steps 4 and
   * 5 until its items are written, instead of two more large arrays:
   * the group records in its tail, the sort's scratch in its head.
   * With S the size of an item and R of a record, item k (at Sk) is
   * written after record k is read, and records j > k (at (S - R)G +
   * Rj) are never reached: S(k + 1) <= (S - R)G + R(k + 1) for every
   * k < G. Allocated storage may change type. */
  _Static_assert(2 * sizeof(struct group) <= sizeof(struct ts_item),
                 "the output array holds the records and the sort scratch");
  w.groups = (struct group *)(void *)((char *)merged +
                                      (sizeof(struct ts_item) -
                                       sizeof(struct group)) *
                                        g1);
  struct group *tmp = (struct group *)(void *)merged;
  for (size_t g = 0; g < ngroups; g++) {
    /* Every member's positions (read for the representative and the
     * merged list): the members' items are mostly in order. */
    if (g + AHEAD < ngroups)
      for (uint32_t j = w.group_start[g + AHEAD];
           j < w.group_start[g + AHEAD + 1]; j++)
        PREFETCH(items[w.members[j]].positions);
    if ((result = plan_group(&w, g, &w.groups[g])) != TS_OK)
      goto done;
    if (w.groups[g].k1 & 1)
      st.stories++;
    else
      st.videos++;
  }
  if ((result = fix_collisions(&w, ngroups)) != TS_OK)
    goto done;
  /* The sort's pairs go between the scratch at the head and the records
   * in the tail: 2 x 16 bytes a group of the S - 2R there are. */
  _Static_assert(2 * sizeof(struct sort_pair) + 2 * sizeof(struct group) <=
                   sizeof(struct ts_item),
                 "the output array holds the sort's pairs too");
  order_sort(w.groups, tmp,
             (struct sort_pair *)(void *)((char *)merged +
                                          sizeof(struct group) * g1),
             ngroups);

  /* Step 5b: each merged item written once, in its final place. */
  for (size_t k = 0; k < ngroups; k++) {
    if (k + AHEAD < ngroups) {
      const char *ahead = (const char *)&items[w.groups[k + AHEAD].rep];
      for (size_t line = 0; line < sizeof(struct ts_item); line += 64)
        PREFETCH(ahead + line);
    }
    struct group gr = w.groups[k];
    write_group(&w, &gr, &merged[k]);
  }
  st.items_out = ngroups;
  st.dropped = 0;
  for (size_t i = 0; i < nitems; i++)
    st.dropped += !w.valid[i];
  *out = merged;
  *nout = ngroups;
  merged = NULL;
  if (stats)
    *stats = st;
  result = TS_OK;

done:
  free(merged);
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

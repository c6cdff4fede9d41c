#include "fingerprint.h"
#include "util/grow.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define K1 UINT64_C(0x9e3779b97f4a7c15)
#define K2 UINT64_C(0xc2b2ae3d27d4eb4f)

static uint64_t mix(uint64_t h, uint64_t w, uint64_t k)
{
  h ^= w * k;
  h = (h << 31) | (h >> 33);
  h *= UINT64_C(0x94d049bb133111eb);
  return h ^ (h >> 29);
}

void ts_fingerprint_init(struct ts_fingerprint *fp)
{
  fp->a = UINT64_C(0x243f6a8885a308d3);
  fp->b = UINT64_C(0x13198a2e03707344);
}

/* One step of a stripe lane: the product of the word does not depend on
 * the lane, so the four lanes' multiplications overlap. */
static uint64_t lane(uint64_t v, uint64_t w)
{
  v += w * K2;
  v = (v << 31) | (v >> 33);
  return v * K1;
}

void ts_fingerprint_add(struct ts_fingerprint *fp, const void *data,
                        size_t len)
{
  const unsigned char *p = data;
  size_t n = len;
  if (n >= 32) {
    /* Long inputs (a snapshot is hundreds of kilobytes, hashed on every
     * run) go 32 bytes at a time through four independent lanes: one
     * chain of dependent multiplications was a quarter of the time an
     * unchanged run took. */
    uint64_t v[4] = {fp->a, fp->b, fp->a ^ K1, fp->b ^ K2};
    do {
      for (int i = 0; i < 4; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        v[i] = lane(v[i], w);
      }
      p += 32;
      n -= 32;
    } while (n >= 32);
    for (int i = 0; i < 4; i++) {
      fp->a = mix(fp->a, v[i], K1);
      fp->b = mix(fp->b, v[3 - i], K2);
    }
  }
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    fp->a = mix(fp->a, w, K1);
    fp->b = mix(fp->b, w, K2);
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  memcpy(&tail, p, n);
  fp->a = mix(fp->a, tail ^ ((uint64_t)len << 56), K1);
  fp->b = mix(fp->b, tail ^ (uint64_t)len, K2);
}

void ts_fingerprint_add_str(struct ts_fingerprint *fp, const char *s)
{
  ts_fingerprint_add(fp, s ? s : "", s ? strlen(s) : 0);
}

void ts_fingerprint_add_int(struct ts_fingerprint *fp, int64_t v)
{
  ts_fingerprint_add(fp, &v, sizeof v);
}

/* What a walk calls: `file` for every regular file and `folder` for every
 * folder under the top (either may be NULL), with its path from the top
 * (and, for a folder, its descriptor, open until the walk leaves it). */
struct walker {
  void (*file)(void *ctx, const char *rel, const struct stat *st);
  void (*folder)(void *ctx, const char *rel, int fd);
  void *ctx;
};

/* Walks the folder open as `fd` (closed here), in the order the folders
 * list their entries; `rel` is its path from the top (a buffer of
 * PATH_MAX bytes, `len` of them used). Names are looked at relative to
 * the folder's descriptor, folders are known by the listing's file type
 * without a stat of their own, and nothing is copied or sorted: walks
 * with a stat per file cost an unchanged run most of its time. */
static void walk(int fd, char *rel, size_t len, unsigned depth,
                 const struct walker *w)
{
  DIR *d = depth < 32 ? fdopendir(fd) : NULL;
  if (!d) {
    close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *name = e->d_name;
    if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
      continue;
    size_t nlen = strlen(name);
    if (len + 1 + nlen >= PATH_MAX)
      continue;
    size_t sub = len;
    if (sub)
      rel[sub++] = '/';
    memcpy(rel + sub, name, nlen + 1);
    bool is_dir = e->d_type == DT_DIR;
    if ((e->d_type == DT_REG && w->file) || e->d_type == DT_UNKNOWN) {
      /* DT_UNKNOWN: a file system that does not say; stat tells. */
      struct stat st;
      if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISREG(st.st_mode) && w->file)
          w->file(w->ctx, rel, &st);
        is_dir = S_ISDIR(st.st_mode);
      }
    }
    if (is_dir) {
      int child = openat(dirfd(d), name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) {
        if (w->folder)
          w->folder(w->ctx, rel, child);
        walk(child, rel, sub + nlen, depth + 1, w);
      }
    }
    rel[len] = '\0';
  }
  closedir(d);
}

/* The folder `dir` (followed if it is a link), open for a walk; -1 when
 * it is missing or not a folder. */
static int open_tree(const char *dir)
{
  return dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
}

static void walk_tree(int fd, const struct walker *w)
{
  char rel[PATH_MAX] = "";
  walk(fd, rel, 0, 0, w);
}

/* A tree's files in whatever order the folders list them: each file's
 * own fingerprint, summed lane by lane, so the order does not matter. */
struct tree_sum {
  struct ts_fingerprint sum;
  uint64_t files;
};

static void add_file_meta(void *ctx, const char *rel, const struct stat *st)
{
  struct tree_sum *t = ctx;
  struct ts_fingerprint fp;
  ts_fingerprint_init(&fp);
  ts_fingerprint_add_str(&fp, rel);
  int64_t meta[3] = {(int64_t)st->st_size, (int64_t)st->st_mtim.tv_sec,
                     (int64_t)st->st_mtim.tv_nsec};
  ts_fingerprint_add(&fp, meta, sizeof meta);
  t->sum.a += fp.a;
  t->sum.b += fp.b;
  t->files++;
}

void ts_fingerprint_add_tree(struct ts_fingerprint *fp, const char *dir)
{
  int fd = open_tree(dir);
  if (fd < 0) {
    ts_fingerprint_add_str(fp, "(no folder)");
    return;
  }
  ts_fingerprint_add_str(fp, dir);
  struct tree_sum t = {{0, 0}, 0};
  walk_tree(fd, &(struct walker){add_file_meta, NULL, &t});
  uint64_t total[3] = {t.sum.a, t.sum.b, t.files};
  ts_fingerprint_add(fp, total, sizeof total);
}

void ts_fingerprint_hex(const struct ts_fingerprint *fp, char out[33])
{
  snprintf(out, 33, "%016llx%016llx", (unsigned long long)fp->a,
           (unsigned long long)fp->b);
}

/* Folder names collected by a walk, each folder marked on the way when
 * `mark` (see ts_fingerprint_folders). */
struct folder_list {
  char **names;
  size_t n, cap;
  bool failed;
  bool mark;
  struct timespec times[2]; /* for futimens: access, modification */
};

static void collect_folder(void *ctx, const char *rel, int fd)
{
  struct folder_list *l = ctx;
  if (l->failed)
    return;
  /* Through the folder's own descriptor, opened without following links
   * at every step of the walk: never a folder outside the tree. */
  if (l->mark && futimens(fd, l->times) != 0) {
    l->failed = true;
    return;
  }
  if (!ts_grow(&l->names, &l->cap, l->n + 1, sizeof *l->names) ||
      !(l->names[l->n] = strdup(rel)))
    l->failed = true;
  else
    l->n++;
}

/* The times a mark gives a folder, for futimens. A second ago: every
 * change from now on, whatever the resolution of the file system's clock,
 * stamps a folder with a later time. */
static void mark_times(struct timespec times[2])
{
  clock_gettime(CLOCK_REALTIME, &times[1]);
  times[1].tv_sec -= 1;
  times[0] = (struct timespec){0, UTIME_OMIT}; /* access time: leave it */
}

char **ts_fingerprint_folders(const char *dir, bool mark, size_t *n)
{
  *n = 0;
  int fd = open_tree(dir);
  if (fd < 0)
    return NULL;
  struct folder_list l = {.mark = mark};
  mark_times(l.times);
  collect_folder(&l, "", fd); /* the top first */
  walk_tree(fd, &(struct walker){NULL, collect_folder, &l});
  if (l.failed) {
    for (size_t i = 0; i < l.n; i++)
      free(l.names[i]);
    free(l.names);
    return NULL;
  }
  *n = l.n;
  return l.names;
}

/* Marks folder `rel` of the tree open as `top`, reached one name at a
 * time without following a link, as a walk would. */
static bool mark_folder(int top, const char *rel,
                        const struct timespec times[2])
{
  int fd = top;
  bool ok = true;
  const char *name = rel;
  while (ok && *name) {
    char part[NAME_MAX + 1];
    size_t len = strcspn(name, "/");
    if (len == 0 || len > NAME_MAX) {
      ok = false;
      break;
    }
    memcpy(part, name, len);
    part[len] = '\0';
    int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                    O_CLOEXEC);
    if (fd != top)
      close(fd);
    fd = next;
    ok = fd >= 0;
    name += len + (name[len] == '/');
  }
  ok = ok && futimens(fd, times) == 0;
  if (fd >= 0 && fd != top)
    close(fd);
  return ok;
}

bool ts_fingerprint_mark_folders(const char *dir, const char *const *names,
                                 size_t n)
{
  int fd = open_tree(dir);
  if (fd < 0)
    return false;
  struct timespec times[2];
  mark_times(times);
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++)
    ok = mark_folder(fd, names[i], times);
  close(fd);
  return ok;
}

bool ts_fingerprint_add_folders(struct ts_fingerprint *fp, const char *dir,
                                const char *const *names, size_t n)
{
  int fd = open_tree(dir);
  if (fd < 0)
    return false;
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++) {
    struct stat st;
    ok = (names[i][0] ? fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW)
                      : fstat(fd, &st)) == 0 &&
         S_ISDIR(st.st_mode);
    if (ok) {
      ts_fingerprint_add_str(fp, names[i]);
      int64_t meta[6] = {(int64_t)st.st_dev,         (int64_t)st.st_ino,
                         (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                         (int64_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
      ts_fingerprint_add(fp, meta, sizeof meta);
    }
  }
  close(fd);
  return ok;
}

bool ts_fingerprint_folders_hex(const char *dir, const char *const *names,
                                size_t n, char hex[33])
{
  struct ts_fingerprint fp;
  ts_fingerprint_init(&fp);
  if (!ts_fingerprint_add_folders(&fp, dir, names, n))
    return false;
  ts_fingerprint_hex(&fp, hex);
  return true;
}

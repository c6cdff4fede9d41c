#include "fingerprint.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

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

void ts_fingerprint_add(struct ts_fingerprint *fp, const void *data,
                        size_t len)
{
  const unsigned char *p = data;
  size_t n = len;
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

/* Calls `fn` for every regular file under the folder open as `fd`
 * (closed here), in name order; `rel` is its path from the top (a buffer
 * of PATH_MAX bytes, `len` of them used). Names are looked at relative
 * to the folder's descriptor: a site's tree is hundreds of files, and
 * resolving each one's whole path again was most of the time a run on
 * unchanged data took. */
static void walk(int fd, char *rel, size_t len, unsigned depth,
                 void (*fn)(void *, const char *, const struct stat *),
                 void *ctx)
{
  size_t n = 0;
  char **names = depth < 32 ? ts_fs_list_dir_fd(fd, true, &n) : NULL;
  for (size_t i = 0; i < n; i++) {
    size_t nlen = strlen(names[i]);
    if (len + 1 + nlen >= PATH_MAX)
      continue;
    size_t sub = len;
    if (sub)
      rel[sub++] = '/';
    memcpy(rel + sub, names[i], nlen + 1);
    struct stat st;
    if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode)) {
        int child = openat(fd, names[i],
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child >= 0)
          walk(child, rel, sub + nlen, depth + 1, fn, ctx);
      } else if (S_ISREG(st.st_mode)) {
        fn(ctx, rel, &st);
      }
    }
    rel[len] = '\0';
  }
  ts_fs_free_names(names, n);
  close(fd);
}

/* The folder `dir` (followed if it is a link), open for a walk; -1 when
 * it is missing or not a folder. */
static int open_tree(const char *dir)
{
  return dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
}

static void walk_tree(int fd,
                      void (*fn)(void *, const char *, const struct stat *),
                      void *ctx)
{
  char rel[PATH_MAX] = "";
  walk(fd, rel, 0, 0, fn, ctx);
}

static void add_file_meta(void *ctx, const char *rel, const struct stat *st)
{
  struct ts_fingerprint *fp = ctx;
  ts_fingerprint_add_str(fp, rel);
  ts_fingerprint_add_int(fp, (int64_t)st->st_size);
  ts_fingerprint_add_int(fp, (int64_t)st->st_mtim.tv_sec);
  ts_fingerprint_add_int(fp, (int64_t)st->st_mtim.tv_nsec);
}

void ts_fingerprint_add_tree(struct ts_fingerprint *fp, const char *dir)
{
  int fd = open_tree(dir);
  if (fd < 0) {
    ts_fingerprint_add_str(fp, "(no folder)");
    return;
  }
  ts_fingerprint_add_str(fp, dir);
  walk_tree(fd, add_file_meta, fp);
}

void ts_fingerprint_hex(const struct ts_fingerprint *fp, char out[33])
{
  snprintf(out, 33, "%016llx%016llx", (unsigned long long)fp->a,
           (unsigned long long)fp->b);
}

struct tally {
  uint64_t files, bytes;
};

static void count_file(void *ctx, const char *rel, const struct stat *st)
{
  (void)rel;
  struct tally *t = ctx;
  t->files++;
  t->bytes += (uint64_t)st->st_size;
}

bool ts_fingerprint_tree_size(const char *dir, uint64_t *files,
                              uint64_t *bytes)
{
  int fd = open_tree(dir);
  if (fd < 0)
    return false;
  struct tally t = {0, 0};
  walk_tree(fd, count_file, &t);
  *files = t.files;
  *bytes = t.bytes;
  return true;
}

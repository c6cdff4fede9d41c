#include "util/fs.h"
#include "util/grow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens `path` for reading and fills *st; -1 (with the error set) when it
 * cannot be opened or is a folder. */
static int open_read(const char *path, struct stat *st, enum ts_result *r,
                     struct ts_error *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *r = ts_error_set(err, errno == ENOENT ? TS_ERR_NOTFOUND : TS_ERR_IO,
                      "%s: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, st) != 0 || S_ISDIR(st->st_mode)) {
    int e = S_ISDIR(st->st_mode) ? EISDIR : errno;
    close(fd);
    *r = ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(e));
    return -1;
  }
  return fd;
}

/* ts_fs_read on `fd`, open as `path` (closed here). */
static enum ts_result read_open(int fd, const struct stat *st,
                                const char *path, size_t max, char **out,
                                size_t *len, struct ts_error *err)
{
  /* st_size is a hint only: the file may grow while we read it. */
  size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : 4096;
  if (cap > max + 1)
    cap = max + 1;
  char *data = malloc(cap + 1);
  size_t used = 0;
  enum ts_result result = TS_OK;
  while (data) {
    if (used == cap) {
      if (cap > max) {
        result = ts_error_set(err, TS_ERR_LIMIT,
                              "%s: larger than the limit of %zu bytes", path,
                              max);
        break;
      }
      size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      char *p = realloc(data, ncap + 1);
      if (!p) {
        free(data);
        data = NULL;
        break;
      }
      data = p;
      cap = ncap;
    }
    ssize_t n = read(fd, data + used, cap - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      result = ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    used += (size_t)n;
  }
  close(fd);
  if (!data)
    return ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
  if (result == TS_OK && used > max)
    result = ts_error_set(err, TS_ERR_LIMIT,
                          "%s: larger than the limit of %zu bytes", path, max);
  if (result != TS_OK) {
    free(data);
    return result;
  }
  data[used] = '\0';
  *out = data;
  if (len)
    *len = used;
  return TS_OK;
}

enum ts_result ts_fs_read(const char *path, size_t max, char **out,
                          size_t *len, struct ts_error *err)
{
  struct stat st;
  enum ts_result r = TS_OK;
  int fd = open_read(path, &st, &r, err);
  return fd < 0 ? r : read_open(fd, &st, path, max, out, len, err);
}

enum ts_result ts_fs_map(const char *path, size_t max, struct ts_fs_map *out,
                         struct ts_error *err)
{
  *out = (struct ts_fs_map){NULL, 0, false};
  struct stat st;
  enum ts_result r = TS_OK;
  int fd = open_read(path, &st, &r, err);
  if (fd < 0)
    return r;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    if ((uint64_t)st.st_size > max) {
      close(fd);
      return ts_error_set(err, TS_ERR_LIMIT,
                          "%s: larger than the limit of %zu bytes", path,
                          max);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      close(fd);
      *out = (struct ts_fs_map){p, (size_t)st.st_size, true};
      return TS_OK;
    }
  }
  /* Read from the descriptor already open: a named pipe opened twice
   * would lose what its writer sent to the first. */
  char *data;
  size_t len;
  r = read_open(fd, &st, path, max, &data, &len, err);
  if (r == TS_OK)
    *out = (struct ts_fs_map){data, len, false};
  return r;
}

void ts_fs_unmap(struct ts_fs_map *m)
{
  if (m->mapped)
    munmap((void *)m->data, m->len);
  else
    free((char *)m->data);
  *m = (struct ts_fs_map){NULL, 0, false};
}

enum ts_result ts_fs_stage(const char *path, const void *data, size_t len,
                           char **staged, struct ts_error *err)
{
  *staged = NULL;
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp)
    return ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
  snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    enum ts_result r = ts_error_set(err, TS_ERR_IO, "%s: %s", path,
                                    strerror(errno));
    free(tmp);
    return r;
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    p += n;
    left -= (size_t)n;
  }
  int saved = errno;
  /* mkstemp creates 0600; published files must be world-readable. */
  if (left == 0 && fchmod(fd, 0644) != 0)
    saved = errno, left = 1;
  if (close(fd) != 0 && left == 0)
    saved = errno, left = 1;
  if (left != 0) {
    unlink(tmp);
    free(tmp);
    return ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(saved));
  }
  *staged = tmp;
  return TS_OK;
}

enum ts_result ts_fs_write_atomic(const char *path, const void *data,
                                  size_t len, struct ts_error *err)
{
  char *tmp;
  enum ts_result r = ts_fs_stage(path, data, len, &tmp, err);
  if (r == TS_OK && rename(tmp, path) != 0) {
    r = ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return r;
}

bool ts_fs_same_bytes(int fd, const void *data, size_t len)
{
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (unsigned long long)st.st_size != (unsigned long long)len)
    return false;
  const unsigned char *c = data;
  unsigned char buf[64 * 1024];
  size_t at = 0;
  while (at < len) {
    ssize_t n = pread(fd, buf, sizeof buf, (off_t)at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || (size_t)n > len - at || memcmp(buf, c + at, (size_t)n))
      return false;
    at += (size_t)n;
  }
  return true;
}

static struct ts_fs_id id_from(const struct stat *st)
{
  return (struct ts_fs_id){(unsigned long long)st->st_dev,
                           (unsigned long long)st->st_ino, true};
}

struct ts_fs_id ts_fs_id_of(int fd)
{
  struct stat st;
  return fstat(fd, &st) == 0 ? id_from(&st) : (struct ts_fs_id){0, 0, false};
}

struct ts_fs_id ts_fs_id_at(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0 ? id_from(&st)
                               : (struct ts_fs_id){0, 0, false};
}

/* Linked under a temporary name first, and the link checked, so that a
 * file put in its place meanwhile is never what `path` gets. */
bool ts_fs_link_id(const char *existing, struct ts_fs_id id, size_t len,
                   const char *path)
{
  char tmp[PATH_MAX + 32];
  if (!id.known ||
      snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
          (int)sizeof tmp)
    return false;
  unlink(tmp); /* a leftover of a run that died between the two steps */
  if (link(existing, tmp) != 0)
    return false;
  struct stat linked;
  if (lstat(tmp, &linked) != 0 || !S_ISREG(linked.st_mode) ||
      (unsigned long long)linked.st_dev != id.dev ||
      (unsigned long long)linked.st_ino != id.ino ||
      (unsigned long long)linked.st_size != (unsigned long long)len ||
      rename(tmp, path) != 0) {
    unlink(tmp);
    return false;
  }
  /* rename does nothing when `path` already is a link to the same file,
   * and leaves `tmp` behind. */
  unlink(tmp);
  return true;
}

bool ts_fs_link_same(const char *existing, const void *data, size_t len,
                     const char *path)
{
  int fd = open(existing, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return false;
  struct ts_fs_id compared = {0, 0, false};
  if (ts_fs_same_bytes(fd, data, len))
    compared = ts_fs_id_of(fd);
  close(fd);
  return ts_fs_link_id(existing, compared, len, path);
}

enum ts_result ts_fs_mkdirs(const char *path, struct ts_error *err)
{
  /* Usually the parent is there: one call, not one per path segment
   * (a run asks for its folders a dozen times). */
  if (mkdir(path, 0755) == 0)
    return TS_OK;
  if (errno != ENOENT) {
    if (errno != EEXIST)
      return ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
    if (!ts_fs_is_dir(path))
      return ts_error_set(err, TS_ERR_IO, "%s: exists and is not a folder",
                          path);
    return TS_OK;
  }
  size_t n = strlen(path);
  char *dir = malloc(n + 1);
  if (!dir)
    return ts_error_set(err, TS_ERR_NOMEM, "%s: out of memory", path);
  memcpy(dir, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (dir[i] != '/' && dir[i] != '\0')
      continue;
    char saved = dir[i];
    dir[i] = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
      enum ts_result r = ts_error_set(err, TS_ERR_IO, "%s: %s", dir,
                                      strerror(errno));
      free(dir);
      return r;
    }
    dir[i] = saved;
  }
  free(dir);
  if (!ts_fs_is_dir(path))
    return ts_error_set(err, TS_ERR_IO, "%s: exists and is not a folder",
                        path);
  return TS_OK;
}

bool ts_fs_is_dir(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int compare_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in `d`, which is closed. */
static char **list_names(DIR *d, bool hidden, size_t *n)
{
  char **names = NULL;
  size_t cap = 0;
  bool ok = true;
  struct dirent *e;
  while (ok && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
        (!hidden && e->d_name[0] == '.'))
      continue;
    if (!ts_grow(&names, &cap, *n + 1, sizeof *names)) {
      ok = false;
      break;
    }
    size_t len = strlen(e->d_name) + 1;
    if (!(names[*n] = malloc(len)))
      ok = false;
    else
      memcpy(names[(*n)++], e->d_name, len);
  }
  closedir(d);
  if (!ok) {
    ts_fs_free_names(names, *n);
    *n = 0;
    return NULL;
  }
  ts_fs_sort_names(names, *n);
  return names;
}

char **ts_fs_list_dir(const char *dir, bool hidden, size_t *n)
{
  *n = 0;
  DIR *d = opendir(dir);
  return d ? list_names(d, hidden, n) : NULL;
}

void ts_fs_sort_names(char **names, size_t n)
{
  if (n > 1)
    qsort(names, n, sizeof *names, compare_names);
}

void ts_fs_free_names(char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

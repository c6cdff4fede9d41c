/* renameat2 and RENAME_EXCHANGE are GNU extensions (Linux 3.15+). */
#define _GNU_SOURCE
#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/grow.h"

/* A file of the old tree that the new one keeps: the output folder's own
 * .gitignore (a repository that commits `site/.gitignore` to ignore the
 * generated pages must not see it deleted by every run). */
#define KEPT ".gitignore"

struct ts_publish {
  /* Set by _begin and read-only until _commit or _abort. */
  char *out;    /* the output folder */
  char *tmp;    /* the new tree, once created */
  bool old_exists;
  const struct ts_log *log;
  /* Everything below is guarded by `lock` while files are added: several
   * threads may add files at once, and only the bookkeeping is under the
   * lock, never the reads and writes of file contents. */
  mtx_t lock;
  bool tmp_created;
  /* Paths of the new tree: an open-addressing set (for finding files to
   * remove) plus, until the new tree exists, the list of files verified
   * identical (to link once it does). */
  char **set;
  size_t set_cap, set_count;
  char **verified;
  size_t nverified, verified_cap;
  char *dirs[64]; /* folders made in the new tree, relative to it */
  int dir_fds[64]; /* each open (or -1), for creating files in it */
  size_t ndirs;
  bool untracked;  /* a folder was made that `dirs` has no room for */
  int root_fd;     /* the new tree's top folder, open (or -1) */
  struct ts_publish_stats stats;
};

static char *dup_str(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}

bool ts_publish_path_ok(const char *p)
{
  if (!*p || *p == '/' || strlen(p) > 1024)
    return false;
  const char *seg = p;
  for (const char *c = p;; c++) {
    if (*c == '/' || *c == '\0') {
      size_t n = (size_t)(c - seg);
      if (n == 0 || (n == 1 && seg[0] == '.') ||
          (n == 2 && seg[0] == '.' && seg[1] == '.') || n > 255)
        return false;
      if (*c == '\0')
        return true;
      seg = c + 1;
      continue;
    }
    unsigned char ch = (unsigned char)*c;
    bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
                ch == '_' || ch == '@' || ch == '+';
    if (!safe)
      return false;
  }
}

/* ---- the path set ------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
  uint64_t h = UINT64_C(14695981039346656037);
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
  return h;
}

/* Inserts `path`; false when it was there already (or out of memory, with
 * *nomem set). */
static bool set_add(struct ts_publish *p, const char *path, bool *nomem)
{
  *nomem = false;
  if ((p->set_count + 1) * 2 > p->set_cap) {
    size_t ncap = p->set_cap ? p->set_cap * 2 : 1024;
    char **n = calloc(ncap, sizeof *n);
    if (!n)
      return *nomem = true, false;
    for (size_t i = 0; i < p->set_cap; i++) {
      if (!p->set[i])
        continue;
      size_t j = hash_str(p->set[i]) & (ncap - 1);
      while (n[j])
        j = (j + 1) & (ncap - 1);
      n[j] = p->set[i];
    }
    free(p->set);
    p->set = n;
    p->set_cap = ncap;
  }
  size_t j = hash_str(path) & (p->set_cap - 1);
  while (p->set[j]) {
    if (!strcmp(p->set[j], path))
      return false;
    j = (j + 1) & (p->set_cap - 1);
  }
  if (!(p->set[j] = dup_str(path)))
    return *nomem = true, false;
  p->set_count++;
  return true;
}

static bool set_has(const struct ts_publish *p, const char *path)
{
  if (!p->set_cap)
    return false;
  size_t j = hash_str(path) & (p->set_cap - 1);
  while (p->set[j]) {
    if (!strcmp(p->set[j], path))
      return true;
    j = (j + 1) & (p->set_cap - 1);
  }
  return false;
}

/* ---- file system helpers ----------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(const char *path)
{
  nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/* Creates the folders above `rel` inside the new tree; *dir_fd gets the
 * one `rel` lies in, open (-1 when it is not kept open: create by path).
 * Under the lock. A site has a handful of folders and pages of several
 * kinds arrive interleaved, so the folders already made are remembered,
 * open (a few dozen; past that, ts_fs_mkdirs answers): files are created
 * relative to their folder, and the kernel does not resolve the whole
 * path again for each of a site's hundreds of files. */
static enum ts_result make_parents(struct ts_publish *p, const char *rel,
                                   int *dir_fd, struct ts_error *err)
{
  const char *slash = strrchr(rel, '/');
  *dir_fd = -1;
  if (!slash) {
    *dir_fd = p->root_fd;
    return TS_OK;
  }
  size_t len = (size_t)(slash - rel);
  for (size_t i = 0; i < p->ndirs; i++)
    if (strlen(p->dirs[i]) == len && !memcmp(p->dirs[i], rel, len)) {
      *dir_fd = p->dir_fds[i];
      return TS_OK;
    }
  char dir[PATH_MAX];
  int n = snprintf(dir, sizeof dir, "%s/%.*s", p->tmp, (int)len, rel);
  if (n < 0 || (size_t)n >= sizeof dir)
    return ts_error_set(err, TS_ERR_IO, "%s: path too long", rel);
  enum ts_result r = ts_fs_mkdirs(dir, err);
  if (r == TS_OK && p->ndirs < sizeof p->dirs / sizeof p->dirs[0] &&
      (p->dirs[p->ndirs] = malloc(len + 1))) {
    memcpy(p->dirs[p->ndirs], rel, len);
    p->dirs[p->ndirs][len] = '\0';
    *dir_fd = p->dir_fds[p->ndirs++] =
        open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } else if (r == TS_OK) {
    p->untracked = true;
  }
  return r;
}

/* Creates `name` in folder `dir` (AT_FDCWD: `name` is a path) with `len`
 * bytes of `data`; it must not exist yet. `path` names it in errors. *id,
 * unless `id` is NULL, gets the new file's identity. */
static enum ts_result write_file_at(int dir, const char *name,
                                    const char *path, const void *data,
                                    size_t len, struct ts_fs_id *id,
                                    struct ts_error *err)
{
  int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
  const char *c = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, c, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      int e = errno;
      close(fd);
      return ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(e));
    }
    c += w;
    left -= (size_t)w;
  }
  if (id)
    *id = ts_fs_id_of(fd);
  if (close(fd) != 0)
    return ts_error_set(err, TS_ERR_IO, "%s: %s", path, strerror(errno));
  return TS_OK;
}

static enum ts_result write_file(const char *path, const void *data,
                                 size_t len, struct ts_fs_id *id,
                                 struct ts_error *err)
{
  return write_file_at(AT_FDCWD, path, path, data, len, id, err);
}

/* The new tree gets the previous tree's file: a hard link, or a copy
 * where links are not possible. Its folder must exist. *id, unless `id`
 * is NULL, gets the identity of the file the new tree holds. */
static enum ts_result link_old(const struct ts_publish *p, const char *rel,
                               struct ts_fs_id *id, struct ts_error *err)
{
  char from[2 * PATH_MAX], to[2 * PATH_MAX];
  snprintf(from, sizeof from, "%s/%s", p->out, rel);
  snprintf(to, sizeof to, "%s/%s", p->tmp, rel);
  if (link(from, to) == 0) {
    if (id)
      *id = ts_fs_id_at(to);
    return TS_OK;
  }
  char *data;
  size_t len;
  enum ts_result r = ts_fs_read(from, SIZE_MAX / 2, &data, &len, err);
  if (r != TS_OK)
    return r;
  r = write_file(to, data, len, id, err);
  free(data);
  return r;
}

/* Creates the new tree and links the files verified so far into it.
 * Under the lock. */
static enum ts_result ensure_tmp(struct ts_publish *p, struct ts_error *err)
{
  if (p->tmp_created)
    return TS_OK;
  if (mkdir(p->tmp, 0755) != 0)
    return ts_error_set(err, TS_ERR_IO, "%s: %s", p->tmp, strerror(errno));
  p->tmp_created = true;
  p->root_fd = open(p->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  for (size_t i = 0; i < p->nverified; i++) {
    int dir_fd;
    enum ts_result r = make_parents(p, p->verified[i], &dir_fd, err);
    if (r == TS_OK)
      r = link_old(p, p->verified[i], NULL, err);
    if (r != TS_OK)
      return r;
  }
  return TS_OK;
}

/* Whether the previous tree holds exactly these bytes at `rel`. */
static bool same_as_old(const struct ts_publish *p, const char *rel,
                        const void *data, size_t len)
{
  if (!p->old_exists)
    return false;
  char path[2 * PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", p->out, rel);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return false;
  bool same = ts_fs_same_bytes(fd, data, len);
  close(fd);
  return same;
}

/* ---- the public functions ---------------------------------------------- */

/* Removes ".NAME.tmp-PID-*" folders whose process is gone. */
static void remove_leftovers(const char *parent, const char *base)
{
  DIR *d = opendir(parent);
  if (!d)
    return;
  char prefix[NAME_MAX + 8];
  snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
  size_t plen = strlen(prefix);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, plen) != 0)
      continue;
    long pid = strtol(e->d_name + plen, NULL, 10);
    if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
      continue; /* another run is using it */
    char path[PATH_MAX + NAME_MAX + 2];
    snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
    remove_tree(path);
  }
  closedir(d);
}

enum ts_result ts_publish_begin(const char *out_dir, const struct ts_log *log,
                                struct ts_publish **out, struct ts_error *err)
{
  size_t n = strlen(out_dir);
  while (n > 1 && out_dir[n - 1] == '/')
    n--;
  if (n == 0 || n >= PATH_MAX - 64)
    return ts_error_set(err, TS_ERR_CONFIG, "output folder \"%s\" is not "
                        "usable", out_dir);
  struct ts_publish *p = calloc(1, sizeof *p);
  if (!p || !(p->out = malloc(n + 1)) || !(p->tmp = malloc(PATH_MAX)) ||
      mtx_init(&p->lock, mtx_plain) != thrd_success) {
    if (p) {
      free(p->out);
      free(p->tmp);
    }
    free(p);
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  }
  p->root_fd = -1; /* created with the new tree (ensure_tmp) */
  memcpy(p->out, out_dir, n);
  p->out[n] = '\0';
  p->log = log;
  const char *slash = strrchr(p->out, '/');
  char parent[PATH_MAX];
  const char *base = slash ? slash + 1 : p->out;
  if (slash)
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - p->out),
             slash == p->out ? "/" : p->out);
  else
    snprintf(parent, sizeof parent, ".");
  if (!strcmp(base, ".") || !strcmp(base, "..")) {
    ts_publish_abort(p);
    return ts_error_set(err, TS_ERR_CONFIG, "output folder \"%s\": name a "
                        "folder of its own (it is replaced on every run)",
                        out_dir);
  }
  enum ts_result r = ts_fs_mkdirs(parent, err);
  if (r != TS_OK) {
    ts_publish_abort(p);
    return r;
  }
  remove_leftovers(parent, base);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char tmp[2 * PATH_MAX + 64];
  int tn = snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%ld-%lx", parent, base,
                    (long)getpid(), (unsigned long)ts.tv_nsec);
  if (tn < 0 || tn >= PATH_MAX) {
    ts_publish_abort(p);
    return ts_error_set(err, TS_ERR_CONFIG, "%s: path too long", out_dir);
  }
  memcpy(p->tmp, tmp, (size_t)tn + 1);
  struct stat st;
  if (lstat(p->out, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      ts_publish_abort(p);
      return ts_error_set(err, TS_ERR_IO, "%s: exists and is not a folder",
                          out_dir);
    }
    p->old_exists = true;
  }
  *out = p;
  return TS_OK;
}

/* Remembers that `rel` is identical in the old tree, to link it once the
 * new tree exists. Under the lock. */
static enum ts_result add_verified(struct ts_publish *p, const char *rel,
                                   struct ts_error *err)
{
  if (p->nverified == p->verified_cap) {
    size_t ncap = p->verified_cap ? p->verified_cap * 2 : 256;
    char **v = realloc(p->verified, ncap * sizeof *v);
    if (!v)
      return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
    p->verified = v;
    p->verified_cap = ncap;
  }
  if (!(p->verified[p->nverified] = dup_str(rel)))
    return ts_error_set(err, TS_ERR_NOMEM, "out of memory");
  p->nverified++;
  return TS_OK;
}

enum ts_result ts_publish_file(struct ts_publish *p, const char *rel,
                               const void *data, size_t len,
                               struct ts_error *err)
{
  return ts_publish_file_id(p, rel, data, len, NULL, err);
}

enum ts_result ts_publish_file_id(struct ts_publish *p, const char *rel,
                                  const void *data, size_t len,
                                  struct ts_fs_id *id, struct ts_error *err)
{
  if (id)
    *id = (struct ts_fs_id){0, 0, false};
  if (!ts_publish_path_ok(rel))
    return ts_error_set(err, TS_ERR_INTERNAL, "refusing to write \"%s\": not "
                        "a safe path inside the output folder", rel);
  bool nomem;
  mtx_lock(&p->lock);
  bool added = set_add(p, rel, &nomem);
  if (added) {
    p->stats.files++;
    p->stats.total_bytes += len;
  }
  mtx_unlock(&p->lock);
  if (!added)
    return nomem ? ts_error_set(err, TS_ERR_NOMEM, "out of memory")
                 : ts_error_set(err, TS_ERR_INTERNAL, "\"%s\" written twice",
                                rel);
  /* Comparing and writing happen outside the lock: they are the slow part,
   * and each thread works on files of its own. */
  bool same = same_as_old(p, rel, data, len);
  enum ts_result r = TS_OK;
  mtx_lock(&p->lock);
  if (same) {
    p->stats.unchanged++;
    if (!p->tmp_created) {
      r = add_verified(p, rel, err);
      mtx_unlock(&p->lock);
      if (r == TS_OK && id) {
        /* Linked once the new tree exists: the same file. */
        char old[2 * PATH_MAX];
        snprintf(old, sizeof old, "%s/%s", p->out, rel);
        *id = ts_fs_id_at(old);
      }
      return r;
    }
  } else {
    r = ensure_tmp(p, err);
  }
  int dir_fd = -1;
  if (r == TS_OK)
    r = make_parents(p, rel, &dir_fd, err);
  mtx_unlock(&p->lock);
  if (r != TS_OK)
    return r;
  if (same)
    return link_old(p, rel, id, err);
  char path[2 * PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", p->tmp, rel);
  const char *slash = strrchr(rel, '/');
  r = dir_fd >= 0 ? write_file_at(dir_fd, slash ? slash + 1 : rel, path, data,
                                  len, id, err)
                  : write_file(path, data, len, id, err);
  if (r == TS_OK) {
    mtx_lock(&p->lock);
    p->stats.written++;
    p->stats.bytes += len;
    mtx_unlock(&p->lock);
  }
  return r;
}

/* Counts files of the old tree (under `dir`, `rel` its path relative to
 * the output) that the new tree lacks. A walk of our own rather than nftw,
 * which has no way to pass this context without a global. */
static void count_removed(struct ts_publish *p, const char *dir,
                          const char *rel, unsigned depth)
{
  DIR *d = opendir(dir);
  if (!d || depth > 64) {
    if (d)
      closedir(d);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char path[PATH_MAX + NAME_MAX + 2], sub[PATH_MAX + NAME_MAX + 2];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir)
      count_removed(p, path, sub, depth + 1);
    else if (!set_has(p, sub) && strcmp(sub, KEPT))
      p->stats.removed++;
  }
  closedir(d);
}

static void free_publish(struct ts_publish *p)
{
  for (size_t i = 0; i < p->set_cap; i++)
    free(p->set[i]);
  free(p->set);
  for (size_t i = 0; i < p->nverified; i++)
    free(p->verified[i]);
  free(p->verified);
  for (size_t i = 0; i < p->ndirs; i++) {
    free(p->dirs[i]);
    if (p->dir_fds[i] >= 0)
      close(p->dir_fds[i]);
  }
  if (p->root_fd >= 0)
    close(p->root_fd);
  free(p->out);
  free(p->tmp);
  mtx_destroy(&p->lock);
  free(p);
}

/* Adds `len` bytes of `rel` to the list `names` unless they are in it. */
static bool add_folder(char ***names, size_t *n, size_t *cap, const char *rel,
                       size_t len)
{
  for (size_t i = 0; i < *n; i++)
    if (strlen((*names)[i]) == len && !memcmp((*names)[i], rel, len))
      return true;
  if (!ts_grow(names, cap, *n + 1, sizeof **names) ||
      !((*names)[*n] = strndup(rel, len)))
    return false;
  (*n)++;
  return true;
}

/* Every folder of the new tree: "" for its top, each folder made for a
 * file and the folders above it, sorted (a folder before those inside
 * it). NULL when out of memory. */
static char **tree_folders(const struct ts_publish *p, size_t *n)
{
  char **names = NULL;
  size_t cap = 0;
  *n = 0;
  bool ok = add_folder(&names, n, &cap, "", 0);
  for (size_t i = 0; ok && i < p->ndirs; i++)
    for (const char *c = p->dirs[i];; c++)
      if (*c == '/' || *c == '\0') {
        if (!(ok = add_folder(&names, n, &cap, p->dirs[i],
                              (size_t)(c - p->dirs[i]))) ||
            *c == '\0')
          break;
      }
  if (!ok) {
    ts_fs_free_names(names, *n);
    *n = 0;
    return NULL;
  }
  ts_fs_sort_names(names, *n);
  return names;
}

enum ts_result ts_publish_commit(struct ts_publish *p,
                                 struct ts_publish_stats *stats,
                                 struct ts_error *err)
{
  return ts_publish_commit_folders(p, stats, NULL, NULL, err);
}

enum ts_result ts_publish_commit_folders(struct ts_publish *p,
                                         struct ts_publish_stats *stats,
                                         char ***folders, size_t *nfolders,
                                         struct ts_error *err)
{
  if (folders) {
    *folders = NULL;
    *nfolders = 0;
  }
  if (p->old_exists)
    count_removed(p, p->out, "", 0);
  enum ts_result r = TS_OK;
  if (p->old_exists && !p->tmp_created && p->stats.removed == 0) {
    p->stats.swapped = false; /* nothing changed: nothing to do */
  } else if ((r = ensure_tmp(p, err)) == TS_OK) {
    char kept[PATH_MAX + 16];
    snprintf(kept, sizeof kept, "%s/" KEPT, p->out);
    if (p->old_exists && !set_has(p, KEPT) && access(kept, F_OK) == 0)
      r = link_old(p, KEPT, NULL, err);
    if (r != TS_OK) {
      /* fall through to the abort below */
    } else if (!p->old_exists) {
      if (rename(p->tmp, p->out) != 0)
        r = ts_error_set(err, TS_ERR_IO, "%s: %s", p->out, strerror(errno));
    } else if (renameat2(AT_FDCWD, p->tmp, AT_FDCWD, p->out,
                         RENAME_EXCHANGE) != 0) {
      /* No atomic exchange here: move the old tree aside, then the new one
       * in, and put the old one back if that fails. */
      char aside[PATH_MAX + 8];
      snprintf(aside, sizeof aside, "%s.old", p->tmp);
      if (rename(p->out, aside) != 0) {
        r = ts_error_set(err, TS_ERR_IO, "%s: %s", p->out, strerror(errno));
      } else if (rename(p->tmp, p->out) != 0) {
        r = ts_error_set(err, TS_ERR_IO, "%s: %s", p->out, strerror(errno));
        rename(aside, p->out);
      } else {
        remove_tree(aside);
      }
    }
    /* After an exchange the temporary name holds the old tree. */
    if (r == TS_OK) {
      p->stats.swapped = true;
      remove_tree(p->tmp);
      p->tmp_created = false;
    }
  }
  if (r != TS_OK) {
    ts_publish_abort(p);
    return r;
  }
  if (stats)
    *stats = p->stats;
  /* Made from scratch, the published tree holds exactly the folders the
   * files went into, and those above them. */
  if (folders && p->stats.swapped && !p->untracked)
    *folders = tree_folders(p, nfolders);
  free_publish(p);
  return TS_OK;
}

void ts_publish_abort(struct ts_publish *p)
{
  if (!p)
    return;
  if (p->tmp_created)
    remove_tree(p->tmp);
  free_publish(p);
}

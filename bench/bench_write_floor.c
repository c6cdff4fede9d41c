/*
 * bench_write_floor: the least time creating a site's files can take.
 *
 *   bench_write_floor SOURCE_DIR TARGET_DIR
 *
 * Reads every file under SOURCE_DIR into memory first, then times a plain
 * loop that creates the same folders and files with the same bytes under
 * TARGET_DIR (which must not exist) on whatever disk it is on, and prints
 * "N files, B bytes, S seconds". A renderer that writes those files cannot
 * beat it, so it is the floor the render benchmark compares against.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct file {
  char *rel;
  char *data;
  size_t len;
  int is_dir;
};

struct tree {
  struct file *files;
  size_t n, cap;
};

static void add(struct tree *t, const char *rel, char *data, size_t len,
                int is_dir)
{
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 1024;
    t->files = realloc(t->files, t->cap * sizeof *t->files);
    if (!t->files) {
      perror("realloc");
      exit(1);
    }
  }
  t->files[t->n].rel = strdup(rel);
  t->files[t->n].data = data;
  t->files[t->n].len = len;
  t->files[t->n].is_dir = is_dir;
  t->n++;
}

static void collect(struct tree *t, const char *root, const char *rel)
{
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  DIR *d = opendir(path);
  if (!d) {
    perror(path);
    exit(1);
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char sub[4096], full[8192];
    snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
    snprintf(full, sizeof full, "%s/%s", root, sub);
    struct stat st;
    if (lstat(full, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      add(t, sub, NULL, 0, 1);
      collect(t, root, sub);
    } else if (S_ISREG(st.st_mode)) {
      char *data = malloc((size_t)st.st_size + 1);
      int fd = open(full, O_RDONLY);
      ssize_t got = fd >= 0 ? read(fd, data, (size_t)st.st_size) : -1;
      if (fd >= 0)
        close(fd);
      if (got != st.st_size) {
        fprintf(stderr, "bench_write_floor: cannot read %s\n", full);
        exit(1);
      }
      add(t, sub, data, (size_t)st.st_size, 0);
    }
  }
  closedir(d);
}

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: bench_write_floor SOURCE_DIR TARGET_DIR\n");
    return 2;
  }
  struct tree t = {0};
  collect(&t, argv[1], "");
  struct file *files = t.files;
  size_t nfiles = t.n;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  if (mkdir(argv[2], 0755) != 0) {
    perror(argv[2]);
    return 1;
  }
  size_t bytes = 0, count = 0;
  for (size_t i = 0; i < nfiles; i++) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", argv[2], files[i].rel);
    if (files[i].is_dir) {
      if (mkdir(path, 0755) != 0) {
        perror(path);
        return 1;
      }
      continue;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 || write(fd, files[i].data, files[i].len) !=
                      (ssize_t)files[i].len || close(fd) != 0) {
      perror(path);
      return 1;
    }
    bytes += files[i].len;
    count++;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%zu files, %zu bytes, %.6f seconds\n", count, bytes,
         (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}

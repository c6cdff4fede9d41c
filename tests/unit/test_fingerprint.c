/* Fingerprints of folders (what the up-to-date check compares) and the
 * folder listing they walk with: every file counts by name, size and
 * time, at any depth; links are not followed; a listing by descriptor
 * leaves the descriptor usable. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fingerprint.h"
#include "harness.h"
#include "util/fs.h"

static void put(const char *dir, const char *rel, const char *text)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  FILE *f = fopen(path, "w");
  REQUIRE(f != NULL);
  fputs(text, f);
  fclose(f);
}

static void tree_hex(const char *dir, char hex[33])
{
  struct ts_fingerprint fp;
  ts_fingerprint_init(&fp);
  ts_fingerprint_add_tree(&fp, dir);
  ts_fingerprint_hex(&fp, hex);
}

static void make_tree(char *dir, size_t size)
{
  snprintf(dir, size, "/tmp/ts-fp-XXXXXX");
  REQUIRE(mkdtemp(dir) != NULL);
  char sub[512];
  snprintf(sub, sizeof sub, "%s/videos", dir);
  REQUIRE(mkdir(sub, 0755) == 0);
  snprintf(sub, sizeof sub, "%s/videos/deep", dir);
  REQUIRE(mkdir(sub, 0755) == 0);
  put(dir, "index.html", "<p>hello</p>");     /* 12 bytes */
  put(dir, "videos/a.html", "aaaa");           /* 4 */
  put(dir, "videos/deep/b.json", "{\"b\":1}"); /* 7 */
  put(dir, ".nojekyll", "");                   /* 0, hidden: counted */
}

static void remove_tree(const char *dir)
{
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK_INT(system(cmd), 0);
}

static void every_file_at_any_depth_counts(void)
{
  char dir[64];
  make_tree(dir, sizeof dir);
  uint64_t files = 0, bytes = 0;
  CHECK(ts_fingerprint_tree_size(dir, &files, &bytes));
  CHECK_INT(files, 4);
  CHECK_INT(bytes, 12 + 4 + 7);

  char before[33], again[33], after[33];
  tree_hex(dir, before);
  tree_hex(dir, again);
  CHECK_STR(before, again);
  /* A deep file's size changes: so does the fingerprint. */
  put(dir, "videos/deep/b.json", "{\"b\":12}");
  tree_hex(dir, after);
  CHECK(strcmp(before, after) != 0);
  CHECK(ts_fingerprint_tree_size(dir, &files, &bytes));
  CHECK_INT(bytes, 12 + 4 + 8);

  /* A link is neither followed nor counted. */
  char link[512];
  snprintf(link, sizeof link, "%s/videos/loop", dir);
  REQUIRE(symlink("..", link) == 0);
  CHECK(ts_fingerprint_tree_size(dir, &files, &bytes));
  CHECK_INT(files, 4);
  tree_hex(dir, again);
  CHECK_STR(after, again);

  /* A file renamed: same sizes, another fingerprint. */
  char from[512], to[512];
  snprintf(from, sizeof from, "%s/videos/a.html", dir);
  snprintf(to, sizeof to, "%s/videos/c.html", dir);
  REQUIRE(rename(from, to) == 0);
  tree_hex(dir, again);
  CHECK(strcmp(after, again) != 0);
  remove_tree(dir);

  /* A missing folder: no size, and a fingerprint of its own. */
  CHECK(!ts_fingerprint_tree_size(dir, &files, &bytes));
  char missing[33], none[33];
  tree_hex(dir, missing);
  tree_hex(NULL, none);
  CHECK_STR(missing, none);
}

static void a_listing_by_descriptor_can_be_repeated(void)
{
  char dir[64];
  make_tree(dir, sizeof dir);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  for (int round = 0; round < 2; round++) {
    size_t n = 0;
    char **names = ts_fs_list_dir_fd(fd, false, &n);
    REQUIRE(names != NULL);
    CHECK_INT(n, 2); /* sorted, without .nojekyll */
    CHECK_STR(names[0], "index.html");
    CHECK_STR(names[1], "videos");
    ts_fs_free_names(names, n);
    names = ts_fs_list_dir_fd(fd, true, &n);
    CHECK_INT(n, 3);
    CHECK_STR(names[0], ".nojekyll");
    ts_fs_free_names(names, n);
  }
  struct stat st;
  CHECK(fstatat(fd, "videos", &st, 0) == 0 && S_ISDIR(st.st_mode));
  close(fd);
  size_t n = 5;
  CHECK(ts_fs_list_dir_fd(-1, true, &n) == NULL);
  CHECK_INT(n, 0);
  remove_tree(dir);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(every_file_at_any_depth_counts),
    TEST(a_listing_by_descriptor_can_be_repeated),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

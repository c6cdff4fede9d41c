/* Fingerprints of bytes and of folders (what the up-to-date check
 * compares): every byte counts; every file counts by name, size and time,
 * at any depth; links are not followed; an output folder's folders show
 * any file added, removed or replaced, however soon after the publish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

static void every_file_at_any_depth_counts(void)
{
  char dir[64];
  make_tree(dir, sizeof dir);
  char before[33], again[33], after[33];
  tree_hex(dir, before);
  tree_hex(dir, again);
  CHECK_STR(before, again);
  /* A deep file's size changes: so does the fingerprint. */
  put(dir, "videos/deep/b.json", "{\"b\":12}");
  tree_hex(dir, after);
  CHECK(strcmp(before, after) != 0);

  /* A link is neither followed nor counted. */
  char link[512];
  snprintf(link, sizeof link, "%s/videos/loop", dir);
  REQUIRE(symlink("..", link) == 0);
  tree_hex(dir, again);
  CHECK_STR(after, again);

  /* A file renamed: same sizes, another fingerprint. */
  char from[512], to[512];
  snprintf(from, sizeof from, "%s/videos/a.html", dir);
  snprintf(to, sizeof to, "%s/videos/c.html", dir);
  REQUIRE(rename(from, to) == 0);
  tree_hex(dir, again);
  CHECK(strcmp(after, again) != 0);
  REMOVE_TREE(dir);

  /* A missing folder: a fingerprint of its own. */
  char missing[33], none[33];
  tree_hex(dir, missing);
  tree_hex(NULL, none);
  CHECK_STR(missing, none);
}

/* Marks the folders (by a walk, or by their names when `known`, as the
 * publisher's list names them), fingerprints them and checks the
 * fingerprint holds until `change` runs; straight after, with no pause,
 * so that the change falls in the same tick of the file system's clock as
 * the marking. Whether the change shows must be `seen`. */
static void check_change(const char *dir, const char *const *names,
                         size_t n, bool known,
                         void (*change)(const char *dir), bool seen)
{
  char before[33], again[33], after[33];
  if (known) {
    REQUIRE(ts_fingerprint_mark_folders(dir, names, n));
  } else {
    size_t marked = 0;
    char **again_names = ts_fingerprint_folders(dir, true, &marked);
    ts_fs_free_names(again_names, marked);
    REQUIRE(marked == n);
  }
  REQUIRE(ts_fingerprint_folders_hex(dir, names, n, before));
  REQUIRE(ts_fingerprint_folders_hex(dir, names, n, again));
  CHECK_STR(before, again);
  change(dir);
  CHECK(seen == (!ts_fingerprint_folders_hex(dir, names, n, after) ||
                 strcmp(before, after) != 0));
}

static void add_deep(const char *dir) { put(dir, "videos/deep/new.json", "1"); }

static void remove_top(const char *dir)
{
  char path[512];
  snprintf(path, sizeof path, "%s/index.html", dir);
  REQUIRE(unlink(path) == 0);
}

/* Written beside and renamed over, as editors, checkouts and publishers
 * do: the same name and size, another file. */
static void replace_by_rename(const char *dir)
{
  char tmp[512], path[512];
  snprintf(tmp, sizeof tmp, "%s/videos/.a.tmp", dir);
  snprintf(path, sizeof path, "%s/videos/a.html", dir);
  put(dir, "videos/.a.tmp", "bbbb");
  REQUIRE(rename(tmp, path) == 0);
}

static void remove_folder(const char *dir)
{
  char deep[600];
  snprintf(deep, sizeof deep, "%s/videos/deep", dir);
  REMOVE_TREE(deep);
}

/* The whole folder deleted and made again with the same contents. */
static void recreate_all(const char *dir)
{
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cp -a '%s' '%s.copy' && rm -r '%s' && "
           "mv '%s.copy' '%s'", dir, dir, dir, dir, dir);
  CHECK_INT(system(cmd), 0);
}

static void edit_in_place(const char *dir)
{
  char path[512];
  snprintf(path, sizeof path, "%s/videos/a.html", dir);
  FILE *f = fopen(path, "a");
  REQUIRE(f != NULL);
  fputs("more", f);
  fclose(f);
}

static void an_output_folder_is_known_by_its_folders(void)
{
  char dir[64];
  make_tree(dir, sizeof dir);
  char link[512];
  snprintf(link, sizeof link, "%s/videos/loop", dir);
  REQUIRE(symlink("..", link) == 0);
  /* A link to a folder outside: neither listed nor marked. */
  char outside[64], link_out[512];
  snprintf(outside, sizeof outside, "/tmp/ts-fp-out-XXXXXX");
  REQUIRE(mkdtemp(outside) != NULL);
  snprintf(link_out, sizeof link_out, "%s/outside", dir);
  REQUIRE(symlink(outside, link_out) == 0);
  struct stat out_before, out_after, top;
  REQUIRE(stat(outside, &out_before) == 0);
  size_t n = 0;
  char **names = ts_fingerprint_folders(dir, true, &n);
  REQUIRE(names != NULL);
  CHECK_INT(n, 3); /* the top, videos, videos/deep; not the links */
  REQUIRE(stat(outside, &out_after) == 0);
  CHECK(out_after.st_mtim.tv_sec == out_before.st_mtim.tv_sec &&
        out_after.st_mtim.tv_nsec == out_before.st_mtim.tv_nsec);
  REQUIRE(rmdir(outside) == 0);
  /* Marked a second back. */
  REQUIRE(stat(dir, &top) == 0);
  CHECK(top.st_mtim.tv_sec < time(NULL));
  CHECK_STR(names[0], "");
  bool videos = false, deep = false;
  for (size_t i = 1; i < n; i++) {
    videos |= !strcmp(names[i], "videos");
    deep |= !strcmp(names[i], "videos/deep");
  }
  CHECK(videos && deep);
  const char *const *cnames = (const char *const *)names;

  check_change(dir, cnames, n, false, add_deep, true);
  check_change(dir, cnames, n, false, remove_top, true);
  check_change(dir, cnames, n, false, replace_by_rename, true);
  check_change(dir, cnames, n, false, recreate_all, true);
  /* What it does not look at: bytes changed inside a file in place. */
  check_change(dir, cnames, n, false, edit_in_place, false);
  check_change(dir, cnames, n, false, remove_folder, true);
  ts_fs_free_names(names, n);

  size_t none = 5;
  REMOVE_TREE(dir);
  CHECK(ts_fingerprint_folders(dir, true, &none) == NULL);
  CHECK_INT(none, 0);
  const char *only_top[] = {""};
  struct ts_fingerprint fp;
  CHECK(!ts_fingerprint_add_folders(&fp, dir, only_top, 1));
}

/* Folders named by whoever made them are marked without a walk, as well
 * as a walk marks them: a change straight after shows all the same. A
 * link is not followed to a folder outside. */
static void known_folders_are_marked_as_a_walk_marks_them(void)
{
  char dir[64];
  make_tree(dir, sizeof dir);
  const char *names[] = {"", "videos", "videos/deep"};
  REQUIRE(ts_fingerprint_mark_folders(dir, names, 3));
  time_t now = time(NULL);
  for (size_t i = 0; i < 3; i++) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    REQUIRE(stat(path, &st) == 0);
    CHECK(st.st_mtim.tv_sec < now && st.st_mtim.tv_sec >= now - 3);
  }
  check_change(dir, names, 3, true, add_deep, true);
  check_change(dir, names, 3, true, remove_top, true);
  check_change(dir, names, 3, true, replace_by_rename, true);
  check_change(dir, names, 3, true, edit_in_place, false);

  const char *missing[] = {"", "videos/gone"};
  CHECK(!ts_fingerprint_mark_folders(dir, missing, 2));
  const char *a_file[] = {"videos/a.html"};
  CHECK(!ts_fingerprint_mark_folders(dir, a_file, 1));

  /* videos/deep becomes a link to a folder elsewhere: not marked. */
  char outside[64], deep[512];
  snprintf(outside, sizeof outside, "/tmp/ts-fp-out-XXXXXX");
  REQUIRE(mkdtemp(outside) != NULL);
  struct stat out_before, out_after;
  REQUIRE(stat(outside, &out_before) == 0);
  snprintf(deep, sizeof deep, "%s/videos/deep", dir);
  REMOVE_TREE(deep);
  REQUIRE(symlink(outside, deep) == 0);
  CHECK(!ts_fingerprint_mark_folders(dir, names, 3));
  REQUIRE(stat(outside, &out_after) == 0);
  CHECK(out_after.st_mtim.tv_sec == out_before.st_mtim.tv_sec &&
        out_after.st_mtim.tv_nsec == out_before.st_mtim.tv_nsec);
  REQUIRE(rmdir(outside) == 0);
  REMOVE_TREE(dir);
  CHECK(!ts_fingerprint_mark_folders(dir, names, 1));
}

static void hex_of(const void *data, size_t len, char hex[33])
{
  struct ts_fingerprint fp;
  ts_fingerprint_init(&fp);
  ts_fingerprint_add(&fp, data, len);
  ts_fingerprint_hex(&fp, hex);
}

/* Long inputs take the four-lane path, the last 31 bytes or fewer the
 * word-by-word one: a change to any single byte, in either, shows. */
static void every_byte_counts(void)
{
  enum { N = 203 }; /* six 32-byte stripes, three words and three bytes */
  unsigned char data[N];
  for (size_t i = 0; i < N; i++)
    data[i] = (unsigned char)(i * 7 + 1);
  char base[33], other[33];
  hex_of(data, N, base);
  for (size_t i = 0; i < N; i++) {
    data[i] ^= 0x40;
    hex_of(data, N, other);
    CHECK(strcmp(base, other) != 0);
    data[i] ^= 0x40;
  }
  hex_of(data, N, other);
  CHECK_STR(base, other);
  /* Swapping two stripes changes it too: the lanes do not commute. */
  unsigned char swapped[N];
  memcpy(swapped, data + 32, 32);
  memcpy(swapped + 32, data, 32);
  memcpy(swapped + 64, data + 64, N - 64);
  hex_of(swapped, N, other);
  CHECK(strcmp(base, other) != 0);
  /* Nor does one input equal its own prefix, or the same bytes added in
   * two parts. */
  hex_of(data, N - 1, other);
  CHECK(strcmp(base, other) != 0);
  struct ts_fingerprint fp;
  ts_fingerprint_init(&fp);
  ts_fingerprint_add(&fp, data, 40);
  ts_fingerprint_add(&fp, data + 40, N - 40);
  ts_fingerprint_hex(&fp, other);
  CHECK(strcmp(base, other) != 0);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(every_file_at_any_depth_counts),
    TEST(every_byte_counts),
    TEST(an_output_folder_is_known_by_its_folders),
    TEST(known_folders_are_marked_as_a_walk_marks_them),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

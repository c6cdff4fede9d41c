/* Publishing: all-or-nothing swaps, unchanged files untouched, nothing
 * written outside the output folder. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <unistd.h>

#include "fingerprint.h"
#include "harness.h"
#include "publish.h"
#include "util/fs.h"

static char root[64], out[128];

static void setup(void)
{
  snprintf(root, sizeof root, "/tmp/ts-publish-XXXXXX");
  if (!mkdtemp(root))
    ts_test_fail(__FILE__, __LINE__, "mkdtemp");
  snprintf(out, sizeof out, "%s/site", root);
}

static void teardown(void)
{
  REMOVE_TREE(root);
}

static enum ts_result put(struct ts_publish *p, const char *rel,
                          const char *text)
{
  struct ts_error err;
  enum ts_result r = ts_publish_file(p, rel, text, strlen(text), &err);
  if (r != TS_OK)
    printf("#   %s: %s\n", rel, err.msg);
  return r;
}

static ino_t inode(const char *rel)
{
  char path[256];
  snprintf(path, sizeof path, "%s/%s", out, rel);
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

static char *content(const char *rel)
{
  char path[256], *data = NULL;
  snprintf(path, sizeof path, "%s/%s", out, rel);
  if (ts_fs_read(path, 1 << 20, &data, NULL, NULL) != TS_OK)
    return NULL;
  return data;
}

/* Entries in `root` other than "site": temporary folders left behind. */
static int leftovers(void)
{
  DIR *d = opendir(root);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
        strcmp(e->d_name, "site"))
      n++;
  if (d)
    closedir(d);
  return n;
}

static struct ts_publish_stats publish3(const char *a, const char *b,
                                        const char *c)
{
  struct ts_publish *p = NULL;
  struct ts_error err;
  struct ts_publish_stats st = {0};
  if (ts_publish_begin(out, NULL, &p, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "begin: %s", err.msg);
    return st;
  }
  if ((a && put(p, "index.html", a)) || (b && put(p, "videos/abc.html", b)) ||
      (c && put(p, "regions/JP.html", c))) {
    ts_publish_abort(p);
    return st;
  }
  if (ts_publish_commit(p, &st, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "commit: %s", err.msg);
  return st;
}

static void first_publish_creates_the_folder(void)
{
  setup();
  struct ts_publish_stats st = publish3("home", "video", "japan");
  CHECK(st.swapped);
  CHECK_INT(st.files, 3);
  CHECK_INT(st.written, 3);
  char *c = content("videos/abc.html");
  CHECK_STR(c, "video");
  free(c);
  CHECK_INT(leftovers(), 0);
  teardown();
}

static void unchanged_run_touches_nothing(void)
{
  setup();
  publish3("home", "video", "japan");
  ino_t before = inode("index.html");
  struct stat st1, st2;
  char path[256];
  snprintf(path, sizeof path, "%s/index.html", out);
  stat(path, &st1);
  struct ts_publish_stats st = publish3("home", "video", "japan");
  CHECK(!st.swapped);
  CHECK_INT(st.written, 0);
  CHECK_INT(st.unchanged, 3);
  stat(path, &st2);
  CHECK(inode("index.html") == before);
  CHECK(st1.st_mtime == st2.st_mtime && st1.st_ctime == st2.st_ctime);
  CHECK_INT(leftovers(), 0);
  teardown();
}

static void changed_run_links_the_unchanged(void)
{
  setup();
  publish3("home", "video", "japan");
  ino_t video = inode("videos/abc.html");
  /* index changes, JP disappears, the video stays the same bytes. */
  struct ts_publish_stats st = publish3("home v2", "video", NULL);
  CHECK(st.swapped);
  CHECK_INT(st.written, 1);
  CHECK_INT(st.unchanged, 1);
  CHECK_INT(st.removed, 1);
  CHECK(inode("videos/abc.html") == video); /* hard-linked, not rewritten */
  CHECK(inode("regions/JP.html") == 0);
  char *c = content("index.html");
  CHECK_STR(c, "home v2");
  free(c);
  CHECK_INT(leftovers(), 0);
  /* Only a removal also swaps. */
  st = publish3("home v2", NULL, NULL);
  CHECK(st.swapped);
  CHECK_INT(st.removed, 1);
  CHECK(inode("videos/abc.html") == 0);
  teardown();
}

/* One run of ts_publish_file_id on "api/snapshot.json" (with `first`
 * published before it, when not NULL); its identity. */
static struct ts_fs_id publish_with_id(const char *first, const char *text)
{
  struct ts_publish *p = NULL;
  struct ts_error err;
  struct ts_publish_stats st;
  struct ts_fs_id id = {0, 0, false};
  if (ts_publish_begin(out, NULL, &p, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "begin: %s", err.msg);
    return id;
  }
  if ((first && put(p, "index.html", first)) ||
      ts_publish_file_id(p, "api/snapshot.json", text, strlen(text), &id,
                         &err) != TS_OK) {
    ts_publish_abort(p);
    ts_test_fail(__FILE__, __LINE__, "publish failed");
    return id;
  }
  if (ts_publish_commit(p, &st, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "commit: %s", err.msg);
  return id;
}

/* The identity ts_publish_file_id gives is that of the file published at
 * the path, whether written or linked from the previous tree (before or
 * after the new tree exists), or kept in place when nothing changed. */
static void file_id_names_the_published_file(void)
{
  setup();
  struct ts_fs_id id = publish_with_id("home", "[1]"); /* written */
  CHECK(id.known && id.ino == (unsigned long long)inode("api/snapshot.json"));
  ino_t first = inode("api/snapshot.json");
  /* Unchanged, linked once the changed index made the new tree. */
  id = publish_with_id("home v2", "[1]");
  CHECK(id.known && id.ino == (unsigned long long)first);
  CHECK(inode("api/snapshot.json") == first);
  /* Unchanged and nothing else changed: the old tree stays. */
  id = publish_with_id("home v2", "[1]");
  CHECK(id.known && id.ino == (unsigned long long)first);
  /* Unchanged, verified before any new tree exists, linked after. */
  id = publish_with_id(NULL, "[1]");
  CHECK(id.known && id.ino == (unsigned long long)inode("api/snapshot.json"));
  CHECK(inode("api/snapshot.json") == first);
  /* Changed: a new file. */
  id = publish_with_id(NULL, "[2]");
  CHECK(id.known && id.ino == (unsigned long long)inode("api/snapshot.json"));
  CHECK(inode("api/snapshot.json") != first);
  CHECK_INT(leftovers(), 0);
  teardown();
}

static void failure_leaves_the_old_site(void)
{
  setup();
  publish3("home", "video", "japan");
  struct ts_publish *p = NULL;
  struct ts_error err;
  REQUIRE(ts_publish_begin(out, NULL, &p, &err) == TS_OK);
  CHECK_INT(put(p, "index.html", "half-built"), TS_OK);
  CHECK_INT(ts_publish_file(p, "index.html", "x", 1, &err), TS_ERR_INTERNAL);
  CHECK_STR(err.msg, "\"index.html\" written twice");
  ts_publish_abort(p);
  char *c = content("index.html");
  CHECK_STR(c, "home");
  free(c);
  CHECK_INT(leftovers(), 0);
  teardown();
}

static void unsafe_paths_are_refused(void)
{
  const char *bad[] = {"", "/etc/passwd", "../x", "a/../../x", "a//b",
                       "a/./b", "a/", "a\\b", "vid\xc3\xa9o.html", "a b",
                       "..", ".", "x/..", "a\nb"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ts_publish_path_ok(bad[i]))
      ts_test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
  const char *good[] = {"index.html", ".nojekyll", "videos/-4GmbBoYQjE.html",
                        "assets/icon@2x.png", "api/regions/JP.json"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (!ts_publish_path_ok(good[i]))
      ts_test_fail(__FILE__, __LINE__, "refused \"%s\"", good[i]);
  setup();
  struct ts_publish *p = NULL;
  struct ts_error err;
  REQUIRE(ts_publish_begin(out, NULL, &p, &err) == TS_OK);
  CHECK_INT(ts_publish_file(p, "../escape.html", "x", 1, &err),
            TS_ERR_INTERNAL);
  ts_publish_abort(p);
  char path[128];
  snprintf(path, sizeof path, "%s/escape.html", root);
  CHECK(access(path, F_OK) != 0);
  teardown();
}

static void leftovers_of_dead_runs_are_removed(void)
{
  setup();
  char dead[160];
  /* PID 2^22 + 1 is above Linux's pid_max default: never a live process. */
  snprintf(dead, sizeof dead, "%s/.site.tmp-4194305-abc", root);
  REQUIRE(mkdir(dead, 0755) == 0);
  publish3("home", NULL, NULL);
  CHECK(access(dead, F_OK) != 0);
  teardown();
}

static void the_folders_gitignore_survives(void)
{
  setup();
  publish3("home", "video", "japan");
  char path[160];
  snprintf(path, sizeof path, "%s/.gitignore", out);
  REQUIRE(ts_fs_write_atomic(path, "*\n!.gitignore\n", 14, NULL) == TS_OK);
  /* Unchanged pages: nothing happens, .gitignore included. */
  struct ts_publish_stats st = publish3("home", "video", "japan");
  CHECK(!st.swapped);
  CHECK_INT(st.removed, 0);
  /* A change swaps the tree in; .gitignore comes along. */
  st = publish3("home v2", "video", "japan");
  CHECK(st.swapped);
  CHECK_INT(st.removed, 0);
  char *c = content(".gitignore");
  CHECK_STR(c, "*\n!.gitignore\n");
  free(c);
  teardown();
}

/* Several threads adding files at once, as the site's page workers do:
 * every file arrives with its bytes, unchanged ones are linked from the
 * old tree, and the counts add up. */
enum { WRITERS = 4, PER_WRITER = 300 };

struct writer {
  struct ts_publish *pub;
  int first, round;
  int failed;
};

static void writer_file(int i, int round, char *rel, size_t rsz, char *text,
                        size_t tsz)
{
  /* 80 folders and 16 below them: more than the publisher keeps open
   * (64), so files are created both ways, by folder and by path. */
  if (i % 5 == 0)
    snprintf(rel, rsz, "d%02d/deep/f%04d.html", i % 16, i);
  else
    snprintf(rel, rsz, "d%02d/f%04d.html", i % 80, i);
  /* Odd files change between rounds, even ones keep their bytes. */
  snprintf(text, tsz, "file %d round %d", i, i % 2 ? round : 0);
}

static int run_writer(void *arg)
{
  struct writer *w = arg;
  for (int i = w->first; i < WRITERS * PER_WRITER; i += WRITERS) {
    char rel[64], text[64];
    writer_file(i, w->round, rel, sizeof rel, text, sizeof text);
    struct ts_error err;
    if (ts_publish_file(w->pub, rel, text, strlen(text), &err) != TS_OK)
      w->failed++;
  }
  return 0;
}

static struct ts_publish_stats publish_threaded(int round)
{
  struct ts_publish *p = NULL;
  struct ts_error err;
  struct ts_publish_stats st = {0};
  if (ts_publish_begin(out, NULL, &p, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "begin: %s", err.msg);
    return st;
  }
  struct writer w[WRITERS];
  thrd_t ids[WRITERS];
  int failed = 0;
  for (int k = 0; k < WRITERS; k++) {
    w[k] = (struct writer){.pub = p, .first = k, .round = round};
    if (thrd_create(&ids[k], run_writer, &w[k]) != thrd_success)
      ts_test_fail(__FILE__, __LINE__, "thrd_create");
  }
  for (int k = 0; k < WRITERS; k++) {
    thrd_join(ids[k], NULL);
    failed += w[k].failed;
  }
  CHECK_INT(failed, 0);
  if (ts_publish_commit(p, &st, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "commit: %s", err.msg);
  return st;
}

static void threads_publish_together(void)
{
  setup();
  const int n = WRITERS * PER_WRITER;
  struct ts_publish_stats st = publish_threaded(1);
  CHECK_INT(st.files, n);
  CHECK_INT(st.written, n);
  ino_t even = inode("d00/deep/f0000.html");
  st = publish_threaded(2);
  CHECK(st.swapped);
  CHECK_INT(st.files, n);
  CHECK_INT(st.written, n / 2);
  CHECK_INT(st.unchanged, n / 2);
  CHECK_INT(st.removed, 0);
  CHECK(inode("d00/deep/f0000.html") == even); /* linked, not rewritten */
  int wrong = 0;
  for (int i = 0; i < n; i++) {
    char rel[64], text[64];
    writer_file(i, 2, rel, sizeof rel, text, sizeof text);
    char *c = content(rel);
    if (!c || strcmp(c, text))
      wrong++;
    free(c);
  }
  CHECK_INT(wrong, 0);
  CHECK_INT(leftovers(), 0);
  teardown();
}

/* Publishes `paths` (each file holding its own path plus `salt`) and
 * returns the folders the publisher lists (NULL: none); *swapped tells
 * whether it swapped a new tree in. */
static char **publish_paths(const char *const *paths, size_t npaths,
                            const char *salt, size_t *n, bool *swapped)
{
  struct ts_publish *p = NULL;
  struct ts_error err;
  struct ts_publish_stats st = {0};
  char **folders = NULL;
  *n = 0;
  if (ts_publish_begin(out, NULL, &p, &err) != TS_OK) {
    ts_test_fail(__FILE__, __LINE__, "begin: %s", err.msg);
    return NULL;
  }
  for (size_t i = 0; i < npaths; i++) {
    char text[128];
    snprintf(text, sizeof text, "%s %s", paths[i], salt);
    if (put(p, paths[i], text) != TS_OK) {
      ts_publish_abort(p);
      ts_test_fail(__FILE__, __LINE__, "put %s", paths[i]);
      return NULL;
    }
  }
  if (ts_publish_commit_folders(p, &st, &folders, n, &err) != TS_OK)
    ts_test_fail(__FILE__, __LINE__, "commit: %s", err.msg);
  *swapped = st.swapped;
  return folders;
}

/* The folders of a tree it made: every folder a file went into and those
 * above them, sorted, and the same a walk of the output finds. None when
 * it swapped nothing in, or made more folders than it keeps track of. */
static void the_folders_it_made_are_listed(void)
{
  setup();
  const char *paths[] = {"videos/b.html", "index.html", "api/regions/JP.json",
                         "videos/a.html", "videos/deep/c.html"};
  size_t n = 0;
  bool swapped = false;
  char **folders = publish_paths(paths, 5, "one", &n, &swapped);
  CHECK(swapped);
  REQUIRE(folders != NULL);
  const char *want[] = {"", "api", "api/regions", "videos", "videos/deep"};
  CHECK_INT(n, 5);
  for (size_t i = 0; i < n && i < 5; i++)
    CHECK_STR(folders[i], want[i]);
  size_t walked = 0;
  char **walk = ts_fingerprint_folders(out, false, &walked);
  CHECK_INT(walked, n);
  for (size_t i = 0; i < walked; i++) {
    bool listed = false;
    for (size_t k = 0; k < n; k++)
      listed |= !strcmp(walk[i], folders[k]);
    CHECK(listed);
  }
  ts_fs_free_names(walk, walked);
  ts_fs_free_names(folders, n);

  /* The same files again: nothing swapped, so nothing to vouch for. */
  folders = publish_paths(paths, 5, "one", &n, &swapped);
  CHECK(!swapped);
  CHECK(folders == NULL);
  CHECK_INT(n, 0);

  /* Seventy folders, more than it keeps open: the caller walks. */
  char names[70][32];
  const char *many[70];
  for (int i = 0; i < 70; i++) {
    snprintf(names[i], sizeof names[i], "d%02d/x.html", i);
    many[i] = names[i];
  }
  folders = publish_paths(many, 70, "two", &n, &swapped);
  CHECK(swapped);
  CHECK(folders == NULL);
  char *c = content("d69/x.html");
  CHECK_STR(c, "d69/x.html two");
  free(c);
  teardown();
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(first_publish_creates_the_folder),
    TEST(unchanged_run_touches_nothing),
    TEST(changed_run_links_the_unchanged),
    TEST(file_id_names_the_published_file),
    TEST(failure_leaves_the_old_site),
    TEST(unsafe_paths_are_refused),
    TEST(leftovers_of_dead_runs_are_removed),
    TEST(the_folders_gitignore_survives),
    TEST(threads_publish_together),
    TEST(the_folders_it_made_are_listed),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

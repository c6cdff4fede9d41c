/* Unit tests for the capped buffer, the error helpers and file helpers. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/grow.h"

static void append_and_printf(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  CHECK_STR(ts_buf_cstr(&b), "");
  CHECK_INT(ts_buf_append_str(&b, "views: "), TS_OK);
  CHECK_INT(ts_buf_printf(&b, "%d", 1200000), TS_OK);
  CHECK_STR(ts_buf_cstr(&b), "views: 1200000");
  CHECK_INT(b.len, 14);
  ts_buf_cleanup(&b);
}

static void integers_append_exactly(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  const int64_t values[] = {0, 7, -7, 1234567890123, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)values[i]);
    ts_buf_reset(&b);
    CHECK_INT(ts_buf_append_int(&b, values[i]), TS_OK);
    CHECK_STR(ts_buf_cstr(&b), want);
  }
  ts_buf_cleanup(&b);
}

static void long_printf_grows(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  CHECK_INT(ts_buf_printf(&b, "<%s>", big), TS_OK);
  CHECK_INT(b.len, 1001);
  CHECK(b.data[0] == '<' && b.data[1000] == '>' && b.data[1001] == '\0');
  ts_buf_cleanup(&b);
}

static void cap_is_enforced_and_buffer_kept(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 8);
  CHECK_INT(ts_buf_append_str(&b, "12345"), TS_OK);
  CHECK_INT(ts_buf_append_str(&b, "6789"), TS_ERR_LIMIT);
  CHECK_STR(ts_buf_cstr(&b), "12345");
  CHECK_INT(ts_buf_append_str(&b, "678"), TS_OK);
  CHECK_INT(ts_buf_append_char(&b, '9'), TS_ERR_LIMIT);
  CHECK_INT(ts_buf_printf(&b, "%s", "x"), TS_ERR_LIMIT);
  CHECK_STR(ts_buf_cstr(&b), "12345678");
  ts_buf_cleanup(&b);
}

static void detach_hands_over_memory(void)
{
  struct ts_buf b;
  ts_buf_init(&b, 0);
  char *empty = ts_buf_detach(&b);
  CHECK_STR(empty, "");
  free(empty);
  ts_buf_append_str(&b, "abc");
  char *s = ts_buf_detach(&b);
  CHECK_STR(s, "abc");
  CHECK(b.data == NULL && b.len == 0);
  free(s);
}

static void error_prefix_and_truncation(void)
{
  struct ts_error err;
  CHECK_INT(ts_error_set(&err, TS_ERR_PARSE, "unclosed section \"%s\"", "items"),
            TS_ERR_PARSE);
  ts_error_prefix(&err, "%s:%d:%d", "index.html.mustache", 3, 7);
  CHECK_STR(err.msg, "index.html.mustache:3:7: unclosed section \"items\"");
  char huge[3000];
  memset(huge, 'a', sizeof huge - 1);
  huge[sizeof huge - 1] = '\0';
  ts_error_set(&err, TS_ERR_IO, "%s", huge);
  CHECK_INT(strlen(err.msg), TS_ERROR_MAX - 1);
  CHECK_STR(err.msg + TS_ERROR_MAX - 4, "...");
}

static void fs_roundtrip_and_limits(void)
{
  char dir[] = "/tmp/ts-test-fs-XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char path[512], sub[256];
  snprintf(sub, sizeof sub, "%s/a/b/c", dir);
  struct ts_error err;
  CHECK_INT(ts_fs_mkdirs(sub, &err), TS_OK);
  CHECK(ts_fs_is_dir(sub));
  CHECK_INT(ts_fs_mkdirs(sub, &err), TS_OK); /* already there */
  snprintf(path, sizeof path, "%s/page.html", sub);
  CHECK_INT(ts_fs_write_atomic(path, "hello\n", 6, &err), TS_OK);
  /* A file where a folder should be, at the end or on the way. */
  CHECK_INT(ts_fs_mkdirs(path, &err), TS_ERR_IO);
  CHECK(strstr(err.msg, "page.html: exists and is not a folder") != NULL);
  char below[600];
  snprintf(below, sizeof below, "%s/x/y", path);
  CHECK_INT(ts_fs_mkdirs(below, &err), TS_ERR_IO);
  CHECK(strstr(err.msg, "page.html") != NULL);
  char *data = NULL;
  size_t len = 0;
  CHECK_INT(ts_fs_read(path, 100, &data, &len, &err), TS_OK);
  CHECK_INT(len, 6);
  CHECK_STR(data, "hello\n");
  free(data);
  CHECK_INT(ts_fs_read(path, 5, &data, &len, &err), TS_ERR_LIMIT);
  CHECK(strstr(err.msg, "page.html") != NULL);
  snprintf(path, sizeof path, "%s/missing.json", dir);
  CHECK_INT(ts_fs_read(path, 100, &data, &len, &err), TS_ERR_NOTFOUND);
  CHECK(strstr(err.msg, "missing.json: No such file") != NULL);
  REMOVE_TREE(dir);
}

/* ts_grow: from nothing, keeping what was there, doubling; an impossible
 * size fails and leaves the array as it was. */
static void grow_doubles_and_keeps(void)
{
  int *v = NULL;
  size_t cap = 0;
  CHECK(ts_grow(&v, &cap, 1, sizeof *v));
  CHECK_INT(cap, 16);
  for (int i = 0; i < 100; i++) {
    REQUIRE(ts_grow(&v, &cap, (size_t)i + 1, sizeof *v));
    v[i] = i * 3;
  }
  CHECK_INT(cap, 128);
  CHECK(ts_grow(&v, &cap, 50, sizeof *v)); /* already room: unchanged */
  CHECK_INT(cap, 128);
  int *before = v;
  CHECK(!ts_grow(&v, &cap, SIZE_MAX / 2, sizeof *v));
  CHECK(v == before);
  CHECK_INT(cap, 128);
  for (int i = 0; i < 100; i++)
    CHECK_INT(v[i], i * 3);
  free(v);
}

/* ts_fs_map maps a regular file, reads what cannot be mapped (a pipe, an
 * empty file), and keeps the limit and the messages of ts_fs_read. */
static void fs_map_maps_files_and_reads_the_rest(void)
{
  char dir[] = "/tmp/ts-test-map-XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char path[300], empty[300], fifo[300];
  snprintf(path, sizeof path, "%s/snapshot.json", dir);
  snprintf(empty, sizeof empty, "%s/empty.json", dir);
  snprintf(fifo, sizeof fifo, "%s/pipe", dir);
  struct ts_error err;
  REQUIRE(ts_fs_write_atomic(path, "{\"items\": []}", 14, &err) == TS_OK);
  REQUIRE(ts_fs_write_atomic(empty, "", 0, &err) == TS_OK);

  struct ts_fs_map m;
  CHECK_INT(ts_fs_map(path, 100, &m, &err), TS_OK);
  CHECK(m.mapped);
  CHECK_INT(m.len, 14);
  CHECK(memcmp(m.data, "{\"items\": []}", 14) == 0);
  ts_fs_unmap(&m);
  CHECK(m.data == NULL && m.len == 0);
  CHECK_INT(ts_fs_map(path, 13, &m, &err), TS_ERR_LIMIT);
  CHECK(strstr(err.msg, "snapshot.json: larger than the limit") != NULL);
  CHECK(m.data == NULL);
  ts_fs_unmap(&m); /* harmless after a failure */

  CHECK_INT(ts_fs_map(empty, 100, &m, &err), TS_OK);
  CHECK(!m.mapped);
  CHECK_INT(m.len, 0);
  ts_fs_unmap(&m);

  /* A pipe has no size to map: read to its end, from the descriptor
   * opened once (the writer's bytes would be lost to a second open, and
   * the test would hang: the alarm ends it instead). */
  REQUIRE(mkfifo(fifo, 0600) == 0);
  alarm(10);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    FILE *w = fopen(fifo, "w");
    if (w) {
      fputs("[1, 2, 3]", w);
      fclose(w);
    }
    _exit(0);
  }
  CHECK_INT(ts_fs_map(fifo, 100, &m, &err), TS_OK);
  CHECK(!m.mapped);
  CHECK_INT(m.len, 9);
  CHECK(m.data && memcmp(m.data, "[1, 2, 3]", 9) == 0);
  ts_fs_unmap(&m);
  int status = 0;
  waitpid(child, &status, 0);
  alarm(0);

  snprintf(path, sizeof path, "%s/missing.json", dir);
  CHECK_INT(ts_fs_map(path, 100, &m, &err), TS_ERR_NOTFOUND);
  CHECK(strstr(err.msg, "missing.json: No such file") != NULL);
  REMOVE_TREE(dir);
}

/* ts_fs_link_same links only a file with exactly the given bytes, and
 * leaves nothing behind whatever the outcome. */
static void fs_link_same_links_only_equal_files(void)
{
  char dir[] = "/tmp/ts-test-link-XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char src[300], dst[300], other[300];
  snprintf(src, sizeof src, "%s/published.json", dir);
  snprintf(dst, sizeof dst, "%s/run.json", dir);
  snprintf(other, sizeof other, "%s/other.json", dir);
  struct ts_error err;
  /* Larger than the comparison's buffer, so it compares in pieces. */
  size_t len = 100000;
  char *text = malloc(len);
  REQUIRE(text != NULL);
  for (size_t i = 0; i < len; i++)
    text[i] = (char)('a' + i % 26);
  REQUIRE(ts_fs_write_atomic(src, text, len, &err) == TS_OK);
  struct stat a, b;

  CHECK(!ts_fs_link_same(other, text, len, dst)); /* no such file */
  CHECK(access(dst, F_OK) != 0);
  CHECK(!ts_fs_link_same(src, text, len - 1, dst)); /* other size */
  text[len - 7] ^= 1;
  CHECK(!ts_fs_link_same(src, text, len, dst)); /* one byte differs */
  text[len - 7] ^= 1;
  CHECK(access(dst, F_OK) != 0);

  CHECK(ts_fs_link_same(src, text, len, dst));
  REQUIRE(stat(src, &a) == 0 && stat(dst, &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK_INT(b.st_nlink, 2);
  /* Again onto the same link (a re-run in the same second): rename does
   * nothing there, and the temporary name must not stay behind. */
  CHECK(ts_fs_link_same(src, text, len, dst));
  /* Onto an older, different file: replaced. */
  REQUIRE(ts_fs_write_atomic(other, "old", 3, &err) == TS_OK);
  CHECK(ts_fs_link_same(src, text, len, other));
  REQUIRE(stat(other, &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  size_t n = 0;
  char **names = ts_fs_list_dir(dir, true, &n);
  CHECK_INT(n, 3); /* other.json, published.json, run.json: no leftovers */
  ts_fs_free_names(names, n);
  free(text);
  REMOVE_TREE(dir);
}

/* ts_fs_link_id links the file the caller wrote while it is still that
 * file, of that size, without reading it; anything else is refused and
 * leaves nothing behind. */
static void fs_link_id_links_only_the_file_written(void)
{
  char dir[] = "/tmp/ts-test-linkid-XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char src[300], dst[300], moved[300];
  snprintf(src, sizeof src, "%s/published.json", dir);
  snprintf(dst, sizeof dst, "%s/run.json", dir);
  snprintf(moved, sizeof moved, "%s/moved.json", dir);
  int fd = open(src, O_WRONLY | O_CREAT | O_EXCL, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "[1, 2, 3]", 9) == 9);
  struct ts_fs_id id = ts_fs_id_of(fd);
  close(fd);
  CHECK(id.known);

  struct ts_fs_id unknown = {0, 0, false};
  CHECK(!ts_fs_link_id(src, unknown, 9, dst));
  CHECK(!ts_fs_link_id(src, id, 8, dst)); /* not the size written */
  CHECK(access(dst, F_OK) != 0);
  CHECK(ts_fs_link_id(src, id, 9, dst));
  struct stat a, b;
  REQUIRE(stat(src, &a) == 0 && stat(dst, &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK_INT(b.st_nlink, 2);

  /* Another file put in its place (same bytes, even): not the one
   * written, so not linked, and run.json keeps what it had. */
  REQUIRE(rename(src, moved) == 0);
  struct ts_error err;
  REQUIRE(ts_fs_write_atomic(src, "[1, 2, 3]", 9, &err) == TS_OK);
  CHECK(!ts_fs_link_id(src, id, 9, dst));
  REQUIRE(stat(dst, &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  size_t n = 0;
  char **names = ts_fs_list_dir(dir, true, &n);
  CHECK_INT(n, 3); /* moved.json, published.json, run.json: no leftovers */
  ts_fs_free_names(names, n);
  REMOVE_TREE(dir);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(append_and_printf),
    TEST(integers_append_exactly),
    TEST(long_printf_grows),
    TEST(cap_is_enforced_and_buffer_kept),
    TEST(detach_hands_over_memory),
    TEST(error_prefix_and_truncation),
    TEST(fs_roundtrip_and_limits),
    TEST(fs_link_same_links_only_equal_files),
    TEST(fs_link_id_links_only_the_file_written),
    TEST(fs_map_maps_files_and_reads_the_rest),
    TEST(grow_doubles_and_keeps),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}

/*
 * Small file-system helpers: whole-file reads with a cap, atomic writes,
 * `mkdir -p`. Errors name the path and the system's reason.
 */
#ifndef TS_FS_H
#define TS_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Reads all of `path` into a new NUL-terminated buffer (*out, caller frees)
 * of *len bytes. A file larger than `max` bytes is TS_ERR_LIMIT; a missing
 * file is TS_ERR_NOTFOUND. `len` may be NULL. */
enum ts_result ts_fs_read(const char *path, size_t max, char **out,
                          size_t *len, struct ts_error *err);

/* A whole file's bytes, read-only, from ts_fs_map. */
struct ts_fs_map {
  const char *data; /* `len` bytes, not always NUL-terminated; NULL after
                     * a failure or ts_fs_unmap */
  size_t len;
  bool mapped; /* munmap, not free, when done */
};

/* The bytes of `path` (at most `max`, else TS_ERR_LIMIT) without a copy:
 * a regular file is mapped, so a snapshot that is only fingerprinted costs
 * no more than the page-cache pages it already has; anything else (a pipe,
 * /dev/stdin, an empty file) is read as ts_fs_read does. The mapping sees
 * the file as it is: it must not be truncated while mapped, which files
 * trendsite writes never are (they are replaced by a rename). Release with
 * ts_fs_unmap (also harmless after a failure). */
enum ts_result ts_fs_map(const char *path, size_t max, struct ts_fs_map *out,
                         struct ts_error *err);
void ts_fs_unmap(struct ts_fs_map *m);

/* Writes `len` bytes to `path` through a temporary file in the same folder
 * and a rename, so readers see either the old or the new contents. */
enum ts_result ts_fs_write_atomic(const char *path, const void *data,
                                  size_t len, struct ts_error *err);

/* ts_fs_write_atomic's first half: writes the bytes to a new temporary
 * file beside `path` (mode 0644, like the result of a write) whose name
 * *staged gets (caller frees). rename(2) it over `path` to put it in
 * place, or unlink it. Nothing is left behind on failure (*staged NULL). */
enum ts_result ts_fs_stage(const char *path, const void *data, size_t len,
                           char **staged, struct ts_error *err);

/* Whether open file `fd` is a regular file of exactly `len` bytes equal
 * to `data` (read from offset 0 whatever the descriptor's position). */
bool ts_fs_same_bytes(int fd, const void *data, size_t len);

/* Which file a path named when it was written: the device and inode
 * that stat(2) reports. `known` is false when it could not be told. */
struct ts_fs_id {
  unsigned long long dev, ino;
  bool known;
};

/* The identity of open file `fd`, or of what `path` names (not following
 * a symbolic link); known false when it cannot be told. */
struct ts_fs_id ts_fs_id_of(int fd);
struct ts_fs_id ts_fs_id_at(const char *path);

/* Makes `path` a hard link to `existing` (through a temporary name and a
 * rename, as ts_fs_write_atomic) when `existing` is a regular file that
 * holds exactly the `len` bytes at `data`: the same file then costs no
 * second copy. False, with nothing changed, when it does not, or when
 * the link cannot be made (another file system, say): write it then. */
bool ts_fs_link_same(const char *existing, const void *data, size_t len,
                     const char *path);

/* ts_fs_link_same for a file the caller wrote itself, whose identity
 * (`id`, from when it wrote the bytes) vouches for its contents: links
 * only while `existing` is still that file, `len` bytes long, without
 * reading it back (for a large site's snapshot that read was most of
 * saving the history). False, with nothing changed, otherwise. */
bool ts_fs_link_id(const char *existing, struct ts_fs_id id, size_t len,
                   const char *path);

/* Creates `path` and its missing parents (mode 0755). */
enum ts_result ts_fs_mkdirs(const char *path, struct ts_error *err);

bool ts_fs_is_dir(const char *path);

/* The names in folder `dir`, sorted (strcmp), without "." and ".." and,
 * unless `hidden`, without names starting with '.'. *n gets the count.
 * Free with ts_fs_free_names. NULL (and *n = 0) for a missing or
 * unreadable folder or when out of memory. */
char **ts_fs_list_dir(const char *dir, bool hidden, size_t *n);

/* Sorts a list of names such as ts_fs_list_dir returns (strcmp: a path
 * comes before the paths it is a prefix of). */
void ts_fs_sort_names(char **names, size_t n);

void ts_fs_free_names(char **names, size_t n);

#endif

/*
 * Fingerprints: has anything that goes into the site changed since the
 * last run?
 *
 * A run on unchanged data has nothing to do: the site it would render is
 * byte for byte the one already published. The render stage fingerprints
 * everything the output depends on (the snapshots' bytes, the history in
 * the state folder, the templates, the configuration, the program's own
 * version and theme) and skips rendering when the fingerprint equals the
 * one saved by the last publish and the output folder is as that publish
 * left it. Files are fingerprinted by name, size and modification time,
 * as make does; bytes are hashed where they are already in memory; the
 * output folder is fingerprinted by its folders alone.
 *
 * The hash is two independent 64-bit lanes (128 bits): a change detector,
 * not a cryptographic digest.
 */
#ifndef TS_FINGERPRINT_H
#define TS_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ts_fingerprint {
  uint64_t a, b;
};

void ts_fingerprint_init(struct ts_fingerprint *fp);

/* Adds `len` bytes (and their length, so "ab"+"c" differs from "a"+"bc"). */
void ts_fingerprint_add(struct ts_fingerprint *fp, const void *data,
                        size_t len);
void ts_fingerprint_add_str(struct ts_fingerprint *fp, const char *s);
void ts_fingerprint_add_int(struct ts_fingerprint *fp, int64_t v);

/* Adds every file under `dir` (recursively; the order the folders list
 * them in does not matter) by relative name, size and modification time;
 * a missing folder adds a marker. */
void ts_fingerprint_add_tree(struct ts_fingerprint *fp, const char *dir);

/* 32 hex digits and a NUL. */
void ts_fingerprint_hex(const struct ts_fingerprint *fp, char out[33]);

/* The folders of the tree `dir`: "" for `dir` itself first, then every
 * folder under it (links not followed) by its path from `dir`, in no
 * particular order. Free with ts_fs_free_names. NULL (*n = 0) when `dir`
 * is missing, out of memory, or a mark failed.
 *
 * With `mark`, also sets each folder's modification time to a second ago.
 * A file system stamps changes with a clock that may tick only every few
 * milliseconds: a file deleted just after a publish would leave its
 * folder with the time the publish gave it, and go unseen. After the
 * mark, any change gives the folder a newer time. */
char **ts_fingerprint_folders(const char *dir, bool mark, size_t *n);

/* Marks the folders `names` of the tree `dir` as ts_fingerprint_folders
 * with `mark` does, for a caller that knows every folder already (the
 * publisher that made the tree): no walk, which would read the names of
 * every file too. Each folder is reached from `dir` one name at a time,
 * links not followed. False when one is missing or not a folder, or a
 * mark failed. */
bool ts_fingerprint_mark_folders(const char *dir, const char *const *names,
                                 size_t n);

/* Adds the folders `names` (from ts_fingerprint_folders) of the tree `dir`
 * by identity (device and inode) and modification and change times,
 * looking at nothing else: one stat per folder, however many files they
 * hold. A file added, removed, renamed or replaced (written elsewhere and
 * renamed over) changes its folder's times, and a folder replaced has
 * another identity; a file whose bytes were changed in place does not
 * show. False when `dir` or one of the folders is missing. */
bool ts_fingerprint_add_folders(struct ts_fingerprint *fp, const char *dir,
                                const char *const *names, size_t n);

/* The hex fingerprint (see ts_fingerprint_hex) of the folders `names` of
 * the tree `dir`, by ts_fingerprint_add_folders alone; false when one is
 * missing. */
bool ts_fingerprint_folders_hex(const char *dir, const char *const *names,
                                size_t n, char hex[33]);

#endif

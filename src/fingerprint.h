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
 * as make does; bytes are hashed where they are already in memory.
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

/* Adds every file under `dir` (recursively, in name order) by relative
 * name, size and modification time; a missing folder adds a marker. */
void ts_fingerprint_add_tree(struct ts_fingerprint *fp, const char *dir);

/* 32 hex digits and a NUL. */
void ts_fingerprint_hex(const struct ts_fingerprint *fp, char out[33]);

/* Counts the files under `dir` and their total size; false when `dir` is
 * missing. Used to check an output folder is as a publish left it. */
bool ts_fingerprint_tree_size(const char *dir, uint64_t *files,
                              uint64_t *bytes);

#endif

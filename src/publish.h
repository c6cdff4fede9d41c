/*
 * Publishing: the new site replaces the old one completely or not at all.
 *
 * Files are written into a temporary folder beside the output folder, and
 * when every file is there the two folders are swapped (one atomic
 * renameat2(RENAME_EXCHANGE) where the file system supports it, two
 * renames otherwise). On any failure the temporary folder is removed and
 * the previous output is untouched.
 *
 * A file whose bytes did not change is not written again: it is hard-linked
 * from the previous tree, so a deploy diff shows only real changes. And as
 * long as every file so far matched, nothing is created at all: a run on
 * unchanged data compares and finishes without a single write.
 *
 * Every path is checked before use: relative, no "..", no empty or "."
 * segments, a small safe character set. Nothing can be written outside the
 * output folder whatever an item's id or title holds.
 */
#ifndef TS_PUBLISH_H
#define TS_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

struct ts_publish;

struct ts_publish_stats {
  size_t files;     /* files in the new tree */
  size_t written;   /* new or changed, written */
  size_t unchanged; /* identical to the previous tree */
  size_t removed;   /* in the previous tree, not in the new one */
  size_t bytes;     /* bytes written */
  size_t total_bytes; /* bytes of every file in the new tree */
  bool swapped;     /* false when nothing changed and nothing was touched */
};

/* Starts publishing into `out_dir` (created on commit if missing). Removes
 * temporary folders left by crashed runs. Caller ends with _commit or
 * _abort, either of which frees `*out`. */
enum ts_result ts_publish_begin(const char *out_dir, const struct ts_log *log,
                                struct ts_publish **out, struct ts_error *err);

/* Whether `relpath` is acceptable as an output path (see above). */
bool ts_publish_path_ok(const char *relpath);

/* Adds one file to the new tree. TS_ERR_INTERNAL for an unsafe path or a
 * path written twice. Several threads may add files at once (the rest of
 * the functions are for one thread). */
enum ts_result ts_publish_file(struct ts_publish *pub, const char *relpath,
                               const void *data, size_t len,
                               struct ts_error *err);

/* ts_publish_file, and *id gets the identity of the file the new tree
 * holds at `relpath` (known false when it cannot be told): once
 * committed, the same file is there under the output folder, so a caller
 * that links it elsewhere need not read it back to know its bytes. */
enum ts_result ts_publish_file_id(struct ts_publish *pub, const char *relpath,
                                  const void *data, size_t len,
                                  struct ts_fs_id *id, struct ts_error *err);

/* Swaps the new tree in (or does nothing when nothing changed), removes
 * the old one, fills `stats` (may be NULL) and frees `pub`. On failure the
 * old output is as it was. */
enum ts_result ts_publish_commit(struct ts_publish *pub,
                                 struct ts_publish_stats *stats,
                                 struct ts_error *err);

/* ts_publish_commit, and then the folders of the tree it published, when
 * it knows them all: it swapped in a tree it made, in which every folder
 * is one a file went into or one above such a folder. *folders then gets
 * their paths from the output folder ("" for the output folder itself,
 * each folder before the folders inside it), *nfolders their count; the
 * caller frees them with ts_fs_free_names. Otherwise (nothing changed,
 * or more folders than it keeps track of) *folders is NULL: a walk of
 * the output folder finds them. */
enum ts_result ts_publish_commit_folders(struct ts_publish *pub,
                                         struct ts_publish_stats *stats,
                                         char ***folders, size_t *nfolders,
                                         struct ts_error *err);

/* Drops the new tree and frees `pub`; the output is untouched. */
void ts_publish_abort(struct ts_publish *pub);

#endif

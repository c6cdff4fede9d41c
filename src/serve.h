/*
 * `trendsite serve`: a small static file server for previewing the output
 * folder on loopback.
 *
 * It binds 127.0.0.1 only, answers GET and HEAD with the right content
 * types, serves `index.html` for folders and the site's own `404.html` for
 * missing files, and never serves anything outside the folder: `..`
 * segments, encoded or not, and symbolic links that lead out are refused.
 * It is a preview tool, not a production server.
 */
#ifndef TS_SERVE_H
#define TS_SERVE_H

#include <stdbool.h>

#include "util/error.h"
#include "util/log.h"

struct ts_serve_options {
  const char *root;         /* folder to serve */
  const char *host;         /* "127.0.0.1" unless a test needs otherwise */
  int port;                 /* 0: pick a free port */
  const char *port_file;    /* when set, the chosen port is written here */
  const struct ts_log *log; /* borrowed; request lines at debug level */
};

/* Serves until SIGINT or SIGTERM. Returns TS_OK after a clean stop;
 * TS_ERR_IO (with `err`) when the folder is missing or the port is taken. */
enum ts_result ts_serve_run(const struct ts_serve_options *opts,
                            struct ts_error *err);

/* The Content-Type for a file name ("text/html; charset=utf-8"); static. */
const char *ts_serve_content_type(const char *path);

/*
 * Maps a request target ("/regions/JP.html?x=1") to a path relative to the
 * root ("regions/JP.html"), decoding %XX. Returns false for anything that
 * could leave the root or is malformed: a ".." segment, a NUL or control
 * byte, a backslash, a bad escape. `out` gets "" for "/".
 */
bool ts_serve_map_path(const char *target, char *out, size_t size);

#endif

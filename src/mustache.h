/*
 * The Mustache template engine: template source -> compiled tree -> output.
 *
 * Users customise the site by editing templates, so the engine implements
 * the whole official specification (interpolation, sections, inverted
 * sections, comments, partials, set delimiters, template inheritance with
 * parents and blocks, dynamic partial names) except lambdas: the data is
 * JSON, which has no functions. docs/mustache.md describes the language.
 *
 * Life cycle:
 *
 *   struct ts_mustache_env *env = ts_mustache_env_new(&opts);
 *   const struct ts_mustache *page;
 *   ts_mustache_compile_file(env, "templates/item.html.mustache", &page, &err);
 *   for each item: ts_mustache_render(page, item, sink, &err);
 *   ts_mustache_env_free(env);  // frees every template compiled in it
 *
 * A template is compiled once: its text is parsed into a flat node array,
 * dotted names are split, escaping and standalone/indentation rules are
 * resolved, and the partials and parents it names are loaded from the
 * search path and compiled too (once per environment). Rendering walks the
 * nodes with an explicit stack, so neither parsing nor rendering recurses in
 * C, and writes through a 64 KiB buffer to a sink: a page is never held
 * whole in memory unless the sink keeps it.
 *
 * An environment and its templates belong to one thread at a time.
 */
#ifndef TS_MUSTACHE_H
#define TS_MUSTACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/error.h"
#include "value.h"

/* How `{{name}}` is escaped; decided by the template's file name (see
 * ts_mustache_escape_for_name). `{{{name}}}` and `{{&name}}` never escape. */
enum ts_mustache_escape {
  TS_MUSTACHE_ESCAPE_HTML = 0, /* & < > " ' as entities (the spec default) */
  TS_MUSTACHE_ESCAPE_JSON,     /* the inside of a JSON string, HTML-safe */
  TS_MUSTACHE_ESCAPE_XML,      /* & < > " ' as entities, invalid chars U+FFFD */
  TS_MUSTACHE_ESCAPE_NONE      /* plain text: bytes as they are */
};

/* Defaults used when a field is 0. */
#define TS_MUSTACHE_MAX_PARTIAL_DEPTH 64
#define TS_MUSTACHE_MAX_SECTION_DEPTH 1000
#define TS_MUSTACHE_MAX_OUTPUT ((size_t)256 << 20)
#define TS_MUSTACHE_MAX_TEMPLATE ((size_t)16 << 20)
#define TS_MUSTACHE_MAX_STEPS ((size_t)1000000000)

struct ts_mustache_options {
  /* The template search path, in order: partial `name` is the first
   * DIR/name.mustache found (see docs/mustache.md for the typed variant).
   * Borrowed; ts_mustache_env_new copies the strings. */
  const char *const *dirs;
  size_t ndirs;
  /* Check mode: a partial or parent that cannot be found is an error
   * instead of rendering as empty. Used by `trendsite check`. */
  bool check;
  /* Partials, parents and blocks nested deeper than this at render time
   * are an error (TS_ERR_LIMIT). 0 = TS_MUSTACHE_MAX_PARTIAL_DEPTH. */
  unsigned max_partial_depth;
  /* Sections, blocks and parents nested deeper than this inside one
   * template are a compile error. 0 = TS_MUSTACHE_MAX_SECTION_DEPTH. */
  unsigned max_section_depth;
  /* A render that would write more bytes than this fails (TS_ERR_LIMIT).
   * 0 = TS_MUSTACHE_MAX_OUTPUT. */
  size_t max_output;
  /* Template files larger than this are not read. At most 1 GiB.
   * 0 = TS_MUSTACHE_MAX_TEMPLATE. */
  size_t max_template_bytes;
  /* A render that visits more template nodes than this fails: nested
   * loops over large arrays, or partials recursing over deep data, can
   * take exponential time while writing nothing, which the output cap
   * cannot stop. 0 = TS_MUSTACHE_MAX_STEPS (some seconds of work). */
  size_t max_steps;
};

/* A compilation environment: options, in-memory partials, and the cache of
 * every template compiled in it. Opaque. */
struct ts_mustache_env;

/* A compiled template. Opaque; owned by its environment. */
struct ts_mustache;

/* Creates an environment; `opts` may be NULL for the defaults (no search
 * directories, normal mode). Caller frees with ts_mustache_env_free. NULL
 * when out of memory. */
struct ts_mustache_env *
ts_mustache_env_new(const struct ts_mustache_options *opts);

/* Frees the environment and every template compiled in it. NULL is a
 * no-op. */
void ts_mustache_env_free(struct ts_mustache_env *env);

/* Declares that `value` (an object or array; anything else is ignored)
 * and everything in it will not change while the environment exists:
 * the caller keeps it alive and unchanged until ts_mustache_env_free.
 * Renders may then remember what they found in it from one render to the
 * next: data that every render shares, such as a site's navigation, is
 * then looked up once rather than once per page, and a section over it
 * is rendered once and its output reused while the names its body reads
 * outside frozen data keep their values (docs/mustache.md). Changing a
 * frozen value afterwards makes later renders print stale data. Frozen
 * data counts when it is reached through ts_mustache_render_value (the
 * JSON forms convert their data afresh each time). TS_ERR_NOMEM when out
 * of memory. */
enum ts_result ts_mustache_env_freeze(struct ts_mustache_env *env,
                                      struct ts_value value);

/* A copy of `env` and of every template compiled in it, for another
 * thread: copying is much cheaper than compiling again (no files to
 * find and read, no parsing). `copies[i]` receives the copy of
 * `tpls[i]` (a template of `env`; NULL stays NULL). Frozen values and
 * what renders remembered are not copied. NULL when out of memory; the
 * caller frees the copy with ts_mustache_env_free. */
struct ts_mustache_env *ts_mustache_env_clone(
    const struct ts_mustache_env *env, const struct ts_mustache *const *tpls,
    const struct ts_mustache **copies, size_t n);

/* Registers an in-memory partial (the source is copied). In-memory partials
 * are searched before the directories. Register them before compiling: a
 * name already looked up keeps its earlier result. */
enum ts_result ts_mustache_env_add_partial(struct ts_mustache_env *env,
                                           const char *name, const char *src,
                                           size_t len, struct ts_error *err);

/* Compiles a template file and, transitively, the partials and parents it
 * names. `name_or_path` ending in ".mustache" is a file path (relative to
 * the working directory); anything else is a template name looked up like
 * a partial (in-memory partials, then DIR/name.mustache). The escaping
 * comes from the file name. Compiling the same file twice returns the
 * cached template. *out is borrowed from `env` and valid until
 * ts_mustache_env_free. On error `err` says FILE:LINE:COL: message. */
enum ts_result ts_mustache_compile_file(struct ts_mustache_env *env,
                                        const char *name_or_path,
                                        const struct ts_mustache **out,
                                        struct ts_error *err);

/* Compiles `len` bytes of template source (need not be NUL-terminated).
 * `display_name` names it in error messages. *out is borrowed from `env`
 * (not cached by name: each call compiles again). */
enum ts_result ts_mustache_compile_string(struct ts_mustache_env *env,
                                          const char *display_name,
                                          const char *src, size_t len,
                                          enum ts_mustache_escape escape,
                                          const struct ts_mustache **out,
                                          struct ts_error *err);

/* Where rendered bytes go. `write` receives every byte of the output in
 * order, in chunks of up to 64 KiB; it returns TS_OK or an error, which
 * ends the render (it may fill `err`, else a generic message is used). */
struct ts_mustache_sink {
  enum ts_result (*write)(void *ctx, const char *data, size_t len,
                          struct ts_error *err);
  void *ctx;
};

/* Ready-made sinks. The buffer, descriptor or stream is borrowed and must
 * outlive the render. The ts_buf sink honours the buffer's own cap. */
struct ts_mustache_sink ts_mustache_sink_buf(struct ts_buf *buf);
struct ts_mustache_sink ts_mustache_sink_fd(int fd);
struct ts_mustache_sink ts_mustache_sink_file(FILE *stream);

/* Renders `tpl` with `data` (borrowed, not modified; any value, NULL for
 * none) as the root of the context stack. `data` must not change until
 * the render returns, not even from the sink: lookups in it are
 * remembered for the length of the render. Output already written to
 * the sink stays there when rendering fails part way (output cap,
 * partial depth, a sink error, a dynamic partial that does not
 * compile). */
enum ts_result ts_mustache_render_value(const struct ts_mustache *tpl,
                                        const struct ts_value *data,
                                        struct ts_mustache_sink sink,
                                        struct ts_error *err);

/* Renders and appends the output to `out` (which must be initialised). */
enum ts_result ts_mustache_render_value_to_buf(const struct ts_mustache *tpl,
                                               const struct ts_value *data,
                                               struct ts_buf *out,
                                               struct ts_error *err);

/* The same with JSON data (NULL: null), converted for the render: for
 * callers that have JSON at hand (the `mustache` command, the spec
 * tests). */
enum ts_result ts_mustache_render(const struct ts_mustache *tpl,
                                  const json_t *data,
                                  struct ts_mustache_sink sink,
                                  struct ts_error *err);

enum ts_result ts_mustache_render_to_buf(const struct ts_mustache *tpl,
                                         const json_t *data, struct ts_buf *out,
                                         struct ts_error *err);

/* The escaping for a template file name: the extension before ".mustache"
 * (or the last one when there is no ".mustache"): html/htm -> HTML,
 * json -> JSON, xml/atom/rss/svg -> XML, txt -> NONE, anything else -> HTML
 * as the spec requires. */
enum ts_mustache_escape ts_mustache_escape_for_name(const char *filename);

/* The name the template was compiled under (file path, partial name or
 * display name). Borrowed from the template. */
const char *ts_mustache_name(const struct ts_mustache *tpl);

/* Compiles every *.mustache file under `dir` (recursively; names starting
 * with '.' are skipped) in check mode, with `dir` as the search path, and
 * calls `report` once per distinct error message (FILE:LINE:COL: message),
 * in file name order. *ntemplates and *nerrors receive the counts. Returns
 * an error only when the folder cannot be read. */
enum ts_result ts_mustache_check_dir(
    const char *dir, void (*report)(void *ctx, const char *message), void *ctx,
    size_t *ntemplates, size_t *nerrors, struct ts_error *err);

/* The same with an environment the caller prepared (its search path and
 * in-memory partials, such as a built-in theme to fall back on), which
 * should be in check mode. The files checked are still those under
 * `dir`. */
enum ts_result ts_mustache_check_dir_env(
    struct ts_mustache_env *env, const char *dir,
    void (*report)(void *ctx, const char *message), void *ctx,
    size_t *ntemplates, size_t *nerrors, struct ts_error *err);

/* Appends the shortest text that reads back as `value` (JavaScript's
 * Number#toString rules: 1.1, 1e+21, 5e-7, 0 for -0). At most 32 bytes are
 * written to `out`, which is not NUL-terminated; returns the length. */
size_t ts_mustache_format_double(double value, char out[32]);

#endif

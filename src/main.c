/*
 * trendsite: command line, options and exit codes. Nothing else lives here:
 * every command is a few calls into the pipeline modules.
 */
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "mustache.h"
#include "pipeline.h"
#include "snapshot.h"
#include "theme.h"
#include "serve.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "version.h"

/* Exit codes, as documented in README.md. */
enum {
  EXIT_PUBLISHED = 0, /* published, every source fresh */
  EXIT_USAGE = 1,     /* usage or configuration error */
  EXIT_NOTHING = 2,   /* nothing published; previous output untouched */
  EXIT_PARTIAL = 3    /* published, at least one source stale */
};

struct cli {
  struct ts_log log;
  const char *usage; /* the current command's argument synopsis */
  const char *command;
  int argc; /* the command's own arguments, options still in them */
  char **argv;
};

struct command {
  const char *name;
  const char *synopsis;
  int (*run)(struct cli *cli);
};

/* A command's option: `--name VALUE`, `--name=VALUE`, `-c VALUE` or a flag. */
struct opt {
  const char *name;  /* long name without "--" */
  char short_name;   /* 0 when none */
  const char **value; /* set for options that take a value */
  bool *flag;         /* set for flags */
};

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int command_error(const struct cli *cli, const char *fmt, ...);
static void print_usage(FILE *out);

/*
 * Parses a command's arguments: options from `opts` anywhere on the line,
 * the global -q/-v, and up to `max_pos` positional arguments (stored in
 * `pos`, count in *npos). "--" ends the options. Returns -1 after printing
 * a usage error, 1 when --help was printed, 0 otherwise.
 */
static int parse_options(struct cli *cli, const struct opt *opts,
                         const char *usage, const char **pos, int max_pos,
                         int *npos)
{
  *npos = 0;
  cli->usage = usage;
  bool only_pos = false;
  for (int i = 0; i < cli->argc; i++) {
    const char *a = cli->argv[i];
    if (only_pos || a[0] != '-' || a[1] == '\0') {
      if (*npos == max_pos)
        return command_error(cli, "unexpected argument '%s'", a), -1;
      pos[(*npos)++] = a;
      continue;
    }
    if (!strcmp(a, "--")) {
      only_pos = true;
      continue;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf("usage: trendsite %s %s\n", cli->command, usage);
      return 1;
    }
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      cli->log.level = TS_LOG_ERROR;
      continue;
    }
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      cli->log.level = TS_LOG_DEBUG;
      continue;
    }
    const struct opt *o = NULL;
    const char *inline_value = NULL;
    for (const struct opt *c = opts; c && c->name; c++) {
      size_t n = strlen(c->name);
      if (a[1] == '-' && !strncmp(a + 2, c->name, n) &&
          (a[2 + n] == '\0' || a[2 + n] == '=')) {
        o = c;
        inline_value = a[2 + n] == '=' ? a + 3 + n : NULL;
        break;
      }
      if (a[1] != '-' && c->short_name && a[1] == c->short_name &&
          a[2] == '\0') {
        o = c;
        break;
      }
    }
    if (!o)
      return command_error(cli, "unknown option '%s'", a), -1;
    if (o->flag) {
      if (inline_value)
        return command_error(cli, "option '%s' takes no value", a), -1;
      *o->flag = true;
    } else if (inline_value) {
      *o->value = inline_value;
    } else if (i + 1 < cli->argc) {
      *o->value = cli->argv[++i];
    } else {
      return command_error(cli, "option '%s' needs a value", a), -1;
    }
  }
  return 0;
}

static int cmd_serve(struct cli *cli)
{
  const char *port_text = "8000", *port_file = NULL;
  const struct opt opts[] = {
    {"port", 'p', &port_text, NULL},
    {"port-file", 0, &port_file, NULL},
    {NULL, 0, NULL, NULL},
  };
  const char *pos[1];
  int npos;
  int rc = parse_options(cli, opts, "[--port N] [DIR]", pos, 1, &npos);
  if (rc)
    return rc < 0 ? EXIT_USAGE : EXIT_PUBLISHED;
  char *end;
  long port = strtol(port_text, &end, 10);
  if (*end || end == port_text || port < 0 || port > 65535)
    return command_error(cli, "--port: \"%s\" is not a port number "
                         "(0-65535)", port_text);
  struct ts_serve_options so = {
    .root = npos ? pos[0] : "site",
    .port = (int)port,
    .port_file = port_file,
    .log = &cli->log,
  };
  struct ts_error err;
  if (ts_serve_run(&so, &err) != TS_OK) {
    ts_log_error(&cli->log, "%s", err.msg);
    return EXIT_USAGE;
  }
  return EXIT_PUBLISHED;
}

/* trendsite mustache [--partials DIR] TEMPLATE DATA.json */
static int cmd_mustache(struct cli *cli)
{
  static const char usage[] = "[--partials DIR] TEMPLATE DATA.json";
  const char *partials = NULL;
  const struct opt opts[] = {{"partials", 'p', &partials, NULL},
                             {NULL, 0, NULL, NULL}};
  const char *pos[2];
  int npos;
  int rc = parse_options(cli, opts, usage, pos, 2, &npos);
  if (rc != 0)
    return rc < 0 ? EXIT_USAGE : EXIT_PUBLISHED;
  if (npos < 2)
    return usage_error("missing %s (usage: trendsite mustache %s)",
                       npos == 0 ? "TEMPLATE and DATA.json" : "DATA.json",
                       usage);
  const char *tpl_path = pos[0], *data_path = pos[1];

  /* Partials come from the template's own folder unless told otherwise. */
  char dir[4096];
  if (!partials) {
    const char *slash = strrchr(tpl_path, '/');
    if (!slash)
      snprintf(dir, sizeof dir, ".");
    else
      snprintf(dir, sizeof dir, "%.*s", (int)(slash - tpl_path + 1), tpl_path);
    partials = dir;
  }
  struct ts_error err;
  char *src = NULL;
  size_t len = 0;
  if (ts_fs_read(tpl_path, TS_MUSTACHE_MAX_TEMPLATE, &src, &len, &err) !=
      TS_OK) {
    fprintf(stderr, "trendsite: %s\n", err.msg);
    return EXIT_USAGE;
  }
  json_error_t jerr;
  json_t *data = json_load_file(data_path, JSON_DECODE_ANY, &jerr);
  if (!data) {
    free(src);
    if (jerr.line > 0)
      fprintf(stderr, "trendsite: %s:%d:%d: %s\n", data_path, jerr.line,
              jerr.column, jerr.text);
    else
      fprintf(stderr, "trendsite: %s\n", jerr.text);
    return EXIT_USAGE;
  }
  const char *dirs[] = {partials};
  struct ts_mustache_options mopts = {.dirs = dirs, .ndirs = 1};
  struct ts_mustache_env *env = ts_mustache_env_new(&mopts);
  const struct ts_mustache *tpl = NULL;
  enum ts_result r = env ? TS_OK : TS_ERR_NOMEM;
  if (!env)
    ts_error_set(&err, r, "out of memory");
  if (r == TS_OK)
    r = ts_mustache_compile_string(env, tpl_path, src, len,
                                   ts_mustache_escape_for_name(tpl_path),
                                   &tpl, &err);
  if (r == TS_OK)
    r = ts_mustache_render(tpl, data, ts_mustache_sink_fd(1), &err);
  if (r != TS_OK)
    fprintf(stderr, "trendsite: %s\n", err.msg);
  ts_mustache_env_free(env);
  json_decref(data);
  free(src);
  return r == TS_OK ? EXIT_PUBLISHED : EXIT_USAGE;
}

static void print_finding(void *ctx, const char *message)
{
  (void)ctx;
  printf("%s\n", message);
}

/* trendsite check [--templates DIR] */
static int cmd_check(struct cli *cli)
{
  const char *dir = "templates";
  const struct opt opts[] = {{"templates", 't', &dir, NULL},
                             {NULL, 0, NULL, NULL}};
  int npos;
  int rc = parse_options(cli, opts, "[--templates DIR]", NULL, 0, &npos);
  if (rc != 0)
    return rc < 0 ? EXIT_USAGE : EXIT_PUBLISHED;
  size_t ntemplates = 0, nerrors = 0;
  struct ts_error err;
  /* Checked as the site renders them: a user's folder overrides single
   * files and falls back on the built-in theme for the rest. */
  const char *dirs[] = {dir};
  struct ts_mustache_options mo = {.dirs = dirs, .ndirs = 1, .check = true};
  struct ts_mustache_env *env = ts_mustache_env_new(&mo);
  enum ts_result r =
      env ? ts_theme_add_fallbacks(env, dir, &err)
          : ts_error_set(&err, TS_ERR_NOMEM, "out of memory");
  if (r == TS_OK)
    r = ts_mustache_check_dir_env(env, dir, print_finding, NULL, &ntemplates,
                                  &nerrors, &err);
  ts_mustache_env_free(env);
  if (r != TS_OK) {
    ts_log_error(&cli->log, "%s", err.msg);
    return EXIT_USAGE;
  }
  fflush(stdout);
  ts_log_info(&cli->log, "checked %zu template%s, %zu error%s", ntemplates,
              ntemplates == 1 ? "" : "s", nerrors, nerrors == 1 ? "" : "s");
  return nerrors ? EXIT_USAGE : EXIT_PUBLISHED;
}

/* ---- run, fetch, render ------------------------------------------------ */

/* Loads the configuration; prints the error and returns NULL on failure. */
static struct ts_config *load_config(struct cli *cli, const char *path)
{
  struct ts_config *cfg = NULL;
  struct ts_error err;
  if (ts_config_load(path, &cli->log, &cfg, &err) != TS_OK) {
    ts_log_error(&cli->log, "%s", err.msg);
    return NULL;
  }
  return cfg;
}

/* "2/4" -> index 2 of 4. */
static bool parse_shard(const char *text, unsigned *index, unsigned *count)
{
  char *end;
  unsigned long i = strtoul(text, &end, 10);
  if (end == text || *end != '/')
    return false;
  const char *rest = end + 1;
  unsigned long n = strtoul(rest, &end, 10);
  if (end == rest || *end || n < 1 || n > 1000 || i < 1 || i > n)
    return false;
  *index = (unsigned)i;
  *count = (unsigned)n;
  return true;
}

static int exit_for(enum ts_outcome outcome)
{
  switch (outcome) {
  case TS_PUBLISHED: return EXIT_PUBLISHED;
  case TS_PUBLISHED_STALE: return EXIT_PARTIAL;
  case TS_NOT_PUBLISHED: return EXIT_NOTHING;
  }
  return EXIT_NOTHING;
}

/* The end of run and render: what was published, and the exit status. */
static int finish_render(struct cli *cli, enum ts_result r,
                         enum ts_outcome outcome, const struct ts_error *err)
{
  if (r != TS_OK)
    ts_log_error(&cli->log, "%s", err->msg);
  if (outcome == TS_PUBLISHED_STALE && r == TS_OK)
    ts_log_warn(&cli->log, "published, but some lists failed or show "
                "last-good data (see status.html)");
  return exit_for(outcome);
}

/* trendsite run [--config FILE] [--out DIR] */
static int cmd_run(struct cli *cli)
{
  const char *config_path = "trendsite.json", *out = NULL;
  const struct opt opts[] = {{"config", 'c', &config_path, NULL},
                             {"out", 'o', &out, NULL},
                             {NULL, 0, NULL, NULL}};
  int npos;
  int rc = parse_options(cli, opts, "[--config FILE] [--out DIR]", NULL, 0,
                         &npos);
  if (rc)
    return rc < 0 ? EXIT_USAGE : EXIT_PUBLISHED;
  struct ts_config *cfg = load_config(cli, config_path);
  if (!cfg)
    return EXIT_USAGE;
  struct ts_error err;
  int64_t now;
  if (ts_clock_now(&now, &err) != TS_OK) {
    ts_log_error(&cli->log, "%s", err.msg);
    ts_config_free(cfg);
    return EXIT_USAGE;
  }
  struct ts_pipeline_options po = {
    .config = cfg, .log = &cli->log, .out_dir = out, .progress = true};
  struct ts_buf snapshot;
  ts_buf_init(&snapshot, 0);
  enum ts_outcome outcome = TS_NOT_PUBLISHED;
  enum ts_result r = ts_pipeline_fetch(&po, now, &snapshot, &err);
  if (r == TS_OK) {
    /* The same path as `render --from`: whole and sharded runs agree. */
    struct ts_pipeline_input in = {"this run's snapshot",
                                   ts_buf_cstr(&snapshot), snapshot.len};
    r = ts_pipeline_render(&po, &in, 1, &outcome, &err);
  }
  ts_buf_cleanup(&snapshot);
  ts_config_free(cfg);
  return finish_render(cli, r, outcome, &err);
}

/* trendsite fetch [--config FILE] --out SNAPSHOT.json [--shard I/N] */
static int cmd_fetch(struct cli *cli)
{
  static const char usage[] = "[--config FILE] --out SNAPSHOT.json "
                              "[--shard I/N]";
  const char *config_path = "trendsite.json", *out = NULL, *shard = NULL;
  const struct opt opts[] = {{"config", 'c', &config_path, NULL},
                             {"out", 'o', &out, NULL},
                             {"shard", 0, &shard, NULL},
                             {NULL, 0, NULL, NULL}};
  int npos;
  int rc = parse_options(cli, opts, usage, NULL, 0, &npos);
  if (rc)
    return rc < 0 ? EXIT_USAGE : EXIT_PUBLISHED;
  if (!out)
    return command_error(cli, "missing --out SNAPSHOT.json");
  struct ts_pipeline_options po = {.log = &cli->log, .progress = true,
                                   .shard_index = 1, .shard_count = 1};
  if (shard && !parse_shard(shard, &po.shard_index, &po.shard_count))
    return command_error(cli, "--shard: \"%s\" is not I/N with 1 <= I <= N "
                         "(like 2/4)", shard);
  struct ts_config *cfg = load_config(cli, config_path);
  if (!cfg)
    return EXIT_USAGE;
  po.config = cfg;
  struct ts_error err;
  int64_t now;
  struct ts_buf snapshot;
  ts_buf_init(&snapshot, 0);
  enum ts_result r = ts_clock_now(&now, &err);
  if (r == TS_OK)
    r = ts_pipeline_fetch(&po, now, &snapshot, &err);
  if (r == TS_OK)
    r = ts_fs_write_atomic(out, ts_buf_cstr(&snapshot), snapshot.len, &err);
  ts_buf_cleanup(&snapshot);
  ts_config_free(cfg);
  if (r != TS_OK) {
    ts_log_error(&cli->log, "%s", err.msg);
    return r == TS_ERR_CONFIG ? EXIT_USAGE : EXIT_NOTHING;
  }
  ts_log_info(&cli->log, "wrote %s", out);
  return EXIT_PUBLISHED;
}

/* trendsite render [--config FILE] [--out DIR] --from SNAPSHOT.json...
 *                  [--dump-context PAGE] */
static int cmd_render(struct cli *cli)
{
  static const char usage[] = "[--config FILE] [--out DIR] --from "
                              "SNAPSHOT.json... [--dump-context PAGE]";
  const char *config_path = "trendsite.json", *out = NULL, *from = NULL,
             *dump = NULL;
  const struct opt opts[] = {{"config", 'c', &config_path, NULL},
                             {"out", 'o', &out, NULL},
                             {"from", 'f', &from, NULL},
                             {"dump-context", 0, &dump, NULL},
                             {NULL, 0, NULL, NULL}};
  enum { MAX_SNAPSHOTS = 1000 };
  const char *pos[MAX_SNAPSHOTS];
  int npos;
  int rc = parse_options(cli, opts, usage, pos, MAX_SNAPSHOTS - 1, &npos);
  if (rc)
    return rc < 0 ? EXIT_USAGE : EXIT_PUBLISHED;
  if (!from)
    return command_error(cli, "missing --from SNAPSHOT.json");
  /* `--from a.json b.json c.json`: the names after the first are
   * positional; a shell glob of shard files expands into exactly that. */
  const char *names[MAX_SNAPSHOTS];
  size_t n = 0;
  names[n++] = from;
  for (int i = 0; i < npos; i++)
    names[n++] = pos[i];
  struct ts_config *cfg = load_config(cli, config_path);
  if (!cfg)
    return EXIT_USAGE;
  /* Mapped, not read: an unchanged run only fingerprints them. */
  struct ts_fs_map maps[MAX_SNAPSHOTS];
  struct ts_pipeline_input inputs[MAX_SNAPSHOTS];
  size_t loaded = 0;
  int status = EXIT_PUBLISHED;
  for (; loaded < n; loaded++) {
    struct ts_error err;
    if (ts_fs_map(names[loaded], (size_t)1 << 30, &maps[loaded], &err) !=
        TS_OK) {
      ts_log_error(&cli->log, "%s", err.msg);
      status = EXIT_NOTHING;
      break;
    }
    inputs[loaded] = (struct ts_pipeline_input){
      names[loaded], maps[loaded].data, maps[loaded].len};
  }
  if (status == EXIT_PUBLISHED) {
    struct ts_pipeline_options po = {.config = cfg, .log = &cli->log,
                                     .out_dir = out, .dump_context = dump};
    enum ts_outcome outcome = TS_NOT_PUBLISHED;
    struct ts_error err;
    enum ts_result r = ts_pipeline_render(&po, inputs, n, &outcome, &err);
    status = dump ? (r == TS_OK ? EXIT_PUBLISHED : EXIT_USAGE)
                  : finish_render(cli, r, outcome, &err);
    if (dump && r != TS_OK)
      ts_log_error(&cli->log, "%s", err.msg);
  }
  for (size_t i = 0; i < loaded; i++)
    ts_fs_unmap(&maps[i]);
  ts_config_free(cfg);
  return status;
}

static const struct command commands[] = {
  {"run", "fetch every source and publish the site (the main job)", cmd_run},
  {"fetch", "fetch (a shard of) the sources into a snapshot file", cmd_fetch},
  {"render", "render and publish the site from snapshot files", cmd_render},
  {"mustache", "render TEMPLATE with DATA.json to stdout", cmd_mustache},
  {"check", "parse every template, report errors as FILE:LINE:COL",
   cmd_check},
  {"serve", "preview the output folder on http://127.0.0.1:8000/", cmd_serve},
  {NULL, NULL, NULL},
};

static void print_usage(FILE *out)
{
  fputs("usage: trendsite [-q|-v] COMMAND [ARGS...]\n"
        "       trendsite --help | --version\n",
        out);
}

static void print_help(void)
{
  print_usage(stdout);
  fputs("\nTurns scheduled API fetches into a static website.\n\n"
        "Commands:\n",
        stdout);
  for (const struct command *c = commands; c->name; c++)
    printf("  %-10s %s\n", c->name, c->synopsis);
  fputs("\nOptions:\n"
        "  -q, --quiet    only errors\n"
        "  -v, --verbose  one line per request, with timings\n"
        "  -h, --help     this help\n"
        "  -V, --version  print the version\n"
        "\nExit codes: 0 published, 1 usage or config error, 2 nothing "
        "published,\n3 published but a source is stale.\n",
        stdout);
}

/* One-line error plus the usage, as curl and jq do. */
static int usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("trendsite: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  print_usage(stderr);
  fputs("Try 'trendsite --help' for more information.\n", stderr);
  return EXIT_USAGE;
}


/* A command's usage error: one line, then that command's synopsis. */
static int command_error(const struct cli *cli, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("trendsite: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nusage: trendsite %s %s\n", cli->command,
          cli->usage ? cli->usage : "");
  fprintf(stderr, "Try 'trendsite %s --help' for more information.\n",
          cli->command);
  return EXIT_USAGE;
}

int main(int argc, char **argv)
{
  struct cli cli;
  memset(&cli, 0, sizeof cli);
#if defined(__GLIBC__) && defined(M_MXFAST)
  /* Rendering builds and frees millions of small JSON values; with glibc's
   * fast bins every larger allocation then consolidates them first, which
   * cost a tenth of a large render. */
  mallopt(M_MXFAST, 0);
#endif
  ts_log_init(&cli.log);

  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      print_help();
      return EXIT_PUBLISHED;
    } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
      printf("trendsite %s\n", TS_VERSION);
      return EXIT_PUBLISHED;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      cli.log.level = TS_LOG_ERROR;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      cli.log.level = TS_LOG_DEBUG;
    } else {
      return usage_error("unknown option '%s'", a);
    }
  }
  if (i == argc)
    return usage_error("missing command");

  cli.command = argv[i];
  cli.argc = argc - i - 1;
  cli.argv = argv + i + 1;
  for (const struct command *c = commands; c->name; c++)
    if (!strcmp(c->name, cli.command))
      return c->run(&cli);
  return usage_error("unknown command '%s'", cli.command);
}

#include "util/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ts_log_init(struct ts_log *log)
{
  const char *gha = getenv("GITHUB_ACTIONS");
  log->level = TS_LOG_INFO;
  log->out = stderr;
  log->tty = isatty(fileno(stderr)) == 1;
  log->github = gha && strcmp(gha, "true") == 0;
}

/* Annotation text must stay on one line; GitHub decodes %0A etc. */
static void write_annotation_text(FILE *out, const char *s)
{
  for (; *s; s++) {
    if (*s == '%')
      fputs("%25", out);
    else if (*s == '\r')
      fputs("%0D", out);
    else if (*s == '\n')
      fputs("%0A", out);
    else
      fputc(*s, out);
  }
}

void ts_log_msg(const struct ts_log *log, enum ts_log_level level,
                const char *fmt, ...)
{
  if (!log || level > log->level)
    return;
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);

  static const char *const names[] = {"error: ", "warning: ", "", ""};
  FILE *out = log->out ? log->out : stderr;
  if (log->github && level <= TS_LOG_WARN) {
    fputs(level == TS_LOG_ERROR ? "::error title=trendsite::"
                                : "::warning title=trendsite::",
          out);
    write_annotation_text(out, line);
    fputc('\n', out);
  } else {
    fprintf(out, "trendsite: %s%s\n", names[level], line);
  }
  fflush(out);
}

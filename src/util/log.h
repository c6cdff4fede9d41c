/*
 * Messages for the person reading a terminal or a CI log.
 *
 * Every line starts with the program name and a level
 * (`trendsite: warning: youtube[JP]: HTTP 403 quotaExceeded`). The logger is
 * a value passed to whoever needs it, not a global. Under GitHub Actions
 * (`GITHUB_ACTIONS=true`) warnings and errors are also written as workflow
 * annotations (`::warning::...`) so they show on the run's summary page.
 */
#ifndef TS_LOG_H
#define TS_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum ts_log_level {
  TS_LOG_ERROR = 0,
  TS_LOG_WARN,
  TS_LOG_INFO,
  TS_LOG_DEBUG /* -v: one line per request, timings */
};

struct ts_log {
  enum ts_log_level level; /* messages above this level are dropped */
  FILE *out;               /* usually stderr */
  bool tty;                /* out is a terminal: live progress allowed */
  bool github;             /* write ::warning/::error annotations */
};

/* Fills `log` from the environment: level INFO, stderr, tty detection,
 * GitHub Actions detection. */
void ts_log_init(struct ts_log *log);

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void ts_log_msg(const struct ts_log *log, enum ts_log_level level,
                const char *fmt, ...);

#define ts_log_error(log, ...) ts_log_msg((log), TS_LOG_ERROR, __VA_ARGS__)
#define ts_log_warn(log, ...) ts_log_msg((log), TS_LOG_WARN, __VA_ARGS__)
#define ts_log_info(log, ...) ts_log_msg((log), TS_LOG_INFO, __VA_ARGS__)
#define ts_log_debug(log, ...) ts_log_msg((log), TS_LOG_DEBUG, __VA_ARGS__)

#endif

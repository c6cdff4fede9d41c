/*
 * Keeps API keys out of everything a person or a file can see.
 *
 * Every URL or message that may hold a URL passes through here before it is
 * logged, reported, written into a snapshot or shown on a page. The value
 * of any query parameter whose name is a known key name (`key`, `api-key`,
 * `apiKey`, `api_key`, `access_token`, `token`; case-insensitive) becomes
 * `REDACTED`.
 */
#ifndef TS_REDACT_H
#define TS_REDACT_H

#include <stddef.h>

/* Writes `text` with key values replaced into `out` (always NUL-terminated,
 * cut to `size`). Returns `out`. */
char *ts_redact(const char *text, char *out, size_t size);

/* The same into new memory. Caller frees; NULL when out of memory. */
char *ts_redact_dup(const char *text);

#endif

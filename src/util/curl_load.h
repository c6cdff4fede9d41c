/*
 * libcurl, loaded when a command first needs it.
 *
 * libcurl pulls in some 35 shared libraries (TLS, HTTP/2, Kerberos, LDAP,
 * IDN, ...), and resolving them costs about 7 ms at every process start:
 * a quarter of a whole `trendsite render` of a small site, which never
 * fetches. So the program is not linked against libcurl. This module
 * defines the curl_* functions trendsite calls, and the first call loads
 * libcurl.so.4 with dlopen() and forwards to it; code that fetches
 * includes <curl/curl.h> and calls libcurl as usual, with curl's own
 * compile-time option checks.
 *
 * When libcurl cannot be loaded those functions fail the way libcurl
 * reports failure (CURLE_FAILED_INIT, NULL handles); ts_curl_load() says
 * why in words, so call it before the first transfer.
 */
#ifndef TS_CURL_LOAD_H
#define TS_CURL_LOAD_H

#include <stdbool.h>

#include "util/error.h"

/* Loads libcurl once (thread-safe; later calls are cheap). TS_ERR_NOTFOUND
 * with the loader's message when the library or one of its functions is
 * missing. */
enum ts_result ts_curl_load(struct ts_error *err);

/* Whether libcurl is in the process already (without loading it). */
bool ts_curl_loaded(void);

#endif

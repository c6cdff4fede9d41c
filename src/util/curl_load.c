/* The curl_* entry points trendsite uses, forwarded to a libcurl loaded on
 * first use (see curl_load.h for why). */

/* Declares the plain prototypes: curl's type-checking macros would
 * otherwise rename the definitions below. */
#define CURL_DISABLE_TYPECHECK 1

#include "util/curl_load.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

/* Every function forwarded, as X(name, return type, parameter types). */
#define CURL_FUNCTIONS(X)                                                    \
  X(curl_global_init, CURLcode, (long))                                      \
  X(curl_global_cleanup, void, (void))                                       \
  X(curl_easy_init, CURL *, (void))                                          \
  X(curl_easy_cleanup, void, (CURL *))                                       \
  X(curl_easy_setopt, CURLcode, (CURL *, CURLoption, ...))                   \
  X(curl_easy_getinfo, CURLcode, (CURL *, CURLINFO, ...))                    \
  X(curl_easy_perform, CURLcode, (CURL *))                                   \
  X(curl_easy_strerror, const char *, (CURLcode))                            \
  X(curl_getdate, time_t, (const char *, const time_t *))                    \
  X(curl_slist_append, struct curl_slist *,                                  \
    (struct curl_slist *, const char *))                                     \
  X(curl_slist_free_all, void, (struct curl_slist *))                        \
  X(curl_multi_init, CURLM *, (void))                                        \
  X(curl_multi_cleanup, CURLMcode, (CURLM *))                                \
  X(curl_multi_setopt, CURLMcode, (CURLM *, CURLMoption, ...))               \
  X(curl_multi_add_handle, CURLMcode, (CURLM *, CURL *))                     \
  X(curl_multi_remove_handle, CURLMcode, (CURLM *, CURL *))                  \
  X(curl_multi_assign, CURLMcode, (CURLM *, curl_socket_t, void *))          \
  X(curl_multi_socket_action, CURLMcode, (CURLM *, curl_socket_t, int, int *)) \
  X(curl_multi_info_read, CURLMsg *, (CURLM *, int *))                       \
  X(curl_multi_perform, CURLMcode, (CURLM *, int *))                         \
  X(curl_multi_poll, CURLMcode,                                              \
    (CURLM *, struct curl_waitfd *, unsigned int, int, int *))               \
  X(curl_multi_strerror, const char *, (CURLMcode))

#define POINTER(name, ret, params) ret(*name) params;
static struct {
  CURL_FUNCTIONS(POINTER)
} real;
#undef POINTER

static once_flag load_once = ONCE_FLAG_INIT;
static atomic_bool loaded;
static char load_error[512];

/* Distributions install the runtime library under its soname; Debian's
 * GnuTLS build (which git pulls in) has a name of its own and the same
 * interface; the bare name is there when a -dev package is. */
static const char *const library_names[] = {"libcurl.so.4",
                                            "libcurl-gnutls.so.4",
                                            "libcurl.so"};

static void load(void)
{
  void *lib = NULL;
  for (size_t i = 0; !lib && i < sizeof library_names / sizeof *library_names;
       i++)
    lib = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    /* dlerror() names the last file tried; say that all were. */
    snprintf(load_error, sizeof load_error,
             "libcurl could not be loaded (tried libcurl.so.4, "
             "libcurl-gnutls.so.4 and libcurl.so; last: %s); install libcurl "
             "7.66 or newer (Debian: apt-get install libcurl4)", dlerror());
    return;
  }
  /* The library stays loaded until the process ends: libcurl keeps
   * global state, and unloading it would gain nothing. */
#define RESOLVE(name, ret, params)                                           \
  {                                                                          \
    void *sym = dlsym(lib, #name);                                           \
    if (!sym) {                                                              \
      snprintf(load_error, sizeof load_error,                                \
               "the libcurl found has no %s(); install libcurl 7.66 or "     \
               "newer",                                                      \
               #name);                                                       \
      return;                                                                \
    }                                                                        \
    memcpy(&real.name, &sym, sizeof real.name);                              \
  }
  CURL_FUNCTIONS(RESOLVE)
#undef RESOLVE
  loaded = true;
}

static bool ready(void)
{
  call_once(&load_once, load);
  return loaded;
}

enum ts_result ts_curl_load(struct ts_error *err)
{
  if (ready())
    return TS_OK;
  return ts_error_set(err, TS_ERR_NOTFOUND, "%s", load_error);
}

bool ts_curl_loaded(void)
{
  return loaded;
}

/* The forwarders. Each fails the way libcurl itself reports failure when
 * the library is missing, so a caller that skipped ts_curl_load() still
 * gets an error rather than a crash. */

CURLcode curl_global_init(long flags)
{
  return ready() ? real.curl_global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
  if (ready())
    real.curl_global_cleanup();
}

CURL *curl_easy_init(void)
{
  return ready() ? real.curl_easy_init() : NULL;
}

void curl_easy_cleanup(CURL *curl)
{
  if (ready())
    real.curl_easy_cleanup(curl);
}

/* libcurl reads the variadic argument by the option's type range; so do
 * we, to pass it on with the same type. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
  if (!ready())
    return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = real.curl_easy_setopt(curl, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = real.curl_easy_setopt(curl, option, va_arg(ap, void *));
  } else if (option < CURLOPTTYPE_OFF_T) {
    rc = real.curl_easy_setopt(curl, option, va_arg(ap, void (*)(void)));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = real.curl_easy_setopt(curl, option, va_arg(ap, curl_off_t));
  } else {
    rc = real.curl_easy_setopt(curl, option, va_arg(ap, void *));
  }
  va_end(ap);
  return rc;
}

/* Every CURLINFO takes a pointer to the result. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
  if (!ready())
    return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  CURLcode rc = real.curl_easy_getinfo(curl, info, va_arg(ap, void *));
  va_end(ap);
  return rc;
}

CURLcode curl_easy_perform(CURL *curl)
{
  return ready() ? real.curl_easy_perform(curl) : CURLE_FAILED_INIT;
}

const char *curl_easy_strerror(CURLcode code)
{
  return ready() ? real.curl_easy_strerror(code) : "libcurl is not loaded";
}

time_t curl_getdate(const char *p, const time_t *unused)
{
  return ready() ? real.curl_getdate(p, unused) : -1;
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
  return ready() ? real.curl_slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
  if (ready())
    real.curl_slist_free_all(list);
}

CURLM *curl_multi_init(void)
{
  return ready() ? real.curl_multi_init() : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *multi)
{
  return ready() ? real.curl_multi_cleanup(multi) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
  if (!ready())
    return CURLM_INTERNAL_ERROR;
  va_list ap;
  va_start(ap, option);
  CURLMcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT)
    rc = real.curl_multi_setopt(multi, option, va_arg(ap, long));
  else if (option < CURLOPTTYPE_FUNCTIONPOINT)
    rc = real.curl_multi_setopt(multi, option, va_arg(ap, void *));
  else if (option < CURLOPTTYPE_OFF_T)
    rc = real.curl_multi_setopt(multi, option, va_arg(ap, void (*)(void)));
  else
    rc = real.curl_multi_setopt(multi, option, va_arg(ap, curl_off_t));
  va_end(ap);
  return rc;
}

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *curl)
{
  return ready() ? real.curl_multi_add_handle(multi, curl)
                 : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
  return ready() ? real.curl_multi_remove_handle(multi, curl)
                 : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_assign(CURLM *multi, curl_socket_t s, void *p)
{
  return ready() ? real.curl_multi_assign(multi, s, p) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_socket_action(CURLM *multi, curl_socket_t s, int events,
                                   int *running)
{
  return ready() ? real.curl_multi_socket_action(multi, s, events, running)
                 : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *multi, int *queued)
{
  return ready() ? real.curl_multi_info_read(multi, queued) : NULL;
}

CURLMcode curl_multi_perform(CURLM *multi, int *running)
{
  return ready() ? real.curl_multi_perform(multi, running)
                 : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_poll(CURLM *multi, struct curl_waitfd *extra,
                          unsigned int nextra, int timeout_ms, int *ret)
{
  return ready() ? real.curl_multi_poll(multi, extra, nextra, timeout_ms, ret)
                 : CURLM_INTERNAL_ERROR;
}

const char *curl_multi_strerror(CURLMcode code)
{
  return ready() ? real.curl_multi_strerror(code) : "libcurl is not loaded";
}

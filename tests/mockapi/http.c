#include "http.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 tchar: the characters of a method or a header name. */
static bool is_tchar(unsigned char c)
{
  return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hex_value(unsigned char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/*
 * Percent-decodes s[0..n) into a new string (caller frees). `plus_space`
 * turns '+' into ' ' (query strings). NULL when an escape is malformed or
 * decodes to NUL, which no file name or parameter may contain, or when out
 * of memory.
 */
static char *decode(const char *s, size_t n, bool plus_space)
{
  char *out = malloc(n + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      int hi = i + 2 < n ? hex_value((unsigned char)s[i + 1]) : -1;
      int lo = i + 2 < n ? hex_value((unsigned char)s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        free(out);
        return NULL;
      }
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_space) {
      out[o++] = ' ';
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = '\0';
  return out;
}

/* True when the decoded path has a "." or ".." segment. */
static bool has_dot_segment(const char *path)
{
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    const char *seg = p;
    while (*p && *p != '/')
      p++;
    size_t n = (size_t)(p - seg);
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
      return true;
  }
  return false;
}

/* Case-insensitive search for the token `word` in a comma-separated list. */
static bool list_has_token(const char *list, const char *word)
{
  size_t wn = strlen(word);
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *tok = p;
    while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
      p++;
    if ((size_t)(p - tok) == wn && strncasecmp(tok, word, wn) == 0)
      return true;
    while (*p && *p != ',')
      p++;
  }
  return false;
}

static char *trim(char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  return s;
}

/* Finds the end of the head: the index just past the empty line that ends
 * it, or 0 when it is not in buf[start..len) yet. */
static size_t find_head_end(const char *buf, size_t start, size_t len)
{
  for (size_t i = start; i < len; i++) {
    if (buf[i] != '\n')
      continue;
    if (i + 1 < len && buf[i + 1] == '\n')
      return i + 2;
    if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
      return i + 3;
  }
  return 0;
}

static enum mock_parse fail(struct mock_request *req, int code, int *status,
                            const char **why, const char *reason)
{
  mock_request_cleanup(req);
  *status = code;
  *why = reason;
  return MOCK_PARSE_ERROR;
}

/* Splits the request line "METHOD SP TARGET SP HTTP/1.x" in place. */
static bool parse_request_line(char *line, struct mock_request *req, int *code,
                               const char **why)
{
  *code = 400;
  char *sp1 = strchr(line, ' ');
  if (!sp1 || sp1 == line) {
    *why = "malformed request line";
    return false;
  }
  *sp1 = '\0';
  char *target = sp1 + 1;
  char *sp2 = strchr(target, ' ');
  if (!sp2 || sp2 == target || strchr(sp2 + 1, ' ')) {
    *why = "malformed request line";
    return false;
  }
  *sp2 = '\0';
  const char *version = sp2 + 1;
  for (const char *m = line; *m; m++)
    if (!is_tchar((unsigned char)*m)) {
      *why = "malformed method";
      return false;
    }
  if (strncmp(version, "HTTP/", 5) != 0 ||
      !isdigit((unsigned char)version[5]) || version[6] != '.' ||
      !isdigit((unsigned char)version[7]) || version[8] != '\0') {
    *why = "malformed HTTP version";
    return false;
  }
  if (version[5] != '1') {
    *code = 505;
    *why = "only HTTP/1.x is supported";
    return false;
  }
  req->method = line;
  req->minor = version[7] - '0';
  /* Absolute form (a proxy-style request): keep only the path. */
  if (strncasecmp(target, "http://", 7) == 0) {
    target = strchr(target + 7, '/');
    if (!target) {
      *why = "absolute URL without a path";
      return false;
    }
  }
  if (target[0] != '/') {
    *why = "request target must start with '/'";
    return false;
  }
  char *hash = strchr(target, '#');
  if (hash)
    *hash = '\0';
  req->target = target;
  char *q = strchr(target, '?');
  req->query = q ? q + 1 : "";
  size_t plen = q ? (size_t)(q - target) : strlen(target);
  req->path = decode(target, plen, false);
  if (!req->path) {
    *why = "bad percent-encoding in the path";
    return false;
  }
  req->traversal = has_dot_segment(req->path);
  return true;
}

static bool set_content_length(struct mock_request *req, const char *v,
                               bool *seen, int *code, const char **why)
{
  size_t n = 0;
  if (!*v) {
    *code = 400, *why = "bad Content-Length";
    return false;
  }
  for (const char *p = v; *p; p++) {
    if (!isdigit((unsigned char)*p)) {
      *code = 400, *why = "bad Content-Length";
      return false;
    }
    if (n > MOCK_HTTP_MAX_BODY) {
      *code = 413, *why = "request body too large";
      return false;
    }
    n = n * 10 + (size_t)(*p - '0');
  }
  if (n > MOCK_HTTP_MAX_BODY) {
    *code = 413, *why = "request body too large";
    return false;
  }
  if (*seen && n != req->content_length) {
    *code = 400, *why = "conflicting Content-Length";
    return false;
  }
  *seen = true;
  req->content_length = n;
  return true;
}

enum mock_parse mock_http_parse(const char *buf, size_t len,
                                struct mock_request *req, size_t *consumed,
                                int *status, const char **why)
{
  memset(req, 0, sizeof *req);
  /* RFC 9112 section 2.2: ignore empty lines before a request line. */
  size_t start = 0;
  while (start < len && (buf[start] == '\r' || buf[start] == '\n') &&
         start < MOCK_HTTP_MAX_HEAD)
    start++;
  size_t end = find_head_end(buf, start, len);
  if (end == 0 || end - start > MOCK_HTTP_MAX_HEAD) {
    if (len - start > MOCK_HTTP_MAX_HEAD || end != 0)
      return fail(req, 431, status, why, "request head too large");
    return MOCK_PARSE_MORE;
  }
  size_t n = end - start;
  req->head = malloc(n + 1);
  if (!req->head)
    return fail(req, 500, status, why, "out of memory");
  memcpy(req->head, buf + start, n);
  req->head[n] = '\0';

  /* Cut the head into NUL-terminated lines; a CR is allowed only before
   * LF, and no other control byte except HTAB anywhere. */
  char *lines[MOCK_HTTP_MAX_HEADERS + 2];
  size_t nlines = 0;
  char *p = req->head;
  while (*p) {
    char *eol = strchr(p, '\n');
    if (!eol)
      break;
    *eol = '\0';
    if (eol > p && eol[-1] == '\r')
      eol[-1] = '\0';
    if (*p == '\0')
      break; /* the empty line that ends the head */
    for (char *c = p; *c; c++) {
      unsigned char u = (unsigned char)*c;
      if ((u < 0x20 && u != '\t') || u == 0x7f)
        return fail(req, 400, status, why, "control character in head");
    }
    if (nlines == MOCK_HTTP_MAX_HEADERS + 1)
      return fail(req, 431, status, why, "too many header fields");
    lines[nlines++] = p;
    p = eol + 1;
  }
  /* A NUL inside the head stops strchr early; refuse it outright. */
  if (memchr(buf + start, '\0', n))
    return fail(req, 400, status, why, "NUL byte in head");
  if (nlines == 0)
    return fail(req, 400, status, why, "empty request");

  int code;
  const char *reason;
  if (!parse_request_line(lines[0], req, &code, &reason))
    return fail(req, code, status, why, reason);

  const char *connection = NULL;
  bool seen_length = false;
  for (size_t i = 1; i < nlines; i++) {
    char *line = lines[i];
    if (line[0] == ' ' || line[0] == '\t')
      return fail(req, 400, status, why, "obsolete line folding");
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
      return fail(req, 400, status, why, "malformed header field");
    *colon = '\0';
    for (char *c = line; *c; c++)
      if (!is_tchar((unsigned char)*c))
        return fail(req, 400, status, why, "malformed header name");
    char *value = trim(colon + 1);
    if (!strcasecmp(line, "Content-Length")) {
      if (!set_content_length(req, value, &seen_length, &code, &reason))
        return fail(req, code, status, why, reason);
    } else if (!strcasecmp(line, "Transfer-Encoding")) {
      return fail(req, 501, status, why, "Transfer-Encoding not supported");
    } else if (!strcasecmp(line, "Connection")) {
      connection = connection ? connection : value;
    } else if (!strcasecmp(line, "User-Agent")) {
      req->user_agent = req->user_agent ? req->user_agent : value;
    } else if (!strcasecmp(line, "Accept-Encoding")) {
      req->accept_encoding =
          req->accept_encoding ? req->accept_encoding : value;
    } else if (!strcasecmp(line, "If-None-Match")) {
      req->if_none_match = req->if_none_match ? req->if_none_match : value;
    } else if (!strcasecmp(line, "If-Modified-Since")) {
      req->if_modified_since =
          req->if_modified_since ? req->if_modified_since : value;
    }
  }
  if (req->minor >= 1)
    req->keep_alive = !(connection && list_has_token(connection, "close"));
  else
    req->keep_alive = connection && list_has_token(connection, "keep-alive");

  if (len - end < req->content_length) {
    mock_request_cleanup(req);
    return MOCK_PARSE_MORE;
  }
  *consumed = end + req->content_length;
  return MOCK_PARSE_OK;
}

void mock_request_cleanup(struct mock_request *req)
{
  free(req->head);
  free(req->path);
  memset(req, 0, sizeof *req);
}

const char *mock_http_reason(int status)
{
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 410: return "Gone";
  case 412: return "Precondition Failed";
  case 413: return "Content Too Large";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                 "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void mock_http_date(time_t t, char out[30])
{
  struct tm tm;
  if (!gmtime_r(&t, &tm)) {
    snprintf(out, 30, "Thu, 01 Jan 1970 00:00:00 GMT");
    return;
  }
  /* Written by hand: strftime's %a and %b follow the locale. */
  /* The modulo bounds each field, which also proves to the compiler that
   * the text fits. */
  snprintf(out, 30, "%s, %02u %s %04u %02u:%02u:%02u GMT",
           wdays[(unsigned)tm.tm_wday % 7], (unsigned)tm.tm_mday % 100,
           months[(unsigned)tm.tm_mon % 12],
           (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)tm.tm_hour % 100,
           (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100);
}

bool mock_http_parse_date(const char *s, time_t *out)
{
  char wday[4], mon[4], gmt[4];
  int day, year, hh, mm, ss, used = 0;
  if (sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s%n", wday, &day, mon, &year, &hh,
             &mm, &ss, gmt, &used) != 8 ||
      s[used] != '\0' || strcmp(gmt, "GMT") != 0)
    return false;
  int m = -1;
  for (int i = 0; i < 12; i++)
    if (!strcmp(mon, months[i]))
      m = i;
  if (m < 0 || day < 1 || day > 31 || year < 1970 || year > 9999 || hh > 23 ||
      mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0)
    return false;
  struct tm tm = {0};
  tm.tm_year = year - 1900;
  tm.tm_mon = m;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return false;
  *out = t;
  return true;
}

/* The opaque part of an entity tag: W/"x" and "x" both give x. */
static void etag_opaque(const char *tag, size_t n, const char **o, size_t *on)
{
  if (n >= 2 && tag[0] == 'W' && tag[1] == '/')
    tag += 2, n -= 2;
  if (n >= 2 && tag[0] == '"' && tag[n - 1] == '"')
    tag += 1, n -= 2;
  *o = tag;
  *on = n;
}

bool mock_http_etag_match(const char *inm, const char *etag)
{
  const char *want;
  size_t wn;
  etag_opaque(etag, strlen(etag), &want, &wn);
  const char *p = inm;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (!*p)
      break;
    const char *tok = p;
    /* A quoted tag may itself contain commas. */
    if (p[0] == 'W' && p[1] == '/')
      p += 2;
    if (*p == '"') {
      const char *close = strchr(p + 1, '"');
      p = close ? close + 1 : p + strlen(p);
    } else {
      while (*p && *p != ',')
        p++;
    }
    size_t tn = (size_t)(p - tok);
    while (tn > 0 && (tok[tn - 1] == ' ' || tok[tn - 1] == '\t'))
      tn--;
    if (tn == 1 && tok[0] == '*')
      return true;
    const char *got;
    size_t gn;
    etag_opaque(tok, tn, &got, &gn);
    if (gn == wn && memcmp(got, want, wn) == 0)
      return true;
  }
  return false;
}

bool mock_http_accepts_gzip(const char *ae)
{
  const char *p = ae;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *tok = p;
    while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
      p++;
    size_t tn = (size_t)(p - tok);
    bool named = (tn == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
                 (tn == 6 && strncasecmp(tok, "x-gzip", 6) == 0) ||
                 (tn == 1 && tok[0] == '*');
    /* Parameters: only q matters; "q=0" (or 0.0, 0.000) refuses. */
    bool refused = false;
    while (*p && *p != ',') {
      if (*p == ';') {
        p++;
        while (*p == ' ' || *p == '\t')
          p++;
        if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
          char *endp;
          double q = strtod(p + 2, &endp);
          refused = endp != p + 2 && q <= 0.0;
        }
      } else {
        p++;
      }
    }
    if (named && !refused)
      return true;
  }
  return false;
}

bool mock_query_get(const char *query, const char *name, char **value)
{
  const char *p = query;
  while (*p) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    size_t kn = eq ? (size_t)(eq - p) : n;
    char *key = kn ? decode(p, kn, true) : NULL;
    bool hit = key && strcmp(key, name) == 0;
    free(key);
    if (hit) {
      char *v = eq ? decode(eq + 1, n - kn - 1, true) : decode("", 0, true);
      if (v) {
        if (value)
          *value = v;
        else
          free(v);
        return true;
      }
    }
    p += n;
    if (*p == '&')
      p++;
  }
  return false;
}

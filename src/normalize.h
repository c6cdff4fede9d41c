/*
 * Normalization: the stage between parsing and dedupe that turns what an
 * API sent into text, links, numbers and times every later stage can
 * trust.
 *
 * Text. Invalid UTF-8 becomes U+FFFD (one per maximal ill-formed
 * subsequence, as the Unicode standard recommends) and is counted. Text
 * is NFC. Removed: C0 and C1 controls, DEL, U+200B, U+2060, U+FEFF, the
 * bidi controls (U+061C, U+200E/F, U+202A-202E, U+2066-2069), the
 * deprecated format controls U+206A-206F and the noncharacters (U+FDD0-
 * FDEF, U+xFFFE/xFFFF: XML, hence the Atom feed, cannot carry them).
 * Kept: U+200C/U+200D (ZWNJ/ZWJ carry meaning in emoji sequences and in
 * Persian and Indic scripts), variation selectors, tag characters
 * (subdivision flags), full-width forms (NFC does not fold width, and a
 * Japanese title should look the way its author wrote it).
 * Whitespace (every Unicode space separator, tabs and line breaks) is
 * collapsed to one ASCII space and trimmed. In block text (summaries)
 * line breaks survive: spaces around them go, and a run of blank lines
 * becomes one blank line. A text longer than its cap (in grapheme
 * clusters, never bytes) is cut at a cluster boundary, trailing spaces
 * dropped, and "…" (U+2026) appended, so the result has at most `cap`
 * clusters. Every text is also cut, the same way, at
 * TS_NORMALIZE_TEXT_MAX bytes.
 *
 * URLs. Only http and https survive; see ts_normalize_url for the rules
 * and ts_normalize_url_key for the looser form dedupe compares.
 *
 * Strings returned by this module live in an arena (the batch's), or ARE
 * the input when it was already normal: an already clean ASCII title is
 * returned as is, without a copy. Either way the result lives as long as
 * the arena and the input, which for items are the same batch arena.
 * Nothing here keeps state between calls; every function is reentrant.
 */
#ifndef TS_NORMALIZE_H
#define TS_NORMALIZE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "item.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"

/* ---- Text ---------------------------------------------------------- */

/* Hard cap on the bytes of any one normalized text. */
#define TS_NORMALIZE_TEXT_MAX (64u * 1024u)

enum ts_text_mode {
  TS_TEXT_LINE, /* titles, names: one line, every control removed */
  TS_TEXT_BLOCK /* summaries: keeps line breaks, at most one blank line */
};

/* Cleans the string `text` as described above, capped at
 * `max_graphemes` clusters (0: no cap but TS_NORMALIZE_TEXT_MAX). Adds
 * the U+FFFD repairs made to *repaired when `repaired` is not NULL.
 * Returns `text` itself when it is already normal, else a copy in
 * `arena` (or the static ""); NULL when `text` is NULL or the arena is
 * out of memory. */
const char *ts_normalize_text(struct ts_arena *arena, const char *text,
                              enum ts_text_mode mode, uint32_t max_graphemes,
                              uint32_t *repaired);

/* The same for `len` arbitrary bytes (NUL bytes are controls and go);
 * never returns `bytes` itself. */
const char *ts_normalize_textn(struct ts_arena *arena, const char *bytes,
                               size_t len, enum ts_text_mode mode,
                               uint32_t max_graphemes, uint32_t *repaired);

/* HTML (Hacker News `text`, Guardian `trailText`) to block text: tags
 * stripped, <script>/<style>/<template> (and noscript, iframe, object)
 * dropped with their contents, comments dropped, <p>/<div>/headings/lists
 * become paragraph breaks and <br>/<li> line breaks, character references
 * decoded (the common named ones and every numeric one; numeric
 * 0x80-0x9F as Windows-1252, as browsers do; &#0;, surrogates and numbers
 * past U+10FFFF as U+FFFD, counted), then cleaned as by ts_normalize_text
 * in TS_TEXT_BLOCK mode. The result is plain text: "&lt;b&gt;" becomes
 * "<b>", which the renderer escapes again. A copy in `arena` (or "");
 * NULL on NULL input or out of memory. */
const char *ts_normalize_html(struct ts_arena *arena, const char *html,
                              uint32_t max_graphemes, uint32_t *repaired);

/* True only when `len` bytes of valid UTF-8 are certainly NFC (a quick
 * check with utf8proc's property table: false can also mean "maybe").
 * ASCII is always NFC. */
bool ts_normalize_is_nfc(const char *text, size_t len);

/* NFC of the valid UTF-8 string `text`: `text` itself when the quick
 * check says it is NFC, else a copy in `arena`. NULL when out of memory
 * (or `text` is NULL). */
const char *ts_normalize_nfc(struct ts_arena *arena, const char *text);

/* The number of extended grapheme clusters in `len` bytes of valid
 * UTF-8. */
size_t ts_normalize_graphemes(const char *text, size_t len);

/* The length of `title` (`len` bytes) without a trailing
 * " - Source Name" (also " | ", " – ", " — ") when the part after the
 * separator equals `source` (ASCII case and surrounding spaces ignored)
 * and something is left before it; else `len`. NewsAPI appends the
 * publisher to most titles; dedupe across sources needs it gone. */
size_t ts_normalize_strip_source(const char *title, size_t len,
                                 const char *source);

/* ---- API response bodies ------------------------------------------- */

/* Makes a response body acceptable to jansson without losing the rest of
 * the document: every invalid UTF-8 sequence becomes U+FFFD (the body
 * grows: 1 bad byte, 3 good ones), every escaped lone surrogate and every
 * "\u0000" inside a string becomes "\ufffd", a raw tab, CR or LF inside a
 * string becomes its escape, any other raw control character inside a
 * string is removed, and an invalid escape inside a string ("\q", "\u12",
 * a backslash before a control) loses its backslash. Repairing twice
 * gives the same body. A body without non-ASCII bytes, backslashes or
 * controls in strings is only scanned, 8 bytes at a time.
 *
 * *repaired (when not NULL) receives the number of repairs. TS_ERR_LIMIT
 * when the grown body would pass body->max, TS_ERR_NOMEM when memory runs
 * out; on failure the body is still a valid buffer that may already hold
 * some of the same-length repairs. */
enum ts_result ts_normalize_repair_json(struct ts_buf *body,
                                        size_t *repaired);

/* ---- URLs ---------------------------------------------------------- */

/* Longest URL accepted, in bytes, before and after canonicalization. */
#define TS_NORMALIZE_URL_MAX 4096u

/* The canonical form of an http(s) URL, or NULL when it is not one we
 * link to. Rules:
 * - Leading and trailing spaces and controls are trimmed; a space,
 *   control or backslash inside is a rejection.
 * - Scheme http or https only (case-insensitive, lower-cased); anything
 *   else (javascript:, data:, vbscript:, file:, "//host", relative) is
 *   rejected.
 * - Userinfo ("user:pass@host") is rejected: no trending link needs it,
 *   and "https://trusted.example@evil.example/" is a classic disguise.
 * - Host: ASCII lower-cased; IDN (UTF-8) hosts kept as they are; an empty
 *   host, '%' in the host or invalid UTF-8 is a rejection. IPv6 literals
 *   in brackets are kept.
 * - Port: the default (80/443) and an empty port are dropped; a port
 *   that is not 1-65535 is a rejection.
 * - Path: "" becomes "/"; "." and ".." segments are resolved; bytes that
 *   may not appear in a URL (non-ASCII, quotes, <>, ...) are
 *   percent-encoded; percent escapes get upper-case hex; a stray '%'
 *   becomes "%25". A trailing slash is kept (it can matter to a server).
 * - Query: tracking parameters are removed (utm_*, fbclid, gclid, gclsrc,
 *   dclid, gbraid, wbraid, msclkid, yclid, twclid, ttclid, li_fat_id,
 *   igshid, igsh, mc_cid, mc_eid, _ga, _gl, _hsenc, _hsmi, mkt_tok, ref,
 *   ref_src, ref_url, at_medium, at_campaign, at_custom1-4, cmpid, ocid,
 *   s_cid, smid, wt.mc_id, oly_anon_id, oly_enc_id, vero_id, rb_clickid;
 *   names compared ASCII case-insensitively), so are empty parameters;
 *   the rest keep their order; an empty '?' goes.
 * - The fragment is dropped.
 * - A Google News redirect (news.google.com/rss/articles/ID) whose ID
 *   still carries the article URL (the older "CBMi..." form) becomes the
 *   canonical article URL; otherwise its `oc` parameter is dropped and
 *   the redirect kept (the newer IDs cannot be resolved offline).
 * Returns `url` itself when it is already canonical, else a copy in
 * `arena`; NULL also when out of memory. */
const char *ts_normalize_url(struct ts_arena *arena, const char *url);

/* The key dedupe compares URLs by: the canonical URL without its scheme
 * (http and https are the same story), with a leading "www." and a
 * trailing dot of the host dropped, percent-escapes of unreserved
 * characters decoded ("%7E" is "~"), and a trailing slash of a path other
 * than "/" dropped ("example.com/a/" and "example.com/a" are one story).
 * A key always contains '/'. *key is a copy in `arena`, or NULL when `url`
 * is NULL or rejected by ts_normalize_url; TS_ERR_NOMEM when the arena
 * runs out. */
enum ts_result ts_normalize_url_key(struct ts_arena *arena, const char *url,
                                    const char **key);

/* ts_normalize_url_key, except that when the key is the end of `url`
 * (most canonical URLs: "https://www.example.com/a" has the key
 * "example.com/a") *key points into `url` instead of being copied, and
 * lives as long as `url`. Dedupe uses it for the URLs of a batch's
 * items, which live as long as the batch. */
enum ts_result ts_normalize_url_key_ref(struct ts_arena *arena,
                                        const char *url, const char **key);

/* ---- Numbers, times, durations, thumbnails ------------------------- */

/* A count such as YouTube's "viewCount": "22542530". Only ASCII digits,
 * at least one, no sign, space or exponent, at most INT64_MAX. */
bool ts_normalize_parse_count(const char *text, int64_t *out);

/* A count from JSON: a non-negative integer, a string accepted by
 * ts_normalize_parse_count, or a non-negative integral real below 2^63.
 * `value` borrowed. */
bool ts_normalize_json_count(const json_t *value, int64_t *out);

/* "2025-05-10T16:00:01Z" and the like to Unix seconds (UTC): RFC 3339 /
 * ISO 8601 with 'T' or a space, optional fractional seconds (any number
 * of digits, dropped), and "Z", "+hh:mm", "+hhmm" or "+hh" (no zone is
 * read as UTC); a date alone is midnight UTC. Years 0000-9999. Leap
 * second 60 is accepted (it becomes the next second). Impossible dates
 * (month 13, February 30, hour 24) are rejected. */
bool ts_normalize_parse_time(const char *text, int64_t *out);

/* A time from JSON: an integer or integral real of Unix seconds (Hacker
 * News), or a string for ts_normalize_parse_time. Years 0000-9999 only.
 * `value` borrowed. */
bool ts_normalize_json_time(const json_t *value, int64_t *out);

/* "YYYY-MM-DDTHH:MM:SSZ" plus NUL. */
#define TS_NORMALIZE_TIME_SIZE 21

/* Formats Unix seconds as UTC ISO 8601 ("2025-05-10T16:00:01Z") into
 * `out`. False (and "" in out) for times outside years 0000-9999. */
bool ts_normalize_format_time(int64_t t, char out[TS_NORMALIZE_TIME_SIZE]);

/* An ISO 8601 duration ("PT15M46S", "P1DT2H3M4S", "P0D", "P1W",
 * "PT1.5S") in whole seconds (fractions dropped). Years and months have
 * no fixed length and are rejected, as is anything else that is not a
 * duration. */
bool ts_normalize_parse_duration(const char *text, int64_t *out);

struct ts_thumbnail {
  const char *url; /* borrowed from the JSON */
  int32_t width, height; /* 0 when absent or not a sane number */
};

/* The best thumbnail in an object of named thumbnails such as YouTube's
 * snippet.thumbnails: the first usable one of `prefer` (a NULL-terminated
 * list of member names; NULL means maxres, standard, high, medium,
 * default), else the widest usable other member. Usable: an object whose
 * "url" is a string starting with "https://". `thumbnails` borrowed.
 * False when none is usable. */
bool ts_normalize_pick_thumbnail(const json_t *thumbnails,
                                 const char *const *prefer,
                                 struct ts_thumbnail *out);

/* ---- Items --------------------------------------------------------- */

/* Whether a video id is safe as a page name: [A-Za-z0-9_-]{1,64}. */
bool ts_normalize_video_id_ok(const char *id);

/* The id's length when it is safe (as above), else 0: one pass for
 * callers that go on to read the id. */
size_t ts_normalize_video_id_len(const char *id);

struct ts_normalize_options {
  uint32_t title_graphemes;   /* default 150 */
  uint32_t summary_graphemes; /* default 400 */
  uint32_t author_graphemes;  /* default 100 */
  uint32_t category_graphemes; /* default 64 */
  /* Stories only: drop a trailing " - <author>" from the title (NewsAPI
   * titles end with the publisher, which adapters store as author). */
  bool strip_author_suffix;   /* default true */
};

/* The defaults above. */
void ts_normalize_options_init(struct ts_normalize_options *opts);

struct ts_normalize_stats {
  uint64_t items;    /* items looked at */
  uint64_t dropped;  /* unusable items */
  uint64_t repaired; /* U+FFFD replacements in item text */
  uint64_t truncated; /* texts cut at their cap */
  uint64_t urls_rejected; /* url/discussion_url/thumbnail set to NULL */
};

/* Normalizes one raw item in place (new strings in the batch arena):
 * - title, author, category: line text with their caps; summary: block
 *   text (adapters convert HTML with ts_normalize_html first); an empty
 *   optional text becomes NULL;
 * - url, discussion_url, thumbnail: canonical or NULL; when `url` is
 *   rejected the discussion page becomes the link;
 * - language: kept only if it looks like a BCP 47 tag; live: only "live"
 *   or "upcoming"; negative counts, durations and sizes become unknown.
 * *usable is false when the item cannot be shown: an empty title after
 * cleanup, NewsAPI's "[Removed]" placeholder, no link, no position, or a
 * video whose id is not [A-Za-z0-9_-]{1,64}. `opts` NULL means defaults;
 * `stats` may be NULL. TS_ERR_NOMEM when the arena runs out. */
enum ts_result ts_normalize_item(struct ts_batch *batch, struct ts_item *item,
                                 const struct ts_normalize_options *opts,
                                 struct ts_normalize_stats *stats,
                                 bool *usable);

/* ts_normalize_item over every item of the batch. Unusable items leave
 * the batch (the rest keep their order) and count in `skipped` (and leave
 * `items`) of the status of their first position's (source, region);
 * repairs count in its `repaired`. */
enum ts_result ts_normalize_batch(struct ts_batch *batch,
                                  const struct ts_normalize_options *opts,
                                  struct ts_normalize_stats *stats,
                                  struct ts_error *err);

#endif

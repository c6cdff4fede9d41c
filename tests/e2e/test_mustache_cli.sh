#!/usr/bin/env bash
# `trendsite mustache` and `trendsite check`: byte-exact output, partial
# folders, escaping by file name, error lines and exit codes.
. "$(dirname "$0")/lib.sh"

T=$TS_TMP/t
mkdir -p "$T/tpl/partials" "$T/other" "$T/broken/sub" "$T/clean/templates"

# A page whose last line has no newline: the output must not gain one.
printf '<h1>{{title}}</h1>\n<ul>\n{{#items}}\n  {{>item}}\n{{/items}}\n</ul>\n{{count}} items, {{ratio}}' \
  >"$T/tpl/page.html.mustache"
printf '<li>{{name}}</li>\n' >"$T/tpl/item.mustache"
printf '<li class="other">{{name}}</li>\n' >"$T/other/item.mustache"
cat >"$T/data.json" <<'EOF'
{"title": "Top <5>", "items": [{"name": "a & b"}, {"name": "c"}],
 "count": 2, "ratio": 0.1}
EOF
printf '<h1>Top &lt;5&gt;</h1>\n<ul>\n  <li>a &amp; b</li>\n  <li>c</li>\n</ul>\n2 items, 0.1' \
  >"$T/page.expected"

renders_byte_exact() {
  run_ts 0 mustache "$T/tpl/page.html.mustache" "$T/data.json" &&
    cmp "$TS_TMP/out" "$T/page.expected" && [ ! -s "$TS_TMP/err" ]
}
partials_dir_option() {
  run_ts 0 mustache --partials "$T/other" "$T/tpl/page.html.mustache" \
    "$T/data.json" && has "$TS_TMP/out" '<li class="other">a &amp; b</li>'
}
json_template_escapes_json() {
  printf '{"title": "{{title}}", "items": {{{items}}}}' >"$T/tpl/api.json.mustache"
  printf '{"title": "Top \\u003c5\\u003e", "items": [{"name":"a \\u0026 b"},{"name":"c"}]}' \
    >"$T/api.expected"
  run_ts 0 mustache "$T/tpl/api.json.mustache" "$T/data.json" &&
    cmp "$TS_TMP/out" "$T/api.expected"
}
text_template_does_not_escape() {
  printf '{{title}}' >"$T/tpl/robots.txt.mustache"
  run_ts 0 mustache "$T/tpl/robots.txt.mustache" "$T/data.json" &&
    [ "$(cat "$TS_TMP/out")" = "Top <5>" ]
}
template_error_is_one_line() {
  printf 'ok\n  {{#items}}\n{{name}}\n' >"$T/tpl/bad.html.mustache"
  run_ts 1 mustache "$T/tpl/bad.html.mustache" "$T/data.json" &&
    [ "$(cat "$TS_TMP/err")" = "trendsite: $T/tpl/bad.html.mustache:4:1: unclosed section \"items\" (opened at 2:3)" ] &&
    [ ! -s "$TS_TMP/out" ]
}
bad_json_names_line_and_column() {
  printf '{"title": "x",\n  "items": [1, 2,]}' >"$T/bad.json"
  run_ts 1 mustache "$T/tpl/page.html.mustache" "$T/bad.json" &&
    [ "$(lines "$TS_TMP/err")" = 1 ] &&
    grep -qE "^trendsite: $T/bad.json:2:[0-9]+: " "$TS_TMP/err"
}
missing_files_are_errors() {
  run_ts 1 mustache "$T/tpl/none.html.mustache" "$T/data.json" &&
    has "$TS_TMP/err" "none.html.mustache: No such file or directory" &&
    run_ts 1 mustache "$T/tpl/page.html.mustache" "$T/none.json" &&
    has "$TS_TMP/err" "none.json"
}
missing_argument_is_usage_error() {
  run_ts 1 mustache "$T/tpl/page.html.mustache" &&
    [ "$(head -n1 "$TS_TMP/err")" = "trendsite: missing DATA.json (usage: trendsite mustache [--partials DIR] TEMPLATE DATA.json)" ] &&
    has "$TS_TMP/err" "usage: trendsite" &&
    run_ts 1 mustache --partials &&
    [ "$(head -n1 "$TS_TMP/err")" = "trendsite: option '--partials' needs a value" ]
}
unknown_option_is_usage_error() {
  run_ts 1 check --frobnicate &&
    [ "$(head -n1 "$TS_TMP/err")" = "trendsite: unknown option '--frobnicate'" ] &&
    run_ts 1 mustache a b c &&
    [ "$(head -n1 "$TS_TMP/err")" = "trendsite: unexpected argument 'c'" ]
}

# A folder with several broken templates, one of them a partial that two
# others include: every error is listed once, with FILE:LINE:COL.
printf '{{#a}}\n' >"$T/broken/one.html.mustache"
printf 'x\n{{/b}}\n' >"$T/broken/two.html.mustache"
printf '{{>sub/card}}\n{{>sub/card}}\n' >"$T/broken/three.html.mustache"
printf '  {{x y}}\n' >"$T/broken/sub/card.mustache"
printf '{{>missing}}\n' >"$T/broken/four.json.mustache"
printf 'fine {{>sub/ok}}\n' >"$T/broken/five.html.mustache"
printf 'ok\n' >"$T/broken/sub/ok.mustache"
check_lists_every_error() {
  run_ts 1 check --templates "$T/broken" &&
    [ "$(lines "$TS_TMP/out")" = 4 ] &&
    has "$TS_TMP/out" "$T/broken/one.html.mustache:2:1: unclosed section \"a\" (opened at 1:1)" &&
    has "$TS_TMP/out" "$T/broken/two.html.mustache:2:1: closing tag \"b\" has no open section" &&
    has "$TS_TMP/out" "$T/broken/sub/card.mustache:1:3: tag name \"x y\" contains whitespace" &&
    has "$TS_TMP/out" "$T/broken/four.json.mustache:1:1: partial \"missing\" not found (looked for missing.json.mustache and missing.mustache in $T/broken)" &&
    has "$TS_TMP/err" "trendsite: checked 7 templates, 4 errors"
}
check_clean_folder_passes() {
  cp "$T/tpl/page.html.mustache" "$T/tpl/item.mustache" "$T/clean/templates/"
  (cd "$T/clean" && "$TRENDSITE" check) >"$TS_TMP/out" 2>"$TS_TMP/err" &&
    [ ! -s "$TS_TMP/out" ] &&
    [ "$(cat "$TS_TMP/err")" = "trendsite: checked 2 templates, 0 errors" ] &&
    (cd "$T/clean" && "$TRENDSITE" -q check) >"$TS_TMP/out" 2>"$TS_TMP/err" &&
    [ ! -s "$TS_TMP/err" ] && [ ! -s "$TS_TMP/out" ]
}
check_missing_folder_is_an_error() {
  run_ts 1 check --templates "$T/nowhere" &&
    has "$TS_TMP/err" "$T/nowhere: No such file or directory"
}

check "mustache: output is byte-exact, no newline added" renders_byte_exact
check "mustache: --partials DIR" partials_dir_option
check "mustache: *.json.mustache escapes JSON" json_template_escapes_json
check "mustache: *.txt.mustache does not escape" text_template_does_not_escape
check "mustache: template error is FILE:LINE:COL, exit 1" template_error_is_one_line
check "mustache: bad JSON names file, line, column" bad_json_names_line_and_column
check "mustache: missing template or data file" missing_files_are_errors
check "mustache: missing argument is a usage error" missing_argument_is_usage_error
check "unknown option, extra argument: usage error" unknown_option_is_usage_error
check "check: lists every error, exit 1" check_lists_every_error
check "check: clean folder, exit 0, summary, -q" check_clean_folder_passes
check "check: missing folder" check_missing_folder_is_an_error
finish

#!/usr/bin/env bash
# A second render of unchanged data writes nothing and says so; any change
# to what the site depends on (the data, a template, the output folder
# itself) renders again.
. "$(dirname "$0")/lib.sh"

export TRENDSITE_NOW=2026-11-21T10:00:00Z
python3 "$TS_ROOT/bench/gen_snapshot.py" --regions 3 --per-region 10 --stories 6 \
  --out "$TS_TMP/snap.json"
mkdir -p "$TS_TMP/theme"
cat >"$TS_TMP/cfg.json" <<EOF2
{"site": {"base_url": "https://example.github.io/t/"}, "output": "$TS_TMP/site",
 "state": "$TS_TMP/state", "templates": "$TS_TMP/theme", "sources": []}
EOF2
render() { run_ts 0 render --config "$TS_TMP/cfg.json" --from "$1"; }
tree() { find "$TS_TMP/site" -type f -printf '%i %T@ %s %p\n' | sort; }

first_render_publishes() {
  render "$TS_TMP/snap.json" && [ -f "$TS_TMP/site/index.html" ] &&
    has "$TS_TMP/err" "written"
}
second_render_touches_nothing() {
  tree >"$TS_TMP/before"
  render "$TS_TMP/snap.json" && has "$TS_TMP/err" "is up to date" &&
    tree >"$TS_TMP/after" && cmp "$TS_TMP/before" "$TS_TMP/after"
}
a_changed_template_renders_again() {
  printf '{{<layout}}{{$main}}<h1>My own 404</h1>{{/main}}{{/layout}}' \
    >"$TS_TMP/theme/404.html.mustache"
  render "$TS_TMP/snap.json" && ! grep -q "is up to date" "$TS_TMP/err" &&
    has "$TS_TMP/site/404.html" "My own 404"
}
a_damaged_output_is_repaired() {
  rm "$TS_TMP/site/news.html"
  render "$TS_TMP/snap.json" && ! grep -q "is up to date" "$TS_TMP/err" &&
    [ -f "$TS_TMP/site/news.html" ]
}
new_data_renders_again() {
  sed 's/"title": "/"title": "New: /' "$TS_TMP/snap.json" >"$TS_TMP/snap2.json"
  render "$TS_TMP/snap2.json" && ! grep -q "is up to date" "$TS_TMP/err" &&
    grep -q "New: " "$TS_TMP/site/index.html"
}

check "the first render publishes" first_render_publishes
check "the same data again: up to date, no file touched" second_render_touches_nothing
check "a changed template renders again" a_changed_template_renders_again
check "a file missing from the output renders again" a_damaged_output_is_repaired
check "new data renders again" new_data_renders_again
finish

#!/usr/bin/env bash
# render --from: shards of one run merge, a list in two snapshots is
# refused, and a malformed snapshot is named with its line and column.
. "$(dirname "$0")/lib.sh"
export TRENDSITE_NOW=2026-11-21T10:00:00Z

# shard NAME INDEX REGION KEY: a one-item snapshot, shard INDEX of 2.
shard() {
  cat >"$TS_TMP/$1" <<JSON
{"format":"trendsite-snapshot","version":1,"generator":"test","generated_at":"2026-11-21T10:00:00Z","shard":{"index":$2,"count":2},"statuses":[
{"source":"youtube","type":"youtube","region":"$3","status":"ok","items":1,"skipped":0,"requests":1,"retries":0,"repaired":0,"duration_ms":0}
],"items":[
{"key":"$4","kind":"video","source":"youtube","id":"$4","title":"Video $4","positions":[{"source":"youtube","region":"$3","rank":1}],"sources":["youtube"],"rank_score":100,"merged":1}
]}
JSON
}
shard a.json 1 JP aaaaaaaaaaa
shard b.json 2 US bbbbbbbbbbb
cat >"$TS_TMP/cfg.json" <<JSON
{"site": {"base_url": "https://example.github.io/t/"}, "output": "$TS_TMP/site",
 "state": "$TS_TMP/state", "sources": []}
JSON

shards_merge() {
  run_ts 0 -q render --config "$TS_TMP/cfg.json" --from "$TS_TMP/a.json" \
    "$TS_TMP/b.json" &&
    has "$TS_TMP/site/api/snapshot.json" '"key":"aaaaaaaaaaa"' &&
    has "$TS_TMP/site/api/snapshot.json" '"key":"bbbbbbbbbbb"' &&
    has "$TS_TMP/site/api/snapshot.json" '"region":"US"'
}
same_list_twice_is_refused() {
  run_ts 2 -q render --config "$TS_TMP/cfg.json" --from "$TS_TMP/a.json" \
    "$TS_TMP/a.json" &&
    has "$TS_TMP/err" "a.json: list youtube[JP] is also in another snapshot"
}
malformed_snapshot_is_located() {
  printf '{"format": "trendsite-snapshot",\n "items": [1,]}' >"$TS_TMP/bad.json"
  run_ts 2 -q render --config "$TS_TMP/cfg.json" --from "$TS_TMP/bad.json" &&
    has "$TS_TMP/err" "bad.json:2:14: trailing comma before ']'"
}

# The same site whether one thread renders it or several (workers
# claiming region and item pages from shared counters while one of them
# renders the other pages, all writing through one publisher).
threads_render_the_same_site() {
  python3 "$TS_ROOT/bench/gen_snapshot.py" --regions 12 --per-region 30 \
    --stories 20 --out "$TS_TMP/many.json" || return 1
  local t
  for t in 1 2 3; do
    cat >"$TS_TMP/cfg$t.json" <<JSON
{"site": {"base_url": "https://example.github.io/t/"}, "output": "$TS_TMP/site$t",
 "state": "$TS_TMP/state$t", "sources": []}
JSON
    TRENDSITE_THREADS=$t run_ts 0 render --config "$TS_TMP/cfg$t.json" \
      --from "$TS_TMP/many.json" || return 1
  done
  [ "$(find "$TS_TMP/site1" -name '*.html' | wc -l)" -gt 300 ] &&
    diff -r "$TS_TMP/site1" "$TS_TMP/site2" &&
    diff -r "$TS_TMP/site1" "$TS_TMP/site3"
}

# A run that fails lets every thread go and exits. The template
# compiler's thread goes on to write the snapshot's text and then renders
# pages, handed to it by the stages after it: a failure before those
# stages (a broken template, every list failed) must still release it.
# A hang shows as timeout's exit code, 124.
failed_runs_end_every_thread() {
  python3 "$TS_ROOT/bench/gen_snapshot.py" --regions 3 --per-region 10 \
    --stories 5 --out "$TS_TMP/few.json" || return 1
  python3 - "$TS_TMP/few.json" "$TS_TMP/failed.json" <<'PY' || return 1
import json, sys
doc = json.load(open(sys.argv[1]))
for st in doc["statuses"]:
    st["status"], st["reason"] = "failed", "HTTP 500"
doc["items"] = []
json.dump(doc, open(sys.argv[2], "w"))
PY
  mkdir -p "$TS_TMP/broken"
  printf '{{#item}}never closed\n' >"$TS_TMP/broken/video.html.mustache"
  local t good=$TS_TMP/cfg-good.json bad=$TS_TMP/cfg-broken.json
  printf '{"site": {"base_url": "https://example.github.io/t/"}, "output": "%s",
 "state": "%s", "sources": []}\n' "$TS_TMP/kept" "$TS_TMP/kept-state" >"$good"
  printf '{"site": {"base_url": "https://example.github.io/t/"}, "output": "%s",
 "state": "%s", "templates": "%s", "sources": []}\n' "$TS_TMP/kept" \
    "$TS_TMP/kept-state" "$TS_TMP/broken" >"$bad"
  run_ts 0 -q render --config "$good" --from "$TS_TMP/few.json" || return 1
  printf '#!/bin/sh\nexec timeout 60 "%s" "$@"\n' "$TRENDSITE" >"$TS_TMP/ts60"
  chmod +x "$TS_TMP/ts60"
  local before
  before=$(find "$TS_TMP/kept" -type f -exec md5sum {} + | sort)
  for t in 2 3; do
    TRENDSITE=$TS_TMP/ts60 TRENDSITE_THREADS=$t \
      run_ts 2 -q render --config "$bad" --from "$TS_TMP/few.json" &&
      has "$TS_TMP/err" "video.html.mustache:2:1: unclosed section" &&
      TRENDSITE=$TS_TMP/ts60 TRENDSITE_THREADS=$t \
        run_ts 2 -q render --config "$good" --from "$TS_TMP/failed.json" &&
      has "$TS_TMP/err" "every list failed" || return 1
  done
  [ "$(find "$TS_TMP/kept" -type f -exec md5sum {} + | sort)" = "$before" ]
}

# Rendering never fetches, so it must not pay for loading libcurl and its
# thirty-odd libraries (src/util/curl_load.h). The loader's own trace
# lists every library the process loads, linked or dlopen()ed.
render_does_not_load_libcurl() {
  LD_DEBUG=files run_ts 0 -q render --config "$TS_TMP/cfg.json" \
    --from "$TS_TMP/a.json" &&
    has "$TS_TMP/err" "file=libc.so" &&
    if grep -q "file=libcurl" "$TS_TMP/err"; then
      echo "render loaded libcurl:"; grep "file=libcurl" "$TS_TMP/err"; return 1
    fi
}

check "render --from: two shards merge into one site" shards_merge
check "render --from: a list in two snapshots is refused" same_list_twice_is_refused
check "render --from: a malformed snapshot names line and column" malformed_snapshot_is_located
check "render: libcurl is not loaded" render_does_not_load_libcurl
check "render: two and three threads publish the same site as one" threads_render_the_same_site
check "render: a failed run ends every thread, the site kept" failed_runs_end_every_thread
finish

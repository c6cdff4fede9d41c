#!/usr/bin/env bash
# make demo on a fresh clone: the repository (committed work only) is
# cloned into a temporary folder and `make demo` runs there, building from
# scratch with the packages already installed. The site must appear with
# items from all four APIs, the mock API server must be stopped and nothing
# of the clone left running, the checkout must stay clean, a second run
# must not rebuild, a failing run must still stop the server, and
# `trendsite serve` must serve the demo site without letting ../ out.
. "$(dirname "$0")/lib.sh"

clone="$TS_TMP/clone"
export MAKEFLAGS= # the clone's own make, not the outer one's jobs/flags
unset MODE MAKELEVEL

if ! git -C "$TS_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  echo "ok 1 - make demo on a fresh clone # SKIP $TS_ROOT is not a git checkout"
  exit 0
fi

# Every process whose executable lives in the clone (mockapi, trendsite).
clone_processes() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case $exe in "$clone"/*) echo "${p#/proc/} $exe" ;; esac
  done
}

demo_run() {
  (cd "$clone" && timeout 240 make demo) >"$TS_TMP/demo.out" 2>&1
}

t_clone() {
  git clone -q "$TS_ROOT" "$clone" || return 1
  [ "$(git -C "$clone" rev-parse HEAD)" = "$(git -C "$TS_ROOT" rev-parse HEAD)" ] ||
    { echo "the clone is not at HEAD of $TS_ROOT"; return 1; }
}

t_demo() {
  demo_run || { echo "make demo failed:"; tail -n 40 "$TS_TMP/demo.out"; return 1; }
  has "$TS_TMP/demo.out" "demo: mock API stopped" &&
    has "$TS_TMP/demo.out" "The demo site is in site/" &&
    has "$TS_TMP/demo.out" "./trendsite serve site" &&
    has "$TS_TMP/demo.out" "http://127.0.0.1:8000/"
}

t_site() {
  local s="$clone/site"
  [ -s "$s/index.html" ] || { echo "no $s/index.html"; return 1; }
  for f in status.html news.html feed.xml sitemap.xml robots.txt .nojekyll \
           api/status.json regions/US.html regions/JP.html regions/KR.html; do
    [ -e "$s/$f" ] || { echo "no $s/$f"; return 1; }
  done
  python3 - "$s/api/snapshot.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
sources = {s for it in doc["items"] for s in it["sources"]}
want = {"youtube", "hackernews", "guardian", "newsapi"}
assert want <= sources, "sources %r" % sorted(sources)
st = {(s["source"], s.get("region", "")): s for s in doc["statuses"]}
regions = [k[1] for k in st if k[0] == "youtube"]
assert regions == ["US", "GB", "DE", "FR", "IN", "BR", "JP", "KR"], regions
bad = [k for k, s in st.items() if s["status"] != "ok"]
assert not bad, "not ok: %r" % bad
assert all(st["youtube", r]["items"] == 50 for r in regions)
multi = [it for it in doc["items"] if len(it.get("regions", [])) >= 3]
assert len(multi) >= 10, "only %d videos trend in 3+ regions" % len(multi)
assert any(len({s for s in it["sources"]}) > 1 for it in doc["items"]
           if it["kind"] == "story"), "no story merged across sources"
assert doc["generated_at"] == "2026-11-21T10:00:00Z", doc["generated_at"]
EOF
}

t_stopped() {
  local pid
  pid=$(sed -n 's/^demo: mock API on .* (pid \([0-9]*\))$/\1/p' "$TS_TMP/demo.out")
  [ -n "$pid" ] || { echo "no mock pid in the output"; return 1; }
  if [ -e "/proc/$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = \
       "$clone/build/release/mockapi" ]; then
    echo "the mock API (pid $pid) is still running"; return 1
  fi
  local left
  left=$(clone_processes)
  [ -z "$left" ] || { echo "left running: $left"; return 1; }
}

t_clean() {
  local st
  st=$(git -C "$clone" status --porcelain)
  [ -z "$st" ] || { echo "the checkout changed:"; echo "$st"; return 1; }
}

t_again() {
  demo_run || { tail -n 40 "$TS_TMP/demo.out"; return 1; }
  if grep -qE '^(cc|clang|gcc) ' "$TS_TMP/demo.out"; then
    echo "a second make demo compiled again:"
    grep -E '^(cc|clang|gcc) ' "$TS_TMP/demo.out" | head -n 5
    return 1
  fi
  # Cached category names mean fewer requests, so a few files change.
  grep -qE "published [0-9]+ files to site/" "$TS_TMP/demo.out" &&
    [ -z "$(clone_processes)" ] && [ -z "$(git -C "$clone" status --porcelain)" ]
}

t_failure() {
  # A run that fails (a malformed pinned clock): the server still stops.
  (cd "$clone" && TRENDSITE_NOW=yesterday timeout 120 tools/demo.sh) \
    >"$TS_TMP/fail.out" 2>&1 && { echo "tools/demo.sh succeeded"; return 1; }
  has "$TS_TMP/fail.out" "demo: error: trendsite run exited with status 1" &&
    has "$TS_TMP/fail.out" "demo: mock API stopped" &&
    [ -z "$(clone_processes)" ] || { echo "left: $(clone_processes)"; return 1; }
}

t_serve() {
  local port_file="$TS_TMP/serve.port" pid port ok=0
  (cd "$clone" && exec ./trendsite serve --port 0 --port-file "$port_file" site) \
    >"$TS_TMP/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do [ -s "$port_file" ] && break; sleep 0.05; done
  port=$(head -n1 "$port_file" 2>/dev/null)
  if [ -n "$port" ]; then
    local code
    code=$(curl -s -o "$TS_TMP/index.html" -w '%{http_code}' --max-time 10 \
      "http://127.0.0.1:$port/")
    [ "$code" = 200 ] && grep -q "<html" "$TS_TMP/index.html" || {
      echo "GET /: $code"; ok=1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
      "http://127.0.0.1:$port/api/snapshot.json")
    [ "$code" = 200 ] || { echo "GET /api/snapshot.json: $code"; ok=1; }
    code=$(curl -s -o "$TS_TMP/escape" -w '%{http_code}' --max-time 10 \
      --path-as-is "http://127.0.0.1:$port/../Makefile")
    case $code in 4*) ;; *) echo "GET /../Makefile: $code"; ok=1 ;; esac
    grep -q "front door" "$TS_TMP/escape" && { echo "served the Makefile"; ok=1; }
  else
    echo "trendsite serve did not start:"; cat "$TS_TMP/serve.log"; ok=1
  fi
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return $ok
}

check "git clone of the repository" t_clone
check "make demo on the fresh clone builds and publishes" t_demo
check "the site has pages and items from all four APIs" t_site
check "the mock API is stopped, nothing of the clone runs" t_stopped
check "the checkout stays clean (site/.gitignore kept, state ignored)" t_clean
check "a second make demo does not rebuild" t_again
check "a failing demo run still stops the mock API" t_failure
check "trendsite serve serves the demo site, refuses ../" t_serve
finish

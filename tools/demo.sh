#!/usr/bin/env bash
# make demo: the whole pipeline on bundled sample data, offline.
#
#   1. installs the Debian packages if a library is missing (make deps),
#   2. builds ./trendsite and the mock API server (tests/mockapi),
#   3. starts the mock on a free port on 127.0.0.1, serving the sample
#      answers in tests/fixtures/demo (8 YouTube regions x 50 videos,
#      Hacker News, The Guardian, NewsAPI),
#   4. runs `trendsite run --config config/demo.json` into site/,
#   5. stops the server (also on failure or Ctrl-C), and
#   6. says where the site is and how to look at it.
#
# No network beyond loopback and no API keys: config/demo.json has fixed
# fake keys that only the mock sees. The sample data is a snapshot of
# 21 Nov 2026, 10:00 UTC, so the clock is pinned there (TRENDSITE_NOW;
# set it yourself to override). Environment: DEMO_PORT_WAIT (seconds to
# wait for the mock to listen, default 15).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

# ---- 1. libraries --------------------------------------------------------
pkgs="libcurl libuv jansson libutf8proc"
missing=""
if ! command -v pkg-config >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1
then
  missing="pkg-config/cc"
else
  for p in $pkgs; do
    pkg-config --exists "$p" 2>/dev/null || missing="$missing $p"
  done
fi
if [ -n "$missing" ]; then
  say "missing:$missing; installing the Debian packages (make deps)"
  make --no-print-directory deps-build
fi

# ---- 2. build ------------------------------------------------------------
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
say "building trendsite and the mock API"
make --no-print-directory -j"$jobs" MODE=release trendsite \
  build/release/mockapi || die "the build failed"
mock_bin=build/release/mockapi

# ---- 3. the mock API -----------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/trendsite-demo.XXXXXX")
mock_pid=""
stop_mock() {
  if [ -n "$mock_pid" ]; then
    kill -TERM "$mock_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$mock_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
    mock_pid=""
  fi
}
cleanup() {
  stop_mock
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$mock_bin" --root tests/fixtures/demo --routes tests/fixtures/demo/routes.json \
  --port 0 --port-file "$work/port" --quiet --time-limit 600 \
  2>"$work/mock.log" &
mock_pid=$!
wait_s=${DEMO_PORT_WAIT:-15}
for _ in $(seq 1 $((wait_s * 20))); do
  [ -s "$work/port" ] && break
  kill -0 "$mock_pid" 2>/dev/null ||
    { cat "$work/mock.log" >&2; mock_pid=""; die "the mock API did not start"; }
  sleep 0.05
done
[ -s "$work/port" ] ||
  { cat "$work/mock.log" >&2; die "the mock API did not listen within ${wait_s} s"; }
port=$(head -n1 "$work/port")
export TRENDSITE_MOCK_URL="http://127.0.0.1:$port"
export TRENDSITE_NOW="${TRENDSITE_NOW:-2026-11-21T10:00:00Z}"
say "mock API on $TRENDSITE_MOCK_URL (pid $mock_pid)"

# ---- 4. the run ----------------------------------------------------------
status=0
./trendsite run --config config/demo.json || status=$?

# ---- 5. stop the server --------------------------------------------------
stop_mock
say "mock API stopped"

# ---- 6. where it is ------------------------------------------------------
case $status in
  0|3)
    [ "$status" = 3 ] && say "published, but some lists failed (see site/status.html)"
    files=$(find site -type f | wc -l | tr -d ' ')
    cat <<EOF

The demo site is in site/ ($files files; data served by the mock API from
tests/fixtures/demo, configured by config/demo.json).

View it:
  ./trendsite serve site      then open http://127.0.0.1:8000/
  (or open site/index.html in a browser)
EOF
    ;;
  *)
    die "trendsite run exited with status $status"
    ;;
esac

#!/usr/bin/env bash
# The fetch engine against the mock API server on loopback (issue: fetch
# engine benchmark):
#   - 8 regions, latency 200-500 ms fixed per URL, concurrency 3: wall time
#     against the ideal schedule for those latencies, and against
#     curl --parallel --parallel-immediate --parallel-max 3 on the same URLs;
#   - 200 URLs at concurrency 50 and at concurrency 3: against the ideal;
#   - 500 requests at rate 100/s, concurrency 50: the strictness and the
#     achieved rate.
# Medians of several runs; the same URLs get the same latencies every run.
set -u
: "${TS_ROOT:=$PWD}"
: "${TS_BUILD:=build/release}"
: "${BENCH_RUNS:=5}"
. "$TS_ROOT/tests/e2e/mocklib.sh"
bench="$TS_ROOT/$TS_BUILD/bench/bench_fetch"

root=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-fetch.XXXXXX")
trap 'rm -rf "$root"; _mock_cleanup' EXIT
printf '{"ok": true}\n' >"$root/ok.json"
cat >"$root/routes.json" <<'ROUTES'
{"routes": [
  {"path": "/r/*", "file": "ok.json", "latency_ms": [200, 500]},
  {"path": "/z/*", "file": "ok.json"}
]}
ROUTES
mock_start "$root" "$root/routes.json" --seed 11 --quiet --time-limit 1800 || exit 1
status=0

echo "8 regions, latency 200-500 ms per URL, concurrency 3:"
"$bench" schedule "$MOCK_URL" 8 3 "$BENCH_RUNS" | tee "$root/out" || status=1
trendsite_ms=$(sed -n 's/.*: median \([0-9.]*\) ms.*/\1/p' "$root/out")
urls=()
for i in $(seq 0 7); do urls+=("$MOCK_URL/r/$i.json" -o /dev/null); done
times=()
for _ in $(seq "$BENCH_RUNS"); do
  start=${EPOCHREALTIME/./}
  curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 3 "${urls[@]}" || status=1
  times+=($(( (${EPOCHREALTIME/./} - start) )))
done
curl_ms=$(printf '%s\n' "${times[@]}" | sort -n |
  awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f", m / 1000}')
echo "  curl --parallel --parallel-immediate --parallel-max 3: median $curl_ms ms"
# "No slower than curl": equal within 2% measurement noise.
awk -v t="$trendsite_ms" -v c="$curl_ms" \
  'BEGIN {printf "  trendsite / curl = %.3f (below 1: trendsite is faster)\n", t / c;
          printf "  target: no slower than curl: %s\n", t <= c * 1.02 ? "met" : "MISSED";
          exit !(t <= c * 1.02)}' || status=1

echo "200 URLs, concurrency 50:"
"$bench" schedule "$MOCK_URL" 200 50 "$BENCH_RUNS" || status=1
echo "200 URLs, concurrency 3:"
"$bench" schedule "$MOCK_URL" 200 3 3 || status=1
echo "500 requests, rate 100/s, concurrency 50:"
"$bench" rate "$MOCK_URL" 500 50 100/s 3 || status=1
mock_stop || status=1
exit $status

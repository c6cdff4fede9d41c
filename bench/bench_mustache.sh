#!/usr/bin/env bash
# Template rendering: trendsite's engine against mustache.js 4.x on the
# same templates (bench/templates) and the same data (bench/out, written
# by bench/mustache_data.py with a fixed seed):
#   (a) list page: one render, an item partial for each of 100,000 items
#   (b) item page: ~3.7 KB rendered 100,000 times from one compiled template
# Prints MB/s (10^6 bytes of output per second) and renders/s for both,
# the ratio, and peak RSS; each figure is the median of $TS_BENCH_RUNS
# runs (default 5). Then a streaming check, trendsite only: the list with
# every item eight times (~1 GB, more than mustache.js can hold in one
# string) against the peak RSS of the process. mustache.js is installed into bench/node_modules (git
# ignores it) on the first run; without node the C figures print alone.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${TS_BUILD:-build/release}
driver=$build/bench/bench_mustache
trendsite=${TRENDSITE:-$build/trendsite}
runs=${TS_BENCH_RUNS:-5}
[ -x "$driver" ] || { echo "bench: $driver is missing (make bench builds it)"; exit 1; }

if [ ! -s bench/out/list.json ] || [ bench/mustache_data.py -nt bench/out/list.json ]; then
  python3 bench/mustache_data.py bench/out || exit 1
fi

js=1
if ! command -v node >/dev/null 2>&1; then
  echo "bench: node not found, mustache.js figures skipped"; js=0
elif [ ! -f bench/node_modules/mustache/package.json ]; then
  echo "bench: installing mustache@4 into bench/node_modules"
  npm install --prefix bench --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error mustache@4 >/dev/null || { echo "bench: npm install failed, mustache.js skipped"; js=0; }
fi
[ "$js" = 1 ] && echo "bench: mustache.js $(node -p "require('./bench/node_modules/mustache/package.json').version"), node $(node --version)"

# Same output, apart from mustache.js escaping / ` = as well.
if [ "$js" = 1 ]; then
  for b in list page; do
    "$trendsite" mustache --partials bench/templates \
      "bench/templates/$b.html.mustache" "bench/out/$b.json" >"bench/out/$b.c.html" &&
      node bench/mustache_js.js "render-$b" bench/templates "bench/out/$b.json" |
        sed 's|&#x2F;|/|g; s|&#x60;|`|g; s|&#x3D;|=|g' >"bench/out/$b.js.html" &&
      if cmp -s "bench/out/$b.c.html" "bench/out/$b.js.html"; then
        echo "bench: $b: trendsite and mustache.js output identical ($(wc -c <"bench/out/$b.c.html") bytes)"
      else
        echo "bench: $b: outputs DIFFER (bench/out/$b.c.html, bench/out/$b.js.html)"
      fi
    rm -f "bench/out/$b.c.html" "bench/out/$b.js.html"
  done
fi

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
status=0
printf '%-24s %-12s %10s %12s %10s %14s\n' benchmark engine MB/s renders/s "peak RSS" "RSS for render"
for b in list page; do
  c=$("$driver" "$b" bench/templates "bench/out/$b.json" "$runs") || { status=1; continue; }
  lines=("$c")
  [ "$js" = 1 ] && { j=$(node bench/mustache_js.js "$b" bench/templates "bench/out/$b.json" "$runs") && lines+=("$j") || status=1; }
  label=$([ "$b" = list ] && echo "(a) list, 100k items" || echo "(b) page x 100k")
  mbs=()
  for l in "${lines[@]}"; do
    bytes=$(field "$l" bytes) renders=$(field "$l" renders) secs=$(field "$l" seconds)
    peak=$(field "$l" rss_peak_kb) data=$(field "$l" rss_data_kb)
    mb=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }')
    mbs+=("$mb")
    printf '%-24s %-12s %10s %12s %8s MB %11s MB\n' "$label" "${l%% *}" "$mb" \
      "$(awk -v r="$renders" -v s="$secs" 'BEGIN { printf "%.1f", r / s }')" \
      "$((peak / 1024))" "$(((peak - data) / 1024))"
  done
  if [ "${#mbs[@]}" = 2 ]; then
    ratio=$(awk -v a="${mbs[0]}" -v b="${mbs[1]}" 'BEGIN { printf "%.1f", a / b }')
    echo "$label: trendsite is ${ratio}x mustache.js (output $(field "$c" bytes) bytes per run)"
  fi
done
# Streaming: the output goes through a 64 KiB buffer, so the peak RSS is
# the data plus next to nothing, however large the page.
if c=$("$driver" stream bench/templates bench/out/list.json 1); then
  echo "streaming: $(awk -v b="$(field "$c" bytes)" 'BEGIN { printf "%.0f", b / 1e6 }') MB" \
    "page written with peak RSS $(($(field "$c" rss_peak_kb) / 1024)) MB," \
    "of which the loaded data is $(($(field "$c" rss_data_kb) / 1024)) MB" \
    "($(awk -v b="$(field "$c" bytes)" -v s="$(field "$c" seconds)" 'BEGIN { printf "%.1f", b / s / 1e6 }') MB/s)"
else
  status=1
fi
exit $status

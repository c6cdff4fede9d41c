#!/usr/bin/env bash
# Loading the 30,000-item benchmark snapshot (28 MB, written by
# bench/gen_snapshot.py): median of 5 runs against jansson's tree. Target:
# at most 120 ms, and no more memory than the batch holds.
set -u
bin=${TS_BUILD:-build/release}/bench/bench_snapshot
snap=bench/out/snap100.json
mkdir -p bench/out
[ -s "$snap" ] || python3 bench/gen_snapshot.py --regions 800 --per-region 50 \
  --stories 600 --out "$snap" >/dev/null || { echo "gen_snapshot failed"; exit 1; }
out=$("$bin" "$snap" 5) || { echo "bench_snapshot: failed"; exit 1; }
echo "$out"
ms=$(sed -n 's/^ts_snapshot_parse: *\([0-9]*\).*/\1/p' <<<"$out")
if [ "${ms:-9999}" -le 120 ]; then
  echo "target load time (<= 120 ms): met"
else
  echo "target load time (<= 120 ms): NOT met"
  exit 1
fi

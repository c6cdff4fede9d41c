#!/usr/bin/env bash
# Runs every benchmark script bench/bench_*.sh in order. Each prints its own
# figures; this prints a header per benchmark. Benchmarks are never part of
# `make test`: the machines are shared and timing in tests is noise.
set -u
cd "$(dirname "$0")/.." || exit 1
export TS_ROOT="$PWD"
status=0
for b in bench/bench_*.sh; do
  [ -e "$b" ] || continue
  echo "== $(basename "$b" .sh)"
  bash "$b" || { echo "benchmark $b failed"; status=1; }
done
exit $status

#!/usr/bin/env bash
# Runs every test program given on the command line and prints one summary
# line: "N passed, M failed". Each program prints TAP-style lines
# ("ok N - name", "not ok N - name", "# SKIP ..."); a program that exits
# non-zero without reporting a failure (a crash, a sanitizer report, a
# timeout) counts as one failed test.
set -u
cd "$(dirname "$0")/.." || exit 1
export TS_ROOT="$PWD"
timeout_s=${TS_TEST_TIMEOUT:-300}
passed=0 failed=0 skipped=0
failed_names=()
log_dir=${TS_BUILD:-build/release}/test-logs
mkdir -p "$log_dir"

for t in "$@"; do
  name=${t#"$TS_BUILD/"}
  log="$log_dir/$(basename "$t").log"
  start=${EPOCHREALTIME/./}
  timeout --kill-after=10 "$timeout_s" "$t" >"$log" 2>&1
  status=$?
  elapsed_us=$(( ${EPOCHREALTIME/./} - start ))
  secs=$(printf '%d.%02d' $((elapsed_us / 1000000)) $((elapsed_us / 10000 % 100)))
  ok=$(grep -c '^ok ' "$log")
  skip=$(grep -c '^ok .*# SKIP' "$log")
  bad=$(grep -c '^not ok ' "$log")
  if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
    bad=1
    [ "$status" -eq 124 ] && echo "not ok - $name timed out after ${timeout_s}s" >>"$log"
    echo "not ok - $name exited with status $status" >>"$log"
  fi
  passed=$((passed + ok - skip)); skipped=$((skipped + skip)); failed=$((failed + bad))
  if [ "$bad" -ne 0 ]; then
    printf 'FAIL %-40s %3d ok, %d failed (%ss)\n' "$name" "$((ok - skip))" "$bad" "$secs"
    sed 's/^/    /' "$log" | grep -v '^    ok ' | tail -n 60
    failed_names+=("$name")
  else
    printf 'PASS %-40s %3d ok%s (%ss)\n' "$name" "$((ok - skip))" \
      "$([ "$skip" -gt 0 ] && echo ", $skip skipped")" "$secs"
    grep '# SKIP' "$log" | sed 's/^/    /'
  fi
done

[ "${#failed_names[@]}" -gt 0 ] && echo "failed: ${failed_names[*]}"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]

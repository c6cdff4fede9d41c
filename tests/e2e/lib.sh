# Shared helpers for the shell end-to-end tests. Source it, call `check`
# once per case, and end with `finish`. Output is TAP-style lines that
# tests/run.sh counts.
set -u
: "${TRENDSITE:=$PWD/trendsite}"
: "${TS_ROOT:=$PWD}"
_n=0 _failed=0
TS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ts-e2e.XXXXXX")
trap 'rm -rf "$TS_TMP"' EXIT

# check NAME COMMAND...: one case; passes when COMMAND succeeds.
check() {
  local name=$1; shift
  _n=$((_n + 1))
  local out
  if out=$("$@" 2>&1); then
    echo "ok $_n - $name"
  else
    echo "not ok $_n - $name"
    printf '%s\n' "$out" | sed 's/^/#   /' | tail -n 30
    _failed=$((_failed + 1))
  fi
}

# run_ts EXPECTED_STATUS ARGS...: runs trendsite, stdout to $TS_TMP/out,
# stderr to $TS_TMP/err; fails (printing both) unless the exit status matches.
run_ts() {
  local want=$1; shift
  "$TRENDSITE" "$@" >"$TS_TMP/out" 2>"$TS_TMP/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "trendsite $*: exit $got, expected $want"
    echo "--- stdout"; head -c 2000 "$TS_TMP/out"
    echo "--- stderr"; head -c 2000 "$TS_TMP/err"
    return 1
  fi
}

# has FILE PATTERN: FILE contains the fixed string PATTERN.
has() {
  grep -qF -- "$2" "$1" || { echo "$1 lacks '$2':"; head -c 2000 "$1"; return 1; }
}

lines() { wc -l <"$1" | tr -d ' '; }

finish() { [ "$_failed" -eq 0 ]; }

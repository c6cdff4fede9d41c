# Helpers for shell end-to-end tests that need the mock API server
# (tests/mockapi). Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/mocklib.sh"
#   mock_start "$TS_ROOT/tests/fixtures/mock-basic" \
#     "$TS_ROOT/tests/fixtures/mock-basic/routes.json" --seed 7 || exit 1
#   curl -s "$MOCK_URL/v0/topstories.json"
#   mock_stats >stats.json      # GET /__stats
#   mock_stop                   # fails unless the server exits 0
#
# mock_start sets MOCK_PID, MOCK_PORT, MOCK_URL (http://127.0.0.1:PORT) and
# MOCK_LOG (the server's stderr). One server at a time; any server still
# running when the script exits is killed. The binary is $MOCKAPI (the
# Makefile exports it), else $TS_ROOT/build/release/mockapi.

: "${TS_ROOT:=$PWD}"
: "${MOCKAPI:=$TS_ROOT/build/release/mockapi}"
MOCK_PID='' MOCK_PORT='' MOCK_URL='' MOCK_LOG=''
_mock_dir=$(mktemp -d "${TMPDIR:-/tmp}/ts-mock.XXXXXX")

_mock_cleanup() {
  if [ -n "$MOCK_PID" ]; then
    kill -KILL "$MOCK_PID" 2>/dev/null
    wait "$MOCK_PID" 2>/dev/null
  fi
  rm -rf "$_mock_dir"
}

# Chain onto the EXIT trap lib.sh (or the script) already set. `trap -p`
# prints the command shell-quoted; `eval set --` inside a function takes
# it apart without touching the script's own arguments.
_mock_chain_exit_trap() {
  eval "set -- $(trap -p EXIT)"
  local previous=${3:-}
  # shellcheck disable=SC2064 # expand $previous now, on purpose
  trap "_mock_cleanup; $previous" EXIT
}
_mock_chain_exit_trap

# mock_start ROOT [ROUTES|""] [EXTRA ARGS...]: starts the server on a free
# port and waits (at most 15 s) until it listens. Defaults: --seed 1,
# --time-limit 120. On failure prints the server's log and returns 1.
mock_start() {
  local root=$1 routes=${2:-}
  shift
  [ $# -gt 0 ] && shift
  if [ -n "$MOCK_PID" ]; then
    echo "mock_start: a server is already running (pid $MOCK_PID)"
    return 1
  fi
  local port_file="$_mock_dir/port"
  rm -f "$port_file"
  MOCK_LOG="$_mock_dir/stderr.log"
  local args=(--root "$root" --port 0 --port-file "$port_file"
    --seed 1 --time-limit 120)
  [ -n "$routes" ] && args+=(--routes "$routes")
  "$MOCKAPI" "${args[@]}" "$@" 2>"$MOCK_LOG" &
  MOCK_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do
    if [ -s "$port_file" ]; then
      MOCK_PORT=$(head -n1 "$port_file")
      MOCK_URL="http://127.0.0.1:$MOCK_PORT"
      return 0
    fi
    if ! kill -0 "$MOCK_PID" 2>/dev/null; then
      wait "$MOCK_PID"
      echo "mock_start: mockapi exited with status $? before listening:"
      cat "$MOCK_LOG"
      MOCK_PID=''
      return 1
    fi
    sleep 0.05
  done
  echo "mock_start: mockapi did not listen within 15 s:"
  cat "$MOCK_LOG"
  mock_stop >/dev/null
  return 1
}

# mock_stop: SIGTERM, wait at most 10 s, then SIGKILL. Returns the
# server's exit status (printing its log when that is not 0).
mock_stop() {
  [ -n "$MOCK_PID" ] || return 0
  kill -TERM "$MOCK_PID" 2>/dev/null
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$MOCK_PID" 2>/dev/null && kill -KILL "$MOCK_PID" 2>/dev/null
  wait "$MOCK_PID"
  local status=$?
  MOCK_PID=''
  if [ "$status" -ne 0 ]; then
    echo "mock_stop: mockapi exited with status $status:"
    tail -c 3000 "$MOCK_LOG"
  fi
  return "$status"
}

# mock_stats [QUERY]: prints /__stats (e.g. `mock_stats requests=0`).
mock_stats() {
  curl -sS --max-time 10 "$MOCK_URL/__stats${1:+?$1}"
}

# mock_reset: forgets recorded requests and restarts fail counters.
mock_reset() {
  curl -sS --max-time 10 -o /dev/null "$MOCK_URL/__reset"
}

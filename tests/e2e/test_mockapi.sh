#!/usr/bin/env bash
# The mock API server's command line, driven with the curl CLI: options and
# usage errors, the port file, loopback only, parallel in-flight counts,
# gzip, keep-alive without delayed-ACK stalls, SIGTERM and the time limit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mocklib.sh"

FIX="$TS_ROOT/tests/fixtures/mock-basic"

# json_get FILE EXPR: prints a Python expression over the JSON in FILE
# (bound to `j`).
json_get() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

help_prints_usage() {
  "$MOCKAPI" --help >"$TS_TMP/out" 2>"$TS_TMP/err" && has "$TS_TMP/out" "usage: mockapi --root DIR"
}

usage_errors_exit_1() {
  local status
  "$MOCKAPI" 2>"$TS_TMP/err"; status=$?
  [ "$status" -eq 1 ] && [ "$(head -n1 "$TS_TMP/err")" = "mockapi: --root is required" ] || {
    echo "no --root: status $status"; cat "$TS_TMP/err"; return 1; }
  "$MOCKAPI" --root "$FIX" --port 70000 2>"$TS_TMP/err"; status=$?
  [ "$status" -eq 1 ] && has "$TS_TMP/err" "--port: expected 0 to 65535" || return 1
  "$MOCKAPI" --root "$FIX" --time-limit 0 2>"$TS_TMP/err"; status=$?
  [ "$status" -eq 1 ] && has "$TS_TMP/err" "--time-limit" || return 1
  "$MOCKAPI" --root "$FIX" --frob 2>"$TS_TMP/err"; status=$?
  [ "$status" -eq 1 ] && has "$TS_TMP/err" "unknown option '--frob'"
}

bad_routes_file_names_the_key() {
  printf '{"routes":[{"path":"/a","fail":[{"status":429,"retry_afterr":"1"}]}]}' \
    >"$TS_TMP/bad.json"
  "$MOCKAPI" --root "$FIX" --routes "$TS_TMP/bad.json" 2>"$TS_TMP/err"
  local status=$?
  [ "$status" -eq 1 ] && has "$TS_TMP/err" 'routes[0].fail[0]: unknown key "retry_afterr"'
}

port_file_and_loopback_only() {
  mock_start "$FIX" "$FIX/routes.json" || return 1
  [ "$MOCK_PORT" -gt 0 ] && has "$MOCK_LOG" "mockapi: listening on http://127.0.0.1:$MOCK_PORT" || return 1
  # Listening sockets in /proc/net/tcp: local address 0100007F = 127.0.0.1.
  local hex
  hex=$(printf '%04X' "$MOCK_PORT")
  grep -qE "^ *[0-9]+: 0100007F:$hex 00000000:0000 0A " /proc/net/tcp || {
    echo "no listener on 127.0.0.1:$MOCK_PORT"; grep ":$hex " /proc/net/tcp; return 1; }
  if grep -qE "^ *[0-9]+: 00000000:$hex 00000000:0000 0A " /proc/net/tcp; then
    echo "listening on all interfaces"; return 1
  fi
  [ "$(curl -s "$MOCK_URL/v0/item/39999999.json")" = null ] && mock_stop
}

port_in_use_is_an_error() {
  mock_start "$FIX" || return 1
  "$MOCKAPI" --root "$FIX" --port "$MOCK_PORT" --time-limit 5 2>"$TS_TMP/err"
  local status=$?
  mock_stop || return 1
  [ "$status" -eq 1 ] && has "$TS_TMP/err" "127.0.0.1:$MOCK_PORT: address already in use"
}

# The issue's example: five parallel requests against a route with 300 ms
# of latency are all in flight at once.
parallel_requests_show_peak_inflight() {
  mock_start "$FIX" "$FIX/faults.json" || return 1
  curl -s --parallel --parallel-immediate --parallel-max 5 \
    -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    "$MOCK_URL/slow/fixed?[1-5]" || return 1
  mock_stats >"$TS_TMP/stats.json" || return 1
  mock_stop || return 1
  local peak count
  peak=$(json_get "$TS_TMP/stats.json" 'j["peak_inflight"]')
  count=$(json_get "$TS_TMP/stats.json" 'j["count"]')
  [ "$peak" = 5 ] && [ "$count" = 5 ] || { echo "peak $peak, count $count"; return 1; }
}

compressed_gets_the_original_bytes() {
  mock_start "$FIX" "$FIX/faults.json" || return 1
  curl -s --compressed -D "$TS_TMP/head" -o "$TS_TMP/body" "$MOCK_URL/gzip/videos" || return 1
  curl -s -H 'Accept-Encoding: gzip' -o "$TS_TMP/raw" "$MOCK_URL/gzip/videos" || return 1
  mock_stop || return 1
  grep -qi '^content-encoding: gzip' "$TS_TMP/head" || { cat "$TS_TMP/head"; return 1; }
  cmp "$TS_TMP/body" "$FIX/youtube/videos-US-1.json" &&
    [ "$(head -c2 "$TS_TMP/raw" | od -An -tx1 | tr -d ' ')" = 1f8b ]
}

# 50 requests on one keep-alive connection: with a delayed-ACK stall each
# would take ~40 ms; the median must stay well under that.
keep_alive_has_no_delayed_ack_stall() {
  mock_start "$FIX" || return 1
  local urls=() i
  for ((i = 0; i < 50; i++)); do
    urls+=(-o /dev/null "$MOCK_URL/youtube/videos-US-1.json")
  done
  curl -s -w '%{time_total}\n' "${urls[@]}" >"$TS_TMP/times" || return 1
  mock_stats >"$TS_TMP/stats.json" || return 1
  mock_stop || return 1
  local median conns
  median=$(tail -n +2 "$TS_TMP/times" | sort -n | sed -n 25p)
  conns=$(json_get "$TS_TMP/stats.json" 'len({r["conn"] for r in j["requests"]})')
  [ "$conns" = 1 ] || { echo "used $conns connections"; return 1; }
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 0.020 else 1)' "$median" ||
    { echo "median $median s per keep-alive response"; return 1; }
}

sigterm_exits_zero() {
  mock_start "$FIX" "$FIX/faults.json" || return 1
  # An unanswered request open while the signal arrives.
  curl -s -m 5 "$MOCK_URL/faults/hang" >/dev/null &
  local client=$!
  sleep 0.3
  mock_stop || { kill "$client" 2>/dev/null; return 1; }
  wait "$client"
  has "$MOCK_LOG" "mockapi: SIGTERM, stopping"
}

time_limit_stops_the_server() {
  mock_start "$FIX" "" --time-limit 0.5 || return 1
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$MOCK_PID" 2>/dev/null && { echo "still running after 10 s"; mock_stop; return 1; }
  mock_stop && has "$MOCK_LOG" "time limit of 0.5 s reached"
}

check "--help prints usage" help_prints_usage
check "usage errors exit 1 with one line" usage_errors_exit_1
check "a bad routes file names the key" bad_routes_file_names_the_key
check "port file, listening line, 127.0.0.1 only" port_file_and_loopback_only
check "a port in use is an error" port_in_use_is_an_error
check "curl --parallel 5 on a 300 ms route: peak_inflight 5" parallel_requests_show_peak_inflight
check "curl --compressed gets the original bytes" compressed_gets_the_original_bytes
check "keep-alive responses have no delayed-ACK stall" keep_alive_has_no_delayed_ack_stall
check "SIGTERM with an open request exits 0" sigterm_exits_zero
check "--time-limit stops the server by itself" time_limit_stops_the_server
finish

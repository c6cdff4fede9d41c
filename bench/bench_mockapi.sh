#!/usr/bin/env bash
# Throughput and per-response latency of the mock API server on loopback:
# a 4 KiB YouTube page over 1 and 32 keep-alive connections, and a 200 B
# Hacker News item over 32. A per-response p50 far under 40 ms shows that
# no response waits on a delayed ACK. Client and server share the machine,
# so the figures are a floor, not the server's ceiling.
set -u
: "${TS_ROOT:=$PWD}"
: "${TS_BUILD:=build/release}"
. "$TS_ROOT/tests/e2e/mocklib.sh"
bench="$TS_ROOT/$TS_BUILD/bench/bench_mockapi"
fix="$TS_ROOT/tests/fixtures/mock-basic"

mock_start "$fix" "" --quiet || exit 1
status=0
echo "youtube page (4314 B), 1 connection:"
"$bench" "$MOCK_URL/youtube/videos-US-1.json" 1 5000 || status=1
echo "youtube page (4314 B), 32 connections:"
"$bench" "$MOCK_URL/youtube/videos-US-1.json" 32 50000 || status=1
echo "hn item (213 B), 32 connections:"
"$bench" "$MOCK_URL/v0/item/8863.json" 32 50000 || status=1
mock_stop || status=1
exit $status

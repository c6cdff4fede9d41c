#!/usr/bin/env bash
# The command line itself: --help, --version, usage errors and exit codes.
. "$(dirname "$0")/lib.sh"

version_prints_name_and_number() {
  run_ts 0 --version && grep -qE '^trendsite [0-9]+\.[0-9]+\.[0-9]+$' "$TS_TMP/out"
}
help_lists_exit_codes() {
  run_ts 0 --help && has "$TS_TMP/out" "usage: trendsite" &&
    has "$TS_TMP/out" "Exit codes"
}
unknown_option_is_one_line_and_usage() {
  run_ts 1 --frobnicate && [ -s "$TS_TMP/err" ] &&
    [ "$(head -n1 "$TS_TMP/err")" = "trendsite: unknown option '--frobnicate'" ] &&
    has "$TS_TMP/err" "usage: trendsite" && [ ! -s "$TS_TMP/out" ]
}
missing_command_is_usage_error() {
  run_ts 1 && [ "$(head -n1 "$TS_TMP/err")" = "trendsite: missing command" ]
}
unknown_command_is_usage_error() {
  run_ts 1 frobnicate &&
    [ "$(head -n1 "$TS_TMP/err")" = "trendsite: unknown command 'frobnicate'" ]
}

check "--version prints the version" version_prints_name_and_number
check "--help lists commands and exit codes" help_lists_exit_codes
check "unknown option: one-line error, usage, exit 1" unknown_option_is_one_line_and_usage
check "missing command: exit 1" missing_command_is_usage_error
check "unknown command: exit 1" unknown_command_is_usage_error
finish

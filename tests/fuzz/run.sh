#!/usr/bin/env bash
# Builds each libFuzzer harness named on the command line (tests/fuzz/
# fuzz_*.c) with clang and runs it for $TS_FUZZ_SECONDS (default 20).
#
# A harness lists the sources it needs on a line "fuzz-sources: FILE...";
# without one it gets every library source (src/**.c but main.c). Binaries
# go to build/fuzz/, the growing corpus to tests/fuzz/corpus-NAME/ (git
# ignores it), crashes to build/fuzz/NAME-crash-*. Optional companions:
# NAME.dict (a libFuzzer dictionary) and NAME_seeds.py (writes seeds into
# the corpus folder given as its argument). Exits non-zero when a harness
# does not build or finds a crash, leak, timeout or out-of-memory.
set -u
cd "$(dirname "$0")/../.." || exit 1
seconds=${TS_FUZZ_SECONDS:-20}
[ $# -gt 0 ] || { echo "usage: tests/fuzz/run.sh tests/fuzz/fuzz_NAME.c..."; exit 1; }
command -v clang >/dev/null 2>&1 ||
  { echo "fuzz: clang is not installed (make deps installs it)"; exit 1; }
pkgs="jansson libcurl libuv libutf8proc"
cflags="-std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1
  -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -Isrc $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm"
mkdir -p build/fuzz
status=0
for harness in "$@"; do
  name=$(basename "$harness" .c)
  sources=$(sed -n 's/.*fuzz-sources:[[:space:]]*//p' "$harness" | head -n1)
  [ -n "$sources" ] ||
    sources=$(ls src/*.c src/util/*.c src/sources/*.c 2>/dev/null | grep -v '^src/main\.c$')
  echo "== $name: building"
  # shellcheck disable=SC2086 # word splitting of flags and file lists is meant
  if ! clang $cflags -o "build/fuzz/$name" "$harness" $sources $libs; then
    echo "fuzz: $name does not build"; status=1; continue
  fi
  corpus="tests/fuzz/corpus-$name"
  mkdir -p "$corpus"
  [ -x "tests/fuzz/${name}_seeds.py" ] && "tests/fuzz/${name}_seeds.py" "$corpus"
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  echo "== $name: fuzzing for ${seconds}s"
  if ! "build/fuzz/$name" "${dict[@]}" -max_total_time="$seconds" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build/fuzz/$name-" "$corpus" 2>"build/fuzz/$name.log"; then
    tail -n 60 "build/fuzz/$name.log"
    echo "fuzz: $name FAILED (log: build/fuzz/$name.log)"
    status=1
  else
    grep -E '^stat::number_of_executed_runs|^#[0-9]+.*DONE' "build/fuzz/$name.log" | tail -n 2
    echo "fuzz: $name ok"
  fi
done
exit $status

# trendsite: the front door.
#
#   make              build ./trendsite
#   make test         build and run every test (ends with "N passed, M failed")
#   make test-asan    the same suite under AddressSanitizer + UBSan
#   make bench        benchmarks (see bench/README.md)
#   make fuzz         short libFuzzer runs of every harness in tests/fuzz/
#   make demo         run the full pipeline against the bundled mock API
#   make deps         install the Debian packages the build and tests need
#   make install PREFIX=/usr/local DESTDIR=
#   make clean | make format
#
# Objects go to build/$(MODE)/ so release and sanitizer builds never mix.

VERSION := $(shell sed -n 's/^\#define TS_VERSION "\(.*\)"/\1/p' src/version.h)
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MODE    ?= release
CC      ?= cc

PKGS       := libcurl libuv jansson libutf8proc
DEB_BUILD  := build-essential pkg-config libcurl4-openssl-dev libuv1-dev \
              libjansson-dev libutf8proc-dev
DEB_TEST   := python3 tidy clang curl zlib1g-dev
# The browser test's Chromium, by Debian's names. Ubuntu has no such
# packages (its Chromium is a snap; GitHub's runners come with Chrome and
# chromedriver), so `make deps` goes on without them there.
DEB_BROWSER := chromium chromium-driver
DEB_ALL    := $(DEB_BUILD) $(DEB_TEST)

# Goals that must work before the libraries are installed.
# (demo installs them itself when they are missing, then builds.)
NO_LIB_GOALS := deps deps-build clean format help demo
ifneq ($(filter-out $(NO_LIB_GOALS),$(or $(MAKECMDGOALS),all)),)
  MISSING := $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || printf '%s ' $$p; done)
  ifneq ($(strip $(MISSING)),)
    $(error missing libraries: $(strip $(MISSING)); run `make deps` (Debian: $(DEB_BUILD)))
  endif
  PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
  # libcurl's headers only: the library is loaded when a command first
  # fetches (src/util/curl_load.h), so commands that do not start faster.
  PKG_LIBS   := $(shell pkg-config --libs $(filter-out libcurl,$(PKGS))) -ldl
  # Release builds link libuv, jansson and utf8proc statically where their
  # archives are installed (Debian's -dev packages have them): a run then
  # loads three shared libraries fewer (0.1 ms of a 10 ms render) and
  # calls into jansson go straight there. STATIC_DEPS=0 links them as
  # shared libraries; so do sanitizer builds.
  STATIC_DEPS ?= $(if $(filter release,$(MODE)),1,0)
  ifeq ($(STATIC_DEPS),1)
    HAVE_ARCHIVES := $(shell pkg-config --exists libuv-static && \
      [ -f "$$($(CC) -print-file-name=libjansson.a)" ] && \
      [ -f "$$($(CC) -print-file-name=libutf8proc.a)" ] && echo yes)
    ifeq ($(HAVE_ARCHIVES),yes)
      PKG_LIBS := -Wl,-Bstatic $(shell pkg-config --libs-only-l --static \
        libuv-static | sed 's/-lpthread//; s/-ldl//; s/-lrt//') \
        -ljansson -lutf8proc -Wl,-Bdynamic -lpthread -ldl -lrt
    endif
  endif
endif

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wvla -Werror
CFLAGS_release := -O2 -g
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer \
                  -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_asan   := -fsanitize=address,undefined
BASE_CFLAGS := -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) \
               $(CFLAGS_$(MODE)) -Isrc $(PKG_CFLAGS) -MMD -MP
ALL_CFLAGS  := $(BASE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS_$(MODE)) $(LDFLAGS)
LIBS        := $(PKG_LIBS)
MOCK_LIBS   := -lz -lm

B := build/$(MODE)

LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*.c src/util/*.c src/sources/*.c))
# The default theme is compiled in (tools/embed.c), so a user's template
# folder only needs the files it changes.
THEME_FILES := $(sort $(patsubst templates/%,%,$(shell find templates -type f \
                 ! -name README.md ! -name '.*' 2>/dev/null)))
THEME_C   := $(B)/gen/theme_files.c
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o) $(B)/gen/theme_files.o
MAIN_OBJ  := $(B)/src/main.o
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Every tests/unit/*.c that is not a test_*.c is support code (the harness,
# the mock-server client) linked into each unit test.
UNIT_SUPP := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_HARN := $(UNIT_SUPP:%.c=$(B)/%.o)
MOCK_SRC  := $(wildcard tests/mockapi/*.c)
MOCK_OBJ  := $(MOCK_SRC:%.c=$(B)/%.o)
MOCK_BIN  := $(B)/mockapi
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: all test test-asan check-tests bench fuzz demo deps deps-build install \
        clean format help
.DEFAULT_GOAL := all
.SECONDARY:

all: trendsite

ifeq ($(MODE),release)
trendsite: $(B)/trendsite
	cp $< $@
endif

$(B)/trendsite: $(MAIN_OBJ) $(B)/libtrendsite.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/libtrendsite.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) -std=c17 -O1 -Wall -Wextra -Werror -o $@ $<

$(THEME_C): $(B)/tools/embed $(addprefix templates/,$(THEME_FILES)) Makefile
	@mkdir -p $(@D)
	$(B)/tools/embed $@ templates $(THEME_FILES)

$(B)/gen/theme_files.o: $(THEME_C)
	$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

# Tests may use libm, to check the program's own floor against it.
$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(UNIT_HARN) $(B)/libtrendsite.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lm

$(B)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -c -o $@ $<

$(MOCK_BIN): $(MOCK_OBJ) $(B)/libtrendsite.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(MOCK_LIBS)

# Benchmarks may use the test support code (the mock-server client).
$(B)/bench/%: $(B)/bench/%.o $(UNIT_HARN) $(B)/libtrendsite.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/bench/%.o: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -c -o $@ $<

# The test runner: unit binaries, then end-to-end scripts, one summary line.
check-tests: $(B)/trendsite $(UNIT_BIN) $(if $(MOCK_SRC),$(MOCK_BIN))
	@TS_BUILD=$(B) TRENDSITE=$(CURDIR)/$(B)/trendsite MOCKAPI=$(CURDIR)/$(MOCK_BIN) \
	  tests/run.sh $(UNIT_BIN) $(sort $(wildcard tests/e2e/test_*))

test: all
	@$(MAKE) --no-print-directory check-tests

test-asan:
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) --no-print-directory MODE=asan check-tests

bench: all $(BENCH_BIN) $(if $(MOCK_SRC),$(MOCK_BIN))
	@TS_BUILD=$(B) TRENDSITE=$(CURDIR)/$(B)/trendsite MOCKAPI=$(CURDIR)/$(MOCK_BIN) bench/run.sh

# The demo: sample data served by the mock API, a full run into site/
# (see tools/demo.sh and config/demo.json).
demo:
	@tools/demo.sh

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 20
fuzz:
	@TS_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_SRC)

# deps: everything to build and test; deps-build: only what `make` needs
# (what the publishing workflow installs).
deps: DEB_PKGS = $(DEB_ALL)
deps: DEB_OPTIONAL = $(DEB_BROWSER)
deps-build: DEB_PKGS = $(DEB_BUILD)
deps-build: DEB_OPTIONAL =
deps deps-build:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  set -x; $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_PKGS) && \
	  if [ -n "$(DEB_OPTIONAL)" ]; then \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_OPTIONAL) || \
	    echo "make deps: $(DEB_OPTIONAL) not available here; the browser test uses another Chrome and its chromedriver if it finds them, else skips"; \
	  fi

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 trendsite $(DESTDIR)$(BINDIR)/trendsite

clean:
	rm -rf build trendsite

format:
	clang-format -i $(wildcard src/*.[ch] src/util/*.[ch] src/sources/*.[ch] \
	  tests/unit/*.[ch] tests/mockapi/*.[ch] tests/fuzz/*.c bench/*.c)

help:
	@sed -n '2,14s/^# \{0,1\}//p' Makefile

-include $(shell find build/$(MODE) -name '*.d' 2>/dev/null)

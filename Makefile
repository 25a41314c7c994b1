# zdt - see README.md.  Targets: all (static release binary), check, asan,
# valgrind, torture, bench, demo, install, uninstall, dist, deps, clean.

CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/^\#define ZDT_VERSION "\(.*\)"/\1/p' zdt.h)

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wwrite-strings
ifeq ($(CI),true)
WARN    += -Werror
endif
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS)

COMMON  := $(wildcard common/*.c)
CMDS    := $(wildcard rollback/*.c) $(wildcard cleanup/*.c)
SRC     := zdt.c $(COMMON) $(CMDS)
HDR     := zdt.h $(wildcard common/*.h)

# static: libarchive and what it pulls in, inside one binary
STATIC_LIBS := -Wl,--start-group $(shell pkg-config --static --libs libarchive 2>/dev/null) \
               -lxxhash -lz -lacl -licuuc -licudata -lstdc++ -lm -lpthread -Wl,--end-group
DYN_LIBS    := -larchive -lxxhash -lz -lpthread

all: zdt scripts/gen-tree scripts/mutate-tree

zdt: $(SRC) $(HDR)
	$(CC) $(ALL_CFLAGS) -static -ffunction-sections -fdata-sections -o $@ $(SRC) \
		-Wl,--gc-sections $(STATIC_LIBS) 2> build.log || { cat build.log; exit 1; }
	@grep -v "statically linked applications requires at runtime" build.log \
		| grep -v "in function" | grep -v "^collect2" >&2 || true
	@rm -f build.log

# test build: dynamic, with the fault-injection hooks of -DZDT_TESTING
zdt-test: $(SRC) $(HDR)
	$(CC) $(ALL_CFLAGS) -DZDT_TESTING -o $@ $(SRC) $(DYN_LIBS)

zdt-asan: $(SRC) $(HDR)
	$(CC) $(ALL_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=undefined -DZDT_TESTING -o $@ $(SRC) $(DYN_LIBS)

scripts/%: scripts/%.c
	$(CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) -o $@ $<

UNIT    := $(patsubst tests/unit/%.c,tests/unit/%,$(wildcard tests/unit/test_*.c))
tests/unit/test_%: tests/unit/test_%.c $(COMMON) $(HDR)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(COMMON) $(DYN_LIBS) -lcmocka

deps:
	scripts/install-deps.sh

deps-if-missing:
	@scripts/install-deps.sh --if-missing

check: deps-if-missing
	@$(MAKE) --no-print-directory all zdt-test $(UNIT)
	@tests/run.sh --zdt ./zdt $(UNIT)

asan: deps-if-missing
	@$(MAKE) --no-print-directory zdt-asan zdt-test scripts/gen-tree scripts/mutate-tree $(UNIT)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run.sh --zdt ./zdt-asan $(UNIT)

valgrind: deps-if-missing
	@$(MAKE) --no-print-directory zdt-test scripts/gen-tree scripts/mutate-tree $(UNIT)
	@tests/run.sh --valgrind --zdt ./zdt-test $(UNIT)

torture: deps-if-missing
	@$(MAKE) --no-print-directory all zdt-test
	@tests/run.sh --torture --zdt ./zdt

demo: deps-if-missing
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: deps-if-missing
	@$(MAKE) --no-print-directory all
	@bench/run.sh $(if $(SCALE),-s $(SCALE)) $(if $(RUNS),-n $(RUNS))

install: zdt
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 zdt $(DESTDIR)$(PREFIX)/bin/zdt
	install -m 0644 man/zdt.1 $(DESTDIR)$(PREFIX)/share/man/man1/zdt.1
	install -m 0644 man/zdt-manifest.5 $(DESTDIR)$(PREFIX)/share/man/man5/zdt-manifest.5

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/zdt $(DESTDIR)$(PREFIX)/share/man/man1/zdt.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/zdt-manifest.5

clean:
	rm -f zdt zdt-test zdt-asan build.log scripts/gen-tree scripts/mutate-tree $(UNIT)

.PHONY: all deps deps-if-missing check asan valgrind torture demo bench install uninstall clean

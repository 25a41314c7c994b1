# zdt - see README.md.  Targets: all (static release binary), check, asan,
# valgrind, torture, fuzz, lint, bench, bench-scale, demo, install, uninstall,
# dist, deb, rpm, deps, clean.

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
HDR     := zdt.h $(wildcard common/*.h) $(wildcard rollback/*.h)

# static: libarchive and what it pulls in, inside one binary
STATIC_LIBS := -Wl,--start-group $(shell pkg-config --static --libs libarchive 2>/dev/null) \
               -lxxhash -lz -lacl -licuuc -licudata -lstdc++ -lm -lpthread -Wl,--end-group
DYN_LIBS    := -larchive -lnettle -lxxhash -lz -lpthread

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
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -DZDT_TESTING -o $@ $< $(COMMON) $(DYN_LIBS) -lcmocka

deps:
	scripts/install-deps.sh

deps-if-missing:
	@scripts/install-deps.sh --if-missing

# make check also runs a quick set against the ASan + UBSan build (make asan
# runs everything): CLI and config errors, backup's odd files (names,
# symlinks, sparse, hardlinks), rollback cases of the tiny tree (type
# changes, hardlinks, sparse, xattrs/ACLs, a deleted install folder), the
# hostile snapshots: about 70 s of CPU, beside the rest (-j2); the builds
# run -j2 too, which saves more than the ASan build costs
ASAN_QUICK := t0000-cli.sh:1-10,17,19 t1000-backup.sh:5,6,11,13,14 t1300-reader.sh:4 t2000-rollback.sh:2,5,7,11-15,18 t2800-apply-economy.sh:3,6 t8600-hostile-quick.sh

check: deps-if-missing
	@$(MAKE) --no-print-directory -j2 all zdt-test zdt-asan $(UNIT)
	@tests/run.sh -j2 --zdt ./zdt --asan ./zdt-asan $(addprefix --asan-file ,$(ASAN_QUICK)) $(UNIT)

asan: deps-if-missing
	@$(MAKE) --no-print-directory -j2 zdt-asan zdt-test scripts/gen-tree scripts/mutate-tree $(UNIT)
	@ZDT_ASAN=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run.sh -j2 --zdt ./zdt-asan $(UNIT)

valgrind: deps-if-missing
	@$(MAKE) --no-print-directory -j2 zdt-test scripts/gen-tree scripts/mutate-tree $(UNIT)
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

bench-scale: deps-if-missing
	@$(MAKE) --no-print-directory all
	@bench/run.sh -s huge $(if $(RUNS),-n $(RUNS))
	@bench/run.sh -s big $(if $(RUNS),-n $(RUNS))

# install, uninstall, dist, deb, rpm: see packaging/.  install never writes
# /etc: the cron job and the systemd units go to $(DATADIR) as examples
# (the .deb and .rpm put them in /etc/cron.d and the unit folder), and
# their /usr/bin/zdt becomes $(BINDIR)/zdt.
BINDIR      = $(PREFIX)/bin
MANDIR      = $(PREFIX)/share/man
DATADIR     = $(PREFIX)/share/zdt
DOCDIR      = $(PREFIX)/share/doc/zdt
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
MAN1        := zdt.1
MAN5        := zdt.conf.5 zdt-manifest.5
WRAPPERS    := rollback.sh cleanup.sh rollback.bat cleanup.bat
UNITS       := zdt-cleanup.service zdt-cleanup.timer
# dist: the files of the tarball (override to add files not committed yet)
DIST_LS     = git ls-files
DIST_DIR    = dist
DIST_NAME   = zdt-$(VERSION)

install: zdt
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(DATADIR)/cron.d $(DESTDIR)$(DATADIR)/systemd $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 zdt $(DESTDIR)$(BINDIR)/zdt
	install -m 0644 $(addprefix man/,$(MAN1)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(addprefix man/,$(MAN5)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0755 packaging/rollback.sh packaging/cleanup.sh $(DESTDIR)$(DATADIR)/
	install -m 0644 packaging/rollback.bat packaging/cleanup.bat $(DESTDIR)$(DATADIR)/
	sed 's,/usr/bin/zdt,$(BINDIR)/zdt,g' packaging/cron.d/zdt-cleanup > $(DESTDIR)$(DATADIR)/cron.d/zdt-cleanup
	for u in $(UNITS); do \
		sed 's,/usr/bin/zdt,$(BINDIR)/zdt,g' packaging/systemd/$$u > $(DESTDIR)$(DATADIR)/systemd/$$u || exit 1; \
	done
	chmod 0644 $(DESTDIR)$(DATADIR)/cron.d/zdt-cleanup $(addprefix $(DESTDIR)$(DATADIR)/systemd/,$(UNITS))
	install -m 0644 packaging/zdt.conf.example $(DESTDIR)$(DOCDIR)/zdt.conf.example
	install -m 0644 packaging/bash-completion/zdt $(DESTDIR)$(BASHCOMPDIR)/zdt

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/zdt $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(MAN1)) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(MAN5)) \
		$(addprefix $(DESTDIR)$(DATADIR)/,$(WRAPPERS)) $(DESTDIR)$(DATADIR)/cron.d/zdt-cleanup \
		$(addprefix $(DESTDIR)$(DATADIR)/systemd/,$(UNITS)) $(DESTDIR)$(DOCDIR)/zdt.conf.example \
		$(DESTDIR)$(BASHCOMPDIR)/zdt
	rmdir $(DESTDIR)$(DATADIR)/cron.d $(DESTDIR)$(DATADIR)/systemd $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(DOCDIR) 2>/dev/null || true

# dist: $(DIST_DIR)/zdt-VERSION.tar.gz of the files git knows (as they are in
# the work tree), under zdt-VERSION/; it unpacks and builds with make
dist:
	@test -n "$(VERSION)" || { echo "make dist: no ZDT_VERSION in zdt.h" >&2; exit 1; }
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || \
		{ echo "make dist: needs a git work tree (the files are those of git ls-files)" >&2; exit 1; }
	@mkdir -p $(DIST_DIR)
	@rm -f $(DIST_DIR)/$(DIST_NAME).tar.gz
	@$(DIST_LS) | while IFS= read -r f; do [ ! -e "$$f" ] || printf '%s\n' "$$f"; done | LC_ALL=C sort -u | \
		tar --create --gzip --file=$(DIST_DIR)/$(DIST_NAME).tar.gz --verbatim-files-from --files-from=- \
		--transform='s,^,$(DIST_NAME)/,S' --owner=0 --group=0 --numeric-owner \
		--mode='u+rw,go+r,go-w' --mtime="@$$(git log -1 --format=%ct 2>/dev/null || date +%s)"
	@echo $(DIST_DIR)/$(DIST_NAME).tar.gz

# deb: $(DIST_DIR)/zdt_VERSION_ARCH.deb with dpkg-deb (packaging/deb/build-deb.sh)
deb: zdt
	@MAKE="$(MAKE)" packaging/deb/build-deb.sh "$(VERSION)" $(DIST_DIR)

# rpm: $(DIST_DIR)/zdt-VERSION-1.ARCH.rpm, rpmbuild -bb of packaging/rpm/zdt.spec
# on the dist tarball, in a temporary _topdir (--nodeps: the build
# dependencies are Debian packages here, unknown to rpm)
rpm: dist
	@command -v rpmbuild >/dev/null || { echo "make rpm: rpmbuild not found (apt-get install rpm)" >&2; exit 1; }
	@top=$$(mktemp -d) && trap 'rm -rf "$$top"' EXIT && \
	mkdir -p "$$top/SOURCES" "$$top/BUILD" "$$top/RPMS" "$$top/SRPMS" "$$top/SPECS" && \
	cp $(DIST_DIR)/$(DIST_NAME).tar.gz "$$top/SOURCES/" && \
	rpmbuild -bb --nodeps --define "_topdir $$top" --define "zdt_version $(VERSION)" \
		packaging/rpm/zdt.spec > "$$top/build.log" 2>&1 || { cat "$$top/build.log" >&2; exit 1; }; \
	cp "$$top"/RPMS/*/zdt-$(VERSION)-*.rpm $(DIST_DIR)/ && ls "$$top"/RPMS/*/ | sed 's,^,$(DIST_DIR)/,'

.PHONY: dist deb rpm

# fuzz: libFuzzer targets (clang only; make check never needs them):
# tests/fuzz/fuzz_{manifest,config,snapshot}, each run FUZZ_TIME seconds on
# a scratch corpus under tests/out/fuzz/ seeded from tests/fuzz/corpus-*/,
# after the inputs of tests/fuzz/regress-*/ (former crashes) ran clean.
# zdt.c is linked in with its main renamed (libFuzzer brings its own).
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -g -O1 -fno-omit-frame-pointer \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
               -DZDT_TESTING -Dmain=zdt_main_unused -DFUZZ_DIR=\"$(CURDIR)/tests/fuzz\"
FUZZERS     := manifest config snapshot

tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(SRC) $(HDR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(SRC) $(DYN_LIBS)

fuzz-deps:
	@scripts/install-deps.sh --if-missing --fuzz

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory $(addprefix tests/fuzz/fuzz_,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
		mkdir -p tests/out/fuzz/$$f tests/fuzz/regress-$$f; \
		if [ -n "$$(ls tests/fuzz/regress-$$f)" ]; then \
			echo "fuzz_$$f: the regression inputs"; \
			tests/fuzz/fuzz_$$f -runs=1 tests/fuzz/regress-$$f/* >tests/out/fuzz/$$f.regress.log 2>&1 || \
				{ tail -n 30 tests/out/fuzz/$$f.regress.log; exit 1; }; \
		fi; \
		echo "fuzz_$$f: $(FUZZ_TIME) s"; \
		ASAN_OPTIONS=detect_leaks=1 tests/fuzz/fuzz_$$f -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=1024 \
			-artifact_prefix=tests/out/fuzz/$$f- tests/out/fuzz/$$f tests/fuzz/corpus-$$f \
			>tests/out/fuzz/$$f.log 2>&1 || { tail -n 40 tests/out/fuzz/$$f.log; \
			echo "make fuzz: fuzz_$$f failed; the input is in tests/out/fuzz/$$f-*: add it to tests/fuzz/regress-$$f/" >&2; exit 1; }; \
		tail -n 1 tests/out/fuzz/$$f.log; \
	done

# lint: cppcheck and clang-tidy (.clang-tidy) over the sources; any finding
# fails.  _Noreturn is spelled out for cppcheck 2.10, which does not see it.
LINT_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DZDT_TESTING
CPPCHECK_FLAGS := --quiet --enable=warning,portability,performance --std=c11 -D_GNU_SOURCE \
                  '-D_Noreturn=__attribute__((noreturn))' --inline-suppr --error-exitcode=1 \
                  --template='{file}:{line}: {severity}: {id}: {message}'

lint:
	@scripts/install-deps.sh --if-missing --lint
	@rc=0; echo "cppcheck"; cppcheck $(CPPCHECK_FLAGS) $(SRC) || rc=1; \
	echo "clang-tidy"; printf '%s\n' $(SRC) | xargs -P 2 -n 4 sh -c \
		'clang-tidy --quiet --warnings-as-errors="*" "$$@" -- $(LINT_CFLAGS) 2>/dev/null' sh || rc=1; \
	exit $$rc

clean:
	rm -f zdt zdt-test zdt-asan build.log scripts/gen-tree scripts/mutate-tree $(UNIT) \
		$(addprefix tests/fuzz/fuzz_,$(FUZZERS))

.PHONY: all deps deps-if-missing check asan valgrind torture demo bench bench-scale install uninstall clean fuzz fuzz-deps lint

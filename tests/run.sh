#!/bin/bash
# tests/run.sh - run zdt's unit and end-to-end tests.
#
# usage: tests/run.sh [--zdt PATH] [--torture] [--valgrind] [--keep] [-v] [-j N]
#                     [--asan PATH --asan-file FILE[:TESTS]...]
#                     [UNIT_BINARY | TEST_FILE.sh]...
#
#   --zdt PATH    the zdt binary to test (default: ./zdt at the repository root)
#   --torture     also run the long tests/t9*.sh
#   --valgrind    run zdt (and the unit binaries) under valgrind; meaningful on a
#                 dynamic build (make zdt-test): errors and definite leaks fail
#   --keep        keep every scratch folder under tests/out/
#   -v            print each test file's full output
#   -j N          run N test files at a time (default 1; results in order)
#   --asan PATH   also run each --asan-file (tests/FILE; TESTS: only those
#                 test numbers, as 2,5-19) against PATH, an ASan + UBSan build
#                 (make zdt-asan), with the sanitizer options of make asan
#
# Runs each cmocka UNIT_BINARY (each test case counts once), then every
# tests/t[0-8]*.sh (only the TEST_FILE.sh given, when some are; t9 ones
# too), each in its own bash with ZDT, ZDT_SRC, GEN_TREE (and
# TEST_KEEP) in the environment.  One line per binary or file, then the
# last line "N passed, N failed" (", N skipped" when some were); exit 0
# iff nothing failed.  Logs: tests/out/<name>.log ($ZDT_TEST_OUT instead of
# tests/out when set).
set -u

TESTS_DIR=$(cd "$(dirname "$0")" && pwd -P)
ZDT_SRC=$(cd "$TESTS_DIR/.." && pwd -P)
OUT=${ZDT_TEST_OUT:-$TESTS_DIR/out}
export ZDT_TEST_OUT=$OUT
zdt_bin=$ZDT_SRC/zdt
torture= valgrind= keep= verbose= jobs=1
units=() picked=() asan_bin= asan_files=()

usage() {
	sed -n '4,13s/^# \{0,1\}//p' "$0"
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--zdt) [ $# -ge 2 ] || usage; zdt_bin=$2; shift ;;
	--zdt=*) zdt_bin=${1#--zdt=} ;;
	--torture) torture=1 ;;
	--valgrind) valgrind=1 ;;
	--keep) keep=1 ;;
	-v | --verbose) verbose=1 ;;
	-j) [ $# -ge 2 ] || usage; jobs=$2; shift ;;
	-j*) jobs=${1#-j} ;;
	--asan) [ $# -ge 2 ] || usage; asan_bin=$2; shift ;;
	--asan-file) [ $# -ge 2 ] || usage; asan_files+=("$2"); shift ;;
	-h | --help) usage 0 ;;
	--) shift; units+=("$@"); break ;;
	-*) echo "run.sh: unknown option '$1'" >&2; usage ;;
	*.sh) picked+=("$1") ;;
	*) units+=("$1") ;;
	esac
	shift
done

case $zdt_bin in /*) ;; *) zdt_bin=$PWD/$zdt_bin ;; esac
if [ ! -x "$zdt_bin" ]; then
	echo "run.sh: no zdt binary at '$zdt_bin' (make zdt, or give --zdt PATH)" >&2
	exit 2
fi
case $jobs in '' | *[!0-9]* | 0) echo "run.sh: invalid -j '$jobs'" >&2; usage ;; esac
if [ -n "$asan_bin" ]; then
	case $asan_bin in /*) ;; *) asan_bin=$PWD/$asan_bin ;; esac
	[ -x "$asan_bin" ] || { echo "run.sh: no ASan binary at '$asan_bin' (make zdt-asan)" >&2; exit 2; }
elif [ ${#asan_files[@]} != 0 ]; then
	echo "run.sh: --asan-file without --asan PATH" >&2
	usage
fi
mkdir -p "$OUT"

# leaks: only the definite ones fail and are shown; a die() exits with its
# structures still held, which valgrind may call "possibly lost" (XXH3 states
# are aligned inside their block), and those lines would break the
# one-line-per-message checks of the tests
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite)
export ZDT=$zdt_bin
if [ -n "$valgrind" ]; then
	if ! command -v valgrind >/dev/null; then
		echo "run.sh: --valgrind: valgrind is not installed" >&2
		exit 2
	fi
	case $(file -b "$zdt_bin" 2>/dev/null) in
	*static*) echo "run.sh: note: $zdt_bin is statically linked; valgrind checks less of it (make zdt-test)" >&2 ;;
	esac
	ZDT=$OUT/zdt-valgrind
	{
		echo '#!/bin/sh'
		# the test build skips listxattrat(2), which this valgrind
		# does not know (it would warn on the standard error)
		echo 'ZDT_TEST_NO_LISTXATTRAT=1; export ZDT_TEST_NO_LISTXATTRAT'
		printf 'exec %s %q "$@"\n' "${VG[*]}" "$zdt_bin"
	} >"$ZDT"
	chmod 755 "$ZDT"
	export ZDT_VALGRIND=1
fi
export ZDT_SRC GEN_TREE=$ZDT_SRC/scripts/gen-tree
if [ -n "$keep" ]; then export TEST_KEEP=1; else unset TEST_KEEP; fi

total_pass=0 total_fail=0 total_skip=0
start=$SECONDS

took=
report() { # NAME PASS FAIL SKIP DETAIL (and $took: the file's run time)
	local what="$2 passed"
	[ "$3" = 0 ] || what="$what, $3 failed"
	[ "$4" = 0 ] || what="$what, $4 skipped"
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + $4))
	if [ "$3" != 0 ]; then
		echo "FAIL $1 ($what)$took: $5"
	else
		echo "ok $1 ($what)$took"
	fi
}

# what went wrong, where the summary line is read (a CI log holds no more):
# each failed test's first lines from LOG
details() {
	[ -z "$verbose" ] || return 0
	awk '/^not ok / { n = 0; show = 1; print "    " $0; next }
		/^(ok |1\.\.)/ { show = 0 }
		show && n++ < 30 { print "    " $0 }' "$1"
}

# ---- cmocka unit binaries ----
for u in ${units[@]+"${units[@]}"}; do
	name=$(basename "$u")
	log=$OUT/$name.log
	case $u in */*) ;; *) u=./$u ;; esac
	if [ ! -x "$u" ]; then
		report "$name" 0 1 0 "not an executable: $u"
		continue
	fi
	if [ -n "$valgrind" ]; then
		CMOCKA_MESSAGE_OUTPUT=stdout "${VG[@]}" "$u" >"$log" 2>&1
	else
		CMOCKA_MESSAGE_OUTPUT=stdout "$u" >"$log" 2>&1
	fi
	rc=$?
	[ -z "$verbose" ] || cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	titles=$(sed -n 's/^\[  FAILED  \] \([^0-9].*\)/\1/p' "$log" | sort -u | paste -sd ';' | sed 's/;/; /g')
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		titles="exit $rc${titles:+; $titles} (log: $log)"
	elif [ "$f" != 0 ]; then
		titles="$titles (log: $log)"
	fi
	if [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$s" = 0 ]; then
		f=1 titles="no cmocka summary (log: $log)"
	fi
	report "$name" "$p" "$f" "$s" "$titles"
done

# ---- end-to-end test files ----
files=()
for t in ${picked[@]+"${picked[@]}"}; do
	[ -f "$t" ] || { echo "run.sh: no test file '$t'" >&2; exit 2; }
	case $t in /*) ;; *) t=$PWD/$t ;; esac
	files+=("$t")
done
[ ${#picked[@]} != 0 ] || for t in "$TESTS_DIR"/t[0-8]*.sh; do [ ! -f "$t" ] || files+=("$t"); done
if [ -n "$torture" ] && [ ${#picked[@]} = 0 ]; then
	for t in "$TESTS_DIR"/t9*.sh; do [ ! -f "$t" ] || files+=("$t"); done
fi
# each file's kind: "-" a plain run, or "asan:TESTS" (TESTS may be empty)
kinds=()
for t in ${files[@]+"${files[@]}"}; do kinds+=(-); done
for a in ${asan_files[@]+"${asan_files[@]}"}; do
	t=$TESTS_DIR/${a%%:*}
	[ -f "$t" ] || { echo "run.sh: --asan-file: no test file '$t'" >&2; exit 2; }
	sel=
	case $a in *:*) sel=${a#*:} ;; esac
	files+=("$t")
	kinds+=("asan:$sel")
done

# the log of file number I
log_of() {
	local name
	name=$(basename "${files[$1]%.sh}")
	case ${kinds[$1]} in
	asan:*) echo "$OUT/asan/$name.log" ;;
	*) echo "$OUT/$name.log" ;;
	esac
}

run_file() { # TEST LOG KIND: runs one file, its exit code in LOG.rc
	local tmo
	case $(basename "$1") in t9*) tmo=${TEST_TIMEOUT:-7200} ;; *) tmo=${TEST_TIMEOUT:-900} ;; esac
	local t0=$SECONDS rc
	case $3 in
	asan:*)
		# its own scratch folders and logs (the same file may run plainly
		# meanwhile), the same tree cache
		ZDT=$asan_bin ZDT_ASAN=1 ZDT_TEST_RUN=${3#asan:} ZDT_TEST_OUT=$OUT/asan ZDT_TEST_CACHE=$OUT/cache \
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			timeout -k 10 "$tmo" bash "$1" >"$2" 2>&1 </dev/null
		;;
	*) timeout -k 10 "$tmo" bash "$1" >"$2" 2>&1 </dev/null ;;
	esac
	rc=$?
	echo "$rc $((SECONDS - t0))" >"$2.rc"
}

[ ${#asan_files[@]} = 0 ] || mkdir -p "$OUT/asan"
for i in ${files[@]+"${!files[@]}"}; do
	rm -f "$(log_of "$i").rc"
done
# the files run -j at a time; results are reported in order
(
	for i in ${files[@]+"${!files[@]}"}; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		run_file "${files[$i]}" "$(log_of "$i")" "${kinds[$i]}" &
	done
	wait
) &
sched=$!
trap 'kill $sched 2>/dev/null; exit 130' INT TERM

for i in ${files[@]+"${!files[@]}"}; do
	name=$(basename "${files[$i]}")
	log=$(log_of "$i")
	case ${kinds[$i]} in
	asan:) name="$name (asan)" ;;
	asan:*) name="$name (asan, tests ${kinds[$i]#asan:})" ;;
	esac
	while [ ! -s "$log.rc" ]; do
		kill -0 $sched 2>/dev/null || [ -s "$log.rc" ] || { echo "run.sh: $name did not run" >&2; break; }
		sleep 0.2
	done
	read -r rc took <"$log.rc" 2>/dev/null
	rc=${rc:-125}
	took=" [${took:-?} s]"
	rm -f "$log.rc"
	[ -z "$verbose" ] || cat "$log"
	res=$(grep '^# zdt-tests: ' "$log" | tail -n 1)
	if [ -z "$res" ]; then
		why="exit $rc before test_done"
		[ "$rc" != 124 ] && [ "$rc" != 137 ] || why="timed out"
		p=$(grep -c '^ok [0-9]* - ' "$log")
		s=$(grep -c '^ok [0-9]* # skip ' "$log")
		f=$(grep -c '^not ok ' "$log")
		titles=$(grep '^not ok ' "$log" | sed 's/^not ok //' | paste -sd ';' | sed 's/;/; /g')
		report "$name" "$p" $((f + 1)) "$s" "$why${titles:+; $titles} (log: ${log#$ZDT_SRC/})"
		details "$log"
		continue
	fi
	p=$(sed -n 's/.* passed=\([0-9]*\).*/\1/p' <<<"$res")
	f=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$res")
	s=$(sed -n 's/.* skipped=\([0-9]*\).*/\1/p' <<<"$res")
	case $res in
	*skip_reason=*)
		total_skip=$((total_skip + s))
		echo "skip $name$took: ${res#*skip_reason=}"
		continue
		;;
	esac
	titles=${res#*failed_titles=}
	titles=${titles%; }
	if [ "$f" = 0 ] && [ "$rc" != 0 ]; then
		f=1 titles="exit $rc after test_done"
	fi
	report "$name" "$p" "$f" "$s" "$titles (log: ${log#$ZDT_SRC/})"
	[ "$f" = 0 ] || details "$log"
	# the figures of the torture campaigns (tests/lib.sh campaign_done)
	[ -n "$verbose" ] || sed -n 's/^# \(.*: [0-9]* tried, [0-9]* held\)$/    \1/p' "$log"
done
wait $sched 2>/dev/null

echo "# $((SECONDS - start)) s" >&2
if [ "$total_skip" != 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" = 0 ]

# tests/lib.sh - sourced by every tests/tNNNN-topic.sh (bash), after git's t/test-lib.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   expect_success 'backup of a tiny tree' '
#           gen_tree src &&
#           zdt -b "$BK" backup -c AR src
#   '
#   test_done
#
# Environment (set by tests/run.sh, defaults for running one file by hand):
#   ZDT        the zdt binary (or the valgrind wrapper), absolute
#   ZDT_SRC    the repository root; GEN_TREE its scripts/gen-tree
#   TEST_KEEP  1: keep every scratch folder (tests/out/<test>/<n>/)
#   ZDT_TEST_OUT  instead of tests/out (scratch folders, tree cache, logs)
#   ZDT_TEST_CACHE  the tree cache instead of $ZDT_TEST_OUT/cache
#   ZDT_TEST_RUN  only these tests of the file, by number: "2,5-19" (the
#              others are neither run nor counted)
#
# expect_success [PREREQ,...] TITLE CODE
#       runs CODE as `( set -e; eval CODE )` in a fresh scratch folder
#       $TRASH (the current folder), with $BK = $TRASH/bk as the backup
#       folder (not created).  PREREQ: commands that must exist, or "root";
#       a missing one skips the test.  Remember that `set -e` does not stop
#       at a failing command inside `if`, `!`, `&&`/`||` lists or functions
#       called from them: assert with `test`, `grep`, `must_fail`, `check_*`.
# must_fail CODE CMD...
#       CMD must exit with exactly CODE; stdout passes through, stderr is
#       passed on to the caller's stderr (redirect it to check the message).
# when_finished 'CMD'
#       runs CMD after the test, even when it failed, in another shell
#       (expand variables when registering: when_finished "umount '$PWD/m'").
# skip_all 'REASON', require CMD|root...
#       skip the whole file (before its first test).
# test_done
#       the last line of every file; prints the counts run.sh reads.
#
# Helpers: zdt, gen_tree, tree_equal, tree_stamp, snap_id, snap_dir,
# count_complete, count_state, manifest_py, json_get, syscall_count,
# need_mutate ($MUTATE), setup_src, fast_sum, same_tree, and for the
# torture campaigns quick, campaign_case, campaign_done.

TEST_FILE=$(basename "$0")
TEST_NAME=${TEST_FILE%.sh}
TESTS_DIR=$(cd "$(dirname "$0")" && pwd -P)
ZDT_SRC=${ZDT_SRC:-$(cd "$TESTS_DIR/.." && pwd -P)}
ZDT=${ZDT:-$ZDT_SRC/zdt}
case $ZDT in /*) ;; *) ZDT=$PWD/$ZDT ;; esac
GEN_TREE=${GEN_TREE:-$ZDT_SRC/scripts/gen-tree}
export ZDT ZDT_SRC GEN_TREE
ZDT_TEST_OUT=${ZDT_TEST_OUT:-$TESTS_DIR/out}
TEST_OUT=$ZDT_TEST_OUT/$TEST_NAME
CACHE_DIR=${ZDT_TEST_CACHE:-$ZDT_TEST_OUT/cache}
MANIFEST_PY=$TESTS_DIR/manifest.py

# python3 without the start-up cost of a version manager's shim or of
# site-packages (the tests use the standard library only)
PYTHON3=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -x "$PYTHON3" ]; then
	python3() { "$PYTHON3" -S "$@"; }
fi

# a known environment: no backup folder, config or password from outside
unset ZDT_BACKUP_DIR ZDT_AR_PASSWORD CDPATH
export LC_ALL=C TZ=UTC
rm -rf "$TEST_OUT"
mkdir -p "$TEST_OUT" || exit 1
: >"$TEST_OUT/.empty.conf"
export ZDT_CONFIG="$TEST_OUT/.empty.conf"

# fd 7: the test file's own stdout (a campaign's figure goes there, past
# the test's log)
exec 7>&1

test_count=0
test_pass=0
test_fail=0
test_skip=0
test_failed_titles=

say_color() { printf '%s\n' "$*"; }

# ---- running tests ----------------------------------------------------------

_prereq_missing() {
	local p IFS=,
	for p in $1; do
		case $p in
		root) [ "$(id -u)" = 0 ] || { echo root; return 0; } ;;
		# strace's fault injection and delays on zdt itself: not under
		# valgrind (too slow: a delayed write is each of valgrind's too)
		inject) command -v strace >/dev/null 2>&1 && [ -z "${ZDT_VALGRIND:-}" ] || { echo inject; return 0; } ;;
		*) command -v "$p" >/dev/null 2>&1 || { echo "$p"; return 0; } ;;
		esac
	done
	return 1
}

# _selected N: test N is in $ZDT_TEST_RUN (or there is none)
_selected() {
	local r IFS=,
	[ -n "${ZDT_TEST_RUN:-}" ] || return 0
	for r in $ZDT_TEST_RUN; do
		case $r in
		*-*) [ "$1" -ge "${r%-*}" ] && [ "$1" -le "${r#*-}" ] && return 0 ;;
		*) [ "$1" = "$r" ] && return 0 ;;
		esac
	done
	return 1
}

expect_success() {
	local prereq= title body n log rc missing i cmds t0 took
	if [ $# = 3 ]; then
		prereq=$1
		shift
	fi
	if [ $# != 2 ]; then
		echo "BUG: expect_success [PREREQ] TITLE CODE" >&2
		exit 1
	fi
	title=$1 body=$2
	test_count=$((test_count + 1))
	n=$test_count
	_selected "$n" || return 0
	if [ -n "$prereq" ] && missing=$(_prereq_missing "$prereq"); then
		test_skip=$((test_skip + 1))
		say_color "ok $n # skip $title (missing $missing)"
		return 0
	fi
	TRASH=$TEST_OUT/$n
	log=$TEST_OUT/.log-$n
	WHEN_FINISHED_FILE=$TEST_OUT/.cleanup-$n
	rm -rf "$TRASH"
	mkdir -p "$TRASH"
	: >"$WHEN_FINISHED_FILE"
	t0=${EPOCHREALTIME/[.,]/}
	(
		cd "$TRASH" || exit 99
		BK=$TRASH/bk
		exec 9>&2
		set -e
		eval "$body"
	) >"$log" 2>&1 </dev/null
	rc=$?
	# cleanups, last registered first, each in its own shell
	mapfile -d '' -t cmds <"$WHEN_FINISHED_FILE"
	for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do
		if ! (cd "$TRASH" 2>/dev/null || cd /; eval "${cmds[i]}") >>"$log" 2>&1 </dev/null; then
			echo "when_finished failed: ${cmds[i]}" >>"$log"
			[ $rc != 0 ] || rc=98
		fi
	done
	t0=$(((${EPOCHREALTIME/[.,]/} - t0) / 100000))
	took=
	[ $t0 -lt 20 ] || took=" # $((t0 / 10)).$((t0 % 10)) s"
	if [ $rc = 0 ]; then
		test_pass=$((test_pass + 1))
		say_color "ok $n - $title$took"
		[ -n "$TEST_KEEP" ] || rm -rf "$TRASH" "$log" "$WHEN_FINISHED_FILE"
	else
		test_fail=$((test_fail + 1))
		test_failed_titles="$test_failed_titles$n - $title; "
		say_color "not ok $n - $title$took"
		echo "    # exit $rc in $TRASH:"
		tail -n 60 "$log" | sed 's/^/    /'
	fi
	return 0
}

when_finished() {
	printf '%s\0' "$*" >>"$WHEN_FINISHED_FILE"
}

must_fail() {
	local want=$1 got=0 errf
	shift
	errf=$TEST_OUT/.must_fail.$BASHPID
	"$@" 2>"$errf" || got=$?
	cat "$errf" >&2
	if [ "$got" != "$want" ]; then
		{
			if [ "$got" -ge 128 ] && [ "$got" -lt 160 ]; then
				echo "must_fail: expected exit $want, got $got (killed by signal $((got - 128))): $*"
			else
				echo "must_fail: expected exit $want, got $got: $*"
			fi
			sed 's/^/    stderr: /' "$errf"
		} >&9
		rm -f "$errf"
		return 1
	fi
	rm -f "$errf"
	return 0
}

# check_grep PATTERN FILE: grep -E with a readable failure
check_grep() {
	if ! grep -E -q -e "$1" -- "$2"; then
		echo "check_grep: no line matching '$1' in $2:" >&9
		sed 's/^/    | /' "$2" | head -n 40 >&9
		return 1
	fi
}

check_no_grep() {
	if grep -E -q -e "$1" -- "$2"; then
		echo "check_no_grep: unexpected line matching '$1' in $2:" >&9
		grep -E -e "$1" -- "$2" | head -n 20 | sed 's/^/    | /' >&9
		return 1
	fi
}

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
	if [ "$2" != "$3" ]; then
		echo "check_eq: $1: expected '$2', got '$3'" >&9
		return 1
	fi
}

skip_all() {
	say_color "1..0 # SKIP $*"
	echo "# zdt-tests: passed=0 failed=0 skipped=1 skip_reason=$*"
	exit 0
}

require() {
	local missing
	if missing=$(_prereq_missing "$(IFS=,; echo "$*")"); then
		skip_all "missing $missing"
	fi
}

test_done() {
	[ -n "$TEST_KEEP" ] || [ $test_fail != 0 ] || rm -rf "$TEST_OUT"
	echo "1..$test_count"
	echo "# zdt-tests: passed=$test_pass failed=$test_fail skipped=$test_skip failed_titles=$test_failed_titles"
	[ $test_fail = 0 ]
	exit
}

# ---- helpers ----------------------------------------------------------------

zdt() {
	"$ZDT" "$@"
}

# LeakSanitizer cannot run under ptrace (it aborts at exit): under make asan,
# the test files that trace zdt with strace run it without leak detection;
# the other files keep it
if [ -n "${ZDT_ASAN:-}" ] && grep -q "strace " "$0" "${BASH_SOURCE[@]}"; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi

# gen_tree DIR [SCALE [SEED]]: a fresh copy of a generated tree (cached)
gen_tree() {
	local dir=$1 scale=${2:-tiny} seed=${3:-1} cache tmp sparse
	cache=$CACHE_DIR/$scale-$seed
	mkdir -p "$CACHE_DIR" || return 1
	# one generator at a time (run.sh -j): the others wait for its tree
	exec 8>>"$CACHE_DIR/.lock"
	flock 8
	if [ ! -d "$cache" ] || [ ! -f "$cache.sig" ] || [ "$GEN_TREE" -nt "$cache.info" ]; then
		tmp=$cache.tmp.$$
		rm -rf "$tmp" "$cache" "$cache.sig" "$cache.sum"
		if ! "$GEN_TREE" "$tmp" "$scale" "$seed" >"$tmp.info" || ! tree_sig "$tmp" >"$tmp.sig"; then
			rm -rf "$tmp" "$tmp.info" "$tmp.sig"
			exec 8>&-
			return 1
		fi
		mv "$tmp" "$cache" && mv "$tmp.info" "$cache.info" && mv "$tmp.sig" "$cache.sig" || { exec 8>&-; return 1; }
	fi
	exec 8>&-
	[ ! -e "$dir" ] || { echo "gen_tree: $dir exists" >&2; return 1; }
	cp -a --sparse=always --preserve=all "$cache" "$dir" || return 1
	sparse=$dir/serverdata/ftindex/ftindex.sparse
	if [ -f "$sparse" ] && [ $(($(stat -c '%b*%B' "$sparse"))) -ge $(($(stat -c %s "$sparse") / 2)) ]; then
		echo "gen_tree: the copy of $sparse is not sparse" >&2
		return 1
	fi
}

# tree_sum DIR [--no-root]: tests/treesum.sh output
tree_sum() {
	if [ "$2" = --no-root ]; then
		sh "$TESTS_DIR/treesum.sh" "$1" | grep -Ev '^d [0-7]+ [0-9]+ [0-9]+ [0-9]+ [0-9.]+ \. -$'
	else
		sh "$TESTS_DIR/treesum.sh" "$1"
	fi
}

# tree_sig DIR: treesum's metadata without the contents - cheap
tree_sig() {
	(
		cd "$1" || exit 1
		find . -printf '%y %m %U %G %s %T@ %n %p -> %l\n' | sort
		find . -type f -printf '%S %p\n' | awk '$1 < 0.9 {print "sparse", $2}' | sort
		getfattr -R -P -d -m - --absolute-names . 2>/dev/null | sort
	)
}

# tree_sum_cached DIR [--no-root]: tree_sum, taken from the cache of gen_tree
# when DIR is an unchanged copy of a cached tree (same metadata, mtimes to the
# nanosecond, xattrs); the contents are then those of the copy.  Only for
# trees made by gen_tree that a test compares with what zdt gives back.
tree_sum_cached() {
	local c sig=$TEST_OUT/.sig.$BASHPID
	for c in "$CACHE_DIR"/*-*; do
		[ -f "$c.sig" ] || continue
		tree_sig "$1" >"$sig"
		if cmp -s "$sig" "$c.sig"; then
			rm -f "$sig"
			# a sum made by an older treesum.sh does not count
			[ -f "$c.sum" ] && [ "$c.sum" -nt "$TESTS_DIR/treesum.sh" ] || { tree_sum "$c" >"$c.sum.$$" && mv "$c.sum.$$" "$c.sum"; } || return 1
			if [ "$2" = --no-root ]; then
				grep -Ev '^d [0-7]+ [0-9]+ [0-9]+ [0-9]+ [0-9.]+ \. -$' "$c.sum"
			else
				cat "$c.sum"
			fi
			return
		fi
	done
	rm -f "$sig"
	tree_sum "$@"
}

# tree_equal [--no-root] SRC COPY: same treesum (--no-root: ignore the line of
# "." itself, whose mtime an extraction tool may not restore).  SRC's sum
# may come from the gen_tree cache (tree_sum_cached).
tree_equal() {
	local opt= a b pa pb
	if [ "$1" = --no-root ]; then
		opt=--no-root
		shift
	fi
	a=$TEST_OUT/.sum-a.$BASHPID
	b=$TEST_OUT/.sum-b.$BASHPID
	tree_sum_cached "$1" $opt >"$a" &
	pa=$!
	tree_sum "$2" $opt >"$b" &
	pb=$!
	wait $pa && wait $pb || { echo "tree_equal: treesum failed" >&9; return 1; }
	if ! cmp -s "$a" "$b"; then
		echo "tree_equal: '$1' and '$2' differ:" >&9
		diff "$a" "$b" | head -n 40 | sed 's/^/    /' >&9
		rm -f "$a" "$b"
		return 1
	fi
	rm -f "$a" "$b"
}

# tree_stamp DIR: every path with type, mode, owner, size, mtime, ctime and
# inode - cheap, and any change to a file (content, metadata, replacement)
# changes its ctime or inode
tree_stamp() {
	(cd "$1" && find . -printf '%y %m %U %G %s %T@ %C@ %i %p -> %l\n' | sort)
}

# snap_id COMPONENT: the newest complete snapshot of COMPONENT in $BK
snap_id() {
	"$ZDT" -b "$BK" --json list -c "$1" | python3 -c '
import json, sys
s = [x["id"] for x in json.load(sys.stdin)["snapshots"] if x["state"] == "complete"]
if not s:
    sys.exit("snap_id: no complete snapshot")
print(s[-1])'
}

# count_state COMPONENT STATE: how many snapshots of COMPONENT are in STATE
count_state() {
	"$ZDT" -b "$BK" --json list -c "$1" | python3 -c '
import json, sys
print(sum(1 for x in json.load(sys.stdin)["snapshots"] if x["state"] == sys.argv[1]))' "$2"
}

count_complete() {
	count_state "$1" complete
}

# snap_dir COMPONENT [ID]: the snapshot folder (layout of common/store.h)
snap_dir() {
	local id=${2:-}
	[ -n "$id" ] || id=$(snap_id "$1") || return 1
	echo "$BK/$1/$id"
}

# manifest_py ARGS: tests/manifest.py (see there)
manifest_py() {
	python3 "$MANIFEST_PY" "$@"
}

# json_get FILE EXPR: print the python expression EXPR over the document d
json_get() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2"
}

# syscall_count SYSCALL CMD...: how many times CMD (and its children) call SYSCALL
syscall_count() {
	local sc=$1 f=$TEST_OUT/.strace-c.$BASHPID
	shift
	strace -f -c -o "$f" -e trace="$sc" "$@" >/dev/null 2>&1
	awk -v s="$sc" '$NF == s { print $4; found = 1 } END { if (!found) print 0 }' "$f"
	rm -f "$f"
}

# syscall_count_thread SYSCALL CMD...: the most calls of SYSCALL that one
# thread of CMD made (strace's inject when= counts per thread)
syscall_count_thread() {
	local sc=$1 f=$TEST_OUT/.strace-t.$BASHPID
	shift
	strace -f -o "$f" -e trace="$sc" "$@" >/dev/null 2>&1
	awk -v s="$sc" 'index($2, s "(") == 1 { n[$1]++ } END { m = 0; for (t in n) if (n[t] > m) m = n[t]; print m }' "$f"
	rm -f "$f"
}

# children PID: the child pids of PID
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null
}

# flip_byte FILE OFFSET [BYTE]: invert the byte at OFFSET (or set it to the
# character BYTE; when it already is BYTE, to BYTE's neighbour)
flip_byte() {
	case $2 in
	'' | *[!0-9]*) echo "flip_byte: bad offset '$2'" >&2; return 1 ;;
	esac
	python3 -c 'import sys
off = int(sys.argv[2])
with open(sys.argv[1], "r+b") as f:
    f.seek(off)
    b = f.read(1)
    if len(b) != 1:
        sys.exit("flip_byte: offset %d beyond the end of %s" % (off, sys.argv[1]))
    if len(sys.argv) > 3:
        n = ord(sys.argv[3])
        if n == b[0]:
            n += 1
    else:
        n = b[0] ^ 0xff
    f.seek(off)
    f.write(bytes([n]))' "$@"
}

# snap_archive COMPONENT [ID]: the archive file of a snapshot
snap_archive() {
	local d a
	d=$(snap_dir "$@") || return 1
	for a in "$d"/archive.tar "$d"/archive.tar.gz; do
		[ ! -f "$a" ] || { echo "$a"; return 0; }
	done
	echo "snap_archive: no archive in $d" >&2
	return 1
}

# check_same_paths MANIFEST DIR: the manifest has exactly the paths under DIR
# (NUL-separated lists, so that any byte in a name counts)
check_same_paths() {
	local m=$TEST_OUT/.paths-m.$BASHPID f=$TEST_OUT/.paths-f.$BASHPID rc=0
	manifest_py paths "$1" | sort -z >"$m"
	(cd "$2" && { printf '.\0'; find . -mindepth 1 -printf '%P\0'; }) | sort -z >"$f"
	if ! cmp -s "$m" "$f"; then
		echo "check_same_paths: manifest (<) and '$2' (>) differ:" >&9
		diff <(tr '\0\n' '\n?' <"$m") <(tr '\0\n' '\n?' <"$f") | head -n 30 | sed 's/^/    /' >&9
		rc=1
	fi
	rm -f "$m" "$f"
	return $rc
}

# ---- rollback round trips (t2000, t2100, t2200, t2300, t3100, t9200) --------

MUTATE=$ZDT_SRC/scripts/mutate-tree
FAST_SUM=$TESTS_DIR/fastsum.py

# need_mutate: skip the file when scripts/mutate-tree is not built
need_mutate() {
	[ -x "$MUTATE" ] || skip_all "no $MUTATE (make scripts/mutate-tree)"
}

# fast_sum DIR [--no-root]: tests/fastsum.py: what treesum.sh reads, in one
# python process, one line per path
fast_sum() {
	python3 "$FAST_SUM" sum "$@"
}

# same_tree [--no-root] REF DIR [REF DIR]...: each DIR's fast_sum equals its
# REF's (REF's sum is kept under $TEST_OUT: REF must not change afterwards)
same_tree() {
	python3 "$FAST_SUM" cmp "$TEST_OUT" "$@" 2>&9
}

# setup_src [SCALE] [BACKUP OPTIONS]: src (a SCALE tree, default tiny), its
# pristine copy, one snapshot of src (component AR)
setup_src() {
	local scale=tiny
	case ${1:-} in '' | -*) ;; *) scale=$1; shift ;; esac
	gen_tree src "$scale" &&
	cp -a --sparse=always src pristine &&
	zdt -b "$BK" backup -c AR "$@" src >/dev/null
}

# ---- torture campaigns -------------------------------------------------------
#
# A campaign runs many cases, counts those that held, prints its figure
# "NAME: N tried, N held" on the file's stdout (run.sh shows it) and fails
# when a case did not hold.  $QUICK (set by the quick t[0-8] files that
# source a t9 campaign, or ZDT_TORTURE_QUICK=1) asks for a few cases only.

QUICK=${QUICK:-${ZDT_TORTURE_QUICK:-}}
camp_tried=0 camp_held=0

# quick FULL FEW: FEW when $QUICK, else FULL
quick() {
	if [ -n "$QUICK" ]; then echo "$2"; else echo "$1"; fi
}

# campaign_case WHAT CMD...: one case; CMD's failure is reported with WHAT,
# and then $CAMPAIGN_RECOVER (if set) is eval'ed to set the stage again
campaign_case() {
	local what=$1
	shift
	local rc
	camp_tried=$((camp_tried + 1))
	# set -e holds inside CMD (it would not inside an if)
	set +e
	( set -e; "$@" )
	rc=$?
	set -e
	if [ $rc = 0 ]; then
		camp_held=$((camp_held + 1))
	else
		echo "campaign: case did not hold (exit $rc): $what" >&9
		# the first ones on the file's stdout too (the log keeps the tail)
		[ $((camp_tried - camp_held)) -gt 20 ] || echo "# did not hold: $what" >&7
		[ -z "${CAMPAIGN_RECOVER:-}" ] || eval "$CAMPAIGN_RECOVER"
	fi
	return 0
}

# campaign_done NAME: print the figure, fail unless every case held
campaign_done() {
	local q=
	[ -z "$QUICK" ] || q=" (quick)"
	echo "$1$q: $camp_tried tried, $camp_held held" >&9
	echo "# $1$q: $camp_tried tried, $camp_held held" >&7
	test "$camp_tried" -gt 0 && test "$camp_tried" = "$camp_held"
}

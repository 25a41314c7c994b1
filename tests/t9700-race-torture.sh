#!/bin/bash
# t9700-race-torture: while rollbacks run, a concurrent process swaps
# folders of the live tree (conf, lib, arserver) for symlinks to a sentinel
# folder outside the install dir, with renameat2(RENAME_EXCHANGE) in a
# tight loop, for a bounded time (tests/run.sh --torture: 20 rounds of 3 s;
# t8700-race-quick.sh: 2 rounds of 2 s).  A round holds when no rollback
# crashed (exit 0, 1 or 4: a rollback may fail on what changes under it),
# nothing in the sentinel folder changed (type, mode, owner, size, mtime,
# ctime, inode and content of every path), nothing else outside the install
# dir changed but the swap holders, and once the swapping stops one more
# rollback gives back the snapshot exactly.
. "$(dirname "$0")/lib.sh"
require python3
need_mutate
ROUNDS=${RACE_ROUNDS:-$(quick 20 2)}
SECS=${RACE_SECS:-$(quick 3 2)}
DIRS="conf lib arserver"

# swapper SECS PAIR...: exchange each pair of paths (A:B) in a loop for
# SECS seconds; prints the count of exchanges; leaves each A a folder
SWAP_PY='
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT, EXCHANGE = -100, 2
secs, pairs = float(sys.argv[1]), [p.split(":") for p in sys.argv[2:]]
end, n = time.time() + secs, 0
while time.time() < end:
    for a, b in pairs:
        if libc.renameat2(AT, a.encode(), AT, b.encode(), EXCHANGE) == 0:
            n += 1
    time.sleep(0.0002)
# the install dir gets folders back (the next rollback restores the rest)
for a, b in pairs:
    if os.path.islink(a) and os.path.isdir(b) and not os.path.islink(b):
        libc.renameat2(AT, a.encode(), AT, b.encode(), EXCHANGE)
print(n)
'

# outside_state: everything outside src but the holders and the test's own
# files, and the sentinel folder with contents
outside_state() {
	(cd "$TRASH" && find . -mindepth 1 \( -path ./src -o -path ./pristine -o -name "hold-*" -o \
		-path ./bk -o -name "*.out" -o -name "*.now" -o -name "*.before" -o -name "rc.*" \) -prune -o \
		-printf "%y %m %U %G %s %T@ %C@ %i %p -> %l\n" | sort)
	fast_sum sentinel
}

race_round() {
	local i pairs= d n rc
	"$MUTATE" src 30 7 >/dev/null
	for d in $DIRS; do
		rm -rf "hold-$d"
		ln -s "$TRASH/sentinel/$d" "hold-$d"
		pairs="$pairs $TRASH/src/$d:$TRASH/hold-$d"
	done
	python3 -c "$SWAP_PY" "$SECS" $pairs >swaps.out &
	local swapper=$!
	i=0
	while kill -0 $swapper 2>/dev/null; do
		rc=0
		"$ZDT" -b "$BK" rollback -c AR >/dev/null 2>rb.out || rc=$?
		echo $rc >>"rc.all"
		case $rc in
		0 | 1 | 4) ;;
		*) echo "a rollback under the race exited $rc:" >&9; sed 's/^/    | /' rb.out >&9; wait $swapper; return 1 ;;
		esac
		i=$((i + 1))
	done
	wait $swapper
	echo "# round: $(cat swaps.out) exchanges, $i rollbacks" >&7
	# the holders may have got a real folder: not the install dir's business
	for d in $DIRS; do rm -rf "hold-$d"; done
	outside_state >outside.now
	cmp outside.before outside.now || {
		echo "something outside the install dir changed:" >&9
		diff outside.before outside.now | head -n 20 | sed 's/^/    /' >&9
		return 1
	}
	zdt -b "$BK" rollback -c AR >/dev/null
	check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
	same_tree pristine src
}

expect_success "folders swapped for symlinks to outside during rollbacks ($ROUNDS rounds of $SECS s)" '
	setup_src tiny
	mkdir sentinel
	for d in $DIRS; do
		cp -a pristine/$d sentinel/$d
	done
	outside_state >outside.before
	for r in $(seq "$ROUNDS"); do
		campaign_case "round $r" race_round
	done
	echo "# rollback exits: $(sort rc.all | uniq -c | paste -sd " ")" >&7
	campaign_done "races"
'

test_done

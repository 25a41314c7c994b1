#!/bin/bash
# t9800-concurrency-torture: two zdt runs started together, 50 times for
# each pair (tests/run.sh --torture; t8800-concurrency-quick.sh: 3 times
# each in make check): backup + backup, backup + cleanup --keep-last 1,
# rollback + cleanup --keep-last 1.  The second run starts 0-40 ms after the
# first (seeded), so that each order and overlap occurs.  A case holds when
# each run exits 0 or is refused with exit 3 (the lock is held; cleanup
# without --wait) and nothing is lost: every snapshot listed as complete
# verifies, no partial snapshot is left once both ended, a backup that
# said it succeeded left its snapshot, the install dir is untouched by
# backups, and after a rollback that succeeded (or one more once the other
# run ended) the tree equals the snapshot.
. "$(dirname "$0")/lib.sh"
require python3
need_mutate
TIMES=${CONC_TIMES:-$(quick 50 3)}
RANDOM=9800

# together CMD1 -- CMD2: both in the background, the second 0-40 ms later;
# sets rc1 rc2, their output in out1 err1 out2 err2
together() {
	local a=() p1 p2 delay
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	delay=$(printf '0.%03d' $((RANDOM % 41)))
	if [ $((RANDOM % 2)) = 0 ]; then
		"${a[@]}" >out1 2>err1 &
		p1=$!
		sleep "$delay"
		"$@" >out2 2>err2 &
		p2=$!
	else
		"$@" >out2 2>err2 &
		p2=$!
		sleep "$delay"
		"${a[@]}" >out1 2>err1 &
		p1=$!
	fi
	rc1=0 rc2=0
	wait $p1 || rc1=$?
	wait $p2 || rc2=$?
	echo "$rc1 $rc2" >>"$TRASH/rcs"
}

# exit_ok WHAT RC ERRFILE: 0, or 3 with a message about the lock
exit_ok() {
	case $2 in
	0) ;;
	3) grep -q "^zdt: " "$3" || { echo "$1: exit 3 without a message" >&9; return 1; } ;;
	*) echo "$1: exit $2:" >&9; sed 's/^/    | /' "$3" >&9; return 1 ;;
	esac
}

intact() {
	zdt -b "$BK" verify --all >verify.out 2>&1 || {
		echo "a complete snapshot does not verify:" >&9
		sed 's/^/    | /' verify.out >&9
		return 1
	}
	check_eq "partial snapshots" 0 "$(count_state AR partial)"
	ls -A "$BK/AR" | grep -c "\.partial$" >npartial || :
	check_eq "partial folders" 0 "$(cat npartial)"
}

# made ID-OUTPUT: the snapshot a successful backup printed exists
made() {
	local id
	id=$(sed -n 's/^AR \([0-9TZ-]*\): .*/\1/p' "$1")
	test -n "$id" && test -d "$BK/AR/$id" || { echo "the backup's snapshot '$id' is gone" >&9; return 1; }
}

two_backups() {
	local n0
	n0=$(count_complete AR)
	together "$ZDT" -b "$BK" backup -c AR src -- "$ZDT" -b "$BK" backup -c AR src
	exit_ok "first backup" $rc1 err1
	exit_ok "second backup" $rc2 err2
	test $rc1 = 0 || test $rc2 = 0 || { echo "both backups refused" >&9; return 1; }
	check_eq "complete snapshots" $((n0 + (rc1 == 0) + (rc2 == 0))) "$(count_complete AR)"
	[ $rc1 != 0 ] || made out1
	[ $rc2 != 0 ] || made out2
	tree_stamp src >stamp.now
	cmp stamp.before stamp.now
	intact
	zdt -b "$BK" cleanup -c AR --keep-last 1
}

backup_cleanup() {
	together "$ZDT" -b "$BK" backup -c AR src -- "$ZDT" -b "$BK" cleanup -c AR --keep-last 1
	exit_ok "backup" $rc1 err1
	exit_ok "cleanup" $rc2 err2
	test $rc1 = 0 || test $rc2 = 0 || { echo "both refused" >&9; return 1; }
	# cleanup keeps the newest: a backup that succeeded is kept
	[ $rc1 != 0 ] || made out1
	test "$(count_complete AR)" -ge 1
	tree_stamp src >stamp.now
	cmp stamp.before stamp.now
	intact
	zdt -b "$BK" cleanup -c AR --keep-last 1
}

rollback_cleanup() {
	local n0
	n0=$(BK=$BK2 count_complete AR)
	"$MUTATE" rsrc 30 7 >/dev/null
	tree_stamp rsrc >rstamp.before
	together "$ZDT" -b "$BK2" rollback -c AR -- "$ZDT" -b "$BK2" cleanup -c AR --keep-last 1
	exit_ok "rollback" $rc1 err1
	exit_ok "cleanup" $rc2 err2
	if [ $rc1 = 3 ]; then
		tree_stamp rsrc >rstamp.now
		cmp rstamp.before rstamp.now || { echo "a refused rollback changed the tree" >&9; return 1; }
		zdt -b "$BK2" rollback -c AR >/dev/null
	fi
	BK=$BK2 intact
	test $rc1 = 0 || test $rc2 = 0 || { echo "both refused" >&9; return 1; }
	# the cleanup, if it ran, kept the newest only (the one rolled back to)
	check_eq "complete snapshots" $((rc2 == 0 ? 1 : n0)) "$(BK=$BK2 count_complete AR)"
	same_tree rpristine rsrc
	# one more snapshot for the cleanup of the next case to remove
	zdt -b "$BK2" backup -c AR rsrc >/dev/null
}

expect_success "backup + backup, backup + cleanup, rollback + cleanup started together, $TIMES times each" '
	gen_tree src tiny
	zdt -b "$BK" backup -c AR src >/dev/null
	tree_stamp src >stamp.before
	BK2=$PWD/bk2
	gen_tree rsrc tiny 2
	cp -a --sparse=always rsrc rpristine
	zdt -b "$BK2" backup -c AR rsrc >/dev/null
	zdt -b "$BK2" backup -c AR rsrc >/dev/null
	for i in $(seq "$TIMES"); do
		campaign_case "backup + backup #$i" two_backups
		campaign_case "backup + cleanup #$i" backup_cleanup
		campaign_case "rollback + cleanup #$i" rollback_cleanup
	done
	echo "# exits (first second): $(sort "$TRASH/rcs" | uniq -c | paste -sd " ")" >&7
	campaign_done "concurrency"
'

test_done

#!/bin/bash
# t9100-kill-torture: kill -9 at 100 points spread evenly over a whole run
# of backup, rollback and cleanup (tests/run.sh --torture; the quick file
# t8100-kill-quick.sh runs 4 points of backup and cleanup, 20 of rollback,
# 6 of a rollback into an empty folder, 4 among the writes of big files in
# pieces (all of them here), in make check).
#
# A trial run is traced with strace (every system call); the kill points
# are SYSCALL:K, the K-th call of SYSCALL (as strace's inject when= counts
# it), taken at even steps over the trial's calls, the first and the last
# included.  Each point is one case of the campaign:
#   backup    the install dir is untouched (tree_stamp: any write changes a
#             ctime), every snapshot that is not partial verifies, the next
#             backup exits 0 and leaves no partial leftover;
#   rollback  the snapshot still verifies; the run shows
#             rollback-interrupted, or it had not yet touched the tree, or
#             it was done; the rerun exits 0 and the tree
#             equals the snapshot (fast_sum, hardlinks, xattrs, mtimes);
#   cleanup   every snapshot listed complete verifies, the folder holds
#             nothing list does not show, the rerun leaves exactly what the
#             policy keeps.
# A point that the run does not reach (the runs differ a little, threads)
# lets the run finish: exit 0, and the same checks apply.
. "$(dirname "$0")/lib.sh"
require strace python3
[ -z "$ZDT_VALGRIND" ] || skip_all "fault injection with strace under valgrind is too slow"
need_mutate
POINTS=${KILL_POINTS:-$(quick 100 4)}
# the rollback's quick subset is the 20-point campaign of issue #3
RB_POINTS=${KILL_POINTS:-$(quick 100 20)}

# spread_points N TRACE [FROM]: N kill points "SYSCALL:K" spread evenly over the
# calls of TRACE (strace -f -o) after the first line holding FROM (default:
# all), duplicates dropped.  strace counts when= per thread (a rollback into
# an empty folder creates its files in worker threads), so K is the call's
# number in its own thread: the point fires where that thread, or an
# earlier one, makes its K-th call of SYSCALL
spread_points() {
	awk -v want="$1" -v from="${3:-}" '
		/ resumed>/ { next }
		{ t = $1; sc = $2; sub(/\(.*/, "", sc) }
		# (a call this strace has no name for, such as listxattrat on
		# strace 6.1, shows as syscall_0xNNN and cannot be injected)
		sc !~ /^[a-z0-9_]+$/ || sc ~ /^syscall_0x/ { next }
		{ k[t, sc]++ }
		sc == "execve" { next }
		from != "" && !started { if (index($0, from)) started = 1; next }
		# the same "SYSCALL:K" in two threads is one point (its first)
		!seen[sc ":" k[t, sc]]++ { m++; s[m] = sc ":" k[t, sc] }
		END {
			if (want == 1) { print s[m]; exit }
			for (i = 1; i <= want; i++) print s[int(1 + (i - 1) * (m - 1) / (want - 1))]
		}' "$2" | awk '!seen[$0]++'
}

# killed SPEC CMD...: CMD under strace, SIGKILLed at SPEC; sets $rc
killed() {
	local spec=$1
	shift
	rc=0
	strace -f -o /dev/null -e trace=${spec%:*} -e inject=${spec%:*}:signal=KILL:when=${spec#*:} "$@" \
		>killed.out 2>&1 || rc=$?
	echo $rc >>"$TRASH/rcs"
	case $rc in
	0 | 137) ;;
	*) echo "killed at $spec: exit $rc" >&9; sed 's/^/    | /' killed.out >&9; return 1 ;;
	esac
}

# all_verify: every snapshot that is not partial verifies
all_verify() {
	if ! zdt -b "$BK" verify --all >verify.out 2>&1; then
		echo "a snapshot listed as complete does not verify:" >&9
		sed 's/^/    | /' verify.out | head -n 10 >&9
		return 1
	fi
}

# no_leftovers: the component folder holds exactly what list shows, and no
# partial snapshot
no_leftovers() {
	zdt -b "$BK" list -c AR | awk '$1 == "AR" { print $2 }' | sort >listed
	ls -A "$BK/AR" | sort >present
	if ! cmp -s listed present; then
		echo "the folder holds what list does not show:" >&9
		diff listed present | sed 's/^/    /' >&9
		return 1
	fi
	check_eq "partial snapshots" 0 "$(count_state AR partial)"
}

# kills_done WHAT: how many runs were killed (most must be: a kill point
# that never fires proves nothing)
kills_done() {
	local k n
	k=$(grep -c "^137$" "$TRASH/rcs")
	n=$(wc -l <"$TRASH/rcs")
	echo "# $1: $k of $n runs killed, the others finished" >&7
	test $((2 * k)) -ge "$n"
}

# ---- backup -----------------------------------------------------------------

backup_case() { # SPEC
	killed "$1" "$ZDT" -b "$BK" backup -c AR src
	tree_stamp src >stamp.now
	cmp stamp.before stamp.now || { echo "the install dir changed" >&9; return 1; }
	all_verify
	# the next backup removes the leftover and succeeds
	zdt -b "$BK" backup -c AR src >/dev/null
	no_leftovers
	all_verify
	zdt -b "$BK" cleanup -c AR --keep-last 1
	tree_stamp src >stamp.now
	cmp stamp.before stamp.now
}

expect_success "kill -9 at $POINTS points of a backup" '
	gen_tree src tiny
	zdt -b "$BK" backup -c AR src >/dev/null
	tree_stamp src >stamp.before
	strace -f -o trace.all "$ZDT" -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" cleanup -c AR --keep-last 1
	spread_points $POINTS trace.all >points
	echo "$(wc -l <points) points over $(wc -l <trace.all) calls"
	while read -r spec; do
		campaign_case "backup killed at $spec" backup_case "$spec"
	done <points
	campaign_done "kill -9 backup"
	kills_done "kill -9 backup"
'

# ---- rollback ---------------------------------------------------------------

rollback_case() { # SPEC
	"$MUTATE" src 30 7 >/dev/null
	tree_stamp src >stamp.mutated
	killed "$1" "$ZDT" -b "$BK" rollback -c AR
	all_verify
	if [ "$(count_state AR rollback-interrupted)" = 0 ]; then
		# killed before its first change, or after its last
		tree_stamp src >stamp.now
		cmp -s stamp.mutated stamp.now || same_tree pristine src
	fi
	zdt -b "$BK" rollback -c AR >/dev/null
	check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
	check_eq "complete snapshots" 1 "$(count_complete AR)"
	same_tree pristine src
}

expect_success "kill -9 at $RB_POINTS points of a rollback of a 30% mutated tree, then the rerun" '
	setup_src tiny
	"$MUTATE" src 30 7 >/dev/null
	strace -f -o trace.all "$ZDT" -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	spread_points $RB_POINTS trace.all >points
	echo "$(wc -l <points) points over $(wc -l <trace.all) calls"
	while read -r spec; do
		campaign_case "rollback killed at $spec" rollback_case "$spec"
	done <points
	campaign_done "kill -9 rollback"
	kills_done "kill -9 rollback"
'

# ---- cleanup ----------------------------------------------------------------

# fresh: $BK as a copy of tmpl (snapshot files hard-linked: cleanup only
# unlinks them)
# A rollback into an empty install folder checks members as it writes and
# undoes itself on damage (t2600).  Killed at SPEC, then: the rerun gives
# the snapshot back; or, with the snapshot damaged after the kill
# (DAMAGE=1), the rerun exits 4 and leaves the folder empty as before, or,
# when the killed run had written that member's file whole already, exits 0
# with the snapshot back (it checks contents by hash and does not need it).
EMPTY_POINTS=${KILL_POINTS:-$(quick 40 6)}

rollback_empty_case() { # SPEC DAMAGE
	rm -rf src
	mkdir src
	chmod 0751 src
	touch -d @1000000000 src
	killed "$1" "$ZDT" -b "$BK" rollback -c AR
	all_verify
	local interrupted
	interrupted=$(count_state AR rollback-interrupted)
	if [ "$2" = 1 ] && [ "$interrupted" = 1 ]; then
		flip_byte "$arc" $((off + 100))
		rc=0
		"$ZDT" -b "$BK" rollback -c AR >/dev/null 2>rerun.err || rc=$?
		flip_byte "$arc" $((off + 100))
		if [ $rc = 0 ]; then
			# killed after that file was written whole: the rerun, checking
			# contents by hash, does not need its member, and must give
			# the snapshot back without it
			check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
			same_tree pristine src
			echo "not needed" >>"$TRASH/unneeded"
			return 0
		fi
		check_eq "exit of the rerun on a damaged snapshot" 4 $rc
		check_eq "entries left in src" 0 "$(find src -mindepth 1 | wc -l)"
		check_eq "mode and mtime of src" "751 1000000000" "$(stat -c '%a %Y' src)"
		check_eq "rollback-interrupted after the undo" 0 "$(count_state AR rollback-interrupted)"
		echo damaged >>"$TRASH/undone"
		return 0
	fi
	zdt -b "$BK" rollback -c AR >/dev/null
	check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
	same_tree pristine src
}

expect_success "kill -9 at $EMPTY_POINTS points of a rollback into an empty folder, then the rerun (every other one: damage found by the rerun)" '
	setup_src tiny
	arc=$(snap_archive AR)
	read -r off <<-EOF
	$(awk '"'"'$1 == "f" && $5 >= 200 && NF == 10 { o = $8 } END { print o }'"'"' "$(snap_dir AR)/manifest")
	EOF
	test -n "$off"
	rm -rf src
	mkdir src
	strace -f -o trace.all "$ZDT" -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	spread_points $EMPTY_POINTS trace.all "\"rollback.journal\") = 0" >points
	echo "$(wc -l <points) points over $(wc -l <trace.all) calls"
	i=0
	while read -r spec; do
		i=$((i + 1))
		campaign_case "rollback into an empty folder killed at $spec (damage: $((i % 2)))" \
			rollback_empty_case "$spec" $((i % 2))
	done <points
	campaign_done "kill -9 rollback into an empty folder"
	# the damage branch ran (a kill after the journal, before the end)
	test -s "$TRASH/undone"
	echo "# $(wc -l <"$TRASH/undone") reruns found damage and emptied the folder;" \
		"$(cat "$TRASH/unneeded" 2>/dev/null | wc -l) did not need the damaged member (written whole before the kill)" >&7
'

fresh() {
	rm -rf "$BK" && cp -al tmpl "$BK" && rm -f "$BK/.lock" "$BK/audit.log" && cp tmpl/audit.log "$BK/"
}

cleanup_case() { # SPEC
	fresh
	killed "$1" "$ZDT" -b "$BK" cleanup -c AR --keep-last 1
	all_verify
	zdt -b "$BK" list -c AR | awk '$1 == "AR" { print $2 }' | sort >listed
	ls -A "$BK/AR" | sed 's/\.partial$//' | sort >present
	cmp listed present || { echo "the folder holds what list does not show" >&9; return 1; }
	zdt -b "$BK" cleanup -c AR --keep-last 1
	check_eq "what is left" "$(cat keep)" "$(ls -A "$BK/AR")"
	no_leftovers
	all_verify
}

# Big files go to the writer threads of a rollback into an empty folder in
# 1 MiB pieces written with O_DIRECT, the last one only once the whole file
# matched the manifest.  Killed between any two of those writes, the rerun
# gives the snapshot back.
BIG_POINTS=${KILL_POINTS:-$(quick 20 4)}

expect_success "kill -9 at up to $BIG_POINTS writes of big files in pieces (rollback into an empty folder; there are about 8), then the rerun" '
	gen_tree src tiny
	mkdir src/0big
	head -c $((3 * 1048576 + 777)) /dev/urandom >src/0big/a.jar
	head -c $((2 * 1048576)) /dev/urandom >src/0big/b.jar
	head -c $((1048576 + 1)) /dev/urandom >src/0big/c.jar
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	rm -rf src
	mkdir src
	strace -f -o trace.all -e trace=pwrite64 "$ZDT" -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	# the writes of pieces (1 MiB, or at an offset past 0: the short last
	# ones; the small files are written whole at 0), each as the number of
	# the call in its thread, spread evenly (a call that another thread
	# interrupts ends its line with "<unfinished ...>")
	awk '"'"'/pwrite64\(/ { k[$1]++ } /pwrite64\(/ && match($0, /, [0-9]+, [0-9]+(\) = | <unfinished)/) {
		split(substr($0, RSTART + 2), a, /[,)< ]+/)
		if (a[1] == 1048576 || a[2] > 0) print "pwrite64:" k[$1] }'"'"' trace.all | awk '"'"'!seen[$0]++'"'"' >pieces
	test "$(wc -l <pieces)" -ge 6
	awk -v want="$BIG_POINTS" '"'"'{ s[NR] = $0 } END { for (i = 1; i <= want; i++) print s[int(1 + (i - 1) * (NR - 1) / (want - 1))] }'"'"' pieces |
		awk '"'"'!seen[$0]++'"'"' >points
	echo "$(wc -l <points) points over $(wc -l <pieces) writes of pieces"
	while read -r spec; do
		campaign_case "rollback into an empty folder killed at the piece write $spec" \
			rollback_empty_case "$spec" 0
	done <points
	campaign_done "kill -9 rollback into an empty folder, big files in pieces"
	kills_done "kill -9 rollback into an empty folder, big files in pieces"
'

expect_success "kill -9 at $POINTS points of a cleanup, then the rerun" '
	gen_tree src tiny
	for i in 1 2 3; do
		zdt -b "$PWD/tmpl" backup -c AR src >/dev/null
	done
	ls -A tmpl/AR | tail -n 1 >keep
	# the leftover of a backup killed half-way
	rc=0
	strace -f -o /dev/null -e trace=fsync -e inject=fsync:signal=KILL:when=2 \
		"$ZDT" -b "$PWD/tmpl" backup -c AR src >/dev/null 2>&1 || rc=$?
	check_eq "the killed backup" 137 $rc
	ls -d tmpl/AR/*.partial
	fresh
	strace -f -o trace.all "$ZDT" -b "$BK" cleanup -c AR --keep-last 1
	check_eq "what is left" "$(cat keep)" "$(ls -A "$BK/AR")"
	spread_points $POINTS trace.all >points
	echo "$(wc -l <points) points over $(wc -l <trace.all) calls"
	while read -r spec; do
		campaign_case "cleanup killed at $spec" cleanup_case "$spec"
	done <points
	campaign_done "kill -9 cleanup"
	kills_done "kill -9 cleanup"
'

test_done

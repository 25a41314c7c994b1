#!/bin/bash
# t9200-rollback-torture: a rollback of the small tree after a heavy
# upgrade (mutate-tree 30 7) killed at 20 points spread over every kind of
# change it makes, killed again while it resumes, and killed at random
# moments.  After each kill, `zdt list` shows rollback-interrupted; the next
# run of the same rollback exits 0 and the tree equals the pristine copy
# (fast_sum, see t2000-rollback.sh).  Runs only under tests/run.sh --torture.
. "$(dirname "$0")/lib.sh"
require python3 strace
[ -z "$ZDT_VALGRIND" ] || skip_all "fault injection with strace under valgrind is too slow"
need_mutate
CALLS=renameat2,pwrite64,unlinkat,linkat,symlinkat,mkdirat,utimensat,fchmod,fchown

# setup: the small tree, its pristine copy, a snapshot, the upgrade
setup() {
	setup_src small
	"$MUTATE" src 30 7 >/dev/null
}

# trial: trace.all, the calls of a whole rollback (which restores src)
trial() {
	strace -f -o trace.all -e trace=renameat,$CALLS "$ZDT" -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
}

# points N [main]: N kill points "SYSCALL:K" (K counts that system call in
# its thread, as strace's when= does; with "main", of the main thread only:
# a signal strace injects goes to the thread that made the call, and the
# worker threads block signals, as a process-directed one goes to the main
# thread), spread over the calls made between writing the
# rollback journal and removing it, the first and the last of them included
points() {
	awk -v want="$1" -v calls="$CALLS" -v main_only="${2:-}" '
		BEGIN { n = split(calls, c, ","); for (i = 1; i <= n; i++) ok[c[i]] = 1 }
		NR == 1 { main = $1 }
		/ resumed>/ { next }
		main_only != "" && $1 != main { next }
		{ sc = $2; sub(/\(.*/, "", sc); k[$1, sc]++ }
		/rollback\.journal"/ && / renameat\(/ { on = 1; next }
		/unlinkat\(.*"rollback\.journal"/ { on = 0 }
		on && (sc in ok) { m++; s[m] = sc ":" k[$1, sc] }
		END { for (i = 1; i <= want; i++) print s[int(1 + (i - 1) * (m - 1) / (want - 1))] }
	' trace.all | sort -u
}

# kill_at SPEC: the rollback killed by SIGKILL at SPEC (SYSCALL:K)
kill_at() {
	must_fail 137 strace -f -o /dev/null -e trace=${1%:*} -e inject=${1%:*}:signal=KILL:when=${1#*:} \
		"$ZDT" -b "$BK" rollback -c AR
	check_eq "rollback-interrupted after a kill at $1" 1 "$(count_state AR rollback-interrupted)"
}

# finish: the rerun of the same rollback, and the result
finish() {
	zdt -b "$BK" rollback -c AR >out 2>err
	check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
	check_eq "complete snapshots" 1 "$(count_state AR complete)"
	same_tree pristine src
	zdt -b "$BK" diff -c AR --checksum >/dev/null
}

expect_success 'kill -9 at 20 points spread over every kind of change: each rerun finishes' '
	setup
	trial
	points 20 >p
	cat p
	test "$(wc -l <p)" -ge 15
	# every kind of change is hit at least once where the trial made it
	for sc in renameat2 pwrite64 unlinkat utimensat; do
		grep -q "^$sc:" p
	done
	while read -r spec; do
		echo "== kill at $spec"
		"$MUTATE" src 30 7 >/dev/null
		kill_at $spec
		finish
	done <p
'

expect_success 'killed again while resuming: the third run finishes' '
	setup
	trial
	points 6 >p
	set -- renameat2:1 unlinkat:1 pwrite64:2
	while read -r spec; do
		second=$1
		shift
		set -- "$@" $second
		echo "== kill at $spec, then while resuming at $second"
		"$MUTATE" src 30 7 >/dev/null
		kill_at $spec
		# the resume has less to do: it may be done before that call
		rc=0
		strace -f -o /dev/null -e trace=${second%:*} -e inject=${second%:*}:signal=KILL:when=${second#*:} \
			"$ZDT" -b "$BK" rollback -c AR >/dev/null 2>&1 || rc=$?
		case $rc in
		137) check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)" ;;
		0) check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)" ;;
		*) echo "exit $rc"; false ;;
		esac
		finish
	done <p
'

expect_success 'SIGKILL at random moments (timeout -s KILL)' '
	setup
	trial
	for t in 0.05 0.1 0.2 0.3 0.5 0.8 1.2 2; do
		"$MUTATE" src 30 7 >/dev/null
		rc=0
		timeout -s KILL $t "$ZDT" -b "$BK" rollback -c AR >/dev/null 2>&1 || rc=$?
		echo "timeout $t: exit $rc, $(count_state AR rollback-interrupted) interrupted"
		case $rc in
		0 | 137) ;;
		*) false ;;
		esac
		finish
	done
'

expect_success 'SIGTERM and SIGINT at 6 points: exit 143 / 130, then the rerun finishes' '
	setup
	trial
	# the last point: a signal during the very last change still interrupts
	points 6 main >p
	i=0
	while read -r spec; do
		i=$((i + 1))
		case $((i % 2)) in 0) sig=TERM rc=143 ;; *) sig=INT rc=130 ;; esac
		echo "== SIG$sig at $spec"
		"$MUTATE" src 30 7 >/dev/null
		must_fail $rc strace -f -o /dev/null -e trace=${spec%:*} \
			-e inject=${spec%:*}:signal=$sig:when=${spec#*:} "$ZDT" -b "$BK" rollback -c AR
		check_eq "rollback-interrupted after SIG$sig" 1 "$(count_state AR rollback-interrupted)"
		finish
	done <p
'

test_done

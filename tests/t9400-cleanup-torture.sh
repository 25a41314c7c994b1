#!/bin/bash
# t9400-cleanup-torture: zdt cleanup killed (kill -9) at every unlinkat,
# rename and fsync of a deletion (tests/run.sh --torture, make torture).
#
# The backup folder: 3 complete AR snapshots of the small tree and the
# leftover of a backup killed half-way (ID.partial).  A snapshot folder holds
# a few files (archive, manifest, meta), so a deletion makes a few dozen
# system calls: every one of them is a kill point (counted on a trial run),
# plus the kill points 1 5 20 100 500 2000 of unlinkat (those beyond the
# count do not fire: the run must then simply finish).  After each kill:
# every snapshot listed as complete verifies, nothing but snapshots and
# leftovers is in the component folder, and the next cleanup finishes.
#
# Each trial starts from a copy of a template folder whose snapshot files
# are hard links (cp -al: cleanup only unlinks them, never writes), so
# that a trial costs no copy of ~500 MB.
. "$(dirname "$0")/lib.sh"
require strace python3
[ -z "$ZDT_VALGRIND" ] || skip_all "fault injection with strace under valgrind is too slow"

# make_template DIR: 3 complete snapshots of the small tree and a leftover
make_template() {
	local i rc=0
	gen_tree small_src small || return 1
	for i in 1 2 3; do
		zdt -b "$1" backup -c AR small_src >/dev/null || return 1
	done
	strace -f -o /dev/null -e trace=pwrite64 -e inject=pwrite64:signal=KILL:when=50 \
		"$ZDT" -b "$1" backup -c AR small_src >killed.out 2>&1 || rc=$?
	if [ $rc != 137 ]; then
		echo "make_template: the backup killed at its 50th archive write (pwrite64) exited $rc:" >&9
		sed 's/^/    | /' killed.out >&9
		return 1
	fi
	check_eq "entries of the template" "4" "$(ls -A "$1/AR" | wc -l)" || return 1
	ls -d "$1"/AR/*.partial >/dev/null || return 1
	rm -rf small_src
}

# fresh DIR: $BK as a copy of the template DIR (snapshot files hard-linked)
fresh() {
	rm -rf "$BK" &&
	cp -al "$1" "$BK" &&
	rm -f "$BK/.lock" "$BK/audit.log" &&
	cp "$1/audit.log" "$BK/audit.log"
}

# states: ID:STATE of each AR snapshot in list, one a line
states() {
	"$ZDT" -b "$BK" list -c AR 2>/dev/null | awk '$1 == "AR" { print $2 ":" $4 }'
}

# check_after_kill WHAT: every complete snapshot verifies; the component
# folder holds snapshots and leftovers only, at most as many as before
check_after_kill() {
	local id s n
	states >states.now
	n=$(wc -l <states.now)
	[ "$n" -le 4 ] || { echo "check_after_kill $1: $n snapshots listed" >&9; return 1; }
	for s in $(cat states.now); do
		id=${s%%:*}
		case $s in
		*:complete)
			test -d "$BK/AR/$id" || { echo "check_after_kill $1: $id listed, no folder" >&9; return 1; }
			if ! zdt -b "$BK" verify --snapshot "$id" >verify.out 2>&1; then
				echo "check_after_kill $1: $id is listed as complete but does not verify:" >&9
				sed 's/^/    | /' verify.out | head -n 10 >&9
				return 1
			fi
			;;
		*:partial) ;;
		*) echo "check_after_kill $1: unexpected state: $s" >&9; return 1 ;;
		esac
	done
	# nothing in the folder that list does not show
	ls -A "$BK/AR" | sed 's/\.partial$//' | sort >entries.now
	sed 's/:.*//' states.now | sort >listed.now
	if ! cmp -s entries.now listed.now; then
		echo "check_after_kill $1: $BK/AR holds what list does not show:" >&9
		diff listed.now entries.now | sed 's/^/    /' >&9
		return 1
	fi
}

# kill_points CLEANUP-ARGS...: "SYSCALL N" lines, every call of a trial run
kill_points() {
	local sc n
	for sc in unlinkat unlink rmdir renameat2 renameat rename fsync fdatasync; do
		fresh tmpl || return 1
		n=$(syscall_count $sc "$ZDT" -b "$BK" cleanup "$@")
		seq -f "$sc %g" 1 "$n"
	done
}

# torture KEEP CLEANUP-ARGS...: kill the cleanup at every kill point; after
# the next run, exactly the newest KEEP complete snapshots of the template
# are left
torture() {
	local keep=$1 sc n rc want
	shift
	want=$(states_tmpl | grep ':complete$' | sed 's/:.*//' | tail -n "$keep" | paste -sd ' ')
	[ "$keep" = 0 ] && want=
	kill_points "$@" >points || return 1
	test "$(grep -c '^unlinkat ' points)" -ge 8 || return 1
	for n in 1 5 20 100 500 2000; do
		grep -qx "unlinkat $n" points || echo "unlinkat $n beyond"
	done >>points
	echo "# $(wc -l <points) kill points for cleanup $*: $(cut -d' ' -f1 points | uniq -c | paste -sd ' ')" >&9
	while read -r sc n beyond; do
		fresh tmpl || return 1
		rc=0
		strace -f -o /dev/null -e trace=$sc -e inject=$sc:signal=KILL:when=$n \
			"$ZDT" -b "$BK" cleanup "$@" >/dev/null 2>&1 || rc=$?
		if [ -n "$beyond" ]; then
			check_eq "exit of cleanup $* ($sc #$n is beyond the run)" 0 "$rc" || return 1
		else
			check_eq "exit of cleanup $* killed at $sc #$n" 137 "$rc" || return 1
		fi
		check_after_kill "after the kill at $sc #$n" || return 1
		rc=0
		zdt -b "$BK" cleanup "$@" >next.out 2>&1 || rc=$?
		if [ $rc != 0 ]; then
			echo "the cleanup after the kill at $sc #$n: exit $rc" >&9
			sed 's/^/    | /' next.out >&9
			return 1
		fi
		check_eq "AR snapshots after the kill at $sc #$n and one more cleanup $*" \
			"$want" "$(states | grep ':complete$' | sed 's/:.*//' | paste -sd ' ')" || return 1
		check_eq "entries of $BK/AR after the kill at $sc #$n and one more cleanup $*" \
			"$want" "$(ls -A "$BK/AR" | paste -sd ' ')" || return 1
	done <points
	# a snapshot that survived verifies in full
	for n in $want; do
		zdt -b "$BK" verify --snapshot "$n" >/dev/null || return 1
	done
}

states_tmpl() {
	"$ZDT" -b "$PWD/tmpl" list -c AR 2>/dev/null | awk '$1 == "AR" { print $2 ":" $4 }'
}

expect_success 'cleanup --all killed at every unlinkat, rename and fsync' '
	make_template "$PWD/tmpl"
	torture 0 --all
'

expect_success 'cleanup --keep-last 1 killed at every unlinkat, rename and fsync' '
	make_template "$PWD/tmpl"
	torture 1 --keep-last 1
'

test_done

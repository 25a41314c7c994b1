#!/bin/bash
# t4000-cleanup: zdt cleanup - policies, leftovers, interrupted rollbacks,
# symlinks, the lock, usage errors, deletions cut short by kill -9.
#
# Clock: cleanup's ages come from each snapshot's creation time (created= in
# its meta, the ID's timestamp).  The release binary ($ZDT) has no clock
# override, so the aged snapshots are made by the test build zdt-test
# (`make zdt-test`: -DZDT_TESTING, which takes "now" from $ZDT_TEST_NOW for
# backup and cleanup) at now-1h, now-30h, now-60h and now-200h; the cleanup
# under test is always the release binary, on the real clock.  Without
# $ZDT_SRC/zdt-test the age tests are skipped ("missing zdt-test"): make check
# and make torture build it before running the tests.
#
# Faults come from strace (-e inject=...:signal=KILL / delay_enter), which
# works on the static release binary; those tests are skipped ("missing
# inject") without strace or under valgrind.
. "$(dirname "$0")/lib.sh"
require python3

# zdt-test ARGS: the test build (also the prerequisite of the age tests)
if [ -x "$ZDT_SRC/zdt-test" ]; then
	zdt-test() { "$ZDT_SRC/zdt-test" "$@"; }
else
	echo "# no $ZDT_SRC/zdt-test: the age tests are skipped (make zdt-test builds it; make check does)"
fi
# inject SPEC CMD...: CMD under strace -e inject=SPEC (also a prerequisite)
if command -v strace >/dev/null && [ -z "$ZDT_VALGRIND" ]; then
	inject() {
		local spec=$1
		shift
		strace -f -o /dev/null -e trace="${spec%%:*}" -e inject="$spec" "$@"
	}
else
	echo "# no strace, or zdt under valgrind: the fault-injection tests are skipped"
fi

AGES='200 60 30 1'

# make_aged COMPONENT...: a snapshot of each COMPONENT at each of $AGES
# hours ago (zdt-test with ZDT_TEST_NOW), oldest first; T0 is "now"
make_aged() {
	local h c
	T0=$(date +%s)
	if [ ! -d src ]; then
		mkdir src && echo data >src/file || return 1
	fi
	for h in $AGES; do
		for c in "$@"; do
			ZDT_TEST_NOW=$((T0 - h * 3600)) zdt-test -b "$BK" backup -c "$c" src >/dev/null || return 1
		done
	done
	for c in "$@"; do
		check_eq "entries of $BK/$c" "$(for h in $AGES; do age_id $h; done | paste -sd " ")" \
			"$(ls -A "$BK/$c" | paste -sd " ")" || return 1
	done
}

# age_id HOURS: the ID of the snapshot make_aged made HOURS ago
age_id() {
	date -u -d "@$((T0 - $1 * 3600))" +%Y%m%dT%H%M%SZ-01
}

# states COMPONENT: ID:STATE of each snapshot that `zdt list` shows (oldest
# first), on one line.  The human table (component, ID, created, state, ...
# as SPEC.md orders them) rather than --json: python's start-up, many times
# a test, would cost more than the test; --json has tests of its own.
states() {
	"$ZDT" -b "$BK" list -c "$1" 2>/dev/null |
		awk -v c="$1" '$1 == c { printf "%s%s:%s", n++ ? " " : "", $2, $4 } END { print "" }'
}

# ids COMPONENT [STATE]: the IDs of the snapshots (in STATE), oldest first,
# on one line
ids() {
	states "$1" | tr ' ' '\n' | awk -F: -v st="${2-}" 'NF && (st == "" || $2 == st) { print $1 }' | paste -sd ' '
}

# nstate COMPONENT STATE: how many snapshots are in STATE
nstate() {
	ids "$1" "$2" | wc -w
}

# newest COMPONENT: the newest complete snapshot
newest() {
	ids "$1" complete | awk '{ print $NF }'
}

# check_kept COMPONENT [HOURS...]: exactly the snapshots of these ages are
# left, all complete, and the component folder holds nothing else
check_kept() {
	local comp=$1 h want= wantc= got
	shift
	for h in "$@"; do
		want="$want${want:+ }$(age_id "$h")"
		wantc="$wantc${wantc:+ }$(age_id "$h"):complete"
	done
	got=$(ls -A "$BK/$comp" 2>/dev/null | paste -sd ' ')
	check_eq "entries of $BK/$comp" "$want" "$got" || return 1
	got=$(states "$comp") || return 1
	check_eq "$comp snapshots in list" "$wantc" "$got"
}

# ends_ok: how many cleanup runs the audit log records as ended with exit 0
ends_ok() {
	grep -c 'command=cleanup .*event=end exit=0 outcome=' "$BK/audit.log" || :
}

# snaps_tiny N: N snapshots of AR of a tiny generated tree (src)
snaps_tiny() {
	local i
	[ -d src ] || gen_tree src || return 1
	for i in $(seq "$1"); do
		zdt -b "$BK" backup -c AR src >/dev/null || return 1
	done
}

# check_complete_verify: every snapshot listed as complete verifies
check_complete_verify() {
	local id
	for id in $(ids AR complete); do
		if ! zdt -b "$BK" verify --snapshot "$id" >verify.out 2>&1; then
			echo "check_complete_verify: $id is listed as complete but does not verify:" >&9
			sed 's/^/    | /' verify.out | head -n 10 >&9
			return 1
		fi
	done
}

# ---- policies -----------------------------------------------------------

expect_success zdt-test '--older-than 48h removes the 60h and 200h snapshots, keeps 1h and 30h' '
	make_aged AR AtriumCore
	zdt -b "$BK" cleanup --older-than 48h
	check_kept AR 30 1
	check_kept AtriumCore 30 1
	zdt -b "$BK" verify --all >/dev/null
'

expect_success zdt-test '--older-than 1m when all are old: keeps exactly the newest complete of each' '
	make_aged AR AtriumCore
	zdt -b "$BK" cleanup --older-than 1m
	check_kept AR 1
	check_kept AtriumCore 1
	zdt -b "$BK" verify --all >/dev/null
'

expect_success zdt-test 'a newer leftover does not count as the newest complete snapshot' '
	make_aged AR
	# a copy of the newest snapshot, as the leftover of a backup started now
	cp -a "$BK/AR/$(age_id 1)" "$BK/AR/$(date -u +%Y%m%dT%H%M%SZ)-01.partial"
	check_eq "partial AR snapshots" 1 "$(nstate AR partial)"
	zdt -b "$BK" cleanup --older-than 1m
	check_kept AR 1
	rm -rf "$BK"
	make_aged AR
	cp -a "$BK/AR/$(age_id 1)" "$BK/AR/$(date -u +%Y%m%dT%H%M%SZ)-01.partial"
	zdt -b "$BK" cleanup --keep-last 2
	check_kept AR 30 1
'

expect_success zdt-test '--keep-last 2 keeps the 2 newest of each component' '
	make_aged AR AtriumCore
	zdt -b "$BK" cleanup --keep-last 2
	check_kept AR 30 1
	check_kept AtriumCore 30 1
	zdt -b "$BK" cleanup --keep-last 1 -c AtriumCore
	check_kept AR 30 1
	check_kept AtriumCore 1
'

expect_success zdt-test '--older-than with --keep-last keeps what either rule keeps' '
	make_aged AR AtriumCore
	cp -a "$BK" bk.orig
	zdt -b "$BK" cleanup --older-than 48h --keep-last 3
	check_kept AR 60 30 1
	check_kept AtriumCore 60 30 1
	rm -rf "$BK" && cp -a bk.orig "$BK"
	zdt -b "$BK" cleanup --keep-last 1 --older-than 100h
	check_kept AR 60 30 1
	check_kept AtriumCore 60 30 1
'

expect_success zdt-test '--all -c AR removes every AR snapshot and no AtriumCore one' '
	make_aged AR AtriumCore
	zdt -b "$BK" cleanup --all -c AR
	check_kept AR
	check_kept AtriumCore $AGES
	zdt -b "$BK" cleanup --all
	check_kept AtriumCore
'

expect_success zdt-test '--completed AtriumCore removes AtriumCore and AR, not AtriumIntegrator' '
	make_aged AR AtriumCore AtriumIntegrator
	cp -a "$BK" bk.orig
	zdt -b "$BK" cleanup --completed AtriumCore
	check_kept AR
	check_kept AtriumCore
	check_kept AtriumIntegrator $AGES
	grep "command=cleanup components=AR,AtriumCore " "$BK/audit.log" >/dev/null

	rm -rf "$BK" && cp -a bk.orig "$BK"
	zdt -b "$BK" cleanup --completed AR
	check_kept AR
	check_kept AtriumCore $AGES
	check_kept AtriumIntegrator $AGES

	rm -rf "$BK" && cp -a bk.orig "$BK"
	zdt -b "$BK" cleanup --completed ai
	check_kept AR
	check_kept AtriumCore
	check_kept AtriumIntegrator
'

expect_success zdt-test 'no policy option: cleanup-older-than from the config, else 48h' '
	make_aged AR AtriumCore
	cp -a "$BK" bk.orig
	printf "# the wait before an upgrade is marked done\ncleanup-older-than = 100h\n" >100h.conf
	zdt --config 100h.conf -b "$BK" cleanup
	check_kept AR 60 30 1
	check_kept AtriumCore 60 30 1

	# an explicit policy replaces the config one
	rm -rf "$BK" && cp -a bk.orig "$BK"
	zdt --config 100h.conf -b "$BK" cleanup --keep-last 1
	check_kept AR 1
	check_kept AtriumCore 1

	# cleanup-keep-last is applied along with cleanup-older-than
	rm -rf "$BK" && cp -a bk.orig "$BK"
	printf "cleanup-older-than = 2h\ncleanup-keep-last = 3\n" >kl.conf
	ZDT_CONFIG=$PWD/kl.conf zdt -b "$BK" cleanup
	check_kept AR 60 30 1
	check_kept AtriumCore 60 30 1

	# an empty config file ($ZDT_CONFIG, set by lib.sh): the default 48h
	rm -rf "$BK" && cp -a bk.orig "$BK"
	test -f "$ZDT_CONFIG" && test ! -s "$ZDT_CONFIG"
	zdt -b "$BK" cleanup
	check_kept AR 30 1
	check_kept AtriumCore 30 1

	rm -rf "$BK" && cp -a bk.orig "$BK"
	zdt --config /dev/null -b "$BK" cleanup
	check_kept AR 30 1
	check_kept AtriumCore 30 1
'

expect_success zdt-test '--dry-run deletes nothing and says what it would delete' '
	make_aged AR AtriumCore
	# and the leftover of an interrupted backup (no meta yet)
	mkdir "$BK/AR/20200101T000000Z-01.partial"
	echo half >"$BK/AR/20200101T000000Z-01.partial/archive.tar"
	"$ZDT" -b "$BK" --json list >list.before
	(cd "$BK" && find . -path ./audit.log -prune -o -path ./.lock -prune -o -printf "%y %m %s %T@ %C@ %i %p\n" | sort) >stamp.before
	zdt -b "$BK" cleanup --older-than 48h --dry-run >out 2>err
	"$ZDT" -b "$BK" --json list >list.after
	(cd "$BK" && find . -path ./audit.log -prune -o -path ./.lock -prune -o -printf "%y %m %s %T@ %C@ %i %p\n" | sort) >stamp.after
	cmp list.before list.after
	diff stamp.before stamp.after
	cat out err >all
	for h in 200 60; do
		check_grep "AR.* $(age_id $h)|$(age_id $h).*AR" all
		check_grep "AtriumCore.* $(age_id $h)|$(age_id $h).*AtriumCore" all
	done
	check_grep "20200101T000000Z-01" all
	for h in 30 1; do
		check_no_grep "(delete|remove).*$(age_id $h)" all
	done
	zdt -b "$BK" --json cleanup --older-than 48h -n >j.json
	test "$(json_get j.json "d[\"dry_run\"]")" = true
	test "$(json_get j.json "d[\"removed_count\"]")" = 4
	test "$(json_get j.json "d[\"leftovers_removed\"]")" = 1
	"$ZDT" -b "$BK" --json list >list.after
	cmp list.before list.after
'

expect_success zdt-test '--json: the document of what was removed and kept' '
	make_aged AR AtriumCore
	"$ZDT" -b "$BK" --json list >list.json
	zdt -b "$BK" --json cleanup --older-than 48h >j.json 2>err
	test ! -s err
	python3 - j.json list.json "$(age_id 200) $(age_id 60)" "$(age_id 30) $(age_id 1)" <<-\EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	snaps = json.load(open(sys.argv[2]))["snapshots"]
	gone, kept = sys.argv[3].split(), sys.argv[4].split()
	assert d["command"] == "cleanup", d
	assert d["ok"] is True and d["dry_run"] is False, d
	pairs = lambda l: sorted((x["component"], x["id"]) for x in l)
	want_removed = sorted((c, i) for c in ("AR", "AtriumCore") for i in gone)
	want_kept = sorted((c, i) for c in ("AR", "AtriumCore") for i in kept)
	assert pairs(d["removed"]) == want_removed, d["removed"]
	assert pairs(d["kept"]) == want_kept, d["kept"]
	assert d["removed_count"] == 4 and d["kept_count"] == 4, d
	assert d["leftovers_removed"] == 0, d
	freed = sum(s["archive_bytes"] for s in snaps if (s["component"], s["id"]) in want_removed)
	assert freed > 0 and d["freed_bytes"] == freed, (d["freed_bytes"], freed)
	EOF
	check_kept AR 30 1
'

expect_success zdt-test 'quiet on success; -v says what it deleted and sums up; the audit log has each run' '
	make_aged AR AtriumCore
	cp -a "$BK" bk.orig
	n0=$(ends_ok)
	zdt -b "$BK" cleanup --older-than 48h >out 2>err
	test ! -s out
	test ! -s err
	check_eq "cleanup runs ended ok in the audit log" $((n0 + 1)) "$(ends_ok)"
	check_grep "command=cleanup components=AR,AtriumCore,AtriumIntegrator .*event=end exit=0" "$BK/audit.log"
	# nothing left to do: still quiet
	zdt -b "$BK" cleanup --older-than 48h >out 2>err
	test ! -s out
	test ! -s err

	rm -rf "$BK" && cp -a bk.orig "$BK"
	zdt -b "$BK" -v cleanup --older-than 48h >out 2>err
	cat out err >all
	for h in 200 60; do
		check_grep "AR.* $(age_id $h)" all
		check_grep "AtriumCore.* $(age_id $h)" all
	done
	check_grep "(deleted|removed) 4 snapshots" all
	check_kept AR 30 1
'

# ---- leftovers ----------------------------------------------------------

expect_success inject 'the leftover of a killed backup goes with any cleanup; --dry-run reports it' '
	mkdir one && echo data >one/file
	zdt -b "$BK" backup -c AR one >/dev/null
	keep_id=$(newest AR)
	# killed at its 5th archive write (pwrite64, of 8): the tiny tree will do, the small one
	# takes seconds to copy
	gen_tree tree
	must_fail 137 inject pwrite64:signal=KILL:when=5 "$ZDT" -b "$BK" backup -c AR tree
	part=$(cd "$BK/AR" && ls -d *.partial)
	test -n "$part" && test -d "$BK/AR/$part"
	check_eq "partial AR snapshots" 1 "$(nstate AR partial)"
	cp -a "$BK/AR/$part" saved.partial

	zdt -b "$BK" cleanup --dry-run --older-than 1000w >out 2>err
	check_grep "${part%.partial}" out
	test -d "$BK/AR/$part"

	for policy in "" "--older-than 1000w" "--keep-last 5" "-c AR --older-than 1m" "--json --keep-last 1"; do
		[ -d "$BK/AR/$part" ] || cp -a saved.partial "$BK/AR/$part"
		zdt -b "$BK" cleanup $policy >out
		test ! -e "$BK/AR/$part"
		check_eq "partial AR snapshots after cleanup $policy" 0 "$(nstate AR partial)"
		check_eq "AR snapshots after cleanup $policy" "$keep_id" "$(ids AR)"
		check_eq "entries of $BK/AR" "$keep_id" "$(ls -A "$BK/AR")"
	done
	test "$(json_get out "d[\"leftovers_removed\"]")" = 1
	test "$(json_get out "d[\"removed_count\"]")" = 0

	for policy in "--all" "--completed AtriumCore"; do
		cp -a saved.partial "$BK/AR/$part"
		zdt -b "$BK" cleanup $policy
		check_eq "AR snapshots after cleanup $policy" "" "$(ids AR)"
		check_eq "entries of $BK/AR" "" "$(ls -A "$BK/AR")"
		zdt -b "$BK" backup -c AR one >/dev/null
	done
'

# ---- an interrupted rollback --------------------------------------------

expect_success zdt-test,inject 'a snapshot that an interrupted rollback needs survives every policy' '
	gen_tree src
	T0=$(date +%s)
	# old: 5h old, complete; id: 3h old, which the rollback restores
	ZDT_TEST_NOW=$((T0 - 5 * 3600)) zdt-test -b "$BK" backup -c AR src >/dev/null
	ZDT_TEST_NOW=$((T0 - 3 * 3600)) zdt-test -b "$BK" backup -c AR src >/dev/null
	old=$(age_id 5) id=$(age_id 3)
	check_eq "AR snapshots" "$old $id" "$(ids AR)"
	"$ZDT_SRC/scripts/mutate-tree" src 30 7 >/dev/null
	# kill -9 the rollback at its 5th rename (of the rename call it uses)
	for sc in renameat2 renameat rename; do
		rc=0
		inject $sc:signal=KILL:when=5 "$ZDT" -b "$BK" rollback -c AR >/dev/null 2>&1 || rc=$?
		[ ! -e "$BK/AR/$id/rollback.journal" ] || break
		check_eq "exit of a rollback not killed at $sc (killed: it left no journal)" 0 "$rc"
		"$ZDT_SRC/scripts/mutate-tree" src 30 8 >/dev/null
	done
	test -f "$BK/AR/$id/rollback.journal"
	check_eq "rollback killed" 137 "$rc"
	check_eq "rollback-interrupted AR snapshots" "$id" "$(ids AR rollback-interrupted)"
	zdt -b "$BK" list >list.out
	check_grep "$id .*rollback-interrupted" list.out
	# new: a newer complete snapshot (of the half-rolled-back tree)
	sleep 1
	zdt -b "$BK" backup -c AR src >/dev/null
	new=$(newest AR)
	test "$new" != "$id"

	# old and not the newest, yet kept; the older complete one goes
	zdt -b "$BK" cleanup --older-than 1m >out 2>err
	cat out err >all
	check_grep "$id.*interrupted rollback" all
	check_eq "AR snapshots" "$id $new" "$(ids AR)"
	test -f "$BK/AR/$id/rollback.journal"

	zdt -b "$BK" cleanup --keep-last 1 >out 2>err
	check_eq "AR snapshots after cleanup --keep-last 1" "$id $new" "$(ids AR)"
	for policy in "--all" "--completed AR" "--all -c AR"; do
		rc=0
		zdt -b "$BK" cleanup $policy >out 2>err || rc=$?
		test $rc = 0 || test $rc = 3
		cat out err >all
		check_grep "$id.*interrupted rollback" all
		check_eq "AR snapshots after cleanup $policy" "$id" "$(ids AR)"
		test -f "$BK/AR/$id/archive.tar"
		test -f "$BK/AR/$id/manifest"
		[ -d "$BK/AR/$new" ] || zdt -b "$BK" backup -c AR src >/dev/null
		new=$(newest AR)
	done
	zdt -b "$BK" --json cleanup --all >j.json || :
	python3 - j.json "$id" "$new" <<-\EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert [x["id"] for x in d["kept"]] == [sys.argv[2]], d
	assert [x["id"] for x in d["removed"]] == [sys.argv[3]], d
	EOF
	zdt -b "$BK" list >list.out
	check_grep "$id .*rollback-interrupted" list.out
	zdt -b "$BK" verify --snapshot "$id" >/dev/null

	# once the rollback is finished, the snapshot can go
	zdt -b "$BK" rollback -c AR >/dev/null 2>&1
	test ! -e "$BK/AR/$id/rollback.journal"
	zdt -b "$BK" cleanup --all
	check_eq "AR snapshots" "" "$(ids AR)"
'

# ---- symlinks -----------------------------------------------------------

expect_success 'symlinks planted in the backup folder are never followed' '
	mkdir src && echo data >src/file
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" backup -c AtriumCore src >/dev/null
	id=$(newest AR)
	mkdir outside outside2 outside3
	for d in outside outside2 outside3; do
		echo "sentinel $d" >$d/sentinel
		mkdir $d/sub && echo deep >$d/sub/file
	done
	# the outside folders look like snapshots, so that following a link
	# would find something to delete
	cp -a "$BK/AR/$id/." outside2/
	cp -a "$BK/AR/$id/." outside3/
	ln -s "$PWD/outside" "$BK/AR/$id/evil"
	ln -s "$PWD/outside/sentinel" "$BK/AR/$id/evil-file"
	ln -s "$PWD/outside2" "$BK/AR/20200101T000000Z-01"
	ln -s "$PWD/outside3" "$BK/AR/20200101T000000Z-02.partial"
	for d in outside outside2 outside3; do tree_stamp $d >$d.stamp; done
	rc=0
	zdt -b "$BK" cleanup --all >out 2>err || rc=$?
	test $rc -lt 128
	for d in outside outside2 outside3; do
		tree_stamp $d >$d.now
		diff $d.stamp $d.now
	done
	test "$(cat outside/sentinel)" = "sentinel outside"
	# the real snapshots are gone, the planted links in them with them
	test ! -e "$BK/AR/$id" && test ! -L "$BK/AR/$id"
	check_eq "complete AR snapshots" "" "$(ids AR complete)"
	check_eq "AtriumCore snapshots" "" "$(ids AtriumCore)"
	# the next run does not trip over what is left either
	rc=0
	zdt -b "$BK" cleanup --all >out 2>err || rc=$?
	test $rc -lt 128
	for d in outside outside2 outside3; do
		tree_stamp $d >$d.now
		diff $d.stamp $d.now
	done
'

expect_success 'a component folder that is a symlink: nothing outside touched, the link named' '
	mkdir src && echo data >src/file
	zdt -b "$BK" backup -c AR src >/dev/null
	id=$(newest AR)
	mkdir -p outside
	cp -a "$BK/AR/$id" outside/
	echo sentinel >outside/sentinel
	ln -s "$PWD/outside" "$BK/AtriumIntegrator"
	tree_stamp outside >stamp.before
	rc=0
	zdt -b "$BK" cleanup --all >out 2>err || rc=$?
	test $rc -lt 128
	tree_stamp outside >stamp.after
	diff stamp.before stamp.after
	test -L "$BK/AtriumIntegrator"
	# the message names the offending link, not only the backup folder
	check_grep "$BK/AtriumIntegrator" err
'

expect_success 'a backup folder path through a symlink: exit 3, nothing deleted' '
	mkdir src && echo data >src/file
	zdt -b "$BK" backup -c AR src >/dev/null
	id=$(newest AR)
	ln -s bk bklink
	must_fail 3 zdt -b "$PWD/bklink" cleanup --all 2>err
	check_grep "bklink" err
	check_eq "AR snapshots" "$id" "$(ids AR)"
'

# ---- the lock -----------------------------------------------------------

expect_success inject 'a running backup holds the lock: refused (exit 3, its pid), --wait waits' '
	# a backup of the tiny tree slowed down to ~4 s: 200 reads of 20 ms
	gen_tree tree
	strace -f -o /dev/null -e trace=pread64,read -e inject=pread64,read:delay_enter=20000 \
		"$ZDT" -b "$BK" backup -c AR tree >bk.out 2>bk.err &
	bg=$!
	when_finished "kill $bg 2>/dev/null; :"
	lpid=
	for i in $(seq 200); do
		if [ -s "$BK/.lock" ]; then
			read -r lpid lcmd <"$BK/.lock" || :
			case "$lpid" in
			"" | *[!0-9]* | $bg) lpid= ;;
			*) grep -q backup /proc/$lpid/cmdline 2>/dev/null && break || lpid= ;;
			esac
		fi
		sleep 0.05
	done
	test -n "$lpid"
	when_finished "kill -9 $lpid 2>/dev/null; :"
	children $bg | tr " " "\n" | grep -qx "$lpid"

	must_fail 3 zdt -b "$BK" cleanup --all 2>err
	check_grep "$lpid" err
	check_grep "backup" err
	rc=0
	zdt -b "$BK" --json cleanup --all >j.json 2>err || rc=$?
	check_eq "exit of cleanup --json" 3 "$rc"
	test "$(json_get j.json "d[\"ok\"]")" = false
	t0=$(date +%s%N)
	must_fail 3 zdt -b "$BK" cleanup --all --wait 1 2>err
	test $(( ($(date +%s%N) - t0) / 1000000 )) -ge 900
	check_grep "$lpid" err
	kill -0 $lpid
	test -n "$(ls -d "$BK"/AR/*.partial)"

	# --older-than 1000w: shows the wait without deleting the new snapshot
	zdt -b "$BK" cleanup --older-than 1000w --wait 120 >out 2>err
	test ! -s err
	# the backup had finished when cleanup got the lock
	check_eq "complete AR snapshots" 1 "$(nstate AR complete)"
	check_eq "partial AR snapshots" 0 "$(nstate AR partial)"
	wait $bg
	check_grep "$(newest AR)" bk.out
	zdt -b "$BK" verify --all >/dev/null

	# and now that nobody holds it, --all --wait goes ahead at once
	zdt -b "$BK" cleanup --all --wait 120
	check_eq "AR snapshots" "" "$(ids AR)"
'

expect_success inject 'a running verify (shared lock) holds cleanup off too' '
	gen_tree src
	zdt -b "$BK" backup -c AR src >/dev/null
	id=$(newest AR)
	# ~20 reads (manifest and archive of a tiny tree) of 200 ms: ~4 s
	strace -f -o /dev/null -e trace=read -e inject=read:delay_enter=200000 \
		"$ZDT" -b "$BK" verify --snapshot "$id" >v.out 2>v.err &
	bg=$!
	when_finished "kill $bg 2>/dev/null; :"
	vpid=
	for i in $(seq 200); do
		vpid=$(children $bg | tr " " "\n" | grep . | head -n 1)
		[ -z "$vpid" ] || ! grep -q verify /proc/$vpid/cmdline 2>/dev/null || break
		vpid=
		sleep 0.05
	done
	test -n "$vpid"
	when_finished "kill -9 $vpid 2>/dev/null; :"
	# until it has the lock file open (it takes the lock right after)
	for i in $(seq 200); do
		! ls -l /proc/$vpid/fd 2>/dev/null | grep -q "/\.lock\$" || break
		sleep 0.05
	done
	sleep 0.2
	must_fail 3 zdt -b "$BK" cleanup --all 2>err
	kill -0 $vpid
	check_eq "AR snapshots" "$id" "$(ids AR)"
	zdt -b "$BK" cleanup --all --wait 60
	wait $bg
	check_eq "AR snapshots" "" "$(ids AR)"
'

# ---- usage errors -------------------------------------------------------

expect_success 'usage errors: exit 2 naming the option, nothing deleted' '
	mkdir src && echo data >src/file
	zdt -b "$BK" backup -c AR src >/dev/null
	id=$(newest AR)
	# every case is checked, failing ones listed at the end
	bad=
	u() { # EXPECTED-IN-MESSAGE ARGS...
		local want=$1
		shift
		if ! must_fail 2 zdt -b "$BK" cleanup "$@" 2>err || ! check_grep "^zdt: cleanup: .*$want" err; then
			bad="$bad [cleanup $*]"
		fi
	}
	u "--keep-last.*0" --keep-last 0
	u "--keep-last.*x" --keep-last x
	u "--keep-last.*1001" --keep-last 1001
	u "--older-than.*48" --older-than 48
	u "--older-than.*1y" --older-than 1y
	u "--older-than.*-1h" --older-than -1h
	u "--all" --all --keep-last 2
	u "--keep-last" --all --keep-last 2
	u "--all" --all --older-than 48h
	u "--completed" --completed AR --all
	u "--completed.*foo" --completed foo
	grep -q AtriumIntegrator err || bad="$bad [--completed foo: valid names]"
	u "-c|--component" --completed AR -c AR
	u "foo" -c foo --all
	u "unexpected.*extra" --all extra
	u "--wait.*x" --all --wait x
	u "--frobnicate" --frobnicate
	u "--older-than" --older-than
	u "--keep-last" --keep-last
	u "--completed" --completed
	u "--wait" --all --wait
	check_eq "usage errors not as expected" "" "$bad"
	check_eq "AR snapshots" "$id" "$(ids AR)"
	test -d "$BK/AR/$id"
'

# ---- deletion cut short -------------------------------------------------

expect_success inject 'kill -9 during the deletion: nothing half-deleted looks complete; the next run finishes' '
	gen_tree src
	snaps_tiny 3
	cp -a "$BK" bk-count
	calls=$(syscall_count unlinkat "$ZDT" -b "$PWD/bk-count" cleanup --all)
	test "$calls" -ge 8
	rm -rf "$BK" bk-count
	# a snapshot folder holds 3 files (archive, manifest, meta): kill -9
	# at the 2nd and the 7th unlinkat cut into the 1st and the 2nd snapshot
	for n in 2 7; do
		[ -d "$BK" ] || snaps_tiny 3
		must_fail 137 inject unlinkat:signal=KILL:when=$n "$ZDT" -b "$BK" cleanup --all
		test "$(ids AR | wc -w)" -le 3
		check_complete_verify
		if [ $n = 2 ]; then
			# the next backup removes the half-deleted snapshot too
			zdt -b "$BK" backup -c AR src >/dev/null
			check_eq "partial AR snapshots after a backup" 0 "$(nstate AR partial)"
			check_complete_verify
		fi
		zdt -b "$BK" cleanup --all
		check_eq "AR snapshots" "" "$(ids AR)"
		check_eq "entries of $BK/AR" "" "$(ls -A "$BK/AR")"
		rm -rf "$BK"
	done
'

# ---- damage -------------------------------------------------------------

expect_success 'a snapshot folder whose meta is damaged is removed by cleanup --all' '
	mkdir src && echo data >src/file
	zdt -b "$BK" backup -c AR src >/dev/null
	id=$(newest AR)
	: >"$BK/AR/$id/meta"
	zdt -b "$BK" cleanup --all >out 2>err || :
	check_eq "AR snapshots in list" "" "$(ids AR)"
	test ! -e "$BK/AR/$id"
'

test_done

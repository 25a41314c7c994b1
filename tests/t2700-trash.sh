#!/bin/bash
# t2700-trash: a differential rollback renames each file it replaces into a
# trash folder of the install folder (.zdt-rb.trash.PID) and its worker
# threads unlink them there while it goes on (on a file system mounted with
# discard, unlink waits for the device).  The trash is gone when the run
# ends; one left by a killed or failed run is removed by the rerun; a file
# on another file system mounted inside the install folder is unlinked in
# place (rename into the trash: EXDEV).  From an uncompressed snapshot the
# plain files' data is read at the archive offsets the manifest records
# (the check of every header before streams the archive once).
. "$(dirname "$0")/lib.sh"
require python3 xxhsum
need_mutate

# no_trash: nothing of a rollback's own is left in src
no_trash() {
	check_eq "leftovers" "" "$(find src -name '.zdt-rb.*')"
}

expect_success 'the replaced files are unlinked by the writer threads; no trash is left; the tree equals the snapshot' '
	setup_src small
	"$MUTATE" src 30 7 >/dev/null
	zdt -v -b "$BK" rollback -c AR >out 2>err
	check_grep "^AR: [1-9][0-9]* replaced files unlinked by [12] writer threads*$" err
	no_trash
	same_tree pristine src
	# nothing to replace, no trash made
	zdt -v -b "$BK" rollback -c AR >out 2>err
	check_no_grep "replaced files" err
'

if command -v strace >/dev/null && [ -z "$ZDT_VALGRIND" ]; then
	# unlinks: the most unlinkat calls of one thread in a traced rollback
	# (a writer thread: strace counts inject when= per thread)
	unlinks() {
		"$MUTATE" src 30 7 >/dev/null
		syscall_count_thread unlinkat "$ZDT" -b "$BK" rollback -c AR
	}

	expect_success 'EIO on an unlink in the trash: exit 1, one line naming the trash and a hint; the rerun removes it and finishes' '
		setup_src small
		nu=$(unlinks)
		test "$nu" -ge 20
		"$MUTATE" src 30 7 >/dev/null
		must_fail 1 strace -f -o /dev/null -e trace=unlinkat \
			-e inject=unlinkat:error=EIO:when=$((nu / 2)) "$ZDT" -b "$BK" rollback -c AR 2>err
		check_eq "lines" 2 "$(wc -l <err)"
		check_grep "^zdt: rollback: cannot remove: .$PWD/src/\.zdt-rb\.trash\.[0-9]*.: Input/output error$" err
		check_grep "^hint: fix the cause, then run the same rollback again to finish it$" err
		check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
		zdt -b "$BK" rollback -c AR >/dev/null
		check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
		no_trash
		same_tree pristine src
	'

	expect_success 'kill -9 while the trash is being emptied: the rerun removes it and finishes' '
		setup_src small
		nu=$(unlinks)
		"$MUTATE" src 30 7 >/dev/null
		must_fail 137 strace -f -o /dev/null -e trace=unlinkat \
			-e inject=unlinkat:signal=KILL:when=$((nu / 2)) "$ZDT" -b "$BK" rollback -c AR
		test -n "$(find src -maxdepth 1 -name ".zdt-rb.trash.*")"
		check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
		zdt -b "$BK" rollback -c AR >/dev/null
		no_trash
		same_tree pristine src
	'

	expect_success 'uncompressed: plain files are read at their offsets (pread); the archive is streamed at most once' '
		setup_src small
		"$MUTATE" src 30 7 >/dev/null
		strace -f -o trace -e trace=read,pread64 "$ZDT" -b "$BK" rollback -c AR >/dev/null
		same_tree pristine src
		size=$(stat -c %s "$(snap_archive AR)")
		got=$(awk '"'"'/ read\(/ && $NF ~ /^[0-9]+$/ { n += $NF } END { print n + 0 }'"'"' trace)
		np=$(grep -c " pread64(" trace)
		echo "# archive $size bytes, read(2) $got bytes, $np preads" >&9
		test "$np" -ge 50
		test "$got" -le "$size"
	'

	expect_success 'SIGTERM to the process while the workers empty the trash: exit 143 (the workers take no signal), the rerun finishes' '
		setup_src small
		"$MUTATE" src 30 7 >/dev/null
		strace -f -o /dev/null -e trace=unlinkat -e inject=unlinkat:delay_enter=20000 \
			"$ZDT" -b "$BK" rollback -c AR >out 2>err &
		spid=$!
		when_finished "kill $spid 2>/dev/null || :"
		for i in $(seq 400); do
			test -n "$(find src -maxdepth 1 -name ".zdt-rb.trash.*")" && break
			sleep 0.05
		done
		zpid=$(children $spid | awk "{print \$1}")
		test -n "$zpid"
		kill -TERM "$zpid"
		rc=0
		wait $spid || rc=$?
		check_eq "exit of the signalled rollback" 143 $rc
		check_grep "interrupted by SIGTERM" err
		check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
		zdt -b "$BK" rollback -c AR >/dev/null
		no_trash
		same_tree pristine src
	'
fi

expect_success root,mount,umount 'a file system mounted inside the install folder: its replaced files are unlinked in place' '
	gen_tree src
	mkdir src/mnt
	mount -t tmpfs -o size=20m tmpfs src/mnt
	when_finished "umount \"$PWD/src/mnt\""
	cp -a src/bin/. src/mnt/
	touch -d @1200000000 src/mnt
	zdt -b "$BK" backup -c AR src >/dev/null
	fast_sum src >sum.before
	find src/mnt -type f | head -n 5 >changed
	test -s changed
	while read -r f; do echo upgraded >"$f"; done <changed
	zdt -v -b "$BK" rollback -c AR >out 2>err
	fast_sum src >sum.now
	cmp sum.before sum.now
	no_trash
	zdt -b "$BK" diff -c AR --checksum >/dev/null
'

test_done

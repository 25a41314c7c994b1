#!/bin/bash
# t1200-faults: backups killed, interrupted, or failing on ENOSPC / EIO.
#
# Faults come from strace (-e inject=SYSCALL:signal=KILL|error=E:when=N),
# which works on the static release binary.  The install tree is the `small`
# scale (~150 MB); after each fault it is compared with tree_stamp (type,
# mode, owner, size, mtime, ctime, inode of every path: any write to it
# changes a ctime) because tests/treesum.sh takes half a minute on it.
. "$(dirname "$0")/lib.sh"
require strace python3 mount umount
[ -z "$ZDT_VALGRIND" ] || skip_all "fault injection with strace under valgrind is too slow"

# the complete snapshots of AR, one ID a line
complete_ids() {
	"$ZDT" -b "$BK" --json list -c AR | python3 -c '
import json, sys
for s in json.load(sys.stdin)["snapshots"]:
    if s["state"] == "complete":
        print(s["id"])'
}

# check_after_fault IDS_BEFORE: no new complete snapshot, the install tree
# untouched (the earlier snapshot is verified at the end of each test:
# damage done to it would last)
check_after_fault() {
	complete_ids >ids.now
	if ! cmp -s "$1" ids.now; then
		echo "check_after_fault: complete snapshots changed:" >&9
		diff "$1" ids.now | sed 's/^/    /' >&9
		return 1
	fi
	tree_stamp "$SRC" >stamp.now
	if ! cmp -s stamp.before stamp.now; then
		echo "check_after_fault: the install tree changed:" >&9
		diff stamp.before stamp.now | head -n 20 | sed 's/^/    /' >&9
		return 1
	fi
}

# check_first_verifies: the snapshot made before the faults is intact
check_first_verifies() {
	zdt -b "$BK" verify -s "$(head -n 1 ids.first)" >/dev/null
}

# check_no_leftovers: the component folder holds the complete snapshots only
check_no_leftovers() {
	complete_ids >ids.now
	ls -A "$BK/AR" >entries
	if ! cmp -s ids.now entries; then
		echo "check_no_leftovers: $BK/AR holds more than the complete snapshots:" >&9
		diff ids.now entries | sed 's/^/    /' >&9
		return 1
	fi
	check_eq "partial snapshots in list" 0 "$(count_state AR partial)"
}

# check_one_error FILE: one error line "zdt: backup: ..." (warnings aside)
check_one_error() {
	check_grep "^zdt: backup: " "$1"
	test "$(grep "^zdt: " "$1" | grep -v -c "^zdt: backup: warning: ")" = 1 || {
		echo "check_one_error: not one error line in $1:" >&9
		sed 's/^/    | /' "$1" >&9
		return 1
	}
}

# fails_injected SYSCALL ERROR WHEN PATTERN: a backup with ERROR injected at
# the WHEN-th SYSCALL exits 1 with one error line matching PATTERN, leaves no
# new snapshot, nothing behind, and the install tree untouched
fails_injected() {
	must_fail 1 strace -f -o /dev/null -e trace=$1 -e inject=$1:error=$2:when=$3 \
		"$ZDT" -b "$BK" backup -c AR "$SRC" >out 2>err
	check_one_error err
	check_grep "$4" err
	check_after_fault ids.before
	check_no_leftovers
}

# fault_setup [SCALE]: $SRC (default: the small tree), one complete
# snapshot, the stamps of $SRC.  As root the backup folder is on a tmpfs: the faults
# are injected at the system calls, and a disk would only add minutes of
# writeback to the runs (the real ENOSPC test below has its own tmpfs)
fault_setup() {
	if [ "$(id -u)" = 0 ]; then
		mkdir bkfs
		mount -t tmpfs -o size=3g,mode=700 tmpfs bkfs
		when_finished "umount '$PWD/bkfs'"
		BK=$PWD/bkfs/bk
	fi
	# the install tree: one copy per file and scale, shared by the tests
	# (none writes to it, and each checks that zdt did not either)
	SRC=$TEST_OUT/src-${1:-small}
	[ -d "$SRC" ] || gen_tree "$SRC" ${1:-small}
	zdt -b "$BK" backup -c AR "$SRC" >/dev/null
	tree_stamp "$SRC" >stamp.before
	complete_ids >ids.before
	cp ids.before ids.first
	test "$(wc -l <ids.before)" = 1
}

# trial_trace: trace.all, the writes, fsyncs and renames of a trial backup
trial_trace() {
	# into a copy of the real backup folder, so that the trial makes the
	# same calls as the runs under test (no folder of its own to create)
	rm -rf "$(dirname "$BK")/trial"
	cp -a "$BK" "$(dirname "$BK")/trial"
	strace -f -y -o trace.all -e trace=write,pwrite64,fsync,fdatasync,rename,renameat,renameat2 \
		"$ZDT" -b "$(dirname "$BK")/trial" backup -c AR "$SRC" >/dev/null 2>&1
	rm -rf "$(dirname "$BK")/trial"
}

# writes_into_snapshot [SYSCALL]: indices K of the SYSCALL (default write)
# calls of the trial backup such that every thread's K-th such call
# (1-based, in its own thread, as strace's when= counts them) that exists
# goes into the snapshot.  The output thread writes the archive with
# pwrite64, the main thread the manifest (and messages) with write.
writes_into_snapshot() {
	awk -v sc="${1:-write}" '/ resumed>/ { next }
	     index($2, sc "(") == 1 { k = ++n[$1]; if (k > max) max = k; if ($0 !~ /\.partial\//) bad[k] = 1; seen[k] = 1 }
	     END { for (k = 1; k <= max; k++) if (seen[k] && !bad[k]) print k }' trace.all
}

# calls SYSCALL: how many times the trial backup called it
calls() {
	grep -c " $1(" trace.all || :
}

# rename_call: the rename system call the binary uses
rename_call() {
	local s
	for s in renameat2 renameat rename; do
		[ "$(calls $s)" = 0 ] || { echo $s; return 0; }
	done
	return 1
}

# fsyncs_after_publish: indices of the fsync calls made after the snapshot
# folder was renamed from ID.partial to ID (the snapshot is complete then)
fsyncs_after_publish() {
	awk '/ fsync\(/ { n++; if (pub) print n } / rename(at2?)?\(.*\.partial", / { pub = 1 }' trace.all
}

# spread: first, second, middle and last of a list of numbers
spread() {
	awk '{ v[NR] = $1 } END { if (NR) print v[1]; if (NR > 1) print v[2]; print v[int((NR + 1) / 2)]; print v[NR] }' | sort -n -u
}

expect_success 'kill -9 at writes: no complete snapshot, install untouched, next backup cleans up' '
	fault_setup
	trial_trace
	writes_into_snapshot write >w.write
	writes_into_snapshot pwrite64 >w.pwrite64
	test $(wc -l <w.write) -ge 2
	test $(wc -l <w.pwrite64) -ge 10
	tried=0
	for sc in write pwrite64; do
		for n in 1 $(spread <w.$sc); do
			must_fail 137 strace -f -o /dev/null -e trace=$sc -e inject=$sc:signal=KILL:when=$n \
				"$ZDT" -b "$BK" backup -c AR "$SRC"
			check_after_fault ids.before
			zdt -b "$BK" backup -c AR "$SRC" >/dev/null
			check_no_leftovers
			complete_ids >ids.before
			tried=$((tried + 1))
		done
	done
	check_eq "complete snapshots" $((tried + 1)) "$(wc -l <ids.before)"
	check_first_verifies
'

expect_success 'kill -9 at every fsync and rename: no complete snapshot until it is published' '
	fault_setup tiny
	trial_trace
	nf=$(calls fsync)
	test "$nf" -ge 3
	sc=$(rename_call)
	nr=$(calls $sc)
	fsyncs_after_publish >after
	for spec in $(seq -f "fsync:%g" "$nf") $(seq -f "$sc:%g" "$nr"); do
		must_fail 137 strace -f -o /dev/null -e trace=${spec%:*} \
			-e inject=${spec%:*}:signal=KILL:when=${spec#*:} "$ZDT" -b "$BK" backup -c AR "$SRC"
		if [ "${spec%:*}" = fsync ] && grep -qx "${spec#*:}" after; then
			# killed after the publishing rename: complete, and whole
			zdt -b "$BK" verify >/dev/null
			complete_ids >ids.before
		fi
		check_after_fault ids.before
	done
	# one backup removes all the leftovers
	zdt -b "$BK" backup -c AR "$SRC" >/dev/null
	check_no_leftovers
	check_first_verifies
'

expect_success 'SIGKILL at random moments (timeout -s KILL)' '
	fault_setup
	for t in 0.05 0.1 0.2 0.3 0.5 0.8; do
		rc=0
		timeout -s KILL $t "$ZDT" -b "$BK" backup -c AR "$SRC" >/dev/null 2>&1 || rc=$?
		complete_ids >ids.now
		case $rc in
		137)
			if [ $(wc -l <ids.now) -gt $(wc -l <ids.before) ]; then
				# killed after the publishing rename (the final
				# fsyncs, the audit line): complete, and whole
				test $(wc -l <ids.now) = $(($(wc -l <ids.before) + 1))
				zdt -b "$BK" verify >/dev/null
				cp ids.now ids.before
			fi
			check_after_fault ids.before
			;;
		0) zdt -b "$BK" verify >/dev/null; cp ids.now ids.before ;;
		*) echo "exit $rc"; false ;;
		esac
	done
	zdt -b "$BK" backup -c AR "$SRC" >/dev/null
	check_no_leftovers
	check_first_verifies
'

expect_success 'ENOSPC on a write (manifest) or pwrite (archive): exit 1, one message, nothing left behind' '
	fault_setup
	trial_trace
	for sc in write pwrite64; do
		writes_into_snapshot $sc >w
		test -s w
		for n in $(spread <w); do
			fails_injected $sc ENOSPC $n "^zdt: backup: .*No space left on device"
		done
		# every call failing from the first into the snapshot on (with
		# write, the messages cannot be written either)
		must_fail 1 strace -f -o /dev/null -e trace=$sc -e inject=$sc:error=ENOSPC:when=$(head -n 1 w)+ \
			"$ZDT" -b "$BK" backup -c AR "$SRC"
		check_after_fault ids.before
		check_no_leftovers
	done
	check_first_verifies
'

expect_success 'EIO on each fsync: exit 1, one message, nothing left behind' '
	fault_setup tiny
	trial_trace
	nf=$(calls fsync)
	test "$nf" -ge 3
	for k in $(seq "$nf"); do
		fails_injected fsync EIO $k "^zdt: backup: .*Input/output error"
	done
	check_first_verifies
'

# the flush thread makes the archive durable every 64 MiB while it is
# written; an error it meets fails the backup (the final fsync would not
# hear of it again)
expect_success 'EIO on a flush of the archive (fdatasync): exit 1, one message, nothing left behind' '
	fault_setup
	trial_trace
	# the small tree makes at least one flush (when= counts per thread: the
	# flush thread'"'"'s first, or all of its; the main thread'"'"'s fdatasync of
	# the audit log fails too, which is a warning)
	test "$(grep -c "fdatasync(.*\.partial/archive\.tar>" trace.all)" -ge 1
	for k in 1 1+; do
		fails_injected fdatasync EIO $k "^zdt: backup: cannot write the archive: .*Input/output error"
	done
	check_first_verifies
'

expect_success 'EIO on each rename: exit 1, one message, nothing left behind' '
	fault_setup tiny
	trial_trace
	sc=$(rename_call)
	for k in $(seq "$(calls $sc)"); do
		fails_injected $sc EIO $k "^zdt: backup: .*Input/output error"
	done
	check_first_verifies
'

expect_success root,mount,umount 'a real ENOSPC (free-space check blinded): exit 1, the tmpfs left empty' '
	mkdir mnt
	mount -t tmpfs -o size=4m tmpfs mnt
	when_finished "umount \"$PWD/mnt\""
	SRC=$PWD/src
	gen_tree "$SRC"
	tree_stamp "$SRC" >stamp.before
	must_fail 1 strace -f -o /dev/null -e trace=statfs,fstatfs -e inject=statfs,fstatfs:error=ENOSYS \
		"$ZDT" -b "$PWD/mnt/bk" backup -c AR "$SRC" >out 2>err
	check_grep "^zdt: backup: warning: .*free space" err
	check_one_error err
	check_grep "^zdt: backup: .*No space left on device" err
	(cd mnt/bk && find . -mindepth 1 ! -path ./.lock ! -path ./audit.log) >left
	test ! -s left || { echo "left in the tmpfs:"; cat left; false; }
	tree_stamp "$SRC" >stamp.now
	cmp stamp.before stamp.now
'

for sig in INT:130 TERM:143; do
	expect_success "SIG${sig%:*} during a backup: exit ${sig#*:}, partial data removed" '
		fault_setup
		# 0.1 s per write and pwrite: the backup takes ~15 s unless interrupted
		strace -f -o /dev/null -e trace=write,pwrite64 -e inject=write,pwrite64:delay_enter=100000 \
			"$ZDT" -b "$BK" backup -c AR "$SRC" >out 2>err &
		spid=$!
		when_finished "kill -9 $spid 2>/dev/null || :"
		for i in $(seq 200); do
			ls "$BK/AR" | grep -q "\.partial$" && break
			sleep 0.05
		done
		ls "$BK/AR" | grep -q "\.partial$"
		sleep 0.3
		zpid=$(children $spid | awk "{print \$1}")
		test -n "$zpid"
		kill -'"${sig%:*}"' $zpid
		rc=0
		wait $spid || rc=$?
		check_eq "exit code" '"${sig#*:}"' $rc
		check_grep "^zdt: backup: .*(interrupt|SIG'"${sig%:*}"')" err
		check_after_fault ids.before
		check_no_leftovers
		check_first_verifies
	'
done

test_done

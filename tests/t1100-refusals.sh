#!/bin/bash
# t1100-refusals: the safety checks of backup (exit 3, nothing written).
. "$(dirname "$0")/lib.sh"
require python3

# only_lock_and_log DIR: DIR holds nothing but what a refused run may leave
# (the lock file and the audit log, in DIR itself)
only_lock_and_log() {
	[ -d "$1" ] || return 0
	(cd "$1" && find . -mindepth 1 ! -path ./.lock ! -path ./audit.log) >left
	if [ -s left ]; then
		echo "only_lock_and_log: a refused run left in $1:" >&9
		sed 's/^/    /' left >&9
		return 1
	fi
}

# the one-line message with its hint
check_refusal_message() {
	check_grep "^zdt: backup: " "$1"
	check_grep "^hint: " "$1"
	test $(grep -c "^zdt: " "$1") = 1
}

expect_success 'the backup folder is a symbolic link: refused, the real path suggested' '
	gen_tree src
	mkdir real
	ln -s real bk
	must_fail 3 zdt -b "$PWD/bk" backup -c AR src >out 2>err
	check_refusal_message err
	check_grep "$PWD/bk.*real" err
	check_grep "^hint: .*$PWD/real" err
	only_lock_and_log real
	test "$(ls -A real)" = ""
'

expect_success 'a folder above the backup folder is a symbolic link: refused' '
	gen_tree src
	mkdir -p real/x
	ln -s real lnk
	must_fail 3 zdt -b "$PWD/lnk/x/bk" backup -c AR src >out 2>err
	check_refusal_message err
	check_grep "$PWD/lnk.* -> .*real" err
	check_grep "^hint: .*$PWD/real/x/bk" err
	test "$(ls -A real/x)" = ""
	# a relative -b through the link is the same
	must_fail 3 zdt -b lnk/x/bk backup -c AR src 2>err
	check_grep "lnk.* -> .*real" err
	check_grep "^hint: .*real/x/bk" err
	test "$(ls -A real/x)" = ""
'

expect_success 'the backup folder inside the install folder: refused, install untouched' '
	gen_tree src
	tree_stamp src >before
	must_fail 3 zdt -b "$PWD/src/zdt_backup" backup -c AR src >out 2>err
	check_refusal_message err
	check_grep "src/zdt_backup" err
	must_fail 3 zdt -b "$PWD/src/serverdata/bk" backup -c AR src 2>err
	must_fail 3 zdt -b "$PWD/src" backup -c AR src 2>err
	tree_stamp src >after
	diff before after
	test ! -e src/zdt_backup
'

expect_success 'the install folder inside the backup folder: refused' '
	mkdir bk
	gen_tree bk/src
	tree_stamp bk/src >before
	must_fail 3 zdt -b "$PWD/bk" backup -c AR bk/src >out 2>err
	check_refusal_message err
	only_lock_and_log bk/AR
	test ! -e bk/AR
	must_fail 3 zdt -b "$PWD" backup -c AR "$PWD/bk/src/conf" 2>err
	test ! -e AR
	tree_stamp bk/src >after
	diff before after
'

expect_success root,mount,umount 'no room on the backup file system: refused, needed and available said' '
	mkdir mnt one
	mount -t tmpfs -o size=6m tmpfs mnt
	when_finished "umount \"$PWD/mnt\""
	gen_tree src
	must_fail 3 zdt -b "$PWD/mnt/bk" backup -c AR --reserve 0 src >out 2>err
	check_refusal_message err
	check_grep "need [0-9.]+ (KiB|MiB)" err
	check_grep "[0-9.]+ (KiB|MiB) available" err
	only_lock_and_log mnt/bk
	test "$(ls -A mnt | grep -v "^bk$" || :)" = ""
	# a 1 MiB tree fits without a reserve, not with the default one (64 MiB)
	head -c 1M /dev/urandom >one/f
	must_fail 3 zdt -b "$PWD/mnt/bk" backup -c AR one 2>err
	check_grep "64(\.0+)? MiB" err
	only_lock_and_log mnt/bk
	zdt -b "$PWD/mnt/bk" backup -c AR --reserve 0 one >/dev/null
	id=$(BK=$PWD/mnt/bk snap_id AR)
	# and --reserve makes it refuse again
	must_fail 3 zdt -b "$PWD/mnt/bk" backup -c AR --reserve 4M one 2>err
	check_grep "4(\.0+)? MiB" err
	test "$(ls mnt/bk/AR)" = "$id"
'

expect_success root,mount,umount 'a tree bigger than the backup file system is refused whatever the reserve' '
	mkdir mnt big
	mount -t tmpfs -o size=8m tmpfs mnt
	when_finished "umount \"$PWD/mnt\""
	head -c 9M /dev/urandom >big/f
	must_fail 3 zdt -b "$PWD/mnt/bk" backup -c AR --reserve 0 big >out 2>err
	check_refusal_message err
	check_grep "need 9(\.[0-9]+)? MiB" err
	only_lock_and_log mnt/bk
	must_fail 3 zdt -b "$PWD/mnt/bk" backup -c AR --reserve 0 --compress gzip big 2>err
	only_lock_and_log mnt/bk
'

expect_success flock 'the lock is held (flock): backup and verify refused, nothing written' '
	gen_tree src
	zdt -b "$BK" backup -c AR src >/dev/null
	id=$(snap_id AR)
	flock -o "$BK/.lock" sleep 60 &
	fpid=$!
	when_finished "kill $fpid 2>/dev/null || :"
	while flock -n "$BK/.lock" true; do sleep 0.05; done
	tree_stamp "$BK" | grep -v -e " ./audit.log " -e " ./.lock " >before
	must_fail 3 zdt -b "$BK" backup -c AR src >out 2>err
	check_refusal_message err
	check_grep "in use" err
	must_fail 3 zdt -b "$BK" verify >out 2>err
	check_grep "^zdt: verify: " err
	tree_stamp "$BK" | grep -v -e " ./audit.log " -e " ./.lock " >after
	diff before after
	test "$(ls "$BK/AR")" = "$id"
	# list needs no lock
	zdt -b "$BK" list >/dev/null
	kill $fpid
	wait $fpid || :
	zdt -b "$BK" backup -c AR src >/dev/null
	check_eq snapshots 2 "$(count_complete AR)"
'

expect_success flock 'a shared lock (a verify) blocks backup, not another verify' '
	gen_tree src
	zdt -b "$BK" backup -c AR src >/dev/null
	flock -o -s "$BK/.lock" sleep 60 &
	when_finished "kill $! 2>/dev/null || :"
	while flock -n "$BK/.lock" true; do sleep 0.05; done
	zdt -b "$BK" verify >/dev/null
	must_fail 3 zdt -b "$BK" backup -c AR src 2>err
	check_grep "in use" err
	check_eq snapshots 1 "$(count_complete AR)"
'

expect_success inject 'a running backup holds the lock: the refusal names its pid and command' '
	gen_tree src
	mkdir "$BK"
	# slow the first backup down: 0.2 s per write (manifest) and pwrite (archive)
	strace -f -o /dev/null -e inject=write,pwrite64:delay_enter=200000 "$ZDT" -b "$BK" backup -c AR src >first.out 2>first.err &
	spid=$!
	when_finished "kill $spid 2>/dev/null || :"
	for i in $(seq 1200); do
		ls "$BK/AR" 2>/dev/null | grep -q "\.partial$" && break
		sleep 0.05
	done
	ls "$BK/AR" | grep -q "\.partial$"
	zpid=$(children $spid | awk "{print \$1}")
	test -n "$zpid"
	must_fail 3 zdt -b "$BK" backup -c AtriumCore src >out 2>err
	check_refusal_message err
	check_grep "pid $zpid\b" err
	check_grep "pid $zpid.*zdt backup" err
	must_fail 3 zdt -b "$BK" verify 2>err
	check_grep "pid $zpid\b" err
	test ! -e "$BK/AtriumCore"
	wait $spid
	check_eq "AR snapshots" 1 "$(count_complete AR)"
'

expect_success 'a lock file left by a dead run does not block' '
	gen_tree src
	mkdir -m 700 "$BK"
	sh -c "exit 0" &
	wait $!
	echo "$! zdt backup" >"$BK/.lock"
	chmod 600 "$BK/.lock"
	zdt -b "$BK" backup -c AR src >/dev/null
	check_eq snapshots 1 "$(count_complete AR)"
'

test_done

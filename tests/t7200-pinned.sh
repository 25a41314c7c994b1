#!/bin/bash
# t7200-pinned: each snapshot records the backup folder's real path,
# device and inode; rollback refuses (exit 3) when the folder now
# resolves elsewhere or is another inode (moved, copied, bind-mounted),
# naming both; snapshots without the record are accepted.
. "$(dirname "$0")/lib.sh"
require python3

setup() {
	gen_tree src
	zdt -q -b "$PWD/bk" backup -c AR src
	echo changed >>src/conf/ar.cfg
	tree_stamp src >before
}

expect_success 'meta records backup_dir, backup_dev and backup_ino' '
	setup
	m=$(ls -d bk/AR/*)/meta
	check_eq backup_dir "$(realpath bk)" "$(sed -n "s/^backup_dir=//p" "$m")"
	check_eq backup_ino "$(stat -c %i bk)" "$(sed -n "s/^backup_ino=//p" "$m")"
	check_eq backup_dev "$(stat -c %d bk)" "$(sed -n "s/^backup_dev=//p" "$m")"
	zdt -q -b "$PWD/bk" rollback -c AR
'

expect_success 'a moved backup folder (mv bk bk2, -b bk2): refused, naming both; nothing changed' '
	setup
	mv bk bk2
	must_fail 3 zdt -b "$PWD/bk2" rollback -c AR 2>err
	check_grep "backup folder of AR .* has moved: it was .*/bk. \(device [0-9]+:[0-9]+, inode [0-9]+\) at backup time, now .*/bk2. " err
	must_fail 3 zdt -b "$PWD/bk2" rollback -c AR --check 2>err
	must_fail 3 zdt -b "$PWD/bk2" rollback -c AR --dry-run 2>err
	tree_stamp src >after
	diff before after
	mv bk2 bk
	zdt -q -b "$PWD/bk" rollback -c AR
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

expect_success 'a copy at the same path (another inode): refused' '
	setup
	cp -a bk bk.copy
	rm -rf bk
	mv bk.copy bk
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR 2>err
	check_grep "has moved: it was .*/bk. .*inode [0-9]+\) at backup time, now .*/bk. " err
	tree_stamp src >after
	diff before after
'

expect_success 'a bind mount of the backup folder elsewhere: refused' '
	setup
	mkdir other
	mount --bind bk other
	when_finished "umount \"$PWD/other\" 2>/dev/null; :"
	must_fail 3 zdt -b "$PWD/other" rollback -c AR 2>err
	check_grep "now .*/other. " err
	umount other
	tree_stamp src >after
	diff before after
'

expect_success 'an older snapshot without the record is accepted' '
	setup
	m=$(ls -d bk/AR/*)/meta
	sed -i "/^backup_\(dir\|dev\|ino\)=/d" "$m"
	mv bk bk2
	zdt -q -b "$PWD/bk2" rollback -c AR
	zdt -b "$PWD/bk2" diff -c AR >/dev/null
'

test_done

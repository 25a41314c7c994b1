#!/bin/bash
# t7200-pinned: each snapshot records the backup folder's real path,
# device and inode; rollback refuses (exit 3) when the folder now
# resolves elsewhere or is another inode (moved, copied, bind-mounted),
# naming both; snapshots without the record are accepted;
# --accept-moved-backup-dir goes on, with a warning and an audit line
# naming both places.
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

expect_success 'a moved backup folder with --accept-moved-backup-dir: rolled back, warned, audited; meta unchanged' '
	setup
	m=$(ls -d bk/AR/*)/meta
	id=$(basename "$(dirname "$m")")
	cp "$m" meta.before
	old_ino=$(stat -c %i bk)
	mv bk bk2
	new_ino=$(stat -c %i bk2)
	# the refusal names the way out
	must_fail 3 zdt -b "$PWD/bk2" rollback -c AR 2>err
	check_grep "^hint: .*if you moved or restored it yourself, --accept-moved-backup-dir goes on" err
	# --check and --dry-run accept it too, and change nothing
	zdt -b "$PWD/bk2" rollback -c AR --check --accept-moved-backup-dir >out 2>err
	check_grep "AR: pre-flight ok: 1 change" out
	zdt -b "$PWD/bk2" rollback -c AR --dry-run --accept-moved-backup-dir >/dev/null 2>&1
	tree_stamp src >after
	diff before after
	zdt -b "$PWD/bk2" rollback -c AR --accept-moved-backup-dir >out 2>err
	check_grep "^zdt: rollback: warning: the backup folder of AR $id has moved: it was .$TRASH/bk. \(device [0-9]+:[0-9]+, inode $old_ino\) at backup time, now .$TRASH/bk2. \(device [0-9]+:[0-9]+, inode $new_ino\); going on \(--accept-moved-backup-dir\)$" err
	zdt -b "$PWD/bk2" diff -c AR >/dev/null
	grep "event=accept-moved-backup-dir" bk2/audit.log >audit
	check_eq "audit lines (check, dry run, rollback)" 3 "$(wc -l <audit)"
	check_grep "command=rollback .*event=accept-moved-backup-dir snapshot=AR/$id was=$TRASH/bk was_dev=[0-9]+:[0-9]+ was_ino=$old_ino now=$TRASH/bk2 now_dev=[0-9]+:[0-9]+ now_ino=$new_ino$" audit
	# the rollback itself ended ok
	check_grep "command=rollback .*snapshot=$id event=end exit=0 outcome=ok$" bk2/audit.log
	# the snapshot still records where it was made: the next rollback needs the option again
	cmp meta.before "bk2/AR/$id/meta"
	echo again >>src/conf/ar.cfg
	must_fail 3 zdt -b "$PWD/bk2" rollback -c AR 2>err
'

expect_success 'a copy restored to the same path with --accept-moved-backup-dir: rolled back' '
	setup
	cp -a bk bk.copy
	rm -rf bk
	mv bk.copy bk
	zdt -b "$PWD/bk" rollback -c AR --accept-moved-backup-dir >/dev/null 2>err
	check_grep "has moved: it was .*/bk. .*now .*/bk. .*going on" err
	zdt -b "$PWD/bk" diff -c AR >/dev/null
	check_grep "event=accept-moved-backup-dir snapshot=AR/.* was=$TRASH/bk .* now=$TRASH/bk " bk/audit.log
'

expect_success 'a backup folder that did not move: the option changes nothing, no warning, no audit line' '
	setup
	zdt -b "$PWD/bk" rollback -c AR --accept-moved-backup-dir >out 2>err
	check_no_grep "warning" err
	check_no_grep "accept-moved-backup-dir" bk/audit.log
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

test_done

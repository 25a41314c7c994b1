#!/bin/bash
# t7000-preflight: rollback checks before its first write that the install
# folder's file system is writable and that no path the plan changes (or
# whose folder gets entries created or removed) is immutable or
# append-only; it prints one verdict line; rollback --check runs only the
# pre-flight (exit 0, or the refusal's code; --json).
. "$(dirname "$0")/lib.sh"
require python3

setup() {
	gen_tree src
	zdt -q -b "$PWD/bk" backup -c AR src
	echo changed >>src/conf/ar.cfg
	echo added >src/bin/added-by-upgrade
	tree_stamp src >before
}

# unflag PATH: clear +i/+a after the test, even when it failed
unflag() {
	when_finished "chattr -i -a '$PWD/$1' 2>/dev/null; :"
}

expect_success 'a rollback prints the verdict line before applying' '
	setup
	zdt -b "$PWD/bk" rollback -c AR >out 2>err
	check_grep "^AR: pre-flight ok: 3 changes, [0-9.]+ KiB to write, [0-9.]+ [KMGT]iB free, no busy process$" out
	test "$(grep -n "pre-flight ok" out | cut -d: -f1)" -lt "$(grep -n " rewritten, " out | cut -d: -f1)"
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

expect_success 'rollback --check: exit 0, the verdict, nothing changed; --json' '
	setup
	zdt -b "$PWD/bk" rollback -c AR --check >out 2>err
	check_grep "^AR: pre-flight ok: 3 changes" out
	check_no_grep "rewritten" out
	tree_stamp src >after
	diff before after
	zdt -b "$PWD/bk" --json rollback -c AR --check >out.json 2>err
	json_get out.json "d[\"ok\"] and d[\"check\"] and d[\"components\"][0][\"changes\"] == 3" | grep -qx true
	json_get out.json "d[\"components\"][0][\"verdict\"]" | grep -q "^AR: pre-flight ok: 3 changes"
	json_get out.json "d[\"components\"][0][\"busy\"]" | grep -qx "no busy process"
	tree_stamp src >after
	diff before after
	must_fail 2 zdt -b "$PWD/bk" rollback -c AR --check --dry-run 2>err
	check_grep "exclude each other" err
	# nothing to change: still exit 0
	zdt -q -b "$PWD/bk" rollback -c AR
	zdt -b "$PWD/bk" rollback -c AR --check >out
	check_grep "^AR: pre-flight ok: nothing to change$" out
'

expect_success 'an immutable file the rollback must replace: exit 3 naming it, nothing changed; --check says the same' '
	setup
	unflag src/conf/ar.cfg
	chattr +i src/conf/ar.cfg
	tree_stamp src >before
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR >out 2>err
	check_grep "src/conf/ar.cfg. is immutable \(chattr \+i\): rolling back AR must replace it" err
	check_grep "^hint: .*chattr -i" err
	check_no_grep "pre-flight ok" out
	tree_stamp src >after
	diff before after
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR --check 2>err
	check_grep "is immutable" err
	must_fail 3 zdt -b "$PWD/bk" --json rollback -c AR --check >out.json 2>err
	json_get out.json "d[\"exit\"] == 3 and \"immutable\" in d[\"error\"]" | grep -qx true
	chattr -i src/conf/ar.cfg
	zdt -q -b "$PWD/bk" rollback -c AR
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

expect_success 'an append-only folder where the rollback removes an entry: exit 3 naming the folder' '
	setup
	unflag src/bin
	chattr +a src/bin
	tree_stamp src >before
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR 2>err
	check_grep "src/bin. is append-only \(chattr \+a\): rolling back AR must" err
	tree_stamp src >after
	diff before after
	# its mtime put back first: then the removal of the added file is refused
	chattr -a src/bin
	touch -r bk src/bin
	cat bk/AR/*/manifest | grep " bin$" | cut -d" " -f6 >mt
	touch -d "@$(cat mt)" src/bin
	chattr +a src/bin
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR 2>err
	check_grep "src/bin. is append-only \(chattr \+a\): rolling back AR must create, replace or remove entries in this folder" err
	chattr -a src/bin
'

expect_success 'an immutable file inside a folder the upgrade added (removed whole): exit 3' '
	setup
	mkdir -p src/newdir/deep
	echo x >src/newdir/deep/f
	tree_stamp src >before
	unflag src/newdir/deep/f
	chattr +i src/newdir/deep/f
	tree_stamp src >before
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR 2>err
	check_grep "src/newdir/deep/f. is immutable .*must remove this file" err
	tree_stamp src >after
	diff before after
'

expect_success 'an immutable file the rollback does not touch does not matter' '
	setup
	ls src/lib | head -n 1 >name
	f=src/lib/$(cat name)
	unflag "$f"
	chattr +i "$f"
	zdt -b "$PWD/bk" rollback -c AR >out
	check_grep "pre-flight ok" out
	chattr -i "$f"
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

expect_success 'a symbolic link is never followed to read flags: an immutable file outside does not count' '
	setup
	echo outside >outside
	unflag outside
	chattr +i outside
	ln -s "$PWD/outside" src/bin/link-added
	zdt -q -b "$PWD/bk" rollback -c AR
	test -f outside
	test ! -e src/bin/link-added
'

expect_success 'a read-only install folder file system: exit 3, nothing changed' '
	setup
	mount --bind src src
	when_finished "umount \"$PWD/src\" 2>/dev/null; :"
	mount -o remount,bind,ro src
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR >out 2>err
	check_grep "install folder.s file system is mounted read-only: .*/src" err
	check_grep "^hint: remount it read-write" err
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR --check 2>err
	check_grep "read-only" err
	umount src
	tree_stamp src >after
	diff before after
	zdt -q -b "$PWD/bk" rollback -c AR
'

test_done

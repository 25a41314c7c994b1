#!/bin/bash
# t7400-selftest: zdt selftest on the root file system (its default DIR
# in /var/tmp) and on a tmpfs mounted nosuid,nodev (the setuid bits and the
# device node listed as without effect); as another user (device nodes,
# owners and read-only folders listed as skipped); its verdict, text and
# --json; the default DIR inside the backup folder, whose snapshots, lock
# and audit log stay untouched; the refusal of a DIR that is not new or
# empty or is a symbolic link; --keep; a failing step; and, with the test
# build zdt-test, that a rollback that leaves any one attribute behind
# ($ZDT_TEST_SELFTEST_BREAK) gives FAILED and exit 1.
. "$(dirname "$0")/lib.sh"
require python3

if [ -x "$ZDT_SRC/zdt-test" ]; then
	zdt-test() { "$ZDT_SRC/zdt-test" "$@"; }
else
	echo "# no $ZDT_SRC/zdt-test: the broken-rollback tests are skipped (make zdt-test builds it)"
fi

# tmpfs DIR [OPTIONS]: a tmpfs at DIR, unmounted after the test
tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=200m${2:+,$2}" tmpfs "$1"
	when_finished "umount '$PWD/$1'"
}

# check_json FILE: the selftest document's fixed fields; ok is the last
# expression's value
check_json() {
	python3 - "$1" <<-'EOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["command"] == "selftest", d
	names = [f["name"] for f in d["features"]]
	assert names == ["regular", "empty-file", "big-file", "hardlink", "symlink", "dangling-symlink",
	                 "sparse", "setuid-setgid", "sticky", "posix-acl", "default-acl", "user-xattr",
	                 "fifo", "device", "owner", "odd-names", "empty-folder", "deep-nesting",
	                 "read-only-folder"], names
	for f in d["features"]:
	    assert f["status"] in ("tested", "unsupported", "no-effect"), f
	    assert (f["reason"] is None) == (f["status"] == "tested"), f
	un = [(u["feature"], u["compared"]) for u in d["unsupported"]]
	assert un == [(f["name"], f["status"] == "no-effect") for f in d["features"] if f["status"] != "tested"], un
	assert d["verdict"].startswith("selftest: ok (" if d["ok"] else "selftest: FAILED: "), d["verdict"]
	assert (d["error"] is None) == d["ok"], d
	assert set(d["file_system"]) == {"type", "mount_options", "device"}, d
	for s in d["steps"]:
	    assert set(s) == {"name", "args", "exit", "expected", "elapsed_s"}, s
	assert d["differences_total"] >= len(d["differences"]), d
	EOF
}

expect_success 'the root file system, default DIR in /var/tmp: ok, exit 0, every step, DIR removed' '
	zdt --json selftest >doc.json 2>text
	check_json doc.json
	check_eq "ok" true "$(json_get doc.json "d[\"ok\"]")"
	dir=$(json_get doc.json "d[\"dir\"]")
	case $dir in /var/tmp/zdt-selftest.??????) ;; *) echo "dir: $dir" >&9; false ;; esac
	test ! -e "$dir"
	check_eq "steps" "backup:0 backup-gzip:0 verify:0 diff:1 rollback:0 diff-after:0 rollback-empty:0" \
		"$(json_get doc.json "\" \".join(\"%s:%d\" % (s[\"name\"], s[\"exit\"]) for s in d[\"steps\"])")"
	check_eq "expected" true "$(json_get doc.json "all(s[\"exit\"] == s[\"expected\"] for s in d[\"steps\"])")"
	check_eq "differences" "0 0" "$(json_get doc.json "\"%d %d\" % (d[\"differences_total\"], len(d[\"differences\"]))")"
	test "$(json_get doc.json "d[\"paths\"]")" -gt 60
	test "$(json_get doc.json "d[\"changes\"]")" -ge 20
	check_eq "root" "$(test "$(id -u)" = 0 && echo true || echo false)" "$(json_get doc.json "d[\"root\"]")"
	# the text went to stderr, the verdict last
	check_grep "^selftest: .$dir.: [a-z0-9]+ \(.*\), device [0-9]+:[0-9]+, as " text
	tail -n 1 text | grep -q "^selftest: ok ([a-z0-9]* at .$dir.: [0-9]* paths, [0-9]* features, every attribute equal after 2 backups, a rollback of [0-9]* changes and a rollback into an empty folder; not supported here: .*; [0-9.]* s)$"
	check_eq "verdict" "$(tail -n 1 text)" "$(json_get doc.json "d[\"verdict\"]")"
	# one unsupported line per feature listed in the document
	check_eq "unsupported" "$(json_get doc.json "len(d[\"unsupported\"])")" "$(grep -c "^unsupported: " text || :)"
'

expect_success root 'a tmpfs mounted nosuid,nodev: the setuid bits and the device node kept, compared, listed' '
	tmpfs m nosuid,nodev
	zdt selftest m/st >out 2>err
	test ! -s err
	check_grep "^selftest: .$TRASH/m/st.: tmpfs \(rw,nosuid,nodev" out
	check_grep "^unsupported: setuid-setgid \(setuid and setgid modes\): mounted nosuid: the bits are kept and compared, but do not act$" out
	check_grep "^unsupported: device \(device nodes\): mounted nodev: the nodes are kept and compared, but cannot be opened$" out
	check_eq "unsupported lines" 2 "$(grep -c "^unsupported: " out)"
	tail -n 1 out | grep -q "^selftest: ok (tmpfs at .$TRASH/m/st.: .*; not supported here: setuid-setgid (kept, no effect), device (kept, no effect); "
	test ! -e m/st
	zdt --json selftest m/st2 >doc.json 2>/dev/null
	check_json doc.json
	check_eq "unsupported" "[[\"setuid-setgid\", true], [\"device\", true]]" \
		"$(json_get doc.json "[[u[\"feature\"], u[\"compared\"]] for u in d[\"unsupported\"]]")"
	check_eq "type" tmpfs "$(json_get doc.json "d[\"file_system\"][\"type\"]")"
	check_grep "nosuid" <(json_get doc.json "d[\"file_system\"][\"mount_options\"]")
	# the same tmpfs without the options: nothing unsupported
	mount -o remount,suid,dev m
	zdt selftest m/st3 >out
	check_no_grep "^unsupported: " out
	tail -n 1 out | grep -q "not supported here: none; "
'

expect_success root,setpriv 'as another user: device nodes, owners, read-only folders skipped and listed; ok' '
	tmpfs m mode=1777
	setpriv --reuid=65534 --regid=65534 --clear-groups test -w m || { echo "# nobody cannot write $PWD/m: skipped" >&9; exit 0; }
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ZDT" --json selftest m/st >doc.json 2>text
	check_json doc.json
	check_eq "ok" true "$(json_get doc.json "d[\"ok\"]")"
	check_eq "root" false "$(json_get doc.json "d[\"root\"]")"
	check_eq "unsupported" "[\"device\", \"owner\", \"read-only-folder\"]" \
		"$(json_get doc.json "[u[\"feature\"] for u in d[\"unsupported\"]]")"
	check_grep "^unsupported: owner \(owners and groups other than the running user.s\): not root: " text
	check_grep "as a user without root$" text
	test ! -e m/st
'

expect_success 'the default DIR is inside the backup folder; its snapshots, lock and audit log stay untouched' '
	mkdir src && echo data >src/f
	zdt -q -b "$BK" backup -c AR src
	zdt -b "$BK" list >list.before
	cp "$BK/audit.log" audit.before
	ls -A "$BK" >names.before
	zdt -b "$BK" --json selftest >doc.json 2>text
	dir=$(json_get doc.json "d[\"dir\"]")
	case $dir in "$BK"/selftest.??????) ;; *) echo "dir: $dir" >&9; false ;; esac
	test ! -e "$dir"
	ls -A "$BK" | diff names.before -
	cmp audit.before "$BK/audit.log"
	zdt -b "$BK" list | diff list.before -
	cp "$BK/audit.log" audit.before
	# the config names it too; with --keep it stays, with the scratch
	# backup folder, its own audit log, the logs
	printf "backup-dir = %s\n" "$BK" >conf
	zdt --config conf selftest --keep >out
	kept=$(sed -n "s/^selftest: kept .\(.*\).$/\1/p" out)
	case $kept in "$BK"/selftest.??????) ;; *) echo "kept: $kept" >&9; false ;; esac
	test -d "$kept/tree" && test -f "$kept/bk/audit.log" && test -f "$kept/zdt.conf"
	check_eq "mode of DIR" 700 "$(stat -c %a "$kept")"
	check_eq "logs" "01-backup.err 01-backup.out 02-backup-gzip.err 02-backup-gzip.out 03-verify.err 03-verify.out 04-diff.err 04-diff.out 05-rollback.err 05-rollback.out 06-diff-after.err 06-diff-after.out 07-rollback-empty.err 07-rollback-empty.out" \
		"$(ls "$kept/log" | tr "\n" " " | sed "s/ $//")"
	check_eq "audit of the scratch backups" 7 "$(grep -c "event=end exit=[01] " "$kept/bk/audit.log")"
	cmp audit.before "$BK/audit.log"
	# the production backup folder is not used: no audit line, no lock file
	check_no_grep "command=selftest" "$BK/audit.log"
	# and other commands ignore the folder
	zdt -b "$BK" list | diff list.before -
	zdt -q -b "$BK" cleanup --all -c AR
	test -d "$kept/tree"
	# a backup folder that does not exist: /var/tmp, with a note
	zdt -b "$TRASH/nowhere" selftest >out 2>err
	check_grep "cannot create a scratch folder in the backup folder .$TRASH/nowhere. .* using /var/tmp" err
	check_grep "^selftest: ./var/tmp/zdt-selftest\." out
	test ! -e nowhere
'

expect_success 'DIR: not empty, a symbolic link, a file, no parent, two of them: refused, nothing touched' '
	mkdir full && echo keep >full/x
	must_fail 3 zdt selftest full >out 2>err
	check_grep "^zdt: selftest: DIR exists and is not empty: .full.$" err
	check_grep "^hint: give a new or empty folder" err
	check_eq "full" x "$(ls -A full)"
	mkdir empty-target
	ln -s empty-target link
	must_fail 3 zdt selftest link 2>err
	check_grep "DIR is a symbolic link: .link." err
	test -z "$(ls -A empty-target)"
	echo x >file
	must_fail 3 zdt selftest file 2>err
	check_grep "DIR is not a folder: .file." err
	must_fail 2 zdt selftest nowhere/st 2>err
	check_grep "cannot open the folder of DIR: .$TRASH/nowhere.: No such file or directory" err
	must_fail 2 zdt selftest a b 2>err
	check_grep "too many arguments" err
	must_fail 2 zdt selftest "" 2>err
	must_fail 2 zdt selftest --no-such 2>err
	test ! -e a && test ! -e b
	# an empty folder is used, and left in place, empty
	mkdir st
	zdt -q selftest st >out
	test ! -s out
	test -d st && test -z "$(ls -A st)"
	# -q prints nothing but a failure; -v each step
	zdt -v selftest st >out 2>err
	check_grep "step 5, rollback: zdt rollback -c AR --snapshot [0-9TZ-]+ --key-file $TRASH/st/key: exit 0 \([0-9.]+ s\)$" err
'

expect_success root 'a step that fails (backup on a full file system): FAILED naming it, its messages, exit 1, DIR removed' '
	tmpfs m size=3m
	rc=0
	zdt selftest m/st >out 2>err || rc=$?
	check_eq "exit" 1 "$rc"
	check_grep "^selftest: FAILED: (backup exited [0-9]+, want 0: zdt: backup: |cannot build the scratch tree: )" out
	check_grep "^hint: .zdt selftest --keep. keeps" out
	test ! -e m/st
	zdt --json selftest m/st >doc.json 2>/dev/null || rc=$?
	check_json doc.json
	check_eq "ok" false "$(json_get doc.json "d[\"ok\"]")"
	check_grep "^(backup exited|cannot build)" <(json_get doc.json "d[\"error\"]")
'

# broken WHAT PATH ATTRIBUTE: zdt-test selftest with that attribute undone
# after the rollback fails, naming PATH and ATTRIBUTE
broken() {
	rc=0
	ZDT_TEST_SELFTEST_BREAK=$1 zdt-test selftest "m/$1" >out 2>err || rc=$?
	check_eq "exit of $1" 1 "$rc"
	check_grep "^difference after the rollback: .$2.: $3( |,|$)" out
	tail -n 2 out | head -n 1 | grep -q "^selftest: FAILED: [0-9]* differences\{0,1\} after the rollback (first: " ||
		{ tail -n 3 out >&9; false; }
	test ! -e "m/$1"
}

expect_success root,zdt-test 'a rollback that leaves one attribute behind: FAILED, exit 1, the path and attribute named' '
	tmpfs m
	broken mode bin/setuid-helper "mode 0755, want 4755"
	broken owner conf/ar.cfg owner
	broken mtime conf/ar.cfg mtime
	broken content bin/arserverd "content other bytes, want the bytes at backup time"
	broken holes data/sparse.dat holes
	broken hardlink links/b "hardlink not linked, want data/linked\\\\040across"
	broken target lib/libar.so "target libar.so.9.2.0, want libar.so.9.1.0"
	broken xattr conf/xattr-file "xattr user.zdt.selftest another value"
	broken acl conf/acl-file "xattr system.posix_acl_access absent, want 44 bytes"
	broken type lib/dangling "type file, want symlink"
	broken missing conf/empty.cfg "path missing, want file"
	broken extra extra-file "path file, want absent"
	broken root . mtime
	# the document lists it
	ZDT_TEST_SELFTEST_BREAK=mode zdt-test --json selftest m/j >doc.json 2>/dev/null || :
	check_json doc.json
	check_eq "ok" false "$(json_get doc.json "d[\"ok\"]")"
	check_eq "difference" "[\"after the rollback\", \"bin/setuid-helper\", \"mode\", \"0755\", \"4755\"]" \
		"$(json_get doc.json "[[x[\"phase\"], x[\"path\"], x[\"attribute\"], x[\"got\"], x[\"want\"]] for x in d[\"differences\"]][0]")"
	check_eq "error" "1 difference after the rollback" "$(json_get doc.json "d[\"error\"]")"
	# and the same run without the hook passes
	zdt-test -q selftest m/ok
'

expect_success root 'SIGTERM while a step runs: the child is stopped, DIR removed, exit 143' '
	tmpfs m
	"$ZDT" selftest m/st >out 2>err &
	pid=$!
	for _ in $(seq 200); do [ -d m/st/bk ] && break; sleep 0.01; done
	kill -TERM $pid
	rc=0
	wait $pid || rc=$?
	check_eq "exit" 143 "$rc"
	check_grep "interrupted by SIGTERM" err
	test ! -e m/st
	sleep 0.2
	check_eq "zdt left running" "" "$(pgrep -f "$TRASH/m/st" || :)"
'

test_done

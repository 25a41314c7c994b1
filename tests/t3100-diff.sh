#!/bin/bash
# t3100-diff: `zdt diff`, what an upgrade changed since a snapshot: exit
# codes, the word for each kind of change, the JSON document, --checksum,
# and that it changes nothing.
. "$(dirname "$0")/lib.sh"
require python3 setfattr
need_mutate

# bk_state: every file of the backup folder but the audit log, with its
# metadata and hash, and the audit log's size
bk_state() {
	(cd "$BK" && find . -path ./audit.log -prune -o -printf '%y %m %s %T@ %p\n' | sort
	 find . -type f ! -name audit.log -exec xxhsum -H2 {} + | sort)
}

# one change of each kind, made by hand
changes() {
	echo "added" >src/conf/added.cfg
	rm src/conf/ardbc.cfg
	echo "upgraded" >>src/conf/ar.cfg
	rm src/conf/log4j_pluginsvr.xml
	mkdir src/conf/log4j_pluginsvr.xml
	chmod 0640 src/conf/arsystem.properties
	rm src/lib/libar.so
	ln -s libar.so.9.1.00 src/lib/libar.so
	touch -h -r pristine/lib/libar.so src/lib/libar.so
	touch -r pristine/conf src/conf
	touch -r pristine/lib src/lib
}

expect_success 'exit 0 when identical, 1 when something differs' '
	setup_src
	zdt -b "$BK" diff -c AR >out 2>err
	zdt -b "$BK" diff -c AR --checksum >/dev/null
	echo "upgraded" >>src/conf/ar.cfg
	must_fail 1 zdt -b "$BK" diff -c AR >out 2>err
	check_grep "conf/ar\.cfg" out
	# the audit log says differences, not a failure
	tail -n 1 "$BK/audit.log" | grep -q "command=diff .* exit=1 outcome=differences$"
	must_fail 1 zdt -b "$BK" diff -c arsystem --checksum >/dev/null
	cp -a pristine/conf/ar.cfg src/conf/ar.cfg
	touch -r pristine/conf src/conf
	zdt -b "$BK" diff -c AR >/dev/null
'

expect_success 'each kind of change is reported with its word' '
	setup_src
	changes
	must_fail 1 zdt -b "$BK" diff -c AR >out
	cat out
	check_grep "^added +conf/added\.cfg( |$)" out
	check_grep "^removed +conf/ardbc\.cfg( |$)" out
	check_grep "^modified +conf/ar\.cfg( |$)" out
	check_grep "^type-changed +conf/log4j_pluginsvr\.xml( |$)" out
	check_grep "^metadata +conf/arsystem\.properties .*mode" out
	check_grep "^metadata +lib/libar\.so .*link target" out
	test $(wc -l <out) = 6
'

expect_success 'metadata changes: mode, owner, mtime, xattrs; an mtime alone is metadata with --checksum' '
	setup_src
	chmod 0600 src/conf/arsystem.properties
	chown 1234 src/conf/entry_remedy131.cfg
	setfattr -n user.zdt.test -v changed src/conf/ar.cfg
	touch -d @1500000000 src/conf/limit_cache135.log
	must_fail 1 zdt -b "$BK" diff -c AR --checksum >out
	cat out
	check_grep "^metadata +conf/arsystem\.properties .*mode" out
	check_grep "^metadata +conf/entry_remedy131\.cfg .*owner" out
	check_grep "^metadata +conf/ar\.cfg .*xattr" out
	check_grep "^metadata +conf/limit_cache135\.log .*mtime" out
	test $(wc -l <out) = 4
'

expect_success '--json: the document and its counts' '
	setup_src
	zdt -b "$BK" --json diff -c AR >same.json
	changes
	must_fail 1 zdt -b "$BK" --json diff -c AR >diff.json 2>err
	python3 - same.json diff.json "$(snap_id AR)" "$PWD/src" <<-\EOF
	import json, sys
	same = json.load(open(sys.argv[1]))
	d = json.load(open(sys.argv[2]))
	for x in (same, d):
	    assert x["command"] == "diff" and x["ok"] is True, x
	    for k in ("identical", "added", "removed", "modified", "type_changed", "metadata_changed", "changes"):
	        assert k in x, (k, x)
	assert same["identical"] is True and same["changes"] == [], same
	assert all(same[k] == 0 for k in ("added", "removed", "modified", "type_changed", "metadata_changed")), same
	assert d["identical"] is False, d
	for c in d["changes"]:
	    assert set(c) >= {"change", "path", "details"}, c
	got = {c["path"]: c["change"] for c in d["changes"]}
	want = {"conf/added.cfg": "added", "conf/ardbc.cfg": "removed", "conf/ar.cfg": "modified",
	        "conf/log4j_pluginsvr.xml": "type-changed", "conf/arsystem.properties": "metadata",
	        "lib/libar.so": "metadata"}
	assert got == want, got
	words = {"added": "added", "removed": "removed", "modified": "modified",
	         "type-changed": "type_changed", "metadata": "metadata_changed"}
	for w, k in words.items():
	    assert d[k] == sum(1 for c in d["changes"] if c["change"] == w), (k, d[k])
	assert d.get("snapshot", sys.argv[3]) == sys.argv[3], d
	EOF
'

expect_success '--checksum catches a same-size, same-mtime change that the default check misses' '
	setup_src
	f=src/conf/ar.cfg
	printf "#" | dd of=$f bs=1 seek=100 conv=notrunc status=none
	touch -r pristine/conf/ar.cfg $f
	! cmp -s pristine/conf/ar.cfg $f
	zdt -b "$BK" diff -c AR >out
	test ! -s out
	must_fail 1 zdt -b "$BK" diff -c AR --checksum >out
	check_grep "^modified +conf/ar\.cfg" out
	test $(wc -l <out) = 1
'

expect_success 'diff changes nothing: the live tree, the backup folder (the audit log aside)' '
	setup_src
	"$MUTATE" src 20 5 >/dev/null
	tree_stamp src >stamp.before
	fast_sum src >sum.before
	bk_state >bk.before
	cp "$BK/audit.log" audit.before
	must_fail 1 zdt -b "$BK" diff -c AR >/dev/null
	must_fail 1 zdt -b "$BK" diff -c AR --checksum >/dev/null
	must_fail 1 zdt -b "$BK" --json diff -c AR >/dev/null
	tree_stamp src >stamp.after
	fast_sum src >sum.after
	bk_state >bk.after
	cmp stamp.before stamp.after
	cmp sum.before sum.after
	cmp bk.before bk.after
	# the audit log only grew
	cmp -n $(stat -c %s audit.before) audit.before "$BK/audit.log"
	test $(stat -c %s "$BK/audit.log") -gt $(stat -c %s audit.before)
'

expect_success 'no snapshot: exit 5; usage errors: exit 2' '
	setup_src
	must_fail 5 zdt -b "$BK" diff -c AtriumCore
	must_fail 5 zdt -b "$BK" diff -c AR --snapshot 20000101T000000Z-01
	must_fail 2 zdt -b "$BK" diff
	must_fail 2 zdt -b "$BK" diff -c AR -c AtriumCore
	must_fail 2 zdt -b "$BK" diff -c nosuch
	must_fail 2 zdt -b "$BK" diff -c AR extra
	rm -rf "$BK/AR"
	must_fail 5 zdt -b "$BK" diff -c AR
'

expect_success 'diff --snapshot compares with that snapshot' '
	setup_src
	old=$(snap_id AR)
	echo "v2" >src/conf/v2.cfg
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" diff -c AR >/dev/null
	must_fail 1 zdt -b "$BK" diff -c AR --snapshot "$old" >out
	check_grep "^added +conf/v2\.cfg" out
'

expect_success 'the install folder deleted: every path of the snapshot is removed' '
	setup_src
	rm -rf src
	must_fail 1 zdt -b "$BK" --json diff -c AR >d.json
	manifest_py paths "$(snap_dir AR)/manifest" >want
	python3 - d.json want <<-\EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["ok"] is True and d["identical"] is False, d
	assert {c["change"] for c in d["changes"]} == {"removed"}, {c["change"] for c in d["changes"]}
	assert d["removed"] == len(d["changes"]), d["removed"]
	got = sorted(c["path"] for c in d["changes"])
	want = sorted(p for p in open(sys.argv[2], "rb").read().decode("utf-8", "surrogateescape").split("\0") if p)
	assert got == want, (len(got), len(want), sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5])
	EOF
'

expect_success 'paths excluded at backup time are not reported' '
	setup_src --exclude "*.log"
	echo "upgraded log" >>src/conf/limit_cache135.log
	echo "new" >src/conf/new.log
	touch -r pristine/conf src/conf
	zdt -b "$BK" diff -c AR >out
	test ! -s out
'

if command -v strace >/dev/null && [ -z "$ZDT_VALGRIND" ]; then
	# live_reads WHO: bytes read(2) from files under src by the main
	# thread (WHO=main) or the others, in trace (strace -f -y)
	live_reads() {
		awk -v who="$1" -v src="$PWD/src/" 'NR == 1 { main = $1 }
			/ read\([0-9]+</ && index($0, src) && $NF ~ /^[0-9]+$/ && (who == "main") == ($1 == main) { n += $NF }
			END { print n + 0 }' trace
	}

	expect_success '--checksum: a thread hashes the live files ahead of the walk, each file is read once' '
		gen_tree src small
		zdt -b "$BK" backup -c AR src >/dev/null
		bytes=$(find src -type f -printf "%s\n" | awk "{ n += \$1 } END { print n }")
		strace -f -y -o trace -e trace=read "$ZDT" -b "$BK" diff -c AR --checksum >out
		main=$(live_reads main) other=$(live_reads other)
		echo "# tree $bytes bytes; read(2) by the main thread $main, by the others $other" >&9
		# how the two share depends on their speeds: some by the thread,
		# nothing twice
		test "$other" -gt 0
		test $((main + other)) -le "$bytes"
	'

	expect_success '--checksum: a folder swapped for a symlink to an outside folder: nothing read there' '
		gen_tree src
		zdt -b "$BK" backup -c AR src >/dev/null
		d=$(cd src && find . -mindepth 2 -type f -size +0 -printf "%h\n" | sed "s|^\./||" | head -n 1)
		mkdir outside
		cp -a "src/$d/." outside/
		rm -rf "src/$d"
		ln -s "$PWD/outside" "src/$d"
		must_fail 1 strace -f -y -o trace -e trace=openat,read "$ZDT" -b "$BK" diff -c AR --checksum >out
		check_grep "^type-changed +$d " out
		check_no_grep "outside/" trace
	'
fi

test_done

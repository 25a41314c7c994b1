#!/bin/bash
# t1300-reader: backup's reader thread, which walks the tree a step ahead of
# the archiving walk and reads its plain files through a ring.  The
# snapshot must be the same with and without it, also when the two walks
# meet different trees (files the reader read and the archiving walk never
# meets, files only the archiving walk meets), and a failed read in the
# reader thread fails the backup with the message of any failed read.
#
# The test build zdt-test (make zdt-test) takes ZDT_TEST_READER=0 (no
# reader thread) and ZDT_TEST_READER=DIR (the reader walks DIR instead);
# without it those tests are skipped ("missing zdt-test").
. "$(dirname "$0")/lib.sh"
require python3

if [ -x "$ZDT_SRC/zdt-test" ]; then
	zdt-test() { "$ZDT_SRC/zdt-test" "$@"; }
fi

# body ARCHIVE_DIR: the manifest without its header and trailer (ID, time
# and checksum differ between two snapshots of the same tree)
body() {
	grep -v '^snapshot \|^created \|^checksum ' "$1/manifest"
}

# same_snapshot DIR1 DIR2: byte-identical archives, same manifest entries
same_snapshot() {
	cmp "$1/archive.tar" "$2/archive.tar" || return 1
	diff <(body "$1") <(body "$2") >&9 || return 1
}

expect_success zdt-test 'with or without the reader thread: the same archive, byte for byte, and manifest' '
	gen_tree src small
	# attributes and an ACL on plain files: they travel through the ring
	if [ "$(id -u)" = 0 ] && command -v setfattr >/dev/null && command -v setfacl >/dev/null; then
		(cd src && find . -type f -links 1 -size +2k -name "*[a-z0-9]" | grep -v " " | sort | head -n 3) >f
		test "$(wc -l <f)" = 3
		while read -r p; do setfattr -n user.zdt.test -v "v-$p" "src/$p"; done <f
		setfacl -m u:1234:r-x "src/$(head -n 1 f)"
	fi
	ZDT_TEST_READER=0 zdt-test -b bk0 backup -c AR src >/dev/null
	zdt-test -b bk1 backup -c AR src >/dev/null
	same_snapshot "$(echo bk0/AR/*/)" "$(echo bk1/AR/*/)"
	zdt -b bk1 verify >/dev/null
'

expect_success zdt-test 'walks that meet different trees: the snapshot is what the archiving walk met' '
	gen_tree src small
	cp -a src other
	# only in the tree the reader walks: records the archiving walk must
	# drop, small ones and one larger than the 4 MiB ring, first and last
	# in their folders
	d=$(cd src && find . -mindepth 1 -type d | sort | sed -n 3p)
	echo first >"other/$d/!first"
	head -c 9M /dev/urandom >"other/$d/~~big-last"
	mkdir "other/only-here" && echo x >"other/only-here/f"
	head -c 5M /dev/urandom >"other/00-big"
	# only in the archived tree: read by the archiving walk itself
	rm -f "other/$(cd src && find . -type f -links 1 | sort | sed -n 10p)"
	rm -f "other/$(cd src && find . -type f -links 1 | sort | tail -n 1)"
	rm -rf "other/$(cd src && find . -mindepth 1 -type d | sort | tail -n 1)"
	head -c 6M /dev/urandom >"src/$d/zz-new"
	ZDT_TEST_READER=0 zdt-test -b bk0 backup -c AR src >/dev/null
	ZDT_TEST_READER=$PWD/other zdt-test -b bk1 backup -c AR src >/dev/null 2>err
	check_no_grep "warning" err
	same_snapshot "$(echo bk0/AR/*/)" "$(echo bk1/AR/*/)"
	zdt -b bk1 verify >/dev/null
'

expect_success zdt-test 'a reader that finds nothing to read (an empty tree): the archiving walk reads it all' '
	gen_tree src tiny
	mkdir empty
	ZDT_TEST_READER=0 zdt-test -b bk0 backup -c AR src >/dev/null
	ZDT_TEST_READER=$PWD/empty zdt-test -b bk1 backup -c AR src >/dev/null
	same_snapshot "$(echo bk0/AR/*/)" "$(echo bk1/AR/*/)"
'

expect_success inject 'EIO on a read of the tree (the reader thread): exit 1, one message naming the file, nothing left' '
	gen_tree src small
	zdt -b "$BK" backup -c AR src >/dev/null
	# the reader thread reads every plain file with pread64; the main
	# thread only what the reader leaves out (hardlinked, sparse files)
	strace -f -o trace -e trace=pread64 "$ZDT" -b trial backup -c AR src >/dev/null 2>&1
	nr=$(awk "index(\$2, \"pread64(\") == 1 { n[\$1]++ } END { m = 0; for (t in n) if (n[t] > m) m = n[t]; print m }" trace)
	test "$nr" -ge 100
	# (the bytes of a file may take two reads where the ring wraps: the count
	# varies a little from run to run, so no point near the end; and not
	# the first few, which in a dynamic build are the loader reading libc
	# in the main thread)
	for k in 20 $((nr / 3)) $((2 * nr / 3)); do
		must_fail 1 strace -f -o /dev/null -e trace=pread64 -e inject=pread64:error=EIO:when=$k \
			"$ZDT" -b "$BK" backup -c AR src >out 2>err
		test "$(grep -c "^zdt: " err)" = 1
		check_grep "^zdt: backup: cannot read: .*$PWD/src/.*: Input/output error" err
		check_eq "complete snapshots" 1 "$(count_complete AR)"
		test -z "$(ls -d "$BK"/AR/*.partial 2>/dev/null)"
	done
'

expect_success inject 'many small files: the main thread reads some itself when it catches up with the reader, each file once' '
	mkdir -p src/a src/b
	for d in a b; do
		for i in $(seq 1000 2999); do echo "$d $i" >"src/$d/$d$i"; done
	done
	strace -f -o trace -e trace=openat "$ZDT" -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" verify >/dev/null
	# the files opened (O_NOATIME: not the folders), by thread and by name
	awk "NR == 1 { main = \$1 } /O_NOATIME/ && match(\$0, /\"[ab][0-9]+\"/) {
		n[\$1 == main ? \"main\" : \"reader\"]++; seen[substr(\$0, RSTART, RLENGTH)]++ }
		END { total = 0; for (f in seen) { total++; if (seen[f] > 1) twice++ }
			print n[\"main\"] + 0, n[\"reader\"] + 0, total, twice + 0 }" trace >counts
	read -r m rd total twice <counts
	echo "# 4000 files: $m opened by the main thread, $rd by the reader, $twice twice" >&9
	check_eq "files opened" 4000 "$total"
	check_eq "files opened twice" 0 "$twice"
	test "$m" -gt 0
	test "$rd" -gt 0
'

test_done

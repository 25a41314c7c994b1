#!/bin/bash
# t2600-fresh: a rollback into an empty install folder checks each archive
# member as it writes it (one read of the archive instead of two).  When it
# finds damage it removes what it wrote: exit 4, and the folder is empty
# again with its old mode, owner and mtime, as if it had been refused
# before the first write.  The journal records the empty start ("fresh="),
# so a rerun after kill -9 finishes, or, finding damage, empties the folder
# all the same.
. "$(dirname "$0")/lib.sh"
require python3 xxhsum
need_mutate

# empty_src: src replaced by an empty folder with a mode and mtime of its own
empty_src() {
	rm -rf src
	mkdir src
	chmod 0751 src
	touch -d @1000000000.5 src
	stat -c '%a %u %g %y' src >root.before
}

# check_empty: src holds nothing and has the mode and mtime of empty_src
check_empty() {
	local n
	n=$(find src -mindepth 1 | wc -l)
	check_eq "entries left in src" 0 "$n"
	stat -c '%a %u %g %y' src >root.now
	cmp root.before root.now
	check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
}

# late_file: the path and data offset of the last file of the manifest with
# at least 200 bytes (the archive follows the manifest: written last)
late_file() {
	awk '$1 == "f" && $5 >= 200 && NF == 10 { p = $10; o = $8 } END { print p, o }' "$(snap_dir AR)/manifest"
}

# rechecksum MANIFEST: its checksum line recomputed over every byte before it,
# and meta's manifest_checksum set to it (or the run stops at that check)
rechecksum() {
	head -n -1 "$1" >"$1.body"
	{ cat "$1.body"; echo "checksum xxh3-128 $(xxhsum -H2 <"$1.body" | cut -d" " -f1)"; } >"$1"
	rm -f "$1.body"
	manifest_py remeta "$1"
}

# big_src: src with one folder holding a big file (more than one writer
# piece, unaligned end) and a small one, its copy and snapshot; prints the
# big file's data offset in the archive
big_src() {
	rm -rf src pristine "$BK"
	mkdir -p src/lib
	head -c $((3 * 1048576 + 777)) /dev/urandom >src/lib/big.jar
	echo small >src/lib/small.txt
	cp -a src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	awk '$1 == "f" && $10 == "lib/big.jar" { print $8 }' "$(snap_dir AR)/manifest"
}

# big_gone_then_rerun: after a failed rollback of big_src, no half-written
# big file, the run recorded as interrupted, and the rerun finishes it
big_gone_then_rerun() {
	test ! -e src/lib/big.jar
	check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
}

for c in none gzip; do
	expect_success "--compress $c: into an empty folder, members are checked as they are written; the tree equals the snapshot" '
		setup_src --compress '$c'
		empty_src
		zdt -v -b "$BK" rollback -c AR >out 2>err
		check_grep "members are checked as they are written" err
		check_no_grep "needed members checked" err
		check_grep "^AR: [1-9][0-9]* files written by [12] writer threads*$" err
		same_tree pristine src
		check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
		# and the second time: nothing to do
		zdt -b "$BK" rollback -c AR >out
		check_grep " 0 rewritten, 0 created, 0 removed, 0 metadata fixed" out
	'
done

expect_success 'a folder that is not empty: the members the plan needs are checked before the first write' '
	setup_src
	"$MUTATE" src 5 3 >/dev/null
	zdt -v -b "$BK" rollback -c AR >out 2>err
	check_grep "needed members checked" err
	check_no_grep "checked as they are written" err
	same_tree pristine src
'

expect_success 'damaged data of the last file: exit 4, what was written is removed, the folder as it was' '
	setup_src
	read -r p off <<-EOF
	$(late_file)
	EOF
	test -n "$off"
	flip_byte "$(snap_archive AR)" $((off + 100))
	empty_src
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_grep "$p" err
	check_grep "is empty again" err
	check_empty
	# the byte put back: the same rollback goes through
	flip_byte "$(snap_archive AR)" $((off + 100))
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
'

expect_success 'a late member whose mode disagrees with the manifest: exit 4 naming it, the folder as it was' '
	setup_src
	read -r p off <<-EOF
	$(late_file)
	EOF
	m=$(snap_dir AR)/manifest
	awk -v p="$p" '"'"'$1 == "f" && $10 == p && NF == 10 { $2 = "0604" } { print }'"'"' "$m" >m.new
	! cmp -s "$m" m.new
	cat m.new >"$m"
	rechecksum "$m"
	zdt -b "$BK" verify -c AR >/dev/null 2>verr || true
	empty_src
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_grep "mode 0[0-7]* in the archive, 0604 in the manifest" err
	check_grep "is empty again" err
	check_empty
'

expect_success '--check and --dry-run into an empty folder check every needed member first and write nothing' '
	setup_src
	read -r p off <<-EOF
	$(late_file)
	EOF
	flip_byte "$(snap_archive AR)" $((off + 100))
	empty_src
	must_fail 4 zdt -b "$BK" rollback --check -c AR 2>err
	check_grep "the live tree was not touched" err
	check_no_grep "empty again" err
	must_fail 4 zdt -b "$BK" rollback --dry-run -c AR >/dev/null 2>err
	check_no_grep "empty again" err
	check_empty
'

expect_success 'a big file of an uncompressed snapshot: created in order by the main thread, copied by a copy thread around the page cache; the tree equals the snapshot' '
	off=$(big_src)
	test -n "$off"
	empty_src
	strace -f -o trace -e trace=execve,openat,pwrite64,pread64,read "$ZDT" -v -b "$BK" rollback -c AR >/dev/null 2>err
	same_tree pristine src
	check_grep "^AR: 2 files written by [12] writer threads*$" err
	check_grep "^AR: 1 of them copied from the archive by [12] copy threads*$" err
	# created by the main thread (before the folder'"'"'s metadata job)
	main=$(awk "NR == 1 { print \$1 }" trace)
	test -n "$(awk -v m="$main" '"'"'$1 == m && /openat\(.*"big\.jar", O_WRONLY\|O_CREAT\|O_EXCL/'"'"' trace)"
	afd=$(awk -v m="$main" '"'"'$1 == m && /openat\(.*"archive\.tar", / { sub(/.*= /, ""); print; exit }'"'"' trace)
	test -n "$afd"
	# its data read once, at the manifest offset, by one other thread: four
	# preads, and that thread writes it in 1 MiB blocks; the main thread'"'"'s
	# read() fetched far less of the archive than the file holds (libarchive
	# skipped its data).  (strace splits a call that another thread
	# interrupts: its fd is on the "<unfinished ...>" line, its offset and
	# result on the resumed one.)
	cat >calls.awk <<-\EOF
	/ (pread64|read)\(/ { f = $0; sub(/.*(pread64|read)\(/, "", f); sub(/,.*/, "", f); cur[$1] = f }
	cur[$1] != fd { next }
	/pread64/ { n = split($0, x, ", "); split(x[n], t, ")"); a = t[1] + 0; if (a >= o && a < o + sz) { c[$1]++; if ($1 == m) bad++ } }
	$1 == m && (/ read\(|read resumed/) && / = [0-9]+$/ { r += $NF }
	END { for (id in c) print id, c[id]; print "main", bad + 0, r + 0 }
	EOF
	awk -v m="$main" -v fd="$afd" -v o="$off" -v sz=$((3 * 1048576 + 777)) -f calls.awk trace >calls
	check_eq "threads that read big.jar" 2 "$(wc -l <calls)"
	read -r ct np <<-EOF
	$(grep -v "^main " calls)
	EOF
	check_eq "preads of big.jar" 4 "$np"
	read -r _ nm rb <<-EOF
	$(grep "^main " calls)
	EOF
	check_eq "preads of big.jar by the main thread" 0 "$nm"
	test "$rb" -lt 1048576
	test "$(awk -v t="$ct" '"'"'$1 == t && /pwrite64\(.*, 1048576, / { n++ } END { print n + 0 }'"'"' trace)" -ge 3
'

expect_success inject 'a big file whose archive data cannot be read: exit 1 naming the archive, no half-written file; the rerun finishes' '
	big_src >/dev/null
	empty_src
	# strace counts each thread'"'"'s calls: the copy thread makes four preads,
	# the main thread none (a dynamic build'"'"'s loader makes some); the
	# second one of the copy thread past the main thread'"'"'s count fails,
	# after a piece was written
	strace -f -o trace -e trace=execve,pread64 "$ZDT" -b "$BK" rollback -c AR >/dev/null
	main=$(awk "NR == 1 { print \$1 }" trace)
	nm=$(awk -v m="$main" '"'"'$1 == m && /pread64\(/ { n++ } END { print n + 0 }'"'"' trace)
	nc=$(awk -v m="$main" '"'"'$1 != m && /pread64\(/ { n[$1]++ } END { for (t in n) if (n[t] > k) k = n[t]; print k + 0 }'"'"' trace)
	test "$nc" -ge $((nm + 2))
	empty_src
	must_fail 1 strace -f -o /dev/null -e trace=pread64 \
		-e inject=pread64:error=EIO:when=$((nm + 2)) "$ZDT" -b "$BK" rollback -c AR 2>err
	check_eq "lines" 1 "$(wc -l <err)"
	check_grep "^zdt: rollback: cannot read the archive of AR [0-9TZ-]*: Input/output error$" err
	big_gone_then_rerun
'

expect_success 'an archive that ends inside a big file: exit 4, the folder empty again' '
	off=$(big_src)
	a=$(snap_archive AR)
	truncate -s $((off + 2 * 1048576 + 100)) "$a"
	empty_src
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	# found by the copy thread (naming the file) or by libarchive skipping
	# its data in the main thread, whichever comes first
	check_grep "^zdt: rollback: (archive member of .lib/big.jar. in AR .* does not match the manifest|damaged archive of AR .*: Truncated input file)" err
	check_empty
'

expect_success 'damaged data in the middle of a big file: exit 4 naming it, the folder empty again' '
	off=$(big_src)
	flip_byte "$(snap_archive AR)" $((off + 1048576 + 5000))
	empty_src
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_grep "lib/big.jar" err
	check_grep "is empty again" err
	check_empty
'

if command -v strace >/dev/null && [ -z "$ZDT_VALGRIND" ]; then
	expect_success 'kill -9 halfway, then the rerun finishes; the journal records the empty start' '
		setup_src
		empty_src
		nw=$(syscall_count_thread pwrite64 "$ZDT" -b "$BK" rollback -c AR)
		test "$nw" -ge 20
		empty_src
		must_fail 137 strace -f -o /dev/null -e trace=pwrite64 \
			-e inject=pwrite64:signal=KILL:when=$((nw / 2)) "$ZDT" -b "$BK" rollback -c AR
		check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
		check_grep "^fresh=0751 " "$BK"/AR/*/rollback.journal
		test "$(find src -mindepth 1 | wc -l)" -gt 10
		zdt -b "$BK" rollback -c AR >/dev/null 2>err
		same_tree pristine src
		check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
	'

	expect_success 'an I/O error in a writer thread: exit 1, one line naming the file and a hint; the rerun finishes' '
		setup_src
		empty_src
		# the most calls one thread makes: a writer thread (the main thread
		# writes only the files with attributes, and big ones)
		nw=$(syscall_count_thread pwrite64 "$ZDT" -b "$BK" rollback -c AR)
		test "$nw" -ge 20
		empty_src
		must_fail 1 strace -f -o /dev/null -e trace=pwrite64 \
			-e inject=pwrite64:error=EIO:when=$((nw / 2)) "$ZDT" -b "$BK" rollback -c AR 2>err
		check_eq "lines" 2 "$(wc -l <err)"
		check_grep "^zdt: rollback: cannot write: .$PWD/src/.*: Input/output error$" err
		check_grep "^hint: fix the cause, then run the same rollback again to finish it$" err
		check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
		zdt -b "$BK" rollback -c AR >/dev/null 2>err
		same_tree pristine src
		check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
	'

	expect_success 'kill -9 halfway, then damage: the rerun exits 4 and empties the folder again' '
		setup_src
		empty_src
		nw=$(syscall_count_thread pwrite64 "$ZDT" -b "$BK" rollback -c AR)
		read -r p off <<-EOF
		$(late_file)
		EOF
		a=$(snap_archive AR)
		empty_src
		must_fail 137 strace -f -o /dev/null -e trace=pwrite64 \
			-e inject=pwrite64:signal=KILL:when=$((nw / 2)) "$ZDT" -b "$BK" rollback -c AR
		test "$(find src -mindepth 1 | wc -l)" -gt 10
		flip_byte "$a" $((off + 100))
		must_fail 4 zdt -b "$BK" rollback -c AR 2>err
		check_grep "is empty again" err
		check_empty
	'
	expect_success 'an I/O error writing a piece of a big file: exit 1 naming it, no half-written file; the rerun finishes' '
		big_src >/dev/null
		empty_src
		# the writer thread writes the big file first: its second piece fails
		must_fail 1 strace -f -o /dev/null -e trace=pwrite64 \
			-e inject=pwrite64:error=EIO:when=2 "$ZDT" -b "$BK" rollback -c AR 2>err
		check_eq "lines" 2 "$(wc -l <err)"
		check_grep "^zdt: rollback: cannot write: .$PWD/src/lib/big.jar.: Input/output error$" err
		big_gone_then_rerun
	'
	expect_success 'kill -9 while a big file is copied: the rerun finishes' '
		big_src >/dev/null
		empty_src
		# the copy thread'"'"'s second write (strace counts per thread; the
		# writer thread writes small.txt once)
		must_fail 137 strace -f -o /dev/null -e trace=pwrite64 \
			-e inject=pwrite64:signal=KILL:when=2 "$ZDT" -b "$BK" rollback -c AR
		check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
		test "$(stat -c %s src/lib/big.jar)" -lt $((3 * 1048576 + 777))
		zdt -b "$BK" rollback -c AR >/dev/null
		same_tree pristine src
		check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
	'
fi

test_done

#!/bin/bash
# t2800-apply-economy: what a differential rollback does not do again once
# the plan has looked.  Applying walks only the folders above a change and
# looks again (stat, compare) only at the paths the plan found changed; in
# an uncompressed snapshot, every archive header is checked by a thread of
# its own while the plan walks the live tree, and a member it needs through
# libarchive (attributes, holes) is read from the nearest checkpoint that
# thread recorded (every 64th member's header), not by reading every header
# before it a second time.  Each case fails when the economy is undone, and
# checks that the result is still the snapshot.
. "$(dirname "$0")/lib.sh"
require python3 xxhsum strace
need_mutate
[ -z "$ZDT_VALGRIND" ] || skip_all "counts system calls with strace (not under valgrind)"

# a folder of N small files named econNNN (and the tiny tree around it)
econ_tree() {
	gen_tree src
	mkdir src/econ
	for i in $(seq 100 $((99 + $1))); do
		printf 'line %s\n' "$i" >"src/econ/econ$i.dat"
	done
	touch -d @1300000000 src/econ/* src/econ
}

expect_success 'applying stats only the changed paths of a folder it walks (300 files, 2 changed)' '
	econ_tree 300
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	echo changed >>src/econ/econ150.dat
	chmod 0600 src/econ/econ250.dat
	strace -f -o trace -e trace=newfstatat,statx,fstatat64 "$ZDT" -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	n=$(grep -cE "stat[a-z0-9]*\([^,]*, \"econ[0-9]+\.dat\"" trace)
	echo "# stat calls on the 300 files of the folder: $n" >&9
	# the plan stats each once; applying only the two it changes
	test "$n" -ge 300
	test "$n" -le 310
'

expect_success 'a second rollback plans and stats each path once, changes nothing' '
	econ_tree 50
	zdt -b "$BK" backup -c AR src >/dev/null
	strace -f -o trace -e trace=newfstatat,statx,fstatat64 "$ZDT" -b "$BK" rollback -c AR >out
	n=$(grep -cE "stat[a-z0-9]*\([^,]*, \"econ[0-9]+\.dat\"" trace)
	check_eq "stat calls on the 50 files" 50 "$n"
'

# archive_reads WHEN: the bytes read(2) from the snapshot's archive file in
# trace (strace -f -y), before or after the line that says the needed
# members were checked; a read that strace split in two (<unfinished ...>,
# then <... read resumed> in the same thread) counts where it started
archive_reads() {
	awk -v when="$1" 'BEGIN { after = 0 }
		/write\(2<[^>]*>, "AR: needed members checked/ { after = 1 }
		/ read\([0-9]+<[^>]*archive\.tar>, +<unfinished \.\.\.>$/ { pend[$1] = after; next }
		/ read\([0-9]+<[^>]*archive\.tar>/ && $NF ~ /^[0-9]+$/ { n[after] += $NF }
		/<\.\.\. read resumed>/ && ($1 in pend) { if ($NF ~ /^[0-9]+$/) n[pend[$1]] += $NF; delete pend[$1] }
		END { print n[when == "after"] + 0 }' trace
}

# check_range WHAT MIN MAX VALUE: MIN <= VALUE <= MAX, or say which
check_range() {
	if [ "$4" -lt "$2" ] || [ "$4" -gt "$3" ]; then
		echo "check_range: $1: $4, not within [$2, $3]" >&9
		return 1
	fi
}

expect_success setfattr 'members with attributes or holes are read from the nearest checkpoint, not after every header again' '
	econ_tree 2000
	# files with attributes and a sparse file spread over the archive,
	# at ordinals on both sides of checkpoints
	for i in 117 180 555 1300 2099; do
		setfattr -n user.zdt.t -v "v$i" "src/econ/econ$i.dat"
	done
	truncate -s 8M src/econ/econ1999.dat
	printf tail >>src/econ/econ1999.dat
	touch -d @1300000000 src/econ/* src/econ
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	for i in 117 180 555 1300 2099; do
		echo more >>"src/econ/econ$i.dat"
	done
	setfattr -x user.zdt.t src/econ/econ555.dat
	printf x | dd of=src/econ/econ1999.dat bs=1 seek=100 conv=notrunc 2>/dev/null
	size=$(stat -c %s "$(snap_archive AR)")
	strace -f -y -o trace -e trace=read,write "$ZDT" -v -b "$BK" rollback -c AR >/dev/null 2>err
	check_grep "^AR: needed members checked" err
	same_tree pristine src
	check=$(archive_reads before) apply=$(archive_reads after)
	echo "# archive $size bytes; read(2) from it: $check bytes to check, $apply bytes to apply" >&9
	# the check reads every header (with the data of the small members
	# around them); applying, a few blocks from each of 6 checkpoints
	check_range "bytes read to check" $((2 << 20)) "$size" "$check" ||
		{ grep "archive\.tar>" trace | head -n 5 >&9; false; }
	check_range "bytes read to apply" 0 $((6 * 2 * 65536)) "$apply" ||
		{ sed -n "/needed members checked/,\$p" trace | grep -E "archive\.tar>|resumed" | head -n 30 >&9; false; }
'

expect_success setfattr 'a gzip snapshot has no checkpoints: members with attributes still come back' '
	econ_tree 300
	setfattr -n user.zdt.t -v v1 src/econ/econ280.dat
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR --compress gzip src >/dev/null
	echo more >>src/econ/econ280.dat
	setfattr -n user.zdt.t -v v2 src/econ/econ280.dat
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
'

expect_success 'uncompressed: the headers are read by a thread of their own, not by the main one' '
	econ_tree 1000
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	for i in 200 700; do echo more >>"src/econ/econ$i.dat"; done
	strace -f -y -o trace -e trace=read,pread64 "$ZDT" -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	main=$(awk "NR == 1 { print \$1 }" trace)
	mine=$(awk -v p="$main" "\$1 == p && / read\\([0-9]+<[^>]*archive\\.tar>/ && \$NF ~ /^[0-9]+\$/ { n += \$NF } END { print n + 0 }" trace)
	other=$(awk -v p="$main" "\$1 != p && / read\\([0-9]+<[^>]*archive\\.tar>/ && \$NF ~ /^[0-9]+\$/ { n += \$NF } END { print n + 0 }" trace)
	echo "# archive bytes read(2) by the main thread: $mine, by the others: $other" >&9
	check_eq "archive bytes read(2) by the main thread" 0 "$mine"
	test "$other" -ge 65536
	# the two files it rewrites: read at their offsets
	test "$(grep -c " pread64([0-9]*<[^>]*archive\.tar>" trace)" -ge 4
'

expect_success 'more than 1000 header problems: 1000 lines, one line for the rest, exit 4, nothing changed' '
	econ_tree 1100
	zdt -b "$BK" backup -c AR src >/dev/null
	echo more >>src/econ/econ500.dat
	cp -a --sparse=always src before
	m=$(snap_dir AR)/manifest
	# every econ file owned by uid 4242 in the manifest, not in the archive
	sed -i -E "s/^(f [0-7]+) [0-9]+ (.* econ\/econ[0-9]+\.dat)$/\1 4242 \2/" "$m"
	manifest_py resum "$m"
	manifest_py remeta "$m"
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_eq "owner lines" 1000 "$(grep -c "^zdt: rollback: damaged snapshot AR [^ ]*: .econ/econ[0-9]*\.dat.: owner differs$" err)"
	check_grep "^zdt: rollback: damaged snapshot AR [^ ]*: 100 more problems not shown$" err
	check_grep "^zdt: rollback: snapshot AR [^ ]* is damaged [(]1100 problems[)]$" err
	same_tree before src
'

test_done

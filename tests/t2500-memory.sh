#!/bin/bash
# t2500-memory: peak memory does not follow the number of files.  On a
# 100,000-file tree, backup, verify, diff, rollback (differential and into
# nothing) each stay under 32 MiB of peak RSS, read with getrusage(2)
# (ru_maxrss of the zdt process, through GNU time), not timed.
. "$(dirname "$0")/lib.sh"
require python3
[ -x /usr/bin/time ] || skip_all "missing /usr/bin/time (GNU time)"
[ -z "$ZDT_ASAN$ZDT_VALGRIND" ] || skip_all "the peak RSS of an ASan or valgrind run is theirs, not zdt's"

LIMIT_KIB=$((32 * 1024))

# peak_rss OUT CMD...: runs CMD, writes its peak RSS in KiB to OUT; CMD's
# exit status.  GNU time reports ru_maxrss from wait4(2); it is small, so
# the memory of the forked process before exec(2), which counts too, is
# not a Python's.
peak_rss() {
	local out=$1
	shift
	/usr/bin/time -f %M -o "$out" "$@" >/dev/null
}

# under_limit WHAT FILE: FILE holds a peak under the limit (and a real one)
under_limit() {
	local kib
	kib=$(tail -n 1 "$2")
	echo "# $1: peak RSS $kib KiB" >&9
	if [ "$kib" -lt 256 ] || [ "$kib" -gt "$LIMIT_KIB" ]; then
		echo "$1: peak RSS $kib KiB, limit $LIMIT_KIB KiB" >&9
		return 1
	fi
}

# wide_tree DIR N: N small files in folders of 100, one hardlink group per
# 1,000 files, one symlink per folder
wide_tree() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root)
for i in range(n):
    d = os.path.join(root, "mod%03d" % (i // 10000), "pkg%03d" % (i // 100 % 100))
    if i % 100 == 0:
        os.makedirs(d)
        os.symlink("../pkg000", os.path.join(d, "up"))
    p = os.path.join(d, "class%06d.properties" % i)
    with open(p, "w") as f:
        f.write("key%d=value%d\n" % (i, i * 7))
    if i % 1000 == 1:
        os.link(p, p + ".link")
EOF
}

# on a tmpfs: deleting 200,000 files of the scratch folder afterwards costs
# minutes on a file system mounted with discard
expect_success root,mount,umount 'a 100,000-file tree: backup, verify, diff and rollback (differential, into nothing, into an empty folder) each under 32 MiB' '
	mkdir m
	mount -t tmpfs -o size=3g tmpfs m
	when_finished "umount \"$PWD/m\""
	cd m
	wide_tree src 100000
	peak_rss m.backup "$ZDT" -q -b "$PWD/bk" backup -c AR src
	under_limit backup m.backup
	peak_rss m.verify "$ZDT" -q -b "$PWD/bk" verify -c AR
	under_limit verify m.verify
	"$ZDT_SRC/scripts/mutate-tree" src 5 7 >/dev/null
	must_fail 1 peak_rss m.diff "$ZDT" -q -b "$PWD/bk" diff -c AR
	under_limit diff m.diff
	peak_rss m.rollback "$ZDT" -q -b "$PWD/bk" rollback -c AR
	under_limit "differential rollback" m.rollback
	# into nothing: every file created (the tree moved aside, not deleted,
	# so that the run does not wait on the inodes of a big deletion)
	mv src gone
	peak_rss m.full "$ZDT" -q -b "$PWD/bk" rollback -c AR
	under_limit "full rollback" m.full
	test $(find src -type f | wc -l) = 100100
	zdt -b "$PWD/bk" diff -c AR >/dev/null
	# into an empty folder: checked as written, by the writer threads
	mv src gone2
	mkdir src
	peak_rss m.fresh "$ZDT" -v -b "$PWD/bk" rollback -c AR 2>fresh.err
	grep -q "files written by [12] writer thread" fresh.err
	under_limit "rollback into an empty folder" m.fresh
	test $(find src -type f | wc -l) = 100100
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

test_done

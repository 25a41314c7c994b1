#!/bin/bash
# t2050-bigfiles: files of 1 MiB and more are restored with direct I/O from an
# aligned buffer; sizes that are not a multiple of the block, holes at any
# place and trailing holes must come back exactly; the space check counts
# what sparse files really take.
. "$(dirname "$0")/lib.sh"
require python3 xxhsum

# big_tree DIR: big files with awkward sizes and holes
big_tree() {
	mkdir -p "$1/lib" "$1/data" || return 1
	python3 - "$1" <<'EOF' || return 1
import os, random, sys
d = sys.argv[1]
rnd = random.Random(2050)
def data(n):
    return rnd.randbytes(n)
for name, size in [("lib/exact-1m.jar", 1 << 20), ("lib/plus-one.jar", (1 << 20) + 1),
                   ("lib/odd.jar", 3 * (1 << 20) + 777), ("lib/minus-one.jar", (2 << 20) - 1),
                   ("lib/small.jar", 4095)]:
    with open(os.path.join(d, name), "wb") as f:
        f.write(data(size))
# sparse: data, a hole, unaligned data, a trailing hole
with open(os.path.join(d, "data/holes.db"), "wb") as f:
    f.write(data(100))
    f.seek(2 * (1 << 20) + 123)
    f.write(data(4097))
    f.seek(5 * (1 << 20) + 3 * 4096)
    f.write(data(1 << 20))
    f.truncate(9 * (1 << 20) + 5)
# a hole first, then data to the end
with open(os.path.join(d, "data/late.db"), "wb") as f:
    f.seek(3 * (1 << 20))
    f.write(data((1 << 20) + 9))
EOF
	chmod 4755 "$1/lib/odd.jar"
	touch -d '2024-02-29 12:34:56.123456789' "$1/lib/exact-1m.jar"
}

for c in none gzip; do
	expect_success "big files and holes, --compress $c: full rollback into nothing, then a rewrite" '
		big_tree src
		cp -a --sparse=always src pristine
		zdt -q -b "$PWD/bk" backup -c AR --compress '$c' src
		rm -rf src
		zdt -q -b "$PWD/bk" rollback -c AR
		tree_equal pristine src
		# the allocated size of the sparse file stays small
		test $(($(stat -c "%b*%B" src/data/holes.db))) -lt $((4 << 20))
		# rewrites go through a temporary file, also direct
		head -c 3000000 /dev/urandom >src/lib/odd.jar
		truncate -s 20M src/data/holes.db
		printf x >>src/lib/exact-1m.jar
		zdt -q -b "$PWD/bk" rollback -c AR
		tree_equal pristine src
		zdt -q -b "$PWD/bk" rollback -c AR --checksum
		tree_equal pristine src
	'
done

expect_success 'full rollback: a damaged big member is found before anything is created' '
	big_tree src
	zdt -q -b "$PWD/bk" backup -c AR src
	rm -rf src
	a=$(ls bk/AR/*/archive.tar)
	off=$(awk '"'"'$10 == "lib/odd.jar" {print $8}'"'"' bk/AR/*/manifest)
	test -n "$off"
	flip_byte "$a" $((off + 2000000))
	must_fail 4 zdt -b "$PWD/bk" rollback -c AR 2>err
	check_grep "lib/odd.jar" err
	check_grep "^hint: the live tree was not touched" err
	test ! -e src
'

expect_success root,mount,umount 'the space check counts holes only when it must: a big sparse file fits a small file system' '
	mkdir mnt
	mount -t tmpfs -o size=16m tmpfs mnt
	when_finished "umount \"$PWD/mnt\""
	mkdir mnt/src
	# 64 MiB long, 2 MiB of data
	python3 -c "
import os
with open(\"mnt/src/huge.db\", \"wb\") as f:
    f.write(os.urandom(1 << 20)); f.seek(40 << 20); f.write(os.urandom(1 << 20)); f.truncate(64 << 20)
"
	cp -a --sparse=always mnt/src pristine
	zdt -q -b "$PWD/bk" backup -c AR mnt/src
	rm -f mnt/src/huge.db
	zdt -b "$PWD/bk" -v rollback -c AR >out 2>err
	tree_equal --no-root pristine mnt/src
	# and a tree that does not fit even without holes is refused
	rm -f mnt/src/huge.db
	head -c 15M /dev/zero >mnt/filler
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR 2>err
	check_grep "not enough free space" err
	test ! -e mnt/src/huge.db
'

test_done

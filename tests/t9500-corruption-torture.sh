#!/bin/bash
# t9500-corruption-torture: 200 single-byte flips and 20 truncations at
# random (seeded) offsets of the archives (--compress none and gzip) and the
# manifests of two snapshots of the tiny tree (tests/run.sh --torture;
# t8500-corruption-quick.sh runs 8 flips and 4 truncations in make check).
#
# What zdt promises (SPEC.md, rollback/verify.c, rollback/plan.c): verify
# hashes the whole archive file against the manifest's archive line and the
# manifest against its checksum line, so every flip and every cut is found,
# in tar padding and unused pax fields too: `verify` exits 4.  A rollback
# checks the manifest always, and the archive members it needs one by one
# before its first change: `rollback --full` (every member needed) exits 4
# for every damaged manifest and for archive damage that a member's check
# reads, before touching the live tree (tree_stamp before and after: any
# write changes a ctime; no rollback-interrupted state).  Archive damage
# in bytes no member check reads (tar padding, pax fields zdt does not use)
# may let `rollback --full` go through: then the tree must equal the
# snapshot exactly (the case is named on the output).
# The live tree is the tiny tree after mutate-tree 5 42.
. "$(dirname "$0")/lib.sh"
require python3
need_mutate
FLIPS=${CORRUPT_FLIPS:-$(quick 200 8)}
CUTS=${CORRUPT_CUTS:-$(quick 20 4)}
SEED=${CORRUPT_SEED:-9500}

# plan: "flip|cut TARGET OFFSET" lines, TARGET one of none-archive,
# none-manifest, gzip-archive, gzip-manifest in turn
plan() {
	python3 - "$FLIPS" "$CUTS" "$SEED" "$(stat -c %s none/archive.tar)" "$(stat -c %s none/manifest)" \
		"$(stat -c %s gzip/archive.tar.gz)" "$(stat -c %s gzip/manifest)" <<-\EOF
	import random, sys
	flips, cuts, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
	size = dict(zip(["none-archive", "none-manifest", "gzip-archive", "gzip-manifest"], map(int, sys.argv[4:8])))
	targets = list(size)
	rnd = random.Random(seed)
	for i in range(flips):
	    t = targets[i % 4]
	    print("flip", t, rnd.randrange(size[t]))
	for i in range(cuts):
	    t = targets[i % 4]
	    print("cut", t, rnd.randrange(size[t]))
	EOF
}

# damage KIND TARGET OFFSET: flip the byte at OFFSET, or cut the file there
damage() {
	local f
	case $2 in
	none-archive) f=$SNAP_NONE/archive.tar ;;
	none-manifest) f=$SNAP_NONE/manifest ;;
	gzip-archive) f=$SNAP_GZIP/archive.tar.gz ;;
	gzip-manifest) f=$SNAP_GZIP/manifest ;;
	esac
	case $1 in
	flip) flip_byte "$f" "$3" ;;
	cut) truncate -s "$3" "$f" ;;
	esac
}

# restore: the pristine snapshot files back
restore() {
	cp none/archive.tar none/manifest "$SNAP_NONE/"
	cp gzip/archive.tar.gz gzip/manifest "$SNAP_GZIP/"
}

corrupt_case() { # KIND TARGET OFFSET
	local bk full=
	case $2 in none-*) bk=$BK ;; *) bk=$BK2 ;; esac
	case $2 in *-archive) full=--full ;; esac
	damage "$@"
	must_fail 4 zdt -b "$bk" verify 2>err
	grep -q "^zdt: verify: " err
	rc=0
	zdt -b "$bk" rollback -c AR $full 2>err || rc=$?
	if [ $rc = 0 ] && [ -n "$full" ]; then
		# the damage is in bytes no member's check reads (tar padding,
		# a pax field zdt does not use): what was restored must be the
		# snapshot exactly
		echo "# rollback --full went through (damage in bytes it does not use): $*" >&7
		same_tree pristine src
		rm -rf src && cp -a --sparse=always mutated src && tree_stamp src >stamp.before
		return 0
	fi
	check_eq "exit of rollback $full" 4 $rc
	grep -q "^zdt: rollback: " err
	tree_stamp src >stamp.now
	cmp stamp.before stamp.now || { echo "the live tree changed" >&9; return 1; }
	check_eq "rollback-interrupted" 0 "$(zdt -b "$bk" list | grep -c rollback-interrupted)"
}

expect_success "$FLIPS flipped bytes and $CUTS truncations of archives and manifests: exit 4, live tree untouched" '
	BK2=$PWD/bk2
	gen_tree src tiny
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK2" backup -c AR --compress gzip src >/dev/null
	SNAP_NONE=$(snap_dir AR)
	SNAP_GZIP=$(BK=$BK2 snap_dir AR)
	mkdir none gzip
	cp "$SNAP_NONE/archive.tar" "$SNAP_NONE/manifest" none/
	cp "$SNAP_GZIP/archive.tar.gz" "$SNAP_GZIP/manifest" gzip/
	"$MUTATE" src 5 42 >/dev/null
	cp -a --sparse=always src mutated
	tree_stamp src >stamp.before
	# after a case that did not hold: the mutated tree again
	CAMPAIGN_RECOVER="rm -rf src && cp -a --sparse=always mutated src && tree_stamp src >stamp.before && restore"
	plan >plan
	while read -r kind target off; do
		campaign_case "$kind $target at $off" corrupt_case $kind $target $off
		restore
	done <plan
	campaign_done "corruption"
	# the snapshots, put back, are intact and roll back
	zdt -b "$BK" verify >/dev/null
	zdt -b "$BK2" verify >/dev/null
	zdt -b "$BK2" rollback -c AR >/dev/null
'

test_done

#!/bin/bash
# t9600-hostile-torture: a corpus of crafted snapshots (tests/hostile.py):
# `..` members, absolute paths, members below a symlink, a symlink then a
# file of the same name, hardlinks to outside, device nodes, setuid files
# not in the manifest, duplicate entries, entries missing from the archive,
# sizes that lie, names with newlines and invalid UTF-8, paths over
# PATH_MAX, manifests that disagree with the archive.  Each snapshot passes
# the integrity checks (the manifest's checksum and archive lines, meta's
# counts: made right by hostile.py and tests/manifest.py) and reaches the
# checks of its entries.  Each must be refused with exit 4 by verify and by
# rollback --full, the message naming the entry, nothing written outside
# the install dir (the test folder, a sentinel folder the entries point at,
# /etc/passwd) and the live tree untouched.  Two control cases, built the
# same way with nothing hostile, must verify and roll back: they prove that
# the refusals come from the hostile entries.  The quick file
# t8600-hostile-quick.sh runs a few cases; HOSTILE_CASES="a b" picks some.
. "$(dirname "$0")/lib.sh"
require python3 xxhsum
HOSTILE=$TESTS_DIR/hostile.py

# the cases: all under --torture, a few in make check
if [ -n "${HOSTILE_CASES:-}" ]; then
	CASES=$HOSTILE_CASES
elif [ -n "$QUICK" ]; then
	# the first ones held from the start; the others each found a defect
	# (verify: a member below a symlink, a hardlink to a symlink; rollback
	# --full: an archive that disagrees on a type or has a member more;
	# a message cut across lines by a newline in a name)
	CASES="control dotdot absolute hardlink-absolute duplicate below-symlink hardlink-to-symlink
		device-disagrees archive-extra-below-symlink newline-dotdot"
else
	CASES=$(python3 "$HOSTILE" list | cut -d" " -f1)
fi

# outside_state: what must not change outside the install dir
outside_state() {
	(cd "$TRASH" && find . -mindepth 1 -path ./src -prune -o -path ./bk -prune -o -name "*.now" -prune -o \
		-name "*.before" -prune -o -name "err*" -prune -o -printf "%y %m %s %T@ %C@ %p -> %l\n" | sort)
	stat -c "%i %s %Y %Z %h" /etc/passwd
}

hostile_case() { # NAME EXPECT WHAT
	local name=$1 expect=$2 what=$3 snap bad=
	rm -rf src bk outside
	mkdir outside
	echo sentinel >outside/SENTINEL
	python3 "$HOSTILE" tree "$name" src
	zdt -b "$BK" backup -c AR src >/dev/null
	snap=$(snap_dir AR)
	python3 "$HOSTILE" build "$name" "$snap" "$TRASH/outside"
	# the live tree: the base tree and a file the rollback would remove
	echo added >src/conf/added.cfg
	tree_stamp src >stamp.before
	outside_state >outside.before
	case $expect in
	ok)
		zdt -b "$BK" verify >/dev/null
		zdt -b "$BK" rollback -c AR --full >/dev/null
		test ! -e src/conf/added.cfg
		zdt -b "$BK" diff -c AR --checksum >/dev/null
		;;
	refuse)
		# verify names damaged entries on stdout, its verdict on stderr
		# (a failed expectation is noted, and the checks of what was
		# written go on)
		must_fail 4 zdt -b "$BK" verify >err.verify 2>&1 || bad=1
		must_fail 4 zdt -b "$BK" rollback -c AR --full 2>err.rollback || bad=1
		# a differential rollback checks the members it needs (the whole
		# archive only when most are needed): it may go through, but
		# only with what the manifest says, and never outside
		rc=0
		zdt -b "$BK" rollback -c AR >/dev/null 2>err.rollback2 || rc=$?
		case $rc in
		4) tree_stamp src >stamp.now; cmp stamp.before stamp.now ;;
		0) echo "# $name: the differential rollback went through" >&7 ;;
		*) echo "$name: differential rollback: exit $rc" >&9; return 1 ;;
		esac
		# one line a message: an entry name with a newline stays escaped
		if grep -v -q "^zdt: \|^AR \|^hint: \|^  " err.rollback; then
			echo "$name: a message of rollback is cut across lines:" >&9
			sed 's/^/    | /' err.rollback >&9
			return 1
		fi
		for f in err.verify err.rollback; do
			grep -q -F -- "$what" $f || {
				echo "$name: $f does not name '$what':" >&9
				sed 's/^/    | /' $f >&9
				bad=1
			}
		done
		if [ $rc = 4 ]; then
			tree_stamp src >stamp.now
			cmp stamp.before stamp.now || { echo "$name: the live tree changed" >&9; return 1; }
		fi
		check_eq "$name: rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
		# into an empty folder, where members are checked as they are
		# written: exit 4, and the folder is left empty
		mv src src.live
		mkdir src
		rc=0
		zdt -b "$BK" rollback -c AR >/dev/null 2>err.rollback3 || rc=$?
		[ $rc = 4 ] || { echo "$name: rollback into an empty folder: exit $rc" >&9; bad=1; }
		[ -z "$(ls -A src)" ] || { echo "$name: rollback into an empty folder left files" >&9; bad=1; }
		rm -rf src
		mv src.live src
		;;
	esac
	outside_state >outside.now
	cmp outside.before outside.now || {
		echo "$name: something outside the install dir changed:" >&9
		diff outside.before outside.now | sed 's/^/    /' >&9
		return 1
	}
	test ! -e escape && test ! -e outside/abs-escape && test ! -e outside/target
	[ -z "$bad" ]
}

expect_success 'crafted snapshots: each hostile one refused with exit 4 naming the entry, nothing written outside' '
	python3 "$HOSTILE" list >cases
	for name in $CASES; do
		set -- $(grep "^$name " cases)
		test $# = 3 || { echo "no case $name"; false; }
		campaign_case "$name" hostile_case "$@"
		cp err.verify "err.verify.$name" 2>/dev/null || :
		cp err.rollback "err.rollback.$name" 2>/dev/null || :
		rm -f err.verify err.rollback err.rollback2
	done
	campaign_done "hostile snapshots"
'

test_done

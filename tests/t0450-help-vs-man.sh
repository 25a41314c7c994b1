#!/bin/bash
# t0450-help-vs-man: the help texts and the man pages tell the same story.
#
# Each command's usage line(s) in 'zdt help COMMAND' equal its SYNOPSIS line
# in man/zdt.1 (as mandoc renders it), every long option of the help texts
# and every field of the --json documents is in zdt.1, help goes to stdout
# with exit 0, and mandoc -Tlint is clean on every man page.
# After git's t/t0450-txt-doc-vs-help.sh.
. "$(dirname "$0")/lib.sh"

MAN1=$ZDT_SRC/man/zdt.1

# the commands that 'zdt --help' lists, one per line
help_commands() {
	"$ZDT" --help | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z-]*\)  *.*/\1/p'
}

# the usage of 'zdt help CMD': the text after "usage: " up to the first
# empty line, on one line with single spaces
help_synopsis() {
	"$ZDT" help "$1" | awk '
		NR == 1 { if (sub(/^usage: /, "") == 0) exit 1 }
		/^[ \t]*$/ { exit }
		{ print }' | tr -s ' \t\n' '   ' | sed 's/^ //; s/ $//'
}

# man_synopsis MANFILE: the SYNOPSIS entries of MANFILE rendered by mandoc,
# one per line, whitespace collapsed; an entry starts on a line indented
# as little as the section's first line, its continuation lines are indented
# deeper
man_synopsis() {
	mandoc -Tascii "$1" | col -b | awk '
		/^SYNOPSIS$/ { in_syn = 1; next }
		in_syn && /^[^ \t]/ { exit }
		!in_syn || /^[ \t]*$/ { next }
		{
			line = $0
			gsub(/\t/, "        ", line)
			match(line, /^ */)
			if (indent == "" || RLENGTH <= indent) {
				indent = RLENGTH
				if (entry != "") print entry
				entry = ""
			}
			entry = entry " " line
		}
		END { if (entry != "") print entry }' |
		tr -s ' \t' '  ' | sed 's/^ //; s/ $//'
}

# check_synopses MANFILE: each command's help usage equals the one SYNOPSIS
# entry of MANFILE that starts with "zdt COMMAND"; prints each difference
check_synopses() {
	local man=$1 cmd want got n bad=0 syn
	syn=$TEST_OUT/.synopsis.$BASHPID
	man_synopsis "$man" >"$syn"
	test -s "$syn" || { echo "no SYNOPSIS entries in $man" >&2; return 1; }
	for cmd in $(help_commands); do
		[ "$cmd" != help ] || continue
		want=$(help_synopsis "$cmd") || { echo "zdt help $cmd: no 'usage: ' line" >&2; bad=1; continue; }
		n=$(grep -c -e "^zdt $cmd\$" -e "^zdt $cmd " "$syn" || true)
		if [ "$n" != 1 ]; then
			echo "SYNOPSIS of $man: $n entries for 'zdt $cmd', want 1" >&2
			bad=1
			continue
		fi
		got=$(grep -e "^zdt $cmd\$" -e "^zdt $cmd " "$syn")
		if [ "$got" != "$want" ]; then
			printf 'synopsis of %s differs:\n  zdt help %s: %s\n  SYNOPSIS of %s: %s\n' \
				"$cmd" "$cmd" "$want" "${man##*/}" "$got" >&2
			bad=1
		fi
	done
	rm -f "$syn"
	return $bad
}

expect_success 'zdt --help lists the commands backup, list, verify, diff, rollback, cleanup, help' '
	help_commands >cmds
	for c in backup list verify diff rollback cleanup help; do check_grep "^$c\$" cmds; done
'

expect_success mandoc,col 'each command'"'"'s usage equals its SYNOPSIS line in zdt.1' '
	check_synopses "$MAN1"
'

expect_success mandoc,col 'a SYNOPSIS line that differs from the usage is caught' '
	sed "s/^\.Op Fl -dry-run\$/.Op Fl -dry-run-not/" "$MAN1" >changed.1
	if cmp -s "$MAN1" changed.1; then echo "sed did not change the backup synopsis" >&2; false; fi
	if check_synopses changed.1 2>err; then
		echo "a changed backup synopsis was not caught" >&2
		false
	fi
	check_grep "synopsis of backup differs" err
	sed "/^\.Cm verify\$/,/^\.Nm/s/^\.Op Fl -snapshot Ar ID | Fl -all\$/.Op Fl -snapshot Ar ID/" "$MAN1" >changed2.1
	if cmp -s "$MAN1" changed2.1; then echo "sed did not change the verify synopsis" >&2; false; fi
	if check_synopses changed2.1 2>err; then
		echo "a changed verify synopsis was not caught" >&2
		false
	fi
	check_grep "synopsis of verify differs" err
	sed "s/^\.Op Fl -no-server-check\$/.Op Fl -no-server-checks/" "$MAN1" >changed3.1
	if cmp -s "$MAN1" changed3.1; then echo "sed did not change the rollback synopsis" >&2; false; fi
	if check_synopses changed3.1 2>err; then
		echo "a changed rollback synopsis was not caught" >&2
		false
	fi
	check_grep "synopsis of rollback differs" err
'

expect_success mandoc,col 'every long option of the help texts is in zdt.1' '
	mandoc -Tascii -O width=400 "$MAN1" | col -b >man.txt
	{
		"$ZDT" --help
		for c in $(help_commands); do "$ZDT" help "$c"; done
	} | grep -o -E -e "--[a-z][a-z0-9-]*" | sort -u >opts
	test -s opts
	missing=
	while read -r o; do
		grep -q -E -e "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" man.txt || missing="$missing $o"
	done <opts
	if [ -n "$missing" ]; then
		echo "long options missing from zdt.1:$missing" >&2
		false
	fi
'

expect_success mandoc,col,python3 'every field of the --json documents is in zdt.1' '
	mandoc -Tascii -O width=400 "$MAN1" | col -b >man.txt
	gen_tree src
	zdt -b "$BK" --json backup -c AR --dry-run src >dry.json 2>/dev/null
	zdt -b "$BK" --json backup -c AR src >backup.json 2>/dev/null
	zdt -b "$BK" --json list >list.json
	zdt -b "$BK" --json verify >verify.json 2>/dev/null
	# an upgrade of AR: a file changed, one added, one removed
	echo upgraded >>src/conf/ar.cfg
	echo new >src/added-by-upgrade.txt
	rm src/.install.properties
	must_fail 1 zdt -b "$BK" --json diff -c AR >diff.json 2>/dev/null
	zdt -b "$BK" --json rollback -c AR --dry-run >plan.json 2>/dev/null
	zdt -b "$BK" --json rollback -c AR >rollback.json 2>/dev/null
	zdt -b "$BK" --json diff -c AR >same.json 2>/dev/null
	zdt -b "$BK" backup -c AR src >/dev/null 2>&1
	zdt -b "$BK" --json cleanup --keep-last 1 --dry-run >cleanup.json 2>/dev/null
	must_fail 5 zdt -b "$BK" --json rollback -c AtriumCore >error.json 2>/dev/null
	flip_byte "$(snap_dir AR)/archive.tar" 3100
	must_fail 4 zdt -b "$BK" --json verify >damaged.json 2>/dev/null
	zdt --json selftest "$TRASH/st" >selftest.json 2>/dev/null
	# a failed selftest lists its differences (test build only)
	echo "{}" >selftest-failed.json
	if [ -x "$ZDT_SRC/zdt-test" ]; then
		ZDT_TEST_SELFTEST_BREAK=mode "$ZDT_SRC/zdt-test" --json selftest "$TRASH/st2" >selftest-failed.json 2>/dev/null || :
	fi
	python3 -c "
import json, sys
keys = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            keys.add(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
for f in sys.argv[1:]:
    walk(json.load(open(f)))
print(\"\n\".join(sorted(keys)))" dry.json backup.json list.json verify.json damaged.json \
		diff.json plan.json rollback.json same.json cleanup.json error.json selftest.json selftest-failed.json >keys
	for k in offset change action metadata_fixed removed_count kept error exit features mount_options; do
		check_grep "^$k\$" keys
	done
	missing=
	while read -r k; do
		grep -q -F -e "\"$k\"" man.txt || missing="$missing $k"
	done <keys
	if [ -n "$missing" ]; then
		echo "JSON fields missing from zdt.1:$missing" >&2
		false
	fi
'

expect_success 'zdt -h, --help, help and help COMMAND print on stdout, exit 0' '
	for args in -h --help help; do
		zdt $args >out 2>err
		test ! -s err
		check_grep "^usage: zdt " out
	done
	for c in $(help_commands); do
		zdt help "$c" >out 2>err
		test ! -s err
		check_grep "^usage: zdt $c( |\$)" out
		zdt "$c" -h >out2 2>err
		test ! -s err
		cmp out out2
	done
'

expect_success 'an unknown option of each command: stderr only, exit 2' '
	for c in $(help_commands); do
		must_fail 2 zdt -b "$BK" "$c" --no-such-option >out 2>err
		test ! -s out
		check_grep "no-such-option" err
	done
	test ! -e "$BK"
'

expect_success mandoc 'mandoc -Tlint -Wwarning is clean on every man page' '
	test -f "$ZDT_SRC/man/zdt.1"
	test -f "$ZDT_SRC/man/zdt-manifest.5"
	for m in "$ZDT_SRC"/man/*.[1-9]; do
		mandoc -Tlint -Wwarning "$m" >lint 2>&1 || { cat lint >&2; false; }
		if [ -s lint ]; then
			cat lint >&2
			false
		fi
	done
'

test_done

#!/bin/bash
# t2400-busy: rollback refuses (exit 3) while a process holds files under
# the install folder, naming it; --ignore-busy overrides; zdt's own
# ancestors (a wrapper run from the install folder) do not count.
. "$(dirname "$0")/lib.sh"
require python3

# hold KIND DIR: a background process holding DIR (cwd) or a file under it
# (fd); its pid in $holder
hold() {
	case $1 in
	cwd) (cd "$2" && exec sleep 60) & ;;
	fd) sleep 60 3<"$2" & ;;
	esac
	holder=$!
	when_finished "kill $holder 2>/dev/null; wait $holder 2>/dev/null; :"
	# wait until the process is there with its cwd or fd
	for _ in $(seq 50); do
		ls -l /proc/$holder/cwd /proc/$holder/fd 2>/dev/null | grep -q "$(realpath "$2")" && return 0
		sleep 0.1
	done
	echo "hold: $holder does not hold $2" >&9
	return 1
}

setup() {
	gen_tree src
	zdt -q -b "$PWD/bk" backup -c AR src
	echo changed >>src/conf/ar.cfg
	tree_stamp src >before
}

expect_success 'a process working in the install folder: refused, pid and command named, nothing changed' '
	setup
	hold cwd src/bin
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR >out 2>err
	check_grep "is in use: pid $holder \(sleep\)" err
	check_grep "cwd .*/src/bin" err
	check_grep "^hint: .*--ignore-busy" err
	tree_stamp src >after
	diff before after
	# the dry run makes the same check
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR --dry-run 2>err
	check_grep "is in use" err
'

expect_success 'a file held open: refused; --ignore-busy rolls back with a warning' '
	setup
	hold fd src/conf/ar.cfg
	must_fail 3 zdt -b "$PWD/bk" rollback -c AR 2>err
	check_grep "pid $holder \(sleep\).*fd .*/src/conf/ar.cfg" err
	zdt -b "$PWD/bk" rollback -c AR --ignore-busy >out 2>err
	check_grep "warning: rolling back .* although pid $holder \(sleep\)" err
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

expect_success 'the wrapper that runs zdt from the install folder does not count' '
	setup
	# bash waits for zdt (no exec: a second command follows), its cwd in src/bin
	(cd src/bin && exec bash -c "\"$ZDT\" -q -b \"$PWD/../../bk\" rollback -c AR; rc=\$?; exit \$rc")
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

expect_success 'a folder nobody uses: no refusal, and --json still names the error when busy' '
	setup
	hold cwd src
	must_fail 3 zdt -b "$PWD/bk" --json rollback -c AR >out 2>err
	json_get out "d[\"exit\"] == 3 and \"in use\" in d[\"error\"]" | grep -qx true
	kill $holder; wait $holder 2>/dev/null || :
	zdt -q -b "$PWD/bk" rollback -c AR
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

test_done

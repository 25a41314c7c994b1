#!/bin/bash
# t7300-excluded-report: rollback names the paths excluded at backup time
# that changed since the snapshot (mtime after its creation), a warning
# each, at most 20 and then "and N more"; --json has them as an array; they
# are left as they are.
. "$(dirname "$0")/lib.sh"
require python3

setup() {
	gen_tree src
	mkdir -p src/logs/old
	echo old >src/logs/old/kept.log
	echo old >src/cache.tmp
	touch -d "2020-01-01" src/logs/old/kept.log src/cache.tmp src/logs/old
	zdt -q -b "$PWD/bk" backup -c AR --exclude logs --exclude "*.tmp" src
	# the upgrade, later than the snapshot
	future=$(date -d "+1 hour" "+%Y-%m-%d %H:%M:%S")
	echo changed >>src/conf/ar.cfg
	echo new >src/logs/upgrade.log
	echo new >src/bin/build.tmp
	touch -d "$future" src/logs/upgrade.log src/bin/build.tmp src/logs
}

expect_success 'changed excluded paths are named and left alone; unchanged ones are not named' '
	setup
	zdt -b "$PWD/bk" rollback -c AR >out 2>err
	check_grep "warning: AR: .logs/upgrade.log. was excluded from the snapshot and changed since [0-9T:-]+Z; it is left as it is, by design" err
	check_grep "warning: AR: .bin/build.tmp. was excluded" err
	check_grep "warning: AR: .logs. was excluded" err
	check_no_grep "kept.log|cache.tmp|logs/old" err
	test -f src/logs/upgrade.log
	test -f src/bin/build.tmp
	test -f src/logs/old/kept.log
	zdt -b "$PWD/bk" diff -c AR >/dev/null
'

expect_success 'the dry run and --check name them too; --json has the array and the count' '
	setup
	zdt -b "$PWD/bk" rollback -c AR --dry-run >out 2>err
	check_grep "logs/upgrade.log. was excluded" err
	zdt -b "$PWD/bk" --json rollback -c AR --check >out.json 2>err
	json_get out.json "sorted(d[\"components\"][0][\"excluded_changed\"])" >got
	check_eq array "[\"bin/build.tmp\", \"logs\", \"logs/upgrade.log\"]" "$(cat got)"
	json_get out.json "d[\"components\"][0][\"excluded_changed_count\"]" | grep -qx 3
	zdt -b "$PWD/bk" --json rollback -c AR --dry-run >dry.json 2>err
	json_get dry.json "d[\"components\"][0][\"excluded_changed_count\"]" | grep -qx 3
	zdt -b "$PWD/bk" --json rollback -c AR >done.json 2>err
	json_get done.json "sorted(d[\"components\"][0][\"excluded_changed\"])" >got
	check_eq array "[\"bin/build.tmp\", \"logs\", \"logs/upgrade.log\"]" "$(cat got)"
'

expect_success 'at most 20 are named, then "and N more"' '
	setup
	for i in $(seq 1 30); do echo x >src/logs/n$i.log; done
	touch -d "$future" src/logs/n*.log src/logs
	zdt -b "$PWD/bk" rollback -c AR >out 2>err
	test "$(grep -c "was excluded from the snapshot" err)" = 20
	check_grep "warning: AR: and 13 more excluded paths changed since the snapshot, left as they are" err
'

test_done

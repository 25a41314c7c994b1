#!/bin/bash
# t0000-cli: command line, help, usage errors, global options, config.
. "$(dirname "$0")/lib.sh"

expect_success '--help and -h print the usage on stdout, exit 0' '
	for h in --help -h; do
		zdt $h >out 2>err
		test ! -s err
		check_grep "^usage: zdt " out
		for c in backup list verify help; do check_grep "^  $c " out; done
	done
'

expect_success 'help COMMAND and COMMAND --help print its usage on stdout, exit 0' '
	for c in backup list verify; do
		zdt help $c >out 2>err
		test ! -s err
		check_grep "^usage: zdt $c" out
		zdt $c --help >out2 2>err
		test ! -s err
		cmp out out2
		zdt $c -h >out3
		cmp out out3
	done
	zdt help backup >out
	for o in --compress --exclude --reserve --dry-run -c; do check_grep "$o" out; done
'

expect_success 'help with an unknown command is a usage error' '
	must_fail 2 zdt help frobnicate >out 2>err
	test ! -s out
	check_grep frobnicate err
'

expect_success '--version prints the version on stdout' '
	zdt --version >out 2>err
	test ! -s err
	check_grep "^zdt [0-9]+\.[0-9]+(\.[0-9]+)?" out
	test $(wc -l <out) = 1
'

expect_success 'no command: usage on stderr, exit 2' '
	must_fail 2 zdt >out 2>err
	test ! -s out
	check_grep "usage: zdt" err
'

expect_success 'unknown command: exit 2, named on stderr' '
	must_fail 2 zdt frobnicate >out 2>err
	test ! -s out
	check_grep "^zdt: .*frobnicate" err
	must_fail 2 zdt -b "$BK" frobnicate list >out 2>err
	check_grep frobnicate err
	test ! -e "$BK"
'

expect_success 'unknown options: exit 2, the option named' '
	must_fail 2 zdt --frobnicate list >out 2>err
	test ! -s out
	check_grep "^zdt: .*--frobnicate" err
	must_fail 2 zdt -b "$BK" list --frobnicate >out 2>err
	test ! -s out
	check_grep "^zdt: list: .*--frobnicate" err
	must_fail 2 zdt -b "$BK" backup -c AR --frobnicate . >out 2>err
	check_grep "^zdt: backup: .*--frobnicate" err
	must_fail 2 zdt -b "$BK" verify -Z >out 2>err
	check_grep "^zdt: verify: .*-Z" err
	test ! -e "$BK"
'

expect_success 'an option without its value is a usage error' '
	must_fail 2 zdt list -b 2>err
	check_grep "-b" err
	must_fail 2 zdt -b "$BK" backup -c 2>err
	must_fail 2 zdt -b "$BK" backup -c AR --exclude 2>err
	test ! -e "$BK"
'

expect_success 'backup without -c is a usage error' '
	gen_tree src
	must_fail 2 zdt -b "$BK" backup src >out 2>err
	test ! -s out
	check_grep "^zdt: backup: " err
	test ! -e "$BK"
'

expect_success 'an unknown component is a usage error listing the valid names' '
	gen_tree src
	for c in foo "" AR2 "AR,AtriumCore"; do
		must_fail 2 zdt -b "$BK" backup -c "$c" src >out 2>err
		test ! -s out
		check_grep "^zdt: backup: " err
		check_grep "AR" err
		check_grep "AtriumCore" err
		check_grep "AtriumIntegrator" err
	done
	must_fail 2 zdt -b "$BK" list -c foo 2>err
	check_grep AtriumIntegrator err
	must_fail 2 zdt -b "$BK" verify -c foo 2>err
	check_grep AtriumIntegrator err
	test ! -e "$BK"
'

expect_success 'component names and aliases, case-insensitive' '
	gen_tree src
	zdt -b "$BK" backup -c ar src
	zdt -b "$BK" backup -c cmdb src
	zdt -b "$BK" backup -c ai src
	zdt -b "$BK" backup -c ARSYSTEM src
	zdt -b "$BK" backup -c atriumcore src
	zdt -b "$BK" backup -c AtriumIntegrator src
	test "$(ls "$BK" | grep -v -e "^\.lock$" -e "^audit\.log$" | sort | paste -sd " ")" = "AR AtriumCore AtriumIntegrator"
	check_eq "AR snapshots" 2 "$(count_complete AR)"
	check_eq "AtriumCore snapshots" 2 "$(count_complete AtriumCore)"
	check_eq "AtriumIntegrator snapshots" 2 "$(count_complete AtriumIntegrator)"
	zdt -b "$BK" --json list -c Cmdb >l.json
	check_eq "components of list -c Cmdb" "[\"AtriumCore\", \"AtriumCore\"]" "$(json_get l.json "[s[\"component\"] for s in d[\"snapshots\"]]")"
	zdt -b "$BK" --json list -c arsystem -c AI >l.json
	check_eq "components of list -c arsystem -c AI" "[\"AR\", \"AR\", \"AtriumIntegrator\", \"AtriumIntegrator\"]" \
		"$(json_get l.json "sorted(s[\"component\"] for s in d[\"snapshots\"])")"
'

expect_success 'global options before and after the command' '
	gen_tree src
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt backup -b "$BK" -c AR src >/dev/null
	zdt --backup-dir "$BK" list >a
	zdt list --backup-dir "$BK" >b
	zdt list -b "$BK" >c
	cmp a b
	cmp a c
	test $(grep -c "^AR " a) = 2
	zdt --json -b "$BK" list >j1
	zdt list -b "$BK" --json >j2
	cmp j1 j2
	check_eq "snapshots in JSON" 2 "$(json_get j1 "len(d[\"snapshots\"])")"
	zdt -q list -b "$BK" >/dev/null
	zdt list --progress never -b "$BK" >/dev/null
'

expect_success 'global options after the INSTALL_DIR operand' '
	gen_tree src
	zdt backup -c AR src -b "$BK" >/dev/null
	zdt backup -c AR src --json -b "$BK" >j
	check_eq "backup --json ok" true "$(json_get j "d[\"ok\"]")"
	check_eq "snapshots" 2 "$(count_complete AR)"
'

expect_success 'invalid --progress is a usage error' '
	must_fail 2 zdt -b "$BK" --progress x list 2>err
	check_grep "progress" err
	must_fail 2 zdt -b "$BK" list --progress sometimes 2>err
	check_grep "sometimes" err
	gen_tree src
	for p in auto always never; do zdt -b "$BK" --progress $p backup -c AR src >/dev/null 2>&1; done
	check_eq "snapshots" 3 "$(count_complete AR)"
'

expect_success 'invalid --compress is a usage error, nothing written' '
	gen_tree src
	for c in gzip:10 gzip:0 zstd gzip: "gzip:1x" ""; do
		must_fail 2 zdt -b "$BK" backup -c AR --compress "$c" src 2>err
		check_grep "compress" err
	done
	test ! -e "$BK"
	for c in none gzip gzip:1 gzip:9; do zdt -b "$BK" backup -c AR --compress $c src >/dev/null; done
	check_eq "snapshots" 4 "$(count_complete AR)"
'

expect_success 'sizes: --reserve 12Q is a usage error, K M G T with iB/B accepted' '
	gen_tree src
	for r in 12Q 12KQ -1M "" M 99999999999999999999; do
		must_fail 2 zdt -b "$BK" backup -c AR --reserve "$r" src 2>err
		check_grep "reserve" err
	done
	test ! -e "$BK"
	for r in 1048576:1048576 64M:67108864 64MiB:67108864 64MB:67108864 2K:2048 2KB:2048 1G:1073741824 1GiB:1073741824; do
		zdt -b "$BK" --json backup -c AR --dry-run --reserve ${r%%:*} src >d.json
		check_eq "reserve_bytes of --reserve ${r%%:*}" ${r#*:} "$(json_get d.json "d[\"reserve_bytes\"]")"
	done
	# T: more than this disk has, refused
	must_fail 3 zdt -b "$BK" backup -c AR --reserve 1T src 2>err
	check_grep "1(\.0+)? TiB" err
'

expect_success 'a config file with a syntax error: exit 2 naming FILE:LINE' '
	printf "# comment\nbackup-dir = %s\n[AR]\npath /opt/x\n" "$BK" >bad.conf
	must_fail 2 zdt --config bad.conf list >out 2>err
	test ! -s out
	check_grep "bad\.conf:4" err
	must_fail 2 env ZDT_CONFIG=bad.conf "$ZDT" list 2>err
	check_grep "bad\.conf:4" err
	printf "backup-dir = %s\n[NoSuchComponent]\npath = /x\n" "$BK" >bad2.conf
	must_fail 2 zdt --config bad2.conf list 2>err
	check_grep "bad2\.conf:2" err
	must_fail 2 zdt --config missing.conf list 2>err
	check_grep "missing\.conf" err
'

expect_success '$ZDT_BACKUP_DIR and backup-dir from the config when -b is absent' '
	gen_tree src
	mkdir other
	ZDT_BACKUP_DIR="$BK" zdt backup -c AR src >/dev/null
	test -d "$BK/AR"
	check_eq "snapshots" 1 "$(count_complete AR)"
	printf "# zdt\nbackup-dir = %s\n\n[AR]\npath = %s\n" "$PWD/other" "$PWD/src" >zdt.conf
	zdt --config zdt.conf backup -c AR >/dev/null
	test -d other/AR
	check_eq "snapshots in $BK" 1 "$(count_complete AR)"
	ZDT_CONFIG=zdt.conf zdt backup -c AR >/dev/null
	check_eq "snapshots in other" 2 "$(BK=$PWD/other count_complete AR)"
	# -b beats $ZDT_BACKUP_DIR, which beats the config
	ZDT_BACKUP_DIR="$BK" zdt --config zdt.conf backup -c AR src >/dev/null
	check_eq "snapshots in $BK" 2 "$(count_complete AR)"
	ZDT_BACKUP_DIR="$PWD/nowhere" zdt -b "$BK" --config zdt.conf backup -c AR src >/dev/null
	check_eq "snapshots in $BK" 3 "$(count_complete AR)"
	test ! -e nowhere
	check_eq "snapshots in other" 2 "$(BK=$PWD/other count_complete AR)"
	ZDT_BACKUP_DIR="$BK" zdt --config zdt.conf list >l
	test $(grep -c "^AR " l) = 3
'

expect_success 'stdout is checked at the end: list > /dev/full fails' '
	gen_tree src
	zdt -b "$BK" backup -c AR src >/dev/null
	must_fail 1 zdt -b "$BK" list >/dev/full 2>err
	check_grep "^zdt: list: " err
	must_fail 1 zdt -b "$BK" --json list >/dev/full 2>err
	check_grep "^zdt: list: " err
	must_fail 1 zdt -b "$BK" verify >/dev/full 2>err
'

expect_success '-q: a successful backup prints nothing' '
	gen_tree src
	zdt -q -b "$BK" backup -c AR src >out 2>err
	test ! -s out
	test ! -s err
	check_eq "snapshots" 1 "$(count_complete AR)"
'

test_done

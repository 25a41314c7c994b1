#!/bin/bash
# t5000-wrappers: packaging/rollback.sh and cleanup.sh, the wrappers for the
# installcompletionutility folders, with their documented command line
#   rollback.sh "<AR Server Name>" "<AR Admin User Name>" "<AR Admin password>" [AtriumCore]
# run from fake .../COMPONENT/installcompletionutility/ folders on real
# generated trees backed up by zdt; the component taken from the folder
# (or a zdt-component file); the password never on another command line;
# usage errors; shellcheck; and a static look at the .bat twins.
. "$(dirname "$0")/lib.sh"
require python3

PKG=$ZDT_SRC/packaging
MUTATE=$ZDT_SRC/scripts/mutate-tree
# blanks and shell specials, no quote or backslash (strace escapes those)
PW='pw 5000 $HOME;&|<x>*'
USAGE='usage: rollback.sh "<AR Server Name>" "<AR Admin User Name>" "<AR Admin password>" [AtriumCore]'
CUSAGE='usage: cleanup.sh ["<AR Server Name>" "<AR Admin User Name>" "<AR Admin password>" [AtriumCore]]'

# place DIR SCRIPT: DIR/installcompletionutility/SCRIPT, a copy of the wrapper
place() {
	mkdir -p "$1/installcompletionutility" &&
		cp "$PKG/$2" "$1/installcompletionutility/$2"
}

# three_trees: inst/ar, inst/ac, inst/ai backed up into $BK as AR,
# AtriumCore, AtriumIntegrator, then changed by mutate-tree; sum-T: the
# treesum of the pristine tree T (from gen_tree's cache), stamp-T: the
# changed tree's stamp
three_trees() {
	mkdir inst
	gen_tree inst/ar tiny 1 && gen_tree inst/ac tiny 2 && gen_tree inst/ai tiny 3 || return 1
	"$ZDT" -q -b "$BK" backup -c AR inst/ar &&
		"$ZDT" -q -b "$BK" backup -c AtriumCore inst/ac &&
		"$ZDT" -q -b "$BK" backup -c AtriumIntegrator inst/ai || return 1
	local t s=1
	for t in ar ac ai; do
		tree_sum_cached "inst/$t" >"sum-$t" || return 1
		"$MUTATE" "inst/$t" 20 "$s" >/dev/null || return 1
		tree_stamp "inst/$t" >"stamp-$t"
		s=$((s + 1))
	done
}

# restored T...: inst/T equals the pristine tree T again (treesums, in
# parallel)
restored() {
	local t rc=0
	for t in "$@"; do
		tree_sum "inst/$t" >"got-$t" &
	done
	wait
	for t in "$@"; do
		if ! cmp -s "sum-$t" "got-$t"; then
			echo "restored: inst/$t differs from the pristine tree:" >&9
			diff "sum-$t" "got-$t" | head -n 20 | sed 's/^/    /' >&9
			rc=1
		fi
	done
	return $rc
}

# untouched T...: inst/T is as mutate-tree left it
untouched() {
	local t
	for t in "$@"; do
		tree_stamp "inst/$t" | cmp -s - "stamp-$t" || {
			echo "untouched: inst/$t was changed" >&9
			return 1
		}
	done
}

# lacks STRING FILE: FILE does not contain STRING (fixed string)
lacks() {
	if grep -F -q -e "$1" -- "$2"; then
		echo "lacks: '$2' contains '$1':" >&9
		grep -F -e "$1" -- "$2" | head -n 5 | sed 's/^/    | /' >&9
		return 1
	fi
}

# changed T: inst/T is no longer as mutate-tree left it (stamp-T)
changed() {
	if tree_stamp "inst/$1" | cmp -s - "stamp-$1"; then
		echo "changed: inst/$1 was not touched" >&9
		return 1
	fi
}

# fake_zdt: ./fakezdt records its arguments (one a line) in fake.args and
# $ZDT_AR_PASSWORD (or <unset>) in fake.pw, and exits $FAKE_RC
fake_zdt() {
	cat >fakezdt <<-'EOF'
	#!/bin/sh
	d=$(dirname "$0")
	: >"$d/fake.args"
	for a in "$@"; do printf '%s\n' "$a" >>"$d/fake.args"; done
	printf '%s' "${ZDT_AR_PASSWORD-<unset>}" >"$d/fake.pw"
	exit "${FAKE_RC:-0}"
	EOF
	chmod +x fakezdt
}

# args_are WORD...: the fake zdt got exactly these arguments
args_are() {
	printf '%s\n' "$@" >want.args
	if ! cmp -s want.args fake.args; then
		echo "args_are: the fake zdt got (>) instead of (<):" >&9
		diff want.args fake.args | sed 's/^/    /' >&9
		return 1
	fi
}

expect_success shellcheck 'shellcheck: the wrappers and deb scripts (POSIX sh), the completion (bash)' '
	shellcheck -s sh "$PKG/rollback.sh" "$PKG/cleanup.sh" \
		"$PKG/deb/postinst" "$PKG/deb/prerm" "$PKG/deb/postrm" "$PKG/deb/build-deb.sh"
	shellcheck -s bash "$PKG/bash-completion/zdt"
	head -n 1 "$PKG/rollback.sh" | grep -qx "#!/bin/sh"
	head -n 1 "$PKG/cleanup.sh" | grep -qx "#!/bin/sh"
	test -x "$PKG/rollback.sh" && test -x "$PKG/cleanup.sh"
'

expect_success 'rollback.sh in AtriumCore'"'"'s folder: AtriumCore and AR rolled back, AtriumIntegrator left alone' '
	three_trees
	place opt/AtriumCore rollback.sh
	ZDT_BACKUP_DIR=$BK ZDT_NO_SERVER_CHECK=1 \
		opt/AtriumCore/installcompletionutility/rollback.sh arserver01 Demo "$PW" >out 2>err
	restored ac ar
	untouched ai
	check_grep "^AtriumCore .* rewritten" out
	check_grep "^AR .* rewritten" out
	check_no_grep "AtriumIntegrator" out
	check_grep "ar-user=Demo .*outcome=ok" "$BK/audit.log"
	lacks "$PW" "$BK/audit.log"
'

expect_success 'rollback.sh in "Atrium Integrator": with COMPONENT only AtriumIntegrator, without it all three' '
	three_trees
	place "opt/Atrium Integrator" rollback.sh
	w="opt/Atrium Integrator/installcompletionutility/rollback.sh"
	export ZDT_BACKUP_DIR=$BK ZDT_NO_SERVER_CHECK=1
	"$w" arserver01 Demo "$PW" AtriumIntegrator >out 2>err
	restored ai
	untouched ac ar
	check_no_grep "note:" err
	# naming another component still rolls back only the folder'"'"'s
	"$MUTATE" inst/ai 20 9 >/dev/null
	tree_stamp inst/ai >stamp-ai
	"$w" arserver01 Demo "$PW" cmdb >out 2>err
	changed ai
	check_grep "^AtriumIntegrator .* rewritten" out
	check_no_grep "^(AR|AtriumCore) " out
	untouched ac ar
	check_grep "names AtriumCore; only AtriumIntegrator .* is rolled back" err
	tree_stamp inst/ai >stamp-ai
	"$w" arserver01 Demo "$PW" >out 2>err
	restored ac ar
	untouched ai
'

expect_success 'rollback.sh in ARSystem'"'"'s folder: AR alone' '
	three_trees
	place opt/ARSystem rollback.sh
	ZDT_BACKUP_DIR=$BK opt/ARSystem/installcompletionutility/rollback.sh arserver01 Demo "$PW" AR >out 2>err
	restored ar
	untouched ac ai
	# AR needs no server check: no note or warning about it
	check_no_grep "server" err
'

expect_success strace 'the password is on no other command line; zdt gets it in ZDT_AR_PASSWORD' '
	three_trees
	place opt/AtriumCore rollback.sh
	w=$PWD/opt/AtriumCore/installcompletionutility/rollback.sh
	ZDT_BACKUP_DIR=$BK ZDT_NO_SERVER_CHECK=1 \
		strace -f -qq -s 65535 -e trace=execve -o trace "$w" arserver01 Demo "$PW" >out 2>err
	check_grep "^AtriumCore .* rewritten" out
	grep -F "execve(" trace >execs
	# the wrapper itself, started so by the installer: the only one
	head -n 1 execs | grep -F -q -e "\"$PW\""
	test "$(grep -F -c -e "$PW" execs)" = 1
	# zdt with --server and --user, no password
	check_grep "\"rollback\", \"--from\", \"AtriumCore\", \"--server\", \"arserver01\", \"--user\", \"Demo\", \"--no-server-check\"\]" execs
	check_grep "\"-b\", \"$BK\", \"rollback\"" execs
	# the environment (strace -v): zdt gets it
	ZDT_BACKUP_DIR=$BK ZDT_NO_SERVER_CHECK=1 \
		strace -f -qq -v -s 65535 -e trace=execve -o trace2 "$w" arserver01 Demo "$PW" >out 2>err
	grep -F "execve(" trace2 | grep -F -e "\"rollback\"" >zdt-exec
	test "$(wc -l <zdt-exec)" -ge 1
	grep -F -q -e "\"ZDT_AR_PASSWORD=$PW\"" zdt-exec
	lacks "$PW" "$BK/audit.log"
'

expect_success 'the server check: --no-server-check only with ZDT_NO_SERVER_CHECK=1' '
	three_trees
	printf "ar-port = 1\n" >conf
	export ZDT_CONFIG=$PWD/conf ZDT_BACKUP_DIR=$BK
	place opt/AtriumCore rollback.sh
	w=opt/AtriumCore/installcompletionutility/rollback.sh
	# nothing answers on 127.0.0.1:1: refused, nothing changed
	must_fail 3 "$w" 127.0.0.1 Demo "$PW" 2>err
	check_grep "does not answer" err
	must_fail 3 env ZDT_NO_SERVER_CHECK=0 "$w" 127.0.0.1 Demo "$PW" 2>err
	must_fail 3 env ZDT_NO_SERVER_CHECK=yes "$w" 127.0.0.1 Demo "$PW" 2>err
	untouched ac ar ai
	ZDT_NO_SERVER_CHECK=1 "$w" 127.0.0.1 Demo "$PW" >out 2>err
	restored ac
	check_grep "^AR .* rewritten" out
	untouched ai
'

expect_success 'no ZDT_BACKUP_DIR: no -b, zdt takes the folder from its config file' '
	three_trees
	printf "backup-dir = %s\n" "$BK" >conf
	place opt/AtriumCore rollback.sh
	fake_zdt
	ZDT=$PWD/fakezdt opt/AtriumCore/installcompletionutility/rollback.sh srv Demo "$PW"
	args_are rollback --from AtriumCore --server srv --user Demo
	test "$(cat fake.pw)" = "$PW"
	ZDT=$PWD/fakezdt ZDT_BACKUP_DIR=/x/y ZDT_NO_SERVER_CHECK=1 \
		opt/AtriumCore/installcompletionutility/rollback.sh srv Demo "$PW"
	args_are -b /x/y rollback --from AtriumCore --server srv --user Demo --no-server-check
	# the real thing, through the config file
	ZDT_CONFIG=$PWD/conf ZDT_NO_SERVER_CHECK=1 opt/AtriumCore/installcompletionutility/rollback.sh srv Demo "$PW" >out
	restored ac
	check_grep "^AR .* rewritten" out
	untouched ai
	# the exit status is zdt'"'"'s
	FAKE_RC=5 ZDT=$PWD/fakezdt must_fail 5 opt/AtriumCore/installcompletionutility/rollback.sh srv Demo "$PW"
'

# comp_of FOLDER: the --from that rollback.sh in FOLDER/installcompletionutility passes
comp_of() {
	rm -rf "cf/$1"
	place "cf/$1" rollback.sh || return 1
	ZDT=$PWD/fakezdt "cf/$1/installcompletionutility/rollback.sh" srv Demo pw || return 1
	sed -n '/^--from$/{n;p}' fake.args
}

expect_success 'the component from the folder name, in any case; zdt-component first' '
	fake_zdt
	for f in ARSystem arsystem AR ar "AR System" ar-system; do
		check_eq "$f" AR "$(comp_of "x/$f")"
	done
	for f in AtriumCore atriumcore ATRIUMCORE "Atrium Core" atrium_core CMDB; do
		check_eq "$f" AtriumCore "$(comp_of "x/$f")"
	done
	for f in AtriumIntegrator "Atrium Integrator" atriumintegrator AtriumIntegratorServer "Atrium Integrator 9" AI; do
		check_eq "$f" AtriumIntegrator "$(comp_of "x/$f")"
	done
	for f in opt ARSystem2 Atrium AtriumCoreX share bmc; do
		rm -rf "cf/x/$f"
		place "cf/x/$f" rollback.sh
		must_fail 2 env ZDT=$PWD/fakezdt "cf/x/$f/installcompletionutility/rollback.sh" srv Demo pw 2>err
		check_grep "cannot tell the component from the folder .*cf/x/$f" err
		check_grep "^hint: .*zdt-component" err
	done
	# a zdt-component file wins over the folder
	place cf/ARSystem rollback.sh
	printf "# written at install time\n\n  cmdb \r\n" >cf/ARSystem/installcompletionutility/zdt-component
	ZDT=$PWD/fakezdt cf/ARSystem/installcompletionutility/rollback.sh srv Demo pw
	args_are rollback --from AtriumCore --server srv --user Demo
	echo nonsense >cf/ARSystem/installcompletionutility/zdt-component
	must_fail 2 env ZDT=$PWD/fakezdt cf/ARSystem/installcompletionutility/rollback.sh srv Demo pw 2>err
	check_grep "zdt-component.* names no component: .nonsense." err
	# a symbolic link in the folder counts for the folder, not its target;
	# relative starts and sh rollback.sh too
	mkdir -p "ln/Atrium Integrator/installcompletionutility"
	ln -s "$PKG/rollback.sh" "ln/Atrium Integrator/installcompletionutility/rollback.sh"
	ZDT=$PWD/fakezdt "ln/Atrium Integrator/installcompletionutility/rollback.sh" srv Demo pw
	args_are rollback --from AtriumIntegrator --server srv --user Demo
	(cd "ln/Atrium Integrator/installcompletionutility" && ZDT=$TRASH/fakezdt ./rollback.sh srv Demo pw)
	args_are rollback --from AtriumIntegrator --server srv --user Demo
	(cd "ln/Atrium Integrator/installcompletionutility" && ZDT=$TRASH/fakezdt sh rollback.sh srv Demo pw)
	args_are rollback --from AtriumIntegrator --server srv --user Demo
'

expect_success 'usage errors: the documented usage line, exit 2, zdt not run' '
	fake_zdt
	place opt/AtriumCore rollback.sh
	place opt/AtriumCore cleanup.sh
	w=opt/AtriumCore/installcompletionutility/rollback.sh
	c=opt/AtriumCore/installcompletionutility/cleanup.sh
	export ZDT=$PWD/fakezdt
	must_fail 2 "$w" >out 2>err
	check_eq "usage line" "$USAGE" "$(tail -n 1 err)"
	check_grep "^rollback.sh: expected 3 or 4 arguments, got 0$" err
	test ! -s out
	must_fail 2 "$w" srv 2>err
	must_fail 2 "$w" srv Demo 2>err
	must_fail 2 "$w" srv Demo pw AR extra 2>err
	check_eq "usage line" "$USAGE" "$(tail -n 1 err)"
	must_fail 2 "$w" "" Demo pw 2>err
	check_grep "server name is empty" err
	must_fail 2 "$w" srv "" pw 2>err
	check_grep "user name is empty" err
	must_fail 2 "$w" srv Demo pw Remedy 2>err
	check_grep "unknown component .Remedy. \(valid: AR \(arsystem\), AtriumCore \(cmdb\), AtriumIntegrator \(ai\)\)" err
	check_eq "usage line" "$USAGE" "$(tail -n 1 err)"
	test ! -e fake.args
	"$w" --help >out
	check_eq "help" "$USAGE" "$(cat out)"
	# an empty password is a password (AR'"'"'s Demo user has none by default),
	# an empty fourth argument is none
	"$w" srv Demo "" ""
	args_are rollback --from AtriumCore --server srv --user Demo
	test -f fake.pw && test ! -s fake.pw
	rm -f fake.args
	must_fail 2 "$c" srv 2>err
	check_eq "usage line" "$CUSAGE" "$(tail -n 1 err)"
	must_fail 2 "$c" srv Demo 2>err
	must_fail 2 "$c" srv Demo pw AR extra 2>err
	must_fail 2 "$c" srv Demo pw nope 2>err
	check_grep "unknown component .nope." err
	test ! -e fake.args
	"$c" -h >out
	check_eq "help" "$CUSAGE" "$(cat out)"
'

expect_success 'finding zdt: $ZDT, else PATH, else /usr/bin/zdt' '
	fake_zdt
	place opt/ARSystem rollback.sh
	mkdir bin
	cp fakezdt bin/zdt
	env -u ZDT PATH="$PWD/bin:/usr/bin:/bin" opt/ARSystem/installcompletionutility/rollback.sh srv Demo pw
	test -f bin/fake.args
	rm bin/zdt
	if [ ! -e /usr/bin/zdt ]; then
		must_fail 127 env -u ZDT PATH="$PWD/bin:/bin" opt/ARSystem/installcompletionutility/rollback.sh srv Demo pw 2>err
		check_grep "zdt not found: ./usr/bin/zdt." err
	fi
	must_fail 127 env ZDT=$PWD/nothing opt/ARSystem/installcompletionutility/rollback.sh srv Demo pw 2>err
	check_grep "zdt not found: .*nothing" err
'

expect_success 'cleanup.sh: --completed the folder'"'"'s component, or only its own snapshots with COMPONENT' '
	mkdir src && echo data >src/file
	for c in AR AtriumCore AtriumIntegrator; do
		zdt -q -b "$BK" backup -c $c src
		zdt -q -b "$BK" backup -c $c src
	done
	place opt/ARSystem cleanup.sh
	place opt/AtriumCore cleanup.sh
	place "opt/Atrium Integrator" cleanup.sh
	export ZDT_BACKUP_DIR=$BK
	# AR depends on nothing: only its snapshots go
	opt/ARSystem/installcompletionutility/cleanup.sh srv Demo "$PW" >out 2>err
	check_eq AR 0 "$(count_complete AR)"
	check_eq AtriumCore 2 "$(count_complete AtriumCore)"
	check_eq AtriumIntegrator 2 "$(count_complete AtriumIntegrator)"
	check_grep "^cleanup: deleted 2 snapshots" out
	# COMPONENT: only the folder'"'"'s own snapshots, whatever it names
	zdt -q -b "$BK" backup -c AR src
	"opt/Atrium Integrator/installcompletionutility/cleanup.sh" srv Demo "$PW" AR >out 2>err
	check_eq AtriumIntegrator 0 "$(count_complete AtriumIntegrator)"
	check_eq AtriumCore 2 "$(count_complete AtriumCore)"
	check_eq AR 1 "$(count_complete AR)"
	check_grep "names AR; only the snapshots of AtriumIntegrator" err
	check_grep "^cleanup: deleted 2 snapshots" out
	# the documented form: AtriumCore and what it depends on
	opt/AtriumCore/installcompletionutility/cleanup.sh srv Demo "$PW" >out 2>err
	check_eq AtriumCore 0 "$(count_complete AtriumCore)"
	check_eq AR 0 "$(count_complete AR)"
	check_grep "^cleanup: deleted 3 snapshots" out
	# no arguments: the same
	zdt -q -b "$BK" backup -c AR src
	opt/AtriumCore/installcompletionutility/cleanup.sh 2>err
	check_eq AR 0 "$(count_complete AR)"
	lacks "$PW" "$BK/audit.log"
	fake_zdt
	ZDT=$PWD/fakezdt opt/AtriumCore/installcompletionutility/cleanup.sh srv Demo "$PW"
	args_are -b "$BK" -v cleanup --completed AtriumCore
	test "$(cat fake.pw)" = "<unset>"
	ZDT=$PWD/fakezdt ZDT_BACKUP_DIR= opt/AtriumCore/installcompletionutility/cleanup.sh srv Demo "$PW" cmdb
	args_are -v cleanup -c AtriumCore --all
'

# bat_labels FILE: "goto X" and "call :X" targets that have no ":X" label
bat_labels() {
	local t missing=0
	for t in $(tr -d '\r' <"$1" | grep -io -E '(goto|call) +:?[a-z0-9_]+' | awk '{print tolower($2)}' | tr -d ':' | sort -u); do
		[ "$t" = eof ] && continue
		if ! tr -d '\r' <"$1" | grep -qi -E "^:$t\$"; then
			echo "bat_labels: $1: no label :$t" >&9
			missing=1
		fi
	done
	return $missing
}

expect_success 'rollback.bat and cleanup.bat: CRLF, labels, no blocks, the same usage and commands' '
	for b in rollback cleanup; do
		f=$PKG/$b.bat
		# every line ends in CR LF
		test "$(grep -c $'"'"'\r$'"'"' "$f")" = "$(wc -l <"$f")"
		head -n 1 "$f" | grep -qx $'"'"'@echo off\r'"'"'
		check_grep "^REM NOTE: zdt has no Windows build yet" "$f"
		bat_labels "$f"
		# no parenthesised blocks (a path with ")" would end them)
		tr -d "\r" <"$f" | grep -v "^REM" >code
		check_no_grep "\($|^[[:space:]]*\)" code
		check_grep "setlocal EnableExtensions DisableDelayedExpansion" "$f"
		check_grep "exit /b %ERRORLEVEL%" "$f"
		check_grep "ZDT_BACKUP_DIR" "$f"
		check_grep "zdt-component" "$f"
	done
	tr -d "\r" <"$PKG/rollback.bat" | grep -F -x -q "echo ${USAGE/rollback.sh/rollback.bat}"
	tr -d "\r" <"$PKG/cleanup.bat" | grep -F -x -q "echo ${CUSAGE/cleanup.sh/cleanup.bat}"
	check_grep "rollback %ZDT_SEL% --server \"%ZDT_SERVER%\" --user \"%ZDT_USER%\" %ZDT_NOCHECK%" "$PKG/rollback.bat"
	check_grep "set \"ZDT_AR_PASSWORD=%~3\"" "$PKG/rollback.bat"
	check_no_grep "ZDT_AR_PASSWORD" "$PKG/cleanup.bat"
	check_grep "-v cleanup %ZDT_SEL%" "$PKG/cleanup.bat"
	check_grep "set \"ZDT_SEL=--completed %ZDT_COMP%\"" "$PKG/cleanup.bat"
	check_grep "set \"ZDT_SEL=-c %ZDT_COMP% --all\"" "$PKG/cleanup.bat"
'

test_done

#!/bin/bash
# t6000-doctor: zdt doctor - every check passing and failing, --fix of
# ar.cfg (byte for byte, CRLF, owner and mode, the copy, the audit line),
# --json, and the cleanup beacon with its warnings in list and backup.
#
# The install folder is a small hand-made tree with conf/ar.cfg, so that
# each ar.cfg line is known.  Ports are free ones that the kernel hands out;
# the "in use" cases run a python listener.  Busy processes are sleeps
# whose folder or open file is in the install folder.  Cleanup ages come
# from the test build zdt-test ($ZDT_TEST_NOW; skipped without it).
. "$(dirname "$0")/lib.sh"
require python3

if [ -x "$ZDT_SRC/zdt-test" ]; then
	zdt-test() { "$ZDT_SRC/zdt-test" "$@"; }
else
	echo "# no $ZDT_SRC/zdt-test: the cleanup-age tests are skipped (make zdt-test builds it)"
fi
PY=${PYTHON3:-$(command -v python3)}

# free_port: a TCP port nobody listens on now
free_port() {
	"$PY" -S -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# listen_bg FILE: a python listener in the background on a free port; its
# port goes to FILE, its pid to $LPID (the caller's cwd is its cwd)
listen_bg() {
	rm -f "$1"
	"$PY" -S -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)' "$PWD/$1" &
	LPID=$!
	when_finished "kill $LPID 2>/dev/null || :"
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
	echo "listen_bg: no listener" >&9
	return 1
}

# setup [AR.CFG LINES...]: src/ as the AR install folder with conf/ar.cfg
# holding the lines (default: a healthy file), a config naming it, and
# TCD/PLUGIN set to free ports
setup() {
	TCD=$(free_port)
	PLUGIN=$(free_port)
	mkdir -p src/conf src/bin src/lib
	echo data >src/bin/arserverd
	echo lib >src/lib/libar.so
	if [ $# = 0 ]; then
		printf '%s\n' "# AR System server configuration" "Server-Name: arsrv01" \
			"TCD-Specific-Port: $TCD" "Plugin-Port: $PLUGIN" "Operating-Mode: 0" \
			"Disable-Escalations: F" "Disable-Escalations-Global: F" >src/conf/ar.cfg
	else
		printf '%s\n' "$@" >src/conf/ar.cfg
	fi
	chmod 0600 src/conf/ar.cfg
	conf
}

# conf [GLOBAL LINES...]: zdt.conf with the lines and [AR] path = src
conf() {
	{
		printf '%s\n' "$@"
		printf '[AR]\npath = %s/src\n' "$TRASH"
	} >zdt.conf
	export ZDT_CONFIG=$TRASH/zdt.conf
}

# doctor ARGS: zdt doctor on $BK, output in out, exit code in rc
doctor() {
	rc=0
	"$ZDT" -b "$BK" doctor "$@" >out 2>err || rc=$?
}

# line STATUS NAME: the check NAME has STATUS (ok, FAIL, warn) in out
line() {
	check_grep "^$1 +$2: " out
}

expect_success 'a healthy setup: every check ok, exit 0' '
	setup
	zdt -b "$BK" backup -c AR >/dev/null
	zdt -b "$BK" cleanup
	conf "cleanup-interval = 1h"
	id=$(snap_id AR)
	doctor -v
	check_eq "exit" 0 "$rc"
	for c in backup-folder backup-space:AR "snapshot:AR/$id" "rollback-space:AR/$id" leftovers \
		interrupted-rollback ar-cfg operating-mode escalations port:TCD-Specific-Port \
		port:Plugin-Port busy:AR cron-cleanup; do
		line ok "$c"
	done
	check_no_grep "^(FAIL|warn) " out
	check_no_grep "hint:" out
	check_grep "^doctor: 13 checks, 0 failed, 0 warnings$" out
	check_grep "backup-folder: .$BK. holds no symbolic link" out
	check_grep "port:TCD-Specific-Port: $TCD is free" out
	# -q: nothing when all is well
	"$ZDT" -q -b "$BK" doctor >qout
	test ! -s qout
'

expect_success 'backup folder through a symbolic link: FAIL naming link and target, the other checks still run' '
	setup
	mkdir real
	ln -s real link
	must_fail 1 zdt -b "$TRASH/link/bk" doctor >out
	check_grep "^FAIL  backup-folder: .$TRASH/link/bk. goes through a symbolic link: .$TRASH/link. -> .real., which resolves to .$TRASH/real/bk.$" out
	check_grep "^      hint: use the real path: -b .$TRASH/real/bk." out
	line ok ar-cfg
	line ok operating-mode
	# a folder that does not exist yet is only a warning
	doctor
	check_eq "exit" 0 "$rc"
	line warn backup-folder
	check_grep "does not exist yet" out
'

expect_success 'no room for a backup or for a rollback: FAIL with needed and available' '
	setup
	zdt -b "$BK" backup -c AR >/dev/null
	conf "reserve = 1000T"
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  backup-space:AR: a backup of .$TRASH/src. needs .* plus a reserve of 1000 TiB, only .* available$" out
	check_grep "^      hint: free space in the backup folder" out
	conf
	doctor
	check_eq "exit" 0 "$rc"
	line ok backup-space:AR
	# a snapshot that holds far more than the live folder: the rollback
	# would not fit (its meta says so; verify then fails too)
	id=$(snap_id AR)
	line ok "rollback-space:AR/$id"
	sed -i "s/^bytes=.*/bytes=1000000000000000000/" "$BK/AR/$id/meta"
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  rollback-space:AR/$id: a rollback into .$TRASH/src. needs about .*, only .* available$" out
'

expect_success 'a damaged snapshot fails its check, the intact one passes' '
	setup
	zdt -b "$BK" backup -c AR >/dev/null
	old=$(snap_id AR)
	sleep 1
	zdt -b "$BK" backup -c AR >/dev/null
	new=$(snap_id AR)
	test "$old" != "$new"
	flip_byte "$BK/AR/$old/archive.tar" 1536
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  snapshot:AR/$old: [0-9]+ damaged entr(y|ies), first " out
	check_grep "^      hint: .zdt verify -c AR --snapshot $old. names every damaged path" out
	line ok "snapshot:AR/$new"
'

expect_success 'signed snapshots: with key-file each signature is checked; without, a warning says they were not' '
	setup
	head -c 32 /dev/urandom >key
	chmod 600 key
	conf "key-file = $TRASH/key"
	zdt -b "$BK" backup -c AR >/dev/null
	signed=$(snap_id AR)
	sleep 1
	conf
	zdt -b "$BK" backup -c AR >/dev/null
	unsigned=$(snap_id AR)
	test "$signed" != "$unsigned"
	# no key configured: one warning, not a failure
	doctor
	check_eq "exit" 0 "$rc"
	check_grep "^warn  signatures: 1 snapshot is signed \(manifest.sig\), but no key-file is configured: the signatures were not checked$" out
	check_grep "^      hint: set key-file in the config file" out
	check_no_grep "signature:" out
	# with the key: the signed one passes, the unsigned one fails
	conf "key-file = $TRASH/key"
	doctor -v
	check_eq "exit" 1 "$rc"
	check_grep "^ok +key-file: .$TRASH/key. \(key-id [0-9a-f]{16}\)$" out
	check_grep "^ok +signature:AR/$signed: the manifest matches its signature \(key-id [0-9a-f]{16}\)$" out
	check_grep "^FAIL  signature:AR/$unsigned: the snapshot is not signed \(no manifest.sig\), and key-file is set$" out
	check_grep "^      hint: .zdt verify -c AR --snapshot $unsigned. says the same; rollback refuses it \(exit 4\)" out
	check_no_grep "^warn  signatures" out
	check_grep "^ok +snapshot:AR/$signed: intact" out
	# a signature that no longer matches the manifest (its HMAC changed)
	rm -rf "$BK/AR/$unsigned"
	sig=$BK/AR/$signed/manifest.sig
	sed -i "s/^\(hmac-sha256 .*\)\(.\)$/\1x/; s/x$/$(tail -c 2 "$sig" | head -c 1 | tr 0-9a-f 1-9a-f0)/" "$sig"
	check_grep "^hmac-sha256 [0-9a-f]{64}$" "$sig"
	must_fail 4 zdt -b "$BK" verify --key-file "$TRASH/key" >/dev/null
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  signature:AR/$signed: the manifest does not match its signature: it was changed after the backup$" out
	zdt -b "$BK" --json doctor >doc.json 2>/dev/null || :
	check_eq "json" "[false, \"fail\"]" "$(json_get doc.json "[[c[\"ok\"], c[\"status\"]] for c in d[\"checks\"] if c[\"name\"] == \"signature:AR/$signed\"][0]")"
	# a key others may read: a failed check, not the end of the run
	chmod 644 key
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  key-file: the key file .$TRASH/key. has mode 0644: group or others may read or change it: the signatures are not checked" out
	check_no_grep "signature:" out
	line ok leftovers
'

expect_success 'no snapshot of a configured component: a warning' '
	setup
	mkdir -p "$BK"
	doctor
	check_eq "exit" 0 "$rc"
	check_grep "^warn  snapshot:AR: no complete snapshot: a rollback of AR is not possible$" out
	check_grep "hint: take one before the upgrade: zdt backup -c AR" out
'

expect_success 'leftovers of an interrupted backup: FAIL until cleanup removes them' '
	setup
	zdt -b "$BK" backup -c AR >/dev/null
	cp -a "$BK/AR/$(snap_id AR)" "$BK/AR/20200101T000000Z-01.partial"
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  leftovers: 1 leftover of interrupted backups or deletions: AR/20200101T000000Z-01.partial$" out
	zdt -b "$BK" cleanup
	doctor
	check_eq "exit" 0 "$rc"
	check_grep "^ok +leftovers: none$" out
'

expect_success 'an interrupted rollback waiting: FAIL naming component, snapshot and pid' '
	setup
	zdt -b "$BK" backup -c AR >/dev/null
	id=$(snap_id AR)
	printf "zdt-rollback-journal 1\nstarted=2026-11-25T08:18:00Z\npid=4242\ncomponent=AR\nsnapshot=%s\ntarget=%s/src\n" \
		"$id" "$TRASH" >"$BK/AR/$id/rollback.journal"
	check_eq "state" 1 "$(count_state AR rollback-interrupted)"
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  interrupted-rollback: 1 rollback waiting to be finished: of AR to $id, started 2026-11-25T08:18:00Z by pid 4242; the install folder is half rolled back$" out
	check_grep "^      hint: finish it before anything else: zdt rollback -c AR" out
	rm "$BK/AR/$id/rollback.journal"
	doctor
	check_grep "^ok +interrupted-rollback: none$" out
'

expect_success 'Operating-Mode not 0: FAIL; --fix sets it, byte for byte, CRLF, mode and owner kept' '
	setup
	mkdir -p "$BK"
	# CRLF lines, comments, unknown and odd lines, a key twice, no final newline
	printf "# AR System server configuration\r\n#Operating-Mode: 7\r\nServer-Name: arsrv01\r\nOperating-Mode:   2  \r\nnot a setting\r\n\r\nServer-Plugin-Alias: A B host:9999\r\nTCD-Specific-Port: %s\r\nOperating-Mode: 1\r\nZ-Last: x" "$TCD" >src/conf/ar.cfg
	chmod 0640 src/conf/ar.cfg
	chown 1234:2345 src/conf/ar.cfg 2>/dev/null || :
	setfattr -n user.zdt.test -v keep src/conf/ar.cfg 2>/dev/null || :
	cp -p src/conf/ar.cfg before
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  operating-mode: Operating-Mode is 1, not 0: background processes stay disabled" out
	check_grep "^      hint: .zdt doctor --fix. sets it to 0" out
	cmp before src/conf/ar.cfg
	test ! -e "$BK/doctor"
	ino=$(stat -c %i src/conf/ar.cfg)
	doctor --fix
	check_eq "exit" 0 "$rc"
	check_grep "^ok +operating-mode: fixed: Operating-Mode was 1, now 0 \(restart the AR System server" out
	# what was expected: both settings to 0, every other byte the same
	"$PY" -S -c "import sys
b = open(\"before\", \"rb\").read()
w = b.replace(b\"Operating-Mode:   2  \", b\"Operating-Mode:   0  \").replace(b\"Operating-Mode: 1\", b\"Operating-Mode: 0\")
assert w != b
open(\"want\", \"wb\").write(w)"
	cmp want src/conf/ar.cfg
	check_grep "^#Operating-Mode: 7" src/conf/ar.cfg
	check_eq "mode, owner" "$(stat -c "%a %u %g" before)" "$(stat -c "%a %u %g" src/conf/ar.cfg)"
	test "$(stat -c %i src/conf/ar.cfg)" != "$ino"
	if getfattr -n user.zdt.test before >/dev/null 2>&1; then
		check_eq "xattr" keep "$(getfattr --only-values -n user.zdt.test src/conf/ar.cfg)"
	fi
	# the previous file in the backup folder, private; the audit line
	ls "$BK/doctor" >saved
	check_eq "copies" 1 "$(wc -l <saved)"
	check_grep "^ar\.cfg\.[0-9]{8}T[0-9]{6}Z$" saved
	cmp before "$BK/doctor/$(cat saved)"
	check_eq "copy mode" 600 "$(stat -c %a "$BK/doctor/$(cat saved)")"
	check_grep "command=doctor .*event=fix file=$TRASH/src/conf/ar\.cfg saved=doctor/$(cat saved) set=Operating-Mode:0$" "$BK/audit.log"
	# no temporary file left; a second run finds nothing to fix
	check_eq "conf" "ar.cfg" "$(ls -A src/conf)"
	doctor --fix
	check_eq "exit" 0 "$rc"
	check_grep "^ok +operating-mode: Operating-Mode is 0$" out
	check_eq "copies" 1 "$(ls "$BK/doctor" | wc -l)"
'

expect_success 'escalations stopped globally: FAIL; --fix sets Disable-Escalations-Global to F' '
	setup "Disable-Escalations-Global: T" "Disable-Escalations: T" "Operating-Mode: 0"
	mkdir -p "$BK"
	doctor
	check_eq "exit" 0 "$rc"
	line ok escalations
	setup "Disable-Escalations-Global: T" "Operating-Mode: 0"
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  escalations: Disable-Escalations-Global is T while Disable-Escalations is F: escalations are stopped on every server$" out
	setup "# x" "Disable-Escalations: F" "Disable-Escalations-Global: T" "Tail: 1"
	cp src/conf/ar.cfg before
	doctor --fix
	check_eq "exit" 0 "$rc"
	check_grep "^ok +escalations: fixed: Disable-Escalations-Global was T, now F" out
	printf "%s\n" "# x" "Disable-Escalations: F" "Disable-Escalations-Global: F" "Tail: 1" | cmp - src/conf/ar.cfg
	check_grep "event=fix .* set=Disable-Escalations-Global:F$" "$BK/audit.log"
'

expect_success '--fix without a backup folder to keep the old file: nothing changed, FAIL stays' '
	setup "Operating-Mode: 3"
	cp src/conf/ar.cfg before
	doctor --fix
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  operating-mode: " out
	check_grep "cannot fix .*--fix needs the backup folder" err
	cmp before src/conf/ar.cfg
	test ! -e "$BK"
'

expect_success 'ports: outside 1024-65535 or not a number FAIL; used by another process warns naming it' '
	setup "TCD-Specific-Port: 80" "Plugin-Port: 70000" "Operating-Mode: 0" "Session-Federation-Role-Port: odbc status"
	mkdir -p "$BK"
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  port:TCD-Specific-Port: 80 is outside 1024-65535$" out
	check_grep "^FAIL  port:Plugin-Port: 70000 is outside 1024-65535$" out
	check_grep "hint: set a port number from 1024 to 65535 in ar.cfg" out
	# another key ending in -Port with words in it is not a port
	check_no_grep "Session-Federation-Role-Port" out
	setup "Plugin-Port: many" "Operating-Mode: 0"
	doctor
	check_grep "^FAIL  port:Plugin-Port: .many. is not a port number$" out
	listen_bg port
	setup "TCD-Specific-Port: $(cat port)" "Operating-Mode: 0"
	doctor
	check_eq "exit" 0 "$rc"
	check_grep "^warn  port:TCD-Specific-Port: $(cat port) is in use by another process: pid $LPID \(python3" out
	check_grep "hint: stop that process, or give the AR System server another port" out
'

expect_success 'a port served by a process of the AR install folder passes' '
	setup
	mkdir -p "$BK"
	(cd src/bin && listen_bg ../../port2 && echo "$LPID" >../../lpid && wait)  &
	when_finished "kill \$(cat $TRASH/lpid) 2>/dev/null || :"
	for _ in $(seq 100); do [ -s lpid ] && break; sleep 0.05; done
	setup "TCD-Specific-Port: $(cat port2)" "Operating-Mode: 0"
	doctor
	check_eq "exit" 0 "$rc"
	check_grep "^ok +port:TCD-Specific-Port: $(cat port2) is served by pid $(cat lpid) \(python3.*\) of the AR install folder$" out
	kill "$(cat lpid)"
'

expect_success 'processes holding files under the install folder: a warning naming pid and command' '
	setup
	mkdir -p "$BK"
	doctor
	check_grep "^ok +busy:AR: no process holds files under .$TRASH/src.$" out
	(cd src/bin && exec sleep 120) &
	p1=$!
	when_finished "kill $p1 2>/dev/null || :"
	sleep 120 7<src/lib/libar.so &
	p2=$!
	when_finished "kill $p2 2>/dev/null || :"
	sleep 0.2
	doctor
	check_eq "exit" 0 "$rc"
	check_grep "^warn  busy:AR: 2 processes hold files under .$TRASH/src.: " out
	check_grep "pid $p1 \(sleep\)" out
	check_grep "pid $p2 \(sleep\)" out
	check_grep "hint: stop them before a rollback" out
	kill $p1 $p2
	wait $p1 $p2 2>/dev/null || :
	doctor
	line ok busy:AR
'

expect_success 'ar.cfg: --ar-cfg FILE, a missing file, no AR selected' '
	setup
	mkdir -p "$BK" other
	printf "Operating-Mode: 1\n" >other/ar.cfg
	doctor --ar-cfg other/ar.cfg
	check_eq "exit" 1 "$rc"
	check_grep "^ok +ar-cfg: .$TRASH/other/ar.cfg. \(1 lines\)$" out
	line FAIL operating-mode
	doctor --ar-cfg nowhere/ar.cfg
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  ar-cfg: cannot find .nowhere/ar.cfg.: No such file or directory$" out
	doctor -c AtriumCore
	check_eq "exit" 0 "$rc"
	check_no_grep "ar-cfg|operating-mode|port:" out
	must_fail 2 zdt -b "$BK" doctor --no-such-option 2>err
	check_grep "unknown option .--no-such-option." err
	must_fail 2 zdt -b "$BK" doctor extra 2>err
	zdt help doctor >help
	check_grep "^usage: zdt doctor \[-c COMPONENT\]\.\.\. \[--ar-cfg FILE\] \[--fix\]$" help
'

expect_success '--json: one document with every check, ok false on a failure, fixed after --fix' '
	setup "Operating-Mode: 1" "TCD-Specific-Port: 80"
	zdt -b "$BK" backup -c AR >/dev/null
	rc=0
	zdt -b "$BK" --json doctor >doc.json 2>text || rc=$?
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  operating-mode" text
	check_eq "command" doctor "$(json_get doc.json "d[\"command\"]")"
	check_eq "ok" false "$(json_get doc.json "d[\"ok\"]")"
	check_eq "failed" 2 "$(json_get doc.json "d[\"failed\"]")"
	check_eq "keys" "[\"fixed\", \"hint\", \"name\", \"ok\", \"status\", \"verdict\"]" \
		"$(json_get doc.json "sorted(set(k for c in d[\"checks\"] for k in c))")"
	check_eq "operating-mode" "[false, \"fail\"]" \
		"$(json_get doc.json "[[c[\"ok\"], c[\"status\"]] for c in d[\"checks\"] if c[\"name\"] == \"operating-mode\"][0]")"
	check_eq "hint of a pass" null "$(json_get doc.json "[c[\"hint\"] for c in d[\"checks\"] if c[\"name\"] == \"backup-folder\"][0]")"
	check_no_grep "^doctor: " text
	check_eq "names" "$(grep -c -E "^(ok|FAIL|warn)  " text)" "$(json_get doc.json "len(d[\"checks\"])")"
	rc=0
	zdt -b "$BK" --json doctor --fix >fix.json 2>/dev/null || rc=$?
	check_eq "exit" 1 "$rc"
	check_eq "fixed" "[true, true]" \
		"$(json_get fix.json "[[c[\"fixed\"], c[\"ok\"]] for c in d[\"checks\"] if c[\"name\"] == \"operating-mode\"][0]")"
'

# ---- the cleanup beacon -------------------------------------------------------

expect_success 'cleanup records its runs in cleanup.last; a dry run does not' '
	setup
	zdt -b "$BK" backup -c AR >/dev/null
	zdt -b "$BK" cleanup --dry-run >/dev/null
	test ! -e "$BK/cleanup.last"
	cp -a "$BK/AR/$(snap_id AR)" "$BK/AR/20200101T000000Z-01.partial"
	zdt -b "$BK" cleanup -c AR
	check_eq "mode" 600 "$(stat -c %a "$BK/cleanup.last")"
	check_eq "first line" "zdt-cleanup-beacon 1" "$(head -n 1 "$BK/cleanup.last")"
	check_grep "^time=[0-9-]{10}T[0-9:]{8}Z$" "$BK/cleanup.last"
	check_grep "^components=AR$" "$BK/cleanup.last"
	check_grep "^leftovers=1$" "$BK/cleanup.last"
	check_grep "^removed=0$" "$BK/cleanup.last"
	check_grep "^kept=1$" "$BK/cleanup.last"
	check_grep "^exit=0$" "$BK/cleanup.last"
	ls -A "$BK" >names
	check_no_grep "tmp" names
	doctor
	check_grep "^ok +cron-cleanup: last ran .* removed 0 snapshots and 1 leftover, kept 1, freed .*, exit 0 \(cleanup-interval not set: not checked\)$" out
'

expect_success zdt-test 'cleanup-interval: list, backup and doctor warn when the last cleanup is too old' '
	setup
	T0=$(date +%s)
	ZDT_TEST_NOW=$((T0 - 5 * 3600)) zdt-test -b "$BK" backup -c AR >/dev/null
	ZDT_TEST_NOW=$((T0 - 3 * 3600)) zdt-test -b "$BK" cleanup
	# without cleanup-interval: nothing to say
	zdt -b "$BK" list >/dev/null 2>err
	check_no_grep "overdue" err
	conf "cleanup-interval = 1h"
	zdt -b "$BK" list >/dev/null 2>err
	check_grep "^zdt: list: warning: the cron cleanup is overdue: it last ran .*, 3h ago, more than twice its cleanup-interval \(1h\)$" err
	check_grep "^hint: check /etc/cron.d/zdt-cleanup" err
	zdt -b "$BK" backup -c AR >/dev/null 2>err
	check_grep "^zdt: backup: warning: the cron cleanup is overdue" err
	zdt -q -b "$BK" list >/dev/null 2>err
	test ! -s err
	doctor
	check_eq "exit" 1 "$rc"
	check_grep "^FAIL  cron-cleanup: overdue: it last ran .*, 3h ago" out
	# two hours is not more than twice one hour
	conf "cleanup-interval = 2h"
	zdt -b "$BK" list >/dev/null 2>err
	check_no_grep "overdue" err
	# a cleanup now: all quiet again
	conf "cleanup-interval = 1h"
	zdt -b "$BK" cleanup
	zdt -b "$BK" list >/dev/null 2>err
	check_no_grep "overdue" err
	doctor
	check_eq "exit" 0 "$rc"
	check_grep "^ok +cron-cleanup: last ran .*, exit 0$" out
'

expect_success zdt-test 'cleanup-interval: a cleanup that never ran, and one that failed' '
	setup
	conf "cleanup-interval = 1h"
	T0=$(date +%s)
	# a new backup folder: no warning before the first cleanup is due
	zdt -b "$BK" backup -c AR >/dev/null 2>err
	check_no_grep "overdue" err
	rm -rf "$BK"
	ZDT_TEST_NOW=$((T0 - 5 * 3600)) zdt-test -b "$BK" backup -c AR >/dev/null 2>err
	zdt -b "$BK" list >/dev/null 2>err
	check_grep "warning: the cron cleanup is overdue: it has never run in this backup folder, whose oldest snapshot is 5h old" err
	doctor
	check_grep "^FAIL  cron-cleanup: overdue: it has never run" out
	# a failed run is reported even when recent
	zdt -b "$BK" cleanup
	sed -i "s/^exit=0$/exit=1/" "$BK/cleanup.last"
	zdt -b "$BK" list >/dev/null 2>err
	check_grep "warning: the cron cleanup is overdue: its last run, .*, failed with exit 1" err
	# a damaged beacon
	echo garbage >"$BK/cleanup.last"
	doctor
	check_grep "^FAIL  cron-cleanup: overdue: its beacon .*cleanup.last. is unreadable" out
'

expect_success 'cleanup-interval in the config: checked when read' '
	conf "cleanup-interval = 0h"
	must_fail 2 zdt -b "$BK" list 2>err
	check_grep "zdt.conf:1: invalid cleanup-interval .0h. \(a duration: 1h, 1d\)" err
	conf "cleanup-interval = soon"
	must_fail 2 zdt -b "$BK" list 2>err
	check_grep "invalid cleanup-interval .soon." err
'

test_done

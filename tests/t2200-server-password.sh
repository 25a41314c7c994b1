#!/bin/bash
# t2200-server-password: the AR System server check before rolling back
# AtriumCore or AtriumIntegrator, and the password of the installer's
# command line (never stored, wiped from zdt's own command line).
#
# The "AR System server" is a TCP listener on 127.0.0.1 that counts the
# connections it accepts; a closed port is one a listener just gave back.
. "$(dirname "$0")/lib.sh"
require python3 strace
need_mutate
PY=${PYTHON3:-$(command -v python3)}
PW=S3cr3tPw

# listen: a listener on 127.0.0.1 in the background, killed after the test;
# sets PORT; each connection adds a line to $PWD/conns
listen() {
	rm -f port conns
	: >conns
	("$PY" -c '
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open("port.tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename("port.tmp", "port")
while True:
    c, a = s.accept()
    with open("conns", "a") as f:
        f.write("%s:%d\n" % a)
    c.close()
' </dev/null >/dev/null 2>&1 & echo $! >listener.pid)
	when_finished "kill $(cat listener.pid) 2>/dev/null || :"
	for i in $(seq 100); do
		[ -f port ] && break
		sleep 0.05
	done
	PORT=$(cat port)
	test -n "$PORT"
}

# closed_port: a port nothing listens on
closed_port() {
	"$PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# setup: trees ar and core (AR, AtriumCore) backed up, pristine copies p-*,
# then mutated; stamps of the mutated trees
setup() {
	gen_tree ar tiny 1
	gen_tree core tiny 2
	cp -a --sparse=always ar p-ar
	cp -a --sparse=always core p-core
	zdt -b "$BK" backup -c AR ar >/dev/null
	zdt -b "$BK" backup -c AtriumCore core >/dev/null
	"$MUTATE" ar 5 42 >/dev/null
	"$MUTATE" core 5 42 >/dev/null
	tree_stamp ar >stamp-ar
	tree_stamp core >stamp-core
}

# restored TREE...: each tree equals its pristine copy p-TREE
restored() {
	local t args=()
	for t in "$@"; do
		args+=(p-$t $t)
	done
	same_tree "${args[@]}"
}

# untouched TREE...
untouched() {
	local t
	for t in "$@"; do
		tree_stamp $t >stamp-$t.now
		cmp -s stamp-$t stamp-$t.now || { echo "untouched: $t was changed" >&9; return 1; }
	done
}

expect_success 'the server answers: AtriumCore is rolled back, after one connection' '
	setup
	listen
	zdt -b "$BK" rollback -c AtriumCore --server 127.0.0.1 --port $PORT >out 2>err
	test "$(wc -l <conns)" -ge 1
	restored core
	untouched ar
'

expect_success 'the server is down: exit 3 naming it, nothing rolled back' '
	setup
	P=$(closed_port)
	must_fail 3 zdt -b "$BK" rollback -c AtriumCore --server 127.0.0.1 --port $P 2>err
	check_grep "127\.0\.0\.1:$P" err
	must_fail 3 zdt -b "$BK" rollback --from AtriumCore --server 127.0.0.1 --port $P 2>err
	must_fail 3 zdt -b "$BK" rollback --from AtriumCore --port $P 127.0.0.1 admin $PW 2>err
	untouched ar core
	! grep -q "$PW" err
'

expect_success '--no-server-check: rolled back although the server is down' '
	setup
	P=$(closed_port)
	zdt -b "$BK" rollback --from AtriumCore --server 127.0.0.1 --port $P --no-server-check >out 2>err
	restored core ar
'

expect_success 'ar-port from the config file and the positional SERVER' '
	setup
	listen
	printf "# the AR System server\nar-port = %s\n" $PORT >zdt.conf
	zdt -b "$BK" --config zdt.conf rollback --from AtriumCore 127.0.0.1 admin $PW >out 2>err
	test "$(wc -l <conns)" -ge 1
	restored core ar
	"$MUTATE" core 5 42 >/dev/null
	tree_stamp core >stamp-core
	printf "ar-port = %s\n" "$(closed_port)" >zdt.conf
	must_fail 3 zdt -b "$BK" --config zdt.conf rollback -c AtriumCore 127.0.0.1 admin $PW
	untouched core
'

expect_success '-c AR alone: no server check, even with a closed port' '
	setup
	P=$(closed_port)
	zdt -b "$BK" rollback -c AR --server 127.0.0.1 --port $P >out 2>err
	restored ar
	untouched core
	zdt -b "$BK" rollback --from AR --port $P 127.0.0.1 admin $PW >out 2>err
'

expect_success 'no port configured: a warning, and the rollback goes on' '
	setup
	zdt -b "$BK" rollback -c AtriumCore --server 127.0.0.1 >out 2>err
	check_grep "warning:.*port" err
	restored core
'

# under valgrind, /proc/PID/cmdline is valgrind's own command line, a copy
# that zdt's wiping of its argv cannot reach: the check means nothing there
if [ -z "${ZDT_VALGRIND:-}" ]; then
	expect_success 'the password is gone from /proc/PID/cmdline while the rollback runs' '
		gen_tree ar
		zdt -b "$BK" backup -c AR ar >/dev/null
		"$MUTATE" ar 5 42 >/dev/null
		# 30 ms more per folder read: the rollback lasts seconds
		strace -f -o /dev/null -e trace=getdents64 -e inject=getdents64:delay_enter=30000 \
			"$ZDT" -b "$BK" rollback --from AR --no-server-check 127.0.0.1 admin $PW >out 2>err &
		spid=$!
		when_finished "kill -9 $spid 2>/dev/null || :"
		zpid=
		for i in $(seq 400); do
			for c in $(children $spid); do
				grep -qs "pid=$c .*command=rollback.*event=start" "$BK/audit.log" && zpid=$c
			done
			[ -z "$zpid" ] || break
			sleep 0.025
		done
		test -n "$zpid"
		tr "\0" " " </proc/$zpid/cmdline >cmdline
		kill -0 $zpid	# still running: what was read is what ps shows now
		cat cmdline
		check_grep "rollback" cmdline
		check_grep "admin" cmdline
		check_no_grep "$PW" cmdline
		wait $spid
		! grep -q "$PW" out err
	'
fi

expect_success 'the password is nowhere in the backup folder, the output or the audit log; USER is' '
	gen_tree ar
	zdt -b "$BK" backup -c AR ar >/dev/null
	"$MUTATE" ar 5 42 >/dev/null
	zdt -b "$BK" rollback --from AR --no-server-check 127.0.0.1 admin $PW >out 2>err
	zdt -b "$BK" -v --json rollback --from AR --no-server-check 127.0.0.1 admin $PW >out2 2>err2
	! grep -r -q "$PW" "$BK"
	! grep -q "$PW" out err out2 err2
	check_grep "command=rollback.* ar-user=admin( |$)" "$BK/audit.log"
	check_no_grep "$PW" "$BK/audit.log"
'

expect_success '--password-file, $ZDT_AR_PASSWORD and --user are accepted; the password is not stored' '
	setup
	echo "$PW" >pwfile
	zdt -b "$BK" rollback -c AR --password-file pwfile --user fromfile >out 2>err
	restored ar
	"$MUTATE" ar 5 42 >/dev/null
	ZDT_AR_PASSWORD=$PW zdt -b "$BK" rollback -c AR --server 127.0.0.1 --user fromenv >out2 2>err2
	restored ar
	check_grep "ar-user=fromfile" "$BK/audit.log"
	check_grep "ar-user=fromenv" "$BK/audit.log"
	! grep -r -q "$PW" "$BK"
	! grep -q "$PW" out err out2 err2
'

test_done

#!/bin/bash
# t2200-server-password: the AR System server check before rolling back
# AtriumCore or AtriumIntegrator, and the password of the installer's
# command line (never stored, wiped from zdt's own command line).
#
# The "AR System server" is a TCP listener on 127.0.0.1 that counts the
# connections it accepts; a closed port is one a listener just gave back.
. "$(dirname "$0")/lib.sh"
require python3 strace
MUTATE=$ZDT_SRC/scripts/mutate-tree
[ -x "$MUTATE" ] || skip_all "no $MUTATE (make scripts/mutate-tree)"
PY=${PYTHON3:-$(command -v python3)}
PW=S3cr3tPw

# fast_sum: what tests/treesum.sh reads, in one python process: type, mode,
# owner, size (not of folders: the file system's business), mtime (ns),
# content hash, symlink target (which treesum.sh leaves out), hardlink
# groups, sparse files, every xattr (ACLs included)
FAST_SUM_PY='
import difflib, hashlib, os, stat, sys
def fsum(top, noroot):
    root = os.fsencode(top)
    out, links = [], {}
    def q(b):
        return repr(b)[2:-1]
    def walk(rel):
        p = root + b"/" + rel
        st = os.lstat(p)
        m = st.st_mode
        t = ("f" if stat.S_ISREG(m) else "d" if stat.S_ISDIR(m) else "l" if stat.S_ISLNK(m) else
             "p" if stat.S_ISFIFO(m) else "s" if stat.S_ISSOCK(m) else "c" if stat.S_ISCHR(m) else
             "b" if stat.S_ISBLK(m) else "?")
        extra, size = "-", st.st_size
        if t == "f":
            h = hashlib.blake2b(digest_size=16)
            with open(p, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            extra = h.hexdigest()
            if st.st_nlink > 1:
                links.setdefault((st.st_dev, st.st_ino), []).append(rel)
            if size and st.st_blocks * 512 < 0.9 * size:
                extra += " sparse"
        elif t == "l":
            extra = "-> " + q(os.readlink(p))
        elif t == "d":
            size = "-"
        elif t in "cb":
            extra = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        try:
            names = sorted(os.listxattr(p, follow_symlinks=False))
        except OSError:
            names = []
        xs = ["%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex()) for n in names]
        if not (noroot and rel == b"."):
            out.append("%s %o %d %d %s %d.%09d %s %s %s" % (t, m & 0o7777, st.st_uid, st.st_gid, size,
                       st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9, q(rel), extra, " ".join(xs)))
        if t == "d":
            for n in sorted(os.listdir(p)):
                walk(n if rel == b"." else rel + b"/" + n)
    walk(b".")
    for g in sorted(sorted(v) for v in links.values()):
        out.append("hardlink " + " ".join(q(x) for x in g))
    return [l + "\n" for l in out]
args = sys.argv[1:]
noroot = "--no-root" in args
args = [a for a in args if a != "--no-root"]
if args[0] == "sum":
    sys.stdout.writelines(fsum(args[1], noroot))
    sys.exit(0)
cache, rc = args[1], 0
for ref, live in zip(args[2::2], args[3::2]):
    key = os.path.join(cache, ".fsum-ref" + os.path.realpath(ref).replace("/", "_") + ("-noroot" if noroot else ""))
    try:
        a = open(key).readlines()
    except OSError:
        a = fsum(ref, noroot)
        open(key, "w").writelines(a)
    b = fsum(live, noroot)
    if a != b:
        sys.stderr.write("same_tree: %r (-) and %r (+) differ:\n" % (ref, live))
        d = list(difflib.unified_diff(a, b, ref, live, n=0))
        sys.stderr.writelines("    " + l for l in d[2:42])
        rc = 1
sys.exit(rc)
'

# fast_sum DIR [--no-root]: one line per path
fast_sum() {
	python3 -c "$FAST_SUM_PY" sum "$@"
}

# same_tree [--no-root] REF DIR [REF DIR]...: each DIR's fast_sum equals its
# REF's (REF's sum is kept under $TEST_OUT: REF must not change afterwards)
same_tree() {
	python3 -c "$FAST_SUM_PY" cmp "$TEST_OUT" "$@" 2>&9
}

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

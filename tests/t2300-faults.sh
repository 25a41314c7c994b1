#!/bin/bash
# t2300-faults: rollbacks from damaged or hostile snapshots, and rollbacks
# killed, interrupted, or failing on EIO / ENOSPC.
#
# A damaged or hostile snapshot must be refused (exit 4) before the live
# tree is touched: checked with tree_stamp (type, mode, owner, size, mtime,
# ctime, inode: any write changes a ctime).  An interrupted rollback must
# show as rollback-interrupted and finish on the next run: checked with
# fast_sum against a pristine copy.  Faults come from strace
# (-e inject=SYSCALL:signal=KILL|TERM / error=EIO|ENOSPC :when=N).
. "$(dirname "$0")/lib.sh"
require python3 xxhsum strace
[ -z "$ZDT_VALGRIND" ] || skip_all "fault injection with strace under valgrind is too slow"
need_mutate

# stamp: the stamp of src now, as the reference for check_untouched
stamp() {
	tree_stamp src >stamp.before
	fast_sum src >sum.before
}

# check_untouched: src is as stamp left it, byte for byte
check_untouched() {
	tree_stamp src >stamp.now
	if ! cmp -s stamp.before stamp.now; then
		echo "check_untouched: the live tree changed:" >&9
		diff stamp.before stamp.now | head -n 20 | sed 's/^/    /' >&9
		return 1
	fi
	fast_sum src >sum.now
	cmp sum.before sum.now
}

# mentry_offset PATH: the archive offset (field 8) of PATH's manifest entry
mentry_offset() {
	awk -v p="$1" '$1 == "f" && $10 == p && NF == 10 { print $8; exit }' "$(snap_dir AR)/manifest"
}

# rechecksum MANIFEST: its checksum line recomputed over every byte before it,
# and meta's manifest_checksum set to it (or the run stops at that check)
rechecksum() {
	head -n -1 "$1" >"$1.body"
	{ cat "$1.body"; echo "checksum xxh3-128 $(xxhsum -H2 <"$1.body" | cut -d" " -f1)"; } >"$1"
	rm -f "$1.body"
	manifest_py remeta "$1"
}

# hostile AFTER LINE [RETARGET]: insert the manifest line LINE after the
# entry of path AFTER (RETARGET: the new symlink target of AFTER), update
# the counts of the end line and of meta, recompute the checksum: only the
# hostile content is wrong
hostile() {
	local d m
	d=$(snap_dir AR)
	m=$d/manifest
	python3 - "$m" "$d/meta" "$@" <<-\PYEOF
	import sys
	m, meta, after, new = sys.argv[1:5]
	retarget = sys.argv[5] if len(sys.argv) > 5 else None
	lines = open(m, "rb").read().decode("utf-8", "surrogateescape").split("\n")
	assert lines[-1] == "" and lines[-2].startswith("checksum "), lines[-2:]
	out, done = [], False
	nf = new.split(" ")
	for l in lines[:-1]:
	    f = l.split(" ", 9)
	    if len(f) == 10 and f[0] in "fdlhpcb" and f[9].split(" -> ")[0] == after and not done:
	        if retarget:
	            assert f[0] == "l"
	            f[4] = str(len(retarget.encode()))
	            f[9] = after + " -> " + retarget
	            l = " ".join(f)
	        out += [l, new]
	        done = True
	        continue
	    if l.startswith("end entries="):
	        k = dict((a, int(b)) for a, b in (x.split("=") for x in l.split(" ")[1:]))
	        k["entries"] += 1
	        if nf[0] == "f":
	            k["files"] += 1
	            k["bytes"] += int(nf[4])
	        l = "end entries=%d files=%d bytes=%d" % (k["entries"], k["files"], k["bytes"])
	        counts = k
	    out.append(l)
	assert done, "no entry " + after
	open(m, "wb").write("\n".join(out).encode("utf-8", "surrogateescape") + b"\n")
	ml = open(meta).read().split("\n")
	for i, l in enumerate(ml):
	    for key in ("entries", "files", "bytes"):
	        if l.startswith(key + "="):
	            ml[i] = "%s=%d" % (key, counts[key])
	open(meta, "w").write("\n".join(ml))
	PYEOF
	rechecksum "$m"
	manifest_py checksum "$m"
}

# file_line PATH: the manifest line of a real file, renamed PATH
file_line() {
	awk -v p="lib/libar.so.9.1.00" -v n="$1" '$1 == "f" && $10 == p { $10 = n; print; exit }' "$(snap_dir AR)/manifest"
}

# trial SCALE-independent: counts of SYSCALLs in a rollback of src: the
# rollback is run (and restores src)
trial() {
	strace -f -o counts -e trace="$1" "$ZDT" -b "$BK" rollback -c AR >/dev/null
}

# count SYSCALL: the most calls of it one thread of the trial rollback made
# (strace counts inject when= per thread; the old files a rollback
# replaces are unlinked by its worker threads)
count() {
	awk -v s="$1" 'index($2, s "(") == 1 { n[$1]++ } END { m = 0; for (t in n) if (n[t] > m) m = n[t]; print m }' counts
}

expect_success 'recomputing the checksum line reproduces an untouched manifest' '
	setup_src
	m=$(snap_dir AR)/manifest
	cp "$m" m.orig
	rechecksum "$m"
	cmp m.orig "$m"
'

expect_success 'a flipped byte in the data of a needed file (uncompressed): exit 4, nothing touched' '
	setup_src
	"$MUTATE" src 5 42 >/dev/null
	echo "upgraded" >>src/conf/ar.cfg
	off=$(mentry_offset conf/ar.cfg)
	test -n "$off"
	stamp
	a=$(snap_archive AR)
	flip_byte "$a" $((off + 100))
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_grep "conf/ar\.cfg" err
	check_untouched
	check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
	# the same byte put back: the rollback goes through
	flip_byte "$a" $((off + 100))
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
'

expect_success 'a flipped byte in the middle of a gzip archive: exit 4, nothing touched' '
	setup_src tiny --compress gzip
	"$MUTATE" src 5 42 >/dev/null
	a=$(snap_archive AR)
	case $a in *.gz) ;; *) false ;; esac
	gzip -dc "$a" >good.tar
	flip_byte "$a" $(($(stat -c %s "$a") / 2))
	gzip -dc "$a" >bad.tar 2>/dev/null || :
	# the file whose data (or the member after it) the flipped byte spoils
	# is changed by the upgrade: the rollback needs it
	x=$(cmp good.tar bad.tar | sed -n "s/.* byte \([0-9]*\),.*/\1/p")
	[ -n "$x" ] || x=$(stat -c %s bad.tar)
	hit=$(awk -v x="$x" '"'"'$1 == "f" && $8 != "-" && $8 + 0 <= x + 0 && NF == 10 { p = $10 } END { print p }'"'"' "$(snap_dir AR)/manifest")
	echo "flipped byte at tar offset $x, in or after $hit"
	test -n "$hit" && test -f "src/$hit"
	echo "upgraded" >>"src/$hit"
	stamp
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_untouched
	must_fail 4 zdt -b "$BK" rollback -c AR --full 2>err
	check_untouched
	check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
'

expect_success 'a flipped byte in the manifest: exit 4, nothing touched' '
	setup_src
	"$MUTATE" src 5 42 >/dev/null
	stamp
	m=$(snap_dir AR)/manifest
	# a hash digit changed to another digit: only the checksum tells
	off=$(manifest_py field "$m" hash | cut -d" " -f1)
	flip_byte "$m" $((off + 5)) 0
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_grep "manifest" err
	check_untouched
	# a byte of a path
	rechecksum "$m"
	off=$(manifest_py field "$m" path | cut -d" " -f1)
	flip_byte "$m" $((off + 1))
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_untouched
	must_fail 4 zdt -b "$BK" diff -c AR
'

for h in dotdot absolute below-symlink below-symlink-outside; do
	expect_success "a hostile manifest entry ($h), checksum recomputed: exit 4, nothing written anywhere" '
		setup_src
		mkdir sentinel
		echo sentinel >sentinel/SENTINEL
		case '$h' in
		dotdot) hostile . "$(file_line ../escape)" ;;
		absolute) hostile . "$(file_line "$PWD/escape")" ;;
		below-symlink) hostile lib/libar.so "$(file_line lib/libar.so/x)" ;;
		below-symlink-outside)
			hostile midtier/lib "$(file_line midtier/lib/x)" "$PWD/sentinel"
			# and the upgrade left the same symlink in the live tree
			rm src/midtier/lib
			ln -s "$PWD/sentinel" src/midtier/lib
			;;
		esac
		# a change that needs no data from the archive
		chmod 0600 src/conf/arsystem.properties
		stamp
		tree_stamp sentinel >sentinel.before
		: >err
		ls -A | grep -v "^ls\." >ls.before
		must_fail 4 zdt -b "$BK" rollback -c AR 2>err
		ls -A | grep -v "^ls\." >ls.after
		cmp ls.before ls.after
		check_grep "escape|/x" err
		check_untouched
		tree_stamp sentinel >sentinel.after
		cmp sentinel.before sentinel.after
		test ! -e escape
		must_fail 4 zdt -b "$BK" rollback -c AR --dry-run
		must_fail 4 zdt -b "$BK" diff -c AR
	'
done

expect_success 'a hostile hardlink entry whose target goes through a symlink: exit 4, nothing touched' '
	setup_src
	l=$(file_line lib/zz-hl | awk "{ \$1 = \"h\"; \$8 = \"-\"; \$10 = \$10 \" -> lib/libar.so/x\"; print }")
	hostile lib/libar.so.9.1.00 "$l"
	chmod 0600 src/conf/arsystem.properties
	stamp
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_untouched
	check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
'

expect_success 'kill -9 at 4 chosen points of a rollback: rollback-interrupted, then the same rollback finishes' '
	setup_src small
	"$MUTATE" src 30 7 >/dev/null
	trial renameat2,pwrite64,unlinkat
	same_tree pristine src
	nr=$(count renameat2) nw=$(count pwrite64) nu=$(count unlinkat)
	echo "renameat2=$nr pwrite64=$nw unlinkat=$nu"
	test "$nr" -ge 100 && test "$nw" -ge 100 && test "$nu" -ge 10
	# pwrite64 number 1 is the lock file, before the journal
	# (t8100 kills a rollback at 20 points spread over all its calls)
	for spec in renameat2:1 renameat2:$nr pwrite64:$((nw / 2)) unlinkat:$((nu / 2)); do
		echo "== kill at $spec"
		"$MUTATE" src 30 7 >/dev/null
		must_fail 137 strace -f -o /dev/null -e trace=${spec%:*} \
			-e inject=${spec%:*}:signal=KILL:when=${spec#*:} "$ZDT" -b "$BK" rollback -c AR
		check_eq "rollback-interrupted after kill at $spec" 1 "$(count_state AR rollback-interrupted)"
		zdt -b "$BK" list >list
		check_grep "rollback-interrupted" list
		zdt -b "$BK" rollback -c AR >out 2>err
		check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
		check_eq "complete after the rerun" 1 "$(count_state AR complete)"
		same_tree pristine src
	done
'

for e in EIO:"Input/output error" ENOSPC:"No space left on device"; do
	expect_success "${e%%:*} on a write and on a rename: exit 1 naming the path; the rerun finishes" '
		setup_src
		"$MUTATE" src 30 7 >/dev/null
		trial renameat2,pwrite64
		nr=$(count renameat2) nw=$(count pwrite64)
		test "$nr" -ge 10 && test "$nw" -ge 10
		for spec in pwrite64:$((nw / 2)) renameat2:$((nr / 2)); do
			"$MUTATE" src 30 7 >/dev/null
			must_fail 1 strace -f -o /dev/null -e trace=${spec%:*} \
				-e inject=${spec%:*}:error='"${e%%:*}"':when=${spec#*:} "$ZDT" -b "$BK" rollback -c AR 2>err
			check_grep "^zdt: rollback: .*'"'"'$PWD/src/[^'"'"']+'"'"': '"${e#*:}"'" err
			check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
			zdt -b "$BK" rollback -c AR >/dev/null
			check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
			same_tree pristine src
		done
	'
done

expect_success root,mount,umount,fallocate 'a real lack of space: exit 3 before anything changes; with room, the rollback goes through' '
	mkdir mnt
	mount -t tmpfs -o size=40m tmpfs mnt
	when_finished "umount \"$PWD/mnt\""
	gen_tree mnt/src
	cp -a --sparse=always mnt/src pristine
	zdt -b "$BK" backup -c AR mnt/src >/dev/null
	# the upgrade deleted the jars (about 1 MiB)
	find mnt/src -name "*.jar" -delete
	avail=$(df -B1 --output=avail mnt | tail -n 1)
	fallocate -l $((avail - 256 * 1024)) mnt/filler
	tree_stamp mnt/src >stamp.before
	must_fail 3 zdt -b "$BK" rollback -c AR 2>err
	check_grep "space" err
	tree_stamp mnt/src >stamp.now
	cmp stamp.before stamp.now
	check_eq "rollback-interrupted" 0 "$(count_state AR rollback-interrupted)"
	rm mnt/filler
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine mnt/src
'

expect_success root,mount,umount 'a deleted sparse file is restored where its data fits (the space check counts blocks, not holes)' '
	mkdir mnt
	mount -t tmpfs -o size=40m tmpfs mnt
	when_finished "umount \"$PWD/mnt\""
	gen_tree mnt/src
	cp -a --sparse=always mnt/src pristine
	zdt -b "$BK" backup -c AR mnt/src >/dev/null
	# 50 MiB apparent, 4 MiB of data, on a file system with ~30 MiB free
	rm mnt/src/serverdata/ftindex/ftindex.sparse
	zdt -b "$BK" rollback -c AR
	same_tree pristine mnt/src
'

expect_success 'kill -9 in the second component of a --from rollback: the same selection finishes both' '
	gen_tree ar tiny 1
	gen_tree core tiny 2
	cp -a --sparse=always ar p-ar
	cp -a --sparse=always core p-core
	zdt -b "$BK" backup -c AR ar >/dev/null
	zdt -b "$BK" backup -c AtriumCore core >/dev/null
	"$MUTATE" ar 30 7 >/dev/null
	"$MUTATE" core 30 7 >/dev/null
	strace -f -y -o trace -e trace=renameat2 "$ZDT" -b "$BK" rollback --from AtriumCore --no-server-check >/dev/null
	same_tree p-ar ar p-core core
	# AtriumCore is rolled back first: the last renames are those of AR
	n=$(grep -c " renameat2(" trace)
	grep " renameat2(" trace | tail -n 6 >last
	test "$(grep -c "$PWD/ar[/>]" last)" = 6
	test "$(grep -c "$PWD/core[/>]" trace)" -ge 6
	"$MUTATE" ar 30 7 >/dev/null
	"$MUTATE" core 30 7 >/dev/null
	must_fail 137 strace -f -o /dev/null -e trace=renameat2 -e inject=renameat2:signal=KILL:when=$((n - 5)) \
		"$ZDT" -b "$BK" rollback --from AtriumCore --no-server-check
	check_eq "AR rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
	check_eq "AtriumCore rollback-interrupted" 0 "$(count_state AtriumCore rollback-interrupted)"
	same_tree p-core core
	zdt -b "$BK" rollback --from AtriumCore --no-server-check >/dev/null
	check_eq "AR rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
	same_tree p-ar ar p-core core
'

expect_success 'another run holds the lock: exit 3, nothing touched' '
	setup_src
	"$MUTATE" src 5 42 >/dev/null
	stamp
	PY=${PYTHON3:-$(command -v python3)}
	("$PY" -c "
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
open(\"locked\", \"w\").close()
time.sleep(60)" "$BK/.lock" </dev/null >/dev/null 2>&1 & echo $! >locker.pid)
	when_finished "kill $(cat locker.pid) 2>/dev/null || :"
	for i in $(seq 100); do
		[ -f locked ] && break
		sleep 0.05
	done
	test -f locked
	must_fail 3 zdt -b "$BK" rollback -c AR 2>err
	check_grep "in use" err
	check_untouched
	kill $(cat locker.pid)
	sleep 0.2
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
'

expect_success 'SIGTERM during a rollback: exit 143, the journal stays, the rerun finishes' '
	setup_src
	"$MUTATE" src 30 7 >/dev/null
	trial renameat2
	nr=$(count renameat2)
	"$MUTATE" src 30 7 >/dev/null
	must_fail 143 strace -f -o /dev/null -e trace=renameat2 \
		-e inject=renameat2:signal=TERM:when=$((nr / 2)) "$ZDT" -b "$BK" rollback -c AR 2>err
	check_eq "rollback-interrupted" 1 "$(count_state AR rollback-interrupted)"
	ls "$(snap_dir AR "$(zdt -b "$BK" --json list | python3 -c "import json, sys; print(json.load(sys.stdin)[\"snapshots\"][0][\"id\"])")")" >files
	check_grep "journal" files
	zdt -b "$BK" rollback -c AR >out 2>err2
	check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
	same_tree pristine src
'

test_done

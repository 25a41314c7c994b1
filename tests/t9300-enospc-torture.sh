#!/bin/bash
# t9300-enospc-torture: ENOSPC and EIO injected into backup and rollback at
# 25 points each (every error at every point: 50 cases a command), spread
# over their write, fsync, rename, mkdir and openat calls, and a real small
# tmpfs (tests/run.sh --torture; t8300-enospc-quick.sh runs 3 points of
# each command in make check).
#
# The points come from a traced trial run: for each family of calls (write:
# write, pwrite64; fsync: fsync, fdatasync, syncfs; rename: renameat,
# renameat2, rename; mkdir: mkdirat, mkdir; openat) the same share of the
# points, spread evenly over that family's calls.  A case holds when
#   - the run exits 1 with one error line (warnings aside) that says the
#     injected error, or exits 0 when the failed call was not needed (then
#     what it made must be whole: the snapshot verifies and holds every path
#     of the tree; the rolled-back tree equals the snapshot);
#   - nothing is lost: a backup leaves the install dir untouched, no new
#     complete snapshot and no leftover; a rollback leaves the tree as it
#     was or shows rollback-interrupted;
#   - a rerun with the fault gone succeeds (and the tree equals the snapshot).
. "$(dirname "$0")/lib.sh"
require strace python3
[ -z "$ZDT_VALGRIND" ] || skip_all "fault injection with strace under valgrind is too slow"
need_mutate
POINTS=${FAULT_POINTS:-$(quick 25 3)}
CALLS=write,pwrite64,fsync,fdatasync,syncfs,renameat,renameat2,rename,mkdirat,mkdir,openat

# fault_points N TRACE: "SYSCALL:K" points, N in all, shared between the
# families of calls, spread evenly within each family; K counts the call
# in its own thread, as strace's when= does (worker threads unlink and
# create files)
fault_points() {
	awk -v want="$1" '
		function fam(sc) {
			if (sc ~ /write/) return "write"
			if (sc ~ /sync/) return "fsync"
			if (sc ~ /rename/) return "rename"
			if (sc ~ /mkdir/) return "mkdir"
			return sc
		}
		/ resumed>/ { next }
		{ sc = $2; sub(/\(.*/, "", sc) }
		sc !~ /^[a-z0-9_]+$/ || sc ~ /^syscall_0x/ || sc == "execve" { next }
		{ calls[$1, sc]++; f = fam(sc); if (!(f in n)) fams[++nf] = f; n[f]++; s[f, n[f]] = sc ":" calls[$1, sc] }
		END {
			# round robin: one more point to each family that has calls left
			left = want
			while (left > 0) {
				gave = 0
				for (j = 1; j <= nf && left > 0; j++)
					if (share[fams[j]] < n[fams[j]]) { share[fams[j]]++; left--; gave = 1 }
				if (!gave) break
			}
			for (j = 1; j <= nf; j++) {
				f = fams[j]
				w = share[f]
				for (i = 1; i <= w; i++)
					print s[f, (w == 1) ? int((n[f] + 1) / 2) : int(1 + (i - 1) * (n[f] - 1) / (w - 1))]
			}
		}' "$2" | awk '!seen[$0]++'
}

# faulty ERRNO SPEC CMD...: CMD under strace with ERRNO injected at SPEC;
# sets $rc, stderr in err
faulty() {
	local e=$1 spec=$2
	shift 2
	rc=0
	strace -f -o /dev/null -e trace=${spec%:*} -e inject=${spec%:*}:error=$e:when=${spec#*:} "$@" \
		>out 2>err || rc=$?
	echo "$rc" >>"$TRASH/rcs"
}

# one_error CMD ERRNO: one error line in err, "zdt: CMD: ...: strerror"
one_error() {
	local msg
	case $2 in ENOSPC) msg="No space left on device" ;; EIO) msg="Input/output error" ;; esac
	if [ "$(grep "^zdt: " err | grep -v -c "^zdt: $1: warning: ")" != 1 ] ||
		! grep -q "^zdt: $1: .*$msg" err; then
		echo "not one error line saying '$msg':" >&9
		sed 's/^/    | /' err >&9
		return 1
	fi
}

complete_ids() {
	"$ZDT" -b "$BK" list -c AR | awk '$1 == "AR" && $4 == "complete" { print $2 }'
}

# ---- backup -----------------------------------------------------------------

backup_case() { # ERRNO SPEC
	faulty "$1" "$2" "$ZDT" -b "$BK" backup -c AR src
	tree_stamp src >stamp.now
	cmp stamp.before stamp.now || { echo "the install dir changed" >&9; return 1; }
	case $rc in
	1)
		one_error backup "$1"
		check_eq "complete snapshots after the failure" "$(cat ids.before)" "$(complete_ids | paste -sd ' ')"
		ls -A "$BK/AR" | paste -sd ' ' >present
		check_eq "what the failed run left" "$(cat ids.before)" "$(cat present)"
		;;
	0)
		# the call was not needed: the snapshot is whole
		id=$(complete_ids | tail -n 1)
		zdt -b "$BK" verify --snapshot "$id" >/dev/null
		check_same_paths "$BK/AR/$id/manifest" src
		zdt -b "$BK" cleanup -c AR --keep-last 1
		;;
	*) echo "exit $rc" >&9; sed 's/^/    | /' err >&9; return 1 ;;
	esac
	# the rerun with room
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" verify >/dev/null
	zdt -b "$BK" cleanup -c AR --keep-last 1
	check_eq "complete snapshots" 1 "$(count_complete AR)"
	check_eq "partial snapshots" 0 "$(count_state AR partial)"
}

expect_success "ENOSPC and EIO at $POINTS points of a backup" '
	gen_tree src tiny
	zdt -b "$BK" backup -c AR src >/dev/null
	tree_stamp src >stamp.before
	strace -f -o trace.all -e trace=$CALLS "$ZDT" -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" cleanup -c AR --keep-last 1
	complete_ids | paste -sd " " >ids.before
	fault_points $POINTS trace.all >points
	echo "# backup: $(wc -l <points) fault points: $(sed "s/:.*//" points | sort | uniq -c | paste -sd " ")" >&7
	while read -r spec; do
		for e in ENOSPC EIO; do
			campaign_case "backup, $e at $spec" backup_case $e "$spec"
			complete_ids | paste -sd " " >ids.before
		done
	done <points
	campaign_done "ENOSPC/EIO backup"
	echo "# exits: $(sort "$TRASH/rcs" | uniq -c | paste -sd " ")" >&7
'

# ---- rollback ---------------------------------------------------------------

rollback_case() { # ERRNO SPEC
	"$MUTATE" src 30 7 >/dev/null
	tree_stamp src >stamp.mutated
	faulty "$1" "$2" "$ZDT" -b "$BK" rollback -c AR
	case $rc in
	1)
		one_error rollback "$1"
		if [ "$(count_state AR rollback-interrupted)" = 0 ]; then
			tree_stamp src >stamp.now
			cmp stamp.mutated stamp.now || { echo "changed, and not resumable" >&9; return 1; }
		fi
		;;
	0) same_tree pristine src ;;
	*) echo "exit $rc" >&9; sed 's/^/    | /' err >&9; return 1 ;;
	esac
	zdt -b "$BK" rollback -c AR >/dev/null
	check_eq "rollback-interrupted after the rerun" 0 "$(count_state AR rollback-interrupted)"
	same_tree pristine src
}

expect_success "ENOSPC and EIO at $POINTS points of a rollback" '
	setup_src tiny
	"$MUTATE" src 30 7 >/dev/null
	strace -f -o trace.all -e trace=$CALLS "$ZDT" -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	fault_points $POINTS trace.all >points
	echo "# rollback: $(wc -l <points) fault points: $(sed "s/:.*//" points | sort | uniq -c | paste -sd " ")" >&7
	while read -r spec; do
		for e in ENOSPC EIO; do
			campaign_case "rollback, $e at $spec" rollback_case $e "$spec"
		done
	done <points
	campaign_done "ENOSPC/EIO rollback"
	echo "# exits: $(sort "$TRASH/rcs" | uniq -c | paste -sd " ")" >&7
'

# ---- a real small file system -------------------------------------------------

tmpfs_backup_refused() {
	must_fail 3 zdt -b "$PWD/mnt/bk" backup -c AR src 2>err
	test "$(grep -c "^zdt: " err)" = 1 || { sed 's/^/    | /' err >&9; return 1; }
	check_grep "^zdt: backup: .*(space|room)" err
}

tmpfs_backup_enospc() {
	# the free-space check blinded: the writes meet the real ENOSPC
	must_fail 1 strace -f -o /dev/null -e trace=statfs,fstatfs -e inject=statfs,fstatfs:error=ENOSYS \
		"$ZDT" -b "$PWD/mnt/bk" backup -c AR src 2>err
	check_grep "^zdt: backup: .*No space left on device" err
	test "$(grep "^zdt: " err | grep -v -c "^zdt: backup: warning: ")" = 1
	(cd mnt/bk && find . -mindepth 1 ! -path ./.lock ! -path ./audit.log) >left
	test ! -s left || { echo "left in the tmpfs:" >&9; cat left >&9; return 1; }
}

tmpfs_backup_room() {
	mount -o remount,size=200m mnt
	zdt -b "$PWD/mnt/bk" backup -c AR src >/dev/null
	zdt -b "$PWD/mnt/bk" verify >/dev/null
	mount -o remount,size=4m mnt 2>/dev/null || :
}

# fill_mnt2: the upgrade of mnt2/src, which deleted the jars, and a file
# system left with 64 KiB: too little to put the jars back
fill_mnt2() {
	"$MUTATE" mnt2/src 30 7 >/dev/null
	find mnt2/src -name "*.jar" -delete
	avail=$(df -B1 --output=avail mnt2 | tail -n 1)
	fallocate -l $((avail - 64 * 1024)) mnt2/filler
	tree_stamp mnt2/src >stamp.mutated
}

tmpfs_rollback_enospc() {
	# the install dir on a full file system: the rollback meets ENOSPC
	fill_mnt2
	rc=0
	strace -f -o /dev/null -e trace=statfs,fstatfs -e inject=statfs,fstatfs:error=ENOSYS \
		"$ZDT" -b "$BK" rollback -c AR 2>err || rc=$?
	check_eq "exit of the rollback on a full file system" 1 $rc
	check_grep "^zdt: rollback: .*No space left on device" err
	test "$(grep "^zdt: " err | grep -v -c "^zdt: rollback: warning: ")" = 1 || { sed "s/^/    | /" err >&9; return 1; }
	if [ "$(count_state AR rollback-interrupted)" = 0 ]; then
		tree_stamp mnt2/src >stamp.now
		cmp stamp.mutated stamp.now
	fi
	rm mnt2/filler
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine mnt2/src
}

tmpfs_rollback_refused() {
	fill_mnt2
	must_fail 3 zdt -b "$BK" rollback -c AR 2>err
	test "$(grep -c "^zdt: " err)" = 1 || { sed "s/^/    | /" err >&9; return 1; }
	tree_stamp mnt2/src >stamp.now
	cmp stamp.mutated stamp.now
	rm mnt2/filler
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine mnt2/src
}

expect_success root,mount,umount,fallocate 'a real small tmpfs: backup and rollback out of room, then with room' '
	gen_tree src tiny
	mkdir mnt mnt2
	mount -t tmpfs -o size=4m tmpfs mnt
	when_finished "umount \"$PWD/mnt\""
	mount -t tmpfs -o size=40m tmpfs mnt2
	when_finished "umount \"$PWD/mnt2\""
	gen_tree mnt2/src tiny
	cp -a --sparse=always mnt2/src pristine
	zdt -b "$BK" backup -c AR mnt2/src >/dev/null
	campaign_case "backup into a 4 MiB tmpfs: refused" tmpfs_backup_refused
	campaign_case "backup into a 4 MiB tmpfs, space check blinded: ENOSPC" tmpfs_backup_enospc
	campaign_case "backup into the tmpfs grown to 200 MiB" tmpfs_backup_room
	campaign_case "rollback onto a full tmpfs: refused" tmpfs_rollback_refused
	campaign_case "rollback onto a full tmpfs, space check blinded: ENOSPC" tmpfs_rollback_enospc
	campaign_done "ENOSPC tmpfs"
'

test_done

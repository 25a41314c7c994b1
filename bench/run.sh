#!/usr/bin/env bash
# bench/run.sh [-s SCALE] [-n RUNS] [-k] [-q] [-D] [-o FILE] - time zdt next
# to the tools an administrator would otherwise use, on the same generated
# tree, in one run, alternating zdt and its baseline, and write medians,
# peak RSS and zdt/baseline ratios next to the targets of issue #5.
#
#   backup --compress none   vs  tar -cf + sync of the archive (durable, as zdt)
#   backup --compress gzip   vs  tar -cf - | pigz -6 (both cores), and sizes
#   verify                   vs  xxhsum -H2 over every file of the tree
#   diff (5% mutated)        vs  rsync -aHn --delete --itemize-changes from a
#                                pristine copy onto the mutated tree: a dry
#                                run that only lists what differs (rsync has
#                                no diff command; this is the closest one)
#   rollback (5% mutated)    vs  rsync -aH --delete from a pristine copy
#   rollback --checksum      vs  rsync -aHc --delete
#   rollback into nothing    vs  bsdtar -xpf, and tar -xf, into an empty
#                                folder (round robin zdt, bsdtar, tar; the
#                                target is the faster of the two)
#   cleanup of 100 snapshots vs  rm -rf of the same 100 snapshot folders
#                                (copies of one snapshot of a tiny tree)
#   big scale (or -D) only: dd if=/dev/zero bs=1M conv=fdatasync of as many
#   MiB as the tree holds data (holes of sparse files left out); backup and
#   full rollback throughput (the same data bytes / wall) in % of dd's.
#
# zdt makes its results durable (fsync/syncfs); the baselines do not, except
# tar_cf_sync and dd.  Wall time is the median of RUNS counted runs after one
# warm-up run each (page cache warm); peak RSS is the largest process's
# (GNU time %M), the highest of the counted runs.
#
# Fairness on ext4 without a journal (this project's machine): creating a
# file soon after many files were deleted (< 60 s, 300 s while the inode
# table block is dirty) makes each create scan the recently deleted inodes
# (recently_deleted() in find_inode_bit), which slowed creation-heavy runs
# (full rollback, tar -xf) 2-4x, at random, depending on which tool ran right
# after a big rm -rf.  So the full-rollback runs never follow an rm -rf: each
# run's output is renamed into a trash folder of the work dir, emptied only at
# the end (or, if the scratch file system runs short, emptied and followed by
# the same wait), and before them the script runs `sync; sleep 61` once
# (-q skips the sleep: quick smoke tests on tiny and small only).  The
# differential rollbacks' preparation (the tree put back in its mutated
# state) also moves the old tree aside rather than deleting it, so those
# runs and their copies do not pay for it either (the trash is emptied only
# when space runs short, before the full rollbacks or earlier).  Each
# counted round starts with the next command of its group (round robin), so
# that none always runs first after the previous group's work.
#
#   -s SCALE  tiny small medium many huge big (default medium)
#   -n RUNS   counted runs per command (default 3)
#   -k        keep the work folder (under $TMPDIR, default /tmp)
#   -q        quick: no 61 s wait (results on big trees are then unfair)
#   -D        the dd comparison at any scale (default: big only)
#   -o FILE   the results file (default bench/RESULTS.md): the section of
#             this scale is replaced, the others are kept
# Needs: tar bsdtar pigz rsync xxhsum GNU time dd (scripts/install-deps.sh).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
scale=medium runs=3 keep=0 quick=0 dd_any=0 results=$top/bench/RESULTS.md
while getopts "s:n:kqDo:" o; do
	case $o in
	s) scale=$OPTARG ;;
	n) runs=$OPTARG ;;
	k) keep=1 ;;
	q) quick=1 ;;
	D) dd_any=1 ;;
	o) results=$OPTARG ;;
	*) echo "usage: bench/run.sh [-s SCALE] [-n RUNS] [-k] [-q] [-D] [-o FILE]" >&2; exit 2 ;;
	esac
done
scales="tiny small medium many huge big"
case " $scales " in *" $scale "*) ;; *) echo "bench: unknown scale '$scale' ($scales)" >&2; exit 2 ;; esac
case $runs in '' | *[!0-9]* | 0) echo "bench: -n needs a number >= 1" >&2; exit 2 ;; esac
for t in tar bsdtar pigz rsync xxhsum dd; do
	command -v "$t" >/dev/null || { echo "bench: $t not found (make deps)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: GNU time not found (make deps)" >&2; exit 1; }
zdt=$top/zdt
out=$top/bench/out
mkdir -p "$out"
started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/zdt-bench.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
trash=$work/trash
mkdir "$trash"
tree=$work/tree
"$top/scripts/gen-tree" "$tree" "$scale" 1 >/dev/null
# files: inodes; bytes: apparent size; data: without the holes of sparse files
read -r bytes data files < <(find "$tree" -type f -printf '%i %s %b\n' |
	awk '!seen[$1]++ {b += $2; d += ($3 * 512 < $2) ? $3 * 512 : $2; n++} END {printf "%.0f %.0f %d\n", b, d, n}')
tree_kib=$(du -sk "$tree" | cut -f1)
avail_kib() { df -Pk "$work" | awk 'NR==2 {print $4}'; }
# the differential rollback holds the tree, a pristine copy, a mutated
# master, rsync's copy and the snapshot: about 4 more trees
need=$((4 * tree_kib + 1048576))
if [ "$(avail_kib)" -lt "$need" ]; then
	echo "bench: $scale needs about $((need / 1048576 + 1)) GiB free in ${TMPDIR:-/tmp}, has $(($(avail_kib) / 1048576)) GiB (set TMPDIR)" >&2
	exit 1
fi

declare -A W R
# one timed run of a bash command: appends "wall rss_kib" to $work/NAME.t
timed() {
	local name=$1 cmd=$2
	/usr/bin/time -f '%e %M' -o "$work/time" bash -c "$cmd" >/dev/null 2>"$work/err" ||
		{ echo "bench: $name failed: $(head -c 300 "$work/err")" >&2; exit 1; }
	tail -n 1 "$work/time" >>"$work/$name.t"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# rounds NAME CMD PREP [NAME CMD PREP]...: RUNS+1 rounds, each running every
# command in turn (zdt first), after its PREP (eval'd here, then sync); round
# 0 is the warm-up, not counted.  W: median wall (s), R: peak RSS (KiB).
rounds() {
	local i j k n nc
	local -a a=("$@")
	nc=$((${#a[@]} / 3))
	for ((i = 0; i <= runs; i++)); do
		# each counted round starts with the next command: none always
		# runs first, nearest to what the machine did before the round
		for ((k = 0; k < nc; k++)); do
			j=$((((k + i) % nc) * 3))
			eval "${a[j + 2]}"
			sync
			if [ "$i" -eq 0 ]; then
				timed warmup "${a[j + 1]}"
			else
				timed "${a[j]}" "${a[j + 1]}"
			fi
		done
	done
	for ((j = 0; j < ${#a[@]}; j += 3)); do
		n=${a[j]}
		W[$n]=$(cut -d' ' -f1 "$work/$n.t" | median)
		R[$n]=$(cut -d' ' -f2 "$work/$n.t" | sort -g | tail -n 1)
	done
}
pair() { rounds "$1" "$2" "${5:-true}" "$3" "$4" "${6:-true}"; }

# moves a run's output into the trash (a rename: no deletion before the next
# create); empties the trash, then waits as at the start, when the scratch
# file system could not take one more tree
nt=0 emptied=0
aside() {
	[ -e "$1" ] || return 0
	nt=$((nt + 1))
	mv "$1" "$trash/$nt"
	if [ "$(avail_kib)" -lt $((tree_kib + 524288)) ]; then
		rm -rf "$trash"
		mkdir "$trash"
		sync
		[ "$quick" = 1 ] || sleep 61
		emptied=$((emptied + 1))
	fi
}

bk=$work/bk
rounds zdt_backup_none "$zdt -q -b $bk backup -c AR $tree" "rm -rf $bk" \
       tar_cf "tar -cf $work/ref.tar -C $tree ." "rm -f $work/ref.tar" \
       tar_cf_sync "tar -cf $work/ref.tar -C $tree . && sync $work/ref.tar" "rm -f $work/ref.tar"
pair zdt_backup_gzip "$zdt -q -b $bk backup -c AR --compress gzip $tree" \
     tar_pigz "tar -cf - -C $tree . | pigz -6 > $work/ref.tgz" \
     "rm -rf $bk" "rm -f $work/ref.tar $work/ref.tgz"
zsize=$(stat -c %s "$bk"/AR/*/archive.tar.gz)
psize=$(stat -c %s "$work/ref.tgz")
rm -rf "$bk" "$work/ref.tgz"
"$zdt" -q -b "$bk" backup -c AR "$tree"
pair zdt_verify "$zdt -q -b $bk verify -c AR" \
     xxhsum_tree "cd $tree && find . -type f -print0 | xargs -0 -n 2000 xxhsum -H2"

dd_mib=$(((data + 1048575) / 1048576))
do_dd=$dd_any
[ "$scale" != big ] || do_dd=1
if [ "$do_dd" = 1 ]; then
	rounds dd_fdatasync "dd if=/dev/zero of=$work/dd.out bs=1M count=$dd_mib conv=fdatasync" \
		"rm -f $work/dd.out"
	rm -f "$work/dd.out"
fi

# diff and differential rollback: the snapshot of the pristine tree, a
# mutated master copy, and before each timed run the tree (zdt) or a copy
# (rsync) put back in the mutated state; rsync gets a pristine copy as source
pristine=$work/pristine
cp -a --sparse=always "$tree" "$pristine"
"$top/scripts/mutate-tree" "$tree" 5 42 >/dev/null
cp -a --sparse=always "$tree" "$work/mutated"
pair zdt_diff "$zdt -q -b $bk diff -c AR; [ \$? -eq 1 ]" \
     rsync_itemize "rsync -aHn --delete --itemize-changes $pristine/ $tree/"
mut="aside $tree; cp -a --sparse=always $work/mutated $tree"
rmut="aside $work/r; cp -a --sparse=always $work/mutated $work/r"
rounds zdt_rollback "$zdt -q -b $bk rollback -c AR" "$mut" \
       rsync_delete "rsync -aH --delete $pristine/ $work/r/" "$rmut" \
       rsync_delete_sync "rsync -aH --delete $pristine/ $work/r/ && sync -f $work/r" "$rmut"
rounds zdt_rollback_checksum "$zdt -q -b $bk rollback -c AR --checksum" "$mut" \
       rsync_delete_c "rsync -aHc --delete $pristine/ $work/r/" "$rmut" \
       rsync_delete_c_sync "rsync -aHc --delete $pristine/ $work/r/ && sync -f $work/r" "$rmut"
"$zdt" -q -b "$bk" diff -c AR || { echo "bench: the tree differs from the snapshot after rollback" >&2; exit 1; }

# full rollback into an empty folder: never after an rm -rf (see the top).
# The differential runs' trees stay in the trash (deleting a few million
# files here takes minutes, and the creates after it are slowed far longer
# than the wait) unless the full rollbacks' outputs would not fit beside it
aside "$work/r"
aside "$work/mutated"
aside "$pristine"
if [ "$(avail_kib)" -lt $(((4 * runs + 5) * tree_kib + 1048576)) ]; then
	rm -rf "$trash"
	mkdir "$trash"
	emptied=$((emptied + 1))
fi
sync
[ "$quick" = 1 ] || sleep 61
arc=$(echo "$bk"/AR/*/archive.tar)
rounds zdt_rollback_full "$zdt -q -b $bk rollback -c AR" "aside $tree; mkdir $tree" \
       bsdtar_xpf "bsdtar -xpf $arc -C $work/x" "aside $work/x; mkdir $work/x" \
       tar_xf "tar -xf $arc -C $work/x 2>/dev/null" "aside $work/x; mkdir $work/x" \
       tar_xf_sync "tar -xf $arc -C $work/x 2>/dev/null && sync -f $work/x" "aside $work/x; mkdir $work/x"
"$zdt" -q -b "$bk" diff -c AR || { echo "bench: the tree differs from the snapshot after a full rollback" >&2; exit 1; }

# cleanup of 100 snapshots: one snapshot of a tiny tree (without its sparse
# file), copied 100 times under distinct IDs with their meta rewritten
ctree=$work/ctree cbk=$work/cbk c100=$work/c100
"$top/scripts/gen-tree" "$ctree" tiny 2 >/dev/null
"$zdt" -q -b "$cbk" backup -c AR --exclude 'serverdata/ftindex' "$ctree"
one=$(echo "$cbk"/AR/*)
mkdir "$c100"
for ((i = 0; i < 100; i++)); do
	mm=$(printf %02d $((i / 60))) ss=$(printf %02d $((i % 60)))
	id=20240101T00${mm}${ss}Z-01
	cp -a "$one" "$c100/$id"
	sed -i "s/^id=.*/id=$id/; s/^created=.*/created=2024-01-01T00:$mm:${ss}Z/" "$c100/$id/meta"
done
rm -rf "$one"
csize=$(du -sk "$c100" | cut -f1)
pair zdt_cleanup_100 "$zdt -q -b $cbk cleanup -c AR --all" \
     rm_rf_100 "rm -rf $work/rmc/20240101T*" \
     "cp -a $c100/. $cbk/AR/" "mkdir -p $work/rmc && cp -a $c100/. $work/rmc/"
[ -z "$(ls "$cbk/AR")" ] || { echo "bench: zdt cleanup left snapshots behind" >&2; exit 1; }
# the trash (a few million files at the larger scales) goes with the work
# folder at exit, after the report

# --- the report -----------------------------------------------------------
num() { awk -v a="$1" 'BEGIN {printf "%.2f", a}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
# verdict VALUE OP LIMIT SCALES: met / NOT met, in parentheses when the
# issue sets this target for other scales only
verdict() {
	local ok
	ok=$(awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {print (op == "<=" ? v <= l : v >= l) ? 1 : 0}')
	case " $4 " in
	*" $scale "*) [ "$ok" = 1 ] && echo met || echo "**NOT met**" ;;
	*) [ "$ok" = 1 ] && echo "(met)" || echo "(not met)" ;;
	esac
}
# row OPERATION ZDT_NAME BASE_LABEL BASE_NAME TARGET_TEXT [LIMIT SCALES]
row() {
	local r v=—
	r=$(ratio "${W[$2]}" "${W[$4]}")
	[ -z "${6:-}" ] || v=$(verdict "$r" "<=" "$6" "$7")
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(num "${W[$2]}")" \
		"$(mib "${R[$2]}")" "$3" "$(num "${W[$4]}")" "$(mib "${R[$4]}")" "$r" "$5" "$v"
}
fast=bsdtar_xpf
awk -v a="${W[tar_xf]}" -v b="${W[bsdtar_xpf]}" 'BEGIN {exit !(a < b)}' && fast=tar_xf

fs=$(findmnt -n -o FSTYPE --target "$work")
fsopts=$(findmnt -n -o OPTIONS --target "$work")
journal=""
if [ "$fs" = ext4 ]; then
	dev=$(basename "$(findmnt -n -o SOURCE --target "$work")")
	if compgen -G "/proc/fs/jbd2/$dev-*" >/dev/null; then journal=", with a journal"; else journal=", no journal"; fi
fi
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$top" diff --quiet HEAD -- . ':(exclude)bench' ':(exclude)README.md' 2>/dev/null ||
	rev="$rev + uncommitted changes"
took=$((($(date +%s) - started + 59) / 60))
note=""
[ "$quick" = 0 ] || note=" Quick run (-q): no 61 s wait before the full rollbacks."
[ "$emptied" = 0 ] || note="$note The trash was emptied $emptied time(s) for lack of space, each followed by the wait (none with -q)."

section() {
	echo "## $scale"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ): \`bench/run.sh -s $scale -n $runs$([ "$quick" = 0 ] || echo " -q")\`," \
		"$runs counted run(s) after one warm-up, $took min in all.  Tree: $files files," \
		"$((bytes / 1000000)) MB ($((tree_kib / 1024)) MiB on disk).  zdt $rev.$note"
	echo
	echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))," \
		"$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r);" \
		"scratch \`${TMPDIR:-/tmp}\` on $fs$journal ($fsopts)."
	echo
	echo "| operation | zdt s | zdt peak MiB | baseline | baseline s | baseline peak MiB | zdt/baseline | target | met |"
	echo "|---|---:|---:|---|---:|---:|---:|---|---|"
	row "backup --compress none" zdt_backup_none "tar -cf" tar_cf "≤ 1.0 (medium, many)" 1.0 "medium many"
	row "backup --compress none" zdt_backup_none "tar -cf + sync" tar_cf_sync "none (same guarantee)"
	row "backup --compress gzip" zdt_backup_gzip "tar \| pigz -6" tar_pigz "≤ 1.0 (medium)" 1.0 "medium"
	row "verify" zdt_verify "xxhsum -H2 (tree)" xxhsum_tree "≤ 1.0 (medium, many)" 1.0 "medium many"
	row "diff (5% mutated)" zdt_diff "rsync -aHn --itemize-changes" rsync_itemize "none"
	row "rollback (5% mutated)" zdt_rollback "rsync -aH --delete" rsync_delete "≤ 1.0 (medium, many)" 1.0 "medium many"
	row "rollback (5% mutated)" zdt_rollback "rsync -aH --delete + sync" rsync_delete_sync "none (same guarantee)"
	row "rollback --checksum" zdt_rollback_checksum "rsync -aHc --delete" rsync_delete_c "≤ 1.0 (medium)" 1.0 "medium"
	row "rollback --checksum" zdt_rollback_checksum "rsync -aHc --delete + sync" rsync_delete_c_sync "none (same guarantee)"
	row "full rollback, empty folder" zdt_rollback_full "bsdtar -xpf" bsdtar_xpf "none"
	row "full rollback, empty folder" zdt_rollback_full "tar -xf" tar_xf "none"
	row "full rollback, empty folder" zdt_rollback_full "faster: ${fast%%_*}" "$fast" "≤ 1.0 (medium, many)" 1.0 "medium many"
	row "full rollback, empty folder" zdt_rollback_full "tar -xf + sync" tar_xf_sync "none (same guarantee)"
	row "cleanup of 100 snapshots" zdt_cleanup_100 "rm -rf (same 100)" rm_rf_100 "none"
	echo
	local dz=$((zsize - psize)) sv
	sv=$(verdict "$(awk -v d="$dz" -v p="$psize" 'BEGIN {print (d < 0 ? -d : d) * 100 / p}')" "<=" 1 medium)
	awk -v z="$zsize" -v p="$psize" -v v="$sv" 'BEGIN {printf "gzip size: zdt %.0f, pigz %.0f bytes (%+.2f%%); target within 1%% (medium): %s.\n", z, p, (z - p) * 100 / p, v}'
	local top_n=zdt_backup_none n
	for n in zdt_backup_gzip zdt_verify zdt_diff zdt_rollback zdt_rollback_checksum zdt_rollback_full zdt_cleanup_100; do
		[ "${R[$n]}" -le "${R[$top_n]}" ] || top_n=$n
	done
	echo
	echo "Peak RSS of zdt, highest: $(mib "${R[$top_n]}") MiB (${top_n#zdt_}); target ≤ 32 MiB (huge): $(verdict "$(mib "${R[$top_n]}")" "<=" 32 huge)."
	echo "Cleanup: 100 snapshots of $((csize / 100)) KiB each (a tiny tree without its sparse file)."
	if [ "$do_dd" = 1 ]; then
		local ddm bm rbm
		ddm=$(awk -v m="$dd_mib" -v t="${W[dd_fdatasync]}" 'BEGIN {printf "%.0f", m / t}')
		bm=$(awk -v b="$data" -v t="${W[zdt_backup_none]}" 'BEGIN {printf "%.0f", b / 1048576 / t}')
		rbm=$(awk -v b="$data" -v t="${W[zdt_rollback_full]}" 'BEGIN {printf "%.0f", b / 1048576 / t}')
		echo
		echo "| throughput (tree data bytes / wall) | MiB/s | % of dd | target | met |"
		echo "|---|---:|---:|---|---|"
		echo "| dd if=/dev/zero bs=1M count=$dd_mib conv=fdatasync ($(num "${W[dd_fdatasync]}") s) | $ddm | 100 | | |"
		for p in "backup --compress none:$bm" "full rollback, empty folder:$rbm"; do
			local pc
			pc=$(awk -v a="${p##*:}" -v d="$ddm" 'BEGIN {printf "%.0f", a * 100 / d}')
			echo "| ${p%%:*} | ${p##*:} | $pc | ≥ 70% (big) | $(verdict "$pc" ">=" 70 big) |"
		done
	fi
}

header() {
	cat <<'EOF'
# zdt benchmark results

Written by `bench/run.sh` (`make bench`, `make bench SCALE=many`, `make
bench-scale`); do not edit by hand: each run replaces the section of its
scale and keeps the others.  zdt and the tool an administrator would
otherwise use run on the same generated tree (`scripts/gen-tree`, seed 1;
`scripts/mutate-tree 5 42` for the upgrade), in one run, alternating (each
counted round starts with the next command of its group), RUNS counted
runs after one warm-up each, page cache warm.  Times are medians in
seconds; peak RSS is GNU time's %M of the largest process, highest run.
zdt/baseline < 1 means zdt is faster.  Targets are those of issue #5; a
verdict in parentheses is for a scale the issue sets no such target for.
The diff baseline is an rsync dry run (`-n --itemize-changes`) from a
pristine copy onto the mutated tree: it only lists what differs.

Durability: zdt's times include putting what it wrote on disk (backup
fsyncs its files; rollback ends with syncfs(2) and reports done only
then).  The verdicts compare it with the baselines as issue #5 names them,
which leave their output in the page cache.  The rows marked "same
guarantee" time the same baseline followed by `sync` of its output (`sync
-f`: syncfs of its file system), for information.

Fairness: on ext4 without a journal, creating files within 60 s (300 s
while the inode table block is dirty) of deleting many makes each create
scan the recently deleted inodes (`recently_deleted()` in ext4's
`find_inode_bit`), which slowed full rollbacks and `tar -xf` 2-4x at random.
So full-rollback runs never follow an `rm -rf`: outputs are renamed into a
trash folder emptied at the end, and `sync; sleep 61` runs once before them
(not with `-q`).  The differential rollbacks' preparation also renames the
old tree aside instead of deleting it, into the same trash.  When the scratch file system runs
short, the trash is emptied and the same wait follows (the section says so).
EOF
}

tmp=$work/results.md
{
	header
	for s in $scales; do
		if [ "$s" = "$scale" ]; then
			body=$(section)
		elif [ -f "$results" ]; then
			body=$(awk -v b="<!-- zdt-bench $s begin -->" -v e="<!-- zdt-bench $s end -->" \
				'$0 == e {p = 0} p {print} $0 == b {p = 1}' "$results")
		else
			body=""
		fi
		[ -z "$body" ] || printf '\n<!-- zdt-bench %s begin -->\n%s\n<!-- zdt-bench %s end -->\n' "$s" "$body" "$s"
	done
} >"$tmp"
cp "$tmp" "$results"
section_file=$out/results-$scale.txt
awk -v b="<!-- zdt-bench $scale begin -->" -v e="<!-- zdt-bench $scale end -->" \
	'$0 == e {p = 0} p {print} $0 == b {p = 1}' "$results" | tee "$section_file"

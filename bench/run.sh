#!/usr/bin/env bash
# bench/run.sh [-s SCALE] [-n RUNS] [-k] - time zdt next to the tools an
# administrator would otherwise use, on the same generated tree, in one run,
# alternating zdt and its baseline, and print medians and ratios.
#
#   backup --compress none   vs  tar -cf + sync of the archive (durable, as zdt)
#   backup --compress gzip   vs  tar -cf - | pigz -6 (both cores), and sizes
#   verify                   vs  xxhsum -H2 over every file of the tree
#   rollback (5% mutated)    vs  rsync -aH --delete from a pristine copy
#   rollback --checksum      vs  rsync -aHc --delete
#   rollback into nothing    vs  bsdtar -xpf, and tar -xf, into an empty folder
#
# zdt makes its results durable (fsync/syncfs); the baselines do not, except
# tar_cf_sync.
# Wall time is the median of RUNS counted runs after one warm-up run each
# (page cache warm); peak RSS is the largest process's, from GNU time.
# SCALE: tiny small medium many (default medium).  Needs: tar pigz xxhsum time.
set -euo pipefail

scale=medium runs=3 keep=0
while getopts "s:n:k" o; do
	case $o in
	s) scale=$OPTARG ;;
	n) runs=$OPTARG ;;
	k) keep=1 ;;
	*) echo "usage: bench/run.sh [-s SCALE] [-n RUNS] [-k]" >&2; exit 2 ;;
	esac
done
top=$(cd "$(dirname "$0")/.." && pwd)
zdt=$top/zdt
out=$top/bench/out
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/zdt-bench.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
tree=$work/tree
"$top/scripts/gen-tree" "$tree" "$scale" 1 >/dev/null
read -r bytes files < <(find "$tree" -type f -printf '%s\n' | awk '{b+=$1; n++} END {print b, n}')

declare -A W R
# one timed run of a bash command: appends "wall rss_kib" to $work/NAME.t
timed() {
	local name=$1 cmd=$2
	env time -f '%e %M' -o "$work/time" bash -c "$cmd" >/dev/null 2>"$work/err" ||
		{ echo "bench: $name failed: $(head -c 300 "$work/err")" >&2; exit 1; }
	tail -n 1 "$work/time" >>"$work/$name.t"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# name:command pairs, run alternately: zdt, baseline, zdt, baseline...
pair() {
	local za=$1 zc=$2 ba=$3 bc=$4 zprep=${5:-true} bprep=${6:-true} i
	for ((i = 0; i <= runs; i++)); do
		bash -c "$zprep"; sync
		if [ "$i" -eq 0 ]; then	# warm-up, not counted
			bash -c "$zc" >/dev/null 2>&1; bash -c "$bprep"; sync; bash -c "$bc" >/dev/null 2>&1
			continue
		fi
		timed "$za" "$zc"
		bash -c "$bprep"; sync
		timed "$ba" "$bc"
	done
	for n in "$za" "$ba"; do
		W[$n]=$(cut -d' ' -f1 "$work/$n.t" | median)
		R[$n]=$(cut -d' ' -f2 "$work/$n.t" | median)
	done
}

bk=$work/bk
pair zdt_backup_none "$zdt -q -b $bk backup -c AR $tree" \
     tar_cf_sync "tar -cf $work/ref.tar -C $tree . && sync $work/ref.tar" \
     "rm -rf $bk" "rm -f $work/ref.tar"
pair zdt_backup_gzip "$zdt -q -b $bk backup -c AR --compress gzip $tree" \
     tar_pigz "tar -cf - -C $tree . | pigz -6 > $work/ref.tgz" \
     "rm -rf $bk" "rm -f $work/ref.tar $work/ref.tgz"
zsize=$(stat -c %s "$bk"/AR/*/archive.tar.gz)
psize=$(stat -c %s "$work/ref.tgz")
rm -rf "$bk"
"$zdt" -q -b "$bk" backup -c AR "$tree"
pair zdt_verify "$zdt -q -b $bk verify -c AR" \
     xxhsum_tree "cd $tree && find . -type f -print0 | xargs -0 -n 2000 xxhsum -H2"

# rollback: the snapshot of the pristine tree, a mutated master copy, and
# before each timed run the tree (zdt) or a copy (rsync) put back in the
# mutated state; rsync gets a pristine extracted copy as its source
pristine=$work/pristine
cp -a --sparse=always "$tree" "$pristine"
"$top/scripts/mutate-tree" "$tree" 5 42 >/dev/null
cp -a --sparse=always "$tree" "$work/mutated"
mut="rm -rf $tree && cp -a --sparse=always $work/mutated $tree"
rmut="rm -rf $work/r && cp -a --sparse=always $work/mutated $work/r"
pair zdt_rollback "$zdt -q -b $bk rollback -c AR" \
     rsync_delete "rsync -aH --delete $pristine/ $work/r/" "$mut" "$rmut"
pair zdt_rollback_checksum "$zdt -q -b $bk rollback -c AR --checksum" \
     rsync_delete_c "rsync -aHc --delete $pristine/ $work/r/" "$mut" "$rmut"
pair zdt_rollback_full "$zdt -q -b $bk rollback -c AR" \
     bsdtar_xpf "bsdtar -xpf $bk/AR/*/archive.tar -C $work/x" \
     "rm -rf $tree" "rm -rf $work/x && mkdir $work/x"
pair zdt_rollback_full2 "$zdt -q -b $bk rollback -c AR" \
     tar_xf "tar -xf $bk/AR/*/archive.tar -C $work/x 2>/dev/null" \
     "rm -rf $tree" "rm -rf $work/x && mkdir $work/x"
rm -rf "$work/r" "$work/x" "$work/mutated"

ratio() { awk -v a="${W[$1]}" -v b="${W[$2]}" 'BEGIN {printf "%.2f", a / b}'; }
{
	echo "# zdt bench: scale $scale ($files files, $((bytes / 1000000)) MB), $runs runs, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(df -T "$work" | awk 'NR==2 {print $2}') scratch"
	printf '%-18s %8s %9s  %-14s %8s %9s  %6s\n' operation zdt_s zdt_MiB baseline base_s base_MiB ratio
	for p in "zdt_backup_none tar_cf_sync" "zdt_backup_gzip tar_pigz" "zdt_verify xxhsum_tree" \
		"zdt_rollback rsync_delete" "zdt_rollback_checksum rsync_delete_c" \
		"zdt_rollback_full bsdtar_xpf" "zdt_rollback_full2 tar_xf"; do
		set -- $p
		printf '%-18s %8.2f %9.1f  %-14s %8.2f %9.1f  %6s\n' "${1#zdt_}" "${W[$1]}" \
			"$(awk -v k="${R[$1]}" 'BEGIN {print k/1024}')" "$2" "${W[$2]}" \
			"$(awk -v k="${R[$2]}" 'BEGIN {print k/1024}')" "$(ratio "$1" "$2")"
	done
	awk -v z="$zsize" -v p="$psize" 'BEGIN {printf "gzip size: zdt %d, pigz %d bytes (%+.2f%%)\n", z, p, (z - p) * 100 / p}'
} | tee "$out/results-$scale.txt"

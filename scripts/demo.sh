#!/bin/sh
# demo.sh - what zdt does, on a generated install tree, in a scratch folder:
# backup (uncompressed and gzip), list, verify, a simulated upgrade, diff,
# rollback, the proof that the tree is back, then a damaged archive that
# verify catches.  KEEP=1 keeps the scratch folder; SCALE=tiny|small|medium.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
zdt="$top/zdt"
scale=${SCALE:-small}
work=$(mktemp -d "${TMPDIR:-/tmp}/zdt-demo.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "generate a '$scale' AR System install tree"
run "$top/scripts/gen-tree" "$work/ARSystem" "$scale" 1

say "back it up (the backup folder is created 0700, every file in it 0600)"
run "$zdt" -b "$work/zdt_backup" backup -c AR "$work/ARSystem"
run "$zdt" -b "$work/zdt_backup" backup -c AR --compress gzip "$work/ARSystem"

say "list the snapshots"
run "$zdt" -b "$work/zdt_backup" list

say "verify the newest snapshot against its manifest"
run "$zdt" -b "$work/zdt_backup" verify

say "the manifest is plain text (first lines)"
snap=$(ls -d "$work"/zdt_backup/AR/*/ | head -n 1)
head -n 12 "$snap/manifest"

say "simulate an upgrade (rewrites, deletes, adds, chmods, a folder replaced by a symlink...)"
cp -a --sparse=always "$work/ARSystem" "$work/pristine"
run "$top/scripts/mutate-tree" "$work/ARSystem" 5 42

say "what the upgrade changed (diff exits 1 when there are differences)"
set +e
"$zdt" -b "$work/zdt_backup" diff -c AR > "$work/diff.txt" 2>&1
echo "diff exit code: $?"
set -e
head -n 15 "$work/diff.txt"
echo "... $(wc -l < "$work/diff.txt") lines in all"

say "roll back to the uncompressed snapshot (the newest is the gzip one)"
first=$(basename "$(ls -d "$work"/zdt_backup/AR/*/ | head -n 1)")
printf '$ %s\n' "zdt rollback -c AR --snapshot $first --dry-run | head"
"$zdt" -b "$work/zdt_backup" rollback -c AR --snapshot "$first" --dry-run 2>&1 | head -n 8
run "$zdt" -b "$work/zdt_backup" rollback -c AR --snapshot "$first"

say "the install folder equals the tree before the upgrade"
if [ "$("$top/tests/treesum.sh" "$work/pristine")" = "$("$top/tests/treesum.sh" "$work/ARSystem")" ] &&
   "$zdt" -b "$work/zdt_backup" diff -c AR --snapshot "$first" --checksum; then
	echo "identical: paths, types, contents, modes, owners, mtimes, links, hardlinks, xattrs, ACLs, holes"
else
	echo "DIFFERENT" >&2
	exit 1
fi

say "damage one byte of conf/ar.cfg inside the uncompressed archive: verify says where"
off=$(awk '$10 == "conf/ar.cfg" { print $8 }' "$snap/manifest")
printf 'X' | dd of="$snap/archive.tar" bs=1 seek="$off" conv=notrunc status=none
set +e
"$zdt" -b "$work/zdt_backup" verify --all
rc=$?
set -e
echo "verify exit code: $rc (4 = integrity failure)"

say "what the audit log recorded"
cat "$work/zdt_backup/audit.log"

say "refusals: a backup folder reached through a symbolic link"
ln -s "$work/zdt_backup" "$work/link"
set +e
"$zdt" -b "$work/link/x" backup -c AR "$work/ARSystem"
echo "exit code: $? (3 = refused by a safety check)"
set -e
[ "${KEEP:-0}" = 1 ] && echo "kept: $work"
exit 0

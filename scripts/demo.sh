#!/bin/sh
# demo.sh - what zdt does, on a generated install tree, in a scratch folder:
# backup (uncompressed and gzip), list, verify, then a damaged archive that
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

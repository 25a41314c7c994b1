#!/bin/sh
# treesum.sh DIR - one line per path with everything zdt promises to keep:
# type, mode, owner, size, mtime (ns), symlink target, content hash,
# hardlink group, allocated blocks of sparse files, extended attributes and
# ACLs.  Two trees are equal for zdt when their treesum output is equal.
#
# A line: "TYPE MODE UID GID SIZE MTIME PATH[ -> TARGET] HASH" (TARGET for
# symlinks only, HASH "-" for what is not a regular file).  In PATH and
# TARGET a backslash is written "\\" and a newline "\n", so that every
# entry is one line.  The contents are hashed by a few xxhsum processes
# over all the files (not one process a file).
set -eu
cd "$1"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/treesum.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
nl='
'
sep=$(printf '\001')
# escape the NUL-terminated records of stdin, one a line
esc() {
	sed -z 's/\\/\\\\/g; s/\n/\\n/g' | tr '\0' '\n'
}
# hashes: "HASH  PATH" (PATH escaped); xxhsum 0.8 does not escape names, so
# a name with a newline is hashed on its own
find . -type f ! -name "*$nl*" -print0 | xargs -0 -r xxhsum -H2 -- | sed 's/\\/\\\\/g' >"$tmp/h"
find . -type f -name "*$nl*" -exec sh -c '
	for f; do printf "%s  %s\0" "$(xxhsum -H2 <"$f" | cut -d" " -f1)" "$f"; done' sh {} + | esc >>"$tmp/h"
# entries: three lines each (path, metadata, link target), escaped
find . -printf '%p\0%y %m %U %G %s %T@\0%l\0' | esc >"$tmp/e"
awk -v sep="$sep" '
	NR == FNR { h[substr($0, index($0, "  ") + 2)] = substr($0, 1, index($0, "  ") - 1); next }
	FNR % 3 == 1 { p = $0; next }
	FNR % 3 == 2 { m = $0; next }
	{
		t = substr(m, 1, 1)
		line = m " " p
		if (t == "l") line = line " -> " $0
		if (t == "f") line = line " " ((p in h) ? h[p] : "?"); else line = line " -"
		print p sep line
	}' "$tmp/h" "$tmp/e" | LC_ALL=C sort -t "$sep" -k1,1 | cut -d "$sep" -f2-
# hardlink groups (by inode, names sorted), sparse files, xattrs
find . -type f -links +1 -printf '%i %p\n' | LC_ALL=C sort | awk '{i=$1; $1=""; g[i]=g[i] $0} END {for (i in g) print "hardlink" g[i]}' | LC_ALL=C sort
find . -type f -printf '%S %b %s %p\n' | awk '$1 < 0.9 && $3 > 0 {print "sparse", $4}'
getfattr -R -P -d -m - --absolute-names . 2>/dev/null |
	awk '/^# file: /{f=substr($0, 9); next} NF {print "xattr", f, $0}' | LC_ALL=C sort || true

#!/bin/sh
# treesum.sh DIR - one line per path with everything zdt promises to keep:
# type, mode, owner, size, mtime (ns), link target, content hash, hardlink
# group, allocated blocks of sparse files, extended attributes and ACLs.
# Two trees are equal for zdt when their treesum output is equal.
set -eu
cd "$1"
find . -printf '%y %m %U %G %s %T@ %p -> %l\n' | LC_ALL=C sort -k7 | while IFS= read -r line; do
	p=${line#* * * * * * }
	p=${p% -> *}
	case $line in
	f*) h=$(xxhsum -H2 -- "$p" 2>/dev/null | cut -d' ' -f1) ;;
	*) h=- ;;
	esac
	printf '%s %s\n' "${line% -> *}" "$h"
done
# hardlink groups (by inode, names sorted), sparse files, xattrs
find . -type f -links +1 -printf '%i %p\n' | LC_ALL=C sort | awk '{i=$1; $1=""; g[i]=g[i] $0} END {for (i in g) print "hardlink" g[i]}' | LC_ALL=C sort
find . -type f -printf '%S %b %s %p\n' | awk '$1 < 0.9 && $3 > 0 {print "sparse", $4}'
getfattr -R -P -d -m - --absolute-names . 2>/dev/null |
	awk '/^# file: /{f=substr($0, 9); next} NF {print "xattr", f, $0}' | LC_ALL=C sort || true

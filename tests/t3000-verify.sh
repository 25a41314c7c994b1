#!/bin/bash
# t3000-verify: verify finds every kind of damage, and only damage.
. "$(dirname "$0")/lib.sh"
require python3 xxhsum

# backup_tiny [OPTIONS]: a snapshot of a tiny tree; sets S (its folder),
# M (manifest) and A (archive)
backup_tiny() {
	[ -d src ] || gen_tree src
	zdt -b "$BK" backup -c AR "$@" src >/dev/null
	S=$(snap_dir AR)
	M=$S/manifest
	A=$(snap_archive AR)
}

expect_success 'a fresh snapshot verifies; --json says ok' '
	backup_tiny
	zdt -b "$BK" verify >out 2>err
	check_grep "$(snap_id AR)" out
	check_grep "OK" out
	zdt -b "$BK" --json verify >j.json
	python3 - j.json "$(snap_id AR)" <<-EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["command"] == "verify" and d["ok"] is True, d
	assert len(d["snapshots"]) == 1, d
	s = d["snapshots"][0]
	assert s["component"] == "AR" and s["id"] == sys.argv[2] and s["ok"] is True, s
	assert not s.get("damaged"), s
	EOF
	backup_tiny --compress gzip
	zdt -b "$BK" verify >/dev/null
'

expect_success 'verify changes nothing in the backup folder' '
	backup_tiny
	backup_tiny --compress gzip:1
	tree_sum "$BK" | grep -v -e " ./audit.log " -e " ./.lock " >before
	zdt -b "$BK" verify --all >/dev/null
	tree_sum "$BK" | grep -v -e " ./audit.log " -e " ./.lock " >after
	diff before after
'

expect_success 'one flipped byte in a file of the archive: exit 4, the path named' '
	backup_tiny
	read -r off size path <<-EOF
	$(manifest_py pick "$M" 1000)
	EOF
	test -n "$path"
	flip_byte "$A" $((off + size / 2))
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "$path" all
	# no other entry is blamed (the archive file itself may be)
	test $(grep FAILED all | grep -v -c -e ": archive\.tar: FAILED" -e ": archive\.tar\.gz: FAILED") = 1
	must_fail 4 zdt -b "$BK" --json verify >j.json 2>/dev/null
	check_eq "damaged paths" "[\"$path\"]" "$(json_get j.json "[x[\"path\"] for s in d[\"snapshots\"] for x in s[\"damaged\"] if x[\"path\"] not in (\"archive.tar\", \"archive.tar.gz\")]")"
	check_eq "ok" false "$(json_get j.json "d[\"ok\"]")"
'

expect_success '--json lists every damaged path' '
	backup_tiny
	# the first and the last file with data
	awk "\$1 == \"f\" && \$5 >= 100 && \$8 != \"-\" && index(\$10, \"\\\\\") == 0 {print \$8, \$5, \$10}" "$M" >files
	sed -n "1p;\$p" files >two
	test $(wc -l <two) = 2
	while read -r off size path; do flip_byte "$A" $((off + 10)); done <two
	must_fail 4 zdt -b "$BK" --json verify >j.json 2>/dev/null
	awk "{print \$3}" two | sort >want
	json_get j.json "\"\\n\".join(sorted(x[\"path\"] for s in d[\"snapshots\"] for x in s[\"damaged\"] if x[\"path\"] not in (\"archive.tar\", \"archive.tar.gz\")))" >got
	diff want got
'

expect_success 'one flipped byte in a gzip archive: exit 4' '
	backup_tiny --compress gzip
	test "${A##*.}" = gz
	size=$(stat -c %s "$A")
	flip_byte "$A" $((size / 2))
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "FAILED|damaged" all
	# and near the end, where the gzip trailer (CRC, length) is
	backup_tiny --compress gzip:1
	flip_byte "$A" $(($(stat -c %s "$A") - 6))
	must_fail 4 zdt -b "$BK" verify
'

expect_success 'a truncated archive: exit 4, the archive named' '
	backup_tiny
	truncate -s $(($(stat -c %s "$A") / 2)) "$A"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "archive" all
	backup_tiny --compress gzip
	truncate -s $(($(stat -c %s "$A") / 2)) "$A"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	backup_tiny
	truncate -s 0 "$A"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	rm "$A"
	must_fail 4 zdt -b "$BK" verify >out 2>err
'

expect_success 'an archive cut in the middle of a file: that file is named' '
	backup_tiny
	read -r off size path <<-EOF
	$(manifest_py pick "$M" 20000)
	EOF
	test -n "$path"
	truncate -s $((off + size / 2)) "$A"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "$path" all
	# the sparse file, whose data runs over megabytes of the archive
	backup_tiny
	off=$(awk "\$NF == \"serverdata/ftindex/ftindex.sparse\" {print \$8}" "$M")
	test -n "$off"
	truncate -s $((off + 1000000)) "$A"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "ftindex\.sparse" all
'

expect_success 'a flipped byte in the manifest (a hash digit, a path): exit 4 naming the manifest' '
	backup_tiny
	cp "$M" manifest.good
	read -r moff mpath <<-EOF
	$(manifest_py field "$M" hash)
	EOF
	test -n "$mpath"
	flip_byte "$M" $moff 0
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "manifest" all
	cp manifest.good "$M"
	zdt -b "$BK" verify >/dev/null
	read -r moff mpath <<-EOF
	$(manifest_py field "$M" path)
	EOF
	test -n "$mpath"
	flip_byte "$M" $((moff + 1)) Q
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "manifest" all
	cp manifest.good "$M"
	# a header line
	sed -i "s/^component AR$/component AX/" "$M"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "manifest" all
'

expect_success 'a manifest short of a line: exit 4 naming the manifest' '
	backup_tiny
	cp "$M" manifest.good
	head -n -1 manifest.good >"$M"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "manifest" all
	# an entry line taken out of the middle
	n=$(($(wc -l <manifest.good) / 2))
	sed "${n}d" manifest.good >"$M"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	cat out err >all
	check_grep "manifest" all
	# nothing at all
	: >"$M"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	rm "$M"
	must_fail 4 zdt -b "$BK" verify >out 2>err
'

expect_success 'a self-consistent manifest that disagrees with the archive: exit 4 naming the entry' '
	backup_tiny
	cp "$M" manifest.good
	for change in mode mtime uid target size; do
		cp manifest.good "$M"
		python3 - "$M" $change >path <<-EOF
		import sys
		p, what = sys.argv[1], sys.argv[2]
		lines = open(p, "rb").read().split(b"\n")
		for i, l in enumerate(lines):
		    f = l.split(b" ")
		    if what == "target":
		        if f[0] != b"l":
		            continue
		        f[-1] = f[-1] + b"x"
		    else:
		        if f[0] != b"f" or f[7] == b"-" or f[8] != b"-":
		            continue
		        if what == "mode":
		            f[1] = b"0604" if f[1] != b"0604" else b"0606"
		        elif what == "mtime":
		            f[5] = b"%d.000000001" % (int(f[5].split(b".")[0]) + 1)
		        elif what == "uid":
		            f[2] = b"4242"
		        elif what == "size":
		            f[4] = b"%d" % (int(f[4]) + 1)
		    lines[i] = b" ".join(f)
		    sys.stdout.buffer.write(f[9] + b"\n")
		    break
		open(p, "wb").write(b"\n".join(lines))
		EOF
		test -s path
		manifest_py resum "$M"
		manifest_py checksum "$M"
		must_fail 4 zdt -b "$BK" verify >out 2>err
		cat out err >all
		check_grep "$(cat path)" all
	done
'

expect_success 'a manifest rewritten whole (another source, checksum line recomputed): meta'"'"'s manifest_checksum catches it in verify, doctor and rollback' '
	backup_tiny
	mkdir elsewhere
	echo upgraded >>src/conf/ar.cfg
	tree_stamp src >before
	want=$(sed -n "s/^manifest_checksum=//p" "$S/meta")
	test -n "$want"
	# nothing but the source line: the entries still match the archive
	sed -i "s|^source .*|source $TRASH/elsewhere|" "$M"
	manifest_py resum "$M"
	manifest_py checksum "$M"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	check_grep "^AR $(snap_id AR): manifest: FAILED \(the manifest.s checksum [0-9a-f]{32} is not the one recorded in meta when the snapshot was made \($want\): the manifest was replaced or rewritten\)$" out
	check_eq "lines" 1 "$(wc -l <out)"
	zdt -b "$BK" --json verify >v.json 2>/dev/null || :
	check_eq "json" "[\"manifest\"]" "$(json_get v.json "[x[\"path\"] for x in d[\"snapshots\"][0][\"damaged\"]]")"
	rc=0
	zdt -b "$BK" doctor -c AR >doc 2>&1 || rc=$?
	check_eq "doctor exit" 1 "$rc"
	check_grep "^FAIL  snapshot:AR/$(snap_id AR): 1 damaged entry, first manifest: the manifest.s checksum" doc
	# rollback: exit 4 before anything is touched, here or elsewhere
	must_fail 4 zdt -b "$BK" rollback -c AR 2>err
	check_grep "snapshot AR $(snap_id AR): the manifest.s checksum [0-9a-f]{32} is not the one recorded in meta" err
	check_grep "^hint: the live tree was not touched" err
	must_fail 4 zdt -b "$BK" rollback -c AR --dry-run 2>err
	tree_stamp src >after
	diff before after
	test -z "$(ls -A elsewhere)"
	# a malformed value in meta is named too
	sed -i "s/^manifest_checksum=.*/manifest_checksum=xyz/" "$S/meta"
	must_fail 4 zdt -b "$BK" verify >out 2>err
	check_grep "meta records a malformed manifest_checksum .xyz." out
'

expect_success setfacl,getfacl 'an ACL whose group:: entry differs from its mask verifies, and comes back from a rollback' '
	mkdir -p src/acl
	echo data >src/acl/f
	chmod 640 src/acl/f
	# group:: r-x, mask r--: stat shows the mask in the group bits (0640);
	# libarchive keeps group:: in the mode (0650 in the archive)
	setfacl -m u:4321:rwx,g::rx,m::r src/acl/f
	setfacl -d -m u:4321:rx src/acl
	echo inherited >src/acl/g
	getfacl -p src/acl/f src/acl/g src/acl >acl.before
	stat -c "%a %n" src/acl/f src/acl/g >mode.before
	check_grep "^640 src/acl/f$" mode.before
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" verify >out 2>err
	check_grep "OK" out
	# a rollback that needs the members: the ACLs and modes come back
	setfacl -b src/acl/f src/acl/g
	chmod 600 src/acl/f
	zdt -q -b "$BK" rollback -c AR
	getfacl -p src/acl/f src/acl/g src/acl | diff acl.before -
	stat -c "%a %n" src/acl/f src/acl/g | diff mode.before -
	rm -rf src
	zdt -q -b "$BK" rollback -c AR
	getfacl -p src/acl/f src/acl/g src/acl | diff acl.before -
	zdt -b "$BK" diff -c AR --checksum >/dev/null
'

expect_success '--snapshot ID verifies that snapshot; the default is the newest' '
	backup_tiny
	old=$(snap_id AR)
	backup_tiny
	new=$(snap_id AR)
	test "$old" != "$new"
	off=$(manifest_py pick "$M" 1000 | cut -d" " -f1)
	flip_byte "$A" $((off + 5))
	zdt -b "$BK" verify --snapshot "$old" >out
	check_grep "$old" out
	check_no_grep "$new" out
	zdt -b "$BK" verify -s "$old" >/dev/null
	must_fail 4 zdt -b "$BK" verify >out
	check_grep "$new" out
	check_no_grep "$old" out
	must_fail 4 zdt -b "$BK" verify -c AR --snapshot "$new" >/dev/null
'

expect_success '--all verifies every complete snapshot and reports each' '
	backup_tiny
	a1=$(snap_id AR)
	backup_tiny --compress gzip
	a2=$(snap_id AR)
	zdt -b "$BK" backup -c AtriumCore src >/dev/null
	c1=$(snap_id AtriumCore)
	zdt -b "$BK" verify --all >out
	for id in $a1 $a2; do check_grep "AR.*$id" out; done
	check_grep "AtriumCore.*$c1" out
	zdt -b "$BK" --json verify --all >j.json
	check_eq "snapshots verified" 3 "$(json_get j.json "len(d[\"snapshots\"])")"
	# default: the newest of each component
	zdt -b "$BK" --json verify >j.json
	# sorted by id: the AtriumCore one sorts first when both were taken in the same second
	check_eq "snapshots verified" "$(printf '"'"'["%s", "%s"]'"'"' $(printf '"'"'%s\n'"'"' "$a2" "$c1" | LC_ALL=C sort))" \
		"$(json_get j.json "sorted(s[\"id\"] for s in d[\"snapshots\"])")"
	# damage the oldest: --all fails naming it, and still reports the others
	read -r off size path <<-EOF
	$(manifest_py pick "$BK/AR/$a1/manifest" 1000)
	EOF
	test -n "$path"
	flip_byte "$BK/AR/$a1/archive.tar" $((off + 1))
	zdt -b "$BK" verify >/dev/null
	must_fail 4 zdt -b "$BK" verify --all >out 2>err
	check_grep "$a1.*$path" out
	check_grep "$a2" out
	check_grep "$c1" out
	must_fail 4 zdt -b "$BK" --json verify -a >j.json 2>/dev/null
	check_eq "ok per snapshot" "[false, true, true]" "$(json_get j.json "[s[\"ok\"] for s in sorted(d[\"snapshots\"], key=lambda s: (s[\"component\"], s[\"id\"]))]")"
	zdt -b "$BK" verify --all -c AtriumCore >/dev/null
'

expect_success 'no usable snapshot: exit 5' '
	must_fail 5 zdt -b "$BK" verify 2>err
	check_grep "^zdt: verify: " err
	mkdir "$BK"
	must_fail 5 zdt -b "$BK" verify 2>err
	must_fail 5 zdt -b "$BK" verify --all 2>err
	backup_tiny
	id=$(snap_id AR)
	must_fail 5 zdt -b "$BK" verify -c AtriumCore 2>err
	must_fail 5 zdt -b "$BK" verify --snapshot 20000101T000000Z-01 2>err
	check_grep "20000101T000000Z-01" err
	# a partial snapshot is not usable
	mv "$BK/AR/$id" "$BK/AR/$id.partial"
	must_fail 5 zdt -b "$BK" verify 2>err
	must_fail 5 zdt -b "$BK" verify --snapshot "$id" 2>err
'

expect_success 'a malformed --snapshot, or --snapshot with --all: usage errors' '
	backup_tiny
	must_fail 2 zdt -b "$BK" verify --snapshot "../AR" 2>err
	must_fail 2 zdt -b "$BK" verify --snapshot "$(snap_id AR)" --all 2>err
	must_fail 2 zdt -b "$BK" verify --snapshot 2>err
'

test_done

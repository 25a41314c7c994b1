#!/bin/bash
# t7100-signed: backup --key-file signs the manifest (HMAC-SHA256 in
# manifest.sig); verify and rollback with the key refuse (exit 4) an
# unsigned snapshot or one whose manifest was changed, even when the
# XXH3 hashes, the archive line and the checksum were recomputed; the key
# must lie outside the backup folder and be private; key-file in the
# config file does the same.
. "$(dirname "$0")/lib.sh"
require python3 xxhsum

newkey() {
	head -c 32 /dev/urandom >"$1"
	chmod 600 "$1"
}

# tamper: change the first bytes of a file's data in the (uncompressed)
# archive, then recompute its XXH3-128 in the manifest, the archive line,
# the checksum line and meta's manifest_checksum, as an attacker who can
# write the backup folder would; prints the path changed
tamper() {
	local d=$1 off size path
	read -r off size path < <(manifest_py pick "$d/manifest" 8)
	python3 - "$d/archive.tar" "$d/manifest" "$off" "$size" "$path" <<'PY'
import subprocess, sys
arc, man, off, size, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
def xxh(b):
    return subprocess.run(["xxhsum", "-H2", "-"], input=b, stdout=subprocess.PIPE, check=True).stdout.split()[0]
a = bytearray(open(arc, "rb").read())
a[off:off + 8] = b"EVIL!!!\n"
open(arc, "wb").write(a)
h = xxh(bytes(a[off:off + size]))
out = []
for line in open(man, "rb").read().split(b"\n"):
    f = line.split(b" ")
    if len(f) >= 10 and f[0] == b"f" and f[7] == str(off).encode() and f[9] == path:
        f[6] = h
        line = b" ".join(f)
    elif line.startswith(b"archive xxh3-128 "):
        line = b"archive xxh3-128 " + xxh(bytes(a)) + b" " + str(len(a)).encode()
    out.append(line)
open(man, "wb").write(b"\n".join(out))
PY
	manifest_py resum "$d/manifest"
	manifest_py remeta "$d/manifest"
	echo "$path"
}

expect_success 'backup --key-file writes manifest.sig before publishing; verify --key-file passes' '
	gen_tree src
	newkey key
	zdt -b "$BK" --json backup -c AR --key-file key src >out.json
	json_get out.json "d[\"signed\"]" | grep -qx true
	d=$(snap_dir AR)
	check_grep "^zdt-signature 1$" "$d/manifest.sig"
	check_grep "^hmac-sha256 [0-9a-f]{64}$" "$d/manifest.sig"
	test "$(stat -c %a "$d/manifest.sig")" = 600
	zdt -b "$BK" verify --key-file key >out
	check_grep "OK" out
'

expect_success 'tampering that recomputes the hashes and the checksum: caught with the key, not without' '
	gen_tree src
	newkey key
	zdt -q -b "$BK" backup -c AR --key-file key src
	d=$(snap_dir AR)
	p=$(tamper "$d")
	test -n "$p"
	# without the key the lie is self-consistent: verify passes
	zdt -b "$BK" verify >out
	manifest_py checksum "$d/manifest"
	# with it, it does not
	must_fail 4 zdt -b "$BK" verify --key-file key >out 2>err
	check_grep "manifest: FAILED \(the manifest does not match its signature" out
	echo upgraded >>src/conf/ar.cfg
	tree_stamp src >before
	must_fail 4 zdt -b "$BK" rollback -c AR --key-file key 2>err
	check_grep "fails its signature check: the manifest does not match" err
	tree_stamp src >after
	diff before after
	must_fail 4 zdt -b "$BK" rollback -c AR --check --key-file key 2>err
	# and without the key, a rollback writes the attacker'"'"'s bytes
	zdt -q -b "$BK" rollback -c AR --full
	head -c 8 "src/$p" | grep -q "EVIL"
'

expect_success 'an unsigned snapshot, a removed signature, another key: exit 4 with the key' '
	gen_tree src
	newkey key
	newkey other
	zdt -q -b "$BK" backup -c AR src
	must_fail 4 zdt -b "$BK" verify --key-file key >out 2>err
	check_grep "manifest.sig: FAILED \(the snapshot is not signed" out
	must_fail 4 zdt -b "$BK" rollback -c AR --key-file key 2>err
	check_grep "not signed" err
	zdt -q -b "$BK" backup -c AR --key-file key src
	must_fail 4 zdt -b "$BK" verify --key-file other >out
	check_grep "signed with another key" out
	rm "$(snap_dir AR)/manifest.sig"
	must_fail 4 zdt -b "$BK" rollback -c AR --key-file key 2>err
	check_grep "not signed" err
'

expect_success 'the key file: inside the backup or install folder, or readable by others: refused' '
	gen_tree src
	mkdir bk
	newkey bk/key
	must_fail 3 zdt -b "$BK" backup -c AR --key-file bk/key src 2>err
	check_grep "key file is inside the backup folder" err
	newkey src/key
	must_fail 3 zdt -b "$BK" backup -c AR --key-file src/key src 2>err
	check_grep "key file is inside the install folder" err
	rm src/key
	newkey key
	chmod 640 key
	must_fail 3 zdt -b "$BK" backup -c AR --key-file key src 2>err
	check_grep "has mode 0640: group or others" err
	must_fail 2 zdt -b "$BK" backup -c AR --key-file nosuch src 2>err
	: >empty
	chmod 600 empty
	must_fail 2 zdt -b "$BK" backup -c AR --key-file empty src 2>err
	check_grep "empty" err
	test "$(count_complete AR)" = 0
	chmod 600 key
	zdt -q -b "$BK" backup -c AR --key-file key src
	chmod 644 key
	must_fail 3 zdt -b "$BK" verify --key-file key 2>err
	must_fail 3 zdt -b "$BK" rollback -c AR --key-file key 2>err
'

expect_success 'key-file in the config file: backup signs, verify and rollback require it' '
	gen_tree src
	newkey key
	printf "key-file = %s\n" "$PWD/key" >conf
	zdt --config conf -q -b "$BK" backup -c AR src
	test -f "$(snap_dir AR)/manifest.sig"
	zdt --config conf -b "$BK" verify >/dev/null
	zdt -q -b "$BK" backup -c AR src
	must_fail 4 zdt --config conf -b "$BK" verify >out
	check_grep "not signed" out
	printf "key-file = key\n" >conf2
	must_fail 2 zdt --config conf2 -b "$BK" verify 2>err
	check_grep "key-file must be an absolute path" err
'

test_done

#!/bin/bash
# t1000-backup: what a backup stores, and where.
. "$(dirname "$0")/lib.sh"
require bsdtar xxhsum python3

# extract ARCHIVE DIR: what a stranger with bsdtar gets back
extract() {
	mkdir "$2"
	LC_ALL=C.UTF-8 bsdtar -xpf "$1" -C "$2"
}

for how in none gzip gzip:1; do
	expect_success "--compress $how: bsdtar extracts the archive into a copy of the source" '
		gen_tree src
		zdt -b "$BK" backup -c AR --compress '"$how"' src >out
		A=$(snap_archive AR)
		case '"$how"' in
		none) test "${A##*/}" = archive.tar; LC_ALL=C.UTF-8 bsdtar -tf "$A" >/dev/null ;;
		*) test "${A##*/}" = archive.tar.gz; gzip -t "$A" ;;
		esac
		extract "$A" x
		# everything treesum sees: types, modes (setuid, setgid, sticky),
		# owners, mtimes (ns), link targets, contents, hardlinks, holes,
		# xattrs and ACLs, FIFOs, empty folders
		tree_equal --no-root src x
		check_eq "compress in the manifest" '"$how"' "$(manifest_py header "$(snap_dir AR)/manifest" compress | sed "s/^gzip:6$/gzip/")"
	'
done

expect_success 'gzip:1 and gzip:9 both compress; the archive size is what list says' '
	gen_tree src
	zdt -b "$BK" backup -c AR --compress none src >/dev/null
	zdt -b "$BK" backup -c AR --compress gzip:1 src >/dev/null
	zdt -b "$BK" backup -c AR --compress gzip:9 src >/dev/null
	zdt -b "$BK" --json list >l.json
	python3 - l.json "$BK" <<-EOF
	import json, os, sys
	s = json.load(open(sys.argv[1]))["snapshots"]
	assert len(s) == 3, s
	for x in s:
	    d = os.path.join(sys.argv[2], x["component"], x["id"])
	    a = [f for f in os.listdir(d) if f.startswith("archive.tar")]
	    assert len(a) == 1, a
	    size = os.stat(os.path.join(d, a[0])).st_size
	    assert x["archive_bytes"] == size, (x, size)
	none, g1, g9 = (x["archive_bytes"] for x in s)
	assert g1 < none and g9 < none, (none, g1, g9)
	assert g9 <= g1, (g1, g9)
	EOF
'

expect_success 'the manifest lists every path, with the xxh128 of every file' '
	gen_tree src
	printf "x" >"src/bad$(printf "\377")x"
	printf "y" >"src/back\\slash"
	printf "z" >"src/tab$(printf "\t")and space"
	zdt -b "$BK" backup -c AR src >/dev/null
	M=$(snap_dir AR)/manifest
	check_same_paths "$M" src
	manifest_py hashes "$M" src
	manifest_py checksum "$M"
	check_grep "^zdt-manifest 1$" "$M"
	check_grep "^component AR$" "$M"
	check_grep "^snapshot $(snap_id AR)$" "$M"
	check_grep "^source $PWD/src$" "$M"
	check_grep "^end entries=[0-9]+ files=[0-9]+ bytes=[0-9]+$" "$M"
	# plain text, one entry a line: the odd names are escaped
	check_grep " bad$(printf "\377")x$" "$M"
	check_grep " back\\\\\\\\slash$" "$M"
	check_grep " tab\\\\011and\\\\040space$" "$M"
	check_grep " Logs/install/bad\\\\012name\.log$" "$M"
'

expect_success 'files with a newline and an invalid UTF-8 byte in their names survive' '
	gen_tree src
	bad=$(printf "bad\377x")
	nl="new
line"
	printf "invalid utf-8\n" >"src/$bad"
	mkdir "src/dir$bad"
	printf "in dir\n" >"src/dir$bad/f$nl"
	printf "newline\n" >"src/$nl"
	zdt -b "$BK" backup -c AR src >/dev/null
	extract "$(snap_archive AR)" x
	test "$(cat "x/$bad")" = "invalid utf-8"
	test "$(cat "x/$nl")" = newline
	test "$(cat "x/dir$bad/f$nl")" = "in dir"
	cmp "x/Logs/install/bad
name.log" "src/Logs/install/bad
name.log"
	check_same_paths "$(snap_dir AR)/manifest" x
	zdt -b "$BK" verify >/dev/null
'

expect_success 'snapshot IDs: UTC time first, unique within a second, list oldest first' '
	gen_tree src
	t0=$(date -u +%Y%m%dT%H%M%SZ)
	prev= same=
	for i in $(seq 20); do
		zdt -b "$BK" backup -c AR src >/dev/null
		id=$(snap_id AR)
		test "$id" != "$prev"
		[ "${id%%Z*}" != "${prev%%Z*}" ] || { same=1; break; }
		prev=$id
	done
	# (under valgrind a backup takes seconds: no two in the same second)
	[ -n "$ZDT_VALGRIND" ] || test -n "$same"
	t1=$(date -u +%Y%m%dT%H%M%SZ)
	zdt -b "$BK" --json list -c AR >l.json
	python3 - l.json "$t0" "$t1" <<-EOF
	import json, re, sys
	s = json.load(open(sys.argv[1]))["snapshots"]
	ids = [x["id"] for x in s]
	assert len(ids) >= 2 and len(set(ids)) == len(ids), ids
	assert ids == sorted(ids), ids
	for x in s:
	    m = re.match(r"(\d{8}T\d{6}Z)", x["id"])
	    assert m, x["id"]
	    assert sys.argv[2] <= m.group(1) <= sys.argv[3], (x["id"], sys.argv[2:])
	    c = x["created"]
	    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", c), c
	    assert c.replace("-", "").replace(":", "") == m.group(1), (c, x["id"])
	EOF
	# human list: the same order
	zdt -b "$BK" list -c AR >l.txt
	grep -o "^AR  *[^ ]*" l.txt | awk "{print \$2}" >ids.txt
	json_get l.json "\"\\n\".join(s[\"id\"] for s in d[\"snapshots\"])" >ids.json
	cmp ids.txt ids.json
'

expect_success 'list and list --json: one entry per snapshot with the promised fields' '
	gen_tree src
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" backup -c AtriumCore --compress gzip src >/dev/null
	zdt -b "$BK" --json list >l.json 2>err
	test ! -s err
	A=$(snap_archive AR)
	nfiles=$(find src -type f -printf x | wc -c)
	nbytes=$(find src -type f -printf "%i %s\n" | sort -u | awk "{s += \$2} END {print s}")
	python3 - l.json "$PWD/src" $nfiles $nbytes $(stat -c %s "$A") <<-EOF
	import json, re, sys
	d = json.load(open(sys.argv[1]))
	assert d["command"] == "list" and d["ok"] is True, d
	s = d["snapshots"]
	assert [x["component"] for x in s] == ["AR", "AtriumCore"], s
	for x in s:
	    for k in ("component", "id", "created", "state", "files", "bytes", "archive_bytes", "source"):
	        assert k in x, (k, x)
	    assert x["state"] == "complete", x
	    assert x["source"] == sys.argv[2], x
	    assert x["files"] == int(sys.argv[3]), (x, sys.argv[3])
	    assert x["bytes"] == int(sys.argv[4]), (x, sys.argv[4])
	    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", x["created"]), x
	assert s[0]["archive_bytes"] == int(sys.argv[5]), s[0]
	assert s[1]["archive_bytes"] < s[0]["archive_bytes"], s
	EOF
	zdt -b "$BK" list >l.txt
	id=$(snap_id AR)
	check_grep "^AR +$id +[0-9-]+T[0-9:]+Z +complete +$nfiles .* $PWD/src$" l.txt
	zdt -b "$BK" list -c AtriumCore >l2.txt
	check_no_grep "^AR " l2.txt
	check_grep "^AtriumCore .* complete " l2.txt
'

expect_success 'backup prints the ID and counts; --json gives one document' '
	gen_tree src
	zdt -b "$BK" backup -c AR src >out 2>err
	id=$(snap_id AR)
	check_grep "$id" out
	check_grep "\b$(find src -type f -printf x | wc -c) files" out
	zdt -b "$BK" --json backup -c AR --compress gzip src >j.json
	id2=$(snap_id AR)
	test "$id2" != "$id"
	zdt -b "$BK" --json list >l.json
	python3 - j.json l.json <<-EOF
	import json, sys
	j = json.load(open(sys.argv[1]))
	l = json.load(open(sys.argv[2]))["snapshots"][-1]
	assert j["command"] == "backup" and j["ok"] is True, j
	for k in ("component", "id", "files", "bytes", "archive_bytes", "source"):
	    assert j[k] == l[k], (k, j, l)
	EOF
'

expect_success '--exclude GLOB: left out of manifest and archive, recorded in the manifest' '
	gen_tree src
	test -n "$(find src -name "*.log" -path "src/?*/*")"
	test -d src/Logs
	zdt -b "$BK" backup -c AR --exclude "*.log" --exclude Logs src >/dev/null
	M=$(snap_dir AR)/manifest
	manifest_py header "$M" exclude >ex
	printf "*.log\nLogs\n" >ex.want
	cmp ex.want ex
	(cd src && find . -mindepth 1 -name "*.log" -prune -o -path ./Logs -prune -o -printf "%P\0" && printf ".\0") | sort -z >want.paths
	manifest_py paths "$M" | sort -z >got.paths
	cmp want.paths got.paths
	LC_ALL=C.UTF-8 bsdtar -tf "$(snap_archive AR)" >t
	check_no_grep "\.log$" t
	check_no_grep "^Logs" t
	check_grep "^logs/arerror\.log\.lck$" t
	zdt -b "$BK" verify >/dev/null
'

expect_success 'symlinks are stored as links, never followed' '
	gen_tree src
	mkdir outside
	echo secret >outside/file
	ln -s "$PWD/outside" src/out-dir
	ln -s "$PWD/outside/file" src/out-file
	ln -s nowhere src/dangling
	zdt -b "$BK" backup -c AR src >/dev/null
	M=$(snap_dir AR)/manifest
	check_grep "^l .* out-dir -> $PWD/outside$" "$M"
	check_grep "^l .* out-file -> $PWD/outside/file$" "$M"
	check_grep "^l .* dangling -> nowhere$" "$M"
	check_no_grep " out-dir/" "$M"
	extract "$(snap_archive AR)" x
	test "$(readlink x/out-dir)" = "$PWD/outside"
	test -L x/out-file
'

expect_success 'a socket is skipped with a warning naming it' '
	gen_tree src
	touch -r src/conf conf.mtime
	python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" src/conf/ar.sock
	touch -r conf.mtime src/conf
	test -S src/conf/ar.sock
	zdt -b "$BK" backup -c AR src >out 2>err
	check_grep "^zdt: backup: warning: .*conf/ar\.sock" err
	M=$(snap_dir AR)/manifest
	check_no_grep "ar\.sock" "$M"
	extract "$(snap_archive AR)" x
	rm src/conf/ar.sock
	touch -r conf.mtime src/conf
	tree_equal --no-root src x
'

expect_success 'a sparse file stays sparse after extraction' '
	gen_tree src
	f=serverdata/ftindex/ftindex.sparse
	zdt -b "$BK" backup -c AR src >/dev/null
	extract "$(snap_archive AR)" x
	test $(stat -c %s x/$f) = $(stat -c %s src/$f)
	alloc=$(($(stat -c "%b * %B" x/$f)))
	test $alloc -lt $(($(stat -c %s x/$f) / 4))
	cmp src/$f x/$f
	zdt -b "$BK" backup -c AR --compress gzip src >/dev/null
	extract "$(snap_archive AR)" y
	test $(($(stat -c "%b * %B" y/$f))) -lt $(($(stat -c %s y/$f) / 4))
'

expect_success 'hardlinks come back as hardlinks' '
	gen_tree src
	echo one >src/h1
	ln src/h1 src/h2
	mkdir src/hd
	ln src/h1 src/hd/h3
	zdt -b "$BK" backup -c AR src >/dev/null
	M=$(snap_dir AR)/manifest
	test $(grep -c "^h " "$M") -ge 3
	extract "$(snap_archive AR)" x
	test $(stat -c %i x/h1) = $(stat -c %i x/h2)
	test $(stat -c %i x/h1) = $(stat -c %i x/hd/h3)
	test $(stat -c %h x/h1) = 3
	# and those gen-tree made
	find src -type f -links +1 -printf "%i %p\n" | sort >groups
	test -s groups
	while read -r ino p; do
		other=$(awk -v i=$ino -v p="$p" "\$1 == i && \$2 != p {print \$2; exit}" groups)
		test "$(stat -c %i "x/${p#src/}")" = "$(stat -c %i "x/${other#src/}")"
	done <groups
'

expect_success '--dry-run writes nothing and reports what a backup would store' '
	gen_tree src
	zdt -b "$BK" backup -c AR --dry-run src >out 2>err
	test ! -e "$BK"
	cat out err >all
	check_grep "\b$(find src -type f -printf x | wc -c) files" all
	zdt -b "$BK" --json backup -c AR --dry-run src >d.json
	test ! -e "$BK"
	check_eq "ok" true "$(json_get d.json "d[\"ok\"]")"
	# with a backup folder: no new snapshot, nothing changed in it
	zdt -b "$BK" --json backup -c AR src >b.json
	tree_stamp "$BK" >before
	zdt -b "$BK" backup -c AR --dry-run src >/dev/null 2>&1
	tree_stamp "$BK" >after
	diff before after
	check_eq "snapshots" 1 "$(count_complete AR)"
	# what the dry run reported is what the backup stored
	check_eq "files" "$(json_get b.json "d[\"files\"]")" "$(json_get d.json "d[\"files\"]")"
	check_eq "bytes" "$(json_get b.json "d[\"bytes\"]")" "$(json_get d.json "d[\"bytes\"]")"
'

expect_success 'the install folder is never modified by a backup' '
	gen_tree src
	tree_sum_cached src >sum.before
	tree_stamp src >stamp.before
	zdt -b "$BK" backup -c AR src >/dev/null
	zdt -b "$BK" backup -c AR --compress gzip --exclude "*.jar" src >/dev/null
	zdt -b "$BK" backup -c AR --dry-run src >/dev/null 2>&1
	zdt -b "$BK" verify --all >/dev/null
	tree_sum src >sum.after
	tree_stamp src >stamp.after
	diff sum.before sum.after
	diff stamp.before stamp.after
	check_eq "snapshots made" 2 "$(count_complete AR)"
'

expect_success 'whatever the umask, files are 0600 and folders 0700' '
	gen_tree src
	(umask 000 && zdt -b "$BK" backup -c AR src >/dev/null)
	(umask 000 && zdt -b "$BK" backup -c AtriumCore --compress gzip src >/dev/null)
	(umask 000 && zdt -b "$BK" verify --all >/dev/null)
	mkdir -m 755 bk2
	(umask 022 && zdt -b "$PWD/bk2" backup -c AR src >/dev/null)
	find "$BK" bk2 -printf "%m %y %p\n" >modes
	test $(grep -c " f " modes) -ge 8
	awk "(\$2 == \"f\" && \$1 != \"600\") || (\$2 == \"d\" && \$1 != \"700\") || (\$2 != \"f\" && \$2 != \"d\")" modes >bad
	test ! -s bad || { cat bad; false; }
'

expect_success 'the audit log has a start and an end line per run, no password' '
	gen_tree src
	export ZDT_AR_PASSWORD=Pa55-w0rd-zdt-test LOGNAME=zdt-tester USER=zdt-tester
	unset SUDO_USER
	"$ZDT" -b "$BK" backup -c AR src >/dev/null &
	pid=$!
	wait $pid
	L=$BK/audit.log
	test $(grep -c "pid=$pid " "$L") = 2
	check_grep "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z .*pid=$pid .*command=backup .*components=AR.* event=start" "$L"
	check_grep "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z .*pid=$pid .*command=backup .*components=AR.*snapshot=$(snap_id AR).* event=end exit=0 outcome=ok" "$L"
	check_grep "pid=$pid .*user=zdt-tester" "$L"
	# a refused run is recorded with its outcome, and the log is appended to
	cp "$L" before
	"$ZDT" -b "$BK" backup -c cmdb --reserve 1000T src >/dev/null 2>&1 &
	pid=$!
	wait $pid || test $? = 3
	cmp before <(head -n $(wc -l <before) "$L")
	check_grep "pid=$pid .*components=AtriumCore.* exit=3 outcome=refused" "$L"
	check_no_grep "Pa55-w0rd" "$L"
	check_no_grep "Pa55-w0rd" "$BK/.lock"
	test -z "$(grep -r -l "Pa55-w0rd" "$BK")"
'

expect_success 'a file that grows while it is read: warned, and the manifest matches the archive' '
	gen_tree src
	head -c 64M /dev/urandom >src/big.dat
	(while :; do echo appended >>src/big.dat; done) &
	when_finished "kill $! 2>/dev/null || :"
	zdt -b "$BK" --json backup -c AR src >j.json 2>err
	kill $!
	check_grep "^zdt: backup: warning: .*big\.dat" err
	test "$(json_get j.json "d[\"changed_while_read\"]")" -ge 1
	zdt -b "$BK" verify >/dev/null
	extract "$(snap_archive AR)" x
	M=$(snap_dir AR)/manifest
	manifest_py hashes "$M" x
'

test_done

#!/bin/bash
# t2000-rollback: what `zdt rollback` gives back after a simulated upgrade.
#
# The round trips run on the `small` tree mutated by scripts/mutate-tree 5
# 42 and are checked with fast_sum below, because tests/treesum.sh forks one
# xxhsum per file and takes 100-300 s on the small tree on a loaded 2-CPU
# machine; the same round trip on the `tiny` tree is checked with tree_equal
# (treesum.sh, the root folder's own line included).  fast_sum reads what
# treesum.sh reads, in one python process: type, mode, owner, size (not of
# folders), mtime (ns), content hash, symlink target (which treesum.sh
# leaves out), hardlink groups, sparse files, every xattr (ACLs included).
# The focused tests use the `tiny` tree, which has every kind of entry the
# small one has.
. "$(dirname "$0")/lib.sh"
require python3 xxhsum getfattr setfattr setfacl
need_mutate

# json_counts FILE: "rewritten created removed metadata_fixed" of a rollback
# --json document with one component
json_counts() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["command"] == "rollback" and d["ok"] is True, d
c = d["components"]
assert len(c) == 1, c
print(c[0]["rewritten"], c[0]["created"], c[0]["removed"], c[0]["metadata_fixed"])' "$1"
}

# bk_state: every file of the backup folder but the audit log and the lock
# file (rewritten by every run), with metadata and hash
bk_state() {
	(cd "$BK" && find . \( -path ./audit.log -o -path ./.lock \) -prune -o -printf '%y %m %s %T@ %p\n' | sort
	 find . -type f ! -name audit.log ! -name .lock -exec xxhsum -H2 {} + | sort)
}

for scale in small tiny; do
	expect_success "$scale tree, mutate-tree 5 42: rollback gives back the pristine tree, root folder included" '
		gen_tree src '$scale'
		cp -a --sparse=always src pristine
		zdt -b "$BK" backup -c AR src >/dev/null
		"$MUTATE" src 5 42 >/dev/null
		must_fail 1 zdt -b "$BK" diff -c AR >/dev/null
		zdt -b "$BK" rollback -c AR >out
		check_grep "^AR [0-9TZ-]+ -> .*: [1-9][0-9]* rewritten, [1-9][0-9]* created, [1-9][0-9]* removed, [0-9]+ metadata fixed" out
		case '$scale' in
		small) same_tree pristine src ;;
		*) tree_equal pristine src ;;
		esac
		zdt -b "$BK" diff -c AR >/dev/null
		# a second rollback has nothing to do, and touches nothing
		tree_stamp src >stamp.before
		zdt -b "$BK" --json rollback -c AR >again.json
		check_eq "second rollback: rewritten created removed metadata_fixed" "0 0 0 0" "$(json_counts again.json)"
		tree_stamp src >stamp.after
		cmp stamp.before stamp.after
	'
done

for how in none gzip; do
	case $how in none) modes="--full --checksum" ;; *) modes="default --full --checksum" ;; esac
	expect_success "small tree, --compress $how: rollback ${modes// / and } give back the pristine tree" '
		gen_tree src small
		cp -a --sparse=always src pristine
		zdt -b "$BK" backup -c AR --compress '"$how"' src >/dev/null
		nfiles=$(grep -c "^f " "$(snap_dir AR)/manifest")
		for mode in '"$modes"'; do
			"$MUTATE" src 5 42 >/dev/null
			must_fail 1 zdt -b "$BK" diff -c AR >/dev/null
			opt=
			[ $mode = default ] || opt=$mode
			zdt -b "$BK" --json rollback -c AR $opt >rb.json
			set -- $(json_counts rb.json)
			echo "$mode: rewritten=$1 created=$2 removed=$3 metadata_fixed=$4 files=$nfiles"
			case $mode in
			--full) test $(($1 + $2)) -ge "$nfiles" ;;	# every file written again
			*) test $(($1 + $2)) -lt $((nfiles / 4)) ;;	# only what the upgrade changed
			esac
			test "$3" -gt 0
			same_tree pristine src
			zdt -b "$BK" diff -c AR >/dev/null
		done
	'
done

expect_success 'rollback --dry-run changes nothing and its plan names the changed paths' '
	setup_src
	"$MUTATE" src 5 42 >/dev/null
	echo "upgraded" >>src/conf/ar.cfg
	echo "new" >src/conf/added-by-upgrade.cfg
	rm src/conf/ardbc.cfg
	tree_stamp src >stamp.before
	fast_sum src >sum.before
	bk_state >bk.before
	zdt -b "$BK" --json rollback -c AR --dry-run >plan.json
	zdt -b "$BK" rollback -c AR --dry-run >plan.txt
	tree_stamp src >stamp.after
	fast_sum src >sum.after
	cmp stamp.before stamp.after
	cmp sum.before sum.after
	python3 - plan.json <<-\EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["command"] == "rollback" and d["ok"] is True and d["dry_run"] is True, d
	(c,) = d["components"]
	plan = {p["path"]: p["action"] for p in c["plan"]}
	for path, want in (("conf/ar.cfg", "rewrite"), ("conf/added-by-upgrade.cfg", "remove"),
	                   ("conf/ardbc.cfg", "create")):
	    assert plan.get(path) == want, (path, plan.get(path), want)
	assert c["rewrite"] == sum(1 for a in plan.values() if a == "rewrite"), c
	assert c["create"] == sum(1 for a in plan.values() if a == "create"), c
	assert c["remove"] == sum(1 for a in plan.values() if a == "remove"), c
	EOF
	check_grep "rewrite conf/ar\.cfg" plan.txt
	check_grep "remove conf/added-by-upgrade\.cfg" plan.txt
	check_grep "create conf/ardbc\.cfg" plan.txt
	# nothing was written into the backup folder but the audit log
	bk_state >bk.after
	cmp bk.before bk.after
'

expect_success 'diff --json and rollback --dry-run --json name the same paths' '
	setup_src
	"$MUTATE" src 20 3 >/dev/null
	chmod 0600 src/conf/arsystem.properties
	setfattr -n user.zdt.test -v changed src/conf/ar.cfg
	must_fail 1 zdt -b "$BK" --json diff -c AR >diff.json
	zdt -b "$BK" --json rollback -c AR --dry-run >plan.json
	python3 - diff.json plan.json <<-\EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	p = json.load(open(sys.argv[2]))
	a = sorted(c["path"] for c in d["changes"])
	b = sorted(x["path"] for x in p["components"][0]["plan"])
	assert len(a) == len(set(a)) and len(b) == len(set(b)), "a path listed twice"
	assert len(a) > 20, a
	assert set(a) == set(b), (sorted(set(a) - set(b)), sorted(set(b) - set(a)))
	EOF
'

expect_success 'rollback --path conf restores conf/ only' '
	setup_src
	echo "upgraded" >>src/conf/ar.cfg
	echo "new" >src/conf/added-by-upgrade.cfg
	rm src/conf/ardbc.cfg
	echo "upgraded outside" >>src/lib/cache_locale38.log
	echo "new outside" >src/lib/added-outside.cfg
	zdt -b "$BK" rollback -c AR --path conf >/dev/null
	same_tree pristine/conf src/conf
	grep -q "upgraded outside" src/lib/cache_locale38.log
	test -f src/lib/added-outside.cfg
	# the same with the spelling ./conf/, then the rest
	echo "again" >>src/conf/ar.cfg
	zdt -b "$BK" rollback -c AR --path ./conf/ >/dev/null
	same_tree pristine/conf src/conf
	grep -q "upgraded outside" src/lib/cache_locale38.log
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
'

expect_success 'paths excluded at backup time are left alone, the rest is rolled back' '
	setup_src --exclude "*.log"
	echo "upgraded log" >>src/conf/limit_cache135.log
	echo "new log" >src/conf/new-by-upgrade.log
	rm src/serverdata/archive_item104.log
	echo "upgraded" >>src/conf/ar.cfg
	echo "new" >src/conf/new-by-upgrade.cfg
	rm src/conf/ardbc.cfg
	cp -a src/conf/limit_cache135.log log.upgraded
	zdt -b "$BK" rollback -c AR >/dev/null
	cmp log.upgraded src/conf/limit_cache135.log
	test "$(cat src/conf/new-by-upgrade.log)" = "new log"
	test ! -e src/serverdata/archive_item104.log
	cmp pristine/conf/ar.cfg src/conf/ar.cfg
	test ! -e src/conf/new-by-upgrade.cfg
	cmp pristine/conf/ardbc.cfg src/conf/ardbc.cfg
	zdt -b "$BK" diff -c AR >/dev/null
	# everything but the .log files equals the pristine tree
	rm -f src/conf/new-by-upgrade.log
	cp -a pristine/serverdata/archive_item104.log src/serverdata/
	cp -a pristine/conf/limit_cache135.log src/conf/
	touch -r pristine/conf src/conf
	touch -r pristine/serverdata src/serverdata
	same_tree pristine src
'

expect_success 'a folder the upgrade added that holds an excluded file: the rest of it is removed, the rollback finishes' '
	setup_src --exclude "*.log"
	mkdir src/newmodule
	echo "kept" >src/newmodule/new.log
	echo "removed" >src/newmodule/new.cfg
	echo "upgraded" >>src/conf/ar.cfg
	echo "upgraded" >>src/serverdata/queue_template79.properties
	zdt -b "$BK" rollback -c AR
	test "$(cat src/newmodule/new.log)" = kept
	test ! -e src/newmodule/new.cfg
	cmp pristine/conf/ar.cfg src/conf/ar.cfg
	cmp pristine/serverdata/queue_template79.properties src/serverdata/queue_template79.properties
	check_eq "rollback-interrupted snapshots" 0 "$(count_state AR rollback-interrupted)"
'

expect_success 'a same-size, same-mtime content change: missed by default, caught by --checksum' '
	setup_src
	f=src/conf/ar.cfg
	printf "#" | dd of=$f bs=1 seek=100 conv=notrunc status=none
	touch -r pristine/conf/ar.cfg $f
	! cmp -s pristine/conf/ar.cfg $f
	zdt -b "$BK" diff -c AR >/dev/null
	zdt -b "$BK" rollback -c AR >/dev/null
	! cmp -s pristine/conf/ar.cfg $f
	must_fail 1 zdt -b "$BK" diff -c AR --checksum >diff.out
	check_grep "conf/ar\.cfg" diff.out
	zdt -b "$BK" rollback -c AR --checksum >/dev/null
	cmp pristine/conf/ar.cfg $f
	same_tree pristine src
'

expect_success 'a folder replaced by a symlink to a folder outside: a folder again, the outside untouched' '
	setup_src
	# outside: what conf held, slightly changed (a rollback that followed
	# the link would "fix" it), and a sentinel
	cp -a src/conf outside
	echo "outside change" >>outside/ar.cfg
	echo sentinel >outside/SENTINEL
	echo "outside file" >outside-file
	tree_stamp outside >outside.before
	stat -c "%Y %Z %i %s" outside-file >outside-file.before
	rm -rf src/conf
	ln -s "$PWD/outside" src/conf
	# and a file replaced by a symlink to a file outside
	rm src/lib/cache_locale38.log
	ln -s ../../outside-file src/lib/cache_locale38.log
	zdt -b "$BK" rollback -c AR >/dev/null
	test -d src/conf && test ! -L src/conf
	test -f src/lib/cache_locale38.log && test ! -L src/lib/cache_locale38.log
	same_tree pristine src
	tree_stamp outside >outside.after
	cmp outside.before outside.after
	test "$(cat outside/SENTINEL)" = sentinel
	stat -c "%Y %Z %i %s" outside-file >outside-file.after
	cmp outside-file.before outside-file.after
	test "$(cat outside-file)" = "outside file"
'

expect_success 'a file turned into a folder and a folder turned into a file are turned back' '
	setup_src
	rm src/conf/ardbc.cfg
	mkdir src/conf/ardbc.cfg
	echo inner >src/conf/ardbc.cfg/inner.cfg
	rm -rf src/db
	echo "now a file" >src/db
	must_fail 1 zdt -b "$BK" diff -c AR >diff.out
	check_grep "^type-changed +conf/ardbc\.cfg" diff.out
	check_grep "^type-changed +db( |$)" diff.out
	zdt -b "$BK" rollback -c AR >/dev/null
	test -f src/conf/ardbc.cfg && test -d src/db
	same_tree pristine src
'

expect_success 'hardlink groups broken by the upgrade are linked again' '
	setup_src
	ino() { stat -c %i "$@" | sort -u | wc -l; }
	test "$(ino src/arserver/bin/arserverd src/bin/arserverd)" = 1
	# the first name of a group replaced by a copy (same content and mtime)
	cp -p src/arserver/bin/arserverd src/arserver/bin/arserverd.tmp
	mv src/arserver/bin/arserverd.tmp src/arserver/bin/arserverd
	# the middle name of a group of three
	cp -p src/lib/arapi91.jar src/lib/arapi91.jar.tmp
	mv src/lib/arapi91.jar.tmp src/lib/arapi91.jar
	# the second name rewritten through a temporary file
	echo "new content" >src/pluginsvr/tmp.$$
	mv src/pluginsvr/tmp.$$ src/pluginsvr/session_jdbc102-hl.properties
	test "$(ino src/arserver/bin/arserverd src/bin/arserverd)" = 2
	zdt -b "$BK" rollback -c AR >/dev/null
	test "$(ino src/arserver/bin/arserverd src/bin/arserverd)" = 1
	test "$(ino src/api/lib/arapi91.jar src/lib/arapi91.jar src/midtier/WEB-INF/lib/arapi91.jar)" = 1
	test "$(ino src/docs/ticket_path101.properties src/pluginsvr/session_jdbc102-hl.properties)" = 1
	test "$(stat -c %h src/lib/arapi91.jar)" = 3
	same_tree pristine src
'

expect_success 'a sparse file rewritten (or deleted) by the upgrade comes back sparse' '
	setup_src
	f=src/serverdata/ftindex/ftindex.sparse
	alloc() { echo $(($(stat -c "%b*%B" "$1"))); }
	size=$(stat -c %s $f)
	orig=$(alloc pristine/serverdata/ftindex/ftindex.sparse)
	test "$orig" -lt $((size / 4))
	for at in 3 17 33 45; do
		head -c 1048576 /dev/urandom | dd of=$f bs=1M seek=$at conv=notrunc status=none
	done
	test "$(alloc $f)" -gt "$orig"
	zdt -b "$BK" rollback -c AR >/dev/null
	echo "allocated: $(alloc $f) of $size (snapshot: $orig)"
	test "$(alloc $f)" -le $((orig + orig / 4))
	cmp pristine/serverdata/ftindex/ftindex.sparse $f
	rm $f
	zdt -b "$BK" rollback -c AR >/dev/null
	test "$(alloc $f)" -le $((orig + orig / 4))
	same_tree pristine src
'

expect_success 'xattr and ACL changes are reverted' '
	setup_src
	setfattr -n user.zdt.test -v changed src/conf/ar.cfg
	setfattr -n user.added -v 1 src/conf/arsystem.properties
	setfacl -m u:99:rwx src/conf/armonitor.cfg
	setfacl -m u:99:rx src/conf
	setfacl -k src/serverdata/shared
	setfattr -n user.added -v 1 src/db
	must_fail 1 zdt -b "$BK" diff -c AR >diff.out
	check_grep "conf/ar\.cfg" diff.out
	check_grep "conf/armonitor\.cfg" diff.out
	# attributes on paths that had none (the plan finds that most paths
	# have none with one listxattrat call)
	check_grep "conf/arsystem\.properties \(.*xattr" diff.out
	check_grep " db \(.*xattr" diff.out
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	test "$(getfattr --only-values -n user.zdt.test src/conf/ar.cfg)" = gen
'

expect_success 'files and folders the rollback creates under a default ACL do not keep an inherited ACL' '
	gen_tree src
	d=src/serverdata/shared
	getfacl -p $d | grep -q "^default:user:1234:"
	mkdir $d/sub
	setfacl -b -k $d/sub
	echo x >$d/sub/f
	setfacl -b $d/sub/f
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	rm -rf $d/shared.properties $d/sub
	zdt -b "$BK" rollback -c AR >/dev/null
	test -f $d/shared.properties && test -f $d/sub/f
	same_tree pristine src
'

expect_success 'a FIFO the rollback creates under a default ACL does not keep an inherited ACL' '
	gen_tree src
	d=src/serverdata/shared
	mkfifo $d/pipe
	setfacl -b $d/pipe
	cp -a --sparse=always src pristine
	zdt -b "$BK" backup -c AR src >/dev/null
	rm $d/pipe
	zdt -b "$BK" rollback -c AR >/dev/null
	test -p $d/pipe
	same_tree pristine src
'

expect_success 'an install folder deleted entirely is recreated' '
	setup_src
	rm -rf src
	must_fail 1 zdt -b "$BK" diff -c AR >/dev/null
	zdt -b "$BK" rollback -c AR >/dev/null
	same_tree pristine src
	zdt -b "$BK" diff -c AR >/dev/null
'

expect_success root 'owners changed by the upgrade are restored (setuid bit included)' '
	setup_src
	chown 1234:1234 src/conf/ar.cfg src/conf src/bin/arsignald
	chown -h 1234:1234 src/lib/libar.so
	test "$(stat -c %a src/bin/arsignald)" = 755	# chown dropped setuid
	zdt -b "$BK" rollback -c AR >/dev/null
	test "$(stat -c "%u:%g" src/conf/ar.cfg)" = 0:0
	test "$(stat -c %a src/bin/arsignald)" = 4755
	same_tree pristine src
'

test_done

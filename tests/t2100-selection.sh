#!/bin/bash
# t2100-selection: which components a rollback restores, and from which
# snapshot: -c, --from, the installer's positional SERVER USER PASSWORD
# [COMPONENT], components without a snapshot, --snapshot.
#
# Three tiny trees (different seeds) stand for the install folders of AR,
# AtriumCore and AtriumIntegrator; each is backed up, then changed by
# scripts/mutate-tree.  A restored tree is compared with its pristine copy
# by fast_sum (see t2000-rollback.sh); a tree that must stay as the upgrade
# left it is compared with tree_stamp (any write changes a ctime).
. "$(dirname "$0")/lib.sh"
require python3
need_mutate

# setup3 [COMPONENT...]: trees ar, core, ai with pristine copies p-ar,
# p-core, p-ai; snapshots of the components named (default: all three);
# then every tree mutated and its stamp taken (stamp-ar, ...)
setup3() {
	local c t
	gen_tree ar tiny 1
	gen_tree core tiny 2
	gen_tree ai tiny 3
	for t in ar core ai; do
		cp -a --sparse=always $t p-$t
	done
	for c in "${@:-ar cmdb ai}"; do
		for c in $c; do
			case $c in ar) t=ar ;; cmdb) t=core ;; ai) t=ai ;; esac
			zdt -b "$BK" backup -c $c $t >/dev/null
		done
	done
	mutate3
}

# mutate3: the upgrade of all three trees, then their stamps
mutate3() {
	local t
	for t in ar core ai; do
		"$MUTATE" $t 5 42 >/dev/null
		tree_stamp $t >stamp-$t
	done
}

# restored TREE...: each tree equals its pristine copy
restored() {
	local t args=()
	for t in "$@"; do
		args+=(p-$t $t)
	done
	same_tree "${args[@]}"
}

# untouched TREE...: each tree is as the upgrade left it
untouched() {
	local t
	for t in "$@"; do
		tree_stamp $t >stamp-$t.now
		if ! cmp -s stamp-$t stamp-$t.now; then
			echo "untouched: $t was changed:" >&9
			diff stamp-$t stamp-$t.now | head -n 20 | sed 's/^/    /' >&9
			return 1
		fi
	done
}

# order FILE: the components named at the start of the result lines, in order
order() {
	sed -n 's/^\(AR\|AtriumCore\|AtriumIntegrator\) [0-9TZ-]* -> .*rewritten.*/\1/p' "$1" | paste -sd " "
}

expect_success '--from AtriumIntegrator restores all three, top-down (text and JSON)' '
	setup3
	zdt -b "$BK" rollback --from AtriumIntegrator --no-server-check >out
	check_eq "order of the result lines" "AtriumIntegrator AtriumCore AR" "$(order out)"
	restored ar core ai
	mutate3
	zdt -b "$BK" --json rollback --from ai --no-server-check >out.json
	check_eq "order in the JSON document" "AtriumIntegrator AtriumCore AR" \
		"$(json_get out.json "\" \".join(c[\"component\"] for c in d[\"components\"])")"
	restored ar core ai
'

expect_success '--from AtriumCore restores AtriumCore and AR, not AtriumIntegrator' '
	setup3
	zdt -b "$BK" rollback --from AtriumCore --no-server-check >out
	check_eq "order of the result lines" "AtriumCore AR" "$(order out)"
	restored ar core
	untouched ai
'

expect_success '-c restores exactly the components named, top-down' '
	setup3
	zdt -b "$BK" rollback -c AR >out
	check_eq "result lines" "AR" "$(order out)"
	restored ar
	untouched core ai
	zdt -b "$BK" rollback -c arsystem -c AtriumIntegrator --no-server-check >out
	check_eq "order of the result lines" "AtriumIntegrator AR" "$(order out)"
	restored ar ai
	untouched core
'

expect_success 'positional SERVER USER PASSWORD: the --from chain' '
	setup3
	zdt -b "$BK" rollback --from AtriumCore --no-server-check srv admin secret >out
	check_eq "order of the result lines" "AtriumCore AR" "$(order out)"
	restored ar core
	untouched ai
'

expect_success 'positional COMPONENT = the --from component: that component alone' '
	setup3
	zdt -b "$BK" rollback --from AtriumCore --no-server-check srv admin secret AtriumCore >out
	check_eq "result lines" "AtriumCore" "$(order out)"
	restored core
	untouched ar ai
'

expect_success 'positional COMPONENT naming another component: still the --from component alone, and zdt says so' '
	setup3
	zdt -b "$BK" rollback --from AtriumCore --no-server-check srv admin secret AR >out 2>err
	check_eq "result lines" "AtriumCore" "$(order out)"
	cat out err >all
	check_grep "AR.*only AtriumCore|only AtriumCore.*AR" all
	restored core
	untouched ar ai
'

expect_success 'one or two positional parameters, or an unknown component: usage errors, nothing touched' '
	setup3
	must_fail 2 zdt -b "$BK" rollback --from AR srv
	must_fail 2 zdt -b "$BK" rollback --from AR srv admin
	must_fail 2 zdt -b "$BK" rollback --from AR srv admin secret AR extra
	for bad in "-c foo" "--from foo" "-c AR -c bogus"; do
		must_fail 2 zdt -b "$BK" rollback $bad 2>err
		check_grep "AR" err
		check_grep "AtriumCore" err
		check_grep "AtriumIntegrator" err
	done
	must_fail 2 zdt -b "$BK" rollback --from AtriumCore --no-server-check srv admin secret foo 2>err
	check_grep "AtriumIntegrator" err
	untouched ar core ai
'

expect_success '--from AtriumIntegrator with no AtriumCore snapshot: AtriumIntegrator and AR, and a note' '
	setup3 ar ai
	zdt -b "$BK" rollback --from AtriumIntegrator --no-server-check >out 2>err
	check_eq "order of the result lines" "AtriumIntegrator AR" "$(order out)"
	cat out err >all
	check_grep "AtriumCore.*(no|not).*snapshot" all
	restored ar ai
	untouched core
'

expect_success 'no snapshot of a selected component: exit 5, not possible without the backup, nothing touched' '
	setup3 ar
	must_fail 5 zdt -b "$BK" rollback -c AtriumCore --no-server-check 2>err
	check_grep "not possible without the backup" err
	must_fail 5 zdt -b "$BK" rollback -c AR -c AtriumCore --no-server-check 2>err
	check_grep "not possible without the backup" err
	must_fail 5 zdt -b "$BK" rollback --from AtriumCore --no-server-check 2>err
	check_grep "not possible without the backup" err
	untouched ar core ai
	# the snapshot folder deleted
	rm -rf "$BK/AR"
	must_fail 5 zdt -b "$BK" rollback -c AR 2>err
	check_grep "not possible without the backup" err
	untouched ar core ai
'

expect_success '--snapshot ID restores that snapshot; an unknown ID: exit 5' '
	gen_tree ar
	echo "version 1" >ar/conf/version.cfg
	zdt -b "$BK" backup -c AR ar >/dev/null
	old=$(snap_id AR)
	cp -a --sparse=always ar p-old
	echo "version 2" >ar/conf/version.cfg
	echo "new in 2" >ar/conf/new2.cfg
	zdt -b "$BK" backup -c AR ar >/dev/null
	new=$(snap_id AR)
	test "$old" != "$new"
	cp -a --sparse=always ar p-new
	echo "version 3" >ar/conf/version.cfg
	zdt -b "$BK" rollback -c AR --snapshot "$old" >out
	check_grep "^AR $old " out
	test "$(cat ar/conf/version.cfg)" = "version 1"
	test ! -e ar/conf/new2.cfg
	same_tree p-old ar
	zdt -b "$BK" rollback -c AR >out
	check_grep "^AR $new " out
	same_tree p-new ar
	must_fail 5 zdt -b "$BK" rollback -c AR --snapshot 20000101T000000Z-01 2>err
	check_grep "20000101T000000Z-01" err
	must_fail 2 zdt -b "$BK" rollback -c AR --snapshot not-an-id
	same_tree p-new ar
'

test_done

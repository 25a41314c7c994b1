#!/bin/bash
# t0010-treesum: the test library's own tree comparison (tests/treesum.sh,
# tree_equal) sees every difference zdt promises to undo.  The first case
# failed with the treesum.sh of dd7d430, which dropped symlink targets.
. "$(dirname "$0")/lib.sh"
require xxhsum python3

expect_success 'a retargeted symlink (same length, same mtime) makes two trees differ' '
	gen_tree a
	cp -a a b
	l=$(cd b && find . -type l | head -n 1)
	test -n "$l"
	t=$(readlink "b/$l")
	# another target of the same length, and the same mtime
	n=$(printf "%s" "$t" | tr "a-y" "b-z")
	test "$n" != "$t"
	rm "b/$l"
	ln -s "$n" "b/$l"
	touch -h -r "a/$l" "b/$l"
	touch -r "a/$(dirname "$l")" "b/$(dirname "$l")"
	! tree_equal a b 9>/dev/null
	tree_sum b >sum
	check_grep " -> $n -$" sum
'

expect_success 'copies are equal; a changed byte, mode or name with a newline is seen' '
	gen_tree a
	cp -a a b
	tree_equal a b
	mkdir c
	printf x >"c/new
line"
	printf "y\\\\n" >"c/new\\nline"
	cp -a c d
	tree_equal c d
	printf z >"d/new
line"
	touch -r "c/new
line" "d/new
line"
	! tree_equal c d 9>/dev/null
	tree_sum c >sum
	test "$(grep -c "^f " sum)" = 2
'

expect_success 'treesum sees the same paths as fast_sum on the small tree' '
	gen_tree a small
	tree_sum a | grep -c "^[fdlpcbs] " >n1
	fast_sum a | grep -c "^[fdlpcbs] " >n2
	cmp n1 n2
	! grep -q " ?$" <(tree_sum a)
'

test_done

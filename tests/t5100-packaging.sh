#!/bin/bash
# t5100-packaging: make install / uninstall / dist / deb / rpm, the .deb
# installed into this machine and purged again, the systemd units and the
# cron entry, the man pages, the example configuration against
# common/config.c, the bash completion against the help texts, and the
# Ansible playbook of packaging/ansible run with -c local.
#
# Needs (each test skips without its tool): dpkg-deb and root (the .deb),
# lintian, rpmbuild (package rpm), systemd-analyze (package systemd, and
# it must work in this container), mandoc, ansible-playbook (ansible-core),
# strace.  scripts/install-deps.sh installs them all.
. "$(dirname "$0")/lib.sh"
require python3 make git

# the sub-makes stand alone, whatever make ran this test
unset MAKEFLAGS MFLAGS MAKELEVEL
PKG=$ZDT_SRC/packaging
MUTATE=$ZDT_SRC/scripts/mutate-tree
VERSION=$(sed -n 's/^#define ZDT_VERSION "\(.*\)"/\1/p' "$ZDT_SRC/zdt.h")
# make dist takes the files git knows; a work tree whose new files are not
# committed yet counts them too, so this test runs before the commit
DIST_LS='git ls-files --cached --others --exclude-standard'
# built once, used by several tests
DEB_DIR=$TEST_OUT/deb

mk() {
	make -C "$ZDT_SRC" --no-print-directory "$@"
}

# the files make install puts under PREFIX, sorted
installed_files() {
	sort <<-EOF
	bin/zdt
	share/bash-completion/completions/zdt
	share/doc/zdt/zdt.conf.example
	share/man/man1/zdt.1
	share/man/man5/zdt-manifest.5
	share/man/man5/zdt.conf.5
	share/zdt/cleanup.bat
	share/zdt/cleanup.sh
	share/zdt/cron.d/zdt-cleanup
	share/zdt/rollback.bat
	share/zdt/rollback.sh
	share/zdt/systemd/zdt-cleanup.service
	share/zdt/systemd/zdt-cleanup.timer
	EOF
}

# build_deb: $DEB_DIR/zdt_VERSION_ARCH.deb (once); prints its path
build_deb() {
	local deb
	deb=$DEB_DIR/zdt_${VERSION}_$(dpkg --print-architecture).deb
	if [ ! -f "$deb" ]; then
		mk deb DIST_DIR="$DEB_DIR" >"$TEST_OUT/.make-deb.log" 2>&1 || {
			cat "$TEST_OUT/.make-deb.log" >&9
			return 1
		}
	fi
	echo "$deb"
}

# systemd_analyze_works: a prerequisite, defined only when systemd-analyze
# verify runs in this container
if command -v systemd-analyze >/dev/null; then
	sda=$TEST_OUT/.sda
	mkdir -p "$sda"
	printf '[Unit]\nDescription=t\n[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$sda/t5100-probe.service"
	if systemd-analyze verify --man=no "$sda/t5100-probe.service" >"$sda/log" 2>&1; then
		systemd_analyze_works() { :; }
	else
		echo "# systemd-analyze verify does not work in this container: its checks are skipped"
		sed 's/^/#   /' "$sda/log"
	fi
fi

expect_success 'make install DESTDIR PREFIX=/usr: the files, their modes and paths; make uninstall removes them' '
	mk install DESTDIR="$TRASH/root" PREFIX=/usr >make.log 2>&1
	(cd root/usr && find . -type f | sed "s|^\./||" | sort) >got
	installed_files >want
	diff want got
	check_eq version "zdt $VERSION" "$(root/usr/bin/zdt --version)"
	file root/usr/bin/zdt | grep -q "statically linked"
	for f in bin/zdt share/zdt/rollback.sh share/zdt/cleanup.sh; do
		check_eq "mode of $f" 755 "$(stat -c %a root/usr/$f)"
	done
	for f in $(installed_files | grep -v -e ^bin/ -e "\.sh$"); do
		check_eq "mode of $f" 644 "$(stat -c %a root/usr/$f)"
	done
	cmp root/usr/share/zdt/rollback.sh "$PKG/rollback.sh"
	cmp root/usr/share/man/man5/zdt.conf.5 "$ZDT_SRC/man/zdt.conf.5"
	check_grep "^ExecStart=/usr/bin/zdt cleanup$" root/usr/share/zdt/systemd/zdt-cleanup.service
	check_grep "/usr/bin/zdt cleanup$" root/usr/share/zdt/cron.d/zdt-cleanup
	# nothing outside PREFIX: no /etc
	test "$(ls root)" = usr
	mk uninstall DESTDIR="$TRASH/root" PREFIX=/usr >make.log 2>&1
	test -z "$(find root -type f -o -type l)"
	test ! -e root/usr/share/zdt && test ! -e root/usr/share/doc/zdt
	# another PREFIX: the cron job and the units call zdt there
	mk install DESTDIR="$TRASH/r2" PREFIX=/opt/zdt >make.log 2>&1
	check_grep "^ExecStart=/opt/zdt/bin/zdt cleanup$" r2/opt/zdt/share/zdt/systemd/zdt-cleanup.service
	check_grep "ConditionFileIsExecutable=/opt/zdt/bin/zdt$" r2/opt/zdt/share/zdt/systemd/zdt-cleanup.service
	check_grep "\[ -x /opt/zdt/bin/zdt \] .* /opt/zdt/bin/zdt cleanup$" r2/opt/zdt/share/zdt/cron.d/zdt-cleanup
	mk uninstall DESTDIR="$TRASH/r2" PREFIX=/opt/zdt >make.log 2>&1
	test -z "$(find r2 -type f -o -type l)"
'

expect_success 'make dist: zdt-VERSION.tar.gz of the files git knows, that builds with make zdt' '
	mk dist DIST_DIR="$TRASH/d" DIST_LS="$DIST_LS" >make.log 2>&1
	t=d/zdt-$VERSION.tar.gz
	test -f "$t"
	tar -tzf "$t" >list
	check_no_grep "^[^z]|^zdt-$VERSION/(tests/out|dist|zdt$|zdt-test$|zdt-asan$|scripts/gen-tree$)" list
	for f in zdt.c zdt.h Makefile common/config.c man/zdt.conf.5 packaging/rpm/zdt.spec \
		packaging/rollback.sh packaging/deb/build-deb.sh scripts/gen-tree.c; do
		check_grep "^zdt-$VERSION/$f$" list
	done
	# what git ls-files names, as the default DIST_LS takes it
	mk dist DIST_DIR="$TRASH/d2" >make.log 2>&1
	(cd "$ZDT_SRC" && git ls-files | while IFS= read -r f; do [ ! -e "$f" ] || echo "zdt-$VERSION/$f"; done) | sort >want
	tar -tzf d2/zdt-$VERSION.tar.gz | sort >got
	diff want got
	# unpacks and builds
	mkdir b
	tar -xzf "$t" -C b
	make -C "b/zdt-$VERSION" zdt >build.log 2>&1 || { cat build.log >&9; false; }
	check_eq version "zdt $VERSION" "$("b/zdt-$VERSION/zdt" --version)"
'

expect_success dpkg-deb 'make deb: contents, control, conffiles, md5sums, stripped static binary; lintian clean' '
	deb=$(build_deb)
	check_grep "/zdt_${VERSION}_[a-z0-9]+\.deb$" - <<<"$deb"
	dpkg-deb -I "$deb" control >control
	check_eq Package zdt "$(sed -n "s/^Package: //p" control)"
	check_eq Version "$VERSION" "$(sed -n "s/^Version: //p" control)"
	check_eq Architecture "$(dpkg --print-architecture)" "$(sed -n "s/^Architecture: //p" control)"
	check_no_grep "^(Depends|Pre-Depends|Recommends):" control
	check_grep "^Built-Using: .*libarchive \(= " control
	check_grep "^Maintainer: .+ <.+@.+>$" control
	dpkg-deb -I "$deb" conffiles >conffiles
	printf "/etc/cron.d/zdt-cleanup\n/etc/zdt.conf\n" | diff - conffiles
	dpkg-deb -c "$deb" | awk "{print \$1, \$2, \$NF}" >contents
	for f in ./usr/bin/zdt ./usr/share/man/man1/zdt.1.gz ./usr/share/man/man5/zdt.conf.5.gz \
		./usr/share/man/man5/zdt-manifest.5.gz ./usr/share/zdt/rollback.sh ./usr/share/zdt/cleanup.sh \
		./usr/share/zdt/rollback.bat ./usr/share/zdt/cleanup.bat ./etc/zdt.conf ./etc/cron.d/zdt-cleanup \
		./lib/systemd/system/zdt-cleanup.service ./lib/systemd/system/zdt-cleanup.timer \
		./usr/share/bash-completion/completions/zdt ./usr/share/doc/zdt/copyright \
		./usr/share/doc/zdt/changelog.Debian.gz ./usr/share/doc/zdt/zdt.conf.example \
		./usr/share/lintian/overrides/zdt; do
		check_grep " root/root $f$" contents
	done
	check_grep "^-rwxr-xr-x root/root ./usr/bin/zdt$" contents
	check_grep "^-rwxr-xr-x root/root ./usr/share/zdt/rollback.sh$" contents
	check_no_grep "share/zdt/(cron.d|systemd)" contents
	check_no_grep "\.(1|5)$" contents
	# md5sums match the files; the binary is static and stripped
	dpkg-deb -R "$deb" x
	(cd x && md5sum --quiet -c DEBIAN/md5sums)
	test "$(wc -l <x/DEBIAN/md5sums)" = "$(cd x && find . -type f ! -path "./DEBIAN/*" ! -path "./etc/*" | wc -l)"
	file x/usr/bin/zdt >ftype
	check_grep "statically linked" ftype
	check_grep ", stripped" ftype
	cmp x/etc/zdt.conf "$PKG/zdt.conf.example"
	zcat x/usr/share/doc/zdt/changelog.Debian.gz | head -n 1 | grep -q "^zdt ($VERSION) "
	for s in postinst prerm postrm; do test -x x/DEBIAN/$s; done
	if command -v lintian >/dev/null; then
		lintian --fail-on error,warning "$deb" >lint 2>&1 ||
			{ cat lint >&9; false; }
		check_no_grep "^[EW]: " lint
	else
		echo "# lintian not installed: not run"
	fi
'

expect_success dpkg,root 'dpkg -i the .deb: zdt from /usr/bin, the units verified; dpkg --purge leaves nothing' '
	if dpkg-query -W -f "\${Status}" zdt 2>/dev/null | grep -q "installed" || [ -e /usr/bin/zdt ]; then
		echo "# zdt is installed on this machine already: not touched" >&9
		exit 0
	fi
	deb=$(build_deb)
	when_finished "dpkg --purge zdt >/dev/null 2>&1 || true"
	dpkg -i "$deb" >dpkg.log 2>&1 || { cat dpkg.log >&9; false; }
	check_eq version "zdt $VERSION" "$(/usr/bin/zdt --version)"
	check_eq "from PATH" "zdt $VERSION" "$(env PATH=/usr/sbin:/usr/bin:/sbin:/bin zdt --version)"
	test -f /etc/zdt.conf && test -f /etc/cron.d/zdt-cleanup
	test -f /usr/share/man/man5/zdt.conf.5.gz
	test -x /usr/share/zdt/rollback.sh
	# the shipped configuration is valid (everything commented out)
	/usr/bin/zdt --config /etc/zdt.conf -b "$TRASH/nobk" list >list.out 2>list.err || test $? = 5
	check_no_grep "zdt.conf:" list.err
	if command -v deb-systemd-helper >/dev/null; then
		test -L /etc/systemd/system/timers.target.wants/zdt-cleanup.timer
	fi
	if declare -F systemd_analyze_works >/dev/null; then
		systemd-analyze verify /lib/systemd/system/zdt-cleanup.service /lib/systemd/system/zdt-cleanup.timer
	else
		echo "# systemd-analyze verify does not work here: the installed units were not verified" >&9
	fi
	dpkg --purge zdt >dpkg.log 2>&1 || { cat dpkg.log >&9; false; }
	for f in /usr/bin/zdt /etc/zdt.conf /etc/cron.d/zdt-cleanup /usr/share/zdt /usr/share/doc/zdt \
		/lib/systemd/system/zdt-cleanup.service /etc/systemd/system/timers.target.wants/zdt-cleanup.timer \
		/usr/share/man/man1/zdt.1.gz /usr/share/bash-completion/completions/zdt; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			echo "left after dpkg --purge: $f" >&9
			false
		fi
	done
	if dpkg-query -W -f "\${Status}" zdt 2>/dev/null | grep -q " installed"; then
		echo "zdt is still installed after dpkg --purge" >&9
		false
	fi
'

expect_success rpmbuild 'make rpm: rpmbuild -bb of packaging/rpm/zdt.spec on the dist tarball' '
	spec_version=$(sed -n "s/^%{!?zdt_version:%global zdt_version \(.*\)}$/\1/p" "$PKG/rpm/zdt.spec")
	check_eq "the spec'"'"'s default version" "$VERSION" "$spec_version"
	mk rpm DIST_DIR="$TRASH/d" DIST_LS="$DIST_LS" >make.log 2>&1 || { cat make.log >&9; false; }
	rpm=$(ls d/zdt-$VERSION-1.*.rpm)
	rpm -qp --qf "%{NAME} %{VERSION}\n" "$rpm" >nv
	check_eq "name version" "zdt $VERSION" "$(cat nv)"
	rpm -qlp "$rpm" | sort >files
	for f in /usr/bin/zdt /etc/zdt.conf /etc/cron.d/zdt-cleanup /usr/share/zdt/rollback.sh \
		/usr/share/zdt/cleanup.bat /usr/share/bash-completion/completions/zdt \
		/usr/share/doc/zdt/zdt.conf.example; do
		check_grep "^$f$" files
	done
	check_grep "^/usr/share/man/man5/zdt.conf.5(\.gz)?$" files
	check_grep "/systemd/system/zdt-cleanup.timer$" files
	rpm -qp --configfiles "$rpm" | sort >conf
	printf "/etc/cron.d/zdt-cleanup\n/etc/zdt.conf\n" | diff - conf
	mkdir x && bsdtar -xf "$rpm" -C x
	check_eq version "zdt $VERSION" "$(x/usr/bin/zdt --version)"
'

expect_success systemd_analyze_works 'systemd-analyze verify: zdt-cleanup.service and .timer' '
	# installed under PREFIX=$TRASH/usr so that ExecStart names a real zdt
	mk install PREFIX="$TRASH/usr" >make.log 2>&1
	u=usr/share/zdt/systemd
	systemd-analyze verify --man=no "$u/zdt-cleanup.service" "$u/zdt-cleanup.timer" >verify.log 2>&1 ||
		{ cat verify.log >&9; false; }
	check_grep "^Type=oneshot$" "$u/zdt-cleanup.service"
	check_grep "^ExecStart=$TRASH/usr/bin/zdt cleanup$" "$u/zdt-cleanup.service"
	check_grep "^ProtectSystem=full$" "$u/zdt-cleanup.service"
	check_no_grep "^ProtectSystem=strict" "$u/zdt-cleanup.service"
	check_grep "^OnCalendar=hourly$" "$u/zdt-cleanup.timer"
	check_grep "^Persistent=true$" "$u/zdt-cleanup.timer"
	check_grep "^WantedBy=timers.target$" "$u/zdt-cleanup.timer"
	# hardened: systemd rates the exposure low
	systemd-analyze security --offline=yes "$u/zdt-cleanup.service" >sec 2>&1 || true
	level=$(sed -n "s/.*Overall exposure level for zdt-cleanup.service: \([0-9.]*\).*/\1/p" sec)
	test -n "$level"
	awk -v l="$level" "BEGIN { exit !(l < 3.0) }"
'

expect_success 'the cron.d entry: hourly, root, zdt cleanup, silent when it has nothing to do' '
	f=$PKG/cron.d/zdt-cleanup
	grep -v -e "^#" -e "^$" -e "^[A-Z]*=" "$f" >jobs
	test "$(wc -l <jobs)" = 1
	read -r min hour dom mon dow user cmd <jobs
	case $min in [0-9] | [1-5][0-9]) ;; *) false ;; esac
	test "$hour $dom $mon $dow $user" = "* * * * root"
	check_grep "/usr/bin/zdt cleanup$" jobs
	check_grep "^SHELL=/bin/sh$" "$f"
	check_grep "^PATH=" "$f"
	# the file name is one cron accepts (run-parts rules)
	basename "$f" | grep -qE "^[A-Za-z0-9_-]+$"
	# the command, run here with no zdt installed or no backup-dir: no output
	sed "s|/usr/bin/zdt|$TRASH/nozdt|g" jobs >job2
	read -r _ _ _ _ _ _ cmd2 <job2
	sh -c "$cmd2" >out 2>&1 || true
	test ! -s out
'

expect_success mandoc 'mandoc -Tlint -Wwarning: every man page is clean' '
	for m in "$ZDT_SRC"/man/*.[1-8]; do
		mandoc -Tlint -Wwarning "$m" >lint 2>&1 || { cat lint >&9; false; }
		test ! -s lint
	done
	test -f "$ZDT_SRC/man/zdt.conf.5"
'

# config_keys: the keys common/config.c knows, one a line
config_keys() {
	grep -o "strcmp(k, \"[a-z-]*\")" "$ZDT_SRC/common/config.c" | sed "s/.*\"\(.*\)\".*/\1/" | sort -u
}

expect_success 'zdt.conf.example and zdt.conf(5) against common/config.c' '
	ex=$PKG/zdt.conf.example
	config_keys >keys
	test "$(wc -l <keys)" -ge 9
	while read -r k; do
		check_grep "^\.It Ic $k No = " "$ZDT_SRC/man/zdt.conf.5"
		check_grep "^# $k = " "$ex"
	done <keys
	# as shipped (all commented out) and with every setting uncommented: valid
	zdt --config "$ex" -b "$TRASH/bk" list >out 2>err || test $? = 5
	check_no_grep "example:" err
	sed -E "s/^# (\[[A-Za-z]+\]$|[a-z-]+ = )/\1/" "$ex" >conf
	grep -c -E "^[a-z-]+ = " conf >n
	test "$(cat n)" -ge 12
	mkdir bk
	zdt --config "$TRASH/conf" -b "$TRASH/bk" list >out 2>err || { cat err >&9; false; }
	# a mistake is reported with FILE:LINE, exit 2
	printf "[AR]\nar-port = 5\n" >bad
	must_fail 2 zdt --config "$TRASH/bad" -b "$TRASH/bk" list 2>err
	check_grep "bad:2: unknown key .ar-port. in section \[AR\]" err
	check_grep "^\.Ql unknown key .KEY. in section \[COMPONENT\]$" "$ZDT_SRC/man/zdt.conf.5"
'

# complete WORD...: the completions of the last WORD after zdt WORD...
complete_words() {
	(
		# shellcheck disable=SC1091
		. "$PKG/bash-completion/zdt"
		COMP_WORDS=(zdt "$@")
		COMP_CWORD=$#
		COMP_LINE="zdt $*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_zdt
		printf "%s\n" "${COMPREPLY[@]}" | sort
	)
}

expect_success 'bash completion: commands, each command'"'"'s options as its help lists them, components' '
	mkdir bin && ln -s "$ZDT" bin/zdt
	export PATH=$TRASH/bin:$PATH
	"$ZDT" --help | sed -n "/^Commands:$/,/^$/s/^  \([a-z]*\) .*/\1/p" | sort >want
	complete_words "" >got
	diff want got
	"$ZDT" --help | grep -o -E -- "(^| )--?[a-z][a-z-]*" | tr -d " " | sort -u >global
	for c in $(cat want); do
		[ "$c" = help ] && continue
		"$ZDT" help "$c" | sed -n "/^$/,\$p" | grep -o -E -- "(^| )--?[a-z][a-z-]*" | tr -d " " >opts
		cat opts global | sort -u >want-opts
		complete_words "$c" - >got-opts
		diff want-opts got-opts || { echo "options of $c differ" >&9; false; }
	done
	for o in -c --component --from --completed; do
		complete_words rollback $o "" >got
		printf "%s\n" AR AtriumCore AtriumIntegrator ai arsystem cmdb | sort | diff - got
	done
	check_eq "at" "AtriumCore AtriumIntegrator" "$(complete_words rollback --from at | tr "\n" " " | sed "s/ $//")"
	check_eq "--progress" "always auto never" "$(complete_words --progress "" | tr "\n" " " | sed "s/ $//")"
	complete_words backup --compress "" >got
	check_grep "^gzip:9$" got
	check_eq "help r" rollback "$(complete_words help r)"
	# snapshot IDs from zdt list of the -b folder
	mkdir src && echo x >src/f
	zdt -q -b "$BK" backup -c AR src
	check_eq "--snapshot" "$(snap_id AR)" "$(complete_words -b "$BK" verify -c AR --snapshot "")"
'

# ansible_run ARGS...: ansible-playbook of packaging/ansible with the inventory
# ./inv.yml, quiet and local; output in ansible.out
ansible_run() {
	LC_ALL=C.UTF-8 ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 \
		ANSIBLE_LOCAL_TEMP=$TRASH/.ansible-local ANSIBLE_REMOTE_TEMP=$TRASH/.ansible-remote \
		ANSIBLE_HOME=$TRASH/.ansible ANSIBLE_CONFIG=$TRASH/ansible.cfg \
		ansible-playbook -c local -i inv.yml "$PKG/ansible/zdt-servergroup.yml" "$@" >ansible.out 2>&1
}

# hosts_in_order TASK: the hosts of TASK's result lines, in order
hosts_in_order() {
	awk -v t="TASK [$1]" 'index($0, t) == 1 { on = 1; next } /^(TASK|PLAY)/ { on = 0 }
		on && match($0, /^(ok|changed|fatal): \[[^]]*\]/) { s = substr($0, RSTART, RLENGTH); sub(/^[a-z]*: \[/, "", s); sub(/\]$/, "", s); print s }' ansible.out |
		uniq | tr "\n" " " | sed "s/ $//"
}

expect_success ansible-playbook,strace 'ansible: backup then rollback of a server group, one at a time in rank order' '
	py=/usr/bin/python3
	[ -x "$py" ] || py=$(command -v python3)
	printf "[defaults]\n" >ansible.cfg
	# three servers, all this machine, listed out of rank order
	{
		printf "all:\n  children:\n    remedy_servergroup:\n      hosts:\n"
		for h in b:2 c:3 a:1; do
			n=${h%:*} r=${h#*:}
			gen_tree "t-$n" tiny "$r"
			printf "        srv-%s: {zdt_rank: %s, zdt_backup_dir: \"%s\", zdt_install_dirs: {AR: \"%s\"}}\n" \
				"$n" "$r" "$TRASH/bk-$n" "$TRASH/t-$n"
		done
		printf "      vars:\n        ansible_python_interpreter: %s\n        zdt_bin: \"%s\"\n        zdt_config: \"%s\"\n" \
			"$py" "$ZDT" "$ZDT_CONFIG"
	} >inv.yml
	for n in a b c; do tree_sum_cached "t-$n" >"sum-$n"; done
	ansible_run -e zdt_action=backup || { cat ansible.out >&9; false; }
	check_eq "backup order" "srv-a srv-b srv-c" "$(hosts_in_order "Back up")"
	for n in a b c; do
		check_eq "snapshots of $n" 1 "$(BK=$TRASH/bk-$n count_complete AR)"
	done
	# the upgrade changes every server
	for n in a b c; do "$MUTATE" "t-$n" 20 5 >/dev/null; tree_stamp "t-$n" >"stamp-$n"; done
	PW="pw-5100 s3cr;&\$x"
	printf "zdt_ar_password: \"%s\"\nzdt_ar_user: Demo\n" "$PW" >secret.yml
	# the primary has lost its backup: its rollback fails, and the
	# secondaries are not touched
	mv bk-a/AR AR-a
	must_fail 2 ansible_run -e zdt_action=rollback -e zdt_from=AR -e @secret.yml
	check_eq "rollback order" "srv-a" "$(hosts_in_order "Check the rollback")"
	check_grep "zdt rollback failed on srv-a \(exit 5\)" ansible.out
	for n in a b c; do tree_stamp "t-$n" | cmp - "stamp-$n"; done
	mv AR-a bk-a/AR
	# the whole group, in rank order, under strace: the password is in no
	# command line or environment, and not in the output
	strace -f -qq --seccomp-bpf -v -s 65535 -e trace=execve -o trace \
		env LC_ALL=C.UTF-8 ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 \
		ANSIBLE_LOCAL_TEMP=$TRASH/.ansible-local ANSIBLE_REMOTE_TEMP=$TRASH/.ansible-remote \
		ANSIBLE_HOME=$TRASH/.ansible ANSIBLE_CONFIG=$TRASH/ansible.cfg \
		ansible-playbook -c local -i inv.yml "$PKG/ansible/zdt-servergroup.yml" \
		-e zdt_action=rollback -e zdt_from=AR -e @secret.yml >ansible.out 2>&1 || { cat ansible.out >&9; false; }
	check_eq "rollback order" "srv-a srv-b srv-c" "$(hosts_in_order "Check the rollback")"
	for n in a b c; do tree_sum "t-$n" >"got-$n" & done
	wait
	for n in a b c; do cmp "sum-$n" "got-$n"; done
	check_grep "ar-user=Demo .*outcome=ok" bk-c/audit.log
	grep -F "execve(" trace >execs
	check_grep "\"--json\", \"rollback\", \"--from\", \"AR\", \"--user\", \"Demo\", \"--password-file\", \"/dev/stdin\"\]" execs
	for f in execs ansible.out bk-a/audit.log bk-b/audit.log bk-c/audit.log; do
		if grep -F -q -e "$PW" "$f"; then
			echo "the password is in $f" >&9
			false
		fi
	done
	# no valid action: the first play stops before anything runs
	must_fail 2 ansible_run -e zdt_action=restore
	check_grep "set zdt_action" ansible.out
'

test_done

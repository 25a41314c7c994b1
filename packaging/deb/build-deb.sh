#!/bin/sh
# build-deb.sh VERSION OUTDIR - build OUTDIR/zdt_VERSION_ARCH.deb with
# dpkg-deb from the source tree (make deb runs it from the top folder,
# after building ./zdt).
#
# The package: /usr/bin/zdt (stripped), the man pages zdt(1), zdt.conf(5)
# and zdt-manifest(5) gzipped, the wrappers in /usr/share/zdt, the bash
# completion, /etc/zdt.conf (the commented example) and
# /etc/cron.d/zdt-cleanup as conffiles, zdt-cleanup.service and .timer in
# /lib/systemd/system (the timer enabled by postinst, as dh_installsystemd
# does), copyright, changelog.Debian.gz, md5sums and lintian overrides.
# Depends: nothing (a static binary; the wrappers need only /bin/sh).
#
# Environment: MAKE (make), DEB_MAINTAINER (the Maintainer field),
# SOURCE_DATE_EPOCH (the changelog date and file times; default: the last
# commit's time, else now).
set -eu

[ $# -eq 2 ] || { echo "usage: build-deb.sh VERSION OUTDIR" >&2; exit 2; }
version=$1
outdir=$2
[ -n "$version" ] || { echo "build-deb.sh: no version (ZDT_VERSION in zdt.h)" >&2; exit 2; }
maintainer=${DEB_MAINTAINER:-zdt maintainers <zdt@example.org>}
pkgdir=packaging/deb
[ -f "$pkgdir/control.in" ] || { echo "build-deb.sh: run from the top of the zdt tree" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb not found" >&2; exit 1; }
arch=$(dpkg --print-architecture)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
chmod 0755 "$tmp"
umask 022

# the files, as make install lays them out under /usr
${MAKE:-make} --no-print-directory install DESTDIR="$root" PREFIX=/usr >/dev/null

# Debian's places for the cron job and the units, and the conffile
install -d "$root/etc/cron.d" "$root/lib/systemd/system"
mv "$root/usr/share/zdt/cron.d/zdt-cleanup" "$root/etc/cron.d/zdt-cleanup"
mv "$root/usr/share/zdt/systemd/zdt-cleanup.service" "$root/usr/share/zdt/systemd/zdt-cleanup.timer" \
	"$root/lib/systemd/system/"
rmdir "$root/usr/share/zdt/cron.d" "$root/usr/share/zdt/systemd"
install -m 0644 packaging/zdt.conf.example "$root/etc/zdt.conf"

strip --remove-section=.comment --remove-section=.note "$root/usr/bin/zdt"
gzip -9n "$root"/usr/share/man/man1/*.1 "$root"/usr/share/man/man5/*.5

doc=$root/usr/share/doc/zdt
install -m 0644 "$pkgdir/copyright" "$doc/copyright"
install -m 0644 README.md "$doc/README.md"
{
	printf 'zdt (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from the zdt source tree by make deb; see the project'"'"'s\n'
	printf '    history for the changes.\n\n'
	printf ' -- %s  %s\n' "$maintainer" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} >"$doc/changelog.Debian"
gzip -9n "$doc/changelog.Debian"
install -d "$root/usr/share/lintian/overrides"
install -m 0644 "$pkgdir/lintian-overrides" "$root/usr/share/lintian/overrides/zdt"

# Built-Using: the source packages of the static libraries linked in
built_using=
for lib in archive nettle acl lzma zstd lz4 bz2 z xml2 xxhash icuuc icudata stdc++ m pthread c gcc gcc_eh; do
	a=$(${CC:-gcc} -print-file-name="lib$lib.a")
	case $a in /*) ;; *) continue ;; esac
	a=$(readlink -f "$a")
	p=$(dpkg-query -S "$a" 2>/dev/null | sed -n '1s/: .*//p') || true
	[ -n "$p" ] || continue
	dpkg-query -W -f '${source:Package} (= ${source:Version})\n' "$p"
done | sort -u >"$tmp/sbu"
built_using=$(paste -sd, "$tmp/sbu" | sed 's/,/, /g')

install -d "$root/DEBIAN"
installed_size=$(du -sk --apparent-size "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
	-e "s|@MAINTAINER@|$maintainer|" "$pkgdir/control.in" >"$root/DEBIAN/control"
if [ -n "$built_using" ]; then
	# before the description
	sed -i "/^Description:/i Built-Using: $built_using" "$root/DEBIAN/control"
fi
printf '/etc/cron.d/zdt-cleanup\n/etc/zdt.conf\n' >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$pkgdir/$s" "$root/DEBIAN/$s"
done
# md5sums of every file but the conffiles (dpkg keeps theirs itself)
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' | sed 's|^\./||' | LC_ALL=C sort |
	xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$outdir"
deb=$outdir/zdt_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"

#!/bin/sh
# install-deps.sh [--if-missing] [--fuzz] [--lint] - install the Debian
# packages that building, testing, the demo and the bench of zdt need.  Run
# as root (or via sudo).
# --if-missing: do nothing when every package is already installed.
# --fuzz: clang too (make fuzz only; make check never needs it).
# --lint: cppcheck and clang-tidy too (make lint only).
set -eu

extra=""
if_missing=""
for a in "$@"; do
	case $a in
	--if-missing) if_missing=1 ;;
	--fuzz) extra="$extra clang" ;;
	--lint) extra="$extra cppcheck clang-tidy" ;;
	*) echo "install-deps: unknown option '$a'" >&2; exit 2 ;;
	esac
done

PKGS="build-essential pkg-config
libarchive-dev libxxhash-dev zlib1g-dev liblz4-dev libzstd-dev liblzma-dev
libbz2-dev libacl1-dev nettle-dev libxml2-dev libicu-dev libcmocka-dev
libarchive-tools xxhash attr acl strace mandoc python3 file
tar pigz rsync time hyperfine util-linux valgrind
shellcheck rpm lintian ansible-core systemd$extra"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	[ -n "$if_missing" ] || echo "install-deps: everything is installed"
	exit 0
fi
echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"

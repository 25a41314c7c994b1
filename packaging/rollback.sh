#!/bin/sh
# rollback.sh - roll a Remedy component back with zdt(1), from the
# component's installcompletionutility folder.
#
# usage: rollback.sh "<AR Server Name>" "<AR Admin User Name>" "<AR Admin password>" [AtriumCore]
#
# The installer's documented command line, kept as it is.  It runs
#
#   zdt [-b "$ZDT_BACKUP_DIR"] rollback --from COMPONENT --server SERVER --user USER
#
# which rolls back COMPONENT and every component it depends on that has a
# complete snapshot, top-down.  With the optional fourth argument (a
# component name or alias, any case) only COMPONENT itself is rolled back,
# whichever component the argument names (the installer's meaning of it):
#
#   zdt [-b "$ZDT_BACKUP_DIR"] rollback -c COMPONENT --server SERVER --user USER
#
# The password goes to zdt in the environment variable ZDT_AR_PASSWORD,
# which zdt reads and wipes; it is never an argument of another program.
# (It is in this script's own command line, because the installer's
# interface puts it there; the script replaces itself with zdt at once, and
# zdt's command line does not hold it.)
#
# COMPONENT, the component whose folder this is:
#   1. the first line of the file zdt-component next to this script that is
#      neither empty nor a # comment (written at install time): a component
#      name or alias, any case;
#   2. else the name of the folder above the one this script sits in (the
#      path it was started by, not resolved through symbolic links), in any
#      case, with blanks, '-' and '_' left out:
#        ar, arsystem                          -> AR
#        atriumcore, cmdb                      -> AtriumCore
#        atriumintegrator, atriumintegrator*, ai -> AtriumIntegrator
#      so .../ARSystem/installcompletionutility/rollback.sh rolls back AR,
#      .../AtriumCore/installcompletionutility/rollback.sh AtriumCore, and
#      ".../Atrium Integrator/installcompletionutility/rollback.sh"
#      AtriumIntegrator.  Any other name: exit 2, nothing done.
#
# Environment:
#   ZDT                  the zdt program (else zdt on PATH, else /usr/bin/zdt)
#   ZDT_BACKUP_DIR       passed on as -b; unset: zdt's configuration file
#                        (/etc/zdt.conf, or $ZDT_CONFIG) names the folder
#   ZDT_NO_SERVER_CHECK  1: pass --no-server-check (do not check that the
#                        AR System server answers before rolling back
#                        AtriumCore or AtriumIntegrator)
#
# Exit status: zdt's (0 done, 1 failed, 3 refused, 4 damaged snapshot,
# 5 no snapshot...); 2 usage error; 127 zdt not found.
set -u

me=rollback.sh

usage() {
	echo 'usage: rollback.sh "<AR Server Name>" "<AR Admin User Name>" "<AR Admin password>" [AtriumCore]'
}

usage_error() {
	echo "$me: $1" >&2
	usage >&2
	exit 2
}

# canon NAME: the canonical name of a component name or alias, any case
canon() {
	case $(printf '%s' "$1" | tr '[:upper:]' '[:lower:]') in
	ar | arsystem) echo AR ;;
	atriumcore | cmdb) echo AtriumCore ;;
	atriumintegrator | ai) echo AtriumIntegrator ;;
	esac
}

# folder_component NAME: the component of an install folder's name
folder_component() {
	case $(printf '%s' "$1" | tr -d ' \t_-' | tr '[:upper:]' '[:lower:]') in
	ar | arsystem) echo AR ;;
	atriumcore | cmdb) echo AtriumCore ;;
	atriumintegrator* | ai) echo AtriumIntegrator ;;
	esac
}

case ${1-} in
-h | --help)
	usage
	exit 0
	;;
esac
[ $# -eq 3 ] || [ $# -eq 4 ] || usage_error "expected 3 or 4 arguments, got $#"
[ -n "$1" ] || usage_error "the AR server name is empty"
[ -n "$2" ] || usage_error "the AR admin user name is empty"

server=$1
user=$2
ZDT_AR_PASSWORD=$3
export ZDT_AR_PASSWORD
only=
if [ $# -eq 4 ] && [ -n "$4" ]; then
	only=$(canon "$4")
	[ -n "$only" ] || usage_error "unknown component '$4' (valid: AR (arsystem), AtriumCore (cmdb), AtriumIntegrator (ai))"
fi
set --

here=$(cd -- "$(dirname -- "$0")" && pwd) || exit 2
comp=
if [ -f "$here/zdt-component" ]; then
	name=
	while IFS= read -r line || [ -n "$line" ]; do
		line=$(printf '%s' "$line" | tr -d ' \t\r')
		case $line in '' | '#'*) continue ;; esac
		name=$line
		break
	done <"$here/zdt-component"
	comp=$(canon "$name")
	if [ -z "$comp" ]; then
		echo "$me: '$here/zdt-component' names no component: '$name'" >&2
		echo "hint: write AR, AtriumCore or AtriumIntegrator in it" >&2
		exit 2
	fi
else
	parent=$(dirname -- "$here")
	comp=$(folder_component "$(basename -- "$parent")")
	if [ -z "$comp" ]; then
		echo "$me: cannot tell the component from the folder '$parent'" >&2
		echo "hint: run the copy in the component's installcompletionutility folder, or write the component's name (AR, AtriumCore, AtriumIntegrator) in '$here/zdt-component'" >&2
		exit 2
	fi
fi

if [ -n "${ZDT:-}" ]; then
	zdt=$ZDT
elif zdt=$(command -v zdt 2>/dev/null); then
	:
else
	zdt=/usr/bin/zdt
fi
if [ ! -x "$zdt" ]; then
	echo "$me: zdt not found: '$zdt'" >&2
	echo "hint: install zdt, or set ZDT to the program" >&2
	exit 127
fi

[ -z "${ZDT_BACKUP_DIR:-}" ] || set -- -b "$ZDT_BACKUP_DIR"
if [ -n "$only" ]; then
	[ "$only" = "$comp" ] ||
		echo "$me: note: the COMPONENT argument names $only; only $comp (the component of this folder) is rolled back" >&2
	set -- "$@" rollback -c "$comp"
else
	set -- "$@" rollback --from "$comp"
fi
set -- "$@" --server "$server" --user "$user"
[ "${ZDT_NO_SERVER_CHECK:-}" != 1 ] || set -- "$@" --no-server-check
exec "$zdt" "$@"

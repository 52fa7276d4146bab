#!/bin/sh
# deps.sh - make sure the Debian packages a target needs are installed.
#
#   build-aux/deps.sh check|demo|bench
#
# As root, installs what is missing with apt-get.  Otherwise prints the
# exact apt-get line and fails, so that a build never half-works.
set -eu

case "${1:-}" in
check)	pkgs="gcc make libc6-dev libbsd-dev libcmocka-dev bats attr libcap2-bin acl psmisc mandoc bindfs strace ansible-core" ;;
demo)	pkgs="gcc make libc6-dev libbsd-dev psmisc" ;;
bench)	pkgs="gcc make libc6-dev libbsd-dev psmisc lsof rsync xfsprogs btrfs-progs" ;;
*)	echo "usage: build-aux/deps.sh check|demo|bench" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "hotswap: missing build dependencies; run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi
echo "hotswap: installing missing build dependencies:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2

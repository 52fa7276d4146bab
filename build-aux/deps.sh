#!/bin/sh
# deps.sh - make sure the Debian packages a target needs are installed.
#
#   build-aux/deps.sh build|check|demo|bench|fuzz|format
#
# As root, installs what is missing with apt-get.  Otherwise prints one
# line, the missing packages and the exact apt-get command, and fails, so
# that a build never half-works or stops at a compiler error.
set -eu

build="gcc make libc6-dev libbsd-dev"
fuzz="clang libclang-rt-dev"
case "${1:-}" in
build)	pkgs="$build" ;;
check)	pkgs="$build $fuzz clang-format libcmocka-dev bats attr libcap2-bin acl psmisc mandoc bindfs strace ansible-core libfuse3-dev fuse3 eatmydata" ;;
demo)	pkgs="$build psmisc libfuse3-dev fuse3" ;;
bench)	pkgs="$build psmisc lsof rsync xfsprogs btrfs-progs" ;;
fuzz)	pkgs="$build $fuzz" ;;
format)	pkgs="clang-format" ;;
*)	echo "usage: build-aux/deps.sh build|check|demo|bench|fuzz|format" >&2
	exit 2 ;;
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
	echo "hotswap: missing Debian packages:$missing; as root run: apt-get install$missing" >&2
	exit 1
fi
echo "hotswap: installing missing build dependencies:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2

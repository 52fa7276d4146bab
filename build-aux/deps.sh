#!/bin/sh
# deps.sh - make sure the Debian packages a target needs are installed.
#
#   build-aux/deps.sh build|check|demo|bench|fuzz|format
#
# As root, installs what is missing with apt-get.  Otherwise prints one
# line, the missing packages and the exact apt-get command, and fails, so
# that a build never half-works or stops at a compiler error.
set -eu

# Each set is built from lines of its own, one per concern, so that
# work on one concern changes one line.
build="gcc make libc6-dev libbsd-dev"
# (the commit's batches by io_uring: src/sys/ring.c)
build_ring="liburing-dev"
# (the tree deploy's build dependencies)
build_tree=""
fuzz="clang libclang-rt-dev"
check_base="clang-format libcmocka-dev bats attr libcap2-bin acl psmisc mandoc bindfs strace ansible-core libfuse3-dev fuse3 eatmydata"
# (install(1) compatibility: the real build tools its tests run)
check_install="autoconf automake libtool binutils"
# (the restart layer: stale classes, restart, packaging)
check_stale=""
# (the restart layer's systemd)
check_restart="systemd jq"
# (the Debian package)
check_deb="dpkg-dev debhelper fakeroot lintian"
# (the block-level power cut: mkfs.ext4, losetup)
check_block="e2fsprogs util-linux"
bench_base="psmisc lsof rsync xfsprogs btrfs-progs"
# (the tree deploy's benchmark)
bench_tree="time strace"
# (the restart layer's benchmark)
bench_stale="needrestart debian-goodies"
build="$build $build_tree $build_ring"
case "${1:-}" in
build)	pkgs="$build" ;;
check)	pkgs="$build $fuzz $check_base $check_install $check_stale $check_restart $check_deb $check_block" ;;
demo)	pkgs="$build psmisc libfuse3-dev fuse3" ;;
bench)	pkgs="$build $bench_base $bench_tree $bench_stale" ;;
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

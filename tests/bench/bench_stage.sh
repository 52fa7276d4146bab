#!/usr/bin/env bash
# bench_stage.sh - a staging bench program (issue 18) run on a tmpfs, a
# fresh ext4 image on a loop device and the filesystem the tree is on
# ("here"), warm: tests/bench/stage_threads.c (one thread and two),
# tests/bench/stage_uring.c (plain calls and io_uring batches) or
# tests/bench/free_held.c (unlinks with and without a descriptor held).
# A benchmark, never a test: it prints, it does not judge.
#
#   tests/bench/bench_stage.sh PROGRAM [-r runs] [-n "counts"]
#                              [-p "per-dir"] [-f "filesystems"]
#                              [-o "program options"]
#
# -r runs of each way, alternated (default 11); -n the file counts
# (default "1000 10000"); -p files a directory (default "100 all": 100,
# and every file in one directory, where the ways share its lock);
# -f (default "tmpfs ext4 here"); -o more options for PROGRAM (e.g.
# stage_uring's "-b 64").  Needs root (mount, losetup).  Every mount and
# loop device is undone on exit, also on failure or interrupt.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
prog=${1:-}
runs=11 counts="1000 10000" perdirs="100 all" fss="tmpfs ext4 here" opts=""

usage() {
	echo "usage: bench_stage.sh PROGRAM [-r runs] [-n counts]" \
	    "[-p per-dir] [-f filesystems] [-o options]" >&2
	exit 2
}
[ -n "$prog" ] || usage
shift
while getopts r:n:p:f:o: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	n) counts=$OPTARG ;;
	p) perdirs=$OPTARG ;;
	f) fss=$OPTARG ;;
	o) opts=$OPTARG ;;
	*) usage ;;
	esac
done
[ "$(id -u)" -eq 0 ] ||
    { echo "bench_stage: needs root (mount, losetup)" >&2; exit 1; }
[ -x "$prog" ] || { echo "bench_stage: no $prog" >&2; exit 1; }

mkdir -p "$top/build"
dir=$(mktemp -d "$top/build/bench-stage.XXXXXX")
mnt="" loop=""
cleanup() {
	cd /
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		umount "$mnt" || umount -l "$mnt" ||
		    echo "bench_stage: could not unmount $mnt" >&2
	fi
	if [ -n "$loop" ]; then
		losetup -d "$loop" ||
		    echo "bench_stage: could not detach $loop" >&2
	fi
	rm -rf --one-file-system "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# $(nproc) CPUs, $(uname -r), $(date -u +%FT%TZ)"
for fs in $fss; do
	mnt=$dir/mnt
	mkdir -p "$mnt"
	case $fs in
	here) ;;
	tmpfs) mount -t tmpfs -o size=4g tmpfs "$mnt" ;;
	ext4)
		truncate -s 8G "$dir/ext4.img"
		mkfs.ext4 -q -F "$dir/ext4.img"
		loop=$(losetup -f --show "$dir/ext4.img")
		mount "$loop" "$mnt"
		;;
	*) echo "bench_stage: unknown filesystem $fs" >&2; exit 2 ;;
	esac
	for n in $counts; do
		for p in $perdirs; do
			[ "$p" = all ] && p=$n
			echo "## $fs"
			mkdir "$mnt/t"
			# shellcheck disable=SC2086 # opts: words for the program
			"$prog" -n "$n" -p "$p" -r "$runs" $opts "$mnt/t"
			rm -rf "$mnt/t"
		done
	done
	if [ "$fs" != here ]; then
		umount "$mnt"
	fi
	if [ -n "$loop" ]; then
		losetup -d "$loop"
		loop=""
		rm -f "$dir/ext4.img"
	fi
	rm -rf "$mnt"
	mnt=""
done

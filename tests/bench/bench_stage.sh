#!/usr/bin/env bash
# bench_threads.sh - staging on one thread and on two (issue 18), by
# tests/bench/stage_threads.c, on a tmpfs, a fresh ext4 image on a loop
# device and the filesystem the tree is on ("here"), warm.  A benchmark,
# never a test: it prints, it does not judge.
#
#   tests/bench/bench_threads.sh [-r runs] [-n "counts"] [-p "per-dir"]
#                                [-f "filesystems"]
#
# -r runs of each way, alternated (default 11); -n the file counts
# (default "1000 10000"); -p files a directory (default "100 all": 100,
# and every file in one directory, where two threads share its lock);
# -f (default "tmpfs ext4 here").  Needs root (mount, losetup).  Every
# mount and loop device is undone on exit, also on failure or interrupt.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
prog=${STAGE_THREADS:-$top/build/rel/stage_threads}
runs=11 counts="1000 10000" perdirs="100 all" fss="tmpfs ext4 here"

usage() {
	echo "usage: bench_threads.sh [-r runs] [-n counts] [-p per-dir]" \
	    "[-f filesystems]" >&2
	exit 2
}
while getopts r:n:p:f: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	n) counts=$OPTARG ;;
	p) perdirs=$OPTARG ;;
	f) fss=$OPTARG ;;
	*) usage ;;
	esac
done
[ "$(id -u)" -eq 0 ] ||
    { echo "bench_threads: needs root (mount, losetup)" >&2; exit 1; }
[ -x "$prog" ] || { echo "bench_threads: no $prog" >&2; exit 1; }

mkdir -p "$top/build"
dir=$(mktemp -d "$top/build/bench-threads.XXXXXX")
mnt="" loop=""
cleanup() {
	cd /
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		umount "$mnt" || umount -l "$mnt" ||
		    echo "bench_threads: could not unmount $mnt" >&2
	fi
	if [ -n "$loop" ]; then
		losetup -d "$loop" ||
		    echo "bench_threads: could not detach $loop" >&2
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
	*) echo "bench_threads: unknown filesystem $fs" >&2; exit 2 ;;
	esac
	for n in $counts; do
		for p in $perdirs; do
			[ "$p" = all ] && p=$n
			echo "## $fs"
			mkdir "$mnt/t"
			"$prog" -n "$n" -p "$p" -r "$runs" "$mnt/t"
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

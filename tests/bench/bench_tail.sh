#!/usr/bin/env bash
# bench_tail.sh - where the time of `hotswap install -r` goes, by phase:
# staging, the barrier (journal fsyncs and syncfs), C, the renames, the
# removal of the old links, the directory fsyncs and the journal's
# removal.  A benchmark, never a test: it prints, it does not judge.
#
#   tests/bench/bench_tail.sh [-r runs] [-n "counts"] [-f "filesystems"]
#                             [-c "caches"]
#
# -f: "ext4" (a fresh 8 GiB ext4 image on a loop device), "ext4-discard"
# (the same, mounted -o discard), "xfs", and "here" (the filesystem the
# tree is on; this machine's root ext4 is mounted with discard).  -n the
# tree sizes (default "1000 10000"), files of 10 KiB in directories of
# 100.  -c "warm" (the default: the source and the old tree are in the
# page cache, as a tree just built is), "cold" (the page cache, dentries
# and inodes dropped before each run), or both.
#
# For each: -r runs (default 5) of hotswap alone, timed (wall, and CPU
# from GNU time), then one run under strace -f -T -tt, cut into phases
# by the calls that open them (the first fsync or syncfs after staging's
# last linkat opens the barrier, the first rename the renames, the
# first unlinkat after the renames the removal of the old links, the
# first fsync after the renames the directory syncs, the journal's
# unlinkat its removal).  Each phase's wall time under strace, its share
# of the traced run, its time a file, and the two system calls it spent
# most time in.
# strace slows the calls it sees, not the kernel's waits: read the
# shares, not the absolute figures, and the untraced median beside them.
# HOTSWAP_ALT: a second build, timed alternately with the first.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/bench/bench_common.sh"
HOTSWAP=${HOTSWAP:-$top/hotswap}
HOTSWAP_ALT=${HOTSWAP_ALT:-}
runs=5 counts="1000 10000" fss="ext4 ext4-discard here" caches=warm
while getopts r:n:f:c: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	n) counts=$OPTARG ;;
	f) fss=$OPTARG ;;
	c) caches=$OPTARG ;;
	*) echo "usage: bench_tail.sh [-r runs] [-n counts] [-f fss]" \
	       "[-c caches]" >&2
	   exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench_tail: needs root" >&2; exit 1; }
[ -x "$HOTSWAP" ] || { echo "bench_tail: no $HOTSWAP: run make" >&2; exit 1; }

mkdir -p "$top/build"
dir=$(mktemp -d "$top/build/bench-tail.XXXXXX")
mnt="" loop=""
cleanup() {
	cd /
	[ -n "$mnt" ] && mountpoint -q "$mnt" && { umount "$mnt" ||
	    umount -l "$mnt" || echo "bench_tail: cannot unmount $mnt" >&2; }
	[ -n "$loop" ] && { losetup -d "$loop" ||
	    echo "bench_tail: cannot detach $loop" >&2; }
	rm -rf --one-file-system "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fs_up() {
	mnt=$dir/mnt
	mkdir -p "$mnt"
	[ "$1" = here ] && return 0
	truncate -s 8G "$dir/img"
	case $1 in
	ext4*) mkfs.ext4 -q -F "$dir/img" ;;
	xfs) mkfs.xfs -q -f "$dir/img" ;;
	esac
	loop=$(losetup -f --show "$dir/img")
	case $1 in
	ext4-discard) mount -o discard "$loop" "$mnt" ;;
	*) mount "$loop" "$mnt" ;;
	esac
}

fs_down() {
	[ "$1" = here ] && { rm -rf "$mnt"; mnt=""; return 0; }
	umount "$mnt"
	mnt=""
	losetup -d "$loop"
	loop=""
	rm -f "$dir/img"
}

# timed BIN: "wall_ms cpu_ms" of one run.
timed() {
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$dir/cpu" "$1" install -r SRC DST
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / 1000000))" \
	    "$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$dir/cpu")"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# phases TRACE FILES: the table of one strace -f -T -tt run.
phases() {
	awk -v files="$2" '
	function ts(s,  a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	{ t = ts($2); c = $3; sub(/\(.*/, "", c); n++; T[n] = t; C[n] = c
	  L[n] = $0; d = $NF; gsub(/[<>]/, "", d); D[n] = d + 0
	  if (c == "linkat" && !fr) lastlink = n
	  if (c == "renameat" || c == "renameat2") { if (!fr) fr = n; lr = n }
	  if (c == "unlinkat" && $0 ~ /hotswap-journal/) jr = n }
	END {
	  for (i = lastlink + 1; i <= n; i++) if (C[i] ~ /^(fsync|syncfs)/) { bar = i; break }
	  for (i = lr + 1; i <= n; i++) if (C[i] == "unlinkat") { ul = i; break }
	  for (i = lr + 1; i <= n; i++) if (C[i] == "fsync") { fs = i; break }
	  name[1] = "staging"; s[1] = 1
	  name[2] = "barrier+C"; s[2] = bar
	  name[3] = "renames"; s[3] = fr
	  k = 3
	  if (ul && (!fs || ul < fs)) { name[++k] = "unlink old"; s[k] = ul }
	  if (fs) { name[++k] = "dir fsyncs"; s[k] = fs }
	  if (ul && fs && ul > fs) { name[++k] = "unlink old"; s[k] = ul }
	  if (jr) { name[++k] = "journal rm"; s[k] = jr }
	  name[++k] = "rest (hint)"; s[k] = (jr ? jr + 1 : n)
	  for (i = jr + 1; i <= n && jr; i++) if (C[i] == "fsync") s[k] = i + 1
	  s[k + 1] = n; total = T[n] - T[1]
	  for (p = 1; p <= k; p++) {
	    delete sum; ms = (T[s[p + 1]] - T[s[p]]) * 1000
	    for (i = s[p]; i < s[p + 1]; i++) sum[C[i]] += D[i]
	    b1 = b2 = ""; v1 = v2 = -1
	    for (c in sum) if (sum[c] > v1) { b2 = b1; v2 = v1; b1 = c; v1 = sum[c] }
	      else if (sum[c] > v2) { b2 = c; v2 = sum[c] }
	    printf "    %-12s %8.1f %5.1f%% %7.1f us/file  %s %.1f ms", name[p],
	      ms, 100 * ms / (total * 1000), 1000 * ms / files, b1, v1 * 1000
	    if (b2 != "") printf ", %s %.1f ms", b2, v2 * 1000
	    printf "\n"
	  }
	  printf "    %-12s %8.1f\n", "traced total", total * 1000 }' "$1"
}

# measure FS FILES CACHE: the timed runs and the traced one, printed.
measure() {
	local a="" b="" ac="" bc="" ms cpu i bin
	for ((i = 0; i < runs; i++)); do
		reset_tree "$3"
		read -r ms cpu < <(timed "$HOTSWAP")
		a+="$ms " ac+="$cpu "
		if [ -n "$HOTSWAP_ALT" ]; then
			reset_tree "$3"
			read -r ms cpu < <(timed "$HOTSWAP_ALT")
			b+="$ms " bc+="$cpu "
		fi
	done
	printf '\n%s, %s files x 10 KiB, %s, %s runs (load %s)\n' \
	    "$1" "$2" "$3" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  hotswap      wall %s ms (median; runs: %s) cpu %s ms\n' \
	    "$(printf '%s\n' $a | median)" "$a" "$(printf '%s\n' $ac | median)"
	[ -n "$HOTSWAP_ALT" ] &&
	    printf '  hotswap-alt  wall %s ms (median; runs: %s) cpu %s ms\n' \
	    "$(printf '%s\n' $b | median)" "$b" "$(printf '%s\n' $bc | median)"
	for bin in "$HOTSWAP" $HOTSWAP_ALT; do
		reset_tree "$3"
		strace -f -qq -T -tt -o "$dir/trace" "$bin" install -r SRC DST
		echo "  phases under strace ($bin):"
		phases "$dir/trace" "$2"
	done
}

echo "bench_tail: $(nproc) CPUs, $(uname -sr); here: $(findmnt -n -o FSTYPE,OPTIONS -T "$dir")"
for fs in $fss; do
	fs_up "$fs"
	cd "$mnt"
	for n in $counts; do
		rm -rf SRC DST
		make_tree SRC "$n"
		for cache in $caches; do
			measure "$fs" "$n" "$cache"
		done
	done
	rm -rf SRC DST
	cd "$dir"
	fs_down "$fs"
done

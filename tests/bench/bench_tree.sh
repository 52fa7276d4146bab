#!/usr/bin/env bash
# bench_tree.sh - what hotswap install -r costs next to the tools a tree
# is deployed with, side by side in one run: cp -r over the tree, the
# durable floor of any rename-based tool (cp -r SRC NEWDIR && sync -f),
# GNU install -t, rsync -a --fsync, and hotswap install -r; and one big
# file over an old one, cp SRC NEW && sync -f (and then mv NEW DEST)
# against hotswap install, with and without --free-later.  A benchmark,
# never a test: it prints, it does not judge.
#
#   tests/bench/bench_tree.sh [-r runs] [-R runs] [-n "counts"] [-s KiB]
#                             [-b MiB] [-f "filesystems"] [-c "caches"]
#
# -r runs of each command (default 5), alternated: run 1 of every row,
# then run 2 of every row, so that a change of load hits them all alike;
# the median and the minimum are printed; a tree of 100,000 files or
# more is run once a row (-R to change that: a run of it takes about ten
# times one of 10,000 files).  -n the tree sizes (default "1000 10000
# 100000": about four hours on every filesystem, most of it the largest
# trees; -n "1000 10000" for about an hour), files of -s KiB (default
# 10) in directories of 100.  -b the big file
# (default 1024 MiB; 0: none).  -f the filesystems (default "tmpfs ext4
# xfs btrfs here"): a tmpfs, fresh ext4, XFS and btrfs images of 8 GiB
# on loop devices (sparse files under the tree's build/), and "here",
# the filesystem the tree itself is on.  -c "warm cold" (default both):
# warm, the source and the old tree are in the page cache, as a tree that
# was just built is; cold, the page cache is dropped before each run.
#
# Before each timed run, untimed: DEST is made anew as a copy of SRC
# (new mtimes, so rsync copies every file), NEWDIR removed, everything
# written back (sync), and for cold the cache dropped.  DEST exists, on
# the same filesystem as SRC, no -b: the common path.  Time is wall
# clock around the command (fork and exec included); peak memory the
# largest resident set of the command's processes (GNU time's %M);
# system calls per file from one more run under strace -f -c, divided by
# the number of files; CPU time (user + system, GNU time's %U + %S, 10 ms
# granularity), less sensitive than wall time to a loaded machine.
# hotswap runs as a user would run it (its hint that scans the processes
# included).  The load average is printed with every table: on a shared
# machine, read the figures with it.
#
# Needs root (mount, losetup, drop_caches), and Debian rsync, xfsprogs,
# btrfs-progs, strace and time (build-aux/deps.sh bench).  Everything
# mounted is unmounted and every loop device detached on exit, also on
# failure or interrupt.  Environment: HOTSWAP (default ./hotswap, the
# release build); HOTSWAP_ALT, a second build to compare, as one more
# row "hotswap-alt"; HOTSWAP_ALT_ARGS, options of install -r for that row
# (HOTSWAP_ALT defaults to HOTSWAP when they are given: the same build
# another way, e.g. HOTSWAP_ALT_ARGS=--io=plain).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/bench/bench_common.sh"
HOTSWAP=${HOTSWAP:-$top/hotswap}
HOTSWAP_ALT_ARGS=${HOTSWAP_ALT_ARGS:-}
HOTSWAP_ALT=${HOTSWAP_ALT:-${HOTSWAP_ALT_ARGS:+$HOTSWAP}}
runs=5 big_runs=1 counts="1000 10000 100000" kib=10 mib=1024
fss="tmpfs ext4 xfs btrfs here" caches="warm cold"

usage() {
	echo "usage: bench_tree.sh [-r runs] [-R runs] [-n counts] [-s KiB]" \
	    "[-b MiB] [-f filesystems] [-c caches]" >&2
	exit 2
}
while getopts r:R:n:s:b:f:c: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	R) big_runs=$OPTARG ;;
	n) counts=$OPTARG ;;
	s) kib=$OPTARG ;;
	b) mib=$OPTARG ;;
	f) fss=$OPTARG ;;
	c) caches=$OPTARG ;;
	*) usage ;;
	esac
done
[ "$(id -u)" -eq 0 ] ||
    { echo "bench_tree: needs root (mount, losetup, drop_caches)" >&2; exit 1; }
[ -x "$HOTSWAP" ] || { echo "bench_tree: no $HOTSWAP: run make" >&2; exit 1; }
for c in rsync install cp strace /usr/bin/time mkfs.xfs mkfs.btrfs; do
	command -v "$c" >/dev/null ||
	    { echo "bench_tree: $c missing: build-aux/deps.sh bench" >&2; exit 1; }
done

mkdir -p "$top/build"
dir=$(mktemp -d "$top/build/bench-tree.XXXXXX")
mounts=() loops=()
cleanup() {
	local i
	cd /
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" 2>/dev/null ||
		    umount -l "${mounts[i]}" 2>/dev/null ||
		    echo "bench_tree: could not unmount ${mounts[i]}" >&2
	done
	for i in "${loops[@]}"; do
		losetup -d "$i" 2>/dev/null ||
		    echo "bench_tree: could not detach $i" >&2
	done
	rm -rf --one-file-system "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fs_up FS: make and mount FS; its mount point in $mnt.
fs_up() {
	local loop
	mnt=$dir/mnt-$1
	mkdir -p "$mnt"
	case $1 in
	here) return 0 ;;
	tmpfs) mount -t tmpfs -o size=8g tmpfs "$mnt" ;;
	ext4 | xfs | btrfs)
		truncate -s 8G "$dir/$1.img"
		case $1 in
		ext4) mkfs.ext4 -q -F "$dir/$1.img" ;;
		xfs) mkfs.xfs -q -f "$dir/$1.img" ;;
		btrfs) mkfs.btrfs -q -f "$dir/$1.img" >/dev/null ;;
		esac
		loop=$(losetup -f --show "$dir/$1.img")
		loops+=("$loop")
		mount "$loop" "$mnt"
		;;
	*) echo "bench_tree: unknown filesystem $1" >&2; exit 2 ;;
	esac
	mounts+=("$mnt")
}

fs_down() {
	local loop
	[ "$1" = here ] && { rm -rf "$mnt"; return 0; }
	umount "$mnt"
	unset 'mounts[${#mounts[@]}-1]'
	if [ "$1" != tmpfs ]; then
		loop=${loops[${#loops[@]}-1]}
		losetup -d "$loop"
		unset 'loops[${#loops[@]}-1]'
		rm -f "$dir/$1.img"
	fi
}

# The rows: name and command (run by bash, in $mnt, SRC and DST there).
rows=(cp floor install rsync hotswap)
cmd_of() {
	case $1 in
	cp) echo 'cp -r SRC/. DST/' ;;
	floor) echo 'cp -r SRC NEW && sync -f NEW' ;;
	install) echo 'for d in SRC/*/; do b=${d%/}; install -t "DST/${b##*/}" "$d"*; done' ;;
	rsync) echo 'rsync -a --fsync SRC/ DST/' ;;
	hotswap) echo "$HOTSWAP install -r SRC DST" ;;
	hotswap-alt) echo "$HOTSWAP_ALT install -r $HOTSWAP_ALT_ARGS SRC DST" ;;
	esac
}
[ -n "$HOTSWAP_ALT" ] && rows+=(hotswap-alt)

# timed CMD: "MS KIB CPUMS" of one run: wall clock, peak memory, CPU.
timed() {
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f '%M %U %S' -o "$dir/mem" bash -c "$1" >/dev/null
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / 1000000))" \
	    "$(tail -1 "$dir/mem" | awk '{ printf "%d %d", $1, ($2 + $3) * 1000 }')"
}

# calls CMD: system calls of one run, by strace -f -c.
calls() {
	strace -f -qq -c -o "$dir/calls" bash -c "$1" >/dev/null
	awk '$NF == "total" { print $4 }' "$dir/calls"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# table FS N CACHE: every row, alternated, $runs times ($big_runs for a
# tree of 100,000 files or more).
table() {
	local fs=$1 n=$2 cache=$3 r row i ms kb cpu floor cp runs=$runs
	declare -A t mem sc cpus
	[ "$n" -ge 100000 ] && runs=$big_runs
	for ((i = 0; i < runs; i++)); do
		for row in "${rows[@]}"; do
			reset_tree "$cache"
			read -r ms kb cpu < <(timed "$(cmd_of "$row")")
			t[$row]+="$ms "
			cpus[$row]+="$cpu "
			mem[$row]=$kb
		done
	done
	if [ "$cache" = warm ]; then
		for row in "${rows[@]}"; do
			reset_tree warm
			sc[$row]=$(calls "$(cmd_of "$row")")
		done
	fi
	printf '\n%s, %s files x %s KiB, %s cache, %s runs (load %s)\n' \
	    "$fs" "$n" "$kib" "$cache" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  %-12s %9s %9s %9s %7s %7s %7s %10s %9s\n' row median_ms \
	    min_ms us/file x_cp x_floor cpu_ms calls/file peak_KiB
	cp=$(printf '%s\n' ${t[cp]} | median)
	floor=$(printf '%s\n' ${t[floor]} | median)
	for row in "${rows[@]}"; do
		ms=$(printf '%s\n' ${t[$row]} | median)
		printf '  %-12s %9s %9s %9s %7s %7s %7s %10s %9s\n' "$row" "$ms" \
		    "$(printf '%s\n' ${t[$row]} | sort -n | head -1)" \
		    "$(awk -v m="$ms" -v n="$n" 'BEGIN { printf "%.1f", m * 1000 / n }')" \
		    "$(awk -v a="$ms" -v b="$cp" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" \
		    "$(awk -v a="$ms" -v b="$floor" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" \
		    "$(printf '%s\n' ${cpus[$row]} | median)" \
		    "$(awk -v c="${sc[$row]:-}" -v n="$n" 'BEGIN { if (c == "") print "-"; else printf "%.1f", c / n }')" \
		    "${mem[$row]}"
	done
}

# big FS CACHE: one file of $mib MiB over an old one of the same size:
# cp+sync into a new name (the issue's floor: it frees nothing), the same
# then renamed over DST (a replacement: the rename frees the old file),
# hotswap install, and hotswap install --free-later (whose process frees
# the old file after the command: waited for before the next run, and
# its CPU time not in the command's, which counts waited children only).
big() {
	local cache=$2 i j k ms kb c
	local -a cmds=('cp SRC/big NEW && sync -f NEW'
	    'cp SRC/big NEW && sync -f NEW && mv NEW DST/big'
	    "$HOTSWAP install SRC/big DST/big"
	    "$HOTSWAP install --free-later SRC/big DST/big")
	local -a names=('cp SRC NEW && sync -f' '... && mv NEW DST'
	    'hotswap install' 'hotswap --free-later')
	local -a res=("" "" "" "") cpu=("" "" "" "")
	for ((i = 0; i < runs; i++)); do
		# Each run starts at the next row: what the row before leaves
		# (a GiB just freed, its pages handed back to a VM's host) hits
		# every row alike.
		for k in 0 1 2 3; do
			j=$(((i + k) % 4))
			rm -f NEW DST/big
			cp SRC/big DST/big
			while pgrep -x -r D,R,S,T hotswap-free >/dev/null; do
				sleep 0.05
			done
			sync
			[ "$cache" = cold ] && echo 3 >/proc/sys/vm/drop_caches
			read -r ms kb c < <(timed "${cmds[j]}")
			res[j]+="$ms "
			cpu[j]+="$c "
		done
	done
	printf '\n%s, one %s MiB file, %s cache, %s runs (load %s)\n' "$1" \
	    "$mib" "$cache" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
	local base
	base=$(printf '%s\n' ${res[0]} | median)
	for j in 0 1 2 3; do
		ms=$(printf '%s\n' ${res[j]} | median)
		printf '  %-22s %9s ms  (x %s)  min %s ms  CPU %s ms\n' \
		    "${names[j]}" "$ms" \
		    "$(awk -v a="$ms" -v b="$base" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" \
		    "$(printf '%s\n' ${res[j]} | sort -n | head -1)" \
		    "$(printf '%s\n' ${cpu[j]} | median)"
	done
	rm -f NEW
}

echo "bench_tree: $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)," \
    "$(uname -sr), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "here: $(findmnt -n -o FSTYPE,OPTIONS -T "$dir")"
for fs in $fss; do
	fs_up "$fs"
	cd "$mnt"
	for n in $counts; do
		rm -rf SRC DST NEW
		make_tree SRC "$n"
		for cache in $caches; do
			table "$fs" "$n" "$cache"
		done
	done
	rm -rf SRC DST NEW
	if [ "$mib" -gt 0 ]; then
		mkdir SRC DST
		head -c $((mib << 20)) /dev/urandom >SRC/big
		for cache in $caches; do
			big "$fs" "$cache"
		done
		rm -rf SRC DST NEW
	fi
	cd "$dir"
	fs_down "$fs"
done

#!/usr/bin/env bash
# bench_txn.sh - what a durable many-file install costs: hotswap install
# -r next to cp -r, GNU install, rsync --fsync and a sequential
# temp+fsync+rename loop; one 1 GiB file; reflink copies on XFS and btrfs
# images; and the durability barrier of a transaction (fsync each file,
# or one syncfs).  A benchmark, never a test.
#
#   tests/bench/bench_txn.sh [-K] [-r runs] [-R big-runs] [-n files]
#                            [-s KiB] [-b MiB] [-d dir]
#
# -r runs of the small-file commands (default 5), -R of the big-file ones
# (default 3), -n files (default 1000) of -s KiB (default 10) in 10
# directories, -b the big file (default 1024 MiB), -d where the test
# directory is made (default TMPDIR or /tmp).  The commands of a table
# run round-robin, so that a change of load hits them all alike.  Before
# every timed run the destination is reset (untimed), everything dirty is
# written back (sync) and, as root without -K, the page cache is dropped
# (echo 3 >/proc/sys/vm/drop_caches): every command reads its source from
# the disk and starts with no writeback pending.  Times are bash's time
# keyword around the command, fork and exec included; medians are
# printed, with the minimum and the CPU time (user + system).
#
# The sequential loop is tests/bench/seqinstall.c (built by make
# bench-txn as build/rel/seqinstall): per file mkstemp in the destination
# directory, copy_file_range, fchmod, fsync, rename, fsync of the
# directory; no fork per file.  The barrier variants are ./hotswap built
# again with txn.c's FEW_FILES set to 0 (one syncfs for any count, no
# file's writeback started before it) and to 1000000 (fsync each file,
# its writeback started as it is staged).
#
# The reflink tables need root, mkfs.xfs and mkfs.btrfs (Debian xfsprogs,
# btrfs-progs): a 3 GiB sparse image per filesystem on a loop device,
# unmounted and detached on exit, also on failure or interrupt.
#
# Environment: HOTSWAP (default ./hotswap, the release build), SEQINSTALL
# (default build/rel/seqinstall), CC.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/bench/bench_common.sh"
HOTSWAP=${HOTSWAP:-$top/hotswap}
SEQINSTALL=${SEQINSTALL:-$top/build/rel/seqinstall}
runs=5 bigruns=3 files=1000 kib=10 mib=1024 drop=1 base=${TMPDIR:-/tmp}

usage() {
	echo "usage: bench_txn.sh [-K] [-r runs] [-R big-runs] [-n files]" \
	    "[-s KiB] [-b MiB] [-d dir]" >&2
	exit 2
}
while getopts Kr:R:n:s:b:d: opt; do
	case $opt in
	K) drop=0 ;;
	r) runs=$OPTARG ;;
	R) bigruns=$OPTARG ;;
	n) files=$OPTARG ;;
	s) kib=$OPTARG ;;
	b) mib=$OPTARG ;;
	d) base=$OPTARG ;;
	*) usage ;;
	esac
done
[ "$(id -u)" -eq 0 ] || drop=0
for f in "$HOTSWAP" "$SEQINSTALL"; do
	[ -x "$f" ] || { echo "bench_txn: no $f: run make bench-txn" >&2; exit 1; }
done
for c in rsync install cp; do
	command -v "$c" >/dev/null ||
	    { echo "bench_txn: $c missing: build-aux/deps.sh bench" >&2; exit 1; }
done

dir=$(mktemp -d "$base/hs-bench-txn.XXXXXX")
mounts=() loops=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" 2>/dev/null ||
		    umount -l "${mounts[i]}" 2>/dev/null ||
		    echo "bench_txn: could not unmount ${mounts[i]}" >&2
	done
	for i in "${loops[@]}"; do
		losetup -d "$i" 2>/dev/null ||
		    echo "bench_txn: could not detach $i" >&2
	done
	rm -rf --one-file-system "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# settle: write back everything, drop the page cache if we may.
settle() {
	sync
	if [ "$drop" -eq 1 ]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

# ./hotswap again, with FEW_FILES (src/txn/txn.c) set to $1, as $2; the
# library's and the command line's folders are copied flat (no two files
# in them share a name).
build_variant() {
	local src=$dir/src-$1
	mkdir -p "$src"
	cp "$top"/src/{sys,kern,scan,install,txn,cli}/*.[ch] "$src/"
	sed -i "s/^#define FEW_FILES[[:space:]].*/#define FEW_FILES $1/" \
	    "$src/txn.c"
	grep -q "^#define FEW_FILES $1\$" "$src/txn.c" ||
	    { echo "bench_txn: no FEW_FILES in src/txn/txn.c" >&2; exit 1; }
	"${CC:-cc}" -D_GNU_SOURCE -I"$top/include" -I"$src" -std=gnu11 -O2 \
	    -o "$2" "$src"/*.c -lbsd -luring -ldl
}
build_variant 0 "$dir/hotswap-syncfs"
build_variant 1000000 "$dir/hotswap-fsync"

# make_tree DIR: $files files of $kib KiB, random, in 10 directories.
make_tree() {
	local d per=$(( (files + 9) / 10 ))
	for ((d = 0; d < 10; d++)); do
		mkdir -p "$1/d$d"
		head -c $(( per * kib * 1024 )) /dev/urandom |
		    (cd "$1/d$d" && split -b "${kib}K" -a 4 -d - f)
	done
}

# TIMES: one line "wall user sys" (seconds) per run, in $dir/t.TABLE.N
# (TIMEFORMAT: bench_common.sh).

# bench TABLE RUNS PREP VERIFY LABEL... : run each command (the function
# cmd_TABLE N) RUNS times round-robin, PREP before each, VERIFY after
# each one's first run.
bench() {
	local table=$1 n=$2 prep=$3 verify=$4 r i st
	shift 4
	for ((r = 0; r < n; r++)); do
		for ((i = 0; i < $#; i++)); do
			"$prep" "$i"
			settle
			st=0
			{ time "cmd_$table" "$i" >/dev/null 2>&1; } \
			    2>>"$dir/t.$table.$i" || st=$?
			if [ "$st" -ne 0 ]; then
				echo "bench_txn: '${*:i+1:1}' failed ($st)" >&2
				exit 1
			fi
			if [ "$r" -eq 0 ] && ! "$verify" "$i"; then
				echo "bench_txn: '${*:i+1:1}' copied wrong" >&2
				exit 1
			fi
		done
	done
}

# table TABLE BASE TITLE LABEL...: the table, ratios to command BASE.
table() {
	local t=$1 b=$2 title=$3 i bm
	shift 3
	bm=$(median 1 "$dir/t.$t.$b")
	printf '%-38s %9s %9s %9s %7s\n' "$title" "wall ms" "min ms" \
	    "cpu ms" "x base"
	for ((i = 0; i < $#; i++)); do
		awk -v l="${@:i+1:1}" -v med="$(median 1 "$dir/t.$t.$i")" \
		    -v min="$(minimum "$dir/t.$t.$i")" \
		    -v cpu="$(median 0 "$dir/t.$t.$i")" -v b="$bm" \
		    'BEGIN { printf "%-38s %9.1f %9.1f %9.1f %7.2f\n",
		    l, med, min, cpu, med / b }'
	done
	echo
}

# ratio TABLE A B: median of A / median of B.
ratio() {
	awk -v a="$(median 1 "$dir/t.$1.$2")" \
	    -v b="$(median 1 "$dir/t.$1.$3")" 'BEGIN { printf "%.2f", a / b }'
}

# target TEXT VALUE OP LIMIT: one line, met or missed.
target() {
	local ok
	ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN {
	    print (op == "<=" ? v <= l : v >= l) ? "met" : "MISSED" }')
	printf 'target: %-58s %6s  %s\n' "$1" "$2" "$ok"
}

# --- 1: many small files -------------------------------------------------

S=$dir/small
make_tree "$S/new"
make_tree "$S/old"
# The old version is older: rsync's quick check (size and mtime) must
# not skip a file of the same size.
find "$S/old" -exec touch -h -d @946684800 {} +
small_labels=(
	"cp -r (no fsync)"
	"cp -r; sync -f (syncfs)"
	"GNU install -t per dir (no fsync)"
	"rsync -a --fsync"
	"seqinstall (temp+fsync+rename each)"
	"hotswap install -r"
	"hotswap install -r, fsync each file"
	"hotswap install -r --no-sync"
)
cmd_small() {
	local d
	case $1 in
	0) cp -r "$S/new/." "$S/dst" ;;
	1) cp -r "$S/new/." "$S/dst" && sync -f "$S/dst" ;;
	2) for d in "$S"/new/d*; do
		install -m 644 -t "$S/dst/${d##*/}" "$d"/*
	   done ;;
	3) rsync -a --fsync "$S/new/" "$S/dst/" ;;
	4) "$SEQINSTALL" "$S/new" "$S/dst" ;;
	5) "$HOTSWAP" install -r "$S/new" "$S/dst" ;;
	6) "$dir/hotswap-fsync" install -r "$S/new" "$S/dst" ;;
	7) "$HOTSWAP" install -r --no-sync "$S/new" "$S/dst" ;;
	esac
}
# Every command replaces the old version of every file.
prep_small() {
	rm -rf "$S/dst"
	cp -a "$S/old" "$S/dst"
}
verify_small() {
	diff -rq "$S/new" "$S/dst" >/dev/null
}
bench small "$runs" prep_small verify_small "${small_labels[@]}"

# --- 2: the barrier, 8 files and $files files -----------------------------

barrier_labels=(
	"8 files: fsync each"
	"8 files: syncfs"
	"$files files: fsync each"
	"$files files: syncfs"
)
mkdir -p "$S/eight/d0"
cp "$S"/new/d0/f000[0-7] "$S/eight/d0/"
cmd_barrier() {
	case $1 in
	0) "$dir/hotswap-fsync" install -r "$S/eight" "$S/dst" ;;
	1) "$dir/hotswap-syncfs" install -r "$S/eight" "$S/dst" ;;
	2) "$dir/hotswap-fsync" install -r "$S/new" "$S/dst" ;;
	3) "$dir/hotswap-syncfs" install -r "$S/new" "$S/dst" ;;
	esac
}
verify_barrier() {
	local f
	if [ "$1" -lt 2 ]; then
		for f in "$S"/eight/d0/*; do
			cmp -s "$f" "$S/dst/d0/${f##*/}" || return 1
		done
		cmp -s "$S/old/d1/f0000" "$S/dst/d1/f0000"
	else
		verify_small
	fi
}
bench barrier "$runs" prep_small verify_barrier "${barrier_labels[@]}"

# --- 3: one big file --------------------------------------------------------

B=$dir/big
mkdir -p "$B/src" "$B/dst"
head -c $(( mib * 1024 * 1024 )) /dev/urandom >"$B/src/big"
big_labels=(
	"cp (no fsync)"
	"cp; sync FILE (fsync)"
	"GNU install (no fsync)"
	"rsync -a --fsync"
	"seqinstall (temp+fsync+rename)"
	"hotswap install"
)
cmd_big() {
	case $1 in
	0) cp "$B/src/big" "$B/dst/big" ;;
	1) cp "$B/src/big" "$B/dst/big" && sync "$B/dst/big" ;;
	2) install -m 644 "$B/src/big" "$B/dst/big" ;;
	3) rsync -a --fsync "$B/src/big" "$B/dst/big" ;;
	4) "$SEQINSTALL" "$B/src" "$B/dst" ;;
	5) "$HOTSWAP" install "$B/src/big" "$B/dst/big" ;;
	esac
}
prep_big() {
	rm -f "$B/dst/big"
}
verify_big() {
	cmp -s "$B/src/big" "$B/dst/big"
}
bench big "$bigruns" prep_big verify_big "${big_labels[@]}"
rm -rf "$B/dst"

# --- 4: reflinks on XFS and btrfs images -----------------------------------

reflink_labels=(
	"cp --reflink=never"
	"cp --reflink=auto"
	"hotswap install"
)
# mkimage FS: a 3 GiB image formatted FS, on a loop device, mounted at
# $dir/FS; a copy of the big file in it.  Fails (quietly) if it cannot.
mkimage() {
	local img=$dir/$1.img mnt=$dir/$1 dev
	case $1 in
	xfs) command -v mkfs.xfs >/dev/null || return 1 ;;
	btrfs) command -v mkfs.btrfs >/dev/null || return 1 ;;
	esac
	[ "$(id -u)" -eq 0 ] || return 1
	truncate -s 3G "$img"
	case $1 in
	xfs) mkfs.xfs -q -m reflink=1 "$img" ;;
	btrfs) mkfs.btrfs -q "$img" >/dev/null ;;
	esac
	dev=$(losetup --find --show "$img") || return 1
	loops+=("$dev")
	mkdir "$mnt"
	mount "$dev" "$mnt" || return 1
	mounts+=("$mnt")
	cp "$B/src/big" "$mnt/big"
}
cmd_reflink() {
	case $1 in
	0) cp --reflink=never "$R/big" "$R/copy" ;;
	1) cp --reflink=auto "$R/big" "$R/copy" ;;
	2) "$HOTSWAP" install "$R/big" "$R/copy" ;;
	esac
}
cmd_xfs() { cmd_reflink "$@"; }
cmd_btrfs() { cmd_reflink "$@"; }
prep_reflink() {
	rm -f "$R/copy"
}
verify_reflink() {
	cmp -s "$R/big" "$R/copy"
}
reflink_fs=()
for fs in xfs btrfs; do
	if mkimage "$fs"; then
		R=$dir/$fs
		bench "$fs" "$bigruns" prep_reflink verify_reflink \
		    "${reflink_labels[@]}"
		rm -f "$R/big" "$R/copy"
		reflink_fs+=("$fs")
	else
		echo "bench_txn: no $fs image (root, mkfs.$fs needed): skipped" >&2
	fi
done

# --- the report ----------------------------------------------------------------

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
read -r load _ </proc/loadavg
fs=$(findmnt -n -o FSTYPE,SOURCE -T "$dir" | tr -s ' ')
echo "machine:  $(nproc) CPUs ($model), $(uname -sr), load average $load"
echo "test dir: $dir on ${fs:-?}"
echo "runs:     $runs (small files, barrier), $bigruns (big file, reflink)," \
    "round-robin; caches $( [ "$drop" -eq 1 ] &&
    echo "dropped (sync; drop_caches) before every run" ||
    echo "NOT dropped (sync only) before every run")"
echo
table small 0 "$files files x $kib KiB" "${small_labels[@]}"
table barrier 0 "barrier" "${barrier_labels[@]}"
table big 0 "one $mib MiB file" "${big_labels[@]}"
for fs in "${reflink_fs[@]}"; do
	table "$fs" 0 "one $mib MiB file on $fs (loop image)" \
	    "${reflink_labels[@]}"
done

# The issue's targets.
target "hotswap -r within 2x of cp -r (x cp -r)" "$(ratio small 5 0)" "<=" 2
target "hotswap -r at least 3x faster than rsync --fsync (x faster)" \
    "$(ratio small 3 5)" ">=" 3
target "$mib MiB: hotswap throughput at least 0.9x cp's (x cp)" \
    "$(ratio big 0 5)" ">=" 0.9
echo "both durable: hotswap install -r is $(ratio small 1 5)x the speed of" \
    "cp -r; sync -f, hotswap install $(ratio big 1 5)x that of cp; sync FILE"
for fs in "${reflink_fs[@]}"; do
	target "$fs: hotswap install vs cp --reflink=never (x faster)" \
	    "$(ratio "$fs" 0 2)" ">=" 10
done
echo "barrier: fsync each / syncfs, wall time:" \
    "$files files $(ratio barrier 2 3), 8 files $(ratio barrier 0 1)" \
    "(above 1: syncfs is faster)"

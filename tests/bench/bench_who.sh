#!/usr/bin/env bash
# bench_who.sh - how fast hotswap who and stale are, next to fuser(1),
# lsof(8) and merely reading every maps file.  A benchmark, never a test.
#
#   tests/bench/bench_who.sh [-n processes] [-r runs] [-l library]
#
# Starts PROCESSES (default 1000) helper processes that map a private
# copy of a test library (build/helpers/who_mapper, readiness through a
# FIFO, no sleeps), then times each command RUNS times (default 11),
# round-robin so that a change of load on the machine hits them all
# alike, and prints the median and the minimum of each, and the ratio of
# each median to that of `hotswap who`.  Every command's output goes to
# /dev/null.  The helpers are killed and reaped at the end, also when the
# script fails or is interrupted.
#
# Environment: HOTSWAP (default ./hotswap, the release build) and
# HS_HELPERS (default build/helpers).  Wall time comes from date +%s%N
# around each command, fork and exec included, the same for all.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
HOTSWAP=${HOTSWAP:-$top/hotswap}
HS_HELPERS=${HS_HELPERS:-$top/build/helpers}
procs=1000 runs=11 lib=$HS_HELPERS/libvictim_v1.so

while getopts n:r:l: opt; do
	case $opt in
	n) procs=$OPTARG ;;
	r) runs=$OPTARG ;;
	l) lib=$OPTARG ;;
	*) echo "usage: bench_who.sh [-n processes] [-r runs] [-l library]" >&2
	   exit 2 ;;
	esac
done
for f in "$HOTSWAP" "$HS_HELPERS/who_mapper" "$lib"; do
	[ -e "$f" ] || { echo "bench_who: no $f: run make bench" >&2; exit 1; }
done
for c in fuser lsof; do
	command -v "$c" >/dev/null ||
	    { echo "bench_who: $c missing: build-aux/deps.sh bench" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench.XXXXXX")
mapper=
cleanup() {
	if [ -n "$mapper" ]; then
		# who_mapper kills and reaps its children on SIGTERM.
		kill -TERM "$mapper" 2>/dev/null || true
		wait "$mapper" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

LIB=$dir/libbench.so
cp "$lib" "$LIB"

# Start the helpers; each says "ready PID" once it maps the library.
mkfifo "$dir/ready"
"$HS_HELPERS/who_mapper" -n "$procs" "$LIB" >"$dir/ready" &
mapper=$!
exec {rfd}<"$dir/ready"
for ((i = 0; i < procs; i++)); do
	read -r -t 60 -u "$rfd" line ||
	    { echo "bench_who: only $i of $procs helpers ready" >&2; exit 1; }
done
exec {rfd}<&-

now() { date +%s%N; }

# The commands, by label; each is run by bash as a plain command.
labels=(
	"hotswap who LIB"
	"hotswap who LIB (text)"
	"hotswap who LIB (ioctl)"
	"hotswap stale"
	"fuser LIB"
	"lsof LIB"
	"cat /proc/[0-9]*/maps"
)
run_one() {
	case $1 in
	0) "$HOTSWAP" who "$LIB" ;;
	1) HOTSWAP_SCAN=text "$HOTSWAP" who "$LIB" ;;
	2) HOTSWAP_SCAN=ioctl "$HOTSWAP" who "$LIB" ;;
	3) "$HOTSWAP" stale ;;
	4) fuser "$LIB" ;;
	5) lsof "$LIB" ;;
	6) cat /proc/[0-9]*/maps ;;
	esac
}

# Sanity: every helper (and their parent) is found, by each who.
found=$("$HOTSWAP" who "$LIB" 2>/dev/null | wc -l)
ftext=$(HOTSWAP_SCAN=text "$HOTSWAP" who "$LIB" 2>/dev/null | wc -l)
fioctl=$(HOTSWAP_SCAN=ioctl "$HOTSWAP" who "$LIB" 2>/dev/null | wc -l)
method=$("$HOTSWAP" who --json "$LIB" 2>/dev/null |
    sed -n 's/.*"method":"\([^"]*\)".*/\1/p')
mioctl=$(HOTSWAP_SCAN=ioctl "$HOTSWAP" who --json "$LIB" 2>/dev/null |
    sed -n 's/.*"method":"\([^"]*\)".*/\1/p')

declare -A times
for ((r = 0; r < runs; r++)); do
	for i in "${!labels[@]}"; do
		t0=$(now)
		run_one "$i" >/dev/null 2>&1 || true
		t1=$(now)
		times[$i]+="$(( (t1 - t0) / 1000 )) "
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
minimum() { tr ' ' '\n' | grep . | sort -n | head -1; }

nproc_all=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
echo "kernel:     $(uname -sr), $(nproc) CPUs"
echo "processes:  $nproc_all in /proc, $procs helpers mapping $LIB"
echo "found:      who $found, text $ftext, ioctl $fioctl lines"
echo "method:     default: ${method:-?}; HOTSWAP_SCAN=ioctl: ${mioctl:-?}"
echo "runs:       $runs each, round-robin; wall time of each command"
echo
base=$(printf '%s' "${times[0]}" | median)
printf '%-26s %10s %10s %8s\n' command "median ms" "min ms" "x who"
for i in "${!labels[@]}"; do
	med=$(printf '%s' "${times[$i]}" | median)
	min=$(printf '%s' "${times[$i]}" | minimum)
	awk -v l="${labels[$i]}" -v med="$med" -v min="$min" -v b="$base" \
	    'BEGIN { printf "%-26s %10.1f %10.1f %8.2f\n", l, med / 1000,
	    min / 1000, med / b }'

done

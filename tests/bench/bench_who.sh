#!/usr/bin/env bash
# bench_who.sh - how fast hotswap who and stale are, next to fuser(1),
# lsof(8) and merely reading every maps file.  A benchmark, never a test.
#
#   tests/bench/bench_who.sh [-R] [-n processes] [-r runs] [-l library]
#
# Starts PROCESSES (default 1000) helper processes that map a private
# copy of a test library (build/helpers/who_mapper, readiness through a
# FIFO, no sleeps), then times each command RUNS times (default 11),
# round-robin so that a change of load on the machine hits them all
# alike, and prints for each the median wall time, the minimum, the
# median CPU time (user + system) and the ratio of its median wall time
# to that of `hotswap who`.  Every command's output goes to /dev/null.
# The helpers are killed and reaped at the end, also when the script
# fails or is interrupted.
#
# -R runs the whole benchmark, this script and so every command it
# starts, under chrt -f 50 (SCHED_FIFO, root only): on a machine that
# other jobs keep busy, wall times then measure the commands rather than
# their wait for a CPU (fork and exec included).  All commands alike.
#
# Environment: HOTSWAP (default ./hotswap, the release build) and
# HS_HELPERS (default build/helpers).  Times come from bash's time
# keyword around each command, fork and exec included, the same for all.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/bench/bench_common.sh"
HOTSWAP=${HOTSWAP:-$top/hotswap}
HS_HELPERS=${HS_HELPERS:-$top/build/helpers}
procs=1000 runs=11 lib=$HS_HELPERS/libvictim_v1.so rt=

while getopts Rn:r:l: opt; do
	case $opt in
	R) rt=1 ;;
	n) procs=$OPTARG ;;
	r) runs=$OPTARG ;;
	l) lib=$OPTARG ;;
	*) echo "usage: bench_who.sh [-R] [-n processes] [-r runs] [-l library]" >&2
	   exit 2 ;;
	esac
done
if [ -n "$rt" ] && [ -z "${HS_BENCH_RT:-}" ]; then
	HS_BENCH_RT=1 exec chrt -f 50 "$0" "$@"
fi
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
	stop_mapper
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

LIB=$dir/libbench.so
cp "$lib" "$LIB"

# Start the helpers; each says "ready PID" once it maps the library.
start_mappers bench_who "$procs" "$LIB" "$dir"

# The commands, by label; each is run by bash as a plain command.
labels=(
	"hotswap who LIB"
	"hotswap who LIB (/proc)"
	"hotswap who LIB (text)"
	"hotswap who LIB (ioctl)"
	"hotswap who LIB (/proc, 1 CPU)"
	"hotswap stale"
	"fuser LIB"
	"lsof LIB"
	"cat /proc/[0-9]*/maps"
)
run_one() {
	case $1 in
	0) "$HOTSWAP" who "$LIB" ;;
	1) HOTSWAP_SCAN=proc "$HOTSWAP" who "$LIB" ;;
	2) HOTSWAP_SCAN=text "$HOTSWAP" who "$LIB" ;;
	3) HOTSWAP_SCAN=ioctl "$HOTSWAP" who "$LIB" ;;
	4) HOTSWAP_SCAN=proc,serial "$HOTSWAP" who "$LIB" ;;
	5) "$HOTSWAP" stale ;;
	6) fuser "$LIB" ;;
	7) lsof "$LIB" ;;
	8) cat /proc/[0-9]*/maps ;;
	esac
}

# Sanity: every helper is found, by each way of reading.
count() { "$@" 2>/dev/null | wc -l; }
found=$(count "$HOTSWAP" who "$LIB")
fproc=$(HOTSWAP_SCAN=proc count "$HOTSWAP" who "$LIB")
ftext=$(HOTSWAP_SCAN=text count "$HOTSWAP" who "$LIB")
fioctl=$(HOTSWAP_SCAN=ioctl count "$HOTSWAP" who "$LIB")
method() {
	"$HOTSWAP" who --json "$LIB" 2>/dev/null |
	    sed -n 's/.*"method":"\([^"]*\)".*/\1/p'
}
mauto=$(method)
mproc=$(HOTSWAP_SCAN=proc method)
mioctl=$(HOTSWAP_SCAN=ioctl method)

round_robin "$runs" "$dir"

all=(/proc/[0-9]*)
nproc_all=${#all[@]}
read -r load _ </proc/loadavg
echo "kernel:     $(uname -sr), $(nproc) CPUs, load average $load"
echo "processes:  $nproc_all in /proc, $procs helpers mapping $LIB"
echo "found:      who $found, /proc $fproc, text $ftext, ioctl $fioctl lines"
echo "method:     default ${mauto:-?}; HOTSWAP_SCAN=proc ${mproc:-?};" \
    "HOTSWAP_SCAN=ioctl ${mioctl:-?}"
echo "runs:       $runs each, round-robin${HS_BENCH_RT:+, all under chrt -f 50}"
echo
ratio_table 30 "x who" "$dir"

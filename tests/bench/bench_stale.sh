#!/usr/bin/env bash
# bench_stale.sh - how fast hotswap stale is with classes, descriptors
# and scripts, next to the maps-only stale (HOTSWAP_SCAN=maps: what stale
# did before them), needrestart (-b) and debian-goodies' checkrestart,
# and what each one finds.  A benchmark, never a test.
#
#   tests/bench/bench_stale.sh [-n processes] [-r runs]
#
# Starts PROCESSES (default 1000) who_mapper helpers that map a private
# copy of a test library, then replaces the library with hotswap install
# so that every helper runs a replaced file.  Then times each command
# RUNS times (default 7), round-robin, and prints the median wall time,
# the minimum, the median CPU time and the ratio to hotswap stale's
# median; then how many of the helpers each command reported.
# HOTSWAP_BASE, if set, is another hotswap binary timed as well (for
# example main's, built elsewhere).  The helpers are killed and reaped
# at the end, also when the script fails or is interrupted.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/bench/bench_common.sh"
HOTSWAP=${HOTSWAP:-$top/hotswap}
HS_HELPERS=${HS_HELPERS:-$top/build/helpers}
procs=1000 runs=7

while getopts n:r: opt; do
	case $opt in
	n) procs=$OPTARG ;;
	r) runs=$OPTARG ;;
	*) echo "usage: bench_stale.sh [-n processes] [-r runs]" >&2; exit 2 ;;
	esac
done
for c in needrestart checkrestart; do
	command -v "$c" >/dev/null || {
		echo "bench_stale: $c missing: build-aux/deps.sh bench" >&2
		exit 1
	}
done

# Not under /tmp: every tool ignores deleted files there on purpose.
dir=$(mktemp -d "$top/build/hs-bench-stale.XXXXXX")
mapper=
cleanup() {
	stop_mapper
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

LIB=$dir/libbench.so.1
cp "$HS_HELPERS/libvictim_v1.so" "$LIB"
start_mappers bench_stale "$procs" "$LIB" "$dir"
"$HOTSWAP" install -q "$HS_HELPERS/libvictim_v2.so" "$LIB"

labels=(
	"hotswap stale"
	"hotswap stale --format batch"
	"hotswap stale (maps only)"
	"needrestart -b"
	"checkrestart"
)
[ -z "${HOTSWAP_BASE:-}" ] || labels+=("hotswap stale (HOTSWAP_BASE)")
run_one() {
	case $1 in
	0) "$HOTSWAP" stale ;;
	1) "$HOTSWAP" stale --format batch ;;
	2) HOTSWAP_SCAN=maps "$HOTSWAP" stale ;;
	3) NEEDRESTART_SUSPEND= needrestart -b ;;
	4) checkrestart ;;
	5) "$HOTSWAP_BASE" stale ;;
	esac
}

# What each found, of the helpers (their library's name is unique).
found_hotswap=$("$HOTSWAP" stale 2>/dev/null | grep -c "$LIB" || true)
found_maps=$(HOTSWAP_SCAN=maps "$HOTSWAP" stale 2>/dev/null | grep -c "$LIB" || true)
nr_out=$(needrestart -b 2>/dev/null || true)
found_nr=$(printf '%s\n' "$nr_out" | grep -c '^NEEDRESTART-' || true)
nr_pids=$(needrestart -b -v 2>&1 | grep -c "who_mapper\|libbench" || true)
cr_out=$(checkrestart 2>/dev/null || true)
found_cr=$(printf '%s\n' "$cr_out" | sed -n 's/^Found \([0-9]*\) processes.*/\1/p')

round_robin "$runs" "$dir"

all=(/proc/[0-9]*)
read -r load _ </proc/loadavg
echo "kernel:     $(uname -sr), $(nproc) CPUs, load average $load"
echo "processes:  ${#all[@]} in /proc, $procs helpers running a replaced $LIB"
echo "needrestart $(dpkg-query -W -f='${Version}' needrestart 2>/dev/null)," \
    "debian-goodies $(dpkg-query -W -f='${Version}' debian-goodies 2>/dev/null)"
echo "found:      hotswap stale $found_hotswap helpers;" \
    "maps only $found_maps; needrestart -b $found_nr NEEDRESTART lines" \
    "(-v names the helpers $nr_pids times); checkrestart ${found_cr:-0} processes"
echo "runs:       $runs each, round-robin"
echo
ratio_table 32 "x stale" "$dir"

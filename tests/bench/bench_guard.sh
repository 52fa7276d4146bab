#!/usr/bin/env bash
# bench_guard.sh - what hotswap guard costs.  A benchmark, never a test.
#
#   tests/bench/bench_guard.sh        (make bench-guard)
#
# 1. Copying a tree of 10,000 small files nobody maps, plain `cp -r`
#    against `hotswap guard -- cp -r`, run alternately, RUNS times each,
#    medians and their ratio: once into a new directory (cp opens with
#    O_EXCL, the guard only tests a flag) and once over an existing copy
#    (every open truncates an existing file: one fstatat and one lease
#    probe each), and over an existing copy on tmpfs (/dev/shm), where no
#    disk time hides the shim's cost.  Target: under 10% more wall time.
# 2. The guard's decision for one mapped file, with SLEEPERS idle
#    processes started first (about 1,000 processes on the host): the
#    refused `hotswap guard -- cp` of a file a victim maps, against the
#    same guarded cp of an unmapped file (same start-up costs), medians.
#    The difference is the decision: lease probe, one walk of /proc,
#    the message.  Target: under 20 ms.
#
# Environment: HOTSWAP (default ./hotswap), HS_HELPERS (build/helpers),
# HOTSWAP_GUARD_LIB (default ./libhotswap-guard.so), RUNS (7),
# FILES (10000), SLEEPERS (1000).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
HOTSWAP=${HOTSWAP:-$top/hotswap}
HS_HELPERS=${HS_HELPERS:-$top/build/helpers}
export HOTSWAP_GUARD_LIB=${HOTSWAP_GUARD_LIB:-$top/libhotswap-guard.so}
RUNS=${RUNS:-7}
FILES=${FILES:-10000}
SLEEPERS=${SLEEPERS:-1000}

work=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-guard.XXXXXX")
pids=() shm=
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work" ${shm:+"$shm"}
}
trap cleanup EXIT

ns() { date +%s%N; }

# median N...: the median of the arguments.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
	    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }

# --- 1. a tree of small unmapped files ------------------------------------
echo "making $FILES files of 1-4 KiB..."
mkdir "$work/src"
for ((d = 0; d < FILES / 100; d++)); do
	mkdir "$work/src/d$d"
	for ((f = 0; f < 100; f++)); do
		head -c $((1024 + (f * 37) % 3072)) /dev/urandom \
		    >"$work/src/d$d/f$f"
	done
done
sync

# The same tree on tmpfs, where no disk hides the shim's own cost.
shm=
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	shm=$(mktemp -d /dev/shm/hs-bench-guard.XXXXXX)
	cp -r "$work/src" "$shm/src"
fi

# time_cp DEST_STATE WRAPPER...: one timed cp -r into dst.  Dirty data
# of the runs before is written back first (untimed), so that no run
# pays for another's.
time_cp() {
	local state=$1 top=$work t0 t1
	shift
	[ "$state" = tmpfs ] && top=$shm
	rm -rf "$top/dst"
	[ "$state" != new ] && cp -r "$top/src" "$top/dst"
	sync
	t0=$(ns)
	"$@" cp -r "$top/src/." "$top/dst"
	t1=$(ns)
	echo $((t1 - t0))
}

for state in new existing ${shm:+tmpfs}; do
	plain=() guarded=()
	for ((i = 0; i < RUNS; i++)); do
		plain+=("$(time_cp "$state" env)")
		guarded+=("$(time_cp "$state" "$HOTSWAP" guard --)")
	done
	p=$(median "${plain[@]}")
	g=$(median "${guarded[@]}")
	case $state in
	new) what="into new:" ;;
	existing) what="over existing:" ;;
	tmpfs) what="over existing, tmpfs:" ;;
	esac
	printf 'cp -r, %d files, %-22s plain %8s ms  guarded %8s ms  ratio %s\n' \
	    "$FILES" "$what" "$(ms "$p")" "$(ms "$g")" \
	    "$(awk -v a="$g" -v b="$p" 'BEGIN { printf "%.3f", a / b }')"
done

# --- 2. the decision for one mapped file, with many processes --------------
echo "starting $SLEEPERS idle processes..."
for ((i = 0; i < SLEEPERS; i++)); do
	sleep 3600 &
	pids+=($!)
done
nproc=$(ls /proc | grep -c '^[0-9]')

cp "$HS_HELPERS/libvictim_v1.so" "$work/lib.so"
cp "$work/lib.so" "$work/unmapped.so"
head -c 4096 "$work/lib.so" >"$work/short.so"
mkfifo "$work/fifo"
"$HS_HELPERS/victim" "$work/lib.so" >"$work/fifo" &
pids+=($!)
exec {vfd}<"$work/fifo"
read -r -t 10 -u "$vfd" line
[ "${line%% *}" = ready ] || { echo "victim not ready: $line" >&2; exit 1; }

mapped=() unmapped=()
for ((i = 0; i < RUNS; i++)); do
	t0=$(ns)
	"$HOTSWAP" guard -q -- cp "$work/short.so" "$work/lib.so" \
	    2>/dev/null && { echo "not refused!" >&2; exit 1; }
	t1=$(ns)
	"$HOTSWAP" guard -q -- cp "$work/short.so" "$work/unmapped.so"
	t2=$(ns)
	cp "$work/lib.so" "$work/unmapped.so"
	mapped+=($((t1 - t0)))
	unmapped+=($((t2 - t1)))
done
m=$(median "${mapped[@]}")
u=$(median "${unmapped[@]}")
printf 'decision, %d processes: refused cp %s ms, unmapped cp %s ms, decision %s ms\n' \
    "$nproc" "$(ms "$m")" "$(ms "$u")" "$(ms $((m - u)))"
# Both figures move with the load: say what it was.
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

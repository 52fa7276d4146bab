#!/usr/bin/env bash
# bench_blocked.sh - how long `install -r` is blocked in the kernel (task
# state D: waiting for the disk, a journal commit, a trim), by build,
# under perf sched: less moved by a loaded machine's CPU contention than
# wall time.  A benchmark, never a test: it prints, it does not judge.
#
#   tests/bench/bench_blocked.sh DIR N RUNS BUILD...
#
# In DIR (a mounted filesystem to measure; SRC and DST are made there):
# a tree of N files of 10 KiB, 100 a directory; RUNS rounds, each BUILD
# once a round (alternated), DST made anew as a copy of SRC and written
# back before each run (warm; with CACHE=cold in the environment, the
# page cache, dentries and inodes are dropped after it).  Prints for each
# build the median blocked time of the whole run and of its tail (after
# its syncfs: C, renames, unlinks, directory fsyncs, the journal's
# removal), then, for its last run, the blocked time by system call and
# kernel function.  Needs root and perf.  Builds are told apart by file
# name (the task name perf sees): give each a different one, and none
# that another program on the machine runs as.
set -euo pipefail

. "$(dirname "$0")/bench_common.sh"
[ $# -ge 4 ] || { echo "usage: bench_blocked.sh DIR N RUNS BUILD..." >&2; exit 2; }
dir=$1 n=$2 runs=$3
shift 3
cd "$dir"
data=$(mktemp /tmp/bench-blocked.XXXXXX)
trap 'rm -f "$data"; rm -rf "$dir/DST"' EXIT

# blocked BUILD: "tail whole" ms of state D, from perf sched timehist.
blocked() {
	perf sched timehist -i "$data" --state -g --max-stack 14 2>/dev/null |
	    awk -v comm="$(comm_of "$1")" '
	index($3, comm "[") == 1 { task = $3
	  if (task in st && st[task] == "D") { all += $4; if (past) tail += $4 }
	  if ($0 ~ /__x64_sys_syncfs/) past = 1
	  st[task] = $7 }
	END { printf "%.1f %.1f\n", tail, all }'
}

# by_call BUILD: its run's blocked ms by system call and kernel function.
by_call() {
	perf sched timehist -i "$data" --state -g --max-stack 14 2>/dev/null |
	    awk -v comm="$(comm_of "$1")" '
	index($3, comm "[") == 1 { task = $3
	  if (task in last && st[task] == "D") w[last[task]] += $4
	  sc = "?"; fn = ""
	  for (i = NF; i >= 8; i--) if ($i ~ /^__x64_sys_/) { sc = substr($i, 11); break }
	  for (i = 8; i <= NF; i++) if ($i != "<-" && $i !~ /schedule|wait_for_completion|folio_wait|bit_wait|__wait_on_bit|out_of_line_wait|submit_bio_wait|io_schedule|__cond_resched/) { fn = $i; break }
	  last[task] = sc " " fn; st[task] = $7 }
	END { for (k in w) printf "    %8.1f ms  %s\n", w[k], k }' | sort -rn | head -8
}

# comm_of BUILD: the task name perf records (15 characters at most).
comm_of() {
	local b=${1##*/}
	echo "${b:0:15}"
}

[ -d SRC ] && [ "$(find SRC -type f | wc -l)" = "$n" ] ||
    { rm -rf SRC; make_tree SRC "$n"; }
declare -A T A
for ((r = 0; r < runs; r++)); do
	for b in "$@"; do
		reset_tree "${CACHE:-warm}"
		perf sched record -q -g -o "$data" -- "$b" install -r SRC DST \
		    >/dev/null 2>&1
		read -r t a < <(blocked "$b")
		T[$b]+="$t " A[$b]+="$a "
	done
done
med() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "$dir ($(findmnt -n -o FSTYPE,OPTIONS -T .)), $n files," \
    "${CACHE:-warm}, $runs runs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "$@"; do
	printf '  %-16s blocked: tail %7s ms, whole %7s ms (tail runs: %s)\n' \
	    "${b##*/}" "$(med "${T[$b]}")" "$(med "${A[$b]}")" "${T[$b]}"
done
echo "  the last run of ${1##*/}, blocked by call and function:"
reset_tree "${CACHE:-warm}"
perf sched record -q -g -o "$data" -- "$1" install -r SRC DST >/dev/null 2>&1
by_call "$1"

# bench_common.sh - shell functions the benchmarks share (sourced by
# bench_stale.sh, bench_who.sh and bench_txn.sh).

# Each timed run appends one line "wall user sys" (seconds) to its file.
TIMEFORMAT='%3R %3U %3S'

# round_robin RUNS DIR: run_one I for each index I of the array labels,
# RUNS rounds, timing each into DIR/t.I.
round_robin() {
	local r i
	for ((r = 0; r < $1; r++)); do
		for i in "${!labels[@]}"; do
			{ time run_one "$i" >/dev/null 2>&1; } 2>>"$2/t.$i" || true
		done
	done
}

# median COLUMN FILE, in ms; COLUMN 0 is user + system.
median() {
	awk -v c="$1" '{ print (c ? $c : $2 + $3) * 1000 }' "$2" | sort -n |
	    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# minimum FILE: the least wall time, in ms.
minimum() {
	awk '{ print $1 * 1000 }' "$1" | sort -n | head -1
}

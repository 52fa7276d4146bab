# bench_common.sh - shell functions the benchmarks share (sourced by
# bench_stale.sh, bench_who.sh, bench_txn.sh, bench_tree.sh, bench_tail.sh
# and bench_blocked.sh).

# start_mappers NAME N LIB DIR: N who_mapper helpers that map LIB; waits
# on the FIFO DIR/ready until each has said "ready PID" (NAME says who
# gave up).  Sets mapper, for stop_mapper.
start_mappers() {
	local i line rfd
	mkfifo "$4/ready"
	"$HS_HELPERS/who_mapper" -n "$2" "$3" >"$4/ready" &
	mapper=$!
	exec {rfd}<"$4/ready"
	for ((i = 0; i < $2; i++)); do
		read -r -t 60 -u "$rfd" line ||
		    { echo "$1: only $i of $2 helpers ready" >&2; exit 1; }
	done
	exec {rfd}<&-
}

# stop_mapper: who_mapper kills and reaps its children on SIGTERM.
stop_mapper() {
	if [ -n "${mapper:-}" ]; then
		kill -TERM "$mapper" 2>/dev/null || true
		wait "$mapper" 2>/dev/null || true
	fi
}

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

# ratio_table WIDTH RATIO DIR: a row for each of labels (WIDTH wide):
# median wall, minimum wall and median CPU time of DIR/t.I, and the
# median wall time's ratio to row 0's (column RATIO).
ratio_table() {
	local i base
	base=$(median 1 "$3/t.0")
	printf '%-*s %9s %9s %9s %7s\n' "$1" command "wall ms" "min ms" \
	    "cpu ms" "$2"
	for i in "${!labels[@]}"; do
		awk -v w="$1" -v l="${labels[$i]}" \
		    -v med="$(median 1 "$3/t.$i")" \
		    -v min="$(minimum "$3/t.$i")" \
		    -v cpu="$(median 0 "$3/t.$i")" -v b="$base" \
		    'BEGIN { printf "%-" w "s %9.1f %9.1f %9.1f %7.2f\n",
		    l, med, min, cpu, med / b }'
	done
}

# make_tree DIR N: N files of ${kib:-10} KiB of random bytes, 100 a
# directory (the trees bench_tree, bench_tail and bench_blocked deploy).
make_tree() {
	local d left=$2 k b=$((${kib:-10} * 1024))
	mkdir -p "$1"
	for ((d = 0; left > 0; d++)); do
		k=$((left < 100 ? left : 100))
		mkdir "$1/d$d"
		(cd "$1/d$d" && head -c $((k * b)) /dev/urandom |
		    split -b "$b" -a 3 - f)
		left=$((left - k))
	done
}

# reset_tree CACHE: in the current directory, DST a fresh copy of SRC
# and NEW gone, everything written back; for "cold" the page cache,
# dentries and inodes dropped (the untimed step before each run of
# bench_tree, bench_tail and bench_blocked).
reset_tree() {
	rm -rf DST NEW
	cp -r SRC DST
	sync
	[ "$1" = cold ] && echo 3 >/proc/sys/vm/drop_caches
	return 0
}

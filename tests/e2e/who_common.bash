# who_common.bash - helpers of the end-to-end tests of hotswap who and
# stale (who.bats, stale.bats), on top of common.bash.
#
# Processes that map a file are started with the who_mapper helper: it
# maps the file, forks, and each process writes "ready PID" on a FIFO
# that the test reads, so the test knows every PID and never sleeps.

load common

# The library the tests map: a copy, so that its inode is the test's own.
: "${WHO_LIB_SRC:=$HS_HELPERS/libvictim_v1.so}"

who_setup() {
	hs_setup || return 1
	[ -x "$HS_HELPERS/who_mapper" ] ||
		{ echo "no $HS_HELPERS/who_mapper: make check-build" >&2
		  return 1; }
	MAPPERS=()
}

# Stop the mappers first with SIGTERM: each kills and reaps its children.
who_teardown() {
	local pid
	for pid in "${MAPPERS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	hs_teardown
}

# start_mappers [-m] [-u] N FILE: N processes mapping FILE (-m: mmap, not
# dlopen; -u: as nobody).  Appends their PIDs to the array PIDS.
start_mappers() {
	local opt= nobody= n file fifo line fd i pid
	while [ $# -gt 2 ]; do
		case $1 in
		-m) opt=-m ;;
		-u) nobody=1 ;;
		esac
		shift
	done
	n=$1 file=$2
	fifo=$(mktemp -u "$W/.mapper-fifo.XXXXXX")
	mkfifo "$fifo"
	if [ -n "$nobody" ]; then
		# Not through as_nobody: a function would run in a subshell,
		# and $! would name the subshell; setpriv execs the helper.
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		    "$HS_HELPERS/who_mapper" $opt -n "$n" "$file" \
		    >"$fifo" 3>&- &
	else
		"$HS_HELPERS/who_mapper" $opt -n "$n" "$file" >"$fifo" 3>&- &
	fi
	pid=$!
	MAPPERS+=("$pid")
	track "$pid"
	exec {fd}<"$fifo"
	rm -f "$fifo"
	for ((i = 0; i < n; i++)); do
		read -r -t "$HS_TIMEOUT" -u "$fd" line ||
			fail "mapper $pid: only $i of $n ready"
		[[ $line =~ ^ready\ ([0-9]+)$ ]] ||
			fail "mapper $pid said '$line'"
		PIDS+=("${BASH_REMATCH[1]}")
	done
	exec {fd}<&-
}

# sorted WORDS...: one per line, sorted numerically.
sorted() {
	printf '%s\n' "$@" | sort -n
}

# pids_of_who: the PIDs (first field) of hotswap who's human output.
pids_of_who() {
	printf '%s\n' "$output" | awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -nu
}

# pids_of_stale PATTERN: PIDs of stale's human output that have a stale
# file whose (escaped) line contains PATTERN.
pids_of_stale() {
	printf '%s\n' "$output" | awk -v pat="$1" '
	    /^[0-9]/ { pid = $1; next }
	    /^\t/ && index($0, pat) { print pid }' | sort -nu
}

# json_ok: $output is one valid JSON document (if python3 is there).
json_ok() {
	command -v python3 >/dev/null || return 0
	printf '%s' "$output" | python3 -c 'import json, sys; json.load(sys.stdin)' ||
		fail "not JSON: $output"
}

# json_eval EXPR: print python3's EXPR over the document d ($output).
json_eval() {
	printf '%s' "$output" | python3 -c "
import json, sys
d = json.loads(sys.stdin.buffer.read().decode('utf-8', 'surrogateescape'))
$1"
}

# powercut_common.bash - helpers of the power-cut suites (powercut.bats,
# the FUSE file system; powercut_block.bats, the block-level cut).

bats_require_minimum_version 1.5.0

: "${HS_TOP:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${HOTSWAP:=$HS_TOP/build/san/hotswap}"

# pc_workdir PREFIX: a fresh $W (PREFIX.XXXXXX) holding seed/ and src/,
# made the current directory and the tool's TMPDIR (its scratch, removed
# with $W).  Every state is written out and removed again, hundreds a
# case: on tmpfs where there is one (half the time of ext4 here).
pc_workdir() {
	local base=${TMPDIR:-/tmp}
	if [ -d /dev/shm ] && [ -w /dev/shm ] &&
	    [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
		base=/dev/shm
	fi
	W=$(mktemp -d "$base/$1.XXXXXX")
	cd "$W" || return 1
	mkdir seed src
	umask 022
	export TMPDIR=$W
}

# pc_teardown: remove $W.  The tools mount in a private namespace (and
# blockcut's loop devices detach themselves): nothing is left mounted.
pc_teardown() {
	cd / || true
	[ -z "${W:-}" ] || rm -rf --one-file-system "$W"
}

# put PATH CONTENT [MODE]: a file of the seed (old) or of src (new).
put() {
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$2" >"$1"
	[ -z "${3:-}" ] || chmod "$3" "$1"
}

# reference CMD...: run CMD in a plain copy of the seed, $W/ref: the new
# state every path must reach.
reference() {
	rm -rf "$W/ref"
	cp -a "$W/seed" "$W/ref"
	(cd "$W/ref" && "$@") >"$W/ref.out" 2>&1 ||
		{ cat "$W/ref.out"; echo "reference run failed"; return 1; }
}

# The suites set PC_TOOL (the name their tool prints), PC_MODES (the
# modes every state must pass in) and define cut and pc_count (the count
# all_pass's MIN is about, read from $output).

# all_pass CHECKOPTS PATHS MIN -- CMD...: the reference run, then every
# mode of PC_MODES must accept every state, and pc_count be at least MIN.
all_pass() {
	local opts=$1 paths=$2 min=$3 mode n
	shift 4
	reference "$@"
	for mode in $PC_MODES; do
		cut "$mode" "$opts" "$paths" -- "$@"
		echo "--- mode $mode"
		grep -vE '^  ok: ' <<<"$output"
		[ "$status" -eq 0 ]
		[[ "$summary" == *" states, 0 rejected "* ]]
		n=$(pc_count)
		[ "${n:-0}" -ge "$min" ]
	done
}

# all_reject CHECKOPTS PATHS -- CMD...: some state is rejected, in every
# mode of PC_MODES, at the final cut (after the command exited 0).
all_reject() {
	local opts=$1 paths=$2 mode
	shift 3
	reference "$@"
	for mode in $PC_MODES; do
		cut "$mode" "$opts" "$paths" -- "$@"
		echo "--- mode $mode"
		grep -vE '^  ok: ' <<<"$output"
		[ "$status" -eq 1 ]
		grep -qE "^$PC_TOOL: .* exited 0 after" <<<"$output"
		grep -qE '\(the command has exited\): [0-9]+ states?, [1-9]' \
		    <<<"$output"
	done
}

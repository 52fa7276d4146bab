#!/usr/bin/env bash
# run.sh - run every test suite and end with one line: "N passed, N failed".
#
# Unit tests (cmocka) and end-to-end tests (bats) both speak TAP; this
# script adds them up.  A suite that dies without saying "not ok" (a
# sanitizer abort, a crash) counts as one failure.  Called by `make check`
# after the build; TESTS="unit e2e" selects suites, BATS_FILTER a regex.
set -u
# Every suite reads /dev/null, whatever stdin the runner was given: CI
# runs with none at all, and a closed fd 0 changes how script(1) and FUSE
# daemons behave (both bit the tests once).
exec </dev/null
top=$(cd "$(dirname "$0")/.." && pwd)
export HS_TOP="$top"
export HOTSWAP="$top/build/san/hotswap"
export HS_HELPERS="$top/build/helpers"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:print_summary=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CMOCKA_MESSAGE_OUTPUT=TAP

passed=0 failed=0 skipped=0
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

# start_suite NAME COMMAND...: run it in the background, its TAP, exit
# status and time each to a file of its own; NAME.started at once, so
# that a suite started by a background stream is still waited for.
start_suite() {
	local name=$1
	shift
	: >"$logdir/$name.started"
	(
		t0=$(date +%s)
		"$@" >"$logdir/$name.log" 2>&1
		echo $? >"$logdir/$name.rc"
		echo $(($(date +%s) - t0)) >"$logdir/$name.time"
	) &
}

# end_suite NAME: wait until it has ended, echo its TAP, count.
end_suite() {
	local name=$1 log="$logdir/$1.log" rc p f s
	while [ ! -e "$logdir/$name.time" ]; do
		sleep 0.2
	done
	rc=$(cat "$logdir/$name.rc")
	echo "# --- $name"
	cat "$log"
	echo "# $name: $(cat "$logdir/$name.time") s"
	# cmocka reports a skipped test as "not ok N # SKIP", bats as "ok N # skip".
	s=$(grep -ciE '^(not )?ok .*# skip' "$log")
	p=$(grep -E '^ok ' "$log" | grep -civE '# skip')
	f=$(grep -E '^not ok ' "$log" | grep -civE '# skip')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f))
}

# run_suite NAME COMMAND...: run, echo its TAP, count.
run_suite() {
	start_suite "$@"
	end_suite "$1"
}

# bats_suite NAME FILE...: the end-to-end files given, BATS_FILTER kept.
bats_suite() {
	local name=$1
	shift
	if [ -n "${BATS_FILTER:-}" ]; then
		start_suite "$name" bats --tap -f "$BATS_FILTER" "$@"
	else
		start_suite "$name" bats --tap "$@"
	fi
}

# fuzz_suite: start the fuzz targets, where clang can build them.
fuzz_suite() {
	if command -v clang >/dev/null 2>&1 &&
	    grep -q '^fuzz-run:' "$top/Makefile"; then
		start_suite fuzz sh -c "make -s -C '$top' fuzz-run &&
		    echo 'ok - fuzz targets ran clean'"
	fi
}

# The end-to-end files run as two streams, one beside the other, and the
# fuzzers after the second: on two CPUs the suites that mostly wait on
# other programs (a package build, autotools, mkfs and mounts of crash
# images) leave a CPU free for the others.  Every file keeps to its own
# temporary directories, mounts, namespaces and loop devices, so the
# streams share nothing but the machine, and the tests were written to
# hold on a loaded one.  The split balances the streams' times
# (measured at load 3 to 4: 368 and 158 + 64 s before valgrind,
# demo and attack_install moved to the side).
E2E_SIDE="deb powercut powercut_block install_gnu install_gnu_opts
	attack_install valgrind demo"

suites=" ${TESTS:-unit e2e demo fuzz} "
side=() rest=()
for f in "$top"/tests/e2e/*.bats; do
	case " $(echo $E2E_SIDE) " in
	*" $(basename "$f" .bats) "*) side+=("$f") ;;
	*) rest+=("$f") ;;
	esac
done
for suite in $suites; do
	case $suite in
	unit)
		for t in "$top"/build/san/test_*; do
			[ -x "$t" ] && run_suite "$(basename "$t")" "$t"
		done ;;
	e2e)
		# The side stream, then (if asked for) the fuzzers in the
		# same background chain.
		(
			bats_suite e2e-side "${side[@]}"
			wait
			case $suites in
			*" fuzz "*) fuzz_suite ;;
			esac
		) &
		bats_suite e2e "${rest[@]}"
		end_suite e2e
		wait
		end_suite e2e-side ;;
	demo)
		# The demo checks its own expectations and exits 0 only if
		# every one held: one test.
		if [ -x "$top/demo/run.sh" ]; then
			run_suite demo sh -c "HOTSWAP='$top/hotswap' '$top/demo/run.sh' &&
			    echo 'ok - make demo: every expectation held' ||
			    { echo 'not ok - make demo: an expectation failed'; false; }"
		fi ;;
	fuzz)
		case $suites in
		*" e2e "*) ;; # started by the side stream: still running
		*) fuzz_suite ;;
		esac
		[ -e "$logdir/fuzz.started" ] && end_suite fuzz ;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

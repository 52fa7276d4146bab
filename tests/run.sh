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
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run_suite NAME COMMAND...: run, echo its TAP, count.
run_suite() {
	local name=$1 rc p f s t0
	shift
	echo "# --- $name"
	t0=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	echo "# $name: $(($(date +%s) - t0)) s"
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

suites=${TESTS:-unit e2e demo fuzz}
for suite in $suites; do
	case $suite in
	unit)
		for t in "$top"/build/san/test_*; do
			[ -x "$t" ] && run_suite "$(basename "$t")" "$t"
		done ;;
	e2e)
		if [ -n "${BATS_FILTER:-}" ]; then
			run_suite e2e bats --tap -f "$BATS_FILTER" "$top/tests/e2e"
		else
			run_suite e2e bats --tap "$top/tests/e2e"
		fi ;;
	demo)
		# The demo checks its own expectations and exits 0 only if
		# every one held: one test.
		if [ -x "$top/demo/run.sh" ]; then
			run_suite demo sh -c "HOTSWAP='$top/hotswap' '$top/demo/run.sh' &&
			    echo 'ok - make demo: every expectation held' ||
			    { echo 'not ok - make demo: an expectation failed'; false; }"
		fi ;;
	fuzz)
		if command -v clang >/dev/null 2>&1 &&
		    grep -q '^fuzz-run:' "$top/Makefile"; then
			run_suite fuzz sh -c "make -s -C '$top' fuzz-run &&
			    echo 'ok - fuzz targets ran clean'"
		fi ;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

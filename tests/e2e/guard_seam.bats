#!/usr/bin/env bats
# guard_seam.bats - the seam inside libhotswap-guard.so is bound to the
# next definitions of what the guard interposes, so the guard's own work
# never enters its interposers again, and a fault below the seam reaches
# --fix as the real call's failure would.
#
# The guard is preloaded by hand (LD_PRELOAD, HOTSWAP_GUARD_MODE), not
# by hotswap guard, which puts it first: here two test shims go around
# it.  libguard_spy.so, before it, holds the first definition of the
# names the guard exports and logs each call whose caller is inside the
# guard, with the call's offset; addr2line(1) names the source line.
# libguard_fail.so, after it, holds the next definitions, the ones the
# guard's seam must call, and fails one of them on a temporary.
#
# The control is the guard linked with the library's own sys.o (the
# binding before HS_SYS_NEXT, built as $HS_HELPERS/oldseam/): there the
# same run finds the seam's fsync and close coming from src/sys/sys.c.
# Every other test requires no call at all from the guard's own code.

load common

setup() {
	hs_setup
	GUARD="$HS_TOP/libhotswap-guard.so"
	SPY="$HS_HELPERS/libguard_spy.so"
	FAILLIB="$HS_HELPERS/libguard_fail.so"
	[ -r "$GUARD" ] || fail "no $GUARD: run make check-build"
	[ -r "$SPY" ] && [ -r "$FAILLIB" ] ||
		fail "no test shims in $HS_HELPERS: run make check-build"
	command -v addr2line >/dev/null || skip "addr2line is not installed"
	readelf -S "$GUARD" | grep -q '\.debug_line' ||
		skip "libhotswap-guard.so was built without -g"
	cp "$HS_HELPERS/libvictim_v1.so" lib.so
	head -c 4096 lib.so >short.so
	LOG="$W/spy.log"
}

teardown() {
	hs_teardown
}

# guarded PRELOAD CMD...: run CMD with PRELOAD (the guard among test
# shims) in --fix mode; $status, $output, $stderr.
guarded() {
	local preload=$1
	shift
	run --separate-stderr env HS_SPY_LOG="$LOG" HOTSWAP_GUARD_MODE=fix \
	    LD_PRELOAD="$preload" "$@"
}

# reentries: the calls the spy saw come from the guard, one per line as
# "NAME FILE:LINE", FILE relative to the tree; fails unless the spy was
# loaded at all.
reentries() {
	local name from off pid
	grep -q '^loaded ' "$LOG" || fail "the spy never loaded: $(cat "$LOG")"
	grep ' from-guard ' "$LOG" | while read -r name from off pid; do
		printf '%s %s\n' "$name" \
		    "$(addr2line -e "$GUARD" "$off" | sed 's|^.*/src/|src/|')"
	done
}

# no_reentry: the spy saw no call come from the guard's own code.
no_reentry() {
	local calls
	calls=$(reentries)
	[ -z "$calls" ] || fail "the guard's own work called its interposers:" \
	    "$(sort <<<"$calls" | uniq -c)"
}

@test "seam: --fix of bash '>' on a mapped library re-enters the guard from no seam call" {
	start_victim "$W/lib.so"
	guarded "$SPY $GUARD" bash -c "cat short.so > lib.so"
	[ "$status" -eq 0 ] || fail "bash failed: $stderr"
	[[ $stderr == *"lib.so' is mapped by pid $VPID: writing a new file"* ]] ||
		fail "the guard did not take the write: $stderr"
	same_content lib.so short.so
	victim_alive
	no_reentry
}

@test "seam: control: the guard linked with the old binding (sys.c naming close, fsync) is caught re-entering" {
	GUARD="$HS_HELPERS/oldseam/libhotswap-guard.so"
	[ -r "$GUARD" ] || fail "no $GUARD: run make check-build"
	start_victim "$W/lib.so"
	guarded "$SPY $GUARD" bash -c "cat short.so > lib.so"
	[ "$status" -eq 0 ] || fail "bash failed: $stderr"
	same_content lib.so short.so
	victim_alive
	reentries | grep -q '^fsync src/sys/sys\.c:' ||
		fail "the spy missed the seam's fsync: $(reentries)"
	reentries | grep -q '^close src/sys/sys\.c:' ||
		fail "the spy missed the seam's close: $(reentries)"
}

@test "seam: an fsync failing below the seam keeps the old file, said, with no re-entry" {
	local before
	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	HS_FAIL_CALL=fsync HS_FAIL_ERRNO=5 \
	    guarded "$SPY $GUARD $FAILLIB" bash -c "cat short.so > lib.so"
	[ "$status" -ne 0 ] || fail "the program was not told: $stderr"
	[[ $stderr == *"hotswap guard: cannot sync new copy of '"*"/lib.so': Input/output error; the old file is kept"* ]] ||
		fail "no line for the failed fsync: $stderr"
	[ "$(fileid lib.so)" = "$before" ] || fail "lib.so changed"
	[ "$(listing "$W" | grep -c hsg-)" -eq 0 ] ||
		fail "a temporary was left: $(listing "$W")"
	victim_alive
	no_reentry
}

@test "seam: a pwrite failing below the seam refuses truncate(1), with no re-entry" {
	local before
	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	HS_FAIL_CALL=pwrite HS_FAIL_ERRNO=28 \
	    guarded "$SPY $GUARD $FAILLIB" truncate -s 4096 lib.so
	[ "$status" -ne 0 ] || fail "truncate succeeded: $stderr"
	[[ $stderr == *"hotswap guard: refused to truncate '"*"/lib.so': mapped by pid $VPID"* ]] ||
		fail "no refusal: $stderr"
	[[ $stderr == *"ext file busy"* ]] || fail "no ETXTBSY: $stderr"
	[ "$(fileid lib.so)" = "$before" ] || fail "lib.so changed"
	[ "$(listing "$W" | grep -c hsg-)" -eq 0 ] ||
		fail "a temporary was left: $(listing "$W")"
	victim_alive
	no_reentry
}

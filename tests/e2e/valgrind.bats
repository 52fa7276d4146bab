#!/usr/bin/env bats
# valgrind.bats - the release build under valgrind's memcheck, which sees
# what ASan does not: reads of uninitialised memory, and the plain -O2
# binary that is installed, not the sanitizer build the other tests run.

load common

VG=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --track-fds=no)

setup() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	hs_setup
	REL=$HS_TOP/hotswap
	[ -x "$REL" ] || fail "no release build at $REL: run make"
}

teardown() {
	hs_teardown
}

# vg ARGS...: the release hotswap under memcheck; 99 means it complained.
vg() {
	run --separate-stderr "${VG[@]}" "$REL" "$@"
	[ "$status" -ne 99 ] || { echo "$stderr"; false; }
}

@test "valgrind: install, -b, -C, rollback: no memcheck error" {
	echo old >dst
	echo new >src
	vg install -b -v src dst
	[ "$status" -eq 0 ]
	vg install -C src dst
	[ "$status" -eq 0 ]
	vg rollback dst
	[ "$status" -eq 0 ]
	[ "$(cat dst)" = old ]
	vg install missing dst
	[ "$status" -eq 1 ]
}

@test "valgrind: install -r and --manifest: no memcheck error" {
	mkdir -p s/sub d
	echo a >s/a
	echo b >s/sub/b
	ln -s a s/link
	vg install -r -v s d
	[ "$status" -eq 0 ]
	[ "$(cat d/sub/b)" = b ]
	printf '"s/a" "d/x y" mode=600\n# comment\ns/sub/b d/z\n' >list
	vg install --manifest list
	[ "$status" -eq 0 ]
	printf 'a b mode=9\n' >bad
	vg install --manifest bad
	[ "$status" -eq 2 ]
}

@test "valgrind: who and stale over every process: no memcheck error" {
	cp "$HS_HELPERS/libvictim_v1.so" lib.so
	start_victim "$W/lib.so"
	vg who -v lib.so
	[ "$status" -eq 0 ]
	[[ "$output" == *"$VPID"* ]]
	vg who --json lib.so
	[ "$status" -eq 0 ]
	"$REL" install -q "$HS_HELPERS/libvictim_v2.so" lib.so
	vg stale -p "$VPID"
	[ "$status" -eq 0 ]
	vg stale --json
	[ "$status" -eq 0 ]
}

# vg_guarded MODE ARGS...: ARGS run under memcheck with the release
# libhotswap-guard.so preloaded in MODE: the library, built without
# sanitizers for other people's programs, is what ASan never sees.
vg_guarded() {
	local mode=$1
	shift
	run --separate-stderr env HOTSWAP_GUARD_MODE="$mode" \
	    LD_PRELOAD="$HS_TOP/libhotswap-guard.so" "${VG[@]}" "$@"
	[ "$status" -ne 99 ] || { echo "$stderr"; false; }
}

@test "valgrind: the guard library, refusing and fixing: no memcheck error" {
	local scan
	cp "$HS_HELPERS/libvictim_v1.so" lib.so
	cp lib.so unmapped.so
	head -c 4096 lib.so >short.so
	start_victim "$W/lib.so"
	# A file nobody maps: the lease probe says so, the write proceeds.
	vg_guarded refuse "$HS_HELPERS/guard_stdio" fopen unmapped.so short.so
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content unmapped.so short.so
	# A mapped file: the kernel's iterator (as root), then the walk.
	for scan in "" proc; do
		HOTSWAP_SCAN=$scan vg_guarded refuse \
		    "$HS_HELPERS/guard_stdio" fopen lib.so short.so
		[ "$status" -eq 1 ] || fail "HOTSWAP_SCAN=$scan: $stderr"
		[[ $stderr == *"refused to truncate 'lib.so': mapped by pid $VPID"* ]] ||
			fail "HOTSWAP_SCAN=$scan: $stderr"
	done
	# --fix, following dup'ed descriptors, then a fork.
	vg_guarded fix "$HS_HELPERS/guard_dupwrite" lib.so short.so
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = $'close1 same\nclose2 same\nclose3 new' ] ||
		fail "got: $output"
	"$HS_TOP/hotswap" install -q "$HS_HELPERS/libvictim_v1.so" lib.so
	start_victim "$W/lib.so"
	vg_guarded fix "$HS_HELPERS/guard_forkwrite" lib.so short.so
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = $'parent-closed same\nchild-exited new' ] ||
		fail "got: $output"
	same_content lib.so short.so
}

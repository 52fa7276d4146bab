#!/usr/bin/env bats
# attack_guard.bats - hotswap guard --fix against a user who owns part of
# the path or passes root a descriptor: the attacker's steps run as
# nobody, the guarded program as root.  Each test asserts the harm did
# not happen (contents, owners, leftovers) and that the guard said why.
#
# To see them fail on an older library, point HOTSWAP_GUARD_LIB at it.

load common

setup() {
	hs_setup
	: "${HOTSWAP_GUARD_LIB:=$HS_TOP/libhotswap-guard.so}"
	export HOTSWAP_GUARD_LIB
	[ -r "$HOTSWAP_GUARD_LIB" ] ||
		fail "no $HOTSWAP_GUARD_LIB: run make check-build"
	chmod 755 "$W"
	head -c 4096 "$HS_HELPERS/libvictim_v1.so" >"$W/short.so"
}

teardown() {
	exec 4>&- 2>/dev/null || true
	hs_teardown
}

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# wait_temp DIR: wait until a guard temporary exists in DIR.  Bounded
# at 1000 rounds of 10 ms (10 s, far above the few ms cp needs) so a
# broken guard fails the test instead of hanging it; the loop waits for
# the condition, it does not stand in for it.
wait_temp() {
	local i
	for ((i = 0; i < 1000; i++)); do
		ls -A "$1" | grep -qF .hsg- && return 0
		sleep 0.01
	done
	fail "no guard temporary appeared in '$1'"
}

# Finding 1: the commit re-resolved the absolute path.  A directory
# component owned by nobody (n) is where nobody can rename the
# directory below it (sub) while a guarded cp writes sub/lib.so, and
# put something else at the old name.  cp's source is a FIFO that the
# test feeds only after the swap, so cp is between open and close when
# it happens, every time.  Before: the commit looked for the temporary
# under the new sub, found nothing, took that for "another process
# committed", and cp exited 0 with the file never replaced and the
# temporary left behind.  Now the guard holds the directory it opened
# in and commits there: the file cp opened is the one replaced.
@test "attack guard: directory above the file renamed mid-write: replaced where it was opened" {
	mkdir -p "$W/n/sub" "$W/evil"
	cp "$HS_HELPERS/libvictim_v1.so" "$W/n/sub/lib.so"
	chmod 755 "$W/n/sub/lib.so"
	chown nobody: "$W/n" "$W/evil"
	start_victim "$W/n/sub/lib.so"
	mkfifo "$W/src.fifo"
	"$HOTSWAP" guard --fix -- cp "$W/src.fifo" "$W/n/sub/lib.so" \
	    2>"$W/err" &
	local gpid=$!
	track "$gpid"
	exec 4>"$W/src.fifo"
	wait_temp "$W/n/sub"
	# nobody: move sub away, and put a symlink to a directory of its
	# own with a look-alike temporary and lib.so at the old name.
	local t
	t=$(ls -A "$W/n/sub" | grep -F .hsg-)
	as_nobody sh -c "mv '$W/n/sub' '$W/n/moved' &&
	    echo nobody >'$W/evil/lib.so' && echo nobody >'$W/evil/$t' &&
	    ln -s '$W/evil' '$W/n/sub'"
	cat "$W/short.so" >&4
	exec 4>&-
	local st=0
	wait "$gpid" || st=$?
	[ "$st" -eq 0 ] || fail "cp failed ($st): $(cat "$W/err")"
	[ "$(grep -c . "$W/err")" -eq 1 ] || fail "not one line: $(cat "$W/err")"
	grep -q "lib.so' is mapped by pid $VPID" "$W/err" ||
		fail "no fix line: $(cat "$W/err")"
	same_content "$W/n/moved/lib.so" "$W/short.so"
	[ "$(cat "$W/evil/lib.so")" = nobody ] || fail "evil/lib.so changed"
	[ "$(cat "$W/evil/$t")" = nobody ] || fail "evil temporary changed"
	[ -z "$(ls -A "$W/n/moved" | grep -F .hsg-)" ] ||
		fail "temporary left: $(ls -A "$W/n/moved")"
	victim_alive
	[ "$VALIVE" = 1 ]
}

# Finding 1, second half: the name the program opened now holds another
# file (put there by someone who may write the directory) when the
# program closes.  The guard does not put its copy over a file it never
# saw: the close fails with one line, the other file stays, and no
# temporary is left.
@test "attack guard: file replaced in its directory mid-write: close fails, other file kept" {
	mkdir -p "$W/d"
	cp "$HS_HELPERS/libvictim_v1.so" "$W/d/lib.so"
	chmod 755 "$W/d/lib.so"
	chown nobody: "$W/d"
	start_victim "$W/d/lib.so"
	mkfifo "$W/src.fifo"
	"$HOTSWAP" guard --fix -- cp "$W/src.fifo" "$W/d/lib.so" \
	    2>"$W/err" &
	local gpid=$!
	track "$gpid"
	exec 4>"$W/src.fifo"
	wait_temp "$W/d"
	as_nobody sh -c "echo other >'$W/d/new' && mv -f '$W/d/new' '$W/d/lib.so'"
	cat "$W/short.so" >&4
	exec 4>&-
	local st=0
	wait "$gpid" || st=$?
	[ "$st" -ne 0 ] || fail "cp succeeded: $(cat "$W/err")"
	grep -q "d/lib.so' was replaced or removed while" "$W/err" ||
		fail "no reason: $(cat "$W/err")"
	[ "$(cat "$W/d/lib.so")" = other ] || fail "the other file was replaced"
	[ -z "$(ls -A "$W/d" | grep -F .hsg-)" ] ||
		fail "temporary left: $(ls -A "$W/d")"
}

# Finding 2: at start the guard adopted every inherited descriptor named
# like a temporary and holding a lock in the guard's span.  A root
# program that inherits one from a user (su in the user's session keeps
# descriptors) then renamed the user's file over root's at exit.  Now
# only a temporary owned by the process's effective user or by the
# destination's owner is adopted (one the guard made is always one of
# the two), and the guard says it left the other alone.
@test "attack guard: a nobody's locked temporary inherited by root is not adopted" {
	mkdir "$W/t"
	chmod 1777 "$W/t"
	echo root >"$W/t/x"
	chmod 644 "$W/t/x"
	run "$HS_HELPERS/guard_fdpass" "$W/t/.x.hsg-AAAAAAAAAA" -- \
	    "$HOTSWAP" guard --fix -- true
	[ "$status" -eq 0 ] || fail "guard_fdpass failed ($status): $output"
	[ "$(cat "$W/t/x")" = root ] || fail "root's file replaced: $(cat "$W/t/x")"
	[ "$(stat -c %U "$W/t/x")" = root ] || fail "owner changed"
	[ "$(grep -c . <<<"$output")" -eq 1 ] || fail "not one line: $output"
	[[ $output == *"not adopting '$W/t/.x.hsg-AAAAAAAAAA'"*"owned by uid"* ]] ||
		fail "no reason: $output"
}

# Control for finding 2: the guard's own temporary, inherited across a
# plain fork and exec without the carried list (sh runs cat in a child
# that keeps the descriptor), is still adopted and committed.
@test "attack guard: control: root's own temporary inherited by a child is adopted" {
	cp "$HS_HELPERS/libvictim_v1.so" "$W/lib.so"
	chmod 755 "$W/lib.so"
	start_victim "$W/lib.so"
	run "$HOTSWAP" guard --fix -- bash -c "exec 3>'$W/lib.so'; cat '$W/short.so' >&3; cat /dev/null"
	[ "$status" -eq 0 ] || fail "failed: $output"
	same_content "$W/lib.so" "$W/short.so"
	victim_alive
	[ "$VALIVE" = 1 ]
}

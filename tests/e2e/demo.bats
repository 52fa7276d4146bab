#!/usr/bin/env bats
# demo.bats - make demo cleans up every process and file it made, also
# when interrupted as Ctrl-C does (SIGINT to its whole process group)
# or by SIGTERM, at several points of its story.  (tests/run.sh runs the
# demo itself, to the end, as a test of its own.)

load common

setup() {
	hs_setup
	[ -x "$HS_TOP/build/demo/service" ] ||
		fail "no demo programs in build/demo: run make check-build"
}

teardown() {
	hs_teardown
}

# The processes whose working directory or command line is in dir: the
# demo runs its programs inside its scratch directory, with relative
# names.
procs_in() {
	local p cwd
	for p in /proc/[0-9]*; do
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		if [[ $cwd == "$1"* ]] ||
		    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$1"; then
			echo "${p#/proc/}"
		fi
	done
}

# no_procs_in DIR: no process has its working directory or command
# line in DIR.
no_procs_in() {
	[ -z "$(procs_in "$1")" ]
}

# interrupt MARKER SIGNAL WHOM: run the demo with its output on a FIFO,
# read until a line contains MARKER, send SIGNAL to WHOM ("group" or
# "script"), then check that it exits and leaves nothing behind.
interrupt() {
	local marker=$1 sig=$2 whom=$3 line scratch= pid fd left
	mkfifo out
	# fd 3 closed: bats waits for every holder of it, and a child the demo
	# failed to clean up must make this test fail, not hang.
	setsid env HOTSWAP="$HS_TOP/hotswap" "$HS_TOP/demo/run.sh" \
	    >out 2>&1 3>&- &
	pid=$!
	track "$pid"
	exec {fd}<out
	while read -r -t 60 -u "$fd" line; do
		[[ $line =~ scratch\ directory\ ([^ ]+) ]] &&
			scratch=${BASH_REMATCH[1]}
		[[ $line == *"$marker"* ]] && break
	done
	[ -n "$scratch" ] || fail "the demo did not name its scratch directory"
	[[ $line == *"$marker"* ]] || fail "the demo never printed '$marker'"
	if [ "$whom" = group ]; then
		kill "-$sig" -- "-$pid"
	else
		kill "-$sig" "$pid"
	fi
	# EOF once the demo and every child holding the FIFO are gone; a
	# child left running holds it open past the deadline.  A pause in
	# the output is not the end: only EOF or the deadline (60 s, for a
	# clean-up that takes well under a second) ends the wait.
	local rc=0 deadline=$((SECONDS + 60))
	while :; do
		read -r -t 1 -u "$fd" line && continue
		rc=$?
		((rc > 128 && SECONDS < deadline)) || break
	done
	[ "$rc" -gt 128 ] || wait "$pid" || true
	# The last process to close the FIFO may still be on its way out
	# (its files closed, its working directory not yet let go): give
	# the list 10 s to empty.  One the demo left running stays on it.
	wait_for 10 no_procs_in "$scratch" || true
	left=$(procs_in "$scratch")
	if [ "$rc" -gt 128 ] || [ -e "$scratch" ] || [ -n "$left" ]; then
		local what="${left:+processes $left} $([ -e "$scratch" ] &&
		    echo "$scratch") $([ "$rc" -gt 128 ] && echo "(no EOF)")"
		[ -z "$left" ] || kill -KILL $left	# clean up after the demo
		rm -rf "$scratch"
		fail "the demo left behind: $what"
	fi
}

@test "demo: Ctrl-C (SIGINT to the group) while the service runs: nothing left" {
	interrupt "1. A service" INT group
}

@test "demo: SIGTERM to the script during the install(1) reader race: nothing left" {
	interrupt "install(1) removes the path" TERM script
}

@test "demo: Ctrl-C during the hotswap installs: nothing left" {
	interrupt "5. The same with hotswap install" INT group
}

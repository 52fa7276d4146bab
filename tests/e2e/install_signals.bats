#!/usr/bin/env bats
# install_signals.bats - SIGTERM, SIGINT and SIGHUP in the middle of a
# copy, with an unnamed (O_TMPFILE) temporary and with a named one (a
# FUSE filesystem without O_TMPFILE); and the progress line.
#
# The signal must arrive while the replacement is in flight, without
# sleeping to guess when that is.  Two ways:
#  - strace injects it on entry to the Nth write of the copy
#    (copy_file_range or pwrite64): exactly mid-copy, every time;
#  - a FIFO source that the test keeps open: hotswap is then blocked in
#    read(2) with the temporary open, which /proc/PID shows.
# The FIFO cases are skipped for now: hotswap cannot read a FIFO at all
# (see the BUG skips).

load common

setup() {
	hs_setup
	echo "old content" >old
	mkfile big 20480	# two copy_file_range chunks of 16 MiB
	mkdir d
	cp old d/dest
}

teardown() {
	hs_teardown
}

need_strace() {
	command -v strace >/dev/null || skip "strace is not installed"
	strace -o /dev/null true 2>/dev/null || skip "ptrace is not allowed here"
}

# mount_fuse: $W/mnt, a bindfs (FUSE) view of $W/back: a filesystem
# without O_TMPFILE, so hotswap has to use a named temporary there.
mount_fuse() {
	command -v bindfs >/dev/null ||
		skip "bindfs (Debian package bindfs) is not installed"
	mkdir back mnt
	# Started with a real stdin: with fd 0 closed (as a CI runner may have
	# it), the daemon gets /dev/fuse as fd 0 and then closes it when it
	# points its stdin at /dev/null, and every access fails with ENOTCONN.
	bindfs back mnt </dev/null || skip "cannot mount FUSE here"
	HS_MOUNTS+=("$W/mnt")
	python3 -c '
import os, sys
try:
    os.open(sys.argv[1], os.O_TMPFILE | os.O_WRONLY, 0o600)
except OSError:
    sys.exit(0)
sys.exit(1)' mnt || skip "this FUSE has O_TMPFILE: no named temporary"
	cp old back/dest
}

# interrupt SIG SYSCALL DEST: install big over DEST and have SIG
# delivered on entry to the second SYSCALL of the copy.  The trace is in
# $W/strace.log.
interrupt() {
	# LeakSanitizer cannot run under ptrace; the process dies anyway.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run --separate-stderr strace -f -qq -o "$W/strace.log" \
	    -e trace=openat,"$2",unlinkat -e inject="$2":signal="$1":when=2 \
	    "$HOTSWAP" install big "$3"
	[ "$(grep -cE "^[0-9]+ +$2\(" "$W/strace.log")" -eq 2 ] &&
	    grep -q "+++ killed by $1 +++" "$W/strace.log" ||
		fail "$1 did not end it mid-copy: $(tail -n 5 "$W/strace.log")"
}

@test "SIGTERM mid-copy (unnamed O_TMPFILE temporary): exit 143, DEST untouched, nothing left" {
	need_strace
	local before list; before=$(fileid d/dest) list=$(listing d)
	interrupt SIGTERM copy_file_range d/dest
	[ "$status" -eq 143 ] || fail "status $status: $stderr"
	grep -q 'O_TMPFILE.* = [0-9]' strace.log
	[ "$(fileid d/dest)" = "$before" ]
	[ "$(listing d)" = "$list" ]
}

@test "SIGINT mid-copy (unnamed temporary): exit 130, DEST untouched, nothing left" {
	need_strace
	local before list; before=$(fileid d/dest) list=$(listing d)
	interrupt SIGINT copy_file_range d/dest
	[ "$status" -eq 130 ] || fail "status $status: $stderr"
	[ "$(fileid d/dest)" = "$before" ]
	[ "$(listing d)" = "$list" ]
}

@test "SIGTERM mid-copy on a filesystem without O_TMPFILE: the named temporary is removed" {
	need_strace
	mount_fuse
	local before; before=$(fileid back/dest)
	interrupt SIGTERM pwrite64 mnt/dest
	[ "$status" -eq 143 ] || fail "status $status: $stderr"
	# It really was a named temporary, and the handler removed it.
	local tmp
	tmp=$(grep -o 'openat([0-9]*, "\.dest\.hs-[A-Za-z0-9]\{10\}", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW' strace.log |
	    grep -o '\.dest\.hs-[A-Za-z0-9]*') || fail "no named temporary"
	grep -q "unlinkat([0-9]*, \"$tmp\", 0) = 0" strace.log
	[ "$(fileid back/dest)" = "$before" ]
	[ "$(listing back)" = dest ]
}

@test "SIGINT and SIGHUP mid-copy without O_TMPFILE: exit 130 and 129, nothing left" {
	need_strace
	mount_fuse
	local before; before=$(fileid back/dest)
	interrupt SIGINT pwrite64 mnt/dest
	[ "$status" -eq 130 ] || fail "status $status: $stderr"
	[ "$(listing back)" = dest ]
	interrupt SIGHUP pwrite64 mnt/dest
	[ "$status" -eq 129 ] || fail "status $status: $stderr"
	[ "$(listing back)" = dest ]
	[ "$(fileid back/dest)" = "$before" ]
}

@test "CONTROL: SIGKILL mid-copy without O_TMPFILE leaves the named temporary (no handler can run)" {
	need_strace
	mount_fuse
	interrupt SIGKILL pwrite64 mnt/dest
	[ "$status" -eq 137 ] || fail "status $status: $stderr"
	run ls -A back
	[ "${#lines[@]}" -eq 2 ] || fail "expected dest and a temporary: $output"
	[[ ${lines[0]} =~ ^\.dest\.hs-[A-Za-z0-9]{10}$ ]] || fail "$output"
	same_content old back/dest
}

@test "SIGKILL mid-copy with O_TMPFILE leaves nothing: the kernel frees the unnamed file" {
	need_strace
	local list; list=$(listing d)
	interrupt SIGKILL copy_file_range d/dest
	[ "$status" -eq 137 ] || fail "status $status: $stderr"
	[ "$(listing d)" = "$list" ]
	same_content old d/dest
}

@test "after an interrupted install, the next one works (nothing stale in the way)" {
	need_strace
	mount_fuse
	interrupt SIGTERM pwrite64 mnt/dest
	[ "$status" -eq 143 ]
	run_hs install big mnt/dest
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content big back/dest
	[ "$(listing back)" = dest ]
}

# --- FIFO sources --------------------------------------------------------

# start_fifo_install DEST: hotswap install from the FIFO $W/src.fifo in the
# background (pid HPID, stderr in $W/err); the test holds the write end
# WFD and writes a first chunk of 4096 bytes.
start_fifo_install() {
	mkfifo src.fifo
	"$HOTSWAP" install src.fifo "$1" 2>"$W/err" 3>&- &
	HPID=$!
	track "$HPID"
	exec {WFD}>src.fifo
	head -c 4096 /dev/urandom >&"$WFD"
}

# fifo_signal SIG STATUS DIR DEST
fifo_signal() {
	local st=0
	start_fifo_install "$4"
	wait_for "$HS_TIMEOUT" blocked_in_copy "$HPID" "$3" ||
		fail "hotswap never blocked in the copy: $(cat "$W/err")"
	kill -"$1" "$HPID"
	wait "$HPID" || st=$?
	[ "$st" -eq "$2" ] || fail "status $st, not $2: $(cat "$W/err")"
}

@test "FIFO source: a pipe's content is installed" {
	echo "from a pipe" | "$HOTSWAP" install /dev/stdin d/dest
	[ "$(cat d/dest)" = "from a pipe" ]
}

@test "FIFO source blocked in read: SIGTERM gives 143, DEST untouched, no temporary" {
	local before list; before=$(fileid d/dest) list=$(listing d)
	fifo_signal TERM 143 "$W/d" d/dest
	[ "$(fileid d/dest)" = "$before" ]
	[ "$(listing d)" = "$list" ]
}

@test "FIFO source blocked in read: SIGINT gives 130, DEST untouched, no temporary" {
	local before list; before=$(fileid d/dest) list=$(listing d)
	fifo_signal INT 130 "$W/d" d/dest
	[ "$(fileid d/dest)" = "$before" ]
	[ "$(listing d)" = "$list" ]
}

@test "FIFO source blocked in read without O_TMPFILE: SIGTERM removes the named temporary" {
	mount_fuse
	local before; before=$(fileid back/dest)
	start_fifo_install mnt/dest
	wait_for "$HS_TIMEOUT" blocked_in_copy "$HPID" "$W/mnt" ||
		fail "hotswap never blocked in the copy: $(cat "$W/err")"
	# The named temporary is there while the copy runs...
	[[ $(ls -A back) == *.dest.hs-* ]]
	local st=0
	kill -TERM "$HPID"
	wait "$HPID" || st=$?
	[ "$st" -eq 143 ]
	# ... and gone after the signal.
	[ "$(listing back)" = dest ]
	[ "$(fileid back/dest)" = "$before" ]
}

# --- progress ------------------------------------------------------------

# slow_install_cmd: the command line to install big (20 MiB) over d/dest with the first
# copy_file_range held back 1.2 s by strace: the copy lasts over a second,
# which is the condition being tested, not a synchronisation.  (No leak
# check: LeakSanitizer cannot run under ptrace.)
slow_install_cmd() {
	printf '%q ' env \
	    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -o /dev/null \
	    -e trace=copy_file_range \
	    -e inject=copy_file_range:delay_exit=1200000:when=1 \
	    "$HOTSWAP" install big d/dest
}

@test "progress: a copy over 1 s shows a progress line when stderr is a terminal" {
	need_strace
	command -v script >/dev/null || skip "script(1) is not installed"
	run script -qec "$(slow_install_cmd)" /dev/null </dev/null
	[ "$status" -eq 0 ] || fail "$output"
	same_content big d/dest
	[[ $output == *$'\r'"hotswap: 'd/dest': "*" of "*"B ("*"%)"* ]] ||
		fail "no progress line in: $(printf '%q' "$output")"
}

@test "progress CONTROL: the same slow copy with stderr not a terminal shows none" {
	need_strace
	run --separate-stderr bash -c "$(slow_install_cmd)"
	[ "$status" -eq 0 ]
	same_content big d/dest
	[ -z "$stderr" ] || fail "unexpected stderr: $(printf '%q' "$stderr")"
}

# "Quick" is under the 1 s after which hotswap draws the line, and a
# loaded machine can stretch even a 12-byte install past it.  A run
# that, timed from outside (script(1) and all), took under 1 s was
# quick inside too, and must show nothing; a slower run proves nothing
# either way and is tried again: at most 20 runs or 120 s.  Runs take
# about 0.1 s here, and over 1 s only on a machine starved for seconds.
@test "progress: none for a quick copy, even on a terminal" {
	command -v script >/dev/null || skip "script(1) is not installed"
	local tries t0 us limit=$((SECONDS + 120))
	for ((tries = 1; ; tries++)); do
		t0=$EPOCHREALTIME
		run script -qec "$(printf '%q ' "$HOTSWAP" install old d/dest)" /dev/null </dev/null
		us=$(( ${EPOCHREALTIME/./} - ${t0/./} ))
		[ "$status" -eq 0 ]
		((us < 1000000)) && break
		((tries < 20 && SECONDS < limit)) ||
			fail "no install under 1 s in $tries runs (last: $us us)"
	done
	[ -z "$output" ] || fail "unexpected output: $(printf '%q' "$output")"
}

@test "progress: a FIFO fed in two parts over 1 s shows a progress line on a terminal" {
	command -v script >/dev/null || skip "script(1) is not installed"
	mkfifo src.fifo
	script -qec "$(printf '%q ' "$HOTSWAP" install src.fifo d/dest)" \
	    /dev/null >"$W/out" </dev/null 3>&- &
	HPID=$!
	track "$HPID"
	exec {WFD}>src.fifo
	head -c 4096 /dev/urandom >&"$WFD"
	# The copy must last over a second: that is what is tested, not a
	# wait for anything.  hotswap started its clock before it opened
	# the FIFO, which the exec above waited for, and it draws the line
	# once 16 MiB are in, after this pause: over 1.2 s, on any machine.
	sleep 1.2
	head -c 17M /dev/urandom >&"$WFD"
	exec {WFD}>&-
	local st=0
	wait "$HPID" || st=$?
	[ "$st" -eq 0 ] || fail "$(cat "$W/out")"
	[ "$(stat -c %s d/dest)" -eq $((17 * 1048576 + 4096)) ]
	grep -q "hotswap: 'd/dest': " "$W/out"
}

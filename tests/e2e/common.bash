# common.bash - shared helpers of the end-to-end tests of hotswap install
# and rollback.  Loaded by every tests/e2e/install*.bats.
#
# Environment (set by tests/run.sh):
#   HOTSWAP     the binary under test (the sanitizer build)
#   HS_HELPERS  build/helpers: victim, reader, libvictim_v{1,2}.so
#   HS_TOP      the top of the source tree
#
# Each test works in its own directory $W (mode 0755, so that tests that
# run hotswap as nobody can reach it) and registers what it starts:
# hs_teardown kills the processes, unmounts the mounts (last first) and
# removes $W, also when the test failed half way.
#
# Synchronisation is by pipes, never by sleeping: a helper says "ready"
# on a FIFO and the test reads that line with a bounded timeout, which is
# only a guard against a hang, not a delay.

bats_require_minimum_version 1.5.0

: "${HS_TOP:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${HOTSWAP:=$HS_TOP/build/san/hotswap}"
: "${HS_HELPERS:=$HS_TOP/build/helpers}"
export HOTSWAP HS_HELPERS HS_TOP

# How long any wait for a helper may take before the test fails.
HS_TIMEOUT=${HS_TIMEOUT:-10}

hs_setup() {
	[ -x "$HOTSWAP" ] || { echo "no $HOTSWAP: run make" >&2; return 1; }
	[ -x "$HS_HELPERS/victim" ] ||
		{ echo "no helpers in $HS_HELPERS: run make check-build" >&2;
		  return 1; }
	W=$(mktemp -d "${TMPDIR:-/tmp}/hs-e2e.XXXXXX")
	chmod 755 "$W"
	cd "$W" || return 1
	HS_PIDS=()
	HS_MOUNTS=()
	umask 022
}

# kill_tracked: kill and reap the processes track registered.
kill_tracked() {
	local pid
	for pid in "${HS_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	HS_PIDS=()
}

hs_teardown() {
	local i
	kill_tracked
	cd / || true
	for ((i = ${#HS_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${HS_MOUNTS[i]}" 2>/dev/null ||
			umount -l "${HS_MOUNTS[i]}" 2>/dev/null ||
			echo "# could not unmount ${HS_MOUNTS[i]}" >&3
	done
	if [ -n "${W:-}" ] && [ -d "$W" ]; then
		# Never follow a mount left behind into another filesystem.
		rm -rf --one-file-system "$W"
	fi
}

# mount_it ARGS... MOUNTPOINT: mount, and unmount in teardown.
mount_it() {
	local mnt
	mnt=$(realpath -- "${!#}") || return 1
	mount "$@" || return 1
	HS_MOUNTS+=("$mnt")
}

# track PID: kill it in teardown if it is still there.
track() {
	HS_PIDS+=("$1")
}

# ready_fifo NAME CMD...: run CMD with stdout on a FIFO (READY_FD) and
# wait for its "ready" line; NAME is who failed, if it does not say it.
# READY_PID is its pid; the process is killed in teardown.
ready_fifo() {
	local name=$1 fifo line
	shift
	fifo=$(mktemp -u "$W/.ready-fifo.XXXXXX")
	mkfifo "$fifo"
	"$@" >"$fifo" 3>&- &
	READY_PID=$!
	track "$READY_PID"
	exec {READY_FD}<"$fifo"
	rm -f "$fifo"
	read -r -t "$HS_TIMEOUT" -u "$READY_FD" line ||
		fail "$name did not say ready"
	[ "$line" = ready ] || fail "$name said '$line', not 'ready'"
}

# start_swapper ARGS...: run $SWAPPER (tests/helpers/swapper.c) as
# nobody, its stdout on a FIFO (SFD), and wait for its "ready".  SPID is
# its pid.
start_swapper() {
	local rc=0
	# setpriv execs the swapper: $! is the swapper itself.
	ready_fifo swapper setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups -- "$SWAPPER" "$@" || rc=$?
	SPID=$READY_PID
	SFD=$READY_FD
	return "$rc"
}

# use_run_tmpdir: TMPDIR not under /tmp or /var/tmp (stale ignores
# deleted code and temporary files there on purpose, and the tree itself
# may be cloned under /tmp).  Call it before hs_setup.
use_run_tmpdir() {
	case $HS_TOP/ in
	/tmp/*|/var/tmp/*) TMPDIR=/run/hotswap-e2e ;;
	*) TMPDIR=$HS_TOP/build/e2e-tmp ;;
	esac
	mkdir -p "$TMPDIR" && chmod 755 "$TMPDIR"
	export TMPDIR
}

# stop_swapper: end the swapper (continued first, if it was paused);
# sets FLIPS, and clears SPID.
stop_swapper() {
	local line
	kill -CONT "$SPID"
	kill -TERM "$SPID"
	read -r -t "$HS_TIMEOUT" -u "$SFD" line ||
		fail "swapper did not report its flips"
	[[ $line =~ ^flips=([0-9]+)$ ]] || fail "swapper said '$line'"
	FLIPS=${BASH_REMATCH[1]}
	wait "$SPID" || fail "swapper failed"
	SPID=
}

# fail MESSAGE: end the test with a message on the TAP stream.
fail() {
	echo "$*" >&2
	return 1
}

# start_victim LIB [PROGRAM]: run PROGRAM (default the victim helper) on
# LIB with its stdout on a FIFO, and wait for its "ready N" line.  Sets
# VPID (its pid), VFD (the read end) and VREADY (the version it reported).
start_victim() {
	local lib=$1 prog=${2:-$HS_HELPERS/victim} fifo line
	fifo=$(mktemp -u "$W/.victim-fifo.XXXXXX")
	mkfifo "$fifo"
	"$prog" "$lib" >"$fifo" 3>&- &
	VPID=$!
	track "$VPID"
	exec {VFD}<"$fifo"
	rm -f "$fifo"
	read -r -t "$HS_TIMEOUT" -u "$VFD" line ||
		fail "victim $VPID did not say ready"
	[[ $line =~ ^ready\ ([0-9]+)$ ]] ||
		fail "victim $VPID said '$line', not 'ready N'"
	VREADY=${BASH_REMATCH[1]}
}

# victim_alive: ask the victim (SIGUSR1) for the version it now runs;
# sets VALIVE, fails if it does not answer.
victim_alive() {
	local line
	kill -USR1 "$VPID" || fail "victim $VPID is gone"
	read -r -t "$HS_TIMEOUT" -u "$VFD" line ||
		fail "victim $VPID did not answer SIGUSR1"
	[[ $line =~ ^alive\ ([0-9]+)$ ]] ||
		fail "victim $VPID said '$line', not 'alive N'"
	VALIVE=${BASH_REMATCH[1]}
}

# victim_status: wait for the victim to end; sets VSTATUS (128+signal
# for a death by signal, as bash reports it).  The EOF on its FIFO says
# it is gone; the read is bounded, so a victim that survives fails.
victim_status() {
	local line
	if read -r -t "$HS_TIMEOUT" -u "$VFD" line; then
		fail "victim $VPID said '$line' instead of ending"
		return 1
	fi
	VSTATUS=0
	wait "$VPID" || VSTATUS=$?
}

# run_hs ARGS...: run hotswap, with $status, $output (stdout) and $stderr.
run_hs() {
	run --separate-stderr "$HOTSWAP" "$@"
}

# as_nobody CMD...: run a command as nobody:nogroup, no other groups.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# run_hs_nobody ARGS...: run_hs as nobody.
run_hs_nobody() {
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups -- "$HOTSWAP" "$@"
}

# one_error_line NEEDLE: stderr is exactly one line, a hotswap message,
# and it contains NEEDLE (the escaped path, usually).
one_error_line() {
	[ "${#stderr_lines[@]}" -eq 1 ] ||
		fail "expected one line on stderr, got ${#stderr_lines[@]}:" \
		    "$stderr"
	[[ ${stderr_lines[0]} == "hotswap: "* ]] ||
		fail "stderr does not start with 'hotswap: ': $stderr"
	[[ ${stderr_lines[0]} == *"$1"* ]] ||
		fail "stderr does not mention '$1': $stderr"
}

# fileid PATH: "inode size sha256" of a file, not following a last link.
fileid() {
	printf '%s %s %s\n' "$(stat -c '%i %s' -- "$1")" \
	    "$(sha256sum <"$1" | cut -d' ' -f1)"
}

# listing DIR: the names in DIR (dot files included), one per line, with
# non-printable bytes escaped so a newline in a name stays one entry.
listing() {
	(cd "$1" && ls -A --quoting-style=escape | LC_ALL=C sort)
}

# mkfile PATH SIZE_KIB: a file of random content.
mkfile() {
	head -c "$(( $2 * 1024 ))" /dev/urandom >"$1"
}

# same_content A B: fail unless the two files are byte-identical.
same_content() {
	cmp -s -- "$1" "$2" || fail "'$1' and '$2' differ"
}

# blocked_in_copy PID DIR: PID has its temporary in DIR open and sleeps
# in read(2) on a pipe or FIFO, waiting for more than the first chunk.
# (A state no pipe can announce: poll it with wait_for.)
blocked_in_copy() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[[ $(readlink "$fd") == "$2"/* ]] || continue
		[[ $(cat /proc/"$1"/wchan) == *pipe_read* ]] && return 0
	done
	return 1
}

# wait_for TIMEOUT CMD...: poll until CMD succeeds, at most TIMEOUT s.
# For states that no pipe can announce (a process blocked in read(2)):
# the condition is checked, the short pause only paces the polling.
wait_for() {
	local limit=$(( SECONDS + $1 ))
	shift
	until "$@"; do
		[ "$SECONDS" -le "$limit" ] || return 1
		sleep 0.02
	done
}

# stale_common.bash - helpers of the stale_*.bats tests (descriptors,
# scripts, classes, formats, attacks), on top of common.bash.
#
# Interpreters are started with their code on the command line or in a
# script, and say "ready" on a FIFO once they hold what the test needs:
# the test reads that line, it never sleeps.

load common

# perl -e "$HOLD" FILE: holds FILE open, says "ready", and sleeps.
HOLD='open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!"; $| = 1;
print "ready\n"; sleep;'

stale_setup() {
	use_run_tmpdir
	hs_setup || return 1
	CGS=()
	CGLEAVES=()
}

# stale_perl_setup: stale_setup, for tests whose processes are perl.
stale_perl_setup() {
	stale_setup || return 1
	command -v perl >/dev/null || skip "perl is not installed"
}

stale_teardown() {
	local i
	kill_tracked
	# Cgroups last made first.  A killed process leaves its cgroup as it
	# is reaped: the leaves are waited for (bounded); a parent another
	# test also uses is left to it.
	for ((i = ${#CGS[@]} - 1; i >= 0; i--)); do
		if [[ " ${CGLEAVES[*]} " == *" ${CGS[i]} "* ]]; then
			wait_for 5 rmdir -- "${CGS[i]}" 2>/dev/null ||
				echo "# could not remove ${CGS[i]}" >&3
		else
			rmdir -- "${CGS[i]}" 2>/dev/null || true
		fi
	done
	hs_teardown
}

# The real python3 (not a pyenv shim: /proc/PID/exe must be python).
find_python() {
	command -v python3 >/dev/null || return 1
	PY=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))') ||
		return 1
	[ -x "$PY" ]
}

# start_ready CMD...: run CMD with stdout on a FIFO and wait for its
# "ready" line.  Sets RPID; the process is killed in teardown.
start_ready() {
	local rc=0
	ready_fifo "$1" "$@" || rc=$?
	RPID=$READY_PID
	RFD=$READY_FD
	return "$rc"
}

# aged PID: wait until PID started more than 5 clock ticks ago.  stale
# calls a script changed only when its ctime is 2 ticks past the start
# (the start time's precision): a change made sooner is not one it
# promises to see.  A clock condition, polled; not a readiness wait.
aged() {
	local hz
	hz=$(getconf CLK_TCK)
	wait_for 10 sh -c 'st=$(sed "s/.*) //" "/proc/$1/stat" | cut -d" " -f20)
	    up=$(cut -d" " -f1 /proc/uptime)
	    awk -v s="$st" -v u="$up" -v hz="$2" "BEGIN { exit !(u * hz - s > 5) }"' \
	    sh "$1" "$hz" || fail "process $1 does not age"
}

# replace FILE: a new file renamed over FILE, as a package manager does.
replace() {
	cp -- "$1" "$1.new" && echo "# new" >>"$1.new" && mv -f -- "$1.new" "$1"
}

# stale_lines PID: the indented file lines of stale -p PID ($output).
stale_lines() {
	run_hs stale -p "$1"
	printf '%s\n' "$output" | grep '^	' || true
}

# cgroup2 mount point, or skip.  Sets CG2.
need_cgroup2() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to make cgroups"
	CG2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") {
		if ($(i + 1) == "cgroup2") print $5; break } }' \
	    /proc/self/mountinfo | head -n 1)
	[ -n "$CG2" ] || skip "no cgroup2 file system mounted"
	[ "$(grep '^0::' /proc/self/cgroup)" = "0::/" ] ||
		skip "cgroup2 at $CG2 is not the root of our cgroup namespace"
}

# make_cgroup PATH: mkdir -p under $CG2, each level removed in teardown.
make_cgroup() {
	local p= c
	local IFS=/
	for c in $1; do
		[ -n "$c" ] || continue
		p=$p/$c
		if [ ! -d "$CG2$p" ]; then
			mkdir "$CG2$p" || skip "cannot make a cgroup $CG2$p"
			CGS+=("$CG2$p")
		fi
	done
	CGLEAVES+=("$CG2$p")
}

#!/usr/bin/env bash
# run.sh - the hotswap demo: what replacing a file in use does to the
# process running it and to anyone reading it; four ways that go wrong,
# then hotswap.  `make demo` builds the programs and runs this.
#
#   1  a service dlopen()s lib/libdemo.so v1 and calls it every millisecond
#   2  cp of a smaller v2 over it: the service dies of SIGBUS
#   3  cp of a same-size v2 whose code moved: it dies of SIGILL
#   4  cp over its running executable: "Text file busy"; install(1)
#      succeeds, but a reader of the path sees it missing or half-written
#   5  hotswap install of both: the service runs on, on v1; readers see
#      only whole files; hotswap who and stale show who runs old code;
#      a restarted service runs v2
#   6  hotswap install --in-place over the mapped library: refused
#   7  a power cut while install(1) and hotswap replace the library:
#      build/powercut/powercut cuts after every event; install(1) can
#      leave it missing or torn, hotswap never (skipped without FUSE)
#
# The demo checks its own expectations: each one that does not hold
# prints a line "FAILED: ...".  Exit status 0 if every one held, 1 if
# not, 2 if the demo could not start.  HOTSWAP names the hotswap binary
# (default: hotswap at the top of the source tree).
#
# Everything happens in a scratch directory from mktemp -d.  Every
# process and file the demo makes is gone when it ends, also when it is
# interrupted.  Synchronisation is by the lines the programs write to
# FIFOs, never by sleeping; timeouts only guard against hangs.  Only
# bash, coreutils, GNU install, hotswap, demo/*.c programs and, for 7,
# the test suite's powercut and its checker are used.
set -u
shopt -s extglob
demo_t0=${EPOCHREALTIME//[.,]/}	# see usec() below

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build/demo
hotswap=${HOTSWAP:-$top/hotswap}
ROUNDS=5		# back-and-forth replacements with install and hotswap
GAP_PAIRS=5000		# install(1) pairs at most, until a reader sees the gap
GAP_SECONDS=60		# ... or this long
TIMEOUT=10		# seconds: the longest any program may take to answer

if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B='' D='' G='' R='' N=''
fi

for f in service service_v2 poller libdemo_v1.so libdemo_v2.so \
    libdemo_v2_moved.so; do
	if [ ! -f "$build/$f" ]; then
		echo "demo: $build/$f is missing: run 'make demo'" >&2
		exit 2
	fi
done
if ! hotswap_path=$(command -v "$hotswap"); then
	echo "demo: no hotswap at '$hotswap': run 'make demo' or set HOTSWAP" >&2
	exit 2
fi
[[ $hotswap_path == /* ]] || hotswap_path=$PWD/$hotswap_path

# ---- processes, files, cleanup ----------------------------------------

declare -A live=()	# pid -> the fd of the FIFO it writes to
scratch=

# shellcheck disable=SC2317	# it runs from a trap
# Every process the demo starts is its child until it is reaped, so the
# cleanup asks /proc for our children rather than trusting bookkeeping
# that a signal may have interrupted half-way.
kill_children() {
	local f stat fields IFS=$' \t\n'	# a trap may run inside "IFS= read"
	for f in /proc/[0-9]*/stat; do
		IFS= read -r stat 2>/dev/null <"$f" || continue
		read -r -a fields <<<"${stat##*) }"
		if [ "${fields[1]:-}" = "$$" ]; then
			f=${f#/proc/}
			kill -TERM "${f%/stat}" 2>/dev/null
		fi
	done
	wait
}

# shellcheck disable=SC2317
cleanup() {
	trap - INT TERM HUP EXIT
	set +u
	kill_children
	cd / && [ -n "$scratch" ] && rm -rf "$scratch"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP
trap 'rc=$?; cleanup; exit $rc' EXIT
# The service's deaths are reported by us, not by bash's "Bus error"
# notices, which it leaves out for signals that the script traps.  The
# children still start with the default actions: exec resets handlers.
trap : BUS ILL SEGV

scratch=$(mktemp -d "${TMPDIR:-/tmp}/hsdemo.XXXXXX") || exit 2
cd "$scratch" || exit 2
mkdir bin lib pkg run
cp "$build/libdemo_v1.so" pkg/libdemo-v1.so
cp "$build/libdemo_v2.so" pkg/libdemo-v2.so
cp "$build/libdemo_v2_moved.so" pkg/libdemo-v2-moved.so
cp "$build/service" pkg/service-v1
cp "$build/service_v2" pkg/service-v2
cp "$build/poller" run/poller
# A copy of hotswap: the same binary all through, even if the tree's is
# rebuilt meanwhile.
cp "$hotswap_path" run/hotswap || exit 2
hotswap=$scratch/run/hotswap

# spawn ERRFILE CMD...: start CMD in the background with its stdout on a
# FIFO, which we read; sets $spawned to its pid.
nfifo=0
spawn() {
	local err=$1 fifo=run/fifo.$nfifo fd
	shift
	nfifo=$((nfifo + 1))
	mkfifo "$fifo" || exit 2
	"$@" >"$fifo" 2>"$err" &
	spawned=$!
	exec {fd}<"$fifo"
	rm -f "$fifo"
	live[$spawned]=$fd
}

# next_line PID: read its next line into $line.  Status 0, 1 at end of
# file (it closed its stdout: it died), >128 on timeout.
next_line() {
	IFS= read -r -t "$TIMEOUT" -u "${live[$1]}" line
}

# reap PID: close its FIFO, wait for it; its exit status in $status.
reap() {
	local fd=${live[$1]}
	exec {fd}<&-
	wait "$1" 2>/dev/null
	status=$?
	unset "live[$1]"
}

# await_death PID: read until it dies, reap it.  1 if it had to be killed.
await_death() {
	local rc
	while next_line "$1"; do :; done
	rc=$?
	[ "$rc" -gt 128 ] && kill -KILL "$1"
	reap "$1"
	[ "$rc" -le 128 ]
}

# stop PID: SIGTERM and reap, unless it is reaped already.
stop() {
	[ -n "${live[$1]:-}" ] || return 0
	kill -TERM "$1" 2>/dev/null
	await_death "$1"
}

# start_service EXE: start EXE on lib/libdemo.so; $svc its pid, $libv and
# $exev the versions it reports, $code_off the offset of the code it calls.
start_service() {
	spawn run/service.err "$1" lib/libdemo.so
	svc=$spawned libv='?' exev='?' code_off=0
	if next_line "$svc" && [[ $line == ready\ * ]]; then
		read -r _ libv exev code_off <<<"$line"
		return 0
	fi
	failed "the service did not start: $(cat run/service.err)"
	stop "$svc"
	return 1
}

# ask PID: SIGUSR1; true if it answers "alive", with $libv $exev set.
ask() {
	libv='?' exev='?'
	kill -USR1 "$1" 2>/dev/null && next_line "$1" &&
	    [[ $line == alive\ * ]] && read -r _ libv exev <<<"$line"
}

# check_alive PID: ask; if PID does not answer, reap it.  $ran says for
# the table how it fared: "kept running, on v1", "killed: SIGBUS"...
check_alive() {
	if ask "$1"; then
		ran="kept running, on v$libv"
		return 0
	fi
	kill -KILL "$1" 2>/dev/null	# if it hangs rather than died
	await_death "$1"
	show_out "$(cat run/service.err)"
	ran="killed: $(signame "$status")"
	[ "$status" -eq 137 ] && ran="did not answer"
	return 1
}

# start_poller PATH OLD NEW: $poller its pid.
start_poller() {
	spawn run/poller.err run/poller "$@"
	poller=$spawned
	next_line "$poller" && [ "$line" = ready ]
}

# counts_line: parse the poller's counts in $line into $reads $old $new
# $missing $torn $torn_len; status 1 if $line is not such a line.
counts_line() {
	reads=0 old=0 new=0 missing=0 torn=0 torn_len=-1
	[[ $line == reads=* ]] || return 1
	read -r reads old new missing torn torn_len <<<"$line"
	reads=${reads#*=} old=${old#*=} new=${new#*=}
	missing=${missing#*=} torn=${torn#*=} torn_len=${torn_len#*=}
}

# poll_counts PID: the poller's counts so far (SIGUSR1); it goes on.
poll_counts() {
	kill -USR1 "$1" && next_line "$1" && counts_line
}

# stop_poller PID: its final counts, as poll_counts; it is reaped.
stop_poller() {
	line=
	kill -TERM "$1" && next_line "$1"
	counts_line
	await_death "$1"
}

# ---- what the person watching sees ------------------------------------

nok=0 nfail=0
step() { printf '\n%s%s%s\n' "$B" "$*" "$N"; }
say() { printf '   %s\n' "$@"; }	# one line per argument
show_cmd() { printf '   %s$ %s%s\n' "$D" "$*" "$N"; }
# show_out TEXT: indented, at most 8 lines.
show_out() {
	local l n=0
	[ -n "$1" ] || return 0
	while IFS= read -r l; do
		n=$((n + 1))
		[ "$n" -le 8 ] && printf '     %s%s%s\n' "$D" "$l" "$N"
	done <<<"$1"
	[ "$n" -gt 8 ] && printf '     %s(%d more lines)%s\n' "$D" $((n - 8)) "$N"
	return 0
}
ok() { nok=$((nok + 1)); printf '   %sok%s      %s\n' "$G" "$N" "$*"; }
failed() { nfail=$((nfail + 1)); printf '   %sFAILED:%s %s\n' "$R" "$N" "$*"; }
# verdict STATUS OK-TEXT FAILED-TEXT
verdict() { if [ "$1" -eq 0 ]; then ok "$2"; else failed "$3"; fi; }

# The table at the end: one row per method.
rows=()
row() { rows+=("$(printf '%-26s %-22s %s' "$1" "$2" "$3")"); }

# run_hs FEATURE ARGS...: run hotswap ARGS and show it; $hs_out, $hs_rc.
# Status 1 if this hotswap does not have FEATURE yet (an unknown command
# or option): the first time that is a FAILED line, then a note.
declare -A unavailable=()
run_hs() {
	local feature=$1
	shift
	show_cmd "hotswap $*"
	if [ -n "${unavailable[$feature]:-}" ]; then
		say "(skipped: hotswap $feature is not available yet)"
		return 1
	fi
	hs_out=$("$hotswap" "$@" 2>&1)
	hs_rc=$?
	if [ "$hs_rc" -eq 2 ] && [[ $hs_out == *"unknown command"* ||
	    $hs_out == *"unrecognized option"* ||
	    $hs_out == *"invalid option"* ]]; then
		unavailable[$feature]=1
		show_out "${hs_out%%$'\n'*}"
		failed "hotswap $feature: not yet available"
		return 1
	fi
	show_out "$hs_out"
}

# finish: the table of what happened, the verdict, and exit: 0 if every
# expectation held.  Also the way out when the demo cannot go on.
finish() {
	step "What happened"
	printf '%s%-26s %-22s %s%s\n' "$B" "method" "the running process" \
	    "a reader of the path" "$N"
	[ "${#rows[@]}" -gt 0 ] && printf '%s\n' "${rows[@]}"
	echo
	if [ "$nfail" -eq 0 ]; then
		printf '%sdemo passed%s: all %d expectations held (%s)\n' \
		    "$G" "$N" "$nok" "$(seconds "$demo_t0")"
		exit 0
	fi
	printf '%sdemo FAILED%s: %d of %d expectations did not hold (%s)\n' \
	    "$R" "$N" "$nfail" $((nok + nfail)) "$(seconds "$demo_t0")"
	exit 1
}

# usec: the time now in microseconds; elapsed T0: milliseconds since T0,
# an earlier usec.  (EPOCHREALTIME's decimal point follows the locale.)
usec() { local t=$EPOCHREALTIME; echo "${t//[.,]/}"; }
elapsed() { echo $((($(usec) - $1) / 1000)); }
# seconds T0: the time since T0 as "4.2 s".
seconds() {
	local ms
	ms=$(elapsed "$1")
	printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

names() { [[ $1 =~ (^|[^0-9])$2([^0-9]|$) ]]; }	# TEXT PID
same() { [ "$(cksum <"$1")" = "$(cksum <"$2")" ]; }
size() { stat -c %s "$1"; }
# signame STATUS: "SIGBUS" for a death by SIGBUS, else "exit N".
signame() {
	if [ "$1" -gt 128 ]; then
		echo "SIG$(kill -l $(($1 - 128)))"
	else
		echo "exit $1"
	fi
}

# maps_line PID FILE OFFSET: the line of /proc/PID/maps that maps
# OFFSET of FILE, blanks squeezed.
maps_line() {
	local range perms off dev ino path lo hi
	while read -r range perms off dev ino path; do
		[[ $path == */"$2" ]] || continue
		lo=$((16#${range%-*})) hi=$((16#${range#*-})) off=$((16#$off))
		if (($3 >= off && $3 < off + hi - lo)); then
			printf '%s %s %08x %s %s %s\n' "$range" "$perms" "$off" \
			    "$dev" "$ino" "$path"
			return 0
		fi
	done <"/proc/$1/maps"
	echo "(no mapping of $2 holds offset $3)"
}

# ---- 1: the service ---------------------------------------------------

case $(uname -m) in
x86_64) traps="0f 0b" trapname=ud2 ;;
aarch64) traps="00 00 00 00" trapname="udf #0" ;;
*) traps='?' trapname='?' ;;
esac

printf '%shotswap demo%s: replacing a library and an executable in use\n' \
    "$B" "$N"
say "scratch directory $scratch (removed at the end)"

step "1. A service dlopen()s lib/libdemo.so v1 and calls it every millisecond"
cp pkg/libdemo-v1.so lib/libdemo.so
cp pkg/service-v1 bin/service
show_cmd "bin/service lib/libdemo.so &"
start_service bin/service || finish
say "Service $svc runs library v$libv, executable v$exev.  The code it" \
    "calls is at offset $code_off of lib/libdemo.so, in this mapping:"
show_out "$(maps_line "$svc" lib/libdemo.so "$code_off")"
v1size=$(size pkg/libdemo-v1.so) v2size=$(size pkg/libdemo-v2.so)
movsize=$(size pkg/libdemo-v2-moved.so)
read -r -a at <<<"$(od -An -tx1 -j $((code_off)) -N$(((${#traps} + 1) / 3)) \
    pkg/libdemo-v2-moved.so)"
[ "$v2size" -lt $((code_off)) ]
verdict $? "libdemo-v2.so ($v2size bytes) ends before offset $code_off" \
    "libdemo-v2.so ($v2size bytes) does not end before offset $code_off"
[ "$movsize" -eq "$v1size" ]
verdict $? "libdemo-v2-moved.so has v1's size to the byte ($v1size)" \
    "libdemo-v2-moved.so is $movsize bytes, v1 $v1size: not the same size"
[ "${at[*]}" = "$traps" ]
verdict $? "libdemo-v2-moved.so has $trapname ($traps) at offset $code_off" \
    "libdemo-v2-moved.so has '${at[*]}' at offset $code_off, not $trapname"

# ---- 2, 3: cp over the library ----------------------------------------

# cp_lib LABEL SRC EXPECT...: cp SRC over the library under the service,
# which must die of one of the signals EXPECT.
cp_lib() {
	local label=$1 src=$2 sig
	shift 2
	show_cmd "cp $src lib/libdemo.so"
	cp "$src" lib/libdemo.so
	[ -n "$pause" ] && kill -USR2 "$svc" && next_line "$svc"
	if ! await_death "$svc"; then
		failed "the service was still running $TIMEOUT s after the cp"
		row "$label" "survived (unexpected)" "-"
		return
	fi
	show_out "$(cat run/service.err)"
	sig=$(signame "$status")
	[[ " $* " == *" $sig "* ]]
	verdict $? "the service died of $sig, as expected" \
	    "the service ended with $sig, not ${*// / or }"
	row "$label" "killed: $sig" "-"
}

step "2. cp libdemo-v2.so over it: v2 is a smaller file"
say "cp opens the library with O_TRUNC and writes v2 into the same inode:" \
    "the service's mapping now shows v2's bytes, and the page it calls is" \
    "past the end of the file."
pause=
cp_lib "cp smaller lib" pkg/libdemo-v2.so SIGBUS

step "3. cp libdemo-v2-moved.so over it: the same size, the code moved"
cp pkg/libdemo-v1.so lib/libdemo.so
start_service bin/service || finish
say "A new service $svc, on v1.  It is asked to pause its calls while cp" \
    "runs, so that it meets the finished file, not the emptied one (that" \
    "would be SIGBUS again).  Where v1's code was, v2-moved has $trapname."
if ! { kill -USR2 "$svc" && next_line "$svc" && [ "$line" = paused ]; }; then
	failed "the service did not pause"
fi
pause=1
cp_lib "cp same-size lib" pkg/libdemo-v2-moved.so SIGILL SIGSEGV

# ---- 4: cp and install(1) over the executable --------------------------

step "4. cp over the running executable, then install(1)"
cp pkg/libdemo-v1.so lib/libdemo.so
start_service bin/service || finish
say "A new service $svc runs bin/service."
show_cmd "cp pkg/service-v2 bin/service"
out=$(cp pkg/service-v2 bin/service 2>&1)
rc=$?
show_out "$out"
if [ "$rc" -ne 0 ] && [[ $out == *"Text file busy"* ]] &&
    same bin/service pkg/service-v1; then
	ok "the kernel refused (ETXTBSY) and the file is unchanged"
	row "cp new executable" "refused: ETXTBSY" "the old file"
else
	failed "cp was not refused with 'Text file busy' (status $rc)"
	row "cp new executable" "NOT refused (cp: $rc)" "?"
fi

say "install(1) removes the path, then writes a new file under that" \
    "name.  Meanwhile a reader reads the path whole, again and again."
start_poller bin/service pkg/service-v1 pkg/service-v2 ||
    failed "the poller did not start"
pol=$poller
show_cmd "install pkg/service-v2 bin/service; install pkg/service-v1 ..." \
    "(at least $ROUNDS times, until the reader has seen the gap)"
# The gap lasts microseconds, and how often a reader lands in it depends
# on the machine: thousands of times in 10 installs on an idle one, never
# in 10 on a slow or loaded one.  So the installs go on, past ROUNDS, until
# the reader has seen the path missing or torn, at most GAP_PAIRS pairs
# or GAP_SECONDS seconds; reaching the bound is a failure, said as such.
irc=0 pairs=0 gap_t0=$(usec)
while :; do
	install pkg/service-v2 bin/service || irc=1
	install pkg/service-v1 bin/service || irc=1
	pairs=$((pairs + 1))
	[ "$pairs" -lt "$ROUNDS" ] && continue
	poll_counts "$pol" || break
	[ $((missing + torn)) -gt 0 ] && break
	[ "$pairs" -ge "$GAP_PAIRS" ] && break
	[ "$(elapsed "$gap_t0")" -ge $((GAP_SECONDS * 1000)) ] && break
done
stop_poller "$pol"
msg="The reader: $reads reads during $((2 * pairs)) installs:"
say "$msg $((old + new)) whole, $missing missing, $torn torn."
msg="The shortest torn read got $torn_len of $(size pkg/service-v1) bytes."
[ "$torn_len" != -1 ] && say "$msg"
check_alive "$svc" && [ "$libv$exev" = 11 ] && [ "$irc" -eq 0 ]
verdict $? "every install succeeded; the service runs on (v$libv, v$exev)" \
    "install failed ($irc), or the service did not run on v1 ($ran)"
msg="the reader never saw the path missing or torn in $reads reads during"
msg+=" $((2 * pairs)) installs (the bound: $GAP_PAIRS pairs or $GAP_SECONDS s)"
[ $((missing + torn)) -gt 0 ]
verdict $? "the reader saw the path missing $missing and torn $torn times" \
    "$msg"
row "install(1) executable x$((2 * pairs))" "$ran" \
    "missing $missing, torn $torn of $reads"
stop "$svc"

# ---- 5: hotswap install --------------------------------------------------

step "5. The same with hotswap install"
cp pkg/libdemo-v1.so lib/libdemo.so
start_service bin/service || finish
say "A new service $svc, on v1.  Who maps the library?"
if run_hs who who lib/libdemo.so; then
	[ "$hs_rc" -eq 0 ] && names "$hs_out" "$svc"
	verdict $? "hotswap who names service $svc" \
	    "hotswap who did not name service $svc (status $hs_rc)"
fi

start_poller lib/libdemo.so pkg/libdemo-v1.so pkg/libdemo-v2.so ||
    failed "the poller did not start"
pol_lib=$poller
start_poller bin/service pkg/service-v1 pkg/service-v2 ||
    failed "the poller did not start"
pol_exe=$poller
say "Two readers poll lib/libdemo.so and bin/service."
show_cmd "hotswap install pkg/libdemo-v2.so lib/libdemo.so"
show_cmd "hotswap install pkg/service-v2 bin/service"
say "and back to v1, $ROUNDS times, then v2 to stay."
hrc=0
hs_out=
for ((i = 0; i <= 2 * ROUNDS; i++)); do
	[ $((i % 2)) -eq 0 ] && v=2 || v=1
	out=$("$hotswap" install "pkg/libdemo-v$v.so" lib/libdemo.so 2>&1) ||
	    { hrc=1; hs_out+=$out$'\n'; }
	out=$("$hotswap" install "pkg/service-v$v" bin/service 2>&1) ||
	    { hrc=1; hs_out+=$out$'\n'; }
done
stop_poller "$pol_lib"
lreads=$reads lmissing=$missing ltorn=$torn lbad=$((missing + torn))
stop_poller "$pol_exe"
ereads=$reads emissing=$missing etorn=$torn ebad=$((missing + torn))
show_out "${hs_out%$'\n'}"
[ "$hrc" -eq 0 ] && same lib/libdemo.so pkg/libdemo-v2.so &&
    same bin/service pkg/service-v2
verdict $? "all $((4 * ROUNDS + 2)) hotswap installs worked; v2 is in place" \
    "a hotswap install failed, or the paths do not hold v2"
check_alive "$svc" && [ "$libv$exev" = 11 ]
verdict $? "the service runs on: it answers library v$libv, executable v$exev" \
    "the service did not run on v1 ($ran; v$libv, v$exev)"
say "The readers: library: $lreads reads, $lmissing missing, $ltorn torn" \
    "             executable: $ereads reads, $emissing missing, $etorn torn"
[ "$lbad" -eq 0 ] && [ "$ebad" -eq 0 ] && [ "$lreads" -gt 0 ] &&
    [ "$ereads" -gt 0 ]
verdict $? "the readers only ever saw whole files" \
    "a reader saw a path missing or torn"
hs_row_reader="missing $((lmissing + emissing)), torn $((ltorn + etorn)) of"
hs_row_reader+=" $((lreads + ereads))"

say "Which processes still run replaced code?"
if run_hs stale stale -p "$svc"; then
	[ "$hs_rc" -eq 0 ] && names "$hs_out" "$svc" &&
	    [[ $hs_out == *libdemo.so* ]]
	verdict $? "hotswap stale shows service $svc on the replaced libdemo.so" \
	    "hotswap stale did not show $svc on libdemo.so (status $hs_rc)"
fi
say "The new library is in place, but nobody maps it yet:"
if run_hs who who lib/libdemo.so; then
	[ "$hs_rc" -eq 1 ]
	verdict $? "hotswap who finds no process (exit 1)" \
	    "hotswap who exited $hs_rc, not 1 (none)"
fi
say "Restart the service:"
stop "$svc"
show_cmd "bin/service lib/libdemo.so &"
start_service bin/service || finish
[ "$libv$exev" = 22 ]
verdict $? "the restarted service $svc runs library v2, executable v2" \
    "the restarted service runs library v$libv, executable v$exev"
if run_hs who who lib/libdemo.so; then
	[ "$hs_rc" -eq 0 ] && names "$hs_out" "$svc"
	verdict $? "hotswap who names service $svc" \
	    "hotswap who did not name service $svc (status $hs_rc)"
fi
row "hotswap install both x$((2 * ROUNDS + 1))" "$ran" \
    "$hs_row_reader"
row "  service restarted" "runs v$libv" "-"

# ---- 6: --in-place -------------------------------------------------------

step "6. hotswap install --in-place over the mapped library"
say "--in-place writes into the file's own inode, like cp: it must refuse" \
    "while a process maps it."
inplace="(not yet available)"
if run_hs "install --in-place" install --in-place pkg/libdemo-v1.so \
    lib/libdemo.so; then
	[ "$hs_rc" -eq 1 ] && names "$hs_out" "$svc"
	verdict $? "refused (exit 1), naming service $svc" \
	    "not refused with exit 1 naming $svc (status $hs_rc)"
	inplace="refused (pid $svc)"
	[ "$hs_rc" -eq 1 ] || inplace="NOT refused ($hs_rc)"
fi
kept="the old file"
same lib/libdemo.so pkg/libdemo-v2.so || kept="a changed file"
[ "$kept" = "the old file" ] && check_alive "$svc" && [ "$libv" = 2 ]
verdict $? "the library is unchanged; the service runs on (v$libv)" \
    "the library is $kept, or the service did not run on ($ran)"
row "hotswap install --in-place" "$inplace" "$kept"
stop "$svc"

# ---- 7: a power cut --------------------------------------------------------

# power_cut NAME CMD...: the library replaced by CMD through powercut in
# prefix mode; $pc_states, $pc_lost (missing, empty or torn), $pc_new
# (the states after CMD returned that have v2), $pc_last (all of those).
power_cut() {
	local out
	shift
	rm -rf pcref
	cp -a pcseed pcref
	(cd pcref && "$@") >/dev/null 2>&1
	out=$(TMPDIR=$scratch "$pc" -v --mode prefix --seed pcseed \
	    --check "$pc_check $scratch/pcseed $scratch/pcref libdemo.so" \
	    -- "$@" 2>&1)
	pc_states=$(grep -cE '^  (ok|rejected): ' <<<"$out")
	pc_lost=$(grep -cE '^  (ok|rejected): .*libdemo\.so=(missing|empty|torn)' \
	    <<<"$out")
	pc_last=$(sed -n 's/^cut .*(the command has exited): \([0-9]*\) states*, .*/\1/p' \
	    <<<"$out")
	pc_new=$(sed -n '/(the command has exited)/,$p' <<<"$out" |
	    grep -cE '^  (ok|rejected): .*libdemo\.so=new')
}

step "7. a power cut while the library is replaced"
pc=$top/build/powercut/powercut pc_check=$top/tests/powercut/check.sh
if [ ! -x "$pc" ] || [ ! -c /dev/fuse ]; then
	say "(skipped: needs /dev/fuse and build/powercut/powercut)"
else
	say "powercut runs the command once on a FUSE file system that logs" \
	    "every write, rename and fsync, then cuts the power after each" \
	    "one and counts every state that may survive (an ordered" \
	    "journal: what was not fsynced survives as any prefix)."
	mkdir pcseed
	cp pkg/libdemo-v1.so pcseed/libdemo.so
	show_cmd "powercut --mode prefix -- install -m 644 libdemo-v2.so libdemo.so"
	power_cut install install -m 644 "$scratch/pkg/libdemo-v2.so" libdemo.so
	[ "$pc_states" -gt 0 ] && [ "$pc_lost" -gt 0 ]
	verdict $? "install(1): the library is lost in $pc_lost of $pc_states states" \
	    "install(1) never lost the library ($pc_states states)"
	row "power cut: install(1)" "-" \
	    "lost in $pc_lost of $pc_states states"
	show_cmd "powercut --mode prefix -- hotswap install libdemo-v2.so libdemo.so"
	power_cut hotswap "$hotswap_path" install "$scratch/pkg/libdemo-v2.so" \
	    libdemo.so
	[ "$pc_states" -gt 0 ] && [ "$pc_lost" -eq 0 ] &&
	    [ "${pc_last:-0}" -gt 0 ] && [ "$pc_new" -eq "$pc_last" ]
	verdict $? "hotswap: never lost ($pc_states states), v2 once it returned" \
	    "hotswap lost the library in $pc_lost of $pc_states states, or v2 was not durable"
	row "power cut: hotswap" "-" \
	    "lost in $pc_lost of $pc_states states"
fi

# ---- the table ----------------------------------------------------------

finish

#!/usr/bin/env bats
# install.bats - hotswap install against real processes that map, run or
# read the file being replaced.  Every claim of crash safety is paired
# with a control: the same scenario, in the same harness, done the unsafe
# way (cp, install(1)), which must visibly break the process.

load common

setup() {
	hs_setup
	V1=$HS_HELPERS/libvictim_v1.so
	V2=$HS_HELPERS/libvictim_v2.so
	# The first page of v2: victim_version() is 256 KiB further on.
	head -c 4096 "$V2" >"$W/truncated.so"
}

teardown() {
	hs_teardown
}

@test "dlopen: a victim running v1 survives hotswap install v2, a new one gets v2" {
	mkdir lib
	cp "$V1" lib/libvictim.so
	start_victim "$W/lib/libvictim.so"
	[ "$VREADY" -eq 1 ]
	grep -q " $W/lib/libvictim.so\$" "/proc/$VPID/maps"

	run_hs install "$V2" lib/libvictim.so
	[ "$status" -eq 0 ]
	# The one line install has to say: who still runs the old version.
	[ "$stderr" = "hotswap: 1 process still runs the replaced version; to list: hotswap stale -p $VPID" ] ||
		fail "unexpected stderr: $stderr"
	same_content "$V2" lib/libvictim.so

	# The old process runs the old inode, now unnamed, and still works.
	victim_alive
	[ "$VALIVE" -eq 1 ]
	grep -q " $W/lib/libvictim.so (deleted)\$" "/proc/$VPID/maps"
	local old_pid=$VPID old_fd=$VFD

	start_victim "$W/lib/libvictim.so"
	[ "$VREADY" -eq 2 ]

	VPID=$old_pid VFD=$old_fd
	victim_alive
	[ "$VALIVE" -eq 1 ]
}

@test "dlopen: even a truncated library installed with hotswap does not hurt the victim" {
	mkdir lib
	cp "$V1" lib/libvictim.so
	start_victim "$W/lib/libvictim.so"

	run_hs install truncated.so lib/libvictim.so
	[ "$status" -eq 0 ]
	same_content truncated.so lib/libvictim.so
	for _ in 1 2 3; do
		victim_alive
		[ "$VALIVE" -eq 1 ]
	done
	kill -TERM "$VPID"
	victim_status
	[ "$VSTATUS" -eq 0 ]
}

@test "dlopen CONTROL: cp of the truncated library over the mapped one kills the victim with SIGBUS" {
	mkdir lib
	cp "$V1" lib/libvictim.so
	start_victim "$W/lib/libvictim.so"
	victim_alive
	[ "$VALIVE" -eq 1 ]

	cp truncated.so lib/libvictim.so
	victim_status
	[ "$VSTATUS" -eq $((128 + 7)) ] ||
		fail "victim ended with status $VSTATUS, not 135 (SIGBUS)"
}

@test "running executable: hotswap install over it works and the process lives on" {
	mkdir bin
	cp "$HS_HELPERS/victim" bin/prog
	start_victim "$V1" "$W/bin/prog"
	[ "$(readlink "/proc/$VPID/exe")" = "$W/bin/prog" ]

	run_hs install "$HS_HELPERS/reader" bin/prog
	[ "$status" -eq 0 ]
	[ "$stderr" = "hotswap: 1 process still runs the replaced version; to list: hotswap stale -p $VPID" ] ||
		fail "unexpected stderr: $stderr"
	same_content "$HS_HELPERS/reader" bin/prog
	[ "$(stat -c %a bin/prog)" = 755 ]

	victim_alive
	[ "$VALIVE" -eq 1 ]
	[ "$(readlink "/proc/$VPID/exe")" = "$W/bin/prog (deleted)" ]
	kill -TERM "$VPID"
	victim_status
	[ "$VSTATUS" -eq 0 ]
}

@test "running executable CONTROL: cp over it fails with Text file busy" {
	mkdir bin
	cp "$HS_HELPERS/victim" bin/prog
	start_victim "$V1" "$W/bin/prog"

	run cp "$HS_HELPERS/reader" bin/prog
	[ "$status" -ne 0 ]
	[[ $output == *"Text file busy"* ]] ||
		fail "cp did not fail with ETXTBSY: $output"
	same_content "$HS_HELPERS/victim" bin/prog
	victim_alive
	[ "$VALIVE" -eq 1 ]
}

# replace_loop N CMD...: replace dest N times, alternating a and b, with
# CMD SRC dest, while a reader reads dest; sets READS, MISSING, TORN.
replace_loop() {
	local n=$1 fifo line i rfd rpid t0
	shift
	fifo=$W/reader.fifo
	mkfifo "$fifo"
	"$HS_HELPERS/reader" dest a b 600 >"$fifo" 3>&- &
	rpid=$!
	track "$rpid"
	exec {rfd}<"$fifo"
	read -r -t "$HS_TIMEOUT" -u "$rfd" line && [ "$line" = ready ] ||
		fail "reader did not start: '$line'"
	t0=$SECONDS
	for ((i = 0; i < n; i++)); do
		if ((i % 2 == 0)); then
			"$@" b dest || fail "round $i: $* b dest failed"
		else
			"$@" a dest || fail "round $i: $* a dest failed"
		fi
	done
	# The reader may be gone already only if it hit its own time limit;
	# then it has reported all the same.
	kill -TERM "$rpid" 2>/dev/null
	read -r -t "$HS_TIMEOUT" -u "$rfd" line ||
		fail "reader did not report"
	echo "# $(basename "$1") ${*:2} x$n in $((SECONDS - t0)) s: $line" >&3
	[[ $line =~ ^reads=([0-9]+)\ old=([0-9]+)\ new=([0-9]+)\ missing=([0-9]+)\ torn=([0-9]+)$ ]] ||
		fail "reader said '$line'"
	READS=${BASH_REMATCH[1]}
	MISSING=${BASH_REMATCH[4]}
	TORN=${BASH_REMATCH[5]}
	OLD=${BASH_REMATCH[2]}
	NEW=${BASH_REMATCH[3]}
}

@test "readers never see a missing or torn file during 300 hotswap installs" {
	mkfile a 1024
	mkfile b 1536
	cp a dest
	# The leak check costs 35 ms a run at exit: 10 s over the loop, for
	# nothing the other tests do not check.  ASan itself stays on.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    replace_loop 300 "$HOTSWAP" install
	[ "$READS" -gt 0 ]
	[ "$OLD" -gt 0 ] && [ "$NEW" -gt 0 ]
	[ "$MISSING" -eq 0 ] || fail "$MISSING reads found no file"
	[ "$TORN" -eq 0 ] || fail "$TORN reads were torn"
	same_content a dest
}

@test "reader CONTROL: GNU install in the same loop shows missing or torn reads" {
	mkfile a 1024
	mkfile b 1536
	cp a dest
	replace_loop 300 install
	[ "$READS" -gt 0 ]
	[ $((MISSING + TORN)) -gt 0 ] ||
		fail "install(1) never showed a missing or torn file"
}

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

# start_reader: the reader helper on dest (old a, new b) with its stdout
# on a FIFO; waits for its "ready".  Sets RPID and RFD, and SAW (the
# kinds it has said it saw, " old new ..."; see reader_news).
start_reader() {
	local fifo=$W/reader.fifo line
	mkfifo "$fifo"
	"$HS_HELPERS/reader" dest a b 600 >"$fifo" 3>&- &
	RPID=$!
	track "$RPID"
	exec {RFD}<"$fifo"
	rm -f "$fifo"
	read -r -t "$HS_TIMEOUT" -u "$RFD" line && [ "$line" = ready ] ||
		fail "reader did not start: '$line'"
	SAW=
}

# reader_line: the next line of the reader that is not a "saw KIND"
# (those go into SAW); fails after HS_TIMEOUT s without one.
reader_line() {
	while read -r -t "$HS_TIMEOUT" -u "$RFD" LINE; do
		[[ $LINE == "saw "* ]] || return 0
		SAW+=" ${LINE#saw }"
	done
	fail "reader $RPID said nothing more"
}

# reader_news: take in the "saw KIND" lines the reader has written so
# far, without waiting.
reader_news() {
	local line
	while read -r -t 0 -u "$RFD"; do
		read -r -u "$RFD" line || break
		[[ $line == "saw "* ]] || fail "reader said '$line'"
		SAW+=" ${line#saw }"
	done
}

# parse_counts LINE: READS, OLD, NEW, MISSING, TORN from a count line.
parse_counts() {
	[[ $1 =~ ^reads=([0-9]+)\ old=([0-9]+)\ new=([0-9]+)\ missing=([0-9]+)\ torn=([0-9]+)$ ]] ||
		fail "reader said '$1'"
	READS=${BASH_REMATCH[1]}
	OLD=${BASH_REMATCH[2]}
	NEW=${BASH_REMATCH[3]}
	MISSING=${BASH_REMATCH[4]}
	TORN=${BASH_REMATCH[5]}
}

# stop_reader: end the reader and take its last counts.
stop_reader() {
	kill -TERM "$RPID" 2>/dev/null
	reader_line
	parse_counts "$LINE"
}

# replace_loop MIN MAX SECS UNTIL CMD...: with a reader reading dest,
# replace dest with CMD b dest, then CMD a dest (one round), MIN rounds,
# then on until the reader has said it saw one of the kinds UNTIL names
# (a regex over the words of SAW), at most MAX rounds in all and SECS
# seconds past the MIN rounds.
# Sets ROUNDS, SAW, READS, OLD, NEW, MISSING, TORN.  The loop, not a
# fixed count, is what makes a test of what a reader sees independent
# of the machine's speed: on a slow or loaded machine the reader gets
# fewer reads per round, and the loop just runs longer.
replace_loop() {
	local min=$1 max=$2 secs=$3 until=$4 t0=$SECONDS limit
	shift 4
	start_reader
	for ((ROUNDS = 0; ROUNDS < max; ROUNDS++)); do
		((ROUNDS == min)) && limit=$((SECONDS + secs))
		if ((ROUNDS >= min)); then
			reader_news
			[[ $SAW =~ $until ]] && break
			((SECONDS < limit)) || break
		fi
		"$@" b dest || fail "round $ROUNDS: $* b dest failed"
		"$@" a dest || fail "round $ROUNDS: $* a dest failed"
	done
	stop_reader
	echo "# $(basename "$1") ${*:2}: $ROUNDS rounds (2 installs each)" \
	    "in $((SECONDS - t0)) s: $LINE" >&3
}

# The loop runs 150 rounds (300 installs), then on until the reader has
# seen the new file (b) at least once, so that it surely read while the
# replacements ran: at most 20,000 rounds, or 600 s past the first 150.
# The reader sees b within the first few rounds even on one loaded CPU;
# the bound only matters on a starved machine, and reaching it fails
# the test with the counts.
@test "readers never see a missing or torn file during 300 hotswap installs" {
	mkfile a 1024
	mkfile b 1536
	cp a dest
	# The leak check costs 35 ms a run at exit: 10 s over the loop, for
	# nothing the other tests do not check.  ASan itself stays on.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    replace_loop 150 20000 600 '\<new\>' "$HOTSWAP" install
	[ "$READS" -gt 0 ]
	[ "$OLD" -gt 0 ] && [ "$NEW" -gt 0 ] ||
		fail "the reader never saw the new file in $ROUNDS rounds"
	[ "$MISSING" -eq 0 ] || fail "$MISSING reads found no file"
	[ "$TORN" -eq 0 ] || fail "$TORN reads were torn"
	same_content a dest
}

# install(1) unlinks dest and then writes a new file: a read that opens
# dest in between finds it missing or short.  Whether one does depends
# on the scheduler, so the loop goes on until the reader says it has
# seen a missing or torn file: at most 20,000 rounds (40,000 installs)
# or 600 s.  With the test on one CPU at nice 19 beside stress-ng --cpu
# 2, 22 of 40 rounds showed it; take p >= 0.1 a round: 200 rounds all
# miss with a chance under 0.9^200 < 1e-9, and 600 s leave room for 200
# rounds of 3 s each.  The window held open (the FIFO control below)
# does not depend on any of this.
@test "reader CONTROL: GNU install in the same loop shows missing or torn reads" {
	mkfile a 1024
	mkfile b 1536
	cp a dest
	replace_loop 1 20000 600 '\<(missing|torn)\>' install
	[ "$READS" -gt 0 ]
	[ $((MISSING + TORN)) -gt 0 ] ||
		fail "install(1) never showed a missing or torn file in" \
		    "$ROUNDS rounds, $READS reads"
}

# reader_saw KIND: wait until the reader says it has seen a read of
# KIND.  Only for a state the test holds open (the FIFO cases below),
# so the wait ends as soon as the reader runs; HS_TIMEOUT s per line
# guard against a hang.
reader_saw() {
	local line
	until [[ " $SAW " == *" $1 "* ]]; do
		read -r -t "$HS_TIMEOUT" -u "$RFD" line ||
			fail "reader never saw '$1' (saw:$SAW)"
		[[ $line == "saw "* ]] || fail "reader said '$line'"
		SAW+=" ${line#saw }"
	done
}

# reader_counts: the reader's counts now (SIGUSR1), into READS etc.
reader_counts() {
	kill -USR1 "$RPID" || fail "reader $RPID is gone"
	reader_line
	parse_counts "$LINE"
}

# The same replacement with its window held open for as long as the test
# likes, so that no scheduler decides the outcome: the source is a FIFO
# the test writes only once the reader has read during the replacement.
@test "reader CONTROL, window held open: GNU install from a FIFO leaves dest missing while it waits" {
	mkfile a 1024
	mkfile b 1536
	cp a dest
	mkdir in		# not in $W: blocked_in_copy looks for $W/*
	mkfifo in/src.fifo
	start_reader
	# install(1) unlinks dest, then blocks opening the FIFO: dest stays
	# missing until the test opens the other end.
	install in/src.fifo dest 3>&- &
	local ipid=$! st=0
	track "$ipid"
	reader_saw missing
	cat b >in/src.fifo
	wait "$ipid" || st=$?
	[ "$st" -eq 0 ] || fail "install(1) exited $st"
	same_content b dest
	stop_reader
	[ "$MISSING" -gt 0 ] || fail "reader never saw dest missing"
}

@test "hotswap install from a FIFO: while it waits for the data, readers see only the old file" {
	mkfile a 1024
	mkfile b 1536
	cp a dest
	mkdir in		# not in $W: blocked_in_copy looks for $W/*
	mkfifo in/src.fifo
	start_reader
	"$HOTSWAP" install in/src.fifo dest 2>"$W/in/err" 3>&- &
	local hpid=$! st=0 wfd reads0
	track "$hpid"
	exec {wfd}>in/src.fifo
	head -c 4096 b >&"$wfd"
	# hotswap now holds its temporary with the first 4096 bytes and
	# waits for more: every read from here on is mid-replacement.
	wait_for "$HS_TIMEOUT" blocked_in_copy "$hpid" "$W" ||
		fail "hotswap never blocked in the copy: $(cat "$W/in/err")"
	reader_counts
	reads0=$READS
	local limit=$((SECONDS + HS_TIMEOUT))
	until ((READS >= reads0 + 100)); do
		((SECONDS <= limit)) ||
			fail "reader made only $((READS - reads0)) reads in $HS_TIMEOUT s"
		reader_counts
	done
	blocked_in_copy "$hpid" "$W" || fail "hotswap went on by itself"
	[ "$MISSING" -eq 0 ] || fail "$MISSING reads found no file"
	[ "$TORN" -eq 0 ] || fail "$TORN reads were torn"
	[ "$NEW" -eq 0 ] || fail "$NEW reads saw the new file too early"
	tail -c +4097 b >&"$wfd"
	exec {wfd}>&-
	wait "$hpid" || st=$?
	[ "$st" -eq 0 ] || fail "hotswap exited $st: $(cat "$W/in/err")"
	same_content b dest
	reader_saw new
	stop_reader
	[ "$MISSING" -eq 0 ] || fail "$MISSING reads found no file"
	[ "$TORN" -eq 0 ] || fail "$TORN reads were torn"
}

#!/usr/bin/env bats
# guard.bats - hotswap guard: real programs overwriting a library that a
# running victim maps and calls, under --refuse, --warn and --fix.
#
# The guarded commands are cp, GNU install, bash ">" redirection, dd,
# python3 and truncate(1), never hotswap itself: the library is built
# without sanitizers and preloaded into them, which is what it is for.
# The sanitizer hotswap only sets the environment and execs them.
#
# The new content is the victim library cut to its first 4096 bytes:
# overwriting the mapped file in place with it makes the victim's next
# call die of SIGBUS every time (--warn is that control case: the test
# sees the crash), while a replacement by rename leaves it alive.

load common

setup() {
	hs_setup
	export HOTSWAP_GUARD_LIB="$HS_TOP/libhotswap-guard.so"
	[ -r "$HOTSWAP_GUARD_LIB" ] ||
		fail "no $HOTSWAP_GUARD_LIB: run make check-build"
	run "$HOTSWAP" guard -- true
	[ "$status" -ne 2 ] || skip "hotswap guard is not in main.c yet"
	cp "$HS_HELPERS/libvictim_v1.so" lib.so
	head -c 4096 lib.so >short.so
	IMMUTABLE=()
}

teardown() {
	local f
	for f in "${IMMUTABLE[@]}"; do
		chattr -i -a "$f" 2>/dev/null || true
	done
	hs_teardown
}

# overwrite HOW TARGET: set CMD to the command line that overwrites
# TARGET with short.so the way HOW does it.
overwrite() {
	case $1 in
	cp)	CMD=(cp short.so "$2") ;;
	install) CMD=(install -m 755 short.so "$2") ;;
	bash)	CMD=(bash -c "cat short.so > '$2'") ;;
	dd)	CMD=(dd if=short.so of="$2" status=none) ;;
	python3) CMD=(python3 -c "import shutil; shutil.copyfileobj(open('short.so', 'rb'), open('$2', 'wb'))") ;;
	truncate) CMD=(truncate -s 4096 "$2") ;;
	fopen|freopen) CMD=("$HS_HELPERS/guard_stdio" "$1" "$2" short.so) ;;
	esac
}

need() {
	case $1 in fopen|freopen) return ;; esac	# our helper
	command -v "$1" >/dev/null || skip "$1 is not installed"
	if [ "$1" = install ]; then
		install --version 2>/dev/null | grep -q GNU ||
			skip "install is not GNU install"
	fi
}

# guard_on HOW MODE...: start the victim on lib.so, overwrite it with
# HOW under hotswap guard MODE; $status and $stderr are the guard's.
guard_on() {
	local how=$1
	shift
	need "$how"
	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	overwrite "$how" lib.so
	run --separate-stderr "$HOTSWAP" guard "$@" -- "${CMD[@]}"
}

# ---- --refuse --------------------------------------------------------

refused() {
	guard_on "$1" --refuse
	[ "$status" -ne 0 ] || fail "'$1' succeeded: $stderr"
	[[ $stderr == *"hotswap guard: refused to truncate '"*"lib.so': mapped by pid $VPID"* ]] ||
		fail "no refusal line: $stderr"
	[[ $stderr == *"ext file busy"* ]] || fail "no ETXTBSY: $stderr"
	[ "$(fileid lib.so)" = "$before" ] || fail "lib.so changed"
	victim_alive
	[ "$VALIVE" = 1 ]
}

@test "guard --refuse: cp is refused, file untouched, victim alive" {
	refused cp
}

@test "guard --refuse: bash > redirection is refused" {
	refused bash
}

@test "guard --refuse: dd is refused" {
	refused dd
}

@test "guard --refuse: python3 open(p, 'w') is refused" {
	refused python3
}

@test "guard --refuse: truncate(1) to a smaller size is refused" {
	refused truncate
}

@test "guard --refuse: fopen(3) with \"w\" is refused" {
	refused fopen
}

@test "guard --refuse: freopen(3) with \"w\" is refused" {
	refused freopen
}

@test "guard --refuse: as root without the kernel's answer (the /proc set)" {
	HOTSWAP_SCAN=proc refused cp
}

@test "guard: a program under a seccomp filter that kills on bpf(2) is not killed" {
	[ "$(uname -m)" = x86_64 ] || skip "the filter is written for x86-64"
	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	run --separate-stderr "$HOTSWAP" guard -- \
	    "$HS_HELPERS/seccomp_deny" bpf KILL cp short.so lib.so
	[ "$status" -ne $((128 + 31)) ] || fail "cp died of SIGSYS"
	[ "$status" -eq 1 ] || fail "status $status: $stderr"
	[[ $stderr == *"mapped by pid $VPID"* ]] || fail "no refusal: $stderr"
	[ "$(fileid lib.so)" = "$before" ] || fail "lib.so changed"
	victim_alive
}

@test "guard: refuse is the default, and -q keeps the guard quiet" {
	guard_on cp -q
	[ "$status" -ne 0 ]
	[[ $stderr != *"hotswap guard"* ]] || fail "-q printed: $stderr"
	[[ $stderr == *"Text file busy"* ]]
	[ "$(fileid lib.so)" = "$before" ]
	victim_alive
}

# ---- --warn: the control case, the victim dies -------------------------

warned() {
	guard_on "$1" --warn
	[ "$status" -eq 0 ] || fail "'$1' failed: $stderr"
	[[ $stderr == *"hotswap guard: truncating 'lib.so', mapped by pid $VPID"* ]] ||
		fail "no warning line: $stderr"
	same_content lib.so short.so
	victim_status
	[ "$VSTATUS" -eq $((128 + 7)) ] ||
		fail "victim ended with $VSTATUS, not SIGBUS"
}

@test "guard --warn: cp proceeds, and the victim dies of SIGBUS" {
	warned cp
}

@test "guard --warn: bash > redirection proceeds, the victim dies" {
	warned bash
}

@test "guard --warn: dd proceeds, the victim dies" {
	warned dd
}

@test "guard --warn: python3 proceeds, the victim dies" {
	warned python3
}

@test "guard --warn: fopen(3) proceeds, the victim dies" {
	warned fopen
}

# ---- --fix -------------------------------------------------------------

fixed() {
	guard_on "$1" --fix
	[ "$status" -eq 0 ] || fail "'$1' failed: $stderr"
	[[ $stderr == *"hotswap guard: '"*"lib.so' is mapped by pid $VPID"* ]] ||
		fail "no fix line: $stderr"
	same_content lib.so short.so
	[ "$(stat -c %i lib.so)" != "${before%% *}" ] || fail "same inode"
	[ "$(stat -c %a lib.so)" = 755 ] || [ "$1" = install ] ||
		fail "mode not kept: $(stat -c %a lib.so)"
	[ -z "$(ls -A | grep -F .hsg-)" ] || fail "temporary left: $(ls -A)"
	victim_alive
	[ "$VALIVE" = 1 ]
}

@test "guard --fix: cp replaces the file, the victim lives" {
	chmod 755 lib.so
	fixed cp
}

@test "guard --fix: bash > redirection (the write happens in an exec'd cat)" {
	chmod 755 lib.so
	fixed bash
}

@test "guard --fix: dd replaces the file, the victim lives" {
	chmod 755 lib.so
	fixed dd
}

@test "guard --fix: python3 replaces the file, the victim lives" {
	chmod 755 lib.so
	fixed python3
}

@test "guard --fix: truncate(1) replaces the file with its first 4096 bytes" {
	chmod 755 lib.so
	fixed truncate
}

@test "guard --fix: fopen(3) replaces the file, the victim lives" {
	chmod 755 lib.so
	fixed fopen
}

@test "guard --fix: freopen(3) on stdout replaces the file, the victim lives" {
	chmod 755 lib.so
	fixed freopen
}

@test "guard: GNU install unlinks first; it passes untouched in every mode" {
	for mode in --refuse --warn --fix; do
		guard_on install $mode
		[ "$status" -eq 0 ] || fail "$mode: $stderr"
		[[ $stderr != *"hotswap guard"* ]] || fail "$mode: $stderr"
		same_content lib.so short.so
		victim_alive
		kill "$VPID"
		cp "$HS_HELPERS/libvictim_v1.so" lib.so
	done
}

@test "guard --fix: dup'ed descriptors; the rename comes at the last close" {
	start_victim "$W/lib.so"
	run --separate-stderr "$HOTSWAP" guard --fix -- \
	    "$HS_HELPERS/guard_dupwrite" lib.so short.so
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = $'close1 same\nclose2 same\nclose3 new' ] ||
		fail "got: $output"
	same_content lib.so short.so
	victim_alive
}

@test "guard --fix: fork; the child writes and closes last" {
	start_victim "$W/lib.so"
	run --separate-stderr "$HOTSWAP" guard --fix -- \
	    "$HS_HELPERS/guard_forkwrite" lib.so short.so
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = $'parent-closed same\nchild-exited new' ] ||
		fail "got: $output"
	same_content lib.so short.so
	victim_alive
}

# ---- --fix when the replacement cannot be made -------------------------

# A filesystem of 1 MiB holding the victim's library, and big.so, 2 MiB
# that cannot fit: the library's first page, then ud2 (0f 0b) to the
# end.  Written in place, the victim's next call runs ud2 (SIGILL) or
# finds its page gone (SIGBUS).
small_fs() {
	local i
	mkdir small
	mount_it -t tmpfs -o size=1m,mode=755 tmpfs small ||
		skip "cannot mount a tmpfs here (not root?)"
	printf '\x0f\x0b%.0s' {1..512} >ud
	for ((i = 0; i < 11; i++)); do
		cat ud ud >ud.2 && mv ud.2 ud
	done
	cat short.so ud >big.so
}

# overwrite_big HOW: CMD writes big.so over small/lib.so the way HOW does.
overwrite_big() {
	overwrite "$1" small/lib.so
	CMD=("${CMD[@]//short.so/big.so}")
}

@test "guard --fix: a write that fails (ENOSPC) keeps the old file, for every writer" {
	local how free
	small_fs
	# The control: unguarded, cp truncates in place, the disk fills
	# half way, and the victim dies.
	cp "$HS_HELPERS/libvictim_v1.so" small/lib.so
	start_victim "$W/small/lib.so"
	run cp big.so small/lib.so
	[ "$status" -ne 0 ] || fail "cp of 2 MiB into 1 MiB succeeded"
	[[ $output == *"No space left on device"* ]] || fail "cp: $output"
	victim_status
	[ "$VSTATUS" -gt 128 ] || fail "victim ended with $VSTATUS"
	for how in cp dd bash python3 fopen freopen; do
		[ "$how" != python3 ] || command -v python3 >/dev/null ||
			continue
		cp "$HS_HELPERS/libvictim_v1.so" small/lib.so
		free=$(stat -f -c %f small)
		start_victim "$W/small/lib.so"
		before=$(fileid small/lib.so)
		overwrite_big "$how"
		run --separate-stderr "$HOTSWAP" guard --fix -- "${CMD[@]}"
		[ "$status" -ne 0 ] || fail "$how: succeeded: $stderr"
		[[ $stderr == *"hotswap guard: lost a write to the new copy of '$W/small/lib.so'"*"; the old file is kept"* ]] ||
			fail "$how: no line for the lost write: $stderr"
		[ "$(fileid small/lib.so)" = "$before" ] ||
			fail "$how: small/lib.so changed"
		[ "$(listing small)" = lib.so ] ||
			fail "$how: left behind: $(listing small)"
		[ "$(stat -f -c %f small)" = "$free" ] ||
			fail "$how: $free free blocks before, $(stat -f -c %f small) after"
		victim_alive
		[ "$VALIVE" = 1 ]
		kill "$VPID"
	done
}

@test "guard --fix: a rename that fails is said, the old file kept, and the command fails" {
	# A file with a mount on it cannot be renamed over (EBUSY), while
	# its directory takes and drops the new file as usual.
	cp lib.so mounted.so
	mount_it --bind "$W/mounted.so" "$W/lib.so" ||
		skip "cannot bind-mount here (not root)"
	for how in cp dd bash; do
		guard_on "$how" --fix
		[ "$status" -ne 0 ] || fail "$how: succeeded: $stderr"
		[[ $stderr == *"hotswap guard: cannot rename new copy over '$W/lib.so': Device or resource busy; the old file is kept"* ]] ||
			fail "$how: no line for the failed rename: $stderr"
		[ "$(fileid lib.so)" = "$before" ] || fail "$how: lib.so changed"
		[ -z "$(ls -A | grep -F .hsg-)" ] ||
			fail "$how: temporary left: $(ls -A)"
		victim_alive
		[ "$VALIVE" = 1 ]
		kill "$VPID"
	done
}

# ---- files nothing maps -------------------------------------------------

@test "guard: unmapped files are overwritten exactly as without guard" {
	local how mode plain guarded
	for how in cp bash dd python3 truncate; do
		command -v "$how" >/dev/null || continue
		for mode in --refuse --warn --fix; do
			cp lib.so a.so
			cp lib.so b.so
			ino=$(stat -c %i b.so)
			overwrite "$how" a.so
			"${CMD[@]}" || fail "$how a.so failed unguarded"
			overwrite "$how" b.so
			run --separate-stderr "$HOTSWAP" guard $mode -- \
			    "${CMD[@]}"
			[ "$status" -eq 0 ] || fail "$how $mode: $stderr"
			[ -z "$stderr" ] || fail "$how $mode said: $stderr"
			same_content a.so b.so
			[ "$(stat -c %i b.so)" = "$ino" ] ||
				fail "$how $mode: b.so got a new inode"
		done
	done
}

@test "guard: a file that is open but not mapped is overwritten as without guard" {
	# The lease probe fails (the file is open elsewhere): the guard must
	# then ask who maps it, and let the write through.  Both ways of
	# asking: the kernel's iterator (as root) and the walk of /proc.
	local scan fd ino
	for scan in "" proc; do
		cp lib.so b.so
		ino=$(stat -c %i b.so)
		exec {fd}<b.so		# this shell holds it open, unmapped
		HOTSWAP_SCAN=$scan run --separate-stderr "$HOTSWAP" guard -- \
		    cp short.so b.so
		exec {fd}<&-
		[ "$status" -eq 0 ] || fail "HOTSWAP_SCAN=$scan: $stderr"
		[ -z "$stderr" ] || fail "HOTSWAP_SCAN=$scan said: $stderr"
		same_content b.so short.so
		[ "$(stat -c %i b.so)" = "$ino" ] || fail "b.so got a new inode"
	done
}

@test "guard: calls that fail, fail exactly as without guard, in every mode" {
	# The guard looks at these calls (O_TRUNC, "w", truncate) and must
	# leave their errors to the kernel: ENOENT, EISDIR, EACCES.
	local mode cmd plain
	mkdir dir
	chmod 755 lib.so
	start_victim "$W/lib.so"
	local -a cmds=(
		"cp short.so missing/x"
		"cp short.so /proc/version"
		"bash -c 'cat short.so > dir'"
		"dd if=short.so of=dir status=none"
		"truncate -s 0 dir"
		"$HS_HELPERS/guard_stdio fopen dir short.so"
		"$HS_HELPERS/guard_stdio freopen missing/x short.so"
	)
	command -v python3 >/dev/null &&
		cmds+=("python3 -c \"open('dir', 'w')\"")
	for cmd in "${cmds[@]}"; do
		run --separate-stderr eval "$cmd"
		[ "$status" -ne 0 ] ||
			{ fail "$cmd: succeeded unguarded"; return; }
		plain="$status $stderr"
		for mode in --refuse --warn --fix; do
			run --separate-stderr eval \
			    "'$HOTSWAP' guard $mode -- $cmd"
			[ "$status $stderr" = "$plain" ] || {
				fail "$cmd $mode: '$status $stderr'," \
				    "unguarded '$plain'"
				return
			}
		done
	done
	victim_alive
	[ "$(stat -c %s lib.so)" != 4096 ] || fail "lib.so was overwritten"
}

@test "guard: a file the program may not write fails as without guard, in every mode" {
	# Immutable, append-only, and read-only to the user (nobody, whose
	# own victim maps it, so that even a walk of /proc as nobody sees
	# the mapping): the kernel refuses the program, and the guard must
	# neither turn that into ETXTBSY nor, with --fix, replace the file
	# by a rename the program had no right to make.
	local attr mode plain
	chmod 755 lib.so
	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	for attr in +i +a; do
		chattr "$attr" lib.so 2>/dev/null ||
			skip "no chattr $attr here (not root, or not ext4/xfs/btrfs)"
		IMMUTABLE+=("$W/lib.so")
		run --separate-stderr cp short.so lib.so
		[ "$status" -ne 0 ] || fail "chattr $attr: cp succeeded unguarded"
		plain="$status $stderr"
		for mode in --refuse --warn --fix; do
			run --separate-stderr "$HOTSWAP" guard $mode -- \
			    cp short.so lib.so
			[ "$status $stderr" = "$plain" ] ||
				fail "chattr $attr $mode: '$status $stderr', unguarded '$plain'"
		done
		chattr "-${attr#+}" lib.so
	done
	[ "$(fileid lib.so)" = "$before" ] || fail "lib.so changed"
	victim_alive

	mkdir pub
	chmod 777 pub
	cp lib.so pub/ro.so
	chown nobody pub/ro.so
	chmod 444 pub/ro.so
	printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "%s" "$1"\n' \
	    "$HS_HELPERS/victim" >as-nobody
	chmod 755 as-nobody
	start_victim "$W/pub/ro.so" "$W/as-nobody"
	before=$(fileid pub/ro.so)
	run --separate-stderr as_nobody cp short.so pub/ro.so
	[ "$status" -ne 0 ] || fail "nobody overwrote a 0444 file unguarded"
	plain="$status $stderr"
	for mode in --refuse --warn --fix; do
		run --separate-stderr as_nobody "$HOTSWAP" guard $mode -- \
		    cp short.so pub/ro.so
		[ "$status $stderr" = "$plain" ] ||
			fail "0444 $mode: '$status $stderr', unguarded '$plain'"
	done
	[ "$(fileid pub/ro.so)" = "$before" ] || fail "pub/ro.so changed"
	[ "$(listing pub)" = ro.so ] || fail "left behind: $(listing pub)"
	victim_alive
}

# ---- corners no common tool reaches (tests/helpers/guard_calls.c) ------

# calls CASE MODE: run guard_calls CASE on the mapped lib.so under MODE.
calls() {
	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	run --separate-stderr "$HOTSWAP" guard "$2" -- \
	    "$HS_HELPERS/guard_calls" "$1" lib.so short.so
}

@test "guard: errno after a call the guard answered is the call's own" {
	calls errno --refuse
	[ "$output" = $'open -1 errno 26\ntruncate -1 errno 26' ] ||
		fail "--refuse: $output"
	kill "$VPID"
	calls errno --fix
	[ "$output" = $'open fd errno 1234\ntruncate 0 errno 1234' ] ||
		fail "--fix: a successful call changed errno: $output"
	victim_alive
}

@test "guard: ftruncate(2) through a read-only descriptor fails as without guard" {
	local mode
	for mode in --refuse --warn --fix; do
		calls ftrunc-rdonly "$mode"
		[ "$status" -eq 0 ] || fail "$mode: $stderr"
		[ "$output" = "ftruncate -1 errno 22" ] ||
			fail "$mode: $output (EINVAL unguarded)"
		[ -z "$stderr" ] || fail "$mode said: $stderr"
		[ "$(fileid lib.so)" = "$before" ] || fail "$mode: lib.so changed"
		victim_alive
		kill "$VPID"
	done
}

@test "guard --fix: close_range(2) and closefrom(3) close, and the last commits" {
	local how
	for how in close-range closefrom; do
		calls "$how" --fix
		[ "$status" -eq 0 ] || fail "$how: $stderr"
		[ "$output" = "closed new" ] ||
			fail "$how: not replaced at the close: $output"
		same_content lib.so short.so
		victim_alive
		kill "$VPID"
		cp "$HS_HELPERS/libvictim_v1.so" lib.so
	done
}

@test "guard --fix: a close-on-exec descriptor is closed, and commits, at exec" {
	calls exec --fix
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = $'failed errno 2\nexec new\nenv unset' ] ||
		fail "got: $output"
	same_content lib.so short.so
	[ -z "$(ls -A | grep -F .hsg-)" ] || fail "temporary left: $(ls -A)"
	victim_alive
}

@test "guard --fix: a child that execs without the guard keeps no new file from committing" {
	# The parent's descriptor is close-on-exec; the child's image runs
	# without LD_PRELOAD, so nothing of the guard closes what the exec
	# carried across: that copy must not count as a holder.
	calls exec-child --fix
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = $'parent-closed new\nchild-exited new' ] ||
		fail "got: $output"
	same_content lib.so short.so
	[ -z "$(ls -A | grep -F .hsg-)" ] || fail "temporary left: $(ls -A)"
	victim_alive
}

@test "guard --fix: execv(3) while another thread reads the environment" {
	calls execv-threads --fix
	[ "$status" -eq 0 ] || fail "exit status $status: $stderr"
	[ "$output" = survived ] || fail "got: $output"
	victim_alive
}

@test "guard --fix: a child made without atfork handlers commits once orphaned" {
	# run waits for the end of the output, which the orphan holds.
	calls orphan --fix
	[ "$output" = "orphan-closed new" ] || fail "got: $output $stderr"
	same_content lib.so short.so
	[ -z "$(ls -A | grep -F .hsg-)" ] || fail "temporary left: $(ls -A)"
	victim_alive
}

@test "guard: ftruncate(2) of a sealed memfd fails as without guard" {
	local mode
	run "$HS_HELPERS/guard_calls" memfd-sealed lib.so
	[ "$output" = "ftruncate -1 errno 1" ] || fail "unguarded: $output"
	for mode in --refuse --warn --fix; do
		run --separate-stderr "$HOTSWAP" guard "$mode" -- \
		    "$HS_HELPERS/guard_calls" memfd-sealed lib.so
		[ "$output" = "ftruncate -1 errno 1" ] ||
			fail "$mode: $output (EPERM unguarded)"
		[ -z "$stderr" ] || fail "$mode said: $stderr"
	done
}

@test "guard --fix: ftruncate(2) of a mapped file with no name left is refused" {
	# Nothing can be renamed over an unlinked file.  /proc/self/fd names
	# it "NAME (deleted)", and a file of that name must not be taken
	# for it.
	local i
	for i in 1 2; do
		cp "$HS_HELPERS/libvictim_v1.so" lib.so
		[ "$i" = 1 ] || echo "another file" >"lib.so (deleted)"
		run --separate-stderr "$HOTSWAP" guard --fix -- \
		    "$HS_HELPERS/guard_calls" unlinked lib.so
		[ "$output" = "ftruncate -1 errno 26" ] ||
			fail "$i: $output $stderr"
		[[ $stderr == *"refused to truncate '$W/lib.so (deleted)': mapped by pid"* ]] ||
			fail "$i: no refusal line: $stderr"
	done
	[ "$(cat "lib.so (deleted)")" = "another file" ] ||
		fail "'lib.so (deleted)' was replaced"
	[ "$(listing .)" = $'lib.so\\ (deleted)\nshort.so' ] ||
		fail "left behind: $(listing .)"
}

# exe_is PID PATH: PID runs PATH now (its exec is done).
exe_is() {
	[ "$(readlink "/proc/$1/exe")" = "$2" ]
}

@test "guard: a running program's file: refused like the kernel, replaced by --fix" {
	# The kernel refuses to write a running executable (ETXTBSY); --fix
	# replaces it like a mapped library, which is what the issue asks.
	local pid
	cp "$(type -P sleep)" ./sl
	./sl 600 &
	pid=$!
	track "$pid"
	# Until the child has exec'd, /proc/PID/exe is bash: poll the link
	# itself (a "$(readlink ...)" argument would be read only once).
	wait_for "$HS_TIMEOUT" exe_is "$pid" "$W/sl" ||
		fail "$pid never ran $W/sl: $(readlink "/proc/$pid/exe")"
	before=$(fileid sl)
	run --separate-stderr cp "$(type -P true)" sl
	[[ $stderr == *"Text file busy"* ]] || fail "unguarded: $stderr"
	run --separate-stderr "$HOTSWAP" guard -- cp "$(type -P true)" sl
	[ "$status" -eq 1 ] || fail "--refuse: $status"
	[[ $stderr == *"refused to truncate 'sl': mapped by pid $pid"* ]] ||
		fail "--refuse: $stderr"
	[ "$(fileid sl)" = "$before" ] || fail "--refuse: sl changed"
	run --separate-stderr "$HOTSWAP" guard --fix -- \
	    cp "$(type -P true)" sl
	[ "$status" -eq 0 ] || fail "--fix: $stderr"
	cmp -s sl "$(type -P true)" || fail "--fix: sl not replaced"
	kill -0 "$pid" || fail "the running program died"
}

@test "guard --fix: a vfork child's close is its own; the parent's commits" {
	calls vfork --fix
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = $'child same\nparent new' ] || fail "got: $output"
	same_content lib.so short.so
	[ -z "$(ls -A | grep -F .hsg-)" ] || fail "temporary left: $(ls -A)"
	victim_alive
}

@test "guard: freopen(NULL, \"w\") truncates the stream's own file: refused, and fixed" {
	calls freopen-null --refuse
	[ "$output" = "freopen errno 26" ] || fail "--refuse: $output"
	[[ $stderr == *"refused to truncate '$W/lib.so': mapped by pid $VPID"* ]] ||
		fail "--refuse: no refusal line: $stderr"
	[ "$(fileid lib.so)" = "$before" ] || fail "--refuse: lib.so changed"
	victim_alive
	kill "$VPID"
	calls freopen-null --fix
	[ "$output" = "freopen ok" ] || fail "--fix: $output $stderr"
	[ "$(cat lib.so)" = "new content" ] || fail "--fix: not written"
	[ "$(stat -c %i lib.so)" != "${before%% *}" ] || fail "same inode"
	victim_alive
}

@test "guard --fix: fopen(3) with \",ccs=UTF-8\" keeps the stream's encoding" {
	cp lib.so plain.so
	run "$HS_HELPERS/guard_calls" ccs plain.so
	[ "$output" = "wide 1" ] || fail "unguarded: $output"
	calls ccs --fix
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "wide 1" ] || fail "--fix lost the encoding: $output"
	same_content lib.so plain.so
	[ "$(stat -c %i lib.so)" != "${before%% *}" ] || fail "same inode"
	victim_alive
}

@test "guard --fix: past 32 new files at once, refused, and said why" {
	calls table --fix
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "opened 32 errno 26" ] || fail "got: $output"
	[[ $stderr == *"refused to truncate 'lib.so': mapped by pid $VPID; the guard follows at most 32 new files at once"* ]] ||
		fail "no reason given: $stderr"
	[ -z "$(ls -A | grep -F .hsg-)" ] || fail "temporaries left: $(ls -A)"
	victim_alive
}

@test "guard: a truncating open in a signal handler, amid malloc, does not deadlock" {
	# open(2) is async-signal-safe; the guard's answer for a mapped
	# file allocates, and with the C library's malloc a handler that
	# interrupted malloc waited for malloc's lock for good (both ways of
	# asking: the kernel's iterator and the /proc set).  timeout(1)
	# bounds a hang; it synchronises nothing.
	local scan
	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	for scan in "" proc; do
		HOTSWAP_SCAN=$scan run --separate-stderr timeout 60 \
		    "$HOTSWAP" guard -q -- \
		    "$HS_HELPERS/guard_calls" signal-open lib.so
		[ "$status" -eq 0 ] ||
			fail "HOTSWAP_SCAN=$scan: exit $status (124: deadlocked): $stderr"
		[ "$output" = "handled 200 refused 200" ] ||
			fail "HOTSWAP_SCAN=$scan: $output"
	done
	[ "$(fileid lib.so)" = "$before" ] || fail "lib.so changed"
	victim_alive
	# --fix: the first open makes the new file and its close commits it;
	# the later ones truncate that new file, which nobody maps.  The
	# path is over 1,024 bytes long: realpath(3) would allocate for it.
	local long d
	d=$(printf 'd%.0s' {1..200})
	long="$d/$d/$d/$d/$d/$d"
	mkdir -p "$long"
	cp "$HS_HELPERS/libvictim_v1.so" "$long/lib.so"
	kill "$VPID"
	start_victim "$W/$long/lib.so"
	before=$(fileid "$long/lib.so")
	run --separate-stderr timeout 60 "$HOTSWAP" guard -q --fix -- \
	    "$HS_HELPERS/guard_calls" signal-open "$long/lib.so"
	[ "$status" -eq 0 ] ||
		fail "--fix: exit $status (124: deadlocked): $stderr"
	[ "$output" = "handled 200 refused 0" ] || fail "--fix: $output"
	[ "$(stat -c %i "$long/lib.so")" != "${before%% *}" ] ||
		fail "--fix: lib.so was not replaced"
	[ "$(listing "$long")" = lib.so ] ||
		fail "left behind: $(listing "$long")"
	victim_alive
}

@test "guard --fix: exit does not wait for a stream another thread holds" {
	# The stdin fifo is held open and never written: the reader blocks
	# for good, holding stdin's lock, and timeout(1) bounds a hang, it
	# synchronises nothing.  First with nothing mapped, then with a new
	# file in flight, whose stream exit must flush and commit.
	local fd
	mkfifo in
	exec {fd}<>in
	run --separate-stderr timeout 60 "$HOTSWAP" guard --fix -- \
	    "$HS_HELPERS/guard_calls" thread-exit lib.so <in
	[ "$status" -eq 0 ] || fail "exit status $status (124: hung): $stderr"
	[ "$output" = exiting ] || fail "got: $output"

	start_victim "$W/lib.so"
	before=$(fileid lib.so)
	run --separate-stderr timeout 60 "$HOTSWAP" guard --fix -- \
	    "$HS_HELPERS/guard_calls" thread-exit lib.so short.so <in
	exec {fd}<&-
	[ "$status" -eq 0 ] ||
		fail "in flight: exit status $status (124: hung): $stderr"
	same_content lib.so short.so
	[ "$(stat -c %i lib.so)" != "${before%% *}" ] || fail "same inode"
	[ -z "$(ls -A | grep -F .hsg-)" ] || fail "temporary left: $(ls -A)"
	victim_alive
}

@test "guard --fix: a file named like a new copy is not taken for one" {
	# Only a descriptor whose file still carries the guard's lock is a
	# new copy to rename at exit; a look-alike (or one a killed program
	# left behind) is nobody's to rename.
	echo precious >notes
	echo "user data" >.notes.hsg-abcdefghij
	run --separate-stderr "$HOTSWAP" guard --fix -- \
	    sh -c 'cat >/dev/null' <.notes.hsg-abcdefghij
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(cat notes)" = precious ] || fail "notes was replaced: $(cat notes)"
	[ "$(cat .notes.hsg-abcdefghij)" = "user data" ] ||
		fail "the look-alike changed"
}

# ---- the command -----------------------------------------------------------

@test "guard: the exit status is the command's own; 127 and 126" {
	run "$HOTSWAP" guard -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run -127 "$HOTSWAP" guard -- no-such-command-here
	[ "$status" -eq 127 ]
	touch notexec
	run "$HOTSWAP" guard -- ./notexec
	[ "$status" -eq 126 ]
}

@test "guard: LD_PRELOAD is prepended to, and the mode passed on" {
	run --separate-stderr env LD_PRELOAD=/nonexistent-x.so "$HOTSWAP" \
	    guard --warn -q -- sh -c \
	    'echo "$LD_PRELOAD|$HOTSWAP_GUARD_MODE|$HOTSWAP_GUARD_QUIET"'
	[ "$output" = \
	    "$HOTSWAP_GUARD_LIB:/nonexistent-x.so|warn|1" ] || fail "$output"
}

@test "guard: a statically linked command is reported as unguardable" {
	command -v gcc >/dev/null || skip "no gcc to build a static program"
	printf 'int main(void) { return 0; }\n' >static.c
	gcc -static -o static static.c 2>/dev/null ||
		skip "no static libc (libc6-dev's libc.a) to link with"
	run --separate-stderr "$HOTSWAP" guard -- ./static
	[ "$status" -eq 126 ]
	[[ $stderr == *"cannot guard './static'"*"statically linked"* ]] ||
		fail "$stderr"
}

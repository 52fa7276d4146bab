#!/usr/bin/env bats
# install_ring.bats - a transaction's staging and commit by io_uring
# (--io): the same promise as by plain calls, for a real process that
# maps a replaced library; a crash among the ring's renames, completed
# by recover; the fallback to plain calls where a seccomp filter refuses
# io_uring, and --io=plain under one that kills.
#
# Which way the steps went is read from --debug ("temporaries opened by
# io_uring: N", "commit steps by io_uring: N") and from strace's record
# of io_uring_setup(2); each
# claim has its control, the other way in the same harness.

load common
load ring

setup() {
	hs_setup
	V1=$HS_HELPERS/libvictim_v1.so
	V2=$HS_HELPERS/libvictim_v2.so
}

teardown() {
	hs_teardown
}

# nouring ACTION CMD...: CMD under a seccomp filter that makes
# io_uring_setup(2) fail (EPERM, ENOSYS) or kills on it (KILL).
nouring() {
	"$HS_HELPERS/seccomp_deny" io_uring_setup "$@"
}

# tree_sums DIR: "SHA256 PATH" of every file under DIR, sorted.
tree_sums() {
	(cd "$1" && find . -type f -print0 | xargs -0r sha256sum) |
		LC_ALL=C sort
}

# make_trees N: src and dst, N files each under lib/ and data/, same
# names, other content; dst/lib/libvictim.so is V1, src's V2.
make_trees() {
	local n=$1 i
	mkdir -p src/lib src/data dst/lib dst/data
	for ((i = 0; i < n; i++)); do
		echo "new $i" >"src/data/f$i"
		echo "old $i" >"dst/data/f$i"
	done
	cp "$V2" src/lib/libvictim.so
	cp "$V1" dst/lib/libvictim.so
}

# debug_count WHAT: N of the "WHAT by io_uring: N" line in $output.
debug_count() {
	local n
	n=$(printf '%s\n' "$output" |
	    sed -n "s/^$1 by io_uring: \([0-9][0-9]*\)\$/\1/p")
	[ -n "$n" ] || fail "no '$1 by io_uring' line in: $output"
	echo "$n"
}

# ring_steps, ring_opens: the commit's steps and staging's temporaries
# that --debug says io_uring made.
ring_steps() {
	debug_count "commit steps"
}

ring_opens() {
	debug_count "temporaries opened"
}

@test "--io=uring: the tree is staged and installed by io_uring, a victim mapping the old library lives on; --io=plain control: no step by io_uring" {
	need_ring
	make_trees 300
	start_victim "$W/dst/lib/libvictim.so"
	[ "$VREADY" -eq 1 ]

	run_hs install -r --debug --io=uring src dst
	[ "$status" -eq 0 ]
	# 301 renames, and for each of the 301 old links a stat (is it
	# set-ID, to disarm?) and an unlink.
	n=$(ring_steps)
	[ "$n" -eq $((3 * 301)) ] || fail "$n steps by io_uring, not 903"
	# And each file's unnamed temporary.
	n=$(ring_opens)
	[ "$n" -eq 301 ] || fail "$n temporaries by io_uring, not 301"
	[ "$(tree_sums src)" = "$(tree_sums dst)" ]
	victim_alive
	[ "$VALIVE" -eq 1 ]
	[ -z "$(find dst -name '.*.hs-*' -o -name .hotswap-journal)" ]

	# Control: the same install by plain calls reports none, so the
	# count above is the ring's.
	make_trees 300
	run_hs install -r --debug --io=plain src dst
	[ "$status" -eq 0 ]
	[ "$(ring_steps)" -eq 0 ]
	[ "$(ring_opens)" -eq 0 ]
	[ "$(tree_sums src)" = "$(tree_sums dst)" ]
}

# strace stops hotswap at every rename and unlink too, which makes each
# of them slow (as a slow disk would), and the executables cut the
# renames into batches of each kind: still too few calls to judge.
@test "--io=auto: a tree of 20 files never sets io_uring up, however slow its calls (strace); --io=uring control does" {
	need_ring
	command -v strace >/dev/null || skip "no strace (Debian strace)"
	make_trees 20
	chmod 755 src/data/f1? dst/data/f1?
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o trace \
	    -e trace=io_uring_setup,renameat,renameat2,unlinkat \
	    "$HOTSWAP" install -r -q src dst
	[ "$status" -eq 0 ]
	[ "$(grep -c 'rename' trace)" -eq 21 ] || fail "not 21 renames: $(cat trace)"
	[ "$(tree_sums src)" = "$(tree_sums dst)" ]
	! grep -q io_uring_setup trace || fail "auto set io_uring up: $(cat trace)"

	make_trees 20
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o trace \
	    -e trace=io_uring_setup "$HOTSWAP" install -r -q --io=uring src dst
	[ "$status" -eq 0 ]
	grep -Eq '^[0-9]+ +io_uring_setup\(.*\) = [0-9]+$' trace ||
		fail "no io_uring_setup that succeeded: $(cat trace)"
}

@test "--io=uring under a seccomp filter that refuses io_uring_setup (EPERM, ENOSYS): installed by plain calls, exit 0" {
	need_ring
	command -v strace >/dev/null || skip "no strace (Debian strace)"
	local e
	for e in EPERM ENOSYS; do
		rm -rf src dst
		make_trees 300
		start_victim "$W/dst/lib/libvictim.so"
		ASAN_OPTIONS=detect_leaks=0 run --separate-stderr nouring \
		    "$e" strace -f -qq -o trace -e trace=io_uring_setup \
		    "$HOTSWAP" install -r --debug --io=uring src dst
		[ "$status" -eq 0 ] || fail "$e: status $status: $stderr"
		[[ $stderr == "hotswap: 301 files installed, "* ]] ||
			fail "$e: stderr: $stderr"
		grep -Eq "io_uring_setup\(.*\) = -1 $e " trace ||
			fail "$e: the filter did not refuse: $(cat trace)"
		[ "$(ring_steps)" -eq 0 ]
		[ "$(tree_sums src)" = "$(tree_sums dst)" ]
		victim_alive
		[ "$VALIVE" -eq 1 ]
		kill "$VPID"
	done

	# Control: the same harness without the refusal makes the steps by
	# io_uring, so the filter is what turned them to plain calls.
	make_trees 300
	run_hs install -r --debug --io=uring src dst
	[ "$status" -eq 0 ]
	[ "$(ring_steps)" -gt 0 ]
}

@test "--io=plain under a seccomp filter that kills on io_uring_setup: installed; control: --io=uring is killed by SIGSYS, recover completes it" {
	make_trees 300
	run --separate-stderr nouring KILL "$HOTSWAP" install -r --io=plain src dst
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$(tree_sums src)" = "$(tree_sums dst)" ]

	# Control: the filter does kill a program that asks for io_uring;
	# the kill comes in staging, before the commit record, so the
	# journal rolls it back.  With -C staging opens nothing ahead and
	# the kill comes in the commit, after the commit record, so the
	# journal completes it.
	make_trees 300
	before=$(tree_sums dst)
	run --separate-stderr nouring KILL "$HOTSWAP" install -r --io=uring src dst
	[ "$status" -eq $((128 + 31)) ] || fail "status $status, not SIGSYS's 159"
	[ -e dst/.hotswap-journal ]
	run_hs recover dst
	[ "$status" -eq 0 ]
	[ "$output" = "'dst': interrupted install rolled back" ]
	[ "$(tree_sums dst)" = "$before" ]
	[ -z "$(find dst -name '.*.hs-*' -o -name .hotswap-journal)" ]

	run --separate-stderr nouring KILL "$HOTSWAP" install -r -C --io=uring src dst
	[ "$status" -eq $((128 + 31)) ] || fail "status $status, not SIGSYS's 159"
	run_hs recover dst
	[ "$status" -eq 0 ]
	[ "$output" = "'dst': interrupted install completed" ]
	[ "$(tree_sums src)" = "$(tree_sums dst)" ]
	[ ! -e dst/.hotswap-journal ]
}

@test "--io=uring: SIGKILL among the ring's renames (strace), then recover: all new, nothing left behind" {
	need_ring
	command -v strace >/dev/null || skip "no strace (Debian strace)"
	make_trees 600
	# 601 renames go in three batches, each one io_uring_enter or more:
	# the second call is among them, after the first batch.  (-C: so
	# that staging, which then opens no temporary ahead, makes none.)
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o /dev/null \
	    -e trace=io_uring_enter \
	    -e inject=io_uring_enter:signal=KILL:when=2 \
	    "$HOTSWAP" install -q -r -C --io=uring src dst
	[ "$status" -eq 137 ]
	[ -e dst/.hotswap-journal ]
	# Mixed now: some files renamed, some not (the first call waited
	# for one at least; the third batch was never sent).
	same=$(comm -12 <(tree_sums src) <(tree_sums dst) | wc -l)
	[ "$same" -gt 0 ] && [ "$same" -lt 601 ] ||
		fail "$same of 601 files new: not a crash among the renames"

	run_hs recover dst
	[ "$status" -eq 0 ]
	[ "$output" = "'dst': interrupted install completed" ]
	[ "$(tree_sums src)" = "$(tree_sums dst)" ]
	[ -z "$(find dst -name '.*.hs-*' -o -name .hotswap-journal)" ]
}

@test "--io: an unknown way is a usage error, exit 2, nothing installed" {
	make_trees 3
	before=$(tree_sums dst)
	run_hs install -r --io=fast src dst
	[ "$status" -eq 2 ]
	[[ ${stderr%%$'\n'*} == "hotswap: invalid --io 'fast': auto, plain or uring" ]]
	[ "$(tree_sums dst)" = "$before" ]
}

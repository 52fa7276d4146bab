#!/usr/bin/env bats
# powercut_block.bats - the install paths the FUSE power-cut file system
# cannot carry (issue 15), through a block-level power cut under a real
# ext4 (tests/powercut/block/, build/powercut/blockcut): the O_TMPFILE +
# linkat temporary, and the one syncfs(2) with which install -r and
# --manifest commit 9 files or more.  The command runs once on an ext4
# on a loop device whose backing file is served by a FUSE recorder that
# logs every block write and cache flush; every crash image a power cut
# could leave, in each mode (drop: no write since the last flush
# survives; prefix: any prefix does; subset: any subset, sampled), is
# mounted (journal replay) and must be one tests/powercut/check.sh
# accepts, as in powercut.bats.  The inverted cases (fsync and syncfs made
# no-ops, the directory fsync removed) must be rejected: the harness has
# teeth at this level too.
#
# Each case first runs the same command on a plain copy of the seed: what
# that leaves is the "new" state the checker compares with.  The command
# under test is the sanitizer build; recover, run on each of some hundred
# crash images, is the release build (the same code, a fifth of the
# time; powercut.bats runs it under the sanitizers).

load powercut_common
load ring

setup() {
	[ "$(id -u)" -eq 0 ] ||
		skip "not root: the block-level power cut mounts ext4 on loop devices"
	[ -c /dev/fuse ] ||
		skip "no /dev/fuse: the block-level power cut needs FUSE"
	[ -c /dev/loop-control ] ||
		skip "no /dev/loop-control: the block-level power cut needs loop devices"
	command -v mkfs.ext4 >/dev/null ||
		skip "no mkfs.ext4 (Debian package e2fsprogs)"
	grep -qw ext4 /proc/filesystems ||
		skip "the kernel has no ext4"
	BC=$HS_TOP/build/powercut/blockcut
	CHECK=$HS_TOP/tests/powercut/check.sh
	NODIRSYNC=$HS_TOP/build/powercut/nodirsync.so
	[ -x "$BC" ] || { echo "no $BC: run make check-build" >&2; return 1; }
	# The crash images and the checker's copies.
	pc_workdir hs-bc
	# (LeakSanitizer cannot run under ptrace, and strace is ptrace)
	export ASAN_OPTIONS=detect_leaks=0
}

teardown() {
	pc_teardown
}

# tree DIR PREFIX N: N files DIR/fK holding PREFIX-K; $paths names them.
tree() {
	local k
	paths=
	for ((k = 0; k < $3; k++)); do
		put "$1/f$k" "$2-$k"
		paths="$paths ${1#*/}/f$k"
	done
	paths=${paths# }
}

# no_loop_left: no loop device is attached to a file under $W.
no_loop_left() {
	! losetup -a | grep -F "$W/"
}

# cut MODE CHECKOPTS PATHS -- CMD...: blockcut, with check.sh CHECKOPTS
# comparing PATHS (one word, blank-separated) with seed and ref.
cut() {
	local mode=$1 opts=$2 paths=$3
	shift 4
	run "$BC" -v --mode "$mode" --seed "$W/seed" \
	    --check "$CHECK $opts $W/seed $W/ref $paths" -- "$@"
	summary=$(grep -E '^[0-9]+ cut points, ' <<<"$output" || true)
	no_loop_left
}

PC_TOOL=blockcut
PC_MODES="drop prefix subset"
# pc_count: the flushes the command made.
pc_count() {
	sed -n 's/^blockcut: .* exited 0 after [0-9]* events ([0-9]* writes, \([0-9]*\) flushes)$/\1/p' \
	    <<<"$output"
}

# TRACED FILE CMD...: CMD under strace, the calls that show which path
# hotswap took into FILE (blockcut runs the command: not a function).
TRACED=(strace -f -qq -e trace=openat,linkat,fsync,syncfs,io_uring_setup -o)

# unnamed STRACE: the temporary was O_TMPFILE, linked, never created by
# name.
unnamed() {
	grep -qE 'openat\(.*O_TMPFILE.*\) = [0-9]+$' "$1"
	grep -qE 'linkat\([0-9]+, "", .*AT_EMPTY_PATH\) = 0$' "$1"
	! grep -E 'openat\(.*\.hs-.*O_CREAT' "$1"
}

@test "blockcut: install over an existing DEST with O_TMPFILE, every cut, all modes" {
	command -v strace >/dev/null || skip "strace is not installed"
	put seed/dest old
	put src/new new 755
	all_pass "" dest 3 -- "${TRACED[@]}" "$W/strace.out" "$HOTSWAP" install \
	    "$W/src/new" dest
	unnamed "$W/strace.out"
}

@test "blockcut: install to a new DEST with O_TMPFILE, every cut, all modes" {
	command -v strace >/dev/null || skip "strace is not installed"
	put seed/other other
	put src/new new
	all_pass "" "dest other" 3 -- "${TRACED[@]}" "$W/strace.out" "$HOTSWAP" \
	    install "$W/src/new" dest
	unnamed "$W/strace.out"
}

# 9 files make at least 7 flushes: the journal and the root before the
# syncfs, the syncfs, C and the root, the directory fsyncs.  (No more an
# fsync for each of the first 8 files as they are staged.)
@test "blockcut: install -r of 9 files commits with syncfs; recover: all old or all new" {
	command -v strace >/dev/null || skip "strace is not installed"
	tree seed/tree old 9
	tree src/tree new 9
	all_pass "-t -R '$HS_TOP/hotswap recover tree'" "$paths" 7 -- \
	    "${TRACED[@]}" "$W/strace.out" "$HOTSWAP" install -r "$W/src/tree" tree
	grep -qE 'syncfs\([0-9]+\) += 0$' "$W/strace.out"
	unnamed "$W/strace.out"
}

# The same on the block device with staging's O_TMPFILE opens and the
# commit's steps by io_uring: its kernel workers' renames and unlinks
# reach ext4's journal in any order within a kind.
@test "blockcut: install -r --io=uring of 9 files; recover: all old or all new" {
	need_ring
	command -v strace >/dev/null || skip "strace is not installed"
	tree seed/tree old 9
	tree src/tree new 9
	all_pass "-t -R '$HS_TOP/hotswap recover tree'" "$paths" 7 -- \
	    "${TRACED[@]}" "$W/strace.out" "$HOTSWAP" install -r --io=uring \
	    --debug "$W/src/tree" tree
	grep -qE 'io_uring_setup\(.*\) += [0-9]+$' "$W/strace.out" ||
		{ echo "io_uring was not set up"; false; }
	grep -q '^temporaries opened by io_uring: 9$' <<<"$output" ||
		fail "the ring did not open the 9 temporaries"
	grep -q '^commit steps by io_uring: [1-9]' <<<"$output" ||
		fail "the ring made no commit step"
	grep -qE 'syncfs\([0-9]+\) += 0$' "$W/strace.out"
}

@test "blockcut: install --manifest of 9 files commits with syncfs; recover" {
	command -v strace >/dev/null || skip "strace is not installed"
	local k
	tree seed/tree old 9
	tree src new 9
	: >manifest
	for ((k = 0; k < 9; k++)); do
		echo "$W/src/f$k tree/f$k mode=0644" >>manifest
	done
	all_pass "-t -R '$HS_TOP/hotswap recover tree'" "$paths" 7 -- \
	    "${TRACED[@]}" "$W/strace.out" "$HOTSWAP" install --manifest "$W/manifest"
	grep -qE 'syncfs\([0-9]+\) += 0$' "$W/strace.out"
}

@test "blockcut: inverted, fsync made a no-op by eatmydata, is rejected" {
	command -v eatmydata >/dev/null ||
		skip "eatmydata (Debian package eatmydata) is not installed"
	put seed/dest old
	put src/new new
	# The release build: a preload ahead of the ASan runtime aborts it.
	all_reject "" dest -- eatmydata "$HS_TOP/hotswap" install \
	    "$W/src/new" dest
	grep -qE '^blockcut: .* \([0-9]+ writes, 0 flushes\)$' <<<"$output"
}

@test "blockcut: inverted, without the directory fsync, is rejected" {
	[ -f "$NODIRSYNC" ] || { echo "no $NODIRSYNC: run make check-build"; false; }
	put seed/dest old
	put src/new new
	all_reject "" dest -- env LD_PRELOAD="$NODIRSYNC" "$HS_TOP/hotswap" \
	    install "$W/src/new" dest
	grep -qE '^  rejected: .*dest=old' <<<"$output"
}

@test "blockcut: inverted, install -r with syncfs made a no-op by eatmydata, is rejected" {
	command -v eatmydata >/dev/null ||
		skip "eatmydata (Debian package eatmydata) is not installed"
	tree seed/tree old 9
	tree src/tree new 9
	all_reject "-t -R '$HS_TOP/hotswap recover tree'" "$paths" -- \
	    eatmydata "$HS_TOP/hotswap" install -r "$W/src/tree" tree
}

@test "blockcut: control, cp tmp && mv tmp DEST is rejected: old after it returned" {
	# Nothing syncs it: when mv returns the disk still has the old file
	# (the ext4 commits only when asked, see blockcut.h).  Drop mode
	# only: the other modes keep more, never less.
	put seed/dest old-content
	put src/new new-content
	reference sh -c "cp '$W/src/new' dest.tmp && mv dest.tmp dest"
	cut drop "" dest -- sh -c "cp '$W/src/new' dest.tmp && mv dest.tmp dest"
	grep -vE '^  ok: ' <<<"$output"
	[ "$status" -eq 1 ]
	grep -qE '\(the command has exited\): 1 state, 1 rejected$' <<<"$output"
	grep -qE '^  rejected: .*dest=old' <<<"$output"
}

@test "blockcut: a checker that rejects everything is obeyed; usage errors exit 2" {
	put seed/dest old
	run "$BC" --seed "$W/seed" --check false -- true
	[ "$status" -eq 1 ]
	# (the sync after the command is one flush: the same image again)
	grep -qx 'cut 0/1 before any event (the command has exited): 1 state, 1 rejected' \
	    <<<"$output"
	grep -qx '2 cut points, 2 states, 2 rejected (1 distinct states checked, mode drop)' \
	    <<<"$output"
	no_loop_left
	run "$BC" --mode sometimes --seed seed --check true -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: blockcut"* ]]
	run "$BC" --seed seed -- true
	[ "$status" -eq 2 ]
	run "$BC" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--mode subset"* ]]
}

#!/usr/bin/env bats
# install_free.bats - --free-later: a big replaced file's space, freed by
# a process of hotswap's ("hotswap-free") after the command has
# returned, on a tmpfs of the test's own.  The holder's protocol (it has
# the old inode and nothing else, and lets go once the command is done)
# is proved by tests/test_free.c without timing; here, the command line:
# the new files are in place, the space comes back and the filesystem
# unmounts once the holders are gone, the tree's lock is free at once,
# and where no process can be made (a seccomp filter refusing clone(2))
# the install still succeeds, freeing as without the option.

load common

setup() {
	hs_setup
	[ "$(id -u)" -eq 0 ] || skip "mounts a tmpfs: needs root"
	mkdir mnt
	mount_it -t tmpfs -o size=256m tmpfs "$W/mnt"
}

teardown() {
	hs_teardown
}

# used: the tmpfs's blocks in use.
used() {
	stat -f -c '%b %f' "$W/mnt" | awk '{ print $1 - $2 }'
}

# no_holder: no hotswap-free process is alive (a zombie has let go of
# everything; an init that does not reap, as in some containers, leaves
# them).
no_holder() {
	local rc=0
	pgrep -x -r D,R,S,T hotswap-free >/dev/null || rc=$?
	[ "$rc" -eq 1 ] # 0: one is alive; 2 or 3: pgrep failed
}

@test "install --free-later: DEST is new; the old file's space is back once the holder is gone; the filesystem unmounts" {
	mkfile mnt/new 4
	head -c $((64 << 20)) /dev/zero >mnt/dst
	before=$(used)
	run_hs install --free-later mnt/new mnt/dst
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content mnt/new mnt/dst
	wait_for 30 no_holder || fail "a hotswap-free process is still there"
	after=$(used)
	# Blocks of 4 KiB: the old 64 MiB in use before, under 1 MiB after.
	[ "$before" -ge $((64 * 256)) ] && [ "$after" -lt 256 ] ||
		fail "blocks in use: $before before, $after after"
	umount "$W/mnt" || fail "the tmpfs is still busy"
	HS_MOUNTS=()
}

@test "install -r --free-later hands the tree's big old files over, and the next install -r --no-wait has the lock at once" {
	mkdir mnt/src mnt/dst
	for f in a b c; do
		mkfile "mnt/src/$f" 4
	done
	head -c $((20 << 20)) /dev/zero >mnt/dst/a
	head -c $((20 << 20)) /dev/zero >mnt/dst/b
	mkfile mnt/dst/c 4
	run_hs install -r --free-later --debug mnt/src mnt/dst
	[ "$status" -eq 0 ] || fail "$stderr"
	grep -q '^old files freed after the command: 2$' <<<"$output" ||
		fail "$output"
	for f in a b c; do
		same_content "mnt/src/$f" "mnt/dst/$f"
	done
	# The holder never has the lock (tests/test_free.c shows it holds
	# nothing else); here, the command line that follows at once.
	run_hs install -r --no-wait mnt/src mnt/dst
	[ "$status" -eq 0 ] || fail "the lock was busy: $stderr"
	# Control: without the option, nothing is handed over.
	head -c $((20 << 20)) /dev/zero >mnt/dst/a
	run_hs install -r --debug mnt/src mnt/dst
	[ "$status" -eq 0 ] || fail "$stderr"
	grep -q '^old files freed after the command: 0$' <<<"$output" ||
		fail "$output"
}

@test "install --free-later where clone(2) is refused still replaces DEST, and frees the old file before it returns" {
	mkfile mnt/new 4
	head -c $((64 << 20)) /dev/zero >mnt/dst
	before=$(used)
	# LeakSanitizer makes its own thread by clone(2): not here.
	ASAN_OPTIONS=detect_leaks=0 run --separate-stderr \
	    "$HS_HELPERS/seccomp_deny" clone EPERM \
	    "$HOTSWAP" install --free-later mnt/new mnt/dst
	[ "$status" -eq 0 ] || fail "$stderr"
	after=$(used)
	same_content mnt/new mnt/dst
	[ "$before" -ge $((64 * 256)) ] && [ "$after" -lt 256 ] ||
		fail "blocks in use: $before before, $after after"
}

#!/usr/bin/env bats
# stale.bats - hotswap stale against real processes: after hotswap
# install replaces a library, exactly the processes that loaded the old
# one are stale, and who on the new file finds none; deleted files are
# stale; untouched ones (the control) are not; memfd is ignored.
#
# Other processes on the machine may be stale too: the tests look only
# at the stale files under their own directory $W, or use -p.

load who_common

setup() {
	use_run_tmpdir	# stale ignores deleted code under /tmp (JITs)
	who_setup
	PIDS=()
	mkdir lib
	cp "$WHO_LIB_SRC" lib/libw.so
	cp "$WHO_LIB_SRC" lib/untouched.so
}

teardown() {
	who_teardown
}

@test "stale: after hotswap install, exactly the helpers; who on the new file: none" {
	start_mappers 4 "$W/lib/libw.so"
	local olds=("${PIDS[@]}")
	PIDS=()
	start_mappers 2 "$W/lib/untouched.so"	# control: not replaced

	run_hs stale
	[ -z "$(pids_of_stale "'$W/")" ] || fail "stale before install: $output"

	run_hs install "$HS_HELPERS/libvictim_v2.so" lib/libw.so
	[ "$status" -eq 0 ]

	run_hs stale
	[ "$status" -eq 0 ]
	[ "$(pids_of_stale "'$W/")" = "$(sorted "${olds[@]}")" ] ||
		fail "stale: $(pids_of_stale "'$W/" | tr '\n' ' '), want ${olds[*]}"
	printf '%s\n' "$output" |
	    grep -q "^	replaced '$W/lib/libw.so' (code, read-only data" ||
		fail "no replaced line: $output"

	run_hs who lib/libw.so
	[ "$status" -eq 1 ]
	[ -z "$output" ]

	# A new process gets the new file: found by who, not stale.
	PIDS=()
	start_mappers 1 "$W/lib/libw.so"
	run_hs who lib/libw.so
	[ "$status" -eq 0 ]
	[ "$(pids_of_who)" = "${PIDS[0]}" ]
	run_hs stale -p "${PIDS[0]}"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "stale: a deleted library is stale, as deleted" {
	start_mappers 2 "$W/lib/libw.so"
	rm lib/libw.so
	run_hs stale
	[ "$status" -eq 0 ]
	[ "$(pids_of_stale "'$W/lib/libw.so'")" = "$(sorted "${PIDS[@]}")" ]
	printf '%s\n' "$output" | grep -q "^	deleted  '$W/lib/libw.so' ("
}

@test "stale -p: only the processes asked; the control is not stale" {
	start_mappers 2 "$W/lib/libw.so"
	local a=${PIDS[0]} b=${PIDS[1]}
	PIDS=()
	start_mappers 1 "$W/lib/untouched.so"
	local c=${PIDS[0]}
	rm lib/libw.so

	run_hs stale -p "$a"
	[ "$status" -eq 0 ]
	[ "$(pids_of_stale "'$W/")" = "$a" ]
	run_hs stale -p "$a,$b" -p "$c"
	[ "$status" -eq 0 ]
	[ "$(pids_of_stale "'$W/")" = "$(sorted "$a" "$b")" ]
	run_hs stale -p "$c"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	run_hs stale -p 0
	[ "$status" -eq 2 ]
	run_hs stale -p x1
	[ "$status" -eq 2 ]
}

@test "stale --unit: each unit once; --json and --unit together is a usage error" {
	start_mappers 3 "$W/lib/libw.so"
	rm lib/libw.so
	local list
	list=$(IFS=,; echo "${PIDS[*]}")
	run_hs stale --unit -p "$list"
	[ "$status" -eq 0 ]
	# All three share the test's cgroup: one unit at most, or a warning.
	[ "${#lines[@]}" -le 1 ]
	[ "${#lines[@]}" -eq 1 ] || [[ $stderr == *"belong to no systemd unit"* ]]
	[ "${#lines[@]}" -eq 0 ] ||
		grep -qF "${lines[0]}" "/proc/${PIDS[0]}/cgroup"
	run_hs stale --unit --json
	[ "$status" -eq 2 ]
}

@test "stale: memfd and other never-named memory are ignored" {
	start_mappers 1 "$W/lib/untouched.so"
	# The helper's own libc etc. are intact: nothing stale at all in it.
	run_hs stale -p "${PIDS[0]}"
	[ "$status" -eq 1 ]
	# A process with a memfd mapping (the bash of this test has none;
	# python3 makes one) is not stale because of it.
	command -v python3 >/dev/null || skip "python3 is not installed"
	local fifo=$W/fifo line
	mkfifo "$fifo"
	python3 -c '
import mmap, os, sys, signal
fd = os.memfd_create("hs-test")
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096)
print("ready", flush=True)
signal.pause()' >"$fifo" &
	track "$!"
	local py=$!
	read -r -t "$HS_TIMEOUT" line <"$fifo"
	grep -q '/memfd:hs-test (deleted)' "/proc/$py/maps"
	run_hs stale -p "$py"
	[[ $output != *memfd* ]]
}

@test "stale: names with newlines and non-UTF-8 bytes, escaped and lossless in JSON" {
	local odd=$'li b\nna\xffme.so'
	cp "$WHO_LIB_SRC" "lib/$odd"
	start_mappers 1 "$W/lib/$odd"
	rm "lib/$odd"
	run_hs stale -p "${PIDS[0]}"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ] || fail "$output"
	[ "${lines[1]}" = "	deleted  '$W/lib/li b\\nna\\377me.so' (code, read-only data, writable private, no access)" ] ||
		fail "line: ${lines[1]}"

	command -v python3 >/dev/null || skip "python3 is not installed"
	run_hs stale --json -p "${PIDS[0]}"
	[ "$status" -eq 0 ]
	json_ok
	W=$W run json_eval '
import os
f = d["processes"][0]["files"][0]
assert f["why"] == "deleted"
want = os.environ["W"].encode() + b"/lib/li b\nna\xffme.so"
assert f["path"].encode("utf-8", "surrogateescape") == want, f["path"]
assert f["maps"] and f["ino"] > 0
assert d["incomplete"] in (True, False) and d["inspected"] == 1'
	[ "$status" -eq 0 ] || fail "$output"
}

@test "stale as nobody: other users' processes are reported as not inspected" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	start_mappers 1 "$W/lib/libw.so"		# root's
	PIDS=()
	start_mappers -u 1 "$W/lib/untouched.so"	# nobody's
	rm lib/libw.so lib/untouched.so
	run_hs_nobody stale
	[ "$status" -eq 0 ]
	[ "$(pids_of_stale "'$W/")" = "${PIDS[0]}" ]
	[[ $stderr == *" could not be inspected" ]]
}

# start_in_ns DIR: one who_mapper in a new mount namespace in which DIR is
# a fresh tmpfs holding its own copy of the library, so that there
# DIR/libw.so is another file than the host's DIR/libw.so.  The mount
# lives and dies with the namespace.  Sets NSPID.
start_in_ns() {
	local dir=$1 fifo line fd
	fifo=$(mktemp -u "$W/.ns-fifo.XXXXXX")
	mkfifo "$fifo"
	unshare -m --propagation private -- sh -c '
	    mount -t tmpfs -o size=8m hs-e2e "$1" && cp "$2" "$1/libw.so" &&
	    exec "$3" -n 1 "$1/libw.so"' sh "$dir" "$WHO_LIB_SRC" \
	    "$HS_HELPERS/who_mapper" >"$fifo" 3>&- &
	MAPPERS+=("$!")
	track "$!"
	exec {fd}<"$fifo"
	rm -f "$fifo"
	read -r -t "$HS_TIMEOUT" -u "$fd" line ||
		fail "the mapper in a new namespace did not say ready"
	[[ $line =~ ^ready\ ([0-9]+)$ ]] || fail "it said '$line'"
	NSPID=${BASH_REMATCH[1]}
	exec {fd}<&-
}

@test "stale, who: a process in another mount namespace is judged by its own files" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v unshare >/dev/null || skip "unshare is not installed"
	command -v python3 >/dev/null || skip "python3 is not installed"
	mkdir ns
	unshare -m --propagation private -- \
	    mount -t tmpfs -o size=1m hs-e2e "$W/ns" 2>/dev/null ||
		skip "cannot mount in a new mount namespace here"
	cp "$WHO_LIB_SRC" ns/libw.so	# the host's file at the same path
	start_in_ns "$W/ns"
	local inside=/proc/$NSPID/root$W/ns/libw.so
	[ "$(stat -c %i "$inside")" != "$(stat -c %i ns/libw.so)" ] ||
		fail "the namespace does not have its own file"

	# Its path names another file here, not there: not stale.
	run_hs stale -p "$NSPID"
	[ "$status" -eq 1 ] || fail "judged in the host's view: $output"
	# Replacing the host's file changes nothing for it either.
	run_hs install "$HS_HELPERS/libvictim_v2.so" ns/libw.so
	[ "$status" -eq 0 ]
	run_hs stale -p "$NSPID"
	[ "$status" -eq 1 ] || fail "the host's upgrade made it stale: $output"
	run_hs who ns/libw.so
	[ "$status" -eq 1 ]

	# Its own file, reached through its root: found, and marked.
	run_hs who --json "$inside"
	[ "$status" -eq 0 ]
	run json_eval 'print(" ".join("%d %s" % (p["pid"], p["other_mntns"]) for p in d["processes"]))'
	[ "$output" = "$NSPID True" ] || fail "$output"

	# Deleted in its namespace: stale, as deleted, under its own name.
	rm "$inside"
	run_hs stale -p "$NSPID"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | grep -q "^	deleted  '$W/ns/libw.so' (" ||
		fail "not deleted: $output"
	run_hs stale --json -p "$NSPID"
	run json_eval 'print(d["processes"][0]["other_mntns"])'
	[ "$output" = True ]
}

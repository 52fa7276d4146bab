#!/usr/bin/env bats
# stale_beyond.bats - hotswap stale beyond the maps, with real processes:
# a Python script replaced while it runs; descriptors to a replaced and
# to a deleted file and an open archive (.jar); the false positives
# needrestart is known for (temporary files, memfd, O_TMPFILE, JIT code
# in /tmp, anonymous shared memory, chroots, other mount namespaces),
# each with a control in the same process that is reported.

load stale_common

setup() {
	stale_setup
	find_python || skip "python3 is not installed"
}

teardown() {
	stale_teardown
}

# has_line TEXT: $output has a line equal to TEXT.
has_line() {
	printf '%s\n' "$output" | grep -qxF -- "$1" || fail "no line '$1' in: $output"
}

@test "stale: a Python script replaced while it runs, by name absolute and relative; the untouched twin is not" {
	printf 'import signal\nprint("ready", flush=True)\nsignal.pause()\n' >a.py
	cp a.py b.py
	cp a.py c.py
	start_ready "$PY" "$W/a.py"
	local a=$RPID
	start_ready "$PY" -u b.py
	local b=$RPID
	start_ready "$PY" c.py	# the control: never touched
	local c=$RPID

	run_hs stale -p "$a,$b,$c"
	[ "$status" -eq 1 ] || fail "stale before any change: $output"

	aged "$a"
	aged "$b"
	replace a.py
	replace b.py
	run_hs stale -p "$a,$b,$c"
	[ "$status" -eq 0 ]
	has_line "	replaced '$W/a.py' (interpreter's script)"
	has_line "	replaced '$W/b.py' (interpreter's script)"
	[[ $output != *"$W/c.py"* ]] || fail "the control is stale: $output"
	[ "$(printf '%s\n' "$output" | grep -c '^[0-9]')" -eq 2 ]

	rm a.py
	run_hs stale --json -p "$a"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.processes[0].files[0] | "\(.why) \(.kind[0]) \(.path)"' <<<"$output")" = "deleted script $W/a.py" ]
}

@test "stale: descriptors to a replaced file, a deleted one and an open .jar; not those written, not the untouched" {
	"$PY" -c 'import zipfile, sys
with zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr("A.class", "x")' app.jar
	echo data >data.txt
	echo gone >gone.txt
	echo keep >keep.txt
	start_ready "$PY" -c 'import signal, sys, zipfile
jar = zipfile.ZipFile(sys.argv[1])
kept = [open(f) for f in sys.argv[2:5]]
log = open(sys.argv[5], "a")
print("ready", flush=True)
signal.pause()' "$W/app.jar" "$W/data.txt" "$W/gone.txt" "$W/keep.txt" "$W/log"

	run_hs stale -p "$RPID"
	[ "$status" -eq 1 ] || fail "stale before any change: $output"

	replace app.jar
	replace data.txt
	rm gone.txt log
	run_hs stale -p "$RPID"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ] || fail "not 1 + 3 lines: $output"
	has_line "	replaced '$W/app.jar' (open descriptor 3)"
	[[ $output == *"	replaced '$W/data.txt' (open descriptor "[0-9]")"* ]] ||
		fail "data.txt: $output"
	[[ $output == *"	deleted  '$W/gone.txt' (open descriptor "[0-9]")"* ]] ||
		fail "gone.txt: $output"

	# The maps alone (today's stale) see none of it: the check is what
	# finds them.
	HOTSWAP_SCAN=maps run_hs stale -p "$RPID"
	[ "$status" -eq 1 ] || fail "the maps saw it: $output"

	run_hs stale --json -p "$RPID"
	[ "$(jq -r '[.processes[0].files[] | select(.path | endswith("app.jar")) | .fds[0], .kind[0], (.maps | length)] | join(" ")' <<<"$output")" = "3 fd 0" ]
}

@test "stale: temporary files, memfd, O_TMPFILE, JIT code in /tmp and shared memory are not stale; a deleted file beside them is" {
	local t=/tmp/hs-e2e-$$ v=/var/tmp/hs-e2e-$$ s=/dev/shm/hs-e2e-$$
	[ -d /dev/shm ] || skip "no /dev/shm"
	echo ctl >ctl
	start_ready "$PY" -c 'import mmap, os, signal, sys
held = []
for p in sys.argv[1:4]:		# temp files: made, opened, unlinked
	with open(p, "w") as f: f.write("x" * 4096)
	held.append(open(p))
	os.unlink(p)
# JIT code: a file in /tmp mapped executable, then unlinked.
jit = open(sys.argv[1] + ".jit", "w+b"); jit.write(b"\xc3" * 4096); jit.flush()
held.append(mmap.mmap(jit.fileno(), 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC))
os.unlink(sys.argv[1] + ".jit")
m = os.memfd_create("hs-e2e"); os.write(m, b"x" * 4096)
held.append(mmap.mmap(m, 4096))
held.append(os.open(os.path.dirname(sys.argv[4]), os.O_TMPFILE | os.O_RDWR))
held.append(mmap.mmap(-1, 4096, flags=mmap.MAP_SHARED))
held.append(open(sys.argv[4]))	# the control
print("ready", flush=True)
signal.pause()' "$t" "$v" "$s" "$W/ctl"

	run_hs stale -p "$RPID"
	[ "$status" -eq 1 ] || fail "stale before the control was removed: $output"
	rm ctl
	run_hs stale -p "$RPID"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ] || fail "more than the control: $output"
	[[ ${lines[1]} == "	deleted  '$W/ctl' (open descriptor "* ]] ||
		fail "not the control: $output"
}

@test "stale: a chrooted process is judged by the names the kernel gives, not joined to its root" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to chroot"
	mkdir root
	echo before >root/data
	echo inside >root/inside
	start_ready "$PY" -c 'import os, signal, sys
before = open(sys.argv[1] + "/data")
os.chroot(sys.argv[1]); os.chdir("/")
inside = open("/inside")
print("ready", flush=True)
signal.pause()' "$W/root"
	[ "$(readlink "/proc/$RPID/root")" = "$W/root" ] || fail "not chrooted"

	# Joined to its root, both names would be missing: deleted.
	run_hs stale -p "$RPID"
	[ "$status" -eq 1 ] || fail "judged under its root: $output"
	replace root/data
	replace root/inside
	run_hs stale -p "$RPID"
	[ "$status" -eq 0 ]
	[[ $output == *"	replaced '$W/root/data' (open descriptor "* ]] ||
		fail "data: $output"
	[[ $output == *"	replaced '$W/root/inside' (open descriptor "* ]] ||
		fail "inside: $output"
}

@test "stale: a process in another mount namespace: its descriptors are judged by its own files" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v unshare >/dev/null || skip "unshare is not installed"
	mkdir ns
	echo host >ns/data	# the host's file at the same path
	start_ready unshare -m --propagation private -- sh -c '
	    mount -t tmpfs -o size=1m hs-e2e "$1" && echo ns >"$1/data" &&
	    exec "$2" -c "import signal, sys
f = open(sys.argv[1])
print(\"ready\", flush=True)
signal.pause()" "$1/data"' sh "$W/ns" "$PY" ||
		skip "cannot mount in a new mount namespace here"
	local inside=/proc/$RPID/root$W/ns/data
	[ "$(cat "$inside")" = ns ] || fail "no namespace of its own"

	# Its name names another file here, not there.
	run_hs stale -p "$RPID"
	[ "$status" -eq 1 ] || fail "judged in the host's view: $output"
	rm "$inside"
	run_hs stale -p "$RPID"
	[ "$status" -eq 0 ]
	[[ $output == *"	deleted  '$W/ns/data' (open descriptor "* ]] ||
		fail "not deleted in its namespace: $output"
}

#!/usr/bin/env bats
# who.bats - hotswap who against real processes: exactly the processes
# that map a file are found, by inode, whatever the name; the output is
# escaped for humans and lossless in JSON; a scan that cannot see every
# process says so.

load who_common

setup() {
	who_setup
	PIDS=()
	mkdir lib
	cp "$WHO_LIB_SRC" lib/libw.so
	cp "$WHO_LIB_SRC" lib/other.so		# same content, other inode
}

teardown() {
	who_teardown
}

@test "who: finds exactly the processes that map the library, no others" {
	start_mappers 5 "$W/lib/libw.so"
	local mine=("${PIDS[@]}")
	PIDS=()
	start_mappers 2 "$W/lib/other.so"	# control: same bytes, not it

	run_hs who lib/libw.so
	[ "$status" -eq 0 ]
	[ "$(pids_of_who)" = "$(sorted "${mine[@]}")" ] ||
		fail "found $(pids_of_who | tr '\n' ' '), want ${mine[*]}"
	# Each line: PID, user, command, how, the file.
	[[ ${lines[0]} =~ ^\ *[0-9]+\ root\ +who_mapper\ +code.*:\ \'lib/libw.so\'$ ]] ||
		fail "line: ${lines[0]}"

	run_hs who lib/other.so
	[ "$status" -eq 0 ]
	[ "$(pids_of_who)" = "$(sorted "${PIDS[@]}")" ]
}

@test "who: matches by inode: a hard link and a symlink find the same processes" {
	start_mappers 3 "$W/lib/libw.so"
	ln lib/libw.so hardlink.so
	ln -s lib/libw.so symlink.so
	for name in hardlink.so symlink.so "$W/lib/../lib/libw.so"; do
		run_hs who "$name"
		[ "$status" -eq 0 ]
		[ "$(pids_of_who)" = "$(sorted "${PIDS[@]}")" ] ||
			fail "$name: $(pids_of_who | tr '\n' ' ')"
	done
}

@test "who: nothing maps the file: exit 1, no output; -q: no output either" {
	run_hs who lib/other.so
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	start_mappers 1 "$W/lib/libw.so"
	run_hs who -q lib/libw.so
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run_hs who -q lib/other.so
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "who: a missing file is an error: exit 2, one line naming it" {
	run_hs who lib/no-such.so
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	one_error_line "'lib/no-such.so'"
	run_hs who lib/libw.so lib/no-such.so
	[ "$status" -eq 2 ]
	one_error_line "'lib/no-such.so'"
}

@test "who: several files, one line per process and file; -v lists the ranges" {
	start_mappers 1 "$W/lib/libw.so"
	local a=${PIDS[0]}
	start_mappers -m 1 "$W/lib/other.so"
	local b=${PIDS[1]}

	run_hs who lib/libw.so lib/other.so
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	printf '%s\n' "$output" | grep -q "^ *$a .*code.*'lib/libw.so'\$"
	printf '%s\n' "$output" | grep -q "^ *$b .* read-only data: 'lib/other.so'\$"

	run_hs who -v lib/other.so
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	# As /proc/PID/maps writes the range.
	[[ ${lines[1]} =~ ^$'\t'([0-9a-f]{8,16}-[0-9a-f]{8,16})\ at\ 0:\ read-only\ data$ ]] ||
		fail "range line: ${lines[1]}"
	grep -q "^${BASH_REMATCH[1]} r--p 00000000 " "/proc/$b/maps" ||
		fail "range ${BASH_REMATCH[1]} not in /proc/$b/maps"
}

@test "who: the running executable is marked as such" {
	cp "$HS_HELPERS/who_mapper" ./mapper
	local fifo=$W/fifo line
	mkfifo "$fifo"
	./mapper -m "$W/lib/other.so" >"$fifo" &
	MAPPERS+=("$!")
	track "$!"
	read -r -t "$HS_TIMEOUT" line <"$fifo"
	run_hs who ./mapper lib/other.so
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == *" running executable, code"*": './mapper'" ]] ||
		fail "line: ${lines[0]}"
	[[ ${lines[1]} == *" mapper "*" read-only data: 'lib/other.so'" ]] ||
		fail "line: ${lines[1]}"
}

@test "who --json: valid, streamed schema, every helper once" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	start_mappers 4 "$W/lib/libw.so"
	run_hs who --json lib/libw.so
	[ "$status" -eq 0 ]
	json_ok
	run json_eval '
print(" ".join(str(p["pid"]) for p in sorted(d["processes"], key=lambda p: p["pid"])))
assert d["files"][0]["path"] == "lib/libw.so"
assert d["files"][0]["ino"] > 0 and ":" in d["files"][0]["dev"]
for p in d["processes"]:
    assert p["user"] == "root" and p["uid"] == 0
    assert p["comm"] == "who_mapper" and p["start_time"] > 0
    assert p["other_mntns"] is False
    assert "code" in p["kinds"]
    for m in p["maps"]:
        assert m["file"] == 0 and int(m["start"], 16) < int(m["end"], 16)
assert d["method"] in ("bpf_iter", "text", "text+procmap_query", "procmap_query")
# The kernel iterator counts only what it reports; /proc, every process.
assert d["inspected"] == 4 if d["method"] == "bpf_iter" else d["inspected"] > 4
assert isinstance(d["incomplete"], bool)'
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = "$(sorted "${PIDS[@]}" | tr '\n' ' ' | sed 's/ $//')" ]

	run_hs who --json lib/other.so
	[ "$status" -eq 1 ]
	json_ok
}

# bpf_possible: the conditions under which who must use the BPF iterator
# (hotswap(1)): CAP_BPF and CAP_PERFMON or CAP_SYS_ADMIN, the kernel's
# BTF, the initial PID namespace, no lockdown of kernel reads, no seccomp
# filter.  Where one
# is missing (an unprivileged container, say) the test is skipped, not
# failed: who then reads /proc, which the other tests cover.
bpf_possible() {
	local eff
	[ -r /sys/kernel/btf/vmlinux ] || return 1
	[ "$(stat -L -c %i /proc/self/ns/pid)" = 4026531836 ] || return 1
	grep -q '\[confidentiality\]' /sys/kernel/security/lockdown \
	    2>/dev/null && return 1
	grep -q '^Seccomp:[[:space:]]*0' /proc/self/status || return 1
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	(( (0x$eff >> 21) & 1 )) && return 0			# CAP_SYS_ADMIN
	(( (0x$eff >> 38) & 1 && (0x$eff >> 39) & 1 ))	# PERFMON, BPF
}

@test "who as root: the kernel's BPF iterator answers, and /proc agrees" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	bpf_possible || skip "no BPF iterator here (capabilities, BTF, namespace)"
	command -v python3 >/dev/null || skip "python3 is not installed"
	start_mappers 3 "$W/lib/libw.so"
	run_hs who --json lib/libw.so
	[ "$status" -eq 0 ]
	run json_eval 'print(d["method"], len(d["processes"]))'
	[ "$output" = "bpf_iter 3" ] || fail "$output"
	run_hs who -v lib/libw.so
	[ "$status" -eq 0 ]
	local bpf=$output
	HOTSWAP_SCAN=proc run_hs who -v lib/libw.so
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output")" = "$(sort <<<"$bpf")" ] || fail "$output"
	# proc: the text, with PROCMAP_QUERY for sparse maps (see below).
	HOTSWAP_SCAN=proc run_hs who --json lib/libw.so
	run json_eval 'print(d["method"])'
	[[ $output == text || $output == text+procmap_query ]] ||
		fail "$output"
}

@test "who under a seccomp filter that kills on bpf(2): answered from /proc" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	command -v perl >/dev/null || skip "perl is not installed"
	# Control: the filter does kill a bpf(2) call (321 on x86-64).
	[ "$(uname -m)" = x86_64 ] || skip "the filter is written for x86-64"
	run "$HS_HELPERS/seccomp_deny" bpf KILL perl -e 'syscall(321, 0, 0, 0)'
	[ "$status" -eq $((128 + 31)) ] || fail "bpf(2) not killed: $status"
	start_mappers 2 "$W/lib/libw.so"
	run --separate-stderr "$HS_HELPERS/seccomp_deny" bpf KILL \
	    "$HOTSWAP" who --json lib/libw.so
	[ "$status" -eq 0 ] || fail "who ended with $status: $output"
	# From /proc: the text, and PROCMAP_QUERY where some process on the
	# machine has sparse maps (ASan's shadow, a JIT): either, never BPF.
	# (Whether such a process runs depends on the machine.)
	run json_eval 'print(d["method"], len(d["processes"]))'
	[[ $output == "text 2" || $output == "text+procmap_query 2" ]] ||
		fail "$output"
}

@test "who: BPF, text, PROCMAP_QUERY, one or two CPUs: the same processes and ranges" {
	start_mappers 3 "$W/lib/libw.so"
	# The order of processes is unspecified: compare the lines sorted.
	HOTSWAP_SCAN=serial run_hs who -v lib/libw.so
	[ "$status" -eq 0 ]
	local want
	want=$(sort <<<"$output")
	[ "$(grep -c $'^\t' <<<"$output")" -ge 9 ]
	for how in "" proc text ioctl text,serial ioctl,serial; do
		HOTSWAP_SCAN=$how run_hs who -v lib/libw.so
		[ "$status" -eq 0 ]
		[ "$(sort <<<"$output")" = "$want" ] ||
			fail "HOTSWAP_SCAN=$how: $output"
	done
}

@test "who: a library on an overlayfs mount is matched" {
	mkdir lower upper work merged
	cp "$WHO_LIB_SRC" lower/libo.so
	mount_it -t overlay overlay \
	    -o "lowerdir=$W/lower,upperdir=$W/upper,workdir=$W/work" merged ||
		skip "cannot mount overlayfs here"
	start_mappers 2 "$W/merged/libo.so"
	run_hs who merged/libo.so
	[ "$status" -eq 0 ]
	[ "$(pids_of_who)" = "$(sorted "${PIDS[@]}")" ]
	# The control: a copy with the same bytes outside is another file.
	run_hs who "$WHO_LIB_SRC"
	[ -z "$(comm -12 <(pids_of_who) <(sorted "${PIDS[@]}"))" ]
}

@test "who: names with spaces, newlines and non-UTF-8 bytes: escaped, and lossless in JSON" {
	local odd=$'we ird\nna\xffme'
	cp "$WHO_LIB_SRC" "lib/$odd.so"
	ln -s "$HS_HELPERS/who_mapper" "$W/$odd"
	local fifo=$W/fifo line
	mkfifo "$fifo"
	"$W/$odd" "$W/lib/$odd.so" >"$fifo" &
	MAPPERS+=("$!")
	track "$!"
	local pid=$!
	read -r -t "$HS_TIMEOUT" line <"$fifo"

	run_hs who "lib/$odd.so"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ] || fail "not one line: $output"
	# strvis: newline as \n, the byte 0xff in octal, the space kept.
	[[ ${lines[0]} == " "*"$pid root "*'we ird\nna\377me '*": 'lib/we ird\\nna\\377me.so'" ]] ||
		fail "line: ${lines[0]}"

	command -v python3 >/dev/null || skip "python3 is not installed"
	run_hs who --json "lib/$odd.so"
	[ "$status" -eq 0 ]
	json_ok
	[[ $output == *'\udcff'* ]]
	run json_eval '
want = "we ird\nna\xffme".encode("latin-1")
p = d["processes"][0]
assert p["comm"].encode("utf-8", "surrogateescape") == want[:15], p["comm"]
assert d["files"][0]["path"].encode("utf-8", "surrogateescape") == b"lib/" + want + b".so"'
	[ "$status" -eq 0 ] || fail "$output"
}

# The user name comes from NSS, which need not be the local passwd file
# (an LDAP directory): who and stale escape it like every other name.  A
# private mount namespace gives uid 0 a name with a terminal escape.
@test "who, stale: a user name with terminal escapes is printed escaped" {
	command -v unshare >/dev/null || skip "unshare is not installed"
	start_mappers 1 "$W/lib/libw.so"
	sed "s/^root:/r$(printf '\033')[31mX:/" /etc/passwd >"$W/passwd"
	run --separate-stderr unshare -m sh -c '
	    mount --bind "$1/passwd" /etc/passwd || exit 99
	    "$HOTSWAP" who "$1/lib/libw.so"' sh "$W"
	[ "$status" -ne 99 ] || skip "cannot bind-mount over /etc/passwd here"
	[ "$status" -eq 0 ] || fail "who: $status $stderr"
	[[ $output != *$'\033'* ]] || fail "raw ESC in: $output"
	[[ $output == *' r\033[31mX '* ]] || fail "line: $output"
	"$HOTSWAP" install -q "$WHO_LIB_SRC" lib/libw.so	# now it is stale
	run --separate-stderr unshare -m sh -c '
	    mount --bind "$1/passwd" /etc/passwd || exit 99
	    "$HOTSWAP" stale -p "$2"' sh "$W" "${PIDS[0]}"
	[ "$status" -eq 0 ] || fail "stale: $status $stderr"
	[[ $output != *$'\033'* ]] || fail "raw ESC in: $output"
	[[ $output == *' r\033[31mX '* ]] || fail "line: $output"
}

@test "who as nobody: processes it may not inspect are reported, exit accordingly" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	cp "$WHO_LIB_SRC" lib/rootonly.so
	start_mappers 1 "$W/lib/rootonly.so"	# root's: hidden from nobody
	start_mappers 2 "$W/lib/libw.so"
	PIDS=()
	start_mappers -u 2 "$W/lib/libw.so"	# nobody's own

	run_hs_nobody who lib/libw.so
	[ "$status" -eq 0 ]
	[ "$(pids_of_who)" = "$(sorted "${PIDS[@]}")" ] ||
		fail "nobody found $(pids_of_who | tr '\n' ' '), want ${PIDS[*]}"
	[[ $stderr =~ ^hotswap:\ [0-9]+\ process(es)?\ could\ not\ be\ inspected$ ]] ||
		fail "stderr: $stderr"
	local n=${stderr#hotswap: }
	n=${n%% *}
	[ "$n" -ge 3 ]

	# Only root's processes map it: none seen, exit 1, and the warning.
	run_hs_nobody who lib/rootonly.so
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ $stderr == *"could not be inspected"* ]]
	# -q: not a word.
	run_hs_nobody who -q lib/rootonly.so
	[ "$status" -eq 1 ]
	[ -z "$output" ] && [ -z "$stderr" ]

	command -v python3 >/dev/null || skip "python3 is not installed"
	run_hs_nobody who --json lib/rootonly.so
	[ "$status" -eq 1 ]
	json_ok
	run json_eval 'assert d["incomplete"] is True and d["uninspectable"] >= 3 and d["processes"] == []'
	[ "$status" -eq 0 ] || fail "$output"
}

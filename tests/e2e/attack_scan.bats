#!/usr/bin/env bats
# attack_scan.bats - a local user (nobody) against root's hotswap stale,
# who and install --manifest: the attacker's steps run as nobody, root's
# hotswap as root, and each test checks that the harm did not happen.
#
#  - 65,000 mappings of one deleted file with a 4000-byte name: stale
#    (and so the apt hook) used to compare every mapping with every other
#    one, minutes of CPU and 500 MB; it must finish within 60 s (it takes
#    about 10 s here, the old code more than 11 minutes: a margin of an
#    order of magnitude either way, so the bound cannot flake);
#  - mappings that alternate between two long names: what is kept of one
#    process is bounded, and the output says how much was left out;
#  - a cgroup that nobody names "--host=evil.example.service" below a
#    cgroup delegated to it: never printed as a unit for systemctl;
#  - a command name and a mapped path holding ESC, CSI (U+009B, and a
#    raw 0x9b byte) and a newline: escaped in every output;
#  - a manifest line with a NUL byte: refused, not cut at the NUL.

load common

setup() {
	hs_setup
	mkdir "$W/nb"
	chown nobody:nogroup "$W/nb"
	CG=
}

teardown() {
	local pid
	for pid in "${HS_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	HS_PIDS=()
	if [ -n "$CG" ]; then
		# A killed process leaves its cgroup as it is reaped; bounded.
		wait_for 10 rmdir -- "$CG/$EVIL" 2>/dev/null ||
			echo "# could not remove $CG/$EVIL" >&3
		wait_for 10 rmdir -- "$CG" 2>/dev/null ||
			echo "# could not remove $CG" >&3
	fi
	hs_teardown
}

# start_attacker ARGS...: scan_attacker ARGS as nobody in $W/nb; waits
# for its "ready" line.  Sets APID.
start_attacker() {
	local fifo line
	fifo=$(mktemp -u "$W/.fifo.XXXXXX")
	mkfifo "$fifo"
	(cd "$W/nb" && exec setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups -- "$HS_HELPERS/scan_attacker" "$@") >"$fifo" 3>&- &
	APID=$!
	track "$APID"
	exec {AFD}<"$fifo"
	rm -f "$fifo"
	read -r -t 60 -u "$AFD" line || fail "attacker did not say ready"
	[[ $line == "ready "* ]] || fail "attacker said '$line'"
}

# no_raw_controls TEXT: fail if TEXT holds ESC, a 0x9b byte (raw or in
# the UTF-8 of U+009B), DEL or any C0 control but tab and newline.
no_raw_controls() {
	local hex
	hex=$(printf '%s' "$1" | od -An -v -tx1 | tr -s ' \n' '  ')
	[[ " $hex " != *" 1b "* && " $hex " != *" 9b "* ]] ||
		fail "raw ESC or CSI in the output: $1"
	! printf '%s' "$1" | LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' ||
		fail "a control character in the output: $1"
}

@test "attack: 65,000 mappings of a deleted long name: the apt hook and stale --json end in 60 s" {
	local max count
	max=$(sysctl -n vm.max_map_count)
	count=$(( max - 200 < 65000 ? max - 200 : 65000 ))
	[ "$count" -ge 10000 ] || skip "vm.max_map_count is only $max"
	start_attacker many "$count" 1 4000
	[ "$(wc -l <"/proc/$APID/maps")" -ge "$count" ]

	# The apt hook runs stale over every process, synchronously.
	run timeout 60 env HOTSWAP="$HOTSWAP" "$HS_TOP/contrib/hotswap-stale-hook"
	[ "$status" -eq 0 ]
	[[ "$output" == *"still run replaced files"* ]] ||
		fail "the hook did not finish or list it: $output"
	[ "$(printf '%s\n' "$output" | grep -c "^$APID nobody ")" -eq 1 ]
	# One line for the file, however many mappings.
	[ "$(printf '%s\n' "$output" | grep -c "deleted  '$W/nb/ddd")" -eq 1 ]

	run --separate-stderr timeout 60 "$HOTSWAP" stale --json -p "$APID"
	[ "$status" -eq 0 ] || fail "stale --json: status $status"
	[ "$(jq '.processes | length' <<<"$output")" -eq 1 ]
	[ "$(jq '.processes[0].files | length' <<<"$output")" -eq 1 ]
	[ "$(jq '.processes[0].files[0].maps | length' <<<"$output")" -eq "$count" ]
	[ "$(jq '.processes[0].dropped' <<<"$output")" -eq 0 ]
}

@test "attack: mappings alternating between two long names: memory bounded, the cut said" {
	start_attacker many 4000 2 4000

	run_hs stale --json -p "$APID"
	[ "$status" -eq 0 ]
	local kept dropped
	kept=$(jq '[.processes[0].files[].maps | length] | add' <<<"$output")
	dropped=$(jq '.processes[0].dropped' <<<"$output")
	[ "$(jq '.processes[0].files | length' <<<"$output")" -eq 2 ]
	# 1 MiB of names: about 260 names of 4000 bytes kept, not 4000.
	[ "$kept" -gt 0 ] && [ "$kept" -lt 300 ] || fail "kept $kept"
	[ "$(( kept + dropped ))" -eq 4000 ] ||
		fail "kept $kept + dropped $dropped != 4000"

	run_hs stale -p "$APID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"($dropped more stale mappings not listed: the process passed the limit of what is kept for one)"* ]] ||
		fail "no line about the mappings left out: $output"
}

@test "attack: a cgroup named --host=evil.example.service by nobody is not a unit for systemctl" {
	local mnt line
	mnt=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") {
		if ($(i + 1) == "cgroup2") print $5; break } }' \
	    /proc/self/mountinfo | head -n 1)
	[ -n "$mnt" ] || skip "no cgroup2 file system mounted"
	EVIL=--host=evil.example.service
	# Root delegates a cgroup to nobody, as systemd does with Delegate=.
	mkdir "$mnt/hs-attack-$$.scope" 2>/dev/null ||
		skip "cannot make a cgroup under $mnt"
	CG=$mnt/hs-attack-$$.scope
	chown nobody:nogroup "$CG" "$CG/cgroup.procs"
	as_nobody mkdir -- "$CG/$EVIL"

	cp "$HS_HELPERS/libvictim_v1.so" lib.so
	local fifo
	fifo=$(mktemp -u "$W/.fifo.XXXXXX")
	mkfifo "$fifo"
	# Root puts the process in the delegated cgroup; nobody moves itself
	# into the cgroup it named, then maps the library.
	(echo "$BASHPID" >"$CG/cgroup.procs" &&
	    exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" -m "$3"' sh \
	    "$CG/$EVIL" "$HS_HELPERS/who_mapper" "$W/lib.so") >"$fifo" 3>&- &
	APID=$!
	track "$APID"
	exec {AFD}<"$fifo"
	rm -f "$fifo"
	read -r -t "$HS_TIMEOUT" -u "$AFD" line || fail "mapper not ready"
	[ "$(grep '^0::' "/proc/$APID/cgroup")" = "0::/hs-attack-$$.scope/$EVIL" ] ||
		skip "cgroup2 at $mnt is not the root of our cgroup namespace"

	run_hs install -q "$HS_HELPERS/libvictim_v2.so" lib.so
	[ "$status" -eq 0 ]

	run_hs stale --unit
	[ "$status" -eq 0 ]
	[[ "$output" != *evil.example* ]] || fail "the attacker's name: $output"
	! printf '%s\n' "$output" | grep -q '^-' || fail "an option: $output"
	printf '%s\n' "$output" | grep -qx "hs-attack-$$.scope" ||
		fail "not the delegated unit: $output"

	run_hs stale --json -p "$APID"
	[ "$status" -eq 0 ]
	[[ "$output" != *evil.example* ]] || fail "the attacker's name: $output"
	[ "$(jq -r '.processes[0].unit' <<<"$output")" = "hs-attack-$$.scope" ]

	run_hs stale -p "$APID"
	[ "$status" -eq 0 ]
	[[ "$output" == *" unit hs-attack-$$.scope"* ]]
	[[ "$output" != *evil.example* ]]
}

@test "attack: ESC, CSI and newline in a command name and a mapped path: escaped in stale and who" {
	local name comm p
	name=$'lib\e[31m\xc2\x9b\x9b\nx.so'
	comm=$'\e]0;\xc2\x9b\x9b\nX'
	start_attacker name "$W/nb/$name" "$comm"

	run_hs stale -p "$APID"
	[ "$status" -eq 0 ]
	no_raw_controls "$output"
	[ "${#lines[@]}" -eq 2 ] || fail "not two lines: $output"
	[[ "${lines[0]}" == "$APID nobody other \\033]0;\\302\\233\\233\\nX" ]] ||
		fail "process line: ${lines[0]}"
	[[ "${lines[1]}" == *"/nb/lib\\033[31m\\302\\233\\233\\nx.so' ("* ]] ||
		fail "file line: ${lines[1]}"

	run_hs stale --json -p "$APID"
	[ "$status" -eq 0 ]
	no_raw_controls "$output"
	[[ "$output" == *'"comm":"\u001b]0;\u009b\udc9b\nX"'* ]] ||
		fail "comm in JSON: $output"
	[[ "$output" == *'/nb/lib\u001b[31m\u009b\udc9b\nx.so"'* ]] ||
		fail "path in JSON: $output"
	# Lossless: decoded with surrogateescape, the exact bytes come back.
	python3 -c '
import json, os, sys
d = json.loads(sys.argv[1])["processes"][0]
enc = lambda s: s.encode("utf-8", "surrogateescape")
assert enc(d["comm"]) == os.fsencode(sys.argv[2]), d["comm"]
assert enc(d["files"][0]["path"]) == os.fsencode(sys.argv[3]), d["files"]
' "$output" "$comm" "$W/nb/$name"

	# who: the same command name, and the path as given.
	start_attacker keep "$W/nb/k$name" "$comm"
	run_hs who "$W/nb/k$name"
	[ "$status" -eq 0 ]
	no_raw_controls "$output"
	[ "${#lines[@]}" -ge 1 ]
	[[ "$output" == *"\\033]0;\\302\\233\\233\\nX"* ]] || fail "who: $output"
	run_hs who --json "$W/nb/k$name"
	[ "$status" -eq 0 ]
	no_raw_controls "$output"
	[[ "$output" == *'"comm":"\u001b]0;\u009b\udc9b\nX"'* ]] ||
		fail "who --json: $output"
}

@test "attack: a manifest line 'SRC d<NUL>.evil' is refused, not installed to d" {
	echo payload >src
	mkdir out
	as_nobody sh -c 'printf "%s d\0.evil\n" "$1" >"$2"' sh "$W/src" \
	    "$W/nb/list"
	[ "$(wc -c <"$W/nb/list")" -gt 0 ]

	cd out
	run_hs install --manifest "$W/nb/list"
	[ "$status" -eq 2 ]
	one_error_line "'$W/nb/list' line 1: NUL byte in the line"
	[ ! -e d ] && [ ! -e d.evil ] || fail "installed: $(ls -A)"
	[ -z "$(ls -A)" ]
}

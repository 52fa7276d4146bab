#!/usr/bin/env bats
# attack_scan.bats - a local user (nobody) against root's hotswap stale,
# who and install --manifest: the attacker's steps run as nobody, root's
# hotswap as root, and each test checks that the harm did not happen.
#
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

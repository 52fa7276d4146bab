#!/usr/bin/env bash
# bench_powercut.sh - what a power cut leaves of a file being replaced by
# cp, GNU install, cp to a temporary then mv, rsync without and with
# --fsync, and hotswap install.  A report, never a test.
#
#   tests/bench/bench_powercut.sh        (make bench-powercut)
#
# Each tool replaces DEST (SIZE bytes, default 300 KiB, so that a copy
# takes more than one FUSE write) once, through build/powercut/
# powercut; every cut point in each mode is judged by tests/powercut/
# check.sh, and its label for DEST tallied: missing, empty, torn, old,
# new.  "cuts with a loss" counts the cut points where some state lost
# both versions (missing, empty or torn); "new after it returned" counts
# the states of the last cut point, after the tool exited, that have the
# new file: all of them if the replacement was durable.  The model is powercut's (README,
# "Power-cut testing"): drop loses all that no fsync covered; prefix may
# also keep any prefix of it, in order.
#
# Then, as root with loop devices and mkfs.ext4, the same through the
# block-level power cut under a real ext4 (build/powercut/blockcut, modes
# drop, prefix and subset; README, "At block level").
#
# Environment: HOTSWAP (default ./hotswap), POWERCUT (default
# build/powercut/powercut), BLOCKCUT (build/powercut/blockcut), SIZE
# (307200).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
HOTSWAP=${HOTSWAP:-$top/hotswap}
POWERCUT=${POWERCUT:-$top/build/powercut/powercut}
BLOCKCUT=${BLOCKCUT:-$top/build/powercut/blockcut}
CHECK=$top/tests/powercut/check.sh
SIZE=${SIZE:-307200}

[ -c /dev/fuse ] || { echo "bench_powercut: no /dev/fuse" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/hs-bench-pc.XXXXXX")
trap 'rm -rf --one-file-system "$W"' EXIT
export TMPDIR=$W
mkdir "$W/seed" "$W/src"
head -c "$SIZE" /dev/urandom >"$W/seed/dest"
# A size of its own, or rsync's quick check (size and mtime) may skip it.
head -c "$((SIZE + 4096))" /dev/urandom >"$W/src/new"
chmod 644 "$W/seed/dest" "$W/src/new"

# tally NAME MODE CMD...: one row of the table, through $HARNESS.
HARNESS=$POWERCUT
tally() {
	local name=$1 mode=$2 out
	shift 2
	rm -rf "$W/ref"
	cp -a "$W/seed" "$W/ref"
	(cd "$W/ref" && "$@") >/dev/null 2>&1
	out=$("$HARNESS" -v --mode "$mode" --seed "$W/seed" \
	    --check "$CHECK $W/seed $W/ref dest" -- "$@" 2>/dev/null) || true
	awk -v name="$name" -v mode="$mode" '
	/^cut [0-9]+\// { cuts++; lossy = 0; final = /the command has exited/ }
	/^  (ok|rejected): / {
		split($0, f, "dest="); l = f[2]; sub(/ .*/, "", l)
		n[l]++; states++
		if (l == "missing" || l == "empty" || l == "torn") {
			if (!lossy) loss++
			lossy = 1
		}
		if (final) { last++; if (l == "new") lastnew++ }
	}
	END {
		printf "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %d of %d |\n",
		    name, mode, cuts, states, n["missing"], n["empty"],
		    n["torn"], n["old"], n["new"], loss, lastnew, last
	}' <<<"$out"
}

S=$W/src/new
# table MODE...: every tool through $HARNESS in each MODE.
table() {
	local mode
	echo "| tool | mode | cut points | states | missing | empty | torn | old | new | cuts with a loss | new after it returned |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for mode in "$@"; do
		tally cp "$mode" cp "$S" dest
		tally "GNU install" "$mode" install -m 644 "$S" dest
		tally "cp tmp && mv tmp" "$mode" sh -c "cp '$S' dest.tmp && mv dest.tmp dest"
		tally rsync "$mode" rsync "$S" dest
		tally "rsync --fsync" "$mode" rsync --fsync "$S" dest
		tally "hotswap --no-sync" "$mode" "$HOTSWAP" install --no-sync "$S" dest
		tally "hotswap install" "$mode" "$HOTSWAP" install "$S" dest
	done
}

echo "powercut: a file of $SIZE bytes replaced by one of $((SIZE + 4096)); Linux $(uname -r)"
echo
table drop prefix
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/loop-control ] ||
    ! command -v mkfs.ext4 >/dev/null || [ ! -x "$BLOCKCUT" ]; then
	echo
	echo "blockcut: skipped (needs root, loop devices, mkfs.ext4 and $BLOCKCUT)"
	exit 0
fi
echo
echo "blockcut: the same, at block level under ext4 ($(mkfs.ext4 -V 2>&1 | head -1))"
echo
HARNESS=$BLOCKCUT
table drop prefix subset

#!/usr/bin/env bats
# attack_race.bats - directory and symbolic-link swaps raced against a
# single install, install -D, install -b and rollback (issue 13; the
# install -r and recover races are in attack_install.bats and
# attack_journal.bats).
#
# The attacker, nobody, owns $ATK (0755), a directory root installs into,
# and wants root to create or change something in $VAULT (root's, 0700:
# "s" holds SECRET, "outside" holds OUTSIDE), or to make DEST name a file
# of the attacker's choosing.  The swapper helper, run as nobody, exchanges
# two names with renameat2(RENAME_EXCHANGE) in a tight loop while root
# runs hotswap ROUNDS times.  After each round the swapper is stopped
# (SIGSTOP, and we wait until the kernel says it is stopped) so that the
# round is judged, and the names reset, with nothing moving.
#
# The bounds: each test's comment gives the rate at which the unfixed
# binary lost the race on this machine (2 cores, ASan build); ROUNDS is
# chosen so that a build that loses at that rate passes with probability
# (1 - rate)^ROUNDS < 1e-4, and the test stays under about 20 seconds.

load common

setup() {
	hs_setup
	ATK=$W/atk
	VAULT=$W/vault
	mkdir -m 0755 "$ATK"
	chown nobody:nogroup "$ATK"
	mkdir -m 0700 "$VAULT"
	echo SECRET >"$VAULT/s"
	chmod 0600 "$VAULT/s"
	echo OUTSIDE >"$VAULT/outside"
	chmod 0644 "$VAULT/outside"
	echo new >"$W/new"
	SWAPPER=$HS_HELPERS/swapper
	[ -x "$SWAPPER" ] || fail "no $SWAPPER: run make check-build"
	SPID=
}

teardown() {
	[ -z "$SPID" ] || kill -CONT "$SPID" 2>/dev/null || true
	hs_teardown
}

# pause_swapper: SIGSTOP it and wait until it is stopped, so that no
# exchange is in flight while a round is judged.
pause_swapper() {
	local i state
	kill -STOP "$SPID"
	for ((i = 0; i < 100000; i++)); do
		state=$(cut -d' ' -f3 "/proc/$SPID/stat")
		[ "$state" = T ] && return 0
	done
	fail "the swapper did not stop"
}

# vault_intact: nothing in the vault was added, replaced or changed.
vault_intact() {
	[ "$(listing "$VAULT")" = "$(printf '%s\n' outside s)" ] &&
	    [ "$(cat "$VAULT/outside")" = OUTSIDE ] &&
	    [ "$(stat -c '%a %U' "$VAULT/s")" = "600 root" ]
}

# reset_vault: put the vault back as setup() made it, after a lost round.
reset_vault() {
	find "$VAULT" -mindepth 1 -maxdepth 1 ! -name s ! -name outside \
	    -exec rm -rf {} +
	echo OUTSIDE >"$VAULT/outside"
}

# no_temp DIR...: no temporary file of hotswap is left in any DIR.
no_temp() {
	local left
	left=$(find "$@" -name '*.hs-*' 2>/dev/null)
	[ -z "$left" ] || fail "temporary files left: $left"
}

# refused_or_ok NEEDLE: the round succeeded, or said why in one line
# naming NEEDLE.
refused_or_ok() {
	[ "$status" -eq 0 ] && return 0
	[ "$status" -eq 1 ] || fail "exit status $status: $stderr"
	one_error_line "$1"
}

# --- install -D -------------------------------------------------------------

# install -D DEST=$ATK/new/sub/f makes $ATK/new, then $ATK/new/sub, then
# the file in it.  The swapper exchanges $ATK/new, the moment it exists,
# with its link to the vault.  The old hs_mkdirs made each component by
# path and the file's directory was then opened by path, so a swap after
# the first mkdir made root create "sub" and "f" in the vault.  Old
# binary: the vault was written in 13 of 100 and 6 of 80 rounds (7.5%
# at the lowest); (1 - 0.075)^120 < 1e-4, and 120 rounds take about 20 s.
@test "race: install -D against a new parent directory swapped for a symlink to a root-only directory" {
	local r won=0 made=0 DEEP=a/b/c dots
	# DEST is reached through root's link $W/far -> $ATK/./././...:
	# each lookup by path of far/new/... first walks 2000 "."
	# components, which holds the window between the mkdir of new and
	# the next lookup through it open long enough to be hit.
	ln -s "$ATK$(printf '/.%.0s' {1..2000})" "$W/far"
	as_nobody ln -s "$VAULT" "$ATK/spare"
	start_swapper chase "$ATK/new" "$ATK/spare"
	for ((r = 0; r < ${HS_RACE_ROUNDS:-120}; r++)); do
		kill -CONT "$SPID"
		run_hs install -D "$W/new" "$W/far/new/$DEEP/f"
		pause_swapper
		no_temp "$ATK" "$VAULT"
		if ! vault_intact; then
			won=$((won + 1))
			reset_vault
		elif [ "$status" -eq 0 ]; then
			# Wherever the swapper left the directory made, the
			# file is in it, complete.
			made=$((made + 1))
			[ "$(cat "$ATK/new/$DEEP/f" 2>/dev/null ||
			    cat "$ATK/spare/$DEEP/f")" = new ] ||
				fail "installed, but no complete f: $stderr"
		else
			one_error_line "/new"
		fi
		rm -rf "$ATK/new" "$ATK/spare"
		as_nobody ln -s "$VAULT" "$ATK/spare"
	done
	stop_swapper
	echo "# install -D: vault written in $won of $r rounds," \
	    "$made installed, $FLIPS exchanges" >&3
	[ "$won" -eq 0 ] || fail "the race was won in $won of $r rounds"
	[ "$FLIPS" -gt 0 ] || fail "the swapper never exchanged"
}

# The control, without a swapper: install -D still makes the whole path
# and puts the file in it, also through a link the user named.
@test "install -D: missing directories are made below an existing link" {
	mkdir "$W/real"
	ln -s real "$W/via"
	run_hs install -D "$W/new" "$W/via/a//b/./c/f"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(cat "$W/real/a/b/c/f")" = new ]
}

# A directory of another user that exists when hotswap looks is part of
# the path the user named, and is followed as named (mkdir -p does too);
# only the directories hotswap itself makes must be its own.
@test "install -D: an existing directory of another user on the path is used as named" {
	as_nobody mkdir "$ATK/new"
	run_hs install -D "$W/new" "$ATK/new/sub/f"
	# It existed before hotswap looked: the user named it, it is used.
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(cat "$ATK/new/sub/f")" = new ]
}

# --- a single install ---------------------------------------------------------

# DEST=$ATK/c/f, and the swapper exchanges the attacker's own directory
# $ATK/c with a link to the vault.  The path the user named goes through
# a directory nobody controls, so nobody chooses, once, which directory
# it names when hotswap resolves it (install(1) and cp(1) follow it the
# same way).  What hotswap promises is that it acts on that one directory:
# the temporary is made, synced and renamed there and that directory is
# synced, all through one descriptor.  So in every round f is complete in
# exactly one of the two directories, and no temporary is left in either.
# Old binary and new: no round in 100 and 80 left a temporary or split
# the file between the two directories (f landed in the vault in 46 and
# 35 of them: that is the swap before hotswap resolved the path, which
# is the attacker's to choose).  80 rounds, about 10 s.
@test "race: a single install against a directory of DEST's path swapped for a symlink" {
	local r vault=0 here=0
	as_nobody mkdir "$ATK/c"
	as_nobody ln -s "$VAULT" "$ATK/spare"
	start_swapper flip "$ATK/c" "$ATK/spare"
	for ((r = 0; r < ${HS_RACE_ROUNDS:-80}; r++)); do
		kill -CONT "$SPID"
		run_hs install "$W/new" "$ATK/c/f"
		pause_swapper
		refused_or_ok "$ATK/c"
		no_temp "$ATK" "$VAULT"
		[ "$(cat "$VAULT/outside")" = OUTSIDE ] || fail "outside changed"
		[ "$(cat "$VAULT/s")" = SECRET ] || fail "s changed"
		if [ -e "$VAULT/f" ]; then
			vault=$((vault + 1))
			[ "$(cat "$VAULT/f")" = new ] || fail "partial f"
			[ ! -e "$(realpath "$ATK/c")/f" ] ||
			[ ! -e "$(realpath "$ATK/spare")/f" ] ||
				fail "f in both directories"
		elif [ "$status" -eq 0 ]; then
			here=$((here + 1))
			[ "$(cat "$ATK/c/f" 2>/dev/null ||
			    cat "$ATK/spare/f")" = new ] || fail "no complete f"
		fi
		rm -f "$VAULT/f" "$ATK/c/f" "$ATK/spare/f"
	done
	stop_swapper
	echo "# single install: in the vault $vault, in nobody's" \
	    "directory $here, of $r rounds" >&3
	[ $((vault + here)) -gt 0 ] || fail "no round installed"
}

# --- install -b -----------------------------------------------------------------

# root's app in nobody's directory; the backup name app~ does not exist,
# and the swapper exchanges it, whenever it does, with nobody's link to
# the vault's "outside".  The backup is linked under a temporary name and
# renamed over app~ in app's directory descriptor: a link at app~ is
# replaced, never followed.  So after every round the old app is, as a
# root regular file, at app~ or (moved there by the swapper) at spare,
# and "outside" is untouched.  Old binary: 0 of 100 rounds lost (no race
# expected: the rename does not follow).  80 rounds, about 10 s.
@test "race: install -b against the backup name swapped with a symlink" {
	local r b
	as_nobody ln -s "$VAULT/outside" "$ATK/spare"
	start_swapper chase "$ATK/app~" "$ATK/spare"
	for ((r = 0; r < ${HS_RACE_ROUNDS:-80}; r++)); do
		echo old >"$ATK/app"
		kill -CONT "$SPID"
		run_hs install -b "$W/new" "$ATK/app"
		pause_swapper
		[ "$status" -eq 0 ] || fail "round $r: $stderr"
		vault_intact || fail "round $r: the vault was changed"
		no_temp "$ATK"
		[ "$(cat "$ATK/app")" = new ]
		if [ -L "$ATK/app~" ]; then b=$ATK/spare; else b=$ATK/app~; fi
		[ -f "$b" ] && [ ! -L "$b" ] || fail "no regular backup"
		[ "$(stat -c %U "$b")" = root ] && [ "$(cat "$b")" = old ] ||
			fail "the backup is not the old app"
		rm -f "$ATK/app~" "$ATK/spare"
		as_nobody ln -s "$VAULT/outside" "$ATK/spare"
	done
	stop_swapper
}

# --- rollback -------------------------------------------------------------------

# root's app and its backup app~ (both root's regular files) in nobody's
# directory; the swapper exchanges app~ with nobody's link to the secret.
# rollback checks that app~ is a regular file of app's owner and then
# exchanges the names: if the swapper exchanges between the two, the old
# binary put the link at app (rollback made DEST a link to the secret,
# and said it had rolled back).  Old binary: app became the link in 18
# and 30 of 100 rounds and 10 of 60 (16.7% at the lowest);
# (1 - 0.167)^60 < 2e-5, and 60 rounds take about 10 s.
@test "race: rollback against the backup flipping between a file and a symlink" {
	local r won=0 done=0
	echo v1 >"$ATK/app"
	echo v2 >"$ATK/app~"
	as_nobody ln -s "$VAULT/s" "$ATK/spare"
	start_swapper flip "$ATK/app~" "$ATK/spare"
	for ((r = 0; r < ${HS_RACE_ROUNDS:-60}; r++)); do
		kill -CONT "$SPID"
		run_hs rollback "$ATK/app"
		pause_swapper
		vault_intact || fail "round $r: the vault was changed"
		if [ -L "$ATK/app" ]; then
			won=$((won + 1))
		else
			refused_or_ok "$ATK/app~"
			[ "$status" -ne 0 ] || done=$((done + 1))
			[ "$(stat -c %U "$ATK/app")" = root ] || fail "owner"
		fi
		rm -f "$ATK/app" "$ATK/app~" "$ATK/spare"
		echo v1 >"$ATK/app"
		echo v2 >"$ATK/app~"
		as_nobody ln -s "$VAULT/s" "$ATK/spare"
	done
	stop_swapper
	echo "# rollback: DEST made a link in $won of $r rounds," \
	    "$done rolled back" >&3
	[ "$won" -eq 0 ] || fail "the race was won in $won of $r rounds"
	[ "$done" -gt 0 ] || fail "no round rolled back"
}

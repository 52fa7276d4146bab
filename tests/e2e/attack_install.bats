#!/usr/bin/env bats
# attack_install.bats - a local user (nobody) against root's hotswap
# install, install -r, -b, -D and rollback.
#
# The attacker owns a directory ($ATK) that root installs from or into,
# and wants either to read a root-only file ($VAULT/s, mode 0600, content
# SECRET) through what root publishes, or to make root modify a file
# outside the tree ($VAULT/outside).  Every attacker step runs as nobody
# (as_nobody, or the swapper helper started as nobody); every hotswap as
# root.  Each test asserts on contents, modes and owners, never on
# messages alone.

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
	SWAPPER=$HS_HELPERS/swapper
	[ -x "$SWAPPER" ] || fail "no $SWAPPER: run make check-build"
}

teardown() {
	hs_teardown
}


# no_secret DIR: no regular file under DIR holds the vault's secret, and
# the vault is as setup() made it.
no_secret() {
	local f
	while IFS= read -r -d '' f; do
		if grep -q SECRET -- "$f"; then
			fail "root published the secret as '$f':" \
			    "$(stat -c '%A %U' -- "$f")"
			return 1
		fi
	done < <(find "$1" -type f -print0)
	vault_intact
}

# vault_intact: nothing in the vault was added, replaced or changed.
vault_intact() {
	[ "$(listing "$VAULT")" = "$(printf '%s\n' outside s)" ] ||
		fail "the vault was modified: $(listing "$VAULT")"
	[ "$(cat "$VAULT/outside")" = OUTSIDE ] ||
		fail "root replaced '$VAULT/outside'"
	[ "$(stat -c '%a %U' "$VAULT/s")" = "600 root" ] ||
		fail "the secret's mode changed"
}

# tree_with NAMES...: $ATK/src as nobody, one small public file per name.
tree_with() {
	local n
	as_nobody mkdir "$ATK/src"
	for n in "$@"; do
		as_nobody sh -c 'echo "public $1" >"$2"' sh "$n" "$ATK/src/$n"
	done
}

# first_entry DIR: the first name readdir(3) gives in DIR, the order in
# which both the old fts(3) walk and the new one visit it.
first_entry() {
	ls -U -- "$1" | head -n 1
}

# last_entry DIR: the last one.
last_entry() {
	ls -U -- "$1" | tail -n 1
}

# --- Finding 2: install -r and what the walk saw --------------------------

# Deterministic: the walk has looked at every entry of src when it opens
# the first one (the old fts(3) walk lstat(2)s a whole directory before it
# returns its first entry), and the swapper then turns the last entry into
# a symbolic link to the secret.  The old binary opened it by name and
# published the secret, mode 0644 as the destination had it, every time.
@test "install -r: a source file swapped for a symlink to a root-only file is not followed" {
	local round i
	# 200 files: the swapper is woken by inotify after the first open
	# and must exchange before the walk reaches the last entry; the
	# wide tree makes that window wide, and a round whose swap still
	# came late (the last entry copied as the file it was) is run again.
	tree_with a b c d e f g h
	for ((i = 0; i < 192; i++)); do
		as_nobody sh -c 'echo "public $1" >"$2"' sh "f$i" "$ATK/src/f$i"
	done
	first=$(first_entry "$ATK/src")
	last=$(last_entry "$ATK/src")
	run_hs install -r "$ATK/src" "$W/dst"
	[ "$status" -eq 0 ] || fail "first install: $stderr"
	for ((round = 0; round < 5; round++)); do
		as_nobody ln -s "$VAULT/s" "$ATK/spare"
		start_swapper onopen "$ATK/src" "$first" "$ATK/src/$last" \
		    "$ATK/spare"
		run_hs install -r "$ATK/src" "$W/dst"
		read -r -t "$HS_TIMEOUT" -u "$SFD" line ||
		    fail "swapper never swapped"
		[ "$line" = swapped ]
		no_secret "$W/dst"
		# The link itself may be copied (it is what the tree now
		# holds), or the transaction refused; never its target's
		# content.
		if [ "$status" -ne 0 ]; then
			txn_refused "$ATK/src/$last"
			return 0
		fi
		[ -L "$W/dst/$last" ] && return 0
		# The swap came after the walk had passed the last entry:
		# put the file back and try again.
		as_nobody rm "$ATK/src/$last"
		as_nobody mv "$ATK/spare" "$ATK/src/$last"
	done
	fail "in 5 rounds the swap never came before the walk reached $last"
}

# The same with a directory: the walk has decided that src/D is a
# directory when the swapper turns it into a link to the root-only vault;
# the old walk then read the vault as if it were src/D and published
# "$VAULT/s" as dst/D/s.
@test "install -r: a source directory swapped for a symlink to a root-only directory is not entered" {
	local i dir
	tree_with a b c d e f g h
	for ((i = 0; i < 20; i++)); do
		as_nobody mkdir "$ATK/src/d$i"
		[ "$(first_entry "$ATK/src")" != "d$i" ] && break
		rmdir "$ATK/src/d$i"
	done
	dir=d$i
	as_nobody sh -c 'echo "public s" >"$1"' sh "$ATK/src/$dir/s"
	run_hs install -r "$ATK/src" "$W/dst"
	[ "$status" -eq 0 ] || fail "first install: $stderr"
	as_nobody ln -s "$VAULT" "$ATK/spare"
	start_swapper onopen "$ATK/src" "$(first_entry "$ATK/src")" \
	    "$ATK/src/$dir" "$ATK/spare"
	run_hs install -r "$ATK/src" "$W/dst"
	read -r -t "$HS_TIMEOUT" -u "$SFD" line || fail "swapper never swapped"
	[ "$line" = swapped ]
	no_secret "$W/dst"
	[ "$(cat "$W/dst/$dir/s")" = "public s" ]
	[ ! -e "$W/dst/$dir/outside" ] || fail "the vault was copied"
	# Refused (the link cannot replace the directory, or the walk saw
	# the swap), or the swap came after the walk had passed d: fine too.
	if [ "$status" -ne 0 ]; then
		txn_refused "/$dir'"
	fi
}

# No race at all: a link in the source becomes a link in the destination
# (as it should), and when its owner then turns the source entry into a
# file, the old binary followed the destination's link and wrote the
# attacker's content over its target, as root: here $VAULT/outside.
@test "install -r: a file where an earlier install made a symlink does not write through it" {
	tree_with a
	as_nobody ln -s "$VAULT/outside" "$ATK/src/x"
	run_hs install -r "$ATK/src" "$W/dst"
	[ "$status" -eq 0 ] || fail "first install: $stderr"
	[ "$(readlink "$W/dst/x")" = "$VAULT/outside" ]
	as_nobody rm "$ATK/src/x"
	as_nobody sh -c 'echo "* * * * * root evil" >"$1"' sh "$ATK/src/x"
	run_hs install -r "$ATK/src" "$W/dst"
	vault_intact
	[ "$(readlink "$W/dst/x")" = "$VAULT/outside" ]
	[ "$status" -ne 0 ] || fail "installed through the link"
	txn_refused "$W/dst/x"
}

# The same with a directory and a relative link: dst/sub -> ../vault,
# then src/sub a
# directory holding a file "outside".
@test "install -r: a directory where an earlier install made a symlink is not entered" {
	tree_with a
	as_nobody ln -s ../vault "$ATK/src/sub"
	run_hs install -r "$ATK/src" "$W/dst"
	[ "$status" -eq 0 ] || fail "first install: $stderr"
	as_nobody rm "$ATK/src/sub"
	as_nobody mkdir "$ATK/src/sub"
	as_nobody sh -c 'echo evil >"$1"' sh "$ATK/src/sub/outside"
	run_hs install -r "$ATK/src" "$W/dst"
	vault_intact
	[ "$(readlink "$W/dst/sub")" = ../vault ]
	[ "$status" -ne 0 ] || fail "installed through the link"
	txn_refused "$W/dst/sub"
}

# --- Finding 3: the old inode of a set-ID program is disarmed -----------

# prog is id(1), set-user-ID and set-group-ID root: "id -u" and "id -g"
# as nobody say 0 while it keeps its bits.  Old binary: prog~, the old
# inode kept by -b, still printed 0 for nobody.
@test "install -b: the backup of a set-ID program runs without privileges" {
	mkdir -m 0755 "$W/bin"
	cp /usr/bin/id "$W/bin/prog"
	chmod 06755 "$W/bin/prog"
	[ "$(as_nobody "$W/bin/prog" -u)" = 0 ] ||
		skip "set-user-ID does not work here (nosuid?)"
	cp /usr/bin/id "$W/newprog"
	run_hs install -b "$W/newprog" "$W/bin/prog"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(as_nobody "$W/bin/prog~" -u)" = "$(id -u nobody)" ] ||
		fail "prog~ still runs as root: $(stat -c %A "$W/bin/prog~")"
	[ "$(as_nobody "$W/bin/prog~" -g)" = "$(id -g nobody)" ]
	[ "$(stat -c '%a %U' "$W/bin/prog~")" = "755 root" ]
	# The new program is what the old one was: set-ID root.
	[ "$(stat -c '%a %U' "$W/bin/prog")" = "6755 root" ]
	[ "$(as_nobody "$W/bin/prog" -u)" = 0 ]
}

# --- Finding 7: rollback takes only a backup install -b could have made --

# sticky_app: $W/sticky (1777, like /tmp) holding root's app, no backup.
sticky_app() {
	mkdir -m 1777 "$W/sticky"
	echo "root app v1" >"$W/sticky/app"
	chmod 0755 "$W/sticky/app"
}

# Old binary: app became nobody's link to the secret (exit 0).
@test "rollback: another user's symlink DEST~ in a sticky directory is refused" {
	sticky_app
	as_nobody ln -s "$VAULT/s" "$W/sticky/app~"
	run_hs rollback "$W/sticky/app"
	[ ! -L "$W/sticky/app" ] || fail "app is now a link to $(readlink "$W/sticky/app")"
	[ "$(cat "$W/sticky/app")" = "root app v1" ]
	[ "$status" -eq 1 ]
	one_error_line "'$W/sticky/app~'"
	[[ $stderr == *"not a regular file"* ]]
	vault_intact
}

# Old binary: app became nobody's executable (exit 0).
@test "rollback: another user's regular DEST~ in a sticky directory is refused" {
	sticky_app
	as_nobody sh -c 'printf "#!/bin/sh\necho evil\n" >"$1"; chmod 755 "$1"' \
	    sh "$W/sticky/app~"
	run_hs rollback "$W/sticky/app"
	[ "$(stat -c %U "$W/sticky/app")" = root ]
	[ "$(cat "$W/sticky/app")" = "root app v1" ]
	[ "$status" -eq 1 ]
	one_error_line "'$W/sticky/app~'"
	[[ $stderr == *"owned by another user"* ]]
}

# The control: root's own backup from install -b still rolls back.
@test "rollback: the backup install -b made is still taken" {
	sticky_app
	echo "root app v2" >"$W/new"
	run_hs install -b "$W/new" "$W/sticky/app"
	[ "$status" -eq 0 ]
	run_hs rollback "$W/sticky/app"
	[ "$status" -eq 0 ]
	[ "$(cat "$W/sticky/app")" = "root app v1" ]
}

# --- Races ----------------------------------------------------------------
#
# The swapper exchanges a name with a spare in a tight loop (hundreds of
# thousands of exchanges a second) while root runs hotswap ROUNDS times.
# The bound: with the old binary the race was won in most rounds (the
# counts are in each test's comment), so ROUNDS makes a miss on vulnerable
# code practically impossible, while the test stays a few seconds long.
# A round that hotswap refuses must say why in one line naming the path.

# txn_refused NEEDLE: a refused transaction said why in one line naming
# NEEDLE, and then only that nothing was changed.
txn_refused() {
	[[ ${stderr_lines[0]} == "hotswap: "*"$1"* ]] ||
		fail "the first line does not name '$1': $stderr"
	[ "${#stderr_lines[@]}" -eq 2 ] &&
	    [[ ${stderr_lines[1]} == "hotswap: nothing was changed in "* ]] ||
		fail "more than the reason and the rollback: $stderr"
}

# race_tree ROUNDS: install -r $ATK/src over a fresh copy of $W/public
# (the tree as a first, quiet install made it: regular files, 0644) ROUNDS
# times, and count the rounds in which the secret was published.
race_tree() {
	local r won=0
	for ((r = 0; r < $1; r++)); do
		rm -rf "$W/dst"
		cp -a "$W/public" "$W/dst"
		run_hs install -r "$ATK/src" "$W/dst"
		if [ "$status" -ne 0 ]; then
			txn_refused "$W/" || return 1
		fi
		no_secret "$W/dst" 2>/dev/null || won=$((won + 1))
	done
	[ "$won" -eq 0 ] || fail "the race was won in $won of $1 rounds"
}

# Old binary: the secret was published in 31 to 44 of 50 rounds.
@test "race: install -r against a source file flipping between a file and a symlink" {
	tree_with a b c d e f g h
	run_hs install -r "$ATK/src" "$W/public"
	[ "$status" -eq 0 ]
	as_nobody ln -s "$VAULT/s" "$ATK/spare"
	start_swapper flip "$ATK/src/$(last_entry "$ATK/src")" "$ATK/spare"
	race_tree 80
	stop_swapper
	[ "$FLIPS" -gt 50 ] || fail "the swapper flipped only $FLIPS times"
}

# Old binary: the secret was published in most of 50 rounds.
@test "race: install -r against a source directory flipping with a symlink to the vault" {
	tree_with a b c d e f g h
	as_nobody mkdir "$ATK/src/sub"
	as_nobody sh -c 'echo "public s" >"$1"' sh "$ATK/src/sub/s"
	run_hs install -r "$ATK/src" "$W/public"
	[ "$status" -eq 0 ]
	as_nobody ln -s "$VAULT" "$ATK/spare"
	start_swapper flip "$ATK/src/sub" "$ATK/spare"
	race_tree 80
	stop_swapper
	[ "$FLIPS" -gt 50 ] || fail "the swapper flipped only $FLIPS times"
}

# --- Transactions disarm the old inodes they let go of (issue 13) -------

# setid_tree: $W/tree/bin/prog is id(1), 04755 (and 06755) root, with a
# second link $W/keep/other standing for someone else's hard link (made
# by root: fs.protected_hardlinks stops nobody from linking root's file),
# and $W/src/bin/prog the new id(1).  Skips where set-ID does not work.
setid_tree() {
	mkdir -p "$W/tree/bin" "$W/src/bin" "$W/keep"
	cp /usr/bin/id "$W/tree/bin/prog"
	chmod 06755 "$W/tree/bin/prog"
	ln "$W/tree/bin/prog" "$W/keep/other"
	[ "$(as_nobody "$W/keep/other" -u)" = 0 ] ||
		skip "set-user-ID does not work here (nosuid?)"
	cp /usr/bin/id "$W/src/bin/prog"
}

# unarmed PATH: PATH runs as nobody, not root, and has no set-ID bit.
unarmed() {
	[ "$(as_nobody "$1" -u)" = "$(id -u nobody)" ] ||
		fail "$1 still runs as root: $(stat -c %A "$1")"
	[ "$(as_nobody "$1" -g)" = "$(id -g nobody)" ]
	[ "$(stat -c '%a %U' "$1")" = "755 root" ]
}

# Old binary: keep/other (the old inode) still printed 0 for nobody.
@test "install -r: the old inode of a set-ID program, under another hard link, runs without privileges" {
	setid_tree
	run_hs install -r "$W/src" "$W/tree"
	[ "$status" -eq 0 ] || fail "$stderr"
	unarmed "$W/keep/other"
	# The new program is what the old one was: set-ID root.
	[ "$(stat -c '%a %U' "$W/tree/bin/prog")" = "6755 root" ]
	[ "$(as_nobody "$W/tree/bin/prog" -u)" = 0 ]
}

# Old binary: bin/prog~ and keep/other still printed 0 for nobody.
@test "install -b --manifest: the backup of a set-ID program runs without privileges" {
	setid_tree
	printf '%s %s\n' "$W/src/bin/prog" "$W/tree/bin/prog" >"$W/manifest"
	run_hs install -b --manifest="$W/manifest"
	[ "$status" -eq 0 ] || fail "$stderr"
	unarmed "$W/tree/bin/prog~"
	unarmed "$W/keep/other"
	[ "$(stat -c %i "$W/tree/bin/prog~")" = "$(stat -c %i "$W/keep/other")" ]
	[ "$(stat -c '%a %U' "$W/tree/bin/prog")" = "6755 root" ]
}

# A file capability (cap_setuid, the power to become root) on the old
# inode goes as well.  Old binary: keep/other kept it.
@test "install -r: the old inode's file capability is removed" {
	command -v setcap >/dev/null || skip "no setcap"
	setid_tree
	chmod 0755 "$W/tree/bin/prog"
	setcap cap_setuid+ep "$W/tree/bin/prog" || skip "no file capabilities here"
	run_hs install -r "$W/src" "$W/tree"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ -z "$(getcap "$W/keep/other")" ] ||
		fail "still capable: $(getcap "$W/keep/other")"
}

# --- install -s: the private directory beside DEST ------------------------
#
# install -s copies SOURCE into a directory of its own beside DEST (0700,
# a random name, src/install/strip.c and mkdir.c's hs_private_dir) and runs
# the strip program there.  DEST's directory $D is writable by nobody and
# not sticky, so nobody may rename anything in it, root's directories
# included (a rename within one directory needs no write permission on
# the directory renamed); $D/keep is root's, 0700, with root's data.
# hotswap is held by libkillat.so (HS_PAUSEAT) on entry to the openat(2)
# that opens the private directory just made, or the strip program
# (a root-owned stand-in that runs strip(1)) holds on a FIFO, so each
# swap happens at its exact point, every run; the controls are shell
# scripts doing the same with a directory of their own, subverted by the
# same swaps.

# strip_setup: $D, $D/keep/data, $D/app (root's old app), $PROG (an ELF
# with symbols) and $STRIPPED (what strip(1) makes of it); the pause
# FIFOs in $W/pause, open read-write so neither side blocks on its open.
strip_setup() {
	command -v strip >/dev/null || skip "strip(1) is not installed"
	D=$W/pub
	mkdir -m 0777 "$D"
	mkdir -m 0700 "$D/keep"
	echo ROOTDATA >"$D/keep/data"
	echo "old app" >"$D/app"
	chmod 0755 "$D/app"
	PROG=$W/prog
	cp "$HS_HELPERS/victim" "$PROG"
	STRIPPED=$W/stripped
	strip -o "$STRIPPED" "$PROG"
	! cmp -s "$PROG" "$STRIPPED" || skip "strip(1) changes nothing here"
	KILLAT_PRELOAD="$(ldd "$HOTSWAP" | awk '/libasan/ { print $3 }')"
	KILLAT_PRELOAD="${KILLAT_PRELOAD:+$KILLAT_PRELOAD }$HS_HELPERS/libkillat.so"
	mkdir "$W/pause"
	mkfifo "$W/pause/paused" "$W/pause/resume"
	exec {PAUSED}<>"$W/pause/paused" {RESUME}<>"$W/pause/resume"
}

# private_dirs [NAME]: the directories $D holds that root's install
# made for NAME (default app; hotswap's temporary names: a dot, NAME).
private_dirs() {
	find "$D" -mindepth 1 -maxdepth 1 -type d -name ".${1:-app}*" \
	    -printf '%f\n'
}

# held_install N ARGS...: root's hotswap install ARGS..., held on entry
# to its Nth openat(2) (HS_PAUSEAT); returns once it is held.  HSPID.
held_install() {
	local n=$1 line
	shift
	env HS_PAUSEAT="openat:$n" HS_PAUSE_DIR="$W/pause" \
	    LD_PRELOAD="$KILLAT_PRELOAD" "$HOTSWAP" install "$@" \
	    >"$W/hs.out" 2>"$W/hs.err" &
	HSPID=$!
	track "$HSPID"
	read -r -t "$HS_TIMEOUT" -u "$PAUSED" line ||
		fail "install $* did not pause at openat $n"
	[ "$line" = paused ] || fail "the pause said '$line'"
}

# resume_strip: let it go on; HSSTATUS, stderr, stderr_lines.
resume_strip() {
	echo go >&"$RESUME"
	HSSTATUS=0
	wait "$HSPID" || HSSTATUS=$?
	stderr=$(cat "$W/hs.err")
	mapfile -t stderr_lines <"$W/hs.err"
}

# private_open NAME ARGS...: PRIVOPEN, the openat(2) of hotswap install
# ARGS... that opens its private directory for NAME: the first one at
# whose entry the directory exists (mkdirat(2) comes just before it).
# Each round runs the install to its end; $D/app is put back and
# $D/newdir removed after it.  The same for every test of the file: found
# once for each NAME, kept in $BATS_FILE_TMPDIR.
private_open() {
	local name=$1 n made cache=$BATS_FILE_TMPDIR/privopen.$1
	shift
	if [ -s "$cache" ]; then
		PRIVOPEN=$(cat "$cache")
		return 0
	fi
	for ((n = 1; n <= 80; n++)); do
		held_install "$n" "$@"
		made=$(private_dirs "$name")
		resume_strip
		[ "$HSSTATUS" -eq 0 ] || fail "install $* failed: $stderr"
		echo "old app" >"$D/app"
		chmod 0755 "$D/app"
		rm -rf "$D/newdir"
		if [ -n "$made" ]; then
			PRIVOPEN=$n
			[ -z "$(private_dirs "$name")" ] ||
				fail "a private directory was left"
			echo "$n" >"$cache"
			return 0
		fi
	done
	fail "no openat of install $* found its private directory"
}

# keep_intact DIR: DIR is root's $D/keep, with its data, whatever its name.
keep_intact() {
	[ "$(cat "$1/data" 2>/dev/null)" = ROOTDATA ] ||
		fail "root's data in $D/keep was lost: $(ls -la "$1" 2>&1)"
	[ "$(listing "$1")" = data ] || fail "root wrote into it: $(listing "$1")"
	[ "$(stat -c '%a %U' "$1")" = "700 root" ]
}

# Old binary: the private directory's check took any directory of
# root's, so root copied the program into $D/keep, ran strip there and
# then emptied and removed it as its own: root's data was deleted.
@test "install -s: a root-owned directory swapped in for the private directory is refused, not emptied" {
	strip_setup
	private_open app -s "$PROG" "$D/app"
	held_install "$PRIVOPEN" -s "$PROG" "$D/app"
	p=$(private_dirs)
	[ -n "$p" ] || fail "no private directory at openat $PRIVOPEN"
	as_nobody mv "$D/$p" "$D/moved"
	as_nobody mv "$D/keep" "$D/$p"
	resume_strip
	keep_intact "$D/$p"
	[ "$(cat "$D/app")" = "old app" ] || fail "app was replaced"
	[ "$HSSTATUS" -eq 1 ] || fail "status $HSSTATUS: $stderr"
	[[ $stderr == *"private directory"*"Permission denied"* ]] || fail "$stderr"
	one_error_line "'$D/app'"
	# What nobody renamed stays ("moved" is root's empty private
	# directory, which root can no longer find); nothing else is left.
	[ "$(listing "$D")" = "$(printf '%s\n' "$p" app moved | LC_ALL=C sort)" ] ||
		fail "left in $D: $(listing "$D")"
	vault_intact
}

# install -d makes its directory the same way (under a temporary name,
# then renamed into place).  Old binary: root gave $D/keep the mode asked
# for and renamed it to $D/newdir, publishing root's data to everyone.
@test "install -d: a root-owned directory swapped in for the new directory is refused, not published" {
	strip_setup
	private_open newdir -d -m 0755 "$D/newdir"
	held_install "$PRIVOPEN" -d -m 0755 "$D/newdir"
	p=$(private_dirs newdir)
	[ -n "$p" ] || fail "no temporary directory at openat $PRIVOPEN"
	as_nobody mv "$D/$p" "$D/moved"
	as_nobody mv "$D/keep" "$D/$p"
	resume_strip
	[ ! -e "$D/newdir" ] ||
		fail "root published: $(ls -la "$D/newdir" 2>&1)"
	keep_intact "$D/$p"
	run as_nobody cat "$D/$p/data"
	[ "$status" -ne 0 ] || fail "nobody reads root's data"
	[ "$HSSTATUS" -eq 1 ] || fail "status $HSSTATUS: $stderr"
	one_error_line "'$D/newdir'"
}

# No old binary fell for it (O_NOFOLLOW): the claim is kept.
@test "install -s: a symlink to a root-owned directory swapped in for the private directory is not followed" {
	strip_setup
	private_open app -s "$PROG" "$D/app"
	held_install "$PRIVOPEN" -s "$PROG" "$D/app"
	p=$(private_dirs)
	[ -n "$p" ] || fail "no private directory at openat $PRIVOPEN"
	as_nobody mv "$D/$p" "$D/moved"
	as_nobody ln -s "$VAULT" "$D/$p"
	resume_strip
	vault_intact
	[ "$(cat "$D/app")" = "old app" ] || fail "app was replaced"
	[ "$HSSTATUS" -eq 1 ] || fail "status $HSSTATUS: $stderr"
	one_error_line "'$D/app'"
}

# The control of both: a script that makes a private directory of its
# own (mktemp -d, 0700), held at the same point, then copies, strips and
# removes it with rm -rf, as a careful shell would.  The same swap makes
# it empty root's $D/keep.
@test "install -s: control: a shell's own private directory, swapped the same way, has root empty \$D/keep" {
	strip_setup
	cat >"$W/unsafe" <<-'SH'
	#!/bin/sh
	set -e
	d=$(mktemp -d "$2/.app.strip.XXXXXX")
	echo paused >"$4/paused"; read -r line <"$4/resume"
	cp "$1" "$d/app"; strip "$d/app"; cp "$d/app" "$3.tmp"
	mv "$3.tmp" "$3"; rm -rf "$d"
	SH
	chmod 0755 "$W/unsafe"
	"$W/unsafe" "$PROG" "$D" "$D/app" "$W/pause" 2>"$W/hs.err" &
	HSPID=$!
	track "$HSPID"
	read -r -t "$HS_TIMEOUT" -u "$PAUSED" line || fail "the script did not pause"
	p=$(private_dirs)
	as_nobody mv "$D/$p" "$D/moved"
	as_nobody mv "$D/keep" "$D/$p"
	echo go >&"$RESUME"
	wait "$HSPID"
	[ ! -e "$D/keep" ] && [ ! -e "$D/$p" ] ||
		fail "the control was not subverted: $(listing "$D")"
}

# The strip program (a stand-in that holds, then runs strip(1)) is held
# with the copy made: nobody renames the private directory away and
# puts his own in its place, with a file of the copy's name linked to
# the secret.  Root strips and reads back its own copy by descriptor.
@test "install -s: the private directory swapped between the copy and the strip changes nothing but DEST" {
	strip_setup
	cat >"$W/holdstrip" <<-SH
	#!/bin/sh
	echo paused >"$W/pause/paused"; read -r line <"$W/pause/resume"
	exec strip "\$@"
	SH
	chmod 0755 "$W/holdstrip"
	"$HOTSWAP" install -s --strip-program="$W/holdstrip" "$PROG" "$D/app" \
	    >"$W/hs.out" 2>"$W/hs.err" &
	HSPID=$!
	track "$HSPID"
	read -r -t "$HS_TIMEOUT" -u "$PAUSED" line ||
		fail "the strip program did not hold"
	p=$(private_dirs)
	[ -n "$p" ] || fail "no private directory while strip runs"
	run as_nobody ls "$D/$p"
	[ "$status" -ne 0 ] || fail "nobody can list the private directory"
	as_nobody mv "$D/$p" "$D/moved"
	as_nobody mkdir "$D/$p"
	as_nobody ln -s "$VAULT/s" "$D/$p/app"
	as_nobody sh -c 'echo evil >"$1"' sh "$D/$p/evil"
	resume_strip
	[ "$HSSTATUS" -eq 0 ] || fail "status $HSSTATUS: $stderr"
	cmp "$STRIPPED" "$D/app" || fail "app is not the stripped program"
	no_secret "$D"
	keep_intact "$D/keep"
	# nobody's directory is as he left it.
	[ "$(readlink "$D/$p/app")" = "$VAULT/s" ]
	[ "$(cat "$D/$p/evil")" = evil ]
}

# The control: a shell install -s at a fixed name (mkdir -p DIR/.strip,
# cp, strip, cp back, clean up).  nobody plants DIR/.strip as a symlink
# to the vault: root writes the program into the vault and its clean-up
# deletes the vault's files.
@test "install -s: control: a shell strip at a fixed name writes and deletes through nobody's symlink" {
	strip_setup
	as_nobody ln -s "$VAULT" "$D/.strip"
	sh -c 'mkdir -p "$2/.strip" && cp "$1" "$2/.strip/app" &&
	    strip "$2/.strip/app" && cp "$2/.strip/app" "$2/app.tmp" &&
	    mv "$2/app.tmp" "$2/app" && rm -f "$2/.strip/"*' sh "$PROG" "$D"
	[ ! -e "$VAULT/s" ] && [ ! -e "$VAULT/outside" ] ||
		fail "the control was not subverted: $(listing "$VAULT")"
}

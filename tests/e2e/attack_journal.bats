#!/usr/bin/env bats
# attack_journal.bats - a transaction's journal (.hotswap-journal) as an
# attacker's tool.  Replay runs as root on `hotswap recover` and whenever
# a transaction takes a tree's lock (install -r, --manifest, several
# SOURCEs), in trees other users may write.  Each attack is carried out
# by nobody, root's hotswap then runs as in a deploy, and the test checks
# the concrete harm did not happen (owners, contents, existence) and that
# hotswap said why in one line.
#
# Then the rules for journals root did write: every record is checked
# before anything is done, directories are named relative to the tree
# and reached beneath it without following a symbolic link.  A
# user-owned directory swapped for a symbolic link between a crash and
# the replay (or while the replay runs) redirects nothing.

load common

setup() {
	hs_setup
	KILLAT_PRELOAD="$(ldd "$HOTSWAP" | awk '/libasan/ { print $3 }')"
	KILLAT_PRELOAD="${KILLAT_PRELOAD:+$KILLAT_PRELOAD }$HS_HELPERS/libkillat.so"
	# What root owns outside every tree below: a file, and an empty
	# directory (only an empty one can be removed by rmdir).
	mkdir secret secret/emptydir
	echo 'root data' >secret/victim
	chmod 644 secret/victim
}

teardown() {
	[ -z "${FLIPPER:-}" ] || kill "$FLIPPER" 2>/dev/null || true
	hs_teardown
}

# plant PATH TEXT: nobody writes TEXT (printf format) to PATH.
plant() {
	as_nobody sh -c 'printf "$2" >"$1"' sh "$1" "$2"
}

# root_journal TREE TEXT: root writes TEXT as TREE's journal, as hotswap
# would (0600, root's): the trust checks pass, the content is on trial.
root_journal() {
	(umask 077 && printf "$2" >"$1/.hotswap-journal")
}

# secret_intact: the root-owned file and directory are as setup made them.
secret_intact() {
	[ "$(cat secret/victim)" = 'root data' ] ||
		fail "secret/victim was changed: $(cat secret/victim 2>&1)"
	[ "$(stat -c '%U:%G %a' secret/victim)" = 'root:root 644' ] ||
		fail "secret/victim: $(stat -c '%U:%G %a' secret/victim)"
	[ -d secret/emptydir ] || fail "secret/emptydir was removed"
}

# --- journals planted by another user --------------------------------

@test "attack: a planted journal does not make recover give root's file outside the tree to nobody" {
	mkdir t
	chown nobody t
	as_nobody sh -c 'echo attacker >t/evil'
	plant t/.hotswap-journal "hotswap-journal 1\nT $W/t ../secret/victim evil 0\nC\n"

	run_hs recover t
	[ "$status" -eq 1 ]
	one_error_line "refusing the journal (not owned by the user running hotswap) 't/.hotswap-journal': Operation not permitted"
	secret_intact
	[ "$(cat t/evil)" = attacker ]
	[ -f t/.hotswap-journal ]	# left for the administrator
}

@test "attack: a planted journal makes an ordinary install -r delete no root file and remove no directory" {
	mkdir t src
	chown nobody t
	echo new >src/f
	echo old >t/f
	plant t/.hotswap-journal "hotswap-journal 1\nT $W/secret name victim 0\nD $W/secret/emptydir\n"

	run_hs install -r src t
	[ "$status" -eq 1 ]
	one_error_line "refusing the journal (not owned by the user running hotswap) 't/.hotswap-journal'"
	secret_intact
	[ "$(cat t/f)" = old ]		# the transaction did not go ahead
}

@test "attack: in a 1777 directory, a planted journal does not overwrite a file in a 0700 root directory through --manifest" {
	mkdir sticky sticky/a sticky/b
	chmod 1777 sticky
	mkdir -m 700 sticky/rootonly
	echo 'root:x:0:0:root:/root:/bin/sh' >sticky/rootonly/passwd
	echo one >s1
	echo two >s2
	# The deepest directory holding both destinations: the sticky one.
	printf '%s %s\n' s1 "$W/sticky/a/f1" s2 "$W/sticky/b/f2" >list
	plant sticky/evil 'evil::0:0::/root:/bin/sh\n'
	plant sticky/.hotswap-journal "hotswap-journal 1\nT $W/sticky rootonly/passwd evil 0\nC\n"

	run_hs install --manifest list
	[ "$status" -eq 1 ]
	one_error_line "refusing the journal (not owned by the user running hotswap) '$W/sticky/.hotswap-journal'"
	[ "$(cat sticky/rootonly/passwd)" = 'root:x:0:0:root:/root:/bin/sh' ]
	[ "$(stat -c %U sticky/rootonly/passwd)" = root ]
	[ -e sticky/evil ]
	[ ! -e sticky/a/f1 ] && [ ! -e sticky/b/f2 ]
}

@test "attack: a FIFO planted as the journal does not hang install -r while it holds the tree's lock" {
	mkdir t src
	chown nobody t
	echo new >src/f
	as_nobody mkfifo t/.hotswap-journal

	# 20 s: far above the run's own time; a hang is what fails.
	run --separate-stderr timeout 20 "$HOTSWAP" install -r src t
	[ "$status" -ne 124 ] || fail "install -r hung on the FIFO"
	[ "$status" -eq 1 ]
	one_error_line "refusing the journal (not a regular file) 't/.hotswap-journal'"
	[ -p t/.hotswap-journal ]
	[ ! -e t/f ]
}

@test "attack: a symbolic link planted as the journal, to a journal root wrote, is refused" {
	mkdir t src elsewhere
	chown nobody t
	echo new >src/f
	root_journal elsewhere "hotswap-journal 2\nT . name victim 0\n"
	as_nobody ln -s "$W/elsewhere/.hotswap-journal" t/.hotswap-journal

	run_hs install -r src t
	[ "$status" -eq 1 ]
	one_error_line "refusing the journal (a symbolic link) 't/.hotswap-journal'"
	[ -L t/.hotswap-journal ]
	[ ! -e t/f ]
}

# --- journals root wrote: every field is checked first ---------------

# refused TEXT NEEDLE: a root-owned journal TEXT in tree t is refused by
# recover, with NEEDLE in its one line; nothing is touched.
refused() {
	rm -rf t
	mkdir t
	echo tmp >t/x
	root_journal t "$1"
	run_hs recover t
	[ "$status" -eq 1 ] || fail "'$1': status $status, $output $stderr"
	one_error_line "$2" || fail "journal was: $1"
	secret_intact
	[ -f t/.hotswap-journal ] && [ -f t/x ]
}

@test "journal: names with '/' or '..', directories outside the tree, and bad records are refused before anything is done" {
	local j='hotswap-journal 2\n' m='refusing the journal (line'
	# Old format (absolute directories): only beneath the tree.
	refused "hotswap-journal 1\nT $W/secret name victim 0\n" \
	    "$m 2: a directory outside the tree)"
	refused "hotswap-journal 1\nT $W/t/../secret name victim 0\n" \
	    "$m 2: a directory that is not a plain path)"
	refused "hotswap-journal 1\nD $W/secret/emptydir\n" \
	    "$m 2: a directory outside the tree)"
	# New format: relative to the tree, plain components only.
	refused "${j}T ../secret name victim 0\n" \
	    "$m 2: a directory that is not a plain path)"
	refused "${j}T /secret name victim 0\n" \
	    "$m 2: a directory that is not a plain path)"
	refused "${j}T a//b name x 0\n" \
	    "$m 2: a directory that is not a plain path)"
	refused "${j}T . ../secret/victim x 0\nC\n" \
	    "$m 2: a name that is not one path component)"
	refused "${j}T . x ../secret/victim 0\n" \
	    "$m 2: a name that is not one path component)"
	refused "${j}T . .. x 0\n" "$m 2: a name that is not one path component)"
	refused "${j}O . x .\n" "$m 2: a name that is not one path component)"
	refused "${j}T . vic\\\\000tim x 0\n" "$m 2: a field that is badly escaped)"
	refused "${j}D .\n" "$m 2: a directory that is not a plain path)"
	# The records themselves.
	refused "${j}T . x y 3\n" "$m 2: a record with bad fields)"
	refused "${j}T . x y\n" "$m 2: a record with bad fields)"
	refused "${j}T . x  y 0\n" "$m 2: a record with bad fields)"
	refused "${j}T . x y 0 \n" "$m 2: a record with bad fields)"
	refused "${j}Q . x\n" "$m 2: an unknown record)"
	refused "${j}X\n" "$m 2: an X that cancels nothing)"
	refused "${j}C\nT . x y 0\n" "$m 3: a record after the commit)"
	refused "${j}T . x y 0\nC\nC\n" "$m 4: a record after the commit)"
	refused "${j}T . x y 0\nS ~\n" "$m 3: an S record that is not first)"
	refused 'hotswap-journal 9\nC\n' "$m 1: an unknown header)"
	# A valid record after a bad one: nothing was done at all.
	refused "${j}T . f x 0\nQ\nC\n" "$m 3: an unknown record)"
	[ ! -e t/f ]
}

@test "journal: one root wrote but group or others may access, or with a second link, is refused" {
	mkdir t
	root_journal t 'hotswap-journal 2\nT . name x 0\n'
	echo tmp >t/x
	chmod 640 t/.hotswap-journal
	run_hs recover t
	[ "$status" -eq 1 ]
	one_error_line "refusing the journal (group or others have access) 't/.hotswap-journal'"
	[ -f t/x ]

	chmod 600 t/.hotswap-journal
	ln t/.hotswap-journal second-link
	run_hs recover t
	[ "$status" -eq 1 ]
	one_error_line "refusing the journal (it has more than one link) 't/.hotswap-journal'"
	[ -f t/x ]

	rm second-link
	run_hs recover t		# the control: now it is replayed
	[ "$status" -eq 0 ]
	[ ! -e t/x ] && [ ! -e t/.hotswap-journal ]
}

@test "journal: a directory reached through a symbolic link inside the tree is refused, the link's target untouched" {
	mkdir t
	ln -s ../secret t/lnk
	root_journal t 'hotswap-journal 2\nT lnk name victim 0\nD lnk/emptydir\n'
	run_hs recover t
	[ "$status" -eq 1 ]
	one_error_line "cannot roll back in 't/lnk': Too many levels of symbolic links"
	secret_intact
	[ -f t/.hotswap-journal ]
}

@test "journal: an old-format journal (absolute directories beneath the tree) is still replayed" {
	mkdir -p t/sub
	echo new >t/sub/.f.hs-aaaaaaaaaa
	echo old >t/sub/f
	root_journal t "hotswap-journal 1\nT $W/t/sub f .f.hs-aaaaaaaaaa 0\nC\n"
	run_hs recover t
	[ "$status" -eq 0 ]
	[ "$output" = "'t': interrupted install completed" ]
	[ "$(cat t/sub/f)" = new ]
	[ ! -e t/.hotswap-journal ] && [ ! -e t/sub/.f.hs-aaaaaaaaaa ]
}

@test "journal: hotswap writes directories relative to the tree, and the kill-and-recover still completes" {
	mkdir -p src/sub t/sub
	echo new >src/sub/f
	echo old >t/sub/f
	run env HS_KILLAT=renameat2:1 LD_PRELOAD="$KILLAT_PRELOAD" \
	    "$HOTSWAP" install -q -r src t
	[ "$status" -eq 137 ]
	grep -q '^hotswap-journal 2$' t/.hotswap-journal
	grep -q '^T sub f \.f\.hs-' t/.hotswap-journal
	! grep -q "$W" t/.hotswap-journal
	run_hs recover t
	[ "$status" -eq 0 ]
	[ "$(cat t/sub/f)" = new ]
	[ ! -e t/.hotswap-journal ]
}

@test "staging: a destination whose directory is outside the tree through a symbolic link is refused, nothing changed" {
	mkdir -p src/u t/u out
	chown nobody t/u
	echo new >src/u/f
	echo new >src/g
	# nobody points a subdirectory of its own at a directory of root's.
	as_nobody ln -s "$W/out" t/u/f-dir
	mkdir src/u/f-dir
	echo new >src/u/f-dir/passwd
	echo 'root:x:0:0' >out/passwd

	run_hs install -r src t
	[ "$status" -eq 1 ]
	# tree.c refuses it first (dest_beneath), before txn.c's dir_of.
	[ "${stderr_lines[0]}" = "hotswap: refusing to follow a symbolic link out of the destination tree: 't/u/f-dir': Invalid cross-device link" ]
	[ "${stderr_lines[1]}" = "hotswap: nothing was changed in 't'" ]
	[ "$(cat out/passwd)" = 'root:x:0:0' ]
	[ ! -e t/g ] && [ ! -e t/u/f ]
	[ -z "$(find t out -name '.*.hs-*')" ] && [ ! -e t/.hotswap-journal ]
}

# --- a user's directory swapped for a symbolic link (finding 2) ------

# crashed_mkdir: root's install -r into t, killed while staging right
# after it made t/u/sub/newdir (the journal's D record), in the state a
# crash leaves: no commit record, so the replay rolls back and removes
# the directory it made.  nobody owns t/u/sub; root's 0700 priv holds
# an empty directory of the same name.
crashed_mkdir() {
	rm -rf t src
	mkdir -p t/u/sub src/u/sub/newdir
	chown nobody t/u t/u/sub
	echo new >src/u/sub/newdir/file
	# The first fsync is the new file's: after mkdir, before commit.
	run env HS_KILLAT=fsync:1 LD_PRELOAD="$KILLAT_PRELOAD" \
	    "$HOTSWAP" install -q -r src t
	[ "$status" -eq 137 ] || fail "install -r not killed: $status"
	[ -d t/u/sub/newdir ] && [ -f t/.hotswap-journal ] ||
		fail "the crash left no directory or no journal"
}

setup_priv() {
	mkdir -m 700 priv priv/newdir
}

@test "swap: a user-owned subdirectory swapped for a symbolic link to a root-only directory between the crash and recover" {
	setup_priv
	crashed_mkdir
	as_nobody mv t/u/sub t/u/sub.real
	as_nobody ln -s "$W/priv" t/u/sub

	run_hs recover t
	[ -d priv/newdir ] || fail "recover removed root's priv/newdir"
	[ "$status" -eq 1 ]
	one_error_line "cannot roll back in 't/u/sub': Too many levels of symbolic links"
	[ -f t/.hotswap-journal ]
	# Once the directory is back, the same journal is replayed.
	as_nobody rm t/u/sub
	as_nobody mv t/u/sub.real t/u/sub
	run_hs recover t
	[ "$status" -eq 0 ]
	[ ! -e t/u/sub/newdir ] && [ ! -e t/.hotswap-journal ]
}

# race ROUNDS CMD...: ROUNDS crashed transactions, each replayed by CMD
# while nobody swaps t/u/sub and a symbolic link to priv back and forth
# as fast as it can; WON counts the rounds where root's priv/newdir went.
race() {
	local rounds=$1 i
	shift
	WON=0
	for ((i = 0; i < rounds; i++)); do
		setup_priv 2>/dev/null || mkdir -p priv/newdir
		crashed_mkdir
		as_nobody ln -s "$W/priv" t/u/lnk
		# setpriv execs perl: $! is the flipper itself.
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		    perl -e 'chdir "t/u" or die; while (1) {
		    rename "sub", "real"; rename "lnk", "sub";
		    rename "sub", "lnk"; rename "real", "sub"; }' &
		FLIPPER=$!
		track "$FLIPPER"
		run "$@"
		kill "$FLIPPER"
		wait "$FLIPPER" 2>/dev/null || true
		FLIPPER=
		[ -d priv/newdir ] || WON=$((WON + 1))
	done
}

# 25 rounds: with the old code (absolute paths re-resolved) the swap won
# about half of them (the link is in place half the time); each round is
# a real crash and replay, about 0.3 s under ASan.
@test "swap: raced against recover, 25 rounds: root's directory is never removed" {
	race 25 "$HOTSWAP" recover t
	echo "# recover: the swap won $WON of 25 rounds" >&3
	[ "$WON" -eq 0 ]
}

@test "swap: raced against the next install -r, 25 rounds: root's directory is never removed" {
	mkdir -p src2
	echo x >src2/other
	race 25 "$HOTSWAP" install -q -r src2 t
	echo "# install -r: the swap won $WON of 25 rounds" >&3
	[ "$WON" -eq 0 ]
}


# --- the journal removed or replaced while the transaction runs ------
#
# A tree's root that others may write (0777 without the sticky bit) lets
# them remove or rename .hotswap-journal between staging and the commit.
# A commit that replayed the journal by name then found nothing and
# reported success with nothing renamed, or found the other user's file.
# libkillat holds root's install -r on entry to the write of the commit
# record (the last write(2) of a successful run, counted by a first run
# of the same install), the attacker acts, and the install goes on: no
# timing is involved, the pause is exact.

# commit_write SRC TREE: the number of the write(2) call that writes C,
# from a run of install -r SRC TREE on a copy of TREE.
commit_write() {
	rm -rf count.t
	cp -a "$2" count.t
	env HS_KILLAT_COUNT="$W/count" LD_PRELOAD="$KILLAT_PRELOAD" \
	    "$HOTSWAP" install -q -r "$1" count.t ||
		fail "the counting run failed"
	[ "$(cat count.t/f)" = new ] || fail "the counting run did not install"
	rm -rf count.t
	# write@lastwrite counts the writes up to and with the last one.
	awk '$1 == "write@lastwrite" { print $2 }' count
}

# paused_install SRC TREE: start root's install -r SRC TREE held on entry
# to its commit write; sets HSPID and returns once it is held.  The FIFOs
# are opened read-write here, so that neither side's open can block: a
# hotswap that never pauses fails the bounded read instead of hanging.
paused_install() {
	local n line
	n=$(commit_write "$1" "$2") || return 1
	mkdir pause
	mkfifo pause/paused pause/resume
	exec {PAUSED}<>pause/paused {RESUME}<>pause/resume
	env HS_PAUSEAT="write:$n" HS_PAUSE_DIR="$W/pause" \
	    LD_PRELOAD="$KILLAT_PRELOAD" "$HOTSWAP" install -q -r "$1" "$2" \
	    >"$W/hs.out" 2>"$W/hs.err" &
	HSPID=$!
	track "$HSPID"
	read -r -t "$HS_TIMEOUT" -u "$PAUSED" line ||
		fail "install -r did not pause at write $n"
	[ "$line" = paused ] || fail "the pause said '$line'"
}

# resume_install: let the held install go on; sets HSSTATUS, and stderr
# and stderr_lines as run_hs does.
resume_install() {
	echo go >&"$RESUME"
	HSSTATUS=0
	wait "$HSPID" || HSSTATUS=$?
	stderr=$(cat "$W/hs.err")
	mapfile -t stderr_lines <"$W/hs.err"
}

# open_tree: a tree root's that anyone may write, without the sticky bit.
open_tree() {
	mkdir src t
	chmod 0777 t
	echo new >src/f
	echo old >t/f
}

@test "attack: the journal removed by another user before the commit: the install is rolled back and says so, never a silent no-op" {
	open_tree
	paused_install src t
	[ -f t/.hotswap-journal ] || fail "no journal while paused"
	as_nobody rm -f t/.hotswap-journal
	[ ! -e t/.hotswap-journal ] || fail "nobody could not remove it"
	resume_install

	[ "$HSSTATUS" -eq 1 ] || fail "install -r exited $HSSTATUS: $stderr"
	[ "${stderr_lines[0]}" = "hotswap: refusing to commit (the journal was removed or replaced by someone else) in 't': Operation not permitted" ]
	[ "${stderr_lines[1]}" = "hotswap: nothing was changed in 't'" ]
	[ "${#stderr_lines[@]}" -eq 2 ] || fail "stderr: $stderr"
	[ "$(cat t/f)" = old ]
	[ "$(listing t)" = f ] || fail "left in t: $(listing t)"
}

@test "attack: the journal replaced by another user's file before the commit: nothing of it is replayed, the install is rolled back" {
	open_tree
	as_nobody sh -c 'echo attacker >t/evil'
	paused_install src t
	as_nobody sh -c 'printf "hotswap-journal 2\nT . evil f 0\nC\n" >t/.j &&
	    mv -f t/.j t/.hotswap-journal'
	resume_install

	[ "$HSSTATUS" -eq 1 ] || fail "install -r exited $HSSTATUS: $stderr"
	[ "${stderr_lines[0]}" = "hotswap: refusing to commit (the journal was removed or replaced by someone else) in 't': Operation not permitted" ]
	[ "${stderr_lines[1]}" = "hotswap: nothing was changed in 't'" ]
	[ "${#stderr_lines[@]}" -eq 2 ] || fail "stderr: $stderr"
	[ "$(cat t/f)" = old ]
	[ "$(cat t/evil)" = attacker ]
	# The other user's file is theirs to remove; hotswap leaves it.
	[ "$(stat -c %U t/.hotswap-journal)" = nobody ]
	[ "$(listing t)" = "$(printf '%s\n' .hotswap-journal evil f)" ] ||
		fail "left in t: $(listing t)"
}

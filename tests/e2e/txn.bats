#!/usr/bin/env bats
# txn.bats - the transactional forms of hotswap install end to end: -r,
# --manifest, several SOURCEs; crashes and recover; the tree's lock; the
# order of the renames; --in-place; the hint about processes that still
# run a replaced file.
#
# "Nothing changed" is checked by a listing of the whole tree with the
# type, inode, mode and sha256 of every entry (tree_state), taken before
# and after; no temporary (.NAME.hs-XXXXXXXXXX) or journal may remain.
#
# Crashes are made with SIGKILL on entry to the Nth call of one system
# call wrapper (tests/helpers/libkillat.c, preloaded), N drawn at random
# within the range a counting run measured, so every phase is hit without
# a single sleep; two tests make the same kind of crash with strace's
# fault injection.  Those installs commit by plain calls (--io=plain):
# the steps io_uring makes are no wrapper's calls, and whether auto
# turns to it depends on how fast the disk is that moment.  Crashes
# among io_uring's steps: tests/test_txn.c (every step) and
# install_ring.bats.  Waits are reads of pipes and FIFOs, bounded only as a
# guard against a hang.

load common

setup() {
	hs_setup
	V1=$HS_HELPERS/libvictim_v1.so
	V2=$HS_HELPERS/libvictim_v2.so
	head -c 4096 "$V2" >"$W/truncated.so"
	# libasan must come first in LD_PRELOAD of an ASan program.
	KILLAT_PRELOAD="$(ldd "$HOTSWAP" | awk '/libasan/ { print $3 }')"
	KILLAT_PRELOAD="${KILLAT_PRELOAD:+$KILLAT_PRELOAD }$HS_HELPERS/libkillat.so"
}

teardown() {
	hs_teardown
}

# tree_sums DIR: every entry under DIR, sorted: "f SHA256 PATH" for a
# file, "TYPE PATH TARGET" for the others (TARGET: a link's).
tree_sums() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 ! -type f -printf '%y %p %l\n'
		find . -type f -print0 | xargs -0r sha256sum | sed 's/^/f /'
	) | LC_ALL=C sort
}

# tree_state DIR: tree_sums, and the inode and mode of every entry.
tree_state() {
	tree_sums "$1"
	(cd "$1" && find . -printf 'i %p %i %m %U:%G\n') | LC_ALL=C sort
}

# same_tree A B: fail unless the two listings are the same, with a diff.
same_tree() {
	[ "$1" = "$2" ] && return 0
	diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | head -20 >&2
	fail "the trees differ (< before, > after)"
}

# no_leftovers DIR: no temporary and no journal anywhere under DIR.
no_leftovers() {
	local left
	left=$(find "$1" \( -name '.*.hs-*' -o -name .hotswap-journal \) \
	    -print)
	[ -z "$left" ] || fail "left behind: $left"
}

# killat FN:N ARGS...: hotswap ARGS, killed on entry to the Nth FN call.
killat() {
	local spec=$1
	shift
	HS_KILLAT=$spec LD_PRELOAD=$KILLAT_PRELOAD "$HOTSWAP" "$@"
}

# count_calls FILE ARGS...: hotswap ARGS, its calls counted into FILE.
count_calls() {
	local file=$1
	shift
	HS_KILLAT_COUNT=$file LD_PRELOAD=$KILLAT_PRELOAD "$HOTSWAP" "$@"
}

# start_holder DIR: hold flock(2) on DIR in a flock(1) process until
# release_holder; returns once the lock is held (it says so on a FIFO).
start_holder() {
	local line
	mkfifo "$W/.held" "$W/.release"
	flock "$1" -c "echo locked; read -r _ <'$W/.release'" >"$W/.held" &
	HOLDER=$!
	track "$HOLDER"
	exec {HELD_FD}<"$W/.held"
	read -r -t "$HS_TIMEOUT" -u "$HELD_FD" line ||
		fail "flock did not take the lock"
	[ "$line" = locked ] || fail "flock said '$line'"
}

release_holder() {
	echo go >"$W/.release"
	wait "$HOLDER" || fail "flock ended with status $?"
}

# wait_line FD NEEDLE: read lines from FD until one contains NEEDLE.
wait_line() {
	local line
	while read -r -t "$HS_TIMEOUT" -u "$1" line; do
		[[ $line == *"$2"* ]] && return 0
	done
	fail "no line with '$2' came"
}

# --- install -r -------------------------------------------------------

@test "-r: files replaced, links made and replaced, directories created, extra files left alone" {
	mkdir -p src/a/b src/lib dst/lib dst/keep
	echo new1 >src/f1
	echo new2 >src/a/b/f2
	echo lib12 >src/lib/libx.so.1.2
	ln -s libx.so.1.2 src/lib/libx.so.1
	ln -s ../f1 src/lib/made
	echo old1 >dst/f1
	echo lib11 >dst/lib/libx.so.1.1
	ln -s libx.so.1.1 dst/lib/libx.so.1
	echo keep >dst/keep/k
	echo extra >dst/extra
	local keep_id extra_id old_f1
	keep_id=$(fileid dst/keep/k)
	extra_id=$(fileid dst/extra)
	old_f1=$(stat -c %i dst/f1)

	run_hs install -r src dst
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ -z "$output" ]
	same_content src/f1 dst/f1
	[ "$(stat -c %i dst/f1)" != "$old_f1" ]
	same_content src/a/b/f2 dst/a/b/f2
	same_content src/lib/libx.so.1.2 dst/lib/libx.so.1.2
	# The link was replaced by a link, not by a copy of its target.
	[ -L dst/lib/libx.so.1 ]
	[ "$(readlink dst/lib/libx.so.1)" = libx.so.1.2 ]
	[ -L dst/lib/made ]
	[ "$(readlink dst/lib/made)" = ../f1 ]
	# What SRCDIR lacks is left as it was.
	[ "$(fileid dst/keep/k)" = "$keep_id" ]
	[ "$(fileid dst/extra)" = "$extra_id" ]
	[ "$(cat dst/lib/libx.so.1.1)" = lib11 ]
	no_leftovers dst
}

@test "-r: a missing DESTDIR is created, with its parents" {
	mkdir -p src/d
	echo a >src/a
	echo b >src/d/b

	run_hs install -r src new/deep/dst
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same_tree "$(tree_sums src)" "$(tree_sums new/deep/dst)"
	no_leftovers new
}

@test "-r: a regular file onto a DEST symlink replaces the link's target, the link stays" {
	mkdir src dst
	echo new >src/cur
	echo old >dst/real
	ln -s real dst/cur

	run_hs install -r src dst
	[ "$status" -eq 0 ]
	[ -L dst/cur ]
	[ "$(readlink dst/cur)" = real ]
	[ "$(cat dst/real)" = new ]
	no_leftovers dst
}

@test "-r: a FIFO in SRCDIR: exit 1, nothing changed, nothing left behind" {
	mkdir -p src/sub dst/sub
	for i in $(seq 1 30); do
		echo "new $i" >"src/f$i"
		echo "old $i" >"dst/f$i"
	done
	echo new >src/sub/s
	echo old >dst/sub/s
	mkfifo src/sub/zfifo
	local before
	before=$(tree_state dst)

	run_hs install -r src dst
	[ "$status" -eq 1 ]
	[[ $stderr == *"zfifo"* ]]
	[[ $stderr == *"nothing was changed in 'dst'"* ]]
	same_tree "$before" "$(tree_state dst)"
	no_leftovers dst
}

@test "-r: a DEST that is a directory where SRCDIR has a file: exit 1, nothing changed" {
	mkdir -p src dst/x
	for i in $(seq 1 30); do
		echo "new $i" >"src/f$i"
		echo "old $i" >"dst/f$i"
	done
	echo file >src/x
	local before
	before=$(tree_state dst)

	run_hs install -r src dst
	[ "$status" -eq 1 ]
	[[ $stderr == *"cannot replace 'dst/x': Is a directory"* ]]
	[[ $stderr == *"nothing was changed in 'dst'"* ]]
	same_tree "$before" "$(tree_state dst)"
	no_leftovers dst
}

@test "-r: a file where SRCDIR has a directory: exit 1, nothing changed, and the message uses no dead stack frame (ASan detect_stack_use_after_return)" {
	mkdir -p src/sub dst
	echo in >src/sub/in
	echo file >dst/sub
	echo new >src/f
	echo old >dst/f
	local before
	before=$(tree_state dst)

	ASAN_OPTIONS=$ASAN_OPTIONS:detect_stack_use_after_return=1 \
	    run_hs install -r src dst
	[ "$status" -eq 1 ]
	[[ $stderr == *"cannot create directory 'dst/sub': File exists"* ]]
	same_tree "$before" "$(tree_state dst)"
	no_leftovers dst
}

@test "-r -C: unchanged files keep their inodes; -v lists each file; the summary line" {
	mkdir -p src/d dst
	echo a >src/a
	echo b >src/d/b
	echo c >src/c
	ln -s a src/l
	run_hs install -r -v src dst
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ $output == *"'src/a' -> 'dst/a'"* ]]
	[[ $output == *"'src/d/b' -> 'dst/d/b'"* ]]
	[[ $output == *"'src/c' -> 'dst/c'"* ]]
	[[ $output == *"'src/l' -> 'dst/l'"* ]]
	[[ $stderr =~ ^hotswap:\ 4\ files\ installed,\ 0\ unchanged,\ 6B\ in\ [0-9]+\.[0-9]{2}\ s$ ]]

	local ia ib il
	ia=$(stat -c %i dst/a)
	ib=$(stat -c %i dst/d/b)
	il=$(stat -c %i dst/l)
	echo C >src/c
	run_hs install -r -C -v src dst
	[ "$status" -eq 0 ]
	[ "$(stat -c %i dst/a)" = "$ia" ]
	[ "$(stat -c %i dst/d/b)" = "$ib" ]
	[ "$(stat -c %i dst/l)" = "$il" ]
	same_content src/c dst/c
	[ "${#lines[@]}" -eq 4 ]
	[[ $output == *"'dst/a' unchanged"* ]]
	[[ $output == *"'dst/d/b' unchanged"* ]]
	[[ $output == *"'dst/l' unchanged"* ]]
	[[ $output == *"'src/c' -> 'dst/c'"* ]]
	[[ $stderr =~ ^hotswap:\ 1\ file\ installed,\ 3\ unchanged,\ 2B\ in\ [0-9]+\.[0-9]{2}\ s$ ]]

	# Without -v and not on a terminal: silent.
	run_hs install -r -C src dst
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "-r -b: each replaced file and link is kept as NAME~ (its old inode), new names get none" {
	mkdir -p src dst
	echo new >src/f
	echo brand >src/n
	ln -s f src/l
	echo old >dst/f
	ln -s elsewhere dst/l
	local old_f old_l
	old_f=$(stat -c %i dst/f)
	old_l=$(stat -c %i dst/l)

	run_hs install -r -b src dst
	[ "$status" -eq 0 ]
	[ "$(cat dst/f)" = new ]
	[ "$(cat 'dst/f~')" = old ]
	[ "$(stat -c %i 'dst/f~')" = "$old_f" ]
	[ "$(readlink dst/l)" = f ]
	[ -L 'dst/l~' ]
	[ "$(readlink 'dst/l~')" = elsewhere ]
	[ "$(stat -c %i 'dst/l~')" = "$old_l" ]
	[ ! -e 'dst/n~' ]
	[ "$(listing dst)" = "$(printf '%s\n' f 'f~' l 'l~' n)" ]
}

# --- --manifest ---------------------------------------------------------

# A manifest with a comment, quotes, blanks, \n and \xHH, attributes.
write_manifest() {
	echo one >'a b'
	printf 'two\n' >"$(printf 'x\ny')"
	echo three >plain
	cat >"$1" <<-'EOF'
	# a comment line
	"a b"	"out/with space" mode=600 owner=nobody group=nogroup

	   # an indented comment
	"x\ny" "out/x\x41y\x20z" mode=755
	plain out/plain group=nogroup
	EOF
}

check_manifest_result() {
	[ "$(cat 'out/with space')" = one ]
	[ "$(stat -c '%a %U %G' 'out/with space')" = "600 nobody nogroup" ]
	[ "$(cat 'out/xAy z')" = two ]
	[ "$(stat -c '%a %U' 'out/xAy z')" = "755 root" ]
	[ "$(cat out/plain)" = three ]
	[ "$(stat -c '%a %U %G' out/plain)" = "644 root nogroup" ]
	[ "$(listing out)" = "$(printf '%s\n' plain 'with\ space' 'xAy\ z')" ]
	no_leftovers .
}

@test "--manifest FILE: quotes, blanks, \\n and \\xHH escapes, comments; mode=, owner=, group= applied" {
	mkdir out
	write_manifest list.txt
	run_hs install -v --manifest list.txt
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[1]} == "'x\\ny' -> 'out/xAy z'" ]]
	check_manifest_result
}

@test "--manifest -: the same manifest on standard input" {
	mkdir out
	write_manifest list.txt
	run --separate-stderr "$HOTSWAP" install --manifest - <list.txt
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	check_manifest_result
}

@test "-0 --manifest -: NUL-separated fields, an entry ended by an empty field" {
	mkdir out
	echo one >'a b'
	printf 'two\n' >"$(printf 'x\ny')"
	printf '%s\0' 'a b' "$(printf 'out/n\nl')" mode=640 '' \
	    "$(printf 'x\ny')" 'out/ q "x"' owner=nobody '' >list0
	run --separate-stderr "$HOTSWAP" install -0 --manifest - <list0
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(cat "out/$(printf 'n\nl')")" = one ]
	[ "$(stat -c %a "out/$(printf 'n\nl')")" = 640 ]
	[ "$(cat 'out/ q "x"')" = two ]
	[ "$(stat -c '%a %U' 'out/ q "x"')" = "644 nobody" ]
	[ "$(listing out)" = "$(printf '%s\n' '\ q\ "x"' 'n\nl')" ]
}

@test "--manifest: a malformed line: exit 2, the manifest and the line number named, nothing installed" {
	mkdir out
	echo one >a
	echo old >out/keep
	local before case bad msg n
	before=$(tree_state out)
	# LINE|CONTENT OF THAT LINE|MESSAGE; the lines before it are valid.
	while IFS='|' read -r n bad msg; do
		{
			echo '# valid lines first'
			for ((i = 2; i < n; i++)); do
				echo "a out/f$i"
			done
			printf '%s\n' "$bad"
			echo 'a out/after'
		} >bad.txt
		run_hs install --manifest bad.txt
		[ "$status" -eq 2 ] || fail "'$bad': status $status"
		one_error_line "'bad.txt' line $n: $msg"
		same_tree "$before" "$(tree_state out)"
		no_leftovers out
	done <<-'EOF'
	2|"a out/x|unterminated quote
	3|a "out/x"y|text after closing quote
	4|"a\q" out/x|invalid escape in quotes
	5|"a\x00" out/x|invalid escape in quotes
	2|a|no DEST after SOURCE
	6|a out/x size=3|unknown attribute (mode=, owner=, group=)
	3|a out/x mode=|empty attribute value
	4|a out/x mode=600 mode=644|attribute given twice
	7|a out/x mode=zzz|invalid mode 'zzz'
	3|a out/x owner=no-such-user-here|invalid owner 'no-such-user-here'
	2|"" out/x|empty path
	EOF
}

@test "-0 --manifest: a malformed entry: exit 2, its number named, nothing installed" {
	mkdir out
	echo one >a
	printf '%s\0' a out/1 '' a out/2 color=red '' >bad0
	run --separate-stderr "$HOTSWAP" install -0 --manifest bad0
	[ "$status" -eq 2 ]
	one_error_line "'bad0' entry 2: unknown attribute"
	[ -z "$(ls -A out)" ]
}

@test "--manifest: a missing SOURCE in the middle: exit 1, nothing changed (all or nothing)" {
	mkdir -p out/sub
	for i in 1 2 3 4; do
		echo "new $i" >"n$i"
		echo "old $i" >"out/sub/f$i"
	done
	printf '%s\n' 'n1 out/sub/f1' 'n2 out/sub/f2' 'n2 out/brand-new' \
	    'missing out/sub/f3' 'n4 out/sub/f4' >list.txt
	local before
	before=$(tree_state out)

	run_hs install --manifest list.txt
	[ "$status" -eq 1 ]
	[[ $stderr == *"cannot open 'missing': No such file or directory"* ]]
	[[ $stderr == *"nothing was changed in '$W/out'"* ]]
	same_tree "$before" "$(tree_state out)"
	no_leftovers out
}

@test "several SOURCEs into a directory, one missing: the others installed, exit 1" {
	mkdir dir
	echo 1 >s1
	echo 3 >s3
	echo old >dir/s3
	run_hs install s1 missing s3 dir
	[ "$status" -eq 1 ]
	one_error_line "cannot open 'missing': No such file or directory"
	[ "$(cat dir/s1)" = 1 ]
	[ "$(cat dir/s3)" = 3 ]
	[ "$(listing dir)" = "$(printf '%s\n' s1 s3)" ]
}

@test "one DEST named twice in one transaction: refused, like GNU install; -b stays clean" {
	mkdir out a b
	echo old >out/f
	echo A >a/f
	echo B >b/f
	# Several SOURCEs: the second for out/f is reported, the first stands.
	run_hs install -b a/f b/f out
	[ "$status" -eq 1 ]
	one_error_line "cannot install twice in one transaction to 'out/f': File exists"
	[[ $stderr != *"other hard link"* ]]
	[ "$(cat out/f)" = A ]
	[ "$(cat 'out/f~')" = old ]
	no_leftovers out

	# A manifest is all or nothing: refused whole, nothing changed.
	echo old >out/g
	printf '%s\n' 'a/f out/g' 'b/f out/g' >list.txt
	run_hs install -b --manifest list.txt
	[ "$status" -eq 1 ]
	[[ $stderr == *"cannot install twice in one transaction to 'out/g': File exists"* ]]
	[ "$(cat out/g)" = old ]
	[ ! -e 'out/g~' ]
	no_leftovers out
}

@test "-r -n: nothing is made or changed, each file would be installed" {
	mkdir -p src/x dst
	echo 1 >src/x/y
	echo 2 >src/z
	echo old >dst/z
	local before
	before=$(tree_state dst)
	run_hs install -r -n -v src dst
	[ "$status" -eq 0 ]
	[[ $output == *"would install 'src/x/y' -> 'dst/x/y'"* ]]
	[[ $output == *"would install 'src/z' -> 'dst/z'"* ]]
	same_tree "$before" "$(tree_state dst)"
	run_hs install -r -n src new
	[ "$status" -eq 0 ]
	[ ! -e new ]
}

@test "-r -n -v: the summary counts the files that would be installed" {
	mkdir -p src/x dst
	echo 1 >src/x/y
	echo 2 >src/z
	run_hs install -r -n -v src dst
	[ "$status" -eq 0 ]
	[[ $stderr =~ ^hotswap:\ 2\ files\ to\ install, ]]
}

# --- crashes ------------------------------------------------------------

# make_tree DIR TAG: 2,000 files in 20 directories (data, libraries,
# executables) and 20 symbolic links whose targets depend on TAG.
make_tree() {
	local dir=$1 tag=$2 d
	mkdir -p "$dir"/d{0..19}
	awk -v dir="$dir" -v tag="$tag" 'BEGIN {
		for (d = 0; d < 20; d++)
			for (i = 0; i < 100; i++) {
				if (i % 10 == 0)
					n = "libf" i ".so.1"
				else if (i % 10 == 1)
					n = "x" i
				else
					n = "f" i
				f = dir "/d" d "/" n
				printf "%s %d %d\n", tag, d, i >f
				close(f)
			}
	}'
	chmod 755 "$dir"/d*/x*
	for ((d = 0; d < 20; d++)); do
		ln -s "f$(( tag == 1 ? 2 : 3 ))" "$dir/d$d/link"
	done
}

# The kill point of crash round $1 installing tree $2 (new or old), from
# the counts CNT_new / CNT_old: sets KFN and KN (kill on entry to the
# KNth call of KFN), KPHASE (staging, barrier, renames, after) and
# KEXPECT, the tree recover must leave: old (the journal has no C record:
# roll back), new (it has: complete) or either.
pick_kill() {
	local i=$1 fns fb big=$(( RANDOM * 32768 + RANDOM ))
	local -n c=CNT_$2
	fb=${c[fsync@lastwrite]}		# fsyncs before the C record
	case $((i % 8)) in
	0|1|2)
		KPHASE=staging KEXPECT=old
		fns=(openat linkat write copy_file_range getrandom
		    sync_file_range)
		if [ "${c[mkdirat]}" -gt 1 ]; then
			fns+=(mkdirat)
		fi
		# Only the files whose creation mode is not certain are
		# chmodded (most are not: no fchmod at all, maybe).
		if [ "${c[fchmod@lastwrite]:-0}" -gt 0 ]; then
			fns+=(fchmod)
		fi
		KFN=${fns[RANDOM % ${#fns[@]}]}
		# Only calls made before the commit record: an openat among
		# the directory fsyncs after it is not staging.
		case $KFN in
		write) KN=$(( big % (c[write] - 1) + 1 )) ;;	# not C
		# On the disk a file more or less may be fsynced instead.
		sync_file_range) KN=$(( big % (c[$KFN] - 2) + 1 )) ;;
		*) KN=$(( big % c[$KFN@lastwrite] + 1 )) ;;
		esac ;;
	3)
		KPHASE=barrier
		case $((RANDOM % 4)) in
		0) KFN=syncfs KN=1 KEXPECT=old ;;
		1) KFN=write KN=${c[write]} KEXPECT=old ;;	# C itself
		2) KFN=fsync KN=$((fb + 1)) KEXPECT=new ;;	# the journal
		3) KFN=fsync KN=$((fb + 2)) KEXPECT=new ;;	# its directory
		esac
		# The disk's tree is walked in another order: the few files
		# fsynced one by one may be one more or one less.
		if [ "$KFN" = fsync ] && [ "$DISK" = 1 ]; then
			KEXPECT=either
		fi ;;
	4|5|6)
		KPHASE=renames KFN=renameat2 KEXPECT=new
		KN=$(( big % c[renameat2] + 1 )) ;;
	7)
		KPHASE=after KEXPECT=new
		if ((RANDOM % 2)); then
			KFN=fsync KN=$(( fb + 3 + big % (c[fsync] - fb - 2) ))
		else
			KFN=unlinkat KN=$(( big % c[unlinkat] + 1 ))
		fi ;;
	esac
}

# read_counts FILE NAME: the counts libkillat wrote, into array CNT_NAME.
read_counts() {
	local fn n
	declare -gA "CNT_$2"
	local -n c=CNT_$2
	while read -r fn n; do
		c[$fn]=$n
	done <"$1"
	[ "${c[renameat2]}" -ge 2020 ] || fail "counted only ${c[renameat2]} renames"
}

# round_fail MESSAGE: fail, after the rounds so far.
round_fail() {
	cat "$W/rounds" >&2
	fail "$*"
}

# crash_round I DEST: one crash of the install in DEST (state in STATE),
# a recover (itself crashed every fourth round), and the check.  The
# local i only shields the caller's: bats 1.8's run --separate-stderr
# assigns its caller's i.
crash_round() {
	local i rnd=$1 dst=$2 src expect_old got rstatus rout
	if [ "$STATE" = old ]; then
		src=new expect_old=$S_OLD
	else
		src=old expect_old=$S_OLDX
	fi
	pick_kill "$rnd" "$src"
	run killat "$KFN:$KN" install -q -r --io=plain "t/$src" "$dst"
	[ "$status" -eq 137 ] ||
		round_fail "round $rnd: $KFN:$KN did not kill (status $status)"
	if ((rnd % 4 == 3)); then
		# A crash of the recovery itself: it must be repairable too.
		run killat "$( ((RANDOM % 2)) && echo renameat2 ||
		    echo unlinkat):$((RANDOM % 2000 + 1))" recover "$dst"
		[ "$status" -eq 0 ] || [ "$status" -eq 137 ] ||
			round_fail "round $rnd: crashed recover: status $status"
	fi
	run --separate-stderr "$HOTSWAP" recover "$dst"
	rstatus=$status rout=$output
	[ "$rstatus" -eq 0 ] || round_fail "round $rnd: recover: $rstatus $stderr"
	got=$(tree_sums "$dst")
	if [ "$got" = "$S_NEW" ]; then
		STATE=new
	elif [ "$got" = "$expect_old" ]; then
		STATE=old
		rm -rf "$dst/extra"
	else
		echo "# round $rnd: $KPHASE, $src, killed at $KFN:$KN" >&2
		same_tree "$expect_old" "$got" || return 1
	fi
	# Before C the journal can only roll back; after, only complete.
	got=$([ "$STATE" = "$src" ] && echo new || echo old)
	[ "$KEXPECT" = either ] || [ "$KEXPECT" = "$got" ] ||
		round_fail "round $rnd: killed at $KFN:$KN ($KPHASE): $got, not $KEXPECT"
	case $rout in
	*completed) [ "$STATE" = "$src" ] ;;
	*"rolled back") [ "$STATE" != "$src" ] ;;
	"") ((rnd % 4 == 3)) || [ "$KPHASE" = staging ] ;;
	*) false ;;
	esac || round_fail "round $rnd: recover said '$rout', tree is $STATE"
	echo "$rnd $KPHASE $src $KFN:$KN -> $got" >>"$W/rounds"
}

@test "crash: SIGKILL at 50 random points of a 2,000-file install -r, then recover: all old or all new" {
	local seed=${HS_SEED:-$$} i rnd rounds=${HS_CRASH_ROUNDS:-50}
	local disk=${HS_CRASH_DISK:-3}
	RANDOM=$seed
	echo "# seed $seed (HS_SEED to repeat)" >&3
	# Most rounds on a tmpfs: a process crash, not a power cut, and the
	# same code paths (fsync, sync_file_range, syncfs all still called)
	# at a quarter of the cost.  The last rounds on the disk ($W).
	mkdir t
	mount_it -t tmpfs -o size=256m tmpfs t
	make_tree t/old 1
	make_tree t/new 2
	mkdir t/new/extra
	for i in 1 2 3 4 5; do
		echo "extra $i" >"t/new/extra/e$i"
	done
	cp -a t/old t/oldx
	cp -a t/new/extra t/oldx/
	S_OLD=$(tree_sums t/old)
	S_NEW=$(tree_sums t/new)
	S_OLDX=$(tree_sums t/oldx)

	# Count the calls of a whole install, each way; it must work whole.
	cp -a t/old t/dst
	count_calls "$W/count.new" install -q -r --io=plain t/new t/dst
	same_tree "$S_NEW" "$(tree_sums t/dst)"
	count_calls "$W/count.old" install -q -r --io=plain t/old t/dst
	same_tree "$S_OLDX" "$(tree_sums t/dst)"
	rm -r t/dst/extra
	read_counts "$W/count.new" new
	read_counts "$W/count.old" old
	STATE=old DISK=0

	for ((rnd = 0; rnd < rounds - disk; rnd++)); do
		crash_round "$rnd" t/dst
	done
	# The disk's own counts: how many of some calls an install makes
	# depends on the file system (on tmpfs it makes the staging
	# directories with mkdirat, on ext4 not), and a kill point drawn
	# past the last such call never comes.
	cp -a t/old disk
	count_calls "$W/count.disk.new" install -q -r --io=plain t/new disk
	count_calls "$W/count.disk.old" install -q -r --io=plain t/old disk
	rm -r disk/extra
	same_tree "$S_OLD" "$(tree_sums disk)"
	unset CNT_new CNT_old
	read_counts "$W/count.disk.new" new
	read_counts "$W/count.disk.old" old
	STATE=old DISK=1
	for (( ; rnd < rounds; rnd++)); do
		crash_round "$rnd" disk
	done
	# Every phase was hit, and both outcomes happened.
	for p in staging barrier renames after; do
		grep -q " $p " "$W/rounds" || fail "no crash in phase $p"
	done
	grep -q ' -> new$' "$W/rounds"
	grep -q ' -> old$' "$W/rounds"
	[ "$(wc -l <"$W/rounds")" -eq "$rounds" ]
}

@test "crash: the next install -r completes an interrupted one (strace kills it among the renames)" {
	mkdir -p s1 s2 dst
	for i in $(seq 1 40); do
		echo "one $i" >"s1/f$i"
		echo "two $i" >"s2/f$i"
		echo "old $i" >"dst/f$i"
	done
	# SIGKILL on entry to the 20th rename (renameat2 with no flags is
	# renameat to the kernel).  LeakSanitizer cannot run under ptrace.
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o /dev/null \
	    -e trace=renameat,renameat2 \
	    -e inject=renameat,renameat2:signal=KILL:when=20 \
	    "$HOTSWAP" install -q -r s1 dst
	[ "$status" -eq 137 ]
	[ -e dst/.hotswap-journal ]
	# Mixed now: some files renamed, some not.
	grep -lq '^one' dst/f*
	grep -lq '^old' dst/f*

	run_hs install -r s2 dst
	[ "$status" -eq 0 ]
	one_error_line "an interrupted install into 'dst' was found and completed"
	same_tree "$(tree_sums s2)" "$(tree_sums dst)"
	no_leftovers dst
}

@test "crash: the next install -r rolls back one interrupted while staging (strace)" {
	mkdir -p s1 s2 dst
	for i in $(seq 1 40); do
		echo "one $i" >"s1/f$i"
		echo "two $i" >"s2/f$i"
		echo "old $i" >"dst/f$i"
	done
	# The 30th linkat: half the files staged, nothing renamed.
	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o /dev/null \
	    -e trace=linkat -e inject=linkat:signal=KILL:when=30 \
	    "$HOTSWAP" install -q -r s1 dst
	[ "$status" -eq 137 ]
	[ -e dst/.hotswap-journal ]
	[ -n "$(find dst -name '.*.hs-*')" ]
	[ -z "$(grep -l '^one' dst/f*)" ]

	run_hs install -r --no-wait s2 dst
	[ "$status" -eq 0 ]
	one_error_line "an interrupted install into 'dst' was found and rolled back"
	same_tree "$(tree_sums s2)" "$(tree_sums dst)"
	no_leftovers dst
}

# --- the lock -----------------------------------------------------------

# two_trees: s1 and s2, 300 files each, same names, different content;
# dst holds a third version.
two_trees() {
	mkdir -p s1/d s2/d dst/d
	for i in $(seq 1 300); do
		echo "one $i" >"s1/d/f$i"
		echo "two $i" >"s2/d/f$i"
		echo "old $i" >"dst/d/f$i"
	done
}

@test "lock: two install -r into one DESTDIR at once: both exit 0, the tree is entirely one or the other" {
	two_trees
	# Hold the lock so both are surely under way and contend for it.
	start_holder dst
	mkfifo e1 e2
	"$HOTSWAP" install -r s1 dst 2>e1 &
	local p1=$! p2 s1=0 s2=0 e1fd e2fd got
	track "$p1"
	"$HOTSWAP" install -r s2 dst 2>e2 &
	p2=$!
	track "$p2"
	exec {e1fd}<e1 {e2fd}<e2
	wait_line "$e1fd" "waiting for another install into the same tree"
	wait_line "$e2fd" "waiting for another install into the same tree"
	release_holder
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	[ "$s1" -eq 0 ] || fail "first install: status $s1"
	[ "$s2" -eq 0 ] || fail "second install: status $s2"
	got=$(tree_sums dst)
	[ "$got" = "$(tree_sums s1)" ] || [ "$got" = "$(tree_sums s2)" ] ||
		same_tree "$(tree_sums s1)" "$got"
	no_leftovers dst
}

@test "lock: two install -r started together with nothing held: both exit 0, one or the other" {
	two_trees
	"$HOTSWAP" install -q -r s1 dst &
	local p1=$! p2 s1=0 s2=0 got
	"$HOTSWAP" install -q -r s2 dst &
	p2=$!
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	[ "$s1" -eq 0 ]
	[ "$s2" -eq 0 ]
	got=$(tree_sums dst)
	[ "$got" = "$(tree_sums s1)" ] || [ "$got" = "$(tree_sums s2)" ] ||
		same_tree "$(tree_sums s1)" "$got"
	no_leftovers dst
}

@test "lock: --no-wait fails with exit 1 while another holds the lock, nothing changed" {
	two_trees
	local before
	before=$(tree_state dst)
	start_holder dst
	run_hs install -r --no-wait s1 dst
	[ "$status" -eq 1 ]
	one_error_line "cannot lock 'dst': Resource temporarily unavailable"
	same_tree "$before" "$(tree_state dst)"
	release_holder
	# And once it is free, --no-wait goes ahead.
	run_hs install -r --no-wait s1 dst
	[ "$status" -eq 0 ]
	same_tree "$(tree_sums s1)" "$(tree_sums dst)"
}

@test "lock: a waiting install says so after a second, changes nothing, and proceeds when released" {
	two_trees
	local before efd p s=0
	before=$(tree_state dst)
	start_holder dst
	mkfifo err
	"$HOTSWAP" install -r s1 dst 2>err &
	p=$!
	track "$p"
	exec {efd}<err
	wait_line "$efd" "hotswap: waiting for another install into the same tree"
	# It is blocked in flock(2): still there, the tree untouched.
	kill -0 "$p"
	same_tree "$before" "$(tree_state dst)"
	release_holder
	wait "$p" || s=$?
	[ "$s" -eq 0 ]
	same_tree "$(tree_sums s1)" "$(tree_sums dst)"
	# Its standard error said nothing else.
	run cat <&"$efd"
	[ -z "$output" ]
}

# --- order ----------------------------------------------------------------

@test "order: libraries and data are renamed in before executables, symbolic links last" {
	mkdir -p src/bin src/lib src/share dst/bin dst/lib
	echo prog >src/bin/prog
	echo tool >src/bin/tool
	chmod 755 src/bin/prog src/bin/tool
	echo foo >src/lib/libfoo.so.1.2.3
	chmod 755 src/lib/libfoo.so.1.2.3		# libraries often are
	echo bar >src/lib/libbar.so
	echo data >src/share/data.txt
	ln -s libfoo.so.1.2.3 src/lib/libfoo.so.1
	ln -s prog src/bin/current
	echo old >dst/bin/prog
	echo old >dst/lib/libfoo.so.1.2.3
	ln -s old dst/bin/current

	ASAN_OPTIONS=detect_leaks=0 run strace -f -qq -o "$W/renames" \
	    -e trace=rename,renameat,renameat2 "$HOTSWAP" install -q -r src dst
	[ "$status" -eq 0 ]
	# renameat(5, ".prog.hs-XXXXXXXXXX", 5, "prog") -> prog
	local names kinds name
	names=$(sed -n 's/.*rename[a-z0-9]*(.*, "\([^"]*\)".*) = 0$/\1/p' \
	    "$W/renames")
	[ "$(wc -l <<<"$names")" -eq 7 ] || fail "renames: $names"
	kinds=
	for name in $names; do
		case $name in
		libfoo.so.1.2.3|libbar.so|data.txt) kinds+=0 ;;
		prog|tool) kinds+=1 ;;
		libfoo.so.1|current) kinds+=2 ;;
		*) fail "unexpected rename to '$name'" ;;
		esac
	done
	[ "$kinds" = 0001122 ] || fail "order $kinds: $names"
}

# --- --in-place ------------------------------------------------------------

@test "--in-place: refused while a victim maps DEST: exit 1, its PID named, DEST untouched, victim alive" {
	mkdir lib
	cp "$V1" lib/libvictim.so
	local before
	before=$(fileid lib/libvictim.so)
	start_victim "$W/lib/libvictim.so"

	run_hs install --in-place truncated.so lib/libvictim.so
	[ "$status" -eq 1 ]
	one_error_line "refusing to write in place: running processes map 'lib/libvictim.so' (PID $VPID): Text file busy"
	[ "$(fileid lib/libvictim.so)" = "$before" ]
	same_content "$V1" lib/libvictim.so
	victim_alive
	[ "$VALIVE" -eq 1 ]
}

@test "--in-place: allowed when nothing maps DEST: same inode, a hard link sees the new content" {
	mkdir lib
	cp "$V1" lib/libvictim.so
	ln lib/libvictim.so lib/hardlink
	local ino
	ino=$(stat -c %i lib/libvictim.so)

	run_hs install --in-place "$V2" lib/libvictim.so
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(stat -c %i lib/libvictim.so)" = "$ino" ]
	same_content "$V2" lib/libvictim.so
	same_content "$V2" lib/hardlink
	# And a new process loads the new version.
	start_victim "$W/lib/hardlink"
	[ "$VREADY" -eq 2 ]
}

@test "--in-place --force CONTROL: written despite the mapper (warning names it), and the victim dies of SIGBUS" {
	mkdir lib
	cp "$V1" lib/libvictim.so
	local ino
	ino=$(stat -c %i lib/libvictim.so)
	start_victim "$W/lib/libvictim.so"
	victim_alive
	[ "$VALIVE" -eq 1 ]

	run_hs install --in-place --force truncated.so lib/libvictim.so
	[ "$status" -eq 0 ]
	one_error_line "wrote 'lib/libvictim.so' in place although PID $VPID maps it"
	[ "$(stat -c %i lib/libvictim.so)" = "$ino" ]
	same_content truncated.so lib/libvictim.so
	victim_status
	[ "$VSTATUS" -eq $((128 + 7)) ] ||
		fail "victim ended with status $VSTATUS, not 135 (SIGBUS)"
}

@test "--in-place: a bind-mounted DEST: install fails with EBUSY naming --in-place, --in-place works" {
	mkdir lib
	cp "$V1" real.so
	touch lib/libvictim.so
	mount_it --bind real.so lib/libvictim.so
	local ino
	ino=$(stat -c %i lib/libvictim.so)

	run_hs install "$V2" lib/libvictim.so
	[ "$status" -eq 1 ]
	one_error_line "'lib/libvictim.so' (a mount point: --in-place writes into it): Device or resource busy"
	same_content "$V1" lib/libvictim.so
	no_leftovers lib

	run_hs install --in-place "$V2" lib/libvictim.so
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(stat -c %i lib/libvictim.so)" = "$ino" ]
	same_content "$V2" lib/libvictim.so
	same_content "$V2" real.so
}

# --- the hint ------------------------------------------------------------

@test "hint: replacing a library a victim maps: one line with its PID; -q: none; no mapper: none" {
	mkdir lib
	cp "$V1" lib/libvictim.so
	cp "$V1" lib/unmapped.so
	start_victim "$W/lib/libvictim.so"

	run_hs install "$V2" lib/libvictim.so
	[ "$status" -eq 0 ]
	[ "$stderr" = "hotswap: 1 process still runs the replaced version; to list: hotswap stale -p $VPID" ]
	victim_alive
	[ "$VALIVE" -eq 1 ]

	# Replaced again: the victim maps neither the file now in place
	# nor the one this replaces: no hint.
	run_hs install "$V1" lib/libvictim.so
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]

	run_hs install "$V2" lib/unmapped.so
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]

	cp "$V1" lib/libq.so
	start_victim "$W/lib/libq.so"
	run_hs install -q "$V2" lib/libq.so
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ -z "$output" ]
}

@test "hint: install -r of a tree whose library a victim maps: one line with its PID" {
	mkdir -p src/lib dst/lib
	cp "$V2" src/lib/libvictim.so
	echo data >src/lib/data
	cp "$V1" dst/lib/libvictim.so
	start_victim "$W/dst/lib/libvictim.so"

	run_hs install -r src dst
	[ "$status" -eq 0 ]
	[ "$stderr" = "hotswap: 1 process still runs the replaced version; to list: hotswap stale -p $VPID" ]
	same_content "$V2" dst/lib/libvictim.so

	run_hs install -r -q src dst
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

# calls_by_name FILE: "NAME COUNT" for each system call of strace -c's
# table in FILE.
calls_by_name() {
	awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF, $4 }' "$1" |
		LC_ALL=C sort
}

# per_file_calls N1 N2: the system calls of install -r per file, as the
# difference between a tree of 4 directories of N2 files each and one of
# N1 (so that what is paid once per run or per directory cancels out),
# by strace -f -c; DEST exists, same filesystem, no -b.  "NAME RATE" a
# line, and "total RATE".  The release build: ASan's own mmap and
# friends are not ours.  -q: the hint's scan of every process is paid
# once a run, but what it reads depends on the processes running, and
# would make the difference noise.  RUN_UMASK: hotswap's umask (022).
# --io=plain: a call for every step, the most the commit makes (by
# io_uring, one io_uring_enter makes up to 256 of them), and the same
# count however slow strace makes the calls that --io=auto times.
per_file_calls() {
	local n d
	for n in "$1" "$2"; do
		rm -rf "src$n" "dst$n"
		for d in 0 1 2 3; do
			mkdir -p "src$n/d$d"
			(cd "src$n/d$d" &&
			    head -c $((n * 10240)) /dev/urandom |
			    split -b 10240 -a 4 - f) || return 1
		done
		cp -r "src$n" "dst$n"
		(umask "${RUN_UMASK:-022}" &&
		    exec strace -f -qq -c -o "calls$n" "$HS_TOP/hotswap" \
		    install -r -q --io=plain "src$n" "dst$n") || return 1
		cmp <(tree_sums "src$n") <(tree_sums "dst$n") >/dev/null ||
			{ echo "install -r did not install" >&2; return 1; }
		calls_by_name "calls$n" >"names$n"
	done
	LC_ALL=C join -a 1 -a 2 -e 0 -o 0,1.2,2.2 "names$1" "names$2" |
		awk -v f=$((4 * ($2 - $1))) \
		    '{ d = ($3 - $2) / f; t += d; if (d != 0) print $1, d }
		     END { print "total", t }'
}

# 14.1 a file: the source's openat, fstat, close; DEST's fstatat and
# llistxattr; the temporary's openat (O_TMPFILE, with its final mode:
# no fchmod), copy_file_range, close (no sync_file_range past the first 8
# files: the barrier's syncfs writes them back); one journal write (the T
# and O records together), linkat twice (the temporary's name, the old
# inode's link); at the commit renameat, fstatat and unlinkat of the old
# link; plus getrandom (0.075: one pool of bytes gives 25 names, two a
# file) and malloc's occasional mmap (limit 14.2, as 17.2 was for 17.1).
# One more call a file fails.
@test "install -r: at most 14.2 system calls per file on the common path, counted by strace" {
	command -v strace >/dev/null || skip "no strace (Debian strace, make deps-check)"
	[ -x "$HS_TOP/hotswap" ] || skip "no release build $HS_TOP/hotswap: run make"
	per_file_calls 10 40 >rates
	sed "s/^/# /" rates >&3
	total=$(awk '$1 == "total" { print $2 }' rates)
	# The harness counts a file's real work: at least its open, copy,
	# link and rename (a count of nothing would pass the limit).
	awk -v t="$total" 'BEGIN { exit !(t >= 5) }'
	for c in openat copy_file_range linkat renameat; do
		grep -q "^$c " rates || fail "no $c counted per file"
	done
	# What must not be paid per file: a mapping, a FICLONE retried after
	# EOPNOTSUPP, SEEK_DATA on a file with no room for holes, a random
	# number per name, a chmod the creation mode made, a second write.
	for c in mmap lseek ioctl ftruncate flistxattr fchmod; do
		awk -v c=$c '$1 == c { exit !($2 < 0.05) }' rates ||
			fail "$c is paid per file"
	done
	awk '$1 == "getrandom" { exit !($2 <= 0.1) }' rates
	awk '$1 == "write" { exit !($2 <= 1.05) }' rates ||
		fail "more than one journal write per file"
	awk -v t="$total" 'BEGIN { exit !(t <= 14.2) }' ||
		fail "$total system calls per file (more than 14.2)"
	# Control: under umask 077 the creation mode cannot give DEST's 0644,
	# so the fchmod is back, and the same harness counts one call more
	# a file, over the limit.
	RUN_UMASK=077 per_file_calls 10 40 >rates077
	sed "s/^/# umask 077: /" rates077 >&3
	awk '$1 == "fchmod" { exit !($2 == 1) }' rates077 ||
		fail "umask 077: no fchmod per file"
	total=$(awk '$1 == "total" { print $2 }' rates077)
	awk -v t="$total" 'BEGIN { exit !(t > 14.2) }' ||
		fail "umask 077: $total calls per file, not over the limit of 14.2"
}

# mode_tree DIR: "MODE PATH" of every file under DIR, sorted.
mode_tree() {
	(cd "$1" && find . -type f -printf '%04m %p\n') | LC_ALL=C sort
}

# The temporary is created with its final mode where that is certain
# (the umask and the directory's default ACL take nothing, no set-ID or
# sticky bit, no -o/-g), and no fchmod follows; everywhere else it is
# chmodded as before.  Either way DEST keeps exactly the mode it had:
# under umask 022 and 077, in a directory with a default ACL (which, not
# the umask, masks a new file's mode), with set-ID and sticky bits.
# Control: in this harness a file really is created with fewer bits
# than asked, under umask 077 and in the ACL directory, so a wrong
# decision would show in the modes.
@test "install -r: DEST keeps its exact mode under umask 022 and 077, a default ACL, set-ID bits" {
	command -v setfacl >/dev/null || skip "no setfacl (Debian acl, make deps-check)"
	local m um made
	mkdir -p src/acl old/acl
	for m in 0644 0755 0666 0600 0444 0750 4755 2755 1755; do
		echo "new $m" >"src/f$m"
		echo "new $m" >"src/acl/f$m"
		echo "old $m" >"old/f$m"
		echo "old $m" >"old/acl/f$m"
		chmod "$m" "old/f$m" "old/acl/f$m"
	done
	setfacl -d -m u::rwx,g::r-x,o::--- old/acl ||
		skip "no default ACL on this filesystem"
	want=$(mode_tree old)
	for um in 022 077; do
		rm -rf dst && cp -a old dst
		run --separate-stderr bash -c "umask $um && exec \"\$0\" \"\$@\"" \
		    "$HOTSWAP" install -r -q src dst
		[ "$status" -eq 0 ] || fail "umask $um: $stderr"
		[ "$(mode_tree dst)" = "$want" ] ||
			{ diff <(echo "$want") <(mode_tree dst) >&2;
			  fail "umask $um: a mode changed"; }
		[ "$(cat dst/acl/f0644)" = "new 0644" ]
		no_leftovers dst
	done
	# Control: creation masks the bits here, as hotswap must not let it.
	made=$(bash -c 'umask 077 && : >ctl_umask && stat -c %a ctl_umask')
	[ "$made" = 600 ] || fail "umask 077 made $made, not 600"
	made=$(bash -c 'umask 000 && : >dst/acl/ctl && stat -c %a dst/acl/ctl')
	[ "$made" = 640 ] || fail "the default ACL made $made, not 640"
}

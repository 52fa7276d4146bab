#!/usr/bin/env bats
# install_gnu_opts.bats - GNU install(1)'s options in hotswap install, one
# by one, against GNU install 9 on the same machine: -d, -s and
# --strip-program, --backup=CONTROL, VERSION_CONTROL,
# SIMPLE_BACKUP_SUFFIX, -C, --target-directory, -v, --debug, -Z,
# --context, --preserve-context, --help.

load common

setup_file() {
	printf 'int main(void) { return 0; }\n' >"$BATS_FILE_TMPDIR/prog.c"
	gcc -g -o "$BATS_FILE_TMPDIR/prog" "$BATS_FILE_TMPDIR/prog.c"
}

setup() {
	hs_setup
	cp "$BATS_FILE_TMPDIR/prog" "$BATS_FILE_TMPDIR/prog.c" . ||
		fail "no program to strip"
	echo one >one
	echo two >two
	echo three >three
}

teardown() {
	hs_teardown
}

# has_symtab FILE: 0 if FILE still has a symbol table.
has_symtab() {
	readelf -S "$1" | grep -q '\.symtab'
}

@test "-d makes each directory and its parents; -m -o -g go to the last, as GNU's" {
	run_hs install -d -m 750 -o nobody -g nogroup a/b/c x
	[ "$status" -eq 0 ] || fail "$stderr"
	install -d -m 750 -o nobody -g nogroup g/b/c
	[ "$(stat -c '%a %U:%G' a/b/c)" = "$(stat -c '%a %U:%G' g/b/c)" ]
	[ "$(stat -c '%a %U:%G' a/b/c)" = "750 nobody:nogroup" ]
	[ "$(stat -c '%a %U' a/b)" = "$(stat -c '%a %U' g/b)" ]
	[ -d x ]
	[ "$(listing a/b)" = c ] || fail "left in a/b: $(listing a/b)"
	# --directory, and "-dm" together as PKGBUILDs write it.
	run_hs install --directory -dm700 long
	[ "$status" -eq 0 ]
	[ "$(stat -c %a long)" = 700 ]
}

@test "-d on an existing directory sets its mode and owner as GNU's does" {
	mkdir e g
	chmod 700 e g
	run_hs install -d e
	install -d g
	[ "$(stat -c %a e)" = "$(stat -c %a g)" ]
	[ "$(stat -c %a e)" = 755 ]
	run_hs install -d -o nobody e
	[ "$(stat -c %U e)" = nobody ]
	echo f >file
	run_hs install -d file
	[ "$status" -eq 1 ]
	one_error_line "'file'"
}

@test "-d: the directory appears only with its owner and mode, renamed into place; GNU's makes it, then chowns it (CONTROL)" {
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot work under ptrace.
	ASAN_OPTIONS=detect_leaks=0 \
	    strace -f -o "$W/hs.trace" -e trace=mkdir,mkdirat,renameat2,fchown,fchownat,chown,lchown,fchmod,fchmodat \
	    "$HOTSWAP" install -d -m 700 -o nobody new
	[ "$(stat -c '%a %U' new)" = "700 nobody" ]
	# hotswap: no mkdir of "new" itself; a rename onto it after the chown.
	! grep -E 'mkdir(at)?\(.*"new"' "$W/hs.trace" ||
		fail "hotswap made 'new' in place: $(cat "$W/hs.trace")"
	grep -n 'fchown' "$W/hs.trace" | head -1 >"$W/chown.line"
	grep -n 'renameat2(.*"new", RENAME_NOREPLACE' "$W/hs.trace" \
	    >"$W/rename.line" || fail "no rename: $(cat "$W/hs.trace")"
	[ "$(cut -d: -f1 <"$W/chown.line")" -lt "$(cut -d: -f1 <"$W/rename.line")" ]
	# GNU: "gnu" exists, root's, before its chown.
	strace -f -o "$W/gnu.trace" -e trace=mkdir,mkdirat,fchown,fchownat,chown,lchown \
	    install -d -m 700 -o nobody gnu
	grep -nE 'mkdir(at)?\(.*"gnu"' "$W/gnu.trace" >"$W/gmk.line" ||
		fail "GNU did not mkdir 'gnu': $(cat "$W/gnu.trace")"
	grep -nE 'chown' "$W/gnu.trace" | head -1 >"$W/gch.line"
	[ -s "$W/gch.line" ] || fail "GNU did not chown: $(cat "$W/gnu.trace")"
	[ "$(cut -d: -f1 <"$W/gmk.line")" -lt "$(cut -d: -f1 <"$W/gch.line")" ]
}

@test "-d refuses another user's symbolic link in a sticky directory" {
	mkdir -m 1777 tmp
	mkdir target
	chmod 700 target
	as_nobody ln -s "$W/target" tmp/dir
	run_hs install -d -m 755 tmp/dir
	[ "$status" -eq 1 ]
	one_error_line "tmp/dir"
	[ "$(stat -c %a target)" = 700 ]
}

@test "-v and -D -v print what GNU's prints, under hotswap's name" {
	local gnu
	mkdir h g
	cd "$W/h"
	run_hs install -v -D ../one v/w/one
	[ "$status" -eq 0 ]
	gnu=$(cd "$W/g" && install -v -D ../one v/w/one)
	[ "$output" = "$(printf '%s\n' "$gnu" | sed 's/^install:/hotswap install:/')" ] ||
		fail "hotswap: $output; GNU: $gnu"
	run_hs install -v -d v/x/y
	gnu=$(cd "$W/g" && install -v -d v/x/y)
	[ "$output" = "$(printf '%s\n' "$gnu" | sed 's/^install:/hotswap install:/')" ] ||
		fail "hotswap: $output; GNU: $gnu"
	run_hs install -v -b ../two v/w/one
	gnu=$(cd "$W/g" && install -v -b ../two v/w/one)
	[ "$output" = "$gnu" ] || fail "hotswap: $output; GNU: $gnu"
}

@test "-s strips the new file; DEST stays the old file until the rename" {
	cp one dest
	# The strip program sees where it runs and what DEST is meanwhile.
	printf '#!/bin/sh\n{ pwd; cat %s; env; } >%s\nexec strip "$1"\n' \
	    "$W/dest" "$W/seen" >"$W/mystrip"
	chmod 755 "$W/mystrip"
	HS_SECRET=1 run_hs install -s --strip-program="$W/mystrip" prog dest
	[ "$status" -eq 0 ] || fail "$stderr"
	has_symtab prog
	! has_symtab dest || fail "dest was not stripped"
	grep -qx one "$W/seen" || fail "DEST was not the old file: $(cat "$W/seen")"
	! grep -q '^HS_SECRET=' "$W/seen" || fail "the environment leaked"
	head -1 "$W/seen" | grep -q '/\.dest\.hs-' ||
		fail "strip ran in $(head -1 "$W/seen"), not a private directory"
	[ "$(listing .)" = "$(printf '%s\n' dest mystrip one prog prog.c seen three two)" ] ||
		fail "left: $(listing .)"
	# --strip and the default program.
	run_hs install --strip prog dest2
	! has_symtab dest2
}

@test "-s CONTROL: GNU install strips DEST itself: visible unstripped first, then rewritten in place by strip" {
	command -v strace >/dev/null || skip "strace is not installed"
	cp one dest
	printf '#!/bin/sh\ncp %s %s\nexec strip "$1"\n' "$W/dest" "$W/seen" \
	    >"$W/mystrip"
	chmod 755 "$W/mystrip"
	strace -f -o "$W/trace" -e trace=openat \
	    install -s --strip-program="$W/mystrip" prog dest
	# While its strip program ran, DEST was the new, unstripped file.
	cmp -s prog "$W/seen" || fail "GNU's DEST during strip was not the copy"
	# binutils' strip then truncates and writes DEST in place.
	grep -q '"dest", O_WRONLY|O_TRUNC' "$W/trace" ||
		fail "strip did not rewrite dest in place: $(grep dest "$W/trace")"
	# hotswap's strip works on a private copy: the inode DEST named
	# stays as it was (test above: DEST itself too, until the rename).
	cp one dest
	ln dest old
	run_hs install -s prog dest
	[ "$status" -eq 0 ]
	[ "$(cat old)" = one ] || fail "the old inode was written"
}

@test "-s: a failing or missing strip program: one error line, DEST untouched, no temporary left" {
	cp one dest
	local before
	before=$(fileid dest)
	run_hs install -s --strip-program=false prog dest
	[ "$status" -eq 1 ]
	one_error_line "'dest'"
	[[ $stderr == *"strip program 'false' failed"*"exit status 1"* ]] ||
		fail "$stderr"
	[ "$(fileid dest)" = "$before" ]
	run_hs install -s --strip-program="$W/no/such/strip" prog dest
	[ "$status" -eq 1 ]
	one_error_line "cannot run the strip program"
	[ "$(fileid dest)" = "$before" ]
	[ "$(listing .)" = "$(printf '%s\n' dest one prog prog.c three two)" ] ||
		fail "left: $(listing .)"
	# Not for -C (as GNU), nor -d; --strip-program alone is a warning.
	run_hs install -C -s prog dest
	[ "$status" -eq 2 ]
	run_hs install --strip-program=strip one dest3
	[ "$status" -eq 0 ]
	[[ $stderr == *"ignoring --strip-program"* ]]
}

@test "--backup=numbered, t, existing, nil, simple, never, none, off: GNU's backups, as hard links" {
	local w ino
	for w in numbered t; do
		rm -f d d.*; cp one d
		ino=$(stat -c %i d)
		run_hs install --backup="$w" two d
		run_hs install --backup="$w" three d
		[ "$(cat d.~1~)" = one ] && [ "$(cat d.~2~)" = two ]
		[ "$(stat -c %i d.~1~)" = "$ino" ] || fail "not a link"
	done
	for w in existing nil; do
		rm -f d d~ d.*; cp one d
		run_hs install --backup="$w" two d
		[ "$(cat d~)" = one ] && [ ! -e d.~1~ ]
		cp one d.~1~
		run_hs install --backup="$w" three d
		[ "$(cat d.~2~)" = two ]
	done
	for w in simple never; do
		rm -f d d~ d.*; cp one d.~1~; cp one d
		run_hs install --backup="$w" two d
		[ "$(cat d~)" = one ] && [ ! -e d.~2~ ]
	done
	for w in none off; do
		rm -f d d~ d.*; cp one d
		run_hs install -b --backup="$w" two d
		[ "$status" -eq 0 ]
		[ ! -e d~ ] && [ -z "$(ls d.* 2>/dev/null)" ]
	done
	# Abbreviations, as GNU's argmatch: "num" yes, "n" is ambiguous.
	rm -f d d.*; cp one d
	run_hs install --backup=num two d
	[ "$(cat d.~1~)" = one ]
	run_hs install --backup=n two d
	[ "$status" -eq 2 ]
	[[ ${stderr_lines[0]} == "hotswap: invalid argument 'n' for 'backup type'" ]]
	[ "$(cat d)" = two ]
}

@test "VERSION_CONTROL and SIMPLE_BACKUP_SUFFIX as GNU reads them; -S wins" {
	cp one d
	VERSION_CONTROL=numbered run_hs install -b two d
	[ "$(cat d.~1~)" = one ]
	VERSION_CONTROL=bogus run_hs install -b three d
	[ "$status" -eq 2 ]
	[ "$(cat d)" = two ]
	# VERSION_CONTROL without -b: no backup at all.
	VERSION_CONTROL=numbered run_hs install three d
	[ ! -e d.~2~ ]
	rm -f d.*
	SIMPLE_BACKUP_SUFFIX=.bak run_hs install -b one d
	[ "$(cat d.bak)" = three ]
	SIMPLE_BACKUP_SUFFIX=.bak run_hs install -S .orig two d
	[ "$(cat d.orig)" = one ]
	# GNU's -S alone makes backups too.
	run_hs install -S .s three d
	[ "$(cat d.s)" = two ]
	# A suffix with a slash: GNU ignores one from the environment (so
	# does hotswap) and one of -S (hotswap refuses it: DEST untouched).
	SIMPLE_BACKUP_SUFFIX=/x run_hs install -b one d
	[ "$(cat d~)" = three ]
	run_hs install -S x/y two d
	[ "$status" -eq 1 ]
	one_error_line "cannot back up 'd'"
	[ "$(cat d)" = one ]
}

@test "rollback restores the newest numbered backup, and rolls forward again" {
	cp one d
	run_hs install --backup=numbered two d
	run_hs install --backup=numbered three d
	run_hs rollback d
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$(cat d)" = two ] && [ "$(cat d.~2~)" = three ]
	run_hs rollback d
	[ "$(cat d)" = three ]
}

@test "-C: set-ID bits always reinstall, as GNU's; plain modes compare" {
	run_hs install -C -m 4755 one d
	local ino
	ino=$(stat -c %i d)
	run_hs install -C -m 4755 one d
	[ "$(stat -c %i d)" != "$ino" ] || fail "-C kept a set-user-ID file"
	run_hs install -C -m 755 one e
	ino=$(stat -c %i e)
	run_hs install -C -m 755 one e
	[ "$(stat -c %i e)" = "$ino" ]
}

@test "--target-directory= is -t; -t twice is an error; -T" {
	mkdir dir
	run_hs install --target-directory=dir one two
	[ "$status" -eq 0 ]
	[ "$(cat dir/one)" = one ] && [ "$(cat dir/two)" = two ]
	run_hs install -t dir -t dir one
	[ "$status" -eq 2 ]
	[[ $stderr == *"multiple target directories"* ]]
	run_hs install -T one dir
	[ "$status" -eq 1 ]
}

@test "-Z, --context, --preserve-context without SELinux: accepted, a note under -v, as GNU does" {
	[ ! -e /sys/fs/selinux/enforce ] || skip "SELinux is enabled here"
	run_hs install -Z one a
	[ "$status" -eq 0 ] && [ -z "$output" ] && [ -z "$stderr" ]
	run_hs install -v --context=system_u:object_r:bin_t:s0 one b
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "hotswap install: ignoring --context: SELinux is not enabled" ]]
	run_hs install -v --preserve-context one c
	[[ ${lines[0]} == *"ignoring --preserve-context"* ]]
	run_hs install -d -Z dd
	[ -d dd ]
	[ "$(cat a)" = one ] && [ "$(cat b)" = one ] && [ "$(cat c)" = one ]
}

@test "--debug says how the data was copied; -c is accepted; --help is install's usage only" {
	run_hs install --debug -c one d
	[ "$status" -eq 0 ]
	[[ $output == *"copy method: "* ]]
	run_hs install --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: hotswap install"* ]]
	[[ $output != *"hotswap who"* ]] || fail "--help printed all the usage"
	[[ $output == *"hotswap install -d"* ]]
}

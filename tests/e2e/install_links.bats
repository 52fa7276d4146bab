#!/usr/bin/env bats
# install_links.bats - symbolic links, hard links, backups and rollback.

load common

setup() {
	hs_setup
	echo "old content" >old
	echo "new content, longer" >new
}

teardown() {
	hs_teardown
}

@test "symlink: libfoo.so.1 -> libfoo.so.1.2.3 replaces the target, the link stays" {
	cp old libfoo.so.1.2.3
	ln -s libfoo.so.1.2.3 libfoo.so.1
	local ino; ino=$(stat -c %i libfoo.so.1.2.3)

	run_hs install new libfoo.so.1
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ -L libfoo.so.1 ]
	[ "$(readlink libfoo.so.1)" = libfoo.so.1.2.3 ]
	[ -f libfoo.so.1.2.3 ] && [ ! -L libfoo.so.1.2.3 ]
	same_content new libfoo.so.1.2.3
	[ "$(stat -c %i libfoo.so.1.2.3)" != "$ino" ]
	[ "$(listing .)" = "$(printf '%s\n' libfoo.so.1 libfoo.so.1.2.3 new old)" ]
}

@test "symlink: a chain of two links (relative, then absolute) replaces the last target" {
	cp old libfoo.so.1.2.3
	ln -s "$W/libfoo.so.1.2.3" libfoo.so.1
	ln -s libfoo.so.1 libfoo.so

	run_hs install -v new libfoo.so
	[ "$status" -eq 0 ]
	[ "$(readlink libfoo.so)" = libfoo.so.1 ]
	[ "$(readlink libfoo.so.1)" = "$W/libfoo.so.1.2.3" ]
	same_content new libfoo.so.1.2.3
	[ ! -L libfoo.so.1.2.3 ]
	[[ $output == *"-> '$W/libfoo.so.1.2.3'"* ]] ||
		fail "-v does not name the real target: $output"
}

@test "symlink into another directory: the temporary is made in the target's directory" {
	mkdir real links
	cp old real/libbar.so.2.0
	ln -s ../real/libbar.so.2.0 links/libbar.so.2
	ln -s "$W/real/libbar.so.2.0" links/libbar-abs.so
	# The link's directory is read-only (even to root): any temporary or
	# rename attempted there would fail with EROFS.
	mount_it --bind links links
	mount -o remount,bind,ro links
	run touch links/probe
	[ "$status" -ne 0 ]

	run_hs install new links/libbar.so.2
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content new real/libbar.so.2.0
	[ -L links/libbar.so.2 ]

	run_hs install old links/libbar-abs.so
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content old real/libbar.so.2.0
	[ "$(listing links)" = "$(printf '%s\n' libbar-abs.so libbar.so.2)" ]
	[ "$(listing real)" = libbar.so.2.0 ]
}

@test "symlink: -P replaces the link itself with a regular file" {
	cp old target
	ln -s target link

	run_hs install -P new link
	[ "$status" -eq 0 ]
	[ ! -L link ] && [ -f link ]
	same_content new link
	same_content old target
}

@test "symlink: a dangling link is an error and nothing is created" {
	ln -s nowhere link
	ln -s missing-dir/nowhere link2
	local before; before=$(listing .)

	run_hs install new link
	[ "$status" -eq 1 ]
	one_error_line "'nowhere'"
	[[ $stderr == *dangling* ]]
	run_hs install new link2
	[ "$status" -eq 1 ]
	one_error_line "link2"
	[ "$(readlink link)" = nowhere ]
	[ "$(listing .)" = "$before" ]
}

@test "symlink: a loop is an error (ELOOP) and nothing is created" {
	ln -s loop2 loop1
	ln -s loop1 loop2
	local before; before=$(listing .)

	run_hs install new loop1
	[ "$status" -eq 1 ]
	one_error_line "'loop1'"
	[[ $stderr == *"Too many levels of symbolic links"* ]]
	[ "$(readlink loop1)" = loop2 ] && [ "$(readlink loop2)" = loop1 ]
	[ "$(listing .)" = "$before" ]
}

@test "hard link: a warning names the other link count, the other name keeps the old content" {
	cp old dest
	ln dest other
	ln dest third

	run_hs install new dest
	[ "$status" -eq 0 ]
	one_error_line "'dest' had 2 other hard links"
	same_content new dest
	same_content old other
	same_content old third
	[ "$(stat -c %h other)" -eq 2 ]
	[ "$(stat -c %h dest)" -eq 1 ]

	# One other link: singular; -q silences it.
	run_hs install old other
	[ "$status" -eq 0 ]
	one_error_line "'other' had 1 other hard link: it keeps"
	run_hs install -q new third
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "-b: the backup holds the old content, DEST the new; rollback swaps them, twice" {
	cp old dest
	local old_ino; old_ino=$(stat -c %i dest)

	run_hs install -b new dest
	[ "$status" -eq 0 ]
	same_content new dest
	same_content old dest~
	[ "$(stat -c %i dest~)" = "$old_ino" ]
	[ "$(stat -c %h dest~)" -eq 1 ]

	run_hs rollback dest
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	same_content old dest
	same_content new dest~

	run_hs rollback dest
	[ "$status" -eq 0 ]
	same_content new dest
	same_content old dest~
	[ "$(listing .)" = "$(printf '%s\n' dest dest~ new old)" ]
}

@test "-S .bak: the backup name takes the suffix, rollback -S finds it" {
	cp old dest
	echo "older backup" >dest.bak

	run_hs install -S .bak -v new dest
	[ "$status" -eq 0 ]
	[[ $output == *"(backup: '"*"dest.bak')"* ]] || fail "$output"
	same_content old dest.bak
	same_content new dest
	[ ! -e dest~ ]

	run_hs rollback dest
	[ "$status" -eq 1 ]
	one_error_line "'dest~'"

	run_hs rollback -S .bak dest
	[ "$status" -eq 0 ]
	same_content old dest
	same_content new dest.bak
}

@test "-b through a symlink: the backup is made beside the target, not the link" {
	mkdir real
	cp old real/lib.so.1.0
	ln -s real/lib.so.1.0 lib.so

	run_hs install -b new lib.so
	[ "$status" -eq 0 ]
	same_content old real/lib.so.1.0~
	same_content new real/lib.so.1.0
	[ ! -e lib.so~ ] && [ ! -L lib.so~ ]

	run_hs rollback lib.so
	[ "$status" -eq 0 ]
	same_content old real/lib.so.1.0
	[ -L lib.so ]
}

@test "rollback with no backup: exit 1, one clear line, DEST untouched" {
	cp old dest
	local before; before=$(fileid dest)

	run_hs rollback dest
	[ "$status" -eq 1 ]
	one_error_line "no backup to roll back to 'dest~'"
	[[ $stderr == *"No such file or directory"* ]]
	[ "$(fileid dest)" = "$before" ]
	[ "$(listing .)" = "$(printf '%s\n' dest new old)" ]
}

@test "rollback under a running victim: the victim keeps its version" {
	cp "$HS_HELPERS/libvictim_v1.so" lib.so
	run_hs install -b "$HS_HELPERS/libvictim_v2.so" lib.so
	[ "$status" -eq 0 ]
	start_victim "$W/lib.so"
	[ "$VREADY" -eq 2 ]

	run_hs rollback lib.so
	[ "$status" -eq 0 ]
	same_content "$HS_HELPERS/libvictim_v1.so" lib.so
	victim_alive
	[ "$VALIVE" -eq 2 ]
}

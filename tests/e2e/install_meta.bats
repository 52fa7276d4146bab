#!/usr/bin/env bats
# install_meta.bats - the metadata of the replacement: what an existing
# DEST keeps (owner, group, mode, xattrs, capabilities, ACLs), what a new
# one gets, and the options that override it (-m -o -g -p -C).

load common

setup() {
	hs_setup
	echo "old content" >old
	printf 'new content\n%.0s' {1..100} >new
}

teardown() {
	hs_teardown
}

# installed_ok: the last run_hs succeeded silently and dest is new.
installed_ok() {
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
	same_content new dest
}

@test "existing DEST keeps mode 4755 (setuid) and mode 0640" {
	cp old dest
	chmod 4755 dest
	run_hs install new dest
	installed_ok
	[ "$(stat -c %a dest)" = 4755 ]

	chmod 0640 dest
	chmod 0777 new
	run_hs install new dest
	installed_ok
	[ "$(stat -c %a dest)" = 640 ]
}

@test "existing DEST keeps owner and group nobody:nogroup, and its setuid bit" {
	cp old dest
	chown nobody:nogroup dest
	chmod 4750 dest
	run_hs install new dest
	installed_ok
	[ "$(stat -c '%U:%G %a' dest)" = "nobody:nogroup 4750" ]
	# The source's owner does not matter.
	[ "$(stat -c %U new)" = root ]
}

@test "existing DEST keeps a user. extended attribute" {
	cp old dest
	setfattr -n user.hotswap.test -v "kept value" dest
	run_hs install new dest
	installed_ok
	run getfattr --only-values -n user.hotswap.test dest
	[ "$status" -eq 0 ]
	[ "$output" = "kept value" ]
	# ... and the source's own attributes do not come along.
	setfattr -n user.from.source -v x new
	run_hs install new dest
	installed_ok
	run getfattr -d -m '^user\.' dest
	[[ $output != *user.from.source* ]] || fail "$output"
	[[ $output == *user.hotswap.test* ]] || fail "$output"
}

@test "existing DEST keeps its file capability (cap_net_raw+ep), also when owned by nobody" {
	cp old dest
	chmod 755 dest
	setcap cap_net_raw+ep dest
	run getcap dest
	[[ $output == *cap_net_raw=ep* ]] || skip "setcap does not work here: $output"
	run_hs install new dest
	installed_ok
	run getcap dest
	[[ $output == *"dest cap_net_raw=ep"* ]] || fail "capability lost: '$output'"

	# chown clears capabilities: it must come before they are copied.
	chown nobody:nogroup dest
	setcap cap_net_raw+ep dest
	run_hs install new dest
	installed_ok
	[ "$(stat -c %U dest)" = nobody ]
	run getcap dest
	[[ $output == *"dest cap_net_raw=ep"* ]] || fail "capability lost: '$output'"
}

@test "existing DEST keeps its POSIX ACL" {
	cp old dest
	chmod 640 dest
	setfacl -m u:nobody:rw,g:nogroup:r dest
	local before; before=$(getfacl -c dest)
	[[ $before == *user:nobody:rw-* ]] || skip "no ACLs here"
	run_hs install new dest
	installed_ok
	[ "$(getfacl -c dest)" = "$before" ]
	# The ACL works, not just shows: nobody can now write the new file.
	as_nobody sh -c 'echo appended >>dest'
	[ "$(tail -n 1 dest)" = appended ]
}

@test "new DEST takes install(1)'s 0755 whatever SOURCE's mode and the umask, and the caller as owner" {
	chmod 0640 new
	chown nobody:nogroup new
	run --separate-stderr bash -c 'umask 027 && exec "$0" "$@"' \
	    "$HOTSWAP" install new dest
	installed_ok
	[ "$(stat -c '%a %U:%G' dest)" = "755 root:root" ]
	# The same as GNU install's.
	bash -c 'umask 027 && exec install new gnu'
	[ "$(stat -c '%a %U:%G' gnu)" = "755 root:root" ]

	chmod 4755 new
	run --separate-stderr bash -c 'umask 022 && exec "$0" "$@"' \
	    "$HOTSWAP" install new dest2
	[ "$status" -eq 0 ]
	# install(1) does not carry set-user-ID bits from a source either.
	[ "$(stat -c %a dest2)" = 755 ]
}

@test "-m octal and symbolic set the mode, also over an existing DEST" {
	cp old dest
	chmod 4755 dest
	run_hs install -m 0600 new dest
	installed_ok
	[ "$(stat -c %a dest)" = 600 ]

	run_hs install -m u=rwx,go=rx new dest
	installed_ok
	[ "$(stat -c %a dest)" = 755 ]

	run_hs install --mode=u=rwxs,g=x new dest
	installed_ok
	[ "$(stat -c %a dest)" = 4710 ]

	run_hs install -m 640 new fresh
	[ "$status" -eq 0 ]
	[ "$(stat -c %a fresh)" = 640 ]
}

@test "-o and -g set owner and group, by name and by number" {
	cp old dest
	run_hs install -o nobody -g nogroup new dest
	installed_ok
	[ "$(stat -c %U:%G dest)" = nobody:nogroup ]

	run_hs install -o 0 new dest
	installed_ok
	[ "$(stat -c %u:%G dest)" = 0:nogroup ]

	run_hs install -g 0 -m 2755 new dest
	installed_ok
	[ "$(stat -c '%u:%g %a' dest)" = "0:0 2755" ]

	run_hs install --owner=65534 --group=65534 new fresh
	[ "$status" -eq 0 ]
	[ "$(stat -c %u:%g fresh)" = 65534:65534 ]
}

@test "-p keeps SOURCE's mtime (to the nanosecond); without it DEST's mtime is new" {
	touch -d '2001-02-03 04:05:06.123456789' new
	cp old dest
	run_hs install -p new dest
	installed_ok
	[ "$(stat -c %y dest)" = "$(stat -c %y new)" ]

	run_hs install new dest
	installed_ok
	[ "$(stat -c %Y dest)" -gt "$(stat -c %Y new)" ]
}

@test "-C leaves a matching DEST untouched: same inode, same mtime" {
	cp new dest
	chmod 640 dest
	touch -d '2001-02-03 04:05:06' dest
	local before; before=$(stat -c '%i %y %a' dest)

	run_hs install -C -v new dest
	[ "$status" -eq 0 ]
	[ "$output" = "'dest' unchanged" ]
	[ "$(stat -c '%i %y %a' dest)" = "$before" ]

	# Control: the same call without -C does replace it.
	run_hs install new dest
	[ "$status" -eq 0 ]
	[ "$(stat -c '%i %y %a' dest)" != "$before" ]
}

@test "-C replaces DEST when the mode or the content differs" {
	cp new dest
	chmod 644 dest
	local ino; ino=$(stat -c %i dest)

	run_hs install -C -m 600 new dest
	installed_ok
	[ "$(stat -c %a dest)" = 600 ]
	[ "$(stat -c %i dest)" != "$ino" ]

	ino=$(stat -c %i dest)
	printf 'new content\n%.0s' {1..99} >new2
	printf 'new contenT\n' >>new2
	run_hs install -C new2 dest
	[ "$status" -eq 0 ]
	same_content new2 dest
	[ "$(stat -c %i dest)" != "$ino" ]
}

@test "-n changes nothing, and reports what it would do" {
	cp old dest
	local before; before=$(fileid dest)
	run_hs install -n -v new dest
	[ "$status" -eq 0 ]
	[ "$output" = "would install 'new' -> 'dest'" ]
	[ "$(fileid dest)" = "$before" ]
	[ "$(listing .)" = "$(printf '%s\n' dest new old)" ]
}

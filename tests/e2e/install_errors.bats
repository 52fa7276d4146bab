#!/usr/bin/env bats
# install_errors.bats - bad input and hostile conditions.  Each failure
# must give the right exit status (1, or 2 for usage), exactly one line
# on stderr naming the path, leave DEST byte-identical on the same inode,
# and leave nothing behind in DEST's directory.

load common

setup() {
	hs_setup
	echo "old content" >old
	echo "new content" >new
	mkdir d
	cp old d/dest
}

teardown() {
	if [ -n "${HS_SYSCTL_RESTORE:-}" ]; then
		echo "$HS_SYSCTL_RESTORE" >/proc/sys/fs/protected_symlinks
	fi
	hs_teardown
}

# snap DIR DEST: remember DIR's names and DEST's inode, size, checksum.
snap() {
	SNAP_DIR=$1 SNAP_DEST=$2
	SNAP_LIST=$(listing "$1")
	SNAP_ID=$(fileid "$2")
}

# untouched: DEST and its directory are as at the last snap.
untouched() {
	[ "$(fileid "$SNAP_DEST")" = "$SNAP_ID" ] ||
		fail "DEST changed: $SNAP_ID -> $(fileid "$SNAP_DEST")"
	[ "$(listing "$SNAP_DIR")" = "$SNAP_LIST" ] ||
		fail "left behind in $SNAP_DIR: $(diff <(echo "$SNAP_LIST") \
		    <(listing "$SNAP_DIR"))"
}

@test "SOURCE missing: exit 1, one line, DEST untouched" {
	snap d d/dest
	run_hs install nosuch d/dest
	[ "$status" -eq 1 ]
	one_error_line "'nosuch': No such file or directory"
	untouched
}

@test "SOURCE unreadable (0600 root, hotswap run as nobody): exit 1, one line" {
	chmod 600 new
	chown -R nobody:nogroup d
	snap d d/dest
	run_hs_nobody install new d/dest
	[ "$status" -eq 1 ]
	one_error_line "'new': Permission denied"
	untouched
	# Control: with a readable source, nobody can install there.
	chmod 644 new
	run_hs_nobody install new d/dest
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content new d/dest
}

@test "SOURCE a directory: exit 1, one line" {
	mkdir srcdir
	snap d d/dest
	run_hs install srcdir d/dest
	[ "$status" -eq 1 ]
	one_error_line "'srcdir': Is a directory"
	untouched
}

@test "SOURCE and DEST the same file (same name, hard link, symlink): exit 0, a warning, content intact" {
	snap d d/dest
	run_hs install d/dest d/dest
	[ "$status" -eq 0 ]
	one_error_line "are the same file"
	untouched

	ln d/dest hard
	ln -s d/dest soft
	snap d d/dest
	run_hs install hard d/dest
	[ "$status" -eq 0 ]
	one_error_line "'hard' and 'd/dest' are the same file"
	untouched
	run_hs install d/dest soft
	[ "$status" -eq 0 ]
	one_error_line "are the same file"
	untouched
	[ -L soft ]
	same_content old d/dest
}

@test "DEST's directory missing: exit 1 without -D; -D creates it" {
	snap . d/dest
	run_hs install new nodir/sub/dest
	[ "$status" -eq 1 ]
	one_error_line "'nodir/sub/dest': No such file or directory"
	untouched
	[ ! -e nodir ]

	run_hs install -D new nodir/sub/dest
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content new nodir/sub/dest
	[ "$(stat -c %a nodir/sub)" = 755 ]

	run_hs install -D -t "$W/other/dir" new old
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content new other/dir/new
	same_content old other/dir/old
}

@test "DEST's directory not writable (hotswap run as nobody): exit 1, one line" {
	chmod 644 d/dest
	snap d d/dest
	run_hs_nobody install new d/dest
	[ "$status" -eq 1 ]
	one_error_line "'d/dest': Permission denied"
	untouched
}

@test "DEST an existing directory with -T: exit 1, one line, directory untouched" {
	mkdir -p d/sub
	touch d/sub/inside
	snap d/sub d/sub/inside
	run_hs install -T new d/sub
	[ "$status" -eq 1 ]
	one_error_line "'d/sub': Is a directory"
	untouched
	[ -d d/sub ]
}

@test "ENOSPC (2 MiB over a small file on a 1 MiB tmpfs): exit 1, DEST and free space intact" {
	mkdir small
	mount_it -t tmpfs -o size=1m tmpfs small
	echo "small old" >small/dest
	mkfile big 2048
	local free; free=$(stat -f -c %a small)
	snap small small/dest
	run_hs install big small/dest
	[ "$status" -eq 1 ]
	one_error_line "'small/dest': No space left on device"
	untouched
	[ "$(stat -f -c %a small)" = "$free" ] ||
		fail "space not given back: $free -> $(stat -f -c %a small)"
	# Control: a file that fits goes in.
	run_hs install new small/dest
	[ "$status" -eq 0 ]
	same_content new small/dest
}

@test "read-only filesystem (EROFS): exit 1, one line" {
	mkdir ro
	mount_it --bind d ro
	mount -o remount,bind,ro ro
	snap ro ro/dest
	run_hs install new ro/dest
	[ "$status" -eq 1 ]
	one_error_line "'ro/dest': Read-only file system"
	untouched
	[ "$(listing d)" = dest ]
}

@test "DEST is a mount point (EBUSY on rename): exit 1, one line, no temporary left" {
	echo "mounted over" >other
	mount_it --bind other d/dest
	snap d d/dest
	run_hs install new d/dest
	[ "$status" -eq 1 ]
	one_error_line "'d/dest' (a mount point: --in-place writes into it): Device or resource busy"
	untouched
	same_content other d/dest
	umount d/dest
	HS_MOUNTS=()
	same_content old d/dest
	[ "$(listing d)" = dest ]
}

@test "names with spaces, a newline, a tab and non-UTF-8 bytes install fine" {
	local src=$'new file \n\xff\xfe\t.so' dir=$'dir \n\xe9' dst=$'dest \n\xc3(\t'
	mkdir "$dir"
	cp new "$src"
	cp old "$dir/$dst"
	run_hs install -b -v "$src" "$dir/$dst"
	[ "$status" -eq 0 ] || fail "$stderr"
	same_content new "$dir/$dst"
	same_content old "$dir/$dst~"
	[ "${#lines[@]}" -eq 1 ] || fail "-v output is not one line: $output"
	[[ $output == *'dest \n\303(\t'* ]] || fail "not escaped: $output"
	run_hs rollback "$dir/$dst"
	[ "$status" -eq 0 ]
	same_content old "$dir/$dst"
}

@test "an error about a name with a newline is one escaped line" {
	local src=$'no\nsuch source' dir=$'dir \n x'
	mkdir "$dir"
	cp old "$dir/dest"
	snap "$dir" "$dir/dest"
	run_hs install "$src" "$dir/dest"
	[ "$status" -eq 1 ]
	one_error_line "'no\\nsuch source': No such file or directory"
	untouched
	run_hs install new "$dir/missing/dest"
	[ "$status" -eq 1 ]
	one_error_line "'dir \\n x/missing/dest': No such file or directory"
}

@test "an error about a non-UTF-8 name is one escaped line" {
	local src=$'no such \xff\xfe'
	snap d d/dest
	run_hs install "$src" d/dest
	[ "$status" -eq 1 ]
	one_error_line "'no such \\377\\376'"
	untouched
}

@test "an error about a non-UTF-8 name keeps the real error text" {
	local src=$'no such \xff\xfe'
	run_hs install "$src" d/dest
	[ "$status" -eq 1 ]
	one_error_line "'no such \\377\\376': No such file or directory"
	run_hs rollback $'d/\xff'
	[ "$status" -eq 1 ]
	one_error_line "'d/\\377~': No such file or directory"
}

# deep_dir N: make N nested directories with 200-character names under
# $W, cd-ing down so no path handed to mkdir is long; prints the path.
deep_dir() {
	local i name path=$W
	name=$(printf 'x%.0s' {1..200})
	(
		cd "$W" || exit 1
		for ((i = 0; i < $1; i++)); do
			mkdir -p "$name" && cd "$name" || exit 1
		done
	) || return 1
	for ((i = 0; i < $1; i++)); do
		path+=/$name
	done
	echo "$path"
}

@test "a DEST path near PATH_MAX (4000+ bytes) installs; over PATH_MAX is ENAMETOOLONG" {
	local deep dest
	deep=$(deep_dir 19)
	dest=$deep/$(printf 'f%.0s' {1..$((4050 - ${#deep}))})
	[ "${#dest}" -ge 4000 ] && [ "${#dest}" -lt 4096 ]
	run_hs install -b new "$dest"
	[ "$status" -eq 0 ] || fail "$stderr"
	run_hs install -b old "$dest"
	[ "$status" -eq 0 ] || fail "$stderr"
	run_hs rollback "$dest"
	[ "$status" -eq 0 ] || fail "$stderr"
	(cd "$deep" && cmp -s "$W/new" "${dest##*/}")

	# Two more levels: the directory alone is over PATH_MAX, although
	# every name in it is short.  (A DEST whose directory part is under
	# PATH_MAX but whose whole is over still works, as every step is
	# relative to the directory's descriptor.)
	deep=$(deep_dir 21)
	dest=$deep/$(printf 'g%.0s' {1..100})
	[ "${#deep}" -gt 4096 ]
	run_hs install new "$dest"
	[ "$status" -eq 1 ]
	one_error_line "File name too long"
	[[ ${stderr_lines[0]} == *"'$W/xxxx"* ]]
	[ "$(ls -A "$W" | wc -l)" -eq 4 ]	# new old d xxx...
	# Nothing was created down there (cd step by step: cd "$deep" would
	# fail with ENAMETOOLONG itself).
	run bash -c 'cd "$1" || exit 1; for ((i = 0; i < 21; i++)); do
		cd x* || exit 1; done; ls -A' - "$W"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "a name over NAME_MAX is ENAMETOOLONG, one line" {
	local long; long=$(printf 'n%.0s' {1..256})
	snap d d/dest
	run_hs install new "d/$long"
	[ "$status" -eq 1 ]
	one_error_line "File name too long"
	untouched
}

@test "sticky world-writable dir: files and symlinks planted by nobody are never followed or touched" {
	mkdir -m 1777 tmp
	echo "root's secret" >secret
	cp old tmp/dest
	local s i
	# Symlinks to secret and files owned by nobody, under the names a
	# temporary or backup link could take (the real ones are random).
	for s in aaaaaaaaaa AAAAAAAAAA 0000000000 zzzzzzzzzz; do
		as_nobody ln -s "$W/secret" "tmp/.dest.hs-$s"
		as_nobody sh -c "echo planted >'tmp/.dest~.hs-$s'"
	done
	as_nobody ln -s "$W/secret" tmp/dest~.hs-tmp
	as_nobody sh -c 'echo planted >tmp/planted'
	local before secret_id; before=$(cd tmp && ls -lA --time-style=full-iso)
	secret_id=$(fileid secret)

	for i in 1 2 3; do
		run_hs install -b new tmp/dest
		[ "$status" -eq 0 ] || fail "$stderr"
		run_hs install -b old tmp/dest
		[ "$status" -eq 0 ] || fail "$stderr"
	done
	same_content old tmp/dest
	same_content new tmp/dest~
	[ "$(fileid secret)" = "$secret_id" ]
	# Every planted name is as it was; dest and dest~ are the only new ones.
	diff <(echo "$before" | grep -vE '^total| dest$') \
	    <(cd tmp && ls -lA --time-style=full-iso | grep -vE '^total| dest~?$')
}

@test "sticky dir: a symlink planted at DEST by nobody is not followed (protected_symlinks)" {
	[ -w /proc/sys/fs/protected_symlinks ] ||
		skip "cannot set fs.protected_symlinks here"
	HS_SYSCTL_RESTORE=$(cat /proc/sys/fs/protected_symlinks)
	echo 1 >/proc/sys/fs/protected_symlinks
	mkdir -m 1777 tmp
	echo "root's secret" >secret
	as_nobody ln -s "$W/secret" tmp/dest
	local secret_id; secret_id=$(fileid secret)

	# Control: the kernel stops cp from following the planted link.
	run cp new tmp/dest
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	[ "$(fileid secret)" = "$secret_id" ]

	run_hs install new tmp/dest
	[ "$status" -eq 1 ]
	one_error_line "'tmp/dest'"
	[ "$(fileid secret)" = "$secret_id" ]
}

@test "several SOURCEs into a directory, one missing: the others are installed, exit 1" {
	mkdir target
	echo one >one
	echo two >two
	run_hs install one missing two target
	[ "$status" -eq 1 ]
	one_error_line "'missing': No such file or directory"
	same_content one target/one
	same_content two target/two
	[ "$(listing target)" = "$(printf '%s\n' one two)" ]

	run_hs install -t target missing new
	[ "$status" -eq 1 ]
	one_error_line "'missing'"
	same_content new target/new
}

@test "several SOURCEs and a last operand that is not a directory: exit 1" {
	snap d d/dest
	run_hs install old new d/dest
	[ "$status" -eq 1 ]
	one_error_line "'d/dest': Not a directory"
	untouched
}

@test "usage errors exit 2: no operands, one operand, bad -m, bad -o, unknown option, -t with -T" {
	local args
	snap d d/dest
	for args in "install" "install new" "install -m bogus new d/dest" \
	    "install -m 99 new d/dest" "install -o no-such-user-x new d/dest" \
	    "install -g no-such-group-x new d/dest" \
	    "install --bogus new d/dest" "install -Y new d/dest" \
	    "install --backup=bogus new d/dest" "install --backup=n new d/dest" \
	    "install -C -s new d/dest" "install -d -t d x" \
	    "install -t d -t d new" \
	    "install -T -t d new" "rollback" "rollback --bogus d/dest" \
	    "frobnicate"; do
		# shellcheck disable=SC2086
		run_hs $args
		[ "$status" -eq 2 ] || fail "'hotswap $args' exited $status"
		[[ $stderr == *"usage: hotswap install"* ]] ||
			fail "'hotswap $args': no usage: $stderr"
		[ -z "$output" ] || fail "'hotswap $args' wrote on stdout"
	done
	untouched
	run_hs install -m bogus new d/dest
	[ "${stderr_lines[0]}" = "hotswap: invalid mode 'bogus'" ]
	run_hs --help
	[ "$status" -eq 0 ]
	[[ $output == "usage: hotswap install"* ]]
}

#!/usr/bin/env bats
# cli.bats - the command line as a whole: usage text, man page, versions.

bats_require_minimum_version 1.5.0

setup() {
	: "${HOTSWAP:?run through tests/run.sh}" "${HS_TOP:?}"
}

# The SYNOPSIS of hotswap(1), as mandoc renders it, with white space folded.
man_synopsis() {
	mandoc -T ascii "$HS_TOP/man/hotswap.1" | col -b |
	    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \t\n' ' '
}

@test "usage text is word for word the SYNOPSIS of hotswap(1)" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run --separate-stderr "$HOTSWAP" --help
	[ "$status" -eq 0 ]
	usage=$(printf '%s\n' "$output" | sed 's/^usage://' | tr -s ' \t\n' ' ')
	synopsis=$(man_synopsis)
	[ -n "$synopsis" ]
	[ "$usage" = "$synopsis" ] || {
		echo "usage:    $usage"; echo "synopsis: $synopsis"; false; }
}

@test "man pages pass mandoc -T lint without warnings" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run mandoc -T lint -W warning "$HS_TOP"/man/*.[0-9]
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "usage errors exit 2 and print the usage on stderr" {
	for args in "" "bogus" "install" "install onlyone" "install -Y a b" \
	    "install -m 99z a b" "install -o no-such-user-x a b" \
	    "install -g no-such-group-x a b" "rollback" "install -t d -T a b"; do
		run --separate-stderr "$HOTSWAP" $args
		[ "$status" -eq 2 ] || { echo "args: $args -> $status"; false; }
		[[ "$stderr" == *"usage: hotswap"* ]] || { echo "args: $args"; false; }
		[ -z "$output" ]
	done
}

@test "--version and --help go to stdout and exit 0" {
	run --separate-stderr "$HOTSWAP" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^hotswap\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run --separate-stderr "$HOTSWAP" install --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	[ -z "$stderr" ]
}

teardown() {
	[ -z "${FAKE:-}" ] || rm -rf "$FAKE"
}

# A dpkg-query that says PKG is not installed and everything else is, in
# $FAKE/bin, a directory nobody can reach (bats's own temporary one is not).
fake_dpkg() {
	FAKE=$(mktemp -d /tmp/hs-fakedpkg.XXXXXX)
	mkdir "$FAKE/bin"
	cat >"$FAKE/bin/dpkg-query" <<EOS
#!/bin/sh
for last; do :; done
[ "\$last" = "$1" ] && { echo "deinstall ok config-files"; exit 0; }
echo "install ok installed"
EOS
	chmod 755 "$FAKE" "$FAKE/bin" "$FAKE/bin/dpkg-query"
}

@test "deps: not root and a package missing: the exact apt-get line, exit 1, nothing installed" {
	fake_dpkg libcmocka-dev
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups env PATH="$FAKE/bin:$PATH" \
	    "$HS_TOP/build-aux/deps.sh" check
	[ "$status" -eq 1 ]
	[ "$stderr" = "hotswap: missing Debian packages: libcmocka-dev; as root run: apt-get install libcmocka-dev" ]
	for what in build demo; do	# neither needs cmocka
		run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
		    --clear-groups env PATH="$FAKE/bin:$PATH" \
		    "$HS_TOP/build-aux/deps.sh" "$what"
		[ "$status" -eq 0 ]
	done
}

@test "deps: everything installed: silent, exit 0, for every target's list" {
	fake_dpkg none
	for what in build check demo bench fuzz; do
		run --separate-stderr env PATH="$FAKE/bin:$PATH" \
		    "$HS_TOP/build-aux/deps.sh" "$what"
		[ "$status" -eq 0 ]
		[ -z "$stderr$output" ]
	done
	run "$HS_TOP/build-aux/deps.sh" nonsense
	[ "$status" -eq 2 ]
}

# Every make target that compiles, on a machine without libbsd-dev, run
# by a user who cannot install it: the apt-get line and a failure before
# any compiler has run (a copy of the tree nobody owns, nothing built).
@test "deps: make, install, check, demo, bench, fuzz without libbsd-dev: the apt-get line, no compiler error" {
	local t tree
	fake_dpkg libbsd-dev
	tree=$FAKE/tree
	mkdir "$tree"
	cp -r "$HS_TOP"/Makefile "$HS_TOP"/build-aux "$HS_TOP"/src \
	    "$HS_TOP"/include "$HS_TOP"/demo "$HS_TOP"/tests "$tree"/
	rm -rf "$tree/build"
	chown -R nobody "$tree"
	for t in all install check demo bench fuzz; do
		run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
		    --clear-groups env PATH="$FAKE/bin:$PATH" \
		    make -s -C "$tree" DESTDIR="$tree/dest" $t
		echo "make $t: status $status, stderr: $stderr" >&2
		[ "$status" -ne 0 ]
		[[ "$stderr" == *"hotswap: missing Debian packages: libbsd-dev; as root run: apt-get install libbsd-dev"* ]]
		[[ "$stderr" != *"error:"* ]]
		[[ "$stderr" != *"fatal"* ]]
		[ -z "$(find "$tree" -name '*.o')" ]
		[ ! -e "$tree/hotswap" ] && [ ! -e "$tree/dest" ]
	done
}

#!/usr/bin/env bats
# packaging.bats - make install / uninstall, and a program built against
# the installed library through pkg-config.

bats_require_minimum_version 1.5.0

setup() {
	: "${HS_TOP:?run through tests/run.sh}"
	D=$(mktemp -d)
}

teardown() {
	rm -rf "$D"
}

do_install() {
	run make -s -C "$HS_TOP" install DESTDIR="$D" PREFIX=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "make install puts every file under DESTDIR, with soname and modes" {
	do_install
	for f in bin/hotswap lib/libhotswap.a lib/libhotswap.so.0.1.0 \
	    include/hotswap.h lib/pkgconfig/hotswap.pc \
	    share/man/man1/hotswap.1 share/man/man3/libhotswap.3 \
	    share/hotswap/stale-hook; do
		[ -f "$D/usr/$f" ] || { echo "missing $f"; false; }
	done
	[ "$(readlink "$D/usr/lib/libhotswap.so.0")" = libhotswap.so.0.1.0 ]
	[ "$(readlink "$D/usr/lib/libhotswap.so")" = libhotswap.so.0.1.0 ]
	run readelf -d "$D/usr/lib/libhotswap.so.0.1.0"
	[[ "$output" == *"(SONAME)"*"[libhotswap.so.0]"* ]]
	[ "$(stat -c %a "$D/usr/bin/hotswap")" = 755 ]
	[ "$(stat -c %a "$D/usr/include/hotswap.h")" = 644 ]
	grep -qx 'libdir=/usr/lib' "$D/usr/lib/pkgconfig/hotswap.pc"
	run "$D/usr/bin/hotswap" --version
	[ "$status" -eq 0 ]
	# Nothing was installed outside DESTDIR's prefix.
	[ "$(ls "$D")" = usr ]
}

# A program that replaces a file through the installed library.
write_prog() {
	cat >"$D/prog.c" <<'PROG'
#include <err.h>
#include <stdio.h>
#include <hotswap.h>

int
main(int argc, char *argv[])
{
	struct hs_install_opts opts;
	struct hs_result res;

	if (argc != 3)
		return 2;
	hs_install_opts_init(&opts);
	if (hs_install(argv[1], argv[2], &opts, &res) == -1)
		err(1, "%s '%s'", res.step, res.path);
	printf("replaced by %s\n", hs_copy_method_name(res.method));
	return 0;
}
PROG
	echo "new content" >"$D/src"
	echo "old content" >"$D/dst"
}

@test "a program builds with pkg-config against the installed library and runs" {
	# Installed for real under a prefix of our own (no DESTDIR), so the
	# .pc file names the paths as they are; libbsd's .pc stays visible.
	run make -s -C "$HS_TOP" install PREFIX="$D/usr"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	write_prog
	export PKG_CONFIG_PATH="$D/usr/lib/pkgconfig"
	run pkg-config --cflags --libs hotswap
	[ "$status" -eq 0 ]
	[[ "$output" == *"-I$D/usr/include"* && "$output" == *"-lhotswap"* ]]
	flags=$output
	run cc -o "$D/prog" "$D/prog.c" $flags
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	# It really uses the installed shared library.
	run env LD_LIBRARY_PATH="$D/usr/lib" ldd "$D/prog"
	[[ "$output" == *"libhotswap.so.0 => $D/usr/lib/libhotswap.so.0"* ]]
	run env LD_LIBRARY_PATH="$D/usr/lib" "$D/prog" "$D/src" "$D/dst"
	[ "$status" -eq 0 ]
	[[ "$output" == "replaced by "* ]]
	[ "$(cat "$D/dst")" = "new content" ]
	# And statically, with the private dependencies pkg-config names.
	run pkg-config --static --libs hotswap
	[[ "$output" == *"-lbsd"* ]]
	run cc -o "$D/prog-static" "$D/prog.c" -I"$D/usr/include" \
	    "$D/usr/lib/libhotswap.a" $(pkg-config --static --libs-only-l hotswap | sed 's/-lhotswap//')
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	echo "old content" >"$D/dst"
	run "$D/prog-static" "$D/src" "$D/dst"
	[ "$status" -eq 0 ]
	[ "$(cat "$D/dst")" = "new content" ]
}

@test "make uninstall removes every file make install put there" {
	do_install
	run make -s -C "$HS_TOP" uninstall DESTDIR="$D" PREFIX=/usr
	[ "$status" -eq 0 ]
	run find "$D" -type f -o -type l
	[ -z "$output" ] || { echo "left: $output"; false; }
}

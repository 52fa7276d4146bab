#!/usr/bin/env bats
# install_gnu.bats - hotswap install as a drop-in for GNU install(1) in
# real build tools: an automake + libtool project generated here, built
# once (setup_file), installed by `make install` and `make install-strip`
# with each install program and compared file by file; a PKGBUILD-style
# package(); and `make install` replacing the project's shared library
# under a process that maps it, with GNU install and cp as the controls.

load common

# The project: a libtool library (the victim library of the helpers, so
# a victim can map it), a program linked to it, a header, a script kept
# 0644 in the source (install(1) makes it 0755), data, a nested data
# file, a man page and an install -d -m 750 hook.
make_project() {
	local p=$1
	mkdir -p "$p/sub/dir"
	cat >"$p/configure.ac" <<-'EOF'
	AC_INIT([demo], [1.0])
	AM_INIT_AUTOMAKE([foreign -Wno-portability])
	AC_PROG_CC
	AM_PROG_AR
	LT_INIT([disable-static])
	AC_CONFIG_FILES([Makefile])
	AC_OUTPUT
	EOF
	cat >"$p/Makefile.am" <<-'EOF'
	lib_LTLIBRARIES = libvictim.la
	libvictim_la_SOURCES = victim.c
	libvictim_la_LDFLAGS = -version-info 0:0:0
	include_HEADERS = demo.h
	bin_PROGRAMS = demoprog
	demoprog_SOURCES = demoprog.c
	demoprog_LDADD = libvictim.la
	dist_bin_SCRIPTS = demo-script
	dist_data_DATA = demo.txt
	nobase_dist_pkgdata_DATA = sub/dir/deep.txt
	dist_man1_MANS = demo.1
	install-data-local:
	EOF
	# (the recipe's tab would go with the heredoc's <<-)
	printf '\t%s\n' '$(INSTALL) -d -m 750 $(DESTDIR)$(localstatedir)/lib/demo' \
	    >>"$p/Makefile.am"
	cp "$HS_TOP/tests/helpers/libvictim.h" "$p/"
	printf '#include "libvictim.h"\nVICTIM_LIBRARY(1)\n' >"$p/victim.c"
	echo 'int victim_version(void);' >"$p/demo.h"
	printf '%s\n' '#include <stdio.h>' '#include "demo.h"' \
	    'int main(void) { printf("%d\n", victim_version()); return 0; }' \
	    >"$p/demoprog.c"
	printf '#!/bin/sh\necho demo\n' >"$p/demo-script"
	chmod 644 "$p/demo-script"
	echo data >"$p/demo.txt"
	echo deep >"$p/sub/dir/deep.txt"
	printf '.TH DEMO 1\n' >"$p/demo.1"
}

setup_file() {
	local missing=
	for t in autoreconf automake libtoolize strip readelf; do
		command -v "$t" >/dev/null || missing="$missing $t"
	done
	if [ -n "$missing" ]; then
		export HS_GNU_SKIP="not installed:$missing (build-aux/deps.sh check)"
		return 0
	fi
	P=$BATS_FILE_TMPDIR/p1
	make_project "$P"
	(cd "$P" && autoreconf -i >/dev/null 2>&1 &&
	    ./configure -q --prefix=/usr --disable-dependency-tracking \
		>/dev/null && make -s >/dev/null 2>&1) ||
		{ echo "the automake project does not build" >&2; return 1; }
	# Version 2: a small library without the padding, so that v1's
	# victim_version() is far beyond its end of file.
	cp -a "$P" "$BATS_FILE_TMPDIR/p2"
	printf '%s\n' 'int victim_version(void) { return 2; }' \
	    'int victim_padding(int x) { return x; }' \
	    >"$BATS_FILE_TMPDIR/p2/victim.c"
	(cd "$BATS_FILE_TMPDIR/p2" && make -s >/dev/null 2>&1) ||
		{ echo "version 2 does not build" >&2; return 1; }
	export P P2=$BATS_FILE_TMPDIR/p2
}

setup() {
	[ -z "${HS_GNU_SKIP:-}" ] || skip "$HS_GNU_SKIP"
	hs_setup
	# libtool takes the first word of INSTALL as the program: one word.
	HSI=$W/hsinstall
	printf '#!/bin/sh\nexec "%s" install "$@"\n' "$HOTSWAP" >"$HSI"
	chmod 755 "$HSI"
}

teardown() {
	hs_teardown
}

# tree_of DIR: every entry below DIR: type, mode, owner, group, and the
# content's hash or the link's target.
tree_of() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %u %g %l\n' |
	    LC_ALL=C sort | while read -r p y m u g l; do
		case $y in
		f) l=$(sha256sum <"$p" | cut -c1-16) ;;
		esac
		printf '%s %s %s %s %s %s\n' "$p" "$y" "$m" "$u" "$g" "$l"
	done)
}

# same_tree A B: fail, showing the difference, unless equal.
same_tree() {
	diff <(tree_of "$1") <(tree_of "$2") >&2 ||
		fail "the trees $1 and $2 differ"
}

@test "make install INSTALL=hotswap installs what GNU install does, file by file" {
	(cd "$P" && make -s install DESTDIR="$W/gnu") >/dev/null 2>&1
	run make -s -C "$P" install DESTDIR="$W/hs" INSTALL="$HSI"
	[ "$status" -eq 0 ] || fail "make install failed: $output"
	same_tree "$W/gnu" "$W/hs"
	[ "$(stat -c %a "$W/hs/usr/bin/demo-script")" = 755 ]
	[ "$(stat -c %a "$W/hs/usr/var/lib/demo")" = 750 ]
	[ -L "$W/hs/usr/lib/libvictim.so.0" ]
	# Installing again over the tree is a replacement of every file.
	run make -s -C "$P" install DESTDIR="$W/hs" INSTALL="$HSI"
	[ "$status" -eq 0 ] || fail "make install again failed: $output"
	same_tree "$W/gnu" "$W/hs"
}

@test "make install with INSTALL='hotswap install' as two words, outside libtool" {
	(cd "$P" && make -s install-dist_binSCRIPTS install-dist_dataDATA \
	    install-includeHEADERS install-nobase_dist_pkgdataDATA \
	    install-data-local DESTDIR="$W/gnu") >/dev/null 2>&1
	run make -s -C "$P" install-dist_binSCRIPTS install-dist_dataDATA \
	    install-includeHEADERS install-nobase_dist_pkgdataDATA \
	    install-data-local DESTDIR="$W/hs" INSTALL="$HOTSWAP install"
	[ "$status" -eq 0 ] || fail "make failed: $output"
	[ -f "$W/hs/usr/share/demo/sub/dir/deep.txt" ]
	same_tree "$W/gnu" "$W/hs"
}

@test "make install-strip with hotswap install -s matches GNU install -s, and strips" {
	(cd "$P" && make -s install-strip DESTDIR="$W/gnu" \
	    INSTALL_STRIP_PROGRAM="/usr/bin/install -c -s") >/dev/null 2>&1
	run make -s -C "$P" install-strip DESTDIR="$W/hs" INSTALL="$HSI" \
	    INSTALL_STRIP_PROGRAM="$HSI -c -s"
	[ "$status" -eq 0 ] || fail "make install-strip failed: $output"
	same_tree "$W/gnu" "$W/hs"
	readelf -S "$P/.libs/demoprog" | grep -q '\.symtab' ||
		fail "the built program has no symbol table to strip"
	! readelf -S "$W/hs/usr/bin/demoprog" | grep -q '\.symtab' ||
		fail "hotswap install -s left the symbol table"
	[ -z "$(find "$W/hs" -name '.*hs-*')" ] || fail "temporaries left"
}

# PKGBUILD's package(): install -Dm755, -Dm644 -t, -d, with the install
# of the test's choice as "install".
package() {
	install -Dm755 "$P/.libs/demoprog" "$pkgdir/usr/bin/demoprog"
	install -Dm755 "$P/.libs/libvictim.so.0.0.0" \
	    "$pkgdir/usr/lib/libvictim.so.0.0.0"
	install -Dm644 -t "$pkgdir/usr/share/doc/demo" "$P/demo.txt" \
	    "$P/sub/dir/deep.txt"
	install -Dm644 "$P/demo.h" "$pkgdir/usr/include/demo.h"
	install -dm755 "$pkgdir/etc/demo"
	install -d -m 700 "$pkgdir/var/lib/demo/private"
	install -Dm755 -s "$P/.libs/demoprog" "$pkgdir/usr/bin/demoprog-s"
}

@test "a PKGBUILD-style package() with hotswap install builds the same package as GNU install" {
	pkgdir=$W/gnu package
	install() { "$HOTSWAP" install "$@"; }
	pkgdir=$W/hs package
	unset -f install
	same_tree "$W/gnu" "$W/hs"
	[ "$(stat -c %a "$W/hs/var/lib/demo/private")" = 700 ]
	cmp -s "$W/gnu/usr/bin/demoprog-s" "$W/hs/usr/bin/demoprog-s"
}

# Install v1 with the project's own install into $W/live, and start a
# victim on its library by the soname link.
live_v1() {
	(cd "$P" && make -s install DESTDIR="$W/live") >/dev/null 2>&1
	start_victim "$W/live/usr/lib/libvictim.so.0"
	[ "$VREADY" -eq 1 ] || fail "victim runs version $VREADY"
	LIB=$W/live/usr/lib/libvictim.so.0.0.0
	mkdir "$W/pause"
	mkfifo "$W/pause/paused" "$W/pause/resume"
}

# pause_env: the environment of a make held after it unlinks $LIB.
pause_env() {
	echo HS_PAUSE_NAME=libvictim.so.0.0.0 HS_PAUSE_DIR="$W/pause" \
	    LD_PRELOAD="$HS_HELPERS/libpauseunlink.so" \
	    ASAN_OPTIONS=verify_asan_link_order=0
}

@test "make install of v2 under a victim that maps v1: it lives, DEST is never unlinked, new processes get v2" {
	live_v1
	local pfd rfd line
	# Both ends held here, "go" already waiting: a hold never blocks,
	# and one would leave "paused" behind.
	exec {pfd}<>"$W/pause/paused" {rfd}<>"$W/pause/resume"
	echo go >&"$rfd"
	run env $(pause_env) make -s -C "$P2" install DESTDIR="$W/live" \
	    INSTALL="$HSI"
	[ "$status" -eq 0 ] || fail "make install failed: $output"
	! read -r -t 0 -u "$pfd" || fail "DEST was unlinked: $line"
	victim_alive
	[ "$VALIVE" -eq 1 ] || fail "the victim now runs $VALIVE"
	kill -TERM "$VPID"
	victim_status
	[ "$VSTATUS" -eq 0 ] || fail "the victim ended with $VSTATUS"
	start_victim "$W/live/usr/lib/libvictim.so.0"
	[ "$VREADY" -eq 2 ] || fail "a new victim runs $VREADY"
}

@test "make install CONTROL with GNU install: held after its unlink, DEST is missing and a process starting then cannot load it" {
	live_v1
	local mpid st=0 pfd line
	env $(pause_env) make -s -C "$P2" install DESTDIR="$W/live" \
	    >"$W/make.log" 2>&1 3>&- &
	mpid=$!
	track "$mpid"
	exec {pfd}<"$W/pause/paused"
	read -r -t "$HS_TIMEOUT" -u "$pfd" line ||
		fail "GNU install never unlinked the library"
	[ "$line" = paused ]
	[ ! -e "$LIB" ] || fail "the library is there during the window"
	run "$HS_HELPERS/victim" "$W/live/usr/lib/libvictim.so.0"
	[ "$status" -eq 1 ] || fail "a victim started in the window: $status"
	[[ $output == *"No such file"* ]] || fail "victim said: $output"
	echo go >"$W/pause/resume"
	wait "$mpid" || st=$?
	[ "$st" -eq 0 ] || fail "make install failed: $(cat "$W/make.log")"
	victim_alive
	[ "$VALIVE" -eq 1 ]
}

@test "make install CONTROL with INSTALL=cp: the victim mapping the library dies of SIGBUS" {
	live_v1
	run make -s -C "$P2" install-libLTLIBRARIES DESTDIR="$W/live" \
	    INSTALL=cp
	[ "$status" -eq 0 ] || fail "make install with cp failed: $output"
	victim_status
	[ "$VSTATUS" -eq $((128 + 7)) ] ||
		fail "victim ended with status $VSTATUS, not 135 (SIGBUS)"
}

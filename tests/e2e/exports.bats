#!/usr/bin/env bats
# exports.bats - libhotswap.so exports exactly the API of
# include/hotswap.h (src/libhotswap.map), and make check's check-exports
# (build-aux/check-exports.sh) can tell when it does not.
#
# The controls: the same objects linked without the version script (as
# the library was before it) export the internals, and the check names
# one; a header that declares one function more than the library defines
# fails it too.  A program linked with -lhotswap reaches the API and
# cannot link against an internal function.

load common

setup() {
	hs_setup
	LIB=$HS_TOP/libhotswap.so.0.1.0
	[ -r "$LIB" ] && [ -r "$HS_TOP/libhotswap.a" ] ||
		fail "no $LIB or libhotswap.a: run make check-build"
	CHECK=$HS_TOP/build-aux/check-exports.sh
	HDR=$HS_TOP/include/hotswap.h
}

teardown() {
	hs_teardown
}

@test "exports: the library's exports are the header's declarations" {
	run "$CHECK" "$HDR" "$LIB"
	[ "$status" -eq 0 ] || fail "check-exports: $output"
	[ -z "$output" ] || fail "check-exports said: $output"
	nm -D --defined-only "$LIB" >syms
	grep -q ' T hs_install@@HOTSWAP_0$' syms || fail "$(cat syms)"
	! grep -q ' hs_tmp_create' syms || fail "an internal is exported"
}

@test "exports: control: linked without the version script, the internals leak and the check says so" {
	cc -shared -o leaky.so -Wl,--whole-archive "$HS_TOP/libhotswap.a" \
	    -Wl,--no-whole-archive -lbsd -luring -ldl
	nm -D --defined-only leaky.so | grep -q ' T hs_tmp_create$' ||
		fail "the control library does not export hs_tmp_create"
	run "$CHECK" "$HDR" leaky.so
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ $output == *"'leaky.so' exports 'hs_tmp_create', which '$HDR' does not declare"* ]] ||
		fail "$output"
}

@test "exports: control: a header declaration the library does not export fails the check" {
	# One more function, declared on two lines, and one datum.
	sed 's|^#endif /\* HOTSWAP_H \*/$|int\nhs_not_there(int,\n    int);\nextern const char *hs_no_data;\n&|' \
	    "$HDR" >hotswap.h
	grep -q '^hs_not_there' hotswap.h || fail "the header was not edited"
	run "$CHECK" hotswap.h "$LIB"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ $output == *"'hotswap.h' declares 'hs_not_there', which '$LIB' does not export"* ]] ||
		fail "$output"
	[[ $output == *"'hotswap.h' declares 'hs_no_data', which '$LIB' does not export"* ]] ||
		fail "$output"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ] || fail "$output"
}

@test "exports: a program linked with -lhotswap uses the API, and cannot link an internal" {
	cat >api.c <<-'C'
	#include <stdio.h>
	#include "hotswap.h"
	int main(void) { puts(hs_copy_method_name(HS_COPY_RANGE)); return 0; }
	C
	cat >internal.c <<-'C'
	void hs_sys_reset(void);
	int main(void) { hs_sys_reset(); return 0; }
	C
	cc -I"$HS_TOP/include" -o api api.c -L"$HS_TOP" -lhotswap
	run env LD_LIBRARY_PATH="$HS_TOP" ./api
	[ "$status" -eq 0 ] && [ -n "$output" ] || fail "api: $status $output"
	# The control: the same call links against the static library.
	cc -o internal_static internal.c "$HS_TOP/libhotswap.a" -lbsd -luring -ldl
	run cc -o internal internal.c -L"$HS_TOP" -lhotswap
	[ "$status" -ne 0 ] || fail "an internal function linked"
	[[ $output == *"undefined reference to"*"hs_sys_reset"* ]] || fail "$output"
}

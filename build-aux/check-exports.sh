#!/bin/sh
# check-exports.sh HEADER LIBRARY - the dynamic symbols LIBRARY defines
# (nm -D --defined-only) are exactly the functions and data HEADER
# declares: a declaration not exported, or an export not declared (an
# internal function leaked), is named on standard error and the status
# is 1.  make check runs it on include/hotswap.h and libhotswap.so
# (check-exports); tests/e2e/exports.bats gives it the controls.
#
# The header is read as the compiler reads it: $CC -E, then only the
# lines from HEADER itself (not what it includes), no comments, macros
# expanded, C's view (no extern "C").  A declaration is a statement at
# brace depth 0: a function is the name before its first '(', data an
# extern statement's last name.  Typedefs, structures and enumerations
# declare no symbol.

set -eu
[ $# -eq 2 ] || { echo "usage: check-exports.sh header library" >&2; exit 2; }
hdr=$1 lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

${CC:-cc} -E -D_GNU_SOURCE "$hdr" | awk -v hdr="$hdr" '
	/^# [0-9]+ "/ { f = $3; gsub(/"/, "", f); mine = f == hdr; next }
	mine { text = text " " $0 }
	END {
		depth = 0; st = ""
		for (i = 1; i <= length(text); i++) {
			c = substr(text, i, 1)
			if (c == "{") depth++
			else if (c == "}") depth--
			else if (c == ";" && depth == 0) { decl(st); st = ""; continue }
			if (depth == 0 && c != "}") st = st c
		}
	}
	function decl(s,   n, w) {
		sub(/^[ \t]+/, "", s)
		if (s ~ /^typedef[ \t]/) return
		if ((n = index(s, "(")) > 0) {
			s = substr(s, 1, n - 1)
			sub(/[ \t]+$/, "", s)
			if (match(s, /[A-Za-z_][A-Za-z0-9_]*$/))
				print substr(s, RSTART, RLENGTH)
		} else if (s ~ /^extern[ \t]/) {
			sub(/[ \t]*(\[[^]]*\][ \t]*)*$/, "", s)
			if (match(s, /[A-Za-z_][A-Za-z0-9_]*$/))
				print substr(s, RSTART, RLENGTH)
		}
	}' | LC_ALL=C sort -u >"$tmp/declared"

nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    LC_ALL=C sort -u >"$tmp/exported"

if [ "$(wc -l <"$tmp/declared")" -lt 1 ]; then
	echo "check-exports: no declarations read from '$hdr'" >&2
	exit 1
fi
bad=0
for s in $(LC_ALL=C comm -13 "$tmp/declared" "$tmp/exported"); do
	echo "check-exports: '$lib' exports '$s', which '$hdr' does not" \
	    "declare" >&2
	bad=1
done
for s in $(LC_ALL=C comm -23 "$tmp/declared" "$tmp/exported"); do
	echo "check-exports: '$hdr' declares '$s', which '$lib' does not" \
	    "export" >&2
	bad=1
done
exit $bad

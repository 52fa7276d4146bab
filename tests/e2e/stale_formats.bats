#!/usr/bin/env bats
# stale_formats.bats - hotswap stale's formats against real processes and
# boot directories made here (HOTSWAP_BOOT_DIR): needrestart's batch
# lines, read by a reader written to its README.batch.md; the Nagios
# plugin's exit codes and performance data; OpenMetrics text checked
# line by line against the specification's grammar; the JSON schema; the
# kernel verdict in each.

load stale_common

setup() {
	stale_perl_setup
	BOOT=$W/boot
	mkdir "$BOOT"
	REL=$(uname -r)
}

teardown() {
	stale_teardown
}

# image NAME [HEADER]: a 1 MB kernel image in $BOOT, with HEADER as its
# x86 boot header's version string if given.
image() {
	perl -e 'my ($f, $s) = @ARGV; my $b = "\0" x 1000000;
	    if (defined $s) { substr($b, 0x202, 4) = "HdrS";
	    substr($b, 0x20e, 2) = pack("v", 0x1000);
	    substr($b, 0x1200, length($s) + 1) = "$s\0"; }
	    open(my $o, ">", $f) or die; print $o $b;' "$BOOT/$1" ${2+"$2"}
}

# A stale process of no class: holds a file that is then deleted.
stale_proc() {
	echo x >held
	start_ready perl -e "$HOLD" "$W/held"
	rm held
}

# read_batch: check $output line by line against needrestart's batch
# format; sets KSTA, KCUR, KEXP and NSVC, NCONT, NSESS.
read_batch() {
	local line n=0
	KSTA= KCUR= KEXP= NSVC=0 NCONT=0 NSESS=0
	while IFS= read -r line; do
		n=$((n + 1))
		[[ $line =~ ^NEEDRESTART-(VER|KCUR|KEXP|KSTA|SVC|CONT|SESS):\ (.+)$ ]] ||
			fail "line $n is not a batch line: '$line'"
		case ${BASH_REMATCH[1]} in
		VER) [ "$n" -eq 1 ] || fail "VER is line $n" ;;
		KCUR) KCUR=${BASH_REMATCH[2]} ;;
		KEXP) KEXP=${BASH_REMATCH[2]} ;;
		KSTA) KSTA=${BASH_REMATCH[2]}
		      [[ $KSTA =~ ^[0-3]$ ]] || fail "KSTA '$KSTA'" ;;
		SVC) NSVC=$((NSVC + 1)) ;;
		CONT) NCONT=$((NCONT + 1)) ;;
		SESS) [[ ${BASH_REMATCH[2]} == *" @ "* ]] ||
			fail "SESS without 'user @ session': '$line'"
		      NSESS=$((NSESS + 1)) ;;
		esac
	done <<<"$output"
}

@test "formats: batch lines as needrestart's; the kernel statuses 1, 3, 2, 0" {
	image "vmlinuz-$REL" "$REL (builder@host) $(uname -v)"
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale --format batch
	read_batch
	[ "$KSTA" = 1 ] && [ "$KCUR" = "$REL" ] && [ "$KEXP" = "$REL" ] ||
		fail "current: $output"

	image vmlinuz-999.0.0
	image vmlinuz-999.0.0-rc9
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale --format batch
	[ "$status" -eq 0 ] || fail "a reboot is needed, status $status"
	read_batch
	[ "$KSTA" = 3 ] && [ "$KEXP" = 999.0.0 ] || fail "newer: $output"

	rm "$BOOT"/vmlinuz-999*
	image "vmlinuz-$REL" "$REL (builder@host) #99 rebuilt"
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale --format batch
	read_batch
	[ "$KSTA" = 2 ] || fail "rebuilt: $output"

	# With -p, the kernel is not part of the question.
	stale_proc
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale --format batch -p "$RPID"
	read_batch
	[ -z "$KSTA" ] && [ "$output" = "NEEDRESTART-VER: ${output#*: }" ] ||
		fail "-p: $output"
}

@test "formats: human and JSON say the kernel needs a reboot, and each process's class" {
	image "vmlinuz-$REL" "$REL (builder@host) $(uname -v)"
	image vmlinuz-999.0.0
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "kernel $REL: reboot, 999.0.0 is installed ('vmlinuz-999.0.0')" ] ||
		fail "kernel line: ${lines[-1]}"

	stale_proc
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale --json
	[ "$status" -eq 0 ]
	jq -e --arg rel "$REL" --argjson pid "$RPID" '
	    (.kernel | .status == 3 and .verdict == "version" and
	     .running == $rel and .expected == "999.0.0" and
	     .image == "vmlinuz-999.0.0" and .images == 2) and
	    (.processes | type == "array" and all(.[];
	        (.pid | type == "number") and (.comm | type == "string") and
	        (.class | IN("service", "session", "user", "container",
	                     "pid1", "other")) and
	        (.files | length > 0) and all(.files[];
	            (.why | IN("replaced", "deleted")) and
	            (.path | type == "string") and (.kind | type == "array") and
	            (.maps | type == "array") and (.fds | type == "array")))) and
	    ([.processes[] | select(.pid == $pid)][0] |
	     .class == "other" and .files[0].kind == ["fd"] and
	     (.files[0].fds | length) == 1) and
	    (.inspected | type == "number") and (.unresolved | type == "number")
	    ' <<<"$output" >/dev/null || fail "schema: $output"

	# Without a boot directory to read: unknown, and no line.
	HOTSWAP_BOOT_DIR=$W/none run_hs stale --json -p "$RPID"
	[ "$(jq -c .kernel <<<"$output")" = null ]
	HOTSWAP_BOOT_DIR=$W/none run_hs stale --json
	[ "$(jq -c '.kernel.status' <<<"$output")" = 0 ]
}

# perfdata: every item of the text after '|' on line 1 is
# 'label'=value[UOM];[warn];[crit];[min];[max] (Nagios plugin guidelines).
perfdata_ok() {
	local item
	for item in ${lines[0]#*|}; do
		[[ $item =~ ^[A-Za-z]+=[0-9]+(;[0-9]*){0,4}$ ]] ||
			fail "perfdata item '$item' in: ${lines[0]}"
	done
}

@test "formats: Nagios plugin exit codes 0, 1, 2, 3 with one status line and perfdata" {
	echo ok >ok
	start_ready perl -e "$HOLD" "$W/ok"
	local ok=$RPID
	run_hs stale --format nagios -p "$ok"
	[ "$status" -eq 0 ] && [[ ${lines[0]} == "OK - "* ]] ||
		fail "$status: $output"
	perfdata_ok

	stale_proc
	run_hs stale --format nagios -p "$RPID,$ok"
	[ "$status" -eq 1 ] && [[ ${lines[0]} == "WARN - "* ]] ||
		fail "$status: $output"
	[[ ${lines[0]} == *"Processes=1;;;0" ]] || fail "${lines[0]}"
	perfdata_ok

	image "vmlinuz-$REL" "$REL (builder@host) $(uname -v)"
	image vmlinuz-999.0.0
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale --format nagios
	[ "$status" -eq 2 ] && [[ ${lines[0]} == "CRIT - Kernel: $REL!=999.0.0 (!!),"* ]] ||
		fail "$status: $output"
	[[ ${lines[0]} == *"|Kernel=2;0;;0;2 "* ]] || fail "${lines[0]}"
	perfdata_ok

	run_hs stale --format nagios --no-such-option
	[ "$status" -eq 3 ] && [[ ${lines[0]} == "UNKN - "* ]] ||
		fail "$status: $output"
}

@test "formats: OpenMetrics text follows the grammar, families whole, ends with # EOF" {
	image "vmlinuz-$REL" "$REL (builder@host) $(uname -v)"
	image vmlinuz-999.0.0
	stale_proc
	HOTSWAP_BOOT_DIR=$BOOT run_hs stale --format openmetrics
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "# EOF" ] || fail "no # EOF last: $output"
	# The OpenMetrics 1.0 ABNF, for what is used here: metadata, then
	# the samples of that family; a family's name is never seen again.
	printf '%s\n' "$output" | awk '
	    function bad(why) { print "line " NR ": " why ": " $0; err = 1; exit 1 }
	    /^# EOF$/ { eof = NR; next }
	    eof { bad("after # EOF") }
	    /^# TYPE / {
		if ($0 !~ /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (gauge|counter|info|stateset|unknown)$/)
			bad("TYPE")
		if ($3 in seen) bad("family twice")
		seen[$3] = 1; fam = $3; type = $4; next }
	    /^# HELP / { if ($3 != fam) bad("HELP of another family"); next }
	    /^#/ { bad("comment") }
	    {
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? -?[0-9]+(\.[0-9]+)?$/)
			bad("sample")
		name = $0; sub(/[{ ].*/, "", name)
		if (type == "info" && name != fam "_info") bad("info sample name")
		if (type == "gauge" && name != fam) bad("gauge sample name")
	    }
	    END { if (!err && !eof) { print "no # EOF"; exit 1 } }' ||
		fail "not OpenMetrics: $output"
	[[ $output == *'hotswap_kernel_status 3'* ]] || fail "$output"
	[[ $output == *"hotswap_kernel_info{running=\"$REL\",expected=\"999.0.0\"} 1"* ]] ||
		fail "$output"
	local other
	other=$(printf '%s\n' "$output" |
	    sed -n 's/^hotswap_stale_processes{class="other"} //p')
	[ "$other" -ge 1 ] || fail "the stale process is not counted: $output"
}

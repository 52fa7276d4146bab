#!/usr/bin/env bats
# stale_attack.bats - what a scanned process chooses cannot make hotswap
# stale (run as root) execute anything or print anything raw:
#  - an environment with PERL5LIB/PERL5OPT and PYTHONPATH pointing at
#    modules that record every interpreter that loads them (the root
#    escalations of needrestart, CVE-2024-48990/48992, came from running
#    an interpreter with a scanned process's environment).  The control
#    runs the interpreter that way and is caught.  Ruby is not installed
#    here, so RUBYLIB is set but no ruby process is scanned;
#  - a command line and an executable that change under the scan;
#  - script and file names with terminal escapes and newlines.
# The attacker runs as nobody where the interpreter allows it (perl);
# python3 here may live under /root (pyenv), out of nobody's reach, so
# the Python victim runs as root with the same hostile environment.

load stale_common

setup() {
	stale_setup
	command -v perl >/dev/null || skip "perl is not installed"
	mkdir -p nb/evil
	chown nobody:nogroup nb
	# Each interpreter that loads these writes pwned.PID: the victim's
	# own start is expected (removed below), anything later is not.
	printf 'package hsevil; open(my $f, ">", "%s/pwned.$$"); 1;\n' \
	    "$W/nb" >nb/evil/hsevil.pm
	printf 'import os\nopen("%s/pwned.%%d" %% os.getpid(), "w").close()\n' \
	    "$W/nb" >nb/evil/sitecustomize.py
	chmod -R a+rX nb/evil
	chmod a+rwx nb
	ENVS=(PERL5LIB="$W/nb/evil" PERL5OPT=-Mhsevil PYTHONPATH="$W/nb/evil"
	    RUBYLIB="$W/nb/evil" RUBYOPT=-rhsevil)
}

teardown() {
	stale_teardown
}

# pwned: the pwned.* files, or nothing.
pwned() {
	ls "$W/nb" | grep '^pwned\.' || true
}

@test "attack: PERL5LIB, PERL5OPT, PYTHONPATH in a scanned process: nothing is run; the control that runs them is caught" {
	printf '$| = 1; print "ready\\n"; sleep;\n' >nb/s.pl
	chmod 644 nb/s.pl
	start_ready env "${ENVS[@]}" setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups -- perl "$W/nb/s.pl"
	local pl=$RPID
	local py=
	if find_python; then
		printf 'import signal\nprint("ready", flush=True)\nsignal.pause()\n' >nb/s.py
		start_ready env "${ENVS[@]}" "$PY" "$W/nb/s.py"
		py=$RPID
	fi
	[ -n "$(pwned)" ] || fail "the trap did not fire for the victims themselves"
	rm -f "$W"/nb/pwned.*

	aged "$pl"
	[ -z "$py" ] || aged "$py"
	replace nb/s.pl
	[ -z "$py" ] || replace nb/s.py
	run_hs stale -p "$pl${py:+,$py}"
	[ "$status" -eq 0 ]
	[[ $output == *"replaced '$W/nb/s.pl' (interpreter's script)"* ]] ||
		fail "perl script: $output"
	[ -z "$py" ] || [[ $output == *"replaced '$W/nb/s.py' (interpreter's script)"* ]] ||
		fail "python script: $output"
	run_hs stale --format batch
	run_hs stale --json
	[ -z "$(pwned)" ] || fail "hotswap ran an interpreter: $(pwned)"

	# The control: an interpreter run with the process's environment,
	# as needrestart did, runs the attacker's module as root.
	(cd / && xargs -0 sh -c 'exec env -i "$@" perl -e 1' sh \
	    <"/proc/$pl/environ")
	[ -n "$(pwned)" ] || fail "the control was not caught: the test cannot fail"
}

@test "attack: a command line and an executable changing under the scan: no crash, nothing run, nothing raw" {
	# One rewrites its command line ($0) as fast as it can; the other
	# execs perl and sh in turn, so its exe changes under the scan.
	printf '%s\n' '$| = 1; print "ready\n"; my @n = ("/etc/shadow",
	    "\e[31m\x9b\n/x.pl", "x" x 5000, "-c", "/dev/fd/0");
	    for (my $i = 0; ; $i++) { $0 = $n[$i % @n]; }' >nb/rw.pl
	printf '%s\n' 'exec("/bin/sh", "-c", q{exec perl "$0"}, $0)' >nb/ex.pl
	chmod 644 nb/rw.pl nb/ex.pl
	start_ready env "${ENVS[@]}" setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups -- perl "$W/nb/rw.pl"
	local rw=$RPID
	# (Without the trap's environment: it would load it at every exec.)
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    perl "$W/nb/ex.pl" >/dev/null 2>&1 3>&- &
	local ex=$!
	track "$ex"
	rm -f "$W"/nb/pwned.*
	local round	# not i: bats's run sets a global i
	for ((round = 0; round < 10; round++)); do
		run_hs stale -p "$rw,$ex"
		[ "$status" -le 1 ] || fail "status $status: $output $stderr"
		no_raw "$output$stderr"
	done
	kill -KILL "$ex"
	wait "$ex" 2>/dev/null || true
	[ -z "$(pwned)" ] || fail "hotswap ran an interpreter: $(pwned)"
}

# no_raw TEXT: no ESC, CSI (0x9b) or other control but tab and newline.
no_raw() {
	! printf '%s' "$1" | LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f\x9b]' ||
		fail "a raw control character: $1"
}

@test "attack: escapes and newlines in a script's and a held file's names: escaped in every format" {
	local name=$'s\e[31m\xc2\x9b\x9b\nx'
	printf '$| = 1; open(my $f, "<", $ARGV[0]) or die; print "ready\\n"; sleep;\n' \
	    >"nb/$name.pl"
	echo held >"nb/$name.dat"
	chmod 644 "nb/$name.pl" "nb/$name.dat"
	start_ready setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    perl "$W/nb/$name.pl" "$W/nb/$name.dat"
	aged "$RPID"
	replace "nb/$name.pl"
	rm "nb/$name.dat"

	run_hs stale -p "$RPID"
	[ "$status" -eq 0 ]
	no_raw "$output"
	[ "${#lines[@]}" -eq 3 ] || fail "not three lines: $output"
	[[ $output == *"/nb/s\\033[31m\\302\\233\\233\\nx.pl' (interpreter's script)"* ]] ||
		fail "script line: $output"
	[[ $output == *"/nb/s\\033[31m\\302\\233\\233\\nx.dat' (open descriptor 3)"* ]] ||
		fail "held file line: $output"
	local f
	for f in json batch nagios openmetrics; do
		run_hs stale --format "$f" -p "$RPID"
		no_raw "$output"
	done
	run_hs stale --json -p "$RPID"
	[[ $output == *'/nb/s\u001b[31m\u009b\udc9b\nx.pl"'* ]] || fail "JSON: $output"
}

#!/usr/bin/env bats
# deb.bats - the Debian packages of debian/ and their apt hook, for real.
#
# setup_file builds the packages once (make deb) and two versions of a
# local package, hsdemo, that ships a library.  Each test then works in a
# throwaway root: a private mount namespace (unshare --mount), an overlay
# of / whose upper directory is a tmpfs, chrooted into, with /proc, /dev
# and a fresh /run.  There it installs the built .debs with dpkg -i,
# starts a process that maps hsdemo's library and upgrades hsdemo with
# apt-get from the local .deb file (no network).  Nothing of the host
# changes: every write goes to the tmpfs, and the namespace's mounts go
# with it (in_root also unmounts them itself, and kills what it started).

load common

setup_file() {
	command -v dpkg-buildpackage >/dev/null && command -v lintian \
	    >/dev/null && command -v apt-get >/dev/null ||
		skip "dpkg-dev, lintian or apt is not installed"
	: "${HS_TOP:?run through tests/run.sh}"
	make -s -C "$HS_TOP" deb >&3 2>&1 ||
		{ echo "# make deb failed" >&3; return 1; }
	export DEBS=$HS_TOP/build/deb
	export PKGS=$BATS_FILE_TMPDIR/pkgs
	mkdir -p "$PKGS"
	make_hsdemo 1 "$HS_HELPERS/libvictim_v1.so"
	make_hsdemo 2 "$HS_HELPERS/libvictim_v2.so"
	write_root_lib
	W=$BATS_FILE_TMPDIR/probe
	mkdir "$W"
	[ "$(in_root 'echo ready' 2>&1)" = ready ] ||
		skip "no throwaway root here (unshare --mount, overlayfs on /)"
}

# make_hsdemo VERSION LIB: $PKGS/hsdemo_VERSION.deb, which ships LIB as
# /usr/lib/hsdemo/libhsdemo.so.1.
make_hsdemo() {
	local d=$BATS_FILE_TMPDIR/hsdemo-$1
	mkdir -p "$d/DEBIAN" "$d/usr/lib/hsdemo"
	cp "$2" "$d/usr/lib/hsdemo/libhsdemo.so.1"
	cat >"$d/DEBIAN/control" <<-EOF
	Package: hsdemo
	Version: $1
	Architecture: $(dpkg --print-architecture)
	Maintainer: hotswap tests <tests@example.org>
	Description: a library that a running process maps
	 Built by hotswap's tests/e2e/deb.bats.
	EOF
	dpkg-deb --root-owner-group -b "$d" "$PKGS/hsdemo_$1.deb" >/dev/null
}

# The functions of the scripts in_root runs, in a file they source.
write_root_lib() {
	cat >"$BATS_FILE_TMPDIR/root.sh" <<-'EOF'
	LIB=/usr/lib/hsdemo/libhsdemo.so.1
	VPID=
	trap '[ -z "$VPID" ] || kill -KILL "$VPID" 2>/dev/null' EXIT
	# man-db's trigger would rebuild its index (seconds): not tested.
	rm -f /var/lib/man-db/auto-update
	# The host's own apt and dpkg hooks (needrestart's, PackageKit's)
	# would run too: only hotswap's is under test.
	grep -lE "Invoke|Pre-Install-Pkgs" /etc/apt/apt.conf.d/* 2>/dev/null |
	    xargs -r rm -f
	grep -l "status-logger" /etc/dpkg/dpkg.cfg.d/* 2>/dev/null |
	    xargs -r rm -f
	# install_hotswap [dev]: dpkg -i hotswap and libhotswap0, and with
	# "dev" libhotswap-dev too.
	install_hotswap() {
		dpkg -i "$DEBS"/hotswap_*.deb "$DEBS"/libhotswap0_*.deb \
		    ${1:+"$DEBS"/libhotswap-dev_*.deb} >/dev/null ||
			{ echo "dpkg -i of the built packages failed"; exit 1; }
	}
	# start_victim: a process that maps $LIB, ready when it says so.
	start_victim() {
		local fifo=/tmp/hs-deb-victim.$$ line
		mkfifo "$fifo"
		"$HS_HELPERS/victim" "$LIB" >"$fifo" &
		VPID=$!
		exec {vfd}<"$fifo"
		rm -f "$fifo"
		read -r -t 10 -u "$vfd" line && [[ $line == "ready "* ]] ||
			{ echo "victim did not start"; exit 1; }
		echo "VPID=$VPID"
	}
	# apt_get ARGS...: apt-get, its output and then "apt=STATUS".  It
	# reads no package lists: it knows what is installed and the .deb
	# files it is given, and needs no network.
	mkdir -p /tmp/hs-no-lists/partial
	APT_OPTS="-q -y -o APT::Sandbox::User=root"
	APT_OPTS="$APT_OPTS -o Dir::State::Lists=/tmp/hs-no-lists"
	apt_get() {
		apt-get $APT_OPTS "$@" 2>&1
		echo "apt=$?"
	}
	# standin PATH [STATUS [CMD]]: a hotswap at PATH that writes its
	# arguments, and whether it has a terminal on 0, 1 or 2, to
	# /tmp/standin.log, runs CMD and exits STATUS.
	standin() {
		cat >"$1" <<-SH
		#!/bin/sh
		t=no; { [ -t 0 ] || [ -t 1 ] || [ -t 2 ]; } && t=yes
		echo "args=\$* tty=\$t" >>/tmp/standin.log
		${3:-:}
		exit ${2:-1}
		SH
		chmod 755 "$1"
	}
	EOF
}

setup() {
	hs_setup
}

teardown() {
	hs_teardown
}

# in_root SCRIPT: run SCRIPT with bash as root in a throwaway root (see
# the top of the file), with root.sh's functions; prints what it prints.
in_root() {
	mkdir "$W/r"
	env -u HOTSWAP unshare --mount --propagation private -- bash -c '
	r=$1
	mount -t tmpfs -o mode=755 hs-deb "$r" &&
	mkdir "$r/u" "$r/w" "$r/root" &&
	mount -t overlay overlay \
	    -o "lowerdir=/,upperdir=$r/u,workdir=$r/w" "$r/root" &&
	mount -t proc proc "$r/root/proc" &&
	mount --rbind /dev "$r/root/dev" &&
	mount -t tmpfs -o mode=755 tmpfs "$r/root/run" || {
		echo "cannot make the throwaway root"
		umount -R "$r" 2>/dev/null
		exit 1
	}
	exec chroot "$r/root" /bin/bash -c ". \"\$BATS_FILE_TMPDIR/root.sh\"
	$2"
	' in_root "$W/r" "$1"
}

# has_line REGEX: some line of $output matches REGEX.
has_line() {
	printf '%s\n' "$output" | grep -qE -- "$1" ||
		fail "no line matches '$1' in: $output"
}

no_line() {
	! printf '%s\n' "$output" | grep -qE -- "$1" ||
		fail "a line matches '$1' in: $output"
}

@test "deb: the packages hold the tool, the library and the dev files; the hook is a conffile" {
	local c
	c=$(dpkg-deb -c "$DEBS"/hotswap_*.deb)
	for f in ./usr/bin/hotswap ./usr/lib/libhotswap-guard.so \
	    ./usr/share/hotswap/stale-hook ./usr/share/man/man1/hotswap.1.gz \
	    ./etc/apt/apt.conf.d/80hotswap ./etc/hotswap/hook.conf; do
		[[ $c == *" $f"* ]] || fail "hotswap lacks $f"
	done
	dpkg-deb -e "$DEBS"/hotswap_*.deb ctl
	[ "$(cat ctl/conffiles)" = "$(printf '%s\n' \
	    /etc/apt/apt.conf.d/80hotswap /etc/hotswap/hook.conf)" ]
	c=$(dpkg-deb -c "$DEBS"/libhotswap0_*.deb)
	[[ $c == *"/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libhotswap.so.0 -> libhotswap.so.0.1.0"* ]]
	dpkg-deb -e "$DEBS"/libhotswap0_*.deb lctl
	grep -q '^libhotswap.so.0 libhotswap0 ' lctl/symbols
	grep -q ' hs_install@HOTSWAP_0 ' lctl/symbols
	grep -qx 'libhotswap 0 libhotswap0 (>= 0.1.0)' lctl/shlibs
	c=$(dpkg-deb -c "$DEBS"/libhotswap-dev_*.deb)
	for f in include/hotswap.h libhotswap.a libhotswap.so \
	    pkgconfig/hotswap.pc man3/libhotswap.3.gz; do
		[[ $c == *"/$f"* ]] || fail "libhotswap-dev lacks $f"
	done
}

@test "deb: lintian finds nothing (one tag overridden, with its reason, in debian/)" {
	# As nobody: lintian warns against running it as root.
	cp "$DEBS"/*.deb "$DEBS"/*.changes "$DEBS"/*.buildinfo "$W"
	run as_nobody lintian --fail-on error,warning "$W"/hotswap_*.changes
	[ "$status" -eq 0 ] || fail "lintian: $output"
	[ -z "$output" ] || fail "lintian said: $output"
}

@test "deb: dpkg-buildflags reach every compile and every link" {
	local log=$DEBS/build.log lines
	lines=$(grep -E '^cc ' "$log")
	[ "$(printf '%s\n' "$lines" | wc -l)" -gt 40 ] ||
		fail "no compiler lines in $log"
	! printf '%s\n' "$lines" | grep -v -- -fstack-protector-strong ||
		fail "a compile or link without the build CFLAGS"
	! printf '%s\n' "$lines" | grep -- ' -c ' | grep -v -- -D_FORTIFY_SOURCE ||
		fail "a compile without the build CPPFLAGS"
	for p in hotswap libhotswap0; do
		dpkg-deb -x "$DEBS/${p}_0.1.0_amd64.deb" x
	done
	for f in x/usr/bin/hotswap x/usr/lib/libhotswap-guard.so \
	    x/usr/lib/*/libhotswap.so.0.1.0; do
		readelf -d "$f" | grep -q 'BIND_NOW' ||
			fail "$f is linked without -z now"
		readelf -lW "$f" | grep -q GNU_RELRO ||
			fail "$f is linked without -z relro"
	done
}

@test "deb: after apt-get upgrades a library a process maps, the hook lists the process and the file" {
	run in_root '
	install_hotswap dev
	dpkg-query -W -f="\${Package} \${Status}\n" hotswap libhotswap0 \
	    libhotswap-dev
	dpkg -i "$PKGS/hsdemo_1.deb" >/dev/null
	start_victim
	apt_get install "$PKGS/hsdemo_2.deb"
	grep -F "$LIB" /proc/$VPID/maps | head -n 1
	'
	[[ $output =~ VPID=([0-9]+) ]] || fail "no victim: $output"
	local vpid=${BASH_REMATCH[1]}
	for p in hotswap libhotswap0 libhotswap-dev; do
		has_line "^$p install ok installed$"
	done
	has_line '^apt=0$'
	# The control: the process really runs the replaced library.
	has_line "/usr/lib/hsdemo/libhsdemo.so.1 \(deleted\)$"
	has_line '^hotswap: these processes still run replaced files'
	has_line "^ *$vpid "
	has_line '/usr/lib/hsdemo/libhsdemo.so.1'
}

@test "deb: nothing unpacked (configure only, already installed, remove): the hook stays quiet; by hand it lists" {
	run in_root '
	install_hotswap
	dpkg -i "$PKGS/hsdemo_1.deb" >/dev/null
	start_victim
	dpkg --unpack "$PKGS/hsdemo_2.deb" >/dev/null
	echo "--- configure only"
	apt_get -f install
	echo "--- already installed"
	apt_get install "$PKGS/hsdemo_2.deb"
	echo "--- remove"
	apt_get remove hsdemo
	echo "--- by hand"
	/usr/share/hotswap/stale-hook
	'
	has_line 'VPID='
	local before=${output%%--- by hand*} after=${output#*--- by hand}
	[[ $before == *"Setting up hsdemo (2)"* ]] || fail "no configure: $output"
	[[ $before == *"already the newest version"* ]] || fail "$output"
	[[ $before == *"Removing hsdemo"* ]] || fail "dpkg did not run: $output"
	[[ $before != *hotswap:* ]] || fail "the hook spoke: $before"
	# The control: the process was stale all along.
	[[ $after == *"hotswap: these processes still run replaced files"* ]] ||
		fail "the hook by hand did not list: $after"
}

@test "deb: HOTSWAP_SUSPEND skips the hook, and the hook never lists then" {
	run in_root '
	install_hotswap
	dpkg -i "$PKGS/hsdemo_1.deb" >/dev/null
	start_victim
	HOTSWAP_SUSPEND=1 apt_get install "$PKGS/hsdemo_2.deb"
	'
	has_line '^apt=0$'
	has_line '^hotswap: HOTSWAP_SUSPEND is set: not checking for stale processes$'
	no_line 'still run replaced files'
}

@test "deb: apt's status is untouched when hotswap fails, crashes or was removed" {
	run in_root '
	install_hotswap
	dpkg -i "$PKGS/hsdemo_1.deb" >/dev/null
	echo "--- exit 2"
	standin /usr/bin/hotswap 2 "echo \"hotswap: something broke\" >&2"
	apt_get install "$PKGS/hsdemo_2.deb"
	echo "--- crash"
	standin /usr/bin/hotswap 0 "kill -SEGV \$\$"
	apt_get install --reinstall "$PKGS/hsdemo_2.deb"
	cat /tmp/standin.log
	echo "--- naive hook"
	standin /usr/bin/hotswap 2
	echo "DPkg::Post-Invoke { \"hotswap stale\"; };" \
	    >/etc/apt/apt.conf.d/81naive
	apt_get install --reinstall "$PKGS/hsdemo_2.deb"
	rm /etc/apt/apt.conf.d/81naive
	echo "--- removed"
	dpkg -r hotswap >/dev/null
	dpkg-query -W -f="\${Status}\n" hotswap
	ls /etc/apt/apt.conf.d/80hotswap /etc/hotswap/hook.conf
	ls /usr/bin/hotswap /usr/share/hotswap/stale-hook 2>&1
	apt_get install --reinstall "$PKGS/hsdemo_2.deb"
	echo "--- end"
	'
	local part
	part=${output#*--- exit 2}; part=${part%%--- crash*}
	[[ $part == *"hotswap: could not check for stale processes: hotswap: something broke"* ]] ||
		fail "exit 2: $part"
	[[ $part == *apt=0* ]] || fail "exit 2: $part"
	part=${output#*--- crash}; part=${part%%--- naive hook*}
	[[ $part == *args=stale* && $part == *apt=0* ]] || fail "crash: $part"
	# The control: a hook without the care makes apt fail.
	part=${output#*--- naive hook}; part=${part%%--- removed*}
	[[ $part == *apt=100* ]] || fail "the naive hook did not fail apt: $part"
	part=${output#*--- removed}
	[[ $part == *"deinstall ok config-files"* ]] || fail "removed: $part"
	[[ $part == *"/etc/apt/apt.conf.d/80hotswap"*"/etc/hotswap/hook.conf"* ]] ||
		fail "the conffiles went: $part"
	[[ $part == *"/usr/bin/hotswap"*"No such file"* ]] ||
		fail "the binary is still there: $part"
	[[ $part == *apt=0* && $part != *hotswap:* ]] || fail "removed: $part"
}

@test "deb: mode = restart runs 'hotswap restart --yes', never on a terminal, also under a terminal" {
	run in_root '
	install_hotswap
	dpkg -i "$PKGS/hsdemo_1.deb" >/dev/null
	standin /usr/bin/hotswap 0
	# A systemd that runs (stand-in systemctl: no systemd starts here).
	mkdir -p /run/systemd/system
	printf "#!/bin/sh\necho \${STATE:-running}\n" >/usr/bin/systemctl
	chmod 755 /usr/bin/systemctl
	sed -i "s/^mode = list/mode = restart/" /etc/hotswap/hook.conf
	echo "--- terminal"
	script -qec "test -t 0 && echo stdin is a terminal;
	    DEBIAN_FRONTEND=noninteractive timeout --foreground 60 \
	    apt-get $APT_OPTS install $PKGS/hsdemo_2.deb;
	    echo apt=\$?" /dev/null </dev/null
	cat /tmp/standin.log; rm -f /tmp/standin.log
	echo "--- restart failed"
	standin /usr/bin/hotswap 3 "echo \"hotswap: restart: x.service failed\""
	apt_get install --reinstall "$PKGS/hsdemo_2.deb"
	rm -f /tmp/standin.log
	standin /usr/bin/hotswap 0
	echo "--- stopping"
	STATE=stopping apt_get install --reinstall "$PKGS/hsdemo_2.deb"
	cat /tmp/standin.log 2>/dev/null; rm -f /tmp/standin.log
	echo "--- no systemd"
	rm -r /run/systemd/system
	apt_get install --reinstall "$PKGS/hsdemo_2.deb"
	cat /tmp/standin.log
	'
	local part
	part=${output#*--- terminal}; part=${part%%--- stopping*}
	[[ $part == *"stdin is a terminal"* ]] || fail "no terminal: $part"
	[[ $part == *apt=0* ]] || fail "terminal: $part"
	[[ $part == *"args=restart --yes tty=no"* ]] || fail "$part"
	[[ $part != *args=stale* ]] || fail "listed too: $part"
	part=${output#*--- restart failed}; part=${part%%--- stopping*}
	[[ $part == *"hotswap: restart: x.service failed"$'\n'"hotswap: a restart failed (above)"* ]] ||
		fail "restart failed: $part"
	[[ $part == *apt=0* ]] || fail "restart failed: $part"
	part=${output#*--- stopping}; part=${part%%--- no systemd*}
	[[ $part == *"hotswap: the system is shutting down: not checking for stale processes"* ]] ||
		fail "stopping: $part"
	[[ $part != *args=* ]] || fail "ran hotswap while stopping: $part"
	part=${output#*--- no systemd}
	[[ $part == *"hotswap: no systemd: listing, not restarting"* ]] ||
		fail "no systemd: $part"
	[[ $part == *"args=stale tty=no"* && $part != *args=restart* ]] ||
		fail "no systemd: $part"
}

# The attack: /etc/hotswap left writable by all (a mistake), nobody
# writes a hook.conf asking for restarts.  The hook ignores it and lists.
@test "deb: a hook.conf that nobody wrote is ignored" {
	run in_root '
	install_hotswap
	dpkg -i "$PKGS/hsdemo_1.deb" >/dev/null
	standin /usr/bin/hotswap 1
	mkdir -p /run/systemd/system
	printf "#!/bin/sh\necho running\n" >/usr/bin/systemctl
	chmod 755 /usr/bin/systemctl
	rm /etc/hotswap/hook.conf
	chmod 1777 /etc/hotswap
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    sh -c "echo mode = restart >/etc/hotswap/hook.conf"
	ls -l /etc/hotswap/hook.conf
	apt_get install "$PKGS/hsdemo_2.deb"
	cat /tmp/standin.log
	'
	has_line ' nobody nogroup .*/etc/hotswap/hook.conf$'
	has_line '^apt=0$'
	has_line "^hotswap: ignoring '/etc/hotswap/hook.conf': it is not owned by root$"
	has_line '^args=stale tty=no$'
	no_line 'args=restart'
}

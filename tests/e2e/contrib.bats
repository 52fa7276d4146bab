#!/usr/bin/env bats
# contrib.bats - the package-manager hooks and the Ansible playbook under
# contrib/: valid where their tools can say so, and never failing the
# package manager whatever hotswap does.

load common

setup() {
	hs_setup
	HOOK=$HS_TOP/contrib/hotswap-stale-hook
}

teardown() {
	hs_teardown
}

# A victim that maps a library which is then replaced, as a package
# upgrade does.  (Not deleted: stale ignores deleted files under /tmp
# mapped executable, the way libffi's trampolines look.)
start_stale_victim() {
	cp "$HS_HELPERS/libvictim_v1.so" lib.so
	start_victim "$W/lib.so"
	"$HOTSWAP" install -q "$HS_HELPERS/libvictim_v2.so" lib.so
}

# The commands of the apt snippet, by apt-config (which adds the
# machine's own configuration: only those calling the hook), in the
# order apt runs them: "KEY<TAB>CMD".
apt_commands() {
	local k
	apt-config dump -c "$HS_TOP/contrib/apt/80hotswap" |
	    sed -n 's/^\(DPkg::[A-Za-z-]*\):: "\(.*stale-hook.*\)";$/\1\t\2/p' |
	    while IFS= read -r k; do
		case $k in
		DPkg::Pre-Invoke*) echo "1 $k" ;;
		DPkg::Pre-Install-Pkgs*) echo "2 $k" ;;
		*) echo "3 $k" ;;
		esac
	    done | sort -n | cut -d' ' -f2-
}

@test "apt snippet parses with apt-config: three steps, each calling the hook" {
	command -v apt-config >/dev/null || skip "apt-config is not installed"
	run apt_commands
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ] || fail "not three commands: $output"
	[[ ${lines[0]} == DPkg::Pre-Invoke*"stale-hook apt-begin;"* ]]
	[[ ${lines[1]} == DPkg::Pre-Install-Pkgs*"stale-hook apt-unpack;"* ]]
	[[ ${lines[2]} == DPkg::Post-Invoke*"stale-hook apt-end;"* ]]
}

@test "apt hook commands exit 0 and read their input when the hook is not installed" {
	command -v apt-config >/dev/null || skip "apt-config is not installed"
	[ ! -e /usr/share/hotswap/stale-hook ] ||
		skip "a hook is installed on this machine"
	local key cmd
	while IFS=$'\t' read -r key cmd; do
		# What apt writes to Pre-Install-Pkgs: the .deb files.  If
		# the command left it unread, the writer would get EPIPE.
		if [ "$key" = DPkg::Pre-Install-Pkgs ]; then
			run bash -c 'set -o pipefail; seq 100000 | sh -c "$1"' \
			    sh "$cmd"
		else
			run sh -c "$cmd" </dev/null
		fi
		[ "$status" -eq 0 ] || fail "$key: status $status: $output"
		[ -z "$output" ] || fail "$key: $output"
	done < <(apt_commands)
}

@test "hook: lists a process that runs a deleted library, exits 0" {
	start_stale_victim
	run env HOTSWAP="$HOTSWAP" "$HOOK"
	[ "$status" -eq 0 ]
	[[ "$output" == *"still run replaced files"* ]]
	[[ "$output" == *"$VPID"* ]]
}

@test "hook: hotswap missing, hotswap failing, nothing stale: exit 0 every time" {
	run env HOTSWAP=/nonexistent/hotswap "$HOOK"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	printf '#!/bin/sh\necho "hotswap: something broke" >&2\nexit 2\n' >fake
	chmod +x fake
	run env HOTSWAP="$W/fake" "$HOOK"
	[ "$status" -eq 0 ]
	[ "$output" = "hotswap: could not check for stale processes: hotswap: something broke" ]
	printf '#!/bin/sh\nkill -SEGV $$\n' >crash
	chmod +x crash
	run env HOTSWAP="$W/crash" "$HOOK"
	[ "$status" -eq 0 ]
	printf '#!/bin/sh\nexit 1\n' >none
	chmod +x none
	run env HOTSWAP="$W/none" "$HOOK"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "hook as nobody (incomplete scan) still exits 0" {
	start_stale_victim
	run as_nobody env HOTSWAP="$HOTSWAP" "$HOOK"
	[ "$status" -eq 0 ]
}

# A stand-in hotswap that logs its arguments to $W/log and finds
# something stale.
standin_hotswap() {
	printf '#!/bin/sh\necho "$*" >>"%s/log"\necho "1 root victim"\nexit 0\n' \
	    "$W" >standin
	chmod 755 standin
}

@test "hook: HOTSWAP_SUSPEND skips it with one line" {
	standin_hotswap
	run env HOTSWAP="$W/standin" HOTSWAP_SUSPEND=1 "$HOOK"
	[ "$status" -eq 0 ]
	[ "$output" = "hotswap: HOTSWAP_SUSPEND is set: not checking for stale processes" ]
	[ ! -e log ]
	run env HOTSWAP="$W/standin" HOTSWAP_SUSPEND= "$HOOK"
	[[ $output == *"1 root victim"* ]]
}

@test "hook.conf: mode = off from root is obeyed; without systemd restart lists" {
	standin_hotswap
	mkdir etc
	echo "mode = off" >etc/hook.conf
	run env HOTSWAP="$W/standin" HOTSWAP_HOOK_CONF="$W/etc/hook.conf" "$HOOK"
	[ "$status" -eq 0 ]
	[ -z "$output" ] && [ ! -e log ] || fail "mode = off ran: $output"
	[ ! -d /run/systemd/system ] || skip "systemd runs here"
	printf '# restarts\nmode=restart   # please\ntimeout = 30\n' \
	    >etc/hook.conf
	run env HOTSWAP="$W/standin" HOTSWAP_HOOK_CONF="$W/etc/hook.conf" "$HOOK"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "hotswap: no systemd: listing, not restarting" ]]
	[ "$(cat log)" = stale ]
}

@test "hook.conf: a bad line is one line naming the file and the line, the rest holds" {
	standin_hotswap
	mkdir etc
	printf 'mode = off\ncolour = $(reboot)\e[31m\ntimeout = 0x10\n' \
	    >etc/hook.conf
	run env HOTSWAP="$W/standin" HOTSWAP_HOOK_CONF="$W/etc/hook.conf" "$HOOK"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hotswap: '$W/etc/hook.conf' line 2: unknown key 'colour', ignored" ]
	[ "${lines[1]}" = "hotswap: '$W/etc/hook.conf' line 3: timeout '0x10' is not a number of seconds, ignored" ]
	[ "${#lines[@]}" -eq 2 ] && [ ! -e log ]
}

# The attack: nobody controls the configuration (its file, a symbolic
# link, or its directory) and says "mode = off" to hide what is stale.
# The hook, run as root, ignores it, says so, and lists.
@test "hook.conf that nobody controls is ignored: owner, symlink, directory, mode" {
	standin_hotswap
	local why
	mkdir -m 1777 evil
	as_nobody sh -c 'echo "mode = off" >evil/hook.conf'
	for why in nobody symlink directory writable; do
		rm -f log
		case $why in
		symlink)
			echo "mode = off" >off.conf
			rm -f evil/hook.conf
			as_nobody ln -s "$W/off.conf" evil/hook.conf ;;
		directory)
			rm -f evil/hook.conf
			echo "mode = off" >evil/hook.conf
			chown nobody evil ;;
		writable)
			mkdir -p good
			echo "mode = off" >good/hook.conf
			chmod 664 good/hook.conf ;;
		esac
		local conf=$W/evil/hook.conf
		[ "$why" != writable ] || conf=$W/good/hook.conf
		run env HOTSWAP="$W/standin" HOTSWAP_HOOK_CONF="$conf" "$HOOK"
		[ "$status" -eq 0 ]
		case $why in
		nobody)	[ "${lines[0]}" = "hotswap: ignoring '$conf': it is not owned by root" ] ;;
		symlink) [ "${lines[0]}" = "hotswap: ignoring '$conf': it is a symbolic link" ] ;;
		directory) [ "${lines[0]}" = "hotswap: ignoring '$conf': its directory '$W/evil' is not owned by root" ] ;;
		writable) [ "${lines[0]}" = "hotswap: ignoring '$conf': it is writable by group or others" ] ;;
		esac || fail "$why: $output"
		[ "$(cat log)" = stale ] || fail "$why: did not list: $output"
	done
	# The control: the same file, root's, in root's directory, holds.
	chmod 644 good/hook.conf
	rm -f log
	run env HOTSWAP="$W/standin" HOTSWAP_HOOK_CONF="$W/good/hook.conf" "$HOOK"
	[ -z "$output" ] && [ ! -e log ] || fail "root's mode = off: $output"
}

@test "pacman hook: the sections and keys alpm-hooks(5) defines, an Exec that exists" {
	f=$HS_TOP/contrib/pacman/hotswap-stale.hook
	section=
	while IFS= read -r line; do
		case $line in
		''|'#'*) continue ;;
		'['*']') section=$line; continue ;;
		esac
		key=${line%% = *} val=${line#* = }
		case "$section:$key" in
		"[Trigger]:Operation") [[ $val =~ ^(Install|Upgrade|Remove)$ ]] ;;
		"[Trigger]:Type") [[ $val =~ ^(Path|Package)$ ]] ;;
		"[Trigger]:Target") [[ $val != /* ]] ;;	# paths without the /
		"[Action]:Description") [ -n "$val" ] ;;
		"[Action]:When") [[ $val =~ ^(PreTransaction|PostTransaction)$ ]] ;;
		"[Action]:Exec") exec_path=$val ;;
		*) fail "unknown key '$key' in section '$section'" ;;
		esac || fail "bad value '$val' for $key"
	done <"$f"
	grep -qx '\[Trigger\]' "$f"
	grep -qx '\[Action\]' "$f"
	[ "$exec_path" = /usr/share/hotswap/stale-hook ]
}

# stub_hotswap STATUS: $W/hs-stub runs $HOTSWAP for everything but
# restart, which it records in $W/restart.log and answers with STATUS as
# hotswap restart would (4: a restarted service still maps the old
# file).  The real hotswap restart, against a real systemd, is tested in
# restart.bats; here it would restart this machine's own services.
stub_hotswap() {
	cat >"$W/hs-stub" <<-EOF
	#!/bin/sh
	if [ "\$1" = restart ]; then
		echo "\$*" >>"$W/restart.log"
		case $1 in
		4) echo "unverified x.service: main pid 9 still maps '/l.so'" ;;
		*) echo "restarted x.service: main pid 9 maps none of the old files" ;;
		esac
		exit $1
	fi
	exec "$HOTSWAP" "\$@"
	EOF
	chmod 755 "$W/hs-stub"
}

# rollout_two STATUS: the playbook on two hosts (both this one, each its
# own copy of the library), hotswap restart answering STATUS.
rollout_two() {
	cp "$HS_HELPERS/libvictim_v1.so" h1.so
	cp "$HS_HELPERS/libvictim_v1.so" h2.so
	printf '%s\n' "h1 ansible_connection=local lib_dest=$W/h1.so" \
	    "h2 ansible_connection=local lib_dest=$W/h2.so" >hosts
	stub_hotswap "$1"
	run env ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$W/.ansible" \
	    ANSIBLE_REMOTE_TEMP="$W/.ansible" \
	    ansible-playbook -i hosts \
	    -e lib_src="$HS_HELPERS/libvictim_v2.so" -e stage_dir="$W" \
	    -e hotswap="$W/hs-stub" \
	    "$HS_TOP/contrib/ansible/rollout-library.yml"
}

@test "Ansible playbook: a restart that fails its check (exit 4) stops the rollout before the next host" {
	command -v ansible-playbook >/dev/null ||
		skip "ansible-core is not installed"
	rollout_two 4
	[ "$status" -ne 0 ] || { echo "$output"; fail "the rollout went on"; }
	same_content "$HS_HELPERS/libvictim_v2.so" h1.so
	same_content "$HS_HELPERS/libvictim_v1.so" h2.so
	[ "$(cat restart.log)" = "restart --yes" ]
	[[ $output == *"unverified x.service"* ]]
	# The control, exit 1 going on to the next host, is the rollout on
	# localhost below (its stub answers 1).
}

@test "pacman hook and Ansible playbook restart only through hotswap restart (one deny list)" {
	grep -q 'hotswap restart --yes' "$HS_TOP/contrib/pacman/hotswap-stale.hook"
	grep -q 'Exec = /usr/share/hotswap/stale-hook' \
	    "$HS_TOP/contrib/pacman/hotswap-stale.hook"
	grep -q 'argv: \["{{ hotswap }}", restart, --yes\]' \
	    "$HS_TOP/contrib/ansible/rollout-library.yml"
	! grep -n 'systemctl' "$HS_TOP/contrib/ansible/rollout-library.yml" |
	    grep -v '^[0-9]*:#'
}

@test "Ansible playbook passes ansible-playbook --syntax-check" {
	command -v ansible-playbook >/dev/null ||
		skip "ansible-core is not installed"
	run ansible-playbook --syntax-check -i localhost, \
	    "$HS_TOP/contrib/ansible/rollout-library.yml"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "Ansible playbook rolls a library out on localhost; the victim survives" {
	command -v ansible-playbook >/dev/null ||
		skip "ansible-core is not installed"
	cp "$HS_HELPERS/libvictim_v1.so" libvictim.so
	start_victim "$W/libvictim.so"
	stub_hotswap 1
	run env ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$W/.ansible" \
	    ANSIBLE_REMOTE_TEMP="$W/.ansible" \
	    ansible-playbook -i localhost, -c local \
	    -e lib_src="$HS_HELPERS/libvictim_v2.so" \
	    -e lib_dest="$W/libvictim.so" -e stage_dir="$W" \
	    -e hotswap="$W/hs-stub" \
	    "$HS_TOP/contrib/ansible/rollout-library.yml"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(cat restart.log)" = "restart --yes" ]
	same_content "$HS_HELPERS/libvictim_v2.so" libvictim.so
	same_content "$HS_HELPERS/libvictim_v1.so" libvictim.so~
	victim_alive
	[ "$VALIVE" = 1 ]
	[ -z "$(ls -A "$W" | grep hotswap-stage)" ] ||
		fail "staging left behind: $(ls -A "$W")"
}

# The attack of issue 13: in a directory everyone may write (/var/tmp),
# nobody makes the file the playbook used to stage under, and rewrites
# whatever it can of the staged copy at the worst moment, just before
# root's hotswap install reads it (a wrapper runs the attacker's step as
# nobody first: deterministic, no race to win).  The old playbook's copy
# kept the planted file's owner (nobody) for root's new file, so the
# attacker's bytes were installed.
@test "Ansible playbook: a file planted by nobody at the staging path is never used" {
	command -v ansible-playbook >/dev/null ||
		skip "ansible-core is not installed"
	cp "$HS_HELPERS/libvictim_v1.so" libvictim.so
	start_victim "$W/libvictim.so"
	mkdir vartmp
	chmod 1777 vartmp
	as_nobody sh -c 'echo planted >"$1" && chmod 666 "$1"' sh \
	    "$W/vartmp/libvictim.so.hotswap-stage"
	local planted
	planted=$(stat -c '%i %U' vartmp/libvictim.so.hotswap-stage)
	printf '#!/bin/sh\nchmod 755 "$0"\n' >evil.so
	cat >hs-wrapper <<-EOF
	#!/bin/sh
	if [ "\$1" = install ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- sh -c '
		for f in "\$1"/* "\$1"/*/*; do
			[ -f "\$f" ] && cat "\$2" >"\$f" 2>/dev/null
		done; true' sh "$W/vartmp" "$W/evil.so"
	fi
	# Not this machine's services: restart is the playbook test's.
	[ "\$1" != restart ] || exit 0
	exec "$HOTSWAP" "\$@"
	EOF
	chmod 755 hs-wrapper
	run env ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$W/.ansible" \
	    ANSIBLE_REMOTE_TEMP="$W/.ansible" \
	    ansible-playbook -i localhost, -c local \
	    -e lib_src="$HS_HELPERS/libvictim_v2.so" \
	    -e lib_dest="$W/libvictim.so" -e stage_dir="$W/vartmp" \
	    -e hotswap="$W/hs-wrapper" \
	    "$HS_TOP/contrib/ansible/rollout-library.yml"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	same_content "$HS_HELPERS/libvictim_v2.so" libvictim.so ||
		fail "not the new library: $(head -c 64 libvictim.so)"
	[ "$(stat -c %U libvictim.so)" = root ]
	# Root neither replaced nor removed the attacker's file.
	[ "$(stat -c '%i %U' vartmp/libvictim.so.hotswap-stage)" = "$planted" ] ||
		fail "root replaced the planted file"
	[ "$(ls -A vartmp)" = libvictim.so.hotswap-stage ] ||
		fail "left in the staging directory: $(ls -A vartmp)"
	victim_alive
	[ "$VALIVE" = 1 ]
}

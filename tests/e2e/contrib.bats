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

@test "apt snippet parses with apt-config and names the hook" {
	command -v apt-config >/dev/null || skip "apt-config is not installed"
	run apt-config dump -c "$HS_TOP/contrib/apt/80hotswap"
	[ "$status" -eq 0 ]
	[[ "$output" == *'DPkg::Post-Invoke:: "/usr/share/hotswap/stale-hook || true";'* ]]
}

@test "apt hook command exits 0 when the hook is not installed at all" {
	command -v apt-config >/dev/null || skip "apt-config is not installed"
	cmd=$(apt-config dump -c "$HS_TOP/contrib/apt/80hotswap" |
	    sed -n 's/^DPkg::Post-Invoke:: "\(.*\)";$/\1/p')
	[ -n "$cmd" ]
	[ ! -e /usr/share/hotswap/stale-hook ] ||
		skip "a hook is installed on this machine"
	run sh -c "$cmd"
	[ "$status" -eq 0 ]
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

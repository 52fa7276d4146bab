#!/usr/bin/env bats
# restart_conf.bats - the deny list file of hotswap restart (--config,
# default /etc/hotswap/restart.conf) is what root obeys, so it is refused
# when anyone but root can have written it: the attacks are made by
# nobody, hotswap runs as root, and each refusal is exit 2 with one line
# that names the file and the reason, before any process is looked at.
# The control: the same text in a file only root can write is accepted.

load common

setup() {
	hs_setup
	[ "$(id -u)" -eq 0 ] || skip "needs root (the file must be root's)"
	mkdir -m 755 etc
	TEXT='# keep these
nginx      the web server: restarted by its own hook
getty@     consoles
'
}

teardown() {
	hs_teardown
}

# refused PATH REASON: hotswap restart --config PATH fails as it should.
refused() {
	run_hs restart --list --config "$1"
	[ "$status" -eq 2 ] || fail "status $status, not 2: $output $stderr"
	one_error_line "refusing deny list '$1': $2"
	[ -z "$output" ] || fail "it printed a plan: $output"
}

@test "restart --config: a file only root can write is accepted (the control)" {
	printf '%s' "$TEXT" >etc/restart.conf
	chmod 644 etc/restart.conf
	run_hs restart --list --config "$W/etc/restart.conf"
	[ "$status" -ne 2 ] || fail "refused: $stderr"
	[[ $stderr != *refusing* ]]
	[[ ${lines[-1]} == *" to restart, "* ]]
}

@test "restart --config: a file nobody owns is refused" {
	: >etc/restart.conf
	chown nobody:nogroup etc/restart.conf
	as_nobody sh -c "printf '%s' '$TEXT' >'$W/etc/restart.conf'"
	refused "$W/etc/restart.conf" "not owned by root"
}

@test "restart --config: a root file that nobody's group may write is refused" {
	printf '%s' "$TEXT" >etc/restart.conf
	chgrp nogroup etc/restart.conf
	chmod 664 etc/restart.conf
	as_nobody sh -c "echo 'sshd oops' >>'$W/etc/restart.conf'" || true
	refused "$W/etc/restart.conf" "writable by group or others"
	chmod 646 etc/restart.conf
	refused "$W/etc/restart.conf" "writable by group or others"
}

@test "restart --config: a file planted in a directory nobody may write is refused" {
	mkdir -m 1777 pub
	as_nobody sh -c "printf '%s' '$TEXT' >'$W/pub/restart.conf'"
	refused "$W/pub/restart.conf" "its directory is writable by group or others"
	# Even a root-owned file there: nobody could swap it for theirs.
	rm -f pub/restart.conf
	printf '%s' "$TEXT" >pub/restart.conf
	refused "$W/pub/restart.conf" "its directory is writable by group or others"
	mkdir -m 755 theirs
	chown nobody theirs
	as_nobody sh -c "printf '%s' '$TEXT' >'$W/theirs/restart.conf'"
	refused "$W/theirs/restart.conf" "its directory is not owned by root"
}

@test "restart --config: a symbolic link is refused, even to a good file" {
	printf '%s' "$TEXT" >etc/good.conf
	ln -s good.conf etc/restart.conf
	refused "$W/etc/restart.conf" "a symbolic link"
}

@test "restart --config: not a regular file, missing, a bad line: refused with the reason" {
	mkfifo etc/fifo
	refused "$W/etc/fifo" "not a regular file"
	refused "$W/etc/none" "No such file or directory"
	printf 'ok  fine\nnginx\n' >etc/restart.conf
	refused "$W/etc/restart.conf" "line 2: 'nginx.service' has no reason"
	printf 'bad\033]0;x\007 reason\n' >etc/restart.conf
	run_hs restart --list --config "$W/etc/restart.conf"
	[ "$status" -eq 2 ]
	[[ $stderr != *$'\033'* ]] || fail "a raw escape reached the terminal"
}

@test "restart: no option or environment variable but --config moves the file" {
	run_hs restart --help
	[ "$status" -eq 0 ]
	[[ $output == *"hotswap restart [--list | --interactive | --yes]"* ]]
	! grep -rn 'getenv' "$HS_TOP"/src/cli/restart_*.c "$HS_TOP"/src/cli/cmd_restart.c
}

@test "restart: one mode only; --interactive needs a terminal" {
	run_hs restart --list --yes
	[ "$status" -eq 2 ]
	[[ $stderr == *"--list, --interactive and --yes exclude each other"* ]]
	run_hs restart --interactive </dev/null
	[ "$status" -eq 2 ]
	one_error_line "--interactive needs a terminal on standard input"
}

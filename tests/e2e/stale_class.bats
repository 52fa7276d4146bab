#!/usr/bin/env bats
# stale_class.bats - each stale process in exactly one class, from real
# cgroups and namespaces: a system service, a session, a user manager
# (and what a user can name below it: never a service), a container by
# its namespaces (one namespace alone is not one: the controls).
#
# The processes are perl holding open a file that the test then deletes,
# which makes them stale (a descriptor to a deleted file).

load stale_common

setup() {
	stale_perl_setup
}

teardown() {
	stale_teardown
}

# class_of PID: "CLASS UNIT" of the process in stale --json -p PID.
class_of() {
	run_hs stale --json -p "$1"
	[ "$status" -eq 0 ] || fail "not stale: $output $stderr"
	jq -r '.processes[0] | "\(.class) \(.unit)"' <<<"$output"
}

# hold_in CGROUP NAME [as nobody]: a holder of $W/NAME put in CGROUP
# (a path under $CG2, made) by root before it runs.  Sets RPID.
hold_in() {
	make_cgroup "$1"
	echo "$2" >"$2"
	start_ready sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' \
	    sh "$CG2$1" perl -e "$HOLD" "$W/$2"
	rm "$2"
}

@test "class: a system service, a session, a user manager; batch names each" {
	need_cgroup2
	hold_in "/system.slice/hs-e2e-$$.service" svc
	local svc=$RPID
	hold_in "/user.slice/user-0.slice/session-e2e$$.scope" sess
	local sess=$RPID
	hold_in "/user.slice/user-0.slice/user@0.service/app.slice/x.service" usr
	local usr=$RPID

	[ "$(class_of "$svc")" = "service hs-e2e-$$.service" ]
	[ "$(class_of "$sess")" = "session session-e2e$$.scope" ]
	[ "$(class_of "$usr")" = "user user@0.service" ]

	run_hs stale -p "$svc"
	[[ ${lines[0]} == "$svc root service perl unit hs-e2e-$$.service" ]] ||
		fail "human line: ${lines[0]}"

	run_hs stale --format batch -p "$svc,$sess,$usr"
	[ "$status" -eq 0 ]
	[ "$output" = "NEEDRESTART-VER: $("$HOTSWAP" --version | cut -d' ' -f2)
NEEDRESTART-SVC: hs-e2e-$$.service
NEEDRESTART-SESS: root @ session #e2e$$
NEEDRESTART-SESS: root @ user manager service" ] || fail "batch: $output"
}

@test "class: what nobody names below its delegated user@ cgroup is its user manager, never a service" {
	need_cgroup2
	local dl=/user.slice/user-65534.slice/user@65534.service
	make_cgroup "$dl"
	make_cgroup "/system.slice/hs-e2e-$$.service"
	chown nobody:nogroup "$CG2$dl" "$CG2$dl/cgroup.procs"
	as_nobody mkdir -p "$CG2$dl/system.slice/sshd.service"
	CGS+=("$CG2$dl/system.slice" "$CG2$dl/system.slice/sshd.service")
	CGLEAVES+=("$CG2$dl/system.slice/sshd.service")
	echo nb >nb
	chmod 644 nb

	# The control: nobody cannot move itself out of what it was given.
	run as_nobody sh -c 'echo $$ >"$1"' sh \
	    "$CG2/system.slice/hs-e2e-$$.service/cgroup.procs"
	[ "$status" -ne 0 ] || fail "nobody moved into a system service"

	# Root puts it in the delegated cgroup; as nobody it moves itself
	# into the one it named.
	printf '%s\n' 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' >mv.sh
	chmod 755 mv.sh
	start_ready sh mv.sh "$CG2$dl" setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups -- sh mv.sh "$CG2$dl/system.slice/sshd.service" \
	    perl -e "$HOLD" "$W/nb"
	[ "$(grep '^0::' "/proc/$RPID/cgroup")" = "0::$dl/system.slice/sshd.service" ] ||
		fail "nobody did not move itself: $(cat "/proc/$RPID/cgroup")"
	rm nb
	[ "$(class_of "$RPID")" = "user user@65534.service" ]
	run_hs stale --format batch -p "$RPID"
	[[ $output != *NEEDRESTART-SVC* ]] || fail "a service: $output"
	[[ $output == *"NEEDRESTART-SESS: nobody @ user manager service"* ]] ||
		fail "$output"
}

# ns_child PID: the one child of PID (unshare --fork's payload).
ns_child() {
	local c
	c=$(cat "/proc/$1/task/$1/children")
	echo "${c%% }"
}

@test "class: PID and mount namespaces both differing make a container; either alone does not" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for namespaces"
	command -v unshare >/dev/null || skip "unshare is not installed"
	echo c >c
	echo m >m
	echo p >p
	start_ready unshare -p -m -f --kill-child --propagation private perl -e "$HOLD" "$W/c" ||
		skip "cannot make PID and mount namespaces here"
	local both
	both=$(ns_child "$RPID")
	start_ready unshare -m --propagation private perl -e "$HOLD" "$W/m"
	local mnt=$RPID	# unshare without --fork execs: the same PID
	start_ready unshare -p -f --kill-child perl -e "$HOLD" "$W/p"
	local pid
	pid=$(ns_child "$RPID")
	rm c m p

	[ "$(class_of "$both")" = "container null" ]
	[ "$(class_of "$mnt")" = "other null" ]
	[ "$(class_of "$pid")" = "other null" ]
	run_hs stale --format batch -p "$both,$mnt,$pid"
	[ "$(grep -c '^NEEDRESTART-CONT: ' <<<"$output")" -eq 1 ]
	[[ $output == *"NEEDRESTART-CONT: $both (perl)"* ]] || fail "$output"
}

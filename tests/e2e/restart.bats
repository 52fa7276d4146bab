#!/usr/bin/env bats
# restart.bats - hotswap restart against a real systemd (PID 1 of its own
# namespaces, see restart_systemd.bash), with real services that map a
# library (tests/helpers/sdservice.c), replaced by hotswap install while
# they run.
#
# The services, all Type=notify (systemctl start and restart return once
# the service has mapped its library and logged "NAME VERSION PID" to
# $SD_DIR/starts, the order of those lines being the order of the
# starts):
#   hs-z-base   a service others depend on
#   hs-a-app    After= and Wants= hs-z-base: its name sorts first, so an
#               order by name would restart it first, the wrong order
#   hs-b-req    After= and Requires= hs-z-base: systemd restarts it with
#               hs-z-base, so hotswap restart must only check it
#   lxcfs       on the built-in deny list
#   hs-conf     denied by the configuration file $CONF
#   hs-fdstore  hands systemd a descriptor of its library to keep
#               (FDSTORE=1) and maps that one when it gets it back: after
#               a restart its new main process maps the old library again
#   hs-fail     its ExecStartPre= fails once $SD_DIR/fail exists
#   hs-dm       also named display-manager.service (a link), which the
#               built-in deny list names

load common
load restart_systemd

SERVICES="hs-z-base hs-a-app hs-b-req lxcfs hs-conf hs-fdstore"

write_unit() {
	local name=$1 extra=$2 service=$3
	cat >"$UNITS/$name.service" <<-EOF
	[Unit]
	DefaultDependencies=no
	$extra
	[Service]
	Type=notify
	$service
	ExecStart=$HS_HELPERS/sdservice $SD_DIR/lib/libhs.so $name $SD_DIR/starts
	EOF
}

# Called by sd_boot, SD_DIR made: the units of the tests.
sd_units() {
	UNITS=$1
	write_unit hs-z-base "" ""
	write_unit hs-a-app "After=hs-z-base.service
	Wants=hs-z-base.service" ""
	write_unit hs-b-req "After=hs-z-base.service
	Requires=hs-z-base.service" ""
	write_unit lxcfs "" ""
	write_unit hs-conf "" ""
	write_unit hs-fdstore "" "FileDescriptorStoreMax=1
	Environment=HS_FDSTORE=1"
	write_unit hs-fail "" \
	    "ExecStartPre=/bin/sh -c '! test -e $SD_DIR/fail'"
	write_unit hs-dm "" ""
	ln -s hs-dm.service "$UNITS/display-manager.service"
	cat >"$UNITS/hs-self.service" <<-EOF
	[Unit]
	DefaultDependencies=no
	[Service]
	Type=oneshot
	ExecStart=/bin/sh $SD_DIR/self.sh
	StandardOutput=file:$SD_DIR/self.out
	StandardError=inherit
	EOF
}

setup_file() {
	export SD_PID= SD_WHY= SD_DIR= SD_CG= SD_UNSHARE= SD_BOOT_MS= CONF=
	sd_boot || return 0
	echo "# systemd booted in $SD_BOOT_MS ms" >&3
	mkdir -m 755 "$SD_DIR/lib" "$SD_DIR/conf"
	CONF=$SD_DIR/conf/restart.conf
	printf '# a test\nhs-conf  a test: denied by the configuration file\n' \
	    >"$CONF"
	chmod 644 "$CONF"
}

teardown_file() {
	sd_stop
}

setup() {
	[ -n "$SD_PID" ] || skip "no real systemd here: ${SD_WHY:-unknown}"
	hs_setup
	LIB=$SD_DIR/lib/libhs.so
	sd systemctl stop hs-z-base hs-a-app hs-b-req lxcfs hs-conf \
	    hs-fdstore hs-fail hs-dm 2>/dev/null || true
	sd systemctl reset-failed 2>/dev/null || true
	rm -f "$SD_DIR/starts" "$SD_DIR/fail" "$LIB"
	cp "$HS_HELPERS/libvictim_v1.so" "$LIB"
}

teardown() {
	hs_teardown
}

# main_pid UNIT: its MainPID, as systemd has it.
main_pid() {
	sd systemctl show -p MainPID --value "$1.service"
}

# start_all UNIT...: start them on version 1 of the library, remember
# their main pids (PID_name), then replace the library with version 2.
start_all() {
	local u
	sd systemctl start "${@/%/.service}"
	for u in "$@"; do
		printf -v "PID_${u//-/_}" %s "$(main_pid "$u")"
	done
	"$HOTSWAP" install -q "$HS_HELPERS/libvictim_v2.so" "$LIB"
}

pid_of() {
	local v="PID_${1//-/_}"
	echo "${!v}"
}

run_restart() {
	run --separate-stderr sd "$HOTSWAP" restart --config "$CONF" "$@"
}

# line_no REGEX: the number of the first output line that matches.
line_no() {
	printf '%s\n' "$output" | grep -n -m1 -E "$1" | cut -d: -f1
}

@test "restart --list (the default): the plan in dependency order, denied units with reasons, nothing changed" {
	start_all $SERVICES
	run_restart
	echo "$output"
	[ "$status" -eq 1 ]
	base=$(line_no '^restart hs-z-base\.service')
	app=$(line_no '^restart hs-a-app\.service')
	req=$(line_no '^restart hs-b-req\.service')
	[ -n "$base" ] && [ -n "$app" ] && [ "$base" -lt "$app" ]
	[ -n "$req" ] && [ "$base" -lt "$req" ]
	[[ $output == *"denied lxcfs.service: containers read /proc through it"*"[built in]"* ]]
	[[ $output == *"denied hs-conf.service: a test: denied by the configuration file [$CONF:2]"* ]]
	[[ $output == *"'$LIB'"* ]]
	[[ ${lines[-1]} == "4 to restart, 2 denied, 0 not services; 6 stale processes" ]]
	for u in $SERVICES; do
		[ "$(main_pid "$u")" = "$(pid_of "$u")" ]
	done
	[ "$(wc -l <"$SD_DIR/starts")" -eq 6 ]
	! grep -q ' 2 ' "$SD_DIR/starts"
}

@test "restart --yes: stale services restarted in order, back on the new library; denied ones left alone; the fd-store one caught" {
	start_all $SERVICES
	run_restart --yes
	echo "$output"
	[ "$status" -eq 4 ]
	said=$output
	# Restarted, in the order the dependency gives (not by name).
	sed -n '7,$p' "$SD_DIR/starts" >new
	cat new
	[ "$(grep -E '^hs-(z-base|a-app) ' new | cut -d' ' -f1,2 |
	    tr '\n' ,)" = "hs-z-base 2,hs-a-app 2," ]
	for u in hs-z-base hs-a-app; do
		pid=$(main_pid "$u")
		[ "$pid" != "$(pid_of "$u")" ]
		grep -qx "$u 2 $pid" new
		[[ $said == *"restarted $u.service: main pid $pid maps none of the old files"* ]]
		# The library's own view: nothing stale in the new process.
		run sd "$HOTSWAP" stale -p "$pid"
		[ "$status" -eq 1 ]
	done
	# Restarted by systemd along with hs-z-base: once, and only checked.
	pid=$(main_pid hs-b-req)
	[ "$(grep -c '^hs-b-req ' new)" -eq 1 ]
	grep -qx "hs-b-req 2 $pid" new
	[[ $said == *"restarted (with a dependency) hs-b-req.service: main pid $pid maps none of the old files"* ]]
	# Denied: the same process, still on the old library.
	for u in lxcfs hs-conf; do
		[ "$(main_pid "$u")" = "$(pid_of "$u")" ]
		run sd "$HOTSWAP" stale -p "$(pid_of "$u")"
		[ "$status" -eq 0 ]
	done
	# The fd-store service came back on version 1: really stale (the
	# control), and the verification said so.
	pid=$(main_pid hs-fdstore)
	[ "$pid" != "$(pid_of hs-fdstore)" ]
	grep -qx "hs-fdstore 1 $pid" new
	run sd "$HOTSWAP" stale -p "$pid"
	[ "$status" -eq 0 ]
	[[ $output == *"$LIB"* ]]
	[[ $said == *"unverified hs-fdstore.service: main pid $pid still maps '$LIB'"* ]]
}

@test "restart --yes: the summary and exit status 4 name the unverified service" {
	start_all hs-z-base hs-fdstore
	run_restart --yes
	[ "$status" -eq 4 ]
	[[ ${lines[-1]} == "1 restarted, 0 failed, 1 unverified, 0 denied, 0 declined, 0 not services; 1 stale processes left" ]]
}

@test "restart --yes: exit 0 when nothing is left, 1 when denied units are" {
	start_all hs-z-base hs-a-app lxcfs
	run_restart --yes hs-z-base.service hs-a-app.service
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} == *"; 0 stale processes left" ]]
	run_restart --yes
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"denied lxcfs.service"* ]]
	[ "$(main_pid lxcfs)" = "$PID_lxcfs" ]
}

@test "restart: a unit denied by another of its names (display-manager.service) is left alone" {
	start_all hs-dm
	run_restart --yes
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"denied hs-dm.service: a display manager: a restart ends every graphical session [built in]"* ]]
	[ "$(main_pid hs-dm)" = "$PID_hs_dm" ]
}

@test "restart --yes: a failed restart is exit 3, and said" {
	start_all hs-fail hs-z-base
	touch "$SD_DIR/fail"
	run_restart --yes
	echo "$output"
	[ "$status" -eq 3 ]
	[[ $output == *"failed hs-fail.service: systemctl restart exited with status 1"* ]]
	[[ $output == *"restarted hs-z-base.service"* ]]
}

@test "restart --json: the plan with classes, order and reasons" {
	start_all $SERVICES
	run_restart --json
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.mode == "list" and .status == 1 and .planned == 4 and .denied == 2'
	echo "$output" | jq -e --arg lib "$LIB" '.units[] |
	    select(.unit == "hs-a-app.service") |
	    .class == "service" and .result == "planned" and
	    .after == ["hs-z-base.service"] and .files == [$lib]'
	echo "$output" | jq -e '.units[] | select(.unit == "lxcfs.service") |
	    .result == "denied" and (.reason | test("lxcfs|containers"))'
	echo "$output" | jq -e '[.units[].unit] | index("hs-z-base.service") < index("hs-a-app.service")'
}

@test "restart --interactive: refused without a terminal, asks on one (script(1))" {
	command -v script >/dev/null || skip "script(1) is not installed"
	start_all hs-z-base hs-a-app
	run_restart --interactive </dev/null
	[ "$status" -eq 2 ]
	[[ $stderr == *"--interactive needs a terminal on standard input"* ]]
	[ "$(main_pid hs-z-base)" = "$PID_hs_z_base" ]
	# Yes to the first (hs-z-base), no to the second.
	run script -qec "nsenter -t $SD_PID -m -p -C -r -w -- $HOTSWAP restart --interactive --config $CONF" /dev/null < <(printf 'y\nn\n')
	echo "$output"
	[[ $output == *"restart hs-z-base.service?"* ]]
	[[ $output == *"declined hs-a-app.service"* ]]
	[ "$(main_pid hs-z-base)" != "$PID_hs_z_base" ]
	[ "$(main_pid hs-a-app)" = "$PID_hs_a_app" ]
}

@test "restart: a process of a scope is listed as not a service, never restarted" {
	cp "$HS_HELPERS/libvictim_v1.so" "$SD_DIR/lib/libscope.so"
	mkfifo "$SD_DIR/vfifo"
	sd systemd-run --quiet --scope --unit=hs-scope -- \
	    "$HS_HELPERS/victim" "$SD_DIR/lib/libscope.so" >"$SD_DIR/vfifo" &
	track $!
	exec {fd}<"$SD_DIR/vfifo"
	rm -f "$SD_DIR/vfifo"
	read -r -t "$HS_TIMEOUT" -u "$fd" line
	[ "$line" = "ready 1" ]
	"$HOTSWAP" install -q "$HS_HELPERS/libvictim_v2.so" "$SD_DIR/lib/libscope.so"
	run_restart --yes hs-scope.scope
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"other hs-scope.scope: no systemd service: restart it by hand"* ]]
	victim=$(sd systemctl show -p ControlGroup --value hs-scope.scope)
	[ -n "$victim" ]
	sd systemctl stop hs-scope.scope
}

@test "restart: PID 1 is re-executed only with --reexec, and checked" {
	lib=$(sd grep -o '/[^ ]*libsystemd-shared[^ ]*\.so' /proc/1/maps | head -1)
	[ -n "$lib" ]
	# A new inode of the same library, in the overlay only.
	sd cp "$lib" "$lib.hs-new"
	sd "$HOTSWAP" install -q "$lib.hs-new" "$lib"
	run_restart --reexec init.scope
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == "reexec 1 systemd (pid 1; "*"'$lib'"* ]]
	run_restart --yes init.scope
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"pid1 1 systemd: systemctl daemon-reexec (hotswap restart --reexec does it)"* ]]
	run_restart --yes --reexec init.scope
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"restarted 1 systemd: main pid 1 maps none of the old files"* ]]
	run sd "$HOTSWAP" stale -p 1
	[ "$status" -eq 1 ]
}

@test "restart runs systemctl by its path, in an environment of its own, unit names after --" {
	start_all hs-z-base
	cat >"$SD_DIR/sc" <<-EOF
	#!/bin/sh
	{ echo "ARGS \$*"; env; } >>"$SD_DIR/sc.log"
	exec systemctl "\$@"
	EOF
	chmod 755 "$SD_DIR/sc"
	run env HS_SECRET=1 SYSTEMD_LOG_LEVEL=debug LD_PRELOAD= \
	    DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent \
	    PATH="/nonexistent:$PATH" \
	    nsenter -t "$SD_PID" -m -p -C -r -w -- "$HOTSWAP" restart --yes \
	    --config "$CONF" --systemctl "$SD_DIR/sc" hs-z-base.service
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$SD_DIR/sc.log"
	grep -qx 'ARGS show --property=Id,Names,After,Requires,BindsTo,Requisite,RefuseManualStop -- hs-z-base.service' "$SD_DIR/sc.log"
	grep -qx 'ARGS restart --no-ask-password -- hs-z-base.service' "$SD_DIR/sc.log"
	grep -qx 'ARGS show --property=MainPID --value -- hs-z-base.service' "$SD_DIR/sc.log"
	grep -qx 'PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$SD_DIR/sc.log"
	grep -qx 'LC_ALL=C' "$SD_DIR/sc.log"
	! grep -E '^(HS_SECRET|SYSTEMD_LOG_LEVEL|LD_PRELOAD|DBUS_|ASAN_)' "$SD_DIR/sc.log"
	rm -f "$SD_DIR/sc" "$SD_DIR/sc.log"
}

@test "restart never restarts the unit it runs under" {
	cp "$HS_HELPERS/libvictim_v1.so" "$SD_DIR/lib/libself.so"
	cat >"$SD_DIR/self.sh" <<-EOF
	mkfifo "$SD_DIR/self.fifo"
	"$HS_HELPERS/victim" "$SD_DIR/lib/libself.so" >"$SD_DIR/self.fifo" &
	read -r line <"$SD_DIR/self.fifo"
	rm -f "$SD_DIR/self.fifo"
	"$HOTSWAP" install -q "$HS_HELPERS/libvictim_v2.so" "$SD_DIR/lib/libself.so"
	"$HOTSWAP" restart --yes --config "$CONF" hs-self.service
	echo "status \$?"
	kill \$!
	EOF
	# A oneshot service: systemctl start returns when the script ended.
	sd systemctl start hs-self.service || { cat "$SD_DIR/self.out"; sd journalctl -u hs-self --no-pager | tail -20; false; }
	output=$(cat "$SD_DIR/self.out")
	echo "$output"
	[[ $output == *"denied hs-self.service: the unit this command runs under [/proc/self/cgroup]"* ]]
	[[ $output == *"status 1"* ]]
	rm -f "$SD_DIR/self.sh" "$SD_DIR/self.out"
}

# restart_systemd.bash - a real systemd for the tests of hotswap restart
# (restart.bats): /lib/systemd/systemd as PID 1 of a new pid, mount and
# cgroup namespace, booted from the host's own root made read-only by an
# overlay on tmpfs, into a target of its own (hs-test.target) that
# starts nothing but a unit that says "ready" on a FIFO.  No image is
# downloaded, nothing outside the namespaces changes but one cgroup,
# which sd_stop removes.  It boots in about a second.
#
#   sd_boot           boot, with the unit files that the caller's function
#                     sd_units DIR (if any) writes in DIR, which become
#                     /etc/systemd/system; sets SD_PID (its PID 1, as the
#                     host sees it) and SD_BOOT_MS, or says why it cannot
#                     (SD_WHY)
#   sd CMD...         run CMD inside (its mount, pid and cgroup namespace
#                     and root): systemctl, hotswap, cat...
#   sd_stop           kill it all, remove the cgroup and the directory
#
# Inside, the shared directory SD_DIR (the FIFO, the libraries, the logs)
# and the source tree HS_TOP (read-only: hotswap and the helpers) are at
# the same paths as outside.

# The cgroup v2 hierarchy to make ours in, or "".
sd_cgroup_root() {
	local d
	for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if [ "$(stat -fc %T "$d" 2>/dev/null)" = cgroup2fs ]; then
			echo "$d"
			return
		fi
	done
}

# sd_can_boot: 0, or 1 with SD_WHY saying what is missing.
sd_can_boot() {
	local cmd
	SD_WHY=
	[ "$(id -u)" -eq 0 ] || { SD_WHY="not root"; return 1; }
	[ -x /lib/systemd/systemd ] ||
		{ SD_WHY="/lib/systemd/systemd is not installed"; return 1; }
	for cmd in unshare nsenter chroot; do
		command -v "$cmd" >/dev/null ||
			{ SD_WHY="no $cmd(1)"; return 1; }
	done
	SD_CGROOT=$(sd_cgroup_root)
	[ -n "$SD_CGROOT" ] ||
		{ SD_WHY="no cgroup v2 hierarchy mounted"; return 1; }
	grep -qw overlay /proc/filesystems ||
		{ SD_WHY="the kernel has no overlayfs"; return 1; }
}

# The script that runs as the first process of the new namespaces and
# becomes systemd: it builds the root and execs.
sd_write_inner() {
	cat >"$SD_DIR/inner.sh" <<-'EOF'
	set -eu
	# On any failure before the exec: say so at once, not by a timeout.
	trap 'echo failed >"$SD_DIR/ready"' EXIT
	R=$SD_DIR/t/root
	mount -t tmpfs -o mode=755 tmpfs "$SD_DIR/t"
	mkdir "$SD_DIR/t/upper" "$SD_DIR/t/work" "$R"
	mount -t overlay overlay \
	    -o "lowerdir=/,upperdir=$SD_DIR/t/upper,workdir=$SD_DIR/t/work" "$R"
	for d in "$HS_TOP" "$SD_DIR"; do
		mkdir -p "$R$d"
		mount --bind "$d" "$R$d"
	done
	mount -o remount,bind,ro "$R$HS_TOP"
	cp -a "$SD_UNITS"/. "$R/etc/systemd/system/"
	exec env -i container=hotswap-test "$(command -v chroot)" "$R" \
	    /lib/systemd/systemd systemd.unit=hs-test.target \
	    systemd.unified_cgroup_hierarchy=1 --log-target=console \
	    --log-level=notice
	EOF
}

sd_write_target() {
	cat >"$1/hs-test.target" <<-EOF
	[Unit]
	Description=hotswap restart tests
	Wants=hs-ready.service
	EOF
	cat >"$1/hs-ready.service" <<-EOF
	[Unit]
	DefaultDependencies=no
	[Service]
	Type=oneshot
	ExecStart=/bin/sh -c 'echo ready >"$SD_DIR/ready"'
	EOF
}

sd_boot() {
	local line t0
	sd_can_boot || return 1
	SD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hs-sd.XXXXXX")
	chmod 755 "$SD_DIR"
	mkdir "$SD_DIR/t"
	SD_UNITS=$SD_DIR/units
	mkdir "$SD_UNITS"
	sd_write_target "$SD_UNITS"
	! declare -F sd_units >/dev/null || sd_units "$SD_UNITS"
	sd_write_inner
	mkfifo "$SD_DIR/ready"
	SD_CG=$SD_CGROOT/hs-restart-test.$$
	mkdir "$SD_CG" || { SD_WHY="cannot make a cgroup in $SD_CGROOT";
		return 1; }
	t0=$(date +%s%N)
	(
		echo "$BASHPID" >"$SD_CG/cgroup.procs" &&
		SD_DIR=$SD_DIR SD_UNITS=$SD_UNITS HS_TOP=$HS_TOP exec \
		    unshare --pid --mount --cgroup --fork \
		    --propagation private -- /bin/sh "$SD_DIR/inner.sh"
	) >"$SD_DIR/console" 2>&1 3>&- &
	SD_UNSHARE=$!
	# Read and write: the open never blocks, the read is bounded.
	exec {SD_FD}<>"$SD_DIR/ready"
	if ! read -r -t 30 -u "$SD_FD" line || [ "$line" != ready ]; then
		SD_WHY="systemd did not boot (${line:-no word in 30 s}):"
		SD_WHY+=" $(tail -n 3 "$SD_DIR/console" | tr '\n' ' ')"
		return 1
	fi
	SD_BOOT_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	SD_PID=$(cat "/proc/$SD_UNSHARE/task/$SD_UNSHARE/children")
	SD_PID=${SD_PID%% *}
	[ -n "$SD_PID" ] || { SD_WHY="no PID 1 under unshare"; return 1; }
}

sd() {
	nsenter -t "$SD_PID" -m -p -C -r -w -- "$@"
}

# Kill PID 1 (and with it every process of its pid namespace), then
# remove the cgroups it made, deepest first, and the directory.
sd_stop() {
	local d limit
	if [ -n "${SD_CG:-}" ] && [ -e "$SD_CG/cgroup.kill" ]; then
		echo 1 >"$SD_CG/cgroup.kill"
	fi
	if [ -n "${SD_UNSHARE:-}" ]; then
		kill -KILL "${SD_PID:-$SD_UNSHARE}" 2>/dev/null
		kill -KILL "$SD_UNSHARE" 2>/dev/null
		wait "$SD_UNSHARE" 2>/dev/null
	fi
	if [ -n "${SD_CG:-}" ] && [ -d "$SD_CG" ]; then
		# The kill is asynchronous: wait until the cgroup is empty.
		limit=$(( SECONDS + 10 ))
		until grep -qx 'populated 0' "$SD_CG/cgroup.events" ||
		    [ "$SECONDS" -gt "$limit" ]; do
			sleep 0.01
		done
		find "$SD_CG" -depth -type d -print0 |
		    while IFS= read -r -d '' d; do rmdir "$d"; done
	fi
	[ -z "${SD_DIR:-}" ] || rm -rf --one-file-system "$SD_DIR"
}

/*
 * class.c - what kind of process a stale one is, which says what to do
 * about it: restart a service, tell a user to log in again, reexec
 * init, leave a container to its own manager.  Each process is in
 * exactly one class (enum hs_class), chosen in this order:
 *
 *  1. PID 1 of our PID namespace: pid1 (systemctl daemon-reexec).
 *  2. A container: its cgroup path, in the levels only root makes,
 *     names a container manager's cgroup (below), or both its PID and
 *     its mount namespace differ from PID 1's (ours when PID 1's cannot
 *     be read).  One namespace alone is not enough: services run with
 *     PrivateTmp= or ProtectSystem= have a mount namespace of their own,
 *     and browser sandboxes a PID namespace of their own.
 *  3. From the systemd unit (hs_procinfo_unit(): the first component
 *     after the slices): user@UID.service, a user manager and all its
 *     units, is user; session-N.scope is session; any other *.service
 *     is service; anything else (init.scope, run-*.scope, no unit) is
 *     other.
 *
 * Trust: /proc/PID/cgroup is written by the kernel, but the path in it
 * is partly chosen by the process.  A process can move itself only into
 * a cgroup whose cgroup.procs it may write and that shares a writable
 * ancestor with its own: within what systemd delegated to it (a user's
 * user@UID.service, a unit with Delegate=yes, a container's subtree).
 * The slices and the unit directly under them are made by systemd (by
 * root), so they are all that is read here; the names below a unit are
 * never looked at.  What a process can do is make itself look like
 * less: a user's process may pose as a container of its own (it is
 * never restarted either way), never as a system service, a session or
 * another user's manager.  The path is shown relative to our own cgroup
 * namespace; one we cannot see into shows as "/.." components, which
 * are no valid unit: other.
 *
 * Container managers' cgroups (systemd and cgroupfs drivers):
 *  - a slice "machine.slice" (systemd-nspawn, machinectl, libvirt,
 *    podman as root) or "kubepods*.slice" (kubelet);
 *  - a unit "docker-*.scope", "libpod-*.scope", "crio-*.scope",
 *    "cri-containerd-*.scope", "machine-*.scope";
 *  - a first component "docker", "lxc", "lxc.payload.*",
 *    "lxc.monitor.*", "kubepods", "libpod_parent", "machine" (cgroupfs).
 */
#include <string.h>

#include "scan.h"

/* clang-format off */
static const char *const class_names[] = {
	[HS_CLASS_OTHER] = "other",
	[HS_CLASS_SERVICE] = "service",
	[HS_CLASS_SESSION] = "session",
	[HS_CLASS_USER] = "user",
	[HS_CLASS_CONTAINER] = "container",
	[HS_CLASS_PID1] = "pid1",
};

static const char *const top_exact[] = {
	"docker", "lxc", "kubepods", "libpod_parent", "machine",
};

static const char *const top_prefix[] = {
	"lxc.payload.", "lxc.monitor.",
};

static const char *const scope_prefix[] = {
	"docker-", "libpod-", "crio-", "cri-containerd-", "machine-",
};
/* clang-format on */

#define NELEM(a) (sizeof(a) / sizeof(*(a)))

const char *
hs_class_name(int cls)
{
	if (cls < 0 || (size_t)cls >= NELEM(class_names))
		return "other";
	return class_names[cls];
}

static int
is(const char *c, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(c, word, n) == 0;
}

static int
starts(const char *c, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n > k && memcmp(c, prefix, k) == 0;
}

static int
ends(const char *c, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && memcmp(c + n - k, suffix, k) == 0;
}

static int
container_top(const char *c, size_t n)
{
	size_t i;

	for (i = 0; i < NELEM(top_exact); i++)
		if (is(c, n, top_exact[i]))
			return 1;
	for (i = 0; i < NELEM(top_prefix); i++)
		if (starts(c, n, top_prefix[i]))
			return 1;
	return 0;
}

static int
container_scope(const char *c, size_t n)
{
	size_t i;

	if (!ends(c, n, ".scope"))
		return 0;
	for (i = 0; i < NELEM(scope_prefix); i++)
		if (starts(c, n, scope_prefix[i]))
			return 1;
	return 0;
}

/*
 * 1 if the cgroup path [p, end) is a container manager's (see the top
 * of the file): its first component, its slices, and the first
 * component after them; nothing deeper is read.
 */
static int
container_path(const char *p, const char *end)
{
	const char *c, *slash;
	size_t n;
	int first = 1;

	for (c = p; c < end; c = slash, first = 0) {
		while (c < end && *c == '/')
			c++;
		if ((slash = memchr(c, '/', (size_t)(end - c))) == NULL)
			slash = end;
		n = (size_t)(slash - c);
		if (n == 0)
			return 0;
		if (first && container_top(c, n))
			return 1;
		if (is(c, n, "machine.slice") ||
		    (starts(c, n, "kubepods") && ends(c, n, ".slice")))
			return 1;
		if (!ends(c, n, ".slice"))
			return container_scope(c, n);
	}
	return 0;
}

/* The path of the line hs_procinfo_unit() reads: "0::", else v1's. */
static const char *
cgroup_path(const char *cgroup, const char **end)
{
	const char *line, *nl, *v1 = NULL, *v1end = NULL, *p;

	for (line = cgroup; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		if (strncmp(line, "0::", 3) == 0) {
			*end = nl;
			return line + 3;
		}
		p = strstr(line, ":name=systemd:");
		if (v1 == NULL && p != NULL && p < nl) {
			v1 = p + strlen(":name=systemd:");
			v1end = nl;
		}
		if (*nl == '\0')
			break;
	}
	*end = v1end;
	return v1;
}

/* The class a unit name (from hs_procinfo_unit(), or "") stands for. */
static int
class_of_unit(const char *unit)
{
	size_t n = strlen(unit);

	if (starts(unit, n, "user@") && ends(unit, n, ".service"))
		return HS_CLASS_USER;
	if (starts(unit, n, "session-") && ends(unit, n, ".scope"))
		return HS_CLASS_SESSION;
	if (ends(unit, n, ".service"))
		return HS_CLASS_SERVICE;
	return HS_CLASS_OTHER;
}

/*
 * The class of a process from the text of its /proc/PID/cgroup and the
 * unit found in it, before namespaces and PID 1 are considered (those
 * are hs_class_of()'s).
 */
int
hs_class_cgroup(const char *cgroup, const char *unit)
{
	const char *p, *end;

	if (cgroup != NULL && (p = cgroup_path(cgroup, &end)) != NULL &&
	    container_path(p, end))
		return HS_CLASS_CONTAINER;
	return class_of_unit(unit);
}

/*
 * The class of a process: pid, the class of its cgroup, and whether its
 * PID and mount namespaces differ from PID 1's (1 yes, 0 no, -1
 * unknown: taken as no).
 */
int
hs_class_of(pid_t pid, int cgroup_class, int other_pidns, int other_mntns)
{
	if (pid == 1)
		return HS_CLASS_PID1;
	if (cgroup_class == HS_CLASS_CONTAINER ||
	    (other_pidns == 1 && other_mntns == 1))
		return HS_CLASS_CONTAINER;
	return cgroup_class;
}

/*
 * proc.c - what a reported process is: command name, owner, start
 * time, mount namespace, systemd unit, class (class.c), whether a
 * mapped file is its executable.  Read only for processes that have
 * something to report, by name relative to /proc (PID/stat...: no
 * descriptor of the PID's directory to open and close), then checked
 * with hs_scan_alive(): if the maps descriptor still sees the process,
 * the PID was not reused and all of it is about the process whose
 * mappings were read.
 * Anything else that cannot be read is left unknown: never an error.
 */
#include <sys/stat.h>
#include <linux/openat2.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "sys.h"

#define SMALL_READ 4096

/*
 * Read a small /proc file of the current process (PID/name),
 * NUL-terminated; -1 on error.  These files are generated whole by one
 * show function, so one read(2) into a buffer larger than the file gets
 * all of it: no second read to see the end.
 */
ssize_t
hs_scan_read_small(struct hs_scan *s, const char *name, char *buf, size_t len)
{
	char path[48];
	ssize_t n;
	int fd, serrno;

	(void)snprintf(path, sizeof(path), "%s/%s", s->pidname, name);
	if ((fd = hs_openat(s->procfd, path, O_RDONLY, 0)) == -1)
		return -1;
	do
		n = hs_sys.read(fd, buf, len - 1);
	while (n == -1 && errno == EINTR);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/*
 * fstat name, resolved by openat2(2) from dirfd with resolve (RESOLVE_*)
 * and never through a magic link: a name a scanned process chose, looked
 * up as that process would and no further.  -1 with errno; ENOSYS before
 * Linux 5.6.
 */
int
hs_scan_stat_in(int dirfd, const char *name, unsigned long long resolve,
    struct stat *st)
{
	struct open_how how;
	int fd, r, serrno;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = resolve | RESOLVE_NO_MAGICLINKS;
	do
		fd = hs_sys.openat2(dirfd, name, &how, sizeof(how));
	while (fd == -1 && (errno == EINTR || errno == EAGAIN));
	if (fd == -1)
		return -1;
	r = hs_sys.fstat(fd, st);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

/*
 * Parse /proc/PID/stat: the command name is between the first '(' and
 * the LAST ')', since it may itself hold ')' and spaces; the start time
 * is field 22, the 20th after that ')'.
 */
int
hs_procinfo_stat(const char *stat, char *comm, size_t commlen,
    uint64_t *start_time)
{
	const char *open, *close, *p;
	size_t len;
	char *end;
	int field;

	if ((open = strchr(stat, '(')) == NULL ||
	    (close = strrchr(stat, ')')) == NULL || close < open)
		return -1;
	len = (size_t)(close - open - 1);
	if (len >= commlen)
		len = commlen - 1;
	memcpy(comm, open + 1, len);
	comm[len] = '\0';
	p = close + 1;
	for (field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*start_time = strtoull(p, &end, 10);
	return errno == 0 && (*end == ' ' || *end == '\n' || *end == '\0') ? 0 :
									     -1;
}

/*
 * The start and end of the program's text, fields 26 and 27 of
 * /proc/PID/stat (0 when the kernel does not show them to us).
 */
int
hs_procinfo_code(const char *stat, uint64_t *start, uint64_t *end)
{
	const char *p;
	char *e;
	int field;

	*start = *end = 0;
	if ((p = strrchr(stat, ')')) == NULL)
		return -1;
	p++;
	for (field = 3; field < 26; field++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	errno = 0;
	*start = strtoull(p, &e, 10);
	if (errno != 0 || e == p || *e != ' ')
		return -1;
	p = e;
	*end = strtoull(p, &e, 10);
	if (errno != 0 || e == p)
		return -1;
	return 0;
}

/*
 * systemd's unit types, which a unit name ends with: unit_name_is_valid()
 * in systemd's src/basic/unit-name.c.
 */
/* clang-format off */
static const char *const unit_types[] = {
	"service", "mount", "swap", "socket", "target", "device",
	"automount", "timer", "path", "slice", "scope",
};
/* clang-format on */

#define UNIT_NAME_MAX 256 /* systemd's, the NUL included */

/* c is a character systemd allows in a unit name ("@" aside). */
static int
unit_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == ':' || c == '-' || c == '_' ||
	    c == '.' || c == '\\';
}

/*
 * Whether [s, s + len) is a unit name that systemd itself accepts for a
 * running unit, plain or an instance (unit_name_is_valid() with
 * UNIT_NAME_PLAIN | UNIT_NAME_INSTANCE): fewer than 256 bytes of
 * [A-Za-z0-9:_.\\@-], a known type after the last '.', no '@' first
 * and, after the first '@', an instance.  Stricter than
 * systemd in one point: no '-' first (the root slice "-.slice" and mount
 * "-.mount"), since a shell would pass such a name to systemctl(1) as an
 * option.  *type: the index in unit_types[].
 */
static int
unit_name_ok(const char *s, size_t len, size_t *type)
{
	const char *dot = NULL, *at = NULL, *p;
	size_t i;

	if (len == 0 || len >= UNIT_NAME_MAX || s[0] == '-' || s[0] == '@')
		return 0;
	for (p = s; p < s + len; p++)
		if (*p == '.')
			dot = p;
	if (dot == NULL || dot == s)
		return 0;
	for (p = s; p < dot; p++) {
		if (*p == '@' && at == NULL)
			at = p;
		else if (*p != '@' && !unit_char(*p))
			return 0;
	}
	if (at != NULL && at + 1 == dot)
		return 0; /* a template, "foo@.service": never running */
	for (i = 0; i < sizeof(unit_types) / sizeof(*unit_types); i++)
		if (strlen(unit_types[i]) == (size_t)(s + len - dot - 1) &&
		    memcmp(dot + 1, unit_types[i],
			(size_t)(s + len - dot - 1)) == 0) {
			*type = i;
			return 1;
		}
	return 0;
}

/*
 * The unit of one cgroup path [p, end), as systemd's cg_path_get_unit()
 * finds it: skip the slices from the root ("/system.slice/",
 * "/user.slice/user-1000.slice/"), and the next component is the unit,
 * if it is a valid name that is not a slice.  Only systemd (root) makes
 * the directories down to there; below a unit's own cgroup the names
 * are chosen by whoever the unit delegates to (user@1000.service,
 * containers), so they are never taken for a unit: the unit of a
 * process in ".../user@1000.service/app.slice/x.service" is
 * user@1000.service.  A name that systemd escaped for cgroupfs (a '_'
 * put first, cg_escape()) is taken without it.
 */
static int
unit_of_path(const char *p, const char *end, char *unit, size_t len)
{
	const char *c, *slash;
	size_t n, type;

	for (c = p;; c = slash) {
		while (c < end && *c == '/')
			c++;
		if ((slash = memchr(c, '/', (size_t)(end - c))) == NULL)
			slash = end;
		n = (size_t)(slash - c);
		if (n > 0 && *c == '_')
			c++, n--;
		if (!unit_name_ok(c, n, &type))
			return -1;
		if (strcmp(unit_types[type], "slice") != 0)
			break;
	}
	if (n >= len)
		return -1;
	memcpy(unit, c, n);
	unit[n] = '\0';
	return 0;
}

/*
 * The systemd unit of a process from /proc/PID/cgroup (see
 * unit_of_path()), on the cgroup v2 line ("0::") or else the v1
 * "name=systemd" line; "" and -1 if it has none that systemd would
 * call valid.
 */
int
hs_procinfo_unit(const char *cgroup, char *unit, size_t len)
{
	const char *line, *nl, *path;
	int r = -1;

	unit[0] = '\0';
	for (line = cgroup; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		if (strncmp(line, "0::", 3) == 0) {
			if (unit_of_path(line + 3, nl, unit, len) == 0)
				return 0;
		} else if (r == -1 &&
		    (path = strstr(line, ":name=systemd:")) != NULL &&
		    path < nl &&
		    unit_of_path(path + strlen(":name=systemd:"), nl, unit,
			len) == 0)
			r = 0;
		if (*nl == '\0')
			break;
	}
	return r;
}

/* 1 if the current process lives in another mount namespace than we. */
int
hs_procinfo_mntns(struct hs_scan *s)
{
	struct stat st;
	char path[32];

	if (s->mntns_known)
		return s->proc.other_mntns;
	s->mntns_known = 1;
	s->proc.other_mntns = -1;
	(void)snprintf(path, sizeof(path), "%s/ns/mnt", s->pidname);
	if (s->self_mntns_ok && hs_sys.fstatat(s->procfd, path, &st, 0) == 0)
		s->proc.other_mntns = st.st_dev != s->self_mntns_dev ||
		    st.st_ino != s->self_mntns_ino;
	return s->proc.other_mntns;
}

/* 1 if PID/ns/NAME is not (dev, ino), 0 if it is, -1 if unknown. */
static int
ns_differs(struct hs_scan *s, const char *name, int ok, dev_t dev, ino_t ino)
{
	struct stat st;
	char path[40];

	if (!ok)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/ns/%s", s->pidname, name);
	if (hs_sys.fstatat(s->procfd, path, &st, 0) == -1)
		return -1;
	return st.st_dev != dev || st.st_ino != ino;
}

/*
 * s->proc.cls from the process's cgroup text (or NULL) and unit; the
 * namespaces are asked only when the cgroup does not already say.
 */
static void
procinfo_class(struct hs_scan *s, const char *cgroup)
{
	int cls = hs_class_cgroup(cgroup, s->proc.unit), pidns = -1, mntns;

	if (s->proc.pid != 1 && cls != HS_CLASS_CONTAINER &&
	    (pidns = ns_differs(s, "pid", s->ref_ns_ok & 1, s->ref_pidns_dev,
		 s->ref_pidns_ino)) == 1) {
		mntns = ns_differs(s, "mnt", s->ref_ns_ok & 2, s->ref_mntns_dev,
		    s->ref_mntns_ino);
		s->proc.cls = hs_class_of(s->proc.pid, cls, pidns, mntns);
		return;
	}
	s->proc.cls = hs_class_of(s->proc.pid, cls, pidns, -1);
}

/*
 * Mark the mappings of the process's executable.  The kernel sets the
 * program's text range (start_code in stat) inside the executable
 * mapping of its executable, so the file mapped there is it: no need
 * to follow /proc/PID/exe, unless stat does not show the range.  The
 * other mappings of the same inode number are it too (the devices may
 * be in different views, see hotswap.h).
 */
void
hs_procinfo_exe(struct hs_scan *s, uint64_t code)
{
	struct stat st;
	char path[32];
	ino_t ino = 0;
	size_t i;

	for (i = 0; code != 0 && i < s->nmaps; i++)
		if (s->maps[i].start <= code && code < s->maps[i].end &&
		    (s->maps[i].kind & HS_MAP_CODE))
			ino = s->maps[i].ino;
	if (code == 0) {
		(void)snprintf(path, sizeof(path), "%s/exe", s->pidname);
		if (hs_sys.fstatat(s->procfd, path, &st, 0) == -1)
			return;
		ino = st.st_ino;
	}
	for (i = 0; ino != 0 && i < s->nmaps; i++)
		if (s->maps[i].ino == ino)
			s->maps[i].kind |= HS_MAP_EXE;
}

/*
 * Fill s->proc.  The owner is that of the maps file, which the kernel
 * gives the process's effective uid (root for a process that is not
 * dumpable), as ps(1) and fuser(1) show it: one fstat(2) on a
 * descriptor already open, where the real uid would take reading
 * status.  -1 with ESRCH if the process is gone meanwhile.
 *
 * Same process: stat is read last.  If it shows a process that started
 * before the walk did, that process held the PID from before the maps
 * were opened until now, so everything read is about it; only a process
 * younger than the walk (or whose stat could not be read) needs the
 * check of hs_scan_alive().
 */
int
hs_procinfo(struct hs_scan *s, pid_t pid)
{
	char buf[SMALL_READ];
	struct stat st;
	uint64_t code, code_end;
	int other_mntns = s->proc.other_mntns, known = s->mntns_known, ok;

	memset(&s->proc, 0, sizeof(s->proc));
	s->proc.pid = pid;
	s->proc.other_mntns = other_mntns;
	s->proc.dropped = s->walk == HS_WALK_STALE ? s->dropped : 0;
	s->proc.uid = hs_sys.fstat(s->mapsfd, &st) == 0 ? st.st_uid : (uid_t)-1;
	if (!(s->flags & HS_SCAN_BRIEF) || s->walk == HS_WALK_STALE) {
		(void)hs_procinfo_mntns(s);
		if (hs_scan_read_small(s, "cgroup", buf, sizeof(buf)) > 0)
			(void)hs_procinfo_unit(buf, s->proc.unit,
			    sizeof(s->proc.unit));
		else
			buf[0] = '\0';
		procinfo_class(s, buf);
	} else if (!known)
		s->proc.other_mntns = -1;
	ok = hs_scan_read_small(s, "stat", buf, sizeof(buf)) > 0 &&
	    hs_procinfo_stat(buf, s->proc.comm, sizeof(s->proc.comm),
		&s->proc.start_time) == 0;
	if (!ok)
		s->proc.start_time = 0;
	if (hs_procinfo_code(buf, &code, &code_end) == -1)
		code = 0;
	hs_procinfo_exe(s, code); /* code 0: reads PID/exe, after stat */
	if (ok && code != 0 && s->proc.start_time + 1 <= s->walk_ticks)
		return 0;
	return hs_scan_alive(s);
}

/*
 * For a process the BPF walk found (s->proc filled from its record): its
 * mount namespace and unit, unless HS_SCAN_BRIEF, read by name; then its
 * stat, whose start time must still be the walk's, or the PID was
 * reused meanwhile: -1 with ESRCH.
 */
int
hs_procinfo_named(struct hs_scan *s, uint64_t start_time)
{
	char buf[SMALL_READ], comm[sizeof(s->proc.comm)];
	uint64_t now;

	if (s->flags & HS_SCAN_BRIEF)
		return 0;
	(void)hs_procinfo_mntns(s);
	if (hs_scan_read_small(s, "cgroup", buf, sizeof(buf)) > 0)
		(void)hs_procinfo_unit(buf, s->proc.unit, sizeof(s->proc.unit));
	else
		buf[0] = '\0';
	procinfo_class(s, buf);
	if (hs_scan_read_small(s, "stat", buf, sizeof(buf)) <= 0 ||
	    hs_procinfo_stat(buf, comm, sizeof(comm), &now) == -1 ||
	    now != start_time) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

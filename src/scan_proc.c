/*
 * scan_proc.c - what a reported process is: command name, real uid,
 * start time, mount namespace, systemd unit, whether a mapped file is
 * its executable.  Read only for processes that have something to
 * report, through the /proc/PID descriptor the mappings came from.
 * Anything that cannot be read is left unknown: never an error.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "sys.h"

#define SMALL_READ	4096

/* Read the start of a small /proc file, NUL-terminated; -1 on error. */
static ssize_t
read_small(int dirfd, const char *name, char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n = 0;
	int fd, serrno;

	if ((fd = hs_openat(dirfd, name, O_RDONLY, 0)) == -1)
		return -1;
	while (done < len - 1) {
		n = hs_sys.read(fd, buf + done, len - 1 - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	buf[done] = '\0';
	return done == 0 && n == -1 ? -1 : (ssize_t)done;
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
	return errno == 0 && (*end == ' ' || *end == '\n' || *end == '\0') ?
	    0 : -1;
}

static int
unit_suffix(const char *s, size_t len)
{
	static const char *const sfx[] = {
		".service", ".scope", ".socket", ".mount", ".swap",
	};
	size_t i, n;

	for (i = 0; i < sizeof(sfx) / sizeof(*sfx); i++) {
		n = strlen(sfx[i]);
		if (len > n && memcmp(s + len - n, sfx[i], n) == 0)
			return 1;
	}
	return 0;
}

/* The deepest unit-like component of one cgroup path [p, end). */
static int
unit_of_path(const char *p, const char *end, char *unit, size_t len)
{
	const char *c, *slash;
	int found = 0;

	for (c = p; c < end; c = slash + 1) {
		if ((slash = memchr(c, '/', (size_t)(end - c))) == NULL)
			slash = end;
		if (unit_suffix(c, (size_t)(slash - c)) &&
		    (size_t)(slash - c) < len) {
			memcpy(unit, c, (size_t)(slash - c));
			unit[slash - c] = '\0';
			found = 1;
		}
	}
	return found ? 0 : -1;
}

/*
 * The systemd unit of a process from /proc/PID/cgroup: the deepest path
 * component ending in .service, .scope, .socket, .mount or .swap, on the
 * cgroup v2 line ("0::") or else the v1 "name=systemd" line.
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
		if (strncmp(line, "0::", 3) == 0)
			path = line + 3;
		else if ((path = strstr(line, ":name=systemd:")) != NULL &&
		    path < nl)
			path += strlen(":name=systemd:");
		else
			path = NULL;
		if (path != NULL && unit_of_path(path, nl, unit, len) == 0)
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

	s->proc.other_mntns = -1;
	if (s->self_mntns_ok &&
	    hs_sys.fstatat(s->pdir, "ns/mnt", &st, 0) == 0)
		s->proc.other_mntns = st.st_dev != s->self_mntns_dev ||
		    st.st_ino != s->self_mntns_ino;
	return s->proc.other_mntns;
}

/* The real uid from the "Uid:" line, else the owner of /proc/PID. */
static uid_t
real_uid(struct hs_scan *s, char *buf, size_t len)
{
	struct stat st;
	char *p, *end;
	unsigned long v;

	if (read_small(s->pdir, "status", buf, len) > 0 &&
	    (p = strstr(buf, "\nUid:")) != NULL) {
		p += 5;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno == 0 && end != p && v < (uid_t)-1)
			return (uid_t)v;
	}
	if (hs_sys.fstat(s->pdir, &st) == 0)
		return st.st_uid;
	return (uid_t)-1;
}

/*
 * The executable is mapped by the process: a mapping with the same inode
 * number is it (the devices may be in different views, see hotswap.h).
 */
static void
mark_exe(struct hs_scan *s)
{
	struct stat st;
	size_t i;

	if (hs_sys.fstatat(s->pdir, "exe", &st, 0) == -1)
		return;
	for (i = 0; i < s->nmaps; i++)
		if (s->maps[i].ino == st.st_ino)
			s->maps[i].kind |= HS_MAP_EXE;
}

void
hs_procinfo(struct hs_scan *s, pid_t pid)
{
	char buf[SMALL_READ];
	int serrno = errno;

	memset(&s->proc, 0, sizeof(s->proc));
	s->proc.pid = pid;
	if (read_small(s->pdir, "stat", buf, sizeof(buf)) <= 0 ||
	    hs_procinfo_stat(buf, s->proc.comm, sizeof(s->proc.comm),
	    &s->proc.start_time) == -1)
		s->proc.start_time = 0;
	s->proc.uid = real_uid(s, buf, sizeof(buf));
	(void)hs_procinfo_mntns(s);
	if (read_small(s->pdir, "cgroup", buf, sizeof(buf)) > 0)
		(void)hs_procinfo_unit(buf, s->proc.unit,
		    sizeof(s->proc.unit));
	mark_exe(s);
	errno = serrno;
}

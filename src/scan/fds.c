/*
 * fds.c - stale descriptors: regular files a process holds open, read
 * only, whose name now names another file or nothing (checkrestart's
 * check): a Java program's open .jar, a data file loaded at start.  They
 * are reported as pseudo-mappings of kind HS_MAP_FD | HS_MAP_DELETED or
 * HS_MAP_REPLACED, with the descriptor's number in offset.
 *
 * Read only from /proc, and nothing is opened but the directory
 * /proc/PID/fd: each entry is readlinkat(2)'d for the name the kernel
 * gives the open file and fstatat(2)'d for its inode (a stat through the
 * magic link, which the kernel answers from the open file without
 * opening anything); /proc/PID/fdinfo/N is read only for a stale
 * candidate, for its open flags.  The name is judged like a mapping's
 * (stale.c: in our view, or under the process's root in another mount
 * namespace).
 *
 * Not reported, as they are not installed code or data:
 *  - anything but a regular file (sockets, pipes, devices, anon inodes);
 *  - a descriptor open for writing (O_WRONLY, O_RDWR): logs, databases,
 *    temporary files a program writes; a rotated or deleted log is not
 *    an upgrade;
 *  - names under /tmp/, /var/tmp/, /dev/ (/dev/shm), /proc/, /sys/,
 *    memfd: and SysV memory (hs_stale_tmpname()), and O_TMPFILE files
 *    ("/dir/#INO (deleted)").
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "sys.h"

#define FD_DENTS    8192
#define DELETED	    " (deleted)"
#define DELETED_LEN (sizeof(DELETED) - 1)

/* clang-format off */
static const char *const tmp_prefix[] = {
	"/tmp/", "/var/tmp/", "/dev/", "/proc/", "/sys/", "/memfd:",
	"/SYSV",
};
/* clang-format on */

/*
 * 1 if the name [name, name + len) (without " (deleted)") is a temporary
 * or virtual file's, never an installed one's: see the top of the file.
 */
int
hs_stale_tmpname(const char *name, size_t len)
{
	const char *base;
	size_t i, k;

	for (i = 0; i < sizeof(tmp_prefix) / sizeof(*tmp_prefix); i++) {
		k = strlen(tmp_prefix[i]);
		if (len >= k && memcmp(name, tmp_prefix[i], k) == 0)
			return 1;
	}
	base = memrchr(name, '/', len);
	base = base != NULL ? base + 1 : name;
	k = (size_t)(name + len - base);
	if (k < 2 || base[0] != '#')
		return 0;
	for (i = 1; i < k; i++)
		if (base[i] < '0' || base[i] > '9')
			return 0;
	return 1; /* O_TMPFILE: "#" and the inode number */
}

/* The open flags of descriptor fd, from fdinfo; -1 if unknown. */
static long
fd_flags(struct hs_scan *s, const char *fd)
{
	char path[64], buf[256], *p, *end;
	ssize_t n;
	long flags;
	int f;

	(void)snprintf(path, sizeof(path), "%s/fdinfo/%s", s->pidname, fd);
	if ((f = hs_openat(s->procfd, path, O_RDONLY, 0)) == -1)
		return -1;
	do
		n = hs_sys.read(f, buf, sizeof(buf) - 1);
	while (n == -1 && errno == EINTR);
	(void)hs_close(f);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nflags:\t")) == NULL)
		return -1;
	errno = 0;
	flags = strtol(p + 8, &end, 8);
	return errno == 0 && end != p + 8 ? flags : -1;
}

/* Keep descriptor fd (number num) with its verdict v. */
static int
keep_fd(struct hs_scan *s, const char *name, size_t namelen,
    const struct stat *st, unsigned long num, int v)
{
	struct hs_maps_rec rec;

	if (s->nmaps >= STALE_MAPS_MAX ||
	    s->nameslen + namelen + 1 > STALE_NAMES_MAX) {
		s->dropped++; /* as many as the open files limit allows */
		return 0;
	}
	memset(&rec, 0, sizeof(rec));
	rec.dev = st->st_dev;
	rec.ino = st->st_ino;
	rec.offset = num;
	return hs_scan_add(s, &rec, HS_MAP_FD | (unsigned int)v, 0, name,
	    namelen);
}

/* One entry of PID/fd: -1 only on ENOMEM. */
static int
one_fd(struct hs_scan *s, int dirfd, const char *fd)
{
	char name[PATH_MAX + 1];
	struct stat st;
	size_t len, namelen;
	long flags;
	ssize_t n;
	int v;

	if (fd[0] < '0' || fd[0] > '9')
		return 0;
	n = hs_sys.readlinkat(dirfd, fd, name, sizeof(name) - 1);
	if (n <= 0 || name[0] != '/')
		return 0; /* gone, or socket:[...], pipe:[...], anon_inode */
	len = (size_t)n;
	name[len] = '\0';
	namelen = len;
	if (len > DELETED_LEN &&
	    memcmp(name + len - DELETED_LEN, DELETED, DELETED_LEN) == 0)
		namelen = len - DELETED_LEN;
	if (hs_stale_tmpname(name, namelen) ||
	    hs_sys.fstatat(dirfd, fd, &st, 0) == -1 || !S_ISREG(st.st_mode))
		return 0;
	if ((v = hs_stale_judge(s, name, len, namelen, st.st_dev, st.st_ino)) ==
	    -2)
		return -1;
	if (v <= 0)
		return 0;
	if ((flags = fd_flags(s, fd)) == -1 || (flags & O_ACCMODE) != O_RDONLY)
		return 0; /* written, or gone: not code or data it runs */
	return keep_fd(s, name, namelen, &st, strtoul(fd, NULL, 10), v);
}

/*
 * Collect the current process's stale descriptors after its stale
 * mappings.  A process whose descriptors cannot be listed (another
 * user's, as nobody) is left as its maps made it: never an error but
 * ENOMEM.
 */
int
hs_stale_fds(struct hs_scan *s)
{
	char path[32], buf[FD_DENTS];
	const struct hs_dirent64 *d;
	ssize_t n, off;
	int dirfd, r = 0;

	(void)snprintf(path, sizeof(path), "%s/fd", s->pidname);
	dirfd = hs_openat(s->procfd, path, O_RDONLY | O_DIRECTORY, 0);
	if (dirfd == -1)
		return 0;
	while (r == 0) {
		do
			n = hs_sys.getdents64(dirfd, buf, sizeof(buf));
		while (n == -1 && errno == EINTR);
		if (n <= 0)
			break;
		for (off = 0; off < n && r == 0; off += d->d_reclen) {
			d = (const struct hs_dirent64 *)(buf + off);
			r = one_fd(s, dirfd, d->d_name);
		}
	}
	(void)hs_close(dirfd);
	return r;
}

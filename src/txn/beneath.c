/*
 * beneath.c - directories beneath a transaction's root: opened without
 * following a symbolic link or "..", and named by the path the kernel
 * gives an open one.  Staging (txn.c) names each destination's directory
 * for the journal; the barrier and every replay (recover.c) reach those
 * names again from the root's descriptor.
 */
#include <sys/stat.h>
#include <linux/openat2.h>
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "txn.h"
#include "sys.h"

int
hs_fd_path(int fd, char *buf, size_t len)
{
	char proc[64];
	ssize_t n;

	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = hs_sys.readlinkat(AT_FDCWD, proc, buf, len - 1);
	if (n == -1)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* 1 if dirfd/name is a symbolic link; errno is kept. */
static int
is_link(int dirfd, const char *name)
{
	struct stat st;
	int serrno = errno, r;

	r = hs_sys.fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode);
	errno = serrno;
	return r;
}

/*
 * The fallback for kernels before openat2(2) (Linux 5.6), or where a
 * seccomp filter refuses it: one component at a time from rootfd, each
 * opened with O_NOFOLLOW; "", "." and ".." are refused.  Mount points
 * are crossed, as openat2 crosses them without RESOLVE_NO_XDEV.
 */
static int
walk_beneath(int rootfd, const char *rel)
{
	char buf[PATH_MAX], *p, *slash;
	int fd, next, last = 0;

	if (strlcpy(buf, rel, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (strcmp(buf, ".") == 0)
		return hs_openat(rootfd, ".", O_RDONLY | O_DIRECTORY, 0);
	fd = rootfd;
	for (p = buf; !last; p = slash + 1) {
		if ((slash = strchr(p, '/')) == NULL)
			slash = p + strlen(p), last = 1;
		*slash = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
			errno = EINVAL;
			next = -1;
		} else
			next = hs_openat(fd, p,
			    (last ? O_RDONLY : O_PATH) | O_DIRECTORY |
				O_NOFOLLOW,
			    0);
		if (next == -1 && errno == ENOTDIR && is_link(fd, p))
			errno = ELOOP; /* as openat2 says it */
		if (fd != rootfd)
			(void)hs_close(fd);
		if ((fd = next) == -1)
			return -1;
	}
	return fd;
}

/* 1 if rel is "." or components without "", "." or "..". */
static int
plain_rel(const char *rel)
{
	const char *p;
	size_t n;

	if (strcmp(rel, ".") == 0)
		return 1;
	for (p = rel;; p += n + 1) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (p[n] == '\0')
			return 1;
	}
}

/*
 * RESOLVE_NO_SYMLINKS, not only RESOLVE_NO_MAGICLINKS: the journal's
 * directories are named by the path the kernel reported for them while
 * staging, which has no symbolic link in it, so a link found there now
 * was put there since, perhaps by the user who owns the directory, and
 * would redirect the replay to a directory of someone else's.
 */
int
hs_open_beneath(int rootfd, const char *rel)
{
	struct open_how how;
	int fd, tries = 0;

	/* RESOLVE_BENEATH alone would let "a/../b" through. */
	if (!plain_rel(rel)) {
		errno = EINVAL;
		return -1;
	}
	memset(&how, 0, sizeof(how));
	/* No O_NOFOLLOW: RESOLVE_NO_SYMLINKS covers the last component. */
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	/* EAGAIN: a rename elsewhere raced the lookup; a few tries. */
	do
		fd = hs_sys.openat2(rootfd, rel, &how, sizeof(how));
	while (fd == -1 && (errno == EINTR || errno == EAGAIN) && ++tries < 16);
	if (fd == -1 && (errno == ENOSYS || errno == EPERM))
		return walk_beneath(rootfd, rel);
	return fd;
}

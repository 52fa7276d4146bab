/*
 * dest.c - find the file a destination path really names.
 *
 * Everything after this point works relative to a directory descriptor
 * and a single name in it: the temporary, the backup and the rename all
 * happen in that directory, and no path longer than the user's own is
 * ever built.  Following a symbolic link moves the descriptor to the
 * directory of the link's target, so that "libfoo.so.1 -> libfoo.so.1.2.3"
 * replaces libfoo.so.1.2.3 and keeps the link, as cp(1) would.
 */
#include <sys/stat.h>
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

#define MAX_HOPS	40	/* the kernel's own limit for symlinks */

/*
 * Split path into its directory and its last component.  A trailing
 * slash, ".", ".." or an empty name cannot name a file to replace.
 */
static int
split(const char *path, char *dir, size_t dirlen, char *base)
{
	const char *slash = strrchr(path, '/');
	const char *b = slash != NULL ? slash + 1 : path;

	if (*b == '\0' || strcmp(b, ".") == 0 || strcmp(b, "..") == 0) {
		errno = *path == '\0' ? ENOENT : EISDIR;
		return -1;
	}
	if (strlen(b) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)strlcpy(base, b, NAME_MAX + 1);
	if (slash == NULL)
		(void)strlcpy(dir, ".", dirlen);
	else if (slash == path)
		(void)strlcpy(dir, "/", dirlen);
	else if ((size_t)(slash - path) >= dirlen) {
		errno = ENAMETOOLONG;
		return -1;
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	return 0;
}

/* mkdir -p dir; existing components are fine.  dir is restored. */
int
hs_mkdirs(char *dir)
{
	char *p, c;

	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (hs_sys.mkdirat(AT_FDCWD, dir, 0755) == -1 &&
		    errno != EEXIST) {
			*p = c;
			return -1;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* Open the directory dir relative to at, for fsync and *at() calls. */
static int
open_dir(int at, const char *dir)
{
	return hs_openat(at, dir, O_RDONLY | O_DIRECTORY, 0);
}

/*
 * The path of a link's target, for messages: a relative link is relative
 * to the directory of the link.
 */
static void
join_target(char *target, size_t len, const char *link)
{
	char *slash = strrchr(target, '/');

	if (link[0] == '/' || slash == NULL) {
		(void)strlcpy(target, link, len);
		return;
	}
	slash[1] = '\0';
	(void)strlcat(target, link, len);
}

/*
 * The kernel's fs.protected_symlinks rule, which our own link following
 * would otherwise bypass: in a sticky directory that others can write
 * (/tmp), a link is followed only if it belongs to us or to the
 * directory's owner.  Applied whatever the sysctl says: a replacement
 * runs as root more often than not, and is the classic victim.
 */
static int
may_follow(const struct hs_dest *d)
{
	struct stat dir;

	if (hs_sys.fstat(d->dirfd, &dir) == -1)
		return -1;
	if ((dir.st_mode & (S_ISVTX | S_IWOTH)) != (S_ISVTX | S_IWOTH) ||
	    d->st.st_uid == geteuid() || d->st.st_uid == dir.st_uid)
		return 0;
	errno = EACCES;
	return -1;
}

/* Move d to the target of the symbolic link d->name. */
static int
follow(struct hs_dest *d, struct hs_result *res)
{
	char link[PATH_MAX], dir[PATH_MAX];
	ssize_t n;
	int fd;

	if (may_follow(d) == -1)
		return hs_fail(res, "refusing to follow another user's "
		    "symbolic link in a sticky directory:", res->target);
	n = hs_sys.readlinkat(d->dirfd, d->name, link, sizeof(link) - 1);
	if (n == -1)
		return hs_fail(res, "cannot read symbolic link", res->target);
	link[n] = '\0';
	if (split(link, dir, sizeof(dir), d->name) == -1)
		return hs_fail(res, "cannot follow symbolic link", res->target);
	fd = open_dir(link[0] == '/' ? AT_FDCWD : d->dirfd, dir);
	if (fd == -1)
		return hs_fail(res, "dangling symbolic link", res->target);
	(void)hs_close(d->dirfd);
	d->dirfd = fd;
	join_target(res->target, sizeof(res->target), link);
	return 0;
}

int
hs_dest_open(const char *dst, unsigned int flags, struct hs_dest *d,
    struct hs_result *res)
{
	char dir[PATH_MAX];
	int hops;

	d->dirfd = -1;
	d->exists = 0;
	(void)strlcpy(res->target, dst, sizeof(res->target));
	if (split(dst, dir, sizeof(dir), d->name) == -1)
		return hs_fail(res, "cannot install to", dst);
	d->dirfd = open_dir(AT_FDCWD, dir);
	if (d->dirfd == -1 && errno == ENOENT && (flags & HS_MKDIRS)) {
		if (flags & HS_DRY_RUN)
			return 0;	/* would be created: nothing to check */
		if (hs_mkdirs(dir) == -1)
			return hs_fail(res, "cannot create directory", dir);
		d->dirfd = open_dir(AT_FDCWD, dir);
	}
	if (d->dirfd == -1)
		return hs_fail(res, "cannot open directory of", dst);
	for (hops = 0;; hops++) {
		if (hs_sys.fstatat(d->dirfd, d->name, &d->st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				return hs_fail(res, "cannot stat", res->target);
			if (hops > 0)
				return hs_fail(res, "dangling symbolic link to",
				    res->target);
			return 0;
		}
		if (!S_ISLNK(d->st.st_mode) || (flags & HS_NO_DEREF))
			break;
		if (hops == MAX_HOPS) {
			errno = ELOOP;
			return hs_fail(res, "cannot follow symbolic link", dst);
		}
		if (follow(d, res) == -1)
			return -1;
	}
	d->exists = 1;
	if (S_ISDIR(d->st.st_mode)) {
		errno = EISDIR;
		return hs_fail(res, "cannot replace", res->target);
	}
	return 0;
}

void
hs_dest_close(struct hs_dest *d)
{
	int serrno = errno;

	if (d->dirfd != -1)
		(void)hs_close(d->dirfd);
	d->dirfd = -1;
	errno = serrno;
}

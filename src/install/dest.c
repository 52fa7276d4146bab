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

#include "install.h"
#include "sys.h"

#define MAX_HOPS 40 /* the kernel's own limit for symlinks */

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

/*
 * The deepest existing directory on the way to dir, opened by path as the
 * user named it (links followed, as mkdir -p follows them); *rest is left
 * at what remains to be created.  dir is restored.
 */
static int
open_existing(char *dir, char **rest)
{
	char *p = dir + strlen(dir), c;
	int fd;

	for (;;) {
		while (p > dir && p[-1] == '/')
			p--; /* "a//b/": the slashes go with b */
		c = *p;
		*p = '\0';
		fd = p == dir ?
		    hs_openat(AT_FDCWD, *dir == '/' ? "/" : ".",
			O_RDONLY | O_DIRECTORY, 0) :
		    hs_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0);
		*p = c;
		if (fd != -1 || errno != ENOENT || p == dir) {
			*rest = p;
			return fd;
		}
		while (p > dir && p[-1] != '/')
			p--;
	}
}

/*
 * One component below the existing part: make it, then enter it without
 * following a link, and only if it is ours.  Between the two calls
 * whoever may write the parent can swap the new directory for a link or
 * for a directory of their own; mkdirat and openat relative to the
 * parent's descriptor, and O_NOFOLLOW with the owner check, make sure
 * that what is entered is a directory we own, found where we made it.
 * "." and ".." are not made, only entered (".." of a directory we hold
 * is where we came from).  With sync, a directory made is made durable
 * at once by an fsync of its parent: otherwise a power cut can lose the
 * new entry, and with it everything installed below (found by
 * tests/e2e/powercut.bats); the file's own rename is synced by its
 * caller, in the last directory made.
 */
static int
mkdir_step(int at, const char *name, int sync)
{
	int dot = strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
	struct stat st = { .st_uid = geteuid() };
	int fd, serrno;

	if (!dot && hs_sys.mkdirat(at, name, 0755) == -1) {
		if (errno != EEXIST)
			return -1;
	} else if (!dot && sync && hs_fsync(at) == -1)
		return -1;
	fd = hs_openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd == -1 || dot)
		return fd;
	if (hs_sys.fstat(fd, &st) == 0 && st.st_uid == geteuid())
		return fd;
	if (st.st_uid != geteuid())
		errno = EACCES; /* swapped for another's */
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return -1;
}

/*
 * mkdir -p dir, returning a descriptor on dir itself.  The directories
 * that exist are followed as the user named them; each one made is made
 * and entered relative to its parent's descriptor (mkdir_step), so the
 * descriptor returned is the directory this call made, even where others
 * can rename things on the way; with sync, each one made is durable
 * (mkdir_step).  dir is restored.
 */
int
hs_mkdirs_open(char *dir, int sync)
{
	char *p, *e, c;
	int fd, next, serrno;

	if ((fd = open_existing(dir, &p)) == -1)
		return -1;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return fd;
		for (e = p; *e != '/' && *e != '\0'; e++)
			;
		c = *e;
		*e = '\0';
		next = mkdir_step(fd, p, sync);
		*e = c;
		serrno = errno;
		(void)hs_close(fd);
		errno = serrno;
		if ((fd = next) == -1)
			return -1;
		p = e;
	}
}

/* mkdir -p dir; existing components are fine.  dir is restored. */
int
hs_mkdirs(char *dir, int sync)
{
	int fd = hs_mkdirs_open(dir, sync);

	if (fd == -1)
		return -1;
	(void)hs_close(fd);
	return 0;
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
		return hs_fail(res,
		    "refusing to follow another user's "
		    "symbolic link in a sticky directory:",
		    res->target);
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
			return 0; /* would be created: nothing to check */
		/* The very directory made: never reopened by path. */
		d->dirfd = hs_mkdirs_open(dir, !(flags & HS_NO_SYNC));
		if (d->dirfd == -1)
			return hs_fail(res, "cannot create directory", dir);
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

/* Open the existing destination, if regular, for its xattrs and -C. */
int
hs_open_old(struct hs_dest *d, int *fdp, struct hs_result *res)
{
	*fdp = -1;
	if (!d->exists || !S_ISREG(d->st.st_mode))
		return 0;
	*fdp = hs_openat(d->dirfd, d->name, O_RDONLY | O_NOFOLLOW | O_NOCTTY,
	    0);
	if (*fdp == -1)
		return hs_fail(res, "cannot open", res->target);
	if (hs_sys.fstat(*fdp, &d->st) == -1)
		return hs_fail(res, "cannot stat", res->target);
	return 0;
}

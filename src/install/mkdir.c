/*
 * mkdir.c - install -d: a directory and its missing parents, the last
 * one with its final owner, group and mode from the moment it appears.
 *
 * GNU install -d makes the last directory, then chowns and chmods it:
 * for a moment it is there with the creator's owner and the umask's mode,
 * and a 0700 directory meant for secrets can be entered (and a descriptor
 * on it kept) by anyone in that moment.  Here it is made under a
 * temporary name (".NAME.hs-XXXXXXXXXX", 0700), given its owner, group
 * and mode through a descriptor, fsynced, and renamed into place with
 * RENAME_NOREPLACE; the parent is fsynced after the rename.  The missing
 * parents are made as -D makes them (hs_mkdirs_open(): relative to their
 * parent, never through a link, each durable).
 *
 * An existing directory gets the owner, group and mode as GNU's gives
 * them (0755 without -m).  An existing last component that is a
 * symbolic link is followed, as GNU follows it, except another user's
 * link in a sticky directory that others can write (the kernel's
 * fs.protected_symlinks rule, as dest.c applies it).
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

#define DIR_TRIES 100 /* temporary names tried */

static mode_t
final_mode(const struct hs_install_opts *o)
{
	return (o->flags & HS_SET_MODE) ? o->dir_mode & 07777 : 0755;
}

/* Give directory fd the owner, group and mode of o: chown before chmod. */
static int
set_attrs(int fd, const struct hs_install_opts *o)
{
	mode_t mode = final_mode(o);
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (hs_sys.fstat(fd, &st) == -1)
		return -1;
	uid = o->uid != st.st_uid ? o->uid : (uid_t)-1;
	gid = o->gid != st.st_gid ? o->gid : (gid_t)-1;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    hs_sys.fchown(fd, uid, gid) == -1)
		return -1;
	if ((st.st_mode & 07777) != mode || uid != (uid_t)-1 ||
	    gid != (gid_t)-1)
		return hs_sys.fchmod(fd, mode);
	return 0;
}

/* fs.protected_symlinks: may the link st in directory at be followed? */
static int
may_follow(int at, const struct stat *st)
{
	struct stat dir;

	if (hs_sys.fstat(at, &dir) == -1)
		return -1;
	if ((dir.st_mode & (S_ISVTX | S_IWOTH)) != (S_ISVTX | S_IWOTH) ||
	    st->st_uid == geteuid() || st->st_uid == dir.st_uid)
		return 0;
	errno = EACCES;
	return -1;
}

/*
 * Is the directory fd, ours (st), the one mkdirat(2) just made: no access
 * for anybody else and empty?  Between the mkdirat and the open, anybody
 * who may write in its parent may rename it away and rename another
 * directory of ours in its place (a rename within one directory needs no
 * right on the directory renamed); that one is not empty, or others may
 * enter it, and what is done in ours (install -s empties it) must not be
 * done in it.  An empty 0700 directory of ours in its place is as good as
 * our own: nobody else can put anything in it.  1 yes, 0 no, -1 error.
 */
static int
made_here(int fd, const struct stat *st)
{
	union {
		struct hs_dirent64 d;
		char b[512];
	} buf;
	struct hs_dirent64 *d;
	ssize_t n, off;

	if ((st->st_mode & 077) != 0)
		return 0;
	for (;;) {
		do
			n = hs_sys.getdents64(fd, buf.b, sizeof(buf.b));
		while (n == -1 && errno == EINTR);
		if (n <= 0)
			return n == 0 ? 1 : -1;
		for (off = 0; off < n; off += d->d_reclen) {
			d = (struct hs_dirent64 *)(void *)(buf.b + off);
			if (d->d_reclen == 0)
				return -1;
			if (strcmp(d->d_name, ".") != 0 &&
			    strcmp(d->d_name, "..") != 0)
				return 0;
		}
	}
}

/* The existing name in at: a directory (a link to one followed). */
static int
existing(int at, const char *name, const struct hs_install_opts *o)
{
	struct stat st;
	int fd, r, serrno;

	if (hs_sys.fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (S_ISLNK(st.st_mode) && may_follow(at, &st) == -1)
		return -1;
	if ((fd = hs_openat(at, name, O_RDONLY | O_DIRECTORY, 0)) == -1)
		return -1;
	r = set_attrs(fd, o);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

int
hs_private_dir(int at, const char *name, char *tmp)
{
	struct stat st;
	int i, fd, r, serrno;

	for (i = 0; i < DIR_TRIES; i++) {
		if (hs_tmp_makename(tmp, NAME_MAX + 1, name) == -1)
			return -1;
		if (hs_sys.mkdirat(at, tmp, 0700) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (i == DIR_TRIES)
		return -1;
	st.st_uid = geteuid();
	fd = hs_openat(at, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	r = -1;
	if (fd != -1 && hs_sys.fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    (r = made_here(fd, &st)) == 1)
		return fd;
	serrno = st.st_uid != geteuid() || r == 0 ? EACCES : errno;
	if (fd != -1)
		(void)hs_close(fd);
	/*
	 * Ours, not a swapped-in one of another user's; if it is another
	 * directory of ours swapped in, rmdir(2) removes it only if empty.
	 */
	if (st.st_uid == geteuid())
		(void)hs_sys.unlinkat(at, tmp, AT_REMOVEDIR);
	errno = serrno;
	return -1;
}

/* Rename tmp to name unless name exists (EEXIST). */
static int
put_in_place(int at, const char *tmp, const char *name)
{
	struct stat a;

	if (hs_sys.renameat2(at, tmp, at, name, RENAME_NOREPLACE) == -1) {
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		/* No RENAME_NOREPLACE here: look, then rename. */
		if (hs_sys.fstatat(at, name, &a, AT_SYMLINK_NOFOLLOW) == 0) {
			errno = EEXIST;
			return -1;
		}
		if (hs_sys.renameat2(at, tmp, at, name, 0) == -1)
			return -1;
	}
	return 0;
}

/* Is name in at still the directory fd, after the rename? */
static int
still_ours(int at, const char *name, int fd)
{
	struct stat a, b;

	if (hs_sys.fstat(fd, &a) == -1 ||
	    hs_sys.fstatat(at, name, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		errno = EAGAIN; /* our directory was swapped meanwhile */
		return -1;
	}
	return 0;
}

/*
 * Make name in at with its final attributes (see above).  1 if name
 * appeared meanwhile (the caller treats it as existing), 0 made, -1.
 */
static int
make_new(int at, const char *name, const struct hs_install_opts *o,
    struct hs_result *res)
{
	int sync = !(o->flags & HS_NO_SYNC), fd, r = -1, serrno;
	char tmp[NAME_MAX + 1];
	struct stat st;

	if ((fd = hs_private_dir(at, name, tmp)) == -1)
		return -1;
	if (set_attrs(fd, o) == -1 || (sync && hs_fsync(fd) == -1) ||
	    hs_sys.fstat(fd, &st) == -1)
		goto out;
	if (put_in_place(at, tmp, name) == -1) {
		r = errno == EEXIST ? 1 : -1;
		goto out;
	}
	tmp[0] = '\0';
	res->new_dev = st.st_dev;
	res->new_ino = st.st_ino;
	r = still_ours(at, name, fd) == -1 || (sync && hs_fsync(at) == -1) ?
	    -1 :
	    0;
out:
	serrno = errno;
	if (tmp[0] != '\0')
		(void)hs_sys.unlinkat(at, tmp, AT_REMOVEDIR);
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

/* Split path (trailing slashes dropped) into parent and last in place. */
static void
split_dir(char *path, const char **parent, const char **last)
{
	size_t len = strlen(path);
	char *slash;

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	slash = strrchr(path, '/');
	if (slash == NULL) {
		*parent = ".";
		*last = path;
	} else if (slash == path) {
		*parent = "/";
		*last = path[1] != '\0' ? path + 1 : ".";
	} else {
		*slash = '\0';
		*parent = path;
		*last = slash + 1;
	}
}

int
hs_install_dir(const char *dir, const struct hs_install_opts *o,
    struct hs_result *res)
{
	char path[PATH_MAX], up[PATH_MAX];
	const char *parent, *last;
	struct stat st;
	int at, r;

	memset(res, 0, sizeof(*res));
	(void)strlcpy(res->target, dir, sizeof(res->target));
	if (*dir == '\0' || strlcpy(path, dir, sizeof(path)) >= sizeof(path)) {
		errno = *dir == '\0' ? ENOENT : ENAMETOOLONG;
		return hs_fail(res, "cannot create directory", res->target);
	}
	split_dir(path, &parent, &last);
	if (o->flags & HS_DRY_RUN)
		return 0;
	(void)strlcpy(up, parent, sizeof(up));
	if ((at = hs_mkdirs_open(up, !(o->flags & HS_NO_SYNC))) == -1)
		return hs_fail(res, "cannot create directory", res->target);
	if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0 ||
	    hs_sys.fstatat(at, last, &st, AT_SYMLINK_NOFOLLOW) == 0)
		r = existing(at, last, o);
	else if ((r = make_new(at, last, o, res)) == 1)
		r = existing(at, last, o); /* made by someone meanwhile */
	(void)hs_close(at);
	if (r == -1)
		return hs_fail(res, "cannot create directory", res->target);
	return 0;
}

/*
 * rollback.c - put a backup made by hs_install(HS_BACKUP) back in place:
 * DEST+suffix, or the newest numbered DEST.~N~ where there are numbered
 * ones (hs_backup_pick(), as opts->backup_type says).
 *
 * renameat2(RENAME_EXCHANGE) swaps the two names in one atomic step: the
 * path never misses a file, and the version rolled back from becomes the
 * backup, so that a second rollback rolls forward again.  Filesystems
 * without it (and kernels before 3.15) get a plain rename of the backup
 * over the file, which is just as atomic for readers but consumes the
 * backup.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

/* The errors with which renameat2 says RENAME_EXCHANGE is not here. */
static int
no_exchange(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

/*
 * Is the name dirfd/name still the inode bst describes?  Another user who
 * may write the directory can swap the backup between backup_ok() and the
 * exchange; the exchange is checked after the fact because there is no
 * way to exchange "this inode" rather than "this name".
 */
static int
still(int dirfd, const char *name, const struct stat *bst)
{
	struct stat st;

	return hs_sys.fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == bst->st_dev && st.st_ino == bst->st_ino;
}

/*
 * Exchange the backup bst (checked by backup_ok) into place, and make sure
 * it is what went in: if DEST is now another inode, someone swapped the
 * backup name in between, and the names are exchanged back, so that what
 * is left at DEST is what was there or a backup that passed the check.
 */
static int
swap_in(struct hs_dest *d, const char *bname, const struct stat *bst,
    struct hs_result *res)
{
	if (d->exists) {
		if (hs_sys.renameat2(d->dirfd, bname, d->dirfd, d->name,
			RENAME_EXCHANGE) == 0) {
			if (still(d->dirfd, d->name, bst))
				return 0;
			(void)hs_sys.renameat2(d->dirfd, bname, d->dirfd,
			    d->name, RENAME_EXCHANGE);
			errno = EAGAIN;
			return hs_fail(res,
			    "refusing to roll back: the backup "
			    "was replaced while rolling back to it:",
			    res->backup);
		}
		if (!no_exchange(errno))
			return hs_fail(res, "cannot roll back", res->target);
	}
	res->backup[0] = '\0'; /* consumed by the rename */
	if (hs_sys.renameat2(d->dirfd, bname, d->dirfd, d->name, 0) == -1)
		return hs_fail(res, "cannot roll back", res->target);
	return 0;
}

/*
 * The backup must be what install -b makes: a regular file (a link only
 * with -P, where install -P -b backs up a link as a link), never a
 * directory, and owned by the owner of DEST (or, with no DEST, by us).
 * Anything else was put there by someone else: in a sticky directory
 * any user may create NAME~, and rolling back to their symbolic link
 * would make DEST name whatever it points to.
 */
static int
backup_ok(const struct hs_dest *d, const struct stat *bst, unsigned int flags,
    struct hs_result *res)
{
	uid_t owner = d->exists ? d->st.st_uid : geteuid();

	if (!S_ISREG(bst->st_mode) &&
	    !(S_ISLNK(bst->st_mode) && (flags & HS_NO_DEREF))) {
		errno = S_ISDIR(bst->st_mode) ? EISDIR :
		    S_ISLNK(bst->st_mode)     ? ELOOP :
						EINVAL;
		return hs_fail(res,
		    "refusing to roll back to a backup that "
		    "is not a regular file:",
		    res->backup);
	}
	if (bst->st_uid != owner) {
		errno = EPERM;
		return hs_fail(res,
		    "refusing to roll back to a backup owned "
		    "by another user:",
		    res->backup);
	}
	return 0;
}

int
hs_rollback(const char *dst, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	struct hs_dest d = { .dirfd = -1 };
	char bname[NAME_MAX + 1];
	struct stat bst;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (hs_dest_open(dst, opts->flags & (HS_NO_DEREF | HS_DRY_RUN), &d,
		res) == -1)
		goto out;
	if (hs_backup_pick(d.dirfd, d.name, opts, 1, bname, res) == -1) {
		if (errno == ENOENT)
			hs_fail(res, "no backup to roll back to", res->backup);
		else
			hs_fail(res, "cannot roll back", res->target);
		goto out;
	}
	if (hs_sys.fstatat(d.dirfd, bname, &bst, AT_SYMLINK_NOFOLLOW) == -1) {
		hs_fail(res, "no backup to roll back to", res->backup);
		goto out;
	}
	if (backup_ok(&d, &bst, opts->flags, res) == -1)
		goto out;
	res->had_old = d.exists;
	res->old_dev = d.st.st_dev;
	res->old_ino = d.st.st_ino;
	res->new_dev = bst.st_dev;
	res->new_ino = bst.st_ino;
	if (opts->flags & HS_DRY_RUN) {
		ret = 0;
		goto out;
	}
	if (swap_in(&d, bname, &bst, res) == -1)
		goto out;
	if (!(opts->flags & HS_NO_SYNC) && hs_fsync(d.dirfd) == -1) {
		hs_fail(res, "rolled back, but cannot sync the directory of",
		    res->target);
		goto out;
	}
	ret = 0;
out:
	hs_dest_close(&d);
	return ret;
}

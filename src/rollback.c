/*
 * rollback.c - put a backup made by hs_install(HS_BACKUP) back in place.
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

#include "internal.h"
#include "sys.h"

/* The errors with which renameat2 says RENAME_EXCHANGE is not here. */
static int
no_exchange(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

static int
swap_in(struct hs_dest *d, const char *bname, struct hs_result *res)
{
	if (d->exists) {
		if (hs_sys.renameat2(d->dirfd, bname, d->dirfd, d->name,
		    RENAME_EXCHANGE) == 0)
			return 0;
		if (!no_exchange(errno))
			return hs_fail(res, "cannot roll back", res->target);
	}
	res->backup[0] = '\0';		/* consumed by the rename */
	if (hs_sys.renameat2(d->dirfd, bname, d->dirfd, d->name, 0) == -1)
		return hs_fail(res, "cannot roll back", res->target);
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
	(void)snprintf(res->backup, sizeof(res->backup), "%s%s", res->target,
	    hs_suffix(opts));
	if (hs_backup_name(bname, d.name, hs_suffix(opts)) == -1) {
		hs_fail(res, "cannot roll back", res->target);
		goto out;
	}
	if (hs_sys.fstatat(d.dirfd, bname, &bst, AT_SYMLINK_NOFOLLOW) == -1) {
		hs_fail(res, "no backup to roll back to", res->backup);
		goto out;
	}
	if (S_ISDIR(bst.st_mode)) {
		errno = EISDIR;
		hs_fail(res, "no backup to roll back to", res->backup);
		goto out;
	}
	res->had_old = d.exists;
	res->old_dev = d.st.st_dev;
	res->old_ino = d.st.st_ino;
	res->new_dev = bst.st_dev;
	res->new_ino = bst.st_ino;
	if (opts->flags & HS_DRY_RUN) {
		ret = 0;
		goto out;
	}
	if (swap_in(&d, bname, res) == -1)
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

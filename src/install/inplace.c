/*
 * inplace.c - install --in-place: write into the destination's own inode,
 * but only when no running process maps it.
 *
 * This is what cp(1) does, and it crashes every process that maps the
 * file; it is also the only way to keep hard links and bind mounts of the
 * file pointing at the new content.  So it is allowed only after a scan
 * of all processes finds none that maps or runs the file.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

/* Count the processes that map the file open on fd; note a few PIDs. */
static int
scan_mappers(int fd, struct hs_result *res)
{
	const struct hs_mapping *maps;
	const struct hs_proc *proc;
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n;
	int r;

	/* Only the PIDs are wanted: no unit, no namespace. */
	if (hs_fileid_fd(fd, &id) == -1 ||
	    (s = hs_scan_open(HS_SCAN_BRIEF)) == NULL)
		return -1;
	if ((r = hs_scan_who(s, &id, 1)) == 0) {
		while ((r = hs_scan_next(s, &proc, &maps, &n)) == 1) {
			if (res->mappers < sizeof(res->mapper_pids) /
				sizeof(res->mapper_pids[0]))
				res->mapper_pids[res->mappers] = proc->pid;
			res->mappers++;
		}
	}
	hs_scan_free(s);
	return r;
}

/* Truncate, copy, metadata, fsync: the old content is gone for good. */
static int
overwrite(int in, const char *src, const struct stat *sst, int out,
    const struct hs_install_opts *opts, struct hs_result *res)
{
	struct hs_install_opts keep = *opts;
	struct hs_meta meta;
	struct stat ost;

	if (hs_sys.fstat(out, &ost) == -1)
		return hs_fail(res, "cannot stat", res->target);
	/* The inode keeps its own owner, mode and xattrs unless told. */
	hs_meta_plan(sst, &ost, -1, &keep, &meta);
	if (hs_sys.ftruncate(out, 0) == -1)
		return hs_fail(res, "cannot truncate", res->target);
	if (hs_copy_data(in, src, sst, out, opts, res) == -1 ||
	    hs_meta_apply(out, &meta, res) == -1)
		return -1;
	if (!(opts->flags & HS_NO_SYNC) && hs_fsync(out) == -1)
		return hs_fail(res, "cannot sync", res->target);
	res->new_dev = ost.st_dev;
	res->new_ino = ost.st_ino;
	return 0;
}

/*
 * Called by hs_install() for an existing regular destination with
 * HS_IN_PLACE; d is resolved, in is the open source.
 */
int
hs_in_place(int in, const char *src, const struct stat *sst, struct hs_dest *d,
    const struct hs_install_opts *opts, struct hs_result *res)
{
	int out, ret = -1, serrno;

	out = hs_openat(d->dirfd, d->name, O_WRONLY | O_NOFOLLOW | O_NOCTTY, 0);
	if (out == -1)
		return hs_fail(res, "cannot open for writing", res->target);
	if (scan_mappers(out, res) == -1) {
		hs_fail(res, "cannot scan the processes that map", res->target);
		goto out;
	}
	if (res->mappers > 0 && !(opts->flags & HS_FORCE)) {
		errno = ETXTBSY;
		hs_fail(res,
		    "refusing to write in place: running processes "
		    "map",
		    res->target);
		goto out;
	}
	if (opts->flags & HS_DRY_RUN)
		ret = 0;
	else
		ret = overwrite(in, src, sst, out, opts, res);
out:
	serrno = errno;
	(void)hs_close(out);
	errno = serrno;
	return ret;
}

/*
 * replace.c - replace one file atomically and durably.
 *
 * The order is fixed, and every step's result is checked:
 *
 *   1. open the source; find the destination (follow its symlinks);
 *   2. create the temporary in the destination's directory;
 *   3. copy the data into it (with -s, a stripped copy: strip.c);
 *   4. give it its final owner, xattrs, mode and timestamps;
 *   5. fsync it: data and metadata are on disk before any name points
 *      at it, so a power cut can never leave the new name on an empty
 *      or half-written file (the metadata goes before this fsync, not
 *      after, so that the same fsync covers it);
 *   6. with -b, hard-link the old file to the backup name;
 *   7. rename(2) it over the destination: one atomic step in which the
 *      path goes from the old, complete file to the new, complete one;
 *   8. clear the set-ID bits and capabilities of the old inode, through
 *      the descriptor hs_open_old() opened on it (hs_meta_disarm): after
 *      the rename, not before, so that a failed rename leaves DEST
 *      exactly as it was; the old inode, now DEST~ or another name's,
 *      had them a moment longer, as it had all its life;
 *   9. fsync the directory, or the rename itself may not survive a
 *      power cut;
 *  10. with HS_FREE_LATER, hand the descriptor on the old inode, if it
 *      is big and no name holds it now, to free.c's process: the kernel
 *      frees it there, after we have returned.
 *
 * The destination is never opened for writing, truncated or unlinked:
 * processes that map it keep the old inode, which the kernel frees only
 * when the last of them lets go.  Any failure before step 7 leaves the
 * destination untouched and removes the temporary.
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

void
hs_install_opts_init(struct hs_install_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->uid = (uid_t)-1;
	o->gid = (gid_t)-1;
}

const char *
hs_copy_method_name(enum hs_copy_method m)
{
	switch (m) {
	case HS_COPY_REFLINK: return "reflink";
	case HS_COPY_RANGE: return "copy_file_range";
	case HS_COPY_READWRITE: return "read/write";
	default: return "none";
	}
}

static void
result_init(struct hs_result *res)
{
	memset(res, 0, sizeof(*res));
	res->step = "cannot install";
	res->path = "";
}

/* Record in res what the rename replaced and what the path names now. */
static void
record(const struct hs_dest *d, const struct stat *nst, struct hs_result *res)
{
	res->had_old = d->exists;
	if (d->exists) {
		res->old_dev = d->st.st_dev;
		res->old_ino = d->st.st_ino;
		if (!S_ISDIR(d->st.st_mode) && d->st.st_nlink > 1)
			res->other_links = d->st.st_nlink - 1;
	}
	res->new_dev = nst->st_dev;
	res->new_ino = nst->st_ino;
}

/* Steps 2 to 9 above, once everything is known; old as hs_open_old. */
static int
replace(int in, const char *src, const struct stat *sst, struct hs_dest *d,
    int old, const struct hs_meta *meta, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	struct hs_tmp t = HS_TMP_INIT;
	int sync = !(opts->flags & HS_NO_SYNC), ret = -1;
	struct stat nst;

	if (hs_tmp_create(&t, d->dirfd, d->name) == -1) {
		hs_fail(res, "cannot create temporary file for", res->target);
		goto out;
	}
	if (((opts->flags & HS_STRIP) ?
		    hs_strip(in, src, sst, t.fd, d->dirfd, d->name, opts, res) :
		    hs_copy_data(in, src, sst, t.fd, opts, res)) == -1 ||
	    hs_meta_apply(t.fd, meta, res) == -1)
		goto out;
	if ((sync && hs_fsync(t.fd) == -1) || hs_sys.fstat(t.fd, &nst) == -1) {
		hs_fail(res, "cannot sync new copy of", res->target);
		goto out;
	}
	if ((opts->flags & HS_BACKUP) && d->exists &&
	    hs_make_backup(d, opts, res) == -1)
		goto out;
	if (hs_tmp_link(&t, d->name) == -1) {
		hs_fail(res, "cannot create temporary file for", res->target);
		goto out;
	}
	if (hs_tmp_rename(&t, d->name) == -1) {
		hs_fail(res, "cannot rename new copy over", res->target);
		goto out;
	}
	record(d, &nst, res);
	if (old != -1 && hs_meta_disarm(old, &d->st) == -1) {
		hs_fail(res,
		    "replaced, but cannot clear the set-ID bits or "
		    "capabilities of the old version of",
		    res->target);
		goto out;
	}
	if (sync && hs_fsync(d->dirfd) == -1) {
		hs_fail(res, "replaced, but cannot sync the directory of",
		    res->target);
		goto out;
	}
	ret = 0;
out:
	hs_tmp_discard(&t);
	return ret;
}

/*
 * HS_FREE_LATER: does no name hold the old inode now (not kept as a
 * backup, no other links), so that closing old would free it?
 */
static int
freed_by_close(int old)
{
	struct stat st;

	return hs_sys.fstat(old, &st) == 0 && st.st_nlink == 0;
}

/* With -n: would the replacement be allowed? */
static int
dry_run(const struct hs_dest *d, struct hs_result *res)
{
	if (d->dirfd == -1)
		return 0; /* -D would create the directory */
	if (hs_sys.faccessat(d->dirfd, ".", W_OK | X_OK, AT_EACCESS) == -1)
		return hs_fail(res, "cannot write to the directory of",
		    res->target);
	return 0;
}

int
hs_install(const char *src, const char *dst, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	struct hs_dest d = { .dirfd = -1 };
	struct hs_meta meta;
	struct stat sst;
	int in, old = -1, ret = -1, r, serrno;

	result_init(res);
	if ((in = hs_open_source(src, &sst, res)) == -1)
		return -1;
	if (hs_dest_open(dst, opts->flags, &d, res) == -1)
		goto out;
	if (d.exists && d.st.st_dev == sst.st_dev &&
	    d.st.st_ino == sst.st_ino) {
		res->same_file = 1;
		ret = 0;
		goto out;
	}
	if (hs_open_old(&d, &old, res) == -1)
		goto out;
	hs_meta_plan(&sst, d.exists ? &d.st : NULL, old, opts, &meta);
	if (opts->flags & HS_COMPARE) {
		if ((r = hs_unchanged(in, &sst, old, &d.st, &meta)) == -1) {
			hs_fail(res, "cannot compare with", res->target);
			goto out;
		}
		if (r == 1) {
			res->unchanged = 1;
			ret = 0;
			goto out;
		}
	}
	if ((opts->flags & HS_IN_PLACE) && old != -1) {
		ret = hs_in_place(in, src, &sst, &d, opts, res);
		goto out;
	}
	if (opts->flags & HS_DRY_RUN) {
		ret = dry_run(&d, res);
		goto out;
	}
	ret = replace(in, src, &sst, &d, old, &meta, opts, res);
out:
	serrno = errno;
	if (ret == 0 && old != -1 && (opts->flags & HS_FREE_LATER) &&
	    hs_free_later_worth(&d.st) && freed_by_close(old)) {
		(void)hs_free_later(&old, 1);
		old = -1;
	}
	if (old != -1)
		(void)hs_close(old);
	(void)hs_close(in);
	hs_dest_close(&d);
	errno = serrno;
	return ret;
}

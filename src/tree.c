/*
 * tree.c - stage a whole directory tree into a transaction (install -r).
 */
#include <sys/stat.h>
#include <bsd/string.h>
#include <errno.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

/* dstdir + the part of path below srcdir. */
static int
dest_of(const FTSENT *e, size_t srclen, const char *dstdir, char *buf)
{
	if (snprintf(buf, PATH_MAX, "%s%s", dstdir,
	    e->fts_path + srclen) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

struct walk {
	size_t		 srclen;
	const char	*dstdir;
	void		(*each)(void *, const char *, const char *,
			    const struct hs_result *);
	void		*arg;
};

static int
stage_link(struct hs_txn *t, FTSENT *e, const char *dst,
    struct hs_result *res)
{
	char link[PATH_MAX];
	ssize_t n;

	n = readlink(e->fts_accpath, link, sizeof(link) - 1);
	if (n == -1)
		return hs_fail(res, "cannot read symbolic link", e->fts_path);
	link[n] = '\0';
	return hs_txn_add_symlink(t, link, dst, res);
}

/* Stage one entry of the walk. */
static int
stage_one(struct hs_txn *t, FTSENT *e, const struct walk *w,
    struct hs_result *res)
{
	char dst[PATH_MAX];
	int r;

	if (dest_of(e, w->srclen, w->dstdir, dst) == -1)
		return hs_fail(res, "cannot install", e->fts_path);
	switch (e->fts_info) {
	case FTS_D:
		return hs_txn_mkdir(t, dst, e->fts_statp->st_mode & 07777,
		    res);
	case FTS_F:
	case FTS_SL:
	case FTS_SLNONE:
		r = e->fts_info == FTS_F ? hs_txn_add(t, e->fts_path, dst,
		    NULL, res) : stage_link(t, e, dst, res);
		if (r == 0 && w->each != NULL)
			w->each(w->arg, e->fts_path, dst, res);
		return r;
	case FTS_DP:
		return 0;
	case FTS_DNR:
	case FTS_ERR:
	case FTS_NS:
		errno = e->fts_errno;
		return hs_fail(res, "cannot read", e->fts_path);
	default:
		errno = EINVAL;
		return hs_fail(res, "not a file, directory or link:",
		    e->fts_path);
	}
}

/*
 * res->path may point at fts's memory or at stage_one()'s stack, both gone
 * once the walk moves on: keep a copy in res->target.
 */
static int
stage_entry(struct hs_txn *t, FTSENT *e, const struct walk *w,
    struct hs_result *res)
{
	char copy[PATH_MAX];

	if (stage_one(t, e, w, res) == 0)
		return 0;
	if (res->path != NULL && res->path != res->target) {
		(void)strlcpy(copy, res->path, sizeof(copy));
		(void)strlcpy(res->target, copy, sizeof(res->target));
		res->path = res->target;
	}
	return -1;
}

int
hs_txn_add_tree(struct hs_txn *t, const char *srcdir, const char *dstdir,
    void (*each)(void *, const char *, const char *,
    const struct hs_result *), void *arg, struct hs_result *res)
{
	char *roots[2] = { (char *)(uintptr_t)srcdir, NULL };
	struct walk w = { strlen(srcdir), dstdir, each, arg };
	FTSENT *e;
	FTS *fts;
	int ret = 0, serrno;

	while (w.srclen > 1 && srcdir[w.srclen - 1] == '/')
		w.srclen--;
	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (fts == NULL)
		return hs_fail(res, "cannot read", srcdir);
	while (ret == 0) {
		errno = 0;
		if ((e = fts_read(fts)) == NULL) {
			if (errno != 0)
				ret = hs_fail(res, "cannot read", srcdir);
			break;
		}
		if (e->fts_level > 0)
			ret = stage_entry(t, e, &w, res);
		else if (e->fts_info != FTS_D && e->fts_info != FTS_DP) {
			errno = e->fts_info == FTS_NS ? e->fts_errno : ENOTDIR;
			ret = hs_fail(res, "cannot install tree", srcdir);
		}
	}
	serrno = errno;
	(void)fts_close(fts);
	errno = serrno;
	return ret;
}

/*
 * txn.c - many files replaced as one transaction (see hotswap.h for the
 * phases and the promise).  This file stages; recover.c commits and
 * rolls back by replaying the journal that staging writes (journal.c),
 * and beneath.c reaches the directories it names.
 *
 * Durability barrier: a transaction of a few files fsyncs each temporary
 * as it is staged (as hs_install does).  A larger one only starts
 * writeback while staging (sync_file_range(SYNC_FILE_RANGE_WRITE)), so
 * the disk works while the next file is copied, then waits for all of it
 * with one syncfs(2) per filesystem: one journal commit instead of one
 * per file (see tests/bench for the figures).  syncfs reports writeback
 * errors of the filesystem since Linux 5.8.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "txn.h"
#include "sys.h"

#define FEW_FILES 8 /* up to this many: fsync each */

struct txn_dir {
	dev_t dev;
	ino_t ino;
	char *path; /* relative to the root, or "." */
};

/* A destination staged: its directory (a t->dirs path) and name. */
struct txn_staged {
	const char *dir;
	char *name;
};

struct hs_txn {
	struct hs_install_opts opts;
	struct txn_staged *staged; /* to refuse a name twice */
	size_t nstaged;
	struct hs_txn_stats stats;
	struct hs_journal j;
	int rootfd;
	int done;	      /* committed or rolled back */
	struct txn_dir *dirs; /* every directory staged in */
	size_t ndirs;
	char root[PATH_MAX];
	char rootpath[PATH_MAX]; /* absolute, or "" */
};

/* path below root's, relative ("." for root itself), or NULL. */
static const char *
below(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (strcmp(path, root) == 0)
		return ".";
	if (strcmp(root, "/") == 0)
		return path[0] == '/' && path[1] != '\0' ? path + 1 : NULL;
	if (strncmp(path, root, n) == 0 && path[n] == '/' &&
	    path[n + 1] != '\0')
		return path + n + 1;
	return NULL;
}

/*
 * 1 if rel, opened beneath the root without following a symbolic link,
 * is the directory st describes; 0 if it is not (or not so reached), -1
 * if we cannot tell.
 */
static int
same_dir(struct hs_txn *t, const char *rel, const struct stat *st)
{
	struct stat bst;
	int fd, r, serrno;

	if ((fd = hs_open_beneath(t->rootfd, rel)) == -1)
		return errno == ELOOP || errno == ENOENT || errno == ENOTDIR ||
			errno == EXDEV ?
		    0 :
		    -1;
	r = hs_sys.fstat(fd, &bst);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	if (r == -1)
		return -1;
	return bst.st_dev == st->st_dev && bst.st_ino == st->st_ino;
}

/*
 * The journal's name for directory fd, remembered in t->dirs for the
 * barrier: its path relative to the root, which must reach it beneath the
 * root through directories only.  A destination whose directory is
 * elsewhere (a symbolic link led out of the tree) is refused: the journal
 * could not name it safely, and the tree's lock does not cover it.
 */
static const char *
dir_of(struct hs_txn *t, int fd, struct hs_result *res)
{
	char path[PATH_MAX];
	const char *rel;
	struct txn_dir *d;
	struct stat st;
	size_t i;
	int r;

	if (hs_sys.fstat(fd, &st) == -1)
		goto fail;
	for (i = t->ndirs; i-- > 0;)
		if (t->dirs[i].dev == st.st_dev && t->dirs[i].ino == st.st_ino)
			return t->dirs[i].path;
	if ((t->rootpath[0] == '\0' &&
		hs_fd_path(t->rootfd, t->rootpath, sizeof(t->rootpath)) ==
		    -1) ||
	    hs_fd_path(fd, path, sizeof(path)) == -1)
		goto fail;
	if ((rel = below(t->rootpath, path)) == NULL ||
	    (r = same_dir(t, rel, &st)) == 0) {
		errno = EPERM;
		hs_fail(res,
		    "cannot stage (its directory is outside the "
		    "tree)",
		    res->target);
		return NULL;
	}
	if (r == -1)
		goto fail;
	d = reallocarray(t->dirs, t->ndirs + 1, sizeof(*d));
	if (d == NULL)
		goto fail;
	t->dirs = d;
	d = &t->dirs[t->ndirs];
	if ((d->path = strdup(rel)) == NULL)
		goto fail;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	t->ndirs++;
	return d->path;
fail:
	hs_fail(res, "cannot stage", res->target);
	return NULL;
}

/*
 * Remember dir/name as staged; EEXIST if it already is: a second file for
 * the same destination would make a second old-inode link and silently
 * drop the first new file (GNU install refuses the same way).
 */
static int
stage_once(struct hs_txn *t, const char *dir, const char *name,
    struct hs_result *res)
{
	struct txn_staged *grown;
	size_t i;

	for (i = 0; i < t->nstaged; i++)
		if (t->staged[i].dir == dir &&
		    strcmp(t->staged[i].name, name) == 0) {
			errno = EEXIST;
			return hs_fail(res,
			    "cannot install twice in one "
			    "transaction to",
			    res->target);
		}
	grown = reallocarray(t->staged, t->nstaged + 1, sizeof(*grown));
	if (grown == NULL)
		return hs_fail(res, "cannot stage", res->target);
	t->staged = grown;
	if ((t->staged[t->nstaged].name = strdup(name)) == NULL)
		return hs_fail(res, "cannot stage", res->target);
	t->staged[t->nstaged++].dir = dir;
	return 0;
}

/* The journal, created with the first thing staged. */
static int
journal(struct hs_txn *t, struct hs_result *res)
{
	if (t->j.fd != -1)
		return 0;
	if (hs_journal_create(t->rootfd, &t->j) == -1 ||
	    ((t->opts.flags & HS_BACKUP) &&
		hs_journal_add(&t->j, 'S', hs_suffix(&t->opts), NULL, NULL,
		    -1) == -1))
		return hs_fail(res, "cannot create the journal in", t->root);
	return 0;
}

struct hs_txn *
hs_txn_open(const char *root, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	struct hs_txn *t = calloc(1, sizeof(*t));

	memset(res, 0, sizeof(*res));
	if (t == NULL) {
		hs_fail(res, "cannot start a transaction in", root);
		return NULL;
	}
	t->opts = *opts;
	t->j.fd = -1;
	(void)strlcpy(t->root, root, sizeof(t->root));
	if ((opts->flags & HS_MKDIRS) && !(opts->flags & HS_DRY_RUN))
		(void)hs_mkdirs(t->root, !(opts->flags & HS_NO_SYNC));
	t->rootfd = hs_openat(AT_FDCWD, root, O_RDONLY | O_DIRECTORY, 0);
	if (t->rootfd == -1 &&
	    !((opts->flags & HS_DRY_RUN) && errno == ENOENT)) {
		hs_fail(res, "cannot open directory", root);
		free(t);
		return NULL;
	}
	return t;
}

int
hs_txn_lock(struct hs_txn *t, int wait, struct hs_result *res)
{
	int r;

	if (t->rootfd == -1) /* dry run of a tree not yet made */
		return 0;
	do
		r = hs_sys.flock(t->rootfd, LOCK_EX | (wait ? 0 : LOCK_NB));
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return hs_fail(res, "cannot lock", t->root);
	if (t->opts.flags & HS_DRY_RUN)
		return 0;
	(void)strlcpy(res->target, t->root, sizeof(res->target));
	return hs_journal_replay(t->rootfd, !(t->opts.flags & HS_NO_SYNC),
	    &t->stats.recovered, res);
}

const struct hs_txn_stats *
hs_txn_stats(const struct hs_txn *t)
{
	return &t->stats;
}

/* Shared libraries go in before the executables that may need them. */
static int
kind_of(const char *name, mode_t mode)
{
	const char *so = strstr(name, ".so");

	if (so != NULL && (so[3] == '\0' || so[3] == '.'))
		return 0;
	return (mode & 0111) ? 1 : 0;
}

/*
 * Make something under a fresh temporary name beside name: journal the
 * record first (type T or O, with the name; O with id, the old inode's
 * identity), then take the name, so that a crash leaves nothing the
 * journal does not list.  A name that turns out taken is cancelled (X)
 * and another is tried.
 */
static int
journalled(struct hs_txn *t, char type, const char *dir, const char *name,
    int kind, const struct stat *id, int (*take)(void *, const char *),
    void *arg)
{
	char tn[NAME_MAX + 1];
	int i;

	for (i = 0; i < 100; i++) {
		if (hs_tmp_makename(tn, sizeof(tn), name) == -1 ||
		    (type == 'O' ? hs_journal_add_old(&t->j, dir, name, tn,
				       id->st_dev, id->st_ino) :
				   hs_journal_add(&t->j, type, dir, name, tn,
				       kind)) == -1)
			return -1;
		if (take(arg, tn) == 0)
			return 0;
		if (errno != EEXIST ||
		    hs_journal_add(&t->j, 'X', NULL, NULL, NULL, -1) == -1)
			return -1;
	}
	return -1;
}

static int
take_tmp(void *tmp, const char *tn)
{
	return hs_tmp_claim(tmp, tn);
}

/* Name the temporary (T). */
static int
claim(struct hs_txn *t, struct hs_tmp *tmp, const char *dir, const char *name,
    int kind)
{
	return journalled(t, 'T', dir, name, kind, NULL, take_tmp, tmp);
}

struct link_arg {
	int dirfd;
	const char *target; /* old name, or a symlink's target */
};

static int
take_link(void *arg, const char *tn)
{
	struct link_arg *l = arg;

	return hs_sys.linkat(l->dirfd, l->target, l->dirfd, tn, 0);
}

static int
take_symlink(void *arg, const char *tn)
{
	struct link_arg *l = arg;

	return hs_sys.symlinkat(l->target, l->dirfd, tn);
}

/*
 * Keep the old inode, st (what hs_dest_open or hs_open_old saw at name),
 * under a journalled temporary name (O).  The commit disarms it through
 * that name (recover.c) only if it is still that inode.
 */
static int
link_old(struct hs_txn *t, int dirfd, const char *dir, const char *name,
    const struct stat *st)
{
	struct link_arg l = { dirfd, name };

	return journalled(t, 'O', dir, name, -1, st, take_link, &l);
}

/* Make the staged temporary durable now, or start its writeback. */
static int
settle(struct hs_txn *t, int fd, const struct hs_install_opts *o)
{
	if (o->flags & HS_NO_SYNC)
		return 0;
	if (t->stats.staged < FEW_FILES)
		return hs_fsync(fd);
	t->stats.used_syncfs = 1;
	return hs_sys.sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

struct stage {
	int in;
	const char *src;
	struct stat sst;
	struct hs_dest d;
	struct hs_meta meta;
	const char *dir;
};

/* Phase 1 for one file: temporary with data and metadata, old link. */
static int
stage_file(struct hs_txn *t, struct stage *s, const struct hs_install_opts *o,
    struct hs_result *res)
{
	struct hs_tmp tmp = HS_TMP_INIT;
	int kind = kind_of(s->d.name, s->meta.mode), unnamed, ret = -1;

	unnamed = hs_tmp_open_unnamed(&tmp, s->d.dirfd) == 0;
	if (!unnamed &&
	    (!hs_tmp_unsupported(errno) ||
		claim(t, &tmp, s->dir, s->d.name, kind) == -1)) {
		hs_fail(res, "cannot create temporary file for", res->target);
		goto out;
	}
	if (hs_copy_data(s->in, s->src, &s->sst, tmp.fd, o, res) == -1 ||
	    hs_meta_apply(tmp.fd, &s->meta, res) == -1)
		goto out;
	if (settle(t, tmp.fd, o) == -1) {
		hs_fail(res, "cannot sync new copy of", res->target);
		goto out;
	}
	if ((unnamed && claim(t, &tmp, s->dir, s->d.name, kind) == -1) ||
	    (s->d.exists &&
		link_old(t, s->d.dirfd, s->dir, s->d.name, &s->d.st) == -1)) {
		hs_fail(res, "cannot stage", res->target);
		goto out;
	}
	tmp.named = 0; /* the journal owns its name now */
	ret = 0;
out:
	hs_tmp_discard(&tmp);
	return ret;
}

/* -D: create the missing parents of dst, journalled (D). */
static int
make_parents(struct hs_txn *t, const char *dst, struct hs_result *res)
{
	char dir[PATH_MAX], *p;

	if (strlcpy(dir, dst, sizeof(dir)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return hs_fail(res, "cannot install to", dst);
	}
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (*p == '\0')
			return hs_txn_mkdir(t, dir, 0755, res);
		*p = '\0';
		if (hs_txn_mkdir(t, dir, 0755, res) == -1)
			return -1;
		*p = '/';
	}
}

/* Prepare everything about one file but its temporary. */
static int
prepare(struct hs_txn *t, struct stage *s, const char *dst,
    const struct hs_install_opts *o, struct hs_result *res)
{
	int old = -1, r;

	if (hs_dest_open(dst, o->flags & ~HS_MKDIRS, &s->d, res) == -1)
		return -1;
	if (s->d.exists && s->d.st.st_dev == s->sst.st_dev &&
	    s->d.st.st_ino == s->sst.st_ino) {
		res->same_file = 1;
		t->stats.same_file++;
		return 0;
	}
	if (hs_open_old(&s->d, &old, res) == -1)
		return -1;
	hs_meta_plan(&s->sst, s->d.exists ? &s->d.st : NULL, old, o, &s->meta);
	r = (o->flags & HS_COMPARE) ?
	    hs_unchanged(s->in, &s->sst, old, &s->d.st, &s->meta) :
	    0;
	if (r == 1) {
		res->unchanged = 1;
		t->stats.unchanged++;
	}
	/* The xattrs are copied from old while staging: keep it open. */
	s->meta.xattr_fd = r == 0 ? old : -1;
	if (r != 0 && old != -1)
		(void)hs_close(old);
	if (r == -1)
		return hs_fail(res, "cannot compare with", res->target);
	return 0;
}

int
hs_txn_add(struct hs_txn *t, const char *src, const char *dst,
    const struct hs_install_opts *o, struct hs_result *res)
{
	struct stage s = { .src = src, .d = { .dirfd = -1 } };
	int ret = -1, serrno;

	memset(res, 0, sizeof(*res));
	s.meta.xattr_fd = -1;
	if (o == NULL)
		o = &t->opts;
	if (o->flags & HS_DRY_RUN) {
		if (hs_install(src, dst, o, res) == -1)
			return -1;
		t->stats.unchanged += (unsigned long)res->unchanged;
		t->stats.staged += !res->unchanged && !res->same_file;
		return 0;
	}
	if ((o->flags & HS_MKDIRS) && make_parents(t, dst, res) == -1)
		return -1;
	if ((s.in = hs_open_source(src, &s.sst, res)) == -1)
		return -1;
	if (prepare(t, &s, dst, o, res) == -1 || res->same_file ||
	    res->unchanged) {
		ret = res->same_file || res->unchanged ? 0 : -1;
		goto out;
	}
	if (journal(t, res) == -1)
		goto out;
	if ((s.dir = dir_of(t, s.d.dirfd, res)) == NULL)
		goto out;
	if (stage_once(t, s.dir, s.d.name, res) == -1 ||
	    stage_file(t, &s, o, res) == -1)
		goto out;
	t->stats.staged++;
	t->stats.bytes += res->bytes;
	if (s.d.exists && s.d.st.st_nlink > 1) {
		res->other_links = s.d.st.st_nlink - 1;
		t->stats.other_links++;
	}
	ret = 0;
out:
	serrno = errno;
	if (s.meta.xattr_fd != -1)
		(void)hs_close(s.meta.xattr_fd);
	(void)hs_close(s.in);
	hs_dest_close(&s.d);
	errno = serrno;
	return ret;
}

/* Is dst already a symbolic link to target? */
static int
same_link(const struct hs_dest *d, const char *target)
{
	char buf[PATH_MAX];
	ssize_t n;

	if (!d->exists || !S_ISLNK(d->st.st_mode))
		return 0;
	n = hs_sys.readlinkat(d->dirfd, d->name, buf, sizeof(buf) - 1);
	if (n == -1)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

int
hs_txn_add_symlink(struct hs_txn *t, const char *target, const char *dst,
    struct hs_result *res)
{
	struct hs_dest d = { .dirfd = -1 };
	struct link_arg l = { -1, target };
	const char *dir;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (hs_dest_open(dst, HS_NO_DEREF | (t->opts.flags & HS_DRY_RUN), &d,
		res) == -1)
		return -1;
	if (same_link(&d, target) || (t->opts.flags & HS_DRY_RUN)) {
		res->unchanged = same_link(&d, target);
		t->stats.unchanged += (unsigned long)res->unchanged;
		ret = 0;
		goto out;
	}
	if (journal(t, res) == -1)
		goto out;
	l.dirfd = d.dirfd;
	if ((dir = dir_of(t, d.dirfd, res)) == NULL)
		goto out;
	if (stage_once(t, dir, d.name, res) == -1)
		goto out;
	if (journalled(t, 'T', dir, d.name, 2, NULL, take_symlink, &l) == -1 ||
	    (d.exists && link_old(t, d.dirfd, dir, d.name, &d.st) == -1))
		goto fail;
	t->stats.staged++;
	ret = 0;
	goto out;
fail:
	hs_fail(res, "cannot stage", res->target);
out:
	hs_dest_close(&d);
	return ret;
}

int
hs_txn_mkdir(struct hs_txn *t, const char *path, mode_t mode,
    struct hs_result *res)
{
	char base[NAME_MAX + 1], rel[PATH_MAX];
	const char *parent;
	struct hs_dest d = { .dirfd = -1 };
	struct stat st;
	int ret = -1;

	if (hs_sys.fstatat(AT_FDCWD, path, &st, 0) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (t->opts.flags & HS_DRY_RUN)
		return 0;
	/* Find the parent as a destination would be found: no symlink. */
	if (hs_dest_open(path, HS_NO_DEREF, &d, res) == -1)
		return -1;
	if (d.exists) {
		errno = EEXIST;
		hs_fail(res, "cannot create directory", path);
		goto out;
	}
	(void)strlcpy(base, d.name, sizeof(base));
	/* The parent's new entry must be durable too: it joins the barrier. */
	if (journal(t, res) == -1 || (parent = dir_of(t, d.dirfd, res)) == NULL)
		goto out;
	if (snprintf(rel, sizeof(rel), "%s%s%s",
		strcmp(parent, ".") == 0 ? "" : parent,
		strcmp(parent, ".") == 0 ? "" : "/",
		base) >= (int)sizeof(rel) ||
	    hs_journal_add(&t->j, 'D', rel, NULL, NULL, -1) == -1) {
		hs_fail(res, "cannot create directory", path);
		goto out;
	}
	if (hs_sys.mkdirat(d.dirfd, base, mode) == -1) {
		if (errno != EEXIST ||
		    hs_journal_add(&t->j, 'X', NULL, NULL, NULL, -1) == -1) {
			hs_fail(res, "cannot create directory", path);
			goto out;
		}
	} else
		t->stats.dirs_made++;
	ret = 0;
out:
	hs_dest_close(&d);
	return ret;
}

/*
 * Phase 2: every staged file durable.  Few files were fsynced as they
 * were staged: their directories remain.  Many: one syncfs(2) per
 * filesystem covers data, inodes and directories at once.
 *
 * The journal goes first: it names every temporary and every link to an
 * old inode that the directory syncs below make durable, and a power cut
 * must not keep those names without the records that let recover remove
 * them (found by tests/e2e/powercut.bats: a link to an old, perhaps
 * set-ID, inode outlived recover).
 */
static int
barrier(struct hs_txn *t, struct hs_result *res)
{
	size_t i, k;
	int fd, r, seen;

	if (hs_fsync(t->j.fd) == -1 || hs_fsync(t->j.rootfd) == -1)
		return hs_fail(res, "cannot sync the journal in", t->root);
	for (i = 0; i < t->ndirs; i++) {
		for (seen = 0, k = 0; k < i && t->stats.used_syncfs; k++)
			seen |= t->dirs[k].dev == t->dirs[i].dev;
		if (seen)
			continue;
		fd = hs_open_beneath(t->rootfd, t->dirs[i].path);
		if (fd == -1)
			return hs_fail(res, "cannot sync", t->dirs[i].path);
		r = t->stats.used_syncfs ? hs_sys.syncfs(fd) : hs_fsync(fd);
		(void)hs_close(fd);
		if (r == -1)
			return hs_fail(res, "cannot sync", t->dirs[i].path);
	}
	return 0;
}

/*
 * Undo: replay the journal backward, as this process wrote it (read
 * back from its descriptor).  A goes in first: if C made it to the
 * journal before the failure, a replay must still go backward.
 */
static void
roll_back(struct hs_txn *t)
{
	struct hs_result r2;
	int serrno = errno, outcome;

	memset(&r2, 0, sizeof(r2));
	(void)strlcpy(r2.target, t->root, sizeof(r2.target));
	(void)hs_journal_add(&t->j, 'A', NULL, NULL, NULL, -1);
	if (hs_journal_replay_held(&t->j, !(t->opts.flags & HS_NO_SYNC),
		&outcome, &r2) == 0)
		t->stats.rolled_back = 1;
	(void)hs_close(t->j.fd);
	t->j.fd = -1;
	t->done = 1;
	errno = serrno;
}

/*
 * Phase 3: the barrier, C, then the renames, replayed from what this
 * process wrote.  The journal's name must still be that file once C is
 * durable: removed or replaced by another user who may write the root
 * (a world-writable tree without the sticky bit), it could no longer
 * repair a crash, and the transaction is rolled back instead.
 */
int
hs_txn_commit(struct hs_txn *t, struct hs_result *res)
{
	int sync = !(t->opts.flags & HS_NO_SYNC), outcome, ours = -1;

	memset(res, 0, sizeof(*res));
	if (t->j.fd == -1 || t->done) {
		t->done = 1;
		return 0; /* nothing staged */
	}
	if ((sync && barrier(t, res) == -1) ||
	    hs_journal_commit(&t->j, sync) == -1 ||
	    (ours = hs_journal_is_ours(&t->j)) != 1) {
		if (ours == 0) {
			errno = EPERM;
			hs_fail(res,
			    "refusing to commit (the journal was "
			    "removed or replaced by someone else) in",
			    t->root);
		} else if (res->step == NULL)
			hs_fail(res, "cannot write the journal in", t->root);
		roll_back(t);
		return -1;
	}
	(void)strlcpy(res->target, t->root, sizeof(res->target));
	if (hs_journal_replay_held(&t->j, sync, &outcome, res) == -1) {
		/* Past the last rename, the tree is new: nothing to undo. */
		if (outcome != 1)
			roll_back(t);
		t->done = 1;
		return -1;
	}
	(void)hs_close(t->j.fd);
	t->j.fd = -1;
	t->done = 1;
	return 0;
}

void
hs_txn_free(struct hs_txn *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->j.fd != -1 && !t->done)
		roll_back(t);
	if (t->j.fd != -1)
		(void)hs_close(t->j.fd); /* a journal left for recovery */
	for (i = 0; i < t->ndirs; i++)
		free(t->dirs[i].path);
	free(t->dirs);
	for (i = 0; i < t->nstaged; i++)
		free(t->staged[i].name);
	free(t->staged);
	if (t->rootfd != -1)
		(void)hs_close(t->rootfd); /* and the lock with it */
	free(t);
}

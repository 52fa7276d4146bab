/*
 * txn.c - many files replaced as one transaction (see hotswap.h for the
 * phases and the promise).  This file stages; recover.c commits and
 * rolls back by replaying the journal that staging writes (journal.c),
 * and beneath.c reaches the directories it names.
 *
 * Durability barrier: a transaction of a few files fsyncs each (the
 * first FEW_FILES are kept open for it, their writeback started as they
 * are staged, sync_file_range(SYNC_FILE_RANGE_WRITE), so the disk works
 * while the next file is copied); a larger one waits for all of it with
 * one syncfs(2) per filesystem: one journal commit instead of one per
 * file (see tests/bench for the figures), and none spent on the first
 * few files before the count is known.  The files after the first few
 * are not written back one by one: sync_file_range does the writeback
 * (the block allocation, the bios) in the caller, serially, where the
 * syncfs hands the whole batch to the kernel's flusher (README, "Designs
 * tried": 1.1x to 1.2x on an ext4 image).  syncfs reports writeback
 * errors of the filesystem since Linux 5.8.
 *
 * Unnamed temporaries by io_uring.  On an ext4 without a journal (as
 * many a root filesystem is) every O_TMPFILE open searches the inode
 * table past the inodes freed in the last seconds, reading its blocks:
 * 600 us an open while the previous install's old inodes are fresh.
 * The opens take no name and depend on nothing but their directory, so
 * where the walk says how many files of one directory come next
 * (hs_txn_dest.ahead), staging times its opens as the commit times its
 * renames (batch.c's rule, kind HS_ROP_TMPFILE), and once they are slow
 * opens the temporaries of that run of files in one io_uring batch,
 * whose kernel workers search side by side; each file then takes one
 * from the directory's pool.  The rest of staging, and its order of
 * journal records and names, is unchanged.  (tests/bench/stage_uring.c
 * measured the opens alone as almost all that io_uring wins in staging.)
 */
#include <sys/file.h>
#include <sys/resource.h>
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

/* stat's device of a filesystem, and the device maps shows for it. */
struct txn_mapdev {
	dev_t st_dev, maps_dev;
};

struct hs_txn {
	struct hs_install_opts opts;
	struct txn_staged *staged; /* to refuse a name twice */
	size_t nstaged, staged_cap;
	size_t *index; /* open hash of staged (+1; 0: free) */
	size_t index_cap;
	struct hs_copy_caps caps; /* for the pair of filesystems: */
	dev_t caps_in, caps_out;
	struct hs_fileid *replaced; /* old inodes, for the hint */
	size_t nreplaced, replaced_cap;
	int note;		 /* hs_txn_note_replaced() */
	struct hs_txn_dest last; /* hs_txn_add's last directory, */
	char lastdir[PATH_MAX];	 /* by the path it was named */
	struct txn_mapdev *mapdevs;
	size_t nmapdevs;
	struct hs_txn_stats stats;
	struct hs_journal j;
	int umask_known, umask; /* umask: -1 if the kernel does not say */
	int rootfd;
	int few[FEW_FILES]; /* the first temporaries, for the barrier */
	size_t nfew;
	int done;	      /* committed or rolled back */
	struct txn_dir *dirs; /* every directory staged in */
	size_t ndirs;
	struct hs_batch sb;	      /* staging's temporaries: the rule */
	int sb_state;		      /* 0 not set up, 1 ready, -1 cannot be */
	unsigned int pool_max;	      /* temporaries open ahead at most */
	int later[HS_FREE_LATER_MAX]; /* HS_FREE_LATER: big old inodes */
	size_t nlater, later_max;     /* (later_max 0: not known yet) */
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
dir_of(struct hs_txn *t, int fd, dev_t *devp, struct hs_result *res)
{
	char path[PATH_MAX];
	const char *rel;
	struct txn_dir *d;
	struct stat st;
	size_t i;
	int r;

	if (hs_sys.fstat(fd, &st) == -1)
		goto fail;
	if (devp != NULL)
		*devp = st.st_dev;
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

static size_t
staged_hash(const char *dir, const char *name)
{
	size_t h = (size_t)(uintptr_t)dir * 0x9e3779b97f4a7c15ULL;

	while (*name != '\0')
		h = (h ^ (unsigned char)*name++) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* Index staged entry i (the table has room). */
static void
index_put(struct hs_txn *t, size_t i)
{
	size_t m = t->index_cap - 1,
	       h = staged_hash(t->staged[i].dir, t->staged[i].name) & m;

	while (t->index[h] != 0)
		h = (h + 1) & m;
	t->index[h] = i + 1;
}

/* Keep the table at most half full: 1,000,000 names cost 16 MiB. */
static int
index_grow(struct hs_txn *t)
{
	size_t cap = t->index_cap == 0 ? 1024 : t->index_cap * 2, i;

	if ((t->nstaged + 1) * 2 <= t->index_cap)
		return 0;
	free(t->index);
	if ((t->index = calloc(cap, sizeof(*t->index))) == NULL) {
		t->index_cap = 0;
		return -1;
	}
	t->index_cap = cap;
	for (i = 0; i < t->nstaged; i++)
		index_put(t, i);
	return 0;
}

/*
 * Remember dir/name as staged; EEXIST if it already is: a second file for
 * the same destination would make a second old-inode link and silently
 * drop the first new file (GNU install refuses the same way).  A hash
 * table finds it: a tree of 100,000 files must not cost 10^10 compares.
 */
static int
stage_once(struct hs_txn *t, const char *dir, const char *name,
    struct hs_result *res)
{
	struct txn_staged *grown;
	size_t h, k;

	if (index_grow(t) == -1)
		return hs_fail(res, "cannot stage", res->target);
	h = staged_hash(dir, name) & (t->index_cap - 1);
	for (; (k = t->index[h]) != 0; h = (h + 1) & (t->index_cap - 1))
		if (t->staged[k - 1].dir == dir &&
		    strcmp(t->staged[k - 1].name, name) == 0) {
			errno = EEXIST;
			return hs_fail(res,
			    "cannot install twice in one "
			    "transaction to",
			    res->target);
		}
	if (t->nstaged == t->staged_cap) {
		k = t->staged_cap == 0 ? 256 : t->staged_cap * 2;
		grown = reallocarray(t->staged, k, sizeof(*grown));
		if (grown == NULL)
			return hs_fail(res, "cannot stage", res->target);
		t->staged = grown;
		t->staged_cap = k;
	}
	if ((t->staged[t->nstaged].name = strdup(name)) == NULL)
		return hs_fail(res, "cannot stage", res->target);
	t->staged[t->nstaged].dir = dir;
	index_put(t, t->nstaged++);
	return 0;
}

/*
 * Replay the journal of t's tree (hj NULL: by its name, a journal left
 * by another process), with t's options: its sync, its way of making
 * the steps (HS_IO_*), and the count of those io_uring made.
 */
static int
replay(struct hs_txn *t, const struct hs_journal *hj, int *outcome,
    struct hs_result *res)
{
	struct hs_replay rp = {
		.sync = !(t->opts.flags & HS_NO_SYNC),
		.io = t->opts.flags & (HS_IO_PLAIN | HS_IO_URING),
	};
	int r = hj != NULL ? hs_journal_replay_held(hj, &rp, outcome, res) :
			     hs_journal_replay(t->rootfd, &rp, outcome, res);

	t->stats.ring_ops += rp.ring_ops;
	return r;
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
	t->last.dirfd = -1;
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
	return replay(t, NULL, &t->stats.recovered, res);
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
		if (errno != EEXIST || hs_journal_cancel(&t->j, 1) == -1)
			return -1;
		hs_tmp_reseed();
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

/* Close the temporaries kept for the barrier. */
static void
close_few(struct hs_txn *t)
{
	while (t->nfew > 0)
		(void)hs_close(t->few[--t->nfew]);
}

/*
 * Ready the staged temporary for the barrier.  The first FEW_FILES are
 * kept open, for the barrier to fsync if no more follow, and have their
 * writeback started now; one more, and the barrier is a syncfs instead,
 * which needs none of them and writes the rest back itself.  (A file
 * whose staging fails after this counts too: its fsync is harmless.)
 */
static int
settle(struct hs_txn *t, int fd, const struct hs_install_opts *o)
{
	int kept;

	if (o->flags & HS_NO_SYNC)
		return 0;
	if (t->nfew < FEW_FILES && !t->stats.used_syncfs) {
		if ((kept = hs_sys.dupfd(fd)) == -1)
			return -1;
		t->few[t->nfew++] = kept;
		return hs_sys.sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	t->stats.used_syncfs = 1;
	close_few(t);
	return 0;
}

struct stage {
	int in;
	const char *src;
	struct stat sst;
	struct hs_dest d;
	struct hs_meta meta;
	const char *dir;
	dev_t dev;		  /* the destination directory's */
	struct hs_txn_dest *made; /* its temporaries' owner, or NULL */
};

/*
 * The metadata onto the temporary.  Every temporary this process makes
 * in one directory gets the same owner and group (our fsuid; our fsgid
 * or the directory's, if set-group-ID), so the fstat that tells them is
 * made for the first one only.
 */
static int
apply_meta(struct stage *s, int fd, struct hs_result *res)
{
	struct hs_txn_dest *td = s->made;
	struct stat st;

	if (td == NULL)
		return hs_meta_apply(fd, &s->meta, res);
	if (!td->made_known) {
		if (hs_sys.fstat(fd, &st) == -1)
			return hs_fail(res, "cannot stat new copy of",
			    res->target);
		td->made_uid = st.st_uid;
		td->made_gid = st.st_gid;
		td->made_known = 1;
	}
	return hs_meta_apply_as(fd, &s->meta, td->made_uid, td->made_gid, res);
}

/*
 * Name the unnamed temporary (T) and keep the old inode of s->d (O),
 * both journalled in one write before either name is taken.  A T name
 * found taken cancels both records (X 2: the O name was not tried); an
 * O name found taken cancels the O alone (X), which link_old then
 * journals and tries again.
 */
static int
claim_with_old(struct hs_txn *t, struct hs_tmp *tmp, const struct stage *s,
    int kind)
{
	char tn[NAME_MAX + 1], on[NAME_MAX + 1];
	struct link_arg l = { s->d.dirfd, s->d.name };
	int i;

	for (i = 0;; i++) {
		if (i == 100)
			return -1; /* errno EEXIST */
		if (hs_tmp_makename(tn, sizeof(tn), s->d.name) == -1 ||
		    hs_tmp_makename(on, sizeof(on), s->d.name) == -1 ||
		    hs_journal_add_pair(&t->j, s->dir, s->d.name, tn, kind, on,
			s->d.st.st_dev, s->d.st.st_ino) == -1)
			return -1;
		if (take_tmp(tmp, tn) == 0)
			break;
		if (errno != EEXIST || hs_journal_cancel(&t->j, 2) == -1)
			return -1;
		hs_tmp_reseed();
	}
	if (take_link(&l, on) == 0)
		return 0;
	if (errno != EEXIST || hs_journal_cancel(&t->j, 1) == -1)
		return -1;
	hs_tmp_reseed();
	return link_old(t, s->d.dirfd, s->dir, s->d.name, &s->d.st);
}

/*
 * Whether the directory of td has a default ACL (which, not the umask,
 * masks a new file's mode): asked once per directory.
 */
static int
dir_acl(struct hs_txn_dest *td)
{
	ssize_t n;

	if (!td->acl_known) {
		n = hs_sys.fgetxattr(td->dirfd, "system.posix_acl_default",
		    NULL, 0);
		if (n >= 0)
			td->acl = 1;
		else
			td->acl = errno == ENODATA || errno == ENOTSUP ? 0 : -1;
		td->acl_known = 1;
	}
	return td->acl;
}

/*
 * The mode to create the temporary of s with: its final bits, if that
 * gives them for certain (hs_meta_create_mode: then no fchmod follows),
 * else 0600.  The umask is learnt once per transaction.
 */
static mode_t
create_mode(struct hs_txn *t, struct stage *s, const struct hs_install_opts *o)
{
	mode_t m;

	if (s->made == NULL)
		return 0600;
	if (!t->umask_known) {
		t->umask = hs_umask_peek(&m) == 0 ? (int)m : -1;
		t->umask_known = 1;
	}
	s->meta.mode_made = hs_meta_create_mode(&s->meta, o, t->umask,
	    t->umask >= 0 ? dir_acl(s->made) : -1);
	return s->meta.mode_made ? s->meta.mode : 0600;
}

/* What the copies between this pair of filesystems learnt. */
static struct hs_copy_caps *
caps_for(struct hs_txn *t, const struct stage *s)
{
	if (t->caps_in != s->sst.st_dev || t->caps_out != s->dev) {
		memset(&t->caps, 0, sizeof(t->caps));
		t->caps_in = s->sst.st_dev;
		t->caps_out = s->dev;
	}
	return &t->caps;
}

/*
 * Staging's batch, set up the first time a run of files is to stage:
 * no more temporaries open ahead than a quarter of the descriptors the
 * process may have, so that the walk and the journal never run short.
 */
static int
stage_batch(struct hs_txn *t)
{
	struct rlimit rl;

	if (t->sb_state == 0) {
		t->sb_state = hs_batch_init(&t->sb, -1,
				  t->opts.flags &
				      (HS_IO_PLAIN | HS_IO_URING)) == -1 ?
		    -1 :
		    1;
		t->pool_max = HS_BATCH_MAX;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur / 4 < t->pool_max)
			t->pool_max = (unsigned int)(rl.rlim_cur / 4);
	}
	return t->sb_state == 1 && t->pool_max > 0;
}

/*
 * Fill td's pool with unnamed temporaries created with mode: one by a
 * plain call, timed for the rule, or td->ahead of them (at most
 * pool_max) by one io_uring batch once the rule chose the ring.  0 if
 * the pool has one; -1 with errno as the open's if the plain one
 * failed; 1 if the ring opened none, or no pool could be had: then td
 * opens one by one from now on, and so does the caller for this file.
 */
static int
pool_fill(struct hs_txn *t, struct hs_txn_dest *td, mode_t mode)
{
	struct hs_batch *b = &t->sb;
	struct hs_rop *op;
	unsigned int n = 1, i;
	int ring, err = 0;

	if (td->pool == NULL &&
	    (td->pool = malloc(t->pool_max * sizeof(*td->pool))) == NULL) {
		td->no_pool = 1;
		return 1;
	}
	if ((ring = hs_batch_ring(b, HS_ROP_TMPFILE)))
		n = td->ahead < t->pool_max ? td->ahead : t->pool_max;
	for (i = 0; i < n; i++) {
		op = hs_batch_next_at(b, HS_ROP_TMPFILE, td->dirfd, ".", NULL);
		op->mode = mode;
	}
	hs_batch_run(b);
	for (i = 0; i < b->n; i++)
		if (b->op[i].res >= 0) {
			td->pool[td->npool++] = b->op[i].res;
			t->stats.ring_opens += (unsigned long)b->op[i].by_ring;
		} else if (err == 0)
			err = -b->op[i].res;
	hs_batch_clear(b);
	td->pool_mode = mode;
	if (td->npool > 0)
		return 0;
	/* Not a batch a file where none opens (no O_TMPFILE here). */
	td->no_pool = 1;
	if (ring)
		return 1;
	errno = err;
	return -1;
}

/*
 * The unnamed temporary for s, asked with mode: from its directory's
 * pool, or one open.  -1 with errno as the open's (hs_tmp_unsupported).
 * A temporary from the pool made with another mode gets its bits later.
 */
static int
open_unnamed(struct hs_txn *t, struct stage *s, struct hs_tmp *tmp, mode_t mode,
    const struct hs_install_opts *o)
{
	struct hs_txn_dest *td = s->made;
	int r;

	/* -C: most files will be unchanged, and need none. */
	if (td == NULL || td->ahead == 0 || td->no_pool ||
	    (o->flags & HS_COMPARE) || !stage_batch(t))
		return hs_tmp_open_unnamed_mode(tmp, s->d.dirfd, mode);
	if (td->npool == 0 && (r = pool_fill(t, td, mode)) != 0) {
		/* What the pool could not give, a plain call says why. */
		if (r == 1)
			return hs_tmp_open_unnamed_mode(tmp, s->d.dirfd, mode);
		/* The plain call failed: tmp is in dirfd, for a named one. */
		hs_tmp_adopt(tmp, s->d.dirfd, -1);
		return -1;
	}
	hs_tmp_adopt(tmp, s->d.dirfd, td->pool[--td->npool]);
	if (td->pool_mode != mode)
		s->meta.mode_made = 0;
	return 0;
}

/*
 * HS_FREE_LATER: keep a reference to s's old inode if it is worth it
 * (hs_free_later_worth) and DEST is its only name, which the commit
 * takes from it, for hs_free_later() to drop once the transaction is
 * over.  O_PATH opens nothing (a FIFO or a device swapped in meanwhile is
 * not opened), what is held is only ever closed, and an inode other than
 * the one staged over is not held.  A sixteenth of the descriptors at
 * most, so that staging never runs short; an inode not held is freed by
 * the commit's unlink, as without the flag.
 */
static void
hold_old(struct hs_txn *t, const struct stage *s,
    const struct hs_install_opts *o)
{
	struct rlimit rl;
	struct stat st;
	int fd;

	if (!(o->flags & HS_FREE_LATER) || (o->flags & HS_BACKUP) ||
	    s->d.st.st_nlink != 1 || !hs_free_later_worth(&s->d.st))
		return;
	if (t->later_max == 0) {
		t->later_max = HS_FREE_LATER_MAX;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur / 16 < t->later_max)
			t->later_max = (size_t)(rl.rlim_cur / 16);
	}
	if (t->nlater == t->later_max ||
	    (fd = hs_openat(s->d.dirfd, s->d.name, O_PATH | O_NOFOLLOW, 0)) ==
		-1)
		return;
	/* Only the inode staged over: not one swapped in since. */
	if (hs_sys.fstat(fd, &st) == 0 && st.st_dev == s->d.st.st_dev &&
	    st.st_ino == s->d.st.st_ino)
		t->later[t->nlater++] = fd;
	else
		(void)hs_close(fd);
}

/*
 * The references hold_old() kept: handed over once the tree is new,
 * closed otherwise (the old inodes have their names again).
 */
static void
drop_held(struct hs_txn *t, int committed)
{
	int serrno = errno;
	size_t i;

	if (committed) {
		if (hs_free_later(t->later, t->nlater) == 0)
			t->stats.freed_later = t->nlater;
	} else
		for (i = 0; i < t->nlater; i++)
			(void)hs_close(t->later[i]);
	t->nlater = 0;
	errno = serrno; /* what failed before, if anything */
}

/* Phase 1 for one file: temporary with data and metadata, old link. */
static int
stage_file(struct hs_txn *t, struct stage *s, const struct hs_install_opts *o,
    struct hs_result *res)
{
	struct hs_tmp tmp = HS_TMP_INIT;
	int kind = kind_of(s->d.name, s->meta.mode), unnamed, ret = -1;

	unnamed = open_unnamed(t, s, &tmp, create_mode(t, s, o), o) == 0;
	if (!unnamed)
		s->meta.mode_made = 0; /* named, 0600: chmod when complete */
	if (!unnamed &&
	    (!hs_tmp_unsupported(errno) ||
		claim(t, &tmp, s->dir, s->d.name, kind) == -1)) {
		hs_fail(res, "cannot create temporary file for", res->target);
		goto out;
	}
	if (hs_copy_data_caps(s->in, s->src, &s->sst, tmp.fd, caps_for(t, s), o,
		res) == -1 ||
	    apply_meta(s, tmp.fd, res) == -1)
		goto out;
	if (settle(t, tmp.fd, o) == -1) {
		hs_fail(res, "cannot sync new copy of", res->target);
		goto out;
	}
	if (unnamed && s->d.exists ?
		claim_with_old(t, &tmp, s, kind) == -1 :
		((unnamed && claim(t, &tmp, s->dir, s->d.name, kind) == -1) ||
		    (s->d.exists &&
			link_old(t, s->d.dirfd, s->dir, s->d.name, &s->d.st) ==
			    -1))) {
		hs_fail(res, "cannot stage", res->target);
		goto out;
	}
	tmp.named = 0; /* the journal owns its name now */
	if (s->d.exists)
		hold_old(t, s, o);
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

/*
 * The device maps shows for files of stat's device st_dev, learnt once
 * per filesystem from old, a regular file there opened for the purpose
 * (hs_fileid_fd: it maps a page and looks); stat's own where that fails.
 */
static dev_t
maps_dev(struct hs_txn *t, const struct hs_dest *d)
{
	struct txn_mapdev *grown;
	struct hs_fileid id;
	size_t i;
	int fd, r;

	for (i = 0; i < t->nmapdevs; i++)
		if (t->mapdevs[i].st_dev == d->st.st_dev)
			return t->mapdevs[i].maps_dev;
	fd = hs_openat(d->dirfd, d->name,
	    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
	if (fd == -1)
		return d->st.st_dev;
	r = hs_fileid_fd(fd, &id);
	(void)hs_close(fd);
	if (r == -1 || id.ino != d->st.st_ino)
		return d->st.st_dev;
	grown = reallocarray(t->mapdevs, t->nmapdevs + 1, sizeof(*grown));
	if (grown == NULL)
		return id.dev;
	t->mapdevs = grown;
	t->mapdevs[t->nmapdevs].st_dev = d->st.st_dev;
	t->mapdevs[t->nmapdevs++].maps_dev = id.dev;
	return id.dev;
}

/*
 * Remember the old inode that the commit will replace, for the hint of
 * who still runs it (hs_txn_replaced): its identity as maps shows it.
 * Only after hs_txn_note_replaced(); memory is no reason to fail.
 */
static void
note_replaced(struct hs_txn *t, const struct hs_dest *d)
{
	struct hs_fileid *grown;
	size_t cap;

	if (!t->note || !d->exists || !S_ISREG(d->st.st_mode))
		return;
	if (t->nreplaced == t->replaced_cap) {
		cap = t->replaced_cap == 0 ? 256 : t->replaced_cap * 2;
		grown = reallocarray(t->replaced, cap, sizeof(*grown));
		if (grown == NULL)
			return;
		t->replaced = grown;
		t->replaced_cap = cap;
	}
	t->replaced[t->nreplaced].dev = maps_dev(t, d);
	t->replaced[t->nreplaced++].ino = d->st.st_ino;
}

/*
 * 1 if the old file d names has no extended attribute to carry over,
 * asked by name (/proc/self/fd/D/NAME, NAME not followed) instead of by
 * opening it: most files have none, and then the old file need not be
 * opened at all.  0 if it has some, or if we cannot tell: hs_open_old.
 * (The name is what the O link is then made from, as before.)
 */
static int
no_xattrs(const struct hs_dest *d)
{
	char path[64 + NAME_MAX];
	ssize_t n;

	if (snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", d->dirfd,
		d->name) >= (int)sizeof(path))
		return 0;
	n = hs_sys.llistxattr(path, NULL, 0);
	return n == 0 || (n == -1 && errno == ENOTSUP);
}

/*
 * Everything about one file but its temporary, once s->d names the
 * destination: the same file?  The old inode opened (for its xattrs and
 * -C), the metadata planned.
 */
static int
plan(struct hs_txn *t, struct stage *s, const struct hs_install_opts *o,
    struct hs_result *res)
{
	int old = -1, r;

	if (s->d.exists && s->d.st.st_dev == s->sst.st_dev &&
	    s->d.st.st_ino == s->sst.st_ino) {
		res->same_file = 1;
		t->stats.same_file++;
		return 0;
	}
	if ((o->flags & HS_COMPARE) || !s->d.exists ||
	    !S_ISREG(s->d.st.st_mode) || !no_xattrs(&s->d)) {
		if (hs_open_old(&s->d, &old, res) == -1)
			return -1;
	}
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

/* Phase 1 once s->in and s->d are open, s->dir known (NULL: find it). */
static int
stage(struct hs_txn *t, struct stage *s, const struct hs_install_opts *o,
    struct hs_result *res)
{
	if (plan(t, s, o, res) == -1)
		return -1;
	if (res->same_file || res->unchanged)
		return 0;
	if (journal(t, res) == -1)
		return -1;
	if (s->dir == NULL &&
	    (s->dir = dir_of(t, s->d.dirfd, &s->dev, res)) == NULL)
		return -1;
	if (stage_once(t, s->dir, s->d.name, res) == -1 ||
	    stage_file(t, s, o, res) == -1)
		return -1;
	t->stats.staged++;
	t->stats.bytes += res->bytes;
	if (s->d.exists && s->d.st.st_nlink > 1) {
		res->other_links = s->d.st.st_nlink - 1;
		t->stats.other_links++;
	}
	note_replaced(t, &s->d);
	return 0;
}

static int add_cached(struct hs_txn *, const char *, const char *,
    const struct hs_install_opts *, struct hs_result *);

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
	if ((ret = add_cached(t, src, dst, o, res)) != 1)
		return ret;
	ret = -1;
	if ((o->flags & HS_MKDIRS) && make_parents(t, dst, res) == -1)
		return -1;
	if ((s.in = hs_open_source(src, &s.sst, res)) == -1)
		return -1;
	if (hs_dest_open(dst, o->flags & ~HS_MKDIRS, &s.d, res) == 0 &&
	    stage(t, &s, o, res) == 0)
		ret = 0;
	serrno = errno;
	if (s.meta.xattr_fd != -1)
		(void)hs_close(s.meta.xattr_fd);
	(void)hs_close(s.in);
	hs_dest_close(&s.d);
	errno = serrno;
	return ret;
}

int
hs_txn_dest_open(struct hs_txn *t, const char *dir, struct hs_txn_dest *td,
    struct hs_result *res)
{
	td->dirfd = -1;
	td->dir = NULL;
	td->made_known = 0;
	td->acl_known = 0;
	if (t->opts.flags & HS_DRY_RUN)
		return 0; /* hs_txn_add_at() takes the path way */
	if ((td->dirfd = hs_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0)) ==
	    -1)
		return hs_fail(res, "cannot open directory", dir);
	(void)strlcpy(res->target, dir, sizeof(res->target));
	if ((td->dir = dir_of(t, td->dirfd, &td->dev, res)) == NULL) {
		hs_txn_dest_close(td);
		return -1;
	}
	return 0;
}

void
hs_txn_dest_drain(struct hs_txn_dest *td)
{
	int serrno = errno;

	while (td->npool > 0)
		(void)hs_close(td->pool[--td->npool]);
	errno = serrno;
}

void
hs_txn_dest_close(struct hs_txn_dest *td)
{
	int serrno = errno;

	hs_txn_dest_drain(td);
	free(td->pool);
	td->pool = NULL;
	if (td->dirfd != -1)
		(void)hs_close(td->dirfd);
	td->dirfd = -1;
	td->dir = NULL;
	errno = serrno;
}

/* Stage in as name in td, with options o (see hs_txn_add_at). */
static int
add_at(struct hs_txn *t, int in, const struct stat *sst, const char *src,
    struct hs_txn_dest *td, const char *name, const char *dst,
    const struct hs_install_opts *o, struct hs_result *res)
{
	struct stage s = { .in = in,
		.src = src,
		.sst = *sst,
		.d = { .dirfd = -1 } };
	int ret = -1, serrno;

	memset(res, 0, sizeof(*res));
	s.meta.xattr_fd = -1;
	if (td->dirfd == -1 || strlen(name) > NAME_MAX || *name == '\0' ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 1;
	(void)strlcpy(res->target, dst, sizeof(res->target));
	if (hs_sys.fstatat(td->dirfd, name, &s.d.st, AT_SYMLINK_NOFOLLOW) ==
	    0) {
		if (S_ISLNK(s.d.st.st_mode))
			return 1; /* to be followed: the path way */
		if (S_ISDIR(s.d.st.st_mode)) {
			errno = EISDIR;
			return hs_fail(res, "cannot replace", dst);
		}
		s.d.exists = 1;
	} else if (errno != ENOENT)
		return hs_fail(res, "cannot stat", dst);
	s.d.dirfd = td->dirfd;
	(void)strlcpy(s.d.name, name, sizeof(s.d.name));
	s.dir = td->dir;
	s.dev = td->dev;
	s.made = td;
	if (stage(t, &s, o, res) == 0)
		ret = 0;
	serrno = errno;
	if (s.meta.xattr_fd != -1)
		(void)hs_close(s.meta.xattr_fd);
	errno = serrno;
	return ret;
}

int
hs_txn_add_at(struct hs_txn *t, int in, const struct stat *sst, const char *src,
    struct hs_txn_dest *td, const char *name, const char *dst,
    struct hs_result *res)
{
	return add_at(t, in, sst, src, td, name, dst, &t->opts, res);
}

/*
 * hs_txn_add() of a destination in the same directory as the one
 * before (a manifest lists a directory's files together): that
 * directory stays open and named (t->last), as tree.c keeps its
 * directories.  1: take the path way (a new directory that cannot be
 * opened, a symbolic link, -D, a dry run), which says what is wrong.
 */
static int
add_cached(struct hs_txn *t, const char *src, const char *dst,
    const struct hs_install_opts *o, struct hs_result *res)
{
	const char *slash = strrchr(dst, '/');
	struct stat sst;
	size_t dl;
	int in, r;

	if (slash == NULL || slash == dst ||
	    (o->flags & (HS_MKDIRS | HS_DRY_RUN)) ||
	    (size_t)(slash - dst) >= sizeof(t->lastdir))
		return 1;
	dl = (size_t)(slash - dst);
	if (t->last.dirfd == -1 || strlen(t->lastdir) != dl ||
	    memcmp(t->lastdir, dst, dl) != 0) {
		hs_txn_dest_close(&t->last);
		memcpy(t->lastdir, dst, dl);
		t->lastdir[dl] = '\0';
		if (hs_txn_dest_open(t, t->lastdir, &t->last, res) == -1) {
			t->lastdir[0] = '\0';
			return 1;
		}
	}
	if ((in = hs_open_source(src, &sst, res)) == -1)
		return -1;
	r = add_at(t, in, &sst, src, &t->last, slash + 1, dst, o, res);
	(void)hs_close(in);
	return r;
}

void
hs_txn_note_replaced(struct hs_txn *t)
{
	t->note = 1;
}

const struct hs_fileid *
hs_txn_replaced(const struct hs_txn *t, size_t *n)
{
	*n = t->nreplaced;
	return t->replaced;
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
	if ((dir = dir_of(t, d.dirfd, NULL, res)) == NULL)
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
	if (journal(t, res) == -1 ||
	    (parent = dir_of(t, d.dirfd, NULL, res)) == NULL)
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
 * Phase 2: every staged file durable.  Few files: each is fsynced (from
 * the descriptor settle kept), then each directory.  Many: one syncfs(2)
 * per filesystem covers data, inodes and directories at once.
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
	for (i = 0; i < t->nfew; i++)
		if (hs_fsync(t->few[i]) == -1)
			return hs_fail(res, "cannot sync the new files in",
			    t->root);
	close_few(t);
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
	if (replay(t, &t->j, &outcome, &r2) == 0)
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
	if (replay(t, &t->j, &outcome, res) == -1) {
		/* Past the last rename, the tree is new: nothing to undo. */
		if (outcome != 1)
			roll_back(t);
		drop_held(t, outcome == 1);
		t->done = 1;
		return -1;
	}
	drop_held(t, 1);
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
	close_few(t);
	drop_held(t, 0);
	if (t->j.fd != -1)
		(void)hs_close(t->j.fd); /* a journal left for recovery */
	for (i = 0; i < t->ndirs; i++)
		free(t->dirs[i].path);
	free(t->dirs);
	for (i = 0; i < t->nstaged; i++)
		free(t->staged[i].name);
	free(t->staged);
	hs_txn_dest_close(&t->last);
	if (t->sb_state == 1)
		hs_batch_free(&t->sb);
	free(t->index);
	free(t->replaced);
	free(t->mapdevs);
	if (t->rootfd != -1)
		(void)hs_close(t->rootfd); /* and the lock with it */
	free(t);
}

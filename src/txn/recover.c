/*
 * recover.c - carry out what a transaction's journal says.
 *
 * This is not only crash recovery: a transaction commits by writing C and
 * replaying its own journal forward, and rolls back by replaying it
 * backward.  So the code that repairs a crash is the code that runs on
 * every deploy, and is tested by every deploy.
 *
 * Every step is idempotent: a name already moved or removed is skipped,
 * so a replay interrupted by another crash can simply be run again.
 * The journal is read and judged first (journal_read.c); hs_recover(),
 * the public way in, replays it under the tree's lock.
 */
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

struct journal {
	struct hs_jtext p;
	int rootfd;
	int dirfd;	     /* the open directory below */
	const char *dirpath; /* dirfd's, relative to the root */
	int disarm_failed;   /* drop_old's failure was that */
	const char *faildir; /* a batched step failed there */
	struct hs_batch b;   /* forward's and drop_old's steps */
	char root[PATH_MAX]; /* for messages */
};

/* The directory rel beneath the root, opened (the last one is kept). */
static int
dir(struct journal *j, const char *rel)
{
	if (j->dirfd != -1 && strcmp(j->dirpath, rel) == 0)
		return j->dirfd;
	if (j->dirfd != -1)
		(void)hs_close(j->dirfd);
	j->dirpath = rel;
	j->dirfd = hs_open_beneath(j->rootfd, rel);
	return j->dirfd;
}

/*
 * Before the first step: every directory the journal names can be
 * reached beneath the root, or is gone (its steps are skipped, as those
 * of a replay done before).  A symbolic link on the way is an error: the
 * replay stops before it has done anything.
 */
static int
reachable(struct journal *j)
{
	size_t i;

	for (i = 0; i < j->p.n; i++)
		if (j->p.rec[i].dir != NULL && dir(j, j->p.rec[i].dir) == -1 &&
		    errno != ENOENT)
			return -1;
	return 0;
}

/* 1 if dir/name exists, 0 if not, -1 if we cannot tell. */
static int
exists(int dirfd, const char *name)
{
	struct stat st;

	if (hs_sys.fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* Remove dir/name if it is there. */
static int
remove_name(struct journal *j, const char *d, const char *name)
{
	int fd = dir(j, d);

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (hs_sys.unlinkat(fd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * Rename dir/from over dir/to if from is there: the rename itself says
 * so (ENOENT: moved before), without a look first.
 */
static int
move_name(struct journal *j, const char *d, const char *from, const char *to)
{
	int fd = dir(j, d);

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (hs_sys.renameat2(fd, from, fd, to, 0) == -1)
		return errno == ENOENT ? 0 : -1;
	return 0;
}

typedef int judge_fn(struct journal *, struct hs_rop *);

/* A step of r failed (errno set): its directory names the failure. */
static int
step_failed(struct journal *j, const struct hs_jrec *r)
{
	j->faildir = r->dir;
	return -1;
}

/* Run the batch, and judge its ops in the journal's order. */
static int
flush(struct journal *j, judge_fn *judge)
{
	size_t i;
	int r = 0, serrno;

	if (j->b.n == 0)
		return 0;
	hs_batch_run(&j->b);
	for (i = 0; i < j->b.n && r == 0; i++)
		r = judge(j, &j->b.op[i]);
	serrno = errno;
	hs_batch_clear(&j->b);
	errno = serrno;
	return r;
}

/*
 * Queue the step kind of record r on its name in r's directory, the
 * batch run first if it is full.  *opp NULL: r's directory is gone and
 * its step was done before (as a replay interrupted after it leaves it).
 */
static int
step(struct journal *j, enum hs_rop_kind kind, struct hs_jrec *r,
    judge_fn *judge, struct hs_rop **opp)
{
	if (hs_batch_full(&j->b) && flush(j, judge) == -1)
		return -1;
	*opp = hs_batch_next(&j->b, kind, r->dir, r->aux, r);
	if (*opp == NULL && errno != ENOENT)
		return step_failed(j, r);
	return 0;
}

/* A rename or an unlink: made, or made before (ENOENT: nothing there). */
static int
judge_moved(struct journal *j, struct hs_rop *op)
{
	if (op->res == 0 || op->res == -ENOENT)
		return 0;
	errno = -op->res;
	return step_failed(j, op->arg);
}

/*
 * Every T into place: kind 0 first, then 1, then 2.  The renames of
 * one kind do not depend on each other, and go in batches.
 */
static int
forward(struct journal *j)
{
	struct hs_jrec *r;
	struct hs_rop *op;
	size_t i;
	int k;

	for (k = 0; k <= 2; k++) {
		for (i = 0; i < j->p.n; i++) {
			r = &j->p.rec[i];
			if (r->type != 'T' || r->cancelled || r->kind != k)
				continue;
			if (step(j, HS_ROP_RENAME, r, judge_moved, &op) == -1)
				return -1;
			if (op != NULL)
				op->to = r->name;
		}
		if (flush(j, judge_moved) == -1)
			return -1;
	}
	return 0;
}

/* 1 if st is the old inode r recorded, and a regular file. */
static int
recorded(const struct stat *st, const struct hs_jrec *r)
{
	return r->has_id && S_ISREG(st->st_mode) && st->st_dev == r->dev &&
	    st->st_ino == r->ino;
}

/*
 * Clear the set-ID bits and capabilities of the old inode r links (as a
 * single install does, hs_meta_disarm): once it leaves the name, it may
 * live on as a backup or under another user's hard link.  Looked at
 * first (op, the stat of r's link in directory op->dirfd), so that no
 * FIFO or device is opened, then opened O_NOFOLLOW and checked again on
 * the descriptor, which is what is changed.  A link that is not the
 * recorded inode (another user's file renamed over it, or a journal of
 * an earlier version, which has no identity) is left alone: disarming
 * it could strip someone else's program.
 */
static int
disarm(const struct hs_rop *op, const struct hs_jrec *r)
{
	struct stat st;
	int old, ret = -1, serrno;

	if (op->res == -ENOENT)
		return 0;
	if (op->res < 0) {
		errno = -op->res;
		return -1;
	}
	/* Neither set-user-ID nor executable: nothing to strip, no open. */
	if (!recorded(&op->st, r) || !(op->st.st_mode & (S_ISUID | 0111)))
		return 0;
	old = hs_openat(op->dirfd, r->aux,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
	if (old == -1)
		return errno == ENOENT ? 0 : -1;
	if (hs_sys.fstat(old, &st) == -1)
		goto out;
	ret = recorded(&st, r) ? hs_meta_disarm(old, &st) : 0;
out:
	serrno = errno;
	(void)hs_close(old);
	errno = serrno;
	return ret;
}

static int
judge_disarm(struct journal *j, struct hs_rop *op)
{
	if (disarm(op, op->arg) == 0)
		return 0;
	j->disarm_failed = 1;
	return step_failed(j, op->arg);
}

/*
 * After forward: the old inodes are disarmed, then their links become
 * backups (S) or go.  Only once every rename is made, or a rollback
 * would find them gone (or stripped of bits they must get back).  Each
 * of the two passes goes in batches: the stats, then the renames or
 * unlinks.  A failure stops here with the journal kept: the next replay
 * (recover, or the next transaction in the tree) disarms and drops
 * again.
 */
static int
drop_old(struct journal *j)
{
	const char *sfx = j->p.suffix;
	struct hs_jrec *r;
	struct hs_rop *op;
	size_t i;
	char *to;

	for (i = 0; i < j->p.n; i++) {
		r = &j->p.rec[i];
		if (r->type == 'O' && !r->cancelled &&
		    step(j, HS_ROP_STAT, r, judge_disarm, &op) == -1)
			return -1;
	}
	if (flush(j, judge_disarm) == -1)
		return -1;
	for (i = 0; i < j->p.n; i++) {
		r = &j->p.rec[i];
		if (r->type != 'O' || r->cancelled)
			continue;
		if (step(j, sfx != NULL ? HS_ROP_RENAME : HS_ROP_UNLINK, r,
			judge_moved, &op) == -1)
			return -1;
		if (op == NULL || sfx == NULL)
			continue;
		op->to = to = hs_batch_to(&j->b, op);
		if (hs_backup_name(to, r->name, sfx) == -1)
			return step_failed(j, r);
	}
	return flush(j, judge_moved);
}

/* The O record for dir/name, or NULL if the name was new. */
static struct hs_jrec *
old_of(struct journal *j, const struct hs_jrec *t)
{
	size_t i;

	for (i = 0; i < j->p.n; i++)
		if (j->p.rec[i].type == 'O' && !j->p.rec[i].cancelled &&
		    strcmp(j->p.rec[i].dir, t->dir) == 0 &&
		    strcmp(j->p.rec[i].name, t->name) == 0)
			return &j->p.rec[i];
	return NULL;
}

/*
 * Undo: temporaries and old-inode links are removed, directories we made
 * are removed if empty.  After C (renames may have happened), a T whose
 * temporary is gone was renamed: its old inode is renamed back, or the
 * name removed if it was new.
 */
static int
backward(struct journal *j)
{
	struct hs_jrec *r, *o;
	size_t i;
	int fd, e;

	for (i = j->p.n; i-- > 0;) {
		r = &j->p.rec[i];
		if (r->type != 'T' || r->cancelled)
			continue;
		if ((fd = dir(j, r->dir)) == -1) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if ((e = exists(fd, r->aux)) == -1)
			return -1;
		if (e == 1) {
			if (remove_name(j, r->dir, r->aux) == -1)
				return -1;
		} else if (j->p.committed) {
			o = old_of(j, r);
			if (o != NULL ?
				move_name(j, o->dir, o->aux, r->name) == -1 :
				remove_name(j, r->dir, r->name) == -1)
				return -1;
		}
	}
	for (i = j->p.n; i-- > 0;) {
		r = &j->p.rec[i];
		if (r->type == 'O' && !r->cancelled &&
		    remove_name(j, r->dir, r->aux) == -1)
			return -1;
		/* A directory we made goes only if it is empty. */
		if (r->type == 'D' && !r->cancelled &&
		    (fd = dir(j, r->dir)) != -1)
			(void)hs_sys.unlinkat(fd, r->name, AT_REMOVEDIR);
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* fsync every directory a T, O or D record names, each once. */
static int
sync_dirs(struct journal *j)
{
	const char **dirs = calloc(j->p.n + 1, sizeof(*dirs));
	size_t i, n = 0;
	int fd, ret = -1;

	if (dirs == NULL)
		return -1;
	for (i = 0; i < j->p.n; i++)
		if (strchr("TOD", j->p.rec[i].type) != NULL)
			dirs[n++] = j->p.rec[i].dir;
	qsort(dirs, n, sizeof(*dirs), cmp_str);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(dirs[i], dirs[i - 1]) == 0)
			continue;
		if ((fd = dir(j, dirs[i])) != -1 && hs_fsync(fd) == -1)
			goto out;
	}
	ret = 0;
out:
	free(dirs);
	return ret;
}

/* root/rel into buf, for messages: cut short if it does not fit. */
static void
join(char *buf, size_t len, const char *root, const char *rel)
{
	if (snprintf(buf, len, "%s/%s", root, rel) >= (int)len)
		buf[len - 1] = '\0';
}

/* Record the directory being worked on when a step failed. */
static void
failed(struct journal *j, struct hs_result *res, const char *step)
{
	const char *d = j->faildir != NULL ? j->faildir : j->dirpath;

	if (d != NULL && strcmp(d, ".") != 0)
		join(res->target, sizeof(res->target), j->root, d);
	hs_fail(res, step, res->target);
}

/* Forward after C (unless A), else backward; *outcome as replay's. */
static int
carry_out(struct journal *j, int *outcome, struct hs_result *res)
{
	int fwd = j->p.committed && !j->p.aborted;

	if (reachable(j) == -1) {
		failed(j, res,
		    fwd ? "cannot rename into" : "cannot roll back in");
		return -1;
	}
	if (fwd) {
		if (forward(j) == -1) {
			failed(j, res, "cannot rename into");
			return -1;
		}
		*outcome = 1;
		if (drop_old(j) == -1) {
			failed(j, res,
			    j->disarm_failed ?
				"installed, but "
				"cannot clear the set-ID bits or capabilities of "
				"an old version in" :
				"installed, but cannot "
				"remove old links in");
			return -1;
		}
	} else {
		if (backward(j) == -1) {
			failed(j, res, "cannot roll back in");
			return -1;
		}
		*outcome = -1;
	}
	return 0;
}

/*
 * Carry out j, then remove the journal's name: if hj is not NULL (the
 * journal this process writes), only while it is still that file.
 *
 * The removal is not waited for (no fsync of the root after it): every
 * step it would cover was made durable by sync_dirs first, so a power
 * cut that loses it leaves a journal whose replay finds every step done
 * (each is idempotent) and removes it again.  tests/e2e/powercut.bats
 * cuts the power at every event, the removal's included.
 */
static int
replay(struct journal *j, const struct hs_journal *hj, int sync, int *outcome,
    struct hs_result *res)
{
	int r;

	if (carry_out(j, outcome, res) == -1)
		return -1;
	if (sync && sync_dirs(j) == -1) {
		failed(j, res,
		    *outcome == 1 ? "installed, but cannot sync" :
				    "rolled back, but cannot sync");
		return -1;
	}
	r = hj == NULL ? 1 : hs_journal_is_ours(hj);
	if ((r == 1 && hs_sys.unlinkat(j->rootfd, HS_JOURNAL, 0) == -1 &&
		errno != ENOENT) ||
	    r == -1) {
		hs_fail(res,
		    *outcome == 1 ? "installed, but cannot remove the "
				    "journal in" :
				    "cannot remove the journal in",
		    res->target);
		return -1;
	}
	return 0;
}

static int
replay_from(int rootfd, const struct hs_journal *hj, struct hs_replay *rp,
    int *outcome, struct hs_result *res)
{
	struct journal j = { .rootfd = rootfd, .dirfd = -1 };
	int ret, serrno, r;

	*outcome = 0;
	(void)strlcpy(j.root, res->target, sizeof(j.root));
	join(res->target, sizeof(res->target), j.root, HS_JOURNAL);
	r = hj != NULL ? hs_journal_load_held(hj, &j.p, res) :
			 hs_journal_load(rootfd, &j.p, res);
	if (r <= 0 && hj == NULL)
		return r;
	if (r == -1)
		return -1;
	if (hs_batch_init(&j.b, rootfd, rp->io) == -1) {
		hs_fail(res, "cannot replay", res->target);
		hs_journal_text_free(&j.p);
		return -1;
	}
	(void)strlcpy(res->target, j.root, sizeof(res->target));
	ret = replay(&j, hj, rp->sync, outcome, res);
	serrno = errno;
	rp->ring_ops += j.b.ring_ops;
	hs_batch_free(&j.b);
	if (j.dirfd != -1)
		(void)hs_close(j.dirfd);
	hs_journal_text_free(&j.p);
	errno = serrno;
	return ret;
}

int
hs_journal_replay(int rootfd, struct hs_replay *rp, int *outcome,
    struct hs_result *res)
{
	return replay_from(rootfd, NULL, rp, outcome, res);
}

int
hs_journal_replay_held(const struct hs_journal *hj, struct hs_replay *rp,
    int *outcome, struct hs_result *res)
{
	return replay_from(hj->rootfd, hj, rp, outcome, res);
}

int
hs_recover(const char *root, int *outcome, struct hs_result *res)
{
	struct hs_install_opts o;
	struct hs_txn *t;
	int r;

	hs_install_opts_init(&o);
	*outcome = 0;
	if ((t = hs_txn_open(root, &o, res)) == NULL)
		return -1;
	r = hs_txn_lock(t, 1, res);
	*outcome = hs_txn_stats(t)->recovered;
	hs_txn_free(t);
	return r;
}

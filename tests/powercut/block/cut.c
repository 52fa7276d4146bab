/*
 * cut.c - the power cuts of blockcut: for each cut point (after event K
 * of the log) the crash images the model allows (blockcut.h) are built
 * from the epoch's base image, written to a scratch image, attached to a
 * loop device and mounted (ext4 replays its journal), and the mounted
 * tree is handed to the checker, as powercut does (tests/powercut/cut.c).
 *
 * Where each mode cuts: drop, before any event, after each flush, when
 * the command exited and at the end (between two flushes every cut
 * leaves the same image); prefix,
 * after every event; subset, before each flush and at the end, where the
 * writes since the last flush are the most (a subset of fewer is a subset
 * of these).  Every image is hashed over the blocks the epoch wrote; one
 * seen before (with the same "command finished" flag) is not judged
 * again, so the checker must go by the state and POWERCUT_FINAL alone.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockcut.h"

#define OUT_MAX	    4096 /* bytes of a checker's output kept */
#define ALL_SUBSETS 12	 /* up to 2^this, every subset is cut */

struct verdict {
	uint64_t h[2];
	int final;
	size_t cut;	     /* the first cut point that left it */
	unsigned char *keep; /* per event: kept in it */
	int ok;
	char *out; /* what the checker said */
};

/* A cut point: its states, as verdicts, with how many writes each kept. */
struct cutpoint {
	size_t cut, n, npend;
	size_t *vi, *kept;
};

/* A worker: one image at a time, in its own files and mount point. */
struct worker {
	pid_t pid;
	size_t vi;
	time_t started;
	char *img, *dir, *out;
	int lfd; /* its loop device, on img, for all its images */
	char dev[64];
};

struct cutter {
	const struct bc_rec *r;
	const struct bc_opts *o;
	int status;
	size_t *blocks; /* the blocks the epoch wrote, in order */
	size_t nblocks;
	unsigned char *cur;  /* the image being built */
	unsigned char *keep; /* per event: kept in this image */
	size_t *pend;	     /* the writes since the last flush */
	size_t npend;
	struct verdict *v;
	size_t nv;
	struct cutpoint *cp;
	size_t ncp;
	struct bc_tally *t;
	pid_t runner; /* with started, names the run (not a worker) */
	time_t started;
};

const char *
bc_mode_name(int mode)
{
	return mode == BC_PREFIX ? "prefix" :
	    mode == BC_SUBSET	 ? "subset" :
				   "drop";
}

static int
by_value(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The sorted set of blocks any write of the epoch touched. */
static void
touched(struct cutter *c)
{
	const struct bc_rec *r = c->r;
	size_t k, b, n = 0, i, j;

	for (k = 0; k < r->n; k++)
		if (r->ev[k].kind == BC_WRITE)
			n += (r->ev[k].len + 2 * BC_BLOCK - 1) / BC_BLOCK;
	c->blocks = bc_xalloc(NULL, n, sizeof(*c->blocks));
	for (k = 0, i = 0; k < r->n; k++) {
		if (r->ev[k].kind != BC_WRITE || r->ev[k].len == 0)
			continue;
		for (b = (size_t)r->ev[k].off / BC_BLOCK;
		     b * BC_BLOCK < (size_t)r->ev[k].off + r->ev[k].len; b++)
			c->blocks[i++] = b;
	}
	qsort(c->blocks, i, sizeof(*c->blocks), by_value);
	for (j = 0, k = 0; k < i; k++)
		if (j == 0 || c->blocks[j - 1] != c->blocks[k])
			c->blocks[j++] = c->blocks[k];
	c->nblocks = j;
}

/* The image: the base, then the writes keep[] marks, in their order. */
static void
build(struct cutter *c, size_t cut)
{
	const struct bc_rec *r = c->r;
	const struct bc_event *e;
	size_t i, k;

	for (i = 0; i < c->nblocks; i++)
		memcpy(c->cur + c->blocks[i] * BC_BLOCK,
		    r->base + c->blocks[i] * BC_BLOCK, BC_BLOCK);
	for (k = 0; k < cut; k++) {
		e = &r->ev[k];
		if (e->kind != BC_WRITE || !c->keep[k])
			continue;
		if (e->data != NULL)
			memcpy(c->cur + e->off, e->data, e->len);
		else
			memset(c->cur + e->off, 0, e->len);
	}
}

static void
hash(const struct cutter *c, uint64_t h[2])
{
	uint64_t h0 = 0xcbf29ce484222325ULL, h1 = 0x243f6a8885a308d3ULL, w;
	const unsigned char *p;
	size_t i, j;

	for (i = 0; i < c->nblocks; i++) {
		p = c->cur + c->blocks[i] * BC_BLOCK;
		for (j = 0; j < BC_BLOCK; j += sizeof(w)) {
			memcpy(&w, p + j, sizeof(w));
			h0 = (h0 ^ w) * 0x100000001b3ULL;
			h1 = (h1 ^ w) * 0x9e3779b97f4a7c15ULL;
			h1 = (h1 << 29) | (h1 >> 35);
		}
	}
	h[0] = h0;
	h[1] = h1;
}

static char *
slurp(const char *path)
{
	char *buf = bc_xalloc(NULL, OUT_MAX + 1, 1);
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return buf;
	while ((n = read(fd, buf, OUT_MAX)) == -1 && errno == EINTR)
		;
	(void)close(fd);
	n = n < 0 ? 0 : n;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return buf;
}

static void
checker_env(const struct cutter *c, size_t cut, int final)
{
	char num[64];

	(void)snprintf(num, sizeof(num), "%zu", cut);
	(void)setenv("POWERCUT_CUT", num, 1);
	(void)snprintf(num, sizeof(num), "%zu", c->r->n);
	(void)setenv("POWERCUT_EVENTS", num, 1);
	(void)setenv("POWERCUT_FINAL", final ? "1" : "0", 1);
	(void)snprintf(num, sizeof(num), "%d", c->status);
	(void)setenv("POWERCUT_STATUS", num, 1);
	(void)setenv("POWERCUT_MODE", bc_mode_name(c->o->mode), 1);
	(void)snprintf(num, sizeof(num), "%ld.%lld", (long)c->runner,
	    (long long)c->started);
	(void)setenv("POWERCUT_RUN", num, 1);
}

/*
 * In a worker: run the checker in the mounted state, its output into
 * w->out; 1 ok, 0 rejected, -1 error.
 */
static int
run_checker(const struct cutter *c, const struct worker *w,
    const struct verdict *v)
{
	char script[8192];
	const char *argv[] = { "/bin/sh", "-c", script, "blockcut", w->dir,
		NULL };
	int fd, st, r;
	pid_t pid;

	(void)snprintf(script, sizeof(script), "%s \"$1\"", c->o->check);
	fd = open(w->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	checker_env(c, v->cut, v->final);
	if ((pid = bc_spawn(argv, w->dir, fd)) == -1) {
		(void)close(fd);
		return -1;
	}
	r = bc_wait(pid, c->o->timeout, &st);
	if (r == -1 && errno == ETIMEDOUT) {
		(void)dprintf(fd, "\nthe checker timed out after %d s\n",
		    c->o->timeout);
		st = 1;
		r = 0;
	}
	(void)close(fd);
	if (r == -1)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* In a worker: a message, as the checker's output. */
static int
say(const struct worker *w, const char *what, int e)
{
	int fd;

	fd = open(w->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	(void)dprintf(fd, "%s: %s\n", what, strerror(e));
	(void)close(fd);
	return 0;
}

/*
 * In a worker: build the image of v, write it into the worker's backing
 * file, drop what the loop device has cached of the last one, mount it
 * (journal replay) and check it; 1 ok, 0 rejected, -1 error.
 */
static int
mount_and_check(struct cutter *c, const struct worker *w,
    const struct verdict *v)
{
	int fd, ok, e;

	memcpy(c->keep, v->keep, c->r->n);
	build(c, c->r->n);
	if ((fd = open(w->img, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	e = pwrite(fd, c->cur, c->r->size, 0) == (ssize_t)c->r->size;
	(void)close(fd);
	if (!e || ioctl(w->lfd, BLKFLSBUF, 0) == -1)
		return -1;
	if (bc_mount_ext4(w->dev, w->dir, "") == -1)
		return say(w, "ext4 does not mount the state", errno) == -1 ?
		    -1 :
		    0;
	ok = run_checker(c, w, v);
	e = errno;
	if (bc_umount(w->dir) == -1)
		return -1;
	errno = e;
	return ok;
}

static const char *
describe(const struct bc_event *e, char *buf, size_t len)
{
	if (e->kind == BC_FLUSH)
		return "flush";
	(void)snprintf(buf, len, "write %lld+%zu%s", (long long)e->off, e->len,
	    e->data == NULL ? " (zeros)" : "");
	return buf;
}

/* keep[]: every write before the last flush before cut, none after. */
static void
pending(struct cutter *c, size_t cut)
{
	size_t k, last = 0;

	for (k = 0; k < cut; k++)
		if (c->r->ev[k].kind == BC_FLUSH)
			last = k + 1;
	c->npend = 0;
	for (k = 0; k < c->r->n; k++) {
		c->keep[k] = k < last && c->r->ev[k].kind == BC_WRITE;
		if (k >= last && k < cut && c->r->ev[k].kind == BC_WRITE)
			c->pend[c->npend++] = k;
	}
}

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Does this cut try every subset of its unflushed writes? */
static int
every_subset(const struct cutter *c)
{
	return c->npend <= ALL_SUBSETS &&
	    ((size_t)1 << c->npend) <= (size_t)c->o->subsets + 2;
}

/*
 * The i-th selection of the pending writes at this cut, into keep[]; its
 * count.  drop: none; prefix: the first i; subset: every subset when
 * there are few, else none, all, then seeded random ones.
 */
static size_t
select_writes(struct cutter *c, size_t i, uint64_t *rng)
{
	size_t k, kept = 0;
	int on;

	for (k = 0; k < c->npend; k++) {
		if (c->o->mode == BC_PREFIX)
			on = k < i;
		else if (c->o->mode == BC_DROP)
			on = 0;
		else if (every_subset(c))
			on = (i >> k) & 1;
		else if (i < 2)
			on = (int)i;
		else
			on = (int)(next_rand(rng) >> 33) & 1;
		c->keep[c->pend[k]] = (unsigned char)on;
		kept += (size_t)on;
	}
	return kept;
}

static size_t
nstates(const struct cutter *c)
{
	if (c->o->mode == BC_DROP)
		return 1;
	if (c->o->mode == BC_PREFIX)
		return c->npend + 1;
	if (every_subset(c))
		return (size_t)1 << c->npend;
	return c->o->subsets + 2;
}

/* The verdict slot of the image built: one seen before, or a new one. */
static size_t
slot_of(struct cutter *c, size_t cut, int final)
{
	struct verdict v = { .final = final, .cut = cut };
	size_t i;

	hash(c, v.h);
	for (i = 0; i < c->nv; i++)
		if (c->v[i].h[0] == v.h[0] && c->v[i].h[1] == v.h[1] &&
		    c->v[i].final == final)
			return i;
	v.keep = bc_xalloc(NULL, c->r->n, 1);
	memcpy(v.keep, c->keep, c->r->n);
	c->v = bc_xalloc(c->v, c->nv + 1, sizeof(*c->v));
	c->v[c->nv] = v;
	return c->nv++;
}

/* Every state of one cut point, as verdict slots. */
static void
enumerate(struct cutter *c, size_t cut)
{
	uint64_t rng = c->o->rand * 0x9e3779b97f4a7c15ULL + cut + 1;
	struct cutpoint *p;
	size_t i;

	pending(c, cut);
	c->cp = bc_xalloc(c->cp, c->ncp + 1, sizeof(*c->cp));
	p = &c->cp[c->ncp++];
	p->cut = cut;
	p->npend = c->npend;
	p->n = nstates(c);
	p->vi = bc_xalloc(NULL, p->n, sizeof(*p->vi));
	p->kept = bc_xalloc(NULL, p->n, sizeof(*p->kept));
	for (i = 0; i < p->n; i++) {
		p->kept[i] = select_writes(c, i, &rng);
		build(c, cut);
		p->vi[i] = slot_of(c, cut, cut >= c->r->exited);
	}
}

/* Is cut point k one this mode cuts at? */
static int
cuts_at(const struct cutter *c, size_t k)
{
	const struct bc_rec *r = c->r;

	if (k == 0 || k == r->n || k == r->exited || c->o->mode == BC_PREFIX)
		return 1;
	if (c->o->mode == BC_DROP)
		return r->ev[k - 1].kind == BC_FLUSH;
	return r->ev[k].kind == BC_FLUSH;
}

/* Start judging verdict vi in worker w (a child process). */
static int
start_worker(struct cutter *c, struct worker *w, size_t vi)
{
	int r;

	(void)fflush(stdout);
	if ((w->pid = fork()) == -1)
		return -1;
	if (w->pid == 0) {
		/* dies with blockcut: the mount namespace goes with both */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		r = mount_and_check(c, w, &c->v[vi]);
		_exit(r == -1 ? 2 : r == 1 ? 0 : 1);
	}
	w->vi = vi;
	w->started = time(NULL);
	return 0;
}

/* A worker has exited with status st: its verdict. */
static int
finish_worker(struct cutter *c, struct worker *w, int st)
{
	struct verdict *v = &c->v[w->vi];

	w->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		errno = EIO;
		return -1;
	}
	v->ok = WEXITSTATUS(st) == 0;
	v->out = slurp(w->out);
	c->t->distinct++;
	return 0;
}

/* Wait for one worker to finish; kill those past their time. */
static int
reap(struct cutter *c, struct worker *w, size_t nw)
{
	struct timespec second = { 1, 0 };
	sigset_t set;
	size_t i;
	pid_t pid;
	int st;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGCHLD);
	for (;;) {
		for (i = 0; i < nw; i++) {
			if (w[i].pid <= 0)
				continue;
			if ((pid = waitpid(w[i].pid, &st, WNOHANG)) == w[i].pid)
				return finish_worker(c, &w[i], st);
			if (time(NULL) - w[i].started > 2L * c->o->timeout + 60)
				(void)kill(w[i].pid, SIGKILL);
		}
		(void)sigtimedwait(&set, NULL, &second);
	}
}

static char *
worker_path(const struct bc_opts *o, size_t i, const char *what)
{
	char *p;

	if (asprintf(&p, "%s.%zu%s", o->stateimg, i, what) == -1)
		err(2, "out of memory");
	return p;
}

/*
 * A worker's files, mount point and loop device: attached once (it
 * detaches itself when this process closes it, or dies).
 */
static int
set_up_worker(const struct cutter *c, struct worker *w, size_t i)
{
	int fd;

	w->pid = 0;
	w->lfd = -1;
	w->img = worker_path(c->o, i, ".img");
	w->out = worker_path(c->o, i, ".out");
	w->dir = worker_path(c->o, i, "");
	if (mkdir(w->dir, 0700) == -1 && errno != EEXIST)
		return -1;
	fd = open(w->img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || ftruncate(fd, (off_t)c->r->size) == -1) {
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	(void)close(fd);
	w->lfd = bc_loop_attach(w->img, w->dev, sizeof(w->dev));
	return w->lfd == -1 ? -1 : 0;
}

/* Judge every verdict slot, o->jobs at a time. */
static int
judge_all(struct cutter *c)
{
	size_t nw = c->o->jobs, i, next = 0, busy = 0;
	struct worker *w = bc_xalloc(NULL, nw, sizeof(*w));
	int ret = 0;

	for (i = 0; i < nw; i++)
		if (set_up_worker(c, &w[i], i) == -1)
			ret = -1;
	while (ret == 0 && (next < c->nv || busy > 0)) {
		for (i = 0; i < nw && next < c->nv && ret == 0; i++)
			if (w[i].pid == 0 &&
			    (ret = start_worker(c, &w[i], next++)) == 0)
				busy++;
		if (busy > 0 && reap(c, w, nw) == -1)
			ret = -1;
		busy -= busy > 0;
	}
	for (i = 0; i < nw; i++) {
		if (w[i].pid > 0) {
			(void)kill(w[i].pid, SIGKILL);
			(void)waitpid(w[i].pid, NULL, 0);
		}
		if (w[i].lfd != -1)
			(void)close(w[i].lfd);
		(void)unlink(w[i].img);
		(void)unlink(w[i].out);
		(void)rmdir(w[i].dir);
		free(w[i].img);
		free(w[i].out);
		free(w[i].dir);
	}
	free(w);
	return ret;
}

static void
say_state(const struct cutter *c, const struct verdict *v, size_t kept,
    size_t npend)
{
	const char *nl = strchr(v->out, '\n');
	int len = nl != NULL ? (int)(nl - v->out) : (int)strlen(v->out);

	if (v->ok && !c->o->verbose)
		return;
	printf("  %s: %zu of %zu unflushed writes kept: %.*s\n",
	    v->ok ? "ok" : "rejected", kept, npend, len, v->out);
	if (!v->ok && nl != NULL)
		printf("    %s\n", nl + 1);
}

/* One line per cut point, then one per rejected state (each, with -v). */
static void
report(struct cutter *c, const struct cutpoint *p)
{
	size_t i, bad = 0, cut = p->cut;
	int final = cut >= c->r->exited;
	char buf[128];

	for (i = 0; i < p->n; i++)
		bad += !c->v[p->vi[i]].ok;
	printf("cut %zu/%zu %s%s%s: %zu state%s, %zu rejected\n", cut, c->r->n,
	    cut == 0 ? "before any event" : "after ",
	    cut == 0 ? "" : describe(&c->r->ev[cut - 1], buf, sizeof(buf)),
	    final ? " (the command has exited)" : "", p->n,
	    p->n == 1 ? "" : "s", bad);
	for (i = 0; i < p->n; i++)
		say_state(c, &c->v[p->vi[i]], p->kept[i], p->npend);
	c->t->states += p->n;
	c->t->rejected += bad;
	c->t->cuts++;
}

/*
 * Cut at each point of the mode, judge every distinct state (in
 * parallel), then report each cut point.
 */
int
bc_cut_all(const struct bc_rec *r, int status, const struct bc_opts *o,
    struct bc_tally *t)
{
	struct cutter c = { .r = r, .o = o, .status = status, .t = t };
	size_t k, i;
	int ret;

	c.runner = getpid();
	c.started = time(NULL);
	touched(&c);
	c.cur = bc_xalloc(NULL, r->size, 1);
	memcpy(c.cur, r->base, r->size);
	c.keep = bc_xalloc(NULL, r->n, 1);
	c.pend = bc_xalloc(NULL, r->n, sizeof(*c.pend));
	for (k = 0; k <= r->n; k++)
		if (cuts_at(&c, k))
			enumerate(&c, k);
	if ((ret = judge_all(&c)) == 0)
		for (i = 0; i < c.ncp; i++)
			report(&c, &c.cp[i]);
	for (i = 0; i < c.nv; i++) {
		free(c.v[i].out);
		free(c.v[i].keep);
	}
	for (i = 0; i < c.ncp; i++) {
		free(c.cp[i].vi);
		free(c.cp[i].kept);
	}
	free(c.cp);
	free(c.v);
	free(c.blocks);
	free(c.cur);
	free(c.keep);
	free(c.pend);
	return ret;
}

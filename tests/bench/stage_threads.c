/*
 * stage_threads.c - what a second thread could win for staging (issue
 * 18): the kernel work hotswap install -r does for each file, made on
 * one thread and on two, side by side.  A benchmark, never a test.
 *
 *	stage_threads [-n files] [-p per-dir] [-s KiB] [-r runs] DIR
 *
 * DIR/src holds -n files (default 1000) of -s KiB (default 10) of random
 * bytes, -p a directory (default 100; as many as -n: all in one), and
 * DIR/dst a copy: every destination exists, as on install -r's common
 * path.  Each file is staged as txn.c stages it, call for call: open the
 * source (O_NOFOLLOW), fstat, fstatat the destination, llistxattr by
 * /proc/self/fd/D/NAME, O_TMPFILE in the destination's directory,
 * copy_file_range, fchmod, sync_file_range(WRITE), a T record written
 * to one journal file under a mutex, linkat of the temporary's name, an
 * O record, linkat of the old inode's link, close, close.  The walk
 * (getdents of every source directory) is in the timed part.  No
 * commit: the renames and unlinks are not staging.
 *
 * The ways, alternated run by run (run 1 of each, then run 2 of each):
 *   1      one thread walks and stages each file in turn (today's way);
 *   2same  the walk, then two threads take the next file from one
 *          list: both stage in the same directory at once;
 *   2dirs  the walk, then two threads take the next directory: they
 *          stage in different directories;
 *   2pipe  one thread walks, opens, fstats and fstatats (the reads),
 *          the other does the rest (the writes), through a queue.
 * Between runs, untimed: the names made are removed, the journal
 * emptied, syncfs(2) of DIR.  Printed: the median and the minimum wall
 * time, the median CPU time (user + system of every thread, getrusage),
 * each way's median wall time against one thread's, the load average
 * before and after.
 *
 * Exit status: 0, or 1 after the first failure (reported).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/stat.h>
#include <sys/xattr.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage_common.h"

#define WAYS  4
#define QUEUE 256

static const char *const way_name[WAYS] = { "1", "2same", "2dirs", "2pipe" };

struct file {
	struct stage_name n; /* first: the walk fills it */
	int in;		     /* 2pipe: the source, open */
	struct stat sst;
};

static struct {
	struct stage_tree t;
	pthread_mutex_t jlock;
	struct file *files; /* the walk's list, in its order */
	int nlisted;
	int run; /* for the temporary names */
	/* the shared cursors of 2same and 2dirs */
	pthread_mutex_t cur;
	int next;
	/* 2pipe's queue of files by index */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	int q[QUEUE], qhead, qtail, qdone;
	int failed;
} g = { .jlock = PTHREAD_MUTEX_INITIALIZER,
	.cur = PTHREAD_MUTEX_INITIALIZER,
	.qlock = PTHREAD_MUTEX_INITIALIZER,
	.qcond = PTHREAD_COND_INITIALIZER };

static void
tmp_names(const struct file *f, char *tn, char *on, size_t len)
{
	(void)snprintf(tn, len, ".%s.hs-T%d", f->n.name, g.run);
	(void)snprintf(on, len, ".%s.hs-O%d", f->n.name, g.run);
}

/* One journal record, written whole under the lock. */
static int
record(char type, const struct file *f, const char *tn)
{
	char line[128];
	ssize_t n;
	int len;

	len = snprintf(line, sizeof(line), "%c d%d %s %s\n", type, f->n.dir,
	    f->n.name, tn);
	(void)pthread_mutex_lock(&g.jlock);
	do
		n = write(g.t.jfd, line, (size_t)len);
	while (n == -1 && errno == EINTR);
	(void)pthread_mutex_unlock(&g.jlock);
	return n == len ? 0 : -1;
}

/* The reads: the source opened and fstat'ed, the destination fstatat'ed. */
static int
stage_reads(struct file *f)
{
	struct stat dst;

	f->in = openat(g.t.srcfd[f->n.dir], f->n.name,
	    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (f->in == -1) {
		warn("open %s", f->n.name);
		return -1;
	}
	if (fstat(f->in, &f->sst) == -1 ||
	    fstatat(g.t.dstfd[f->n.dir], f->n.name, &dst,
		AT_SYMLINK_NOFOLLOW) == -1) {
		warn("stat %s", f->n.name);
		(void)close(f->in);
		return -1;
	}
	return 0;
}

/* The writes: the temporary, its data and names, the old inode's link. */
static int
stage_writes(struct file *f)
{
	char path[64 + NAME_MAX], tn[NAME_MAX + 1], on[NAME_MAX + 1];
	int dfd = g.t.dstfd[f->n.dir], tfd, ret = -1;
	off_t left = f->sst.st_size;
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd,
	    f->n.name);
	(void)llistxattr(path, NULL, 0);
	tmp_names(f, tn, on, sizeof(tn));
	if ((tfd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) ==
	    -1) {
		warn("O_TMPFILE for %s", f->n.name);
		goto out;
	}
	while (left > 0) {
		n = copy_file_range(f->in, NULL, tfd, NULL, (size_t)left, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			warn("copy %s", f->n.name);
			goto out;
		}
		left -= n;
	}
	if (fchmod(tfd, f->sst.st_mode & 07777) == -1 ||
	    sync_file_range(tfd, 0, 0, SYNC_FILE_RANGE_WRITE) == -1 ||
	    record('T', f, tn) == -1 ||
	    linkat(tfd, "", dfd, tn, AT_EMPTY_PATH) == -1 ||
	    record('O', f, on) == -1 ||
	    linkat(dfd, f->n.name, dfd, on, 0) == -1) {
		warn("stage %s", f->n.name);
		goto out;
	}
	ret = 0;
out:
	if (tfd != -1)
		(void)close(tfd);
	(void)close(f->in);
	return ret;
}

static int
stage(struct file *f)
{
	return stage_reads(f) == -1 ? -1 : stage_writes(f);
}

/* Way 1: the walk and each file in turn, on one thread. */
static int
way_one(void)
{
	int i, d, first;

	g.nlisted = 0;
	for (d = 0; d < g.t.ndirs; d++) {
		first = g.nlisted;
		if (stage_walk_dir(&g.t, d, g.files, sizeof(*g.files),
			&g.nlisted) == -1)
			return -1;
		for (i = first; i < g.nlisted; i++)
			if (stage(&g.files[i]) == -1)
				return -1;
	}
	return 0;
}

static int
take(int limit)
{
	int i;

	(void)pthread_mutex_lock(&g.cur);
	i = g.failed ? limit : g.next < limit ? g.next++ : limit;
	(void)pthread_mutex_unlock(&g.cur);
	return i;
}

static void
fail(void)
{
	(void)pthread_mutex_lock(&g.cur);
	g.failed = 1;
	(void)pthread_mutex_unlock(&g.cur);
}

static void *
same_worker(void *arg)
{
	int i;

	(void)arg;
	while ((i = take(g.nlisted)) < g.nlisted)
		if (stage(&g.files[i]) == -1)
			fail();
	return NULL;
}

/* 2dirs: the files of a directory are together in the list. */
static void *
dirs_worker(void *arg)
{
	int d, i;

	(void)arg;
	while ((d = take(g.t.ndirs)) < g.t.ndirs)
		for (i = d * g.t.perdir; i < g.nlisted && g.files[i].n.dir == d;
		     i++)
			if (stage(&g.files[i]) == -1)
				fail();
	return NULL;
}

static int
two(void *(*worker)(void *))
{
	pthread_t th;

	if (stage_walk(&g.t, g.files, sizeof(*g.files), &g.nlisted) == -1)
		return -1;
	g.next = 0;
	g.failed = 0;
	if (pthread_create(&th, NULL, worker, NULL) != 0)
		return -1;
	(void)worker(NULL);
	(void)pthread_join(th, NULL);
	return g.failed ? -1 : 0;
}

/* 2pipe's writer: each file the reader queued. */
static void *
pipe_writer(void *arg)
{
	int i;

	(void)arg;
	for (;;) {
		(void)pthread_mutex_lock(&g.qlock);
		while (g.qhead == g.qtail && !g.qdone)
			(void)pthread_cond_wait(&g.qcond, &g.qlock);
		if (g.qhead == g.qtail) {
			(void)pthread_mutex_unlock(&g.qlock);
			return NULL;
		}
		i = g.q[g.qhead++ % QUEUE];
		(void)pthread_cond_signal(&g.qcond);
		(void)pthread_mutex_unlock(&g.qlock);
		if (stage_writes(&g.files[i]) == -1)
			fail();
	}
}

static void
put(int i)
{
	(void)pthread_mutex_lock(&g.qlock);
	while (g.qtail - g.qhead == QUEUE)
		(void)pthread_cond_wait(&g.qcond, &g.qlock);
	if (i < 0)
		g.qdone = 1;
	else
		g.q[g.qtail++ % QUEUE] = i;
	(void)pthread_cond_signal(&g.qcond);
	(void)pthread_mutex_unlock(&g.qlock);
}

static int
way_pipe(void)
{
	pthread_t th;
	int i, d, first;

	g.qhead = g.qtail = g.qdone = 0;
	g.failed = 0;
	g.nlisted = 0;
	if (pthread_create(&th, NULL, pipe_writer, NULL) != 0)
		return -1;
	for (d = 0; d < g.t.ndirs && !g.failed; d++) {
		first = g.nlisted;
		if (stage_walk_dir(&g.t, d, g.files, sizeof(*g.files),
			&g.nlisted) == -1)
			break;
		for (i = first; i < g.nlisted; i++) {
			if (stage_reads(&g.files[i]) == -1) {
				fail();
				break;
			}
			put(i);
		}
	}
	put(-1);
	(void)pthread_join(th, NULL);
	return g.failed || d < g.t.ndirs ? -1 : 0;
}

static int
run_way(int w)
{
	switch (w) {
	case 0: return way_one();
	case 1: return two(same_worker);
	case 2: return two(dirs_worker);
	default: return way_pipe();
	}
}

/* Untimed: the names made removed, the journal emptied, all written. */
static void
reset(void)
{
	char tn[NAME_MAX + 1], on[NAME_MAX + 1];
	int i;

	for (i = 0; i < g.nlisted; i++) {
		tmp_names(&g.files[i], tn, on, sizeof(tn));
		if (unlinkat(g.t.dstfd[g.files[i].n.dir], tn, 0) == -1 ||
		    unlinkat(g.t.dstfd[g.files[i].n.dir], on, 0) == -1)
			err(1, "remove the names of %s", g.files[i].n.name);
	}
	stage_settle(&g.t);
}

int
main(int argc, char **argv)
{
	double wall[WAYS][STAGE_MAXR], cpu[WAYS][STAGE_MAXR], t0, c0, base;
	int runs = 7, w, r, c;

	g.t.nfiles = 1000;
	g.t.perdir = 100;
	g.t.kib = 10;
	while ((c = getopt(argc, argv, "n:p:s:r:")) != -1)
		switch (c) {
		case 'n': g.t.nfiles = stage_number(optarg, 1, 1000000); break;
		case 'p': g.t.perdir = stage_number(optarg, 1, 1000000); break;
		case 's': g.t.kib = stage_number(optarg, 1, 1 << 20); break;
		case 'r': runs = stage_number(optarg, 1, STAGE_MAXR); break;
		default: goto usage;
		}
	if (argc - optind != 1)
		goto usage;
	if ((g.files = calloc((size_t)g.t.nfiles, sizeof(*g.files))) == NULL)
		err(1, "calloc");
	stage_tree_make(&g.t, argv[optind]);
	/* One untimed run of each way first: the caches warm. */
	for (w = 0; w < WAYS; w++) {
		g.run = 0;
		if (run_way(w) == -1)
			errx(1, "way %s failed", way_name[w]);
		reset();
	}
	stage_load("before");
	for (r = 0; r < runs; r++)
		for (w = 0; w < WAYS; w++) {
			g.run = r + 1;
			c0 = stage_cpu_ms();
			t0 = stage_now();
			if (run_way(w) == -1)
				errx(1, "way %s failed", way_name[w]);
			wall[w][r] = stage_now() - t0;
			cpu[w][r] = stage_cpu_ms() - c0;
			reset();
		}
	stage_load("after");
	printf("# %d files x %d KiB, %d a directory, %d runs alternated\n",
	    g.t.nfiles, g.t.kib, g.t.perdir, runs);
	printf("%-6s %9s %9s %9s %9s\n", "way", "wall ms", "min ms", "cpu ms",
	    "speedup");
	base = stage_median(wall[0], runs);
	for (w = 0; w < WAYS; w++)
		printf("%-6s %9.1f %9.1f %9.1f %9.2f\n", way_name[w],
		    stage_median(wall[w], runs), stage_minimum(wall[w], runs),
		    stage_median(cpu[w], runs),
		    base / stage_median(wall[w], runs));
	return 0;
usage:
	fprintf(stderr,
	    "usage: stage_threads [-n files] [-p per-dir] "
	    "[-s KiB] [-r runs] DIR\n");
	return 2;
}

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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAYS  4
#define QUEUE 256
#define MAXR  101

static const char *const way_name[WAYS] = { "1", "2same", "2dirs", "2pipe" };

struct file {
	int dir;
	char name[16];
	int in; /* 2pipe: the source, open */
	struct stat sst;
};

static struct {
	int nfiles, perdir, ndirs, kib;
	int *srcfd, *dstfd; /* each directory's */
	int jfd, dirfd;
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

static double
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct rusage ru;

	(void)getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void
tmp_names(const struct file *f, char *tn, char *on, size_t len)
{
	(void)snprintf(tn, len, ".%s.hs-T%d", f->name, g.run);
	(void)snprintf(on, len, ".%s.hs-O%d", f->name, g.run);
}

/* One journal record, written whole under the lock. */
static int
record(char type, const struct file *f, const char *tn)
{
	char line[128];
	ssize_t n;
	int len;

	len = snprintf(line, sizeof(line), "%c d%d %s %s\n", type, f->dir,
	    f->name, tn);
	(void)pthread_mutex_lock(&g.jlock);
	do
		n = write(g.jfd, line, (size_t)len);
	while (n == -1 && errno == EINTR);
	(void)pthread_mutex_unlock(&g.jlock);
	return n == len ? 0 : -1;
}

/* The reads: the source opened and fstat'ed, the destination fstatat'ed. */
static int
stage_reads(struct file *f)
{
	struct stat dst;

	f->in = openat(g.srcfd[f->dir], f->name,
	    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (f->in == -1) {
		warn("open %s", f->name);
		return -1;
	}
	if (fstat(f->in, &f->sst) == -1 ||
	    fstatat(g.dstfd[f->dir], f->name, &dst, AT_SYMLINK_NOFOLLOW) ==
		-1) {
		warn("stat %s", f->name);
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
	int dfd = g.dstfd[f->dir], tfd, ret = -1;
	off_t left = f->sst.st_size;
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, f->name);
	(void)llistxattr(path, NULL, 0);
	tmp_names(f, tn, on, sizeof(tn));
	if ((tfd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) ==
	    -1) {
		warn("O_TMPFILE for %s", f->name);
		goto out;
	}
	while (left > 0) {
		n = copy_file_range(f->in, NULL, tfd, NULL, (size_t)left, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			warn("copy %s", f->name);
			goto out;
		}
		left -= n;
	}
	if (fchmod(tfd, f->sst.st_mode & 07777) == -1 ||
	    sync_file_range(tfd, 0, 0, SYNC_FILE_RANGE_WRITE) == -1 ||
	    record('T', f, tn) == -1 ||
	    linkat(tfd, "", dfd, tn, AT_EMPTY_PATH) == -1 ||
	    record('O', f, on) == -1 ||
	    linkat(dfd, f->name, dfd, on, 0) == -1) {
		warn("stage %s", f->name);
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

/* The names of source directory d appended to the list. */
static int
walk_dir(int d)
{
	DIR *dp;
	struct dirent *de;
	int fd;

	if ((fd = dup(g.srcfd[d])) == -1 || (dp = fdopendir(fd)) == NULL)
		return -1;
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (g.nlisted == g.nfiles) {
			warnx("more files than made in d%d", d);
			(void)closedir(dp);
			return -1;
		}
		g.files[g.nlisted].dir = d;
		if (strlen(de->d_name) >= sizeof(g.files[0].name)) {
			warnx("a name not made here in d%d", d);
			(void)closedir(dp);
			return -1;
		}
		memcpy(g.files[g.nlisted].name, de->d_name,
		    strlen(de->d_name) + 1);
		g.nlisted++;
	}
	(void)closedir(dp);
	return 0;
}

static int
walk(void)
{
	int d;

	g.nlisted = 0;
	for (d = 0; d < g.ndirs; d++)
		if (walk_dir(d) == -1)
			return -1;
	return 0;
}

/* Way 1: the walk and each file in turn, on one thread. */
static int
way_one(void)
{
	int i, d, first;

	g.nlisted = 0;
	for (d = 0; d < g.ndirs; d++) {
		first = g.nlisted;
		if (walk_dir(d) == -1)
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
	while ((d = take(g.ndirs)) < g.ndirs)
		for (i = d * g.perdir; i < g.nlisted && g.files[i].dir == d;
		     i++)
			if (stage(&g.files[i]) == -1)
				fail();
	return NULL;
}

static int
two(void *(*worker)(void *))
{
	pthread_t th;

	if (walk() == -1)
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
	for (d = 0; d < g.ndirs && !g.failed; d++) {
		first = g.nlisted;
		if (walk_dir(d) == -1)
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
	return g.failed || d < g.ndirs ? -1 : 0;
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
		if (unlinkat(g.dstfd[g.files[i].dir], tn, 0) == -1 ||
		    unlinkat(g.dstfd[g.files[i].dir], on, 0) == -1)
			err(1, "remove the names of %s", g.files[i].name);
	}
	if (ftruncate(g.jfd, 0) == -1 || syncfs(g.dirfd) == -1)
		err(1, "reset");
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	for (; len > 0; buf += n, len -= (size_t)n)
		if ((n = write(fd, buf, len)) <= 0)
			err(1, "write");
}

/* Untimed: DIR/src and DIR/dst, and each directory opened. */
static void
make_trees(void)
{
	char name[32], *buf;
	size_t size = (size_t)g.kib * 1024;
	int d, i, fd, s, t, rnd;

	if ((buf = malloc(size)) == NULL)
		err(1, "malloc");
	if ((rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "/dev/urandom");
	if ((mkdirat(g.dirfd, "src", 0755) == -1 ||
		mkdirat(g.dirfd, "dst", 0755) == -1) ||
	    (s = openat(g.dirfd, "src", O_RDONLY | O_DIRECTORY)) == -1 ||
	    (t = openat(g.dirfd, "dst", O_RDONLY | O_DIRECTORY)) == -1)
		err(1, "make src and dst (they must not exist)");
	for (d = 0; d < g.ndirs; d++) {
		(void)snprintf(name, sizeof(name), "d%d", d);
		if (mkdirat(s, name, 0755) == -1 ||
		    mkdirat(t, name, 0755) == -1 ||
		    (g.srcfd[d] = openat(s, name, O_RDONLY | O_DIRECTORY)) ==
			-1 ||
		    (g.dstfd[d] = openat(t, name, O_RDONLY | O_DIRECTORY)) ==
			-1)
			err(1, "make %s", name);
		for (i = 0; i < g.perdir && d * g.perdir + i < g.nfiles; i++) {
			(void)snprintf(name, sizeof(name), "f%05d", i);
			if (read(rnd, buf, size) != (ssize_t)size)
				err(1, "/dev/urandom");
			if ((fd = openat(g.srcfd[d], name,
				 O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1)
				err(1, "make %s", name);
			write_all(fd, buf, size);
			(void)close(fd);
			if ((fd = openat(g.dstfd[d], name,
				 O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1)
				err(1, "make %s", name);
			write_all(fd, buf, size);
			(void)close(fd);
		}
	}
	(void)close(s);
	(void)close(t);
	(void)close(rnd);
	free(buf);
	if ((g.jfd = openat(g.dirfd, "journal",
		 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) == -1)
		err(1, "journal");
	if (syncfs(g.dirfd) == -1)
		err(1, "syncfs");
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	double s[MAXR];

	memcpy(s, v, sizeof(*v) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp);
	return s[(n - 1) / 2];
}

static double
minimum(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static void
load(const char *when)
{
	char buf[64] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		(void)fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	printf("# load %s: %s\n", when, buf);
}

static int
number(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		errx(2, "'%s': not a number from %d to %d", s, lo, hi);
	return (int)v;
}

int
main(int argc, char **argv)
{
	double wall[WAYS][MAXR], cpu[WAYS][MAXR], t0, c0, base;
	int runs = 7, w, r, c;

	g.nfiles = 1000;
	g.perdir = 100;
	g.kib = 10;
	while ((c = getopt(argc, argv, "n:p:s:r:")) != -1)
		switch (c) {
		case 'n': g.nfiles = number(optarg, 1, 1000000); break;
		case 'p': g.perdir = number(optarg, 1, 1000000); break;
		case 's': g.kib = number(optarg, 1, 1 << 20); break;
		case 'r': runs = number(optarg, 1, MAXR); break;
		default: goto usage;
		}
	if (argc - optind != 1)
		goto usage;
	if (g.perdir > g.nfiles)
		g.perdir = g.nfiles;
	g.ndirs = (g.nfiles + g.perdir - 1) / g.perdir;
	if ((g.dirfd = open(argv[optind], O_RDONLY | O_DIRECTORY)) == -1)
		err(1, "%s", argv[optind]);
	if ((g.srcfd = calloc((size_t)g.ndirs, sizeof(int))) == NULL ||
	    (g.dstfd = calloc((size_t)g.ndirs, sizeof(int))) == NULL ||
	    (g.files = calloc((size_t)g.nfiles, sizeof(*g.files))) == NULL)
		err(1, "calloc");
	make_trees();
	/* One untimed run of each way first: the caches warm. */
	for (w = 0; w < WAYS; w++) {
		g.run = 0;
		if (run_way(w) == -1)
			errx(1, "way %s failed", way_name[w]);
		reset();
	}
	load("before");
	for (r = 0; r < runs; r++)
		for (w = 0; w < WAYS; w++) {
			g.run = r + 1;
			c0 = cpu_ms();
			t0 = now();
			if (run_way(w) == -1)
				errx(1, "way %s failed", way_name[w]);
			wall[w][r] = now() - t0;
			cpu[w][r] = cpu_ms() - c0;
			reset();
		}
	load("after");
	printf("# %d files x %d KiB, %d a directory, %d runs alternated\n",
	    g.nfiles, g.kib, g.perdir, runs);
	printf("%-6s %9s %9s %9s %9s\n", "way", "wall ms", "min ms", "cpu ms",
	    "speedup");
	base = median(wall[0], runs);
	for (w = 0; w < WAYS; w++)
		printf("%-6s %9.1f %9.1f %9.1f %9.2f\n", way_name[w],
		    median(wall[w], runs), minimum(wall[w], runs),
		    median(cpu[w], runs), base / median(wall[w], runs));
	return 0;
usage:
	fprintf(stderr,
	    "usage: stage_threads [-n files] [-p per-dir] "
	    "[-s KiB] [-r runs] DIR\n");
	return 2;
}

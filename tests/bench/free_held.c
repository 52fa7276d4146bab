/*
 * free_held.c - what --free-later's design could move off install -r's
 * path for small files (issue 18): the kernel's freeing of each old
 * inode, which happens inside the commit's unlinkat when that drops the
 * last reference, and inside a close(2) elsewhere when a descriptor on
 * the inode is still open.  A benchmark, never a test.
 *
 *	free_held [-n files] [-p per-dir] [-s KiB] [-r runs] DIR
 *
 * Each run makes -n files (default 1000) of -s KiB (default 10) of
 * random bytes, -p a directory (default 100), under DIR and writes them
 * back (syncfs), untimed; then removes them one of two ways, timed:
 * plain, unlinkat of each name (the commit's unlinks); held, an O_PATH
 * open of each first, then the unlinks, then the closes, each phase
 * timed apart: open + unlink is what the command would still pay, the
 * closes what a process of ours would pay after it.  Ways alternate run
 * by run, after an untimed run of each.  Printed: each phase's median
 * and minimum, and plain's median against held's open + unlink.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/random.h>
#include <sys/stat.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stage_common.h"

static int nfiles = 1000, perdir = 100, kib = 10, dirfd_ = -1;
static int *fds;
static char *buf;

static void
name_of(int i, char *dir, char *file)
{
	(void)snprintf(dir, STAGE_NAME, "d%d", i / perdir);
	(void)snprintf(file, 2 * STAGE_NAME, "d%d/f%05d", i / perdir, i);
}

static void
make_files(void)
{
	char d[STAGE_NAME], f[2 * STAGE_NAME];
	int i, fd;

	for (i = 0; i < nfiles; i++) {
		name_of(i, d, f);
		if (i % perdir == 0 && mkdirat(dirfd_, d, 0755) == -1)
			err(1, "mkdir %s", d);
		fd = openat(dirfd_, f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0644);
		if (fd == -1 ||
		    write(fd, buf, (size_t)kib << 10) != (ssize_t)kib << 10 ||
		    close(fd) == -1)
			err(1, "make %s", f);
	}
	if (syncfs(dirfd_) == -1)
		err(1, "syncfs");
}

static void
remove_dirs(void)
{
	char d[STAGE_NAME], f[2 * STAGE_NAME];
	int i;

	for (i = 0; i < nfiles; i += perdir) {
		name_of(i, d, f);
		if (unlinkat(dirfd_, d, AT_REMOVEDIR) == -1)
			err(1, "rmdir %s", d);
	}
	if (syncfs(dirfd_) == -1)
		err(1, "syncfs");
}

/* One run; ms of each phase: t[0] open, t[1] unlink, t[2] close. */
static void
run(int held, double t[3])
{
	char d[STAGE_NAME], f[2 * STAGE_NAME];
	double t0;
	int i;

	make_files();
	t0 = stage_now();
	for (i = 0; held && i < nfiles; i++) {
		name_of(i, d, f);
		if ((fds[i] = openat(dirfd_, f,
			 O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
			err(1, "open %s", f);
	}
	t[0] = stage_now() - t0;
	t0 = stage_now();
	for (i = 0; i < nfiles; i++) {
		name_of(i, d, f);
		if (unlinkat(dirfd_, f, 0) == -1)
			err(1, "unlink %s", f);
	}
	t[1] = stage_now() - t0;
	t0 = stage_now();
	for (i = 0; held && i < nfiles; i++)
		if (close(fds[i]) == -1)
			err(1, "close");
	t[2] = stage_now() - t0;
	remove_dirs();
}

int
main(int argc, char **argv)
{
	static const char *const phase[3] = { "open", "unlink", "close" };
	double t[2][3][STAGE_MAXR], one[3], sum[STAGE_MAXR];
	int runs = 7, r, w, p, c;

	while ((c = getopt(argc, argv, "n:p:s:r:")) != -1)
		switch (c) {
		case 'n': nfiles = stage_number(optarg, 1, 1000000); break;
		case 'p': perdir = stage_number(optarg, 1, 1000000); break;
		case 's': kib = stage_number(optarg, 1, 1 << 20); break;
		case 'r': runs = stage_number(optarg, 1, STAGE_MAXR); break;
		default: goto usage;
		}
	if (argc - optind != 1)
		goto usage;
	if ((dirfd_ = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		err(1, "%s", argv[optind]);
	if ((fds = calloc((size_t)nfiles, sizeof(*fds))) == NULL ||
	    (buf = malloc((size_t)kib << 10)) == NULL)
		err(1, "malloc");
	if (getrandom(buf, (size_t)kib << 10, 0) != (ssize_t)kib << 10)
		err(1, "getrandom");
	for (w = 0; w < 2; w++)
		run(w, one); /* untimed: the caches warm */
	stage_load("before");
	for (r = 0; r < runs; r++)
		for (w = 0; w < 2; w++) {
			run(w, one);
			for (p = 0; p < 3; p++)
				t[w][p][r] = one[p];
		}
	stage_load("after");
	printf("# %d files x %d KiB, %d a directory, %d runs alternated\n",
	    nfiles, kib, perdir, runs);
	printf("%-14s %9s %9s\n", "phase", "median ms", "min ms");
	printf("%-14s %9.1f %9.1f\n", "plain unlink",
	    stage_median(t[0][1], runs), stage_minimum(t[0][1], runs));
	for (p = 0; p < 3; p++)
		printf("held %-9s %9.1f %9.1f\n", phase[p],
		    stage_median(t[1][p], runs), stage_minimum(t[1][p], runs));
	for (r = 0; r < runs; r++)
		sum[r] = t[1][0][r] + t[1][1][r];
	printf("plain unlink / held open + unlink: %.2f\n",
	    stage_median(t[0][1], runs) / stage_median(sum, runs));
	return 0;
usage:
	fprintf(stderr,
	    "usage: free_held [-n files] [-p per-dir] [-s KiB] [-r runs] "
	    "DIR\n");
	return 2;
}

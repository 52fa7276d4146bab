/*
 * bench_scan.c - time one whole-system "who maps FILE" walk: the default
 * (text, PROCMAP_QUERY for sparse processes), with and without the unit
 * and namespace details, forced onto PROCMAP_QUERY and onto the text;
 * and one stale walk.  tests/bench/bench_who.sh compares the command
 * with fuser(1) and lsof(8).
 *
 *	bench_scan [-n runs] [-s spawn] file
 *
 * -s spawns that many idle sleep(1) processes first (each maps libc, the
 * loader and locale files), so the walk has something to chew on; they
 * are killed at the end.  Prints the median and minimum wall time of
 * each kind of walk over the runs.  Never part of pass/fail.
 */
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "hotswap.h"

extern char **environ;

static double
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One walk; returns seconds, sets the counts. */
static double
walk(const struct hs_fileid *id, unsigned int flags, int stale,
    unsigned long *procs, unsigned long *found, int *ioctl)
{
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_scan *s;
	double t0 = now();
	size_t n;
	int r;

	if ((s = hs_scan_open(flags)) == NULL)
		err(1, "hs_scan_open");
	if ((stale ? hs_scan_stale(s, NULL, 0) : hs_scan_who(s, id, 1)) == -1)
		err(1, "cannot start the walk");
	*found = 0;
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1)
		(*found)++;
	if (r == -1)
		err(1, "walk");
	*procs = hs_scan_stats(s)->inspected;
	*ioctl = hs_scan_stats(s)->used_ioctl;
	hs_scan_free(s);
	return now() - t0;
}

static void
bench(const char *what, const struct hs_fileid *id, unsigned int flags,
    int stale, int runs)
{
	double t[1000];
	unsigned long procs = 0, found = 0;
	int i, ioctl = 0;

	for (i = 0; i < runs; i++)
		t[i] = walk(id, flags, stale, &procs, &found, &ioctl);
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("%-14s %5lu processes %5lu found  median %7.2f ms  "
	       "min %7.2f ms  (ioctl %s)\n",
	    what, procs, found, t[runs / 2] * 1e3, t[0] * 1e3,
	    ioctl ? "yes" : "no");
}

int
main(int argc, char *argv[])
{
	static char arg0[] = "sleep", arg1[] = "1000";
	char *const sleep_argv[] = { arg0, arg1, NULL };
	struct hs_fileid id;
	pid_t *kids = NULL;
	int c, i, runs = 21, spawn = 0;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		if (c == 'n')
			runs = atoi(optarg);
		else if (c == 's')
			spawn = atoi(optarg);
		else
			return 2;
	}
	if (optind != argc - 1 || runs < 1 || runs > 1000 || spawn < 0)
		errx(2, "usage: bench_scan [-n runs] [-s spawn] file");
	if (hs_fileid_path(argv[optind], &id) == -1)
		err(1, "%s", argv[optind]);
	if (spawn > 0 && (kids = calloc((size_t)spawn, sizeof(*kids))) == NULL)
		err(1, NULL);
	for (i = 0; i < spawn; i++)
		if ((errno = posix_spawnp(&kids[i], "sleep", NULL, NULL,
			 sleep_argv, environ)) != 0)
			err(1, "spawn");
	usleep(200000); /* let the sleeps finish loading: a benchmark */
	bench("who", &id, HS_SCAN_BRIEF, 0, runs);
	bench("who serial", &id, HS_SCAN_SERIAL | HS_SCAN_BRIEF, 0, runs);
	bench("who full", &id, 0, 0, runs);
	bench("who ioctl", &id, HS_SCAN_IOCTL | HS_SCAN_BRIEF, 0, runs);
	bench("who text", &id, HS_SCAN_TEXT | HS_SCAN_BRIEF, 0, runs);
	bench("stale", &id, 0, 1, runs);
	for (i = 0; i < spawn; i++) {
		(void)kill(kids[i], SIGTERM);
		(void)waitpid(kids[i], NULL, 0);
	}
	free(kids);
	return 0;
}

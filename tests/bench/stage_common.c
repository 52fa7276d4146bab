/*
 * stage_common.c - what the staging benches share (stage_common.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stage_common.h"

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	for (; len > 0; buf += n, len -= (size_t)n)
		if ((n = write(fd, buf, len)) <= 0)
			err(1, "write");
}

static int
open_dir(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		err(1, "open %s", name);
	return fd;
}

void
stage_tree_make(struct stage_tree *t, const char *dir)
{
	char name[32], *buf;
	size_t size = (size_t)t->kib * 1024;
	int d, i, k, fd, s, dst, rnd;

	if (t->perdir > t->nfiles)
		t->perdir = t->nfiles;
	t->ndirs = (t->nfiles + t->perdir - 1) / t->perdir;
	t->dirfd = open_dir(AT_FDCWD, dir);
	if ((t->srcfd = calloc((size_t)t->ndirs, sizeof(int))) == NULL ||
	    (t->dstfd = calloc((size_t)t->ndirs, sizeof(int))) == NULL ||
	    (buf = malloc(size)) == NULL)
		err(1, "calloc");
	if ((rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "/dev/urandom");
	if (mkdirat(t->dirfd, "src", 0755) == -1 ||
	    mkdirat(t->dirfd, "dst", 0755) == -1)
		err(1, "make src and dst in %s (they must not exist)", dir);
	s = open_dir(t->dirfd, "src");
	dst = open_dir(t->dirfd, "dst");
	for (d = 0; d < t->ndirs; d++) {
		(void)snprintf(name, sizeof(name), "d%d", d);
		if (mkdirat(s, name, 0755) == -1 ||
		    mkdirat(dst, name, 0755) == -1)
			err(1, "make %s", name);
		t->srcfd[d] = open_dir(s, name);
		t->dstfd[d] = open_dir(dst, name);
		for (i = 0; i < t->perdir && d * t->perdir + i < t->nfiles;
		     i++) {
			(void)snprintf(name, sizeof(name), "f%05d", i);
			if (read(rnd, buf, size) != (ssize_t)size)
				err(1, "/dev/urandom");
			for (k = 0; k < 2; k++) {
				fd = openat(k ? t->dstfd[d] : t->srcfd[d], name,
				    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				    0644);
				if (fd == -1)
					err(1, "make %s", name);
				write_all(fd, buf, size);
				(void)close(fd);
			}
		}
	}
	(void)close(s);
	(void)close(dst);
	(void)close(rnd);
	free(buf);
	if ((t->jfd = openat(t->dirfd, "journal",
		 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) == -1)
		err(1, "journal");
	if (syncfs(t->dirfd) == -1)
		err(1, "syncfs");
}

int
stage_walk_dir(const struct stage_tree *t, int d, void *files, size_t size,
    int *n)
{
	struct stage_name *f;
	DIR *dp;
	struct dirent *de;
	int fd, r = 0;

	if ((fd = dup(t->srcfd[d])) == -1 || (dp = fdopendir(fd)) == NULL)
		err(1, "src/d%d", d);
	rewinddir(dp);
	while (r == 0 && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == t->nfiles || strlen(de->d_name) >= STAGE_NAME) {
			warnx("a name not made here in src/d%d: %s", d,
			    de->d_name);
			r = -1;
			continue;
		}
		f = (struct stage_name *)((char *)files +
		    (size_t)(*n)++ * size);
		f->dir = d;
		memcpy(f->name, de->d_name, strlen(de->d_name) + 1);
	}
	(void)closedir(dp);
	return r;
}

int
stage_walk(const struct stage_tree *t, void *files, size_t size, int *n)
{
	int d;

	*n = 0;
	for (d = 0; d < t->ndirs; d++)
		if (stage_walk_dir(t, d, files, size, n) == -1)
			return -1;
	return *n == t->nfiles ? 0 : -1;
}

void
stage_settle(const struct stage_tree *t)
{
	DIR *dp;
	struct dirent *de;
	int d, n, fd, want;

	for (d = 0; d < t->ndirs; d++) {
		if ((fd = dup(t->dstfd[d])) == -1 ||
		    (dp = fdopendir(fd)) == NULL)
			err(1, "dst/d%d", d);
		rewinddir(dp);
		n = 0;
		while ((de = readdir(dp)) != NULL)
			n += strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0;
		(void)closedir(dp);
		want = d < t->ndirs - 1 ? t->perdir : t->nfiles - d * t->perdir;
		if (n != want)
			errx(1, "dst/d%d holds %d names, not %d", d, n, want);
	}
	if (ftruncate(t->jfd, 0) == -1 || syncfs(t->dirfd) == -1)
		err(1, "settle");
}

double
stage_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double
stage_cpu_ms(void)
{
	struct rusage ru;

	(void)getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
stage_median(const double *v, int n)
{
	double s[STAGE_MAXR];

	memcpy(s, v, sizeof(*v) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp);
	return s[(n - 1) / 2];
}

double
stage_minimum(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

void
stage_load(const char *when)
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

int
stage_number(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		errx(2, "'%s': not a number from %d to %d", s, lo, hi);
	return (int)v;
}

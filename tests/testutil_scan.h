/*
 * testutil_scan.h - helpers for the scanner tests: a scratch directory
 * per test, and a child process that maps something, says so through a
 * pipe and waits, without a single sleep.
 */
#ifndef TESTUTIL_SCAN_H
#define TESTUTIL_SCAN_H

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ts_child {
	pid_t pid;
	int hold;      /* closing it lets the child exit */
	uint64_t addr; /* what the child's setup returned */
};

/* A fresh directory under $TMPDIR or /tmp; buf holds its path. */
static inline void
ts_mkdtemp(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	(void)snprintf(buf, len, "%s/hs-scan.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static inline int
ts_rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

static inline void
ts_rmtree(const char *dir)
{
	if (nftw(dir, ts_rm_one, 16, FTW_DEPTH | FTW_PHYS) == -1)
		(void)fprintf(stderr, "cannot remove %s\n", dir);
}

/* Create path with len bytes of filler. */
static inline int
ts_write_file(const char *path, size_t len, char fill)
{
	char buf[4096];
	size_t n;
	int fd;

	memset(buf, fill, sizeof(buf));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1)
		return -1;
	for (; len > 0; len -= n) {
		n = len < sizeof(buf) ? len : sizeof(buf);
		if (write(fd, buf, n) != (ssize_t)n) {
			(void)close(fd);
			return -1;
		}
	}
	return close(fd);
}

/*
 * Fork a child that runs setup(arg) (which maps something and returns an
 * address, or 0 on failure), reports the address and waits for
 * ts_child_end().  Returns 0, or -1 if the setup failed.
 */
static inline int
ts_child_start(struct ts_child *c, uint64_t (*setup)(void *), void *arg)
{
	int ready[2], hold[2];
	uint64_t addr;
	char b;

	if (pipe2(ready, O_CLOEXEC) == -1 || pipe2(hold, O_CLOEXEC) == -1)
		abort();
	if ((c->pid = fork()) == -1)
		abort();
	if (c->pid == 0) {
		(void)close(ready[0]);
		(void)close(hold[1]);
		addr = setup(arg);
		if (write(ready[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(1);
		while (read(hold[0], &b, 1) == -1 && errno == EINTR)
			;
		_exit(0);
	}
	(void)close(ready[1]);
	(void)close(hold[0]);
	c->hold = hold[1];
	if (read(ready[0], &c->addr, sizeof(c->addr)) != sizeof(c->addr))
		c->addr = 0;
	(void)close(ready[0]);
	return c->addr == 0 ? -1 : 0;
}

static inline int
ts_child_end(struct ts_child *c)
{
	int status;

	(void)close(c->hold);
	while (waitpid(c->pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#endif /* TESTUTIL_SCAN_H */

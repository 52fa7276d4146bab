/*
 * poller.c - the demo's reader: read a path whole, over and over, and
 * say what each read found there.
 *
 *	poller PATH OLD NEW
 *
 * Each round opens PATH, reads it to the end and sorts what it got:
 * "old" or "new" (byte for byte the file OLD or NEW), "missing" (ENOENT
 * on open) or "torn" (anything else: empty, short, a mix of the two,
 * another error).  This is what any program that opens the path sees:
 * a loader starting, a package checksum, a backup.  After the first round
 * it writes "ready" to stdout; on SIGUSR1 it writes the counts so far,
 *
 *	reads=N old=N new=N missing=N torn=N torn_len=N
 *
 * torn_len being the length of the shortest torn read (-1 if none), and
 * goes on; on SIGTERM or SIGINT it writes them and exits 0.  stdout is a
 * FIFO that run.sh reads: each line is flushed.  The signals restart the
 * calls they interrupt, so that no read is miscounted as torn by them.
 *
 * Exit status: 0 after the counts, 1 if OLD or NEW cannot be read, 2 on
 * usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ref {
	char *data;
	size_t len;
};

struct counts {
	unsigned long reads, old, fresh, missing, torn;
	long torn_len;
};

static volatile sig_atomic_t stop, report;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

/* Read fd to its end, cap bytes at most: the length, or -1. */
static ssize_t
read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Load a reference file whole. */
static int
load(const char *path, struct ref *r)
{
	int fd = -1, ret = -1;
	off_t len;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto out;
	if ((len = lseek(fd, 0, SEEK_END)) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1)
		goto out;
	r->len = (size_t)len;
	if ((r->data = malloc(r->len + 1)) == NULL)
		goto out;
	if (read_all(fd, r->data, r->len) == (ssize_t)r->len)
		ret = 0;
out:
	if (fd != -1)
		(void)close(fd);
	return ret;
}

static int
same(const struct ref *r, const char *buf, ssize_t n)
{
	return n == (ssize_t)r->len && memcmp(r->data, buf, r->len) == 0;
}

/* One round: open, read, sort. */
static void
poll_once(const char *path, const struct ref *ro, const struct ref *rn,
    char *buf, size_t cap, struct counts *c)
{
	ssize_t n;
	int fd;

	c->reads++;
	while ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 && errno == EINTR)
		;
	if (fd == -1) {
		if (errno == ENOENT)
			c->missing++;
		else
			c->torn++;
		return;
	}
	n = read_all(fd, buf, cap);
	(void)close(fd);
	if (same(ro, buf, n))
		c->old++;
	else if (same(rn, buf, n))
		c->fresh++;
	else {
		c->torn++;
		if (c->torn_len == -1 || n < c->torn_len)
			c->torn_len = n;
	}
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGUSR1, &sa, NULL);
}

static void
print_counts(const struct counts *c)
{
	printf("reads=%lu old=%lu new=%lu missing=%lu torn=%lu torn_len=%ld\n",
	    c->reads, c->old, c->fresh, c->missing, c->torn, c->torn_len);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	struct counts c = { .torn_len = -1 };
	struct ref ro, rn;
	size_t cap;
	char *buf;

	if (argc != 4) {
		fprintf(stderr, "usage: poller PATH OLD NEW\n");
		return 2;
	}
	if (load(argv[2], &ro) == -1 || load(argv[3], &rn) == -1) {
		perror("poller: cannot load the reference files");
		return 1;
	}
	catch_signals();
	cap = (ro.len > rn.len ? ro.len : rn.len) + 1;
	if ((buf = malloc(cap)) == NULL) {
		perror("poller");
		return 1;
	}
	poll_once(argv[1], &ro, &rn, buf, cap, &c);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		poll_once(argv[1], &ro, &rn, buf, cap, &c);
		if (report) {
			report = 0;
			print_counts(&c);
		}
	}
	print_counts(&c);
	return 0;
}

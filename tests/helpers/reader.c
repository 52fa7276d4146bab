/*
 * reader.c - read a path over and over and say what each read saw.
 *
 *	reader PATH OLD NEW [SECONDS]
 *
 * Opens and reads PATH whole in a tight loop, for SECONDS (default 60)
 * or until SIGTERM or SIGINT, and sorts each read: "missing" (ENOENT on
 * open), "old" (byte-identical to the file OLD), "new" (identical to
 * NEW) or "torn" (anything else: short, mixed, empty, another error).
 * After the first read it writes "ready" to stdout; then "saw KIND" the
 * first time a read is of each kind (old, new, missing, torn), so that a
 * test can go on replacing until the reader has seen what it waits for;
 * on SIGUSR1 and at the end, one line
 *
 *	reads=N old=N new=N missing=N torn=N
 *
 * (the counts so far).  stdout is usually a FIFO the test reads, so
 * every line is flushed at once.  A replacement that is atomic for readers gives missing=0 and
 * torn=0; one that unlinks first (install(1)) or truncates in place
 * (cp(1)) does not.
 *
 * Exit status: 0 after printing the counts, 1 if OLD or NEW cannot be
 * read, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ref {
	char *data;
	size_t len;
};

enum { OLD, NEW, MISSING, TORN, NKINDS };

static const char *const kinds[NKINDS] = { "old", "new", "missing", "torn" };

static volatile sig_atomic_t stop, report;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static void
print_counts(unsigned long reads, const unsigned long *n)
{
	printf("reads=%lu old=%lu new=%lu missing=%lu torn=%lu\n", reads,
	    n[OLD], n[NEW], n[MISSING], n[TORN]);
	fflush(stdout);
}

/* Read fd whole into buf (cap bytes at most); the length, or -1. */
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

static int
load(const char *path, struct ref *r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -1;
	r->len = (size_t)lseek(fd, 0, SEEK_END);
	(void)lseek(fd, 0, SEEK_SET);
	if ((r->data = malloc(r->len + 1)) == NULL)
		return -1;
	n = read_all(fd, r->data, r->len);
	(void)close(fd);
	return n == (ssize_t)r->len ? 0 : -1;
}

static int
same(const struct ref *r, const char *buf, ssize_t n)
{
	return n == (ssize_t)r->len && memcmp(r->data, buf, r->len) == 0;
}

int
main(int argc, char *argv[])
{
	unsigned long reads = 0, n[NKINDS] = { 0 };
	struct ref ro, rn;
	struct sigaction sa;
	time_t end;
	size_t cap;
	char *buf;
	ssize_t len;
	int fd, k;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: reader PATH OLD NEW [SECONDS]\n");
		return 2;
	}
	if (load(argv[2], &ro) == -1 || load(argv[3], &rn) == -1) {
		perror("reader: cannot load the reference files");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; /* a report must not fail an open */
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGUSR1, &sa, NULL);
	cap = (ro.len > rn.len ? ro.len : rn.len) + 1;
	if ((buf = malloc(cap)) == NULL)
		return 1;
	end = time(NULL) + (argc == 5 ? atoi(argv[4]) : 60);
	while (!stop && time(NULL) < end) {
		fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			k = errno == ENOENT ? MISSING : TORN;
		else {
			len = read_all(fd, buf, cap);
			(void)close(fd);
			k = same(&ro, buf, len) ? OLD :
			    same(&rn, buf, len) ? NEW :
						  TORN;
		}
		if (reads++ == 0) {
			printf("ready\n");
			fflush(stdout);
		}
		if (n[k]++ == 0) {
			printf("saw %s\n", kinds[k]);
			fflush(stdout);
		}
		if (report) {
			report = 0;
			print_counts(reads, n);
		}
	}
	print_counts(reads, n);
	return 0;
}

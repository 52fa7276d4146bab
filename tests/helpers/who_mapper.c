/*
 * who_mapper.c - processes that map a file and wait, for the tests and
 * the benchmark of hotswap who and stale.
 *
 *	who_mapper [-m] [-n count] file
 *
 * Maps FILE (dlopen(3) with RTLD_NOW, or with -m a read-only private
 * mmap(2) of its first page, for files that are not libraries), then
 * forks count - 1 children (default count 1) that inherit the mapping.
 * Every process, the first one included, writes "ready PID" on stdout
 * once it maps the file, then waits in pause(2): stdout is a pipe or a
 * FIFO the caller reads count lines from, so nobody has to sleep.
 *
 * The first process owns the others: on SIGTERM, SIGINT or SIGHUP it
 * kills and reaps them all, then exits 0; the children also die with it
 * if it is killed outright (PR_SET_PDEATHSIG), so a test or benchmark
 * that kills the one PID it started leaves nothing behind.
 *
 * Exit status: 0 after SIGTERM, 1 if FILE cannot be mapped or a child
 * cannot be made, 2 on usage.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
map_file(const char *path, int plain)
{
	void *p;
	int fd;

	if (!plain) {
		if (dlopen(path, RTLD_NOW) != NULL)
			return 0;
		fprintf(stderr, "who_mapper: %s\n", dlerror());
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		perror("who_mapper: open");
		return -1;
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)close(fd);
	if (p == MAP_FAILED) {
		perror("who_mapper: mmap");
		return -1;
	}
	return 0;
}

static void
ready(void)
{
	char line[32];
	int n;

	n = snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		_exit(1);
}

static void
child(pid_t parent)
{
	sigset_t none;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0); /* the parent died before the prctl */
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	ready();
	for (;;)
		(void)pause();
}

/* Fork count - 1 children into kids; returns how many were made. */
static long
spawn(long count, pid_t *kids)
{
	pid_t self = getpid();
	long n;

	for (n = 0; n < count - 1 && !stop; n++) {
		if ((kids[n] = fork()) == -1) {
			perror("who_mapper: fork");
			break;
		}
		if (kids[n] == 0)
			child(self);
	}
	return n;
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	sigset_t block, old;
	pid_t *kids;
	long count = 1, made, i;
	int c, plain = 0, status = 0;

	while ((c = getopt(argc, argv, "mn:")) != -1) {
		if (c == 'm')
			plain = 1;
		else if (c == 'n' && (count = strtol(optarg, NULL, 10)) >= 1 &&
		    count <= 100000)
			continue;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	if ((kids = calloc((size_t)count, sizeof(*kids))) == NULL)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	if (map_file(argv[optind], plain) == -1)
		return 1;
	/* Block the signals while forking; sigsuspend() below takes them. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &block, &old);
	made = spawn(count, kids);
	if (made == count - 1)
		ready();
	else
		status = 1;
	while (!stop && status == 0)
		(void)sigsuspend(&old);
	for (i = 0; i < made; i++)
		(void)kill(kids[i], SIGKILL);
	for (i = 0; i < made; i++)
		while (waitpid(kids[i], NULL, 0) == -1 && errno == EINTR)
			continue;
	free(kids);
	return status;
usage:
	fprintf(stderr, "usage: who_mapper [-m] [-n count] file\n");
	return 2;
}

/*
 * swapper.c - the attacker of tests/e2e/attack_install.bats: swap two
 * names, once at a chosen moment or over and over.
 *
 *	swapper flip PATH SPARE
 *	swapper chase PATH SPARE
 *	swapper onopen DIR TRIGGER PATH SPARE
 *
 * Both exchange PATH and SPARE with renameat2(RENAME_EXCHANGE), one
 * atomic step, so that PATH is at every instant either what it was
 * (a file, a directory) or what SPARE was (usually a symbolic link to a
 * file the attacker may not read).
 *
 * flip exchanges them in a tight loop until SIGTERM; it writes "ready"
 * after the first exchange and, at the end, "flips=N".  chase is flip
 * for a PATH that the victim has yet to create (a directory install -D
 * makes): it says "ready" at once and counts only the exchanges that
 * happened, retrying while either name is missing.  onopen watches
 * DIR with inotify(7), writes "ready" once the watch is in place, and
 * exchanges the two once when something opens DIR/TRIGGER (the victim
 * has then got past its look at the rest of DIR), then writes "swapped"
 * and exits.
 *
 * Exit status: 0, 1 if a call fails, 2 on usage.
 */
#include <sys/inotify.h>
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
exchange(const char *a, const char *b)
{
	return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

static int
flip(const char *path, const char *spare, int chase)
{
	struct sigaction sa;
	unsigned long n = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	if (sigaction(SIGTERM, &sa, NULL) == -1)
		return 1;
	if (!chase) {
		if (exchange(path, spare) == -1)
			return 1;
		n++;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		if (exchange(path, spare) == 0)
			n++;
		else if (errno != EINTR && !(chase && errno == ENOENT))
			return 1;
	}
	printf("flips=%lu\n", n);
	return 0;
}

/* Wait for an open of dir/trigger, then exchange once. */
static int
onopen(const char *dir, const char *trigger, const char *path,
    const char *spare)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *ev;
	ssize_t n;
	char *p;
	int fd;

	if ((fd = inotify_init1(IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(fd, dir, IN_OPEN) == -1)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (struct inotify_event *)(void *)p;
			if (ev->len == 0 || strcmp(ev->name, trigger) != 0)
				continue;
			if (exchange(path, spare) == -1)
				return 1;
			printf("swapped\n");
			return 0;
		}
	}
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "flip") == 0)
		return flip(argv[2], argv[3], 0);
	if (argc == 4 && strcmp(argv[1], "chase") == 0)
		return flip(argv[2], argv[3], 1);
	if (argc == 6 && strcmp(argv[1], "onopen") == 0)
		return onopen(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr,
	    "usage: swapper flip PATH SPARE\n"
	    "       swapper chase PATH SPARE\n"
	    "       swapper onopen DIR TRIGGER PATH SPARE\n");
	return 2;
}

/*
 * victim.c - a process that really uses a shared library, for the
 * end-to-end tests of hotswap install.
 *
 *	victim LIB
 *
 * dlopen()s LIB with RTLD_NOW, looks up victim_version() and calls it
 * about every millisecond until told to stop.  After the first call it
 * writes "ready VERSION" to stdout; on SIGUSR1 it writes "alive VERSION",
 * VERSION being what the function returns at that moment.  stdout is
 * usually a FIFO the test reads, so every line is flushed at once: the
 * lines are the synchronisation, no test has to sleep.  SIGTERM ends it
 * with status 0.  If the library's code is truncated under it, the next
 * call dies of SIGBUS, which is what the control cases look for.
 *
 * Exit status: 0 on SIGTERM, 1 if LIB cannot be loaded, 2 on usage.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t got_usr1, got_term;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static void
handle(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, NULL);
}

int
main(int argc, char *argv[])
{
	struct timespec ms = { 0, 1000000 };
	int (*version)(void);
	void *lib;

	if (argc != 2) {
		fprintf(stderr, "usage: victim LIB\n");
		return 2;
	}
	handle(SIGUSR1);
	handle(SIGTERM);
	if ((lib = dlopen(argv[1], RTLD_NOW)) == NULL) {
		fprintf(stderr, "victim: %s\n", dlerror());
		return 1;
	}
	*(void **)&version = dlsym(lib, "victim_version");
	if (version == NULL) {
		fprintf(stderr, "victim: %s\n", dlerror());
		return 1;
	}
	printf("ready %d\n", version());
	fflush(stdout);
	while (!got_term) {
		if (got_usr1) {
			got_usr1 = 0;
			printf("alive %d\n", version());
			fflush(stdout);
		}
		(void)version();
		(void)nanosleep(&ms, NULL);
	}
	return 0;
}

/*
 * guard_calls.c - the corners of hotswap guard that no common tool
 * reaches, one per subcommand, each printing what it saw for the test
 * (tests/e2e/guard.bats) to compare.
 *
 *	guard_calls CASE FILE [SOURCE]
 *
 * FILE is the file the victim maps; SOURCE the new content.  "same" and
 * "new" say whether FILE's inode is still the one it had at the start.
 *
 * errno		errno is 1234 before open(FILE, O_WRONLY|O_TRUNC) and
 *			truncate(FILE, 1): prints "open N errno E", then
 *			"truncate R errno E".
 * ftrunc-rdonly	ftruncate(2) to 0 through an O_RDONLY descriptor:
 *			"ftruncate R errno E".
 * close-range		open, write SOURCE, close_range(fd, ~0U, 0): prints
 *			"closed same|new" before exiting.
 * closefrom		the same with closefrom(3).
 * exec		open FILE with O_CLOEXEC|O_TRUNC, write the first half
 *			of SOURCE, try execle(3) of a missing program
 *			("failed errno E"), write the rest, then execlp(3) a
 *			shell that prints "exec same|new" and "env unset"
 *			(the guard's note to it is gone): a temporary held
 *			only by a close-on-exec descriptor is committed
 *			when the exec closes it.
 * exec-child		open FILE with O_CLOEXEC|O_TRUNC, write SOURCE,
 *			fork; the child execs sh without the guard (no
 *			LD_PRELOAD), says it runs and waits on a pipe; the
 *			parent then closes:
 *			"parent-closed same|new", lets the child go and
 *			waits for it: "child-exited same|new".
 * execv-threads	open FILE with O_CLOEXEC|O_TRUNC; a second thread
 *			reads the environment without end while the main
 *			thread fails to execv(3) 20,000 times: "survived".
 * orphan		open, write SOURCE, _Fork(2) (no atfork handlers);
 *			the parent exits; the child, once it has another
 *			parent, closes: "orphan-closed same|new".
 * memfd-sealed		ftruncate(2) to 0 of a mapped memfd sealed against
 *			shrinking: "ftruncate R errno E".  FILE unused.
 * unlinked		open FILE O_RDWR, map it, unlink it, ftruncate to
 *			0: "ftruncate R errno E" (FILE is gone after).
 * vfork		open, write SOURCE; a vfork(2) child closes its copy
 *			and exits; "child same|new"; the parent closes:
 *			"parent same|new".
 * freopen-null		fopen(FILE, "r"), then freopen(NULL, "w", it), write
 *			SOURCE: "freopen ok" or "freopen errno E".
 * ccs			fopen(FILE, "w,ccs=UTF-8"): "wide 1" if the stream
 *			is wide-oriented, as glibc makes it; then a wide
 *			string is written.
 * table		opens FILE with O_TRUNC until an open fails, without
 *			closing: "opened N errno E" (or "opened N" at 100).
 * signal-open		a SIGALRM handler, every millisecond, opens FILE with
 *			O_TRUNC (and closes it), while the main thread
 *			allocates and frees without end and a second thread
 *			waits (so that malloc takes its locks); after 200
 *			handlers: "handled 200 refused N".  Only the main
 *			thread takes the signal, and only 200 handlers act,
 *			so that N is exact on a loaded machine too.  open(2) is
 *			async-signal-safe: the guard in it must be too.
 * thread-exit		a second thread locks stdin and blocks reading it;
 *			then the main thread exits (0): exit must not wait
 *			for that lock.  With SOURCE, its bytes are first
 *			written to FILE through fopen(3) "w" and fwrite(3),
 *			never flushed or closed: exit must still write them
 *			to FILE.
 *
 * Exit 0, or 1 on an unexpected error.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

extern char **environ;

static char buf[1 << 20], sbuf[1 << 20];
static ino_t ino0;
static const char *file;

static const char *
state(void)
{
	struct stat st;

	if (stat(file, &st) == -1)
		err(1, "stat '%s'", file);
	return st.st_ino == ino0 ? "same" : "new";
}

/* SOURCE's bytes into buf; how many. */
static ssize_t
read_source(const char *source)
{
	ssize_t n;
	int src;

	if (source == NULL)
		errx(1, "this case needs SOURCE");
	if ((src = open(source, O_RDONLY)) == -1 ||
	    (n = read(src, buf, sizeof(buf))) == -1)
		err(1, "read '%s'", source);
	(void)close(src);
	return n;
}

/* Open FILE with O_TRUNC and write SOURCE to it; the descriptor. */
static int
open_and_write(const char *source)
{
	ssize_t n = read_source(source);
	int fd;

	if ((fd = open(file, O_WRONLY | O_TRUNC)) == -1)
		err(1, "open '%s'", file);
	if (write(fd, buf, (size_t)n) != n)
		err(1, "write '%s'", file);
	return fd;
}

static sem_t locked;
static volatile sig_atomic_t handled, refused;

/*
 * Runs in the main thread only (the waiter blocks SIGALRM), so that no
 * two handlers count at once: a handler preempted between the load and
 * the store of handled++ lost every count another thread made
 * meanwhile ("handled 200 refused 513" under load).  Ticks after the
 * 200th do nothing: the counts are final once handled reaches 200.
 */
static void
on_alarm(int sig)
{
	int serrno = errno, fd;

	(void)sig;
	if (handled >= 200)
		return;
	if ((fd = open(file, O_WRONLY | O_TRUNC)) != -1)
		(void)close(fd);
	else if (errno == ETXTBSY)
		refused++;
	handled++;
	errno = serrno;
}

static volatile int stop;

static void *
env_reader(void *arg)
{
	(void)arg;
	while (!stop)
		(void)getenv("PATH");
	return NULL;
}

static void *
waiter(void *arg)
{
	(void)arg;
	while (sem_wait(&locked) == -1)
		;
	return NULL;
}

static void *
reader(void *arg)
{
	(void)arg;
	flockfile(stdin);
	(void)sem_post(&locked);
	(void)fgets(buf, sizeof(buf), stdin); /* blocks, holding the lock */
	funlockfile(stdin);
	return NULL;
}

int
main(int argc, char *argv[])
{
	const char *what = argc > 1 ? argv[1] : "", *source = argv[3];
	struct stat st;
	pthread_t t;
	FILE *f;
	int fd, r, n;
	pid_t pid;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: guard_calls CASE FILE [SOURCE]\n");
		return 2;
	}
	file = argv[2];
	if (stat(file, &st) == -1)
		err(1, "stat '%s'", file);
	ino0 = st.st_ino;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (strcmp(what, "errno") == 0) {
		errno = 1234;
		fd = open(file, O_WRONLY | O_TRUNC);
		printf("open %s errno %d\n", fd == -1 ? "-1" : "fd", errno);
		if (fd != -1)
			(void)close(fd);
		errno = 1234;
		r = truncate(file, 1);
		printf("truncate %d errno %d\n", r, errno);
	} else if (strcmp(what, "ftrunc-rdonly") == 0) {
		if ((fd = open(file, O_RDONLY)) == -1)
			err(1, "open '%s'", file);
		r = ftruncate(fd, 0);
		printf("ftruncate %d errno %d\n", r, r == -1 ? errno : 0);
	} else if (strcmp(what, "close-range") == 0 ||
	    strcmp(what, "closefrom") == 0) {
		fd = open_and_write(source);
		if (what[5] == 'f')
			closefrom(fd);
		else if (close_range((unsigned int)fd, ~0U, 0) == -1)
			err(1, "close_range");
		printf("closed %s\n", state());
	} else if (strcmp(what, "exec") == 0) {
		char ino[32];
		ssize_t len, half;

		len = read_source(source);
		if ((fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
			err(1, "open '%s'", file);
		half = len / 2;
		if (write(fd, buf, (size_t)half) != half)
			err(1, "write '%s'", file);
		(void)execle("/nonexistent/program", "none", (char *)NULL,
		    environ);
		printf("failed errno %d\n", errno);
		if (write(fd, buf + half, (size_t)(len - half)) != len - half)
			err(1, "write '%s' after the failed exec", file);
		(void)snprintf(ino, sizeof(ino), "%ju", (uintmax_t)ino0);
		(void)execlp("sh", "sh", "-c",
		    "[ \"$(stat -c %i \"$1\")\" = "
		    "\"$2\" ] && echo exec same || echo exec new; echo "
		    "\"env ${HOTSWAP_GUARD_CARRIED-unset}\"",
		    "sh", file, ino, (char *)NULL);
		err(1, "execlp sh");
	} else if (strcmp(what, "exec-child") == 0) {
		char path[] = "PATH=/usr/bin:/bin", *env[] = { path, NULL };
		int go[2], ready[2];

		fd = open_and_write(source);
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 || pipe(go) == -1 ||
		    pipe(ready) == -1 || (pid = fork()) == -1)
			err(1, "fork");
		if (pid == 0) {
			(void)dup2(go[0], 0);
			(void)dup2(ready[1], 1);
			(void)close(go[1]);
			(void)close(ready[0]);
			(void)execle("/bin/sh", "sh", "-c",
			    "echo ready; read x", (char *)NULL, env);
			_exit(127);
		}
		(void)close(go[0]);
		(void)close(ready[1]);
		/* The exec is done (and closed the child's copy of fd). */
		if (read(ready[0], buf, 6) != 6)
			errx(1, "the child did not say ready");
		if (close(fd) == -1)
			err(1, "close");
		printf("parent-closed %s\n", state());
		(void)close(go[1]);
		if (waitpid(pid, &r, 0) == -1)
			err(1, "waitpid");
		printf("child-exited %s\n", state());
	} else if (strcmp(what, "execv-threads") == 0) {
		char name[] = "none", *none[] = { name, NULL };

		if ((fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1 ||
		    pthread_create(&t, NULL, env_reader, NULL) != 0)
			err(1, "setting up");
		for (n = 0; n < 20000; n++)
			(void)execv("/nonexistent/program", none);
		stop = 1;
		(void)pthread_join(t, NULL);
		printf("survived\n");
	} else if (strcmp(what, "orphan") == 0) {
		pid_t parent = getpid();

		fd = open_and_write(source);
		if ((pid = _Fork()) == -1)
			err(1, "_Fork");
		if (pid > 0)
			_exit(0); /* without closing: the child is last */
		while (getppid() == parent)
			(void)usleep(1000); /* polls a condition */
		if (close(fd) == -1)
			err(1, "close");
		printf("orphan-closed %s\n", state());
	} else if (strcmp(what, "memfd-sealed") == 0 ||
	    strcmp(what, "unlinked") == 0) {
		if (what[0] == 'm')
			fd = memfd_create("sealed", MFD_ALLOW_SEALING);
		else
			fd = open(file, O_RDWR);
		if (fd == -1 || write(fd, buf, 8192) != 8192 ||
		    mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0) ==
			MAP_FAILED)
			err(1, "setting up");
		if (what[0] == 'm' ? fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) :
				     unlink(file))
			err(1, "sealing or unlinking");
		r = ftruncate(fd, 0);
		printf("ftruncate %d errno %d\n", r, r == -1 ? errno : 0);
	} else if (strcmp(what, "vfork") == 0) {
		fd = open_and_write(source);
		if ((pid = vfork()) == -1)
			err(1, "vfork");
		if (pid == 0) {
			(void)close(fd);
			_exit(0);
		}
		printf("child %s\n", state());
		if (close(fd) == -1)
			err(1, "close");
		printf("parent %s\n", state());
	} else if (strcmp(what, "freopen-null") == 0) {
		if ((f = fopen(file, "r")) == NULL)
			err(1, "fopen '%s'", file);
		if ((f = freopen(NULL, "w", f)) == NULL) {
			printf("freopen errno %d\n", errno);
			return 0;
		}
		if (fputs("new content\n", f) == EOF || fclose(f) == EOF)
			err(1, "write '%s'", file);
		printf("freopen ok\n");
	} else if (strcmp(what, "ccs") == 0) {
		if ((f = fopen(file, "w,ccs=UTF-8")) == NULL)
			err(1, "fopen '%s'", file);
		printf("wide %d\n", fwide(f, 0) > 0);
		if (fputws(L"new content \u00e9\n", f) == -1 ||
		    fclose(f) == EOF)
			err(1, "write '%s'", file);
	} else if (strcmp(what, "table") == 0) {
		for (n = 0; n < 100; n++)
			if (open(file, O_WRONLY | O_TRUNC) == -1)
				break;
		if (n < 100)
			printf("opened %d errno %d\n", n, errno);
		else
			printf("opened %d\n", n);
	} else if (strcmp(what, "signal-open") == 0) {
		struct itimerval every = { { 0, 1000 }, { 0, 1000 } }, off;
		struct sigaction sa;
		sigset_t alrm;
		size_t i;
		void *p;

		memset(&sa, 0, sizeof(sa));
		memset(&off, 0, sizeof(off));
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		/* The waiter inherits SIGALRM blocked; the main thread not. */
		if (sem_init(&locked, 0, 0) == -1 ||
		    pthread_sigmask(SIG_BLOCK, &alrm, NULL) != 0 ||
		    pthread_create(&t, NULL, waiter, NULL) != 0 ||
		    pthread_sigmask(SIG_UNBLOCK, &alrm, NULL) != 0 ||
		    sigaction(SIGALRM, &sa, NULL) == -1 ||
		    setitimer(ITIMER_REAL, &every, NULL) == -1)
			err(1, "setting up");
		for (i = 0; handled < 200; i++) {
			if ((p = malloc(4096 + (i * 4099) % 60000)) == NULL)
				err(1, "malloc");
			free(p);
		}
		(void)setitimer(ITIMER_REAL, &off, NULL);
		printf("handled 200 refused %d\n", (int)refused);
		(void)sem_post(&locked);
		(void)pthread_join(t, NULL);
	} else if (strcmp(what, "thread-exit") == 0) {
		if (source != NULL) {
			n = (int)read_source(source);
			/* Buffered whole: nothing written before exit. */
			if ((f = fopen(file, "w")) == NULL ||
			    setvbuf(f, sbuf, _IOFBF, sizeof(sbuf)) != 0 ||
			    fwrite(buf, 1, (size_t)n, f) != (size_t)n)
				err(1, "write '%s'", file);
		}
		if (sem_init(&locked, 0, 0) == -1 ||
		    pthread_create(&t, NULL, reader, NULL) != 0)
			err(1, "thread");
		while (sem_wait(&locked) == -1)
			;
		printf("exiting\n");
		exit(0);
	} else {
		fprintf(stderr, "guard_calls: no case '%s'\n", what);
		return 2;
	}
	return 0;
}

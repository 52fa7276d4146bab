/*
 * free.c - HS_FREE_LATER: the space of a replaced file, freed after the
 * call returns.
 *
 * The kernel frees an unlinked inode's blocks when its last reference
 * goes, inside the close(2) or unlink(2) that drops it: measured here,
 * 160 ms for a GiB on tmpfs and 240 ms on an ext4 mounted with discard,
 * time the caller waits for although the replacement was complete and
 * durable before it.  With the flag, the last references go to a process
 * of ours, which drops them as the call returns:
 *
 *   caller: pipe2, fork A, wait for A; then close its own references
 *           (not the last ones now) and the pipe's write end;
 *   A:      close every descriptor but the references and the pipe's
 *           read end, fork B, exit;
 *   B:      chdir("/"), read the pipe to its end, exit: the exit drops
 *           the references, and the kernel frees the inodes.
 *
 * The wait for A is what makes this safe to return from: once it is
 * over, no process of ours holds a descriptor of the caller's but the
 * references (not a transaction's lock, not the standard output a
 * shell's $(...) reads to its end), and B, a grandchild, is init's to
 * reap, or the nearest subreaper's: a caller that is itself PID 1 or a
 * subreaper would get B as a child it never asked for, so there the
 * references are dropped here instead.  (Under an init that reaps
 * nothing, as in some containers, B stays a zombie, as any orphan does.)
 * B holds no directory, but as a fork it shares the caller's memory and
 * mappings (the program, its libraries) until it exits; it keeps the
 * inodes' filesystems busy for as long as the freeing takes (umount(8)
 * says "target is busy").  A's closes are closes: NFS and FUSE are told
 * of each (flush), as at any fork and exit.  Anything that fails before
 * B has the references leaves them to the caller's close, as without the
 * flag.
 *
 * A and B are children of a program that may have threads: they are
 * made with every signal blocked, and never unblock one, so that no
 * handler of the program's runs in them; the forks are _Fork(3), which
 * runs no pthread_atfork handlers; and after them the children make raw
 * system calls only, no allocation, no atexit handlers.  (The guard,
 * libhotswap-guard.so, does not link this file.)
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

static int
cmp_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static _Noreturn void
child_exit(int code)
{
	for (;;)
		(void)syscall(SYS_exit_group, code);
}

/* Close every descriptor but keep[0..n), sorted; 0, or an errno. */
static int
close_others(const int *keep, size_t n)
{
	unsigned int lo = 0, k;
	size_t i;

	for (i = 0; i < n; i++) {
		k = (unsigned int)keep[i];
		if (k > lo && syscall(SYS_close_range, lo, k - 1, 0) == -1)
			return errno;
		lo = k + 1;
	}
	if (syscall(SYS_close_range, lo, ~0U, 0) == -1)
		return errno;
	return 0;
}

/* B: hold the references until the caller closes the pipe's write end. */
static _Noreturn void
holder(int rfd)
{
	char c;
	ssize_t r;

	(void)syscall(SYS_chdir, "/");
	do
		r = syscall(SYS_read, rfd, &c, 1);
	while (r == -1 && errno == EINTR);
	child_exit(0);
}

/* A: keep[] is the references and the read end, sorted. */
static _Noreturn void
handover(const int *keep, size_t n, int rfd)
{
	pid_t pid;
	int e;

	if ((e = close_others(keep, n)) != 0)
		child_exit(e);
	/* B is named from its start: ps, and the tests, see it at once. */
	(void)syscall(SYS_prctl, PR_SET_NAME, "hotswap-free", 0, 0, 0);
	if ((pid = hs_sys.fork()) == 0)
		holder(rfd);
	child_exit(pid == -1 ? errno : 0);
}

static void
close_all(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)hs_close(fds[i]);
}

int
hs_free_later_worth(const struct stat *st)
{
	return S_ISREG(st->st_mode) &&
	    (off_t)st->st_blocks * 512 >= HS_FREE_LATER_MIN;
}

/* Would a grandchild come back to us as a child (see above)? */
static int
we_reap_orphans(void)
{
	int v = 0;

	return getpid() == 1 ||
	    (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) == 0 && v != 0);
}

/* Drop fds here, and fail with e. */
static int
drop(const int *fds, size_t n, int e)
{
	close_all(fds, n);
	errno = e;
	return -1;
}

int
hs_free_later(const int *fds, size_t n)
{
	int keep[HS_FREE_LATER_MAX + 1], p[2], status, e = 0;
	sigset_t all, old;
	pid_t pid, r;

	if (n == 0)
		return 0;
	if (n > HS_FREE_LATER_MAX)
		return drop(fds, n, E2BIG);
	if (we_reap_orphans())
		return drop(fds, n, ECHILD);
	if (hs_sys.pipe2(p, O_CLOEXEC) == -1)
		return drop(fds, n, errno);
	memcpy(keep, fds, n * sizeof(*keep));
	keep[n] = p[0];
	qsort(keep, n + 1, sizeof(*keep), cmp_fd);
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((pid = hs_sys.fork()) == 0)
		handover(keep, n + 1, p[0]);
	if (pid == -1)
		e = errno;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid != -1) {
		do
			r = hs_sys.waitpid(pid, &status, 0);
		while (r == -1 && errno == EINTR);
		/* ECHILD: a SIGCHLD handler of the program's reaped A. */
		if (r == pid &&
		    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			e = WIFEXITED(status) ? WEXITSTATUS(status) : ECHILD;
	}
	(void)hs_close(p[0]);
	close_all(fds, n);
	(void)hs_close(p[1]);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

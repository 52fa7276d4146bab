/*
 * dev.c - what blockcut asks of the system: mkfs.ext4, loop devices that
 * detach themselves (LO_FLAGS_AUTOCLEAR: once the ext4 on one is
 * unmounted, or the mount namespace that holds it dies, it is gone),
 * ext4 mounts, and processes waited for with a timeout.
 */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockcut.h"

#define LOOP_TRIES 50 /* another process may take the free device first */

/*
 * A small ext4 in the file img holding a copy of seed, made the same way
 * each time: no lazy initialisation (which would write in the epoch),
 * a fixed UUID, directory hash seed and clock.
 */
int
bc_mkfs(const char *img, const char *seed, size_t size)
{
	const char *argv[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", "-U",
		"7d1ea0c5-5b0e-4c3a-9a43-2f3b0c8a1d15", "-E",
		"lazy_itable_init=0,lazy_journal_init=0,nodiscard,"
		"hash_seed=5f1c7e2a-3b4d-4e6f-8a9b-0c1d2e3f4a5b",
		"-d", seed, img, NULL };
	int fd, st;
	pid_t pid;

	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || ftruncate(fd, (off_t)size) == -1) {
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	(void)close(fd);
	(void)setenv("E2FSPROGS_FAKE_TIME", "1700000000", 1);
	pid = bc_spawn(argv, "/", -1);
	(void)unsetenv("E2FSPROGS_FAKE_TIME");
	if (pid == -1 || bc_wait(pid, 60, &st) == -1)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Configure a free loop device on fd; its descriptor, or -1. */
static int
configure(int ctl, int fd, char *dev, size_t len)
{
	struct loop_config cfg;
	int n, lfd;

	if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) == -1)
		return -1;
	(void)snprintf(dev, len, "/dev/loop%d", n);
	if ((lfd = open(dev, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned int)fd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == -1) {
		n = errno;
		(void)close(lfd);
		errno = n;
		return -1;
	}
	(void)ioctl(lfd, BLKFLSBUF, 0);
	return lfd;
}

/*
 * Attach backing to a free loop device (buffered I/O), named in dev.
 * Returns its descriptor: the device detaches itself at the last close
 * once it is no longer mounted.
 */
int
bc_loop_attach(const char *backing, char *dev, size_t len)
{
	int ctl, fd, lfd = -1, i, serrno;

	if ((fd = open(backing, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) == -1)
		goto out;
	for (i = 0; i < LOOP_TRIES && lfd == -1; i++)
		if ((lfd = configure(ctl, fd, dev, len)) == -1 &&
		    errno != EBUSY)
			break;
out:
	serrno = errno;
	if (ctl != -1)
		(void)close(ctl);
	(void)close(fd);
	errno = serrno;
	return lfd;
}

int
bc_mount_ext4(const char *dev, const char *dir, const char *opts)
{
	return mount(dev, dir, "ext4", MS_NOSUID | MS_NODEV, opts);
}

/* Unmount dir; if something still holds it, detach it lazily. */
int
bc_umount(const char *dir)
{
	if (umount2(dir, 0) == 0)
		return 0;
	if (errno != EBUSY)
		return -1;
	return umount2(dir, MNT_DETACH);
}

/*
 * Start argv in dir, in a process group of its own, with out (if not
 * -1) as its stdout and stderr, killed if blockcut dies.  SIGCHLD is
 * blocked in this process (see bc_wait); the child gets it back.
 */
pid_t
bc_spawn(const char *const *argv, const char *dir, int out)
{
	union {
		const char *const *c;
		char *const *v;
	} args = { argv };
	sigset_t set;
	pid_t pid, parent;

	parent = getpid();
	if ((pid = fork()) != 0)
		return pid;
	/* dies with blockcut, so that its mount namespace goes too */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(126);
	(void)sigemptyset(&set);
	(void)sigprocmask(SIG_SETMASK, &set, NULL);
	(void)setpgid(0, 0);
	if (out != -1 && (dup2(out, 1) == -1 || dup2(out, 2) == -1))
		_exit(126);
	if (chdir(dir) == -1)
		_exit(126);
	execvp(argv[0], args.v);
	_exit(127);
}

/*
 * Wait for pid at most secs seconds (SIGCHLD must be blocked); past
 * that, kill its process group and fail with ETIMEDOUT.
 */
int
bc_wait(pid_t pid, int secs, int *status)
{
	struct timespec end, now, left;
	sigset_t set;
	pid_t r;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGCHLD);
	(void)clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	for (;;) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			break;
		(void)sigtimedwait(&set, NULL, &left);
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
	errno = ETIMEDOUT;
	return -1;
}

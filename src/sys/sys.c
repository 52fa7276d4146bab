/*
 * sys.c - the real system calls behind the seam, and EINTR loops over it.
 */
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/fs.h>
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "sys.h"

/*
 * The calls that libhotswap-guard.so exports as well: inside it
 * (HS_SYS_NEXT) the next definitions after the guard's (sys.h).
 */
#ifdef HS_SYS_NEXT
#define NEXT(name) hs_next_##name
#else
#define NEXT(name) name
#endif

/*
 * The ring's calls (ring.c, liburing): not in the guard, which makes no
 * batch and must not bring liburing into every program it is preloaded
 * into.
 */
#ifdef HS_SYS_NEXT
static struct hs_ring *
no_ring_open(unsigned int depth)
{
	(void)depth;
	errno = ENOSYS;
	return NULL;
}

static int
no_ring_run(struct hs_ring *r, struct hs_rop *ops, size_t n)
{
	(void)r, (void)ops, (void)n;
	errno = ENOSYS;
	return -1;
}
#define RING(name) no_ring_##name
#else
#define RING(name) hs_ring_##name##_real
#endif

/*
 * HS_FREE_LATER's fork (install/free.c, which the guard does not link):
 * the guard forks nothing of its own, so inside it the entry fails.
 */
#ifdef HS_SYS_NEXT
static pid_t
no_fork(void)
{
	errno = ENOSYS;
	return -1;
}
#define FORK no_fork
#else
#define FORK _Fork /* no pthread_atfork handlers: the child runs none */
#endif

static int
real_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return NEXT(openat)(dirfd, path, flags, mode);
}

static int
real_ficlone(int dstfd, int srcfd)
{
	return ioctl(dstfd, FICLONE, srcfd);
}

static int
real_renameat2(int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath, unsigned int flags)
{
	return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

static uint64_t
real_clock_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* By number: the guard interposes fcntl itself (guard.map). */
static int
real_dupfd(int fd)
{
	return (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
}

static int
real_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

/*
 * posix_spawnp(3) in cwdfd (glibc 2.29's addfchdir): no fork of a big
 * process, no shell, and the child's directory is a descriptor, not a
 * path that someone could rename meanwhile.
 */
static int
real_spawn(pid_t *pid, const char *prog, char *const argv[], char *const envp[],
    int cwdfd)
{
	posix_spawn_file_actions_t fa;
	int e;

	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	e = posix_spawn_file_actions_addfchdir_np(&fa, cwdfd);
	if (e == 0)
		e = posix_spawnp(pid, prog, &fa, NULL, argv, envp);
	(void)posix_spawn_file_actions_destroy(&fa);
out:
	errno = e;
	return e == 0 ? 0 : -1;
}

/* glibc 2.36 has no openat2() wrapper; how points to a struct open_how. */
static int
real_openat2(int dirfd, const char *path, void *how, size_t size)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, size);
}

/* glibc has no bpf() wrapper. */
static int
real_bpf(int cmd, void *attr, unsigned int size)
{
	return (int)syscall(SYS_bpf, cmd, attr, size);
}

/* cachestat(2): Debian 12's headers predate it (Linux 6.5, x86-64 451). */
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

struct hs_cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct hs_cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

static int
real_cached(int fd, uint64_t off, uint64_t len, uint64_t *pages)
{
	struct hs_cachestat_range r = { off, len };
	struct hs_cachestat cs;

	if (syscall(SYS_cachestat, fd, &r, &cs, 0) == -1)
		return -1;
	*pages = cs.nr_cache;
	return 0;
}

static const struct hs_sys hs_sys_real = {
	.openat = real_openat,
	.close = NEXT(close),
	.read = read,
	.pread = pread,
	.pwrite = NEXT(pwrite),
	.copy_file_range = NEXT(copy_file_range),
	.ficlone = real_ficlone,
	.lseek = lseek,
	.ftruncate = NEXT(ftruncate),
	.fsync = NEXT(fsync),
	.fstat = fstat,
	.fstatat = fstatat,
	.readlinkat = readlinkat,
	.fchown = fchown,
	.fchmod = fchmod,
	.futimens = futimens,
	.flistxattr = flistxattr,
	.fgetxattr = fgetxattr,
	.fsetxattr = fsetxattr,
	.fremovexattr = fremovexattr,
	.linkat = linkat,
	.renameat2 = real_renameat2,
	.unlinkat = unlinkat,
	.mkdirat = mkdirat,
	.faccessat = faccessat,
	.getrandom = getrandom,
	.ioctl = real_ioctl,
	.getdents64 = getdents64,
	.openat2 = real_openat2,
	.mmap = mmap,
	.munmap = munmap,
	.write = NEXT(write),
	.sync_file_range = sync_file_range,
	.syncfs = syncfs,
	.flock = flock,
	.symlinkat = symlinkat,
	.bpf = real_bpf,
	.cached = real_cached,
	.spawn = real_spawn,
	.waitpid = waitpid,
	.llistxattr = llistxattr,
	.dupfd = real_dupfd,
	.ring_open = RING(open),
	.ring_run = RING(run),
	.clock_ns = real_clock_ns,
	.pipe2 = pipe2,
	.fork = FORK,
};

struct hs_sys hs_sys = hs_sys_real;

void
hs_sys_reset(void)
{
	hs_sys = hs_sys_real;
}

/*
 * close(2) is not retried on EINTR: on Linux the descriptor is gone
 * whatever close returns, and a retry could close someone else's.
 */
int
hs_close(int fd)
{
	int r = hs_sys.close(fd);

	if (r == -1 && errno == EINTR)
		return 0;
	return r;
}

int
hs_fsync(int fd)
{
	int r;

	do
		r = hs_sys.fsync(fd);
	while (r == -1 && errno == EINTR);
	return r;
}

int
hs_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = hs_sys.openat(dirfd, path, flags | O_CLOEXEC, mode);
	while (fd == -1 && errno == EINTR);
	return fd;
}

/* Read up to len bytes at off; fewer only at end of file. */
ssize_t
hs_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = hs_sys.pread(fd, (char *)buf + done, len - done,
		    off + (off_t)done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * Write all len bytes, at off or (off -1) at the file offset: a short
 * write is retried, never ignored.
 */
static int
write_all(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (off == -1)
			n = hs_sys.write(fd, (const char *)buf + done,
			    len - done);
		else
			n = hs_sys.pwrite(fd, (const char *)buf + done,
			    len - done, off + (off_t)done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int
hs_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	return write_all(fd, buf, len, off);
}

/* At the file offset: for O_APPEND journals. */
int
hs_write_full(int fd, const void *buf, size_t len)
{
	return write_all(fd, buf, len, -1);
}

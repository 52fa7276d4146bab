/*
 * sys.h - the system-call seam.
 *
 * Every system call that can fail in the library's layers (src/sys,
 * src/kern, src/scan, src/install, src/txn) goes through the table
 * hs_sys, never straight to libc, with two exceptions: the unlinkat(2)
 * of hs_cancel_cleanup() (install/tmp.c), which runs in a signal
 * handler and has nobody to report to, and the capget(2) of bpfwho.c,
 * whose failure only means "let the kernel say".  Calls that cannot
 * fail (geteuid, umask) and the C library's own (malloc, pthread_*,
 * sysconf, clock_gettime) are not system calls of ours.  Inside
 * libhotswap-guard.so the guard's own code (src/guard/) calls the seam
 * for the files it makes and replaces, and the kernel directly for the
 * rest; its comments (guard.h) say which.
 *
 * The defaults are the real calls; tests replace single entries to
 * inject ENOSPC, EIO or EINTR at any step, or to record the order of
 * fsync and rename.  An entry never retries: the EINTR loops are the
 * callers' and the wrappers' below (hs_fsync() and friends), so that a
 * test injecting EINTR sees the retry happen.
 *
 * The table is process-global and not locked: tests swap entries before
 * calling into the library, never while it runs.
 */
#ifndef HS_SYS_H
#define HS_SYS_H

#include <sys/types.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>

struct hs_ring;
struct hs_rop;

/* clang-format off */
struct hs_sys {
	int	(*openat)(int, const char *, int, mode_t);
	int	(*close)(int);
	ssize_t	(*read)(int, void *, size_t);
	ssize_t	(*pread)(int, void *, size_t, off_t);
	ssize_t	(*pwrite)(int, const void *, size_t, off_t);
	ssize_t	(*copy_file_range)(int, off_t *, int, off_t *, size_t,
		    unsigned int);
	int	(*ficlone)(int, int);
	off_t	(*lseek)(int, off_t, int);
	int	(*ftruncate)(int, off_t);
	int	(*fsync)(int);
	int	(*fstat)(int, struct stat *);
	int	(*fstatat)(int, const char *, struct stat *, int);
	ssize_t	(*readlinkat)(int, const char *, char *, size_t);
	int	(*fchown)(int, uid_t, gid_t);
	int	(*fchmod)(int, mode_t);
	int	(*futimens)(int, const struct timespec[2]);
	ssize_t	(*flistxattr)(int, char *, size_t);
	ssize_t	(*fgetxattr)(int, const char *, void *, size_t);
	int	(*fsetxattr)(int, const char *, const void *, size_t, int);
	int	(*fremovexattr)(int, const char *);
	int	(*linkat)(int, const char *, int, const char *, int);
	int	(*renameat2)(int, const char *, int, const char *,
		    unsigned int);
	int	(*unlinkat)(int, const char *, int);
	int	(*mkdirat)(int, const char *, mode_t);
	int	(*faccessat)(int, const char *, int, int);
	ssize_t	(*getrandom)(void *, size_t, unsigned int);
	/* Added for the scanner and the kernel readers (openat2: also txn). */
	int	(*ioctl)(int, unsigned long, void *);
	ssize_t	(*getdents64)(int, void *, size_t);
	int	(*openat2)(int, const char *, void *, size_t);
	void	*(*mmap)(void *, size_t, int, int, int, off_t);
	int	(*munmap)(void *, size_t);
	/* Added for transactions (src/txn/). */
	ssize_t	(*write)(int, const void *, size_t);
	int	(*sync_file_range)(int, off_t, off_t, unsigned int);
	int	(*syncfs)(int);
	int	(*flock)(int, int);
	int	(*symlinkat)(const char *, int, const char *);
	/* The BPF walk of who (kern/bpfwho.c); attr is a union bpf_attr. */
	int	(*bpf)(int, void *, unsigned int);
	/*
	 * cachestat(2) (Linux 6.5): how many of a file's pages in
	 * [off, off + len) are in the page cache; -1 with ENOSYS before.
	 */
	int	(*cached)(int, uint64_t off, uint64_t len, uint64_t *pages);
	/*
	 * install -s (install/strip.c): start prog (found in the caller's
	 * PATH, as execvp(3) would) with argv and envp, in the directory
	 * cwdfd; 0 with *pid, or -1 with errno.  And wait for it.
	 */
	int	(*spawn)(pid_t *pid, const char *prog, char *const argv[],
		    char *const envp[], int cwdfd);
	pid_t	(*waitpid)(pid_t, int *, int);
	/*
	 * The tree deploy: the xattr names of a path, its last component
	 * not followed (txn.c asks /proc/self/fd/D/NAME before it opens
	 * an old file only to learn that it has none).
	 */
	ssize_t	(*llistxattr)(const char *, char *, size_t);
	/*
	 * fcntl(fd, F_DUPFD_CLOEXEC, 0): the commit keeps the first few
	 * temporaries open, to fsync them at its barrier (txn.c).
	 */
	int	(*dupfd)(int);
	/*
	 * The commit's batches by io_uring (ring.h): a ring, and a batch
	 * carried out by it.  Inside libhotswap-guard.so, which makes no
	 * batch, ring_open fails with ENOSYS and liburing is not linked.
	 */
	struct hs_ring *(*ring_open)(unsigned int depth);
	int	(*ring_run)(struct hs_ring *, struct hs_rop *, size_t);
	/*
	 * CLOCK_MONOTONIC in nanoseconds: what the commit's rule times its
	 * plain calls by (txn/batch.c), here so that a test can make a
	 * disk slow or fast without one.
	 */
	uint64_t (*clock_ns)(void);
	/*
	 * HS_FREE_LATER (install/free.c): the pipe and the two forks that
	 * hand the last references of replaced inodes to a process of ours.
	 * fork is _Fork(3), which runs no pthread_atfork handlers and may
	 * be called in a child of a threaded program.
	 */
	int	(*pipe2)(int[2], int);
	pid_t	(*fork)(void);
};
/* clang-format on */

extern struct hs_sys hs_sys;

/*
 * Compiled into libhotswap-guard.so (HS_SYS_NEXT, Makefile), the seam
 * lives in a library that exports close, write, fsync and the other
 * calls below itself, to interpose them: a default naming them would
 * bind to the guard's own interposers, and every call of the library
 * would enter the guard again.  There the defaults of these entries are
 * hs_next_*(), which the guard defines (src/guard/next.c) as the next
 * definitions after its own, found with dlsym(RTLD_NEXT): what the
 * program's call would reach were the guard not loaded.  Every other
 * entry names a call the guard does not export.  `make check-guard-seam`
 * fails if one of the guard's library objects names an exported call.
 */
#ifdef HS_SYS_NEXT
int hs_next_openat(int, const char *, int, mode_t);
int hs_next_close(int);
ssize_t hs_next_pwrite(int, const void *, size_t, off_t);
ssize_t hs_next_copy_file_range(int, off_t *, int, off_t *, size_t,
    unsigned int);
int hs_next_ftruncate(int, off_t);
int hs_next_fsync(int);
ssize_t hs_next_write(int, const void *, size_t);
#endif

/* The records getdents64(2) writes (glibc has no public type for them). */
struct hs_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Restore every entry of hs_sys to the real system call. */
void hs_sys_reset(void);

/*
 * EINTR-safe wrappers.  A regular file rarely returns EINTR, but NFS and
 * FUSE can, and a retry costs nothing.
 */
int hs_close(int);
int hs_fsync(int);
int hs_openat(int, const char *, int, mode_t);
ssize_t hs_pread_full(int, void *, size_t, off_t);
int hs_pwrite_full(int, const void *, size_t, off_t);
int hs_write_full(int, const void *, size_t);

#endif /* HS_SYS_H */

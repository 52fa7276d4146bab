/*
 * guard.h - contracts between the parts of libhotswap-guard.so, the
 * preload library behind `hotswap guard`.
 *
 *   guard.c   the interposed calls; the decision; the one-line messages
 *   mapped.c  is this file mapped by a running process?  (lease probe,
 *             then the BPF iterator, or a cached set of every mapped
 *             (dev, ino) in the system, built with kern/'s readers)
 *   fix.c     --fix: a temporary takes the write, renamed over the file
 *             when the last descriptor for it is closed
 *   exec.c    --fix: the exec calls, which carry close-on-exec
 *             descriptors of temporaries across to the new image
 *   alloc.c   malloc and friends of all this code (linked with --wrap):
 *             mmap'ed, so that a signal handler's open may allocate
 *   next.c    the seam's calls of what we interpose: the next definitions
 *
 * Everything here runs inside other people's programs.  Two rules follow.
 * Reentrancy: the guard's own work never calls our interposers.  The
 * library's system calls go through the seam, which here calls the next
 * definitions (sys.h, next.c), and the guard's own calls of what it
 * interposes go through REAL(); `make check-guard-seam` holds every
 * object to it but guard.c and exec.c, whose interposers pass calls on
 * to each other on purpose (creat to open, execv to execve, fopen's
 * close of a temporary).  guard_busy (thread-local) makes what does
 * enter them pass straight through: a signal handler's open while this
 * thread is inside the guard.  Errno: every
 * interposer returns with errno as the real call left it, or as the
 * refusal sets it.
 *
 * Outside the seam, and so beyond a test's fault injection: the
 * decision's lookups (fstatat, stat, fstat, faccessat, statx, fcntl
 * F_GETFL and F_GET_SEALS), the messages' write(2) to stderr, fix.c's
 * descriptor bookkeeping (fcntl locks, F_GETFD, F_SETFL, F_DUPFD, dup3,
 * lseek, the fstat and fstatat that check a held directory or an
 * inherited temporary, readlink of /proc/self/fd, its opendir, kcmp,
 * getpid, and the C library's writes of the fflush at exit), exec.c's
 * and alloc.c's mmap, mremap and munmap, and mapped.c's lease probe
 * (fcntl F_SETSIG and F_SETLEASE).
 */
#ifndef HS_GUARD_H
#define HS_GUARD_H

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <stdio.h>

#define GUARD_EXPORT __attribute__((visibility("default")))

enum guard_mode { GUARD_REFUSE = 0, GUARD_WARN, GUARD_FIX };

/* The environment cmd_guard.c passes the mode and -q through. */
#define GUARD_ENV_MODE	  "HOTSWAP_GUARD_MODE"	/* refuse, warn, fix */
#define GUARD_ENV_QUIET	  "HOTSWAP_GUARD_QUIET" /* "1": no messages */
/* From an image to the one it execs: descriptors to close (fix.c). */
#define GUARD_ENV_CARRIED "HOTSWAP_GUARD_CARRIED"

extern enum guard_mode guard_mode;
extern int guard_quiet;

/* Nonzero while this thread is inside the guard's own work. */
extern __thread int guard_busy __attribute__((tls_model("initial-exec")));

/* The next definitions of what we interpose, found with dlsym(RTLD_NEXT). */
struct guard_real {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*creat)(const char *, mode_t);
	int (*creat64)(const char *, mode_t);
	FILE *(*fopen)(const char *, const char *);
	FILE *(*fopen64)(const char *, const char *);
	FILE *(*freopen)(const char *, const char *, FILE *);
	FILE *(*freopen64)(const char *, const char *, FILE *);
	int (*fclose)(FILE *);
	int (*truncate)(const char *, off_t);
	int (*truncate64)(const char *, off_t);
	int (*ftruncate)(int, off_t);
	int (*ftruncate64)(int, off_t);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	void (*exit_)(int);
	void (*Exit_)(int);
	/* The writes, watched for --fix (fix_lost()). */
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*pwrite64)(int, const void *, size_t, off_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
	ssize_t (*pwritev64)(int, const struct iovec *, int, off_t);
	ssize_t (*pwritev2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*pwritev64v2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*copy_file_range)(int, off_t *, int, off_t *, size_t,
	    unsigned int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*sendfile64)(int, int, off_t *, size_t);
	ssize_t (*splice)(int, off_t *, int, off_t *, size_t, unsigned int);
	int (*fsync)(int);
	int (*fdatasync)(int);
	/* The execs, for --fix (exec.c). */
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
};

extern struct guard_real guard_real;

/* guard.c */
void guard_resolve(void);
/* The real call, resolved on first use (before our constructor ran). */
/* clang-format off */
#define REAL(field)							\
	(guard_real.field != NULL ? guard_real.field :			\
	    (guard_resolve(), guard_real.field))
/* clang-format on */
/*
 * Write one line "hotswap guard: ..." to stderr with write(2), the
 * path escaped; never through stdio, so the program's own stderr
 * buffer is left alone.  Nothing in -q mode unless always is set.
 */
void guard_say(int always, const char *fmt, const char *path, const char *tail);

/* mapped.c */
#define GUARD_PIDS 8 /* PIDs named in a message */

struct guard_who {
	unsigned long npids; /* processes that map it */
	pid_t pids[GUARD_PIDS];
};

/*
 * Is the regular file st (reached through dirfd/path, flags as given to
 * openat: O_NOFOLLOW matters) mapped or run by any process?  1 yes (who
 * filled), 0 no, -1 when /proc cannot be read at all (the caller lets
 * the call through: the guard never breaks a program by its own
 * failure).
 */
int guard_mapped(int dirfd, const char *path, int nofollow,
    const struct stat *st, struct guard_who *who);
/* The same for an open descriptor. */
int guard_mapped_fd(int fd, const struct stat *st, struct guard_who *who);

/* fix.c */
#define FIX_MAX 32	  /* temporaries in flight in one process */
#define FIX_FDS (1 << 20) /* descriptors it can follow (nr_open) */

void fix_init(void);	  /* constructor: adopt inherited temps */
void fix_exit(int flush); /* exit, _exit: close and commit ours */
/*
 * Open a fresh temporary beside the file dirfd/path names (its final
 * name, symlinks followed), with the program's flags less O_TRUNC and
 * the old file's owner, mode and extended attributes; it replaces the
 * file when the last descriptor for it is closed.  Returns the fd, or
 * -1 with errno set (the caller then refuses; fix_full() says whether
 * it was for want of a free entry).
 */
int fix_open(int dirfd, const char *path, int flags, mode_t mode);
/* Drop a temporary fix_open() made, unused: nothing is replaced. */
void fix_abandon(int fd);
/* truncate(2) as a replacement: a new file of the first len bytes. */
int fix_truncate(const char *path, off_t len);
/* ftruncate(2): fd is moved onto a temporary of the first len bytes. */
int fix_ftruncate(int fd, off_t len);
int fix_tracked(int fd);
/*
 * What /proc/self/fd says fd is, NUL-terminated in buf (cut to len - 1
 * bytes); readlink(2)'s length, or -1.
 */
ssize_t fix_fd_path(int fd, char *buf, size_t len);
int fix_full(void); /* the last fix_open() found no entry */
/*
 * Descriptor events.  A close: fix_closing(fd) before the real call
 * (the entry fd stood for, untracked, so that no thread that gets the
 * number next is taken for it; -1 if none), fix_done(entry, err) after
 * it, err the close's errno if it failed, else 0.  fix_closed(fd) is
 * both, for a descriptor the real call already closed.  They return 0,
 * or the errno of a replacement that failed (said on stderr) for the
 * close to report; errno is kept.
 */
int fix_closing(int fd);
int fix_done(int entry, int err);
int fix_closed(int fd);
void fix_dup(int oldfd, int newfd);
/*
 * A write to fd failed with errno e (0: a stream's error flag): if fd
 * is a temporary, it will not replace the file.
 */
void fix_lost(int fd, int e);
/* fd is a new open file description of the temporary that tfd holds. */
int fix_adopt(int tfd, int fd);
/* Nonzero if any descriptor is tracked: the fast path's one test. */
int fix_any(void);
/*
 * Before an exec: for each temporary that a descriptor with FD_CLOEXEC
 * holds, a lockless copy without it (at most max, into fds), and
 * "NAME=PID FD/DEV/INO ..." for the new image's environment in env;
 * the number of copies.  After an exec that failed, fix_exec_drop()
 * closes them.
 */
int fix_exec_carry(int *fds, int max, char *env, size_t envlen);
void fix_exec_drop(const int *fds, int n);

#endif /* HS_GUARD_H */

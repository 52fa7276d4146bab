/*
 * libkillat.c - an LD_PRELOAD shim that kills its process with SIGKILL on
 * entry to the Nth call of one system-call wrapper, for the crash tests of
 * tests/e2e/txn.bats.
 *
 *	HS_KILLAT=renameat2:1500 LD_PRELOAD=.../libkillat.so hotswap ...
 *	HS_KILLAT_COUNT=FILE     LD_PRELOAD=.../libkillat.so hotswap ...
 *
 * With HS_KILLAT=NAME:N the Nth call of NAME never happens: the process
 * dies as a power supply would kill it, between two system calls, with no
 * handler, atexit or buffered write run.  That is what strace's
 * "-e inject=NAME:signal=KILL:when=N" does, without stopping the process
 * at every system call (strace 6.1 ignores injections under
 * --seccomp-bpf, and tracing every call makes a 2,000-file install three
 * times slower).  With HS_KILLAT_COUNT=FILE it kills nothing and writes
 * "NAME COUNT" lines to FILE at exit: the range a random N is drawn from;
 * and "NAME@lastwrite COUNT", the calls made before the last write (in a
 * transaction: the journal's commit record), which bound the draws of a
 * kill that must come before the commit.
 *
 * With HS_PAUSEAT=NAME:N and HS_PAUSE_DIR=DIR (two FIFOs, DIR/paused and
 * DIR/resume) the process instead pauses on entry to the Nth call: it
 * writes "paused" to DIR/paused and waits for a line on DIR/resume, so a
 * test can act at that exact point and then let the call go on.
 *
 * Only calls through the dynamic symbols are seen, which is how the
 * library reaches the kernel (src/sys/sys.c); glibc's internal calls (stdio,
 * fts) are not.  An ASan program must have libasan first in LD_PRELOAD.
 */
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
enum {
	K_OPENAT, K_LINKAT, K_WRITE, K_COPY, K_FCHMOD, K_FTRUNCATE,
	K_GETRANDOM, K_SFR, K_SYNCFS, K_FSYNC, K_RENAMEAT2, K_UNLINKAT,
	K_MKDIRAT, K_SYMLINKAT, K_N
};
/* clang-format on */

static const char *const names[K_N] = { "openat", "linkat", "write",
	"copy_file_range", "fchmod", "ftruncate", "getrandom",
	"sync_file_range", "syncfs", "fsync", "renameat2", "unlinkat",
	"mkdirat", "symlinkat" };

static unsigned long counts[K_N];
static unsigned long at_write[K_N]; /* counts[] before the last write */
static int target = -1;		    /* which wrapper kills, if any */
static unsigned long when;	    /* on its when-th call */
static int pause_target = -1;	    /* HS_PAUSEAT: which pauses */
static unsigned long pause_when;

/* NAME:N into *k (a wrapper, or -1) and *n. */
static void
parse_spec(const char *spec, int *k, unsigned long *n)
{
	const char *colon;
	int i;

	if (spec == NULL || (colon = strchr(spec, ':')) == NULL)
		return;
	for (i = 0; i < K_N; i++)
		if (strlen(names[i]) == (size_t)(colon - spec) &&
		    strncmp(spec, names[i], (size_t)(colon - spec)) == 0)
			*k = i;
	*n = strtoul(colon + 1, NULL, 10);
}

/*
 * Say "paused" on DIR/paused, wait for a line on DIR/resume.  Raw system
 * calls: the wrappers below would count (and intercept) these.
 */
static void
pause_here(void)
{
	const char *dir = getenv("HS_PAUSE_DIR");
	char path[4096], c;
	long fd;

	if (dir == NULL)
		abort();
	(void)snprintf(path, sizeof(path), "%s/paused", dir);
	if ((fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC)) <
		0 ||
	    syscall(SYS_write, fd, "paused\n", 7) != 7)
		abort();
	(void)syscall(SYS_close, fd);
	(void)snprintf(path, sizeof(path), "%s/resume", dir);
	if ((fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC)) <
	    0)
		abort();
	while (syscall(SYS_read, fd, &c, 1) == 1 && c != '\n')
		;
	(void)syscall(SYS_close, fd);
}

__attribute__((constructor)) static void
killat_init(void)
{
	parse_spec(getenv("HS_KILLAT"), &target, &when);
	parse_spec(getenv("HS_PAUSEAT"), &pause_target, &pause_when);
}

__attribute__((destructor)) static void
killat_report(void)
{
	const char *path = getenv("HS_KILLAT_COUNT");
	FILE *f;
	int i;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	for (i = 0; i < K_N; i++)
		fprintf(f, "%s %lu\n%s@lastwrite %lu\n", names[i], counts[i],
		    names[i], at_write[i]);
	fclose(f);
}

/* Count a call of wrapper k; die if it is the one. */
static void
enter(int k)
{
	unsigned long n = __atomic_add_fetch(&counts[k], 1, __ATOMIC_SEQ_CST);
	int i;

	if (k == K_WRITE)
		for (i = 0; i < K_N; i++)
			at_write[i] = __atomic_load_n(&counts[i],
			    __ATOMIC_SEQ_CST);
	if (k == target && n == when)
		(void)kill(getpid(), SIGKILL);
	if (k == pause_target && n == pause_when)
		pause_here();
}

/* The next definition of name: libasan's interceptor or libc's. */
static void *
next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL)
		abort();
	return p;
}

/* clang-format off */
#define REAL(type, name, args)						\
	static type (*real) args;					\
	if (real == NULL)						\
		*(void **)&real = next(name)
/* clang-format on */

int
openat(int dirfd, const char *path, int flags, ...)
{
	REAL(int, "openat", (int, const char *, int, mode_t));
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	enter(K_OPENAT);
	return real(dirfd, path, flags, mode);
}

int
linkat(int od, const char *op, int nd, const char *np, int flags)
{
	REAL(int, "linkat", (int, const char *, int, const char *, int));

	enter(K_LINKAT);
	return real(od, op, nd, np, flags);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	REAL(ssize_t, "write", (int, const void *, size_t));

	enter(K_WRITE);
	return real(fd, buf, len);
}

ssize_t
copy_file_range(int in, off_t *inoff, int out, off_t *outoff, size_t len,
    unsigned int flags)
{
	REAL(ssize_t, "copy_file_range",
	    (int, off_t *, int, off_t *, size_t, unsigned int));

	enter(K_COPY);
	return real(in, inoff, out, outoff, len, flags);
}

int
fchmod(int fd, mode_t mode)
{
	REAL(int, "fchmod", (int, mode_t));

	enter(K_FCHMOD);
	return real(fd, mode);
}

int
ftruncate(int fd, off_t len)
{
	REAL(int, "ftruncate", (int, off_t));

	enter(K_FTRUNCATE);
	return real(fd, len);
}

ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	REAL(ssize_t, "getrandom", (void *, size_t, unsigned int));

	enter(K_GETRANDOM);
	return real(buf, len, flags);
}

int
sync_file_range(int fd, off_t off, off_t len, unsigned int flags)
{
	REAL(int, "sync_file_range", (int, off_t, off_t, unsigned int));

	enter(K_SFR);
	return real(fd, off, len, flags);
}

int
syncfs(int fd)
{
	REAL(int, "syncfs", (int));

	enter(K_SYNCFS);
	return real(fd);
}

int
fsync(int fd)
{
	REAL(int, "fsync", (int));

	enter(K_FSYNC);
	return real(fd);
}

int
renameat2(int od, const char *op, int nd, const char *np, unsigned int flags)
{
	REAL(int, "renameat2",
	    (int, const char *, int, const char *, unsigned int));

	enter(K_RENAMEAT2);
	return real(od, op, nd, np, flags);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	REAL(int, "unlinkat", (int, const char *, int));

	enter(K_UNLINKAT);
	return real(dirfd, path, flags);
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	REAL(int, "mkdirat", (int, const char *, mode_t));

	enter(K_MKDIRAT);
	return real(dirfd, path, mode);
}

int
symlinkat(const char *target_path, int dirfd, const char *path)
{
	REAL(int, "symlinkat", (const char *, int, const char *));

	enter(K_SYMLINKAT);
	return real(target_path, dirfd, path);
}

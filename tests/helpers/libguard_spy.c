/*
 * libguard_spy.c - an LD_PRELOAD shim, loaded before libhotswap-guard.so,
 * that reports every call of a name the guard exports that comes from
 * the guard's own code (tests/e2e/guard_seam.bats).
 *
 *	HS_SPY_LOG=FILE LD_PRELOAD="libguard_spy.so libhotswap-guard.so" cmd
 *
 * A name the guard exports (close, write, fsync, ...) called by the
 * guard's own code binds, like any call by name, to the first definition
 * in the process: in a guarded program the guard's own interposer, which
 * the call then enters again.  Loaded first, this library holds that
 * first definition instead.  It passes every call on (dlsym RTLD_NEXT:
 * the guard's interposer, for a call of the program's), and when the
 * caller's return address is inside libhotswap-guard.so it appends
 * "NAME from-guard OFFSET PID" to FILE, OFFSET that of the call in the
 * guard's file (for addr2line).  Each process also appends "loaded
 * PID", so that a test knows that it looked.  FILE is written with raw
 * system calls, which no interposer sees.
 */
#include <sys/syscall.h>
#include <sys/types.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GUARD_NAME "libhotswap-guard.so"

static void
log_line(const char *what, const char *tail)
{
	const char *path = getenv("HS_SPY_LOG");
	char line[160];
	long fd;
	int n;

	if (path == NULL)
		return;
	n = snprintf(line, sizeof(line), "%s%s %ld\n", what, tail,
	    (long)syscall(SYS_getpid));
	fd = syscall(SYS_openat, AT_FDCWD, path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || n <= 0)
		return;
	(void)syscall(SYS_write, fd, line, (size_t)n);
	(void)syscall(SYS_close, fd);
}

__attribute__((constructor)) static void
spy_init(void)
{
	log_line("loaded", "");
}

/* Is the caller at return address ra in the guard? */
static void
seen(const char *name, const void *ra)
{
	Dl_info info;
	const char *base;
	char at[64];

	if (dladdr(ra, &info) == 0 || info.dli_fname == NULL)
		return;
	base = strrchr(info.dli_fname, '/');
	base = base != NULL ? base + 1 : info.dli_fname;
	if (strcmp(base, GUARD_NAME) != 0)
		return;
	/* The call instruction's offset in the file, for addr2line(1). */
	(void)snprintf(at, sizeof(at), " from-guard 0x%lx",
	    (unsigned long)((const char *)ra - (const char *)info.dli_fbase) -
		1);
	log_line(name, at);
}

#define NEXT(name)                            \
	static __typeof__(&name) next_##name; \
	if (next_##name == NULL)              \
	*(void **)&next_##name = dlsym(RTLD_NEXT, #name)

#define SPY(type, name, params, args)                     \
	type name params                                  \
	{                                                 \
		NEXT(name);                               \
		seen(#name, __builtin_return_address(0)); \
		return next_##name args;                  \
	}

SPY(int, close, (int fd), (fd))
SPY(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
SPY(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
SPY(ssize_t, pwrite64, (int fd, const void *b, size_t n, off_t o),
    (fd, b, n, o))
SPY(int, fsync, (int fd), (fd))
SPY(int, fdatasync, (int fd), (fd))
SPY(int, ftruncate, (int fd, off_t len), (fd, len))
SPY(int, ftruncate64, (int fd, off_t len), (fd, len))
SPY(ssize_t, copy_file_range,
    (int i, off_t *io, int o, off_t *oo, size_t n, unsigned int f),
    (i, io, o, oo, n, f))
SPY(int, dup, (int fd), (fd))
SPY(int, dup2, (int fd, int to), (fd, to))
SPY(int, dup3, (int fd, int to, int f), (fd, to, f))

/* The variadic ones: a mode, or fcntl's third argument. */
#define SPY_OPEN(name, params, args)                                           \
	int name params                                                        \
	{                                                                      \
		va_list ap;                                                    \
		mode_t mode;                                                   \
		NEXT(name);                                                    \
                                                                               \
		va_start(ap, flags);                                           \
		mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? \
		    (mode_t)va_arg(ap, int) :                                  \
		    0;                                                         \
		va_end(ap);                                                    \
		seen(#name, __builtin_return_address(0));                      \
		return next_##name args;                                       \
	}

#define SPY_FCNTL(name)                                   \
	int name(int fd, int cmd, ...)                    \
	{                                                 \
		va_list ap;                               \
		void *arg;                                \
		NEXT(name);                               \
                                                          \
		va_start(ap, cmd);                        \
		arg = va_arg(ap, void *);                 \
		va_end(ap);                               \
		seen(#name, __builtin_return_address(0)); \
		return next_##name(fd, cmd, arg);         \
	}

SPY_OPEN(open, (const char *path, int flags, ...), (path, flags, mode))
SPY_OPEN(open64, (const char *path, int flags, ...), (path, flags, mode))
SPY_OPEN(openat, (int dirfd, const char *path, int flags, ...),
    (dirfd, path, flags, mode))
SPY_OPEN(openat64, (int dirfd, const char *path, int flags, ...),
    (dirfd, path, flags, mode))
SPY_FCNTL(fcntl)
SPY_FCNTL(fcntl64)

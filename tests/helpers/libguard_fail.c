/*
 * libguard_fail.c - an LD_PRELOAD shim, loaded after libhotswap-guard.so,
 * that fails one call on the guard's temporaries (tests/e2e/guard_seam.bats).
 *
 *	HS_FAIL_CALL=fsync HS_FAIL_ERRNO=5 \
 *	LD_PRELOAD="libhotswap-guard.so libguard_fail.so" cmd
 *
 * Loaded after the guard, this library holds the next definitions of
 * fsync, pwrite and ftruncate after the guard's: what dlsym(RTLD_NEXT)
 * finds for the guard, and so what the seam inside the guard calls
 * (src/guard/next.c).  The call named by HS_FAIL_CALL fails with errno
 * HS_FAIL_ERRNO when its descriptor is one of the guard's temporaries
 * (".NAME.hsg-XXXXXXXXXX" in /proc/self/fd); every other call passes on.
 */
#include <sys/types.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Is this call to fail on fd? */
static int
failing(const char *name, int fd)
{
	const char *call = getenv("HS_FAIL_CALL"), *e = getenv("HS_FAIL_ERRNO");
	char proc[64], link[4096];
	ssize_t n;

	if (call == NULL || e == NULL || strcmp(call, name) != 0)
		return 0;
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, link, sizeof(link) - 1)) <= 0)
		return 0;
	link[n] = '\0';
	if (strstr(link, ".hsg-") == NULL)
		return 0;
	errno = atoi(e);
	return 1;
}

#define FAIL(type, name, params, args, fd)                         \
	type name params                                           \
	{                                                          \
		static __typeof__(&name) next;                     \
                                                                   \
		if (next == NULL)                                  \
			*(void **)&next = dlsym(RTLD_NEXT, #name); \
		if (failing(#name, (fd)))                          \
			return -1;                                 \
		return next args;                                  \
	}

FAIL(int, fsync, (int fd), (fd), fd)
FAIL(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o),
    fd)
FAIL(ssize_t, pwrite64, (int fd, const void *b, size_t n, off_t o),
    (fd, b, n, o), fd)
FAIL(int, ftruncate, (int fd, off_t len), (fd, len), fd)

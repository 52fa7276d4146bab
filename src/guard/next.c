/*
 * next.c - the seam's calls inside libhotswap-guard.so: the next
 * definitions of the calls the guard exports.
 *
 * sys.c, compiled for the guard with HS_SYS_NEXT (sys.h, Makefile),
 * names these functions where the library names close, write, fsync
 * and the rest, so that the library's work (fix.c, meta.c, the kernel
 * readers) reaches what dlsym(RTLD_NEXT) found for the guard (guard.c),
 * as the guard's own interposers do when they pass a call on, and never
 * enters those interposers again.  REAL() resolves on first use, so the
 * seam works before the guard's constructor has run.
 */
#include <sys/types.h>

#include "sys.h"
#include "guard.h"

int
hs_next_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return REAL(openat)(dirfd, path, flags, mode);
}

int
hs_next_close(int fd)
{
	return REAL(close)(fd);
}

ssize_t
hs_next_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return REAL(pwrite)(fd, buf, len, off);
}

ssize_t
hs_next_copy_file_range(int in, off_t *inoff, int out, off_t *outoff,
    size_t len, unsigned int flags)
{
	return REAL(copy_file_range)(in, inoff, out, outoff, len, flags);
}

int
hs_next_ftruncate(int fd, off_t len)
{
	return REAL(ftruncate)(fd, len);
}

int
hs_next_fsync(int fd)
{
	return REAL(fsync)(fd);
}

ssize_t
hs_next_write(int fd, const void *buf, size_t len)
{
	return REAL(write)(fd, buf, len);
}

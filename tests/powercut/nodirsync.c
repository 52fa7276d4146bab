/*
 * nodirsync.c - an LD_PRELOAD library for the inverted case of the
 * power-cut suite: fsync(2) of a directory becomes a no-op that reports
 * success, as if the program had never synced a directory; fsync of
 * anything else is the real one.  A replacement run with it must be
 * rejected by the suite: its rename is not durable.
 */
#include <sys/stat.h>
#include <dlfcn.h>
#include <stddef.h>

int fsync(int);

int
fsync(int fd)
{
	static int (*real)(int);
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

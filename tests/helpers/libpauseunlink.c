/*
 * libpauseunlink.c - an LD_PRELOAD shim that holds a process right after
 * it unlinked a given name, for tests/e2e/install_gnu.bats: GNU install
 * unlinks DEST before it creates the new file, and this makes that
 * window as long as the test likes, so that what a process starting in
 * it sees is decided by the test, not by a scheduler.
 *
 *	HS_PAUSE_NAME=libfoo.so.1.2.3 HS_PAUSE_DIR=DIR \
 *	    LD_PRELOAD=.../libpauseunlink.so make install
 *
 * After a successful unlink(2) or unlinkat(2) of a path whose last
 * component is HS_PAUSE_NAME, it writes "paused" to the FIFO DIR/paused
 * and waits for a line on the FIFO DIR/resume.  Raw system calls inside,
 * so that nothing here is intercepted again.
 */
#include <sys/syscall.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int unlink(const char *);
int unlinkat(int, const char *, int);

static void
pause_if(const char *path)
{
	const char *want = getenv("HS_PAUSE_NAME"), *dir, *base;
	char fifo[4096], c;
	long fd;

	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if (want == NULL || strcmp(base, want) != 0 ||
	    (dir = getenv("HS_PAUSE_DIR")) == NULL)
		return;
	(void)snprintf(fifo, sizeof(fifo), "%s/paused", dir);
	fd = syscall(SYS_openat, AT_FDCWD, fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_write, fd, "paused\n", 7) != 7)
		abort();
	(void)syscall(SYS_close, fd);
	(void)snprintf(fifo, sizeof(fifo), "%s/resume", dir);
	fd = syscall(SYS_openat, AT_FDCWD, fifo, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	while (syscall(SYS_read, fd, &c, 1) == 1 && c != '\n')
		;
	(void)syscall(SYS_close, fd);
}

int
unlink(const char *path)
{
	int r = (int)syscall(SYS_unlinkat, AT_FDCWD, path, 0);

	if (r == 0)
		pause_if(path);
	return r;
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	int r = (int)syscall(SYS_unlinkat, dirfd, path, flags);

	if (r == 0)
		pause_if(path);
	return r;
}

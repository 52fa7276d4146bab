/*
 * source.c - the file an install reads from, opened and checked.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

/*
 * Open the source; it must exist, be readable and not be a directory.
 * A symbolic link src is followed: the user named it, as install(1)
 * and cp(1) follow theirs.  (install -r never hands a name below its
 * tree here: see tree.c.)  *st is only read once fstat has filled it.
 */
int
hs_open_source(const char *src, struct stat *st, struct hs_result *res)
{
	int fd, serrno;

	fd = hs_openat(AT_FDCWD, src, O_RDONLY | O_NOCTTY, 0);
	if (fd == -1)
		return hs_fail(res, "cannot open", src);
	if (hs_sys.fstat(fd, st) == -1)
		serrno = errno;
	else if (S_ISDIR(st->st_mode))
		serrno = EISDIR;
	else
		return fd;
	(void)hs_close(fd);
	errno = serrno;
	return hs_fail(res, "cannot install", src);
}

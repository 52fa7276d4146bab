/*
 * util.c - allocation that cannot fail (a test tool stops on ENOMEM) and
 * removal of a directory tree.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powercut.h"

/* realloc p to n elements of size sz, or stop. */
void *
pc_xalloc(void *p, size_t n, size_t sz)
{
	void *q = reallocarray(p, n == 0 ? 1 : n, sz);

	if (q == NULL)
		err(2, "out of memory");
	return q;
}

char *
pc_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		err(2, "out of memory");
	return p;
}

/* Remove what the directory at/name holds, not name itself. */
static int
empty_dir(int at, const char *name)
{
	struct dirent *e;
	int fd, ret = 0, serrno;
	DIR *d;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		serrno = errno;
		if (fd != -1)
			(void)close(fd);
		errno = serrno;
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (pc_rm_tree(fd, e->d_name) == -1)
			ret = -1;
	}
	serrno = errno;
	(void)closedir(d);
	errno = serrno;
	return ret;
}

/*
 * rm -r at/name, never following a symlink; name "." empties at itself.
 */
int
pc_rm_tree(int at, const char *name)
{
	struct stat st;

	if (strcmp(name, ".") == 0)
		return empty_dir(at, name);
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0);
	if (empty_dir(at, name) == -1)
		return -1;
	return unlinkat(at, name, AT_REMOVEDIR);
}

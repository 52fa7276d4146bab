/*
 * numbered.c - GNU's numbered backups, NAME.~N~: the highest N that a
 * directory holds for a name.  install --backup=numbered (or existing,
 * the default) makes N + 1; rollback restores N.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "install.h"
#include "sys.h"

#define DENTS_SIZE 32768

/* N if entry is "name.~N~" (N a decimal without a leading 0), else 0. */
static unsigned long
version_of(const char *entry, const char *name, size_t len)
{
	const char *p = entry + len + 2, *end;
	unsigned long n;

	if (strncmp(entry, name, len) != 0 || entry[len] != '.' ||
	    entry[len + 1] != '~' || *p < '1' || *p > '9')
		return 0;
	for (end = p; *end >= '0' && *end <= '9'; end++)
		;
	if (end[0] != '~' || end[1] != '\0' || end - p > 9)
		return 0;
	n = strtoul(p, NULL, 10);
	return n;
}

/* The highest N of dirfd's "name.~N~" in *n (0: none); -1 on error. */
int
hs_backup_newest(int dirfd, const char *name, unsigned long *n)
{
	size_t len = strlen(name);
	struct hs_dirent64 *de;
	unsigned long v;
	ssize_t got, off;
	int fd, serrno;
	char *buf;

	*n = 0;
	if ((buf = malloc(DENTS_SIZE)) == NULL)
		return -1;
	if ((fd = hs_openat(dirfd, ".", O_RDONLY | O_DIRECTORY, 0)) == -1) {
		free(buf);
		return -1;
	}
	while ((got = hs_sys.getdents64(fd, buf, DENTS_SIZE)) > 0)
		for (off = 0; off < got; off += de->d_reclen) {
			de = (struct hs_dirent64 *)(void *)(buf + off);
			if ((v = version_of(de->d_name, name, len)) > *n)
				*n = v;
		}
	serrno = errno;
	(void)hs_close(fd);
	free(buf);
	errno = serrno;
	return got == -1 ? -1 : 0;
}

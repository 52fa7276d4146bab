/*
 * guard_dupwrite.c - overwrite a file through three descriptors of one
 * open, for the --fix tests of hotswap guard.
 *
 *	guard_dupwrite FILE SOURCE
 *
 * Opens FILE with O_WRONLY|O_TRUNC, makes two more descriptors of it
 * with dup(2) and fcntl(F_DUPFD_CLOEXEC), writes SOURCE's bytes in
 * three parts, one through each, and closes them one by one.  After
 * each close it prints whether FILE's inode is still the one it had
 * before ("same") or another ("new"): under --fix the replacement must
 * happen at the last close and not before, so the output is
 * "close1 same", "close2 same", "close3 new".  Exit 0, or 1 on an error.
 */
#include <sys/stat.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char buf[1 << 20];

static const char *
state(const char *path, ino_t ino)
{
	struct stat st;

	if (stat(path, &st) == -1)
		err(1, "stat '%s'", path);
	return st.st_ino == ino ? "same" : "new";
}

int
main(int argc, char *argv[])
{
	struct stat st;
	ssize_t n, part;
	int src, fd[3], i;

	if (argc != 3) {
		fprintf(stderr, "usage: guard_dupwrite FILE SOURCE\n");
		return 2;
	}
	if (stat(argv[1], &st) == -1)
		err(1, "stat '%s'", argv[1]);
	if ((src = open(argv[2], O_RDONLY)) == -1 ||
	    (n = read(src, buf, sizeof(buf))) == -1)
		err(1, "read '%s'", argv[2]);
	if ((fd[0] = open(argv[1], O_WRONLY | O_TRUNC)) == -1)
		err(1, "open '%s'", argv[1]);
	if ((fd[1] = dup(fd[0])) == -1 ||
	    (fd[2] = fcntl(fd[0], F_DUPFD_CLOEXEC, 10)) == -1)
		err(1, "dup");
	part = n / 3;
	for (i = 0; i < 3; i++) {
		ssize_t len = i < 2 ? part : n - 2 * part;

		if (write(fd[i], buf + i * part, (size_t)len) != len)
			err(1, "write");
	}
	for (i = 0; i < 3; i++) {
		if (close(fd[i]) == -1)
			err(1, "close");
		printf("close%d %s\n", i + 1, state(argv[1], st.st_ino));
	}
	return 0;
}

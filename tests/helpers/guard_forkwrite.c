/*
 * guard_forkwrite.c - open a file for overwriting, fork, and let the
 * child write it after the parent has closed its own descriptor, for
 * the --fix tests of hotswap guard.
 *
 *	guard_forkwrite FILE SOURCE
 *
 * The parent opens FILE with O_WRONLY|O_TRUNC and forks.  It closes its
 * descriptor, prints "parent-closed same|new" (FILE's inode against the
 * one before: under --fix the child still holds the file, so "same"),
 * then tells the child through a pipe to go on.  The child writes
 * SOURCE's bytes and exits with exit(3), which closes its descriptor:
 * the last one.  The parent waits and prints "child-exited same|new".
 * No sleeps: the pipe orders the steps.
 */
#include <sys/stat.h>
#include <sys/wait.h>
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
	int src, fd, go[2], status;
	ssize_t n;
	char c;
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: guard_forkwrite FILE SOURCE\n");
		return 2;
	}
	if (stat(argv[1], &st) == -1)
		err(1, "stat '%s'", argv[1]);
	if ((src = open(argv[2], O_RDONLY)) == -1 ||
	    (n = read(src, buf, sizeof(buf))) == -1)
		err(1, "read '%s'", argv[2]);
	if ((fd = open(argv[1], O_WRONLY | O_TRUNC)) == -1)
		err(1, "open '%s'", argv[1]);
	if (pipe(go) == -1)
		err(1, "pipe");
	fflush(stdout);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		(void)close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		if (write(fd, buf, (size_t)n) != n)
			err(1, "write");
		exit(0);
	}
	(void)close(go[0]);
	if (close(fd) == -1)
		err(1, "close");
	printf("parent-closed %s\n", state(argv[1], st.st_ino));
	fflush(stdout);
	if (write(go[1], "g", 1) != 1)
		err(1, "write to the child");
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(1, "the child failed");
	printf("child-exited %s\n", state(argv[1], st.st_ino));
	return 0;
}

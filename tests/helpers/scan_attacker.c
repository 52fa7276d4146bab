/*
 * scan_attacker.c - an unprivileged process that makes its mappings hard
 * for hotswap stale and who to report (tests/e2e/attack_scan.bats).
 *
 *	scan_attacker many COUNT FILES LENGTH
 *	scan_attacker name PATH COMM
 *	scan_attacker keep PATH COMM
 *
 * many: creates FILES files (1 or 2) under the current directory whose
 * absolute names are about LENGTH bytes long (nested directories of 200
 * bytes each), maps the first page of them COUNT times in all, in turn
 * (A B A B ... with 2), read-only and private, each mapping its own VMA
 * (the kernel does not merge mappings of the same offset), then unlinks
 * the files: COUNT stale mappings of deleted files with long names.
 *
 * name: creates PATH, maps it, unlinks it and sets its own command name
 * to COMM (prctl(PR_SET_NAME), at most 15 bytes): both may hold control
 * characters.  keep: the same, but PATH stays (for who).
 *
 * Then it writes "ready N" (N: the mappings made) on stdout and waits in
 * pause(2) until killed.  Exit status 1 if a step fails, 2 on usage.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIRLEN 200

static int
make_file(const char *path)
{
	char page[4096];
	int fd;

	memset(page, 'x', sizeof(page));
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) ==
		-1 ||
	    write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
		perror(path);
		return -1;
	}
	return fd;
}

/* Nested directories under cwd until the absolute name is about len. */
static int
long_dir(size_t len, char *out, size_t outlen)
{
	char comp[DIRLEN + 1];

	if (getcwd(out, outlen) == NULL)
		return -1;
	memset(comp, 'd', DIRLEN);
	comp[DIRLEN] = '\0';
	while (strlen(out) + DIRLEN + 1 + 16 < len &&
	    strlen(out) + DIRLEN + 2 < outlen) {
		(void)strcat(out, "/");
		(void)strcat(out, comp);
		if (mkdir(out, 0755) == -1 && errno != EEXIST) {
			perror(out);
			return -1;
		}
	}
	return 0;
}

static int
many(long count, long files, size_t len)
{
	char dir[PATH_MAX], path[2][PATH_MAX];
	int fd[2];
	long i;

	if (long_dir(len, dir, sizeof(dir) - 16) == -1)
		return -1;
	for (i = 0; i < files; i++) {
		(void)snprintf(path[i], sizeof(path[i]), "%s/lib%ld.so", dir,
		    i);
		if ((fd[i] = make_file(path[i])) == -1)
			return -1;
	}
	for (i = 0; i < count; i++)
		if (mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd[i % files],
			0) == MAP_FAILED) {
			fprintf(stderr, "mmap number %ld: %s\n", i,
			    strerror(errno));
			return -1;
		}
	for (i = 0; i < files; i++)
		if (close(fd[i]) == -1 || unlink(path[i]) == -1)
			return -1;
	return 0;
}

static int
name(const char *path, const char *comm, int keep)
{
	int fd;

	if ((fd = make_file(path)) == -1 ||
	    mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ||
	    close(fd) == -1 || (!keep && unlink(path) == -1) ||
	    prctl(PR_SET_NAME, comm, 0, 0, 0) == -1) {
		perror("scan_attacker");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	long count = 1, files;

	if (argc == 5 && strcmp(argv[1], "many") == 0) {
		count = strtol(argv[2], NULL, 10);
		files = strtol(argv[3], NULL, 10);
		if (count < 1 || files < 1 || files > 2)
			return 2;
		if (many(count, files, strtoul(argv[4], NULL, 10)) == -1)
			return 1;
	} else if (argc == 4 &&
	    (strcmp(argv[1], "name") == 0 || strcmp(argv[1], "keep") == 0)) {
		if (name(argv[2], argv[3], argv[1][0] == 'k') == -1)
			return 1;
	} else {
		fprintf(stderr,
		    "usage: scan_attacker many COUNT FILES LENGTH"
		    " | name|keep PATH COMM\n");
		return 2;
	}
	printf("ready %ld\n", count);
	if (fflush(stdout) == EOF)
		return 1;
	for (;;)
		pause();
}

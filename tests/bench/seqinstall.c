/*
 * seqinstall.c - the durable way to install many files one at a time, as
 * a benchmark's baseline for hotswap install -r (tests/bench/bench_txn.sh).
 *
 *	seqinstall SRCDIR DESTDIR
 *
 * For every regular file under SRCDIR, in the order nftw(3) finds it:
 * a temporary in the destination's directory (mkstemp), the data
 * (copy_file_range), the source's permission bits, fsync(2), rename(2)
 * over the destination, fsync of the directory.  That is the order of
 * STYLE.md rule 3, paid once per file: what a script looping over
 * "install one file safely" costs, without the fork and exec.  Missing
 * directories are made (not fsynced: the baseline is generous).
 * Symbolic links and other types are skipped.
 *
 * Exit status: 0, or 1 after the first failure (reported).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/stat.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t srclen;
static const char *destdir;

/* fsync, retried on EINTR. */
static int
fsync_fd(int fd)
{
	int r;

	do
		r = fsync(fd);
	while (r == -1 && errno == EINTR);
	return r;
}

/* All of in into out; copy_file_range, the kernel's own copy. */
static int
copy_all(int in, int out, off_t size)
{
	ssize_t n;

	while (size > 0) {
		n = copy_file_range(in, NULL, out, NULL, (size_t)size, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		size -= n;
	}
	return 0;
}

/* Durably put the file src (st) at dst: temp, data, fsync, rename. */
static int
install_file(const char *src, const struct stat *st, const char *dst)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int in = -1, out = -1, dfd = -1, ret = -1, serrno;

	(void)snprintf(dir, sizeof(dir), "%s", dst);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.seq-XXXXXX", dir, slash + 1) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (out = mkostemp(tmp, O_CLOEXEC)) == -1)
		goto out;
	if (copy_all(in, out, st->st_size) == -1 ||
	    fchmod(out, st->st_mode & 07777) == -1 || fsync_fd(out) == -1 ||
	    rename(tmp, dst) == -1) {
		serrno = errno;
		(void)unlink(tmp);
		errno = serrno;
		goto out;
	}
	/* fsync the directory too, or the rename may not survive. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync_fd(dfd) == -1)
		goto out;
	ret = 0;
out:
	serrno = errno;
	if (in != -1)
		(void)close(in);
	if (out != -1)
		(void)close(out);
	if (dfd != -1)
		(void)close(dfd);
	errno = serrno;
	return ret;
}

static int
visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char dst[PATH_MAX];

	(void)ftw;
	if (snprintf(dst, sizeof(dst), "%s%s", destdir, path + srclen) >=
	    (int)sizeof(dst)) {
		warnx("'%s': name too long", path);
		return 1;
	}
	if (type == FTW_D) {
		if (mkdir(dst, st->st_mode & 07777) == -1 && errno != EEXIST) {
			warn("cannot create directory '%s'", dst);
			return 1;
		}
		return 0;
	}
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (install_file(path, st, dst) == -1) {
		warn("cannot install '%s'", dst);
		return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: seqinstall srcdir destdir\n");
		return 2;
	}
	srclen = strlen(argv[1]);
	while (srclen > 1 && argv[1][srclen - 1] == '/')
		srclen--;
	destdir = argv[2];
	return nftw(argv[1], visit, 64, FTW_PHYS) == 0 ? 0 : 1;
}

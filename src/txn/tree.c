/*
 * tree.c - stage a whole directory tree into a transaction (install -r).
 *
 * The source tree may belong to someone else (a build directory), and
 * its owner may change it while root walks it.  So the walk never goes
 * by path below SRCDIR: each directory is read through a descriptor
 * opened with O_NOFOLLOW in its parent's, and each entry is looked at
 * (fstatat) and then opened (O_NOFOLLOW) in that directory; what is
 * opened must be the inode that was looked at, or the walk stops with an
 * error naming the path.  A symbolic link swapped in for a file or a
 * directory after the look is thereby never followed, and a directory
 * swapped for a link is never entered.  SRCDIR itself was named by the
 * user and is followed, as cp -r does.
 *
 * A file is staged from the descriptor the walk holds (hs_txn_add_at),
 * into its destination directory, opened and named in the journal once
 * per directory, not once per file.  An entry that getdents(2) says is a
 * regular file is opened at once (O_NOFOLLOW|O_NONBLOCK) and must be one
 * by fstat: the look and the check are one.  A destination that is a
 * symbolic link, and a dry run, take the path way: hs_txn_add() of
 * /proc/self/fd/N, the magic link to the descriptor the walk holds, which
 * reaches that inode and nothing else, whatever happens to the names.
 *
 * The destination side: a symbolic link in DESTDIR where the source has
 * a file or a directory is followed only within DESTDIR (dest_beneath).
 */
#include <sys/stat.h>
#include <bsd/string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "install.h"
#include "txn.h"
#include "sys.h"

#define DENTS_SIZE 8192

struct walk {
	struct hs_txn *t;
	const char *dstdir;
	void (*each)(void *, const char *, const char *,
	    const struct hs_result *);
	void *arg;
	struct hs_result *res;
	int dstfd;		  /* DESTDIR, once needed */
	struct hs_txn_dest *dest; /* the current directory's, once needed */
	char src[PATH_MAX];	  /* the entry's path, */
	char dst[PATH_MAX];	  /* and its destination */
	char proc[64];		  /* /proc/self/fd/N */
};

/*
 * The entries of directory fd, in readdir order, as one malloc'd list:
 * each its d_type byte, then its name and a NUL.
 */
static char *
read_names(int fd, size_t *lenp)
{
	struct hs_dirent64 *de;
	char *buf, *names = NULL, *grown;
	size_t len = 0, n;
	ssize_t got, off;

	if ((buf = malloc(DENTS_SIZE)) == NULL)
		return NULL;
	while ((got = hs_sys.getdents64(fd, buf, DENTS_SIZE)) > 0) {
		for (off = 0; off < got; off += de->d_reclen) {
			de = (struct hs_dirent64 *)(void *)(buf + off);
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			n = strlen(de->d_name) + 1;
			if ((grown = realloc(names, len + n + 2)) == NULL)
				goto fail;
			names = grown;
			names[len++] = (char)de->d_type;
			memcpy(names + len, de->d_name, n);
			len += n;
		}
	}
	if (got == -1)
		goto fail;
	free(buf);
	*lenp = len;
	return names != NULL ? names : strdup("");
fail:
	n = (size_t)errno;
	free(buf);
	free(names);
	errno = (int)n;
	return NULL;
}

/* Append /name to both paths; the old lengths stay in *sl and *dl. */
static int
push(struct walk *w, const char *name, size_t *sl, size_t *dl)
{
	*sl = strlen(w->src);
	*dl = strlen(w->dst);
	if (snprintf(w->src + *sl, sizeof(w->src) - *sl, "/%s", name) >=
		(int)(sizeof(w->src) - *sl) ||
	    snprintf(w->dst + *dl, sizeof(w->dst) - *dl, "/%s", name) >=
		(int)(sizeof(w->dst) - *dl)) {
		w->src[*sl] = '\0';
		w->dst[*dl] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Open name in dirfd without following a link, and check that it is the
 * inode st describes: the walk's look at it.
 */
static int
open_seen(int dirfd, const char *name, int flags, const struct stat *st)
{
	struct stat now;
	int fd, serrno;

	fd = hs_openat(dirfd, name,
	    flags | O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (hs_sys.fstat(fd, &now) == -1 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino ||
	    (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
		serrno = errno;
		(void)hs_close(fd);
		errno = now.st_ino != st->st_ino ? EAGAIN : serrno;
		return -1;
	}
	return fd;
}

/*
 * The destination of an entry that is not a link may be a link only if
 * it resolves beneath DESTDIR (openat2 RESOLVE_BENEATH: no "..", no
 * absolute target, out of the tree): such a link is followed as cp -r
 * follows it, but one to elsewhere would take the source's content, as
 * root, to wherever the link points, and the source tree's owner can
 * have made it (a link in the source is copied as a link).
 */
static int
dest_beneath(struct walk *w)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH };
	const char *rel = w->dst + strlen(w->dstdir);
	struct stat st;
	int fd;

	if (hs_sys.fstatat(AT_FDCWD, w->dst, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 :
					 hs_fail(w->res, "cannot stat", w->dst);
	if (!S_ISLNK(st.st_mode))
		return 0;
	if (w->dstfd == -1 &&
	    (w->dstfd = hs_openat(AT_FDCWD, w->dstdir, O_RDONLY | O_DIRECTORY,
		 0)) == -1)
		return hs_fail(w->res, "cannot open directory", w->dstdir);
	while (*rel == '/')
		rel++;
	fd = hs_sys.openat2(w->dstfd, rel, &how, sizeof(how));
	if (fd != -1)
		(void)hs_close(fd);
	else if (errno == EXDEV || errno == ELOOP)
		return hs_fail(w->res,
		    "refusing to follow a symbolic link "
		    "out of the destination tree:",
		    w->dst);
	else if (errno != ENOENT)
		return hs_fail(w->res, "cannot follow symbolic link", w->dst);
	return 0;
}

/* The path way: hs_txn_add() of /proc/self/fd/N. */
static int
stage_by_path(struct walk *w, int fd)
{
	int r;

	if (dest_beneath(w) == -1)
		return -1;
	(void)snprintf(w->proc, sizeof(w->proc), "/proc/self/fd/%d", fd);
	r = hs_txn_add(w->t, w->proc, w->dst, NULL, w->res);
	if (r == -1 && w->res->path != NULL &&
	    strcmp(w->res->path, w->proc) == 0)
		w->res->path = w->src;
	return r;
}

/* The current destination directory: w->dst up to its last slash. */
static int
dest_dir(struct walk *w)
{
	char *slash;
	int r;

	if (w->dest->dirfd != -1)
		return 0;
	slash = strrchr(w->dst, '/');
	*slash = '\0';
	r = hs_txn_dest_open(w->t, w->dst, w->dest, w->res);
	*slash = '/';
	return r;
}

/* A regular file, open as fd (st its fstat): staged from fd. */
static int
stage_fd(struct walk *w, int fd, const char *name, const struct stat *st)
{
	int r;

	if (dest_dir(w) == -1)
		return -1;
	r = hs_txn_add_at(w->t, fd, st, w->src, w->dest, name, w->dst, w->res);
	return r == 1 ? stage_by_path(w, fd) : r;
}

/* A regular file: staged from the descriptor the walk opened. */
static int
stage_file(struct walk *w, int dirfd, const char *name, const struct stat *st)
{
	int fd, r;

	if ((fd = open_seen(dirfd, name, 0, st)) == -1)
		return hs_fail(w->res,
		    "source changed while being read:", w->src);
	r = stage_fd(w, fd, name, st);
	(void)hs_close(fd);
	return r;
}

/*
 * getdents says name is a regular file: open it without a look first,
 * and it must be one (a FIFO swapped in is not waited for: O_NONBLOCK).
 */
static int
stage_reg(struct walk *w, int dirfd, const char *name)
{
	struct stat st;
	int fd, r = -1;

	fd = hs_openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
	if (fd == -1)
		return hs_fail(w->res,
		    errno == ELOOP ? "source changed while being read:" :
				     "cannot read",
		    w->src);
	if (hs_sys.fstat(fd, &st) == -1)
		hs_fail(w->res, "cannot read", w->src);
	else if (!S_ISREG(st.st_mode)) {
		errno = EAGAIN;
		hs_fail(w->res, "source changed while being read:", w->src);
	} else
		r = stage_fd(w, fd, name, &st);
	(void)hs_close(fd);
	return r;
}

static int
stage_link(struct walk *w, int dirfd, const char *name)
{
	char link[PATH_MAX];
	ssize_t n;

	n = hs_sys.readlinkat(dirfd, name, link, sizeof(link) - 1);
	if (n == -1)
		return hs_fail(w->res, "cannot read symbolic link", w->src);
	link[n] = '\0';
	return hs_txn_add_symlink(w->t, link, w->dst, w->res);
}

static int walk_dir(struct walk *, int);

/* A directory: made in the destination, then entered by descriptor. */
static int
stage_dir(struct walk *w, int dirfd, const char *name, const struct stat *st)
{
	struct hs_txn_dest dest = { .dirfd = -1 }, *up = w->dest;
	int fd, r;

	if (dest_beneath(w) == -1 ||
	    hs_txn_mkdir(w->t, w->dst, st->st_mode & 07777, w->res) == -1)
		return -1;
	if ((fd = open_seen(dirfd, name, O_DIRECTORY, st)) == -1)
		return hs_fail(w->res,
		    "source changed while being read:", w->src);
	hs_txn_dest_drain(up); /* the files before it are staged */
	w->dest = &dest;
	r = walk_dir(w, fd);
	w->dest = up;
	hs_txn_dest_close(&dest);
	(void)hs_close(fd);
	return r;
}

/* Stage the entry name of dirfd, whose paths are w->src and w->dst. */
static int
stage_one(struct walk *w, int dirfd, const char *name, int type)
{
	struct stat st;
	int r;

	if (type == DT_REG) {
		r = stage_reg(w, dirfd, name);
		if (r == 0 && w->each != NULL)
			w->each(w->arg, w->src, w->dst, w->res);
		return r;
	}
	if (hs_sys.fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return hs_fail(w->res, "cannot read", w->src);
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: return stage_dir(w, dirfd, name, &st);
	case S_IFREG:
	case S_IFLNK:
		r = S_ISREG(st.st_mode) ? stage_file(w, dirfd, name, &st) :
					  stage_link(w, dirfd, name);
		if (r == 0 && w->each != NULL)
			w->each(w->arg, w->src, w->dst, w->res);
		return r;
	default:
		errno = EINVAL;
		return hs_fail(w->res,
		    "not a file, directory or link:", w->src);
	}
}

/*
 * How many entries from name on (each its type byte, then its name)
 * getdents calls regular files, one after another, before end.
 */
static unsigned int
run_of_files(const char *name, const char *end)
{
	unsigned int n = 0;

	while (name < end && (unsigned char)*name == DT_REG && n < UINT_MAX) {
		n++;
		name += strlen(name + 1) + 2;
	}
	return n;
}

/*
 * Every entry of the directory fd, whose path is w->src.  Before each
 * regular file, w->dest->ahead says how many regular files come in a
 * row from it on, itself included.
 */
static int
walk_dir(struct walk *w, int fd)
{
	size_t len, sl, dl;
	char *names, *name;
	unsigned int run = 0;
	int ret = 0, type;

	if ((names = read_names(fd, &len)) == NULL)
		return hs_fail(w->res, "cannot read", w->src);
	for (name = names; ret == 0 && name < names + len;
	     name += strlen(name) + 1) {
		if (run == 0)
			run = run_of_files(name, names + len);
		w->dest->ahead = run;
		run -= run > 0;
		type = (unsigned char)*name++;
		if (push(w, name, &sl, &dl) == -1) {
			ret = hs_fail(w->res, "cannot install", w->src);
			break;
		}
		ret = stage_one(w, fd, name, type);
		/* On failure the paths stay: res->path may point at them. */
		if (ret == 0) {
			w->src[sl] = '\0';
			w->dst[dl] = '\0';
		}
	}
	len = (size_t)errno;
	free(names);
	errno = (int)len;
	return ret;
}

/*
 * res->path may point into the walk, gone once it returns: keep a copy
 * in res->target.
 */
static void
keep_path(struct hs_result *res)
{
	char copy[PATH_MAX];

	if (res->path != NULL && res->path != res->target) {
		(void)strlcpy(copy, res->path, sizeof(copy));
		(void)strlcpy(res->target, copy, sizeof(res->target));
		res->path = res->target;
	}
}

int
hs_txn_add_tree(struct hs_txn *t, const char *srcdir, const char *dstdir,
    void (*each)(void *, const char *, const char *, const struct hs_result *),
    void *arg, struct hs_result *res)
{
	struct hs_txn_dest top = { .dirfd = -1 };
	struct walk *w;
	size_t len = strlen(srcdir);
	int fd, ret = -1, serrno;

	memset(res, 0, sizeof(*res));
	while (len > 1 && srcdir[len - 1] == '/')
		len--;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return hs_fail(res, "cannot read", srcdir);
	w->t = t;
	w->dstdir = dstdir;
	w->each = each;
	w->arg = arg;
	w->res = res;
	w->dstfd = -1;
	w->dest = &top;
	if (len >= sizeof(w->src) ||
	    strlcpy(w->dst, dstdir, sizeof(w->dst)) >= sizeof(w->dst)) {
		errno = ENAMETOOLONG;
		hs_fail(res, "cannot install tree", srcdir);
		goto out;
	}
	memcpy(w->src, srcdir, len);
	fd = hs_openat(AT_FDCWD, srcdir, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -1) {
		hs_fail(res, "cannot install tree", srcdir);
		goto out;
	}
	ret = walk_dir(w, fd);
	(void)hs_close(fd);
	if (ret == -1)
		keep_path(res);
out:
	serrno = errno;
	hs_txn_dest_close(&top);
	if (w->dstfd != -1)
		(void)hs_close(w->dstfd);
	free(w);
	errno = serrno;
	return ret;
}

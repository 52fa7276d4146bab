/*
 * seed.c - read the seed directory into the model: every inode in it is
 * durable when the command starts.  Regular files, directories and
 * symlinks only; hard links are kept as one inode with several names.
 * The seed is the test's own directory, but it is read with the care of
 * hostile input all the same: nothing is followed, sizes are checked.
 */
#include <sys/stat.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powercut.h"

#define SEED_MAX   (64 << 20) /* bytes of file data in all */
#define XATTR_LIST 65536

struct seen {
	dev_t dev;
	ino_t ino;
	uint32_t id;
};

struct reader {
	struct pc_model *m;
	struct seen *seen;
	size_t nseen;
	size_t bytes;
};

static int
read_data(struct reader *r, int fd, struct pc_inode *in, off_t size)
{
	ssize_t n;
	size_t got = 0;

	if (size < 0 || (size_t)size > SEED_MAX - r->bytes) {
		errno = EFBIG;
		return -1;
	}
	in->data = pc_xalloc(NULL, (size_t)size, 1);
	in->cap = (size_t)size;
	while (got < (size_t)size) {
		n = pread(fd, in->data + got, (size_t)size - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* shrank under us */
			return -1;
		}
		got += (size_t)n;
	}
	in->size = got;
	r->bytes += got;
	return 0;
}

static int
read_xattrs(int fd, struct pc_inode *in)
{
	char *names, *p;
	ssize_t n, vn;
	unsigned char *v;
	int ret = -1;

	names = pc_xalloc(NULL, XATTR_LIST, 1);
	if ((n = flistxattr(fd, names, XATTR_LIST)) == -1) {
		ret = errno == ENOTSUP ? 0 : -1;
		goto out;
	}
	for (p = names; p < names + n; p += strlen(p) + 1) {
		if ((vn = fgetxattr(fd, p, NULL, 0)) == -1)
			goto out;
		v = pc_xalloc(NULL, (size_t)vn, 1);
		if ((vn = fgetxattr(fd, p, v, (size_t)vn)) == -1) {
			free(v);
			goto out;
		}
		in->xattrs = pc_xalloc(in->xattrs, in->nxattrs + 1,
		    sizeof(*in->xattrs));
		in->xattrs[in->nxattrs].name = pc_xstrdup(p);
		in->xattrs[in->nxattrs].value = v;
		in->xattrs[in->nxattrs++].len = (size_t)vn;
	}
	ret = 0;
out:
	free(names);
	return ret;
}

static int read_dir(struct reader *, int, uint32_t);

/* The inode of one entry, read in full (a directory recursively). */
static int
read_inode(struct reader *r, int dirfd, const char *name, const struct stat *st,
    uint32_t id)
{
	struct pc_inode *in = &r->m->inodes[id];
	char target[PATH_MAX];
	ssize_t n;
	int fd, ret;

	if (S_ISLNK(st->st_mode)) {
		n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n == -1)
			return -1;
		target[n] = '\0';
		in->target = pc_xstrdup(target);
		return 0;
	}
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		errno = EOPNOTSUPP; /* no devices, FIFOs, sockets */
		return -1;
	}
	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		(S_ISDIR(st->st_mode) ? O_DIRECTORY : 0));
	if (fd == -1)
		return -1;
	ret = read_xattrs(fd, &r->m->inodes[id]);
	if (ret == 0 && S_ISREG(st->st_mode))
		ret = read_data(r, fd, &r->m->inodes[id], st->st_size);
	else if (ret == 0)
		return read_dir(r, fd, id); /* closes fd */
	(void)close(fd);
	return ret;
}

/* The model id of a non-directory already read under another name. */
static uint32_t
seen_id(const struct reader *r, const struct stat *st)
{
	size_t i;

	for (i = 0; i < r->nseen; i++)
		if (r->seen[i].dev == st->st_dev &&
		    r->seen[i].ino == st->st_ino)
			return r->seen[i].id;
	return PC_NONE;
}

static int
read_entry(struct reader *r, int dirfd, uint32_t dir, const char *name)
{
	struct pc_inode *d;
	struct stat st;
	uint32_t id;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	id = S_ISDIR(st.st_mode) ? PC_NONE : seen_id(r, &st);
	if (id == PC_NONE) {
		id = pc_model_add(r->m, st.st_mode, st.st_uid, st.st_gid, NULL);
		r->seen = pc_xalloc(r->seen, r->nseen + 1, sizeof(*r->seen));
		r->seen[r->nseen++] = (struct seen){ st.st_dev, st.st_ino, id };
		if (read_inode(r, dirfd, name, &st, id) == -1)
			return -1;
	}
	d = &r->m->inodes[dir];
	d->ents = pc_xalloc(d->ents, d->nents + 1, sizeof(*d->ents));
	d->ents[d->nents].name = pc_xstrdup(name);
	d->ents[d->nents++].ino = id;
	return 0;
}

/* Read the directory open on fd (which this closes) into inode dir. */
static int
read_dir(struct reader *r, int fd, uint32_t dir)
{
	struct dirent *e;
	int ret = 0, serrno;
	DIR *d;

	if ((d = fdopendir(fd)) == NULL) {
		serrno = errno;
		(void)close(fd);
		errno = serrno;
		return -1;
	}
	while (ret == 0 && (errno = 0, e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			ret = read_entry(r, dirfd(d), dir, e->d_name);
	if (ret == 0 && errno != 0)
		ret = -1;
	serrno = errno;
	(void)closedir(d);
	errno = serrno;
	return ret;
}

/* The model of the tree at path; its root is inode PC_ROOT. */
int
pc_model_read(struct pc_model *m, const char *path)
{
	struct reader r = { .m = m };
	struct stat st;
	int fd, ret;

	m->inodes = NULL;
	m->n = 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		(void)close(fd);
		return -1;
	}
	(void)pc_model_add(m, st.st_mode, st.st_uid, st.st_gid, NULL);
	ret = read_xattrs(fd, &m->inodes[PC_ROOT]);
	if (ret == 0)
		ret = read_dir(&r, fd, PC_ROOT);
	else
		(void)close(fd);
	free(r.seen);
	return ret;
}

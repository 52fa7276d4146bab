/*
 * materialise.c - write a model state out into an empty directory: what
 * the checker sees, and the backing directory the command starts on.
 * Only what entries reach from the root is written; an inode reached by
 * a second name becomes a hard link; a directory is written once (a
 * state replayed from a subset of the operations may reach one twice).
 * Owner before mode, because chown(2) clears the set-ID bits.
 */
#include <sys/stat.h>
#include <sys/xattr.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powercut.h"

struct writer {
	const struct pc_model *m;
	int rootfd;
	char **first; /* path of each id written */
	ino_t *bino;
};

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Owner, xattrs and mode of the inode open on fd. */
static int
set_meta(int fd, const struct pc_inode *in)
{
	size_t k;

	if (fchown(fd, in->uid, in->gid) == -1)
		return -1;
	for (k = 0; k < in->nxattrs; k++)
		if (fsetxattr(fd, in->xattrs[k].name, in->xattrs[k].value,
			in->xattrs[k].len, 0) == -1)
			return -1;
	return fchmod(fd, in->mode & 07777);
}

static int write_dir(struct writer *, int, uint32_t, const char *);

static int
write_file(int dirfd, const char *name, const struct pc_inode *in)
{
	int fd, ret, serrno;

	fd = openat(dirfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	ret = write_all(fd, in->data, in->size);
	if (ret == 0)
		ret = set_meta(fd, in);
	serrno = errno;
	(void)close(fd);
	errno = serrno;
	return ret;
}

static int
write_subdir(struct writer *w, int dirfd, const char *name, uint32_t id,
    const char *path)
{
	int fd, ret, serrno;

	if (mkdirat(dirfd, name, 0700) == -1)
		return -1;
	fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	ret = write_dir(w, fd, id, path);
	if (ret == 0)
		ret = set_meta(fd, &w->m->inodes[id]);
	serrno = errno;
	(void)close(fd);
	errno = serrno;
	return ret;
}

/* One entry: name in dirfd, path from the root, naming inode id. */
static int
write_entry(struct writer *w, int dirfd, const char *name, uint32_t id,
    const char *path)
{
	const struct pc_inode *in = &w->m->inodes[id];
	struct stat st;
	int r;

	if (w->first[id] != NULL) {
		if (S_ISDIR(in->mode))
			return 0; /* reached twice: written once */
		return linkat(w->rootfd, w->first[id], dirfd, name, 0);
	}
	w->first[id] = pc_xstrdup(path);
	if (S_ISREG(in->mode))
		r = write_file(dirfd, name, in);
	else if (S_ISDIR(in->mode))
		r = write_subdir(w, dirfd, name, id, path);
	else if (S_ISLNK(in->mode))
		r = symlinkat(in->target, dirfd, name) == -1 ?
		    -1 :
		    fchownat(dirfd, name, in->uid, in->gid,
			AT_SYMLINK_NOFOLLOW);
	else {
		errno = EOPNOTSUPP;
		r = -1;
	}
	if (r == 0 && w->bino != NULL) {
		r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
		w->bino[id] = st.st_ino;
	}
	return r;
}

static int
write_dir(struct writer *w, int dirfd, uint32_t id, const char *path)
{
	const struct pc_inode *d = &w->m->inodes[id];
	char sub[PATH_MAX];
	size_t i;

	for (i = 0; i < d->nents; i++) {
		if (snprintf(sub, sizeof(sub), "%s/%s", path,
			d->ents[i].name) >= (int)sizeof(sub)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (write_entry(w, dirfd, d->ents[i].name, d->ents[i].ino,
			sub) == -1)
			return -1;
	}
	return 0;
}

/*
 * Write the state m into the empty directory rootfd, root attributes
 * included.  If bino is not NULL, it gets the inode number of each id
 * written (the backing directory's map).
 */
int
pc_model_write(const struct pc_model *m, int rootfd, ino_t *bino)
{
	struct writer w = { m, rootfd, NULL, bino };
	struct stat st;
	int ret, serrno;
	size_t i;

	w.first = pc_xalloc(NULL, m->n, sizeof(*w.first));
	memset(w.first, 0, m->n * sizeof(*w.first));
	w.first[PC_ROOT] = pc_xstrdup(".");
	ret = write_dir(&w, rootfd, PC_ROOT, ".");
	if (ret == 0)
		ret = set_meta(rootfd, &m->inodes[PC_ROOT]);
	if (ret == 0 && bino != NULL) {
		ret = fstat(rootfd, &st);
		bino[PC_ROOT] = st.st_ino;
	}
	serrno = errno;
	for (i = 0; i < m->n; i++)
		free(w.first[i]);
	free(w.first);
	errno = serrno;
	return ret;
}

/*
 * rec.c - the recorder: a FUSE file system (libfuse 3 high-level API,
 * one thread) with one file, /img, the disk image held in memory.  While
 * recording, every write is appended to the log with its data, and every
 * fsync (the loop device's cache flush) as a barrier; a fallocate that
 * punches or zeroes a range (the loop device's discard and write-zeroes)
 * is a write of zeros.
 *
 * The handlers never block but on the mutex, which nothing holds across
 * a system call: the kernel waits on this thread whenever the ext4 above
 * the loop device does I/O, so it must always answer.
 */
#define FUSE_USE_VERSION 31

#include <sys/stat.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockcut.h"

struct bc_fs {
	struct fuse *f;
	pthread_t t;
};

static struct bc_rec *
rec(void)
{
	return fuse_get_context()->private_data;
}

static int
is_img(const char *path)
{
	return strcmp(path, "/img") == 0;
}

static int
fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
		return 0;
	}
	if (!is_img(path))
		return -ENOENT;
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_size = (off_t)rec()->size;
	st->st_blksize = BC_BLOCK;
	return 0;
}

static int
fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "img", NULL, 0, 0);
	return 0;
}

static int
fs_open(const char *path, struct fuse_file_info *fi)
{
	(void)fi;
	return is_img(path) ? 0 : -ENOENT;
}

/* Append an event; the caller holds the mutex. */
static int
log_event(struct bc_rec *r, enum bc_kind kind, off_t off, const void *data,
    size_t len)
{
	struct bc_event *e;

	if (!r->recording)
		return 0;
	if (r->n == r->cap) {
		e = reallocarray(r->ev, r->cap * 2 + 64, sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		r->ev = e;
		r->cap = r->cap * 2 + 64;
	}
	e = &r->ev[r->n];
	*e = (struct bc_event){ kind, off, len, NULL };
	if (data != NULL) {
		if ((e->data = malloc(len)) == NULL)
			return -ENOMEM;
		memcpy(e->data, data, len);
	}
	r->n++;
	return 0;
}

static int
fs_read(const char *path, char *buf, size_t len, off_t off,
    struct fuse_file_info *fi)
{
	struct bc_rec *r = rec();

	(void)path;
	(void)fi;
	if (off < 0 || (size_t)off >= r->size)
		return 0;
	if (len > r->size - (size_t)off)
		len = r->size - (size_t)off;
	(void)pthread_mutex_lock(&r->mu);
	memcpy(buf, r->img + off, len);
	(void)pthread_mutex_unlock(&r->mu);
	return (int)len;
}

/* Write data (NULL: zeros) at off, and log it. */
static int
put(struct bc_rec *r, const void *data, size_t len, off_t off)
{
	int e;

	if (off < 0 || (size_t)off > r->size || len > r->size - (size_t)off)
		return -ENOSPC;
	(void)pthread_mutex_lock(&r->mu);
	if ((e = log_event(r, BC_WRITE, off, data, len)) == 0) {
		if (data != NULL)
			memcpy(r->img + off, data, len);
		else
			memset(r->img + off, 0, len);
	}
	(void)pthread_mutex_unlock(&r->mu);
	return e;
}

static int
fs_write(const char *path, const char *buf, size_t len, off_t off,
    struct fuse_file_info *fi)
{
	int e;

	(void)path;
	(void)fi;
	e = put(rec(), buf, len, off);
	return e != 0 ? e : (int)len;
}

static int
fs_fallocate(const char *path, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	if (len < 0)
		return -EINVAL;
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return put(rec(), NULL, (size_t)len, off);
	return mode == 0 || mode == FALLOC_FL_KEEP_SIZE ? 0 : -EOPNOTSUPP;
}

static int
fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct bc_rec *r = rec();
	int e;

	(void)path;
	(void)datasync;
	(void)fi;
	(void)pthread_mutex_lock(&r->mu);
	e = log_event(r, BC_FLUSH, 0, NULL, 0);
	(void)pthread_mutex_unlock(&r->mu);
	return e;
}

static int
fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return (size_t)size == rec()->size ? 0 : -EPERM;
}

static const struct fuse_operations bc_ops = {
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.fallocate = fs_fallocate,
	.fsync = fs_fsync,
	.truncate = fs_truncate,
};

static void *
loop(void *f)
{
	(void)fuse_loop(f);
	return NULL;
}

/* Mount the recorder on mnt and serve it from a thread of its own. */
struct bc_fs *
bc_fs_mount(struct bc_rec *r, const char *mnt)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct bc_fs *fs = bc_xalloc(NULL, 1, sizeof(*fs));

	if (fuse_opt_add_arg(&args, "blockcut") == -1 ||
	    fuse_opt_add_arg(&args, "-ofsname=blockcut") == -1 ||
	    (fs->f = fuse_new(&args, &bc_ops, sizeof(bc_ops), r)) == NULL)
		goto fail;
	fuse_opt_free_args(&args);
	if (fuse_mount(fs->f, mnt) == -1)
		goto fail;
	if (pthread_create(&fs->t, NULL, loop, fs->f) != 0) {
		fuse_unmount(fs->f);
		goto fail;
	}
	return fs;
fail:
	fuse_opt_free_args(&args);
	if (fs->f != NULL)
		fuse_destroy(fs->f);
	free(fs);
	return NULL;
}

void
bc_fs_unmount(struct bc_fs *fs)
{
	fuse_exit(fs->f);
	fuse_unmount(fs->f);
	(void)pthread_join(fs->t, NULL);
	fuse_destroy(fs->f);
	free(fs);
}

/* The epoch begins: what the image holds now is its base. */
void
bc_rec_start(struct bc_rec *r)
{
	(void)pthread_mutex_lock(&r->mu);
	r->base = bc_xalloc(NULL, r->size, 1);
	memcpy(r->base, r->img, r->size);
	r->recording = 1;
	(void)pthread_mutex_unlock(&r->mu);
}

/* The command has exited: what the log holds so far came before. */
void
bc_rec_exited(struct bc_rec *r)
{
	(void)pthread_mutex_lock(&r->mu);
	r->exited = r->n;
	(void)pthread_mutex_unlock(&r->mu);
}

void
bc_rec_stop(struct bc_rec *r)
{
	(void)pthread_mutex_lock(&r->mu);
	r->recording = 0;
	(void)pthread_mutex_unlock(&r->mu);
}

void *
bc_xalloc(void *p, size_t n, size_t sz)
{
	void *q = reallocarray(p, n == 0 ? 1 : n, sz);

	if (q == NULL)
		err(2, "out of memory");
	return q;
}

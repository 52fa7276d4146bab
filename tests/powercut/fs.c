/*
 * fs.c - the FUSE file system (libfuse 3 high-level API) the command
 * runs on: every operation passes through to the backing directory,
 * which is the live state the command sees, and every mutating one and
 * every sync is appended to the log, with what a replay needs (the data
 * of a write, the inode a name now names).  The loop is single-threaded,
 * so the log's order is the order the operations took effect in.
 *
 * Inodes are told apart by the backing inode number, mapped to a model
 * id; a number the backing file system hands out again for a new inode
 * gets a new id.
 *
 * A file removed while open (unlinked, or renamed over) must stay
 * reachable by path, because libfuse's high-level API serves the xattr
 * calls by path only (fgetxattr on an unlinked file would fail with
 * ESTALE).  So hard_remove is off and libfuse renames such a file to
 * .fuse_hiddenNNN instead of removing it: that rename is logged as the
 * unlink it stands for, or, when libfuse makes it to clear the way for a
 * rename over the file, dropped, since that rename replaces the name in
 * one step.  Hidden names are not listed, and their removal not logged.  The syncs themselves are only recorded: the backing
 * directory is scratch, its own durability is of no interest.
 *
 * Not implemented, so the kernel or the caller falls back: O_TMPFILE
 * (libfuse 3.14 has no tmpfile operation: EOPNOTSUPP), ioctl (FICLONE
 * fails with EOPNOTSUPP), fallocate, mknod, lseek (SEEK_DATA/SEEK_HOLE).
 * copy_file_range is implemented, logged as a write of the bytes it
 * copied.  O_DIRECT is dropped, and O_APPEND too: the kernel sends the
 * offset of each write.  A write through O_SYNC or O_DSYNC is followed
 * by an fsync or fdatasync event.
 */
#define FUSE_USE_VERSION 31

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powercut.h"

#define MAX_FDS 4096

struct fsctx {
	struct pc_log *log;
	size_t hide;	   /* 1 + the event of the last hiding */
	uint32_t hide_dir; /* ... which took this name */
	char hide_name[NAME_MAX + 1];
	int rootfd;
	const char *root;
	unsigned char sync[MAX_FDS]; /* 1 O_DSYNC, 2 O_SYNC, per fd */
};

static struct fsctx *
ctx(void)
{
	return fuse_get_context()->private_data;
}

/* The backing path of a FUSE path, relative to the root descriptor. */
static const char *
rel(const char *path)
{
	return path == NULL || path[1] == '\0' ? "." : path + 1;
}

/* The parent's backing path of a FUSE path, and its last name. */
static const char *
parent(const char *path, char *buf, size_t len, const char **name)
{
	const char *slash = strrchr(path, '/');

	*name = slash + 1;
	if (slash == path || (size_t)(slash - path) >= len)
		return ".";
	memcpy(buf, path + 1, (size_t)(slash - path) - 1);
	buf[slash - path - 1] = '\0';
	return buf;
}

static uint32_t
id_of_ino(ino_t ino)
{
	struct pc_log *log = ctx()->log;
	size_t i;

	for (i = log->seed.n; i-- > 0;)
		if (log->bino[i] == ino)
			return (uint32_t)i;
	return PC_NONE;
}

static uint32_t
id_of_path(const char *relpath)
{
	struct stat st;

	if (fstatat(ctx()->rootfd, relpath, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return PC_NONE;
	return id_of_ino(st.st_ino);
}

static uint32_t
id_of_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return PC_NONE;
	return id_of_ino(st.st_ino);
}

/* A new inode at relpath: a new id, its number no one else's. */
static uint32_t
born(const char *relpath, const char *target)
{
	struct pc_log *log = ctx()->log;
	struct stat st;
	uint32_t id, old;

	if (fstatat(ctx()->rootfd, relpath, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return PC_NONE;
	if ((old = id_of_ino(st.st_ino)) != PC_NONE)
		log->bino[old] = 0;
	id = pc_model_add(&log->seed, st.st_mode, st.st_uid, st.st_gid, target);
	log->bino = pc_xalloc(log->bino, log->seed.n, sizeof(*log->bino));
	log->bino[id] = st.st_ino;
	return id;
}

/* Append ev (its pointers now the log's) with a description. */
static void record(struct pc_event *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
record(struct pc_event *ev, const char *fmt, ...)
{
	struct pc_log *log = ctx()->log;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&ev->desc, fmt, ap) == -1)
		ev->desc = NULL;
	va_end(ap);
	if (log->n == log->cap) {
		log->cap = log->cap ? 2 * log->cap : 256;
		log->ev = pc_xalloc(log->ev, log->cap, sizeof(*log->ev));
	}
	log->ev[log->n++] = *ev;
}

static void
record_entry(enum pc_kind kind, const char *path, uint32_t ino,
    const char *what)
{
	struct pc_event ev = { .kind = kind, .ino = ino, .ino2 = PC_NONE };
	char buf[PATH_MAX];
	const char *name, *p = parent(path, buf, sizeof(buf), &name);

	ev.dir = id_of_path(p);
	ev.dir2 = PC_NONE;
	ev.name = pc_xstrdup(name);
	record(&ev, "%s %s", what, path);
}

/* The inode's mode and owner after a change the kernel may have added to. */
static void
record_attr(uint32_t id, const struct stat *st, const char *path)
{
	struct pc_event ev = { .kind = PC_SETATTR,
		.ino = id,
		.ino2 = PC_NONE,
		.dir = PC_NONE,
		.dir2 = PC_NONE,
		.mode = st->st_mode,
		.uid = st->st_uid,
		.gid = st->st_gid };

	record(&ev, "setattr %s mode %o owner %u:%u", path ? path : "(fd)",
	    (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid,
	    (unsigned)st->st_gid);
}

static void
record_sync(enum pc_kind kind, uint32_t id, const char *path)
{
	struct pc_event ev = { .kind = kind,
		.ino = id,
		.ino2 = PC_NONE,
		.dir = PC_NONE,
		.dir2 = PC_NONE };

	record(&ev, "%s %s",
	    kind == PC_FSYNCDIR	 ? "fsyncdir" :
		kind == PC_FSYNC ? "fsync" :
				   "fdatasync",
	    path ? path : "(fd)");
}

static void
record_write(uint32_t id, off_t off, const void *buf, size_t len,
    const char *path)
{
	struct pc_event ev = { .kind = PC_WRITE,
		.ino = id,
		.ino2 = PC_NONE,
		.dir = PC_NONE,
		.dir2 = PC_NONE,
		.off = off,
		.len = len };

	ev.data = pc_xalloc(NULL, len, 1);
	memcpy(ev.data, buf, len);
	record(&ev, "write %s %lld+%zu", path ? path : "(fd)", (long long)off,
	    len);
}

static void
record_truncate(uint32_t id, off_t size, const char *path)
{
	struct pc_event ev = { .kind = PC_TRUNCATE,
		.ino = id,
		.ino2 = PC_NONE,
		.dir = PC_NONE,
		.dir2 = PC_NONE,
		.off = size };

	record(&ev, "truncate %s %lld", path ? path : "(fd)", (long long)size);
}

/* Give what was created the caller's owner, as a kernel file system would. */
static void
own(const char *relpath)
{
	struct fuse_context *fc = fuse_get_context();

	if (geteuid() == 0)
		(void)fchownat(ctx()->rootfd, relpath, fc->uid, fc->gid,
		    AT_SYMLINK_NOFOLLOW);
}

static void *
pc_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	cfg->use_ino = 1;
	cfg->hard_remove = 0;
	cfg->nullpath_ok = 0;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	return ctx();
}

static int
pc_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int r = fi != NULL ?
	    fstat((int)fi->fh, st) :
	    fstatat(ctx()->rootfd, rel(path), st, AT_SYMLINK_NOFOLLOW);

	return r == -1 ? -errno : 0;
}

static int
pc_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(ctx()->rootfd, rel(path), buf, size - 1);

	if (n == -1)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
pc_mkdir(const char *path, mode_t mode)
{
	if (mkdirat(ctx()->rootfd, rel(path), mode) == -1)
		return -errno;
	own(rel(path));
	record_entry(PC_MKDIR, path, born(rel(path), NULL), "mkdir");
	return 0;
}

static int
pc_symlink(const char *target, const char *path)
{
	if (symlinkat(target, ctx()->rootfd, rel(path)) == -1)
		return -errno;
	own(rel(path));
	record_entry(PC_SYMLINK, path, born(rel(path), target), "symlink");
	return 0;
}

#define HIDDEN ".fuse_hidden"

static int
hidden(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strncmp(slash != NULL ? slash + 1 : path, HIDDEN,
		   sizeof(HIDDEN) - 1) == 0;
}

static int
pc_unlink(const char *path)
{
	uint32_t id = id_of_path(rel(path));

	if (unlinkat(ctx()->rootfd, rel(path), 0) == -1)
		return -errno;
	if (!hidden(path))
		record_entry(PC_UNLINK, path, id, "unlink");
	return 0;
}

/* libfuse hides an open file from: log the unlink it stands for. */
static int
hide(const char *from, const char *to)
{
	struct pc_log *log = ctx()->log;
	char buf[PATH_MAX];
	const char *name;
	uint32_t id = id_of_path(rel(from));

	(void)parent(from, buf, sizeof(buf), &name);
	if (renameat(ctx()->rootfd, rel(from), ctx()->rootfd, rel(to)) == -1)
		return -errno;
	record_entry(PC_UNLINK, from, id, "unlink (open)");
	ctx()->hide = log->n;
	ctx()->hide_dir = log->ev[log->n - 1].dir;
	(void)snprintf(ctx()->hide_name, sizeof(ctx()->hide_name), "%s", name);
	return 0;
}

/*
 * Is the last event the hiding of dir/name, made for the rename over it
 * that follows?  Then it goes: the rename replaces the name at once.
 */
static void
unhide(uint32_t dir, const char *name)
{
	struct fsctx *c = ctx();
	struct pc_event *ev;

	if (c->hide == 0 || c->hide != c->log->n || c->hide_dir != dir ||
	    strcmp(c->hide_name, name) != 0)
		return;
	ev = &c->log->ev[--c->log->n];
	free(ev->name);
	free(ev->desc);
	c->hide = 0;
}

static int
pc_rmdir(const char *path)
{
	uint32_t id = id_of_path(rel(path));

	if (unlinkat(ctx()->rootfd, rel(path), AT_REMOVEDIR) == -1)
		return -errno;
	record_entry(PC_RMDIR, path, id, "rmdir");
	return 0;
}

static int
pc_rename(const char *from, const char *to, unsigned int flags)
{
	struct pc_event ev = { .kind = PC_RENAME, .flags = flags };
	char b1[PATH_MAX], b2[PATH_MAX];
	const char *n1, *n2, *p1, *p2;

	if (hidden(to) && flags == 0)
		return hide(from, to);
	ev.ino = id_of_path(rel(from));
	ev.ino2 = id_of_path(rel(to));
	if (renameat2(ctx()->rootfd, rel(from), ctx()->rootfd, rel(to),
		flags) == -1)
		return -errno;
	p1 = parent(from, b1, sizeof(b1), &n1);
	p2 = parent(to, b2, sizeof(b2), &n2);
	ev.dir = id_of_path(p1);
	ev.dir2 = id_of_path(p2);
	unhide(ev.dir2, n2);
	ev.name = pc_xstrdup(n1);
	ev.name2 = pc_xstrdup(n2);
	record(&ev, "rename%s %s %s %s",
	    flags & RENAME_EXCHANGE	 ? "(exchange)" :
		flags & RENAME_NOREPLACE ? "(noreplace)" :
					   "",
	    from, flags & RENAME_EXCHANGE ? "<->" : "->", to);
	return 0;
}

static int
pc_link(const char *from, const char *to)
{
	uint32_t id = id_of_path(rel(from));

	if (linkat(ctx()->rootfd, rel(from), ctx()->rootfd, rel(to), 0) == -1)
		return -errno;
	record_entry(PC_LINK, to, id, "link");
	return 0;
}

/* Record the mode and owner of path (or fi's file) as they are now. */
static int
after_attr(const char *path, struct fuse_file_info *fi)
{
	struct stat st;

	if (pc_getattr(path, &st, fi) != 0)
		return -errno;
	record_attr(id_of_ino(st.st_ino), &st, path);
	return 0;
}

static int
pc_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int r = fi != NULL ? fchmod((int)fi->fh, mode) :
			     fchmodat(ctx()->rootfd, rel(path), mode, 0);

	return r == -1 ? -errno : after_attr(path, fi);
}

static int
pc_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	int r = fi != NULL ?
	    fchown((int)fi->fh, uid, gid) :
	    fchownat(ctx()->rootfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);

	return r == -1 ? -errno : after_attr(path, fi);
}

static int
pc_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd = fi != NULL ?
	    (int)fi->fh :
	    openat(ctx()->rootfd, rel(path), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	int r, serrno;

	if (fd == -1)
		return -errno;
	r = ftruncate(fd, size);
	serrno = errno;
	if (r == 0)
		record_truncate(id_of_fd(fd), size, path);
	if (fi == NULL)
		(void)close(fd);
	return r == -1 ? -serrno : 0;
}

static int
pc_utimens(const char *path, const struct timespec tv[2],
    struct fuse_file_info *fi)
{
	int r = fi != NULL ?
	    futimens((int)fi->fh, tv) :
	    utimensat(ctx()->rootfd, rel(path), tv, AT_SYMLINK_NOFOLLOW);

	return r == -1 ? -errno : 0;
}

/* Open flags for the backing file, and what they mean for syncs. */
static int
backing_flags(struct fuse_file_info *fi)
{
	return (fi->flags &
		   ~(O_APPEND | O_DIRECT | O_CREAT | O_EXCL | O_NOCTTY |
		       O_SYNC | O_DSYNC)) |
	    O_CLOEXEC | O_NOFOLLOW;
}

static int
opened(int fd, struct fuse_file_info *fi, const char *path)
{
	if (fd >= MAX_FDS) {
		(void)close(fd);
		return -EMFILE;
	}
	ctx()->sync[fd] = (fi->flags & O_SYNC) == O_SYNC ? 2 :
	    (fi->flags & O_DSYNC)			 ? 1 :
							   0;
	fi->fh = (uint64_t)fd;
	if (fi->flags & O_TRUNC)
		record_truncate(id_of_fd(fd), 0, path);
	return 0;
}

static int
pc_open(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(ctx()->rootfd, rel(path), backing_flags(fi));

	return fd == -1 ? -errno : opened(fd, fi, path);
}

static int
pc_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct stat st;
	int fd, existed;

	existed = fstatat(ctx()->rootfd, rel(path), &st, AT_SYMLINK_NOFOLLOW) ==
	    0;
	fd = openat(ctx()->rootfd, rel(path),
	    backing_flags(fi) | O_CREAT | (fi->flags & O_EXCL), mode);
	if (fd == -1)
		return -errno;
	if (!existed) {
		own(rel(path));
		record_entry(PC_CREATE, path, born(rel(path), NULL), "create");
	}
	return opened(fd, fi, path);
}

static int
pc_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ssize_t n;

	(void)path;
	do
		n = pread((int)fi->fh, buf, size, off);
	while (n == -1 && errno == EINTR);
	return n == -1 ? -errno : (int)n;
}

static int
pc_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	int fd = (int)fi->fh;
	ssize_t n;

	do
		n = pwrite(fd, buf, size, off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	record_write(id_of_fd(fd), off, buf, (size_t)n, path);
	if (ctx()->sync[fd] != 0)
		record_sync(ctx()->sync[fd] == 2 ? PC_FSYNC : PC_FDATASYNC,
		    id_of_fd(fd), path);
	return (int)n;
}

static int
pc_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return fstatvfs(ctx()->rootfd, sv) == -1 ? -errno : 0;
}

static int
pc_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)close((int)fi->fh);
	return 0;
}

static int
pc_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	record_sync(datasync ? PC_FDATASYNC : PC_FSYNC, id_of_fd((int)fi->fh),
	    path);
	return 0;
}

static int
pc_opendir(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(ctx()->rootfd, rel(path),
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd == -1)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -ENOMEM;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

static int
pc_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	DIR *d = (DIR *)(uintptr_t)fi->fh;
	struct dirent *e;
	struct stat st;

	(void)path;
	(void)flags;
	seekdir(d, off);
	while ((e = readdir(d)) != NULL) {
		if (hidden(e->d_name))
			continue;
		memset(&st, 0, sizeof(st));
		st.st_ino = e->d_ino;
		st.st_mode = (mode_t)DTTOIF(e->d_type);
		if (fill(buf, e->d_name, &st, telldir(d), 0) != 0)
			break;
	}
	return 0;
}

static int
pc_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)closedir((DIR *)(uintptr_t)fi->fh);
	return 0;
}

static int
pc_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	record_sync(PC_FSYNCDIR, id_of_fd(dirfd((DIR *)(uintptr_t)fi->fh)),
	    path);
	return 0;
}

/* The backing path of path, for the l*xattr calls (no *at form). */
static const char *
abspath(const char *path, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s%s", ctx()->root, path) >= (int)len)
		return NULL;
	return buf;
}

static int
pc_setxattr(const char *path, const char *name, const char *value, size_t size,
    int flags)
{
	struct pc_event ev = { .kind = PC_SETXATTR,
		.ino2 = PC_NONE,
		.dir = PC_NONE,
		.dir2 = PC_NONE,
		.len = size };
	char buf[PATH_MAX];
	const char *p = abspath(path, buf, sizeof(buf));

	if (p == NULL)
		return -ENAMETOOLONG;
	if (lsetxattr(p, name, value, size, flags) == -1)
		return -errno;
	ev.ino = id_of_path(rel(path));
	ev.name = pc_xstrdup(name);
	ev.data = pc_xalloc(NULL, size, 1);
	memcpy(ev.data, value, size);
	record(&ev, "setxattr %s %s", path, name);
	return 0;
}

static int
pc_getxattr(const char *path, const char *name, char *value, size_t size)
{
	char buf[PATH_MAX];
	const char *p = abspath(path, buf, sizeof(buf));
	ssize_t n;

	if (p == NULL)
		return -ENAMETOOLONG;
	n = lgetxattr(p, name, value, size);
	return n == -1 ? -errno : (int)n;
}

static int
pc_listxattr(const char *path, char *list, size_t size)
{
	char buf[PATH_MAX];
	const char *p = abspath(path, buf, sizeof(buf));
	ssize_t n;

	if (p == NULL)
		return -ENAMETOOLONG;
	n = llistxattr(p, list, size);
	return n == -1 ? -errno : (int)n;
}

static int
pc_removexattr(const char *path, const char *name)
{
	struct pc_event ev = { .kind = PC_RMXATTR,
		.ino2 = PC_NONE,
		.dir = PC_NONE,
		.dir2 = PC_NONE };
	char buf[PATH_MAX];
	const char *p = abspath(path, buf, sizeof(buf));

	if (p == NULL)
		return -ENAMETOOLONG;
	if (lremovexattr(p, name) == -1)
		return -errno;
	ev.ino = id_of_path(rel(path));
	ev.name = pc_xstrdup(name);
	record(&ev, "removexattr %s %s", path, name);
	return 0;
}

/* Copied by the kernel, logged as a write of what the source held. */
static ssize_t
pc_copy_file_range(const char *pin, struct fuse_file_info *fin, off_t oin,
    const char *pout, struct fuse_file_info *fout, off_t oout, size_t len,
    int flags)
{
	off_t i = oin, o = oout;
	unsigned char *data;
	ssize_t n, got;

	(void)pin;
	n = copy_file_range((int)fin->fh, &i, (int)fout->fh, &o, len,
	    (unsigned int)flags);
	if (n <= 0)
		return n == -1 ? -errno : 0;
	data = pc_xalloc(NULL, (size_t)n, 1);
	got = pread((int)fin->fh, data, (size_t)n, oin);
	if (got == n)
		record_write(id_of_fd((int)fout->fh), oout, data, (size_t)n,
		    pout);
	free(data);
	return got == n ? n : -EIO;
}

static const struct fuse_operations pc_ops = {
	.init = pc_init,
	.getattr = pc_getattr,
	.readlink = pc_readlink,
	.mkdir = pc_mkdir,
	.unlink = pc_unlink,
	.rmdir = pc_rmdir,
	.symlink = pc_symlink,
	.rename = pc_rename,
	.link = pc_link,
	.chmod = pc_chmod,
	.chown = pc_chown,
	.truncate = pc_truncate,
	.open = pc_open,
	.read = pc_read,
	.write = pc_write,
	.statfs = pc_statfs,
	.release = pc_release,
	.fsync = pc_fsync,
	.setxattr = pc_setxattr,
	.getxattr = pc_getxattr,
	.listxattr = pc_listxattr,
	.removexattr = pc_removexattr,
	.opendir = pc_opendir,
	.readdir = pc_readdir,
	.releasedir = pc_releasedir,
	.fsyncdir = pc_fsyncdir,
	.create = pc_create,
	.utimens = pc_utimens,
	.copy_file_range = pc_copy_file_range,
};

static void *
loop(void *f)
{
	return (void *)(intptr_t)fuse_loop(f);
}

/* Run argv in mnt, as the caller's umask had it; its wait status. */
static int
run(char **argv, const char *mnt, mode_t mask, int *status)
{
	pid_t pid, w;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		(void)umask(mask);
		if (chdir(mnt) == -1)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "powercut: cannot run '%s': %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	do
		w = waitpid(pid, status, 0);
	while (w == -1 && errno == EINTR);
	return w == -1 ? -1 : 0;
}

/*
 * Mount the file system over backing at mnt, run argv in it, unmount.
 * log->seed and log->bino describe backing when called; on return the
 * log holds what the command did, *status its wait status.
 */
int
pc_fs_run(struct pc_log *log, const char *backing, const char *mnt, char **argv,
    int *status)
{
	static struct fsctx c;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	pthread_t t;
	mode_t mask;
	int ret = -1;

	c.log = log;
	c.root = backing;
	if ((c.rootfd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	if (fuse_opt_add_arg(&args, "powercut") == -1 ||
	    fuse_opt_add_arg(&args, "-odefault_permissions,fsname=powercut") ==
		-1)
		goto out;
	if ((f = fuse_new(&args, &pc_ops, sizeof(pc_ops), &c)) == NULL)
		goto out;
	if (fuse_mount(f, mnt) == -1)
		goto out;
	mask = umask(0); /* the kernel has applied the caller's */
	if (pthread_create(&t, NULL, loop, f) != 0) {
		(void)umask(mask);
		fuse_unmount(f);
		goto out;
	}
	ret = run(argv, mnt, mask, status);
	fuse_exit(f);
	fuse_unmount(f);
	(void)pthread_join(t, NULL);
	(void)umask(mask);
out:
	if (f != NULL)
		fuse_destroy(f);
	fuse_opt_free_args(&args);
	(void)close(c.rootfd);
	return ret;
}

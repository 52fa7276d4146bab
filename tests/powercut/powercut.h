/*
 * powercut.h - the power-cut file system of the tests: the event log the
 * FUSE file system writes (fs.c), the inode model it is replayed into
 * (model.c), and the enumeration of cut points (cut.c).
 *
 * The persistence model (also in README.md, "Power-cut testing"):
 *
 *   - Every mutating operation that reaches the file system is an event,
 *     in the order the (single-threaded) FUSE loop served it, and so is
 *     every sync: fsync(2) and fdatasync(2) of a file, fsync(2) of a
 *     directory (FUSE_FSYNCDIR).
 *   - An operation is made durable by a later sync that covers it:
 *       fsync of a file      its data, size, mode, owner and xattrs;
 *       fdatasync of a file  its data and size;
 *       fsync of a directory its entries (create, mkdir, symlink, link,
 *                            unlink, rmdir, rename in or out) and its
 *                            own mode, owner and xattrs;
 *       syncfs               everything (never seen: see below).
 *     A rename between two directories is one atomic operation, made
 *     durable only when both directories have been synced after it.
 *   - A power cut after event N keeps the durable operations and throws
 *     away the others (mode drop), or keeps the durable ones plus any
 *     prefix of the others in their order (mode prefix: what an
 *     ordered-journal file system such as ext4 may leave).  Every prefix
 *     is enumerated, not sampled.
 *   - Operations are whole: one write request survives whole or not at
 *     all (a write(2) larger than the request size is several).
 *
 * Not modelled: a write torn inside one request (a FUSE write is at most
 * 256 KiB here), reordering of data within a file beyond the above,
 * timestamps, hard-link counts as such (a name is what is kept), mmap
 * writes, O_DIRECT, fallocate, metadata-only journalling modes (data that
 * survives its metadata), and syncfs(2)/sync(2): the kernel tells no FUSE
 * file system but virtiofs about them, so a program that relies on syncfs
 * is judged as if it had not called it.  O_TMPFILE cannot pass through
 * libfuse 3.14 (no tmpfile operation): it fails with EOPNOTSUPP, as on a
 * file system without it.
 */
#ifndef POWERCUT_H
#define POWERCUT_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define PC_NONE UINT32_MAX /* no inode */
#define PC_ROOT 0	   /* the model id of the root */

enum pc_kind {
	/* entry operations: the object is the directory (or two) */
	PC_CREATE,
	PC_MKDIR,
	PC_SYMLINK,
	PC_LINK,
	PC_UNLINK,
	PC_RMDIR,
	PC_RENAME,
	/* inode operations: the object is the inode */
	PC_WRITE,
	PC_TRUNCATE,
	PC_SETATTR,
	PC_SETXATTR,
	PC_RMXATTR,
	/* syncs */
	PC_FSYNC,
	PC_FDATASYNC,
	PC_FSYNCDIR
};

/* One event of the log. */
struct pc_event {
	enum pc_kind kind;
	uint32_t dir, dir2; /* entry ops: the directories */
	char *name, *name2;
	uint32_t ino, ino2;  /* the inode(s) named or changed */
	unsigned int flags;  /* rename(2) flags */
	off_t off;	     /* write offset; truncate size */
	unsigned char *data; /* write data; xattr value */
	size_t len;
	mode_t mode; /* setattr: the inode's mode after */
	uid_t uid;
	gid_t gid;
	char *desc; /* what it was, for the report */
};

struct pc_xattr {
	char *name;
	unsigned char *value;
	size_t len;
};

struct pc_ent {
	char *name;
	uint32_t ino;
};

/*
 * One inode of the model.  Regular files hold data, symlinks a target,
 * directories entries; an inode no entry reaches is not materialised.
 */
struct pc_inode {
	mode_t mode; /* type and permission bits */
	uid_t uid;
	gid_t gid;
	unsigned char *data;
	size_t size, cap;
	char *target;
	struct pc_xattr *xattrs;
	size_t nxattrs;
	struct pc_ent *ents;
	size_t nents;
};

struct pc_model {
	struct pc_inode *inodes;
	size_t n;
};

/* The log, with the seed it starts from. */
struct pc_log {
	struct pc_event *ev;
	size_t n, cap;
	struct pc_model seed; /* every inode ever known, as born */
	ino_t *bino;	      /* backing inode number of each id */
};

/* model.c */
int pc_model_read(struct pc_model *, const char *);
int pc_model_copy(struct pc_model *, const struct pc_model *);
void pc_model_free(struct pc_model *);
uint32_t pc_model_add(struct pc_model *, mode_t, uid_t, gid_t, const char *);
int pc_model_apply(struct pc_model *, const struct pc_event *);
int pc_model_write(const struct pc_model *, int, ino_t *);
void pc_model_hash(const struct pc_model *, uint64_t[2]);

/* fs.c */
int pc_fs_run(struct pc_log *, const char *, const char *, char **, int *);

/* cut.c */
struct pc_opts {
	int prefix; /* mode prefix, else drop */
	long at;    /* one cut point, or -1: all */
	int verbose;
	const char *check;
	const char *statedir;
};

struct pc_tally {
	size_t cuts, states, rejected, distinct;
};

int pc_cut_all(const struct pc_log *, int, const struct pc_opts *,
    struct pc_tally *);

/* util.c */
void *pc_xalloc(void *, size_t, size_t);
char *pc_xstrdup(const char *);
int pc_rm_tree(int, const char *);

#endif

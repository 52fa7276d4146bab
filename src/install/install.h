/*
 * install.h - contracts between the modules of the replacement engine,
 * src/install/: one file, atomically and durably.  The transaction
 * (src/txn/) and the guard's --fix build on them.  Not installed; the
 * public API is include/hotswap.h.
 *
 * Layer src/install/ owns one file's replacement: the destination's
 * resolution, the temporary, the data, the metadata, the rename and the
 * directory's fsync; -b and rollback; -C; --in-place.  It may call the
 * seam (src/sys/), and the scanner only through the public hs_scan_*()
 * (--in-place asks who maps the file); nothing of src/txn/ or above.
 */
#ifndef HS_INSTALL_H
#define HS_INSTALL_H

#include <sys/stat.h>
#include <limits.h>

#include "hotswap.h"

/* Record a failure in res and return -1; errno is left as it was. */
int hs_fail(struct hs_result *, const char *step, const char *path);

/* backup.c: the backup suffix in force, and the backup's name. */
const char *hs_suffix(const struct hs_install_opts *);
int hs_backup_name(char *buf, const char *name, const char *suffix);
struct hs_dest;
struct hs_meta;
/*
 * The name in bname of name's backup in dirfd, as opts->backup_type says:
 * with newest, the one a rollback restores (the highest DEST.~N~, ENOENT
 * if NUMBERED finds none; with a suffix, EXISTING is SIMPLE), else the
 * one an install makes (N + 1).  Sets
 * res->backup to its path beside res->target.
 */
int hs_backup_pick(int dirfd, const char *name, const struct hs_install_opts *,
    int newest, char *bname, struct hs_result *);
/* Hard-link d's file to its backup name (res->backup says which). */
int hs_make_backup(struct hs_dest *d, const struct hs_install_opts *,
    struct hs_result *);
/* numbered.c: the highest N of dirfd's "name.~N~" in *n (0: none). */
int hs_backup_newest(int dirfd, const char *name, unsigned long *n);

/* source.c: open src (not a directory); its fd, or -1 with res set. */
int hs_open_source(const char *src, struct stat *, struct hs_result *);

/* compare.c: -C; 1 if old already has src's content and planned metadata. */
int hs_unchanged(int in, const struct stat *, int old, const struct stat *,
    const struct hs_meta *);
/* 1 if the contents are equal, 0 if not, -1 on error. */
int hs_same_content(int fd1, int fd2, off_t size);

/* dest.c: where a destination really is. */
struct hs_dest {
	int dirfd; /* O_RDONLY|O_DIRECTORY: holds name */
	char name[NAME_MAX + 1];
	int exists;
	struct stat st; /* lstat of dirfd/name if exists */
};

/*
 * Find the file that dst names: open its directory and, unless
 * HS_NO_DEREF, follow a chain of symbolic links to the final name
 * (a dangling link or a loop is an error).  With HS_MKDIRS, missing
 * parent directories of dst are created first.  The path reached is
 * written to res->target for messages.
 */
int hs_dest_open(const char *dst, unsigned int flags, struct hs_dest *,
    struct hs_result *);
void hs_dest_close(struct hs_dest *);
/* *fd: the existing regular destination opened for reading, or -1. */
int hs_open_old(struct hs_dest *, int *fd, struct hs_result *);
/*
 * mkdir -p; hs_mkdirs_open returns a descriptor on the directory made.
 * Components that do not exist yet are made and entered relative to their
 * parent, without following links, and must be owned by us (EACCES);
 * with sync, each directory made is durable before the call returns.
 */
int hs_mkdirs(char *dir, int sync);
int hs_mkdirs_open(char *dir, int sync);

/*
 * mkdir.c: make a 0700 directory of ours in at under a temporary name for
 * name (written to tmp, NAME_MAX + 1), entered without following a link;
 * its descriptor.
 */
int hs_private_dir(int at, const char *name, char *tmp);

/*
 * strip.c: -s, instead of hs_copy_data(): copy the source in (its stat
 * sst) to a private copy beside name in dirfd, run the strip program on
 * that, and copy the stripped result into the temporary fd.
 */
int hs_strip(int in, const char *src, const struct stat *sst, int fd, int dirfd,
    const char *name, const struct hs_install_opts *, struct hs_result *);

/* tmp.c: the temporary file beside the destination. */
struct hs_tmp {
	int dirfd; /* borrowed from hs_dest */
	int fd;
	int named; /* linked into dirfd under name */
	int slot;  /* hs_cancel_cleanup() slot, or -1 */
	char name[NAME_MAX + 1];
};

/* clang-format off */
#define HS_TMP_INIT	{ .dirfd = -1, .fd = -1, .named = 0, .slot = -1 }
/* clang-format on */

#define HS_TMP_MARK ".hs-" /* ".BASE.hs-XXXXXXXXXX" */

int hs_tmp_create(struct hs_tmp *, int dirfd, const char *base);
int hs_tmp_open_unnamed(struct hs_tmp *, int dirfd);
/*
 * The same with the permission bits mode asked of the open (less the
 * umask or the directory's default ACL, as for any file created): the
 * file has no name, so nobody sees them before it is complete.
 */
int hs_tmp_open_unnamed_mode(struct hs_tmp *, int dirfd, mode_t mode);
/* Take fd, an unnamed temporary opened in dirfd some other way. */
void hs_tmp_adopt(struct hs_tmp *, int dirfd, int fd);
int hs_tmp_unsupported(int);
int hs_tmp_claim(struct hs_tmp *, const char *name);
int hs_tmp_link(struct hs_tmp *, const char *base);
int hs_tmp_link_name(struct hs_tmp *, const char *from, const char *base);
int hs_tmp_rename(struct hs_tmp *, const char *final);
void hs_tmp_discard(struct hs_tmp *);
int hs_tmp_makename(char *buf, size_t len, const char *base);
/* Drop the random bytes left for names: a name was found taken. */
void hs_tmp_reseed(void);

/* copy.c: the data. */
int hs_copy_data(int srcfd, const char *src, const struct stat *, int dstfd,
    const struct hs_install_opts *, struct hs_result *);
/*
 * What a run of copies between one pair of filesystems has learnt, for
 * hs_copy_data_caps(), which also takes dstfd to be a new, empty file.
 * The caller resets it (all zero) when the pair changes.
 */
struct hs_copy_caps {
	int no_clone; /* FICLONE said "not here" */
	int no_range; /* copy_file_range said so */
};
int hs_copy_data_caps(int srcfd, const char *src, const struct stat *,
    int dstfd, struct hs_copy_caps *, const struct hs_install_opts *,
    struct hs_result *);

/*
 * free.c: HS_FREE_LATER.  Hand fds[0..n) (n at most HS_FREE_LATER_MAX),
 * the last references of replaced inodes, to a process of ours that
 * drops them as we return; the descriptors are closed here in any case.
 * 0, or -1 with errno if they could not be handed over (and so the
 * kernel freed whatever they held here).  Only fds are inherited by the
 * holder.
 */
int hs_free_later(const int *fds, size_t n);
/*
 * 1 if an old file of stat st is worth a fork to free: regular, and
 * occupying HS_FREE_LATER_MIN bytes or more (allocated blocks, not size).
 */
int hs_free_later_worth(const struct stat *st);
#define HS_FREE_LATER_MIN (16 << 20)
#define HS_FREE_LATER_MAX 64

/* inplace.c: HS_IN_PLACE for an existing regular destination. */
int hs_in_place(int in, const char *src, const struct stat *, struct hs_dest *,
    const struct hs_install_opts *, struct hs_result *);

/* meta.c: owner, group, mode, extended attributes, timestamps. */
struct hs_meta {
	uid_t uid; /* (uid_t)-1: leave as created */
	gid_t gid;
	mode_t mode;
	int xattr_fd;	     /* copy xattrs from this fd, or -1 */
	int no_label;	     /* ... but not security.selinux */
	const char *context; /* set security.selinux to this, or NULL */
	int set_times;
	struct timespec times[2];
	int mode_made; /* the file was created with mode: no chmod */
};

void hs_meta_plan(const struct stat *src, const struct stat *old, int oldfd,
    const struct hs_install_opts *, struct hs_meta *);
/*
 * The umask, read from /proc/self/status without changing it: 0 with
 * *mask, or -1 if the kernel does not say (before Linux 4.7).
 */
int hs_umask_peek(mode_t *mask);
/*
 * 1 if a file created with m->mode is certain to get exactly m->mode,
 * so that hs_meta_apply's chmod can be left out (m->mode_made): the
 * umask (mask, or -1 if unknown) takes nothing from it, the directory
 * has no default ACL (dir_acl 0; 1 if it has one, -1 if unknown), the
 * mode has no set-ID or sticky bit (which chown would clear, or which
 * creation may strip), o asks no owner or group (-o, -g keep today's
 * chown-then-chmod order), and no extended attribute (an ACL among
 * them) or label is copied that could change the bits.  0 otherwise.
 * A pure function.
 */
int hs_meta_create_mode(const struct hs_meta *m,
    const struct hs_install_opts *o, int mask, int dir_acl);
int hs_meta_apply(int fd, const struct hs_meta *, struct hs_result *);
/* The same for a file known to be owned by made_uid:made_gid (no fstat). */
int hs_meta_apply_as(int fd, const struct hs_meta *, uid_t made_uid,
    gid_t made_gid, struct hs_result *);
/*
 * Clear set-user-ID, set-group-ID (with group execute) and the
 * security.capability xattr of the old inode fd, whose stat is st.
 */
int hs_meta_disarm(int fd, const struct stat *st);
/* 1 if fd's owner, group and mode already are what the plan asks. */
int hs_meta_matches(const struct stat *, const struct hs_meta *);

#endif /* HS_INSTALL_H */

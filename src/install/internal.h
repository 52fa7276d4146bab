/*
 * internal.h - contracts between the modules of the replacement engine.
 * Not installed; the public API is include/hotswap.h.
 */
#ifndef HS_INTERNAL_H
#define HS_INTERNAL_H

#include <sys/stat.h>
#include <limits.h>

#include "hotswap.h"

/* Record a failure in res and return -1; errno is left as it was. */
int	hs_fail(struct hs_result *, const char *step, const char *path);

/* replace.c: the backup suffix in force, and the backup's name. */
const char *hs_suffix(const struct hs_install_opts *);
int	hs_backup_name(char *buf, const char *name, const char *suffix);
struct hs_dest;
struct hs_meta;
/* Open src (not a directory); its fd, or -1 with res set. */
int	hs_open_source(const char *src, struct stat *, struct hs_result *);
/* *fd: the existing regular destination opened for reading, or -1. */
int	hs_open_old(struct hs_dest *, int *fd, struct hs_result *);
/* -C: 1 if old already has src's content and the planned metadata. */
int	hs_unchanged(int in, const struct stat *, int old,
	    const struct stat *, const struct hs_meta *);

/* dest.c: where a destination really is. */
struct hs_dest {
	int		dirfd;		/* O_RDONLY|O_DIRECTORY: holds name */
	char		name[NAME_MAX + 1];
	int		exists;
	struct stat	st;		/* lstat of dirfd/name if exists */
};

/*
 * Find the file that dst names: open its directory and, unless
 * HS_NO_DEREF, follow a chain of symbolic links to the final name
 * (a dangling link or a loop is an error).  With HS_MKDIRS, missing
 * parent directories of dst are created first.  The path reached is
 * written to res->target for messages.
 */
int	hs_dest_open(const char *dst, unsigned int flags, struct hs_dest *,
	    struct hs_result *);
void	hs_dest_close(struct hs_dest *);
/*
 * mkdir -p; hs_mkdirs_open returns a descriptor on the directory made.
 * Components that do not exist yet are made and entered relative to their
 * parent, without following links, and must be owned by us (EACCES);
 * with sync, each directory made is durable before the call returns.
 */
int	hs_mkdirs(char *dir, int sync);
int	hs_mkdirs_open(char *dir, int sync);

/* tmp.c: the temporary file beside the destination. */
struct hs_tmp {
	int	dirfd;			/* borrowed from hs_dest */
	int	fd;
	int	named;			/* linked into dirfd under name */
	int	slot;			/* hs_cancel_cleanup() slot, or -1 */
	char	name[NAME_MAX + 1];
};

#define HS_TMP_INIT	{ .dirfd = -1, .fd = -1, .named = 0, .slot = -1 }

#define HS_TMP_MARK	".hs-"		/* ".BASE.hs-XXXXXXXXXX" */

int	hs_tmp_create(struct hs_tmp *, int dirfd, const char *base);
int	hs_tmp_open_unnamed(struct hs_tmp *, int dirfd);
int	hs_tmp_unsupported(int);
int	hs_tmp_claim(struct hs_tmp *, const char *name);
int	hs_tmp_link(struct hs_tmp *, const char *base);
int	hs_tmp_link_name(struct hs_tmp *, const char *from, const char *base);
int	hs_tmp_rename(struct hs_tmp *, const char *final);
void	hs_tmp_discard(struct hs_tmp *);
int	hs_tmp_makename(char *buf, size_t len, const char *base);

/* copy.c: the data. */
int	hs_copy_data(int srcfd, const char *src, const struct stat *, int dstfd,
	    const struct hs_install_opts *, struct hs_result *);
/* 1 if the contents are equal, 0 if not, -1 on error. */
int	hs_same_content(int fd1, int fd2, off_t size);

/* inplace.c: HS_IN_PLACE for an existing regular destination. */
int	hs_in_place(int in, const char *src, const struct stat *,
	    struct hs_dest *, const struct hs_install_opts *,
	    struct hs_result *);

/* meta.c: owner, group, mode, extended attributes, timestamps. */
struct hs_meta {
	uid_t		uid;		/* (uid_t)-1: leave as created */
	gid_t		gid;
	mode_t		mode;
	int		xattr_fd;	/* copy xattrs from this fd, or -1 */
	int		set_times;
	struct timespec	times[2];
};

void	hs_meta_plan(const struct stat *src, const struct stat *old,
	    int oldfd, const struct hs_install_opts *, struct hs_meta *);
int	hs_meta_apply(int fd, const struct hs_meta *, struct hs_result *);
/*
 * Clear set-user-ID, set-group-ID (with group execute) and the
 * security.capability xattr of the old inode fd, whose stat is st.
 */
int	hs_meta_disarm(int fd, const struct stat *st);
/* 1 if fd's owner, group and mode already are what the plan asks. */
int	hs_meta_matches(const struct stat *, const struct hs_meta *);

/* journal.c, recover.c: a transaction's journal in its root directory. */
#define HS_JOURNAL	".hotswap-journal"
#define HS_JOURNAL_HEADER "hotswap-journal 2\n"
/* The largest journal written or read: about 300,000 files. */
#define HS_JOURNAL_MAX	(64 << 20)

struct hs_journal {
	int	rootfd;			/* borrowed */
	int	fd;			/* O_RDWR|O_APPEND, or -1 */
	size_t	size;			/* bytes written */
};

/*
 * Writing.  dir is relative to the root ("." for the root itself) and
 * made of plain components; name and aux are single components.
 */
int	hs_journal_create(int rootfd, struct hs_journal *);
int	hs_journal_add(struct hs_journal *, char type, const char *dir,
	    const char *name, const char *aux, int kind);
/* An O record: aux links the old dir/name, inode ino of device dev. */
int	hs_journal_add_old(struct hs_journal *, const char *dir,
	    const char *name, const char *aux, dev_t dev, ino_t ino);
int	hs_journal_commit(struct hs_journal *, int sync);
void	hs_journal_remove(struct hs_journal *);

/* A record read back; X records are folded into "cancelled". */
struct hs_jrec {
	char		 type;		/* S D T O C A */
	int		 kind;		/* T: 0-2, else -1 */
	int		 cancelled;	/* an X followed it */
	const char	*dir;		/* D T O: relative, plain, or "." */
	const char	*name;		/* D T O: one component */
	const char	*aux;		/* T: temporary, O: old link; S */
	int		 has_id;	/* O: dev and ino were recorded */
	dev_t		 dev;		/* O: the old inode's identity */
	ino_t		 ino;
};

struct hs_jtext {
	char		*buf;		/* the strings of rec point here */
	struct hs_jrec	*rec;
	size_t		 n;
	const char	*suffix;	/* the S record's, or NULL */
	int		 committed, aborted;
};

/*
 * Parse the journal text[0..len) (a pure function: no system call).
 * root is the tree's absolute path, against which format 1's absolute
 * directories are made relative (NULL: format 1 is refused).  A D
 * record's dir and name are its parent and its own name.  Every field
 * is checked; on any error, -1 with errno EINVAL, *errline (1 is the
 * header) and *errmsg saying what is wrong, and nothing in j to free.
 */
int	hs_journal_parse(const char *text, size_t len, const char *root,
	    struct hs_jtext *, unsigned long *errline, const char **errmsg);
void	hs_journal_text_free(struct hs_jtext *);

/*
 * Open the directory rel (relative, plain components, or ".") beneath
 * rootfd for reading, following no symbolic link and no "..": ELOOP if
 * a component is a symbolic link.  openat2(2) RESOLVE_BENEATH, or on a
 * kernel without it a walk one component at a time with O_NOFOLLOW.
 */
int	hs_open_beneath(int rootfd, const char *rel);
/* The absolute path of the open file fd (from /proc/self/fd). */
int	hs_fd_path(int fd, char *buf, size_t len);

/*
 * Carry out the journal in rootfd, if any, and remove it.  The journal
 * is trusted only if it is a regular file owned by the effective user,
 * with no group or other permission, one link and at most
 * HS_JOURNAL_MAX bytes, and parses whole; anything else is refused
 * before anything is done (errno EPERM, ELOOP, EFBIG or EINVAL).  Every
 * directory it names is reached beneath rootfd (hs_open_beneath) before
 * the first step.  *outcome: 1 the transaction is complete (every
 * rename made: the tree is new), -1 it is rolled back (the tree is old),
 * 0 neither (no journal, or a failure before either end).  A failure
 * with *outcome 1 or -1 leaves only cleanup (old links, directory
 * fsyncs, the journal itself) to a later replay.  res->target must hold the root's path on entry (for
 * messages); on failure it holds the journal's path, or the directory
 * where a step failed.
 */
int	hs_journal_replay(int rootfd, int sync, int *outcome,
	    struct hs_result *);
/*
 * The same for the journal this process is writing, read back from its
 * descriptor (opened O_RDWR), not by name, which another user who may
 * write the root can remove or replace; the name is removed only while
 * it is still that file.
 */
int	hs_journal_replay_held(const struct hs_journal *, int sync,
	    int *outcome, struct hs_result *);
/* 1 if the journal's name is still the file written, 0 if not, -1. */
int	hs_journal_is_ours(const struct hs_journal *);

#endif /* HS_INTERNAL_H */

/*
 * txn.h - contracts between the modules of the transaction, src/txn/:
 * the journal (written, read back, replayed) and the directories it
 * names beneath the tree's root.  Built on the engine's install.h.  Not
 * installed; the public API is include/hotswap.h.
 *
 * Layer src/txn/ owns many files as one transaction: staging (txn.c,
 * tree.c for -r, manifest.c's parser for --manifest), the journal
 * (journal.c writes and parses it, journal_read.c reads and judges it),
 * its replay forward and backward (recover.c) and the directories
 * beneath the root (beneath.c).  It may call the engine (src/install/)
 * and the seam (src/sys/); nothing above.
 */
#ifndef HS_TXN_H
#define HS_TXN_H

#include <sys/types.h>
#include <stddef.h>

#include "hotswap.h"
#include "ring.h"

/*
 * txn.c: the way tree.c stages, by descriptors.  A destination
 * directory is opened and named in the journal once (hs_txn_dest_open,
 * by path as hs_dest_open() would); each file is then staged from the
 * source descriptor the walk holds (in, with its fstat sst) as name in
 * that directory.  1 means "take the path way" (hs_txn_add): a dry run,
 * or a destination that is a symbolic link to be followed.
 */
struct hs_txn_dest {
	int dirfd;	 /* or -1 */
	const char *dir; /* its name in the journal */
	dev_t dev;
	int made_known; /* a temporary made here was owned by: */
	uid_t made_uid;
	gid_t made_gid;
	int acl_known; /* its default ACL was asked: */
	int acl;       /* 1 it has one, 0 not, -1 cannot tell */
	/*
	 * Set by the caller before each hs_txn_add_at(): how many regular
	 * files, this one included, it will stage here one after another
	 * (0: it cannot tell).  Unnamed temporaries for that many may be
	 * opened at once, by io_uring, and kept in pool until used;
	 * hs_txn_dest_drain() closes what is left.
	 */
	unsigned int ahead;
	int *pool;
	unsigned int npool;
	mode_t pool_mode; /* what they were opened with */
	int no_pool;	  /* a fill opened none: open one by one here */
};
struct stat;
struct hs_txn;
int hs_txn_dest_open(struct hs_txn *, const char *dir, struct hs_txn_dest *,
    struct hs_result *);
void hs_txn_dest_close(struct hs_txn_dest *);
void hs_txn_dest_drain(struct hs_txn_dest *);
int hs_txn_add_at(struct hs_txn *, int in, const struct stat *sst,
    const char *src, struct hs_txn_dest *, const char *name, const char *dst,
    struct hs_result *);

/* journal.c: a transaction's journal in its root directory, its format. */
#define HS_JOURNAL	  ".hotswap-journal"
#define HS_JOURNAL_HEADER "hotswap-journal 2\n"
/* The largest journal written or read: about 300,000 files. */
#define HS_JOURNAL_MAX	  (64 << 20)

struct hs_journal {
	int rootfd;  /* borrowed */
	int fd;	     /* O_RDWR|O_APPEND, or -1 */
	size_t size; /* bytes written */
};

/*
 * Writing.  dir is relative to the root ("." for the root itself) and
 * made of plain components; name and aux are single components.
 */
int hs_journal_create(int rootfd, struct hs_journal *);
int hs_journal_add(struct hs_journal *, char type, const char *dir,
    const char *name, const char *aux, int kind);
/* An O record: aux links the old dir/name, inode ino of device dev. */
int hs_journal_add_old(struct hs_journal *, const char *dir, const char *name,
    const char *aux, dev_t dev, ino_t ino);
/*
 * A T record (tmp will replace dir/name) and the O record of the same
 * name (old links the old inode) in one write, before either name is
 * taken.
 */
int hs_journal_add_pair(struct hs_journal *, const char *dir, const char *name,
    const char *tmp, int kind, const char *old, dev_t dev, ino_t ino);
/* X: cancel the record before (n 1), or the T and O pair before (n 2). */
int hs_journal_cancel(struct hs_journal *, int n);
int hs_journal_commit(struct hs_journal *, int sync);
void hs_journal_remove(struct hs_journal *);
/* 1 if the journal's name is still the file written, 0 if not, -1. */
int hs_journal_is_ours(const struct hs_journal *);

/* A record read back; X records are folded into "cancelled". */
struct hs_jrec {
	char type;	  /* S D T O C A */
	int kind;	  /* T: 0-2, else -1 */
	int cancelled;	  /* an X followed it */
	const char *dir;  /* D T O: relative, plain, or "." */
	const char *name; /* D T O: one component */
	const char *aux;  /* T: temporary, O: old link; S */
	int has_id;	  /* O: dev and ino were recorded */
	dev_t dev;	  /* O: the old inode's identity */
	ino_t ino;
};

struct hs_jtext {
	char *buf; /* the strings of rec point here */
	struct hs_jrec *rec;
	size_t n;
	const char *suffix; /* the S record's, or NULL */
	int committed, aborted;
};

/*
 * Parse the journal text[0..len) (a pure function: no system call).
 * root is the tree's absolute path, against which format 1's absolute
 * directories are made relative (NULL: format 1 is refused).  A D
 * record's dir and name are its parent and its own name.  Every field
 * is checked; on any error, -1 with errno EINVAL, *errline (1 is the
 * header) and *errmsg saying what is wrong, and nothing in j to free.
 */
int hs_journal_parse(const char *text, size_t len, const char *root,
    struct hs_jtext *, unsigned long *errline, const char **errmsg);
void hs_journal_text_free(struct hs_jtext *);

/* journal_read.c: a journal read back from the disk and judged. */

/*
 * The journal of the tree rootfd, read and checked as hs_journal_replay
 * says, parsed into *p: 1 if there is one, 0 if there is none, -1 with
 * res set if it is refused or cannot be read.  res->target must hold the
 * journal's path on entry, for messages.  hs_journal_text_free(p) after
 * a 1.
 */
int hs_journal_load(int rootfd, struct hs_jtext *p, struct hs_result *);
/*
 * The journal hj this process is writing, read back from its descriptor
 * and parsed into *p: 0, or -1 with res set as hs_journal_load's.
 */
int hs_journal_load_held(const struct hs_journal *hj, struct hs_jtext *p,
    struct hs_result *);

/* beneath.c: the directories a journal names, beneath the root. */

/*
 * Open the directory rel (relative, plain components, or ".") beneath
 * rootfd for reading, following no symbolic link and no "..": ELOOP if
 * a component is a symbolic link.  openat2(2) RESOLVE_BENEATH, or on a
 * kernel without it a walk one component at a time with O_NOFOLLOW.
 */
int hs_open_beneath(int rootfd, const char *rel);
/* The absolute path of the open file fd (from /proc/self/fd). */
int hs_fd_path(int fd, char *buf, size_t len);

/*
 * batch.c: a replay's steps, and staging's unnamed temporaries, in
 * batches, by io_uring or plain calls.
 */

/* Most ops in a batch (and in flight in a ring). */
#define HS_BATCH_MAX	 256
/* Ops of each kind timed by plain calls before the rule judges them,
 * and the fewest it judges at once. */
#define HS_BATCH_PROBE	 32
/* A plain call this slow or slower (a mean over HS_BATCH_PROBE calls or
 * more): the ring. */
#define HS_BATCH_SLOW_NS 100000u

struct hs_batch_mem;
struct hs_batch {
	int rootfd;	   /* borrowed */
	unsigned int io;   /* HS_IO_PLAIN, HS_IO_URING or 0 (the rule) */
	struct hs_rop *op; /* [n] */
	size_t n;
	enum hs_rop_kind kind; /* of the ops in this batch */
	size_t nfd;	       /* directories open for it */
	struct hs_ring *ring;
	int no_ring; /* none could be had: plain from now on */
	/*
	 * Per kind: the ops timed by plain calls; those not yet judged
	 * and the time they took; whether the rule chose the ring.
	 */
	unsigned long timed[HS_ROP_KINDS];
	unsigned long win_n[HS_ROP_KINDS];
	uint64_t win_ns[HS_ROP_KINDS];
	int by_ring[HS_ROP_KINDS];
	unsigned long ring_ops; /* ops carried out by a ring */
	struct hs_batch_mem *m;
};

/*
 * Calling sequence:
 *	hs_batch_init(&b, rootfd, io);
 *	for each step:
 *		op = hs_batch_next(&b, kind, dir, name, arg);
 *		(NULL: dir cannot be opened; errno ENOENT: it is gone)
 *		set op->to for a rename (hs_batch_to: a buffer for it)
 *		if (hs_batch_full(&b))
 *			hs_batch_run(&b), judge b.op[0..b.n), hs_batch_clear(&b);
 *	the same for what is left; hs_batch_free(&b).
 * The ops of one batch are of one kind.  hs_batch_init: -1 (ENOMEM).
 * hs_batch_next_at: the same in the directory dirfd, the caller's, which
 * the batch does not close.  hs_batch_ring: whether the next batch of
 * kind goes by the ring as the rule stands (so is worth filling).
 */
int hs_batch_init(struct hs_batch *, int rootfd, unsigned int io);
struct hs_rop *hs_batch_next(struct hs_batch *, enum hs_rop_kind,
    const char *dir, const char *name, void *arg);
struct hs_rop *hs_batch_next_at(struct hs_batch *, enum hs_rop_kind, int dirfd,
    const char *name, void *arg);
int hs_batch_ring(const struct hs_batch *, enum hs_rop_kind);
char *hs_batch_to(struct hs_batch *, const struct hs_rop *);
int hs_batch_full(const struct hs_batch *);
void hs_batch_run(struct hs_batch *);
void hs_batch_clear(struct hs_batch *);
void hs_batch_free(struct hs_batch *);

/* recover.c: a journal carried out. */

/* How a replay goes, and what it did. */
struct hs_replay {
	int sync;		/* fsync the directories */
	unsigned int io;	/* HS_IO_PLAIN, HS_IO_URING or 0 */
	unsigned long ring_ops; /* out: steps made by io_uring */
};

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
 * fsyncs, the journal itself) to a later replay.  res->target must hold
 * the root's path on entry (for messages); on failure it holds the
 * journal's path, or the directory where a step failed.  Forward, the
 * renames and the old links' removal go in batches (batch.c), as rp->io
 * says; rp->ring_ops grows by the steps io_uring made.
 */
int hs_journal_replay(int rootfd, struct hs_replay *, int *outcome,
    struct hs_result *);
/*
 * The same for the journal this process is writing, read back from its
 * descriptor (opened O_RDWR), not by name, which another user who may
 * write the root can remove or replace; the name is removed only while
 * it is still that file.
 */
int hs_journal_replay_held(const struct hs_journal *, struct hs_replay *,
    int *outcome, struct hs_result *);
#endif /* HS_TXN_H */

/*
 * ring.h - independent file-system operations in batches, by io_uring
 * or one plain call each.
 *
 * A tree's commit makes thousands of renames, stats and unlinks that do
 * not depend on each other, and its staging thousands of unnamed
 * temporaries in a few directories.  Where each one blocks on the disk (ext4
 * with `discard` trims the blocks an unlink frees before it returns),
 * io_uring's kernel workers wait for them side by side; where they do
 * not block, handing them to the workers costs more than the system
 * calls it saves (tests/bench/stage_uring.c measured both).  So the
 * caller chooses, per batch, by a ring or by none (txn/batch.c has
 * the rule).
 *
 * Both ways go through the seam: the ring by hs_sys.ring_open and
 * hs_sys.ring_run, the plain way by the entry of each call (renameat2,
 * fstatat, unlinkat, openat), so that a test injects a fault into
 * either.
 *
 * Calling sequence:
 *	r = hs_sys.ring_open(depth);	NULL: use the plain way
 *	hs_rops_run(r, ops, n);		as often as needed
 *	hs_ring_close(r);
 */
#ifndef HS_RING_H
#define HS_RING_H

#include <sys/stat.h>
#include <limits.h>
#include <stddef.h>

enum hs_rop_kind {
	HS_ROP_STAT,	/* fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) */
	HS_ROP_RENAME,	/* renameat2(dirfd, name, dirfd, to, 0) */
	HS_ROP_UNLINK,	/* unlinkat(dirfd, name, 0) */
	HS_ROP_TMPFILE, /* openat(dirfd, ".", O_TMPFILE | O_WRONLY |
			   O_CLOEXEC, mode): res the descriptor */
};
#define HS_ROP_KINDS 4

/* Not yet carried out (a res no call returns: not 1, a descriptor). */
#define HS_ROP_PENDING INT_MIN

struct hs_rop {
	enum hs_rop_kind kind;
	int dirfd;
	const char *name;
	const char *to; /* HS_ROP_RENAME: the new name, in dirfd */
	struct stat st; /* HS_ROP_STAT: the result (mode, ino, dev,
			    nlink, uid, gid, size and times) */
	mode_t mode;	/* HS_ROP_TMPFILE: the mode to create with */
	int res;	/* 0 (HS_ROP_TMPFILE: the descriptor), or -errno
			   (HS_ROP_PENDING before) */
	int by_ring;	/* out: 1 the ring made the call, 0 a plain one */
	void *arg;	/* the caller's */
};

struct hs_ring;

/*
 * The seam's defaults (sys.c names them).  ring_open: a ring of depth
 * entries that has the four operations, or NULL with errno: ENOSYS or
 * EPERM where io_uring is disabled (kernel.io_uring_disabled) or
 * filtered (a seccomp profile), EOPNOTSUPP on a kernel older than
 * Linux 5.11 (no UNLINKAT or RENAMEAT).  ring_run: carry out ops[0..n),
 * at most depth of them in flight at once, in no particular order, and
 * set every res; 0, or -1 with errno if the ring itself failed, with
 * the ops it did not carry out left at HS_ROP_PENDING.  (A ring that
 * fails with an HS_ROP_TMPFILE in flight may have opened it without
 * telling: that descriptor, of a file with no name, stays open.)
 */
struct hs_ring *hs_ring_open_real(unsigned int depth);
int hs_ring_run_real(struct hs_ring *, struct hs_rop *ops, size_t n);

/* Close a ring (NULL is a no-op). */
void hs_ring_close(struct hs_ring *);

/*
 * Carry out ops[0..n) by the ring r, or with r NULL by one plain call
 * each, in order; what a failed ring left pending is then done plainly.
 * Every op is tried, whatever the others' results (each is the caller's
 * to judge: an ENOENT may mean "done before"), and every res is set.
 * Returns how many of them the ring carried out.
 */
size_t hs_rops_run(struct hs_ring *r, struct hs_rop *ops, size_t n);

#endif /* HS_RING_H */

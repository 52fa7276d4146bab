/*
 * ring.c - batches of renames, stats, unlinks and unnamed temporaries,
 * by io_uring (liburing)
 * or by one plain call each through the seam.
 *
 * The ring is never shared: one caller opens it, fills it and closes
 * it.  No more than depth operations are in flight, so the completion
 * queue (twice as deep) cannot overflow.  The statx(2) results are
 * written by the kernel into buffers the ring owns, one per slot, so an
 * operation's buffer lives as long as the ring, not as long as the
 * caller's array.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "sys.h"

struct hs_ring {
	struct io_uring ring;
	unsigned int depth;
	struct statx *stx;  /* [depth]: one a slot */
	size_t *slot_op;    /* [depth]: which op a slot carries */
	unsigned int *free; /* [depth]: a stack of free slots */
	unsigned int nfree;
	int broken; /* the kernel may still write into stx */
};

/* The operations a replay and staging need, all present? */
static int
has_ops(struct io_uring *ring)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	int ok;

	if (p == NULL)
		return 0;
	ok = io_uring_opcode_supported(p, IORING_OP_STATX) &&
	    io_uring_opcode_supported(p, IORING_OP_RENAMEAT) &&
	    io_uring_opcode_supported(p, IORING_OP_UNLINKAT) &&
	    io_uring_opcode_supported(p, IORING_OP_OPENAT);
	io_uring_free_probe(p);
	return ok;
}

struct hs_ring *
hs_ring_open_real(unsigned int depth)
{
	struct hs_ring *r = calloc(1, sizeof(*r));
	unsigned int i;
	int e;

	if (r == NULL)
		return NULL;
	r->depth = depth;
	r->stx = calloc(depth, sizeof(*r->stx));
	r->slot_op = calloc(depth, sizeof(*r->slot_op));
	r->free = calloc(depth, sizeof(*r->free));
	if (r->stx == NULL || r->slot_op == NULL || r->free == NULL) {
		e = ENOMEM;
		goto fail;
	}
	if ((e = -io_uring_queue_init(depth, &r->ring, 0)) != 0)
		goto fail;
	if (!has_ops(&r->ring)) {
		io_uring_queue_exit(&r->ring);
		e = EOPNOTSUPP;
		goto fail;
	}
	for (i = 0; i < depth; i++)
		r->free[r->nfree++] = depth - 1 - i;
	return r;
fail:
	free(r->stx);
	free(r->slot_op);
	free(r->free);
	free(r);
	errno = e;
	return NULL;
}

void
hs_ring_close(struct hs_ring *r)
{
	if (r == NULL)
		return;
	io_uring_queue_exit(&r->ring);
	if (r->broken)
		return; /* leave stx to a kernel that may still write it */
	free(r->stx);
	free(r->slot_op);
	free(r->free);
	free(r);
}

/* statx(2) as fstatat(2) gives it. */
static void
stat_of(const struct statx *x, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_ino = x->stx_ino;
	st->st_mode = x->stx_mode;
	st->st_nlink = x->stx_nlink;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_size = (off_t)x->stx_size;
	st->st_blksize = x->stx_blksize;
	st->st_blocks = (blkcnt_t)x->stx_blocks;
	st->st_atim.tv_sec = x->stx_atime.tv_sec;
	st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

/* Queue op i in a free slot (there is one, and an sqe). */
static void
queue(struct hs_ring *r, struct hs_rop *op, size_t i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	unsigned int slot = r->free[--r->nfree];

	r->slot_op[slot] = i;
	switch (op->kind) {
	case HS_ROP_STAT:
		io_uring_prep_statx(sqe, op->dirfd, op->name,
		    AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &r->stx[slot]);
		break;
	case HS_ROP_RENAME:
		io_uring_prep_renameat(sqe, op->dirfd, op->name, op->dirfd,
		    op->to, 0);
		break;
	case HS_ROP_UNLINK:
		io_uring_prep_unlinkat(sqe, op->dirfd, op->name, 0);
		break;
	case HS_ROP_TMPFILE:
		io_uring_prep_openat(sqe, op->dirfd, ".",
		    O_TMPFILE | O_WRONLY | O_CLOEXEC, op->mode);
		break;
	}
	io_uring_sqe_set_data64(sqe, slot);
}

/* Take one completion: its op's result, its slot freed. */
static void
reap(struct hs_ring *r, struct io_uring_cqe *cqe, struct hs_rop *ops)
{
	unsigned int slot = (unsigned int)io_uring_cqe_get_data64(cqe);
	struct hs_rop *op = &ops[r->slot_op[slot]];

	op->res = cqe->res < 0 || op->kind == HS_ROP_TMPFILE ? cqe->res : 0;
	if (op->kind == HS_ROP_STAT && op->res == 0)
		stat_of(&r->stx[slot], &op->st);
	io_uring_cqe_seen(&r->ring, cqe);
	r->free[r->nfree++] = slot;
}

/*
 * Keep the ring full: queue what fits, submit, wait for at least one
 * completion, take every one there is, until all are done.  EINTR (a
 * signal while waiting) and EBUSY/EAGAIN (the kernel short of room for
 * now) only mean "wait again".
 */
int
hs_ring_run_real(struct hs_ring *r, struct hs_rop *ops, size_t n)
{
	struct io_uring_cqe *cqe;
	size_t next = 0, done = 0;
	int e;

	if (r->broken) {
		errno = EIO;
		return -1;
	}
	while (done < n) {
		while (next < n && r->nfree > 0)
			queue(r, &ops[next], next), next++;
		e = io_uring_submit_and_wait(&r->ring, 1);
		if (e < 0 && e != -EINTR && e != -EBUSY && e != -EAGAIN) {
			/* Queued, perhaps in flight: never free stx now. */
			r->broken = 1;
			errno = -e;
			return -1;
		}
		while (io_uring_peek_cqe(&r->ring, &cqe) == 0)
			reap(r, cqe, ops), done++;
	}
	return 0;
}

/* One op by its plain call through the seam: its res. */
static int
plain(struct hs_rop *op)
{
	int r;

	switch (op->kind) {
	case HS_ROP_STAT:
		r = hs_sys.fstatat(op->dirfd, op->name, &op->st,
		    AT_SYMLINK_NOFOLLOW);
		break;
	case HS_ROP_RENAME:
		r = hs_sys.renameat2(op->dirfd, op->name, op->dirfd, op->to, 0);
		break;
	case HS_ROP_TMPFILE:
		r = hs_openat(op->dirfd, ".", O_TMPFILE | O_WRONLY, op->mode);
		return r == -1 ? -errno : r;
	default: r = hs_sys.unlinkat(op->dirfd, op->name, 0); break;
	}
	return r == -1 ? -errno : 0;
}

size_t
hs_rops_run(struct hs_ring *r, struct hs_rop *ops, size_t n)
{
	size_t i, ringed = n;
	int serrno = errno;

	for (i = 0; i < n; i++)
		ops[i].res = HS_ROP_PENDING;
	if (r != NULL)
		(void)hs_sys.ring_run(r, ops, n);
	for (i = 0; i < n; i++) {
		ops[i].by_ring = r != NULL && ops[i].res != HS_ROP_PENDING;
		if (ops[i].res == HS_ROP_PENDING) {
			ops[i].res = plain(&ops[i]);
			ringed--;
		}
	}
	errno = serrno;
	return r != NULL ? ringed : 0;
}

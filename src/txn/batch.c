/*
 * batch.c - a replay's renames, stats and unlinks, and staging's unnamed
 * temporaries, in batches, and the rule that chooses io_uring or plain
 * calls for each batch.
 *
 * The rule.  io_uring pays only where the calls block on the disk
 * (tests/bench/stage_uring.c, README): its kernel workers then wait side
 * by side; where the kernel's work is CPU, as on tmpfs or an idle ext4,
 * handing each call to a worker costs more than the system call saved.
 * Which one a filesystem is, under today's load, is not known from its
 * type or mount options (the same ext4 blocks with `discard` and not
 * without), so it is measured: the first HS_BATCH_PROBE operations of a
 * kind go by plain calls and are timed, and so is every later plain
 * batch; the time is judged over HS_BATCH_PROBE operations at least
 * (batches are cut short where the kinds of file change, and one slow
 * call must not decide), and once they took HS_BATCH_SLOW_NS each or
 * more, that kind goes by io_uring for the rest of the replay (or of
 * staging).  A tree of fewer than HS_BATCH_PROBE files never reaches the
 * ring.
 * HS_IO_PLAIN and HS_IO_URING force a way; where no ring can be had
 * (io_uring disabled, filtered, or too old) every batch is plain, and
 * the replay goes on.
 *
 * Either way the results are the same and judged by the caller, op by
 * op, in the order the journal lists them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "sys.h"
#include "txn.h"

struct hs_batch_mem {
	struct hs_rop op[HS_BATCH_MAX];
	char to[HS_BATCH_MAX][NAME_MAX + 1];
	int fd[HS_BATCH_MAX];
	const char *fdpath[HS_BATCH_MAX];
};

int
hs_batch_init(struct hs_batch *b, int rootfd, unsigned int io)
{
	memset(b, 0, sizeof(*b));
	b->rootfd = rootfd;
	b->io = io;
	if ((b->m = calloc(1, sizeof(*b->m))) == NULL)
		return -1;
	b->op = b->m->op;
	return 0;
}

/* Close the batch's directories; its ops are gone with them. */
void
hs_batch_clear(struct hs_batch *b)
{
	size_t i;

	if (b->m == NULL)
		return;
	for (i = 0; i < b->nfd; i++)
		(void)hs_close(b->m->fd[i]);
	b->nfd = 0;
	b->n = 0;
}

void
hs_batch_free(struct hs_batch *b)
{
	int serrno = errno;

	hs_batch_clear(b);
	hs_ring_close(b->ring);
	b->ring = NULL;
	free(b->m);
	b->m = NULL;
	errno = serrno;
}

/* The directory rel, open for this batch (the last one is reused). */
static int
batch_dir(struct hs_batch *b, const char *rel)
{
	struct hs_batch_mem *m = b->m;
	int fd;

	if (b->nfd > 0 && strcmp(m->fdpath[b->nfd - 1], rel) == 0)
		return m->fd[b->nfd - 1];
	if ((fd = hs_open_beneath(b->rootfd, rel)) == -1)
		return -1;
	m->fd[b->nfd] = fd;
	m->fdpath[b->nfd++] = rel;
	return fd;
}

struct hs_rop *
hs_batch_next_at(struct hs_batch *b, enum hs_rop_kind kind, int fd,
    const char *name, void *arg)
{
	struct hs_rop *op = &b->op[b->n];

	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->dirfd = fd;
	op->name = name;
	op->arg = arg;
	b->kind = kind;
	b->n++;
	return op;
}

struct hs_rop *
hs_batch_next(struct hs_batch *b, enum hs_rop_kind kind, const char *rel,
    const char *name, void *arg)
{
	int fd = batch_dir(b, rel);

	return fd == -1 ? NULL : hs_batch_next_at(b, kind, fd, name, arg);
}

char *
hs_batch_to(struct hs_batch *b, const struct hs_rop *op)
{
	return b->m->to[op - b->op];
}

/* Is the kind of this batch still being timed by plain calls? */
static int
probing(const struct hs_batch *b)
{
	return !(b->io & (HS_IO_PLAIN | HS_IO_URING)) && !b->by_ring[b->kind] &&
	    b->timed[b->kind] < HS_BATCH_PROBE;
}

int
hs_batch_full(const struct hs_batch *b)
{
	return b->n >= (probing(b) ? HS_BATCH_PROBE : HS_BATCH_MAX);
}

int
hs_batch_ring(const struct hs_batch *b, enum hs_rop_kind kind)
{
	return !(b->io & HS_IO_PLAIN) && !b->no_ring &&
	    ((b->io & HS_IO_URING) || b->by_ring[kind]);
}

/* A ring for this batch, if the rule says so and one can be had. */
static struct hs_ring *
ring_for(struct hs_batch *b)
{
	if (!hs_batch_ring(b, b->kind))
		return NULL;
	if (b->ring == NULL &&
	    (b->ring = hs_sys.ring_open(HS_BATCH_MAX)) == NULL) {
		b->no_ring = 1; /* disabled, filtered or too old: plain */
		return NULL;
	}
	return b->ring;
}

void
hs_batch_run(struct hs_batch *b)
{
	struct hs_ring *r = ring_for(b);
	uint64_t t0, ns;

	if (r != NULL) {
		b->ring_ops += hs_rops_run(r, b->op, b->n);
		return;
	}
	t0 = hs_sys.clock_ns();
	(void)hs_rops_run(NULL, b->op, b->n);
	ns = hs_sys.clock_ns() - t0;
	b->timed[b->kind] += b->n;
	b->win_n[b->kind] += b->n;
	b->win_ns[b->kind] += ns;
	if (b->win_n[b->kind] < HS_BATCH_PROBE)
		return;
	if (b->win_ns[b->kind] / b->win_n[b->kind] >= HS_BATCH_SLOW_NS)
		b->by_ring[b->kind] = 1;
	b->win_n[b->kind] = 0;
	b->win_ns[b->kind] = 0;
}

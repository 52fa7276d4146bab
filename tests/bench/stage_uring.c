/*
 * stage_uring.c - what io_uring could win for install -r's staging and
 * commit (issue 18): the kernel work hotswap does for each file, made by
 * plain system calls and by batches of io_uring submissions, side by
 * side.  A benchmark, never a test.
 *
 *	stage_uring [-n files] [-p per-dir] [-s KiB] [-r runs] [-b batch]
 *	            [-B batch] [-P batch] DIR
 *
 * DIR/src holds -n files (default 1000) of -s KiB (default 10) of random
 * bytes, -p a directory (default 100), and DIR/dst a copy: every
 * destination exists, as on install -r's common path.  The walk
 * (getdents of every source directory) comes first and is timed with
 * the staging.
 *
 * The plain way makes hotswap's calls for each file, call for call
 * (strace of install -r, main f6f7149).  Staging: openat of the source
 * (O_NOFOLLOW), fstat of it, fstatat of the destination, llistxattr by
 * /proc/self/fd/D/NAME, O_TMPFILE in the destination's directory with
 * the final mode, copy_file_range, sync_file_range(WRITE), the T and O
 * records in one write to a journal file, linkat of the temporary's
 * name (AT_EMPTY_PATH), linkat of the old inode's link, close, close:
 * 12 calls.  Commit: renameat of the temporary over the name, fstatat
 * of the old link (its inode checked to be the old one), unlinkat of
 * it: 3 calls.  The fsyncs and syncfs of a real commit are the same for
 * every way and left out.
 *
 * The exchange way is the plain way with a design not in hotswap: no
 * link of the old inode at staging, and at the commit renameat2 with
 * RENAME_EXCHANGE of the temporary and the name, so that the old inode
 * is left under the temporary's name, then fstatat and unlinkat of that:
 * 14 calls, what it would save of the kernel's work measured before the
 * journal format it needs is built.
 *
 * The uring ways (-b and -B files a batch, defaults 16 and 256) take the
 * same steps for a batch of files at once, each round one
 * io_uring_enter that submits the batch's operations and waits for them
 * all: (1) IORING_OP_OPENAT of each source, STATX of each destination,
 * OPENAT of each O_TMPFILE; llistxattr of each destination by a plain
 * call (io_uring has no listxattr); (2) STATX of each open source
 * (AT_EMPTY_PATH) and READ of it into a buffer; (3) WRITE of the
 * buffer into the temporary linked to its SYNC_FILE_RANGE, and CLOSE of
 * the source; the batch's records in one plain write to the journal;
 * (4) LINKAT of each temporary's name linked to its CLOSE, and LINKAT
 * of each old link.  Commit: (5) RENAMEAT of each temporary and STATX of
 * each old link; (6) UNLINKAT of each old link that is still the old
 * inode.  A file larger than its buffer is finished by copy_file_range.
 * The ring is set up with SINGLE_ISSUER and DEFER_TASKRUN where the
 * kernel has them.  io_uring runs the operations that can block
 * (O_TMPFILE opens, statx, linkat, renameat, unlinkat) on its kernel
 * workers: their CPU time is the process's and is counted.
 *
 * The tmpfile way (-P files a batch, default 64) is the plain way but
 * for the O_TMPFILE opens, which a batch makes at once by io_uring
 * before its files are staged one by one: what install -r does where
 * its rule takes the ring for its temporaries (src/txn/txn.c).
 *
 * Ways alternate run by run (run 1 of each, then run 2 of each); an
 * untimed run of each first warms the caches.  After each run, untimed:
 * every destination directory is checked to hold its files and no other
 * name, the journal is emptied, syncfs(2) of DIR.  Printed for each way:
 * the median and minimum wall time of staging and of commit, the median
 * CPU time (user + system of every thread, io_uring's workers
 * included), the system calls a file this program made (the walk
 * excluded), and each way's median against the plain way's; the load
 * average before and after.
 *
 * Exit status: 0, or 1 after the first failure (reported).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/stat.h>
#include <sys/xattr.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage_common.h"

#define WAYS	5
#define PLAIN	0
#define XCHG	1   /* the ways below it make plain calls */
#define PRE	4   /* plain, but a batch's temporaries opened by the ring */
#define RECORDS 160 /* a file's T and O records fit */

/* What one completion was, in user_data's low bits. */
enum op {
	OP_OPEN,     /* the source opened */
	OP_DSTAT,    /* the destination's statx */
	OP_TMPFILE,  /* the unnamed temporary */
	OP_SSTAT,    /* the open source's statx */
	OP_READ,     /* the source's bytes */
	OP_WRITE,    /* ... into the temporary */
	OP_SFR,	     /* its writeback started */
	OP_CLOSE_IN, /* the source closed */
	OP_LINK_T,   /* the temporary's name */
	OP_CLOSE_T,  /* the temporary closed */
	OP_LINK_O,   /* the old inode's link */
	OP_RENAME,   /* the temporary over the name */
	OP_OSTAT,    /* the old link's statx */
	OP_UNLINK,   /* the old link removed */
	NOPS
};
#define OPBITS 4

static const char *const op_name[NOPS] = { "openat", "statx", "O_TMPFILE",
	"statx", "read", "write", "sync_file_range", "close", "linkat T",
	"close", "linkat O", "renameat", "statx", "unlinkat" };

struct file {
	struct stage_name n; /* first: the walk fills it */
	char tn[32], on[32]; /* the temporary's and the old link's names */
	int in, tmp;
	struct statx sst, dst, old;
	int res[NOPS];
};

static struct {
	struct stage_tree t;
	int batch[WAYS];
	size_t bufsz;
	char *bufs;  /* a buffer for each file of the largest batch */
	char *lines; /* the journal records of the largest batch */
	struct file *files;
	int nlisted;
	int run;
	struct io_uring ring;
	long calls;  /* system calls made by the timed part */
	int waiting; /* completions the round still waits for */
	struct io_uring_sqe *last;
} g;

static const char *
way_label(int w, char *buf, size_t len)
{
	if (w == PLAIN)
		return "plain";
	if (w == XCHG)
		return "exchange";
	if (w == PRE) {
		(void)snprintf(buf, len, "tmpfile%d", g.batch[w]);
		return buf;
	}
	(void)snprintf(buf, len, "uring%d", g.batch[w]);
	return buf;
}

static void
names(struct file *f)
{
	(void)snprintf(f->tn, sizeof(f->tn), ".%s.hs-T%d", f->n.name, g.run);
	(void)snprintf(f->on, sizeof(f->on), ".%s.hs-O%d", f->n.name, g.run);
}

static int
records(char *line, size_t len, const struct file *f)
{
	return snprintf(line, len, "T d%d %s %s 0\nO d%d %s %s\n", f->n.dir,
	    f->n.name, f->tn, f->n.dir, f->n.name, f->on);
}

static int
write_journal(const char *buf, size_t len)
{
	ssize_t n;

	g.calls++;
	do
		n = write(g.t.jfd, buf, len);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

/* The xattr look hotswap makes on the destination, by a plain call. */
static void
xattr_look(const struct file *f)
{
	char path[64 + NAME_MAX];

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d/%s",
	    g.t.dstfd[f->n.dir], f->n.name);
	g.calls++;
	(void)llistxattr(path, NULL, 0);
}

/* The rest of a file larger than the bytes copied so far. */
static int
copy_rest(struct file *f, off_t done)
{
	off_t left = (off_t)f->sst.stx_size - done;
	ssize_t n;

	while (left > 0) {
		g.calls++;
		n = copy_file_range(f->in, NULL, f->tmp, NULL, (size_t)left, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= n;
	}
	return 0;
}

/* --- the plain way ------------------------------------------------- */

static int
plain_stage(struct file *f, int exchange)
{
	char line[RECORDS];
	struct stat sst, dst;
	int dfd = g.t.dstfd[f->n.dir], len;

	g.calls += 3;
	f->in = openat(g.t.srcfd[f->n.dir], f->n.name,
	    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (f->in == -1 || fstat(f->in, &sst) == -1 ||
	    fstatat(dfd, f->n.name, &dst, AT_SYMLINK_NOFOLLOW) == -1) {
		warn("open or stat %s", f->n.name);
		return -1;
	}
	f->sst.stx_size = (unsigned long long)sst.st_size;
	f->dst.stx_ino = dst.st_ino;
	xattr_look(f);
	if (f->tmp == -1)
		g.calls++;
	if (f->tmp == -1 &&
	    (f->tmp = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
		 sst.st_mode & 0777)) == -1) {
		warn("O_TMPFILE for %s", f->n.name);
		return -1;
	}
	names(f);
	len = records(line, sizeof(line), f);
	g.calls += 1;
	if (copy_rest(f, 0) == -1 ||
	    sync_file_range(f->tmp, 0, 0, SYNC_FILE_RANGE_WRITE) == -1 ||
	    write_journal(line, (size_t)len) == -1) {
		warn("copy %s", f->n.name);
		return -1;
	}
	g.calls += exchange ? 3 : 4;
	if (linkat(f->tmp, "", dfd, f->tn, AT_EMPTY_PATH) == -1 ||
	    (!exchange && linkat(dfd, f->n.name, dfd, f->on, 0) == -1)) {
		warn("link %s", f->n.name);
		return -1;
	}
	(void)close(f->tmp);
	(void)close(f->in);
	return 0;
}

static int
plain_commit(struct file *f)
{
	struct stat old;
	int dfd = g.t.dstfd[f->n.dir];

	g.calls += 3;
	if (renameat(dfd, f->tn, dfd, f->n.name) == -1 ||
	    fstatat(dfd, f->on, &old, AT_SYMLINK_NOFOLLOW) == -1 ||
	    old.st_ino != f->dst.stx_ino || unlinkat(dfd, f->on, 0) == -1) {
		warn("commit %s", f->n.name);
		return -1;
	}
	return 0;
}

/* The exchange way's commit: the temporary and the old inode trade
 * names, and the old inode, now under the temporary's, is removed. */
static int
exchange_commit(struct file *f)
{
	struct stat old;
	int dfd = g.t.dstfd[f->n.dir];

	g.calls += 3;
	if (renameat2(dfd, f->tn, dfd, f->n.name, RENAME_EXCHANGE) == -1 ||
	    fstatat(dfd, f->tn, &old, AT_SYMLINK_NOFOLLOW) == -1 ||
	    old.st_ino != f->dst.stx_ino || unlinkat(dfd, f->tn, 0) == -1) {
		warn("commit %s", f->n.name);
		return -1;
	}
	return 0;
}

/* --- the uring ways ------------------------------------------------ */

/* The next entry, for file i's operation op; the io_uring_prep_ call
 * that fills it keeps user_data and clears the flags. */
static struct io_uring_sqe *
sqe(int i, enum op op)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&g.ring);

	if (s == NULL)
		errx(1, "the ring is full (a batch too large for it)");
	io_uring_sqe_set_data64(s, ((unsigned long long)i << OPBITS) | op);
	g.files[i].res[op] = -EINPROGRESS;
	g.waiting++;
	g.last = s;
	return s;
}

/* The entry just prepared starts only after the one before it ends. */
static void
linked(void)
{
	g.last->flags |= IOSQE_IO_LINK;
}

/* Submit what was prepared and wait for all of it, in one enter when
 * the kernel gives every completion by then. */
static int
round_trip(void)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen;
	unsigned long long d;
	int r;

	g.calls++;
	r = io_uring_submit_and_wait(&g.ring, (unsigned)g.waiting);
	if (r < 0) {
		errno = -r;
		warn("io_uring_submit_and_wait");
		return -1;
	}
	while (g.waiting > 0) {
		seen = 0;
		io_uring_for_each_cqe(&g.ring, head, cqe)
		{
			d = cqe->user_data;
			g.files[d >> OPBITS]
			    .res[d & ((1u << OPBITS) - 1)] = cqe->res;
			seen++;
		}
		io_uring_cq_advance(&g.ring, seen);
		g.waiting -= (int)seen;
		if (g.waiting > 0) {
			g.calls++;
			r = io_uring_wait_cqe_nr(&g.ring, &cqe,
			    (unsigned)g.waiting);
			if (r < 0) {
				errno = -r;
				warn("io_uring_wait_cqe_nr");
				return -1;
			}
		}
	}
	return 0;
}

/* Every operation of the round finished without error. */
static int
check(int lo, int hi, unsigned ops)
{
	int i, op;

	for (i = lo; i < hi; i++)
		for (op = 0; op < NOPS; op++)
			if ((ops & (1u << op)) && g.files[i].res[op] < 0) {
				errno = -g.files[i].res[op];
				warn("%s of %s", op_name[op],
				    g.files[i].n.name);
				return -1;
			}
	return 0;
}

#define B(op)	(1u << (op))
#define RECORDS 160 /* a file's T and O records fit */

static int
uring_stage(int lo, int hi)
{
	char *p;
	struct file *f;
	int i;

	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		names(f);
		io_uring_prep_openat(sqe(i, OP_OPEN), g.t.srcfd[f->n.dir],
		    f->n.name,
		    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
		    0);
		io_uring_prep_statx(sqe(i, OP_DSTAT), g.t.dstfd[f->n.dir],
		    f->n.name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &f->dst);
		/* The mode the destination has: the tree was made so. */
		io_uring_prep_openat(sqe(i, OP_TMPFILE), g.t.dstfd[f->n.dir],
		    ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	}
	if (round_trip() == -1 ||
	    check(lo, hi, B(OP_OPEN) | B(OP_DSTAT) | B(OP_TMPFILE)) == -1)
		return -1;
	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		f->in = f->res[OP_OPEN];
		f->tmp = f->res[OP_TMPFILE];
		xattr_look(f);
		io_uring_prep_statx(sqe(i, OP_SSTAT), f->in, "", AT_EMPTY_PATH,
		    STATX_BASIC_STATS, &f->sst);
		io_uring_prep_read(sqe(i, OP_READ), f->in,
		    g.bufs + (size_t)(i - lo) * g.bufsz, (unsigned)g.bufsz, 0);
	}
	if (round_trip() == -1 || check(lo, hi, B(OP_SSTAT) | B(OP_READ)) == -1)
		return -1;
	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		io_uring_prep_write(sqe(i, OP_WRITE), f->tmp,
		    g.bufs + (size_t)(i - lo) * g.bufsz,
		    (unsigned)f->res[OP_READ], 0);
		linked();
		io_uring_prep_sync_file_range(sqe(i, OP_SFR), f->tmp, 0, 0,
		    SYNC_FILE_RANGE_WRITE);
	}
	if (round_trip() == -1 || check(lo, hi, B(OP_WRITE) | B(OP_SFR)) == -1)
		return -1;
	p = g.lines;
	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		if (f->res[OP_WRITE] != f->res[OP_READ] ||
		    ((unsigned long long)f->res[OP_READ] < f->sst.stx_size &&
			copy_rest(f, f->res[OP_READ]) == -1)) {
			warnx("copy %s: short", f->n.name);
			return -1;
		}
		io_uring_prep_close(sqe(i, OP_CLOSE_IN), f->in);
		p += records(p, RECORDS, f);
	}
	if (write_journal(g.lines, (size_t)(p - g.lines)) == -1) {
		warn("journal");
		return -1;
	}
	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		io_uring_prep_linkat(sqe(i, OP_LINK_T), f->tmp, "",
		    g.t.dstfd[f->n.dir], f->tn, AT_EMPTY_PATH);
		linked();
		io_uring_prep_close(sqe(i, OP_CLOSE_T), f->tmp);
		io_uring_prep_linkat(sqe(i, OP_LINK_O), g.t.dstfd[f->n.dir],
		    f->n.name, g.t.dstfd[f->n.dir], f->on, 0);
	}
	return round_trip() == -1 ||
		check(lo, hi,
		    B(OP_CLOSE_IN) | B(OP_LINK_T) | B(OP_CLOSE_T) |
			B(OP_LINK_O)) == -1 ?
	    -1 :
	    0;
}

static int
uring_commit(int lo, int hi)
{
	struct file *f;
	int i;

	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		io_uring_prep_renameat(sqe(i, OP_RENAME), g.t.dstfd[f->n.dir],
		    f->tn, g.t.dstfd[f->n.dir], f->n.name, 0);
		io_uring_prep_statx(sqe(i, OP_OSTAT), g.t.dstfd[f->n.dir],
		    f->on, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &f->old);
	}
	if (round_trip() == -1 ||
	    check(lo, hi, B(OP_RENAME) | B(OP_OSTAT)) == -1)
		return -1;
	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		/* hotswap removes the old link only if it is the old inode */
		if (f->old.stx_ino != f->dst.stx_ino) {
			warnx("%s: the old link is not the old inode",
			    f->n.name);
			return -1;
		}
		io_uring_prep_unlinkat(sqe(i, OP_UNLINK), g.t.dstfd[f->n.dir],
		    f->on, 0);
	}
	return round_trip() == -1 || check(lo, hi, B(OP_UNLINK)) == -1 ? -1 : 0;
}

/* --- the tree, the walk, the runs ---------------------------------- */

/* fn over the listed files in way w's batches: one file at a time for
 * the plain ways, g.batch[w] files for the uring ways. */
static int
batches(int w, int (*fn)(int w, int lo, int hi))
{
	int i, n;

	n = w <= XCHG ? 1 : g.batch[w];
	for (i = 0; i < g.nlisted; i += n)
		if (fn(w, i, g.nlisted - i < n ? g.nlisted : i + n) == -1)
			return -1;
	return 0;
}

/* The PRE way: the batch's O_TMPFILE opens by the ring, the rest plain. */
static int
pre_stage(int lo, int hi)
{
	struct file *f;
	int i;

	for (i = lo; i < hi; i++) {
		f = &g.files[i];
		io_uring_prep_openat(sqe(i, OP_TMPFILE), g.t.dstfd[f->n.dir],
		    ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	}
	if (round_trip() == -1 || check(lo, hi, B(OP_TMPFILE)) == -1)
		return -1;
	for (i = lo; i < hi; i++) {
		g.files[i].tmp = g.files[i].res[OP_TMPFILE];
		if (plain_stage(&g.files[i], 0) == -1)
			return -1;
	}
	return 0;
}

static int
stage_batch(int w, int lo, int hi)
{
	if (w == PRE)
		return pre_stage(lo, hi);
	if (w <= XCHG)
		g.files[lo].tmp = -1;
	return w <= XCHG ? plain_stage(&g.files[lo], w == XCHG) :
			   uring_stage(lo, hi);
}

static int
commit_batch(int w, int lo, int hi)
{
	int i;

	if (w == PRE) {
		for (i = lo; i < hi; i++)
			if (plain_commit(&g.files[i]) == -1)
				return -1;
		return 0;
	}
	if (w == XCHG)
		return exchange_commit(&g.files[lo]);
	return w == PLAIN ? plain_commit(&g.files[lo]) : uring_commit(lo, hi);
}

static int
stage_all(int w)
{
	if (stage_walk(&g.t, g.files, sizeof(*g.files), &g.nlisted) == -1)
		return -1;
	return batches(w, stage_batch);
}

/* The ring: room for the largest batch's round, 4 entries a file. */
static void
setup_ring(int batch)
{
	struct io_uring_params p;
	unsigned entries = 4;
	int r;

	while (entries < 4u * (unsigned)batch)
		entries *= 2;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
	    IORING_SETUP_SUBMIT_ALL;
	r = io_uring_queue_init_params(entries, &g.ring, &p);
	if (r == -EINVAL) {
		memset(&p, 0, sizeof(p));
		r = io_uring_queue_init_params(entries, &g.ring, &p);
		if (r == 0)
			printf("# the ring without DEFER_TASKRUN: not on this "
			       "kernel\n");
	}
	if (r < 0) {
		errno = -r;
		err(1, "io_uring_queue_init (io_uring disabled or filtered?)");
	}
}

int
main(int argc, char **argv)
{
	double stage[WAYS][STAGE_MAXR], commit[WAYS][STAGE_MAXR],
	    cpu[WAYS][STAGE_MAXR];
	double t0, t1, c0, base, all;
	long calls[WAYS];
	char label[16];
	int runs = 7, w, r, c, big;

	g.t.nfiles = 1000;
	g.t.perdir = 100;
	g.t.kib = 10;
	g.batch[2] = 16;
	g.batch[3] = 256;
	g.batch[PRE] = 64;
	while ((c = getopt(argc, argv, "n:p:s:r:b:B:P:")) != -1)
		switch (c) {
		case 'n': g.t.nfiles = stage_number(optarg, 1, 1000000); break;
		case 'p': g.t.perdir = stage_number(optarg, 1, 1000000); break;
		case 's': g.t.kib = stage_number(optarg, 1, 1 << 16); break;
		case 'r': runs = stage_number(optarg, 1, STAGE_MAXR); break;
		case 'b': g.batch[2] = stage_number(optarg, 1, 4096); break;
		case 'B': g.batch[3] = stage_number(optarg, 1, 4096); break;
		case 'P': g.batch[PRE] = stage_number(optarg, 1, 4096); break;
		default: goto usage;
		}
	if (argc - optind != 1)
		goto usage;
	big = g.batch[2] > g.batch[3] ? g.batch[2] : g.batch[3];
	big = g.batch[PRE] > big ? g.batch[PRE] : big;
	g.bufsz = (size_t)g.t.kib * 1024;
	if ((g.files = calloc((size_t)g.t.nfiles, sizeof(*g.files))) == NULL ||
	    (g.bufs = malloc((size_t)big * g.bufsz)) == NULL ||
	    (g.lines = malloc((size_t)big * RECORDS)) == NULL)
		err(1, "calloc");
	setup_ring(big);
	stage_tree_make(&g.t, argv[optind]);
	for (w = 0; w < WAYS; w++) {
		g.run = 0;
		if (stage_all(w) == -1 || batches(w, commit_batch) == -1)
			errx(1, "way %s failed",
			    way_label(w, label, sizeof(label)));
		stage_settle(&g.t);
	}
	stage_load("before");
	for (r = 0; r < runs; r++)
		for (w = 0; w < WAYS; w++) {
			g.run = r + 1;
			g.calls = 0;
			c0 = stage_cpu_ms();
			t0 = stage_now();
			if (stage_all(w) == -1)
				errx(1, "way %s failed",
				    way_label(w, label, sizeof(label)));
			t1 = stage_now();
			if (batches(w, commit_batch) == -1)
				errx(1, "way %s failed",
				    way_label(w, label, sizeof(label)));
			commit[w][r] = stage_now() - t1;
			stage[w][r] = t1 - t0;
			cpu[w][r] = stage_cpu_ms() - c0;
			calls[w] = g.calls;
			stage_settle(&g.t);
		}
	stage_load("after");
	printf("# %d files x %d KiB, %d a directory, %d runs alternated\n",
	    g.t.nfiles, g.t.kib, g.t.perdir, runs);
	printf("%-9s %9s %9s %9s %9s %9s %9s %9s\n", "way", "stage ms", "min",
	    "commit ms", "min", "cpu ms", "calls/f", "speedup");
	base = stage_median(stage[0], runs) + stage_median(commit[0], runs);
	for (w = 0; w < WAYS; w++) {
		all = stage_median(stage[w], runs) +
		    stage_median(commit[w], runs);
		printf("%-9s %9.1f %9.1f %9.1f %9.1f %9.1f %9.2f %9.2f\n",
		    way_label(w, label, sizeof(label)),
		    stage_median(stage[w], runs), stage_minimum(stage[w], runs),
		    stage_median(commit[w], runs),
		    stage_minimum(commit[w], runs), stage_median(cpu[w], runs),
		    (double)calls[w] / g.t.nfiles, base / all);
	}
	io_uring_queue_exit(&g.ring);
	return 0;
usage:
	fprintf(stderr,
	    "usage: stage_uring [-n files] [-p per-dir] [-s KiB] [-r runs] "
	    "[-b batch] [-B batch] [-P batch] DIR\n");
	return 2;
}

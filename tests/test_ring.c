/*
 * test_ring.c - the commit's batches (src/sys/ring.c, src/txn/batch.c):
 * io_uring and plain calls give the same results op by op; a ring that
 * cannot be had, or fails, leaves the plain way to finish; and the rule
 * sends to io_uring exactly the kinds of step whose plain calls were
 * slow, timed by the seam's clock, which the tests drive.
 *
 * The faults and crashes at every step of a commit by io_uring are
 * test_txn's (test_txn_ring_*), through the same wrapper as the plain
 * way's.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "hotswap.h"
#include "ring.h"
#include "sys.h"
#include "txn.h"

struct fixture {
	char *dir;
	char src[4096], dst[4096];
	int nfiles; /* in the tree, each with an old version in dst */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->dir = tu_mkdtemp();
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->dst, sizeof(f->dst), "%s/dst", f->dir);
	hs_sys_reset();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	hs_sys_reset();
	tu_rmdir(f->dir);
	free(f);
	return 0;
}

/* Can this kernel give us a ring?  (If not, a test says so and skips.) */
static int
ring_works(void)
{
	struct hs_ring *r = hs_sys.ring_open(8);

	hs_ring_close(r);
	return r != NULL;
}

#define NEED_RING()                                              \
	do {                                                     \
		if (!ring_works()) {                             \
			print_message("no io_uring here (%s)\n", \
			    strerror(errno));                    \
			skip();                                  \
		}                                                \
	} while (0)

/* The tree's directories, and the name of its file i. */
static const char *const dirs[] = { "a", "b", "b/c" };

static const char *
file_name(char name[64], int i)
{
	snprintf(name, 64, "%s/f%04d", dirs[i % 3], i);
	return name;
}

/* n files in three directories, new in src, old in dst. */
static void
make_tree(struct fixture *f, int n)
{
	char name[64];
	int i;

	tu_rmtree(f->src);
	tu_rmtree(f->dst);
	assert_int_equal(mkdir(f->src, 0755), 0);
	assert_int_equal(mkdir(f->dst, 0755), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mkdir(tu_path(f->src, dirs[i]), 0755), 0);
		assert_int_equal(mkdir(tu_path(f->dst, dirs[i]), 0755), 0);
	}
	for (i = 0; i < n; i++) {
		tu_write_str(tu_path(f->src, file_name(name, i)), "new\n");
		tu_write_str(tu_path(f->dst, name), "old\n");
	}
	f->nfiles = n;
}

/* Every file new, no temporary, no old link, no journal left. */
static void
assert_tree_new(struct fixture *f)
{
	char name[64];
	int i, k, files = 0;

	for (i = 0; i < f->nfiles; i++)
		tu_assert_content(tu_path(f->dst, file_name(name, i)), "new\n");
	/* a and b/c hold only their files; b holds its files and c. */
	for (k = 0; k < 3; k++)
		files += tu_count(tu_path(f->dst, dirs[k]));
	assert_int_equal(files, f->nfiles + 1);
	assert_int_equal(tu_count(f->dst), 2);
}

/* One transaction of the tree with flags; its stats (copied). */
static struct hs_txn_stats
commit_tree(struct fixture *f, unsigned int flags)
{
	struct hs_install_opts o;
	struct hs_txn_stats st;
	struct hs_result res;
	struct hs_txn *t;

	hs_install_opts_init(&o);
	o.flags |= flags;
	t = hs_txn_open(f->dst, &o, &res);
	assert_non_null(t);
	assert_int_equal(hs_txn_lock(t, 1, &res), 0);
	assert_int_equal(hs_txn_add_tree(t, f->src, f->dst, NULL, NULL, &res),
	    0);
	if (hs_txn_commit(t, &res) == -1)
		fail_msg("commit: %s '%s': %s", res.step, res.target,
		    strerror(errno));
	st = *hs_txn_stats(t);
	hs_txn_free(t);
	return st;
}

/* --- hs_rops_run: the ring and the plain way agree ------------------- */

enum { NOPS = 7 };

/* The same seven ops, on a directory set up the same way. */
static void
mixed_ops(int dirfd, struct hs_rop *op)
{
	static const struct {
		enum hs_rop_kind kind;
		const char *name, *to;
	} spec[NOPS] = {
		{ HS_ROP_STAT, "file", NULL },
		{ HS_ROP_STAT, "missing", NULL },
		{ HS_ROP_STAT, "link", NULL },
		{ HS_ROP_RENAME, "from", "to" },
		{ HS_ROP_RENAME, "gone", "to2" },
		{ HS_ROP_UNLINK, "victim", NULL },
		{ HS_ROP_UNLINK, "sub", NULL },
	};
	int i;

	memset(op, 0, NOPS * sizeof(*op));
	for (i = 0; i < NOPS; i++) {
		op[i].kind = spec[i].kind;
		op[i].dirfd = dirfd;
		op[i].name = spec[i].name;
		op[i].to = spec[i].to;
	}
}

/* The mtime's nanoseconds of the stat ops' files: statx must carry them. */
#define MTIME_NS 987654321

static int
mixed_dir(const char *base, const char *name)
{
	static const struct timespec t[2] = { { 1000000000, 123456789 },
		{ 1000000000, MTIME_NS } };
	char d[4096];
	int fd;

	snprintf(d, sizeof(d), "%s/%s", base, name);
	assert_int_equal(mkdir(d, 0755), 0);
	tu_write_str(tu_path(d, "file"), "12345\n");
	assert_int_equal(chmod(tu_path(d, "file"), 04711), 0);
	assert_int_equal(symlink("file", tu_path(d, "link")), 0);
	/* The same times in both directories, to the nanosecond. */
	assert_int_equal(utimensat(AT_FDCWD, tu_path(d, "file"), t, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, tu_path(d, "link"), t,
			     AT_SYMLINK_NOFOLLOW),
	    0);
	tu_write_str(tu_path(d, "from"), "x\n");
	tu_write_str(tu_path(d, "victim"), "x\n");
	assert_int_equal(mkdir(tu_path(d, "sub"), 0755), 0);
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	return fd;
}

static void
test_ring_ops_match_the_plain_calls(void **state)
{
	struct fixture *f = *state;
	struct hs_rop p[NOPS], u[NOPS];
	struct hs_ring *r;
	int pd, ud, i;

	NEED_RING();
	pd = mixed_dir(f->dir, "plain");
	ud = mixed_dir(f->dir, "ring");
	mixed_ops(pd, p);
	mixed_ops(ud, u);
	assert_int_equal(hs_rops_run(NULL, p, NOPS), 0);
	assert_non_null(r = hs_sys.ring_open(4)); /* fewer slots than ops */
	assert_int_equal(hs_rops_run(r, u, NOPS), NOPS);
	hs_ring_close(r);
	for (i = 0; i < NOPS; i++) {
		print_message("op %d: plain %d, ring %d\n", i, p[i].res,
		    u[i].res);
		assert_int_equal(p[i].res, u[i].res);
	}
	assert_int_equal(p[0].res, 0);
	assert_int_equal(p[1].res, -ENOENT);
	assert_int_equal(p[4].res, -ENOENT);
	assert_int_equal(p[6].res, -EISDIR);
	/* The stat by statx is the stat by fstatat, link not followed. */
	for (i = 0; i <= 2; i += 2) {
		assert_int_equal(u[i].st.st_mode, p[i].st.st_mode);
		assert_int_equal(u[i].st.st_nlink, p[i].st.st_nlink);
		assert_int_equal(u[i].st.st_size, p[i].st.st_size);
		assert_int_equal(u[i].st.st_uid, p[i].st.st_uid);
		assert_true(u[i].st.st_dev == p[i].st.st_dev);
		assert_true(u[i].st.st_mtim.tv_nsec == p[i].st.st_mtim.tv_nsec);
		assert_true(u[i].st.st_mtim.tv_nsec == MTIME_NS);
	}
	assert_int_equal(u[0].st.st_mode, S_IFREG | 04711);
	assert_true(S_ISLNK(u[2].st.st_mode));
	assert_true(u[0].st.st_ino != p[0].st.st_ino); /* two files */
	/* And the renames and the unlink happened, in both. */
	assert_int_equal(faccessat(ud, "to", F_OK, 0), 0);
	assert_int_equal(faccessat(ud, "victim", F_OK, 0), -1);
	assert_int_equal(faccessat(pd, "to", F_OK, 0), 0);
	assert_int_equal(faccessat(pd, "victim", F_OK, 0), -1);
	close(pd);
	close(ud);
}

/* A ring whose every run fails at once, leaving every op pending. */
static int
failing_run(struct hs_ring *r, struct hs_rop *ops, size_t n)
{
	(void)r, (void)ops, (void)n;
	errno = EIO;
	return -1;
}

static void
test_ring_failed_ring_leaves_the_plain_way_to_finish(void **state)
{
	struct fixture *f = *state;
	struct hs_rop u[NOPS];
	struct hs_ring *r;
	int ud;

	NEED_RING();
	ud = mixed_dir(f->dir, "ring");
	mixed_ops(ud, u);
	assert_non_null(r = hs_sys.ring_open(8));
	hs_sys.ring_run = failing_run;
	assert_int_equal(hs_rops_run(r, u, NOPS), 0); /* none by the ring */
	hs_ring_close(r);
	assert_int_equal(u[0].res, 0);
	assert_int_equal(u[3].res, 0);
	assert_int_equal(u[5].res, 0);
	assert_int_equal(faccessat(ud, "victim", F_OK, 0), -1);
	close(ud);
	/* In a commit: the tree is new, and io_uring made no step. */
	make_tree(f, 300);
	assert_int_equal(commit_tree(f, HS_IO_URING).ring_ops, 0);
	assert_tree_new(f);
}

/* --- a commit's steps by the ring ------------------------------------ */

/* Counts of ring_open calls and of ops a ring ran, by kind. */
static int opens;
static unsigned long ringed[3];
static struct hs_sys real;

static struct hs_ring *
counted_open(unsigned int depth)
{
	opens++;
	return real.ring_open(depth);
}

static int
counted_run(struct hs_ring *r, struct hs_rop *ops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ringed[ops[i].kind]++;
	return real.ring_run(r, ops, n);
}

static void
count_ring(void)
{
	hs_sys_reset();
	real = hs_sys;
	opens = 0;
	memset(ringed, 0, sizeof(ringed));
	hs_sys.ring_open = counted_open;
	hs_sys.ring_run = counted_run;
}

/*
 * More files than a ring's depth, in three directories: with
 * HS_IO_URING every rename, stat and unlink of the commit goes by the
 * ring; with HS_IO_PLAIN not one, and no ring is set up.  With -b the
 * old links become backups by renames in the ring.
 */
static void
test_ring_commit_by_the_ring_and_by_plain_calls(void **state)
{
	struct fixture *f = *state;
	struct hs_txn_stats st;
	unsigned long n = 600;

	NEED_RING();
	make_tree(f, (int)n);
	count_ring();
	st = commit_tree(f, HS_IO_URING);
	assert_tree_new(f);
	assert_int_equal(st.staged, n);
	assert_int_equal(st.ring_ops, 3 * n);
	assert_int_equal(ringed[HS_ROP_RENAME], n);
	assert_int_equal(ringed[HS_ROP_STAT], n);
	assert_int_equal(ringed[HS_ROP_UNLINK], n);
	/* The control: plain, no ring at all. */
	make_tree(f, (int)n);
	count_ring();
	assert_int_equal(commit_tree(f, HS_IO_PLAIN).ring_ops, 0);
	assert_int_equal(opens, 0);
	assert_tree_new(f);
	/* -b: the old inodes kept as backups, renamed by the ring. */
	make_tree(f, (int)n);
	count_ring();
	st = commit_tree(f, HS_IO_URING | HS_BACKUP);
	assert_int_equal(st.ring_ops, 3 * n);
	assert_int_equal(ringed[HS_ROP_RENAME], 2 * n);
	assert_int_equal(ringed[HS_ROP_UNLINK], 0);
	tu_assert_content(tu_path(f->dst, "b/c/f0599~"), "old\n");
	tu_assert_content(tu_path(f->dst, "b/c/f0599"), "new\n");
}

static int open_errno;

static struct hs_ring *
no_ring(unsigned int depth)
{
	(void)depth;
	opens++;
	errno = open_errno;
	return NULL;
}

/*
 * io_uring disabled (kernel.io_uring_disabled: EPERM, or ENOSYS),
 * filtered by seccomp (EPERM, ENOSYS), or without UNLINKAT (EOPNOTSUPP):
 * the commit goes plain, asking once.
 */
static void
test_ring_unavailable_falls_back_to_plain_calls(void **state)
{
	static const int errs[] = { ENOSYS, EPERM, EOPNOTSUPP };
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		make_tree(f, 300);
		count_ring();
		open_errno = errs[i];
		hs_sys.ring_open = no_ring;
		assert_int_equal(commit_tree(f, HS_IO_URING).ring_ops, 0);
		assert_int_equal(opens, 1);
		assert_tree_new(f);
	}
}

/* --- the rule, on the seam's clock ------------------------------------ */

static uint64_t fake_now;
static uint64_t unlink_ns, rename_ns; /* what each plain call "takes" */

static uint64_t
fake_clock(void)
{
	return fake_now;
}

static int
timed_unlinkat(int d, const char *p, int fl)
{
	fake_now += unlink_ns;
	return real.unlinkat(d, p, fl);
}

static int
timed_renameat2(int a, const char *b, int c, const char *d, unsigned int fl)
{
	fake_now += rename_ns;
	return real.renameat2(a, b, c, d, fl);
}

/* The tree made (before) committed by the rule, each plain call as slow
 * as said. */
static struct hs_txn_stats
commit_made(struct fixture *f, uint64_t unlink, uint64_t rename)
{
	count_ring();
	unlink_ns = unlink;
	rename_ns = rename;
	hs_sys.clock_ns = fake_clock;
	hs_sys.unlinkat = timed_unlinkat;
	hs_sys.renameat2 = timed_renameat2;
	return commit_tree(f, 0);
}

/* A tree of n files committed by the rule. */
static struct hs_txn_stats
commit_timed(struct fixture *f, int n, uint64_t unlink, uint64_t rename)
{
	make_tree(f, n);
	return commit_made(f, unlink, rename);
}

/*
 * Unlinks of 150 us (ext4 with discard and no journal trims in each) go
 * by the ring after the first HS_BATCH_PROBE, timed; renames of 5 us and
 * stats (no time) stay plain.  Unlinks of 99 us, just under the line,
 * stay plain, and no ring is set up: the control.  A tree smaller than
 * the probe never reaches the ring however slow its calls.
 */
static void
test_ring_rule_rings_only_the_slow_kind(void **state)
{
	struct fixture *f = *state;
	struct hs_txn_stats st;
	char name[64];
	int i;

	NEED_RING();
	st = commit_timed(f, 600, 150000, 5000);
	assert_tree_new(f);
	assert_int_equal(ringed[HS_ROP_UNLINK], 600 - HS_BATCH_PROBE);
	assert_int_equal(ringed[HS_ROP_RENAME], 0);
	assert_int_equal(ringed[HS_ROP_STAT], 0);
	assert_int_equal(st.ring_ops, 600 - HS_BATCH_PROBE);
	assert_int_equal(opens, 1);
	/* Slow renames too: both kinds. */
	st = commit_timed(f, 600, 150000, 200000);
	assert_int_equal(st.ring_ops, 2 * (600 - HS_BATCH_PROBE));
	/* The control: just under the line. */
	st = commit_timed(f, 600, HS_BATCH_SLOW_NS - 1000, 5000);
	assert_tree_new(f);
	assert_int_equal(st.ring_ops, 0);
	assert_int_equal(opens, 0);
	/* A small tree: the probe is all of it. */
	st = commit_timed(f, HS_BATCH_PROBE, 10000000, 10000000);
	assert_tree_new(f);
	assert_int_equal(st.ring_ops, 0);
	assert_int_equal(opens, 0);
	/*
	 * And when executables cut its renames into two batches (data
	 * before programs), the first one's slow calls are too few to
	 * judge: one slow call, a page fault, must not decide.
	 */
	make_tree(f, 12);
	for (i = 0; i < 12; i += 3) { /* the files of a/ (DEST's mode) */
		(void)file_name(name, i);
		assert_int_equal(chmod(tu_path(f->src, name), 0755), 0);
		assert_int_equal(chmod(tu_path(f->dst, name), 0755), 0);
	}
	st = commit_made(f, 10000000, 10000000);
	assert_tree_new(f);
	assert_int_equal(st.ring_ops, 0);
	assert_int_equal(opens, 0);
	/* HS_IO_PLAIN overrides the rule. */
	make_tree(f, 600);
	assert_int_equal(commit_tree(f, HS_IO_PLAIN).ring_ops, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ring_ops_match_the_plain_calls),
		T(test_ring_failed_ring_leaves_the_plain_way_to_finish),
		T(test_ring_commit_by_the_ring_and_by_plain_calls),
		T(test_ring_unavailable_falls_back_to_plain_calls),
		T(test_ring_rule_rings_only_the_slow_kind),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}

/*
 * test_ring.c - the batches of the commit and of staging's temporaries
 * (src/sys/ring.c, src/txn/batch.c, txn.c's pool): io_uring and plain
 * calls give the same results op by op; a ring that cannot be had, or
 * fails, leaves the plain way to finish; the rule sends to io_uring
 * exactly the kinds of step whose plain calls were slow, timed by the
 * seam's clock, which the tests drive; the temporaries opened ahead
 * give the plain way's modes and hold no descriptor past their use.
 *
 * The faults and crashes at every step of a commit by io_uring are
 * test_txn's (test_txn_ring_*), through the same wrapper as the plain
 * way's.
 */
#include <sys/resource.h>
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

/*
 * An unnamed temporary by the ring is the plain open's: a regular file
 * with no link, the mode asked less the umask, close-on-exec; and both
 * fail alike in what is not a directory.
 */
static void
test_ring_tmpfile_matches_the_plain_open(void **state)
{
	struct fixture *f = *state;
	struct hs_rop p[2], u[2];
	struct stat pst, ust;
	struct hs_ring *r;
	mode_t old = umask(027);
	int dfd, ffd, i;

	NEED_RING();
	tu_write_str(tu_path(f->dir, "file"), "x\n");
	assert_true((dfd = open(f->dir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_true((ffd = open(tu_path(f->dir, "file"), O_RDONLY)) != -1);
	memset(p, 0, sizeof(p));
	for (i = 0; i < 2; i++) {
		p[i].kind = HS_ROP_TMPFILE;
		p[i].dirfd = i == 0 ? dfd : ffd;
		p[i].name = ".";
		p[i].mode = 0755;
	}
	memcpy(u, p, sizeof(u));
	assert_int_equal(hs_rops_run(NULL, p, 2), 0);
	assert_non_null(r = hs_sys.ring_open(4));
	assert_int_equal(hs_rops_run(r, u, 2), 2);
	hs_ring_close(r);
	umask(old);
	assert_true(p[0].res >= 0 && u[0].res >= 0);
	assert_int_equal(p[1].res, -ENOTDIR);
	assert_int_equal(u[1].res, -ENOTDIR);
	assert_int_equal(fstat(p[0].res, &pst), 0);
	assert_int_equal(fstat(u[0].res, &ust), 0);
	assert_int_equal(ust.st_mode, S_IFREG | 0750);
	assert_int_equal(pst.st_mode, ust.st_mode);
	assert_int_equal(ust.st_nlink, 0);
	assert_int_equal(fcntl(u[0].res, F_GETFD), FD_CLOEXEC);
	assert_int_equal(fcntl(p[0].res, F_GETFD), FD_CLOEXEC);
	assert_int_equal(write(u[0].res, "y\n", 2), 2); /* open for writing */
	close(p[0].res);
	close(u[0].res);
	close(ffd);
	close(dfd);
}

static int open_fds(void);

/*
 * A temporary the ring opens may be descriptor 1 (a caller that closed
 * its standard output): done, not taken for pending and opened again.
 */
static void
test_ring_tmpfile_may_be_descriptor_one(void **state)
{
	struct fixture *f = *state;
	struct hs_rop op;
	struct hs_ring *r;
	int dfd, out, fds;
	size_t ringed;

	NEED_RING();
	if (fcntl(0, F_GETFD) == -1)
		skip(); /* descriptor 0 free: the open would take it */
	fds = open_fds();
	assert_true((dfd = open(f->dir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_non_null(r = hs_sys.ring_open(4));
	memset(&op, 0, sizeof(op));
	op.kind = HS_ROP_TMPFILE;
	op.dirfd = dfd;
	op.name = ".";
	op.mode = 0600;
	/* No assertion while standard output is closed. */
	out = dup(1);
	if (out != -1) {
		close(1);
		ringed = hs_rops_run(r, &op, 1);
		if (op.res >= 0 && op.res != 1)
			close(op.res);
		close(1);
		(void)dup2(out, 1);
		close(out);
	}
	hs_ring_close(r);
	close(dfd);
	assert_int_not_equal(out, -1);
	assert_int_equal(op.res, 1);
	assert_int_equal(ringed, 1);
	assert_int_equal(op.by_ring, 1);
	assert_int_equal(open_fds(), fds);
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
static unsigned long ringed[HS_ROP_KINDS];
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
	/* Staging's temporaries too, by a ring of its own. */
	assert_int_equal(st.ring_opens, n);
	assert_int_equal(ringed[HS_ROP_TMPFILE], n);
	assert_int_equal(opens, 2);
	/* The control: plain, no ring at all. */
	make_tree(f, (int)n);
	count_ring();
	st = commit_tree(f, HS_IO_PLAIN);
	assert_int_equal(st.ring_ops, 0);
	assert_int_equal(st.ring_opens, 0);
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

/* --- staging's temporaries opened ahead ---------------------------- */

/* The descriptors this process has open. */
static int
open_fds(void)
{
	return tu_count("/proc/self/fd");
}

/* The modes of the tree's files in dst, as one string. */
static void
modes_of(struct fixture *f, char *out, size_t len)
{
	char name[64];
	struct stat st;
	size_t off = 0;
	int i;

	for (i = 0; i < f->nfiles && off < len; i++) {
		assert_int_equal(stat(tu_path(f->dst, file_name(name, i)), &st),
		    0);
		off += (size_t)snprintf(out + off, len - off, "%o ",
		    (unsigned int)st.st_mode);
	}
}

/* The tree with its files in modes 0640, 0755 and 0600 in turn, new
 * (no old version in dst), or, with links, some DESTs symbolic links. */
static void
make_mixed_tree(struct fixture *f, int n, int links)
{
	static const mode_t mode[] = { 0640, 0755, 0600 };
	char name[64], target[80];
	int i;

	make_tree(f, n);
	for (i = 0; i < n; i++) {
		(void)file_name(name, i);
		assert_int_equal(chmod(tu_path(f->src, name), mode[i / 3 % 3]),
		    0);
		assert_int_equal(unlink(tu_path(f->dst, name)), 0);
		if (links && i % 50 == 7) { /* to "NAME.t" beside it */
			(void)snprintf(target, sizeof(target), "%s.t", name);
			tu_write_str(tu_path(f->dst, target), "old\n");
			assert_int_equal(symlink(strrchr(target, '/') + 1,
					     tu_path(f->dst, name)),
			    0);
		}
	}
}

/*
 * A run's temporaries are opened at once with the first file's mode;
 * a file of another mode gets its own bits after: the modes are the
 * plain way's.  Destinations that are symbolic links take the path way
 * and leave temporaries in the pool: none stays open.  -C opens none
 * ahead (most files will be unchanged).
 */
static void
test_ring_pool_gives_the_plain_modes_and_keeps_nothing(void **state)
{
	struct fixture *f = *state;
	static char plain[8192], ring[8192];
	struct hs_txn_stats st;
	int fds = open_fds(), links;

	NEED_RING();
	for (links = 0; links < 2; links++) {
		make_mixed_tree(f, 300, links);
		(void)commit_tree(f, HS_IO_PLAIN);
		modes_of(f, plain, sizeof(plain));
		make_mixed_tree(f, 300, links);
		count_ring();
		st = commit_tree(f, HS_IO_URING);
		modes_of(f, ring, sizeof(ring));
		assert_string_equal(ring, plain);
		assert_int_equal(st.staged, 300);
		assert_true(st.ring_opens >= 300 - 6 * (unsigned long)links);
		assert_int_equal(open_fds(), fds);
		hs_sys_reset();
	}
	assert_non_null(strstr(plain, "100640 100640 100640 100755 100755 "));
	/* -C: the control of the count, none opened ahead. */
	make_mixed_tree(f, 300, 0);
	count_ring();
	st = commit_tree(f, HS_IO_URING | HS_COMPARE);
	assert_int_equal(st.staged, 300);
	assert_int_equal(st.ring_opens, 0);
	assert_int_equal(ringed[HS_ROP_TMPFILE], 0);
}

/*
 * Temporaries opened ahead never take the descriptors the walk and the
 * journal need: under a limit of 64 descriptors a run of 200 files by
 * the ring still installs.
 */
static void
test_ring_pool_within_the_descriptor_limit(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, low;
	struct hs_txn_stats st = { 0 };
	struct hs_install_opts o;
	struct hs_result res = { 0 };
	struct hs_txn *t;
	int r = -1, e = 0;

	NEED_RING();
	make_tree(f, 600);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* No assertion before the limit is back, for the tests after. */
	hs_install_opts_init(&o);
	o.flags |= HS_IO_URING;
	if ((t = hs_txn_open(f->dst, &o, &res)) != NULL) {
		if (hs_txn_lock(t, 1, &res) == 0 &&
		    hs_txn_add_tree(t, f->src, f->dst, NULL, NULL, &res) == 0)
			r = hs_txn_commit(t, &res);
		e = errno;
		st = *hs_txn_stats(t);
		hs_txn_free(t);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (r == -1)
		fail_msg("%s '%s': %s", res.step, res.target, strerror(e));
	assert_tree_new(f);
	assert_int_equal(st.ring_opens, 600);
}

/* A file system without O_TMPFILE (as a FUSE one may be): plain calls. */
static int
no_tmpfile_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return real.openat(dirfd, name, flags, mode);
}

/* The same by the ring: every O_TMPFILE open it makes fails. */
static size_t tmpfile_tries;
static int tmpfile_errno;

static int
no_tmpfile_run(struct hs_ring *r, struct hs_rop *ops, size_t n)
{
	size_t i;

	for (i = 0; i < n && ops[i].kind == HS_ROP_TMPFILE; i++)
		ops[i].res = -tmpfile_errno;
	tmpfile_tries += i;
	return i == n ? 0 : real.ring_run(r, ops, n);
}

/*
 * Where the file system has no O_TMPFILE, every way, the ring's included,
 * stages named temporaries and installs the tree, leaving none behind
 * (powercut.bats's FUSE file system is one; this failed with EBADF when
 * a pool's failed open left the temporary without its directory).  The
 * ring tries one batch a directory, not one a file: at most the tree.
 * A ring whose opens fail for want of memory leaves them to plain calls.
 */
static void
test_ring_pool_without_tmpfile_names_its_temporaries(void **state)
{
	static const unsigned int ways[] = { HS_IO_PLAIN, 0, HS_IO_URING };
	struct fixture *f = *state;
	struct hs_txn_stats st;
	size_t w;

	for (w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
		make_tree(f, 300);
		count_ring();
		tmpfile_tries = 0;
		tmpfile_errno = EOPNOTSUPP;
		hs_sys.openat = no_tmpfile_openat;
		hs_sys.ring_run = no_tmpfile_run;
		st = commit_tree(f, ways[w]);
		hs_sys_reset();
		assert_tree_new(f);
		assert_int_equal(st.staged, 300);
		assert_int_equal(st.ring_opens, 0);
		assert_true(tmpfile_tries <= 300);
	}
	if (!ring_works())
		return;
	assert_true(tmpfile_tries > 0); /* the ring's way did try */
	/* A ring out of memory for its opens: plain calls make them. */
	make_tree(f, 300);
	count_ring();
	tmpfile_errno = ENOMEM;
	hs_sys.ring_run = no_tmpfile_run;
	st = commit_tree(f, HS_IO_URING);
	hs_sys_reset();
	assert_tree_new(f);
	assert_int_equal(st.ring_opens, 0);
	assert_true(st.ring_ops > 0); /* the commit's steps: the ring works */
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
 * staging and the commit go plain, each asking once.
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
		assert_int_equal(opens, 2);
		assert_tree_new(f);
	}
}

/* --- the rule, on the seam's clock ------------------------------------ */

static uint64_t fake_now;
static uint64_t unlink_ns, rename_ns, tmpfile_ns; /* what each plain
						     call "takes" */

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

static int
timed_openat(int d, const char *p, int fl, mode_t m)
{
	if ((fl & O_TMPFILE) == O_TMPFILE)
		fake_now += tmpfile_ns;
	return real.openat(d, p, fl, m);
}

/* The tree made (before) committed by the rule, each plain call as slow
 * as said (an O_TMPFILE open as an unlink). */
static struct hs_txn_stats
commit_made(struct fixture *f, uint64_t unlink, uint64_t rename)
{
	count_ring();
	unlink_ns = unlink;
	rename_ns = rename;
	tmpfile_ns = unlink;
	hs_sys.clock_ns = fake_clock;
	hs_sys.unlinkat = timed_unlinkat;
	hs_sys.renameat2 = timed_renameat2;
	hs_sys.openat = timed_openat;
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
	/* The temporaries: the same rule, no more opened than used. */
	assert_int_equal(ringed[HS_ROP_TMPFILE], 600 - HS_BATCH_PROBE);
	assert_int_equal(st.ring_opens, 600 - HS_BATCH_PROBE);
	assert_int_equal(opens, 2);
	/* Slow renames too: both kinds. */
	st = commit_timed(f, 600, 150000, 200000);
	assert_int_equal(st.ring_ops, 2 * (600 - HS_BATCH_PROBE));
	/* The control: just under the line. */
	st = commit_timed(f, 600, HS_BATCH_SLOW_NS - 1000, 5000);
	assert_tree_new(f);
	assert_int_equal(st.ring_ops, 0);
	assert_int_equal(st.ring_opens, 0);
	assert_int_equal(opens, 0);
	/* A small tree: the probe is all of it. */
	st = commit_timed(f, HS_BATCH_PROBE, 10000000, 10000000);
	assert_tree_new(f);
	assert_int_equal(st.ring_ops, 0);
	assert_int_equal(st.ring_opens, 0);
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
		T(test_ring_tmpfile_matches_the_plain_open),
		T(test_ring_tmpfile_may_be_descriptor_one),
		T(test_ring_pool_gives_the_plain_modes_and_keeps_nothing),
		T(test_ring_pool_within_the_descriptor_limit),
		T(test_ring_pool_without_tmpfile_names_its_temporaries),
		T(test_ring_failed_ring_leaves_the_plain_way_to_finish),
		T(test_ring_commit_by_the_ring_and_by_plain_calls),
		T(test_ring_unavailable_falls_back_to_plain_calls),
		T(test_ring_rule_rings_only_the_slow_kind),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}

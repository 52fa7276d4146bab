/*
 * test_replace.c - the replacement engine: hs_install() and hs_rollback().
 *
 * Besides the behaviour, this suite proves the promise "a failure loses
 * nothing": it fails every system call of a replacement in turn, through
 * the seam, and checks each time that the destination is untouched and no
 * temporary is left behind.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/capability.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "hotswap.h"
#include "sys.h"
#include "install.h"

struct fixture {
	char *dir;
	char src[4096], dst[4096];
	struct hs_install_opts opts;
	struct hs_result res;
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
	tu_write_str(f->src, "new content\n");
	hs_install_opts_init(&f->opts);
	f->opts.flags |= HS_NO_SYNC; /* except where fsync is the subject */
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

static void
test_replace_new_file_takes_source_mode_less_umask(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	mode_t old = umask(027);

	assert_int_equal(chmod(f->src, 0775), 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	umask(old);
	tu_assert_content(f->dst, "new content\n");
	assert_int_equal(stat(f->dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_false(f->res.had_old);
	assert_int_equal(tu_count(f->dir), 2);
}

static void
test_replace_old_inode_lives_on(void **state)
{
	struct fixture *f = *state;
	char buf[64] = "";
	ino_t before;
	int fd;

	tu_write_str(f->dst, "old content\n");
	before = tu_ino(f->dst);
	fd = open(f->dst, O_RDONLY);
	assert_true(fd != -1);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 12);
	assert_string_equal(buf, "old content\n");
	close(fd);
	tu_assert_content(f->dst, "new content\n");
	assert_true(tu_ino(f->dst) != before);
	assert_true(f->res.had_old);
	assert_int_equal(f->res.old_ino, before);
	assert_int_equal(f->res.new_ino, tu_ino(f->dst));
}

static void
test_replace_keeps_owner_mode_and_xattrs(void **state)
{
	struct fixture *f = *state;
	char val[16] = "";
	struct stat st;

	tu_write_str(f->dst, "old\n");
	assert_int_equal(chown(f->dst, 65534, 65534), 0);
	assert_int_equal(chmod(f->dst, 04751), 0);
	if (setxattr(f->dst, "user.hotswap", "kept", 4, 0) == -1)
		skip();
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(stat(f->dst, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
	/* chown before chmod: the setuid bit survives. */
	assert_int_equal(st.st_mode & 07777, 04751);
	assert_int_equal(getxattr(f->dst, "user.hotswap", val, sizeof(val)), 4);
	assert_string_equal(val, "kept");
}

static void
test_replace_explicit_mode_owner_group_win(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	tu_write_str(f->dst, "old\n");
	assert_int_equal(chmod(f->dst, 0644), 0);
	f->opts.flags |= HS_SET_MODE;
	f->opts.mode = 0600;
	f->opts.uid = 1;
	f->opts.gid = 2;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(stat(f->dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 1);
	assert_int_equal(st.st_gid, 2);
}

static void
test_replace_preserve_times(void **state)
{
	struct fixture *f = *state;
	struct timespec ts[2] = { { 1000000000, 0 }, { 1200000000, 5 } };
	struct stat st;

	assert_int_equal(utimensat(AT_FDCWD, f->src, ts, 0), 0);
	f->opts.flags |= HS_PRESERVE_TIMES;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(stat(f->dst, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1200000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
}

static void
test_replace_compare_leaves_identical_dest(void **state)
{
	struct fixture *f = *state;
	struct stat before, after;

	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(stat(f->dst, &before), 0);
	f->opts.flags |= HS_COMPARE;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_true(f->res.unchanged);
	assert_int_equal(stat(f->dst, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	/* A different mode is a difference. */
	assert_int_equal(chmod(f->dst, 0600), 0);
	f->opts.flags |= HS_SET_MODE;
	f->opts.mode = 0644;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_false(f->res.unchanged);
	assert_true(tu_ino(f->dst) != before.st_ino);
	/* And so is different content of the same size. */
	tu_write_str(f->src, "NEW content\n");
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_false(f->res.unchanged);
	tu_assert_content(f->dst, "NEW content\n");
}

static void
test_replace_backup_is_a_link_to_the_old_inode(void **state)
{
	struct fixture *f = *state;
	const char *bak = tu_path(f->dir, "dst.old");
	ino_t old;

	tu_write_str(f->dst, "old\n");
	tu_write_str(bak, "older backup\n");
	old = tu_ino(f->dst);
	f->opts.flags |= HS_BACKUP;
	f->opts.suffix = ".old";
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	tu_assert_content(bak, "old\n");
	assert_int_equal(tu_ino(bak), old);
	assert_string_equal(f->res.backup, bak);
	tu_assert_content(f->dst, "new content\n");
	assert_int_equal(tu_count(f->dir), 3);
}

static void
test_replace_backup_suffix_must_be_a_name(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	f->opts.flags |= HS_BACKUP;
	f->opts.suffix = "/x";
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, EINVAL);
	tu_assert_content(f->dst, "old\n");
	assert_int_equal(tu_count(f->dir), 2);
}

static void
test_replace_follows_symlink_chain(void **state)
{
	struct fixture *f = *state;
	char link[256];
	ssize_t n;

	assert_int_equal(mkdir(tu_path(f->dir, "lib"), 0755), 0);
	tu_write_str(tu_path(f->dir, "lib/libfoo.so.1.2.3"), "v1\n");
	assert_int_equal(symlink("libfoo.so.1.2.3",
			     tu_path(f->dir, "lib/libfoo.so.1")),
	    0);
	assert_int_equal(symlink("lib/libfoo.so.1", f->dst), 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	tu_assert_content(tu_path(f->dir, "lib/libfoo.so.1.2.3"),
	    "new content\n");
	n = readlink(tu_path(f->dir, "lib/libfoo.so.1"), link, sizeof(link));
	assert_int_equal(n, 15);
	n = readlink(f->dst, link, sizeof(link));
	assert_int_equal(n, 15);
	assert_string_equal(f->res.target,
	    tu_path(f->dir, "lib/libfoo.so.1.2.3"));
	/* The temporary was made beside the target: nothing else is new. */
	assert_int_equal(tu_count(f->dir), 3);
	assert_int_equal(tu_count(tu_path(f->dir, "lib")), 2);
}

static void
test_replace_no_deref_replaces_the_link(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	tu_write_str(tu_path(f->dir, "target"), "target\n");
	assert_int_equal(symlink("target", f->dst), 0);
	f->opts.flags |= HS_NO_DEREF;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(lstat(f->dst, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	tu_assert_content(tu_path(f->dir, "target"), "target\n");
}

static void
test_replace_dangling_link_and_loop_fail(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(symlink("nowhere", f->dst), 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(f->res.step, "dangling"));
	assert_int_equal(tu_count(f->dir), 2);
	assert_int_equal(unlink(f->dst), 0);
	assert_int_equal(symlink("dst", f->dst), 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(tu_count(f->dir), 2);
}

static void
test_replace_same_file_is_a_noop(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(symlink("src", f->dst), 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_true(f->res.same_file);
	tu_assert_content(f->src, "new content\n");
	assert_int_equal(hs_install(f->src, f->src, &f->opts, &f->res), 0);
	assert_true(f->res.same_file);
	tu_assert_content(f->src, "new content\n");
}

static void
test_replace_counts_other_hard_links(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	assert_int_equal(link(f->dst, tu_path(f->dir, "other")), 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(f->res.other_links, 1);
	tu_assert_content(tu_path(f->dir, "other"), "old\n");
}

static void
test_replace_source_errors(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	assert_int_equal(hs_install(tu_path(f->dir, "missing"), f->dst,
			     &f->opts, &f->res),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f->res.path, tu_path(f->dir, "missing"));
	assert_int_equal(hs_install(f->dir, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(mkdir(tu_path(f->dir, "d"), 0755), 0);
	assert_int_equal(hs_install(f->src, tu_path(f->dir, "d"), &f->opts,
			     &f->res),
	    -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(hs_install(f->src, tu_path(f->dir, "no/dst"), &f->opts,
			     &f->res),
	    -1);
	assert_int_equal(errno, ENOENT);
	tu_assert_content(f->dst, "old\n");
	assert_int_equal(tu_count(f->dir), 3);
}

/* The number of descriptors open in this process. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	(void)closedir(d);
	return n;
}

static int fstat_fd;	/* what the failing fstat was given */
static int fstat_errno; /* and the errno it fails with */

static int
fstat_fails(int fd, struct stat *st)
{
	(void)st;
	fstat_fd = fd;
	errno = fstat_errno;
	return -1;
}

/*
 * A failed fstat leaves the caller's struct stat as it was: garbage on
 * the caller's stack, here a directory's mode.  The error must be the
 * fstat's, not EISDIR read from that garbage (the bug: the old code
 * asked S_ISDIR(st->st_mode) of the unfilled st to choose the errno), the
 * message must name the source, and the source's descriptor is closed.
 */
static void
test_replace_source_fstat_error_is_kept(void **state)
{
	static const int errs[] = { EIO, EOVERFLOW, ENOMEM };
	struct fixture *f = *state;
	struct stat st;
	size_t i;
	int fd, before;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFDIR | 0755;
		before = open_fds();
		fstat_fd = -1;
		fstat_errno = errs[i];
		hs_sys.fstat = fstat_fails;
		errno = 0;
		fd = hs_open_source(f->src, &st, &f->res);
		hs_sys_reset();
		assert_int_equal(fd, -1);
		assert_int_equal(errno, errs[i]);
		assert_string_equal(f->res.step, "cannot install");
		assert_string_equal(f->res.path, f->src);
		/* The fstat was of the source, which is closed again. */
		assert_true(fstat_fd >= 0);
		assert_int_equal(fcntl(fstat_fd, F_GETFD), -1);
		assert_int_equal(errno, EBADF);
		assert_int_equal(open_fds(), before);
	}
}

static void
test_replace_mkdirs_and_dry_run(void **state)
{
	struct fixture *f = *state;
	const char *deep = tu_path(f->dir, "a/b/c/dst");

	f->opts.flags |= HS_MKDIRS | HS_DRY_RUN;
	assert_int_equal(hs_install(f->src, deep, &f->opts, &f->res), 0);
	assert_int_equal(tu_count(f->dir), 1);
	f->opts.flags &= ~HS_DRY_RUN;
	assert_int_equal(hs_install(f->src, deep, &f->opts, &f->res), 0);
	tu_assert_content(deep, "new content\n");
	tu_write_str(f->dst, "old\n");
	f->opts.flags |= HS_DRY_RUN;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "old\n");
}

static void
test_replace_keeps_holes(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	size_t len;
	char *a, *b;
	int fd;

	fd = open(f->src, O_WRONLY | O_TRUNC);
	assert_true(fd != -1);
	assert_int_equal(pwrite(fd, "head", 4, 0), 4);
	assert_int_equal(pwrite(fd, "tail", 4, 64 << 20), 4);
	assert_int_equal(ftruncate(fd, (128 << 20)), 0);
	close(fd);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(stat(f->dst, &st), 0);
	assert_int_equal(st.st_size, 128 << 20);
	assert_true(st.st_blocks * 512 < (1 << 20));
	a = tu_read(f->src, &len);
	b = tu_read(f->dst, NULL);
	assert_memory_equal(a, b, len);
	free(a);
	free(b);
}

/* Each copy method falls back to the next on "not supported here". */
static void
test_replace_copy_falls_back(void **state)
{
	struct fixture *f = *state;

	tu_faults_install();
	tu_faults_only("ficlone");
	tu_faults_arm(1, EOPNOTSUPP);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(f->res.method, HS_COPY_RANGE);
	tu_assert_content(f->dst, "new content\n");
	tu_faults_only("copy_file_range");
	tu_faults_arm(1, EXDEV);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(f->res.method, HS_COPY_READWRITE);
	tu_assert_content(f->dst, "new content\n");
	/* A real I/O error is an error, not a reason to fall back. */
	tu_faults_arm(1, EIO);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, EIO);
	tu_assert_content(f->dst, "new content\n");
	assert_int_equal(tu_count(f->dir), 2);
}

/* --- no O_TMPFILE: named temporaries ---------------------------------- */

static int (*openat_real)(int, const char *, int, mode_t);
static int random_calls;

static int
openat_no_tmpfile(int d, const char *p, int fl, mode_t m)
{
	if ((fl & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return openat_real(d, p, fl, m);
}

/* The first name is predictable (all 'a'), the next ones random. */
static ssize_t
getrandom_first_zero(void *buf, size_t len, unsigned int flags)
{
	if (random_calls++ == 0) {
		memset(buf, 0, len);
		return (ssize_t)len;
	}
	return getrandom(buf, len, flags);
}

static void
disable_tmpfile(void)
{
	hs_sys_reset();
	openat_real = hs_sys.openat;
	hs_sys.openat = openat_no_tmpfile;
}

static void
test_replace_named_temp_without_o_tmpfile(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	disable_tmpfile();
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "new content\n");
	assert_int_equal(tu_count(f->dir), 2);
}

/*
 * A symlink planted at the temporary's name (here made predictable) is
 * neither followed nor replaced: another name is chosen.  Both with and
 * without O_TMPFILE, whose file is linked under such a name before the
 * rename.
 */
static void
test_replace_planted_symlink_never_followed(void **state)
{
	struct fixture *f = *state;
	const char *victim = tu_path(f->dir, "victim");
	const char *planted = tu_path(f->dir, ".dst.hs-aaaaaaaaaa");
	char link[64];
	int pass;

	for (pass = 0; pass < 2; pass++) {
		tu_write_str(victim, "victim\n");
		tu_write_str(f->dst, "old\n");
		(void)unlink(planted);
		assert_int_equal(symlink("victim", planted), 0);
		if (pass == 0)
			hs_sys_reset();
		else
			disable_tmpfile();
		hs_sys.getrandom = getrandom_first_zero;
		random_calls = 0;
		hs_tmp_reseed(); /* the next name is drawn now */
		assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res),
		    0);
		assert_true(random_calls >= 2);
		tu_assert_content(victim, "victim\n");
		tu_assert_content(f->dst, "new content\n");
		assert_int_equal(readlink(planted, link, sizeof(link)), 6);
		assert_int_equal(tu_count(f->dir), 4);
	}
}

/*
 * hs_cancel_cleanup(), as a signal handler calls it, removes the named
 * temporary: here called from inside the fsync of the temporary, the last
 * moment before the rename.
 */
static const char *cancel_dir;
static int cancel_saw;

static int
fsync_then_cancel(int fd)
{
	(void)fd;
	cancel_saw = tu_count(cancel_dir);
	hs_cancel_cleanup();
	cancel_saw = cancel_saw * 10 + tu_count(cancel_dir);
	errno = EIO; /* stop here, as a killed process would */
	return -1;
}

static void
test_replace_cancel_cleanup_removes_named_temp(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	disable_tmpfile();
	hs_sys.fsync = fsync_then_cancel;
	f->opts.flags &= ~HS_NO_SYNC;
	cancel_dir = f->dir;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(cancel_saw, 32); /* src, dst, temp; then 2 */
	tu_assert_content(f->dst, "old\n");
	assert_int_equal(tu_count(f->dir), 2);
}

/* --- the old inode is disarmed ---------------------------------------- */

/* Give path the capability cap_net_bind_service+ep; 0, or -1 if denied. */
static int
set_cap(const char *path)
{
	struct vfs_cap_data cap;

	memset(&cap, 0, sizeof(cap));
	cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
	cap.data[0].permitted = 1U << CAP_NET_BIND_SERVICE;
	return setxattr(path, "security.capability", &cap, XATTR_CAPS_SZ_2, 0);
}

/*
 * -b, and a hard link someone else made: both keep the old inode, which
 * loses set-user-ID, set-group-ID and its capability; DEST gets them
 * (the new file carries the old metadata, as ever).  A set-group-ID bit
 * without group execute is not a privilege and stays.
 */
static void
test_replace_old_setuid_inode_is_disarmed(void **state)
{
	struct fixture *f = *state;
	const char *bak = tu_path(f->dir, "dst~");
	char other[4096];
	struct stat st;
	int cap;

	snprintf(other, sizeof(other), "%s/other", f->dir);
	tu_write_str(f->dst, "old\n");
	assert_int_equal(chmod(f->dst, 06755), 0);
	cap = set_cap(f->dst) == 0;
	assert_int_equal(link(f->dst, other), 0);
	f->opts.flags |= HS_BACKUP;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(lstat(bak, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(other, &st), 0);
	assert_int_equal(st.st_ino, tu_ino(bak));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(getxattr(bak, "security.capability", NULL, 0), -1);
	assert_int_equal(lstat(f->dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 06755);
	if (cap)
		assert_true(getxattr(f->dst, "security.capability", NULL, 0) >
		    0);

	/* Set-group-ID without group execute (mandatory locking): kept. */
	assert_int_equal(chmod(f->dst, 02644), 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(lstat(bak, &st), 0);
	assert_int_equal(st.st_mode & 07777, 02644);
}

/* --- every step fails: nothing is lost -------------------------------- */

enum variant {
	V_PLAIN,
	V_BACKUP,
	V_NAMED,
	V_NEW,
	V_SYNC,
	V_SETUID,
	V_STRIP,
	V_NUMBERED
};

static void
prepare(struct fixture *f, enum variant v)
{
	hs_install_opts_init(&f->opts);
	if (v != V_SYNC)
		f->opts.flags |= HS_NO_SYNC;
	if (v == V_BACKUP || v == V_SETUID || v == V_NUMBERED)
		f->opts.flags |= HS_BACKUP;
	if (v == V_NUMBERED)
		f->opts.backup_type = HS_BACKUP_NUMBERED;
	if (v == V_STRIP) { /* true(1) strips nothing: the content stays */
		f->opts.flags |= HS_STRIP;
		f->opts.strip_program = "true";
	}
	(void)unlink(tu_path(f->dir, "dst~"));
	(void)unlink(tu_path(f->dir, "dst.~1~"));
	if (v == V_NEW)
		(void)unlink(f->dst);
	else
		tu_write_str(f->dst, "old content\n");
	if (v == V_SETUID) {
		assert_int_equal(chmod(f->dst, 06755), 0);
		(void)set_cap(f->dst);
	}
}

/*
 * Fail call n with errno e.  Returns 0 once n is past the last call.
 * On failure: DEST is as before (unless the rename had been made), and the
 * directory holds nothing new.
 */
static int
fail_step(struct fixture *f, enum variant v, int n, int e)
{
	ino_t before;
	int r, expect;

	prepare(f, v);
	before = v == V_NEW ? 0 : tu_ino(f->dst);
	tu_faults_install();
	if (v == V_NAMED)
		tu_faults_only(NULL);
	tu_faults_arm(n, e);
	r = hs_install(f->src, f->dst, &f->opts, &f->res);
	hs_sys_reset();
	if (!tu_fault_fired()) {
		assert_int_equal(r, 0);
		return 0;
	}
	if (r == 0) {
		/* A tolerated failure (a fallback): the job is done. */
		tu_assert_content(f->dst, "new content\n");
	} else if (f->res.new_ino != 0) {
		/* After the rename: the old inode's disarming, the fsync. */
		if (strcmp(tu_fault_name(), "fsync:dir") != 0 &&
		    strcmp(tu_fault_name(), "fchmod") != 0 &&
		    strcmp(tu_fault_name(), "fgetxattr") != 0 &&
		    strcmp(tu_fault_name(), "fremovexattr") != 0)
			fail_msg("step %d (%s) failed after the rename", n,
			    tu_fault_name());
		tu_assert_content(f->dst, "new content\n");
	} else {
		if (errno != e)
			fail_msg("step %d (%s): errno %d, want %d", n,
			    tu_fault_name(), errno, e);
		assert_non_null(f->res.step);
		if (v == V_NEW)
			assert_int_equal(access(f->dst, F_OK), -1);
		else {
			tu_assert_content(f->dst, "old content\n");
			assert_int_equal(tu_ino(f->dst), before);
		}
	}
	/* src, dst if it exists (checked above), a backup if made: no temp. */
	expect = 1 + (access(f->dst, F_OK) == 0) +
	    (access(tu_path(f->dir, "dst~"), F_OK) == 0) +
	    (access(tu_path(f->dir, "dst.~1~"), F_OK) == 0);
	if (tu_count(f->dir) != expect)
		fail_msg("step %d (%s): %d entries left, want %d", n,
		    tu_fault_name(), tu_count(f->dir), expect);
	return 1;
}

static void
fail_every_step(struct fixture *f, enum variant v, int e)
{
	int n;

	for (n = 1; fail_step(f, v, n, e); n++)
		assert_true(n < 200);
	assert_true(n > 8); /* the steps were really visited */
}

static void
test_replace_every_step_fails_cleanly_eio(void **state)
{
	struct fixture *f = *state;

	fail_every_step(f, V_PLAIN, EIO);
	fail_every_step(f, V_SYNC, EIO);
	fail_every_step(f, V_BACKUP, EIO);
	fail_every_step(f, V_NEW, EIO);
	fail_every_step(f, V_SETUID, EIO);
	fail_every_step(f, V_STRIP, EIO);
	fail_every_step(f, V_NUMBERED, EIO);
}

static void
test_replace_every_step_fails_cleanly_enospc(void **state)
{
	struct fixture *f = *state;

	fail_every_step(f, V_SYNC, ENOSPC);
	fail_every_step(f, V_BACKUP, EDQUOT);
}

static void
test_replace_every_step_fails_cleanly_named_temp(void **state)
{
	struct fixture *f = *state;
	int n, r;

	/* Same, with the O_TMPFILE open refused first. */
	for (n = 1;; n++) {
		prepare(f, V_SYNC);
		tu_faults_install();
		openat_real = hs_sys.openat;
		hs_sys.openat = openat_no_tmpfile;
		tu_faults_arm(n, EIO);
		r = hs_install(f->src, f->dst, &f->opts, &f->res);
		hs_sys_reset();
		if (!tu_fault_fired()) {
			assert_int_equal(r, 0);
			break;
		}
		if (r == -1 && f->res.new_ino == 0)
			tu_assert_content(f->dst, "old content\n");
		assert_int_equal(tu_count(f->dir), 2);
	}
	assert_true(n > 8);
}

static ssize_t
cfr_unsupported(int i, off_t *io, int o, off_t *oo, size_t n, unsigned int fl)
{
	(void)i;
	(void)io;
	(void)o;
	(void)oo;
	(void)n;
	(void)fl;
	errno = EXDEV;
	return -1;
}

/* EINTR from any call that can return it is retried, never fatal. */
static void
test_replace_eintr_is_retried(void **state)
{
	static const char *const calls[] = {
		"openat",
		"pread",
		"pwrite",
		"copy_file_range",
		"fsync",
		"getrandom",
	};
	struct fixture *f = *state;
	size_t i;
	int n, rw;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		/* pread/pwrite run only on the read/write path. */
		rw = calls[i][0] == 'p';
		for (n = 1;; n++) {
			prepare(f, V_SYNC);
			tu_faults_install();
			if (rw)
				hs_sys.copy_file_range = cfr_unsupported;
			tu_faults_only(calls[i]);
			tu_faults_arm(n, EINTR);
			hs_tmp_reseed(); /* getrandom is called for the name */
			assert_int_equal(hs_install(f->src, f->dst, &f->opts,
					     &f->res),
			    0);
			tu_assert_content(f->dst, "new content\n");
			if (!tu_fault_fired())
				break;
		}
		assert_true(n > 1); /* the call was made and retried */
		hs_sys_reset();
	}
}

/* The durable order: metadata, fsync(file), rename, fsync(directory). */
static void
test_replace_durable_order(void **state)
{
	struct fixture *f = *state;
	const char *t, *chmod_at, *fsync_file, *rename_at, *fsync_dir;

	prepare(f, V_SYNC);
	tu_faults_install();
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	t = tu_trace();
	chmod_at = strstr(t, "fchmod");
	fsync_file = strstr(t, "fsync:file");
	rename_at = strstr(t, "renameat2");
	fsync_dir = strstr(t, "fsync:dir");
	assert_non_null(chmod_at);
	assert_non_null(fsync_file);
	assert_non_null(rename_at);
	assert_non_null(fsync_dir);
	assert_true(chmod_at < fsync_file);
	assert_true(fsync_file < rename_at);
	assert_true(rename_at < fsync_dir);
	/* --no-sync: neither fsync. */
	prepare(f, V_PLAIN);
	tu_faults_install();
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_null(strstr(tu_trace(), "fsync"));
}

/* --- rollback --------------------------------------------------------- */

static void
test_rollback_exchanges_and_rolls_forward(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	f->opts.flags |= HS_BACKUP;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "old\n");
	tu_assert_content(tu_path(f->dir, "dst~"), "new content\n");
	assert_string_equal(f->res.backup, tu_path(f->dir, "dst~"));
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "new content\n");
}

static int (*renameat2_real)(int, const char *, int, const char *,
    unsigned int);

static int
renameat2_no_exchange(int a, const char *b, int c, const char *d,
    unsigned int fl)
{
	if (fl & RENAME_EXCHANGE) {
		errno = EINVAL;
		return -1;
	}
	return renameat2_real(a, b, c, d, fl);
}

static void
test_rollback_without_exchange_renames(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	f->opts.flags |= HS_BACKUP;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	renameat2_real = hs_sys.renameat2;
	hs_sys.renameat2 = renameat2_no_exchange;
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "old\n");
	assert_int_equal(access(tu_path(f->dir, "dst~"), F_OK), -1);
	assert_string_equal(f->res.backup, "");
}

static void
test_rollback_without_backup_fails(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f->res.path, tu_path(f->dir, "dst~"));
	tu_assert_content(f->dst, "old\n");
}

/* A link as DEST~ is not a backup, but for -P, which backs links up. */
static void
test_rollback_refuses_a_link_backup(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	assert_int_equal(symlink(f->src, tu_path(f->dir, "dst~")), 0);
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, ELOOP);
	assert_string_equal(f->res.path, tu_path(f->dir, "dst~"));
	tu_assert_content(f->dst, "old\n");
	assert_int_equal(unlink(f->dst), 0);
	assert_int_equal(symlink("src", f->dst), 0);
	f->opts.flags |= HS_NO_DEREF;
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), 0);
	assert_string_equal(f->res.backup, tu_path(f->dir, "dst~"));
}

/* --- a big file's writeback, started as it is copied ------------------ */

#define BIG (64 * 1024 * 1024 + 4096) /* WRITEBACK_MIN and more */

static struct {
	int calls;
	int fail_at; /* this call fails with fail_errno */
	int fail_errno;
	off_t next; /* where the next range must start */
	int contiguous;
	int write_only;
} wb;

static int
wb_sync_file_range(int fd, off_t off, off_t len, unsigned int flags)
{
	wb.calls++;
	if (off != wb.next)
		wb.contiguous = 0;
	wb.next = off + len;
	if (flags != SYNC_FILE_RANGE_WRITE)
		wb.write_only = 0;
	if (wb.calls == wb.fail_at) {
		errno = wb.fail_errno;
		return -1;
	}
	return sync_file_range(fd, off, len, flags);
}

/* The source read from the disk, or a kernel before cachestat(2). */
static int
not_cached(int fd, uint64_t off, uint64_t len, uint64_t *pages)
{
	(void)fd;
	(void)off;
	(void)len;
	*pages = 0;
	return 0;
}

static int
no_cachestat(int fd, uint64_t off, uint64_t len, uint64_t *pages)
{
	(void)fd;
	(void)off;
	(void)len;
	(void)pages;
	errno = ENOSYS;
	return -1;
}

static void
wb_install(struct fixture *f, unsigned int flags, int fail_at, int e)
{
	memset(&wb, 0, sizeof(wb));
	wb.contiguous = wb.write_only = 1;
	wb.fail_at = fail_at;
	wb.fail_errno = e;
	tu_write_str(f->dst, "old content\n");
	hs_install_opts_init(&f->opts);
	f->opts.flags |= flags;
	hs_sys.sync_file_range = wb_sync_file_range;
}

static void
test_replace_big_file_writeback(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char *big;
	ino_t before;
	size_t i;

	assert_non_null(big = malloc(BIG));
	for (i = 0; i < BIG; i++)
		big[i] = (char)(i * 7 + i / 4096);
	tu_write(f->src, big, BIG);

	/*
	 * Durable, the source just written (so in the page cache):
	 * writeback of every byte, in order, before the fsync.
	 */
	wb_install(f, 0, 0, 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_true(wb.calls >= 4);
	assert_true(wb.contiguous && wb.write_only);
	assert_true(wb.next == BIG);
	assert_int_equal(stat(f->dst, &st), 0);
	assert_true(st.st_size == BIG);

	/* --no-sync: none. */
	wb_install(f, HS_NO_SYNC, 0, 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(wb.calls, 0);

	/* A source to be read from the disk, or no cachestat: none. */
	wb_install(f, 0, 0, 0);
	hs_sys.cached = not_cached;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(wb.calls, 0);
	wb_install(f, 0, 0, 0);
	hs_sys.cached = no_cachestat;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(wb.calls, 0);
	hs_sys_reset();

	/* Where the kernel cannot, it stops asking; the fsync suffices. */
	wb_install(f, 0, 1, EINVAL);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(wb.calls, 1);

	/* A write error fails the install: DEST as it was, no temp. */
	wb_install(f, 0, 2, EIO);
	before = tu_ino(f->dst);
	errno = 0;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, EIO);
	tu_assert_content(f->dst, "old content\n");
	assert_int_equal(tu_ino(f->dst), before);
	assert_int_equal(tu_count(f->dir), 2);

	/* A small file: the fsync alone. */
	tu_write_str(f->src, "new content\n");
	wb_install(f, 0, 0, 0);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(wb.calls, 0);
	hs_sys_reset();
	free(big);
}

/* --- GNU install's options: numbered backups, -s, -d, -C, -Z -------- */

static void
test_replace_numbered_backups(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "v0\n");
	f->opts.flags |= HS_BACKUP;
	/* existing (the default): simple while there is no numbered one. */
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	tu_assert_content(tu_path(f->dir, "dst~"), "v0\n");
	f->opts.backup_type = HS_BACKUP_NUMBERED;
	tu_write_str(f->src, "v2\n");
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	tu_assert_content(tu_path(f->dir, "dst.~1~"), "new content\n");
	assert_string_equal(f->res.backup, tu_path(f->dir, "dst.~1~"));
	/* existing, now that there is one: numbered. */
	f->opts.backup_type = HS_BACKUP_EXISTING;
	tu_write_str(f->src, "v3\n");
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	tu_assert_content(tu_path(f->dir, "dst.~2~"), "v2\n");
	/* A name that only looks numbered does not count. */
	tu_write_str(tu_path(f->dir, "dst.~09~"), "x\n");
	tu_write_str(tu_path(f->dir, "dst.~7x~"), "x\n");
	/* rollback: the newest numbered one. */
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "v2\n");
	tu_assert_content(tu_path(f->dir, "dst.~2~"), "v3\n");
	/* simple: DEST~ again. */
	f->opts.backup_type = HS_BACKUP_SIMPLE;
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "v0\n");
	/* rollback -S: the simple backup it names, numbered ones or not. */
	f->opts.backup_type = HS_BACKUP_EXISTING;
	tu_write_str(tu_path(f->dir, "dst.orig"), "orig\n");
	f->opts.suffix = ".orig";
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), 0);
	tu_assert_content(f->dst, "orig\n");
}

static void
test_rollback_numbered_without_backup_fails(void **state)
{
	struct fixture *f = *state;

	tu_write_str(f->dst, "old\n");
	tu_write_str(tu_path(f->dir, "dst~"), "simple\n");
	f->opts.backup_type = HS_BACKUP_NUMBERED;
	assert_int_equal(hs_rollback(f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f->res.step, "no backup to roll back to");
	tu_assert_content(f->dst, "old\n");
}

/* -s: the program runs on a private copy, never on DEST, env fixed. */
static void
test_replace_strip_private_copy(void **state)
{
	struct fixture *f = *state;
	char script[4096], log[4096], body[16384];
	char *got;

	snprintf(script, sizeof(script), "%s/strip.sh", f->dir);
	snprintf(log, sizeof(log), "%s/log", f->dir);
	snprintf(body, sizeof(body),
	    "#!/bin/sh\n{ echo \"arg=$1\"; pwd; env; cat '%s'; } >'%s'\n"
	    "echo stripped >\"$1\"\n",
	    f->dst, log);
	tu_write_str(script, body);
	assert_int_equal(chmod(script, 0755), 0);
	tu_write_str(f->dst, "old\n");
	assert_int_equal(setenv("HS_TEST_SECRET", "leak", 1), 0);
	f->opts.flags |= HS_STRIP;
	f->opts.strip_program = script;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	unsetenv("HS_TEST_SECRET");
	tu_assert_content(f->dst, "stripped\n");
	got = tu_read(log, NULL);
	assert_non_null(strstr(got, "arg=./dst\n"));
	assert_non_null(strstr(got, "PATH=/usr/local/bin:/usr/bin:/bin\n"));
	assert_null(strstr(got, "HS_TEST_SECRET"));
	assert_null(strstr(got, "new content")); /* DEST was the old file */
	assert_non_null(strstr(got, "old\n"));
	assert_non_null(strstr(got, "/.dst.hs-")); /* pwd: the private one */
	free(got);
	/* src, dst, strip.sh, log: nothing else left. */
	assert_int_equal(tu_count(f->dir), 4);
}

static void
test_replace_strip_failure_leaves_dest(void **state)
{
	struct fixture *f = *state;
	ino_t before;

	tu_write_str(f->dst, "old\n");
	before = tu_ino(f->dst);
	f->opts.flags |= HS_STRIP;
	f->opts.strip_program = "false";
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_string_equal(f->res.step, "strip program failed on");
	assert_true(f->res.strip_status != 0);
	tu_assert_content(f->dst, "old\n");
	assert_int_equal(tu_ino(f->dst), before);
	assert_int_equal(tu_count(f->dir), 2);
	f->opts.strip_program = "/nonexistent/strip";
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f->res.step, "cannot run the strip program for");
	tu_assert_content(f->dst, "old\n");
	assert_int_equal(tu_count(f->dir), 2);
}

static void
test_install_dir_parents_mode_existing(void **state)
{
	struct fixture *f = *state;
	const char *deep = tu_path(f->dir, "a/b/c");

	f->opts.flags |= HS_SET_MODE;
	f->opts.dir_mode = 0750;
	assert_int_equal(hs_install_dir(deep, &f->opts, &f->res), 0);
	assert_int_equal(tu_mode(deep), 0750);
	assert_int_equal(tu_mode(tu_path(f->dir, "a/b")), 0755);
	assert_int_equal(tu_ino(deep), f->res.new_ino);
	assert_int_equal(tu_count(tu_path(f->dir, "a/b")), 1);
	/* Existing: the mode as GNU gives it, 0755 without -m. */
	assert_int_equal(chmod(deep, 0700), 0);
	f->opts.flags &= ~HS_SET_MODE;
	assert_int_equal(hs_install_dir(deep, &f->opts, &f->res), 0);
	assert_int_equal(tu_mode(deep), 0755);
	assert_int_equal(f->res.new_ino, 0);
	/* Trailing slashes, and a file in the way. */
	assert_int_equal(hs_install_dir(tu_path(f->dir, "a/b/c//"), &f->opts,
			     &f->res),
	    0);
	assert_int_equal(hs_install_dir(f->src, &f->opts, &f->res), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void
test_install_dir_every_step_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	const char *d = tu_path(f->dir, "p/new");
	char pd[4096];
	int n, r;

	snprintf(pd, sizeof(pd), "%s/p", f->dir);
	for (n = 1;; n++) {
		tu_rmtree(pd);
		f->opts.flags = HS_SET_MODE;
		f->opts.dir_mode = 0700;
		tu_faults_install();
		tu_faults_arm(n, EIO);
		r = hs_install_dir(d, &f->opts, &f->res);
		hs_sys_reset();
		if (!tu_fault_fired()) {
			assert_int_equal(r, 0);
			break;
		}
		if (r == 0 || f->res.new_ino != 0) {
			/* After the rename: its check, the parent's fsync. */
			if (strcmp(tu_fault_name(), "fsync:dir") != 0 &&
			    strncmp(tu_fault_name(), "fstat", 5) != 0)
				fail_msg("step %d (%s) failed after the rename",
				    n, tu_fault_name());
			assert_int_equal(tu_mode(d), 0700);
			continue;
		}
		assert_int_equal(errno, EIO);
		assert_int_equal(access(d, F_OK), -1);
		if (access(pd, F_OK) == 0 && tu_count(pd) != 0)
			fail_msg("step %d (%s): %d entries left in p", n,
			    tu_fault_name(), tu_count(pd));
	}
	assert_true(n > 6);
	assert_int_equal(tu_mode(d), 0700);
}

/* -C: set-ID or sticky bits always mean a new copy, as GNU's -C. */
static void
test_replace_compare_setid_always_copies(void **state)
{
	struct fixture *f = *state;
	ino_t before;

	f->opts.flags |= HS_COMPARE | HS_SET_MODE;
	f->opts.mode = 04755;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	before = tu_ino(f->dst);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(f->res.unchanged, 0);
	assert_true(tu_ino(f->dst) != before);
	f->opts.mode = 0755;
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	before = tu_ino(f->dst);
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	assert_int_equal(f->res.unchanged, 1);
	assert_int_equal(tu_ino(f->dst), before);
}

/* --context: the label goes on the temporary, before the rename. */
static char label_seen[256];
static int (*fsetxattr_real)(int, const char *, const void *, size_t, int);

static int
fsetxattr_label(int fd, const char *k, const void *v, size_t n, int fl)
{
	if (strcmp(k, "security.selinux") != 0)
		return fsetxattr_real(fd, k, v, n, fl);
	snprintf(label_seen, sizeof(label_seen), "%.*s", (int)n,
	    (const char *)v);
	return 0;
}

static void
test_replace_context_set_on_temp(void **state)
{
	struct fixture *f = *state;

	fsetxattr_real = hs_sys.fsetxattr;
	hs_sys.fsetxattr = fsetxattr_label;
	f->opts.context = "system_u:object_r:lib_t:s0";
	assert_int_equal(hs_install(f->src, f->dst, &f->opts, &f->res), 0);
	hs_sys_reset();
	assert_string_equal(label_seen, "system_u:object_r:lib_t:s0");
}

/*
 * When the temporary may be created with its final mode, and no chmod
 * follow (hs_meta_create_mode): only if the umask and the directory's
 * default ACL are known to take nothing from it, the mode has no
 * set-ID or sticky bit, and nothing (-o, -g, xattrs, a label) comes
 * after that could change the bits.
 */
static void
test_replace_create_mode_decision(void **state)
{
	struct hs_install_opts o;
	struct hs_meta m = { .uid = (uid_t)-1,
		.gid = (gid_t)-1,
		.xattr_fd = -1 };

	(void)state;
	hs_install_opts_init(&o);
	m.mode = 0644;
	assert_true(hs_meta_create_mode(&m, &o, 022, 0));
	assert_false(hs_meta_create_mode(&m, &o, 077, 0));  /* 0600 */
	assert_false(hs_meta_create_mode(&m, &o, -1, 0));   /* unknown */
	assert_false(hs_meta_create_mode(&m, &o, 022, 1));  /* default ACL */
	assert_false(hs_meta_create_mode(&m, &o, 022, -1)); /* unknown */
	m.mode = 0600;
	assert_true(hs_meta_create_mode(&m, &o, 077, 0));
	m.mode = 0755;
	assert_true(hs_meta_create_mode(&m, &o, 022, 0));
	assert_false(hs_meta_create_mode(&m, &o, 027, 0));
	m.mode = 04755; /* chown would clear it; creation may strip it */
	assert_false(hs_meta_create_mode(&m, &o, 022, 0));
	m.mode = 02755;
	assert_false(hs_meta_create_mode(&m, &o, 022, 0));
	m.mode = 01755;
	assert_false(hs_meta_create_mode(&m, &o, 022, 0));
	m.mode = 0755;
	o.uid = 0; /* -o: chown first, then chmod, as today */
	assert_false(hs_meta_create_mode(&m, &o, 022, 0));
	o.uid = (uid_t)-1;
	o.gid = 0; /* -g */
	assert_false(hs_meta_create_mode(&m, &o, 022, 0));
	o.gid = (gid_t)-1;
	m.xattr_fd = 3; /* an ACL copied over would change the bits */
	assert_false(hs_meta_create_mode(&m, &o, 022, 0));
	m.xattr_fd = -1;
	m.context = "system_u:object_r:lib_t:s0";
	assert_false(hs_meta_create_mode(&m, &o, 022, 0));
	m.context = NULL;
	assert_true(hs_meta_create_mode(&m, &o, 022, 0));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_replace_new_file_takes_source_mode_less_umask),
		T(test_replace_create_mode_decision),
		T(test_replace_old_inode_lives_on),
		T(test_replace_keeps_owner_mode_and_xattrs),
		T(test_replace_explicit_mode_owner_group_win),
		T(test_replace_preserve_times),
		T(test_replace_compare_leaves_identical_dest),
		T(test_replace_backup_is_a_link_to_the_old_inode),
		T(test_replace_backup_suffix_must_be_a_name),
		T(test_replace_follows_symlink_chain),
		T(test_replace_no_deref_replaces_the_link),
		T(test_replace_dangling_link_and_loop_fail),
		T(test_replace_same_file_is_a_noop),
		T(test_replace_counts_other_hard_links),
		T(test_replace_old_setuid_inode_is_disarmed),
		T(test_replace_source_errors),
		T(test_replace_source_fstat_error_is_kept),
		T(test_replace_mkdirs_and_dry_run),
		T(test_replace_keeps_holes),
		T(test_replace_copy_falls_back),
		T(test_replace_named_temp_without_o_tmpfile),
		T(test_replace_planted_symlink_never_followed),
		T(test_replace_cancel_cleanup_removes_named_temp),
		T(test_replace_every_step_fails_cleanly_eio),
		T(test_replace_every_step_fails_cleanly_enospc),
		T(test_replace_every_step_fails_cleanly_named_temp),
		T(test_replace_eintr_is_retried),
		T(test_replace_durable_order),
		T(test_replace_big_file_writeback),
		T(test_rollback_exchanges_and_rolls_forward),
		T(test_rollback_without_exchange_renames),
		T(test_rollback_without_backup_fails),
		T(test_rollback_refuses_a_link_backup),
		T(test_replace_numbered_backups),
		T(test_rollback_numbered_without_backup_fails),
		T(test_replace_strip_private_copy),
		T(test_replace_strip_failure_leaves_dest),
		T(test_install_dir_parents_mode_existing),
		T(test_install_dir_every_step_fails_cleanly),
		T(test_replace_compare_setid_always_copies),
		T(test_replace_context_set_on_temp),
	};

	return cmocka_run_group_tests_name("replace", tests, NULL, NULL);
}

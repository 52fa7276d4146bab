/*
 * test_txn.c - transactions: all or nothing, through faults and crashes.
 *
 * The tree under test (DST) holds a library, an executable and a data
 * file in the "old" version; the transaction brings the "new" version of
 * those, a new file, and a new symbolic link.  After anything at all -
 * success, a failure injected into any system call, a crash (_exit) at any
 * system call followed by hs_recover() - the tree must be entirely old or
 * entirely new, with no temporary file and no journal left.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdint.h>

#include "testutil.h"
#include "hotswap.h"
#include "install.h"
#include "txn.h"
#include "sys.h"

struct fixture {
	char *dir;
	char src[4096], dst[4096];
	struct hs_install_opts opts;
	struct hs_result res;
	int nextra;	/* extra data files, for the syncfs path */
	int no_openat2; /* as on a kernel before Linux 5.6 */
};

static const char *const files[] = { "lib/libx.so.1", "bin/prog", "data" };

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i;

	if (f == NULL)
		return -1;
	f->dir = tu_mkdtemp();
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->dst, sizeof(f->dst), "%s/dst", f->dir);
	assert_int_equal(mkdir(f->src, 0755), 0);
	assert_int_equal(mkdir(tu_path(f->src, "lib"), 0755), 0);
	assert_int_equal(mkdir(tu_path(f->src, "bin"), 0755), 0);
	for (i = 0; i < 3; i++)
		tu_write_str(tu_path(f->src, files[i]), "new\n");
	assert_int_equal(chmod(tu_path(f->src, "bin/prog"), 0755), 0);
	tu_write_str(tu_path(f->src, "added"), "new\n");
	assert_int_equal(symlink("libx.so.1", tu_path(f->src, "lib/libx.so")),
	    0);
	hs_install_opts_init(&f->opts);
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

/*
 * The old tree: three files, no "added", no link, no "extra" dir.
 * bin/prog is set-user-ID, so that every fault and crash run goes
 * through disarming its old inode too.
 */
static void
make_old(struct fixture *f)
{
	size_t i;

	tu_rmtree(f->dst);
	assert_int_equal(mkdir(f->dst, 0755), 0);
	assert_int_equal(mkdir(tu_path(f->dst, "lib"), 0755), 0);
	assert_int_equal(mkdir(tu_path(f->dst, "bin"), 0755), 0);
	for (i = 0; i < 3; i++)
		tu_write_str(tu_path(f->dst, files[i]), "old\n");
	assert_int_equal(chmod(tu_path(f->dst, "bin/prog"), 04750), 0);
}

/* Any name that looks like a temporary, or the journal, below dir? */
static int
leftovers(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strstr(e->d_name, ".hs-") != NULL ||
		    strcmp(e->d_name, ".hotswap-journal") == 0)
			n++;
		else if (e->d_type == DT_DIR)
			n += leftovers(tu_path(dir, e->d_name));
	}
	closedir(d);
	return n;
}

static int
content_is(const char *path, const char *want)
{
	char buf[16] = "";
	int fd = open(path, O_RDONLY), n;

	if (fd == -1)
		return 0;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 0 && strcmp(buf, want) == 0;
}

/* 1 all new, 0 all old, -1 mixed (with a message). */
static int
state_of(struct fixture *f)
{
	int news = 0, olds = 0, i;
	char link[64];

	for (i = 0; i < 3; i++) {
		news += content_is(tu_path(f->dst, files[i]), "new\n");
		olds += content_is(tu_path(f->dst, files[i]), "old\n");
	}
	news += content_is(tu_path(f->dst, "added"), "new\n");
	olds += access(tu_path(f->dst, "added"), F_OK) == -1;
	news += readlink(tu_path(f->dst, "lib/libx.so"), link, sizeof(link)) ==
	    9;
	olds += access(tu_path(f->dst, "lib/libx.so"), F_OK) == -1 &&
	    errno == ENOENT;
	news += f->nextra == 0 || access(tu_path(f->dst, "extra"), F_OK) == 0;
	olds += f->nextra == 0 || access(tu_path(f->dst, "extra"), F_OK) == -1;
	if (news == 6 && olds != 6)
		return 1;
	if (olds == 6 && news != 6)
		return 0;
	print_message("mixed tree: %d new, %d old\n", news, olds);
	return -1;
}

/* Run one transaction over the tree; its result. */
static int
run_txn(struct fixture *f)
{
	struct hs_txn *t;
	int r = -1;

	if ((t = hs_txn_open(f->dst, &f->opts, &f->res)) == NULL)
		return -1;
	if (hs_txn_lock(t, 1, &f->res) == 0 &&
	    hs_txn_add_tree(t, f->src, f->dst, NULL, NULL, &f->res) == 0)
		r = hs_txn_commit(t, &f->res);
	hs_txn_free(t);
	return r;
}

static void
add_extra_files(struct fixture *f, int n)
{
	char name[64];
	int i;

	assert_int_equal(mkdir(tu_path(f->src, "extra"), 0755), 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "extra/f%02d", i);
		tu_write_str(tu_path(f->src, name), "x\n");
	}
	f->nextra = n;
}

static void
test_txn_commits_a_tree(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	make_old(f);
	assert_int_equal(run_txn(f), 0);
	assert_int_equal(state_of(f), 1);
	assert_int_equal(leftovers(f->dst), 0);
	/* An existing file keeps its mode, a new one takes the source's. */
	assert_int_equal(stat(tu_path(f->dst, "bin/prog"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04750);
	assert_int_equal(stat(tu_path(f->dst, "added"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644 & ~022);
	/* Again with -C: everything is up to date, nothing staged. */
	f->opts.flags |= HS_COMPARE;
	assert_int_equal(stat(tu_path(f->dst, "data"), &st), 0);
	assert_int_equal(run_txn(f), 0);
	assert_int_equal(tu_ino(tu_path(f->dst, "data")), st.st_ino);
}

static void
test_txn_backups_only_after_commit(void **state)
{
	struct fixture *f = *state;

	make_old(f);
	f->opts.flags |= HS_BACKUP;
	assert_int_equal(run_txn(f), 0);
	assert_int_equal(state_of(f), 1);
	assert_true(content_is(tu_path(f->dst, "data~"), "old\n"));
	assert_true(content_is(tu_path(f->dst, "bin/prog~"), "old\n"));
	assert_int_equal(access(tu_path(f->dst, "added~"), F_OK), -1);
	assert_int_equal(leftovers(f->dst), 0);
}

/*
 * The old inode a transaction lets go of loses set-user-ID (and
 * set-group-ID with group execute), whether it lives on under someone
 * else's hard link or as the backup; the new file keeps the bits.
 */
static void
test_txn_disarms_old_set_id_inodes(void **state)
{
	struct fixture *f = *state;
	char other[4096];

	(void)snprintf(other, sizeof(other), "%s", tu_path(f->dir, "other"));
	make_old(f);
	assert_int_equal(chmod(tu_path(f->dst, "bin/prog"), 06750), 0);
	(void)unlink(other);
	assert_int_equal(link(tu_path(f->dst, "bin/prog"), other), 0);
	assert_int_equal(run_txn(f), 0);
	assert_int_equal(state_of(f), 1);
	assert_int_equal(tu_mode(other), 0750);
	assert_int_equal(tu_mode(tu_path(f->dst, "bin/prog")), 06750);
	/* With -b: the backup is the old inode, disarmed. */
	make_old(f);
	(void)unlink(other);
	assert_int_equal(link(tu_path(f->dst, "bin/prog"), other), 0);
	f->opts.flags |= HS_BACKUP;
	assert_int_equal(run_txn(f), 0);
	assert_int_equal(tu_mode(tu_path(f->dst, "bin/prog~")), 0750);
	assert_int_equal(tu_ino(tu_path(f->dst, "bin/prog~")), tu_ino(other));
	assert_int_equal(tu_mode(tu_path(f->dst, "bin/prog")), 04750);
	assert_int_equal(leftovers(f->dst), 0);
	assert_int_equal(unlink(other), 0);
}

/* Write text as dst's journal, as hotswap does (0600). */
static void
write_journal(struct fixture *f, const char *text)
{
	int fd = open(tu_path(f->dst, ".hotswap-journal"),
	    O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/*
 * Replay disarms an O record's link only if it is the inode recorded:
 * another file under that name (renamed there by whoever may write the
 * directory) and a record of an earlier version, without identity, are
 * left alone.  The right one is disarmed.
 */
static void
test_txn_replay_disarms_only_the_recorded_inode(void **state)
{
	struct fixture *f = *state;
	char text[512];
	struct stat st;
	int outcome;

	make_old(f);
	tu_write_str(tu_path(f->dst, "bin/.o1"), "old\n");
	assert_int_equal(chmod(tu_path(f->dst, "bin/.o1"), 04755), 0);
	assert_int_equal(stat(tu_path(f->dst, "bin/.o1"), &st), 0);
	/* Wrong inode number: kept as the backup, bits and all. */
	(void)snprintf(text, sizeof(text),
	    "hotswap-journal 2\nS ~\n"
	    "O bin prog .o1 %ju %ju\nC\n",
	    (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	write_journal(f, text);
	assert_int_equal(hs_recover(f->dst, &outcome, &f->res), 0);
	assert_int_equal(outcome, 1);
	assert_int_equal(tu_mode(tu_path(f->dst, "bin/prog~")), 04755);
	/* No identity (an earlier version's journal): left alone too. */
	assert_int_equal(rename(tu_path(f->dst, "bin/prog~"),
			     tu_path(f->dst, "bin/.o1")),
	    0);
	write_journal(f, "hotswap-journal 2\nS ~\nO bin prog .o1\nC\n");
	assert_int_equal(hs_recover(f->dst, &outcome, &f->res), 0);
	assert_int_equal(tu_mode(tu_path(f->dst, "bin/prog~")), 04755);
	/* The recorded inode: disarmed. */
	assert_int_equal(rename(tu_path(f->dst, "bin/prog~"),
			     tu_path(f->dst, "bin/.o1")),
	    0);
	(void)snprintf(text, sizeof(text),
	    "hotswap-journal 2\nS ~\n"
	    "O bin prog .o1 %ju %ju\nC\n",
	    (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	write_journal(f, text);
	assert_int_equal(hs_recover(f->dst, &outcome, &f->res), 0);
	assert_int_equal(tu_mode(tu_path(f->dst, "bin/prog~")), 0755);
	assert_int_equal(leftovers(f->dst), 0);
}

/*
 * A failure to disarm is reported, after the commit: the tree is new,
 * the journal and the old link stay, and the next replay disarms.
 */
static int (*real_fchmod)(int, mode_t);
static int
fchmod_eperm(int fd, mode_t mode)
{
	(void)fd, (void)mode;
	errno = EPERM;
	return -1;
}

static void
test_txn_failed_disarm_is_reported_and_retried(void **state)
{
	struct fixture *f = *state;
	struct hs_txn *t;
	char other[4096];
	int outcome;

	(void)snprintf(other, sizeof(other), "%s", tu_path(f->dir, "other"));
	make_old(f);
	(void)unlink(other);
	assert_int_equal(link(tu_path(f->dst, "bin/prog"), other), 0);
	t = hs_txn_open(f->dst, &f->opts, &f->res);
	assert_non_null(t);
	assert_int_equal(hs_txn_lock(t, 1, &f->res), 0);
	assert_int_equal(hs_txn_add_tree(t, f->src, f->dst, NULL, NULL,
			     &f->res),
	    0);
	/* Staging's fchmod went through; only the disarm's is refused. */
	real_fchmod = hs_sys.fchmod;
	hs_sys.fchmod = fchmod_eperm;
	assert_int_equal(hs_txn_commit(t, &f->res), -1);
	hs_sys.fchmod = real_fchmod;
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(f->res.step,
	    "installed, but cannot clear the "
	    "set-ID bits"));
	hs_txn_free(t);
	assert_int_equal(state_of(f), 1);
	assert_int_equal(tu_mode(other), 04750);
	assert_true(leftovers(f->dst) > 0);
	assert_int_equal(hs_recover(f->dst, &outcome, &f->res), 0);
	assert_int_equal(outcome, 1);
	assert_int_equal(tu_mode(other), 0750);
	assert_int_equal(leftovers(f->dst), 0);
	assert_int_equal(unlink(other), 0);
}

/* The renames go libraries and data, then executables, then links. */
static char order[512];
static int (*real_renameat2)(int, const char *, int, const char *,
    unsigned int);

static int
rename_logged(int a, const char *b, int c, const char *d, unsigned int fl)
{
	strncat(order, d, sizeof(order) - strlen(order) - 2);
	strcat(order, " ");
	return real_renameat2(a, b, c, d, fl);
}

static void
test_txn_renames_libraries_before_executables(void **state)
{
	struct fixture *f = *state;
	const char *lib, *prog, *link;

	make_old(f);
	real_renameat2 = hs_sys.renameat2;
	hs_sys.renameat2 = rename_logged;
	order[0] = '\0';
	assert_int_equal(run_txn(f), 0);
	lib = strstr(order, "libx.so.1 ");
	prog = strstr(order, "prog ");
	link = strstr(order, "libx.so ");
	assert_non_null(lib);
	assert_non_null(prog);
	assert_non_null(link);
	assert_true(lib < prog);
	assert_true(prog < link);
}

static int
enosys_openat2(int d, const char *p, void *how, size_t n)
{
	(void)d, (void)p, (void)how, (void)n;
	errno = ENOSYS;
	return -1;
}

/* Faults armed; without openat2 if asked, so the walk is what fails. */
static void
faults(struct fixture *f)
{
	tu_faults_install();
	if (f->no_openat2)
		hs_sys.openat2 = enosys_openat2;
}

static void
fail_every_step(struct fixture *f, int e)
{
	int n, r, s, outcome;

	for (n = 1;; n++) {
		make_old(f);
		faults(f);
		tu_faults_arm(n, e);
		r = run_txn(f);
		hs_sys_reset();
		s = state_of(f);
		/* Failed after the last rename: only cleanup is left to do. */
		if (r == -1 && s == 1) {
			assert_non_null(strstr(f->res.step, "installed, but"));
			assert_int_equal(hs_recover(f->dst, &outcome, &f->res),
			    0);
			r = 0;
		}
		if (s == -1 || leftovers(f->dst) != 0)
			fail_msg("fault %d (%s): state %d, %d leftovers", n,
			    tu_fault_name(), s, leftovers(f->dst));
		if (!tu_fault_fired()) {
			assert_int_equal(r, 0);
			/* With extra files, the barrier was one syncfs. */
			if (f->nextra > 0)
				assert_non_null(strstr(tu_trace(), "syncfs"));
			/* HS_IO_URING: the commit's steps were the ring's,
			 * and so were staging's temporaries. */
			if (f->opts.flags & HS_IO_URING) {
				assert_non_null(strstr(tu_trace(), "@ring"));
				assert_non_null(strstr(tu_trace(),
				    "openat@ring"));
			}
			break;
		}
		/* Success despite the fault means the fault was tolerated. */
		if (s != (r == 0))
			fail_msg("fault %d (%s): returned %d, tree %s", n,
			    tu_fault_name(), r, s ? "new" : "old");
	}
	assert_true(n > 30);
}

static void
test_txn_every_step_fails_all_or_nothing(void **state)
{
	struct fixture *f = *state;

	fail_every_step(f, EIO);
	fail_every_step(f, ENOSPC);
}

static void
test_txn_every_step_fails_all_or_nothing_syncfs(void **state)
{
	struct fixture *f = *state;

	add_extra_files(f, 6); /* past the few-files fsync path */
	fail_every_step(f, EIO);
}

/*
 * A crash (no cleanup at all) at any system call, then hs_recover():
 * all old or all new.  With -b too, for the backups' records.
 */
static void
crash_every_step(struct fixture *f)
{
	int n, status, outcome, fired = 1;
	pid_t pid;

	for (n = 1; fired; n++) {
		make_old(f);
		pid = fork();
		assert_true(pid != -1);
		if (pid == 0) {
			faults(f);
			tu_faults_crash_at(n);
			_exit(run_txn(f) == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		fired = WEXITSTATUS(status) == 99;
		if (!fired)
			assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(hs_recover(f->dst, &outcome, &f->res), 0);
		if (state_of(f) == -1 || leftovers(f->dst) != 0)
			fail_msg("crash at %d: state %d, %d leftovers", n,
			    state_of(f), leftovers(f->dst));
	}
	assert_true(n > 30);
}

static void
test_txn_crash_anywhere_then_recover(void **state)
{
	struct fixture *f = *state;

	crash_every_step(f);
	f->opts.flags |= HS_BACKUP;
	crash_every_step(f);
}

static void
test_txn_crash_anywhere_then_recover_syncfs(void **state)
{
	struct fixture *f = *state;

	add_extra_files(f, 6);
	crash_every_step(f);
}

/*
 * The commit's steps by io_uring (HS_IO_URING): a fault or a crash at
 * any of them, each op counted as a call by the wrapper, or at the
 * ring's setup (a fault there: the plain way), is all or nothing too.
 */
static void
test_txn_ring_every_step_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	struct hs_ring *r = hs_sys.ring_open(8);

	if (r == NULL) {
		print_message("no io_uring here (%s)\n", strerror(errno));
		skip();
	}
	hs_ring_close(r);
	f->opts.flags |= HS_IO_URING;
	fail_every_step(f, EIO);
	crash_every_step(f);
	f->opts.flags |= HS_BACKUP;
	fail_every_step(f, ENOSPC);
	crash_every_step(f);
}

/* Set-ID old inodes are disarmed from the ring's stat too. */
static void
test_txn_ring_disarms_old_set_id_inodes(void **state)
{
	struct fixture *f = *state;

	f->opts.flags |= HS_IO_URING;
	test_txn_disarms_old_set_id_inodes(state);
}

/* The same, on a kernel without openat2(2): the walk of components. */
static void
test_txn_every_step_fails_without_openat2(void **state)
{
	struct fixture *f = *state;

	f->no_openat2 = 1;
	fail_every_step(f, EIO);
	crash_every_step(f);
}

/*
 * hs_open_beneath, with openat2 and without: a directory beneath is
 * reached, a symbolic link on the way (to a directory beneath, even) is
 * ELOOP, and "..", "/" or an empty component never leave the root.
 */
static void
beneath_cases(struct fixture *f)
{
	int root, fd;

	root = open(f->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root != -1);
	fd = hs_open_beneath(root, "lib");
	assert_true(fd != -1);
	close(fd);
	fd = hs_open_beneath(root, ".");
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(hs_open_beneath(root, "ln"), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(hs_open_beneath(root, "ln/x"), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(hs_open_beneath(root, "lib/../bin"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hs_open_beneath(root, "/tmp"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hs_open_beneath(root, "missing"), -1);
	assert_int_equal(errno, ENOENT);
	close(root);
}

static void
test_txn_open_beneath_follows_no_link(void **state)
{
	struct fixture *f = *state;
	int root, fd;

	make_old(f);
	assert_int_equal(mkdir(tu_path(f->dst, "lib/x"), 0755), 0);
	assert_int_equal(symlink("lib", tu_path(f->dst, "ln")), 0);
	beneath_cases(f);
	hs_sys.openat2 = enosys_openat2;
	beneath_cases(f);
	root = open(f->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(hs_open_beneath(root, "lib//x"), -1);
	assert_int_equal(errno, EINVAL);
	close(root);
	/* The control: the same path, plain, is reached. */
	root = open(f->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true((fd = hs_open_beneath(root, "lib/x")) != -1);
	close(fd);
	close(root);
}

/* The next transaction into the tree recovers the last one first. */
static void
test_txn_lock_recovers_and_serialises(void **state)
{
	struct fixture *f = *state;
	struct hs_txn *a, *b;
	int status;
	pid_t pid;

	make_old(f);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		tu_faults_install();
		tu_faults_only("renameat2");
		tu_faults_crash_at(2); /* after the first rename */
		_exit(run_txn(f));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 99);
	assert_int_equal(state_of(f), -1); /* half done, as crashed */
	a = hs_txn_open(f->dst, &f->opts, &f->res);
	assert_non_null(a);
	assert_int_equal(hs_txn_lock(a, 0, &f->res), 0);
	assert_int_equal(hs_txn_stats(a)->recovered, 1);
	assert_int_equal(state_of(f), 1); /* completed: it was durable */
	assert_int_equal(leftovers(f->dst), 0);
	b = hs_txn_open(f->dst, &f->opts, &f->res);
	assert_non_null(b);
	assert_int_equal(hs_txn_lock(b, 0, &f->res), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	hs_txn_free(a);
	assert_int_equal(hs_txn_lock(b, 0, &f->res), 0);
	hs_txn_free(b);
}

static void
test_txn_failed_source_rolls_back_everything(void **state)
{
	struct fixture *f = *state;

	make_old(f);
	assert_int_equal(mkfifo(tu_path(f->src, "zz-fifo"), 0644), 0);
	assert_int_equal(run_txn(f), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(state_of(f), 0);
	assert_int_equal(leftovers(f->dst), 0);
}

/* Per-file use (several SOURCEs): a failed add leaves no trace. */
static void
test_txn_failed_add_leaves_the_others(void **state)
{
	struct fixture *f = *state;
	struct hs_txn *t;

	make_old(f);
	t = hs_txn_open(f->dst, &f->opts, &f->res);
	assert_non_null(t);
	assert_int_equal(hs_txn_lock(t, 1, &f->res), 0);
	assert_int_equal(hs_txn_add(t, tu_path(f->src, "data"),
			     tu_path(f->dst, "data"), NULL, &f->res),
	    0);
	assert_int_equal(hs_txn_add(t, tu_path(f->src, "missing"),
			     tu_path(f->dst, "missing"), NULL, &f->res),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f->res.path, tu_path(f->src, "missing"));
	assert_int_equal(hs_txn_commit(t, &f->res), 0);
	assert_int_equal(hs_txn_stats(t)->staged, 1);
	hs_txn_free(t);
	assert_true(content_is(tu_path(f->dst, "data"), "new\n"));
	assert_int_equal(leftovers(f->dst), 0);
}

/* How many times the trace names call (a whole word). */
static int
traced(const char *call)
{
	const char *p = tu_trace();
	size_t n = strlen(call);
	int k = 0;

	while ((p = strstr(p, call)) != NULL) {
		if (p[n] == ' ' || p[n] == '\0')
			k++;
		p += n;
	}
	return k;
}

/*
 * The barrier of a tree past the few-files path is one syncfs: no file
 * but the journal is fsynced (twice: before syncfs and after C), none
 * of the first few either, fsynced as staged before the count was known.
 * Only those first 8 had their writeback started as they were staged:
 * the 2 after them are left to the syncfs, which batches them (a
 * sync_file_range a file wrote each back in the caller, serially).
 */
static void
test_txn_many_files_fsync_only_the_journal(void **state)
{
	struct fixture *f = *state;

	add_extra_files(f, 6);
	make_old(f);
	tu_faults_install();
	assert_int_equal(run_txn(f), 0);
	assert_int_equal(state_of(f), 1);
	assert_int_equal(traced("syncfs"), 1);
	assert_int_equal(traced("fsync:file"), 2);
	assert_int_equal(traced("dupfd"), 8);
	assert_int_equal(traced("sync_file_range"), 8);
}

/*
 * Few files: each temporary is fsynced at the barrier, after the
 * journal and its directory (fsync:file fsync:dir), from the descriptor
 * kept when it was staged (dupfd), after every file was staged (the
 * last linkat); one fsync for each of the 4 files and 2 of the journal.
 * (Before, each was fsynced as it was staged, before the journal.)
 */
static void
test_txn_few_files_fsynced_at_the_barrier(void **state)
{
	struct fixture *f = *state;
	const char *tr, *barrier, *last_link, *p;

	make_old(f);
	tu_faults_install();
	assert_int_equal(run_txn(f), 0);
	assert_int_equal(state_of(f), 1);
	assert_int_equal(traced("syncfs"), 0);
	assert_int_equal(traced("dupfd"), 4);
	assert_int_equal(traced("sync_file_range"), 4);
	assert_int_equal(traced("fsync:file"), 4 + 2);
	tr = tu_trace();
	barrier = strstr(tr,
	    "fsync:file fsync:dir fsync:file fsync:file "
	    "fsync:file fsync:file ");
	assert_non_null(barrier);
	for (last_link = NULL, p = tr; (p = strstr(p, " linkat ")) != NULL; p++)
		last_link = p;
	assert_non_null(last_link);
	assert_true(last_link < barrier);
	/* The journal's fsync is the first of all. */
	assert_ptr_equal(strstr(tr, "fsync:file"), barrier);
}

/*
 * The journal's removal is the commit's last step, not waited for: no
 * fsync follows it.  Every directory is fsynced before it.
 */
static char tail[4096];
static int (*real_unlinkat)(int, const char *, int);
static int (*real_fsync)(int);

static int
unlink_logged(int d, const char *name, int fl)
{
	if (strcmp(name, HS_JOURNAL) == 0)
		strcat(tail, "J ");
	return real_unlinkat(d, name, fl);
}

static int
fsync_logged(int fd)
{
	if (strlen(tail) + 3 < sizeof(tail))
		strcat(tail, "F ");
	return real_fsync(fd);
}

static void
log_tail(void)
{
	tail[0] = '\0';
	real_unlinkat = hs_sys.unlinkat;
	real_fsync = hs_sys.fsync;
	hs_sys.unlinkat = unlink_logged;
	hs_sys.fsync = fsync_logged;
}

static void
test_txn_journal_removal_is_not_waited_for(void **state)
{
	struct fixture *f = *state;
	size_t n;

	make_old(f);
	log_tail();
	assert_int_equal(run_txn(f), 0);
	hs_sys_reset();
	assert_int_equal(state_of(f), 1);
	assert_int_equal(leftovers(f->dst), 0);
	n = strlen(tail);
	assert_true(n > 4);
	assert_string_equal(tail + n - 4, "F J ");
}

/*
 * A power cut that loses the journal's removal (made here by a removal
 * that does nothing) leaves a committed journal whose every step is
 * done: recover completes it, finds nothing to do and removes it; and
 * again with -b, whose old links were renamed to backups.
 */
static int
unlink_not_journal(int d, const char *name, int fl)
{
	if (strcmp(name, HS_JOURNAL) == 0)
		return 0;
	return real_unlinkat(d, name, fl);
}

static void
lost_removal(struct fixture *f)
{
	int outcome;

	make_old(f);
	real_unlinkat = hs_sys.unlinkat;
	hs_sys.unlinkat = unlink_not_journal;
	assert_int_equal(run_txn(f), 0);
	hs_sys_reset();
	assert_int_equal(access(tu_path(f->dst, HS_JOURNAL), F_OK), 0);
	assert_int_equal(hs_recover(f->dst, &outcome, &f->res), 0);
	assert_int_equal(outcome, 1);
	assert_int_equal(state_of(f), 1);
	assert_int_equal(leftovers(f->dst), 0);
}

static void
test_txn_finished_journal_replays_as_done(void **state)
{
	struct fixture *f = *state;

	lost_removal(f);
	f->opts.flags |= HS_BACKUP;
	lost_removal(f);
	assert_true(content_is(tu_path(f->dst, "data~"), "old\n"));
}

/* --- names found taken: what is cancelled (X, X 2) ----------------- */

static int zero_calls;

/* The first pool of random bytes is all zero: names "...hs-aaaaaaaaaa". */
static ssize_t
getrandom_first_zero(void *buf, size_t len, unsigned int flags)
{
	if (zero_calls++ == 0) {
		memset(buf, 0, len);
		return (ssize_t)len;
	}
	return getrandom(buf, len, flags);
}

#define PREDICTED ".data.hs-aaaaaaaaaa"

/*
 * The journal of dst, as staged so far: every record that is not
 * cancelled names a temporary that exists and is ours (not the planted
 * file at PREDICTED), and PREDICTED appears only in cancelled records.
 * *pairs: the T and O records cancelled together; *lone: O records
 * cancelled while their T stands.
 */
static void
check_journal(struct fixture *f, int planted, int *pairs, int *lone)
{
	struct hs_jtext j;
	const struct hs_jrec *r;
	const char *msg;
	unsigned long line;
	char *text;
	size_t len, i;

	*pairs = *lone = 0;
	text = tu_read(tu_path(f->dst, HS_JOURNAL), &len);
	assert_int_equal(hs_journal_parse(text, len, NULL, &j, &line, &msg), 0);
	free(text);
	for (i = 0; i < j.n; i++) {
		r = &j.rec[i];
		if (r->type != 'T' && r->type != 'O')
			continue;
		assert_string_equal(r->dir, ".");
		assert_string_equal(r->name, "data");
		if (!r->cancelled) {
			if (planted)
				assert_string_not_equal(r->aux, PREDICTED);
			assert_int_equal(access(tu_path(f->dst, r->aux), F_OK),
			    0);
			continue;
		}
		if (r->type == 'T') {
			assert_true(i + 1 < j.n && j.rec[i + 1].type == 'O' &&
			    j.rec[i + 1].cancelled);
			(*pairs)++;
			i++;
		} else
			(*lone)++;
	}
	hs_journal_text_free(&j);
	if (planted)
		tu_assert_content(tu_path(f->dst, PREDICTED), "planted\n");
}

/* Stage dst/data with the first names predictable; the journal checked. */
static struct hs_txn *
stage_predicted(struct fixture *f, int planted, int *pairs, int *lone)
{
	struct hs_txn *t;

	make_old(f);
	if (planted)
		tu_write_str(tu_path(f->dst, PREDICTED), "planted\n");
	hs_sys.getrandom = getrandom_first_zero;
	zero_calls = 0;
	hs_tmp_reseed(); /* the next names come from the zero pool */
	t = hs_txn_open(f->dst, &f->opts, &f->res);
	assert_non_null(t);
	assert_int_equal(hs_txn_lock(t, 1, &f->res), 0);
	assert_int_equal(hs_txn_add(t, tu_path(f->src, "data"),
			     tu_path(f->dst, "data"), NULL, &f->res),
	    0);
	assert_true(zero_calls >= 2);
	check_journal(f, planted, pairs, lone);
	return t;
}

/*
 * A file's T and O records go to the journal in one write, before
 * either name is taken.  The T's name found taken (here by a planted
 * file, the name made predictable): both records are cancelled (X 2)
 * and a new pair is written, so that neither the commit nor a rollback
 * touches the planted file.  The O's name found taken (the zero pool
 * gives the O the T's own name): the O alone is cancelled (X) and
 * tried again, the T kept.  Control: a plain X after a pair whose T was
 * not taken would leave that T standing, and check_journal sees it.
 */
static void
test_txn_taken_names_cancel_what_was_not_taken(void **state)
{
	struct fixture *f = *state;
	struct hs_txn *t;
	int pairs, lone, commit;

	for (commit = 0; commit < 2; commit++) {
		t = stage_predicted(f, 1, &pairs, &lone);
		assert_int_equal(pairs, 1);
		assert_int_equal(lone, 0);
		if (commit)
			assert_int_equal(hs_txn_commit(t, &f->res), 0);
		hs_txn_free(t); /* without the commit: rolled back */
		tu_assert_content(tu_path(f->dst, PREDICTED), "planted\n");
		assert_true(content_is(tu_path(f->dst, "data"),
		    commit ? "new\n" : "old\n"));
		assert_int_equal(unlink(tu_path(f->dst, PREDICTED)), 0);
		assert_int_equal(leftovers(f->dst), 0);
		hs_sys_reset();
	}
	t = stage_predicted(f, 0, &pairs, &lone);
	assert_int_equal(pairs, 0);
	assert_int_equal(lone, 1);
	assert_int_equal(hs_txn_commit(t, &f->res), 0);
	hs_txn_free(t);
	assert_true(content_is(tu_path(f->dst, "data"), "new\n"));
	assert_int_equal(leftovers(f->dst), 0);
}

/* parse TEXT (after the header): 0 or -1, the records into *j. */
static int
parse_text(const char *text, struct hs_jtext *j)
{
	char buf[1024];
	const char *msg;
	unsigned long line;

	snprintf(buf, sizeof(buf), "%s%s", HS_JOURNAL_HEADER, text);
	return hs_journal_parse(buf, strlen(buf), NULL, j, &line, &msg);
}

#define PAIR                         \
	"T d f .f.hs-aaaaaaaaaa 0\n" \
	"O d f .f.hs-bbbbbbbbbb 1 2\n"

/*
 * The grammar of X: "X" cancels the record before it, as every version
 * wrote it; "X 2" cancels a T and its O written together, and nothing
 * else.
 */
static void
test_txn_journal_cancel_records(void **state)
{
	static const char *const refused[] = {
		"T d f .f.hs-aaaaaaaaaa 0\nX 2\n", /* one record */
		PAIR "X\nX 2\n",		   /* O already cancelled */
		PAIR "X 3\n",
		PAIR "X 1\n",
		PAIR "X  2\n",
		"O d f .f.hs-bbbbbbbbbb 1 2\n"
		"T d f .f.hs-aaaaaaaaaa 0\nX 2\n", /* not T then O */
		"T d f .f.hs-aaaaaaaaaa 0\n"
		"O d g .g.hs-bbbbbbbbbb 1 2\nX 2\n", /* not the same name */
		"D d\nT d f .f.hs-aaaaaaaaaa 0\nX 2\n",
	};
	struct hs_jtext j;
	size_t i;

	(void)state;
	/* As earlier versions wrote it: T, O, X (the O), T, X (the T). */
	assert_int_equal(parse_text(PAIR "X\nT d g .g.hs-cccccccccc 1\nX\n",
			     &j),
	    0);
	assert_int_equal(j.n, 3);
	assert_false(j.rec[0].cancelled);
	assert_true(j.rec[1].cancelled);
	assert_true(j.rec[2].cancelled);
	hs_journal_text_free(&j);
	assert_int_equal(parse_text(PAIR "X 2\n" PAIR "C\n", &j), 0);
	assert_int_equal(j.n, 5);
	assert_true(j.rec[0].cancelled && j.rec[1].cancelled);
	assert_false(j.rec[2].cancelled || j.rec[3].cancelled);
	assert_true(j.rec[3].has_id && j.rec[3].dev == 1 && j.rec[3].ino == 2);
	assert_true(j.committed);
	hs_journal_text_free(&j);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		print_message("refused: %zu\n", i);
		assert_int_equal(parse_text(refused[i], &j), -1);
		assert_int_equal(errno, EINVAL);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_txn_commits_a_tree),
		T(test_txn_backups_only_after_commit),
		T(test_txn_disarms_old_set_id_inodes),
		T(test_txn_replay_disarms_only_the_recorded_inode),
		T(test_txn_failed_disarm_is_reported_and_retried),
		T(test_txn_renames_libraries_before_executables),
		T(test_txn_every_step_fails_all_or_nothing),
		T(test_txn_every_step_fails_all_or_nothing_syncfs),
		T(test_txn_crash_anywhere_then_recover),
		T(test_txn_crash_anywhere_then_recover_syncfs),
		T(test_txn_every_step_fails_without_openat2),
		T(test_txn_ring_every_step_all_or_nothing),
		T(test_txn_ring_disarms_old_set_id_inodes),
		T(test_txn_open_beneath_follows_no_link),
		T(test_txn_lock_recovers_and_serialises),
		T(test_txn_failed_source_rolls_back_everything),
		T(test_txn_failed_add_leaves_the_others),
		T(test_txn_many_files_fsync_only_the_journal),
		T(test_txn_few_files_fsynced_at_the_barrier),
		T(test_txn_journal_removal_is_not_waited_for),
		T(test_txn_finished_journal_replays_as_done),
		T(test_txn_taken_names_cancel_what_was_not_taken),
		T(test_txn_journal_cancel_records),
	};

	return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}

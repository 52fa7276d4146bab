/*
 * test_free.c - HS_FREE_LATER: the last references of replaced inodes,
 * handed to a process of ours that drops them after the call returns
 * (src/install/free.c), by hs_install() and by a transaction's commit.
 *
 * What is proved without timing anything: the holder has the references
 * and nothing else of ours (a pipe's write end stands for an inode: its
 * read end sees end of file exactly when no process holds it); it lets
 * go once the caller has closed its side; every failure on the way
 * leaves the references to be dropped here, before the call returns;
 * and only a big old inode that no name keeps is handed over.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "hotswap.h"
#include "sys.h"
#include "install.h"

#define BIG (HS_FREE_LATER_MIN)

/* The forks the caller made, and a copy of the last pipe's write end. */
static int forks, gate = -1;
static pid_t (*real_fork)(void);
static int (*real_pipe2)(int[2], int);

static pid_t
counting_fork(void)
{
	pid_t pid = real_fork();

	if (pid > 0)
		forks++;
	return pid;
}

/* Keep the holder waiting: a second write end, closed by the test. */
static int
gated_pipe2(int p[2], int flags)
{
	if (real_pipe2(p, flags) == -1)
		return -1;
	gate = fcntl(p[1], F_DUPFD_CLOEXEC, 0);
	return gate == -1 ? -1 : 0;
}

static int
setup(void **state)
{
	hs_sys_reset();
	real_fork = hs_sys.fork;
	real_pipe2 = hs_sys.pipe2;
	hs_sys.fork = counting_fork;
	forks = 0;
	gate = -1;
	*state = tu_mkdtemp();
	return 0;
}

static struct rlimit nofile; /* restored by teardown, if changed */

static int
teardown(void **state)
{
	if (gate != -1)
		(void)close(gate);
	if (nofile.rlim_max != 0)
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	hs_sys_reset();
	tu_rmdir(*state);
	return 0;
}

/* 1 if a process still holds the write end of the pipe whose read end is
 * r, 0 if none does (end of file), after waiting up to ms for one. */
static int
held(int r, int ms)
{
	struct pollfd p = { .fd = r, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) == 0)
		return 1;
	assert_int_equal(read(r, &c, 1), 0);
	return 0;
}

static int
open_fds(void)
{
	return tu_count("/proc/self/fd");
}

/* The process other than us holding the pipe of read end r, or -1. */
static pid_t
holder_of(int r)
{
	char link[64], want[64], path[600];
	struct dirent *p, *f;
	struct stat st;
	DIR *proc, *fd;
	pid_t pid = -1;

	assert_int_equal(fstat(r, &st), 0);
	(void)snprintf(want, sizeof(want), "pipe:[%lu]",
	    (unsigned long)st.st_ino);
	assert_non_null(proc = opendir("/proc"));
	while (pid == -1 && (p = readdir(proc)) != NULL) {
		if (atoi(p->d_name) <= 0 || atoi(p->d_name) == getpid())
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if ((fd = opendir(path)) == NULL)
			continue;
		while ((f = readdir(fd)) != NULL) {
			ssize_t n;

			(void)snprintf(path, sizeof(path), "/proc/%s/fd/%s",
			    p->d_name, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0 && (link[n] = '\0', strcmp(link, want) == 0))
				pid = atoi(p->d_name);
		}
		(void)closedir(fd);
	}
	(void)closedir(proc);
	return pid;
}

/* The line of /proc/PID/status that starts with key, its value. */
static unsigned long long
status_hex(pid_t pid, const char *key)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_non_null(f = fopen(path, "re"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtoull(line + strlen(key), NULL, 16);
	(void)fclose(f);
	return v;
}

static void
test_free_later_holder_keeps_the_references_and_nothing_else(void **state)
{
	char path[64], link[64], comm[32];
	int inode[2], other[2], fd;
	sigset_t mask;
	pid_t b;
	ssize_t n;

	(void)state;
	hs_sys.pipe2 = gated_pipe2;
	assert_int_equal(pipe2(inode, O_CLOEXEC), 0);
	assert_int_equal(pipe(other), 0); /* inherited by a plain fork */
	assert_int_equal(hs_free_later(&inode[1], 1), 0);
	assert_int_equal(forks, 1);
	/* Our signal mask is ours again: nothing blocked. */
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
	assert_false(sigismember(&mask, SIGTERM));
	/* The holder: named, in /, every signal blocked (no handler of
	 * ours can run in it). */
	assert_true((b = holder_of(inode[0])) > 0);
	(void)snprintf(path, sizeof(path), "/proc/%d/comm", (int)b);
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_true((n = read(fd, comm, sizeof(comm) - 1)) > 0);
	comm[n] = '\0';
	(void)close(fd);
	assert_string_equal(comm, "hotswap-free\n");
	(void)snprintf(path, sizeof(path), "/proc/%d/cwd", (int)b);
	assert_int_equal(readlink(path, link, sizeof(link)), 1);
	assert_int_equal(link[0], '/');
	assert_true(status_hex(b, "SigBlk:") & (1ULL << (SIGTERM - 1)));
	assert_true(status_hex(b, "SigBlk:") & (1ULL << (SIGINT - 1)));
	/* Our own reference is closed... */
	assert_int_equal(fcntl(inode[1], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	/* ...nothing else of ours is held by the holder (or by A)... */
	(void)close(other[1]);
	assert_int_equal(held(other[0], 0), 0);
	/* ...but the reference is, until the pipe closes. */
	assert_int_equal(held(inode[0], 0), 1);
	(void)close(gate);
	gate = -1;
	assert_int_equal(held(inode[0], 10000), 0);
	(void)close(inode[0]);
	(void)close(other[0]);
}

/* Each step that can fail, failed: the references are dropped here. */
static void
test_free_later_failures_drop_the_references_here(void **state)
{
	static const struct {
		const char *call;
		int n;
	} step[] = {
		{ "pipe2", 1 }, { "fork", 1 }, /* ours */
		{ "fork", 2 },		       /* A's, of the holder */
	};
	size_t i;
	int inode[2], fds;

	(void)state;
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		tu_faults_install();
		tu_faults_only(step[i].call);
		tu_faults_arm(step[i].n, EAGAIN);
		fds = open_fds();
		assert_int_equal(pipe2(inode, O_CLOEXEC), 0);
		errno = 0;
		assert_int_equal(hs_free_later(&inode[1], 1), -1);
		assert_int_equal(errno, EAGAIN);
		if (step[i].n == 1)
			assert_true(tu_fault_fired());
		/* Nobody holds it any more: dropped before the return. */
		assert_int_equal(held(inode[0], 0), 0);
		(void)close(inode[0]);
		assert_int_equal(open_fds(), fds);
	}
}

static void
test_free_later_refuses_more_than_it_can_hold(void **state)
{
	int fds[HS_FREE_LATER_MAX + 1], r[HS_FREE_LATER_MAX + 1], p[2];
	size_t i;

	(void)state;
	for (i = 0; i < HS_FREE_LATER_MAX + 1; i++) {
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		r[i] = p[0];
		fds[i] = p[1];
	}
	assert_int_equal(hs_free_later(fds, HS_FREE_LATER_MAX + 1), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(forks, 0);
	for (i = 0; i < HS_FREE_LATER_MAX + 1; i++) {
		assert_int_equal(held(r[i], 0), 0);
		(void)close(r[i]);
	}
}

/* A file of size bytes, its blocks allocated without writing them. */
static void
make_big(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(posix_fallocate(fd, 0, size), 0);
	assert_int_equal(close(fd), 0);
}

static int
install(const char *dir, unsigned int flags)
{
	struct hs_install_opts o;
	struct hs_result res;
	char src[4096], dst[4096];

	hs_install_opts_init(&o);
	o.flags = flags | HS_NO_SYNC;
	(void)snprintf(src, sizeof(src), "%s/src", dir);
	(void)snprintf(dst, sizeof(dst), "%s/dst", dir);
	tu_write_str(src, "new\n");
	if (hs_install(src, dst, &o, &res) == -1)
		return -1;
	tu_assert_content(dst, "new\n");
	return 0;
}

static void
test_install_hands_over_a_big_old_file_only(void **state)
{
	const char *dir = *state, *dst = tu_path(dir, "dst");
	char other[4096];
	int fds = open_fds();

	make_big(dst, BIG);
	assert_int_equal(install(dir, HS_FREE_LATER), 0);
	assert_int_equal(forks, 1);
	assert_int_equal(open_fds(), fds);
	/* Controls: without the flag; a small old file; one kept by -b; one
	 * with another name; no old file at all. */
	make_big(dst, BIG);
	assert_int_equal(install(dir, 0), 0);
	make_big(dst, BIG / 2);
	assert_int_equal(install(dir, HS_FREE_LATER), 0);
	make_big(dst, BIG);
	assert_int_equal(install(dir, HS_FREE_LATER | HS_BACKUP), 0);
	make_big(dst, BIG);
	(void)snprintf(other, sizeof(other), "%s", tu_path(dir, "other"));
	assert_int_equal(link(dst, other), 0);
	assert_int_equal(install(dir, HS_FREE_LATER), 0);
	assert_int_equal(unlink(dst), 0);
	assert_int_equal(install(dir, HS_FREE_LATER), 0);
	assert_int_equal(forks, 1);
	assert_int_equal(open_fds(), fds);
}

/* A fork that fails: the install still succeeds, freed as without. */
static void
test_install_succeeds_when_the_holder_cannot_be_made(void **state)
{
	const char *dir = *state;

	make_big(tu_path(dir, "dst"), BIG);
	tu_faults_install();
	tu_faults_only("fork");
	tu_faults_arm(1, EAGAIN);
	assert_int_equal(install(dir, HS_FREE_LATER), 0);
	assert_true(tu_fault_fired());
}

/* dir/s and dir/d made anew and empty, their paths in src and dst. */
static void
fresh_trees(const char *dir, char src[4096], char dst[4096])
{
	(void)snprintf(src, 4096, "%s/s", dir);
	(void)snprintf(dst, 4096, "%s/d", dir);
	tu_rmtree(src);
	tu_rmtree(dst);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mkdir(dst, 0755), 0);
}

/*
 * A tree of n big old files (each with a second name outside the tree if
 * linked) and one small one; the transaction's result, and how many old
 * files it handed over.
 */
static int
txn(const char *dir, int n, int linked, unsigned int flags,
    unsigned long *freed)
{
	char src[4096], dst[4096], name[64];
	struct hs_install_opts o;
	struct hs_result res;
	struct hs_txn *t;
	int i, r = -1;

	fresh_trees(dir, src, dst);
	for (i = 0; i <= n; i++) {
		(void)snprintf(name, sizeof(name), "f%d", i);
		tu_write_str(tu_path(src, name), "new\n");
		if (i < n) {
			make_big(tu_path(dst, name), BIG);
			(void)unlink(tu_path(dir, name));
			if (linked)
				assert_int_equal(link(tu_path(dst, name),
						     tu_path(dir, name)),
				    0);
		} else
			tu_write_str(tu_path(dst, name), "small old\n");
	}
	hs_install_opts_init(&o);
	o.flags = flags | HS_NO_SYNC;
	if ((t = hs_txn_open(dst, &o, &res)) == NULL)
		return -1;
	if (hs_txn_lock(t, 1, &res) == 0 &&
	    hs_txn_add_tree(t, src, dst, NULL, NULL, &res) == 0)
		r = hs_txn_commit(t, &res);
	*freed = hs_txn_stats(t)->freed_later;
	hs_txn_free(t);
	for (i = 0; r == 0 && i <= n; i++) {
		(void)snprintf(name, sizeof(name), "f%d", i);
		tu_assert_content(tu_path(dst, name), "new\n");
	}
	return r;
}

static void
test_txn_hands_over_its_big_old_files(void **state)
{
	const char *dir = *state;
	unsigned long freed;
	int fds = open_fds();

	assert_int_equal(txn(dir, 2, 0, HS_FREE_LATER, &freed), 0);
	assert_int_equal(freed, 2);
	assert_int_equal(forks, 1);
	/* Controls: without the flag; kept by -b; with another name. */
	assert_int_equal(txn(dir, 2, 0, 0, &freed), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(txn(dir, 2, 0, HS_FREE_LATER | HS_BACKUP, &freed), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(txn(dir, 2, 1, HS_FREE_LATER, &freed), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(forks, 1);
	assert_int_equal(open_fds(), fds);
}

/* A commit that fails and rolls back hands nothing over, keeps nothing. */
static void
test_txn_rolled_back_keeps_no_reference(void **state)
{
	const char *dir = *state;
	unsigned long freed;
	int fds = open_fds();

	tu_faults_install();
	tu_faults_only("renameat2");
	tu_faults_arm(2, EIO);
	assert_int_equal(txn(dir, 2, 0, HS_FREE_LATER, &freed), -1);
	assert_true(tu_fault_fired());
	assert_int_equal(freed, 0);
	assert_int_equal(forks, 0);
	assert_int_equal(open_fds(), fds);
	/* The old big files have their names again. */
	assert_int_equal(tu_count(tu_path(dir, "d")), 3);
}

/* The references kept while staging are a sixteenth of the limit. */
static void
test_txn_holds_a_sixteenth_of_the_descriptors(void **state)
{
	const char *dir = *state;
	struct rlimit rl;
	unsigned long freed;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &nofile), 0);
	rl = nofile;
	rl.rlim_cur = 48;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(txn(dir, 4, 0, HS_FREE_LATER, &freed), 0);
	assert_int_equal(freed, 3);
}

/*
 * A caller that is a subreaper (or PID 1) would get the holder back as a
 * child of its own: there the references are dropped at once.
 */
static void
test_free_later_not_for_a_subreaper(void **state)
{
	int inode[2], status;
	pid_t pid;

	(void)state;
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1 ||
		    pipe2(inode, O_CLOEXEC) == -1)
			_exit(10);
		errno = 0;
		if (hs_free_later(&inode[1], 1) != -1 || errno != ECHILD)
			_exit(11);
		if (forks != 0 || held(inode[0], 0) != 0)
			_exit(12);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A file swapped in over DEST after staging looked at it: not held. */
static int (*real_openat)(int, const char *, int, mode_t);

static int
swapping_openat(int d, const char *path, int flags, mode_t mode)
{
	if (flags & O_PATH)
		(void)renameat(d, "../swap", d, path);
	return real_openat(d, path, flags, mode);
}

static void
test_txn_holds_only_the_inode_it_staged_over(void **state)
{
	const char *dir = *state;
	unsigned long freed;

	real_openat = hs_sys.openat;
	hs_sys.openat = swapping_openat;
	make_big(tu_path(dir, "swap"), BIG);
	assert_int_equal(txn(dir, 2, 0, HS_FREE_LATER, &freed), 0);
	hs_sys.openat = real_openat;
	/* The first old file is replaced by the swap before its open: only
	 * the second one is held (the swap file is gone after the first). */
	assert_int_equal(freed, 1);
}

static int
fchmod_eperm(int fd, mode_t mode)
{
	(void)fd, (void)mode;
	errno = EPERM;
	return -1;
}

static pid_t
fork_eagain(void)
{
	errno = EAGAIN;
	return -1;
}

/*
 * A commit that fails after its last rename (the old set-user-ID file
 * cannot be disarmed) leaves the new tree: its big old file is handed
 * over all the same (or, the fork failing, freed here), and the failure
 * keeps its own errno either way.
 */
static void
commit_failing_after_the_renames(const char *dir, int fork_fails)
{
	char src[4096], dst[4096];
	struct hs_install_opts o;
	struct hs_result res;
	struct hs_txn *t;

	hs_sys_reset();
	hs_sys.fork = counting_fork;
	fresh_trees(dir, src, dst);
	tu_write_str(tu_path(src, "prog"), "new\n");
	make_big(tu_path(dst, "prog"), BIG);
	assert_int_equal(chmod(tu_path(dst, "prog"), 04755), 0);
	hs_install_opts_init(&o);
	o.flags = HS_FREE_LATER | HS_NO_SYNC;
	assert_non_null(t = hs_txn_open(dst, &o, &res));
	assert_int_equal(hs_txn_lock(t, 1, &res), 0);
	assert_int_equal(hs_txn_add_tree(t, src, dst, NULL, NULL, &res), 0);
	hs_sys.fchmod = fchmod_eperm; /* the disarm's, after the renames */
	if (fork_fails)
		hs_sys.fork = fork_eagain;
	assert_int_equal(hs_txn_commit(t, &res), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(res.step, "installed, but"));
	tu_assert_content(tu_path(dst, "prog"), "new\n");
	assert_int_equal(hs_txn_stats(t)->freed_later, fork_fails ? 0 : 1);
	hs_txn_free(t);
}

static void
test_txn_failing_after_the_renames_still_hands_over(void **state)
{
	commit_failing_after_the_renames(*state, 0);
	assert_int_equal(forks, 1);
	commit_failing_after_the_renames(*state, 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_free_later_holder_keeps_the_references_and_nothing_else),
		T(test_free_later_failures_drop_the_references_here),
		T(test_free_later_refuses_more_than_it_can_hold),
		T(test_free_later_not_for_a_subreaper),
		T(test_install_hands_over_a_big_old_file_only),
		T(test_install_succeeds_when_the_holder_cannot_be_made),
		T(test_txn_hands_over_its_big_old_files),
		T(test_txn_rolled_back_keeps_no_reference),
		T(test_txn_failing_after_the_renames_still_hands_over),
		T(test_txn_holds_a_sixteenth_of_the_descriptors),
		T(test_txn_holds_only_the_inode_it_staged_over),
	};

	return cmocka_run_group_tests_name("free", tests, NULL, NULL);
}

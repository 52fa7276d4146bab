/*
 * test_guard.c - the --fix engine of libhotswap-guard.so (src/guard/fix.c),
 * without the interposers around it.
 *
 * The guarded program's side is played by the test: it opens through
 * fix_open(), writes with write(2), closes and tells fix_closed(), as the
 * interposed close() does.  Every system call of the guard's own work
 * goes through the seam (src/sys/sys.h), and each is failed in turn: the
 * destination must then be untouched (or replaced, where only the
 * directory's fsync failed), nothing left beside it, and the failure said
 * in one line naming the file and the reason.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "testutil.h"
#include "sys.h"
#include "guard.h"

/* ---- what guard.c gives fix.c -------------------------------------- */

__thread int guard_busy __attribute__((tls_model("initial-exec")));
struct guard_real guard_real;

/* fix.c's descriptor bookkeeping calls the real fcntl and dup3. */
void
guard_resolve(void)
{
	guard_real.fcntl = fcntl;
	guard_real.dup3 = dup3;
}

static char said[4096]; /* every line guard_say() wrote */

void
guard_say(int always, const char *pre, const char *path, const char *post)
{
	size_t len = strlen(said);

	(void)always;
	(void)snprintf(said + len, sizeof(said) - len, "%s'%s'%s\n", pre, path,
	    post);
}

/* ---- the fixture ----------------------------------------------------- */

#define OLD "old content\n"
#define NEW "new content, longer\n"

struct fixture {
	char *dir;
	char dst[4096];
	ino_t before;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->dir = tu_mkdtemp();
	/* The guard names files by their real path. */
	if (realpath(f->dir, f->dst) == NULL)
		return -1;
	(void)strlcat(f->dst, "/lib.so", sizeof(f->dst));
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
prepare(struct fixture *f)
{
	tu_write_str(f->dst, OLD);
	assert_int_equal(chmod(f->dst, 0640), 0);
	f->before = tu_ino(f->dst);
	said[0] = '\0';
}

static void
assert_untouched(const struct fixture *f)
{
	tu_assert_content(f->dst, OLD);
	assert_int_equal(tu_ino(f->dst), f->before);
	assert_int_equal(tu_count(f->dir), 1);
}

static void
assert_said(const char *what, const struct fixture *f, int e)
{
	char want[4200];

	(void)snprintf(want, sizeof(want),
	    "%s'%s': %s; the old file is "
	    "kept\n",
	    what, f->dst, strerror(e));
	if (strstr(said, want) == NULL)
		fail_msg("said \"%s\", want \"%s\"", said, want);
}

/* The program's part: open, write, close; the close's error or 0. */
static int
program_writes(const struct fixture *f, int *fdp)
{
	int fd;

	if ((*fdp = fd = fix_open(AT_FDCWD, f->dst, O_WRONLY | O_TRUNC,
		 0666)) == -1)
		return errno;
	assert_int_equal(write(fd, NEW, strlen(NEW)), (ssize_t)strlen(NEW));
	assert_int_equal(close(fd), 0);
	return fix_closed(fd);
}

/* ---- the replacement ------------------------------------------------- */

static void
test_fix_replaces_at_last_close(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd, fd2;

	prepare(f);
	tu_faults_install(); /* only to record the order */
	assert_int_equal(program_writes(f, &fd), 0);
	tu_assert_content(f->dst, NEW);
	assert_int_not_equal(tu_ino(f->dst), f->before);
	assert_int_equal(stat(f->dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640); /* the old file's */
	assert_int_equal(tu_count(f->dir), 1);
	assert_string_equal(said, "");
	/*
	 * Durable: the file's data before the rename, the directory after;
	 * the destination looked at (still the file opened) just before.
	 */
	if (strstr(tu_trace(), "fsync:file fstatat renameat2 fsync:dir") ==
	    NULL)
		fail_msg("order: %s", tu_trace());
	hs_sys_reset();

	/* Two descriptors: the first close replaces nothing. */
	prepare(f);
	fd = fix_open(AT_FDCWD, f->dst, O_WRONLY | O_TRUNC, 0666);
	assert_int_not_equal(fd, -1);
	fd2 = dup(fd);
	fix_dup(fd, fd2);
	assert_int_equal(write(fd2, NEW, strlen(NEW)), (ssize_t)strlen(NEW));
	assert_int_equal(close(fd), 0);
	assert_int_equal(fix_closed(fd), 0);
	tu_assert_content(f->dst, OLD);
	assert_int_equal(close(fd2), 0);
	assert_int_equal(fix_closed(fd2), 0);
	tu_assert_content(f->dst, NEW);
	assert_int_equal(tu_count(f->dir), 1);
}

/*
 * The directory is held from the open: renamed while the program writes
 * (a directory above swapped by someone who may write there), the file
 * the program opened is still the one replaced, where it now is; and
 * the name it had reaches nothing of ours.
 */
static void
test_fix_commits_in_the_directory_opened(void **state)
{
	struct fixture *f = *state;
	char real[4096], sub[4200], moved[4200], dst[4300], mdst[4300];
	int fd;

	(void)strlcpy(real, f->dst, sizeof(real));
	*strrchr(real, '/') = '\0'; /* the real directory */
	(void)snprintf(sub, sizeof(sub), "%s/sub", real);
	(void)snprintf(moved, sizeof(moved), "%s/moved", real);
	(void)snprintf(dst, sizeof(dst), "%s/lib.so", sub);
	(void)snprintf(mdst, sizeof(mdst), "%s/lib.so", moved);
	assert_int_equal(mkdir(sub, 0755), 0);
	tu_write_str(dst, OLD);
	said[0] = '\0';
	fd = fix_open(AT_FDCWD, dst, O_WRONLY | O_TRUNC, 0666);
	assert_int_not_equal(fd, -1);
	assert_int_equal(rename(sub, moved), 0);
	assert_int_equal(mkdir(sub, 0755), 0); /* a new one, empty */
	assert_int_equal(write(fd, NEW, strlen(NEW)), (ssize_t)strlen(NEW));
	assert_int_equal(close(fd), 0);
	assert_int_equal(fix_closed(fd), 0);
	tu_assert_content(mdst, NEW);
	assert_int_equal(tu_count(moved), 1);
	assert_int_equal(tu_count(sub), 0);
	assert_string_equal(said, "");
	assert_int_equal(unlink(mdst), 0);
	assert_int_equal(rmdir(moved), 0);
	assert_int_equal(rmdir(sub), 0);
}

/*
 * Another file put at the name while the program writes is not
 * replaced by a copy of a file it never was: the close fails with
 * ESTALE, says so, and leaves no temporary.  Also with our directory
 * descriptor closed behind our back, as closefrom(3) would (it is opened
 * again by name).
 */
static void
test_fix_keeps_a_file_put_in_its_place(void **state)
{
	struct fixture *f = *state;
	char other[4200];
	struct stat st;
	int fd, round, i;

	(void)snprintf(other, sizeof(other), "%s/other", f->dir);
	for (round = 0; round < 2; round++) {
		prepare(f);
		fd = fix_open(AT_FDCWD, f->dst, O_WRONLY | O_TRUNC, 0666);
		assert_int_not_equal(fd, -1);
		/* Where fix.c keeps its directory (DIR_FD_LOW and up). */
		assert_int_equal(fstat(512, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		for (i = 512; round == 1 && i < 1024; i++)
			if (i != fd)
				(void)close(i);
		tu_write_str(other, "other\n");
		assert_int_equal(rename(other, f->dst), 0);
		assert_int_equal(write(fd, NEW, strlen(NEW)),
		    (ssize_t)strlen(NEW));
		assert_int_equal(close(fd), 0);
		assert_int_equal(fix_closed(fd), ESTALE);
		tu_assert_content(f->dst, "other\n");
		assert_int_equal(tu_count(f->dir), 1);
		if (strstr(said,
			"lib.so' was replaced or removed while the "
			"program wrote it") == NULL)
			fail_msg("said %s", said);
	}
}

/*
 * Fail call n with errno e.  0 once n is past the last call.  Each
 * failure is either fix_open's (errno e, nothing made), or the commit's
 * (the close reports e, the line says the old file is kept), or, after
 * the rename, the directory's (replaced, the line says so).
 */
static int
fix_step(struct fixture *f, int n, int e)
{
	int fd, r;

	prepare(f);
	tu_faults_install();
	tu_faults_arm(n, e);
	r = program_writes(f, &fd);
	hs_sys_reset();
	if (!tu_fault_fired()) {
		assert_int_equal(r, 0);
		tu_assert_content(f->dst, NEW);
		return 0;
	}
	if (r != e)
		fail_msg("step %d (%s): error %d, want %d", n, tu_fault_name(),
		    r, e);
	if (fd == -1) {
		assert_string_equal(said, ""); /* the caller refuses */
		assert_untouched(f);
	} else if (strcmp(tu_fault_name(), "fsync:dir") == 0 ||
	    strstr(said, "cannot sync the directory") != NULL) {
		tu_assert_content(f->dst, NEW);
		assert_int_equal(tu_count(f->dir), 1);
		if (strstr(said,
			"replaced, but cannot sync the directory "
			"of '") == NULL)
			fail_msg("step %d (%s): said %s", n, tu_fault_name(),
			    said);
	} else {
		assert_untouched(f);
		if (strstr(said, f->dst) == NULL ||
		    strstr(said, "the old file is kept") == NULL ||
		    strstr(said, strerror(e)) == NULL)
			fail_msg("step %d (%s): said %s", n, tu_fault_name(),
			    said);
	}
	return 1;
}

/* Run step(f, n, e) for n = 1, 2, ... until it says n is past the end. */
static void
every_step(struct fixture *f, int (*step)(struct fixture *, int, int), int e)
{
	int n;

	for (n = 1; step(f, n, e); n++)
		assert_true(n < 100);
	assert_true(n > 8); /* the steps were really visited */
}

static void
test_fix_every_step_fails_cleanly(void **state)
{
	every_step(*state, fix_step, EIO);
	every_step(*state, fix_step, ENOSPC);
	every_step(*state, fix_step, EPERM);
}

/* The steps by name, and what each failure must say. */
static void
test_fix_commit_failures_say_why(void **state)
{
	struct fixture *f = *state;
	int fd;

	prepare(f);
	tu_faults_install();
	tu_faults_only("renameat2");
	tu_faults_arm(1, EXDEV);
	assert_int_equal(program_writes(f, &fd), EXDEV);
	hs_sys_reset();
	assert_said("cannot rename new copy over ", f, EXDEV);
	assert_untouched(f);

	prepare(f);
	tu_faults_install();
	tu_faults_only("fsync");
	tu_faults_arm(1, EIO);
	assert_int_equal(program_writes(f, &fd), EIO);
	hs_sys_reset();
	assert_said("cannot sync new copy of ", f, EIO);
	assert_untouched(f);
}

/* ---- a write the program lost ---------------------------------------- */

static void
test_fix_lost_write_keeps_the_old_file(void **state)
{
	struct fixture *f = *state;
	int fd, fd2;

	prepare(f);
	fd = fix_open(AT_FDCWD, f->dst, O_WRONLY | O_TRUNC, 0666);
	assert_int_not_equal(fd, -1);
	fd2 = dup(fd);
	fix_dup(fd, fd2);
	assert_int_equal(write(fd, "new", 3), 3);
	/* Nothing was written: the program retries; nothing is lost. */
	fix_lost(fd, EAGAIN);
	fix_lost(fd, EINTR);
	fix_lost(fd, EXDEV); /* copy_file_range: cp falls back */
	assert_string_equal(said, "");
	assert_int_equal(tu_count(f->dir), 2);
	errno = 1234;
	fix_lost(fd2, ENOSPC);
	assert_int_equal(errno, 1234);
	assert_said("lost a write to the new copy of ", f, ENOSPC);
	assert_int_equal(tu_count(f->dir), 1); /* the name is gone */
	/* Said once, whichever descriptor fails next. */
	said[0] = '\0';
	fix_lost(fd, EIO);
	assert_string_equal(said, "");
	assert_int_equal(close(fd), 0);
	assert_int_equal(fix_closed(fd), 0); /* fd2 is still open */
	assert_int_equal(close(fd2), 0);
	/* The last close reports the loss, nothing is committed. */
	assert_int_equal(fix_closed(fd2), ENOSPC);
	assert_untouched(f);
	assert_string_equal(said, "");

	/* A stream's error flag: the cause unknown, the same outcome. */
	prepare(f);
	fd = fix_open(AT_FDCWD, f->dst, O_WRONLY | O_TRUNC, 0666);
	assert_int_not_equal(fd, -1);
	fix_lost(fd, 0);
	if (strstr(said,
		"the program's stream has an error; the old file "
		"is kept") == NULL)
		fail_msg("said %s", said);
	assert_int_equal(close(fd), 0);
	assert_int_equal(fix_closed(fd), EIO);
	assert_untouched(f);

	/*
	 * A program that retries after ENOSPC and then writes everything
	 * still has its close fail: the file was not replaced.
	 */
	prepare(f);
	fd = fix_open(AT_FDCWD, f->dst, O_WRONLY | O_TRUNC, 0666);
	assert_int_not_equal(fd, -1);
	fix_lost(fd, ENOSPC);
	assert_int_equal(write(fd, NEW, strlen(NEW)), (ssize_t)strlen(NEW));
	assert_int_equal(close(fd), 0);
	assert_int_equal(fix_closed(fd), ENOSPC);
	assert_untouched(f);

	/* Not ours: nothing happens. */
	said[0] = '\0';
	fix_lost(STDERR_FILENO, EIO);
	assert_string_equal(said, "");
}

/* ---- truncate(2) and ftruncate(2) as replacements -------------------- */

static int
truncate_step(struct fixture *f, int n, int e)
{
	int r;

	prepare(f);
	tu_faults_install();
	tu_faults_arm(n, e);
	errno = 0;
	r = fix_truncate(f->dst, 4);
	hs_sys_reset();
	if (!tu_fault_fired()) {
		assert_int_equal(r, 0);
		tu_assert_content(f->dst, "old ");
		assert_int_not_equal(tu_ino(f->dst), f->before);
		assert_int_equal(tu_count(f->dir), 1);
		return 0;
	}
	if (r != -1)
		fail_msg("step %d (%s): succeeded", n, tu_fault_name());
	if (errno != e)
		fail_msg("step %d (%s): errno %d, want %d", n, tu_fault_name(),
		    errno, e);
	if (strcmp(tu_fault_name(), "fsync:dir") == 0 ||
	    strstr(said, "cannot sync the directory") != NULL) {
		tu_assert_content(f->dst, "old ");
		assert_int_equal(tu_count(f->dir), 1);
	} else
		assert_untouched(f);
	return 1;
}

static void
test_fix_truncate_every_step_fails_cleanly(void **state)
{
	every_step(*state, truncate_step, EIO);
}

static int
ftruncate_step(struct fixture *f, int n, int e)
{
	int fd, r, c;

	prepare(f);
	fd = open(f->dst, O_RDWR);
	assert_int_not_equal(fd, -1);
	tu_faults_install();
	tu_faults_arm(n, e);
	errno = 0;
	r = fix_ftruncate(fd, 4);
	if (r == -1) {
		/* fd is still the program's own, on the old file. */
		assert_int_equal(errno, e);
		hs_sys_reset();
		assert_int_equal(tu_ino(f->dst), f->before);
		assert_int_equal(close(fd), 0);
		assert_int_equal(fix_closed(fd), 0);
		assert_untouched(f);
		return 1;
	}
	assert_int_equal(write(fd, "!", 1), 1); /* at the old offset, 0 */
	assert_int_equal(close(fd), 0);
	c = fix_closed(fd);
	hs_sys_reset();
	if (!tu_fault_fired()) {
		assert_int_equal(c, 0);
		tu_assert_content(f->dst, "!ld ");
		assert_int_equal(tu_count(f->dir), 1);
		return 0;
	}
	if (c != e)
		fail_msg("step %d (%s): error %d, want %d", n, tu_fault_name(),
		    c, e);
	if (strstr(said, "cannot sync the directory") != NULL)
		tu_assert_content(f->dst, "!ld ");
	else
		assert_untouched(f);
	assert_int_equal(tu_count(f->dir), 1);
	return 1;
}

static void
test_fix_ftruncate_every_step_fails_cleanly(void **state)
{
	every_step(*state, ftruncate_step, EIO);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fix_replaces_at_last_close),
		T(test_fix_every_step_fails_cleanly),
		T(test_fix_commit_failures_say_why),
		T(test_fix_commits_in_the_directory_opened),
		T(test_fix_keeps_a_file_put_in_its_place),
		T(test_fix_lost_write_keeps_the_old_file),
		T(test_fix_truncate_every_step_fails_cleanly),
		T(test_fix_ftruncate_every_step_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * testutil.c - see testutil.h.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "ring.h"
#include "sys.h"

char *
tu_mkdtemp(void)
{
	char *d = strdup("/tmp/hs-test.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

void
tu_rmtree(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
tu_rmdir(char *dir)
{
	if (dir == NULL)
		return;
	tu_rmtree(dir);
	free(dir);
}

const char *
tu_path(const char *dir, const char *name)
{
	static char ring[8][4096];
	static int next;
	char *p = ring[next++ % 8];

	snprintf(p, sizeof(ring[0]), "%s/%s", dir, name);
	return p;
}

void
tu_write(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

void
tu_write_str(const char *path, const char *s)
{
	tu_write(path, s, strlen(s));
}

char *
tu_read(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	if (len != NULL)
		*len = (size_t)st.st_size;
	return buf;
}

void
tu_assert_content(const char *path, const char *expected)
{
	char *got = tu_read(path, NULL);

	assert_string_equal(got, expected);
	free(got);
}

ino_t
tu_ino(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

mode_t
tu_mode(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

int
tu_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* --- fault injection -------------------------------------------------- */

static struct hs_sys real;
static int fault_at, fault_errno, calls, fired, crash;
static const char *fault_only, *fired_name = "";
static char trace[8192];

static void
trace_add(const char *name)
{
	size_t len = strlen(trace);

	if (len + strlen(name) + 2 < sizeof(trace))
		snprintf(trace + len, sizeof(trace) - len, "%s%s",
		    len > 0 ? " " : "", name);
}

/* Count the call; 1 if it is the one to fail (errno is then set). */
static int
hit(const char *name)
{
	trace_add(name);
	if (fault_only != NULL &&
	    strncmp(name, fault_only, strlen(fault_only)) != 0)
		return 0;
	if (++calls != fault_at || fault_at <= 0)
		return 0;
	if (crash)
		_exit(99);
	fired = 1;
	fired_name = name;
	errno = fault_errno;
	return 1;
}

/* clang-format off */
#define WRAP(ret, name, params, args)					\
	static ret w_##name params					\
	{								\
		if (hit(#name))						\
			return (ret)-1;					\
		return real.name args;					\
	}
/* clang-format on */

WRAP(int, openat, (int d, const char *p, int f, mode_t m), (d, p, f, m))
WRAP(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
WRAP(ssize_t, pread, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(ssize_t, copy_file_range,
    (int i, off_t *io, int o, off_t *oo, size_t n, unsigned int f),
    (i, io, o, oo, n, f))
WRAP(int, ficlone, (int d, int s), (d, s))
WRAP(off_t, lseek, (int fd, off_t o, int w), (fd, o, w))
WRAP(int, ftruncate, (int fd, off_t o), (fd, o))
WRAP(int, fstat, (int fd, struct stat *st), (fd, st))
WRAP(int, fstatat, (int d, const char *p, struct stat *st, int f),
    (d, p, st, f))
WRAP(ssize_t, readlinkat, (int d, const char *p, char *b, size_t n),
    (d, p, b, n))
WRAP(int, fchown, (int fd, uid_t u, gid_t g), (fd, u, g))
WRAP(int, fchmod, (int fd, mode_t m), (fd, m))
WRAP(int, futimens, (int fd, const struct timespec t[2]), (fd, t))
WRAP(ssize_t, flistxattr, (int fd, char *l, size_t n), (fd, l, n))
WRAP(ssize_t, llistxattr, (const char *p, char *l, size_t n), (p, l, n))
WRAP(ssize_t, fgetxattr, (int fd, const char *k, void *v, size_t n),
    (fd, k, v, n))
WRAP(int, fsetxattr, (int fd, const char *k, const void *v, size_t n, int f),
    (fd, k, v, n, f))
WRAP(int, fremovexattr, (int fd, const char *k), (fd, k))
WRAP(int, linkat, (int a, const char *b, int c, const char *d, int f),
    (a, b, c, d, f))
WRAP(int, renameat2,
    (int a, const char *b, int c, const char *d, unsigned int f),
    (a, b, c, d, f))
WRAP(int, mkdirat, (int d, const char *p, mode_t m), (d, p, m))
WRAP(int, faccessat, (int d, const char *p, int m, int f), (d, p, m, f))
WRAP(ssize_t, getrandom, (void *b, size_t n, unsigned int f), (b, n, f))
WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
WRAP(int, sync_file_range, (int fd, off_t o, off_t n, unsigned int f),
    (fd, o, n, f))
WRAP(int, syncfs, (int fd), (fd))
WRAP(int, flock, (int fd, int op), (fd, op))
WRAP(int, symlinkat, (const char *t, int d, const char *p), (t, d, p))
WRAP(int, openat2, (int d, const char *p, void *h, size_t n), (d, p, h, n))
WRAP(int, spawn,
    (pid_t * pid, const char *p, char *const a[], char *const e[], int d),
    (pid, p, a, e, d))
WRAP(pid_t, waitpid, (pid_t pid, int *st, int o), (pid, st, o))
WRAP(int, dupfd, (int fd), (fd))
WRAP(int, pipe2, (int p[2], int f), (p, f))
WRAP(pid_t, fork, (void), ())

/*
 * The ring: ring_open fails as a call does (NULL).  A batch by the ring
 * is counted as one call an op, named as the plain call it stands for
 * with "@ring" after it ("unlinkat@ring"), so that tu_faults_only()
 * with the plain name picks both ways.  Under the wrapper the ops go to
 * the real ring one at a time, so that a fault at the n-th op, or a
 * crash there, leaves exactly the ops before it done, as it would in
 * the plain way; what real batching does is tested without it.
 */
static struct hs_ring *
w_ring_open(unsigned int depth)
{
	if (hit("ring_open"))
		return NULL;
	return real.ring_open(depth);
}

static int
w_ring_run(struct hs_ring *r, struct hs_rop *ops, size_t n)
{
	static const char *const name[] = {
		[HS_ROP_STAT] = "fstatat@ring",
		[HS_ROP_RENAME] = "renameat2@ring",
		[HS_ROP_UNLINK] = "unlinkat@ring",
		[HS_ROP_TMPFILE] = "openat@ring",
	};
	size_t i;

	for (i = 0; i < n; i++) {
		if (hit(name[ops[i].kind]))
			ops[i].res = -errno;
		else if (real.ring_run(r, &ops[i], 1) == -1)
			return -1;
	}
	return 0;
}

/* fsync is traced with what it syncs, to check the durable order. */
static int
w_fsync(int fd)
{
	struct stat st;

	if (real.fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return hit("fsync:dir") ? -1 : real.fsync(fd);
	return hit("fsync:file") ? -1 : real.fsync(fd);
}

void
tu_faults_install(void)
{
	hs_sys_reset();
	real = hs_sys;
	hs_sys.openat = w_openat;
	hs_sys.read = w_read;
	hs_sys.pread = w_pread;
	hs_sys.pwrite = w_pwrite;
	hs_sys.copy_file_range = w_copy_file_range;
	hs_sys.ficlone = w_ficlone;
	hs_sys.lseek = w_lseek;
	hs_sys.ftruncate = w_ftruncate;
	hs_sys.fsync = w_fsync;
	hs_sys.fstat = w_fstat;
	hs_sys.fstatat = w_fstatat;
	hs_sys.readlinkat = w_readlinkat;
	hs_sys.fchown = w_fchown;
	hs_sys.fchmod = w_fchmod;
	hs_sys.futimens = w_futimens;
	hs_sys.flistxattr = w_flistxattr;
	hs_sys.llistxattr = w_llistxattr;
	hs_sys.fgetxattr = w_fgetxattr;
	hs_sys.fsetxattr = w_fsetxattr;
	hs_sys.fremovexattr = w_fremovexattr;
	hs_sys.linkat = w_linkat;
	hs_sys.renameat2 = w_renameat2;
	hs_sys.mkdirat = w_mkdirat;
	hs_sys.faccessat = w_faccessat;
	hs_sys.getrandom = w_getrandom;
	hs_sys.write = w_write;
	hs_sys.sync_file_range = w_sync_file_range;
	hs_sys.syncfs = w_syncfs;
	hs_sys.flock = w_flock;
	hs_sys.symlinkat = w_symlinkat;
	hs_sys.openat2 = w_openat2;
	hs_sys.spawn = w_spawn;
	hs_sys.waitpid = w_waitpid;
	hs_sys.dupfd = w_dupfd;
	hs_sys.pipe2 = w_pipe2;
	hs_sys.fork = w_fork;
	hs_sys.ring_open = w_ring_open;
	hs_sys.ring_run = w_ring_run;
	tu_faults_arm(0, 0);
	tu_faults_only(NULL);
}

void
tu_faults_crash_at(int n)
{
	tu_faults_arm(n, 0);
	crash = 1;
}

void
tu_faults_arm(int n, int e)
{
	crash = 0;
	fault_at = n;
	fault_errno = e;
	calls = 0;
	fired = 0;
	fired_name = "";
	tu_trace_clear();
}

void
tu_faults_only(const char *name)
{
	fault_only = name;
}

int
tu_fault_calls(void)
{
	return calls;
}

int
tu_fault_fired(void)
{
	return fired;
}

const char *
tu_fault_name(void)
{
	return fired_name;
}

const char *
tu_trace(void)
{
	return trace;
}

void
tu_trace_clear(void)
{
	trace[0] = '\0';
}

/*
 * test_scan.c - the process scanner against live child processes: who
 * finds exactly the child that maps a file, with the right kind; the
 * PROCMAP_QUERY and text paths agree; deleted and replaced files are
 * stale, untouched ones are not (the control); seam faults.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "hotswap.h"
#include "maps.h"
#include "procmap.h"
#include "scan.h"
#include "sys.h"
#include "testutil_scan.h"

#define FILE_LEN  (3 * 4096)
#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

struct fx {
	char dir[PATH_MAX / 2];
	char path[PATH_MAX];
	struct ts_child child;
	int started;
};

struct map_how {
	const char *path;
	int prot;
	int flags;
	int twice; /* also map it rw shared */
	int memfd; /* map a memfd instead */
};

/* In the child: map as told, return the address (0: failed). */
static uint64_t
map_it(void *arg)
{
	const struct map_how *h = arg;
	void *p;
	int fd;

	if (h->memfd) {
		if ((fd = memfd_create("hs-test", MFD_CLOEXEC)) == -1 ||
		    ftruncate(fd, 4096) == -1)
			return 0;
	} else if ((fd = open(h->path,
			(h->flags & MAP_SHARED) || h->twice ? O_RDWR :
							      O_RDONLY)) == -1)
		return 0;
	p = mmap(NULL, 4096, h->prot, h->flags, fd, 0);
	if (p == MAP_FAILED)
		return 0;
	if (h->twice &&
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096) ==
		MAP_FAILED)
		return 0;
	(void)close(fd); /* only the mapping keeps the file */
	return (uint64_t)(uintptr_t)p;
}

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	ts_mkdtemp(f->dir, sizeof(f->dir));
	(void)snprintf(f->path, sizeof(f->path), "%s/mapped", f->dir);
	if (ts_write_file(f->path, FILE_LEN, 'a') == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->started)
		(void)ts_child_end(&f->child);
	hs_sys_reset();
	ts_rmtree(f->dir);
	free(f);
	return 0;
}

static void
start(struct fx *f, struct map_how *h)
{
	if (h->path == NULL)
		h->path = f->path;
	assert_int_equal(ts_child_start(&f->child, map_it, h), 0);
	f->started = 1;
}

/* Run a walk and keep what it says of pid; returns processes seen. */
static int
walk_for(struct hs_scan *s, pid_t pid, struct hs_mapping *out, size_t *nout,
    char names[][PATH_MAX])
{
	const struct hs_proc *p;
	const struct hs_mapping *m;
	size_t n, i;
	int r, procs = 0;

	*nout = 0;
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		procs++;
		if (p->pid != pid)
			continue;
		for (i = 0; i < n && i < 8; i++) {
			out[i] = m[i];
			out[i].path = NULL; /* freed with the handle */
			if (m[i].path != NULL && names != NULL)
				(void)snprintf(names[i], PATH_MAX, "%s",
				    m[i].path);
		}
		*nout = n;
	}
	assert_int_equal(r, 0);
	return procs;
}

static int
who_walk(struct fx *f, unsigned int flags, struct hs_mapping *out, size_t *n,
    int *used_ioctl, char names[][PATH_MAX])
{
	struct hs_fileid id;
	struct hs_scan *s;
	int procs;

	assert_int_equal(hs_fileid_path(f->path, &id), 0);
	assert_non_null(s = hs_scan_open(flags));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	procs = walk_for(s, f->child.pid, out, n, names);
	if (used_ioctl != NULL)
		*used_ioctl = hs_scan_stats(s)->used_ioctl;
	/* The BPF walk counts only the processes it reports. */
	assert_true(hs_scan_stats(s)->inspected > 1 ||
	    hs_scan_stats(s)->used_bpf);
	hs_scan_free(s);
	return procs;
}

static void
test_scan_who_finds_the_child(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];
	size_t n;

	start(f, &h);
	/* Exactly one process maps the file: the child. */
	assert_int_equal(who_walk(f, 0, m, &n, NULL, NULL), 1);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].kind, HS_MAP_RODATA);
	assert_true(m[0].start == f->child.addr);
	assert_true(m[0].end == f->child.addr + 4096);
	assert_true(m[0].offset == 0);
	assert_int_equal(m[0].which, 0);
}

static void
test_scan_who_kinds(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ | PROT_EXEC, MAP_PRIVATE, 1, 0 };
	struct hs_mapping m[8];
	size_t n;

	start(f, &h); /* fails where TMPDIR is noexec: use another */
	assert_int_equal(who_walk(f, HS_SCAN_TEXT, m, &n, NULL, NULL), 1);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].kind | m[1].kind, HS_MAP_CODE | HS_MAP_WRSHARED);
	assert_true(m[0].offset == 0 || m[1].offset == 0);
	assert_true(m[0].offset == 4096 || m[1].offset == 4096);
}

static void
running_executable(unsigned int flags)
{
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n;
	int r, found = 0;

	assert_int_equal(hs_fileid_path("/proc/self/exe", &id), 0);
	assert_non_null(s = hs_scan_open(flags));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		if (p->pid != getpid())
			continue;
		found = 1;
		assert_true(p->kinds & HS_MAP_EXE);
		assert_true(p->kinds & HS_MAP_CODE);
		assert_int_equal(p->uid, getuid());
		assert_int_equal(p->other_mntns, 0);
		assert_true(p->start_time > 0);
		assert_string_equal(p->comm, "test_scan");
	}
	assert_int_equal(r, 0);
	assert_true(found);
	hs_scan_free(s);
}

static void
test_scan_who_running_executable(void **state)
{
	(void)state;
	running_executable(HS_SCAN_PROC);
	running_executable(0); /* the BPF walk, where it may run */
}

/* Every file-backed VMA of the child, both ways, must be the same. */
static void
test_scan_ioctl_and_text_agree(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_SHARED, 0, 0 };
	struct hs_maps_rec a[256], rec;
	struct hs_maps m;
	char name[64];
	uint64_t addr = 0;
	size_t na = 0, nb = 0, avail;
	ssize_t got;
	char *space;
	int fd, r;

	start(f, &h);
	(void)snprintf(name, sizeof(name), "/proc/%d/maps", (int)f->child.pid);
	assert_int_not_equal(fd = open(name, O_RDONLY | O_CLOEXEC), -1);
	while ((r = hs_procmap_next(fd, &addr, &a[na])) == 1)
		assert_true(++na < 256);
	if (r == -1 && (errno == ENOTTY || errno == EINVAL)) {
		(void)close(fd);
		skip();
	}
	assert_int_equal(r, 0);
	assert_true(na > 1);
	hs_maps_init(&m);
	for (;;) {
		while (hs_maps_next(&m, &rec) == 1) {
			if (rec.ino == 0)
				continue;
			assert_true(nb < na);
			assert_true(rec.start == a[nb].start);
			assert_true(rec.end == a[nb].end);
			assert_true(rec.offset == a[nb].offset);
			assert_true(rec.dev == a[nb].dev);
			assert_true(rec.ino == a[nb].ino);
			assert_int_equal(rec.perms, a[nb].perms);
			nb++;
		}
		if (m.eof)
			break;
		assert_non_null(space = hs_maps_space(&m, &avail));
		assert_true((got = read(fd, space, avail)) >= 0);
		hs_maps_commit(&m, (size_t)got);
	}
	assert_int_equal(nb, na);
	hs_maps_free(&m);
	(void)close(fd);
}

/* The same through the scanner: who by ioctl and by text agree. */
static void
test_scan_who_ioctl_and_text_agree(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping a[8], b[8];
	char names[8][PATH_MAX];
	size_t na, nb, i;
	int used;

	start(f, &h);
	assert_int_equal(who_walk(f, HS_SCAN_IOCTL, a, &na, &used, NULL), 1);
	if (!used)
		skip();
	assert_int_equal(who_walk(f, HS_SCAN_TEXT, b, &nb, &used, names), 1);
	assert_int_equal(used, 0);
	assert_int_equal(na, nb);
	for (i = 0; i < na; i++) {
		assert_true(a[i].start == b[i].start);
		assert_int_equal(a[i].kind, b[i].kind);
		assert_null(a[i].path);
		assert_string_equal(names[i], f->path);
	}
}

/*
 * On two CPUs and on one, a walk over libc (mapped by nearly everyone)
 * sees each process once, the same ones; a walk abandoned after one
 * process stops its thread cleanly (the sanitizers watch).
 */
static int
libc_walk(unsigned int flags, pid_t *pids, size_t cap, size_t *npids)
{
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n, i;
	int r;

	assert_int_equal(hs_fileid_path(LIBC_PATH, &id), 0);
	assert_non_null(s = hs_scan_open(flags));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	*npids = 0;
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		for (i = 0; i < *npids; i++)
			assert_int_not_equal(pids[i], p->pid);
		if (*npids < cap)
			pids[(*npids)++] = p->pid;
	}
	assert_int_equal(r, 0);
	r = (int)hs_scan_stats(s)->inspected;
	hs_scan_free(s);
	return r;
}

/* Whether pid is among the n in pids. */
static int
has_pid(const pid_t *pids, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/*
 * Processes of our own that map libc throughout a walk: KIDS children
 * that inherited our mappings and wait on a pipe, never exec'ing, so
 * every walk must find each of them, whatever the rest of the machine
 * does meanwhile.  KIDS is more than the parallel walk's ring holds, and
 * fork(2) gives them odd and even PIDs both, so both of its halves and
 * its waits for room are exercised.  Returns the pipe's write end;
 * kids_end() closes it and reaps them.
 */
#define KIDS 100

static int
kids_start(pid_t *kids)
{
	int fds[2], i;
	char c;

	assert_int_equal(pipe(fds), 0);
	for (i = 0; i < KIDS; i++) {
		kids[i] = fork();
		assert_true(kids[i] != -1);
		if (kids[i] == 0) {
			(void)close(fds[1]);
			while (read(fds[0], &c, 1) == -1 && errno == EINTR)
				continue;
			_exit(0);
		}
	}
	(void)close(fds[0]);
	return fds[1];
}

static void
kids_end(int wfd, const pid_t *kids)
{
	int i, st;

	(void)close(wfd);
	for (i = 0; i < KIDS; i++) {
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

/* Every one of our children is among the n in pids. */
static void
assert_has_kids(const pid_t *pids, size_t n, const pid_t *kids)
{
	int i;

	for (i = 0; i < KIDS; i++)
		if (!has_pid(pids, n, kids[i]))
			fail_msg("PID %d, mapping libc throughout, not found",
			    (int)kids[i]);
}

static void
test_scan_parallel_same_as_serial(void **state)
{
	static pid_t a[8192], b[8192];
	pid_t kids[KIDS];
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_fileid id;
	struct hs_scan *s;
	size_t na, nb, n;
	int wfd;

	(void)state;
	if (access(LIBC_PATH, R_OK) == -1)
		skip();
	/*
	 * Other processes come and go meanwhile (other suites run beside
	 * this one), and one in an exec maps libc only once ld.so has run:
	 * the claim is on the processes that map it throughout, ours.
	 */
	wfd = kids_start(kids);
	assert_true(libc_walk(HS_SCAN_PROC, a, 8192, &na) > KIDS);
	assert_true(libc_walk(HS_SCAN_PROC | HS_SCAN_SERIAL, b, 8192, &nb) >
	    KIDS);
	assert_true(na < 8192 && nb < 8192);
	assert_has_kids(a, na, kids);
	assert_has_kids(b, nb, kids);
	assert_true(has_pid(a, na, getpid()) && has_pid(b, nb, getpid()));
	kids_end(wfd, kids);
	assert_int_equal(hs_fileid_path(LIBC_PATH, &id), 0);
	assert_non_null(s = hs_scan_open(HS_SCAN_PROC));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	assert_int_equal(hs_scan_next(s, &p, &m, &n), 1);
	hs_scan_free(s); /* abandoned with the thread still going */
}

static size_t
stale_of(struct fx *f, struct hs_mapping *m, char names[][PATH_MAX])
{
	struct hs_scan *s;
	size_t n;
	int procs;

	assert_non_null(s = hs_scan_open(0));
	assert_int_equal(hs_scan_stale(s, &f->child.pid, 1), 0);
	procs = walk_for(s, f->child.pid, m, &n, names);
	assert_int_equal(procs, n > 0 ? 1 : 0);
	assert_int_equal(hs_scan_stats(s)->inspected, 1);
	hs_scan_free(s);
	return n;
}

static void
test_scan_stale_control_untouched(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];

	start(f, &h);
	assert_int_equal(stale_of(f, m, NULL), 0);
}

static void
test_scan_stale_deleted(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];
	char names[8][PATH_MAX];

	start(f, &h);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(stale_of(f, m, names), 1);
	assert_int_equal(m[0].kind, HS_MAP_DELETED | HS_MAP_RODATA);
	assert_string_equal(names[0], f->path); /* no " (deleted)" */
	assert_true(m[0].start == f->child.addr);
}

/*
 * A deleted file under /tmp mapped executable is a program's own code
 * (a JIT's): ignored whole, its writable mapping too; the same file
 * mapped without execute permission is stale (the control).
 */
static void
test_scan_stale_tmp_code_ignored_whole(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ | PROT_EXEC, MAP_PRIVATE, 1, 0 };
	struct hs_mapping m[8];

	if (strncmp(f->path, "/tmp/", 5) != 0)
		skip(); /* TMPDIR elsewhere: the rule is for /tmp */
	start(f, &h);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(stale_of(f, m, NULL), 0);
	assert_int_equal(ts_child_end(&f->child), 0);
	f->started = 0;
	assert_int_equal(ts_write_file(f->path, FILE_LEN, 'b'), 0);
	h.prot = PROT_READ;
	start(f, &h);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(stale_of(f, m, NULL), 2);
}

/*
 * The same /tmp file mapped executable but replaced by rename, as an
 * install does, not deleted: its old inode is " (deleted)" in maps too,
 * yet it is an upgrade, and reported.
 */
static void
test_scan_stale_tmp_code_replaced_is_reported(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ | PROT_EXEC, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];
	char tmp[PATH_MAX + 8];

	if (strncmp(f->path, "/tmp/", 5) != 0)
		skip();
	start(f, &h);
	(void)snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	assert_int_equal(ts_write_file(tmp, FILE_LEN, 'b'), 0);
	assert_int_equal(rename(tmp, f->path), 0);
	assert_int_equal(stale_of(f, m, NULL), 1);
	assert_true(m[0].kind & HS_MAP_REPLACED);
	assert_true(m[0].kind & HS_MAP_CODE);
}

static void
test_scan_stale_replaced(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];
	char names[8][PATH_MAX], tmp[PATH_MAX + 8];

	start(f, &h);
	(void)snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	assert_int_equal(ts_write_file(tmp, FILE_LEN, 'b'), 0);
	assert_int_equal(rename(tmp, f->path), 0);
	assert_int_equal(stale_of(f, m, names), 1);
	assert_int_equal(m[0].kind, HS_MAP_REPLACED | HS_MAP_RODATA);
	assert_string_equal(names[0], f->path);
}

/*
 * A file named name in the test directory, mapped by the child: not
 * stale; deleted: stale, as deleted, under its own name.
 */
static void
stale_once_deleted(struct fx *f, const char *name, char fill)
{
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];
	char names[8][PATH_MAX], path[PATH_MAX + 16];

	(void)snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(ts_write_file(path, 4096, fill), 0);
	h.path = path;
	start(f, &h);
	assert_int_equal(stale_of(f, m, NULL), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(stale_of(f, m, names), 1);
	assert_int_equal(m[0].kind, HS_MAP_DELETED | HS_MAP_RODATA);
	assert_string_equal(names[0], path);
}

/* A file literally named "x (deleted)" is not stale until it is. */
static void
test_scan_stale_literal_deleted_name(void **state)
{
	stale_once_deleted(*state, "x (deleted)", 'c');
}

/* A newline in the name is "\012" in maps; still judged right. */
static void
test_scan_stale_newline_name(void **state)
{
	stale_once_deleted(*state, "a\nb c", 'd');
}

static void
test_scan_stale_ignores_memfd(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_SHARED, 0, 1 };
	struct hs_mapping m[8];

	start(f, &h);
	assert_int_equal(stale_of(f, m, NULL), 0);
}

static void
test_scan_stale_ignore_rules(void **state)
{
	struct hs_maps_rec r;
	char buf[256];

	(void)state;
	/* clang-format off */
#define IGN(line) (strcpy(buf, line), \
	hs_maps_parse_line(buf, strlen(buf), &r) == 0 && hs_stale_ignored(&r))
	/* clang-format on */
	assert_true(IGN("1-2 rw-s 0 00:01 5 /dev/zero (deleted)"));
	assert_true(IGN("1-2 rw-s 0 00:01 5 /SYSV0000abcd (deleted)"));
	assert_true(IGN("1-2 rw-s 0 00:01 5 /memfd:wayland (deleted)"));
	assert_true(IGN("1-2 rw-s 0 00:0f 5 /anon_hugepage (deleted)"));
	assert_true(IGN("1-2 r--s 0 00:0e 5 /[aio] (deleted)"));
	assert_true(IGN("1-2 rw-s 0 00:19 5 /dev/shm/pulse-shm-1 (deleted)"));
	assert_true(IGN("1-2 rw-s 0 00:05 5 /dev/dri/renderD128"));
	assert_true(IGN("1-2 r-xs 0 08:01 5 /home/u/ffiXyZ123 (deleted)"));
	assert_true(IGN("1-2 r-xp 0 08:01 5 /tmp/jna123.tmp (deleted)"));
	assert_true(IGN("1-2 r-xp 0 08:01 5 /tmp/jit-code (deleted)"));
	assert_true(IGN("1-2 r-xp 0 08:01 5 /var/tmp/x/y (deleted)"));
	/* Not ignored: what an upgrade looks like, and data under /tmp. */
	assert_false(IGN("1-2 r-xp 0 08:01 5 /usr/lib/libz.so.1 (deleted)"));
	assert_false(IGN("1-2 r--p 0 08:01 5 /tmp/data (deleted)"));
	assert_false(IGN("1-2 r-xp 0 08:01 5 /tmp/replaced"));
	assert_false(IGN("1-2 r-xp 0 08:01 5 /usr/lib/ffi/x.so"));
#undef IGN
}

static void
test_scan_count_mappers(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_fileid id;
	unsigned long count;
	int inc;

	assert_int_equal(hs_fileid_path(f->path, &id), 0);
	assert_int_equal(hs_count_mappers(&id, &count, &inc), 0);
	assert_int_equal(count, 0);
	start(f, &h);
	assert_int_equal(hs_count_mappers(&id, &count, &inc), 0);
	assert_int_equal(count, 1);
	assert_int_equal(ts_child_end(&f->child), 0);
	f->started = 0;
	assert_int_equal(hs_count_mappers(&id, &count, &inc), 0);
	assert_int_equal(count, 0);
}

/* A PID that has gone away is skipped, counted as vanished. */
static void
test_scan_stale_vanished_pid(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_scan *s;
	pid_t pid;
	size_t n;

	start(f, &h);
	pid = f->child.pid;
	assert_int_equal(ts_child_end(&f->child), 0);
	f->started = 0;
	assert_non_null(s = hs_scan_open(0));
	assert_int_equal(hs_scan_stale(s, &pid, 1), 0);
	assert_int_equal(hs_scan_next(s, &p, &m, &n), 0);
	assert_true(hs_scan_stats(s)->vanished >= 1);
	assert_int_equal(hs_scan_stats(s)->incomplete, 0);
	hs_scan_free(s);
}

/* Seam faults: an unreadable maps counts, an old kernel falls back. */
static int
deny_maps(int dirfd, const char *path, int flags, mode_t mode)
{
	size_t len = strlen(path);

	if (len >= 4 && strcmp(path + len - 4, "maps") == 0) {
		errno = EACCES;
		return -1;
	}
	return openat(dirfd, path, flags, mode);
}

static int
old_kernel_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	(void)req;
	(void)arg;
	errno = ENOTTY;
	return -1;
}

/* The maps of a process that exited (or exec'd) read as empty. */
static ssize_t
maps_gone(int fd, void *buf, size_t len, off_t off)
{
	(void)fd;
	(void)buf;
	(void)len;
	(void)off;
	return 0;
}

/*
 * A process younger than the walk is checked for PID reuse after its
 * details are read: if its maps are gone by then, it is not reported
 * (it may be another process now) but counted as vanished.  Older ones
 * need no check.
 */
/* Clock ticks since boot, as stat(5)'s start time counts them. */
static uint64_t
ticks_now(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * (uint64_t)hz +
	    (uint64_t)ts.tv_nsec / (1000000000UL / (unsigned long)hz);
}

/*
 * Wait until the clock is two ticks past pid's start, so that a walk
 * begun now is known to be younger than it.  (On a quiet machine a child
 * and the walk that follows start in the same 10 ms tick, and the scanner
 * rightly treats such a process as possibly younger.)  This waits on the
 * clock itself, not on another process.
 */
static void
age_process(pid_t pid)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	char path[64], buf[1024], comm[64];
	uint64_t start;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(hs_procinfo_stat(buf, comm, sizeof(comm), &start), 0);
	while (ticks_now() < start + 2)
		(void)nanosleep(&pause, NULL);
}

static void
test_scan_pid_reuse_guard(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n;

	start(f, &h);
	age_process(f->child.pid);
	assert_int_equal(hs_fileid_path(f->path, &id), 0);
	hs_sys.pread = maps_gone;
	assert_non_null(s = hs_scan_open(HS_SCAN_SERIAL | HS_SCAN_PROC));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	assert_int_equal(walk_for(s, f->child.pid, m, &n, NULL), 1);
	hs_scan_free(s);
	assert_non_null(s = hs_scan_open(HS_SCAN_SERIAL | HS_SCAN_PROC));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	s->walk_ticks = 0; /* as if every process were younger */
	assert_int_equal(walk_for(s, f->child.pid, m, &n, NULL), 0);
	assert_true(hs_scan_stats(s)->vanished >= 1);
	hs_scan_free(s);
}

static void
test_scan_seam_faults(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	struct hs_mapping m[8];
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n;
	int used;

	start(f, &h);
	hs_sys.ioctl = old_kernel_ioctl;
	assert_int_equal(who_walk(f, 0, m, &n, &used, NULL), 1);
	assert_int_equal(used, 0);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].kind, HS_MAP_RODATA);
	hs_sys_reset();
	assert_int_equal(hs_fileid_path(f->path, &id), 0);
	hs_sys.openat = deny_maps;
	assert_non_null(s = hs_scan_open(HS_SCAN_PROC));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	assert_int_equal(walk_for(s, f->child.pid, m, &n, NULL), 0);
	assert_true(hs_scan_stats(s)->uninspectable > 1);
	assert_int_equal(hs_scan_stats(s)->inspected, 0);
	assert_true(hs_scan_stats(s)->incomplete);
	hs_scan_free(s);
}

static int listing_eintrs;

static ssize_t
getdents_eintr(int fd, void *buf, size_t len)
{
	if (listing_eintrs > 0) {
		listing_eintrs--;
		errno = EINTR;
		return -1;
	}
	return getdents64(fd, buf, len);
}

static ssize_t
getdents_eio(int fd, void *buf, size_t len)
{
	(void)fd;
	(void)buf;
	(void)len;
	errno = EIO;
	return -1;
}

/*
 * The listing of /proc (procwalk.c) inside a walk: EINTR is retried and
 * the child still found; EIO ends the walk with -1, not as "no more".
 */
static void
test_scan_listing_faults(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_mapping m8[8];
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n;

	start(f, &h);
	assert_int_equal(hs_fileid_path(f->path, &id), 0);
	listing_eintrs = 3;
	hs_sys.getdents64 = getdents_eintr;
	assert_non_null(s = hs_scan_open(HS_SCAN_PROC | HS_SCAN_SERIAL));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	assert_true(walk_for(s, f->child.pid, m8, &n, NULL) >= 1);
	assert_int_equal(n, 1);
	assert_int_equal(listing_eintrs, 0);
	hs_scan_free(s);

	hs_sys.getdents64 = getdents_eio;
	assert_non_null(s = hs_scan_open(HS_SCAN_PROC | HS_SCAN_SERIAL));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	errno = 0;
	assert_int_equal(hs_scan_next(s, &p, &m, &n), -1);
	assert_int_equal(errno, EIO);
	hs_scan_free(s);
}

static void
test_scan_procinfo_parsers(void **state)
{
	char comm[64], unit[256];
	uint64_t st, end;

	(void)state;
	assert_int_equal(
	    hs_procinfo_stat(
		"42 (a) b) (c d) S 1 42 42 0 -1 "
		"4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10\n",
		comm, sizeof(comm), &st),
	    0);
	assert_string_equal(comm, "a) b) (c d");
	assert_true(st == 987654);
	assert_int_equal(hs_procinfo_stat("42 (x) S 1 2", comm, sizeof(comm),
			     &st),
	    -1);
	assert_int_equal(
	    hs_procinfo_code(
		"42 (a) b) (c d) S 1 42 42 0 -1 "
		"4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 99 "
		"94000000000000 94000000004096 140000\n",
		&st, &end),
	    0);
	assert_true(st == 94000000000000ULL && end == 94000000004096ULL);
	assert_int_equal(hs_procinfo_code("42 (x) S 1 2", &st, &end), -1);
	assert_int_equal(hs_procinfo_unit("0::/system.slice/nginx.service\n",
			     unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "nginx.service");
	assert_int_equal(hs_procinfo_unit("0::/system.slice/a.service/sub\n",
			     unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "a.service");
	assert_int_equal(hs_procinfo_unit("0::/user.slice/user-1000.slice/"
					  "session-3.scope\n",
			     unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "session-3.scope");
	assert_int_equal(hs_procinfo_unit("12:cpu:/x\n1:name=systemd:/"
					  "system.slice/cron.service\n",
			     unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "cron.service");
	assert_int_equal(hs_procinfo_unit("0::/\n", unit, sizeof(unit)), -1);
	assert_string_equal(unit, "");
}

/*
 * The unit is the first component after the slices, as systemd finds
 * it, and only a name systemd accepts: below it the names belong to
 * whoever the unit delegates to, a user who may name a cgroup
 * "--host=evil.example.service" or "sshd.service".
 */
static void
test_scan_procinfo_unit_names(void **state)
{
	static const struct {
		const char *cgroup;
		const char *unit; /* "" for none */
	} t[] = {
		{ "0::/user.slice/user-65534.slice/user@65534.service/"
		  "app.slice/--host=evil.example.service\n",
		    "user@65534.service" },
		{ "0::/user.slice/user-65534.slice/user@65534.service/"
		  "app.slice/sshd.service\n",
		    "user@65534.service" },
		{ "0::/machine.slice/systemd-nspawn@c1.service/payload/"
		  "system.slice/sshd.service\n",
		    "systemd-nspawn@c1.service" },
		{ "0::/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1."
		  "service\n",
		    "systemd-fsck@dev-disk-by\\x2duuid-1.service" },
		{ "0::/system.slice/_cpu.service\n", "cpu.service" },
		{ "0::/init.scope\n", "init.scope" },
		{ "1:name=systemd:/system.slice/cron.service\n0::/\n",
		    "cron.service" },
		{ "1:name=systemd:/system.slice/a.service\n"
		  "0::/system.slice/b.service\n",
		    "b.service" },
		{ "0::/--host=evil.example.service\n", "" },
		{ "0::/system.slice/-x.service\n", "" },
		{ "0::/-.mount\n", "" },
		{ "0::/system.slice/a b.service\n", "" },
		{ "0::/system.slice/a;b.service\n", "" },
		{ "0::/system.slice/a\033[1m.service\n", "" },
		{ "0::/system.slice/\xc2\x9b.service\n", "" },
		{ "0::/system.slice/foo@.service\n", "" },
		{ "0::/system.slice/@foo.service\n", "" },
		{ "0::/system.slice/a@b@c.service\n", "a@b@c.service" },
		{ "0::/system.slice/foo.bogus\n", "" },
		{ "0::/system.slice/.service\n", "" },
		{ "0::/system.slice/service\n", "" },
		{ "0::/system.slice\n", "" },
		{ "0::/docker/0123abcd\n", "" },
		{ "0::/system.slice/sshd.service (deleted)\n", "" },
	};
	char unit[256], name[300], cg[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		assert_int_equal(hs_procinfo_unit(t[i].cgroup, unit,
				     sizeof(unit)),
		    t[i].unit[0] != '\0' ? 0 : -1);
		assert_string_equal(unit, t[i].unit);
	}
	/* 255 bytes is systemd's longest name; 256 is too long. */
	memset(name, 'a', sizeof(name));
	(void)memcpy(name + 255 - 8, ".service", 9);
	(void)snprintf(cg, sizeof(cg), "0::/system.slice/%s\n", name);
	assert_int_equal(hs_procinfo_unit(cg, unit, sizeof(unit)), 0);
	assert_int_equal(strlen(unit), 255);
	memset(name, 'a', sizeof(name));
	(void)memcpy(name + 256 - 8, ".service", 9);
	(void)snprintf(cg, sizeof(cg), "0::/system.slice/%s\n", name);
	assert_int_equal(hs_procinfo_unit(cg, unit, sizeof(unit)), -1);
	assert_string_equal(unit, "");
}

/* --- the BPF walk (bpfwho.c) against /proc ----------------------------- */

struct seen {
	struct hs_proc proc;
	struct hs_mapping m[64];
	size_t n;
	int found;
	int used_bpf;
};

/* Who maps f's file or libc, as the walk with flags sees f's child. */
static void
who_seen(struct fx *f, unsigned int flags, struct seen *out)
{
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_fileid id[2];
	struct hs_scan *s;
	size_t n, i;
	int r;

	memset(out, 0, sizeof(*out));
	assert_int_equal(hs_fileid_path(f->path, &id[0]), 0);
	assert_int_equal(hs_fileid_path(LIBC_PATH, &id[1]), 0);
	assert_non_null(s = hs_scan_open(flags));
	assert_int_equal(hs_scan_who(s, id, 2), 0);
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		if (p->pid != f->child.pid)
			continue;
		assert_false(out->found); /* once */
		out->found = 1;
		out->proc = *p;
		assert_true(n <= 64);
		for (i = 0; i < n; i++) {
			out->m[i] = m[i];
			out->m[i].path = NULL;
		}
		out->n = n;
	}
	assert_int_equal(r, 0);
	out->used_bpf = hs_scan_stats(s)->used_bpf;
	hs_scan_free(s);
	assert_true(out->found);
}

static void
test_scan_bpf_and_proc_agree(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ | PROT_EXEC, MAP_PRIVATE, 1, 0 };
	struct seen a, b;
	size_t i, mine = 0, libc = 0;

	if (access(LIBC_PATH, R_OK) == -1)
		skip();
	start(f, &h);
	who_seen(f, 0, &a);
	if (!a.used_bpf)
		skip(); /* not root, no BTF, an old kernel */
	who_seen(f, HS_SCAN_PROC, &b);
	assert_false(b.used_bpf);
	assert_int_equal(a.proc.pid, b.proc.pid);
	assert_int_equal(a.proc.uid, b.proc.uid);
	assert_true(a.proc.start_time == b.proc.start_time);
	assert_string_equal(a.proc.comm, b.proc.comm);
	assert_int_equal(a.proc.kinds, b.proc.kinds);
	assert_int_equal(a.proc.other_mntns, b.proc.other_mntns);
	assert_string_equal(a.proc.unit, b.proc.unit);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		assert_int_equal(a.m[i].kind, b.m[i].kind);
		assert_true(a.m[i].start == b.m[i].start);
		assert_true(a.m[i].end == b.m[i].end);
		assert_true(a.m[i].offset == b.m[i].offset);
		assert_true(a.m[i].dev == b.m[i].dev);
		assert_true(a.m[i].ino == b.m[i].ino);
		assert_int_equal(a.m[i].which, b.m[i].which);
		mine += a.m[i].which == 0;
		libc += a.m[i].which == 1;
	}
	assert_int_equal(mine, 2); /* code, and the rw shared page */
	assert_true(libc >= 2);

	/* Brief: nothing read by name, nothing guessed either. */
	who_seen(f, HS_SCAN_BRIEF, &a);
	assert_int_equal(a.proc.other_mntns, -1);
	assert_string_equal(a.proc.unit, "");
	assert_string_equal(a.proc.comm, b.proc.comm);
}

/* All the processes that map libc, found both ways. */
static size_t
libc_pids(unsigned int flags, pid_t *pids, size_t cap, int *used_bpf)
{
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n, np = 0;
	int r;

	assert_int_equal(hs_fileid_path(LIBC_PATH, &id), 0);
	assert_non_null(s = hs_scan_open(flags | HS_SCAN_BRIEF));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		assert_true(n > 0);
		if (np < cap)
			pids[np++] = p->pid;
	}
	assert_int_equal(r, 0);
	*used_bpf = hs_scan_stats(s)->used_bpf;
	hs_scan_free(s);
	return np;
}

static void
test_scan_bpf_all_processes(void **state)
{
	static pid_t a[8192], b[8192];
	pid_t kids[KIDS];
	size_t na, nb;
	int used, wfd;

	(void)state;
	if (access(LIBC_PATH, R_OK) == -1)
		skip();
	/* The claim is on processes that map libc throughout (see
	 * test_scan_parallel_same_as_serial): every one, both ways. */
	wfd = kids_start(kids);
	na = libc_pids(0, a, 8192, &used);
	if (!used) {
		kids_end(wfd, kids);
		skip();
	}
	nb = libc_pids(HS_SCAN_PROC, b, 8192, &used);
	assert_false(used);
	assert_true(na > KIDS && nb > KIDS && na < 8192 && nb < 8192);
	assert_has_kids(a, na, kids);
	assert_has_kids(b, nb, kids);
	assert_true(has_pid(a, na, getpid()) && has_pid(b, nb, getpid()));
	kids_end(wfd, kids);
}

static int
deny_bpf(int cmd, void *attr, unsigned int size)
{
	(void)cmd;
	(void)attr;
	(void)size;
	errno = EPERM;
	return -1;
}

static ssize_t
read_eio(int fd, void *buf, size_t len)
{
	(void)fd;
	(void)buf;
	(void)len;
	errno = EIO;
	return -1;
}

/* The child's stat is gone, as if it exited after the iterator saw it. */
static pid_t gone_pid;

static int
stat_gone(int dirfd, const char *path, int flags, mode_t mode)
{
	char name[32];

	(void)snprintf(name, sizeof(name), "%d/stat", (int)gone_pid);
	if (strcmp(path, name) == 0) {
		errno = ENOENT;
		return -1;
	}
	return openat(dirfd, path, flags, mode);
}

/* Where the kernel says no, /proc answers; where reading fails, -1. */
static void
test_scan_bpf_fallback_and_faults(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_fileid id;
	struct hs_mapping m8[8];
	struct hs_scan *s;
	struct seen a;
	size_t n;

	if (access(LIBC_PATH, R_OK) == -1)
		skip();
	start(f, &h);
	hs_sys.bpf = deny_bpf;
	who_seen(f, 0, &a);
	assert_false(a.used_bpf);
	assert_int_equal(a.m[0].kind, HS_MAP_RODATA);
	hs_sys_reset();

	assert_int_equal(hs_fileid_path(f->path, &id), 0);
	assert_non_null(s = hs_scan_open(0));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	if (!hs_scan_stats(s)->used_bpf) {
		hs_scan_free(s);
		skip();
	}
	hs_sys.read = read_eio;
	errno = 0;
	assert_int_equal(hs_scan_next(s, &p, &m, &n), -1);
	assert_int_equal(errno, EIO);
	hs_sys_reset();
	assert_int_equal(hs_scan_next(s, &p, &m, &n), 0); /* over */
	hs_scan_free(s);

	/*
	 * The details read by name afterwards (not brief) must still be
	 * the process the iterator saw: one that is gone by then is
	 * counted as vanished, not reported.
	 */
	gone_pid = f->child.pid;
	hs_sys.openat = stat_gone;
	assert_non_null(s = hs_scan_open(0));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	assert_true(hs_scan_stats(s)->used_bpf);
	assert_int_equal(walk_for(s, f->child.pid, m8, &n, NULL), 0);
	assert_true(hs_scan_stats(s)->vanished >= 1);
	hs_scan_free(s);
	hs_sys_reset();
}

/*
 * A process that vanishes in a BPF walk leaves nothing to the one
 * reported after it: its mount-namespace lookup was once carried over,
 * and the next process came out with other_mntns -1.  We map the file
 * too, and our PID, lower than the child's, is the one made to vanish.
 */
static void
test_scan_bpf_vanished_forgotten(void **state)
{
	struct fx *f = *state;
	struct map_how h = { NULL, PROT_READ, MAP_PRIVATE, 0, 0 };
	const struct hs_proc *p;
	const struct hs_mapping *m;
	struct hs_fileid id;
	struct hs_scan *s;
	size_t n;
	void *map;
	int fd, r, found = 0, self = 0, other_mntns = 0, used;

	start(f, &h);
	if (getpid() > f->child.pid)
		skip(); /* PIDs wrapped: the order is not ours */
	assert_true((fd = open(f->path, O_RDONLY | O_CLOEXEC)) != -1);
	map = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	(void)close(fd);
	assert_int_equal(hs_fileid_path(f->path, &id), 0);
	gone_pid = getpid();
	hs_sys.openat = stat_gone;
	assert_non_null(s = hs_scan_open(0));
	assert_int_equal(hs_scan_who(s, &id, 1), 0);
	/*
	 * Nothing is asserted before the munmap: a failure would leave our
	 * mapping of the fixture, deleted by the teardown, to every child
	 * the later tests fork, and their stale scans would find it.
	 */
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		if (p->pid == getpid())
			self = 1;
		if (p->pid != f->child.pid)
			continue;
		found = 1;
		other_mntns = p->other_mntns;
	}
	used = hs_scan_stats(s)->used_bpf;
	hs_scan_free(s);
	hs_sys_reset();
	(void)munmap(map, 1);
	assert_int_equal(r, 0);
	/* Not root, no BTF, an old kernel: the /proc walk sees us. */
	if (!used)
		skip();
	assert_false(self); /* vanished */
	assert_true(found);
	assert_int_equal(other_mntns, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_scan_who_finds_the_child),
		T(test_scan_who_kinds),
		T(test_scan_who_running_executable),
		T(test_scan_bpf_and_proc_agree),
		T(test_scan_bpf_all_processes),
		T(test_scan_bpf_fallback_and_faults),
		T(test_scan_bpf_vanished_forgotten),
		T(test_scan_ioctl_and_text_agree),
		T(test_scan_who_ioctl_and_text_agree),
		T(test_scan_stale_control_untouched),
		T(test_scan_stale_deleted),
		T(test_scan_stale_tmp_code_replaced_is_reported),
		T(test_scan_stale_replaced),
		T(test_scan_stale_tmp_code_ignored_whole),
		T(test_scan_stale_literal_deleted_name),
		T(test_scan_stale_newline_name),
		T(test_scan_stale_ignores_memfd),
		T(test_scan_stale_ignore_rules),
		T(test_scan_count_mappers),
		T(test_scan_parallel_same_as_serial),
		T(test_scan_stale_vanished_pid),
		T(test_scan_seam_faults),
		T(test_scan_pid_reuse_guard),
		T(test_scan_listing_faults),
		T(test_scan_procinfo_parsers),
		T(test_scan_procinfo_unit_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

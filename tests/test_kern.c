/*
 * test_kern.c - the kernel readers shared by the scanner and the guard,
 * through the seam: the /proc lister (procwalk.c), one process's maps by
 * text and PROCMAP_QUERY (pmaps.c), the BPF iterator's records
 * (bpfrec.c).  Faults (EINTR, EIO, short reads, hostile records) are
 * injected by replacing hs_sys entries; the real /proc is the control.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpfrec.h"
#include "bpfwho.h"
#include "hotswap.h"
#include "maps.h"
#include "pmaps.h"
#include "procwalk.h"
#include "sys.h"

static int
teardown(void **state)
{
	(void)state;
	hs_sys_reset();
	return 0;
}

/* --- procwalk ------------------------------------------------------- */

#define MAXPIDS 65536

struct pids {
	pid_t v[MAXPIDS];
	size_t n;
	int r; /* the last hs_procwalk_next() */
	int err;
};

static struct pids listed;

/* List /proc with a buffer of cap bytes into got. */
static void
list(size_t cap)
{
	struct hs_procwalk w;
	char *buf;
	int procfd;

	assert_non_null(buf = malloc(cap));
	assert_true((procfd = open("/proc",
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1);
	assert_int_equal(hs_procwalk_open(&w, procfd, buf, cap), 0);
	listed.n = 0;
	errno = 0;
	while ((listed.r = hs_procwalk_next(&w, &listed.v[listed.n])) == 1)
		assert_true(++listed.n < MAXPIDS);
	listed.err = errno;
	hs_procwalk_close(&w);
	assert_int_equal(w.fd, -1);
	(void)close(procfd);
	free(buf);
}

static int
has(const struct pids *p, pid_t pid)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i] == pid)
			return 1;
	return 0;
}

static void
test_procwalk_pid_names(void **state)
{
	(void)state;
	assert_int_equal(hs_procwalk_pid("1"), 1);
	assert_int_equal(hs_procwalk_pid("4194304"), 4194304);
	assert_int_equal(hs_procwalk_pid("2147483647"), 2147483647);
	assert_int_equal(hs_procwalk_pid("2147483648"), 0);
	assert_int_equal(hs_procwalk_pid("99999999999999999999"), 0);
	assert_int_equal(hs_procwalk_pid("0"), 0);
	assert_int_equal(hs_procwalk_pid("01"), 0);
	assert_int_equal(hs_procwalk_pid("-1"), 0);
	assert_int_equal(hs_procwalk_pid("+1"), 0);
	assert_int_equal(hs_procwalk_pid("12a"), 0);
	assert_int_equal(hs_procwalk_pid("self"), 0);
	assert_int_equal(hs_procwalk_pid(""), 0);
}

/*
 * The processes alive throughout a listing: readdir(3) of /proc before
 * it, a pidfd for each (pidfd_open(2)), and after it those whose pidfd
 * is not readable (poll(2) says POLLIN once a process has exited).  So
 * no tolerance is needed however many processes come and go meanwhile
 * (tests/run.sh runs this beside other suites): a process that exists
 * from before the listing to after it must be in it, and one that came
 * or went in between is neither required nor counted.  A PID reused
 * meanwhile is a new process, whose pidfd this is not.
 */
static int pidfds[MAXPIDS];
static struct pids before;

static int
pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static size_t
pidfd_limit(void)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	/* Room for the listing's own descriptors and cmocka's. */
	return rl.rlim_cur > 64 + MAXPIDS ? MAXPIDS : (size_t)rl.rlim_cur - 64;
}

/* before: /proc by readdir(3); pidfds[i] for before.v[i], or -1. */
static void
open_alive(void)
{
	struct dirent *d;
	DIR *dir;
	size_t i, room = pidfd_limit();
	pid_t v;

	assert_non_null(dir = opendir("/proc"));
	before.n = 0;
	while ((d = readdir(dir)) != NULL)
		if ((v = hs_procwalk_pid(d->d_name)) != 0) {
			assert_true(before.n < MAXPIDS);
			before.v[before.n++] = v;
		}
	(void)closedir(dir);
	for (i = 0; i < before.n; i++) {
		pidfds[i] = -1;
		if (i < room)
			pidfds[i] = pidfd_open(before.v[i]);
	}
}

/*
 * Every process of before still alive (pidfd not readable) is in
 * listed; each pidfd is closed.  The number checked.
 */
static size_t
check_alive(void)
{
	struct pollfd pfd;
	size_t i, checked = 0;

	for (i = 0; i < before.n; i++) {
		if (pidfds[i] == -1)
			continue; /* gone already, or no room */
		pfd.fd = pidfds[i];
		pfd.events = POLLIN;
		pfd.revents = 0;
		assert_true(poll(&pfd, 1, 0) != -1);
		if (!(pfd.revents & POLLIN)) {
			if (!has(&listed, before.v[i]))
				fail_msg("PID %d, alive throughout, not listed",
				    (int)before.v[i]);
			checked++;
		}
		(void)close(pidfds[i]);
	}
	return checked;
}

static int
pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* No PID is listed twice (a buffer handed out again would be). */
static void
assert_no_repeat(void)
{
	static struct pids sorted;
	size_t i;

	sorted = listed;
	qsort(sorted.v, sorted.n, sizeof(sorted.v[0]), pid_cmp);
	for (i = 1; i < sorted.n; i++)
		if (sorted.v[i] == sorted.v[i - 1])
			fail_msg("PID %d listed twice", (int)sorted.v[i]);
}

/*
 * Every process that lives through the listing is in it, ourselves and
 * init among them, and none twice.
 */
static void
test_procwalk_real_proc(void **state)
{
	(void)state;
	open_alive();
	list(HS_PROCWALK_BUF);
	assert_int_equal(listed.r, 0);
	assert_true(check_alive() > 1);
	assert_true(has(&listed, getpid()));
	assert_true(has(&listed, 1));
	assert_no_repeat();
}

/* Buffers too small for the listing in one call: the same claim. */
static void
test_procwalk_small_buffer(void **state)
{
	struct hs_procwalk w;
	char buf[64];

	(void)state;
	open_alive();
	list(512);
	assert_int_equal(listed.r, 0);
	assert_true(check_alive() > 1);
	assert_true(has(&listed, getpid()));
	assert_no_repeat();
	errno = 0;
	assert_int_equal(hs_procwalk_open(&w, AT_FDCWD, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(w.fd, -1);
}

static int eintrs;

static ssize_t
getdents_eintr(int fd, void *buf, size_t len)
{
	if (eintrs > 0) {
		eintrs--;
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

/* Short reads: the real call, asked for no more than 600 bytes. */
static ssize_t
getdents_short(int fd, void *buf, size_t len)
{
	return getdents64(fd, buf, len < 600 ? len : 600);
}

static void
test_procwalk_faults(void **state)
{
	(void)state;
	eintrs = 3;
	hs_sys.getdents64 = getdents_eintr;
	list(HS_PROCWALK_BUF);
	assert_int_equal(listed.r, 0);
	assert_int_equal(eintrs, 0); /* retried, not taken as the end */
	assert_true(has(&listed, getpid()));

	hs_sys.getdents64 = getdents_short;
	list(HS_PROCWALK_BUF);
	assert_int_equal(listed.r, 0);
	assert_true(has(&listed, getpid()));
	assert_true(has(&listed, 1) || listed.n > 1);

	hs_sys.getdents64 = getdents_eio;
	list(HS_PROCWALK_BUF);
	assert_int_equal(listed.r, -1);
	assert_int_equal(listed.err, EIO);
	assert_int_equal(listed.n, 0);
}

/* A listing made up here: records as the kernel lays them out. */
static char fake[4096];
static size_t fakelen;
static int fakecalls;
static ssize_t fakeret; /* what to return instead, if not 0 */

/* A record for name; reclen -1: its true length, else this one. */
static void
fake_rec(const char *name, int reclen, int nul)
{
	struct hs_dirent64 d;
	size_t namelen = strlen(name) + (nul ? 1 : 0);
	size_t len = (offsetof(struct hs_dirent64, d_name) + namelen + 7) &
	    ~(size_t)7;

	memset(&d, 0, sizeof(d));
	d.d_ino = 1;
	d.d_reclen = (unsigned short)(reclen < 0 ? (int)len : reclen);
	memset(fake + fakelen, nul ? 0 : 'x', len);
	memcpy(fake + fakelen, &d, offsetof(struct hs_dirent64, d_name));
	memcpy(fake + fakelen + offsetof(struct hs_dirent64, d_name), name,
	    strlen(name));
	fakelen += len;
}

static ssize_t
getdents_fake(int fd, void *buf, size_t len)
{
	(void)fd;
	if (fakecalls++ > 0)
		return 0;
	assert_true(fakelen <= len);
	memcpy(buf, fake, fakelen);
	return fakeret != 0 ? fakeret : (ssize_t)fakelen;
}

static void
fake_list(void)
{
	fakecalls = 0;
	hs_sys.getdents64 = getdents_fake;
	list(HS_PROCWALK_BUF);
	fakelen = 0;
	fakeret = 0;
}

/* Hostile records end the listing with EIO, never loop or overrun. */
static void
test_procwalk_hostile_records(void **state)
{
	(void)state;
	fakelen = 0;
	fake_rec(".", -1, 1);
	fake_rec("0", -1, 1);
	fake_rec("01", -1, 1);
	fake_rec("42", -1, 1);
	fake_rec("self", -1, 1);
	fake_rec("2147483648", -1, 1);
	fake_rec("7", -1, 1);
	fake_list();
	assert_int_equal(listed.r, 0);
	assert_int_equal(listed.n, 2);
	assert_int_equal(listed.v[0], 42);
	assert_int_equal(listed.v[1], 7);

	fake_rec("42", -1, 1);
	fake_rec("43", 0, 1);
	fake_list(); /* d_reclen 0 */
	assert_int_equal(listed.r, -1);
	assert_int_equal(listed.err, EIO);
	assert_int_equal(listed.n, 1);

	fake_rec("42", 32, 1); /* past the end */
	fake_list();
	assert_int_equal(listed.r, -1);
	assert_int_equal(listed.err, EIO);
	assert_int_equal(listed.n, 0);

	fake_rec("4242424", -1, 0); /* no NUL in the record */
	fake_list();
	assert_int_equal(listed.r, -1);
	assert_int_equal(listed.err, EIO);

	fake_rec("42", -1, 1);
	fakeret = HS_PROCWALK_BUF + 1; /* more than asked */
	fake_list();
	assert_int_equal(listed.r, -1);
	assert_int_equal(listed.err, EIO);
	assert_int_equal(listed.n, 0);
}

/* --- pmaps ---------------------------------------------------------- */

/* The maps text and the VMAs behind it, served by fake read and ioctl. */
struct vma {
	uint64_t start, end;
	unsigned int dev_major, dev_minor;
	uint64_t ino;
	const char *name;
};

#define FILE_A "/usr/lib/a.so"
#define FILE_B "/usr/lib/b.so"

static const struct vma vmas[] = {
	{ 0x1000, 0x2000, 8, 1, 11, FILE_A },
	{ 0x2000, 0x3000, 8, 1, 11, FILE_A },
	{ 0x10000, 0x11000, 0, 0, 0, "[heap]" },
	{ 0x20000, 0x21000, 8, 1, 12, FILE_B }, /* cut by a read */
	{ 0x30000, 0x31000, 0, 0, 0, "" },
	{ 0x40000, 0x41000, 0, 0, 0, "" },
	{ 0x50000, 0x51000, 0, 0, 0, "" },
	{ 0x60000, 0x61000, 8, 1, 13, "/usr/lib/c.so" },
	{ 0x70000, 0x71000, 0, 0, 0, "[stack]" },
#if defined(__x86_64__)
	{ 0xffffffffff600000ULL, 0xffffffffff601000ULL, 0, 0, 0, "[vsyscall]" },
#endif
};
#define NVMAS (sizeof(vmas) / sizeof(vmas[0]))

static char text[8192];
static size_t textlen, textpos;
static size_t chunk; /* bytes per read(2) */
static int reads, read_eintrs, ioctls, ioctl_errno, ioctl_after;
static int ioctl_eintrs;

static void
make_text(void)
{
	size_t i;

	textlen = textpos = 0;
	for (i = 0; i < NVMAS; i++)
		textlen += (size_t)snprintf(text + textlen,
		    sizeof(text) - textlen,
		    "%llx-%llx r-xp 00000000 %02x:%02x %llu %s%s\n",
		    (unsigned long long)vmas[i].start,
		    (unsigned long long)vmas[i].end, vmas[i].dev_major,
		    vmas[i].dev_minor, (unsigned long long)vmas[i].ino,
		    *vmas[i].name != '\0' ? "    " : "", vmas[i].name);
	reads = read_eintrs = ioctls = ioctl_eintrs = 0;
	ioctl_errno = ioctl_after = 0;
	chunk = sizeof(text);
}

static ssize_t
text_read(int fd, void *buf, size_t len)
{
	size_t n = textlen - textpos;

	(void)fd;
	if (read_eintrs > 0) {
		read_eintrs--;
		errno = EINTR;
		return -1;
	}
	reads++;
	if (n > len)
		n = len;
	if (n > chunk)
		n = chunk;
	memcpy(buf, text + textpos, n);
	textpos += n;
	return (ssize_t)n;
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

/* PROCMAP_QUERY as in Linux 6.11's include/uapi/linux/fs.h. */
struct pmq {
	uint64_t size, query_flags, query_addr, vma_start, vma_end;
	uint64_t vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};

static int
fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct pmq *q = arg;
	size_t i;

	(void)fd;
	(void)req;
	if (ioctl_eintrs > 0) {
		ioctl_eintrs--;
		errno = EINTR;
		return -1;
	}
	ioctls++;
	if (ioctl_errno != 0 && ioctls > ioctl_after) {
		errno = ioctl_errno;
		return -1;
	}
	assert_int_equal(q->size, 104);
	for (i = 0; i < NVMAS; i++) /* file-backed, covering or next */
		if (vmas[i].ino != 0 && vmas[i].end > q->query_addr)
			break;
	if (i == NVMAS) {
		errno = ENOENT;
		return -1;
	}
	q->vma_start = vmas[i].start;
	q->vma_end = vmas[i].end;
	q->vma_flags = 0x05; /* r-x */
	q->inode = vmas[i].ino;
	q->dev_major = vmas[i].dev_major;
	q->dev_minor = vmas[i].dev_minor;
	return 0;
}

struct seen {
	uint64_t start[64];
	uint64_t ino[64];
	int named[64];
	size_t n;
	size_t files; /* of them file-backed */
	int fail_at;  /* fail the call with this index + 1 */
};

/* Any process's VMAs: what they are is not known here, only counted. */
static int
collect_any(void *arg, const struct hs_maps_rec *rec)
{
	struct seen *s = arg;

	if (s->fail_at != 0 && s->n + 1 == (size_t)s->fail_at) {
		errno = ENOSPC;
		return -1;
	}
	if (s->n < 64) {
		s->start[s->n] = rec->start;
		s->ino[s->n] = rec->ino;
		s->named[s->n] = rec->path != NULL;
	}
	s->files += rec->ino != 0;
	s->n++;
	return 0;
}

/* The VMAs of vmas[]: at most 64, on device 8:1. */
static int
collect(void *arg, const struct hs_maps_rec *rec)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	if (rec->ino != 0)
		assert_int_equal(rec->dev, makedev(8, 1));
	return collect_any(arg, rec);
}

/* Each file-backed VMA of vmas seen exactly once, in order. */
static void
assert_files_once(const struct seen *s)
{
	size_t i, j = 0;

	for (i = 0; i < NVMAS; i++) {
		if (vmas[i].ino == 0)
			continue;
		while (j < s->n && s->ino[j] == 0)
			j++;
		assert_true(j < s->n);
		assert_int_equal(s->start[j], vmas[i].start);
		assert_int_equal(s->ino[j], vmas[i].ino);
		j++;
	}
	while (j < s->n)
		assert_int_equal(s->ino[j++], 0);
}

static int
read_maps(struct hs_pmaps *pm, unsigned int how, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	textpos = 0;
	return hs_pmaps_read(pm, -1, how, collect, s);
}

/* The text only: every VMA, names included, the gate line not given. */
static void
test_pmaps_text(void **state)
{
	struct hs_pmaps pm;
	struct seen s;
	size_t i;

	(void)state;
	make_text();
	hs_sys.read = text_read;
	hs_sys.ioctl = fake_ioctl;
	hs_pmaps_init(&pm);
	assert_int_equal(read_maps(&pm, HS_PMAPS_TEXT, &s), 0);
	assert_int_equal(ioctls, 0);
	for (i = 0; i < s.n; i++)
		assert_true(s.named[i]);
#if defined(__x86_64__)
	assert_int_equal(s.n, NVMAS - 1);
	assert_int_equal(reads, 1); /* no read for the end: the gate */
#else
	assert_int_equal(s.n, NVMAS);
	assert_int_equal(reads, 2);
#endif
	assert_files_once(&s);

	/* Short reads and EINTR: the same records. */
	make_text();
	chunk = 7;
	read_eintrs = 2;
	assert_int_equal(read_maps(&pm, HS_PMAPS_TEXT, &s), 0);
	assert_int_equal(read_eintrs, 0);
	assert_true(reads > 10);
	assert_files_once(&s);

	make_text();
	hs_sys.read = read_eio;
	errno = 0;
	assert_int_equal(read_maps(&pm, HS_PMAPS_TEXT, &s), -1);
	assert_int_equal(errno, EIO);
	hs_pmaps_free(&pm);
}

/*
 * A read with few file-backed lines is sparse: PROCMAP_QUERY goes on
 * from the end of its last line, and no VMA is given twice or missed.
 */
static void
test_pmaps_sparse_goes_to_ioctl(void **state)
{
	struct hs_pmaps pm;
	struct seen s;
	char *nl;

	(void)state;
	make_text();
	/* The first read ends after the [heap] line: 2 file-backed. */
	nl = strstr(text, "[heap]\n");
	assert_non_null(nl);
	chunk = (size_t)(nl - text) + 7 + 10; /* and part of the next */
	hs_sys.read = text_read;
	hs_sys.ioctl = fake_ioctl;
	hs_pmaps_init(&pm);
	assert_int_equal(read_maps(&pm, 0, &s), 1);
	assert_int_equal(reads, 1);
	assert_true(ioctls >= 2);
	assert_int_equal(pm.ioctl_ok, 1);
	assert_files_once(&s);
	assert_false(s.named[s.n - 1]); /* from the ioctl */

	/* A dense first read stays with the text. */
	make_text();
	assert_int_equal(read_maps(&pm, 0, &s), 0);
	assert_int_equal(ioctls, 0);
	assert_files_once(&s);

	/* Forced: the ioctl alone, file-backed VMAs only, no read. */
	make_text();
	ioctl_eintrs = 2;
	assert_int_equal(read_maps(&pm, HS_PMAPS_IOCTL, &s), 1);
	assert_int_equal(reads, 0);
	assert_int_equal(ioctl_eintrs, 0);
	assert_files_once(&s);
	assert_int_equal(s.n, 4);
	hs_pmaps_free(&pm);
}

/* A kernel without the ioctl: the text goes on, once and for all. */
static void
test_pmaps_old_kernel(void **state)
{
	struct hs_pmaps pm;
	struct seen s;
	char *nl;

	(void)state;
	make_text();
	nl = strstr(text, "[heap]\n");
	chunk = (size_t)(nl - text) + 7 + 10;
	ioctl_errno = ENOTTY;
	hs_sys.read = text_read;
	hs_sys.ioctl = fake_ioctl;
	hs_pmaps_init(&pm);
	assert_int_equal(read_maps(&pm, 0, &s), 0);
	assert_int_equal(ioctls, 1);
	assert_int_equal(pm.ioctl_ok, 0);
	assert_true(reads >= 2);
	assert_files_once(&s);

	ioctls = 0;
	assert_int_equal(read_maps(&pm, HS_PMAPS_IOCTL, &s), 0);
	assert_int_equal(ioctls, 0); /* not asked again */
	assert_files_once(&s);
	hs_pmaps_free(&pm);

	/* Forced ioctl on such a kernel: the text from the start. */
	make_text();
	ioctl_errno = EINVAL;
	hs_pmaps_init(&pm);
	assert_int_equal(read_maps(&pm, HS_PMAPS_IOCTL, &s), 0);
	assert_int_equal(ioctls, 1);
	assert_files_once(&s);
	hs_pmaps_free(&pm);
}

static void
test_pmaps_ioctl_faults(void **state)
{
	struct hs_pmaps pm;
	struct seen s;

	(void)state;
	make_text();
	hs_sys.read = text_read;
	hs_sys.ioctl = fake_ioctl;
	hs_pmaps_init(&pm);

	/* Once the ioctl has answered, EIO or ENOTTY are errors. */
	ioctl_errno = EIO;
	ioctl_after = 1;
	errno = 0;
	assert_int_equal(read_maps(&pm, HS_PMAPS_IOCTL, &s), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(s.n, 1);
	make_text();
	ioctl_errno = ENOTTY;
	ioctl_after = 1;
	errno = 0;
	assert_int_equal(read_maps(&pm, HS_PMAPS_IOCTL, &s), -1);
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(pm.ioctl_ok, 1);

	/* ESRCH: no memory any more, which maps nothing. */
	make_text();
	ioctl_errno = ESRCH;
	assert_int_equal(read_maps(&pm, HS_PMAPS_IOCTL, &s), 0);
	assert_int_equal(s.n, 0);

	/* The callback's error stops the read, its errno kept. */
	make_text();
	memset(&s, 0, sizeof(s));
	s.fail_at = 2;
	errno = 0;
	assert_int_equal(hs_pmaps_read(&pm, -1, 0, collect, &s), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(s.n, 1);
	hs_pmaps_free(&pm);
}

/* This process's own maps, through the real calls, every way alike. */
static void
test_pmaps_own_maps(void **state)
{
	struct hs_pmaps pm;
	struct seen *s;
	unsigned int how[3] = { 0, HS_PMAPS_TEXT, HS_PMAPS_IOCTL };
	size_t files[3], i;
	int fd, r;

	(void)state;
	assert_non_null(s = calloc(1, sizeof(*s)));
	hs_pmaps_init(&pm);
	for (i = 0; i < 3; i++) {
		assert_true((fd = open("/proc/self/maps",
				 O_RDONLY | O_CLOEXEC)) != -1);
		memset(s, 0, sizeof(*s));
		r = hs_pmaps_read(&pm, fd, how[i], collect_any, s);
		(void)close(fd);
		assert_true(r == 0 || r == 1);
		files[i] = s->files;
		assert_true(files[i] > 0);
	}
	hs_pmaps_free(&pm);
	free(s);
	/* The test's own mappings do not change in between. */
	assert_int_equal(files[0], files[1]);
	assert_int_equal(files[1], files[2]);
}

/* --- fileid: its maps text search (kernels before 6.11) -------------- */

static int
fstat_other_dev(int fd, struct stat *st)
{
	int r = fstat(fd, st);

	st->st_dev = makedev(250, 250); /* as btrfs would say */
	return r;
}

/*
 * stat(2) gives a device maps does not show; without PROCMAP_QUERY the
 * device is learnt from our own mapping in the text, through pmaps.c.
 */
static void
test_fileid_text_fallback(void **state)
{
	struct hs_fileid id;
	struct stat st;
	int fd;

	(void)state;
	assert_true((fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(fstat(fd, &st), 0);
	hs_sys.fstat = fstat_other_dev;
	ioctl_errno = ENOTTY; /* from the first */
	ioctl_after = 0;
	hs_sys.ioctl = fake_ioctl;
	assert_int_equal(hs_fileid_fd(fd, &id), 0);
	assert_int_equal(id.ino, st.st_ino);
	assert_true(id.dev == st.st_dev); /* maps's, not the fake's */
	hs_sys.read = read_eio;		  /* no text: stat's answer */
	assert_int_equal(hs_fileid_fd(fd, &id), 0);
	assert_true(id.dev == makedev(250, 250));
	(void)close(fd);
}

/* --- bpfrec --------------------------------------------------------- */

#define NRECS 100

static struct hs_bpf_rec recs[NRECS];
static size_t recs_bytes, recs_pos, recs_chunk, recs_cut;
static int recs_eintr, recs_eagain;

static void
make_recs(void)
{
	size_t i;

	memset(recs, 0, sizeof(recs));
	for (i = 0; i < NRECS; i++) {
		recs[i].tgid = (uint32_t)(100 + i / 3);
		recs[i].which = (uint32_t)i;
		recs[i].start = 0x1000 * i;
		recs[i].ino = 1000 + i;
		memcpy(recs[i].comm, "abcdefghijklmnop", 16);
	}
	recs_bytes = sizeof(recs);
	recs_pos = 0;
	recs_chunk = SIZE_MAX;
	recs_cut = 0;
	recs_eintr = recs_eagain = 0;
}

static ssize_t
recs_read(int fd, void *buf, size_t len)
{
	size_t n = recs_bytes - recs_cut - recs_pos;

	(void)fd;
	if (recs_eintr > 0) {
		recs_eintr--;
		errno = EINTR;
		return -1;
	}
	if (recs_eagain > 0) {
		recs_eagain--;
		errno = EAGAIN;
		return -1;
	}
	if (n > len)
		n = len;
	if (n > recs_chunk)
		n = recs_chunk;
	memcpy(buf, (char *)recs + recs_pos, n);
	recs_pos += n;
	return (ssize_t)n;
}

/* Read every record with a buffer of cap bytes: how many, last result. */
static int
read_recs(size_t cap, size_t *n)
{
	struct hs_bpf_reader rd;
	struct hs_bpf_rec r;
	char *buf;
	int got;

	assert_non_null(buf = malloc(cap > 0 ? cap : 1));
	hs_bpf_reader_init(&rd, -1, buf, cap);
	*n = 0;
	while ((got = hs_bpf_peek(&rd, &r)) == 1) {
		assert_true(*n < NRECS);
		assert_memory_equal(&r, &recs[*n], sizeof(r));
		/* A peek again gives the same record until it is taken. */
		assert_int_equal(hs_bpf_peek(&rd, &r), 1);
		assert_memory_equal(&r, &recs[*n], sizeof(r));
		hs_bpf_take(&rd);
		(*n)++;
	}
	free(buf);
	return got;
}

static void
test_bpfrec_whole_and_split(void **state)
{
	size_t n;

	(void)state;
	hs_sys.read = recs_read;
	make_recs();
	assert_int_equal(read_recs(64 * sizeof(struct hs_bpf_rec), &n), 0);
	assert_int_equal(n, NRECS);

	/* Reads that end inside records: put together again. */
	make_recs();
	recs_chunk = sizeof(struct hs_bpf_rec) + 7;
	assert_int_equal(read_recs(64 * sizeof(struct hs_bpf_rec), &n), 0);
	assert_int_equal(n, NRECS);
	make_recs();
	recs_chunk = 5;
	assert_int_equal(read_recs(3 * sizeof(struct hs_bpf_rec) + 10, &n), 0);
	assert_int_equal(n, NRECS);

	/* A buffer of exactly one record. */
	make_recs();
	recs_chunk = 33;
	assert_int_equal(read_recs(sizeof(struct hs_bpf_rec), &n), 0);
	assert_int_equal(n, NRECS);
}

static void
test_bpfrec_faults(void **state)
{
	size_t n;

	(void)state;
	hs_sys.read = recs_read;
	make_recs();
	recs_eintr = 2;
	recs_eagain = 2;
	assert_int_equal(read_recs(4096, &n), 0);
	assert_int_equal(n, NRECS);
	assert_int_equal(recs_eintr + recs_eagain, 0);

	/* The input ends inside a record: the ones before, then EIO. */
	make_recs();
	recs_cut = 9;
	errno = 0;
	assert_int_equal(read_recs(4096, &n), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(n, NRECS - 1);

	make_recs();
	hs_sys.read = read_eio;
	errno = 0;
	assert_int_equal(read_recs(4096, &n), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(n, 0);

	/* A buffer smaller than one record. */
	hs_sys.read = recs_read;
	make_recs();
	errno = 0;
	assert_int_equal(read_recs(sizeof(struct hs_bpf_rec) - 1, &n), -1);
	assert_int_equal(errno, EINVAL);
}

/* The conversion to a maps record: device, perms, offset. */
static void
test_bpfrec_maps_rec(void **state)
{
	struct hs_bpf_rec r;
	struct hs_maps_rec rec;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.start = 0x1000;
	r.end = 0x3000;
	r.pgoff = 3;
	r.dev = (259u << 20) | 0x12345;
	r.ino = 77;
	r.vm_flags = HS_VM_READ | HS_VM_EXEC | HS_VM_MAYSHARE;
	hs_bpf_maps_rec(&r, &rec, 4096);
	assert_int_equal(rec.start, 0x1000);
	assert_int_equal(rec.end, 0x3000);
	assert_int_equal(rec.offset, 3 * 4096);
	assert_int_equal(major(rec.dev), 259);
	assert_int_equal(minor(rec.dev), 0x12345);
	assert_int_equal(rec.ino, 77);
	assert_int_equal(rec.perms, HS_MAPS_R | HS_MAPS_X | HS_MAPS_S);
	assert_null(rec.path);
}

#define T(name) cmocka_unit_test_teardown(name, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_procwalk_pid_names),
		T(test_procwalk_real_proc),
		T(test_procwalk_small_buffer),
		T(test_procwalk_faults),
		T(test_procwalk_hostile_records),
		T(test_pmaps_text),
		T(test_pmaps_sparse_goes_to_ioctl),
		T(test_pmaps_old_kernel),
		T(test_pmaps_ioctl_faults),
		T(test_pmaps_own_maps),
		T(test_fileid_text_fallback),
		T(test_bpfrec_whole_and_split),
		T(test_bpfrec_faults),
		T(test_bpfrec_maps_rec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

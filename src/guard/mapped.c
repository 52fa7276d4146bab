/*
 * mapped.c - is this file mapped (or run) by some process right now?
 *
 * Asked only for an existing, non-empty regular file that a guarded
 * program is about to truncate, so it must be cheap for the common case,
 * a file that nobody uses, and exact enough for the rare one.
 *
 * 1. The lease probe.  A write lease (fcntl F_SETLEASE, F_WRLCK) is
 *    granted only when no other open file description of the inode
 *    exists: the kernel counts readers (i_readcount) and writers
 *    (i_writecount), and a mapping holds the struct file it was made
 *    from, so a file that any process in any namespace maps, runs or
 *    merely has open makes the lease fail with EAGAIN.  A granted lease
 *    (released at once) therefore proves "mapped by nobody" at that
 *    instant, with no walk of /proc at all.  It needs the caller to own
 *    the file or to hold CAP_LEASE, read permission, and a filesystem
 *    with leases (not NFS or FUSE); otherwise it cannot tell.
 *
 * 2. The kernel.  When the probe says "in use" or cannot tell, and the
 *    guarded program runs as root, the BPF task_vma iterator of who
 *    (bpfwho.c) names the processes that map the file at this instant:
 *    about 10 ms on a thousand processes, exact, no set to keep fresh.
 *
 * 3. The set.  Where the kernel cannot be asked (not root, no BTF, a
 *    file on overlayfs or FUSE, inside a container, a seccomp filter),
 *    one walk of /proc collects every file-backed mapping of every
 *    process into a hash set of (dev, ino), with up to GUARD_PIDS PIDs
 *    each for the message.  The walk is the scanner's: /proc listed by
 *    procwalk.c, each process's maps read by pmaps.c (the text, and
 *    PROCMAP_QUERY, Linux 6.11+, for a process whose text is mostly
 *    anonymous mappings), every system call through the seam.  The set is
 *    reused while it is fresh (FRESH_MS, or ten walk times if a walk is
 *    slower: the guard never spends more than about a tenth of the time
 *    on walks), except that a file the probe found in use and the set
 *    does not list forces a new walk: a file mapped after the set was
 *    made is still caught.
 *
 * What can be missed, the window documented in hotswap(1): with the
 * kernel's answer or a usable lease, nothing that was mapped before the
 * check; with only the set, a file first mapped less than the freshness
 * time before the check.  A process that maps the file after the check,
 * during the program's own write, is a race no userspace check can
 * close.  Processes whose maps we may not read (other users', for a
 * non-root caller) are not seen.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfrec.h"
#include "bpfwho.h"
#include "hotswap.h"
#include "maps.h"
#include "pmaps.h"
#include "procwalk.h"
#include "sys.h"
#include "guard.h"

#define FRESH_MS 100

struct mset_ent {
	dev_t dev;
	ino_t ino;  /* 0: empty slot */
	pid_t last; /* the last PID counted */
	unsigned long npids;
	pid_t pids[GUARD_PIDS];
};

/* The set, its age and the cost of the walk that made it. */
static struct {
	struct mset_ent *v;
	size_t cap; /* a power of two, or 0 */
	size_t n;
	int64_t built_ns; /* CLOCK_MONOTONIC; 0: never */
	int64_t walk_ns;
	int ioctl_ok; /* -1 unknown, 0 no, 1 yes */
} mset = { .ioctl_ok = -1 };

static pthread_mutex_t mset_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the lease probe ------------------------------------------------ */

/*
 * Take and drop a write lease: 0 if granted (nobody else has the file
 * open or mapped), 1 if refused (someone has), -1 if we cannot tell.
 * An opener that breaks the lease in the microseconds we hold it makes
 * the kernel signal us, SIGIO by default, whose default action kills:
 * F_SETSIG makes it SIGURG, which is ignored by default, and which a
 * program that does handle it (out-of-band socket data) takes as a
 * spurious wake-up.  Closing the descriptor removes the lease: four
 * system calls, no change to the signal mask.
 */
static int
lease_probe(int dirfd, const char *path, int nofollow)
{
	int fd, r, e;

	fd = hs_openat(dirfd, path,
	    O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
		(nofollow ? O_NOFOLLOW : 0),
	    0);
	if (fd == -1)
		return -1;
	r = REAL(fcntl)(fd, F_SETSIG, SIGURG);
	if (r == 0)
		r = REAL(fcntl)(fd, F_SETLEASE, F_WRLCK);
	e = errno;
	(void)hs_close(fd); /* and with it the lease */
	if (r == 0)
		return 0;
	return e == EAGAIN ? 1 : -1;
}

/* ---- the set -------------------------------------------------------- */

static size_t
slot_of(ino_t ino, size_t cap)
{
	return (size_t)(((uint64_t)ino * 0x9e3779b97f4a7c15ULL) >> 20) &
	    (cap - 1);
}

static struct mset_ent *
find_slot(struct mset_ent *v, size_t cap, dev_t dev, ino_t ino)
{
	size_t i = slot_of(ino, cap);

	while (v[i].ino != 0 && (v[i].ino != ino || v[i].dev != dev))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int
grow(void)
{
	size_t ncap = mset.cap ? mset.cap * 2 : 4096, i;
	struct mset_ent *nv, *e;

	if ((nv = calloc(ncap, sizeof(*nv))) == NULL)
		return -1;
	for (i = 0; i < mset.cap; i++)
		if (mset.v[i].ino != 0) {
			e = find_slot(nv, ncap, mset.v[i].dev, mset.v[i].ino);
			*e = mset.v[i];
		}
	free(mset.v);
	mset.v = nv;
	mset.cap = ncap;
	return 0;
}

static int
add(dev_t dev, ino_t ino, pid_t pid)
{
	struct mset_ent *e;

	if (ino == 0)
		return 0;
	if ((mset.n + 1) * 2 > mset.cap && grow() == -1)
		return -1;
	e = find_slot(mset.v, mset.cap, dev, ino);
	if (e->ino == 0) {
		e->dev = dev;
		e->ino = ino;
		mset.n++;
	} else if (e->last == pid)
		return 0;
	e->last = pid;
	if (e->npids < GUARD_PIDS)
		e->pids[e->npids] = pid;
	e->npids++;
	return 0;
}

/* The walk's state: the process being added and its last file. */
struct walk_at {
	pid_t pid;
	dev_t ldev;
	ino_t lino;
};

/* A VMA of the process: its file into the set, once per run of VMAs. */
static int
add_rec(void *arg, const struct hs_maps_rec *rec)
{
	struct walk_at *w = arg;

	if (rec->ino == 0 || (rec->ino == w->lino && rec->dev == w->ldev))
		return 0; /* anonymous, or the same file again */
	w->ldev = rec->dev;
	w->lino = rec->ino;
	return add(rec->dev, rec->ino, w->pid);
}

/*
 * One process's file-backed mappings, read as the scanner reads them
 * (pmaps.h: the text, finished by PROCMAP_QUERY where it is sparse).
 * A process that is gone, or not ours to read, adds nothing.
 */
static void
add_process(int procfd, pid_t pid, struct hs_pmaps *pm)
{
	struct walk_at w = { pid, 0, 0 };
	char name[32];
	int fd;

	(void)snprintf(name, sizeof(name), "%d/maps", (int)pid);
	if ((fd = hs_openat(procfd, name, O_RDONLY, 0)) == -1)
		return;
	(void)hs_pmaps_read(pm, fd, 0, add_rec, &w);
	(void)hs_close(fd);
}

/* Build the set afresh with one walk of /proc.  -1 if /proc is unusable. */
static int
walk(void)
{
	struct hs_procwalk list;
	struct hs_pmaps pm;
	char *buf;
	pid_t pid;
	int procfd, r = -1;
	int64_t t0 = now_ns();

	if ((procfd = hs_openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY,
		 0)) == -1)
		return -1;
	if ((buf = malloc(HS_PROCWALK_BUF)) == NULL)
		goto out;
	if (hs_procwalk_open(&list, procfd, buf, HS_PROCWALK_BUF) == -1)
		goto out;
	if (mset.cap != 0)
		memset(mset.v, 0, mset.cap * sizeof(*mset.v));
	mset.n = 0;
	mset.built_ns = 0;
	hs_pmaps_init(&pm);
	pm.ioctl_ok = mset.ioctl_ok;
	while ((r = hs_procwalk_next(&list, &pid)) == 1)
		add_process(procfd, pid, &pm);
	mset.ioctl_ok = pm.ioctl_ok;
	hs_pmaps_free(&pm);
	hs_procwalk_close(&list);
	if (r == 0) { /* else the listing failed: -1 */
		mset.built_ns = now_ns();
		mset.walk_ns = mset.built_ns - t0;
	}
out:
	free(buf);
	(void)hs_close(procfd);
	return r;
}

static int
fresh(void)
{
	int64_t max = (int64_t)FRESH_MS * 1000000, age;

	if (mset.built_ns == 0)
		return 0;
	if (mset.walk_ns * 10 > max)
		max = mset.walk_ns * 10;
	age = now_ns() - mset.built_ns;
	return age >= 0 && age <= max;
}

/*
 * Look (dev, ino) up.  maps shows the superblock's device, which on
 * btrfs is not stat(2)'s: when only the inode number matches, the
 * device is learnt the way maps shows it (hs_fileid_fd()) and compared.
 */
static const struct mset_ent *
lookup(const struct stat *st, int fd)
{
	struct hs_fileid id;
	struct mset_ent *e;
	size_t i;
	int other = 0;

	if (mset.cap == 0 || st->st_ino == 0)
		return NULL;
	for (i = slot_of(st->st_ino, mset.cap); mset.v[i].ino != 0;
	     i = (i + 1) & (mset.cap - 1)) {
		e = &mset.v[i];
		if (e->ino != st->st_ino)
			continue;
		if (e->dev == st->st_dev)
			return e;
		other = 1;
	}
	if (!other || fd == -1 || hs_fileid_fd(fd, &id) == -1 ||
	    id.dev == st->st_dev)
		return NULL;
	e = find_slot(mset.v, mset.cap, id.dev, id.ino);
	return e->ino != 0 ? e : NULL;
}

static void
fill(const struct mset_ent *e, struct guard_who *who)
{
	size_t n = e->npids < GUARD_PIDS ? e->npids : GUARD_PIDS;

	who->npids = e->npids;
	memcpy(who->pids, e->pids, n * sizeof(pid_t));
}

/* ---- the kernel's answer -------------------------------------------- */

/* The BPF iterator cannot run here (privilege, kernel): stop asking. */
static int bpf_off;

/*
 * Ask the kernel, through the BPF iterator of who (bpfwho.c), which
 * processes map this one file right now: exact at this instant, and on
 * a thousand processes about a third of a walk.  1 mapped (who filled),
 * 0 not, -1 cannot (then the set answers).  Called with mset_lock held.
 */
static int
ask_bpf(const struct stat *st, int fd, struct guard_who *who)
{
	struct hs_bpf_rec buf[64], rec;
	struct hs_bpf_reader rd;
	struct hs_scan_id id;
	struct hs_fileid fid;
	const char *v;
	uint32_t last = 0;
	int it, r;

	if (bpf_off)
		return -1;
	/* As for hotswap who: "proc" keeps to /proc (for the tests). */
	if ((v = getenv("HOTSWAP_SCAN")) != NULL && strstr(v, "proc") != NULL) {
		bpf_off = 1;
		return -1;
	}
	/* The device as maps shows it: not stat's on btrfs. */
	id.dev = fd != -1 && hs_fileid_fd(fd, &fid) == 0 ? fid.dev : st->st_dev;
	id.ino = st->st_ino;
	id.which = 0;
	if ((it = hs_bpf_who(&id, 1)) == -1) {
		if (errno != EOPNOTSUPP && errno != ENOMEM && errno != EMFILE)
			bpf_off = 1;
		return -1;
	}
	memset(who, 0, sizeof(*who));
	hs_bpf_reader_init(&rd, it, buf, sizeof(buf));
	while ((r = hs_bpf_peek(&rd, &rec)) == 1) {
		hs_bpf_take(&rd);
		if (rec.tgid == last)
			continue; /* one process, VMA after VMA */
		last = rec.tgid;
		if (who->npids < GUARD_PIDS)
			who->pids[who->npids] = (pid_t)last;
		who->npids++;
	}
	(void)hs_close(it);
	if (r == -1)
		return -1; /* torn or failed: let the walk answer */
	return who->npids > 0;
}

/*
 * The set's answer for the file; in_use says the lease probe saw it
 * open, so a stale set that does not list it is walked again.
 */
static int
ask_set(const struct stat *st, int fd, int in_use, struct guard_who *who)
{
	const struct mset_ent *e;
	int walked = 0, r = 0;

	(void)pthread_mutex_lock(&mset_lock);
	if ((r = ask_bpf(st, fd, who)) != -1) {
		(void)pthread_mutex_unlock(&mset_lock);
		return r;
	}
	r = 0;
	if (!fresh()) {
		if (walk() == -1)
			goto fail;
		walked = 1;
	}
	e = lookup(st, fd);
	if (e == NULL && in_use && !walked) {
		if (walk() == -1)
			goto fail;
		e = lookup(st, fd);
	}
	if (e != NULL) {
		fill(e, who);
		r = 1;
	}
	(void)pthread_mutex_unlock(&mset_lock);
	return r;
fail:
	(void)pthread_mutex_unlock(&mset_lock);
	return -1;
}

int
guard_mapped(int dirfd, const char *path, int nofollow, const struct stat *st,
    struct guard_who *who)
{
	int in_use, fd, r;

	in_use = lease_probe(dirfd, path, nofollow);
	if (in_use == 0)
		return 0;
	fd = hs_openat(dirfd, path,
	    O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
		(nofollow ? O_NOFOLLOW : 0),
	    0);
	r = ask_set(st, fd, in_use == 1, who);
	if (fd != -1)
		(void)hs_close(fd);
	return r;
}

int
guard_mapped_fd(int fd, const struct stat *st, struct guard_who *who)
{
	/* Our own descriptor is open: a lease could never be granted. */
	return ask_set(st, fd, 1, who);
}

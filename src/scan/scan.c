/*
 * scan.c - walk /proc one process at a time and report the processes that
 * map given files (who), or stale mappings (scan_stale.c).
 *
 * /proc is listed with getdents64(2) into a fixed buffer, so a walk holds
 * one directory entry batch and one process's mappings, however many
 * processes there are.  Only thread-group leaders are listed in /proc;
 * /proc/PID/task is never walked, threads share their leader's maps.
 *
 * A process that exits while it is looked at makes the reads fail with
 * ESRCH or ENOENT (or its maps read as empty): it is skipped.
 *
 * Per process, the least is done that answers the question: one
 * openat(2) of PID/maps relative to a /proc descriptor, usually one
 * read(2), one close(2).  Nothing else is opened for a process that maps
 * nothing of interest.  Only a process with something to report is
 * looked at further (scan_proc.c: stat, and cgroup unless HS_SCAN_BRIEF),
 * by name, which needs a guard against PID reuse: a process that stat
 * shows started before the walk held its PID throughout; for a younger
 * one, its maps descriptor, still open, is read once more at the end,
 * and if its memory is still there it was alive throughout.
 *
 * A walk over all processes on a machine with several CPUs takes the
 * odd PIDs in a second thread (scan_par.c).
 *
 * Text or PROCMAP_QUERY.  Measured on Linux 6.18 in a 2-core VM (see
 * tests/bench/bench_who.sh) a system call costs about as much as
 * formatting 4 KiB of maps text, which is what one read(2) of a maps
 * file returns (seq_file fills one page per read).  PROCMAP_QUERY needs
 * one ioctl per file-backed VMA: 20 to 30 for a small process whose
 * whole text is one or two reads.  So who reads the text first; a
 * process whose text shows few file-backed lines per read (a JVM or a
 * database with thousands of anonymous VMAs) is finished with the ioctl
 * from where the text stopped, which skips anonymous VMAs in the kernel.
 * On x86-64 the [vsyscall] line is always the last one: seeing it saves
 * the read(2) that would return 0.  HS_SCAN_TEXT and HS_SCAN_IOCTL force
 * one way; a kernel without PROCMAP_QUERY (before 6.11: ENOTTY, EINVAL)
 * gets the text.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfwho.h"
#include "hotswap.h"
#include "procmap.h"
#include "scan.h"
#include "sys.h"

#define DENTS_SIZE	(32 * 1024)

static int
gone(int e)
{
	return e == ENOENT || e == ESRCH;
}

struct hs_scan *
hs_scan_open(unsigned int flags)
{
	struct hs_scan *s;
	struct stat st;
	int serrno;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->flags = flags;
	s->listfd = s->mapsfd = s->pdir = s->rootfd = s->bpffd = -1;
	s->ioctl_ok = -1;
	hs_maps_init(&s->parser);
	s->procfd = hs_openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY, 0);
	if (s->procfd == -1)
		goto fail;
	if (hs_sys.fstatat(s->procfd, "self/ns/mnt", &st, 0) == 0) {
		s->self_mntns_ok = 1;
		s->self_mntns_dev = st.st_dev;
		s->self_mntns_ino = st.st_ino;
	}
	return s;
fail:
	serrno = errno;
	hs_scan_free(s);
	errno = serrno;
	return NULL;
}

static void
end_process(struct hs_scan *s)
{
	if (s->rootfd != -1)
		(void)hs_close(s->rootfd);
	if (s->pdir != -1)
		(void)hs_close(s->pdir);
	if (s->mapsfd != -1)
		(void)hs_close(s->mapsfd);
	s->rootfd = s->pdir = s->mapsfd = -1;
	s->mntns_known = 0;
}

/*
 * The current process's /proc/PID directory, opened on first use.  Its
 * PID may have been reused by then: hs_scan_alive() afterwards tells.
 */
int
hs_scan_pdir(struct hs_scan *s)
{
	if (s->pdir == -1)
		s->pdir = hs_openat(s->procfd, s->pidname,
		    O_RDONLY | O_DIRECTORY, 0);
	return s->pdir;
}

/*
 * 0 if the process whose maps are open still has its memory, so that
 * whatever was read about its PID since the maps were opened is about
 * it; -1 with ESRCH if it exited (or exec'd) meanwhile.  A maps file
 * reads as empty once the memory is gone.
 */
int
hs_scan_alive(struct hs_scan *s)
{
	char c;
	ssize_t n;

	do
		n = hs_sys.pread(s->mapsfd, &c, 1, 0);
	while (n == -1 && errno == EINTR);
	if (n == 1)
		return 0;
	if (n == 0)
		errno = ESRCH;
	return -1;
}

static void
end_walk(struct hs_scan *s)
{
	hs_par_end(s);
	s->own_done = 0;
	end_process(s);
	if (s->listfd != -1)
		(void)hs_close(s->listfd);
	if (s->bpffd != -1)
		(void)hs_close(s->bpffd);
	s->listfd = s->bpffd = -1;
	s->bpfpos = s->bpflen = 0;
	s->walk = HS_WALK_NONE;
}

void
hs_scan_free(struct hs_scan *s)
{
	int serrno = errno;

	if (s == NULL)
		return;
	end_walk(s);
	if (s->procfd != -1)
		(void)hs_close(s->procfd);
	hs_maps_free(&s->parser);
	free(s->ids);
	free(s->pids);
	free(s->dents);
	free(s->bpfbuf);
	free(s->maps);
	free(s->pathoff);
	free(s->names);
	free(s->last);
	free(s->tmp);
	hs_stale_forget(s);
	free(s->tmpx);
	free(s);
	errno = serrno;
}

const struct hs_scan_stats *
hs_scan_stats(const struct hs_scan *s)
{
	return &s->st;
}

/* Clock ticks since boot (0 if unknown), as stat(5) gives start times. */
static uint64_t
boot_ticks(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * (uint64_t)hz +
	    (uint64_t)ts.tv_nsec / (1000000000UL / (unsigned long)hz);
}

/* The size of the iterator's reads: a multiple of the record size. */
#define BPF_BUF		(680 * sizeof(struct hs_bpf_rec))

/*
 * A who walk over all processes by the BPF iterator, where it may run;
 * -1 (and the walk reads /proc) where not.  Why it cannot is not an
 * error: not root, no BTF, an older kernel, a container.
 */
static int
begin_bpf(struct hs_scan *s)
{
	if (s->flags & (HS_SCAN_PROC | HS_SCAN_TEXT | HS_SCAN_IOCTL) ||
	    s->npids != 0 || s->nids > HS_BPF_MAX_IDS)
		return -1;
	if (s->bpfbuf == NULL && (s->bpfbuf = malloc(BPF_BUF)) == NULL)
		return -1;
	if ((s->bpffd = hs_bpf_who(s->ids, s->nids)) == -1)
		return -1;
	s->st.used_bpf = 1;
	return 0;
}

/* Open the /proc listing, unless a PID list replaces it. */
static int
begin_walk(struct hs_scan *s, enum hs_walk walk)
{
	struct stat st;

	end_walk(s);
	hs_stale_forget(s);
	memset(&s->st, 0, sizeof(s->st));
	s->dpos = s->dlen = 0;
	s->pidx = 0;
	s->walk_ticks = boot_ticks();
	if ((walk == HS_WALK_WHO || walk == HS_WALK_COUNT) &&
	    begin_bpf(s) == 0) {
		s->walk = walk;
		return 0;
	}
	if (s->npids == 0) {
		if (s->dents == NULL && (s->dents = malloc(DENTS_SIZE)) == NULL)
			return -1;
		s->listfd = hs_openat(s->procfd, ".",
		    O_RDONLY | O_DIRECTORY, 0);
		if (s->listfd == -1)
			return -1;
		/*
		 * hidepid=invisible hides other users' processes from the
		 * listing itself: nothing to count, but init is always
		 * there, so its absence tells.
		 */
		if (hs_sys.fstatat(s->procfd, "1", &st, 0) == -1)
			s->st.incomplete = 1;
	}
	s->walk = walk;
	hs_par_start(s);
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	const struct hs_scan_id *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->which < y->which ? -1 : x->which > y->which;
}

static int
set_ids(struct hs_scan *s, const struct hs_fileid *ids, size_t n)
{
	struct hs_scan_id *v;
	size_t i;

	if (n == 0 || n > SIZE_MAX / sizeof(*v)) {
		errno = EINVAL;
		return -1;
	}
	if ((v = malloc(n * sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		v[i].dev = ids[i].dev;
		v[i].ino = ids[i].ino;
		v[i].which = i;
	}
	qsort(v, n, sizeof(*v), cmp_id);
	free(s->ids);
	s->ids = v;
	s->nids = n;
	s->npids = 0;
	return 0;
}

int
hs_scan_who(struct hs_scan *s, const struct hs_fileid *ids, size_t n)
{
	if (set_ids(s, ids, n) == -1)
		return -1;
	return begin_walk(s, HS_WALK_WHO);
}

/* Start the same who walk as from (for the thread of scan_par.c). */
int
hs_scan_who_ids(struct hs_scan *s, const struct hs_scan *from)
{
	struct hs_scan_id *v;

	if ((v = reallocarray(NULL, from->nids, sizeof(*v))) == NULL)
		return -1;
	memcpy(v, from->ids, from->nids * sizeof(*v));
	free(s->ids);
	s->ids = v;
	s->nids = from->nids;
	s->npids = 0;
	return begin_walk(s, HS_WALK_WHO);
}

int
hs_scan_stale(struct hs_scan *s, const pid_t *pids, size_t npids)
{
	pid_t *v = NULL;

	if (npids > SIZE_MAX / sizeof(*v)) {
		errno = EINVAL;
		return -1;
	}
	if (npids > 0) {
		if ((v = malloc(npids * sizeof(*v))) == NULL)
			return -1;
		memcpy(v, pids, npids * sizeof(*v));
	}
	free(s->pids);
	s->pids = v;
	s->npids = npids;
	return begin_walk(s, HS_WALK_STALE);
}

/* The next PID to look at: 1, 0 at the end, -1 on error. */
static int
next_pid(struct hs_scan *s, pid_t *pid)
{
	struct hs_dirent64 *d;
	ssize_t n;
	char *end;
	long v;

	if (s->listfd == -1) {
		if (s->pidx >= s->npids)
			return 0;
		*pid = s->pids[s->pidx++];
		return 1;
	}
	for (;;) {
		if (s->dpos >= s->dlen) {
			n = hs_sys.getdents64(s->listfd, s->dents, DENTS_SIZE);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				return (int)n;
			s->dlen = (size_t)n;
			s->dpos = 0;
		}
		d = (struct hs_dirent64 *)(void *)(s->dents + s->dpos);
		s->dpos += d->d_reclen;
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		errno = 0;
		v = strtol(d->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || v <= 0 || v > INT_MAX)
			continue;
		if (s->nparts > 1 && (unsigned long)v % s->nparts != s->part)
			continue;	/* the other thread's */
		*pid = (pid_t)v;
		return 1;
	}
}

unsigned int
hs_scan_kind(unsigned int perms)
{
	unsigned int k = 0;

	if (perms & HS_MAPS_X)
		k |= HS_MAP_CODE;
	if ((perms & (HS_MAPS_W | HS_MAPS_S)) == (HS_MAPS_W | HS_MAPS_S))
		k |= HS_MAP_WRSHARED;
	else if (perms & HS_MAPS_W)
		k |= HS_MAP_WRPRIVATE;
	if ((perms & (HS_MAPS_R | HS_MAPS_W | HS_MAPS_X)) == HS_MAPS_R)
		k |= HS_MAP_RODATA;
	if ((perms & (HS_MAPS_R | HS_MAPS_W | HS_MAPS_X)) == 0)
		k |= HS_MAP_NOACCESS;
	return k;
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap > 0 ? *cap : 16;
	void *np;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / size) {
			errno = ENOMEM;
			return -1;
		}
		ncap *= 2;
	}
	if (ncap == *cap)
		return 0;
	if ((np = realloc(*p, ncap * size)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Remember a mapping of the current process; name may be NULL. */
int
hs_scan_add(struct hs_scan *s, const struct hs_maps_rec *rec,
    unsigned int kind, size_t which, const char *name, size_t len)
{
	struct hs_mapping *m;
	size_t cap = s->capmaps;

	if (s->nmaps == s->capmaps) {
		if (grow((void **)&s->maps, &cap, s->nmaps + 1,
		    sizeof(*s->maps)) == -1)
			return -1;
		cap = s->capmaps;
		if (grow((void **)&s->pathoff, &cap, s->nmaps + 1,
		    sizeof(*s->pathoff)) == -1)
			return -1;
		s->capmaps = cap;
	}
	s->pathoff[s->nmaps] = SIZE_MAX;
	if (name != NULL) {
		if (grow((void **)&s->names, &s->namescap,
		    s->nameslen + len + 1, 1) == -1)
			return -1;
		memcpy(s->names + s->nameslen, name, len);
		s->names[s->nameslen + len] = '\0';
		s->pathoff[s->nmaps] = s->nameslen;
		s->nameslen += len + 1;
	}
	m = &s->maps[s->nmaps++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->start = rec->start;
	m->end = rec->end;
	m->offset = rec->offset;
	m->dev = rec->dev;
	m->ino = rec->ino;
	m->which = which;
	return 0;
}

#if defined(__x86_64__)
/* [vsyscall] and nothing else lives in the upper half: the last line. */
#define GATE_MIN	0xffff800000000000ULL
#else
#define GATE_MIN	UINT64_MAX
#endif

/* A read of text with at most this many file-backed lines is sparse. */
#define SPARSE_LINES	2

/*
 * Feed the text of an open maps file through the parser to fn, with
 * reads into the parser's reused buffer, to the end.  With resume not
 * NULL, stop after a read that was not the last and showed at most
 * SPARSE_LINES file-backed lines: return 1 with *resume set to the end
 * of the last line handled, for PROCMAP_QUERY to go on from there.
 */
int
hs_scan_read_text(struct hs_scan *s, int fd,
    int (*fn)(struct hs_scan *, const struct hs_maps_rec *),
    uint64_t *resume)
{
	struct hs_maps_rec rec;
	uint64_t last = 0;
	unsigned int files = 0;
	size_t avail;
	ssize_t n = -1;
	char *space;

	hs_maps_reset(&s->parser);
	for (;;) {
		while (hs_maps_next(&s->parser, &rec) == 1) {
			if (rec.start >= GATE_MIN)
				return 0;
			if (fn(s, &rec) == -1)
				return -1;
			last = rec.end;
			files += rec.ino != 0;
		}
		if (s->parser.eof)
			return 0;
		if (resume != NULL && n > 0 && files <= SPARSE_LINES &&
		    last > 0) {
			*resume = last;
			return 1;
		}
		files = 0;
		if ((space = hs_maps_space(&s->parser, &avail)) == NULL)
			return -1;
		do
			n = hs_sys.read(fd, space, avail);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return -1;
		hs_maps_commit(&s->parser, (size_t)n);
	}
}

static const struct hs_scan_id *
find_id(const struct hs_scan *s, dev_t dev, ino_t ino)
{
	size_t lo = 0, hi = s->nids, mid;
	const struct hs_scan_id *v;

	while (lo < hi) {	/* the first id >= (dev, ino) */
		mid = lo + (hi - lo) / 2;
		v = &s->ids[mid];
		if (v->dev < dev || (v->dev == dev && v->ino < ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nids && s->ids[lo].dev == dev && s->ids[lo].ino == ino)
		return &s->ids[lo];
	return NULL;
}

static int
who_rec(struct hs_scan *s, const struct hs_maps_rec *rec)
{
	const struct hs_scan_id *id;

	if (rec->ino == 0 || (id = find_id(s, rec->dev, rec->ino)) == NULL)
		return 0;
	return hs_scan_add(s, rec, hs_scan_kind(rec->perms), id->which,
	    rec->path != NULL && rec->pathlen > 0 ? rec->path : NULL,
	    rec->namelen);
}

static int
who_ioctl(struct hs_scan *s, int fd, uint64_t addr)
{
	struct hs_maps_rec rec;
	int r;

	while ((r = hs_procmap_next(fd, &addr, &rec)) == 1)
		if (who_rec(s, &rec) == -1)
			return -1;
	if (r == 0) {
		s->ioctl_ok = 1;
		s->st.used_ioctl = 1;
	}
	return r;
}

/*
 * The ioctl from addr on; on a kernel without it, 1 (the caller reads
 * the text again from the start).  ESRCH: no memory (exited, zombie,
 * kernel thread), which maps nothing.
 */
static int
who_ioctl_from(struct hs_scan *s, int fd, uint64_t addr)
{
	if (who_ioctl(s, fd, addr) == 0)
		return 0;
	if (s->ioctl_ok == -1 && (errno == ENOTTY || errno == EINVAL)) {
		s->ioctl_ok = 0;	/* before 6.11: text */
		s->nmaps = s->nameslen = 0;
		return 1;
	}
	return errno == ESRCH ? 0 : -1;
}

/* Collect the current process's mappings of the wanted files. */
static int
who_maps(struct hs_scan *s)
{
	uint64_t addr = 0;
	int r, fd = s->mapsfd;

	if (s->flags & HS_SCAN_TEXT || s->ioctl_ok == 0)
		return hs_scan_read_text(s, fd, who_rec, NULL);
	if (!(s->flags & HS_SCAN_IOCTL)) {
		r = hs_scan_read_text(s, fd, who_rec, &addr);
		if (r != 1)
			return r;
	}
	if ((r = who_ioctl_from(s, fd, addr)) != 1)
		return r;
	if (hs_sys.lseek(fd, 0, SEEK_SET) == -1)
		return -1;
	return hs_scan_read_text(s, fd, who_rec, NULL);
}

/*
 * Look at one process: 1 if it has something to report (then the
 * caller ends it), 0 if not or gone, -1 on an error that ends the walk.
 */
static int
visit(struct hs_scan *s, pid_t pid)
{
	char name[32];
	int r;

	(void)snprintf(s->pidname, sizeof(s->pidname), "%d", (int)pid);
	(void)snprintf(name, sizeof(name), "%d/maps", (int)pid);
	s->nmaps = s->nameslen = 0;
	s->mapsfd = hs_openat(s->procfd, name, O_RDONLY, 0);
	if (s->mapsfd == -1)
		r = -1;
	else if (s->walk == HS_WALK_STALE)
		r = hs_stale_maps(s);
	else
		r = who_maps(s);
	if (r == -1) {
		s->nmaps = 0;
		if (gone(errno))
			s->st.vanished++;
		else if (errno == ENOMEM || errno == EMFILE ||
		    errno == ENFILE)
			return -1;	/* ours, not the process's */
		else {
			/* EACCES, EPERM; EIO and the like count here too. */
			s->st.uninspectable++;
			s->st.incomplete = 1;
		}
	} else
		s->st.inspected++;
	if (s->nmaps == 0) {
		end_process(s);
		return 0;
	}
	return 1;
}

/* Point the mappings at their names, now that the names have settled. */
static void
finish(struct hs_scan *s)
{
	size_t i;

	s->proc.kinds = 0;
	for (i = 0; i < s->nmaps; i++) {
		s->maps[i].path = s->pathoff[i] == SIZE_MAX ? NULL :
		    s->names + s->pathoff[i];
		s->proc.kinds |= s->maps[i].kind;
	}
}

/* The next process of this handle's own part of the walk. */
static int
own_next(struct hs_scan *s, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n)
{
	pid_t pid = 0;
	int r;

	while ((r = next_pid(s, &pid)) == 1) {
		if ((r = visit(s, pid)) == -1)
			break;
		if (r == 0)
			continue;
		if (s->walk != HS_WALK_COUNT && hs_procinfo(s, pid) == -1) {
			/* Exited while we looked: as if never seen. */
			s->st.inspected--;
			s->st.vanished++;
			end_process(s);
			continue;
		}
		finish(s);
		*proc = &s->proc;
		*maps = s->maps;
		*n = s->nmaps;
		return 1;
	}
	return r;
}

/*
 * The iterator's next record into *r, left in the buffer: 1, or 0 at its
 * end, -1 on error.
 */
static int
bpf_peek(struct hs_scan *s, struct hs_bpf_rec *r)
{
	ssize_t n;

	while (s->bpflen - s->bpfpos < sizeof(*r)) {
		memmove(s->bpfbuf, s->bpfbuf + s->bpfpos,
		    s->bpflen - s->bpfpos);
		s->bpflen -= s->bpfpos;
		s->bpfpos = 0;
		/*
		 * EAGAIN: a million VMAs went by in one read without a
		 * record; the iterator goes on where it stopped.
		 */
		do
			n = hs_sys.read(s->bpffd, s->bpfbuf + s->bpflen,
			    BPF_BUF - s->bpflen);
		while (n == -1 && (errno == EINTR || errno == EAGAIN));
		if (n == -1)
			return -1;
		if (n == 0) {
			if (s->bpflen == 0)
				return 0;
			errno = EIO;	/* a torn record: cannot be */
			return -1;
		}
		s->bpflen += (size_t)n;
	}
	memcpy(r, s->bpfbuf + s->bpfpos, sizeof(*r));
	return 1;
}

/* A record as the maps parser would have made it of the text. */
static void
bpf_maps_rec(const struct hs_bpf_rec *r, struct hs_maps_rec *rec)
{
	static long pagesize;

	if (pagesize == 0)
		pagesize = sysconf(_SC_PAGESIZE);
	memset(rec, 0, sizeof(*rec));
	rec->start = r->start;
	rec->end = r->end;
	rec->offset = r->pgoff * (uint64_t)pagesize;
	rec->dev = makedev(r->dev >> 20, r->dev & 0xfffff);
	rec->ino = (ino_t)r->ino;
	rec->perms = (r->vm_flags & HS_VM_READ ? HS_MAPS_R : 0) |
	    (r->vm_flags & HS_VM_WRITE ? HS_MAPS_W : 0) |
	    (r->vm_flags & HS_VM_EXEC ? HS_MAPS_X : 0) |
	    (r->vm_flags & HS_VM_MAYSHARE ? HS_MAPS_S : 0);
}

/* The process of record r, as hs_procinfo() fills it from /proc. */
static void
bpf_proc(struct hs_scan *s, const struct hs_bpf_rec *r)
{
	long hz = sysconf(_SC_CLK_TCK);
	size_t len;

	memset(&s->proc, 0, sizeof(s->proc));
	s->proc.pid = (pid_t)r->tgid;
	/* As /proc/PID is owned: root unless dumpable (SUID_DUMP_USER). */
	s->proc.uid = (r->mm_flags & 3) == 1 ? (uid_t)r->euid : 0;
	s->proc.start_time = hz > 0 ?
	    r->start_ns / (1000000000ULL / (unsigned long long)hz) : 0;
	s->proc.other_mntns = -1;
	len = strnlen(r->comm, sizeof(r->comm));
	memcpy(s->proc.comm, r->comm, len);
	s->proc.comm[len] = '\0';
}

/*
 * The next process from the iterator: its records come one after
 * another, so they are taken while the next one is of the same PID.
 */
static int
bpf_next(struct hs_scan *s, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n)
{
	struct hs_bpf_rec r;
	struct hs_maps_rec rec;
	uint64_t code;
	int got;

	for (;;) {
		if ((got = bpf_peek(s, &r)) != 1)
			return got;
		s->nmaps = s->nameslen = 0;
		bpf_proc(s, &r);
		code = r.start_code;
		do {
			s->bpfpos += sizeof(r);		/* taken */
			bpf_maps_rec(&r, &rec);
			if (hs_scan_add(s, &rec, hs_scan_kind(rec.perms),
			    r.which, NULL, 0) == -1)
				return -1;
		} while ((got = bpf_peek(s, &r)) == 1 &&
		    r.tgid == (uint32_t)s->proc.pid);
		if (got == -1)
			return -1;
		(void)snprintf(s->pidname, sizeof(s->pidname), "%d",
		    (int)s->proc.pid);
		if (code != 0)
			hs_procinfo_exe(s, code);
		if (s->walk != HS_WALK_COUNT &&
		    hs_procinfo_named(s, s->proc.start_time) == -1) {
			s->st.vanished++;	/* gone since the walk */
			continue;
		}
		s->st.inspected++;
		finish(s);
		*proc = &s->proc;
		*maps = s->maps;
		*n = s->nmaps;
		return 1;
	}
}

/*
 * Hand out the thread's finds as they come, in between our own; once
 * our part is done, wait for the thread's.
 */
int
hs_scan_next(struct hs_scan *s, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n)
{
	int r, over, result;

	end_process(s);
	if (s->walk == HS_WALK_NONE)
		return 0;
	if (s->bpffd != -1) {
		if ((r = bpf_next(s, proc, maps, n)) != 1)
			end_walk(s);
		return r;
	}
	for (;;) {
		if (s->par != NULL) {
			if (hs_par_take(s, s->own_done, proc, maps, n, &over,
			    &result) == 1)
				return 1;
			if (s->own_done && over) {
				r = result;
				break;
			}
		}
		if (s->own_done)
			continue;
		if ((r = own_next(s, proc, maps, n)) == 1)
			return 1;
		s->own_done = 1;
		if (r == -1 || s->par == NULL)
			break;
	}
	end_walk(s);
	return r;
}

int
hs_count_mappers(const struct hs_fileid *id, unsigned long *count,
    int *incomplete)
{
	const struct hs_mapping *m;
	const struct hs_proc *p;
	struct hs_scan *s;
	size_t n;
	int r = -1;

	*count = 0;
	if ((s = hs_scan_open(0)) == NULL)
		return -1;
	if (set_ids(s, id, 1) == -1 || begin_walk(s, HS_WALK_COUNT) == -1)
		goto out;
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1)
		(*count)++;
	if (incomplete != NULL)
		*incomplete = s->st.incomplete;
out:
	hs_scan_free(s);
	return r;
}

/*
 * scan.c - walk /proc one process at a time and report the processes that
 * map given files (who), or stale mappings (scan_stale.c).
 *
 * /proc is listed with getdents64(2) into a fixed buffer, so a walk holds
 * one directory entry batch and one process's mappings, however many
 * processes there are.  Only thread-group leaders are listed in /proc;
 * /proc/PID/task is never walked, threads share their leader's maps.
 *
 * Each process is looked at through one descriptor of its /proc/PID
 * directory: if the process exits and its PID is reused meanwhile, reads
 * through the old descriptor fail (ESRCH, ENOENT) rather than describe
 * the newcomer.  Both errors mean "exited" and the process is skipped.
 *
 * who reads the mappings with PROCMAP_QUERY (procmap.c), one ioctl per
 * file-backed VMA and no text, and falls back to the text (maps.c) on a
 * kernel that does not know it (ENOTTY, EINVAL on the first try).
 *
 * Which is faster depends on the process (Linux 6.18, 2-core VM, see
 * tests/bench/bench_scan.c): a small process with 28 file-backed VMAs
 * takes 44 us by ioctl and 22 us as text (each ioctl is a system call);
 * one with 20,000 anonymous VMAs and 97 file-backed ones takes 1.1 ms by
 * ioctl and 4.6 ms as text (the kernel formats every line of text).
 * HS_SCAN_TEXT forces the text.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotswap.h"
#include "procmap.h"
#include "scan.h"
#include "sys.h"

#define DENTS_SIZE	(32 * 1024)

/* The records getdents64(2) writes. */
struct hs_dirent64 {
	uint64_t	d_ino;
	int64_t		d_off;
	unsigned short	d_reclen;
	unsigned char	d_type;
	char		d_name[];
};

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
	s->listfd = s->pdir = s->rootfd = -1;
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
	s->rootfd = s->pdir = -1;
}

static void
end_walk(struct hs_scan *s)
{
	end_process(s);
	if (s->listfd != -1)
		(void)hs_close(s->listfd);
	s->listfd = -1;
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
	free(s->maps);
	free(s->pathoff);
	free(s->names);
	free(s->last);
	free(s->tmp);
	free(s);
	errno = serrno;
}

const struct hs_scan_stats *
hs_scan_stats(const struct hs_scan *s)
{
	return &s->st;
}

/* Open the /proc listing, unless a PID list replaces it. */
static int
begin_walk(struct hs_scan *s, enum hs_walk walk)
{
	struct stat st;

	end_walk(s);
	memset(&s->st, 0, sizeof(s->st));
	s->dpos = s->dlen = 0;
	s->pidx = 0;
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

/*
 * Feed the text of an open maps file through the parser to fn, with a
 * few large reads into the parser's reused buffer.
 */
int
hs_scan_read_text(struct hs_scan *s, int fd,
    int (*fn)(struct hs_scan *, const struct hs_maps_rec *))
{
	struct hs_maps_rec rec;
	size_t avail;
	ssize_t n;
	char *space;

	hs_maps_reset(&s->parser);
	for (;;) {
		while (hs_maps_next(&s->parser, &rec) == 1)
			if (fn(s, &rec) == -1)
				return -1;
		if (s->parser.eof)
			return 0;
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
who_ioctl(struct hs_scan *s, int fd)
{
	struct hs_maps_rec rec;
	uint64_t addr = 0;
	int r;

	while ((r = hs_procmap_next(fd, &addr, &rec)) == 1)
		if (who_rec(s, &rec) == -1)
			return -1;
	return r;
}

/* Collect the current process's mappings of the wanted files. */
static int
who_maps(struct hs_scan *s)
{
	int fd, r, serrno;

	if ((fd = hs_openat(s->pdir, "maps", O_RDONLY, 0)) == -1)
		return -1;
	r = -1;
	if (!(s->flags & HS_SCAN_TEXT) && s->ioctl_ok != 0) {
		r = who_ioctl(s, fd);
		if (r == 0) {
			s->ioctl_ok = 1;
			s->st.used_ioctl = 1;
		} else if (s->ioctl_ok == -1 &&
		    (errno == ENOTTY || errno == EINVAL)) {
			s->ioctl_ok = 0;	/* before 6.11: text */
			s->nmaps = s->nameslen = 0;
		} else if (errno == ESRCH)
			r = 0;		/* no memory: exited, zombie, kthread */
	}
	if (s->flags & HS_SCAN_TEXT || s->ioctl_ok == 0)
		r = hs_scan_read_text(s, fd, who_rec);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

/*
 * Look at one process: 1 if it has something to report (then the
 * caller ends it), 0 if not or gone, -1 on an error that ends the walk.
 */
static int
visit(struct hs_scan *s, pid_t pid)
{
	char name[16];
	int r;

	(void)snprintf(name, sizeof(name), "%d", (int)pid);
	s->nmaps = s->nameslen = 0;
	s->pdir = hs_openat(s->procfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (s->pdir == -1)
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

int
hs_scan_next(struct hs_scan *s, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n)
{
	pid_t pid = 0;
	int r;

	end_process(s);
	if (s->walk == HS_WALK_NONE)
		return 0;
	while ((r = next_pid(s, &pid)) == 1) {
		if ((r = visit(s, pid)) == -1)
			break;
		if (r == 0)
			continue;
		if (s->walk != HS_WALK_COUNT)
			hs_procinfo(s, pid);
		finish(s);
		*proc = &s->proc;
		*maps = s->maps;
		*n = s->nmaps;
		return 1;
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

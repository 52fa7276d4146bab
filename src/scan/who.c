/*
 * who.c - the "who" matcher: the files asked about, sorted by (device,
 * inode), and one process's mappings of them, from the maps text or
 * PROCMAP_QUERY.
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

int
hs_scan_set_ids(struct hs_scan *s, const struct hs_fileid *ids, size_t n)
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
int
hs_scan_who_maps(struct hs_scan *s)
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

/*
 * who.c - the "who" matcher: the files asked about, sorted by (device,
 * inode) so that each VMA is looked up by binary search, and the
 * current process's mappings of them, read by pmaps.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "pmaps.h"
#include "scan.h"

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

static const struct hs_scan_id *
find_id(const struct hs_scan *s, dev_t dev, ino_t ino)
{
	size_t lo = 0, hi = s->nids, mid;
	const struct hs_scan_id *v;

	while (lo < hi) { /* the first id >= (dev, ino) */
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
who_rec(void *arg, const struct hs_maps_rec *rec)
{
	struct hs_scan *s = arg;
	const struct hs_scan_id *id;

	if (rec->ino == 0 || (id = find_id(s, rec->dev, rec->ino)) == NULL)
		return 0;
	return hs_scan_add(s, rec, hs_scan_kind(rec->perms), id->which,
	    rec->path != NULL && rec->pathlen > 0 ? rec->path : NULL,
	    rec->namelen);
}

/*
 * Collect the current process's mappings of the wanted files: the text,
 * or PROCMAP_QUERY where it is sparse (pmaps.h), or one of them forced.
 */
int
hs_scan_who_maps(struct hs_scan *s)
{
	unsigned int how = 0;
	int r;

	if (s->flags & HS_SCAN_TEXT)
		how = HS_PMAPS_TEXT;
	else if (s->flags & HS_SCAN_IOCTL)
		how = HS_PMAPS_IOCTL;
	if ((r = hs_pmaps_read(&s->pmaps, s->mapsfd, how, who_rec, s)) == 1)
		s->st.used_ioctl = 1;
	return r == -1 ? -1 : 0;
}

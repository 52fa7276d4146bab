/*
 * pmaps.c - one process's mappings, by the maps text and PROCMAP_QUERY
 * (pmaps.h).  Calls the seam (sys.h), maps.c and procmap.c.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "maps.h"
#include "pmaps.h"
#include "procmap.h"
#include "sys.h"

void
hs_pmaps_init(struct hs_pmaps *p)
{
	hs_maps_init(&p->parser);
	p->ioctl_ok = -1;
}

void
hs_pmaps_free(struct hs_pmaps *p)
{
	hs_maps_free(&p->parser);
}

/*
 * Feed the text through the parser to fn, with reads into the parser's
 * buffer, to the end: 0.  With resume not NULL, stop after a read that
 * was not the last and showed at most HS_PMAPS_SPARSE file-backed
 * lines: 1, with *resume the end of the last line handed over (every
 * complete line has been).  -1 on error.
 */
static int
text(struct hs_pmaps *p, int fd, hs_pmaps_fn *fn, void *arg, uint64_t *resume)
{
	struct hs_maps_rec rec;
	uint64_t last = 0;
	unsigned int files = 0;
	size_t avail;
	ssize_t n = -1;
	char *space;

	for (;;) {
		while (hs_maps_next(&p->parser, &rec) == 1) {
			if (rec.start >= HS_PMAPS_GATE)
				return 0;
			if (fn(arg, &rec) == -1)
				return -1;
			last = rec.end;
			files += rec.ino != 0;
		}
		if (p->parser.eof)
			return 0;
		if (resume != NULL && n > 0 && files <= HS_PMAPS_SPARSE &&
		    last > 0) {
			*resume = last;
			return 1;
		}
		files = 0;
		if ((space = hs_maps_space(&p->parser, &avail)) == NULL)
			return -1;
		do
			n = hs_sys.read(fd, space, avail);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return -1;
		hs_maps_commit(&p->parser, (size_t)n);
	}
}

/*
 * The file-backed VMAs from addr on by PROCMAP_QUERY: 1 at their end, 0
 * if the process has no memory (ESRCH), -1 on error, 2 if this kernel
 * has no such ioctl (then nothing was handed over).  Once an ioctl has
 * answered, ENOTTY and EINVAL are errors like any other.
 */
static int
query(struct hs_pmaps *p, int fd, uint64_t addr, hs_pmaps_fn *fn, void *arg)
{
	struct hs_maps_rec rec;
	int r;

	while ((r = hs_procmap_next(fd, &addr, &rec)) == 1) {
		p->ioctl_ok = 1;
		if (fn(arg, &rec) == -1)
			return -1;
	}
	if (r == 0) {
		p->ioctl_ok = 1;
		return 1;
	}
	if (p->ioctl_ok == -1 && (errno == ENOTTY || errno == EINVAL)) {
		p->ioctl_ok = 0; /* before 6.11 */
		return 2;
	}
	return errno == ESRCH ? 0 : -1;
}

int
hs_pmaps_read(struct hs_pmaps *p, int fd, unsigned int how, hs_pmaps_fn *fn,
    void *arg)
{
	uint64_t addr = 0;
	int r;

	hs_maps_reset(&p->parser);
	if (how & HS_PMAPS_TEXT || p->ioctl_ok == 0)
		return text(p, fd, fn, arg, NULL);
	if (!(how & HS_PMAPS_IOCTL) && (r = text(p, fd, fn, arg, &addr)) != 1)
		return r;
	/*
	 * Where the ioctl is missing the text goes on from where it
	 * stopped (or from the start: nothing was read for HS_PMAPS_IOCTL),
	 * its unfinished line still in the parser.
	 */
	if ((r = query(p, fd, addr, fn, arg)) != 2)
		return r;
	return text(p, fd, fn, arg, NULL);
}

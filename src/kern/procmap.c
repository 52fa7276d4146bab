/*
 * procmap.c - PROCMAP_QUERY, carried here because the uapi headers of
 * Debian 12 predate it.  Layout and values from the kernel's
 * include/uapi/linux/fs.h (Linux 6.11, build ID fields 6.11 too); the
 * ioctl magic is 'f' (PROCFS_IOCTL_MAGIC).  The struct is versioned by
 * its size field, so a newer kernel accepts this 104-byte one.
 */
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <string.h>

#include "procmap.h"
#include "sys.h"

struct hs_procmap_query {
	uint64_t size;
	uint64_t query_flags;	/* in */
	uint64_t query_addr;	/* in */
	uint64_t vma_start;	/* out */
	uint64_t vma_end;	/* out */
	uint64_t vma_flags;	/* out */
	uint64_t vma_page_size; /* out */
	uint64_t vma_offset;	/* out */
	uint64_t inode;		/* out */
	uint32_t dev_major;	/* out */
	uint32_t dev_minor;	/* out */
	uint32_t vma_name_size; /* in/out */
	uint32_t build_id_size; /* in/out */
	uint64_t vma_name_addr; /* in */
	uint64_t build_id_addr; /* in */
};

_Static_assert(sizeof(struct hs_procmap_query) == 104,
    "struct procmap_query is 104 bytes in Linux 6.11");

#define HS_PROCMAP_QUERY _IOWR('f', 17, struct hs_procmap_query)

#define PMQ_VMA_READABLE     0x01
#define PMQ_VMA_WRITABLE     0x02
#define PMQ_VMA_EXECUTABLE   0x04
#define PMQ_VMA_SHARED	     0x08
#define PMQ_COVERING_OR_NEXT 0x10
#define PMQ_FILE_BACKED	     0x20

static int
query(int fd, uint64_t addr, uint64_t flags, struct hs_maps_rec *rec)
{
	struct hs_procmap_query q;
	int r;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = flags;
	q.query_addr = addr;
	do
		r = hs_sys.ioctl(fd, HS_PROCMAP_QUERY, &q);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return errno == ENOENT ? 0 : -1;
	memset(rec, 0, sizeof(*rec));
	rec->start = q.vma_start;
	rec->end = q.vma_end;
	rec->offset = q.vma_offset;
	rec->dev = makedev(q.dev_major, q.dev_minor);
	rec->ino = (ino_t)q.inode;
	rec->perms = ((q.vma_flags & PMQ_VMA_READABLE) ? HS_MAPS_R : 0) |
	    ((q.vma_flags & PMQ_VMA_WRITABLE) ? HS_MAPS_W : 0) |
	    ((q.vma_flags & PMQ_VMA_EXECUTABLE) ? HS_MAPS_X : 0) |
	    ((q.vma_flags & PMQ_VMA_SHARED) ? HS_MAPS_S : 0);
	return 1;
}

int
hs_procmap_next(int fd, uint64_t *addr, struct hs_maps_rec *rec)
{
	int r;

	r = query(fd, *addr, PMQ_COVERING_OR_NEXT | PMQ_FILE_BACKED, rec);
	if (r != 1)
		return r;
	if (rec->end <= *addr) {
		/* Not moving forward: the kernel broke its word.  Stop. */
		errno = EIO;
		return -1;
	}
	*addr = rec->end;
	return 1;
}

int
hs_procmap_at(int fd, uint64_t addr, struct hs_maps_rec *rec)
{
	return query(fd, addr, 0, rec);
}

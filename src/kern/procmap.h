/*
 * procmap.h - the PROCMAP_QUERY ioctl on /proc/PID/maps (Linux 6.11+).
 *
 * Layer src/kern/: readers of kernel interfaces, shared by src/scan/ and
 * src/guard/; they may call only the seam (src/sys/).
 *
 * One ioctl per VMA, binary answers, no text to format or parse: with
 * PROCMAP_QUERY_FILE_BACKED_VMA | PROCMAP_QUERY_COVERING_OR_NEXT_VMA and no
 * name buffer, the kernel hands back the next file-backed VMA at or after
 * an address, with its device and inode.  That is all "who maps this
 * file" needs.  The names, which stale detection needs, still come from
 * the text (maps.h).
 *
 *	uint64_t addr = 0;
 *	struct hs_maps_rec rec;
 *	int r;
 *
 *	while ((r = hs_procmap_next(fd, &addr, &rec)) == 1)
 *		use(&rec);			(rec.path is NULL)
 *	if (r == -1 && (errno == ENOTTY || errno == EINVAL))
 *		read the text instead;		(kernel before 6.11)
 *
 * Errors: -1 with errno from ioctl(2): ENOTTY or EINVAL when the kernel
 * does not know the request, ESRCH when the process has no memory any
 * more (exited, zombie, kernel thread: report it as mapping nothing).
 */
#ifndef HS_PROCMAP_H
#define HS_PROCMAP_H

#include <stdint.h>

#include "maps.h"

/*
 * The next file-backed VMA at or after *addr: 1 with *rec filled and
 * *addr moved past it, 0 when there is none, -1 on error.
 */
int hs_procmap_next(int fd, uint64_t *addr, struct hs_maps_rec *rec);

/*
 * The VMA covering addr exactly, file-backed or not: 1, 0 if none covers
 * it, -1 on error.
 */
int hs_procmap_at(int fd, uint64_t addr, struct hs_maps_rec *rec);

#endif /* HS_PROCMAP_H */

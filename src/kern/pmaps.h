/*
 * pmaps.h - the mappings of one process, from its open /proc/PID/maps,
 * handed to a callback: the text (maps.h) first, finished by
 * PROCMAP_QUERY (procmap.h) where the text turns out to be mostly
 * anonymous mappings.
 *
 * Layer src/kern/: readers of kernel interfaces, shared by src/scan/ and
 * src/guard/; they may call only the seam (src/sys/).
 *
 * Owns the choice between the two and its constants; the scanner's who
 * and stale walks and the guard's set of mapped files all read maps
 * through it.  Calls the seam (sys.h), the text parser and the ioctl.
 * It allocates only the parser's buffer, with realloc(3), which inside
 * libhotswap-guard.so is the guard's own (alloc.c, --wrap).
 *
 * Why text first: measured on Linux 6.18 in a 2-core VM (see
 * tests/bench/bench_who.sh) a system call costs about as much as the
 * kernel's formatting of 4 KiB of maps text, which is what one read(2)
 * of a maps file returns (seq_file fills one page per read), while
 * PROCMAP_QUERY needs one ioctl per file-backed VMA: 20 to 30 for a
 * small process whose whole text is one or two reads.  A process whose
 * text shows at most HS_PMAPS_SPARSE file-backed lines in a read that
 * was not the last (a JVM or a database with thousands of anonymous
 * VMAs) is finished with the ioctl from the end of the last line seen,
 * which skips anonymous VMAs in the kernel.  A kernel without the ioctl
 * (before 6.11: ENOTTY, EINVAL on the first one) gets the text, and is
 * remembered in ioctl_ok, so that it is not asked again.
 *
 * On x86-64 the [vsyscall] line (at HS_PMAPS_GATE or above) is always
 * the last one: seeing it ends the read without the read(2) that would
 * return 0.  It is not handed to the callback.
 */
#ifndef HS_PMAPS_H
#define HS_PMAPS_H

#include <stdint.h>

#include "maps.h"

/* A read of text with at most this many file-backed lines is sparse. */
#define HS_PMAPS_SPARSE 2

#if defined(__x86_64__)
/* [vsyscall] and nothing else lives in the upper half: the last line. */
#define HS_PMAPS_GATE 0xffff800000000000ULL
#else
#define HS_PMAPS_GATE UINT64_MAX
#endif

/* hs_pmaps_read() how */
#define HS_PMAPS_TEXT  0x01 /* the text only: every VMA, with names */
#define HS_PMAPS_IOCTL 0x02 /* PROCMAP_QUERY from the start */

struct hs_pmaps {
	struct hs_maps parser; /* reused from process to process */
	int ioctl_ok;	       /* -1 unknown, 0 no, 1 yes */
};

/*
 * Given each VMA in address order: from the text every one (anonymous
 * ones have ino 0; rec->path is the name), from PROCMAP_QUERY only
 * file-backed ones (rec->path NULL).  The record is valid during the
 * call.  Returns 0, or -1 with errno to stop the read.
 */
typedef int hs_pmaps_fn(void *arg, const struct hs_maps_rec *rec);

void hs_pmaps_init(struct hs_pmaps *);
void hs_pmaps_free(struct hs_pmaps *);

/*
 * Read the maps file open on fd (at offset 0) to its end, each VMA to
 * fn(arg, rec).  how: 0 (text first, as above), HS_PMAPS_TEXT or
 * HS_PMAPS_IOCTL.  Returns 0 if the text gave the end, 1 if
 * PROCMAP_QUERY did, or -1 with errno: from read(2) or ioctl(2) (ESRCH
 * from the ioctl, a process without memory, is an end: 0), or fn's.
 */
int hs_pmaps_read(struct hs_pmaps *, int fd, unsigned int how, hs_pmaps_fn *fn,
    void *arg);

#endif /* HS_PMAPS_H */

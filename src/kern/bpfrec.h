/*
 * bpfrec.h - the records of the BPF who iterator (bpfwho.h), read from
 * its descriptor into a buffer the caller owns.
 *
 * Layer src/kern/: readers of kernel interfaces, shared by src/scan/ and
 * src/guard/; they may call only the seam (src/sys/).
 *
 * Owns the reading only: the iterator's read(2) returns what fits, and
 * the kernel may end a read inside a record and give the rest in the
 * next, so a record is put together again from two reads; the end of
 * input inside one is an error.  Calls the seam (sys.h) and nothing
 * else, and allocates nothing, so that the guard may read from any
 * context.
 *
 *	struct hs_bpf_rec buf[64], r;
 *	struct hs_bpf_reader rd;
 *	int got;
 *
 *	hs_bpf_reader_init(&rd, fd, buf, sizeof(buf));
 *	while ((got = hs_bpf_peek(&rd, &r)) == 1) {
 *		hs_bpf_take(&rd);
 *		use(&r);
 *	}
 *	(got == -1: the read failed)
 */
#ifndef HS_BPFREC_H
#define HS_BPFREC_H

#include <stddef.h>

#include "bpfwho.h"
#include "maps.h"

struct hs_bpf_reader {
	int fd;	   /* the iterator, or -1 */
	char *buf; /* the caller's */
	size_t cap;
	size_t pos; /* the next record in buf */
	size_t len; /* bytes in buf */
};

/*
 * Read the iterator fd into buf, cap bytes, at least one record (the
 * reads are then the largest multiple of the record size that fits).
 * The reader neither owns nor closes fd.
 */
void hs_bpf_reader_init(struct hs_bpf_reader *, int fd, void *buf, size_t cap);

/*
 * The next record into *r, left in the buffer: 1, 0 at the end, or -1
 * with errno from read(2), EIO if the input ends inside a record, or
 * EINVAL if cap is smaller than one record.  EINTR and EAGAIN (a million
 * VMAs went by in one read without a record; the iterator goes on where
 * it stopped) are retried.
 */
int hs_bpf_peek(struct hs_bpf_reader *, struct hs_bpf_rec *r);

/* Move past the record that hs_bpf_peek() returned. */
void hs_bpf_take(struct hs_bpf_reader *);

/* Record r as the maps parser would have made it of the text (no name). */
void hs_bpf_maps_rec(const struct hs_bpf_rec *r, struct hs_maps_rec *rec,
    long pagesize);

#endif /* HS_BPFREC_H */

/*
 * bpfrec.c - the BPF who iterator's records, whole (bpfrec.h).  Calls
 * only the seam (sys.h).
 */
#include <sys/sysmacros.h>
#include <errno.h>
#include <string.h>

#include "bpfrec.h"
#include "sys.h"

#define REC sizeof(struct hs_bpf_rec)

void
hs_bpf_reader_init(struct hs_bpf_reader *rd, int fd, void *buf, size_t cap)
{
	rd->fd = fd;
	rd->buf = buf;
	rd->cap = cap / REC * REC;
	rd->pos = rd->len = 0;
}

int
hs_bpf_peek(struct hs_bpf_reader *rd, struct hs_bpf_rec *r)
{
	ssize_t n;

	if (rd->cap == 0) {
		errno = EINVAL;
		return -1;
	}
	while (rd->len - rd->pos < REC) {
		memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
		rd->len -= rd->pos;
		rd->pos = 0;
		do
			n = hs_sys.read(rd->fd, rd->buf + rd->len,
			    rd->cap - rd->len);
		while (n == -1 && (errno == EINTR || errno == EAGAIN));
		if (n == -1)
			return -1;
		if (n == 0 || (size_t)n > rd->cap - rd->len) {
			if (n == 0 && rd->len == 0)
				return 0;
			errno = EIO; /* torn, or more than asked */
			return -1;
		}
		rd->len += (size_t)n;
	}
	memcpy(r, rd->buf + rd->pos, REC);
	return 1;
}

void
hs_bpf_take(struct hs_bpf_reader *rd)
{
	rd->pos += REC;
}

void
hs_bpf_maps_rec(const struct hs_bpf_rec *r, struct hs_maps_rec *rec,
    long pagesize)
{
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

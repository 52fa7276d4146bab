/*
 * whobpf.c - a who walk fed by the BPF task_vma iterator (bpfwho.c):
 * its records, process by process, as the walk over /proc would report
 * them.
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

/* The size of the iterator's reads: a multiple of the record size. */
#define BPF_BUF		(680 * sizeof(struct hs_bpf_rec))

/*
 * A who walk over all processes by the BPF iterator, where it may run;
 * -1 (and the walk reads /proc) where not.  Why it cannot is not an
 * error: not root, no BTF, an older kernel, a container.
 */
int
hs_scan_begin_bpf(struct hs_scan *s)
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
int
hs_scan_bpf_next(struct hs_scan *s, const struct hs_proc **proc,
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
		hs_scan_finish(s);
		*proc = &s->proc;
		*maps = s->maps;
		*n = s->nmaps;
		return 1;
	}
}

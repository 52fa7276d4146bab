/*
 * whobpf.c - a who walk fed by the BPF task_vma iterator (bpfwho.h), its
 * records read whole by bpfrec.h: process by process, as the walk over
 * /proc would report them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfrec.h"
#include "bpfwho.h"
#include "hotswap.h"
#include "scan.h"
#include "sys.h"

/* The size of the iterator's reads: a multiple of the record size. */
#define BPF_BUF (680 * sizeof(struct hs_bpf_rec))

/*
 * A who walk over all processes by the BPF iterator, where it may run;
 * -1 (and the walk reads /proc) where not.  Why it cannot is not an
 * error: not root, no BTF, an older kernel, a container.
 */
int
hs_scan_begin_bpf(struct hs_scan *s)
{
	int fd;

	if (s->flags & (HS_SCAN_PROC | HS_SCAN_TEXT | HS_SCAN_IOCTL) ||
	    s->npids != 0 || s->nids > HS_BPF_MAX_IDS)
		return -1;
	if (s->bpfbuf == NULL && (s->bpfbuf = malloc(BPF_BUF)) == NULL)
		return -1;
	if ((fd = hs_bpf_who(s->ids, s->nids)) == -1)
		return -1;
	hs_bpf_reader_init(&s->bpf, fd, s->bpfbuf, BPF_BUF);
	s->st.used_bpf = 1;
	return 0;
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
	    r->start_ns / (1000000000ULL / (unsigned long long)hz) :
	    0;
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
	long pagesize = sysconf(_SC_PAGESIZE);
	uint64_t code;
	int got;

	for (;;) {
		if ((got = hs_bpf_peek(&s->bpf, &r)) != 1)
			return got;
		s->nmaps = s->nameslen = 0;
		/* Nothing looked up for a process skipped below holds. */
		s->mntns_known = 0;
		bpf_proc(s, &r);
		code = r.start_code;
		do {
			hs_bpf_take(&s->bpf);
			hs_bpf_maps_rec(&r, &rec, pagesize);
			if (hs_scan_add(s, &rec, hs_scan_kind(rec.perms),
				r.which, NULL, 0) == -1)
				return -1;
		} while ((got = hs_bpf_peek(&s->bpf, &r)) == 1 &&
		    r.tgid == (uint32_t)s->proc.pid);
		if (got == -1)
			return -1;
		(void)snprintf(s->pidname, sizeof(s->pidname), "%d",
		    (int)s->proc.pid);
		if (code != 0)
			hs_procinfo_exe(s, code);
		if (s->walk != HS_WALK_COUNT &&
		    hs_procinfo_named(s, s->proc.start_time) == -1) {
			s->st.vanished++; /* gone since the walk */
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

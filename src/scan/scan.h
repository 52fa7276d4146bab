/*
 * scan.h - private to the process scanner (src/scan/): the handle,
 * shared by scan.c (the walk driver), who.c (who maps these files),
 * whobpf.c (the who walk fed by the BPF iterator), store.c (the
 * mappings of the process being looked at), stale.c (stale detection),
 * proc.c (what a process is: comm, uid, start time, namespace, unit),
 * class.c (its class: service, session, container...) and par.c (the
 * walk on two CPUs).
 *
 * The scanner may call the kernel readers (src/kern/: the /proc listing
 * procwalk.h, one process's maps pmaps.h, the BPF iterator bpfwho.h and
 * its records bpfrec.h) and the seam (src/sys/); nothing above it.
 */
#ifndef HS_SCAN_H
#define HS_SCAN_H

#include <sys/stat.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfrec.h"
#include "bpfwho.h"
#include "hotswap.h"
#include "maps.h"
#include "pmaps.h"
#include "procwalk.h"

#define STALE_NAMES_MAX (1024 * 1024) /* stale: bytes of names per process */
#define STALE_MAPS_MAX	65536	      /* stale: records kept per process */

enum hs_walk { HS_WALK_NONE = 0, HS_WALK_WHO, HS_WALK_STALE, HS_WALK_COUNT };

struct hs_scan {
	unsigned int flags;
	int procfd; /* /proc */
	enum hs_walk walk;
	int self_mntns_ok;
	dev_t self_mntns_dev;
	ino_t self_mntns_ino;
	/* PID 1's PID and mount namespaces (ours if unreadable): class.c */
	int ref_ns_ok; /* bit 0: pid, bit 1: mnt */
	dev_t ref_pidns_dev, ref_mntns_dev;
	ino_t ref_pidns_ino, ref_mntns_ino;

	/* What to look for. */
	struct hs_scan_id *ids;
	size_t nids;
	pid_t *pids;
	size_t npids;
	size_t pidx;

	/* The listing of /proc (fd -1 if none), into dents. */
	struct hs_procwalk list;
	char *dents; /* HS_PROCWALK_BUF */

	/* The process being looked at. */
	char pidname[16]; /* "PID" */
	int mapsfd;	  /* its /proc/PID/maps */
	int pdir;	  /* its /proc/PID, lazily, or -1 */
	int rootfd;	  /* its /proc/PID/root, lazily, or -1 */
	int mntns_known;  /* proc.other_mntns was looked up */
	struct hs_proc proc;
	struct hs_mapping *maps;
	size_t *pathoff; /* per mapping: offset in names */
	size_t nmaps;
	size_t capmaps;
	char *names; /* the mappings' names */
	size_t nameslen;
	size_t namescap;
	struct hs_pmaps pmaps; /* the reader of maps */

	/* stale: the last verdict, for the next VMA of the same file. */
	char *last;
	size_t lastcap;
	size_t lastlen;
	dev_t lastdev;
	ino_t lastino;
	int lastverdict;	/* -2: none */
	int lastkept;		/* it is maps[nmaps - 1], its name kept */
	unsigned long dropped;	/* stale mappings over the limits */
	unsigned long filerecs; /* stale: file-backed mappings seen */
	char *tmp;		/* a name being looked up */
	size_t tmpcap;
	int cacheable;		  /* judge(): the verdict holds for all */
	struct hs_verdict *cache; /* stale: verdicts in our own view */
	struct hs_scan_id *tmpx;  /* stale: files ignored as temp code */
	size_t ntmpx;
	size_t captmpx;

	/* A who walk by the BPF iterator (whobpf.c): its records. */
	struct hs_bpf_reader bpf; /* fd: the iterator, or -1 */
	char *bpfbuf;

	/* A walk on two CPUs (par.c). */
	unsigned int part;   /* this handle takes PIDs with */
	unsigned int nparts; /* pid % nparts == part (nparts > 1) */
	struct hs_par *par;  /* the thread with the other part */
	int own_done;	     /* this handle's part is walked */
	uint64_t walk_ticks; /* CLOCK_BOOTTIME at the walk's start,
					   in clock ticks as in stat(5) */

	struct hs_scan_stats st;
};

/* scan.c: the walk driver */
int hs_scan_pdir(struct hs_scan *);
int hs_scan_alive(struct hs_scan *);
int hs_scan_who_ids(struct hs_scan *, const struct hs_scan *from);

/* store.c: the record store */
int hs_scan_add(struct hs_scan *, const struct hs_maps_rec *, unsigned int kind,
    size_t which, const char *name, size_t len);
unsigned int hs_scan_kind(unsigned int perms);
void hs_scan_finish(struct hs_scan *);

/* who.c: the who matcher */
int hs_scan_set_ids(struct hs_scan *, const struct hs_fileid *, size_t);
int hs_scan_who_maps(struct hs_scan *);

/* whobpf.c: the BPF consumer */
int hs_scan_begin_bpf(struct hs_scan *);
int hs_scan_bpf_next(struct hs_scan *, const struct hs_proc **,
    const struct hs_mapping **, size_t *);

/* par.c */
void hs_par_start(struct hs_scan *);
int hs_par_take(struct hs_scan *, int wait, const struct hs_proc **,
    const struct hs_mapping **, size_t *, int *over, int *result);
void hs_par_end(struct hs_scan *);

/* stale.c */
int hs_stale_maps(struct hs_scan *);
int hs_stale_ignored(const struct hs_maps_rec *);
void hs_stale_forget(struct hs_scan *);
int hs_stale_judge(struct hs_scan *, const char *name, size_t pathlen,
    size_t namelen, dev_t dev, ino_t ino);
int hs_stale_tmpname(const char *name, size_t len);

/* fds.c, script.c: staleness beyond the mappings */
int hs_stale_fds(struct hs_scan *);
int hs_stale_script(struct hs_scan *);
int hs_script_family(const char *exe, size_t len);
int hs_script_arg(int family, const char *argv, size_t len, size_t *off,
    size_t *arglen);

/* class.c */
int hs_class_cgroup(const char *cgroup, const char *unit);
int hs_class_of(pid_t pid, int cgroup_class, int other_pidns, int other_mntns);

/* kernel.c */
int hs_kernel_vercmp(const char *, const char *);
int hs_kernel_header(const unsigned char *buf, size_t n, char *out, size_t len);

/* proc.c */
ssize_t hs_scan_read_small(struct hs_scan *, const char *name, char *buf,
    size_t len);
int hs_scan_stat_in(int dirfd, const char *name, unsigned long long resolve,
    struct stat *st);
int hs_procinfo_mntns(struct hs_scan *);
int hs_procinfo(struct hs_scan *, pid_t);
int hs_procinfo_unit(const char *cgroup, char *unit, size_t len);
int hs_procinfo_stat(const char *stat, char *comm, size_t commlen,
    uint64_t *start_time);
int hs_procinfo_code(const char *stat, uint64_t *start, uint64_t *end);
void hs_procinfo_exe(struct hs_scan *, uint64_t code);
int hs_procinfo_named(struct hs_scan *, uint64_t start_time);

#endif /* HS_SCAN_H */

/*
 * scan.c - the walk driver: open, next and free of a handle, the walk
 * over /proc one process at a time, its statistics.  What a process
 * maps of the files asked about is who.c's (or whobpf.c's, where the
 * BPF iterator answers for all processes at once), its stale mappings
 * stale.c's, what it is proc.c's.
 *
 * /proc is listed with getdents64(2) into a fixed buffer (procwalk.h),
 * so a walk holds one directory entry batch and one process's mappings,
 * however many processes there are.  Only thread-group leaders are
 * listed in /proc; /proc/PID/task is never walked, threads share their
 * leader's maps.
 *
 * A process that exits while it is looked at makes the reads fail with
 * ESRCH or ENOENT (or its maps read as empty): it is skipped.
 *
 * Per process, the least is done that answers the question: one
 * openat(2) of PID/maps relative to a /proc descriptor, usually one
 * read(2) (pmaps.h: the text, or PROCMAP_QUERY where the text is sparse),
 * one close(2).  Nothing else is opened for a process that maps nothing
 * of interest.  Only a process with something to report is looked at
 * further (proc.c: stat, and cgroup unless HS_SCAN_BRIEF), by name,
 * which needs a guard against PID reuse: a process that stat shows
 * started before the walk held its PID throughout; for a younger one,
 * its maps descriptor, still open, is read once more at the end, and if
 * its memory is still there it was alive throughout.
 *
 * A walk over all processes on a machine with several CPUs takes the
 * odd PIDs in a second thread (par.c).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotswap.h"
#include "scan.h"
#include "sys.h"

static int
gone(int e)
{
	return e == ENOENT || e == ESRCH;
}

/* The namespace file name of PID 1, or else ours, in *dev, *ino. */
static int
ref_ns_one(struct hs_scan *s, const char *name, dev_t *dev, ino_t *ino)
{
	char path[32];
	struct stat st;

	(void)snprintf(path, sizeof(path), "1/ns/%s", name);
	if (hs_sys.fstatat(s->procfd, path, &st, 0) == -1) {
		(void)snprintf(path, sizeof(path), "self/ns/%s", name);
		if (hs_sys.fstatat(s->procfd, path, &st, 0) == -1)
			return 0;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 1;
}

/* What a container differs from (class.c): PID 1's namespaces. */
static void
ref_ns(struct hs_scan *s)
{
	s->ref_ns_ok = ref_ns_one(s, "pid", &s->ref_pidns_dev,
			   &s->ref_pidns_ino) |
	    ref_ns_one(s, "mnt", &s->ref_mntns_dev, &s->ref_mntns_ino) << 1;
}

struct hs_scan *
hs_scan_open(unsigned int flags)
{
	struct hs_scan *s;
	struct stat st;
	int serrno;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->flags = flags;
	s->list.fd = s->mapsfd = s->pdir = s->rootfd = s->bpf.fd = -1;
	hs_pmaps_init(&s->pmaps);
	s->procfd = hs_openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY, 0);
	if (s->procfd == -1)
		goto fail;
	if (hs_sys.fstatat(s->procfd, "self/ns/mnt", &st, 0) == 0) {
		s->self_mntns_ok = 1;
		s->self_mntns_dev = st.st_dev;
		s->self_mntns_ino = st.st_ino;
	}
	ref_ns(s);
	return s;
fail:
	serrno = errno;
	hs_scan_free(s);
	errno = serrno;
	return NULL;
}

static void
end_process(struct hs_scan *s)
{
	if (s->rootfd != -1)
		(void)hs_close(s->rootfd);
	if (s->pdir != -1)
		(void)hs_close(s->pdir);
	if (s->mapsfd != -1)
		(void)hs_close(s->mapsfd);
	s->rootfd = s->pdir = s->mapsfd = -1;
	s->mntns_known = 0;
}

/*
 * The current process's /proc/PID directory, opened on first use.  Its
 * PID may have been reused by then: hs_scan_alive() afterwards tells.
 */
int
hs_scan_pdir(struct hs_scan *s)
{
	if (s->pdir == -1)
		s->pdir = hs_openat(s->procfd, s->pidname,
		    O_RDONLY | O_DIRECTORY, 0);
	return s->pdir;
}

/*
 * 0 if the process whose maps are open still has its memory, so that
 * whatever was read about its PID since the maps were opened is about
 * it; -1 with ESRCH if it exited (or exec'd) meanwhile.  A maps file
 * reads as empty once the memory is gone.
 */
int
hs_scan_alive(struct hs_scan *s)
{
	char c;
	ssize_t n;

	do
		n = hs_sys.pread(s->mapsfd, &c, 1, 0);
	while (n == -1 && errno == EINTR);
	if (n == 1)
		return 0;
	if (n == 0)
		errno = ESRCH;
	return -1;
}

static void
end_walk(struct hs_scan *s)
{
	hs_par_end(s);
	s->own_done = 0;
	end_process(s);
	hs_procwalk_close(&s->list);
	if (s->bpf.fd != -1)
		(void)hs_close(s->bpf.fd);
	s->bpf.fd = -1;
	s->walk = HS_WALK_NONE;
}

void
hs_scan_free(struct hs_scan *s)
{
	int serrno = errno;

	if (s == NULL)
		return;
	end_walk(s);
	if (s->procfd != -1)
		(void)hs_close(s->procfd);
	hs_pmaps_free(&s->pmaps);
	free(s->ids);
	free(s->pids);
	free(s->dents);
	free(s->bpfbuf);
	free(s->maps);
	free(s->pathoff);
	free(s->names);
	free(s->last);
	free(s->tmp);
	hs_stale_forget(s);
	free(s->tmpx);
	free(s);
	errno = serrno;
}

const struct hs_scan_stats *
hs_scan_stats(const struct hs_scan *s)
{
	return &s->st;
}

/* Clock ticks since boot (0 if unknown), as stat(5) gives start times. */
static uint64_t
boot_ticks(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * (uint64_t)hz +
	    (uint64_t)ts.tv_nsec / (1000000000UL / (unsigned long)hz);
}

/* Open the /proc listing, unless a PID list replaces it. */
static int
begin_walk(struct hs_scan *s, enum hs_walk walk)
{
	struct stat st;

	end_walk(s);
	hs_stale_forget(s);
	memset(&s->st, 0, sizeof(s->st));
	s->pidx = 0;
	s->walk_ticks = boot_ticks();
	if ((walk == HS_WALK_WHO || walk == HS_WALK_COUNT) &&
	    hs_scan_begin_bpf(s) == 0) {
		s->walk = walk;
		return 0;
	}
	if (s->npids == 0) {
		if (s->dents == NULL &&
		    (s->dents = malloc(HS_PROCWALK_BUF)) == NULL)
			return -1;
		if (hs_procwalk_open(&s->list, s->procfd, s->dents,
			HS_PROCWALK_BUF) == -1)
			return -1;
		/*
		 * hidepid=invisible hides other users' processes from the
		 * listing itself: nothing to count, but init is always
		 * there, so its absence tells.
		 */
		if (hs_sys.fstatat(s->procfd, "1", &st, 0) == -1)
			s->st.incomplete = 1;
	}
	s->walk = walk;
	hs_par_start(s);
	return 0;
}

int
hs_scan_who(struct hs_scan *s, const struct hs_fileid *ids, size_t n)
{
	if (hs_scan_set_ids(s, ids, n) == -1)
		return -1;
	return begin_walk(s, HS_WALK_WHO);
}

/* Start the same who walk as from (for the thread of par.c). */
int
hs_scan_who_ids(struct hs_scan *s, const struct hs_scan *from)
{
	struct hs_scan_id *v;

	if ((v = reallocarray(NULL, from->nids, sizeof(*v))) == NULL)
		return -1;
	memcpy(v, from->ids, from->nids * sizeof(*v));
	free(s->ids);
	s->ids = v;
	s->nids = from->nids;
	s->npids = 0;
	return begin_walk(s, HS_WALK_WHO);
}

int
hs_scan_stale(struct hs_scan *s, const pid_t *pids, size_t npids)
{
	pid_t *v = NULL;

	if (npids > SIZE_MAX / sizeof(*v)) {
		errno = EINVAL;
		return -1;
	}
	if (npids > 0) {
		if ((v = malloc(npids * sizeof(*v))) == NULL)
			return -1;
		memcpy(v, pids, npids * sizeof(*v));
	}
	free(s->pids);
	s->pids = v;
	s->npids = npids;
	return begin_walk(s, HS_WALK_STALE);
}

/* The next PID to look at: 1, 0 at the end, -1 on error. */
static int
next_pid(struct hs_scan *s, pid_t *pid)
{
	int r;

	if (s->list.fd == -1) {
		if (s->pidx >= s->npids)
			return 0;
		*pid = s->pids[s->pidx++];
		return 1;
	}
	while ((r = hs_procwalk_next(&s->list, pid)) == 1)
		if (s->nparts <= 1 ||
		    (unsigned long)*pid % s->nparts == s->part)
			break; /* else the other thread's */
	return r;
}

/*
 * Look at one process: 1 if it has something to report (then the
 * caller ends it), 0 if not or gone, -1 on an error that ends the walk.
 */
static int
visit(struct hs_scan *s, pid_t pid)
{
	char name[32];
	int r;

	(void)snprintf(s->pidname, sizeof(s->pidname), "%d", (int)pid);
	(void)snprintf(name, sizeof(name), "%d/maps", (int)pid);
	s->nmaps = s->nameslen = 0;
	s->mapsfd = hs_openat(s->procfd, name, O_RDONLY, 0);
	if (s->mapsfd == -1)
		r = -1;
	else if (s->walk == HS_WALK_STALE)
		r = hs_stale_maps(s);
	else
		r = hs_scan_who_maps(s);
	if (r == -1) {
		s->nmaps = 0;
		if (gone(errno))
			s->st.vanished++;
		else if (errno == ENOMEM || errno == EMFILE || errno == ENFILE)
			return -1; /* ours, not the process's */
		else {
			/* EACCES, EPERM; EIO and the like count here too. */
			s->st.uninspectable++;
			s->st.incomplete = 1;
		}
	} else
		s->st.inspected++;
	if (s->nmaps == 0) {
		end_process(s);
		return 0;
	}
	return 1;
}

/* The next process of this handle's own part of the walk. */
static int
own_next(struct hs_scan *s, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n)
{
	pid_t pid = 0;
	int r;

	while ((r = next_pid(s, &pid)) == 1) {
		if ((r = visit(s, pid)) == -1)
			break;
		if (r == 0)
			continue;
		if (s->walk != HS_WALK_COUNT && hs_procinfo(s, pid) == -1) {
			/* Exited while we looked: as if never seen. */
			s->st.inspected--;
			s->st.vanished++;
			end_process(s);
			continue;
		}
		hs_scan_finish(s);
		*proc = &s->proc;
		*maps = s->maps;
		*n = s->nmaps;
		return 1;
	}
	return r;
}

/*
 * Hand out the thread's finds as they come, in between our own; once
 * our part is done, wait for the thread's.
 */
int
hs_scan_next(struct hs_scan *s, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n)
{
	int r, over, result;

	end_process(s);
	if (s->walk == HS_WALK_NONE)
		return 0;
	if (s->bpf.fd != -1) {
		if ((r = hs_scan_bpf_next(s, proc, maps, n)) != 1)
			end_walk(s);
		return r;
	}
	for (;;) {
		if (s->par != NULL) {
			if (hs_par_take(s, s->own_done, proc, maps, n, &over,
				&result) == 1)
				return 1;
			if (s->own_done && over) {
				r = result;
				break;
			}
		}
		if (s->own_done)
			continue;
		if ((r = own_next(s, proc, maps, n)) == 1)
			return 1;
		s->own_done = 1;
		if (r == -1 || s->par == NULL)
			break;
	}
	end_walk(s);
	return r;
}

int
hs_count_mappers(const struct hs_fileid *id, unsigned long *count,
    int *incomplete)
{
	const struct hs_mapping *m;
	const struct hs_proc *p;
	struct hs_scan *s;
	size_t n;
	int r = -1;

	*count = 0;
	if ((s = hs_scan_open(0)) == NULL)
		return -1;
	if (hs_scan_set_ids(s, id, 1) == -1 ||
	    begin_walk(s, HS_WALK_COUNT) == -1)
		goto out;
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1)
		(*count)++;
	if (incomplete != NULL)
		*incomplete = s->st.incomplete;
out:
	hs_scan_free(s);
	return r;
}

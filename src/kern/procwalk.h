/*
 * procwalk.h - the PIDs of /proc, listed with getdents64(2) into a
 * buffer the caller owns.
 *
 * Layer src/kern/: readers of kernel interfaces, shared by src/scan/ and
 * src/guard/; they may call only the seam (src/sys/).
 *
 * Owns the listing only: which entries of /proc are processes (a
 * decimal name, 1 to INT_MAX, no sign, no leading zero).  What a process
 * maps is pmaps.h's.  Calls the seam (sys.h) and nothing else; it
 * allocates nothing, so the guard may list /proc from any context.
 *
 *	static char buf[HS_PROCWALK_BUF];
 *	struct hs_procwalk w;
 *	pid_t pid;
 *	int r;
 *
 *	if (hs_procwalk_open(&w, procfd, buf, sizeof(buf)) == -1)
 *		goto fail;
 *	while ((r = hs_procwalk_next(&w, &pid)) == 1)
 *		look_at(pid);
 *	hs_procwalk_close(&w);		(r == -1: the listing failed)
 *
 * Only thread-group leaders are listed in /proc: threads are never seen.
 */
#ifndef HS_PROCWALK_H
#define HS_PROCWALK_H

#include <sys/types.h>
#include <stddef.h>

/* One getdents64(2) of this much holds about 1,300 entries of /proc. */
#define HS_PROCWALK_BUF (32 * 1024)

struct hs_procwalk {
	int fd;	   /* /proc being listed, or -1 */
	char *buf; /* the caller's */
	size_t cap;
	size_t pos; /* next record in buf */
	size_t len; /* bytes in buf */
};

/*
 * Start listing the directory procfd (/proc) from its beginning, on a
 * descriptor of its own, with buf (cap bytes, at least 512) for the
 * records.  0, or -1 with errno (EINVAL: buf too small); on failure w
 * is closed (fd -1).
 */
int hs_procwalk_open(struct hs_procwalk *w, int procfd, char *buf, size_t cap);

/*
 * The next PID: 1 with *pid set, 0 at the end of the listing, -1 with
 * errno from getdents64(2), or EIO if the records do not fit the bytes
 * it returned.  EINTR is retried.
 */
int hs_procwalk_next(struct hs_procwalk *w, pid_t *pid);

/* Close the listing; w may be closed already.  errno is kept. */
void hs_procwalk_close(struct hs_procwalk *w);

/* The PID that a /proc entry's name is, or 0 if it is not a process. */
pid_t hs_procwalk_pid(const char *name);

#endif /* HS_PROCWALK_H */

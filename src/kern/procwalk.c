/*
 * procwalk.c - the PIDs of /proc by getdents64(2) (procwalk.h).  Calls
 * only the seam (sys.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "procwalk.h"
#include "sys.h"

/* The smallest buffer taken: a few records of any name /proc has. */
#define PROCWALK_MIN 512

/* Bytes of a record before its name. */
#define NAME_OFF offsetof(struct hs_dirent64, d_name)

int
hs_procwalk_open(struct hs_procwalk *w, int procfd, char *buf, size_t cap)
{
	w->fd = -1;
	w->buf = buf;
	w->cap = cap;
	w->pos = w->len = 0;
	if (cap < PROCWALK_MIN) {
		errno = EINVAL;
		return -1;
	}
	/* A description of our own: its offset is this listing's alone. */
	w->fd = hs_openat(procfd, ".", O_RDONLY | O_DIRECTORY, 0);
	return w->fd == -1 ? -1 : 0;
}

void
hs_procwalk_close(struct hs_procwalk *w)
{
	int serrno = errno;

	if (w->fd != -1)
		(void)hs_close(w->fd);
	w->fd = -1;
	w->pos = w->len = 0;
	errno = serrno;
}

pid_t
hs_procwalk_pid(const char *s)
{
	long v = 0;

	if (*s < '1' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (*s - '0')) > INT_MAX)
			return 0;
	return *s == '\0' ? (pid_t)v : 0;
}

/*
 * The record at w->pos, checked against the bytes getdents64 returned:
 * it holds its header and a NUL-terminated name and ends inside them.
 * NULL with EIO if not.
 */
static const struct hs_dirent64 *
record(const struct hs_procwalk *w)
{
	const struct hs_dirent64 *d;
	size_t left = w->len - w->pos;

	d = (const struct hs_dirent64 *)(const void *)(w->buf + w->pos);
	if (left <= NAME_OFF || d->d_reclen <= NAME_OFF || d->d_reclen > left ||
	    memchr(d->d_name, '\0', d->d_reclen - NAME_OFF) == NULL) {
		errno = EIO;
		return NULL;
	}
	return d;
}

/* Refill the buffer: 1, 0 at the end of the listing, -1 on error. */
static int
fill(struct hs_procwalk *w)
{
	ssize_t n;

	do
		n = hs_sys.getdents64(w->fd, w->buf, w->cap);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	if ((size_t)n > w->cap) {
		errno = EIO; /* more than there was room for */
		return -1;
	}
	w->len = (size_t)n;
	w->pos = 0;
	return 1;
}

int
hs_procwalk_next(struct hs_procwalk *w, pid_t *pid)
{
	const struct hs_dirent64 *d;
	int r;

	for (;;) {
		if (w->pos >= w->len && (r = fill(w)) != 1)
			return r;
		if ((d = record(w)) == NULL)
			return -1;
		w->pos += d->d_reclen;
		if ((*pid = hs_procwalk_pid(d->d_name)) != 0)
			return 1;
	}
}

/*
 * par.c - a walk over /proc on two CPUs.
 *
 * Reading /proc costs system calls, one process after another, and the
 * kernel's work for one process does not depend on the others'.  So a
 * walk over all processes, on a machine with more than one CPU, starts
 * a second handle in a thread: it takes the PIDs that are odd, the
 * caller's handle the even ones (by PID, not by position in a listing,
 * so that a process that comes or goes between the two listings cannot
 * be seen twice or shift the others).  The thread copies what it finds
 * into a ring of SLOTS slots and waits when the ring is full; the
 * caller's hs_scan_next() hands out the ring's processes between its
 * own.  Memory stays constant: SLOTS copies of the largest process's
 * mappings at most.  The order of processes is unspecified anyway.
 *
 * Everything the thread touches is its own handle, except the ring,
 * which the mutex guards.  Its counters are added to the caller's when
 * the walk ends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"

#define SLOTS 64

struct hs_slot {
	struct hs_proc proc;
	struct hs_mapping *maps;
	size_t *off; /* per mapping: name offset or -1 */
	size_t nmaps;
	size_t capmaps;
	char *names;
	size_t nameslen;
	size_t namescap;
};

struct hs_par {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hs_scan *sub;
	struct hs_slot slot[SLOTS];
	size_t head; /* slots filled, ever */
	size_t tail; /* slots handed out, ever */
	int holding; /* the caller holds slot tail - 1 */
	int done;    /* the thread has ended */
	int stop;    /* the caller abandons the walk */
	int result;  /* of the thread's last hs_scan_next */
	int serrno;
};

/* Copy one process into a slot (the thread, outside the lock). */
static int
fill(struct hs_slot *sl, const struct hs_proc *p, const struct hs_mapping *m,
    size_t n)
{
	size_t i, len, need = 0;
	void *np;

	/* A row of mappings sharing one name keeps sharing one copy. */
	for (i = 0; i < n; i++)
		if (m[i].path != NULL && (i == 0 || m[i].path != m[i - 1].path))
			need += strlen(m[i].path) + 1;
	if (n > sl->capmaps) {
		if ((np = reallocarray(sl->maps, n, sizeof(*m))) == NULL)
			return -1;
		sl->maps = np;
		if ((np = reallocarray(sl->off, n, sizeof(*sl->off))) == NULL)
			return -1;
		sl->off = np;
		sl->capmaps = n;
	}
	if (need > sl->namescap) {
		if ((np = realloc(sl->names, need)) == NULL)
			return -1;
		sl->names = np;
		sl->namescap = need;
	}
	sl->proc = *p;
	sl->nmaps = n;
	sl->nameslen = 0;
	for (i = 0; i < n; i++) {
		sl->maps[i] = m[i];
		sl->off[i] = SIZE_MAX;
		if (m[i].path == NULL)
			continue;
		if (i > 0 && m[i].path == m[i - 1].path) {
			sl->off[i] = sl->off[i - 1];
			continue;
		}
		len = strlen(m[i].path) + 1;
		memcpy(sl->names + sl->nameslen, m[i].path, len);
		sl->off[i] = sl->nameslen; /* names may still move */
		sl->nameslen += len;
	}
	return 0;
}

static void *
run(void *arg)
{
	struct hs_par *par = arg;
	const struct hs_mapping *m;
	const struct hs_proc *p;
	size_t n;
	int r;

	for (;;) {
		r = hs_scan_next(par->sub, &p, &m, &n);
		pthread_mutex_lock(&par->mu);
		while (r == 1 && !par->stop &&
		    par->head - par->tail + par->holding >= SLOTS)
			pthread_cond_wait(&par->cv, &par->mu);
		if (r == 1 && !par->stop) {
			pthread_mutex_unlock(&par->mu);
			if (fill(&par->slot[par->head % SLOTS], p, m, n) == -1)
				r = -1;
			pthread_mutex_lock(&par->mu);
			if (r == 1)
				par->head++;
		}
		if (r != 1 || par->stop) {
			par->done = 1;
			par->result = par->stop ? 0 : r;
			par->serrno = errno;
			pthread_cond_broadcast(&par->cv);
			pthread_mutex_unlock(&par->mu);
			return NULL;
		}
		pthread_cond_broadcast(&par->cv);
		pthread_mutex_unlock(&par->mu);
	}
}

/* Worth a thread: a walk over all of /proc with CPUs to spare. */
static int
worth_it(const struct hs_scan *s)
{
	return !(s->flags & HS_SCAN_SERIAL) && s->npids == 0 &&
	    (s->walk == HS_WALK_WHO || s->walk == HS_WALK_STALE) &&
	    sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

/*
 * Start the thread for the walk s has just begun, if worth it.  Any
 * failure leaves the walk serial: slower, never wrong.
 */
void
hs_par_start(struct hs_scan *s)
{
	struct hs_par *par;
	int ok;

	if (!worth_it(s) || (par = calloc(1, sizeof(*par))) == NULL)
		return;
	if ((par->sub = hs_scan_open(s->flags | HS_SCAN_SERIAL)) == NULL)
		goto fail;
	par->sub->part = 1;
	par->sub->nparts = 2;
	ok = s->walk == HS_WALK_WHO ? hs_scan_who_ids(par->sub, s) :
				      hs_scan_stale(par->sub, NULL, 0);
	if (ok == -1)
		goto fail;
	pthread_mutex_init(&par->mu, NULL);
	pthread_cond_init(&par->cv, NULL);
	if (pthread_create(&par->thread, NULL, run, par) != 0) {
		pthread_cond_destroy(&par->cv);
		pthread_mutex_destroy(&par->mu);
		goto fail;
	}
	s->part = 0;
	s->nparts = 2;
	s->par = par;
	return;
fail:
	hs_scan_free(par->sub);
	free(par);
}

/*
 * The thread's next process: 1 and set, or 0 if none is ready (with
 * *over set when there will be no more: the walk of the thread ended,
 * its result in *result).  With wait, block until one is ready or the
 * thread ends.
 */
int
hs_par_take(struct hs_scan *s, int wait, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n, int *over, int *result)
{
	struct hs_par *par = s->par;
	struct hs_slot *sl;
	size_t i;

	pthread_mutex_lock(&par->mu);
	if (par->holding) {
		par->holding = 0; /* the caller is done with it */
		pthread_cond_broadcast(&par->cv);
	}
	while (wait && par->head == par->tail && !par->done)
		pthread_cond_wait(&par->cv, &par->mu);
	*over = par->head == par->tail && par->done;
	*result = par->result;
	errno = par->serrno;
	if (par->head == par->tail) {
		pthread_mutex_unlock(&par->mu);
		return 0;
	}
	sl = &par->slot[par->tail++ % SLOTS];
	par->holding = 1;
	pthread_mutex_unlock(&par->mu);
	for (i = 0; i < sl->nmaps; i++)
		sl->maps[i].path = sl->off[i] == SIZE_MAX ?
		    NULL :
		    sl->names + sl->off[i];
	*proc = &sl->proc;
	*maps = sl->maps;
	*n = sl->nmaps;
	return 1;
}

/* Stop the thread (if it still runs), add its counters, free it all. */
void
hs_par_end(struct hs_scan *s)
{
	struct hs_par *par = s->par;
	const struct hs_scan_stats *st;
	size_t i;

	if (par == NULL)
		return;
	pthread_mutex_lock(&par->mu);
	par->stop = 1;
	pthread_cond_broadcast(&par->cv);
	pthread_mutex_unlock(&par->mu);
	(void)pthread_join(par->thread, NULL);
	st = hs_scan_stats(par->sub);
	s->st.inspected += st->inspected;
	s->st.uninspectable += st->uninspectable;
	s->st.vanished += st->vanished;
	s->st.unresolved += st->unresolved;
	s->st.incomplete |= st->incomplete;
	s->st.used_ioctl |= st->used_ioctl;
	hs_scan_free(par->sub);
	for (i = 0; i < SLOTS; i++) {
		free(par->slot[i].maps);
		free(par->slot[i].off);
		free(par->slot[i].names);
	}
	pthread_cond_destroy(&par->cv);
	pthread_mutex_destroy(&par->mu);
	free(par);
	s->par = NULL;
	s->part = 0;
	s->nparts = 0;
}

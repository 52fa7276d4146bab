/*
 * cut.c - the power cuts: for each cut point (after event N of the log,
 * N = 0 .. number of events), every state the persistence model allows
 * (powercut.h) is computed by replaying the seed, written out, and
 * handed to the checker.  A state the checker has judged once, with the
 * same "command finished" flag, is not judged again: its verdict is
 * reused, so the checker must go by the state and POWERCUT_FINAL alone.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "powercut.h"

#define NEVER	((size_t)-1)
#define OUT_MAX 4096 /* bytes of a checker's output kept */

struct verdict {
	uint64_t h[2];
	int final;
	int ok;
	char *out; /* what the checker said */
};

struct cutter {
	const struct pc_log *log;
	const struct pc_opts *o;
	int status;
	size_t *dur_at; /* event that makes it durable */
	struct verdict *v;
	size_t nv;
	int statefd;
	struct pc_tally *t;
	time_t started; /* with our pid, names the run */
};

static int
is_sync(enum pc_kind k)
{
	return k == PC_FSYNC || k == PC_FDATASYNC || k == PC_FSYNCDIR;
}

static int
is_data(enum pc_kind k)
{
	return k == PC_WRITE || k == PC_TRUNCATE;
}

/* Does sync event s make the change of kind k to object obj durable? */
static int
covers(const struct pc_event *s, uint32_t obj, enum pc_kind k)
{
	if (s->ino != obj)
		return 0;
	if (s->kind == PC_FDATASYNC)
		return is_data(k);
	return 1;
}

/* The first sync after event k that covers its change to obj. */
static size_t
first_cover(const struct pc_log *log, size_t k, uint32_t obj)
{
	size_t s;

	if (obj == PC_NONE)
		return NEVER;
	for (s = k + 1; s < log->n; s++)
		if (is_sync(log->ev[s].kind) &&
		    covers(&log->ev[s], obj, log->ev[k].kind))
			return s;
	return NEVER;
}

/*
 * The event after which event k is durable: an entry operation's objects
 * are its directories (a rename between two needs both synced), an
 * inode operation's is the inode.
 */
static size_t
durable_at(const struct pc_log *log, size_t k)
{
	const struct pc_event *ev = &log->ev[k];
	size_t a, b;

	if (is_sync(ev->kind))
		return k;
	if (ev->kind >= PC_WRITE)
		return first_cover(log, k, ev->ino);
	a = first_cover(log, k, ev->dir);
	if (ev->kind != PC_RENAME || ev->dir2 == ev->dir)
		return a;
	b = first_cover(log, k, ev->dir2);
	return a == NEVER || b == NEVER ? NEVER : (a > b ? a : b);
}

/* Read the checker's output, keeping the first OUT_MAX bytes. */
static char *
slurp(int fd)
{
	char *buf = pc_xalloc(NULL, OUT_MAX + 1, 1), junk[512];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, len < OUT_MAX ? buf + len : junk,
		    len < OUT_MAX ? OUT_MAX - len : sizeof(junk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < OUT_MAX)
			len += (size_t)n;
	}
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	return buf;
}

static void
checker_child(const struct cutter *c, int out, size_t cut, int final)
{
	char script[8192], num[32];

	if (dup2(out, 1) == -1 || dup2(out, 2) == -1 ||
	    fchdir(c->statefd) == -1)
		_exit(126);
	(void)snprintf(num, sizeof(num), "%zu", cut);
	(void)setenv("POWERCUT_CUT", num, 1);
	(void)snprintf(num, sizeof(num), "%zu", c->log->n);
	(void)setenv("POWERCUT_EVENTS", num, 1);
	(void)setenv("POWERCUT_FINAL", final ? "1" : "0", 1);
	(void)snprintf(num, sizeof(num), "%d", c->status);
	(void)setenv("POWERCUT_STATUS", num, 1);
	(void)setenv("POWERCUT_MODE", c->o->prefix ? "prefix" : "drop", 1);
	(void)snprintf(num, sizeof(num), "%ld.%lld", (long)getppid(),
	    (long long)c->started);
	(void)setenv("POWERCUT_RUN", num, 1);
	(void)snprintf(script, sizeof(script), "%s \"$1\"", c->o->check);
	execl("/bin/sh", "sh", "-c", script, "powercut", c->o->statedir,
	    (char *)NULL);
	_exit(127);
}

/* Run the checker on what the state directory holds: 1 ok, 0 rejected. */
static int
check(const struct cutter *c, size_t cut, int final, char **out)
{
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0)
		checker_child(c, p[1], cut, final);
	(void)close(p[1]);
	*out = slurp(p[0]);
	(void)close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The verdict on state m, from the cache or from the checker. */
static const struct verdict *
judge(struct cutter *c, const struct pc_model *m, size_t cut, int final)
{
	struct verdict v = { .final = final };
	size_t i;

	pc_model_hash(m, v.h);
	for (i = 0; i < c->nv; i++)
		if (c->v[i].h[0] == v.h[0] && c->v[i].h[1] == v.h[1] &&
		    c->v[i].final == final)
			return &c->v[i];
	if (pc_rm_tree(c->statefd, ".") == -1 ||
	    pc_model_write(m, c->statefd, NULL) == -1 ||
	    (v.ok = check(c, cut, final, &v.out)) == -1)
		return NULL;
	c->v = pc_xalloc(c->v, c->nv + 1, sizeof(*c->v));
	c->v[c->nv] = v;
	c->t->distinct++;
	return &c->v[c->nv++];
}

/* The state after cut: durable events, and the first keep others. */
static void
replay(const struct cutter *c, size_t cut, size_t keep, struct pc_model *m)
{
	size_t k, others = 0;

	(void)pc_model_copy(m, &c->log->seed);
	for (k = 0; k < cut; k++) {
		if (is_sync(c->log->ev[k].kind))
			continue;
		if (c->dur_at[k] >= cut && others++ >= keep)
			continue;
		(void)pc_model_apply(m, &c->log->ev[k]);
	}
}

static void
say_state(const struct cutter *c, const struct verdict *v, size_t keep,
    size_t others)
{
	const char *nl = strchr(v->out, '\n');
	int len = nl != NULL ? (int)(nl - v->out) : (int)strlen(v->out);

	if (v->ok && !c->o->verbose)
		return;
	printf("  %s: %zu of %zu unsynced events kept: %.*s\n",
	    v->ok ? "ok" : "rejected", keep, others, len, v->out);
	if (!v->ok && nl != NULL)
		printf("    %s\n", nl + 1);
}

/*
 * Every state of one cut point: one line, then one per rejected state
 * (per state with -v); -1 on a failure to judge one.
 */
static int
one_cut(struct cutter *c, size_t cut)
{
	size_t k, others = 0, keep, n, bad = 0, *vi;
	int final = cut == c->log->n;
	const struct verdict *v;
	struct pc_model m;

	for (k = 0; k < cut; k++)
		if (!is_sync(c->log->ev[k].kind) && c->dur_at[k] >= cut)
			others++;
	n = c->o->prefix ? others + 1 : 1;
	vi = pc_xalloc(NULL, n, sizeof(*vi));
	for (keep = 0; keep < n; keep++) {
		replay(c, cut, keep, &m);
		v = judge(c, &m, cut, final);
		pc_model_free(&m);
		if (v == NULL) {
			free(vi);
			return -1;
		}
		vi[keep] = (size_t)(v - c->v);
		bad += !v->ok;
	}
	printf("cut %zu/%zu %s%s%s: %zu state%s, %zu rejected\n", cut,
	    c->log->n, cut == 0 ? "before any event" : "after ",
	    cut == 0 ? "" : c->log->ev[cut - 1].desc,
	    final ? " (the command has exited)" : "", n, n == 1 ? "" : "s",
	    bad);
	for (keep = 0; keep < n; keep++)
		say_state(c, &c->v[vi[keep]], keep, others);
	free(vi);
	c->t->states += n;
	c->t->rejected += bad;
	c->t->cuts++;
	return 0;
}

/*
 * Cut at every point (or o->at), judge every state; status is the
 * command's wait status, passed on to the checker.
 */
int
pc_cut_all(const struct pc_log *log, int status, const struct pc_opts *o,
    struct pc_tally *t)
{
	struct cutter c = { log, o, status, NULL, NULL, 0, -1, t, time(NULL) };
	size_t k, i;
	int ret = -1;

	c.statefd = open(o->statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.statefd == -1)
		return -1;
	c.dur_at = pc_xalloc(NULL, log->n, sizeof(*c.dur_at));
	for (k = 0; k < log->n; k++)
		c.dur_at[k] = durable_at(log, k);
	for (k = 0; k <= log->n; k++)
		if ((o->at < 0 || (size_t)o->at == k) && one_cut(&c, k) == -1)
			goto out;
	ret = 0;
out:
	for (i = 0; i < c.nv; i++)
		free(c.v[i].out);
	free(c.v);
	free(c.dur_at);
	(void)close(c.statefd);
	return ret;
}

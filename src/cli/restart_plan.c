/*
 * restart_plan.c - what hotswap restart does: the stale processes by
 * unit and class (from hs_scan_stale()), which services the deny list
 * keeps, the order systemd's dependencies give, and the check after each
 * restart that the new main process no longer maps the old files.
 *
 * systemd says which unit depends on which (systemctl show: After=,
 * Requires=, BindsTo=, Requisite=); a service is restarted after every
 * planned one it depends on, ties broken by name so that a run is
 * repeatable.  A cycle (systemd breaks those too) is cut at the first
 * name.
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "restart.h"

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if ((p = reallocarray(p, n, size)) == NULL)
		err(HS_EXIT_USAGE, NULL);
	return p;
}

/* The group of p: its unit's, or a new one. */
static struct runit *
group_of(struct rplan *pl, const struct hs_proc *p, int cls)
{
	struct runit *u;
	size_t i;

	if (cls != HS_CLASS_PID1 && p->unit[0] != '\0')
		for (i = 0; i < pl->n; i++)
			if (pl->u[i].cls == cls &&
			    strcmp(pl->u[i].unit, p->unit) == 0)
				return &pl->u[i];
	pl->u = xreallocarray(pl->u, pl->n + 1, sizeof(*pl->u));
	u = &pl->u[pl->n++];
	memset(u, 0, sizeof(*u));
	if (cls != HS_CLASS_PID1)
		(void)strlcpy(u->unit, p->unit, sizeof(u->unit));
	u->cls = cls;
	u->state = cls == HS_CLASS_SERVICE ? ST_PLANNED : ST_NOTSERVICE;
	(void)strlcpy(u->comm, p->comm, sizeof(u->comm));
	u->uid = p->uid;
	return u;
}

static void
add_file(struct runit *u, const struct hs_mapping *m)
{
	size_t i;

	for (i = 0; i < u->nfiles; i++)
		if (u->files[i].dev == m->dev && u->files[i].ino == m->ino)
			return;
	u->files = xreallocarray(u->files, u->nfiles + 1, sizeof(*u->files));
	u->files[u->nfiles].dev = m->dev;
	u->files[u->nfiles].ino = m->ino;
	if ((u->files[u->nfiles].path = strdup(m->path)) == NULL)
		err(HS_EXIT_USAGE, NULL);
	u->nfiles++;
}

static int
wanted(const char *unit, char *const *units, size_t nunits)
{
	size_t i;

	if (units == NULL)
		return 1;
	for (i = 0; i < nunits; i++)
		if (strcmp(units[i], unit) == 0)
			return 1;
	return 0;
}

static struct hs_scan *
scan_start(const pid_t *pids, size_t npids)
{
	struct hs_scan *s;

	if ((s = hs_scan_open(0)) == NULL ||
	    hs_scan_stale(s, pids, npids) == -1)
		err(HS_EXIT_USAGE, "cannot scan processes");
	return s;
}

void
plan_gather(struct rplan *pl, char *const *units, size_t nunits)
{
	const struct hs_mapping *m;
	const struct hs_proc *p;
	struct hs_scan *s;
	struct runit *u;
	size_t n, i;
	int r;

	memset(pl, 0, sizeof(*pl));
	s = scan_start(NULL, 0);
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		if (!wanted(p->unit, units, nunits))
			continue;
		u = group_of(pl, p, p->cls);
		u->pids = xreallocarray(u->pids, u->npids + 1,
		    sizeof(*u->pids));
		u->pids[u->npids++] = p->pid;
		for (i = 0; i < n; i++)
			add_file(u, &m[i]);
	}
	if (r == -1)
		err(HS_EXIT_USAGE, "cannot scan processes");
	pl->stats = *hs_scan_stats(s);
	hs_scan_free(s);
}

void
plan_deny(struct rplan *pl, const struct denylist *d)
{
	const struct deny *e;
	size_t i;

	for (i = 0; i < pl->n; i++) {
		if (pl->u[i].state != ST_PLANNED)
			continue;
		if ((e = deny_match(d, pl->u[i].unit)) != NULL) {
			pl->u[i].state = ST_DENIED;
			pl->u[i].reason = e->reason;
			pl->u[i].origin = e->origin;
		}
	}
}

/* The group of a planned unit named [s, s + n), or NULL. */
static struct runit *
planned(struct rplan *pl, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (pl->u[i].state == ST_PLANNED &&
		    strlen(pl->u[i].unit) == n &&
		    memcmp(pl->u[i].unit, s, n) == 0)
			return &pl->u[i];
	return NULL;
}

/* Add the planned units of a space-separated list as deps of u. */
static void
add_deps(struct rplan *pl, struct runit *u, const char *v, const char *end)
{
	const char *w;
	struct runit *d;

	while (v < end) {
		while (v < end && *v == ' ')
			v++;
		for (w = v; w < end && *w != ' '; w++)
			;
		if (w > v && (d = planned(pl, v, (size_t)(w - v))) != NULL &&
		    d != u) {
			u->deps = xreallocarray(u->deps, u->ndeps + 1,
			    sizeof(*u->deps));
			u->deps[u->ndeps++] = d->unit;
		}
		v = w;
	}
}

/* u is denied if any of its names (aliases: display-manager.service) is. */
static void
deny_names(struct runit *u, const struct denylist *d, const char *v,
    const char *end)
{
	char name[256];
	const struct deny *e;
	const char *w;

	while (v < end && u->state == ST_PLANNED) {
		while (v < end && *v == ' ')
			v++;
		for (w = v; w < end && *w != ' '; w++)
			;
		if (w > v && (size_t)(w - v) < sizeof(name)) {
			memcpy(name, v, (size_t)(w - v));
			name[w - v] = '\0';
			if ((e = deny_match(d, name)) != NULL) {
				u->state = ST_DENIED;
				u->reason = e->reason;
				u->origin = e->origin;
			}
		}
		v = w;
	}
}

/* One "Key=value" line of systemctl show about unit u (may be NULL). */
static void
show_line(struct rplan *pl, const struct denylist *d, struct runit **u,
    const char *s, const char *nl)
{
	static const char *const deps[] = { "After=", "Requires=", "BindsTo=",
		"Requisite=" };
	size_t i, k;

	if (strncmp(s, "Id=", 3) == 0) {
		*u = planned(pl, s + 3, (size_t)(nl - s - 3));
		return;
	}
	if (*u == NULL)
		return;
	if (strncmp(s, "Names=", 6) == 0)
		deny_names(*u, d, s + 6, nl);
	for (i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
		k = strlen(deps[i]);
		if (strncmp(s, deps[i], k) == 0)
			add_deps(pl, *u, s + k, nl);
	}
	if (strncmp(s, "RefuseManualStop=yes", 20) == 0 && s + 20 == nl) {
		(*u)->state = ST_DENIED;
		(*u)->reason = "systemd refuses to stop it by request "
			       "(RefuseManualStop=yes)";
		(*u)->origin = "the unit";
	}
}

/* The end of the block of lines at s: past its blank line, or the end. */
static char *
block_end(char *s)
{
	char *e = strstr(s, "\n\n");

	return e != NULL ? e + 2 : s + strlen(s);
}

/* One unit's block [s, end): its Id= first, wherever it is. */
static void
show_block(struct rplan *pl, const struct denylist *d, const char *s,
    const char *end)
{
	struct runit *u = NULL;
	const char *l, *nl;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (l = s; l < end; l = nl + 1) {
			if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
				nl = end;
			if ((strncmp(l, "Id=", 3) == 0) == (pass == 0))
				show_line(pl, d, &u, l, nl);
			if (nl == end)
				break;
		}
}

/*
 * Ask systemd about every planned service in one call; the answer is a
 * block of lines per unit, in the order asked, each with its Id=.  Deny
 * the ones whose other names are denied, or that systemd will not stop.
 */
int
plan_show(struct rplan *pl, const struct denylist *d, const char *systemctl)
{
	const char **args;
	char *out, *s;
	size_t i, k = 0;
	int rc;

	args = xreallocarray(NULL, pl->n + 6, sizeof(*args));
	args[k++] = systemctl;
	args[k++] = "show";
	args[k++] = "--property=Id,Names,After,Requires,BindsTo,Requisite,"
		    "RefuseManualStop";
	args[k++] = "--";
	for (i = 0; i < pl->n; i++)
		if (pl->u[i].state == ST_PLANNED)
			args[k++] = pl->u[i].unit;
	args[k] = NULL;
	if (k == 4) {
		free(args);
		return 0;
	}
	rc = systemctl_run(systemctl, args, &out);
	free(args);
	if (rc != 0) {
		if (rc == -1)
			warn("cannot run '%s'", vis_path(systemctl));
		else
			warnx("'%s show' exited with status %d",
			    vis_path(systemctl), rc);
		free(out);
		return -1;
	}
	for (s = out; *s != '\0'; s = block_end(s))
		show_block(pl, d, s, block_end(s));
	free(out);
	return 0;
}

/* Every planned dep of u is done (or is no longer planned). */
static int
ready(const struct rplan *pl, const struct runit *u, const char *done)
{
	size_t i, j;

	for (i = 0; i < u->ndeps; i++)
		for (j = 0; j < pl->n; j++)
			if (pl->u[j].unit == u->deps[i] &&
			    pl->u[j].state == ST_PLANNED && !done[j])
				return 0;
	return 1;
}

void
plan_order(struct rplan *pl)
{
	char *done;
	size_t i, best, left = 0;
	int any;

	done = xreallocarray(NULL, pl->n + 1, 1);
	memset(done, 0, pl->n + 1);
	pl->order = xreallocarray(NULL, pl->n + 1, sizeof(*pl->order));
	for (i = 0; i < pl->n; i++)
		left += pl->u[i].state == ST_PLANNED;
	while (pl->norder < left) {
		best = SIZE_MAX;
		for (any = 0; any < 2 && best == SIZE_MAX; any++)
			for (i = 0; i < pl->n; i++)
				if (pl->u[i].state == ST_PLANNED && !done[i] &&
				    (any || ready(pl, &pl->u[i], done)) &&
				    (best == SIZE_MAX ||
					strcmp(pl->u[i].unit,
					    pl->u[best].unit) < 0))
					best = i;
		if (any == 2)
			pl->cycle = 1;
		done[best] = 1;
		pl->order[pl->norder++] = best;
	}
	free(done);
}

/* The file of u with the id of m, or NULL. */
static const struct rfile *
old_file(const struct runit *u, const struct hs_mapping *m)
{
	size_t i;

	for (i = 0; i < u->nfiles; i++)
		if (u->files[i].dev == m->dev && u->files[i].ino == m->ino)
			return &u->files[i];
	return NULL;
}

/* The first old file of u that one of pids still maps, or NULL. */
static const struct rfile *
still_mapped(const struct runit *u, const pid_t *pids, size_t npids,
    int same_unit)
{
	const struct hs_mapping *m;
	const struct hs_proc *p;
	const struct rfile *f = NULL;
	struct hs_scan *s;
	size_t n, i;
	int r;

	s = scan_start(pids, npids);
	while (f == NULL && (r = hs_scan_next(s, &p, &m, &n)) == 1) {
		if (same_unit && u->cls != HS_CLASS_PID1 &&
		    strcmp(p->unit, u->unit) != 0)
			continue;
		for (i = 0; i < n && f == NULL; i++)
			f = old_file(u, &m[i]);
	}
	hs_scan_free(s);
	return f;
}

int
plan_still_stale(const struct runit *u)
{
	return still_mapped(u, u->pids, u->npids, 1) != NULL;
}

/* The main pid systemd has for u now: > 0, 0 for none, -1 not known. */
static pid_t
main_pid(const struct runit *u, const char *systemctl)
{
	const char *args[] = { systemctl, "show", "--property=MainPID",
		"--value", "--", u->unit, NULL };
	const char *errstr;
	char *out;
	pid_t pid;

	if (systemctl_run(systemctl, args, &out) != 0) {
		free(out);
		return -1;
	}
	out[strcspn(out, "\n")] = '\0';
	pid = (pid_t)strtonum(out, 0, INT32_MAX, &errstr);
	free(out);
	return errstr != NULL ? -1 : pid;
}

int
plan_verify(struct runit *u, const char *systemctl)
{
	const char *args[] = { systemctl, "show", "--property=Version", NULL };
	const struct rfile *f;
	char *out;

	if (u->cls == HS_CLASS_PID1) {
		/* Once the new manager answers, it has been exec'd. */
		(void)systemctl_run(systemctl, args, &out);
		free(out);
		u->newpid = 1;
	} else if ((u->newpid = main_pid(u, systemctl)) <= 0) {
		u->state = ST_FAILED;
		u->reason = u->newpid == 0 ?
		    "no main process after the restart" :
		    "systemd did not say its main "
		    "process";
		return -1;
	}
	if ((f = still_mapped(u, &u->newpid, 1, 0)) != NULL) {
		u->state = ST_UNVERIFIED;
		u->still = f->path;
		return -1;
	}
	return 0;
}

unsigned long
plan_left(char *const *units, size_t nunits, struct hs_scan_stats *st)
{
	const struct hs_mapping *m;
	const struct hs_proc *p;
	struct hs_scan *s;
	unsigned long left = 0;
	size_t n;

	s = scan_start(NULL, 0);
	while (hs_scan_next(s, &p, &m, &n) == 1)
		left += wanted(p->unit, units, nunits);
	*st = *hs_scan_stats(s);
	hs_scan_free(s);
	return left;
}

void
plan_free(struct rplan *pl)
{
	size_t i, j;

	for (i = 0; i < pl->n; i++) {
		for (j = 0; j < pl->u[i].nfiles; j++)
			free(pl->u[i].files[j].path);
		free(pl->u[i].files);
		free(pl->u[i].pids);
		free(pl->u[i].deps);
	}
	free(pl->u);
	free(pl->order);
	memset(pl, 0, sizeof(*pl));
}

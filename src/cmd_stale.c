/*
 * cmd_stale.c - hotswap stale: the processes that still map a file whose
 * name now names another file or nothing, grouped by process; or, with
 * --unit, the systemd units to restart.
 */
#include <sys/sysmacros.h>
#include <bsd/stdlib.h>
#include <err.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "cmd.h"

enum {
	OPT_JSON = 256,
	OPT_UNIT,
	OPT_VERSION,
};

static const struct option stale_longopts[] = {
	{ "help",	no_argument,		NULL, 'h' },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "pid",	required_argument,	NULL, 'p' },
	{ "unit",	no_argument,		NULL, OPT_UNIT },
	{ "version",	no_argument,		NULL, OPT_VERSION },
	{ NULL,		0,			NULL, 0 }
};

struct stale_args {
	int		 json;
	int		 unit;
	pid_t		*pids;
	size_t		 npids;
	size_t		 cappids;
	char		**units;	/* --unit: printed so far */
	size_t		 nunits;
};

/* -p PID or -p PID,PID,...; -1 on a bad number (said). */
static int
add_pids(struct stale_args *a, const char *arg)
{
	char *copy, *tok, *save = NULL;
	const char *errstr;
	pid_t *np;
	int r = 0;

	if ((copy = strdup(arg)) == NULL)
		err(HS_EXIT_USAGE, NULL);
	for (tok = strtok_r(copy, ",", &save); tok != NULL && r == 0;
	    tok = strtok_r(NULL, ",", &save)) {
		if (a->npids == a->cappids) {
			a->cappids = a->cappids ? a->cappids * 2 : 8;
			np = reallocarray(a->pids, a->cappids, sizeof(*np));
			if (np == NULL)
				err(HS_EXIT_USAGE, NULL);
			a->pids = np;
		}
		a->pids[a->npids] = (pid_t)strtonum(tok, 1, INT32_MAX, &errstr);
		if (errstr != NULL) {
			warnx("invalid process id '%s'", vis_path(tok));
			r = -1;
		} else
			a->npids++;
	}
	free(copy);
	return r;
}

/*
 * The files of one process, each once: the mappings of one file come
 * in a row, but a file may be mapped again further on.  first[i] is 1
 * for the first mapping of its file; kind[i] the union of its kinds.
 */
static int
same_file(const struct hs_mapping *x, const struct hs_mapping *y)
{
	return x->dev == y->dev && x->ino == y->ino &&
	    strcmp(x->path, y->path) == 0;
}

static unsigned int
file_kinds(const struct hs_mapping *m, size_t n, size_t i, int *first)
{
	unsigned int kind = 0;
	size_t j;

	*first = 1;
	for (j = 0; j < i; j++)
		if (same_file(&m[j], &m[i]))
			*first = 0;
	for (j = i; j < n; j++)
		if (same_file(&m[j], &m[i]))
			kind |= m[j].kind;
	return kind;
}

static const char *
why(unsigned int kind)
{
	return kind & HS_MAP_DELETED ? "deleted" : "replaced";
}

static void
print_human(const struct hs_proc *p, const struct hs_mapping *m, size_t n)
{
	unsigned int kind;
	size_t i;
	int first;

	printf("%d %s %s", (int)p->pid, vis_path(user_label(p->uid)),
	    vis_path(p->comm));
	if (p->unit[0] != '\0')
		printf(" unit %s", vis_path(p->unit));
	if (p->other_mntns == 1)
		fputs(" (other mount namespace)", stdout);
	putchar('\n');
	for (i = 0; i < n; i++) {
		kind = file_kinds(m, n, i, &first);
		if (!first)
			continue;
		printf("\t%-8s '%s' (", why(kind), vis_path(m[i].path));
		print_kinds(stdout, kind & ~(HS_MAP_DELETED | HS_MAP_REPLACED));
		puts(")");
	}
}

static void
print_json_file(const struct hs_mapping *m, size_t n, size_t i,
    unsigned int kind)
{
	size_t j;
	int sep = 0;

	fputs("{\"path\":", stdout);
	json_string(stdout, m[i].path);
	printf(",\"why\":\"%s\",\"dev\":\"%u:%u\",\"ino\":%llu,\"kind\":",
	    why(kind), major(m[i].dev), minor(m[i].dev),
	    (unsigned long long)m[i].ino);
	json_kinds(stdout, kind & ~(HS_MAP_DELETED | HS_MAP_REPLACED));
	fputs(",\"maps\":[", stdout);
	for (j = i; j < n; j++) {
		if (!same_file(&m[j], &m[i]))
			continue;
		printf("%s{\"start\":\"%#llx\",\"end\":\"%#llx\","
		    "\"offset\":%llu}", sep++ ? "," : "",
		    (unsigned long long)m[j].start,
		    (unsigned long long)m[j].end,
		    (unsigned long long)m[j].offset);
	}
	fputs("]}", stdout);
}

static void
print_json_proc(int firstproc, const struct hs_proc *p,
    const struct hs_mapping *m, size_t n)
{
	unsigned int kind;
	size_t i;
	int first, sep = 0;

	printf("%s{", firstproc ? "" : ",");
	json_proc(stdout, p);
	fputs(",\"files\":[", stdout);
	for (i = 0; i < n; i++) {
		kind = file_kinds(m, n, i, &first);
		if (!first)
			continue;
		if (sep++)
			putchar(',');
		print_json_file(m, n, i, kind);
	}
	fputs("]}", stdout);
}

/* --unit: each unit once; a process without one is counted. */
static void
print_unit(struct stale_args *a, const struct hs_proc *p,
    unsigned long *nounit)
{
	char **nu;
	size_t i;

	if (p->unit[0] == '\0') {
		(*nounit)++;
		return;
	}
	for (i = 0; i < a->nunits; i++)
		if (strcmp(a->units[i], p->unit) == 0)
			return;
	nu = reallocarray(a->units, a->nunits + 1, sizeof(*nu));
	if (nu == NULL || (nu[a->nunits] = strdup(p->unit)) == NULL)
		err(HS_EXIT_USAGE, NULL);
	a->units = nu;
	a->nunits++;
	puts(vis_path(p->unit));
}

static int
stale_walk(struct stale_args *a)
{
	const struct hs_mapping *m;
	const struct hs_proc *p;
	struct hs_scan *s;
	unsigned long found = 0, nounit = 0;
	unsigned int flags = scan_flags_from_env() &
	    (HS_SCAN_TEXT | HS_SCAN_SERIAL);
	size_t n;
	int r, status;

	if ((s = hs_scan_open(flags)) == NULL ||
	    hs_scan_stale(s, a->pids, a->npids) == -1)
		err(HS_EXIT_USAGE, "cannot scan processes");
	if (a->json)
		fputs("{\"processes\":[", stdout);
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		if (a->json)
			print_json_proc(found == 0, p, m, n);
		else if (a->unit)
			print_unit(a, p, &nounit);
		else
			print_human(p, m, n);
		found++;
	}
	if (r == -1)
		warn("cannot scan processes");
	if (a->json) {
		printf("],\"unresolved\":%lu,", hs_scan_stats(s)->unresolved);
		json_stats(stdout, hs_scan_stats(s), flags);
		puts("}");
	}
	if (nounit > 0)
		warnx("%lu stale process%s belong%s to no systemd unit",
		    nounit, nounit == 1 ? "" : "es", nounit == 1 ? "s" : "");
	status = scan_status(hs_scan_stats(s), found, 0);
	hs_scan_free(s);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(HS_EXIT_USAGE, "cannot write the output");
	return r == -1 ? HS_EXIT_USAGE : status;
}

int
cmd_stale(int argc, char **argv)
{
	struct stale_args a;
	size_t i;
	int ch, status;

	memset(&a, 0, sizeof(a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hp:", stale_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h': return usage(stdout);
		case 'p':
			if (add_pids(&a, optarg) == 0)
				break;
			free(a.pids);
			return usage(stderr);
		case OPT_JSON: a.json = 1; break;
		case OPT_UNIT: a.unit = 1; break;
		case OPT_VERSION: return version();
		default:
			free(a.pids);
			return usage(stderr);
		}
	}
	if (optind != argc || (a.json && a.unit)) {
		if (a.json && a.unit)
			warnx("--json and --unit cannot be used together");
		free(a.pids);
		return usage(stderr);
	}
	status = stale_walk(&a);
	for (i = 0; i < a.nunits; i++)
		free(a.units[i]);
	free(a.units);
	free(a.pids);
	return status;
}

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
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "pid", required_argument, NULL, 'p' },
	{ "unit", no_argument, NULL, OPT_UNIT },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct stale_args {
	int json;
	int unit;
	pid_t *pids;
	size_t npids;
	size_t cappids;
	char **units; /* --unit: printed so far */
	size_t nunits;
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
 * The files of one process, each once, in the order of their first
 * mappings; a file is a device, an inode and a name.  A process chooses
 * how many mappings it has (tens of thousands), so this is linear: a row
 * of mappings that share one path pointer (hs_scan_stale() promises it)
 * is one file without comparing names, and the others are looked up in
 * a hash table.  Comparing every mapping with every other one took 11
 * minutes for 65,000 mappings of one long name.
 */
struct files {
	size_t *next;	    /* per mapping: the next of its file */
	size_t *first;	    /* per file: its first mapping */
	size_t *last;	    /* per file: its last mapping so far */
	unsigned int *kind; /* per file: the union of the kinds */
	size_t n;
	size_t *slot; /* file + 1, or 0 for an empty slot */
	size_t mask;
};

static int
same_file(const struct hs_mapping *x, const struct hs_mapping *y)
{
	return x->dev == y->dev && x->ino == y->ino &&
	    (x->path == y->path || strcmp(x->path, y->path) == 0);
}

static size_t
file_hash(const struct hs_mapping *m)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	const unsigned char *p;

	for (p = (const unsigned char *)m->path; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h ^= (uint64_t)m->ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)m->dev;
	return (size_t)(h ^ (h >> 29));
}

/* The file of m[i] (prev: that of m[i - 1]): found, or added. */
static size_t
file_of(struct files *f, const struct hs_mapping *m, size_t i, size_t prev)
{
	size_t h;

	if (i > 0 && m[i].path == m[i - 1].path && same_file(&m[i], &m[i - 1]))
		return prev;
	for (h = file_hash(&m[i]) & f->mask; f->slot[h] != 0;
	     h = (h + 1) & f->mask)
		if (same_file(&m[f->first[f->slot[h] - 1]], &m[i]))
			return f->slot[h] - 1;
	f->slot[h] = f->n + 1;
	f->first[f->n] = f->last[f->n] = i;
	f->kind[f->n] = 0;
	return f->n++;
}

static void
files_free(struct files *f)
{
	free(f->next);
	free(f->first);
	free(f->last);
	free(f->kind);
	free(f->slot);
	memset(f, 0, sizeof(*f));
}

/* Group the n mappings m by file; exits on ENOMEM. */
static void
files_group(struct files *f, const struct hs_mapping *m, size_t n)
{
	size_t i, k = 0, nslots = 2;

	memset(f, 0, sizeof(*f));
	while (nslots < 2 * n)
		nslots *= 2;
	f->mask = nslots - 1;
	if ((f->next = calloc(n + 1, sizeof(*f->next))) == NULL ||
	    (f->first = calloc(n + 1, sizeof(*f->first))) == NULL ||
	    (f->last = calloc(n + 1, sizeof(*f->last))) == NULL ||
	    (f->kind = calloc(n + 1, sizeof(*f->kind))) == NULL ||
	    (f->slot = calloc(nslots, sizeof(*f->slot))) == NULL)
		err(HS_EXIT_USAGE, NULL);
	for (i = 0; i < n; i++) {
		k = file_of(f, m, i, k);
		f->next[i] = SIZE_MAX;
		if (f->last[k] != i)
			f->next[f->last[k]] = i;
		f->last[k] = i;
		f->kind[k] |= m[i].kind;
	}
}

static const char *
why(unsigned int kind)
{
	return kind & HS_MAP_DELETED ? "deleted" : "replaced";
}

/* A process over the limits of hs_scan_stale(): say so. */
static void
print_dropped(const struct hs_proc *p)
{
	if (p->dropped > 0)
		printf("\t(%lu more stale mapping%s not listed: the process "
		       "passed the limit of what is kept for one)\n",
		    p->dropped, p->dropped == 1 ? "" : "s");
}

/* The descriptor numbers of file k, after its kinds: " 3, 7". */
static void
print_fds(const struct hs_mapping *m, const struct files *f, size_t k)
{
	const char *sep = " ";
	size_t j;

	for (j = f->first[k]; j != SIZE_MAX; j = f->next[j])
		if (m[j].kind & HS_MAP_FD) {
			printf("%s%llu", sep, (unsigned long long)m[j].offset);
			sep = ", ";
		}
}

static void
print_human(const struct hs_proc *p, const struct hs_mapping *m, size_t n)
{
	struct files f;
	size_t i;

	/* The class before the command name, which the process chooses. */
	printf("%d %s %s %s", (int)p->pid, user_label(p->uid),
	    hs_class_name(p->cls), vis_path(p->comm));
	if (p->unit[0] != '\0')
		printf(" unit %s", vis_path(p->unit));
	if (p->other_mntns == 1)
		fputs(" (other mount namespace)", stdout);
	putchar('\n');
	files_group(&f, m, n);
	for (i = 0; i < f.n; i++) {
		printf("\t%-8s '%s' (", why(f.kind[i]),
		    vis_path(m[f.first[i]].path));
		print_kinds(stdout,
		    f.kind[i] & ~(HS_MAP_DELETED | HS_MAP_REPLACED));
		print_fds(m, &f, i);
		puts(")");
	}
	files_free(&f);
	print_dropped(p);
}

static void
print_json_file(const struct hs_mapping *m, const struct files *f, size_t k)
{
	const struct hs_mapping *x = &m[f->first[k]];
	size_t j;
	int sep = 0;

	fputs("{\"path\":", stdout);
	json_string(stdout, x->path);
	printf(",\"why\":\"%s\",\"dev\":\"%u:%u\",\"ino\":%llu,\"kind\":",
	    why(f->kind[k]), major(x->dev), minor(x->dev),
	    (unsigned long long)x->ino);
	json_kinds(stdout, f->kind[k] & ~(HS_MAP_DELETED | HS_MAP_REPLACED));
	fputs(",\"maps\":[", stdout);
	for (j = f->first[k]; j != SIZE_MAX; j = f->next[j])
		if (!(m[j].kind & (HS_MAP_FD | HS_MAP_SCRIPT)))
			printf("%s{\"start\":\"%#llx\",\"end\":\"%#llx\","
			       "\"offset\":%llu}",
			    sep++ ? "," : "", (unsigned long long)m[j].start,
			    (unsigned long long)m[j].end,
			    (unsigned long long)m[j].offset);
	fputs("],\"fds\":[", stdout);
	sep = 0;
	for (j = f->first[k]; j != SIZE_MAX; j = f->next[j])
		if (m[j].kind & HS_MAP_FD)
			printf("%s%llu", sep++ ? "," : "",
			    (unsigned long long)m[j].offset);
	fputs("]}", stdout);
}

static void
print_json_proc(int firstproc, const struct hs_proc *p,
    const struct hs_mapping *m, size_t n)
{
	struct files f;
	size_t i;

	printf("%s{", firstproc ? "" : ",");
	json_proc(stdout, p);
	printf(",\"class\":\"%s\",\"dropped\":%lu,\"files\":[",
	    hs_class_name(p->cls), p->dropped);
	files_group(&f, m, n);
	for (i = 0; i < f.n; i++) {
		if (i > 0)
			putchar(',');
		print_json_file(m, &f, i);
	}
	files_free(&f);
	fputs("]}", stdout);
}

/* --unit: each unit once; a process without one is counted. */
static void
print_unit(struct stale_args *a, const struct hs_proc *p, unsigned long *nounit)
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
		warnx("%lu stale process%s belong%s to no systemd unit", nounit,
		    nounit == 1 ? "" : "es", nounit == 1 ? "s" : "");
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
	while ((ch = getopt_long(argc, argv, "hp:", stale_longopts, NULL)) !=
	    -1) {
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
		default: free(a.pids); return usage(stderr);
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

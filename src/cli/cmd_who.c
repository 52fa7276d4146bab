/*
 * cmd_who.c - hotswap who: the processes that map FILE now, matched by
 * device and inode (never by name), streamed one process at a time.
 */
#include <sys/sysmacros.h>
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "cmd.h"

enum {
	OPT_JSON = 256,
	OPT_VERSION,
};

static const struct option who_longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct who_args {
	int json;
	int quiet;
	int verbose;
	unsigned int flags; /* hs_scan_open() */
	char **files;
	size_t nfiles;
	struct hs_fileid *ids;
};

/* Identify each FILE; -1 if any cannot be (each said on one line). */
static int
identify(struct who_args *a)
{
	size_t i;
	int r = 0;

	if ((a->ids = calloc(a->nfiles, sizeof(*a->ids))) == NULL)
		err(HS_EXIT_USAGE, NULL);
	for (i = 0; i < a->nfiles; i++)
		if (hs_fileid_path(a->files[i], &a->ids[i]) == -1) {
			warn("cannot identify '%s'", vis_path(a->files[i]));
			r = -1;
		}
	return r;
}

/* One human line per file the process maps; with -v, its ranges. */
static void
print_human(const struct who_args *a, const struct hs_proc *p,
    const struct hs_mapping *m, size_t n)
{
	unsigned int kind;
	size_t f, i;

	for (f = 0; f < a->nfiles; f++) {
		kind = 0;
		for (i = 0; i < n; i++)
			if (m[i].which == f)
				kind |= m[i].kind;
		if (kind == 0)
			continue;
		printf("%7d %-8s %-15s ", (int)p->pid, user_label(p->uid),
		    vis_path(p->comm));
		print_kinds(stdout, kind);
		printf(": '%s'\n", vis_path(a->files[f]));
		for (i = 0; a->verbose && i < n; i++) {
			if (m[i].which != f)
				continue;
			printf("\t%08llx-%08llx at %#llx: ",
			    (unsigned long long)m[i].start,
			    (unsigned long long)m[i].end,
			    (unsigned long long)m[i].offset);
			print_kinds(stdout, m[i].kind);
			putchar('\n');
		}
	}
}

static void
print_json_proc(int first, const struct hs_proc *p, const struct hs_mapping *m,
    size_t n)
{
	size_t i;

	printf("%s{", first ? "" : ",");
	json_proc(stdout, p);
	fputs(",\"kinds\":", stdout);
	json_kinds(stdout, p->kinds);
	fputs(",\"maps\":[", stdout);
	for (i = 0; i < n; i++) {
		printf("%s{\"file\":%zu,\"kind\":", i == 0 ? "" : ",",
		    m[i].which);
		json_kinds(stdout, m[i].kind);
		printf(",\"start\":\"%#llx\",\"end\":\"%#llx\","
		       "\"offset\":%llu}",
		    (unsigned long long)m[i].start,
		    (unsigned long long)m[i].end,
		    (unsigned long long)m[i].offset);
	}
	fputs("]}", stdout);
}

static void
print_json_files(const struct who_args *a)
{
	size_t i;

	fputs("{\"files\":[", stdout);
	for (i = 0; i < a->nfiles; i++) {
		printf("%s{\"path\":", i == 0 ? "" : ",");
		json_string(stdout, a->files[i]);
		printf(",\"dev\":\"%u:%u\",\"ino\":%llu}", major(a->ids[i].dev),
		    minor(a->ids[i].dev), (unsigned long long)a->ids[i].ino);
	}
	fputs("],\"processes\":[", stdout);
}

/* The walk; returns the exit status. */
static int
who_walk(struct who_args *a)
{
	const struct hs_mapping *m;
	const struct hs_proc *p;
	struct hs_scan *s;
	unsigned long found = 0;
	size_t n;
	int r, status;

	if ((s = hs_scan_open(a->flags)) == NULL ||
	    hs_scan_who(s, a->ids, a->nfiles) == -1)
		err(HS_EXIT_USAGE, "cannot scan processes");
	if (a->json)
		print_json_files(a);
	while ((r = hs_scan_next(s, &p, &m, &n)) == 1) {
		if (a->json)
			print_json_proc(found == 0, p, m, n);
		else if (!a->quiet)
			print_human(a, p, m, n);
		found++;
		if (a->quiet)
			break; /* one is enough to answer */
	}
	if (r == -1)
		warn("cannot scan processes");
	if (a->json) {
		fputs("],", stdout);
		json_stats(stdout, hs_scan_stats(s), a->flags);
		puts("}");
	}
	status = scan_status(hs_scan_stats(s), found, a->quiet);
	hs_scan_free(s);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(HS_EXIT_USAGE, "cannot write the output");
	return r == -1 ? HS_EXIT_USAGE : status;
}

int
cmd_who(int argc, char **argv)
{
	struct who_args a;
	int ch, bad;

	memset(&a, 0, sizeof(a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hqv", who_longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'h': return usage(stdout);
		case 'q': a.quiet = 1; break;
		case 'v': a.verbose = 1; break;
		case OPT_JSON: a.json = 1; break;
		case OPT_VERSION: return version();
		default: return usage(stderr);
		}
	}
	if (optind >= argc)
		return usage(stderr);
	a.files = argv + optind;
	a.nfiles = (size_t)(argc - optind);
	if (a.json && a.quiet)
		a.json = 0; /* -q prints nothing */
	a.flags = scan_flags_from_env();
	if (!a.json)
		a.flags |= HS_SCAN_BRIEF; /* unit, namespace unused */
	/* A FILE that cannot be identified is an error: no walk. */
	bad = identify(&a) == -1;
	ch = bad ? HS_EXIT_USAGE : who_walk(&a);
	free(a.ids);
	return ch;
}

/*
 * cmd_install.c - hotswap install: options as in install(1), the
 * operands sorted into the forms of the synopsis, and the forms that
 * are one hs_install() per file.  The transactional forms (-r,
 * --manifest, several SOURCEs) are cmd_txn.c's; what is said about each
 * file, report.c's.
 */
#include <sys/stat.h>
#include <bsd/libutil.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotswap.h"
#include "cmd.h"

enum {
	OPT_NO_SYNC = 256,
	OPT_VERSION,
	OPT_MANIFEST,
	OPT_NO_WAIT,
	OPT_IN_PLACE,
	OPT_FORCE,
};

static const struct option install_longopts[] = {
	{ "backup", no_argument, NULL, 'b' },
	{ "compare", no_argument, NULL, 'C' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "in-place", no_argument, NULL, OPT_IN_PLACE },
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "null", no_argument, NULL, '0' },
	{ "recursive", no_argument, NULL, 'r' },
	{ "group", required_argument, NULL, 'g' },
	{ "help", no_argument, NULL, 'h' },
	{ "mode", required_argument, NULL, 'm' },
	{ "no-dereference", no_argument, NULL, 'P' },
	{ "no-sync", no_argument, NULL, OPT_NO_SYNC },
	{ "no-target-directory", no_argument, NULL, 'T' },
	{ "owner", required_argument, NULL, 'o' },
	{ "preserve-timestamps", no_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "suffix", required_argument, NULL, 'S' },
	{ "target-directory", required_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* The progress line, drawn on a terminal once a copy takes over 1 s. */
struct progress {
	const char *dst;
	struct timespec start;
	int shown;
};

static void
show_progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	char d[8], t[8];

	if (!p->shown && elapsed(&p->start) < 1.0)
		return;
	p->shown = 1;
	(void)humanize_number(d, sizeof(d), (int64_t)done, "B", HN_AUTOSCALE,
	    HN_DECIMAL | HN_NOSPACE);
	(void)humanize_number(t, sizeof(t), (int64_t)total, "B", HN_AUTOSCALE,
	    HN_DECIMAL | HN_NOSPACE);
	fprintf(stderr, "\rhotswap: '%s': %s of %s (%3d%%)", vis_path(p->dst),
	    d, t, total > 0 ? (int)(done * 100 / total) : 0);
}

/* Parse one option into a; -1 for a usage error (already reported). */
static int
install_option(int ch, struct install_args *a)
{
	struct hs_install_opts *o = &a->opts;

	switch (ch) {
	case '0': a->nul = 1; break;
	case 'b': o->flags |= HS_BACKUP; break;
	case 'c': break; /* BSD compatibility: copying is all we do */
	case 'C': o->flags |= HS_COMPARE; break;
	case 'D': o->flags |= HS_MKDIRS; break;
	case 'n': o->flags |= HS_DRY_RUN; break;
	case 'p': o->flags |= HS_PRESERVE_TIMES; break;
	case 'P': o->flags |= HS_NO_DEREF; break;
	case 'q': a->quiet = 1; break;
	case 'r': a->recursive = 1; break;
	case 'S':
		o->suffix = optarg;
		o->flags |= HS_BACKUP;
		break;
	case 't': a->target_dir = optarg; break;
	case 'T': a->no_target_dir = 1; break;
	case 'v': a->verbose = 1; break;
	case OPT_NO_SYNC: o->flags |= HS_NO_SYNC; break;
	case OPT_FORCE: o->flags |= HS_FORCE; break;
	case OPT_IN_PLACE: o->flags |= HS_IN_PLACE; break;
	case OPT_MANIFEST: a->manifest = optarg; break;
	case OPT_NO_WAIT: a->no_wait = 1; break;
	case 'g':
		if (parse_group(optarg, &o->gid) == 0)
			break;
		warnx("invalid group '%s'", vis_path(optarg));
		return -1;
	case 'm':
		o->flags |= HS_SET_MODE;
		if (parse_mode(optarg, &o->mode) == 0)
			break;
		warnx("invalid mode '%s'", vis_path(optarg));
		return -1;
	case 'o':
		if (parse_owner(optarg, &o->uid) == 0)
			break;
		warnx("invalid user '%s'", vis_path(optarg));
		return -1;
	default: return -1;
	}
	return 0;
}

static int
install_one(const char *src, const char *dst, struct install_args *a)
{
	struct progress p = { .dst = dst };
	struct hs_fileid *ids = NULL;
	struct hs_result res;
	size_t nids = 0;
	int r;

	if (isatty(STDERR_FILENO) && !a->quiet) {
		clock_gettime(CLOCK_MONOTONIC, &p.start);
		a->opts.progress = show_progress;
		a->opts.progress_arg = &p;
	}
	if (!a->quiet && !(a->opts.flags & (HS_DRY_RUN | HS_IN_PLACE)))
		hint_note(dst, &ids, &nids);
	r = hs_install(src, dst, &a->opts, &res);
	if (p.shown)
		fputc('\n', stderr);
	if (r == -1)
		report_failure(&res);
	else {
		if (res.mappers > 0) /* --in-place --force */
			warnx("wrote '%s' in place although %s map%s it",
			    vis_path(res.target),
			    pid_list(res.mapper_pids, res.mappers),
			    res.mappers == 1 ? "s" : "");
		report_success(src, dst, &res, a);
		if (!res.unchanged && !res.same_file)
			hint_print(ids, nids, a->quiet);
	}
	free(ids);
	return r == -1 ? HS_EXIT_FAIL : HS_EXIT_OK;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* SOURCEs into dir, each by hs_install() on its own: no transaction. */
static int
install_each(int argc, char **argv, const char *dir, struct install_args *a)
{
	char dst[PATH_MAX];
	int i, status = HS_EXIT_OK;

	for (i = 0; i < argc; i++)
		if (dest_in(dir, argv[i], dst) == -1 ||
		    install_one(argv[i], dst, a) != HS_EXIT_OK)
			status = HS_EXIT_FAIL;
	return status;
}

/* Sort the operands into the forms of the synopsis. */
static int
install_operands(int argc, char **argv, struct install_args *a)
{
	const char *dir = a->target_dir;

	if ((dir != NULL && a->no_target_dir) ||
	    ((a->recursive || a->manifest != NULL) &&
		(a->opts.flags & HS_IN_PLACE))) {
		warnx("conflicting options");
		return usage(stderr);
	}
	if (a->manifest != NULL)
		return argc == 0 && dir == NULL && !a->recursive ?
		    install_manifest(a) :
		    usage(stderr);
	if (a->recursive)
		return argc == 2 && dir == NULL ?
		    install_tree(argv[0], argv[1], a) :
		    usage(stderr);
	if (dir == NULL && !a->no_target_dir && argc >= 2 &&
	    is_dir(argv[argc - 1]))
		dir = argv[--argc];
	if (dir == NULL && argc > 2) {
		errno = ENOTDIR;
		warn("target '%s'", vis_path(argv[argc - 1]));
		return HS_EXIT_FAIL;
	}
	if (dir == NULL)
		return argc == 2 ? install_one(argv[0], argv[1], a) :
				   usage(stderr);
	if (argc < 1)
		return usage(stderr);
	if (!is_dir(dir) && !(a->opts.flags & HS_MKDIRS)) {
		errno = ENOTDIR;
		warn("target '%s'", vis_path(dir));
		return HS_EXIT_FAIL;
	}
	/* One file, or writing into inodes: no transaction to make. */
	if (argc == 1 || (a->opts.flags & HS_IN_PLACE))
		return install_each(argc, argv, dir, a);
	return install_many(argc, argv, dir, a);
}

int
cmd_install(int argc, char **argv)
{
	struct install_args a = { .quiet = 0 };
	int ch;

	hs_install_opts_init(&a.opts);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "0bcCDg:hm:no:pPqrS:t:Tv",
		    install_longopts, NULL)) != -1) {
		if (ch == 'h')
			return usage(stdout);
		if (ch == OPT_VERSION)
			return version();
		if (install_option(ch, &a) == -1)
			return usage(stderr);
	}
	catch_signals();
	return install_operands(argc - optind, argv + optind, &a);
}

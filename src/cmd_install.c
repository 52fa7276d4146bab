/*
 * cmd_install.c - hotswap install: options as in install(1), one
 * hs_install() per file, and the reporting.
 */
#include <sys/stat.h>
#include <bsd/libutil.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <bsd/unistd.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
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
};

static const struct option install_longopts[] = {
	{ "backup",		no_argument,		NULL, 'b' },
	{ "compare",		no_argument,		NULL, 'C' },
	{ "dry-run",		no_argument,		NULL, 'n' },
	{ "group",		required_argument,	NULL, 'g' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "mode",		required_argument,	NULL, 'm' },
	{ "no-dereference",	no_argument,		NULL, 'P' },
	{ "no-sync",		no_argument,		NULL, OPT_NO_SYNC },
	{ "no-target-directory", no_argument,		NULL, 'T' },
	{ "owner",		required_argument,	NULL, 'o' },
	{ "preserve-timestamps", no_argument,		NULL, 'p' },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "suffix",		required_argument,	NULL, 'S' },
	{ "target-directory",	required_argument,	NULL, 't' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, OPT_VERSION },
	{ NULL,			0,			NULL, 0 }
};

struct install_args {
	struct hs_install_opts opts;
	const char	*target_dir;	/* -t */
	int		 no_target_dir;	/* -T */
	int		 verbose;
	int		 quiet;
};

/* The progress line, drawn on a terminal once a copy takes over 1 s. */
struct progress {
	const char	*dst;
	struct timespec	 start;
	int		 shown;
};

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

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
	(void)humanize_number(t, sizeof(t), (int64_t)total, "B",
	    HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE);
	fprintf(stderr, "\rhotswap: '%s': %s of %s (%3d%%)", vis_path(p->dst),
	    d, t, total > 0 ? (int)(done * 100 / total) : 0);
}

static int
parse_owner(const char *s, uid_t *uid)
{
	struct passwd *pw = getpwnam(s);
	const char *errstr;

	if (pw != NULL) {
		*uid = pw->pw_uid;
		return 0;
	}
	*uid = (uid_t)strtonum(s, 0, (uid_t)-2, &errstr);
	return errstr == NULL ? 0 : -1;
}

static int
parse_group(const char *s, gid_t *gid)
{
	struct group *gr = getgrnam(s);
	const char *errstr;

	if (gr != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	*gid = (gid_t)strtonum(s, 0, (gid_t)-2, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* -m: symbolic or octal, as chmod(1), relative to 0 as install(1) does. */
static int
parse_mode(const char *s, mode_t *mode)
{
	void *set = setmode(s);

	if (set == NULL)
		return -1;
	*mode = getmode(set, 0);
	free(set);
	return 0;
}

/* Parse one option into a; -1 for a usage error (already reported). */
static int
install_option(int ch, struct install_args *a)
{
	struct hs_install_opts *o = &a->opts;

	switch (ch) {
	case 'b': o->flags |= HS_BACKUP; break;
	case 'c': break;	/* BSD compatibility: copying is all we do */
	case 'C': o->flags |= HS_COMPARE; break;
	case 'D': o->flags |= HS_MKDIRS; break;
	case 'n': o->flags |= HS_DRY_RUN; break;
	case 'p': o->flags |= HS_PRESERVE_TIMES; break;
	case 'P': o->flags |= HS_NO_DEREF; break;
	case 'q': a->quiet = 1; break;
	case 'S': o->suffix = optarg; o->flags |= HS_BACKUP; break;
	case 't': a->target_dir = optarg; break;
	case 'T': a->no_target_dir = 1; break;
	case 'v': a->verbose = 1; break;
	case OPT_NO_SYNC: o->flags |= HS_NO_SYNC; break;
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
	default:
		return -1;
	}
	return 0;
}

static void
report_failure(const struct hs_result *res)
{
	warn("%s '%s'", res->step, vis_path(res->path));
}

/* What a successful hs_install() has to tell. */
static void
report_success(const char *src, const char *dst, const struct hs_result *res,
    const struct install_args *a)
{
	int dry = a->opts.flags & HS_DRY_RUN;

	if (res->same_file) {
		warnx("'%s' and '%s' are the same file; nothing to do",
		    vis_path(src), vis_path(dst));
		return;
	}
	if (res->other_links > 0 && !a->quiet)
		warnx("'%s' had %ju other hard link%s: %s the old content",
		    vis_path(res->target), (uintmax_t)res->other_links,
		    res->other_links == 1 ? "" : "s",
		    res->other_links == 1 ? "it keeps" : "they keep");
	if (!a->verbose)
		return;
	if (res->unchanged)
		printf("'%s' unchanged\n", vis_path(res->target));
	else
		printf("%s'%s' -> '%s'%s%s%s\n", dry ? "would install " : "",
		    vis_path(src), vis_path(res->target),
		    res->backup[0] != '\0' ? " (backup: '" : "",
		    res->backup[0] != '\0' ? vis_path(res->backup) : "",
		    res->backup[0] != '\0' ? "')" : "");
}

static int
install_one(const char *src, const char *dst, struct install_args *a)
{
	struct progress p = { .dst = dst };
	struct hs_result res;
	int r;

	if (isatty(STDERR_FILENO) && !a->quiet) {
		clock_gettime(CLOCK_MONOTONIC, &p.start);
		a->opts.progress = show_progress;
		a->opts.progress_arg = &p;
	}
	r = hs_install(src, dst, &a->opts, &res);
	if (p.shown)
		fputc('\n', stderr);
	if (r == -1) {
		report_failure(&res);
		return HS_EXIT_FAIL;
	}
	report_success(src, dst, &res, a);
	return HS_EXIT_OK;
}

/* Install src into directory dir under its own last name. */
static int
install_into(const char *src, const char *dir, struct install_args *a)
{
	const char *base = strrchr(src, '/');
	char dst[PATH_MAX];

	base = base != NULL ? base + 1 : src;
	if (snprintf(dst, sizeof(dst), "%s/%s", dir, base) >= (int)sizeof(dst)) {
		errno = ENAMETOOLONG;
		warn("cannot install into '%s'", vis_path(dir));
		return HS_EXIT_FAIL;
	}
	return install_one(src, dst, a);
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Sort the operands into the three forms of the synopsis. */
static int
install_operands(int argc, char **argv, struct install_args *a)
{
	const char *dir = a->target_dir;
	int i, status = HS_EXIT_OK;

	if (dir == NULL && !a->no_target_dir && argc >= 2 &&
	    is_dir(argv[argc - 1]))
		dir = argv[--argc];
	if (dir != NULL && a->no_target_dir) {
		warnx("-t and -T cannot be used together");
		return usage(stderr);
	}
	if (dir == NULL && argc != 2) {
		if (argc > 2) {
			errno = ENOTDIR;
			warn("target '%s'", vis_path(argv[argc - 1]));
			return HS_EXIT_FAIL;
		}
		return usage(stderr);
	}
	if (dir == NULL)
		return install_one(argv[0], argv[1], a);
	if (argc < 1)
		return usage(stderr);
	if (!is_dir(dir) && !(a->opts.flags & HS_MKDIRS)) {
		errno = ENOTDIR;
		warn("target '%s'", vis_path(dir));
		return HS_EXIT_FAIL;
	}
	for (i = 0; i < argc; i++)
		if (install_into(argv[i], dir, a) != HS_EXIT_OK)
			status = HS_EXIT_FAIL;
	return status;
}

int
cmd_install(int argc, char **argv)
{
	struct install_args a = { .quiet = 0 };
	int ch;

	hs_install_opts_init(&a.opts);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "bcCDg:hm:no:pPqS:t:Tv",
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

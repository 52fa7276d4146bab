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
	OPT_MANIFEST,
	OPT_NO_WAIT,
	OPT_IN_PLACE,
	OPT_FORCE,
};

static const struct option install_longopts[] = {
	{ "backup",		no_argument,		NULL, 'b' },
	{ "compare",		no_argument,		NULL, 'C' },
	{ "dry-run",		no_argument,		NULL, 'n' },
	{ "force",		no_argument,		NULL, OPT_FORCE },
	{ "in-place",		no_argument,		NULL, OPT_IN_PLACE },
	{ "manifest",		required_argument,	NULL, OPT_MANIFEST },
	{ "no-wait",		no_argument,		NULL, OPT_NO_WAIT },
	{ "null",		no_argument,		NULL, '0' },
	{ "recursive",		no_argument,		NULL, 'r' },
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

/* The progress line, drawn on a terminal once a copy takes over 1 s. */
struct progress {
	const char	*dst;
	struct timespec	 start;
	int		 shown;
};

/* Seconds on CLOCK_MONOTONIC since *since. */
double
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

int
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

int
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
int
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
	case '0': a->nul = 1; break;
	case 'b': o->flags |= HS_BACKUP; break;
	case 'c': break;	/* BSD compatibility: copying is all we do */
	case 'C': o->flags |= HS_COMPARE; break;
	case 'D': o->flags |= HS_MKDIRS; break;
	case 'n': o->flags |= HS_DRY_RUN; break;
	case 'p': o->flags |= HS_PRESERVE_TIMES; break;
	case 'P': o->flags |= HS_NO_DEREF; break;
	case 'q': a->quiet = 1; break;
	case 'r': a->recursive = 1; break;
	case 'S': o->suffix = optarg; o->flags |= HS_BACKUP; break;
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
	default:
		return -1;
	}
	return 0;
}

/* "PID 12, 34 and 2 more" for a refusal message. */
static const char *
pid_list(const pid_t *pids, unsigned long n)
{
	static char buf[160];
	size_t len, shown = n < 8 ? n : 8, i;

	len = (size_t)snprintf(buf, sizeof(buf), "PID%s", n > 1 ? "s" : "");
	for (i = 0; i < shown && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %d",
		    i > 0 ? "," : "", (int)pids[i]);
	if (n > shown && len < sizeof(buf))
		(void)snprintf(buf + len, sizeof(buf) - len, " and %lu more",
		    n - shown);
	return buf;
}

void
report_failure(const struct hs_result *res)
{
	if (errno == EBUSY && strstr(res->step, "rename") != NULL)
		warn("%s '%s' (a mount point: --in-place writes into it)",
		    res->step, vis_path(res->path));
	else if (errno == ETXTBSY && res->mappers > 0)
		warn("%s '%s' (%s)", res->step, vis_path(res->path),
		    pid_list(res->mapper_pids, res->mappers));
	else
		warn("%s '%s'", res->step, vis_path(res->path));
}

void
hint_note(const char *dst, struct hs_fileid **ids, size_t *n)
{
	struct hs_fileid id, *grown;

	if (hs_fileid_path(dst, &id) == -1)
		return;			/* new, or unreadable: no hint */
	if ((grown = reallocarray(*ids, *n + 1, sizeof(**ids))) == NULL)
		return;
	*ids = grown;
	(*ids)[(*n)++] = id;
}

/*
 * The processes that still map the replaced inodes need a restart to run
 * the new version: say how many, and how to list them.
 */
void
hint_print(const struct hs_fileid *ids, size_t n, int quiet)
{
	const struct hs_mapping *maps;
	const struct hs_proc *proc;
	pid_t pids[5];
	unsigned long count = 0;
	struct hs_scan *s;
	char cmd[128];
	size_t len, i, nm;

	if (quiet || n == 0 || (s = hs_scan_open(HS_SCAN_BRIEF)) == NULL)
		return;
	if (hs_scan_who(s, ids, n) == 0)
		while (hs_scan_next(s, &proc, &maps, &nm) == 1)
			if (count++ < 5)
				pids[count - 1] = proc->pid;
	hs_scan_free(s);
	if (count == 0)
		return;
	len = (size_t)snprintf(cmd, sizeof(cmd), "hotswap stale");
	for (i = 0; count <= 5 && i < count; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
		    " -p %d", (int)pids[i]);
	fprintf(stderr, "hotswap: %lu process%s still run%s the replaced "
	    "version; to list: %s\n", count, count == 1 ? "" : "es",
	    count == 1 ? "s" : "", cmd);
}

/* What a successful hs_install() has to tell. */
void
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

int
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
		if (res.mappers > 0)	/* --in-place --force */
			warnx("wrote '%s' in place although %s map%s it",
			    vis_path(res.target), pid_list(res.mapper_pids,
			    res.mappers), res.mappers == 1 ? "s" : "");
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
		    install_manifest(a) : usage(stderr);
	if (a->recursive)
		return argc == 2 && dir == NULL ?
		    install_tree(argv[0], argv[1], a) : usage(stderr);
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

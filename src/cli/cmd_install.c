/*
 * cmd_install.c - hotswap install: options as in GNU install(1) (every
 * one of coreutils 9's, with its meaning, but for the differences that
 * hotswap(1) lists), the operands sorted into the forms of the synopsis,
 * and the forms that are one hs_install() per file or hs_install_dir()
 * per directory.  The transactional forms (-r, --manifest, several
 * SOURCEs) are cmd_txn.c's; what is said about each file, report.c's.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
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
	OPT_DEBUG,
	OPT_STRIP_PROGRAM,
	OPT_CONTEXT,
	OPT_PRESERVE_CONTEXT,
	OPT_IO,
	OPT_FREE_LATER,
};

static const struct option install_longopts[] = {
	{ "backup", optional_argument, NULL, 'b' },
	{ "compare", no_argument, NULL, 'C' },
	{ "context", optional_argument, NULL, OPT_CONTEXT },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "directory", no_argument, NULL, 'd' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "free-later", no_argument, NULL, OPT_FREE_LATER },
	{ "in-place", no_argument, NULL, OPT_IN_PLACE },
	{ "io", required_argument, NULL, OPT_IO },
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
	{ "preserve-context", no_argument, NULL, OPT_PRESERVE_CONTEXT },
	{ "preserve-timestamps", no_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "strip", no_argument, NULL, 's' },
	{ "strip-program", required_argument, NULL, OPT_STRIP_PROGRAM },
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

/* The options of -m, -o and -g; -1 for a usage error (reported). */
static int
install_value(int ch, struct install_args *a)
{
	struct hs_install_opts *o = &a->opts;

	switch (ch) {
	case 'g':
		if (parse_group(optarg, &o->gid) == 0)
			return 0;
		warnx("invalid group '%s'", vis_path(optarg));
		return -1;
	case 'm':
		o->flags |= HS_SET_MODE;
		a->mode_set = 1;
		if (parse_mode(optarg, &o->mode) == 0 &&
		    parse_dir_mode(optarg, &o->dir_mode) == 0)
			return 0;
		warnx("invalid mode '%s'", vis_path(optarg));
		return -1;
	default: /* 'o' */
		if (parse_owner(optarg, &o->uid) == 0)
			return 0;
		warnx("invalid user '%s'", vis_path(optarg));
		return -1;
	}
}

/* The options of GNU's that hotswap's own did not have. */
static int
install_gnu_option(int ch, struct install_args *a)
{
	struct hs_install_opts *o = &a->opts;

	switch (ch) {
	case 'b':
		o->flags |= HS_BACKUP;
		if (optarg != NULL)
			a->control = optarg;
		break;
	case 'd': a->dirs = 1; break;
	case 's': o->flags |= HS_STRIP; break;
	case 'Z': a->want_context = 1; break;
	case OPT_CONTEXT:
		a->want_context = 1;
		a->context = optarg;
		break;
	case OPT_PRESERVE_CONTEXT: a->keep_context = 1; break;
	case OPT_DEBUG: a->debug = a->verbose = 1; break;
	case OPT_STRIP_PROGRAM:
		o->strip_program = optarg;
		a->strip_prog_set = 1;
		break;
	default: return -1;
	}
	return 0;
}

/* --io=auto|plain|uring: how a transaction commits (hotswap.h). */
static int
io_option(const char *arg, struct hs_install_opts *o)
{
	o->flags &= ~(unsigned int)(HS_IO_PLAIN | HS_IO_URING);
	if (strcmp(arg, "plain") == 0)
		o->flags |= HS_IO_PLAIN;
	else if (strcmp(arg, "uring") == 0)
		o->flags |= HS_IO_URING;
	else if (strcmp(arg, "auto") != 0) {
		warnx("invalid --io '%s': auto, plain or uring", arg);
		return -1;
	}
	return 0;
}

/* Parse one option into a; -1 for a usage error (already reported). */
static int
install_option(int ch, struct install_args *a)
{
	struct hs_install_opts *o = &a->opts;

	switch (ch) {
	case '0': a->nul = 1; break;
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
	case 't':
		if (a->target_dir != NULL) {
			warnx("multiple target directories specified");
			return -1;
		}
		a->target_dir = optarg;
		break;
	case 'T': a->no_target_dir = 1; break;
	case 'v': a->verbose = 1; break;
	case OPT_NO_SYNC: o->flags |= HS_NO_SYNC; break;
	case OPT_FORCE: o->flags |= HS_FORCE; break;
	case OPT_FREE_LATER: o->flags |= HS_FREE_LATER; break;
	case OPT_IN_PLACE: o->flags |= HS_IN_PLACE; break;
	case OPT_MANIFEST: a->manifest = optarg; break;
	case OPT_NO_WAIT: a->no_wait = 1; break;
	case OPT_IO: return io_option(optarg, o);
	case 'g':
	case 'm':
	case 'o': return install_value(ch, a);
	default: return install_gnu_option(ch, a);
	}
	return 0;
}

#define MAX_MISSING 64

/*
 * -v: the directories on the way to path (and path itself, with self)
 * that do not exist yet, as lengths of path, to announce once made as
 * GNU's install -v does.  For messages only.
 */
static size_t
missing_dirs(const char *path, int self, size_t *ends)
{
	size_t len = strlen(path), i, n = 0;
	char buf[PATH_MAX];
	struct stat st;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len && n < MAX_MISSING; i++) {
		if (i < len && (buf[i] != '/' || buf[i - 1] == '/'))
			continue;
		if (i == len && (!self || buf[i - 1] == '/'))
			break;
		buf[i] = '\0';
		if (lstat(buf, &st) == -1 && errno == ENOENT)
			ends[n++] = i;
		buf[i] = path[i];
	}
	return n;
}

/* The first len bytes of path, in a buffer of its own. */
static const char *
prefix_of(const char *path, size_t len)
{
	static char buf[PATH_MAX];

	(void)snprintf(buf, sizeof(buf), "%.*s", (int)len, path);
	return buf;
}

static void
announce_dirs(const char *path, const size_t *ends, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("hotswap install: creating directory '%s'\n",
		    vis_path(prefix_of(path, ends[i])));
}

/* --preserve-context where SELinux is on: SOURCE's label for DEST. */
static void
source_context(const char *src, struct install_args *a, char *buf, size_t len)
{
	ssize_t n;

	if (!a->keep_context)
		return;
	n = getxattr(src, "security.selinux", buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	a->opts.context = n > 0 ? buf : NULL;
}

/* What went wrong, said once. */
static void
install_failed(const struct hs_result *res, const struct install_args *a)
{
	const char *prog = a->opts.strip_program != NULL ?
	    a->opts.strip_program :
	    "strip";
	int st = res->strip_status;

	if (st == 0) {
		report_failure(res);
		return;
	}
	if (WIFEXITED(st))
		warnx("strip program '%s' failed on '%s' (exit status %d); "
		      "'%s' is untouched",
		    vis_path(prog), vis_path(res->path), WEXITSTATUS(st),
		    vis_path(res->path));
	else
		warnx("strip program '%s' killed by signal %d on '%s'; "
		      "'%s' is untouched",
		    vis_path(prog), WTERMSIG(st), vis_path(res->path),
		    vis_path(res->path));
}

static int
install_one(const char *src, const char *dst, struct install_args *a)
{
	struct progress p = { .dst = dst };
	struct hs_fileid *ids = NULL;
	size_t ends[MAX_MISSING], nmiss = 0;
	char label[4096];
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
	if (a->verbose && (a->opts.flags & HS_MKDIRS))
		nmiss = missing_dirs(dst, 0, ends);
	source_context(src, a, label, sizeof(label));
	r = hs_install(src, dst, &a->opts, &res);
	if (p.shown)
		fputc('\n', stderr);
	if (r == -1)
		install_failed(&res, a);
	else {
		announce_dirs(dst, ends, nmiss);
		if (res.mappers > 0) /* --in-place --force */
			warnx("wrote '%s' in place although %s map%s it",
			    vis_path(res.target),
			    pid_list(res.mapper_pids, res.mappers),
			    res.mappers == 1 ? "s" : "");
		report_success(src, dst, &res, a);
		if (a->debug && !res.unchanged && !res.same_file)
			printf("copy method: %s\n",
			    hs_copy_method_name(res.method));
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

/* -d: each operand a directory, made with its missing parents. */
static int
install_dirs(int argc, char **argv, struct install_args *a)
{
	size_t ends[MAX_MISSING], n;
	struct hs_result res;
	int i, status = HS_EXIT_OK;

	if (argc < 1)
		return usage(stderr);
	for (i = 0; i < argc; i++) {
		n = a->verbose ? missing_dirs(argv[i], 1, ends) : 0;
		if (hs_install_dir(argv[i], &a->opts, &res) == -1) {
			warn("%s '%s'", res.step, vis_path(res.path));
			status = HS_EXIT_FAIL;
		} else if (!(a->opts.flags & HS_DRY_RUN))
			announce_dirs(argv[i], ends, n);
	}
	return status;
}

/*
 * Several SOURCEs are one transaction, unless something only one file's
 * install does is asked: -s, or numbered backups (a transaction's are
 * simple), or --in-place (no transaction to make).
 */
static int
one_by_one(const struct install_args *a)
{
	return (a->opts.flags & (HS_IN_PLACE | HS_STRIP)) ||
	    ((a->opts.flags & HS_BACKUP) &&
		a->opts.backup_type != HS_BACKUP_SIMPLE &&
		(a->control != NULL || getenv("VERSION_CONTROL") != NULL));
}

/*
 * Options that cannot go together: -t with -T; -r or --manifest (a
 * transaction) with --in-place or -s (one file's install); -d with any
 * of those or -t, as GNU's -d with -t or -s.
 */
static int
conflicting(const struct install_args *a)
{
	int txn = a->recursive || a->manifest != NULL;
	int one = (a->opts.flags & (HS_IN_PLACE | HS_STRIP)) != 0;

	return (a->target_dir != NULL && a->no_target_dir) || (txn && one) ||
	    (a->dirs && (txn || one || a->target_dir != NULL));
}

/* Sort the operands into the forms of the synopsis. */
static int
install_operands(int argc, char **argv, struct install_args *a)
{
	const char *dir = a->target_dir;

	if (conflicting(a)) {
		warnx("conflicting options");
		return usage(stderr);
	}
	if (a->dirs)
		return install_dirs(argc, argv, a);
	if (a->manifest != NULL)
		return argc == 0 && dir == NULL && !a->recursive ?
		    install_manifest(a) :
		    usage(stderr);
	if (a->recursive)
		return argc == 2 && dir == NULL ?
		    install_tree(argv[0], argv[1], a) :
		    usage(stderr);
	/* The forms of install(1): a new file gets its 0755. */
	a->opts.flags |= HS_NEW_MODE;
	a->opts.new_mode = 0755;
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
	if (argc == 1 || one_by_one(a))
		return install_each(argc, argv, dir, a);
	return install_many(argc, argv, dir, a);
}

/* SELinux is on if its file system is mounted (libselinux's own test). */
static int
selinux_enabled(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/* -Z, --context, --preserve-context: set where SELinux is on. */
static int
settle_context(struct install_args *a)
{
	if (!a->want_context && !a->keep_context)
		return 0;
	if (!selinux_enabled()) {
		if (a->verbose)
			printf("hotswap install: ignoring %s: SELinux is not "
			       "enabled\n",
			    a->keep_context	   ? "--preserve-context" :
				a->context != NULL ? "--context" :
						     "-Z");
		a->keep_context = 0;
		return 0;
	}
	if (a->want_context && a->keep_context) {
		warnx("cannot set target context and preserve it");
		return -1;
	}
	if (a->context != NULL)
		a->opts.context = a->context;
	else if (a->want_context)
		a->opts.flags |= HS_NO_CONTEXT;
	return 0;
}

/* After the options: what they mean together, as GNU's checks them. */
static int
settle_options(struct install_args *a)
{
	struct hs_install_opts *o = &a->opts;
	const char *vc = a->control;
	const char *env = getenv("SIMPLE_BACKUP_SUFFIX");

	if ((o->flags & HS_BACKUP) && vc == NULL)
		vc = getenv("VERSION_CONTROL");
	if ((o->flags & HS_BACKUP) && parse_backup(vc, o) == -1) {
		warnx("invalid argument '%s' for 'backup type'", vis_path(vc));
		return -1;
	}
	if (o->suffix == NULL && env != NULL && *env != '\0' &&
	    strchr(env, '/') == NULL)
		o->suffix = env;
	if (a->strip_prog_set && !(o->flags & HS_STRIP))
		warnx("ignoring --strip-program: -s was not given");
	if ((o->flags & (HS_COMPARE | HS_STRIP)) == (HS_COMPARE | HS_STRIP)) {
		warnx("options --compare (-C) and --strip are mutually "
		      "exclusive");
		return -1;
	}
	return settle_context(a);
}

int
cmd_install(int argc, char **argv)
{
	struct install_args a = { .quiet = 0 };
	int ch;

	hs_install_opts_init(&a.opts);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "0bcCdDg:hm:no:pPqrsS:t:TvZ",
		    install_longopts, NULL)) != -1) {
		if (ch == 'h')
			return usage_install(stdout);
		if (ch == OPT_VERSION)
			return version();
		if (install_option(ch, &a) == -1)
			return usage(stderr);
	}
	if (settle_options(&a) == -1)
		return usage(stderr);
	catch_signals();
	return install_operands(argc - optind, argv + optind, &a);
}

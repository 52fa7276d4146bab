/*
 * cmd_txn.c - the transactional forms of hotswap install: -r, --manifest,
 * and several SOURCEs into a directory (cmd_install.c parses the options
 * and sends each form here; hotswap recover is cmd_recover.c).
 *
 * -r and --manifest are all or nothing: the first file that cannot be
 * staged stops everything, and nothing is changed.  Several SOURCEs keep
 * install(1)'s rule, each file on its own: a source that cannot be staged
 * is reported and the others go ahead, still renamed together after one
 * durability barrier.
 */
#include <sys/stat.h>
#include <bsd/libutil.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotswap.h"
#include "cmd.h"

/* What a transaction run carries from staging to its summary. */
struct run {
	struct install_args *a;
	struct hs_txn *t;
	struct timespec start;
	int tty;      /* standard error is a terminal */
	int progress; /* a progress line is drawn */
	unsigned long done;
};

/*
 * SIGALRM while hs_txn_lock() waits: say so, with write(2) alone (a
 * handler may call nothing else that prints), all of it unless standard
 * error fails, and errno as it was for the code interrupted.  A failed
 * write leaves nothing to do: the wait goes on either way.
 */
static void
on_alarm(int sig)
{
	static const char
	    msg[] = "hotswap: waiting for another install into the same tree\n";
	size_t off = 0;
	ssize_t n;
	int serrno = errno;

	(void)sig;
	while (off < sizeof(msg) - 1) {
		n = write(STDERR_FILENO, msg + off, sizeof(msg) - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	errno = serrno;
}

/* Take the tree's lock: at once, or after saying that we wait. */
static int
lock(struct run *r, struct hs_result *res)
{
	struct sigaction sa, old;
	int ret;

	if (hs_txn_lock(r->t, 0, res) == 0)
		return 0;
	if (errno != EWOULDBLOCK || r->a->no_wait)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGALRM, &sa, &old);
	(void)alarm(1);
	ret = hs_txn_lock(r->t, 1, res);
	(void)alarm(0);
	(void)sigaction(SIGALRM, &old, NULL);
	return ret;
}

static void
end_progress(struct run *r)
{
	if (r->progress)
		fputc('\n', stderr);
	r->progress = 0;
}

/*
 * After each file staged: the -v line, progress.  (The hint's old
 * inodes are the transaction's to remember: hs_txn_note_replaced.)
 */
static void
staged(void *arg, const char *src, const char *dst, const struct hs_result *res)
{
	struct run *r = arg;

	r->done++;
	if (r->a->verbose || res->same_file || res->other_links > 0)
		end_progress(r);
	report_success(src, dst, res, r->a);
	if (r->a->quiet || !r->tty || elapsed(&r->start) < 1.0)
		return;
	fprintf(stderr, "\rhotswap: %lu files staged", r->done);
	r->progress = 1;
}

static int
stage_one(struct run *r, const char *src, const char *dst,
    const struct hs_install_opts *o)
{
	struct hs_result res;

	if (hs_txn_add(r->t, src, dst, o, &res) == -1) {
		end_progress(r);
		report_failure(&res);
		return -1;
	}
	staged(r, src, dst, &res);
	return 0;
}

static void
summary(const struct run *r)
{
	const struct hs_txn_stats *st = hs_txn_stats(r->t);
	char bytes[8];

	if (r->a->quiet || (!r->a->verbose && !isatty(STDERR_FILENO)))
		return;
	(void)humanize_number(bytes, sizeof(bytes), (int64_t)st->bytes, "B",
	    HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE);
	fprintf(stderr,
	    "hotswap: %lu file%s %s, %lu unchanged, %s in "
	    "%.2f s\n",
	    st->staged, st->staged == 1 ? "" : "s",
	    r->a->opts.flags & HS_DRY_RUN ? "to install" : "installed",
	    st->unchanged, bytes, elapsed(&r->start));
}

/* --debug: how the temporaries were opened and the steps were made. */
static void
debug_io(const struct run *r)
{
	const struct hs_txn_stats *st = hs_txn_stats(r->t);

	if (r->a->debug)
		printf("temporaries opened by io_uring: %lu\n"
		       "commit steps by io_uring: %lu\n"
		       "old files freed after the command: %lu\n",
		    st->ring_opens, st->ring_ops, st->freed_later);
}

static void
report_recovery(int outcome, const char *root)
{
	if (outcome != 0)
		warnx("an interrupted install into '%s' was found and %s",
		    vis_path(root), outcome == 1 ? "completed" : "rolled back");
}

enum { STAGED = 0, SOME_FAILED = 1, ABORT = 2 };

/* Open, lock, stage (by the caller's function), commit, report. */
static int
run_txn(const char *root, struct install_args *a,
    int (*stage)(struct run *, void *), void *arg)
{
	struct run r = { .a = a, .tty = isatty(STDERR_FILENO) };
	const struct hs_fileid *ids;
	struct hs_result res;
	size_t nids;
	int st;

	clock_gettime(CLOCK_MONOTONIC, &r.start);
	if ((r.t = hs_txn_open(root, &a->opts, &res)) == NULL ||
	    lock(&r, &res) == -1) {
		report_failure(&res);
		hs_txn_free(r.t);
		return HS_EXIT_FAIL;
	}
	report_recovery(hs_txn_stats(r.t)->recovered, root);
	if (!a->quiet && !(a->opts.flags & HS_DRY_RUN))
		hs_txn_note_replaced(r.t);
	st = stage(&r, arg);
	end_progress(&r);
	if (st != ABORT && hs_txn_commit(r.t, &res) == -1) {
		report_failure(&res);
		st = hs_txn_stats(r.t)->rolled_back ? ABORT : SOME_FAILED;
	} else if (st != ABORT) {
		summary(&r);
		debug_io(&r);
		ids = hs_txn_replaced(r.t, &nids);
		hint_print(ids, nids, a->quiet);
	}
	hs_txn_free(r.t); /* rolls back what is not committed */
	if (st == ABORT && !(a->opts.flags & HS_DRY_RUN))
		warnx("nothing was changed in '%s'", vis_path(root));
	return st == STAGED ? HS_EXIT_OK : HS_EXIT_FAIL;
}

/* -r */
struct tree_arg {
	const char *src, *dst;
};

static int
stage_tree(struct run *r, void *arg)
{
	struct tree_arg *ta = arg;
	struct hs_result res;

	if (hs_txn_add_tree(r->t, ta->src, ta->dst, staged, r, &res) == -1) {
		end_progress(r);
		report_failure(&res);
		return ABORT;
	}
	return STAGED;
}

int
install_tree(const char *srcdir, const char *dstdir, struct install_args *a)
{
	struct tree_arg ta = { srcdir, dstdir };

	a->opts.flags |= HS_MKDIRS; /* DESTDIR is made, like cp -r */
	return run_txn(dstdir, a, stage_tree, &ta);
}

/* Several SOURCEs into a directory: each on its own. */
struct many_arg {
	int argc;
	char **argv;
	const char *dir;
};

static int
stage_many(struct run *r, void *arg)
{
	struct many_arg *m = arg;
	char dst[PATH_MAX];
	int i, st = STAGED;

	for (i = 0; i < m->argc; i++)
		if (dest_in(m->dir, m->argv[i], dst) == -1 ||
		    stage_one(r, m->argv[i], dst, NULL) == -1)
			st = SOME_FAILED;
	return st;
}

int
install_many(int argc, char **argv, const char *dir, struct install_args *a)
{
	struct many_arg m = { argc, argv, dir };

	return run_txn(dir, a, stage_many, &m);
}

/* --manifest */
struct manifest_arg {
	struct hs_manifest m;
	struct hs_install_opts *opts; /* one per entry */
};

/* The whole of path ("-": standard input). */
static char *
read_all(const char *path, size_t *len)
{
	size_t cap = 65536;
	char *buf = malloc(cap), *grown;
	ssize_t n;
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO :
					  open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd == -1 || buf == NULL)
		goto fail;
	while ((n = read(fd, buf + *len, cap - *len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if ((*len += (size_t)n) == cap) {
			if ((grown = reallocarray(buf, cap, 2)) == NULL)
				goto fail;
			buf = grown;
			cap *= 2;
		}
	}
	if (fd != STDIN_FILENO)
		(void)close(fd);
	return buf;
fail:
	if (fd > STDIN_FILENO)
		(void)close(fd);
	free(buf);
	return NULL;
}

/* The entry's options: the command line's, with its own attributes. */
static int
entry_opts(const struct install_args *a, const struct hs_manifest_entry *e,
    struct hs_install_opts *o)
{
	const char *what = NULL, *val = NULL;

	*o = a->opts;
	if (e->mode != NULL && parse_mode(e->mode, &o->mode) == -1)
		what = "mode", val = e->mode;
	else if (e->owner != NULL && parse_owner(e->owner, &o->uid) == -1)
		what = "owner", val = e->owner;
	else if (e->group != NULL && parse_group(e->group, &o->gid) == -1)
		what = "group", val = e->group;
	if (e->mode != NULL)
		o->flags |= HS_SET_MODE;
	if (what == NULL)
		return 0;
	warnx("'%s' %s %lu: invalid %s '%s'", vis_path(a->manifest),
	    a->nul ? "entry" : "line", e->line, what, vis_path(val));
	return -1;
}

/* Shorten root to the directory it has in common with path. */
static void
fold(char *root, const char *path)
{
	size_t i = 0, slash = 0;

	while (root[i] != '\0' && root[i] == path[i]) {
		if (root[i] == '/')
			slash = i;
		i++;
	}
	if (root[i] == '\0' && (path[i] == '/' || path[i] == '\0'))
		return; /* root holds path */
	if (path[i] == '\0' && root[i] == '/')
		root[i] = '\0'; /* path holds root */
	else
		root[slash == 0 ? 1 : slash] = '\0';
}

/*
 * The transaction's root, for its journal and lock: the deepest existing
 * directory that holds every destination.
 */
static int
common_root(const struct hs_manifest *m, char *root)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash;
	const char *dst, *prev = NULL, *s;
	size_t i, len, plen = 0;

	for (i = 0; i < m->n; i++) {
		/* The directory of the one before: realpath(3) said it. */
		dst = m->entries[i].dst;
		len = (s = strrchr(dst, '/')) != NULL ? (size_t)(s - dst) : 0;
		if (prev != NULL && len == plen && strncmp(dst, prev, len) == 0)
			continue;
		prev = dst;
		plen = len;
		(void)strlcpy(dir, m->entries[i].dst, sizeof(dir));
		do {
			slash = strrchr(dir, '/');
			if (slash == NULL)
				(void)strlcpy(dir, ".", sizeof(dir));
			else
				slash[slash == dir] = '\0';
		} while (realpath(dir, real) == NULL && errno == ENOENT &&
		    strcmp(dir, ".") != 0 && strcmp(dir, "/") != 0);
		if (realpath(dir, real) == NULL) {
			warn("cannot find the directory of '%s'",
			    vis_path(m->entries[i].dst));
			return -1;
		}
		if (i == 0)
			(void)strlcpy(root, real, PATH_MAX);
		else
			fold(root, real);
	}
	return 0;
}

static int
stage_manifest(struct run *r, void *arg)
{
	struct manifest_arg *ma = arg;
	size_t i;

	for (i = 0; i < ma->m.n; i++)
		if (stage_one(r, ma->m.entries[i].src, ma->m.entries[i].dst,
			&ma->opts[i]) == -1)
			return ABORT;
	return STAGED;
}

int
install_manifest(struct install_args *a)
{
	struct manifest_arg ma = { .opts = NULL };
	char root[PATH_MAX], *text;
	const char *msg = NULL;
	unsigned long line = 0;
	int status = HS_EXIT_USAGE;
	size_t len, i;

	if ((text = read_all(a->manifest, &len)) == NULL) {
		warn("cannot read '%s'", vis_path(a->manifest));
		return HS_EXIT_FAIL;
	}
	if (hs_manifest_parse(text, len, a->nul, &ma.m, &line, &msg) == -1) {
		warnx("'%s' %s %lu: %s", vis_path(a->manifest),
		    a->nul ? "entry" : "line", line,
		    msg != NULL ? msg : strerror(errno));
		goto out;
	}
	if ((ma.opts = calloc(ma.m.n + 1, sizeof(*ma.opts))) == NULL)
		goto out;
	for (i = 0; i < ma.m.n; i++)
		if (entry_opts(a, &ma.m.entries[i], &ma.opts[i]) == -1)
			goto out;
	status = HS_EXIT_OK;
	if (ma.m.n > 0)
		status = common_root(&ma.m, root) == -1 ?
		    HS_EXIT_FAIL :
		    run_txn(root, a, stage_manifest, &ma);
out:
	free(ma.opts);
	hs_manifest_free(&ma.m);
	free(text);
	return status;
}

/*
 * main.c - blockcut(1) of the tests: run a command on a real ext4 and
 * judge every crash image a power cut could leave, at block level.
 *
 * The seed goes into a fresh ext4 image (mkfs.ext4 -d), held in memory by
 * the recorder (rec.c), a FUSE file system in this process that serves
 * it as one file; that file backs a loop device, the ext4 on it is
 * mounted, synced, and the epoch begins: the command runs in the mount,
 * and every write and flush the loop device sends is logged.  Then,
 * offline, the crash images are built, mounted and checked (cut.c).  All
 * of it happens in a private mount namespace and on loop devices that
 * detach themselves, so that nothing stays mounted or attached if
 * blockcut dies.  See blockcut.h for the model.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockcut.h"

static const char usage_text[] =
    "usage: blockcut [-v] [--mode drop|prefix|subset] [--subsets N]\n"
    "                [--rand N] [--size MIB] [--timeout SECS] [--jobs N]\n"
    "                --seed DIR --check CHECKER -- COMMAND [ARG ...]\n"
    "\n"
    "Make an ext4 of MIB MiB (16) holding a copy of DIR, on a loop device\n"
    "backed by a FUSE file that logs every block write and cache flush,\n"
    "run COMMAND once in it and sync it after (as the kernel soon would),\n"
    "then cut the power after each event N (0 is before the first; from\n"
    "COMMAND's exit on, a cut is judged as one after it), mount each crash\n"
    "image that could survive (ext4 replays its journal) and hand the\n"
    "mounted tree to CHECKER, a shell command run in it with its path as\n"
    "the last argument.  It exits 0 to accept the state; its first line of\n"
    "output names it.\n"
    "\n"
    "A flush makes every write before it durable; of the writes since:\n"
    "  --mode drop    none survives (default); cut at each flush\n"
    "  --mode prefix  any prefix survives; cut after each event\n"
    "  --mode subset  any subset survives; cut before each flush, with\n"
    "                 every subset if there are at most N+2 of them, else\n"
    "                 none, all and N (--subsets, 6) random ones drawn\n"
    "                 from seed --rand (1)\n"
    "  --timeout      seconds COMMAND and each CHECKER may take (120)\n"
    "  --jobs N       judge N images at once (4 per CPU, at most 8)\n"
    "  -v             list every state, accepted ones too, and the events\n"
    "\n"
    "CHECKER's environment is powercut's: POWERCUT_FINAL=1 at the cut\n"
    "after the command exited (POWERCUT_STATUS is its exit status),\n"
    "POWERCUT_CUT, POWERCUT_EVENTS, POWERCUT_MODE and POWERCUT_RUN.  An\n"
    "image judged once is not judged again.  Needs root, /dev/fuse, loop\n"
    "devices and mkfs.ext4.\n"
    "\n"
    "Prints one line per cut point and \"N cut points, N states, N rejected\";\n"
    "exits 0 if no state was rejected, 1 if one was, 2 on error.\n";

struct args {
	struct bc_opts o;
	const char *seed;
	size_t size;
	int cmd;
};

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		usage();
	return v;
}

static int
mode(const char *s)
{
	if (strcmp(s, "drop") == 0)
		return BC_DROP;
	if (strcmp(s, "prefix") == 0)
		return BC_PREFIX;
	if (strcmp(s, "subset") == 0)
		return BC_SUBSET;
	usage();
	return -1;
}

static void
parse(int argc, char **argv, struct args *a)
{
	static const struct option longs[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "subsets", required_argument, NULL, 'n' },
		{ "rand", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'z' },
		{ "timeout", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "seed", required_argument, NULL, 's' },
		{ "check", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+v", longs, NULL)) != -1) {
		switch (ch) {
		case 'm': a->o.mode = mode(optarg); break;
		case 'n':
			a->o.subsets = (unsigned)number(optarg, 0, 4096);
			break;
		case 'r':
			a->o.rand = (unsigned long)number(optarg, 0, LONG_MAX);
			break;
		case 'z':
			a->size = (size_t)number(optarg, 8, 1024) << 20;
			break;
		case 't': a->o.timeout = (int)number(optarg, 1, 86400); break;
		case 'j': a->o.jobs = (unsigned)number(optarg, 1, 64); break;
		case 's': a->seed = optarg; break;
		case 'c': a->o.check = optarg; break;
		case 'v': a->o.verbose = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: usage();
		}
	}
	if (a->seed == NULL || a->o.check == NULL || optind >= argc)
		usage();
	a->cmd = optind;
}

/* work/NAME, made. */
static char *
subdir(const char *work, const char *name, int dir)
{
	char *p;

	if (asprintf(&p, "%s/%s", work, name) == -1)
		err(2, "out of memory");
	if (dir && mkdir(p, 0700) == -1)
		err(2, "cannot create '%s'", p);
	return p;
}

/* The fresh ext4 holding the seed, read into r->img. */
static void
make_image(struct bc_rec *r, const char *work, const char *seed)
{
	char *path = subdir(work, "mkfs.img", 0);
	ssize_t n;
	size_t got;
	int fd;

	if (bc_mkfs(path, seed, r->size) == -1)
		err(2, "mkfs.ext4 of '%s' with the seed '%s' failed", path,
		    seed);
	r->img = bc_xalloc(NULL, r->size, 1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(2, "cannot open '%s'", path);
	for (got = 0; got < r->size; got += (size_t)n)
		if ((n = pread(fd, r->img + got, r->size - got, (off_t)got)) <=
		    0)
			err(2, "cannot read '%s'", path);
	(void)close(fd);
	(void)unlink(path);
	free(path);
}

/*
 * Attach the recorder's file, mount its ext4 on ext, sync it, and begin
 * the epoch.  The loop device detaches itself once ext is unmounted.
 */
static void
start(struct bc_rec *r, const char *img, const char *ext)
{
	char dev[64];
	int lfd, fd;

	if ((lfd = bc_loop_attach(img, dev, sizeof(dev))) == -1)
		err(2, "cannot attach '%s' to a loop device", img);
	/* (no periodic commit: only the command's syncs make it durable) */
	if (bc_mount_ext4(dev, ext, "noinit_itable,commit=3600") == -1)
		err(2, "cannot mount the ext4 on '%s'", dev);
	if ((fd = open(ext, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    syncfs(fd) == -1 || fsync(lfd) == -1)
		err(2, "cannot sync the ext4 on '%s'", dev);
	(void)close(fd);
	(void)close(lfd);
	bc_rec_start(r);
}

/* The events of this kind among from .. to-1. */
static size_t
count(const struct bc_rec *r, enum bc_kind kind, size_t from, size_t to)
{
	size_t k, n = 0;

	for (k = from; k < to; k++)
		n += r->ev[k].kind == kind;
	return n;
}

static void
list_events(const struct bc_rec *r)
{
	size_t k;

	for (k = 0; k < r->n; k++)
		if (r->ev[k].kind == BC_FLUSH)
			printf("event %zu: flush%s\n", k + 1,
			    k >= r->exited ? " (after the command)" : "");
		else
			printf("event %zu: write %lld+%zu%s\n", k + 1,
			    (long long)r->ev[k].off, r->ev[k].len,
			    k >= r->exited ? " (after the command)" : "");
}

/* Run the command in the epoch; its exit status. */
static int
record(struct args *a, struct bc_rec *r, const char *work, char **argv)
{
	char *fmnt = subdir(work, "fuse", 1), *ext = subdir(work, "ext", 1);
	char *img = subdir(fmnt, "img", 0);
	struct bc_fs *fs;
	int st, ok, fd;
	pid_t pid;

	if ((fs = bc_fs_mount(r, fmnt)) == NULL)
		err(2, "cannot mount the recorder on '%s'", fmnt);
	start(r, img, ext);
	pid = bc_spawn((const char *const *)(argv + a->cmd), ext, -1);
	ok = pid != -1 && bc_wait(pid, a->o.timeout, &st) == 0;
	bc_rec_exited(r);
	/* what the writeback and the journal timer would do soon after */
	if ((fd = open(ext, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    syncfs(fd) == -1)
		warn("cannot sync '%s'", ext);
	if (fd != -1)
		(void)close(fd);
	bc_rec_stop(r);
	if (!ok)
		warn("cannot run '%s'", argv[a->cmd]);
	if (bc_umount(ext) == -1)
		warn("cannot unmount '%s'", ext);
	bc_fs_unmount(fs);
	if (!ok)
		exit(2);
	free(img);
	free(fmnt);
	free(ext);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char work[PATH_MAX];

/* What blockcut made in work; a directory still mounted stays. */
static void
clean_up(void)
{
	static const char *const names[] = { "mkfs.img", "fuse", "ext" };
	char p[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", work, names[i]);
		if (unlink(p) == -1 && errno == EISDIR)
			(void)rmdir(p);
	}
	(void)rmdir(work);
}

int
main(int argc, char **argv)
{
	struct args a = { .o = { .subsets = 6, .rand = 1, .timeout = 120 },
		.size = 16 << 20 };
	struct bc_rec r = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct bc_tally t = { 0 };
	const char *tmp = getenv("TMPDIR");
	char *seed;
	sigset_t set;
	long ncpu;
	int st;

	parse(argc, argv, &a);
	if (a.o.jobs == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		/* (a mount mostly waits: four per CPU) */
		a.o.jobs = ncpu < 1 ? 4 : ncpu > 2 ? 8 : 4 * (unsigned)ncpu;
	}
	if ((seed = realpath(a.seed, NULL)) == NULL)
		err(2, "cannot find the seed '%s'", a.seed);
	a.seed = seed;
	r.size = a.size;
	/* bc_wait waits for SIGCHLD; every thread blocks it */
	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &set, NULL);
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		err(2, "cannot make a private mount namespace");
	(void)snprintf(work, sizeof(work), "%s/blockcut.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(work) == NULL)
		err(2, "cannot create a directory in '%s'", work);
	(void)atexit(clean_up);
	a.o.stateimg = subdir(work, "state", 0);
	make_image(&r, work, a.seed);
	st = record(&a, &r, work, argv);
	printf("blockcut: '%s' exited %d after %zu events (%zu writes, "
	       "%zu flushes)\n",
	    argv[a.cmd], st, r.exited, count(&r, BC_WRITE, 0, r.exited),
	    count(&r, BC_FLUSH, 0, r.exited));
	printf("blockcut: then %zu events (%zu writes, %zu flushes) of the "
	       "sync after it\n",
	    r.n - r.exited, count(&r, BC_WRITE, r.exited, r.n),
	    count(&r, BC_FLUSH, r.exited, r.n));
	if (a.o.verbose)
		list_events(&r);
	fflush(stdout);
	if (bc_cut_all(&r, st, &a.o, &t) == -1)
		err(2, "cannot judge a state");
	printf("%zu cut points, %zu states, %zu rejected "
	       "(%zu distinct states checked, mode %s)\n",
	    t.cuts, t.states, t.rejected, t.distinct, bc_mode_name(a.o.mode));
	return t.rejected > 0;
}

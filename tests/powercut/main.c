/*
 * main.c - powercut(1) of the tests: run a command on the power-cut file
 * system and judge every state a power cut could leave.
 *
 * The seed is copied into a backing directory, the file system is
 * mounted over it in a private mount namespace (so that nothing is left
 * mounted if powercut dies), the command runs once in the mount, and
 * then, offline, each cut point's states are written out one by one and
 * handed to the checker.  See powercut.h for the persistence model.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powercut.h"

static const char usage_text[] =
    "usage: powercut [-v] [--mode drop|prefix] [--at N | --all] --seed DIR\n"
    "                --check CHECKER -- COMMAND [ARG ...]\n"
    "\n"
    "Run COMMAND once, in a FUSE mount of a copy of DIR that logs every\n"
    "change and every sync, then cut the power after each event N (0 is\n"
    "before the first; --at N cuts only there, --all, the default, at each)\n"
    "and hand every state that could survive to CHECKER, a shell command\n"
    "run in the state's directory with that directory as its last argument.\n"
    "It exits 0 to accept the state; its first line of output names it.\n"
    "\n"
    "Durable: a file's data and metadata once fsync(2)ed (data alone with\n"
    "fdatasync), a directory's entries once the directory is fsynced.\n"
    "  --mode drop    a cut loses every change not yet durable (default)\n"
    "  --mode prefix  and also keeps each prefix of them, in their order\n"
    "  -v             list every state, accepted ones too, and the events\n"
    "\n"
    "CHECKER's environment: POWERCUT_FINAL=1 at the cut after the command\n"
    "exited (POWERCUT_STATUS is its exit status), POWERCUT_CUT,\n"
    "POWERCUT_EVENTS, POWERCUT_MODE, and POWERCUT_RUN, the same for every\n"
    "state of this run and no other.  A state judged once is not judged\n"
    "again at another cut point: the verdict may depend on the state and\n"
    "POWERCUT_FINAL only.\n"
    "\n"
    "Prints one line per cut point and \"N cut points, N states, N rejected\";\n"
    "exits 0 if no state was rejected, 1 if one was, 2 on error.\n";

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

/* Options into o; returns the index of COMMAND in argv. */
static int
parse(int argc, char **argv, struct pc_opts *o, const char **seed)
{
	static const struct option longs[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "at", required_argument, NULL, 'a' },
		{ "all", no_argument, NULL, 'A' },
		{ "seed", required_argument, NULL, 's' },
		{ "check", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "+v", longs, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "drop") != 0 &&
			    strcmp(optarg, "prefix") != 0)
				usage();
			o->prefix = strcmp(optarg, "prefix") == 0;
			break;
		case 'a':
			errno = 0;
			o->at = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->at < 0)
				usage();
			break;
		case 'A': o->at = -1; break;
		case 's': *seed = optarg; break;
		case 'c': o->check = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: usage();
		}
	}
	if (*seed == NULL || o->check == NULL || optind >= argc)
		usage();
	return optind;
}

/*
 * A private mount namespace, so that the mount dies with this process;
 * without the privilege to make one, the mount is unmounted on the way
 * out as usual.
 */
static void
private_mounts(void)
{
	if (unshare(CLONE_NEWNS) == 0)
		(void)mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* work/NAME, made. */
static char *
subdir(const char *work, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", work, name) == -1)
		err(2, "out of memory");
	if (mkdir(p, 0700) == -1)
		err(2, "cannot create '%s'", p);
	return p;
}

/* The backing directory: the seed, and the map of its inode numbers. */
static void
set_up(struct pc_log *log, const char *seed, const char *back)
{
	int fd;

	if (pc_model_read(&log->seed, seed) == -1)
		err(2, "cannot read the seed '%s'", seed);
	log->bino = pc_xalloc(NULL, log->seed.n, sizeof(*log->bino));
	if ((fd = open(back, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    pc_model_write(&log->seed, fd, log->bino) == -1)
		err(2, "cannot copy the seed into '%s'", back);
	(void)close(fd);
}

static void
list_events(const struct pc_log *log)
{
	size_t k;

	for (k = 0; k < log->n; k++)
		printf("event %zu: %s\n", k + 1, log->ev[k].desc);
}

static int
exit_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
	struct pc_opts o = { .at = -1 };
	struct pc_log log = { 0 };
	struct pc_tally t = { 0 };
	const char *seed = NULL, *tmp = getenv("TMPDIR");
	char work[PATH_MAX], *back, *mnt;
	int cmd, st;

	cmd = parse(argc, argv, &o, &seed);
	private_mounts();
	(void)snprintf(work, sizeof(work), "%s/powercut.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(work) == NULL)
		err(2, "cannot create a directory in '%s'", work);
	back = subdir(work, "back");
	mnt = subdir(work, "mnt");
	o.statedir = subdir(work, "state");
	set_up(&log, seed, back);
	if (pc_fs_run(&log, back, mnt, argv + cmd, &st) == -1)
		err(2, "cannot mount the power-cut file system on '%s'", mnt);
	printf("powercut: '%s' exited %d after %zu events\n", argv[cmd],
	    exit_status(st), log.n);
	if (o.verbose)
		list_events(&log);
	fflush(stdout);
	if (pc_cut_all(&log, exit_status(st), &o, &t) == -1)
		err(2, "cannot judge a state");
	printf("%zu cut points, %zu states, %zu rejected "
	       "(%zu distinct states checked, mode %s)\n",
	    t.cuts, t.states, t.rejected, t.distinct,
	    o.prefix ? "prefix" : "drop");
	(void)pc_rm_tree(AT_FDCWD, work);
	return t.rejected > 0;
}

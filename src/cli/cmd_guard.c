/*
 * cmd_guard.c - hotswap guard: run a command with libhotswap-guard.so
 * preloaded, so that its in-place overwrites of files that running
 * processes map are refused, warned about, or turned into replacements.
 *
 *	hotswap guard [--refuse | --warn | --fix] [-q] -- command [arg ...]
 *
 * This process only prepares the environment (LD_PRELOAD, the mode and
 * -q in HOTSWAP_GUARD_MODE and HOTSWAP_GUARD_QUIET) and replaces itself
 * with the command, so the exit status is the command's own.  It
 * refuses, with status 126, a command that would silently ignore the
 * library: a statically linked one (no ELF interpreter); it warns about
 * a set-user-ID or set-group-ID one, which the loader runs without
 * LD_PRELOAD unless the IDs do not change.
 */
#include <sys/stat.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotswap.h"
#include "cmd.h"

#define GUARD_LIB	"libhotswap-guard.so"
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND	127

enum {
	OPT_REFUSE = 256,
	OPT_WARN,
	OPT_FIX,
};

static const struct option guard_longopts[] = {
	{ "fix", no_argument, NULL, OPT_FIX },
	{ "help", no_argument, NULL, 'h' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "refuse", no_argument, NULL, OPT_REFUSE },
	{ "warn", no_argument, NULL, OPT_WARN },
	{ NULL, 0, NULL, 0 },
};

/* realpath of candidate into out if it is a readable file. */
static int
usable(const char *candidate, char *out)
{
	return access(candidate, R_OK) == 0 &&
		realpath(candidate, out) != NULL ?
	    0 :
	    -1;
}

/*
 * Where the library is: $HOTSWAP_GUARD_LIB, else ../lib beside the
 * installed binary (PREFIX/bin/hotswap, PREFIX/lib/...), else beside the
 * binary itself (the build tree).  The path is made absolute: the
 * command may change directory before it runs others.
 */
static int
find_lib(char *out)
{
	char self[PATH_MAX], try[PATH_MAX + 32], *slash;
	const char *env = getenv("HOTSWAP_GUARD_LIB");
	ssize_t n;

	if (env != NULL && *env != '\0') {
		if (usable(env, out) == -1) {
			warn("cannot use HOTSWAP_GUARD_LIB '%s'",
			    vis_path(env));
			return -1;
		}
		return 0;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		goto missing;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		goto missing;
	*slash = '\0';
	(void)snprintf(try, sizeof(try), "%s/../lib/%s", self, GUARD_LIB);
	if (usable(try, out) == 0)
		return 0;
	(void)snprintf(try, sizeof(try), "%s/%s", self, GUARD_LIB);
	if (usable(try, out) == 0)
		return 0;
missing:
	warnx("cannot find %s beside hotswap or in ../lib; set "
	      "HOTSWAP_GUARD_LIB",
	    GUARD_LIB);
	return -1;
}

/*
 * Find cmd as execvp(3) would: as given if it has a slash, else the
 * first executable regular file of that name in $PATH.  0, or -1 with
 * errno ENOENT or EACCES.
 */
static int
find_command(const char *cmd, char *out)
{
	const char *path = getenv("PATH"), *p, *end;
	int denied = 0;
	struct stat st;
	size_t len;

	if (strchr(cmd, '/') != NULL) {
		(void)snprintf(out, PATH_MAX, "%s", cmd);
		return access(out, X_OK);
	}
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		if (snprintf(out, PATH_MAX, "%.*s%s%s", (int)len, p,
			len ? "/" : "", cmd) < PATH_MAX &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			denied = 1;
		}
		if (*end == '\0')
			break;
	}
	errno = denied ? EACCES : ENOENT;
	return -1;
}

/* A set-ID program runs without LD_PRELOAD when it changes our IDs. */
static void
warn_setid(const char *path, int quiet)
{
	struct stat st;

	if (quiet || stat(path, &st) == -1)
		return;
	if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
	    ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
		warnx("'%s' is set-%s-ID: it runs without the guard library",
		    vis_path(path), (st.st_mode & S_ISUID) ? "user" : "group");
}

/* LD_PRELOAD with lib first; it splits on blanks and colons. */
static int
set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	int r;

	if (strpbrk(lib, " :\t\n") != NULL) {
		warnx("cannot preload '%s': LD_PRELOAD cannot hold a path "
		      "with blanks or colons",
		    vis_path(lib));
		return -1;
	}
	if (old == NULL || *old == '\0')
		return setenv("LD_PRELOAD", lib, 1);
	if (asprintf(&v, "%s:%s", lib, old) == -1)
		return -1;
	r = setenv("LD_PRELOAD", v, 1);
	free(v);
	return r;
}

/* Replace this process with the command; returns only on failure. */
static int
run(char *path, char **argv)
{
	static char shname[] = "sh";
	char *sh[64];
	int i;

	execv(path, argv);
	if (errno == ENOEXEC) { /* a script without "#!", as execvp */
		sh[0] = shname;
		sh[1] = path;
		for (i = 1; argv[i] != NULL && i < 62; i++)
			sh[i + 1] = argv[i];
		sh[i + 1] = NULL;
		execv("/bin/sh", sh);
	}
	warn("cannot run '%s'", vis_path(path));
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}

int
cmd_guard(int argc, char **argv)
{
	char lib[PATH_MAX], path[PATH_MAX], culprit[PATH_MAX];
	const char *mode = "refuse";
	int ch, quiet = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+hq", guard_longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case OPT_REFUSE: mode = "refuse"; break;
		case OPT_WARN: mode = "warn"; break;
		case OPT_FIX: mode = "fix"; break;
		case 'q': quiet = 1; break;
		case 'h': return usage(stdout);
		default: return usage(stderr);
		}
	}
	if (optind >= argc)
		return usage(stderr);
	argv += optind;
	if (find_command(argv[0], path) == -1) {
		warn("cannot run '%s'", vis_path(argv[0]));
		return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
	}
	if (elf_dynamic(path, 0, culprit) == 0) {
		warnx("cannot guard '%s': '%s' is statically linked and "
		      "would ignore the guard library",
		    vis_path(argv[0]), vis_path(culprit));
		return EXIT_CANNOT_RUN;
	}
	warn_setid(path, quiet);
	if (find_lib(lib) == -1 || set_preload(lib) == -1 ||
	    setenv("HOTSWAP_GUARD_MODE", mode, 1) == -1 ||
	    (quiet ? setenv("HOTSWAP_GUARD_QUIET", "1", 1) :
		     unsetenv("HOTSWAP_GUARD_QUIET")) == -1)
		return EXIT_CANNOT_RUN;
	return run(path, argv);
}

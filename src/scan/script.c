/*
 * script.c - stale scripts: a process whose executable is a known
 * interpreter, whose script file named on its command line was
 * replaced (or changed) after the process started, or deleted.  The
 * interpreter compiled the old text and runs it; a restart would run the
 * new one.  Reported as a pseudo-mapping of kind HS_MAP_SCRIPT |
 * HS_MAP_REPLACED (the file now at the path, its dev and inode) or
 * HS_MAP_DELETED.
 *
 * Only /proc is read, and nothing found there is run, loaded or opened
 * for reading: the interpreter is known by the name of /proc/PID/exe
 * (readlinkat(2)), the script by /proc/PID/cmdline, parsed per
 * interpreter (hs_script_arg(): the first argument that is not an
 * option, options that take a value skipped with it); the script is
 * looked up with openat2(2) O_PATH under the process's own root
 * (/proc/PID/root, RESOLVE_IN_ROOT: absolute links stay inside, a
 * chroot or container is judged by its own files) or, for a relative
 * name, beneath its working directory (/proc/PID/cwd, RESOLVE_BENEATH:
 * a name that leaves it through ".." or an absolute link is not
 * judged, nor one missing there, since the process may have changed
 * directory after it started), and fstat(2)'d.  The process's environment (PYTHONPATH,
 * PERL5LIB, RUBYLIB...) is never read.
 *
 * Replaced means: the file's ctime (which rename(2), write(2), chmod(2)
 * all set, and which utimensat(2) cannot set back) is later than the
 * process's start (/proc/PID/stat field 22, clock ticks after boot,
 * made wall-clock time with the offset CLOCK_REALTIME - CLOCK_BOOTTIME)
 * by more than two clock ticks, the start time's precision.  So a
 * chmod(1) of the script counts as a change, and a step of the clock
 * (not NTP's slewing) since the process started shifts the comparison.
 *
 * What cannot be known this way, and is not guessed: modules a script
 * imported and closed (Python's, Perl's, Ruby's libraries: they are
 * neither mapped nor open; only native extensions, which are mapped, are
 * seen by the maps check); "python -m module", "-c" and "-e" code; a
 * script read from standard input or found on PATH (perl -S, ruby -S);
 * a process that rewrote its command line (setproctitle) or an
 * interpreter under another name (busybox sh); a script the interpreter
 * still holds open is also seen as a descriptor (fds.c), under its old
 * inode.
 */
#include <sys/stat.h>
#include <linux/openat2.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scan.h"
#include "sys.h"

#define CMDLINE_MAX 4096

enum family {
	F_NONE = 0,
	F_PYTHON,
	F_PERL,
	F_RUBY,
	F_SH,
	F_NODE,
	F_PHP,
	F_LUA,
	F_JAVA,
	F_TCL,
};

/*
 * Per interpreter: the names of its executable (a name followed by
 * nothing or by a version of digits and dots: python3.11, perl5.36.0),
 * the short options after which there is no script file ("stop": code
 * on the command line, a module, standard input, a changed directory),
 * those that take a value ("arg"), and those whose value IS the script
 * ("file": php -f, java -jar is handled as a long one).
 */
struct interp {
	enum family family;
	const char *names[6];
	const char *stop, *arg, *file;
	const char *longarg[6]; /* long options that take a value */
};

/* clang-format off */
static const struct interp interps[] = {
	{ F_PYTHON, { "python", "pypy" }, "cm", "WXQ", "",
	    { "--check-hash-based-pycs" } },
	{ F_PERL, { "perl" }, "eESx", "I", "", { NULL } },
	{ F_RUBY, { "ruby" }, "eSCx", "Ir", "", { NULL } },
	{ F_SH, { "sh", "bash", "dash", "zsh", "ksh", "mksh" }, "cs", "oO",
	    "", { "--rcfile", "--init-file" } },
	{ F_NODE, { "node", "nodejs" }, "epi", "r", "",
	    { "--require", "--import", "--loader", "--experimental-loader" } },
	{ F_PHP, { "php" }, "rRBEaS", "cdz", "f", { NULL } },
	{ F_LUA, { "lua", "luajit" }, "ei", "l", "", { NULL } },
	{ F_JAVA, { "java" }, "", "", "", { NULL } },
	{ F_TCL, { "tclsh", "wish" }, "", "", "", { "-encoding" } },
};
/* clang-format on */

#define NINTERP (sizeof(interps) / sizeof(*interps))

/* [s, s + len) is name, or name and a version of digits and dots. */
static int
name_is(const char *s, size_t len, const char *name)
{
	size_t k = strlen(name), i;

	if (len < k || memcmp(s, name, k) != 0)
		return 0;
	for (i = k; i < len; i++)
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.')
			return 0;
	return 1;
}

/*
 * The interpreter family (an index + 1 into interps[]) of the executable
 * named [exe, exe + len), by its base name; 0 if it is none.
 */
int
hs_script_family(const char *exe, size_t len)
{
	const char *base = memrchr(exe, '/', len);
	size_t i, j, n;

	base = base != NULL ? base + 1 : exe;
	n = (size_t)(exe + len - base);
	for (i = 0; i < NINTERP; i++)
		for (j = 0; j < 6 && interps[i].names[j] != NULL; j++)
			if (name_is(base, n, interps[i].names[j]))
				return (int)i + 1;
	return 0;
}

static int
is_longarg(const struct interp *in, const char *a)
{
	size_t i;

	for (i = 0; i < 6 && in->longarg[i] != NULL; i++)
		if (strcmp(a, in->longarg[i]) == 0)
			return 1;
	return 0;
}

/*
 * A cluster of short options "-abc" (or "+o" for a shell): 0 go on, 1
 * the next argument is a value to skip, 2 it is the script, -1 there is
 * no script file.
 */
static int
short_opts(const struct interp *in, const char *a)
{
	const char *p;

	for (p = a + 1; *p != '\0'; p++) {
		if (strchr(in->stop, *p) != NULL)
			return -1;
		if (strchr(in->file, *p) != NULL)
			return p[1] == '\0' ? 2 : -1;
		if (strchr(in->arg, *p) != NULL)
			return p[1] == '\0' ? 1 : 0;
	}
	return 0;
}

/* java: the value of -jar, if the options before it are all options. */
static int
java_arg(const char *const *argv, size_t argc, size_t *which)
{
	size_t i;

	for (i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-jar") == 0) {
			*which = i + 1;
			return 1;
		}
		if (strcmp(argv[i], "-cp") == 0 ||
		    strcmp(argv[i], "-classpath") == 0 ||
		    strcmp(argv[i], "--class-path") == 0 ||
		    strcmp(argv[i], "-p") == 0 ||
		    strcmp(argv[i], "--module-path") == 0)
			i++;
		else if (argv[i][0] != '-')
			return 0; /* a main class, not a file */
	}
	return 0;
}

/* The index of the script among argv[1..argc); 0 if there is none. */
static int
script_index(const struct interp *in, const char *const *argv, size_t argc,
    size_t *which)
{
	size_t i;
	int r;

	if (in->family == F_JAVA)
		return java_arg(argv, argc, which);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			*which = i + 1;
			return i + 1 < argc;
		}
		if (a[0] == '-' && a[1] == '-') {
			i += is_longarg(in, a) ? 1 : 0;
			continue;
		}
		if ((a[0] == '-' || (in->family == F_SH && a[0] == '+')) &&
		    a[1] != '\0') {
			if ((r = short_opts(in, a)) == -1)
				return 0;
			if (r == 2 && i + 1 < argc) {
				*which = i + 1;
				return 1;
			}
			i += r == 1 ? 1 : 0;
			continue;
		}
		if (strcmp(a, "-") == 0)
			return 0; /* standard input */
		*which = i;
		return 1;
	}
	return 0;
}

/*
 * The script named by the command line argv[0..len) (NUL-separated, as
 * /proc/PID/cmdline; an unterminated last argument, cut by the read, is
 * ignored) of an interpreter of family (from hs_script_family()): 1 and
 * its place [*off, *off + *arglen), or 0 if it names none.  Pure: the
 * fuzz target and the unit tests call it directly.
 */
int
hs_script_arg(int family, const char *argv, size_t len, size_t *off,
    size_t *arglen)
{
	const char *args[64];
	size_t argc = 0, pos = 0, which = 0;
	const char *nul;

	if (family < 1 || (size_t)family > NINTERP)
		return 0;
	while (pos < len && argc < sizeof(args) / sizeof(*args)) {
		if ((nul = memchr(argv + pos, '\0', len - pos)) == NULL)
			break;
		args[argc++] = argv + pos;
		pos = (size_t)(nul - argv) + 1;
	}
	if (!script_index(&interps[family - 1], args, argc, &which) ||
	    which >= argc || args[which][0] == '\0')
		return 0;
	*off = (size_t)(args[which] - argv);
	*arglen = strlen(args[which]);
	return *arglen < PATH_MAX;
}

/* Wall-clock nanoseconds of a start time in clock ticks after boot. */
static int
start_wall(uint64_t ticks, int64_t *ns)
{
	struct timespec rt, bt;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || clock_gettime(CLOCK_REALTIME, &rt) == -1 ||
	    clock_gettime(CLOCK_BOOTTIME, &bt) == -1)
		return -1;
	*ns = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL +
	    (rt.tv_nsec - bt.tv_nsec) +
	    (int64_t)(ticks * (1000000000ULL / (unsigned long)hz)) +
	    2 * (int64_t)(1000000000ULL / (unsigned long)hz);
	return 0;
}

/* Read PID/name into buf (len - 1 bytes at most); its length or -1. */
static ssize_t
read_proc(struct hs_scan *s, const char *name, char *buf, size_t len)
{
	char path[48];
	ssize_t n;
	int fd, serrno;

	(void)snprintf(path, sizeof(path), "%s/%s", s->pidname, name);
	if ((fd = hs_openat(s->procfd, path, O_RDONLY, 0)) == -1)
		return -1;
	do
		n = hs_sys.read(fd, buf, len - 1);
	while (n == -1 && errno == EINTR);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/*
 * fstat the script name as the process would find it: under its root
 * if absolute, beneath its working directory if not.  -1 with errno.
 */
static int
stat_script(struct hs_scan *s, const char *name, struct stat *st)
{
	struct open_how how;
	int dirfd, fd, r, serrno;

	if (hs_scan_pdir(s) == -1)
		return -1;
	dirfd = hs_openat(s->pdir, name[0] == '/' ? "root" : "cwd",
	    O_PATH | O_DIRECTORY, 0);
	if (dirfd == -1)
		return -1;
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_NO_MAGICLINKS |
	    (name[0] == '/' ? RESOLVE_IN_ROOT : RESOLVE_BENEATH);
	do
		fd = hs_sys.openat2(dirfd, name, &how, sizeof(how));
	while (fd == -1 && (errno == EINTR || errno == EAGAIN));
	serrno = errno;
	(void)hs_close(dirfd);
	if (fd == -1) {
		errno = serrno;
		return -1;
	}
	r = hs_sys.fstat(fd, st);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

/* Keep the script: its name made absolute with the cwd's, if relative. */
static int
keep_script(struct hs_scan *s, const char *name, const struct stat *st,
    unsigned int v)
{
	char full[PATH_MAX * 2];
	struct hs_maps_rec rec;
	ssize_t n = 0;
	size_t len = strlen(name);

	memset(&rec, 0, sizeof(rec));
	if (st != NULL) {
		rec.dev = st->st_dev;
		rec.ino = st->st_ino;
	}
	if (name[0] != '/' && hs_scan_pdir(s) != -1 &&
	    (n = hs_sys.readlinkat(s->pdir, "cwd", full, PATH_MAX)) > 0 &&
	    full[0] == '/') {
		full[n] = '\0';
		len = (size_t)snprintf(full + n, sizeof(full) - (size_t)n,
			  "%s%s", n > 1 ? "/" : "", name) +
		    (size_t)n;
		return hs_scan_add(s, &rec, HS_MAP_SCRIPT | v, 0, full, len);
	}
	return hs_scan_add(s, &rec, HS_MAP_SCRIPT | v, 0, name, len);
}

/* The family of the current process's executable; 0 if none. */
static int
exe_family(struct hs_scan *s)
{
	char exe[PATH_MAX + 1], path[32];
	ssize_t n;
	size_t len;

	(void)snprintf(path, sizeof(path), "%s/exe", s->pidname);
	n = hs_sys.readlinkat(s->procfd, path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	len = (size_t)n;
	if (len > 10 && memcmp(exe + len - 10, " (deleted)", 10) == 0)
		len -= 10;
	return hs_script_family(exe, len);
}

/*
 * Judge the current process's script, if it is an interpreter's: see
 * the top of the file.  Anything that cannot be read leaves it
 * unjudged; -1 only on ENOMEM.
 */
int
hs_stale_script(struct hs_scan *s)
{
	char cmd[CMDLINE_MAX], stat_buf[1024], comm[64];
	struct stat st;
	uint64_t ticks;
	int64_t start;
	size_t off, len;
	ssize_t n;
	int family;

	if ((family = exe_family(s)) == 0)
		return 0;
	if ((n = read_proc(s, "cmdline", cmd, sizeof(cmd))) <= 0 ||
	    !hs_script_arg(family, cmd, (size_t)n, &off, &len))
		return 0;
	if (read_proc(s, "stat", stat_buf, sizeof(stat_buf)) <= 0 ||
	    hs_procinfo_stat(stat_buf, comm, sizeof(comm), &ticks) == -1 ||
	    start_wall(ticks, &start) == -1)
		return 0;
	if (stat_script(s, cmd + off, &st) == -1) {
		/* Relative: the process may have changed directory since. */
		if (errno == ENOENT && cmd[off] == '/')
			return keep_script(s, cmd + off, NULL, HS_MAP_DELETED);
		s->st.unresolved++;
		return 0;
	}
	if (!S_ISREG(st.st_mode) ||
	    (int64_t)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec <=
		start)
		return 0;
	return keep_script(s, cmd + off, &st, HS_MAP_REPLACED);
}

/*
 * cmdline.c - which interpreter an executable is, and which argument of
 * its command line names its script (for script.c).  Pure functions
 * over bytes a process chose (its exe's name, its /proc/PID/cmdline):
 * bounded, no allocation, fuzzed (tests/fuzz/fuzz_proc.c).
 */
#include <limits.h>
#include <string.h>

#include "scan.h"

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

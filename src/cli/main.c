/*
 * main.c - hotswap: parse the subcommand and dispatch.
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "cmd.h"

/* clang-format off */
static const struct {
	const char	*name;
	int		(*run)(int, char **);
} commands[] = {
	{ "guard",	cmd_guard },
	{ "install",	cmd_install },
	{ "recover",	cmd_recover },
	{ "restart",	cmd_restart },
	{ "rollback",	cmd_rollback },
	{ "stale",	cmd_stale },
	{ "who",	cmd_who },
};
/* clang-format on */

/*
 * Identical to the SYNOPSIS of hotswap(1); a test holds them together.
 * install --help prints the install lines alone.
 */
static const char synopsis_install[] =
    "usage: hotswap install [-bCcDnPpqsTv] [--backup[=control]] [--debug]\n"
    "                       [--free-later] [--in-place [--force]] [--no-sync]\n"
    "                       [-g group] [-m mode] [-o owner] [-S suffix]\n"
    "                       [--strip-program=program]\n"
    "                       [-Z | --context[=ctx]] [--preserve-context]\n"
    "                       source dest\n"
    "       hotswap install [-bCcDnPpqsv] [--backup[=control]] [--debug]\n"
    "                       [--free-later] [--io=way] [--no-sync] [--no-wait]\n"
    "                       [-g group] [-m mode] [-o owner] [-S suffix]\n"
    "                       [--strip-program=program]\n"
    "                       [-Z | --context[=ctx]] [--preserve-context]\n"
    "                       source ... directory\n"
    "       hotswap install [-bCcDnPpqsv] [--backup[=control]] [--debug]\n"
    "                       [--free-later] [--io=way] [--no-sync] [--no-wait]\n"
    "                       [-g group] [-m mode] [-o owner] [-S suffix]\n"
    "                       [--strip-program=program]\n"
    "                       [-Z | --context[=ctx]] [--preserve-context]\n"
    "                       -t directory source ...\n"
    "       hotswap install -d [-nv] [--no-sync] [-g group] [-m mode]\n"
    "                       [-o owner] [-Z | --context[=ctx]] directory ...\n"
    "       hotswap install -r [-bCnPpqv] [--debug] [--free-later] [--io=way]\n"
    "                       [--no-sync] [--no-wait] [-S suffix] srcdir destdir\n"
    "       hotswap install --manifest file [-0bCDnPpqv] [--debug]\n"
    "                       [--free-later] [--io=way] [--no-sync] [--no-wait]\n"
    "                       [-S suffix]\n";

static const char synopsis_rest[] =
    "       hotswap recover [-v] directory ...\n"
    "       hotswap rollback [-nPqv] [--no-sync] [-S suffix] dest ...\n"
    "       hotswap who [-qv] [--json] file ...\n"
    "       hotswap stale [--json | --unit | --format format] [-p pid] ...\n"
    "       hotswap restart [--list | --interactive | --yes] [--json]\n"
    "                       [--reexec] [--config file] [unit ...]\n"
    "       hotswap guard [--refuse | --warn | --fix] [-q] -- "
    "command [arg ...]\n"
    "       hotswap --version\n";

int
usage_install(FILE *fp)
{
	fputs(synopsis_install, fp);
	return fp == stdout ? HS_EXIT_OK : HS_EXIT_USAGE;
}

int
usage(FILE *fp)
{
	fputs(synopsis_install, fp);
	fputs(synopsis_rest, fp);
	return fp == stdout ? HS_EXIT_OK : HS_EXIT_USAGE;
}

int
version(void)
{
	printf("hotswap %s\n", HOTSWAP_VERSION);
	return HS_EXIT_OK;
}

static void
on_signal(int sig)
{
	hs_cancel_cleanup();
	(void)raise(sig); /* SA_RESETHAND: now the default, fatal */
}

void
catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

int
main(int argc, char *argv[])
{
	static char prog[64];
	size_t i;

	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "--version") == 0)
		return version();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* getopt(3) names argv[0] in its messages. */
			(void)snprintf(prog, sizeof(prog), "hotswap %s",
			    commands[i].name);
			argv[1] = prog;
			return commands[i].run(argc - 1, argv + 1);
		}
	warnx("unknown command '%s'", vis_path(argv[1]));
	return usage(stderr);
}

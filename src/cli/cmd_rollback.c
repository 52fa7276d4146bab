/*
 * cmd_rollback.c - hotswap rollback: put DEST~ back in place of DEST.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>

#include "hotswap.h"
#include "cmd.h"

enum {
	OPT_NO_SYNC = 256,
	OPT_VERSION,
};

static const struct option rollback_longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "no-dereference", no_argument, NULL, 'P' },
	{ "no-sync", no_argument, NULL, OPT_NO_SYNC },
	{ "quiet", no_argument, NULL, 'q' },
	{ "suffix", required_argument, NULL, 'S' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int
rollback_one(const char *dst, const struct hs_install_opts *opts, int verbose)
{
	struct hs_result res;

	if (hs_rollback(dst, opts, &res) == -1) {
		warn("%s '%s'", res.step, vis_path(res.path));
		return HS_EXIT_FAIL;
	}
	if (!verbose)
		return HS_EXIT_OK;
	printf("%s'%s' <- '%s'",
	    opts->flags & HS_DRY_RUN ? "would roll back " : "",
	    vis_path(res.target), vis_path(res.backup));
	if (res.backup[0] != '\0' && !(opts->flags & HS_DRY_RUN))
		printf(" (the replaced version is now '%s')",
		    vis_path(res.backup));
	putchar('\n');
	return HS_EXIT_OK;
}

int
cmd_rollback(int argc, char **argv)
{
	struct hs_install_opts opts;
	int ch, i, verbose = 0, status = HS_EXIT_OK;

	hs_install_opts_init(&opts);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hnPqS:v", rollback_longopts,
		    NULL)) != -1) {
		switch (ch) {
		case 'h': return usage(stdout);
		case 'n': opts.flags |= HS_DRY_RUN; break;
		case 'P': opts.flags |= HS_NO_DEREF; break;
		case 'q': break;
		case 'S': opts.suffix = optarg; break;
		case 'v': verbose = 1; break;
		case OPT_NO_SYNC: opts.flags |= HS_NO_SYNC; break;
		case OPT_VERSION: return version();
		default: return usage(stderr);
		}
	}
	if (optind == argc)
		return usage(stderr);
	for (i = optind; i < argc; i++)
		if (rollback_one(argv[i], &opts, verbose) != HS_EXIT_OK)
			status = HS_EXIT_FAIL;
	return status;
}

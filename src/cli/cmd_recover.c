/*
 * cmd_recover.c - hotswap recover: finish or undo an interrupted
 * transactional install (-r, --manifest, several SOURCEs) in DIR.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>

#include "hotswap.h"
#include "cmd.h"

int
cmd_recover(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct hs_result res;
	int ch, i, outcome, verbose = 0, status = HS_EXIT_OK;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		if (ch == 'h')
			return usage(stdout);
		if (ch != 'v')
			return usage(stderr);
		verbose = 1;
	}
	if (optind == argc)
		return usage(stderr);
	for (i = optind; i < argc; i++) {
		if (hs_recover(argv[i], &outcome, &res) == -1) {
			report_failure(&res);
			status = HS_EXIT_FAIL;
		} else if (outcome != 0 || verbose)
			printf("'%s': %s\n", vis_path(argv[i]),
			    outcome == 1 ? "interrupted install completed" :
				outcome == -1 ?
					   "interrupted install rolled back" :
					   "nothing to recover");
	}
	return status;
}

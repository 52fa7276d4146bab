/*
 * guard_stdio.c - overwrite a file through stdio, for the tests of
 * hotswap guard: fopen(3) and freopen(3) open inside glibc, where an
 * interposed open(2) never sees them.
 *
 *	guard_stdio fopen|freopen FILE SOURCE
 *
 * fopen: fopen(FILE, "w"), then SOURCE's bytes through fwrite(3).
 * freopen: freopen(FILE, "w", stdout), then the bytes to stdout, as a
 * program that redirects its own output does.  Exit 0, or 1 with a
 * message (the errno of the failed open: ETXTBSY under --refuse).
 */
#include <err.h>
#include <stdio.h>
#include <string.h>

static char buf[1 << 20];

int
main(int argc, char **argv)
{
	FILE *in, *out;
	size_t n;

	if (argc != 4 ||
	    (strcmp(argv[1], "fopen") != 0 && strcmp(argv[1], "freopen") != 0))
		errx(1, "usage: guard_stdio fopen|freopen FILE SOURCE");
	if ((in = fopen(argv[3], "rb")) == NULL)
		err(1, "%s", argv[3]);
	n = fread(buf, 1, sizeof(buf), in);
	(void)fclose(in);
	if (argv[1][0] == 'f' && argv[1][1] == 'o')
		out = fopen(argv[2], "w");
	else
		out = freopen(argv[2], "w", stdout);
	if (out == NULL)
		err(1, "%s", argv[2]);
	if (fwrite(buf, 1, n, out) != n || fclose(out) == EOF)
		err(1, "%s", argv[2]);
	return 0;
}

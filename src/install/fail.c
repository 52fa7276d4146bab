/*
 * fail.c - hs_fail(), the one way the library records what failed.
 *
 * In a file of its own so that libhotswap-guard.so, which links meta.o
 * but not the replacement engine, can link it too.
 */
#include "install.h"

int
hs_fail(struct hs_result *res, const char *step, const char *path)
{
	res->step = step;
	res->path = path;
	return -1;
}

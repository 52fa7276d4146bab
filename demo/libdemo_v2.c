/*
 * libdemo_v2.c - version 2 of the demo's library: an ordinary small one.
 *
 * Its whole file (about 14 KiB) ends long before the 128 KiB offset of
 * version 1's demo_version(); that is what makes cp(1) of it over a
 * mapped v1 a SIGBUS.  run.sh checks the sizes rather than trusting this
 * comment.
 */
// CFLAGS: -s
#include "libdemo.h"

int
demo_version(void)
{
	return 2;
}

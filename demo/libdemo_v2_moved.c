/*
 * libdemo_v2_moved.c - version 2 of the demo's library, the same size as
 * version 1 to the byte but with the code moved.
 *
 * demo_version() returns 2 from the start of the first slot; where v1
 * had demo_version(), 64 KiB further on, this file has traps (see
 * libdemo.h).  cp(1) of this file over v1 leaves the size unchanged, so
 * there is no SIGBUS: the service calls the old address, fetches ud2 and
 * dies of SIGILL.
 */
// CFLAGS: -s
#include "libdemo.h"

DEMO_TEXT(DEMO_SLOT_VERSION(2), DEMO_SLOT_TRAPS);

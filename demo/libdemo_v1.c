/*
 * libdemo_v1.c - version 1 of the library the demo's service runs.
 *
 * demo_version() returns 1 and lies in the second slot, at least 128 KiB
 * into the file, behind 64 KiB of traps (see libdemo.h).  libdemo_v2.so
 * is much smaller than that: once cp(1) has written v2 into this file,
 * the page holding the code the service calls is past the end of the
 * file, and the next call dies of SIGBUS.
 */
// CFLAGS: -s
#include "libdemo.h"

DEMO_TEXT(DEMO_SLOT_TRAPS, DEMO_SLOT_VERSION(1));

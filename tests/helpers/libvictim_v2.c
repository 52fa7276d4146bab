/*
 * libvictim_v2.c - version 2 of the library the end-to-end tests replace
 * under a running victim.
 *
 * victim_version() is placed 64 KiB into .text, behind a page-aligned
 * block of padding code: a copy of this library cut short to its first
 * 4096 bytes leaves the function beyond end of file, so overwriting the
 * mapped file in place with such a copy (what cp(1) does) makes the next
 * call fault with SIGBUS, every time.  That is the control case that
 * shows the test harness can see a crash.
 */
#include "libvictim.h"

VICTIM_LIBRARY(2)

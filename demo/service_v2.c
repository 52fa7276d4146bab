/*
 * service_v2.c - version 2 of the demo's service: the same program,
 * saying "2" and carrying different ballast, so that its file differs
 * from version 1's in every block.
 */
#define SERVICE_VERSION 2
#include "service.c"

/*
 * fuzz_maps.c - libFuzzer target for the /proc/PID/maps parser.
 *
 * The input is split at a point chosen from its first byte, fed in two
 * pieces and drained after each, then once more as one line to
 * hs_maps_parse_line() directly.  ASan catches any read past the input;
 * the checks below catch records that contradict the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct hs_maps_rec *r)
{
	if (r->end < r->start || r->namelen > r->pathlen ||
	    r->path[r->pathlen] != '\0')
		abort();
}

static void
drain(struct hs_maps *m)
{
	struct hs_maps_rec rec;

	while (hs_maps_next(m, &rec) == 1)
		check(&rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_maps m;
	struct hs_maps_rec rec;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	char *line;

	hs_maps_init(&m);
	m.maxline = 4096; /* reach the overlong path with small inputs */
	if (hs_maps_feed(&m, data, cut) == -1)
		abort();
	drain(&m);
	if (hs_maps_feed(&m, data + cut, size - cut) == -1)
		abort();
	drain(&m);
	(void)hs_maps_feed(&m, NULL, 0);
	drain(&m);
	hs_maps_free(&m);

	/* Exactly size bytes plus the one writable byte the contract asks. */
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	if (hs_maps_parse_line(line, size, &rec) == 0)
		check(&rec);
	free(line);
	return 0;
}

/*
 * fuzz_manifest.c - libFuzzer target for the manifest parser.
 *
 * The input is parsed in both forms (text, and NUL-separated with -0).
 * ASan catches any read or write past the input or the parser's buffer;
 * the checks below catch entries that contradict the grammar: every
 * entry has a non-empty SOURCE and DEST, every string lies inside the
 * parser's own buffer, and line numbers only grow; and a text manifest
 * with a NUL byte anywhere is never accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
inside(const struct hs_manifest *m, size_t size, const char *s)
{
	if (s != NULL && (s < m->buf || s > m->buf + size || strlen(s) > size))
		abort();
}

static void
parse(const uint8_t *data, size_t size, int nul)
{
	struct hs_manifest m;
	const char *msg = NULL;
	unsigned long line = 0, last = 0;
	size_t i;

	if (hs_manifest_parse((const char *)data, size, nul, &m, &line, &msg) ==
	    -1) {
		if (msg == NULL || line == 0)
			abort();
		return;
	}
	if (!nul && memchr(data, '\0', size) != NULL)
		abort();
	for (i = 0; i < m.n; i++) {
		const struct hs_manifest_entry *e = &m.entries[i];

		if (*e->src == '\0' || *e->dst == '\0' || e->line < last)
			abort();
		last = e->line;
		inside(&m, size, e->src);
		inside(&m, size, e->dst);
		inside(&m, size, e->mode);
		inside(&m, size, e->owner);
		inside(&m, size, e->group);
	}
	hs_manifest_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size, 0);
	parse(data, size, 1);
	return 0;
}

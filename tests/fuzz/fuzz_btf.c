/*
 * fuzz_btf.c - libFuzzer target for the BTF reader (src/kern/btf.c).
 *
 * The input, copied to an aligned buffer, is parsed as BTF; if that
 * succeeds, every struct and union is searched for a few member names
 * and a few type names are looked up, which walks the sparse index and
 * the anonymous-member recursion over whatever the input claims.  ASan
 * catches reads past the input; a hang would be a budget that fails.
 */
#include <linux/btf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "a", "b", "x", "tgid", "" };
	struct hs_btf b;
	uint32_t id, off, len;
	size_t i;
	void *buf;

	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (hs_btf_parse(&b, buf, size) == 0) {
		for (id = 1; id <= b.ntypes && id < 4096; id++)
			for (i = 0; i < sizeof(names) / sizeof(*names); i++)
				if (hs_btf_member(&b, id, names[i], &off,
					&len) == 0 &&
				    len > 0 && off > UINT32_MAX - len)
					abort(); /* cannot be */
		(void)hs_btf_find(&b, "a", BTF_KIND_STRUCT);
		(void)hs_btf_find(&b, "f", BTF_KIND_FUNC);
		hs_btf_free(&b);
	}
	free(buf);
	return 0;
}

/*
 * fuzz_proc.c - libFuzzer target for the parsers of what a scanned
 * process (or /boot) chooses: the class of a /proc/PID/cgroup text
 * (class.c), the script on an interpreter's /proc/PID/cmdline
 * (cmdline.c), and the version in a kernel image's boot header
 * (kernel.c).  The first byte picks the interpreter.  ASan catches a
 * read past the input; the checks catch answers outside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, out[256];
	size_t off, len;
	int cls, fam;

	if (size == 0)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cls = hs_class_cgroup(text, "");
	if (cls < HS_CLASS_OTHER || cls > HS_CLASS_PID1)
		abort();
	fam = 1 + data[0] % 9;
	if (hs_script_arg(fam, (const char *)data + 1, size - 1, &off, &len)) {
		if (off + len >= size - 1 || data[1 + off + len] != '\0' ||
		    memchr(data + 1 + off, '\0', len) != NULL)
			abort();
	}
	(void)hs_script_family(text, size);
	if (hs_kernel_header(data, size, out, sizeof(out)) == 0 &&
	    strlen(out) >= sizeof(out))
		abort();
	free(text);
	return 0;
}

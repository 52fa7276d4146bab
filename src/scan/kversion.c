/*
 * kversion.c - kernel versions, for kernel.c: their order, and the
 * version string in an x86 image's boot header.  Pure functions over
 * bytes from /boot, fuzzed (tests/fuzz/fuzz_proc.c).
 *
 * The order is dpkg's (verrevcmp: digits as numbers, '~' before
 * anything, even the end, letters before other characters), after
 * needrestart's and grub's rule that "-rc", "-pre", "-test", "-git",
 * "-old" and "-trunk" (or with '.' or '_') sort before the release they
 * precede: 6.2.0-rc7 < 6.2.0.
 */
#include <stdio.h>
#include <string.h>

#include "scan.h"

/* dpkg's order of one character: '~' first, then end, letters, others. */
static int
order(int c)
{
	if (c >= '0' && c <= '9')
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return c;
	if (c == '~')
		return -1;
	if (c != '\0')
		return c + 256;
	return 0;
}

/* dpkg's verrevcmp(): <0, 0, >0. */
static int
verrevcmp(const char *a, const char *b)
{
	int first_diff, ac, bc;

	while (*a != '\0' || *b != '\0') {
		first_diff = 0;
		while ((*a != '\0' && !(*a >= '0' && *a <= '9')) ||
		    (*b != '\0' && !(*b >= '0' && *b <= '9'))) {
			ac = order((unsigned char)*a);
			bc = order((unsigned char)*b);
			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			if (first_diff == 0)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (*a >= '0' && *a <= '9')
			return 1;
		if (*b >= '0' && *b <= '9')
			return -1;
		if (first_diff != 0)
			return first_diff;
	}
	return 0;
}

/* v with "-rc" etc. made "~rc", into out (len bytes). */
static void
devel_tags(const char *v, char *out, size_t len)
{
	static const char *const tags[] = { "pre", "rc", "test", "git", "old",
		"trunk" };
	size_t o = 0, i, k;

	while (*v != '\0' && o + 1 < len) {
		if (*v == '.' || *v == '_' || *v == '-') {
			for (i = 0; i < sizeof(tags) / sizeof(*tags); i++) {
				k = strlen(tags[i]);
				if (strncmp(v + 1, tags[i], k) == 0)
					break;
			}
			if (i < sizeof(tags) / sizeof(*tags)) {
				out[o++] = '~';
				v++;
				continue;
			}
		}
		out[o++] = *v++;
	}
	out[o] = '\0';
}

/* Compare two kernel versions as above: <0, 0, >0. */
int
hs_kernel_vercmp(const char *a, const char *b)
{
	char x[256], y[256];

	devel_tags(a, x, sizeof(x));
	devel_tags(b, y, sizeof(y));
	return verrevcmp(x, y);
}

/*
 * The version string in an x86 boot header of the first n bytes of an
 * image, into out; 0, or -1 if there is none.  Pure (fuzzed, tested).
 */
int
hs_kernel_header(const unsigned char *buf, size_t n, char *out, size_t len)
{
	size_t off, i;

	if (n < 0x210 || memcmp(buf + 0x202, "HdrS", 4) != 0)
		return -1;
	off = 0x200 + (size_t)(buf[0x20e] | buf[0x20f] << 8);
	for (i = 0; off + i < n && i + 1 < len; i++) {
		if (buf[off + i] == '\0')
			break;
		if (buf[off + i] < 0x20 || buf[off + i] > 0x7e)
			return -1;
		out[i] = (char)buf[off + i];
	}
	if (off + i >= n || i + 1 >= len)
		return -1; /* no end within the bytes read */
	out[i] = '\0';
	return out[0] >= '0' && out[0] <= '9' && strchr(out, '.') != NULL ? 0 :
									    -1;
}

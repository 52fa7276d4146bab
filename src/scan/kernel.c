/*
 * kernel.c - does the machine need a reboot: is the running kernel
 * older than the newest one installed, as needrestart's kernel check
 * decides it (its statuses, KSTA, are ours: enum hs_kernel_status).
 *
 * The installed kernels are the regular files in /boot named vmlinuz*,
 * vmlinux* or kernel*, of at least 1 MB (smaller ones are not kernel
 * images), owned by root and not writable by group or others (anything
 * else in /boot is not trusted).  Each one's version is read from its
 * x86 boot header when it has one (the "HdrS" setup header: the 16-bit
 * kernel_version field at 0x20e, plus 0x200, points at the same string
 * uname -a shows: "6.1.0-18-amd64 (builder) #1 SMP ... 2024"), or else
 * taken from its name after the first '-' ("vmlinuz-6.1.0-18-amd64").
 * Only the file's first 64 KiB are read; nothing is loaded or run.
 *
 * The newest is chosen with dpkg's version ordering (verrevcmp: digits
 * as numbers, '~' before anything, letters before other characters),
 * after needrestart's and grub's rule that "-rc", "-pre", "-test",
 * "-git", "-old" and "-trunk" sort before the release they precede.
 *
 *  - no image found or none readable: HS_KERNEL_UNKNOWN (0);
 *  - the newest is newer than uname -r: HS_KERNEL_VERSION (3);
 *  - the running kernel is newer than any installed, or not installed
 *    under its own version: HS_KERNEL_UNKNOWN (needrestart says 3 for
 *    any difference; a reboot would not bring a newer kernel);
 *  - it is, but its boot header does not carry uname -v (the same
 *    release rebuilt, an ABI-compatible upgrade): HS_KERNEL_ABI (2);
 *  - else HS_KERNEL_CURRENT (1).  An image without a boot header
 *    (arm64, or a name-only version) cannot show an ABI upgrade.
 */
#include <sys/stat.h>
#include <sys/utsname.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "sys.h"

#define IMAGE_MIN    (1000 * 1000) /* needrestart's */
#define HEADER_BYTES (64 * 1024)
#define DENTS_BUF    8192

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

static int
image_name(const char *name)
{
	return strncmp(name, "vmlinuz", 7) == 0 ||
	    strncmp(name, "vmlinux", 7) == 0 || strncmp(name, "kernel", 6) == 0;
}

/* Read the first bytes of dir/name, if it is a kernel image we trust. */
static ssize_t
read_image(int dir, const char *name, unsigned char *buf, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = hs_openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	n = -1;
	if (hs_sys.fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= IMAGE_MIN && st.st_uid == 0 &&
	    !(st.st_mode & (S_IWGRP | S_IWOTH)))
		n = hs_pread_full(fd, buf, len, 0);
	(void)hs_close(fd);
	return n;
}

/*
 * The version of image dir/name into ver: from its header (*hdr set to
 * the whole header string) or its name; -1 if it is none.
 */
static int
image_version(int dir, const char *name, unsigned char *buf, char *ver,
    size_t len, char *hdr, size_t hdrlen)
{
	const char *dash;
	ssize_t n;

	hdr[0] = '\0';
	if ((n = read_image(dir, name, buf, HEADER_BYTES)) <= 0)
		return -1;
	if (hs_kernel_header(buf, (size_t)n, hdr, hdrlen) == 0) {
		(void)snprintf(ver, len, "%.*s", (int)strcspn(hdr, " "), hdr);
		return 0;
	}
	hdr[0] = '\0';
	if ((dash = strchr(name, '-')) == NULL || dash[1] < '0' ||
	    dash[1] > '9')
		return -1;
	(void)snprintf(ver, len, "%s", dash + 1);
	return 0;
}

/* Keep name if its version is newer than k->expected. */
static void
consider(struct hs_kernel *k, const char *name, const char *ver,
    const char *hdr, const struct utsname *u, int *abi)
{
	if (k->expected[0] != '\0' && hs_kernel_vercmp(ver, k->expected) <= 0)
		return;
	(void)snprintf(k->expected, sizeof(k->expected), "%s", ver);
	(void)snprintf(k->image, sizeof(k->image), "%s", name);
	*abi = hdr[0] != '\0' && strstr(hdr, u->version) == NULL;
}

int
hs_kernel_check(const char *bootdir, struct hs_kernel *k)
{
	char dents[DENTS_BUF], ver[sizeof(k->expected)], hdr[512];
	const struct hs_dirent64 *d;
	unsigned char *buf = NULL;
	struct utsname u;
	ssize_t n, off;
	int dir, abi = 0, cmp;

	memset(k, 0, sizeof(*k));
	if (uname(&u) == -1)
		return -1;
	(void)snprintf(k->running, sizeof(k->running), "%s", u.release);
	dir = hs_openat(AT_FDCWD, bootdir != NULL ? bootdir : "/boot",
	    O_RDONLY | O_DIRECTORY, 0);
	if (dir == -1)
		return errno == ENOENT ? 0 : -1;
	if ((buf = malloc(HEADER_BYTES)) == NULL)
		goto out;
	for (;;) {
		do
			n = hs_sys.getdents64(dir, dents, sizeof(dents));
		while (n == -1 && errno == EINTR);
		if (n <= 0)
			break;
		for (off = 0; off < n; off += d->d_reclen) {
			d = (const struct hs_dirent64 *)(dents + off);
			if (!image_name(d->d_name) ||
			    image_version(dir, d->d_name, buf, ver, sizeof(ver),
				hdr, sizeof(hdr)) == -1)
				continue;
			k->images++;
			consider(k, d->d_name, ver, hdr, &u, &abi);
		}
	}
	if (k->images == 0)
		k->status = HS_KERNEL_UNKNOWN;
	else if ((cmp = hs_kernel_vercmp(k->expected, k->running)) > 0)
		k->status = HS_KERNEL_VERSION;
	else if (cmp < 0 || strcmp(k->expected, k->running) != 0)
		k->status = HS_KERNEL_UNKNOWN; /* ours is not installed */
	else
		k->status = abi ? HS_KERNEL_ABI : HS_KERNEL_CURRENT;
out:
	free(buf);
	(void)hs_close(dir);
	return buf == NULL ? -1 : 0;
}

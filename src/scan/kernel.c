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
 * The newest is chosen with dpkg's version ordering (kversion.c).
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

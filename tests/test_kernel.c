/*
 * test_kernel.c - the kernel verdict (src/scan/kernel.c) against boot
 * directories made here: the version ordering (dpkg's, with -rc before
 * the release), the x86 boot header, and hs_kernel_check()'s statuses,
 * with the images it must not trust (not root's, writable by others,
 * too small) as controls that would otherwise change the answer.
 */
#include <sys/stat.h>
#include <sys/utsname.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hotswap.h"
#include "scan.h"
#include "testutil_scan.h"

#define IMAGE_LEN 1000000

static void
test_kernel_vercmp(void **state)
{
	(void)state;
	assert_true(hs_kernel_vercmp("6.1.0-18-amd64", "6.1.0-17-amd64") > 0);
	assert_true(hs_kernel_vercmp("6.1.0-9-amd64", "6.1.0-10-amd64") < 0);
	assert_true(hs_kernel_vercmp("6.10.0", "6.9.12") > 0);
	assert_true(hs_kernel_vercmp("6.1.0", "6.1.0") == 0);
	assert_true(hs_kernel_vercmp("6.2.0-rc7", "6.2.0") < 0);
	assert_true(hs_kernel_vercmp("6.2.0_pre1", "6.2.0") < 0);
	assert_true(hs_kernel_vercmp("6.2.0-rc7", "6.1.9") > 0);
	assert_true(hs_kernel_vercmp("6.1.0", "6.1.0-1") < 0);
	assert_true(hs_kernel_vercmp("6.1.0a", "6.1.0+") < 0);
}

/* An image of IMAGE_LEN bytes with hdr as its boot header's version. */
static void
image(const char *dir, const char *name, const char *hdr, size_t len,
    mode_t mode)
{
	char path[PATH_MAX];
	unsigned char *b = calloc(1, len);
	int fd;

	assert_non_null(b);
	if (hdr != NULL) {
		memcpy(b + 0x202, "HdrS", 4);
		b[0x20e] = 0x00; /* the string at 0x200 + 0x1000 */
		b[0x20f] = 0x10;
		memcpy(b + 0x1200, hdr, strlen(hdr) + 1);
	}
	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	(void)close(fd);
	free(b);
}

static void
test_kernel_header(void **state)
{
	unsigned char b[0x2000];
	char out[256];

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(hs_kernel_header(b, sizeof(b), out, sizeof(out)), -1);
	memcpy(b + 0x202, "HdrS", 4);
	b[0x20f] = 0x10;
	memcpy(b + 0x1200, "6.1.0-18-amd64 (x@y) #1 SMP", 28);
	assert_int_equal(hs_kernel_header(b, sizeof(b), out, sizeof(out)), 0);
	assert_string_equal(out, "6.1.0-18-amd64 (x@y) #1 SMP");
	/* Past the bytes read, no terminator, control bytes: none. */
	assert_int_equal(hs_kernel_header(b, 0x1204, out, sizeof(out)), -1);
	b[0x20f] = 0x7f;
	assert_int_equal(hs_kernel_header(b, sizeof(b), out, sizeof(out)), -1);
	b[0x20f] = 0x10;
	b[0x1201] = 0x1b;
	assert_int_equal(hs_kernel_header(b, sizeof(b), out, sizeof(out)), -1);
	memcpy(b + 0x1200, "garbage", 8);
	assert_int_equal(hs_kernel_header(b, sizeof(b), out, sizeof(out)), -1);
}

struct kfx {
	char dir[PATH_MAX / 2];
	struct utsname u;
	char hdr[512];
};

static int
setup(void **state)
{
	struct kfx *f = calloc(1, sizeof(*f));

	if (f == NULL || uname(&f->u) == -1)
		return -1;
	ts_mkdtemp(f->dir, sizeof(f->dir));
	(void)snprintf(f->hdr, sizeof(f->hdr), "%s (builder@host) %s",
	    f->u.release, f->u.version);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct kfx *f = *state;

	ts_rmtree(f->dir);
	free(f);
	return 0;
}

static void
check(struct kfx *f, int status, const char *expected)
{
	struct hs_kernel k;

	assert_int_equal(hs_kernel_check(f->dir, &k), 0);
	assert_string_equal(k.running, f->u.release);
	assert_int_equal(k.status, status);
	assert_string_equal(k.expected, expected);
}

static void
test_kernel_statuses(void **state)
{
	struct kfx *f = *state;
	char name[NAME_MAX], path[PATH_MAX];

	check(f, HS_KERNEL_UNKNOWN, ""); /* nothing installed */
	(void)snprintf(name, sizeof(name), "vmlinuz-%s", f->u.release);
	image(f->dir, name, f->hdr, IMAGE_LEN, 0644);
	check(f, HS_KERNEL_CURRENT, f->u.release);

	/* Newer, but not to be trusted or too small: ignored. */
	image(f->dir, "vmlinuz-999.0.0-other", NULL, IMAGE_LEN, 0666);
	image(f->dir, "vmlinuz-999.1.0-small", NULL, IMAGE_LEN / 2, 0644);
	image(f->dir, "config-999.2.0", NULL, IMAGE_LEN, 0644);
	if (geteuid() == 0) {
		image(f->dir, "vmlinuz-999.3.0-nobody", NULL, IMAGE_LEN, 0644);
		(void)snprintf(path, sizeof(path), "%s/vmlinuz-999.3.0-nobody",
		    f->dir);
		assert_int_equal(chown(path, 65534, 65534), 0);
	}
	check(f, HS_KERNEL_CURRENT, f->u.release);

	/* A newer version, by name; its -rc sorts before it. */
	image(f->dir, "vmlinuz-998.0.0", NULL, IMAGE_LEN, 0644);
	image(f->dir, "vmlinuz-998.0.0-rc9", NULL, IMAGE_LEN, 0644);
	check(f, HS_KERNEL_VERSION, "998.0.0");
}

static void
test_kernel_abi(void **state)
{
	struct kfx *f = *state;
	char name[NAME_MAX], rebuilt[512], path[PATH_MAX * 2];

	(void)snprintf(name, sizeof(name), "vmlinuz-%s", f->u.release);
	(void)snprintf(rebuilt, sizeof(rebuilt), "%s (b@h) #99 rebuilt",
	    f->u.release);
	image(f->dir, name, rebuilt, IMAGE_LEN, 0644);
	check(f, HS_KERNEL_ABI, f->u.release);
	/* Only an older kernel installed: ours is not, nothing to boot. */
	(void)snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(unlink(path), 0);
	image(f->dir, "vmlinuz-1.0.0", NULL, IMAGE_LEN, 0644);
	check(f, HS_KERNEL_UNKNOWN, "1.0.0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_vercmp),
		cmocka_unit_test(test_kernel_header),
		cmocka_unit_test_setup_teardown(test_kernel_statuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kernel_abi, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

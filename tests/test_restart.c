/*
 * test_restart.c - the deny list of hotswap restart (src/cli/
 * restart_deny.c): the file format, the built-in entries, the checks
 * that refuse a configuration file someone else could have written, and
 * the unit of a /proc/PID/cgroup text.
 */
#include <sys/stat.h>
#include <errno.h>
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

#include "restart.h"

static int
parse(struct denylist *d, const char *text, char *why)
{
	return deny_parse(d, text, strlen(text), "f", why, 256);
}

static void
test_restart_parse_entries(void **state)
{
	struct denylist d = { 0 };
	char why[256];
	const struct deny *e;

	(void)state;
	assert_int_equal(parse(&d,
			     "# comment\n\n  \t\n"
			     "foo\tthe reason  \n"
			     "bar@ every instance\n"
			     "baz.socket a socket\n"
			     "  qu*x  a glob",
			     why),
	    0);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.v[0].pattern, "foo.service");
	assert_string_equal(d.v[0].reason, "the reason");
	assert_string_equal(d.v[0].origin, "f:4");
	assert_string_equal(d.v[1].pattern, "bar@*.service");
	assert_string_equal(d.v[2].pattern, "baz.socket");
	assert_string_equal(d.v[3].pattern, "qu*x.service");
	assert_string_equal(d.v[3].origin, "f:7");
	e = deny_match(&d, "bar@eth0.service");
	assert_non_null(e);
	assert_string_equal(e->reason, "every instance");
	assert_null(deny_match(&d, "bar.service"));
	assert_null(deny_match(&d, "foo.socket"));
	assert_non_null(deny_match(&d, "quux.service"));
	deny_free(&d);
}

static void
expect_error(const char *text, const char *needle)
{
	struct denylist d = { 0 };
	char why[256];

	assert_int_equal(parse(&d, text, why), -1);
	if (strstr(why, needle) == NULL)
		fail_msg("'%s': got '%s', wanted '%s'", text, why, needle);
	deny_free(&d);
}

static void
test_restart_parse_errors(void **state)
{
	char line[2048];

	(void)state;
	expect_error("ok fine\nfoo\n", "line 2: 'foo.service' has no reason");
	expect_error("-foo reason\n", "line 1: '-foo' is not a unit name");
	expect_error(".foo reason\n", "is not a unit name");
	expect_error("fo/o reason\n", "no character 0x2f");
	expect_error("foo reason\x1b[2J\n", "a control character");
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	expect_error(line, "line 1: a line is at most 1024 bytes");
	memset(line, 'a', 300);
	(void)strcpy(line + 300, " too long\n");
	expect_error(line, "at most 255 bytes");
}

static void
test_restart_builtin(void **state)
{
	static const char *const denied[] = { "dbus.service",
		"dbus-broker.service", "systemd-logind.service",
		"getty@tty1.service", "serial-getty@ttyS0.service",
		"user@1000.service", "gdm.service", "sddm.service",
		"lightdm.service", "display-manager.service",
		"NetworkManager.service", "systemd-networkd.service",
		"networking.service", "wpa_supplicant.service",
		"openvpn@office.service", "wg-quick@wg0.service",
		"lxcfs.service", "docker.service", "containerd.service",
		"libvirtd.service" };
	struct denylist d = { 0 };
	const struct deny *e;
	size_t i;

	(void)state;
	assert_int_equal(deny_builtin(&d), 0);
	for (i = 0; i < sizeof(denied) / sizeof(*denied); i++) {
		e = deny_match(&d, denied[i]);
		if (e == NULL)
			fail_msg("'%s' is not denied", denied[i]);
		assert_true(strlen(e->reason) > 10);
		assert_string_equal(e->origin, "built in");
	}
	assert_null(deny_match(&d, "nginx.service"));
	assert_null(deny_match(&d, "ssh.service"));
	deny_free(&d);
}

static char dir[] = "/tmp/test_restart.XXXXXX";

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static int
load(const char *name, int missing_ok, char *why)
{
	struct denylist d = { 0 };
	char path[PATH_MAX];
	int r;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	why[0] = '\0';
	r = deny_load(&d, path, missing_ok, why, 256);
	if (r == 0 && strcmp(name, "good") == 0) {
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].pattern, "nginx.service");
	}
	deny_free(&d);
	return r;
}

static void
test_restart_load_checks(void **state)
{
	char why[256], path[PATH_MAX], target[PATH_MAX];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	write_file("good", "nginx  keep it\n", 0644);
	assert_int_equal(load("good", 0, why), 0);
	assert_int_equal(load("missing", 1, why), 0);
	assert_int_equal(load("missing", 0, why), -1);
	write_file("gw", "nginx  keep it\n", 0664);
	assert_int_equal(load("gw", 0, why), -1);
	assert_string_equal(why, "writable by group or others");
	write_file("ow", "nginx  keep it\n", 0646);
	assert_int_equal(load("ow", 0, why), -1);
	write_file("theirs", "nginx  keep it\n", 0644);
	(void)snprintf(path, sizeof(path), "%s/theirs", dir);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(load("theirs", 0, why), -1);
	assert_string_equal(why, "not owned by root");
	(void)snprintf(path, sizeof(path), "%s/link", dir);
	(void)snprintf(target, sizeof(target), "%s/good", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(load("link", 0, why), -1);
	assert_string_equal(why, "a symbolic link");
	(void)snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(load("fifo", 0, why), -1);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(load("good", 0, why), -1);
	assert_string_equal(why,
	    "its directory is writable by group or others");
	assert_int_equal(chmod(dir, 0755), 0);
	write_file("bad", "nginx\n", 0644);
	assert_int_equal(load("bad", 0, why), -1);
	assert_string_equal(why, "line 1: 'nginx.service' has no reason");
	(void)snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void
test_restart_cgroup_unit(void **state)
{
	char unit[256];

	(void)state;
	assert_int_equal(cgroup_unit("0::/system.slice/nginx.service\n", unit,
			     sizeof(unit)),
	    0);
	assert_string_equal(unit, "nginx.service");
	assert_int_equal(cgroup_unit("0::/user.slice/user-1000.slice/"
				     "user@1000.service/app.slice/x.service\n",
			     unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "user@1000.service");
	assert_int_equal(cgroup_unit("12:pids:/\n1:name=systemd:/system.slice/"
				     "cron.service\n0::/\n",
			     unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "cron.service");
	/* Hybrid, systemd on the unified one: the 0:: line decides. */
	assert_int_equal(cgroup_unit("9:name=systemd:/\n8:pids:/\n"
				     "0::/system.slice/hs-self.service\n",
			     unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "hs-self.service");
	assert_int_equal(cgroup_unit("0::/\n", unit, sizeof(unit)), -1);
	assert_int_equal(cgroup_unit("0::/../..\n", unit, sizeof(unit)), -1);
	assert_int_equal(cgroup_unit("0::/init.scope\n", unit, sizeof(unit)),
	    0);
	assert_string_equal(unit, "init.scope");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_parse_entries),
		cmocka_unit_test(test_restart_parse_errors),
		cmocka_unit_test(test_restart_builtin),
		cmocka_unit_test(test_restart_load_checks),
		cmocka_unit_test(test_restart_cgroup_unit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

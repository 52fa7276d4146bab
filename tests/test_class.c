/*
 * test_class.c - the classifier (src/scan/class.c): each cgroup text
 * gives exactly one class; only the levels systemd (root) makes are
 * read, so names a delegated user chooses below a unit cannot make a
 * process a service, a session or another user's manager; one
 * namespace differing from PID 1's is not a container, both are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hotswap.h"
#include "scan.h"

struct want {
	const char *cgroup;
	int cls;
};

static int
class_of_text(const char *cgroup)
{
	char unit[256];

	(void)hs_procinfo_unit(cgroup, unit, sizeof(unit));
	return hs_class_cgroup(cgroup, unit);
}

static void
test_class_cgroup(void **state)
{
	static const struct want t[] = {
		{ "0::/system.slice/nginx.service\n", HS_CLASS_SERVICE },
		{ "0::/system.slice/a.service/sub/deeper\n", HS_CLASS_SERVICE },
		{ "0::/system.slice/system-getty.slice/getty@tty1.service\n",
		    HS_CLASS_SERVICE },
		{ "0::/user.slice/user-1000.slice/session-3.scope\n",
		    HS_CLASS_SESSION },
		{ "0::/user.slice/user-1000.slice/user@1000.service/"
		  "init.scope\n",
		    HS_CLASS_USER },
		{ "0::/user.slice/user-1000.slice/user@1000.service/"
		  "app.slice/foo.service\n",
		    HS_CLASS_USER },
		{ "0::/init.scope\n", HS_CLASS_OTHER },
		{ "0::/system.slice/run-r1.scope\n", HS_CLASS_OTHER },
		{ "0::/\n", HS_CLASS_OTHER },
		{ "", HS_CLASS_OTHER },
		{ "0::/../../x.service\n", HS_CLASS_OTHER },
		/* cgroup v1: the name=systemd line */
		{ "12:cpu:/x\n1:name=systemd:/system.slice/cron.service\n",
		    HS_CLASS_SERVICE },
		{ "1:name=systemd:/docker/0123abcd\n", HS_CLASS_CONTAINER },
		/* containers, systemd and cgroupfs drivers */
		{ "0::/system.slice/docker-0123abcd.scope\n",
		    HS_CLASS_CONTAINER },
		{ "0::/machine.slice/libpod-0123.scope/container\n",
		    HS_CLASS_CONTAINER },
		{ "0::/machine.slice/systemd-nspawn@c1.service/payload/"
		  "system.slice/sshd.service\n",
		    HS_CLASS_CONTAINER },
		{ "0::/machine.slice/machine-qemu\\x2d1.scope/libvirt\n",
		    HS_CLASS_CONTAINER },
		{ "0::/docker/0123abcd\n", HS_CLASS_CONTAINER },
		{ "0::/lxc.payload.c1/init.scope\n", HS_CLASS_CONTAINER },
		{ "0::/lxc/c1\n", HS_CLASS_CONTAINER },
		{ "0::/kubepods.slice/kubepods-burstable.slice/x\n",
		    HS_CLASS_CONTAINER },
		{ "0::/kubepods/burstable/pod1/abc\n", HS_CLASS_CONTAINER },
		{ "0::/system.slice/crio-abc.scope\n", HS_CLASS_CONTAINER },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		if (class_of_text(t[i].cgroup) != t[i].cls)
			fail_msg("%s: %s, want %s", t[i].cgroup,
			    hs_class_name(class_of_text(t[i].cgroup)),
			    hs_class_name(t[i].cls));
	}
}

/*
 * What a user can name below user@UID.service (delegated to them) never
 * makes a service, a session, or init: at most a "container" of their
 * own, which is never restarted either.
 */
static void
test_class_delegated(void **state)
{
	static const char *const user[] = {
		"0::/user.slice/user-65534.slice/user@65534.service/"
		"app.slice/sshd.service\n",
		"0::/user.slice/user-65534.slice/user@65534.service/"
		"session-1.scope\n",
		"0::/user.slice/user-65534.slice/user@65534.service/"
		"system.slice/dbus.service\n",
		"0::/user.slice/user-65534.slice/user@65534.service/"
		"user.slice/user-0.slice/user@0.service\n",
		"0::/user.slice/user-65534.slice/user@65534.service/"
		"init.scope\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(user) / sizeof(*user); i++)
		assert_int_equal(class_of_text(user[i]), HS_CLASS_USER);
	/* A session's own process may not leave the session scope. */
	assert_int_equal(class_of_text("0::/user.slice/user-65534.slice/"
				       "session-2.scope/system.slice/"
				       "x.service\n"),
	    HS_CLASS_SESSION);
}

static void
test_class_of(void **state)
{
	(void)state;
	assert_int_equal(hs_class_of(1, HS_CLASS_OTHER, 0, 0), HS_CLASS_PID1);
	assert_int_equal(hs_class_of(1, HS_CLASS_CONTAINER, 1, 1),
	    HS_CLASS_PID1);
	assert_int_equal(hs_class_of(7, HS_CLASS_SERVICE, 1, 1),
	    HS_CLASS_CONTAINER);
	/* PrivateTmp= services: their own mount namespace only. */
	assert_int_equal(hs_class_of(7, HS_CLASS_SERVICE, 0, 1),
	    HS_CLASS_SERVICE);
	/* Sandboxes with a PID namespace of their own only. */
	assert_int_equal(hs_class_of(7, HS_CLASS_SESSION, 1, 0),
	    HS_CLASS_SESSION);
	assert_int_equal(hs_class_of(7, HS_CLASS_OTHER, 1, -1), HS_CLASS_OTHER);
	assert_int_equal(hs_class_of(7, HS_CLASS_CONTAINER, 0, 0),
	    HS_CLASS_CONTAINER);
}

static void
test_class_names(void **state)
{
	(void)state;
	assert_string_equal(hs_class_name(HS_CLASS_OTHER), "other");
	assert_string_equal(hs_class_name(HS_CLASS_SERVICE), "service");
	assert_string_equal(hs_class_name(HS_CLASS_SESSION), "session");
	assert_string_equal(hs_class_name(HS_CLASS_USER), "user");
	assert_string_equal(hs_class_name(HS_CLASS_CONTAINER), "container");
	assert_string_equal(hs_class_name(HS_CLASS_PID1), "pid1");
	assert_string_equal(hs_class_name(-1), "other");
	assert_string_equal(hs_class_name(99), "other");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_cgroup),
		cmocka_unit_test(test_class_delegated),
		cmocka_unit_test(test_class_of),
		cmocka_unit_test(test_class_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_maps.c - the /proc/PID/maps parser on real and hostile lines.
 */
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "maps.h"

#define LIBC_LINE                                              \
	"7f3c590f3000-7f3c59249000 r-xp 00026000 fe:00 332835" \
	"                     /usr/lib/x86_64-linux-gnu/libc.so.6"

/* Records copied out of the parser, names included. */
struct got {
	struct hs_maps_rec rec[64];
	char name[64][512];
	size_t n;
	unsigned long bad;
};

static void
collect(struct hs_maps *m, struct got *g)
{
	struct hs_maps_rec rec;

	while (hs_maps_next(m, &rec) == 1) {
		assert_true(g->n < 64);
		assert_true(rec.pathlen < sizeof(g->name[0]));
		memcpy(g->name[g->n], rec.path, rec.pathlen + 1);
		g->rec[g->n] = rec;
		g->rec[g->n].path = g->name[g->n];
		g->n++;
	}
}

/* Feed text in pieces of at most chunk bytes and collect everything. */
static void
parse_text(const char *text, size_t len, size_t chunk, struct got *g)
{
	struct hs_maps m;
	size_t n;

	memset(g, 0, sizeof(*g));
	hs_maps_init(&m);
	for (; len > 0; text += n, len -= n) {
		n = len < chunk ? len : chunk;
		assert_int_equal(hs_maps_feed(&m, text, n), 0);
		collect(&m, g);
	}
	assert_int_equal(hs_maps_feed(&m, NULL, 0), 0);
	collect(&m, g);
	g->bad = m.bad;
	hs_maps_free(&m);
}

static int
parse1(const char *line, struct hs_maps_rec *rec, char *buf, size_t len)
{
	size_t n = strlen(line);

	assert_true(n < len);
	memcpy(buf, line, n + 1);
	return hs_maps_parse_line(buf, n, rec);
}

static void
test_maps_real_line(void **state)
{
	struct hs_maps_rec r;
	char buf[512];

	(void)state;
	assert_int_equal(parse1(LIBC_LINE, &r, buf, sizeof(buf)), 0);
	assert_true(r.start == 0x7f3c590f3000ULL);
	assert_true(r.end == 0x7f3c59249000ULL);
	assert_true(r.offset == 0x26000);
	assert_int_equal(r.perms, HS_MAPS_R | HS_MAPS_X);
	assert_true(r.dev == makedev(0xfe, 0));
	assert_true(r.ino == 332835);
	assert_string_equal(r.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(r.pathlen, strlen(r.path));
	assert_int_equal(r.namelen, r.pathlen);
	assert_int_equal(r.flags, 0);
}

static void
test_maps_shared_writable_perms(void **state)
{
	struct hs_maps_rec r;
	char buf[512];

	(void)state;
	assert_int_equal(parse1("1000-2000 rw-s 00000000 00:05 7 /dev/x", &r,
			     buf, sizeof(buf)),
	    0);
	assert_int_equal(r.perms, HS_MAPS_R | HS_MAPS_W | HS_MAPS_S);
	assert_int_equal(parse1("1000-2000 ---p 00000000 00:05 7 /x", &r, buf,
			     sizeof(buf)),
	    0);
	assert_int_equal(r.perms, 0);
}

static void
test_maps_spaces_in_name(void **state)
{
	struct hs_maps_rec r;
	char buf[512];

	(void)state;
	assert_int_equal(parse1("1000-2000 r--p 00000000 08:01 42"
				"      /opt/my app/lib  two spaces.so ",
			     &r, buf, sizeof(buf)),
	    0);
	assert_string_equal(r.path, "/opt/my app/lib  two spaces.so ");
}

static void
test_maps_escaped_newline(void **state)
{
	struct hs_maps_rec r;
	char buf[512], back[512];

	(void)state;
	assert_int_equal(parse1("1000-2000 r--p 00000000 08:01 42 "
				"/tmp/a\\012b\\012",
			     &r, buf, sizeof(buf)),
	    0);
	assert_string_equal(r.path, "/tmp/a\nb\n");
	assert_int_equal(r.pathlen, 9);
	assert_true(r.flags & HS_MAPS_ESCAPED);
	assert_int_equal(hs_maps_reescape(&r, back, sizeof(back)), 15);
	assert_string_equal(back, "/tmp/a\\012b\\012");
	/* Only \012 is an escape; other backslashes are left alone. */
	assert_int_equal(parse1("1000-2000 r--p 00000000 08:01 42 "
				"/tmp/a\\\\b\\01",
			     &r, buf, sizeof(buf)),
	    0);
	assert_string_equal(r.path, "/tmp/a\\\\b\\01");
	assert_false(r.flags & HS_MAPS_ESCAPED);
	assert_int_equal(hs_maps_reescape(&r, back, 4), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_maps_deleted_suffix(void **state)
{
	struct hs_maps_rec r;
	char buf[512];

	(void)state;
	assert_int_equal(parse1("1000-2000 r-xp 00000000 08:01 42 "
				"/usr/lib/libfoo.so.1 (deleted)",
			     &r, buf, sizeof(buf)),
	    0);
	assert_true(r.flags & HS_MAPS_DELETED);
	assert_int_equal(r.namelen, strlen("/usr/lib/libfoo.so.1"));
	assert_string_equal(r.path, "/usr/lib/libfoo.so.1 (deleted)");
	/* A file literally so named, then deleted: only one suffix goes. */
	assert_int_equal(parse1("1000-2000 r-xp 00000000 08:01 42 "
				"/x (deleted) (deleted)",
			     &r, buf, sizeof(buf)),
	    0);
	assert_int_equal(r.namelen, strlen("/x (deleted)"));
	/* Just the suffix is not a name with a suffix. */
	assert_int_equal(parse1("1000-2000 r-xp 00000000 08:01 42 "
				" (deleted)",
			     &r, buf, sizeof(buf)),
	    0);
	assert_false(r.flags & HS_MAPS_DELETED);
}

static void
test_maps_no_path(void **state)
{
	struct hs_maps_rec r;
	char buf[512];

	(void)state;
	/* As the kernel writes it: a space after the inode. */
	assert_int_equal(parse1("7f3c5904a000-7f3c5906c000 rw-p 00000000 "
				"00:00 0 ",
			     &r, buf, sizeof(buf)),
	    0);
	assert_string_equal(r.path, "");
	assert_int_equal(r.pathlen, 0);
	assert_true(r.ino == 0);
	/* And without it. */
	assert_int_equal(parse1("1000-2000 rw-p 00000000 00:00 0", &r, buf,
			     sizeof(buf)),
	    0);
	assert_string_equal(r.path, "");
}

static void
test_maps_pseudo_names(void **state)
{
	static const char *const names[] = {
		"[heap]",
		"[stack]",
		"[vdso]",
		"[vvar]",
		"[anon:my name]",
		"[anon_shmem:x]",
	};
	struct hs_maps_rec r;
	char line[256], buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		(void)snprintf(line, sizeof(line),
		    "55e48edaf000-55e48edd0000 "
		    "rw-p 00000000 00:00 0                          %s",
		    names[i]);
		assert_int_equal(parse1(line, &r, buf, sizeof(buf)), 0);
		assert_string_equal(r.path, names[i]);
		assert_true(r.flags & HS_MAPS_PSEUDO);
	}
}

static void
test_maps_big_device_numbers(void **state)
{
	struct hs_maps_rec r;
	char buf[512];

	(void)state;
	assert_int_equal(parse1("1000-2000 r--p 00000000 103:1a2b3 77 /x", &r,
			     buf, sizeof(buf)),
	    0);
	assert_int_equal(major(r.dev), 0x103);
	assert_int_equal(minor(r.dev), 0x1a2b3);
	assert_int_equal(
	    parse1("ffffffffff600000-ffffffffff601000 --xp "
		   "00000000 00:00 18446744073709551615 [vsyscall]",
		&r, buf, sizeof(buf)),
	    0);
	assert_true(r.ino == (ino_t)UINT64_MAX);
}

static void
test_maps_garbage_rejected(void **state)
{
	/* clang-format off */
	static const char *const bad[] = {
		"", " ", "garbage", "1000", "1000-", "1000-2000",
		"1000-2000 ", "1000-2000 r--p", "1000-2000 r--p 0",
		"1000-2000 r--p 0 08", "1000-2000 r--p 0 08:", "1000-2000 "
		"r--p 0 08:01", "1000-2000 r--p 0 08:01 ",
		"1000-2000 r--x 0 08:01 1 /x", "1000-2000 rw 0 08:01 1 /x",
		"2000-1000 r--p 0 08:01 1 /x", "g000-2000 r--p 0 08:01 1 /x",
		"10000000000000000-2 r--p 0 08:01 1 /x",
		"1000-2000 r--p 0 08:01 18446744073709551616 /x",
		"1000-2000 r--p 0 08:01 12x /x", "1000-2000 r--p 0 0801 1 /x",
		"1000-2000 r--p 0 1ffffffff:01 1 /x", "-1000 r--p 0 1:1 1",
		"+1000-2000 r--p 0 08:01 1 /x", "1000-2000  r--p 0 08:01 1",
	};
	/* clang-format on */
	struct hs_maps_rec r;
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		errno = 0;
		assert_int_equal(parse1(bad[i], &r, buf, sizeof(buf)), -1);
		assert_int_equal(errno, EINVAL);
	}
}

static void
test_maps_garbage_lines_skipped(void **state)
{
	static const char text[] = "1000-2000 r--p 00000000 08:01 1 /a\n"
				   "this is not a maps line\n"
				   "\n"
				   "\x01\xff\x80 binary\n"
				   "3000-4000 r--p 00000000 08:01 2 /b\n";
	struct got g;

	(void)state;
	parse_text(text, sizeof(text) - 1, sizeof(text), &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.bad, 3);
	assert_string_equal(g.rec[0].path, "/a");
	assert_string_equal(g.rec[1].path, "/b");
}

static void
test_maps_truncated_final_line(void **state)
{
	static const char
	    text[] = "1000-2000 r--p 00000000 08:01 1 /a\n"
		     "3000-4000 r--p 00000000 08:01 2 /usr/lib/libc.s";
	struct got g;

	(void)state;
	parse_text(text, sizeof(text) - 1, 7, &g);
	assert_int_equal(g.n, 1); /* the cut name must not be used */
	assert_int_equal(g.bad, 1);
}

static void
test_maps_huge_line_skipped(void **state)
{
	static const char head[] = "1000-2000 r--p 00000000 08:01 1 /";
	static const char tail[] = "\n3000-4000 r--p 00000000 08:01 2 /b\n";
	size_t big = HS_MAPS_LINE_MAX + 12345, len;
	struct got g;
	char *text;

	(void)state;
	len = sizeof(head) - 1 + big + sizeof(tail) - 1;
	assert_non_null(text = malloc(len));
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'x', big);
	memcpy(text + sizeof(head) - 1 + big, tail, sizeof(tail) - 1);
	parse_text(text, len, 64 * 1024, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.bad, 1);
	assert_string_equal(g.rec[0].path, "/b");
	/* The same text in one piece. */
	parse_text(text, len, len, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.bad, 1);
	free(text);
}

static void
test_maps_long_name_kept(void **state)
{
	struct hs_maps m;
	struct hs_maps_rec rec;
	char *text;
	size_t len = 100000;

	(void)state;
	assert_non_null(text = malloc(len + 64));
	memcpy(text, "1000-2000 r--p 00000000 08:01 1 /", 33);
	memset(text + 33, 'y', len);
	memcpy(text + 33 + len, "\n", 1);
	hs_maps_init(&m);
	assert_int_equal(hs_maps_feed(&m, text, 33 + len + 1), 0);
	assert_int_equal(hs_maps_next(&m, &rec), 1);
	assert_int_equal(rec.pathlen, len + 1);
	assert_int_equal(hs_maps_next(&m, &rec), 0);
	hs_maps_free(&m);
	free(text);
}

static void
test_maps_fed_in_pieces(void **state)
{
	static const char text[] = LIBC_LINE
	    "\n"
	    "55e48edaf000-55e48edd0000 rw-p 00000000 00:00 0"
	    "                          [heap]\n"
	    "7f3c5904a000-7f3c5906c000 rw-p 00000000 00:00 0 \n"
	    "1000-2000 r--s 00000000 00:01 9 /dev/zero (deleted)\n"
	    "3000-4000 r-xp 00001000 103:05 77 /a b\\012c (deleted)\n";
	static const size_t chunks[] = { 1, 2, 3, 7, 13, 64, 4096 };
	struct got whole, g;
	size_t i, j;

	(void)state;
	parse_text(text, sizeof(text) - 1, sizeof(text), &whole);
	assert_int_equal(whole.n, 5);
	assert_int_equal(whole.bad, 0);
	for (i = 0; i < sizeof(chunks) / sizeof(*chunks); i++) {
		parse_text(text, sizeof(text) - 1, chunks[i], &g);
		assert_int_equal(g.n, whole.n);
		assert_int_equal(g.bad, 0);
		for (j = 0; j < g.n; j++) {
			assert_true(g.rec[j].start == whole.rec[j].start);
			assert_true(g.rec[j].ino == whole.rec[j].ino);
			assert_int_equal(g.rec[j].flags, whole.rec[j].flags);
			assert_string_equal(g.name[j], whole.name[j]);
		}
	}
	assert_string_equal(whole.name[4], "/a b\nc (deleted)");
	assert_int_equal(whole.rec[4].namelen, 6);
}

/* Found by the fuzzer: nothing ever fed, then the end. */
static void
test_maps_empty_input(void **state)
{
	struct hs_maps m;
	struct hs_maps_rec rec;

	(void)state;
	hs_maps_init(&m);
	assert_int_equal(hs_maps_next(&m, &rec), 0);
	assert_int_equal(hs_maps_feed(&m, NULL, 0), 0);
	assert_int_equal(hs_maps_next(&m, &rec), 0);
	assert_true(m.eof);
	assert_int_equal(m.bad, 0);
	hs_maps_free(&m);
}

/* The parser on this very process's maps, read the way pmaps.c does. */
static void
test_maps_own_maps(void **state)
{
	struct hs_maps m;
	struct hs_maps_rec rec;
	size_t avail, n = 0, files = 0;
	ssize_t got;
	char *space;
	int fd;

	(void)state;
	assert_int_not_equal(fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC),
	    -1);
	hs_maps_init(&m);
	for (;;) {
		while (hs_maps_next(&m, &rec) == 1) {
			n++;
			if (rec.ino != 0 && rec.path[0] == '/')
				files++;
		}
		if (m.eof)
			break;
		assert_non_null(space = hs_maps_space(&m, &avail));
		assert_true((got = read(fd, space, avail)) >= 0);
		hs_maps_commit(&m, (size_t)got);
	}
	assert_int_equal(m.bad, 0);
	assert_true(n > 5);
	assert_true(files > 0);
	hs_maps_free(&m);
	(void)close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_real_line),
		cmocka_unit_test(test_maps_shared_writable_perms),
		cmocka_unit_test(test_maps_spaces_in_name),
		cmocka_unit_test(test_maps_escaped_newline),
		cmocka_unit_test(test_maps_deleted_suffix),
		cmocka_unit_test(test_maps_no_path),
		cmocka_unit_test(test_maps_pseudo_names),
		cmocka_unit_test(test_maps_big_device_numbers),
		cmocka_unit_test(test_maps_garbage_rejected),
		cmocka_unit_test(test_maps_garbage_lines_skipped),
		cmocka_unit_test(test_maps_truncated_final_line),
		cmocka_unit_test(test_maps_huge_line_skipped),
		cmocka_unit_test(test_maps_long_name_kept),
		cmocka_unit_test(test_maps_fed_in_pieces),
		cmocka_unit_test(test_maps_empty_input),
		cmocka_unit_test(test_maps_own_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

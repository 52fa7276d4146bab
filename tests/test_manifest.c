/*
 * test_manifest.c - the manifest parser (manifest.c) on byte strings:
 * a text line with a NUL byte in it is an error naming that line, in
 * a field, in quotes or in a comment, and the valid lines around it
 * (the control) still parse; with -0 a NUL ends a field, as it should.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hotswap.h"

#define NUL_MSG "NUL byte in the line (-0 reads NUL-separated fields)"

/* Parse len bytes of text; the return value, with *line and *msg. */
static int
parse(const char *text, size_t len, int nul, struct hs_manifest *m,
    unsigned long *line, const char **msg)
{
	*line = 0;
	*msg = NULL;
	return hs_manifest_parse(text, len, nul, m, line, msg);
}

static void
test_manifest_nul_in_text_line(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		unsigned long line;
	} bad[] = {
		{ "s d\0.evil\n", 10, 1 },	 /* in DEST */
		{ "a b\ns\0x d\n", 10, 2 },	 /* in SOURCE */
		{ "a b\n\"s\0\" d\n", 11, 2 },	 /* in quotes */
		{ "a b\nc d\n# x\0y\n", 14, 3 }, /* in a comment */
		{ "a b mode=6\0"
		  "44\n",
		    14, 1 },		/* in an attribute */
		{ "a b\n\0\n", 6, 2 },	/* alone */
		{ "a b\ns d\0", 8, 2 }, /* last, no newline */
	};
	struct hs_manifest m;
	const char *msg;
	unsigned long line;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		errno = 0;
		assert_int_equal(parse(bad[i].text, bad[i].len, 0, &m, &line,
				     &msg),
		    -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(line, bad[i].line);
		assert_string_equal(msg, NUL_MSG);
		assert_null(m.entries);
	}
}

/* The control: the same lines without the NUL, and -0 where NUL is. */
static void
test_manifest_nul_control(void **state)
{
	struct hs_manifest m;
	const char *msg;
	unsigned long line;

	(void)state;
	assert_int_equal(parse("s d.evil\n", 9, 0, &m, &line, &msg), 0);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.entries[0].dst, "d.evil");
	hs_manifest_free(&m);
	assert_int_equal(parse("s\0d\0\0", 5, 1, &m, &line, &msg), 0);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.entries[0].src, "s");
	assert_string_equal(m.entries[0].dst, "d");
	hs_manifest_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_nul_in_text_line),
		cmocka_unit_test(test_manifest_nul_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_journal.c - libFuzzer target for the journal parser.
 *
 * The input is parsed as a journal of the tree "/t" (so that format 1's
 * absolute directories are tried against a root).  ASan catches any read
 * or write past the input or the parser's buffer; the checks below catch
 * records that contradict what the replay relies on: every directory is
 * relative, plain ("." or components without "", "." or ".."), every
 * name one component, every string inside the parser's own buffer, kinds
 * 0-2 on T records only, and a failure always says where and why.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "txn.h"
#include "sys.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * journal.c also holds the writer and hs_journal_is_ours, which are
 * never called here: the seam they reach is stubbed out, so the parser
 * is fuzzed alone and no system call can happen.
 */
struct hs_sys hs_sys;

int
hs_openat(int d, const char *p, int f, mode_t m)
{
	(void)d, (void)p, (void)f, (void)m;
	abort();
}

int
hs_close(int fd)
{
	(void)fd;
	abort();
}

int
hs_fsync(int fd)
{
	(void)fd;
	abort();
}

int
hs_write_full(int fd, const void *b, size_t n)
{
	(void)fd, (void)b, (void)n;
	abort();
}

/* s lies in the parser's buffer (or is the parser's own "."). */
static void
inside(const struct hs_jtext *j, size_t size, const char *s)
{
	if (s != NULL && strcmp(s, ".") == 0)
		return;
	if (s == NULL || s < j->buf || s > j->buf + size || strlen(s) > size)
		abort();
}

static int
is_component(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= NAME_MAX && strchr(s, '/') == NULL &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static void
check_dir(const char *d)
{
	char buf[PATH_MAX], *p, *save = NULL;

	if (strcmp(d, ".") == 0)
		return;
	if (*d == '/' || strstr(d, "//") != NULL || strlen(d) >= PATH_MAX ||
	    d[strlen(d) - 1] == '/')
		abort();
	strcpy(buf, d);
	for (p = strtok_r(buf, "/", &save); p != NULL;
	     p = strtok_r(NULL, "/", &save))
		if (!is_component(p))
			abort();
}

static void
check(const struct hs_jtext *j, size_t size)
{
	const struct hs_jrec *r;
	size_t i;

	for (i = 0; i < j->n; i++) {
		r = &j->rec[i];
		if (strchr("SDTOCA", r->type) == NULL || r->type == '\0')
			abort();
		if ((r->type == 'T') != (r->kind >= 0 && r->kind <= 2) ||
		    (r->type != 'T' && r->kind != -1))
			abort();
		if (strchr("DTO", r->type) != NULL) {
			inside(j, size, r->dir);
			inside(j, size, r->name);
			check_dir(r->dir);
			if (!is_component(r->name))
				abort();
		}
		if (strchr("TOS", r->type) != NULL) {
			inside(j, size, r->aux);
			if (!is_component(r->aux))
				abort();
		}
		/* Nothing but A after C, nothing after A. */
		if (i > 0 &&
		    (j->rec[i - 1].type == 'A' ||
			(j->rec[i - 1].type == 'C' && r->type != 'A')))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_jtext j;
	const char *msg = NULL;
	unsigned long line = 0;

	if (hs_journal_parse((const char *)data, size, "/t", &j, &line, &msg) ==
	    -1) {
		if (msg == NULL || line == 0 || j.buf != NULL || j.rec != NULL)
			abort();
		return 0;
	}
	check(&j, size);
	hs_journal_text_free(&j);
	return 0;
}

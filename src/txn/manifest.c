/*
 * manifest.c - the manifest of install --manifest: a pure parser, bytes
 * in, records out, no I/O (so it can be unit-tested and fuzzed).
 *
 * Text form, one entry a line:
 *
 *	# comment
 *	SOURCE DEST [mode=MODE] [owner=OWNER] [group=GROUP]
 *
 * Fields are separated by blanks.  A field may be written in double
 * quotes, inside which \" \\ \n \t and \xHH stand for those bytes, so
 * any name can be written.  With -0 (nul), every field ends with a NUL
 * byte and an entry ends with an empty field: printf '%s\0' SRC DST ''.
 * In the text form a NUL byte is an error wherever it is on a line: it
 * would end a field where no one reading the file sees an end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"

struct parser {
	const char *p, *end;
	char *out; /* where the next field is written */
	unsigned long line;
	const char *err;
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One escape after a backslash inside quotes; -1 if invalid. */
static int
unescape(struct parser *ps)
{
	int hi, lo;

	if (ps->p >= ps->end)
		return -1;
	switch (*ps->p++) {
	case '"': return '"';
	case '\\': return '\\';
	case 'n': return '\n';
	case 't': return '\t';
	case 'x':
		if (ps->end - ps->p < 2 || (hi = hexval(ps->p[0])) < 0 ||
		    (lo = hexval(ps->p[1])) < 0 || (hi == 0 && lo == 0))
			return -1;
		ps->p += 2;
		return hi * 16 + lo;
	default: return -1;
	}
}

/* A quoted field, from after the opening quote; NULL on error. */
static char *
quoted(struct parser *ps)
{
	char *start = ps->out;
	int c;

	while (ps->p < ps->end && *ps->p != '"') {
		if (*ps->p == '\n') {
			ps->err = "unterminated quote";
			return NULL;
		}
		if (*ps->p != '\\') {
			*ps->out++ = *ps->p++;
			continue;
		}
		ps->p++;
		if ((c = unescape(ps)) == -1) {
			ps->err = "invalid escape in quotes";
			return NULL;
		}
		*ps->out++ = (char)c;
	}
	if (ps->p >= ps->end) {
		ps->err = "unterminated quote";
		return NULL;
	}
	ps->p++;
	*ps->out++ = '\0';
	return start;
}

/* The next field of a text line, or NULL at its end (err if bad). */
static char *
text_field(struct parser *ps)
{
	char *start;

	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
	if (ps->p >= ps->end || *ps->p == '\n')
		return NULL;
	if (*ps->p == '"') {
		ps->p++;
		start = quoted(ps);
	} else {
		start = ps->out;
		while (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\t' &&
		    *ps->p != '\n')
			*ps->out++ = *ps->p++;
		*ps->out++ = '\0';
	}
	if (start != NULL && ps->p < ps->end && *ps->p != ' ' &&
	    *ps->p != '\t' && *ps->p != '\n') {
		ps->err = "text after closing quote";
		return NULL;
	}
	return start;
}

/* The next NUL-terminated field, or NULL for the empty one ending it. */
static char *
nul_field(struct parser *ps)
{
	char *start = ps->out;

	if (ps->p >= ps->end)
		return NULL;
	while (ps->p < ps->end && *ps->p != '\0')
		*ps->out++ = *ps->p++;
	if (ps->p >= ps->end) {
		ps->err = "field not terminated by NUL";
		return NULL;
	}
	ps->p++;
	*ps->out++ = '\0';
	return *start == '\0' ? NULL : start;
}

/* Put attribute a=v into e; error if unknown, empty or repeated. */
static int
attribute(struct parser *ps, struct hs_manifest_entry *e, char *f)
{
	static const char *const names[] = { "mode", "owner", "group" };
	const char **slot[] = { &e->mode, &e->owner, &e->group };
	char *eq = strchr(f, '=');
	size_t i;

	for (i = 0; eq != NULL && i < 3; i++) {
		if (strlen(names[i]) != (size_t)(eq - f) ||
		    strncmp(f, names[i], (size_t)(eq - f)) != 0)
			continue;
		if (*slot[i] != NULL) {
			ps->err = "attribute given twice";
			return -1;
		}
		if (eq[1] == '\0') {
			ps->err = "empty attribute value";
			return -1;
		}
		*slot[i] = eq + 1;
		return 0;
	}
	ps->err = "unknown attribute (mode=, owner=, group=)";
	return -1;
}

/* Text form: whether the line from ps->p on holds a NUL byte. */
static int
line_has_nul(const struct parser *ps)
{
	const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));

	return memchr(ps->p, '\0',
		   (size_t)((nl != NULL ? nl : ps->end) - ps->p)) != NULL;
}

/* One entry; 1 if parsed, 0 for a blank or comment line, -1 on error. */
static int
entry(struct parser *ps, int nul, struct hs_manifest_entry *e)
{
	char *(*field)(struct parser *) = nul ? nul_field : text_field;
	char *f, *src, *dst;

	memset(e, 0, sizeof(*e));
	e->line = ps->line;
	if (!nul) {
		if (line_has_nul(ps)) {
			ps->err =
			    "NUL byte in the line (-0 reads NUL-separated "
			    "fields)";
			return -1;
		}
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
			ps->p++;
		if (ps->p < ps->end && *ps->p == '#')
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
	}
	if ((src = field(ps)) == NULL)
		return ps->err != NULL ? -1 : 0;
	if ((dst = field(ps)) == NULL) {
		if (ps->err == NULL)
			ps->err = "no DEST after SOURCE";
		return -1;
	}
	e->src = src;
	e->dst = dst;
	if (*src == '\0' || *dst == '\0') {
		ps->err = "empty path";
		return -1;
	}
	while ((f = field(ps)) != NULL)
		if (attribute(ps, e, f) == -1)
			return -1;
	return ps->err != NULL ? -1 : 1;
}

int
hs_manifest_parse(const char *text, size_t len, int nul, struct hs_manifest *m,
    unsigned long *errline, const char **errmsg)
{
	struct parser ps = { .p = text, .end = text + len, .line = 1 };
	struct hs_manifest_entry *e;
	size_t cap = 0;
	int r;

	memset(m, 0, sizeof(*m));
	/* Fields only shrink when unescaped: one buffer of len+1 holds all. */
	if ((m->buf = malloc(len + 1)) == NULL)
		return -1;
	ps.out = m->buf;
	while (ps.p < ps.end) {
		if (m->n == cap) {
			cap = cap ? cap * 2 : 16;
			e = reallocarray(m->entries, cap, sizeof(*e));
			if (e == NULL)
				goto fail;
			m->entries = e;
		}
		if ((r = entry(&ps, nul, &m->entries[m->n])) == -1) {
			*errline = ps.line;
			*errmsg = ps.err;
			errno = EINVAL;
			goto fail;
		}
		m->n += (size_t)r;
		if (!nul && ps.p < ps.end && *ps.p == '\n')
			ps.p++;
		ps.line++;
	}
	return 0;
fail:
	hs_manifest_free(m);
	return -1;
}

void
hs_manifest_free(struct hs_manifest *m)
{
	free(m->entries);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

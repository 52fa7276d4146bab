/*
 * maps.c - the /proc/PID/maps text parser; see maps.h for the format and
 * its ambiguities.  Pure: no system call, no global state.
 */
#include <sys/sysmacros.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

#define DELETED_SUFFIX " (deleted)"
#define DELETED_LEN    (sizeof(DELETED_SUFFIX) - 1)
#define ESC_NL	       "\\012"
#define ESC_LEN	       (sizeof(ESC_NL) - 1)

/* Smallest read worth making; the buffer grows to keep this much free. */
#define READ_MIN (64 * 1024)

/*
 * One more than the value of each byte as a hex digit, 0 for a byte
 * that is none: a table, because this is the inner loop of a walk over
 * every line of every process.
 */
/* clang-format off */
static const unsigned char hexdigit[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
	['E'] = 15, ['F'] = 16,
};
/* clang-format on */

/* The digit's value, or UINT_MAX (no digit in any base) for 0 - 1. */
static unsigned int
digit(char c)
{
	return (unsigned int)hexdigit[(unsigned char)c] - 1;
}

/*
 * Parse at least one and at most maxdigits digits in base 16 or 10 at *pp,
 * stopping before end, then require the byte sep (if sep is not '\0').
 * maxdigits hex digits always fit; decimal ones are checked.
 */
static int
number(const char **pp, const char *end, unsigned int base,
    unsigned int maxdigits, char sep, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	unsigned int n = 0, d;

	while (p < end && (d = digit(*p)) < base) {
		if (++n > maxdigits ||
		    (base == 10 && v > (UINT64_MAX - d) / 10))
			return -1;
		v = v * base + d;
		p++;
	}
	if (n == 0)
		return -1;
	if (sep != '\0') {
		if (p == end || *p != sep)
			return -1;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

static int
perms(const char **pp, const char *end, unsigned int *out)
{
	const char *p = *pp;

	if (end - p < 5 || p[4] != ' ')
		return -1;
	*out = 0;
	if (p[0] == 'r')
		*out |= HS_MAPS_R;
	else if (p[0] != '-')
		return -1;
	if (p[1] == 'w')
		*out |= HS_MAPS_W;
	else if (p[1] != '-')
		return -1;
	if (p[2] == 'x')
		*out |= HS_MAPS_X;
	else if (p[2] != '-')
		return -1;
	if (p[3] == 's')
		*out |= HS_MAPS_S;
	else if (p[3] != 'p')
		return -1;
	*pp = p + 5;
	return 0;
}

/* Turn each "\012" of s[0..len) into '\n' in place; return the new length. */
static size_t
unescape(char *s, size_t len, unsigned int *flags)
{
	const char *bs;
	size_t i, o;

	/* Most names have no backslash at all: nothing to move. */
	if ((bs = memchr(s, '\\', len)) == NULL)
		return len;
	for (i = o = (size_t)(bs - s); i < len; o++) {
		if (len - i >= ESC_LEN && memcmp(s + i, ESC_NL, ESC_LEN) == 0) {
			s[o] = '\n';
			i += ESC_LEN;
			*flags |= HS_MAPS_ESCAPED;
		} else
			s[o] = s[i++];
	}
	return o;
}

static void
set_name(char *p, char *end, struct hs_maps_rec *rec)
{
	size_t len;

	while (p < end && *p == ' ')
		p++;
	len = unescape(p, (size_t)(end - p), &rec->flags);
	p[len] = '\0';
	rec->path = p;
	rec->pathlen = rec->namelen = len;
	if (len > 0 && p[0] == '[')
		rec->flags |= HS_MAPS_PSEUDO;
	if (len > DELETED_LEN &&
	    memcmp(p + len - DELETED_LEN, DELETED_SUFFIX, DELETED_LEN) == 0) {
		rec->flags |= HS_MAPS_DELETED;
		rec->namelen = len - DELETED_LEN;
	}
}

int
hs_maps_parse_line(char *line, size_t len, struct hs_maps_rec *rec)
{
	const char *p = line, *end = line + len;
	uint64_t major, minor, ino;

	memset(rec, 0, sizeof(*rec));
	if (number(&p, end, 16, 16, '-', &rec->start) == -1 ||
	    number(&p, end, 16, 16, ' ', &rec->end) == -1 ||
	    rec->end < rec->start || perms(&p, end, &rec->perms) == -1 ||
	    number(&p, end, 16, 16, ' ', &rec->offset) == -1 ||
	    number(&p, end, 16, 8, ':', &major) == -1 ||
	    number(&p, end, 16, 8, ' ', &minor) == -1 ||
	    number(&p, end, 10, 20, '\0', &ino) == -1 ||
	    (p < end && *p != ' ')) {
		errno = EINVAL;
		return -1;
	}
	rec->dev = makedev((unsigned int)major, (unsigned int)minor);
	rec->ino = (ino_t)ino;
	set_name(line + (p - line), line + len, rec);
	return 0;
}

void
hs_maps_init(struct hs_maps *m)
{
	memset(m, 0, sizeof(*m));
	m->maxline = HS_MAPS_LINE_MAX;
}

void
hs_maps_reset(struct hs_maps *m)
{
	m->len = m->pos = 0;
	m->eof = m->skipping = 0;
	m->bad = 0;
}

void
hs_maps_free(struct hs_maps *m)
{
	free(m->buf);
	m->buf = NULL;
	m->cap = 0;
	hs_maps_reset(m);
}

char *
hs_maps_space(struct hs_maps *m, size_t *avail)
{
	size_t ncap;
	char *nbuf;

	if (m->pos > 0) {
		memmove(m->buf, m->buf + m->pos, m->len - m->pos);
		m->len -= m->pos;
		m->pos = 0;
	}
	/* +1: the byte after a line must be writable, even the last one. */
	if (m->cap - m->len < READ_MIN + 1) {
		ncap = m->cap > 0 ? m->cap * 2 : 2 * READ_MIN;
		while (ncap - m->len < READ_MIN + 1)
			ncap *= 2;
		if ((nbuf = realloc(m->buf, ncap)) == NULL)
			return NULL; /* errno is ENOMEM */
		m->buf = nbuf;
		m->cap = ncap;
	}
	*avail = m->cap - m->len - 1;
	return m->buf + m->len;
}

void
hs_maps_commit(struct hs_maps *m, size_t n)
{
	if (n == 0)
		m->eof = 1;
	m->len += n;
}

int
hs_maps_feed(struct hs_maps *m, const void *data, size_t len)
{
	const char *p = data;
	size_t avail, n;
	char *space;

	if (len == 0) {
		hs_maps_commit(m, 0);
		return 0;
	}
	while (len > 0) {
		if ((space = hs_maps_space(m, &avail)) == NULL)
			return -1;
		n = len < avail ? len : avail;
		memcpy(space, p, n);
		hs_maps_commit(m, n);
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * No newline in what is left: keep it for the next read, or, if it is
 * already too long or the input has ended, skip it as bad.
 */
static void
partial_line(struct hs_maps *m)
{
	size_t left = m->len - m->pos;

	if (left == 0)
		return;
	if (m->eof) {
		if (!m->skipping)
			m->bad++;
		m->skipping = 0;
		m->pos = m->len;
	} else if (m->skipping || left > m->maxline) {
		if (!m->skipping)
			m->bad++;
		m->skipping = 1;
		m->pos = m->len;
	}
}

int
hs_maps_next(struct hs_maps *m, struct hs_maps_rec *rec)
{
	char *line, *nl;
	size_t len;

	for (;;) {
		/* No arithmetic on buf before there is one (NULL + 0). */
		line = m->len > m->pos ? m->buf + m->pos : NULL;
		nl = line != NULL ? memchr(line, '\n', m->len - m->pos) : NULL;
		if (nl == NULL) {
			partial_line(m);
			return 0;
		}
		len = (size_t)(nl - line);
		m->pos += len + 1;
		if (m->skipping) {
			m->skipping = 0; /* the end of an overlong line */
			continue;
		}
		if (len <= m->maxline &&
		    hs_maps_parse_line(line, len, rec) == 0)
			return 1;
		m->bad++;
	}
}

ssize_t
hs_maps_reescape(const struct hs_maps_rec *rec, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < rec->namelen; i++) {
		if (rec->path[i] == '\n') {
			if (len - o <= ESC_LEN)
				goto toolong;
			memcpy(buf + o, ESC_NL, ESC_LEN);
			o += ESC_LEN;
		} else {
			if (len - o <= 1)
				goto toolong;
			buf[o++] = rec->path[i];
		}
	}
	if (len == 0)
		goto toolong;
	buf[o] = '\0';
	return (ssize_t)o;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

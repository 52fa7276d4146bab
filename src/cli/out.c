/*
 * out.c - writers for names we do not trust: paths given by users and,
 * above all, paths read from /proc, which any local user can choose.
 *
 * Human output goes through strvis(3): control characters, newlines and
 * every byte that is not printable ASCII (0x80 and above, so UTF-8 too)
 * come out as C-style or octal escapes, so one record is always one line
 * and a name cannot move the cursor or forge a line of output.  A
 * backslash is doubled, so the escaping is reversible with strunvis(3).
 * VIS_NOLOCALE: in a UTF-8 locale libbsd's strvis(3) decodes characters
 * and passes some of their bytes through raw (U+202E came out as a raw
 * 0xe2, "\200" and a raw 0xae); in the C locale it escapes each byte.
 *
 * JSON output: strings are escaped per RFC 8259, and beyond it every
 * control character is written as \u00XX: C0 (U+0000-U+001F), DEL and
 * C1 (U+0080-U+009F, which a terminal may take as ESC [ and the like),
 * so that printing the JSON on a terminal is as safe as the human form.
 * Bytes that are not valid UTF-8 cannot appear in a JSON string; each
 * such byte b is written as the code point U+DC00+b (a lone low
 * surrogate, "\udcXX"), the convention of Python's surrogateescape, so
 * that no name is lost or merged with another.  A consumer that decodes
 * with surrogateescape gets the bytes back exactly; a raw 0x9b byte is
 * thus "\udc9b", never the byte itself.
 */
#define LIBBSD_NETBSD_VIS /* strnvisx() with the NetBSD arguments */
#include <bsd/string.h>
#include <bsd/vis.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define VIS_RING 4
#define VIS_MAX	 (4 * 4096 + 1)

/*
 * Escape s for a message line.  Returns one of a ring of static buffers,
 * so up to VIS_RING results can be used in one printf.  An absurdly long
 * name is cut, and the cut is marked with "...".
 */
const char *
vis_path(const char *s)
{
	static char ring[VIS_RING][VIS_MAX];
	static unsigned int next;
	char *buf = ring[next++ % VIS_RING];
	size_t len = strnlen(s, VIS_MAX / 4 - 4);
	int serrno = errno; /* callers print errno after us: warn(3) */

	(void)strnvisx(buf, VIS_MAX, s, len,
	    VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL | VIS_NOLOCALE);
	if (s[len] != '\0')
		(void)strlcat(buf, "...", VIS_MAX);
	errno = serrno;
	return buf;
}

/* Length of the valid UTF-8 sequence at s, or 0 if there is none. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned int c = s[0], cp, need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need + 1;
}

/* Write s as a JSON string, quotes included. */
void
json_string(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	putc('"', fp);
	while (*p != '\0') {
		n = utf8_len(p);
		if (n == 0) {
			fprintf(fp, "\\udc%02x", *p++);
			continue;
		}
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			fprintf(fp, "\\u%04x", p[1]); /* C1 */
			p += n;
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, fp);
			p += n;
			continue;
		}
		switch (*p) {
		case '"': fputs("\\\"", fp); break;
		case '\\': fputs("\\\\", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\t': fputs("\\t", fp); break;
		case '\r': fputs("\\r", fp); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(fp, "\\u%04x", *p);
			else
				putc(*p, fp);
		}
		p++;
	}
	putc('"', fp);
}

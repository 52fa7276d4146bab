/*
 * maps.h - a parser of /proc/PID/maps text: bytes in, records out.
 *
 * Layer src/kern/: readers of kernel interfaces, shared by src/scan/ and
 * src/guard/; they may call only the seam (src/sys/).
 *
 * Nothing here reads a file.  The caller reads /proc/PID/maps with a few
 * large read(2)s straight into the parser's own, reused, growing buffer
 * and asks for records:
 *
 *	struct hs_maps m;
 *	struct hs_maps_rec rec;
 *	char *space;
 *	size_t avail;
 *	ssize_t n;
 *
 *	hs_maps_init(&m);
 *	for (;;) {
 *		while (hs_maps_next(&m, &rec) == 1)
 *			use(&rec);		(valid until the next space())
 *		if (m.eof)
 *			break;
 *		if ((space = hs_maps_space(&m, &avail)) == NULL)
 *			goto fail;		(ENOMEM)
 *		if ((n = read(fd, space, avail)) == -1)
 *			goto fail;
 *		hs_maps_commit(&m, (size_t)n);	(0 marks the end of input)
 *	}
 *	hs_maps_free(&m);
 *
 * hs_maps_feed() copies bytes in instead, for tests and the fuzzer; input
 * can be cut anywhere, records come out the same.
 *
 * Line format, as fs/proc/task_mmu.c writes it:
 *
 *	start-end perms offset major:minor inode   path
 *
 * start, end and offset in hex, major and minor in hex (wider than two
 * digits for big device numbers), inode in decimal, then padding spaces
 * and the path, which is the rest of the line and may contain spaces.
 * The path may be empty (anonymous memory), a pseudo name in brackets
 * ("[heap]", "[vdso]", "[anon:name]") or a file name.
 *
 * Escapes: the kernel writes a newline in a name as the four bytes
 * "\012" and escapes nothing else, not even a backslash.  The parser turns
 * every "\012" back into a newline and sets HS_MAPS_ESCAPED.  A name that
 * really contains backslash, '0', '1', '2' therefore comes out wrong; the
 * printed text is recoverable exactly (hs_maps_reescape()), so a caller
 * whose lookup of the unescaped name fails can try the printed one.
 *
 * " (deleted)": the kernel appends it to the name of an unlinked file, and
 * a file may also be literally so named.  The parser only reports that the
 * name ends with it (HS_MAPS_DELETED, with namelen excluding it); the
 * scanner decides with the inode number and a stat(2) of both names.
 *
 * Bad input never stops the parser and is never read past: a line that
 * does not parse, a line longer than maxline and a last line with no
 * newline (cut short, so its name may be too) are skipped and counted in
 * bad.
 */
#ifndef HS_MAPS_H
#define HS_MAPS_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* hs_maps_rec.perms */
#define HS_MAPS_R 0x01
#define HS_MAPS_W 0x02
#define HS_MAPS_X 0x04
#define HS_MAPS_S 0x08 /* shared; private ('p') otherwise */

/* hs_maps_rec.flags */
#define HS_MAPS_DELETED 0x01 /* the name ends with " (deleted)" */
#define HS_MAPS_ESCAPED 0x02 /* "\012" was turned into a newline */
#define HS_MAPS_PSEUDO	0x04 /* a name in brackets: [heap], [anon:x] */

/* Longest line taken by default; longer ones are skipped as bad. */
#define HS_MAPS_LINE_MAX (256 * 1024)

struct hs_maps_rec {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	dev_t dev;
	ino_t ino;
	unsigned int perms;
	unsigned int flags;
	/*
	 * The name, unescaped and NUL-terminated, inside the parser's (or
	 * the caller's) buffer; "" if there is none.  namelen leaves out a
	 * " (deleted)" suffix, pathlen does not.  NULL from PROCMAP_QUERY.
	 */
	const char *path;
	size_t pathlen;
	size_t namelen;
};

struct hs_maps {
	char *buf;
	size_t cap;
	size_t len;	   /* bytes in buf */
	size_t pos;	   /* first byte not yet parsed */
	size_t maxline;	   /* HS_MAPS_LINE_MAX unless changed */
	int eof;	   /* no more input will come */
	int skipping;	   /* inside an overlong line */
	unsigned long bad; /* lines skipped */
};

/*
 * Parse one line of len bytes, without its newline.  line[len] must be
 * writable (it is where the newline was): the name is unescaped in place
 * and NUL-terminated.  Returns 0, or -1 with errno EINVAL if the line is
 * not a maps line.
 */
int hs_maps_parse_line(char *line, size_t len, struct hs_maps_rec *);

void hs_maps_init(struct hs_maps *);
/* Forget the input, keep the buffer: ready for the next file. */
void hs_maps_reset(struct hs_maps *);
void hs_maps_free(struct hs_maps *);

/*
 * Room for the next read: returns where to put it and sets *avail (never
 * 0), or NULL with errno ENOMEM.  Invalidates records returned so far.
 */
char *hs_maps_space(struct hs_maps *, size_t *avail);
/* n bytes were put at the space; n == 0 marks the end of input. */
void hs_maps_commit(struct hs_maps *, size_t n);
/* Copy len bytes in (len == 0: end of input).  -1 with ENOMEM. */
int hs_maps_feed(struct hs_maps *, const void *, size_t len);

/*
 * The next record: 1 and *rec filled, or 0 when no complete line is left
 * (more input is needed, or, once m->eof is set, the input is done).
 */
int hs_maps_next(struct hs_maps *, struct hs_maps_rec *rec);

/*
 * Write the name of rec back as the kernel printed it (each newline as
 * "\012"), without " (deleted)", into buf of size len, NUL-terminated.
 * Returns the length, or -1 with ENAMETOOLONG if it does not fit.
 */
ssize_t hs_maps_reescape(const struct hs_maps_rec *, char *buf, size_t len);

#endif /* HS_MAPS_H */

/*
 * journal.c - the record a transaction keeps so that a crash can be
 * repaired: ROOT/.hotswap-journal; its writer, and its parser (a pure
 * function; journal_read.c reads the file and judges it first).
 *
 * One record a line, fields separated by one space, each field escaped
 * with strvis(3) (VIS_WHITE|VIS_CSTYLE|VIS_OCTAL), so names with spaces,
 * newlines or any byte survive:
 *
 *	hotswap-journal 2		header
 *	S SUFFIX			-b: old files become NAME+SUFFIX
 *	D DIR				a directory we are creating
 *	T DIR NAME TMP KIND		TMP will replace DIR/NAME (KIND 0-2)
 *	O DIR NAME OLD DEV INO		OLD is a hard link to the old DIR/NAME,
 *					inode INO of device DEV (decimal)
 *	X				the name the record before announced
 *					was taken by another file: not ours
 *	X 2				the same for the two records before
 *					(a T and its O, written together:
 *					the T's name was taken, so the O's
 *					was never tried)
 *	C				committed: every T is durable
 *	A				aborted after C: renames are undone
 *
 * DIR is relative to ROOT ("." for ROOT itself) and made of plain
 * components: never absolute, never ".." or ".", so that a replay can
 * reach it beneath ROOT's descriptor without following a symbolic link
 * (beneath.c).  NAME, TMP, OLD and SUFFIX are single components.  Format
 * 1, written by earlier versions, named directories by absolute path; it
 * is still read, if every directory lies beneath ROOT's path.  An O
 * record without DEV and INO (earlier versions) is still read; its old
 * inode cannot be told from another file, so it is not disarmed.
 *
 * Every T, O and D record is written BEFORE the name it announces is
 * created, so whatever a crash leaves behind is listed.  A file that
 * replaces an old one writes its T and O records in one write(2)
 * (hs_journal_add_pair), before either name is taken: one call a file,
 * not two.  If the T's name turns out taken, "X 2" cancels both; if the
 * O's, "X" cancels the O alone, and a new O is written and tried.  The journal is
 * fsynced once, with the C record; before that, a lost record can only
 * belong to a name that never reached the disk either, except after a
 * power cut, where a stray temporary may remain (see hotswap(1)).
 *
 * Replay (hs_journal_replay): no C, nothing was renamed: remove what was
 * listed.  C without A: complete the renames (all new files were durable
 * before the first one).  C and A: put the old files back.
 */
#define LIBBSD_NETBSD_VIS
#include <sys/stat.h>
#include <bsd/string.h>
#include <bsd/vis.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "txn.h"
#include "sys.h"

#define VISFLAGS (VIS_WHITE | VIS_CSTYLE | VIS_OCTAL)

int
hs_journal_create(int rootfd, struct hs_journal *j)
{
	j->rootfd = rootfd;
	/* O_RDWR: the commit replays what it reads back from fd. */
	j->fd = hs_openat(rootfd, HS_JOURNAL,
	    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND, 0600);
	if (j->fd == -1)
		return -1;
	j->size = strlen(HS_JOURNAL_HEADER);
	if (hs_write_full(j->fd, HS_JOURNAL_HEADER, j->size) == -1) {
		hs_journal_remove(j);
		return -1;
	}
	return 0;
}

#define LINE_MAX_LEN (8 + 3 * (4 * PATH_MAX + 2) + 64)

/*
 * Format one record into line (LINE_MAX_LEN bytes): type, up to three
 * escaped fields, then tail and the newline.  Its length, or -1.
 */
static ssize_t
format(char *line, char type, const char *dir, const char *name,
    const char *aux, const char *tail)
{
	const char *f[3] = { dir, name, aux };
	size_t cap = LINE_MAX_LEN, len = 0;
	int i, r;

	line[len++] = type;
	for (i = 0; i < 3 && f[i] != NULL; i++) {
		line[len++] = ' ';
		r = strnvisx(line + len, cap - len, f[i], strlen(f[i]),
		    VISFLAGS);
		if (r < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		len += (size_t)r;
	}
	len += (size_t)snprintf(line + len, cap - len, "%s", tail);
	line[len++] = '\n';
	return (ssize_t)len;
}

/*
 * Append len bytes of whole records in one write(2): a crash keeps a
 * prefix of them, and only whole lines count (hs_journal_parse).
 */
static int
append(struct hs_journal *j, const char *buf, size_t len)
{
	/* Never write a journal that the replay would refuse as too big. */
	if (j->size + len > HS_JOURNAL_MAX) {
		errno = EFBIG;
		return -1;
	}
	if (hs_write_full(j->fd, buf, len) == -1)
		return -1;
	j->size += len;
	return 0;
}

/* Append one record: type, up to three escaped fields, then tail. */
static int
add(struct hs_journal *j, char type, const char *dir, const char *name,
    const char *aux, const char *tail)
{
	char *line = malloc(LINE_MAX_LEN);
	ssize_t len;
	int r = -1, serrno;

	if (line == NULL)
		return -1;
	if ((len = format(line, type, dir, name, aux, tail)) != -1)
		r = append(j, line, (size_t)len);
	serrno = errno;
	free(line);
	errno = serrno;
	return r;
}

int
hs_journal_add(struct hs_journal *j, char type, const char *dir,
    const char *name, const char *aux, int kind)
{
	char tail[16] = "";

	if (kind >= 0)
		(void)snprintf(tail, sizeof(tail), " %d", kind);
	return add(j, type, dir, name, aux, tail);
}

static void
old_tail(char *tail, size_t len, dev_t dev, ino_t ino)
{
	(void)snprintf(tail, len, " %ju %ju", (uintmax_t)dev, (uintmax_t)ino);
}

int
hs_journal_add_old(struct hs_journal *j, const char *dir, const char *name,
    const char *aux, dev_t dev, ino_t ino)
{
	char tail[48];

	old_tail(tail, sizeof(tail), dev, ino);
	return add(j, 'O', dir, name, aux, tail);
}

int
hs_journal_add_pair(struct hs_journal *j, const char *dir, const char *name,
    const char *tmp, int kind, const char *old, dev_t dev, ino_t ino)
{
	char *buf = malloc(2 * LINE_MAX_LEN), tail[48];
	ssize_t n1, n2 = -1;
	int r = -1, serrno;

	if (buf == NULL)
		return -1;
	(void)snprintf(tail, sizeof(tail), " %d", kind);
	if ((n1 = format(buf, 'T', dir, name, tmp, tail)) != -1) {
		old_tail(tail, sizeof(tail), dev, ino);
		n2 = format(buf + n1, 'O', dir, name, old, tail);
	}
	if (n2 != -1)
		r = append(j, buf, (size_t)(n1 + n2));
	serrno = errno;
	free(buf);
	errno = serrno;
	return r;
}

int
hs_journal_cancel(struct hs_journal *j, int n)
{
	return n == 2 ? append(j, "X 2\n", 4) : append(j, "X\n", 2);
}

/* The commit point: C, made durable with the journal's own name. */
int
hs_journal_commit(struct hs_journal *j, int sync)
{
	if (hs_write_full(j->fd, "C\n", 2) == -1)
		return -1;
	j->size += 2;
	if (sync && (hs_fsync(j->fd) == -1 || hs_fsync(j->rootfd) == -1))
		return -1;
	return 0;
}

void
hs_journal_remove(struct hs_journal *j)
{
	int serrno = errno;

	if (j->fd == -1)
		return;
	(void)hs_close(j->fd);
	(void)hs_sys.unlinkat(j->rootfd, HS_JOURNAL, 0);
	j->fd = -1;
	errno = serrno;
}

/*
 * 1 if the tree's journal name is still the file hj writes, 0 if it was
 * removed or replaced, -1 if we cannot tell.
 */
int
hs_journal_is_ours(const struct hs_journal *hj)
{
	struct stat held, named;

	if (hs_sys.fstat(hj->fd, &held) == -1)
		return -1;
	if (hs_sys.fstatat(hj->rootfd, HS_JOURNAL, &named,
		AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

/* --- the parser: bytes in, records out, no system call --------------- */

struct jparser {
	struct hs_jtext *j;
	int version;	  /* 1: absolute DIRs, 2: relative */
	const char *root; /* ROOT's absolute path, or NULL */
	int last;	  /* type of the last record, or 0 */
};

/* 1 if s is one path component: not empty, ".", ".." and has no '/'. */
static int
component(const char *s, size_t len)
{
	return len > 0 && len <= NAME_MAX && memchr(s, '/', len) == NULL &&
	    !(len == 1 && s[0] == '.') &&
	    !(len == 2 && s[0] == '.' && s[1] == '.');
}

/* 1 if s is components joined by single slashes (a leading one too). */
static int
plain_path(const char *s)
{
	const char *slash;

	if (strlen(s) >= PATH_MAX)
		return 0;
	if (*s == '/')
		s++;
	for (;; s = slash + 1) {
		slash = strchr(s, '/');
		if (!component(s,
			slash != NULL ? (size_t)(slash - s) : strlen(s)))
			return 0;
		if (slash == NULL)
			return 1;
	}
}

/*
 * DIR as a path relative to the tree: "." or plain components.  Format
 * 1's absolute paths are re-expressed relative to root, if beneath it.
 */
static const char *
rel_dir(struct jparser *ps, const char *dir, const char **msg)
{
	size_t n;

	*msg = "a directory that is not a plain path";
	if (ps->version == 2)
		return strcmp(dir, ".") == 0 ||
			(*dir != '/' && plain_path(dir)) ?
		    dir :
		    NULL;
	if (*dir != '/' || !(strcmp(dir, "/") == 0 || plain_path(dir)))
		return NULL;
	*msg = "a directory outside the tree";
	if (ps->root == NULL)
		return NULL;
	if (strcmp(dir, ps->root) == 0)
		return ".";
	if (strcmp(ps->root, "/") == 0)
		return dir + 1;
	n = strlen(ps->root);
	if (strncmp(dir, ps->root, n) == 0 && dir[n] == '/')
		return dir + n + 1;
	return NULL;
}

/*
 * Split s (after the type letter) at single spaces into at most max
 * fields, each unescaped in place: the count, or -1 (bad spacing, an
 * empty field, too many, or an escape that is invalid or yields NUL).
 */
static int
split_fields(char *s, char **f, int max, const char **msg)
{
	int n = 0, i, r;

	*msg = "a record with bad fields";
	while (*s != '\0') {
		if (*s != ' ' || s[1] == ' ' || s[1] == '\0' || n == max)
			return -1;
		*s++ = '\0';
		f[n++] = s;
		s += strcspn(s, " ");
	}
	*msg = "a field that is badly escaped";
	for (i = 0; i < n; i++) {
		r = strunvis(f[i], f[i]);
		if (r < 0 || (size_t)r != strlen(f[i]))
			return -1;
	}
	return n;
}

/* A decimal number, digits only, that fits. */
static int
number(const char *s, uintmax_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoumax(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/* The fields of a T, O, D or S record, checked into r. */
static int
fields(struct jparser *ps, struct hs_jrec *r, char **f, int n, const char **msg)
{
	const char *dir, *slash;
	uintmax_t v;

	if (r->type == 'S') {
		*msg = "a name that is not one path component";
		r->aux = f[0];
		return component(f[0], strlen(f[0])) ? 0 : -1;
	}
	if ((dir = rel_dir(ps, f[0], msg)) == NULL)
		return -1;
	if (r->type == 'D') {
		/* Kept as its parent and its name, as T and O are. */
		if (strcmp(dir, ".") == 0)
			return -1;
		if ((slash = strrchr(dir, '/')) == NULL) {
			r->dir = ".";
			r->name = dir;
		} else {
			f[0][slash - f[0]] = '\0';
			r->dir = dir;
			r->name = slash + 1;
		}
		return 0;
	}
	*msg = "a name that is not one path component";
	if (!component(f[1], strlen(f[1])) || !component(f[2], strlen(f[2])))
		return -1;
	r->dir = dir;
	r->name = f[1];
	r->aux = f[2];
	*msg = "a record with bad fields";
	if (r->type == 'T' &&
	    (n != 4 || f[3][0] < '0' || f[3][0] > '2' || f[3][1] != '\0'))
		return -1;
	if (r->type == 'T')
		r->kind = f[3][0] - '0';
	if (r->type == 'O' && n == 5) {
		if (number(f[3], &v) == -1)
			return -1;
		r->dev = (dev_t)v;
		if (number(f[4], &v) == -1)
			return -1;
		r->ino = (ino_t)v;
		r->has_id = 1;
	}
	return 0;
}

/* Where a record of this type may stand, given the one before it. */
static const char *
misplaced(const struct jparser *ps, char type)
{
	const struct hs_jtext *j = ps->j;

	if (j->aborted)
		return "a record after the rollback";
	if (j->committed && type != 'A')
		return "a record after the commit";
	if (type == 'S' && j->n > 0)
		return "an S record that is not first";
	if (type == 'X' &&
	    (j->n == 0 || j->rec[j->n - 1].cancelled ||
		strchr("TOD", ps->last) == NULL))
		return "an X that cancels nothing";
	return NULL;
}

/*
 * "X 2" cancels the two records before it, a T and then its O (written
 * together, hs_journal_add_pair): both must be there, not cancelled.
 */
static const char *
misplaced_x2(const struct jparser *ps)
{
	const struct hs_jtext *j = ps->j;
	const struct hs_jrec *t, *o;

	if (j->n < 2)
		return "an X that cancels nothing";
	t = &j->rec[j->n - 2];
	o = &j->rec[j->n - 1];
	if (t->type != 'T' || o->type != 'O' || t->cancelled || o->cancelled ||
	    strcmp(t->dir, o->dir) != 0 || strcmp(t->name, o->name) != 0)
		return "an X 2 that does not follow a T and its O";
	return NULL;
}

/* One line (NUL-terminated, without its newline) into the next record. */
static int
record(struct jparser *ps, char *line, const char **msg)
{
	static const char types[] = "SDTOXCA";
	static const int nf[] = { 1, 1, 4, 5, 1, 0, 0 };
	struct hs_jtext *j = ps->j;
	struct hs_jrec *r = &j->rec[j->n];
	const char *t;
	char *f[5];
	int n;

	*msg = "an unknown record";
	if (line[0] == '\0' || (t = strchr(types, line[0])) == NULL ||
	    (line[1] != ' ' && line[1] != '\0'))
		return -1;
	if ((*msg = misplaced(ps, line[0])) != NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	r->type = line[0];
	r->kind = -1;
	if ((n = split_fields(line + 1, f, nf[t - types], msg)) == -1)
		return -1;
	*msg = "a record with bad fields";
	if (r->type == 'X') {
		/* X alone, or "X 2" (a T and its O). */
		if (n == 1 && strcmp(f[0], "2") != 0)
			return -1;
		if (n == 1 && (*msg = misplaced_x2(ps)) != NULL)
			return -1;
		ps->last = 'X';
		j->rec[j->n - 1].cancelled = 1;
		if (n == 1)
			j->rec[j->n - 2].cancelled = 1;
		return 0;
	}
	/* O: 5 fields, or 3 as earlier versions wrote it. */
	if ((n != nf[t - types] && !(r->type == 'O' && n == 3)) ||
	    (n > 0 && fields(ps, r, f, n, msg) == -1))
		return -1;
	ps->last = r->type;
	switch (r->type) {
	case 'S': j->suffix = r->aux; break;
	case 'C': j->committed = 1; break;
	case 'A': j->aborted = 1; break;
	}
	j->n++;
	return 0;
}

/* The header: 1 or 2, 0 for a journal cut inside it, -1 for neither. */
static int
header(const char *text, size_t len)
{
	static const char v1[] = "hotswap-journal 1\n";
	size_t hl = sizeof(v1) - 1;

	if (len < hl &&
	    (strncmp(text, v1, len) == 0 ||
		strncmp(text, HS_JOURNAL_HEADER, len) == 0) &&
	    memchr(text, '\0', len) == NULL)
		return 0;
	if (len >= hl && memcmp(text, v1, hl) == 0)
		return 1;
	if (len >= hl && memcmp(text, HS_JOURNAL_HEADER, hl) == 0)
		return 2;
	return -1;
}

/*
 * Only whole lines count: a crash can cut the journal anywhere after the
 * last fsync, and a record is acted on only if its newline made it.  A
 * journal cut inside its header recorded nothing.  Anything else that is
 * not exactly the grammar fails the whole journal: a replay acts on all
 * of it or on none.
 */
int
hs_journal_parse(const char *text, size_t len, const char *root,
    struct hs_jtext *j, unsigned long *errline, const char **errmsg)
{
	struct jparser ps = { .j = j, .root = root };
	char *p, *end, *nl;
	unsigned long line = 1;

	memset(j, 0, sizeof(*j));
	*errline = 1;
	*errmsg = "an unknown header";
	if ((ps.version = header(text, len)) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (ps.version == 0)
		return 0;
	if ((j->buf = malloc(len + 1)) == NULL ||
	    (j->rec = calloc(len / 2 + 1, sizeof(*j->rec))) == NULL)
		goto fail;
	memcpy(j->buf, text, len);
	j->buf[len] = '\0';
	end = j->buf + len;
	for (p = j->buf + strlen(HS_JOURNAL_HEADER);
	     (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		*nl = '\0';
		*errline = ++line;
		*errmsg = "a record with a NUL byte";
		if (strlen(p) != (size_t)(nl - p) ||
		    record(&ps, p, errmsg) == -1) {
			errno = EINVAL;
			goto fail;
		}
	}
	*errmsg = NULL;
	return 0;
fail:
	hs_journal_text_free(j);
	return -1;
}

void
hs_journal_text_free(struct hs_jtext *j)
{
	int serrno = errno;

	free(j->rec);
	free(j->buf);
	memset(j, 0, sizeof(*j));
	errno = serrno;
}

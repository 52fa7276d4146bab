/*
 * journal.c - the record a transaction keeps so that a crash can be
 * repaired: ROOT/.hotswap-journal.
 *
 * One record a line, fields separated by one space, each field escaped
 * with strvis(3) (VIS_WHITE|VIS_CSTYLE|VIS_OCTAL), so names with spaces,
 * newlines or any byte survive:
 *
 *	hotswap-journal 1		header
 *	S SUFFIX			-b: old files become NAME+SUFFIX
 *	D DIR				a directory we are creating
 *	T DIR NAME TMP KIND		TMP will replace DIR/NAME (KIND 0-2)
 *	O DIR NAME OLD			OLD is a hard link to the old DIR/NAME
 *	X				the name the record before announced
 *					was taken by another file: not ours
 *	C				committed: every T is durable
 *	A				aborted after C: renames are undone
 *
 * Every T, O and D record is written BEFORE the name it announces is
 * created, so whatever a crash leaves behind is listed.  The journal is
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

#define VISFLAGS	(VIS_WHITE | VIS_CSTYLE | VIS_OCTAL)

int
hs_journal_create(int rootfd, struct hs_journal *j)
{
	j->rootfd = rootfd;
	j->fd = hs_openat(rootfd, HS_JOURNAL, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_APPEND, 0600);
	if (j->fd == -1)
		return -1;
	if (hs_write_full(j->fd, HS_JOURNAL_HEADER, strlen(HS_JOURNAL_HEADER)) == -1) {
		hs_journal_remove(j);
		return -1;
	}
	return 0;
}

/* Append one record: type, then up to three escaped fields and a kind. */
int
hs_journal_add(struct hs_journal *j, char type, const char *dir,
    const char *name, const char *aux, int kind)
{
	const char *f[3] = { dir, name, aux };
	size_t cap = 8 + 3 * (4 * PATH_MAX + 2), len = 0;
	char *line = malloc(cap);
	int i, r, serrno;

	if (line == NULL)
		return -1;
	line[len++] = type;
	for (i = 0; i < 3 && f[i] != NULL; i++) {
		line[len++] = ' ';
		r = strnvisx(line + len, cap - len, f[i], strlen(f[i]),
		    VISFLAGS);
		if (r < 0)
			goto toolong;
		len += (size_t)r;
	}
	if (kind >= 0)
		len += (size_t)snprintf(line + len, cap - len, " %d", kind);
	line[len++] = '\n';
	r = hs_write_full(j->fd, line, len);
	serrno = errno;
	free(line);
	errno = serrno;
	return r;
toolong:
	free(line);
	errno = ENAMETOOLONG;
	return -1;
}

/* The commit point: C, made durable with the journal's own name. */
int
hs_journal_commit(struct hs_journal *j, int sync)
{
	if (hs_write_full(j->fd, "C\n", 2) == -1)
		return -1;
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

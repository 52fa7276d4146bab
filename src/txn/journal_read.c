/*
 * journal_read.c - a tree's journal read back from the disk and judged:
 * replayed only if this user wrote it and nobody else may change it,
 * then parsed whole (hs_journal_parse, journal.c) before anything is
 * done.  Or the journal this process writes, read back from its own
 * descriptor.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "install.h"
#include "txn.h"
#include "sys.h"

/*
 * Why st, the journal's status, is not to be trusted, or NULL.  Only a
 * journal this user wrote itself is replayed: in a tree others may write
 * into, anyone can create .hotswap-journal, and a replay renames and
 * removes what it lists with this user's rights.
 */
static const char *
untrusted(const struct stat *st)
{
	errno = EPERM;
	if (S_ISLNK(st->st_mode)) {
		errno = ELOOP;
		return "refusing the journal (a symbolic link)";
	}
	if (!S_ISREG(st->st_mode))
		return "refusing the journal (not a regular file)";
	if (st->st_uid != geteuid())
		return "refusing the journal (not owned by the user running "
		       "hotswap)";
	if (st->st_mode & 077)
		return "refusing the journal (group or others have access)";
	if (st->st_nlink != 1)
		return "refusing the journal (it has more than one link)";
	if (st->st_size > HS_JOURNAL_MAX) {
		errno = EFBIG;
		return "refusing the journal (larger than 64 MiB)";
	}
	return NULL;
}

/*
 * The journal's text into *text (NULL and 0 if there is none), once it
 * is known to be trusted: looked at before it is opened, so that no FIFO
 * or device is ever opened, and checked again on the descriptor, which
 * is what is read (O_NONBLOCK: a FIFO swapped in between cannot block).
 */
static int
slurp(int rootfd, char **text, size_t *len, const char **why)
{
	struct stat st;
	ssize_t n;
	int fd = -1, ret = -1, serrno;

	*text = NULL;
	*len = 0;
	*why = "cannot read the journal";
	if (hs_sys.fstatat(rootfd, HS_JOURNAL, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((*why = untrusted(&st)) != NULL)
		return -1;
	*why = "cannot read the journal";
	fd = hs_openat(rootfd, HS_JOURNAL,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
	if (fd == -1) {
		if (errno == ELOOP)
			*why = "refusing the journal (a symbolic link)";
		return errno == ENOENT ? 0 : -1;
	}
	if (hs_sys.fstat(fd, &st) == -1)
		goto out;
	if ((*why = untrusted(&st)) != NULL)
		goto out;
	*why = "cannot read the journal";
	if ((*text = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	if ((n = hs_pread_full(fd, *text, (size_t)st.st_size, 0)) == -1)
		goto out;
	*len = (size_t)n;
	ret = 0;
out:
	serrno = errno;
	if (ret == -1) {
		free(*text);
		*text = NULL;
	}
	(void)hs_close(fd);
	errno = serrno;
	return ret;
}

/*
 * Parse text, len bytes of the journal of the tree rootfd, into *p: 0,
 * or -1 with res set.  Format 1 needs the root's absolute path.  text is
 * freed.
 */
static int
parse(int rootfd, char *text, size_t len, struct hs_jtext *p,
    struct hs_result *res)
{
	static __thread char step[160]; /* res->step of a parse error */
	char rootpath[PATH_MAX];
	const char *msg;
	unsigned long line;
	int r;

	r = hs_fd_path(rootfd, rootpath, sizeof(rootpath));
	r = hs_journal_parse(text, len, r == 0 ? rootpath : NULL, p, &line,
	    &msg);
	free(text);
	if (r == -1) {
		(void)snprintf(step, sizeof(step),
		    "refusing the journal "
		    "(line %lu: %s)",
		    line, msg);
		errno = EINVAL;
		return hs_fail(res, step, res->target);
	}
	return 0;
}

int
hs_journal_load(int rootfd, struct hs_jtext *p, struct hs_result *res)
{
	const char *why;
	char *text;
	size_t len;

	if (slurp(rootfd, &text, &len, &why) == -1)
		return hs_fail(res, why, res->target);
	if (text == NULL)
		return 0;
	return parse(rootfd, text, len, p, res) == -1 ? -1 : 1;
}

/*
 * Read back from its descriptor, not by name: another user who may
 * write the tree's root can remove or replace the name, not what was
 * written through the descriptor.
 */
int
hs_journal_load_held(const struct hs_journal *hj, struct hs_jtext *p,
    struct hs_result *res)
{
	char *text;
	ssize_t n;

	if ((text = malloc(hj->size + 1)) == NULL)
		return hs_fail(res, "cannot read the journal", res->target);
	if ((n = hs_pread_full(hj->fd, text, hj->size, 0)) == -1) {
		free(text);
		return hs_fail(res, "cannot read the journal", res->target);
	}
	return parse(hj->rootfd, text, (size_t)n, p, res);
}

/*
 * recover.c - carry out what a transaction's journal says.
 *
 * This is not only crash recovery: a transaction commits by writing C and
 * replaying its own journal forward, and rolls back by replaying it
 * backward.  So the code that repairs a crash is the code that runs on
 * every deploy, and is tested by every deploy.
 *
 * Every step is idempotent: a name already moved or removed is skipped,
 * so a replay interrupted by another crash can simply be run again.
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

struct jrec {
	char	 type;
	int	 kind;
	int	 cancelled;
	char	*f[3];			/* DIR, NAME, TMP/OLD (unescaped) */
};

struct journal {
	char		*text;
	struct jrec	*rec;
	size_t		 n;
	char		*suffix;	/* S record, or NULL */
	int		 committed, aborted;
	int		 dirfd;		/* the open directory below */
	const char	*dirpath;
};

/* Read the whole journal; ENOENT if there is none. */
static char *
slurp(int rootfd)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	fd = hs_openat(rootfd, HS_JOURNAL, O_RDONLY | O_NOFOLLOW, 0);
	if (fd == -1)
		return NULL;
	if (hs_sys.fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size +
	    1)) != NULL) {
		n = hs_pread_full(fd, buf, (size_t)st.st_size, 0);
		if (n == -1) {
			free(buf);
			buf = NULL;
		} else
			buf[n] = '\0';
	}
	(void)hs_close(fd);
	return buf;
}

/* How many path fields a record of this type has. */
static int
nfields(char type)
{
	switch (type) {
	case 'S': case 'D': return 1;
	case 'T': case 'O': return 3;
	default: return 0;
	}
}

/* Split line into the record r; -1 (EINVAL) if it is not one. */
static int
parse_record(char *line, struct jrec *r)
{
	char *save = NULL, *tok;
	int i = 0, nf;

	memset(r, 0, sizeof(*r));
	r->kind = -1;
	if (strchr("SDTOXCA", line[0]) == NULL || (line[1] != ' ' &&
	    line[1] != '\0'))
		goto bad;
	r->type = line[0];
	nf = nfields(r->type);
	for (tok = strtok_r(line + 1, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (i < nf) {
			if (strunvis(tok, tok) < 0)
				goto bad;
			r->f[i++] = tok;
		} else if (r->type == 'T' && r->kind == -1 &&
		    tok[0] >= '0' && tok[0] <= '2' && tok[1] == '\0')
			r->kind = tok[0] - '0';
		else
			goto bad;
	}
	if (i != nf || (r->type == 'T' && r->kind == -1))
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * Only whole lines count: a crash can cut the journal anywhere after the
 * last fsync, and a record is acted on only if its newline made it.  A
 * journal cut inside its header recorded nothing.
 */
static int
parse(struct journal *j)
{
	char *line, *save = NULL, *last = strrchr(j->text, '\n');

	if (last == NULL || last < j->text + 17) {
		if (strncmp(j->text, HS_JOURNAL_HEADER, strlen(j->text)) == 0) {
			j->text[0] = '\0';	/* cut in the header: empty */
			return 0;
		}
		errno = EINVAL;
		return -1;
	}
	last[1] = '\0';
	if (strncmp(j->text, HS_JOURNAL_HEADER, 18) != 0) {
		errno = EINVAL;
		return -1;
	}
	j->rec = calloc(strlen(j->text) / 2 + 1, sizeof(*j->rec));
	if (j->rec == NULL)
		return -1;
	for (line = strtok_r(j->text + strlen(HS_JOURNAL_HEADER), "\n", &save);
	    line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (parse_record(line, &j->rec[j->n]) == -1)
			return -1;
		switch (j->rec[j->n].type) {
		case 'S': j->suffix = j->rec[j->n].f[0]; break;
		case 'C': j->committed = 1; break;
		case 'A': j->aborted = 1; break;
		case 'X':
			if (j->n > 0)
				j->rec[j->n - 1].cancelled = 1;
			break;
		}
		j->n++;
	}
	return 0;
}

/* The directory path, opened (the last one is kept open). */
static int
dir(struct journal *j, const char *path)
{
	if (j->dirfd != -1 && strcmp(j->dirpath, path) == 0)
		return j->dirfd;
	if (j->dirfd != -1)
		(void)hs_close(j->dirfd);
	j->dirpath = path;
	j->dirfd = hs_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
	return j->dirfd;
}

/* 1 if dir/name exists, 0 if not, -1 if we cannot tell. */
static int
exists(int dirfd, const char *name)
{
	struct stat st;

	if (hs_sys.fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* Remove dir/name if it is there. */
static int
remove_name(struct journal *j, const char *d, const char *name)
{
	int fd = dir(j, d);

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (hs_sys.unlinkat(fd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/* Rename dir/from over dir/to if from is there. */
static int
move_name(struct journal *j, const char *d, const char *from, const char *to)
{
	int fd = dir(j, d), e;

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if ((e = exists(fd, from)) <= 0)
		return e;
	return hs_sys.renameat2(fd, from, fd, to, 0);
}

/* Every T into place: kind 0 first, then 1, then 2. */
static int
forward(struct journal *j)
{
	struct jrec *r;
	size_t i;
	int k;

	for (k = 0; k <= 2; k++)
		for (i = 0; i < j->n; i++) {
			r = &j->rec[i];
			if (r->type == 'T' && !r->cancelled && r->kind == k &&
			    move_name(j, r->f[0], r->f[2], r->f[1]) == -1)
				return -1;
		}
	return 0;
}

/*
 * After forward: the old inodes' links become backups (S) or go.  Only
 * once every rename is made, or a rollback would find them gone.
 */
static int
drop_old(struct journal *j)
{
	char bname[NAME_MAX + 1];
	struct jrec *r;
	size_t i;

	for (i = 0; i < j->n; i++) {
		r = &j->rec[i];
		if (r->type != 'O' || r->cancelled)
			continue;
		if (j->suffix != NULL) {
			if (hs_backup_name(bname, r->f[1], j->suffix) == -1 ||
			    move_name(j, r->f[0], r->f[2], bname) == -1)
				return -1;
		} else if (remove_name(j, r->f[0], r->f[2]) == -1)
			return -1;
	}
	return 0;
}

/* The O record for dir/name, or NULL if the name was new. */
static struct jrec *
old_of(struct journal *j, const struct jrec *t)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (j->rec[i].type == 'O' && !j->rec[i].cancelled &&
		    strcmp(j->rec[i].f[0], t->f[0]) == 0 &&
		    strcmp(j->rec[i].f[1], t->f[1]) == 0)
			return &j->rec[i];
	return NULL;
}

/*
 * Undo: temporaries and old-inode links are removed, directories we made
 * are removed if empty.  After C (renames may have happened), a T whose
 * temporary is gone was renamed: its old inode is renamed back, or the
 * name removed if it was new.
 */
static int
backward(struct journal *j)
{
	struct jrec *r, *o;
	size_t i;
	int fd, e;

	for (i = j->n; i-- > 0;) {
		r = &j->rec[i];
		if (r->type != 'T' || r->cancelled)
			continue;
		if ((fd = dir(j, r->f[0])) == -1) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if ((e = exists(fd, r->f[2])) == -1)
			return -1;
		if (e == 1) {
			if (remove_name(j, r->f[0], r->f[2]) == -1)
				return -1;
		} else if (j->committed) {
			o = old_of(j, r);
			if (o != NULL ? move_name(j, o->f[0], o->f[2],
			    r->f[1]) == -1 : remove_name(j, r->f[0],
			    r->f[1]) == -1)
				return -1;
		}
	}
	for (i = j->n; i-- > 0;) {
		r = &j->rec[i];
		if (r->type == 'O' && !r->cancelled &&
		    remove_name(j, r->f[0], r->f[2]) == -1)
			return -1;
		if (r->type == 'D' && !r->cancelled)
			(void)hs_sys.unlinkat(AT_FDCWD, r->f[0], AT_REMOVEDIR);
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* fsync every directory a T, O or D record names, each once. */
static int
sync_dirs(struct journal *j)
{
	const char **dirs = calloc(j->n + 1, sizeof(*dirs));
	size_t i, n = 0;
	int fd, ret = -1;

	if (dirs == NULL)
		return -1;
	for (i = 0; i < j->n; i++)
		if (strchr("TOD", j->rec[i].type) != NULL)
			dirs[n++] = j->rec[i].f[0];
	qsort(dirs, n, sizeof(*dirs), cmp_str);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(dirs[i], dirs[i - 1]) == 0)
			continue;
		if ((fd = dir(j, dirs[i])) != -1 && hs_fsync(fd) == -1)
			goto out;
	}
	ret = 0;
out:
	free(dirs);
	return ret;
}

/* Record the directory being worked on when a step failed. */
static void
failed(struct journal *j, struct hs_result *res, const char *step)
{
	if (j->dirpath != NULL)
		(void)strlcpy(res->target, j->dirpath, sizeof(res->target));
	hs_fail(res, step, res->target);
}

int
hs_journal_replay(int rootfd, int sync, int *outcome, struct hs_result *res)
{
	struct journal j = { .dirfd = -1 };
	int ret = -1, serrno;

	*outcome = 0;
	if ((j.text = slurp(rootfd)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return hs_fail(res, "cannot read the journal in", res->target);
	}
	if (parse(&j) == -1) {
		hs_fail(res, "cannot read the journal in", res->target);
		goto out;
	}
	if (j.committed && !j.aborted) {
		if (forward(&j) == -1) {
			failed(&j, res, "cannot rename into");
			goto out;
		}
		*outcome = 1;
		if (drop_old(&j) == -1) {
			failed(&j, res, "installed, but cannot remove old "
			    "links in");
			goto out;
		}
	} else {
		if (backward(&j) == -1) {
			failed(&j, res, "cannot roll back in");
			goto out;
		}
		*outcome = -1;
	}
	if (sync && sync_dirs(&j) == -1) {
		failed(&j, res, *outcome == 1 ? "installed, but cannot sync" :
		    "rolled back, but cannot sync");
		goto out;
	}
	if ((hs_sys.unlinkat(rootfd, HS_JOURNAL, 0) == -1 && errno != ENOENT) ||
	    (sync && hs_fsync(rootfd) == -1)) {
		hs_fail(res, *outcome == 1 ? "installed, but cannot remove the "
		    "journal in" : "cannot remove the journal in", res->target);
		goto out;
	}
	ret = 0;
out:
	serrno = errno;
	if (j.dirfd != -1)
		(void)hs_close(j.dirfd);
	free(j.rec);
	free(j.text);
	errno = serrno;
	return ret;
}

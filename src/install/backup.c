/*
 * backup.c - the backup an install with -b makes of the file it replaces:
 * its name, DEST plus the suffix in force or GNU's numbered DEST.~N~
 * (hs_install_opts.backup_type), and the hard link made under that name.
 * The transaction (journal S records) and recovery name their simple
 * backups with the same rule; rollback picks the newest with
 * hs_backup_pick().
 */
#include <bsd/string.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "install.h"

const char *
hs_suffix(const struct hs_install_opts *opts)
{
	return opts->suffix != NULL ? opts->suffix : "~";
}

/* The name of the backup of name, or -1 if the suffix cannot make one. */
int
hs_backup_name(char *buf, const char *name, const char *suffix)
{
	if (*suffix == '\0' || strchr(suffix, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(buf, NAME_MAX + 1, "%s%s", name, suffix) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* res->backup: the path of the backup bname beside res->target. */
static void
backup_path(struct hs_result *res, const char *name, const char *bname)
{
	size_t tl = strlen(res->target), nl = strlen(name);
	int dl = tl >= nl ? (int)(tl - nl) : 0;

	(void)snprintf(res->backup, sizeof(res->backup), "%.*s%s", dl,
	    res->target, bname);
}

int
hs_backup_pick(int dirfd, const char *name, const struct hs_install_opts *opts,
    int newest, char *bname, struct hs_result *res)
{
	enum hs_backup_type type = opts->backup_type;
	unsigned long n = 0;
	int r;

	/* rollback -S SUFFIX names a simple backup. */
	if (newest && opts->suffix != NULL && type == HS_BACKUP_EXISTING)
		type = HS_BACKUP_SIMPLE;
	if (type != HS_BACKUP_SIMPLE && hs_backup_newest(dirfd, name, &n) == -1)
		return -1;
	if (type == HS_BACKUP_NUMBERED && newest && n == 0) {
		errno = ENOENT;
		(void)strlcpy(res->backup, res->target, sizeof(res->backup));
		(void)strlcat(res->backup, ".~1~", sizeof(res->backup));
		return -1;
	}
	if (type == HS_BACKUP_NUMBERED || n > 0) {
		r = snprintf(bname, NAME_MAX + 1, "%s.~%lu~", name,
		    newest ? n : n + 1);
		if (r > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
	} else if (hs_backup_name(bname, name, hs_suffix(opts)) == -1)
		return -1;
	backup_path(res, name, bname);
	return 0;
}

/*
 * Hard-link the current destination to its backup name.  The link is made
 * under a temporary name and renamed, so an older backup is replaced
 * atomically and the destination itself is never moved.
 */
int
hs_make_backup(struct hs_dest *d, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	struct hs_tmp bt = HS_TMP_INIT;
	char bname[NAME_MAX + 1];

	if (hs_backup_pick(d->dirfd, d->name, opts, 0, bname, res) == -1) {
		res->backup[0] = '\0';
		return hs_fail(res, "cannot back up", res->target);
	}
	bt.dirfd = d->dirfd;
	if (hs_tmp_link_name(&bt, d->name, d->name) == -1 ||
	    hs_tmp_rename(&bt, bname) == -1) {
		hs_tmp_discard(&bt);
		res->backup[0] = '\0';
		return hs_fail(res, "cannot back up", res->target);
	}
	return 0;
}

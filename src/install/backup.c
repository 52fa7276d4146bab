/*
 * backup.c - the backup an install with -b makes of the file it replaces:
 * its name, DEST plus the suffix in force, and the hard link made under
 * that name.  The transaction (journal S records), rollback and recovery
 * name their backups with the same rule.
 */
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

/*
 * Hard-link the current destination to its backup name.  The link is made
 * under a temporary name and renamed, so an older backup is replaced
 * atomically and the destination itself is never moved.
 */
int
hs_make_backup(struct hs_dest *d, const char *suffix, struct hs_result *res)
{
	struct hs_tmp bt = HS_TMP_INIT;
	char bname[NAME_MAX + 1];

	(void)snprintf(res->backup, sizeof(res->backup), "%s%s", res->target,
	    suffix);
	if (hs_backup_name(bname, d->name, suffix) == -1)
		return hs_fail(res, "cannot back up", res->target);
	bt.dirfd = d->dirfd;
	if (hs_tmp_link_name(&bt, d->name, d->name) == -1 ||
	    hs_tmp_rename(&bt, bname) == -1) {
		hs_tmp_discard(&bt);
		res->backup[0] = '\0';
		return hs_fail(res, "cannot back up", res->target);
	}
	return 0;
}

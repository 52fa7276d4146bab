/*
 * args.c - the values of hotswap install's arguments: the user, group
 * and mode of -o, -g and -m (and of a manifest's fields), and the
 * destination of a SOURCE in a DIRECTORY.
 */
#include <sys/stat.h>
#include <bsd/stdlib.h>
#include <bsd/unistd.h>
#include <err.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "cmd.h"

int
parse_owner(const char *s, uid_t *uid)
{
	struct passwd *pw = getpwnam(s);
	const char *errstr;

	if (pw != NULL) {
		*uid = pw->pw_uid;
		return 0;
	}
	*uid = (uid_t)strtonum(s, 0, (uid_t)-2, &errstr);
	return errstr == NULL ? 0 : -1;
}

int
parse_group(const char *s, gid_t *gid)
{
	struct group *gr = getgrnam(s);
	const char *errstr;

	if (gr != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	*gid = (gid_t)strtonum(s, 0, (gid_t)-2, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* setmode(3) on s, applied to base; only the permission bits are kept. */
static int
mode_from(const char *s, mode_t base, mode_t *mode)
{
	void *set = setmode(s);

	if (set == NULL)
		return -1;
	*mode = getmode(set, base) & 07777;
	free(set);
	return 0;
}

/* -m: symbolic or octal, as chmod(1), relative to 0 as install(1) does. */
int
parse_mode(const char *s, mode_t *mode)
{
	return mode_from(s, 0, mode);
}

/* -m for install -d: as parse_mode, with X meaning x (a directory). */
int
parse_dir_mode(const char *s, mode_t *mode)
{
	return mode_from(s, S_IFDIR, mode);
}

/*
 * GNU's version control words (--backup=CONTROL, VERSION_CONTROL), or an
 * unambiguous abbreviation, as GNU's argmatch takes them.  "none" and
 * "off" clear HS_BACKUP.  NULL or "" is "existing", GNU's default.
 */
int
parse_backup(const char *control, struct hs_install_opts *o)
{
	/* clang-format off */
	static const struct {
		const char *word;
		int type; /* -1: no backups */
	} words[] = {
		{ "none", -1 }, { "off", -1 },
		{ "simple", HS_BACKUP_SIMPLE }, { "never", HS_BACKUP_SIMPLE },
		{ "existing", HS_BACKUP_EXISTING }, { "nil", HS_BACKUP_EXISTING },
		{ "numbered", HS_BACKUP_NUMBERED }, { "t", HS_BACKUP_NUMBERED },
	};
	/* clang-format on */
	size_t i, n = sizeof(words) / sizeof(words[0]);
	size_t len = control != NULL ? strlen(control) : 0;
	int type = len == 0 ? HS_BACKUP_EXISTING : -2;

	for (i = 0; len > 0 && i < n; i++)
		if (strcmp(control, words[i].word) == 0) {
			type = words[i].type;
			len = 0; /* exact: no abbreviation to check */
		}
	for (i = 0; len > 0 && i < n; i++)
		if (strncmp(control, words[i].word, len) == 0) {
			if (type != -2 && type != words[i].type)
				return -1; /* ambiguous */
			type = words[i].type;
		}
	if (type == -2)
		return -1;
	if (type == -1)
		o->flags &= ~HS_BACKUP;
	else
		o->backup_type = (enum hs_backup_type)type;
	return 0;
}

/* dst: DIR/basename(SRC), or -1 (reported) if it is too long. */
int
dest_in(const char *dir, const char *src, char *dst)
{
	const char *base = strrchr(src, '/');
	size_t len = strlen(dir);

	base = base != NULL ? base + 1 : src;
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (snprintf(dst, PATH_MAX, "%.*s/%s", (int)len, dir, base) < PATH_MAX)
		return 0;
	errno = ENAMETOOLONG;
	warn("cannot install '%s' into '%s'", vis_path(src), vis_path(dir));
	return -1;
}

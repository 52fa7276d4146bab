/*
 * args.c - the values of hotswap install's arguments: the user, group
 * and mode of -o, -g and -m (and of a manifest's fields), and the
 * destination of a SOURCE in a DIRECTORY.
 */
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

/* -m: symbolic or octal, as chmod(1), relative to 0 as install(1) does. */
int
parse_mode(const char *s, mode_t *mode)
{
	void *set = setmode(s);

	if (set == NULL)
		return -1;
	*mode = getmode(set, 0);
	free(set);
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

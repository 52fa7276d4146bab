/*
 * meta.c - the metadata of the replacement: owner, group, permission
 * bits, extended attributes, timestamps.
 *
 * All of it is set on the temporary's descriptor before the rename, so the
 * file is never visible with a wrong owner or mode.  When the destination
 * exists, its owner, group, mode and extended attributes (SELinux label,
 * file capabilities, POSIX ACLs, user attributes) carry over, as they
 * would have for `cp` writing into the old inode; when it is new, the file
 * gets the source's permission bits less the umask and the caller's
 * ownership, again as cp(1) does.
 *
 * The order matters: chown(2) clears set-user-ID bits and file
 * capabilities, so it comes first; the ACL (an xattr) comes before
 * chmod(2), so that an explicit -m still has the last word.
 */
#include <sys/stat.h>
#include <sys/xattr.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

/*
 * The process umask, read without changing it (umask(2) can only be read
 * by setting it, which would race with other threads).  Linux 4.7 and
 * later show it in /proc/self/status.
 */
int
hs_umask_peek(mode_t *mask)
{
	char buf[4096], *p;
	ssize_t n;
	int fd;

	fd = hs_openat(AT_FDCWD, "/proc/self/status", O_RDONLY, 0);
	if (fd == -1)
		return -1;
	n = hs_pread_full(fd, buf, sizeof(buf) - 1, 0);
	(void)hs_close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nUmask:\t")) == NULL)
		return -1;
	*mask = (mode_t)strtoul(p + 8, NULL, 8) & 0777;
	return 0;
}

static mode_t
current_umask(void)
{
	mode_t m;

	if (hs_umask_peek(&m) == 0)
		return m;
	m = umask(022);
	(void)umask(m);
	return m;
}

int
hs_meta_create_mode(const struct hs_meta *m, const struct hs_install_opts *o,
    int mask, int dir_acl)
{
	return mask >= 0 && (m->mode & ~(mode_t)mask) == m->mode &&
	    dir_acl == 0 && (m->mode & 07000) == 0 && o->uid == (uid_t)-1 &&
	    o->gid == (gid_t)-1 && m->xattr_fd == -1 && m->context == NULL;
}

void
hs_meta_plan(const struct stat *src, const struct stat *old, int oldfd,
    const struct hs_install_opts *opts, struct hs_meta *m)
{
	int keep = old != NULL && S_ISREG(old->st_mode);

	m->uid = opts->uid != (uid_t)-1 ? opts->uid :
	    keep			? old->st_uid :
					  (uid_t)-1;
	m->gid = opts->gid != (gid_t)-1 ? opts->gid :
	    keep			? old->st_gid :
					  (gid_t)-1;
	if (opts->flags & HS_SET_MODE)
		m->mode = opts->mode & 07777;
	else if (keep)
		m->mode = old->st_mode & 07777;
	else if (opts->flags & HS_NEW_MODE)
		m->mode = opts->new_mode & 07777;
	else
		m->mode = src->st_mode & 0777 & ~current_umask();
	m->xattr_fd = keep ? oldfd : -1;
	m->context = opts->context;
	m->no_label = (opts->flags & HS_NO_CONTEXT) || opts->context != NULL;
	m->set_times = (opts->flags & HS_PRESERVE_TIMES) != 0;
	m->times[0] = src->st_atim;
	m->times[1] = src->st_mtim;
	m->mode_made = 0;
}

/* Copy one extended attribute from 'from' to 'to'. */
static int
copy_xattr(int from, int to, const char *name)
{
	ssize_t n;
	char *val;
	int r = -1;

	n = hs_sys.fgetxattr(from, name, NULL, 0);
	if (n == -1)
		return -1;
	if ((val = malloc((size_t)n + 1)) == NULL)
		return -1;
	n = hs_sys.fgetxattr(from, name, val, (size_t)n);
	if (n != -1)
		r = hs_sys.fsetxattr(to, name, val, (size_t)n, 0);
	free(val);
	return r;
}

#define LABEL "security.selinux"

/*
 * Copy every extended attribute of 'from' that we can see to 'to', but
 * the SELinux label with no_label.
 */
static int
copy_xattrs(int from, int to, int no_label)
{
	char *list = NULL, *name;
	ssize_t n;
	int r = -1, serrno;

	n = hs_sys.flistxattr(from, NULL, 0);
	if (n == -1 && (errno == ENOTSUP || errno == ENOSYS))
		return 0; /* no xattrs on this filesystem */
	if (n <= 0)
		return (int)n;
	if ((list = malloc((size_t)n)) == NULL)
		return -1;
	n = hs_sys.flistxattr(from, list, (size_t)n);
	if (n == -1)
		goto out;
	for (name = list; name < list + n; name += strlen(name) + 1)
		if ((!no_label || strcmp(name, LABEL) != 0) &&
		    copy_xattr(from, to, name) == -1)
			goto out;
	r = 0;
out:
	serrno = errno;
	free(list);
	errno = serrno;
	return r;
}

int
hs_meta_apply(int fd, const struct hs_meta *m, struct hs_result *res)
{
	struct stat st;

	if (hs_sys.fstat(fd, &st) == -1)
		return hs_fail(res, "cannot stat new copy of", res->target);
	return hs_meta_apply_as(fd, m, st.st_uid, st.st_gid, res);
}

int
hs_meta_apply_as(int fd, const struct hs_meta *m, uid_t made_uid,
    gid_t made_gid, struct hs_result *res)
{
	uid_t uid;
	gid_t gid;

	uid = m->uid == made_uid ? (uid_t)-1 : m->uid;
	gid = m->gid == made_gid ? (gid_t)-1 : m->gid;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    hs_sys.fchown(fd, uid, gid) == -1)
		return hs_fail(res, "cannot set owner of", res->target);
	if (m->xattr_fd != -1 &&
	    copy_xattrs(m->xattr_fd, fd, m->no_label) == -1)
		return hs_fail(res, "cannot copy extended attributes of",
		    res->target);
	if (m->context != NULL &&
	    hs_sys.fsetxattr(fd, LABEL, m->context, strlen(m->context) + 1,
		0) == -1)
		return hs_fail(res, "cannot set the SELinux context of",
		    res->target);
	if (!m->mode_made && hs_sys.fchmod(fd, m->mode) == -1)
		return hs_fail(res, "cannot set mode of", res->target);
	if (m->set_times && hs_sys.futimens(fd, m->times) == -1)
		return hs_fail(res, "cannot set times of", res->target);
	return 0;
}

/*
 * The old inode that a rename has just let go of may live on, as the
 * backup DEST~ or under a hard link someone else made, and a set-user-ID
 * or file-capability program there still runs the old, perhaps
 * vulnerable, code with its privileges.  dpkg clears those before it
 * lets an old inode go; so does this, on fd (opened on the old inode
 * before the rename).  Set-group-ID without group execute is a
 * mandatory-locking mark, not a privilege: it stays.  Only executables
 * are asked for a capability, so plain files cost no call.
 */
int
hs_meta_disarm(int fd, const struct stat *st)
{
	mode_t m = st->st_mode & 07777, strip = m & S_ISUID;

	if ((m & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		strip |= S_ISGID;
	if (strip != 0 && hs_sys.fchmod(fd, m & ~strip) == -1)
		return -1;
	if (!(m & 0111))
		return 0;
	if (hs_sys.fgetxattr(fd, "security.capability", NULL, 0) == -1)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
	return hs_sys.fremovexattr(fd, "security.capability");
}

int
hs_meta_matches(const struct stat *st, const struct hs_meta *m)
{
	return (m->uid == (uid_t)-1 || m->uid == st->st_uid) &&
	    (m->gid == (gid_t)-1 || m->gid == st->st_gid) &&
	    (st->st_mode & 07777) == m->mode;
}

/*
 * strip.c - install -s: strip the temporary, before it has a name.
 *
 * GNU install copies SOURCE to DEST and then runs "strip DEST": DEST is
 * visible unstripped first, and binutils' strip (2.40) then writes its
 * output to a temporary of its own in DEST's directory and copies it
 * back into DEST with O_TRUNC, so for a moment DEST is empty or half
 * written, in place, where a process may be starting it.
 *
 * Here the strip program never sees DEST's name nor its directory:
 * SOURCE is copied to NAME in a 0700 directory of ours
 * (made beside DEST, so on the same filesystem and within its quota),
 * the program runs as "PROGRAM ./NAME" with that directory as its
 * working directory, given by descriptor (no path anybody could swap,
 * since nobody else may enter it), with a fixed environment and no
 * shell, and the stripped result is copied into the temporary, which
 * then gets its metadata, its fsync and its rename as any other.
 * The program's own temporaries land in the private directory too.  The
 * directory and whatever is in it are removed whatever happens, so DEST
 * goes from the old complete file to the new stripped one in the one
 * rename that follows, and a failure leaves it untouched.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

#define DENTS_SIZE 8192

/* The whole environment of the strip program. */
static char env_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
static char env_lc[] = "LC_ALL=C";
static char *const strip_env[] = { env_path, env_lc, NULL };

/* Copy the stripped file from into the temporary to (emptied first). */
static int
copy_into(int from, int to, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	struct hs_install_opts quiet = *opts;
	struct stat st;

	quiet.progress = NULL;
	if (hs_sys.fstat(from, &st) == -1 || hs_sys.ftruncate(to, 0) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return hs_copy_data(from, "", &st, to, &quiet, res);
}

/* Run the strip program on ./name in the directory privfd. */
static int
run_strip(int privfd, const char *name, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	const char *prog = opts->strip_program != NULL ? opts->strip_program :
							 "strip";
	char arg[NAME_MAX + 3] = "./";
	char *argv[] = { (char *)(uintptr_t)prog, arg, NULL };
	int status;
	pid_t pid, w;

	(void)memcpy(arg + 2, name, strlen(name) + 1);
	if (hs_sys.spawn(&pid, prog, argv, strip_env, privfd) == -1)
		return hs_fail(res, "cannot run the strip program for",
		    res->target);
	do
		w = hs_sys.waitpid(pid, &status, 0);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		return hs_fail(res, "cannot wait for the strip program for",
		    res->target);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	res->strip_status = status;
	errno = ECHILD;
	return hs_fail(res, "strip program failed on", res->target);
}

/*
 * Remove the private directory privfd: the copy name, whatever else the
 * strip program left there (only if the directory is not empty then),
 * and the directory.
 */
static void
remove_private(int dirfd, const char *tmp, int privfd, const char *name)
{
	struct hs_dirent64 *de;
	char *buf;
	ssize_t got, off;
	int fd;

	(void)hs_sys.unlinkat(privfd, name, 0);
	if (hs_sys.unlinkat(dirfd, tmp, AT_REMOVEDIR) == 0 ||
	    errno != ENOTEMPTY)
		return;
	buf = malloc(DENTS_SIZE);
	fd = hs_openat(privfd, ".", O_RDONLY | O_DIRECTORY, 0);
	while (buf != NULL && fd != -1 &&
	    (got = hs_sys.getdents64(fd, buf, DENTS_SIZE)) > 0)
		for (off = 0; off < got; off += de->d_reclen) {
			de = (struct hs_dirent64 *)(void *)(buf + off);
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				(void)hs_sys.unlinkat(privfd, de->d_name, 0);
		}
	if (fd != -1)
		(void)hs_close(fd);
	free(buf);
	(void)hs_sys.unlinkat(dirfd, tmp, AT_REMOVEDIR);
}

int
hs_strip(int in, const char *src, const struct stat *sst, int fd, int dirfd,
    const char *name, const struct hs_install_opts *opts, struct hs_result *res)
{
	char tmp[NAME_MAX + 1];
	int privfd, work = -1, ret = -1, serrno;

	if ((privfd = hs_private_dir(dirfd, name, tmp)) == -1)
		return hs_fail(res, "cannot make a private directory to strip",
		    res->target);
	work = hs_openat(privfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
	    0700);
	if (work == -1) {
		hs_fail(res, "cannot make a private copy to strip",
		    res->target);
		goto out;
	}
	if (hs_copy_data(in, src, sst, work, opts, res) == -1)
		goto out;
	(void)hs_close(work);
	work = -1;
	if (run_strip(privfd, name, opts, res) == -1)
		goto out;
	work = hs_openat(privfd, name, O_RDONLY | O_NOFOLLOW, 0);
	if (work == -1 || copy_into(work, fd, opts, res) == -1) {
		hs_fail(res, "cannot read the stripped copy of", res->target);
		goto out;
	}
	ret = 0;
out:
	serrno = errno;
	if (work != -1)
		(void)hs_close(work);
	remove_private(dirfd, tmp, privfd, name);
	(void)hs_close(privfd);
	errno = serrno;
	return ret;
}

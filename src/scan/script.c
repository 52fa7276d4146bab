/*
 * script.c - stale scripts: a process whose executable is a known
 * interpreter, whose script file named on its command line was
 * replaced (or changed) after the process started, or deleted.  The
 * interpreter compiled the old text and runs it; a restart would run the
 * new one.  Reported as a pseudo-mapping of kind HS_MAP_SCRIPT |
 * HS_MAP_REPLACED (the file now at the path, its dev and inode) or
 * HS_MAP_DELETED.
 *
 * Only /proc is read, and nothing found there is run, loaded or opened
 * for reading: the interpreter is known by the name of /proc/PID/exe
 * (readlinkat(2)), the script by /proc/PID/cmdline, parsed per
 * interpreter (cmdline.c, hs_script_arg(): the first argument that is
 * not an option, options that take a value skipped with it); it is
 * looked up with openat2(2) O_PATH under the process's own root
 * (/proc/PID/root, RESOLVE_IN_ROOT: absolute links stay inside, a
 * chroot or container is judged by its own files) or, for a relative
 * name, beneath its working directory (/proc/PID/cwd, RESOLVE_BENEATH:
 * a name that leaves it through ".." or an absolute link is not
 * judged, nor one missing there, since the process may have changed
 * directory after it started), and fstat(2)'d.  A missing absolute
 * name is deleted only for a process whose root is ours (one in a
 * chroot or container may have named it before it changed root).  The process's environment (PYTHONPATH,
 * PERL5LIB, RUBYLIB...) is never read.
 *
 * Replaced means: the file's ctime (which rename(2), write(2), chmod(2)
 * all set, and which utimensat(2) cannot set back) is later than the
 * process's start (/proc/PID/stat field 22, clock ticks after boot,
 * made wall-clock time with the offset CLOCK_REALTIME - CLOCK_BOOTTIME)
 * by more than two clock ticks, the start time's precision.  So a
 * chmod(1) of the script counts as a change, and a step of the clock
 * (not NTP's slewing) since the process started shifts the comparison.
 *
 * What cannot be known this way, and is not guessed: modules a script
 * imported and closed (Python's, Perl's, Ruby's libraries: they are
 * neither mapped nor open; only native extensions, which are mapped, are
 * seen by the maps check); "python -m module", "-c" and "-e" code; a
 * script read from standard input or found on PATH (perl -S, ruby -S);
 * a script named by a descriptor ("bash /dev/fd/3", "<(...)");
 * a process that rewrote its command line (setproctitle) or an
 * interpreter under another name (busybox sh); a script the interpreter
 * still holds open is also seen as a descriptor (fds.c), under its old
 * inode.
 */
#include <sys/stat.h>
#include <linux/openat2.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scan.h"
#include "sys.h"

#define CMDLINE_MAX 4096

/* Wall-clock nanoseconds of a start time in clock ticks after boot. */
static int
start_wall(uint64_t ticks, int64_t *ns)
{
	struct timespec rt, bt;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || clock_gettime(CLOCK_REALTIME, &rt) == -1 ||
	    clock_gettime(CLOCK_BOOTTIME, &bt) == -1)
		return -1;
	*ns = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL +
	    (rt.tv_nsec - bt.tv_nsec) +
	    (int64_t)(ticks * (1000000000ULL / (unsigned long)hz)) +
	    2 * (int64_t)(1000000000ULL / (unsigned long)hz);
	return 0;
}

/*
 * fstat the script name as the process would find it: under its root
 * if absolute, beneath its working directory if not.  -1 with errno.
 */
static int
stat_script(struct hs_scan *s, const char *name, struct stat *st)
{
	int dirfd, r, serrno;

	if (hs_scan_pdir(s) == -1)
		return -1;
	dirfd = hs_openat(s->pdir, name[0] == '/' ? "root" : "cwd",
	    O_PATH | O_DIRECTORY, 0);
	if (dirfd == -1)
		return -1;
	r = hs_scan_stat_in(dirfd, name,
	    name[0] == '/' ? RESOLVE_IN_ROOT : RESOLVE_BENEATH, st);
	serrno = errno;
	(void)hs_close(dirfd);
	errno = serrno;
	return r;
}

/* Keep the script: its name made absolute with the cwd's, if relative. */
static int
keep_script(struct hs_scan *s, const char *name, const struct stat *st,
    unsigned int v)
{
	char full[PATH_MAX * 2];
	struct hs_maps_rec rec;
	ssize_t n = 0;
	size_t len = strlen(name);

	memset(&rec, 0, sizeof(rec));
	if (st != NULL) {
		rec.dev = st->st_dev;
		rec.ino = st->st_ino;
	}
	if (name[0] != '/' && hs_scan_pdir(s) != -1 &&
	    (n = hs_sys.readlinkat(s->pdir, "cwd", full, PATH_MAX)) > 0 &&
	    full[0] == '/') {
		full[n] = '\0';
		len = (size_t)snprintf(full + n, sizeof(full) - (size_t)n,
			  "%s%s", n > 1 ? "/" : "", name) +
		    (size_t)n;
		return hs_scan_add(s, &rec, HS_MAP_SCRIPT | v, 0, full, len);
	}
	return hs_scan_add(s, &rec, HS_MAP_SCRIPT | v, 0, name, len);
}

/* 1 if the current process's root is our own "/". */
static int
our_root(struct hs_scan *s)
{
	struct stat mine, its;

	return hs_scan_pdir(s) != -1 &&
	    hs_sys.fstatat(s->pdir, "root", &its, 0) == 0 &&
	    hs_sys.fstatat(AT_FDCWD, "/", &mine, 0) == 0 &&
	    its.st_dev == mine.st_dev && its.st_ino == mine.st_ino;
}

/* The family of the current process's executable; 0 if none. */
static int
exe_family(struct hs_scan *s)
{
	char exe[PATH_MAX + 1], path[32];
	ssize_t n;
	size_t len;

	(void)snprintf(path, sizeof(path), "%s/exe", s->pidname);
	n = hs_sys.readlinkat(s->procfd, path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	len = (size_t)n;
	if (len > 10 && memcmp(exe + len - 10, " (deleted)", 10) == 0)
		len -= 10;
	return hs_script_family(exe, len);
}

/*
 * Judge the current process's script, if it is an interpreter's: see
 * the top of the file.  Anything that cannot be read leaves it
 * unjudged; -1 only on ENOMEM.
 */
int
hs_stale_script(struct hs_scan *s)
{
	char cmd[CMDLINE_MAX], stat_buf[1024], comm[64];
	struct stat st;
	uint64_t ticks;
	int64_t start;
	size_t off, len;
	ssize_t n;
	int family;

	if ((family = exe_family(s)) == 0)
		return 0;
	if ((n = hs_scan_read_small(s, "cmdline", cmd, sizeof(cmd))) <= 0 ||
	    !hs_script_arg(family, cmd, (size_t)n, &off, &len) ||
	    strncmp(cmd + off, "/dev/", 5) == 0 ||
	    strncmp(cmd + off, "/proc/", 6) == 0)
		return 0; /* "bash /dev/fd/3": a descriptor, not a file */
	if (hs_scan_read_small(s, "stat", stat_buf, sizeof(stat_buf)) <= 0 ||
	    hs_procinfo_stat(stat_buf, comm, sizeof(comm), &ticks) == -1 ||
	    start_wall(ticks, &start) == -1)
		return 0;
	if (stat_script(s, cmd + off, &st) == -1) {
		/*
		 * Missing is deleted only for an absolute name in the root
		 * it started in, as far as we can tell: ours.  A relative
		 * one may be missing because the process changed directory,
		 * an absolute one because it chroot()ed after starting.
		 */
		if (errno == ENOENT && cmd[off] == '/' && our_root(s))
			return keep_script(s, cmd + off, NULL, HS_MAP_DELETED);
		s->st.unresolved++;
		return 0;
	}
	if (!S_ISREG(st.st_mode) ||
	    (int64_t)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec <=
		start)
		return 0;
	return keep_script(s, cmd + off, &st, HS_MAP_REPLACED);
}

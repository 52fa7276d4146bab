/*
 * guard.c - the calls libhotswap-guard.so interposes, and the decision.
 *
 * A call is looked at only if it can destroy an existing file's content
 * in place: an open with O_TRUNC (not O_PATH, not O_CREAT|O_EXCL),
 * fopen/freopen with "w" (glibc's fopen reaches open through internal
 * symbols no preload library can interpose, so the stdio calls are
 * interposed themselves), truncate/ftruncate to a smaller size.  Every
 * other call costs one flag test.  Then the target must be an existing,
 * non-empty regular file (one fstatat), and only then is mapped.c asked.
 *
 * The descriptor calls (close, dup*, fcntl F_DUPFD*, fclose) and _exit
 * are interposed for --fix alone, which follows the descriptors of its
 * temporaries, and so are the writes (write, pwrite, writev and their
 * variants, copy_file_range, sendfile, splice, fsync, fdatasync), whose
 * failures on a temporary keep the old file; in the other modes they
 * pass straight through after one test.
 *
 * Reentrancy: the guard's own work calls the real functions, not these
 * (guard.h), but for the /proc walk of mapped.c; guard_busy is set while
 * the guard works, so the opens and closes of that walk pass straight
 * through, and a signal handler that truncates a file while the same
 * thread is inside the guard is not checked (rather than deadlocked).
 */
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"

enum guard_mode guard_mode = GUARD_REFUSE;
int guard_quiet;
__thread int guard_busy __attribute__((tls_model("initial-exec")));
struct guard_real guard_real;

/* The _FORTIFY_SOURCE entries, declared only by fortified headers. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);

#define NEEDS_MODE(f) (((f)&O_CREAT) || ((f)&O_TMPFILE) == O_TMPFILE)

/* ---- finding the real calls ----------------------------------------- */

/* clang-format off */
#define RESOLVE(field, name)						\
	do {								\
		if (guard_real.field == NULL)				\
			*(void **)&guard_real.field =			\
			    dlsym(RTLD_NEXT, name);			\
	} while (0)
/* clang-format on */

void
guard_resolve(void)
{
	int serrno = errno;

	guard_busy++;
	RESOLVE(open, "open");
	RESOLVE(open64, "open64");
	RESOLVE(openat, "openat");
	RESOLVE(openat64, "openat64");
	RESOLVE(open_2, "__open_2");
	RESOLVE(open64_2, "__open64_2");
	RESOLVE(openat_2, "__openat_2");
	RESOLVE(openat64_2, "__openat64_2");
	RESOLVE(creat, "creat");
	RESOLVE(creat64, "creat64");
	RESOLVE(fopen, "fopen");
	RESOLVE(fopen64, "fopen64");
	RESOLVE(freopen, "freopen");
	RESOLVE(freopen64, "freopen64");
	RESOLVE(fclose, "fclose");
	RESOLVE(truncate, "truncate");
	RESOLVE(truncate64, "truncate64");
	RESOLVE(ftruncate, "ftruncate");
	RESOLVE(ftruncate64, "ftruncate64");
	RESOLVE(close, "close");
	RESOLVE(close_range, "close_range");
	RESOLVE(closefrom, "closefrom");
	RESOLVE(dup, "dup");
	RESOLVE(dup2, "dup2");
	RESOLVE(dup3, "dup3");
	RESOLVE(fcntl, "fcntl");
	RESOLVE(fcntl64, "fcntl64");
	RESOLVE(exit_, "_exit");
	RESOLVE(Exit_, "_Exit");
	RESOLVE(write, "write");
	RESOLVE(pwrite, "pwrite");
	RESOLVE(pwrite64, "pwrite64");
	RESOLVE(writev, "writev");
	RESOLVE(pwritev, "pwritev");
	RESOLVE(pwritev64, "pwritev64");
	RESOLVE(pwritev2, "pwritev2");
	RESOLVE(pwritev64v2, "pwritev64v2");
	RESOLVE(copy_file_range, "copy_file_range");
	RESOLVE(sendfile, "sendfile");
	RESOLVE(sendfile64, "sendfile64");
	RESOLVE(splice, "splice");
	RESOLVE(fsync, "fsync");
	RESOLVE(fdatasync, "fdatasync");
	RESOLVE(execve, "execve");
	RESOLVE(execveat, "execveat");
	RESOLVE(fexecve, "fexecve");
	RESOLVE(execvpe, "execvpe");
	guard_busy--;
	errno = serrno;
}

__attribute__((constructor)) static void
guard_init(void)
{
	const char *m = getenv(GUARD_ENV_MODE), *q = getenv(GUARD_ENV_QUIET);

	guard_resolve();
	if (m != NULL && strcmp(m, "warn") == 0)
		guard_mode = GUARD_WARN;
	else if (m != NULL && strcmp(m, "fix") == 0)
		guard_mode = GUARD_FIX;
	guard_quiet = q != NULL && strcmp(q, "1") == 0;
	if (guard_mode == GUARD_FIX)
		fix_init();
}

__attribute__((destructor)) static void
guard_fini(void)
{
	if (guard_mode == GUARD_FIX && !guard_busy && fix_any())
		fix_exit(1);
}

/* ---- messages ------------------------------------------------------- */

/* Append s to buf[*len..cap), cut if it does not fit. */
static void
put(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s != '\0' && *len + 1 < cap)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

/*
 * Append path escaped as strvis(3) VIS_CSTYLE|VIS_OCTAL would: printable
 * ASCII as is, backslash doubled, the rest as C escapes or \ooo, so a
 * name cannot break the line or forge another one.
 */
static void
put_escaped(char *buf, size_t cap, size_t *len, const char *path)
{
	const unsigned char *p;
	char e[5];

	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*len + 8 >= cap) {
			put(buf, cap, len, "...");
			return;
		}
		if (*p == '\\')
			put(buf, cap, len, "\\\\");
		else if (*p == '\n')
			put(buf, cap, len, "\\n");
		else if (*p == '\t')
			put(buf, cap, len, "\\t");
		else if (*p >= 0x20 && *p < 0x7f) {
			e[0] = (char)*p;
			e[1] = '\0';
			put(buf, cap, len, e);
		} else {
			e[0] = '\\';
			e[1] = (char)('0' + (*p >> 6));
			e[2] = (char)('0' + ((*p >> 3) & 7));
			e[3] = (char)('0' + (*p & 7));
			e[4] = '\0';
			put(buf, cap, len, e);
		}
	}
}

void
guard_say(int always, const char *pre, const char *path, const char *post)
{
	char buf[2048];
	size_t len = 0, off = 0;
	ssize_t n;
	int serrno = errno;

	if (guard_quiet && !always)
		return;
	put(buf, sizeof(buf), &len, "hotswap guard: ");
	put(buf, sizeof(buf) - 600, &len, pre);
	put(buf, sizeof(buf), &len, "'");
	put_escaped(buf, sizeof(buf) - 512, &len, path);
	put(buf, sizeof(buf), &len, "'");
	put(buf, sizeof(buf) - 1, &len, post);
	buf[len++] = '\n';
	while (off < len) {
		n = REAL(write)(STDERR_FILENO, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	errno = serrno;
}

/* "pid 12 34 (and 5 more)" */
static void
pid_list(const struct guard_who *who, char *buf, size_t cap)
{
	unsigned long i, n = who->npids < GUARD_PIDS ? who->npids : GUARD_PIDS;
	size_t len = 0;
	char num[48];

	buf[0] = '\0';
	put(buf, cap, &len, n == 1 ? "pid" : "pids");
	for (i = 0; i < n; i++) {
		(void)snprintf(num, sizeof(num), " %d", (int)who->pids[i]);
		put(buf, cap, &len, num);
	}
	if (who->npids > n) {
		(void)snprintf(num, sizeof(num), " (and %lu more)",
		    who->npids - n);
		put(buf, cap, &len, num);
	}
}

static void
say_mapped(const char *pre, const char *path, const char *mid,
    const struct guard_who *who, const char *end)
{
	char pids[256], post[512];
	size_t len = 0;

	pid_list(who, pids, sizeof(pids));
	post[0] = '\0';
	put(post, sizeof(post), &len, mid);
	put(post, sizeof(post), &len, pids);
	put(post, sizeof(post), &len, end);
	guard_say(0, pre, path, post);
}

/* ---- the decision --------------------------------------------------- */

/*
 * Would the kernel let the program's own call truncate the file that
 * dirfd/path names (fd >= 0: through that descriptor, path unused)?
 * The guard acts only where it would: a call that fails unguarded (a
 * descriptor not open for writing, no permission, a read-only file
 * system, an immutable or append-only file, a sealed memfd) goes to the
 * kernel to fail with its own error, and --fix never replaces a file
 * that the program could not have written.  acc is the open's
 * O_ACCMODE.
 */
static int
may_truncate(int dirfd, const char *path, int nofollow, int acc, int fd)
{
	int at = nofollow ? AT_SYMLINK_NOFOLLOW : 0, fl;
	struct statx stx;

	if (fd >= 0) {
		if ((fl = REAL(fcntl)(fd, F_GETFL)) == -1 ||
		    (fl & O_ACCMODE) == O_RDONLY || (fl & O_PATH))
			return 0;
		/* A sealed memfd refuses with EPERM. */
		if ((fl = REAL(fcntl)(fd, F_GET_SEALS)) > 0 &&
		    (fl & (F_SEAL_SHRINK | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
			return 0;
		dirfd = fd;
		path = "";
		at = AT_EMPTY_PATH;
	} else if (faccessat(dirfd, path, acc == O_WRONLY ? W_OK : R_OK | W_OK,
		       AT_EACCESS | at) == -1)
		return 0;
	if (statx(dirfd, path, at, 0, &stx) == 0 &&
	    (stx.stx_attributes & stx.stx_attributes_mask &
		(STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND)))
		return 0;
	return 1;
}

enum verdict {
	PASS, /* make the real call */
	DONE  /* answered: *fdp is the result, errno set if -1 */
};

/*
 * An open (or fopen) with flags of dirfd/path is about to run.  Decide;
 * with DONE, *fdp is -1 (refused, errno ETXTBSY) or the temporary --fix
 * opened instead.  Called with guard_busy clear; errno is kept on PASS.
 */
static enum verdict
decide_open(int dirfd, const char *path, int flags, mode_t mode, int *fdp)
{
	int nofollow = (flags & O_NOFOLLOW) != 0, serrno = errno, e;
	enum verdict v = PASS;
	struct guard_who who;
	struct stat st;
	char why[160];

	if (!(flags & O_TRUNC) || (flags & O_PATH) || path == NULL ||
	    (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) ||
	    (flags & O_TMPFILE) == O_TMPFILE)
		return PASS;
	guard_busy++;
	if (fstatat(dirfd, path, &st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) ==
		-1 ||
	    !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    guard_mapped(dirfd, path, nofollow, &st, &who) != 1 ||
	    !may_truncate(dirfd, path, nofollow, flags & O_ACCMODE, -1))
		goto out;
	v = DONE;
	*fdp = -1;
	switch (guard_mode) {
	case GUARD_WARN:
		say_mapped("truncating ", path, ", mapped by ", &who, "");
		v = PASS;
		break;
	case GUARD_FIX:
		if ((*fdp = fix_open(dirfd, path, flags, mode)) != -1) {
			say_mapped("", path, " is mapped by ", &who,
			    ": writing a new file to rename over it");
			break;
		}
		e = errno;
		if (fix_full())
			(void)snprintf(why, sizeof(why),
			    "; the guard "
			    "follows at most %d new files at once",
			    FIX_MAX);
		else
			(void)snprintf(why, sizeof(why),
			    "; cannot make a "
			    "new file beside it: %s",
			    strerrordesc_np(e));
		say_mapped("refused to truncate ", path, ": mapped by ", &who,
		    why);
		errno = ETXTBSY;
		break;
	default:
		say_mapped("refused to truncate ", path, ": mapped by ", &who,
		    "");
		errno = ETXTBSY;
		break;
	}
out:
	guard_busy--;
	if (v == PASS || *fdp != -1)
		errno = serrno;
	return v;
}

/* The name of fd for a message: what /proc/self/fd shows. */
static const char *
fd_name(int fd, char *buf, size_t len)
{
	return fix_fd_path(fd, buf, len) > 0 ? buf : "(descriptor)";
}

/* The same for truncate(2) and ftruncate(2) to len. */
static enum verdict
decide_truncate(const char *path, int fd, off_t len, int *rp)
{
	int serrno = errno, r;
	enum verdict v = PASS;
	struct guard_who who;
	char name[PATH_MAX];
	struct stat st;

	if (len < 0 || guard_busy)
		return PASS;
	guard_busy++;
	r = path != NULL ? stat(path, &st) : fstat(fd, &st);
	if (r == -1 || !S_ISREG(st.st_mode) || st.st_size <= len ||
	    (path == NULL && fix_tracked(fd)))
		goto out;
	r = path != NULL ? guard_mapped(AT_FDCWD, path, 0, &st, &who) :
			   guard_mapped_fd(fd, &st, &who);
	if (r != 1 || !may_truncate(AT_FDCWD, path, 0, O_WRONLY, fd))
		goto out;
	if (path == NULL)
		path = fd_name(fd, name, sizeof(name));
	v = DONE;
	*rp = -1;
	if (guard_mode == GUARD_WARN) {
		say_mapped("truncating ", path, ", mapped by ", &who, "");
		v = PASS;
	} else if (guard_mode == GUARD_FIX &&
	    (*rp = fd == -1 ? fix_truncate(path, len) :
			      fix_ftruncate(fd, len)) == 0)
		say_mapped("", path, " is mapped by ", &who,
		    ": truncated copy renamed over it");
	else {
		say_mapped("refused to truncate ", path, ": mapped by ", &who,
		    "");
		errno = ETXTBSY;
	}
out:
	guard_busy--;
	if (v == PASS || *rp == 0)
		errno = serrno;
	return v;
}

/* ---- open ----------------------------------------------------------- */

static int
guarded_openat(int (*real)(int, const char *, int, ...), int dirfd,
    const char *path, int flags, mode_t mode)
{
	int fd;

	if (!guard_busy && decide_open(dirfd, path, flags, mode, &fd) == DONE)
		return fd;
	fd = real(dirfd, path, flags, mode);
	if (fd != -1 && !guard_busy && fix_any())
		(void)fix_closed(fd); /* a number we tracked was reused */
	return fd;
}

static int
guarded_open(int (*real)(const char *, int, ...), const char *path, int flags,
    mode_t mode)
{
	int fd;

	if (!guard_busy &&
	    decide_open(AT_FDCWD, path, flags, mode, &fd) == DONE)
		return fd;
	fd = real(path, flags, mode);
	if (fd != -1 && !guard_busy && fix_any())
		(void)fix_closed(fd);
	return fd;
}

/* clang-format off */
#define MODE_ARG(flags, mode)						\
	do {								\
		va_list ap;						\
		if (NEEDS_MODE(flags)) {				\
			va_start(ap, flags);				\
			mode = (mode_t)va_arg(ap, int);			\
			va_end(ap);					\
		}							\
	} while (0)
/* clang-format on */

GUARD_EXPORT int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return guarded_open(REAL(open), path, flags, mode);
}

GUARD_EXPORT int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return guarded_open(REAL(open64), path, flags, mode);
}

GUARD_EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return guarded_openat(REAL(openat), dirfd, path, flags, mode);
}

GUARD_EXPORT int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return guarded_openat(REAL(openat64), dirfd, path, flags, mode);
}

/* The _FORTIFY_SOURCE entries: open(p, f) with f not a constant. */
GUARD_EXPORT int
__open_2(const char *path, int flags)
{
	int fd;

	if (!guard_busy && decide_open(AT_FDCWD, path, flags, 0, &fd) == DONE)
		return fd;
	return REAL(open_2)(path, flags);
}

GUARD_EXPORT int
__open64_2(const char *path, int flags)
{
	int fd;

	if (!guard_busy && decide_open(AT_FDCWD, path, flags, 0, &fd) == DONE)
		return fd;
	return REAL(open64_2)(path, flags);
}

GUARD_EXPORT int
__openat_2(int dirfd, const char *path, int flags)
{
	int fd;

	if (!guard_busy && decide_open(dirfd, path, flags, 0, &fd) == DONE)
		return fd;
	return REAL(openat_2)(dirfd, path, flags);
}

GUARD_EXPORT int
__openat64_2(int dirfd, const char *path, int flags)
{
	int fd;

	if (!guard_busy && decide_open(dirfd, path, flags, 0, &fd) == DONE)
		return fd;
	return REAL(openat64_2)(dirfd, path, flags);
}

GUARD_EXPORT int
creat(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

GUARD_EXPORT int
creat64(const char *path, mode_t mode)
{
	return open64(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* ---- stdio ---------------------------------------------------------- */

/* The open(2) flags of an fopen mode that truncates, or 0. */
static int
fopen_trunc_flags(const char *mode)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC;
	const char *m;

	if (mode == NULL || mode[0] != 'w')
		return 0;
	for (m = mode + 1; *m != '\0' && *m != ','; m++)
		if (*m == '+')
			flags = (flags & ~O_WRONLY) | O_RDWR;
		else if (*m == 'e')
			flags |= O_CLOEXEC;
		else if (*m == 'x')
			return 0; /* O_EXCL: never an existing file */
	return flags;
}

/*
 * --fix hands the program a stream on the temporary: fdopen(3) on it,
 * or, for a mode with ",ccs=" (which fdopen ignores), fopen of it anew
 * through /proc/self/fd, a second open file description that
 * fix_adopt() follows.
 */
static FILE *
guarded_fopen(FILE *(*real)(const char *, const char *), const char *path,
    const char *mode)
{
	int flags = fopen_trunc_flags(mode), fd, serrno;
	char proc[64];
	FILE *f;

	if (guard_busy || flags == 0 ||
	    decide_open(AT_FDCWD, path, flags, 0666, &fd) == PASS)
		return real(path, mode);
	if (fd == -1)
		return NULL;
	if (strchr(mode, ',') == NULL)
		f = fdopen(fd, mode);
	else {
		(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if ((f = real(proc, mode)) != NULL &&
		    fix_adopt(fd, fileno(f)) == -1) {
			serrno = errno;
			(void)REAL(fclose)(f);
			f = NULL;
			errno = serrno;
		}
		if (f != NULL) {
			(void)close(fd);
			return f;
		}
	}
	if (f == NULL) {
		serrno = errno;
		fix_abandon(fd);
		errno = serrno;
	}
	return f;
}

GUARD_EXPORT FILE *
fopen(const char *path, const char *mode)
{
	return guarded_fopen(REAL(fopen), path, mode);
}

GUARD_EXPORT FILE *
fopen64(const char *path, const char *mode)
{
	return guarded_fopen(REAL(fopen64), path, mode);
}

/*
 * freopen: glibc closes the old descriptor and opens the new file with
 * internal calls, keeping the descriptor number.  --fix reopens the
 * temporary through /proc/self/fd, which makes a second open file
 * description of it; fix_adopt() follows that one too.
 */
static FILE *
guarded_freopen(FILE *(*real)(const char *, const char *, FILE *),
    const char *path, const char *mode, FILE *stream)
{
	int flags = fopen_trunc_flags(mode), fd = -1, oldfd = -1, serrno;
	char proc[64], name[PATH_MAX];
	const char *file = path;
	FILE *f;

	if (guard_busy)
		return real(path, mode, stream);
	if (fix_any() && stream != NULL && (oldfd = fileno(stream)) != -1 &&
	    !fix_tracked(oldfd))
		oldfd = -1;
	/* freopen(NULL, "w", s) truncates s's own file, by its name. */
	if (path == NULL && flags != 0 && oldfd == -1 && stream != NULL &&
	    fileno(stream) != -1 &&
	    (file = fd_name(fileno(stream), name, sizeof(name)))[0] != '/')
		file = NULL;
	if (file != NULL && flags != 0 &&
	    decide_open(AT_FDCWD, file, flags, 0666, &fd) == DONE) {
		if (fd == -1)
			return NULL;
		(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		path = proc;
	}
	f = real(path, mode, stream);
	serrno = errno;
	if (oldfd != -1 && path == NULL && f != NULL)
		(void)fix_adopt(oldfd, fileno(f)); /* same file */
	else if (oldfd != -1)
		(void)fix_closed(oldfd);
	if (fd != -1) {
		if (f != NULL)
			(void)fix_adopt(fd, fileno(f));
		(void)close(fd);
	}
	errno = serrno;
	return f;
}

GUARD_EXPORT FILE *
freopen(const char *path, const char *mode, FILE *stream)
{
	return guarded_freopen(REAL(freopen), path, mode, stream);
}

GUARD_EXPORT FILE *
freopen64(const char *path, const char *mode, FILE *stream)
{
	return guarded_freopen(REAL(freopen64), path, mode, stream);
}

/*
 * stdio writes through glibc's internal write, which no preload sees: a
 * stream's error flag, or its last flush failing, is how a lost write
 * shows (fix_lost()).
 */
GUARD_EXPORT int
fclose(FILE *stream)
{
	int fd = -1, idx, r, err;

	if (!guard_busy && fix_any() && stream != NULL &&
	    (fd = fileno(stream)) != -1 && !fix_tracked(fd))
		fd = -1;
	if (fd == -1)
		return REAL(fclose)(stream);
	if (ferror(stream))
		fix_lost(fd, 0);
	idx = fix_closing(fd);
	r = REAL(fclose)(stream);
	if ((err = fix_done(idx, r == EOF ? errno : 0)) != 0 && r == 0) {
		errno = err; /* the replacement failed */
		r = EOF;
	}
	return r;
}

/* ---- truncate ------------------------------------------------------- */

GUARD_EXPORT int
truncate(const char *path, off_t len)
{
	int r;

	if (decide_truncate(path, -1, len, &r) == DONE)
		return r;
	return REAL(truncate)(path, len);
}

GUARD_EXPORT int
truncate64(const char *path, off_t len)
{
	int r;

	if (decide_truncate(path, -1, len, &r) == DONE)
		return r;
	return REAL(truncate64)(path, len);
}

GUARD_EXPORT int
ftruncate(int fd, off_t len)
{
	int r;

	if (decide_truncate(NULL, fd, len, &r) == DONE)
		return r;
	return REAL(ftruncate)(fd, len);
}

GUARD_EXPORT int
ftruncate64(int fd, off_t len)
{
	int r;

	if (decide_truncate(NULL, fd, len, &r) == DONE)
		return r;
	return REAL(ftruncate64)(fd, len);
}

/* ---- descriptors, for --fix ----------------------------------------- */

GUARD_EXPORT int
close(int fd)
{
	int idx, r, e;

	if (guard_busy || !fix_any() || (idx = fix_closing(fd)) == -1)
		return guard_real.close != NULL ? guard_real.close(fd) :
						  (int)syscall(SYS_close, fd);
	r = REAL(close)(fd);
	if ((e = fix_done(idx, r == -1 ? errno : 0)) != 0 && r == 0) {
		errno = e; /* the replacement failed */
		r = -1;
	}
	return r;
}

/*
 * close_range(2) and closefrom(3) close many at once: each of ours in
 * the range is then released as by close.  CLOSE_RANGE_CLOEXEC closes
 * nothing.
 */
static void
closed_range(unsigned int first, unsigned int last)
{
	unsigned int fd;

	for (fd = first; fd <= last && fd < FIX_FDS && fix_any(); fd++)
		(void)fix_closed((int)fd);
}

GUARD_EXPORT int
close_range(unsigned int first, unsigned int last, int flags)
{
	int r = guard_real.close_range != NULL ?
	    REAL(close_range)(first, last, flags) :
	    (int)syscall(SYS_close_range, first, last, flags);

	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && !guard_busy &&
	    fix_any())
		closed_range(first, last);
	return r;
}

GUARD_EXPORT void
closefrom(int lowfd)
{
	if (guard_real.closefrom != NULL)
		REAL(closefrom)(lowfd);
	else
		(void)syscall(SYS_close_range, (unsigned int)lowfd, ~0U, 0);
	if (lowfd >= 0 && !guard_busy && fix_any())
		closed_range((unsigned int)lowfd, ~0U);
}

GUARD_EXPORT int
dup(int oldfd)
{
	int r = REAL(dup)(oldfd);

	if (r != -1 && !guard_busy && fix_any())
		fix_dup(oldfd, r);
	return r;
}

GUARD_EXPORT int
dup2(int oldfd, int newfd)
{
	int r = REAL(dup2)(oldfd, newfd);

	if (r != -1 && oldfd != newfd && !guard_busy && fix_any())
		fix_dup(oldfd, newfd);
	return r;
}

GUARD_EXPORT int
dup3(int oldfd, int newfd, int flags)
{
	int r = REAL(dup3)(oldfd, newfd, flags);

	if (r != -1 && !guard_busy && fix_any())
		fix_dup(oldfd, newfd);
	return r;
}

static int
guarded_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int r = real(fd, cmd, arg);

	if (r != -1 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
	    !guard_busy && fix_any())
		fix_dup(fd, r);
	return r;
}

/*
 * The third argument is an int or a pointer; glibc itself reads it as a
 * pointer, which on every Linux ABI carries either.
 */
GUARD_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return guarded_fcntl(REAL(fcntl), fd, cmd, arg);
}

GUARD_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return guarded_fcntl(guard_real.fcntl64 != NULL ? REAL(fcntl64) :
							  REAL(fcntl),
	    fd, cmd, arg);
}

/* ---- writes, for --fix ---------------------------------------------- */

/*
 * A write that fails on a temporary of --fix loses what the program
 * meant for the file: fix_lost() keeps the old file.  Every other write
 * costs one test after the real call.  One interposer per call, the
 * same but for its parameters and the descriptor written to; fsync and
 * fdatasync are among them because a failed one means written data did
 * not reach the file.
 */
/* clang-format off */
#define WATCHED(type, name, params, args, fd)				\
GUARD_EXPORT type							\
name params								\
{									\
	type r = REAL(name) args;					\
									\
	if (r == -1 && !guard_busy && fix_any())			\
		fix_lost((fd), errno);					\
	return r;							\
}
/* clang-format on */

WATCHED(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n), fd)
WATCHED(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off),
    (fd, buf, n, off), fd)
WATCHED(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off_t off),
    (fd, buf, n, off), fd)
WATCHED(ssize_t, writev, (int fd, const struct iovec *iov, int cnt),
    (fd, iov, cnt), fd)
WATCHED(ssize_t, pwritev, (int fd, const struct iovec *iov, int cnt, off_t off),
    (fd, iov, cnt, off), fd)
WATCHED(ssize_t, pwritev64,
    (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off),
    fd)
WATCHED(ssize_t, pwritev2,
    (int fd, const struct iovec *iov, int cnt, off_t off, int fl),
    (fd, iov, cnt, off, fl), fd)
WATCHED(ssize_t, pwritev64v2,
    (int fd, const struct iovec *iov, int cnt, off_t off, int fl),
    (fd, iov, cnt, off, fl), fd)
WATCHED(ssize_t, copy_file_range,
    (int in, off_t *ino, int out, off_t *outo, size_t n, unsigned int fl),
    (in, ino, out, outo, n, fl), out)
WATCHED(ssize_t, sendfile, (int out, int in, off_t *off, size_t n),
    (out, in, off, n), out)
WATCHED(ssize_t, sendfile64, (int out, int in, off_t *off, size_t n),
    (out, in, off, n), out)
WATCHED(ssize_t, splice,
    (int in, off_t *ino, int out, off_t *outo, size_t n, unsigned int fl),
    (in, ino, out, outo, n, fl), out)
WATCHED(int, fsync, (int fd), (fd), fd)
WATCHED(int, fdatasync, (int fd), (fd), fd)

/* _exit skips atexit and destructors: commit our temporaries first. */
GUARD_EXPORT void
_exit(int status)
{
	if (guard_mode == GUARD_FIX && !guard_busy && fix_any())
		fix_exit(0);
	if (guard_real.exit_ != NULL)
		guard_real.exit_(status);
	for (;;)
		(void)syscall(SYS_exit_group, status);
}

GUARD_EXPORT void
_Exit(int status)
{
	_exit(status);
}

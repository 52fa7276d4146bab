/*
 * fix.c - --fix: the program's truncating write goes to a new file,
 * which replaces the old one when the program is done with it.
 *
 * The temporary is made beside the file's final name (symlinks followed,
 * as open(2) follows them) under ".NAME.hsg-XXXXXXXXXX", with O_EXCL
 * and O_NOFOLLOW, and given the old file's owner, group, mode and
 * extended attributes at once (meta.c), as if the program had truncated
 * the old inode: a later fchmod/fchown/futimens by the program applies
 * on top, as it would have.  Then the program writes into it.
 *
 * When is the program done?  When the last descriptor of the open file
 * description is closed, in whichever process: descriptors are dup'ed,
 * inherited across fork(2) and execve(2) (bash's "cat x > lib" opens in
 * a child that then runs cat).  Keeping a reference count across
 * processes would need shared memory and would miss exec.  Instead the
 * kernel counts for us: the temporary's open file description holds an
 * OFD lock (F_OFD_SETLK) on a byte far beyond any data, and an OFD
 * lock lives exactly as long as the open file description.  After a
 * process closes a descriptor of a temporary, it opens the temporary by
 * name and asks F_OFD_GETLK: if no lock is left, no descriptor is left
 * anywhere, and that process commits: fsync, rename over the
 * destination, fsync the directory.  Two processes that close at the
 * same instant may both see no lock; the commit is idempotent (the
 * second rename finds the name gone, ENOENT, and the destination already
 * our temporary), so that race is harmless.
 *
 * Both names are looked up in the destination's directory, held open
 * from the open(2) on (ent_dir): not by absolute path again, where a
 * directory above, renamed or swapped for a symbolic link by someone who
 * may write its parent, would send the commit elsewhere or make it find
 * nothing and take that for success.  And the rename replaces only the
 * file the program opened: if the name holds another by then, that one
 * is kept and the close fails (ESTALE).
 *
 * In each process a table maps descriptor numbers to temporaries:
 * copied by fork, rebuilt after execve by fix_init(), which recognises
 * inherited temporaries by their name in /proc/self/fd and our lock on
 * them.  A vfork child shares the table but not the descriptors, and
 * leaves the table alone (foreign()).  Exit handlers
 * (the destructor, and the _exit interposer) close what is left and
 * commit.  A process killed by a signal, or a static or set-user-ID
 * program (no preload), never runs them: if it held the last descriptor
 * the temporary stays and the old file is kept.
 *
 * Failures keep the old file.  A write the program loses (ENOSPC, EIO:
 * fix_lost()) unlinks the temporary, so that no process commits it; a
 * failed fsync or rename at the commit is said, the temporary removed,
 * and its errno returned for the interposed close(2) to report.  The
 * calls that make, fill, sync, rename and remove temporaries go through
 * the seam (sys.h), so that tests/test_guard.c can fail each in turn;
 * the descriptor bookkeeping (fcntl locks, dup3) goes to the real calls
 * (REAL(), guard.h), never to the guard's own interposers of them.
 *
 * Signal safety: the close path (fix_closed and what it calls) uses only
 * system calls, atomics and stack buffers: no malloc, no locks, no
 * stdio.  fix_open() is not async-signal-safe (realpath).
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"
#include "guard.h"

#define FIX_MARK   ".hsg-" /* ".NAME.hsg-XXXXXXXXXX" */
#define FIX_RANDOM 10
#define FIX_TRIES  100
/*
 * Where the OFD locks are: far past the end of any real file, one byte
 * for each open file description, so that two of them (freopen's reopen
 * through /proc/self/fd, say) never conflict.
 */
#define LOCK_BASE  ((off_t)0x7fff000000000000LL)
#define LOCK_SPAN  ((off_t)1 << 32)

struct fix_ent {
	atomic_int state; /* 0 free, 1 in use */
	atomic_int nfd;	  /* our descriptors for it */
	dev_t dev;	  /* of the temporary */
	ino_t ino;
	atomic_int lost; /* errno of a lost write seen here */
	int dfd;	 /* the directory of both names */
	dev_t ddev;	 /* of that directory */
	ino_t dino;
	dev_t odev; /* of the file being replaced */
	ino_t oino; /* 0: not known (adopted) */
	char tpath[PATH_MAX];
	char dpath[PATH_MAX];
};

static struct fix_ent ents[FIX_MAX];
static _Atomic unsigned char fdmap[FIX_FDS]; /* entry index + 1 */
static atomic_int live;			     /* tracked descriptors */
static pid_t owner;	      /* this process, for the vfork check */
static atomic_int table_full; /* the table was full at the last try */

int
fix_any(void)
{
	return atomic_load_explicit(&live, memory_order_relaxed) > 0;
}

int
fix_tracked(int fd)
{
	return fd >= 0 && fd < FIX_FDS && atomic_load(&fdmap[fd]) != 0;
}

int
fix_full(void)
{
	return atomic_load(&table_full);
}

/*
 * Is this a child that shares our memory (vfork(2), or clone(2) with
 * CLONE_VM)?  Then the table is its parent's, while its descriptors are
 * its own copies: it must not touch the table.  A child of fork(2) has
 * owner set by the atfork handler; one made without it (_Fork, a raw
 * clone) has a copy of the table and takes it over, and so does a child
 * whose owner is gone (ESRCH).  Whether two processes share their
 * memory only kcmp(2) can tell; if it cannot otherwise, the child is
 * taken for a vfork child, which is the common case.
 */
static int
foreign(void)
{
	pid_t self = getpid();
	int serrno = errno, shared;
	long r;

	if (self == owner)
		return 0;
	if (owner == 0) { /* fix_init() has not run */
		owner = self;
		return 0;
	}
	r = syscall(SYS_kcmp, self, owner, KCMP_VM, 0, 0);
	shared = r == 0 || (r == -1 && errno != ESRCH);
	errno = serrno;
	if (shared)
		return 1;
	owner = self; /* not shared, or the owner is gone */
	return 0;
}

/* ---- the table ------------------------------------------------------ */

static int
ent_alloc(void)
{
	int i, zero;

	for (i = 0; i < FIX_MAX; i++) {
		zero = 0;
		if (atomic_compare_exchange_strong(&ents[i].state, &zero, 1)) {
			atomic_store(&ents[i].nfd, 0);
			atomic_store(&ents[i].lost, 0);
			ents[i].dfd = -1;
			ents[i].oino = 0;
			atomic_store(&table_full, 0);
			return i;
		}
	}
	atomic_store(&table_full, 1);
	errno = EMFILE;
	return -1;
}

/* The entry fd was tracked under, now untracked; -1 if none. */
static int
untrack(int fd)
{
	unsigned char old;

	if (fd < 0 || fd >= FIX_FDS || atomic_load(&fdmap[fd]) == 0)
		return -1;
	if ((old = atomic_exchange(&fdmap[fd], 0)) == 0)
		return -1;
	atomic_fetch_sub(&live, 1);
	return old - 1;
}

static int release(int);
static int split(const char *, char *, const char **);

static int
track(int fd, int idx)
{
	int stale;

	if (fd < 0 || fd >= FIX_FDS) {
		errno = EMFILE;
		return -1;
	}
	if ((stale = untrack(fd)) != -1)
		(void)release(stale); /* closed behind our back */
	atomic_fetch_add(&ents[idx].nfd, 1);
	atomic_store(&fdmap[fd], (unsigned char)(idx + 1));
	atomic_fetch_add(&live, 1);
	return 0;
}

/* The last component of an absolute path. */
static const char *
base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * Our directory descriptors live at DIR_FD_LOW or above where the limit
 * allows, out of the way of a program that expects the next descriptor
 * number or dup2()s onto a low one (bash's "exec 3>file").
 */
#define DIR_FD_LOW 512

/* fd, moved up to DIR_FD_LOW or above if it can be; fd stays if not. */
static int
hide_fd(int fd)
{
	int serrno = errno, high;

	if (fd >= DIR_FD_LOW ||
	    (high = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, DIR_FD_LOW)) == -1) {
		errno = serrno;
		return fd;
	}
	(void)hs_sys.close(fd);
	errno = serrno;
	return high;
}

/* Is e->dfd still the directory it was opened on? */
static int
dir_same(const struct fix_ent *e, int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == e->ddev &&
	    st.st_ino == e->dino;
}

/*
 * The descriptor of e's directory, for the *at() calls on the
 * temporary and the destination.  The directory is held from the open
 * on, so that a directory above it renamed or swapped for a symlink
 * moves nothing: both names stay where the program opened the file.
 * A program may close our descriptor behind our back (closefrom, a loop
 * over all descriptors); then the directory is opened again by name,
 * and used only if it is still the same directory.  -1 with ESTALE if
 * it is not.  Async-signal-safe.
 */
static int
ent_dir(struct fix_ent *e)
{
	char dir[PATH_MAX];
	const char *base;
	int fd;

	if (dir_same(e, e->dfd))
		return e->dfd;
	if (split(e->dpath, dir, &base) == -1)
		return -1;
	fd = hs_sys.openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (!dir_same(e, fd)) {
		(void)hs_sys.close(fd);
		errno = ESTALE;
		return -1;
	}
	e->dfd = hide_fd(fd); /* the old number is not ours any more */
	return e->dfd;
}

/* Entry e is done with: let its directory go, free the slot. */
static void
ent_free(struct fix_ent *e)
{
	int serrno = errno;

	if (dir_same(e, e->dfd))
		(void)hs_sys.close(e->dfd);
	e->dfd = -1;
	atomic_store(&e->state, 0);
	errno = serrno;
}

/* ---- names and paths ------------------------------------------------ */

/* Split an absolute path into its directory ("/" for the root) and name. */
static int
split(const char *path, char *dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL || slash[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	*base = slash + 1;
	return 0;
}

static int
make_tmpname(char *buf, const char *dir, const char *base)
{
	static const char abc[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[FIX_RANDOM];
	char sfx[FIX_RANDOM + 1];
	int i;

	if (strlen(base) + 1 + strlen(FIX_MARK) + FIX_RANDOM > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (hs_sys.getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		if (errno == 0)
			errno = EAGAIN;
		return -1;
	}
	for (i = 0; i < FIX_RANDOM; i++)
		sfx[i] = abc[rnd[i] % (sizeof(abc) - 1)];
	sfx[FIX_RANDOM] = '\0';
	if (snprintf(buf, PATH_MAX, "%s%s.%s%s%s", dir,
		strcmp(dir, "/") == 0 ? "" : "/", base, FIX_MARK,
		sfx) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * If tpath is one of our temporaries, write the destination it stands
 * for to dpath and return 0.
 */
static int
dest_of(const char *tpath, char *dpath)
{
	char dir[PATH_MAX];
	const char *base, *mark, *p;

	if (split(tpath, dir, &base) == -1 || base[0] != '.')
		return -1;
	mark = base + strlen(base) - FIX_RANDOM - strlen(FIX_MARK);
	if (mark <= base + 1 || strncmp(mark, FIX_MARK, strlen(FIX_MARK)))
		return -1;
	for (p = mark + strlen(FIX_MARK); *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9')))
			return -1;
	if (snprintf(dpath, PATH_MAX, "%s%s%.*s", dir,
		strcmp(dir, "/") == 0 ? "" : "/", (int)(mark - base - 1),
		base + 1) >= PATH_MAX)
		return -1;
	return 0;
}

ssize_t
fix_fd_path(int fd, char *buf, size_t len)
{
	char proc[32];
	ssize_t n;

	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, buf, len - 1)) >= 0)
		buf[n] = '\0';
	return n;
}

/*
 * The absolute final name of dirfd/path, symlinks followed: what
 * /proc/self/fd says of an O_PATH descriptor of it, if that name still
 * reaches the same file.  Not realpath(3), which may allocate: a signal
 * handler may be the one opening.
 */
static int
final_name(int dirfd, const char *path, char *out, struct stat *stp)
{
	struct stat st, nst;
	ssize_t n;
	int fd, serrno;

	if ((fd = hs_sys.openat(dirfd, path, O_PATH | O_CLOEXEC, 0)) == -1)
		return -1;
	if ((n = fix_fd_path(fd, out, PATH_MAX)) <= 0 || n >= PATH_MAX - 1) {
		serrno = n == -1 ? errno : ENAMETOOLONG;
		goto fail;
	}
	/* The name must still reach the file (not "NAME (deleted)"). */
	if (hs_sys.fstat(fd, &st) == -1 ||
	    hs_sys.fstatat(AT_FDCWD, out, &nst, AT_SYMLINK_NOFOLLOW) == -1) {
		serrno = errno;
		goto fail;
	}
	if (st.st_dev != nst.st_dev || st.st_ino != nst.st_ino) {
		serrno = ENOENT;
		goto fail;
	}
	(void)hs_sys.close(fd);
	*stp = st;
	return 0;
fail:
	(void)hs_sys.close(fd);
	errno = serrno;
	return -1;
}

/*
 * Set e's destination from dirfd/path: its final name, the file it is
 * (the inode the commit may replace), and its directory, held open.
 * The directory must hold that file under that name, or something was
 * moved between the lookups: ENOENT.
 */
static int
ent_target(struct fix_ent *e, int dirfd, const char *path)
{
	char dir[PATH_MAX];
	const char *base;
	struct stat st, dst;
	int fd, serrno;

	if (final_name(dirfd, path, e->dpath, &st) == -1 ||
	    split(e->dpath, dir, &base) == -1)
		return -1;
	e->odev = st.st_dev;
	e->oino = st.st_ino;
	fd = hs_sys.openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (hs_sys.fstat(fd, &dst) == -1 ||
	    hs_sys.fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) == -1)
		goto fail;
	if (st.st_dev != e->odev || st.st_ino != e->oino) {
		errno = ENOENT;
		goto fail;
	}
	e->ddev = dst.st_dev;
	e->dino = dst.st_ino;
	e->dfd = hide_fd(fd);
	return 0;
fail:
	serrno = errno;
	(void)hs_sys.close(fd);
	errno = serrno;
	return -1;
}

/* ---- making the temporary ------------------------------------------- */

/*
 * Give the temporary the old file's owner, group, mode and extended
 * attributes (meta.c, as hotswap install does).
 */
static int
copy_meta(int tfd, int dfd, const char *dname)
{
	struct hs_install_opts opts;
	struct hs_result res;
	struct hs_meta m;
	struct stat ost;
	int ofd, r = -1, serrno;

	memset(&opts, 0, sizeof(opts));
	opts.uid = (uid_t)-1;
	opts.gid = (gid_t)-1;
	memset(&res, 0, sizeof(res));
	ofd = hs_sys.openat(dfd, dname,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	/* A file the program may write but not read: no xattrs to copy. */
	if (ofd == -1 && errno != EACCES)
		goto out;
	if ((ofd != -1 ? hs_sys.fstat(ofd, &ost) :
			 hs_sys.fstatat(dfd, dname, &ost,
			     AT_SYMLINK_NOFOLLOW)) == -1)
		goto out;
	hs_meta_plan(&ost, &ost, ofd, &opts, &m);
	r = hs_meta_apply(tfd, &m, &res);
out:
	serrno = errno;
	if (ofd != -1)
		(void)hs_sys.close(ofd);
	errno = serrno;
	return r;
}

/*
 * Hold the OFD lock that says "a descriptor of this is still open": a
 * read lock for a read-only descriptor (a write lock needs write
 * access), else a write lock, on a byte of our own in the span.  The
 * byte is this process's PID and a count, unique on the host but for
 * PID namespaces: a byte another description holds (EAGAIN) is skipped.
 */
static int
lock_ofd(int fd)
{
	static atomic_uint count;
	struct flock fl;
	int fl_acc = REAL(fcntl)(fd, F_GETFL), i, r = -1;
	uint64_t slot;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = (fl_acc != -1 && (fl_acc & O_ACCMODE) == O_RDONLY) ?
	    F_RDLCK :
	    F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	for (i = 0; i < 64; i++) {
		slot = ((uint64_t)getpid() << 10) + atomic_fetch_add(&count, 1);
		fl.l_start = LOCK_BASE + (off_t)(slot % (uint64_t)LOCK_SPAN);
		if ((r = REAL(fcntl)(fd, F_OFD_SETLK, &fl)) == 0 ||
		    errno != EAGAIN)
			break;
	}
	return r;
}

/*
 * Create the temporary for entry e (e->dpath set) with open flags
 * flags; fill e->tpath, e->dev, e->ino.  Returns the fd or -1.
 */
static int
create_tmp(struct fix_ent *e, int flags)
{
	char dir[PATH_MAX];
	const char *base;
	struct stat st;
	int fd = -1, i, serrno;

	flags &= ~(O_TRUNC | O_CREAT | O_EXCL | O_TMPFILE | O_DIRECTORY);
	if (split(e->dpath, dir, &base) == -1)
		return -1;
	for (i = 0; i < FIX_TRIES && fd == -1; i++) {
		if (make_tmpname(e->tpath, dir, base) == -1)
			return -1;
		fd = hs_sys.openat(e->dfd, base_of(e->tpath),
		    flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0600);
		if (fd == -1 && errno != EEXIST)
			return -1;
	}
	if (fd == -1)
		return -1;
	if (copy_meta(fd, e->dfd, base) == -1 || hs_sys.fstat(fd, &st) == -1)
		goto fail;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	return fd;
fail:
	serrno = errno;
	(void)hs_sys.close(fd);
	(void)hs_sys.unlinkat(e->dfd, base_of(e->tpath), 0);
	errno = serrno;
	return -1;
}

int
fix_open(int dirfd, const char *path, int flags, mode_t mode)
{
	int idx, fd = -1, serrno;
	struct fix_ent *e;

	(void)mode; /* the file exists: its mode is kept */
	if (foreign()) {
		errno = ENOTSUP; /* not in a vfork child */
		return -1;
	}
	if ((idx = ent_alloc()) == -1)
		return -1;
	e = &ents[idx];
	if (ent_target(e, dirfd, path) == -1 ||
	    (fd = create_tmp(e, flags)) == -1)
		goto fail;
	if (lock_ofd(fd) == -1 || track(fd, idx) == -1) {
		serrno = errno;
		(void)hs_sys.close(fd);
		(void)hs_sys.unlinkat(e->dfd, base_of(e->tpath), 0);
		errno = serrno;
		goto fail;
	}
	return fd;
fail:
	ent_free(e);
	return -1;
}

void
fix_abandon(int fd)
{
	int idx = untrack(fd);

	guard_busy++;
	(void)hs_sys.close(fd);
	if (idx != -1) {
		if (ent_dir(&ents[idx]) != -1)
			(void)hs_sys.unlinkat(ents[idx].dfd,
			    base_of(ents[idx].tpath), 0);
		if (atomic_fetch_sub(&ents[idx].nfd, 1) == 1)
			ent_free(&ents[idx]);
	}
	guard_busy--;
}

int
fix_adopt(int tfd, int fd)
{
	int idx, r = -1;

	if (!fix_tracked(tfd) || foreign())
		return -1;
	idx = atomic_load(&fdmap[tfd]) - 1;
	guard_busy++;
	if (lock_ofd(fd) == 0)
		r = tfd == fd ? 0 : track(fd, idx);
	guard_busy--;
	return r;
}

/* ---- commit --------------------------------------------------------- */

static void
report(const char *what, const char *path, int e)
{
	char post[160];

	(void)snprintf(post, sizeof(post), ": %s; the old file is kept",
	    strerrordesc_np(e));
	guard_say(1, what, path, post);
}

/* 0, or the errno of a failure, said on stderr: the file is replaced. */
static int
sync_dir(const struct fix_ent *e, int dfd)
{
	if (hs_fsync(dfd) == -1) {
		guard_say(1, "replaced, but cannot sync the directory of ",
		    e->dpath, "");
		return errno;
	}
	return 0;
}

/* Drop the temporary, return err. */
static int
fail_commit_quiet(struct fix_ent *e, int err)
{
	if (ent_dir(e) != -1)
		(void)hs_sys.unlinkat(e->dfd, base_of(e->tpath), 0);
	return err;
}

/* Say why, drop the temporary, return the errno. */
static int
fail_commit(const char *what, struct fix_ent *e, int err)
{
	report(what, e->dpath, err);
	return fail_commit_quiet(e, err);
}

/* Is st the file dev/ino? */
static int
is_file(const struct stat *st, dev_t dev, ino_t ino)
{
	return st->st_dev == dev && st->st_ino == ino;
}

/*
 * What the destination name in dfd holds now: 0 the file the program
 * opened (or not known: adopted), 1 our temporary (another process
 * committed it), -1 something else or nothing (errno ESTALE), or -1 with
 * the errno of a failed lookup.
 */
static int
dest_now(const struct fix_ent *e, int dfd)
{
	struct stat st;

	if (hs_sys.fstatat(dfd, base_of(e->dpath), &st, AT_SYMLINK_NOFOLLOW) ==
	    -1) {
		if (errno != ENOENT)
			return -1;
	} else if (is_file(&st, e->dev, e->ino))
		return 1;
	else if (e->oino == 0 || is_file(&st, e->odev, e->oino))
		return 0;
	errno = ESTALE;
	return -1;
}

/*
 * The last descriptor is gone: fsync (data and metadata on disk before a
 * name points at them), rename over the destination, fsync the
 * directory (or the rename may not survive a power cut).  Both names
 * are looked up in the directory held since the open (ent_dir), so a
 * directory above that was moved or swapped for a symlink changes
 * nothing.  The rename replaces only the file the program opened: if
 * another file took its name meanwhile (or the name is gone), that one
 * is kept, and the close fails with ESTALE.  A rename that finds our
 * temporary gone is a success only if the name now holds it (a process
 * that closed at the same instant committed).  0, or the errno of the
 * step that failed, said on stderr.
 */
static int
commit(struct fix_ent *e, int pfd)
{
	const char *dname = base_of(e->dpath);
	int dfd, now;

	if (hs_fsync(pfd) == -1)
		return fail_commit("cannot sync new copy of ", e, errno);
	if ((dfd = ent_dir(e)) == -1)
		return fail_commit("cannot find the directory of ", e, errno);
	if ((now = dest_now(e, dfd)) == 1)
		return 0;
	if (now == -1 && errno == ESTALE) {
		guard_say(1, "", e->dpath,
		    " was replaced or removed while "
		    "the program wrote it; that is kept, the new copy dropped");
		return fail_commit_quiet(e, ESTALE);
	}
	if (now == -1)
		return fail_commit("cannot look up ", e, errno);
	if (hs_sys.renameat2(dfd, base_of(e->tpath), dfd, dname, 0) == -1) {
		if (errno == ENOENT && dest_now(e, dfd) == 1)
			return 0; /* another process did it */
		return fail_commit("cannot rename new copy over ", e, errno);
	}
	return sync_dir(e, dfd);
}

/* Open the temporary anew, to ask about its lock and to sync it. */
static int
probe_open(struct fix_ent *e)
{
	struct stat st;
	int dfd, fd, serrno;

	if ((dfd = ent_dir(e)) == -1)
		return -1;
	fd = hs_sys.openat(dfd, base_of(e->tpath),
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	if (fd == -1 && errno == EACCES)
		fd = hs_sys.openat(dfd, base_of(e->tpath),
		    O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		    0);
	if (fd == -1)
		return -1;
	if (hs_sys.fstat(fd, &st) == -1) {
		serrno = errno;
		(void)hs_sys.close(fd);
		errno = serrno;
		return -1;
	}
	if (st.st_dev != e->dev || st.st_ino != e->ino) {
		(void)hs_sys.close(fd);
		errno = ENOENT; /* the name is no longer ours */
		return -1;
	}
	return fd;
}

/*
 * Does any open file description of the temporary that pfd (a probe of
 * our own, holding no lock) opens hold one of our locks?  1 yes, 0 no,
 * -1 if the kernel cannot say.
 */
static int
locked(int pfd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = LOCK_BASE;
	fl.l_len = LOCK_SPAN;
	if (REAL(fcntl)(pfd, F_OFD_GETLK, &fl) == -1)
		return -1;
	return fl.l_type != F_UNLCK;
}

/*
 * One of our descriptors of entry idx was closed.  If it was our last,
 * ask whether any descriptor is left anywhere; if none, commit.  0, or
 * the errno of a failed commit (the old file is kept, or replaced but
 * not made durable), said on stderr.
 */
static int
release(int idx)
{
	struct fix_ent *e = &ents[idx];
	int pfd, r = 0, held;

	if (atomic_fetch_sub(&e->nfd, 1) != 1)
		return 0; /* we hold another one */
	if ((r = atomic_load(&e->lost)) != 0)
		goto out; /* not replaced: the close says so */
	if ((pfd = probe_open(e)) == -1) {
		/* ENOENT: committed elsewhere, or a lost write unlinked it */
		if (errno != ENOENT)
			r = fail_commit("cannot reopen new copy of ", e, errno);
		goto out;
	}
	if ((held = locked(pfd)) == -1)
		r = fail_commit("cannot ask who holds new copy of ", e, errno);
	else if (!held)
		r = commit(e, pfd);
	(void)hs_sys.close(pfd);
out:
	ent_free(e);
	return r;
}

int
fix_closing(int fd)
{
	if (!fix_tracked(fd) || foreign())
		return -1;
	return untrack(fd);
}

static void lost(int, int);

int
fix_done(int idx, int err)
{
	int serrno = errno, r;

	if (idx < 0)
		return 0;
	guard_busy++;
	if (err != 0)
		lost(idx, err); /* NFS reports a failed write at close */
	r = release(idx);
	guard_busy--;
	errno = serrno;
	return r;
}

int
fix_closed(int fd)
{
	return fix_done(fix_closing(fd), 0);
}

void
fix_dup(int oldfd, int newfd)
{
	int idx, serrno = errno;

	if (oldfd == newfd || foreign())
		return;
	guard_busy++;
	if ((idx = untrack(newfd)) != -1)
		(void)release(idx); /* dup2 over it closed it */
	if (fix_tracked(oldfd))
		(void)track(newfd, atomic_load(&fdmap[oldfd]) - 1);
	guard_busy--;
	errno = serrno;
}

/*
 * A call that writes to fd failed with e (0: a stdio stream's error flag,
 * cause unknown).  If fd is one of our temporaries and e is an error
 * that loses data (ENOSPC, EDQUOT, EIO, EFBIG; not EINTR or EAGAIN,
 * which wrote nothing and are retried, nor copy_file_range's EXDEV or
 * EINVAL, after which cp falls back to read and write), what the program
 * meant for the file is not all in the temporary, and the temporary must
 * not replace the file.  Every process that holds the temporary shares
 * its name, not our memory: unlinking the name tells them all.  The last
 * close then finds no name (ENOENT, as after another process's commit)
 * and the old file stays.  Said once, by the process that unlinked;
 * and this process's last close of it fails with e (EIO if unknown),
 * so that a program that retried and thinks it succeeded learns that
 * the file was not replaced.  Async-signal-safe, like the close path;
 * errno is kept.
 */
static void
lost(int idx, int e)
{
	int serrno = errno;

	if (e != 0 && e != ENOSPC && e != EDQUOT && e != EIO && e != EFBIG)
		return;
	guard_busy++;
	/* Even if the program retries and succeeds: its last close fails. */
	(void)atomic_compare_exchange_strong(&ents[idx].lost, &(int){ 0 },
	    e != 0 ? e : EIO);
	if (ent_dir(&ents[idx]) != -1 &&
	    hs_sys.unlinkat(ents[idx].dfd, base_of(ents[idx].tpath), 0) == 0) {
		if (e != 0)
			report("lost a write to the new copy of ",
			    ents[idx].dpath, e);
		else
			guard_say(1, "lost a write to the new copy of ",
			    ents[idx].dpath,
			    ": the program's stream has an "
			    "error; the old file is kept");
	}
	guard_busy--;
	errno = serrno;
}

void
fix_lost(int fd, int e)
{
	int idx;

	if (fix_tracked(fd) && (idx = atomic_load(&fdmap[fd]) - 1) >= 0)
		lost(idx, e);
}

/* ---- truncate and ftruncate ----------------------------------------- */

/* Copy the first len bytes of from into to. */
static int
copy_head(int from, int to, off_t len)
{
	char buf[8192];
	off_t off = 0;
	ssize_t n, w;

	while (off < len) {
		n = hs_sys.pread(from, buf,
		    (size_t)(len - off) < sizeof(buf) ? (size_t)(len - off) :
							sizeof(buf),
		    off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1; /* the file shrank meanwhile */
		for (w = 0; w < n;) {
			ssize_t k = hs_sys.pwrite(to, buf + w, (size_t)(n - w),
			    off + w);
			if (k == -1 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			w += k;
		}
		off += n;
	}
	return 0;
}

/* A temporary for dpath holding its first len bytes; fd or -1. */
static int
tmp_with_head(struct fix_ent *e, int accmode, off_t len)
{
	int fd, src, serrno;

	if ((fd = create_tmp(e, accmode == O_RDONLY ? O_RDWR : accmode)) == -1)
		return -1;
	src = hs_sys.openat(e->dfd, base_of(e->dpath),
	    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0);
	if (src == -1 || copy_head(src, fd, len) == -1) {
		serrno = errno;
		if (src != -1)
			(void)hs_sys.close(src);
		(void)hs_sys.close(fd);
		(void)hs_sys.unlinkat(e->dfd, base_of(e->tpath), 0);
		errno = serrno;
		return -1;
	}
	(void)hs_sys.close(src);
	return fd;
}

int
fix_truncate(const char *path, off_t len)
{
	int idx, fd = -1, r = -1, err;
	struct fix_ent *e;

	if ((idx = ent_alloc()) == -1)
		return -1;
	e = &ents[idx];
	if (ent_target(e, AT_FDCWD, path) == -1 ||
	    (fd = tmp_with_head(e, O_WRONLY, len)) == -1)
		goto out;
	if ((err = commit(e, fd)) == 0)
		r = 0;
	else
		errno = err;
out:
	err = errno;
	if (fd != -1)
		(void)hs_sys.close(fd);
	ent_free(e);
	errno = err;
	return r;
}

/*
 * ftruncate(fd) to len: the descriptor is moved onto a temporary of the
 * file's first len bytes (dup3 over it, same status flags, offset and
 * close-on-exec flag), which replaces the file at its last close.
 * Other descriptors of the old open file description stay on the old
 * file.
 */
int
fix_ftruncate(int fd, off_t len)
{
	int idx, tfd = -1, fl, fdfl, serrno;
	char proc[64];
	struct fix_ent *e;
	off_t off;

	if (foreign()) {
		errno = ENOTSUP;
		return -1;
	}
	if ((fl = REAL(fcntl)(fd, F_GETFL)) == -1 ||
	    (fdfl = REAL(fcntl)(fd, F_GETFD)) == -1 ||
	    (off = lseek(fd, 0, SEEK_CUR)) == -1 || (idx = ent_alloc()) == -1)
		return -1;
	e = &ents[idx];
	/*
	 * Only a file that its name still reaches can be replaced: not an
	 * unlinked one (/proc says "NAME (deleted)"), nor a memfd.
	 */
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (ent_target(e, AT_FDCWD, proc) == -1)
		goto fail;
	if ((tfd = tmp_with_head(e, fl & O_ACCMODE, len)) == -1)
		goto fail;
	if (lock_ofd(tfd) == -1 ||
	    REAL(dup3)(tfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) == -1 ||
	    track(fd, idx) == -1)
		goto fail;
	(void)hs_sys.close(tfd);
	(void)REAL(fcntl)(fd, F_SETFL, fl);
	(void)lseek(fd, off, SEEK_SET);
	return 0;
fail:
	serrno = errno;
	if (tfd != -1) {
		(void)hs_sys.close(tfd);
		(void)hs_sys.unlinkat(e->dfd, base_of(e->tpath), 0);
	}
	ent_free(e);
	errno = serrno;
	return -1;
}

/* ---- process life --------------------------------------------------- */

static void
atfork_child(void)
{
	owner = getpid();
}

/*
 * Hold the directory of e's destination (named, not yet opened) and note
 * which file the destination is now: the file the commit may replace.
 * The owner of that file, or -1 if there is none, in *duid.
 */
static int
adopt_dir(struct fix_ent *e, uid_t *duid)
{
	char dir[PATH_MAX];
	const char *base;
	struct stat st;
	int fd;

	if (split(e->dpath, dir, &base) == -1 ||
	    (fd = hs_sys.openat(AT_FDCWD, dir,
		 O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		(void)hs_sys.close(fd);
		return -1;
	}
	e->dfd = hide_fd(fd);
	e->ddev = st.st_dev;
	e->dino = st.st_ino;
	*duid = (uid_t)-1;
	if (fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		e->odev = st.st_dev;
		e->oino = st.st_ino;
		*duid = st.st_uid;
	}
	return 0;
}

/*
 * Whose temporaries are ours to commit: one the guard made belongs to
 * the program's effective user, or (made by root) to the destination's
 * owner, as meta.c gives it the old file's owner.  Anything else came
 * from another user (a root program started in a user's session
 * inherits the user's descriptors): renaming it would put that user's
 * data over a file the user may not write.  Said, as it is an attack or
 * a mistake.
 */
static int
owner_ok(const struct stat *st, uid_t duid, const char *tpath)
{
	char post[96];

	if (st->st_uid == geteuid() || st->st_uid == duid)
		return 1;
	(void)snprintf(post, sizeof(post),
	    ": owned by uid %u, neither "
	    "this program's nor the destination's owner",
	    (unsigned)st->st_uid);
	guard_say(1, "not adopting ", tpath, post);
	return 0;
}

/*
 * Adopt fd if it is a temporary of ours inherited across execve: named
 * like one, still under that name, owned as ours are (owner_ok), and
 * (if locked_only) locked by the guard that made it: a file that merely
 * looks like one, or one left by a killed program, is nobody's to
 * rename.
 */
static void
adopt_inherited(int fd, const char *tpath, int locked_only)
{
	struct fix_ent *e;
	struct stat st;
	int idx, pfd, ok = 0;
	uid_t duid;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (idx = ent_alloc()) == -1)
		return;
	e = &ents[idx];
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	if (dest_of(tpath, e->dpath) == 0 &&
	    snprintf(e->tpath, PATH_MAX, "%s", tpath) < PATH_MAX &&
	    adopt_dir(e, &duid) == 0 && (pfd = probe_open(e)) != -1) {
		ok = (!locked_only || locked(pfd) == 1) &&
		    owner_ok(&st, duid, tpath);
		(void)hs_sys.close(pfd);
	}
	if (!ok || track(fd, idx) == -1)
		ent_free(e);
}

/* ---- execve -------------------------------------------------------- */

/*
 * A descriptor of a temporary with FD_CLOEXEC is closed by a successful
 * execve(2), in the kernel, where no interposer sees it: if it was the
 * last, nobody would commit.  So before an exec, fix_exec_carry() opens
 * each such temporary anew by name, without FD_CLOEXEC and without a
 * lock, and names these copies in the new image's environment
 * (GUARD_ENV_CARRIED, "PID FD/DEV/INO ..."); the new image's fix_init()
 * closes them at once, and whoever closes the last locked descriptor
 * commits: the new image, if the exec took the last one away.  As a
 * copy holds no lock, an image that never closes it (static, set-ID,
 * run without the guard) keeps nobody else from committing.  If the
 * exec fails, fix_exec_drop() closes the copies and nothing happened.
 * The PID, device and inode make sure that a variable passed on by an
 * image without the guard closes nothing else.
 */
int
fix_exec_carry(int *fds, int max, char *env, size_t envlen)
{
	unsigned char want[FIX_MAX];
	int fd, n = 0, fl, copy, seen = 0, tracked, idx;
	size_t len;

	if (foreign() || !fix_any())
		return 0; /* a vfork child's copies are its own */
	memset(want, 0, sizeof(want));
	tracked = atomic_load(&live);
	guard_busy++;
	for (fd = 0; fd < FIX_FDS && seen < tracked; fd++) {
		if (!fix_tracked(fd))
			continue;
		seen++;
		if ((fl = REAL(fcntl)(fd, F_GETFD)) != -1 &&
		    (fl & FD_CLOEXEC) &&
		    (idx = atomic_load(&fdmap[fd]) - 1) >= 0)
			want[idx] = 1;
	}
	len = (size_t)snprintf(env, envlen, "%s=%d", GUARD_ENV_CARRIED,
	    (int)getpid());
	for (idx = 0; idx < FIX_MAX && n < max; idx++) {
		if (!want[idx] || (fd = probe_open(&ents[idx])) == -1)
			continue; /* gone: committed, or a lost write */
		/* Not on 0, 1 or 2, where a program would take it for one. */
		copy = REAL(fcntl)(fd, F_DUPFD, 10);
		(void)hs_sys.close(fd);
		if (copy == -1)
			continue;
		len += (size_t)snprintf(env + len,
		    len < envlen ? envlen - len : 0, " %d/%ju/%ju", copy,
		    (uintmax_t)ents[idx].dev, (uintmax_t)ents[idx].ino);
		if (len >= envlen) {
			(void)hs_sys.close(copy);
			break;
		}
		fds[n++] = copy;
	}
	guard_busy--;
	return n;
}

void
fix_exec_drop(const int *fds, int n)
{
	int serrno = errno;

	while (n-- > 0)
		(void)hs_sys.close(fds[n]);
	errno = serrno;
}

/* In the new image: close the copies the old one carried across. */
static void
close_carried(void)
{
	const char *v = getenv(GUARD_ENV_CARRIED);
	char link[PATH_MAX], *end;
	uintmax_t dev, ino;
	struct stat st;
	int fd, k;

	if (v == NULL)
		return;
	if (strtol(v, &end, 10) == (long)getpid() && end != v) {
		for (v = end;
		     sscanf(v, " %d/%ju/%ju%n", &fd, &dev, &ino, &k) == 3;
		     v += k) {
			if (fstat(fd, &st) == -1 ||
			    (uintmax_t)st.st_dev != dev ||
			    (uintmax_t)st.st_ino != ino)
				continue; /* not our copy any more */
			guard_busy++;
			if (!fix_tracked(fd) &&
			    fix_fd_path(fd, link, sizeof(link)) > 0)
				adopt_inherited(fd, link, 0);
			(void)hs_sys.close(fd);
			guard_busy--;
			(void)fix_closed(fd);
		}
	}
	(void)unsetenv(GUARD_ENV_CARRIED);
}

void
fix_init(void)
{
	char link[PATH_MAX];
	struct dirent *d;
	DIR *dir;
	int fd;

	owner = getpid();
	(void)pthread_atfork(NULL, NULL, atfork_child);
	guard_busy++;
	if ((dir = opendir("/proc/self/fd")) == NULL)
		goto out;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9' ||
		    (fd = atoi(d->d_name)) == dirfd(dir) ||
		    fix_fd_path(fd, link, sizeof(link)) <= 0)
			continue;
		if (strstr(link, FIX_MARK) != NULL)
			adopt_inherited(fd, link, 1);
	}
	(void)closedir(dir);
out:
	guard_busy--;
	close_carried();
}

/*
 * glibc's list of open streams (libio, exported since 2.2.5; FILE's
 * _chain and _fileno are in its public struct_FILE.h), walked as its
 * own exit flush walks it.
 */
extern FILE *_IO_list_all;
void _IO_list_lock(void);
void _IO_list_unlock(void);

/*
 * Flush the streams on our temporaries: exit runs our destructor before
 * it flushes the streams itself, and a stream whose write failed lost
 * data even with nothing left to flush (glibc drops the buffer a write
 * failed on, so a program that exits after a failed fwrite(3) leaves
 * nothing for exit's flush to fail on): its error flag says so.  Only
 * ours: another thread may hold a lock on any other stream (stdin, in a
 * read that never ends), and glibc's own exit flush takes none.
 */
static void
flush_ours(void)
{
	FILE *f;

	_IO_list_lock();
	for (f = _IO_list_all; f != NULL; f = f->_chain) {
		if (!fix_tracked(f->_fileno))
			continue;
		if (ferror(f))
			fix_lost(f->_fileno, 0);
		else if (fflush(f) == EOF)
			fix_lost(f->_fileno, errno);
	}
	_IO_list_unlock();
}

/*
 * At exit: flush our streams, close what we still track, commit what
 * was last.  Not in a vfork child, which shares our memory with its
 * parent.
 */
void
fix_exit(int flush)
{
	struct stat st;
	int fd, idx;

	if (foreign())
		return;
	if (flush)
		flush_ours();
	guard_busy++;
	for (fd = 0; fd < FIX_FDS && fix_any(); fd++) {
		if ((idx = untrack(fd)) == -1)
			continue;
		if (fstat(fd, &st) == 0 && st.st_dev == ents[idx].dev &&
		    st.st_ino == ents[idx].ino)
			(void)hs_sys.close(fd);
		(void)release(idx);
	}
	guard_busy--;
}

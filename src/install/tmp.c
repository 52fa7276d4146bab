/*
 * tmp.c - the temporary file a replacement is built in.
 *
 * It lives in the destination's own directory, because rename(2) cannot
 * cross filesystems.  It is unnamed (O_TMPFILE) where the filesystem can,
 * so that a crash while copying leaves nothing behind; it gets a name only
 * once its content and metadata are complete, just before the rename.
 * Where O_TMPFILE is missing it is created under an unpredictable name with
 * O_EXCL|O_NOFOLLOW, so a file or symlink planted in a directory others can
 * write is never followed and never clobbered.
 *
 * A named temporary is registered for hs_cancel_cleanup(), so that the
 * command line's signal handlers can remove it.
 */
#include <sys/stat.h>
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

#define TMP_RANDOM 10  /* random characters in a name */
#define TMP_TRIES  100 /* names tried before giving up */

/*
 * The named temporaries of this process, for signal handlers: at most two
 * at once (the new file and a backup link being made).
 */
#define CANCEL_SLOTS 2

static struct {
	volatile sig_atomic_t armed;
	int dirfd;
	char name[NAME_MAX + 1];
} cancel[CANCEL_SLOTS];

static void
cancel_arm(struct hs_tmp *t)
{
	int i;

	for (i = 0; i < CANCEL_SLOTS; i++)
		if (!cancel[i].armed)
			break;
	if (i == CANCEL_SLOTS)
		return;
	cancel[i].dirfd = t->dirfd;
	(void)strlcpy(cancel[i].name, t->name, sizeof(cancel[i].name));
	cancel[i].armed = 1;
	t->slot = i;
}

static void
cancel_disarm(struct hs_tmp *t)
{
	if (t->slot != -1)
		cancel[t->slot].armed = 0;
	t->slot = -1;
}

void
hs_cancel_cleanup(void)
{
	int serrno = errno, i;

	for (i = 0; i < CANCEL_SLOTS; i++) {
		if (cancel[i].armed)
			(void)unlinkat(cancel[i].dirfd, cancel[i].name, 0);
		cancel[i].armed = 0;
	}
	errno = serrno;
}

/*
 * Random bytes for the names, drawn from one getrandom(2) of POOL_SIZE
 * bytes (at most 256: never interrupted, never short once the pool is
 * initialised) instead of one call a name: a tree of 1,000 files costs
 * 40 calls, not 2,000.  Each byte is used once.  Per thread, so that
 * threads never share names.  A name found taken drops the pool
 * (hs_tmp_reseed): whatever made the collision, the next name comes
 * from fresh bytes.  (A test that injects a fault in getrandom calls
 * hs_tmp_reseed first, so that the call is made.)
 */
#define POOL_SIZE 250 /* 25 names */

static __thread struct {
	unsigned char b[POOL_SIZE];
	size_t left;
} pool;

void
hs_tmp_reseed(void)
{
	explicit_bzero(pool.b, sizeof(pool.b));
	pool.left = 0;
}

static int
random_bytes(unsigned char *out, size_t len)
{
	ssize_t n;

	if (pool.left < len) {
		do
			n = hs_sys.getrandom(pool.b, sizeof(pool.b), 0);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof(pool.b)) {
			if (n >= 0)
				errno = EAGAIN;
			pool.left = 0;
			return -1;
		}
		pool.left = sizeof(pool.b);
	}
	memcpy(out, pool.b + sizeof(pool.b) - pool.left, len);
	explicit_bzero(pool.b + sizeof(pool.b) - pool.left, len);
	pool.left -= len;
	return 0;
}

/*
 * Make a temporary name for base: ".BASE.hs-XXXXXXXXXX", with BASE cut so
 * that the whole fits in NAME_MAX.  Ten characters of 62 give 59 bits of
 * randomness from getrandom(2) (random_bytes).
 */
int
hs_tmp_makename(char *buf, size_t len, const char *base)
{
	static const char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[TMP_RANDOM];
	char suffix[TMP_RANDOM + 1];
	size_t i, room;

	if (random_bytes(rnd, sizeof(rnd)) == -1)
		return -1;
	for (i = 0; i < TMP_RANDOM; i++)
		suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	suffix[TMP_RANDOM] = '\0';
	room = NAME_MAX - 1 - strlen(HS_TMP_MARK) - TMP_RANDOM;
	if (snprintf(buf, len, ".%.*s%s%s", (int)room, base, HS_TMP_MARK,
		suffix) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The errors with which a filesystem says it has no O_TMPFILE. */
int
hs_tmp_unsupported(int e)
{
	return e == EOPNOTSUPP || e == EISDIR || e == EINVAL || e == ENOENT;
}

/*
 * Give the temporary exactly this name, in one attempt (EEXIST if taken):
 * link an unnamed temporary there, or create a named one there with
 * O_EXCL|O_NOFOLLOW if there is no descriptor yet.  linkat() with
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc/self/fd path does the
 * same for everyone else.
 */
int
hs_tmp_claim(struct hs_tmp *t, const char *name)
{
	char proc[64];
	int r;

	(void)strlcpy(t->name, name, sizeof(t->name));
	cancel_arm(t);
	if (t->fd == -1) {
		t->fd = hs_openat(t->dirfd, t->name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
		r = t->fd == -1 ? -1 : 0;
	} else {
		r = hs_sys.linkat(t->fd, "", t->dirfd, t->name, AT_EMPTY_PATH);
		if (r == -1 && (errno == ENOENT || errno == EPERM)) {
			(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d",
			    t->fd);
			r = hs_sys.linkat(AT_FDCWD, proc, t->dirfd, t->name,
			    AT_SYMLINK_FOLLOW);
		}
	}
	if (r == 0)
		t->named = 1;
	else
		cancel_disarm(t);
	return r;
}

/* Claim fresh random names for base until one is free. */
static int
claim_random(struct hs_tmp *t, const char *base)
{
	char name[NAME_MAX + 1];
	int i;

	for (i = 0; i < TMP_TRIES; i++) {
		if (hs_tmp_makename(name, sizeof(name), base) == -1)
			return -1;
		if (hs_tmp_claim(t, name) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
		hs_tmp_reseed();
	}
	return -1;
}

void
hs_tmp_adopt(struct hs_tmp *t, int dirfd, int fd)
{
	t->dirfd = dirfd;
	t->named = 0;
	t->slot = -1;
	t->name[0] = '\0';
	t->fd = fd;
}

/* An unnamed temporary in dirfd, or -1 (see hs_tmp_unsupported()). */
int
hs_tmp_open_unnamed_mode(struct hs_tmp *t, int dirfd, mode_t mode)
{
	hs_tmp_adopt(t, dirfd,
	    hs_openat(dirfd, ".", O_TMPFILE | O_WRONLY, mode));
	return t->fd == -1 ? -1 : 0;
}

int
hs_tmp_open_unnamed(struct hs_tmp *t, int dirfd)
{
	return hs_tmp_open_unnamed_mode(t, dirfd, 0600);
}

/* Create the temporary for base in dirfd: unnamed if possible. */
int
hs_tmp_create(struct hs_tmp *t, int dirfd, const char *base)
{
	if (hs_tmp_open_unnamed(t, dirfd) == 0)
		return 0;
	if (!hs_tmp_unsupported(errno))
		return -1;
	return claim_random(t, base);
}

/* Give an unnamed temporary a random name beside base. */
int
hs_tmp_link(struct hs_tmp *t, const char *base)
{
	return t->named ? 0 : claim_random(t, base);
}

/*
 * Hard-link the existing name from, in t's directory, under a fresh
 * temporary name (for backups: the link is then renamed).
 */
int
hs_tmp_link_name(struct hs_tmp *t, const char *from, const char *base)
{
	int i;

	for (i = 0; i < TMP_TRIES; i++) {
		if (hs_tmp_makename(t->name, sizeof(t->name), base) == -1)
			return -1;
		cancel_arm(t);
		if (hs_sys.linkat(t->dirfd, from, t->dirfd, t->name, 0) == 0) {
			t->named = 1;
			return 0;
		}
		cancel_disarm(t);
		if (errno != EEXIST)
			return -1;
		hs_tmp_reseed();
	}
	return -1;
}

/* rename the (named) temporary over final; it is then no longer ours. */
int
hs_tmp_rename(struct hs_tmp *t, const char *final)
{
	if (hs_sys.renameat2(t->dirfd, t->name, t->dirfd, final, 0) == -1)
		return -1;
	t->named = 0;
	cancel_disarm(t);
	return 0;
}

/* Close the temporary and remove its name, if it still has one. */
void
hs_tmp_discard(struct hs_tmp *t)
{
	int serrno = errno;

	if (t->fd != -1)
		(void)hs_close(t->fd);
	t->fd = -1;
	if (t->named)
		(void)hs_sys.unlinkat(t->dirfd, t->name, 0);
	t->named = 0;
	cancel_disarm(t);
	errno = serrno;
}

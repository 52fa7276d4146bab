/*
 * fileid.c - the identity of a file as /proc/PID/maps will show it.
 *
 * maps (and PROCMAP_QUERY) print the device of the inode's superblock;
 * stat(2) asks the file system, and btrfs answers with the subvolume's
 * own anonymous device, so a (st_dev, st_ino) from stat(2) never matches
 * there.  The sure way is to ask the kernel the question the way it will
 * be asked of other processes: map one page of the file, look at our own
 * mapping, unmap.  Where that cannot be done (no read permission, not a
 * regular file), stat(2)'s answer is used, right everywhere but btrfs.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "hotswap.h"
#include "maps.h"
#include "pmaps.h"
#include "procmap.h"
#include "sys.h"

/* The search of text_at(): the VMA that starts at addr. */
struct at {
	uint64_t addr;
	struct hs_maps_rec *out;
	int found;
};

static int
at_rec(void *arg, const struct hs_maps_rec *rec)
{
	struct at *a = arg;

	if (rec->start != a->addr)
		return 0;
	*a->out = *rec;
	a->out->path = NULL; /* the parser is freed below */
	a->found = 1;
	return -1; /* found: stop reading */
}

/* Find our own mapping at addr in the maps text: 1, 0 if none, -1. */
static int
text_at(int fd, uint64_t addr, struct hs_maps_rec *out)
{
	struct hs_pmaps pm;
	struct at a = { addr, out, 0 };
	int r;

	hs_pmaps_init(&pm);
	r = hs_pmaps_read(&pm, fd, HS_PMAPS_TEXT, at_rec, &a);
	hs_pmaps_free(&pm);
	if (a.found)
		return 1;
	return r == -1 ? -1 : 0;
}

static void
maps_dev(int fd, const struct stat *st, struct hs_fileid *id)
{
	long pagesz = sysconf(_SC_PAGESIZE);
	struct hs_maps_rec rec;
	void *p;
	int mfd, r;

	p = hs_sys.mmap(NULL, (size_t)pagesz, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return;
	mfd = hs_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY, 0);
	if (mfd != -1) {
		r = hs_procmap_at(mfd, (uintptr_t)p, &rec);
		if (r == -1 && (errno == ENOTTY || errno == EINVAL))
			r = text_at(mfd, (uintptr_t)p, &rec);
		if (r == 1 && rec.ino == st->st_ino)
			id->dev = rec.dev;
		(void)hs_close(mfd);
	}
	(void)hs_sys.munmap(p, (size_t)pagesz);
}

int
hs_fileid_fd(int fd, struct hs_fileid *id)
{
	struct stat st;
	int serrno;

	if (hs_sys.fstat(fd, &st) == -1)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	serrno = errno;
	if (S_ISREG(st.st_mode))
		maps_dev(fd, &st, id);
	errno = serrno;
	return 0;
}

int
hs_fileid_path(const char *path, struct hs_fileid *id)
{
	struct stat st;
	int fd, r, serrno;

	fd = hs_openat(AT_FDCWD, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd == -1) {
		if (errno != EACCES && errno != EPERM)
			return -1;
		if (hs_sys.fstatat(AT_FDCWD, path, &st, 0) == -1)
			return -1;
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		return 0;
	}
	r = hs_fileid_fd(fd, id);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

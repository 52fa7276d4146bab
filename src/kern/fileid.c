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
#include "procmap.h"
#include "sys.h"

/* Find our own mapping at addr in the maps text. */
static int
text_at(int fd, uint64_t addr, struct hs_maps_rec *out)
{
	struct hs_maps m;
	struct hs_maps_rec rec;
	size_t avail;
	ssize_t n;
	char *space;
	int r = 0;

	hs_maps_init(&m);
	while (r == 0) {
		while (r == 0 && hs_maps_next(&m, &rec) == 1)
			if (rec.start == addr) {
				*out = rec;
				out->path = NULL;	/* m is freed below */
				r = 1;
			}
		if (r != 0 || m.eof)
			break;
		if ((space = hs_maps_space(&m, &avail)) == NULL) {
			r = -1;
			break;
		}
		do
			n = hs_sys.read(fd, space, avail);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			r = -1;
		else
			hs_maps_commit(&m, (size_t)n);
	}
	hs_maps_free(&m);
	return r;
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

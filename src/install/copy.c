/*
 * copy.c - copy a file's data into the temporary, the fastest safe way.
 *
 * In order of preference: FICLONE (a reflink: the blocks are shared, the
 * copy is instant), copy_file_range(2) (the kernel copies, and may reflink
 * or offload), read(2)/write(2).  Each step falls back to the next only on
 * the errors that mean "not supported here"; a real I/O error is reported.
 * Holes stay holes: the data segments are found with SEEK_DATA/SEEK_HOLE
 * and only they are copied, and the length is set at the end.  A source
 * whose st_blocks cover its size cannot have a hole worth keeping: it is
 * copied as one segment without asking.
 *
 * A transaction copies many files between the same two filesystems: it
 * passes a struct hs_copy_caps, which remembers that FICLONE or
 * copy_file_range said "not here" for that pair, so that they are not
 * asked again for every file, and that the temporary is new and empty,
 * so that a copy that wrote the whole size needs no ftruncate.
 *
 * A big file that is to be made durable, and whose source is in the
 * page cache, has its writeback started as it is copied, every
 * RANGE_CHUNK bytes (sync_file_range(2), WRITE only: it does not wait),
 * so that the disk writes while the next chunk is copied and the fsync
 * that follows finds little left to do: the time is closer to the larger
 * of copying and writing than to their sum.  A source that must be read
 * from the disk is not: there the writes would compete with the reads,
 * which measured slower than reading first and writing after.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

#define RW_BUF	      (256 * 1024)
#define RANGE_CHUNK   (16 * 1024 * 1024) /* progress, writeback */
#define WRITEBACK_MIN (4 * RANGE_CHUNK)	 /* smaller: the fsync does */

struct copier {
	int in, out;
	const char *src;
	uint64_t total, done;
	char *buf;
	int use_range;
	int stream;    /* not a regular file: read(2) */
	int writeback; /* start writeback as we go */
	off_t wb_from; /* copied since, not yet started */
	const struct hs_install_opts *opts;
	struct hs_result *res;
	struct hs_copy_caps *caps; /* or NULL */
};

/* The errors with which FICLONE or copy_file_range says "not here". */
static int
unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL ||
	    e == ENOSYS;
}

/*
 * Start writeback of what was copied in [c->wb_from, off) once that is
 * RANGE_CHUNK or more (or force).  Where the kernel cannot, stop asking:
 * the fsync still makes the file durable.
 */
static int
writeback(struct copier *c, off_t off, int force)
{
	off_t from = c->wb_from;

	if (!c->writeback || off <= from ||
	    (!force && off - from < RANGE_CHUNK))
		return 0;
	c->wb_from = off;
	if (hs_sys.sync_file_range(c->out, from, off - from,
		SYNC_FILE_RANGE_WRITE) == 0)
		return 0;
	if (unsupported(errno) || errno == ESPIPE) {
		c->writeback = 0;
		return 0;
	}
	return hs_fail(c->res, "cannot write", c->res->target);
}

/* 1 if (nearly) all of the file's size bytes are in the page cache. */
static int
in_cache(int fd, off_t size)
{
	static long pagesize;
	uint64_t pages;

	if (pagesize == 0)
		pagesize = sysconf(_SC_PAGESIZE);
	if (hs_sys.cached(fd, 0, (uint64_t)size, &pages) == -1)
		return 0; /* cannot tell: as before */
	return pages * (uint64_t)pagesize >= (uint64_t)size / 10 * 9;
}

static void
progress(struct copier *c)
{
	if (c->opts->progress != NULL)
		c->opts->progress(c->opts->progress_arg, c->done, c->total);
}

/*
 * Read up to want bytes at off: pread for a regular source, read for a
 * pipe, FIFO or terminal (pread would fail with ESPIPE), which is read
 * sequentially from its start anyway.
 */
static ssize_t
read_at(struct copier *c, size_t want, off_t off)
{
	ssize_t n;

	if (!c->stream)
		return hs_pread_full(c->in, c->buf, want, off);
	do
		n = hs_sys.read(c->in, c->buf, want);
	while (n == -1 && errno == EINTR);
	return n;
}

/* read/write [off, end), or to end of file if end is -1. */
static int
copy_rw(struct copier *c, off_t off, off_t end)
{
	ssize_t n;
	size_t want;

	if (c->buf == NULL && (c->buf = malloc(RW_BUF)) == NULL)
		return hs_fail(c->res, "cannot copy to", c->res->target);
	c->res->method = HS_COPY_READWRITE;
	while (end == -1 || off < end) {
		want = end == -1 || end - off > RW_BUF ? RW_BUF :
							 (size_t)(end - off);
		n = read_at(c, want, off);
		if (n == -1)
			return hs_fail(c->res, "cannot read", c->src);
		if (n == 0)
			break;
		if (hs_pwrite_full(c->out, c->buf, (size_t)n, off) == -1)
			return hs_fail(c->res, "cannot write", c->res->target);
		off += n;
		c->done += (uint64_t)n;
		if (c->done % RANGE_CHUNK < (uint64_t)n)
			progress(c);
		if (writeback(c, off, 0) == -1)
			return -1;
	}
	return 0;
}

/* copy_file_range [off, end); fall back to read/write where unsupported. */
static int
copy_range(struct copier *c, off_t off, off_t end)
{
	off_t in_off, out_off;
	ssize_t n;

	while (c->use_range && off < end) {
		in_off = out_off = off;
		n = hs_sys.copy_file_range(c->in, &in_off, c->out, &out_off,
		    end - off > RANGE_CHUNK ? RANGE_CHUNK : (size_t)(end - off),
		    0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && unsupported(errno)) {
			c->use_range = 0;
			if (c->caps != NULL)
				c->caps->no_range = 1;
			break;
		}
		if (n == -1)
			return hs_fail(c->res, "cannot copy to",
			    c->res->target);
		if (n == 0) /* the source shrank: its end is here */
			return 0;
		c->res->method = HS_COPY_RANGE;
		off += n;
		c->done += (uint64_t)n;
		progress(c);
		if (writeback(c, off, 0) == -1)
			return -1;
	}
	return off < end ? copy_rw(c, off, end) : 0;
}

/* Next data segment at or after off: [*data, *hole); 0 at end of data. */
static int
next_segment(struct copier *c, off_t off, off_t size, off_t *data, off_t *hole)
{
	*data = hs_sys.lseek(c->in, off, SEEK_DATA);
	if (*data == -1 && errno == ENXIO)
		return 0;
	if (*data == -1 && errno == EINVAL) { /* no SEEK_DATA here */
		*data = off;
		*hole = size;
		return off < size;
	}
	if (*data == -1)
		return hs_fail(c->res, "cannot read", c->src);
	*hole = hs_sys.lseek(c->in, *data, SEEK_HOLE);
	if (*hole == -1)
		return hs_fail(c->res, "cannot read", c->src);
	if (*hole > size)
		*hole = size;
	return *data < size;
}

/* FICLONE, unless this pair of filesystems said "not here" before. */
static int
try_clone(struct copier *c, off_t size)
{
	if (size == 0 || (c->caps != NULL && c->caps->no_clone)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (hs_sys.ficlone(c->out, c->in) == 0)
		return 0;
	if (c->caps != NULL && unsupported(errno))
		c->caps->no_clone = 1;
	return -1;
}

static int
copy_regular(struct copier *c, const struct stat *st)
{
	off_t off = 0, data = 0, hole = 0, size = st->st_size;
	int r;

	if (try_clone(c, size) == 0) {
		c->res->method = HS_COPY_REFLINK;
		c->done = (uint64_t)size;
		return 0;
	}
	if (size > 0 && !unsupported(errno))
		return hs_fail(c->res, "cannot copy to", c->res->target);
	c->writeback = !(c->opts->flags & HS_NO_SYNC) &&
	    size >= WRITEBACK_MIN && in_cache(c->in, size);
	if (size > 0 && st->st_blocks * 512 >= size) {
		/* No room for a hole: one segment, no SEEK_DATA. */
		if (copy_range(c, 0, size) == -1 || writeback(c, size, 1) == -1)
			return -1;
		if (c->caps != NULL && c->done == (uint64_t)size)
			return 0; /* a new, empty temporary: its size is right */
		goto truncate;
	}
	while ((r = next_segment(c, off, size, &data, &hole)) == 1) {
		c->wb_from = data;
		if (copy_range(c, data, hole) == -1 ||
		    writeback(c, hole, 1) == -1)
			return -1;
		off = hole;
	}
	if (r == -1)
		return -1;
truncate:
	/* Trailing holes, and a source that shrank, end here. */
	if (hs_sys.ftruncate(c->out, size) == -1)
		return hs_fail(c->res, "cannot write", c->res->target);
	return 0;
}

int
hs_copy_data_caps(int in, const char *src, const struct stat *st, int out,
    struct hs_copy_caps *caps, const struct hs_install_opts *opts,
    struct hs_result *res)
{
	struct copier c = {
		.in = in,
		.src = src,
		.out = out,
		.use_range = caps == NULL || !caps->no_range,
		.opts = opts,
		.res = res,
		.caps = caps,
		.total = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0,
	};
	int r;

	if (S_ISREG(st->st_mode))
		r = copy_regular(&c, st);
	else {
		c.stream = 1;
		r = copy_rw(&c, 0, -1);
	}
	free(c.buf);
	res->bytes = c.done;
	return r;
}

int
hs_copy_data(int in, const char *src, const struct stat *st, int out,
    const struct hs_install_opts *opts, struct hs_result *res)
{
	return hs_copy_data_caps(in, src, st, out, NULL, opts, res);
}

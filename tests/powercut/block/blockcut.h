/*
 * blockcut.h - the block-level power cut of the tests: a real ext4 on a
 * loop device whose backing file is the one file of a small FUSE file
 * system (rec.c), which logs every block write and every cache flush the
 * loop driver passes on; the crash images a power cut could leave are
 * rebuilt from the log (cut.c), mounted (journal replay) and judged
 * (dev.c, main.c).
 *
 * The model (also in README.md, "Power-cut testing"):
 *
 *   - The loop device (buffered, not direct I/O) serves one request at a
 *     time and turns a block write into FUSE writes, and a cache flush
 *     (REQ_PREFLUSH, and the flush that follows a FUA write: the loop
 *     device does not claim FUA) into an fsync of its backing file: a
 *     FUSE_FSYNC.  The FUSE loop is single-threaded, so the log's order
 *     is the order the requests completed in.
 *   - A flush makes durable every write the log has before it.  The
 *     writes since the last flush sit in the disk's volatile cache: a
 *     power cut keeps none of them (mode drop), any prefix of them
 *     (mode prefix, a disk that writes its cache in order), or any
 *     subset (mode subset, a disk that reorders its cache, which is what
 *     ext4's journal is built to survive; a bounded number of seeded
 *     random subsets, all of them when there are few).
 *   - The command's exit does not end the epoch: blockcut then syncs the
 *     file system, as the kernel's writeback and journal timer would
 *     soon after, and cuts during that sync too; from the command's exit
 *     on, a state is judged as one after the command (POWERCUT_FINAL=1).
 *   - A write is whole: one FUSE write (at most 128 KiB) survives whole
 *     or not at all.  Torn sectors, lost flushes (a lying disk), and
 *     writes that reach the disk out of the order of their completion
 *     beyond the above are not modelled.
 */
#ifndef BLOCKCUT_H
#define BLOCKCUT_H

#include <sys/types.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define BC_BLOCK 4096 /* the hashing granule and the ext4 block size */

enum bc_kind { BC_WRITE, BC_FLUSH };

struct bc_event {
	enum bc_kind kind;
	off_t off;
	size_t len;
	unsigned char *data; /* NULL: zeros (a hole punched, zeroed range) */
};

/* The image the FUSE file system serves, and the log of an epoch. */
struct bc_rec {
	pthread_mutex_t mu;
	unsigned char *img; /* the live image */
	size_t size;
	int recording;
	unsigned char *base; /* the image as the epoch began */
	struct bc_event *ev;
	size_t n, cap;
	size_t exited; /* the events logged before the command exited */
};

/* rec.c: the FUSE file system, serving r->img as /img */
struct bc_fs;
struct bc_fs *bc_fs_mount(struct bc_rec *, const char *);
void bc_fs_unmount(struct bc_fs *);
void bc_rec_start(struct bc_rec *);
void bc_rec_exited(struct bc_rec *);
void bc_rec_stop(struct bc_rec *);

/* dev.c: loop devices, ext4, processes */
int bc_mkfs(const char *, const char *, size_t);
int bc_loop_attach(const char *, char *, size_t);
int bc_mount_ext4(const char *, const char *, const char *);
int bc_umount(const char *);
pid_t bc_spawn(const char *const *, const char *, int);
int bc_wait(pid_t, int, int *);

/* cut.c */
struct bc_opts {
	int mode; /* BC_DROP, BC_PREFIX, BC_SUBSET */
	unsigned int subsets;
	unsigned long rand;
	int verbose;
	int timeout;
	unsigned int jobs;
	const char *check;
	const char *stateimg;
};

#define BC_DROP	  0
#define BC_PREFIX 1
#define BC_SUBSET 2

struct bc_tally {
	size_t cuts, states, rejected, distinct;
};

int bc_cut_all(const struct bc_rec *, int, const struct bc_opts *,
    struct bc_tally *);
const char *bc_mode_name(int);

/* util */
void *bc_xalloc(void *, size_t, size_t);

#endif

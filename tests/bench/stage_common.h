/*
 * stage_common.h - what the staging benches (stage_threads.c,
 * stage_uring.c) share: the two trees they stage between, the walk of a
 * source directory, the clocks and the figures printed.  Every function
 * reports and exits on a failure of its own (err(3)): these are
 * benchmark programs, not the library.
 */
#ifndef HS_STAGE_COMMON_H
#define HS_STAGE_COMMON_H

#define STAGE_MAXR 101 /* runs at most */

struct stage_tree {
	int nfiles, perdir, ndirs, kib;
	int dirfd;	    /* DIR */
	int jfd;	    /* DIR/journal, appended to */
	int *srcfd, *dstfd; /* each directory of DIR/src and DIR/dst, open */
};

/* DIR/src: nfiles files of kib KiB of random bytes, perdir a directory
 * (d0, d1, ...; f00000, f00001, ...), and DIR/dst a copy of it; the
 * journal made empty; all written back.  Sets ndirs. */
void stage_tree_make(struct stage_tree *t, const char *dir);

#define STAGE_NAME 16 /* a name made here, its NUL included, fits */

/* A file of the walk: each bench's own record of a file starts with it. */
struct stage_name {
	int dir;
	char name[STAGE_NAME];
};

/* The names of source directory d not starting with a dot, appended to
 * the array files of records of size bytes, each starting with a struct
 * stage_name, from index *n on (*n counts them); -1 (reported) for a
 * name not made here or more names than nfiles. */
int stage_walk_dir(const struct stage_tree *t, int d, void *files, size_t size,
    int *n);

/* Every source directory so: *n = nfiles, or -1. */
int stage_walk(const struct stage_tree *t, void *files, size_t size, int *n);

/* Untimed, after a run: each destination directory holds exactly its
 * files (no temporary or old link left), the journal is emptied, and
 * DIR is written back (syncfs(2)). */
void stage_settle(const struct stage_tree *t);

double stage_now(void);	   /* CLOCK_MONOTONIC, ms */
double stage_cpu_ms(void); /* user + system of every thread, ms */
double stage_median(const double *v, int n);
double stage_minimum(const double *v, int n);
void stage_load(const char *when); /* "# load WHEN: /proc/loadavg" */
int stage_number(const char *s, int lo, int hi); /* or exit 2 */

#endif

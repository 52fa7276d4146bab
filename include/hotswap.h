/*
 * hotswap.h - replace files that running programs map, without crashing
 * them; find the processes that map a file.
 *
 * Calling sequence (replacement)
 * ------------------------------
 *	struct hs_install_opts opts;
 *	struct hs_result res;
 *
 *	hs_install_opts_init(&opts);
 *	opts.flags |= HS_BACKUP;
 *	if (hs_install("build/libfoo.so", "/usr/lib/libfoo.so", &opts,
 *	    &res) == -1)
 *		err(1, "%s '%s'", res.step, res.path);
 *
 * hs_install() writes the new content to a temporary file in the
 * destination's own directory, gives it its final owner, mode, extended
 * attributes and timestamps, fsyncs it, rename(2)s it over the destination
 * and fsyncs the directory.  The destination is never opened for writing
 * and never unlinked: processes that map the old file keep the old inode,
 * and the path names a complete file, old or new, at every instant.
 *
 * Error handling
 * --------------
 * Every function returns 0 on success and -1 on failure with errno set.
 * On failure, res->step says what failed, in words that fit after
 * "cannot" is dropped ("cannot open source"), and res->path names the
 * path concerned: a message "STEP 'PATH': strerror(errno)" is complete.
 * A failed call leaves the destination as it was and no temporary file
 * behind, with one exception: when the rename succeeded but the fsync of
 * the directory after it failed, res->new_ino is set: the new file is in
 * place but the rename may not survive a power cut.  The library never
 * prints and never exits.
 *
 * Threads: the functions are reentrant except hs_cancel_cleanup(), which
 * serves one replacement in flight per process (the command line's).
 */
#ifndef HOTSWAP_H
#define HOTSWAP_H

#include <sys/types.h>
#include <limits.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HOTSWAP_VERSION "0.1.0"

/* hs_install_opts.flags */
#define HS_BACKUP	  0x0001 /* keep the old file as DEST+suffix */
#define HS_COMPARE	  0x0002 /* leave DEST alone if nothing would change */
#define HS_NO_SYNC	  0x0004 /* skip both fsyncs (scratch use only) */
#define HS_NO_DEREF	  0x0008 /* replace a symlink DEST, not its target */
#define HS_DRY_RUN	  0x0010 /* check everything, change nothing */
#define HS_PRESERVE_TIMES 0x0020 /* new file takes SOURCE's atime, mtime */
#define HS_MKDIRS	  0x0040 /* create DEST's missing parent directories */
#define HS_SET_MODE	  0x0080 /* use opts.mode for the permission bits */
#define HS_IN_PLACE	  0x0100 /* write into DEST's own inode (see below) */
#define HS_FORCE	  0x0200 /* HS_IN_PLACE even if processes map DEST */
#define HS_STRIP	  0x0400 /* strip the temporary before the rename */
#define HS_NO_CONTEXT	  0x0800 /* do not carry DEST's SELinux label over */
#define HS_NEW_MODE	  0x1000 /* a new DEST gets opts.new_mode (0755) */
/*
 * A transaction's commit makes its renames and unlinks in batches, and
 * hs_txn_add_tree() opens the unnamed temporaries of a directory's files
 * in batches: by io_uring where the calls block on the disk and one
 * system call each where they do not (measured as it goes, see
 * hs_txn_commit).  The two flags force one way: HS_IO_PLAIN never sets
 * up io_uring (under a seccomp filter that kills a process calling
 * io_uring_setup(2), for one); HS_IO_URING uses it for every batch the
 * kernel lets it.
 */
#define HS_IO_PLAIN	  0x2000
#define HS_IO_URING	  0x4000
/*
 * The kernel frees a replaced file's blocks when its last reference goes,
 * inside the call that drops it: a GiB costs 0.1 to 0.4 s.  With
 * HS_FREE_LATER, an old inode occupying 16 MiB or more that the
 * replacement leaves without a name is handed to a short-lived process of
 * ours (a grandchild, init's or the nearest subreaper's to reap, holding
 * no descriptor but the old inodes, every signal blocked), which drops
 * it as the call returns: the space comes back a moment later, and until
 * then the inode keeps its filesystem busy for umount(2).  A caller that
 * is process 1 or a subreaper frees as without the flag.  Without the
 * flag nothing forks.
 */
#define HS_FREE_LATER	  0x8000

/*
 * hs_install_opts.backup_type, with HS_BACKUP: GNU's version control.
 * EXISTING (the default, as GNU's): numbered if DEST already has numbered
 * backups, simple otherwise; SIMPLE: DEST+suffix; NUMBERED: DEST.~N~,
 * one more than the highest N there is.
 */
enum hs_backup_type {
	HS_BACKUP_EXISTING = 0,
	HS_BACKUP_SIMPLE,
	HS_BACKUP_NUMBERED
};

struct hs_install_opts {
	unsigned int flags;
	const char *suffix; /* backup suffix; NULL means "~" */
	mode_t mode;	    /* with HS_SET_MODE */
	uid_t uid;	    /* (uid_t)-1: keep DEST's or ours */
	gid_t gid;	    /* (gid_t)-1: keep DEST's or ours */
	/*
	 * Called from the copy loop with bytes done and bytes total (0 if
	 * unknown); may be NULL.  Never called for a reflink.
	 */
	void (*progress)(void *, uint64_t, uint64_t);
	void *progress_arg;
	enum hs_backup_type backup_type;
	/*
	 * HS_STRIP: the program run on a private copy of the temporary, as
	 * "PROGRAM ./NAME" in a 0700 directory of our own, with a fixed
	 * environment; NULL means "strip".  Found in PATH as execvp(3) does.
	 */
	const char *strip_program;
	/* An SELinux context to set on the temporary, or NULL. */
	const char *context;
	/* -d: the mode of the last directory, with HS_SET_MODE. */
	mode_t dir_mode;
	/*
	 * HS_NEW_MODE: the mode of a DEST that does not exist yet, rather
	 * than SOURCE's permission bits less the umask (install(1): 0755).
	 */
	mode_t new_mode;
};

/* How the data was copied. */
enum hs_copy_method {
	HS_COPY_NONE = 0,
	HS_COPY_REFLINK,  /* FICLONE: blocks shared */
	HS_COPY_RANGE,	  /* copy_file_range(2) */
	HS_COPY_READWRITE /* read(2)/write(2) */
};

struct hs_result {
	/* On failure: what failed, and the path it concerns. */
	const char *step;
	const char *path;
	/* On success: */
	int unchanged; /* HS_COMPARE: DEST already matched */
	int same_file; /* SOURCE is DEST: nothing was done */
	int had_old;   /* DEST existed and was replaced */
	dev_t old_dev; /* the replaced inode, if had_old */
	ino_t old_ino;
	dev_t new_dev; /* the inode DEST names now */
	ino_t new_ino;
	nlink_t other_links; /* other names of the old inode */
	uint64_t bytes;	     /* bytes of content written */
	enum hs_copy_method method;
	char backup[PATH_MAX]; /* the backup made, or "" */
	/* HS_IN_PLACE: how many processes map DEST, and the first few. */
	unsigned long mappers;
	pid_t mapper_pids[8];
	/* DEST after following symbolic links (what was replaced). */
	char target[PATH_MAX];
	/*
	 * HS_STRIP: the wait(2) status of a strip program that ran and
	 * failed (it exited non-zero or was killed), else 0.
	 */
	int strip_status;
};

void hs_install_opts_init(struct hs_install_opts *);

/*
 * Replace dst with a copy of src, atomically and durably, as described
 * above.  dst must not be a directory.  With HS_DRY_RUN, every check is
 * made (source readable, destination directory writable, symlinks
 * resolvable) and nothing is created.
 *
 * HS_IN_PLACE writes the new content into the existing inode instead
 * (truncate, copy, fsync), which keeps hard links and a bind-mounted
 * destination, and is exactly as unsafe as cp(1) for processes that map
 * the file: so it first scans the processes and, if any maps or runs dst,
 * fails with ETXTBSY (res->mappers, res->mapper_pids) and leaves it
 * untouched, unless HS_FORCE.  Other processes could map dst between the
 * scan and the write; the window is the length of one copy.  A new dst is
 * installed the ordinary way.
 */
int hs_install(const char *src, const char *dst, const struct hs_install_opts *,
    struct hs_result *);

/*
 * Put the backup dst+suffix back in place of dst, atomically.  Where the
 * filesystem supports renameat2(RENAME_EXCHANGE) the two are swapped, so
 * the file rolled back from stays available as the backup (and a second
 * rollback rolls forward); elsewhere the backup is renamed over dst.
 * Uses opts->suffix and the HS_NO_DEREF, HS_NO_SYNC and HS_DRY_RUN flags.
 */
int hs_rollback(const char *dst, const struct hs_install_opts *,
    struct hs_result *);

/*
 * Make the directory dir and its missing parents (install -d).  The last
 * component is made under a temporary name, given opts' owner, group and
 * mode (HS_SET_MODE: opts->dir_mode, else 0755) and renamed into place,
 * so that it never appears with the wrong ones; the parent is fsynced
 * (unless HS_NO_SYNC).  An existing directory gets the owner, group and
 * mode as GNU install gives them.  res->new_ino is set if it was made.
 */
int hs_install_dir(const char *dir, const struct hs_install_opts *,
    struct hs_result *);

/*
 * Remove the named temporary file of a replacement in flight, if any.
 * Async-signal-safe: meant for SIGINT/SIGTERM/SIGHUP handlers, which then
 * re-raise the signal.  An unnamed (O_TMPFILE) temporary needs no help:
 * the kernel frees it when the process dies.
 */
void hs_cancel_cleanup(void);

const char *hs_copy_method_name(enum hs_copy_method);

/* ---- process scanner: who maps a file, who runs stale code ---------- */
/*
 * Calling sequence (scanner)
 * --------------------------
 *	struct hs_fileid id;
 *	struct hs_scan *s;
 *	const struct hs_proc *p;
 *	const struct hs_mapping *m;
 *	size_t n;
 *	int r;
 *
 *	if (hs_fileid_path("/usr/lib/libfoo.so", &id) == -1 ||
 *	    (s = hs_scan_open(0)) == NULL ||
 *	    hs_scan_who(s, &id, 1) == -1)
 *		err(1, ...);
 *	while ((r = hs_scan_next(s, &p, &m, &n)) == 1)
 *		print p->pid, p->comm and the n mappings m[0..n);
 *	if (r == -1)
 *		err(1, "cannot scan processes");
 *	if (hs_scan_stats(s)->incomplete)
 *		warnx("%lu processes could not be inspected", ...);
 *	hs_scan_free(s);
 *
 * hs_scan_stale() starts the other kind of walk on the same handle; a
 * handle runs one walk at a time, and starting a walk abandons the last.
 * /proc is read one process at a time (on a machine with several CPUs,
 * a walk over all processes takes two at a time, one in a thread of its
 * own, unless HS_SCAN_SERIAL): memory does not grow with the number of
 * processes, only with the mappings of the largest ones.  Processes come
 * in no particular order.  The counters are complete once
 * hs_scan_next() has returned 0.
 *
 * Everything reported about a process (maps, stat, cgroup) is about the
 * same process even if its PID is reused meanwhile: what was read after
 * its maps is checked to be from a process that held the PID since
 * before they were opened.  start_time lets a caller check that later
 * (kill, restart).
 *
 * Errors: the functions return -1 (NULL) with errno set.  A process that
 * exits during the walk is skipped silently.  One whose maps cannot be
 * read (EACCES, EPERM: another user's, /proc mounted hidepid=) is not an
 * error: it is counted in uninspectable and the result is incomplete.
 *
 * Device numbers: /proc/PID/maps shows the device of the file system's
 * superblock, which is not always what stat(2) says (btrfs subvolumes
 * give each subvolume its own st_dev).  hs_fileid_path() and
 * hs_fileid_fd() learn the device the way the kernel prints it in maps,
 * by mapping one page of the file and asking; use them, not stat(2),
 * to fill a struct hs_fileid.
 */
struct hs_fileid {
	dev_t dev; /* as /proc/PID/maps shows it */
	ino_t ino;
};

/* hs_mapping.kind and hs_proc.kinds */
#define HS_MAP_EXE	 0x0001 /* /proc/PID/exe is this file */
#define HS_MAP_CODE	 0x0002 /* mapped executable */
#define HS_MAP_RODATA	 0x0004 /* mapped readable only */
#define HS_MAP_WRPRIVATE 0x0008 /* writable, private (copy-on-write) */
#define HS_MAP_WRSHARED	 0x0010 /* writable and shared: writes reach it */
#define HS_MAP_NOACCESS	 0x0020 /* mapped with no access (a reserved gap) */
#define HS_MAP_DELETED	 0x0100 /* stale: the file was unlinked */
#define HS_MAP_REPLACED	 0x0200 /* stale: its path names another file */
/*
 * stale: not a mapping.  HS_MAP_FD: a regular file held open read-only
 * by descriptor (offset: its number; start, end 0; dev and ino as
 * stat(2) shows them).  HS_MAP_SCRIPT: the script an interpreter runs,
 * named on its command line, changed (REPLACED: dev and ino are the
 * file now at the path) or DELETED (dev, ino 0) since the process
 * started.  Unless HS_SCAN_MAPS_ONLY; see hs_scan_stale().
 */
#define HS_MAP_FD	 0x0400
#define HS_MAP_SCRIPT	 0x0800

/*
 * hs_scan_open() flags.  By default each maps file is read as text, and
 * once a read that is not the last (each about a page) shows at most two
 * file-backed mappings (a big heap of anonymous ones), the process is
 * finished with PROCMAP_QUERY, which skips anonymous memory in the
 * kernel.  The two flags force one way,
 * for benchmarks and tests; stale always reads the text (it needs the
 * names).
 */
#define HS_SCAN_TEXT	  0x0001 /* never use PROCMAP_QUERY */
#define HS_SCAN_IOCTL	  0x0002 /* who: only PROCMAP_QUERY, if it works */
#define HS_SCAN_BRIEF	  0x0004 /* who: leave unit "" and other_mntns -1 */
/*
 * A walk over all processes runs on two CPUs where there are several
 * (a second thread, see src/scan/par.c); this keeps it in the caller's.
 */
#define HS_SCAN_SERIAL	  0x0008
/*
 * As root, on a kernel with BTF (CONFIG_DEBUG_INFO_BTF, Linux 5.12+),
 * a who walk (and hs_count_mappers()) runs as a BPF task_vma iterator,
 * which hands back only the wanted mappings (src/kern/bpfwho.c), and falls
 * back to reading /proc when it cannot.  This keeps it on /proc.
 * HS_SCAN_TEXT and HS_SCAN_IOCTL imply it.
 */
#define HS_SCAN_PROC	  0x0010
/* stale: mappings only, no descriptors or scripts (today's stale). */
#define HS_SCAN_MAPS_ONLY 0x0020

/*
 * hs_proc.cls: what kind of process it is, which says what to do about
 * it (src/scan/class.c has the rules).  Each process is in exactly one.
 */
enum hs_class {
	HS_CLASS_OTHER = 0, /* none of the below */
	HS_CLASS_SERVICE,   /* a systemd system service; p->unit names it */
	HS_CLASS_SESSION,   /* a login session (session-N.scope) */
	HS_CLASS_USER,	    /* a user manager or its units (user@UID.service) */
	HS_CLASS_CONTAINER, /* inside a container: report, never restart */
	HS_CLASS_PID1,	    /* init: systemctl daemon-reexec */
};
const char *hs_class_name(int cls); /* "service", "session", "user",
				       "container", "pid1", "other" */

struct hs_proc {
	pid_t pid;
	uid_t uid;	     /* owner of /proc/PID (the effective
					   uid, or 0 for a process that is not
					   dumpable); (uid_t)-1 if unknown */
	uint64_t start_time; /* clock ticks after boot, stat(5) #22 */
	int other_mntns;     /* 1 yes, 0 no, -1 unknown */
	unsigned int kinds;  /* union of the mappings' kinds */
	char comm[64];	     /* raw: print it escaped */
	char unit[256];	     /* systemd unit or scope, or "" */
	int cls;	     /* enum hs_class; filled by stale (who too,
					   unless HS_SCAN_BRIEF) */
	/*
	 * stale: mappings not reported because the process passed the
	 * limits of what is kept for one process (1 MiB of names, 65536
	 * mappings; see hs_scan_stale()); 0 from who.
	 */
	unsigned long dropped;
};

struct hs_mapping {
	unsigned int kind; /* HS_MAP_* */
	uint64_t start;	   /* [start, end) in the process */
	uint64_t end;
	uint64_t offset; /* in the file */
	dev_t dev;	 /* the mapped inode, as in maps */
	ino_t ino;
	size_t which; /* who: index of the file matched */
	/*
	 * The name as mapped, newline-unescaped, without " (deleted)";
	 * raw bytes from another user: print it escaped.  Always set by
	 * stale; NULL from who when PROCMAP_QUERY was used.
	 */
	const char *path;
};

struct hs_scan_stats {
	unsigned long inspected;     /* processes whose maps were read */
	unsigned long uninspectable; /* maps unreadable: EACCES, EPERM */
	unsigned long vanished;	     /* exited during the walk */
	unsigned long unresolved;    /* stale: mappings that could not be
					   judged (name not looked up) */
	int incomplete;		     /* some processes were not seen */
	int used_ioctl;		     /* PROCMAP_QUERY answered */
	/*
	 * The BPF iterator walked the processes: the kernel looked at every
	 * one, "inspected" counts only those reported, none is
	 * uninspectable or vanished.
	 */
	int used_bpf;
};

int hs_fileid_path(const char *, struct hs_fileid *);
int hs_fileid_fd(int, struct hs_fileid *);

struct hs_scan *hs_scan_open(unsigned int flags);

/*
 * Start a walk over every process for the ones that map any of the n
 * files; hs_mapping.which says which.  The array is copied.
 */
int hs_scan_who(struct hs_scan *, const struct hs_fileid *, size_t n);

/*
 * Start a walk for file-backed mappings whose name now names another
 * file or nothing, judged inside the process's own mount namespace.
 * With npids > 0, only those processes are looked at (a PID that does
 * not exist is skipped, as if it had exited).  What is ignored (memfd,
 * shared memory, GPU buffers, libffi and JNA trampolines...) is listed
 * in src/scan/stale.c.  Unless HS_SCAN_MAPS_ONLY, a process that maps
 * files is also looked at for descriptors (src/scan/fds.c) and, if it
 * runs an interpreter, its script (src/scan/script.c): pseudo-mappings
 * HS_MAP_FD and HS_MAP_SCRIPT, after its mappings.  Consecutive mappings of the same file under the
 * same name share one path pointer.  Memory is bounded whatever a process
 * maps: past 1 MiB of names or 65536 mappings, its further stale
 * mappings are counted in hs_proc.dropped instead of being reported.
 */
int hs_scan_stale(struct hs_scan *, const pid_t *pids, size_t npids);

/*
 * The next process with something to report: 1 with *proc and the
 * mappings (*maps)[0..*n) set, valid until the next call; 0 when the walk
 * is over; -1 on an error that ends the walk.
 */
int hs_scan_next(struct hs_scan *, const struct hs_proc **proc,
    const struct hs_mapping **maps, size_t *n);

/* Counters of the current (or last) walk. */
const struct hs_scan_stats *hs_scan_stats(const struct hs_scan *);

void hs_scan_free(struct hs_scan *);

/*
 * How many processes map the file id: a whole walk, no per-process
 * details, for a caller that needs only the number.  *incomplete is set
 * if some processes could not be inspected.  (hotswap install's hint
 * does not use it: it names the first processes, so it walks with
 * hs_scan_who().)
 */
int hs_count_mappers(const struct hs_fileid *, unsigned long *count,
    int *incomplete);
/*
 * Does the machine need a reboot: the running kernel (uname -r) against
 * the newest image installed in bootdir (NULL: /boot), as needrestart's
 * kernel check; src/scan/kernel.c says how versions are read and
 * ordered.  The statuses are needrestart's NEEDRESTART-KSTA values.
 */
enum hs_kernel_status {
	HS_KERNEL_UNKNOWN = 0, /* no image found, or ours not installed */
	HS_KERNEL_CURRENT = 1, /* running the newest */
	HS_KERNEL_ABI = 2,     /* same release rebuilt: reboot */
	HS_KERNEL_VERSION = 3, /* a newer version is installed: reboot */
};

struct hs_kernel {
	int status;		  /* enum hs_kernel_status */
	char running[65];	  /* uname -r */
	char expected[128];	  /* the newest installed's version, or "" */
	char image[NAME_MAX + 1]; /* its file name in bootdir, or "" */
	unsigned long images;	  /* kernel images found */
};

/* 0, with *k filled (status UNKNOWN if bootdir is missing); -1 on error. */
int hs_kernel_check(const char *bootdir, struct hs_kernel *k);
/* ---- end of process scanner ----------------------------------------- */

/* ---- transactions: many files, all or nothing ------------------------ */
/*
 * Calling sequence (transaction)
 * ------------------------------
 *	struct hs_txn *t;
 *
 *	if ((t = hs_txn_open("/opt/app", &opts, &res)) == NULL ||
 *	    hs_txn_lock(t, 1, &res) == -1)
 *		fail;
 *	for each file:
 *		if (hs_txn_add(t, src, dst, NULL, &res) == -1)
 *			fail;		(or report and go on: per-file use)
 *	if (hs_txn_commit(t, &res) == -1)
 *		fail;			(the tree is entirely old again)
 *	hs_txn_free(t);
 *
 * The phases:
 *  1. hs_txn_add() stages a file: a temporary beside its destination
 *     with the data and complete metadata, and a hard link that keeps the
 *     old file's inode; the first eight have their writeback started;
 *  2. hs_txn_commit() makes all of them durable with one barrier
 *     (syncfs(2) once per filesystem, or fsync(2) each when eight or
 *     fewer), then marks the journal committed;
 *  3. renames all into place: files without an execute bit and shared
 *     libraries (*.so, *.so.*) first, then executables, then symbolic
 *     links, so that a new executable never starts against the old
 *     libraries of the same deploy, and a new link never points at a file
 *     not yet there;
 *  4. fsyncs each directory touched, once; turns the old-inode links into
 *     backups (HS_BACKUP) or removes them; removes the journal.
 *
 * All or nothing: a failure in phase 1 or 2 renames nothing; the temps,
 * links and directories made are removed (hs_txn_free() does it for a
 * transaction never committed).  A failure in phase 3 renames the old
 * inodes back, so the tree is entirely old again.  A crash is repaired by
 * hs_recover(), or by the next hs_txn_lock() on the tree, which replays
 * the journal the same way: a transaction whose journal says committed
 * is completed (every new file was durable before the
 * first rename, so going forward loses nothing and is what was asked);
 * any other is rolled back.
 *
 * The journal is ROOT/.hotswap-journal; concurrent transactions on one
 * root serialise on flock(2) of ROOT itself; readers are never blocked.
 */
struct hs_txn;

struct hs_txn_stats {
	unsigned long staged;	   /* files staged for replacement */
	unsigned long unchanged;   /* HS_COMPARE found them up to date */
	unsigned long same_file;   /* SOURCE was DEST: skipped */
	unsigned long dirs_made;   /* directories created */
	unsigned long other_links; /* old files with other hard links */
	uint64_t bytes;		   /* bytes of content staged */
	int rolled_back;	   /* commit failed, the tree is old */
	int recovered;		   /* 1 completed, -1 rolled back an
					   interrupted transaction */
	int used_syncfs;	   /* the barrier was syncfs(2) */
	unsigned long ring_ops;	   /* commit steps made by io_uring */
	unsigned long ring_opens;  /* staging's temporaries, by io_uring */
	unsigned long freed_later; /* HS_FREE_LATER: old files handed over */
};

/*
 * Open a transaction whose journal and lock live in the directory root
 * (created with HS_MKDIRS).  opts applies to every file unless an entry
 * brings its own.  NULL on error, res says why.
 */
struct hs_txn *hs_txn_open(const char *root, const struct hs_install_opts *,
    struct hs_result *);

/*
 * Take the tree's lock; with wait 0, fail with EWOULDBLOCK instead of
 * waiting.  Then recover an interrupted transaction, if any.
 */
int hs_txn_lock(struct hs_txn *, int wait, struct hs_result *);

/* Stage src to replace dst; opts NULL means the transaction's. */
int hs_txn_add(struct hs_txn *, const char *src, const char *dst,
    const struct hs_install_opts *, struct hs_result *);

/* Stage a symbolic link dst -> target (made, then renamed into place). */
int hs_txn_add_symlink(struct hs_txn *, const char *target, const char *dst,
    struct hs_result *);

/* Create directory dir if it is missing (removed again on rollback). */
int hs_txn_mkdir(struct hs_txn *, const char *dir, mode_t, struct hs_result *);

/*
 * Stage the tree srcdir into dstdir, like cp -r or rsync -a of its
 * content: regular files replace their counterparts, symbolic links are
 * made or replaced, missing directories are created; what dstdir has and
 * srcdir lacks is left alone.  Other file types are an error.  Below
 * srcdir, nothing is opened by path: each entry is opened with O_NOFOLLOW
 * in its directory's descriptor and must be the inode the walk saw, or
 * the walk fails naming it (EAGAIN, or ELOOP for a link swapped in); a
 * link in dstdir where srcdir has a file or directory is followed only
 * if it resolves beneath dstdir.  each, if not NULL, is called after
 * each file or link is staged, with arg, the source, the destination and
 * the result.  The O_TMPFILE opens of a directory's run of files are
 * timed by the rule of hs_txn_commit() and, once slow, made by io_uring
 * for the run at once (at most 256, and a quarter of RLIMIT_NOFILE, held
 * open); stats.ring_opens counts them.  Not with HS_COMPARE.
 */
int hs_txn_add_tree(struct hs_txn *, const char *srcdir, const char *dstdir,
    void (*each)(void *, const char *, const char *, const struct hs_result *),
    void *arg, struct hs_result *);

/*
 * Phases 2 to 4.  On failure the tree is old again (stats.rolled_back),
 * except when the failure came after the last rename (res->step starts
 * with "installed, but"): the tree is new and only cleanup remains, which
 * the next hs_recover() or transaction on the tree finishes.  The renames
 * and the old links' removal go in batches: by plain calls, timed, and
 * by io_uring for the rest of a kind once 32 or more of its calls took
 * 100 us each or more on average (HS_IO_PLAIN, HS_IO_URING force a way;
 * without io_uring, plain); stats.ring_ops counts the steps it made.
 */
int hs_txn_commit(struct hs_txn *, struct hs_result *);

const struct hs_txn_stats *hs_txn_stats(const struct hs_txn *);

/*
 * For the hint of who still runs the old files: after
 * hs_txn_note_replaced(), the transaction remembers the identity of
 * every old regular file it stages a replacement for (as maps shows it,
 * like hs_fileid_fd(), at no system call per file: the device is learnt
 * once per filesystem), and hs_txn_replaced() lists them (*n of them;
 * valid until hs_txn_free()).
 */
void hs_txn_note_replaced(struct hs_txn *);
const struct hs_fileid *hs_txn_replaced(const struct hs_txn *, size_t *n);

/* Roll back what was staged and not committed; close; free. */
void hs_txn_free(struct hs_txn *);

/*
 * Complete or roll back the transaction interrupted in root, if any
 * (taking the lock).  *outcome: 0 nothing to do, 1 completed, -1 rolled
 * back.
 */
int hs_recover(const char *root, int *outcome, struct hs_result *);

/*
 * Manifests (install --manifest): one entry a line,
 *	SOURCE DEST [mode=MODE] [owner=OWNER] [group=GROUP]
 * with '#' comments, blank lines, and fields in double quotes with \" \\
 * \n \t \xHH escapes; or, with nul set, NUL-terminated fields and an
 * empty field ending each entry.  The parser is pure: the strings point
 * into m's own buffer, and values are not interpreted.  On a malformed
 * entry: -1, errno EINVAL, *errline (line, or entry with nul) and *errmsg.
 */
struct hs_manifest_entry {
	const char *src, *dst;
	const char *mode, *owner, *group; /* NULL if not given */
	unsigned long line;
};

struct hs_manifest {
	struct hs_manifest_entry *entries;
	size_t n;
	char *buf;
};

int hs_manifest_parse(const char *text, size_t len, int nul,
    struct hs_manifest *, unsigned long *errline, const char **errmsg);
void hs_manifest_free(struct hs_manifest *);
/* ---- end of transactions --------------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif /* HOTSWAP_H */

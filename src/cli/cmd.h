/*
 * cmd.h - the subcommands of the hotswap command line (cmd_NAME.c each,
 * dispatched by main.c), and the helpers they share, by file.  This
 * layer, src/cli/, is the only code that prints or exits; it sees the
 * library only through include/hotswap.h.
 */
#ifndef HS_CMD_H
#define HS_CMD_H

#include <sys/types.h>
#include <stdio.h>
#include <time.h>

#include "hotswap.h"

/* Each returns the process exit status. */
int cmd_guard(int, char **);
int cmd_install(int, char **);
int cmd_recover(int, char **);
int cmd_restart(int, char **);
int cmd_rollback(int, char **);
int cmd_stale(int, char **);
int cmd_who(int, char **);

/*
 * Exit statuses.  install/rollback: 0 done, 1 failed, 2 usage.  who and
 * stale follow grep(1) and fuser(1): 0 found, 1 none, 2 error.
 */
#define HS_EXIT_OK    0
#define HS_EXIT_FAIL  1
#define HS_EXIT_USAGE 2

/* main.c: shared by the subcommands. */
int usage(FILE *);	   /* HS_EXIT_USAGE, or 0 for stdout */
int usage_install(FILE *); /* the install lines only */
int version(void);
/*
 * SIGINT, SIGTERM, SIGHUP: remove a named temporary in flight, then die of
 * the same signal, so the exit status tells which.
 */
void catch_signals(void);

/* hotswap install's arguments, as cmd_install.c parses them. */
struct install_args {
	struct hs_install_opts opts;
	const char *target_dir; /* -t */
	const char *manifest;	/* --manifest */
	int no_target_dir;	/* -T */
	int recursive;		/* -r */
	int nul;		/* -0 */
	int no_wait;		/* --no-wait */
	int verbose;
	int quiet;
	int dirs;	     /* -d */
	int debug;	     /* --debug */
	int mode_set;	     /* -m */
	const char *control; /* --backup=CONTROL */
	const char *context; /* --context=CTX */
	int want_context;    /* -Z, --context */
	int keep_context;    /* --preserve-context */
	int strip_prog_set;  /* --strip-program */
};

/* cmd_txn.c: the transactional forms, as cmd_install.c sorts them. */
int install_tree(const char *srcdir, const char *dstdir, struct install_args *);
int install_manifest(struct install_args *);
int install_many(int argc, char **argv, const char *dir, struct install_args *);

/* args.c: the values of install's arguments. */
int parse_owner(const char *, uid_t *);
int parse_group(const char *, gid_t *);
int parse_mode(const char *, mode_t *);
int parse_dir_mode(const char *, mode_t *);
int parse_backup(const char *control, struct hs_install_opts *);
int dest_in(const char *dir, const char *src, char *dst);

/* report.c: what install and recover say. */
double elapsed(const struct timespec *);
const char *pid_list(const pid_t *, unsigned long n);
void report_failure(const struct hs_result *);
void report_success(const char *src, const char *dst, const struct hs_result *,
    const struct install_args *);
/* Before a replacement: remember what dst names now, for the hint. */
void hint_note(const char *dst, struct hs_fileid **, size_t *);
/* After: one line if processes still map the replaced files. */
void hint_print(const struct hs_fileid *, size_t, int quiet);

/* interp.c: 1 if path loads a preload library, 0 not, -1 cannot tell. */
int elf_dynamic(const char *path, int depth, char *culprit);

/* stale_fmt.c: stale's batch, Nagios and OpenMetrics formats. */
struct tally {
	unsigned long procs;
	unsigned long cls[HS_CLASS_PID1 + 1]; /* processes per class */
	char **svc, **cont, **sess;	      /* escaped names, each once */
	size_t nsvc, ncont, nsess;
};
void tally_add(struct tally *, const struct hs_proc *);
void tally_free(struct tally *);
const char *kernel_word(int status);
void print_kernel_human(const struct hs_kernel *);
void json_kernel(FILE *, const struct hs_kernel *);
void print_batch(struct tally *, const struct hs_kernel *);
int print_nagios(struct tally *, const struct hs_kernel *,
    const struct hs_scan_stats *, int failed);
void print_openmetrics(const struct tally *, const struct hs_kernel *,
    const struct hs_scan_stats *);

/* cmd_scan.c: shared by who and stale. */
struct hs_proc;
struct hs_scan_stats;
unsigned int scan_flags_from_env(void);
const char *scan_method(const struct hs_scan_stats *, unsigned int flags);
const char *user_name(uid_t);
const char *user_label(uid_t);
void print_kinds(FILE *, unsigned int kind);
void json_kinds(FILE *, unsigned int kind);
void json_proc(FILE *, const struct hs_proc *);
void json_stats(FILE *, const struct hs_scan_stats *, unsigned int flags);
int scan_status(const struct hs_scan_stats *, unsigned long found, int quiet);

/* out.c: escaping of untrusted names for humans and for JSON. */
const char *vis_path(const char *);
void json_string(FILE *, const char *);

#endif /* HS_CMD_H */

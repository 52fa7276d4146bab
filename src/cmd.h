/*
 * cmd.h - the subcommands of the hotswap command line, and the helpers
 * they share.  Only this layer prints or exits.
 */
#ifndef HS_CMD_H
#define HS_CMD_H

#include <sys/types.h>
#include <stdio.h>

/* Each returns the process exit status. */
int	cmd_install(int, char **);
int	cmd_rollback(int, char **);
int	cmd_stale(int, char **);
int	cmd_who(int, char **);

/*
 * Exit statuses.  install/rollback: 0 done, 1 failed, 2 usage.  who and
 * stale follow grep(1) and fuser(1): 0 found, 1 none, 2 error.
 */
#define HS_EXIT_OK	0
#define HS_EXIT_FAIL	1
#define HS_EXIT_USAGE	2

/* main.c: shared by the subcommands. */
int	usage(FILE *);		/* HS_EXIT_USAGE, or 0 for stdout */
int	version(void);
/*
 * SIGINT, SIGTERM, SIGHUP: remove a named temporary in flight, then die of
 * the same signal, so the exit status tells which.
 */
void	catch_signals(void);

/* cmd_scan.c: shared by who and stale. */
struct hs_proc;
struct hs_scan_stats;
unsigned int scan_flags_from_env(void);
const char *scan_method(const struct hs_scan_stats *, unsigned int flags);
const char *user_name(uid_t);
const char *user_label(uid_t);
void	print_kinds(FILE *, unsigned int kind);
void	json_kinds(FILE *, unsigned int kind);
void	json_proc(FILE *, const struct hs_proc *);
void	json_stats(FILE *, const struct hs_scan_stats *, unsigned int flags);
int	scan_status(const struct hs_scan_stats *, unsigned long found,
	    int quiet);

/* out.c: escaping of untrusted names for humans and for JSON. */
const char *vis_path(const char *);
void	json_string(FILE *, const char *);

#endif /* HS_CMD_H */

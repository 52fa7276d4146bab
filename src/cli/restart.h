/*
 * restart.h - the parts of hotswap restart (cmd_restart.c): the deny
 * list (restart_deny.c), the systemctl runner (restart_run.c) and the
 * plan, its order and its verification (restart_plan.c).
 */
#ifndef HS_RESTART_H
#define HS_RESTART_H

#include <sys/types.h>
#include <stddef.h>

#include "hotswap.h"

/* The default configuration file, overridable only by --config. */
#define RESTART_CONF "/etc/hotswap/restart.conf"

/*
 * One entry of the deny list: a unit name pattern (fnmatch(3), always
 * ending in a unit type: "getty@*.service") and why it is never
 * restarted.  origin is "built in" or "FILE:LINE".
 */
struct deny {
	char *pattern;
	char *reason;
	char *origin;
};

struct denylist {
	struct deny *v;
	size_t n;
	size_t cap;
};

/* restart_deny.c.  Each returns 0, or -1 with a message in why. */
int deny_builtin(struct denylist *);
/*
 * Parse the text of a configuration file, its lines "PATTERN REASON";
 * origin names it in messages.  A pattern without a unit type gets
 * ".service"; one ending in "@" gets "*.service" (every instance).
 */
int deny_parse(struct denylist *, const char *text, size_t len,
    const char *origin, char *why, size_t whylen);
/*
 * Read and parse path, refusing a symbolic link, a file that is not
 * regular, not owned by root or writable by group or others, or in a
 * directory that is.  missing_ok: a file that does not exist is no error.
 */
int deny_load(struct denylist *, const char *path, int missing_ok, char *why,
    size_t whylen);
/* Add one entry (strings copied). */
int deny_add(struct denylist *, const char *pattern, const char *reason,
    const char *origin);
/* The first entry that matches unit, or NULL. */
const struct deny *deny_match(const struct denylist *, const char *unit);
void deny_free(struct denylist *);
/*
 * The unit of the text of a /proc/PID/cgroup file, as systemd names it
 * (the first path component that is not a slice); 0 with unit set, -1 if
 * there is none.
 */
int cgroup_unit(const char *text, char *unit, size_t len);

/*
 * restart_run.c: run systemctl (a fixed path, argv as given, a clean
 * environment, stdin /dev/null, never a shell).  With out != NULL its
 * stdout is collected (NUL-terminated, *out malloc'd).  Returns its exit
 * status, 128 + signal, or -1 if it could not run (errno set).
 */
int systemctl_run(const char *systemctl, const char *const *args, char **out);

/* What became of a group, in the order a run decides it. */
enum rstate {
	ST_PLANNED,    /* a service to restart */
	ST_DENIED,     /* a service on the deny list */
	ST_NOTSERVICE, /* a session, user, container, pid1, other */
	ST_DECLINED,   /* --interactive: answered no */
	ST_ALREADY,    /* restarted along with another, verified */
	ST_RESTARTED,  /* restarted and verified */
	ST_FAILED,     /* systemctl failed, or no main process after */
	ST_UNVERIFIED, /* the new main process still maps an old file */
};

/* A file that made a group stale. */
struct rfile {
	dev_t dev;
	ino_t ino;
	char *path; /* raw, from /proc: print it escaped */
};

/*
 * A group of stale processes: one systemd unit, or one process that has
 * none (or is PID 1).
 */
struct runit {
	char unit[256];	    /* "" for a process without a unit */
	int cls;	    /* enum hs_class */
	int state;	    /* enum rstate */
	const char *reason; /* ST_DENIED: why; ST_FAILED: what */
	const char *origin; /* ST_DENIED: "built in" or FILE:LINE */
	pid_t *pids;
	size_t npids;
	char comm[64]; /* of the first process */
	uid_t uid;
	struct rfile *files;
	size_t nfiles;
	char **deps; /* ST_PLANNED: the units it is ordered after */
	size_t ndeps;
	pid_t newpid;	   /* after a restart: the main pid */
	const char *still; /* ST_UNVERIFIED: the file still mapped */
	char detail[160];
};

struct rplan {
	struct runit *u;
	size_t n;
	size_t *order; /* the planned services, in restart order */
	size_t norder;
	int cycle; /* the order had to break a cycle */
	struct hs_scan_stats stats;
};

/* restart_plan.c.  Exit with a message on ENOMEM or a failed scan. */
void plan_gather(struct rplan *, char *const *units, size_t nunits);
void plan_deny(struct rplan *, const struct denylist *);
int plan_show(struct rplan *, const struct denylist *, const char *systemctl);
void plan_order(struct rplan *);
/* 1 if the group's processes still map its files, 0 not. */
int plan_still_stale(const struct runit *);
/*
 * The stale processes among the groups (or among all if units is NULL),
 * counted afresh.
 */
unsigned long plan_left(char *const *units, size_t nunits,
    struct hs_scan_stats *);
/* 0 verified; -1 with u->state and u->detail set. */
int plan_verify(struct runit *, const char *systemctl);
void plan_free(struct rplan *);

#endif /* HS_RESTART_H */

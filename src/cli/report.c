/*
 * report.c - what hotswap install says about each file, shared by its
 * one-file form (cmd_install.c) and its transactions (cmd_txn.c), and
 * by hotswap recover: a failure, a success, and the hint that processes
 * still run a replaced version.
 */
#include <bsd/stdlib.h>
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotswap.h"
#include "cmd.h"

/* Seconds on CLOCK_MONOTONIC since *since. */
double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* "PID 12, 34 and 2 more" for a refusal message. */
const char *
pid_list(const pid_t *pids, unsigned long n)
{
	static char buf[160];
	size_t len, shown = n < 8 ? n : 8, i;

	len = (size_t)snprintf(buf, sizeof(buf), "PID%s", n > 1 ? "s" : "");
	for (i = 0; i < shown && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %d",
		    i > 0 ? "," : "", (int)pids[i]);
	if (n > shown && len < sizeof(buf))
		(void)snprintf(buf + len, sizeof(buf) - len, " and %lu more",
		    n - shown);
	return buf;
}

void
report_failure(const struct hs_result *res)
{
	if (errno == EBUSY && strstr(res->step, "rename") != NULL)
		warn("%s '%s' (a mount point: --in-place writes into it)",
		    res->step, vis_path(res->path));
	else if (errno == ETXTBSY && res->mappers > 0)
		warn("%s '%s' (%s)", res->step, vis_path(res->path),
		    pid_list(res->mapper_pids, res->mappers));
	else
		warn("%s '%s'", res->step, vis_path(res->path));
}

void
hint_note(const char *dst, struct hs_fileid **ids, size_t *n)
{
	struct hs_fileid id, *grown;

	if (hs_fileid_path(dst, &id) == -1)
		return; /* new, or unreadable: no hint */
	if ((grown = reallocarray(*ids, *n + 1, sizeof(**ids))) == NULL)
		return;
	*ids = grown;
	(*ids)[(*n)++] = id;
}

/*
 * The processes that still map the replaced inodes need a restart to run
 * the new version: say how many, and how to list them.
 */
void
hint_print(const struct hs_fileid *ids, size_t n, int quiet)
{
	const struct hs_mapping *maps;
	const struct hs_proc *proc;
	pid_t pids[5];
	unsigned long count = 0;
	struct hs_scan *s;
	char cmd[128];
	size_t len, i, nm;

	if (quiet || n == 0 || (s = hs_scan_open(HS_SCAN_BRIEF)) == NULL)
		return;
	if (hs_scan_who(s, ids, n) == 0)
		while (hs_scan_next(s, &proc, &maps, &nm) == 1)
			if (count++ < 5)
				pids[count - 1] = proc->pid;
	hs_scan_free(s);
	if (count == 0)
		return;
	len = (size_t)snprintf(cmd, sizeof(cmd), "hotswap stale");
	for (i = 0; count <= 5 && i < count; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " -p %d",
		    (int)pids[i]);
	fprintf(stderr,
	    "hotswap: %lu process%s still run%s the replaced "
	    "version; to list: %s\n",
	    count, count == 1 ? "" : "es", count == 1 ? "s" : "", cmd);
}

/* What a successful hs_install() has to tell. */
void
report_success(const char *src, const char *dst, const struct hs_result *res,
    const struct install_args *a)
{
	int dry = a->opts.flags & HS_DRY_RUN;

	if (res->same_file) {
		warnx("'%s' and '%s' are the same file; nothing to do",
		    vis_path(src), vis_path(dst));
		return;
	}
	if (res->other_links > 0 && !a->quiet)
		warnx("'%s' had %ju other hard link%s: %s the old content",
		    vis_path(res->target), (uintmax_t)res->other_links,
		    res->other_links == 1 ? "" : "s",
		    res->other_links == 1 ? "it keeps" : "they keep");
	if (!a->verbose)
		return;
	if (res->unchanged)
		printf("'%s' unchanged\n", vis_path(res->target));
	else
		printf("%s'%s' -> '%s'%s%s%s\n", dry ? "would install " : "",
		    vis_path(src), vis_path(res->target),
		    res->backup[0] != '\0' ? " (backup: '" : "",
		    res->backup[0] != '\0' ? vis_path(res->backup) : "",
		    res->backup[0] != '\0' ? "')" : "");
}

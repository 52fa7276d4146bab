/*
 * cmd_restart.c - hotswap restart: restart the systemd services that run
 * replaced files, one by one in the order their dependencies give, each
 * checked afterwards; list what it will not restart (the deny list,
 * sessions, user managers, containers, PID 1 unless --reexec) with what
 * to do instead.
 *
 * Modes: --list (the default) prints the plan and changes nothing;
 * --interactive asks on the terminal before each restart; --yes restarts
 * without asking.  Exit status (hotswap(1)): 0 nothing left stale, 1
 * stale processes left that this run did not restart, 2 usage or error,
 * 3 a restart failed, 4 a restarted service still maps an old file.
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotswap.h"
#include "cmd.h"
#include "restart.h"

#define EXIT_LEFT	1
#define EXIT_FAILED	3
#define EXIT_UNVERIFIED 4

enum {
	OPT_CONFIG = 256,
	OPT_INTERACTIVE,
	OPT_JSON,
	OPT_LIST,
	OPT_REEXEC,
	OPT_SYSTEMCTL,
	OPT_VERSION,
	OPT_YES,
};

static const struct option restart_longopts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, 'h' },
	{ "interactive", no_argument, NULL, OPT_INTERACTIVE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "reexec", no_argument, NULL, OPT_REEXEC },
	{ "systemctl", required_argument, NULL, OPT_SYSTEMCTL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "yes", no_argument, NULL, OPT_YES },
	{ NULL, 0, NULL, 0 },
};

enum { MODE_LIST, MODE_INTERACTIVE, MODE_YES };

struct restart_args {
	int mode;
	int modes; /* how many mode options were given */
	int json;
	int reexec;
	const char *config;
	int config_given;
	const char *systemctl;
	char *const *units;
	size_t nunits;
	struct denylist deny;
	struct rplan plan;
	unsigned long left;
};

static const char *const mode_names[] = { "list", "interactive", "yes" };

static const char *const state_names[] = {
	[ST_PLANNED] = "planned",
	[ST_DENIED] = "denied",
	[ST_NOTSERVICE] = "left",
	[ST_DECLINED] = "declined",
	[ST_ALREADY] = "already",
	[ST_RESTARTED] = "restarted",
	[ST_FAILED] = "failed",
	[ST_UNVERIFIED] = "unverified",
};

/* What to do about a group that is not restarted here. */
static const char *
advice(const struct runit *u)
{
	switch (u->cls) {
	case HS_CLASS_SESSION: return "the user logs out and in again";
	case HS_CLASS_USER: return "the user logs out and in again";
	case HS_CLASS_CONTAINER: return "restart it inside its container";
	case HS_CLASS_PID1:
		return "systemctl daemon-reexec "
		       "(hotswap restart --reexec does it)";
	default: return "no systemd service: restart it by hand";
	}
}

/* The systemctl to run: the option's, or the first fixed path there is. */
static const char *
find_systemctl(void)
{
	static const char *const paths[] = { "/usr/bin/systemctl",
		"/bin/systemctl" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return paths[0];
}

/* The unit we run under joins the deny list. */
static void
deny_self(struct denylist *d)
{
	char text[4096], unit[256];
	FILE *fp;
	size_t n;

	if ((fp = fopen("/proc/self/cgroup", "re")) == NULL)
		return;
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	(void)fclose(fp);
	if (cgroup_unit(text, unit, sizeof(unit)) == 0)
		(void)deny_add(d, unit, "the unit this command runs under",
		    "/proc/self/cgroup");
}

static int
load_deny(struct restart_args *a)
{
	char why[512];

	(void)deny_builtin(&a->deny);
	if (deny_load(&a->deny, a->config, !a->config_given, why,
		sizeof(why)) == -1) {
		warnx("refusing deny list '%s': %s", vis_path(a->config),
		    vis_path(why));
		return -1;
	}
	deny_self(&a->deny);
	return 0;
}

/* The stale processes of a group and the files that made them so. */
static void
print_pids(FILE *fp, const struct runit *u)
{
	size_t i;

	fprintf(fp, " (pid");
	for (i = 0; i < u->npids && i < 8; i++)
		fprintf(fp, "%s%d", i ? "," : " ", (int)u->pids[i]);
	if (u->npids > 8)
		fprintf(fp, ",... %zu in all", u->npids);
	fprintf(fp, ";");
	for (i = 0; i < u->nfiles && i < 4; i++)
		fprintf(fp, " '%s'", vis_path(u->files[i].path));
	if (u->nfiles > 4)
		fprintf(fp, " and %zu more", u->nfiles - 4);
	fprintf(fp, ")\n");
}

static const char *
group_name(const struct runit *u)
{
	static char buf[128];

	if (u->unit[0] != '\0' && u->cls != HS_CLASS_PID1)
		return vis_path(u->unit);
	(void)snprintf(buf, sizeof(buf), "%d %s", (int)u->pids[0],
	    vis_path(u->comm));
	return buf;
}

/* One line per group: the plan, or what became of it. */
static void
print_human(const struct runit *u)
{
	switch (u->state) {
	case ST_PLANNED:
		printf("%s %s", u->cls == HS_CLASS_PID1 ? "reexec" : "restart",
		    group_name(u));
		break;
	case ST_DENIED:
		printf("denied %s: %s [%s]", vis_path(u->unit),
		    vis_path(u->reason), vis_path(u->origin));
		break;
	case ST_NOTSERVICE:
		printf("%s %s: %s", hs_class_name(u->cls), group_name(u),
		    advice(u));
		break;
	case ST_DECLINED: printf("declined %s", vis_path(u->unit)); break;
	case ST_ALREADY:
	case ST_RESTARTED:
		printf("%s %s: main pid %d maps none of the old files",
		    u->state == ST_ALREADY ? "restarted (with a dependency)" :
					     "restarted",
		    group_name(u), (int)u->newpid);
		break;
	case ST_FAILED:
		printf("failed %s: %s", group_name(u), vis_path(u->reason));
		break;
	case ST_UNVERIFIED:
		printf("unverified %s: main pid %d still maps '%s'",
		    group_name(u), (int)u->newpid, vis_path(u->still));
		break;
	}
	print_pids(stdout, u);
}

static void
json_unit(const struct runit *u, int first)
{
	size_t i;

	printf("%s{\"unit\":", first ? "" : ",");
	if (u->unit[0] != '\0')
		json_string(stdout, u->unit);
	else
		fputs("null", stdout);
	printf(",\"class\":\"%s\",\"result\":\"%s\",\"comm\":",
	    hs_class_name(u->cls), state_names[u->state]);
	json_string(stdout, u->comm);
	fputs(",\"reason\":", stdout);
	if (u->state == ST_DENIED || u->state == ST_FAILED)
		json_string(stdout, u->reason);
	else if (u->state == ST_NOTSERVICE)
		json_string(stdout, advice(u));
	else
		fputs("null", stdout);
	fputs(",\"pids\":[", stdout);
	for (i = 0; i < u->npids; i++)
		printf("%s%d", i ? "," : "", (int)u->pids[i]);
	fputs("],\"files\":[", stdout);
	for (i = 0; i < u->nfiles; i++) {
		if (i > 0)
			putchar(',');
		json_string(stdout, u->files[i].path);
	}
	fputs("],\"after\":[", stdout);
	for (i = 0; i < u->ndeps; i++) {
		if (i > 0)
			putchar(',');
		json_string(stdout, u->deps[i]);
	}
	printf("],\"main_pid\":");
	if (u->newpid > 0)
		printf("%d", (int)u->newpid);
	else
		fputs("null", stdout);
	fputs(",\"still_maps\":", stdout);
	if (u->state == ST_UNVERIFIED)
		json_string(stdout, u->still);
	else
		fputs("null", stdout);
	putchar('}');
}

static int
in_order(const struct rplan *pl, size_t k)
{
	size_t i;

	for (i = 0; i < pl->norder; i++)
		if (pl->order[i] == k)
			return 1;
	return 0;
}

/* The planned services in their order, then every other group. */
static void
print_groups(const struct restart_args *a)
{
	const struct rplan *pl = &a->plan;
	size_t i, k = 0;

	for (i = 0; i < pl->norder; i++, k++)
		if (a->json)
			json_unit(&pl->u[pl->order[i]], k == 0);
		else
			print_human(&pl->u[pl->order[i]]);
	for (i = 0; i < pl->n; i++) {
		if (in_order(pl, i))
			continue;
		if (a->json)
			json_unit(&pl->u[i], k++ == 0);
		else
			print_human(&pl->u[i]);
	}
}

/* --interactive: 1 if the answer to the question is yes. */
static int
ask(const struct runit *u)
{
	char *line = NULL;
	size_t cap = 0;
	int yes;

	fprintf(stderr, "%s %s?",
	    u->cls == HS_CLASS_PID1 ? "reexec" : "restart", group_name(u));
	print_pids(stderr, u);
	fprintf(stderr, "[y/N] ");
	yes = getline(&line, &cap, stdin) > 0 &&
	    (line[0] == 'y' || line[0] == 'Y');
	free(line);
	return yes;
}

/* Restart one planned service and check it; the state says how it went. */
static void
restart_one(struct restart_args *a, struct runit *u)
{
	const char *args[] = { a->systemctl, "restart", "--no-ask-password",
		"--", u->unit, NULL };
	int rc;

	if (!plan_still_stale(u)) {
		/* Restarted with one it Requires=, or gone: check it. */
		if (plan_verify(u, a->systemctl) == 0)
			u->state = ST_ALREADY;
		return;
	}
	if (a->mode == MODE_INTERACTIVE && !ask(u)) {
		u->state = ST_DECLINED;
		return;
	}
	if (u->cls == HS_CLASS_PID1)
		args[1] = "daemon-reexec", args[3] = NULL;
	if ((rc = systemctl_run(a->systemctl, args, NULL)) != 0) {
		u->state = ST_FAILED;
		if (rc == -1)
			(void)snprintf(u->detail, sizeof(u->detail),
			    "cannot run systemctl: %s", strerror(errno));
		else
			(void)snprintf(u->detail, sizeof(u->detail),
			    "systemctl %s exited with status %d", args[1], rc);
		u->reason = u->detail;
		return;
	}
	if (plan_verify(u, a->systemctl) == 0)
		u->state = ST_RESTARTED;
}

/* The exit status: what is left, the worst first. */
static int
restart_status(const struct restart_args *a)
{
	const struct rplan *pl = &a->plan;
	int failed = 0, unverified = 0;
	size_t i;

	for (i = 0; i < pl->n; i++) {
		failed += pl->u[i].state == ST_FAILED;
		unverified += pl->u[i].state == ST_UNVERIFIED;
	}
	if (failed)
		return EXIT_FAILED;
	if (unverified)
		return EXIT_UNVERIFIED;
	return a->left > 0 || pl->stats.incomplete ? EXIT_LEFT : HS_EXIT_OK;
}

static void
count(const struct rplan *pl, int state, unsigned long *n)
{
	size_t i;

	*n = 0;
	for (i = 0; i < pl->n; i++)
		*n += pl->u[i].state == state;
}

static void
print_summary(const struct restart_args *a, int status)
{
	unsigned long r, al, f, uv, d, dc, ns, pl;

	count(&a->plan, ST_RESTARTED, &r);
	count(&a->plan, ST_ALREADY, &al);
	count(&a->plan, ST_FAILED, &f);
	count(&a->plan, ST_UNVERIFIED, &uv);
	count(&a->plan, ST_DENIED, &d);
	count(&a->plan, ST_DECLINED, &dc);
	count(&a->plan, ST_NOTSERVICE, &ns);
	count(&a->plan, ST_PLANNED, &pl);
	if (a->json) {
		printf("],\"restarted\":%lu,\"failed\":%lu,"
		       "\"unverified\":%lu,\"denied\":%lu,\"declined\":%lu,"
		       "\"not_services\":%lu,\"planned\":%lu,"
		       "\"left\":%lu,\"incomplete\":%s,\"status\":%d}\n",
		    r + al, f, uv, d, dc, ns, pl, a->left,
		    a->plan.stats.incomplete ? "true" : "false", status);
		return;
	}
	if (a->mode == MODE_LIST)
		printf("%lu to restart, %lu denied, %lu not services; "
		       "%lu stale processes\n",
		    pl, d, ns, a->left);
	else
		printf("%lu restarted, %lu failed, %lu unverified, %lu denied, "
		       "%lu declined, %lu not services; %lu stale processes "
		       "left\n",
		    r + al, f, uv, d, dc, ns, a->left);
}

static void
run_plan(struct restart_args *a)
{
	struct rplan *pl = &a->plan;
	struct hs_scan_stats st;
	size_t i;

	if (a->mode == MODE_LIST) {
		for (i = 0; i < pl->n; i++)
			a->left += pl->u[i].npids;
		return;
	}
	for (i = 0; i < pl->norder; i++)
		restart_one(a, &pl->u[pl->order[i]]);
	a->left = plan_left(a->units, a->nunits, &st);
	pl->stats.incomplete |= st.incomplete;
}

/* PID 1 with --reexec: planned, after every service. */
static void
plan_reexec(struct restart_args *a)
{
	struct rplan *pl = &a->plan;
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (pl->u[i].cls == HS_CLASS_PID1 && a->reexec) {
			pl->u[i].state = ST_PLANNED;
			pl->order[pl->norder++] = i;
		}
}

static int
restart(struct restart_args *a)
{
	int status;

	if (load_deny(a) == -1)
		return HS_EXIT_USAGE;
	plan_gather(&a->plan, a->units, a->nunits);
	plan_deny(&a->plan, &a->deny);
	if (plan_show(&a->plan, &a->deny, a->systemctl) == -1)
		return HS_EXIT_USAGE;
	plan_order(&a->plan);
	plan_reexec(a);
	if (a->plan.cycle)
		warnx("the services depend on each other in a cycle: "
		      "it was cut at the first name");
	run_plan(a);
	if (a->json)
		printf("{\"mode\":\"%s\",\"units\":[", mode_names[a->mode]);
	print_groups(a);
	status = restart_status(a);
	print_summary(a, status);
	if (a->plan.stats.incomplete)
		warnx("not every process could be inspected: more may be "
		      "stale");
	if (fflush(stdout) == EOF || ferror(stdout))
		err(HS_EXIT_USAGE, "cannot write the output");
	return status;
}

static int
set_mode(struct restart_args *a, int mode)
{
	a->mode = mode;
	return ++a->modes;
}

static int
parse_args(struct restart_args *a, int argc, char **argv)
{
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", restart_longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'h': return usage(stdout) + 1;
		case OPT_CONFIG: a->config = optarg, a->config_given = 1; break;
		case OPT_INTERACTIVE: set_mode(a, MODE_INTERACTIVE); break;
		case OPT_JSON: a->json = 1; break;
		case OPT_LIST: set_mode(a, MODE_LIST); break;
		case OPT_REEXEC: a->reexec = 1; break;
		case OPT_SYSTEMCTL: a->systemctl = optarg; break;
		case OPT_VERSION: return version() + 1;
		case OPT_YES: set_mode(a, MODE_YES); break;
		default: return usage(stderr) + 1;
		}
	}
	if (a->modes > 1) {
		warnx("--list, --interactive and --yes exclude each other");
		return usage(stderr) + 1;
	}
	a->units = argv + optind;
	a->nunits = (size_t)(argc - optind);
	if (a->nunits == 0)
		a->units = NULL;
	return 0;
}

int
cmd_restart(int argc, char **argv)
{
	struct restart_args a;
	int status;

	memset(&a, 0, sizeof(a));
	a.config = RESTART_CONF;
	if ((status = parse_args(&a, argc, argv)) != 0)
		return status - 1;
	if (a.systemctl == NULL)
		a.systemctl = find_systemctl();
	if (a.mode == MODE_INTERACTIVE && !isatty(STDIN_FILENO)) {
		warnx("--interactive needs a terminal on standard input; "
		      "use --yes to restart without asking");
		return HS_EXIT_USAGE;
	}
	status = restart(&a);
	deny_free(&a.deny);
	plan_free(&a.plan);
	return status;
}

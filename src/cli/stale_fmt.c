/*
 * stale_fmt.c - hotswap stale's machine formats besides JSON: what the
 * processes found add up to (a tally by class), and the kernel verdict,
 * written as needrestart's batch lines (-b), a Nagios/Icinga plugin's
 * status line with performance data, or OpenMetrics text.
 *
 * Every name printed comes from /proc or /boot: units are validated by
 * the scanner, user names and command names go through vis_path(), and
 * OpenMetrics label values are escaped as the format asks (\\, \", \n)
 * after vis_path(), so that no line can be forged.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "cmd.h"

#define NCLASS (HS_CLASS_PID1 + 1)

static const char *const kernel_words[] = {
	[HS_KERNEL_UNKNOWN] = "unknown",
	[HS_KERNEL_CURRENT] = "current",
	[HS_KERNEL_ABI] = "abi",
	[HS_KERNEL_VERSION] = "version",
};

/* Add s to the set (*v)[0..*n) unless it is there; exits on ENOMEM. */
static void
set_add(char ***v, size_t *n, const char *s)
{
	char **nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL ||
	    (nv[*n] = strdup(s)) == NULL)
		err(HS_EXIT_USAGE, NULL);
	*v = nv;
	(*n)++;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Count p in its class; name its service, container or session. */
void
tally_add(struct tally *t, const struct hs_proc *p)
{
	char buf[512];
	int cls = p->cls >= 0 && p->cls < NCLASS ? p->cls : HS_CLASS_OTHER;

	t->procs++;
	t->cls[cls]++;
	if (cls == HS_CLASS_SERVICE) {
		set_add(&t->svc, &t->nsvc, vis_path(p->unit));
	} else if (cls == HS_CLASS_CONTAINER) {
		if (p->unit[0] != '\0')
			(void)snprintf(buf, sizeof(buf), "%s",
			    vis_path(p->unit));
		else
			(void)snprintf(buf, sizeof(buf), "%d (%s)", (int)p->pid,
			    vis_path(p->comm));
		set_add(&t->cont, &t->ncont, buf);
	} else if (cls == HS_CLASS_SESSION) {
		(void)snprintf(buf, sizeof(buf), "%s @ session #%.*s",
		    user_label(p->uid),
		    (int)(strlen(p->unit) - strlen("session-.scope")),
		    p->unit + strlen("session-"));
		set_add(&t->sess, &t->nsess, buf);
	} else if (cls == HS_CLASS_USER) {
		(void)snprintf(buf, sizeof(buf), "%s @ user manager service",
		    user_label(p->uid));
		set_add(&t->sess, &t->nsess, buf);
	}
}

void
tally_free(struct tally *t)
{
	size_t i;

	for (i = 0; i < t->nsvc; i++)
		free(t->svc[i]);
	for (i = 0; i < t->ncont; i++)
		free(t->cont[i]);
	for (i = 0; i < t->nsess; i++)
		free(t->sess[i]);
	free(t->svc);
	free(t->cont);
	free(t->sess);
	memset(t, 0, sizeof(*t));
}

static void
sort_set(char **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), str_cmp);
}

static void
sort_all(struct tally *t)
{
	sort_set(t->svc, t->nsvc);
	sort_set(t->cont, t->ncont);
	sort_set(t->sess, t->nsess);
}

const char *
kernel_word(int status)
{
	return status >= 0 && status <= HS_KERNEL_VERSION ?
	    kernel_words[status] :
	    "unknown";
}

/* The human verdict line, only when a reboot is needed. */
void
print_kernel_human(const struct hs_kernel *k)
{
	if (k->status == HS_KERNEL_VERSION)
		printf("kernel %s: reboot, %s is installed ('%s')\n",
		    vis_path(k->running), vis_path(k->expected),
		    vis_path(k->image));
	else if (k->status == HS_KERNEL_ABI)
		printf("kernel %s: reboot, it was rebuilt ('%s')\n",
		    vis_path(k->running), vis_path(k->image));
}

void
json_kernel(FILE *fp, const struct hs_kernel *k)
{
	fprintf(fp, "{\"status\":%d,\"verdict\":\"%s\",\"running\":", k->status,
	    kernel_word(k->status));
	json_string(fp, k->running);
	fputs(",\"expected\":", fp);
	if (k->expected[0] != '\0')
		json_string(fp, k->expected);
	else
		fputs("null", fp);
	fputs(",\"image\":", fp);
	if (k->image[0] != '\0')
		json_string(fp, k->image);
	else
		fputs("null", fp);
	fprintf(fp, ",\"images\":%lu}", k->images);
}

/*
 * needrestart's batch format (its README.batch.md): NEEDRESTART-VER (our
 * version), the kernel lines when the kernel was checked, then one line
 * per service unit, container and session.
 */
void
print_batch(struct tally *t, const struct hs_kernel *k)
{
	size_t i;

	sort_all(t);
	printf("NEEDRESTART-VER: %s\n", HOTSWAP_VERSION);
	if (k != NULL) {
		printf("NEEDRESTART-KCUR: %s\n", vis_path(k->running));
		if (k->expected[0] != '\0')
			printf("NEEDRESTART-KEXP: %s\n", vis_path(k->expected));
		printf("NEEDRESTART-KSTA: %d\n", k->status);
	}
	for (i = 0; i < t->nsvc; i++)
		printf("NEEDRESTART-SVC: %s\n", t->svc[i]);
	for (i = 0; i < t->ncont; i++)
		printf("NEEDRESTART-CONT: %s\n", t->cont[i]);
	for (i = 0; i < t->nsess; i++)
		printf("NEEDRESTART-SESS: %s\n", t->sess[i]);
}

static void
nagios_list(const char *title, char **v, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	printf("%s:\n", title);
	for (i = 0; i < n; i++)
		printf("- %s\n", v[i]);
}

static void
nagios_count(const char *label, size_t n, int state)
{
	if (n == 0)
		printf("%s: none", label);
	else
		printf("%s: %zu%s", label, n, state == 2 ? " (!!)" : " (!)");
}

/*
 * A Nagios plugin's output (Nagios plugin guidelines; the same line and
 * performance data as needrestart -p, and Processes): the worst of
 * WARNING for stale services, containers, init and processes of no
 * class, CRITICAL for sessions and user managers or a kernel to boot,
 * UNKNOWN when the scan failed; a scan that could not see every process
 * says so in the text (as non-root it never can).  Returns
 * the exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 */
int
print_nagios(struct tally *t, const struct hs_kernel *k,
    const struct hs_scan_stats *st, int failed)
{
	static const char *const word[] = { "OK", "WARN", "CRIT", "UNKN" };
	int state = 0, kperf = -1;

	sort_all(t);
	if (t->procs > t->cls[HS_CLASS_SESSION] + t->cls[HS_CLASS_USER])
		state = 1; /* services, containers, others, init */
	if (t->nsess > 0)
		state = 2;
	if (k != NULL && k->status >= HS_KERNEL_ABI) {
		state = 2;
		kperf = k->status == HS_KERNEL_VERSION ? 2 : 1;
	} else if (k != NULL && k->status == HS_KERNEL_CURRENT)
		kperf = 0;
	if (failed)
		state = 3;
	printf("%s - Kernel: %s", word[state],
	    k != NULL ? vis_path(k->running) : "unknown");
	if (k != NULL && k->status >= HS_KERNEL_ABI)
		printf("!=%s (!!)", vis_path(k->expected));
	fputs(", ", stdout);
	nagios_count("Services", t->nsvc, 1);
	fputs(", ", stdout);
	nagios_count("Containers", t->ncont, 1);
	fputs(", ", stdout);
	nagios_count("Sessions", t->nsess, 2);
	printf(", Processes: %lu", t->procs);
	if (st->incomplete)
		fputs(" (incomplete: not every process could be inspected)",
		    stdout);
	fputs("|", stdout);
	if (kperf >= 0)
		printf("Kernel=%d;0;;0;2 ", kperf);
	printf("Services=%zu;;0;0 Containers=%zu;;0;0 Sessions=%zu;0;;0 "
	       "Processes=%lu;;;0\n",
	    t->nsvc, t->ncont, t->nsess, t->procs);
	nagios_list("Services", t->svc, t->nsvc);
	nagios_list("Containers", t->cont, t->ncont);
	nagios_list("Sessions", t->sess, t->nsess);
	return state;
}

/* An OpenMetrics label value: vis_path()'d, then \\ \" \n escaped. */
static void
om_label(const char *s)
{
	const char *p;

	for (p = vis_path(s); *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			putchar('\\');
		putchar(*p);
	}
}

/* OpenMetrics text (the OpenMetrics 1.0 specification), ending # EOF. */
void
print_openmetrics(const struct tally *t, const struct hs_kernel *k,
    const struct hs_scan_stats *st)
{
	int c;

	puts("# TYPE hotswap_stale_processes gauge");
	puts("# HELP hotswap_stale_processes Processes that run replaced or "
	     "deleted files, by class.");
	for (c = 0; c < NCLASS; c++)
		printf("hotswap_stale_processes{class=\"%s\"} %lu\n",
		    hs_class_name(c), t->cls[c]);
	puts("# TYPE hotswap_scan_uninspectable_processes gauge");
	puts("# HELP hotswap_scan_uninspectable_processes Processes whose "
	     "maps could not be read.");
	printf("hotswap_scan_uninspectable_processes %lu\n", st->uninspectable);
	puts("# TYPE hotswap_scan_incomplete gauge");
	puts("# HELP hotswap_scan_incomplete 1 if some processes were not "
	     "seen.");
	printf("hotswap_scan_incomplete %d\n", st->incomplete ? 1 : 0);
	if (k != NULL) {
		puts("# TYPE hotswap_kernel_status gauge");
		puts("# HELP hotswap_kernel_status 0 unknown, 1 current, 2 ABI "
		     "upgrade, 3 version upgrade (needrestart's KSTA).");
		printf("hotswap_kernel_status %d\n", k->status);
		puts("# TYPE hotswap_kernel info");
		puts("# HELP hotswap_kernel The running and the newest "
		     "installed kernel.");
		fputs("hotswap_kernel_info{running=\"", stdout);
		om_label(k->running);
		fputs("\",expected=\"", stdout);
		om_label(k->expected);
		puts("\"} 1");
	}
	puts("# EOF");
}

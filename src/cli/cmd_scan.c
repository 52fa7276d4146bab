/*
 * cmd_scan.c - what hotswap who and hotswap stale share: the scanner
 * flags from the environment, user names, the words for how a file is
 * mapped, the JSON of a process, and the exit status of a walk.
 */
#include <err.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "cmd.h"

#define USER_CACHE 16

/*
 * HOTSWAP_SCAN, words separated by commas: "proc" keeps who off the BPF
 * iterator, "text" or "ioctl" forces one way of reading the maps (and
 * implies "proc"), "serial" keeps the walk on one CPU (the benchmark
 * shows each); other words are ignored.
 */
unsigned int
scan_flags_from_env(void)
{
	const char *v = getenv("HOTSWAP_SCAN"), *w;
	unsigned int flags = 0;
	size_t len;

	for (w = v; w != NULL && *w != '\0'; w += len + (w[len] == ',')) {
		len = strcspn(w, ",");
		if (len == 4 && strncmp(w, "text", 4) == 0)
			flags |= HS_SCAN_TEXT;
		else if (len == 5 && strncmp(w, "ioctl", 5) == 0)
			flags |= HS_SCAN_IOCTL;
		else if (len == 6 && strncmp(w, "serial", 6) == 0)
			flags |= HS_SCAN_SERIAL;
		else if (len == 4 && strncmp(w, "proc", 4) == 0)
			flags |= HS_SCAN_PROC;
	}
	return flags;
}

/* How the walk read the maps, for the JSON "method". */
const char *
scan_method(const struct hs_scan_stats *st, unsigned int flags)
{
	if (st->used_bpf)
		return "bpf_iter";
	if (!st->used_ioctl)
		return "text";
	return flags & HS_SCAN_IOCTL ? "procmap_query" : "text+procmap_query";
}

/*
 * The name of uid, or NULL.  A few names are kept: the processes of a
 * walk mostly belong to a few users, and each getpwuid(3) reads the
 * whole of /etc/passwd.
 */
const char *
user_name(uid_t uid)
{
	static struct {
		uid_t uid;
		char *name; /* NULL: no such user */
	} cache[USER_CACHE];
	static unsigned int used, next;
	struct passwd *pw;
	unsigned int i;

	if (uid == (uid_t)-1)
		return NULL;
	for (i = 0; i < used; i++)
		if (cache[i].uid == uid)
			return cache[i].name;
	pw = getpwuid(uid);
	i = used < USER_CACHE ? used++ : next++ % USER_CACHE;
	free(cache[i].name);
	cache[i].uid = uid;
	cache[i].name = pw != NULL ? strdup(pw->pw_name) : NULL;
	return cache[i].name;
}

/*
 * The user for a human line: the name, else the number, else "?".  The
 * name comes from NSS (an LDAP directory, say) and is escaped like every
 * other name printed for a person; the result is vis_path()'s.
 */
const char *
user_label(uid_t uid)
{
	static char num[24];
	const char *name = user_name(uid);

	if (name != NULL)
		return vis_path(name);
	if (uid == (uid_t)-1)
		return "?";
	(void)snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
	return num;
}

/* clang-format off */
static const struct {
	unsigned int	 bit;
	const char	*json;
	const char	*human;
} kinds[] = {
	{ HS_MAP_EXE,		"exe",		"running executable" },
	{ HS_MAP_CODE,		"code",		"code" },
	{ HS_MAP_RODATA,	"rodata",	"read-only data" },
	{ HS_MAP_WRSHARED,	"wrshared",	"writable shared" },
	{ HS_MAP_WRPRIVATE,	"wrprivate",	"writable private" },
	{ HS_MAP_NOACCESS,	"noaccess",	"no access" },
	{ HS_MAP_FD,		"fd",		"open descriptor" },
	{ HS_MAP_SCRIPT,	"script",	"interpreter's script" },
};
/* clang-format on */

/* "code, read-only data" */
void
print_kinds(FILE *fp, unsigned int kind)
{
	const char *sep = "";
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kind & kinds[i].bit) {
			fprintf(fp, "%s%s", sep, kinds[i].human);
			sep = ", ";
		}
}

/* ["code","rodata"] */
void
json_kinds(FILE *fp, unsigned int kind)
{
	const char *sep = "";
	size_t i;

	putc('[', fp);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kind & kinds[i].bit) {
			fprintf(fp, "%s\"%s\"", sep, kinds[i].json);
			sep = ",";
		}
	putc(']', fp);
}

/* The members of a process object, without the braces. */
void
json_proc(FILE *fp, const struct hs_proc *p)
{
	const char *name = user_name(p->uid);

	fprintf(fp, "\"pid\":%d,\"uid\":", (int)p->pid);
	if (p->uid == (uid_t)-1)
		fputs("null", fp);
	else
		fprintf(fp, "%lu", (unsigned long)p->uid);
	fputs(",\"user\":", fp);
	if (name != NULL)
		json_string(fp, name);
	else
		fputs("null", fp);
	fputs(",\"comm\":", fp);
	json_string(fp, p->comm);
	fprintf(fp, ",\"start_time\":%llu,\"unit\":",
	    (unsigned long long)p->start_time);
	if (p->unit[0] != '\0')
		json_string(fp, p->unit);
	else
		fputs("null", fp);
	fprintf(fp, ",\"other_mntns\":%s",
	    p->other_mntns == 1	    ? "true" :
		p->other_mntns == 0 ? "false" :
				      "null");
}

/* The counters that end a JSON document, without the closing brace. */
void
json_stats(FILE *fp, const struct hs_scan_stats *st, unsigned int flags)
{
	fprintf(fp,
	    "\"inspected\":%lu,\"uninspectable\":%lu,"
	    "\"vanished\":%lu,\"incomplete\":%s,\"method\":\"%s\"",
	    st->inspected, st->uninspectable, st->vanished,
	    st->incomplete ? "true" : "false", scan_method(st, flags));
}

/*
 * Warn that the walk did not see everything (unless quiet) and turn
 * what was found into the exit status, as fuser(1) does: 0 found, 1
 * none among the processes inspected.  The warning (and "incomplete"
 * in JSON) is what tells a 1 from a certain "none".
 */
int
scan_status(const struct hs_scan_stats *st, unsigned long found, int quiet)
{
	if (st->incomplete && !quiet) {
		if (st->uninspectable > 0)
			warnx("%lu process%s could not be inspected",
			    st->uninspectable,
			    st->uninspectable == 1 ? "" : "es");
		else
			warnx(
			    "some processes are hidden from us (/proc "
			    "mounted with hidepid) and could not be inspected");
	}
	return found > 0 ? HS_EXIT_OK : HS_EXIT_FAIL;
}

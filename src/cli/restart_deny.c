/*
 * restart_deny.c - the units hotswap restart never restarts: the built-in
 * list, each entry with its reason, and the configuration file that
 * extends it (/etc/hotswap/restart.conf, see hotswap(1)).
 *
 * The file decides what root restarts, so it is trusted only when root
 * alone can have written it: a symbolic link, a file that is not regular,
 * not owned by root or writable by group or others, or a directory of it
 * that is, is refused (and with it the whole run, rather than restarting
 * what the file meant to protect).  It is opened once, beneath its
 * directory, without following a link, and judged by that descriptor.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "restart.h"

#define CONF_MAX     (256 * 1024) /* a deny list is a few lines */
#define LINE_MAX_LEN 1024

/* clang-format off */
static const struct {
	const char *pattern;
	const char *reason;
} builtin[] = {
	{ "dbus.service", "the system message bus: every client loses its "
	    "connection; reboot instead" },
	{ "dbus-broker.service", "the system message bus: every client "
	    "loses its connection; reboot instead" },
	{ "systemd-logind.service", "the login manager: a restart can end "
	    "or lock the sessions it tracks" },
	{ "getty@*.service", "a login prompt: a restart ends the session "
	    "logged in on its terminal" },
	{ "serial-getty@*.service", "a login prompt: a restart ends the "
	    "session logged in on its terminal" },
	{ "console-getty.service", "a login prompt: a restart ends the "
	    "session logged in on its terminal" },
	{ "container-getty@*.service", "a login prompt: a restart ends the "
	    "session logged in on its terminal" },
	{ "user@*.service", "a user's service manager: a restart ends the "
	    "user's services; the user logs out and in again" },
	{ "user-runtime-dir@*.service", "a user's runtime directory: a "
	    "restart removes it under the running session" },
	{ "display-manager.service", "a display manager: a restart ends "
	    "every graphical session" },
	{ "gdm.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "gdm3.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "sddm.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "lightdm.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "lxdm.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "xdm.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "slim.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "nodm.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "greetd.service", "a display manager: a restart ends every "
	    "graphical session" },
	{ "NetworkManager.service", "networking: a restart can cut the "
	    "connection this command came in on" },
	{ "systemd-networkd.service", "networking: a restart can cut the "
	    "connection this command came in on" },
	{ "networking.service", "networking: a restart can cut the "
	    "connection this command came in on" },
	{ "wpa_supplicant.service", "networking: a restart can cut the "
	    "connection this command came in on" },
	{ "wpa_supplicant@*.service", "networking: a restart can cut the "
	    "connection this command came in on" },
	{ "ifup@*.service", "networking: a restart can cut the connection "
	    "this command came in on" },
	{ "dhcpcd.service", "networking: a restart can cut the connection "
	    "this command came in on" },
	{ "connman.service", "networking: a restart can cut the connection "
	    "this command came in on" },
	{ "iwd.service", "networking: a restart can cut the connection "
	    "this command came in on" },
	{ "openvpn.service", "a VPN: a restart can cut the connection this "
	    "command came in on" },
	{ "openvpn@*.service", "a VPN: a restart can cut the connection "
	    "this command came in on" },
	{ "openvpn-client@*.service", "a VPN: a restart can cut the "
	    "connection this command came in on" },
	{ "openvpn-server@*.service", "a VPN: a restart can cut the "
	    "connection this command came in on" },
	{ "wg-quick@*.service", "a VPN: a restart can cut the connection "
	    "this command came in on" },
	{ "strongswan*.service", "a VPN: a restart can cut the connection "
	    "this command came in on" },
	{ "ipsec.service", "a VPN: a restart can cut the connection this "
	    "command came in on" },
	{ "tailscaled.service", "a VPN: a restart can cut the connection "
	    "this command came in on" },
	{ "lxcfs.service", "containers read /proc through it: a restart "
	    "breaks their view until they restart" },
	{ "docker.service", "a container engine: a restart stops or "
	    "disconnects its containers" },
	{ "containerd.service", "a container engine: a restart stops or "
	    "disconnects its containers" },
	{ "libvirtd.service", "the virtual machine manager: restart it by "
	    "hand when no operation is in flight" },
};
/* clang-format on */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		err(HS_EXIT_USAGE, NULL);
	return d;
}

int
deny_add(struct denylist *d, const char *pattern, const char *reason,
    const char *origin)
{
	struct deny *nv;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		if ((nv = reallocarray(d->v, d->cap, sizeof(*nv))) == NULL)
			err(HS_EXIT_USAGE, NULL);
		d->v = nv;
	}
	d->v[d->n].pattern = xstrdup(pattern);
	d->v[d->n].reason = xstrdup(reason);
	d->v[d->n].origin = xstrdup(origin);
	d->n++;
	return 0;
}

int
deny_builtin(struct denylist *d)
{
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		(void)deny_add(d, builtin[i].pattern, builtin[i].reason,
		    "built in");
	return 0;
}

void
deny_free(struct denylist *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].pattern);
		free(d->v[i].reason);
		free(d->v[i].origin);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

const struct deny *
deny_match(const struct denylist *d, const char *unit)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (fnmatch(d->v[i].pattern, unit, 0) == 0)
			return &d->v[i];
	return NULL;
}

/* A character of a unit name (systemd's) or of a glob over them. */
static int
pattern_char(char c)
{
	return isascii((unsigned char)c) &&
	    (isalnum((unsigned char)c) || strchr(":-_.\\@*?[]!", c) != NULL);
}

/*
 * The pattern of a word of the file, completed as deny_parse() says, in
 * out[len]; -1 (with why) if it is not one.
 */
static int
complete_pattern(const char *w, size_t wlen, char *out, size_t len, char *why,
    size_t whylen)
{
	const char *suffix = "";
	size_t i;

	if (wlen == 0 || w[0] == '-' || w[0] == '.') {
		(void)snprintf(why, whylen, "'%.*s' is not a unit name",
		    (int)(wlen > 64 ? 64 : wlen), w);
		return -1;
	}
	for (i = 0; i < wlen; i++)
		if (!pattern_char(w[i])) {
			(void)snprintf(why, whylen,
			    "a unit name has no character %#x", w[i] & 0xff);
			return -1;
		}
	if (w[wlen - 1] == '@')
		suffix = "*.service";
	else if (memchr(w, '.', wlen) == NULL)
		suffix = ".service";
	if (wlen + strlen(suffix) >= len || wlen + strlen(suffix) > 255) {
		(void)snprintf(why, whylen, "a unit name is at most 255 bytes");
		return -1;
	}
	memcpy(out, w, wlen);
	(void)strcpy(out + wlen, suffix);
	return 0;
}

/* One line, without its newline: an entry, a comment or nothing. */
static int
parse_line(struct denylist *d, const char *s, size_t n, const char *origin,
    char *why, size_t whylen)
{
	char pattern[256], *reason;
	size_t w, r, end, i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' ||
		    (iscntrl((unsigned char)s[i]) && s[i] != '\t')) {
			(void)snprintf(why, whylen, "a control character");
			return -1;
		}
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || *s == '#')
		return 0;
	for (w = 0; w < n && s[w] != ' ' && s[w] != '\t'; w++)
		;
	if (complete_pattern(s, w, pattern, sizeof(pattern), why, whylen) == -1)
		return -1;
	for (r = w; r < n && (s[r] == ' ' || s[r] == '\t'); r++)
		;
	if (r == n) {
		(void)snprintf(why, whylen, "'%.200s' has no reason", pattern);
		return -1;
	}
	end = n - r;
	if ((reason = strndup(s + r, end)) == NULL)
		err(HS_EXIT_USAGE, NULL);
	(void)deny_add(d, pattern, reason, origin);
	free(reason);
	return 0;
}

int
deny_parse(struct denylist *d, const char *text, size_t len, const char *origin,
    char *why, size_t whylen)
{
	char where[PATH_MAX + 32], msg[256];
	const char *s = text, *nl, *end = text + len;
	unsigned long line = 0;

	while (s < end) {
		line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		(void)snprintf(where, sizeof(where), "%s:%lu", origin, line);
		msg[0] = '\0';
		if ((size_t)(nl - s) > LINE_MAX_LEN)
			(void)snprintf(msg, sizeof(msg),
			    "a line is at most %d bytes", LINE_MAX_LEN);
		else
			(void)parse_line(d, s, (size_t)(nl - s), where, msg,
			    sizeof(msg));
		if (msg[0] != '\0') {
			(void)snprintf(why, whylen, "line %lu: %s", line, msg);
			return -1;
		}
		s = nl + 1;
	}
	return 0;
}

/* The directory part of path ("." if none), in dir[len]. */
static void
dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		(void)snprintf(dir, len, ".");
	else if (slash == path)
		(void)snprintf(dir, len, "/");
	else
		(void)snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Owned by root and writable by no one else. */
static const char *
hostile(const struct stat *st)
{
	if (st->st_uid != 0)
		return "not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	return NULL;
}

/*
 * Open path beneath its directory, judged as deny_load() says: 0 with
 * *fd open, 0 with *fd -1 if there is no such file, -1 (why set).
 */
static int
open_conf(const char *path, int *fd, char *why, size_t whylen)
{
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/'), *bad;
	struct stat st;
	int dfd, ret = -1;

	*fd = -1;
	base = base ? base + 1 : path;
	dir_of(path, dir, sizeof(dir));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(dfd, &st) == -1)
		(void)snprintf(why, whylen, "%s", strerror(errno));
	else if ((bad = hostile(&st)) != NULL)
		(void)snprintf(why, whylen, "its directory is %s", bad);
	else if ((*fd = openat(dfd, base,
		      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
			  O_CLOEXEC)) != -1 ||
	    errno == ENOENT)
		ret = 0;
	else if (errno == ELOOP)
		(void)snprintf(why, whylen, "a symbolic link");
	else
		(void)snprintf(why, whylen, "%s", strerror(errno));
	(void)close(dfd);
	return ret;
}

/* Read all of fd (at most CONF_MAX bytes) into *text. */
static int
read_conf(int fd, char **text, size_t *len, char *why, size_t whylen)
{
	size_t cap = CONF_MAX + 1;
	ssize_t r;

	if ((*text = malloc(cap)) == NULL)
		err(HS_EXIT_USAGE, NULL);
	*len = 0;
	do {
		r = read(fd, *text + *len, cap - *len);
		if (r > 0)
			*len += (size_t)r;
	} while ((r > 0 && *len < cap) || (r == -1 && errno == EINTR));
	if (r == -1) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (*len > CONF_MAX) {
		(void)snprintf(why, whylen, "larger than %d KiB",
		    CONF_MAX / 1024);
		return -1;
	}
	return 0;
}

int
deny_load(struct denylist *d, const char *path, int missing_ok, char *why,
    size_t whylen)
{
	struct stat st;
	const char *bad;
	char *text = NULL;
	size_t len;
	int fd, ret = -1;

	if (open_conf(path, &fd, why, whylen) == -1)
		return -1;
	if (fd == -1) {
		if (!missing_ok)
			(void)snprintf(why, whylen, "%s", strerror(ENOENT));
		return missing_ok ? 0 : -1;
	}
	if (fstat(fd, &st) == -1) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(why, whylen, "not a regular file");
		goto out;
	}
	if ((bad = hostile(&st)) != NULL) {
		(void)snprintf(why, whylen, "%s", bad);
		goto out;
	}
	if (read_conf(fd, &text, &len, why, whylen) == 0)
		ret = deny_parse(d, text, len, path, why, whylen);
out:
	free(text);
	(void)close(fd);
	return ret;
}

/* The unit of one cgroup path: the first component that is no slice. */
static int
path_unit(const char *p, size_t n, char *unit, size_t len)
{
	const char *end = p + n, *c, *slash;
	size_t cl;

	for (c = p; c < end; c = slash + 1) {
		if ((slash = memchr(c, '/', (size_t)(end - c))) == NULL)
			slash = end;
		cl = (size_t)(slash - c);
		if (cl == 0)
			continue;
		if (cl > 6 && memcmp(slash - 6, ".slice", 6) == 0)
			continue;
		if (cl >= len || memchr(c, '.', cl) == NULL ||
		    (cl == 2 && memcmp(c, "..", 2) == 0))
			return -1;
		memcpy(unit, c, cl);
		unit[cl] = '\0';
		return 0;
	}
	return -1;
}

/* The path of the line of text that starts with prefix, or NULL. */
static const char *
cgroup_line(const char *text, const char *prefix, size_t *n)
{
	const char *line, *nl, *p;

	for (line = text; *line != '\0'; line = *nl ? nl + 1 : nl) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		p = prefix[0] == '0' ?
		    (strncmp(line, prefix, 3) == 0 ? line : NULL) :
		    strstr(line, prefix);
		if (p != NULL && p < nl) {
			p += strlen(prefix);
			*n = (size_t)(nl - p);
			return p;
		}
	}
	return NULL;
}

/*
 * The unified hierarchy's line ("0::") names the unit where systemd runs
 * with it; under the legacy hierarchy that line is "/" and the
 * name=systemd one does.
 */
int
cgroup_unit(const char *text, char *unit, size_t len)
{
	const char *p;
	size_t n;

	if ((p = cgroup_line(text, "0::", &n)) != NULL &&
	    path_unit(p, n, unit, len) == 0)
		return 0;
	if ((p = cgroup_line(text, ":name=systemd:", &n)) != NULL &&
	    path_unit(p, n, unit, len) == 0)
		return 0;
	return -1;
}

/*
 * restart_run.c - run systemctl for hotswap restart.
 *
 * Only ever the one program at a fixed path (never looked up in PATH,
 * never through a shell), with the arguments as given and an environment
 * of our own: hotswap restart runs as root, and nothing the caller's
 * environment says (SYSTEMD_*, DBUS_*, LD_*, a PATH) reaches it.  Unit
 * names come after "--", so none can be taken for an option.
 */
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "restart.h"

#define OUT_MAX (16 * 1024 * 1024)

static const char *const clean_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	"SYSTEMD_PAGER=",
	"SYSTEMD_COLORS=0",
	NULL,
};

/* In the child: stdin /dev/null, stdout the pipe (if any), then exec. */
static void
child(const char *systemctl, const char *const *args, int out)
{
	int null;

	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    dup2(null, 0) == -1 || (out != -1 && dup2(out, 1) == -1))
		_exit(127);
	(void)signal(SIGPIPE, SIG_DFL);
	execve(systemctl, (char *const *)(uintptr_t)args,
	    (char *const *)(uintptr_t)clean_env);
	_exit(127);
}

/* Read all of fd into *out; -1 (errno) on a read error or ENOMEM. */
static int
collect(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf, *nb;
	ssize_t r;

	if ((buf = malloc(cap)) == NULL)
		return -1;
	for (;;) {
		if (cap - len < 2) {
			if (cap >= OUT_MAX ||
			    (nb = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				errno = cap >= OUT_MAX ? EFBIG : ENOMEM;
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (r == -1) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

int
systemctl_run(const char *systemctl, const char *const *args, char **out)
{
	int p[2] = { -1, -1 }, status, rc = 0, serrno;
	pid_t pid;

	if (out != NULL) {
		*out = NULL;
		if (pipe2(p, O_CLOEXEC) == -1)
			return -1;
	}
	if ((pid = fork()) == -1) {
		serrno = errno;
		if (p[0] != -1)
			(void)close(p[0]), (void)close(p[1]);
		errno = serrno;
		return -1;
	}
	if (pid == 0)
		child(systemctl, args, p[1]);
	if (p[1] != -1) {
		(void)close(p[1]);
		rc = collect(p[0], out);
		serrno = errno;
		(void)close(p[0]);
		errno = serrno;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (rc == -1) {
		free(*out);
		*out = NULL;
		return -1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

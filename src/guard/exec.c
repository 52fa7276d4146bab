/*
 * exec.c - the exec calls, interposed for --fix alone.
 *
 * A successful exec closes every descriptor with FD_CLOEXEC in the
 * kernel, where no interposer sees it; a temporary of --fix held that
 * way by its last holder would never be committed.  Each exec therefore
 * asks fix_exec_carry() for lockless copies of those temporaries that
 * survive the exec, and passes them to the new image in its
 * environment, whose fix_init() closes them at once (fix.c).  If the
 * exec fails, the copies are closed and nothing else has changed.
 *
 * glibc's exec functions call each other through internal symbols, so
 * each is interposed: execve, execveat, fexecve, execvpe, and the ones
 * that take the environment from environ (execv, execvp; never by
 * pointing environ elsewhere, which other threads may be reading) or
 * build argv from their arguments (execl, execle, execlp).  Every other
 * program passes through after one test.  Async-signal-safe, as exec
 * is after fork: the new environment array is mmap'ed, never malloc'ed.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"

#define CARRY_MAX FIX_MAX /* one copy for each temporary */
#define ARGS_MAX  65536	  /* arguments execl and friends take */

extern char **environ;

struct carry {
	int fds[CARRY_MAX];
	int n;
	char entry[sizeof(GUARD_ENV_CARRIED) + 16 + CARRY_MAX * 56];
	char **env; /* mmap'ed, or NULL */
	size_t envsz;
};

/*
 * The environment to exec with: envp, or, when descriptors are carried,
 * a copy of it with our entry in place of any old one.
 */
static char *const *
carry_begin(struct carry *c, char *const envp[])
{
	size_t n = 0, i, keylen = strlen(GUARD_ENV_CARRIED) + 1;
	int serrno = errno;

	c->n = 0;
	c->env = NULL;
	if (guard_mode != GUARD_FIX || guard_busy || !fix_any())
		return envp;
	if ((c->n = fix_exec_carry(c->fds, CARRY_MAX, c->entry,
		 sizeof(c->entry))) == 0)
		return envp;
	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		;
	c->envsz = (i + 2) * sizeof(char *);
	c->env = mmap(NULL, c->envsz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->env == MAP_FAILED) {
		c->env = NULL;
		fix_exec_drop(c->fds, c->n);
		c->n = 0;
		errno = serrno;
		return envp; /* as if unguarded */
	}
	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], c->entry, keylen) != 0)
			c->env[n++] = envp[i];
	c->env[n++] = c->entry;
	c->env[n] = NULL;
	errno = serrno;
	return c->env;
}

/* The exec failed: nothing was carried. */
static void
carry_end(struct carry *c)
{
	int serrno = errno;

	if (c->n > 0)
		fix_exec_drop(c->fds, c->n);
	if (c->env != NULL)
		(void)munmap(c->env, c->envsz);
	errno = serrno;
}

GUARD_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	struct carry c;
	char *const *env = carry_begin(&c, envp);
	int r;

	r = guard_real.execve != NULL ?
	    REAL(execve)(path, argv, env) :
	    (int)syscall(SYS_execve, path, argv, env);
	carry_end(&c);
	return r;
}

GUARD_EXPORT int
execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
    int flags)
{
	struct carry c;
	char *const *env = carry_begin(&c, envp);
	int r;

	r = guard_real.execveat != NULL ?
	    REAL(execveat)(dirfd, path, argv, env, flags) :
	    (int)syscall(SYS_execveat, dirfd, path, argv, env, flags);
	carry_end(&c);
	return r;
}

GUARD_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	struct carry c;
	char *const *env = carry_begin(&c, envp);
	int r = REAL(fexecve)(fd, argv, env);

	carry_end(&c);
	return r;
}

GUARD_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct carry c;
	char *const *env = carry_begin(&c, envp);
	int r = REAL(execvpe)(file, argv, env);

	carry_end(&c);
	return r;
}

/* execv and execvp take environ: the calls above, with it. */
GUARD_EXPORT int
execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

GUARD_EXPORT int
execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/*
 * execl, execle, execlp: the arguments up to the NULL (and for execle
 * the environment after it) into an array on the stack, as glibc does,
 * then the calls above.  how: 'v' execv, 'p' execvp, 'e' execve.
 */
static int
exec_list(int how, const char *path, const char *arg, va_list ap)
{
	va_list count;
	size_t n = 1, i;

	va_copy(count, ap);
	while (va_arg(count, const char *) != NULL)
		if (++n == ARGS_MAX) {
			va_end(count);
			errno = E2BIG;
			return -1;
		}
	va_end(count);
	{
		char *argv[n + 1];

		argv[0] = (char *)(uintptr_t)arg;
		for (i = 1; i <= n; i++) /* argv[n]: the NULL */
			argv[i] = va_arg(ap, char *);
		if (how == 'e')
			return execve(path, argv, va_arg(ap, char *const *));
		return how == 'p' ? execvp(path, argv) : execv(path, argv);
	}
}

/* clang-format off */
#define EXEC_LIST(name, how)						\
GUARD_EXPORT int							\
name(const char *path, const char *arg, ...)				\
{									\
	va_list ap;							\
	int r;								\
									\
	va_start(ap, arg);						\
	r = exec_list(how, path, arg, ap);				\
	va_end(ap);							\
	return r;							\
}
/* clang-format on */

EXEC_LIST(execl, 'v')
EXEC_LIST(execlp, 'p')
EXEC_LIST(execle, 'e')

/*
 * service.c - the long-running program of the demo: it really uses a
 * shared library, all the time.
 *
 *	service LIB
 *
 * dlopen()s LIB, looks up demo_version() and calls it about every
 * millisecond until SIGTERM (exit 0).  It talks on stdout, which run.sh
 * makes a FIFO; every line is flushed at once, and the lines are the only
 * synchronisation run.sh needs:
 *
 *	ready LIBV EXEV OFFSET	after the first call: the library's version,
 *				this program's version, and the file offset
 *				(hex) of the code it keeps calling
 *	alive LIBV EXEV		on SIGUSR1, LIBV being what the library's
 *				code answers at that moment
 *	paused			on SIGUSR2: no more calls until the next
 *	resumed			SIGUSR2, which answers "resumed" and calls
 *
 * The pause lets run.sh change the library at a moment when it knows the
 * service is not calling it: the service then meets only the finished
 * result, never the instant cp(1) has truncated the file to 0 bytes.
 *
 * If the library is changed under it and the next call faults (SIGBUS,
 * SIGSEGV, SIGILL), a handler writes to stderr the faulting address, the
 * line of /proc/self/maps it falls in, the file offset and the file's
 * size now; then the process dies of that same signal, so that its exit
 * status still says which.  The handler uses only async-signal-safe
 * calls (open, read, stat, write).
 *
 * The executable carries 4 MiB of ballast, so that a reader of its path
 * has a visible window while install(1) rewrites it.  service_v2.c
 * builds version 2 of this program from this file.
 *
 * Exit status: 0 on SIGTERM, 1 if LIB cannot be used, 2 on usage.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SERVICE_VERSION
#define SERVICE_VERSION 1
#endif

#define STR_(x) #x
#define STR(x)	STR_(x)

/* 4 MiB of ballast in the file, a different byte in each version. */
__asm__(".section .rodata.ballast, \"a\"\n\t"
	".fill 4194304, 1, 0x5" STR(SERVICE_VERSION) "\n\t"
						     ".previous\n");

static volatile sig_atomic_t got_usr1, got_usr2, got_term;

/* ---- the fault handler: async-signal-safe code only ----------------- */

/* A fixed buffer that the handler fills, then writes out once. */
struct sbuf {
	char b[2048];
	size_t n;
};

static void
sb_str(struct sbuf *s, const char *str)
{
	while (*str != '\0' && s->n < sizeof(s->b))
		s->b[s->n++] = *str++;
}

/* Append a maps line with its runs of blanks squeezed to one. */
static void
sb_squeezed(struct sbuf *s, const char *str)
{
	for (; *str != '\0' && s->n < sizeof(s->b); str++)
		if (*str != ' ' || s->n == 0 || s->b[s->n - 1] != ' ')
			s->b[s->n++] = *str;
}

static void
sb_num(struct sbuf *s, uintmax_t v, unsigned base)
{
	char d[32];
	int i = 0;

	do {
		d[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	if (base == 16)
		sb_str(s, "0x");
	while (i > 0 && s->n < sizeof(s->b))
		s->b[s->n++] = d[--i];
}

/* Parse the hex number at *p, moving *p past it. */
static uintmax_t
hex(const char **p)
{
	uintmax_t v = 0;
	char c;

	for (; (c = **p) != '\0'; (*p)++) {
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintmax_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintmax_t)(c - 'a' + 10);
		else
			break;
	}
	return v;
}

/* Skip n blank-separated fields. */
static const char *
skip_fields(const char *p, int n)
{
	while (n-- > 0) {
		while (*p != '\0' && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return p;
}

/* Does the maps line "LO-HI ..." hold addr? */
static int
in_range(const char *line, uintptr_t addr)
{
	const char *p = line;
	uintmax_t lo, hi;

	lo = hex(&p);
	if (*p++ != '-')
		return 0;
	hi = hex(&p);
	return addr >= lo && addr < hi;
}

/*
 * Find the line of /proc/self/maps whose range holds addr; copy it to
 * line (NUL-terminated, without the newline).  0 found, -1 not.
 */
static int
maps_line(uintptr_t addr, char *line, size_t cap)
{
	char buf[4096];
	size_t len = 0;
	ssize_t n, i;
	int fd, found = -1;

	if ((fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (found == -1 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n && found == -1; i++) {
			if (buf[i] != '\n') {
				if (len < cap - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			len = 0;
			if (in_range(line, addr))
				found = 0;
		}
	}
	(void)close(fd);
	return found;
}

static const char *
fault_name(int sig, int code)
{
	if (sig == SIGBUS)
		return code == BUS_ADRERR ? "SIGBUS (BUS_ADRERR: no such "
					    "page in the file)" :
					    "SIGBUS";
	if (sig == SIGILL)
		return code == ILL_ILLOPN || code == ILL_ILLOPC ?
		    "SIGILL (illegal instruction)" :
		    "SIGILL";
	return code == SEGV_MAPERR ? "SIGSEGV (SEGV_MAPERR)" :
	    code == SEGV_ACCERR	   ? "SIGSEGV (SEGV_ACCERR)" :
				     "SIGSEGV";
}

/* The mapping's file: its offset of addr, and its size now. */
static void
describe_file(struct sbuf *s, const char *line, uintptr_t addr)
{
	const char *p = line, *path;
	uintmax_t lo = hex(&p), off;
	struct stat st;

	p = skip_fields(line, 2);
	off = hex(&p);
	path = skip_fields(line, 5);
	sb_str(s, "service: that is offset ");
	sb_num(s, addr - lo + off, 16);
	sb_str(s, " in the file");
	if (*path == '/' && stat(path, &st) == 0) {
		sb_str(s, ", which is now ");
		sb_num(s, (uintmax_t)st.st_size, 10);
		sb_str(s, " bytes long");
	}
	sb_str(s, "\n");
}

static void
on_fault(int sig, siginfo_t *si, void *uc)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	struct sbuf s = { .n = 0 };
	char line[1024];

	(void)uc;
	sb_str(&s, "service: pid ");
	sb_num(&s, (uintmax_t)getpid(), 10);
	sb_str(&s, " got ");
	sb_str(&s, fault_name(sig, si->si_code));
	sb_str(&s, " at ");
	sb_num(&s, addr, 16);
	sb_str(&s, "\n");
	if (maps_line(addr, line, sizeof(line)) == 0) {
		sb_str(&s, "service: maps: ");
		sb_squeezed(&s, line);
		sb_str(&s, "\n");
		describe_file(&s, line, addr);
	} else
		sb_str(&s, "service: no mapping holds that address\n");
	(void)!write(STDERR_FILENO, s.b, s.n);
	/* SA_RESETHAND made the action the default: this kills us. */
	(void)raise(sig);
}

/* ---- the service ---------------------------------------------------- */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_term = 1;
}

static void
catch_signals(void)
{
	static const int faults[] = { SIGBUS, SIGSEGV, SIGILL };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	(void)sigaction(SIGUSR1, &sa, NULL);
	(void)sigaction(SIGUSR2, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		(void)sigaction(faults[i], &sa, NULL);
}

static void
say(const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
}

/* The file offset of the code at addr, from /proc/self/maps. */
static uintmax_t
file_offset(uintptr_t addr)
{
	char line[1024];
	const char *p = line;
	uintmax_t lo, off;

	if (maps_line(addr, line, sizeof(line)) == -1)
		return 0;
	lo = hex(&p);
	p = skip_fields(line, 2);
	off = hex(&p);
	return addr - lo + off;
}

int
main(int argc, char *argv[])
{
	struct timespec ms = { 0, 1000000 };
	const struct rlimit nocore = { 0, 0 };
	int (*version)(void);
	int paused = 0;
	void *lib;

	if (argc != 2) {
		fprintf(stderr, "usage: service LIB\n");
		return 2;
	}
	/* The crashes are the point: no core dumps to slow them down. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	catch_signals();
	if ((lib = dlopen(argv[1], RTLD_NOW)) == NULL ||
	    (*(void **)&version = dlsym(lib, "demo_version")) == NULL) {
		fprintf(stderr, "service: %s\n", dlerror());
		return 1;
	}
	printf("ready %d %d %#jx\n", version(), SERVICE_VERSION,
	    file_offset((uintptr_t)dlsym(lib, "demo_version")));
	fflush(stdout);
	while (!got_term) {
		if (got_usr2) {
			got_usr2 = 0;
			paused = !paused;
			say(paused ? "paused" : "resumed");
		}
		if (got_usr1) {
			got_usr1 = 0;
			printf("alive %d %d\n", version(), SERVICE_VERSION);
			fflush(stdout);
		}
		if (!paused)
			(void)version();
		(void)nanosleep(&ms, NULL);
	}
	return 0;
}

/*
 * alloc.c - the guard's own memory: malloc, calloc, realloc, reallocarray
 * and free of the code linked into libhotswap-guard.so, made
 * async-signal-safe.
 *
 * open(2) and truncate(2) are async-signal-safe, and a program may call
 * them from a signal handler.  The guard's answer for a file in use
 * allocates (the BPF iterator's output, the BTF index, the set of mapped
 * files): with the C library's malloc, a handler that interrupted malloc
 * in the same thread would wait for malloc's own lock forever.  So the
 * library is linked with --wrap for these five names (Makefile), and
 * every allocation of its code is a mapping of its own: mmap, mremap and
 * munmap are system calls, which take no lock a handler could find
 * held.  A page or more per allocation, and a system call each; the
 * guard allocates a few dozen times per answer, where the walk itself
 * takes milliseconds.  The C library's allocations (opendir, stdio)
 * stay its own: nothing allocated here is freed there, nor the reverse.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guard.h"

/* Before the block: the size of its mapping, header included. */
#define HEAD 16

static void *
map(size_t n)
{
	size_t len;
	char *p;

	if (n > SIZE_MAX - HEAD - 4096) {
		errno = ENOMEM;
		return NULL;
	}
	len = n + HEAD;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return NULL; /* errno ENOMEM */
	memcpy(p, &len, sizeof(len));
	return p + HEAD;
}

static size_t
mapped_len(void *q)
{
	size_t len;

	memcpy(&len, (char *)q - HEAD, sizeof(len));
	return len;
}

void *__wrap_malloc(size_t);
void *__wrap_calloc(size_t, size_t);
void *__wrap_realloc(void *, size_t);
void *__wrap_reallocarray(void *, size_t, size_t);
void __wrap_free(void *);

void *
__wrap_malloc(size_t n)
{
	return map(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return map(n * size); /* anonymous memory is zeroed */
}

void *
__wrap_realloc(void *q, size_t n)
{
	size_t len;
	char *p;

	if (q == NULL)
		return map(n);
	if (n > SIZE_MAX - HEAD - 4096) {
		errno = ENOMEM;
		return NULL;
	}
	len = mapped_len(q);
	if (n + HEAD <= len)
		return q;
	p = mremap((char *)q - HEAD, len, n + HEAD, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return NULL; /* q is untouched */
	len = n + HEAD;
	memcpy(p, &len, sizeof(len));
	return p + HEAD;
}

void *
__wrap_reallocarray(void *q, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return __wrap_realloc(q, n * size);
}

void
__wrap_free(void *q)
{
	int serrno = errno;

	if (q != NULL)
		(void)munmap((char *)q - HEAD, mapped_len(q));
	errno = serrno;
}

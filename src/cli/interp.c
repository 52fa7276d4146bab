/*
 * interp.c - does a program load a preload library?  An ELF reader of
 * just enough of the format to find a PT_INTERP program header, and the
 * "#!" chains of scripts.  Only hotswap guard asks.
 */
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

/* Read the program headers of fd: 1 if one is PT_INTERP, 0 if none. */
static int
has_interp(int fd, const unsigned char *ident)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	Elf64_Phdr p64;
	Elf32_Phdr p32;
	uint64_t off;
	unsigned int i, n, sz;

	if (ident[EI_CLASS] == ELFCLASS64) {
		if (pread(fd, &e64, sizeof(e64), 0) != (ssize_t)sizeof(e64))
			return 0;
		off = e64.e_phoff, n = e64.e_phnum, sz = e64.e_phentsize;
	} else {
		if (pread(fd, &e32, sizeof(e32), 0) != (ssize_t)sizeof(e32))
			return 0;
		off = e32.e_phoff, n = e32.e_phnum, sz = e32.e_phentsize;
	}
	for (i = 0; i < n; i++, off += sz) {
		if (ident[EI_CLASS] == ELFCLASS64 ?
			pread(fd, &p64, sizeof(p64), (off_t)off) ==
				(ssize_t)sizeof(p64) &&
			    p64.p_type == PT_INTERP :
			pread(fd, &p32, sizeof(p32), (off_t)off) ==
				(ssize_t)sizeof(p32) &&
			    p32.p_type == PT_INTERP)
			return 1;
	}
	return 0;
}

/*
 * Would the program at path load a preload library?  1 yes, 0 no (a
 * static ELF, or a script whose interpreter is one), -1 if it cannot be
 * told (unreadable: let the exec decide).  depth bounds "#!" chains.
 */
int
elf_dynamic(const char *path, int depth, char *culprit)
{
	unsigned char head[256];
	char interp[PATH_MAX];
	ssize_t n;
	size_t len;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n >= EI_NIDENT && memcmp(head, ELFMAG, SELFMAG) == 0) {
		r = has_interp(fd, head);
		if (r == 0)
			(void)snprintf(culprit, PATH_MAX, "%s", path);
	} else if (n > 2 && head[0] == '#' && head[1] == '!' && depth < 4) {
		head[n] = '\0';
		len = strcspn((char *)head + 2 +
			strspn((char *)head + 2, " \t"),
		    " \t\n");
		(void)snprintf(interp, sizeof(interp), "%.*s", (int)len,
		    (char *)head + 2 + strspn((char *)head + 2, " \t"));
		r = elf_dynamic(interp, depth + 1, culprit);
	}
	(void)close(fd);
	return r;
}

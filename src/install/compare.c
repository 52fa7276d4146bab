/*
 * compare.c - -C: does the destination already hold what an install
 * would write?  Then nothing is replaced.
 */
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "install.h"
#include "sys.h"

#define RW_BUF (256 * 1024)

/* -C: does the destination already hold this content and metadata? */
int
hs_unchanged(int in, const struct stat *sst, int old, const struct stat *ost,
    const struct hs_meta *meta)
{
	if (!S_ISREG(sst->st_mode) || old == -1)
		return 0;
	/*
	 * GNU's rule: set-user-ID, set-group-ID or sticky bits on either
	 * side, or asked for, always mean a new copy.
	 */
	if (((sst->st_mode | ost->st_mode | meta->mode) & 07000) != 0)
		return 0;
	if (sst->st_size != ost->st_size || !hs_meta_matches(ost, meta))
		return 0;
	return hs_same_content(in, old, sst->st_size);
}

/*
 * Compare two files' first size bytes.  Used by -C only, so it reads with
 * pread into two buffers rather than mapping: a mapping of a file that
 * someone truncates meanwhile would raise SIGBUS in us.
 */
int
hs_same_content(int fd1, int fd2, off_t size)
{
	char *a = malloc(RW_BUF), *b = malloc(RW_BUF);
	off_t off = 0;
	ssize_t n1, n2;
	int r = -1;

	if (a == NULL || b == NULL)
		goto out;
	for (r = 1; r == 1 && off < size; off += n1) {
		n1 = hs_pread_full(fd1, a, RW_BUF, off);
		n2 = hs_pread_full(fd2, b, RW_BUF, off);
		if (n1 == -1 || n2 == -1)
			r = -1;
		else if (n1 != n2 || n1 == 0 || memcmp(a, b, (size_t)n1) != 0)
			r = 0;
	}
out:
	free(a);
	free(b);
	return r;
}

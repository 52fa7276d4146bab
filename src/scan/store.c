/*
 * store.c - the record store: the mappings of the process being looked at
 * and their names, in arrays reused from one process to the next.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotswap.h"
#include "scan.h"

unsigned int
hs_scan_kind(unsigned int perms)
{
	unsigned int k = 0;

	if (perms & HS_MAPS_X)
		k |= HS_MAP_CODE;
	if ((perms & (HS_MAPS_W | HS_MAPS_S)) == (HS_MAPS_W | HS_MAPS_S))
		k |= HS_MAP_WRSHARED;
	else if (perms & HS_MAPS_W)
		k |= HS_MAP_WRPRIVATE;
	if ((perms & (HS_MAPS_R | HS_MAPS_W | HS_MAPS_X)) == HS_MAPS_R)
		k |= HS_MAP_RODATA;
	if ((perms & (HS_MAPS_R | HS_MAPS_W | HS_MAPS_X)) == 0)
		k |= HS_MAP_NOACCESS;
	return k;
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap > 0 ? *cap : 16;
	void *np;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / size) {
			errno = ENOMEM;
			return -1;
		}
		ncap *= 2;
	}
	if (ncap == *cap)
		return 0;
	if ((np = realloc(*p, ncap * size)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Remember a mapping of the current process; name may be NULL. */
int
hs_scan_add(struct hs_scan *s, const struct hs_maps_rec *rec, unsigned int kind,
    size_t which, const char *name, size_t len)
{
	struct hs_mapping *m;
	size_t cap = s->capmaps;

	if (s->nmaps == s->capmaps) {
		if (grow((void **)&s->maps, &cap, s->nmaps + 1,
			sizeof(*s->maps)) == -1)
			return -1;
		cap = s->capmaps;
		if (grow((void **)&s->pathoff, &cap, s->nmaps + 1,
			sizeof(*s->pathoff)) == -1)
			return -1;
		s->capmaps = cap;
	}
	s->pathoff[s->nmaps] = SIZE_MAX;
	if (name != NULL) {
		if (grow((void **)&s->names, &s->namescap,
			s->nameslen + len + 1, 1) == -1)
			return -1;
		memcpy(s->names + s->nameslen, name, len);
		s->names[s->nameslen + len] = '\0';
		s->pathoff[s->nmaps] = s->nameslen;
		s->nameslen += len + 1;
	}
	m = &s->maps[s->nmaps++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->start = rec->start;
	m->end = rec->end;
	m->offset = rec->offset;
	m->dev = rec->dev;
	m->ino = rec->ino;
	m->which = which;
	return 0;
}

/* Point the mappings at their names, now that the names have settled. */
void
hs_scan_finish(struct hs_scan *s)
{
	size_t i;

	s->proc.kinds = 0;
	for (i = 0; i < s->nmaps; i++) {
		s->maps[i].path = s->pathoff[i] == SIZE_MAX ?
		    NULL :
		    s->names + s->pathoff[i];
		s->proc.kinds |= s->maps[i].kind;
	}
}

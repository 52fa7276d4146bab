/*
 * statehash.c - a 128-bit digest of what a state shows the checker: the
 * tree entries reach from the root, in name order, with each inode's
 * type, mode, owner, xattrs and content, and which names are hard links
 * of which.  Two states with one digest are one state to the checker,
 * whose verdict is then reused.  Two unrelated 64-bit hashes (FNV-1a
 * and a multiply-rotate one) make an accidental match of two different
 * states of a test (a few thousand at most) far less likely than 2^-64.
 */
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "powercut.h"

struct hasher {
	const struct pc_model *m;
	uint64_t h[2];
	uint32_t *order; /* 1 + visit number, or 0 */
	uint32_t next;
};

static void
feed(struct hasher *hs, const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h0 = hs->h[0], h1 = hs->h[1];
	size_t i;

	for (i = 0; i < len; i++) {
		h0 = (h0 ^ b[i]) * 0x100000001b3ULL;
		h1 = (h1 ^ b[i]) * 0x9e3779b97f4a7c15ULL;
		h1 = (h1 << 29) | (h1 >> 35);
	}
	hs->h[0] = h0;
	hs->h[1] = h1;
}

static void
feed_u64(struct hasher *hs, uint64_t v)
{
	feed(hs, &v, sizeof(v));
}

static void
feed_str(struct hasher *hs, const char *s)
{
	feed(hs, s, strlen(s) + 1);
}

static int
by_name(const void *a, const void *b)
{
	const struct pc_ent *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
xattr_by_name(const void *a, const void *b)
{
	const struct pc_xattr *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void hash_dir(struct hasher *, uint32_t);

static void
hash_inode(struct hasher *hs, uint32_t id)
{
	const struct pc_inode *in = &hs->m->inodes[id];
	struct pc_xattr *xs;
	size_t k;

	feed_u64(hs, in->mode);
	feed_u64(hs, in->uid);
	feed_u64(hs, in->gid);
	xs = pc_xalloc(NULL, in->nxattrs, sizeof(*xs));
	if (in->nxattrs > 0)
		memcpy(xs, in->xattrs, in->nxattrs * sizeof(*xs));
	qsort(xs, in->nxattrs, sizeof(*xs), xattr_by_name);
	feed_u64(hs, in->nxattrs);
	for (k = 0; k < in->nxattrs; k++) {
		feed_str(hs, xs[k].name);
		feed_u64(hs, xs[k].len);
		feed(hs, xs[k].value, xs[k].len);
	}
	free(xs);
	if (S_ISREG(in->mode)) {
		feed_u64(hs, in->size);
		feed(hs, in->data, in->size);
	} else if (S_ISLNK(in->mode))
		feed_str(hs, in->target);
	else if (S_ISDIR(in->mode))
		hash_dir(hs, id);
}

static void
hash_dir(struct hasher *hs, uint32_t id)
{
	const struct pc_inode *d = &hs->m->inodes[id];
	struct pc_ent *es;
	size_t i;

	es = pc_xalloc(NULL, d->nents, sizeof(*es));
	if (d->nents > 0)
		memcpy(es, d->ents, d->nents * sizeof(*es));
	qsort(es, d->nents, sizeof(*es), by_name);
	feed_u64(hs, d->nents);
	for (i = 0; i < d->nents; i++) {
		feed_str(hs, es[i].name);
		if (hs->order[es[i].ino] != 0) {
			/* a hard link (or a directory reached again) */
			feed_u64(hs, hs->order[es[i].ino]);
			continue;
		}
		hs->order[es[i].ino] = ++hs->next;
		feed_u64(hs, 0);
		hash_inode(hs, es[i].ino);
	}
	free(es);
}

void
pc_model_hash(const struct pc_model *m, uint64_t h[2])
{
	struct hasher hs = { m,
		{ 0xcbf29ce484222325ULL, 0x243f6a8885a308d3ULL }, NULL, 0 };

	hs.order = pc_xalloc(NULL, m->n, sizeof(*hs.order));
	memset(hs.order, 0, m->n * sizeof(*hs.order));
	hs.order[PC_ROOT] = ++hs.next;
	hash_inode(&hs, PC_ROOT);
	free(hs.order);
	h[0] = hs.h[0];
	h[1] = hs.h[1];
}

/*
 * model.c - the inode model a surviving state is computed in: inodes
 * with data and metadata, directories whose entries name inodes.  It is
 * read from the seed directory, changed by replaying events, hashed to
 * tell states apart, and written out into a directory for the checker.
 *
 * An entry operation carries its whole effect ("name now names inode
 * 7", "name is gone"), so that applying any subset of a directory's
 * operations in log order gives the directory as it was once they had
 * happened, whatever became of the other directories.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powercut.h"

uint32_t
pc_model_add(struct pc_model *m, mode_t mode, uid_t uid, gid_t gid,
    const char *target)
{
	struct pc_inode *in;

	m->inodes = pc_xalloc(m->inodes, m->n + 1, sizeof(*m->inodes));
	in = &m->inodes[m->n];
	memset(in, 0, sizeof(*in));
	in->mode = mode;
	in->uid = uid;
	in->gid = gid;
	if (target != NULL)
		in->target = pc_xstrdup(target);
	return (uint32_t)m->n++;
}

static struct pc_ent *
find_ent(struct pc_inode *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nents; i++)
		if (strcmp(d->ents[i].name, name) == 0)
			return &d->ents[i];
	return NULL;
}

static void
set_ent(struct pc_model *m, uint32_t dir, const char *name, uint32_t ino)
{
	struct pc_inode *d = &m->inodes[dir];
	struct pc_ent *e = find_ent(d, name);

	if (e == NULL) {
		d->ents = pc_xalloc(d->ents, d->nents + 1, sizeof(*d->ents));
		e = &d->ents[d->nents++];
		e->name = pc_xstrdup(name);
	}
	e->ino = ino;
}

static void
del_ent(struct pc_model *m, uint32_t dir, const char *name)
{
	struct pc_inode *d = &m->inodes[dir];
	struct pc_ent *e = find_ent(d, name);

	if (e == NULL)
		return;
	free(e->name);
	*e = d->ents[--d->nents];
}

/* Make room for size bytes; what grows is zeros. */
static void
resize(struct pc_inode *in, size_t size)
{
	if (size > in->cap) {
		in->cap = size + size / 2;
		in->data = pc_xalloc(in->data, in->cap, 1);
	}
	if (size > in->size)
		memset(in->data + in->size, 0, size - in->size);
	in->size = size;
}

static void
set_xattr(struct pc_inode *in, const char *name, const unsigned char *v,
    size_t len)
{
	struct pc_xattr *x = NULL;
	size_t i;

	for (i = 0; i < in->nxattrs && x == NULL; i++)
		if (strcmp(in->xattrs[i].name, name) == 0)
			x = &in->xattrs[i];
	if (x == NULL) {
		in->xattrs = pc_xalloc(in->xattrs, in->nxattrs + 1,
		    sizeof(*in->xattrs));
		x = &in->xattrs[in->nxattrs++];
		x->name = pc_xstrdup(name);
	} else
		free(x->value);
	x->value = pc_xalloc(NULL, len, 1);
	memcpy(x->value, v, len);
	x->len = len;
}

static void
del_xattr(struct pc_inode *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->nxattrs; i++) {
		if (strcmp(in->xattrs[i].name, name) != 0)
			continue;
		free(in->xattrs[i].name);
		free(in->xattrs[i].value);
		in->xattrs[i] = in->xattrs[--in->nxattrs];
		return;
	}
}

/* One event's effect; a sync changes nothing. */
int
pc_model_apply(struct pc_model *m, const struct pc_event *ev)
{
	struct pc_inode *in = ev->ino < m->n ? &m->inodes[ev->ino] : NULL;

	switch (ev->kind) {
	case PC_CREATE:
	case PC_MKDIR:
	case PC_SYMLINK:
	case PC_LINK: set_ent(m, ev->dir, ev->name, ev->ino); break;
	case PC_UNLINK:
	case PC_RMDIR: del_ent(m, ev->dir, ev->name); break;
	case PC_RENAME:
		if (ev->flags & RENAME_EXCHANGE) {
			set_ent(m, ev->dir, ev->name, ev->ino2);
		} else
			del_ent(m, ev->dir, ev->name);
		set_ent(m, ev->dir2, ev->name2, ev->ino);
		break;
	case PC_WRITE:
		if ((size_t)ev->off + ev->len > in->size)
			resize(in, (size_t)ev->off + ev->len);
		memcpy(in->data + ev->off, ev->data, ev->len);
		break;
	case PC_TRUNCATE: resize(in, (size_t)ev->off); break;
	case PC_SETATTR:
		in->mode = (in->mode & S_IFMT) | (ev->mode & ~S_IFMT);
		in->uid = ev->uid;
		in->gid = ev->gid;
		break;
	case PC_SETXATTR: set_xattr(in, ev->name, ev->data, ev->len); break;
	case PC_RMXATTR: del_xattr(in, ev->name); break;
	default: break;
	}
	return 0;
}

void
pc_model_free(struct pc_model *m)
{
	struct pc_inode *in;
	size_t i, k;

	for (i = 0; i < m->n; i++) {
		in = &m->inodes[i];
		free(in->data);
		free(in->target);
		for (k = 0; k < in->nxattrs; k++) {
			free(in->xattrs[k].name);
			free(in->xattrs[k].value);
		}
		free(in->xattrs);
		for (k = 0; k < in->nents; k++)
			free(in->ents[k].name);
		free(in->ents);
	}
	free(m->inodes);
	m->inodes = NULL;
	m->n = 0;
}

static void
copy_inode(struct pc_inode *to, const struct pc_inode *from)
{
	size_t k;

	*to = *from;
	to->cap = from->size;
	to->data = NULL;
	if (from->size > 0) {
		to->data = pc_xalloc(NULL, from->size, 1);
		memcpy(to->data, from->data, from->size);
	}
	to->target = from->target ? pc_xstrdup(from->target) : NULL;
	to->xattrs = pc_xalloc(NULL, from->nxattrs, sizeof(*to->xattrs));
	for (k = 0; k < from->nxattrs; k++) {
		to->xattrs[k].name = pc_xstrdup(from->xattrs[k].name);
		to->xattrs[k].len = from->xattrs[k].len;
		to->xattrs[k].value = pc_xalloc(NULL, from->xattrs[k].len, 1);
		memcpy(to->xattrs[k].value, from->xattrs[k].value,
		    from->xattrs[k].len);
	}
	to->ents = pc_xalloc(NULL, from->nents, sizeof(*to->ents));
	for (k = 0; k < from->nents; k++) {
		to->ents[k].name = pc_xstrdup(from->ents[k].name);
		to->ents[k].ino = from->ents[k].ino;
	}
}

int
pc_model_copy(struct pc_model *to, const struct pc_model *from)
{
	size_t i;

	to->n = from->n;
	to->inodes = pc_xalloc(NULL, from->n, sizeof(*to->inodes));
	for (i = 0; i < from->n; i++)
		copy_inode(&to->inodes[i], &from->inodes[i]);
	return 0;
}

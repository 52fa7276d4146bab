/*
 * btf.c - the BTF reader of btf.h.  The format is the kernel's
 * Documentation/bpf/btf.rst: a header, then type records, each a
 * struct btf_type followed by kind-specific data whose length follows
 * from the kind and vlen, then the string section.
 */
#include <linux/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"

/* How deep anonymous members and typedef chains are followed. */
#define MAX_DEPTH   32
/* How many members one search looks at (task_struct has some 300). */
#define MAX_MEMBERS 100000UL

/* The bytes after a type record's struct btf_type; -1 for an unknown kind. */
static long
extra(const struct btf_type *t)
{
	unsigned long vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG: return 4;
	case BTF_KIND_ARRAY: return (long)sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: return (long)(vlen * sizeof(struct btf_member));
	case BTF_KIND_ENUM: return (long)(vlen * sizeof(struct btf_enum));
	case BTF_KIND_FUNC_PROTO:
		return (long)(vlen * sizeof(struct btf_param));
	case BTF_KIND_DATASEC:
		return (long)(vlen * sizeof(struct btf_var_secinfo));
	case BTF_KIND_ENUM64: return (long)(vlen * 3 * sizeof(uint32_t));
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG: return 0;
	default: return -1;
	}
}

int
hs_btf_parse(struct hs_btf *b, const void *buf, size_t len)
{
	const struct btf_header *h = buf;
	const struct btf_type *t;
	const char *types;
	size_t pos, cap = 0;
	uint32_t *v = NULL, *nv, n = 0;
	long x;

	memset(b, 0, sizeof(*b));
	if (len < sizeof(*h) || h->magic != BTF_MAGIC ||
	    h->hdr_len < sizeof(*h) || h->hdr_len > len ||
	    h->type_off > len - h->hdr_len ||
	    h->type_len > len - h->hdr_len - h->type_off ||
	    h->str_off > len - h->hdr_len ||
	    h->str_len > len - h->hdr_len - h->str_off || h->str_len == 0 ||
	    (h->hdr_len | h->type_off | h->type_len) % 4 != 0 ||
	    ((const char *)buf)[h->hdr_len + h->str_off + h->str_len - 1] !=
		'\0') {
		errno = EINVAL;
		return -1;
	}
	types = (const char *)buf + h->hdr_len + h->type_off;
	for (pos = 0; pos < h->type_len; n++) {
		if (h->type_len - pos < sizeof(*t))
			goto bad;
		t = (const struct btf_type *)(const void *)(types + pos);
		if ((x = extra(t)) == -1 ||
		    (size_t)x > h->type_len - pos - sizeof(*t) ||
		    n >= BTF_MAX_TYPE)
			goto bad;
		if (n % HS_BTF_STRIDE == 0) {
			if (n / HS_BTF_STRIDE == cap) {
				cap = cap ? cap * 2 : 1024;
				if ((nv = reallocarray(v, cap, sizeof(*v))) ==
				    NULL) {
					free(v);
					return -1;
				}
				v = nv;
			}
			v[n / HS_BTF_STRIDE] = (uint32_t)pos;
		}
		pos += sizeof(*t) + (size_t)x;
	}
	b->marks = v;
	b->ntypes = n;
	b->types = types;
	b->typeslen = h->type_len;
	b->strs = (const char *)buf + h->hdr_len + h->str_off;
	b->strslen = h->str_len;
	return 0;
bad:
	free(v);
	errno = EINVAL;
	return -1;
}

/* Type id: from the mark before it, skip to it (checked by the parse). */
static const struct btf_type *
type(const struct hs_btf *b, uint32_t id)
{
	const struct btf_type *t;
	uint32_t i, pos;

	if (id == 0 || id > b->ntypes)
		return NULL;
	pos = b->marks[(id - 1) / HS_BTF_STRIDE];
	for (i = (id - 1) / HS_BTF_STRIDE * HS_BTF_STRIDE + 1;; i++) {
		t = (const struct btf_type *)(const void *)(b->types + pos);
		if (i == id)
			return t;
		pos += (uint32_t)(sizeof(*t) + (size_t)extra(t));
	}
}

static const char *
name(const struct hs_btf *b, uint32_t off)
{
	return off < b->strslen ? b->strs + off : "";
}

void
hs_btf_find_many(const struct hs_btf *b, const char *const *names,
    const unsigned int *kinds, uint32_t *ids, size_t n)
{
	const struct btf_type *t;
	const char *nm;
	uint32_t id, pos = 0;
	size_t i, left = n;

	memset(ids, 0, n * sizeof(*ids));
	for (id = 1; id <= b->ntypes && left > 0; id++) {
		t = (const struct btf_type *)(const void *)(b->types + pos);
		pos += (uint32_t)(sizeof(*t) + (size_t)extra(t));
		if (t->name_off == 0)
			continue;
		nm = name(b, t->name_off);
		for (i = 0; i < n; i++)
			if (ids[i] == 0 && BTF_INFO_KIND(t->info) == kinds[i] &&
			    strcmp(nm, names[i]) == 0) {
				ids[i] = id;
				left--;
			}
	}
}

uint32_t
hs_btf_find(const struct hs_btf *b, const char *nm, unsigned int kind)
{
	uint32_t id;

	hs_btf_find_many(b, &nm, &kind, &id, 1);
	return id;
}

/* Follow typedefs, qualifiers and type tags to the type they name. */
static const struct btf_type *
resolve(const struct hs_btf *b, uint32_t id)
{
	const struct btf_type *t;
	int depth;

	for (depth = 0; depth < MAX_DEPTH; depth++) {
		if ((t = type(b, id)) == NULL)
			return NULL;
		switch (BTF_INFO_KIND(t->info)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG: id = t->type; break;
		default: return t;
		}
	}
	return NULL;
}

/* The size in bytes of a resolved type, 0 if it has none we can tell. */
static uint32_t
size_of(const struct hs_btf *b, const struct btf_type *t, int depth)
{
	const struct btf_array *a;
	const struct btf_type *e;
	uint32_t n;

	if (depth > MAX_DEPTH)
		return 0;
	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FLOAT: return t->size;
	case BTF_KIND_PTR: return (uint32_t)sizeof(void *);
	case BTF_KIND_ARRAY:
		a = (const struct btf_array *)(const void *)(t + 1);
		if ((e = resolve(b, a->type)) == NULL)
			return 0;
		n = size_of(b, e, depth + 1);
		return n != 0 && a->nelems > UINT32_MAX / n ? 0 : a->nelems * n;
	default: return 0;
	}
}

/*
 * Search struct or union id and, through its anonymous members, the
 * ones nested in it.  *budget bounds the members looked at: BTF whose
 * anonymous members nest in themselves must not make this exponential.
 */
static int
member(const struct hs_btf *b, uint32_t id, const char *nm, uint32_t base,
    uint32_t *off, uint32_t *size, int depth, unsigned long *budget)
{
	const struct btf_member *m;
	const struct btf_type *t, *mt;
	uint32_t i, vlen, bits, fsize;
	unsigned int kind;

	if (depth > MAX_DEPTH || (t = resolve(b, id)) == NULL)
		return -1;
	kind = BTF_INFO_KIND(t->info);
	if (kind != BTF_KIND_STRUCT && kind != BTF_KIND_UNION)
		return -1;
	vlen = BTF_INFO_VLEN(t->info);
	m = (const struct btf_member *)(const void *)(t + 1);
	for (i = 0; i < vlen; i++) {
		if (*budget == 0)
			return -1;
		--*budget;
		bits = BTF_INFO_KFLAG(t->info) ?
		    BTF_MEMBER_BIT_OFFSET(m[i].offset) :
		    m[i].offset;
		fsize = BTF_INFO_KFLAG(t->info) ?
		    BTF_MEMBER_BITFIELD_SIZE(m[i].offset) :
		    0;
		if (m[i].name_off != 0 && name(b, m[i].name_off)[0] != '\0') {
			if (strcmp(name(b, m[i].name_off), nm) != 0)
				continue;
			if (fsize != 0 || bits % 8 != 0 ||
			    bits / 8 > UINT32_MAX - base ||
			    (mt = resolve(b, m[i].type)) == NULL)
				return -1;
			*off = base + bits / 8;
			*size = size_of(b, mt, 0);
			/* No member reaches past 4 GiB, whatever BTF says. */
			return *size > UINT32_MAX - *off ? -1 : 0;
		}
		/* An anonymous struct or union: its fields are ours. */
		if (bits % 8 == 0 && bits / 8 <= UINT32_MAX - base &&
		    member(b, m[i].type, nm, base + bits / 8, off, size,
			depth + 1, budget) == 0)
			return 0;
	}
	return -1;
}

int
hs_btf_member(const struct hs_btf *b, uint32_t id, const char *nm,
    uint32_t *off, uint32_t *size)
{
	unsigned long budget = MAX_MEMBERS;

	if (member(b, id, nm, 0, off, size, 0, &budget) == -1) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

void
hs_btf_free(struct hs_btf *b)
{
	free(b->marks);
	memset(b, 0, sizeof(*b));
}

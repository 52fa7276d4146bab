/*
 * btf.h - just enough of a BTF reader to find where the kernel keeps a
 * field: the byte offset of a (possibly nested) member of a named
 * struct, and the type ID of a named function, from the kernel's own
 * type information (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF).
 *
 * Layer src/kern/: readers of kernel interfaces, shared by src/scan/ and
 * src/guard/; they may call only the seam (src/sys/).
 *
 * Pure: parses a buffer the caller read, no system call.  Anonymous
 * struct and union members are searched through, as C lets a program
 * name their fields directly (vm_area_struct.vm_start sits in one since
 * Linux 6.12, mm_struct's fields in another).
 *
 *	struct hs_btf b;
 *	if (hs_btf_parse(&b, buf, len) == -1) ...	(EINVAL: not BTF)
 *	id = hs_btf_find(&b, "task_struct", BTF_KIND_STRUCT);
 *	if (hs_btf_member(&b, id, "tgid", &off, &size) == -1) ...
 *	hs_btf_free(&b);
 */
#ifndef HS_BTF_H
#define HS_BTF_H

#include <stddef.h>
#include <stdint.h>

/*
 * The kernel's BTF has some 130,000 types.  An index of every one would
 * cost more (its pages are faulted in one by one) than the search it
 * saves; every HS_BTF_STRIDE-th is kept, and the rest are skipped to.
 */
#define HS_BTF_STRIDE 64

struct hs_btf {
	const char *strs; /* string section */
	uint32_t strslen;
	const char *types; /* type section */
	uint32_t typeslen;
	uint32_t *marks; /* offset in types of ID 1 + i * STRIDE */
	uint32_t ntypes;
};

/*
 * Index the types of buf[0..len), which must stay valid while b is used.
 * -1 with EINVAL if it is not well-formed BTF, ENOMEM.
 */
int hs_btf_parse(struct hs_btf *b, const void *buf, size_t len);

/* The ID of the first type of this kind and name, 0 if none. */
uint32_t hs_btf_find(const struct hs_btf *b, const char *name,
    unsigned int kind);

/* The same for n names and kinds at once, in one pass: ids[i]. */
void hs_btf_find_many(const struct hs_btf *b, const char *const *names,
    const unsigned int *kinds, uint32_t *ids, size_t n);

/*
 * The byte offset of member name of struct or union id, and its size in
 * bytes (after typedefs and qualifiers); -1 with ENOENT if there is no
 * such member or it is a bit-field.
 */
int hs_btf_member(const struct hs_btf *b, uint32_t id, const char *name,
    uint32_t *off, uint32_t *size);

void hs_btf_free(struct hs_btf *b);

#endif /* HS_BTF_H */

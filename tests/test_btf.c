/*
 * test_btf.c - the BTF reader (src/kern/btf.c): hand-built type sections,
 * broken ones, and the running kernel's own.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/btf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpfwho.h"
#include "btf.h"
#include "sys.h"

#define VMLINUX "/sys/kernel/btf/vmlinux"

/* A BTF blob under construction: type words, then strings. */
struct blob {
	uint32_t words[4096];
	size_t nwords;
	char strs[4096];
	size_t nstrs;
	uint32_t ntypes;
	unsigned char *out; /* header + types + strings */
	size_t outlen;
};

static uint32_t
str(struct blob *b, const char *s)
{
	uint32_t off = (uint32_t)b->nstrs;

	if (*s == '\0')
		return 0;
	memcpy(b->strs + b->nstrs, s, strlen(s) + 1);
	b->nstrs += strlen(s) + 1;
	return off;
}

static void
init(struct blob *b)
{
	memset(b, 0, sizeof(*b));
	b->nstrs = 1; /* offset 0 is "" */
}

static void
word(struct blob *b, uint32_t w)
{
	assert_true(b->nwords < sizeof(b->words) / sizeof(*b->words));
	b->words[b->nwords++] = w;
}

/* Add a type record; returns its ID. */
static uint32_t
add(struct blob *b, const char *name, unsigned int kind, unsigned int vlen,
    int kflag, uint32_t size_or_type)
{
	word(b, str(b, name));
	word(b, (uint32_t)kind << 24 | vlen | (uint32_t)(kflag != 0) << 31);
	word(b, size_or_type);
	return ++b->ntypes;
}

static void
member(struct blob *b, const char *name, uint32_t type, uint32_t bits)
{
	word(b, str(b, name));
	word(b, type);
	word(b, bits);
}

static void
finish(struct blob *b)
{
	struct btf_header h;

	memset(&h, 0, sizeof(h));
	h.magic = BTF_MAGIC;
	h.version = BTF_VERSION;
	h.hdr_len = sizeof(h);
	h.type_off = 0;
	h.type_len = (uint32_t)(b->nwords * 4);
	h.str_off = h.type_len;
	h.str_len = (uint32_t)b->nstrs;
	b->outlen = sizeof(h) + h.type_len + h.str_len;
	assert_non_null(b->out = malloc(b->outlen));
	memcpy(b->out, &h, sizeof(h));
	memcpy(b->out + sizeof(h), b->words, h.type_len);
	memcpy(b->out + sizeof(h) + h.type_len, b->strs, h.str_len);
}

/*
 * struct inner { int a; long b; };			(anonymous in outer)
 * typedef long tlong;
 * struct outer { int x; struct { int a; long b; }; tlong y;
 *     char c[3]; unsigned int bf : 3; };
 * int f(void);
 */
static uint32_t id_int, id_long, id_outer, id_f;

static void
build_sample(struct blob *b)
{
	uint32_t inner, tlong, arr;

	init(b);
	id_int = add(b, "int", BTF_KIND_INT, 0, 0, 4);
	word(b, 32);
	id_long = add(b, "long", BTF_KIND_INT, 0, 0, 8);
	word(b, 64);
	inner = add(b, "", BTF_KIND_STRUCT, 2, 0, 16);
	member(b, "a", id_int, 0);
	member(b, "b", id_long, 64);
	tlong = add(b, "tlong", BTF_KIND_TYPEDEF, 0, 0, id_long);
	arr = add(b, "", BTF_KIND_ARRAY, 0, 0, 0);
	word(b, id_int); /* element type: int, 4 bytes */
	word(b, id_int); /* index type */
	word(b, 3);	 /* elements */
	id_outer = add(b, "outer", BTF_KIND_STRUCT, 5, 1, 48);
	member(b, "x", id_int, 0);
	member(b, "", inner, 64);
	member(b, "y", tlong, 192);
	member(b, "c", arr, 256);
	member(b, "bf", id_int, 3u << 24 | 352);
	id_f = add(b, "f", BTF_KIND_FUNC, 0, 0, 0);
	finish(b);
}

static void
test_btf_members(void **state)
{
	struct blob b;
	struct hs_btf t;
	uint32_t off, size;

	(void)state;
	build_sample(&b);
	assert_int_equal(hs_btf_parse(&t, b.out, b.outlen), 0);
	assert_int_equal(hs_btf_find(&t, "outer", BTF_KIND_STRUCT), id_outer);
	assert_int_equal(hs_btf_find(&t, "f", BTF_KIND_FUNC), id_f);
	assert_int_equal(hs_btf_find(&t, "f", BTF_KIND_STRUCT), 0);
	assert_int_equal(hs_btf_find(&t, "nothing", BTF_KIND_STRUCT), 0);

	assert_int_equal(hs_btf_member(&t, id_outer, "x", &off, &size), 0);
	assert_int_equal(off, 0);
	assert_int_equal(size, 4);
	/* Through the anonymous struct. */
	assert_int_equal(hs_btf_member(&t, id_outer, "a", &off, &size), 0);
	assert_int_equal(off, 8);
	assert_int_equal(size, 4);
	assert_int_equal(hs_btf_member(&t, id_outer, "b", &off, &size), 0);
	assert_int_equal(off, 16);
	assert_int_equal(size, 8);
	/* Through the typedef, to long's size. */
	assert_int_equal(hs_btf_member(&t, id_outer, "y", &off, &size), 0);
	assert_int_equal(off, 24);
	assert_int_equal(size, 8);
	assert_int_equal(hs_btf_member(&t, id_outer, "c", &off, &size), 0);
	assert_int_equal(off, 32);
	assert_int_equal(size, 12);
	/* A bit-field has no byte offset to load from. */
	errno = 0;
	assert_int_equal(hs_btf_member(&t, id_outer, "bf", &off, &size), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(hs_btf_member(&t, id_outer, "z", &off, &size), -1);
	assert_int_equal(errno, ENOENT);
	/* Not a struct. */
	assert_int_equal(hs_btf_member(&t, id_int, "x", &off, &size), -1);
	assert_int_equal(hs_btf_member(&t, 9999, "x", &off, &size), -1);
	hs_btf_free(&t);
	free(b.out);
}

/* More types than one stride of the sparse index, found by ID. */
static void
test_btf_many_types(void **state)
{
	char name[32];
	struct blob b;
	struct hs_btf t;
	uint32_t i, last = 0, st, off, size;

	(void)state;
	init(&b);
	for (i = 0; i < 3 * HS_BTF_STRIDE + 5; i++) {
		(void)snprintf(name, sizeof(name), "t%u", i);
		/* Records of differing length: INT 4 extra bytes, PTR 0. */
		if (i % 2 == 0) {
			last = add(&b, name, BTF_KIND_INT, 0, 0, 1 + i % 8);
			word(&b, 8);
		} else
			(void)add(&b, name, BTF_KIND_PTR, 0, 0, 1);
	}
	st = add(&b, "s", BTF_KIND_STRUCT, 1, 0, 8);
	member(&b, "m", last, 0);
	finish(&b);
	assert_int_equal(hs_btf_parse(&t, b.out, b.outlen), 0);
	assert_int_equal(t.ntypes, 3 * HS_BTF_STRIDE + 6);
	assert_int_equal(hs_btf_find(&t, "s", BTF_KIND_STRUCT), st);
	(void)snprintf(name, sizeof(name), "t%u", 2 * HS_BTF_STRIDE + 1);
	assert_int_equal(hs_btf_find(&t, name, BTF_KIND_PTR),
	    2 * HS_BTF_STRIDE + 2);
	assert_int_equal(hs_btf_member(&t, st, "m", &off, &size), 0);
	assert_int_equal(size, 1 + (last - 1) % 8);
	hs_btf_free(&t);
	free(b.out);
}

/* Anonymous members that contain themselves: bounded, not a hang. */
static void
test_btf_self_nesting(void **state)
{
	struct blob b;
	struct hs_btf t;
	uint32_t off, size, i;

	(void)state;
	init(&b);
	(void)add(&b, "loop", BTF_KIND_STRUCT, 8, 0, 8);
	for (i = 0; i < 8; i++)
		member(&b, "", 1, 0);
	(void)add(&b, "arr", BTF_KIND_ARRAY, 0, 0, 0);
	word(&b, 2); /* an array of itself */
	word(&b, 2);
	word(&b, 2);
	(void)add(&b, "s", BTF_KIND_STRUCT, 1, 0, 8);
	member(&b, "a", 2, 0);
	finish(&b);
	assert_int_equal(hs_btf_parse(&t, b.out, b.outlen), 0);
	assert_int_equal(hs_btf_member(&t, 1, "x", &off, &size), -1);
	assert_int_equal(hs_btf_member(&t, 3, "a", &off, &size), 0);
	assert_int_equal(size, 0); /* no size to tell */
	hs_btf_free(&t);
	free(b.out);
}

static void
expect_einval(const void *buf, size_t len)
{
	struct hs_btf t;

	errno = 0;
	assert_int_equal(hs_btf_parse(&t, buf, len), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_btf_broken(void **state)
{
	struct btf_header *h;
	struct blob b;
	unsigned char *c;
	size_t len;

	(void)state;
	build_sample(&b);
	assert_non_null(c = malloc(b.outlen));
	/* Every truncation: the header's lengths no longer fit. */
	for (len = 0; len < b.outlen; len++) {
		memcpy(c, b.out, len);
		expect_einval(c, len);
	}
	h = (struct btf_header *)(void *)c;

	memcpy(c, b.out, b.outlen);
	h->magic = 0x9FEB; /* the other byte order */
	expect_einval(c, b.outlen);

	memcpy(c, b.out, b.outlen);
	c[b.outlen - 1] = 'x'; /* strings not terminated */
	expect_einval(c, b.outlen);

	memcpy(c, b.out, b.outlen);
	h->type_len -= 4; /* the last record cut short */
	h->str_off -= 4;
	h->str_len += 4;
	expect_einval(c, b.outlen);

	memcpy(c, b.out, b.outlen);
	h->type_len += 2; /* not a multiple of 4 */
	expect_einval(c, b.outlen);

	memcpy(c, b.out, b.outlen); /* a kind that does not exist */
	((uint32_t *)(void *)(c + sizeof(*h)))[1] = 31u << 24;
	expect_einval(c, b.outlen);

	memcpy(c, b.out, b.outlen); /* a struct with too many members */
	((uint32_t *)(void *)(c + sizeof(*h)))[1] = BTF_KIND_STRUCT << 24 |
	    0xffff;
	expect_einval(c, b.outlen);
	free(c);
	free(b.out);
}

/* The running kernel's own BTF, where it has one. */
static void
test_btf_vmlinux(void **state)
{
	struct hs_btf t;
	FILE *fp;
	char *buf;
	size_t len = 0, cap = 1 << 20, n;
	uint32_t id, off, size;

	(void)state;
	if ((fp = fopen(VMLINUX, "r")) == NULL)
		skip();
	assert_non_null(buf = malloc(cap));
	while ((n = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += n;
		if (len == cap)
			assert_non_null(buf = realloc(buf, cap *= 2));
	}
	(void)fclose(fp);
	assert_int_equal(hs_btf_parse(&t, buf, len), 0);
	assert_true(t.ntypes > 1000);
	assert_int_not_equal(id = hs_btf_find(&t, "task_struct",
				 BTF_KIND_STRUCT),
	    0);
	assert_int_equal(hs_btf_member(&t, id, "tgid", &off, &size), 0);
	assert_int_equal(size, 4);
	assert_int_equal(hs_btf_member(&t, id, "comm", &off, &size), 0);
	assert_int_equal(size, 16);
	/* In an anonymous union since Linux 6.12, directly before. */
	assert_int_not_equal(id = hs_btf_find(&t, "vm_area_struct",
				 BTF_KIND_STRUCT),
	    0);
	assert_int_equal(hs_btf_member(&t, id, "vm_end", &off, &size), 0);
	assert_int_equal(size, 8);
	assert_int_not_equal(hs_btf_find(&t, "bpf_iter_task_vma",
				 BTF_KIND_FUNC),
	    0);
	hs_btf_free(&t);
	free(buf);
}

static void *
no_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	(void)addr;
	(void)len;
	(void)prot;
	(void)flags;
	(void)fd;
	(void)off;
	errno = ENODEV;
	return MAP_FAILED;
}

/*
 * Where sysfs cannot map the BTF (before Linux 6.16), it is read: the
 * iterator built from what was read finds this very process mapping its
 * own executable.  First in this program, since the layout is found once
 * per process.
 */
static void
test_btf_read_when_not_mapped(void **state)
{
	struct hs_bpf_rec rec;
	struct hs_scan_id id;
	struct stat st;
	ssize_t n;
	int fd, found = 0;

	(void)state;
	if (access(VMLINUX, R_OK) == -1)
		skip();
	assert_int_equal(stat("/proc/self/exe", &st), 0);
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.which = 0;
	hs_sys.mmap = no_mmap;
	fd = hs_bpf_who(&id, 1);
	hs_sys_reset();
	if (fd == -1 &&
	    (errno == EPERM || errno == EACCES || errno == EOPNOTSUPP))
		skip(); /* not root, a container, a seccomp filter */
	assert_int_not_equal(fd, -1);
	while ((n = read(fd, &rec, sizeof(rec))) == (ssize_t)sizeof(rec))
		found |= rec.tgid == (uint32_t)getpid();
	assert_int_equal(n, 0);
	(void)close(fd);
	assert_true(found);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_btf_read_when_not_mapped),
		cmocka_unit_test(test_btf_members),
		cmocka_unit_test(test_btf_many_types),
		cmocka_unit_test(test_btf_self_nesting),
		cmocka_unit_test(test_btf_broken),
		cmocka_unit_test(test_btf_vmlinux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

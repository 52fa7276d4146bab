/*
 * bpfwho.c - the BPF task_vma iterator of bpfwho.h: find the fields in
 * this kernel's BTF, write the program, load it, make the iterator.
 *
 * The program, for each VMA the kernel hands it (ctx: meta, task, vma):
 *
 *	if (vma == NULL)
 *		return 0;			(the end)
 *	inode = vma->vm_file ? vma->vm_file->f_inode : NULL;
 *	if (inode == NULL)
 *		return 0;			(anonymous memory)
 *	for each wanted file k:
 *		if (inode->i_ino == ino[k] && inode->i_sb->s_dev == dev[k])
 *			goto found;
 *	return 0;
 * found:
 *	if (task == NULL || task->pid != task->tgid)
 *		return 0;			(a thread)
 *	emit a struct hs_bpf_rec with which = k;
 *	return 0;
 *
 * Loads through task and vma are the verifier's checked (PROBE_MEM)
 * loads: a pointer that turns NULL under us reads as 0, never faults.
 * The iterator holds the process's mmap lock while it walks its VMAs
 * (kernel/bpf/task_iter.c), as reading /proc/PID/maps does.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfwho.h"
#include "btf.h"
#include "sys.h"

#define VMLINUX_BTF    "/sys/kernel/btf/vmlinux"
/* The initial PID namespace's inode number (PROC_PID_INIT_INO). */
#define INIT_PIDNS_INO 0xEFFFFFFCU
#define REC	       ((int16_t)sizeof(struct hs_bpf_rec))

_Static_assert(sizeof(struct hs_bpf_rec) == 96, "records are 96 bytes");

/* Where the program finds what it reads. */
struct layout {
	uint32_t task_pid, task_tgid, task_mm, task_cred, task_comm;
	uint32_t task_start;
	uint32_t cred_euid;
	uint32_t vma_start, vma_end, vma_flags, vma_pgoff, vma_file;
	uint32_t file_inode;
	uint32_t inode_ino, inode_sb;
	uint32_t sb_dev;
	uint32_t mm_start_code, mm_flags;
	int have_mm_flags;
	uint32_t meta_seq;
	uint32_t attach_id; /* FUNC bpf_iter_task_vma */
};

struct field {
	const char *type;
	const char *name;
	uint32_t size; /* required size in bytes */
	size_t where;  /* offsetof(struct layout, ...) */
};

/* clang-format off */
#define F(t, n, sz, m)	{ t, n, sz, offsetof(struct layout, m) }
/* clang-format on */

static const struct field fields[] = {
	F("task_struct", "pid", 4, task_pid),
	F("task_struct", "tgid", 4, task_tgid),
	F("task_struct", "mm", 8, task_mm),
	F("task_struct", "cred", 8, task_cred),
	F("task_struct", "comm", 16, task_comm),
	F("task_struct", "start_boottime", 8, task_start),
	F("cred", "euid", 4, cred_euid),
	F("vm_area_struct", "vm_start", 8, vma_start),
	F("vm_area_struct", "vm_end", 8, vma_end),
	F("vm_area_struct", "vm_flags", 8, vma_flags),
	F("vm_area_struct", "vm_pgoff", 8, vma_pgoff),
	F("vm_area_struct", "vm_file", 8, vma_file),
	F("file", "f_inode", 8, file_inode),
	F("inode", "i_ino", 8, inode_ino),
	F("inode", "i_sb", 8, inode_sb),
	F("super_block", "s_dev", 4, sb_dev),
	F("mm_struct", "start_code", 8, mm_start_code),
	F("bpf_iter_meta", "seq", 8, meta_seq),
};

/*
 * All of fd's file from where it stands, NUL-terminated, in a malloc'd
 * buffer (*lenp without the NUL).  hint is the expected size, 0 if the
 * file cannot tell (/proc files report none).
 */
static int
read_fd(int fd, size_t hint, char **bufp, size_t *lenp)
{
	/* hint + 2: room for the NUL and for the read(2) that sees the end. */
	size_t cap = hint > 0 ? hint + 2 : 64 * 1024, len = 0;
	char *buf, *nb;
	ssize_t n;

	if ((buf = malloc(cap)) == NULL)
		return -1;
	for (;;) {
		if (cap - len < 2) {
			if ((nb = realloc(buf, cap * 2)) == NULL)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		do
			n = hs_sys.read(fd, buf + len, cap - len - 1);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	return -1;
}

/* read_fd() of a file opened by name. */
static int
read_file(const char *path, char **bufp, size_t *lenp)
{
	int fd, r, serrno;

	if ((fd = hs_openat(AT_FDCWD, path, O_RDONLY, 0)) == -1)
		return -1;
	r = read_fd(fd, 0, bufp, lenp);
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

/*
 * The kernel's BTF, some 5 MiB: mapped where sysfs lets us (Linux 6.16
 * and later), which saves copying it 4 KiB per read(2); read otherwise.
 * *mapped says which, for release().
 */
static int
load_btf(char **bufp, size_t *lenp, int *mapped)
{
	struct stat st;
	size_t size;
	void *m;
	int fd, r, serrno;

	if ((fd = hs_openat(AT_FDCWD, VMLINUX_BTF, O_RDONLY, 0)) == -1)
		return -1;
	size = hs_sys.fstat(fd, &st) == 0 && st.st_size > 0 ?
	    (size_t)st.st_size :
	    0;
	if (size > 0 &&
	    (m = hs_sys.mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) !=
		MAP_FAILED) {
		*bufp = m;
		*lenp = size;
		*mapped = 1;
		r = 0;
	} else {
		*mapped = 0;
		r = read_fd(fd, size, bufp, lenp);
	}
	serrno = errno;
	(void)hs_close(fd);
	errno = serrno;
	return r;
}

static void
release(char *buf, size_t len, int mapped)
{
	if (mapped)
		(void)hs_sys.munmap(buf, len);
	else
		free(buf);
}

/* The types the fields are in, and the function the program attaches to. */
/* clang-format off */
static const char *const typenames[] = {
	"task_struct", "cred", "vm_area_struct", "file", "inode",
	"super_block", "mm_struct", "bpf_iter_meta", "bpf_iter_task_vma",
};
/* clang-format on */
#define NTYPES	  (sizeof(typenames) / sizeof(*typenames))
#define MM_STRUCT 6
#define ITER_FUNC 8

static int
find_layout(struct layout *l)
{
	/* clang-format off */
	static const unsigned int kinds[NTYPES] = {
		BTF_KIND_STRUCT, BTF_KIND_STRUCT, BTF_KIND_STRUCT,
		BTF_KIND_STRUCT, BTF_KIND_STRUCT, BTF_KIND_STRUCT,
		BTF_KIND_STRUCT, BTF_KIND_STRUCT, BTF_KIND_FUNC,
	};
	/* clang-format on */
	struct hs_btf b;
	uint32_t ids[NTYPES], id, off, size;
	char *buf;
	size_t len, i, k;
	int mapped, r = -1;

	if (load_btf(&buf, &len, &mapped) == -1)
		return -1;
	if (hs_btf_parse(&b, buf, len) == -1) {
		release(buf, len, mapped);
		return -1;
	}
	hs_btf_find_many(&b, typenames, kinds, ids, NTYPES);
	memset(l, 0, sizeof(*l));
	for (i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		for (k = 0; k < NTYPES; k++)
			if (strcmp(typenames[k], fields[i].type) == 0)
				break;
		id = k < NTYPES ? ids[k] : 0;
		if (id == 0 ||
		    hs_btf_member(&b, id, fields[i].name, &off, &size) == -1 ||
		    size != fields[i].size)
			goto out;
		*(uint32_t *)(void *)((char *)l + fields[i].where) = off;
	}
	/* mm->flags moved into a bitmap type in 6.18; optional. */
	id = ids[MM_STRUCT];
	if ((hs_btf_member(&b, id, "flags", &off, &size) == 0 ||
		hs_btf_member(&b, id, "_mm_flags", &off, &size) == 0) &&
	    size >= 8) {
		l->mm_flags = off;
		l->have_mm_flags = 1;
	}
	if ((l->attach_id = ids[ITER_FUNC]) == 0)
		goto out;
	r = 0;
out:
	hs_btf_free(&b);
	release(buf, len, mapped);
	if (r == -1)
		errno = ENOENT;
	return r;
}

/* --- the program ------------------------------------------------------ */

struct prog {
	struct bpf_insn *v;
	size_t n;
	size_t cap;
	size_t *outs; /* jumps to patch to "out" */
	size_t nouts;
};

static void
emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off,
    int32_t imm)
{
	struct bpf_insn *i = &p->v[p->n++];

	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = dst & 0xf;
	i->src_reg = src & 0xf;
	i->off = off;
	i->imm = imm;
}

/* dst = *(size *)(src + off) */
static void
load(struct prog *p, uint8_t size, uint8_t dst, uint8_t src, uint32_t off)
{
	emit(p, BPF_LDX | BPF_MEM | size, dst, src, (int16_t)off, 0);
}

/* *(size *)(r10 - REC + at) = src */
static void
put(struct prog *p, uint8_t size, uint8_t src, int at)
{
	emit(p, BPF_STX | BPF_MEM | size, BPF_REG_10, src, (int16_t)(-REC + at),
	    0);
}

/* The record's field at gets *(size *)(src + off), through r1. */
static void
copy_field(struct prog *p, uint8_t size, uint8_t src, uint32_t off, int at)
{
	load(p, size, BPF_REG_1, src, off);
	put(p, size, BPF_REG_1, at);
}

/* if (reg == 0) goto out */
static void
out_if_zero(struct prog *p, uint8_t reg)
{
	p->outs[p->nouts++] = p->n;
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, reg, 0, 0, 0);
}

static void
ld_imm64(struct prog *p, uint8_t dst, uint64_t v)
{
	emit(p, BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, (int32_t)(uint32_t)v);
	emit(p, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

static uint32_t
kdev(dev_t d)
{
	return (uint32_t)(major(d) << 20 | (minor(d) & 0xfffff));
}

/* Field offsets must fit the 16-bit displacement of a load. */
static int
layout_fits(const struct layout *l)
{
	const uint32_t *v = (const uint32_t *)(const void *)l;
	size_t i;

	for (i = 0;
	     i < offsetof(struct layout, have_mm_flags) / sizeof(uint32_t); i++)
		if (v[i] > INT16_MAX - 16)
			return 0;
	return l->mm_flags <= INT16_MAX;
}

static int
build(struct prog *p, const struct layout *l, const struct hs_scan_id *ids,
    size_t n)
{
	size_t k, found, *jumps;
	uint8_t r1 = BPF_REG_1, r2 = BPF_REG_2, r3 = BPF_REG_3;
	uint8_t ctx = BPF_REG_6, task = BPF_REG_7, vma = BPF_REG_8;
	uint8_t inode = BPF_REG_9;

	p->cap = 64 + 10 * n;
	p->v = calloc(p->cap, sizeof(*p->v));
	p->outs = calloc(16 + n, sizeof(*p->outs));
	jumps = calloc(n + 1, sizeof(*jumps));
	if (p->v == NULL || p->outs == NULL || jumps == NULL) {
		free(jumps);
		return -1;
	}

	/*
	 * Most VMAs are of files nobody asked about: the inode number is
	 * compared first, and the device, the task and its PID are looked
	 * at only when it matches.
	 */
	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, ctx, BPF_REG_1, 0, 0);
	load(p, BPF_DW, vma, ctx, 16);
	out_if_zero(p, vma);
	load(p, BPF_DW, inode, vma, l->vma_file);
	out_if_zero(p, inode);
	load(p, BPF_DW, inode, inode, l->file_inode);
	out_if_zero(p, inode);
	load(p, BPF_DW, r1, inode, l->inode_ino);
	for (k = 0; k < n; k++) {
		/* if (ino == ids[k].ino && dev == ids[k].dev) found */
		ld_imm64(p, r3, (uint64_t)ids[k].ino);
		emit(p, BPF_JMP | BPF_JNE | BPF_X, r1, r3, 6, 0);
		load(p, BPF_DW, r2, inode, l->inode_sb);
		out_if_zero(p, r2);
		load(p, BPF_W, r2, r2, l->sb_dev);
		emit(p, BPF_JMP32 | BPF_JNE | BPF_K, r2, 0, 2,
		    (int32_t)kdev(ids[k].dev));
		emit(p, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0,
		    (int16_t)(-REC + 4), (int32_t)ids[k].which);
		jumps[k] = p->n;
		emit(p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
	}
	p->outs[p->nouts++] = p->n;
	emit(p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
	found = p->n;
	for (k = 0; k < n; k++)
		p->v[jumps[k]].off = (int16_t)(found - jumps[k] - 1);
	free(jumps);

	/* A thread, or the last call (no task): nothing to say. */
	load(p, BPF_DW, task, ctx, 8);
	out_if_zero(p, task);
	load(p, BPF_W, r1, task, l->task_pid);
	load(p, BPF_W, r2, task, l->task_tgid);
	p->outs[p->nouts++] = p->n;
	emit(p, BPF_JMP | BPF_JNE | BPF_X, r1, r2, 0, 0);

	copy_field(p, BPF_W, task, l->task_tgid,
	    offsetof(struct hs_bpf_rec, tgid));
	copy_field(p, BPF_DW, vma, l->vma_start,
	    offsetof(struct hs_bpf_rec, start));
	copy_field(p, BPF_DW, vma, l->vma_end,
	    offsetof(struct hs_bpf_rec, end));
	copy_field(p, BPF_DW, vma, l->vma_flags,
	    offsetof(struct hs_bpf_rec, vm_flags));
	copy_field(p, BPF_DW, vma, l->vma_pgoff,
	    offsetof(struct hs_bpf_rec, pgoff));
	load(p, BPF_DW, r2, task, l->task_mm);
	copy_field(p, BPF_DW, r2, l->mm_start_code,
	    offsetof(struct hs_bpf_rec, start_code));
	if (l->have_mm_flags)
		load(p, BPF_DW, r1, r2, l->mm_flags);
	else
		emit(p, BPF_ALU64 | BPF_MOV | BPF_K, r1, 0, 0, 1);
	put(p, BPF_DW, r1, offsetof(struct hs_bpf_rec, mm_flags));
	load(p, BPF_DW, r2, task, l->task_cred);
	copy_field(p, BPF_W, r2, l->cred_euid,
	    offsetof(struct hs_bpf_rec, euid));
	load(p, BPF_DW, r2, inode, l->inode_sb);
	copy_field(p, BPF_W, r2, l->sb_dev, offsetof(struct hs_bpf_rec, dev));
	copy_field(p, BPF_DW, inode, l->inode_ino,
	    offsetof(struct hs_bpf_rec, ino));
	copy_field(p, BPF_DW, task, l->task_start,
	    offsetof(struct hs_bpf_rec, start_ns));
	copy_field(p, BPF_DW, task, l->task_comm,
	    offsetof(struct hs_bpf_rec, comm));
	copy_field(p, BPF_DW, task, l->task_comm + 8,
	    offsetof(struct hs_bpf_rec, comm) + 8);

	/* bpf_seq_write(ctx->meta->seq, record, sizeof(record)) */
	load(p, BPF_DW, r1, ctx, 0);
	load(p, BPF_DW, r1, r1, l->meta_seq);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, r2, BPF_REG_10, 0, 0);
	emit(p, BPF_ALU64 | BPF_ADD | BPF_K, r2, 0, 0, -REC);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, r3, 0, 0, REC);
	emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_seq_write);

	/* out: return 0 */
	for (k = 0; k < p->nouts; k++)
		p->v[p->outs[k]].off = (int16_t)(p->n - p->outs[k] - 1);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return 0;
}

/*
 * The kernel's layout, found once per process (reading the BTF is most
 * of the cost of a walk): the guard asks again and again.
 */
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;
static struct layout layout_cached;
static int layout_errno;

static void
layout_find(void)
{
	if (find_layout(&layout_cached) == -1)
		layout_errno = errno;
	else if (!layout_fits(&layout_cached))
		layout_errno = ENOENT;
}

static int
layout(struct layout *l)
{
	(void)pthread_once(&layout_once, layout_find);
	if (layout_errno != 0) {
		errno = layout_errno;
		return -1;
	}
	*l = layout_cached;
	return 0;
}

static int
sys_bpf(int cmd, union bpf_attr *a)
{
	int r;

	do
		r = hs_sys.bpf(cmd, a, sizeof(*a));
	while (r == -1 && errno == EINTR);
	return r;
}

/*
 * Loading a tracing program takes CAP_BPF and CAP_PERFMON (or
 * CAP_SYS_ADMIN): asked first, so that an unprivileged caller does not
 * read the BTF for nothing.
 */
static int
privileged(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == -1)
		return 1; /* let the kernel say */
#define HAS(c) ((d[(c) / 32].effective >> ((c) % 32)) & 1)
	return HAS(CAP_SYS_ADMIN) || (HAS(CAP_BPF) && HAS(CAP_PERFMON));
#undef HAS
}

/*
 * 1 if a seccomp filter confines this process ("Seccomp:" 2 in
 * /proc/self/status).  Whether it allows bpf(2) cannot be asked, and one
 * that kills on it (systemd's SystemCallFilter= does by default) would
 * kill us, or the program the guard is preloaded into: such a process
 * reads /proc instead.  Unreadable counts as confined.
 */
static int
seccomp_filtered(void)
{
	char *buf, *p;
	size_t len;
	int r;

	if (read_file("/proc/self/status", &buf, &len) == -1)
		return 1;
	if ((p = strstr(buf, "\nSeccomp:")) == NULL)
		r = 0; /* a kernel without seccomp */
	else {
		p += sizeof("\nSeccomp:") - 1;
		while (*p == ' ' || *p == '\t')
			p++;
		r = *p != '0';
	}
	free(buf);
	return r;
}

static int
in_init_pidns(void)
{
	struct stat st;

	return hs_sys.fstatat(AT_FDCWD, "/proc/self/ns/pid", &st, 0) == 0 &&
	    st.st_ino == INIT_PIDNS_INO;
}

/*
 * 1 if a file system of ids is one that stacks on others (overlayfs, or
 * FUSE with passthrough): maps shows its own inode, while the VMA holds
 * the backing file, which the program would compare.  Such file systems
 * have anonymous devices (major 0); only then is mountinfo read.
 */
static int
stacked(const struct hs_scan_id *ids, size_t n)
{
	char *buf, *line, *next, *dash, type[32];
	unsigned int maj, min;
	size_t i, len;
	int hit = 0, anon = 0;

	for (i = 0; i < n; i++)
		anon |= major(ids[i].dev) == 0;
	if (!anon)
		return 0;
	if (read_file("/proc/self/mountinfo", &buf, &len) == -1)
		return 1; /* cannot tell: do not risk it */
	/* "ID PARENT MAJ:MIN ROOT MOUNT OPTIONS [TAGS...] - TYPE ..." */
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) != 2 ||
		    (dash = strstr(line, " - ")) == NULL ||
		    sscanf(dash + 3, "%31s", type) != 1)
			continue;
		if (strcmp(type, "overlay") != 0 &&
		    strncmp(type, "fuse", 4) != 0)
			continue;
		for (i = 0; i < n; i++)
			if (major(ids[i].dev) == maj &&
			    minor(ids[i].dev) == min)
				hit = 1;
	}
	free(buf);
	return hit;
}

int
hs_bpf_who(const struct hs_scan_id *ids, size_t n)
{
	static const char license[] = "Dual BSD/GPL";
	struct layout l;
	struct prog p;
	union bpf_attr a;
	int prog = -1, link = -1, iter = -1, serrno;

	if (n == 0 || n > HS_BPF_MAX_IDS) {
		errno = E2BIG;
		return -1;
	}
	if (!privileged() || seccomp_filtered()) {
		errno = EPERM;
		return -1;
	}
	if (!in_init_pidns() || stacked(ids, n)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (layout(&l) == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	if (build(&p, &l, ids, n) == -1)
		goto fail;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_TRACING;
	a.expected_attach_type = BPF_TRACE_ITER;
	a.insns = (uint64_t)(uintptr_t)p.v;
	a.insn_cnt = (uint32_t)p.n;
	a.license = (uint64_t)(uintptr_t)license;
	a.attach_btf_id = l.attach_id;
	memcpy(a.prog_name, "hotswap_who", sizeof("hotswap_who"));
	if ((prog = sys_bpf(BPF_PROG_LOAD, &a)) == -1)
		goto fail;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.attach_type = BPF_TRACE_ITER;
	if ((link = sys_bpf(BPF_LINK_CREATE, &a)) == -1)
		goto fail;

	memset(&a, 0, sizeof(a));
	a.iter_create.link_fd = (uint32_t)link;
	iter = sys_bpf(BPF_ITER_CREATE, &a);
fail:
	serrno = errno;
	if (link != -1)
		(void)hs_close(link);
	if (prog != -1)
		(void)hs_close(prog);
	free(p.v);
	free(p.outs);
	errno = serrno;
	return iter;
}

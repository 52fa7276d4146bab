/*
 * bpfwho.h - "who maps these files" answered inside the kernel, in one
 * pass over every process's memory map, by a BPF task_vma iterator
 * (Linux 5.12+, CONFIG_DEBUG_INFO_BTF; needs CAP_BPF and CAP_PERFMON or
 * root).
 *
 * Layer src/kern/: readers of kernel interfaces, shared by src/scan/ and
 * src/guard/; they may call only the seam (src/sys/).
 *
 * Reading /proc/PID/maps costs, per process, an open, a read that makes
 * the kernel format every VMA as text (paths included), and a close; the
 * iterator instead visits each VMA in the kernel and hands back only the
 * ones whose (device, inode) is wanted, in binary.  The program is
 * generated here for the files asked about (their device and inode
 * numbers are compared as immediates: no BPF map) with the field offsets
 * of this kernel's structures, read from its BTF; nothing is compiled
 * ahead, and no BPF library is needed.
 *
 * The program only reads kernel memory through the verifier's checked
 * loads and writes records to the iterator's own buffer; it is loaded,
 * run by read(2) and gone when the descriptor is closed.
 *
 * What it sees differs from /proc/PID/maps in one way: a VMA holds the
 * file under any stacking file system (overlayfs, FUSE passthrough),
 * where maps shows the stacked file's own inode.  So a file asked about
 * that lives on such a file system is left to /proc (EOPNOTSUPP), and a
 * file on the lower file system is also found where a container maps
 * it through an overlay, which /proc does not show.
 */
#ifndef HS_BPFWHO_H
#define HS_BPFWHO_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* A file asked about, as maps shows it, and its index in the caller's list. */
struct hs_scan_id {
	dev_t dev;
	ino_t ino;
	size_t which;
};

/* More files than this and the program would be long: /proc instead. */
#define HS_BPF_MAX_IDS 128

/* The kernel's VM_* bits of vm_flags that maps shows as "rwxs". */
#define HS_VM_READ     0x01
#define HS_VM_WRITE    0x02
#define HS_VM_EXEC     0x04
#define HS_VM_MAYSHARE 0x80

/* What the iterator's read(2) yields, one per matching VMA. */
struct hs_bpf_rec {
	uint32_t tgid;	/* PID, in the initial namespace */
	uint32_t which; /* index into the ids given */
	uint64_t start; /* the VMA */
	uint64_t end;
	uint64_t vm_flags;   /* HS_VM_*, the kernel's VM_* */
	uint64_t pgoff;	     /* in pages */
	uint64_t start_code; /* mm->start_code */
	uint64_t mm_flags;   /* low 2 bits: dumpable (1 if unknown) */
	uint32_t euid;
	uint32_t dev; /* the kernel's: major << 20 | minor */
	uint64_t ino;
	uint64_t start_ns; /* start_boottime, nanoseconds */
	char comm[16];	   /* not NUL-terminated if 16 long */
};

/*
 * A descriptor whose read(2) yields struct hs_bpf_rec for every VMA of
 * every thread-group leader that maps one of ids[0..n) (matched by
 * device and inode, .which copied), or -1 with errno: EPERM or EACCES
 * (not privileged, or confined by a seccomp filter), ENOENT (no BTF, or
 * a structure field it needs is not where it looks), EINVAL (the
 * verifier refused the program), EOPNOTSUPP (not in the initial PID
 * namespace, whose PIDs it reports; a file on overlayfs or FUSE), E2BIG
 * (more than HS_BPF_MAX_IDS ids).  Records of one process come one after
 * another; a record may be split across two reads.
 */
int hs_bpf_who(const struct hs_scan_id *ids, size_t n);

#endif /* HS_BPFWHO_H */

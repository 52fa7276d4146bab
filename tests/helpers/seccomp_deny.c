/*
 * seccomp_deny.c - run a command under a seccomp filter that denies one
 * system call, for the tests of programs confined as systemd units and
 * containers confine them.
 *
 *	seccomp_deny CALL ACTION COMMAND [ARG...]
 *
 * CALL is bpf, io_uring_setup or clone (how glibc's fork(3) makes a
 * process; its threads are made by clone3).  ACTION is KILL: the process
 * is killed by SIGSYS, as systemd's SystemCallFilter= does by default
 * (the guard and who must never call bpf(2) in such a program; hotswap
 * install --io=plain never io_uring_setup(2)); or EPERM or ENOSYS: the
 * call fails with that error, as a container runtime's default profile
 * makes it (Docker's and containerd's return EPERM), and install falls
 * back to plain calls, or frees without --free-later's process.  Every other system call is allowed; the filter is
 * inherited across execve(2).  Exit 126 if the filter cannot be
 * installed, 127 if COMMAND cannot be run, 2 on a usage error.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <err.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	unsigned int nr, act;

	if (argc < 4)
		errx(2,
		    "usage: seccomp_deny bpf|io_uring_setup|clone "
		    "KILL|EPERM|ENOSYS command [arg ...]");
	if (strcmp(argv[1], "bpf") == 0)
		nr = __NR_bpf;
	else if (strcmp(argv[1], "io_uring_setup") == 0)
		nr = __NR_io_uring_setup;
	else if (strcmp(argv[1], "clone") == 0)
		nr = __NR_clone;
	else
		errx(2, "%s: not bpf, io_uring_setup or clone", argv[1]);
	if (strcmp(argv[2], "KILL") == 0)
		act = SECCOMP_RET_KILL_PROCESS;
	else if (strcmp(argv[2], "EPERM") == 0)
		act = SECCOMP_RET_ERRNO | EPERM;
	else if (strcmp(argv[2], "ENOSYS") == 0)
		act = SECCOMP_RET_ERRNO | ENOSYS;
	else
		errx(2, "%s: not KILL, EPERM or ENOSYS", argv[2]);

	struct sock_filter f[] = {
		/* Only x86-64 calls are judged; others are killed. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, act),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(f) / sizeof(f[0])),
		.filter = f,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		err(126, "seccomp");
	execvp(argv[3], argv + 3);
	err(127, "%s", argv[3]);
}

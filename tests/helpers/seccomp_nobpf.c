/*
 * seccomp_nobpf.c - run a command under a seccomp filter that kills the
 * process on bpf(2), as systemd's SystemCallFilter= does by default, for
 * the test that hotswap guard never calls bpf(2) in such a program.
 *
 *	seccomp_nobpf COMMAND [ARG...]
 *
 * Every other system call is allowed.  The filter is inherited across
 * execve(2), so COMMAND (and the guard preloaded into it) runs under it;
 * a bpf(2) call ends it with SIGSYS.  Exit 126 if the filter cannot be
 * installed, 127 if COMMAND cannot be run.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <err.h>
#include <stddef.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sock_filter f[] = {
		/* Only x86-64 calls are judged; others are killed. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(f) / sizeof(f[0])),
		.filter = f,
	};

	if (argc < 2)
		errx(2, "usage: seccomp_nobpf command [arg ...]");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		err(126, "seccomp");
	execvp(argv[1], argv + 1);
	err(127, "%s", argv[1]);
}

/*
 * seccomp_nouring.c - run a command under a seccomp filter that refuses
 * io_uring_setup(2), for the tests that hotswap install then makes its
 * commit by plain system calls, and that --io=plain never calls it.
 *
 *	seccomp_nouring EPERM|ENOSYS|KILL COMMAND [ARG...]
 *
 * EPERM or ENOSYS: the call fails with that error, as a container
 * runtime's default profile makes it (Docker's and containerd's return
 * EPERM); KILL: the process is killed by SIGSYS, as a systemd unit's
 * SystemCallFilter= does.  Every other system call is allowed; the
 * filter is inherited across execve(2).  Exit 126 if the filter cannot
 * be installed, 127 if COMMAND cannot be run, 2 on a usage error.
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
	unsigned int act;

	if (argc < 3)
		errx(2,
		    "usage: seccomp_nouring EPERM|ENOSYS|KILL command "
		    "[arg ...]");
	if (strcmp(argv[1], "EPERM") == 0)
		act = SECCOMP_RET_ERRNO | EPERM;
	else if (strcmp(argv[1], "ENOSYS") == 0)
		act = SECCOMP_RET_ERRNO | ENOSYS;
	else if (strcmp(argv[1], "KILL") == 0)
		act = SECCOMP_RET_KILL_PROCESS;
	else
		errx(2, "%s: not EPERM, ENOSYS or KILL", argv[1]);

	struct sock_filter f[] = {
		/* Only x86-64 calls are judged; others are killed. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
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
	execvp(argv[2], argv + 2);
	err(127, "%s", argv[2]);
}

/*
 * guard_fdpass TEMP -- COMMAND...: stand-in for a root program that
 * inherited a descriptor from an unprivileged user (su in a user's
 * session).  A child drops to nobody, creates TEMP (O_EXCL), writes
 * "nobody's data" into it, takes an OFD write lock on the byte the guard
 * uses for "still open", sends the descriptor over a socketpair and
 * exits.  The parent, still root, keeps the descriptor (same open file
 * description, so the lock is held) on fd 9, without FD_CLOEXEC, and
 * runs COMMAND.  Exit 111 if a step fails before COMMAND runs.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <err.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#define LOCK_BASE ((off_t)0x7fff000000000000LL)

static void
attacker(int sock, const char *temp)
{
	static const char data[] = "nobody's data\n";
	struct passwd *pw = getpwnam("nobody");
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	struct flock fl;
	char one = 'x';
	int fd;

	if (pw == NULL || setgroups(0, NULL) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		err(111, "cannot become nobody");
	if ((fd = open(temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		 0644)) == -1)
		err(111, "cannot create '%s'", temp);
	if (write(fd, data, sizeof(data) - 1) != sizeof(data) - 1)
		err(111, "cannot write '%s'", temp);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = LOCK_BASE + 12345;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1)
		err(111, "cannot lock '%s'", temp);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &one;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		err(111, "cannot send the descriptor");
	_exit(0);
}

static int
receive(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct msghdr msg;
	struct cmsghdr *c;
	struct iovec iov;
	int fd;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &b;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &msg, 0) != 1 || (c = CMSG_FIRSTHDR(&msg)) == NULL ||
	    c->cmsg_type != SCM_RIGHTS)
		errx(111, "no descriptor received");
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int
main(int argc, char **argv)
{
	int sv[2], fd, st;
	pid_t pid;

	if (argc < 4 || strcmp(argv[2], "--") != 0)
		errx(111, "usage: guard_fdpass TEMP -- COMMAND...");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(111, "socketpair");
	if ((pid = fork()) == -1)
		err(111, "fork");
	if (pid == 0) {
		(void)close(sv[0]);
		attacker(sv[1], argv[1]);
	}
	(void)close(sv[1]);
	fd = receive(sv[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		errx(111, "the nobody side failed");
	if (dup2(fd, 9) != 9)
		err(111, "dup2");
	if (fd != 9)
		(void)close(fd);
	execvp(argv[3], argv + 3);
	err(111, "cannot run '%s'", argv[3]);
}

/*
 * sdservice.c - a systemd service that really maps a library, for the
 * end-to-end tests of hotswap restart (tests/e2e/restart.bats).
 *
 *	sdservice LIB NAME LOG
 *
 * dlopen()s LIB, appends "NAME VERSION PID" to LOG (victim_version() of
 * the library it got; the order of the lines is the order of the
 * starts), tells systemd READY=1 on $NOTIFY_SOCKET (Type=notify, so
 * systemctl start and restart return only once the line is written) and
 * waits for SIGTERM.
 *
 * With HS_FDSTORE=1 in its environment it also hands systemd a
 * descriptor of LIB to keep (FDSTORE=1, FileDescriptorStoreMax= in the
 * unit), and when it is started with that descriptor back ($LISTEN_FDS)
 * it maps the file of the descriptor instead of LIB: after a restart the
 * new main process maps the old library again, every time.  That is the
 * service the verification of hotswap restart must catch.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Send msg to systemd, with fd (if not -1) attached. */
static int
notify(const char *msg, int fd)
{
	const char *path = getenv("NOTIFY_SOCKET");
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct sockaddr_un sa;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	socklen_t len;
	int s, r;

	if (path == NULL || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)msg;
	iov.iov_len = strlen(msg);
	mh.msg_name = &sa;
	mh.msg_namelen = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = sendmsg(s, &mh, 0) == -1 ? -1 : 0;
	close(s);
	return r;
}

/* The descriptor systemd handed back from its store, or -1. */
static int
stored_fd(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");

	if (fds == NULL || pid == NULL || atoi(fds) < 1 ||
	    atoi(pid) != (int)getpid())
		return -1;
	return 3;
}

int
main(int argc, char *argv[])
{
	char path[64];
	const char *lib;
	int (*version)(void);
	void *h;
	int fd, sfd;
	sigset_t set;
	FILE *log;

	if (argc != 4) {
		fprintf(stderr, "usage: sdservice LIB NAME LOG\n");
		return 2;
	}
	lib = argv[1];
	if ((sfd = stored_fd()) != -1) {
		(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", sfd);
		lib = path;
	}
	if ((h = dlopen(lib, RTLD_NOW)) == NULL ||
	    (*(void **)&version = dlsym(h, "victim_version")) == NULL) {
		fprintf(stderr, "sdservice: %s\n", dlerror());
		return 1;
	}
	if (sfd == -1 && getenv("HS_FDSTORE") != NULL) {
		if ((fd = open(argv[1], O_RDONLY | O_CLOEXEC)) == -1 ||
		    notify("FDSTORE=1\nFDNAME=lib", fd) == -1) {
			perror("sdservice: FDSTORE");
			return 1;
		}
	}
	if ((log = fopen(argv[3], "ae")) == NULL) {
		perror(argv[3]);
		return 1;
	}
	fprintf(log, "%s %d %d\n", argv[2], version(), (int)getpid());
	if (fclose(log) == EOF || notify("READY=1", -1) == -1) {
		perror("sdservice");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	(void)sigwaitinfo(&set, NULL);
	return 0;
}

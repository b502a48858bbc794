/* net_unix_rights: SCM_RIGHTS and SCM_CREDENTIALS. A forked child makes a
 * pipe and passes its write end to the parent, which writes through it;
 * MSG_CTRUNC when the control buffer has no room (the files that do not
 * fit are closed), MSG_CMSG_CLOEXEC, SCM_MAX_FD, a message with files
 * ending a stream read, MSG_PEEK of files, files in flight released with
 * the socket, credentials with SO_PASSCRED. */
#define _GNU_SOURCE
#include "net_unix.h"
#include <sys/syscall.h>

/* sendfds sends data with n descriptors. */
static ssize_t sendfds(int s, const char *data, const int *fds, int n)
{
	static char ctl[CMSG_SPACE(sizeof(int) * 300)];
	struct iovec iov = {(void *)data, strlen(data)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n > 0) {
		memset(ctl, 0, sizeof ctl);
		m.msg_control = ctl;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	}
	/* The system call itself: musl's sendmsg refuses control buffers
	 * over 1024 bytes (ENOMEM) before Linux sees them. */
	return syscall(SYS_sendmsg, s, &m, 0);
}

/* got are the descriptors the last recvfds received. */
static int got[300];

/* closegot closes them. */
static void closegot(int count)
{
	for (int i = 0; i < count; i++)
		close(got[i]);
}

/* recvfds receives into buf with room for room descriptors, prints what
 * came and returns the first descriptor (or -1); got holds them all. */
static int recvfds(const char *what, int s, int room, int flags, int *count)
{
	char buf[64];
	static char ctl[CMSG_SPACE(sizeof(int) * 300)];
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (room > 0) {
		m.msg_control = ctl;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)room);
	} else if (room == 0) {
		m.msg_control = ctl;
		m.msg_controllen = sizeof(struct cmsghdr);
	}
	ssize_t n = recvmsg(s, &m, flags);
	if (n < 0) {
		out("%s: recvmsg=%s\n", what, sres(n));
		return -1;
	}
	int first = -1, nfds = 0;
	char cm[128] = "";
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		char one[64];
		snprintf(one, sizeof one, " [level=%d type=%d len=%d]", c->cmsg_level, c->cmsg_type, (int)c->cmsg_len);
		strncat(cm, one, sizeof cm - strlen(cm) - 1);
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(got, CMSG_DATA(c), sizeof(int) * (size_t)nfds);
			first = got[0];
		}
	}
	out("%s: data=%zd '%.*s' flags=%#x controllen=%d fds=%d%s\n", what, n, (int)n, buf, m.msg_flags,
	    (int)m.msg_controllen, nfds, cm);
	if (count)
		*count = nfds;
	return first;
}

static void pass_pipe(void)
{
	int sv[2];
	PCHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t p = pfork();
	if (p == 0) {
		close(sv[0]);
		int pp[2];
		PCHECK(pipe(pp) == 0);
		PCHECK(sendfds(sv[1], "take", &pp[1], 1) == 4);
		close(pp[1]);
		char buf[64];
		ssize_t n = readall(pp[0], buf, sizeof buf);
		PCHECK(write(sv[1], buf, (size_t)n) == n);
		_exit(0);
	}
	close(sv[1]);
	int fd = recvfds("pass", sv[0], 1, MSG_CMSG_CLOEXEC, NULL);
	PCHECK(fd >= 0);
	out("pass: received fd cloexec=%d is fifo=%d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
	    fcntl(fd, F_GETFL) >= 0);
	const char *msg = "written through the passed pipe end";
	PCHECK(write(fd, msg, strlen(msg)) == (ssize_t)strlen(msg));
	close(fd);
	char buf[64];
	ssize_t n = readall(sv[0], buf, sizeof buf);
	out("pass: child read back %zd '%.*s'\n", n, (int)n, buf);
	out("pass: child %s\n", wstat(reap(p)));
	close(sv[0]);
}

static void ctrunc(void)
{
	int sv[2];
	PCHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
	int pp[2];
	PCHECK(pipe(pp) == 0);
	int three[3] = {pp[1], pp[1], pp[1]};
	PCHECK(sendfds(sv[0], "three", three, 3) == 5);
	int count = 0;
	int fd = recvfds("room for 1", sv[1], 1, 0, &count);
	int next = open("/dev/null", O_RDONLY);
	out("room for 1: cloexec=%d next free fd follows them=%d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0,
	    next == got[count - 1] + 1);
	close(next);
	closegot(count);
	PCHECK(sendfds(sv[0], "again", three, 3) == 5);
	recvfds("header only", sv[1], 0, 0, NULL);
	PCHECK(sendfds(sv[0], "none", three, 3) == 4);
	recvfds("no control", sv[1], -1, 0, NULL);
	close(pp[1]);
	char b;
	out("ctrunc: every write end closed, pipe read=%s\n", sres(read(pp[0], &b, 1)));
	close(pp[0]);
	close(sv[0]);
	close(sv[1]);
}

static void limits(void)
{
	int sv[2];
	PCHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	int fds[254];
	for (int i = 0; i < 254; i++)
		fds[i] = 0;
	out("limits: 254 fds=%s\n", sres(sendfds(sv[0], "x", fds, 254)));
	out("limits: 253 fds=%s\n", sres(sendfds(sv[0], "y", fds, 253)));
	int count = 0;
	recvfds("limits", sv[1], 253, MSG_DONTWAIT, &count);
	closegot(count);
	int bad = 99;
	out("limits: bad fd=%s\n", sres(sendfds(sv[0], "z", &bad, 1)));
	struct msghdr m = {0};
	char ctl[CMSG_SPACE(4)];
	memset(ctl, 0, sizeof ctl);
	struct iovec iov = {"q", 1};
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl;
	m.msg_controllen = sizeof ctl;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = 77;
	c->cmsg_len = CMSG_LEN(4);
	out("limits: unknown cmsg type=%s\n", sres(sendmsg(sv[0], &m, 0)));
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = sizeof ctl + 8;
	out("limits: cmsg_len past the buffer=%s\n", sres(sendmsg(sv[0], &m, 0)));
	c->cmsg_level = 99;
	c->cmsg_len = CMSG_LEN(4);
	out("limits: other level=%s\n", sres(sendmsg(sv[0], &m, 0)));
	char b[4];
	out("limits: received=%s\n", sres(recv(sv[1], b, sizeof b, MSG_DONTWAIT)));
	close(sv[0]);
	close(sv[1]);
}

static void stream_boundary(void)
{
	int sv[2];
	PCHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	PCHECK(write(sv[0], "12", 2) == 2);
	int one = 1;
	PCHECK(sendfds(sv[0], "ab", &one, 1) == 2);
	PCHECK(write(sv[0], "cd", 2) == 2);
	int count = 0;
	recvfds("peek", sv[1], 4, MSG_PEEK, &count);
	closegot(count);
	recvfds("read 1", sv[1], 4, 0, &count);
	closegot(count);
	recvfds("read 2", sv[1], 4, 0, &count);
	closegot(count);
	close(sv[0]);
	close(sv[1]);
}

static void in_flight(void)
{
	int sv[2], pp[2];
	PCHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	PCHECK(pipe(pp) == 0);
	PCHECK(sendfds(sv[0], "w", &pp[1], 1) == 1);
	close(pp[1]);
	char b;
	PCHECK(fcntl(pp[0], F_SETFL, O_NONBLOCK) == 0);
	out("in flight: pipe read while the write end is queued=%s\n", sres(read(pp[0], &b, 1)));
	close(sv[0]);
	close(sv[1]);
	out("in flight: after both sockets closed=%s\n", sres(read(pp[0], &b, 1)));
	close(pp[0]);
}

static void credentials(void)
{
	int sv[2];
	PCHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
	int one = 1;
	PCHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
	pid_t p = pfork();
	if (p == 0) {
		PCHECK(send(sv[0], "plain", 5, 0) == 5);
		char ctl[CMSG_SPACE(sizeof(struct ucred))];
		memset(ctl, 0, sizeof ctl);
		struct iovec iov = {"explicit", 8};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		struct ucred u = {getpid(), getuid(), getgid()};
		memcpy(CMSG_DATA(c), &u, sizeof u);
		PCHECK(sendmsg(sv[0], &m, 0) == 8);
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred) - 4);
		_exit(sendmsg(sv[0], &m, 0) < 0 && errno == EINVAL ? 0 : 3);
	}
	out("creds: child %s (short SCM_CREDENTIALS is EINVAL)\n", wstat(reap(p)));
	for (int i = 0; i < 2; i++) {
		char buf[16];
		char ctl[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = {buf, sizeof buf};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
		ssize_t n = recvmsg(sv[1], &m, 0);
		PCHECK(n > 0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		struct ucred u = {0, 0, 0};
		if (c != NULL && c->cmsg_type == SCM_CREDENTIALS)
			memcpy(&u, CMSG_DATA(c), sizeof u);
		out("creds: '%.*s' cmsg=%d type=%d len=%d pid is child=%d uid ok=%d gid ok=%d\n", (int)n, buf, c != NULL,
		    c ? c->cmsg_type : -1, c ? (int)c->cmsg_len : -1, u.pid == p, u.uid == getuid(), u.gid == getgid());
	}
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	static const struct pcase cases[] = {
		{"pass_pipe", pass_pipe}, {"ctrunc", ctrunc}, {"limits", limits},
		{"stream_boundary", stream_boundary}, {"in_flight", in_flight}, {"credentials", credentials},
	};
	return run_cases(cases, NCASES(cases), argc, argv);
}

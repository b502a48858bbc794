/* net_unix_pair: socketpair semantics of the three AF_UNIX types, one
 * process: data and message boundaries, MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT
 * and O_NONBLOCK (EAGAIN), a full buffer (EAGAIN and POLLOUT), shutdown in
 * each direction, EPIPE with and without SIGPIPE (MSG_NOSIGNAL), the
 * peer's close (EOF, POLLHUP/POLLRDHUP, ECONNRESET with unread data),
 * fstat, getsockname/getpeername, socket options. One line a check. */
#define _GNU_SOURCE
#include "net_unix.h"
#include <sys/ioctl.h>
#include <sys/stat.h>

static volatile sig_atomic_t pipes;

static void on_pipe(int sig)
{
	(void)sig;
	pipes++;
}

static void pair(int type, int sv[2])
{
	PCHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
}

static int opt(int fd, int name)
{
	int v = -7;
	socklen_t l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, name, &v, &l) < 0)
		return -errno;
	return v;
}

static void basics(void)
{
	static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	for (int i = 0; i < 3; i++) {
		int sv[2];
		pair(types[i], sv);
		const char *t = typename(types[i]);
		struct stat st;
		PCHECK(fstat(sv[0], &st) == 0);
		out("%s: S_ISSOCK=%d mode=%o\n", t, S_ISSOCK(st.st_mode), st.st_mode & 0777);
		out("%s: SO_TYPE=%d SO_DOMAIN=%d SO_PROTOCOL=%d SO_ACCEPTCONN=%d SO_ERROR=%d SO_PASSCRED=%d\n", t,
		    opt(sv[0], SO_TYPE), opt(sv[0], SO_DOMAIN), opt(sv[0], SO_PROTOCOL),
		    opt(sv[0], SO_ACCEPTCONN), opt(sv[0], SO_ERROR), opt(sv[0], SO_PASSCRED));
		struct sockaddr_un a;
		socklen_t l = sizeof a;
		memset(&a, 0x55, sizeof a);
		const char *r = sres(getsockname(sv[0], (void *)&a, &l));
		out("%s: getsockname=%s len=%d family=%d\n", t, r, (int)l, a.sun_family);
		l = sizeof a;
		r = sres(getpeername(sv[0], (void *)&a, &l));
		out("%s: getpeername=%s len=%d\n", t, r, (int)l);
		struct ucred c;
		l = sizeof c;
		PCHECK(getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &c, &l) == 0);
		out("%s: SO_PEERCRED len=%d pid_is_self=%d uid_ok=%d gid_ok=%d\n", t, (int)l, c.pid == getpid(),
		    c.uid == geteuid(), c.gid == getegid());
		out("%s: fcntl flags=%o\n", t, fcntl(sv[0], F_GETFL) & ~O_LARGEFILE);
		close(sv[0]);
		close(sv[1]);
	}
}

static void stream(void)
{
	int sv[2];
	char buf[64];
	pair(SOCK_STREAM, sv);
	out("stream: write abc=%s\n", sres(write(sv[0], "abc", 3)));
	out("stream: write defg=%s\n", sres(write(sv[0], "defg", 4)));
	int n = -1;
	PCHECK(ioctl(sv[1], FIONREAD, &n) == 0);
	out("stream: FIONREAD=%d revents=%s\n", n, pollev(revents(sv[1])));
	ssize_t r = recv(sv[1], buf, sizeof buf, MSG_PEEK);
	out("stream: peek=%s '%.*s'\n", sres(r), (int)(r > 0 ? r : 0), buf);
	r = read(sv[1], buf, 2);
	out("stream: read 2=%s '%.*s'\n", sres(r), (int)(r > 0 ? r : 0), buf);
	r = read(sv[1], buf, sizeof buf);
	out("stream: read rest=%s '%.*s' (pieces merge)\n", sres(r), (int)(r > 0 ? r : 0), buf);
	out("stream: empty nonblocking recv=%s\n", sres(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
	PCHECK(write(sv[0], "xyz", 3) == 3);
	out("stream: MSG_TRUNC recv=%s\n", sres(recv(sv[1], buf, 1, MSG_TRUNC)));
	out("stream: rest=%s\n", sres(read(sv[1], buf, sizeof buf)));
	out("stream: zero-length read=%s\n", sres(read(sv[1], buf, 0)));
	/* MSG_WAITALL gathers two writes. */
	pid_t p = pfork();
	if (p == 0) {
		usleep(20000);
		PCHECK(write(sv[0], "12", 2) == 2);
		usleep(20000);
		PCHECK(write(sv[0], "345", 3) == 3);
		_exit(0);
	}
	r = recv(sv[1], buf, 5, MSG_WAITALL);
	out("stream: MSG_WAITALL=%s '%.*s'\n", sres(r), (int)(r > 0 ? r : 0), buf);
	reap(p);
	/* shutdown(SHUT_WR): the peer reads EOF after the data, we get EPIPE. */
	PCHECK(write(sv[0], "end", 3) == 3);
	out("stream: shutdown WR=%s\n", sres(shutdown(sv[0], SHUT_WR)));
	out("stream: peer revents=%s\n", pollev(revents(sv[1])));
	out("stream: own revents=%s\n", pollev(revents(sv[0])));
	out("stream: read=%s\n", sres(read(sv[1], buf, sizeof buf)));
	out("stream: read again=%s\n", sres(read(sv[1], buf, sizeof buf)));
	signal(SIGPIPE, on_pipe);
	pipes = 0;
	const char *w = sres(write(sv[0], "x", 1));
	out("stream: write after SHUT_WR=%s sigpipes=%d\n", w, (int)pipes);
	w = sres(send(sv[0], "x", 1, MSG_NOSIGNAL));
	out("stream: send MSG_NOSIGNAL=%s sigpipes=%d\n", w, (int)pipes);
	out("stream: peer still writes=%s\n", sres(write(sv[1], "back", 4)));
	out("stream: we read=%s\n", sres(read(sv[0], buf, sizeof buf)));
	out("stream: shutdown RD=%s\n", sres(shutdown(sv[0], SHUT_RD)));
	w = sres(write(sv[1], "y", 1));
	out("stream: peer write=%s sigpipes=%d\n", w, (int)pipes);
	out("stream: own revents=%s peer revents=%s\n", pollev(revents(sv[0])), pollev(revents(sv[1])));
	out("stream: shutdown bad how=%s\n", sres(shutdown(sv[0], 3)));
	close(sv[0]);
	close(sv[1]);
	signal(SIGPIPE, SIG_DFL);
}

static void peer_close(int type)
{
	const char *t = typename(type);
	int sv[2];
	char buf[16];
	pair(type, sv);
	PCHECK(write(sv[0], "data", 4) == 4);
	close(sv[0]);
	out("%s close: revents=%s\n", t, pollev(revents(sv[1])));
	out("%s close: read=%s\n", t, sres(read(sv[1], buf, sizeof buf)));
	out("%s close: then %s\n", t, sres(type == SOCK_DGRAM ? recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) : read(sv[1], buf, sizeof buf)));
	signal(SIGPIPE, on_pipe);
	pipes = 0;
	const char *w = sres(write(sv[1], "x", 1));
	out("%s close: write=%s sigpipes=%d\n", t, w, (int)pipes);
	out("%s close: write again=%s\n", t, sres(write(sv[1], "x", 1)));
	signal(SIGPIPE, SIG_DFL);
	close(sv[1]);
	/* The closing side had unread data: ECONNRESET for the other. */
	pair(type, sv);
	PCHECK(write(sv[1], "unread", 6) == 6);
	close(sv[0]);
	out("%s reset: revents=%s SO_ERROR peek skipped\n", t, pollev(revents(sv[1])));
	out("%s reset: read=%s\n", t, sres(type == SOCK_DGRAM ? recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) : read(sv[1], buf, sizeof buf)));
	out("%s reset: then %s\n", t, sres(type == SOCK_DGRAM ? recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) : read(sv[1], buf, sizeof buf)));
	close(sv[1]);
}

static void close_stream(void) { peer_close(SOCK_STREAM); }
static void close_dgram(void) { peer_close(SOCK_DGRAM); }
static void close_seqpacket(void) { peer_close(SOCK_SEQPACKET); }

static void records(int type)
{
	const char *t = typename(type);
	int sv[2];
	char buf[64];
	pair(type, sv);
	PCHECK(write(sv[0], "first", 5) == 5);
	PCHECK(write(sv[0], "second!", 7) == 7);
	PCHECK(write(sv[0], "", 0) == 0);
	int n = -1;
	PCHECK(ioctl(sv[1], FIONREAD, &n) == 0);
	out("%s: FIONREAD=%d\n", t, n);
	ssize_t r = recv(sv[1], buf, sizeof buf, MSG_PEEK);
	out("%s: peek=%s '%.*s'\n", t, sres(r), (int)(r > 0 ? r : 0), buf);
	struct iovec iov = {buf, 3};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	r = recvmsg(sv[1], &m, 0);
	out("%s: recvmsg 3=%s '%.*s' flags=%#x\n", t, sres(r), (int)(r > 0 ? r : 0), buf, m.msg_flags);
	r = recv(sv[1], buf, 2, MSG_TRUNC);
	out("%s: recv 2 MSG_TRUNC=%s '%.2s'\n", t, sres(r), buf);
	r = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	out("%s: empty record=%s\n", t, sres(r));
	out("%s: none left=%s\n", t, sres(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
	out("%s: revents=%s\n", t, pollev(revents(sv[1])));
	out("%s: shutdown WR=%s\n", t, sres(shutdown(sv[0], SHUT_WR)));
	out("%s: own revents=%s peer revents=%s\n", t, pollev(revents(sv[0])), pollev(revents(sv[1])));
	out("%s: peer recv=%s\n", t, sres(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
	signal(SIGPIPE, on_pipe);
	pipes = 0;
	const char *w = sres(send(sv[0], "x", 1, 0));
	out("%s: send after SHUT_WR=%s sigpipes=%d\n", t, w, (int)pipes);
	w = sres(send(sv[1], "y", 1, 0));
	out("%s: peer sends=%s sigpipes=%d\n", t, w, (int)pipes);
	out("%s: own recv=%s\n", t, sres(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT)));
	out("%s: shutdown RD=%s\n", t, sres(shutdown(sv[0], SHUT_RD)));
	w = sres(send(sv[1], "z", 1, 0));
	out("%s: peer sends=%s sigpipes=%d\n", t, w, (int)pipes);
	out("%s: own recv=%s\n", t, sres(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT)));
	out("%s: own revents=%s peer revents=%s\n", t, pollev(revents(sv[0])), pollev(revents(sv[1])));
	signal(SIGPIPE, SIG_DFL);
	close(sv[0]);
	close(sv[1]);
}

static void records_dgram(void) { records(SOCK_DGRAM); }
static void records_seqpacket(void) { records(SOCK_SEQPACKET); }

/* fill writes without blocking until EAGAIN and checks POLLOUT before and
 * after; then the reader drains and the writer may write again. */
static void fill(int type, size_t chunk)
{
	const char *t = typename(type);
	int sv[2];
	pair(type, sv);
	PCHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	static char buf[65536];
	int writes = 0;
	ssize_t r;
	while ((r = write(sv[0], buf, chunk)) > 0)
		writes++;
	int e = errno;
	out("%s fill: ended with %s, some writes=%d\n", t, serr(e), writes > 0);
	out("%s fill: revents=%s\n", t, pollev(revents(sv[0]) & (POLLOUT | POLLERR | POLLHUP)));
	while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	out("%s fill: drained, revents=%s\n", t, pollev(revents(sv[0]) & (POLLOUT | POLLERR | POLLHUP)));
	out("%s fill: write=%s\n", t, sres(write(sv[0], buf, 1) > 0 ? 1 : -1));
	close(sv[0]);
	close(sv[1]);
}

static void fill_all(void)
{
	fill(SOCK_STREAM, 1000);
	fill(SOCK_DGRAM, 1000);
	fill(SOCK_SEQPACKET, 1000);
	int sv[2];
	pair(SOCK_DGRAM, sv);
	int big = 300000;
	PCHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big) == 0);
	static char buf[1 << 20];
	int sz = opt(sv[0], SO_SNDBUF);
	out("dgram: datagram of SO_SNDBUF bytes=%s\n", sres(send(sv[0], buf, (size_t)sz, 0)));
	close(sv[0]);
	close(sv[1]);
}

static void options(void)
{
	int sv[2];
	pair(SOCK_STREAM, sv);
	static const int vals[] = {0, 1, 1000, 2304, 4096, 100000, -1};
	for (int i = 0; i < 7; i++) {
		int v = vals[i];
		PCHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
		PCHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0);
		int s = opt(sv[0], SO_SNDBUF), r = opt(sv[0], SO_RCVBUF);
		if (v < 0 || v > 100000)
			out("set %d: SO_SNDBUF>=200000:%d SO_RCVBUF>=200000:%d\n", v, s >= 200000, r >= 200000);
		else
			out("set %d: SO_SNDBUF=%d SO_RCVBUF=%d\n", v, s, r);
	}
	int one = 1;
	out("SO_PASSCRED set=%s\n", sres(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one)));
	out("SO_PASSCRED get=%d\n", opt(sv[0], SO_PASSCRED));
	out("SO_REUSEADDR set=%s\n", sres(setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)));
	out("SO_REUSEADDR get=%d\n", opt(sv[0], SO_REUSEADDR));
	short tiny = 1;
	out("short optlen=%s\n", sres(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &tiny, sizeof tiny)));
	out("unknown option=%s\n", sres(setsockopt(sv[0], SOL_SOCKET, 9999, &one, sizeof one)));
	out("other level=%s\n", sres(setsockopt(sv[0], 6 /* TCP */, 1, &one, sizeof one)));
	int v = -7;
	socklen_t l = 2;
	const char *r = sres(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l));
	out("getsockopt len 2=%s len=%d v=%d\n", r, (int)l, v);
	l = 100;
	v = -7;
	r = sres(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l));
	out("getsockopt len 100=%s len=%d v=%d\n", r, (int)l, v);
	l = (socklen_t)-1;
	out("getsockopt len -1=%s\n", sres(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l)));
	struct timeval tv = {0, 50000};
	out("SO_RCVTIMEO set=%s\n", sres(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
	memset(&tv, 0, sizeof tv);
	l = sizeof tv;
	r = sres(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l));
	/* Linux keeps the timeout in jiffies: 50ms reads back rounded up to
	 * the host's tick. */
	out("SO_RCVTIMEO get=%s len=%d sec=%ld usec_in_50ms_tick=%d\n", r, (int)l, (long)tv.tv_sec,
	    tv.tv_usec >= 50000 && tv.tv_usec < 60000);
	char b[4];
	out("recv with SO_RCVTIMEO=%s\n", sres(recv(sv[0], b, 4, 0)));
	close(sv[0]);
	close(sv[1]);
}

static void errors(void)
{
	int sv[2];
	out("socket bad type=%s\n", sres(socket(AF_UNIX, 4, 0)));
	out("socket type 15=%s\n", sres(socket(AF_UNIX, 15, 0)));
	out("socket bad flags=%s\n", sres(socket(AF_UNIX, SOCK_STREAM | 0x100, 0)));
	out("socket bad protocol=%s\n", sres(socket(AF_UNIX, SOCK_STREAM, 7)));
	out("socket family 99=%s\n", sres(socket(99, SOCK_STREAM, 0)));
	out("socket family 45=%s\n", sres(socket(45, SOCK_STREAM, 0)));
	int s = socket(AF_UNIX, SOCK_RAW, 0);
	out("socket SOCK_RAW=%s SO_TYPE=%d\n", sres(s < 0 ? -1 : 0), s < 0 ? -1 : opt(s, SO_TYPE));
	if (s >= 0)
		close(s);
	out("socketpair family 99=%s\n", sres(socketpair(99, SOCK_STREAM, 0, sv)));
	int p[2];
	PCHECK(pipe(p) == 0);
	out("getsockname on pipe=%s\n", sres(getsockname(p[0], NULL, NULL)));
	out("send on pipe=%s\n", sres(send(p[1], "x", 1, 0)));
	out("shutdown on bad fd=%s\n", sres(shutdown(99, SHUT_RD)));
	close(p[0]);
	close(p[1]);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	out("socket flags: cloexec=%d nonblock=%d\n", (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0,
	    (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
	char b[4];
	out("unconnected stream: send=%s\n", sres(send(s, "x", 1, MSG_NOSIGNAL)));
	out("unconnected stream: recv=%s\n", sres(recv(s, b, 4, 0)));
	out("unconnected stream: read=%s\n", sres(read(s, b, 4)));
	out("unconnected stream: revents=%s\n", pollev(revents(s)));
	out("unconnected stream: getpeername=%s\n", sres(getpeername(s, NULL, NULL)));
	out("unconnected stream: shutdown=%s\n", sres(shutdown(s, SHUT_RDWR)));
	close(s);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	out("unconnected dgram: send=%s\n", sres(send(s, "x", 1, 0)));
	out("unconnected dgram: revents=%s\n", pollev(revents(s)));
	close(s);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	out("unconnected seqpacket: send=%s\n", sres(send(s, "x", 1, MSG_NOSIGNAL)));
	out("unconnected seqpacket: recv=%s\n", sres(recv(s, b, 4, MSG_DONTWAIT)));
	out("unconnected seqpacket: revents=%s\n", pollev(revents(s)));
	close(s);
	pair(SOCK_STREAM, sv);
	out("stream MSG_OOB recv=%s\n", sres(recv(sv[0], b, 4, MSG_OOB | MSG_DONTWAIT)));
	close(sv[0]);
	close(sv[1]);
	pair(SOCK_DGRAM, sv);
	out("dgram MSG_OOB send=%s\n", sres(send(sv[0], "x", 1, MSG_OOB)));
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	static const struct pcase cases[] = {
		{"basics", basics}, {"stream", stream}, {"close_stream", close_stream},
		{"close_dgram", close_dgram}, {"close_seqpacket", close_seqpacket},
		{"records_dgram", records_dgram}, {"records_seqpacket", records_seqpacket},
		{"fill", fill_all}, {"options", options}, {"errors", errors},
	};
	return run_cases(cases, NCASES(cases), argc, argv);
}

/* net_inet_tcp: TCP over 127.0.0.1. An echo between two processes (the
 * parent listens on a port the kernel picks and learns it with
 * getsockname, a forked child connects and sends 1 MiB in 64 KiB rounds,
 * reading each back with MSG_WAITALL), connect to a closed port, a
 * non-blocking connect finished with poll and SO_ERROR, the errors of
 * calls in the wrong state, SIGPIPE, SO_RCVTIMEO, a blocking accept
 * interrupted by a signal and one ended by SIGKILL. Nothing printed
 * depends on the port or the pid. Exit status 0. */
#define _GNU_SOURCE
#include "net.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	PCHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0 && len == sizeof a);
	return ntohs(a.sin_port);
}

/* listener returns a socket listening on 127.0.0.1 and its port. */
static int listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	PCHECK(fd >= 0);
	int one = 1;
	PCHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
	struct sockaddr_in a = loopback(0);
	PCHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	PCHECK(listen(fd, 8) == 0);
	*port = port_of(fd);
	return fd;
}

/* closed_port returns a port nothing listens on. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(0);
	PCHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	int p = port_of(fd);
	close(fd);
	return p;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 31 + (i >> 9)); }

enum { ROUND = 64 << 10, ROUNDS = 16 };

static void echo_client(int port)
{
	static unsigned char buf[ROUND], back[ROUND];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(port);
	PCHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	PCHECK(getpeername(fd, (struct sockaddr *)&peer, &len) == 0);
	int peer_ok = ntohs(peer.sin_port) == port;
	int one = 1;
	PCHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
	size_t bad = 0;
	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < ROUND; i++)
			buf[i] = pattern(r * ROUND + i);
		PCHECK(write(fd, buf, ROUND) == ROUND);
		PCHECK(recv(fd, back, ROUND, MSG_WAITALL) == ROUND);
		bad += memcmp(buf, back, ROUND) != 0;
	}
	out("child: peer is the listener: %s; %d bytes echoed, rounds wrong: %zu\n", peer_ok ? "yes" : "no",
	    ROUND * ROUNDS, bad);
	PCHECK(shutdown(fd, SHUT_WR) == 0);
	say_r("child: read after shutdown", read(fd, buf, 1));
	close(fd);
	_exit(0);
}

static void echo(void)
{
	int port;
	int l = listener(&port);
	pid_t child = pfork();
	if (child == 0) {
		close(l);
		echo_client(port);
	}
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	int c = accept(l, (struct sockaddr *)&peer, &len);
	PCHECK(c >= 0);
	out("accept: family %s, address %s, length %d\n", peer.sin_family == AF_INET ? "AF_INET" : "?",
	    inet_ntoa(peer.sin_addr), (int)len);
	static char buf[8192];
	long total = 0;
	ssize_t n;
	while ((n = read(c, buf, sizeof buf)) > 0) {
		PCHECK(write(c, buf, n) == n);
		total += n;
	}
	say_r("parent: read at the end", n);
	out("parent: echoed %ld bytes\n", total);
	close(c);
	int st;
	PCHECK(waitpid(child, &st, 0) == child);
	out("child status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(l);
}

static void refused(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(closed_port());
	say_r("connect to a closed port", connect(fd, (struct sockaddr *)&a, sizeof a));
	close(fd);
}

static void nonblocking(void)
{
	int port;
	int l = listener(&port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = loopback(port);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	out("non-blocking connect: %s\n", r == 0 || errno == EINPROGRESS ? "0 or EINPROGRESS" : nerr(errno));
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	say_r("poll", poll(&p, 1, 5000));
	out("revents: %#x\n", p.revents);
	int err = -1;
	socklen_t len = sizeof err;
	say_r("getsockopt SO_ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len));
	out("SO_ERROR: %s\n", nerr(err));
	say_r("connect again", connect(fd, (struct sockaddr *)&a, sizeof a));
	char c;
	say_r("read with nothing sent", read(fd, &c, 1));
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a = loopback(closed_port());
	r = connect(fd, (struct sockaddr *)&a, sizeof a);
	int now = r < 0 && errno == ECONNREFUSED;
	out("non-blocking connect to a closed port: %s\n",
	    now || (r < 0 && errno == EINPROGRESS) ? "ECONNREFUSED or EINPROGRESS" : nerr(errno));
	if (!now) {
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		PCHECK(poll(&p, 1, 5000) == 1);
		err = -1;
		len = sizeof err;
		PCHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
	} else {
		err = ECONNREFUSED;
	}
	out("refused: %s\n", nerr(err));
	err = -1;
	len = sizeof err;
	PCHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
	out("SO_ERROR after reading it: %s\n", nerr(err));
	close(fd);
	close(l);
}

static int sigpipes;
static void on_sigpipe(int sig) { (void)sig, sigpipes++; }
static void on_alarm(int sig) { (void)sig; }

static void errors(void)
{
	say_r("socket SOCK_SEQPACKET", socket(AF_INET, SOCK_SEQPACKET, 0));
	say_r("socket SOCK_STREAM IPPROTO_UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char c = 'x';
	say_r("read unconnected", read(fd, &c, 1));
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	say_r("getpeername unconnected", getpeername(fd, (struct sockaddr *)&a, &len));
	say_r("accept without listen", accept(fd, NULL, NULL));
	signal(SIGPIPE, on_sigpipe);
	say_r("write unconnected", write(fd, &c, 1));
	out("SIGPIPE: %d\n", sigpipes);
	say_r("send MSG_NOSIGNAL", send(fd, &c, 1, MSG_NOSIGNAL));
	out("SIGPIPE: %d\n", sigpipes);
	signal(SIGPIPE, SIG_DFL);
	int v = 0;
	len = sizeof v;
	say_r("getsockopt SO_TYPE", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
	out("SO_TYPE: %d, length %d\n", v, (int)len);
	len = sizeof v;
	say_r("getsockopt SO_PROTOCOL", getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	out("SO_PROTOCOL: %d\n", v);
	len = sizeof v;
	say_r("getsockopt SOL_TCP 999", getsockopt(fd, SOL_TCP, 999, &v, &len));
	say_r("setsockopt SO_TYPE", setsockopt(fd, SOL_SOCKET, SO_TYPE, &v, sizeof v));
	short s2;
	len = sizeof s2;
	say_r("getsockopt TCP_NODELAY into 2 bytes", getsockopt(fd, SOL_TCP, TCP_NODELAY, &s2, &len));
	out("length: %d\n", (int)len);

	int port;
	int l = listener(&port);
	a = loopback(port);
	say_r("bind a port in use", bind(fd, (struct sockaddr *)&a, sizeof a));
	say_r("bind short address", bind(fd, (struct sockaddr *)&a, 8));
	a.sin_family = AF_INET6;
	say_r("bind wrong family", bind(fd, (struct sockaddr *)&a, sizeof a));
	a = loopback(port);
	say_r("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	say_r("connect again", connect(fd, (struct sockaddr *)&a, sizeof a));
	int c2 = accept(l, NULL, NULL);
	PCHECK(c2 >= 0);
	say_r("write 5", write(c2, "hello", 5));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	PCHECK(poll(&p, 1, 5000) == 1);
	say_r("FIONREAD", ioctl(fd, FIONREAD, &v));
	out("FIONREAD: %d\n", v);
	char buf[8];
	say_r("recv MSG_PEEK", recv(fd, buf, sizeof buf, MSG_PEEK));
	say_r("recv", recv(fd, buf, sizeof buf, 0));
	say_r("recv MSG_DONTWAIT", recv(fd, buf, sizeof buf, MSG_DONTWAIT));

	struct timeval tv = {.tv_usec = 100000};
	say_r("SO_RCVTIMEO 100ms", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	say_r("recv with a timeout", recv(fd, buf, sizeof buf, 0));
	struct timeval got;
	len = sizeof got;
	say_r("getsockopt SO_RCVTIMEO", getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len));
	out("SO_RCVTIMEO: %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);

	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	say_r("accept interrupted", accept(l, NULL, NULL));
	close(c2);
	close(fd);

	pid_t child = pfork();
	if (child == 0) {
		accept(l, NULL, NULL);
		_exit(3);
	}
	usleep(100000);
	kill(child, SIGKILL);
	int st;
	PCHECK(waitpid(child, &st, 0) == child);
	out("accept ended by %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "SIGKILL" : "something else");
	close(l);
}

int main(void)
{
	echo();
	refused();
	nonblocking();
	errors();
	return 0;
}

/* net_unix_echo: an echo server and a forked client over AF_UNIX, for
 * stream, dgram and seqpacket, on a filesystem name in the working
 * directory and on an abstract name. The server binds and listens before
 * the fork, so the client never races it; it answers each message with
 * its upper-case copy until the client shuts down or says "bye". Names,
 * peer addresses and credentials are printed where they do not vary. */
#define _GNU_SOURCE
#include "net_unix.h"
#include <ctype.h>
#include <sys/stat.h>

/* The client's lines go through a pipe and are printed by the server
 * after the client ends, so that the output does not depend on how the
 * two processes interleave. */
static int clientlog[2];

static void cout(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		PCHECK(write(clientlog[1], buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1)) > 0);
}

/* flush_client prints what the client logged. */
static void flush_client(void)
{
	char buf[4096];
	ssize_t n;
	close(clientlog[1]);
	while ((n = read(clientlog[0], buf, sizeof buf)) > 0)
		PCHECK(write(1, buf, (size_t)n) == n);
	close(clientlog[0]);
}

static const char *msgs[] = {"hello", "a longer second message", "x", "bye"};

static void upcase(char *b, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++)
		b[i] = (char)toupper((unsigned char)b[i]);
}

static void show_name(void (*say)(const char *, ...), const char *who, int fd, int peer)
{
	struct sockaddr_un a;
	socklen_t l = sizeof a;
	memset(&a, 0, sizeof a);
	int r = peer ? getpeername(fd, (void *)&a, &l) : getsockname(fd, (void *)&a, &l);
	if (r < 0) {
		say("%s: %s=%s\n", who, peer ? "peer" : "name", sres(r));
		return;
	}
	const char *path = a.sun_path;
	int abstract = l > 2 && a.sun_path[0] == 0;
	say("%s: %s len=%d %s'%s'\n", who, peer ? "peer" : "name", (int)l, abstract ? "abstract " : "",
	    abstract ? path + 1 : (l > 2 ? path : ""));
}

/* client talks to the server at addr. */
static void client(int type, const struct sockaddr_un *addr, socklen_t len)
{
	int s = socket(AF_UNIX, type, 0);
	PCHECK(s >= 0);
	if (type == SOCK_DGRAM) {
		/* A datagram client needs a name for the answers. */
		struct sockaddr_un me;
		socklen_t ml = unaddr(&me, "echo-client", addr->sun_path[0] == 0);
		if (addr->sun_path[0] != 0)
			unlink("echo-client");
		PCHECK(bind(s, (void *)&me, ml) == 0);
	}
	PCHECK(connect(s, (const void *)addr, len) == 0);
	show_name(cout, "client", s, 1);
	struct ucred c;
	socklen_t cl = sizeof c;
	PCHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &c, &cl) == 0);
	cout("client: peer pid is parent=%d uid ok=%d\n", c.pid == getppid(), c.uid == geteuid());
	char buf[128];
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		PCHECK(send(s, msgs[i], strlen(msgs[i]), 0) == (ssize_t)strlen(msgs[i]));
		ssize_t n = type == SOCK_STREAM ? recv(s, buf, strlen(msgs[i]), MSG_WAITALL) : recv(s, buf, sizeof buf, 0);
		PCHECK(n >= 0);
		cout("client: got %zd '%.*s'\n", n, (int)n, buf);
	}
	if (type == SOCK_DGRAM && addr->sun_path[0] != 0)
		unlink("echo-client");
	close(s);
	_exit(0);
}

/* serve answers one client on conn (connection types) or on the bound
 * socket itself (dgram). */
static void serve(int type, int conn)
{
	char buf[128];
	for (;;) {
		struct sockaddr_un from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(conn, buf, type == SOCK_STREAM ? 5 : sizeof buf, 0, (void *)&from, &fl);
		PCHECK(n >= 0);
		if (n == 0) {
			out("server: end of stream\n");
			break;
		}
		int done = n == 3 && memcmp(buf, "bye", 3) == 0;
		out("server: got %zd '%.*s' fromlen=%d\n", n, (int)n, buf, (int)fl);
		upcase(buf, n);
		if (type == SOCK_DGRAM)
			PCHECK(sendto(conn, buf, (size_t)n, 0, (void *)&from, fl) == n);
		else
			PCHECK(send(conn, buf, (size_t)n, 0) == n);
		if (done && type != SOCK_STREAM)
			break;
	}
}

static void echo(int type, int abstract)
{
	const char *t = typename(type);
	char who[64];
	snprintf(who, sizeof who, "%s %s", t, abstract ? "abstract" : "path");
	out("== %s\n", who);
	struct sockaddr_un addr;
	char name[64];
	snprintf(name, sizeof name, "echo-%s", t);
	socklen_t len = unaddr(&addr, name, abstract);
	if (!abstract)
		unlink(name);
	int s = socket(AF_UNIX, type, 0);
	PCHECK(s >= 0);
	PCHECK(bind(s, (void *)&addr, len) == 0);
	show_name(out, "server", s, 0);
	if (!abstract) {
		struct stat st;
		PCHECK(stat(name, &st) == 0);
		out("server: node is socket=%d\n", S_ISSOCK(st.st_mode));
	}
	if (type != SOCK_DGRAM) {
		PCHECK(listen(s, 4) == 0);
		int v = 0;
		socklen_t vl = sizeof v;
		PCHECK(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0);
		out("server: SO_ACCEPTCONN=%d\n", v);
	}
	PCHECK(pipe(clientlog) == 0);
	pid_t p = pfork();
	if (p == 0) {
		close(clientlog[0]);
		client(type, &addr, len);
	}
	if (type == SOCK_DGRAM) {
		serve(type, s);
	} else {
		struct sockaddr_un peer;
		socklen_t pl = sizeof peer;
		memset(&peer, 0x55, sizeof peer);
		int c = accept4(s, (void *)&peer, &pl, SOCK_CLOEXEC);
		PCHECK(c >= 0);
		out("server: accepted, peer len=%d family=%d cloexec=%d\n", (int)pl, peer.sun_family,
		    (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
		show_name(out, "server conn", c, 0);
		struct ucred cr;
		socklen_t cl = sizeof cr;
		PCHECK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0);
		out("server: peer pid is child=%d uid ok=%d\n", cr.pid == p, cr.uid == geteuid());
		serve(type, c);
		close(c);
	}
	out("server: client %s\n", wstat(reap(p)));
	flush_client();
	close(s);
	if (!abstract)
		PCHECK(unlink(name) == 0);
}

static void stream_path(void) { echo(SOCK_STREAM, 0); }
static void stream_abstract(void) { echo(SOCK_STREAM, 1); }
static void dgram_path(void) { echo(SOCK_DGRAM, 0); }
static void dgram_abstract(void) { echo(SOCK_DGRAM, 1); }
static void seqpacket_path(void) { echo(SOCK_SEQPACKET, 0); }
static void seqpacket_abstract(void) { echo(SOCK_SEQPACKET, 1); }

/* backlog: connections wait in the backlog before accept; a full backlog
 * makes a non-blocking connect fail with EAGAIN; data sent before accept
 * is there after it; closing the listener resets the waiting ones. */
static void backlog(void)
{
	struct sockaddr_un addr;
	socklen_t len = unaddr(&addr, "echo-backlog", 1);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	PCHECK(bind(l, (void *)&addr, len) == 0);
	PCHECK(listen(l, 1) == 0);
	out("backlog: listener revents=%s\n", pollev(revents(l)));
	int c[4];
	for (int i = 0; i < 4; i++) {
		c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		out("backlog: connect %d=%s\n", i, sres(connect(c[i], (void *)&addr, len)));
	}
	out("backlog: listener revents=%s\n", pollev(revents(l)));
	out("backlog: send before accept=%s\n", sres(send(c[0], "early", 5, 0)));
	int a = accept(l, NULL, NULL);
	char buf[16];
	out("backlog: accepted, read=%s\n", sres(read(a, buf, sizeof buf)));
	out("backlog: connect again=%s\n", sres(connect(c[3], (void *)&addr, len)));
	out("backlog: connect connected=%s\n", sres(connect(c[0], (void *)&addr, len)));
	close(l);
	out("backlog: queued client after listener close: revents=%s\n", pollev(revents(c[1])));
	out("backlog: queued client read=%s\n", sres(read(c[1], buf, sizeof buf)));
	out("backlog: accepted client still works=%s\n", sres(write(a, "ok", 2)));
	for (int i = 0; i < 4; i++)
		close(c[i]);
	close(a);
}

/* blocking connect waits for a slot in a full backlog until accept. */
static void blocking_connect(void)
{
	struct sockaddr_un addr;
	socklen_t len = unaddr(&addr, "echo-blocking", 1);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	PCHECK(bind(l, (void *)&addr, len) == 0);
	PCHECK(listen(l, 0) == 0);
	int first = socket(AF_UNIX, SOCK_STREAM, 0);
	PCHECK(connect(first, (void *)&addr, len) == 0);
	pid_t p = pfork();
	if (p == 0) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(connect(s, (void *)&addr, len) == 0 ? 0 : 10 + errno);
	}
	usleep(100000);
	out("blocking: parent accepts\n");
	int a = accept(l, NULL, NULL);
	PCHECK(a >= 0);
	out("blocking: child %s\n", wstat(reap(p)));
	close(a);
	close(first);
	close(l);
}

int main(int argc, char **argv)
{
	static const struct pcase cases[] = {
		{"stream_path", stream_path}, {"stream_abstract", stream_abstract},
		{"dgram_path", dgram_path}, {"dgram_abstract", dgram_abstract},
		{"seqpacket_path", seqpacket_path}, {"seqpacket_abstract", seqpacket_abstract},
		{"backlog", backlog}, {"blocking_connect", blocking_connect},
	};
	return run_cases(cases, NCASES(cases), argc, argv);
}

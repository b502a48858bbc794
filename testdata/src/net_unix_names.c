/* net_unix_names: AF_UNIX names and their errors. bind makes a socket
 * node in the working directory (umask applies; EADDRINUSE when the name
 * exists; EINVAL for a bound socket); connect to a missing name is
 * ENOENT, to a file that is no socket or to a node nobody listens on
 * ECONNREFUSED, to another type EPROTOTYPE; the node reaches the socket
 * by inode (a renamed node still does, an unlinked one not); abstract
 * names (EADDRINUSE, ECONNREFUSED, free again after close); autobind;
 * address length checks; datagram sources; listen and accept errors. */
#define _GNU_SOURCE
#include "net_unix.h"
#include <sys/stat.h>
#include <sys/syscall.h>

static int sock(int type)
{
	int s = socket(AF_UNIX, type, 0);
	PCHECK(s >= 0);
	return s;
}

static int bindto(int s, const char *name, int abstract)
{
	struct sockaddr_un a;
	socklen_t l = unaddr(&a, name, abstract);
	return bind(s, (void *)&a, l);
}

static int connectto(int s, const char *name, int abstract)
{
	struct sockaddr_un a;
	socklen_t l = unaddr(&a, name, abstract);
	return connect(s, (void *)&a, l);
}

static void paths(void)
{
	unlink("n-sock");
	unlink("n-file");
	unlink("n-renamed");
	umask(022);
	int s = sock(SOCK_STREAM);
	out("bind=%s\n", sres(bindto(s, "n-sock", 0)));
	struct stat st;
	PCHECK(stat("n-sock", &st) == 0);
	out("node: socket=%d mode=%o size=%d\n", S_ISSOCK(st.st_mode), st.st_mode & 07777, (int)st.st_size);
	out("bind again=%s\n", sres(bindto(s, "n-other", 0)));
	struct sockaddr_un a;
	socklen_t l = sizeof a;
	PCHECK(getsockname(s, (void *)&a, &l) == 0);
	out("getsockname len=%d path='%s'\n", (int)l, a.sun_path);
	int t = sock(SOCK_STREAM);
	out("bind existing name=%s\n", sres(bindto(t, "n-sock", 0)));
	int f = open("n-file", O_CREAT | O_WRONLY, 0644);
	close(f);
	out("bind over a file=%s\n", sres(bindto(t, "n-file", 0)));
	out("bind in a missing dir=%s\n", sres(bindto(t, "no-such-dir/x", 0)));
	out("connect missing=%s\n", sres(connectto(t, "n-missing", 0)));
	out("connect file=%s\n", sres(connectto(t, "n-file", 0)));
	out("connect dir=%s\n", sres(connectto(t, ".", 0)));
	out("connect not listening=%s\n", sres(connectto(t, "n-sock", 0)));
	PCHECK(listen(s, 5) == 0);
	int d = sock(SOCK_DGRAM);
	out("dgram connect to stream=%s\n", sres(connectto(d, "n-sock", 0)));
	close(d);
	PCHECK(rename("n-sock", "n-renamed") == 0);
	out("connect renamed=%s\n", sres(connectto(t, "n-renamed", 0)));
	int c = accept(s, NULL, NULL);
	out("accepted=%d\n", c >= 0);
	close(c);
	close(t);
	t = sock(SOCK_STREAM);
	PCHECK(unlink("n-renamed") == 0);
	out("connect unlinked=%s\n", sres(connectto(t, "n-renamed", 0)));
	close(s);
	s = sock(SOCK_STREAM);
	PCHECK(bindto(s, "n-sock", 0) == 0);
	close(s);
	out("connect to a closed socket's node=%s\n", sres(connectto(t, "n-sock", 0)));
	umask(077);
	s = sock(SOCK_DGRAM);
	PCHECK(unlink("n-sock") == 0);
	PCHECK(bindto(s, "n-sock", 0) == 0);
	PCHECK(stat("n-sock", &st) == 0);
	out("umask 077 node mode=%o\n", st.st_mode & 07777);
	umask(022);
	out("stream connect to dgram=%s\n", sres(connectto(t, "n-sock", 0)));
	close(s);
	close(t);
	unlink("n-sock");
	unlink("n-file");
}

static void abstract(void)
{
	int s = sock(SOCK_SEQPACKET);
	out("abstract bind=%s\n", sres(bindto(s, "n-abs", 1)));
	int t = sock(SOCK_SEQPACKET);
	out("abstract bind taken=%s\n", sres(bindto(t, "n-abs", 1)));
	out("abstract connect unbound name=%s\n", sres(connectto(t, "n-none", 1)));
	out("abstract connect not listening=%s\n", sres(connectto(t, "n-abs", 1)));
	PCHECK(listen(s, 1) == 0);
	out("abstract connect=%s\n", sres(connectto(t, "n-abs", 1)));
	struct sockaddr_un a;
	socklen_t l = sizeof a;
	PCHECK(getpeername(t, (void *)&a, &l) == 0);
	out("peer len=%d first byte=%d name='%.*s'\n", (int)l, a.sun_path[0], (int)l - 3, a.sun_path + 1);
	close(s);
	s = sock(SOCK_SEQPACKET);
	out("abstract name free after close=%s\n", sres(bindto(s, "n-abs", 1)));
	close(s);
	close(t);
	/* The name is all of sun_path's bytes up to the length. */
	s = sock(SOCK_DGRAM);
	t = sock(SOCK_DGRAM);
	struct sockaddr_un x;
	socklen_t xl = unaddr(&x, "n-len", 1);
	PCHECK(bind(s, (void *)&x, xl) == 0);
	out("shorter abstract name=%s\n", sres(sendto(t, "m", 1, 0, (void *)&x, xl - 1)));
	out("same abstract name=%s\n", sres(sendto(t, "m", 1, 0, (void *)&x, xl)));
	close(s);
	close(t);
}

static void autobind(void)
{
	int s = sock(SOCK_DGRAM);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	out("bind family only=%s\n", sres(bind(s, (void *)&a, sizeof(sa_family_t))));
	socklen_t l = sizeof a;
	PCHECK(getsockname(s, (void *)&a, &l) == 0);
	int hex = 1;
	for (int i = 1; i < 6; i++)
		hex &= (a.sun_path[i] >= '0' && a.sun_path[i] <= '9') || (a.sun_path[i] >= 'a' && a.sun_path[i] <= 'f');
	out("autobind len=%d abstract=%d five hex digits=%d\n", (int)l, a.sun_path[0] == 0, hex);
	/* A datagram from an unbound socket has no source; from a bound one
	 * its name. */
	int u = sock(SOCK_DGRAM);
	PCHECK(sendto(u, "anon", 4, 0, (void *)&a, l) == 4);
	struct sockaddr_un from;
	socklen_t fl = sizeof from;
	char buf[8];
	PCHECK(recvfrom(s, buf, sizeof buf, 0, (void *)&from, &fl) == 4);
	out("source of unbound sender: len=%d\n", (int)fl);
	int one = 1;
	PCHECK(setsockopt(u, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
	PCHECK(sendto(u, "cred", 4, 0, (void *)&a, l) == 4);
	fl = sizeof from;
	PCHECK(recvfrom(s, buf, sizeof buf, 0, (void *)&from, &fl) == 4);
	out("source of SO_PASSCRED sender (autobound): len=%d abstract=%d\n", (int)fl, from.sun_path[0] == 0);
	close(u);
	/* connect with SO_PASSCRED autobinds too. */
	int c = sock(SOCK_DGRAM);
	PCHECK(setsockopt(c, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
	PCHECK(connect(c, (void *)&a, l) == 0);
	struct sockaddr_un me;
	socklen_t ml = sizeof me;
	PCHECK(getsockname(c, (void *)&me, &ml) == 0);
	out("connect with SO_PASSCRED: own name len=%d\n", (int)ml);
	close(c);
	close(s);
}

static void lengths(void)
{
	int s = sock(SOCK_STREAM);
	struct sockaddr_un a;
	unaddr(&a, "n-len", 0);
	out("addrlen 1=%s\n", sres(bind(s, (void *)&a, 1)));
	out("addrlen 111=%s\n", sres(bind(s, (void *)&a, 111)));
	out("addrlen 129=%s\n", sres(bind(s, (void *)&a, 129)));
	out("addrlen -1=%s\n", sres(bind(s, (void *)&a, (socklen_t)-1)));
	a.sun_family = AF_INET;
	out("family AF_INET=%s\n", sres(bind(s, (void *)&a, sizeof a)));
	out("bad address=%s\n", sres(bind(s, (void *)8, sizeof a)));
	a.sun_family = AF_UNIX;
	out("connect family only=%s\n", sres(connect(s, (void *)&a, sizeof(sa_family_t))));
	close(s);
}

static void listening(void)
{
	int s = sock(SOCK_STREAM);
	out("listen unbound=%s\n", sres(listen(s, 1)));
	out("accept not listening=%s\n", sres(accept(s, NULL, NULL)));
	out("accept4 bad flags=%s\n", sres(accept4(s, NULL, NULL, 0x1)));
	close(s);
	s = sock(SOCK_DGRAM);
	out("listen dgram=%s\n", sres(listen(s, 1)));
	out("accept dgram=%s\n", sres(accept(s, NULL, NULL)));
	close(s);
	s = sock(SOCK_STREAM | SOCK_NONBLOCK);
	PCHECK(bindto(s, "n-listen", 1) == 0);
	PCHECK(listen(s, 1) == 0);
	struct ucred c = {0, 0, 0};
	socklen_t cl = sizeof c;
	PCHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &c, &cl) == 0);
	out("listener SO_PEERCRED is its own: pid=%d uid=%d\n", c.pid == getpid(), c.uid == geteuid());
	int u = sock(SOCK_STREAM);
	cl = sizeof c;
	PCHECK(getsockopt(u, SOL_SOCKET, SO_PEERCRED, &c, &cl) == 0);
	out("unconnected SO_PEERCRED: pid=%d uid=%d gid=%d\n", c.pid, (int)c.uid, (int)c.gid);
	close(u);
	out("nonblocking accept=%s\n", sres(accept(s, NULL, NULL)));
	out("listener revents=%s\n", pollev(revents(s)));
	out("listen again=%s\n", sres(listen(s, 10)));
	out("connect a listener=%s\n", sres(connectto(s, "n-listen", 1)));
	char b;
	out("read a listener=%s\n", sres(read(s, &b, 1)));
	close(s);
}

static void dgram_peers(void)
{
	int a = sock(SOCK_DGRAM), b = sock(SOCK_DGRAM), c = sock(SOCK_DGRAM);
	PCHECK(bindto(a, "n-a", 1) == 0);
	PCHECK(bindto(b, "n-b", 1) == 0);
	PCHECK(connectto(a, "n-b", 1) == 0);
	out("a connected to b, c sends to a=%s\n", sres(
		({ struct sockaddr_un x; socklen_t xl = unaddr(&x, "n-a", 1); sendto(c, "x", 1, 0, (void *)&x, xl); })));
	out("b sends to a=%s\n", sres(({ struct sockaddr_un x; socklen_t xl = unaddr(&x, "n-a", 1); sendto(b, "y", 1, 0, (void *)&x, xl); })));
	out("a sends to its peer=%s\n", sres(send(a, "z", 1, 0)));
	struct sockaddr_un un = {.sun_family = AF_UNSPEC};
	out("a disconnects=%s\n", sres(connect(a, (void *)&un, sizeof un)));
	out("a send without peer=%s\n", sres(send(a, "z", 1, 0)));
	out("c sends to a again=%s\n", sres(
		({ struct sockaddr_un x; socklen_t xl = unaddr(&x, "n-a", 1); sendto(c, "x", 1, 0, (void *)&x, xl); })));
	/* A full queue of a socket that is not connected back: EAGAIN. */
	int n = 0;
	struct sockaddr_un bx;
	socklen_t bl = unaddr(&bx, "n-b", 1);
	while (sendto(c, "q", 1, MSG_DONTWAIT, (void *)&bx, bl) == 1)
		n++;
	out("queue to b held %d then %s\n", n, serr(errno));
	close(a);
	close(b);
	close(c);
}

static void socketcall_direct(void)
{
	/* i386: the socketcall multiplexer; x86-64: the direct call. */
#ifdef __i386__
	unsigned long args[4] = {AF_UNIX, SOCK_STREAM, 0, 0};
	int sv[2];
	args[3] = (unsigned long)sv;
	long r = syscall(SYS_socketcall, 8 /* SYS_SOCKETPAIR */, args);
#else
	int sv[2];
	long r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
#endif
	out("socketpair through the ABI's call=%s\n", sres(r));
	PCHECK(write(sv[0], "s", 1) == 1);
	char b;
	out("read=%s\n", sres(read(sv[1], &b, 1)));
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	static const struct pcase cases[] = {
		{"paths", paths}, {"abstract", abstract}, {"autobind", autobind}, {"lengths", lengths},
		{"listening", listening}, {"dgram_peers", dgram_peers}, {"socketcall", socketcall_direct},
	};
	return run_cases(cases, NCASES(cases), argc, argv);
}

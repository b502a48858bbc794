/* net_inet_udp: UDP over 127.0.0.1 (and ::1 where the host has it).
 * A round trip between two processes with sendto/recvfrom (the source
 * address is the sender's), MSG_PEEK, MSG_TRUNC, a connected socket and
 * its ECONNREFUSED after a datagram to a closed port, sendmsg/recvmsg with
 * two iovecs, MSG_DONTWAIT. Nothing printed depends on the port or the
 * pid. Exit status 0. */
#define _GNU_SOURCE
#include "net.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int port_of(int fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof a;
	PCHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	return ntohs(((struct sockaddr_in *)&a)->sin_port);
}

static int bound(int port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loopback(port);
	PCHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	return fd;
}

static void round_trip(void)
{
	int srv = bound(0);
	int port = port_of(srv);
	pid_t child = pfork();
	if (child == 0) {
		int fd = bound(0);
		struct sockaddr_in to = loopback(port);
		PCHECK(sendto(fd, "ping", 4, 0, (struct sockaddr *)&to, sizeof to) == 4);
		char buf[16];
		struct sockaddr_in from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
		PCHECK(n == 4);
		out("child: got %.4s from the server: %s\n", buf, ntohs(from.sin_port) == port ? "yes" : "no");
		_exit(0);
	}
	char buf[16];
	struct sockaddr_in from;
	socklen_t len = sizeof from;
	say_r("recv MSG_PEEK", recvfrom(srv, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &len));
	say_r("recv MSG_TRUNC into 2", recv(srv, buf, 2, MSG_TRUNC | MSG_PEEK));
	len = sizeof from;
	ssize_t n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
	out("server: got %.*s, address length %d, from %s\n", (int)n, buf, (int)len, inet_ntoa(from.sin_addr));
	PCHECK(sendto(srv, "pong", 4, 0, (struct sockaddr *)&from, len) == 4);
	int st;
	PCHECK(waitpid(child, &st, 0) == child);
	out("child status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(srv);
}

static void datagrams(void)
{
	int a = bound(0), b = bound(0);
	struct sockaddr_in to = loopback(port_of(b));
	say_r("send unconnected without address", send(a, "x", 1, 0));
	say_r("connect", connect(a, (struct sockaddr *)&to, sizeof to));
	char one[3] = "abc", two[4] = "defg";
	struct iovec iov[2] = {{one, 3}, {two, 4}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	say_r("sendmsg 2 iovecs", sendmsg(a, &m, 0));
	char r1[2], r2[8];
	struct iovec riov[2] = {{r1, 2}, {r2, 8}};
	struct sockaddr_in from;
	struct msghdr rm = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = riov, .msg_iovlen = 2};
	say_r("recvmsg", recvmsg(b, &rm, 0));
	out("data: %.2s|%.5s, namelen %d, flags %#x\n", r1, r2, (int)rm.msg_namelen, rm.msg_flags);
	say_r("send 10", send(a, "0123456789", 10, 0));
	char small[4];
	struct iovec siov = {small, 4};
	rm = (struct msghdr){.msg_iov = &siov, .msg_iovlen = 1};
	say_r("recvmsg into 4", recvmsg(b, &rm, 0));
	out("flags: MSG_TRUNC %s\n", rm.msg_flags & MSG_TRUNC ? "yes" : "no");
	say_r("recv MSG_DONTWAIT on empty", recv(b, small, 4, MSG_DONTWAIT));
	say_r("send 0 bytes", send(a, "", 0, 0));
	say_r("recv the empty datagram", recv(b, small, 4, 0));
	close(b);

	/* b's port is closed now: the ICMP error comes back to a. */
	say_r("send to the closed port", send(a, "x", 1, 0));
	struct pollfd p = {.fd = a, .events = POLLIN};
	say_r("poll", poll(&p, 1, 5000));
	out("revents: %#x\n", p.revents);
	say_r("recv", recv(a, small, 4, 0));
	say_r("recv again", recv(a, small, 4, MSG_DONTWAIT));
	close(a);
}

static void ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	PCHECK(fd >= 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		out("ipv6: bind ::1: %s (skipped)\n", nerr(errno));
		close(fd);
		return;
	}
	socklen_t len = sizeof a;
	PCHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	say_r("ipv6: sendto self", sendto(fd, "six", 3, 0, (struct sockaddr *)&a, len));
	char buf[8];
	struct sockaddr_in6 from;
	len = sizeof from;
	say_r("ipv6: recvfrom", recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
	out("ipv6: from ::1: %s, length %d\n", memcmp(&from.sin6_addr, &in6addr_loopback, 16) == 0 ? "yes" : "no",
	    (int)len);
	int v = -1;
	len = sizeof v;
	say_r("ipv6: IPV6_V6ONLY", getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len));
	close(fd);
}

int main(void)
{
	round_trip();
	datagrams();
	ipv6();
	return 0;
}

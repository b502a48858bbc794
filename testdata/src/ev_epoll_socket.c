/* ev_epoll_socket: epoll over AF_UNIX sockets. A stream socketpair:
 * EPOLLOUT at once, EPOLLIN level- and edge-triggered, the peer's
 * shutdown(SHUT_WR) (EPOLLIN|EPOLLRDHUP) and close (EPOLLHUP too); a
 * socket closed while in an epoll set leaves it and is really closed (the
 * peer reads end of file); a listening socket is readable when a
 * connection waits. One line a case; exit 0. */
#define _GNU_SOURCE
#include "ev.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

static void ready(const char *label, int ep)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, 8, 0);
	CHECK(n >= 0);
	uint32_t by[4] = {0};
	for (int i = 0; i < n; i++)
		by[evs[i].data.u32] = evs[i].events;
	printf("%s: %d [1: %#x 2: %#x 3: %#x]\n", label, n, by[1], by[2], by[3]);
}

static int add(int ep, int op, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};
	return epoll_ctl(ep, op, fd, &ev);
}

int main(void)
{
	int ep = epoll_create1(0), sv[2];
	CHECK(ep >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(add(ep, EPOLL_CTL_ADD, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1) == 0);
	ready("pair: writable", ep);
	CHECK(add(ep, EPOLL_CTL_MOD, sv[0], EPOLLIN | EPOLLRDHUP, 1) == 0);
	ready("pair: nothing to read", ep);
	CHECK(write(sv[1], "abc", 3) == 3);
	ready("pair: data", ep);
	ready("pair: data, level", ep);
	CHECK(add(ep, EPOLL_CTL_MOD, sv[0], EPOLLIN | EPOLLRDHUP | EPOLLET, 1) == 0);
	ready("pair: edge", ep);
	ready("pair: edge again", ep);
	CHECK(write(sv[1], "d", 1) == 1);
	ready("pair: edge, more data", ep);
	char buf[8];
	CHECK(read(sv[0], buf, sizeof buf) == 4);
	CHECK(add(ep, EPOLL_CTL_MOD, sv[0], EPOLLIN | EPOLLRDHUP, 1) == 0);
	CHECK(shutdown(sv[1], SHUT_WR) == 0);
	ready("pair: peer shut down writing", ep);
	CHECK(close(sv[1]) == 0);
	ready("pair: peer closed", ep);
	close(sv[0]);
	ready("pair: closed", ep);

	/* closing a socket in the set closes it: the peer sees end of file */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(add(ep, EPOLL_CTL_ADD, sv[0], EPOLLIN, 2) == 0);
	CHECK(add(ep, EPOLL_CTL_ADD, sv[1], EPOLLIN | EPOLLRDHUP, 3) == 0);
	close(sv[0]);
	ready("close without DEL", ep);
	SHOW("peer reads", read(sv[1], buf, sizeof buf));
	close(sv[1]);

	/* a listener */
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path + 1, "ev_epoll_socket");
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen("ev_epoll_socket");
	CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, len) == 0 && listen(l, 4) == 0);
	CHECK(add(ep, EPOLL_CTL_ADD, l, EPOLLIN, 1) == 0);
	ready("listener idle", ep);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(c >= 0 && connect(c, (struct sockaddr *)&a, len) == 0);
	ready("listener, a connection waits", ep);
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	ready("listener, accepted", ep);
	printf("done\n");
	return 0;
}

/* ev_epoll_host: epoll and poll on standard input when it is a pipe of
 * the host: level-triggered readiness, the data, end of file (EPOLLHUP
 * with EPOLLIN, then EPOLLHUP alone), edge-triggered reporting once.
 * Run with some bytes on stdin. One line a case; exit 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <poll.h>
#include <sys/epoll.h>

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = 7}, out[2];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == 0);
	/* the writer closes after writing: wait for the end of file too */
	struct pollfd p = {.fd = 0, .events = POLLIN};
	for (int i = 0; i < 100; i++) {
		CHECK(poll(&p, 1, 5000) == 1);
		if (p.revents & POLLHUP)
			break;
		usleep(10000);
	}
	printf("poll: %#x\n", p.revents);
	int n = epoll_wait(ep, out, 2, 5000);
	printf("epoll: %d tag %u events %#x\n", n, out[0].data.u32, out[0].events);
	n = epoll_wait(ep, out, 2, 0);
	printf("epoll again (level): %d\n", n);
	char buf[64] = {0};
	ssize_t r = read(0, buf, sizeof buf - 1);
	printf("read %zd: %s", r, buf);
	n = epoll_wait(ep, out, 2, 1000);
	printf("at end of file: %d events %#x\n", n, out[0].events);
	ev.events = EPOLLIN | EPOLLET;
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, 0, &ev) == 0);
	n = epoll_wait(ep, out, 2, 1000);
	printf("edge: %d events %#x\n", n, out[0].events);
	n = epoll_wait(ep, out, 2, 50);
	printf("edge again: %d\n", n);
	printf("done\n");
	return 0;
}

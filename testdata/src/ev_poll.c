/* ev_poll: poll, ppoll, select and pselect6 on eventfd, timerfd and epoll
 * files: readiness without waiting, waits that a child's write or a timer
 * ends, and a descriptor closed before the call (POLLNVAL; EBADF for
 * select). One line a case; exit 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

static void efd_add(int fd, uint64_t v) { CHECK(write(fd, &v, 8) == 8); }

static void show_poll(const char *label, struct pollfd *p, int n, int timeout)
{
	errno = 0;
	int r = poll(p, n, timeout);
	printf("%s: %d %s", label, r, r < 0 ? errname(errno) : "");
	for (int i = 0; i < n; i++)
		printf(" %#x", p[i].revents);
	printf("\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int e = eventfd(0, EFD_NONBLOCK);
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	int ep = epoll_create1(0);
	CHECK(e >= 0 && t >= 0 && ep >= 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);

	struct pollfd p[3] = {
		{.fd = e, .events = POLLIN | POLLOUT | POLLRDNORM},
		{.fd = t, .events = POLLIN | POLLOUT},
		{.fd = ep, .events = POLLIN | POLLOUT},
	};
	show_poll("poll idle", p, 3, 0);
	show_poll("poll idle, 20ms", p, 3, 20);

	/* a child's write ends a wait on the eventfd */
	p[0].events = POLLIN;
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(40000);
		efd_add(e, 2);
		_exit(0);
	}
	show_poll("poll woken by eventfd write", p, 3, 5000);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	uint64_t v;
	CHECK(read(e, &v, 8) == 8);

	/* the timer ends a wait */
	struct itimerspec its = {.it_value = {0, 30000000}};
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	show_poll("poll woken by timer", p, 3, 5000);
	CHECK(read(t, &v, 8) == 8);

	/* ppoll with a timeout and a mask */
	struct timespec ts = {0, 20000000};
	sigset_t none;
	sigemptyset(&none);
	int r = ppoll(p, 3, &ts, &none);
	printf("ppoll idle: %d %#x %#x %#x\n", r, p[0].revents, p[1].revents, p[2].revents);
	its.it_value.tv_nsec = 20000000;
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	r = ppoll(p, 3, NULL, NULL);
	printf("ppoll woken by timer: %d %#x %#x %#x\n", r, p[0].revents, p[1].revents, p[2].revents);
	CHECK(read(t, &v, 8) == 8);

	/* select and pselect */
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(e, &rd);
	FD_SET(t, &rd);
	FD_SET(ep, &rd);
	FD_SET(e, &wr);
	FD_SET(t, &wr);
	struct timeval tv = {0, 0};
	r = select(ep + 1, &rd, &wr, NULL, &tv);
	printf("select idle: %d rd e%d t%d ep%d wr e%d t%d\n", r, FD_ISSET(e, &rd), FD_ISSET(t, &rd),
	       FD_ISSET(ep, &rd), FD_ISSET(e, &wr), FD_ISSET(t, &wr));
	efd_add(e, 1);
	its.it_value.tv_nsec = 20000000;
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	FD_ZERO(&rd);
	FD_SET(t, &rd);
	r = select(t + 1, &rd, NULL, NULL, NULL);
	printf("select woken by timer: %d t%d\n", r, FD_ISSET(t, &rd));
	FD_ZERO(&rd);
	FD_SET(e, &rd);
	FD_SET(t, &rd);
	FD_SET(ep, &rd);
	ts.tv_nsec = 0;
	r = pselect(ep + 1, &rd, NULL, NULL, &ts, &none);
	printf("pselect all ready: %d e%d t%d ep%d\n", r, FD_ISSET(e, &rd), FD_ISSET(t, &rd), FD_ISSET(ep, &rd));

	/* closed descriptors */
	close(t);
	show_poll("poll closed timerfd", p, 3, 0);
	FD_ZERO(&rd);
	FD_SET(t, &rd);
	errno = 0;
	r = select(t + 1, &rd, NULL, NULL, &tv);
	printf("select closed timerfd: %d %s\n", r, errname(errno));
	printf("done\n");
	return 0;
}

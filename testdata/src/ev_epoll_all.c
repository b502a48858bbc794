/* ev_epoll_all: one epoll loop over a pipe, an eventfd, a timerfd and a
 * signalfd at once. A child feeds the pipe, the eventfd and a signal
 * while the timer runs; the loop reads each source once it is reported.
 * Then all four ready together: level-triggered (reported again and
 * again), edge-triggered (once, then again on a new write, timer expiry or
 * signal), and the signalfd leaving the set when closed. Only the set of
 * sources and the values read are printed, not the order of arrival.
 * One line a case; exit 0. */
#define _GNU_SOURCE
#include "ev.h"
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

enum { PIPE = 1, EFD, TFD, SFD };

static int ep, p[2], e, t, s;
/* what consume read, by tag, printed in tag order */
static char got[5][64];

static int add(int fd, uint32_t events, uint32_t tag, int op)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};
	return epoll_ctl(ep, op, fd, &ev);
}

/* ready prints which sources one wait reports, and their events. */
static void ready(const char *label, int timeout)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, 8, timeout);
	CHECK(n >= 0);
	uint32_t by[5] = {0};
	for (int i = 0; i < n; i++)
		by[evs[i].data.u32] = evs[i].events;
	printf("%s: %d [pipe %#x eventfd %#x timerfd %#x signalfd %#x]\n", label, n, by[PIPE], by[EFD], by[TFD],
	       by[SFD]);
}

/* consume reads the source behind tag and keeps what it read. */
static void consume(uint32_t tag)
{
	uint64_t v = 0;
	char *out = got[tag] + strlen(got[tag]);
	size_t room = sizeof got[tag] - strlen(got[tag]);
	switch (tag) {
	case PIPE: {
		char buf[16] = {0};
		CHECK(read(p[0], buf, sizeof buf - 1) > 0);
		snprintf(out, room, " pipe: %s", buf);
		break;
	}
	case EFD:
		CHECK(read(e, &v, 8) == 8);
		snprintf(out, room, " eventfd: %llu", (unsigned long long)v);
		break;
	case TFD:
		CHECK(read(t, &v, 8) == 8);
		snprintf(out, room, " timerfd: %llu", (unsigned long long)v);
		break;
	case SFD: {
		struct signalfd_siginfo si;
		CHECK(read(s, &si, sizeof si) == sizeof si);
		snprintf(out, room, " signalfd: %s code %d", si.ssi_signo == SIGUSR1 ? "SIGUSR1" : "SIGUSR2",
			 si.ssi_code);
		break;
	}
	}
}

/* show_read prints what consume read, and forgets it. */
static void show_read(const char *label)
{
	for (int tag = PIPE; tag <= SFD; tag++) {
		printf("%s:%s\n", label, got[tag]);
		got[tag][0] = 0;
	}
}

static void make_all_ready(void)
{
	uint64_t one = 1;
	CHECK(write(p[1], "ab", 2) == 2);
	CHECK(write(e, &one, 8) == 8);
	struct itimerspec its = {.it_value = {0, 1}};
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0);
	usleep(2000);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0 && pipe(p) == 0);
	e = eventfd(0, EFD_NONBLOCK);
	t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	s = signalfd(-1, &mask, SFD_NONBLOCK);
	CHECK(e >= 0 && t >= 0 && s >= 0);
	CHECK(add(p[0], EPOLLIN, PIPE, EPOLL_CTL_ADD) == 0);
	CHECK(add(e, EPOLLIN, EFD, EPOLL_CTL_ADD) == 0);
	CHECK(add(t, EPOLLIN, TFD, EPOLL_CTL_ADD) == 0);
	CHECK(add(s, EPOLLIN, SFD, EPOLL_CTL_ADD) == 0);
	ready("idle", 0);

	/* the loop */
	struct itimerspec its = {.it_value = {0, 40000000}};
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	pid_t parent = getpid(), pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(20000);
		CHECK(write(p[1], "ping", 4) == 4);
		usleep(20000);
		kill(parent, SIGUSR1);
		usleep(20000);
		uint64_t five = 5;
		CHECK(write(e, &five, 8) == 8);
		_exit(0);
	}
	unsigned seen = 0;
	for (int rounds = 0; seen != 0x1e && rounds < 50; rounds++) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, 5000);
		CHECK(n > 0);
		for (int i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;
			CHECK(evs[i].events == EPOLLIN);
			if (!(seen & (1u << tag)))
				consume(tag);
			seen |= 1u << tag;
		}
	}
	printf("loop: all four seen %d\n", seen == 0x1e);
	show_read("loop read");
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && status == 0);
	ready("after the loop", 0);

	/* level-triggered */
	make_all_ready();
	ready("level", 0);
	ready("level again", 0);
	/* edge-triggered */
	for (uint32_t tag = PIPE; tag <= SFD; tag++) {
		int fd[] = {0, p[0], e, t, s};
		CHECK(add(fd[tag], EPOLLIN | EPOLLET, tag, EPOLL_CTL_MOD) == 0);
	}
	ready("edge", 0);
	ready("edge again", 0);
	CHECK(raise(SIGUSR2) == 0);
	ready("edge: a new signal", 0);
	uint64_t one = 1;
	CHECK(write(e, &one, 8) == 8);
	ready("edge: an eventfd write", 0);
	for (uint32_t tag = PIPE; tag <= SFD; tag++)
		consume(tag);
	consume(SFD);
	show_read("edge read");
	ready("edge: all read", 0);

	/* the signalfd leaves the set when closed */
	CHECK(raise(SIGUSR1) == 0);
	CHECK(add(s, EPOLLIN, SFD, EPOLL_CTL_MOD) == 0);
	ready("signalfd pending", 0);
	close(s);
	ready("signalfd closed", 0);
	printf("done\n");
	return 0;
}

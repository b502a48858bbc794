/* ev_epoll: epoll over the kernel's event sources. The errors of
 * epoll_create, epoll_ctl and epoll_wait in Linux's order (EINVAL, EBADF,
 * EPERM for regular files, directories and /dev/null, EEXIST, ENOENT,
 * EFAULT, ELOOP for loops and depth, EPOLLEXCLUSIVE's rules, maxevents
 * bounds); one loop over a pipe, an eventfd and a timerfd at once,
 * level-triggered and edge-triggered; EPOLLONESHOT and its re-arm; a
 * closed descriptor leaving the set while a dup keeps it; round-robin of
 * level-triggered events with maxevents 1; EPOLLHUP and EPOLLERR of pipe
 * ends; an epoll file in an epoll file and in poll(); epoll_pwait's signal
 * mask and EINTR; epoll_pwait2's timeout. One line a case; exit 0. */
#define _GNU_SOURCE
#include "ev.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};
	return epoll_ctl(ep, op, fd, &ev);
}

/* show waits once and prints the events sorted by tag. */
static int show(const char *label, int ep, int max, int timeout)
{
	struct epoll_event evs[16];
	errno = 0;
	int n = epoll_wait(ep, evs, max, timeout);
	if (n < 0) {
		printf("%s: -1 %s\n", label, errname(errno));
		return n;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && evs[j].data.u64 < evs[j - 1].data.u64; j--) {
			struct epoll_event x = evs[j];
			evs[j] = evs[j - 1];
			evs[j - 1] = x;
		}
	printf("%s: %d", label, n);
	for (int i = 0; i < n; i++)
		printf(" [tag %llu events %#x]", (unsigned long long)evs[i].data.u64, evs[i].events);
	printf("\n");
	return n;
}

static void drain_efd(int fd)
{
	uint64_t v;
	CHECK(read(fd, &v, 8) == 8);
}

static void efd_add(int fd, uint64_t v) { CHECK(write(fd, &v, 8) == 8); }

static void errors(void)
{
	SHOW("epoll_create(0)", epoll_create(0));
	SHOW("epoll_create(-1)", epoll_create(-1));
	SHOW("epoll_create1(bad)", epoll_create1(1));
	int ep = epoll_create(5);
	CHECK(ep >= 0);
	struct stat st;
	CHECK(fstat(ep, &st) == 0);
	printf("fstat mode %o; F_GETFD %d\n", (unsigned)st.st_mode, fcntl(ep, F_GETFD));
	int ep2 = epoll_create1(EPOLL_CLOEXEC);
	printf("epoll_create1(EPOLL_CLOEXEC) F_GETFD %d F_GETFL %#x\n", fcntl(ep2, F_GETFD), fcntl(ep2, F_GETFL));
	char link[64] = {0}, path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", ep);
	CHECK(readlink(path, link, sizeof link - 1) > 0);
	printf("link %s\n", link);

	int e = eventfd(0, 0);
	int reg = open("/proc/self/exe", O_RDONLY);
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	int null = open("/dev/null", O_RDWR);
	CHECK(e >= 0 && reg >= 0 && dir >= 0 && null >= 0);
	struct epoll_event ev = {.events = EPOLLIN};
	SHOW("ctl bad epfd", epoll_ctl(99, EPOLL_CTL_ADD, e, &ev));
	SHOW("ctl bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 99, &ev));
	SHOW("ctl epfd not epoll", epoll_ctl(e, EPOLL_CTL_ADD, ep, &ev));
	SHOW("ctl epfd not epoll, regular target", epoll_ctl(e, EPOLL_CTL_ADD, reg, &ev));
	SHOW("ctl add itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	SHOW("ctl regular file", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev));
	SHOW("ctl directory", epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev));
	SHOW("ctl /dev/null", epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev));
	SHOW("ctl NULL event", epoll_ctl(ep, EPOLL_CTL_ADD, e, NULL));
	SHOW("ctl NULL event, bad epfd", epoll_ctl(99, EPOLL_CTL_ADD, e, NULL));
	SHOW("ctl bad op", epoll_ctl(ep, 7, e, &ev));
	SHOW("ctl del missing", epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL));
	SHOW("ctl mod missing", epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev));
	SHOW("ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	SHOW("ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	SHOW("ctl mod", epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	SHOW("ctl mod EXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev));
	SHOW("ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	SHOW("ctl add EXCLUSIVE|ONESHOT", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDNORM;
	SHOW("ctl add EXCLUSIVE|RDNORM", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	SHOW("ctl add EXCLUSIVE epoll", epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP;
	SHOW("ctl add EXCLUSIVE|ET|WAKEUP", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	ev.events = EPOLLIN;
	SHOW("ctl mod of EXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev));
	SHOW("ctl del of EXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL));

	/* loops and depth */
	int a = epoll_create1(0), b = epoll_create1(0);
	SHOW("ctl add b to a", epoll_ctl(a, EPOLL_CTL_ADD, b, &ev));
	SHOW("ctl add a to b (loop)", epoll_ctl(b, EPOLL_CTL_ADD, a, &ev));
	SHOW("ctl add b to a again", epoll_ctl(a, EPOLL_CTL_ADD, b, &ev));
	int chain[7];
	for (int i = 0; i < 7; i++)
		chain[i] = epoll_create1(0);
	for (int i = 1; i < 7; i++) {
		char label[32];
		snprintf(label, sizeof label, "nest depth %d", i);
		SHOW(label, epoll_ctl(chain[i], EPOLL_CTL_ADD, chain[i - 1], &ev));
	}
	SHOW("nest on top of a 4-deep chain", epoll_ctl(chain[6], EPOLL_CTL_ADD, chain[3], &ev));

	/* epoll_wait's arguments */
	struct epoll_event out[2];
	SHOW("wait maxevents 0", syscall(SYS_epoll_wait, ep, out, 0, 0));
	SHOW("wait maxevents -1", syscall(SYS_epoll_wait, ep, out, -1, 0));
	SHOW("wait maxevents INT_MAX/12+1", syscall(SYS_epoll_wait, ep, out, 0x7fffffff / 12 + 1, 0));
	static struct epoll_event low[1]; /* far enough below the top of the address space */
	SHOW("wait maxevents INT_MAX/12", syscall(SYS_epoll_wait, ep, low, 0x7fffffff / 12, 0));
	SHOW("wait bad epfd", epoll_wait(99, out, 1, 0));
	SHOW("wait not epoll", epoll_wait(e, out, 1, 0));
	SHOW("wait bad epfd, maxevents 0", syscall(SYS_epoll_wait, 99, out, 0, 0));
	SHOW("wait bad epfd, bad buffer", syscall(SYS_epoll_wait, 99, (void *)-4096L, 1, 0));
	SHOW("wait not epoll, maxevents 0", syscall(SYS_epoll_wait, e, out, 0, 0));
	SHOW("wait not epoll, bad buffer", syscall(SYS_epoll_wait, e, (void *)-4096L, 1, 0));
	SHOW("wait bad buffer, nothing ready", syscall(SYS_epoll_wait, ep, (void *)16, 1, 0));
	SHOW("wait kernel buffer", syscall(SYS_epoll_wait, ep, (void *)-4096L, 1, 0));
	efd_add(e, 1);
	CHECK(ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 1) == 0);
	SHOW("wait bad buffer, one ready", syscall(SYS_epoll_wait, ep, (void *)16, 1, 0));
	SHOW("read from epoll", read(ep, out, sizeof out));
	SHOW("write to epoll", write(ep, out, sizeof out));
	close(e);
	close(ep);
	close(ep2);
	close(reg);
	close(dir);
	close(null);
}

static void loop(void)
{
	int ep = epoll_create1(0);
	int p[2];
	CHECK(pipe(p) == 0);
	int e = eventfd(0, EFD_NONBLOCK);
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	CHECK(ep >= 0 && e >= 0 && t >= 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1) == 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 2) == 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, t, EPOLLIN, 3) == 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 4) == 0);
	show("level: only the write end", ep, 16, 0);
	CHECK(ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0) == 0);
	show("level: nothing", ep, 16, 0);

	/* the loop: one source at a time, in the order they come */
	struct itimerspec its = {.it_value = {0, 30000000}};
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(60000);
		CHECK(write(p[1], "hello", 5) == 5);
		usleep(30000);
		efd_add(e, 3);
		_exit(0);
	}
	int seen = 0, rounds = 0;
	while (seen != 7 && rounds++ < 20) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, 5000);
		CHECK(n > 0);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			printf("loop: tag %llu events %#x\n", (unsigned long long)tag, evs[i].events);
			if (tag == 1) {
				char buf[8];
				CHECK(read(p[0], buf, sizeof buf) == 5);
			} else {
				uint64_t v;
				CHECK(read(tag == 2 ? e : t, &v, 8) == 8);
				printf("  value %llu\n", (unsigned long long)v);
			}
			seen |= 1 << (tag - 1);
		}
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && status == 0);
	show("loop: all read", ep, 16, 0);

	/* level-triggered: reported until read */
	CHECK(write(p[1], "ab", 2) == 2);
	efd_add(e, 1);
	its.it_value.tv_nsec = 1;
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	usleep(2000);
	show("level: three ready", ep, 16, 0);
	show("level: still three", ep, 16, 0);
	/* round robin with maxevents 1 */
	show("maxevents 1", ep, 1, 0);
	show("maxevents 1", ep, 1, 0);
	show("maxevents 1", ep, 1, 0);
	show("maxevents 1", ep, 1, 0);
	show("maxevents 2", ep, 2, 0);

	/* edge-triggered */
	CHECK(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 1) == 0);
	CHECK(ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN | EPOLLET, 2) == 0);
	CHECK(ctl(ep, EPOLL_CTL_MOD, t, EPOLLIN | EPOLLET, 3) == 0);
	show("edge: after MOD, three", ep, 16, 0);
	show("edge: then none", ep, 16, 0);
	char c;
	CHECK(read(p[0], &c, 1) == 1);
	show("edge: partial pipe read", ep, 16, 0);
	CHECK(write(p[1], "x", 1) == 1);
	show("edge: new pipe data", ep, 16, 0);
	efd_add(e, 0);
	show("edge: eventfd write of 0", ep, 16, 0);
	efd_add(e, 5);
	CHECK(ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN | EPOLLOUT | EPOLLET, 2) == 0);
	show("edge: eventfd IN|OUT after MOD", ep, 16, 0);
	drain_efd(e);
	show("edge: eventfd read (OUT edge)", ep, 16, 0);
	its.it_interval.tv_nsec = 20000000;
	its.it_value.tv_nsec = 20000000;
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	CHECK(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0) == 0);
	CHECK(ctl(ep, EPOLL_CTL_DEL, e, 0, 0) == 0);
	show("edge: first timer expiry", ep, 16, 1000);
	show("edge: next expiry, unread", ep, 16, 1000);
	its.it_interval.tv_nsec = 0;
	its.it_value.tv_nsec = 0;
	CHECK(timerfd_settime(t, 0, &its, NULL) == 0);
	close(p[0]);
	close(p[1]);
	close(e);
	close(t);
	close(ep);
}

static void oneshot(void)
{
	int ep = epoll_create1(0);
	int e = eventfd(1, 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLONESHOT, 9) == 0);
	show("oneshot: first", ep, 16, 0);
	show("oneshot: disabled though ready", ep, 16, 0);
	efd_add(e, 1);
	show("oneshot: disabled after a write", ep, 16, 0);
	SHOW("oneshot: add again", ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 9));
	CHECK(ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN | EPOLLONESHOT, 10) == 0);
	show("oneshot: re-armed by MOD", ep, 16, 0);
	show("oneshot: disabled again", ep, 16, 0);
	CHECK(ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN | EPOLLONESHOT | EPOLLET, 11) == 0);
	show("oneshot|ET: re-armed", ep, 16, 0);
	close(e);
	close(ep);
}

static void closing(void)
{
	int ep = epoll_create1(0);
	int a = eventfd(1, 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1) == 0);
	show("close: before", ep, 16, 0);
	close(a);
	show("close: after close", ep, 16, 0);

	int b = eventfd(1, 0);
	int d = dup(b);
	CHECK(ctl(ep, EPOLL_CTL_ADD, b, EPOLLIN, 2) == 0);
	close(b);
	show("dup: after closing the added fd", ep, 16, 0);
	SHOW("dup: DEL by the closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, b, NULL));
	SHOW("dup: DEL by the dup", epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL));
	int n = eventfd(1, 0); /* takes b's number again */
	printf("dup: new file at the old number %d\n", n == b);
	SHOW("dup: ADD new file at the old number", ctl(ep, EPOLL_CTL_ADD, n, EPOLLIN, 3));
	show("dup: both", ep, 16, 0);
	SHOW("dup: ADD the dup itself", ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 4));
	show("dup: three", ep, 16, 0);
	close(d);
	show("dup: after closing the dup", ep, 16, 0);
	close(n);
	show("dup: none", ep, 16, 0);
	close(ep);
}

static void hangups(void)
{
	int ep = epoll_create1(0);
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1) == 0);
	close(p[1]);
	show("hup: write end closed", ep, 16, 0);
	int q[2];
	CHECK(pipe(q) == 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, q[1], EPOLLOUT, 2) == 0);
	close(q[0]);
	show("err: read end closed", ep, 16, 0);
	CHECK(ctl(ep, EPOLL_CTL_MOD, q[1], 0, 2) == 0);
	show("err: no events asked, ERR still", ep, 16, 0);
	close(p[0]);
	close(q[1]);
	close(ep);
}

static void nested(void)
{
	int inner = epoll_create1(0), outer = epoll_create1(0);
	int e = eventfd(0, 0);
	CHECK(ctl(inner, EPOLL_CTL_ADD, e, EPOLLIN, 1) == 0);
	CHECK(ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 100) == 0);
	struct pollfd p = {.fd = inner, .events = POLLIN | POLLOUT};
	int n = poll(&p, 1, 0);
	printf("nested: poll on idle inner %d %#x\n", n, p.revents);
	show("nested: outer idle", outer, 16, 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(30000);
		efd_add(e, 1);
		_exit(0);
	}
	show("nested: outer, blocking", outer, 16, 5000);
	n = poll(&p, 1, 0);
	printf("nested: poll on ready inner %d %#x\n", n, p.revents);
	show("nested: inner", inner, 16, 0);
	drain_efd(e);
	show("nested: outer after read", outer, 16, 0);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && status == 0);
	close(e);
	show("nested: inner after close", inner, 16, 0);
	close(inner);
	show("nested: outer after inner closed", outer, 16, 0);
	close(outer);
}

static volatile sig_atomic_t got;
static void on_usr1(int sig) { got = sig; }

static void masks(void)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	sigset_t block, none;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&none);
	CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
	int ep = epoll_create1(0);
	struct epoll_event ev[1];
	/* pending while blocked: epoll_pwait with an empty mask takes it */
	kill(getpid(), SIGUSR1);
	errno = 0;
	int n = epoll_pwait(ep, ev, 1, 1000, &none);
	printf("pwait with SIGUSR1 pending: %d %s handled %d\n", n, errname(errno), got == SIGUSR1);
	got = 0;
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	printf("mask restored: SIGUSR1 blocked %d\n", sigismember(&cur, SIGUSR1));
	n = epoll_pwait(ep, ev, 1, 20, &block);
	printf("pwait timeout: %d\n", n);
	SHOW("pwait bad sigsetsize", syscall(SYS_epoll_pwait, ep, ev, 1, 0, &none, 4));
	SHOW("pwait bad sigmask", syscall(SYS_epoll_pwait, ep, ev, 1, 0, (void *)16, 8));
	/* epoll_wait is not restarted after a handler, even with SA_RESTART */
	CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(50000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	errno = 0;
	n = epoll_wait(ep, ev, 1, 5000);
	printf("wait interrupted: %d %s handled %d\n", n, errname(errno), got == SIGUSR1);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);

	/* epoll_pwait2: a struct __kernel_timespec, 64-bit on i386 too */
	struct {
		int64_t tv_sec, tv_nsec;
	} ts = {0, 20000000};
	SHOW("pwait2 20ms", syscall(441, ep, ev, 1, &ts, NULL, 8));
	ts.tv_nsec = 1000000000;
	SHOW("pwait2 bad timespec", syscall(441, ep, ev, 1, &ts, NULL, 8));
	SHOW("pwait2 timeout fault", syscall(441, ep, ev, 1, (void *)16, NULL, 8));
	ts.tv_nsec = 0;
	int e = eventfd(1, 0);
	CHECK(ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 5) == 0);
	SHOW("pwait2 ready, zero timeout", syscall(441, ep, ev, 1, &ts, NULL, 8));
	SHOW("pwait2 ready, no timeout", syscall(441, ep, ev, 1, NULL, NULL, 8));
	close(e);
	close(ep);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	errors();
	loop();
	oneshot();
	closing();
	hangups();
	nested();
	masks();
	printf("done\n");
	return 0;
}

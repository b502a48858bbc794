/* ev_timerfd: timerfd_create, timerfd_settime and timerfd_gettime on
 * CLOCK_MONOTONIC, CLOCK_REALTIME and CLOCK_BOOTTIME: argument errors,
 * one-shot and periodic timers (expiration counts, reads that block),
 * TFD_TIMER_ABSTIME in the future and in the past, TFD_TIMER_CANCEL_ON_SET
 * accepted, gettime before and after expiry, the old value settime
 * returns, disarming, a new setting clearing unread expirations. Only
 * facts that do not depend on timing are printed. On i386 the 32-bit
 * calls are made too (the x86-64 build prints the same lines from its own
 * calls). One line a case; exit 0. */
#define _GNU_SOURCE
#include "ev.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

#define MS 1000000L

static struct itimerspec spec(long long value_ns, long long interval_ns)
{
	struct itimerspec s = {
		.it_value = {(time_t)(value_ns / 1000000000LL), (long)(value_ns % 1000000000LL)},
		.it_interval = {(time_t)(interval_ns / 1000000000LL), (long)(interval_ns % 1000000000LL)},
	};
	return s;
}

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

static uint64_t rd(int fd)
{
	uint64_t v = 0;
	ssize_t n = read(fd, &v, 8);
	CHECK(n == 8);
	return v;
}

#ifndef __i386__
/* settime_as32 and gettime_as32 are the 32-bit calls for the x86-64
 * build: the 64-bit calls with the fields widened and narrowed. */
static long settime_as32(int fd, const int32_t *v, int32_t *o)
{
	struct itimerspec n = {{v[0], v[1]}, {v[2], v[3]}}, old;
	long r = timerfd_settime(fd, 0, &n, &old);
	if (r == 0 && o)
		for (int i = 0; i < 4; i++)
			o[i] = (int32_t)(i % 2 ? (i < 2 ? old.it_interval.tv_nsec : old.it_value.tv_nsec)
					      : (i < 2 ? old.it_interval.tv_sec : old.it_value.tv_sec));
	return r;
}

static long gettime_as32(int fd, int32_t *o)
{
	struct itimerspec cur;
	long r = timerfd_gettime(fd, &cur);
	if (r == 0) {
		o[0] = (int32_t)cur.it_interval.tv_sec;
		o[1] = (int32_t)cur.it_interval.tv_nsec;
		o[2] = (int32_t)cur.it_value.tv_sec;
		o[3] = (int32_t)cur.it_value.tv_nsec;
	}
	return r;
}
#endif

static void one_clock(const char *name, clockid_t clock)
{
	int t = timerfd_create(clock, TFD_CLOEXEC);
	CHECK(t >= 0);
	struct itimerspec cur;
	CHECK(timerfd_gettime(t, &cur) == 0);
	printf("%s: new timer value %lld interval %lld\n", name, ns(cur.it_value), ns(cur.it_interval));

	/* one-shot, relative: the read blocks until it expires */
	struct itimerspec s = spec(30 * MS, 0), old;
	CHECK(timerfd_settime(t, 0, &s, &old) == 0);
	printf("%s: old value %lld\n", name, ns(old.it_value));
	CHECK(timerfd_gettime(t, &cur) == 0);
	printf("%s: armed: 0 < value <= 30ms %d, interval %lld\n", name,
	       ns(cur.it_value) > 0 && ns(cur.it_value) <= 30 * MS, ns(cur.it_interval));
	printf("%s: one-shot read %llu\n", name, (unsigned long long)rd(t));
	CHECK(timerfd_gettime(t, &cur) == 0);
	printf("%s: after expiry value %lld interval %lld\n", name, ns(cur.it_value), ns(cur.it_interval));

	/* absolute, in the future and in the past */
	struct timespec now;
	CHECK(clock_gettime(clock, &now) == 0);
	s = spec(ns(now) + 20 * MS, 0);
	CHECK(timerfd_settime(t, TFD_TIMER_ABSTIME, &s, NULL) == 0);
	printf("%s: abstime read %llu\n", name, (unsigned long long)rd(t));
	s = spec(ns(now) - 1000 * MS, 0);
	CHECK(timerfd_settime(t, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, NULL) == 0);
	struct pollfd p = {.fd = t, .events = POLLIN};
	int ready = poll(&p, 1, 0);
	printf("%s: past abstime poll %d revents %#x\n", name, ready, p.revents);
	printf("%s: past abstime read %llu\n", name, (unsigned long long)rd(t));

	/* periodic, absolute start one second ago: the missed periods count */
	CHECK(clock_gettime(clock, &now) == 0);
	s = spec(ns(now) - 1000 * MS, 100 * MS);
	CHECK(timerfd_settime(t, TFD_TIMER_ABSTIME, &s, NULL) == 0);
	uint64_t n = rd(t);
	printf("%s: periodic past start: 11 <= count <= 12: %d\n", name, n >= 11 && n <= 12);
	CHECK(timerfd_gettime(t, &cur) == 0);
	printf("%s: periodic value in (0, 100ms] %d interval %lld\n", name,
	       ns(cur.it_value) > 0 && ns(cur.it_value) <= 100 * MS, ns(cur.it_interval));

	/* periodic, relative: several expirations pile up */
	s = spec(10 * MS, 10 * MS);
	CHECK(timerfd_settime(t, 0, &s, &old) == 0);
	printf("%s: old interval %lld, old value in (0, 100ms] %d\n", name, ns(old.it_interval),
	       ns(old.it_value) > 0 && ns(old.it_value) <= 100 * MS);
	usleep(65000);
	n = rd(t);
	printf("%s: periodic after 65ms: count >= 4 %d\n", name, n >= 4);
	n = rd(t);
	printf("%s: next read: count >= 1 %d\n", name, n >= 1);

	/* a new setting clears what was not read; zero disarms */
	usleep(25000);
	s = spec(0, 0);
	CHECK(timerfd_settime(t, 0, &s, &old) == 0);
	printf("%s: disarm: old interval %lld\n", name, ns(old.it_interval));
	CHECK(fcntl(t, F_SETFL, O_NONBLOCK) == 0);
	uint64_t v;
	SHOW("  read after disarm", read(t, &v, 8));
	CHECK(timerfd_gettime(t, &cur) == 0);
	printf("%s: disarmed value %lld interval %lld\n", name, ns(cur.it_value), ns(cur.it_interval));
	close(t);
}

int main(void)
{
	/* creation errors */
	SHOW("timerfd_create bad clock", timerfd_create(5, 0));
	SHOW("timerfd_create clock -1", timerfd_create(-1, 0));
	SHOW("timerfd_create bad flags", timerfd_create(CLOCK_MONOTONIC, 0x1));
	SHOW("timerfd_create CLOCK_PROCESS_CPUTIME_ID", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));

	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	CHECK(t >= 0);
	struct stat st;
	CHECK(fstat(t, &st) == 0);
	printf("fstat mode %o size %lld\n", (unsigned)st.st_mode, (long long)st.st_size);
	printf("F_GETFL %#x\n", fcntl(t, F_GETFL));
	char link[64] = {0}, path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", t);
	CHECK(readlink(path, link, sizeof link - 1) > 0);
	printf("link %s\n", link);

	/* settime errors */
	struct itimerspec s = spec(10 * MS, 0);
	SHOW("settime bad flags", timerfd_settime(t, 0x4, &s, NULL));
	s.it_value.tv_nsec = 1000000000L;
	SHOW("settime nsec 1e9", timerfd_settime(t, 0, &s, NULL));
	s = spec(10 * MS, 0);
	s.it_interval.tv_nsec = -1;
	SHOW("settime interval nsec -1", timerfd_settime(t, 0, &s, NULL));
	s = spec(0, 0);
	s.it_value.tv_sec = -1;
	SHOW("settime value sec -1", timerfd_settime(t, 0, &s, NULL));
	SHOW("settime NULL", syscall(SYS_timerfd_settime, t, 0, NULL, NULL));
	s = spec(10 * MS, 0);
	SHOW("settime bad fd", timerfd_settime(99, 0, &s, NULL));
	SHOW("settime on stdout", timerfd_settime(1, 0, &s, NULL));
	struct itimerspec cur;
	SHOW("gettime bad fd", timerfd_gettime(99, &cur));
	SHOW("gettime on stdout", timerfd_gettime(1, &cur));
	SHOW("gettime NULL", syscall(SYS_timerfd_gettime, t, NULL));

	/* reads */
	uint64_t v;
	char small[4];
	SHOW("read unarmed nonblocking", read(t, &v, 8));
	SHOW("read 4 bytes", read(t, small, 4));
	SHOW("write", write(t, &v, 8));
	SHOW("pread", pread(t, &v, 8, 0));
	s = spec(1, 0); /* 1ns */
	CHECK(timerfd_settime(t, 0, &s, NULL) == 0);
	usleep(1000);
	SHOW("read 4 bytes after expiry", read(t, small, 4));
	SHOW("read after expiry", read(t, &v, 8));
	printf("  value %llu\n", (unsigned long long)v);
	SHOW("read again", read(t, &v, 8));
	close(t);

	one_clock("monotonic", CLOCK_MONOTONIC);
	one_clock("realtime", CLOCK_REALTIME);
	one_clock("boottime", CLOCK_BOOTTIME);

	/* 32-bit struct itimerspec: on i386 the calls of the 32-bit layout
	 * (timerfd_settime 325, timerfd_gettime 326); the x86-64 build does the
	 * same with its own layout, for the same lines. */
	{
		int t32 = timerfd_create(CLOCK_MONOTONIC, 0);
		CHECK(t32 >= 0);
		int32_t in[4] = {0, 5000000, 0, 20000000}, out[4] = {-1, -1, -1, -1};
		int32_t bad[4] = {0, 1000000000, 0, 0}, zero[4] = {0, 0, 0, 0};
#ifdef __i386__
#define SETTIME32(fd, v, o) syscall(325, fd, 0, v, o)
#define GETTIME32(fd, o) syscall(326, fd, o)
#else
#define SETTIME32(fd, v, o) settime_as32(fd, v, o)
#define GETTIME32(fd, o) gettime_as32(fd, o)
#endif
		SHOW("32-bit timerfd_settime", SETTIME32(t32, in, NULL));
		SHOW("32-bit timerfd_gettime", GETTIME32(t32, out));
		printf("  interval %d.%09d value in (0, 20ms] %d\n", out[0], out[1],
		       out[2] == 0 && out[3] > 0 && out[3] <= 20000000);
		printf("  read >= 1: %d\n", rd(t32) >= 1);
		SHOW("32-bit settime nsec 1e9", SETTIME32(t32, bad, NULL));
		SHOW("32-bit disarm", SETTIME32(t32, zero, out));
		printf("  old interval %d.%09d\n", out[0], out[1]);
		close(t32);
	}
	printf("done\n");
	return 0;
}

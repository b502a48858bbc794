// variants: glibc musl i386 i386dyn
/* sys_cpu: processors, time and randomness, as a program sees them.
 *   affinity  sched_getaffinity/sched_setaffinity: the size rules (len must
 *             cover every CPU and be a multiple of long: EINVAL; so is a
 *             len whose bit count wraps to 0, case affinity_huge), the
 *             result is at most the kernel's mask size; pinned to one CPU
 *             a process runs there (getcpu, sched_getcpu; node 0); an
 *             empty mask or one of absent CPUs only is EINVAL; fork copies
 *             the mask; a child's mask set by its parent; ESRCH, EFAULT;
 *             as uid 1000 another user's task is EPERM
 *   sysinfo   sysinfo: units and relations of its fields, uptime agrees
 *             with /proc/uptime, EFAULT
 *   times     times: the clock advances, CPU time grows with work, a
 *             waited-for child's time is counted for the parent only
 *             after the wait; times(NULL); EFAULT
 *   rusage    getrusage: RUSAGE_SELF/THREAD/CHILDREN, a child's
 *             usage through wait4, EINVAL for other targets, EFAULT
 *   random    getrandom: flags (GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE,
 *             both of the last two: EINVAL), 0 bytes, a large request,
 *             EFAULT; a buffer that ends in an unmapped page gets the bytes
 *             before it (case random_partial)
 * Values that differ between runs (CPU numbers beyond the pinned one,
 * times, sizes of memory) are printed as facts about them. One line a
 * check; exit 0. */
#define _GNU_SOURCE
#include "sys.h"
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <time.h>

static long raw_getaff(pid_t pid, unsigned len, void *mask)
{
	errno = 0;
	return syscall(SYS_sched_getaffinity, pid, len, mask);
}

static long raw_setaff(pid_t pid, unsigned len, const void *mask)
{
	errno = 0;
	return syscall(SYS_sched_setaffinity, pid, len, mask);
}

/* The first CPU of the current mask, or -1. */
static int first_cpu(void)
{
	cpu_set_t s;
	PCHECK(sched_getaffinity(0, sizeof s, &s) == 0);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &s))
			return i;
	return -1;
}

static int pinned;

static void aff_child_report(void)
{
	cpu_set_t s;
	PCHECK(sched_getaffinity(0, sizeof s, &s) == 0);
	out("affinity: the child has %d CPU(s), the pinned one %d\n", CPU_COUNT(&s), CPU_ISSET(pinned, &s));
}

static void aff_waiter_report(void)
{
	cpu_set_t s;
	PCHECK(sched_getaffinity(0, sizeof s, &s) == 0);
	unsigned cpu = 99, node = 99;
	PCHECK(syscall(SYS_getcpu, &cpu, &node, NULL) == 0);
	out("affinity: the waiter was pinned by its parent: %d CPU(s), runs there %d\n", CPU_COUNT(&s),
	    (int)cpu == pinned);
}

static void affinity_root(void)
{
	unsigned char buf[256];
	long r = raw_getaff(0, 128, buf);
	out("affinity: len 128 -> positive multiple of 8, at most 128: %d\n", r > 0 && r % 8 == 0 && r <= 128);
	out("affinity: len 0 -> %s\n", res(raw_getaff(0, 0, buf)));
#ifdef __x86_64__
	out("affinity: len 12 -> %s\n", res(raw_getaff(0, 12, buf)));
#endif
	out("affinity: bad mask pointer -> %s\n", res(raw_getaff(0, 128, (void *)8)));
	out("affinity: pid -1 -> %s\n", res(raw_getaff(-1, 128, buf)));
	out("affinity: no such pid -> %s\n", res(raw_getaff(0x3fffffff, 128, buf)));
	cpu_set_t all;
	PCHECK(sched_getaffinity(0, sizeof all, &all) == 0);
	out("affinity: at least one CPU %d, no more than online %d\n", CPU_COUNT(&all) >= 1,
	    CPU_COUNT(&all) <= sysconf(_SC_NPROCESSORS_ONLN));

	pinned = first_cpu();
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(pinned, &one);
	out("affinity: pin to the first CPU -> %s\n", res(raw_setaff(0, sizeof one, &one)));
	unsigned cpu = 99, node = 99;
	long g = syscall(SYS_getcpu, &cpu, &node, NULL);
	out("affinity: getcpu -> %ld, on the pinned CPU %d, node %u\n", g, (int)cpu == pinned, node);
	out("affinity: sched_getcpu on the pinned CPU %d\n", sched_getcpu() == pinned);
	out("affinity: getcpu with NULL pointers -> %ld\n", (long)syscall(SYS_getcpu, NULL, NULL, NULL));
	errno = 0;
	out("affinity: getcpu bad pointer -> %s\n", res(syscall(SYS_getcpu, (void *)8, NULL, NULL)));
	cpu_set_t got;
	CPU_ZERO(&got);
	PCHECK(sched_getaffinity(0, sizeof got, &got) == 0);
	out("affinity: the mask is the pinned CPU alone %d\n", CPU_COUNT(&got) == 1 && CPU_ISSET(pinned, &got));

	cpu_set_t none;
	CPU_ZERO(&none);
	out("affinity: empty mask -> %s\n", res(raw_setaff(0, sizeof none, &none)));
	cpu_set_t absent;
	CPU_ZERO(&absent);
	CPU_SET(CPU_SETSIZE - 1, &absent);
	out("affinity: only CPU %d -> %s\n", CPU_SETSIZE - 1, res(raw_setaff(0, sizeof absent, &absent)));
	out("affinity: len 0 -> %s\n", res(raw_setaff(0, 0, &one)));
	out("affinity: bad pointer -> %s\n", res(raw_setaff(0, sizeof one, (void *)8)));
	out("affinity: no such pid -> %s\n", res(raw_setaff(0x3fffffff, sizeof one, &one)));
	cpu_set_t extra = one;
	CPU_SET(CPU_SETSIZE - 1, &extra);
	out("affinity: the pinned CPU and an absent one -> %s\n", res(raw_setaff(0, sizeof extra, &extra)));
	PCHECK(sched_getaffinity(0, sizeof got, &got) == 0);
	out("affinity: the absent CPU is dropped %d\n", CPU_COUNT(&got) == 1 && CPU_ISSET(pinned, &got));

	in_child("affinity", aff_child_report);
	struct waiter w = spawn_waiter(aff_waiter_report);
	out("affinity: back to every CPU -> %s\n", res(raw_setaff(0, sizeof all, &all)));
	PCHECK(sched_getaffinity(0, sizeof got, &got) == 0);
	out("affinity: the whole mask again %d\n", CPU_EQUAL(&got, &all));
	out("affinity: pin the waiter -> %s\n", res(raw_setaff(w.pid, sizeof one, &one)));
	release_waiter("affinity", w);
}

static pid_t root_parent;

static void affinity_user(void)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(first_cpu(), &one);
	out("affinity: uid 1000 sets root's mask -> %s\n", res(raw_setaff(root_parent, sizeof one, &one)));
	unsigned char buf[128];
	out("affinity: uid 1000 reads root's mask -> %d\n", raw_getaff(root_parent, sizeof buf, buf) > 0);
	out("affinity: uid 1000 sets its own -> %s\n", res(raw_setaff(0, sizeof one, &one)));
}

static void affinity_case(void)
{
	in_child("affinity", affinity_root);
	root_parent = getpid();
	as_user("affinity", NULL, affinity_user);
}

/* ---- sysinfo ---- */

static long proc_uptime(void)
{
	char b[64] = {0};
	int fd = open("/proc/uptime", O_RDONLY);
	PCHECK(fd >= 0);
	PCHECK(read(fd, b, sizeof b - 1) > 0);
	close(fd);
	return atol(b);
}

static void sysinfo_case(void)
{
	struct sysinfo si;
	memset(&si, 0xee, sizeof si);
	long up0 = proc_uptime();
	out("sysinfo: -> %s\n", res(sysinfo(&si)));
	long up1 = proc_uptime();
	out("sysinfo: uptime agrees with /proc/uptime %d\n", si.uptime >= up0 && si.uptime <= up1 + 1);
	out("sysinfo: mem_unit a power of two %d, procs at least 1 %d\n",
	    si.mem_unit != 0 && (si.mem_unit & (si.mem_unit - 1)) == 0, si.procs >= 1);
	unsigned long long total = (unsigned long long)si.totalram * si.mem_unit;
	unsigned long long free = (unsigned long long)si.freeram * si.mem_unit;
#ifdef __x86_64__
	/* On i386 these need the kernel's scaling of large memories to
	 * 32-bit fields (mem_unit 4096), which qemu-i386, the i386 oracle
	 * where the host runs no i386, does not do. */
	out("sysinfo: 0 < freeram <= totalram %d, at least 64 MiB %d\n", free > 0 && free <= total,
	    total >= 64ull << 20);
	out("sysinfo: freeswap <= totalswap %d, high memory 0 %d\n", si.freeswap <= si.totalswap,
	    si.totalhigh == 0 && si.freehigh == 0);
#else
	(void)total, (void)free;
#endif
	errno = 0;
	out("sysinfo: bad pointer -> %s\n", res(syscall(SYS_sysinfo, (void *)8)));
}

/* ---- times ---- */

static long ticks(const struct tms *t) { return (long)(t->tms_utime + t->tms_stime); }

/* burn uses CPU until getrusage says the process has used at least ms
 * milliseconds more than when it started (or 10 s of wall time pass). */
static void burn(int ms)
{
	struct rusage ru;
	PCHECK(getrusage(RUSAGE_SELF, &ru) == 0);
	long start = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L +
		     ru.ru_stime.tv_usec;
	time_t deadline = time(NULL) + 10;
	volatile unsigned long x = 1;
	for (;;) {
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005ul + 1442695040888963407ul;
		PCHECK(getrusage(RUSAGE_SELF, &ru) == 0);
		long now = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L +
			   ru.ru_stime.tv_usec;
		if (now - start >= ms * 1000L || time(NULL) > deadline)
			return;
	}
}

static void times_run(void)
{
	struct tms t0, t1;
	errno = 0;
	clock_t c0 = times(&t0);
	out("times: -> ok %d, errno %s\n", c0 != (clock_t)-1, perr(errno));
	burn(50);
	clock_t c1 = times(&t1);
	out("times: the clock does not go back %d, CPU time grew %d, children 0 %d\n", c1 >= c0,
	    ticks(&t1) > ticks(&t0), t1.tms_cutime == 0 && t1.tms_cstime == 0);
	errno = 0;
	long n = syscall(SYS_times, NULL);
	out("times: NULL -> ok %d\n", n != -1 && errno == 0);
	errno = 0;
	out("times: bad pointer -> %s\n", res(syscall(SYS_times, (void *)8)));

	pid_t p = pfork();
	if (p == 0) {
		burn(60);
		_exit(0);
	}
	struct timespec ts = {0, 100 * 1000 * 1000};
	siginfo_t si;
	PCHECK(waitid(P_PID, p, &si, WEXITED | WNOWAIT) == 0);
	nanosleep(&ts, NULL);
	struct tms t2;
	times(&t2);
	out("times: a child that exited but was not waited for is not counted %d\n",
	    t2.tms_cutime == 0 && t2.tms_cstime == 0);
	reap(p);
	times(&t2);
	out("times: after the wait the child's time is counted %d\n", t2.tms_cutime + t2.tms_cstime >= 3);
}

/* ---- rusage ---- */

static long usec(const struct timeval *t) { return t->tv_sec * 1000000L + t->tv_usec; }

static void rusage_run(void)
{
	struct rusage self, thread, kids;
	burn(20);
	out("rusage: SELF -> %s, THREAD -> %s, CHILDREN -> %s\n", res(getrusage(RUSAGE_SELF, &self)),
	    res(getrusage(RUSAGE_THREAD, &thread)), res(getrusage(RUSAGE_CHILDREN, &kids)));
	out("rusage: self used CPU %d, thread <= self %d, no children yet %d\n",
	    usec(&self.ru_utime) + usec(&self.ru_stime) >= 20000,
	    usec(&thread.ru_utime) + usec(&thread.ru_stime) <= usec(&self.ru_utime) + usec(&self.ru_stime) + 1000,
	    usec(&kids.ru_utime) + usec(&kids.ru_stime) == 0);
	errno = 0;
	out("rusage: who 2 -> %s, who -2 -> %s\n", res(syscall(SYS_getrusage, 2, &self)),
	    res(syscall(SYS_getrusage, -2, &self)));
	errno = 0;
	out("rusage: bad pointer -> %s\n", res(syscall(SYS_getrusage, RUSAGE_SELF, (void *)8)));

	pid_t p = pfork();
	if (p == 0) {
		burn(60);
		_exit(0);
	}
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	int st;
	PCHECK(wait4(p, &st, 0, &ru) == p);
	/* (Not the children's maxrss: Linux counts resident pages lazily,
	 * per CPU, and a small child may show 0.) */
	out("rusage: wait4 reports the child's CPU %d\n", usec(&ru.ru_utime) + usec(&ru.ru_stime) >= 50000);
	PCHECK(getrusage(RUSAGE_CHILDREN, &kids) == 0);
	out("rusage: CHILDREN now %d\n", usec(&kids.ru_utime) + usec(&kids.ru_stime) >= 50000);
}

/* ---- random ---- */

static long grnd(void *buf, size_t n, unsigned flags)
{
	errno = 0;
	return syscall(SYS_getrandom, buf, n, flags);
}

static int nonzero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 1;
	return 0;
}

static void random_run(void)
{
	unsigned char b[64];
	memset(b, 0, sizeof b);
	const char *r = res(grnd(b, sizeof b, 0));
	out("random: 64 bytes -> %s, not all zero %d\n", r, nonzero(b, sizeof b));
	out("random: GRND_NONBLOCK -> %s\n", res(grnd(b, 16, 1)));
	out("random: GRND_RANDOM -> %s\n", res(grnd(b, 16, 2)));
	out("random: GRND_RANDOM|GRND_NONBLOCK -> %s\n", res(grnd(b, 16, 3)));
	out("random: GRND_INSECURE -> %s\n", res(grnd(b, 16, 4)));
	out("random: GRND_INSECURE|GRND_RANDOM -> %s\n", res(grnd(b, 16, 6)));
	out("random: flag 8 -> %s\n", res(grnd(b, 16, 8)));
	out("random: 0 bytes -> %s\n", res(grnd(b, 0, 0)));
	out("random: NULL -> %s\n", res(grnd(NULL, 16, 0)));
	out("random: 0 bytes at NULL -> %s\n", res(grnd(NULL, 0, 0)));
	size_t big = 3u << 20;
	unsigned char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(m != MAP_FAILED);
	r = res(grnd(m, big, 0));
	out("random: 3 MiB -> %s, the last page not all zero %d\n", r, nonzero(m + big - 4096, 4096));
	PCHECK(munmap(m + big - 4096, 4096) == 0);
	out("random: starting in an unmapped page -> %s\n", res(grnd(m + big - 4096, 16, 0)));
	munmap(m, big - 4096);
}

/* The cases below are apart because qemu-i386, the i386 oracle of hosts
 * that run no i386 programs, gets them wrong: it allocates len bytes on
 * its stack for sched_getaffinity (and crashes), and refuses a partly
 * unmapped getrandom buffer as a whole. */

static void affinity_huge(void)
{
	unsigned char buf[8];
	out("affinity_huge: len 2^29 (len*8 wraps to 0) -> %s\n", res(raw_getaff(0, 1u << 29, buf)));
}

static void random_partial(void)
{
	unsigned char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(m != MAP_FAILED);
	PCHECK(munmap(m + 4096, 4096) == 0);
	out("random_partial: 256 bytes ending 128 bytes into an unmapped page -> %s\n",
	    res(grnd(m + 4096 - 128, 256, 0)));
	munmap(m, 4096);
}

/* Each case runs in a fresh child, whose children are its own. */
static void times_case(void) { in_child("times", times_run); }
static void rusage_case(void) { in_child("rusage", rusage_run); }
static void random_case(void) { in_child("random", random_run); }

static const struct pcase cases[] = {
	{"affinity", affinity_case},
	{"sysinfo", sysinfo_case},
	{"times", times_case},
	{"rusage", rusage_case},
	{"random", random_case},
	{"affinity_huge", affinity_huge},
	{"random_partial", random_partial},
};

int main(int argc, char **argv)
{
	sys_root = geteuid() == 0;
	return run_cases(cases, NCASES(cases), argc, argv);
}

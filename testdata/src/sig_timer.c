/* sig_timer: POSIX timers, rt_sigtimedwait, interval timers, sleeps and
 * the clocks a guest may not set:
 *   errors     timer_create/settime/delete argument errors
 *   oneshot    SIGEV_SIGNAL with a value: SI_TIMER, si_value, si_timerid;
 *              timer_gettime while armed and after
 *   periodic   a 2ms period whose blocked signal stays pending: one signal,
 *              overrun counted (>= 1) and equal to timer_getoverrun; after
 *              timer_delete nothing more comes
 *   abstime    TIMER_ABSTIME on CLOCK_MONOTONIC
 *   none       SIGEV_NONE: armed, counts down, sends nothing
 *   thread     SIGEV_THREAD_ID to a chosen thread: its handler runs there
 *   cputime    a CLOCK_PROCESS_CPUTIME_ID timer fires after CPU use
 *   sigwait    rt_sigtimedwait: zero timeout EAGAIN, a timeout EAGAIN after
 *              it passed, a pending signal at once, another signal EINTR
 *   itimer     ITIMER_REAL periodic (three SIGALRMs, getitimer's
 *              interval), ITIMER_PROF and ITIMER_VIRTUAL after CPU use
 *   sleep      nanosleep and clock_nanosleep (relative, TIMER_ABSTIME)
 *              never wake early and wake within 250ms (a loaded host); an interrupted
 *              nanosleep writes the time left
 *   settime    clock_settime, settimeofday and adjtimex changes are EPERM
 *              for an unprivileged caller; adjtimex reads
 *   forked     a child has no timers of its parent
 * Prints only facts (yes/no, errno names). */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static long long now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void block1(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	PCHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
}

static void unblock_all(void)
{
	sigset_t s;
	sigemptyset(&s);
	PCHECK(sigprocmask(SIG_SETMASK, &s, NULL) == 0);
}

static int wait1(int sig, siginfo_t *si, long ms)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	return sigtimedwait(&s, si, &ts);
}

static void arm(timer_t id, long value_ms, long interval_ms, int flags)
{
	struct itimerspec its = {{interval_ms / 1000, (interval_ms % 1000) * 1000000},
				 {value_ms / 1000, (value_ms % 1000) * 1000000}};
	PCHECK(timer_settime(id, flags, &its, NULL) == 0);
}

static void c_errors(void)
{
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
	out("errors: bad clock %s\n", res(syscall(SYS_timer_create, 99, &ev, &id)));
	out("errors: raw clock %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC_RAW, &ev, &id)));
	ev.sigev_notify = 77;
	out("errors: bad notify %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id)));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 65;
	out("errors: bad signo %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id)));
	ev.sigev_signo = SIGRTMIN;
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_notify_thread_id = 1;
	out("errors: foreign thread %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id)));
	ev.sigev_notify = SIGEV_SIGNAL;
	out("errors: fault %s\n", res(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, (void *)8)));
	int kid;
	PCHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &kid) == 0);
	struct itimerspec its = {{0, 0}, {0, 1000000000}};
	out("errors: bad nsec %s\n", res(syscall(SYS_timer_settime, kid, 0, &its, NULL)));
	out("errors: null value %s\n", res(syscall(SYS_timer_settime, kid, 0, NULL, NULL)));
	out("errors: unknown id %s\n", res(syscall(SYS_timer_settime, kid + 1000, 0, &its, NULL)));
	out("errors: gettime unknown %s\n", res(syscall(SYS_timer_gettime, kid + 1000, &its)));
	out("errors: overrun unknown %s\n", res(syscall(SYS_timer_getoverrun, kid + 1000)));
	out("errors: delete %s\n", res(syscall(SYS_timer_delete, kid)));
	out("errors: delete again %s\n", res(syscall(SYS_timer_delete, kid)));
}

static void c_oneshot(void)
{
	block1(SIGRTMIN);
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN, .sigev_value.sival_int = 77};
	PCHECK(timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
	arm(id, 20, 0, 0);
	struct itimerspec its;
	PCHECK(timer_gettime(id, &its) == 0);
	long long left = its.it_value.tv_sec * 1000000000LL + its.it_value.tv_nsec;
	out("oneshot: armed=%d interval=%ld\n", left > 0 && left <= 20000000, (long)its.it_interval.tv_nsec);
	siginfo_t si;
	int sig = wait1(SIGRTMIN, &si, 2000);
	out("oneshot: got=%d code_timer=%d value=%d overrun=%d\n", sig == SIGRTMIN, si.si_code == SI_TIMER,
	    si.si_value.sival_int, si.si_overrun);
	PCHECK(timer_gettime(id, &its) == 0);
	out("oneshot: after value=%ld.%ld\n", (long)its.it_value.tv_sec, (long)its.it_value.tv_nsec);
	out("oneshot: getoverrun=%d\n", timer_getoverrun(id));
	PCHECK(timer_delete(id) == 0);
	unblock_all();
}

static void c_periodic(void)
{
	block1(SIGRTMIN + 1);
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1};
	PCHECK(timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
	arm(id, 2, 2, 0);
	usleep(60000);
	siginfo_t si;
	int sig = wait1(SIGRTMIN + 1, &si, 2000);
	int ov = timer_getoverrun(id);
	out("periodic: got=%d overrun>=1: %d getoverrun matches: %d\n", sig == SIGRTMIN + 1, si.si_overrun >= 1,
	    ov == si.si_overrun);
	struct itimerspec its;
	PCHECK(timer_gettime(id, &its) == 0);
	out("periodic: interval=%ldns\n", (long)its.it_interval.tv_nsec);
	PCHECK(timer_delete(id) == 0);
	/* a signal sent just before the delete may be pending: take it */
	wait1(SIGRTMIN + 1, &si, 0);
	usleep(20000);
	out("periodic: after delete %s\n", res(wait1(SIGRTMIN + 1, &si, 0)));
	unblock_all();
}

static void c_abstime(void)
{
	block1(SIGRTMIN);
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
	PCHECK(timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
	long long start = now_ns(CLOCK_MONOTONIC), at = start + 20000000;
	struct itimerspec its = {{0, 0}, {at / 1000000000, at % 1000000000}};
	PCHECK(timer_settime(id, TIMER_ABSTIME, &its, NULL) == 0);
	siginfo_t si;
	int sig = wait1(SIGRTMIN, &si, 2000);
	out("abstime: got=%d not early=%d\n", sig == SIGRTMIN, now_ns(CLOCK_MONOTONIC) >= at);
	PCHECK(timer_delete(id) == 0);
	unblock_all();
}

static void c_none(void)
{
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	PCHECK(timer_create(CLOCK_REALTIME, &ev, &id) == 0);
	arm(id, 30, 0, 0);
	struct itimerspec its;
	PCHECK(timer_gettime(id, &its) == 0);
	out("none: armed=%d\n", its.it_value.tv_sec == 0 && its.it_value.tv_nsec > 0);
	usleep(50000);
	PCHECK(timer_gettime(id, &its) == 0);
	out("none: expired value=%ld.%ld\n", (long)its.it_value.tv_sec, (long)its.it_value.tv_nsec);
	sigset_t p;
	sigpending(&p);
	out("none: alrm pending=%d\n", sigismember(&p, SIGALRM));
	PCHECK(timer_delete(id) == 0);
}

static volatile pid_t handled_tid;
static volatile int stop_thread;

static void on_usr1(int sig)
{
	handled_tid = (pid_t)syscall(SYS_gettid);
}

static pid_t worker_tid;

static void *worker(void *arg)
{
	worker_tid = (pid_t)syscall(SYS_gettid);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	while (!stop_thread)
		usleep(1000);
	return NULL;
}

static void c_thread(void)
{
	signal(SIGUSR1, on_usr1);
	block1(SIGUSR1); /* the new thread inherits the mask, then unblocks */
	pthread_t th;
	PCHECK(pthread_create(&th, NULL, worker, NULL) == 0);
	while (worker_tid == 0)
		usleep(1000);
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1};
	ev.sigev_notify_thread_id = worker_tid;
	PCHECK(timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
	arm(id, 10, 0, 0);
	for (int i = 0; i < 2000 && handled_tid == 0; i++)
		usleep(1000);
	stop_thread = 1;
	pthread_join(th, NULL);
	out("thread: handled in the chosen thread=%d\n", handled_tid == worker_tid);
	PCHECK(timer_delete(id) == 0);
	signal(SIGUSR1, SIG_DFL);
	unblock_all();
}

static volatile unsigned long spin;

static void burn_until(volatile sig_atomic_t *flag, int secs)
{
	long long end = now_ns(CLOCK_MONOTONIC) + secs * 1000000000LL;
	while (!*flag && now_ns(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 100000; i++)
			spin++;
}

static volatile sig_atomic_t cpu_fired, alrm, prof, vtalrm;

static void on_cpu(int sig)
{
	switch (sig) {
	case SIGPROF: prof++; break;
	case SIGVTALRM: vtalrm++; break;
	case SIGALRM: alrm++; break;
	default: cpu_fired++;
	}
}

static void c_cputime(void)
{
	signal(SIGRTMIN + 2, on_cpu);
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 2};
	PCHECK(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &id) == 0);
	long long start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	arm(id, 30, 0, 0);
	burn_until(&cpu_fired, 10);
	out("cputime: fired=%d after the cpu time=%d\n", cpu_fired == 1,
	    now_ns(CLOCK_PROCESS_CPUTIME_ID) - start >= 30000000);
	PCHECK(timer_delete(id) == 0);
	signal(SIGRTMIN + 2, SIG_DFL);
}

static void on_usr2(int sig)
{
}

static void c_sigwait(void)
{
	block1(SIGUSR1);
	siginfo_t si;
	out("sigwait: zero timeout %s\n", res(wait1(SIGUSR1, &si, 0)));
	long long start = now_ns(CLOCK_MONOTONIC);
	int r = wait1(SIGUSR1, &si, 30);
	out("sigwait: timeout %s waited=%d\n", res(r), now_ns(CLOCK_MONOTONIC) - start >= 30000000);
	union sigval v = {.sival_int = 5};
	PCHECK(sigqueue(getpid(), SIGUSR1, v) == 0);
	r = wait1(SIGUSR1, &si, 1000);
	out("sigwait: pending %s code_queue=%d value=%d pid_self=%d\n", signame(r), si.si_code == SI_QUEUE,
	    si.si_value.sival_int, si.si_pid == getpid());
	signal(SIGUSR2, on_usr2);
	pid_t parent = getpid();
	pid_t c = pfork();
	if (c == 0) {
		usleep(30000);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	/* the raw call: musl's sigtimedwait retries after EINTR */
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	struct timespec five = {5, 0};
	out("sigwait: other signal %s\n", res(syscall(SYS_rt_sigtimedwait, &one, &si, &five, 8)));
	reap(c);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	out("sigwait: bad size %s\n", res(syscall(SYS_rt_sigtimedwait, &s, NULL, NULL, 4)));
	struct timespec bad = {0, 1000000000};
	out("sigwait: bad timeout %s\n", res(sigtimedwait(&s, NULL, &bad)));
	signal(SIGUSR2, SIG_DFL);
	unblock_all();
}

static void c_itimer(void)
{
	block1(SIGALRM);
	struct itimerval iv = {{0, 10000}, {0, 10000}}, old;
	PCHECK(setitimer(ITIMER_REAL, &iv, NULL) == 0);
	int n = 0;
	siginfo_t si;
	for (int i = 0; i < 3; i++)
		n += wait1(SIGALRM, &si, 2000) == SIGALRM;
	PCHECK(getitimer(ITIMER_REAL, &old) == 0);
	out("itimer: real signals=%d interval=%ldus running=%d code_kernel=%d\n", n, (long)old.it_interval.tv_usec,
	    old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0 && old.it_value.tv_usec <= 10000,
	    si.si_code == SI_KERNEL);
	struct itimerval zero = {{0, 0}, {0, 0}};
	PCHECK(setitimer(ITIMER_REAL, &zero, &old) == 0);
	out("itimer: old interval=%ldus\n", (long)old.it_interval.tv_usec);
	wait1(SIGALRM, &si, 0);
	unblock_all();
	out("itimer: bad which %s\n", res(setitimer(7, &zero, NULL)));

	signal(SIGPROF, on_cpu);
	signal(SIGVTALRM, on_cpu);
	struct itimerval cpu = {{0, 0}, {0, 20000}};
	PCHECK(setitimer(ITIMER_PROF, &cpu, NULL) == 0);
	burn_until(&prof, 10);
	PCHECK(setitimer(ITIMER_VIRTUAL, &cpu, NULL) == 0);
	burn_until(&vtalrm, 10);
	out("itimer: prof=%d virtual=%d\n", prof, vtalrm);
	PCHECK(getitimer(ITIMER_PROF, &old) == 0);
	out("itimer: prof disarmed=%d\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
	signal(SIGPROF, SIG_DFL);
	signal(SIGVTALRM, SIG_DFL);
}

static void c_sleep(void)
{
	int early = 0, late = 0;
	for (int i = 0; i < 5; i++) {
		long long start = now_ns(CLOCK_MONOTONIC);
		struct timespec ts = {0, 10000000};
		PCHECK(nanosleep(&ts, NULL) == 0);
		long long d = now_ns(CLOCK_MONOTONIC) - start;
		early += d < 10000000;
		late += d > 260000000;
	}
	for (int i = 0; i < 5; i++) {
		long long start = now_ns(CLOCK_MONOTONIC), at = start + 10000000;
		struct timespec ts = {at / 1000000000, at % 1000000000};
		PCHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0);
		long long end = now_ns(CLOCK_MONOTONIC);
		early += end < at;
		late += end - at > 250000000;
	}
	out("sleep: early=%d late=%d\n", early, late);
	signal(SIGALRM, on_cpu);
	struct itimerval once = {{0, 0}, {0, 20000}};
	PCHECK(setitimer(ITIMER_REAL, &once, NULL) == 0);
	struct timespec two = {2, 0}, rem = {0, 0};
	int r = nanosleep(&two, &rem);
	out("sleep: interrupted %s rem between 1.5s and 2s=%d\n", res(r),
	    rem.tv_sec == 1 && rem.tv_nsec >= 500000000);
	signal(SIGALRM, SIG_DFL);
	struct timespec bad = {0, -1};
	out("sleep: bad %s\n", res(nanosleep(&bad, NULL)));
	struct timespec ok = {0, 1000};
	out("sleep: thread cpu clock %s\n", errname(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ok, NULL)));
	out("sleep: bad clock %s\n", errname(clock_nanosleep(99, 0, &ok, NULL)));
}

static void c_settime(void)
{
	pid_t c = pfork();
	if (c == 0) {
		if (geteuid() == 0)
			PCHECK(setresuid(65534, 65534, 65534) == 0);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		out("settime: clock_settime %s\n", res(clock_settime(CLOCK_REALTIME, &ts)));
		out("settime: monotonic %s\n", res(clock_settime(CLOCK_MONOTONIC, &ts)));
		out("settime: bad clock %s\n", res(clock_settime(99, &ts)));
		struct timeval tv;
		gettimeofday(&tv, NULL);
		out("settime: settimeofday %s\n", res(settimeofday(&tv, NULL)));
		struct timex tx = {0};
		out("settime: adjtimex read ok=%d\n", adjtimex(&tx) >= 0);
		tx.modes = ADJ_FREQUENCY;
		out("settime: adjtimex set %s\n", res(adjtimex(&tx)));
		_exit(0);
	}
	out("settime: child %s\n", wstat(reap(c)));
}

static void c_forked(void)
{
	block1(SIGRTMIN);
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
	PCHECK(timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
	pid_t c = pfork();
	if (c == 0) {
		struct itimerspec its;
		out("forked: child gettime %s\n", res(timer_gettime(id, &its)));
		_exit(0);
	}
	out("forked: child %s\n", wstat(reap(c)));
	PCHECK(timer_delete(id) == 0);
	unblock_all();
}

static const struct pcase cases[] = {
	{"errors", c_errors}, {"oneshot", c_oneshot}, {"periodic", c_periodic}, {"abstime", c_abstime},
	{"none", c_none}, {"thread", c_thread}, {"cputime", c_cputime}, {"sigwait", c_sigwait},
	{"itimer", c_itimer}, {"sleep", c_sleep}, {"settime", c_settime}, {"forked", c_forked},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

// variants: glibc musl
/* proc_signal: signal handlers. A SIGUSR1 handler runs for raise and kill
 * (SA_SIGINFO: si_signo, si_code SI_USER/SI_TKILL, si_pid); the handler
 * runs with its signal and sa_mask blocked (not with SA_NODEFER);
 * SA_RESETHAND; SIG_IGN; a blocking pipe read interrupted by a handler
 * fails with EINTR without SA_RESTART and is restarted with it; a blocked
 * signal stays pending until sigprocmask unblocks it (two raises merge, a
 * kill pends process-wide: two deliveries); sigpending, and SIG_IGN
 * discards a pending signal; sigsuspend
 * returns EINTR after the handler and restores the mask; a SIGCHLD
 * handler sees CLD_EXITED (also through 2000 forks in a row); a SIGSEGV handler siglongjmps out of faults
 * (SEGV_MAPERR, SEGV_ACCERR, si_addr); a pending blocked SIGTERM kills on
 * unblock; SIGKILL/SIGSTOP cannot be caught or blocked; alarm; registers
 * survive asynchronous signals. One line a case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <poll.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>

static volatile sig_atomic_t hits, last_sig, last_code, pid_ok, blocked_inside, usr2_inside;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_code = si->si_code;
	pid_ok = si->si_pid == getpid();
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	blocked_inside = sigismember(&m, sig);
	usr2_inside = sigismember(&m, SIGUSR2);
}

static void install(int sig, int flags, int mask_usr2)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (mask_usr2)
		sigaddset(&sa.sa_mask, SIGUSR2);
	PCHECK(sigaction(sig, &sa, NULL) == 0);
}

static const char *code(int c)
{
	return c == SI_USER ? "SI_USER" : c == SI_TKILL ? "SI_TKILL" : c == SI_QUEUE ? "SI_QUEUE" : "other";
}

static void handler(void)
{
	install(SIGUSR1, 0, 1);
	hits = 0;
	raise(SIGUSR1);
	out("handler: raise hits=%d sig=%s code=%s pid_ok=%d self_blocked=%d sa_mask_blocked=%d\n",
	    (int)hits, signame(last_sig), code(last_code), (int)pid_ok, (int)blocked_inside,
	    (int)usr2_inside);
	kill(getpid(), SIGUSR1);
	out("handler: kill hits=%d code=%s pid_ok=%d\n", (int)hits, code(last_code), (int)pid_ok);
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	out("handler: mask restored usr1=%d usr2=%d\n", sigismember(&m, SIGUSR1),
	    sigismember(&m, SIGUSR2));

	install(SIGUSR1, SA_NODEFER, 0);
	raise(SIGUSR1);
	out("handler: SA_NODEFER self_blocked=%d\n", (int)blocked_inside);

	install(SIGUSR1, SA_RESETHAND, 0);
	hits = 0;
	raise(SIGUSR1);
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	out("handler: SA_RESETHAND hits=%d then %s self_blocked=%d\n", (int)hits,
	    now.sa_handler == SIG_DFL ? "SIG_DFL" : "not reset", (int)blocked_inside);

	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	out("handler: SIG_IGN survived=1\n");

	struct sigaction sa = {0}, old;
	sa.sa_handler = SIG_IGN;
	errno = 0;
	out("handler: catch SIGKILL -> %s SIGSTOP -> %s sig0 -> %s sig65 -> %s\n",
	    res(sigaction(SIGKILL, &sa, NULL)), res(sigaction(SIGSTOP, &sa, NULL)),
	    res(sigaction(0, &sa, NULL)), res(sigaction(65, &sa, NULL)));
	memset(&old, 0xff, sizeof old);
	const char *r = res(sigaction(SIGKILL, NULL, &old));
	out("handler: query SIGKILL -> %s dfl=%d\n", r, old.sa_handler == SIG_DFL);
	sigset_t all, got;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &m);
	sigprocmask(SIG_SETMASK, &m, &got);
	out("handler: block all -> kill=%d stop=%d usr1=%d\n", sigismember(&got, SIGKILL),
	    sigismember(&got, SIGSTOP), sigismember(&got, SIGUSR1));
	signal(SIGUSR1, SIG_DFL);
}

/* nagger: a child that sends sig to the parent every ms milliseconds
 * until the parent closes the pipe stop (or, when limit is not 0, after
 * limit signals: then it writes a byte to outfd). */
static pid_t nagger(int sig, int limit, int ms, int stop[2], int outfd)
{
	pid_t parent = getpid();
	pid_t p = pfork();
	if (p == 0) {
		close(stop[1]);
		for (int i = 0; limit == 0 || i < limit; i++) {
			struct pollfd pf = {stop[0], POLLIN, 0};
			if (poll(&pf, 1, ms) != 0)
				_exit(0);
			kill(parent, sig);
		}
		writeall(outfd, "d", 1);
		_exit(0);
	}
	return p;
}

static void restart(void)
{
	int data[2], stop[2];
	char c;

	/* without SA_RESTART: the read fails with EINTR */
	PCHECK(pipe(data) == 0 && pipe(stop) == 0);
	install(SIGUSR1, 0, 0);
	hits = 0;
	pid_t p = nagger(SIGUSR1, 0, 20, stop, data[1]);
	ssize_t r = read(data[0], &c, 1);
	int e = errno;
	close(stop[1]);
	reap(p);
	out("restart: no SA_RESTART read=%zd errno=%s handled=%d\n", r, perr(r < 0 ? e : 0),
	    hits > 0);
	close(data[0]), close(data[1]), close(stop[0]);

	/* with SA_RESTART: the read goes on and gets the byte */
	PCHECK(pipe(data) == 0 && pipe(stop) == 0);
	install(SIGUSR1, SA_RESTART, 0);
	hits = 0;
	p = nagger(SIGUSR1, 3, 20, stop, data[1]);
	r = read(data[0], &c, 1);
	e = errno;
	close(stop[1]);
	reap(p);
	/* (the three signals may merge while one is pending: count >= 1) */
	out("restart: SA_RESTART read=%zd errno=%s byte=%c handled=%d\n", r, perr(r < 0 ? e : 0),
	    r == 1 ? c : '-', hits > 0);
	close(data[0]), close(data[1]), close(stop[0]);
	signal(SIGUSR1, SIG_DFL);
}

static void mask(void)
{
	install(SIGUSR1, 0, 0);
	hits = 0;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	PCHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	raise(SIGUSR1);
	raise(SIGUSR1);
	kill(getpid(), SIGUSR1);
	int before = hits;
	PCHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
	out("mask: while blocked hits=%d after unblock hits=%d\n", before, (int)hits);
	PCHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	sigset_t got;
	out("mask: SIG_BLOCK old has usr1=%d bad how -> %s\n", sigismember(&old, SIGUSR1),
	    res(sigprocmask(12345, &set, &got)));
	PCHECK(sigprocmask(SIG_SETMASK, &old, &got) == 0);
	out("mask: SIG_SETMASK returned usr1=%d\n", sigismember(&got, SIGUSR1));
	signal(SIGUSR1, SIG_DFL);

	/* a pending SIGTERM kills when it is unblocked */
	pid_t p = pfork();
	if (p == 0) {
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		raise(SIGTERM);
		out("mask: child still alive with SIGTERM pending\n");
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		out("mask: FAIL child survived the unblock\n");
		_exit(0);
	}
	out("mask: child %s\n", wstat(reap(p)));
}

static void pending(void)
{
	sigset_t set, old, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	PCHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	sigfillset(&pend);
	const char *r = res(sigpending(&pend));
	out("pending: none -> %s usr1=%d usr2=%d\n", r, sigismember(&pend, SIGUSR1),
	    sigismember(&pend, SIGUSR2));
	raise(SIGUSR2);
	sigemptyset(&pend);
	r = res(sigpending(&pend));
	out("pending: raised usr2 -> %s usr1=%d usr2=%d\n", r, sigismember(&pend, SIGUSR1),
	    sigismember(&pend, SIGUSR2));
	signal(SIGUSR2, SIG_IGN); /* ignoring discards the pending signal */
	sigemptyset(&pend);
	r = res(sigpending(&pend));
	out("pending: after SIG_IGN -> %s usr2=%d\n", r, sigismember(&pend, SIGUSR2));
	signal(SIGUSR2, SIG_DFL);
	PCHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

static void suspend(void)
{
	install(SIGUSR1, 0, 0);
	hits = 0;
	sigset_t set, old, none;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	PCHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	pid_t parent = getpid();
	pid_t p = pfork();
	if (p == 0) {
		usleep(50000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigemptyset(&none);
	int r = sigsuspend(&none);
	int e = errno;
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	reap(p);
	out("suspend: sigsuspend=%d errno=%s hits=%d mask_restored=%d\n", r, perr(e), (int)hits,
	    sigismember(&now, SIGUSR1));
	/* already pending: returns at once */
	raise(SIGUSR1);
	r = sigsuspend(&none);
	out("suspend: pending first=%d hits=%d\n", r, (int)hits);
	PCHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	signal(SIGUSR1, SIG_DFL);
}

static volatile sig_atomic_t chld_hits, chld_code, chld_status, chld_pid_ok;
static volatile pid_t chld_want;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	chld_hits++;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid_ok = si->si_pid == chld_want;
}

static void sigchld(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	PCHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	PCHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	chld_hits = 0;
	pid_t p = pfork();
	if (p == 0)
		_exit(17);
	chld_want = p;
	while (chld_hits == 0)
		sigsuspend(&old);
	int st = reap(p);
	out("sigchld: hits=%d code=%s status=%d pid_ok=%d %s\n", (int)chld_hits,
	    chld_code == CLD_EXITED ? "CLD_EXITED" : "other", (int)chld_status, (int)chld_pid_ok,
	    wstat(st));
	chld_hits = 0;
	p = pfork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	chld_want = p;
	kill(p, SIGKILL);
	while (chld_hits == 0)
		sigsuspend(&old);
	st = reap(p);
	out("sigchld: killed hits=%d code=%s status=%s %s\n", (int)chld_hits,
	    chld_code == CLD_KILLED ? "CLD_KILLED" : "other", signame(chld_status), wstat(st));
	PCHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	signal(SIGCHLD, SIG_DFL);

	/* SIG_IGN for SIGCHLD: children are reaped by the kernel */
	signal(SIGCHLD, SIG_IGN);
	p = pfork();
	if (p == 0)
		_exit(0);
	int w = waitpid(p, &st, 0);
	out("sigchld: SIG_IGN waitpid -> %s\n", res(w));
	signal(SIGCHLD, SIG_DFL);
}

static volatile sig_atomic_t storm_hits;

static void on_chld_plain(int sig)
{
	(void)sig;
	storm_hits++;
}

/* sigchld_storm: 2000 children exit at once while a plain SIGCHLD
 * handler (no SA_RESTART, no SA_SIGINFO, like a shell's) is installed;
 * the parent computes a little or waits at once, so the signal comes
 * during the fork's return, user code or wait4. */
static void sigchld_storm(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_chld_plain;
	PCHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
	storm_hits = 0;
	int bad = 0;
	volatile unsigned long x = 0;
	for (int i = 0; i < 2000; i++) {
		pid_t p = pfork();
		if (p == 0)
			_exit(i & 7);
		for (int k = 0; k < (i % 3) * 300; k++)
			x += (unsigned long)k;
		int st;
		pid_t r;
		do
			r = wait4(p, &st, 0, NULL);
		while (r < 0 && errno == EINTR);
		bad += r != p || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 7);
	}
	out("sigchld_storm: forks=2000 bad=%d handled=%d\n", bad, storm_hits > 0);
	signal(SIGCHLD, SIG_DFL);
}

static sigjmp_buf jb;
static volatile void *fault_addr;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	fault_addr = si->si_addr;
	fault_code = si->si_code;
	siglongjmp(jb, 1);
}

static void segv(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	PCHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	volatile int *bad = (volatile int *)16;
	for (int i = 0; i < 3; i++) {
		if (sigsetjmp(jb, 1) == 0) {
			*bad = 1;
			out("segv: FAIL no fault\n");
		} else {
			out("segv: null+16 write caught round=%d addr_ok=%d code=%s\n", i,
			    fault_addr == (void *)16,
			    fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
		}
	}
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(ro != MAP_FAILED);
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile char *)(ro + 100) = 1;
		out("segv: FAIL no fault\n");
	} else {
		out("segv: read-only write caught addr_ok=%d code=%s\n", fault_addr == ro + 100,
		    fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");
	}
	munmap(ro, 4096);
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	out("segv: mask restored by siglongjmp segv_blocked=%d\n", sigismember(&m, SIGSEGV));
	signal(SIGSEGV, SIG_DFL);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void alarm_case(void)
{
	/* a child whose alarm kills it, in parallel with the parent's wait */
	pid_t p = pfork();
	if (p == 0) {
		alarm(1);
		pause();
		_exit(0);
	}
	unsigned first = alarm(5);
	unsigned left = alarm(0);
	out("alarm: first=%u left=%u cancel_again=%u\n", first, left, alarm(0));
	signal(SIGALRM, on_alarm);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, &old);
	alarm(1);
	while (alarms == 0)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	out("alarm: fired=%d left=%u\n", (int)alarms, alarm(0));
	signal(SIGALRM, SIG_DFL);
	out("alarm: default action child %s\n", wstat(reap(p)));
}

static volatile sig_atomic_t async_hits;

static void on_async(int sig)
{
	(void)sig;
	/* clobber what the handler may: integer and vector registers */
	volatile double d = 1.0;
	for (int i = 0; i < 50; i++)
		d = d * 1.0001 + (double)i;
	async_hits++;
}

/* work does integer and floating point arithmetic that keeps many values
 * in registers. */
static uint64_t work(int rounds)
{
	uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6;
	double x = 1.0, y = 0.5, z = 0.25;
	for (int i = 0; i < rounds; i++) {
		a = a * 6364136223846793005ULL + b;
		b ^= a >> 7;
		c += b * 3 + (uint64_t)i;
		d = (d << 1) ^ c;
		e += d >> 3;
		f ^= e + a;
		x = x * 1.0000001 + y;
		y = y * 0.9999999 + z;
		z = z + x * 1e-9;
	}
	return a ^ b ^ c ^ d ^ e ^ f ^ (uint64_t)(x * 1000) ^ (uint64_t)(y * 1000) ^
	       (uint64_t)(z * 1000);
}

static void async(void)
{
	const int rounds = 500000;
	uint64_t want = work(rounds);
	struct sigaction sa = {0};
	sa.sa_handler = on_async;
	sa.sa_flags = SA_RESTART;
	PCHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	int stop[2], dummy[2];
	PCHECK(pipe(stop) == 0 && pipe(dummy) == 0);
	pid_t p = nagger(SIGUSR2, 0, 1, stop, dummy[1]);
	int same = 1;
	for (int i = 0; i < 4; i++)
		same &= work(rounds) == want;
	close(stop[1]);
	reap(p);
	out("async: results_unchanged=%d\n", same);
	close(stop[0]), close(dummy[0]), close(dummy[1]);
	signal(SIGUSR2, SIG_DFL);
}

static const struct pcase cases[] = {
	{"handler", handler}, {"restart", restart}, {"mask", mask},   {"pending", pending}, {"suspend", suspend},
	{"sigchld", sigchld}, {"sigchld_storm", sigchld_storm}, {"segv", segv},	    {"async", async}, {"alarm", alarm_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

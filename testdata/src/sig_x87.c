// variants: glibc musl
/* sig_x87: a long double computation, which keeps its values on the x87
 * stack, interrupted by asynchronous signals whose handlers compute with
 * long double (x87) and double (SSE) and then leave the FPU full and in
 * other modes: the frame must save and restore the whole x87 state,
 * registers, tags and TOP included, the control word and MXCSR (the
 * result is the same as without signals). First in this
 * process, with a forked child sending the signals; then in a forked
 * child that computes while this process signals it. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int hits;
static volatile long double lsink;
static volatile double dsink;

static void on_usr1(int sig)
{
	(void)sig;
	long double x = 1.0L;
	double y = 1.0;
	for (int i = 0; i < 40; i++) {
		x = x * 1.000001L + 0.5L;
		y = y * 3.5 + 1.25;
	}
	lsink = x;
	dsink = y;
	hits++;
	/* A handler may leave the FPU as it likes, sigreturn restores it: a
	 * full x87 stack at single precision, SSE rounding up. */
	static const unsigned short single = 0x007f;
	static const unsigned up = 0x5f80;
	__asm__ volatile("fninit\n\tfldcw %0\n\tldmxcsr %1\n\t"
			 "fld1\n\tfldpi\n\tfld1\n\tfldpi\n\tfld1\n\tfldpi\n\tfld1\n\tfldpi"
			 ::"m"(single), "m"(up));
}

/* compute runs long double and double recurrences together. */
static void compute(long double *la, long double *lb, double *da)
{
	long double a = 0.0L, b = 1.0L;
	double d = 0.0;
	for (long i = 0; i < 3000000; i++) {
		a = a * 0.9999999L + b;
		b = b * 1.00000001L;
		d = d * 0.999999 + 1.0;
	}
	*la = a, *lb = b, *da = d;
}

static void storm(pid_t target, int n)
{
	for (int i = 0; i < n; i++) {
		kill(target, SIGUSR1);
		usleep(300);
	}
}

int main(void)
{
	signal(SIGUSR1, on_usr1);
	long double a, b;
	double d;

	fflush(stdout);
	pid_t parent = getpid();
	pid_t sender = fork();
	if (sender == 0) {
		storm(parent, 200);
		_exit(0);
	}
	compute(&a, &b, &d);
	waitpid(sender, 0, 0);
	printf("here: a=%.21Lg b=%.21Lg d=%.17g handled=%d\n", a, b, d, hits > 0);

	fflush(stdout);
	int ready[2];
	if (pipe(ready) != 0)
		return 1;
	pid_t worker = fork();
	if (worker == 0) {
		close(ready[0]);
		hits = 0;
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		compute(&a, &b, &d);
		printf("child: a=%.21Lg b=%.21Lg d=%.17g handled=%d\n", a, b, d, hits > 0);
		fflush(stdout);
		_exit(0);
	}
	close(ready[1]);
	char c;
	if (read(ready[0], &c, 1) != 1)
		return 1;
	/* Signal the worker until it exits. */
	int st;
	while (waitpid(worker, &st, WNOHANG) == 0)
		storm(worker, 1);
	printf("child: %s %d\n", WIFEXITED(st) ? "exited" : "killed", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}

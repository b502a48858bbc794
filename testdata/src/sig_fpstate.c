// variants: glibc musl i386
/* sig_fpstate: signal handlers that use SSE registers run while the
 * interrupted loop keeps its values in them; the frame must save and
 * restore that state (the loop result is the same as without signals). */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int hits;
static volatile double sink;
static void on_usr1(int sig) {
	double x = 1.0;
	for (int i = 0; i < 50; i++) x = x * 3.5 + 1.25; /* clobbers xmm0/xmm1 */
	sink = x;
	hits++;
}
int main(void) {
	signal(SIGUSR1, on_usr1);
	pid_t parent = getpid();
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 300; i++) { kill(parent, SIGUSR1); usleep(200); }
		_exit(0);
	}
	double a = 0.0, b = 1.0;
	for (long i = 0; i < 20000000; i++) { a = a * 0.999999 + b; b = b * 1.0000001; }
	waitpid(c, 0, 0);
	printf("a=%.17g b=%.17g a=%f b=%g handled=%d\n", a, b, a, b, hits > 0);
	return 0;
}

/*
 * Memory/processes: fork+exit rate. 2000 rounds (500 with -q) of fork(),
 * the child _exit(0)s at once, the parent waitpid()s for it. Prints fork_s,
 * fork_us per round and forks_per_s.
 */
#include "bench.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 500 : 2000;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(7);
		int st;
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			die("waitpid");
	}
	double t1 = now();
	report("fork_s", t1 - t0, "forks=%ld", n);
	report("fork_us", (t1 - t0) * 1e6 / n, "forks=%ld", n);
	report("forks_per_s", n / (t1 - t0), "forks=%ld", n);
	return 0;
}

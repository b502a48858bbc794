/*
 * Syscall-heavy: 1M getppid() system calls (250k with -q), the cheapest
 * round trip into the kernel. Prints getppid_s and getppid_ns per call.
 */
#include "bench.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 250000 : 1000000;
	long ppid = syscall(SYS_getppid), bad = 0;
	double t0 = now();
	for (long i = 0; i < n; i++)
		bad += syscall(SYS_getppid) != ppid;
	double t1 = now();
	if (bad)
		die("getppid changed %ld times", bad);
	report("getppid_s", t1 - t0, "calls=%ld", n);
	report("getppid_ns", (t1 - t0) * 1e9 / n, "calls=%ld", n);
	return 0;
}

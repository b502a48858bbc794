/*
 * Memory: mmap/munmap churn. 100k rounds (25k with -q) of mmap 64 KiB
 * anonymous, write its first and last page, munmap. Prints mmap_s and
 * mmap_munmap_ns per round.
 */
#include "bench.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 25000 : 100000;
	size_t len = 64 << 10;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		p[0] = 1;
		p[len - 1] = 2;
		if (munmap(p, len))
			die("munmap");
	}
	double t1 = now();
	report("mmap_s", t1 - t0, "rounds=%ld", n);
	report("mmap_munmap_ns", (t1 - t0) * 1e9 / n, "rounds=%ld", n);
	return 0;
}

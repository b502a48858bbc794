/*
 * Memory: touch 1 GiB (256 MiB with -q) of fresh anonymous memory, one
 * write per 4 KiB page, so every write is a demand-zero page fault.
 * Prints touch_s, touch_ns_per_page and touch_GBps.
 */
#include "bench.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	size_t bytes = (size_t)(quick ? 256 : 1024) << 20, pages = bytes / 4096;
	double t0 = now();
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %zu", bytes);
	for (size_t i = 0; i < pages; i++)
		p[i * 4096] = (char)i;
	double t1 = now();
	unsigned long long sum = 0;
	for (size_t i = 0; i < pages; i += 97)
		sum += (unsigned char)p[i * 4096 + (i & 7)];
	check("touch_sum", sum);
	report("touch_s", t1 - t0, "bytes=%zu", bytes);
	report("touch_ns_per_page", (t1 - t0) * 1e9 / pages, "bytes=%zu", bytes);
	report("touch_GBps", bytes / (t1 - t0) / 1e9, "bytes=%zu", bytes);
	return 0;
}

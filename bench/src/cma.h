/* Helpers shared by the CMA guests: a probe for ENOSYS and a batch timer. */
#ifndef CMAEMU_BENCH_CMA_H
#define CMAEMU_BENCH_CMA_H

#include "bench.h"
#include <sys/uio.h>

/* cma_probe exits with EXIT_UNSUPPORTED when process_vm_readv is ENOSYS
 * (qemu-user, kernels without CONFIG_CROSS_MEMORY_ATTACH). Reading one's
 * own memory is always permitted. */
UNUSED static void cma_probe(void)
{
	char src = 'x', dst = 0;
	struct iovec l = {&dst, 1}, r = {&src, 1};
	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) < 0) {
		if (errno == ENOSYS)
			unsupported("process_vm_readv");
		die("process_vm_readv probe");
	}
	if (dst != 'x')
		die("process_vm_readv probe copied the wrong byte");
}

/*
 * measure times run(iters), which performs iters operations, in batches:
 * the batch length is calibrated so that a batch lasts about 10 ms, and
 * batches repeat until min_s seconds have passed (at least 3 batches, at
 * most MAX_BATCHES). per_op[i] receives batch i's time per operation in
 * seconds. Returns the number of batches.
 */
#define MAX_BATCHES 1000

UNUSED static int measure(void (*run)(long), double min_s, double *per_op)
{
	long iters = 1;
	/* calibrate */
	for (;;) {
		double t0 = now();
		run(iters);
		double dt = now() - t0;
		if (dt >= 0.01 || iters >= (1L << 24))
			break;
		long next = dt > 0 ? (long)(iters * 0.012 / dt) + 1 : iters * 10;
		if (next > iters * 10)
			next = iters * 10;
		if (next <= iters)
			next = iters + 1;
		iters = next;
	}
	int nb = 0;
	double total = 0;
	while (nb < MAX_BATCHES && (nb < 3 || total < min_s)) {
		double t0 = now();
		run(iters);
		double dt = now() - t0;
		total += dt;
		per_op[nb++] = dt / iters;
	}
	return nb;
}

/* Reports NAME_GBps (median) and NAME_best_GBps for size bytes per op. */
UNUSED static void report_bw(const char *name, size_t size, double *per_op, int nb, const char *extra)
{
	char metric[128];
	double best = per_op[0];
	for (int i = 1; i < nb; i++)
		if (per_op[i] < best)
			best = per_op[i];
	double med = median(per_op, nb);
	snprintf(metric, sizeof metric, "%s_GBps", name);
	report(metric, size / med / 1e9, "size=%zu%s", size, extra ? extra : "");
	snprintf(metric, sizeof metric, "%s_best_GBps", name);
	report(metric, size / best / 1e9, "size=%zu%s", size, extra ? extra : "");
}

#endif

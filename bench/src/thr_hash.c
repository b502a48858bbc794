/*
 * Threads, CPU-bound: SHA-256 compression of 16 separate 256 KiB buffers,
 * each hashed 16 times over (64 MiB in all; 4 times, 16 MiB, with -q),
 * shared out over N threads (argv: [-q] N, default 1; N divides 16): thread
 * t hashes buffers t, t+N, ... The total work does not depend on N, so on
 * N free cores the time should be 1/N of the 1-thread time. The buffers are
 * filled before the clock starts; the threads share nothing but the
 * read-only round constants.
 *
 * Prints thr_hash_s and thr_hash_MBps (threads=N: from the first
 * pthread_create to the last pthread_join) and, as check lines, the XOR of
 * the buffers' digests, which is the same for every N.
 */
#include "bench.h"
#include "sha256.h"
#include <pthread.h>

#define NBUF 16
#define BUF_BYTES ((size_t)256 << 10)

static uint8_t *bufs[NBUF];
static uint32_t digest[NBUF][8];
static int nthreads, passes;

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int b = t; b < NBUF; b += nthreads) {
		uint32_t h[8];
		memcpy(h, sha256_iv, sizeof h);
		for (int p = 0; p < passes; p++)
			sha256_more(h, bufs[b], BUF_BYTES);
		memcpy(digest[b], h, sizeof h);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	nthreads = 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-q") != 0)
			nthreads = atoi(argv[i]);
	if (nthreads < 1 || NBUF % nthreads != 0) {
		errno = EINVAL;
		die("thread count %d does not divide %d", nthreads, NBUF);
	}
	passes = quick ? 4 : 16;

	uint64_t s = 0x9E3779B97F4A7C15ULL;
	for (int b = 0; b < NBUF; b++) {
		/* One allocation each (above glibc's mmap threshold): no two
		 * threads' buffers share a cache line or a page. */
		if (!(bufs[b] = malloc(BUF_BYTES)))
			die("malloc %zu", BUF_BYTES);
		for (size_t i = 0; i < BUF_BYTES; i += 8) {
			uint64_t r = rng_next(&s);
			memcpy(bufs[b] + i, &r, 8);
		}
	}

	pthread_t th[NBUF];
	double t0 = now();
	for (int t = 0; t < nthreads; t++) {
		int e = pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
		if (e) {
			errno = e;
			die("pthread_create");
		}
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	double t1 = now();

	size_t bytes = (size_t)NBUF * BUF_BYTES * passes;
	report("thr_hash_s", t1 - t0, "threads=%d", nthreads);
	report("thr_hash_MBps", bytes / (t1 - t0) / 1e6, "threads=%d", nthreads);
	uint32_t x0 = 0, x7 = 0;
	for (int b = 0; b < NBUF; b++)
		x0 ^= digest[b][0], x7 ^= digest[b][7];
	check("hash_h0", x0);
	check("hash_h7", x7);
	return 0;
}

/*
 * Memory map churn from N threads at once (argv: [-q] N, default 1; N
 * divides 8). 16000 rounds in all (4000 with -q), split evenly over the
 * threads; a round is: mmap one anonymous page, write it (a demand-zero
 * fault), mprotect it to PROT_READ, read it, munmap it. Every thread works
 * on its own pages, but all of them change the one address space, so a
 * kernel (or emulator) serializes the map changes and, with threads on
 * other CPUs, shoots down their TLB entries.
 *
 * Prints churn_s (threads=N: the first pthread_create to the last join),
 * churn_ns (elapsed time / all rounds: the machine's time per round) and
 * churn_thread_ns (elapsed time / rounds per thread: one thread's time per
 * round). The check line is a sum of the bytes read back.
 */
#include "bench.h"
#include <pthread.h>
#include <sys/mman.h>

#define MAXT 8

static long rounds_per_thread;
static uint64_t sums[MAXT][8]; /* one cache line each */
static pthread_barrier_t bar;

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t sum = 0;
	pthread_barrier_wait(&bar);
	for (long i = 0; i < rounds_per_thread; i++) {
		volatile uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		p[0] = (uint8_t)(i + t);
		if (mprotect((void *)p, 4096, PROT_READ))
			die("mprotect");
		sum += p[0];
		if (munmap((void *)p, 4096))
			die("munmap");
	}
	sums[t][0] = sum;
	return NULL;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	int n = 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-q") != 0)
			n = atoi(argv[i]);
	if (n < 1 || MAXT % n != 0) {
		errno = EINVAL;
		die("thread count %d does not divide %d", n, MAXT);
	}
	long rounds = quick ? 4000 : 16000;
	rounds_per_thread = rounds / n;
	alarm(60);

	pthread_barrier_init(&bar, NULL, n + 1);
	pthread_t th[MAXT];
	for (int t = 0; t < n; t++) {
		int e = pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
		if (e) {
			errno = e;
			die("pthread_create");
		}
	}
	pthread_barrier_wait(&bar);
	double t0 = now();
	for (int t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	double t1 = now();

	uint64_t sum = 0;
	for (int t = 0; t < n; t++)
		sum += sums[t][0];
	report("churn_s", t1 - t0, "threads=%d", n);
	report("churn_ns", (t1 - t0) * 1e9 / rounds, "threads=%d", n);
	report("churn_thread_ns", (t1 - t0) * 1e9 / rounds_per_thread, "threads=%d", n);
	check("sum", sum);
	return 0;
}

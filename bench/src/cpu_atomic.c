/*
 * CPU-bound: the cost of lock-prefixed instructions. One loop of 10M
 * iterations (2.5M with -q) mixes plain arithmetic (an LCG step and a shift)
 * with an xadd and a cmpxchg on a local variable in memory; it runs once
 * with the two instructions unlocked and once with the lock prefix. Only
 * one thread ever runs the loop, but emulators may translate atomics
 * differently once a process has more than one thread (qemu-user does), so
 * both loops run twice: first while the process is single-threaded
 * (threads=1), then again after a second thread has been started that
 * sleeps in pthread_cond_wait until the end (threads=2).
 *
 * Prints, for threads=1 and threads=2: loop_plain_ns and loop_locked_ns
 * (per iteration) and lock_ns, the extra time of one locked instruction
 * ((locked - plain) / 2). The results of each loop are check lines.
 */
#include "bench.h"
#include <pthread.h>

#define LOCKED 1
#define PLAIN 0

/* The two variants differ only in the lock prefix. */
#define LOOP(name, pfx)                                                          \
	static uint64_t name(long n, uint64_t *out)                             \
	{                                                                        \
		uint64_t v = 0, acc = 0x243F6A8885A308D3ULL;                     \
		for (long i = 0; i < n; i++) {                                   \
			acc = acc * 6364136223846793005ULL + 1442695040888963407ULL; \
			acc ^= acc >> 29;                                        \
			uint64_t d = acc & 0xff;                                 \
			__asm__ volatile(pfx "xaddq %0, %1"                      \
					 : "+r"(d), "+m"(v)                      \
					 :                                       \
					 : "memory", "cc");                      \
			uint64_t expect = d + (acc & 0xff);                      \
			uint64_t repl = expect ^ (acc >> 7);                     \
			__asm__ volatile(pfx "cmpxchgq %2, %1"                   \
					 : "+a"(expect), "+m"(v)                 \
					 : "r"(repl)                             \
					 : "memory", "cc");                      \
			acc += expect;                                           \
		}                                                                \
		*out = v;                                                        \
		return acc;                                                      \
	}

LOOP(loop_plain, "")
LOOP(loop_locked, "lock; ")

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int finished;

static void *sleeper(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!finished)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return arg;
}

static void measure(long n, int threads)
{
	uint64_t v[2], acc[2];
	double t0 = now();
	acc[PLAIN] = loop_plain(n, &v[PLAIN]);
	double t1 = now();
	acc[LOCKED] = loop_locked(n, &v[LOCKED]);
	double t2 = now();
	double plain = (t1 - t0) * 1e9 / n, locked = (t2 - t1) * 1e9 / n;
	report("loop_plain_ns", plain, "threads=%d", threads);
	report("loop_locked_ns", locked, "threads=%d", threads);
	report("lock_ns", (locked - plain) / 2, "threads=%d", threads);
	char name[32];
	snprintf(name, sizeof name, "plain_%d", threads);
	check(name, acc[PLAIN] ^ v[PLAIN]);
	snprintf(name, sizeof name, "locked_%d", threads);
	check(name, acc[LOCKED] ^ v[LOCKED]);
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 2500000 : 10000000;
	measure(n, 1);

	pthread_t th;
	int e = pthread_create(&th, NULL, sleeper, NULL);
	if (e) {
		errno = e;
		die("pthread_create");
	}
	measure(n, 2);
	pthread_mutex_lock(&mu);
	finished = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	return 0;
}

/*
 * The references for the CMA figures, for 4 KiB, 64 KiB, 1 MiB, 16 MiB and
 * 64 MiB:
 *  - memcpy_GBps: memcpy between two private buffers of one process (the
 *    ceiling of any copy);
 *  - shm_double_GBps: the double copy CMA replaces. A forked writer copies
 *    each message into a MAP_SHARED buffer, the reader (the parent) copies
 *    it out; the two hand the buffer back and forth through counters in
 *    shared memory: each side spins on the other's counter for a while,
 *    then sleeps in FUTEX_WAIT (shared futex) until woken, as shared-memory
 *    transports do. Rate = message bytes delivered per second.
 * Medians of batches of about 10 ms for at least 0.2 s (0.05 s with -q);
 * the best batch as *_best_GBps. Runs everywhere (no CMA).
 */
#include "cma.h"
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAXSZ ((size_t)64 << 20)

/* Counters are 32-bit futex words; each has a "sleepers" word that says
 * whether the other side may be blocked in FUTEX_WAIT on it. */
struct ctl {
	uint32_t cmd_seq, cmd_seq_sleep;   /* reader -> writer: a new batch */
	uint32_t written, written_sleep;   /* writer -> reader: messages in */
	uint32_t read, read_sleep;         /* reader -> writer: messages out */
	uint64_t cmd_size, cmd_count;      /* the batch; size 0: exit */
};

static struct ctl *ctl;
static char *src, *dst, *shm;
static size_t cur;
static double per_op[MAX_BATCHES];

/* How long a waiter spins before it sleeps: long enough that the other
 * side's copy of a message up to a few MiB finishes first when both run. */
#define SPIN_S 0.002

/* wait_ne returns the value of *word once it differs from v. */
static uint32_t wait_ne(uint32_t *word, uint32_t v, uint32_t *sleepers)
{
	uint32_t val;
	double deadline = 0;
	for (unsigned i = 1;; i++) {
		if ((val = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != v)
			return val;
		__builtin_ia32_pause();
		if (i % 1024 == 0) {
			double t = now();
			if (deadline == 0)
				deadline = t + SPIN_S;
			else if (t > deadline)
				break;
		}
	}
	__atomic_store_n(sleepers, 1, __ATOMIC_SEQ_CST);
	while ((val = __atomic_load_n(word, __ATOMIC_SEQ_CST)) == v)
		syscall(SYS_futex, word, FUTEX_WAIT, v, NULL, NULL, 0);
	__atomic_store_n(sleepers, 0, __ATOMIC_RELAXED);
	return val;
}

/* publish stores v into *word and wakes a sleeper, if any. */
static void publish(uint32_t *word, uint32_t v, uint32_t *sleepers)
{
	__atomic_store_n(word, v, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(sleepers, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void do_memcpy(long iters)
{
	for (long i = 0; i < iters; i++) {
		memcpy(dst, src, cur);
		__asm__ volatile("" ::: "memory");
	}
}

/* The reader's side of one batch: count messages of cur bytes. */
static uint32_t batch_seq, nread;

static void do_shm(long count)
{
	ctl->cmd_size = cur;
	ctl->cmd_count = (uint64_t)count;
	publish(&ctl->cmd_seq, ++batch_seq, &ctl->cmd_seq_sleep);
	for (long i = 0; i < count; i++) {
		wait_ne(&ctl->written, nread, &ctl->written_sleep); /* a message */
		memcpy(dst, shm, cur);
		publish(&ctl->read, ++nread, &ctl->read_sleep);
	}
}

static void writer(void)
{
	uint32_t seen = 0, nwritten = 0;
	for (;;) {
		seen = wait_ne(&ctl->cmd_seq, seen, &ctl->cmd_seq_sleep);
		size_t size = ctl->cmd_size;
		uint64_t count = ctl->cmd_count;
		if (size == 0)
			_exit(0);
		for (uint64_t i = 0; i < count; i++) {
			/* wait until the reader has emptied the buffer */
			uint32_t r;
			while ((r = __atomic_load_n(&ctl->read, __ATOMIC_ACQUIRE)) != nwritten)
				wait_ne(&ctl->read, r, &ctl->read_sleep);
			memcpy(shm, src, size);
			publish(&ctl->written, ++nwritten, &ctl->written_sleep);
		}
	}
}

static void *map(size_t n, int flags)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %zu", n);
	return p;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	double min_s = quick ? 0.05 : 0.2;
	static const size_t sizes[] = {4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20};
	const int nsizes = sizeof sizes / sizeof *sizes;

	src = map(MAXSZ, MAP_PRIVATE);
	dst = map(MAXSZ, MAP_PRIVATE);
	for (size_t i = 0; i < MAXSZ; i++)
		src[i] = (char)(i * 13 + 1);
	memset(dst, 0, MAXSZ);
	for (int k = 0; k < nsizes; k++) {
		cur = sizes[k];
		int nb = measure(do_memcpy, min_s, per_op);
		report_bw("memcpy", cur, per_op, nb, NULL);
	}

	ctl = map(sizeof *ctl, MAP_SHARED);
	shm = map(MAXSZ, MAP_SHARED);
	memset(shm, 0, MAXSZ);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		writer(); /* never returns */
	memset(dst, 0, MAXSZ);
	for (int k = 0; k < nsizes; k++) {
		cur = sizes[k];
		int nb = measure(do_shm, min_s, per_op);
		report_bw("shm_double", cur, per_op, nb, NULL);
	}
	if (memcmp(dst, src, MAXSZ) != 0)
		die("shared-memory copy delivered wrong bytes");
	cur = 0;
	do_shm(0);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("writer status %#x", st);
	check("shm_verified", 1);
	return 0;
}

/* rel_futex: futex argument rules and requeue counts, as Linux has them.
 *   args     no waiters: FUTEX_CMP_REQUEUE with a value that differs
 *            (EAGAIN) or matches (0); negative nr_wake or nr_requeue
 *            (EINVAL, checked before alignment, addresses and the value);
 *            nr_requeue taken from the low 32 bits of its argument
 *            (x86-64); misaligned words (EINVAL); unmapped words: a
 *            private futex is named without its page (wake and requeue
 *            give 0, a compared value is EFAULT), a shared one needs
 *            the page (EFAULT); FUTEX_WAIT on a differing value (EAGAIN)
 *            and on an unmapped word (EFAULT); bitset 0 (EINVAL)
 *   requeue  three threads wait on A: CMP_REQUEUE with nr_wake 0 and
 *            nr_requeue 0 (0, nothing moves), 1 and 1 (2: one woken,
 *            one moved), 0 and INT_MAX (the rest), A onto A (counts,
 *            moves nothing); FUTEX_WAKE with 0 wakes one; every waiter
 *            returns 0
 *   mixed    a private waiter is not woken through the shared futex of
 *            the same word, only through the private one
 * The number of waiters on a futex is read with FUTEX_REQUEUE from the
 * futex onto itself (nothing moves, the count is returned). One line a
 * check; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#define F_WAIT 0
#define F_WAKE 1
#define F_REQUEUE 3
#define F_CMP_REQUEUE 4
#define F_WAIT_BITSET 9
#define F_WAKE_BITSET 10
#define F_PRIVATE 128

static long fx(volatile int *uaddr, int op, int val, long val2, volatile int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

static volatile int A, B;
static int *unmapped;

static void setup_unmapped(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(p != MAP_FAILED);
	PCHECK(munmap(p, 4096) == 0);
	unmapped = p;
}

static void args_case(void)
{
	setup_unmapped();
	volatile int *mis = (volatile int *)((char *)&A + 1);
	A = 5;
	for (int priv = 0; priv <= F_PRIVATE; priv += F_PRIVATE) {
		const char *p = priv ? "private" : "shared";
		out("%s cmp_requeue mismatch: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, 1, 1, &B, 6)));
		out("%s cmp_requeue match: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, 1, 1, &B, 5)));
		out("%s nr_wake -1: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, -1, 1, &B, 5)));
		out("%s nr_requeue -1: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, 1, -1, &B, 5)));
		out("%s nr_wake INT_MIN: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, INT_MIN, 0, &B, 5)));
		out("%s requeue nr_requeue -1: %s\n", p, res(fx(&A, F_REQUEUE | priv, 0, -1, &B, 0)));
		out("%s negative and mismatch: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, -1, 0, &B, 6)));
		out("%s negative and misaligned: %s\n", p, res(fx(mis, F_CMP_REQUEUE | priv, 0, -1, &B, 5)));
		out("%s negative and unmapped: %s\n", p, res(fx(unmapped, F_CMP_REQUEUE | priv, 0, -1, &B, 5)));
		out("%s nr INT_MAX: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, INT_MAX, INT_MAX, &B, 5)));
		out("%s same futex: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, 1, INT_MAX, &A, 5)));
#ifdef __x86_64__
		out("%s nr_requeue 2^32-1 (as -1): %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, 1, 0xffffffffL, &B, 5)));
		out("%s nr_requeue high bits (as 1): %s\n", p,
		    res(fx(&A, F_CMP_REQUEUE | priv, 1, (long)0xffffffff00000001UL, &B, 5)));
#endif
		out("%s misaligned uaddr: %s\n", p, res(fx(mis, F_CMP_REQUEUE | priv, 1, 1, &B, 5)));
		out("%s misaligned uaddr2: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, 1, 1, mis, 5)));
		out("%s unmapped uaddr: %s\n", p, res(fx(unmapped, F_CMP_REQUEUE | priv, 1, 1, &B, 5)));
		out("%s unmapped uaddr2: %s\n", p, res(fx(&A, F_CMP_REQUEUE | priv, 1, 1, unmapped, 5)));
		out("%s requeue unmapped: %s\n", p, res(fx(unmapped, F_REQUEUE | priv, 1, 1, unmapped, 0)));
		out("%s wake unmapped: %s\n", p, res(fx(unmapped, F_WAKE | priv, 1, 0, NULL, 0)));
		out("%s wake misaligned: %s\n", p, res(fx(mis, F_WAKE | priv, 1, 0, NULL, 0)));
		out("%s wake 0: %s\n", p, res(fx(&A, F_WAKE | priv, 0, 0, NULL, 0)));
		out("%s wake -1: %s\n", p, res(fx(&A, F_WAKE | priv, -1, 0, NULL, 0)));
		out("%s wait mismatch: %s\n", p, res(fx(&A, F_WAIT | priv, 4, 0, NULL, 0)));
		out("%s wait unmapped: %s\n", p, res(fx(unmapped, F_WAIT | priv, 0, 0, NULL, 0)));
		out("%s wait misaligned: %s\n", p, res(fx(mis, F_WAIT | priv, 5, 0, NULL, 0)));
		out("%s wait_bitset 0: %s\n", p, res(fx(&A, F_WAIT_BITSET | priv, 5, 0, NULL, 0)));
		out("%s wake_bitset 0: %s\n", p, res(fx(&A, F_WAKE_BITSET | priv, 1, 0, NULL, 0)));
	}
}

struct waiter_arg {
	volatile int *addr;
	int op;
	long ret;
	int err;
};

static void *waiter(void *p)
{
	struct waiter_arg *w = p;
	w->ret = fx(w->addr, w->op, 0, 0, NULL, 0);
	w->err = errno;
	return NULL;
}

/* waiters returns how many tasks wait on f (op carries the private flag). */
static long waiters(volatile int *f, int priv)
{
	return fx(f, F_REQUEUE | priv, 0, INT_MAX, f, 0);
}

/* await_waiters waits (10 s at most) until n tasks wait on f. */
static int await_waiters(volatile int *f, int priv, long n)
{
	for (int i = 0; i < 10000; i++) {
		if (waiters(f, priv) == n)
			return 1;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void requeue_case(void)
{
	enum { N = 3 };
	pthread_t th[N];
	struct waiter_arg wa[N];
	A = B = 0;
	for (int i = 0; i < N; i++) {
		wa[i] = (struct waiter_arg){&A, F_WAIT | F_PRIVATE, -2, 0};
		PCHECK(pthread_create(&th[i], NULL, waiter, &wa[i]) == 0);
	}
	out("all waiting: %d\n", await_waiters(&A, F_PRIVATE, N));
	out("cmp_requeue 0 0: %s\n", res(fx(&A, F_CMP_REQUEUE | F_PRIVATE, 0, 0, &B, 0)));
	out("A=%ld B=%ld\n", waiters(&A, F_PRIVATE), waiters(&B, F_PRIVATE));
	out("cmp_requeue 1 1: %s\n", res(fx(&A, F_CMP_REQUEUE | F_PRIVATE, 1, 1, &B, 0)));
	out("A=%ld B=%ld\n", waiters(&A, F_PRIVATE), waiters(&B, F_PRIVATE));
	out("cmp_requeue 0 INT_MAX: %s\n", res(fx(&A, F_CMP_REQUEUE | F_PRIVATE, 0, INT_MAX, &B, 0)));
	out("A=%ld B=%ld\n", waiters(&A, F_PRIVATE), waiters(&B, F_PRIVATE));
	out("cmp_requeue B onto B: %s\n", res(fx(&B, F_CMP_REQUEUE | F_PRIVATE, 0, INT_MAX, &B, 0)));
	out("cmp_requeue B onto B mismatch: %s\n", res(fx(&B, F_CMP_REQUEUE | F_PRIVATE, 0, INT_MAX, &B, 1)));
	out("A=%ld B=%ld\n", waiters(&A, F_PRIVATE), waiters(&B, F_PRIVATE));
	out("wake B 0: %s\n", res(fx(&B, F_WAKE | F_PRIVATE, 0, 0, NULL, 0)));
	out("A=%ld B=%ld\n", waiters(&A, F_PRIVATE), waiters(&B, F_PRIVATE));
	out("wake B INT_MAX: %s\n", res(fx(&B, F_WAKE | F_PRIVATE, INT_MAX, 0, NULL, 0)));
	int zero = 0;
	for (int i = 0; i < N; i++) {
		PCHECK(pthread_join(th[i], NULL) == 0);
		zero += wa[i].ret == 0;
	}
	out("waiters returned 0: %d\n", zero);
}

static void mixed_case(void)
{
	pthread_t th;
	A = 0;
	struct waiter_arg wa = {&A, F_WAIT | F_PRIVATE, -2, 0};
	PCHECK(pthread_create(&th, NULL, waiter, &wa) == 0);
	out("waiting: %d\n", await_waiters(&A, F_PRIVATE, 1));
	out("shared waiters: %ld\n", waiters(&A, 0));
	out("shared wake: %s\n", res(fx(&A, F_WAKE, 1, 0, NULL, 0)));
	out("private wake: %s\n", res(fx(&A, F_WAKE | F_PRIVATE, 1, 0, NULL, 0)));
	PCHECK(pthread_join(th, NULL) == 0);
	out("waiter returned: %ld\n", wa.ret);
}

static const struct pcase cases[] = {
	{"args", args_case},
	{"requeue", requeue_case},
	{"mixed", mixed_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

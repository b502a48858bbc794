/* thr_atomic: lock-prefixed read-modify-write instructions are atomic.
 * Four workers hammer one MAP_SHARED area at the same time, either as four
 * threads of this process (cases NAME_threads) or as four forked processes
 * (cases NAME_procs); each worker does ITERS operations and the case prints
 * only the final values, which are exact when no update is lost:
 *
 *   inc         lock incl on one counter
 *   xadd        lock xaddl on one counter; each worker's tickets increase
 *               and no ticket is handed out twice
 *   cmpxchg     a lock cmpxchgl retry loop incrementing one counter
 *   spinlock    an xchg (implicitly locked) spinlock around a plain
 *               increment of two words that must stay in step
 *   cmpxchg8b   a lock cmpxchg8b loop adding 1 to both halves of a 64-bit
 *               word
 *   cmpxchg16b  a lock cmpxchg16b loop adding 1 to both halves of a 16-byte
 *               aligned 128-bit word (x86-64 only: the instruction does not
 *               exist in 32-bit mode, so the i386 builds have no such case)
 *   alu         lock addl/subl on one word; lock orl/andl/xorl on bits each
 *               worker owns in one shared word, checked after every step
 *   bits        lock btsl/btrl on bit 0 as a lock around a plain increment;
 *               lock btsl/btrl/btcl with a register bit offset on bits each
 *               worker owns in the next dword, checked through CF
 *   narrow      lock incb on a shared byte next to bytes three workers
 *               increment with plain stores, lock addw on a 16-bit word
 *   unaligned   lock xaddl, lock cmpxchg8b and lock incw on operands that
 *               are not naturally aligned but lie inside one cache line
 *               (x86 makes them atomic too; no split lock)
 *
 * Every operand but the unaligned case's is naturally aligned in both ABIs
 * (the i386 ABI aligns a uint64_t member to 4 only: it is aligned
 * explicitly).
 *
 * The workers start together (they wait for a flag the parent sets once all
 * exist). One line a case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

enum { NW = 4, ITERS = 50000, TOTAL = NW * ITERS };

/* The area every case works on: a fresh MAP_SHARED anonymous mapping, so
 * that forked workers share it as threads do. */
struct area {
	volatile uint32_t go;		/* the parent lets the workers run */
	volatile uint32_t stuck;	/* a spinning worker gave up */
	volatile uint32_t counter;	/* inc, xadd, cmpxchg, spinlock, bits */
	volatile uint32_t lock;		/* spinlock */
	volatile uint32_t pair;		/* spinlock: always 2 * counter */
	volatile uint32_t word;		/* alu: add/sub; narrow: bytes */
	volatile uint32_t bits[2];	/* alu: owned bits; bits: lock + owned */
	volatile uint16_t half;		/* narrow: lock addw */
	volatile uint64_t wide __attribute__((aligned(8))); /* cmpxchg8b */
	volatile uint32_t bad[NW];	/* per worker: failed checks */
	volatile uint32_t done[NW];	/* per worker: operations completed */
	volatile uint64_t dwide[2] __attribute__((aligned(16))); /* cmpxchg16b */
	unsigned char line[64] __attribute__((aligned(64))); /* unaligned */
	unsigned char tickets[TOTAL];	/* xadd: how often each was handed out */
};

#define AREA_SIZE ((sizeof(struct area) + 4095) & ~(size_t)4095)

static struct area *area_new(void)
{
	void *p = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	PCHECK(p != MAP_FAILED);
	return p;
}

static void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* wait_go: a worker waits for the start flag (yielding, so that it never
 * holds a CPU the parent needs to set it). */
static void wait_go(struct area *a)
{
	while (!a->go)
		sched_yield();
}

/* spin_wait pauses while *p & mask is set, yielding now and then so that a
 * lock holder that lost its CPU gets it back. It gives up (returns 0) after
 * GIVE_UP seconds: a lock word that lost its release to a non-atomic update
 * stays set forever, and the case then reports a bad count rather than
 * hanging (once one waiter gave up, every later wait fails at once). No
 * native run waits anywhere near that long. */
enum { GIVE_UP = 10 };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int spin_wait(struct area *a, volatile uint32_t *p, uint32_t mask)
{
	double start = 0;
	for (unsigned n = 1; *p & mask; n++) {
		if (a->stuck)
			return 0;
		cpu_relax();
		if (n % 256 == 0)
			sched_yield();
		if (n % 65536 == 0) {
			if (start == 0)
				start = now();
			else if (now() - start > GIVE_UP) {
				a->stuck = 1; /* the other waiters give up at once */
				return 0;
			}
		}
	}
	return 1;
}

/* ---- the operations: fn(area, worker) ---- */

static void op_inc(struct area *a, int id)
{
	for (int i = 0; i < ITERS; i++)
		__asm__ volatile("lock incl %0" : "+m"(a->counter) : : "memory", "cc");
	a->done[id] = ITERS;
}

static void op_xadd(struct area *a, int id)
{
	uint32_t prev = 0;
	int bad = 0;
	for (int i = 0; i < ITERS; i++) {
		uint32_t t = 1;
		__asm__ volatile("lock xaddl %0, %1" : "+r"(t), "+m"(a->counter) : : "memory", "cc");
		if ((i > 0 && t <= prev) || t >= TOTAL)
			bad++;
		else
			a->tickets[t]++;
		prev = t;
	}
	a->bad[id] = bad;
	a->done[id] = ITERS;
}

/* cas32 is lock cmpxchgl: it returns the value it found (old when it
 * stored new). */
static uint32_t cas32(volatile uint32_t *p, uint32_t old, uint32_t new)
{
	__asm__ volatile("lock cmpxchgl %2, %1" : "+a"(old), "+m"(*p) : "r"(new) : "memory", "cc");
	return old;
}

static void op_cmpxchg(struct area *a, int id)
{
	int n = 0;
	for (int i = 0; i < ITERS; i++) {
		uint32_t old = a->counter, seen;
		while ((seen = cas32(&a->counter, old, old + 1)) != old)
			old = seen;
		n++;
	}
	a->done[id] = n;
}

static void op_spinlock(struct area *a, int id)
{
	int bad = 0;
	for (int i = 0; i < ITERS; i++) {
		for (;;) {
			uint32_t v = 1;
			__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(a->lock) : : "memory");
			if (v == 0)
				break;
			if (!spin_wait(a, &a->lock, 1)) {
				bad++;
				break;
			}
		}
		/* plain, non-atomic updates: only the lock keeps them whole */
		uint32_t c = a->counter;
		if (a->pair != 2 * c)
			bad++;
		a->counter = c + 1;
		a->pair = a->pair + 2;
		__asm__ volatile("" ::: "memory");
		a->lock = 0; /* a plain store releases on x86 */
	}
	a->bad[id] = bad;
	a->done[id] = ITERS;
}

/* cas64 is lock cmpxchg8b: it returns the value it found. */
static uint64_t cas64(volatile uint64_t *p, uint64_t old, uint64_t new)
{
	uint32_t lo = (uint32_t)old, hi = (uint32_t)(old >> 32);
	__asm__ volatile("lock cmpxchg8b %0"
			 : "+m"(*p), "+a"(lo), "+d"(hi)
			 : "b"((uint32_t)new), "c"((uint32_t)(new >> 32))
			 : "memory", "cc");
	return (uint64_t)hi << 32 | lo;
}

static void op_cmpxchg8b(struct area *a, int id)
{
	for (int i = 0; i < ITERS; i++) {
		uint64_t old = a->wide, seen;
		while ((seen = cas64(&a->wide, old, old + 0x100000001ull)) != old)
			old = seen;
	}
	a->done[id] = ITERS;
}

#ifdef __x86_64__
/* cas128 is lock cmpxchg16b on p[0] (low) and p[1] (high): it returns
 * whether it stored, and leaves the value it found in old[]. */
static int cas128(volatile uint64_t *p, uint64_t old[2], const uint64_t new[2])
{
	uint64_t lo = old[0], hi = old[1];
	__asm__ volatile("lock cmpxchg16b %0"
			 : "+m"(*(volatile unsigned __int128 *)p), "+a"(lo), "+d"(hi)
			 : "b"(new[0]), "c"(new[1])
			 : "memory", "cc");
	int ok = lo == old[0] && hi == old[1];
	old[0] = lo, old[1] = hi;
	return ok;
}

static void op_cmpxchg16b(struct area *a, int id)
{
	for (int i = 0; i < ITERS; i++) {
		/* a torn first read only costs a retry */
		uint64_t old[2] = {a->dwide[0], a->dwide[1]};
		for (;;) {
			uint64_t new[2] = {old[0] + 1, old[1] + 1};
			if (cas128(a->dwide, old, new))
				break;
		}
	}
	a->done[id] = ITERS;
}
#endif

static void op_alu(struct area *a, int id)
{
	const uint32_t mine = 1u << id, held = 1u << (id + 8);
	int bad = 0;
	uint32_t parity = 0;
	for (int i = 0; i < ITERS; i++) {
		__asm__ volatile("lock addl $5, %0" : "+m"(a->word) : : "memory", "cc");
		__asm__ volatile("lock orl %1, %0" : "+m"(a->bits[0]) : "ir"(held) : "memory", "cc");
		__asm__ volatile("lock subl $3, %0" : "+m"(a->word) : : "memory", "cc");
		__asm__ volatile("lock xorl %1, %0" : "+m"(a->bits[0]) : "ir"(mine) : "memory", "cc");
		parity ^= mine;
		uint32_t v = a->bits[0];
		if ((v & held) == 0 || (v & mine) != parity)
			bad++;
		__asm__ volatile("lock andl %1, %0" : "+m"(a->bits[0]) : "ir"(~held) : "memory", "cc");
		v = a->bits[0];
		if ((v & held) != 0 || (v & mine) != parity)
			bad++;
	}
	a->bad[id] = bad;
	a->done[id] = ITERS;
}

/* bit_op runs one lock bts/btr/btc on the bit string at p with a register
 * bit offset and returns CF (the bit's old value). */
#define BIT_OP(name, insn)                                                    \
	static int name(volatile uint32_t *p, uint32_t bit)                   \
	{                                                                     \
		unsigned char cf;                                             \
		__asm__ volatile("lock " insn " %2, %0; setc %1"              \
				 : "+m"(*p), "=q"(cf)                         \
				 : "r"(bit)                                   \
				 : "memory", "cc");                           \
		return cf;                                                    \
	}
BIT_OP(lock_bts, "btsl")
BIT_OP(lock_btr, "btrl")
BIT_OP(lock_btc, "btcl")

static void op_bits(struct area *a, int id)
{
	/* 32 + 8*id: a bit of bits[1], reached through bits[0] */
	const uint32_t own = 32 + 8 * (uint32_t)id, flip = own + 1;
	int bad = 0, parity = 0;
	for (int i = 0; i < ITERS; i++) {
		for (;;) {
			unsigned char cf;
			__asm__ volatile("lock btsl $0, %0; setc %1"
					 : "+m"(a->bits[0]), "=q"(cf)
					 : : "memory", "cc");
			if (!cf)
				break;
			if (!spin_wait(a, &a->bits[0], 1)) {
				bad++;
				break;
			}
		}
		a->counter = a->counter + 1; /* plain: only the lock keeps it whole */
		unsigned char cf;
		__asm__ volatile("lock btrl $0, %0; setc %1"
				 : "+m"(a->bits[0]), "=q"(cf)
				 : : "memory", "cc");
		bad += cf != 1;
		/* outside the lock: the owned bits share a dword with the others' */
		bad += lock_bts(a->bits, own) != 0;
		bad += lock_btc(a->bits, flip) != parity;
		parity ^= 1;
		bad += lock_btr(a->bits, own) != 1;
	}
	a->bad[id] = bad;
	a->done[id] = ITERS;
}

static void op_narrow(struct area *a, int id)
{
	volatile uint8_t *b = (volatile uint8_t *)&a->word;
	for (int i = 0; i < ITERS; i++) {
		__asm__ volatile("lock incb %0" : "+m"(b[0]) : : "memory", "cc");
		__asm__ volatile("lock addw $1, %0" : "+m"(a->half) : : "memory", "cc");
		if (id > 0)
			b[id] = (uint8_t)(b[id] + 1); /* a plain store beside it */
	}
	a->done[id] = ITERS;
}

/* The unaligned case's operands, inside one 64-byte line. */
enum { UA_XADD = 2, UA_8B = 12, UA_W = 21 };

static void op_unaligned(struct area *a, int id)
{
	volatile uint32_t *x = (volatile uint32_t *)(a->line + UA_XADD);
	volatile uint64_t *w = (volatile uint64_t *)(a->line + UA_8B);
	volatile uint16_t *h = (volatile uint16_t *)(a->line + UA_W);
	for (int i = 0; i < ITERS; i++) {
		uint32_t t = 1;
		__asm__ volatile("lock xaddl %0, %1" : "+r"(t), "+m"(*x) : : "memory", "cc");
		uint64_t old = *w, seen;
		while ((seen = cas64(w, old, old + 0x100000001ull)) != old)
			old = seen;
		__asm__ volatile("lock incw %0" : "+m"(*h) : : "memory", "cc");
	}
	a->done[id] = ITERS;
}

/* ---- running the workers ---- */

typedef void (*op_fn)(struct area *, int);

struct worker {
	op_fn fn;
	struct area *a;
	int id;
};

static void *thread_main(void *arg)
{
	struct worker *w = arg;
	wait_go(w->a);
	w->fn(w->a, w->id);
	return NULL;
}

/* run starts NW workers of fn on a (threads, or forked processes), lets
 * them go together and waits for all. It returns how many ended normally
 * having done all their operations. */
static int run(op_fn fn, struct area *a, int procs)
{
	int ok = 0;
	if (procs) {
		pid_t pid[NW];
		for (int i = 0; i < NW; i++) {
			pid[i] = pfork();
			if (pid[i] == 0) {
				wait_go(a);
				fn(a, i);
				_exit(0);
			}
		}
		a->go = 1;
		for (int i = 0; i < NW; i++) {
			int st = reap(pid[i]);
			ok += WIFEXITED(st) && WEXITSTATUS(st) == 0 && a->done[i] == ITERS;
		}
		return ok;
	}
	pthread_t th[NW];
	struct worker w[NW];
	for (int i = 0; i < NW; i++) {
		w[i] = (struct worker){fn, a, i};
		PCHECK(pthread_create(&th[i], NULL, thread_main, &w[i]) == 0);
	}
	a->go = 1;
	for (int i = 0; i < NW; i++) {
		PCHECK(pthread_join(th[i], NULL) == 0);
		ok += a->done[i] == ITERS;
	}
	return ok;
}

static uint32_t bad_total(const struct area *a)
{
	uint32_t n = 0;
	for (int i = 0; i < NW; i++)
		n += a->bad[i];
	return n;
}

static const char *mode(int procs)
{
	return procs ? "procs" : "threads";
}

static void inc(int procs)
{
	struct area *a = area_new();
	int ok = run(op_inc, a, procs);
	out("inc_%s: workers=%d/%d iters=%d counter=%u\n", mode(procs), ok, NW, ITERS, a->counter);
	munmap(a, AREA_SIZE);
}

static void xadd(int procs)
{
	struct area *a = area_new();
	int ok = run(op_xadd, a, procs);
	int unique = 1;
	for (int t = 0; t < TOTAL; t++)
		unique &= a->tickets[t] == 1;
	out("xadd_%s: workers=%d/%d iters=%d counter=%u bad_tickets=%u tickets_unique=%d\n", mode(procs),
	    ok, NW, ITERS, a->counter, bad_total(a), unique);
	munmap(a, AREA_SIZE);
}

static void cmpxchg(int procs)
{
	struct area *a = area_new();
	int ok = run(op_cmpxchg, a, procs);
	out("cmpxchg_%s: workers=%d/%d iters=%d counter=%u\n", mode(procs), ok, NW, ITERS, a->counter);
	munmap(a, AREA_SIZE);
}

static void spinlock(int procs)
{
	struct area *a = area_new();
	int ok = run(op_spinlock, a, procs);
	out("spinlock_%s: workers=%d/%d iters=%d counter=%u pair=%u out_of_step=%u lock=%u\n",
	    mode(procs), ok, NW, ITERS, a->counter, a->pair, bad_total(a), a->lock);
	munmap(a, AREA_SIZE);
}

static void cmpxchg8b(int procs)
{
	struct area *a = area_new();
	int ok = run(op_cmpxchg8b, a, procs);
	out("cmpxchg8b_%s: workers=%d/%d iters=%d low=%u high=%u\n", mode(procs), ok, NW, ITERS,
	    (uint32_t)a->wide, (uint32_t)(a->wide >> 32));
	munmap(a, AREA_SIZE);
}

#ifdef __x86_64__
static void cmpxchg16b(int procs)
{
	struct area *a = area_new();
	int ok = run(op_cmpxchg16b, a, procs);
	out("cmpxchg16b_%s: workers=%d/%d iters=%d aligned=%d low=%llu high=%llu\n", mode(procs), ok,
	    NW, ITERS, ((uintptr_t)a->dwide & 15) == 0, (unsigned long long)a->dwide[0],
	    (unsigned long long)a->dwide[1]);
	munmap(a, AREA_SIZE);
}
#endif

static void alu(int procs)
{
	struct area *a = area_new();
	int ok = run(op_alu, a, procs);
	out("alu_%s: workers=%d/%d iters=%d add_sub=%u bits=%#x bad_bits=%u\n", mode(procs), ok, NW,
	    ITERS, a->word, a->bits[0], bad_total(a));
	munmap(a, AREA_SIZE);
}

static void bits(int procs)
{
	struct area *a = area_new();
	int ok = run(op_bits, a, procs);
	out("bits_%s: workers=%d/%d iters=%d counter=%u lock_word=%#x owned_word=%#x bad_cf=%u\n",
	    mode(procs), ok, NW, ITERS, a->counter, a->bits[0], a->bits[1], bad_total(a));
	munmap(a, AREA_SIZE);
}

static void narrow(int procs)
{
	struct area *a = area_new();
	int ok = run(op_narrow, a, procs);
	out("narrow_%s: workers=%d/%d iters=%d bytes=%08x half=%u\n", mode(procs), ok, NW, ITERS,
	    a->word, a->half);
	munmap(a, AREA_SIZE);
}

static void unaligned(int procs)
{
	struct area *a = area_new();
	int ok = run(op_unaligned, a, procs);
	uint32_t x;
	uint64_t w;
	uint16_t h;
	memcpy(&x, a->line + UA_XADD, sizeof x);
	memcpy(&w, a->line + UA_8B, sizeof w);
	memcpy(&h, a->line + UA_W, sizeof h);
	out("unaligned_%s: workers=%d/%d iters=%d xadd=%u cmpxchg8b_low=%u cmpxchg8b_high=%u incw=%u\n",
	    mode(procs), ok, NW, ITERS, x, (uint32_t)w, (uint32_t)(w >> 32), h);
	munmap(a, AREA_SIZE);
}

#define MODES(name)                                                           \
	static void name##_threads(void) { name(0); }                         \
	static void name##_procs(void) { name(1); }
MODES(inc)
MODES(xadd)
MODES(cmpxchg)
MODES(spinlock)
MODES(cmpxchg8b)
MODES(alu)
MODES(bits)
MODES(narrow)
MODES(unaligned)
#ifdef __x86_64__
MODES(cmpxchg16b)
#endif

#define CASES(name) {#name "_threads", name##_threads}, {#name "_procs", name##_procs}

static const struct pcase cases[] = {
	CASES(inc), CASES(xadd), CASES(cmpxchg), CASES(spinlock), CASES(cmpxchg8b),
#ifdef __x86_64__
	CASES(cmpxchg16b),
#endif
	CASES(alu), CASES(bits), CASES(narrow), CASES(unaligned),
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

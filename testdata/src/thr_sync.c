/* thr_sync: pthread synchronisation between threads running at the same
 * time, and between processes. Cases (argv names them; all in this order
 * without arguments):
 *
 *   mutex      4 threads x 20000 lock/unlock of a normal mutex around a
 *              plain update of two words that must stay in step
 *   recursive  a recursive mutex taken three deep by 4 threads x 10000;
 *              trylock from another thread while it is held twice, once,
 *              not at all; unlock by a thread that does not own it
 *   cond       a bounded queue (8 slots, a mutex and two condition
 *              variables): 2 producers x 20000 items, 2 consumers; every
 *              item arrives once, each producer's items in order
 *   barrier    4 threads x 2000 rounds of pthread_barrier_wait: each round
 *              every thread sees every other's slot at the round, and
 *              exactly one wait returns PTHREAD_BARRIER_SERIAL_THREAD
 *   spin       4 threads x 20000 pthread_spin_lock/unlock around a plain
 *              update
 *   rwlock     readers may hold the lock together, a writer alone
 *              (trylock results); 2 writers x 5000 and 3 readers x 20000,
 *              the readers never seeing a half-done write
 *   pshared    a PTHREAD_PROCESS_SHARED mutex and condition variable in a
 *              MAP_SHARED page: 3 processes x 10000 increments, then 500
 *              rounds of passing a turn around the ring of 3
 *   spinflag   a thread spins in user code (no syscalls) on a volatile
 *              flag that another thread sets after 100000 getppid calls
 *   texit      a thread ends with pthread_exit from a nested call (its
 *              cleanup handler and key destructor run, its value reaches
 *              pthread_join) while two others keep running and finish
 *   main_exit  the main thread ends with pthread_exit while a worker keeps
 *              running; the worker joins it, prints, and its return ends
 *              the process with status 0 (the last case: nothing runs
 *              after it)
 *
 * Only counts and facts that do not depend on timing are printed. One
 * line a case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>

enum { NT = 4 };

static void start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	PCHECK(pthread_create(th, NULL, fn, arg) == 0);
}

static void *join(pthread_t th)
{
	void *r;
	PCHECK(pthread_join(th, &r) == 0);
	return r;
}

/* ---- mutex ---- */

enum { MUTEX_ITERS = 20000 };
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile long m_count, m_pair, m_bad;

static void *mutex_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < MUTEX_ITERS; i++) {
		PCHECK(pthread_mutex_lock(&mu) == 0);
		long c = m_count;
		if (m_pair != 3 * c)
			m_bad++;
		m_count = c + 1;
		m_pair = m_pair + 3;
		PCHECK(pthread_mutex_unlock(&mu) == 0);
	}
	return NULL;
}

static void mutex(void)
{
	pthread_t th[NT];
	for (int i = 0; i < NT; i++)
		start(&th[i], mutex_worker, NULL);
	for (int i = 0; i < NT; i++)
		join(th[i]);
	out("mutex: threads=%d iters=%d counter=%ld pair=%ld out_of_step=%ld\n", NT, MUTEX_ITERS,
	    m_count, m_pair, m_bad);
}

/* ---- recursive ---- */

enum { REC_ITERS = 10000 };
static pthread_mutex_t rmu;
static volatile long r_count;

static void *rec_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < REC_ITERS; i++) {
		for (int d = 0; d < 3; d++)
			PCHECK(pthread_mutex_lock(&rmu) == 0);
		r_count = r_count + 1;
		for (int d = 0; d < 3; d++)
			PCHECK(pthread_mutex_unlock(&rmu) == 0);
	}
	return NULL;
}

/* rec_try runs in another thread: trylock, and unlock when it got it. */
static void *rec_try(void *arg)
{
	(void)arg;
	int r = pthread_mutex_trylock(&rmu);
	if (r == 0)
		PCHECK(pthread_mutex_unlock(&rmu) == 0);
	return (void *)(intptr_t)r;
}

static void *rec_unlock(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)pthread_mutex_unlock(&rmu);
}

static const char *ename(intptr_t r)
{
	return r == 0 ? "0" : perr((int)r);
}

static void recursive(void)
{
	pthread_mutexattr_t at;
	PCHECK(pthread_mutexattr_init(&at) == 0);
	PCHECK(pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE) == 0);
	PCHECK(pthread_mutex_init(&rmu, &at) == 0);
	pthread_t th[NT];
	for (int i = 0; i < NT; i++)
		start(&th[i], rec_worker, NULL);
	for (int i = 0; i < NT; i++)
		join(th[i]);

	pthread_t t;
	intptr_t held2, held1, held0, foreign;
	PCHECK(pthread_mutex_lock(&rmu) == 0 && pthread_mutex_lock(&rmu) == 0);
	start(&t, rec_try, NULL), held2 = (intptr_t)join(t);
	start(&t, rec_unlock, NULL), foreign = (intptr_t)join(t);
	PCHECK(pthread_mutex_unlock(&rmu) == 0);
	start(&t, rec_try, NULL), held1 = (intptr_t)join(t);
	PCHECK(pthread_mutex_unlock(&rmu) == 0);
	start(&t, rec_try, NULL), held0 = (intptr_t)join(t);
	out("recursive: threads=%d iters=%d depth=3 counter=%ld trylock_held2=%s trylock_held1=%s "
	    "trylock_free=%s unlock_by_other=%s\n",
	    NT, REC_ITERS, r_count, ename(held2), ename(held1), ename(held0), ename(foreign));
	PCHECK(pthread_mutex_destroy(&rmu) == 0);
	pthread_mutexattr_destroy(&at);
}

/* ---- cond: a bounded queue ---- */

enum { QCAP = 8, PRODUCERS = 2, CONSUMERS = 2, ITEMS = 20000 };
static struct {
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	long slot[QCAP];
	int head, len;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void q_put(long v)
{
	pthread_mutex_lock(&q.mu);
	while (q.len == QCAP)
		pthread_cond_wait(&q.not_full, &q.mu);
	q.slot[(q.head + q.len) % QCAP] = v;
	q.len++;
	pthread_cond_signal(&q.not_empty);
	pthread_mutex_unlock(&q.mu);
}

static long q_get(void)
{
	pthread_mutex_lock(&q.mu);
	while (q.len == 0)
		pthread_cond_wait(&q.not_empty, &q.mu);
	long v = q.slot[q.head];
	q.head = (q.head + 1) % QCAP;
	q.len--;
	pthread_cond_signal(&q.not_full);
	pthread_mutex_unlock(&q.mu);
	return v;
}

/* An item is producer * 1000000 + sequence (1..ITEMS); -1 ends a consumer. */
static void *producer(void *arg)
{
	long p = (intptr_t)arg;
	for (long i = 1; i <= ITEMS; i++)
		q_put(p * 1000000 + i);
	return NULL;
}

struct consumed {
	long n, sum, out_of_order;
};

static void *consumer(void *arg)
{
	struct consumed *c = arg;
	long last[PRODUCERS] = {0};
	for (;;) {
		long v = q_get();
		if (v < 0)
			return NULL;
		long p = v / 1000000, seq = v % 1000000;
		if (p < 0 || p >= PRODUCERS || seq <= last[p])
			c->out_of_order++;
		else
			last[p] = seq;
		c->n++;
		c->sum += v;
	}
}

static void cond(void)
{
	pthread_t prod[PRODUCERS], cons[CONSUMERS];
	struct consumed c[CONSUMERS] = {{0}};
	for (int i = 0; i < CONSUMERS; i++)
		start(&cons[i], consumer, &c[i]);
	for (intptr_t i = 0; i < PRODUCERS; i++)
		start(&prod[i], producer, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		join(prod[i]);
	for (int i = 0; i < CONSUMERS; i++)
		q_put(-1);
	for (int i = 0; i < CONSUMERS; i++)
		join(cons[i]);
	long n = 0, sum = 0, bad = 0, want = 0;
	for (int i = 0; i < CONSUMERS; i++)
		n += c[i].n, sum += c[i].sum, bad += c[i].out_of_order;
	for (long p = 0; p < PRODUCERS; p++)
		for (long i = 1; i <= ITEMS; i++)
			want += p * 1000000 + i;
	out("cond: producers=%d consumers=%d items=%d consumed=%ld sum_ok=%d out_of_order=%ld "
	    "queue_left=%d\n",
	    PRODUCERS, CONSUMERS, PRODUCERS * ITEMS, n, sum == want, bad, q.len);
}

/* ---- barrier ---- */

enum { ROUNDS = 2000 };
static pthread_barrier_t bar;
static volatile int b_slot[NT];
static volatile long b_serial, b_bad;
static pthread_mutex_t b_mu = PTHREAD_MUTEX_INITIALIZER;

static void *barrier_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	long serial = 0, bad = 0;
	for (int r = 1; r <= ROUNDS; r++) {
		b_slot[id] = r;
		int w = pthread_barrier_wait(&bar);
		PCHECK(w == 0 || w == PTHREAD_BARRIER_SERIAL_THREAD);
		serial += w == PTHREAD_BARRIER_SERIAL_THREAD;
		for (int i = 0; i < NT; i++)
			bad += b_slot[i] != r;
		/* nobody writes the next round's value before all have looked */
		w = pthread_barrier_wait(&bar);
		serial += w == PTHREAD_BARRIER_SERIAL_THREAD;
	}
	pthread_mutex_lock(&b_mu);
	b_serial += serial;
	b_bad += bad;
	pthread_mutex_unlock(&b_mu);
	return NULL;
}

static void barrier(void)
{
	PCHECK(pthread_barrier_init(&bar, NULL, NT) == 0);
	pthread_t th[NT];
	for (intptr_t i = 0; i < NT; i++)
		start(&th[i], barrier_worker, (void *)i);
	for (int i = 0; i < NT; i++)
		join(th[i]);
	out("barrier: threads=%d rounds=%d waits=%d serial_returns=%ld stale_slots=%ld\n", NT, ROUNDS,
	    2 * ROUNDS, b_serial, b_bad);
	PCHECK(pthread_barrier_destroy(&bar) == 0);
}

/* ---- spin ---- */

enum { SPIN_ITERS = 20000 };
static pthread_spinlock_t sl;
static volatile long s_count, s_pair, s_bad;

static void *spin_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < SPIN_ITERS; i++) {
		PCHECK(pthread_spin_lock(&sl) == 0);
		long c = s_count;
		if (s_pair != 5 * c)
			s_bad++;
		s_count = c + 1;
		s_pair = s_pair + 5;
		PCHECK(pthread_spin_unlock(&sl) == 0);
	}
	return NULL;
}

static void spin(void)
{
	PCHECK(pthread_spin_init(&sl, PTHREAD_PROCESS_PRIVATE) == 0);
	pthread_t th[NT];
	for (int i = 0; i < NT; i++)
		start(&th[i], spin_worker, NULL);
	for (int i = 0; i < NT; i++)
		join(th[i]);
	int held = pthread_spin_trylock(&sl);
	int again = pthread_spin_trylock(&sl);
	PCHECK(pthread_spin_unlock(&sl) == 0);
	out("spin: threads=%d iters=%d counter=%ld pair=%ld out_of_step=%ld trylock=%s trylock_held=%s\n",
	    NT, SPIN_ITERS, s_count, s_pair, s_bad, ename(held), ename(again));
	PCHECK(pthread_spin_destroy(&sl) == 0);
}

/* ---- rwlock ---- */

enum { WRITERS = 2, READERS = 3, WRITES = 5000, READS = 20000 };
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static volatile long rw_a, rw_b, rw_torn;
static pthread_mutex_t rw_mu = PTHREAD_MUTEX_INITIALIZER;

static void *rw_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < WRITES; i++) {
		PCHECK(pthread_rwlock_wrlock(&rw) == 0);
		rw_a = rw_a + 1;
		for (volatile int k = 0; k < 20; k++)
			; /* a reader let in now would see a != b */
		rw_b = rw_b + 1;
		PCHECK(pthread_rwlock_unlock(&rw) == 0);
	}
	return NULL;
}

static void *rw_reader(void *arg)
{
	(void)arg;
	long torn = 0;
	for (int i = 0; i < READS; i++) {
		PCHECK(pthread_rwlock_rdlock(&rw) == 0);
		long a = rw_a;
		for (volatile int k = 0; k < 5; k++)
			;
		torn += rw_b != a;
		PCHECK(pthread_rwlock_unlock(&rw) == 0);
	}
	pthread_mutex_lock(&rw_mu);
	rw_torn += torn;
	pthread_mutex_unlock(&rw_mu);
	return NULL;
}

static void *rw_tryrd(void *arg)
{
	(void)arg;
	int r = pthread_rwlock_tryrdlock(&rw);
	if (r == 0)
		PCHECK(pthread_rwlock_unlock(&rw) == 0);
	return (void *)(intptr_t)r;
}

static void *rw_trywr(void *arg)
{
	(void)arg;
	int r = pthread_rwlock_trywrlock(&rw);
	if (r == 0)
		PCHECK(pthread_rwlock_unlock(&rw) == 0);
	return (void *)(intptr_t)r;
}

static void rwlock(void)
{
	pthread_t t;
	intptr_t rd_rd, rd_wr, wr_rd, wr_wr, free_wr;
	PCHECK(pthread_rwlock_rdlock(&rw) == 0);
	start(&t, rw_tryrd, NULL), rd_rd = (intptr_t)join(t);
	start(&t, rw_trywr, NULL), rd_wr = (intptr_t)join(t);
	PCHECK(pthread_rwlock_unlock(&rw) == 0);
	PCHECK(pthread_rwlock_wrlock(&rw) == 0);
	start(&t, rw_tryrd, NULL), wr_rd = (intptr_t)join(t);
	start(&t, rw_trywr, NULL), wr_wr = (intptr_t)join(t);
	PCHECK(pthread_rwlock_unlock(&rw) == 0);
	start(&t, rw_trywr, NULL), free_wr = (intptr_t)join(t);
	out("rwlock: read_held: tryrd=%s trywr=%s write_held: tryrd=%s trywr=%s free: trywr=%s\n",
	    ename(rd_rd), ename(rd_wr), ename(wr_rd), ename(wr_wr), ename(free_wr));

	pthread_t w[WRITERS], r[READERS];
	for (int i = 0; i < READERS; i++)
		start(&r[i], rw_reader, NULL);
	for (int i = 0; i < WRITERS; i++)
		start(&w[i], rw_writer, NULL);
	for (int i = 0; i < WRITERS; i++)
		join(w[i]);
	for (int i = 0; i < READERS; i++)
		join(r[i]);
	out("rwlock: writers=%d x %d readers=%d x %d a=%ld b=%ld torn_reads=%ld\n", WRITERS, WRITES,
	    READERS, READS, rw_a, rw_b, rw_torn);
}

/* ---- pshared ---- */

enum { PROCS = 3, PS_ITERS = 10000, RING = 500 };
struct pshared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long counter;
	int turn;
	int rounds[PROCS];
};

static void pshared_work(struct pshared *s, int id)
{
	for (int i = 0; i < PS_ITERS; i++) {
		PCHECK(pthread_mutex_lock(&s->mu) == 0);
		s->counter++;
		PCHECK(pthread_mutex_unlock(&s->mu) == 0);
	}
	for (int r = 0; r < RING; r++) {
		PCHECK(pthread_mutex_lock(&s->mu) == 0);
		while (s->turn != id)
			PCHECK(pthread_cond_wait(&s->cv, &s->mu) == 0);
		s->turn = (id + 1) % PROCS;
		s->rounds[id]++;
		PCHECK(pthread_cond_broadcast(&s->cv) == 0);
		PCHECK(pthread_mutex_unlock(&s->mu) == 0);
	}
}

static void pshared(void)
{
	struct pshared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	PCHECK(s != MAP_FAILED);
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	PCHECK(pthread_mutexattr_init(&ma) == 0);
	PCHECK(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) == 0);
	PCHECK(pthread_mutex_init(&s->mu, &ma) == 0);
	PCHECK(pthread_condattr_init(&ca) == 0);
	PCHECK(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED) == 0);
	PCHECK(pthread_cond_init(&s->cv, &ca) == 0);
	pid_t pid[PROCS];
	for (int i = 1; i < PROCS; i++) {
		pid[i] = pfork();
		if (pid[i] == 0) {
			pshared_work(s, i);
			_exit(0);
		}
	}
	pshared_work(s, 0);
	int st[PROCS];
	for (int i = 1; i < PROCS; i++)
		st[i] = reap(pid[i]);
	out("pshared: procs=%d counter=%ld ring_rounds=%d,%d,%d turn=%d children=%s,%s\n", PROCS,
	    s->counter, s->rounds[0], s->rounds[1], s->rounds[2], s->turn, wstat(st[1]),
	    wstat(st[2]));
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	pthread_condattr_destroy(&ca);
	pthread_mutexattr_destroy(&ma);
	munmap(s, 4096);
}

/* ---- spinflag ---- */

enum { GETPPIDS = 100000 };
static volatile int flag;
static volatile int spinner_running;

static void *spinner(void *arg)
{
	(void)arg;
	spinner_running = 1;
	while (!flag)
		; /* user code only: no syscall, no pause */
	return (void *)1;
}

static void *setter(void *arg)
{
	(void)arg;
	pid_t pp = getppid();
	long same = 0;
	for (int i = 0; i < GETPPIDS; i++)
		same += getppid() == pp;
	flag = 1;
	return (void *)(intptr_t)same;
}

static void spinflag(void)
{
	pthread_t sp, se;
	start(&sp, spinner, NULL);
	while (!spinner_running)
		sched_yield();
	start(&se, setter, NULL);
	intptr_t same = (intptr_t)join(se);
	intptr_t saw = (intptr_t)join(sp);
	out("spinflag: getppid_calls=%ld spinner_saw_flag=%ld\n", (long)same, (long)saw);
}

/* ---- texit ---- */

static volatile int t_exited; /* set by main after joining the exiting thread */
static pthread_key_t t_key;
static volatile int t_cleanup, t_destructor;
static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
static long t_shared;

static void t_cleanup_fn(void *arg)
{
	t_cleanup = (int)(intptr_t)arg;
}

static void t_destroy(void *v)
{
	t_destructor = *(int *)v;
}

static void t_deep(int n);
static void (*volatile t_deeper)(int) = t_deep; /* real calls, not a loop */

static void t_deep(int n)
{
	if (n > 0)
		t_deeper(n - 1);
	pthread_exit((void *)(intptr_t)0x1234); /* from n calls deep */
}

static void *t_exiter(void *arg)
{
	static int value = 77;
	(void)arg;
	PCHECK(pthread_setspecific(t_key, &value) == 0);
	pthread_cleanup_push(t_cleanup_fn, (void *)(intptr_t)55);
	t_deep(5);
	pthread_cleanup_pop(0);
	return NULL; /* not reached */
}

/* t_worker works before and after the exiting thread is gone. */
static void *t_worker(void *arg)
{
	(void)arg;
	long before = 0, after = 0;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&t_mu);
		t_shared++;
		pthread_mutex_unlock(&t_mu);
		before++;
	}
	while (!t_exited)
		sched_yield();
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&t_mu);
		t_shared++;
		pthread_mutex_unlock(&t_mu);
		after++;
	}
	return (void *)(intptr_t)(before + after);
}

static void texit(void)
{
	PCHECK(pthread_key_create(&t_key, t_destroy) == 0);
	pthread_t w[2], e;
	for (int i = 0; i < 2; i++)
		start(&w[i], t_worker, NULL);
	start(&e, t_exiter, NULL);
	intptr_t v = (intptr_t)join(e);
	t_exited = 1;
	intptr_t n0 = (intptr_t)join(w[0]), n1 = (intptr_t)join(w[1]);
	out("texit: value=%#lx cleanup=%d key_destructor=%d workers_done=%ld,%ld shared=%ld\n",
	    (long)v, t_cleanup, t_destructor, (long)n0, (long)n1, t_shared);
	pthread_key_delete(t_key);
}

/* ---- main_exit ---- */

static pthread_t main_thread;

static void *last_worker(void *arg)
{
	(void)arg;
	void *r = (void *)1;
	int j = pthread_join(main_thread, &r);
	long n = 0;
	pid_t pp = getppid();
	for (int i = 0; i < 10000; i++)
		n += getppid() == pp;
	out("main_exit: join_main=%s main_value=%ld worker_calls_after=%ld\n", ename(j),
	    (long)(intptr_t)r, n);
	return NULL; /* the last thread: the process exits with status 0 */
}

static void main_exit(void)
{
	pthread_t w;
	main_thread = pthread_self();
	start(&w, last_worker, NULL);
	pthread_exit((void *)(intptr_t)42);
}

static const struct pcase cases[] = {
	{"mutex", mutex},	{"recursive", recursive}, {"cond", cond},
	{"barrier", barrier},	{"spin", spin},		  {"rwlock", rwlock},
	{"pshared", pshared},	{"spinflag", spinflag},	  {"texit", texit},
	{"main_exit", main_exit},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

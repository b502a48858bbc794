/*
 * A contended pthread mutex between two threads of one process (argv:
 * [-q] thread) or two processes (argv: [-q] process: the mutex, condition
 * variables and barrier are PTHREAD_PROCESS_SHARED, in a MAP_SHARED page,
 * and the second side is a forked child). Two phases, each running for
 * 0.5 s (0.1 s with -q) from a common start:
 *
 *  - lock: both sides loop on lock, increment a shared counter, unlock.
 *    mutex_ns is the time per lock/unlock pair of the two sides together
 *    (elapsed time / all increments);
 *  - pingpong: strict alternation. A side waits on its condition variable
 *    until the turn word names it, increments the counter, hands the turn
 *    to the other side and signals it. pingpong_ns is the time of one
 *    hand-off (elapsed time / all turns).
 *
 * The check lines say whether the mutex excluded: the increments the
 * counter lost (0 wherever lock cmpxchg is atomic between the two sides)
 * and whether the turns alternated. A watchdog (alarm) ends a side that
 * is still running after 15 s (5 s with -q), which is what a side waiting
 * on a broken mutex does.
 */
#include "bench.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

static unsigned watchdog_s;

struct shared {
	pthread_mutex_t m;
	pthread_cond_t cv[2];
	pthread_barrier_t bar;
	double deadline;
	uint64_t counter;    /* under m */
	uint64_t done[2];    /* each side's own increments */
	int turn, stop;      /* pingpong, under m */
};

static struct shared *sh;
static double phase_s;

static void lock_phase(int me)
{
	uint64_t mine = 0;
	for (;;) {
		for (int k = 0; k < 256; k++) {
			pthread_mutex_lock(&sh->m);
			sh->counter++;
			pthread_mutex_unlock(&sh->m);
		}
		mine += 256;
		if (now() > sh->deadline)
			break;
	}
	sh->done[me] = mine;
}

static void pingpong_phase(int me)
{
	uint64_t mine = 0;
	pthread_mutex_lock(&sh->m);
	for (;;) {
		while (sh->turn != me && !sh->stop)
			pthread_cond_wait(&sh->cv[me], &sh->m);
		if (sh->stop)
			break;
		sh->counter++;
		mine++;
		if (mine % 64 == 0 && now() > sh->deadline)
			sh->stop = 1;
		sh->turn = !me;
		pthread_cond_signal(&sh->cv[!me]);
	}
	pthread_cond_signal(&sh->cv[!me]);
	pthread_mutex_unlock(&sh->m);
	sh->done[me] = mine;
}

/* side runs both phases; side 0 (the main thread, the parent) sets the
 * deadlines between barriers. */
static void side(int me)
{
	pthread_barrier_wait(&sh->bar);
	pthread_barrier_wait(&sh->bar); /* side 0 has set the deadline */
	lock_phase(me);
	pthread_barrier_wait(&sh->bar);
	pthread_barrier_wait(&sh->bar);
	pingpong_phase(me);
	pthread_barrier_wait(&sh->bar);
}

static void *thread_side(void *arg)
{
	side(1);
	return arg;
}

/* run_phase starts a phase of side 0, waits for both sides and reports. */
static void run_phase(const char *name, const char *metric, void (*fn)(int))
{
	sh->counter = 0;
	sh->done[0] = sh->done[1] = 0;
	sh->turn = 0;
	sh->stop = 0;
	double t0 = now();
	sh->deadline = t0 + phase_s;
	pthread_barrier_wait(&sh->bar);
	fn(0);
	pthread_barrier_wait(&sh->bar);
	double t1 = now();
	uint64_t ops = sh->done[0] + sh->done[1];
	report(metric, ops ? (t1 - t0) * 1e9 / ops : 0, NULL);
	char chk[64];
	snprintf(chk, sizeof chk, "%s_lost_updates", name);
	check(chk, ops - sh->counter);
	if (fn == pingpong_phase) {
		uint64_t d = sh->done[0] > sh->done[1] ? sh->done[0] - sh->done[1] : sh->done[1] - sh->done[0];
		check("pingpong_alternates", d <= 1);
	}
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	int procs = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "process") == 0)
			procs = 1;
		else if (strcmp(argv[i], "-q") != 0 && strcmp(argv[i], "thread") != 0) {
			errno = EINVAL;
			die("usage: mutex [-q] thread|process");
		}
	}
	phase_s = quick ? 0.1 : 0.5;
	watchdog_s = quick ? 5 : 15;
	alarm(watchdog_s);

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	int pshared = procs ? PTHREAD_PROCESS_SHARED : PTHREAD_PROCESS_PRIVATE;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, pshared);
	pthread_mutex_init(&sh->m, &ma);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, pshared);
	pthread_cond_init(&sh->cv[0], &ca);
	pthread_cond_init(&sh->cv[1], &ca);
	pthread_barrierattr_t ba;
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, pshared);
	pthread_barrier_init(&sh->bar, &ba, 2);

	pthread_t th;
	pid_t pid = -1;
	if (procs) {
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			alarm(watchdog_s);
			side(1);
			_exit(0);
		}
	} else {
		int e = pthread_create(&th, NULL, thread_side, NULL);
		if (e) {
			errno = e;
			die("pthread_create");
		}
	}

	pthread_barrier_wait(&sh->bar);
	run_phase("mutex", "mutex_ns", lock_phase);
	run_phase("pingpong", "pingpong_ns", pingpong_phase);

	if (procs) {
		int st;
		if (waitpid(pid, &st, 0) != pid)
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			errno = 0;
			die("child status %#x", st);
		}
	} else {
		pthread_join(th, NULL);
	}
	return 0;
}

// variants: glibc musl
/* proc_thread: threads (clone with CLONE_THREAD through pthreads). Four
 * threads sum an array and return their sums through pthread_join; thread
 * ids differ from the pid (gettid != getpid in threads, the same getpid,
 * distinct tids); thread-local storage; a mutex-protected counter; a
 * mutex+condvar ping-pong of 1000 round trips; pthread_exit's value; a
 * signal sent to the main thread with pthread_kill runs its handler on
 * that thread; exit() from a thread ends the whole process; fork in a
 * thread; execve from a thread (the pid stays). One line a case; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

enum { NT = 4, LEN = 1 << 20 };
static uint32_t data[LEN];

static void *summer(void *arg)
{
	uintptr_t part = (uintptr_t)arg;
	uint64_t s = 0;
	for (size_t i = part * (LEN / NT); i < (part + 1) * (LEN / NT); i++)
		s += data[i];
	return (void *)(uintptr_t)s;
}

static void sum(void)
{
	uint64_t want = 0;
	for (size_t i = 0; i < LEN; i++) {
		data[i] = (uint32_t)(i * 2654435761u) >> 12;
		want += data[i];
	}
	pthread_t th[NT];
	for (uintptr_t i = 0; i < NT; i++)
		PCHECK(pthread_create(&th[i], NULL, summer, (void *)i) == 0);
	uint64_t total = 0;
	for (int i = 0; i < NT; i++) {
		void *r;
		PCHECK(pthread_join(th[i], &r) == 0);
		total += (uintptr_t)r;
	}
	out("sum: threads=%d total=%llu matches=%d\n", NT, (unsigned long long)total, total == want);
}

static __thread int tls_value = 7;
static pid_t tids[NT];
static int tls_ok[NT];

static void *ids_thread(void *arg)
{
	int i = (int)(uintptr_t)arg;
	tids[i] = tid();
	tls_ok[i] = tls_value == 7;
	tls_value = 100 + i;
	usleep(10000); /* everyone has set theirs */
	tls_ok[i] &= tls_value == 100 + i;
	return NULL;
}

static void ids(void)
{
	pthread_t th[NT];
	tls_value = 1;
	for (uintptr_t i = 0; i < NT; i++)
		PCHECK(pthread_create(&th[i], NULL, ids_thread, (void *)i) == 0);
	for (int i = 0; i < NT; i++)
		PCHECK(pthread_join(th[i], NULL) == 0);
	int differ = 1, distinct = 1, tls = 1;
	for (int i = 0; i < NT; i++) {
		differ &= tids[i] != getpid() && tids[i] > 0;
		tls &= tls_ok[i];
		for (int j = 0; j < i; j++)
			distinct &= tids[i] != tids[j];
	}
	out("ids: tid!=pid=%d distinct=%d main_tid==pid=%d tls_initial_and_private=%d main_tls=%d\n",
	    differ, distinct, tid() == getpid(), tls, tls_value);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn, rounds_done;

static void *incr(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void mutex(void)
{
	pthread_t th[NT];
	counter = 0;
	for (int i = 0; i < NT; i++)
		PCHECK(pthread_create(&th[i], NULL, incr, NULL) == 0);
	for (int i = 0; i < NT; i++)
		PCHECK(pthread_join(th[i], NULL) == 0);
	out("mutex: counter=%ld\n", counter);
}

enum { ROUNDS = 1000 };

static void *pong(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < ROUNDS; i++) {
		while (turn != 1)
			pthread_cond_wait(&cv, &mu);
		turn = 0;
		rounds_done++;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
	return (void *)(uintptr_t)0x5150;
}

static void pingpong(void)
{
	pthread_t th;
	turn = 0;
	rounds_done = 0;
	PCHECK(pthread_create(&th, NULL, pong, NULL) == 0);
	pthread_mutex_lock(&mu);
	int pings = 0;
	for (int i = 0; i < ROUNDS; i++) {
		turn = 1;
		pings++;
		pthread_cond_signal(&cv);
		while (turn != 0)
			pthread_cond_wait(&cv, &mu);
	}
	pthread_mutex_unlock(&mu);
	void *r;
	PCHECK(pthread_join(th, &r) == 0);
	out("pingpong: pings=%d pongs=%d join=%#lx\n", pings, rounds_done, (unsigned long)(uintptr_t)r);
}

static void *exiter(void *arg)
{
	(void)arg;
	pthread_exit((void *)(uintptr_t)77);
	return NULL;
}

static void texit(void)
{
	pthread_t th;
	void *r;
	PCHECK(pthread_create(&th, NULL, exiter, NULL) == 0);
	PCHECK(pthread_join(th, &r) == 0);
	out("texit: pthread_exit value=%lu\n", (unsigned long)(uintptr_t)r);
}

static volatile pid_t handler_tid;

static void on_usr1(int sig)
{
	(void)sig;
	handler_tid = tid();
}

static pthread_t main_thread;

static void *signaller(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)pthread_kill(main_thread, SIGUSR1);
}

static void tsignal(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	PCHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	PCHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	handler_tid = 0;
	main_thread = pthread_self();
	pthread_t th;
	void *r;
	PCHECK(pthread_create(&th, NULL, signaller, NULL) == 0);
	PCHECK(pthread_join(th, &r) == 0);
	while (handler_tid == 0)
		sigsuspend(&old);
	PCHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	out("tsignal: pthread_kill=%lu handled_on_main=%d\n", (unsigned long)(uintptr_t)r,
	    handler_tid == tid());
	signal(SIGUSR1, SIG_DFL);
}

static void *exit_whole(void *arg)
{
	(void)arg;
	usleep(10000);
	exit(5);
}

static void exit_group_case(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	pid_t c = pfork();
	if (c == 0) {
		pthread_t th;
		PCHECK(pthread_create(&th, NULL, exit_whole, NULL) == 0);
		char ch;
		read(p[0], &ch, 1); /* blocks until the other thread's exit */
		out("exit_group: FAIL main thread went on\n");
		_exit(1);
	}
	int st = reap(c);
	out("exit_group: exit in a thread ends the process %s\n", wstat(st));
	close(p[0]), close(p[1]);
}

static void *forker(void *arg)
{
	(void)arg;
	pid_t c = fork();
	if (c == 0)
		_exit(3);
	return (void *)(uintptr_t)reap(c);
}

static void fork_thread(void)
{
	pthread_t th;
	void *r;
	PCHECK(pthread_create(&th, NULL, forker, NULL) == 0);
	PCHECK(pthread_join(th, &r) == 0);
	out("fork_thread: child of a thread %s\n", wstat((int)(uintptr_t)r));
}

static void *execer(void *arg)
{
	(void)arg;
	char pidenv[32];
	snprintf(pidenv, sizeof pidenv, "PROC_PID=%d", (int)getpid());
	char *args[] = {"after-exec", NULL};
	char *envp[] = {"PROC_ROLE=exec", pidenv, NULL};
	execve("/proc/self/exe", args, envp);
	out("exec_thread: FAIL execve %s\n", perr(errno));
	_exit(1);
}

static int role_exec(void)
{
	const char *want = getenv("PROC_PID");
	out("exec_thread: exec'd from a thread pid_kept=%d tid==pid=%d\n",
	    want && atoi(want) == getpid(), tid() == getpid());
	return 6;
}

static void exec_thread(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	pid_t c = pfork();
	if (c == 0) {
		pthread_t th;
		PCHECK(pthread_create(&th, NULL, execer, NULL) == 0);
		char ch;
		read(p[0], &ch, 1); /* the exec ends this thread */
		out("exec_thread: FAIL main thread went on\n");
		_exit(1);
	}
	out("exec_thread: child %s\n", wstat(reap(c)));
	close(p[0]), close(p[1]);
}

static const struct pcase cases[] = {
	{"sum", sum},	      {"ids", ids},		      {"mutex", mutex},
	{"pingpong", pingpong}, {"texit", texit},	      {"tsignal", tsignal},
	{"exit_group", exit_group_case}, {"fork_thread", fork_thread}, {"exec_thread", exec_thread},
};

int main(int argc, char **argv)
{
	const char *role = getenv("PROC_ROLE");
	if (role != NULL && strcmp(role, "exec") == 0)
		return role_exec();
	return run_cases(cases, NCASES(cases), argc, argv);
}

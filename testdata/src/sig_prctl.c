/* sig_prctl: the prctl options programs use:
 *   name       PR_SET_NAME/PR_GET_NAME, cut to 15 bytes, in /proc/self/comm
 *              and /proc/self/task/TID/comm; a thread's name is its own
 *   tidaddr    PR_GET_TID_ADDRESS returns what set_tid_address set
 *   privs      PR_SET_NO_NEW_PRIVS/PR_GET_NO_NEW_PRIVS, PR_SET_DUMPABLE
 *   pdeathsig  a child with PR_SET_PDEATHSIG gets the signal when its
 *              parent exits, and when the parent thread that forked it
 *              exits while the process lives on
 *   subreaper  PR_SET_CHILD_SUBREAPER: an orphaned grandchild is
 *              reparented to the subreaper, which waits for it
 * Prints only facts (yes/no, errno names, names the guest chose). */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

static void readfile(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	PCHECK(fd >= 0);
	ssize_t r = read(fd, buf, n - 1);
	PCHECK(r >= 0);
	buf[r] = 0;
	if (r > 0 && buf[r - 1] == '\n')
		buf[r - 1] = 0;
	close(fd);
}

static void *namer(void *arg)
{
	PCHECK(prctl(PR_SET_NAME, "worker-thread") == 0);
	char name[32], path[64], comm[32];
	PCHECK(prctl(PR_GET_NAME, name) == 0);
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)syscall(SYS_gettid));
	readfile(path, comm, sizeof comm);
	out("name: thread get=%s task comm=%s\n", name, comm);
	return NULL;
}

static void c_name(void)
{
	char name[32] = "", comm[32];
	PCHECK(prctl(PR_SET_NAME, "sig-prctl-main") == 0);
	PCHECK(prctl(PR_GET_NAME, name) == 0);
	readfile("/proc/self/comm", comm, sizeof comm);
	out("name: get=%s comm=%s\n", name, comm);
	PCHECK(prctl(PR_SET_NAME, "a-name-longer-than-fifteen") == 0);
	PCHECK(prctl(PR_GET_NAME, name) == 0);
	out("name: long get=%s\n", name);
	PCHECK(prctl(PR_SET_NAME, "sig-prctl-main") == 0);
	pthread_t th;
	PCHECK(pthread_create(&th, NULL, namer, NULL) == 0);
	pthread_join(th, NULL);
	readfile("/proc/self/comm", comm, sizeof comm);
	out("name: main still=%s\n", comm);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", getpid());
	readfile(path, comm, sizeof comm);
	out("name: main task=%s\n", comm);
	pid_t c = pfork();
	if (c == 0) {
		readfile("/proc/self/comm", comm, sizeof comm);
		out("name: child inherits=%s\n", comm);
		_exit(0);
	}
	reap(c);
}

static int tidword;

static void c_tidaddr(void)
{
	pid_t c = pfork();
	if (c == 0) {
		long tid = syscall(SYS_set_tid_address, &tidword);
		/* a 64-bit kernel writes a 64-bit pointer, for i386 tasks too */
		unsigned long long addr = 0;
		long r = prctl(PR_GET_TID_ADDRESS, &addr);
		out("tidaddr: %s tid_self=%d same=%d\n", res(r), tid == getpid(), addr == (uintptr_t)&tidword);
		_exit(0);
	}
	reap(c);
}

static void c_privs(void)
{
	pid_t c = pfork();
	if (c == 0) {
		out("privs: nnp before=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
		out("privs: set 0 %s\n", res(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0)));
		out("privs: set %s\n", res(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
		out("privs: nnp after=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
		out("privs: dumpable=%d\n", prctl(PR_GET_DUMPABLE));
		out("privs: set dumpable 2 %s\n", res(prctl(PR_SET_DUMPABLE, 2)));
		PCHECK(prctl(PR_SET_DUMPABLE, 0) == 0);
		out("privs: dumpable now=%d\n", prctl(PR_GET_DUMPABLE));
		_exit(0);
	}
	reap(c);
}

static int report_w;

static void on_death(int sig)
{
	char m = 'D';
	write(report_w, &m, 1);
	_exit(0);
}

/* orphan forks a grandchild that asks for SIGUSR1 when its parent goes,
 * tells the caller through rep (one byte: 'D' on the signal) and waits. */
static pid_t orphan(int rep_w, int ready_w)
{
	pid_t g = fork();
	PCHECK(g >= 0);
	if (g == 0) {
		report_w = rep_w;
		signal(SIGUSR1, on_death);
		PCHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0);
		char m = 'r';
		write(ready_w, &m, 1);
		sleep(10);
		m = 'T';
		write(rep_w, &m, 1);
		_exit(1);
	}
	return g;
}

static int thr_rep, thr_ready[2];

static void *forker(void *arg)
{
	orphan(thr_rep, thr_ready[1]);
	char b;
	PCHECK(read(thr_ready[0], &b, 1) == 1); /* its PR_SET_PDEATHSIG is in place */
	return NULL; /* the thread exits: the grandchild's parent thread */
}

static void c_pdeathsig(void)
{
	int rep[2], ready[2];
	PCHECK(pipe(rep) == 0 && pipe(ready) == 0);
	pid_t m = pfork();
	if (m == 0) {
		orphan(rep[1], ready[1]);
		char b;
		PCHECK(read(ready[0], &b, 1) == 1);
		_exit(0); /* the parent process exits */
	}
	char b;
	PCHECK(read(rep[0], &b, 1) == 1);
	out("pdeathsig: parent exit -> %c\n", b);
	reap(m);

	m = pfork();
	if (m == 0) {
		thr_rep = rep[1], thr_ready[0] = ready[0], thr_ready[1] = ready[1];
		int sig = -1;
		pthread_t th;
		PCHECK(pthread_create(&th, NULL, forker, NULL) == 0);
		pthread_join(th, NULL);
		PCHECK(read(rep[0], &b, 1) == 1);
		out("pdeathsig: forking thread exit -> %c\n", b);
		PCHECK(prctl(PR_GET_PDEATHSIG, &sig) == 0);
		out("pdeathsig: own=%d\n", sig);
		_exit(0);
	}
	reap(m);
	int sig = -1;
	PCHECK(prctl(PR_GET_PDEATHSIG, &sig) == 0);
	out("pdeathsig: bad signal %s\n", res(prctl(PR_SET_PDEATHSIG, 65)));
}

static void c_subreaper(void)
{
	int was = -1;
	PCHECK(prctl(PR_GET_CHILD_SUBREAPER, &was) == 0);
	PCHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	int now = -1;
	PCHECK(prctl(PR_GET_CHILD_SUBREAPER, &now) == 0);
	out("subreaper: before=%d after=%d\n", was, now);
	int p[2];
	PCHECK(pipe(p) == 0);
	pid_t me = getpid();
	pid_t m = pfork();
	if (m == 0) {
		pid_t g = fork();
		PCHECK(g >= 0);
		if (g == 0) {
			close(p[1]);
			char b;
			PCHECK(read(p[0], &b, 1) == 1); /* the middle process has gone */
			out("subreaper: grandchild's parent is the subreaper=%d\n", getppid() == me);
			_exit(4);
		}
		_exit(0);
	}
	out("subreaper: middle %s\n", wstat(reap(m)));
	char b = 'g';
	PCHECK(write(p[1], &b, 1) == 1);
	int st;
	pid_t r = wait(&st);
	out("subreaper: waited for the grandchild=%d %s\n", r > 0 && r != m, wstat(st));
	PCHECK(prctl(PR_SET_CHILD_SUBREAPER, 0) == 0);
}

static const struct pcase cases[] = {
	{"name", c_name}, {"tidaddr", c_tidaddr}, {"privs", c_privs}, {"pdeathsig", c_pdeathsig},
	{"subreaper", c_subreaper},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

// variants: glibc musl
/* rel_tasks: limits on the number of tasks.
 *   nproc   RLIMIT_NPROC in fork, vfork and pthread_create, as uid 1000:
 *           EAGAIN when the tasks of the real user are at or above the soft
 *           limit (limits 0 and 1; a thread and an unreaped zombie count);
 *           with limit 3 at most 2 children before EAGAIN (the host may
 *           have other processes of uid 1000, so only the bound is
 *           printed); real uid 0 and CAP_SYS_ADMIN are not limited.
 *   bomb    (not run by default; never natively) a fork bomb: every
 *           process forks up to 8 children, 4 levels deep, each child
 *           doing the same, until fork fails; prints whether every
 *           failure was EAGAIN and exits 0 if so. Run under
 *           cmaemu --max-tasks N by tests/limits_test.go. */
#define _GNU_SOURCE
#include "sys.h"
#include <pthread.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* set_soft sets RLIMIT_NPROC's soft limit (NOLIMIT: to the hard one). */
#define NOLIMIT ((rlim_t)-2)

static void set_soft(rlim_t soft)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_NPROC, &r) == 0);
	r.rlim_cur = soft == NOLIMIT ? r.rlim_max : soft;
	PCHECK(setrlimit(RLIMIT_NPROC, &r) == 0);
}

/* try_fork forks a child that exits at once and reaps it; it returns the
 * result as res() prints it. */
static const char *try_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0) {
		reap(p);
		return "ok";
	}
	return res(-1);
}

static const char *try_vfork(void)
{
	pid_t p = vfork();
	if (p == 0)
		_exit(0);
	if (p > 0) {
		reap(p);
		return "ok";
	}
	return res(-1);
}

static int thread_pipe[2];

static void *blocked_thread(void *arg)
{
	char c;
	(void)arg;
	readall(thread_pipe[0], &c, 1);
	return NULL;
}

static void *nothing(void *arg) { return arg; }

static const char *try_thread(void)
{
	pthread_t th;
	int e = pthread_create(&th, NULL, nothing, NULL);
	if (e != 0)
		return perr(e);
	pthread_join(th, NULL);
	return "ok";
}

static void nproc_root(void)
{
	set_soft(0);
	out("nproc: root, limit 0: fork -> %s\n", try_fork());
	out("nproc: root, limit 0: thread -> %s\n", try_thread());
}

static void nproc_user(void)
{
	set_soft(1);
	out("nproc: limit 1: fork -> %s\n", try_fork());
	out("nproc: limit 1: vfork -> %s\n", try_vfork());
	out("nproc: limit 1: thread -> %s\n", try_thread());
	set_soft(0);
	out("nproc: limit 0: fork -> %s\n", try_fork());

	/* A thread counts: two tasks at limit 2. */
	set_soft(NOLIMIT);
	PCHECK(pipe(thread_pipe) == 0);
	pthread_t th;
	PCHECK(pthread_create(&th, NULL, blocked_thread, NULL) == 0);
	set_soft(2);
	out("nproc: limit 2 with a thread: fork -> %s\n", try_fork());
	writeall(thread_pipe[1], "x", 1);
	pthread_join(th, NULL);
	close(thread_pipe[0]);
	close(thread_pipe[1]);

	/* An unreaped zombie counts. */
	set_soft(NOLIMIT);
	pid_t z = pfork();
	if (z == 0)
		_exit(0);
	siginfo_t si;
	PCHECK(waitid(P_PID, z, &si, WEXITED | WNOWAIT) == 0);
	set_soft(2);
	out("nproc: limit 2 with a zombie: fork -> %s\n", try_fork());
	set_soft(NOLIMIT);
	reap(z);

	/* Children that stay: at most limit-1 of them. */
	int go[2];
	PCHECK(pipe(go) == 0);
	set_soft(3);
	pid_t kids[8];
	int n = 0, err = 0;
	while (n < 8) {
		pid_t p = fork();
		if (p == 0) {
			char c;
			close(go[1]);
			readall(go[0], &c, 1);
			_exit(0);
		}
		if (p < 0) {
			err = errno;
			break;
		}
		kids[n++] = p;
	}
	out("nproc: limit 3: children before failure <= 2: %s, then %s\n", n <= 2 ? "yes" : "no", perr(err));
	close(go[1]);
	for (int i = 0; i < n; i++)
		reap(kids[i]);
	close(go[0]);
	set_soft(NOLIMIT);
	out("nproc: no limit: fork -> %s\n", try_fork());
}

static void keep_caps(void) { PCHECK(prctl(PR_SET_KEEPCAPS, 1) == 0); }

/* capget and capset's structures, version 3 (as <linux/capability.h>,
 * which musl's include path lacks). */
struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};
enum { CAP_V3 = 0x20080522, CAP_ADMIN = 21 };

/* nproc_capable raises CAP_SYS_ADMIN (kept across setuid) into the
 * effective set. (CAP_SYS_RESOURCE exempts too, but the host need not
 * give it to root.) */
static void nproc_capable(void)
{
	struct cap_header h = {CAP_V3, 0};
	struct cap_data d[2];
	PCHECK(syscall(SYS_capget, &h, d) == 0);
	d[0].effective = 1u << CAP_ADMIN;
	PCHECK(syscall(SYS_capset, &h, d) == 0);
	set_soft(0);
	out("nproc: uid 1000 with CAP_SYS_ADMIN, limit 0: fork -> %s\n", try_fork());
	d[0].effective = 0;
	PCHECK(syscall(SYS_capset, &h, d) == 0);
	out("nproc: uid 1000 without it, limit 0: fork -> %s\n", try_fork());
}

static void nproc_case(void)
{
	if (sys_root)
		in_child("nproc", nproc_root);
	as_user("nproc", NULL, nproc_user);
	as_user("nproc", keep_caps, nproc_capable);
}

/* The fork bomb: failures go to a pipe, one byte each (1: EAGAIN, 2:
 * anything else). */
static int bomb_pipe[2];

static void bomb_level(int depth)
{
	pid_t kids[8];
	int n = 0;
	while (depth < 4 && n < 8) {
		pid_t p = fork();
		if (p == 0) {
			n = 0;
			depth++;
			continue;
		}
		if (p < 0) {
			char c = errno == EAGAIN ? 1 : 2;
			writeall(bomb_pipe[1], &c, 1);
			break;
		}
		kids[n++] = p;
	}
	for (int i = 0; i < n; i++)
		reap(kids[i]);
}

static int bomb(void)
{
	PCHECK(pipe(bomb_pipe) == 0);
	pid_t top = pfork();
	if (top == 0) {
		close(bomb_pipe[0]);
		bomb_level(0);
		_exit(0);
	}
	close(bomb_pipe[1]);
	int eagain = 0, other = 0;
	char buf[4096];
	ssize_t r;
	while ((r = read(bomb_pipe[0], buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < r; i++)
			*(buf[i] == 1 ? &eagain : &other) += 1;
	int st = reap(top);
	out("bomb: fork failed with EAGAIN: %s, with another error: %s, %s\n", eagain ? "yes" : "no",
	    other ? "yes" : "no", wstat(st));
	return eagain && !other && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static const struct pcase cases[] = {
	{"nproc", nproc_case},
};

int main(int argc, char **argv)
{
	sys_root = geteuid() == 0;
	if (argc == 2 && strcmp(argv[1], "bomb") == 0)
		return bomb();
	return run_cases(cases, NCASES(cases), argc, argv);
}

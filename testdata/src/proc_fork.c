// variants: glibc musl
/* proc_fork: many processes. A bounded fork bomb (50 children forked in a
 * loop, child i exits with i%7, reaped in any order), 50 children alive at
 * the same time, a chain of forks 10 deep (each level exits with its
 * child's status + 1), a binary tree of 63 processes counting itself
 * through exit statuses, and fork's return values (0 in the child, the
 * child's pid in the parent, getppid in the child). One line a case;
 * exit status 0. */
#define _GNU_SOURCE
#include "proc.h"

enum { N = 50 };

static void bomb(void)
{
	pid_t pids[N];
	int expect = 0;
	for (int i = 0; i < N; i++) {
		pids[i] = pfork();
		if (pids[i] == 0)
			_exit(i % 7);
		expect += i % 7;
	}
	int sum = 0, matched = 0, st;
	pid_t r;
	while ((r = wait(&st)) > 0) {
		PCHECK(WIFEXITED(st));
		sum += WEXITSTATUS(st);
		for (int i = 0; i < N; i++)
			if (pids[i] == r && WEXITSTATUS(st) == i % 7)
				matched++;
	}
	out("bomb: children=%d matched=%d sum=%d expected=%d then=%s\n", N, matched, sum, expect,
	    perr(errno));
}

static void alive(void)
{
	int gate[2], count[2];
	PCHECK(pipe(gate) == 0 && pipe(count) == 0);
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = pfork();
		if (pids[i] == 0) {
			close(gate[1]), close(count[0]);
			writeall(count[1], "+", 1); /* I am up */
			char c;
			while (read(gate[0], &c, 1) > 0)
				;
			_exit(100 + i % 3);
		}
	}
	close(gate[0]), close(count[1]);
	char up[N];
	size_t n = readall(count[0], up, N);
	/* all of them are blocked now: none can be reaped */
	int st;
	pid_t none = waitpid(-1, &st, WNOHANG);
	close(gate[1]); /* end of file for every child */
	int sum = 0;
	for (int i = 0; i < N; i++) {
		st = reap(pids[i]);
		sum += WIFEXITED(st) ? WEXITSTATUS(st) : -1000;
	}
	char extra;
	size_t more = readall(count[0], &extra, 1);
	close(count[0]);
	out("alive: up=%zu wnohang=%d sum=%d count_eof=%zu\n", n, (int)none, sum, more);
}

/* chain forks a child depth-1 levels deep and returns its status + 1. */
static int chain(int depth)
{
	if (depth == 0)
		return 0;
	pid_t p = pfork();
	if (p == 0)
		_exit(chain(depth - 1));
	int st = reap(p);
	PCHECK(WIFEXITED(st));
	return WEXITSTATUS(st) + 1;
}

static void tree(void)
{
	out("tree: depth=10 levels=%d\n", chain(10));
}

/* binary: this process and a binary tree of depth levels below it; the
 * status is the number of processes. */
static int binary(int depth)
{
	if (depth == 0)
		return 1;
	pid_t a = pfork();
	if (a == 0)
		_exit(binary(depth - 1));
	pid_t b = pfork();
	if (b == 0)
		_exit(binary(depth - 1));
	int sa = reap(a), sb = reap(b);
	PCHECK(WIFEXITED(sa) && WIFEXITED(sb));
	return 1 + WEXITSTATUS(sa) + WEXITSTATUS(sb);
}

static void btree(void)
{
	pid_t p = pfork();
	if (p == 0)
		_exit(binary(5));
	out("btree: depth=5 processes %s\n", wstat(reap(p)));
}

static void retvals(void)
{
	int up[2];
	PCHECK(pipe(up) == 0);
	pid_t me = getpid();
	pid_t p = pfork();
	if (p == 0) {
		pid_t facts[2] = {getppid(), getpid()};
		writeall(up[1], facts, sizeof facts);
		_exit(0);
	}
	pid_t facts[2];
	PCHECK(readall(up[0], facts, sizeof facts) == sizeof facts);
	reap(p);
	out("retvals: child_ppid_is_parent=%d child_pid_is_return=%d child_pid_new=%d\n",
	    facts[0] == me, facts[1] == p, p != me && p > 0);
	close(up[0]), close(up[1]);
}

static const struct pcase cases[] = {
	{"bomb", bomb}, {"alive", alive}, {"tree", tree}, {"btree", btree}, {"retvals", retvals},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

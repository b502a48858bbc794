// variants: glibc musl
/* proc_wait: fork and the wait family. Children exit with chosen codes or
 * die by signals; waitpid of a specific pid, of any child, WNOHANG before a
 * child exits, ECHILD without children; wait4; waitid with P_PID, P_ALL,
 * P_PGID, WNOHANG (zeroed siginfo), WNOWAIT (the zombie stays), CLD_KILLED,
 * EINVAL; a zombie exists for kill(pid, 0) until it is reaped. One line a
 * case (argv selects cases, see proc.h); exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <sys/resource.h>

/* child forks a child that exits with code at once. */
static pid_t child(int code)
{
	pid_t p = pfork();
	if (p == 0)
		_exit(code);
	return p;
}

/* blocked forks a child that waits for end of file on a pipe and then
 * exits with code; *release is the write end to close. */
static pid_t blocked(int code, int *release)
{
	int fds[2];
	PCHECK(pipe(fds) == 0);
	pid_t p = pfork();
	if (p == 0) {
		char c;
		close(fds[1]);
		while (read(fds[0], &c, 1) > 0)
			;
		_exit(code);
	}
	close(fds[0]);
	*release = fds[1];
	return p;
}

static void exit_codes(void)
{
	static const int codes[] = {0, 3, 255, -1, 256, 256 + 42};
	pid_t pids[6];
	for (int i = 0; i < 6; i++)
		pids[i] = child(codes[i]);
	char line[512] = "exit_codes:";
	/* reap in reverse order, each by its own pid */
	for (int i = 5; i >= 0; i--) {
		int st = reap(pids[i]);
		size_t l = strlen(line);
		snprintf(line + l, sizeof line - l, " %d:%s/ifexited=%d/ifsignaled=%d",
			 codes[i], wstat(st), WIFEXITED(st) != 0, WIFSIGNALED(st) != 0);
	}
	out("%s\n", line);
}

static void signaled(void)
{
	static const int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGHUP, SIGALRM};
	for (int i = 0; i < 5; i++) {
		pid_t p = pfork();
		if (p == 0) {
			raise(sigs[i]);
			_exit(99);
		}
		int st = reap(p);
		out("signaled: raise(%s) -> %s termsig_ok=%d ifexited=%d\n", signame(sigs[i]),
		    wstat(st), WIFSIGNALED(st) && WTERMSIG(st) == sigs[i], WIFEXITED(st) != 0);
	}
	/* killed by the parent while blocked */
	int rel;
	pid_t p = blocked(0, &rel);
	PCHECK(kill(p, SIGTERM) == 0);
	out("signaled: kill(child, SIGTERM) -> %s\n", wstat(reap(p)));
	close(rel);
}

static void wnohang(void)
{
	int rel, st = 0x5a5a;
	pid_t p = blocked(9, &rel);
	out("wnohang: running child -> %s status_untouched=%d\n", res(waitpid(p, &st, WNOHANG)),
	    st == 0x5a5a);
	out("wnohang: any running child -> %s\n", res(waitpid(-1, &st, WNOHANG)));
	close(rel);
	pid_t r;
	do
		r = waitpid(p, &st, 0);
	while (r < 0 && errno == EINTR);
	out("wnohang: after release waitpid==pid=%d %s\n", r == p, wstat(st));
	out("wnohang: no children left -> %s\n", res(waitpid(-1, &st, WNOHANG)));
}

static void echild(void)
{
	int st;
	errno = 0;
	out("echild: wait -> %s\n", res(wait(&st)));
	out("echild: waitpid(-1) -> %s\n", res(waitpid(-1, &st, 0)));
	out("echild: waitpid(parent) -> %s\n", res(waitpid(getppid(), &st, 0)));
	out("echild: waitpid(own pgrp) -> %s\n", res(waitpid(0, &st, 0)));
	pid_t p = child(1);
	reap(p);
	out("echild: waitpid(reaped child) -> %s\n", res(waitpid(p, &st, 0)));
	out("echild: waitpid(bad options) -> %s\n", res(waitpid(-1, &st, 0x1000)));
}

static void wait_any(void)
{
	pid_t pids[5];
	for (int i = 0; i < 5; i++)
		pids[i] = child(10 + i);
	int seen = 0, sum = 0, matched = 0;
	for (int i = 0; i < 5; i++) {
		int st;
		pid_t r = wait(&st);
		PCHECK(r > 0 && WIFEXITED(st));
		for (int j = 0; j < 5; j++)
			if (pids[j] == r && WEXITSTATUS(st) == 10 + j)
				matched++, seen |= 1 << j;
		sum += WEXITSTATUS(st);
	}
	int st;
	out("wait_any: reaped=%d all_distinct=%d sum=%d then %s\n", matched, seen == 31, sum,
	    res(wait(&st)));
}

static void wait4_case(void)
{
	struct rusage ru;
	int st;
	pid_t p = child(4);
	pid_t r = wait4(p, &st, 0, &ru);
	out("wait4: pid ok=%d %s\n", r == p, wstat(st));
	int rel;
	p = blocked(5, &rel);
	out("wait4: WNOHANG running -> %s\n", res(wait4(-1, &st, WNOHANG, NULL)));
	close(rel);
	r = wait4(-1, &st, 0, NULL);
	out("wait4: any pid ok=%d %s\n", r == p, wstat(st));
	out("wait4: none left -> %s\n", res(wait4(-1, &st, 0, &ru)));
}

static void show(const char *what, int r, const siginfo_t *si, pid_t want)
{
	if (r < 0) {
		out("%s -> %s\n", what, res(r));
		return;
	}
	const char *code = si->si_code == CLD_EXITED ? "CLD_EXITED"
			   : si->si_code == CLD_KILLED ? "CLD_KILLED"
			   : si->si_code == CLD_DUMPED ? "CLD_DUMPED"
			   : si->si_code == 0	     ? "0"
						     : "other";
	out("%s -> %d signo=%s code=%s pid_ok=%d status=%d uid_ok=%d\n", what, r,
	    si->si_signo ? signame(si->si_signo) : "0", code, si->si_pid == want, si->si_status,
	    (uid_t)si->si_uid == getuid());
}

static void waitid_case(void)
{
	siginfo_t si;
	pid_t p = child(6);
	memset(&si, 0xff, sizeof si);
	show("waitid: P_PID", waitid(P_PID, (id_t)p, &si, WEXITED), &si, p);
	memset(&si, 0xff, sizeof si);
	show("waitid: P_PID reaped", waitid(P_PID, (id_t)p, &si, WEXITED), &si, p);

	p = child(7);
	memset(&si, 0xff, sizeof si);
	show("waitid: P_ALL", waitid(P_ALL, 0, &si, WEXITED), &si, p);

	p = child(8);
	memset(&si, 0xff, sizeof si);
	show("waitid: P_PGID own", waitid(P_PGID, (id_t)getpgrp(), &si, WEXITED), &si, p);

	int rel;
	p = blocked(0, &rel);
	memset(&si, 0xff, sizeof si);
	/* nothing to report: returns 0 and zeroes si_signo, si_code, si_pid */
	show("waitid: WNOHANG running", waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG), &si, 0);
	PCHECK(kill(p, SIGTERM) == 0);
	memset(&si, 0xff, sizeof si);
	show("waitid: killed", waitid(P_ALL, 0, &si, WEXITED), &si, p);
	close(rel);

	memset(&si, 0, sizeof si);
	show("waitid: no options", waitid(P_ALL, 0, &si, 0), &si, 0);
	show("waitid: bad idtype", waitid((idtype_t)77, 0, &si, WEXITED), &si, 0);
	show("waitid: none left", waitid(P_ALL, 0, &si, WEXITED), &si, 0);
	show("waitid: P_PID parent", waitid(P_PID, (id_t)getppid(), &si, WEXITED), &si, 0);
}

static void wnowait(void)
{
	siginfo_t si;
	int st;
	pid_t p = child(21);
	memset(&si, 0xff, sizeof si);
	show("wnowait: first", waitid(P_PID, (id_t)p, &si, WEXITED | WNOWAIT), &si, p);
	memset(&si, 0xff, sizeof si);
	show("wnowait: again", waitid(P_ALL, 0, &si, WEXITED | WNOWAIT), &si, p);
	out("wnowait: zombie exists kill0=%s\n", res(kill(p, 0)));
	pid_t r = waitpid(p, &st, 0);
	out("wnowait: waitpid still reaps pid_ok=%d %s\n", r == p, wstat(st));
	out("wnowait: after reap kill0=%s waitpid=%s\n", res(kill(p, 0)), res(waitpid(p, &st, 0)));
}

static const struct pcase cases[] = {
	{"exit_codes", exit_codes}, {"signaled", signaled}, {"wnohang", wnohang},
	{"echild", echild},	    {"wait_any", wait_any}, {"wait4", wait4_case},
	{"waitid", waitid_case},    {"wnowait", wnowait},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

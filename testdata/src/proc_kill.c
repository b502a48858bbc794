// variants: glibc musl
/* proc_kill: kill, tkill and tgkill. kill(-pgid, SIGTERM) kills every
 * member of a new process group (not the sender), a member that ignores
 * SIGTERM survives until SIGKILL; killpg to handlers; kill(0, 0) and
 * kill(pid, 0) probe for existence (ESRCH for a reaped child, a group with
 * no members, an unused pid); EINVAL for a bad signal; tgkill/tkill to the
 * calling thread, ESRCH for a wrong thread group; SIGSTOP/SIGCONT seen by
 * waitpid(WUNTRACED/WCONTINUED) and waitid. One line a case; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <sys/syscall.h>

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* member forks a child that joins process group pgid (0: its own new
 * group), optionally ignores SIGTERM, reports on ready and waits. */
static pid_t member(pid_t pgid, int ignore_term, int ready)
{
	pid_t p = pfork();
	if (p == 0) {
		PCHECK(setpgid(0, pgid) == 0);
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);
		writeall(ready, "r", 1);
		for (;;)
			pause();
	}
	/* also from the parent, so the group exists when fork returns */
	PCHECK(setpgid(p, pgid ? pgid : p) == 0 || errno == EACCES);
	return p;
}

static void group(void)
{
	int rd[2];
	PCHECK(pipe(rd) == 0);
	pid_t leader = member(0, 0, rd[1]);
	pid_t pids[4] = {leader, member(leader, 0, rd[1]), member(leader, 0, rd[1]),
			 member(leader, 1, rd[1])};
	char buf[4];
	PCHECK(readall(rd[0], buf, 4) == 4); /* all handlers/groups are set */
	int same = 1;
	for (int i = 0; i < 4; i++)
		same &= getpgid(pids[i]) == leader;
	out("group: members_in_group=%d parent_outside=%d probe=%s\n", same,
	    getpgrp() != leader, res(kill(-leader, 0)));
	out("group: kill(-pgid, SIGTERM) -> %s\n", res(kill(-leader, SIGTERM)));
	char line[256] = "group: after SIGTERM";
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof line - l, " %s", wstat(reap(pids[i])));
	}
	int st;
	size_t l = strlen(line);
	snprintf(line + l, sizeof line - l, " ignorer_alive=%d", waitpid(pids[3], &st, WNOHANG) == 0);
	out("%s\n", line);
	const char *k = res(killpg(leader, SIGKILL));
	out("group: killpg(SIGKILL) -> %s ignorer %s\n", k, wstat(reap(pids[3])));
	out("group: empty group kill -> %s\n", res(kill(-leader, 0)));
	close(rd[0]), close(rd[1]);
}

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void handlers(void)
{
	/* children with a SIGUSR1 handler report each delivery on a pipe */
	int rd[2], rep[2];
	PCHECK(pipe(rd) == 0 && pipe(rep) == 0);
	pid_t pids[3];
	pid_t pg = 0;
	for (int i = 0; i < 3; i++) {
		pids[i] = pfork();
		if (pids[i] == 0) {
			PCHECK(setpgid(0, pg) == 0);
			struct sigaction sa = {0};
			sa.sa_handler = on_usr1;
			sigset_t block, old;
			sigemptyset(&block);
			sigaddset(&block, SIGUSR1);
			sigprocmask(SIG_BLOCK, &block, &old);
			PCHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
			writeall(rd[1], "r", 1);
			while (usr1 == 0)
				sigsuspend(&old);
			writeall(rep[1], "u", 1);
			_exit(0);
		}
		PCHECK(setpgid(pids[i], pg ? pg : pids[i]) == 0 || errno == EACCES);
		if (pg == 0)
			pg = pids[i];
	}
	close(rd[1]), close(rep[1]);
	char buf[4];
	PCHECK(readall(rd[0], buf, 3) == 3);
	out("handlers: killpg(SIGUSR1) -> %s\n", res(killpg(pg, SIGUSR1)));
	size_t n = readall(rep[0], buf, 4); /* until every child closed it */
	char line[128] = "handlers:";
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof line - l, " %s", wstat(reap(pids[i])));
	}
	out("%s reports=%zu\n", line, n);
	close(rd[0]), close(rep[0]);
}

static void probe(void)
{
	out("probe: kill(0, 0) -> %s\n", res(kill(0, 0)));
	out("probe: kill(self, 0) -> %s\n", res(kill(getpid(), 0)));
	out("probe: kill(-own pgrp, 0) -> %s\n", res(kill(-getpgrp(), 0)));
	pid_t p = pfork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	out("probe: live child -> %s\n", res(kill(p, 0)));
	out("probe: bad signal 65 -> %s\n", res(kill(p, 65)));
	out("probe: bad signal -1 -> %s\n", res(kill(p, -1)));
	PCHECK(kill(p, SIGKILL) == 0);
	out("probe: killed child %s\n", wstat(reap(p)));
	out("probe: reaped child -> %s\n", res(kill(p, 0)));
	out("probe: reaped child SIGTERM -> %s\n", res(kill(p, SIGTERM)));
	out("probe: unused pid -> %s\n", res(kill(4194303, 0)));
	out("probe: unused group -> %s\n", res(kill(-4194303, 0)));
	out("probe: INT_MIN -> %s\n", res(kill((pid_t)0x80000000u, 0)));
}

static void threads(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	PCHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	usr1 = 0;
	const char *r = res(syscall(SYS_tgkill, getpid(), gettid_(), SIGUSR1));
	out("threads: tgkill(self) -> %s handled=%d\n", r, (int)usr1);
	r = res(syscall(SYS_tkill, gettid_(), SIGUSR1));
	out("threads: tkill(self) -> %s handled=%d\n", r, (int)usr1);
	out("threads: tkill(self, 0) -> %s\n", res(syscall(SYS_tkill, gettid_(), 0)));
	out("threads: tid==pid in main thread=%d\n", gettid_() == getpid());
	pid_t p = pfork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	out("threads: tgkill(wrong tgid) -> %s\n", res(syscall(SYS_tgkill, getpid(), p, 0)));
	out("threads: tgkill(tgid 0) -> %s\n", res(syscall(SYS_tgkill, 0, p, 0)));
	out("threads: tkill(tid 0) -> %s\n", res(syscall(SYS_tkill, 0, 0)));
	out("threads: tgkill(child) SIGTERM -> %s\n", res(syscall(SYS_tgkill, p, p, SIGTERM)));
	out("threads: child %s\n", wstat(reap(p)));
	signal(SIGUSR1, SIG_DFL);
}

static void stopcont(void)
{
	int gate[2];
	PCHECK(pipe(gate) == 0);
	pid_t p = pfork();
	if (p == 0) {
		close(gate[1]);
		char c;
		while (read(gate[0], &c, 1) != 0)
			;
		_exit(33);
	}
	close(gate[0]);
	int st;
	PCHECK(kill(p, SIGSTOP) == 0);
	pid_t r = waitpid(p, &st, WUNTRACED);
	out("stopcont: stopped r_ok=%d ifstopped=%d stopsig=%s\n", r == p, WIFSTOPPED(st) != 0,
	    WIFSTOPPED(st) ? signame(WSTOPSIG(st)) : "-");
	out("stopcont: stopped, plain WNOHANG -> %s\n", res(waitpid(p, &st, WNOHANG)));
	PCHECK(kill(p, SIGCONT) == 0);
	r = waitpid(p, &st, WCONTINUED);
	out("stopcont: continued r_ok=%d ifcontinued=%d\n", r == p, WIFCONTINUED(st) != 0);
	PCHECK(kill(p, SIGSTOP) == 0);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int w = waitid(P_PID, (id_t)p, &si, WSTOPPED);
	out("stopcont: waitid WSTOPPED -> %s code_stopped=%d status=%s\n", res(w),
	    si.si_code == CLD_STOPPED, signame(si.si_status));
	PCHECK(kill(p, SIGCONT) == 0);
	memset(&si, 0, sizeof si);
	w = waitid(P_PID, (id_t)p, &si, WCONTINUED);
	out("stopcont: waitid WCONTINUED -> %s code_continued=%d status=%s\n", res(w),
	    si.si_code == CLD_CONTINUED, signame(si.si_status));
	close(gate[1]);
	out("stopcont: then %s\n", wstat(reap(p)));
}

static const struct pcase cases[] = {
	{"group", group},     {"handlers", handlers}, {"probe", probe},
	{"threads", threads}, {"stopcont", stopcont},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}

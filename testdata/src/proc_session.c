// variants: glibc musl
/* proc_session: orphans, process groups and sessions. A grandchild whose
 * parent exits is reparented (getppid changes away from the dead parent's
 * pid; it is not the grandparent's child), or adopted by a child
 * subreaper (PR_SET_CHILD_SUBREAPER) that can then reap it; setsid in a
 * child makes it session and group leader (getsid == getpgrp == getpid),
 * a second setsid and setpgid of a session leader fail with EPERM; a group
 * leader cannot setsid; setpgid's rules (own child, ESRCH, EPERM for a
 * missing group or another session, EACCES after the child's exec,
 * EINVAL); getpgid(0) == getpgrp(); getpgid/getsid of missing pids. Pids
 * are compared, never printed. One line a case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <sys/prctl.h>

#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#define PR_GET_CHILD_SUBREAPER 37
#endif

/* family: the top forks C, C forks G and exits; G waits until its parent
 * changes and reports on report: facts[0] = G's first parent was C,
 * facts[1] = parent changed, facts[2] = new parent is want (0: ignored),
 * facts[3] = G's pid. Returns C's pid. */
static pid_t family(int report, pid_t want)
{
	int cdead[2], gready[2];
	PCHECK(pipe(cdead) == 0 && pipe(gready) == 0);
	pid_t c = pfork();
	if (c == 0) {
		pid_t me = getpid();
		pid_t g = pfork();
		if (g == 0) {
			close(cdead[1]);
			pid_t first = getppid();
			writeall(gready[1], "g", 1);
			char ch;
			while (read(cdead[0], &ch, 1) != 0) /* C is gone */
				;
			int changed = 0;
			for (int i = 0; i < 5000 && !changed; i++) {
				if (getppid() != me)
					changed = 1;
				else
					usleep(1000);
			}
			int facts[4] = {first == me, changed, want == 0 || getppid() == want, getpid()};
			writeall(report, facts, sizeof facts);
			_exit(0);
		}
		/* C exits once G has seen it as its parent: G is orphaned */
		char ch;
		PCHECK(readall(gready[0], &ch, 1) == 1);
		_exit(3);
	}
	close(cdead[0]), close(cdead[1]), close(gready[0]), close(gready[1]);
	return c;
}

static void orphan(void)
{
	int rep[2];
	PCHECK(pipe(rep) == 0);
	pid_t c = family(rep[1], 0);
	close(rep[1]);
	int st = reap(c);
	int facts[4] = {0, 0, 0, 0};
	size_t n = readall(rep[0], facts, sizeof facts);
	char extra;
	readall(rep[0], &extra, 1); /* end of file: the grandchild is exiting */
	close(rep[0]);
	int w;
	const char *r = res(waitpid(facts[3], &w, WNOHANG));
	out("orphan: parent %s report=%zu first_parent_ok=%d reparented=%d grandchild_waitpid=%s\n",
	    wstat(st), n, facts[0], facts[1], r);
}

static void subreaper(void)
{
	pid_t s = pfork();
	if (s == 0) {
		const char *r = res(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
		int on = -1;
		prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0);
		out("subreaper: set -> %s get=%d\n", r, on);
		int rep[2];
		PCHECK(pipe(rep) == 0);
		pid_t c = family(rep[1], getpid());
		close(rep[1]);
		int st = reap(c);
		int facts[4] = {0, 0, 0, 0};
		size_t n = readall(rep[0], facts, sizeof facts);
		int gst = reap(facts[3]); /* now our child */
		out("subreaper: parent %s report=%zu first_parent_ok=%d reparented=%d to_subreaper=%d grandchild %s\n",
		    wstat(st), n, facts[0], facts[1], facts[2], wstat(gst));
		_exit(0);
	}
	reap(s);
}

static void setsid_case(void)
{
	pid_t psid = getsid(0), ppg = getpgrp();
	int up[2], down[2];
	PCHECK(pipe(up) == 0 && pipe(down) == 0);
	pid_t c = pfork();
	if (c == 0) {
		int inherited = getsid(0) == psid && getpgrp() == ppg;
		pid_t s = setsid();
		out("setsid: inherited=%d setsid_returns_pid=%d sid_is_pid=%d pgrp_is_pid=%d getsid(pid)_ok=%d\n",
		    inherited, s == getpid(), getsid(0) == getpid(), getpgrp() == getpid(),
		    getsid(getpid()) == getpid());
		const char *a = res(setsid());
		const char *b = res(setpgid(0, 0));
		const char *d = res(setpgid(0, ppg));
		out("setsid: again=%s setpgid(0,0)=%s setpgid(0,parent's group)=%s parent_sid_differs=%d\n",
		    a, b, d, getsid(getppid()) != getsid(0));
		writeall(up[1], "s", 1);
		char ch;
		while (read(down[0], &ch, 1) > 0 && ch != 'q')
			;
		_exit(0);
	}
	char ch;
	PCHECK(readall(up[0], &ch, 1) == 1);
	const char *r = res(setpgid(c, c));
	out("setsid: parent sees getsid(child)_is_child=%d getpgid(child)_is_child=%d own_sid_same=%d setpgid(child)=%s\n",
	    getsid(c) == c, getpgid(c) == c, getsid(0) == psid, r);
	writeall(down[1], "q", 1);
	reap(c);
	close(up[0]), close(up[1]), close(down[0]), close(down[1]);

	/* a group leader cannot create a session */
	c = pfork();
	if (c == 0) {
		PCHECK(setpgid(0, 0) == 0);
		const char *e = res(setsid());
		out("setsid: group leader setsid -> %s\n", e);
		_exit(0);
	}
	reap(c);
}

/* role waiter: exec'd child that waits for end of file on fd 0. */
static int role_waiter(void)
{
	char ch;
	while (read(0, &ch, 1) > 0)
		;
	return 0;
}

static void setpgid_case(void)
{
	out("setpgid: getpgid(0)==getpgrp=%d getpgid(self)==getpgrp=%d\n", getpgid(0) == getpgrp(),
	    getpgid(getpid()) == getpgrp());
	int gate[2];
	PCHECK(pipe(gate) == 0);
	pid_t c = pfork();
	if (c == 0) {
		close(gate[1]);
		char ch;
		while (read(gate[0], &ch, 1) > 0)
			;
		_exit(0);
	}
	const char *r1 = res(setpgid(c, c));
	int moved = getpgid(c) == c;
	const char *r2 = res(setpgid(c, getpgrp()));
	int back = getpgid(c) == getpgrp();
	const char *r3 = res(setpgid(c, 0));
	int own = getpgid(c) == c;
	out("setpgid: child to own group %s moved=%d back %s back=%d pgid 0 %s own=%d\n", r1, moved,
	    r2, back, r3, own);
	const char *e1 = res(setpgid(c, 4194303));
	const char *e2 = res(setpgid(4194303, 0));
	const char *e3 = res(setpgid(0, -1));
	const char *e4 = res(setpgid(getppid(), 0));
	out("setpgid: missing group %s missing pid %s negative pgid %s not a child %s\n", e1, e2, e3,
	    e4);
	const char *g1 = res(getpgid(4194303));
	const char *g2 = res(getsid(4194303));
	out("setpgid: getpgid(missing) %s getsid(missing) %s\n", g1, g2);
	close(gate[0]), close(gate[1]);
	reap(c);

	/* after the child's exec: EACCES */
	int in[2], ready[2];
	PCHECK(pipe(in) == 0 && pipe(ready) == 0);
	c = pfork();
	if (c == 0) {
		PCHECK(dup2(in[0], 0) == 0);
		close(in[0]), close(in[1]), close(ready[0]);
		PCHECK(fcntl(ready[1], F_SETFD, FD_CLOEXEC) == 0);
		char *args[] = {"waiter", NULL};
		char *envp[] = {"PROC_ROLE=waiter", NULL};
		execve("/proc/self/exe", args, envp);
		_exit(127);
	}
	close(in[0]), close(ready[1]);
	char ch;
	PCHECK(readall(ready[0], &ch, 1) == 0); /* end of file: exec done */
	const char *x = res(setpgid(c, c));
	out("setpgid: after child's exec -> %s\n", x);
	close(in[1]), close(ready[0]);
	out("setpgid: exec'd child %s\n", wstat(reap(c)));
}

static const struct pcase cases[] = {
	{"orphan", orphan},
	{"subreaper", subreaper},
	{"setsid", setsid_case},
	{"setpgid", setpgid_case},
};

int main(int argc, char **argv)
{
	const char *role = getenv("PROC_ROLE");
	if (role != NULL && strcmp(role, "waiter") == 0)
		return role_waiter();
	return run_cases(cases, NCASES(cases), argc, argv);
}

// variants: glibc musl
/* proc_creds: credentials, each case in a forked child that starts as
 * root. setresuid to an unprivileged user (getresuid, PR_GET_DUMPABLE is
 * cleared and PR_SET_DUMPABLE sets it again, no way back to 0: EPERM, no
 * setgroups, no signals to root's processes); setreuid's rules for the
 * saved uid; setuid as root sets all three; seteuid and back; setresgid,
 * setgid; setgroups/getgroups; setfsuid; execve keeps real and effective
 * ids and copies the effective ones to the saved ones.
 * Needs root: without it every case prints "skipped: not root". One line a
 * case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>

static const char *ids(void)
{
	static char buf[4][96];
	static int next;
	char *b = buf[next++ & 3];
	uid_t r, e, s;
	gid_t gr, ge, gs;
	PCHECK(getresuid(&r, &e, &s) == 0 && getresgid(&gr, &ge, &gs) == 0);
	snprintf(b, sizeof buf[0], "uid=%u,%u,%u gid=%u,%u,%u", (unsigned)r, (unsigned)e,
		 (unsigned)s, (unsigned)gr, (unsigned)ge, (unsigned)gs);
	return b;
}

/* dumpable is PR_GET_DUMPABLE, as "1", or "cleared" for the value the
 * kernel sets on a credential change (fs.suid_dumpable: 0 or 2). */
static const char *dumpable(void)
{
	int d = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	return d == 1 ? "1" : d == 0 || d == 2 ? "cleared" : "bad";
}

/* in_child runs fn in a forked child and prints how the child ended when
 * that is not a plain exit 0. */
static void in_child(const char *name, void (*fn)(void))
{
	pid_t p = pfork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	int st = reap(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		out("%s: child %s\n", name, wstat(st));
}

static pid_t parent;

static void resuid(void)
{
	out("resuid: start %s dumpable=%s\n", ids(), dumpable());
	const char *r = res(setresuid(1000, 1000, 1000));
	out("resuid: setresuid(1000,1000,1000) -> %s %s uid=%u euid=%u\n", r, ids(),
	    (unsigned)getuid(), (unsigned)geteuid());
	out("resuid: dumpable=%s\n", dumpable());
	r = res(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
	out("resuid: PR_SET_DUMPABLE 1 -> %s dumpable=%s\n", r, dumpable());
	r = res(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0));
	out("resuid: PR_SET_DUMPABLE 2 -> %s dumpable=%s\n", r, dumpable());
	r = res(setuid(0));
	out("resuid: setuid(0) -> %s\n", r);
	r = res(setresuid(-1, 0, -1));
	out("resuid: setresuid(-1,0,-1) -> %s\n", r);
	r = res(setresuid(-1, -1, -1));
	out("resuid: setresuid(-1,-1,-1) -> %s %s\n", r, ids());
	r = res(setuid(1000));
	out("resuid: setuid(1000) -> %s\n", r);
	gid_t g = 5;
	r = res(setgroups(1, &g));
	out("resuid: setgroups -> %s\n", r);
	r = res(setgid(0));
	out("resuid: setgid(0) keeps gid 0 -> %s\n", r);
	r = res(setgid(7));
	out("resuid: setgid(7) -> %s %s\n", r, ids());
	r = res(kill(parent, 0));
	out("resuid: kill(root parent, 0) -> %s\n", r);
	r = res(kill(getpid(), 0));
	out("resuid: kill(self, 0) -> %s\n", r);
}

static void reuid(void)
{
	const char *r = res(setreuid(1000, 2000));
	out("reuid: setreuid(1000,2000) -> %s %s\n", r, ids());
	r = res(setreuid(2000, 1000));
	out("reuid: setreuid(2000,1000) -> %s %s\n", r, ids());
	r = res(setreuid(-1, 3000));
	out("reuid: setreuid(-1,3000) -> %s\n", r);
	r = res(setreuid(3000, -1));
	out("reuid: setreuid(3000,-1) -> %s\n", r);
	r = res(setreuid(-1, 2000));
	out("reuid: setreuid(-1,2000) -> %s %s\n", r, ids());
	r = res(setreuid(1000, -1));
	out("reuid: setreuid(1000,-1) -> %s %s\n", r, ids());
	r = res(setresuid(2000, 1000, 2000));
	out("reuid: setresuid to own ids -> %s %s\n", r, ids());
	r = res(setresuid(1000, 2000, 1000));
	out("reuid: setresuid permuted -> %s %s\n", r, ids());
}

static void setuid_root(void)
{
	const char *r = res(setuid(1000));
	out("setuid: root setuid(1000) -> %s %s dumpable=%s\n", r, ids(), dumpable());
	r = res(setuid(0));
	out("setuid: then setuid(0) -> %s\n", r);
}

static void seteuid_case(void)
{
	const char *r = res(seteuid(1000));
	out("seteuid: seteuid(1000) -> %s %s dumpable=%s\n", r, ids(), dumpable());
	r = res(seteuid(0));
	out("seteuid: seteuid(0) -> %s %s dumpable=%s\n", r, ids(), dumpable());
	r = res(setresuid(-1, 1000, 1000));
	out("seteuid: setresuid(-1,1000,1000) -> %s %s\n", r, ids());
	r = res(setreuid(1000, 0));
	out("seteuid: setreuid(1000,0) via ruid 0 -> %s %s\n", r, ids());
}

static void resgid(void)
{
	const char *r = res(setresgid(100, 200, 300));
	out("resgid: setresgid(100,200,300) -> %s %s egid=%u gid=%u\n", r, ids(),
	    (unsigned)getegid(), (unsigned)getgid());
	r = res(setregid(400, -1));
	out("resgid: setregid(400,-1) -> %s %s\n", r, ids());
	r = res(setgid(500));
	out("resgid: root setgid(500) -> %s %s\n", r, ids());
	r = res(setresuid(1000, 1000, 1000));
	out("resgid: drop uid -> %s\n", r);
	r = res(setresgid(600, -1, -1));
	out("resgid: unprivileged setresgid(600) -> %s\n", r);
	r = res(setregid(500, 500));
	out("resgid: unprivileged setregid(500,500) -> %s %s\n", r, ids());
}

static void groups(void)
{
	gid_t set[3] = {10, 20, 30}, got[8];
	const char *r = res(setgroups(3, set));
	int n = getgroups(0, NULL);
	out("groups: setgroups(10,20,30) -> %s count=%d\n", r, n);
	n = getgroups(8, got);
	char line[128];
	int l = snprintf(line, sizeof line, "groups: getgroups -> %d:", n);
	for (int i = 0; i < n; i++)
		l += snprintf(line + l, sizeof line - (size_t)l, " %u", (unsigned)got[i]);
	out("%s\n", line);
	r = res(getgroups(2, got));
	out("groups: getgroups(2) too small -> %s\n", r);
	r = res(setgroups(0, NULL));
	out("groups: setgroups(0) -> %s count=%d\n", r, getgroups(0, NULL));
	r = res(setgroups(70000, set));
	out("groups: setgroups(70000) -> %s\n", r);
}

static void fsuid(void)
{
	int a = setfsuid(1234);
	int b = setfsuid(-1);
	int c = setfsgid(4321);
	int d = setfsgid(-1);
	out("fsuid: previous=%d now=%d fsgid previous=%d now=%d\n", a, b, c, d);
}

static void exec_keeps(void)
{
	PCHECK(setresgid(11, 12, 13) == 0);
	gid_t g[2] = {44, 55};
	PCHECK(setgroups(2, g) == 0);
	PCHECK(setresuid(21, 22, 23) == 0);
	char *args[] = {"creds", NULL};
	char *envp[] = {"PROC_ROLE=creds", NULL};
	execve("/proc/self/exe", args, envp);
	out("exec_keeps: execve -> %s\n", res(-1));
}

static int role_creds(void)
{
	gid_t g[8];
	int n = getgroups(8, g);
	/* an exec (of a file without set-id bits) keeps the real and
	 * effective ids and the groups; the saved ids become the effective
	 * ones; real != effective clears dumpable */
	out("exec_keeps: after exec %s groups=%d:%u,%u dumpable=%s\n", ids(), n,
	    n > 0 ? (unsigned)g[0] : 0, n > 1 ? (unsigned)g[1] : 0, dumpable());
	return 0;
}

static void c_resuid(void) { in_child("resuid", resuid); }
static void c_reuid(void) { in_child("reuid", reuid); }
static void c_setuid(void) { in_child("setuid", setuid_root); }
static void c_seteuid(void) { in_child("seteuid", seteuid_case); }
static void c_resgid(void) { in_child("resgid", resgid); }
static void c_groups(void) { in_child("groups", groups); }
static void c_fsuid(void) { in_child("fsuid", fsuid); }
static void c_exec(void) { in_child("exec_keeps", exec_keeps); }

static const struct pcase cases[] = {
	{"resuid", c_resuid}, {"reuid", c_reuid},   {"setuid", c_setuid}, {"seteuid", c_seteuid},
	{"resgid", c_resgid}, {"groups", c_groups}, {"fsuid", c_fsuid},	  {"exec_keeps", c_exec},
};

int main(int argc, char **argv)
{
	const char *role = getenv("PROC_ROLE");
	if (role != NULL && strcmp(role, "creds") == 0)
		return role_creds();
	if (geteuid() != 0) {
		out("skipped: not root\n");
		return 0;
	}
	parent = getpid();
	return run_cases(cases, NCASES(cases), argc, argv);
}

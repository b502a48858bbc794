// variants: glibc musl
/* proc_vfork: vfork and posix_spawn. A vfork child that _exits with 7 (the
 * parent resumes only then and sees the child's write to shared memory:
 * vfork shares the address space); a vfork child that execs the guest
 * itself through /proc/self/exe (the parent resumes after the exec, the
 * exec'd program prints and exits 5); a vfork child's failed exec; 20
 * vforks in a row; posix_spawn of the guest with arguments, environment
 * and a dup2 file action onto a pipe; posix_spawnp of a missing program.
 * The exec'd roles are chosen by PROC_ROLE. One line a case; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <spawn.h>

extern char **environ;

static volatile int shared_word;

static void exit7(void)
{
	shared_word = 0;
	pid_t p = vfork();
	if (p == 0) {
		usleep(20000); /* the parent stays suspended meanwhile */
		shared_word = 42;
		_exit(7);
	}
	PCHECK(p > 0);
	int seen = shared_word; /* the child has exited by now */
	out("exit7: parent resumed saw_child_write=%d child %s\n", seen == 42, wstat(reap(p)));
}

static void vexec(void)
{
	int up[2], down[2];
	PCHECK(pipe(up) == 0 && pipe(down) == 0);
	char fdarg[16], fdarg2[16];
	snprintf(fdarg, sizeof fdarg, "%d", up[1]);
	snprintf(fdarg2, sizeof fdarg2, "%d", down[0]);
	char *args[] = {"vexec-child", fdarg, fdarg2, NULL};
	char *envp[] = {"PROC_ROLE=vchild", NULL};
	pid_t p = vfork();
	if (p == 0) {
		execve("/proc/self/exe", args, envp);
		_exit(127);
	}
	PCHECK(p > 0);
	/* resumed after the child's exec: the exec'd child is still running
	 * (it waits for our byte) */
	close(up[1]), close(down[0]);
	writeall(down[1], "g", 1);
	char got[8] = "";
	size_t n = readall(up[0], got, 5);
	int st = reap(p);
	out("vexec: parent resumed before child exit, child said '%.*s' %s\n", (int)n, got, wstat(st));
	close(up[0]), close(down[1]);
}

/* role vchild: waits for a byte on the fd in argv[2], writes "ready" on
 * the fd in argv[1] and exits 5 after a line on stdout. */
static int role_vchild(int argc, char **argv)
{
	PCHECK(argc == 3);
	char c;
	PCHECK(readall(atoi(argv[2]), &c, 1) == 1);
	out("vexec: exec'd child runs argv0=%s got=%c\n", argv[0], c);
	writeall(atoi(argv[1]), "ready", 5);
	return 5;
}

static void vfail(void)
{
	volatile int err = 0;
	pid_t p = vfork();
	if (p == 0) {
		char *args[] = {"x", NULL};
		execve("./proc_vfork-missing", args, environ);
		err = errno; /* shared with the parent */
		_exit(127);
	}
	int st = reap(p);
	out("vfail: child exec -> %s %s\n", perr(err), wstat(st));
}

static void many(void)
{
	int sum = 0;
	for (int i = 0; i < 20; i++) {
		pid_t p = vfork();
		if (p == 0)
			_exit(i);
		int st = reap(p);
		sum += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
	}
	out("many: 20 vforks sum=%d\n", sum);
}

/* role spawned: prints its argv and PROC_X on stdout (a pipe) */
static int role_spawned(int argc, char **argv)
{
	char line[256];
	int l = snprintf(line, sizeof line, "argc=%d", argc);
	for (int i = 0; i < argc; i++)
		l += snprintf(line + l, sizeof line - (size_t)l, " [%s]", argv[i]);
	const char *x = getenv("PROC_X");
	snprintf(line + l, sizeof line - (size_t)l, " PROC_X=%s", x ? x : "(none)");
	writeall(1, line, strlen(line));
	return 9;
}

static void spawn(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	posix_spawn_file_actions_t fa;
	PCHECK(posix_spawn_file_actions_init(&fa) == 0);
	PCHECK(posix_spawn_file_actions_adddup2(&fa, p[1], 1) == 0);
	PCHECK(posix_spawn_file_actions_addclose(&fa, p[0]) == 0);
	char *args[] = {"spawned", "a b", "", "c", NULL};
	char *envp[] = {"PROC_ROLE=spawned", "PROC_X=yes", NULL};
	pid_t pid;
	int r = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, envp);
	close(p[1]);
	char buf[256];
	size_t n = readall(p[0], buf, sizeof buf - 1);
	buf[n] = 0;
	close(p[0]);
	out("spawn: posix_spawn -> %d output: %s\n", r, buf);
	out("spawn: child %s\n", wstat(reap(pid)));
	posix_spawn_file_actions_destroy(&fa);

	r = posix_spawn(&pid, "./proc_vfork-missing", NULL, NULL, args, envp);
	if (r == 0) /* an implementation may report the failure as exit 127 */
		out("spawn: missing -> child %s\n", wstat(reap(pid)));
	else
		out("spawn: missing -> %s\n", perr(r));
}

static const struct pcase cases[] = {
	{"exit7", exit7}, {"vexec", vexec}, {"vfail", vfail}, {"many", many}, {"spawn", spawn},
};

int main(int argc, char **argv)
{
	const char *role = getenv("PROC_ROLE");
	if (role != NULL && strcmp(role, "vchild") == 0)
		return role_vchild(argc, argv);
	if (role != NULL && strcmp(role, "spawned") == 0)
		return role_spawned(argc, argv);
	return run_cases(cases, NCASES(cases), argc, argv);
}

/*
 * Syscall-heavy: fork + execve + exit + wait, 200 times (50 with -q).
 * argv (after an optional -q): "static" execs this program itself (a
 * static binary, found through argv[0]) with the argument "exit", which
 * returns at once; "dynamic" execs the distribution's dynamically linked
 * /bin/true. The parent waits for each child before the next fork.
 * Prints exec_s and exec_us per round.
 */
#include "bench.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	const char *kind = argc > 1 ? argv[argc - 1] : "";
	if (strcmp(kind, "exit") == 0)
		return 0;
	long n = quick ? 50 : 200;
	char *child_argv[3];
	if (strcmp(kind, "static") == 0) {
		if (!strchr(argv[0], '/'))
			die("argv[0] %s has no directory", argv[0]);
		child_argv[0] = argv[0];
		child_argv[1] = "exit";
		child_argv[2] = NULL;
	} else if (strcmp(kind, "dynamic") == 0) {
		child_argv[0] = "/bin/true";
		child_argv[1] = NULL;
	} else {
		errno = EINVAL;
		die("usage: sys_exec [-q] static|dynamic");
	}
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	double t0 = now();
	for (long i = 0; i < n; i++) {
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0) {
			execve(child_argv[0], child_argv, envp);
			_exit(127);
		}
		int st;
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("child %s: status %#x", child_argv[0], st);
	}
	double t1 = now();
	report("exec_s", t1 - t0, "execs=%ld", n);
	report("exec_us", (t1 - t0) * 1e6 / n, "execs=%ld", n);
	return 0;
}

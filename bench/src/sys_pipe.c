/*
 * Syscall-heavy: 1M one-byte write()s (250k with -q) into a pipe whose
 * other end a forked child drains with 64 KiB read()s. Timed from the first
 * write to the child's exit (the child checks the count). Prints pipe_s and
 * pipe_write_ns per write.
 */
#include "bench.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 250000 : 1000000;
	int fd[2];
	if (pipe(fd))
		die("pipe");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		static char buf[65536];
		long got = 0;
		ssize_t r;
		close(fd[1]);
		while ((r = read(fd[0], buf, sizeof buf)) > 0)
			got += r;
		_exit(got == n ? 0 : 2);
	}
	close(fd[0]);
	char c = 'x';
	double t0 = now();
	for (long i = 0; i < n; i++)
		if (write(fd[1], &c, 1) != 1)
			die("write");
	double t1 = now();
	close(fd[1]);
	int st;
	if (waitpid(child, &st, 0) != child)
		die("waitpid");
	double t2 = now();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("reader child: status %#x", st);
	report("pipe_s", t2 - t0, "writes=%ld", n);
	report("pipe_write_ns", (t1 - t0) * 1e9 / n, "writes=%ld", n);
	return 0;
}

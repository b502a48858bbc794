/*
 * Memory/processes: fork of a process with 512 MiB (128 MiB with -q)
 * mapped and touched, i.e. the cost of setting up copy-on-write for it.
 * 5 rounds: fork() (timed in the parent until fork returns), the child
 * writes one page and _exit(0)s, the parent waits (timed: teardown).
 * Then one child writes to every page (timed: COW breaks). Prints medians
 * forkbig_fork_ms, forkbig_wait_ms and cow_break_ns_per_page.
 */
#include "bench.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define ROUNDS 5

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	size_t bytes = (size_t)(quick ? 128 : 512) << 20, pages = bytes / 4096;
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %zu", bytes);
	for (size_t i = 0; i < pages; i++)
		p[i * 4096] = (char)i;

	double tf[ROUNDS], tw[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now();
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0) {
			p[4096 * (size_t)r] = 1;
			_exit(0);
		}
		double t1 = now();
		int st;
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("waitpid");
		double t2 = now();
		tf[r] = (t1 - t0) * 1e3;
		tw[r] = (t2 - t1) * 1e3;
	}
	report("forkbig_fork_ms", median(tf, ROUNDS), "bytes=%zu", bytes);
	report("forkbig_wait_ms", median(tw, ROUNDS), "bytes=%zu", bytes);

	/* COW breaks: the child writes every page and reports its time in the
	 * exit path through a pipe. */
	int fd[2];
	if (pipe(fd))
		die("pipe");
	pid_t c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		double t0 = now();
		for (size_t i = 0; i < pages; i++)
			p[i * 4096] = (char)(i + 1);
		double dt = now() - t0;
		if (write(fd[1], &dt, sizeof dt) != sizeof dt)
			_exit(1);
		_exit(0);
	}
	double dt;
	if (read(fd[0], &dt, sizeof dt) != sizeof dt)
		die("read");
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("waitpid");
	report("cow_break_ns_per_page", dt * 1e9 / pages, "bytes=%zu", bytes);
	unsigned long long sum = 0;
	for (size_t i = 0; i < pages; i += 101)
		sum += (unsigned char)p[i * 4096];
	check("parent_sum", sum);
	return 0;
}

/*
 * Scale: N processes (argv: [-q] N, default 16) each read a 64 KiB buffer
 * from every other one with process_vm_readv (all-to-all, N*(N-1) copies).
 * The parent forks the N workers, each fills its buffer and says "ready"
 * on a pipe; the parent then closes the "start" pipe (EOF releases all),
 * each worker reads everyone else's buffer and checks its first and last
 * byte, says "done", and waits for the "release" pipe to close before
 * exiting (so no buffer disappears while it is being read).
 * Prints scale_total_s (first fork to last wait), scale_copy_s (start to
 * the last "done") and scale_GBps (bytes copied / scale_copy_s), each with
 * n=N. The harness measures the emulator's peak RSS around this.
 */
#include "cma.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define BUF (64 << 10)

static char buf[BUF];   /* each worker's own, same address in all */
static char local[BUF]; /* where a worker reads the others' buffers */

static void need(int fd, int n)
{
	char c[256];
	while (n > 0) {
		ssize_t r = read(fd, c, n < 256 ? n : 256);
		if (r <= 0)
			die("parent read: got %zd", r);
		n -= r;
	}
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	int n = 16;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-q") != 0)
			n = atoi(argv[i]);
	if (n < 2 || n > 4096)
		die("bad N %d", n);
	cma_probe();

	pid_t *pids = mmap(NULL, n * sizeof(pid_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pids == MAP_FAILED)
		die("mmap");
	int up[2], start[2], release[2];
	if (pipe(up) || pipe(start) || pipe(release))
		die("pipe");

	double t0 = now();
	for (int i = 0; i < n; i++) {
		pid_t c = fork();
		if (c < 0)
			die("fork %d", i);
		if (c == 0) {
			close(start[1]);
			close(release[1]);
			close(up[0]);
			memset(buf, i & 0xff, BUF);
			buf[BUF - 1] = (char)(i * 3);
			char ch = 'r';
			if (write(up[1], &ch, 1) != 1)
				_exit(10);
			while (read(start[0], &ch, 1) > 0)
				;
			int bad = 0;
			for (int j = 0; j < n; j++) {
				if (j == i)
					continue;
				struct iovec l = {local, BUF}, r = {buf, BUF};
				ssize_t got = process_vm_readv(pids[j], &l, 1, &r, 1, 0);
				if (got != BUF || local[0] != (char)(j & 0xff) || local[BUF - 1] != (char)(j * 3))
					bad++;
			}
			ch = 'd';
			if (write(up[1], &ch, 1) != 1)
				_exit(11);
			while (read(release[0], &ch, 1) > 0)
				;
			_exit(bad ? 12 : 0);
		}
		pids[i] = c;
	}
	close(start[0]);
	close(release[0]);
	close(up[1]);
	need(up[0], n); /* ready */
	double t1 = now();
	close(start[1]);
	need(up[0], n); /* done */
	double t2 = now();
	close(release[1]);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) != pids[i])
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			if (!failed)
				fprintf(stderr, "worker %d: status %#x\n", i, st);
			failed++;
		}
	}
	double t3 = now();
	if (failed)
		die("%d of %d workers failed", failed, n);
	report("scale_total_s", t3 - t0, "n=%d", n);
	report("scale_copy_s", t2 - t1, "n=%d", n);
	report("scale_GBps", (double)n * (n - 1) * BUF / (t2 - t1) / 1e9, "n=%d", n);
	check("scale_ok", n);
	return 0;
}

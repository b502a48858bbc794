/*
 * Syscall-heavy: open()/close() of one regular file, 100k times (25k with
 * -q). The file is created in the directory given as argv[1] (after an
 * optional -q; default /tmp) and removed at the end. Prints open_close_s and
 * open_close_ns per pair.
 */
#include "bench.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 25000 : 100000;
	const char *dir = bench_dir(argc, argv);
	char path[4096];
	snprintf(path, sizeof path, "%s/cmaemu-bench-open.%ld", dir, (long)getpid());
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		die("create %s", path);
	close(fd);
	double t0 = now();
	for (long i = 0; i < n; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die("open %s", path);
		if (close(fd))
			die("close");
	}
	double t1 = now();
	unlink(path);
	report("open_close_s", t1 - t0, "pairs=%ld", n);
	report("open_close_ns", (t1 - t0) * 1e9 / n, "pairs=%ld", n);
	return 0;
}

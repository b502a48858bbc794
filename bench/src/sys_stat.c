/*
 * Syscall-heavy: stat() of a regular file, 100k times (25k with -q), by
 * its full path (in the directory given as argv[1], default /tmp) and by
 * a one-component relative path from that directory. Prints stat_ns per
 * call for each.
 */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>

static void run(const char *path, const char *which, long n)
{
	struct stat st;
	double t0 = now();
	for (long i = 0; i < n; i++)
		if (stat(path, &st) || st.st_size != 3)
			die("stat %s", path);
	double t1 = now();
	report("stat_ns", (t1 - t0) * 1e9 / n, "path=%s", which);
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 25000 : 100000;
	const char *dir = bench_dir(argc, argv);
	char name[64], path[4096];
	snprintf(name, sizeof name, "cmaemu-bench-stat.%ld", (long)getpid());
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || write(fd, "abc", 3) != 3)
		die("create %s", path);
	close(fd);
	run(path, "absolute", n);
	if (chdir(dir))
		die("chdir %s", dir);
	run(name, "relative", n);
	unlink(name);
	return 0;
}

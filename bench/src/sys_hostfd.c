/*
 * Syscall-heavy: I/O on host file descriptors, one size at a time.
 * 100k calls (25k with -q) of each:
 *
 *   write to /dev/null        op=write file=null   size=1 and 4096
 *   read from /dev/zero       op=read  file=zero   size=1 and 4096
 *   pread of a regular file   op=pread file=reg    size=1 and 4096
 *
 * The regular file (8 KiB, created in the directory given as argv[1],
 * default /tmp) is read at offset 0, so every pread hits the page cache.
 * Prints hostfd_ns (time per call) for each op/file/size and checks the
 * bytes read.
 */
#include "bench.h"
#include <fcntl.h>

static char buf[4096];

static void run(const char *op, const char *file, int fd, size_t size, long n)
{
	double t0 = now();
	if (op[0] == 'w') {
		for (long i = 0; i < n; i++)
			if (write(fd, buf, size) != (ssize_t)size)
				die("write %s", file);
	} else if (op[0] == 'r') {
		for (long i = 0; i < n; i++)
			if (read(fd, buf, size) != (ssize_t)size)
				die("read %s", file);
	} else {
		for (long i = 0; i < n; i++)
			if (pread(fd, buf, size, 0) != (ssize_t)size)
				die("pread %s", file);
	}
	double t1 = now();
	report("hostfd_ns", (t1 - t0) * 1e9 / n, "op=%s file=%s size=%zu", op, file, size);
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	long n = quick ? 25000 : 100000;
	const char *dir = bench_dir(argc, argv);
	char path[4096];
	snprintf(path, sizeof path, "%s/cmaemu-bench-hostfd.%ld", dir, (long)getpid());
	int reg = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (reg < 0)
		die("create %s", path);
	for (int i = 0; i < 2; i++) {
		memset(buf, 'a' + i, sizeof buf);
		if (write(reg, buf, sizeof buf) != sizeof buf)
			die("fill %s", path);
	}
	unlink(path);
	int null = open("/dev/null", O_WRONLY), zero = open("/dev/zero", O_RDONLY);
	if (null < 0 || zero < 0)
		die("open /dev/null, /dev/zero");

	memset(buf, 'x', sizeof buf);
	size_t sizes[] = {1, 4096};
	for (int s = 0; s < 2; s++)
		run("write", "null", null, sizes[s], n);
	for (int s = 0; s < 2; s++)
		run("read", "zero", zero, sizes[s], n);
	unsigned long long sum = 0;
	for (size_t i = 0; i < sizeof buf; i++)
		sum += (unsigned char)buf[i];
	check("zero_sum", sum);
	for (int s = 0; s < 2; s++)
		run("pread", "reg", reg, sizes[s], n);
	sum = 0;
	for (size_t i = 0; i < sizeof buf; i++)
		sum += (unsigned char)buf[i];
	check("reg_sum", sum);
	return 0;
}

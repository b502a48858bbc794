/*
 * Shared helpers of the cmaemu benchmark guests (bench/src/).
 *
 * Every guest prints its results as machine-parseable lines
 *
 *     METRIC [KEY=VALUE ...] value=NUMBER
 *
 * (for example "cma_readv_GBps size=67108864 value=12.3") and, to let the
 * harness compare the work done under each runner, lines
 *
 *     check NAME=VALUE
 *
 * that must be identical natively, under qemu-user and under cmaemu. Any
 * other line is ignored by the harness. A guest that finds a system call
 * missing (ENOSYS) prints "unsupported SYSCALL" and exits with
 * EXIT_UNSUPPORTED; other failures print "error: ..." and exit 1.
 *
 * "-q" as the first argument selects the quick (smaller) sizes.
 */
#ifndef CMAEMU_BENCH_H
#define CMAEMU_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_UNSUPPORTED 77
#define UNUSED __attribute__((unused))

static int quick;

UNUSED static void bench_init(int argc, char **argv)
{
	/* Line-buffered even into a pipe: results must not sit in a stdio
	 * buffer that a fork() would duplicate. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "-q") == 0)
		quick = 1;
}

/* bench_dir returns the directory given as the last argument that is not
 * "-q" (the run's scratch directory), or /tmp. */
UNUSED static const char *bench_dir(int argc, char **argv)
{
	const char *dir = "/tmp";
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-q") != 0)
			dir = argv[i];
	return dir;
}

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* report("cma_readv_GBps", 12.3, "size=%d", n) */
UNUSED static void report(const char *metric, double value, const char *params, ...)
{
	char p[256] = "";
	if (params) {
		va_list ap;
		va_start(ap, params);
		vsnprintf(p, sizeof p, params, ap);
		va_end(ap);
	}
	printf("%s%s%s value=%.6g\n", metric, p[0] ? " " : "", p, value);
	fflush(stdout);
}

UNUSED static void check(const char *name, unsigned long long v)
{
	printf("check %s=%llx\n", name, v);
	fflush(stdout);
}

UNUSED static void die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;
	fflush(stdout);
	fprintf(stderr, "error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", e, strerror(e));
	printf("error\n");
	fflush(stdout);
	_exit(1);
}

UNUSED static void unsupported(const char *what)
{
	printf("unsupported %s\n", what);
	fflush(stdout);
	fprintf(stderr, "unsupported: %s returned ENOSYS\n", what);
	exit(EXIT_UNSUPPORTED);
}

/* xorshift64*: a fast deterministic generator. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

UNUSED static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

UNUSED static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

UNUSED static double maxof(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

#endif

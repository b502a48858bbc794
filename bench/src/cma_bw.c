/*
 * Cross Memory Attach throughput and latency. The parent reads a forked
 * child's buffer with process_vm_readv for 4 KiB, 64 KiB, 1 MiB, 16 MiB and
 * 64 MiB in one iovec, and 64 MiB as 1024 iovecs of 64 KiB on both sides;
 * writes it with process_vm_writev for 64 MiB; and times 64-byte readv round
 * trips. Each figure is the median (and best) of batches of about 10 ms,
 * repeated for at least 0.2 s (0.05 s with -q).
 *
 * Prints cma_readv_GBps, cma_readv_best_GBps (size=...), the same for
 * cma_readv_iov1024 and cma_writev, and cma_lat64_ns (the median over
 * batches of the mean time per call, and the best batch as
 * cma_lat64_best_ns). Exits with
 * EXIT_UNSUPPORTED (77) and "unsupported process_vm_readv" on ENOSYS.
 */
#include "cma.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define MAXSZ ((size_t)64 << 20)
#define NIOV 1024

static pid_t child;
static char *lbuf, *rbuf; /* local buffer; the child's buffer (its address) */
static size_t cur;
static struct iovec liov[NIOV], riov[NIOV];
static double per_op[MAX_BATCHES];

static void do_readv(long iters)
{
	struct iovec l = {lbuf, cur}, r = {rbuf, cur};
	for (long i = 0; i < iters; i++)
		if (process_vm_readv(child, &l, 1, &r, 1, 0) != (ssize_t)cur)
			die("process_vm_readv %zu", cur);
}

static void do_writev(long iters)
{
	struct iovec l = {lbuf, cur}, r = {rbuf, cur};
	for (long i = 0; i < iters; i++)
		if (process_vm_writev(child, &l, 1, &r, 1, 0) != (ssize_t)cur)
			die("process_vm_writev %zu", cur);
}

static void do_readv_iov(long iters)
{
	for (long i = 0; i < iters; i++)
		if (process_vm_readv(child, liov, NIOV, riov, NIOV, 0) != (ssize_t)MAXSZ)
			die("process_vm_readv %d iovecs", NIOV);
}

static void do_lat(long iters)
{
	struct iovec l = {lbuf + 100, 64}, r = {rbuf + 200, 64};
	for (long i = 0; i < iters; i++)
		if (process_vm_readv(child, &l, 1, &r, 1, 0) != 64)
			die("process_vm_readv 64");
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 12)); }

static void verify(size_t n, const char *what)
{
	for (size_t i = 0; i < n; i += 4093)
		if ((unsigned char)lbuf[i] != pattern(i))
			die("%s: byte %zu differs", what, i);
	if ((unsigned char)lbuf[n - 1] != pattern(n - 1))
		die("%s: last byte differs", what);
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	double min_s = quick ? 0.05 : 0.2;
	cma_probe();

	int addr_pipe[2], release[2];
	if (pipe(addr_pipe) || pipe(release))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(release[1]);
		char *b = mmap(NULL, MAXSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b == MAP_FAILED)
			die("child mmap");
		for (size_t i = 0; i < MAXSZ; i++)
			b[i] = (char)pattern(i);
		if (write(addr_pipe[1], &b, sizeof b) != sizeof b)
			_exit(1);
		char c;
		while (read(release[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(release[0]);
	if (read(addr_pipe[0], &rbuf, sizeof rbuf) != sizeof rbuf)
		die("read child address");
	lbuf = mmap(NULL, MAXSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (lbuf == MAP_FAILED)
		die("mmap");
	memset(lbuf, 0, MAXSZ);

	static const size_t sizes[] = {4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20};
	for (unsigned k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		cur = sizes[k];
		int nb = measure(do_readv, min_s, per_op);
		verify(cur, "readv");
		report_bw("cma_readv", cur, per_op, nb, NULL);
	}

	memset(lbuf, 0, MAXSZ);
	size_t part = MAXSZ / NIOV;
	for (int i = 0; i < NIOV; i++) {
		liov[i] = (struct iovec){lbuf + i * part, part};
		riov[i] = (struct iovec){rbuf + i * part, part};
	}
	int nb = measure(do_readv_iov, min_s, per_op);
	verify(MAXSZ, "readv iovecs");
	report_bw("cma_readv_iov1024", MAXSZ, per_op, nb, " iov=1024");

	cur = MAXSZ;
	nb = measure(do_writev, min_s, per_op);
	report_bw("cma_writev", MAXSZ, per_op, nb, NULL);

	nb = measure(do_lat, min_s, per_op);
	double best = per_op[0];
	for (int i = 1; i < nb; i++)
		if (per_op[i] < best)
			best = per_op[i];
	report("cma_lat64_ns", median(per_op, nb) * 1e9, "size=64");
	report("cma_lat64_best_ns", best * 1e9, "size=64");

	/* The child's buffer after writev holds what lbuf held. */
	memset(lbuf, 0xAB, MAXSZ);
	cur = MAXSZ;
	do_readv(1);
	verify(MAXSZ, "readv after writev");

	close(release[1]);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("child status %#x", st);
	check("cma_verified", 1);
	return 0;
}

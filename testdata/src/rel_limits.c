/* rel_limits: resource limits that hold, as Linux enforces them. Each
 * case runs in a child that sets the limit, so none leaks into the next.
 *   as     RLIMIT_AS: mmap, mremap and brk that would make the total
 *          size of the address space exceed the soft limit fail (ENOMEM;
 *          brk returns the old break); what fits succeeds
 *   fsize  RLIMIT_FSIZE: a write that would cross the limit is cut to
 *          end at it, the next (at or past the limit) gets SIGXFSZ and
 *          EFBIG; pwrite and O_APPEND the same; a 0-byte write neither;
 *          with SIGXFSZ's default action the process dies of it;
 *          truncate, ftruncate and fallocate that grow a file past it
 *          the same (SIGXFSZ and EFBIG), shrinking is free
 *   data   RLIMIT_DATA: private writable mappings (mmap, mprotect to
 *          writable, mremap growth, brk) beyond the soft limit fail with
 *          ENOMEM; read-only and shared mappings do not count; a soft
 *          limit of 0 stops brk but lets mappings use the hard limit
 *   maps   vm.max_map_count (65530): mmap stops at one VMA above it,
 *          munmap and mprotect that would split a VMA fail with ENOMEM
 *   cpu    RLIMIT_CPU: SIGXCPU when the CPU time reaches the soft limit,
 *          which then goes up a second, so it comes each second; SIGKILL
 *          at the hard limit; with SIGXCPU's default action the process
 *          dies of it
 * One line a check; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <fcntl.h>

#define PG 4096UL

/* maps_scan returns the number of VMAs (lines of /proc/self/maps but
 * [vsyscall], which is not one) and their total size in *total, and the
 * size of the private writable ones but the stack (Linux's data_vm) in
 * *data. */
static long maps_scan2(unsigned long *total, unsigned long *data)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY);
	PCHECK(fd >= 0);
	long n = 0;
	unsigned long sum = 0;
	char line[512];
	size_t ll = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		PCHECK(r >= 0);
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof line - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			ll = 0;
			if (strstr(line, "[vsyscall]"))
				continue;
			unsigned long lo = strtoul(line, NULL, 16);
			unsigned long hi = strtoul(strchr(line, '-') + 1, NULL, 16);
			sum += hi - lo;
			char *perms = strchr(line, ' ') + 1;
			if (data && perms[1] == 'w' && perms[3] == 'p' && !strstr(line, "[stack]"))
				*data += hi - lo;
			n++;
		}
	}
	close(fd);
	if (total)
		*total = sum;
	return n;
}

static long maps_scan(unsigned long *total) { return maps_scan2(total, NULL); }

static void setlim(int res, rlim_t cur, rlim_t max)
{
	struct rlimit rl = {cur, max};
	PCHECK(setrlimit(res, &rl) == 0);
}

static void as_child(void)
{
	unsigned long total;
	maps_scan(&total);
	setlim(RLIMIT_AS, total + 16 * PG + 100, RLIM_INFINITY);
	/* 12 pages of which the top 4 are given back: a MAP_FIXED of 12
	 * pages at a replaces nothing but what this case mapped. */
	char *a = mmap(NULL, 12 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	out("mmap 12 pages: %s\n", a == MAP_FAILED ? perr(errno) : "ok");
	PCHECK(a != MAP_FAILED && munmap(a + 8 * PG, 4 * PG) == 0);
	void *b = mmap(NULL, 9 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	out("mmap 9 more pages: %s\n", b == MAP_FAILED ? perr(errno) : "ok");
	b = mmap(NULL, 9 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	out("mmap 9 more pages, PROT_NONE, MAP_NORESERVE: %s\n", b == MAP_FAILED ? perr(errno) : "ok");
	void *f = mmap(a, 12 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	out("MAP_FIXED 12 pages over the 8: %s\n", f == MAP_FAILED ? perr(errno) : "ok");
	PCHECK(munmap(a + 8 * PG, 4 * PG) == 0);
	f = mmap(a, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	out("MAP_FIXED 8 pages over the 8: %s\n", f == a ? "ok" : perr(errno));
	void *r = mremap(a, 8 * PG, 17 * PG, MREMAP_MAYMOVE);
	out("mremap 8 -> 17 pages: %s\n", r == MAP_FAILED ? perr(errno) : "ok");
	r = mremap(a, 8 * PG, 16 * PG, MREMAP_MAYMOVE);
	out("mremap 8 -> 16 pages: %s\n", r == MAP_FAILED ? perr(errno) : "ok");
	PCHECK(r != MAP_FAILED);
	long cur = syscall(SYS_brk, 0);
	long got = syscall(SYS_brk, cur + (long)PG);
	out("brk one page more: %s\n", got == cur ? "old break" : "moved");
	PCHECK(munmap(r, 16 * PG) == 0);
	got = syscall(SYS_brk, cur + (long)PG);
	out("brk after munmap: %s\n", got == cur + (long)PG ? "moved" : "old break");
	setlim(RLIMIT_AS, 0, RLIM_INFINITY);
	b = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	out("limit 0, mmap 1 page: %s\n", b == MAP_FAILED ? perr(errno) : "ok");
	_exit(0);
}

static const char *mres(void *p) { return p == MAP_FAILED ? perr(errno) : "ok"; }

static void data_child(void)
{
	unsigned long total, data = 0;
	maps_scan2(&total, &data);
	setlim(RLIMIT_DATA, data + 8 * PG + 100, RLIM_INFINITY);
	int rw = PROT_READ | PROT_WRITE, priv = MAP_PRIVATE | MAP_ANONYMOUS;
	char *a = mmap(NULL, 8 * PG, rw, priv, -1, 0);
	out("mmap 8 writable pages: %s\n", mres(a));
	PCHECK(a != MAP_FAILED);
	out("mmap 1 more writable page: %s\n", mres(mmap(NULL, PG, rw, priv, -1, 0)));
	out("mmap 16 read-only pages: %s\n", mres(mmap(NULL, 16 * PG, PROT_READ, priv, -1, 0)));
	out("mmap 16 shared writable pages: %s\n",
	    mres(mmap(NULL, 16 * PG, rw, MAP_SHARED | MAP_ANONYMOUS, -1, 0)));
	char *ro = mmap(NULL, 2 * PG, PROT_READ, priv, -1, 0);
	PCHECK(ro != MAP_FAILED);
	out("mprotect 2 read-only pages writable: %s\n", res(mprotect(ro, 2 * PG, rw)));
	PCHECK(munmap(a + 6 * PG, 2 * PG) == 0);
	out("after munmap of 2, mprotect them writable: %s\n", res(mprotect(ro, 2 * PG, rw)));
	out("mremap 6 -> 7 pages: %s\n", mres(mremap(a, 6 * PG, 7 * PG, MREMAP_MAYMOVE)));
	PCHECK(munmap(ro, 2 * PG) == 0);
	out("after munmap of 2 more, mremap 6 -> 8 pages: %s\n", mres(mremap(a, 6 * PG, 8 * PG, MREMAP_MAYMOVE)));
	long cur = syscall(SYS_brk, 0);
	out("brk one page more: %s\n", syscall(SYS_brk, cur + (long)PG) == cur ? "old break" : "moved");
	setlim(RLIMIT_DATA, 0, RLIM_INFINITY);
	cur = syscall(SYS_brk, 0);
	out("soft limit 0, brk one page more: %s\n", syscall(SYS_brk, cur + (long)PG) == cur ? "old break" : "moved");
	out("soft limit 0, mmap 1 writable page: %s\n", mres(mmap(NULL, PG, rw, priv, -1, 0)));
	setlim(RLIMIT_DATA, 0, 0);
	out("limits 0, mmap 1 writable page: %s\n", mres(mmap(NULL, PG, rw, priv, -1, 0)));
	_exit(0);
}

static volatile int xfsz;
static void on_xfsz(int sig)
{
	(void)sig;
	xfsz++;
}

/* wres prints what a write returned ("-1/EFBIG" for failures) and the
 * SIGXFSZ count after it. */
static void wres(const char *what, long r)
{
	const char *e = r < 0 && errno == EFBIG ? "-1/EFBIG" : res(r);
	out("%s: %s (signals %d)\n", what, e, xfsz);
}

static void fsize_child(void)
{
	setlim(RLIMIT_CORE, 0, 0);
	signal(SIGXFSZ, on_xfsz);
	setlim(RLIMIT_FSIZE, 10000, RLIM_INFINITY);
	static char buf[8192];
	memset(buf, 'x', sizeof buf);
	int fd = open("rel_limits.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
	PCHECK(fd >= 0);
	wres("write 8000", write(fd, buf, 8000));
	wres("write 4000", write(fd, buf, 4000));
	wres("write 0 at the limit", write(fd, buf, 0));
	wres("write 1 at the limit", write(fd, buf, 1));
	wres("pwrite 10 at 9995", pwrite(fd, buf, 10, 9995));
	wres("pwrite 10 at 20000", pwrite(fd, buf, 10, 20000));
	PCHECK(ftruncate(fd, 4000) == 0);
	PCHECK(lseek(fd, 0, SEEK_SET) == 0);
	struct iovec iov[3] = {{buf, 3000}, {buf, 4000}, {buf, 5000}};
	wres("writev 3000+4000+5000 at 0", writev(fd, iov, 3));
	close(fd);
	fd = open("rel_limits.tmp", O_WRONLY | O_APPEND);
	PCHECK(fd >= 0);
	PCHECK(ftruncate(fd, 9000) == 0);
	wres("O_APPEND write 2000 at size 9000", write(fd, buf, 2000));
	wres("O_APPEND write 1 at size 10000", write(fd, buf, 1));
	struct stat st;
	PCHECK(fstat(fd, &st) == 0);
	out("size: %ld\n", (long)st.st_size);
	wres("ftruncate to 10000", ftruncate(fd, 10000));
	wres("ftruncate to 10001", ftruncate(fd, 10001));
	wres("truncate to 20000", truncate("rel_limits.tmp", 20000));
	wres("ftruncate down to 5000", ftruncate(fd, 5000));
	wres("fallocate to 12000", fallocate(fd, 0, 0, 12000));
	wres("fallocate KEEP_SIZE to 12000", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 12000));
	PCHECK(fstat(fd, &st) == 0);
	out("size: %ld\n", (long)st.st_size);
	PCHECK(ftruncate(fd, 10000) == 0);
	out("write 1 to a pipe past the limit: ");
	int p[2];
	PCHECK(pipe(p) == 0);
	wres("write 1 to a pipe past the limit", write(p[1], buf, 1));
	signal(SIGXFSZ, SIG_DFL);
	out("write with SIGXFSZ's default action\n");
	write(fd, buf, 1);
	out("FAIL: still alive\n");
	_exit(1);
}

static void maps_child(void)
{
	long n0 = maps_scan(NULL), made = 0;
	char *last = NULL;
	for (;;) {
		char *p = mmap(NULL, PG, made & 1 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			out("mmap stops with %s\n", perr(errno));
			break;
		}
		last = p;
		made++;
	}
	long n = maps_scan(NULL);
	out("VMAs at the stop: max_map_count%+ld (made %s)\n", n - 65530, made > 60000 && n - n0 == made ? "all counted" : "?");
	PCHECK(munmap(last, PG) == 0);
	/* Three pages with free space on both sides. */
	char *want = (char *)0x20000000UL;
	char *t = mmap(want, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	PCHECK(t == MAP_FAILED || t == want);
	out("mmap 3 pages at max_map_count: %s\n", t == MAP_FAILED ? perr(errno) : "ok");
	PCHECK(t != MAP_FAILED);
	out("munmap the middle page: %s\n", res(munmap(t + PG, PG)));
	out("mprotect the middle page: %s\n", res(mprotect(t + PG, PG, PROT_READ)));
	out("mprotect the first page: %s\n", res(mprotect(t, PG, PROT_READ)));
	out("munmap the first page: %s\n", res(munmap(t, PG)));
	out("mprotect the rest whole: %s\n", res(mprotect(t + PG, 2 * PG, PROT_READ)));
	out("mprotect the middle page now: %s\n", res(mprotect(t + 2 * PG, PG, PROT_NONE)));
	_exit(0);
}

static void run(const char *name, void (*fn)(void))
{
	out("%s:\n", name);
	pid_t pid = pfork();
	if (pid == 0)
		fn();
	int st = reap(pid);
	out("%s: %s\n", name, wstat(st));
}

static void as_case(void) { run("as", as_child); }
static void fsize_case(void)
{
	run("fsize", fsize_child);
	unlink("rel_limits.tmp");
}
static void maps_case(void) { run("maps", maps_child); }
static void data_case(void) { run("data", data_child); }


static volatile sig_atomic_t xcpu;

static void on_xcpu(int sig)
{
	(void)sig;
	struct rlimit r;
	getrlimit(RLIMIT_CPU, &r);
	out("cpu: SIGXCPU %d, soft limit now %lu\n", (int)++xcpu, (unsigned long)r.rlim_cur);
}

static void spin(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
}

static void cpu_case(void)
{
	pid_t p = pfork();
	if (p == 0) {
		struct sigaction sa = {0};
		sa.sa_handler = on_xcpu;
		sigaction(SIGXCPU, &sa, NULL);
		struct rlimit r = {1, 3};
		PCHECK(setrlimit(RLIMIT_CPU, &r) == 0);
		spin();
	}
	out("cpu: handled, child %s\n", wstat(reap(p)));
	p = pfork();
	if (p == 0) {
		struct rlimit r = {1, RLIM_INFINITY};
		PCHECK(setrlimit(RLIMIT_CPU, &r) == 0);
		spin();
	}
	out("cpu: default action, child %s\n", wstat(reap(p)));
}

int main(int argc, char **argv)
{
	static const struct pcase cases[] = {
	    {"as", as_case},
	    {"fsize", fsize_case},
	    {"data", data_case},
	    {"maps", maps_case},
	    {"cpu", cpu_case},
	};
	return run_cases(cases, NCASES(cases), argc, argv);
}

/* cma_pid: the pid argument of process_vm_readv/process_vm_writev. A live
 * forked child is read and written (raw syscalls and the libc wrappers);
 * only the low 32 bits of the pid count; pid 0, negative pids, pids above
 * PID_MAX_LIMIT, a reaped child and a zombie are ESRCH. Checks that return
 * before the pid lookup: local total 0 (even with a bad remote array) and
 * remote total 0 both return 0 whatever the pid; a bad remote array is
 * EFAULT/EINVAL before the pid is looked at, an unmapped remote address is
 * not (ESRCH first). One line a case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"

#define N 64
static unsigned char *buf, *dst;

/* remote: fills buf with seed 2 (the parent's has seed 1) and waits. */
static int remote(void *arg, int out, int in)
{
	(void)arg;
	cma_fill(buf, 4096, 0, 2);
	cma_send(out, "r", 1);
	if (cma_hold(in) == 'c') /* the parent asks: did a writev land? */
		cma_send(out, cma_same(buf + 1000, N, 0, 3) ? "y" : "n", 1);
	cma_hold(in);
	return 0;
}

/* rd reads N bytes of buf from pid: remote_bytes=1 when they carry the
 * pattern seed (2: the child's buf, 1: the parent's). */
static void rd(const char *name, unsigned long pid, unsigned seed)
{
	struct iovec l = {dst, N}, r = {buf, N};
	memset(dst, 0xee, N);
	long ret = cma_rw(0, pid, &l, 1, &r, 1, 0);
	if (ret < 0)
		outf("%s: %s\n", name, cma_res(ret));
	else
		outf("%s: %s remote_bytes=%d\n", name, cma_res(ret), cma_same(dst, N, 0, seed));
}

static void both(const char *name, unsigned long pid)
{
	struct iovec l = {dst, N}, r = {buf, N};
	char n[96];
	snprintf(n, sizeof n, "%s readv", name);
	cma_say(n, cma_rw(0, pid, &l, 1, &r, 1, 0));
	snprintf(n, sizeof n, "%s writev", name);
	cma_say(n, cma_rw(1, pid, &l, 1, &r, 1, 0));
}

static int quick(void *arg, int out, int in)
{
	(void)arg, (void)out, (void)in;
	return 0;
}

int main(void)
{
	buf = cma_map(4096, PROT_READ | PROT_WRITE);
	dst = cma_map(4096, PROT_READ | PROT_WRITE);
	cma_fill(buf, 4096, 0, 1);
	unsigned char ready;

	cma_child c = cma_spawn(remote, NULL);
	CHECK(cma_recv(c.from, &ready, 1));
	unsigned long pid = (unsigned long)c.pid;
	rd("live child", pid, 2);
	rd("self", (unsigned long)getpid(), 1);
#ifdef CMA_HI32
	rd("live child pid|1<<32", pid | CMA_HI32, 2);
	rd("live child pid|0xffffffff00000000", pid | 0xffffffff00000000UL, 2);
	both("pid 1<<32 (as 0)", CMA_HI32);
#endif
	both("pid 0", 0);
	both("pid -1", (unsigned long)-1);
	both("pid 0xffffffff (as -1)", 0xffffffffUL);
	both("pid -child", (unsigned long)-(long)c.pid);
	both("pid INT_MIN", (unsigned long)(long)INT_MIN);
	both("pid 4194305 (> PID_MAX_LIMIT)", 4194305);
	both("pid INT_MAX", INT_MAX);

	/* the libc wrappers (glibc; musl since 1.1.x) */
	struct iovec l = {dst, N}, r = {buf, N};
	memset(dst, 0xee, N);
	errno = 0;
	long ret = process_vm_readv(c.pid, &l, 1, &r, 1, 0);
	outf("wrapper readv: %s remote_bytes=%d\n", cma_res(ret), cma_same(dst, N, 0, 2));
	errno = 0;
	ret = process_vm_readv(c.pid, &l, 1, &r, 1, 1);
	outf("wrapper readv flags=1: %s\n", cma_res(ret));
	cma_fill(dst, N, 0, 3);
	struct iovec rw = {buf + 1000, N};
	errno = 0;
	ret = process_vm_writev(c.pid, &l, 1, &rw, 1, 0);
	unsigned char seen = '?';
	cma_send(c.to, "c", 1);
	CHECK(cma_recv(c.from, &seen, 1));
	outf("wrapper writev: %s child_sees=%c parent_unchanged=%d\n", cma_res(ret), seen,
	     cma_same(buf + 1000, N, 1000, 1));
	errno = 0;
	ret = process_vm_writev(-1, &l, 1, &rw, 1, 0);
	outf("wrapper writev pid=-1: %s\n", cma_res(ret));

	/* returns before the pid lookup */
	struct iovec lz = {dst, 0}, rz[2] = {{buf, 0}, {NULL, 0}}, rneg = {buf, (size_t)-1};
	struct iovec unmapped = {(void *)(uintptr_t)4096, N};
	const unsigned long badpids[] = {(unsigned long)-1, 0, 4194305};
	const char *badname[] = {"pid -1", "pid 0", "pid 4194305"};
	for (int i = 0; i < 3; i++) {
		char n[96];
		unsigned long p = badpids[i];
		snprintf(n, sizeof n, "%s local total 0 remote NULL", badname[i]);
		cma_say(n, cma_rw(0, p, &lz, 1, NULL, 1, 0));
		snprintf(n, sizeof n, "%s local total 0 riovcnt=5000", badname[i]);
		cma_say(n, cma_rw(1, p, &lz, 1, NULL, 5000, 0));
		snprintf(n, sizeof n, "%s liovcnt=0", badname[i]);
		cma_say(n, cma_rw(0, p, NULL, 0, &r, 1, 0));
		snprintf(n, sizeof n, "%s remote total 0", badname[i]);
		cma_say(n, cma_rw(0, p, &l, 1, rz, 2, 0));
		snprintf(n, sizeof n, "%s remote total 0 writev", badname[i]);
		cma_say(n, cma_rw(1, p, &l, 1, rz, 2, 0));
		snprintf(n, sizeof n, "%s riovcnt=0", badname[i]);
		cma_say(n, cma_rw(0, p, &l, 1, NULL, 0, 0));
		snprintf(n, sizeof n, "%s remote NULL", badname[i]);
		cma_say(n, cma_rw(0, p, &l, 1, NULL, 1, 0));
		snprintf(n, sizeof n, "%s remote len=-1", badname[i]);
		cma_say(n, cma_rw(0, p, &l, 1, &rneg, 1, 0));
		snprintf(n, sizeof n, "%s remote unmapped address", badname[i]);
		cma_say(n, cma_rw(0, p, &l, 1, &unmapped, 1, 0));
	}
	cma_say("self remote address 4096", cma_rw(0, (unsigned long)getpid(), &l, 1, &unmapped, 1, 0));
	CHECK(cma_reap(&c) == 0);

	/* a zombie (exited, not yet reaped): no mm, ESRCH */
	cma_child z = cma_spawn(quick, NULL);
	siginfo_t si;
	CHECK(waitid(P_PID, (id_t)z.pid, &si, WEXITED | WNOWAIT) == 0);
	both("zombie child", (unsigned long)z.pid);
	cma_say("zombie child local total 0", cma_rw(0, (unsigned long)z.pid, &lz, 1, &r, 1, 0));
	CHECK(cma_reap(&z) == 0);
	/* the same pid after it was reaped */
	both("reaped child", (unsigned long)z.pid);
	cma_say("reaped child remote total 0", cma_rw(0, (unsigned long)z.pid, &l, 1, rz, 2, 0));
	return 0;
}

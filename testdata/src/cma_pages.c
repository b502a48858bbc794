/* cma_pages: which remote pages process_vm_readv/process_vm_writev may
 * access, decided by the remote VMA's protection: untouched anonymous pages
 * and MADV_DONTNEED'd ones read as zeros; PROT_WRITE-only and PROT_EXEC-only
 * pages cannot be read (EFAULT); a local PROT_WRITE-only page is readable
 * (x86); read-only data and the text (shared with the guest by fork, so
 * compared with the guest's own bytes) can be read, not written; a writev
 * into a MAP_PRIVATE page shared copy-on-write changes only the remote
 * child (its sibling and the guest keep the old bytes), into a MAP_SHARED
 * one everybody; no stack growth: the page below the remote's stack VMA
 * and the one below a MAP_GROWSDOWN mapping are EFAULT and stay unmapped.
 * The remotes check their own memory on request (through a pipe). One line
 * a case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"

#define P CMA_PAGE
#define MiB (1024UL * 1024)

struct info {
	unsigned char *zero, *big, *dontneed, *wronly, *xonly, *rx, *stack, *below, *grows;
};
struct cmd {
	char op; /* 's': same as pattern seed from off, 'z': all zero, 'u': unmapped */
	unsigned char *a;
	size_t n, off;
	unsigned seed;
};
static const unsigned char rodata[64] = "read-only data of the guest, .rodata";
static unsigned char *cow, *cowzero, *shared;

/* unmapped: page a is not mapped (mprotect fails with ENOMEM). Only used
 * on pages that are read-write when mapped, so it changes nothing. */
static int unmapped(unsigned char *a)
{
	return mprotect(a, P, PROT_READ | PROT_WRITE) != 0 && errno == ENOMEM;
}

static int remote(void *arg, int out, int in)
{
	(void)arg;
	volatile unsigned char onstack[64];
	onstack[0] = 1;
	struct info i;
	/* The page below the stack VMA: the first unmapped page below the
	 * stack page, found before this process maps anything. Natively the
	 * stack VMA is a few dozen pages with a gap of at least 128 MiB below
	 * it. (cmaemu maps an 8 MiB stack with its mmap area right below; the
	 * walk then also crosses the guest's few read-write pages there.) */
	i.stack = (unsigned char *)((uintptr_t)onstack & ~(P - 1));
	unsigned char *p = i.stack;
	for (int k = 0; k < 16384 && !unmapped(p - P); k++)
		p -= P;
	i.below = unmapped(p - P) ? p - P : NULL;
	i.zero = cma_map(4 * P, PROT_READ | PROT_WRITE);
	i.big = mmap(NULL, 1024 * MiB, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(i.big != MAP_FAILED);
	i.dontneed = cma_map(2 * P, PROT_READ | PROT_WRITE);
	cma_fill(i.dontneed, 2 * P, 0, 4);
	CHECK(madvise(i.dontneed, 2 * P, MADV_DONTNEED) == 0);
	i.wronly = cma_map(P, PROT_WRITE);
	i.xonly = cma_map(P, PROT_EXEC);
	i.rx = cma_map(P, PROT_READ | PROT_WRITE);
	cma_fill(i.rx, P, 0, 4);
	CHECK(mprotect(i.rx, P, PROT_READ | PROT_EXEC) == 0);
	/* a 2-page MAP_GROWSDOWN mapping with a hole of 2 pages below it */
	unsigned char *g = cma_map(4 * P, PROT_READ | PROT_WRITE);
	CHECK(munmap(g, 4 * P) == 0);
	i.grows = mmap(g + 2 * P, 2 * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
	CHECK(i.grows == g + 2 * P);
	cma_send(out, &i, sizeof i);
	struct cmd c;
	while (cma_recv(in, &c, sizeof c)) {
		int ok = c.op == 'z'   ? cma_all(c.a, c.n, 0)
			 : c.op == 'u' ? unmapped(c.a)
				       : cma_same(c.a, c.n, c.off, c.seed);
		cma_send(out, ok ? "1" : "0", 1);
	}
	return onstack[0] == 1 ? 0 : 3;
}

/* ask has remote c check its own bytes: 1 when they match. */
static int ask(cma_child *c, char op, unsigned char *a, size_t n, size_t off, unsigned seed)
{
	struct cmd m = {op, a, n, off, seed};
	char r;
	cma_send(c->to, &m, sizeof m);
	CHECK(cma_recv(c->from, &r, 1));
	return r == '1';
}

static unsigned char *buf;
static long rd(pid_t pid, const void *a, size_t n)
{
	memset(buf, 0xee, n);
	struct iovec l = {buf, n}, r = {(void *)a, n};
	return cma_rw(0, (unsigned long)pid, &l, 1, &r, 1, 0);
}
static long wr(pid_t pid, const void *from, void *a, size_t n)
{
	struct iovec l = {(void *)from, n}, r = {a, n};
	return cma_rw(1, (unsigned long)pid, &l, 1, &r, 1, 0);
}

int main(void)
{
	buf = cma_map(4 * P, PROT_READ | PROT_WRITE);
	unsigned char *src = cma_map(P, PROT_READ | PROT_WRITE);
	cma_fill(src, P, 0, 9);
	cow = cma_map(P, PROT_READ | PROT_WRITE);
	cma_fill(cow, P, 0, 8);
	cowzero = cma_map(P, PROT_READ | PROT_WRITE);
	shared = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	cma_fill(shared, P, 0, 8);

	struct info ib, ia;
	cma_child b = cma_spawn(remote, NULL); /* the sibling */
	CHECK(cma_recv(b.from, &ib, sizeof ib));
	cma_child a = cma_spawn(remote, NULL); /* the remote */
	CHECK(cma_recv(a.from, &ia, sizeof ia));
	long ret;

	ret = rd(a.pid, ia.zero, 4 * P);
	outf("untouched pages: %s zeros=%d\n", cma_res(ret), cma_all(buf, 4 * P, 0));
	ret = rd(a.pid, ia.big + 512 * MiB - 100, 3 * P);
	outf("untouched 1 GiB NORESERVE: %s zeros=%d\n", cma_res(ret), cma_all(buf, 3 * P, 0));
	ret = rd(a.pid, ia.dontneed + 100, 2 * P - 200);
	outf("MADV_DONTNEED pages: %s zeros=%d\n", cma_res(ret), cma_all(buf, 2 * P - 200, 0));
	ret = wr(a.pid, src, ia.zero + P + 10, 100);
	outf("writev untouched page: %s remote_sees=%d rest_zero=%d\n", cma_res(ret),
	     ask(&a, 's', ia.zero + P + 10, 100, 0, 9),
	     ask(&a, 'z', ia.zero + P + 110, 3 * P - 110, 0, 0) && ask(&a, 'z', ia.zero, P + 10, 0, 0));

	ret = rd(a.pid, ia.wronly, 16);
	outf("readv PROT_WRITE-only: %s\n", cma_res(ret));
	ret = wr(a.pid, src, ia.wronly + 8, 16);
	outf("writev PROT_WRITE-only: %s remote_sees=%d\n", cma_res(ret),
	     ask(&a, 's', ia.wronly + 8, 16, 0, 9));
	ret = rd(a.pid, ia.xonly, 16);
	outf("readv PROT_EXEC-only: %s\n", cma_res(ret));
	ret = wr(a.pid, src, ia.xonly, 16);
	outf("writev PROT_EXEC-only: %s\n", cma_res(ret));
	ret = rd(a.pid, ia.rx, P);
	outf("readv PROT_READ|PROT_EXEC: %s bytes_ok=%d\n", cma_res(ret), cma_same(buf, P, 0, 4));
	ret = wr(a.pid, src, ia.rx, 16);
	outf("writev PROT_READ|PROT_EXEC: %s\n", cma_res(ret));

	/* local PROT_WRITE-only pages are readable (x86 has no write-only PTE) */
	unsigned char *lw = cma_map(P, PROT_WRITE);
	struct iovec l = {lw, 64}, r = {ia.rx, 64};
	ret = cma_rw(0, (unsigned long)a.pid, &l, 1, &r, 1, 0);
	outf("readv into local PROT_WRITE-only: %s\n", cma_res(ret));
	ret = wr(a.pid, lw, ia.zero + 3 * P, 64);
	outf("writev from local PROT_WRITE-only: %s remote_sees=%d\n", cma_res(ret),
	     ask(&a, 's', ia.zero + 3 * P, 64, 0, 4));

	/* copy-on-write after fork: only the remote's page changes */
	ret = wr(a.pid, src, cow + 100, 200);
	outf("writev COW page: %s remote_sees=%d remote_rest_old=%d sibling_old=%d own_old=%d\n",
	     cma_res(ret), ask(&a, 's', cow + 100, 200, 0, 9),
	     ask(&a, 's', cow, 100, 0, 8) && ask(&a, 's', cow + 300, P - 300, 300, 8),
	     ask(&b, 's', cow, P, 0, 8), cma_same(cow, P, 0, 8));
	ret = rd(a.pid, cow + 100, 200);
	outf("readv COW page back: %s remote_bytes=%d\n", cma_res(ret), cma_same(buf, 200, 0, 9));
	ret = rd(b.pid, cow + 100, 200);
	outf("readv COW page of the sibling: %s old_bytes=%d\n", cma_res(ret),
	     cma_same(buf, 200, 100, 8));
	ret = wr(a.pid, src, cowzero, 32);
	outf("writev never-touched private page: %s remote_sees=%d sibling_zero=%d own_zero=%d\n",
	     cma_res(ret), ask(&a, 's', cowzero, 32, 0, 9), ask(&b, 'z', cowzero, P, 0, 0),
	     cma_all(cowzero, P, 0));
	ret = wr(a.pid, src, shared + 40, 100);
	outf("writev MAP_SHARED page: %s remote_sees=%d sibling_sees=%d own_sees=%d\n",
	     cma_res(ret), ask(&a, 's', shared + 40, 100, 0, 9), ask(&b, 's', shared + 40, 100, 0, 9),
	     cma_same(shared + 40, 100, 0, 9));

	/* text and read-only data: same addresses as the guest's own after fork */
	const unsigned char *text = (const unsigned char *)(uintptr_t)remote;
	ret = rd(a.pid, text, 256);
	outf("readv text: %s same_as_own=%d\n", cma_res(ret), memcmp(buf, text, 256) == 0);
	ret = wr(a.pid, src, (void *)(uintptr_t)text, 16);
	outf("writev text: %s\n", cma_res(ret));
	ret = rd(a.pid, text, 256);
	outf("text after writev: %s unchanged=%d\n", cma_res(ret), memcmp(buf, text, 256) == 0);
	ret = rd(a.pid, rodata, sizeof rodata);
	outf("readv rodata: %s same_as_own=%d\n", cma_res(ret),
	     memcmp(buf, rodata, sizeof rodata) == 0);
	ret = wr(a.pid, src, (void *)(uintptr_t)rodata, 16);
	outf("writev rodata: %s\n", cma_res(ret));

	/* the stack does not grow for CMA: the page below the remote's stack
	 * VMA (found by the remote with mprotect) is EFAULT and stays unmapped.
	 * (A fixed distance below the stack pointer would not do: cmaemu maps
	 * an 8 MiB stack with its mmap area right below it.) A MAP_GROWSDOWN
	 * mapping with a hole below it shows the same rule. */
	ret = rd(a.pid, ia.stack, 16);
	outf("readv stack page: %s\n", cma_res(ret));
	if (ia.below) {
		ret = rd(a.pid, ia.below + P, P);
		outf("readv lowest page of the stack VMA: %s\n", cma_res(ret));
		ret = rd(a.pid, ia.below, 16);
		outf("readv page below the stack VMA: %s\n", cma_res(ret));
		ret = wr(a.pid, src, ia.below + P - 16, 16);
		outf("writev page below the stack VMA: %s\n", cma_res(ret));
		ret = rd(a.pid, ia.below + P - 16, 32);
		outf("readv from below into the stack VMA: %s\n", cma_res(ret));
		outf("page below the stack VMA still unmapped: %d\n", ask(&a, 'u', ia.below, P, 0, 0));
	} else
		outf("page below the stack VMA: not found\n");
	ret = rd(a.pid, ia.grows, 2 * P);
	outf("readv MAP_GROWSDOWN mapping: %s zeros=%d\n", cma_res(ret), cma_all(buf, 2 * P, 0));
	ret = rd(a.pid, ia.grows - P, 16);
	outf("readv page below MAP_GROWSDOWN: %s\n", cma_res(ret));
	ret = wr(a.pid, src, ia.grows - 16, 16);
	outf("writev page below MAP_GROWSDOWN: %s\n", cma_res(ret));
	ret = rd(a.pid, ia.grows - 16, 32);
	outf("readv from below into MAP_GROWSDOWN: %s\n", cma_res(ret));
	outf("page below MAP_GROWSDOWN still unmapped: %d\n", ask(&a, 'u', ia.grows - P, P, 0, 0));

	CHECK(cma_reap(&a) == 0);
	CHECK(cma_reap(&b) == 0);
	return 0;
}

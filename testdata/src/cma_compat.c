// variants: i386
/* cma_compat: the i386 (compat) rules of process_vm_readv/process_vm_writev
 * (int 0x80 syscalls 347/348) on the guest itself (pid = getpid()):
 * - an iovec is {u32 base, u32 len}; a length of 0x80000000 or more is
 *   "negative": EINVAL, in the local and in the remote array, even after a
 *   good element; 0x7fffffff is fine (capped at MAX_RW_COUNT);
 * - flags and the counts are 32-bit registers: flags 0xffffffff or
 *   0x80000000, liovcnt 0xffffffff, riovcnt 1025 are EINVAL;
 * - the top of a compat task is 0xffffe000: mmap(MAP_FIXED_NOREPLACE) of
 *   the page below it is allowed (mapped afresh, or EEXIST where the stack
 *   already reaches the top: both mean "in range"), at 0xffffe000 or across
 *   it ENOMEM; nothing is mapped at 0xffffe000 and above, so remote reads
 *   there are EFAULT and a copy that runs off the top is partial;
 * - local elements are range-checked against the 64-bit TASK_SIZE, so an
 *   element at 0xfffff000 of 0x2000 bytes (ending above 4 GiB) passes the
 *   import and fails only in the copy (partial after a good element).
 * One line a case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"
#include <stdint.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The compat iovec, spelled out (struct iovec has this layout on i386). */
typedef struct {
	uint32_t base, len;
} ciov;

#define TOP 0xffffe000u      /* TASK_SIZE of a compat task on x86-64 */
#define TAIL (TOP - 64)      /* the last 64 bytes below the top */

static unsigned long self;
static unsigned char *src, *dst;

static uint32_t A(const void *p) { return (uint32_t)(uintptr_t)p; }

static long rw(int write, const ciov *l, unsigned long lc, const ciov *r, unsigned long rc)
{
	return cma_rw(write, self, l, lc, r, rc, 0);
}

static void rd(const char *name, const ciov *l, unsigned long lc, const ciov *r, unsigned long rc)
{
	cma_say(name, rw(0, l, lc, r, rc));
}

/* copied: a readv into dst (reset first) that must copy n bytes of pattern
 * seed from offset off. */
static void copied(const char *name, const ciov *l, unsigned long lc, const ciov *r,
		   unsigned long rc, size_t n, size_t off, unsigned seed)
{
	memset(dst, 0xee, 4096);
	long ret = rw(0, l, lc, r, rc);
	outf("%s: %s bytes_ok=%d rest_untouched=%d\n", name, cma_res(ret),
	     cma_same(dst, n, off, seed), cma_all(dst + n, 4096 - n, 0xee));
}

/* try_map maps one fixed page range without replacing anything. */
static const char *try_map(uint32_t addr, uint32_t len)
{
	errno = 0;
	void *p = mmap((void *)(uintptr_t)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return errname(errno);
	CHECK(p == (void *)(uintptr_t)addr);
	CHECK(munmap(p, len) == 0);
	return "ok";
}

int main(void)
{
	self = (unsigned long)getpid();
	src = cma_map(4096, PROT_READ | PROT_WRITE);
	dst = cma_map(4096, PROT_READ | PROT_WRITE);
	cma_fill(src, 4096, 0, 1);
	ciov lgood = {A(dst), 16}, rgood = {A(src), 16};
	CHECK(sizeof(struct iovec) == sizeof(ciov));

	/* 1. flags: a 32-bit register; any bit is EINVAL. */
	cma_say("flags=0xffffffff", cma_rw(0, self, &lgood, 1, &rgood, 1, 0xffffffffUL));
	cma_say("flags=0x80000000", cma_rw(0, self, &lgood, 1, &rgood, 1, 0x80000000UL));
	cma_say("flags=0xffffffff writev", cma_rw(1, self, &lgood, 1, &rgood, 1, 0xffffffffUL));
	copied("flags=0", &lgood, 1, &rgood, 1, 16, 0, 1);

	/* 2. counts. */
	rd("liovcnt=0xffffffff", &lgood, 0xffffffffUL, &rgood, 1);
	rd("liovcnt=0x80000000", &lgood, 0x80000000UL, &rgood, 1);
	rd("liovcnt=1025", &lgood, 1025, &rgood, 1);
	rd("riovcnt=1025", &lgood, 1, &rgood, 1025);
	rd("riovcnt=0xffffffff", &lgood, 1, &rgood, 0xffffffffUL);
	rd("riovcnt=0x80000000", &lgood, 1, &rgood, 0x80000000UL);

	/* 3. lengths: u32, 0x80000000 and up are negative. */
	static const uint32_t neg[] = {0x80000000u, 0x80001000u, 0xffffffffu};
	for (int i = 0; i < 3; i++) {
		char name[80];
		ciov l = {A(dst), neg[i]}, r = {A(src), neg[i]};
		snprintf(name, sizeof name, "local len=0x%x", neg[i]);
		rd(name, &l, 1, &rgood, 1);
		snprintf(name, sizeof name, "remote len=0x%x", neg[i]);
		rd(name, &lgood, 1, &r, 1);
		snprintf(name, sizeof name, "writev local len=0x%x", neg[i]);
		cma_say(name, rw(1, &l, 1, &rgood, 1));
		snprintf(name, sizeof name, "writev remote len=0x%x", neg[i]);
		cma_say(name, rw(1, &lgood, 1, &r, 1));
	}
	ciov l2[2] = {lgood, {A(dst + 16), 0x80000000u}};
	rd("local [0] ok [1] len=0x80000000", l2, 2, &rgood, 1);
	ciov r2[2] = {rgood, {A(src + 16), 0x80000000u}};
	rd("remote [0] ok [1] len=0x80000000", &lgood, 1, r2, 2);
	ciov lmax = {A(dst), 0x7fffffffu}, rmax = {A(src), 0x7fffffffu};
	copied("local len=0x7fffffff remote 16", &lmax, 1, &rgood, 1, 16, 0, 1);
	copied("remote len=0x7fffffff local 16", &lgood, 1, &rmax, 1, 16, 0, 1);
	ciov lmax2[2] = {lmax, lmax};
	copied("local 2 x len=0x7fffffff (total capped) remote 16", lmax2, 2, &rgood, 1, 16, 0, 1);

	/* 4. the top of the compat address space. */
	outf("mmap 0xffffe000 len 0x1000: %s\n", try_map(TOP, 0x1000));
	outf("mmap 0xfffff000 len 0x1000: %s\n", try_map(0xfffff000u, 0x1000));
	outf("mmap 0xffffd000 len 0x2000: %s\n", try_map(TOP - 0x1000, 0x2000));
	/* The page below the top: ours, or the stack's when it reaches the
	 * top (no or little randomization); mapped and writable either way. */
	errno = 0;
	void *p = mmap((void *)(uintptr_t)(TOP - 0x1000), 0x1000, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(p == (void *)(uintptr_t)(TOP - 0x1000) || (p == MAP_FAILED && errno == EEXIST));
	outf("mmap 0xffffd000 len 0x1000: in range\n");
	unsigned char *tail = (unsigned char *)(uintptr_t)TAIL;
	cma_fill(tail, 64, 0, 2);

	ciov r;
	r = (ciov){TOP, 16};
	rd("remote 0xffffe000 len 16", &lgood, 1, &r, 1);
	r = (ciov){0xfffff000u, 0x2000};
	rd("remote 0xfffff000 len 0x2000 (ends above 4 GiB)", &lgood, 1, &r, 1);
	r = (ciov){0xffffffffu, 1};
	rd("remote 0xffffffff len 1", &lgood, 1, &r, 1);
	ciov l128 = {A(dst), 128};
	r = (ciov){TAIL, 128};
	copied("remote tail len 128 (runs off the top)", &l128, 1, &r, 1, 64, 0, 2);
	ciov rr[2] = {{TAIL + 32, 64}, rgood};
	copied("remote [0] runs off the top [1] ok", &l128, 1, rr, 2, 32, 32, 2);
	ciov rr2[2] = {{TOP, 16}, rgood};
	rd("remote [0] 0xffffe000 [1] ok", &l128, 1, rr2, 2);
	ciov r0[2] = {{TOP, 0}, rgood};
	copied("remote [0] 0xffffe000 len 0 [1] ok", &lgood, 1, r0, 2, 16, 0, 1);

	/* local elements: 64-bit range check at import, fault in the copy */
	ciov rsrc = {A(src), 128};
	ciov l;
	l = (ciov){TAIL, 128};
	long ret = rw(0, &l, 1, &rsrc, 1);
	outf("local tail len 128 (runs off the top): %s bytes_ok=%d\n", cma_res(ret),
	     cma_same(tail, 64, 0, 1));
	cma_fill(tail, 64, 0, 2);
	l = (ciov){0xfffff000u, 0x2000};
	rd("local 0xfffff000 len 0x2000 (ends above 4 GiB)", &l, 1, &rsrc, 1);
	l = (ciov){TOP, 16};
	rd("local 0xffffe000 len 16", &l, 1, &rsrc, 1);
	l = (ciov){0xffffffffu, 0x7fffffffu};
	rd("local 0xffffffff len 0x7fffffff", &l, 1, &rsrc, 1);
	ciov ll[2] = {lgood, {0xfffff000u, 0x2000}};
	copied("local [0] ok [1] 0xfffff000 len 0x2000", ll, 2, &rsrc, 1, 16, 0, 1);
	ciov ll2[2] = {lgood, {0xffffffffu, 0x7fffffffu}};
	copied("local [0] ok [1] 0xffffffff len 0x7fffffff", ll2, 2, &rsrc, 1, 16, 0, 1);

	/* writev: the same limits from the other side */
	ciov w = {A(src), 128};
	r = (ciov){TAIL, 128};
	ret = rw(1, &w, 1, &r, 1);
	outf("writev remote tail len 128: %s bytes_ok=%d\n", cma_res(ret), cma_same(tail, 64, 0, 1));
	cma_fill(tail, 64, 0, 2);
	r = (ciov){TOP, 16};
	cma_say("writev remote 0xffffe000", rw(1, &w, 1, &r, 1));
	r = (ciov){0xfffff000u, 0x2000};
	cma_say("writev remote 0xfffff000 len 0x2000", rw(1, &w, 1, &r, 1));
	ciov wl[2] = {{A(src), 16}, {0xfffff000u, 0x2000}};
	ciov rdst = {A(dst), 128};
	memset(dst, 0xee, 4096);
	ret = rw(1, wl, 2, &rdst, 1);
	outf("writev local [0] ok [1] 0xfffff000 len 0x2000: %s bytes_ok=%d rest_untouched=%d\n",
	     cma_res(ret), cma_same(dst, 16, 0, 1), cma_all(dst + 16, 4096 - 16, 0xee));
	w = (ciov){TAIL, 128};
	memset(dst, 0xee, 4096);
	ret = rw(1, &w, 1, &rdst, 1);
	outf("writev local tail len 128: %s bytes_ok=%d rest_untouched=%d\n", cma_res(ret),
	     cma_same(dst, 64, 0, 2), cma_all(dst + 64, 4096 - 64, 0xee));
	return 0;
}

/* cma_partial: partial copies. The remote (a forked child) and the guest
 * each map three 4-page regions whose page 2 is unmapped, PROT_NONE or
 * read-only. A copy stops exactly at the first remote page it may not
 * access (readv: unmapped, PROT_NONE; writev: also read-only), even in the
 * middle of an element, and at the first local byte that faults (readv
 * into an unmapped, PROT_NONE or read-only local page; writev from an
 * unmapped or PROT_NONE one). The result is the number of bytes copied, or
 * EFAULT when that is 0; later elements are not copied. Every case checks
 * the copied bytes and that the bytes after the stop are untouched.
 * One line a case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"

#define P CMA_PAGE
enum { UNMAPPED, NONE, RDONLY, KINDS };
static const char *kind[KINDS] = {"unmapped", "PROT_NONE", "read-only"};
static unsigned long pid;
static unsigned char *dst;

/* region maps 4 pages holding pattern seed (by offset in the region) and
 * makes page 2 unmapped, PROT_NONE or read-only. */
static unsigned char *region(int k, unsigned seed)
{
	unsigned char *r = cma_map(4 * P, PROT_READ | PROT_WRITE);
	cma_fill(r, 4 * P, 0, seed);
	if (k == UNMAPPED)
		CHECK(munmap(r + 2 * P, P) == 0);
	else
		CHECK(mprotect(r + 2 * P, P, k == NONE ? PROT_NONE : PROT_READ) == 0);
	return r;
}

static int remote(void *arg, int out, int in)
{
	(void)arg;
	unsigned char *r[KINDS];
	for (int k = 0; k < KINDS; k++)
		r[k] = region(k, 5);
	cma_send(out, r, sizeof r);
	cma_hold(in);
	return 0;
}

static long rv(int write, struct iovec *l, int lc, struct iovec *r, int rc)
{
	return cma_rw(write, pid, l, (unsigned long)lc, r, (unsigned long)rc, 0);
}

/* peek reads n remote bytes at a into dst+3P (a scratch page). */
static unsigned char *peek(unsigned char *a, size_t n)
{
	struct iovec l = {dst + 3 * P, n}, r = {a, n};
	CHECK(rv(0, &l, 1, &r, 1) == (long)n);
	return dst + 3 * P;
}

static void reset(void) { memset(dst, 0xee, 3 * P); }
static int untouched(size_t from) { return cma_all(dst + from, 3 * P - from, 0xee); }

int main(void)
{
	dst = cma_map(4 * P, PROT_READ | PROT_WRITE);
	unsigned char *src = cma_map(2 * P, PROT_READ | PROT_WRITE);
	cma_fill(src, 2 * P, 0, 6);
	cma_child c = cma_spawn(remote, NULL);
	unsigned char *R[KINDS];
	CHECK(cma_recv(c.from, R, sizeof R));
	pid = (unsigned long)c.pid;
	long ret;

	for (int k = 0; k < KINDS; k++) {
		unsigned char *r = R[k];
		const char *K = kind[k];
		int stops = k != RDONLY; /* readv stops at this page */
		/* readv: one element from page 1 into page 2 and beyond */
		reset();
		struct iovec l1 = {dst, 2 * P}, r1 = {r + P + 1000, 2 * P};
		ret = rv(0, &l1, 1, &r1, 1);
		size_t n = stops ? P - 1000 : 2 * P;
		outf("readv remote %s mid element: %s bytes_ok=%d after_untouched=%d\n", K,
		     cma_res(ret), cma_same(dst, n, P + 1000, 5), untouched(n));
		/* readv: an element that starts at page 2 */
		struct iovec r2 = {r + 2 * P + 8, 100};
		ret = rv(0, &l1, 1, &r2, 1);
		outf("readv remote %s element starts there: %s\n", K, cma_res(ret));
		/* readv: three elements, the second one crosses into page 2 */
		reset();
		struct iovec l3 = {dst, 300};
		struct iovec r3[3] = {{r, 100}, {r + 2 * P - 50, 100}, {r + 3 * P, 100}};
		ret = rv(0, &l3, 1, r3, 3);
		n = stops ? 150 : 300;
		outf("readv remote %s second of three elements: %s bytes_ok=%d after_untouched=%d\n",
		     K, cma_res(ret),
		     cma_same(dst, 100, 0, 5) && cma_same(dst + 100, stops ? 50 : 100, 2 * P - 50, 5) &&
			     (stops || cma_same(dst + 200, 100, 3 * P, 5)),
		     untouched(n));
		/* readv: the first element is fine, the second is all on page 2 */
		reset();
		struct iovec r4[3] = {{r, 100}, {r + 2 * P, 100}, {r + 3 * P, 100}};
		ret = rv(0, &l3, 1, r4, 3);
		outf("readv remote %s skips no element: %s untouched_after_100=%d\n", K,
		     cma_res(ret), untouched(stops ? 100 : 300));
		/* readv: the whole region into two local elements */
		reset();
		struct iovec l5[2] = {{dst, 5000}, {dst + 2 * P, P}};
		struct iovec r5 = {r, 4 * P};
		ret = rv(0, l5, 2, &r5, 1);
		outf("readv remote %s whole region: %s bytes_ok=%d gap_untouched=%d\n", K,
		     cma_res(ret),
		     cma_same(dst, 5000, 0, 5) && cma_same(dst + 2 * P, stops ? 2 * P - 5000 : P, 5000, 5),
		     cma_all(dst + 5000, 2 * P - 5000, 0xee) &&
			     (!stops || cma_all(dst + 2 * P + 3192, P - 3192, 0xee)));

		/* writev: one element from page 1 into page 2 and beyond */
		struct iovec w1l = {src, 2 * P}, w1r = {r + P + 1000, 2 * P};
		ret = rv(1, &w1l, 1, &w1r, 1);
		unsigned char *b = peek(r + P + 1000 - 16, P - 1000 + 16);
		int ok = cma_same(b, 16, P + 1000 - 16, 5) && cma_same(b + 16, P - 1000, 0, 6);
		if (k == RDONLY)
			ok = ok && cma_same(peek(r + 2 * P, P), P, 2 * P, 5);
		outf("writev remote %s mid element: %s bytes_ok=%d page3_untouched=%d\n", K,
		     cma_res(ret), ok, cma_same(peek(r + 3 * P, P), P, 3 * P, 5));
		/* writev: an element that starts at page 2 */
		struct iovec w2r = {r + 2 * P + 8, 100};
		ret = rv(1, &w1l, 1, &w2r, 1);
		outf("writev remote %s element starts there: %s\n", K, cma_res(ret));
		/* writev: three elements, the second one crosses into page 2 */
		struct iovec w3l = {src, 300};
		struct iovec w3r[3] = {{r, 100}, {r + 2 * P - 50, 100}, {r + 3 * P, 100}};
		ret = rv(1, &w3l, 1, w3r, 3);
		ok = cma_same(peek(r, 100), 100, 0, 6) && cma_same(peek(r + 2 * P - 50, 50), 50, 100, 6);
		outf("writev remote %s second of three elements: %s bytes_ok=%d third_untouched=%d\n",
		     K, cma_res(ret), ok, cma_same(peek(r + 3 * P, 100), 100, 3 * P, 5));
	}

	/* local faults: the guest's own regions (seed 7), the remote's
	 * read-only region (readable everywhere) as the other side */
	unsigned char *ro = R[RDONLY];
	for (int k = 0; k < KINDS; k++) {
		unsigned char *L = region(k, 7);
		const char *K = kind[k];
		reset();
		struct iovec l1 = {L + 2 * P - 100, 1000}, r1 = {ro + 3 * P, 1000};
		ret = rv(0, &l1, 1, &r1, 1);
		outf("readv local %s mid buffer: %s bytes_ok=%d before_untouched=%d\n", K,
		     cma_res(ret), cma_same(L + 2 * P - 100, 100, 3 * P, 5),
		     cma_same(L + P, P - 100, P, 7));
		struct iovec l2[2] = {{L + 2 * P - 6, 100}, {dst, 100}};
		ret = rv(0, l2, 2, &r1, 1);
		outf("readv local %s first of two elements: %s bytes_ok=%d second_untouched=%d\n",
		     K, cma_res(ret), cma_same(L + 2 * P - 6, 6, 3 * P, 5), untouched(0));
		struct iovec l3 = {L + 2 * P, 10};
		ret = rv(0, &l3, 1, &r1, 1);
		outf("readv local %s element starts there: %s\n", K, cma_res(ret));
		if (k == RDONLY)
			outf("readv local read-only page unchanged: %d\n", cma_same(L + 2 * P, P, 2 * P, 7));

		/* writev from the local region into the remote's NONE region,
		 * page 3 (writable) */
		unsigned char *to = R[NONE] + 3 * P;
		cma_fill(L + P, P, P, 7); /* undo the readv above */
		struct iovec w1l = {L + 2 * P - 100, 1000}, w1r = {to, 1000};
		ret = rv(1, &w1l, 1, &w1r, 1);
		size_t n = k == RDONLY ? 1000 : 100;
		unsigned char *b = peek(to, 1000);
		outf("writev local %s mid buffer: %s bytes_ok=%d after_untouched=%d\n", K,
		     cma_res(ret), cma_same(b, n, 2 * P - 100, 7),
		     k == RDONLY || cma_same(b + n, 1000 - n, 3 * P + n, 5));
		struct iovec w2l = {L + 2 * P, 10};
		ret = rv(1, &w2l, 1, &w1r, 1);
		outf("writev local %s element starts there: %s\n", K, cma_res(ret));
	}
	CHECK(cma_reap(&c) == 0);
	return 0;
}

/* cma_args: argument checks of process_vm_readv/process_vm_writev (raw
 * syscalls 310/311) on the guest itself (pid = getpid()): flags, the two
 * iovec counts (liovcnt truncated to 32 bits, riovcnt not), NULL and
 * unreadable iovec arrays, negative lengths, and the order of the checks
 * (flags, then the whole local array, then the remote array; within an
 * array the first offending element in array order decides EINVAL vs
 * EFAULT, and all local elements are read before any range check).
 * One line a case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"

#define NEG ((size_t)-1)           /* -1 as ssize_t */
#define MINUS ((size_t)1 << (sizeof(size_t) * 8 - 1)) /* SSIZE_MIN */

static unsigned long self;
static unsigned char *src, *dst;
static struct iovec lgood, rgood; /* 16 bytes: dst <- src */
static struct iovec many_l[CMA_UIO_MAXIOV + 1], many_r[CMA_UIO_MAXIOV + 1];

static void rd(const char *name, const void *l, unsigned long lc, const void *r, unsigned long rc)
{
	cma_say(name, cma_rw(0, self, l, lc, r, rc, 0));
}

/* copied: a call that must copy n bytes of src into dst (reset first). */
static void copied(const char *name, const void *l, unsigned long lc, const void *r,
		   unsigned long rc, size_t n)
{
	memset(dst, 0xee, 4096);
	long ret = cma_rw(0, self, l, lc, r, rc, 0);
	outf("%s: %s bytes_ok=%d rest_untouched=%d\n", name, cma_res(ret),
	     cma_same(dst, n, 0, 1), cma_all(dst + n, 4096 - n, 0xee));
}

int main(void)
{
	self = (unsigned long)getpid();
	src = cma_map(4096, PROT_READ | PROT_WRITE);
	dst = cma_map(4096, PROT_READ | PROT_WRITE);
	cma_fill(src, 4096, 0, 1);
	lgood = (struct iovec){dst, 16};
	rgood = (struct iovec){src, 16};
	/* [NONE][RW][NONE]: arrays that start or end at an unreadable page. */
	unsigned char *g = cma_map(3 * CMA_PAGE, PROT_READ | PROT_WRITE);
	CHECK(mprotect(g, CMA_PAGE, PROT_NONE) == 0);
	CHECK(mprotect(g + 2 * CMA_PAGE, CMA_PAGE, PROT_NONE) == 0);
	struct iovec *tail = (struct iovec *)(g + 2 * CMA_PAGE) - 1; /* last of the RW page */
	struct iovec *head = (struct iovec *)(g + CMA_PAGE);         /* first of the RW page */
	struct iovec *unreadable = (struct iovec *)g;

	/* 1. flags: any bit set is EINVAL before anything else is looked at. */
	cma_say("flags=1", cma_rw(0, self, &lgood, 1, &rgood, 1, 1));
	cma_say("flags=1 writev", cma_rw(1, self, &lgood, 1, &rgood, 1, 1));
	cma_say("flags=1 bad arrays and counts and pid",
		cma_rw(0, (unsigned long)-1, NULL, 5000, NULL, 5000, 1));
#ifdef CMA_HI32
	cma_say("flags=1<<32", cma_rw(0, self, &lgood, 1, &rgood, 1, CMA_HI32));
#endif
	cma_say("flags=~0", cma_rw(0, self, &lgood, 1, &rgood, 1, ~0UL));
	copied("flags=0", &lgood, 1, &rgood, 1, 16);

	/* 2. liovcnt: 32 bits, at most UIO_MAXIOV. */
	rd("liovcnt=0 local NULL", NULL, 0, &rgood, 1);
	rd("liovcnt=1025", &lgood, 1025, &rgood, 1);
	rd("liovcnt=1025 local NULL", NULL, 1025, &rgood, 1);
	rd("liovcnt=0xffffffff", &lgood, 0xffffffffUL, &rgood, 1);
#ifdef CMA_HI32
	rd("liovcnt=2^32 (as 0)", &lgood, CMA_HI32, NULL, 1);
	copied("liovcnt=2^32+1 (as 1)", &lgood, CMA_HI32 + 1, &rgood, 1, 16);
	rd("liovcnt=2^32+1025 (as 1025)", &lgood, CMA_HI32 + 1025, &rgood, 1);
#endif
	for (int i = 0; i <= CMA_UIO_MAXIOV; i++)
		many_l[i] = (struct iovec){dst + i, 1};
	struct iovec r2k = {src, 2048};
	copied("liovcnt=1024 one byte each", many_l, CMA_UIO_MAXIOV, &r2k, 1, 1024);

	/* riovcnt: the full 64 bits, at most UIO_MAXIOV. */
	struct iovec l2k = {dst, 2048};
	for (int i = 0; i <= CMA_UIO_MAXIOV; i++)
		many_r[i] = (struct iovec){src + i, 1};
	rd("riovcnt=0", &lgood, 1, NULL, 0);
	copied("riovcnt=1024 one byte each", &l2k, 1, many_r, CMA_UIO_MAXIOV, 1024);
	rd("riovcnt=1025", &lgood, 1, many_r, 1025);
	rd("riovcnt=0xffffffff", &lgood, 1, &rgood, 0xffffffffUL);
#ifdef CMA_HI32
	rd("riovcnt=2^32", &lgood, 1, &rgood, CMA_HI32);
	rd("riovcnt=2^32+1", &lgood, 1, &rgood, CMA_HI32 + 1);
#endif
	rd("liovcnt=1025 riovcnt=1025", many_l, 1025, many_r, 1025);

	/* 3. NULL and unreadable arrays: EFAULT; local before remote. */
	rd("local NULL", NULL, 1, &rgood, 1);
	rd("local NULL riovcnt=1025", NULL, 1, many_r, 1025);
	rd("local NULL remote NULL", NULL, 2, NULL, 2);
	rd("local unreadable", unreadable, 1, &rgood, 1);
	tail[0] = lgood;
	rd("local [0] ok [1] unreadable", tail, 2, &rgood, 1);
	rd("remote NULL", &lgood, 1, NULL, 1);
	rd("remote unreadable", &lgood, 1, unreadable, 1);
	tail[0] = rgood;
	rd("remote [0] ok [1] unreadable", &lgood, 1, tail, 2);
	cma_say("writev remote NULL", cma_rw(1, self, &lgood, 1, NULL, 1, 0));

	/* 4. negative lengths (as ssize_t): EINVAL. */
	struct iovec lneg = {dst, NEG}, lmin = {dst, MINUS}, rneg = {src, NEG}, rmin = {src, MINUS};
	rd("local len=-1", &lneg, 1, &rgood, 1);
	rd("local len=SSIZE_MIN", &lmin, 1, &rgood, 1);
	rd("local len=-1 remote NULL", &lneg, 1, NULL, 1);
	rd("local len=-1 riovcnt=1025", &lneg, 1, many_r, 1025);
	rd("remote len=-1", &lgood, 1, &rneg, 1);
	rd("remote len=SSIZE_MIN", &lgood, 1, &rmin, 1);
	cma_say("remote len=-1 pid=-1", cma_rw(0, (unsigned long)-1, &lgood, 1, &rneg, 1, 0));
	rd("local NULL remote len=-1", NULL, 1, &rneg, 1);
	cma_say("writev local len=-1", cma_rw(1, self, &lneg, 1, &rgood, 1, 0));
	cma_say("writev remote len=-1", cma_rw(1, self, &lgood, 1, &rneg, 1, 0));

	/* 5. order within an array: the first offending element decides. */
	struct iovec l3[3] = {lgood, lneg, {NULL, 0}};
	rd("local [0] ok [1] len=-1", l3, 2, &rgood, 1);
	tail[0] = lneg; /* element 1 would be in the unreadable page */
	rd("local [0] len=-1 [1] unreadable", tail, 2, &rgood, 1);
	head[0] = lneg; /* element 0 is in the unreadable page */
	rd("local [0] unreadable [1] len=-1", head - 1, 2, &rgood, 1);
	tail[0] = rneg;
	rd("remote [0] len=-1 [1] unreadable", &lgood, 1, tail, 2);
	head[0] = rneg;
	rd("remote [0] unreadable [1] len=-1", &lgood, 1, head - 1, 2);
	struct iovec r3[3] = {rgood, {NULL, 0}, rneg};
	rd("remote [0] ok [1] empty [2] len=-1", &lgood, 1, r3, 3);
#ifdef CMA_TASK_SIZE
	/* All local elements are read (negative lengths checked) before any
	 * element's range is: a later negative length wins over an earlier
	 * element past TASK_SIZE. */
	struct iovec lr[2] = {{(void *)(CMA_TASK_SIZE - 8), 16}, lneg};
	rd("local [0] past TASK_SIZE [1] len=-1", lr, 2, &rgood, 1);
	lr[1] = (struct iovec){dst, 0};
	rd("local [0] past TASK_SIZE [1] ok", lr, 2, &rgood, 1);
	/* the local array is checked completely before the remote one */
	rd("local [0] past TASK_SIZE remote len=-1", lr, 2, &rneg, 1);
#endif
	/* local total 0: the remote array is never read */
	struct iovec lzero = {dst, 0};
	rd("local total 0 remote NULL", &lzero, 1, NULL, 1);
	rd("local total 0 remote len=-1", &lzero, 1, &rneg, 1);
	rd("local total 0 riovcnt=1025", &lzero, 1, many_r, 1025);
	/* a local total of 0 with a negative element is still EINVAL */
	struct iovec lzn[2] = {lzero, lneg};
	rd("local [0] len=0 [1] len=-1", lzn, 2, &rgood, 1);

	/* 6. remote elements: no range check and no cap on the remote side. */
	struct iovec rbig = {src, (size_t)-1 >> 1};
	copied("remote len=SSIZE_MAX local 16", &lgood, 1, &rbig, 1, 16);
	struct iovec rnull = {NULL, 16};
	rd("remote base NULL len 16", &lgood, 1, &rnull, 1);
#ifdef CMA_TASK_SIZE
	struct iovec rk = {(void *)0xffff888000000000UL, 16};
	rd("remote kernel address", &lgood, 1, &rk, 1);
	struct iovec rwrap = {(void *)0xfffffffffffff000UL, 0x2000};
	rd("remote base+len wraps", &lgood, 1, &rwrap, 1);
	struct iovec rhigh = {(void *)CMA_TASK_SIZE, 16};
	rd("remote base=TASK_SIZE", &lgood, 1, &rhigh, 1);
#endif
	struct iovec rempty[2] = {{NULL, 0}, {(void *)16, 0}};
	rd("remote only empty elements", &lgood, 1, rempty, 2);
	return 0;
}

/* cma_cap: the MAX_RW_COUNT cap (0x7ffff000) and the TASK_SIZE range check
 * of the local iovec (pid = the guest itself). A call moves at most
 * MAX_RW_COUNT bytes: 1024 local and 1024 remote elements that reuse one
 * 4 MiB buffer each (4 GiB on both sides, only 8 MiB of memory) copy
 * exactly 0x7ffff000 bytes, in both directions, and a local element after
 * the cap is untouched. A single local element is capped before its range
 * check, so {buf, TASK_SIZE - buf + 1} passes alone (also with liovcnt
 * 2^32+1, which is 1) but is EFAULT next to a second element. The range
 * check is base+len <= TASK_SIZE (0x7ffffffff000), zero-length elements
 * included; a huge local total is capped, never EINVAL. The remote side
 * has neither cap nor range check. One line a case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"

#define MiB (1024UL * 1024)
#define CHUNK (4 * MiB)
static unsigned long self;
static struct iovec liov[CMA_UIO_MAXIOV], riov[CMA_UIO_MAXIOV];
/* In .bss, at the same low address natively and in cmaemu: an mmap'd page
 * may lie above TASK_SIZE - MAX_RW_COUNT (0x7fff80000000). */
static unsigned char dst[CMA_PAGE] __attribute__((aligned(4096)));

/* big copies 1024 x 4 MiB from `from` to `to` (readv: to is local) plus a
 * last local page: returns the result and checks the bytes. */
static void big(int write)
{
	unsigned char *from = cma_map(CHUNK, PROT_READ | PROT_WRITE);
	unsigned char *to = cma_map(CHUNK + CMA_PAGE, PROT_READ | PROT_WRITE);
	unsigned char *after = to + CHUNK;
	cma_fill(from, CHUNK, 0, 6 + (unsigned)write);
	memset(to, 0xee, CHUNK + CMA_PAGE);
	struct iovec *lv = write ? riov : liov, *rv = write ? liov : riov;
	/* 512 x 4 MiB = 2 GiB > MAX_RW_COUNT on the destination, then one page */
	for (int i = 0; i < 512; i++)
		lv[i] = (struct iovec){to, CHUNK};
	lv[512] = (struct iovec){after, CMA_PAGE};
	for (int i = 0; i < CMA_UIO_MAXIOV; i++)
		rv[i] = (struct iovec){from, CHUNK};
	long ret = cma_rw(write, self, liov, write ? CMA_UIO_MAXIOV : 513, riov,
			  write ? 513 : CMA_UIO_MAXIOV, 0);
	outf("%s 4 GiB source into 2 GiB + 1 page: %s is_MAX_RW_COUNT=%d bytes_ok=%d "
	     "last_page_untouched=%d\n", write ? "writev" : "readv", cma_res(ret),
	     ret == (long)CMA_MAX_RW_COUNT, cma_same(to, CHUNK, 0, 6 + (unsigned)write),
	     cma_all(after, CMA_PAGE, 0xee));
	CHECK(munmap(from, CHUNK) == 0 && munmap(to, CHUNK + CMA_PAGE) == 0);
}

int main(void)
{
	self = (unsigned long)getpid();
	unsigned char *src = cma_map(CMA_PAGE, PROT_READ | PROT_WRITE);
	cma_fill(src, CMA_PAGE, 0, 1);
	struct iovec r100 = {src, 100};
	long ret;

	big(0);
	big(1);

	/* a single element longer than MAX_RW_COUNT: capped, copies what the
	 * remote has */
	struct iovec l1 = {dst, CMA_MAX_RW_COUNT + 1};
	ret = cma_rw(0, self, &l1, 1, &r100, 1, 0);
	outf("single element MAX_RW_COUNT+1: %s bytes_ok=%d\n", cma_res(ret), cma_same(dst, 100, 0, 1));
	l1.iov_len = (size_t)-1 >> 1;
	ret = cma_rw(0, self, &l1, 1, &r100, 1, 0);
	outf("single element SSIZE_MAX: %s\n", cma_res(ret));
	struct iovec l2[2] = {l1, {dst, 0}};
	ret = cma_rw(0, self, l2, 2, &r100, 1, 0);
	outf("two elements, first SSIZE_MAX: %s\n", cma_res(ret));
#ifdef CMA_TASK_SIZE
	/* capped before the range check: end = dst + TASK_SIZE - dst + 1 */
	size_t past = CMA_TASK_SIZE - (uintptr_t)dst + 1;
	CHECK(past > CMA_MAX_RW_COUNT);
	l1 = (struct iovec){dst, past};
	ret = cma_rw(0, self, &l1, 1, &r100, 1, 0);
	outf("single element ending at TASK_SIZE+1: %s\n", cma_res(ret));
	ret = cma_rw(0, self, &l1, CMA_HI32 + 1, &r100, 1, 0);
	outf("single element ending at TASK_SIZE+1 liovcnt=2^32+1: %s\n", cma_res(ret));
	l2[0] = l1;
	ret = cma_rw(0, self, l2, 2, &r100, 1, 0);
	outf("two elements, first ending at TASK_SIZE+1: %s\n", cma_res(ret));
	l2[0] = (struct iovec){dst, 100}, l2[1] = l1;
	ret = cma_rw(0, self, l2, 2, &r100, 1, 0);
	outf("two elements, second ending at TASK_SIZE+1: %s\n", cma_res(ret));

	/* the range check itself, probed with a remote total of 0 (0: passed) */
	static const struct {
		const char *name;
		unsigned long base, len;
	} rc[] = {
		{"end=TASK_SIZE", CMA_TASK_SIZE - 16, 16},
		{"end=TASK_SIZE+1", CMA_TASK_SIZE - 16, 17},
		{"base=TASK_SIZE len=0", CMA_TASK_SIZE, 0},
		{"base=TASK_SIZE+1 len=0", CMA_TASK_SIZE + 1, 0},
		{"base=2^47 len=0", 1UL << 47, 0},
		{"base=-4096 len=0", -4096UL, 0},
		{"base=NULL len=0", 0, 0},
		{"base=NULL len=TASK_SIZE", 0, CMA_TASK_SIZE},
		{"base=NULL len=TASK_SIZE+1", 0, CMA_TASK_SIZE + 1},
		{"base=4096 len=TASK_SIZE", 4096, CMA_TASK_SIZE},
		{"base=2^63 len=0", 1UL << 63, 0},
		{"base=-1 len=2 (wraps)", -1UL, 2},
	};
	struct iovec rz = {src, 0};
	for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++) {
		char name[96];
		struct iovec one = {(void *)rc[i].base, rc[i].len};
		struct iovec two[2] = {{dst, 0}, one};
		snprintf(name, sizeof name, "range %s alone", rc[i].name);
		cma_say(name, cma_rw(0, self, &one, 1, &rz, 1, 0));
		snprintf(name, sizeof name, "range %s as element 1", rc[i].name);
		cma_say(name, cma_rw(0, self, two, 2, &rz, 1, 0));
	}
	/* a total far beyond MAX_RW_COUNT (and 2^32) is capped, not EINVAL:
	 * 100 bytes, then 1023 elements of TASK_SIZE bytes at address 0 */
	liov[0] = (struct iovec){dst, 100};
	for (int i = 1; i < CMA_UIO_MAXIOV; i++)
		liov[i] = (struct iovec){NULL, CMA_TASK_SIZE};
	memset(dst, 0xee, 100);
	ret = cma_rw(0, self, liov, CMA_UIO_MAXIOV, &r100, 1, 0);
	outf("local total 1023*TASK_SIZE+100: %s bytes_ok=%d\n", cma_res(ret), cma_same(dst, 100, 0, 1));
	ret = cma_rw(1, self, liov, CMA_UIO_MAXIOV, &r100, 1, 0);
	outf("writev local total 1023*TASK_SIZE+100: %s\n", cma_res(ret));
#endif
	/* no cap and no range check on the remote side: the copy stops where
	 * the local room ends */
	struct iovec rbig[2] = {{src, (size_t)-1 >> 1}, {src, (size_t)-1 >> 1}};
	struct iovec l64 = {dst, 64};
	memset(dst, 0xee, 64);
	ret = cma_rw(0, self, &l64, 1, rbig, 2, 0);
	outf("remote 2 x SSIZE_MAX: %s bytes_ok=%d\n", cma_res(ret), cma_same(dst, 64, 0, 1));
	return 0;
}

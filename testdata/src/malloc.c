/* malloc: heap and anonymous-memory management. A deterministic mix of
 * malloc/realloc/free of 1 B .. 8 MiB (brk and mmap paths) with pattern
 * checks and a checksum; calloc zeroing; raw brk grow/shrink/regrow;
 * a 16 MiB anonymous mmap touched on every page; mremap growth that must
 * move and keep content; madvise(MADV_DONTNEED) zeroing. Exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096UL
#define SLOTS 64
static uint32_t rng = 20240601u, sum = 0;
static long bad = 0;

static uint32_t rnd(void) { return (rng = rng * 1103515245u + 12345u) >> 8; }

static size_t pick_size(void) /* log-uniform in [1, 8 MiB] */
{
	size_t base = (size_t)1 << (rnd() % 24), n = base + rnd() % base;
	return n > (8u << 20) ? (8u << 20) : n;
}

static unsigned char pat(size_t i, unsigned t) { return (unsigned char)(t + i * 131 + (i >> 9)); }

/* walk fills (or verifies, below limit) the bytes a block of size n uses:
 * all of a small block; the ends and one byte a page of a large one. */
static void walk(unsigned char *p, size_t n, size_t limit, unsigned t, int fill)
{
	size_t i, lo = n > 4096 ? 256 : n, hi = n > 4096 ? n - 256 : n;
#define VISIT                                                                   \
	do {                                                                    \
		if (fill)                                                       \
			p[i] = pat(i, t);                                       \
		else                                                            \
			bad += p[i] != pat(i, t), sum = sum * 31 + p[i];        \
	} while (0)
	for (i = 0; i < lo && i < limit; i++) VISIT;
	for (i = PAGE; i < hi && i < limit; i += PAGE) VISIT;
	for (i = hi; i < n && i < limit; i++) VISIT;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i]) return 0;
	return 1;
}

int main(void)
{
	/* Raw brk first, before stdio or malloc touch the heap. musl's brk()
	 * and sbrk(n != 0) always fail, so the syscall is used directly. */
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	int sbrk_same = (uintptr_t)sbrk(0) == cur;
	uintptr_t lo = (cur + PAGE - 1) & ~(PAGE - 1), hi = lo + (1u << 20);
	int grow = (uintptr_t)syscall(SYS_brk, hi) == hi, dirty = 1, shrink, regrow, fresh = 0;
	if (grow)
		for (uintptr_t a = lo; a < hi; a += PAGE) {
			dirty &= *(unsigned char *)a == 0;
			*(unsigned char *)a = 0x77;
		}
	shrink = (uintptr_t)syscall(SYS_brk, cur) == cur;
	regrow = (uintptr_t)syscall(SYS_brk, hi) == hi;
	if (regrow)
		fresh = all_zero((unsigned char *)lo, hi - lo);
	syscall(SYS_brk, cur);
	printf("brk sbrk(0) matches=%d\n", sbrk_same);
	printf("brk grow 1MiB=%d zeroed=%d shrink=%d regrow=%d regrown zeroed=%d\n",
	       grow, dirty, shrink, regrow, fresh);

	static unsigned char *ptr[SLOTS];
	static size_t len[SLOTS];
	static unsigned tag[SLOTS];
	int allocs = 0, reallocs = 0, frees = 0;
	for (int it = 0; it < 2000; it++) {
		unsigned s = rnd() % SLOTS, op = rnd() % 3;
		if (!ptr[s]) {
			len[s] = pick_size(), tag[s] = rnd() & 0xff;
			CHECK((ptr[s] = malloc(len[s])) != NULL);
			walk(ptr[s], len[s], len[s], tag[s], 1);
			allocs++;
		} else if (op == 0) {
			size_t n = pick_size();
			walk(ptr[s], len[s], len[s], tag[s], 0);
			CHECK((ptr[s] = realloc(ptr[s], n)) != NULL);
			walk(ptr[s], len[s], n, tag[s], 0); /* kept prefix */
			walk(ptr[s], n, n, tag[s], 1);
			len[s] = n, reallocs++;
		} else {
			walk(ptr[s], len[s], len[s], tag[s], 0);
			free(ptr[s]);
			ptr[s] = NULL, frees++;
		}
	}
	for (int s = 0; s < SLOTS; s++)
		if (ptr[s]) walk(ptr[s], len[s], len[s], tag[s], 0), free(ptr[s]), frees++;
	printf("heap allocs=%d reallocs=%d frees=%d patterns ok=%d checksum=%08x\n",
	       allocs, reallocs, frees, bad == 0, (unsigned)sum);

	static const size_t csizes[] = {1, 100, 4096, 100000, 1u << 20, 5u << 20};
	int zeroed = 1;
	for (unsigned i = 0; i < sizeof csizes / sizeof csizes[0]; i++) {
		unsigned char *p = malloc(csizes[i]);
		CHECK(p != NULL);
		memset(p, 0xa5, csizes[i]); /* dirty memory calloc may reuse */
		free(p);
		CHECK((p = calloc(csizes[i], 1)) != NULL);
		zeroed &= all_zero(p, csizes[i]);
		free(p);
	}
	errno = 0;
	volatile size_t halfmax = SIZE_MAX / 2; /* hidden from the compiler */
	void *huge = calloc(halfmax, 4);
	printf("calloc zeroed=%d overflow null=%d errno=%s\n", zeroed, huge == NULL, errname(errno));

	size_t big = 16u << 20;
	unsigned char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	int zero = 1, same = 1, pages = 0;
	for (size_t o = 0; o < big; o += PAGE, pages++)
		zero &= m[o + pages % PAGE] == 0, m[o + pages % PAGE] = (unsigned char)(pages | 1);
	pages = 0;
	for (size_t o = 0; o < big; o += PAGE, pages++)
		same &= m[o + pages % PAGE] == (unsigned char)(pages | 1);
	CHECK(munmap(m, big) == 0);
	int r = mprotect(m, PAGE, PROT_READ);
	printf("mmap 16MiB pages=%d zeroed=%d kept=%d\n", pages, zero, same);
	printf("mprotect after munmap=%d errno=%s\n", r, errname(errno));

	/* The second page becomes PROT_NONE, a separate mapping the first page
	 * cannot grow over: mremap must move it. */
	unsigned char *a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	CHECK(mprotect(a + PAGE, PAGE, PROT_NONE) == 0);
	for (size_t i = 0; i < PAGE; i++) a[i] = pat(i, 9);
	unsigned char *b = mremap(a, PAGE, 64 * PAGE, MREMAP_MAYMOVE);
	CHECK(b != MAP_FAILED);
	int kept = 1;
	for (size_t i = 0; i < PAGE; i++) kept &= b[i] == pat(i, 9);
	int newzero = all_zero(b + PAGE, 63 * PAGE);
	b[64 * PAGE - 1] = 1;
	errno = 0;
	int oldgone = mprotect(a, PAGE, PROT_READ) == -1 && errno == ENOMEM;
	unsigned char *c = mremap(b, 64 * PAGE, 16 * PAGE, 0);
	printf("mremap moved=%d kept=%d new zeroed=%d old unmapped=%d shrink in place=%d\n",
	       b != a, kept, newzero, oldgone, c == b);
	CHECK(munmap(c, 16 * PAGE) == 0 && munmap(a + PAGE, PAGE) == 0);

	unsigned char *d = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(d != MAP_FAILED);
	d[0] = 0xaa, d[100] = 0xbb, d[PAGE] = 0xcc;
	CHECK(madvise(d, PAGE, MADV_DONTNEED) == 0);
	printf("madvise DONTNEED zeroed=%d other page kept=%d\n",
	       d[0] == 0 && d[100] == 0, d[PAGE] == 0xcc);
	CHECK(munmap(d, 2 * PAGE) == 0);
	return 0;
}

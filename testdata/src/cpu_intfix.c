// variants: glibc musl
// Integer instructions the engine computes wrongly unless cmaemu does
// them itself (emu/unicorn/intfix.c): each case prints its results and
// the arithmetic flags (RFLAGS & 0x8d5; only flags the SDM defines for
// the instruction are kept).

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARITH 0x8d5ul

static void show(const char *name, uint64_t v, uint64_t flags, uint64_t defined)
{
	printf("%-28s %016llx flags %03llx\n", name, (unsigned long long)v, (unsigned long long)(flags & defined));
}

// Flags defined by BMI instructions (SDM): BZHI/BLSI ZF SF CF OF;
// BEXTR ZF CF OF.
#define F_BZHI 0x8c1ul
#define F_BEXTR 0x841ul

static void pdep32(uint64_t src, uint64_t mask)
{
	uint64_t r = 0x1234567812345678;
	__asm__ volatile("pdep %k1, %k2, %k0" : "+r"(r) : "r"(mask), "r"(src));
	show("pdep32", r, 0, 0);
}

static void bzhi(uint64_t src, uint64_t idx, int wide)
{
	uint64_t r = 0x5555555555555555, f;
	if (wide)
		__asm__ volatile("bzhi %2, %3, %0; pushf; pop %1" : "+r"(r), "=r"(f) : "r"(idx), "r"(src) : "cc");
	else
		__asm__ volatile("bzhi %k2, %k3, %k0; pushf; pop %1" : "+r"(r), "=r"(f) : "r"(idx), "r"(src) : "cc");
	char name[32];
	snprintf(name, sizeof name, "bzhi%d idx %llu", wide ? 64 : 32, (unsigned long long)idx);
	show(name, r, f, F_BZHI);
}

static void bextr(uint64_t src, unsigned start, unsigned len, int wide)
{
	uint64_t r = 0x5555555555555555, f, ctl = start | len << 8;
	if (wide)
		__asm__ volatile("bextr %2, %3, %0; pushf; pop %1" : "+r"(r), "=r"(f) : "r"(ctl), "r"(src) : "cc");
	else
		__asm__ volatile("bextr %k2, %k3, %k0; pushf; pop %1" : "+r"(r), "=r"(f) : "r"(ctl), "r"(src) : "cc");
	char name[32];
	snprintf(name, sizeof name, "bextr%d %u,%u", wide ? 64 : 32, start, len);
	show(name, r, f, F_BEXTR);
}

static void blsi(uint64_t src)
{
	uint64_t r, f;
	__asm__ volatile("blsi %2, %0; pushf; pop %1" : "=r"(r), "=r"(f) : "r"(src) : "cc");
	show("blsi", r, f, F_BZHI);
	__asm__ volatile("blsi %k2, %k0; pushf; pop %1" : "=r"(r), "=r"(f) : "r"(src) : "cc");
	show("blsi32", r, f, F_BZHI);
}

static void cmpxchg32(uint64_t acc, uint64_t dst, uint64_t src)
{
	uint64_t f;
	__asm__ volatile("cmpxchg %k3, %k1; pushf; pop %2" : "+a"(acc), "+r"(dst), "=r"(f) : "r"(src) : "cc");
	show("cmpxchg32 rax", acc, f, ARITH);
	show("cmpxchg32 dst", dst, 0, 0);
}

static void lock_neg(uint32_t v)
{
	uint32_t m = v;
	uint64_t f;
	__asm__ volatile("lock negl %0; pushf; pop %1" : "+m"(m), "=r"(f) : : "cc");
	show("lock neg32", m, f, ARITH);
	uint8_t b = (uint8_t)v;
	__asm__ volatile("lock negb %0; pushf; pop %1" : "+m"(b), "=r"(f) : : "cc");
	show("lock neg8", b, f, ARITH);
}

// cmpxchg8b/16b define ZF only: the others must stay as they were.
static void cmpxchg8b16b(int equal)
{
	static uint64_t m16[2] __attribute__((aligned(16)));
	m16[0] = 5, m16[1] = 6;
	uint64_t lo = equal ? 5 : 7, hi = equal ? 6 : 8, f;
	uint64_t in = 0x8d5 | 2; // all arithmetic flags set
	__asm__ volatile("push %4; popf; lock cmpxchg16b (%5); pushf; pop %2"
			 : "+a"(lo), "+d"(hi), "=r"(f)
			 : "b"(1ul), "r"(in), "r"(m16), "c"(2ul)
			 : "cc", "memory");
	show(equal ? "cmpxchg16b equal" : "cmpxchg16b differ", lo ^ hi, f, ARITH);
	uint64_t m8 = 0x0000000600000005, a = equal ? 5 : 7, d = equal ? 6 : 8;
	in = 2; // all clear
	__asm__ volatile("push %5; popf; cmpxchg8b %2; pushf; pop %3"
			 : "+a"(a), "+d"(d), "+m"(m8), "=r"(f)
			 : "b"(1ul), "r"(in), "c"(2ul)
			 : "cc");
	show(equal ? "cmpxchg8b equal" : "cmpxchg8b differ", m8 ^ a ^ d, f, ARITH);
}

#define PH(op)                                                                                                         \
	static void op##_same(const uint8_t *in)                                                                       \
	{                                                                                                              \
		uint8_t out[16];                                                                                       \
		__asm__ volatile("movdqu %1, %%xmm1; " #op " %%xmm1, %%xmm1; movdqu %%xmm1, %0"                        \
				 : "=m"(out)                                                                           \
				 : "m"(*(const uint8_t(*)[16])in)                                                      \
				 : "xmm1");                                                                            \
		uint64_t lo, hi;                                                                                       \
		memcpy(&lo, out, 8), memcpy(&hi, out + 8, 8);                                                          \
		show(#op " lo", lo, 0, 0);                                                                             \
		show(#op " hi", hi, 0, 0);                                                                             \
	}
PH(phaddw)
PH(phaddd)
PH(phaddsw)
PH(phsubw)
PH(phsubd)
PH(phsubsw)

static void pcmp(const char *hay, const char *needle, int imm_mode)
{
	uint8_t h[16] = {0}, n[16] = {0};
	memcpy(h, hay, strlen(hay) < 16 ? strlen(hay) : 16);
	memcpy(n, needle, strlen(needle) < 16 ? strlen(needle) : 16);
	uint64_t idx, f;
	// Equal ordered, bytes: the substring n in h.
	if (imm_mode == 0)
		__asm__ volatile("movdqu %2, %%xmm1; movdqu %3, %%xmm2; pcmpistri $0x0c, %%xmm2, %%xmm1; pushf; pop %1; mov %%rcx, %0"
				 : "=r"(idx), "=r"(f)
				 : "m"(n), "m"(h)
				 : "rcx", "xmm1", "xmm2", "cc");
	else
		__asm__ volatile("movdqu %2, %%xmm1; movdqu %3, %%xmm2; mov %4, %%rax; mov %5, %%rdx;"
				 "pcmpestri $0x4c, %%xmm2, %%xmm1; pushf; pop %1; mov %%rcx, %0"
				 : "=r"(idx), "=r"(f)
				 : "m"(n), "m"(h), "r"((uint64_t)strlen(needle)), "r"((uint64_t)strlen(hay))
				 : "rax", "rcx", "rdx", "xmm1", "xmm2", "cc");
	char name[40];
	snprintf(name, sizeof name, "pcmp%s %s/%s", imm_mode ? "estri" : "istri", needle, hay);
	show(name, idx, f, ARITH);
	uint8_t mask[16];
	__asm__ volatile("movdqu %1, %%xmm1; movdqu %2, %%xmm2; pcmpistrm $0x4c, %%xmm2, %%xmm1; movdqu %%xmm0, %0"
			 : "=m"(mask)
			 : "m"(n), "m"(h)
			 : "xmm0", "xmm1", "xmm2", "cc");
	uint64_t lo;
	memcpy(&lo, mask, 8);
	show("  pcmpistrm mask", lo, 0, 0);
}

// pcmpestri with 64-bit lengths (REX.W): 2^32 is a length of 16, not 0.
static void pcmp64(uint64_t la, uint64_t ld)
{
	uint8_t a[16], b[16];
	memset(a, 'x', 16), memset(b, 'x', 16);
	uint64_t idx, f;
	__asm__ volatile("movdqu %2, %%xmm1; movdqu %3, %%xmm2; mov %4, %%rax; mov %5, %%rdx;"
			 "pcmpestriq $0x18, %%xmm2, %%xmm1; pushf; pop %1; mov %%rcx, %0"
			 : "=r"(idx), "=r"(f)
			 : "m"(a), "m"(b), "r"(la), "r"(ld)
			 : "rax", "rcx", "rdx", "xmm1", "xmm2", "cc");
	char name[48];
	snprintf(name, sizeof name, "pcmpestriq %llx,%llx", (unsigned long long)la, (unsigned long long)ld);
	show(name, idx, f, ARITH);
}

int main(void)
{
	pdep32(0xffffffff00000003, 0xffffffff00000001);
	pdep32(0x00000000ffffffff, 0xf0f0f0f0f0f0f0f0);
	static const uint64_t idxs[] = {0, 1, 31, 32, 33, 63, 64, 200, 0x1000000ff};
	for (size_t i = 0; i < sizeof idxs / sizeof idxs[0]; i++) {
		bzhi(0xfedcba9876543210, idxs[i], 0);
		bzhi(0xfedcba9876543210, idxs[i], 1);
	}
	bextr(0xfedcba9876543210, 28, 8, 0);
	bextr(0xfedcba9876543210, 0, 64, 0);
	bextr(0xfedcba9876543210, 0, 64, 1);
	bextr(0xfedcba9876543210, 1, 255, 1);
	bextr(0xfedcba9876543210, 60, 10, 1);
	bextr(0xfedcba9876543210, 70, 10, 1);
	blsi(0);
	blsi(0x100000000);
	blsi(0xfffffffffffffff8);
	cmpxchg32(0xaaaaaaaa00000001, 0xbbbbbbbb00000002, 0xcccccccc00000003);
	cmpxchg32(0xaaaaaaaa00000002, 0xbbbbbbbb00000002, 0xcccccccc00000003);
	lock_neg(0);
	lock_neg(1);
	lock_neg(0x80000000);
	lock_neg(0x7f);
	cmpxchg8b16b(1);
	cmpxchg8b16b(0);
	uint8_t in[16];
	for (int i = 0; i < 16; i++)
		in[i] = (uint8_t)(i * 37 + 0x70);
	phaddw_same(in), phaddd_same(in), phaddsw_same(in);
	phsubw_same(in), phsubd_same(in), phsubsw_same(in);
	pcmp("hello world", "world", 0);
	pcmp("hello world", "o w", 1);
	pcmp("abcab", "cabx", 0);
	pcmp("aaaaaaaaaaaaaaaa", "aaa", 1);
	pcmp("xyz", "", 0);
	pcmp64(1ul << 32, 1ul << 32);
	pcmp64(0x8000000000000000, 3);
	pcmp64(5, 0xfffffffffffffffe);
	return 0;
}

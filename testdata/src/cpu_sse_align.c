/* cpu_sse_align: legacy SSE instructions with a 16-byte memory operand
 * fault with #GP (SIGSEGV, si_code SI_KERNEL, si_addr 0) when the operand
 * is not 16-byte aligned; the unaligned forms and the ones with smaller
 * operands do not.
 * Cases, each at offsets 0 (aligned), 8, 4 and 1 of a 16-byte-aligned
 * buffer, with the result printed when it runs:
 *   aligned-only  movaps/movapd/movdqa loads and stores, movntps,
 *                 movntdq, addps, mulpd, andps, paddd, pshufd, pcmpeqb,
 *                 cmpps, shufps, unpcklps, cvtdq2ps, cvtps2dq, pshufb,
 *                 pmulld, ptest, roundps, movntdqa, movshdup, pshufhw.
 *   unaligned ok  movups, movupd, movdqu (load and store), lddqu, addss,
 *                 addsd, movsd, movq, cvtps2pd, pmovzxbw, pcmpestri,
 *                 pcmpistri, movlps, ucomiss.
 *   repeat        the same movaps faults on every run, also after the
 *                 code ran aligned (translated once).
 */
#ifdef __i386__
#pragma GCC target("sse4.2") /* the asm below names XMM registers */
#endif
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;
static volatile int sig_code;
static volatile uintptr_t sig_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	sig_code = si->si_code;
	sig_addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

static unsigned char buf[64] __attribute__((aligned(16)));
static unsigned char out[64] __attribute__((aligned(16)));

static void fill(void)
{
	for (int i = 0; i < 64; i++)
		buf[i] = (unsigned char)(i * 7 + 1);
	memset(out, 0, sizeof out);
}

/* Each case runs an instruction on the operand at p and leaves XMM0's
 * value in out (or its own result). */
#define LOADOP(name, insn)                                                                                             \
	static void name(const unsigned char *p)                                                                       \
	{                                                                                                              \
		__asm__ volatile("movdqu %1, %%xmm0\n\t" insn " %0, %%xmm0\n\tmovdqu %%xmm0, %1"                       \
				 :                                                                                     \
				 : "m"(*(const unsigned char(*)[16])p), "m"(*(unsigned char(*)[16])out)               \
				 : "xmm0", "memory");                                                                  \
	}
#define LOADOPI(name, insn)                                                                                            \
	static void name(const unsigned char *p)                                                                       \
	{                                                                                                              \
		__asm__ volatile("movdqu %1, %%xmm0\n\t" insn " $1, %0, %%xmm0\n\tmovdqu %%xmm0, %1"                   \
				 :                                                                                     \
				 : "m"(*(const unsigned char(*)[16])p), "m"(*(unsigned char(*)[16])out)               \
				 : "xmm0", "memory");                                                                  \
	}
#define STOREOP(name, insn)                                                                                            \
	static void name(const unsigned char *p)                                                                       \
	{                                                                                                              \
		__asm__ volatile("movdqu %1, %%xmm0\n\t" insn " %%xmm0, %0"                                            \
				 : "=m"(*(unsigned char(*)[16])p)                                                      \
				 : "m"(*(const unsigned char(*)[16])buf)                                              \
				 : "xmm0", "memory");                                                                  \
		memcpy(out, p, 16);                                                                                    \
	}

LOADOP(op_movaps, "movaps")
LOADOP(op_movapd, "movapd")
LOADOP(op_movdqa, "movdqa")
STOREOP(st_movaps, "movaps")
STOREOP(st_movdqa, "movdqa")
STOREOP(st_movntps, "movntps")
STOREOP(st_movntdq, "movntdq")
LOADOP(op_addps, "addps")
LOADOP(op_mulpd, "mulpd")
LOADOP(op_andps, "andps")
LOADOP(op_paddd, "paddd")
LOADOPI(op_pshufd, "pshufd")
LOADOP(op_pcmpeqb, "pcmpeqb")
LOADOPI(op_cmpps, "cmpps")
LOADOPI(op_shufps, "shufps")
LOADOP(op_unpcklps, "unpcklps")
LOADOP(op_cvtdq2ps, "cvtdq2ps")
LOADOP(op_cvtps2dq, "cvtps2dq")
LOADOP(op_pshufb, "pshufb")
LOADOP(op_pmulld, "pmulld")
LOADOP(op_ptest, "ptest")
LOADOPI(op_roundps, "roundps")
LOADOP(op_movntdqa, "movntdqa")
LOADOP(op_movshdup, "movshdup")
LOADOPI(op_pshufhw, "pshufhw")

LOADOP(op_movups, "movups")
LOADOP(op_movupd, "movupd")
LOADOP(op_movdqu, "movdqu")
STOREOP(st_movups, "movups")
STOREOP(st_movdqu, "movdqu")
LOADOP(op_lddqu, "lddqu")
LOADOP(op_addss, "addss")
LOADOP(op_addsd, "addsd")
LOADOP(op_movsd, "movsd")
LOADOP(op_movq, "movq")
LOADOP(op_cvtps2pd, "cvtps2pd")
LOADOP(op_pmovzxbw, "pmovzxbw")
LOADOP(op_movlps, "movlps")
LOADOP(op_ucomiss, "ucomiss")

static void op_pcmpestri(const unsigned char *p)
{
	int idx;
	__asm__ volatile("movdqu %2, %%xmm0\n\tmovl $16, %%eax\n\tmovl $16, %%edx\n\tpcmpestri $0, %1, %%xmm0\n\tmovl %%ecx, %0"
			 : "=r"(idx)
			 : "m"(*(const unsigned char(*)[16])p), "m"(*(const unsigned char(*)[16])buf)
			 : "xmm0", "eax", "ecx", "edx", "cc");
	memcpy(out, &idx, sizeof idx);
}

static void op_pcmpistri(const unsigned char *p)
{
	int idx;
	__asm__ volatile("movdqu %2, %%xmm0\n\tpcmpistri $0, %1, %%xmm0\n\tmovl %%ecx, %0"
			 : "=r"(idx)
			 : "m"(*(const unsigned char(*)[16])p), "m"(*(const unsigned char(*)[16])buf)
			 : "xmm0", "ecx", "cc");
	memcpy(out, &idx, sizeof idx);
}

static const struct {
	const char *name;
	void (*fn)(const unsigned char *);
} cases[] = {
#define C(f) {#f, f}
	C(op_movaps),   C(op_movapd),   C(op_movdqa),    C(st_movaps),   C(st_movdqa),    C(st_movntps),
	C(st_movntdq),  C(op_addps),    C(op_mulpd),     C(op_andps),    C(op_paddd),     C(op_pshufd),
	C(op_pcmpeqb),  C(op_cmpps),    C(op_shufps),    C(op_unpcklps), C(op_cvtdq2ps),  C(op_cvtps2dq),
	C(op_pshufb),   C(op_pmulld),   C(op_ptest),     C(op_roundps),  C(op_movntdqa),  C(op_movshdup),
	C(op_pshufhw),  C(op_movups),   C(op_movupd),    C(op_movdqu),   C(st_movups),    C(st_movdqu),
	C(op_lddqu),    C(op_addss),    C(op_addsd),     C(op_movsd),    C(op_movq),      C(op_cvtps2pd),
	C(op_pmovzxbw), C(op_movlps),   C(op_ucomiss),   C(op_pcmpestri), C(op_pcmpistri),
#undef C
};

static void run(const char *name, void (*fn)(const unsigned char *), int off)
{
	fill();
	if (sigsetjmp(env, 1)) {
		printf("%s +%d: SIGSEGV code=%d addr=%#lx\n", name, off, sig_code, (unsigned long)sig_addr);
		return;
	}
	fn(buf + 16 + off);
	printf("%s +%d: ran:", name, off);
	for (int i = 0; i < 16; i++)
		printf(" %02x", out[i]);
	printf("\n");
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	static const int offs[] = {0, 8, 4, 1};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (size_t o = 0; o < sizeof offs / sizeof offs[0]; o++)
			run(cases[c].name, cases[c].fn, offs[o]);
	for (int k = 0; k < 3; k++) {
		run("op_movaps again", op_movaps, 0);
		run("op_movaps again", op_movaps, 8);
	}
	return 0;
}

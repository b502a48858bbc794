// Legacy SSE instructions with a 16-byte memory operand fault (#GP) when
// the operand is not 16-byte aligned; Unicorn never checks. The check is
// made part of the translated code, so it costs nothing at run time
// beyond the alignment bit QEMU's inline TLB compare already tests:
//
//   - While the translator reads an instruction (wrap.c's instruction
//     check follows it), cmuc_sse_note decides from its bytes whether it
//     is one of them: legacy encoding, a memory operand, and not one the
//     SDM exempts (MOVUPS, MOVUPD, MOVDQU, LDDQU, the PCMPxSTRx string
//     instructions, and those whose operand is 64 bits or less).
//   - Unicorn loads and stores a 16-byte operand as two 64-bit accesses
//     (gen_ldo_env_A0, gen_sto_env_A0). The first 64-bit access the
//     translator emits for such an instruction is given MO_ALIGN_16, so
//     the inline TLB compare sends a misaligned address to the slow path.
//   - The slow path's helpers (helper_le_ldq_mmu, helper_le_stq_mmu) see
//     the alignment in their memop and raise #GP(0) at the instruction;
//     QEMU's own alignment handling is never reached (this x86 target has
//     no do_unaligned_access and would crash).
//
// It relies on Unicorn 2.1.1 (QEMU 5): tcg_gen_qemu_ld_i64 and
// tcg_gen_qemu_st_i64 taking the TCG context first and the memop last,
// MemOp's alignment field at bits 4-6, and TCGMemOpIdx = memop << 4 |
// mmu_idx. emu's tests fail if misaligned operands stop faulting.

#include <pthread.h>
#include <stdint.h>

#include "shim.h"

#define EXCP0D_GPF 13

// QEMU 5's MemOp.
#define MO_SIZE 0x07
#define MO_64 0x03
#define MO_ASHIFT 4
#define MO_AMASK (7 << MO_ASHIFT)
#define MO_ALIGN_16 (4 << MO_ASHIFT)

void raise_exception_err_ra_x86_64(void *env, int exception_index, int error_code, uintptr_t retaddr)
	__attribute__((noreturn));

// The instruction being translated on this thread needs its first 64-bit
// access aligned to 16 (set by cmuc_sse_note, cleared by that access).
static __thread int pending;

// Opcode sets, one bit per opcode byte.
struct opset {
	uint64_t w[4];
};

static int has(const struct opset *s, uint8_t op)
{
	return (int)((s->w[op >> 6] >> (op & 63)) & 1);
}

// Built at first use from the ranges below.
static struct opset two_none, two_66, two_f3, two_f2, map38_66, map38_none, map3a_66, map3a_none;

static void add(struct opset *s, int from, int to)
{
	for (int op = from; op <= to; op++)
		s->w[op >> 6] |= 1ULL << (op & 63);
}

static void init_sets(void)
{
	// 0F xx, no prefix: SSE packed single.
	add(&two_none, 0x14, 0x15); // unpcklps unpckhps
	add(&two_none, 0x28, 0x29); // movaps
	add(&two_none, 0x2b, 0x2b); // movntps
	add(&two_none, 0x51, 0x59); // sqrtps rsqrtps rcpps andps andnps orps xorps addps mulps
	add(&two_none, 0x5b, 0x5f); // cvtdq2ps subps minps divps maxps (5A cvtps2pd is m64)
	add(&two_none, 0xc2, 0xc2); // cmpps
	add(&two_none, 0xc6, 0xc6); // shufps
	// 66 0F xx: SSE2 packed double and integer.
	add(&two_66, 0x14, 0x15);
	add(&two_66, 0x28, 0x29);
	add(&two_66, 0x2b, 0x2d); // movntpd cvttpd2pi cvtpd2pi
	add(&two_66, 0x51, 0x51);
	add(&two_66, 0x54, 0x5f);
	add(&two_66, 0x60, 0x6d); // punpck* pack* pcmpgt* punpck{l,h}qdq
	add(&two_66, 0x6f, 0x70); // movdqa pshufd
	add(&two_66, 0x74, 0x76); // pcmpeq*
	add(&two_66, 0x7c, 0x7d); // haddpd hsubpd
	add(&two_66, 0x7f, 0x7f); // movdqa (store)
	add(&two_66, 0xc2, 0xc2);
	add(&two_66, 0xc6, 0xc6);
	add(&two_66, 0xd0, 0xd5); // addsubpd psrlw psrld psrlq paddq pmullw
	add(&two_66, 0xd8, 0xe7); // ... cvttpd2dq movntdq
	add(&two_66, 0xe8, 0xef);
	add(&two_66, 0xf1, 0xf6);
	add(&two_66, 0xf8, 0xfe);
	// F3 0F xx.
	add(&two_f3, 0x12, 0x12); // movsldup
	add(&two_f3, 0x16, 0x16); // movshdup
	add(&two_f3, 0x5b, 0x5b); // cvttps2dq
	add(&two_f3, 0x70, 0x70); // pshufhw
	// F2 0F xx.
	add(&two_f2, 0x70, 0x70); // pshuflw
	add(&two_f2, 0x7c, 0x7d); // haddps hsubps
	add(&two_f2, 0xd0, 0xd0); // addsubps
	add(&two_f2, 0xe6, 0xe6); // cvtpd2dq
	// 66 0F 38 xx: SSSE3, SSE4.1, SSE4.2, AES.
	add(&map38_66, 0x00, 0x0b);
	add(&map38_66, 0x10, 0x10);
	add(&map38_66, 0x14, 0x15);
	add(&map38_66, 0x17, 0x17);
	add(&map38_66, 0x1c, 0x1e);
	add(&map38_66, 0x28, 0x2b); // pmuldq pcmpeqq movntdqa packusdw
	add(&map38_66, 0x37, 0x41);
	add(&map38_66, 0xdb, 0xdf);
	// 0F 38 xx without prefix: SHA (the rest are MMX forms).
	add(&map38_none, 0xc8, 0xcd);
	// 66 0F 3A xx (the PCMPxSTRx at 60-63 are exempt).
	add(&map3a_66, 0x08, 0x09);
	add(&map3a_66, 0x0c, 0x0f);
	add(&map3a_66, 0x40, 0x42);
	add(&map3a_66, 0x44, 0x44);
	add(&map3a_66, 0xdf, 0xdf);
	add(&map3a_none, 0xcc, 0xcc); // sha1rnds4
}

static pthread_once_t sets_once = PTHREAD_ONCE_INIT;

// needs_align says whether the instruction at p (n bytes available) is a
// legacy SSE instruction whose memory operand must be 16-byte aligned.
static int needs_align(const uint8_t *p, int n, int is64)
{
	const uint8_t *end = p + n;
	int p66 = 0, rep = 0; // rep: the last F2 or F3
	for (;; p++) {
		if (p >= end)
			return 0;
		switch (*p) {
		case 0x66:
			p66 = 1;
			continue;
		case 0xf2: case 0xf3:
			rep = *p;
			continue;
		case 0x67: case 0xf0: case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
			continue;
		}
		break;
	}
	if (is64 && (*p & 0xf0) == 0x40 && ++p >= end)
		return 0;
	if (p + 2 >= end || p[0] != 0x0f)
		return 0;
	const struct opset *set;
	uint8_t op = p[1];
	const uint8_t *modrm = p + 2;
	if (op == 0x38 || op == 0x3a) {
		if (p + 3 >= end || rep)
			return 0;
		if (op == 0x38)
			set = p66 ? &map38_66 : &map38_none;
		else
			set = p66 ? &map3a_66 : &map3a_none;
		op = p[2];
		modrm = p + 3;
	} else {
		set = rep == 0xf3 ? &two_f3 : rep == 0xf2 ? &two_f2 : p66 ? &two_66 : &two_none;
	}
	return (*modrm >> 6) != 3 && has(set, op);
}

void cmuc_sse_note(const uint8_t *code, int n, int is64)
{
	pthread_once(&sets_once, init_sets);
	pending = needs_align(code, n, is64);
}

void cmuc_sse_forget(void)
{
	pending = 0;
}

int cmuc_sse_needs_align(const uint8_t *code, int n, int is64)
{
	pthread_once(&sets_once, init_sets);
	return needs_align(code, n, is64);
}

// aligned gives the first 64-bit access of a noted instruction
// MO_ALIGN_16.
static unsigned aligned(unsigned memop)
{
	if (pending && (memop & MO_SIZE) == MO_64 && !(memop & MO_AMASK)) {
		pending = 0;
		memop |= MO_ALIGN_16;
	}
	return memop;
}

void __real_tcg_gen_qemu_ld_i64_x86_64(void *s, void *val, void *addr, long idx, unsigned memop);
void __real_tcg_gen_qemu_st_i64_x86_64(void *s, void *val, void *addr, long idx, unsigned memop);

void __wrap_tcg_gen_qemu_ld_i64_x86_64(void *s, void *val, void *addr, long idx, unsigned memop)
{
	__real_tcg_gen_qemu_ld_i64_x86_64(s, val, addr, idx, aligned(memop));
}

void __wrap_tcg_gen_qemu_st_i64_x86_64(void *s, void *val, void *addr, long idx, unsigned memop)
{
	__real_tcg_gen_qemu_st_i64_x86_64(s, val, addr, idx, aligned(memop));
}

// The slow paths: #GP for a misaligned operand that must be aligned to
// 16, else QEMU's helper. oi is memop << 4 | mmu_idx; retaddr points into
// the translated code.
uint64_t __real_helper_le_ldq_mmu_x86_64(void *env, uint64_t addr, uint32_t oi, uintptr_t retaddr);
void __real_helper_le_stq_mmu_x86_64(void *env, uint64_t addr, uint64_t val, uint32_t oi, uintptr_t retaddr);

static int misaligned(uint64_t addr, uint32_t oi)
{
	return ((oi >> 4) & MO_AMASK) == MO_ALIGN_16 && (addr & 15);
}

uint64_t __wrap_helper_le_ldq_mmu_x86_64(void *env, uint64_t addr, uint32_t oi, uintptr_t retaddr)
{
	if (misaligned(addr, oi))
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, retaddr);
	return __real_helper_le_ldq_mmu_x86_64(env, addr, oi, retaddr);
}

void __wrap_helper_le_stq_mmu_x86_64(void *env, uint64_t addr, uint64_t val, uint32_t oi, uintptr_t retaddr)
{
	if (misaligned(addr, oi))
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, retaddr);
	__real_helper_le_stq_mmu_x86_64(env, addr, val, oi, retaddr);
}

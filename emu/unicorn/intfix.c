// Integer instructions Unicorn 2.1.1 (QEMU 5 TCG) computes wrongly, done
// exactly here, at no cost to the blocks that do not contain them.
//
// Where the bug is in a helper, a replacement is linked over it with
// ld --wrap (see the LDFLAGS in unicorn.go):
//   - PHADDW/D, PHADDSW, PHSUBW/D, PHSUBSW (XMM and MMX) write the
//     destination before they have read all of the source: with
//     destination = source the source is copied first;
//   - PCMPxSTRx in equal-ordered mode (imm8[3:2] = 11): the helper's loop
//     bounds are wrong; the whole instruction is computed here.
//
// Where the bug is in the translation, the translator is shown a carrier
// instead of the instruction (wrap.c, at translation time): as many
// ignored DS prefixes as needed, then PAUSE (F3 90), the same length.
// PAUSE is translated as: flags state and EIP written back to the CPU
// state, a call to helper_pause with the instruction's length, end of
// the block. The replacement helper_pause below reads the original
// instruction at EIP, computes it from the CPU state, and leaves the
// block as PAUSE does (EIP advanced by the length). Carried:
//   - PDEP with 32-bit operands (the engine uses the 64-bit mask);
//   - BZHI (32-bit index >= 32; CF for index 63 of the 64-bit form);
//   - BEXTR (the 32-bit form reads bits 32-63; the 64-bit form loses bit
//     63 for some start/length pairs);
//   - BLSI (CF is the inverse of what the engine gives);
//   - CMPXCHG with a 32-bit register destination (the engine
//     zero-extends the destination when the compare fails);
//   - LOCK NEG (PF and SF come from the old value);
//   - CMPXCHG8B/16B (the engine computes the flags they keep from a
//     flags state it has not written back: they are done by the same
//     atomic helpers, after PAUSE wrote it back);
//   - STMXCSR (the engine stores MXCSR inline, without the exception
//     flags its SSE arithmetic keeps apart: x87_sync folds them in
//     first).
//
// They rely on QEMU 5's CPUX86State beginning with regs[16], eip,
// eflags, cc_dst, cc_src, cc_src2, cc_op; CC_OP_EFLAGS = 1; CPL 3 using
// MMU index 1. cmuc_intfix_init checks the layout once against the
// engine's own PCMPISTRM helper (XMM0 is at byte 792 in this build).

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "shim.h"

#define GETPC() ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

// QEMU 5 CPUX86State.
struct x86_env {
	uint64_t regs[16];
	uint64_t eip;
	uint64_t eflags;
	uint64_t cc_dst;
	uint64_t cc_src;
	uint64_t cc_src2;
	uint32_t cc_op;
};

enum { CC_OP_EFLAGS = 1, EXCP06_ILLOP = 6 };
#define ENV_MXCSR 0x310 // as in x87.c, checked by cmuc_check_fp_layout
enum { CF = 1, PF = 4, AF = 16, ZF = 64, SF = 128, OF = 2048 };
enum { R_AX = 0, R_CX = 1, R_DX = 2 };

void raise_exception_err_ra_x86_64(void *env, int exception_index, int error_code, uintptr_t retaddr)
	__attribute__((noreturn));
uint64_t cpu_ldq_data_ra_x86_64(void *env, uint64_t ptr, uintptr_t retaddr);
uint32_t cpu_ldl_data_ra_x86_64(void *env, uint64_t ptr, uintptr_t retaddr);
void cpu_stl_data_ra_x86_64(void *env, uint64_t ptr, uint32_t val, uintptr_t retaddr);
void __real_helper_pause_x86_64(void *env, int next_eip_addend) __attribute__((noreturn));
void __wrap_helper_cmpxchg8b_unlocked_x86_64(void *env, uint64_t a0);
void __wrap_helper_cmpxchg16b_unlocked_x86_64(void *env, uint64_t a0);
uint64_t cmuc_atomic_cmpxchg(void *env, uint64_t addr, int size, uint64_t cmp, uint64_t val, uintptr_t ra);

// --- Decoding --------------------------------------------------------------

// insn is one decoded instruction, as far as the carried ones need.
struct insn {
	int len;
	int is64;
	int opsize16, addr32, lock, seg_fsgs;
	int rex_w, rex_r, rex_x, rex_b;
	int vex, vex_map, vex_pp, vex_w, vvvv; // VEX (C4/C5)
	int map;                                // 1, 2 = 0F, 3 = 0F38, 4 = 0F3A
	uint8_t op;
	int mod, reg, rm; // ModRM, with REX/VEX extensions applied to reg and rm
	// Memory operand (mod != 3): base + index*scale + disp, RIP-relative.
	int base, index, scale, riprel;
	int64_t disp;
};

// decode fills in from the bytes at p (n available) and returns 0, or -1
// when it is not an instruction this file carries.
static int decode(const uint8_t *p, int n, int is64, struct insn *in)
{
	const uint8_t *s = p, *end = p + n;
	memset(in, 0, sizeof *in);
	in->is64 = is64;
	for (;; p++) {
		if (p >= end || p - s >= 15)
			return -1;
		switch (*p) {
		case 0x66: in->opsize16 = 1; continue;
		case 0x67: in->addr32 = 1; continue;
		case 0xf0: in->lock = 1; continue;
		case 0xf2: case 0xf3: return -1; // none of the carried ones has them
		case 0x26: case 0x2e: case 0x36: case 0x3e: continue;
		case 0x64: case 0x65: in->seg_fsgs = 1; continue;
		}
		break;
	}
	if (is64 && (*p & 0xf0) == 0x40) {
		in->rex_w = (*p >> 3) & 1, in->rex_r = (*p >> 2) & 1, in->rex_x = (*p >> 1) & 1, in->rex_b = *p & 1;
		p++;
	}
	if (p + 2 > end)
		return -1;
	if (*p == 0xc4 && (is64 || (p[1] >> 6) == 3)) {
		if (p + 4 > end)
			return -1;
		in->vex = 1;
		in->rex_r = !(p[1] >> 7 & 1), in->rex_x = !(p[1] >> 6 & 1), in->rex_b = !(p[1] >> 5 & 1);
		in->vex_map = p[1] & 0x1f;
		in->vex_w = p[2] >> 7, in->vvvv = (~p[2] >> 3) & 15, in->vex_pp = p[2] & 3;
		if (!is64) {
			in->rex_r = in->rex_x = in->rex_b = 0, in->vvvv &= 7, in->vex_w = 0;
		}
		if ((p[2] >> 2) & 1) // VEX.L
			return -1;
		in->map = in->vex_map + 1;
		p += 3;
		in->op = *p++;
	} else if (*p == 0x0f) {
		p++;
		in->map = 2;
		if (*p == 0x38 || *p == 0x3a) {
			in->map = *p == 0x38 ? 3 : 4;
			p++;
		}
		if (p >= end)
			return -1;
		in->op = *p++;
	} else {
		in->map = 1;
		in->op = *p++;
	}
	if (p >= end)
		return -1;
	uint8_t modrm = *p++;
	in->mod = modrm >> 6, in->reg = ((modrm >> 3) & 7) | in->rex_r << 3, in->rm = modrm & 7;
	if (in->mod == 3) {
		in->rm |= in->rex_b << 3;
	} else {
		in->base = -1, in->index = -1, in->scale = 1;
		int rm = modrm & 7, dsize = in->mod == 1 ? 1 : in->mod == 2 ? 4 : 0;
		if (in->addr32 && !is64)
			return -1; // 16-bit addressing: never carried
		if (rm == 4) {
			if (p >= end)
				return -1;
			uint8_t sib = *p++;
			int idx = ((sib >> 3) & 7) | in->rex_x << 3, b = sib & 7;
			in->scale = 1 << (sib >> 6);
			if (idx != 4)
				in->index = idx;
			if (b == 5 && in->mod == 0)
				dsize = 4;
			else
				in->base = b | in->rex_b << 3;
		} else if (rm == 5 && in->mod == 0) {
			dsize = 4;
			in->riprel = is64;
		} else {
			in->base = rm | in->rex_b << 3;
		}
		if (p + dsize > end)
			return -1;
		if (dsize == 1)
			in->disp = (int8_t)p[0];
		else if (dsize == 4)
			in->disp = (int32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
		p += dsize;
	}
	in->len = (int)(p - s);
	return 0;
}

// Kinds of carried instructions.
enum kind { K_NONE, K_PDEP32, K_BZHI, K_BEXTR, K_BLSI, K_CMPXCHG32, K_LOCKNEG, K_CMPXCHG8B, K_STMXCSR };

static enum kind classify(const struct insn *in)
{
	if (in->vex) {
		if (in->lock || in->opsize16)
			return K_NONE;
		if (in->map == 3 && in->op == 0xf5 && in->vex_pp == 3 && !in->vex_w)
			return K_PDEP32;
		if (in->map == 3 && in->op == 0xf5 && in->vex_pp == 0)
			return K_BZHI;
		if (in->map == 3 && in->op == 0xf7 && in->vex_pp == 0)
			return K_BEXTR;
		if (in->map == 3 && in->op == 0xf3 && in->vex_pp == 0 && (in->reg & 7) == 3)
			return K_BLSI;
		return K_NONE;
	}
	if (in->seg_fsgs)
		return K_NONE;
	if (in->map == 2 && in->op == 0xb1 && in->mod == 3 && !in->rex_w && !in->opsize16 && in->is64)
		return K_CMPXCHG32;
	if (in->map == 1 && (in->op == 0xf6 || in->op == 0xf7) && in->lock && in->mod != 3 && (in->reg & 7) == 3)
		return K_LOCKNEG;
	if (in->map == 2 && in->op == 0xc7 && in->mod != 3 && (in->reg & 7) == 1 && !in->opsize16)
		return K_CMPXCHG8B;
	if (in->map == 2 && in->op == 0xae && in->mod != 3 && (in->reg & 7) == 3 && !in->opsize16 && !in->lock)
		return K_STMXCSR;
	return K_NONE;
}

int cmuc_intfix_match(const uint8_t *code, int n, int len, int is64)
{
	struct insn in;
	if (decode(code, n, is64, &in) != 0 || in.len != len)
		return 0;
	return classify(&in) != K_NONE;
}

// --- Computing -------------------------------------------------------------

static int parity(uint64_t v)
{
	return __builtin_parity((unsigned)(v & 0xff)) ? 0 : PF;
}

// szp are the SF, ZF and PF of a result of size bytes.
static uint64_t szp(uint64_t v, int size)
{
	int bits = size * 8;
	uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1;
	v &= m;
	return (v == 0 ? ZF : 0) | ((v >> (bits - 1)) & 1 ? SF : 0) | parity(v);
}

static void set_flags(struct x86_env *e, uint64_t flags)
{
	e->cc_src = flags;
	e->cc_op = CC_OP_EFLAGS;
}

// sub_flags are the flags of a - b on size bytes (CMP, NEG as 0 - b).
static uint64_t sub_flags(uint64_t a, uint64_t b, int size)
{
	int bits = size * 8;
	uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1;
	a &= m, b &= m;
	uint64_t r = (a - b) & m;
	uint64_t f = szp(r, size);
	if (a < b)
		f |= CF;
	if (((a ^ b) & (a ^ r)) >> (bits - 1) & 1)
		f |= OF;
	if ((a ^ b ^ r) & 0x10)
		f |= AF;
	return f;
}

static uint64_t pdep(uint64_t src, uint64_t mask)
{
	uint64_t r = 0;
	for (uint64_t bit = 1; mask; bit <<= 1) {
		uint64_t low = mask & -mask;
		if (src & bit)
			r |= low;
		mask &= mask - 1;
	}
	return r;
}

// ea is the effective address of a memory operand.
static uint64_t ea(struct x86_env *e, const struct insn *in)
{
	uint64_t a = (uint64_t)in->disp;
	if (in->riprel)
		a += e->eip + (uint64_t)in->len;
	if (in->base >= 0)
		a += e->regs[in->base];
	if (in->index >= 0)
		a += e->regs[in->index] * (uint64_t)in->scale;
	if (!in->is64 || in->addr32)
		a &= 0xffffffffu;
	return a;
}

// rm_value reads the r/m operand of size bytes (register or memory).
static uint64_t rm_value(struct x86_env *e, const struct insn *in, int size, uintptr_t ra)
{
	if (in->mod == 3)
		return size == 8 ? e->regs[in->rm] : (uint32_t)e->regs[in->rm];
	uint64_t a = ea(e, in);
	return size == 8 ? cpu_ldq_data_ra_x86_64(e, a, ra) : cpu_ldl_data_ra_x86_64(e, a, ra);
}

static void set_reg(struct x86_env *e, int r, uint64_t v, int size)
{
	e->regs[r] = size == 8 ? v : (uint32_t)v;
}

// emulate does the carried instruction in (of kind k) on the CPU state.
static void emulate(struct x86_env *e, const struct insn *in, enum kind k, uintptr_t ra)
{
	int size = in->vex_w ? 8 : 4;
	int bits = size * 8;
	uint64_t mask = size == 8 ? ~0ull : 0xffffffffull;
	switch (k) {
	case K_PDEP32:
		set_reg(e, in->reg, pdep((uint32_t)e->regs[in->vvvv], rm_value(e, in, 4, ra)), 4);
		break;
	case K_BZHI: {
		uint64_t src = rm_value(e, in, size, ra);
		unsigned n = (uint8_t)e->regs[in->vvvv];
		uint64_t r = n < (unsigned)bits ? src & ((1ull << n) - 1) : src;
		set_reg(e, in->reg, r, size);
		set_flags(e, (n > (unsigned)bits - 1 ? CF : 0) | szp(r, size));
		break;
	}
	case K_BEXTR: {
		uint64_t src = rm_value(e, in, size, ra);
		uint64_t ctl = e->regs[in->vvvv];
		unsigned start = (uint8_t)ctl, n = (uint8_t)(ctl >> 8);
		uint64_t r = start < (unsigned)bits ? src >> start : 0;
		if (n < 64)
			r &= (1ull << n) - 1;
		r &= mask;
		set_reg(e, in->reg, r, size);
		set_flags(e, r == 0 ? ZF : 0);
		break;
	}
	case K_BLSI: {
		uint64_t src = rm_value(e, in, size, ra);
		uint64_t r = src & -src & mask;
		set_reg(e, in->vvvv, r, size);
		set_flags(e, ((src & mask) != 0 ? CF : 0) | (szp(r, size) & (ZF | SF)));
		break;
	}
	case K_CMPXCHG32: {
		uint32_t dst = (uint32_t)e->regs[in->rm], acc = (uint32_t)e->regs[R_AX];
		set_flags(e, sub_flags(acc, dst, 4));
		if (acc == dst)
			e->regs[in->rm] = (uint32_t)e->regs[in->reg];
		else
			e->regs[R_AX] = dst; // the destination is left as it is
		break;
	}
	case K_LOCKNEG: {
		int sz = in->op == 0xf6 ? 1 : in->rex_w ? 8 : in->opsize16 ? 2 : 4;
		uint64_t a = ea(e, in), old, cur = 0;
		// cur = 0 first: the exchange fails unless the value is 0 and
		// tells the value, then it is retried with the value seen.
		for (;;) {
			uint64_t neg = -cur;
			if (sz < 8)
				neg &= (1ull << (sz * 8)) - 1;
			old = cmuc_atomic_cmpxchg(e, a, sz, cur, neg, ra);
			if (old == cur)
				break;
			cur = old;
		}
		set_flags(e, sub_flags(0, old, sz));
		break;
	}
	case K_CMPXCHG8B:
		// The flags state is written back: the engine's own atomic
		// helpers compute the flags they keep from it.
		if (in->rex_w)
			__wrap_helper_cmpxchg16b_unlocked_x86_64(e, ea(e, in));
		else
			__wrap_helper_cmpxchg8b_unlocked_x86_64(e, ea(e, in));
		e->cc_op = CC_OP_EFLAGS;
		break;
	case K_STMXCSR:
		x87_sync(e);
		cpu_stl_data_ra_x86_64(e, ea(e, in), *(uint32_t *)((char *)e + ENV_MXCSR), ra);
		break;
	case K_NONE:
		break;
	}
}

// The replacement of helper_pause: a carried instruction is done, a real
// PAUSE is left to the engine.
void __wrap_helper_pause_x86_64(void *env, int next_eip_addend)
{
	struct x86_env *e = env;
	cmuc_ctx *ctx = cmuc_running();
	if (ctx && ctx->insn_check && next_eip_addend > 2) {
		uint8_t buf[15];
		int got = 0;
		while (got < next_eip_addend) {
			const uint8_t *p = cmuc_guest_ptr(ctx, e->eip + (uint64_t)got);
			if (!p)
				break;
			int in_page = 4096 - (int)((e->eip + (uint64_t)got) & 4095);
			int k = next_eip_addend - got < in_page ? next_eip_addend - got : in_page;
			memcpy(buf + got, p, (size_t)k);
			got += k;
		}
		struct insn in;
		enum kind k = K_NONE;
		if (got == next_eip_addend && decode(buf, got, ctx->is64, &in) == 0 && in.len == got)
			k = classify(&in);
		int pause = got == next_eip_addend && buf[got - 2] == 0xf3 && buf[got - 1] == 0x90;
		if (!pause) {
			if (k == K_NONE) // not what was translated: the code changed under a stale block
				raise_exception_err_ra_x86_64(env, EXCP06_ILLOP, 0, GETPC());
			emulate(e, &in, k, GETPC());
		}
	}
	__real_helper_pause_x86_64(env, next_eip_addend);
}

// --- Helpers whose bug is their own ----------------------------------------

#define PH_WRAP(name, n)                                                                                               \
	void __real_helper_##name##_x86_64(void *env, void *d, void *s);                                              \
	void __wrap_helper_##name##_x86_64(void *env, void *d, void *s)                                               \
	{                                                                                                              \
		uint8_t copy[64] __attribute__((aligned(16)));                                                         \
		if (d == s) {                                                                                          \
			memcpy(copy, s, n);                                                                            \
			s = copy;                                                                                      \
		}                                                                                                      \
		__real_helper_##name##_x86_64(env, d, s);                                                              \
	}

PH_WRAP(phaddw_xmm, 16)
PH_WRAP(phaddd_xmm, 16)
PH_WRAP(phaddsw_xmm, 16)
PH_WRAP(phsubw_xmm, 16)
PH_WRAP(phsubd_xmm, 16)
PH_WRAP(phsubsw_xmm, 16)
PH_WRAP(phaddw_mmx, 8)
PH_WRAP(phaddd_mmx, 8)
PH_WRAP(phaddsw_mmx, 8)
PH_WRAP(phsubw_mmx, 8)
PH_WRAP(phsubd_mmx, 8)
PH_WRAP(phsubsw_mmx, 8)

// PCMPxSTRx, computed here in equal-ordered mode (the others are the
// engine's). xmm0_off is the offset of XMM0 in the CPU state, found by
// cmuc_intfix_init.
static long xmm0_off = -1;

void __real_helper_pcmpistri_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl);
void __real_helper_pcmpistrm_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl);

static int elem(const uint8_t *v, uint32_t ctrl, int i)
{
	switch (ctrl & 3) {
	case 0: return v[i];
	case 1: return v[2 * i] | v[2 * i + 1] << 8;
	case 2: return (int8_t)v[i];
	}
	return (int16_t)(v[2 * i] | v[2 * i + 1] << 8);
}

static int implicit_len(const uint8_t *v, uint32_t ctrl)
{
	int ub = (ctrl & 1) ? 8 : 16;
	for (int i = 0; i < ub; i++)
		if (elem(v, ctrl, i) == 0)
			return i;
	return ub;
}

// pcmp_ordered computes IntRes2 of equal-ordered mode for the
// substring d (xmm1, valid length ld) looked for in s (xmm2/m128, valid
// length ls), and sets the flags: bit j of IntRes1 says that d matches s
// from element j on, as far as s goes.
static unsigned pcmp_ordered(struct x86_env *e, const uint8_t *d, const uint8_t *s, uint32_t ctrl, int ld, int ls)
{
	int ub = (ctrl & 1) ? 8 : 16;
	unsigned all = (1u << ub) - 1, res = all;
	for (int j = 0; j < ub; j++) {
		for (int i = 0; i < ub - j; i++) {
			int k = j + i, eq;
			if (i >= ld)
				eq = 1; // the substring ended
			else if (k >= ls)
				eq = 0; // the string ended first
			else
				eq = elem(s, ctrl, k) == elem(d, ctrl, i);
			if (!eq) {
				res &= ~(1u << j);
				break;
			}
		}
	}
	switch ((ctrl >> 4) & 3) {
	case 1:
		res ^= all;
		break;
	case 3:
		res ^= ((1u << ls) - 1) & all;
		break;
	}
	uint64_t f = (res ? CF : 0) | (ls < ub ? ZF : 0) | (ld < ub ? SF : 0) | (res & 1 ? OF : 0);
	set_flags(e, f);
	return res;
}

static void pcmp_index(struct x86_env *e, unsigned res, uint32_t ctrl)
{
	int ub = (ctrl & 1) ? 8 : 16;
	e->regs[R_CX] = res == 0 ? (uint64_t)ub : (ctrl & 0x40) ? (uint64_t)(31 - __builtin_clz(res)) : (uint64_t)__builtin_ctz(res);
}

static void pcmp_mask(struct x86_env *e, unsigned res, uint32_t ctrl)
{
	uint8_t *x = (uint8_t *)e + xmm0_off;
	int ub = (ctrl & 1) ? 8 : 16;
	memset(x, 0, 16);
	if (!(ctrl & 0x40)) {
		x[0] = (uint8_t)res, x[1] = (uint8_t)(res >> 8);
		return;
	}
	for (int i = 0; i < ub; i++)
		if (res >> i & 1)
			memset(x + i * (16 / ub), 0xff, (size_t)(16 / ub));
}

// cmuc_pcmp_fix does PCMPxSTRx (explicit lengths when explicit, taken
// from RAX/RDX as already clamped by the caller) if it is in
// equal-ordered mode and the layout was confirmed: 1 if done.
int cmuc_pcmp_fix(void *env, void *d, void *s, uint32_t ctrl, int explicit, int mask)
{
	if ((ctrl & 0xc) != 0xc || xmm0_off < 0)
		return 0;
	struct x86_env *e = env;
	int ld, ls;
	if (explicit) {
		ld = (int)e->regs[R_AX], ls = (int)e->regs[R_DX];
	} else {
		ld = implicit_len(d, ctrl), ls = implicit_len(s, ctrl);
	}
	unsigned res = pcmp_ordered(e, d, s, ctrl, ld, ls);
	if (mask)
		pcmp_mask(e, res, ctrl);
	else
		pcmp_index(e, res, ctrl);
	return 1;
}

void __wrap_helper_pcmpistri_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl)
{
	if (!cmuc_pcmp_fix(env, d, s, ctrl, 0, 0))
		__real_helper_pcmpistri_xmm_x86_64(env, d, s, ctrl);
}

void __wrap_helper_pcmpistrm_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl)
{
	if (!cmuc_pcmp_fix(env, d, s, ctrl, 0, 1))
		__real_helper_pcmpistrm_xmm_x86_64(env, d, s, ctrl);
}

// init_layout finds XMM0 in the CPU state and confirms cc_src: the
// engine's PCMPISTRM of two equal strings, "equal each" with a byte
// mask, writes 16 bytes of 0xff to XMM0 and CF|OF to cc_src.
static void init_layout(void)
{
	static uint64_t fake[1 << 14] __attribute__((aligned(64))); // larger than CPUX86State
	uint8_t a[64] __attribute__((aligned(16)));
	memset(a, 'a', sizeof a);
	__real_helper_pcmpistrm_xmm_x86_64(fake, a, a, 0x48);
	struct x86_env *e = (struct x86_env *)fake;
	if (e->cc_src != (CF | OF))
		return;
	const uint8_t *b = (const uint8_t *)fake;
	for (long off = sizeof(struct x86_env) & ~7l; off + 16 <= (long)sizeof fake; off += 8) {
		int ones = 1;
		for (int i = 0; i < 16 && ones; i++)
			ones = b[off + i] == 0xff;
		if (ones) {
			xmm0_off = off;
			return;
		}
	}
}

static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

void cmuc_intfix_init(void)
{
	pthread_once(&layout_once, init_layout);
}

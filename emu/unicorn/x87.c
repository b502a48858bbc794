// The x87 instructions Unicorn computes only approximately (through host
// doubles: 53-bit results, no status flags), done by the host's own x87
// instruction on the guest's 80-bit operands: FSIN, FCOS, FSINCOS, FPTAN,
// FPATAN, F2XM1, FYL2X, FYL2XP1, FSCALE, FPREM, FPREM1, FRNDINT, FSQRT and
// FXTRACT. Linked over Unicorn's helpers with ld --wrap (see the LDFLAGS
// in unicorn.go). The result, C0-C3, the stack (TOP and tags) and the
// sticky exception flags are the host's, under the guest's precision and
// rounding control.
//
//   - Fast path (all exceptions masked, the operands present, room for a
//     pushed result): the operands are loaded onto the host's empty stack,
//     the instruction runs, and the registers left on the host's stack are
//     the results. C bits the SDM leaves undefined keep the guest's value
//     (as this host's CPU does).
//   - Any other case (stack underflow or overflow, unmasked exceptions):
//     the guest's whole x87 state is loaded with FRSTOR, the instruction
//     runs, and FNSAVE takes the whole state back, so the host decides
//     every detail. A pending unmasked exception is #MF before the
//     instruction, as on the CPU.
//
// The sticky exception flags of the arithmetic Unicorn does itself
// (softfloat) are kept by Unicorn in its fp_status and sse_status but
// never shown: x87_sync folds them into FSW where the guest or the
// kernel reads FSW (FNSTSW, FSTENV, FSAVE, FXSAVE, XSAVE, FWAIT, signal
// frames), and into MXCSR for FXSAVE/XSAVE and the kernel's reads.
//
// They rely on Unicorn 2.1.1's CPUX86State layout (QEMU 5), checked by
// cmuc_check_fp_layout when an engine is set up.

#include <stdint.h>
#include <string.h>

#include "shim.h"

#define GETPC() ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

// CPUX86State fields (Unicorn 2.1.1, from its helpers' code).
#define ENV_FPSTT 0x23c   // unsigned int: TOP
#define ENV_FPUS 0x240    // uint16_t: FSW without TOP
#define ENV_FPUC 0x242    // uint16_t: FCW
#define ENV_FPTAGS 0x244  // uint8_t[8]: 1 = empty, physical order
#define ENV_FPREGS 0x250  // 16 bytes each: floatx80 (10 bytes) + padding
#define ENV_FP_FLAGS 0x2ea  // fp_status.float_exception_flags
#define ENV_SSE_FLAGS 0x30a // sse_status.float_exception_flags
#define ENV_MXCSR 0x310   // uint32_t
// float_status.flush_to_zero (flags + 2) of fp_status and sse_status,
// and sse_status.flush_inputs_to_zero.
#define ENV_FP_FTZ (ENV_FP_FLAGS + 2)
#define ENV_SSE_FTZ (ENV_SSE_FLAGS + 2)
#define ENV_SSE_DAZ (ENV_SSE_FLAGS + 3)
#define MXCSR_FZ 0x8000
#define MXCSR_DAZ 0x0040
// uc_struct.cpu and CPUState.env_ptr: how uc_reg_read finds the state.
#define UC_CPU 0x1a0
#define CPU_ENV_PTR 0x128

#define EXCP10_COPR 16

// FSW bits.
enum {
	FSW_IE = 0x0001,
	FSW_FLAGS = 0x003f, // IE DE ZE OE UE PE
	FSW_SF = 0x0040,
	FSW_ES = 0x0080,
	FSW_C0 = 0x0100,
	FSW_C1 = 0x0200,
	FSW_C2 = 0x0400,
	FSW_TOP = 0x3800,
	FSW_C3 = 0x4000,
	FSW_B = 0x8000,
};

// softfloat's flags that are x87/SSE exception flags at the same bit
// (invalid, divbyzero, overflow, underflow, inexact; softfloat has no
// denormal-operand flag).
#define SOFTFLOAT_FLAGS 0x3d
// softfloat's flag for a result flushed to zero.
#define SOFTFLOAT_OUTPUT_DENORMAL 0x80

void raise_exception_ra_x86_64(void *env, int exception_index, uintptr_t retaddr) __attribute__((noreturn));

#define F16(env, off) (*(uint16_t *)((char *)(env) + (off)))
#define F32(env, off) (*(uint32_t *)((char *)(env) + (off)))
#define F8(env, off) (*(uint8_t *)((char *)(env) + (off)))

static unsigned top_of(void *env)
{
	return F32(env, ENV_FPSTT) & 7;
}

static uint8_t *reg_of(void *env, unsigned phys)
{
	return (uint8_t *)env + ENV_FPREGS + 16 * (phys & 7);
}

static int empty(void *env, unsigned phys)
{
	return F8(env, ENV_FPTAGS + (phys & 7)) != 0;
}

// x87_sync folds the exception flags Unicorn's softfloat arithmetic
// raised since the last sync into FSW (with ES and B when one is
// unmasked) and MXCSR, and clears them there.
void x87_sync(void *env)
{
	uint8_t f = F8(env, ENV_FP_FLAGS) & SOFTFLOAT_FLAGS;
	if (f) {
		uint16_t fsw = F16(env, ENV_FPUS) | f;
		if (fsw & ~F16(env, ENV_FPUC) & FSW_FLAGS)
			fsw |= FSW_ES | FSW_B;
		F16(env, ENV_FPUS) = fsw;
	}
	F8(env, ENV_FP_FLAGS) = 0;
	uint8_t sse = F8(env, ENV_SSE_FLAGS);
	uint32_t add = sse & SOFTFLOAT_FLAGS;
	if (sse & SOFTFLOAT_OUTPUT_DENORMAL)
		add |= 0x30; // flushed to zero by MXCSR.FZ: underflow and precision
	F32(env, ENV_MXCSR) |= add;
	F8(env, ENV_SSE_FLAGS) = 0;
}

// x87_mxcsr_loaded corrects what Unicorn makes of a loaded MXCSR
// (update_mxcsr_status): it puts FZ into the x87's float_status, so x87
// results are flushed and SSE ones are not. FZ belongs to SSE alone.
void x87_mxcsr_loaded(void *env)
{
	F8(env, ENV_FP_FTZ) = 0;
	F8(env, ENV_SSE_FTZ) = (F32(env, ENV_MXCSR) & MXCSR_FZ) != 0;
}

void cmuc_fp_mxcsr_loaded(uc_engine *uc)
{
	void *env = cmuc_env(uc);
	if (env)
		x87_mxcsr_loaded(env);
}

// MINPS/MINSS/MINPD/MINSD and MAX: with MXCSR.DAZ a denormal operand is
// a zero of its sign, and the zero is what they return. Unicorn only
// compares it as zero and returns the denormal. The lanes they read are
// squashed first: the destination's in place (they are overwritten), the
// source's in a copy.
static void squash(uint8_t *v, int lanes, int size)
{
	for (int i = 0; i < lanes; i++) {
		uint8_t *p = v + i * size;
		if (size == 4) {
			uint32_t x;
			memcpy(&x, p, 4);
			if ((x & 0x7f800000u) == 0 && (x & 0x007fffffu))
				x &= 0x80000000u;
			memcpy(p, &x, 4);
		} else {
			uint64_t x;
			memcpy(&x, p, 8);
			if ((x & 0x7ff0000000000000ull) == 0 && (x & 0x000fffffffffffffull))
				x &= 0x8000000000000000ull;
			memcpy(p, &x, 8);
		}
	}
}

// SSE arithmetic with an exception MXCSR leaves unmasked is #XM at the
// instruction, with the destination unchanged and the flags in MXCSR
// (CR4.OSXMMEXCPT is set, as Linux sets it). QEMU 5 never raises it: the
// helpers below run Unicorn's and check what it raised, but only while
// some exception is unmasked; otherwise they cost one test.
#define EXCP13_XMM 19

typedef void sse_helper(void *env, void *d, void *s);

static void sse_call(void *env, void *d, void *s, sse_helper *real, uintptr_t ra)
{
	uint32_t mxcsr = F32(env, ENV_MXCSR);
	if ((mxcsr & 0x1f80) == 0x1f80) {
		real(env, d, s);
		return;
	}
	uint8_t save[16];
	memcpy(save, d, 16);
	uint8_t before = F8(env, ENV_SSE_FLAGS);
	F8(env, ENV_SSE_FLAGS) = 0;
	real(env, d, s);
	uint8_t now = F8(env, ENV_SSE_FLAGS);
	F8(env, ENV_SSE_FLAGS) = before | now;
	uint32_t raised = now & SOFTFLOAT_FLAGS;
	if (now & SOFTFLOAT_OUTPUT_DENORMAL)
		raised |= 0x30;
	if (raised & ~(mxcsr >> 7) & 0x3f) {
		memcpy(d, save, 16);
		x87_sync(env);
		F32(env, ENV_MXCSR) |= raised;
		raise_exception_ra_x86_64(env, EXCP13_XMM, ra);
	}
}

#define XM_WRAP(name)                                                                                         \
	void __real_helper_##name##_x86_64(void *env, void *d, void *s);                                     \
	void __wrap_helper_##name##_x86_64(void *env, void *d, void *s)                                      \
	{                                                                                                     \
		sse_call(env, d, s, __real_helper_##name##_x86_64, GETPC());                                  \
	}

#define XM_WRAP4(op) XM_WRAP(op##ps) XM_WRAP(op##ss) XM_WRAP(op##pd) XM_WRAP(op##sd)

XM_WRAP4(add)
XM_WRAP4(sub)
XM_WRAP4(mul)
XM_WRAP4(div)
XM_WRAP4(sqrt)

#define MINMAX_WRAP(name, lanes, size)                                                                        \
	void __real_helper_##name##_x86_64(void *env, void *d, void *s);                                     \
	void __wrap_helper_##name##_x86_64(void *env, void *d, void *s)                                      \
	{                                                                                                     \
		uint8_t copy[16] __attribute__((aligned(16)));                                                \
		if (F32(env, ENV_MXCSR) & MXCSR_DAZ) {                                                        \
			memcpy(copy, s, 16);                                                                  \
			squash(copy, lanes, size);                                                            \
			squash(d, lanes, size);                                                               \
			s = copy;                                                                             \
		}                                                                                             \
		sse_call(env, d, s, __real_helper_##name##_x86_64, GETPC());                                  \
	}

MINMAX_WRAP(minps, 4, 4)
MINMAX_WRAP(minss, 1, 4)
MINMAX_WRAP(minpd, 2, 8)
MINMAX_WRAP(minsd, 1, 8)
MINMAX_WRAP(maxps, 4, 4)
MINMAX_WRAP(maxss, 1, 4)
MINMAX_WRAP(maxpd, 2, 8)
MINMAX_WRAP(maxsd, 1, 8)

// The instructions done here, with what the fast path needs to know.
enum x87_op {
	OP_FSIN, OP_FCOS, OP_FSINCOS, OP_FPTAN, OP_FPATAN, OP_F2XM1, OP_FYL2X,
	OP_FYL2XP1, OP_FSCALE, OP_FPREM, OP_FPREM1, OP_FRNDINT, OP_FSQRT, OP_FXTRACT,
};

static const struct {
	uint8_t in;     // stack operands: ST0, or ST0 and ST1
	uint8_t push;   // may push a result (so needs ST7 empty)
	uint16_t cbits; // the C bits the instruction defines
} ops[] = {
	[OP_FSIN] = {1, 0, FSW_C1 | FSW_C2},
	[OP_FCOS] = {1, 0, FSW_C1 | FSW_C2},
	[OP_FSINCOS] = {1, 1, FSW_C1 | FSW_C2},
	[OP_FPTAN] = {1, 1, FSW_C1 | FSW_C2},
	[OP_FPATAN] = {2, 0, FSW_C1},
	[OP_F2XM1] = {1, 0, FSW_C1},
	[OP_FYL2X] = {2, 0, FSW_C1},
	[OP_FYL2XP1] = {2, 0, FSW_C1},
	[OP_FSCALE] = {2, 0, FSW_C1},
	[OP_FPREM] = {2, 0, FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3},
	[OP_FPREM1] = {2, 0, FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3},
	[OP_FRNDINT] = {1, 0, FSW_C1},
	[OP_FSQRT] = {1, 0, FSW_C1},
	[OP_FXTRACT] = {1, 1, FSW_C1},
};

// host_op runs op on the host's stack. Nothing but this file's code uses
// the x87 stack between the loads and the stores around it.
static void host_op(enum x87_op op)
{
	switch (op) {
	case OP_FSIN: __asm__ volatile("fsin"); break;
	case OP_FCOS: __asm__ volatile("fcos"); break;
	case OP_FSINCOS: __asm__ volatile("fsincos"); break;
	case OP_FPTAN: __asm__ volatile("fptan"); break;
	case OP_FPATAN: __asm__ volatile("fpatan"); break;
	case OP_F2XM1: __asm__ volatile("f2xm1"); break;
	case OP_FYL2X: __asm__ volatile("fyl2x"); break;
	case OP_FYL2XP1: __asm__ volatile("fyl2xp1"); break;
	case OP_FSCALE: __asm__ volatile("fscale"); break;
	case OP_FPREM: __asm__ volatile("fprem"); break;
	case OP_FPREM1: __asm__ volatile("fprem1"); break;
	case OP_FRNDINT: __asm__ volatile("frndint"); break;
	case OP_FSQRT: __asm__ volatile("fsqrt"); break;
	case OP_FXTRACT: __asm__ volatile("fxtract"); break;
	}
}

static uint16_t fnstsw(void)
{
	uint16_t sw;
	__asm__ volatile("fnstsw %0" : "=m"(sw));
	return sw;
}

static uint16_t fnstcw(void)
{
	uint16_t cw;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	return cw;
}

static void fldcw(uint16_t cw)
{
	__asm__ volatile("fldcw %0" : : "m"(cw));
}

// clear_host_flags clears the host's exception flags where they would
// hide one the guest has not raised yet (FNCLEX is slow; a flag both
// have set is left as it is).
static void clear_host_flags(uint16_t guest_fsw)
{
	uint16_t sw = fnstsw();
	if (sw & ((FSW_FLAGS & ~guest_fsw) | FSW_SF | FSW_ES))
		__asm__ volatile("fnclex");
}

// fast runs op with the guest's operands on the host's empty stack. The
// caller made sure no exception is unmasked, the operands are there and
// a push has room, so the host's stack holds exactly the results after.
// It returns 0, with the guest's state untouched, when the operation was
// invalid or gave a NaN: the CPU then leaves some C bits as they were,
// which only the slow path reproduces.
static int fast(void *env, enum x87_op op)
{
	unsigned top = top_of(env), in = ops[op].in;
	uint16_t gcw = F16(env, ENV_FPUC), hcw = fnstcw();
	if (gcw != hcw)
		fldcw(gcw);
	clear_host_flags(F16(env, ENV_FPUS));
	for (unsigned i = in; i-- > 0;)
		__asm__ volatile("fldt %0" : : "m"(*(const uint8_t(*)[10])reg_of(env, top + i)));
	uint16_t sw = fnstsw();
	host_op(op);
	uint16_t sw1 = fnstsw();
	// Results: the host's stack grew by push or shrank by pop from in.
	int moved = (int)(((sw >> 11) - (sw1 >> 11)) & 7); // 1 pushed, 7 popped
	int n = (int)in + (moved == 7 ? -1 : moved);
	uint8_t res[3][10];
	for (int j = 0; j < n; j++)
		__asm__ volatile("fstpt %0" : "=m"(res[j]));
	if (gcw != hcw)
		fldcw(hcw);
	int nan = 0;
	for (int j = 0; j < n; j++) {
		uint64_t m;
		uint16_t se;
		memcpy(&m, res[j], 8);
		memcpy(&se, res[j] + 8, 2);
		nan |= (se & 0x7fff) == 0x7fff && (m << 1) != 0;
	}
	if ((sw1 & FSW_IE) || nan)
		return 0; // which C bits an invalid or NaN operation writes varies: see slow

	// Host ST(j) is the guest's physical register bottom-(n-1)+j, where
	// bottom is the guest's ST(in-1).
	unsigned bottom = top + in - 1, ntop = (bottom - (unsigned)(n - 1)) & 7;
	for (int j = 0; j < n; j++) {
		memcpy(reg_of(env, ntop + (unsigned)j), res[j], 10);
		F8(env, ENV_FPTAGS + ((ntop + (unsigned)j) & 7)) = 0;
	}
	for (unsigned p = top; p != ntop; p = (p + 1) & 7)
		F8(env, ENV_FPTAGS + p) = 1; // popped
	F32(env, ENV_FPSTT) = ntop;
	uint16_t cb = ops[op].cbits;
	F16(env, ENV_FPUS) = (F16(env, ENV_FPUS) & ~cb) | (sw1 & cb) | (sw1 & FSW_FLAGS);
	return 1;
}

// The 32-bit protected-mode FSAVE image.
struct fsave {
	uint16_t fcw, pad0, fsw, pad1, ftw, pad2;
	uint32_t fip;
	uint16_t fcs, fop;
	uint32_t fdp, fds;
	uint8_t st[8][10];
} __attribute__((packed));

// slow runs op on the guest's whole x87 state loaded into the host.
static void slow(void *env, enum x87_op op)
{
	unsigned top = top_of(env);
	struct fsave img;
	memset(&img, 0, sizeof img);
	img.fcw = F16(env, ENV_FPUC);
	img.fsw = (uint16_t)((F16(env, ENV_FPUS) & ~FSW_TOP) | top << 11);
	uint16_t ftw = 0;
	for (unsigned p = 0; p < 8; p++)
		if (empty(env, p))
			ftw |= (uint16_t)(3u << (2 * p));
	img.ftw = ftw;
	for (unsigned i = 0; i < 8; i++)
		memcpy(img.st[i], reg_of(env, top + i), 10);
	uint16_t hcw = fnstcw();
	switch (op) {
#define RUN(o, insn)                                                                                                   \
	case o:                                                                                                        \
		__asm__ volatile("frstor %0\n\t" insn "\n\tfnsave %0" : "+m"(img));                                  \
		break;
	RUN(OP_FSIN, "fsin")
	RUN(OP_FCOS, "fcos")
	RUN(OP_FSINCOS, "fsincos")
	RUN(OP_FPTAN, "fptan")
	RUN(OP_FPATAN, "fpatan")
	RUN(OP_F2XM1, "f2xm1")
	RUN(OP_FYL2X, "fyl2x")
	RUN(OP_FYL2XP1, "fyl2xp1")
	RUN(OP_FSCALE, "fscale")
	RUN(OP_FPREM, "fprem")
	RUN(OP_FPREM1, "fprem1")
	RUN(OP_FRNDINT, "frndint")
	RUN(OP_FSQRT, "fsqrt")
	RUN(OP_FXTRACT, "fxtract")
#undef RUN
	}
	if (hcw != 0x37f) // FNSAVE left the host's FPU initialised
		fldcw(hcw);
	top = (img.fsw >> 11) & 7;
	F32(env, ENV_FPSTT) = top;
	F16(env, ENV_FPUS) = img.fsw & ~FSW_TOP;
	for (unsigned p = 0; p < 8; p++)
		F8(env, ENV_FPTAGS + p) = ((img.ftw >> (2 * p)) & 3) == 3;
	for (unsigned i = 0; i < 8; i++)
		memcpy(reg_of(env, top + i), img.st[i], 10);
}

// exec does op for the guest; ra is the return address into the
// translated code (for #MF).
static void exec(void *env, enum x87_op op, uintptr_t ra)
{
	x87_sync(env);
	uint16_t fcw = F16(env, ENV_FPUC), fsw = F16(env, ENV_FPUS);
	if ((fsw & FSW_ES) || (fsw & ~fcw & FSW_FLAGS))
		raise_exception_ra_x86_64(env, EXCP10_COPR, ra); // pending unmasked exception
	unsigned top = top_of(env);
	int ok = (fcw & FSW_FLAGS) == FSW_FLAGS && !empty(env, top) && (ops[op].in < 2 || !empty(env, top + 1)) &&
		 (!ops[op].push || empty(env, top - 1));
	if (!ok || !fast(env, op))
		slow(env, op);
}

#define WRAP(name, op)                                                                                                 \
	void __wrap_helper_##name##_x86_64(void *env);                                                                 \
	void __wrap_helper_##name##_x86_64(void *env)                                                                  \
	{                                                                                                              \
		exec(env, op, GETPC());                                                                                \
	}

WRAP(fsin, OP_FSIN)
WRAP(fcos, OP_FCOS)
WRAP(fsincos, OP_FSINCOS)
WRAP(fptan, OP_FPTAN)
WRAP(fpatan, OP_FPATAN)
WRAP(f2xm1, OP_F2XM1)
WRAP(fyl2x, OP_FYL2X)
WRAP(fyl2xp1, OP_FYL2XP1)
WRAP(fscale, OP_FSCALE)
WRAP(fprem, OP_FPREM)
WRAP(fprem1, OP_FPREM1)
WRAP(frndint, OP_FRNDINT)
WRAP(fsqrt, OP_FSQRT)
WRAP(fxtract, OP_FXTRACT)

// --- Exact arithmetic (cmaemu run --exact-fp) ------------------------------
//
// Unicorn's softfloat gives the right results and, through x87_sync, the
// right IE ZE OE UE PE flags, but neither C1 (set when the result was
// rounded up) nor DE (a denormal operand). With the engine's exact_fp set,
// FADD FSUB FSUBR FMUL FDIV FDIVR (every form) run on the host instead;
// operands that are missing or exceptions that are unmasked leave them
// to Unicorn (which has no stack faults and delivers unmasked exceptions
// only at FWAIT).

enum arith { AR_ADD, AR_SUB, AR_MUL, AR_DIV };

#define ENV_FT0 0x2f0

// host_arith computes a op b on the host under the guest's control word
// into res and returns the host's status word.
static uint16_t host_arith(enum arith op, const uint8_t *a, const uint8_t *b, uint16_t gcw, uint16_t gfsw,
			   uint8_t res[10])
{
	uint16_t hcw = fnstcw(), sw;
	if (gcw != hcw)
		fldcw(gcw);
	clear_host_flags(gfsw);
	__asm__ volatile("fldt %0\n\tfldt %1" : : "m"(*(const uint8_t(*)[10])b), "m"(*(const uint8_t(*)[10])a));
	switch (op) {
	case AR_ADD: __asm__ volatile("fadd %st(1), %st"); break;
	case AR_SUB: __asm__ volatile("fsub %st(1), %st"); break;
	case AR_MUL: __asm__ volatile("fmul %st(1), %st"); break;
	case AR_DIV: __asm__ volatile("fdiv %st(1), %st"); break;
	}
	__asm__ volatile("fnstsw %0\n\tfstpt %1\n\tfstp %%st(0)" : "=m"(sw), "=m"(*(uint8_t(*)[10])res));
	if (gcw != hcw)
		fldcw(hcw);
	return sw;
}

// arith sets *dst = a op b (dst may be a or b) and reports whether it
// did; 0 leaves the instruction to Unicorn's helper.
static int arith(void *env, enum arith op, const uint8_t *a, const uint8_t *b, uint8_t *dst, unsigned sti)
{
	cmuc_ctx *ctx = cmuc_running();
	if (!ctx || !ctx->exact_fp)
		return 0;
	unsigned top = top_of(env);
	uint16_t fcw = F16(env, ENV_FPUC), fsw = F16(env, ENV_FPUS);
	if ((fcw & FSW_FLAGS) != FSW_FLAGS || empty(env, top) || empty(env, top + sti))
		return 0;
	x87_sync(env);
	fsw = F16(env, ENV_FPUS);
	uint8_t res[10];
	uint16_t sw = host_arith(op, a, b, fcw, fsw, res);
	memcpy(dst, res, 10);
	F16(env, ENV_FPUS) = (fsw & ~FSW_C1) | (sw & (FSW_C1 | FSW_FLAGS));
	return 1;
}

#define ST0_FT0(name, op, first_st0)                                                                                   \
	void __real_helper_##name##_ST0_FT0_x86_64(void *env);                                                         \
	void __wrap_helper_##name##_ST0_FT0_x86_64(void *env);                                                         \
	void __wrap_helper_##name##_ST0_FT0_x86_64(void *env)                                                          \
	{                                                                                                              \
		uint8_t *st0 = reg_of(env, top_of(env)), *ft0 = (uint8_t *)env + ENV_FT0;                              \
		if (!arith(env, op, first_st0 ? st0 : ft0, first_st0 ? ft0 : st0, st0, 0))                            \
			__real_helper_##name##_ST0_FT0_x86_64(env);                                                    \
	}

#define STN_ST0(name, op, first_stn)                                                                                   \
	void __real_helper_##name##_STN_ST0_x86_64(void *env, int sti);                                                \
	void __wrap_helper_##name##_STN_ST0_x86_64(void *env, int sti);                                                \
	void __wrap_helper_##name##_STN_ST0_x86_64(void *env, int sti)                                                 \
	{                                                                                                              \
		unsigned top = top_of(env);                                                                            \
		uint8_t *st0 = reg_of(env, top), *stn = reg_of(env, top + (unsigned)sti);                              \
		if (!arith(env, op, first_stn ? stn : st0, first_stn ? st0 : stn, stn, (unsigned)sti & 7))            \
			__real_helper_##name##_STN_ST0_x86_64(env, sti);                                               \
	}

ST0_FT0(fadd, AR_ADD, 1)
ST0_FT0(fmul, AR_MUL, 1)
ST0_FT0(fsub, AR_SUB, 1)
ST0_FT0(fsubr, AR_SUB, 0)
ST0_FT0(fdiv, AR_DIV, 1)
ST0_FT0(fdivr, AR_DIV, 0)
STN_ST0(fadd, AR_ADD, 1)
STN_ST0(fmul, AR_MUL, 1)
STN_ST0(fsub, AR_SUB, 1)
STN_ST0(fsubr, AR_SUB, 0)
STN_ST0(fdiv, AR_DIV, 1)
STN_ST0(fdivr, AR_DIV, 0)

// RCPPS, RCPSS, RSQRTPS and RSQRTSS raise no exception on the CPU;
// Unicorn computes them by division, which raises softfloat's flags.
#define NO_FLAGS(name)                                                                                                 \
	void __real_helper_##name##_x86_64(void *env, void *d, void *s);                                               \
	void __wrap_helper_##name##_x86_64(void *env, void *d, void *s);                                               \
	void __wrap_helper_##name##_x86_64(void *env, void *d, void *s)                                                \
	{                                                                                                              \
		uint8_t f = F8(env, ENV_SSE_FLAGS);                                                                    \
		__real_helper_##name##_x86_64(env, d, s);                                                              \
		F8(env, ENV_SSE_FLAGS) = f;                                                                            \
	}

NO_FLAGS(rcpps)
NO_FLAGS(rcpss)
NO_FLAGS(rsqrtps)
NO_FLAGS(rsqrtss)

// The helpers through which the guest sees FSW or MXCSR: the flags are
// folded in first. Those that load the state fold first too, so flags
// raised before a load do not reappear after it.
#define SYNC_FIRST(name, params, args)                                                                                 \
	void __real_helper_##name##_x86_64 params;                                                                     \
	void __wrap_helper_##name##_x86_64 params;                                                                     \
	void __wrap_helper_##name##_x86_64 params                                                                      \
	{                                                                                                              \
		x87_sync(env);                                                                                         \
		__real_helper_##name##_x86_64 args;                                                                    \
	}

uint32_t __real_helper_fnstsw_x86_64(void *env);
uint32_t __wrap_helper_fnstsw_x86_64(void *env);
uint32_t __wrap_helper_fnstsw_x86_64(void *env)
{
	x87_sync(env);
	return __real_helper_fnstsw_x86_64(env);
}

SYNC_FIRST(fclex, (void *env), (env))
SYNC_FIRST(fninit, (void *env), (env))

// These take their caller's return address (GETPC) for faults: the
// wrapper jumps to the real helper after the sync, so that it is still
// the translated code's.
#define SYNC_JUMP(name)                                                                                                \
	__asm__(".text\n"                                                                                              \
		".globl __wrap_helper_" #name "_x86_64\n"                                                              \
		"__wrap_helper_" #name "_x86_64:\n"                                                                    \
		"\tpush %rdi\n\tpush %rsi\n\tpush %rdx\n\tpush %rcx\n\tsub $8, %rsp\n"                                 \
		"\tcall x87_sync\n"                                                                                    \
		"\tadd $8, %rsp\n\tpop %rcx\n\tpop %rdx\n\tpop %rsi\n\tpop %rdi\n"                                    \
		"\tjmp __real_helper_" #name "_x86_64\n");

SYNC_JUMP(fwait)
SYNC_JUMP(fstenv)
SYNC_JUMP(fsave)
SYNC_JUMP(fldenv)
SYNC_JUMP(frstor)
SYNC_JUMP(fxsave)
SYNC_JUMP(xsave)
SYNC_JUMP(xsaveopt)

// cmuc_env is the engine's CPUX86State, or NULL before Unicorn has
// initialised the engine (at its first register access or mapping).
void *cmuc_env(uc_engine *uc)
{
	char *cpu = cmuc_cpu(uc);
	return cpu ? *(void **)(cpu + CPU_ENV_PTR) : NULL;
}

// cmuc_cpu is the engine's CPUState, or NULL before Unicorn has
// initialised the engine.
void *cmuc_cpu(uc_engine *uc)
{
	return *(void **)((char *)uc + UC_CPU);
}

// cmuc_fp_sync folds pending flags into FSW and MXCSR before the kernel
// reads them; cmuc_fp_drop forgets them when the kernel loads a state.
void cmuc_fp_sync(uc_engine *uc)
{
	void *env = cmuc_env(uc);
	if (env)
		x87_sync(env);
}

void cmuc_fp_drop(uc_engine *uc)
{
	void *env = cmuc_env(uc);
	if (!env)
		return;
	F8(env, ENV_FP_FLAGS) = 0;
	F8(env, ENV_SSE_FLAGS) = 0;
}

// cmuc_check_fp_layout checks the offsets above on an initialised engine:
// values written through Unicorn's API must appear where this file reads
// them. It returns 0 when they do; the registers are put back.
int cmuc_check_fp_layout(uc_engine *uc)
{
	uint64_t fcw = 0, fsw = 0, mxcsr = 0, rax = 0;
	uint8_t st0[16] = {0};
	if (uc_reg_read(uc, UC_X86_REG_FPCW, &fcw) || uc_reg_read(uc, UC_X86_REG_FPSW, &fsw) ||
	    uc_reg_read(uc, UC_X86_REG_MXCSR, &mxcsr) || uc_reg_read(uc, UC_X86_REG_EAX, &rax) ||
	    uc_reg_read(uc, UC_X86_REG_ST0, st0))
		return -1;
	uint64_t t_fcw = 0x0b7f, t_fsw = 0x2800 | 0x4120, t_mxcsr = 0x3f80, t_rax = 0x89abcdef;
	uint8_t t_st0[16] = {1, 2, 3, 4, 5, 6, 7, 0x88, 0xff, 0x3f};
	int bad = 1;
	if (uc_reg_write(uc, UC_X86_REG_FPCW, &t_fcw) || uc_reg_write(uc, UC_X86_REG_FPSW, &t_fsw) ||
	    uc_reg_write(uc, UC_X86_REG_ST0, t_st0) || uc_reg_write(uc, UC_X86_REG_MXCSR, &t_mxcsr) ||
	    uc_reg_write(uc, UC_X86_REG_EAX, &t_rax))
		goto restore;
	void *env = cmuc_env(uc);
	bad = !env || *(uint32_t *)env != t_rax || F16(env, ENV_FPUC) != t_fcw || top_of(env) != 5 ||
	      (F16(env, ENV_FPUS) & ~FSW_TOP) != (t_fsw & ~FSW_TOP) || F32(env, ENV_MXCSR) != t_mxcsr ||
	      memcmp(reg_of(env, 5), t_st0, 10) != 0;
	// MXCSR with FZ and DAZ: Unicorn sets fp_status.flush_to_zero and
	// sse_status.flush_inputs_to_zero, where x87_mxcsr_loaded looks.
	uint64_t t_fz = 0x9fc0;
	if (!bad && (uc_reg_write(uc, UC_X86_REG_MXCSR, &t_fz) || F8(env, ENV_FP_FTZ) != 1 ||
		     F8(env, ENV_SSE_DAZ) != 1 || F8(env, ENV_SSE_FTZ) != 0))
		bad = 1;
restore:
	uc_reg_write(uc, UC_X86_REG_FPSW, &fsw);
	uc_reg_write(uc, UC_X86_REG_ST0, st0);
	uc_reg_write(uc, UC_X86_REG_FPCW, &fcw);
	uc_reg_write(uc, UC_X86_REG_MXCSR, &mxcsr);
	uc_reg_write(uc, UC_X86_REG_EAX, &rax);
	if (env)
		x87_mxcsr_loaded(env);
	return bad ? -1 : 0;
}

// Replacements for a few functions of Unicorn's x86 target, linked over
// them with ld --wrap (see the LDFLAGS in unicorn.go), each calling
// Unicorn's own (__real_...) around its checks:
//   - instruction helpers that do not check what the CPU checks. They are
//     called by translated code exactly where Unicorn calls its helpers,
//     so an exception raised here is raised at the guest instruction;
//   - the translator's code reads, for the instruction check (below).
//
// They rely on Unicorn 2.1.1's x86 target (QEMU 5): the functions' names
// and arguments, CPUX86State beginning with the 16 general registers,
// TranslationBlock with the guest PC. A library without these symbols
// fails to link; one that changed them fails emu's tests.

#include <stdint.h>

#include "shim.h"

#define EXCP0D_GPF 13

// QEMU's GETPC(): the return address into the translated code, which
// tells QEMU the guest instruction an exception belongs to.
#define GETPC() ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

// The start of QEMU's CPUX86State.
struct env_head {
	uint64_t regs[16]; // RAX RCX RDX RBX RSP RBP RSI RDI R8-R15
};

enum { R_EAX = 0, R_EDX = 2 };

void __real_helper_pcmpestri_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl);
void __real_helper_pcmpestrm_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl);
void __real_helper_ldmxcsr_x86_64(void *env, uint32_t val);
void __real_helper_fxrstor_x86_64(void *env, uint64_t ptr);
void __real_helper_xrstor_x86_64(void *env, uint64_t ptr, uint64_t rfbm);
void raise_exception_err_ra_x86_64(void *env, int exception_index, int error_code, uintptr_t retaddr)
	__attribute__((noreturn));
uint32_t cpu_ldl_data_ra_x86_64(void *env, uint64_t ptr, uintptr_t retaddr);

// MXCSR bits that must be 0 (the complement of arch.MXCSRMask).
#define MXCSR_RESERVED 0xffff0000u

// explicit_len is the length PCMPESTRI/PCMPESTRM take from a register:
// its value (64-bit with REX.W, flagged by Unicorn as bit 8 of ctrl,
// else 32-bit), in absolute value, saturated to 16 bytes or 8 words.
// Unicorn truncates it to an int first: -2^31 then makes a negative
// length and the helper runs off its arrays (the host process crashes),
// and a 64-bit length like 2^32 becomes 0.
static uint64_t explicit_len(uint64_t reg, uint32_t ctrl)
{
	int64_t v = (ctrl >> 8) ? (int64_t)reg : (int64_t)(int32_t)reg;
	int64_t limit = (ctrl & 1) ? 8 : 16;
	if (v > limit || v < -limit)
		return (uint64_t)limit;
	return (uint64_t)(v < 0 ? -v : v);
}

// with_lengths runs a PCMPESTRx helper with RAX and RDX holding the
// lengths the CPU uses, then puts them back (the instructions do not
// write them).
static void with_lengths(void (*real)(void *, void *, void *, uint32_t), void *env, void *d, void *s,
			 uint32_t ctrl, int mask)
{
	struct env_head *e = env;
	uint64_t rax = e->regs[R_EAX], rdx = e->regs[R_EDX];
	e->regs[R_EAX] = explicit_len(rax, ctrl);
	e->regs[R_EDX] = explicit_len(rdx, ctrl);
	if (!cmuc_pcmp_fix(env, d, s, ctrl, 1, mask)) // equal-ordered mode (intfix.c)
		real(env, d, s, ctrl);
	e->regs[R_EAX] = rax;
	e->regs[R_EDX] = rdx;
}

void __wrap_helper_pcmpestri_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl)
{
	with_lengths(__real_helper_pcmpestri_xmm_x86_64, env, d, s, ctrl, 0);
}

void __wrap_helper_pcmpestrm_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl)
{
	with_lengths(__real_helper_pcmpestrm_xmm_x86_64, env, d, s, ctrl, 1);
}

// LDMXCSR of a reserved bit is #GP (Unicorn loads it).
void __wrap_helper_ldmxcsr_x86_64(void *env, uint32_t val)
{
	if (val & MXCSR_RESERVED)
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, GETPC());
	x87_sync(env); // pending flags go before the load (x87.c)
	__real_helper_ldmxcsr_x86_64(env, val);
	x87_mxcsr_loaded(env); // FZ for SSE only (x87.c)
}

// FXRSTOR of an image whose MXCSR has a reserved bit is #GP. A misaligned
// image is refused by Unicorn's helper itself, first.
void __wrap_helper_fxrstor_x86_64(void *env, uint64_t ptr)
{
	if (!(ptr & 0xf) && (cpu_ldl_data_ra_x86_64(env, ptr + 24, GETPC()) & MXCSR_RESERVED))
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, GETPC());
	x87_sync(env);
	__real_helper_fxrstor_x86_64(env, ptr);
	x87_mxcsr_loaded(env); // FZ for SSE only (x87.c)
}

// XRSTOR loads MXCSR when it restores SSE state (XCR0 is x87|SSE): a
// reserved bit is #GP.
void __wrap_helper_xrstor_x86_64(void *env, uint64_t ptr, uint64_t rfbm)
{
	if (!(ptr & 0x3f) && (rfbm & 2) && (cpu_ldl_data_ra_x86_64(env, ptr + 24, GETPC()) & MXCSR_RESERVED))
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, GETPC());
	x87_sync(env);
	__real_helper_xrstor_x86_64(env, ptr, rfbm);
	x87_mxcsr_loaded(env); // FZ for SSE only (x87.c)
}

// --- The instruction check: what the translator reads ---------------------
//
// Unicorn's translator reads an instruction's bytes one field at a time
// through cpu_ld*_code, in order. When it starts on an instruction (the
// block's first, or the byte after the last one), decode.c decodes it from
// the page table; if the emulated CPU refuses it with #UD, the translator
// is given 0F 0B (UD2) for its first two bytes, and translates an
// undefined instruction there: #UD at run time, at the instruction, and
// nothing more per run. One refused with #GP at CPL 3 (port I/O, INT n)
// reads as F4 (HLT), which the translator turns into #GP at CPL 3, at the
// instruction, with the block ending there. ICEBP reads as INT3: the same
// trap after the instruction, which the kernel tells from INT3 by the byte
// before the reported RIP. Reads the decoder does not
// account for (a length it got wrong) leave the rest of the block alone.

static __thread cmuc_ctx *running; // the engine in uc_emu_start on this thread

static __thread struct {
	int active;          // translating a block with the check on, in step
	uint64_t start, end; // the instruction being translated, as decoded
	int have_bad;        // it is refused: its first two bytes read as UD2
	uint64_t bad;
	int bad_gp;          // refused with #GP: its first byte reads as HLT
	int bad_db;          // ICEBP: it reads as INT3 (the kernel tells them apart)
	int have_sub;        // it is carried (intfix.c): [sub, sub+sub_len) reads as 3E.. F3 90
	uint64_t sub;
	int sub_len;
	uint64_t last; // the last code byte the translator read for the block
} tr;

void cmuc_set_running(cmuc_ctx *ctx)
{
	running = ctx;
}

cmuc_ctx *cmuc_running(void)
{
	return running;
}

void __real_gen_intermediate_code_x86_64(void *cpu, void *tb, long a2, long a3, long a4, long a5);

// The arguments after tb are passed through as the caller put them
// (QEMU 5 has one, max_insns).
void __wrap_gen_intermediate_code_x86_64(void *cpu, void *tb, long a2, long a3, long a4, long a5)
{
	uint64_t pc = *(const uint64_t *)tb; // TranslationBlock begins with pc
	if (running)
		cmuc_mark_code(running, pc);
	tr.active = running && running->insn_check;
	if (tr.active)
		cmuc_intfix_init();
	tr.start = tr.end = pc;
	tr.have_bad = 0;
	tr.have_sub = 0;
	tr.last = pc;
	__real_gen_intermediate_code_x86_64(cpu, tb, a2, a3, a4, a5);
	// The first block after entering user mode is translated before the
	// engine has the page table (emu's TLB fill gives it on the block's
	// first fetch), so its frame is marked now.
	if (running)
		cmuc_mark_code(running, pc);
	// A block that runs into the next page has code from its frame too.
	if (running && (tr.last >> 12) != (pc >> 12))
		cmuc_mark_code(running, tr.last);
	cmuc_sse_forget();
	tr.active = 0;
	tr.have_bad = 0;
	tr.have_sub = 0;
}

// read_code copies up to n bytes of code at va into buf, as far as the
// pages are mapped, and returns how many.
static int read_code(cmuc_ctx *ctx, uint64_t va, uint8_t *buf, int n)
{
	int got = 0;
	while (got < n) {
		const uint8_t *p = cmuc_guest_ptr(ctx, va + got);
		if (!p)
			break;
		int in_page = 4096 - (int)((va + got) & 4095);
		int k = n - got < in_page ? n - got : in_page;
		for (int i = 0; i < k; i++)
			buf[got + i] = p[i];
		got += k;
	}
	return got;
}

// on_fetch follows the translator reading n bytes at addr.
static void on_fetch(uint64_t addr, int n)
{
	if (n > 0 && addr + (uint64_t)n - 1 > tr.last)
		tr.last = addr + (uint64_t)n - 1;
	if (!tr.active)
		return;
	if (addr == tr.end) {
		uint8_t buf[15];
		int got = read_code(running, addr, buf, sizeof buf);
		int ud = 0, len = got > 0 ? cmuc_insn_decode(buf, got, running->is64, &ud) : -1;
		cmuc_sse_note(buf, got, running->is64); // sse_align.c
		if (ud) {
			tr.bad_gp = ud == CMUC_REFUSE_GP, tr.bad_db = ud == CMUC_REFUSE_DB;
			tr.start = addr, tr.end = addr + (ud == CMUC_REFUSE_UD ? 2 : 1);
			tr.have_bad = 1, tr.bad = addr;
		} else if (len > 0) {
			tr.start = addr, tr.end = addr + (uint64_t)len;
			if (len > 2 && cmuc_intfix_match(buf, got, len, running->is64))
				tr.have_sub = 1, tr.sub = addr, tr.sub_len = len;
		} else {
			tr.active = 0;
		}
		return;
	}
	if (addr < tr.start || addr + (uint64_t)n > tr.end) {
		tr.active = 0; // not where the decoder expects: out of step
		cmuc_sse_forget();
	}
}

// patch puts UD2's bytes where the refused instruction's first two are
// (HLT's where the first is, for #GP), and the carrier's (ignored DS prefixes, then PAUSE) over an
// instruction intfix.c does.
static uint64_t patch(uint64_t addr, int n, uint64_t v)
{
	if (!tr.have_bad && !tr.have_sub)
		return v;
	for (int i = 0; i < n; i++) {
		uint64_t a = addr + (uint64_t)i, b;
		if (tr.have_sub && a >= tr.sub && a < tr.sub + (uint64_t)tr.sub_len) {
			uint64_t at = a - tr.sub;
			b = at + 2 < (uint64_t)tr.sub_len ? 0x3e : at + 2 == (uint64_t)tr.sub_len ? 0xf3 : 0x90;
		} else if (!tr.have_bad)
			continue;
		else if (a == tr.bad)
			b = tr.bad_gp ? 0xf4 : tr.bad_db ? 0xcc : 0x0f;
		else if (a == tr.bad + 1 && !tr.bad_gp && !tr.bad_db)
			b = 0x0b;
		else
			continue;
		v = (v & ~(0xffULL << (8 * i))) | b << (8 * i);
	}
	return v;
}

uint32_t __real_cpu_ldub_code_x86_64(void *env, uint64_t addr);
uint32_t __real_cpu_lduw_code_x86_64(void *env, uint64_t addr);
uint32_t __real_cpu_ldl_code_x86_64(void *env, uint64_t addr);
uint64_t __real_cpu_ldq_code_x86_64(void *env, uint64_t addr);

// Each reads first (which fills the TLB, or faults), then follows.
uint32_t __wrap_cpu_ldub_code_x86_64(void *env, uint64_t addr)
{
	uint32_t v = __real_cpu_ldub_code_x86_64(env, addr);
	on_fetch(addr, 1);
	return (uint32_t)patch(addr, 1, v);
}

uint32_t __wrap_cpu_lduw_code_x86_64(void *env, uint64_t addr)
{
	uint32_t v = __real_cpu_lduw_code_x86_64(env, addr);
	on_fetch(addr, 2);
	return (uint32_t)patch(addr, 2, v);
}

uint32_t __wrap_cpu_ldl_code_x86_64(void *env, uint64_t addr)
{
	uint32_t v = __real_cpu_ldl_code_x86_64(env, addr);
	on_fetch(addr, 4);
	return (uint32_t)patch(addr, 4, v);
}

uint64_t __wrap_cpu_ldq_code_x86_64(void *env, uint64_t addr)
{
	uint64_t v = __real_cpu_ldq_code_x86_64(env, addr);
	on_fetch(addr, 8);
	return patch(addr, 8, v);
}

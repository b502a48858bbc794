// Replacements for a few instruction helpers of Unicorn's x86 target,
// linked over them with ld --wrap (see the LDFLAGS in unicorn.go), each
// checking what the CPU checks and calling Unicorn's own (__real_...).
// They are called by translated code exactly where Unicorn calls its
// helpers, so an exception raised here is raised at the guest
// instruction.
//
// They rely on Unicorn 2.1.1's x86 target (QEMU 5): the functions' names
// and arguments, CPUX86State beginning with the 16 general registers. A
// library without these symbols fails to link; one that changed them
// fails emu's tests.

#include <stdint.h>

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
			 uint32_t ctrl)
{
	struct env_head *e = env;
	uint64_t rax = e->regs[R_EAX], rdx = e->regs[R_EDX];
	e->regs[R_EAX] = explicit_len(rax, ctrl);
	e->regs[R_EDX] = explicit_len(rdx, ctrl);
	real(env, d, s, ctrl);
	e->regs[R_EAX] = rax;
	e->regs[R_EDX] = rdx;
}

void __wrap_helper_pcmpestri_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl)
{
	with_lengths(__real_helper_pcmpestri_xmm_x86_64, env, d, s, ctrl);
}

void __wrap_helper_pcmpestrm_xmm_x86_64(void *env, void *d, void *s, uint32_t ctrl)
{
	with_lengths(__real_helper_pcmpestrm_xmm_x86_64, env, d, s, ctrl);
}

// LDMXCSR of a reserved bit is #GP (Unicorn loads it).
void __wrap_helper_ldmxcsr_x86_64(void *env, uint32_t val)
{
	if (val & MXCSR_RESERVED)
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, GETPC());
	__real_helper_ldmxcsr_x86_64(env, val);
}

// FXRSTOR of an image whose MXCSR has a reserved bit is #GP. A misaligned
// image is refused by Unicorn's helper itself, first.
void __wrap_helper_fxrstor_x86_64(void *env, uint64_t ptr)
{
	if (!(ptr & 0xf) && (cpu_ldl_data_ra_x86_64(env, ptr + 24, GETPC()) & MXCSR_RESERVED))
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, GETPC());
	__real_helper_fxrstor_x86_64(env, ptr);
}

// XRSTOR loads MXCSR when it restores SSE state (XCR0 is x87|SSE): a
// reserved bit is #GP.
void __wrap_helper_xrstor_x86_64(void *env, uint64_t ptr, uint64_t rfbm)
{
	if (!(ptr & 0x3f) && (rfbm & 2) && (cpu_ldl_data_ra_x86_64(env, ptr + 24, GETPC()) & MXCSR_RESERVED))
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, GETPC());
	__real_helper_xrstor_x86_64(env, ptr, rfbm);
}


// Atomic guest instructions: Unicorn translates every lock-prefixed
// read-modify-write (and XCHG with memory) as a plain load and store unless
// the translation block is translated for a parallel context, which its
// curr_cflags() never asks for. Linked over Unicorn's own functions with
// ld --wrap (see the LDFLAGS in unicorn.go):
//
//   - tcg_func_start, which begins the translation of every block, marks
//     the block's code generation parallel (CF_PARALLEL in the TCG
//     context's tb_cflags; the block's own cflags, which key the code
//     cache, stay as they are). The x86 translator then emits, for each
//     locked instruction, a call to one of QEMU's atomic helpers, which
//     does the operation with the host's own atomic instruction on the
//     guest frame. Everything else is translated as before.
//   - CMPXCHG8B and CMPXCHG16B choose their helper from the block's cflags,
//     so the unlocked helpers are redirected to the atomic ones (and an
//     unaligned CMPXCHG8B, which x86 allows, is done here).
//   - The XCHG helpers of this build load and store without a host atomic
//     (its atomic exchange compiled to two moves): every XCHG with memory
//     is done here instead, with the host's XCHG.
//   - QEMU's atomic helpers give up on an operand that is not naturally
//     aligned ("stop the world", which Unicorn does not implement: the
//     engine would retry the instruction for ever). x86 allows such
//     operands; the wrappers below take them over: inside one page the
//     host's atomic instruction works on the unaligned host address as it
//     does for the guest; across a page boundary (two frames, not adjacent
//     in host memory) the operation is done under one process-wide mutex.
//   - Anything else that still asks to stop the world stops the engine
//     with #GP at the instruction instead of looping.
//   - The atomic helpers (and probe_access) look up the memory region of
//     a page that may hold translated code by its virtual address, which
//     under Unicorn's virtual TLB finds none and crashes; the lookup is
//     given a fallback (cmuc_fix_memory_mapping).
//
// They rely on Unicorn 2.1.1's x86 target (QEMU 5): the helpers' names and
// arguments, tb_cflags at byte 100 of TCGContext, the start of
// CPUX86State (struct x86_env) and memory_mapping at byte 0x110 of
// uc_struct (checked when an engine is set up). emu/unicorn's atomic
// tests fail if the atomics are not atomic.

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "shim.h"

#define GETPC() ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

// TCGContext.tb_cflags and its CF_PARALLEL bit (QEMU 5).
#define TCG_CTX_TB_CFLAGS 100
#define CF_PARALLEL 0x00080000u

#define MMU_DATA_STORE 1
#define EXCP0D_GPF 13

void __real_tcg_func_start_x86_64(void *s);

void __wrap_tcg_func_start_x86_64(void *s)
{
	__real_tcg_func_start_x86_64(s);
	*(uint32_t *)((char *)s + TCG_CTX_TB_CFLAGS) |= CF_PARALLEL;
}

void *probe_access_x86_64(void *env, uint64_t addr, int size, int access_type, int mmu_idx, uintptr_t retaddr);
void raise_exception_err_ra_x86_64(void *env, int exception_index, int error_code, uintptr_t retaddr)
	__attribute__((noreturn));
void __real_cpu_loop_exit_atomic_x86_64(void *cpu, uintptr_t pc) __attribute__((noreturn));

// The redirections that must keep the caller's return address (QEMU finds
// the guest instruction from it): plain jumps. For each helper H taking
// the guest address in its second argument (%rsi), __wrap_H jumps to
// cmuc_split_H when the address is not aligned to mask+1, else to H.
__asm__(".text\n"
	".globl __wrap_helper_cmpxchg8b_unlocked_x86_64\n"
	"__wrap_helper_cmpxchg8b_unlocked_x86_64:\n"
	"\ttest $7, %esi\n"
	"\tjnz cmuc_cmpxchg8b_unaligned\n"
	"\tjmp helper_cmpxchg8b_x86_64\n"
	".globl __wrap_helper_cmpxchg16b_unlocked_x86_64\n"
	"__wrap_helper_cmpxchg16b_unlocked_x86_64:\n"
	"\tjmp helper_cmpxchg16b_x86_64\n");

#define ALIGN_GATE(H, mask)                                                                                            \
	__asm__(".text\n"                                                                                              \
		".globl __wrap_helper_atomic_" #H "_x86_64\n"                                                          \
		"__wrap_helper_atomic_" #H "_x86_64:\n"                                                                \
		"\ttest $" #mask ", %esi\n"                                                                            \
		"\tjnz cmuc_split_" #H "\n"                                                                            \
		"\tjmp __real_helper_atomic_" #H "_x86_64\n");

// The operations of x86's locked instructions, as QEMU names them.
enum op {
	OP_CMPXCHG,
	OP_XCHG,
	OP_FETCH_ADD,
	OP_FETCH_AND,
	OP_FETCH_OR,
	OP_FETCH_XOR,
	OP_ADD_FETCH,
	OP_AND_FETCH,
	OP_OR_FETCH,
	OP_XOR_FETCH,
};

// apply returns the value op stores over old.
static uint64_t apply(enum op op, uint64_t old, uint64_t val, uint64_t cmp)
{
	switch (op) {
	case OP_CMPXCHG:
		return old == cmp ? val : old;
	case OP_XCHG:
		return val;
	case OP_FETCH_ADD:
	case OP_ADD_FETCH:
		return old + val;
	case OP_FETCH_AND:
	case OP_AND_FETCH:
		return old & val;
	case OP_FETCH_OR:
	case OP_OR_FETCH:
		return old | val;
	case OP_FETCH_XOR:
	case OP_XOR_FETCH:
		return old ^ val;
	}
	return old;
}

// returns reports whether op returns the new value (else the old one).
static int returns_new(enum op op)
{
	return op == OP_ADD_FETCH || op == OP_AND_FETCH || op == OP_OR_FETCH || op == OP_XOR_FETCH;
}

#define HOST_ATOMIC(T)                                                                                                 \
	static uint64_t host_atomic_##T(T *p, enum op op, T val, T cmp)                                               \
	{                                                                                                              \
		switch (op) {                                                                                          \
		case OP_CMPXCHG:                                                                                       \
			__atomic_compare_exchange_n(p, &cmp, val, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);            \
			return cmp;                                                                                    \
		case OP_XCHG:                                                                                          \
			return __atomic_exchange_n(p, val, __ATOMIC_SEQ_CST);                                          \
		case OP_FETCH_ADD:                                                                                     \
			return __atomic_fetch_add(p, val, __ATOMIC_SEQ_CST);                                           \
		case OP_FETCH_AND:                                                                                     \
			return __atomic_fetch_and(p, val, __ATOMIC_SEQ_CST);                                           \
		case OP_FETCH_OR:                                                                                      \
			return __atomic_fetch_or(p, val, __ATOMIC_SEQ_CST);                                            \
		case OP_FETCH_XOR:                                                                                     \
			return __atomic_fetch_xor(p, val, __ATOMIC_SEQ_CST);                                           \
		case OP_ADD_FETCH:                                                                                     \
			return __atomic_add_fetch(p, val, __ATOMIC_SEQ_CST);                                           \
		case OP_AND_FETCH:                                                                                     \
			return __atomic_and_fetch(p, val, __ATOMIC_SEQ_CST);                                           \
		case OP_OR_FETCH:                                                                                      \
			return __atomic_or_fetch(p, val, __ATOMIC_SEQ_CST);                                            \
		case OP_XOR_FETCH:                                                                                     \
			return __atomic_xor_fetch(p, val, __ATOMIC_SEQ_CST);                                           \
		}                                                                                                      \
		return 0;                                                                                              \
	}

HOST_ATOMIC(uint8_t)
HOST_ATOMIC(uint16_t)
HOST_ATOMIC(uint32_t)
HOST_ATOMIC(uint64_t)

// split_lock serialises the locked operations whose operand spans two
// pages: they are atomic with respect to each other, not to aligned
// locked operations on the same bytes.
static pthread_mutex_t split_lock = PTHREAD_MUTEX_INITIALIZER;

// rmw does op on the size-byte operand at guest address addr with the
// host's atomic instruction (or, across a page boundary, under
// split_lock), for the helper that translated code called with return
// address ra. Both pages are probed for writing first (a
// fault leaves here through QEMU's exception path, holding nothing); the
// engine's translations cannot change before it returns, as TLB
// shootdowns wait for a running engine to reach a block boundary.
static uint64_t rmw(void *env, uint64_t addr, int size, enum op op, uint64_t val, uint64_t cmp, uint32_t oi,
			  uintptr_t ra)
{
	int mmu_idx = (int)(oi & 15);
	int first = 4096 - (int)(addr & 4095);
	if (first > size)
		first = size;
	uint8_t *p1 = probe_access_x86_64(env, addr, first, MMU_DATA_STORE, mmu_idx, ra);
	uint8_t *p2 = first < size ? probe_access_x86_64(env, addr + first, size - first, MMU_DATA_STORE, mmu_idx, ra)
				   : NULL;
	if (!p1 || (first < size && !p2))
		raise_exception_err_ra_x86_64(env, EXCP0D_GPF, 0, ra);
	uint64_t old = 0, new;
	if (first == size) {
		switch (size) {
		case 1:
			old = host_atomic_uint8_t(p1, op, (uint8_t)val, (uint8_t)cmp);
			break;
		case 2:
			old = host_atomic_uint16_t((uint16_t *)p1, op, (uint16_t)val, (uint16_t)cmp);
			break;
		case 4:
			old = host_atomic_uint32_t((uint32_t *)p1, op, (uint32_t)val, (uint32_t)cmp);
			break;
		default:
			old = host_atomic_uint64_t((uint64_t *)p1, op, val, cmp);
			break;
		}
		// host_atomic returns what the helper returns.
		return old;
	}
	pthread_mutex_lock(&split_lock);
	memcpy(&old, p1, first);
	memcpy((uint8_t *)&old + first, p2, size - first);
	uint64_t mask = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	new = apply(op, old, val, cmp) & mask;
	memcpy(p1, &new, first);
	memcpy(p2, (uint8_t *)&new + first, size - first);
	pthread_mutex_unlock(&split_lock);
	return returns_new(op) ? new : old;
}

// The helpers return and take 32-bit values for 16- and 32-bit operands.
#define DEFINE_RMW(name, op)                                                                                           \
	enum { size_of_##name##w_le = 2, size_of_##name##l_le = 4, size_of_##name##q_le = 8 };                       \
	SPLIT_RMW2(name##w_le, uint32_t, op, 1)                                                                        \
	SPLIT_RMW2(name##l_le, uint32_t, op, 3)                                                                        \
	SPLIT_RMW2(name##q_le, uint64_t, op, 7)

// SPLIT_RMW2 defines cmuc_split_H for helper H of operation op on T,
// reached by a jump from __wrap_H (so GETPC() is the caller's).
#define SPLIT_RMW2(H, T, op, mask)                                                                                     \
	T cmuc_split_##H(void *env, uint64_t addr, T val, uint32_t oi);                                               \
	T cmuc_split_##H(void *env, uint64_t addr, T val, uint32_t oi)                                                \
	{                                                                                                              \
		return (T)rmw(env, addr, size_of_##H, op, val, 0, oi, GETPC());                                \
	}                                                                                                              \
	ALIGN_GATE(H, mask)

#define DEFINE_CMPXCHG(H, T, size, mask)                                                                               \
	T cmuc_split_##H(void *env, uint64_t addr, T cmp, T val, uint32_t oi);                                        \
	T cmuc_split_##H(void *env, uint64_t addr, T cmp, T val, uint32_t oi)                                         \
	{                                                                                                              \
		return (T)rmw(env, addr, size, OP_CMPXCHG, val, cmp, oi, GETPC());                             \
	}                                                                                                              \
	ALIGN_GATE(H, mask)

// XCHG: always here (see above).
#define DEFINE_XCHG(H, T, size)                                                                                        \
	T __wrap_helper_atomic_##H##_x86_64(void *env, uint64_t addr, T val, uint32_t oi);                            \
	T __wrap_helper_atomic_##H##_x86_64(void *env, uint64_t addr, T val, uint32_t oi)                             \
	{                                                                                                              \
		return (T)rmw(env, addr, size, OP_XCHG, val, 0, oi, GETPC());                                        \
	}

DEFINE_XCHG(xchgb, uint32_t, 1)
DEFINE_XCHG(xchgw_le, uint32_t, 2)
DEFINE_XCHG(xchgl_le, uint32_t, 4)
DEFINE_XCHG(xchgq_le, uint64_t, 8)
DEFINE_RMW(fetch_add, OP_FETCH_ADD)
DEFINE_RMW(fetch_and, OP_FETCH_AND)
DEFINE_RMW(fetch_or, OP_FETCH_OR)
DEFINE_RMW(fetch_xor, OP_FETCH_XOR)
DEFINE_RMW(add_fetch, OP_ADD_FETCH)
DEFINE_RMW(and_fetch, OP_AND_FETCH)
DEFINE_RMW(or_fetch, OP_OR_FETCH)
DEFINE_RMW(xor_fetch, OP_XOR_FETCH)
DEFINE_CMPXCHG(cmpxchgw_le, uint32_t, 2, 1)
DEFINE_CMPXCHG(cmpxchgl_le, uint32_t, 4, 3)
DEFINE_CMPXCHG(cmpxchgq_le, uint64_t, 8, 7)

// The engine's memory-region lookup (uc_struct.memory_mapping, at byte
// 0x110, set to find_memory_mapping when the engine initialises).
#define UC_MEMORY_MAPPING 0x110

typedef void *(*memory_mapping_fn)(void *uc, uint64_t addr);
void *find_memory_mapping_x86_64(void *uc, uint64_t addr);

// memory_mapping is find_memory_mapping, except that an address outside
// every region gets the region at physical 0: cmaemu maps all guest RAM
// as one region there. QEMU's notdirty_write, called with no region by the
// atomic helpers and probe_access, looks one up by the guest virtual
// address, and only reads whether it is executable, to drop the
// translated code of the frame (found through the TLB, not the region).
static void *memory_mapping(void *uc, uint64_t addr)
{
	void *mr = find_memory_mapping_x86_64(uc, addr);
	return mr ? mr : find_memory_mapping_x86_64(uc, 0);
}

// cmuc_fix_memory_mapping installs memory_mapping in an initialised
// engine. It returns 0 when installed, -1 when the engine does not have
// find_memory_mapping where this build of Unicorn keeps it.
int cmuc_fix_memory_mapping(uc_engine *uc)
{
	void **slot = (void **)((char *)uc + UC_MEMORY_MAPPING);
	if (*slot == (void *)memory_mapping)
		return 0;
	if (*slot != (void *)find_memory_mapping_x86_64)
		return -1;
	*slot = (void *)memory_mapping;
	return 0;
}

// The start of QEMU's CPUX86State, as far as CMPXCHG8B needs it.
struct x86_env {
	uint64_t regs[16]; // RAX RCX RDX RBX ...
	uint64_t eip, eflags, cc_dst, cc_src, cc_src2;
	uint32_t cc_op;
	int32_t df;
	uint32_t hflags, hflags2;
};

enum { R_EAX = 0, R_ECX = 1, R_EDX = 2, R_EBX = 3 };

#define CC_Z 0x40
#define HF_CPL_MASK 3
#define HF_SMAP_MASK (1u << 23)
#define AC_MASK 0x40000
enum { MMU_KSMAP_IDX = 0, MMU_USER_IDX = 1, MMU_KNOSMAP_IDX = 2 };

uint32_t cpu_cc_compute_all_x86_64(void *env, int op);

// mmu_index is QEMU's cpu_mmu_index(env, false) for x86.
static int mmu_index(const struct x86_env *e)
{
	if ((e->hflags & HF_CPL_MASK) == 3)
		return MMU_USER_IDX;
	if (!(e->hflags & HF_SMAP_MASK) || (e->eflags & AC_MASK))
		return MMU_KNOSMAP_IDX;
	return MMU_KSMAP_IDX;
}

// cmuc_cmpxchg8b_unaligned is CMPXCHG8B on an operand not aligned to 8
// (QEMU's atomic helper would stop the world), reached by a jump from
// __wrap_helper_cmpxchg8b_unlocked: EDX:EAX compared with the operand,
// ECX:EBX stored if equal, else the operand loaded into EDX:EAX; ZF tells.
void cmuc_cmpxchg8b_unaligned(void *env, uint64_t a0);
void cmuc_cmpxchg8b_unaligned(void *env, uint64_t a0)
{
	uintptr_t ra = GETPC();
	struct x86_env *e = env;
	uint32_t eflags = cpu_cc_compute_all_x86_64(env, (int)e->cc_op);
	uint64_t cmpv = (uint32_t)e->regs[R_EAX] | (uint64_t)(uint32_t)e->regs[R_EDX] << 32;
	uint64_t newv = (uint32_t)e->regs[R_EBX] | (uint64_t)(uint32_t)e->regs[R_ECX] << 32;
	uint32_t oi = (uint32_t)mmu_index(e); // rmw reads only the MMU index
	uint64_t old = rmw(env, a0, 8, OP_CMPXCHG, newv, cmpv, oi, ra);
	if (old == cmpv) {
		eflags |= CC_Z;
	} else {
		e->regs[R_EAX] = (uint32_t)old;
		e->regs[R_EDX] = (uint32_t)(old >> 32);
		eflags &= ~CC_Z;
	}
	e->cc_src = eflags;
}

// A request to stop the world that the wrappers above do not cover: the
// engine on this thread stops with #GP at the instruction rather than
// retry it for ever (Unicorn has no exclusive step).
void __wrap_cpu_loop_exit_atomic_x86_64(void *cpu, uintptr_t pc)
{
	cmuc_ctx *ctx = cmuc_running();
	if (ctx) {
		__atomic_store_n(&ctx->atomic_gp, 1, __ATOMIC_RELAXED);
		if (ctx->uc)
			uc_emu_stop(ctx->uc);
	}
	__real_cpu_loop_exit_atomic_x86_64(cpu, pc);
}

// cmuc_atomic_cmpxchg is a locked CMPXCHG of size bytes at guest address
// addr by a CPL-3 guest (MMU index 1) for intfix.c: it returns the old
// value.
uint64_t cmuc_atomic_cmpxchg(void *env, uint64_t addr, int size, uint64_t cmp, uint64_t val, uintptr_t ra)
{
	return rmw(env, addr, size, OP_CMPXCHG, val, cmp, 1, ra);
}

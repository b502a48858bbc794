// C side of the cmaemu unicorn binding: uc_ctl wrappers (uc_ctl is
// variadic and cannot be called from Go directly), batch register helpers and
// the hook trampolines that forward to the //export'ed Go callbacks.
#ifndef CMAEMU_UNICORN_SHIM_H
#define CMAEMU_UNICORN_SHIM_H

#include <stdint.h>
#include <stdbool.h>
#include <unicorn/unicorn.h>

// Register block handed to the Go syscall / int 0x80 callbacks. Mirrored by
// the Go type SyscallRegs (same field order, sizes and padding).
// Bits of a code-mark word (cmuc_ctx.code_marks), as in mm.RAM.codeMarks.
#define CODE_MARK 1u
#define SHARED_FRAME 2u

typedef struct cmuc_sysregs {
	uint64_t nr;
	uint64_t args[6];
	uint64_t rip;
	uint64_t rflags;
	uint64_t ret;
	uint64_t new_rip;
	uint32_t set_rip;
	uint32_t stop;
	uint32_t keep_regs;
	uint32_t pad;
} cmuc_sysregs;

// Per-engine C state; its address is the user_data of every hook.
typedef struct cmuc_ctx {
	uintptr_t handle; // runtime/cgo.Handle of the Go *Engine
	int32_t int80;    // nonzero: route INTR 0x80 to the int80 callback
	int32_t is64;     // engine was opened in 64-bit mode
	// Page-table fast path of the TLB fill hook (see SetPageTable): guest
	// RAM as host memory and the physical address of the PML4; root 0
	// sends every fill to Go.
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t root;
	// One word per frame of ram: CODE_MARK is set while an engine may
	// hold code translated from the frame (see cmuc_mark_code),
	// SHARED_FRAME while other address spaces may map the frame (Go sets
	// it; mm.RAM.codeMarks); NULL: not kept.
	uint32_t *code_marks;
	// What the engine must attend to at the start of its next
	// translation block (bits set atomically from any thread, which
	// then kick the engine, see shim.c): stop there, where its state is
	// consistent (CMUC_STOP), or flush its TLB (CMUC_FLUSH, see
	// flush_req).
	int32_t interrupt;
	// TLB shootdown (see shim.c, "Guest mode"): in_guest is 1 while
	// the engine may run guest code with the translations it holds
	// (written by the owner thread only); flush_req counts flush
	// requests (any thread); flush_ack is the count the engine's last
	// flush covered (owner thread).
	int32_t in_guest;
	uint64_t flush_req;
	uint64_t flush_ack;
	// Nonzero: the translator sees UD2 for instructions the emulated CPU
	// refuses (wrap.c).
	int32_t insn_check;
	// Set by atomic.c when a locked instruction asked for an exclusive
	// step Unicorn cannot give: the run stops with #GP (owner thread).
	int32_t atomic_gp;
	// Nonzero: x87 arithmetic runs on the host's x87 unit (x87.c).
	int32_t exact_fp;
	uc_engine *uc;
	// TLB growth (tlbsize.c, owner thread): the CPU state whose TLB is
	// watched (NULL: growth off), fills since the last attempt, and the
	// factor by which the next attempt waits longer.
	void *tlb_env;
	uint64_t tlb_fills;
	uint64_t tlb_backoff;
	// QEMU's CPUState of the engine, for kicks (NULL until the first
	// mapping; written once by the owner, read by any thread).
	void *cpu;
} cmuc_ctx;

// Bits of cmuc_ctx.interrupt.
enum { CMUC_STOP = 1, CMUC_FLUSH = 2 };

// Hook kinds for cmuc_hook_add.
enum {
	CMUC_HOOK_SYSCALL = 0,
	CMUC_HOOK_INTR,
	CMUC_HOOK_TLB_FILL,
	CMUC_HOOK_MEM_INVALID,
	CMUC_HOOK_INSN_INVALID,
	CMUC_HOOK_IN,
	CMUC_HOOK_OUT,
	CMUC_HOOK_KINDS
};

// The x87 and SSE state in one block (mirrored by the Go type FPRegs):
// the full x87 tag word, the x87 registers in stack order (ST0 first),
// n XMM registers.
typedef struct cmuc_fpregs {
	uint16_t fcw;
	uint16_t fsw;
	uint16_t ftag;
	uint16_t fop;
	uint32_t mxcsr;
	uint32_t pad;
	uint64_t fip;
	uint64_t fdp;
	uint8_t st[8][10];
	uint8_t xmm[16][16];
} cmuc_fpregs;

uc_err cmuc_fp_read(uc_engine *uc, cmuc_fpregs *fp, int nxmm);
uc_err cmuc_fp_write(uc_engine *uc, const cmuc_fpregs *fp, int nxmm);

// decode.c: the instruction check's decoder. *ud tells what the CPU
// does with an instruction Unicorn would run: 0 it runs, or one of these.
enum { CMUC_REFUSE_UD = 1, CMUC_REFUSE_GP = 2, CMUC_REFUSE_DB = 3 };
int cmuc_insn_decode(const uint8_t *code, int n, int is64, int *ud);
int cmuc_scan_code(const uint8_t *code, int n, int is64);

// wrap.c: the engine running on this thread, for the translator's
// wrappers (cmuc_emu_start sets it).
void cmuc_set_running(cmuc_ctx *ctx);
cmuc_ctx *cmuc_running(void);
uc_err cmuc_emu_start(uc_engine *uc, cmuc_ctx *ctx, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);
const uint8_t *cmuc_guest_ptr(cmuc_ctx *ctx, uint64_t va);
void cmuc_mark_code(cmuc_ctx *ctx, uint64_t va);

// atomic.c
int cmuc_fix_memory_mapping(uc_engine *uc);

// tlbsize.c
int cmuc_tlb_layout_ok(uc_engine *uc, cmuc_ctx *ctx);
uint64_t cmuc_tlb_entries(cmuc_ctx *ctx);
void cmuc_tlb_count_fill(uc_engine *uc, cmuc_ctx *ctx);

// sse_align.c
void cmuc_sse_note(const uint8_t *code, int n, int is64);
void cmuc_sse_forget(void);
int cmuc_sse_needs_align(const uint8_t *code, int n, int is64);

// x87.c
void x87_sync(void *env);
void x87_mxcsr_loaded(void *env);
void cmuc_fp_mxcsr_loaded(uc_engine *uc);
void *cmuc_env(uc_engine *uc);
void *cmuc_cpu(uc_engine *uc);
void cmuc_fp_sync(uc_engine *uc);
void cmuc_fp_drop(uc_engine *uc);
int cmuc_check_fp_layout(uc_engine *uc);
// intfix.c: integer instructions done exactly (see there).
void cmuc_intfix_init(void);
int cmuc_intfix_match(const uint8_t *code, int n, int len, int is64);
int cmuc_pcmp_fix(void *env, void *d, void *s, uint32_t ctrl, int explicit, int mask);

uc_err cmuc_hook_add(uc_engine *uc, uc_hook *hh, int kind, cmuc_ctx *ctx);
void cmuc_set_interrupt(cmuc_ctx *ctx, int32_t v);
void cmuc_attach_cpu(uc_engine *uc, cmuc_ctx *ctx);
uint64_t cmuc_request_flush(cmuc_ctx *ctx);
int cmuc_flushed(cmuc_ctx *ctx, uint64_t ticket);
uc_err cmuc_xmm(uc_engine *uc, uint8_t *buf, int n, int write);

uc_err cmuc_set_tcg_buffer_size(uc_engine *uc, uint32_t size);
uc_err cmuc_set_cpu_model(uc_engine *uc, int model);
uc_err cmuc_set_tlb_mode(uc_engine *uc, int mode);
uc_err cmuc_flush_tlb(uc_engine *uc);
uc_err cmuc_flush_tb(uc_engine *uc);
uc_err cmuc_remove_cache(uc_engine *uc, uint64_t begin, uint64_t end);
void cmuc_remove_phys_cache(uc_engine *uc, uint64_t begin, uint64_t end);

uc_err cmuc_reg_read(uc_engine *uc, int reg, uint64_t *val);
uc_err cmuc_reg_write(uc_engine *uc, int reg, uint64_t val);
uc_err cmuc_reg_read_batch(uc_engine *uc, const int64_t *regs, uint64_t *vals, int n);
uc_err cmuc_reg_write_batch(uc_engine *uc, const int64_t *regs, const uint64_t *vals, int n);
uc_err cmuc_write_mmr(uc_engine *uc, int reg, uint64_t base, uint32_t limit, uint16_t selector, uint32_t flags);
uc_err cmuc_read_mmr(uc_engine *uc, int reg, uc_x86_mmr *out);
uc_err cmuc_msr_read(uc_engine *uc, uint32_t id, uint64_t *val);
uc_err cmuc_msr_write(uc_engine *uc, uint32_t id, uint64_t val);

#endif
